#!/usr/bin/env bash
# The main job on embedded defaults: builds what it needs, then runs one report end to end
# (SQLite sample database, embedded S3 endpoint, outbox). Extra arguments go to
# `cafe-report report` (e.g. --hold to keep the link openable, --json).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build-components.sh >&2
exec cargo run --quiet --package cafe-report -- report "$@"
