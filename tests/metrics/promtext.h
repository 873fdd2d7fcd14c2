/* promtext: what the metrics tests need to read Prometheus text as a
 * scraper does: `promtool check metrics` on a document, and a parser of the
 * exposition format 0.0.4 (sample lines only; label values unescaped) with
 * look-ups by name and labels. */
#ifndef VGPU_TEST_PROMTEXT_H
#define VGPU_TEST_PROMTEXT_H

#include <stddef.h>

#define PT_MAX_LABELS 8

struct pt_sample {
    char *name;
    size_t nlabels;
    char *key[PT_MAX_LABELS];
    char *val[PT_MAX_LABELS];
    double value;
};

struct pt_doc {
    struct pt_sample *s;
    size_t n;
};

/* Runs promtool check metrics on `text`. Returns its exit status (0: no
 * problem), with what it printed in *out (malloc'd); 127 when promtool is
 * not installed (Debian's prometheus package; scripts/deps.sh). */
int pt_promtool(const char *text, char **out);
/* Parses every sample line; 0, or -1 with the bad line's number and why in err. */
int pt_parse(const char *text, struct pt_doc *doc, char *err, size_t errlen);
void pt_free(struct pt_doc *doc);
/* The first sample named `name` whose labels include each of the
 * NULL-terminated key, value pairs that follow; NULL when none. */
const struct pt_sample *pt_find(const struct pt_doc *doc, const char *name, ...);
/* How many samples match (as pt_find), their values' sum in *sum. */
size_t pt_sum(const struct pt_doc *doc, double *sum, const char *name, ...);
/* The value of label `key` of a sample, NULL when it has none. */
const char *pt_label(const struct pt_sample *s, const char *key);

#endif
