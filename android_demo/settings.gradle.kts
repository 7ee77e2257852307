// fomm-tf Android demo: `:app` (Kotlin, LiteRT, CameraX) on top of `:core` (plain Java 17,
// tested on the JVM by `make android-test` in the repository root).
pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}

dependencyResolutionManagement {
    repositoriesMode.set(RepositoriesMode.FAIL_ON_PROJECT_REPOS)
    repositories {
        google()
        mavenCentral()
    }
}

rootProject.name = "fomm-android-demo"
include(":app", ":core")
