/* daemon: vgpud, the host daemon.
 *
 * It owns the state (store.h, SQLite), serves the control socket (server.c:
 * libevent, the framed protocol of src/proto, SO_PEERCRED identity) and
 * carries out requests (ops.c): admin operations change the store in one
 * transaction, then the tenants' shared-memory accounts, which libvgpu.so in
 * every process of a tenant reads on each allocation, so a new limit holds at
 * once. With --http it also serves HTTP (http.c, http.h: the same requests
 * as a JSON API, /metrics, the dashboard). It may call: common, device,
 * proto, store, the tenant account (src/hook/account.h), the scheduler
 * (src/sched), the dashboard's files (src/dashboard). Single-threaded:
 * everything runs on the event loop. */
#ifndef VGPU_DAEMON_H
#define VGPU_DAEMON_H

#include "proto.h"
#include "store.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct event_base;
struct vgpu_acct;
struct vgpu_sched;

struct vgpud {
    struct event_base *base;
    struct vgpu_store *store;
    char socket_path[108];
    char db_path[4096];
    uint64_t started_ns;
    gid_t admin_gid; /* the "vgpu" group, or (gid_t)-1 when there is none */
    bool have_admin_gid;
    unsigned clients;           /* open connections */
    struct vgpu_sched *sched;   /* the GPU-time scheduler's region (src/sched) */
    uint64_t watchdog_grace_ms; /* past quantum + this, a holder raises an event */
    uint32_t wd_warned[32];     /* per scheduler GPU: lease generation + 1 warned about */
    uint32_t wd_acted[32];      /* ... and the one an execution-limit policy acted on */
    /* live.c: the tenants' accounts, mapped once (name -> index in accts) */
    json_t *acct_index;
    struct vgpu_acct **accts;
    size_t naccts, cap_accts;
};

/* Who is on the other end of a connection (SO_PEERCRED). */
struct vgpu_peer {
    pid_t pid;
    uid_t uid;
    gid_t gid;
    bool admin;      /* root or a member of the vgpu group */
    char tenant[64]; /* set once the peer attached as a client of this tenant */
};

/* The peer's groups, primary first then the supplementary ones of its user
 * (the group database, as for admin rights); returns how many (<= max). */
int vgpud_peer_groups(const struct vgpu_peer *peer, gid_t *out, int max);

/* server.c: binds the socket (replacing a stale one, refusing a live one). */
int vgpud_listen(struct vgpud *d);
void vgpud_unlisten(struct vgpud *d);

/* The attached clients: [{pid, uid, tenant}] (server.c). */
json_t *vgpud_clients(struct vgpud *d);

/* http.c: serves the JSON API, /metrics and the dashboard over HTTP on
 * `addr` (--http: PORT, ADDR:PORT or [IPV6]:PORT; see http.h), writing the
 * bound "ADDR:PORT" to port_file (NULL: none) once listening. 0 or -errno
 * (logged). vgpud_http_close stops it and removes the port file. */
int vgpud_http_listen(struct vgpud *d, const char *addr, const char *port_file);
void vgpud_http_close(void);

/* watchdog.c: looks for holders past their quantum (a timer, ten times a
 * second): events, and each tenant's execution-limit policy. */
void vgpud_watchdog(struct vgpud *d);

/* live.c: adds each tenant of `tenants` (the store's list) its live figures:
 * memory in use per GPU and processes (its account), GPU time, grants,
 * queue, work in flight and wait histograms (the scheduler). `brief`
 * leaves out the per-GPU detail and the histograms' buckets (what a table
 * of all tenants does not show; their totals and percentiles stay). */
void vgpud_add_live(struct vgpud *d, json_t *tenants, bool brief);
/* The scheduler's view of each GPU (holder, waiters, hand-offs, idle time),
 * its quantum, cap window and the wait histograms' bounds. */
json_t *vgpud_sched_status(struct vgpud *d);
/* Tenant `name`'s account, kept mapped: mapped again (and created if need
 * be) when `create` (vgpud writes its limits), else the kept mapping or, on
 * first use, the existing region's; NULL when there is none. */
struct vgpu_acct *vgpud_acct(struct vgpud *d, const char *name, bool create);
/* Drops the mapping of a removed tenant's account; all of them at exit. */
void vgpud_acct_forget(struct vgpud *d, const char *name);
void vgpud_acct_close(struct vgpud *d);

/* ops.c: carries out one request; returns the reply body (a new reference).
 * client.attach records the tenant in peer. */
json_t *vgpud_handle(struct vgpud *d, struct vgpu_peer *peer, const json_t *request);
/* The status document (what the "status" operation returns): GPUs, pools,
 * tenants with their live figures, clients, weights, the scheduler's view of
 * each GPU and the daemon's own figures. A new reference. */
json_t *vgpud_status(struct vgpud *d, bool brief);
/* Rescans the GPUs into the store (startup, SIGHUP, scan-gpus). */
int vgpud_scan(struct vgpud *d, struct vgpu_err *err);
/* Writes every tenant's limits into its account and its scheduling policy
 * and the class weights into the scheduler (startup, SIGHUP). */
void vgpud_apply_all(struct vgpud *d);
/* Gives back what dead processes held in every tenant's account and their
 * leases in the scheduler (a timer, once a second: no other process of the
 * tenant needs to come by). */
void vgpud_reap_all(struct vgpud *d);

/* metrics.c: the Prometheus text (exposition format 0.0.4) of what status
 * returns plus live GPU figures; malloc'd, NULL when out of memory. */
char *vgpud_metrics_text(struct vgpud *d);

#endif
