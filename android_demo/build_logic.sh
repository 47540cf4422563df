#!/usr/bin/env bash
# Compiles the plain-JVM `logic` module with the JDK alone (no Gradle, no Google Maven) and runs its JUnit 4 tests.
# Needs: a JDK >= 17 and the Debian packages junit4, libhamcrest-java, libgoogle-gson-java (jars in /usr/share/java).
# The golden tests read app/src/main/assets/ (sync it first with sync_assets.py). Exit status is non-zero on failure.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
jar_dir="${ODREC_JAVA_JARS:-/usr/share/java}"
assets_dir="${ODREC_ASSETS_DIR:-$here/app/src/main/assets}"
out="$here/build/logic-jvm"

classpath=""
for jar in gson.jar junit4.jar hamcrest-core.jar; do
  if [[ ! -f "$jar_dir/$jar" ]]; then
    echo "build_logic.sh: $jar_dir/$jar is missing;" \
      "install it with: apt-get install -y junit4 libhamcrest-java libgoogle-gson-java" >&2
    exit 2
  fi
  classpath="$classpath:$jar_dir/$jar"
done
classpath="${classpath#:}"
command -v javac >/dev/null || { echo "build_logic.sh: javac not found; apt-get install -y default-jdk-headless" >&2; exit 2; }

# The app runs this code on minSdk 24: refuse Java APIs that are missing there and that D8 does not backport.
android_violations="$(grep -rnE 'List\.of\(|Set\.of\(|Map\.of\(|\.isBlank\(\)|\.strip\(\)|HexFormat|\.toList\(\)|\brecord [A-Z]' \
    "$here/logic/src/main/java" | grep -vE '^[^:]+:[0-9]+:[[:space:]]*(\*|//|/\*)' || true)"
if [[ -n "$android_violations" ]]; then
  echo "$android_violations" >&2
  echo "build_logic.sh: the lines above use Java APIs that Android minSdk 24 lacks; use the older equivalents" >&2
  exit 1
fi

rm -rf "$out"
mkdir -p "$out/main" "$out/test"
mapfile -t main_sources < <(find "$here/logic/src/main/java" -name '*.java' | sort)
mapfile -t test_sources < <(find "$here/logic/src/test/java" -name '*.java' | sort)
javac --release 17 -encoding UTF-8 -Xlint:all -Werror -cp "$classpath" -d "$out/main" "${main_sources[@]}"
javac --release 17 -encoding UTF-8 -Xlint:all -Werror -cp "$out/main:$classpath" -d "$out/test" "${test_sources[@]}"
echo "build_logic.sh: compiled ${#main_sources[@]} main and ${#test_sources[@]} test sources with $(javac -version 2>&1)"

mapfile -t test_classes < <(cd "$out/test" && find . -name '*Test.class' ! -name '*$*' | sed 's|^\./||; s|\.class$||; s|/|.|g' | sort)
java -Dodrec.assetsDir="$assets_dir" -cp "$out/test:$out/main:$classpath" org.junit.runner.JUnitCore "${test_classes[@]}"
