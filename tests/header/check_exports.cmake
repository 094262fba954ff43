# SPDX-License-Identifier: MIT
# cmake -DNM=nm -DLIB=<library> -DNAMES=<file, one name a line> -P check_exports.cmake
# Fails unless the library's defined global symbols are exactly NAMES.
execute_process(COMMAND ${NM} -g --defined-only ${LIB}
  OUTPUT_VARIABLE out RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${NM} ${LIB} failed")
endif()
string(REPLACE "\n" ";" lines "${out}")
set(defined "")
foreach(line IN LISTS lines)
  # "address type name"; code and data alike (T, D, B, R, V, W...), but not
  # the version script's version nodes (A)
  if(line MATCHES "^[0-9a-f]+ [B-Zabd-z] ([A-Za-z_][A-Za-z_0-9@.]*)$")
    string(REGEX REPLACE "@.*" "" sym "${CMAKE_MATCH_1}")
    list(APPEND defined ${sym})
  endif()
endforeach()
list(REMOVE_DUPLICATES defined)
file(STRINGS ${NAMES} public)
set(extra ${defined})
list(REMOVE_ITEM extra ${public})
set(missing ${public})
list(REMOVE_ITEM missing ${defined})
list(LENGTH defined n)
if(extra OR missing)
  message(FATAL_ERROR "${LIB}: ${n} global symbols; not in the header: ${extra}; declared but not exported: ${missing}")
endif()
message(STATUS "${LIB}: ${n} global symbols, the header's functions exactly")
