#!/usr/bin/env bash
# Checks systemd/pier.service (and pier.socket beside it) offline (no systemd as PID 1):
#   - `systemd-analyze verify` prints nothing (it exits 0 even on unknown keys, so any output
#     is a failure);
#   - `systemd-analyze security --offline=true` rates its exposure at most 1.5.
# verify needs ExecStart's binary to exist: the unit is checked as a copy whose /usr/bin/pierd
# points at the pierd just built.
#
# usage: tests/systemd/check_unit.sh PIERD UNIT_FILE
set -euo pipefail

pierd=$(realpath "$1")
unit=$2
max_exposure=1.5
command -v systemd-analyze >/dev/null || { echo "systemd-analyze missing (apt-get install systemd)" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/pier-unit.XXXXXX")
trap 'rm -rf "$work"' EXIT
sed "s|/usr/bin/pierd|$pierd|g" "$unit" >"$work/pier.service"
# The socket unit beside it, if there is one, is verified with it.
socket_unit=$(dirname "$unit")/pier.socket
units=(./pier.service)
if [[ -f $socket_unit ]]; then
    cp "$socket_unit" "$work/pier.socket"
    units+=(./pier.socket)
fi
cd "$work"

verify_output=$(systemd-analyze verify --man=no "${units[@]}" 2>&1) || true
if [[ -n $verify_output ]]; then
    echo "systemd-analyze verify reported:" >&2
    echo "$verify_output" >&2
    exit 1
fi

security_output=$(systemd-analyze security --offline=true ./pier.service 2>&1) || true
exposure=$(sed -nE 's/.*Overall exposure level for pier.service: ([0-9.]+).*/\1/p' <<<"$security_output")
[[ -n $exposure ]] || { echo "$security_output" >&2; echo "no exposure level found" >&2; exit 1; }
if ! awk -v e="$exposure" -v m="$max_exposure" 'BEGIN { exit !(e <= m) }'; then
    echo "$security_output" | grep -E "✗" >&2
    echo "exposure $exposure is above $max_exposure" >&2
    exit 1
fi
echo "${units[*]}: verify clean; pier.service exposure $exposure (at most $max_exposure)"
