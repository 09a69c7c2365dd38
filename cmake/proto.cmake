# protoc-c output is generated at build time from proto/ into the build tree
# and compiled into one static library, tr_proto. Include generated headers
# as "<dir>/<file>.pb-c.h", e.g. "prometheus/remote.pb-c.h".
find_program(TR_PROTOC_C NAMES protoc-c REQUIRED)

file(GLOB_RECURSE tr_proto_files RELATIVE ${CMAKE_SOURCE_DIR}/proto
     ${CMAKE_SOURCE_DIR}/proto/*.proto)
set(tr_proto_out ${CMAKE_BINARY_DIR}/generated)
set(tr_proto_sources "")
foreach(rel ${tr_proto_files})
  string(REGEX REPLACE "\\.proto$" "" stem ${rel})
  set(c_out ${tr_proto_out}/${stem}.pb-c.c)
  set(h_out ${tr_proto_out}/${stem}.pb-c.h)
  add_custom_command(
    OUTPUT ${c_out} ${h_out}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${tr_proto_out}
    COMMAND ${TR_PROTOC_C} --proto_path=${CMAKE_SOURCE_DIR}/proto
            --c_out=${tr_proto_out} ${CMAKE_SOURCE_DIR}/proto/${rel}
    DEPENDS ${CMAKE_SOURCE_DIR}/proto/${rel}
    COMMENT "protoc-c ${rel}")
  list(APPEND tr_proto_sources ${c_out})
endforeach()

add_library(tr_proto STATIC ${tr_proto_sources})
target_include_directories(tr_proto PUBLIC ${tr_proto_out})
target_link_libraries(tr_proto PUBLIC tr::protobufc)
# Generated code is not ours to lint.
target_compile_options(tr_proto PRIVATE -w)
