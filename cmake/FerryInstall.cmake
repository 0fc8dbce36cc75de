# What 'cmake --install' puts beside the two programs (export/ and import/
# install those): the man pages, shell completions and documentation, where a
# Debian tool keeps them (GNUInstallDirs; share/ under the prefix).
set(FERRY_SRC ${PROJECT_SOURCE_DIR})

# Man pages go in gzipped (-n: no name or time inside, so builds compare
# equal), as Debian policy wants them; as they are where gzip is missing.
find_program(FERRY_GZIP gzip)
mark_as_advanced(FERRY_GZIP)
set(FERRY_MAN_PAGES ferry-export.1 ferry-import.1 ferry-bundle.5)
set(FERRY_MAN_BUILT)
foreach(page ${FERRY_MAN_PAGES})
  string(REGEX REPLACE ".*\\." "" section ${page})
  if(FERRY_GZIP)
    set(out ${CMAKE_CURRENT_BINARY_DIR}/man/${page})
    add_custom_command(OUTPUT ${out}.gz
      COMMAND ${CMAKE_COMMAND} -E copy ${FERRY_SRC}/man/${page} ${out}
      COMMAND ${FERRY_GZIP} -9nf ${out}
      DEPENDS ${FERRY_SRC}/man/${page} VERBATIM)
    list(APPEND FERRY_MAN_BUILT ${out}.gz)
    install(FILES ${out}.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man${section})
  else()
    install(FILES ${FERRY_SRC}/man/${page} DESTINATION ${CMAKE_INSTALL_MANDIR}/man${section})
  endif()
endforeach()
if(FERRY_MAN_BUILT)
  add_custom_target(ferry_man ALL DEPENDS ${FERRY_MAN_BUILT})
endif()

# Each shell's directory for completions that come with a package: bash-completion
# loads completions/NAME on first use, zsh and fish read vendor directories.
install(FILES ${FERRY_SRC}/completions/bash/ferry-export ${FERRY_SRC}/completions/bash/ferry-import
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions)
install(FILES ${FERRY_SRC}/completions/zsh/_ferry-export ${FERRY_SRC}/completions/zsh/_ferry-import
        DESTINATION ${CMAKE_INSTALL_DATADIR}/zsh/vendor-completions)
install(FILES ${FERRY_SRC}/completions/fish/ferry-export.fish
              ${FERRY_SRC}/completions/fish/ferry-import.fish
        DESTINATION ${CMAKE_INSTALL_DATADIR}/fish/vendor_completions.d)

# share/doc/ferry: the user docs (not docs/internals/), the license, and the
# machine-readable copyright file Debian policy asks for.
file(GLOB FERRY_DOCS CONFIGURE_DEPENDS ${FERRY_SRC}/docs/*.md)
install(FILES ${FERRY_SRC}/README.md ${FERRY_SRC}/LICENSE ${FERRY_SRC}/NOTICE
              ${FERRY_SRC}/packaging/copyright ${FERRY_DOCS}
        DESTINATION ${CMAKE_INSTALL_DOCDIR})
