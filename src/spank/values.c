/* values: the grammar of spank_vgpu.so's options and arguments (values.h).
 *
 * The options are checked twice: in srun, sbatch or salloc (local and
 * allocator context), where a bad value stops the submission with the
 * reason, and again in slurmstepd (remote context), where the same strings
 * arrive from the controller. Both go through these functions, so a value
 * that passed at submission passes on the node. Values are taken only in
 * their canonical spellings, as vgpu-run takes them: what is written into
 * the job's VGPU_* variables is then exactly what the user typed. */
#include "values.h"

#include "common.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIZE_TEXT_MAX 63
#define SHARDS_PER_GPU_MAX 1000

/* Digits only, no leading zero (except "0" itself), at most max. */
static int plain_number(const char *v, unsigned long max, unsigned long *out)
{
    unsigned long n = 0;
    size_t len = strlen(v);

    if (len == 0 || len > 10 || strspn(v, "0123456789") != len || (v[0] == '0' && len > 1))
        return -EINVAL;
    for (size_t i = 0; i < len; i++)
        n = n * 10 + (unsigned long)(v[i] - '0');
    if (n > max)
        return -ERANGE;
    *out = n;
    return 0;
}

static int absolute_path(const char *key, const char *v, char *out, size_t len, char *err,
                         size_t errlen)
{
    if (v[0] != '/')
        return vgpu_errf(err, errlen, -EINVAL, "%s=%s: expected an absolute path", key, v);
    if (strpbrk(v, ": ") && strcmp(key, "libvgpu") == 0)
        return vgpu_errf(err, errlen, -EINVAL,
                         "%s=%s: the path contains ':' or ' ', which separate LD_PRELOAD entries",
                         key, v);
    if (strlen(v) >= len)
        return vgpu_errf(err, errlen, -ENAMETOOLONG, "%s=%s: at most %zu bytes", key, v, len - 1);
    vgpu_strlcpy(out, v, len);
    return 0;
}

static int check_pool(const char *v, char *err, size_t errlen)
{
    size_t n = strlen(v);

    if (n == 0 || n > VGPU_SPANK_POOL_MAX || v[0] == '.' || v[0] == '-' ||
        strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") != n)
        return vgpu_errf(err, errlen, -EINVAL,
                         "pool=%s: a pool name is 1-%d characters of A-Z a-z 0-9 . _ -, not "
                         "starting with '.' or '-'",
                         v, VGPU_SPANK_POOL_MAX);
    return 0;
}

int vgpu_spank_config_parse(int argc, char **argv, const char *default_libvgpu,
                            const char *default_socket, struct vgpu_spank_config *cfg, char *err,
                            size_t errlen)
{
    static const char *const keys[] = {"libvgpu", "socket", "pool", "shards_per_gpu"};
    unsigned seen = 0;
    unsigned long n;
    int rc;

    memset(cfg, 0, sizeof(*cfg));
    vgpu_strlcpy(cfg->libvgpu, default_libvgpu, sizeof(cfg->libvgpu));
    vgpu_strlcpy(cfg->socket, default_socket, sizeof(cfg->socket));
    if (errlen > 0)
        err[0] = '\0';
    for (int i = 0; i < argc; i++) {
        const char *eq = strchr(argv[i], '=');
        size_t klen = eq ? (size_t)(eq - argv[i]) : 0;
        const char *v = eq ? eq + 1 : NULL;
        unsigned k;

        for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
            if (eq && strlen(keys[k]) == klen && strncmp(argv[i], keys[k], klen) == 0)
                break;
        if (k == sizeof(keys) / sizeof(keys[0]))
            return vgpu_errf(err, errlen, -EINVAL,
                             "unknown argument '%s' (expected libvgpu=PATH, socket=PATH, "
                             "pool=NAME or shards_per_gpu=N)",
                             argv[i]);
        if (seen & (1u << k))
            return vgpu_errf(err, errlen, -EINVAL, "%s= is given twice", keys[k]);
        seen |= 1u << k;
        switch (k) {
        case 0:
            rc = absolute_path(keys[k], v, cfg->libvgpu, sizeof(cfg->libvgpu), err, errlen);
            break;
        case 1:
            rc = absolute_path(keys[k], v, cfg->socket, sizeof(cfg->socket), err, errlen);
            cfg->socket_given = 1;
            break;
        case 2:
            rc = check_pool(v, err, errlen);
            if (rc == 0)
                vgpu_strlcpy(cfg->pool, v, sizeof(cfg->pool));
            break;
        default:
            rc = plain_number(v, SHARDS_PER_GPU_MAX, &n);
            if (rc != 0 || n == 0)
                return vgpu_errf(err, errlen, -EINVAL,
                                 "shards_per_gpu=%s: expected a whole number from 1 to %d", v,
                                 SHARDS_PER_GPU_MAX);
            cfg->shards_per_gpu = (unsigned)n;
            break;
        }
        if (rc != 0)
            return rc;
    }
    return 0;
}

int vgpu_spank_check_memory(const char *v, uint64_t *bytes, char *err, size_t errlen)
{
    uint64_t b = 0;
    int rc;

    if (strlen(v) > SIZE_TEXT_MAX)
        return vgpu_errf(err, errlen, -EINVAL, "a size has at most %d characters", SIZE_TEXT_MAX);
    rc = vgpu_parse_size(v, &b);
    if (rc == -ERANGE)
        return vgpu_errf(err, errlen, rc, "the size does not fit in 64 bits");
    if (rc != 0)
        return vgpu_errf(err, errlen, -EINVAL, "expected a size such as 8GiB, 512MiB, 1.5g or 4GB");
    if (b == 0)
        return vgpu_errf(err, errlen, -EINVAL, "the size must be more than 0 bytes");
    if (bytes)
        *bytes = b;
    return 0;
}

int vgpu_spank_check_share(const char *v, unsigned *share, char *err, size_t errlen)
{
    unsigned long n = 0;

    if (plain_number(v, 100, &n) != 0 || n == 0)
        return vgpu_errf(err, errlen, -EINVAL,
                         "expected a whole number from 1 to 100 (percent of GPU time)");
    if (share)
        *share = (unsigned)n;
    return 0;
}

int vgpu_spank_check_priority(const char *v, char *err, size_t errlen)
{
    if (strcmp(v, "low") == 0 || strcmp(v, "medium") == 0 || strcmp(v, "high") == 0)
        return 0;
    return vgpu_errf(err, errlen, -EINVAL, "expected low, medium or high");
}

/* One gres entry "name[:type][:count]" with an optional "gres/" or "gres:"
 * prefix: its count when the name is shard, 0 for another name, -EINVAL
 * when a shard entry is malformed. A shard without a count is one shard. */
static long shard_entry(const char *e, size_t len)
{
    char buf[128];
    char *last;
    unsigned long n;

    if (len >= sizeof(buf))
        return 0;
    memcpy(buf, e, len);
    buf[len] = '\0';
    char *p = buf;
    if (strncmp(p, "gres/", 5) == 0 || strncmp(p, "gres:", 5) == 0)
        p += 5;
    if (strncmp(p, "shard", 5) != 0 || (p[5] != '\0' && p[5] != ':'))
        return 0;
    if (p[5] == '\0')
        return 1;
    /* After "shard:": COUNT, TYPE or TYPE:COUNT. An annotation such as
     * scontrol's "(IDX:0,1)" makes the entry malformed: the list is cut at
     * its commas, so its pieces must not be read as a count. */
    p += 6;
    if (strpbrk(p, "()"))
        return -EINVAL;
    last = strchr(p, ':');
    if (last)
        return last > p && plain_number(last + 1, 1000000, &n) == 0 ? (long)n : -EINVAL;
    if (strspn(p, "0123456789") == strlen(p)) /* all digits (or empty): a count */
        return plain_number(p, 1000000, &n) == 0 ? (long)n : -EINVAL;
    return 1; /* "shard:type" (a type, no count) is one shard */
}

long vgpu_spank_shards(const char *gres)
{
    unsigned long n;
    long total = 0;

    if (!gres || !*gres)
        return 0;
    if (plain_number(gres, 1000000, &n) == 0)
        return (long)n;
    for (const char *p = gres; *p;) {
        size_t len = strcspn(p, ",");
        long c = shard_entry(p, len);
        if (c < 0)
            return c;
        total += c;
        p += len;
        if (*p == ',')
            p++;
    }
    return total;
}

unsigned vgpu_spank_share_from_shards(unsigned long shards, unsigned per_gpu)
{
    unsigned long share;

    if (shards == 0 || per_gpu == 0)
        return 0;
    share = shards >= per_gpu ? 100 : shards * 100 / per_gpu;
    return share < 1 ? 1 : (unsigned)share;
}

int vgpu_spank_job_cgroup(const char *line, uint32_t jobid, char *out, size_t len)
{
    char want[32];
    const char *p;
    size_t wlen;

    if (strncmp(line, "0::/", 4) != 0)
        return -ENOENT;
    wlen = (size_t)snprintf(want, sizeof(want), "/job_%u", (unsigned)jobid);
    for (p = strstr(line + 3, want); p; p = strstr(p + 1, want)) {
        if (p[wlen] == '/' || p[wlen] == '\0' || p[wlen] == '\n') {
            size_t n = (size_t)(p + wlen - (line + 3));
            if (n >= len)
                return -ENAMETOOLONG;
            memcpy(out, line + 3, n);
            out[n] = '\0';
            return 0;
        }
    }
    return -ENOENT;
}
