/* visible: which devices a CUDA_VISIBLE_DEVICES value selects.
 *
 * vgpud and vgpu-run need to know, before a tenant process starts, which
 * GPUs the CUDA driver will give it, and the device scan of one process
 * cannot tell them (CUDA reads the variable once, at cuInit). So the
 * driver's rules are written down here as a pure function over a list of
 * UUIDs: split at ',', trim spaces, read each entry as an index (decimal
 * digits only) or as a "GPU-"/"MIG-" UUID or unique prefix, and stop at the
 * first entry that matches nothing or repeats one already taken, as the
 * driver does (simgpu's cuInit follows the same rules, and
 * tests/simgpu/test-sim-enum.c checks them there).
 *
 * The value is never copied: entries are [begin, end) ranges of the caller's
 * string, so no entry is too long and nothing is allocated. It is a parser
 * of text from the environment: tests/fuzz/fuzz-visible.c checks it against
 * a reference written from the header's description. */
#include "device.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <strings.h>

#define UUID_TAG_LEN 4    /* "GPU-" or "MIG-" */
#define UUID_MIN_PREFIX 5 /* "GPU-" and at least one character of the UUID */

/* An index entry: decimal digits only ("-1", "+1" and "1x" are not
 * indices). -1 when it is out of range, however many digits it has. */
static int match_index(const char *s, size_t len, int n)
{
    long long v = 0;
    for (size_t i = 0; i < len; i++) {
        if (!isdigit((unsigned char)s[i]))
            return -1;
        if (v < INT_MAX)
            v = v * 10 + (s[i] - '0');
    }
    return v < n ? (int)v : -1;
}

/* A UUID entry: the first UUID equal to it (any case), else the only one it
 * is a prefix of; -1 for none, an ambiguous prefix or a prefix too short. */
static int match_uuid(const char *s, size_t len, const char *const *uuids, int n)
{
    int found = -1, matches = 0;
    if (len < UUID_MIN_PREFIX)
        return -1;
    for (int i = 0; i < n; i++) {
        if (!uuids[i] || strncasecmp(uuids[i], s, len) != 0)
            continue;
        if (uuids[i][len] == '\0')
            return i;
        found = i;
        matches++;
    }
    return matches == 1 ? found : -1;
}

static int match_entry(const char *s, size_t len, const char *const *uuids, int n)
{
    if (len == 0)
        return -1;
    if (isdigit((unsigned char)s[0]))
        return match_index(s, len, n);
    if (len >= UUID_TAG_LEN &&
        (strncasecmp(s, "GPU-", UUID_TAG_LEN) == 0 || strncasecmp(s, "MIG-", UUID_TAG_LEN) == 0))
        return match_uuid(s, len, uuids, n);
    return -1;
}

int vgpu_visible_devices(const char *value, const char *const *uuids, int n, int *out, int max)
{
    const char *p = value;
    int count = 0;

    if (!value || n < 0 || max < 0 || (n > 0 && !uuids) || (max > 0 && !out))
        return -EINVAL;
    while (count < max) {
        const char *end = strchr(p, ',');
        const char *b = p, *e;
        bool taken = false;
        if (!end)
            end = p + strlen(p);
        e = end;
        while (b < e && *b == ' ')
            b++;
        while (e > b && e[-1] == ' ')
            e--;
        int idx = match_entry(b, (size_t)(e - b), uuids, n);
        for (int k = 0; k < count; k++)
            taken |= out[k] == idx;
        if (idx < 0 || taken)
            break;
        out[count++] = idx;
        if (*end == '\0')
            break;
        p = end + 1;
    }
    return count;
}
