/* prom: the Prometheus text exposition format 0.0.4 (see prom.h).
 *
 * The text goes into an open_memstream, so the document grows as needed and
 * one ferror at the end says whether any write failed (a stream that failed
 * once stays failed). Escaping follows the format's rules, which differ for
 * the two places free text can appear: a label value escapes backslash,
 * double quote and line feed; a HELP line escapes only backslash and line
 * feed. Integers below 2^53 (most samples: counts, bytes) are written as
 * integers; other numbers with the fewest significant digits (15 to 17) that
 * parse back to the same double, so 1e-05 stays "1e-05" rather than
 * "1.0000000000000001e-05". The stream is written by one thread only, so
 * stdio's per-call locking is turned off (a scrape of 1,000 tenants writes
 * about 100,000 lines). */
#include "prom.h"

#include <errno.h>
#include <math.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>

int vgpud_prom_init(struct vgpud_prom *p)
{
    *p = (struct vgpud_prom){0};
    p->f = open_memstream(&p->text, &p->len);
    if (!p->f)
        return -ENOMEM;
    __fsetlocking(p->f, FSETLOCKING_BYCALLER); /* one thread writes it: no lock per call */
    return 0;
}

/* s with the format's escapes: runs that need none are written whole. */
static void escaped(FILE *f, const char *s, bool quote)
{
    const char *special = quote ? "\\\n\"" : "\\\n";
    while (s && *s) {
        size_t n = strcspn(s, special);
        fwrite(s, 1, n, f);
        s += n;
        if (*s) {
            fputs(*s == '\\' ? "\\\\" : *s == '\n' ? "\\n" : "\\\"", f);
            s++;
        }
    }
}

/* v as the format spells it, into buf (40 bytes). */
static const char *number(double v, char *buf)
{
    if (isnan(v))
        return "NaN";
    if (isinf(v))
        return v > 0 ? "+Inf" : "-Inf";
    if (fabs(v) < 9007199254740992.0 && v == (double)(long long)v) { /* an integer below 2^53 */
        snprintf(buf, 40, "%lld", (long long)v);
        return buf;
    }
    for (int digits = 15; digits <= 17; digits++) {
        snprintf(buf, 40, "%.*g", digits, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    return buf;
}

void vgpud_prom_family(struct vgpud_prom *p, const char *name, const char *type, const char *help)
{
    p->family = name;
    fprintf(p->f, "# HELP %s ", name);
    escaped(p->f, help, false);
    fprintf(p->f, "\n# TYPE %s %s\n", name, type);
}

/* The sample line with one more label (le) when extra is not NULL. */
static void line(struct vgpud_prom *p, const char *suffix, const struct vgpud_prom_label *labels,
                 size_t n, const struct vgpud_prom_label *extra, double value)
{
    if (!p->family)
        return;
    fprintf(p->f, "%s%s", p->family, suffix);
    if (n > VGPUD_PROM_MAX_LABELS)
        n = VGPUD_PROM_MAX_LABELS;
    for (size_t i = 0; i < n + (extra != NULL); i++) {
        const struct vgpud_prom_label *l = i < n ? &labels[i] : extra;
        fprintf(p->f, "%s%s=\"", i ? "," : "{", l->name);
        escaped(p->f, l->value, true);
        fputc('"', p->f);
    }
    char buf[40];
    fprintf(p->f, "%s%s\n", n || extra ? "} " : " ", number(value, buf));
}

void vgpud_prom_sample(struct vgpud_prom *p, const char *suffix,
                       const struct vgpud_prom_label *labels, size_t n, double value)
{
    line(p, suffix, labels, n, NULL, value);
}

void vgpud_prom_histogram(struct vgpud_prom *p, const struct vgpud_prom_label *labels, size_t n,
                          const double *bounds, size_t nbounds, const uint64_t *buckets, double sum)
{
    char buf[40];
    uint64_t total = 0;
    for (size_t i = 0; i <= nbounds; i++) {
        const char *le = i < nbounds ? number(bounds[i], buf) : "+Inf";
        total += buckets[i];
        line(p, "_bucket", labels, n, &(struct vgpud_prom_label){"le", le}, (double)total);
    }
    line(p, "_sum", labels, n, NULL, sum);
    line(p, "_count", labels, n, NULL, (double)total);
}

char *vgpud_prom_finish(struct vgpud_prom *p)
{
    bool failed = ferror(p->f) != 0;
    if (fclose(p->f) != 0 || failed) {
        free(p->text);
        p->text = NULL;
    }
    p->f = NULL;
    return p->text;
}
