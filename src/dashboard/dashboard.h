/* dashboard: the web dashboard's files (HTML, JavaScript, CSS), compiled into
 * the program that serves them, so that vgpud needs no files on disk and the
 * page fetches nothing from anywhere but the daemon that served it.
 *
 * The files live in src/dashboard/ and are turned into a C table at build
 * time (embed.cmake); this module only looks them up. It owns no state and
 * calls nothing: vgpud's HTTP server maps GET / and GET /static/<file> to
 * vgpu_dashboard_asset() and sends the bytes with the content type given. */
#ifndef VGPU_DASHBOARD_H
#define VGPU_DASHBOARD_H

#include <stddef.h>

struct vgpu_asset {
    const char *path;         /* the URL path: "/", "/static/app.js", ... */
    const char *content_type; /* for the Content-Type header, with charset where text */
    const unsigned char *data;
    size_t len; /* bytes of data (a NUL follows them, not counted) */
};

/* The asset served at `path` ("/" or "/index.html" is the page, "/static/app.js"
 * ...; a query string "?..." is ignored), NULL when there is none. */
const struct vgpu_asset *vgpu_dashboard_asset(const char *path);

/* Every asset, for listings and tests: the i-th, NULL past the last. */
const struct vgpu_asset *vgpu_dashboard_asset_at(size_t i);

#endif
