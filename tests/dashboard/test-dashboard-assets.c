/* unit.dashboard-assets: the dashboard's files as vgpud serves them.
 *
 * Every file resolves by its URL path with the content type a browser needs
 * (a module script or style sheet of the wrong type is refused under
 * nosniff), "/" and "/index.html" are the page, a query string is ignored,
 * anything else is NULL; the page loads its script, style sheet and icon
 * from /static/ only, and no file names another origin: the dashboard
 * fetches nothing from elsewhere at run time. The one "http://" allowed is
 * the SVG namespace name in favicon.svg, which is a name, never fetched. */
#include "dashboard.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

static const struct {
    const char *path, *type;
} expected[] = {
    {"/", "text/html; charset=utf-8"},
    {"/static/app.js", "text/javascript; charset=utf-8"},
    {"/static/chart.js", "text/javascript; charset=utf-8"},
    {"/static/style.css", "text/css; charset=utf-8"},
    {"/static/favicon.svg", "image/svg+xml"},
};
#define NEXPECTED (sizeof(expected) / sizeof(expected[0]))

static const char *text_of(const char *path)
{
    const struct vgpu_asset *a = vgpu_dashboard_asset(path);
    assert_non_null(a);
    assert_int_equal(a->data[a->len], '\0'); /* terminated, so string functions may read it */
    assert_int_equal(strlen((const char *)a->data), a->len);
    return (const char *)a->data;
}

static void test_every_asset_resolves(void **state)
{
    size_t n = 0;
    for (size_t i = 0; i < NEXPECTED; i++) {
        const struct vgpu_asset *a = vgpu_dashboard_asset(expected[i].path);
        assert_non_null(a);
        assert_string_equal(a->path, expected[i].path);
        assert_string_equal(a->content_type, expected[i].type);
        assert_true(a->len > 0);
    }
    while (vgpu_dashboard_asset_at(n))
        n++;
    assert_int_equal(n, NEXPECTED); /* no file unaccounted for */
    assert_ptr_equal(vgpu_dashboard_asset_at(0), vgpu_dashboard_asset("/"));
}

static void test_index_and_unknown_paths(void **state)
{
    const struct vgpu_asset *page = vgpu_dashboard_asset("/");
    assert_ptr_equal(vgpu_dashboard_asset("/index.html"), page);
    assert_ptr_equal(vgpu_dashboard_asset("/?refresh=1"), page);
    assert_ptr_equal(vgpu_dashboard_asset("/static/app.js?v=2"),
                     vgpu_dashboard_asset("/static/app.js"));
    static const char *const unknown[] = {"",
                                          "/static/",
                                          "/static",
                                          "/app.js",
                                          "/static/app.js/",
                                          "/static/../index.html",
                                          "/static/app.jsx",
                                          "/static/APP.JS",
                                          "//",
                                          "/index.htm",
                                          "static/app.js",
                                          "/api/v1/status"};
    for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
        if (vgpu_dashboard_asset(unknown[i]))
            fail_msg("'%s' resolves to an asset", unknown[i]);
    }
    assert_null(vgpu_dashboard_asset(NULL));
}

/* The page's src= and href= values: each must be a /static/ path this
 * module serves. */
static void test_page_loads_only_local_static_files(void **state)
{
    const char *html = text_of("/");
    int refs = 0;
    for (const char *p = html; (p = strpbrk(p, "sh")) != NULL; p++) {
        size_t k = strncmp(p, "src=\"", 5) == 0 ? 5 : strncmp(p, "href=\"", 6) == 0 ? 6 : 0;
        if (!k || (p > html && p[-1] != ' ' && p[-1] != '\n'))
            continue;
        char url[256];
        size_t n = strcspn(p + k, "\"");
        assert_true(n < sizeof(url));
        memcpy(url, p + k, n);
        url[n] = '\0';
        if (strncmp(url, "/static/", 8) != 0 || !vgpu_dashboard_asset(url))
            fail_msg("index.html loads '%s', not one of the /static/ files", url);
        refs++;
    }
    assert_true(refs >= 3); /* the script, the style sheet, the icon */
    assert_non_null(strstr(html, "src=\"/static/app.js\""));
    assert_non_null(strstr(html, "href=\"/static/style.css\""));
}

static void test_no_asset_names_another_origin(void **state)
{
    /* schemes, protocol-relative URLs in strings and CSS, imports from elsewhere */
    static const char *const origins[] = {"http://", "https://", "ws://",  "wss://",   "\"//",
                                          "'//",     "`//",      "url(//", "url(http", "@import"};
    static const char svg_ns[] = "xmlns=\"http://www.w3.org/2000/svg\"";
    for (size_t i = 0; vgpu_dashboard_asset_at(i); i++) {
        const struct vgpu_asset *a = vgpu_dashboard_asset_at(i);
        const char *text = text_of(a->path);
        for (size_t k = 0; k < sizeof(origins) / sizeof(origins[0]); k++) {
            for (const char *p = text; (p = strstr(p, origins[k])) != NULL; p++) {
                bool ns = strcmp(a->path, "/static/favicon.svg") == 0 && p - text >= 7 &&
                          strncmp(p - 7, svg_ns, sizeof(svg_ns) - 1) == 0;
                if (!ns)
                    fail_msg("%s names another origin: '%.40s'", a->path, p);
            }
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_asset_resolves),
        cmocka_unit_test(test_index_and_unknown_paths),
        cmocka_unit_test(test_page_loads_only_local_static_files),
        cmocka_unit_test(test_no_asset_names_another_origin),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
