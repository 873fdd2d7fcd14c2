/* metrics.prom: vgpud's Prometheus text writer (src/daemon/prom.c) on its
 * own: what a scraper reads back from names, labels and values that need
 * escaping or careful number formatting, histograms made cumulative, and
 * promtool's verdict on the document. Label values that no store name can
 * hold (quotes, backslashes, line feeds) reach the writer from NVML's GPU
 * names, so they are tested here byte for byte as well as end to end. */
#include "prom.h"
#include "promtext.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

typedef struct vgpud_prom_label label_t;

static char *document(void (*fill)(struct vgpud_prom *p))
{
    struct vgpud_prom p;
    assert_int_equal(vgpud_prom_init(&p), 0);
    fill(&p);
    char *text = vgpud_prom_finish(&p);
    assert_non_null(text);
    return text;
}

static void hostile(struct vgpud_prom *p)
{
    vgpud_prom_family(p, "vgpu_gpu_info", "gauge", "A GPU; \"quoted\" back\\slash\nsecond line.");
    label_t l[] = {{"gpu", "GPU-1"}, {"name", "NVIDIA \"X\" C:\\gpu\nline2"}, {"empty", NULL}};
    vgpud_prom_sample(p, "", l, 3, 1);
}

/* Label values escape \ " and line feed; HELP escapes \ and line feed only. */
static void test_escaping(void **state)
{
    char *text = document(hostile);
    assert_string_equal(text,
                        "# HELP vgpu_gpu_info A GPU; \"quoted\" back\\\\slash\\nsecond line.\n"
                        "# TYPE vgpu_gpu_info gauge\n"
                        "vgpu_gpu_info{gpu=\"GPU-1\",name=\"NVIDIA \\\"X\\\" C:\\\\gpu\\nline2\","
                        "empty=\"\"} 1\n");
    /* a scraper reads the original value back */
    struct pt_doc doc;
    char err[256];
    assert_int_equal(pt_parse(text, &doc, err, sizeof(err)), 0);
    assert_int_equal(doc.n, 1);
    assert_string_equal(pt_label(&doc.s[0], "name"), "NVIDIA \"X\" C:\\gpu\nline2");
    pt_free(&doc);
    char *out = NULL;
    int rc = pt_promtool(text, &out);
    if (rc != 0)
        fail_msg("promtool check metrics: exit %d: %s\n%s", rc, out ? out : "", text);
    free(out);
    free(text);
}

static void numbers(struct vgpud_prom *p)
{
    static const double v[] = {1e-05, 0.1, 85899345920.0, 0.3, 1.0 / 3, 0, -2.5};
    vgpud_prom_family(p, "vgpu_values", "gauge", "Values.");
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
        vgpud_prom_sample(p, "", NULL, 0, v[i]);
    vgpud_prom_sample(p, "", NULL, 0, NAN);
    vgpud_prom_sample(p, "", NULL, 0, INFINITY);
    vgpud_prom_sample(p, "", NULL, 0, -INFINITY);
}

/* The shortest decimal that reads back as the same double; the format's
 * spellings of NaN and the infinities. */
static void test_numbers(void **state)
{
    char *text = document(numbers);
    assert_string_equal(text, "# HELP vgpu_values Values.\n# TYPE vgpu_values gauge\n"
                              "vgpu_values 1e-05\nvgpu_values 0.1\nvgpu_values 85899345920\n"
                              "vgpu_values 0.3\nvgpu_values 0.3333333333333333\nvgpu_values 0\n"
                              "vgpu_values -2.5\nvgpu_values NaN\nvgpu_values +Inf\n"
                              "vgpu_values -Inf\n");
    free(text);
}

static void histogram(struct vgpud_prom *p)
{
    static const double bounds[] = {1e-05, 0.001, 0.5};
    static const uint64_t buckets[] = {2, 0, 5, 1};
    vgpud_prom_family(p, "vgpu_tenant_lease_wait_seconds", "histogram", "Waits.");
    label_t l[] = {{"tenant", "a"}, {"pool", "P"}};
    vgpud_prom_histogram(p, l, 2, bounds, 3, buckets, 0.75);
    vgpud_prom_family(p, "vgpu_empty_seconds", "histogram", "No observation.");
    static const uint64_t none[] = {0, 0, 0, 0};
    vgpud_prom_histogram(p, NULL, 0, bounds, 3, none, 0);
}

/* Buckets as observed become cumulative counts; +Inf equals _count. */
static void test_histogram(void **state)
{
    char *text = document(histogram);
    assert_non_null(strstr(text,
                           "vgpu_tenant_lease_wait_seconds_bucket{tenant=\"a\",pool=\"P\","
                           "le=\"1e-05\"} 2\n"
                           "vgpu_tenant_lease_wait_seconds_bucket{tenant=\"a\",pool=\"P\","
                           "le=\"0.001\"} 2\n"
                           "vgpu_tenant_lease_wait_seconds_bucket{tenant=\"a\",pool=\"P\","
                           "le=\"0.5\"} 7\n"
                           "vgpu_tenant_lease_wait_seconds_bucket{tenant=\"a\",pool=\"P\","
                           "le=\"+Inf\"} 8\n"
                           "vgpu_tenant_lease_wait_seconds_sum{tenant=\"a\",pool=\"P\"} 0.75\n"
                           "vgpu_tenant_lease_wait_seconds_count{tenant=\"a\",pool=\"P\"} 8\n"));
    assert_non_null(strstr(text, "vgpu_empty_seconds_bucket{le=\"+Inf\"} 0\n"
                                 "vgpu_empty_seconds_sum 0\nvgpu_empty_seconds_count 0\n"));
    char *out = NULL;
    int rc = pt_promtool(text, &out);
    if (rc != 0)
        fail_msg("promtool check metrics: exit %d: %s\n%s", rc, out ? out : "", text);
    free(out);
    free(text);
}

/* promtool is a hard requirement of the suite: its absence fails here
 * (scripts/deps.sh installs Debian's prometheus package). */
static void test_promtool_is_there(void **state)
{
    char *out = NULL;
    int rc = pt_promtool("# HELP x_total X.\n# TYPE x_total counter\nx_total 1\n", &out);
    if (rc == 127)
        fail_msg("promtool is not installed: install Debian's prometheus package "
                 "(scripts/deps.sh)");
    assert_int_equal(rc, 0);
    free(out);
    /* and it does reject what it should: a counter without _total */
    rc = pt_promtool("# HELP x X.\n# TYPE x counter\nx 1\n", &out);
    assert_int_not_equal(rc, 0);
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_promtool_is_there),
        cmocka_unit_test(test_escaping),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_histogram),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
