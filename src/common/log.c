/* log: the one logging path of every vgpu component.
 *
 * A line is "<tag>[pid] LEVEL file:line: message" written to stderr with a
 * single write(2), so lines from threads and processes never interleave. The
 * level is an atomic read, so a disabled vgpu_debug() costs one load and a
 * compare (the macro checks it before formatting anything). A daemon that
 * detached sends its lines to syslog instead. */
#include "common.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <unistd.h>

static _Atomic int log_level = VGPU_LOG_WARN;
static _Atomic bool log_syslog;
static char log_tag[32] = "vgpu";

static const char *const level_names[] = {"error", "warn", "info", "debug"};

int vgpu_log_parse_level(const char *s, enum vgpu_log_level *out)
{
    if (!s || !*s)
        return -EINVAL;
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(s, level_names[i]) == 0 || (s[0] == '0' + i && s[1] == '\0')) {
            *out = (enum vgpu_log_level)i;
            return 0;
        }
    }
    if (strcasecmp(s, "warning") == 0) {
        *out = VGPU_LOG_WARN;
        return 0;
    }
    return -EINVAL;
}

void vgpu_log_init(const char *tag, const char *env_var, enum vgpu_log_level dflt)
{
    enum vgpu_log_level level = dflt;
    const char *env = env_var ? getenv(env_var) : NULL;

    if (tag)
        vgpu_strlcpy(log_tag, tag, sizeof(log_tag));
    if (env && *env && vgpu_log_parse_level(env, &level) != 0) {
        level = dflt;
        atomic_store(&log_level, VGPU_LOG_WARN);
        vgpu_warn("%s=%s is not a log level (error|warn|info|debug); using %s", env_var, env,
                  level_names[dflt]);
    }
    atomic_store(&log_level, level);
}

void vgpu_log_to_syslog(bool on)
{
    if (on)
        openlog(log_tag, LOG_PID, LOG_DAEMON);
    atomic_store(&log_syslog, on);
}

void vgpu_log_set_level(enum vgpu_log_level level)
{
    atomic_store(&log_level, level);
}

enum vgpu_log_level vgpu_log_get_level(void)
{
    return (enum vgpu_log_level)atomic_load_explicit(&log_level, memory_order_relaxed);
}

void vgpu_log_at(enum vgpu_log_level level, const char *file, int line, const char *fmt, ...)
{
    char buf[1024];
    const char *base = strrchr(file, '/');
    int saved_errno = errno;
    int n = snprintf(buf, sizeof(buf), "%s[%d] %s %s:%d: ", log_tag, (int)getpid(),
                     level_names[level < 0   ? 0
                                 : level > 3 ? 3
                                             : level],
                     base ? base + 1 : file, line);
    va_list ap;

    if (n < 0)
        n = 0;
    va_start(ap, fmt);
    if (atomic_load(&log_syslog)) {
        static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
        char msg[1024];
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        syslog(prio[level < 0 ? 0 : level > 3 ? 3 : level], "%s", msg);
        errno = saved_errno;
        return;
    }
    if ((size_t)n < sizeof(buf)) {
        int m = vsnprintf(buf + n, sizeof(buf) - (size_t)n, fmt, ap);
        if (m > 0)
            n += m;
    }
    va_end(ap);
    if ((size_t)n >= sizeof(buf) - 1)
        n = (int)sizeof(buf) - 2;
    buf[n++] = '\n';
    ssize_t w = write(STDERR_FILENO, buf, (size_t)n);
    (void)w;
    errno = saved_errno;
}
