#!/usr/bin/env bash
# Installs what pier needs to build and test (the distribution's packages only, chosen by
# release: scripts/platform.sh), then configures one CMake preset and builds it: everything,
# or only the targets named. Idempotent: with everything installed and built it only
# re-checks, in seconds.
#
# usage: scripts/setup.sh [preset [target...]]
#        (preset: release (default), portable, debug, asan, tsan, fuzz; e.g. `setup.sh release pierd`)
set -euo pipefail

preset="${1:-release}"
shift || true
targets=("$@")
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/platform.sh
source "$root/scripts/platform.sh"
platform_detect

packages=(
    g++ cmake ninja-build ccache mold
    "${platform_boost[@]}"
    libspdlog-dev libfmt-dev libyaml-cpp-dev doctest-dev libssl-dev
    # TLS's test peer: openssl s_client, a client the tests did not write.
    openssl
    # Test peers: pierload's line mode and the proxy are tested against a real redis-server
    # (the proxy with redis-benchmark, from redis-tools); git lists the files the format check
    # reads.
    redis-server redis-tools git
    # systemd-analyze checks systemd/pier.service offline (no systemd as PID 1 needed);
    # dpkg-dev's dpkg-shlibdeps gives the .deb its library dependencies, and CPack's DEB
    # generator runs `file` on each binary first (minimal roots do not have it).
    systemd dpkg-dev file
)

# The fuzz preset builds with clang and libFuzzer (its runtime is in libclang-rt); llvm has
# the symbolizer that turns a crash's addresses into file:line.
if [[ $preset == fuzz ]]; then
    packages+=("clang-$platform_llvm" "libclang-rt-$platform_llvm-dev" "llvm-$platform_llvm")
fi

missing=()
for package in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$package")
    fi
done

if ((${#missing[@]} > 0)); then
    echo "setup: installing on $platform_name: ${missing[*]}" >&2
    sudo=()
    if ((EUID != 0)); then sudo=(sudo); fi
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get update -q
    "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

cd "$root"
configure=(--preset "$preset")
if [[ $preset == fuzz ]]; then
    configure+=(-D "CMAKE_CXX_COMPILER=clang++-$platform_llvm")
fi
cmake "${configure[@]}" >/dev/null
if ((${#targets[@]} > 0)); then
    cmake --build --preset "$preset" --target "${targets[@]}"
else
    cmake --build --preset "$preset"
fi
