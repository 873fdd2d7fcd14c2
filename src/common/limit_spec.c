/* limit_spec: limit strings: "8GiB", "0:8GiB,1:4GiB", "8GiB,1:4GiB" (grammar in limit_spec.h).
 *
 * The string is walked once, item by item
 * between commas; an item with a ':' is INDEX:SIZE, one without is the
 * default for every device not listed. Each size is copied into a small
 * buffer only to terminate it for vgpu_parse_size, so the size rules (units,
 * fractions, rounding, overflow) live in one place, common. The result is
 * built in a local copy and handed out only when the whole string is valid,
 * so a caller never sees half a parse. Indices must be canonical (no sign, no
 * blank, no leading zero), so that one device cannot be named twice under
 * two spellings, and an empty item is an error rather than skipped: a
 * garbled limit is refused, never half applied. */
#include "limit_spec.h"

#include "common.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIZE_HINT "a size such as 8GiB, 512MiB, 1.5g or 4GB"
#define MAX_SIZE_TOKEN 64 /* bytes of one size, with its terminator */

/* Parses INDEX, the n bytes at s (the text before an item's ':'). */
static int parse_index(const char *s, size_t n, unsigned *out, char *err, size_t errlen)
{
    unsigned v = 0;

    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9' || (i == 0 && s[i] == '0' && n > 1))
            return vgpu_errf(err, errlen, -EINVAL, "'%.*s' is not a device index (0-%d)", (int)n, s,
                             VGPU_MAX_DEVICES - 1);
        if (v < VGPU_MAX_DEVICES)
            v = v * 10 + (unsigned)(s[i] - '0');
    }
    if (v >= VGPU_MAX_DEVICES)
        return vgpu_errf(err, errlen, -ERANGE, "device index %.*s is out of range (0-%d)", (int)n,
                         s, VGPU_MAX_DEVICES - 1);
    *out = v;
    return 0;
}

/* Parses one size, the n bytes at s, into *out; `what` prefixes messages. */
static int parse_size(const char *s, size_t n, const char *what, uint64_t *out, char *err,
                      size_t errlen)
{
    char tok[MAX_SIZE_TOKEN];
    int rc;

    if (n == 0)
        return vgpu_errf(err, errlen, -EINVAL, "%sno size after ':'", what);
    if (n >= sizeof(tok))
        return vgpu_errf(err, errlen, -EINVAL, "%ssize '%.16s...' is too long", what, s);
    memcpy(tok, s, n);
    tok[n] = '\0';
    rc = vgpu_parse_size(tok, out);
    if (rc == -ERANGE)
        return vgpu_errf(err, errlen, rc, "%s'%s' is too large (more than 64 bits of bytes)", what,
                         tok);
    if (rc != 0)
        return vgpu_errf(err, errlen, -EINVAL, "%s'%s' is not %s", what, tok, SIZE_HINT);
    if (*out == 0)
        return vgpu_errf(err, errlen, -EINVAL, "%sa limit of 0 bytes is not allowed", what);
    return 0;
}

/* Parses one item, the n bytes at s, into lim. */
static int parse_item(const char *s, size_t n, struct vgpu_limits *lim, char *err, size_t errlen)
{
    const char *colon = memchr(s, ':', n);
    char what[32];
    unsigned idx = 0;
    int rc;

    if (!colon) {
        if (lim->all != 0)
            return vgpu_errf(
                err, errlen, -EINVAL,
                "more than one limit for every device ('%.*s'); per-device limits look "
                "like 0:8GiB,1:4GiB",
                (int)n, s);
        return parse_size(s, n, "", &lim->all, err, errlen);
    }
    if (colon == s)
        return vgpu_errf(err, errlen, -EINVAL, "item '%.*s' has no device index", (int)n, s);
    rc = parse_index(s, (size_t)(colon - s), &idx, err, errlen);
    if (rc != 0)
        return rc;
    if (lim->given & (1ULL << idx))
        return vgpu_errf(err, errlen, -EINVAL, "device %u is given twice", idx);
    snprintf(what, sizeof(what), "device %u: ", idx);
    colon++;
    rc = parse_size(colon, n - (size_t)(colon - s), what, &lim->dev[idx], err, errlen);
    if (rc == 0)
        lim->given |= 1ULL << idx;
    return rc;
}

int vgpu_limits_parse(const char *s, struct vgpu_limits *out, char *err, size_t errlen)
{
    struct vgpu_limits lim;
    const char *p = s;

    memset(&lim, 0, sizeof(lim));
    if (errlen > 0)
        err[0] = '\0';
    if (!s || !*s)
        return vgpu_errf(err, errlen, -EINVAL,
                         "empty; expected %s, or per-device limits such as 0:8GiB,1:4GiB",
                         SIZE_HINT);
    for (;;) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        int rc;

        if (n == 0)
            return vgpu_errf(err, errlen, -EINVAL, "'%s' has an empty item", s);
        rc = parse_item(p, n, &lim, err, errlen);
        if (rc != 0)
            return rc;
        if (!end)
            break;
        p = end + 1;
    }
    if (out)
        *out = lim;
    return 0;
}

int vgpu_limits_from_env(const char *var, const char *hami_var, struct vgpu_limits *out, char *err,
                         size_t errlen)
{
    char inner[256];
    const char *v = getenv(var);
    memset(out, 0, sizeof(*out));
    if (v) {
        if (vgpu_limits_parse(v, out, inner, sizeof(inner)) != 0) {
            snprintf(err, errlen, "%s=%s: %s", var, v, inner);
            return -EINVAL;
        }
        return 0;
    }
    if (!hami_var)
        return 0;
    v = getenv(hami_var);
    if (v && (vgpu_parse_size(v, &out->all) != 0 || out->all == 0)) {
        snprintf(err, errlen, "%s=%s is not a size (e.g. 8g, 512m)", hami_var, v);
        return -EINVAL;
    }
    for (int i = 0; i < VGPU_MAX_DEVICES; i++) {
        char name[128];
        snprintf(name, sizeof(name), "%s_%d", hami_var, i);
        v = getenv(name);
        if (!v)
            continue;
        if (vgpu_parse_size(v, &out->dev[i]) != 0 || out->dev[i] == 0) {
            snprintf(err, errlen, "%s=%s is not a size (e.g. 8g, 512m)", name, v);
            return -EINVAL;
        }
        out->given |= 1ULL << i;
    }
    return 0;
}

uint64_t vgpu_limit_for(const struct vgpu_limits *l, int dev)
{
    if (dev >= 0 && dev < VGPU_MAX_DEVICES && (l->given & (1ULL << dev)))
        return l->dev[dev];
    return l->all;
}
