#!/usr/bin/env bash
# Fails when a C++ file differs from .clang-format (clang-format 14, as Debian 12 ships it:
# other versions lay the same file out differently, so the check is pinned to that one).
# usage: scripts/check-format.sh          (scripts/check-format.sh --fix rewrites the files)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
if ! command -v clang-format-14 >/dev/null; then
    if ! apt-cache show clang-format-14 >/dev/null 2>&1; then
        echo "format: needs clang-format-14, which this release does not package; run it on Debian 12" >&2
        exit 1
    fi
    sudo=()
    if ((EUID != 0)); then sudo=(sudo); fi
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get update -q
    "${sudo[@]}" apt-get install -y -q --no-install-recommends clang-format-14
fi
listing="$(git ls-files '*.cpp' '*.hpp')"
mapfile -t files <<<"$listing"
if [[ -z "$listing" ]]; then
    echo "format: no C++ files found (is this a git checkout?)" >&2
    exit 1
fi
if [[ "${1:-}" == "--fix" ]]; then
    clang-format-14 -i "${files[@]}"
else
    clang-format-14 --dry-run --Werror "${files[@]}"
    echo "format: ${#files[@]} files clean"
fi
