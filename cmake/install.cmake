# What `cmake --install` puts in place (docs/install.md): the two programs, the client SDK
# (headers, libavsync.so and libavsync.a, a CMake package and avsync.pc) and the server's
# systemd unit with an example configuration. cmake/package.cmake makes a .deb of the same.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(AVSYNC_SYSTEMD_UNIT_DIR "lib/systemd/system" CACHE STRING
    "Where avsync-server.service goes: relative to the install prefix, or absolute")

install(TARGETS avsync-server avsync RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

# The SDK (src/client/CMakeLists.txt builds both libraries from the same objects).
install(TARGETS avsync_sdk avsync_sdk_static EXPORT avsyncTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

# `cmake --install --strip` (and so the .deb) strips the programs and libavsync.so; install
# skips archives, whose symbol table is what links them, so the archive is stripped here
# of its debug information only (30 MB of a RelWithDebInfo build, 1.3 MB without).
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  set(sdk_archive "\$ENV{DESTDIR}${CMAKE_INSTALL_LIBDIR}/$<TARGET_FILE_NAME:avsync_sdk_static>")
else()
  set(sdk_archive "\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_LIBDIR}/$<TARGET_FILE_NAME:avsync_sdk_static>")
endif()
install(CODE "
  if(CMAKE_INSTALL_DO_STRIP)
    execute_process(COMMAND \"${CMAKE_STRIP}\" --strip-debug \"${sdk_archive}\" COMMAND_ERROR_IS_FATAL ANY)
  endif()")

install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/avsync DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        FILES_MATCHING PATTERN "*.h" PATTERN "*.hpp")

# find_package(avsync): avsync::avsync (shared) and avsync::avsync_static.
set(avsync_cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/avsync)
install(EXPORT avsyncTargets NAMESPACE avsync:: DESTINATION ${avsync_cmake_dir})
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/avsyncConfig.cmake.in
  ${PROJECT_BINARY_DIR}/avsyncConfig.cmake INSTALL_DESTINATION ${avsync_cmake_dir})
# Before 1.0 a new minor version may break the API, so only the same major.minor matches.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/avsyncConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/avsyncConfig.cmake ${PROJECT_BINARY_DIR}/avsyncConfigVersion.cmake
        DESTINATION ${avsync_cmake_dir})

# avsync.pc finds the prefix from its own place (${pcfiledir}), so one file holds for any
# `--prefix` given at install time and for the .deb.
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  set(pc_prefix "${CMAKE_INSTALL_PREFIX}")
  set(pc_libdir "${CMAKE_INSTALL_LIBDIR}")
else()
  file(RELATIVE_PATH pc_up "/root/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/root")
  string(REGEX REPLACE "/$" "" pc_up "${pc_up}")
  set(pc_prefix "\${pcfiledir}/${pc_up}")
  set(pc_libdir "\${prefix}/${CMAKE_INSTALL_LIBDIR}")
endif()
if(IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  set(pc_includedir "${CMAKE_INSTALL_INCLUDEDIR}")
else()
  set(pc_includedir "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
endif()
configure_file(${CMAKE_CURRENT_LIST_DIR}/avsync.pc.in ${PROJECT_BINARY_DIR}/avsync.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/avsync.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# The unit names the server and its configuration by absolute path, and both follow the
# prefix of the install itself (`cmake --install --prefix`, or /usr when CPack builds the
# .deb), which is only known then: cmake/install_service.cmake writes and installs them.
install(CODE "
  set(AVSYNC_SOURCE_DIR \"${PROJECT_SOURCE_DIR}\")
  set(AVSYNC_STAGING_DIR \"${PROJECT_BINARY_DIR}/packaging\")
  set(AVSYNC_BINDIR \"${CMAKE_INSTALL_BINDIR}\")
  set(AVSYNC_SYSCONFDIR \"${CMAKE_INSTALL_SYSCONFDIR}\")
  set(AVSYNC_SYSTEMD_UNIT_DIR \"${AVSYNC_SYSTEMD_UNIT_DIR}\")
  include(\"${CMAKE_CURRENT_LIST_DIR}/install_service.cmake\")")
