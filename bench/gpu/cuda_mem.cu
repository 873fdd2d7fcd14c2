// A CUDA runtime program (built with nvcc, shared or static cudart) under
// libvgpu.so: cudaMemGetInfo shows the virtual GPU, cudaMalloc stops at the
// limit with cudaErrorMemoryAllocation, and a kernel still runs.
#include <cstdio>
#include <cuda_runtime.h>

__global__ void fill(int *p, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n)
        p[i] = i;
}

int main()
{
    size_t free_b = 0, total = 0;
    cudaError_t err = cudaMemGetInfo(&free_b, &total);
    if (err != cudaSuccess) {
        std::printf("{\"error\":\"%s\"}\n", cudaGetErrorName(err));
        return 1;
    }
    int *p = nullptr;
    cudaMalloc(&p, 1 << 20);
    fill<<<256, 1024>>>(p, 1 << 18);
    int host[4] = {0};
    cudaMemcpy(host, p + 1000, sizeof(host), cudaMemcpyDeviceToHost);
    size_t held = 0;
    void *blk;
    while ((err = cudaMalloc(&blk, 64 << 20)) == cudaSuccess)
        held += 64 << 20;
    std::printf("{\"total\":%zu,\"free\":%zu,\"held_at_failure\":%zu,\"failure\":\"%s\","
                "\"kernel_ok\":%s}\n",
                total, free_b, held, cudaGetErrorName(err), host[3] == 1003 ? "true" : "false");
    return 0;
}
