/* promtext: promtool and a small exposition-format parser for the metrics
 * tests (see promtext.h).
 *
 * promtool reads the document on its standard input; vt_run has none to
 * give, so the text goes to a temporary file that a shell redirects. The
 * parser follows the 0.0.4 grammar for sample lines: a metric name, an
 * optional {name="value",...} block whose values escape backslash, double
 * quote and line feed, a blank, a value as Go's ParseFloat reads it (NaN,
 * +Inf, -Inf included) and an optional timestamp. Comment lines are
 * skipped: promtool checks HELP and TYPE. */
#include "promtext.h"

#include "vt.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

int pt_promtool(const char *text, char **out)
{
    char path[] = "/tmp/vgpu-promtool-XXXXXX";
    char *err = NULL;
    int fd = mkstemp(path), rc;
    *out = NULL;
    if (fd < 0)
        return -1;
    size_t len = strlen(text), done = 0;
    while (done < len) {
        ssize_t w = write(fd, text + done, len - done);
        if (w <= 0)
            break;
        done += (size_t)w;
    }
    close(fd);
    char *argv[] = {"sh",
                    "-c",
                    "command -v promtool >/dev/null || exit 127; "
                    "exec promtool check metrics < \"$1\"",
                    "sh",
                    path,
                    NULL};
    rc = done == len ? vt_run(argv, out, &err, 60000) : -1;
    unlink(path);
    if (*out && err && *err) { /* one text: what it said on either stream */
        size_t n = strlen(*out) + strlen(err) + 1;
        char *both = malloc(n);
        if (both) {
            snprintf(both, n, "%s%s", *out, err);
            free(*out);
            *out = both;
        }
    }
    free(err);
    return rc;
}

static bool name_char(char c, bool first)
{
    return isalpha((unsigned char)c) || c == '_' || c == ':' ||
           (!first && isdigit((unsigned char)c));
}

static char *dup_n(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

/* A quoted label value at *p (after the opening quote), unescaped. */
static char *label_value(const char **p)
{
    size_t cap = strlen(*p) + 1, n = 0;
    char *v = malloc(cap);
    for (const char *s = *p; v && *s && *s != '\n'; s++) {
        if (*s == '"') {
            v[n] = '\0';
            *p = s + 1;
            return v;
        }
        if (*s == '\\') {
            s++;
            if (*s == 'n')
                v[n++] = '\n';
            else if (*s == '\\' || *s == '"')
                v[n++] = *s;
            else
                break; /* no other escape exists */
        } else {
            v[n++] = *s;
        }
    }
    free(v);
    return NULL;
}

static int parse_line(const char *p, struct pt_sample *s, const char **why)
{
    const char *start = p;
    memset(s, 0, sizeof(*s));
    if (!name_char(*p, true))
        return *why = "no metric name", -1;
    while (name_char(*p, false))
        p++;
    s->name = dup_n(start, (size_t)(p - start));
    if (*p == '{') {
        p++;
        while (*p != '}') {
            start = p;
            if (!name_char(*p, true))
                return *why = "bad label name", -1;
            while (name_char(*p, false))
                p++;
            if (s->nlabels == PT_MAX_LABELS || p[0] != '=' || p[1] != '"')
                return *why = "too many labels, or no =\"", -1;
            s->key[s->nlabels] = dup_n(start, (size_t)(p - start));
            p += 2;
            s->val[s->nlabels] = label_value(&p);
            if (!s->val[s->nlabels++])
                return *why = "bad label value", -1;
            if (*p == ',')
                p++;
            else if (*p != '}')
                return *why = "no , or } after a label", -1;
        }
        p++;
    }
    if (*p != ' ')
        return *why = "no blank before the value", -1;
    p++;
    char *end;
    if (strncmp(p, "+Inf", 4) == 0 || strncmp(p, "-Inf", 4) == 0) {
        s->value = p[0] == '+' ? INFINITY : -INFINITY;
        end = (char *)p + 4;
    } else if (strncmp(p, "NaN", 3) == 0) {
        s->value = NAN;
        end = (char *)p + 3;
    } else {
        s->value = strtod(p, &end);
        if (end == p)
            return *why = "bad value", -1;
    }
    if (*end == ' ') /* a timestamp */
        strtoll(end + 1, &end, 10);
    if (*end != '\n' && *end != '\0')
        return *why = "junk after the value", -1;
    return 0;
}

int pt_parse(const char *text, struct pt_doc *doc, char *err, size_t errlen)
{
    size_t cap = 0, lineno = 0;
    memset(doc, 0, sizeof(*doc));
    for (const char *p = text; *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : p + strlen(p)) {
        const char *why = NULL;
        lineno++;
        if (*p == '#' || *p == '\n')
            continue;
        if (doc->n == cap) {
            cap = cap ? 2 * cap : 256;
            struct pt_sample *s = realloc(doc->s, cap * sizeof(*s));
            if (!s)
                return snprintf(err, errlen, "out of memory"), -1;
            doc->s = s;
        }
        if (parse_line(p, &doc->s[doc->n++], &why) != 0) {
            const char *nl = strchr(p, '\n');
            snprintf(err, errlen, "line %zu: %s: '%.*s'", lineno, why,
                     (int)(nl ? nl - p : (long)strlen(p)), p);
            return -1;
        }
    }
    return 0;
}

void pt_free(struct pt_doc *doc)
{
    for (size_t i = 0; i < doc->n; i++) {
        free(doc->s[i].name);
        for (size_t k = 0; k < doc->s[i].nlabels; k++) {
            free(doc->s[i].key[k]);
            free(doc->s[i].val[k]);
        }
    }
    free(doc->s);
    memset(doc, 0, sizeof(*doc));
}

const char *pt_label(const struct pt_sample *s, const char *key)
{
    for (size_t k = 0; k < s->nlabels; k++)
        if (strcmp(s->key[k], key) == 0)
            return s->val[k];
    return NULL;
}

static bool matches(const struct pt_sample *s, const char *name, va_list ap)
{
    if (strcmp(s->name, name) != 0)
        return false;
    for (const char *k; (k = va_arg(ap, const char *)) != NULL;) {
        const char *want = va_arg(ap, const char *), *have = pt_label(s, k);
        if (!have || strcmp(have, want) != 0)
            return false;
    }
    return true;
}

const struct pt_sample *pt_find(const struct pt_doc *doc, const char *name, ...)
{
    for (size_t i = 0; i < doc->n; i++) {
        va_list ap;
        va_start(ap, name);
        bool m = matches(&doc->s[i], name, ap);
        va_end(ap);
        if (m)
            return &doc->s[i];
    }
    return NULL;
}

size_t pt_sum(const struct pt_doc *doc, double *sum, const char *name, ...)
{
    size_t n = 0;
    *sum = 0;
    for (size_t i = 0; i < doc->n; i++) {
        va_list ap;
        va_start(ap, name);
        bool m = matches(&doc->s[i], name, ap);
        va_end(ap);
        if (m) {
            *sum += doc->s[i].value;
            n++;
        }
    }
    return n;
}
