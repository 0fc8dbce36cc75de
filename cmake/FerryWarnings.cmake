# One place for compiler warnings (cmark: cmark_add_compile_options).
function(ferry_add_warnings target)
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wmissing-prototypes
    -Wstrict-prototypes -Wundef -Wwrite-strings -Wformat=2)
  if(FERRY_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
