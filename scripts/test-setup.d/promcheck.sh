#!/usr/bin/env bash
# promlint and the PromQL parser for the metrics tests (tools/promcheck, built once and cached).
set -euo pipefail
"$(dirname "$0")/../build-promcheck.sh" >/dev/null
echo "promcheck ready"
