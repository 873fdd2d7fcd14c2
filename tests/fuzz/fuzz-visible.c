/* fuzz-visible: libFuzzer harness for vgpu_visible_devices
 * (src/device/visible.c), the CUDA_VISIBLE_DEVICES rules.
 *
 * Input: byte 0 picks how many UUIDs of the table below are the devices
 * (0-7), byte 1 the room in the output (0-7), the rest, NUL-terminated, is
 * the value; as ASCII digits, "77" is all seven devices and room for seven.
 * The table has UUIDs that share prefixes, one in capitals, a MIG UUID whose
 * hex part repeats a GPU's, and a short UUID that is a prefix of the next,
 * so prefixes can be unique, ambiguous or exact. Besides surviving any
 * input, the parser must agree with a slow reference written from the
 * header's description (device.h): each entry is cut out into its own heap
 * string, trimmed, lowered to one case and classified with the string
 * library, not the parser's pointer walk. The result must also be sane on
 * its own: between 0 and the room given, every index in range, none twice. */
#include "fuzz.h"

#include "device.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>

#define NTABLE 7

static const char *const table[NTABLE] = {
    "GPU-1a2b3c4d-0000-1111-2222-333344445555",
    "GPU-1a2b9999-aaaa-bbbb-cccc-ddddeeeeffff",
    "GPU-7F000000-1234-5678-9ABC-DEF012345678",
    "MIG-1a2b3c4d-0000-1111-2222-333344445555",
    "MIG-c0ffee00-0bad-f00d-0000-000000000001",
    "GPU-abcde",
    "GPU-abcdef",
};

static char *lowered(const char *s, size_t len)
{
    char *l = fuzz_strndup((const uint8_t *)s, len);
    for (size_t i = 0; i < len; i++)
        l[i] = (char)tolower((unsigned char)l[i]);
    return l;
}

/* One trimmed entry: its index in the table, or -1. */
static int ref_match(const char *e, int n)
{
    size_t len = strlen(e);
    int found = -1, matches = 0;

    if (len == 0)
        return -1;
    if (strspn(e, "0123456789") == len) {
        while (len > 1 && *e == '0') {
            e++;
            len--;
        }
        if (len > 10)
            return -1;
        unsigned long long v = strtoull(e, NULL, 10);
        return v < (unsigned long long)n ? (int)v : -1;
    }
    char *le = lowered(e, len);
    if (len < 5 || (strncmp(le, "gpu-", 4) != 0 && strncmp(le, "mig-", 4) != 0)) {
        free(le);
        return -1;
    }
    for (int i = 0; i < n && found < 0; i++) {
        char *lu = lowered(table[i], strlen(table[i]));
        if (strcmp(lu, le) == 0)
            found = i;
        free(lu);
    }
    for (int i = 0; i < n && found < 0; i++) {
        char *lu = lowered(table[i], strlen(table[i]));
        if (strncmp(lu, le, len) == 0)
            matches++;
        free(lu);
    }
    for (int i = 0; i < n && found < 0 && matches == 1; i++) {
        char *lu = lowered(table[i], strlen(table[i]));
        if (strncmp(lu, le, len) == 0)
            found = i;
        free(lu);
    }
    free(le);
    return found;
}

static int ref_visible(const char *value, int n, int *out, int max)
{
    size_t total = strlen(value), start = 0;
    int count = 0;

    while (count < max) {
        size_t stop = start, b, e;
        while (stop < total && value[stop] != ',')
            stop++;
        for (b = start; b < stop && value[b] == ' '; b++)
            ;
        for (e = stop; e > b && value[e - 1] == ' '; e--)
            ;
        char *entry = fuzz_strndup((const uint8_t *)value + b, e - b);
        int idx = ref_match(entry, n);
        free(entry);
        if (idx < 0)
            break;
        bool dup = false;
        for (int k = 0; k < count; k++)
            if (out[k] == idx)
                dup = true;
        if (dup)
            break;
        out[count++] = idx;
        if (stop == total)
            break;
        start = stop + 1;
    }
    return count;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int got[NTABLE + 1], want[NTABLE + 1];

    if (size < 2)
        return 0;
    int n = data[0] % (NTABLE + 1);
    int max = data[1] % (NTABLE + 1);
    char *value = fuzz_strndup(data + 2, size - 2);

    memset(got, 0xff, sizeof(got));
    memset(want, 0xff, sizeof(want));
    int rc = vgpu_visible_devices(value, table, n, got, max);
    int want_rc = ref_visible(value, n, want, max);

    FUZZ_CHECK(rc >= 0 && rc <= max);
    if (rc != want_rc || memcmp(got, want, sizeof(got)) != 0) {
        fprintf(stderr, "vgpu_visible_devices(\"%s\", n %d, max %d) = %d; reference %d\n", value, n,
                max, rc, want_rc);
        FUZZ_CHECK(rc == want_rc);
        FUZZ_CHECK(memcmp(got, want, sizeof(got)) == 0);
    }
    for (int i = 0; i < rc; i++) {
        FUZZ_CHECK(got[i] >= 0 && got[i] < n);
        for (int k = 0; k < i; k++)
            FUZZ_CHECK(got[k] != got[i]);
    }
    FUZZ_CHECK(got[rc] == -1); /* nothing written past the count */
    FUZZ_CHECK(vgpu_visible_devices(NULL, table, n, got, max) == -EINVAL);
    free(value);
    return 0;
}
