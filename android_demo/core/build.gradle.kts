// Plain Java 17, no Android: the same sources `make android-test` compiles with javac.
plugins {
    `java-library`
}

java {
    sourceCompatibility = JavaVersion.VERSION_17
    targetCompatibility = JavaVersion.VERSION_17
}

dependencies {
    api("com.google.code.gson:gson:2.10.1")
    testImplementation("junit:junit:4.13.2")
}

tasks.test {
    // Golden vectors: `make android-test` (or `fomm export ... --golden DIR`) writes them.
    systemProperty(
        "fomm.golden",
        System.getenv("FOMM_GOLDEN") ?: rootProject.file("../build/android/golden").absolutePath,
    )
}
