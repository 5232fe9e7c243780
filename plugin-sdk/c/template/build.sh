#!/usr/bin/env bash
# Builds the .c files of this folder into a Volley component.
#
#     ./build.sh [OUT.wasm]        (default: scenario.wasm next to this script)
#
# The C SDK (volley.h, volley.c, build-scenario.sh and the WIT folder) is looked
# for in $VOLLEY_SDK_C if set, else in this folder (a copied, self-contained
# scenario), else in this folder's parent (the template inside a Volley checkout).
# Tools and flags: see build-scenario.sh (CC, WIT_BINDGEN, WASM_TOOLS,
# VOLLEY_ADAPTER, CFLAGS).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [ -n "${VOLLEY_SDK_C:-}" ]; then
    sdk=$VOLLEY_SDK_C
elif [ -f "$here/build-scenario.sh" ]; then
    sdk=$here
else
    sdk="$here/.."
fi
if [ ! -f "$sdk/build-scenario.sh" ]; then
    echo "build.sh: no build-scenario.sh in $sdk: copy plugin-sdk/c/{volley.h,volley.c,build-scenario.sh} here or set VOLLEY_SDK_C" >&2
    exit 1
fi

sources=()
for source in "$here"/*.c; do
    # volley.c is the SDK's, compiled by build-scenario.sh itself.
    [ "$(basename "$source")" = volley.c ] || sources+=("$source")
done
exec bash "$sdk/build-scenario.sh" "${1:-$here/scenario.wasm}" "${sources[@]}"
