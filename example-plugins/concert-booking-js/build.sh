#!/usr/bin/env bash
# Builds the JavaScript example scenarios into OUT_DIR:
#
#   OUT_DIR/concert_booking_js.wasm   this folder's scenario.js (the twin of ../concert-booking)
#   OUT_DIR/fetch_js.wasm             ../fetch-js/scenario.js (requests through fetch())
#   OUT_DIR/template_js.wasm          plugin-sdk/js/template, built with its own `npm run build`
#
# componentize-js is installed with `npm ci` from the template's package.json and
# package-lock.json (the one pinned version, 0.23.0) into
# example-plugins/target/toolchain/js, and reinstalled when the lock file changes.
# Each scenario is built in a staging folder beside its copy of
# plugin-sdk/js/volley.js, as a user's project holds it.
#
# usage: example-plugins/concert-booking-js/build.sh OUT_DIR   (from any directory)

set -euo pipefail

if [ $# -ne 1 ]; then
    echo "usage: $0 OUT_DIR" >&2
    exit 2
fi

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../toolchain.sh
source "$HERE/../toolchain.sh"

mkdir -p "$1"
OUT_DIR="$(cd "$1" && pwd)"

SDK_DIR="$VOLLEY_REPO_DIR/plugin-sdk/js"
TEMPLATE_DIR="$SDK_DIR/template"
COMPONENTIZE_JS_VERSION=0.23.0

for needed in "$SDK_DIR/volley.js" "$VOLLEY_WIT_DIR/scenario.wit" "$TEMPLATE_DIR/package.json" \
    "$TEMPLATE_DIR/package-lock.json" "$TEMPLATE_DIR/scenario.js" "$HERE/scenario.js" \
    "$VOLLEY_EXAMPLES_DIR/fetch-js/scenario.js"; do
    if [ ! -f "$needed" ]; then
        echo "build.sh: missing $needed" >&2
        exit 1
    fi
done
for tool in node npm; do
    if ! command -v "$tool" >/dev/null; then
        echo "build.sh: $tool is not installed (componentize-js needs Node.js 20 or newer with npm)" >&2
        exit 1
    fi
done

# componentize-js, installed exactly as the template's lock file says.
JS_TOOLCHAIN="$VOLLEY_TOOLCHAIN_DIR/js"
COMPONENTIZE="$JS_TOOLCHAIN/node_modules/.bin/componentize-js"
lock_sum="$(cat "$TEMPLATE_DIR/package.json" "$TEMPLATE_DIR/package-lock.json" | sha256sum | cut -d' ' -f1)"
if [ ! -x "$COMPONENTIZE" ] || [ "$(cat "$JS_TOOLCHAIN/installed.sha256" 2>/dev/null)" != "$lock_sum" ]; then
    echo "toolchain: installing componentize-js $COMPONENTIZE_JS_VERSION (npm ci)" >&2
    rm -rf "$JS_TOOLCHAIN"
    mkdir -p "$JS_TOOLCHAIN"
    cp "$TEMPLATE_DIR/package.json" "$TEMPLATE_DIR/package-lock.json" "$JS_TOOLCHAIN/"
    (cd "$JS_TOOLCHAIN" && npm ci --no-audit --no-fund --loglevel=error)
    echo "$lock_sum" >"$JS_TOOLCHAIN/installed.sha256"
fi
installed="$(node -p "require('$JS_TOOLCHAIN/node_modules/@bytecodealliance/componentize-js/package.json').version")"
if [ "$installed" != "$COMPONENTIZE_JS_VERSION" ]; then
    echo "build.sh: componentize-js $installed is installed, $COMPONENTIZE_JS_VERSION is needed" >&2
    exit 1
fi

STAGE="$(mktemp -d "$JS_TOOLCHAIN/stage.XXXXXX")"
trap 'rm -rf "$STAGE"' EXIT

# build NAME SOURCE OUT_NAME COMPONENTIZE_ARGS...: SOURCE built beside volley.js.
build() {
    local name=$1 source=$2 out=$3
    shift 3
    mkdir "$STAGE/$name"
    cp "$source" "$STAGE/$name/scenario.js"
    cp "$SDK_DIR/volley.js" "$STAGE/$name/"
    echo "building $out" >&2
    (cd "$STAGE/$name" && "$COMPONENTIZE" scenario.js --wit "$VOLLEY_WIT_DIR" --world-name scenario "$@" \
        -o "$OUT_DIR/$out")
}

# Volley's own HTTP client only: no wasi:http imports.
build concert-booking "$HERE/scenario.js" concert_booking_js.wasm --disable http fetch-event
# fetch() needs the `http` feature (wasi:http/types and wasi:http/outgoing-handler).
build fetch "$VOLLEY_EXAMPLES_DIR/fetch-js/scenario.js" fetch_js.wasm --disable fetch-event

# The template as a user builds it: its files, volley.js and wit/ side by side,
# then its own `npm run build`.
mkdir "$STAGE/template" "$STAGE/template/wit"
cp "$TEMPLATE_DIR/scenario.js" "$TEMPLATE_DIR/package.json" "$SDK_DIR/volley.js" "$STAGE/template/"
cp "$VOLLEY_WIT_DIR/scenario.wit" "$STAGE/template/wit/"
ln -s "$JS_TOOLCHAIN/node_modules" "$STAGE/template/node_modules"
echo "building template_js.wasm" >&2
(cd "$STAGE/template" && npm run --silent build)
mv "$STAGE/template/scenario.wasm" "$OUT_DIR/template_js.wasm"

for out in concert_booking_js.wasm fetch_js.wasm template_js.wasm; do
    if [ ! -s "$OUT_DIR/$out" ]; then
        echo "build.sh: $OUT_DIR/$out was not written" >&2
        exit 1
    fi
done
ls -l "$OUT_DIR/concert_booking_js.wasm" "$OUT_DIR/fetch_js.wasm" "$OUT_DIR/template_js.wasm"
