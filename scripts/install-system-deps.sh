#!/usr/bin/env bash
# Installs the Debian 12 packages the tests and the CLI need, with apt-get (through sudo
# when not run as root).
#
# - lavapipe (Mesa's Vulkan rasterizer on the CPU) from bookworm-backports: Dawn's Vulkan
#   backend rejects bookworm's own Mesa 22.3 ("shaderUniform*ArrayDynamicIndexing
#   required"), and accepts Mesa 25 from backports.
# - libegl-dev: Dawn's OpenGL ES backend loads the unversioned libEGL.so, the fallback when
#   Vulkan is missing.
# - chromium: the browser that the end-to-end tests drive (Playwright cannot download one).
# - sox: the tests re-open exported WAV files with it.
set -euo pipefail

if [ "$(id -u)" != 0 ]; then
  if ! command -v sudo >/dev/null; then
    echo "install-system-deps.sh: apt-get needs root; run this script as root or install sudo" >&2
    exit 1
  fi
  exec sudo --preserve-env=DEBIAN_FRONTEND bash "$0" "$@"
fi

export DEBIAN_FRONTEND=noninteractive
backports=/etc/apt/sources.list.d/bookworm-backports.sources
if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  cat > "$backports" <<'SOURCES'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
fi

apt-get update -q
apt-get install -y -q --no-install-recommends -t bookworm-backports mesa-vulkan-drivers libvulkan1
apt-get install -y -q --no-install-recommends libegl-dev libegl1 chromium sox xvfb xauth fonts-dejavu-core
