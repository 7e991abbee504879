#!/usr/bin/env bash
# Makes sure the guest components can be built for wasm32-unknown-unknown.
# Source it (`. scripts/wasm-toolchain.sh`): where rustup cannot add the target, it installs
# Debian's wasm-capable toolchain and exports WASM_CARGO / WASM_RUSTC / WASM_CARGO_ARGS,
# which `cargo xtask components` uses for the guest build only.
# CAFE_REPORT_WASM_TOOLCHAIN=debian forces the fallback (to test it where rustup works).
target=wasm32-unknown-unknown
if [ "${CAFE_REPORT_WASM_TOOLCHAIN:-}" != debian ] && rustup target list --installed 2>/dev/null | grep -qx "$target"; then
  return 0 2>/dev/null || exit 0
fi
echo "wasm-toolchain: adding $target with rustup" >&2
if [ "${CAFE_REPORT_WASM_TOOLCHAIN:-}" != debian ] && command -v rustup >/dev/null && timeout 300 rustup target add "$target" >&2; then
  return 0 2>/dev/null || exit 0
fi
echo "wasm-toolchain: rustup could not add $target; using Debian's rustc-web" >&2
export DEBIAN_FRONTEND=noninteractive
if ! dpkg -s rustc-web cargo-web rust-web-src >/dev/null 2>&1; then
  apt-get update -qq >&2
  apt-get install -y -qq rustc-web cargo-web rust-web-src rust-web-llvm lld-22 >&2 ||
    apt-get install -y -qq rustc-web cargo-web rust-web-src rust-web-llvm lld >&2
fi
export WASM_CARGO=/usr/bin/cargo
export WASM_RUSTC=/usr/bin/rustc
export WASM_CARGO_ARGS="-Z build-std=std,panic_abort"
