/* vgpud: the vgpu host daemon (see daemon.h for what it owns).
 *
 *   vgpud [--socket PATH] [--db PATH] [--foreground] [--log-level LEVEL]
 *         [--http ADDR:PORT [--http-port-file PATH]]
 *
 * Start-up: open the state (creating or migrating the database), scan the
 * GPUs into it (a machine without a GPU or driver still serves: the scan
 * error is logged and GPU commands say so), write every tenant's limits into
 * its account, listen (the control socket, and HTTP when --http names an
 * address), and run the event loop. SIGTERM and SIGINT stop it
 * cleanly (the socket file is removed; the database is always consistent);
 * SIGHUP rescans the GPUs and rewrites the tenants' limits. Once a second it
 * gives back what dead processes held in the tenants' accounts. Without
 * --foreground it detaches and logs to syslog. */
#include "daemon.h"
#include "http.h"
#include "scheduler.h"

#include "common.h"
#include "device.h"

#include <errno.h>
#include <event2/event.h>
#include <getopt.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *f)
{
    fprintf(f,
            "usage: vgpud [--socket PATH] [--db PATH] [--foreground] [--log-level LEVEL]\n"
            "             [--watchdog-grace-ms MS] [--http ADDR:PORT [--http-port-file PATH]]\n"
            "\n"
            "The vgpu host daemon: state, GPU-time scheduling, the control socket, HTTP.\n"
            "  --socket PATH      control socket (default: $VGPU_SOCKET, else\n"
            "                     /run/vgpu/vgpud.sock as root, $XDG_RUNTIME_DIR/vgpu/vgpud.sock)\n"
            "  --db PATH          state database (default /var/lib/vgpu/vgpu.db as root,\n"
            "                     else $XDG_STATE_HOME/vgpu/vgpu.db)\n"
            "  --foreground       stay attached and log to stderr (for systemd and tests)\n"
            "  --log-level LEVEL  error, warn, info (default) or debug\n"
            "  --watchdog-grace-ms MS  a GPU held this long past its quantum while others\n"
            "                     wait raises a watchdog event (default 1000)\n"
            "  --http ADDR:PORT   serve the JSON API (/api/v1/...), /metrics and the dashboard\n"
            "                     (/) over HTTP: PORT alone or 127.0.0.1:PORT is loopback, where\n"
            "                     reads need no token; changes, and every request on another\n"
            "                     address (0.0.0.0:PORT, [::]:PORT), need a bearer token from\n"
            "                     `vgpu-admin token create --admin`. Port 0: any free port.\n"
            "                     Default: no HTTP.\n"
            "  --http-port-file PATH  write the bound ADDR:PORT there once listening\n"
            "  --help, --version\n");
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    struct vgpud *d = arg;
    if (sig == SIGHUP) {
        struct vgpu_err e = {0};
        vgpu_info("SIGHUP: rescanning GPUs and rewriting tenant limits");
        if (vgpud_scan(d, &e) != 0)
            vgpu_warn("GPU scan: %s", e.msg);
        vgpud_apply_all(d);
        return;
    }
    vgpu_info("signal %d: stopping", (int)sig);
    event_base_loopexit(d->base, NULL);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    vgpud_reap_all(arg);
}

static void on_watchdog(evutil_socket_t fd, short what, void *arg)
{
    vgpud_watchdog(arg);
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"socket", required_argument, NULL, 's'},
        {"db", required_argument, NULL, 'd'},
        {"foreground", no_argument, NULL, 'f'},
        {"log-level", required_argument, NULL, 'l'},
        {"watchdog-grace-ms", required_argument, NULL, 'w'},
        {"http", required_argument, NULL, 'H'},
        {"http-port-file", required_argument, NULL, 'P'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    struct vgpud d = {.watchdog_grace_ms = 1000};
    struct vgpu_err err = {0};
    enum vgpu_log_level level = VGPU_LOG_INFO;
    bool foreground = false;
    const char *socket_opt = NULL, *db_opt = NULL, *http_opt = NULL, *port_file = NULL;
    struct event *sigs[4] = {0}, *tick = NULL, *wd = NULL;
    char *end;
    int c, rc = 1;

    vgpu_log_init("vgpud", "VGPU_LOG_LEVEL", VGPU_LOG_INFO);
    level = vgpu_log_get_level();
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 's': socket_opt = optarg; break;
        case 'd': db_opt = optarg; break;
        case 'f': foreground = true; break;
        case 'l':
            if (vgpu_log_parse_level(optarg, &level) != 0) {
                fprintf(stderr, "vgpud: --log-level %s: expected error, warn, info or debug\n",
                        optarg);
                return 2;
            }
            break;
        case 'w':
            errno = 0;
            d.watchdog_grace_ms = strtoull(optarg, &end, 10);
            if (errno || end == optarg || *end || optarg[0] == '-' ||
                d.watchdog_grace_ms > 86400000) {
                fprintf(stderr,
                        "vgpud: --watchdog-grace-ms %s: expected milliseconds, 0-86400000\n",
                        optarg);
                return 2;
            }
            break;
        case 'H': {
            char host[64];
            uint16_t port;
            if (vgpud_http_parse_addr(optarg, host, sizeof(host), &port) != 0) {
                fprintf(stderr,
                        "vgpud: --http %s: expected PORT, ADDR:PORT or [IPV6]:PORT (ADDR numeric "
                        "or localhost, PORT 0-65535)\n",
                        optarg);
                return 2;
            }
            http_opt = optarg;
            break;
        }
        case 'P': port_file = optarg; break;
        case 'h': usage(stdout); return 0;
        case 'V': printf("vgpud %s\n", VGPU_VERSION); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (port_file && !http_opt) {
        fprintf(stderr, "vgpud: --http-port-file needs --http\n");
        return 2;
    }
    if (optind < argc) {
        fprintf(stderr, "vgpud: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    vgpu_log_set_level(level);
    if ((socket_opt &&
         vgpu_strlcpy(d.socket_path, socket_opt, sizeof(d.socket_path)) >= sizeof(d.socket_path)) ||
        (!socket_opt && !vgpu_default_socket(d.socket_path, sizeof(d.socket_path)))) {
        fprintf(stderr, "vgpud: no usable socket path (too long, or no runtime directory)\n");
        return 2;
    }
    if ((db_opt && vgpu_strlcpy(d.db_path, db_opt, sizeof(d.db_path)) >= sizeof(d.db_path)) ||
        (!db_opt && !vgpu_default_db(d.db_path, sizeof(d.db_path)))) {
        fprintf(stderr, "vgpud: no usable database path\n");
        return 2;
    }
    struct group *g = getgrnam("vgpu");
    d.have_admin_gid = g != NULL;
    d.admin_gid = g ? g->gr_gid : (gid_t)-1;
    d.started_ns = vgpu_now_ns();

    if (vgpu_store_open(d.db_path, &d.store, &err) != 0) {
        fprintf(stderr, "vgpud: %s: %s\n", d.db_path, err.msg);
        return 1;
    }
    if (vgpud_scan(&d, &err) != 0)
        vgpu_warn("GPU scan: %s (GPU commands will say so; SIGHUP rescans)", err.msg);
    d.sched = vgpu_sched_open(true);
    if (!d.sched)
        vgpu_warn("no GPU-time scheduler: priorities, caps and quarantine are not enforced");
    vgpud_apply_all(&d);
    d.base = event_base_new();
    if (!d.base || vgpud_listen(&d) != 0 ||
        (http_opt && vgpud_http_listen(&d, http_opt, port_file) != 0))
        goto out;
    if (!foreground) {
        if (daemon(0, 0) != 0) {
            vgpu_error("cannot detach: %s", strerror(errno));
            goto out;
        }
        vgpu_log_to_syslog(true);
        event_reinit(d.base);
    }
    static const int signals[] = {SIGTERM, SIGINT, SIGHUP};
    signal(SIGPIPE, SIG_IGN);
    for (int i = 0; i < 3; i++) {
        sigs[i] = evsignal_new(d.base, signals[i], on_signal, &d);
        if (!sigs[i] || event_add(sigs[i], NULL) != 0)
            goto out;
    }
    struct timeval second = {1, 0};
    tick = event_new(d.base, -1, EV_PERSIST, on_tick, &d);
    if (!tick || event_add(tick, &second) != 0)
        goto out;
    struct timeval tenth = {0, 100000};
    wd = event_new(d.base, -1, EV_PERSIST, on_watchdog, &d);
    if (!wd || event_add(wd, &tenth) != 0)
        goto out;
    vgpu_info("vgpud %s listening on %s, state in %s", VGPU_VERSION, d.socket_path, d.db_path);
    event_base_dispatch(d.base);
    rc = 0;
out:
    if (tick)
        event_free(tick);
    if (wd)
        event_free(wd);
    for (int i = 0; i < 3; i++)
        if (sigs[i])
            event_free(sigs[i]);
    vgpud_http_close();
    vgpu_device_live_close();
    vgpud_unlisten(&d);
    if (d.base)
        event_base_free(d.base);
    vgpud_acct_close(&d);
    vgpu_store_close(d.store);
    vgpu_sched_unmap(d.sched);
    return rc;
}
