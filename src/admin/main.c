/* vgpu-admin: entry point, global options and the request helper (see admin.h).
 *
 *   vgpu-admin [--socket PATH] COMMAND [OPTIONS] [--json]
 */
#include "admin.h"

#include "common.h"
#include "proto.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TIMEOUT_MS 10000

static void usage(FILE *f)
{
    fprintf(f, "usage: vgpu-admin [--socket PATH] COMMAND [OPTIONS]\n\n"
               "The vgpu control panel: GPUs, pools, tenants and their limits, live status.\n\n"
               "Commands:\n");
    for (int i = 0; i < admin_ncmds; i++)
        fprintf(f, "  %-14s %s\n", admin_cmds[i].name, admin_cmds[i].summary);
    fprintf(f, "\nEvery listing takes --json; every command takes --help.\n"
               "--socket PATH (or VGPU_SOCKET) names vgpud's control socket.\n"
               "Exit status: 0 ok, 1 error, 2 usage.\n");
}

int admin_usage(const struct admin_cmd *cmd)
{
    fprintf(stderr, "usage: vgpu-admin %s\n", cmd->usage);
    return 2;
}

int admin_print_json(const json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!s)
        return 1;
    puts(s);
    free(s);
    return 0;
}

int admin_request(struct admin *a, const char *op, const json_t *args, json_t **result, char *err,
                  size_t errlen, int timeout_ms)
{
    int rc;

    if (a->fd < 0) {
        char path[108];
        const char *sock = a->socket ? a->socket : vgpu_client_socket(path, sizeof(path));
        if (!sock)
            return vgpu_errf(err, errlen, -EDESTADDRREQ,
                             "no control socket path: use --socket PATH");
        a->fd = vgpu_client_connect(sock);
        if (a->fd < 0) {
            rc = a->fd;
            a->fd = -1;
            return vgpu_errf(err, errlen, rc, "cannot reach vgpud at %s: %s%s", sock, strerror(-rc),
                             rc == -ENOENT || rc == -ECONNREFUSED ? " (is vgpud running?)" : "");
        }
    }
    rc = vgpu_client_call(a->fd, op, args, result, err, errlen, timeout_ms);
    if (rc != 0 && rc != -EREMOTEIO) { /* the stream may stop mid-frame: start again */
        close(a->fd);
        a->fd = -1;
        if (!err[0])
            vgpu_errf(err, errlen, rc, "%s: %s", op, strerror(-rc));
    }
    return rc;
}

int admin_call(struct admin *a, const char *op, json_t *args, json_t **result)
{
    char err[512];
    json_t *res = NULL;
    int rc = admin_request(a, op, args, &res, err, sizeof(err), TIMEOUT_MS);

    json_decref(args);
    if (rc != 0) {
        fprintf(stderr, "vgpu-admin: %s\n", err);
        return 1;
    }
    if (result)
        *result = res;
    else
        json_decref(res);
    return 0;
}

int main(int argc, char **argv)
{
    struct admin a = {.fd = -1, .socket = NULL};
    int i = 1, rc;

    vgpu_log_init("vgpu-admin", "VGPU_LOG_LEVEL", VGPU_LOG_WARN);
    while (i < argc && argv[i][0] == '-') {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "--version") == 0) {
            printf("vgpu-admin %s\n", VGPU_VERSION);
            return 0;
        } else if (strcmp(argv[i], "--socket") == 0 && i + 1 < argc) {
            a.socket = argv[i + 1];
            i += 2;
        } else if (strncmp(argv[i], "--socket=", 9) == 0) {
            a.socket = argv[i] + 9;
            i++;
        } else {
            fprintf(stderr, "vgpu-admin: unknown option '%s' (see vgpu-admin --help)\n", argv[i]);
            return 2;
        }
    }
    if (i >= argc) {
        usage(stderr);
        return 2;
    }
    for (int k = 0; k < admin_ncmds; k++) {
        if (strcmp(admin_cmds[k].name, argv[i]) == 0) {
            rc = admin_cmds[k].run(&a, argc - i, argv + i);
            if (a.fd >= 0)
                close(a.fd);
            return rc;
        }
    }
    fprintf(stderr, "vgpu-admin: unknown command '%s' (see vgpu-admin --help)\n", argv[i]);
    return 2;
}
