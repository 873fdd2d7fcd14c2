/* fuzz-ptx: libFuzzer harness for simgpu_ptx_params (src/simgpu/ptx.c),
 * which reads parameter layouts from PTX that applications hand to
 * cuModuleLoadData: untrusted text.
 *
 * Input format: the first line is the entry name, the rest is the PTX (no
 * newline: the whole input is the name and the PTX is empty). Both are
 * copied to buffers of exactly their size, so a sanitized build catches any
 * read past a terminator, and the output array holds exactly MAXP entries,
 * so it catches any write past `max`. The layout returned must be one the
 * driver could have produced:
 *  - -1, or 0..MAXP parameters;
 *  - the first at offset 0, each after the end of the previous one (offsets
 *    never decrease and never overlap), each at least 1 byte;
 *  - aligned: padding before a parameter only ever rounds up to a boundary
 *    the parameter's offset sits on, so it is smaller than the largest power
 *    of two dividing that offset (the declared alignment is not visible in
 *    the output; this is what it implies);
 *  - every byte inside the 32764-byte parameter space. */
#include "fuzz.h"

#include "ptx.h"

#include <string.h>

#define MAXP 64
#define PARAM_SPACE 32764u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size);
    size_t name_len = nl ? (size_t)(nl - data) : size;
    char *name = fuzz_strndup(data, name_len);
    char *ptx = nl ? fuzz_strndup(nl + 1, size - name_len - 1) : fuzz_strndup(data, 0);
    struct simgpu_ptx_param *out = malloc(MAXP * sizeof(*out));

    if (!out)
        abort();
    int n = simgpu_ptx_params(ptx, name, out, MAXP);
    FUZZ_CHECK(n >= -1 && n <= MAXP);
    uint32_t end = 0;
    for (int i = 0; i < n; i++) {
        uint32_t off = out[i].offset, sz = out[i].size;
        FUZZ_CHECK(sz >= 1);
        FUZZ_CHECK(off >= end);
        FUZZ_CHECK(off <= PARAM_SPACE && sz <= PARAM_SPACE - off);
        if (off > end)
            FUZZ_CHECK(off - end < (off & -off));
        end = off + sz;
    }
    if (n > 0)
        FUZZ_CHECK(out[0].offset == 0);
    free(out);
    free(ptx);
    free(name);
    return 0;
}
