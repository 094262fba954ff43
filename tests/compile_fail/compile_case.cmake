# SPDX-License-Identifier: MIT
# Compile one compile-fail case and check the result.
#   cmake -DCC=<compiler> -DSRC=<file.c> -DINC=<include dir> -DOUT=<object>
#         -DEXPECT=fail|pass -DLANG=c|cxx -P compile_case.cmake
# EXPECT=fail compiles with -DCF_BAD and passes only if the compiler refuses
# the code *because of the typed-access macros* (a _Generic selection with no
# matching association), so a typo or a missing include cannot pass for it.
# EXPECT=pass compiles the same file without CF_BAD (the twin) and must
# succeed.  No warning flags: the check must hold under the compiler's
# defaults.
foreach(v CC SRC INC OUT EXPECT)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "compile_case.cmake: -D${v}=... missing")
  endif()
endforeach()

set(args -I${INC} -c ${SRC} -o ${OUT})
if(LANG STREQUAL "cxx")
  list(PREPEND args -x c++ -std=c++17)
endif()
if(EXPECT STREQUAL "fail")
  list(PREPEND args -DCF_BAD)
endif()
execute_process(COMMAND ${CC} ${args}
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
file(REMOVE ${OUT})
string(JOIN " " cmdline ${CC} ${args})

if(EXPECT STREQUAL "pass")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "the correct twin does not compile:\n${cmdline}\n${out}${err}")
  endif()
  message(STATUS "compiles, as it should: ${cmdline}")
elseif(EXPECT STREQUAL "fail")
  if(rc EQUAL 0)
    message(FATAL_ERROR "HOLE: the wrong access type compiles:\n${cmdline}\n${out}${err}")
  endif()
  # gcc: "'_Generic' selector of type 'X' is not compatible with any association"
  # clang: "controlling expression type 'X' not compatible with any generic association type"
  # g++: "no matching function for call to" or "cannot convert 'X*' to 'Y*'"
  # clang++: "no matching function for call to"
  if(LANG STREQUAL "cxx")
    set(why "no matching function for call to|cannot convert")
  else()
    set(why "_Generic|generic association")
  endif()
  if(NOT err MATCHES "${why}")
    message(FATAL_ERROR "refused, but not by the typed-access check:\n${cmdline}\n${out}${err}")
  endif()
  message(STATUS "refused, as it should be: ${cmdline}\n${err}")
else()
  message(FATAL_ERROR "EXPECT must be pass or fail, not '${EXPECT}'")
endif()
