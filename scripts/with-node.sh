#!/usr/bin/env bash
# Runs a command with a Node new enough for Phoenix first on PATH (see ensure-node.sh), so
# `npm run …` works even when npm itself was started by an older system Node.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
PATH="$("$here/ensure-node.sh"):$here/../node_modules/.bin:$PATH"
export PATH
exec "$@"
