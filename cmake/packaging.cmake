# `cpack -G DEB` (in a build directory) makes pier_<version>_<arch>.deb: pierd and pierload in
# /usr/bin, the default config as a conffile at /etc/pier/pier.yaml (dpkg keeps an operator's
# edits on upgrade), the systemd units (pier.service, pier.socket) in /lib/systemd/system, and
# maintainer scripts for them. tests/package/check_deb.sh builds it and checks it.

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
# Library dependencies from the binaries themselves (dpkg-shlibdeps, package dpkg-dev; CPack
# also needs the `file` program to find the binaries).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# /bin/kill, which pier.service's ExecReload runs; the library dependencies are added to it.
set(CPACK_DEBIAN_PACKAGE_DEPENDS procps)
# The conffile list and the maintainer scripts (packaging/debian/: systemd re-reads its units
# on install and removal, a running pier.service restarts on upgrade and stops on removal;
# nothing is enabled or started at first install). Strict permissions: the scripts go in as
# 0755, conffiles as 0644, whatever the checkout's modes.
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/packaging/debian/conffiles
    ${PROJECT_SOURCE_DIR}/packaging/debian/postinst
    ${PROJECT_SOURCE_DIR}/packaging/debian/prerm
    ${PROJECT_SOURCE_DIR}/packaging/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_STRIP_FILES ON)
include(CPack)
