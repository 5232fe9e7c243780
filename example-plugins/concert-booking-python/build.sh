#!/usr/bin/env bash
# Builds the Python concert-booking scenario, and the Python SDK's template (so that
# CI proves the template builds), with componentize-py:
#
#   example-plugins/concert-booking-python/build.sh OUT_DIR
#
# writes OUT_DIR/concert_booking_python.wasm and OUT_DIR/template_python.wasm.
# componentize-py is installed by ../toolchain.sh, pinned. Runs from any folder.
set -euo pipefail

if [ $# -ne 1 ]; then
    echo "usage: $0 OUT_DIR" >&2
    exit 2
fi
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
mkdir -p "$1"
out_dir="$(cd "$1" && pwd)"

# shellcheck source=../toolchain.sh
source "$here/../toolchain.sh"
ensure_pip_package python componentize-py 0.25.1 # and activates its venv

sdk_dir="$VOLLEY_REPO_DIR/plugin-sdk/python"

# componentize-py runs the modules while building and writes __pycache__ next to
# them, so build from a scratch copy rather than from the source folders.
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
cp "$sdk_dir/volley.py" "$here/concert_booking.py" "$stage/"

componentize-py -d "$VOLLEY_WIT_DIR" -w scenario \
    componentize concert_booking -p "$stage" -o "$out_dir/concert_booking_python.wasm"

VOLLEY_WIT_DIR="$VOLLEY_WIT_DIR" VOLLEY_PY_DIR="$sdk_dir" \
    "$sdk_dir/template/build.sh" "$out_dir/template_python.wasm"
