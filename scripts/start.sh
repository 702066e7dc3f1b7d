#!/usr/bin/env bash
# The main job from a fresh clone on Debian 12: installs the system and npm packages, then
# opens the app with the embedded default model. Without the Electron binary (it cannot be
# downloaded offline) the app opens in web mode in Chromium. Without a display, it
# generates four seconds of audio with the CLI into generated.wav instead.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-system-deps.sh
npm ci --ignore-scripts --no-audit --no-fund

if [ -n "${DISPLAY:-}" ] || [ -n "${WAYLAND_DISPLAY:-}" ]; then
  exec npm start
fi
echo "No display found (DISPLAY is unset): generating 4 s of audio with the default model into generated.wav instead of opening the app."
exec npm run --silent cli -- generate --seconds 4 --out generated.wav
