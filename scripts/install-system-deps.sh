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

packages=(mesa-vulkan-drivers libvulkan1 libegl-dev libegl1 chromium sox xvfb xauth fonts-dejavu-core)

# Everything present already (with a Mesa from backports, not bookworm's 22.3): no root, no
# network. Otherwise every run of start.sh would update the package lists.
all_installed() {
  local package
  for package in "${packages[@]}"; do
    [ "$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null)" = "install ok installed" ] || return 1
  done
  dpkg --compare-versions "$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers)" ge 23
}
if all_installed; then
  echo "install-system-deps.sh: the system packages are installed already"
  exit 0
fi

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
