/* prom: a writer of the Prometheus text exposition format, version 0.0.4
 * (the format of GET /metrics; metrics.c decides what goes in it).
 *
 * A document is a sequence of families: vgpud_prom_family writes the
 * "# HELP" and "# TYPE" lines, then every sample of that family follows
 * before the next family starts, as the format requires. Label values and
 * help texts are escaped here (label values: backslash, double quote and
 * line feed; help: backslash and line feed), values are written as the
 * shortest decimal that reads back as the same double, and a histogram's
 * buckets are written cumulative, ending with le="+Inf" equal to _count.
 * Writing never fails half-way: an allocation failure is remembered and
 * vgpud_prom_finish then returns NULL. Names and types are the caller's
 * constants and are not checked. */
#ifndef VGPUD_PROM_H
#define VGPUD_PROM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct vgpud_prom {
    FILE *f; /* an open_memstream over text */
    char *text;
    size_t len;
    const char *family; /* the family samples are written for */
};

struct vgpud_prom_label {
    const char *name;
    const char *value; /* any UTF-8; NULL is written as "" */
};

#define VGPUD_PROM_MAX_LABELS 8

/* 0, or -ENOMEM. */
int vgpud_prom_init(struct vgpud_prom *p);
/* Starts family `name` of `type` (counter, gauge, histogram). */
void vgpud_prom_family(struct vgpud_prom *p, const char *name, const char *type, const char *help);
/* One sample of the current family: its name plus `suffix` ("" for none),
 * the n labels (at most VGPUD_PROM_MAX_LABELS), the value (NaN and the
 * infinities are written as the format spells them). */
void vgpud_prom_sample(struct vgpud_prom *p, const char *suffix,
                       const struct vgpud_prom_label *labels, size_t n, double value);
/* One histogram of the current family: nbounds upper bounds (increasing)
 * and nbounds + 1 bucket counts as observed (not cumulative; the last one
 * counts what lies above every bound), and the sum of the observations. */
void vgpud_prom_histogram(struct vgpud_prom *p, const struct vgpud_prom_label *labels, size_t n,
                          const double *bounds, size_t nbounds, const uint64_t *buckets,
                          double sum);
/* The text (malloc'd; the caller frees it), or NULL when writing failed. */
char *vgpud_prom_finish(struct vgpud_prom *p);

#endif
