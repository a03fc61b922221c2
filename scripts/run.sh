#!/usr/bin/env bash
# Sets up pier (see setup.sh) and builds only what trying it out needs, pierd and pierload
# (scripts/test.sh builds the rest), then runs pierd on the bundled config/pier.yaml.
# Extra arguments go to pierd, e.g. scripts/run.sh --log-level debug
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/setup.sh" release pierd pierload
cd "$root"
# pierd refuses to serve as root unless told to (README: Security). This script is for trying
# pier out, often as root on a fresh machine: say so explicitly rather than fail.
if ((EUID == 0)); then
    set -- --allow-root "$@"
fi
exec build/release/server/pierd --config config/pier.yaml "$@"
