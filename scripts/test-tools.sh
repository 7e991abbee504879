#!/usr/bin/env bash
# Installs what the tests start besides the project itself: a Python venv with aiosmtpd
# (a real SMTP server) and moto (the AWS emulator), Debian's Chromium (the report
# opened in a real browser) with playwright-core (npm, to drive it through the viewer),
# openssl (the RSA keys of the JWT tests), and the JSONata
# reference implementation (npm) that the evaluator's differential test compares against.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=target/test-venv
if ! "$venv/bin/python" -c "import aiosmtpd, moto.server" 2>/dev/null; then
    echo "test-tools: preparing $venv (aiosmtpd, moto)"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r scripts/test-requirements.txt
fi

if [ ! -d tools/jsonata-ref/node_modules/jsonata ]; then
    echo "test-tools: installing the JSONata reference (tools/jsonata-ref)"
    (cd tools/jsonata-ref && npm ci --no-audit --no-fund --silent)
fi

if [ ! -d tools/browser/node_modules/playwright-core ]; then
    echo "test-tools: installing playwright-core (tools/browser; it uses Debian's chromium)"
    (cd tools/browser && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --silent)
fi

if ! command -v chromium >/dev/null; then
    echo "test-tools: installing Debian's chromium"
    if [ "$(id -u)" -ne 0 ]; then
        echo "test-tools: chromium is missing and installing it needs root (apt-get install chromium)" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    timeout 900 apt-get install -y --no-install-recommends chromium >/dev/null \
        || { timeout 300 apt-get update >/dev/null && timeout 900 apt-get install -y --no-install-recommends chromium >/dev/null; }
fi

if ! command -v openssl >/dev/null; then
    echo "test-tools: installing Debian's openssl"
    export DEBIAN_FRONTEND=noninteractive
    timeout 300 apt-get install -y --no-install-recommends openssl >/dev/null \
        || { timeout 300 apt-get update >/dev/null && timeout 300 apt-get install -y --no-install-recommends openssl >/dev/null; }
fi
