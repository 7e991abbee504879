#!/usr/bin/env bash
# Static checks of the deployable artifacts: cfn-lint on the SAM template, asl-validator on
# every state machine definition. Installs both (pinned) on first use.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=target/lint-venv
if ! "$venv/bin/cfn-lint" --version >/dev/null 2>&1; then
    echo "lint: preparing $venv (cfn-lint)"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r scripts/lint-requirements.txt
fi
if [ ! -x tools/lint/node_modules/.bin/asl-validator ]; then
    echo "lint: installing asl-validator"
    (cd tools/lint && npm ci --no-audit --no-fund --silent)
fi

"$venv/bin/cfn-lint" deploy/template.yaml
echo "cfn-lint: deploy/template.yaml is valid"
find . -name '*.asl.json' -not -path './target/*' -not -path '*/node_modules/*' -print0 |
    xargs -0 -n1 tools/lint/node_modules/.bin/asl-validator --json-path
