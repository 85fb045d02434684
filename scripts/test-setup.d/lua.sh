#!/usr/bin/env bash
# A Lua 5.1 interpreter (Argo CD runs health checks in gopher-lua, a Lua 5.1) for the tests
# that run Phoenix's Argo CD health checks against real objects. Debian's lua5.1.
set -euo pipefail
if command -v lua5.1 >/dev/null 2>&1; then
  lua5.1 -v 2>&1
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "lua5.1 is missing and cannot be installed here (needs root and apt-get): install Debian's lua5.1" >&2
  exit 1
fi
echo "installing lua5.1 from Debian's packages"
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -qq lua5.1 >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq lua5.1 >/dev/null; }
lua5.1 -v 2>&1
