# Sourced by the other scripts: which supported release this machine runs, and the package
# names that differ between releases. The one place that lists the supported platforms.
#
# Supported: Debian 12 (bookworm), Debian 13 (trixie), Ubuntu 24.04 (noble); amd64 is tested,
# arm64 uses the same packages. Anything else stops with one line naming these.
#
# After platform_detect, these are set:
#   platform_name        e.g. "Debian 13 (trixie)"
#   platform_boost       Boost's -dev packages (headers and Program_options)
#   platform_llvm        the clang/LLVM major version the fuzz preset builds with
# PIER_OS_RELEASE names another os-release file (the scripts' own test uses it).
# PIER_BOOST=1.88 picks that Boost's versioned packages instead of the release's default (to
# build with another Boost the release packages, e.g. to check it: server/edge_reader.cmake).

platform_supported="Debian 12 (bookworm), Debian 13 (trixie), Ubuntu 24.04 (noble)"

platform_detect() {
    local file="${PIER_OS_RELEASE:-/etc/os-release}"
    local id="" codename=""
    if [[ -r $file ]]; then
        # In a subshell: os-release's variables (NAME, VERSION, ...) stay out of the script's.
        read -r id codename < <(
            # shellcheck disable=SC1090
            . "$file"
            echo "${ID:-unknown} ${VERSION_CODENAME:-unknown}"
        )
    fi
    case "$id/$codename" in
        debian/bookworm)
            platform_name="Debian 12 (bookworm)"
            # The unversioned libboost-dev is 1.74 here (too old) and conflicts with 1.81.
            platform_boost=(libboost1.81-dev libboost-program-options1.81-dev)
            platform_llvm=14
            ;;
        debian/trixie)
            platform_name="Debian 13 (trixie)"
            platform_boost=(libboost-dev libboost-program-options-dev)  # 1.83
            platform_llvm=19
            ;;
        ubuntu/noble)
            platform_name="Ubuntu 24.04 (noble)"
            platform_boost=(libboost-dev libboost-program-options-dev)  # 1.83
            platform_llvm=18
            ;;
        *)
            echo "pier: unsupported release '${id}/${codename}' (from $file); supported: $platform_supported" >&2
            return 1
            ;;
    esac
    if [[ -n ${PIER_BOOST:-} ]]; then
        platform_boost=("libboost$PIER_BOOST-dev" "libboost-program-options$PIER_BOOST-dev")
    fi
}
