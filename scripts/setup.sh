#!/usr/bin/env bash
# Installs what pier needs to build (Debian 12 packages only), then configures and builds one
# CMake preset. Idempotent: with everything installed and built it only re-checks, in seconds.
#
# usage: scripts/setup.sh [preset]     (preset: release (default), debug, asan, tsan, fuzz)
set -euo pipefail

preset="${1:-release}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# Boost is named by version: the unversioned libboost-dev is 1.74 and conflicts with 1.81.
packages=(
    g++ cmake ninja-build ccache mold
    libboost1.81-dev libboost-program-options1.81-dev
    libspdlog-dev libfmt-dev libyaml-cpp-dev doctest-dev
    # Test peers: pierload's line mode and the proxy are tested against a real redis-server
    # (the proxy with redis-benchmark, from redis-tools); git lists the files the format check
    # reads.
    redis-server redis-tools git
    # systemd-analyze checks systemd/pier.service offline (no systemd as PID 1 needed);
    # dpkg-dev's dpkg-shlibdeps gives the .deb its library dependencies.
    systemd dpkg-dev
)

# The fuzz preset builds with clang and libFuzzer (its runtime is in libclang-rt); llvm-14
# has the symbolizer that turns a crash's addresses into file:line.
if [[ $preset == fuzz ]]; then
    packages+=(clang-14 libclang-rt-14-dev llvm-14)
fi

missing=()
for package in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$package")
    fi
done

if ((${#missing[@]} > 0)); then
    echo "setup: installing ${missing[*]}" >&2
    sudo=()
    if ((EUID != 0)); then sudo=(sudo); fi
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get update -q
    "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

cd "$root"
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset"
