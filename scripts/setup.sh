#!/usr/bin/env bash
# Makes this machine able to build and test CaptumSharp: TorchSharp 0.107 (libtorch 2.10) and a headless Chromium
# for the HTML report's browser test.
# Idempotent: when everything is already in place it only checks and returns (no apt calls).
#
# TorchSharp's native library needs a libstdc++ that exports GLIBCXX_3.4.32 (GCC 13 or newer).
# Debian 12 ships 3.4.30; on Debian 12 this script adds Debian 13 (trixie) as a low-priority
# apt suite (pin 100) and installs libstdc++6 from it. That libstdc++6 needs trixie's libc6 and gcc base, which
# come with it (about 27 packages on a minimal Debian 12, libc6 2.41 among them, and /etc/os-release then says
# Debian 13); after that the pin keeps later upgrades from taking anything else from trixie.
#
# tests/Captum.Visualization.Tests renders an HtmlReport in headless Chromium, and tests/Captum.Insights.Tests drives
# Captum Insights' page in it through Playwright (ExecutablePath /usr/bin/chromium). On Debian the script installs
# Debian's chromium package from the machine's default suite (never from trixie); elsewhere it says what is missing.
#
# Captum.Influence's approximate nearest-neighbour index (USearch) loads a native library that needs the system's
# OpenMP runtime, libgomp.so.1 (libtorch carries its own copy, USearch does not); the script installs Debian's
# libgomp1 when it is missing.
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

find_chromium() {
  local c
  for c in chromium chromium-browser; do
    command -v "$c" 2>/dev/null && return 0
  done
  [ -x /usr/bin/chromium ] && { echo /usr/bin/chromium; return 0; }
  return 1
}

check_dotnet() {
  if ! command -v dotnet >/dev/null 2>&1; then
    log "the .NET SDK is missing: install .NET SDK 10 (https://dot.net) and put 'dotnet' on PATH"
    exit 1
  fi
}

check_dotnet

has_libgomp() {
  # grep reads all of ldconfig's output (no -q): under pipefail an early exit would fail the pipe with SIGPIPE.
  ldconfig -p 2>/dev/null | grep 'libgomp\.so\.1 ' >/dev/null && return 0
  local d
  for d in /usr/lib/x86_64-linux-gnu /usr/lib/aarch64-linux-gnu /usr/lib64 /usr/lib; do
    [ -e "$d/libgomp.so.1" ] && return 0
  done
  return 1
}

# Fast path: nothing to do, so no apt calls at all.
if has_symbol_version && find_chromium >/dev/null && has_libgomp; then
  exit 0
fi

os_id=""; os_version=""; PRETTY_NAME=""
if [ -r /etc/os-release ]; then
  # shellcheck disable=SC1091
  . /etc/os-release
  os_id=${ID:-}; os_version=${VERSION_ID:-}
fi

# Sets SUDO for apt; fails when neither root nor sudo is available. $1 says what is being installed.
SUDO=""
need_root() {
  if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
  elif command -v sudo >/dev/null 2>&1; then
    SUDO=sudo
  else
    log "installing $1 needs root (run this script as root or install sudo)"
    return 1
  fi
}

apt_updated=0
apt_update() {
  [ "$apt_updated" -eq 1 ] && return 0
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq -o Acquire::Retries=3 || return 1
  apt_updated=1
}

# Installs Debian package $1 from the machine's default suite (no -t, so the trixie pin added for libstdc++ is not
# used); $2 says what for.
apt_install_default() {
  need_root "$1 ($2)" || return 1
  log "installing Debian's $1 ($2)"
  apt_update || { log "apt-get update failed"; return 1; }
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o Acquire::Retries=3 "$1" >/dev/null \
    || { log "apt-get install $1 failed"; return 1; }
}

ensure_libstdcxx() {
  if has_symbol_version; then
    return 0
  fi

  if [ "$os_id" != "debian" ] || [ "$os_version" != "12" ]; then
    log "libstdc++ lacks $need, which TorchSharp 0.107 (libtorch 2.10) needs."
    log "This is ${PRETTY_NAME:-an unknown system}; install libstdc++ from GCC 13 or newer (for example libstdc++6 >= 13) and run again."
    return 1
  fi

  need_root "libstdc++6 (it lacks $need)" || return 1

  # The mirror comes from the machine's own Debian source, so mirrors and proxies keep working.
  local mirror=""
  if [ -r /etc/apt/sources.list.d/debian.sources ]; then
    mirror=$(awk '/^URIs:/ && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources)
  fi
  if [ -z "$mirror" ] && [ -r /etc/apt/sources.list ]; then
    mirror=$(awk '$1=="deb" && $0 !~ /security/ {for(i=2;i<=NF;i++) if ($i ~ /^(https?|ftp|file):/) {print $i; exit}}' /etc/apt/sources.list)
  fi
  if [ -z "$mirror" ]; then
    log "could not find a Debian mirror in /etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list"
    return 1
  fi

  log "libstdc++ lacks $need: installing libstdc++6 from Debian 13 (trixie) via $mirror"
  local keyring=/usr/share/keyrings/debian-archive-keyring.gpg
  $SUDO tee /etc/apt/sources.list.d/captumsharp-trixie.sources >/dev/null <<SRC || return 1
Types: deb
URIs: $mirror
Suites: trixie
Components: main
Signed-By: $keyring
SRC
  $SUDO tee /etc/apt/preferences.d/captumsharp-trixie.pref >/dev/null <<PREF || return 1
Package: *
Pin: release n=trixie
Pin-Priority: 100
PREF

  apt_update || { log "apt-get update failed"; return 1; }
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o Acquire::Retries=3 -t trixie libstdc++6 >/dev/null \
    || { log "apt-get install -t trixie libstdc++6 failed"; return 1; }

  if has_symbol_version; then
    log "libstdc++ now provides $need"
  else
    log "installed libstdc++6 from trixie but $need is still missing in $(find_libstdcxx)"
    return 1
  fi
}

ensure_chromium() {
  if find_chromium >/dev/null; then
    return 0
  fi

  if [ "$os_id" != "debian" ]; then
    log "Chromium is missing: tests/Captum.Visualization.Tests renders the HTML report in headless Chromium and tests/Captum.Insights.Tests drives the Insights page in it."
    log "This is ${PRETTY_NAME:-an unknown system}; install Chromium so that 'chromium' or 'chromium-browser' is on PATH (or /usr/bin/chromium exists) and run again."
    return 1
  fi

  apt_install_default chromium "chromium is missing; for the browser rendering test" || return 1

  local c
  if c=$(find_chromium); then
    log "chromium is installed: $c ($("$c" --version 2>/dev/null || echo 'version unknown'))"
  else
    log "installed the chromium package but no chromium executable was found"
    return 1
  fi
}

ensure_libgomp() {
  if has_libgomp; then
    return 0
  fi

  if [ "$os_id" != "debian" ]; then
    log "libgomp.so.1 (GCC's OpenMP runtime) is missing: the USearch index of Captum.Influence needs it."
    log "This is ${PRETTY_NAME:-an unknown system}; install it (the libgomp1 or libgomp package) and run again."
    return 1
  fi

  apt_install_default libgomp1 "libgomp.so.1 is missing; for the USearch index" || return 1
  has_libgomp || { log "installed libgomp1 but libgomp.so.1 was not found"; return 1; }
}

status=0
ensure_libstdcxx || status=1
ensure_chromium || status=1
ensure_libgomp || status=1
exit "$status"
