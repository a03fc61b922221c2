#!/usr/bin/env bash
# scripts/platform.sh on each supported release's /etc/os-release (as those releases ship it)
# and on an unsupported one: the right Boost packages for each, and for the unknown release
# one clear line naming the supported ones, not an apt error.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
work=$(mktemp -d "${TMPDIR:-/tmp}/pier-platform.XXXXXX")
trap 'rm -rf "$work"' EXIT
fail() { echo "platform_test: $*" >&2; exit 1; }
unset PIER_BOOST  # the caller's choice of Boost must not change what is expected here

# expect ID CODENAME BOOST_PACKAGES LLVM
expect() {
    printf 'PRETTY_NAME="test"\nID=%s\nVERSION_CODENAME=%s\n' "$1" "$2" >"$work/os-release"
    local got
    got=$(PIER_OS_RELEASE="$work/os-release" bash -c \
        'source "$0/scripts/platform.sh" && platform_detect &&
         echo "${platform_boost[*]}|$platform_llvm"' "$root") || fail "$1/$2 refused"
    [[ $got == "$3|$4" ]] || fail "$1/$2: got '$got', want '$3|$4'"
}

expect debian bookworm "libboost1.81-dev libboost-program-options1.81-dev" 14
expect debian trixie "libboost-dev libboost-program-options-dev" 19
expect ubuntu noble "libboost-dev libboost-program-options-dev" 18
PIER_BOOST=1.88 expect debian trixie "libboost1.88-dev libboost-program-options1.88-dev" 19

printf 'ID=debian\nVERSION_CODENAME=bullseye\n' >"$work/os-release"
if message=$(PIER_OS_RELEASE="$work/os-release" bash -c \
    'source "$0/scripts/platform.sh" && platform_detect' "$root" 2>&1); then
    fail "bullseye accepted"
fi
[[ $(wc -l <<<"$message") == 1 ]] || fail "more than one line for an unknown release: $message"
[[ $message == *"unsupported release 'debian/bullseye'"*"Debian 12 (bookworm), Debian 13 (trixie), Ubuntu 24.04 (noble)"* ]] ||
    fail "unclear message: $message"

# setup.sh stops with that line before touching apt.
if message=$(PIER_OS_RELEASE="$work/os-release" "$root/scripts/setup.sh" release 2>&1); then
    fail "setup.sh went on on bullseye"
fi
[[ $message == "pier: unsupported release 'debian/bullseye'"* ]] || fail "setup.sh said: $message"
echo "platform_test: bookworm, trixie, noble chosen right; bullseye refused in one line"
