# store: vgpud's persistent state in SQLite (store.h), a static library so the
# daemon, the store tests and the fuzz harness link the same code. Included
# from src/daemon/CMakeLists.txt; paths are relative to this file.
find_package(SQLite3 REQUIRED)
find_package(PkgConfig REQUIRED)
if(NOT TARGET PkgConfig::JANSSON)
  pkg_check_modules(JANSSON REQUIRED IMPORTED_TARGET jansson)
endif()

add_library(vgpu_store STATIC
  ${CMAKE_CURRENT_LIST_DIR}/store.c
  ${CMAKE_CURRENT_LIST_DIR}/store_args.c
  ${CMAKE_CURRENT_LIST_DIR}/store_gpu.c
  ${CMAKE_CURRENT_LIST_DIR}/store_pool.c
  ${CMAKE_CURRENT_LIST_DIR}/store_tenant.c
  ${CMAKE_CURRENT_LIST_DIR}/store_token.c
  ${CMAKE_CURRENT_LIST_DIR}/store_weights.c)
target_include_directories(vgpu_store PUBLIC ${CMAKE_CURRENT_LIST_DIR})
# store.h hands out jansson objects; SQLite stays behind it.
# OpenSSL hashes tokens (SHA-256): Debian's libssl-dev, not a hash of our own.
find_package(OpenSSL REQUIRED COMPONENTS Crypto)
target_link_libraries(vgpu_store PUBLIC vgpu_common vgpu_device PkgConfig::JANSSON
                                 PRIVATE SQLite::SQLite3 OpenSSL::Crypto)
