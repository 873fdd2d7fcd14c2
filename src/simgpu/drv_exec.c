/* simgpu driver execution: streams, events, kernel launches, host functions
 * and a minimal graph path (capture or build kernel nodes, instantiate,
 * launch).
 *
 * A launch queues one work item on the stream's device (simgpu_submit): the
 * kernel named vgpu_sim_busy runs for its first parameter in microseconds,
 * any other for SIMGPU_KERNEL_US. Because a device runs items one at a time
 * in submission order, a stream's work is done at the end time of its last
 * item: that is all a stream or a context remembers, and synchronising is a
 * sleep until then. An event records the time its stream's prior work ends. */
#include "drv.h"

#include <stdlib.h>
#include <string.h>

struct CUgraphNode_st {
    uint32_t magic;
    struct CUgraph_st *graph;
    uint64_t dur_ns;
};

struct CUgraph_st {
    uint32_t magic;
    size_t n, cap;
    struct CUgraphNode_st **nodes;
};

struct CUgraphExec_st {
    uint32_t magic;
    size_t n;
    uint64_t *dur_ns;
};

static struct sim_driver *D(void)
{
    return sim_drv();
}

static void atomic_max(_Atomic uint64_t *a, uint64_t v)
{
    uint64_t cur = atomic_load(a);
    while (cur < v && !atomic_compare_exchange_weak(a, &cur, v))
        ;
}

CUresult sim_stream_resolve(CUstream hs, struct CUstream_st **out)
{
    if (!hs || hs == CU_STREAM_LEGACY || hs == CU_STREAM_PER_THREAD) {
        struct CUctx_st *ctx;
        CUresult rc = sim_current_ctx(&ctx);
        if (rc != CUDA_SUCCESS)
            return rc;
        *out = &ctx->null_stream;
        return CUDA_SUCCESS;
    }
    CUresult rc = sim_check_init();
    if (rc != CUDA_SUCCESS)
        return rc;
    if (hs->magic != MAGIC_STREAM)
        return CUDA_ERROR_INVALID_HANDLE;
    *out = hs;
    return CUDA_SUCCESS;
}

CUresult sim_stream_submit(struct CUstream_st *s, uint64_t dur_ns, enum simgpu_work_kind kind,
                           bool sync)
{
    uint64_t end = simgpu_submit(D()->st, s->ctx->gpu, D()->slot, dur_ns, kind);
    atomic_max(&s->last_end, end);
    atomic_max(&s->ctx->last_end, end);
    if (sync)
        vgpu_sleep_until_ns(end);
    return CUDA_SUCCESS;
}

/* ---- streams --------------------------------------------------------------- */

static CUresult stream_create(CUstream *out, unsigned flags, int priority)
{
    struct CUctx_st *ctx;
    CUresult rc = sim_current_ctx(&ctx);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!out || (flags & ~(unsigned)CU_STREAM_NON_BLOCKING))
        return CUDA_ERROR_INVALID_VALUE;
    struct CUstream_st *s = calloc(1, sizeof(*s));
    if (!s)
        return CUDA_ERROR_OUT_OF_MEMORY;
    s->magic = MAGIC_STREAM;
    s->flags = flags;
    s->priority = priority < -5 ? -5 : priority > 0 ? 0 : priority;
    s->ctx = ctx;
    s->id = atomic_fetch_add(&D()->next_id, 1) + 1;
    *out = s;
    return CUDA_SUCCESS;
}

SIM_API CUresult cuStreamCreate(CUstream *out, unsigned int flags)
{
    return stream_create(out, flags, 0);
}

SIM_API CUresult cuStreamCreateWithPriority(CUstream *out, unsigned int flags, int priority)
{
    return stream_create(out, flags, priority);
}

SIM_API CUresult cuStreamDestroy_v2(CUstream hs)
{
    struct CUstream_st *s;
    CUresult rc = sim_stream_resolve(hs, &s);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (s == &s->ctx->null_stream)
        return CUDA_ERROR_INVALID_HANDLE;
    s->magic = MAGIC_DEAD;
    free(s);
    return CUDA_SUCCESS;
}

SIM_API CUresult cuStreamSynchronize(CUstream hs)
{
    struct CUstream_st *s;
    CUresult rc = sim_stream_resolve(hs, &s);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (s->capture)
        return CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED;
    vgpu_sleep_until_ns(atomic_load(&s->last_end));
    sim_pools_trim(s->ctx->gpu);
    return CUDA_SUCCESS;
}
SIM_TWIN(cuStreamSynchronize, cuStreamSynchronize_ptsz);

SIM_API CUresult cuStreamQuery(CUstream hs)
{
    struct CUstream_st *s;
    CUresult rc = sim_stream_resolve(hs, &s);
    if (rc != CUDA_SUCCESS)
        return rc;
    return vgpu_now_ns() >= atomic_load(&s->last_end) ? CUDA_SUCCESS : CUDA_ERROR_NOT_READY;
}
SIM_TWIN(cuStreamQuery, cuStreamQuery_ptsz);

/* The device runs work in submission order, so anything recorded before is
 * already ahead of what the stream queues next: nothing to wait for. */
SIM_API CUresult cuStreamWaitEvent(CUstream hs, CUevent ev, unsigned int flags)
{
    struct CUstream_st *s;
    CUresult rc = sim_stream_resolve(hs, &s);
    if (rc != CUDA_SUCCESS)
        return rc;
    return ev && ev->magic == MAGIC_EVENT ? CUDA_SUCCESS : CUDA_ERROR_INVALID_HANDLE;
}
SIM_TWIN(cuStreamWaitEvent, cuStreamWaitEvent_ptsz);

SIM_API CUresult cuStreamGetPriority(CUstream hs, int *priority)
{
    struct CUstream_st *s;
    CUresult rc = sim_stream_resolve(hs, &s);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!priority)
        return CUDA_ERROR_INVALID_VALUE;
    *priority = s->priority;
    return CUDA_SUCCESS;
}
SIM_TWIN(cuStreamGetPriority, cuStreamGetPriority_ptsz);

SIM_API CUresult cuStreamGetFlags(CUstream hs, unsigned int *flags)
{
    struct CUstream_st *s;
    CUresult rc = sim_stream_resolve(hs, &s);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!flags)
        return CUDA_ERROR_INVALID_VALUE;
    *flags = s->flags;
    return CUDA_SUCCESS;
}
SIM_TWIN(cuStreamGetFlags, cuStreamGetFlags_ptsz);

SIM_API CUresult cuStreamGetCtx(CUstream hs, CUcontext *pctx)
{
    struct CUstream_st *s;
    CUresult rc = sim_stream_resolve(hs, &s);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!pctx)
        return CUDA_ERROR_INVALID_VALUE;
    *pctx = s->ctx;
    return CUDA_SUCCESS;
}
SIM_TWIN(cuStreamGetCtx, cuStreamGetCtx_ptsz);

SIM_API CUresult cuStreamGetId(CUstream hs, unsigned long long *id)
{
    struct CUstream_st *s;
    CUresult rc = sim_stream_resolve(hs, &s);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!id)
        return CUDA_ERROR_INVALID_VALUE;
    *id = s->id;
    return CUDA_SUCCESS;
}
SIM_TWIN(cuStreamGetId, cuStreamGetId_ptsz);

struct host_call {
    uint64_t at_ns;
    CUhostFn fn;
    void *arg;
};

static void *host_call_thread(void *p)
{
    struct host_call hc = *(struct host_call *)p;
    free(p);
    vgpu_sleep_until_ns(hc.at_ns);
    hc.fn(hc.arg);
    return NULL;
}

/* The function runs on a driver thread once the stream's prior work is done. */
SIM_API CUresult cuLaunchHostFunc(CUstream hs, CUhostFn fn, void *arg)
{
    struct CUstream_st *s;
    pthread_t t;
    pthread_attr_t attr;
    CUresult rc = sim_stream_resolve(hs, &s);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!fn)
        return CUDA_ERROR_INVALID_VALUE;
    if (s->capture)
        return CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED;
    struct host_call *hc = malloc(sizeof(*hc));
    if (!hc)
        return CUDA_ERROR_OUT_OF_MEMORY;
    *hc = (struct host_call){.at_ns = atomic_load(&s->last_end), .fn = fn, .arg = arg};
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int err = pthread_create(&t, &attr, host_call_thread, hc);
    pthread_attr_destroy(&attr);
    if (err) {
        free(hc);
        return CUDA_ERROR_OUT_OF_MEMORY;
    }
    return CUDA_SUCCESS;
}
SIM_TWIN(cuLaunchHostFunc, cuLaunchHostFunc_ptsz);

/* ---- events ------------------------------------------------------------------ */

SIM_API CUresult cuEventCreate(CUevent *out, unsigned int flags)
{
    struct CUctx_st *ctx;
    CUresult rc = sim_current_ctx(&ctx);
    if (rc != CUDA_SUCCESS)
        return rc;
    unsigned ok = CU_EVENT_BLOCKING_SYNC | CU_EVENT_DISABLE_TIMING | CU_EVENT_INTERPROCESS;
    if (!out || (flags & ~ok))
        return CUDA_ERROR_INVALID_VALUE;
    struct CUevent_st *e = calloc(1, sizeof(*e));
    if (!e)
        return CUDA_ERROR_OUT_OF_MEMORY;
    e->magic = MAGIC_EVENT;
    e->flags = flags;
    e->ctx = ctx;
    *out = e;
    return CUDA_SUCCESS;
}

static CUresult event_check(CUevent e)
{
    CUresult rc = sim_check_init();
    if (rc != CUDA_SUCCESS)
        return rc;
    return e && e->magic == MAGIC_EVENT ? CUDA_SUCCESS : CUDA_ERROR_INVALID_HANDLE;
}

SIM_API CUresult cuEventDestroy_v2(CUevent e)
{
    CUresult rc = event_check(e);
    if (rc != CUDA_SUCCESS)
        return rc;
    e->magic = MAGIC_DEAD;
    free(e);
    return CUDA_SUCCESS;
}

SIM_API CUresult cuEventRecord(CUevent e, CUstream hs)
{
    struct CUstream_st *s;
    CUresult rc = event_check(e);
    if (rc == CUDA_SUCCESS)
        rc = sim_stream_resolve(hs, &s);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (s->capture)
        return CUDA_SUCCESS; /* a captured record is ordering only; kernels carry the time */
    uint64_t now = vgpu_now_ns(), end = atomic_load(&s->last_end);
    atomic_store(&e->time_ns, end > now ? end : now);
    return CUDA_SUCCESS;
}
SIM_TWIN(cuEventRecord, cuEventRecord_ptsz);

SIM_API CUresult cuEventRecordWithFlags(CUevent e, CUstream hs, unsigned int flags)
{
    return cuEventRecord(e, hs);
}
SIM_TWIN(cuEventRecordWithFlags, cuEventRecordWithFlags_ptsz);

SIM_API CUresult cuEventQuery(CUevent e)
{
    CUresult rc = event_check(e);
    if (rc != CUDA_SUCCESS)
        return rc;
    return vgpu_now_ns() >= atomic_load(&e->time_ns) ? CUDA_SUCCESS : CUDA_ERROR_NOT_READY;
}

SIM_API CUresult cuEventSynchronize(CUevent e)
{
    CUresult rc = event_check(e);
    if (rc != CUDA_SUCCESS)
        return rc;
    vgpu_sleep_until_ns(atomic_load(&e->time_ns));
    sim_pools_trim(e->ctx->gpu);
    return CUDA_SUCCESS;
}

SIM_API CUresult cuEventElapsedTime_v2(float *ms, CUevent start, CUevent end)
{
    CUresult rc = event_check(start);
    if (rc == CUDA_SUCCESS)
        rc = event_check(end);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!ms)
        return CUDA_ERROR_INVALID_VALUE;
    uint64_t t0 = atomic_load(&start->time_ns), t1 = atomic_load(&end->time_ns);
    if ((start->flags | end->flags) & CU_EVENT_DISABLE_TIMING || !t0 || !t1)
        return CUDA_ERROR_INVALID_HANDLE;
    uint64_t now = vgpu_now_ns();
    if (now < t0 || now < t1)
        return CUDA_ERROR_NOT_READY;
    *ms = (float)((double)((int64_t)(t1 - t0)) / 1e6);
    return CUDA_SUCCESS;
}

SIM_API CUresult cuEventElapsedTime(float *ms, CUevent start, CUevent end)
{
    return cuEventElapsedTime_v2(ms, start, end);
}

/* ---- launches ------------------------------------------------------------------ */

static CUresult func_check(CUfunction f)
{
    return f && f->magic == MAGIC_FUNC ? CUDA_SUCCESS : CUDA_ERROR_INVALID_HANDLE;
}

static uint64_t kernel_ns(CUfunction f, void **params, void **extra)
{
    unsigned long long us = 0;
    if (!f->busy)
        return D()->st->kernel_ns;
    if (params && params[0]) {
        memcpy(&us, params[0], sizeof(us));
    } else {
        for (int i = 0; extra && extra[i] != CU_LAUNCH_PARAM_END; i += 2) {
            if (extra[i] == CU_LAUNCH_PARAM_BUFFER_POINTER && extra[i + 1])
                memcpy(&us, extra[i + 1], sizeof(us));
        }
    }
    return us > UINT64_MAX / 1000 ? UINT64_MAX / 2 : (uint64_t)us * 1000ULL;
}

static CUresult check_dims(unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by,
                           unsigned bz, unsigned shmem)
{
    if (!gx || !gy || !gz || !bx || !by || !bz || gy > 65535 || gz > 65535 || bx > 1024 ||
        by > 1024 || bz > 64 || (uint64_t)bx * by * bz > 1024)
        return CUDA_ERROR_INVALID_VALUE;
    return shmem > 232448 ? CUDA_ERROR_INVALID_VALUE : CUDA_SUCCESS;
}

static CUresult graph_add(struct CUgraph_st *g, uint64_t dur_ns, struct CUgraphNode_st **out);

static CUresult launch(CUfunction f, unsigned gx, unsigned gy, unsigned gz, unsigned bx,
                       unsigned by, unsigned bz, unsigned shmem, CUstream hs, void **params,
                       void **extra, bool cooperative)
{
    struct CUstream_st *s;
    CUresult rc = sim_stream_resolve(hs, &s);
    if (rc == CUDA_SUCCESS)
        rc = func_check(f);
    if (rc == CUDA_SUCCESS)
        rc = check_dims(gx, gy, gz, bx, by, bz, shmem);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (cooperative && (uint64_t)gx * gy * gz >
                           (uint64_t)D()->st->gpu[s->ctx->gpu].sm_count * 2048 / (bx * by * bz))
        return CUDA_ERROR_COOPERATIVE_LAUNCH_TOO_LARGE;
    uint64_t dur = kernel_ns(f, params, extra);
    if (s->capture)
        return graph_add(s->capture, dur, NULL);
    return sim_stream_submit(s, dur, SIMGPU_WORK_KERNEL, false);
}

SIM_API CUresult cuLaunchKernel(CUfunction f, unsigned int gx, unsigned int gy, unsigned int gz,
                                unsigned int bx, unsigned int by, unsigned int bz,
                                unsigned int shmem, CUstream hs, void **params, void **extra)
{
    return launch(f, gx, gy, gz, bx, by, bz, shmem, hs, params, extra, false);
}
SIM_TWIN(cuLaunchKernel, cuLaunchKernel_ptsz);

SIM_API CUresult cuLaunchCooperativeKernel(CUfunction f, unsigned int gx, unsigned int gy,
                                           unsigned int gz, unsigned int bx, unsigned int by,
                                           unsigned int bz, unsigned int shmem, CUstream hs,
                                           void **params)
{
    return launch(f, gx, gy, gz, bx, by, bz, shmem, hs, params, NULL, true);
}
SIM_TWIN(cuLaunchCooperativeKernel, cuLaunchCooperativeKernel_ptsz);

SIM_API CUresult cuLaunchKernelEx(const CUlaunchConfig *c, CUfunction f, void **params,
                                  void **extra)
{
    bool coop = false;
    if (!c)
        return CUDA_ERROR_INVALID_VALUE;
    for (unsigned i = 0; i < c->numAttrs; i++)
        if (c->attrs[i].id == CU_LAUNCH_ATTRIBUTE_COOPERATIVE && c->attrs[i].value.cooperative)
            coop = true;
    return launch(f, c->gridDimX, c->gridDimY, c->gridDimZ, c->blockDimX, c->blockDimY,
                  c->blockDimZ, c->sharedMemBytes, c->hStream, params, extra, coop);
}
SIM_TWIN(cuLaunchKernelEx, cuLaunchKernelEx_ptsz);

/* ---- graphs -------------------------------------------------------------------- */

static CUresult graph_add(struct CUgraph_st *g, uint64_t dur_ns, struct CUgraphNode_st **out)
{
    if (g->n == g->cap) {
        size_t cap = g->cap ? g->cap * 2 : 16;
        struct CUgraphNode_st **n = realloc(g->nodes, cap * sizeof(*n));
        if (!n)
            return CUDA_ERROR_OUT_OF_MEMORY;
        g->nodes = n;
        g->cap = cap;
    }
    struct CUgraphNode_st *node = calloc(1, sizeof(*node));
    if (!node)
        return CUDA_ERROR_OUT_OF_MEMORY;
    *node = (struct CUgraphNode_st){.magic = MAGIC_GNODE, .graph = g, .dur_ns = dur_ns};
    g->nodes[g->n++] = node;
    if (out)
        *out = node;
    return CUDA_SUCCESS;
}

static struct CUgraph_st *graph_new(void)
{
    struct CUgraph_st *g = calloc(1, sizeof(*g));
    if (g)
        g->magic = MAGIC_GRAPH;
    return g;
}

static CUresult graph_check(CUgraph g)
{
    CUresult rc = sim_check_init();
    if (rc != CUDA_SUCCESS)
        return rc;
    return g && g->magic == MAGIC_GRAPH ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}

SIM_API CUresult cuGraphCreate(CUgraph *out, unsigned int flags)
{
    CUresult rc = sim_check_init();
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!out || flags)
        return CUDA_ERROR_INVALID_VALUE;
    *out = graph_new();
    return *out ? CUDA_SUCCESS : CUDA_ERROR_OUT_OF_MEMORY;
}

SIM_API CUresult cuGraphDestroy(CUgraph g)
{
    CUresult rc = graph_check(g);
    if (rc != CUDA_SUCCESS)
        return rc;
    for (size_t i = 0; i < g->n; i++) {
        g->nodes[i]->magic = MAGIC_DEAD;
        free(g->nodes[i]);
    }
    free(g->nodes);
    g->magic = MAGIC_DEAD;
    free(g);
    return CUDA_SUCCESS;
}

SIM_API CUresult cuGraphAddKernelNode_v2(CUgraphNode *out, CUgraph g, const CUgraphNode *deps,
                                         size_t ndeps, const CUDA_KERNEL_NODE_PARAMS *p)
{
    CUresult rc = graph_check(g);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!out || !p || (ndeps && !deps))
        return CUDA_ERROR_INVALID_VALUE;
    CUfunction f = p->func ? p->func : (CUfunction)(void *)p->kern;
    rc = func_check(f);
    if (rc == CUDA_SUCCESS)
        rc = check_dims(p->gridDimX, p->gridDimY, p->gridDimZ, p->blockDimX, p->blockDimY,
                        p->blockDimZ, p->sharedMemBytes);
    if (rc != CUDA_SUCCESS)
        return rc;
    return graph_add(g, kernel_ns(f, p->kernelParams, p->extra), out);
}

SIM_API CUresult cuGraphGetNodes(CUgraph g, CUgraphNode *nodes, size_t *n)
{
    CUresult rc = graph_check(g);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!n)
        return CUDA_ERROR_INVALID_VALUE;
    if (nodes)
        for (size_t i = 0; i < *n && i < g->n; i++)
            nodes[i] = g->nodes[i];
    *n = g->n;
    return CUDA_SUCCESS;
}

static CUresult instantiate(CUgraphExec *out, CUgraph g)
{
    CUresult rc = graph_check(g);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!out)
        return CUDA_ERROR_INVALID_VALUE;
    struct CUgraphExec_st *x = calloc(1, sizeof(*x));
    uint64_t *d = calloc(g->n ? g->n : 1, sizeof(*d));
    if (!x || !d) {
        free(x);
        free(d);
        return CUDA_ERROR_OUT_OF_MEMORY;
    }
    for (size_t i = 0; i < g->n; i++)
        d[i] = g->nodes[i]->dur_ns;
    *x = (struct CUgraphExec_st){.magic = MAGIC_GEXEC, .n = g->n, .dur_ns = d};
    *out = x;
    return CUDA_SUCCESS;
}

SIM_API CUresult cuGraphInstantiateWithFlags(CUgraphExec *out, CUgraph g, unsigned long long fl)
{
    return instantiate(out, g);
}

SIM_API CUresult cuGraphInstantiate_v2(CUgraphExec *out, CUgraph g, CUgraphNode *err_node,
                                       char *log, size_t log_size)
{
    if (log && log_size)
        log[0] = '\0';
    return instantiate(out, g);
}

SIM_API CUresult cuGraphInstantiateWithParams(CUgraphExec *out, CUgraph g,
                                              CUDA_GRAPH_INSTANTIATE_PARAMS *p)
{
    CUresult rc = instantiate(out, g);
    if (p) {
        p->hErrNode_out = NULL;
        p->result_out =
            rc == CUDA_SUCCESS ? CUDA_GRAPH_INSTANTIATE_SUCCESS : CUDA_GRAPH_INSTANTIATE_ERROR;
    }
    return rc;
}
SIM_TWIN(cuGraphInstantiateWithParams, cuGraphInstantiateWithParams_ptsz);

SIM_API CUresult cuGraphExecDestroy(CUgraphExec x)
{
    CUresult rc = sim_check_init();
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!x || x->magic != MAGIC_GEXEC)
        return CUDA_ERROR_INVALID_VALUE;
    x->magic = MAGIC_DEAD;
    free(x->dur_ns);
    free(x);
    return CUDA_SUCCESS;
}

SIM_API CUresult cuGraphLaunch(CUgraphExec x, CUstream hs)
{
    struct CUstream_st *s;
    CUresult rc = sim_stream_resolve(hs, &s);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!x || x->magic != MAGIC_GEXEC)
        return CUDA_ERROR_INVALID_VALUE;
    if (s->capture)
        return CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED;
    for (size_t i = 0; i < x->n && rc == CUDA_SUCCESS; i++)
        rc = sim_stream_submit(s, x->dur_ns[i], i ? SIMGPU_WORK_KERNEL : SIMGPU_WORK_GRAPH, false);
    return rc;
}
SIM_TWIN(cuGraphLaunch, cuGraphLaunch_ptsz);

SIM_API CUresult cuGraphUpload(CUgraphExec x, CUstream hs)
{
    struct CUstream_st *s;
    CUresult rc = sim_stream_resolve(hs, &s);
    if (rc != CUDA_SUCCESS)
        return rc;
    return x && x->magic == MAGIC_GEXEC ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}
SIM_TWIN(cuGraphUpload, cuGraphUpload_ptsz);

SIM_API CUresult cuStreamBeginCapture_v2(CUstream hs, CUstreamCaptureMode mode)
{
    struct CUstream_st *s;
    CUresult rc = sim_stream_resolve(hs, &s);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (s == &s->ctx->null_stream)
        return CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED;
    if (s->capture)
        return CUDA_ERROR_ILLEGAL_STATE;
    s->capture = graph_new();
    if (!s->capture)
        return CUDA_ERROR_OUT_OF_MEMORY;
    s->capture_mode = mode;
    s->capture_id = atomic_fetch_add(&D()->next_id, 1) + 1;
    return CUDA_SUCCESS;
}
SIM_TWIN(cuStreamBeginCapture_v2, cuStreamBeginCapture_v2_ptsz);

SIM_API CUresult cuStreamEndCapture(CUstream hs, CUgraph *out)
{
    struct CUstream_st *s;
    CUresult rc = sim_stream_resolve(hs, &s);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!out)
        return CUDA_ERROR_INVALID_VALUE;
    if (!s->capture)
        return CUDA_ERROR_ILLEGAL_STATE;
    *out = s->capture;
    s->capture = NULL;
    return CUDA_SUCCESS;
}
SIM_TWIN(cuStreamEndCapture, cuStreamEndCapture_ptsz);

SIM_API CUresult cuStreamIsCapturing(CUstream hs, CUstreamCaptureStatus *status)
{
    struct CUstream_st *s;
    CUresult rc = sim_stream_resolve(hs, &s);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (!status)
        return CUDA_ERROR_INVALID_VALUE;
    *status = s->capture ? CU_STREAM_CAPTURE_STATUS_ACTIVE : CU_STREAM_CAPTURE_STATUS_NONE;
    return CUDA_SUCCESS;
}
SIM_TWIN(cuStreamIsCapturing, cuStreamIsCapturing_ptsz);

/* The calling thread's capture mode. simgpu never refuses a call because
 * another thread captures, so the mode is only kept and exchanged. */
static _Thread_local CUstreamCaptureMode thread_capture_mode = CU_STREAM_CAPTURE_MODE_GLOBAL;

SIM_API CUresult cuThreadExchangeStreamCaptureMode(CUstreamCaptureMode *mode)
{
    if (!mode ||
        (*mode != CU_STREAM_CAPTURE_MODE_GLOBAL && *mode != CU_STREAM_CAPTURE_MODE_THREAD_LOCAL &&
         *mode != CU_STREAM_CAPTURE_MODE_RELAXED))
        return CUDA_ERROR_INVALID_VALUE;
    CUstreamCaptureMode old = thread_capture_mode;
    thread_capture_mode = *mode;
    *mode = old;
    return CUDA_SUCCESS;
}
