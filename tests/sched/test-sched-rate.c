/* Unit tests for a tenant's rate limit (src/sched/rate.c): what
 * vgpu_sched_take_op promises in scheduler.h, checked with explicit clock
 * values, so simulated seconds take microseconds and every run gives the
 * same figures.
 *
 * A saturating tenant is simulated as libvgpu.so's gate drives it: each
 * operation tries with retry_at 0, and when refused tries again at the
 * retry_at it was given (passing that value back), until it gets a token.
 * Every case runs on a fresh shared-memory region of its own (the prefix
 * "vgputest-rate-<pid>", removed by the teardown). */
#include "scheduler.h"

#include "common.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "run.h"

#define MS 1000000ULL
#define SEC 1000000000ULL

/* ---- the fixture: one region ---------------------------------------------------------- */

struct fx {
    struct vgpu_sched *s;
    uint64_t t0; /* where simulated time starts */
};

static int fresh(void **state)
{
    static struct fx f;
    char prefix[32];

    snprintf(prefix, sizeof(prefix), "vgputest-rate-%d", (int)getpid());
    setenv("VGPU_ACCOUNT_PREFIX", prefix, 1);
    vgpu_sched_unlink(); /* a case that failed before left its region */
    memset(&f, 0, sizeof(f));
    f.s = vgpu_sched_open(true);
    if (!f.s)
        return -1;
    f.t0 = 1000 * SEC; /* any clock will do: the bucket only sees `now` */
    *state = &f;
    return 0;
}

static int cleanup(void **state)
{
    struct fx *f = *state;
    vgpu_sched_unmap(f->s);
    return vgpu_sched_unlink();
}

/* Creates tenant `name` with a rate limit, or gives it a new one (as vgpud
 * does on `vgpu-admin tenant set`). */
static int limit(struct fx *f, const char *name, uint32_t rate, uint32_t burst)
{
    struct vgpu_sched_policy p = {.klass = VGPU_CLASS_MEDIUM, .rate = rate, .burst = burst};
    int t = vgpu_sched_tenant(f->s, name, &p, true);
    assert_true(t >= 0);
    return t;
}

static uint64_t waits(struct fx *f, int t)
{
    return atomic_load(&f->s->tenant[t].rl_waits);
}

/* A first try at `now`: true when it got a token; else *retry_at is set. */
static bool take(struct fx *f, int t, uint64_t now, uint64_t *retry_at)
{
    uint64_t r = 0;
    bool ok = vgpu_sched_take_op(f->s, t, now, &r);
    if (retry_at)
        *retry_at = r;
    return ok;
}

/* Tokens that can be taken at the one instant `now`, first tries all. */
static uint64_t drain(struct fx *f, int t, uint64_t now)
{
    uint64_t n = 0;
    while (take(f, t, now, NULL))
        n++;
    return n;
}

/* A saturating tenant from *now to `until` (inclusive): each operation
 * tries until it gets a token, sleeping to each retry_at. Returns the
 * operations that got through; *now ends at the time of the last try. */
static uint64_t saturate(struct fx *f, int t, uint64_t *now, uint64_t until)
{
    uint64_t n = 0;
    for (;;) {
        uint64_t retry_at = 0;
        while (!vgpu_sched_take_op(f->s, t, *now, &retry_at)) {
            assert_true(retry_at > *now);
            if (retry_at > until)
                return n;
            *now = retry_at;
        }
        n++;
    }
}

static void assert_within(uint64_t got, uint64_t want, uint64_t tol, const char *what)
{
    if (got + tol < want || got > want + tol)
        fail_msg("%s: %llu, wanted %llu +- %llu", what, (unsigned long long)got,
                 (unsigned long long)want, (unsigned long long)tol);
}

/* ---- the cases ------------------------------------------------------------------------- */

/* 1000/s with a burst of 200 over 10 s: the burst, then the rate, and each
 * operation after the burst counted once as having waited. */
static void test_rate_burst_then_rate(void **state)
{
    struct fx *f = *state;
    int t = limit(f, "a", 1000, 200);
    uint64_t now = f->t0;
    uint64_t n = saturate(f, t, &now, f->t0 + 10 * SEC);
    assert_within(n, 200 + 10000, 1, "operations in 10 s at 1000/s, burst 200");
    assert_within(waits(f, t), 10000, 1, "operations that waited");
}

/* After idleness the bucket is full again, but never more than the burst. */
static void test_rate_burst_after_idleness(void **state)
{
    struct fx *f = *state;
    int t = limit(f, "a", 1000, 200);
    uint64_t retry_at;
    assert_int_equal(drain(f, t, f->t0), 200);
    uint64_t later = f->t0 + 5 * SEC; /* 5000 tokens' worth of idleness */
    assert_int_equal(drain(f, t, later), 200);
    assert_false(take(f, t, later, &retry_at));
    assert_int_equal(retry_at, later + 1 * MS);
    /* A short pause refills what it is worth, no more. */
    assert_int_equal(drain(f, t, later + 30 * MS), 30);
}

/* retry_at is the first nanosecond with a token; a retry before it is
 * refused again and not counted as another wait. */
static void test_rate_retry_at_exact(void **state)
{
    struct fx *f = *state;
    int t = limit(f, "a", 1000, 200);
    uint64_t retry_at, again;
    assert_int_equal(drain(f, t, f->t0), 200);
    assert_int_equal(waits(f, t), 1); /* drain's refused try */
    assert_false(take(f, t, f->t0, &retry_at));
    assert_int_equal(retry_at, f->t0 + 1 * MS);
    assert_int_equal(waits(f, t), 2);

    again = retry_at;
    assert_false(vgpu_sched_take_op(f->s, t, retry_at - 1, &again));
    assert_int_equal(again, retry_at);
    assert_int_equal(waits(f, t), 2); /* a retry: the same operation */
    assert_true(vgpu_sched_take_op(f->s, t, retry_at, &again));

    /* 0.4 ms into the next token: 0.6 ms to go. */
    assert_false(take(f, t, retry_at + 400000, &again));
    assert_int_equal(again, retry_at + 1 * MS);

    /* A rate whose token is no whole number of nanoseconds: 3/s. */
    int u = limit(f, "b", 3, 1);
    assert_int_equal(drain(f, u, f->t0), 1);
    assert_false(take(f, u, f->t0, &retry_at));
    assert_within(retry_at, f->t0 + 333333333, 1, "a token's time at 3/s");
    again = retry_at;
    assert_false(vgpu_sched_take_op(f->s, u, retry_at - 1, &again));
    assert_true(vgpu_sched_take_op(f->s, u, retry_at, &again));
}

/* Burst 0: a tenth of a second's worth, at least one. */
static void test_rate_default_burst(void **state)
{
    struct fx *f = *state;
    assert_int_equal(vgpu_sched_rate_depth(1000, 0), 100);
    assert_int_equal(vgpu_sched_rate_depth(5, 0), 1);
    assert_int_equal(vgpu_sched_rate_depth(1000, 7), 7);
    int t = limit(f, "a", 1000, 0), u = limit(f, "b", 5, 0);
    assert_int_equal(drain(f, t, f->t0), 100);
    assert_int_equal(drain(f, u, f->t0), 1);
    uint64_t now = f->t0 + 1;
    assert_within(saturate(f, t, &now, f->t0 + 2 * SEC), 2000, 1, "operations in 2 s at 1000/s");
    assert_int_equal(drain(f, t, f->t0 + 60 * SEC), 100);
}

/* A new rate applies from the next operation; rate 0 lifts the limit. */
static void test_rate_change_takes_effect(void **state)
{
    struct fx *f = *state;
    int t = limit(f, "a", 1000, 10);
    uint64_t now = f->t0;
    assert_within(saturate(f, t, &now, f->t0 + 1 * SEC), 10 + 1000, 1, "1 s at 1000/s");
    assert_int_equal(limit(f, "a", 100, 10), t);
    uint64_t from = now;
    assert_within(saturate(f, t, &now, from + 1 * SEC), 100, 1, "the next 1 s at 100/s");

    /* A lower burst is honoured at once, even by a bucket that was full. */
    assert_int_equal(drain(f, t, now + 10 * SEC), 10);
    assert_int_equal(limit(f, "a", 100, 3), t);
    assert_int_equal(drain(f, t, now + 20 * SEC), 3);

    /* No limit: every operation goes, nothing waits, retry_at untouched. */
    assert_int_equal(limit(f, "a", 0, 0), t);
    uint64_t w = waits(f, t), r = 0;
    for (int i = 0; i < 100000; i++)
        assert_true(vgpu_sched_take_op(f->s, t, now + 20 * SEC, &r));
    assert_int_equal(r, 0);
    assert_int_equal(waits(f, t), w);
}

/* A tenant without a limit is never refused; one tenant's bucket is its own. */
static void test_rate_per_tenant(void **state)
{
    struct fx *f = *state;
    int free_t = limit(f, "free", 0, 0), a = limit(f, "a", 10, 2), b = limit(f, "b", 10, 5);
    uint64_t r = 0;
    for (int i = 0; i < 1000; i++)
        assert_true(vgpu_sched_take_op(f->s, free_t, f->t0, &r));
    assert_int_equal(waits(f, free_t), 0);
    assert_int_equal(drain(f, a, f->t0), 2);
    assert_int_equal(drain(f, b, f->t0), 5);
    assert_true(vgpu_sched_take_op(f->s, -1, f->t0, &r)); /* no tenant: nothing to limit */
}

/* A bucket filled by another clock (an hour ahead) or holding garbage
 * neither stalls its tenant nor lets it run unlimited. */
static void test_rate_bad_bucket_recovers(void **state)
{
    struct fx *f = *state;
    int t = limit(f, "a", 1000, 5);
    uint64_t retry_at;
    f->s->tenant[t].rl_at = f->t0 + 3600 * SEC;
    assert_int_equal(drain(f, t, f->t0), 5);
    f->s->tenant[t].rl_tokens = NAN;
    assert_false(take(f, t, f->t0 + 1, &retry_at));
    assert_int_equal(retry_at, f->t0 + 1 + MS);
    f->s->tenant[t].rl_tokens = -1e300;
    assert_false(take(f, t, f->t0 + 2, &retry_at));
    assert_int_equal(retry_at, f->t0 + 2 + MS);
}

/* The processes of one tenant take turns on a GPU, so that they share its
 * rate limit: a client that starts waiting wakes the holder (whose agent may
 * sleep with no deadline while nobody waits), also when the holder is of its
 * own tenant. (A policy case, kept here: test-sched-policy.c is full.) */
static void test_rate_holder_woken_by_own_tenant(void **state)
{
    struct fx *f = *state;
    int t = limit(f, "a", 1000, 10);
    int g = vgpu_sched_gpu(f->s, "11111111-2222-3333-4444-555555555555");
    int c1 = vgpu_sched_join(f->s, t, getpid(), vgpu_proc_start_time(getpid()));
    int c2 = vgpu_sched_join(f->s, t, getpid(), vgpu_proc_start_time(getpid()));
    uint64_t retry_at, dl;
    uint32_t seq;
    enum vgpu_yield_reason why;
    bool others;
    assert_true(g >= 0 && c1 >= 0 && c2 >= 0);
    assert_true(vgpu_sched_want(f->s, c1, g, f->t0, &retry_at, &seq));
    dl = vgpu_sched_deadline(f->s, c1, g, f->t0, &why, &others);
    assert_true(dl == UINT64_MAX && !others); /* alone: its agent sleeps */
    uint32_t wake = atomic_load(&f->s->client[c1].wake);
    assert_false(vgpu_sched_want(f->s, c2, g, f->t0 + MS, &retry_at, &seq));
    assert_true(atomic_load(&f->s->client[c1].wake) != wake);
    dl = vgpu_sched_deadline(f->s, c1, g, f->t0 + MS, &why, &others);
    assert_true(others);
    assert_int_equal(dl, f->t0 + VGPU_SCHED_QUANTUM_NS);
}

#define SCHED_TEST(f) cmocka_unit_test_setup_teardown(f, fresh, cleanup)

static const struct CMUnitTest tests[] = {
    SCHED_TEST(test_rate_burst_then_rate),     SCHED_TEST(test_rate_burst_after_idleness),
    SCHED_TEST(test_rate_retry_at_exact),      SCHED_TEST(test_rate_default_burst),
    SCHED_TEST(test_rate_change_takes_effect), SCHED_TEST(test_rate_per_tenant),
    SCHED_TEST(test_rate_bad_bucket_recovers), SCHED_TEST(test_rate_holder_woken_by_own_tenant),
};

SCHED_TEST_MAIN("sched-rate", tests)
