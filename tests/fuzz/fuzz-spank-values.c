/* fuzz-spank-values: libFuzzer harness for every parser of src/spank/values.h,
 * the rules spank_vgpu.so applies to job options, plugstack.conf arguments,
 * the gres strings of a job's environment and /proc/PID/cgroup lines.
 *
 * Input: "NAME\nTEXT". NAME picks the parser (config, memory, share,
 * priority, shards, share-from-shards, cgroup); when it names none, the
 * first byte does (mod 7), so that mutations reach every parser. TEXT, up
 * to its first NUL, is what that parser reads:
 *   config             one plugstack.conf argument per line (at most 16)
 *   memory share priority shards   the value itself
 *   share-from-shards  "SHARDS PER_GPU", two decimal numbers (mod 2^64, 2^32)
 *   cgroup             "JOBID LEN LINE": the job id, the output size, the line
 * Each result is checked against a slow reference written from values.h:
 * the grammar of every value, the errno of every refusal, a one-line reason
 * in err for every refusal of a checked value, outputs untouched on refusal,
 * and no write past any buffer (outputs and err are heap blocks of their
 * exact size, for AddressSanitizer). */
#include "fuzz.h"

#include "common.h"
#include "values.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ARGS 16
#define ERRLEN 512

/* Digits only, no leading zero (except "0"), value <= max: values.h's
 * "written plainly". */
static bool ref_plain(const char *s, size_t n, unsigned long long max, unsigned long long *out)
{
    unsigned long long v = 0;

    if (n == 0 || (s[0] == '0' && n > 1))
        return false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        if (v > max) /* already too large; keep reading for non-digits */
            continue;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    if (v > max)
        return false;
    *out = v;
    return true;
}

/* A reason: non-empty, one line, terminated inside the buffer. */
static void check_reason(const char *err)
{
    FUZZ_CHECK(memchr(err, '\0', ERRLEN) != NULL);
    FUZZ_CHECK(err[0] != '\0');
}

static char *new_err(void)
{
    char *err = malloc(ERRLEN);
    if (!err)
        abort();
    memset(err, 'X', ERRLEN);
    err[ERRLEN - 1] = '\0';
    return err;
}

/* ---- config ------------------------------------------------------------ */

static bool ref_pool(const char *v)
{
    size_t n = strlen(v);
    return n >= 1 && n <= VGPU_SPANK_POOL_MAX && v[0] != '.' && v[0] != '-' &&
           strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

static void fuzz_config(char *text)
{
    static const char *const keys[] = {"libvgpu", "socket", "pool", "shards_per_gpu"};
    char *argv[MAX_ARGS];
    const char *val[4] = {NULL, NULL, NULL, NULL};
    int argc = 0;
    bool ok = true;
    char *err = new_err();
    struct vgpu_spank_config *cfg = malloc(sizeof(*cfg));

    if (!cfg)
        abort();
    for (char *p = text; argc < MAX_ARGS;) {
        argv[argc++] = p;
        p = strchr(p, '\n');
        if (!p)
            break;
        *p++ = '\0';
    }
    /* The reference: every argument a known key=value, each key once, each
     * value valid. */
    for (int i = 0; i < argc && ok; i++) {
        const char *eq = strchr(argv[i], '=');
        int k = -1;
        for (int j = 0; eq && j < 4; j++)
            if ((size_t)(eq - argv[i]) == strlen(keys[j]) &&
                strncmp(argv[i], keys[j], strlen(keys[j])) == 0)
                k = j;
        if (k < 0 || val[k]) {
            ok = false;
            break;
        }
        const char *v = eq + 1;
        unsigned long long n;
        val[k] = v;
        switch (k) {
        case 0: ok = v[0] == '/' && !strpbrk(v, ": ") && strlen(v) < VGPU_SPANK_PATH_MAX; break;
        case 1: ok = v[0] == '/' && strlen(v) < VGPU_SPANK_PATH_MAX; break;
        case 2: ok = ref_pool(v); break;
        default: ok = ref_plain(v, strlen(v), 1000, &n) && n >= 1; break;
        }
    }

    int rc = vgpu_spank_config_parse(argc, argv, "/default/libvgpu.so", "/default/vgpud.sock", cfg,
                                     err, ERRLEN);
    FUZZ_CHECK(rc == 0 || rc == -EINVAL || rc == -ENAMETOOLONG);
    FUZZ_CHECK((rc == 0) == ok);
    if (rc != 0) {
        check_reason(err);
    } else {
        FUZZ_CHECK(err[0] == '\0');
        FUZZ_CHECK(strcmp(cfg->libvgpu, val[0] ? val[0] : "/default/libvgpu.so") == 0);
        FUZZ_CHECK(strcmp(cfg->socket, val[1] ? val[1] : "/default/vgpud.sock") == 0);
        FUZZ_CHECK(cfg->socket_given == (val[1] != NULL));
        FUZZ_CHECK(strcmp(cfg->pool, val[2] ? val[2] : "") == 0);
        FUZZ_CHECK(val[3] ? cfg->shards_per_gpu == strtoul(val[3], NULL, 10)
                          : cfg->shards_per_gpu == 0);
    }
    /* A refusal with no room for the reason. */
    FUZZ_CHECK(vgpu_spank_config_parse(argc, argv, "/d.so", "/d.sock", cfg, NULL, 0) == rc);
    free(cfg);
    free(err);
}

/* ---- options ----------------------------------------------------------- */

static void fuzz_memory(char *v)
{
    char *err = new_err();
    uint64_t *bytes = malloc(sizeof(*bytes));
    uint64_t want = 0;
    int want_rc;

    if (!bytes)
        abort();
    *bytes = 0xdeadbeef;
    if (strlen(v) > 63) {
        want_rc = -EINVAL;
    } else {
        want_rc = vgpu_parse_size(v, &want);
        if (want_rc == 0 && want == 0)
            want_rc = -EINVAL;
        else if (want_rc != 0 && want_rc != -ERANGE)
            want_rc = -EINVAL;
    }
    int rc = vgpu_spank_check_memory(v, bytes, err, ERRLEN);
    FUZZ_CHECK(rc == want_rc);
    if (rc == 0) {
        FUZZ_CHECK(*bytes == want && want > 0);
    } else {
        FUZZ_CHECK(*bytes == 0xdeadbeef);
        check_reason(err);
    }
    FUZZ_CHECK(vgpu_spank_check_memory(v, NULL, NULL, 0) == rc);
    free(bytes);
    free(err);
}

static void fuzz_share(char *v)
{
    char *err = new_err();
    unsigned *share = malloc(sizeof(*share));
    unsigned long long want = 0;
    bool ok = ref_plain(v, strlen(v), 100, &want) && want >= 1;

    if (!share)
        abort();
    *share = 777;
    int rc = vgpu_spank_check_share(v, share, err, ERRLEN);
    FUZZ_CHECK(rc == (ok ? 0 : -EINVAL));
    if (ok) {
        FUZZ_CHECK(*share == want);
    } else {
        FUZZ_CHECK(*share == 777);
        check_reason(err);
    }
    FUZZ_CHECK(vgpu_spank_check_share(v, NULL, NULL, 0) == rc);
    free(share);
    free(err);
}

static void fuzz_priority(char *v)
{
    char *err = new_err();
    bool ok = strcmp(v, "low") == 0 || strcmp(v, "medium") == 0 || strcmp(v, "high") == 0;
    int rc = vgpu_spank_check_priority(v, err, ERRLEN);

    FUZZ_CHECK(rc == (ok ? 0 : -EINVAL));
    if (!ok)
        check_reason(err);
    FUZZ_CHECK(vgpu_spank_check_priority(v, NULL, 0) == rc);
    free(err);
}

/* ---- shards ------------------------------------------------------------ */

/* One entry "[gres/|gres:]name[:type][:count]": its count when the name is
 * shard, 0 for another name, -EINVAL for a malformed shard entry (a type is
 * not all digits and holds no parenthesis or ':'; a count is plain, at most
 * 10^6). An entry of 128 bytes or more is ignored: the parser's copy of one
 * entry is that size, and no gres entry Slurm writes comes near it. */
static long ref_entry(const char *e, size_t n)
{
    unsigned long long c;
    const char *colon;

    if (n >= 128)
        return 0;
    if (n >= 5 && (strncmp(e, "gres/", 5) == 0 || strncmp(e, "gres:", 5) == 0)) {
        e += 5;
        n -= 5;
    }
    if (n < 5 || strncmp(e, "shard", 5) != 0)
        return 0;
    if (n == 5)
        return 1;
    if (e[5] != ':')
        return 0;
    e += 6;
    n -= 6;
    if (memchr(e, '(', n) || memchr(e, ')', n))
        return -EINVAL;
    colon = memchr(e, ':', n);
    if (colon) {
        if (colon == e)
            return -EINVAL;
        return ref_plain(colon + 1, n - (size_t)(colon + 1 - e), 1000000, &c) ? (long)c : -EINVAL;
    }
    if (n == 0)
        return -EINVAL;
    bool digits = true;
    for (size_t i = 0; i < n; i++)
        digits = digits && e[i] >= '0' && e[i] <= '9';
    if (digits)
        return ref_plain(e, n, 1000000, &c) ? (long)c : -EINVAL;
    return 1;
}

static void fuzz_shards(char *gres)
{
    unsigned long long bare;
    long want = 0;

    if (ref_plain(gres, strlen(gres), 1000000, &bare)) {
        want = (long)bare;
    } else {
        for (const char *p = gres; *p;) {
            size_t n = strcspn(p, ",");
            long c = ref_entry(p, n);
            if (c < 0) {
                want = c;
                break;
            }
            want += c;
            p += n;
            if (*p == ',')
                p++;
        }
    }
    long got = vgpu_spank_shards(gres);
    if (got != want)
        fprintf(stderr, "vgpu_spank_shards(\"%s\") = %ld; reference %ld\n", gres, got, want);
    FUZZ_CHECK(got == want);
    FUZZ_CHECK(got >= 0 || got == -EINVAL);
}

static void fuzz_share_from_shards(char *text)
{
    char *end;
    unsigned long shards = strtoul(text, &end, 10);
    unsigned per_gpu = (unsigned)strtoul(end, NULL, 10);
    unsigned __int128 f = per_gpu ? (unsigned __int128)shards * 100 / per_gpu : 0;
    unsigned want = shards == 0 || per_gpu == 0 ? 0 : f < 1 ? 1 : f > 100 ? 100 : (unsigned)f;
    unsigned got = vgpu_spank_share_from_shards(shards, per_gpu);

    if (got != want)
        fprintf(stderr, "share_from_shards(%lu, %u) = %u; reference %u\n", shards, per_gpu, got,
                want);
    FUZZ_CHECK(got == want);
}

/* ---- cgroup ------------------------------------------------------------ */

static void fuzz_cgroup(char *text)
{
    char *end;
    uint32_t jobid = (uint32_t)strtoul(text, &end, 10);
    size_t len = strtoul(end, &end, 10) % 4096;
    const char *line = *end == ' ' ? end + 1 : end;
    char *out = malloc(len ? len : 1);
    char want[32];

    if (!out)
        abort();
    int rc = vgpu_spank_job_cgroup(line, jobid, out, len);
    FUZZ_CHECK(rc == 0 || rc == -ENOENT || rc == -ENAMETOOLONG);
    if (strncmp(line, "0::/", 4) != 0)
        FUZZ_CHECK(rc == -ENOENT);
    if (rc == 0) {
        size_t n = strlen(out);
        int wlen = snprintf(want, sizeof(want), "/job_%u", (unsigned)jobid);
        /* The path up to and including a whole "job_<jobid>" component. */
        FUZZ_CHECK(n < len);
        FUZZ_CHECK(out[0] == '/' && strncmp(line + 3, out, n) == 0);
        FUZZ_CHECK(n >= (size_t)wlen && strcmp(out + n - (size_t)wlen, want) == 0);
        FUZZ_CHECK(line[3 + n] == '\0' || line[3 + n] == '/' || line[3 + n] == '\n');
    }
    free(out);
}

/* ---- dispatch ---------------------------------------------------------- */

static const struct {
    const char *name;
    void (*fn)(char *text);
} parsers[] = {
    {"config", fuzz_config}, {"memory", fuzz_memory},
    {"share", fuzz_share},   {"priority", fuzz_priority},
    {"shards", fuzz_shards}, {"share-from-shards", fuzz_share_from_shards},
    {"cgroup", fuzz_cgroup},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const size_t nparsers = sizeof(parsers) / sizeof(parsers[0]);
    char *s;
    char *nl;
    size_t which;

    if (size == 0)
        return 0;
    s = fuzz_strndup(data, size);
    nl = strchr(s, '\n');
    which = (size_t)data[0] % nparsers;
    if (nl) {
        *nl = '\0';
        for (size_t i = 0; i < nparsers; i++)
            if (strcmp(s, parsers[i].name) == 0)
                which = i;
    }
    parsers[which].fn(nl ? nl + 1 : s);
    free(s);
    return 0;
}
