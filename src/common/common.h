/* common: small building blocks shared by every vgpu component.
 *
 * Logging with file and line, size strings ("8GiB", "512MiB", "1.5g"),
 * monotonic time, and process identity (a pid plus its start time, so a
 * recycled pid is never mistaken for a live process). Nothing here talks to
 * the GPU or to vgpud. Errors are negative errno values. */
#ifndef VGPU_COMMON_H
#define VGPU_COMMON_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* ---- logging ---------------------------------------------------------- */
enum vgpu_log_level {
    VGPU_LOG_ERROR = 0,
    VGPU_LOG_WARN = 1,
    VGPU_LOG_INFO = 2,
    VGPU_LOG_DEBUG = 3,
};

/* Sets the program tag and the level; the level comes from `env_var` (for
 * example "VGPU_LOG_LEVEL": error|warn|info|debug or 0-3) when set, else
 * `dflt`. Safe to call more than once. */
void vgpu_log_init(const char *tag, const char *env_var, enum vgpu_log_level dflt);
void vgpu_log_set_level(enum vgpu_log_level level);
/* Sends log lines to syslog (a daemon that detached) instead of stderr. */
void vgpu_log_to_syslog(bool on);
enum vgpu_log_level vgpu_log_get_level(void);
int vgpu_log_parse_level(const char *s, enum vgpu_log_level *out);
void vgpu_log_at(enum vgpu_log_level level, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#define vgpu_log(level, ...)                                                                       \
    do {                                                                                           \
        if ((level) <= vgpu_log_get_level())                                                       \
            vgpu_log_at((level), __FILE__, __LINE__, __VA_ARGS__);                                 \
    } while (0)
#define vgpu_error(...) vgpu_log(VGPU_LOG_ERROR, __VA_ARGS__)
#define vgpu_warn(...) vgpu_log(VGPU_LOG_WARN, __VA_ARGS__)
#define vgpu_info(...) vgpu_log(VGPU_LOG_INFO, __VA_ARGS__)
#define vgpu_debug(...) vgpu_log(VGPU_LOG_DEBUG, __VA_ARGS__)

/* ---- sizes ------------------------------------------------------------ */
/* Parses a byte count: a decimal number that starts with a digit (a fraction
 * is allowed: "1.5GiB") with an optional unit. Binary units: KiB MiB GiB TiB and the short k m g t
 * (any case, as HAMi-core and nvidia-smi use them); decimal units: KB MB GB TB; B or no unit means
 * bytes. Whitespace around the number is not accepted. Returns 0, or -EINVAL for a malformed
 * string, -ERANGE when it does not fit 64 bits. */
int vgpu_parse_size(const char *s, uint64_t *out);
/* Formats a byte count with the largest binary unit that keeps it readable
 * ("8 GiB", "1.50 GiB", "300 MiB", "17 B"). Returns `buf`. */
const char *vgpu_format_size(uint64_t bytes, char *buf, size_t len);

/* ---- operation counts ------------------------------------------------- */
/* Parses a count of GPU operations as every vgpu interface spells one
 * (vgpu-admin --rate/--burst, vgpu-run, VGPU_RATE_LIMIT/VGPU_RATE_BURST):
 * decimal digits only, no sign or blanks, at most 2147483647; with
 * per_second, a "/s" suffix may follow ("1000/s"). 0, or -EINVAL. */
int vgpu_parse_ops(const char *s, bool per_second, uint32_t *out);

/* ---- time ------------------------------------------------------------- */
uint64_t vgpu_now_ns(void); /* CLOCK_MONOTONIC, the same clock in every process */
/* Sleeps until the CLOCK_MONOTONIC time `deadline_ns` (retrying on EINTR). */
void vgpu_sleep_until_ns(uint64_t deadline_ns);

/* ---- processes -------------------------------------------------------- */
/* Start time of `pid` in clock ticks since boot (field 22 of /proc/PID/stat),
 * or 0 when the process does not exist. */
uint64_t vgpu_proc_start_time(pid_t pid);
/* True when `pid` exists and started at `start_time` (0 matches any). */
bool vgpu_proc_alive(pid_t pid, uint64_t start_time);

/* ---- shared memory ---------------------------------------------------- */
/* The prefix of vgpu's shared-memory names: VGPU_ACCOUNT_PREFIX when it is
 * 1-31 of [A-Za-z0-9_-] (a test, or a second vgpud on one host, keeps its
 * regions apart from the machine's), else "vgpu". */
const char *vgpu_shm_prefix(void);

/* ---- errors ----------------------------------------------------------- */
/* Writes a one-line reason into err (when err and errlen > 0) and returns
 * rc: `return vgpu_errf(err, errlen, -EINVAL, "bad %s", what);` */
int vgpu_errf(char *err, size_t errlen, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* ---- strings ---------------------------------------------------------- */
/* Copies at most len-1 bytes and always terminates; returns strlen(src). */
size_t vgpu_strlcpy(char *dst, const char *src, size_t len);

#endif
