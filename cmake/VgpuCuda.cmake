# Locates the CUDA toolkit's headers (cuda.h) and nothing else: no component
# links the real libcuda or NVML at build time; they are dlopened at run time.
# Provides the INTERFACE target vgpu::cuda_headers.
set(CUDA_HOME "$ENV{CUDA_HOME}" CACHE PATH "CUDA toolkit root (holds include/cuda.h)")
if(NOT CUDA_HOME)
  set(CUDA_HOME /usr/local/cuda CACHE PATH "CUDA toolkit root (holds include/cuda.h)" FORCE)
endif()

find_path(VGPU_CUDA_INCLUDE_DIR cuda.h PATHS ${CUDA_HOME}/include NO_DEFAULT_PATH)
if(NOT VGPU_CUDA_INCLUDE_DIR)
  message(FATAL_ERROR
    "cuda.h not found in ${CUDA_HOME}/include. vgpu needs the CUDA toolkit headers "
    "(CUDA 12.0 or newer). Install the toolkit or point CUDA_HOME at it, e.g. "
    "'CUDA_HOME=/opt/cuda cmake ...' or 'cmake -DCUDA_HOME=/opt/cuda ...'.")
endif()

file(STRINGS ${VGPU_CUDA_INCLUDE_DIR}/cuda.h _vgpu_cuda_ver REGEX "^#define CUDA_VERSION [0-9]+")
string(REGEX REPLACE "^#define CUDA_VERSION ([0-9]+).*" "\\1" VGPU_CUDA_VERSION "${_vgpu_cuda_ver}")
if(VGPU_CUDA_VERSION LESS 12000)
  message(FATAL_ERROR "cuda.h in ${VGPU_CUDA_INCLUDE_DIR} is CUDA ${VGPU_CUDA_VERSION}; "
                      "vgpu needs CUDA 12.0 or newer headers.")
endif()
message(STATUS "CUDA headers: ${VGPU_CUDA_INCLUDE_DIR} (CUDA_VERSION ${VGPU_CUDA_VERSION})")

add_library(vgpu_cuda_headers INTERFACE)
add_library(vgpu::cuda_headers ALIAS vgpu_cuda_headers)
target_include_directories(vgpu_cuda_headers SYSTEM INTERFACE ${VGPU_CUDA_INCLUDE_DIR})
