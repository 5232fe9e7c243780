# Shared set-up for the non-Rust example guests, sourced by each
# `example-plugins/concert-booking-<lang>/build.sh`.
#
# Tool chains are installed once, under example-plugins/target/toolchain
# (override with VOLLEY_TOOLCHAIN_DIR), pinned to the versions below. A tool that
# cannot be installed fails the build loudly: nothing is skipped.

set -euo pipefail

VOLLEY_EXAMPLES_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VOLLEY_REPO_DIR="$(dirname "$VOLLEY_EXAMPLES_DIR")"
VOLLEY_WIT_DIR="$VOLLEY_REPO_DIR/plugin-sdk/wit"
VOLLEY_TOOLCHAIN_DIR="${VOLLEY_TOOLCHAIN_DIR:-$VOLLEY_EXAMPLES_DIR/target/toolchain}"
mkdir -p "$VOLLEY_TOOLCHAIN_DIR/bin"
export PATH="$VOLLEY_TOOLCHAIN_DIR/bin:$PATH"

# Pinned versions (each builds with the project's Rust 1.95).
WASM_TOOLS_VERSION=1.263.0
WIT_BINDGEN_CLI_VERSION=0.63.0
PREVIEW1_ADAPTER_VERSION=48.0.8
PREVIEW1_ADAPTER_SHA256=d3a1674fffec103c1d4367d4417a3bd5423cde3cfd56ff3b326b5fc72c0a8ebd

# ensure_cargo_tool CRATE VERSION BINARY: `cargo install --locked` CRATE@VERSION
# into the tool chain folder unless BINARY there already reports VERSION.
ensure_cargo_tool() {
    local crate=$1 version=$2 binary=$3
    if "$VOLLEY_TOOLCHAIN_DIR/bin/$binary" --version 2>/dev/null | grep -qF "$version"; then
        return
    fi
    echo "toolchain: installing $crate $version" >&2
    cargo install --quiet --locked --root "$VOLLEY_TOOLCHAIN_DIR" "$crate@$version"
}

ensure_wasm_tools() { ensure_cargo_tool wasm-tools "$WASM_TOOLS_VERSION" wasm-tools; }
ensure_wit_bindgen() { ensure_cargo_tool wit-bindgen-cli "$WIT_BINDGEN_CLI_VERSION" wit-bindgen; }

# ensure_venv NAME: the Python virtual environment NAME in the tool chain
# folder, activated (one per language, so their packages never clash).
ensure_venv() {
    local venv="$VOLLEY_TOOLCHAIN_DIR/venv-$1"
    if [ ! -x "$venv/bin/python" ]; then
        echo "toolchain: creating $venv" >&2
        python3 -m venv "$venv"
    fi
    # shellcheck disable=SC1091
    source "$venv/bin/activate"
}

# ensure_pip_package VENV NAME VERSION: NAME==VERSION installed in the venv VENV,
# which is left activated.
ensure_pip_package() {
    local venv=$1 name=$2 version=$3
    ensure_venv "$venv"
    if [ "$(python -m pip show "$name" 2>/dev/null | sed -n 's/^Version: //p')" != "$version" ]; then
        echo "toolchain: installing $name $version" >&2
        python -m pip install --quiet --disable-pip-version-check "$name==$version"
    fi
}

# ensure_preview1_adapter: prints the path of the WASI preview1 reactor adapter
# (`wasm-tools component new --adapt`), taken from the crates.io package
# wasi-preview1-component-adapter-provider of our wasmtime's version.
ensure_preview1_adapter() {
    local adapter="$VOLLEY_TOOLCHAIN_DIR/wasi_snapshot_preview1.reactor.wasm"
    if [ ! -s "$adapter" ]; then
        local name="wasi-preview1-component-adapter-provider-$PREVIEW1_ADAPTER_VERSION"
        local crate="$VOLLEY_TOOLCHAIN_DIR/$name.crate"
        echo "toolchain: downloading $name" >&2
        curl -sSfL -o "$crate" "https://static.crates.io/crates/wasi-preview1-component-adapter-provider/$name.crate"
        echo "$PREVIEW1_ADAPTER_SHA256  $crate" | sha256sum --check --quiet
        tar -xzf "$crate" -O "$name/artefacts/wasi_snapshot_preview1.reactor.wasm" >"$adapter.tmp"
        mv "$adapter.tmp" "$adapter"
        rm "$crate"
    fi
    echo "$adapter"
}

# ensure_apt_packages PACKAGE...: Debian packages, installed when missing.
ensure_apt_packages() {
    local missing=()
    local package
    for package in "$@"; do
        dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "toolchain: installing ${missing[*]}" >&2
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
    fi
}
