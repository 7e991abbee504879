#!/usr/bin/env bash
# Static checks of the deployable artifacts: cfn-lint and checkov on the SAM template,
# asl-validator on every state machine definition. Installs them (pinned) on first use.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=target/lint-venv
if ! "$venv/bin/cfn-lint" --version >/dev/null 2>&1 || ! "$venv/bin/checkov" --version >/dev/null 2>&1; then
    echo "lint: preparing $venv (cfn-lint, checkov)"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r scripts/lint-requirements.txt
fi
if [ ! -x tools/lint/node_modules/.bin/asl-validator ]; then
    echo "lint: installing asl-validator"
    (cd tools/lint && npm ci --no-audit --no-fund --silent)
fi

"$venv/bin/cfn-lint" deploy/template.yaml
echo "cfn-lint: deploy/template.yaml is valid"
# --skip-download: no request for checkov's online guidelines (this runs offline);
# A failed check fails the run (checkov exits 1).
"$venv/bin/checkov" --file deploy/template.yaml --framework cloudformation --compact --quiet --skip-download
echo "checkov: deploy/template.yaml passes (skipped checks carry their reasons in its Metadata)"
find . -name '*.asl.json' -not -path './target/*' -not -path '*/node_modules/*' -print0 |
    xargs -0 -n1 tools/lint/node_modules/.bin/asl-validator --json-path
