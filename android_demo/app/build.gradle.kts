plugins {
    id("com.android.application")
    id("org.jetbrains.kotlin.android")
}

val litertVersion = "2.3.0"
val cameraxVersion = "1.4.2"

android {
    namespace = "org.fommtf.demo"
    compileSdk = 35

    defaultConfig {
        applicationId = "org.fommtf.demo"
        minSdk = 24
        targetSdk = 35
        versionCode = 1
        versionName = "0.1.0"
    }

    buildTypes {
        release {
            isMinifyEnabled = false
            signingConfig = signingConfigs.getByName("debug")
        }
    }

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }

    kotlinOptions {
        jvmTarget = "17"
    }

    androidResources {
        // LiteRT maps the graphs straight from the APK: keep them uncompressed.
        noCompress += "tflite"
    }
}

dependencies {
    implementation(project(":core"))
    implementation("com.google.ai.edge.litert:litert:$litertVersion")
    implementation("com.google.ai.edge.litert:litert-gpu:$litertVersion")
    implementation("androidx.core:core-ktx:1.15.0")
    implementation("androidx.appcompat:appcompat:1.7.0")
    implementation("androidx.activity:activity-ktx:1.9.3") // enableEdgeToEdge, viewModels()
    implementation("androidx.lifecycle:lifecycle-viewmodel-ktx:2.8.7") // models kept across rotations
    implementation("com.google.android.flexbox:flexbox:3.0.0") // the wrapping button row
    implementation("androidx.camera:camera-core:$cameraxVersion")
    implementation("androidx.camera:camera-camera2:$cameraxVersion")
    implementation("androidx.camera:camera-lifecycle:$cameraxVersion")
    implementation("androidx.camera:camera-view:$cameraxVersion")
}
