# Every dependency is a Debian package found with pkg-config and exposed as an
# imported target named tr::<name>. Nothing is vendored. scripts/install-deps
# installs the packages; the names on the right are the .pc modules.
find_package(PkgConfig REQUIRED)

function(tr_dependency name module)
  pkg_check_modules(${name} REQUIRED IMPORTED_TARGET GLOBAL ${module})
  add_library(tr::${name} ALIAS PkgConfig::${name})
endfunction()

tr_dependency(zmq       libzmq)        # internal RPC
tr_dependency(protobufc libprotobuf-c) # every protobuf encode/decode
tr_dependency(curl      libcurl)       # S3 with CURLOPT_AWS_SIGV4
tr_dependency(rocksdb   rocksdb)       # local durable log
tr_dependency(zstd      libzstd)       # chunks and blocks
tr_dependency(snappy    snappy)        # remote write, Loki push
tr_dependency(zlib      zlib)          # gzip bodies
tr_dependency(mhd       libmicrohttpd) # HTTP/1.1 server
tr_dependency(nghttp2   libnghttp2)    # HTTP/2 for OTLP/gRPC
tr_dependency(pcre2     libpcre2-8)    # regex matchers, JIT
tr_dependency(xxhash    libxxhash)     # fingerprints, ring tokens
tr_dependency(jansson   jansson)       # JSON request parsing
tr_dependency(yaml      yaml-0.1)      # configuration file
if(TR_BUILD_TESTS)
  tr_dependency(cmocka  cmocka)        # unit tests
endif()

find_package(Threads REQUIRED)
find_library(TR_LIBM m REQUIRED)
