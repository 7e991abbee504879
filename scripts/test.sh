#!/usr/bin/env bash
# Runs every test: builds the components, makes sure MariaDB is up for the MySQL tests
# and that the tools the tests start are installed (aiosmtpd, Chromium),
# then the host workspace's tests and the guest crates' native unit tests.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build-components.sh
scripts/ensure-mariadb.sh
scripts/test-tools.sh
cargo test --workspace --no-fail-fast
cargo test --manifest-path components/Cargo.toml --package cafe-guest --package cafe-presign --target-dir target
