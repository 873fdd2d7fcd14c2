/*
 * work_stats.c: batch-latency percentiles for vgpu-work.
 *
 * Every synchronised batch gives one wall-clock latency. Short runs keep them
 * all and the percentiles are exact. An empty kernel synchronised after each
 * launch makes about 10^5 samples a second, so a long run would grow without
 * bound: past WORK_STATS_MAX_SAMPLES the array becomes a uniform reservoir
 * (Vitter's algorithm R) of that size, which keeps p50/p95/p99 accurate to a
 * fraction of a percent in rank; the maximum is tracked exactly on the side.
 */
#include "work_stats.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>

#define WORK_STATS_MAX_SAMPLES ((size_t)1 << 21)

void work_stats_init(struct work_stats *st)
{
    st->samples = NULL;
    st->len = 0;
    st->cap = 0;
    st->count = 0;
    st->max_ms = 0.0;
    st->rng = 0x9e3779b97f4a7c15ULL;
}

void work_stats_free(struct work_stats *st)
{
    free(st->samples);
    work_stats_init(st);
}

/* xorshift64*: plenty for picking reservoir slots. */
static uint64_t next_random(struct work_stats *st)
{
    st->rng ^= st->rng >> 12;
    st->rng ^= st->rng << 25;
    st->rng ^= st->rng >> 27;
    return st->rng * 0x2545f4914f6cdd1dULL;
}

int work_stats_add(struct work_stats *st, double ms)
{
    st->count++;
    if (ms > st->max_ms)
        st->max_ms = ms;
    if (st->len == WORK_STATS_MAX_SAMPLES) {
        uint64_t slot = next_random(st) % st->count;

        if (slot < st->len)
            st->samples[slot] = ms;
        return 0;
    }
    if (st->len == st->cap) {
        size_t cap = st->cap ? st->cap * 2 : 1024;
        double *grown;

        if (cap > WORK_STATS_MAX_SAMPLES)
            cap = WORK_STATS_MAX_SAMPLES;
        grown = realloc(st->samples, cap * sizeof(*grown));
        if (grown == NULL)
            return -ENOMEM;
        st->samples = grown;
        st->cap = cap;
    }
    st->samples[st->len++] = ms;
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a;
    double y = *(const double *)b;

    return (x > y) - (x < y);
}

static double rank(const struct work_stats *st, double p)
{
    size_t idx = (size_t)ceil(p * (double)st->len);

    if (idx > 0)
        idx--;
    if (idx >= st->len)
        idx = st->len - 1;
    return st->samples[idx];
}

void work_stats_percentiles(struct work_stats *st, struct work_percentiles *out)
{
    out->p50 = out->p95 = out->p99 = out->max = 0.0;
    if (st->len == 0)
        return;
    qsort(st->samples, st->len, sizeof(*st->samples), cmp_double);
    out->p50 = rank(st, 0.50);
    out->p95 = rank(st, 0.95);
    out->p99 = rank(st, 0.99);
    out->max = st->max_ms;
}
