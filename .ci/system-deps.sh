#!/usr/bin/env bash
# The machine-level parts the tests use for real: Node (the OpenID Provider), D-Bus and gnome-keyring
# (a real Secret Service), Chromium (a real browser). Installed when root, otherwise named and refused.
set -euo pipefail
missing=()
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
command -v dbus-daemon >/dev/null || missing+=(dbus)
command -v dbus-send >/dev/null || missing+=(dbus-bin)
command -v gnome-keyring-daemon >/dev/null || missing+=(gnome-keyring)
command -v chromium >/dev/null || missing+=(chromium)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
    echo "make: missing Debian packages: ${missing[*]}" >&2
    echo "  install them (sudo apt-get install -y --no-install-recommends ${missing[*]}) and run make again" >&2
    exit 1
fi
echo "Installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
