#!/usr/bin/env bash
# Installs the Debian packages evercert needs to build, test and run.
# Idempotent: only packages that are missing are installed.
set -euo pipefail

packages=(
  build-essential cmake pkg-config clang
  debhelper dpkg-dev fakeroot lintian scdoc bash-completion systemd libsystemd0
  libssl-dev libmicrohttpd-dev libcurl4-openssl-dev libsqlite3-dev libcmocka-dev
  openssl curl sqlite3 util-linux iproute2 python3 scep stress-ng
  strongswan-pki libstrongswan-extra-plugins libstrongswan-standard-plugins
  certmonger dbus
  libpq-dev postgresql haproxy
  chromium python3-pil
  prometheus linux-perf
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "deps: installing ${missing[*]}"
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  sudo_cmd=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
