/* dashboard: looks up the dashboard's files by URL path in the table that
 * embed.cmake generated from src/dashboard/ at build time. The table is
 * small (a handful of files), so a linear scan is all it needs. */
#include "dashboard.h"

#include <string.h>

/* Generated (dashboard_assets.c): the files, "/" first. */
extern const struct vgpu_asset vgpu__dashboard_assets[];
extern const size_t vgpu__dashboard_nassets;

const struct vgpu_asset *vgpu_dashboard_asset_at(size_t i)
{
    return i < vgpu__dashboard_nassets ? &vgpu__dashboard_assets[i] : NULL;
}

const struct vgpu_asset *vgpu_dashboard_asset(const char *path)
{
    if (!path)
        return NULL;
    size_t n = strcspn(path, "?#");
    if (n == strlen("/index.html") && strncmp(path, "/index.html", n) == 0)
        path = "/", n = 1;
    for (size_t i = 0; i < vgpu__dashboard_nassets; i++) {
        const struct vgpu_asset *a = &vgpu__dashboard_assets[i];
        if (strlen(a->path) == n && strncmp(a->path, path, n) == 0)
            return a;
    }
    return NULL;
}
