#!/usr/bin/env bash
# Builds a Volley scenario component from C sources.
#
#     build-scenario.sh OUT.wasm SOURCE.c [MORE.c ...]
#
# 1. generates the C bindings of the WIT world (wit-bindgen c) into a temporary
#    folder (they are never written next to your sources),
# 2. compiles them, volley.c and your sources for wasm32-wasi as a reactor
#    (a library with no main) and links a core module,
# 3. wraps the core module into a component with the WASI preview1 reactor
#    adapter (wasm-tools component new).
#
# Tools, found on PATH unless set:
#   CC            a clang with the wasm32 target and wasi-libc  (default: clang-19, else clang)
#   WIT_BINDGEN   wit-bindgen-cli 0.63.0                        (default: wit-bindgen)
#   WASM_TOOLS    wasm-tools 1.263.0                            (default: wasm-tools)
#   VOLLEY_ADAPTER  wasi_snapshot_preview1.reactor.wasm
#                 (default: ${XDG_DATA_HOME:-~/.local/share}/volley/wasi_snapshot_preview1.reactor.wasm)
#   CFLAGS        (default: -O2 -Wall -Wextra -Werror)
#   VOLLEY_WIT_DIR  the WIT folder (default: wit/ beside this script, else ../wit)
# Any missing tool or file stops the build with a message.

set -euo pipefail

sdk_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

die() {
    echo "build-scenario.sh: $*" >&2
    exit 1
}

[ $# -ge 2 ] || die "usage: build-scenario.sh OUT.wasm SOURCE.c [MORE.c ...]"
out=$1
shift

if [ -z "${CC:-}" ] || [ "$CC" = cc ]; then
    if command -v clang-19 >/dev/null 2>&1; then CC=clang-19; else CC=clang; fi
fi
WIT_BINDGEN=${WIT_BINDGEN:-wit-bindgen}
WASM_TOOLS=${WASM_TOOLS:-wasm-tools}
VOLLEY_ADAPTER=${VOLLEY_ADAPTER:-${XDG_DATA_HOME:-$HOME/.local/share}/volley/wasi_snapshot_preview1.reactor.wasm}
if [ -z "${VOLLEY_WIT_DIR:-}" ]; then
    # A self-contained copy keeps wit/ beside this script; the checkout, beside plugin-sdk/c.
    if [ -f "$sdk_dir/wit/scenario.wit" ]; then VOLLEY_WIT_DIR=$sdk_dir/wit; else VOLLEY_WIT_DIR=$sdk_dir/../wit; fi
fi
read -r -a cflags <<<"${CFLAGS:--O2 -Wall -Wextra -Werror}"

for tool in "$CC" "$WIT_BINDGEN" "$WASM_TOOLS"; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool not found (see plugin-sdk/c/README.md, 'Install the tool chain')"
done
[ -s "$VOLLEY_ADAPTER" ] || die "the WASI reactor adapter $VOLLEY_ADAPTER is missing (set VOLLEY_ADAPTER; see plugin-sdk/c/README.md)"
[ -f "$VOLLEY_WIT_DIR/scenario.wit" ] || die "no scenario.wit in $VOLLEY_WIT_DIR (set VOLLEY_WIT_DIR)"
for source in "$@"; do
    [ -f "$source" ] || die "no such source file: $source"
done

work=$(mktemp -d "${TMPDIR:-/tmp}/volley-c-build.XXXXXX")
trap 'rm -rf "$work"' EXIT

# 1. Bindings.
if ! "$WIT_BINDGEN" c --world scenario --out-dir "$work/bindings" "$VOLLEY_WIT_DIR" >"$work/wit-bindgen.log" 2>&1; then
    cat "$work/wit-bindgen.log" >&2
    die "wit-bindgen failed"
fi

# 2. Core module. The generated bindings are compiled with the same warnings.
target=(--target=wasm32-wasi)
objects=()
compile() {
    local object
    object="$work/$(( ${#objects[@]} ))-$(basename "$1" .c).o"
    "$CC" "${target[@]}" -std=gnu17 "${cflags[@]}" -I "$work/bindings" -I "$sdk_dir" -c "$1" -o "$object"
    objects+=("$object")
}
compile "$work/bindings/scenario.c"
compile "$sdk_dir/volley.c"
for source in "$@"; do
    compile "$source"
done
"$CC" "${target[@]}" -mexec-model=reactor "${cflags[@]}" -Wl,--strip-debug \
    "${objects[@]}" "$work/bindings/scenario_component_type.o" -o "$work/core.wasm"

# 3. Component.
mkdir -p "$(dirname "$out")"
"$WASM_TOOLS" component new "$work/core.wasm" \
    --adapt "wasi_snapshot_preview1=$VOLLEY_ADAPTER" -o "$out"
"$WASM_TOOLS" validate --features all "$out"
echo "built $out ($(wc -c <"$out") bytes)" >&2
