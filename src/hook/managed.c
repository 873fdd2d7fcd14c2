/* managed: libvgpu.so's link to vgpud.
 *
 * When vgpud answers on VGPU_SOCKET (or the default socket), it decides this
 * process's tenant from the token an admin issued (VGPU_TOKEN) or from what
 * the kernel says about us (uid, cgroup); VGPU_TENANT is only a request,
 * granted if we are bound to that tenant or are an admin. vgpud owns the tenant's limits (written
 * into its account, which we read on every allocation). The connection stays open for the life of
 * the process so vgpud sees us leave. No vgpud: standalone (limits from the environment, or the
 * last ones vgpud wrote). vgpud refusing us: fail closed.
 *
 * If vgpud goes away, the process carries on under the limits in its
 * account; a watcher thread (all signals blocked, so it never takes one of
 * the program's) notices the closed connection and re-attaches, as the same
 * tenant, once a second until vgpud is back. Nothing here is on a hot path. */
#include "internal.h"

#include "common.h"
#include "proto.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define P (&vgpu__proc)
#define CALL_TIMEOUT_MS 5000

/* Connects and asks for `tenant` (NULL: let vgpud choose). The connected fd,
 * -1 when vgpud is not there or did not answer, -2 when it refused us (the
 * reason is in err). On success *tenant_out holds vgpud's choice. */
static int attach_once(const char *tenant, char *tenant_out, size_t outlen, char *err,
                       size_t errlen)
{
    char path[108];
    const char *sock = vgpu_client_socket(path, sizeof(path));
    json_t *args, *res = NULL;
    int fd = sock ? vgpu_client_connect(sock) : -1;
    if (fd < 0) {
        snprintf(err, errlen, "no vgpud at %s", sock ? sock : "(no socket path)");
        return -1;
    }
    args = tenant ? json_pack("{s:s}", "tenant", tenant) : json_object();
    const char *token = getenv("VGPU_TOKEN"); /* at attach only, never on a hot path */
    if (token && *token)
        json_object_set_new(args, "token", json_string(token));
    int rc = vgpu_client_call(fd, "client.attach", args, &res, err, errlen, CALL_TIMEOUT_MS);
    json_decref(args);
    if (rc != 0) {
        close(fd);
        return rc == -EREMOTEIO ? -2 : -1;
    }
    const char *t = json_string_value(json_object_get(res, "name"));
    if (t)
        vgpu_strlcpy(tenant_out, t, outlen);
    json_decref(res);
    return fd;
}

static void *watch(void *arg)
{
    char tenant[64], err[512];
    vgpu_strlcpy(tenant, P->tenant, sizeof(tenant));
    for (;;) {
        int fd = atomic_load(&P->vgpud_fd);
        struct pollfd p = {.fd = fd, .events = POLLIN};
        char buf[4096];
        if (fd < 0)
            return NULL;
        if (poll(&p, 1, -1) < 0)
            continue;
        ssize_t n = read(fd, buf, sizeof(buf)); /* vgpud's events: none acted on yet */
        if (n > 0 || (n < 0 && errno == EINTR))
            continue;
        vgpu_warn("lost vgpud: carrying on with tenant %s's last limits", tenant);
        close(fd);
        atomic_store(&P->vgpud_fd, -1);
        while ((fd = attach_once(tenant, tenant, sizeof(tenant), err, sizeof(err))) < 0)
            sleep(1);
        atomic_store(&P->vgpud_fd, fd);
        vgpu_info("re-attached to vgpud as tenant %s", tenant);
    }
}

CUresult vgpu__managed_attach(void)
{
    char err[512];
    int fd = attach_once(P->tenant_given ? P->tenant : NULL, P->tenant, sizeof(P->tenant), err,
                         sizeof(err));
    if (fd == -2) {
        fprintf(stderr, "vgpu: vgpud refused this process: %s; CUDA calls fail\n", err);
        return CUDA_ERROR_INVALID_VALUE;
    }
    if (fd < 0) {
        vgpu_info("%s: standalone", err);
        return CUDA_SUCCESS;
    }
    atomic_store(&P->vgpud_fd, fd);
    vgpu_info("managed by vgpud: tenant %s", P->tenant);
    if (!P->watching) {
        pthread_t t;
        pthread_attr_t attr;
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old); /* the thread inherits "all blocked" */
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        P->watching = pthread_create(&t, &attr, watch, NULL) == 0;
        pthread_attr_destroy(&attr);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (!P->watching)
            vgpu_warn("no watcher thread: a vgpud restart will not be noticed");
    }
    return CUDA_SUCCESS;
}

void vgpu__managed_forget(void)
{
    int fd = atomic_exchange(&P->vgpud_fd, -1);
    if (fd >= 0)
        close(fd);       /* the parent's connection; the child attaches anew */
    P->watching = false; /* threads do not survive fork */
}
