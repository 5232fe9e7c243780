#!/usr/bin/env bash
# Builds the example guests written in Python, JavaScript, Go and C (the
# concert-booking scenario in each, JavaScript's fetch example, and each
# language's template from plugin-sdk/) into OUT_DIR, by default
# example-plugins/target/languages. Each language's tool chain is installed on
# first use, pinned (see toolchain.sh). api/tests/languages.rs runs the results;
# .ci/test calls this first. Any missing tool fails the build: nothing is skipped.
#
#   bash example-plugins/build-languages.sh [OUT_DIR] [LANGUAGE...]
set -euo pipefail

examples_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out_dir="${1:-$examples_dir/target/languages}"
shift || true
languages=("$@")
if [ ${#languages[@]} -eq 0 ]; then
    languages=(python js go c)
fi
mkdir -p "$out_dir"
out_dir="$(cd "$out_dir" && pwd)"

for language in "${languages[@]}"; do
    started=$(date +%s)
    echo "== building the $language guests" >&2
    bash "$examples_dir/concert-booking-$language/build.sh" "$out_dir"
    echo "   $language: $(( $(date +%s) - started )) s" >&2
done
ls -l "$out_dir"/*.wasm >&2
