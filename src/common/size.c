/* size: byte counts as people write them ("8GiB", "512MiB", "1.5g", "4GB").
 *
 * Parsing is exact integer arithmetic (no floating point): the integer part and
 * up to 18 fraction digits are scaled separately, then added, each step checked
 * for 64-bit overflow. A value that is not exactly representable in bytes is
 * rounded down. */
#include "common.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <strings.h>

struct unit {
    const char *name;
    uint64_t mult;
};

static const struct unit units[] = {
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
    {"mb", 1000ULL * 1000},
    {"gb", 1000ULL * 1000 * 1000},
    {"tb", 1000ULL * 1000 * 1000 * 1000},
};

int vgpu_parse_size(const char *s, uint64_t *out)
{
    uint64_t whole = 0, frac = 0, frac_scale = 1, mult = 0;
    const char *p = s;
    int digits = 0;
    bool too_big = false; /* decided after the whole string is known to be well formed */

    if (!s || !out)
        return -EINVAL;
    for (; *p >= '0' && *p <= '9'; p++, digits++) {
        uint64_t d = (uint64_t)(*p - '0');
        if (whole > (UINT64_MAX - d) / 10)
            too_big = true;
        else
            whole = whole * 10 + d;
    }
    if (digits == 0)
        return -EINVAL; /* a number starts with a digit: ".5" is not one */
    if (*p == '.') {
        int fdigits = 0;
        for (p++; *p >= '0' && *p <= '9'; p++, fdigits++) {
            if (fdigits < 18) {
                frac = frac * 10 + (uint64_t)(*p - '0');
                frac_scale *= 10;
            }
        }
        if (fdigits == 0)
            return -EINVAL;
    }
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcasecmp(p, units[i].name) == 0) {
            mult = units[i].mult;
            break;
        }
    }
    if (mult == 0)
        return -EINVAL;
    if (too_big || whole > UINT64_MAX / mult)
        return -ERANGE;
    uint64_t total = whole * mult;
    /* frac/frac_scale * mult without overflow: frac < frac_scale <= 1e18 and
     * mult <= 2^40, so split mult into quotient and remainder by frac_scale. */
    uint64_t fbytes = (mult / frac_scale) * frac;
    unsigned __int128 rem = (unsigned __int128)(mult % frac_scale) * frac / frac_scale;
    fbytes += (uint64_t)rem;
    if (total > UINT64_MAX - fbytes)
        return -ERANGE;
    *out = total + fbytes;
    return 0;
}

const char *vgpu_format_size(uint64_t bytes, char *buf, size_t len)
{
    static const char *const names[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    int u = 0;
    uint64_t div = 1;

    while (u < 6 && bytes >= div * 1024) {
        div *= 1024;
        u++;
    }
    if (u == 0)
        snprintf(buf, len, "%llu B", (unsigned long long)bytes);
    else if (bytes % div == 0)
        snprintf(buf, len, "%llu %s", (unsigned long long)(bytes / div), names[u]);
    else
        snprintf(buf, len, "%.2f %s", (double)bytes / (double)div, names[u]);
    return buf;
}
