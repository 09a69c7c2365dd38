# tr_add_unit_test(<module> LIBS <targets...>) builds tests/unit/test_<module>.c
# into the executable tr-ut-<module> and registers it with CTest, label "unit".
# A module's own CMakeLists.txt calls this, so adding a module touches no
# shared build file.
function(tr_add_unit_test module)
  if(NOT TR_BUILD_TESTS)
    return()
  endif()
  cmake_parse_arguments(ARG "" "TIMEOUT" "LIBS" ${ARGN})
  set(exe tr-ut-${module})
  add_executable(${exe} ${CMAKE_SOURCE_DIR}/tests/unit/test_${module}.c)
  target_link_libraries(${exe} PRIVATE ${ARG_LIBS} tr::cmocka)
  target_compile_definitions(${exe} PRIVATE UNIT_TESTING
    TR_TEST_BINARY_DIR="${CMAKE_BINARY_DIR}"
    TR_TEST_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
  add_test(NAME unit_${module} COMMAND ${exe})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 120)
  endif()
  set_tests_properties(unit_${module} PROPERTIES LABELS unit
                       TIMEOUT ${ARG_TIMEOUT})
endfunction()
