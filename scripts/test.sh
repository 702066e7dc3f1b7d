#!/usr/bin/env bash
# The whole test suite from a fresh clone on Debian 12: system packages, npm packages,
# type-check, unit and GPU tests (WebGPU through Dawn on lavapipe), end-to-end tests.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-system-deps.sh
# --ignore-scripts: Electron's install script downloads its binary, which fails offline;
# no other dependency needs an install script on Linux.
npm ci --ignore-scripts --no-audit --no-fund
npm test
# End-to-end: the web build in Debian's Chromium, driven by Playwright.
npm run e2e
