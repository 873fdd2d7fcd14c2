/* fuzz-size: libFuzzer harness for vgpu_parse_size (src/common/size.c).
 *
 * The input, NUL-terminated, is parsed as a size string. Besides surviving
 * any input, the parser must agree with a slow reference written from its
 * documented grammar (common.h):
 *   SIZE = DIGITS [ "." DIGITS ] [ UNIT ]
 *   UNIT = B | k KiB m MiB g GiB t TiB (binary) | KB MB GB TB (decimal), any case
 * with the value rounded down to whole bytes (fraction digits past the 18th
 * are ignored, as documented), -ERANGE when it does not fit 64 bits and
 * -EINVAL for anything else. The reference uses 128-bit arithmetic, the
 * parser does not: they are computed differently on purpose. Every value
 * parsed is also formatted back, which must not fail. */
#include "fuzz.h"

#include "common.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>
#include <strings.h>

static const struct {
    const char *name;
    uint64_t mult;
} ref_units[] = {
    {"", 1},
    {"b", 1},
    {"k", 1ULL << 10},
    {"kib", 1ULL << 10},
    {"m", 1ULL << 20},
    {"mib", 1ULL << 20},
    {"g", 1ULL << 30},
    {"gib", 1ULL << 30},
    {"t", 1ULL << 40},
    {"tib", 1ULL << 40},
    {"kb", 1000ULL},
    {"mb", 1000000ULL},
    {"gb", 1000000000ULL},
    {"tb", 1000000000000ULL},
};

/* The reference: 0 and *out, -EINVAL or -ERANGE. */
static int ref_parse(const char *s, uint64_t *out)
{
    const unsigned __int128 cap = (unsigned __int128)UINT64_MAX + 1;
    unsigned __int128 whole = 0, frac = 0, scale = 1;
    uint64_t mult = 0;
    const char *p = s;

    if (!isdigit((unsigned char)*p))
        return -EINVAL;
    for (; isdigit((unsigned char)*p); p++) {
        whole = whole * 10 + (unsigned)(*p - '0');
        if (whole > cap)
            whole = cap; /* saturate: already too large */
    }
    if (*p == '.') {
        int n = 0;
        p++;
        if (!isdigit((unsigned char)*p))
            return -EINVAL;
        for (; isdigit((unsigned char)*p); p++, n++) {
            if (n < 18) {
                frac = frac * 10 + (unsigned)(*p - '0');
                scale *= 10;
            }
        }
    }
    for (size_t i = 0; i < sizeof(ref_units) / sizeof(ref_units[0]); i++)
        if (strcasecmp(p, ref_units[i].name) == 0)
            mult = ref_units[i].mult;
    if (!mult)
        return -EINVAL;
    unsigned __int128 total = whole * mult + frac * mult / scale;
    if (total > UINT64_MAX)
        return -ERANGE;
    *out = (uint64_t)total;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_strndup(data, size);
    uint64_t got = 0, want = 0;
    int rc = vgpu_parse_size(s, &got);
    int want_rc = ref_parse(s, &want);

    if (rc != want_rc || (rc == 0 && got != want)) {
        fprintf(stderr, "vgpu_parse_size(\"%s\") = %d, %llu; reference %d, %llu\n", s, rc,
                (unsigned long long)got, want_rc, (unsigned long long)want);
        FUZZ_CHECK(rc == want_rc);
        FUZZ_CHECK(got == want);
    }
    /* Operation counts: digits (and "/s" for a rate) up to INT32_MAX, by a
     * reference that reads them with strtoull. */
    for (int per_second = 0; per_second < 2; per_second++) {
        uint32_t ops = 0;
        int ops_rc = vgpu_parse_ops(s, per_second, &ops);
        size_t n = strlen(s);
        if (per_second && n > 2 && strcmp(s + n - 2, "/s") == 0)
            n -= 2;
        bool digits = n > 0 && strspn(s, "0123456789") == n;
        unsigned long long ref = digits ? strtoull(s, NULL, 10) : 0;
        bool ok = digits && ref <= 2147483647ULL; /* an overflow reads as ULLONG_MAX */
        FUZZ_CHECK((ops_rc == 0) == ok);
        FUZZ_CHECK(ops_rc != 0 || ops == ref);
    }
    if (rc == 0) {
        char buf[32];
        memset(buf, 0, sizeof(buf));
        FUZZ_CHECK(vgpu_format_size(got, buf, sizeof(buf)) == buf);
        FUZZ_CHECK(buf[0] != '\0' && memchr(buf, '\0', sizeof(buf)) != NULL);
    }
    free(s);
    return 0;
}
