#!/usr/bin/env bash
# Installs what the benchmarks start besides the test tools: MiniStack, in its own venv
# (target/ministack-venv), since it pins other botocore and graphql-core versions than
# moto in target/test-venv. Used by `cargo bench --bench sfn_api`.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=target/ministack-venv
if ! "$venv/bin/python" -c "import ministack" 2>/dev/null; then
    echo "bench-tools: preparing $venv (ministack)"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r scripts/bench-requirements.txt
fi
