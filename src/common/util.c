/* util: monotonic time, process identity and string helpers.
 *
 * Process identity is (pid, start time): /proc/PID/stat field 22 counts clock
 * ticks since boot, so a pid that the kernel recycled for another process has
 * a different start time and is not mistaken for the original. */
#include "common.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

uint64_t vgpu_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

void vgpu_sleep_until_ns(uint64_t deadline_ns)
{
    struct timespec ts = {
        .tv_sec = (time_t)(deadline_ns / 1000000000ULL),
        .tv_nsec = (long)(deadline_ns % 1000000000ULL),
    };
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
}

/* Reads the state letter (field 3) and start time (field 22) of /proc/PID/stat.
 * Returns 0 when the process does not exist. */
static uint64_t read_stat(pid_t pid, char *state)
{
    char path[64], buf[1024];
    int fd;
    ssize_t n;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    /* comm (field 2) may contain spaces and parentheses: skip to the last ')'. */
    char *p = strrchr(buf, ')');
    if (!p || p[1] != ' ')
        return 0;
    *state = p[2];
    p++;
    for (int field = 3; field < 22 && p; field++)
        p = strchr(p + 1, ' ');
    return p ? strtoull(p + 1, NULL, 10) : 0;
}

uint64_t vgpu_proc_start_time(pid_t pid)
{
    char state = 0;
    return pid > 0 ? read_stat(pid, &state) : 0;
}

bool vgpu_proc_alive(pid_t pid, uint64_t start_time)
{
    char state = 0;
    if (pid <= 0)
        return false;
    uint64_t st = read_stat(pid, &state);
    /* A zombie (or dead) process has exited and holds nothing any more. */
    if (st == 0 || state == 'Z' || state == 'X' || state == 'x')
        return false;
    return start_time == 0 || st == start_time;
}

int vgpu_errf(char *err, size_t errlen, int rc, const char *fmt, ...)
{
    va_list ap;
    if (!err || errlen == 0)
        return rc;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return rc;
}

size_t vgpu_strlcpy(char *dst, const char *src, size_t len)
{
    size_t n = strlen(src);
    if (len) {
        size_t c = n < len - 1 ? n : len - 1;
        memcpy(dst, src, c);
        dst[c] = '\0';
    }
    return n;
}

const char *vgpu_shm_prefix(void)
{
    const char *prefix = getenv("VGPU_ACCOUNT_PREFIX");
    bool ok = prefix && *prefix && strlen(prefix) < 32;
    for (const char *p = prefix; ok && *p; p++)
        ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
             *p == '-' || *p == '_';
    return ok ? prefix : "vgpu";
}

int vgpu_parse_ops(const char *s, bool per_second, uint32_t *out)
{
    size_t n = strlen(s);
    uint64_t x = 0;
    if (per_second && n > 2 && strcmp(s + n - 2, "/s") == 0)
        n -= 2;
    if (n == 0)
        return -EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -EINVAL;
        x = x * 10 + (uint64_t)(s[i] - '0');
        if (x > INT32_MAX)
            return -EINVAL;
    }
    *out = (uint32_t)x;
    return 0;
}
