/* work_stats.h: batch-latency samples and their percentiles for vgpu-work. */
#ifndef VGPU_BENCH_WORK_STATS_H
#define VGPU_BENCH_WORK_STATS_H

#include <stddef.h>
#include <stdint.h>

struct work_stats {
    double *samples; /* milliseconds; all of them, or a uniform reservoir once full */
    size_t len;
    size_t cap;
    uint64_t count; /* samples offered, kept or not */
    double max_ms;  /* exact, whatever the reservoir kept */
    uint64_t rng;
};

struct work_percentiles {
    double p50, p95, p99, max;
};

void work_stats_init(struct work_stats *st);
void work_stats_free(struct work_stats *st);
/* Records one batch latency. Returns 0 or -ENOMEM. */
int work_stats_add(struct work_stats *st, double ms);
/* Nearest-rank percentiles; all zero when nothing was recorded. Sorts the samples. */
void work_stats_percentiles(struct work_stats *st, struct work_percentiles *out);

#endif
