#!/usr/bin/env bash
# Sets up and builds pier (see setup.sh), then runs the whole test suite for one preset.
# Exits non-zero if anything fails.
#
# usage: scripts/test.sh [preset]      (preset: release (default), portable, debug, asan, tsan)
set -euo pipefail

preset="${1:-release}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/setup.sh" "$preset"
cd "$root"
ctest --preset "$preset"
