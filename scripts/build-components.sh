#!/usr/bin/env bash
# Builds the task components into target/components/ (installing the wasm target if needed).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/wasm-toolchain.sh
cargo xtask components
