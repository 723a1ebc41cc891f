# Install rules and the Debian package (CPack, DEB generator):
#   cmake --build build/release --target package     -> build/release/smsconsent_VERSION_ARCH.deb
#   cpack --config build/release/CPackConfig.cmake -G DEB -B DIR   (the same, into DIR)
# The install rules describe the package's layout: the binary under the prefix (/usr in the
# package), the systemd unit and the config file at the absolute paths Debian 12 uses for them
# (the unit runs /usr/bin/smsconsent). The sources of what is not built are in packaging/.
# tests/e2e/deb_package_test.sh installs the package on a fresh Debian 12 root and checks it.
install(TARGETS smsconsent RUNTIME DESTINATION bin)
install(FILES packaging/smsconsent.service DESTINATION /lib/systemd/system)
install(FILES packaging/smsconsent.conf DESTINATION /etc/smsconsent)
install(FILES README.md docs/operations.md packaging/debian/copyright
  DESTINATION share/doc/smsconsent)

set(SMSCONSENT_PACKAGE_MAINTAINER "smsconsent maintainers <smsconsent@example.org>"
  CACHE STRING "Maintainer field of the Debian package")

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME smsconsent)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "${SMSCONSENT_PACKAGE_MAINTAINER}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "self-hosted SMS-consent service")
set(CPACK_PACKAGE_DESCRIPTION
  "Records who has agreed to receive SMS from a business, on which sender number, since when\n\
and on what evidence, and enforces it: inbound STOP/START/HELP keywords from SMS providers'\n\
webhooks, staff changes with an attestation, and an API that answers whether a recipient\n\
may be texted, over a hash-chained consent ledger in an SQLite file.\n\
The package runs `smsconsent serve` as the systemd service smsconsent.service, listening on\n\
127.0.0.1:8080 (/etc/smsconsent/smsconsent.conf), with its database in /var/lib/smsconsent.")
# smsconsent_0.1.0_amd64.deb: Debian's name_version_arch.
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# The shared libraries' packages, with the minimum versions the binary needs, come from
# dpkg-shlibdeps (dpkg-dev); adduser is for postinst.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_COMPRESSION_TYPE xz)
# Debian ships binaries stripped.
set(CPACK_STRIP_FILES ON)
# Maintainer scripts as dh_installsystemd writes them (user, state directory, enable/start,
# stop on remove, purge), and the config file marked as a conffile: dpkg keeps an operator's
# edits on upgrades and asks before replacing them.
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  ${CMAKE_SOURCE_DIR}/packaging/debian/postinst
  ${CMAKE_SOURCE_DIR}/packaging/debian/prerm
  ${CMAKE_SOURCE_DIR}/packaging/debian/postrm
  ${CMAKE_SOURCE_DIR}/packaging/debian/conffiles)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
