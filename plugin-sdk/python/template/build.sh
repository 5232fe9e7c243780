#!/usr/bin/env bash
# Builds scenario.py (this folder) into a Volley scenario component with
# componentize-py, which must be on PATH (pip install componentize-py==0.25.1).
#
#   ./build.sh [OUTPUT]        OUTPUT defaults to scenario.wasm in this folder
#
# The build needs two files of the Volley SDK, looked up in this order
# (./ is this script's folder, wherever it is called from):
#   the WIT folder:  $VOLLEY_WIT_DIR, else ./wit, else ../../wit
#   volley.py:       $VOLLEY_PY_DIR/volley.py, else ./volley.py, else ../volley.py
# Inside the Volley repository (plugin-sdk/python/template) the last ones match,
# so nothing needs setting. A copy elsewhere holds wit/ and volley.py, or sets the
# two variables to the repository's plugin-sdk/wit and plugin-sdk/python.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${1:-$here/scenario.wasm}"

# first_dir_with FILE DIR...: prints the first DIR (made absolute) that holds FILE.
first_dir_with() {
    local file=$1 dir
    shift
    for dir in "$@"; do
        if [ -n "$dir" ] && [ -e "$dir/$file" ]; then
            (cd "$dir" && pwd)
            return 0
        fi
    done
    return 1
}

wit_dir="$(first_dir_with scenario.wit "${VOLLEY_WIT_DIR:-}" "$here/wit" "$here/../../wit")" || {
    echo "build.sh: cannot find the Volley WIT folder (scenario.wit): set VOLLEY_WIT_DIR" \
        "to plugin-sdk/wit, or copy that folder here as wit/" >&2
    exit 1
}
sdk_dir="$(first_dir_with volley.py "${VOLLEY_PY_DIR:-}" "$here" "$here/..")" || {
    echo "build.sh: cannot find volley.py: set VOLLEY_PY_DIR to plugin-sdk/python," \
        "or copy plugin-sdk/python/volley.py here" >&2
    exit 1
}
command -v componentize-py >/dev/null || {
    echo "build.sh: componentize-py is not on PATH: pip install componentize-py==0.25.1" >&2
    exit 1
}

# Build from a scratch copy of the sources (this folder's .py files and packages,
# then volley.py), because componentize-py runs the modules while building and
# leaves __pycache__ folders in the folders it reads them from.
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
mkdir "$stage/app"
cp "$sdk_dir/volley.py" "$stage/app/"
for source in "$here"/*.py "$here"/*/__init__.py; do
    [ -e "$source" ] || continue
    case "$source" in
        */__init__.py) cp -R "$(dirname "$source")" "$stage/app/" ;;
        *) cp "$source" "$stage/app/" ;;
    esac
done

mkdir -p "$(dirname "$out")"
# -p (the Python path) is an option of `componentize`, so it comes after it.
componentize-py -d "$wit_dir" -w scenario componentize scenario -p "$stage/app" -o "$out"
