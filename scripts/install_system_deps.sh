#!/usr/bin/env bash
# Installs the Debian packages that `make demo` and `make test` need, and only those that are missing.
#
# Usage: bash scripts/install_system_deps.sh [--check] [COMPONENT...]
#   COMPONENT: build (make), python (a Python 3.11 that can create a venv), jvm (JDK >= 17 and the jars
#   android_demo/build_logic.sh compiles against), web (Node >= 20 with npm, and Chromium for the browser e2e test).
#   No component means all of them. --check lists what is missing and installs nothing (exit 1 if anything is).
# Runs `apt-get update` at most once, and only when something has to be installed; uses sudo only when not root.
# Honours CHROMIUM_PATH and ODREC_JAVA_JARS like the tests that read them.
set -euo pipefail

check_only=0
components=()
for arg in "$@"; do
  case "$arg" in
    --check) check_only=1 ;;
    build | python | jvm | web) components+=("$arg") ;;
    *)
      echo "install_system_deps.sh: unknown argument '$arg'; expected --check, build, python, jvm or web" >&2
      exit 2
      ;;
  esac
done
if [[ ${#components[@]} -eq 0 ]]; then
  components=(build python jvm web)
fi

python_bin="${PYTHON:-python3.11}"
jar_dir="${ODREC_JAVA_JARS:-/usr/share/java}"
chromium_path="${CHROMIUM_PATH:-/usr/bin/chromium}"
min_node_major=20  # web_demo/package.json "engines"
min_java_major=17  # build_logic.sh compiles with --release 17

missing=()         # apt packages to install with recommends
missing_lean=()    # apt packages to install with --no-install-recommends

java_major() {
  # `javac -version` prints e.g. "javac 17.0.15"; prints nothing when javac is absent.
  command -v javac >/dev/null 2>&1 || return 0
  javac -version 2>&1 | sed -nE 's/^javac ([0-9]+).*/\1/p'
}

node_major() {
  command -v node >/dev/null 2>&1 || return 0
  node --version | sed -nE 's/^v([0-9]+).*/\1/p'
}

for component in "${components[@]}"; do
  case "$component" in
    build)
      command -v make >/dev/null 2>&1 || missing_lean+=(make)
      ;;
    python)
      if ! command -v "$python_bin" >/dev/null 2>&1; then
        missing_lean+=(python3.11 python3.11-venv)
      elif ! "$python_bin" -c "import ensurepip, venv" >/dev/null 2>&1; then
        # Debian splits ensurepip (needed by `python -m venv`) into python3.X-venv.
        missing_lean+=(python3.11-venv)
      fi
      ;;
    jvm)
      major="$(java_major)"
      if [[ -z "$major" || "$major" -lt "$min_java_major" ]]; then
        missing_lean+=(default-jdk-headless)
      fi
      [[ -f "$jar_dir/junit4.jar" ]] || missing_lean+=(junit4)
      [[ -f "$jar_dir/hamcrest-core.jar" ]] || missing_lean+=(libhamcrest-java)
      [[ -f "$jar_dir/gson.jar" ]] || missing_lean+=(libgoogle-gson-java)
      ;;
    web)
      if ! command -v node >/dev/null 2>&1; then
        missing_lean+=(nodejs npm)
      elif ! command -v npm >/dev/null 2>&1; then
        missing_lean+=(npm)
      fi
      [[ -x "$chromium_path" ]] || missing+=(chromium)
      ;;
  esac
done

to_install=("${missing_lean[@]}" "${missing[@]}")
if [[ ${#to_install[@]} -eq 0 ]]; then
  echo "install_system_deps.sh: nothing to install for: ${components[*]}"
else
  echo "install_system_deps.sh: missing for ${components[*]}: ${to_install[*]}"
  if [[ "$check_only" -eq 1 ]]; then
    exit 1
  fi
  sudo_cmd=()
  if [[ "$(id -u)" -ne 0 ]]; then
    if ! command -v sudo >/dev/null 2>&1; then
      echo "install_system_deps.sh: not root and sudo is absent; as root run:" \
        "apt-get update && apt-get install -y ${to_install[*]}" >&2
      exit 2
    fi
    sudo_cmd=(sudo)
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "install_system_deps.sh: apt-get not found; this script supports Debian-based systems only." \
      "Install the equivalents of: ${to_install[*]}" >&2
    exit 2
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -q
  if [[ ${#missing_lean[@]} -gt 0 ]]; then
    "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing_lean[@]}"
  fi
  if [[ ${#missing[@]} -gt 0 ]]; then
    # Chromium keeps its recommends (fonts and the like) for rendering the page in the e2e test.
    "${sudo_cmd[@]}" apt-get install -y -q "${missing[@]}"
  fi
fi

# Versions that an install cannot fix (an old distribution), checked after installing.
for component in "${components[@]}"; do
  case "$component" in
    jvm)
      [[ "$check_only" -eq 1 ]] && continue
      major="$(java_major)"
      if [[ -z "$major" || "$major" -lt "$min_java_major" ]]; then
        echo "install_system_deps.sh: javac ${major:-absent} is older than $min_java_major;" \
          "install a JDK >= $min_java_major and put its javac first on PATH" >&2
        exit 2
      fi
      ;;
    web)
      [[ "$check_only" -eq 1 ]] && continue
      major="$(node_major)"
      if [[ -z "$major" || "$major" -lt "$min_node_major" ]]; then
        echo "install_system_deps.sh: web_demo needs Node.js >= $min_node_major (package.json engines), found" \
          "${major:+v}${major:-none}; this distribution's nodejs is too old: install Node.js $min_node_major" \
          "or newer from https://nodejs.org/ (or NodeSource's Debian repository) and re-run" >&2
        exit 2
      fi
      ;;
  esac
done
