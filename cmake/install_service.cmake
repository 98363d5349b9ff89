# Runs at install time (from cmake/install.cmake), with CMAKE_INSTALL_PREFIX being the
# prefix installed to: writes avsync-server.service for it and installs the unit and the
# example configuration, avsync.toml.
#
# Takes AVSYNC_SOURCE_DIR, AVSYNC_STAGING_DIR (where the unit is written first) and the
# GNUInstallDirs paths AVSYNC_BINDIR, AVSYNC_SYSCONFDIR and AVSYNC_SYSTEMD_UNIT_DIR, each
# relative to the prefix unless absolute.

function(avsync_install_path out dir)
  if(IS_ABSOLUTE "${dir}")
    set(${out} "${dir}" PARENT_SCOPE)
  else()
    set(${out} "${CMAKE_INSTALL_PREFIX}/${dir}" PARENT_SCOPE)
  endif()
endfunction()

avsync_install_path(AVSYNC_SERVER_BIN "${AVSYNC_BINDIR}")
set(AVSYNC_SERVER_BIN "${AVSYNC_SERVER_BIN}/avsync-server")
# As GNUInstallDirs has it: a system install (/usr) keeps its configuration in /etc.
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr" AND AVSYNC_SYSCONFDIR STREQUAL "etc")
  set(config_dir "/etc/avsync")
else()
  avsync_install_path(config_dir "${AVSYNC_SYSCONFDIR}")
  set(config_dir "${config_dir}/avsync")
endif()
set(AVSYNC_CONFIG_DIR "${config_dir}")
set(AVSYNC_CONFIG_FILE "${config_dir}/avsync.toml")
avsync_install_path(unit_dir "${AVSYNC_SYSTEMD_UNIT_DIR}")

configure_file("${AVSYNC_SOURCE_DIR}/packaging/avsync-server.service.in"
               "${AVSYNC_STAGING_DIR}/avsync-server.service" @ONLY)
file(INSTALL "${AVSYNC_STAGING_DIR}/avsync-server.service" DESTINATION "${unit_dir}"
     FILE_PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)

# An administrator's edited configuration is never overwritten: a second install keeps it
# (in the .deb it is a conffile, so dpkg asks instead).
if(EXISTS "$ENV{DESTDIR}${AVSYNC_CONFIG_FILE}")
  message(STATUS "Keeping: $ENV{DESTDIR}${AVSYNC_CONFIG_FILE}")
else()
  file(INSTALL "${AVSYNC_SOURCE_DIR}/packaging/avsync.toml" DESTINATION "${config_dir}"
       FILE_PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
endif()
