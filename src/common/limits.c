/* limits: parsing per-device limit strings (see limits.h). */
#include "limits.h"

#include "common.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int vgpu_parse_limits(const char *s, struct vgpu_limits *out, char *err, size_t errlen)
{
    char buf[1024];
    char *save = NULL;
    bool seen_all = false, seen[VGPU_MAX_DEVICES] = {false};
    int n = 0;

    if (!s || vgpu_strlcpy(buf, s, sizeof(buf)) >= sizeof(buf)) {
        snprintf(err, errlen, "the limit is missing or too long");
        return -EINVAL;
    }
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save), n++) {
        char *colon = strchr(tok, ':'), *size = tok;
        long dev = -1;
        uint64_t bytes;
        if (colon) {
            char *end;
            *colon = '\0';
            size = colon + 1;
            dev = strtol(tok, &end, 10);
            if (end == tok || *end || dev < 0 || dev >= VGPU_MAX_DEVICES) {
                snprintf(err, errlen, "'%s' is not a device index (0-%d)", tok,
                         VGPU_MAX_DEVICES - 1);
                return -EINVAL;
            }
            if (seen[dev]) {
                snprintf(err, errlen, "device %ld is given twice", dev);
                return -EINVAL;
            }
        } else if (seen_all) {
            snprintf(err, errlen, "more than one limit for every device");
            return -EINVAL;
        }
        int rc = vgpu_parse_size(size, &bytes);
        if (rc != 0 || bytes == 0) {
            snprintf(err, errlen, "'%s' is not a size (e.g. 8GiB, 512MiB)%s", size,
                     rc == 0 ? ": a limit must be above zero" : "");
            return -EINVAL;
        }
        if (dev < 0) {
            seen_all = true;
            out->all = bytes;
        } else {
            seen[dev] = true;
            out->dev[dev] = bytes;
        }
    }
    if (n == 0) {
        snprintf(err, errlen, "the limit is empty");
        return -EINVAL;
    }
    return 0;
}

int vgpu_limits_from_env(const char *var, const char *hami_var, struct vgpu_limits *out, char *err,
                         size_t errlen)
{
    char inner[256];
    const char *v = getenv(var);
    memset(out, 0, sizeof(*out));
    if (v) {
        if (vgpu_parse_limits(v, out, inner, sizeof(inner)) != 0) {
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
        if (v && (vgpu_parse_size(v, &out->dev[i]) != 0 || out->dev[i] == 0)) {
            snprintf(err, errlen, "%s=%s is not a size (e.g. 8g, 512m)", name, v);
            return -EINVAL;
        }
    }
    return 0;
}

uint64_t vgpu_limit_for(const struct vgpu_limits *l, int dev)
{
    if (dev >= 0 && dev < VGPU_MAX_DEVICES && l->dev[dev])
        return l->dev[dev];
    return l->all;
}
