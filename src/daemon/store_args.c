/* store_args: the JSON arguments of the store's mutators, checked in C
 * before anything touches the database.
 *
 * The CLI and the HTTP API send the same argument objects, so this is the
 * one place their grammar lives. Each key has a parser in a table; a
 * mutator names the keys it accepts, and any other key is refused (a
 * misspelt option never passes silently). Keys are checked in the order the
 * object holds them and the first error stops the check; its message names
 * the key and shows the value as JSON, so a control character or a huge
 * string never reaches a terminal raw.
 *
 * Numbers may be JSON integers or strings of decimal digits (the CLI sends
 * what the user typed); reals, booleans, arrays and objects are refused. */
#include "store_internal.h"

#include "common.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COUNT_MAX 2147483647LL /* rate, burst, max_inflight: what an int32 holds */
#define UID_MAX 4294967294LL   /* (uid_t)-1 means "no uid" to the kernel */

const char *const vgpu__priorities[3] = {"high", "medium", "low"};

struct argdef {
    const char *key;
    bool nullable; /* JSON null clears the value (tenant set) */
    int (*parse)(const char *key, const json_t *v, struct vgpu__args *a, struct vgpu_err *err);
};

/* The string value of v, refusing strings with a NUL inside. */
static const char *string_of(const json_t *v)
{
    if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
        return NULL;
    return json_string_value(v);
}

static int bad(struct vgpu_err *err, const char *key, const json_t *v, const char *why)
{
    char shown[64];
    return vgpu__fail(err, VGPU__INVALID, "%s %s: %s", key, vgpu__show(v, shown, sizeof(shown)),
                      why);
}

/* Decimal digits only, no sign, no blanks, at most INT64_MAX. */
static bool parse_digits(const char *s, size_t n, int64_t *out)
{
    int64_t v = 0;

    if (n == 0 || n > 19)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        if (v > (INT64_MAX - (s[i] - '0')) / 10)
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

/* A whole number in [lo, hi] given as a JSON integer or a digit string. */
static bool whole_value(const json_t *v, int64_t lo, int64_t hi, int64_t *out)
{
    const char *s = string_of(v);
    int64_t n;

    if (json_is_integer(v))
        n = json_integer_value(v);
    else if (!s || !parse_digits(s, strlen(s), &n))
        return false;
    if (n < lo || n > hi)
        return false;
    *out = n;
    return true;
}

static int whole(const char *key, const json_t *v, int64_t lo, int64_t hi, const char *why,
                 int64_t *out, struct vgpu_err *err)
{
    return whole_value(v, lo, hi, out) ? 0 : bad(err, key, v, why);
}

static bool valid_name(const char *s)
{
    size_t n = strlen(s);

    if (n < 1 || n > VGPU__NAME_MAX || s[0] == '.' || s[0] == '-')
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

static int name_into(const char *key, const json_t *v, char *dst, struct vgpu_err *err)
{
    const char *s = string_of(v);

    if (!s || !valid_name(s))
        return bad(err, key, v,
                   "a name is 1-63 characters of A-Z a-z 0-9 . _ - and does not start with . or -");
    vgpu_strlcpy(dst, s, VGPU__NAME_MAX + 1);
    return 0;
}

static int p_name(const char *key, const json_t *v, struct vgpu__args *a, struct vgpu_err *err)
{
    return name_into(key, v, a->t.name, err);
}

static int p_pool(const char *key, const json_t *v, struct vgpu__args *a, struct vgpu_err *err)
{
    return name_into(key, v, a->t.pool, err);
}

static int p_vm_id(const char *key, const json_t *v, struct vgpu__args *a, struct vgpu_err *err)
{
    return whole(key, v, 1, 2147483647, "must be a whole number from 1 to 2147483647", &a->t.vm_id,
                 err);
}

static int p_priority(const char *key, const json_t *v, struct vgpu__args *a, struct vgpu_err *err)
{
    const char *s = string_of(v);

    for (int i = 0; s && i < 3; i++) {
        if (strcmp(s, vgpu__priorities[i]) == 0) {
            vgpu_strlcpy(a->t.priority, s, sizeof(a->t.priority));
            return 0;
        }
    }
    return bad(err, key, v, "must be low, medium or high");
}

static int p_memory(const char *key, const json_t *v, struct vgpu__args *a, struct vgpu_err *err)
{
    const char *s = string_of(v);
    uint64_t bytes;
    int rc;

    if (json_is_integer(v)) {
        if (json_integer_value(v) < 0)
            return bad(err, key, v, "a size cannot be negative");
        a->t.memory = json_integer_value(v);
        return 0;
    }
    if (!s)
        return bad(err, key, v, "must be a size such as \"8GiB\" or a whole number of bytes");
    rc = vgpu_parse_size(s, &bytes);
    if (rc == -ERANGE || (rc == 0 && bytes > (uint64_t)INT64_MAX))
        return bad(err, key, v, "is too large");
    if (rc < 0)
        return bad(err, key, v,
                   "is not a size (write 8GiB, 512MiB, 1.5g, 4GB or a number of bytes)");
    a->t.memory = (int64_t)bytes;
    return 0;
}

static int p_share(const char *key, const json_t *v, struct vgpu__args *a, struct vgpu_err *err)
{
    return whole(key, v, 0, 100,
                 "must be a whole number from 0 to 100 (percent of GPU time; 0 = no cap)",
                 &a->t.share, err);
}

static int p_rate(const char *key, const json_t *v, struct vgpu__args *a, struct vgpu_err *err)
{
    static const char why[] =
        "must be operations per second: \"1000/s\", \"1000\" or a whole number up to 2147483647";
    const char *s = string_of(v);
    uint32_t rate;

    if (!s)
        return whole(key, v, 0, COUNT_MAX, why, &a->t.rate, err);
    if (vgpu_parse_ops(s, true, &rate) != 0)
        return bad(err, key, v, why);
    a->t.rate = rate;
    return 0;
}

static int p_burst(const char *key, const json_t *v, struct vgpu__args *a, struct vgpu_err *err)
{
    return whole(key, v, 0, COUNT_MAX, "must be a whole number from 0 to 2147483647 (operations)",
                 &a->t.burst, err);
}

static int p_max_inflight(const char *key, const json_t *v, struct vgpu__args *a,
                          struct vgpu_err *err)
{
    return whole(key, v, 0, COUNT_MAX,
                 "must be a whole number from 0 to 2147483647 (operations; 0 = no limit)",
                 &a->t.max_inflight, err);
}

/* A duration for the watchdog: "500ms", "2s", "1.5s" or whole milliseconds. */
static int p_exec_limit(const char *key, const json_t *v, struct vgpu__args *a,
                        struct vgpu_err *err)
{
    static const char why[] =
        "must be a time such as \"500ms\", \"2s\" or milliseconds, from 0 (no limit) to 24 h";
    const int64_t max_ms = 86400000;
    const char *s = string_of(v);
    if (!s)
        return whole(key, v, 0, max_ms, why, &a->t.exec_limit_ms, err);
    size_t n = strlen(s);
    int64_t ms = -1, whole_part = 0, frac = 0, scale = 1;
    if (n > 2 && strcmp(s + n - 2, "ms") == 0) {
        if (!parse_digits(s, n - 2, &ms))
            return bad(err, key, v, why);
    } else if (n > 1 && s[n - 1] == 's') {
        const char *dot = memchr(s, '.', n - 1);
        size_t wn = dot ? (size_t)(dot - s) : n - 1;
        size_t fn = dot ? n - 2 - wn : 0;
        if (!parse_digits(s, wn, &whole_part) || (dot && (fn == 0 || fn > 3)) ||
            (dot && !parse_digits(dot + 1, fn, &frac)) || whole_part > max_ms / 1000)
            return bad(err, key, v, why);
        for (size_t i = fn; i < 3; i++)
            scale *= 10;
        ms = whole_part * 1000 + frac * scale;
    } else if (!parse_digits(s, n, &ms)) {
        return bad(err, key, v, why);
    }
    if (ms < 0 || ms > max_ms)
        return bad(err, key, v, why);
    a->t.exec_limit_ms = ms;
    return 0;
}

static int p_exec_policy(const char *key, const json_t *v, struct vgpu__args *a,
                         struct vgpu_err *err)
{
    const char *s = string_of(v);
    if (!s || (strcmp(s, "warn") != 0 && strcmp(s, "quarantine") != 0 && strcmp(s, "kill") != 0))
        return bad(err, key, v, "must be warn, quarantine or kill");
    vgpu_strlcpy(a->t.exec_policy, s, sizeof(a->t.exec_policy));
    return 0;
}

static int p_bind_uid(const char *key, const json_t *v, struct vgpu__args *a, struct vgpu_err *err)
{
    return whole(key, v, 0, UID_MAX, "must be a uid from 0 to 4294967294", &a->t.bind_uid, err);
}

static int p_bind_gid(const char *key, const json_t *v, struct vgpu__args *a, struct vgpu_err *err)
{
    return whole(key, v, 0, UID_MAX, "must be a gid from 0 to 4294967294", &a->t.bind_gid, err);
}

static int p_bind_cgroup(const char *key, const json_t *v, struct vgpu__args *a,
                         struct vgpu_err *err)
{
    const char *s = string_of(v);
    size_t n = s ? strlen(s) : 0;

    if (!s || s[0] != '/')
        return bad(err, key, v, "must be an absolute cgroup path such as \"/vgpu/tenant-a\"");
    if (n >= VGPU__CGROUP_MAX)
        return bad(err, key, v, "is too long (a cgroup path has fewer than 4096 characters)");
    if (n == 1)
        return bad(err, key, v, "would bind every process on the host (name a cgroup below /)");
    if (strstr(s, "..") || strstr(s, "//") || s[n - 1] == '/' || strstr(s, "/./"))
        return bad(err, key, v,
                   "must be a plain path: no \"..\", \".\" or empty parts and no trailing /");
    for (size_t i = 0; i < n; i++) { /* C0, DEL, and C1 (U+0080-U+009F, 0xc2 0x80-0x9f in UTF-8) */
        unsigned char c = (unsigned char)s[i], next = (unsigned char)s[i + 1];
        if (c < 0x20 || c == 0x7f || (c == 0xc2 && next >= 0x80 && next <= 0x9f))
            return bad(err, key, v, "contains a control character");
    }
    vgpu_strlcpy(a->t.bind_cgroup, s, sizeof(a->t.bind_cgroup));
    return 0;
}

/* One `gpu` reference: an index (integer or digits) or a UUID / prefix,
 * kept as text for vgpu__gpu_resolve. A message shows `shown`: the
 * reference itself, or the whole list it came from. */
static int gpu_ref(const char *key, const json_t *v, const json_t *shown, char *dst,
                   struct vgpu_err *err)
{
    static const char why[] = "must be a GPU index, a UUID or a UUID prefix";
    const char *s = string_of(v);

    if (json_is_integer(v)) {
        if (json_integer_value(v) < 0 || json_integer_value(v) >= 1000000)
            return bad(err, key, shown, "is not a GPU index");
        snprintf(dst, VGPU__GPU_REF_MAX, "%lld", (long long)json_integer_value(v));
        return 0;
    }
    if (!s || !*s || strlen(s) >= VGPU__GPU_REF_MAX)
        return bad(err, key, shown, why);
    for (const char *p = s; *p; p++) {
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f || *p == ',')
            return bad(err, key, shown, why);
    }
    vgpu_strlcpy(dst, s, VGPU__GPU_REF_MAX);
    return 0;
}

static int p_gpu(const char *key, const json_t *v, struct vgpu__args *a, struct vgpu_err *err)
{
    return gpu_ref(key, v, v, a->gpu, err);
}

/* `gpus`: an array of references, or one string "0,1,GPU-1234abcd". */
static int p_gpus(const char *key, const json_t *v, struct vgpu__args *a, struct vgpu_err *err)
{
    const char *s = string_of(v);

    a->ngpus = 0;
    if (json_is_array(v)) {
        size_t i;
        json_t *item;
        if (json_array_size(v) > VGPU__GPUS_MAX)
            return bad(err, key, v, "lists more than 64 GPUs");
        json_array_foreach(v, i, item)
        {
            int rc = gpu_ref(key, item, item, a->gpus[a->ngpus], err);
            if (rc < 0)
                return rc;
            a->ngpus++;
        }
        return 0;
    }
    if (!s)
        return bad(err, key, v, "must be a list of GPUs: \"0,1\" or an array");
    while (*s) {
        size_t n = strcspn(s, ",");
        json_t *one;
        int rc;
        if (a->ngpus == VGPU__GPUS_MAX)
            return bad(err, key, v, "lists more than 64 GPUs");
        one = json_stringn(s, n);
        rc = one ? gpu_ref(key, one, v, a->gpus[a->ngpus], err)
                 : bad(err, key, v, "must be a list of GPUs: \"0,1\" or an array");
        json_decref(one);
        if (rc < 0)
            return rc;
        a->ngpus++;
        s += n;
        if (*s == ',' && *++s == '\0')
            return bad(err, key, v, "ends with a comma");
    }
    return 0;
}

/* One weight; `what` is the class name and `all` the whole argument, which
 * the message shows. */
static int weight(const char *key, const json_t *all, const char *what, const json_t *v,
                  int64_t *out, struct vgpu_err *err)
{
    char why[96];

    if (whole_value(v, 1, VGPU__WEIGHT_MAX, out))
        return 0;
    snprintf(why, sizeof(why), "the weight of %s must be a whole number from 1 to %d", what,
             VGPU__WEIGHT_MAX);
    return bad(err, key, all, why);
}

/* `weights`: "high=4,medium=2,low=1" (any order, each class once) or an
 * object {"high": 4, "medium": 2, "low": 1}. */
static int p_weights(const char *key, const json_t *v, struct vgpu__args *a, struct vgpu_err *err)
{
    static const char form[] = "must name each class once: \"high=4,medium=2,low=1\"";
    const char *s = string_of(v);
    bool seen[3] = {false, false, false};

    if (json_is_object(v)) {
        const char *k;
        json_t *item;
        json_object_foreach((json_t *)v, k, item)
        {
            int c = 0;
            while (c < 3 && strcmp(k, vgpu__priorities[c]) != 0)
                c++;
            if (c == 3)
                return bad(err, key, v, form);
            if (weight(key, v, k, item, &a->weights[c], err) < 0)
                return -EINVAL;
            seen[c] = true;
        }
    } else if (s) {
        while (*s) {
            size_t n = strcspn(s, ","), klen = strcspn(s, "=");
            int c = 0;
            json_t *num;
            int rc;
            while (c < 3 && (strlen(vgpu__priorities[c]) != klen ||
                             strncmp(s, vgpu__priorities[c], klen) != 0))
                c++;
            if (klen >= n || c == 3 || seen[c])
                return bad(err, key, v, form);
            num = json_stringn(s + klen + 1, n - klen - 1);
            rc = num ? weight(key, v, vgpu__priorities[c], num, &a->weights[c], err)
                     : bad(err, key, v, form);
            json_decref(num);
            if (rc < 0)
                return rc;
            seen[c] = true;
            s += n;
            if (*s == ',' && *++s == '\0')
                return bad(err, key, v, form);
        }
    } else {
        return bad(err, key, v, form);
    }
    if (!seen[0] || !seen[1] || !seen[2])
        return bad(err, key, v, form);
    return 0;
}

static const struct argdef defs[VGPU__ARG_COUNT] = {
    [VGPU__ARG_NAME] = {"name", false, p_name},
    [VGPU__ARG_POOL] = {"pool", false, p_pool},
    [VGPU__ARG_VM_ID] = {"vm_id", true, p_vm_id},
    [VGPU__ARG_PRIORITY] = {"priority", false, p_priority},
    [VGPU__ARG_MEMORY] = {"memory", false, p_memory},
    [VGPU__ARG_SHARE] = {"share", false, p_share},
    [VGPU__ARG_RATE] = {"rate", false, p_rate},
    [VGPU__ARG_BURST] = {"burst", false, p_burst},
    [VGPU__ARG_MAX_INFLIGHT] = {"max_inflight", false, p_max_inflight},
    [VGPU__ARG_BIND_UID] = {"bind_uid", true, p_bind_uid},
    [VGPU__ARG_BIND_GID] = {"bind_gid", true, p_bind_gid},
    [VGPU__ARG_BIND_CGROUP] = {"bind_cgroup", true, p_bind_cgroup},
    [VGPU__ARG_EXEC_LIMIT] = {"exec_limit", false, p_exec_limit},
    [VGPU__ARG_EXEC_POLICY] = {"exec_policy", false, p_exec_policy},
    [VGPU__ARG_GPU] = {"gpu", false, p_gpu},
    [VGPU__ARG_GPUS] = {"gpus", false, p_gpus},
    [VGPU__ARG_WEIGHTS] = {"weights", false, p_weights},
};

/* A key as it may appear in a message: printable ASCII, at most 40 bytes. */
static const char *show_key(const char *k, char *buf, size_t len)
{
    size_t o = 0;

    for (; *k && o + 5 < len && o < 40; k++) {
        unsigned char c = (unsigned char)*k;
        if (c >= 0x20 && c < 0x7f && c != '\'')
            buf[o++] = (char)c;
        else
            o += (size_t)snprintf(buf + o, len - o, "\\x%02x", c);
    }
    if (*k && o + 4 <= len) {
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    buf[o] = '\0';
    return buf;
}

int vgpu__args_parse(const json_t *args, unsigned allowed, unsigned required,
                     struct vgpu__args *out, struct vgpu_err *err)
{
    const char *key;
    json_t *v;

    memset(out, 0, sizeof(*out));
    out->t.vm_id = -1;
    out->t.bind_uid = -1;
    out->t.bind_gid = -1;
    if (!json_is_object(args))
        return vgpu__fail(err, VGPU__INVALID, "the arguments must be a JSON object");
    json_object_foreach((json_t *)args, key, v)
    {
        int a = 0, rc;
        while (a < VGPU__ARG_COUNT && strcmp(key, defs[a].key) != 0)
            a++;
        if (a == VGPU__ARG_COUNT || !(allowed & (1u << a))) {
            char shown[48];
            return vgpu__fail(err, VGPU__INVALID, "unknown argument '%s'",
                              show_key(key, shown, sizeof(shown)));
        }
        if (json_is_null(v) && !defs[a].nullable)
            return vgpu__fail(err, VGPU__INVALID, "%s must not be null", key);
        rc = json_is_null(v) ? 0 : defs[a].parse(key, v, out, err);
        if (rc < 0)
            return rc;
        out->given |= 1u << a;
    }
    for (int a = 0; a < VGPU__ARG_COUNT; a++) {
        if ((required & (1u << a)) && !(out->given & (1u << a)))
            return vgpu__fail(err, VGPU__INVALID, "missing argument '%s'", defs[a].key);
    }
    return 0;
}
