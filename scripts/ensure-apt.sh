#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages the desktop build and the desktop/browser tests need,
# and only those that are missing (a machine that has them all makes no network call).
#   build:  compiler, pkg-config, WebKitGTK 4.1 and the libraries Tauri links
#   tests:  Xvfb (virtual display), WebKitWebDriver, Chromium (browser e2e), a CJK font so
#           screenshots of the Chinese UI show glyphs, not boxes
set -euo pipefail

PACKAGES=(
  build-essential pkg-config file curl
  libwebkit2gtk-4.1-dev libxdo-dev libssl-dev libayatana-appindicator3-dev librsvg2-dev
  xvfb xauth webkit2gtk-driver chromium fonts-wqy-microhei
)

missing=()
for pkg in "${PACKAGES[@]}"; do
  # `dpkg -s` also succeeds for removed-but-configured packages; check the status line.
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

if ! command -v apt-get >/dev/null; then
  echo "ensure-apt: missing ${missing[*]}, and this system has no apt-get; install the equivalents with your package manager (see docs/desktop.md)" >&2
  exit 1
fi
# Through env, because sudo drops the caller's environment.
APT=(env DEBIAN_FRONTEND=noninteractive apt-get)
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "ensure-apt: missing ${missing[*]}; run this script as root or install sudo" >&2; exit 1; }
  APT=(sudo "${APT[@]}")
fi
echo "ensure-apt: installing ${missing[*]}" >&2
"${APT[@]}" update -qq
"${APT[@]}" install -y -qq --no-install-recommends "${missing[@]}"
