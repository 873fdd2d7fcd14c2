/* fixture: what the store tests share.
 *
 * Fake hardware scans (the store only sees struct vgpu_scan, so a test
 * builds the machine it needs), stores on :memory: or in a temporary
 * directory, JSON from text, mutator calls that must succeed or must fail
 * with a given code and message, and a snapshot of everything the store
 * lists, to prove that a refused request changed nothing. A test program's
 * main runs every case, or the one named by argv[1] (how CTest runs each
 * case as its own test, store.<case>). */
#ifndef VGPU_TEST_STORE_FIXTURE_H
#define VGPU_TEST_STORE_FIXTURE_H

#include "device.h"
#include "store.h"

#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h> /* cmocka.h needs it */
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#define GiB (1ULL << 30)
#define MiB (1ULL << 20)

/* The UUIDs of the fake GPUs. */
#define FX_GPU0 "GPU-11111111-2222-3333-4444-555555555555"
#define FX_GPU1 "GPU-aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
#define FX_GPU1_MIG "GPU-11111111-9999-3333-4444-555555555555" /* shares 13 chars with GPU0 */
#define FX_MIG_A "MIG-22222222-0000-0000-0000-000000000001"
#define FX_MIG_B "MIG-22222222-0000-0000-0000-000000000002"

typedef int (*fx_mutator)(struct vgpu_store *, const json_t *, struct vgpu_err *);

int fx_main(int argc, char **argv, const struct CMUnitTest *tests, size_t n);
#define FX_MAIN(tests)                                                                             \
    int main(int argc, char **argv)                                                                \
    {                                                                                              \
        return fx_main(argc, argv, tests, sizeof(tests) / sizeof(tests[0]));                       \
    }

/* Two H100s: FX_GPU0 (NVML 0, CUDA 0) and FX_GPU1 (NVML 1, CUDA 1). */
void fx_scan_two(struct vgpu_scan *scan);
/* FX_GPU0, then FX_GPU1_MIG in MIG mode (NVML 1, not visible to CUDA) with
 * two instances, FX_MIG_A (its NVML index 0, CUDA 1) and FX_MIG_B (1, CUDA 2). */
void fx_scan_mig(struct vgpu_scan *scan);
/* Appends a physical GPU to a scan. */
void fx_scan_add(struct vgpu_scan *scan, const char *uuid, int nvml_index, uint64_t mem);

struct vgpu_store *fx_open(const char *path);
/* A fresh directory under $TMPDIR (or /tmp); fx_rmdir removes it and what
 * is in it (one level). */
char *fx_tmpdir(void);
void fx_rmdir(char *dir);
json_t *fx_json(const char *text);

/* Calls fn with the arguments parsed from `args` and fails the test unless it succeeds. */
void fx_ok(struct vgpu_store *s, fx_mutator fn, const char *args);
/* ... unless it fails with `code` and a message holding every one of the
 * needles (strings; a NULL needle ends the list early). The caller checks
 * the state. */
#define FX_FAILS(s, fn, args, code, ...)                                                           \
    fx_fails((s), (fn), (args), (code), (const char *const[]){__VA_ARGS__, NULL})
void fx_fails(struct vgpu_store *s, fx_mutator fn, const char *args, const char *code,
              const char *const needles[]);
/* {"gpus": ..., "pools": ..., "tenants": ..., "weights": ...} */
json_t *fx_snapshot(struct vgpu_store *s);
/* Fails the test, showing both documents, unless they are equal. */
void fx_assert_json(const json_t *got, const json_t *want, const char *what);
/* The same with the expected document as JSON text. */
void fx_assert_text(const json_t *got, const char *want, const char *what);

int fx_quarantine(struct vgpu_store *s, const json_t *args, struct vgpu_err *err);
int fx_release(struct vgpu_store *s, const json_t *args, struct vgpu_err *err);

#endif
