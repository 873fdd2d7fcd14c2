/* track: what each allocation charged, keyed by pointer or handle.
 *
 * An open-addressing hash table (linear probing, tombstones, power-of-two
 * capacity, grown at 70 % load) behind one mutex. It is touched only when
 * memory is allocated or freed, never on a launch; frees must find what the
 * matching allocation charged, so nothing here may fail silently: a table
 * that cannot grow keeps working at a higher load and says so. */
#include "internal.h"

#include "common.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

enum { EMPTY = 0, LIVE, TOMB }; /* keys are any 64-bit value: handles may be small */

struct slot {
    uint64_t key;
    int state;
    struct vgpu_track val;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct slot *table;
static size_t cap, used; /* used counts live entries and tombstones */

static size_t hash(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    return (size_t)k;
}

static struct slot *find(uint64_t key)
{
    if (!cap)
        return NULL;
    for (size_t i = hash(key) & (cap - 1), n = 0; n < cap; i = (i + 1) & (cap - 1), n++) {
        if (table[i].state == LIVE && table[i].key == key)
            return &table[i];
        if (table[i].state == EMPTY)
            return NULL;
    }
    return NULL;
}

static void insert(struct slot *t, size_t c, uint64_t key, const struct vgpu_track *v)
{
    for (size_t i = hash(key) & (c - 1);; i = (i + 1) & (c - 1)) {
        if (t[i].state != LIVE) {
            t[i].key = key;
            t[i].state = LIVE;
            t[i].val = *v;
            return;
        }
    }
}

static void grow(void)
{
    size_t ncap = cap ? cap * 2 : 1024;
    struct slot *n = calloc(ncap, sizeof(*n));
    if (!n) {
        vgpu_warn("allocation table cannot grow past %zu entries", cap);
        return;
    }
    size_t live = 0;
    for (size_t i = 0; i < cap; i++) {
        if (table[i].state == LIVE) {
            insert(n, ncap, table[i].key, &table[i].val);
            live++;
        }
    }
    free(table);
    table = n;
    cap = ncap;
    used = live;
}

void vgpu__track_put(uint64_t key, const struct vgpu_track *t)
{
    pthread_mutex_lock(&lock);
    struct slot *s = find(key);
    if (s) {
        s->val = *t;
    } else {
        if ((used + 1) * 10 >= cap * 7)
            grow();
        if (used + 1 < cap) {
            insert(table, cap, key, t);
            used++;
        }
    }
    pthread_mutex_unlock(&lock);
}

bool vgpu__track_take(uint64_t key, struct vgpu_track *out)
{
    pthread_mutex_lock(&lock);
    struct slot *s = find(key);
    if (s) {
        *out = s->val;
        s->state = TOMB;
    }
    pthread_mutex_unlock(&lock);
    return s != NULL;
}

bool vgpu__track_get(uint64_t key, struct vgpu_track *out)
{
    pthread_mutex_lock(&lock);
    struct slot *s = find(key);
    if (s)
        *out = s->val;
    pthread_mutex_unlock(&lock);
    return s != NULL;
}

bool vgpu__track_update(uint64_t key, void (*fn)(struct vgpu_track *, void *), void *arg)
{
    pthread_mutex_lock(&lock);
    struct slot *s = find(key);
    if (s)
        fn(&s->val, arg);
    pthread_mutex_unlock(&lock);
    return s != NULL;
}

void vgpu__track_clear(void)
{
    pthread_mutex_init(&lock, NULL); /* a forked child may have inherited it held */
    free(table);
    table = NULL;
    cap = used = 0;
}
