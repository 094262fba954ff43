# SPDX-License-Identifier: MIT
# vmarea_public_functions(VAR): the names of the functions include/vmarea.h
# declares, read from the header (the shared library's version script and the
# header tests are made from it).
function(vmarea_public_functions var)
  file(STRINGS ${PROJECT_SOURCE_DIR}/include/vmarea.h decls
       REGEX "^[A-Za-z_][A-Za-z_0-9 *]*[ *(][(]?[a-z_][a-z_0-9]*[)]?[(]")
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/include/vmarea.h)
  set(names "")
  foreach(line IN LISTS decls)
    if(line MATCHES "^(#|typedef|static|inline)")
      continue()
    endif()
    string(REGEX REPLACE ".*[ *][(]?([a-z_][a-z_0-9]*)[)]?[(].*" "\\1" name "${line}")
    list(APPEND names ${name})
  endforeach()
  list(REMOVE_DUPLICATES names)
  list(LENGTH names count)
  # The reading itself must work: the header has some seventy functions.
  if(count LESS 60)
    message(FATAL_ERROR "read only ${count} function names from vmarea.h")
  endif()
  set(${var} ${names} PARENT_SCOPE)
endfunction()
