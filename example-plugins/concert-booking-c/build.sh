#!/usr/bin/env bash
# Builds the C concert-booking scenario and the C SDK's template:
#
#     example-plugins/concert-booking-c/build.sh OUT_DIR
#
# writes OUT_DIR/concert_booking_c.wasm and OUT_DIR/template_c.wasm. Runs from any
# working directory. The tool chain (clang-19 and wasi-libc from Debian,
# wit-bindgen-cli and wasm-tools from crates.io, the WASI preview1 reactor
# adapter) is installed on first use by ../toolchain.sh; the generated bindings
# go to a temporary folder and are never written here.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

if [ $# -ne 1 ]; then
    echo "usage: $0 OUT_DIR" >&2
    exit 2
fi
mkdir -p "$1"
out_dir="$(cd "$1" && pwd)"

# shellcheck source=../toolchain.sh
source "$here/../toolchain.sh"
ensure_apt_packages clang-19 lld-19 libclang-rt-19-dev-wasm32 wasi-libc
ensure_wasm_tools
ensure_wit_bindgen
adapter="$(ensure_preview1_adapter)"

sdk="$VOLLEY_REPO_DIR/plugin-sdk/c"
export CC=clang-19
export WIT_BINDGEN="$VOLLEY_TOOLCHAIN_DIR/bin/wit-bindgen"
export WASM_TOOLS="$VOLLEY_TOOLCHAIN_DIR/bin/wasm-tools"
export VOLLEY_ADAPTER="$adapter"
export VOLLEY_WIT_DIR
export CFLAGS="-O2 -Wall -Wextra -Werror"

bash "$sdk/build-scenario.sh" "$out_dir/concert_booking_c.wasm" "$here/concert_booking.c"
bash "$sdk/build-scenario.sh" "$out_dir/template_c.wasm" "$sdk/template/scenario.c"
