/* Fuzz harness for vgpu_limits_parse (src/common/limit_spec.c): any input is
 * either refused with a message and the output untouched, or yields limits
 * that are all above zero and a default or a listed device for each. */
#include "fuzz.h"

#include "limit_spec.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1), err[256];
    struct vgpu_limits out, before;
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    memset(&out, 0xa5, sizeof(out));
    before = out;
    int rc = vgpu_limits_parse(s, &out, err, sizeof(err));
    if (rc != 0) {
        FUZZ_CHECK(memcmp(&out, &before, sizeof(out)) == 0); /* nothing half-written */
        FUZZ_CHECK(err[0] != '\0');
    } else {
        FUZZ_CHECK(out.all != 0 || out.given != 0);
        for (int i = 0; i < VGPU_MAX_DEVICES; i++)
            FUZZ_CHECK(!(out.given & (1ULL << i)) || out.dev[i] != 0);
    }
    free(s);
    return 0;
}
