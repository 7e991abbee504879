#!/usr/bin/env bash
# The main job on embedded defaults: builds what it needs, then runs one report end to end
# (SQLite sample database, embedded S3 endpoint, outbox). Extra arguments go to
# `cafe-report report` (e.g. --hold to keep the link openable, --json).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build-components.sh >&2
# CAFE_REPORT_BIN: a binary already built from this checkout (CI passes the one its test
# build made: the test build unifies the dev-dependencies' features, so building here
# again would recompile the AWS SDK for the same code).
if [ -n "${CAFE_REPORT_BIN:-}" ]; then
    exec "$CAFE_REPORT_BIN" report "$@"
fi
if [ ! -x target/debug/cafe-report ]; then
    echo "report: building the cafe-report binary (the first build compiles wasmtime and the AWS SDK: about ten minutes on 2 cores)" >&2
fi
# cargo's own progress goes to stderr; the report alone to stdout.
cargo build --package cafe-report --bin cafe-report
exec target/debug/cafe-report report "$@"
