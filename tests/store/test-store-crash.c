/* vgpud killed mid-write: a child process writes to the store as fast as
 * it can (tenants added, tenants changed in all their limits at once, pools
 * created together with their GPUs) and is SIGKILLed at a random moment,
 * twenty times over on the same database. After each kill the database must
 * pass SQLite's integrity check and hold only whole transactions: tenants
 * t1..tN with no gap, every tenant's fields all from one write, every
 * extra pool with both its GPUs. The seed is printed so that a failure can
 * be replayed (VGPU_STORE_SEED). */
#include "fixture.h"
#include "vt.h"

#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define ROUNDS 20

static const char *const prio[] = {"high", "medium", "low"};

struct writer {
    const char *path;
    int first; /* the next tenant number */
    struct vt_chan *chan;
};

/* Every field of a tenant follows from one number j. */
static void fields(long long j, char *buf, size_t len)
{
    snprintf(buf, len,
             "\"priority\": \"%s\", \"memory\": %lld, \"share\": %lld, \"rate\": %lld,"
             " \"burst\": %lld, \"max_inflight\": %lld",
             prio[j % 3], j * (long long)MiB, j % 101, j * 10, j * 2, j % 1000 + 1);
}

static int call(struct vgpu_store *s, fx_mutator fn, const char *text)
{
    json_t *a = json_loads(text, 0, NULL);
    struct vgpu_err e;
    int rc = a ? fn(s, a, &e) : -1;

    if (rc != 0)
        fprintf(stderr, "writer: %s: %s\n", text, a ? e.msg : "bad JSON");
    json_decref(a);
    return rc;
}

/* The child: writes until it is killed. */
static int write_forever(void *arg)
{
    const struct writer *w = arg;
    struct vgpu_store *s = NULL;
    struct vgpu_err e;
    char args[512], f[256];

    if (vgpu_store_open(w->path, &s, &e) != 0)
        return 1;
    for (int i = w->first; i < w->first + 1000000; i++) {
        fields(i, f, sizeof(f));
        snprintf(args, sizeof(args), "{\"name\": \"t%d\", \"vm_id\": %d, \"pool\": \"A\", %s}", i,
                 i, f);
        if (call(s, vgpu_store_tenant_add, args) != 0)
            return 1;
        if (i == w->first)
            vt_send_up(w->chan, (uint64_t)i);
        fields((long long)i * 7, f, sizeof(f));
        snprintf(args, sizeof(args), "{\"name\": \"t%d\", %s}", i / 2 + 1, f);
        if (call(s, vgpu_store_tenant_set, args) != 0)
            return 1;
        if (i % 16 == 0) {
            snprintf(args, sizeof(args), "{\"name\": \"p%d\", \"gpus\": [0, 1]}", i);
            if (call(s, vgpu_store_pool_create, args) != 0)
                return 1;
        }
    }
    return 0;
}

static void integrity_ok(const char *path)
{
    sqlite3 *db;
    sqlite3_stmt *st;

    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
    sqlite3_finalize(st);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA foreign_key_check", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_DONE); /* no row breaks a reference */
    sqlite3_finalize(st);
    sqlite3_close(db);
}

/* Checks the tenants and pools; returns how many tenants there are. */
static int whole_transactions_only(struct vgpu_store *s)
{
    json_t *tenants = vgpu_store_tenants(s, NULL), *pools = vgpu_store_pools(s), *t, *p;
    size_t i;

    assert_non_null(tenants);
    assert_non_null(pools);
    json_array_foreach(tenants, i, t)
    {
        char name[32];
        long long j = json_integer_value(json_object_get(t, "memory")) / (long long)MiB;
        snprintf(name, sizeof(name), "t%zu", i + 1);
        if (strcmp(json_string_value(json_object_get(t, "name")), name) != 0 ||
            json_integer_value(json_object_get(t, "vm_id")) != (json_int_t)i + 1)
            fail_msg("tenant %zu is %s: a gap or a torn row", i + 1,
                     json_string_value(json_object_get(t, "name")));
        if (j <= 0 || json_integer_value(json_object_get(t, "memory")) != j * (long long)MiB ||
            strcmp(json_string_value(json_object_get(t, "priority")), prio[j % 3]) != 0 ||
            json_integer_value(json_object_get(t, "share")) != j % 101 ||
            json_integer_value(json_object_get(t, "rate")) != j * 10 ||
            json_integer_value(json_object_get(t, "burst")) != j * 2 ||
            json_integer_value(json_object_get(t, "max_inflight")) != j % 1000 + 1 ||
            strcmp(json_string_value(json_object_get(t, "pool")), "A") != 0 ||
            strcmp(json_string_value(json_object_get(t, "state")), "active") != 0) {
            char *dump = json_dumps(t, JSON_COMPACT);
            fail_msg("tenant %s is not one whole write: %s", name, dump);
        }
    }
    json_array_foreach(pools, i, p)
    {
        if (json_array_size(json_object_get(p, "gpus")) != (i == 0 ? 1 : 2))
            fail_msg("pool %s has %zu GPUs", json_string_value(json_object_get(p, "name")),
                     json_array_size(json_object_get(p, "gpus")));
    }
    i = json_array_size(tenants);
    json_decref(tenants);
    json_decref(pools);
    return (int)i;
}

static void test_kill9_while_writing(void **unused)
{
    char *dir = fx_tmpdir(), path[4200];
    const char *env = getenv("VGPU_STORE_SEED");
    unsigned seed =
        env ? (unsigned)strtoul(env, NULL, 10) : (unsigned)time(NULL) ^ (unsigned)getpid();
    struct vgpu_store *s;
    struct vgpu_scan scan;
    struct vgpu_err e;
    int count = 0;

    print_message("seed %u (VGPU_STORE_SEED=%u replays it)\n", seed, seed);
    srand(seed);
    snprintf(path, sizeof(path), "%s/vgpu.db", dir);
    s = fx_open(path);
    fx_scan_two(&scan);
    assert_int_equal(vgpu_store_sync_gpus(s, &scan, &e), 0);
    fx_ok(s, vgpu_store_pool_create, "{\"name\": \"A\", \"gpus\": [0]}");
    vgpu_store_close(s);

    for (int round = 0; round < ROUNDS; round++) {
        struct vt_chan chan;
        struct writer w = {.path = path, .first = count + 1, .chan = &chan};
        uint64_t first;
        struct timespec delay = {0, (long)(rand() % 40000) * 1000}; /* 0-40 ms */
        pid_t pid;
        int now;

        assert_int_equal(vt_chan_open(&chan), 0);
        pid = vt_fork(write_forever, &w);
        assert_true(pid > 0);
        vt_chan_parent(&chan);
        if (!vt_recv_up(&chan, &first, 10000))
            fail_msg("round %d: the writer did not start (exit %d)", round, vt_wait(pid, 1000));
        nanosleep(&delay, NULL);
        kill(pid, SIGKILL);
        assert_int_equal(vt_wait(pid, 10000), 128 + SIGKILL);
        vt_chan_close(&chan);

        integrity_ok(path);
        s = fx_open(path);
        now = whole_transactions_only(s);
        vgpu_store_close(s);
        print_message("round %d: killed after %ld us; %d tenants (+%d)\n", round,
                      delay.tv_nsec / 1000, now, now - count);
        assert_true(now > count);
        count = now;
    }
    fx_rmdir(dir);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_kill9_while_writing),
};

FX_MAIN(tests)
