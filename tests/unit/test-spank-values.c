/* Unit tests for src/spank/values.c, the rules spank_vgpu.so applies to what
 * a user or an administrator writes: the job options --vgpu-memory,
 * --vgpu-share and --vgpu-priority, the plugin's arguments in
 * plugstack.conf, the share that a job's shards imply, and the job's cgroup.
 *
 * Every refusal is checked with its errno and the exact reason the plugin
 * prints (srun and sbatch show it to the user as it is), and every accepted
 * value with what it parses to. Only what values.h documents is asserted. */
#include "values.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#define KiB (1ULL << 10)
#define MiB (1ULL << 20)
#define GiB (1ULL << 30)
#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

#define DEFAULT_LIB "/usr/lib/x86_64-linux-gnu/libvgpu.so"
#define DEFAULT_SOCK "/run/vgpu/vgpud.sock"

static const char SIZE_MSG[] = "expected a size such as 8GiB, 512MiB, 1.5g or 4GB";
static const char SHARE_MSG[] = "expected a whole number from 1 to 100 (percent of GPU time)";
static const char PRIO_MSG[] = "expected low, medium or high";

/* A string of n copies of c followed by tail (n + strlen(tail) < size). */
static const char *repeat(char *buf, size_t size, char c, size_t n, const char *tail)
{
    assert_true(n + strlen(tail) < size);
    memset(buf, c, n);
    strcpy(buf + n, tail);
    return buf;
}

/* ---- --vgpu-memory ------------------------------------------------------ */

static void test_memory_accepts_sizes(void **state)
{
    static const struct {
        const char *v;
        uint64_t want;
    } cases[] = {
        {"8GiB", 8 * GiB},
        {"512MiB", 512 * MiB},
        {"1.5g", 3 * GiB / 2},
        {"4GB", 4000000000ULL},
        {"8gib", 8 * GiB},
        {"1", 1},
        {"1B", 1},
        {"64k", 64 * KiB},
        {"18446744073709551615", UINT64_MAX},
        {"16777215TiB", 16777215ULL << 40},
    };
    (void)state;
    for (size_t i = 0; i < N_ELEMS(cases); i++) {
        uint64_t got = 0;
        char err[128] = "";
        int rc = vgpu_spank_check_memory(cases[i].v, &got, err, sizeof(err));
        if (rc != 0 || got != cases[i].want)
            fail_msg("--vgpu-memory=\"%s\": rc %d (%s), %" PRIu64 " bytes; want %" PRIu64,
                     cases[i].v, rc, err, got, cases[i].want);
        /* bytes may be NULL: a check without a result. */
        assert_int_equal(vgpu_spank_check_memory(cases[i].v, NULL, err, sizeof(err)), 0);
    }
}

static void test_memory_refusals(void **state)
{
    static const struct {
        const char *v;
        int rc;
        const char *msg;
    } cases[] = {
        {"0", -EINVAL, "the size must be more than 0 bytes"},
        {"0GiB", -EINVAL, "the size must be more than 0 bytes"},
        {"0.0000000001k", -EINVAL, "the size must be more than 0 bytes"},
        {"", -EINVAL, SIZE_MSG},
        {"8 GiB", -EINVAL, SIZE_MSG},
        {" 8GiB", -EINVAL, SIZE_MSG},
        {"8GiB ", -EINVAL, SIZE_MSG},
        {"-1GiB", -EINVAL, SIZE_MSG},
        {"+8GiB", -EINVAL, SIZE_MSG},
        {"GiB", -EINVAL, SIZE_MSG},
        {"8XiB", -EINVAL, SIZE_MSG},
        {"1e9", -EINVAL, SIZE_MSG},
        {".5g", -EINVAL, SIZE_MSG},
        {"8GiB,4GiB", -EINVAL, SIZE_MSG},
        {"0:8GiB", -EINVAL, SIZE_MSG},
        {"18446744073709551616", -ERANGE, "the size does not fit in 64 bits"},
        {"16777216TiB", -ERANGE, "the size does not fit in 64 bits"},
        {"99999999999999999999999GiB", -ERANGE, "the size does not fit in 64 bits"},
    };
    (void)state;
    for (size_t i = 0; i < N_ELEMS(cases); i++) {
        uint64_t got = 12345;
        char err[128] = "";
        int rc = vgpu_spank_check_memory(cases[i].v, &got, err, sizeof(err));
        if (rc != cases[i].rc || strcmp(err, cases[i].msg) != 0 || got != 12345)
            fail_msg("--vgpu-memory=\"%s\": rc %d \"%s\" (bytes %" PRIu64 "); want %d \"%s\"",
                     cases[i].v, rc, err, got, cases[i].rc, cases[i].msg);
    }
}

/* At most 63 characters: 62 zeros and a 1 is one byte, one zero more is
 * refused for its length before it is read. */
static void test_memory_length_limit(void **state)
{
    char v[80];
    char err[128] = "";
    uint64_t got = 0;

    (void)state;
    assert_int_equal(
        vgpu_spank_check_memory(repeat(v, sizeof(v), '0', 62, "1"), &got, err, sizeof(err)), 0);
    assert_int_equal(strlen(v), 63);
    assert_int_equal(got, 1);
    assert_int_equal(
        vgpu_spank_check_memory(repeat(v, sizeof(v), '0', 63, "1"), &got, err, sizeof(err)),
        -EINVAL);
    assert_string_equal(err, "a size has at most 63 characters");
    assert_int_equal(
        vgpu_spank_check_memory(repeat(v, sizeof(v), '9', 70, ""), &got, err, sizeof(err)),
        -EINVAL);
    assert_string_equal(err, "a size has at most 63 characters");
}

/* ---- --vgpu-share ------------------------------------------------------- */

static void test_share_bounds(void **state)
{
    static const unsigned ok[] = {1, 2, 9, 10, 30, 50, 99, 100};
    (void)state;
    for (size_t i = 0; i < N_ELEMS(ok); i++) {
        char v[8];
        char err[128] = "";
        unsigned got = 0;
        snprintf(v, sizeof(v), "%u", ok[i]);
        if (vgpu_spank_check_share(v, &got, err, sizeof(err)) != 0 || got != ok[i])
            fail_msg("--vgpu-share=%s: got %u (%s)", v, got, err);
        assert_int_equal(vgpu_spank_check_share(v, NULL, err, sizeof(err)), 0);
    }
}

static void test_share_refusals(void **state)
{
    static const char *const bad[] = {
        "0",
        "101",
        "1000",
        "00",
        "01",
        "030",
        " 30",
        "30 ",
        "30%",
        "3e1",
        "+30",
        "-1",
        "-0",
        "30.0",
        "0x1e",
        "",
        "thirty",
        "4294967297",
        "9999999999",
        "99999999999",
        "18446744073709551617",
        "100000000000000000000000000",
        "1,2",
    };
    (void)state;
    for (size_t i = 0; i < N_ELEMS(bad); i++) {
        char err[128] = "";
        unsigned got = 77;
        int rc = vgpu_spank_check_share(bad[i], &got, err, sizeof(err));
        if (rc != -EINVAL || strcmp(err, SHARE_MSG) != 0 || got != 77)
            fail_msg("--vgpu-share=\"%s\": rc %d \"%s\" (share %u); want -EINVAL \"%s\"", bad[i],
                     rc, err, got, SHARE_MSG);
    }
}

/* ---- --vgpu-priority ---------------------------------------------------- */

static void test_priority(void **state)
{
    static const char *const ok[] = {"low", "medium", "high"};
    /* Only the canonical lower-case spellings, exactly. */
    static const char *const bad[] = {
        "Low", "LOW", "High", "HIGH",   "Medium",  "MEDIUM", " low", "low ",     "med",   "mid",
        "hi",  "lo",  "",     "lowest", "highest", "normal", "1",    "low,high", "low\n", "low\t",
    };
    (void)state;
    for (size_t i = 0; i < N_ELEMS(ok); i++) {
        char err[128] = "";
        if (vgpu_spank_check_priority(ok[i], err, sizeof(err)) != 0)
            fail_msg("--vgpu-priority=%s refused: %s", ok[i], err);
    }
    for (size_t i = 0; i < N_ELEMS(bad); i++) {
        char err[128] = "";
        int rc = vgpu_spank_check_priority(bad[i], err, sizeof(err));
        if (rc != -EINVAL || strcmp(err, PRIO_MSG) != 0)
            fail_msg("--vgpu-priority=\"%s\": rc %d \"%s\"", bad[i], rc, err);
    }
}

/* A check with no room for a reason still refuses, and writes nothing. */
static void test_no_error_buffer(void **state)
{
    char err[4] = "abc";
    (void)state;
    assert_int_equal(vgpu_spank_check_share("0", NULL, NULL, 0), -EINVAL);
    assert_int_equal(vgpu_spank_check_priority("x", NULL, 0), -EINVAL);
    assert_int_equal(vgpu_spank_check_memory("0", NULL, NULL, 0), -EINVAL);
    assert_int_equal(vgpu_spank_check_memory("0", NULL, err, 0), -EINVAL);
    assert_string_equal(err, "abc");
    /* A short buffer holds a cut, terminated reason. */
    assert_int_equal(vgpu_spank_check_priority("x", err, sizeof(err)), -EINVAL);
    assert_string_equal(err, "exp");
}

/* ---- plugstack.conf arguments ------------------------------------------- */

static int parse(struct vgpu_spank_config *cfg, char *err, size_t errlen, int argc, ...)
{
    char *argv[8];
    va_list ap;

    assert_true(argc <= 8);
    va_start(ap, argc);
    for (int i = 0; i < argc; i++)
        argv[i] = va_arg(ap, char *);
    va_end(ap);
    return vgpu_spank_config_parse(argc, argv, DEFAULT_LIB, DEFAULT_SOCK, cfg, err, errlen);
}

static void test_config_defaults(void **state)
{
    struct vgpu_spank_config cfg;
    char err[256] = "stale";

    (void)state;
    memset(&cfg, 0x5a, sizeof(cfg));
    assert_int_equal(
        vgpu_spank_config_parse(0, NULL, DEFAULT_LIB, DEFAULT_SOCK, &cfg, err, sizeof(err)), 0);
    assert_string_equal(err, "");
    assert_string_equal(cfg.libvgpu, DEFAULT_LIB);
    assert_string_equal(cfg.socket, DEFAULT_SOCK);
    assert_int_equal(cfg.socket_given, 0);
    assert_string_equal(cfg.pool, "");
    assert_int_equal(cfg.shards_per_gpu, 0);
}

static void test_config_all_keys(void **state)
{
    struct vgpu_spank_config cfg;
    char err[256] = "stale";

    (void)state;
    assert_int_equal(parse(&cfg, err, sizeof(err), 4, "shards_per_gpu=4", "pool=batch_a-1.x",
                           "socket=/run/vgpu/other.sock", "libvgpu=/opt/vgpu/lib/libvgpu.so"),
                     0);
    assert_string_equal(err, "");
    assert_string_equal(cfg.libvgpu, "/opt/vgpu/lib/libvgpu.so");
    assert_string_equal(cfg.socket, "/run/vgpu/other.sock");
    assert_int_equal(cfg.socket_given, 1);
    assert_string_equal(cfg.pool, "batch_a-1.x");
    assert_int_equal(cfg.shards_per_gpu, 4);

    /* socket= given as the default is still given (the job gets VGPU_SOCKET). */
    assert_int_equal(parse(&cfg, err, sizeof(err), 1, "socket=" DEFAULT_SOCK), 0);
    assert_int_equal(cfg.socket_given, 1);
    assert_string_equal(cfg.libvgpu, DEFAULT_LIB);

    /* Only libvgpu= is an LD_PRELOAD entry: a socket path may hold ':' and ' '. */
    assert_int_equal(parse(&cfg, err, sizeof(err), 1, "socket=/run/a:b c.sock"), 0);
    assert_string_equal(cfg.socket, "/run/a:b c.sock");

    /* shards_per_gpu bounds 1 and 1000. */
    assert_int_equal(parse(&cfg, err, sizeof(err), 1, "shards_per_gpu=1"), 0);
    assert_int_equal(cfg.shards_per_gpu, 1);
    assert_int_equal(parse(&cfg, err, sizeof(err), 1, "shards_per_gpu=1000"), 0);
    assert_int_equal(cfg.shards_per_gpu, 1000);
}

static void test_config_path_and_pool_lengths(void **state)
{
    struct vgpu_spank_config cfg;
    char err[512] = "";
    char arg[256], pool[80], want[512];

    (void)state;
    /* A path of VGPU_SPANK_PATH_MAX - 1 bytes fits, one more does not. */
    strcpy(arg, "socket=/");
    repeat(arg + 8, sizeof(arg) - 8, 's', VGPU_SPANK_PATH_MAX - 2, "");
    assert_int_equal(parse(&cfg, err, sizeof(err), 1, arg), 0);
    assert_int_equal(strlen(cfg.socket), VGPU_SPANK_PATH_MAX - 1);
    strcat(arg, "s");
    assert_int_equal(parse(&cfg, err, sizeof(err), 1, arg), -ENAMETOOLONG);
    snprintf(want, sizeof(want), "%s: at most %d bytes", arg, VGPU_SPANK_PATH_MAX - 1);
    assert_string_equal(err, want);

    strcpy(arg, "libvgpu=/");
    repeat(arg + 9, sizeof(arg) - 9, 'l', VGPU_SPANK_PATH_MAX - 1, "");
    assert_int_equal(parse(&cfg, err, sizeof(err), 1, arg), -ENAMETOOLONG);
    snprintf(want, sizeof(want), "%s: at most %d bytes", arg, VGPU_SPANK_PATH_MAX - 1);
    assert_string_equal(err, want);

    /* A pool name of VGPU_SPANK_POOL_MAX characters fits, one more does not. */
    strcpy(arg, "pool=");
    repeat(pool, sizeof(pool), 'p', VGPU_SPANK_POOL_MAX, "");
    strcat(arg, pool);
    assert_int_equal(parse(&cfg, err, sizeof(err), 1, arg), 0);
    assert_string_equal(cfg.pool, pool);
    strcat(arg, "p");
    assert_int_equal(parse(&cfg, err, sizeof(err), 1, arg), -EINVAL);
    snprintf(want, sizeof(want),
             "%s: a pool name is 1-%d characters of A-Z a-z 0-9 . _ -, not starting with '.' or "
             "'-'",
             arg, VGPU_SPANK_POOL_MAX);
    assert_string_equal(err, want);
}

static void test_config_refusals(void **state)
{
    static const char unknown[] =
        "unknown argument '%s' (expected libvgpu=PATH, socket=PATH, pool=NAME or "
        "shards_per_gpu=N)";
    static const char pool[] = "pool=%s: a pool name is 1-63 characters of A-Z a-z 0-9 . _ -, "
                               "not starting with '.' or '-'";
    static const char spg[] = "shards_per_gpu=%s: expected a whole number from 1 to 1000";
    static const struct {
        const char *arg;
        const char *fmt; /* the message, with %s for the argument or its value */
        const char *sub; /* what %s stands for */
    } cases[] = {
        {"", unknown, ""},
        {"pool", unknown, "pool"},
        {"debug", unknown, "debug"},
        {"=x", unknown, "=x"},
        {"Pool=a", unknown, "Pool=a"},
        {"pool =a", unknown, "pool =a"},
        {" pool=a", unknown, " pool=a"},
        {"pools=a", unknown, "pools=a"},
        {"poo=a", unknown, "poo=a"},
        {"shards=4", unknown, "shards=4"},
        {"libvgpu", unknown, "libvgpu"},
        {"libvgpu=", "libvgpu=%s: expected an absolute path", ""},
        {"libvgpu=libvgpu.so", "libvgpu=%s: expected an absolute path", "libvgpu.so"},
        {"libvgpu=./libvgpu.so", "libvgpu=%s: expected an absolute path", "./libvgpu.so"},
        {"libvgpu= /lib/libvgpu.so", "libvgpu=%s: expected an absolute path", " /lib/libvgpu.so"},
        {"libvgpu=/opt/a:b/libvgpu.so",
         "libvgpu=%s: the path contains ':' or ' ', which separate LD_PRELOAD entries",
         "/opt/a:b/libvgpu.so"},
        {"libvgpu=/opt/a b/libvgpu.so",
         "libvgpu=%s: the path contains ':' or ' ', which separate LD_PRELOAD entries",
         "/opt/a b/libvgpu.so"},
        {"socket=", "socket=%s: expected an absolute path", ""},
        {"socket=vgpud.sock", "socket=%s: expected an absolute path", "vgpud.sock"},
        {"pool=", pool, ""},
        {"pool=.hidden", pool, ".hidden"},
        {"pool=-x", pool, "-x"},
        {"pool=a b", pool, "a b"},
        {"pool=a/b", pool, "a/b"},
        {"pool=a=b", pool, "a=b"},
        {"pool=caf\xc3\xa9", pool, "caf\xc3\xa9"},
        {"shards_per_gpu=", spg, ""},
        {"shards_per_gpu=0", spg, "0"},
        {"shards_per_gpu=1001", spg, "1001"},
        {"shards_per_gpu=04", spg, "04"},
        {"shards_per_gpu=-4", spg, "-4"},
        {"shards_per_gpu=+4", spg, "+4"},
        {"shards_per_gpu= 4", spg, " 4"},
        {"shards_per_gpu=4 ", spg, "4 "},
        {"shards_per_gpu=4x", spg, "4x"},
        {"shards_per_gpu=1e3", spg, "1e3"},
        {"shards_per_gpu=99999999999999999999", spg, "99999999999999999999"},
        {"shards_per_gpu=4294967300", spg, "4294967300"},
    };
    (void)state;
    for (size_t i = 0; i < N_ELEMS(cases); i++) {
        struct vgpu_spank_config cfg;
        char err[512] = "", want[512];
        int rc = parse(&cfg, err, sizeof(err), 1, cases[i].arg);
        snprintf(want, sizeof(want), cases[i].fmt, cases[i].sub);
        if (rc != -EINVAL || strcmp(err, want) != 0)
            fail_msg("plugstack \"%s\": rc %d \"%s\"; want -EINVAL \"%s\"", cases[i].arg, rc, err,
                     want);
    }
}

static void test_config_repeated_and_order(void **state)
{
    static const char *const twice[][2] = {
        {"pool=a", "pool=a"},
        {"pool=a", "pool=b"},
        {"socket=/a", "socket=/b"},
        {"libvgpu=/a.so", "libvgpu=/b.so"},
        {"shards_per_gpu=4", "shards_per_gpu=8"},
    };
    struct vgpu_spank_config cfg;
    char err[256], want[64];

    (void)state;
    for (size_t i = 0; i < N_ELEMS(twice); i++) {
        int rc = parse(&cfg, err, sizeof(err), 3, twice[i][0], "shards_per_gpu_x=1", twice[i][1]);
        /* The arguments are read in order: the unknown one is refused first. */
        assert_int_equal(rc, -EINVAL);
        assert_non_null(strstr(err, "unknown argument 'shards_per_gpu_x=1'"));
        rc = parse(&cfg, err, sizeof(err), 2, twice[i][0], twice[i][1]);
        snprintf(want, sizeof(want), "%.*s= is given twice",
                 (int)(strchr(twice[i][0], '=') - twice[i][0]), twice[i][0]);
        if (rc != -EINVAL || strcmp(err, want) != 0)
            fail_msg("\"%s\" \"%s\": rc %d \"%s\"; want \"%s\"", twice[i][0], twice[i][1], rc, err,
                     want);
    }
    /* A bad argument after good ones is still refused. */
    assert_int_equal(parse(&cfg, err, sizeof(err), 3, "pool=a", "socket=/s", "shards_per_gpu=0"),
                     -EINVAL);
    assert_string_equal(err, "shards_per_gpu=0: expected a whole number from 1 to 1000");
    /* A refusal with no error buffer. */
    assert_int_equal(parse(&cfg, NULL, 0, 1, "bogus"), -EINVAL);
}

/* ---- shards ------------------------------------------------------------- */

static void test_shards_counts(void **state)
{
    static const struct {
        const char *gres;
        long want;
    } cases[] = {
        /* The forms values.h names. */
        {"shard:2", 2},
        {"gpu:1,shard:3", 3},
        {"gres/shard:2", 2},
        {"gres:shard:2", 2},
        {"shard:a100:2", 2},
        {"gres/shard:a100:4", 4},
        {"gres:shard:a100:4", 4},
        /* A bare count, as SLURM_SHARDS_ON_NODE holds it. */
        {"2", 2},
        {"1", 1},
        {"0", 0},
        {"1000", 1000},
        /* No shard: 0. */
        {NULL, 0},
        {"", 0},
        {"gpu:1", 0},
        {"gres/gpu:2", 0},
        {"gpu:a100:2", 0},
        {"mps:100", 0},
        {"gpu:1,mps:50", 0},
        {"shards:2", 0},
        {"sharding:2", 0},
        {"gres/gpu:1,gres/mps:100", 0},
        {"shard:0", 0},
        /* Several gres in one list; the shard entry anywhere in it. */
        {"gres/shard:4", 4},
        {"gres/gpu:1,gres/shard:4", 4},
        {"shard:2,gpu:1", 2},
        {"gpu:1,shard:a100:6,mps:100", 6},
        {"gres/gpu:a100:1,gres/shard:a100:8,gres/mps:50", 8},
        {"shard:1,shard:2", 3},
        {"shard:1000000", 1000000},
    };
    (void)state;
    for (size_t i = 0; i < N_ELEMS(cases); i++) {
        long got = vgpu_spank_shards(cases[i].gres);
        if (got != cases[i].want)
            fail_msg("vgpu_spank_shards(\"%s\") = %ld; want %ld",
                     cases[i].gres ? cases[i].gres : "(null)", got, cases[i].want);
    }
}

/* A shard entry that is not name[:type][:count] is -EINVAL, never a guess.
 * That includes scontrol's "(IDX:...)" annotation: cut at its commas, a
 * piece such as "shard:2(IDX:1" must not read as one shard (it did: the
 * count was taken after the last ':'). */
static void test_shards_malformed(void **state)
{
    static const char *const bad[] = {
        "shard:",
        "gres/shard:",
        "shard:a100:",
        "shard::2",
        "shard:a100:x",
        "shard:a100:-2",
        "shard:a100:02",
        "shard:02",
        "shard:a:b:2",
        "shard:1000001",
        "shard:99999999999",
        "shard:2(IDX:0)",
        "shard:2(IDX:1)",
        "shard:2(IDX:0-1)",
        "shard:2(IDX:0,1)",
        "shard:2(IDX:1,3)",
        "shard:a100:2(IDX:0)",
        "gpu:1(IDX:0),shard:2(IDX:0)",
        "gpu:1,shard:2(IDX:1,3)",
    };
    (void)state;
    for (size_t i = 0; i < N_ELEMS(bad); i++) {
        long got = vgpu_spank_shards(bad[i]);
        if (got != -EINVAL)
            fail_msg("vgpu_spank_shards(\"%s\") = %ld; want -EINVAL", bad[i], got);
    }
}

static void test_share_from_shards(void **state)
{
    static const struct {
        unsigned long shards;
        unsigned per_gpu;
        unsigned want;
    } cases[] = {
        {0, 4, 0},
        {4, 0, 0},
        {0, 0, 0},
        {1, 4, 25},
        {2, 4, 50},
        {3, 4, 75},
        {4, 4, 100},
        {5, 4, 100},
        {8, 4, 100},
        {1, 3, 33},
        {2, 3, 66},
        {1, 1, 100},
        {1, 100, 1},
        {99, 100, 99},
        {1, 1000, 1},
        {9, 1000, 1},
        {10, 1000, 1},
        {19, 1000, 1},
        {20, 1000, 2},
        {999, 1000, 99},
        {1000, 1000, 100},
        {1000000, 1000, 100},
        {ULONG_MAX, 1000, 100},
        {ULONG_MAX, 1, 100},
        {1, UINT_MAX, 1},
        {UINT_MAX - 1UL, UINT_MAX, 99},
    };
    (void)state;
    for (size_t i = 0; i < N_ELEMS(cases); i++) {
        unsigned got = vgpu_spank_share_from_shards(cases[i].shards, cases[i].per_gpu);
        if (got != cases[i].want)
            fail_msg("share_from_shards(%lu, %u) = %u; want %u", cases[i].shards, cases[i].per_gpu,
                     got, cases[i].want);
    }
    /* The documented formula, everywhere in the plugin's range. */
    for (unsigned per = 1; per <= 1000; per++)
        for (unsigned long s = 1; s <= per + 1; s++) {
            unsigned long f = s * 100 / per;
            unsigned want = f < 1 ? 1 : f > 100 ? 100 : (unsigned)f;
            unsigned got = vgpu_spank_share_from_shards(s, per);
            if (got != want)
                fail_msg("share_from_shards(%lu, %u) = %u; want %u", s, per, got, want);
        }
}

/* ---- job cgroup --------------------------------------------------------- */

static void test_job_cgroup(void **state)
{
    char out[128];

    (void)state;
    assert_int_equal(vgpu_spank_job_cgroup("0::/system.slice/slurmstepd.scope/job_42/step_0/slurm",
                                           42, out, sizeof(out)),
                     0);
    assert_string_equal(out, "/system.slice/slurmstepd.scope/job_42");
    assert_int_equal(vgpu_spank_job_cgroup("0::/slurm/job_7\n", 7, out, sizeof(out)), 0);
    assert_string_equal(out, "/slurm/job_7");
    assert_int_equal(vgpu_spank_job_cgroup("0::/job_7", 7, out, sizeof(out)), 0);
    assert_string_equal(out, "/job_7");
    /* job_420 is not job_42; the component must match whole. */
    assert_int_equal(vgpu_spank_job_cgroup("0::/a/job_420/b/job_42/step_0", 42, out, sizeof(out)),
                     0);
    assert_string_equal(out, "/a/job_420/b/job_42");
    assert_int_equal(vgpu_spank_job_cgroup("0::/a/job_420/step_0", 42, out, sizeof(out)), -ENOENT);
    assert_int_equal(vgpu_spank_job_cgroup("0::/a/xjob_42/step_0", 42, out, sizeof(out)), -ENOENT);
    assert_int_equal(vgpu_spank_job_cgroup("0::/a/job_4/step_0", 42, out, sizeof(out)), -ENOENT);
    /* Not a v2 line. */
    assert_int_equal(
        vgpu_spank_job_cgroup("4:memory:/slurm/uid_0/job_42/step_0", 42, out, sizeof(out)),
        -ENOENT);
    assert_int_equal(vgpu_spank_job_cgroup("", 42, out, sizeof(out)), -ENOENT);
    assert_int_equal(vgpu_spank_job_cgroup("0::", 42, out, sizeof(out)), -ENOENT);
    assert_int_equal(vgpu_spank_job_cgroup("0::/", 42, out, sizeof(out)), -ENOENT);
    assert_int_equal(vgpu_spank_job_cgroup("0::/user.slice", 42, out, sizeof(out)), -ENOENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_memory_accepts_sizes),
        cmocka_unit_test(test_memory_refusals),
        cmocka_unit_test(test_memory_length_limit),
        cmocka_unit_test(test_share_bounds),
        cmocka_unit_test(test_share_refusals),
        cmocka_unit_test(test_priority),
        cmocka_unit_test(test_no_error_buffer),
        cmocka_unit_test(test_config_defaults),
        cmocka_unit_test(test_config_all_keys),
        cmocka_unit_test(test_config_path_and_pool_lengths),
        cmocka_unit_test(test_config_refusals),
        cmocka_unit_test(test_config_repeated_and_order),
        cmocka_unit_test(test_shards_counts),
        cmocka_unit_test(test_shards_malformed),
        cmocka_unit_test(test_share_from_shards),
        cmocka_unit_test(test_job_cgroup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
