/* simgpu ptx: kernel parameter layouts from PTX text (see ptx.h). */
#include "ptx.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* The largest kernel parameter block the driver accepts (CUDA 12.1+). */
#define PARAM_SPACE 32764u

static bool ident_char(char c)
{
    return isalnum((unsigned char)c) || c == '_' || c == '$';
}

static uint32_t type_size(const char *t)
{
    /* .u8 .s8 .b8 .u16 .f16 .u32 .f32 .b32 .u64 .f64 .b64 ... */
    const char *d = t + 2;
    if (t[0] != '.' || t[1] == '\0' || !strchr("usbf", t[1]))
        return 0;
    long bits = strtol(d, NULL, 10);
    return bits == 8 || bits == 16 || bits == 32 || bits == 64 ? (uint32_t)(bits / 8) : 0;
}

int simgpu_ptx_params(const char *ptx, const char *name, struct simgpu_ptx_param *out, int max)
{
    size_t nlen = strlen(name);
    const char *p = ptx;
    while ((p = strstr(p, ".entry")) != NULL) {
        p += 6;
        while (isspace((unsigned char)*p))
            p++;
        if (strncmp(p, name, nlen) != 0 || ident_char(p[nlen]))
            continue;
        p += nlen;
        while (isspace((unsigned char)*p))
            p++;
        if (*p != '(')
            return 0;
        int n = 0;
        uint32_t offset = 0;
        const char *end = strchr(p, ')');
        if (!end)
            return -1;
        while (p < end && n < max) {
            const char *param = strstr(p, ".param");
            if (!param || param > end)
                break;
            const char *next = strchr(param + 6, ',');
            if (!next || next > end)
                next = end;
            uint32_t size = 0, align = 0, count = 1;
            for (const char *q = param + 6; q < next; q++) {
                if (*q == '.' && !size && type_size(q))
                    size = type_size(q);
                else if (strncmp(q, ".align", 6) == 0)
                    align = (uint32_t)strtoul(q + 6, NULL, 10);
                else if (*q == '[')
                    count = (uint32_t)strtoul(q + 1, NULL, 10);
            }
            if (!size || count == 0 || count > PARAM_SPACE || (align & (align - 1)) ||
                align > PARAM_SPACE)
                return -1;
            if (!align)
                align = size;
            offset = (offset + align - 1) / align * align;
            if (offset > PARAM_SPACE || size * count > PARAM_SPACE - offset)
                return -1; /* beyond the parameter space the driver allows */
            out[n].offset = offset;
            out[n].size = size * count;
            offset += out[n].size;
            n++;
            p = next + 1;
        }
        return n;
    }
    return -1;
}
