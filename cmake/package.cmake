# `make package`: a .deb of what cmake/install.cmake installs, for Debian 12, installing
# under /usr with the configuration in /etc/avsync (a conffile) and the unit in
# /usr/lib/systemd/system. The service is not enabled by the package (packaging/debian).
set(AVSYNC_PACKAGE_MAINTAINER "avsync maintainers <maintainers@avsync.invalid>" CACHE STRING
    "The Maintainer field of the .deb")

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME avsync)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "${AVSYNC_PACKAGE_MAINTAINER}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "offline-first sync engine: server, CLI and client SDK")
set(CPACK_PACKAGE_DESCRIPTION
    "avsync-server applies operations pushed by offline devices exactly once and serves a\n"
    "change feed (SQLite or PostgreSQL), as a hardened systemd service. The avsync CLI and\n"
    "the client SDK (libavsync, C and C++ headers, a CMake package and avsync.pc) keep a\n"
    "local replica that syncs with it.")
string(REPLACE ";" "" CPACK_PACKAGE_DESCRIPTION "${CPACK_PACKAGE_DESCRIPTION}")
# The install runs with the package's prefix itself (and a staging DESTDIR), so the paths
# written into the unit (cmake/install_service.cmake) are those of the installed system.
set(CPACK_SET_DESTDIR ON)
set(CPACK_INSTALL_PREFIX /usr)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)  # executables and libavsync.so; never the static archive

set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # avsync_0.2.0_amd64.deb
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Depends is computed from the ELF files by dpkg-shlibdeps (dpkg-dev).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# What linking libavsync.a needs besides it (avsync.pc's private part).
set(CPACK_DEBIAN_PACKAGE_SUGGESTS
    "pkg-config, libcurl4-openssl-dev, libssl-dev, libsqlite3-dev, libboost-json1.81-dev")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/packaging/debian/conffiles ${PROJECT_SOURCE_DIR}/packaging/debian/postinst
    ${PROJECT_SOURCE_DIR}/packaging/debian/prerm ${PROJECT_SOURCE_DIR}/packaging/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

include(CPack)
