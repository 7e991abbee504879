#!/usr/bin/env bash
# Scores the local engine against executions recorded on AWS, with ../shared/asl-conformance
# (a measuring tool: not part of scripts/test.sh or CI). Needs ASLC_REPO, the git directory
# of a copy of localstack/localstack; extra arguments go to run.py (--filter, --area, ...).
set -euo pipefail
cd "$(dirname "$0")/.."
tool=../shared/asl-conformance
: "${ASLC_REPO:?set ASLC_REPO to a copy of localstack/localstack (see $tool/README.md)}"
export ASLC_REPO
cargo build --release -p cafe-report
python3 "$tool/extract.py"
binary="$PWD/target/release/cafe-report"
python3 "$tool/run.py" --engine cmd --shell --account 000000000000 --jobs 4 \
    --cmd "$binary execute {definition} --input @{input_file} --name {exec_name} --state-machine-name {sm_name} --role-arn {role_arn} --history" \
    "$@"
