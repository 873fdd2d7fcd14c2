# simgpu NVML: libnvidia-ml.so.1 (the simulated NVML, read from the shared
# simgpu state) into ${VGPU_SIMGPU_DIR}, next to the simulated libcuda.so.1,
# and the simgpu-stat tool that prints the same state directly.

# VERSION == SOVERSION == 1: the file itself is libnvidia-ml.so.1, as the
# driver installs it; only that file is installed (no development link).
add_library(simgpu_nvml SHARED nvml.c)
set_target_properties(simgpu_nvml PROPERTIES
  OUTPUT_NAME nvidia-ml
  VERSION 1
  SOVERSION 1
  LIBRARY_OUTPUT_DIRECTORY ${VGPU_SIMGPU_DIR})
target_link_libraries(simgpu_nvml PRIVATE simgpu_core)
target_link_options(simgpu_nvml PRIVATE -Wl,-Bsymbolic-functions -Wl,--no-undefined)
install(TARGETS simgpu_nvml
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}/vgpu/simgpu NAMELINK_SKIP)

find_package(PkgConfig REQUIRED)
if(NOT TARGET PkgConfig::JANSSON)
  pkg_check_modules(JANSSON REQUIRED IMPORTED_TARGET jansson)
endif()
add_executable(simgpu-stat simgpu_stat.c)
target_link_libraries(simgpu-stat PRIVATE simgpu_core PkgConfig::JANSSON)
install(TARGETS simgpu-stat RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
