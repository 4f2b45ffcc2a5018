#!/usr/bin/env bash
# Makes this machine able to run TorchSharp 0.107 (libtorch 2.10).
# Idempotent: when everything is already in place it only checks and returns.
#
# TorchSharp's native library needs a libstdc++ that exports GLIBCXX_3.4.32 (GCC 13 or newer).
# Debian 12 ships 3.4.30; on Debian 12 this script adds Debian 13 (trixie) as a low-priority
# apt suite (pin 100, so nothing else is upgraded from it implicitly) and installs libstdc++6 from it.
set -euo pipefail

need=GLIBCXX_3.4.32

log() { printf 'setup: %s\n' "$*" >&2; }

find_libstdcxx() {
  local f
  for f in /usr/lib/x86_64-linux-gnu/libstdc++.so.6 /usr/lib/aarch64-linux-gnu/libstdc++.so.6 \
           /usr/lib64/libstdc++.so.6 /usr/lib/libstdc++.so.6; do
    [ -e "$f" ] && { readlink -f "$f"; return 0; }
  done
  ldconfig -p 2>/dev/null | awk '/libstdc\+\+\.so\.6 /{print $NF; exit}'
}

has_symbol_version() {
  local lib
  lib=$(find_libstdcxx)
  [ -n "$lib" ] && grep -qa "$need" "$lib"
}

check_dotnet() {
  if ! command -v dotnet >/dev/null 2>&1; then
    log "the .NET SDK is missing: install .NET SDK 10 (https://dot.net) and put 'dotnet' on PATH"
    exit 1
  fi
}

check_dotnet

if has_symbol_version; then
  exit 0
fi

os_id=""; os_version=""
if [ -r /etc/os-release ]; then
  # shellcheck disable=SC1091
  . /etc/os-release
  os_id=${ID:-}; os_version=${VERSION_ID:-}
fi

if [ "$os_id" != "debian" ] || [ "$os_version" != "12" ]; then
  log "libstdc++ lacks $need, which TorchSharp 0.107 (libtorch 2.10) needs."
  log "This is ${PRETTY_NAME:-an unknown system}; install libstdc++ from GCC 13 or newer (for example libstdc++6 >= 13) and run again."
  exit 1
fi

if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
    log "libstdc++ lacks $need; installing it needs root (run this script as root or install sudo)"; exit 1
  fi
else
  SUDO=""
fi

# The mirror comes from the machine's own Debian source, so mirrors and proxies keep working.
mirror=""
if [ -r /etc/apt/sources.list.d/debian.sources ]; then
  mirror=$(awk '/^URIs:/ && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources)
fi
if [ -z "$mirror" ] && [ -r /etc/apt/sources.list ]; then
  mirror=$(awk '$1=="deb" && $0 !~ /security/ {for(i=2;i<=NF;i++) if ($i ~ /^(https?|ftp|file):/) {print $i; exit}}' /etc/apt/sources.list)
fi
if [ -z "$mirror" ]; then
  log "could not find a Debian mirror in /etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list"
  exit 1
fi

log "libstdc++ lacks $need: installing libstdc++6 from Debian 13 (trixie) via $mirror"
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
$SUDO tee /etc/apt/sources.list.d/captumsharp-trixie.sources >/dev/null <<SRC
Types: deb
URIs: $mirror
Suites: trixie
Components: main
Signed-By: $keyring
SRC
$SUDO tee /etc/apt/preferences.d/captumsharp-trixie.pref >/dev/null <<PREF
Package: *
Pin: release n=trixie
Pin-Priority: 100
PREF

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq -o Acquire::Retries=3
$SUDO apt-get install -y -qq -o Acquire::Retries=3 -t trixie libstdc++6 >/dev/null

if has_symbol_version; then
  log "libstdc++ now provides $need"
else
  log "installed libstdc++6 from trixie but $need is still missing in $(find_libstdcxx)"
  exit 1
fi
