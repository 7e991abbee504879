#!/usr/bin/env bash
# Builds the Lambda deployment package that deploy/template.yaml points at:
# target/lambda/package/{bootstrap, components/*.wasm, cache/*.cwasm}.
# bootstrap is the release cafe-report binary (a binary named bootstrap runs `lambda`);
# the cache holds the components precompiled, so a cold start skips Cranelift (~100 ms).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/build-components.sh
cargo build --release -p cafe-report

package=target/lambda/package
rm -rf "$package"
mkdir -p "$package/components" "$package/cache"
cp target/release/cafe-report "$package/bootstrap"
strip --strip-unneeded "$package/bootstrap"
cp target/components/{query,render,presign}.wasm "$package/components/"

# provided.al2023 has glibc 2.34: refuse a binary that needs a newer one.
newest=$(objdump -T "$package/bootstrap" | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -1)
if [ "$(printf '%s\nGLIBC_2.34\n' "$newest" | sort -V | tail -1)" != "GLIBC_2.34" ]; then
    echo "package: bootstrap needs $newest, newer than provided.al2023's GLIBC_2.34;" \
         "build on an older distribution or with cargo zigbuild --target x86_64-unknown-linux-gnu.2.34" >&2
    exit 1
fi

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
CAFE_REPORT_DATA_DIR="$scratch" \
CAFE_REPORT_COMPONENTS_DIR="$package/components" \
CAFE_REPORT_COMPONENTS_CACHE_DIR="$package/cache" \
    "$package/bootstrap" components precompile
echo "package: $package ($(du -sh "$package" | cut -f1))"
