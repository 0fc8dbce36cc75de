# 'cpack -G DEB' in a build directory packages what 'cmake --install' installs
# as ferry_<version>_<arch>.deb under /usr. Its Depends are computed from the
# shared libraries the programs link, by dpkg-shlibdeps (package dpkg-dev),
# so they name the library packages of the system that built it.
set(FERRY_PACKAGE_MAINTAINER "ferry maintainers <maintainers@users.noreply.r-seed-83e10066.example>"
    CACHE STRING "Maintainer field of the Debian package")
# No Homepage field unless one is given: the project has no public page yet.
set(FERRY_HOMEPAGE "" CACHE STRING "Homepage field of the Debian package (none when empty)")

set(CPACK_PACKAGE_NAME ferry)
set(CPACK_PACKAGE_VENDOR "The ferry authors")
set(CPACK_PACKAGE_CONTACT "${FERRY_PACKAGE_MAINTAINER}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "carry container images across an air gap, signed")
# Debian's long description, wrapped as 'apt show ferry' prints it.
string(CONCAT CPACK_PACKAGE_DESCRIPTION
  "ferry-export pulls container images from registries, with every platform\n"
  "of an index and their referrers (signatures, SBOMs, provenance), into one\n"
  "signed, zstd-compressed OCI image layout tarball; it reads regsync configs.\n"
  "ferry-import, on the disconnected host, verifies the minisign signature\n"
  "and every digest, then pushes the images and their referrers into a\n"
  "registry.")
if(FERRY_HOMEPAGE)
  set(CPACK_PACKAGE_HOMEPAGE_URL "${FERRY_HOMEPAGE}")
endif()
set(CPACK_RESOURCE_FILE_LICENSE ${PROJECT_SOURCE_DIR}/LICENSE)
set(CPACK_RESOURCE_FILE_README ${PROJECT_SOURCE_DIR}/README.md)
set(CPACK_GENERATOR DEB)
set(CPACK_STRIP_FILES ON)

set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${FERRY_PACKAGE_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
if(FERRY_HOMEPAGE)
  set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "${FERRY_HOMEPAGE}")
endif()
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# minisign checks a bundle file with nothing else; zstd and tar open it.
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "minisign, zstd")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

# 'cpack --config CPackSourceConfig.cmake': the tree without builds or git.
set(CPACK_SOURCE_GENERATOR TGZ)
set(CPACK_SOURCE_IGNORE_FILES "/\\\\.git" "/build[^/]*/" "/demo/" "__pycache__")

include(CPack)
