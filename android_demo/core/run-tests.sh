#!/usr/bin/env bash
# Build android_demo/core (plain Java 17, Gson) and run its JUnit 4 tests on the JVM against
# the golden vectors `fomm export --golden DIR` wrote.
#   usage: run-tests.sh GOLDEN_DIR [BUILD_DIR]
# Jars: Debian's junit4, hamcrest and libgoogle-gson-java (/usr/share/java); override with
# JUNIT_JAR, HAMCREST_JAR, GSON_JAR.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
golden="$(cd "${1:?usage: run-tests.sh GOLDEN_DIR [BUILD_DIR]}" && pwd)"
build="${2:-$here/build}"
jars=/usr/share/java
gson="${GSON_JAR:-$jars/gson.jar}"
junit="${JUNIT_JAR:-$jars/junit4.jar}"
hamcrest="${HAMCREST_JAR:-$jars/hamcrest-core.jar}"
for jar in "$gson" "$junit" "$hamcrest"; do
    [ -f "$jar" ] || { echo "missing $jar (apt-get install junit4 libgoogle-gson-java)" >&2; exit 2; }
done
rm -rf "$build/classes" "$build/test-classes"
mkdir -p "$build/classes" "$build/test-classes"
find "$here/src/main/java" -name '*.java' > "$build/main.txt"
find "$here/src/test/java" -name '*.java' > "$build/test.txt"
javac --release 17 -Xlint:all -Werror -encoding UTF-8 -d "$build/classes" -cp "$gson" @"$build/main.txt"
javac --release 17 -encoding UTF-8 -d "$build/test-classes" \
    -cp "$build/classes:$gson:$junit:$hamcrest" @"$build/test.txt"
tests=$(cd "$here/src/test/java" && find . -name '*Test.java' | sed 's|^\./||; s|\.java$||; s|/|.|g' | sort)
java -Dfomm.golden="$golden" -cp "$build/classes:$build/test-classes:$gson:$junit:$hamcrest" \
    org.junit.runner.JUnitCore $tests
