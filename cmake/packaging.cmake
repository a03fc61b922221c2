# `cpack -G DEB` (in a build directory) makes pier_<version>_<arch>.deb: pierd and pierload in
# /usr/bin, the default config as a conffile at /etc/pier/pier.yaml (dpkg keeps an operator's
# edits on upgrade), and the systemd units (pier.service, pier.socket) in /lib/systemd/system. tests/package/check_deb.sh
# builds it and checks its contents.

# Absolute destinations: these paths are the package's, whatever the install prefix.
install(FILES ${PROJECT_SOURCE_DIR}/config/pier.yaml DESTINATION /etc/pier COMPONENT pier)
install(FILES ${PROJECT_SOURCE_DIR}/systemd/pier.service ${PROJECT_SOURCE_DIR}/systemd/pier.socket
        DESTINATION /lib/systemd/system COMPONENT pier)

set(CPACK_PACKAGE_NAME pier)
set(CPACK_PACKAGE_VENDOR "pier")
set(CPACK_PACKAGE_CONTACT "pier maintainers <pier@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "High-concurrency TCP server daemon configured from YAML")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
# Library dependencies from the binaries themselves (dpkg-shlibdeps, package dpkg-dev).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# /bin/kill, which pier.service's ExecReload runs; the library dependencies are added to it.
set(CPACK_DEBIAN_PACKAGE_DEPENDS procps)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${PROJECT_SOURCE_DIR}/packaging/debian/conffiles)
set(CPACK_STRIP_FILES ON)
include(CPack)
