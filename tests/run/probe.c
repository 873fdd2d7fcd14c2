/* probe: a stand-in for libvgpu.so in the vgpu-run tests.
 *
 * The tests must not depend on the real library, yet must prove that
 * LD_PRELOAD took effect in CMD, not merely that the variable was set. So
 * this library's constructor, which runs in every process that loads it,
 * appends one line, PROBE_WORD ("preloaded" by default) and the process's
 * name from /proc/self/comm ("preloaded env"), to the file named by
 * VGPU_TEST_PROBE, and does nothing else. The name tells CMD apart from
 * vgpu-run itself, which loads whatever LD_PRELOAD its caller had. One write
 * with O_APPEND, so lines from several processes never interleave. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef PROBE_WORD
#define PROBE_WORD "preloaded"
#endif

__attribute__((constructor)) static void probe_loaded(void)
{
    const char *path = getenv("VGPU_TEST_PROBE");
    char line[64] = PROBE_WORD " ";
    size_t n = strlen(line);
    ssize_t got;
    int fd;

    if (!path || !*path)
        return;
    fd = open("/proc/self/comm", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    got = read(fd, line + n, sizeof(line) - n - 1);
    close(fd);
    if (got <= 0)
        return;
    n += (size_t)got; /* comm ends with '\n' */
    fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0)
        return;
    got = write(fd, line, n);
    (void)got;
    close(fd);
}
