#!/usr/bin/env bash
# Runs every benchmark of this module and the slow-dependency scenario, and
# writes ../BENCHMARKS.md from the results. Extra flags go to cmd/report
# (-count, -benchtime, -bench, -o).
set -euo pipefail
cd "$(dirname "$0")"
exec go run ./cmd/report "$@"
