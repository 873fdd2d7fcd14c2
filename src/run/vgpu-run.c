/* vgpu-run: start a command as a vgpu tenant.
 *
 *   vgpu-run [--tenant T] [--memory SIZE] [--soft-memory SIZE] [--share N]
 *            [--priority low|medium|high] [--rate N/s] [--burst N] [--socket PATH]
 *            [--verbose] [--] CMD [ARG]...
 *
 * vgpu-run is a launcher in the manner of env(1): it checks its options, puts
 * libvgpu.so at the front of LD_PRELOAD, sets the VGPU_* variables the
 * library reads, and execs CMD in its own place. Nothing of vgpu-run stays
 * behind: CMD has vgpu-run's pid, its exit status is vgpu-run's exit status,
 * and a signal that ends CMD is seen by the parent exactly as if CMD had
 * been started directly. vgpu-run never contacts vgpud; the library does,
 * through VGPU_SOCKET, once CMD runs.
 *
 * Options and the variables they set (one table, `options` below, generates
 * both the getopt_long list and the --help text):
 *   --tenant T          VGPU_TENANT: 1-63 characters of A-Z a-z 0-9 . _ -, not
 *                       starting with '.' or '-'. Default: the inherited
 *                       VGPU_TENANT, else none: vgpud then picks the
 *                       tenant bound to the user or cgroup (standalone,
 *                       libvgpu.so uses uid-<uid>).
 *   --memory SIZE       VGPU_MEMORY_LIMIT: "8GiB", "512MiB", per device
 *                       "0:8GiB,1:4GiB", or a default and exceptions
 *                       "8GiB,1:4GiB" (grammar in limit_spec.h, sizes as
 *                       vgpu_parse_size reads them, device indices 0-63).
 *   --soft-memory SIZE  VGPU_MEMORY_SOFT_LIMIT: same forms.
 *   --share N           VGPU_COMPUTE_SHARE: integer 1-100, percent of GPU time.
 *   --priority P        VGPU_PRIORITY: low, medium or high.
 *   --rate N/s          VGPU_RATE_LIMIT: operations per second, 1-2147483647,
 *                       "1000/s" or "1000".
 *   --burst N           VGPU_RATE_BURST: 0-2147483647 operations.
 *   --socket PATH       VGPU_SOCKET: absolute path of vgpud's control socket.
 *   --verbose           VGPU_LOG_LEVEL=info, for vgpu-run and libvgpu.so.
 * An option not given leaves its variable as inherited, so VGPU_* settings
 * made by the user or a job system pass through unchanged (and unchecked:
 * the library owns their meaning). A value given is written as given once
 * it has passed its check, so each check accepts only canonical spellings
 * (no sign, no leading zero, lowercase priority). A repeated option: the
 * last one counts.
 *
 * Where libvgpu.so comes from (preload.c): VGPU_LIBRARY if set, which must
 * name an existing file; else <dir of vgpu-run>/../lib/libvgpu.so, right
 * both in the build tree (build/bin, build/lib) and under an install prefix
 * (bin/, lib/), then the install's own libdir when that differs. The path
 * put in LD_PRELOAD is canonical and absolute; an entry already naming the
 * same file is dropped, the other entries follow it in their order.
 *
 * The first argument that is not an option starts CMD ('+' in the getopt
 * string), so "--" is only needed when CMD itself starts with '-'; options
 * after CMD belong to CMD.
 *
 * Exit status, following env(1) and timeout(1): CMD's own status once it
 * runs; 2 for a bad command line (unknown option, bad value, no CMD), before
 * anything is run; 125 when vgpu-run itself fails (libvgpu.so not found or
 * unusable, out of memory); 126 when CMD is found but cannot be executed;
 * 127 when CMD is not found. */
#include "common.h"
#include "limit_spec.h"
#include "preload.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define PROG "vgpu-run"

#ifndef VGPU_VERSION
#error "VGPU_VERSION must be defined by the build (the CMake project version)"
#endif

enum {
    EXIT_USAGE = 2,
    EXIT_RUN_FAILED = 125,
    EXIT_CANNOT_INVOKE = 126,
    EXIT_NOT_FOUND = 127,
    RUN_CONTINUE = -1, /* parse_args: go on and start CMD */
};

#define TENANT_MAX 63
#define GETOPT_BASE 256 /* getopt_long value of options[i] is GETOPT_BASE + i */

typedef int (*validator_fn)(const char *value, char *err, size_t errlen);

struct run_option {
    const char *name;
    int has_arg;           /* no_argument or required_argument */
    const char *env;       /* the variable it sets; NULL for --help and --version */
    validator_fn validate; /* NULL: the option takes no value */
    const char *fixed;     /* the value set by an option without argument */
    const char *metavar;
    const char *help; /* lines separated by '\n' */
};

static int check_tenant(const char *v, char *err, size_t errlen);
static int check_limits(const char *v, char *err, size_t errlen);
static int check_share(const char *v, char *err, size_t errlen);
static int check_priority(const char *v, char *err, size_t errlen);
static int check_rate(const char *v, char *err, size_t errlen);
static int check_burst(const char *v, char *err, size_t errlen);
static int check_socket(const char *v, char *err, size_t errlen);

enum opt_id {
    OPT_TENANT,
    OPT_MEMORY,
    OPT_SOFT_MEMORY,
    OPT_SHARE,
    OPT_PRIORITY,
    OPT_RATE,
    OPT_BURST,
    OPT_SOCKET,
    OPT_VERBOSE,
    OPT_HELP,
    OPT_VERSION,
    OPT_COUNT,
};

static const struct run_option options[OPT_COUNT] = {
    [OPT_TENANT] = {"tenant", required_argument, "VGPU_TENANT", check_tenant, NULL, "T",
                    "tenant name: 1-63 characters of A-Z a-z 0-9 . _ -,\n"
                    "not starting with '.' or '-' (default: the inherited\n"
                    "VGPU_TENANT, else the one vgpud binds to your uid or\n"
                    "cgroup; without vgpud, uid-<your uid>)"},
    [OPT_MEMORY] = {"memory", required_argument, "VGPU_MEMORY_LIMIT", check_limits, NULL, "SIZE",
                    "device memory limit: 8GiB, 512MiB, 1.5g, 4GB; per device\n"
                    "0:8GiB,1:4GiB (device indices 0-63, each once); or a\n"
                    "default and exceptions: 8GiB,1:4GiB"},
    [OPT_SOFT_MEMORY] = {"soft-memory", required_argument, "VGPU_MEMORY_SOFT_LIMIT", check_limits,
                         NULL, "SIZE", "soft memory limit, in the same forms as --memory"},
    [OPT_SHARE] = {"share", required_argument, "VGPU_COMPUTE_SHARE", check_share, NULL, "N",
                   "compute share cap: percent of GPU time, 1-100"},
    [OPT_PRIORITY] = {"priority", required_argument, "VGPU_PRIORITY", check_priority, NULL, "P",
                      "priority class: low, medium or high"},
    [OPT_RATE] = {"rate", required_argument, "VGPU_RATE_LIMIT", check_rate, NULL, "N/s",
                  "rate limit: GPU operations (launches, copies, memsets)\n"
                  "per second, 1-2147483647, as 1000/s or 1000"},
    [OPT_BURST] = {"burst", required_argument, "VGPU_RATE_BURST", check_burst, NULL, "N",
                   "operations the rate limit lets through at once,\n"
                   "0-2147483647 (0: a tenth of a second's worth)"},
    [OPT_SOCKET] = {"socket", required_argument, "VGPU_SOCKET", check_socket, NULL, "PATH",
                    "vgpud's control socket, an absolute path"},
    [OPT_VERBOSE] = {"verbose", no_argument, "VGPU_LOG_LEVEL", NULL, "info", NULL,
                     "log what vgpu-run and libvgpu.so do"},
    [OPT_HELP] = {"help", no_argument, NULL, NULL, NULL, NULL, "print this help and exit"},
    [OPT_VERSION] = {"version", no_argument, NULL, NULL, NULL, NULL, "print the version and exit"},
};

static int check_tenant(const char *v, char *err, size_t errlen)
{
    size_t n = strlen(v);

    if (n == 0 || n > TENANT_MAX) {
        snprintf(err, errlen, "a tenant name has 1 to %d characters, this one %zu", TENANT_MAX, n);
        return -EINVAL;
    }
    if (v[0] == '.' || v[0] == '-') {
        snprintf(err, errlen, "a tenant name must not start with '%c'", v[0]);
        return -EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-')) {
            snprintf(err, errlen, "a tenant name is made of A-Z a-z 0-9 . _ - only");
            return -EINVAL;
        }
    }
    return 0;
}

static int check_limits(const char *v, char *err, size_t errlen)
{
    return vgpu_limits_parse(v, NULL, err, errlen);
}

static int check_share(const char *v, char *err, size_t errlen)
{
    size_t n = strlen(v);
    unsigned share = 0;

    for (size_t i = 0; i < n && i < 4; i++) {
        if (v[i] < '0' || v[i] > '9') {
            share = 0;
            break;
        }
        share = share * 10 + (unsigned)(v[i] - '0');
    }
    if (n == 0 || n > 3 || v[0] == '0' || share < 1 || share > 100) {
        snprintf(err, errlen, "expected an integer from 1 to 100 (percent of GPU time)");
        return -EINVAL;
    }
    return 0;
}

static int check_priority(const char *v, char *err, size_t errlen)
{
    if (strcmp(v, "low") == 0 || strcmp(v, "medium") == 0 || strcmp(v, "high") == 0)
        return 0;
    snprintf(err, errlen, "expected low, medium or high");
    return -EINVAL;
}

/* An operation count (vgpu_parse_ops) in its canonical spelling: no
 * leading zero; 0 itself only when allow_zero. */
static bool count_ok(const char *v, bool per_second, bool allow_zero)
{
    uint32_t x;
    return vgpu_parse_ops(v, per_second, &x) == 0 &&
           (v[0] != '0' || (allow_zero && strcmp(v, "0") == 0));
}

static int check_rate(const char *v, char *err, size_t errlen)
{
    if (count_ok(v, true, false))
        return 0;
    snprintf(err, errlen, "expected operations per second, 1 to 2147483647 (1000/s or 1000)");
    return -EINVAL;
}

static int check_burst(const char *v, char *err, size_t errlen)
{
    if (count_ok(v, false, true))
        return 0;
    snprintf(err, errlen, "expected a whole number of operations, 0 to 2147483647");
    return -EINVAL;
}

static int check_socket(const char *v, char *err, size_t errlen)
{
    struct sockaddr_un sa;

    if (v[0] != '/') {
        snprintf(err, errlen, "expected an absolute path");
        return -EINVAL;
    }
    if (strlen(v) >= sizeof(sa.sun_path)) {
        snprintf(err, errlen, "a socket path has at most %zu bytes", sizeof(sa.sun_path) - 1);
        return -EINVAL;
    }
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f, "Usage: " PROG " [OPTION]... [--] CMD [ARG]...\n"
               "Run CMD as a vgpu tenant: with libvgpu.so first in LD_PRELOAD and the\n"
               "VGPU_* variables it reads set from the options. An option not given\n"
               "leaves its variable as inherited.\n"
               "\n");
    /* Each option: the variable it sets on the option's own line, then the help. */
    for (int i = 0; i < OPT_COUNT; i++) {
        const struct run_option *o = &options[i];
        const char *line = o->help;
        char left[40];

        snprintf(left, sizeof(left), "--%s%s%s", o->name, o->metavar ? " " : "",
                 o->metavar ? o->metavar : "");
        if (o->env) {
            fprintf(f, "  %-20s %s%s%s\n", left, o->env, o->fixed ? "=" : "",
                    o->fixed ? o->fixed : "");
            left[0] = '\0';
        }
        while (*line) {
            const char *nl = strchr(line, '\n');
            int len = nl ? (int)(nl - line) : (int)strlen(line);

            fprintf(f, "  %-20s %.*s\n", left, len, line);
            left[0] = '\0';
            line += len + (nl ? 1 : 0);
        }
    }
    fprintf(f, "\n"
               "The first argument that is not an option starts CMD; use -- when CMD\n"
               "starts with '-'. Options after CMD are CMD's own.\n"
               "\n"
               "libvgpu.so is taken from VGPU_LIBRARY when set, else from ../lib/ next to\n"
               "the directory of " PROG " (the build tree and an install prefix alike).\n"
               "\n"
               "Exit status:\n"
               "  CMD's exit status, or CMD's signal, once CMD runs (vgpu-run execs it)\n"
               "  2    bad command line; nothing was run\n"
               "  125  " PROG " itself failed (e.g. libvgpu.so not found or unusable)\n"
               "  126  CMD was found but could not be executed\n"
               "  127  CMD was not found\n"
               "\n"
               "Example: " PROG " --tenant alice --memory 8GiB --share 30 --priority high \\\n"
               "             -- python train.py\n");
}

/* Prints a value for an error line: at most 80 bytes, control bytes as \xHH. */
static void print_value(FILE *f, const char *v)
{
    size_t i;

    for (i = 0; i < 80 && v[i]; i++) {
        unsigned char c = (unsigned char)v[i];
        if (c < 0x20 || c == 0x7f)
            fprintf(f, "\\x%02x", c);
        else
            fputc(c, f);
    }
    if (v[i])
        fputs("...", f);
}

static void bad_value(const char *opt, const char *v, const char *reason)
{
    fprintf(stderr, PROG ": invalid --%s value '", opt);
    print_value(stderr, v);
    fprintf(stderr, "': %s\n", reason);
}

/* Reads the command line into value[]. Returns RUN_CONTINUE with *cmd set
 * to the index of CMD in argv, or the exit status to leave with. */
static int parse_args(int argc, char **argv, const char *value[], int *cmd)
{
    struct option longopts[OPT_COUNT + 1];
    char err[256];

    for (int i = 0; i < OPT_COUNT; i++)
        longopts[i] = (struct option){options[i].name, options[i].has_arg, NULL, GETOPT_BASE + i};
    memset(&longopts[OPT_COUNT], 0, sizeof(longopts[OPT_COUNT]));
    opterr = 0;
    for (;;) {
        /* '+': stop at the first non-option (CMD); ':': report a missing value as ':'. */
        int c = getopt_long(argc, argv, "+:", longopts, NULL);
        int id = c - GETOPT_BASE;

        if (c == -1)
            break;
        if (c == ':') {
            fprintf(stderr, PROG ": option --%s needs a value (see " PROG " --help)\n",
                    options[optopt - GETOPT_BASE].name);
            return EXIT_USAGE;
        }
        if (c == '?' && optopt >= GETOPT_BASE) {
            fprintf(stderr, PROG ": option --%s takes no value (see " PROG " --help)\n",
                    options[optopt - GETOPT_BASE].name);
            return EXIT_USAGE;
        }
        if (c == '?' || id < 0 || id >= OPT_COUNT) {
            fprintf(stderr, PROG ": unknown option '");
            if (optopt > 0)
                fprintf(stderr, "-%c", optopt);
            else
                print_value(stderr, argv[optind - 1]);
            fprintf(stderr, "' (see " PROG " --help)\n");
            return EXIT_USAGE;
        }
        if (id == OPT_HELP) {
            usage(stdout);
            return fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_RUN_FAILED;
        }
        if (id == OPT_VERSION) {
            printf(PROG " (vgpu) " VGPU_VERSION "\n");
            return fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_RUN_FAILED;
        }
        if (options[id].validate && options[id].validate(optarg, err, sizeof(err)) != 0) {
            bad_value(options[id].name, optarg, err);
            return EXIT_USAGE;
        }
        value[id] = options[id].validate ? optarg : options[id].fixed;
    }
    if (optind >= argc) {
        fprintf(stderr,
                PROG ": no command given (usage: " PROG " [OPTION]... [--] CMD [ARG]...)\n");
        return EXIT_USAGE;
    }
    *cmd = optind;
    return RUN_CONTINUE;
}

/* Sets the variables of the options given and LD_PRELOAD. Returns 0 or EXIT_RUN_FAILED. */
static int apply_environment(const char *value[], const char *lib)
{
    char *preload = vgpu_run_preload_value(lib, getenv("LD_PRELOAD"));
    int rc = EXIT_RUN_FAILED;

    if (!preload) {
        fprintf(stderr, PROG ": out of memory\n");
        goto cleanup;
    }
    for (int i = 0; i < OPT_COUNT; i++) {
        const char *env = options[i].env;
        const char *inherited;

        if (!env)
            continue;
        if (value[i] && setenv(env, value[i], 1) != 0) {
            fprintf(stderr, PROG ": cannot set %s: %s\n", env, strerror(errno));
            goto cleanup;
        }
        inherited = getenv(env);
        if (value[i])
            vgpu_info("%s=%s", env, value[i]);
        else if (inherited)
            vgpu_info("%s=%s (inherited)", env, inherited);
        else
            vgpu_info("%s not set", env);
    }
    if (setenv("LD_PRELOAD", preload, 1) != 0) {
        fprintf(stderr, PROG ": cannot set LD_PRELOAD: %s\n", strerror(errno));
        goto cleanup;
    }
    vgpu_info("LD_PRELOAD=%s", preload);
    rc = 0;
cleanup:
    free(preload);
    return rc;
}

int main(int argc, char **argv)
{
    const char *value[OPT_COUNT] = {NULL};
    char err[PATH_MAX * 2 + 128];
    char lib[PATH_MAX];
    char exe[PATH_MAX];
    const char *inherited_tenant = getenv("VGPU_TENANT");
    ssize_t n;
    int cmd = 0;
    int exec_errno;
    int rc;

    vgpu_log_init(PROG, "VGPU_LOG_LEVEL", VGPU_LOG_WARN);
    rc = parse_args(argc, argv, value, &cmd);
    if (rc != RUN_CONTINUE)
        goto cleanup;
    if (value[OPT_VERBOSE] && vgpu_log_get_level() < VGPU_LOG_INFO)
        vgpu_log_set_level(VGPU_LOG_INFO);
    /* No tenant named: leave VGPU_TENANT unset, so vgpud (when it runs)
     * chooses the tenant this user or cgroup is bound to; standalone,
     * libvgpu.so uses uid-<uid>. An empty inherited value is dropped. */
    if (!value[OPT_TENANT] && inherited_tenant && !*inherited_tenant)
        unsetenv("VGPU_TENANT");

    n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n > 0)
        exe[n] = '\0';
    if (vgpu_run_find_library(getenv("VGPU_LIBRARY"), n > 0 ? exe : NULL, lib, sizeof(lib), err,
                              sizeof(err)) != 0) {
        fprintf(stderr, PROG ": %s\n", err);
        rc = EXIT_RUN_FAILED;
        goto cleanup;
    }
    vgpu_info("library %s", lib);
    rc = apply_environment(value, lib);
    if (rc != 0)
        goto cleanup;

    vgpu_info("running %s", argv[cmd]);
    execvp(argv[cmd], argv + cmd);
    exec_errno = errno;
    rc = exec_errno == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_INVOKE;
    if (exec_errno == ENOENT && !strchr(argv[cmd], '/'))
        fprintf(stderr, PROG ": %s: command not found\n", argv[cmd]);
    else
        fprintf(stderr, PROG ": cannot run %s: %s\n", argv[cmd], strerror(exec_errno));
cleanup:
    return rc;
}
