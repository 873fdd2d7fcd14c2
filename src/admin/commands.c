/* commands: vgpu-admin's subcommands and how they print (see admin.h).
 *
 * Options become request arguments under the store's names (--max-inflight
 * -> max_inflight) with the user's text as the value, so vgpud's validation
 * and messages are the only ones. Listings print aligned tables; --json
 * prints vgpud's reply unchanged. */
#include "admin.h"

#include "common.h"

#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct optmap {
    const char *opt; /* long option */
    const char *key; /* request argument it sets */
};

static const struct optmap tenant_opts[] = {
    {"pool", "pool"},
    {"priority", "priority"},
    {"memory", "memory"},
    {"share", "share"},
    {"rate", "rate"},
    {"burst", "burst"},
    {"max-inflight", "max_inflight"},
    {"exec-limit", "exec_limit"},
    {"exec-policy", "exec_policy"},
    {"bind-uid", "bind_uid"},
    {"bind-gid", "bind_gid"},
    {"bind-cgroup", "bind_cgroup"},
    {"vm-id", "vm_id"},
    {NULL, NULL},
};

/* The JSON value of an option: for the bindings "none" is null (clears it)
 * and a user or group name is looked up (bind_uid, bind_gid); otherwise the
 * string as given, checked by vgpud. NULL (after a message) for an unknown
 * name. */
static json_t *binding_value(const struct admin_cmd *cmd, const char *key, const char *val)
{
    bool uid = strcmp(key, "bind_uid") == 0, gid = strcmp(key, "bind_gid") == 0;
    if ((uid || gid || strcmp(key, "bind_cgroup") == 0) && strcmp(val, "none") == 0)
        return json_null();
    if (!(uid || gid) || !val[0] || strspn(val, "0123456789") == strlen(val))
        return json_string(val);
    struct passwd *pw = uid ? getpwnam(val) : NULL;
    struct group *gr = gid ? getgrnam(val) : NULL;
    if (pw)
        return json_integer((json_int_t)pw->pw_uid);
    if (gr)
        return json_integer((json_int_t)gr->gr_gid);
    fprintf(stderr, "vgpu-admin %s: no %s '%s'\n", cmd->name, uid ? "user" : "group", val);
    return NULL;
}

/* Parses `argv` (argv[0] is the command word) against `map`: each option
 * sets its key in args to the string given; --json and --help are always
 * known; the remaining words go to pos (at most npos_max). Returns 0, 1 for
 * --help (usage printed), 2 for a usage error. */
static int parse(struct admin *a, const struct admin_cmd *cmd, int argc, char **argv,
                 const struct optmap *map, json_t *args, const char **pos, int npos_max, int *npos)
{
    struct option longopts[32];
    int n = 0, c, idx;
    for (; map && map[n].opt; n++)
        longopts[n] = (struct option){map[n].opt, required_argument, NULL, 1000 + n};
    longopts[n++] = (struct option){"json", no_argument, NULL, 'j'};
    longopts[n++] = (struct option){"help", no_argument, NULL, 'h'};
    longopts[n] = (struct option){NULL, 0, NULL, 0};
    optind = 0;
    opterr = 0;
    *npos = 0;
    while ((c = getopt_long(argc, argv, "", longopts, &idx)) != -1) {
        if (c == 'j') {
            a->json = true;
        } else if (c == 'h') {
            printf("usage: vgpu-admin %s\n", cmd->usage);
            return 1;
        } else if (c >= 1000) {
            json_t *v = binding_value(cmd, map[c - 1000].key, optarg);
            if (!v)
                return 2;
            json_object_set_new(args, map[c - 1000].key, v);
        } else {
            fprintf(stderr, "vgpu-admin %s: %s '%s'\n", cmd->name,
                    c == ':' ? "missing value for" : "unknown option", argv[optind - 1]);
            return admin_usage(cmd);
        }
    }
    for (; optind < argc; optind++) {
        if (*npos >= npos_max) {
            fprintf(stderr, "vgpu-admin %s: unexpected argument '%s'\n", cmd->name, argv[optind]);
            return admin_usage(cmd);
        }
        pos[(*npos)++] = argv[optind];
    }
    return 0;
}

/* parse()'s result as an exit status: --help is a success, a usage error 2. */
static int exit_code(int parse_rc)
{
    return parse_rc == 1 ? 0 : parse_rc;
}

const char *admin_str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "-";
}

const char *admin_format_ms(double ms, char *buf, size_t len)
{
    if (!(ms >= 0))
        return "-";
    snprintf(buf, len, ms < 1 ? "%.3f" : ms < 10 ? "%.2f" : ms < 1000 ? "%.1f" : "%.0f", ms);
    return buf;
}

/* A wait histogram's percentile (key "p50_ms", ...), "-" before the first
 * observation (vgpud sends null). */
static const char *percentile(const json_t *hist, const char *key, char *buf, size_t len)
{
    const json_t *v = json_object_get(hist, key);
    return json_is_number(v) ? admin_format_ms(json_number_value(v), buf, len) : "-";
}

static const char *size_or_dash(const json_t *o, const char *key, char *buf, size_t len)
{
    json_int_t v = json_integer_value(json_object_get(o, key));
    return v > 0 ? vgpu_format_size((uint64_t)v, buf, len) : "-";
}

static void join_names(const json_t *arr, char *out, size_t len)
{
    size_t i, used = 0;
    json_t *v;
    out[0] = '\0';
    json_array_foreach(arr, i, v)
    {
        int w = snprintf(out + used, len - used, "%s%s", i ? "," : "", json_string_value(v));
        if (w < 0 || (size_t)w >= len - used)
            break;
        used += (size_t)w;
    }
    if (!out[0])
        snprintf(out, len, "-");
}

static void print_gpus(const json_t *gpus)
{
    size_t i;
    json_t *g;
    char mem[32], pools[256];
    printf("%-5s %-28s %-10s %-17s %-5s %-8s %-12s %s\n", "INDEX", "NAME", "MEMORY", "PCI", "CUDA",
           "STATE", "POOLS", "UUID");
    json_array_foreach(gpus, i, g)
    {
        json_t *ord = json_object_get(g, "cuda_ordinal");
        char cuda[16];
        snprintf(cuda, sizeof(cuda), "%lld",
                 json_is_integer(ord) ? (long long)json_integer_value(ord) : -1LL);
        join_names(json_object_get(g, "pools"), pools, sizeof(pools));
        printf("%-5lld %-28s %-10s %-17s %-5s %-8s %-12s %s%s\n",
               (long long)json_integer_value(json_object_get(g, "index")), admin_str(g, "name"),
               size_or_dash(g, "memory_total", mem, sizeof(mem)), admin_str(g, "pci_bus_id"),
               strcmp(cuda, "-1") ? cuda : "-", admin_str(g, "state"), pools, admin_str(g, "uuid"),
               json_is_true(json_object_get(g, "mig_enabled")) ? " (MIG mode)" : "");
    }
}

static void print_pools(const json_t *pools)
{
    size_t i;
    json_t *p;
    char gpus[512];
    printf("%-16s %-8s %s\n", "POOL", "TENANTS", "GPUS");
    json_array_foreach(pools, i, p)
    {
        join_names(json_object_get(p, "gpus"), gpus, sizeof(gpus));
        printf("%-16s %-8lld %s\n", admin_str(p, "name"),
               (long long)json_integer_value(json_object_get(p, "tenants")), gpus);
    }
}

/* The width of the tenant column: 16, or the longest name (at most 63)
 * so that the columns stay aligned under it. */
static int name_width(const json_t *tenants)
{
    size_t i;
    json_t *t;
    int w = 16;
    json_array_foreach(tenants, i, t)
    {
        int n = (int)strlen(admin_str(t, "name"));
        w = n > w ? n : w;
    }
    return w;
}

static void print_tenants(const json_t *tenants)
{
    size_t i;
    json_t *t;
    char mem[32], used[32], share[16], vm[16];
    int nw = name_width(tenants);
    /* 100 columns with names of up to 16 characters (a state is at most 11). */
    printf("%-*s %-5s %-10s %-8s %-10s %-6s %-11s %-10s %-10s %s\n", nw, "TENANT", "VM", "POOL",
           "PRIORITY", "MEMORY", "SHARE", "STATE", "IN USE", "GPU TIME", "PROCS");
    json_array_foreach(tenants, i, t)
    {
        json_t *vmid = json_object_get(t, "vm_id");
        json_int_t sh = json_integer_value(json_object_get(t, "share"));
        snprintf(vm, sizeof(vm), "%lld", (long long)json_integer_value(vmid));
        snprintf(share, sizeof(share), "%lld%%", (long long)sh);
        json_int_t u = json_integer_value(json_object_get(t, "memory_used"));
        char gtime[24];
        snprintf(gtime, sizeof(gtime), "%.1f s", json_real_value(json_object_get(t, "gpu_time_s")));
        printf("%-*s %-5s %-10s %-8s %-10s %-6s %-11s %-10s %-10s %zu\n", nw, admin_str(t, "name"),
               json_is_integer(vmid) ? vm : "-", admin_str(t, "pool"), admin_str(t, "priority"),
               size_or_dash(t, "memory", mem, sizeof(mem)), sh > 0 ? share : "-",
               admin_str(t, "state"),
               vgpu_format_size((uint64_t)(u > 0 ? u : 0), used, sizeof(used)), gtime,
               json_array_size(json_object_get(t, "processes")));
    }
}

/* Runs a listing op and prints it with `print`, or as JSON. */
static int listing(struct admin *a, const char *op, json_t *args, void (*print)(const json_t *))
{
    json_t *res;
    if (admin_call(a, op, args, &res) != 0)
        return 1;
    if (a->json)
        admin_print_json(res);
    else
        print(res);
    json_decref(res);
    return 0;
}

/* ---- commands ------------------------------------------------------------------------- */

#define CMD(i) (&admin_cmds[i])
enum {
    C_SCAN,
    C_GPUS,
    C_POOL,
    C_ASSIGN,
    C_UNASSIGN,
    C_REGISTER,
    C_TENANT,
    C_QUARANTINE,
    C_RELEASE,
    C_TOKEN,
    C_WEIGHTS,
    C_STATUS,
    C_TOP,
    C_PING
};

static int cmd_scan(struct admin *a, int argc, char **argv)
{
    const char *pos[1];
    int n, rc = parse(a, CMD(C_SCAN), argc, argv, NULL, NULL, pos, 0, &n);
    return rc ? exit_code(rc) : listing(a, "gpus.scan", NULL, print_gpus);
}

static int cmd_gpus(struct admin *a, int argc, char **argv)
{
    const char *pos[1];
    int n, rc = parse(a, CMD(C_GPUS), argc, argv, NULL, NULL, pos, 0, &n);
    return rc ? exit_code(rc) : listing(a, "gpus.list", NULL, print_gpus);
}

static int cmd_pool(struct admin *a, int argc, char **argv)
{
    static const struct optmap opts[] = {{"gpus", "gpus"}, {NULL, NULL}};
    const char *pos[2];
    json_t *args = json_object();
    int n, rc = parse(a, CMD(C_POOL), argc, argv, opts, args, pos, 2, &n);
    if (rc) {
        json_decref(args);
        return exit_code(rc);
    }
    const char *sub = n > 0 ? pos[0] : "";
    if (strcmp(sub, "list") == 0 && n == 1) {
        json_decref(args);
        return listing(a, "pool.list", NULL, print_pools);
    }
    if ((strcmp(sub, "create") != 0 && strcmp(sub, "rm") != 0) || n != 2) {
        json_decref(args);
        return admin_usage(CMD(C_POOL));
    }
    json_object_set_new(args, "name", json_string(pos[1]));
    if (json_object_get(args, "gpus")) { /* "0,1" -> ["0","1"] */
        char buf[256], *save = NULL;
        json_t *list = json_array();
        vgpu_strlcpy(buf, json_string_value(json_object_get(args, "gpus")), sizeof(buf));
        for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
            json_array_append_new(list, json_string(t));
        json_object_set_new(args, "gpus", list);
    }
    if (strcmp(sub, "rm") == 0 && json_object_get(args, "gpus")) {
        json_decref(args);
        return admin_usage(CMD(C_POOL));
    }
    return admin_call(a, strcmp(sub, "create") == 0 ? "pool.create" : "pool.rm", args, NULL);
}

static int assign(struct admin *a, int which, const char *op, int argc, char **argv)
{
    static const struct optmap opts[] = {{"gpu-id", "gpu"}, {"pool", "pool"}, {NULL, NULL}};
    const char *pos[1];
    json_t *args = json_object();
    int n, rc = parse(a, CMD(which), argc, argv, opts, args, pos, 0, &n);
    if (rc || !json_object_get(args, "gpu") || !json_object_get(args, "pool")) {
        json_decref(args);
        return rc ? exit_code(rc) : admin_usage(CMD(which));
    }
    return admin_call(a, op, args, NULL);
}

static int cmd_assign(struct admin *a, int argc, char **argv)
{
    return assign(a, C_ASSIGN, "gpu.assign", argc, argv);
}

static int cmd_unassign(struct admin *a, int argc, char **argv)
{
    return assign(a, C_UNASSIGN, "gpu.unassign", argc, argv);
}

static int cmd_register(struct admin *a, int argc, char **argv)
{
    const char *pos[1];
    json_t *args = json_object();
    int n, rc = parse(a, CMD(C_REGISTER), argc, argv, tenant_opts, args, pos, 0, &n);
    if (rc || !json_object_get(args, "vm_id") || !json_object_get(args, "pool")) {
        json_decref(args);
        return rc ? exit_code(rc) : admin_usage(CMD(C_REGISTER));
    }
    return admin_call(a, "tenant.add", args, NULL);
}

static void print_tenant(const json_t *t)
{
    json_t *arr = json_array();
    json_t *uid = json_object_get(t, "bind_uid"), *gid = json_object_get(t, "bind_gid");
    json_array_append(arr, (json_t *)t);
    print_tenants(arr);
    json_decref(arr);
    if (json_is_integer(uid))
        printf("bound to uid %lld\n", (long long)json_integer_value(uid));
    else if (json_is_integer(gid))
        printf("bound to gid %lld\n", (long long)json_integer_value(gid));
    else if (json_is_string(json_object_get(t, "bind_cgroup")))
        printf("bound to cgroup %s\n", admin_str(t, "bind_cgroup"));
    else
        printf("bound to nothing (admins start its processes with vgpu-run --tenant or issue "
               "tokens)\n");
}

static int cmd_tenant(struct admin *a, int argc, char **argv)
{
    const char *pos[2];
    json_t *args = json_object();
    int n, rc = parse(a, CMD(C_TENANT), argc, argv, tenant_opts, args, pos, 2, &n);
    if (rc) {
        json_decref(args);
        return exit_code(rc);
    }
    const char *sub = n > 0 ? pos[0] : "";
    if (strcmp(sub, "list") == 0 && n == 1)
        return listing(a, "tenant.list", args, print_tenants);
    if (n != 2 ||
        (strcmp(sub, "add") && strcmp(sub, "set") && strcmp(sub, "rm") && strcmp(sub, "show"))) {
        json_decref(args);
        return admin_usage(CMD(C_TENANT));
    }
    json_object_set_new(args, "name", json_string(pos[1]));
    if (strcmp(sub, "show") == 0)
        return listing(a, "tenant.get", args, print_tenant);
    if (strcmp(sub, "rm") == 0 && json_object_size(args) > 1) {
        json_decref(args);
        return admin_usage(CMD(C_TENANT));
    }
    const char *op = strcmp(sub, "add") == 0   ? "tenant.add"
                     : strcmp(sub, "set") == 0 ? "tenant.set"
                                               : "tenant.rm";
    return admin_call(a, op, args, NULL);
}

static int state_cmd(struct admin *a, int which, const char *op, int argc, char **argv)
{
    const char *pos[1];
    int n, rc = parse(a, CMD(which), argc, argv, NULL, NULL, pos, 1, &n);
    if (rc || n != 1)
        return rc ? exit_code(rc) : admin_usage(CMD(which));
    return admin_call(a, op, json_pack("{s:s}", "name", pos[0]), NULL);
}

static int cmd_quarantine(struct admin *a, int argc, char **argv)
{
    return state_cmd(a, C_QUARANTINE, "tenant.quarantine", argc, argv);
}

static int cmd_release(struct admin *a, int argc, char **argv)
{
    return state_cmd(a, C_RELEASE, "tenant.release", argc, argv);
}

static void print_tokens(const json_t *tokens)
{
    size_t i;
    json_t *t;
    printf("%-14s %-16s %s\n", "ID", "TENANT", "ADMIN");
    json_array_foreach(tokens, i, t)
    {
        printf("%-14s %-16s %s\n", admin_str(t, "id"), admin_str(t, "tenant"),
               json_is_true(json_object_get(t, "admin")) ? "yes" : "no");
    }
}

/* token create --tenant T | --admin: prints the token and nothing else, so
 * it can be captured (VGPU_TOKEN=$(vgpu-admin token create --tenant T)). */
static int cmd_token(struct admin *a, int argc, char **argv)
{
    static const struct optmap opts[] = {{"tenant", "tenant"}, {NULL, NULL}};
    const char *pos[2];
    json_t *args = json_object(), *res;
    bool admin_token = false;
    for (int i = 1; i < argc; i++) { /* --admin takes no value: pick it out first */
        if (strcmp(argv[i], "--admin") == 0) {
            admin_token = true;
            memmove(&argv[i], &argv[i + 1], (size_t)(argc - i) * sizeof(argv[0]));
            argc--;
            i--;
        }
    }
    int n, rc = parse(a, CMD(C_TOKEN), argc, argv, opts, args, pos, 2, &n);
    if (rc) {
        json_decref(args);
        return exit_code(rc);
    }
    const char *sub = n > 0 ? pos[0] : "";
    if (strcmp(sub, "list") == 0 && n == 1 && json_object_size(args) == 0 && !admin_token) {
        json_decref(args);
        return listing(a, "token.list", NULL, print_tokens);
    }
    if (strcmp(sub, "revoke") == 0 && n == 2 && json_object_size(args) == 0 && !admin_token) {
        json_object_set_new(args, "id", json_string(pos[1]));
        return admin_call(a, "token.revoke", args, NULL);
    }
    if (strcmp(sub, "create") != 0 || n != 1 ||
        admin_token == (json_object_get(args, "tenant") != NULL)) {
        json_decref(args);
        return admin_usage(CMD(C_TOKEN));
    }
    if (admin_token)
        json_object_set_new(args, "admin", json_true());
    if (admin_call(a, "token.create", args, &res) != 0)
        return 1;
    if (a->json)
        admin_print_json(res);
    else
        printf("%s\n", admin_str(res, "token"));
    json_decref(res);
    return 0;
}

static void print_weights(const json_t *w)
{
    printf("high=%lld medium=%lld low=%lld\n",
           (long long)json_integer_value(json_object_get(w, "high")),
           (long long)json_integer_value(json_object_get(w, "medium")),
           (long long)json_integer_value(json_object_get(w, "low")));
}

static int cmd_weights(struct admin *a, int argc, char **argv)
{
    const char *pos[1];
    int n, rc = parse(a, CMD(C_WEIGHTS), argc, argv, NULL, NULL, pos, 1, &n);
    if (rc)
        return exit_code(rc);
    if (n == 0)
        return listing(a, "weights.get", NULL, print_weights);
    return admin_call(a, "weights.set", json_pack("{s:s}", "weights", pos[0]), NULL);
}

/* Each tenant's queue and how long its work waited: the request latency (a
 * GPU operation held at the gate by the lease, the rate limit or the bound
 * on work in flight) and the lease wait (a client asking for a GPU until it
 * is granted), as p50/p95/p99 in milliseconds, "-" before the first wait.
 * A second table, so that both fit 100 columns. */
static void print_waits(const json_t *tenants)
{
    static const char *const qs[] = {"p50_ms", "p95_ms", "p99_ms"};
    size_t i;
    json_t *t;
    printf("\nWaits (ms; request: GPU operations held at the gate, lease: clients waiting for a "
           "GPU)\n");
    int nw = name_width(tenants);
    printf("%-*s %5s %8s %8s  %7s %7s %7s  %9s %9s %9s\n", nw, "TENANT", "QUEUE", "INFLIGHT",
           "RL-WAITS", "REQ-P50", "REQ-P95", "REQ-P99", "LEASE-P50", "LEASE-P95", "LEASE-P99");
    json_array_foreach(tenants, i, t)
    {
        const json_t *req = json_object_get(t, "request_latency");
        const json_t *lease = json_object_get(t, "lease_wait");
        char b[6][24];
        printf("%-*s %5lld %8lld %8lld  %7s %7s %7s  %9s %9s %9s\n", nw, admin_str(t, "name"),
               (long long)json_integer_value(json_object_get(t, "queue_depth")),
               (long long)json_integer_value(json_object_get(t, "inflight")),
               (long long)json_integer_value(json_object_get(t, "rate_limit_waits")),
               percentile(req, qs[0], b[0], sizeof(b[0])),
               percentile(req, qs[1], b[1], sizeof(b[1])),
               percentile(req, qs[2], b[2], sizeof(b[2])),
               percentile(lease, qs[0], b[3], sizeof(b[3])),
               percentile(lease, qs[1], b[4], sizeof(b[4])),
               percentile(lease, qs[2], b[5], sizeof(b[5])));
    }
}

static void print_status(const json_t *s)
{
    const json_t *d = json_object_get(s, "daemon");
    printf("vgpud %s, up %.0f s, %lld connection(s); weights ", admin_str(d, "version"),
           json_real_value(json_object_get(d, "uptime_s")),
           (long long)json_integer_value(json_object_get(d, "connections")));
    print_weights(json_object_get(s, "weights"));
    printf("\nGPUs\n");
    print_gpus(json_object_get(s, "gpus"));
    printf("\nPools\n");
    print_pools(json_object_get(s, "pools"));
    printf("\nTenants\n");
    print_tenants(json_object_get(s, "tenants"));
    print_waits(json_object_get(s, "tenants"));
    const json_t *sch = json_object_get(s, "scheduler"), *g;
    size_t i;
    printf("\nLeases (quantum %.0f ms, cap window %.0f ms)\n",
           json_real_value(json_object_get(sch, "quantum_ms")),
           json_real_value(json_object_get(sch, "cap_window_ms")));
    printf("%-42s %-16s %-8s %-8s %-9s %s\n", "GPU", "HOLDER", "PID", "WAITING", "HAND-OFFS",
           "IDLE");
    json_array_foreach(json_object_get(sch, "gpus"), i, g)
    {
        const json_t *h = json_object_get(g, "holder");
        char pid[16];
        snprintf(pid, sizeof(pid), "%lld",
                 (long long)json_integer_value(json_object_get(h, "pid")));
        printf("%-42s %-16s %-8s %-8lld %-9lld %.1f s\n", admin_str(g, "uuid"),
               json_is_object(h) ? admin_str(h, "tenant") : "-", json_is_object(h) ? pid : "-",
               (long long)json_integer_value(json_object_get(g, "waiting")),
               (long long)json_integer_value(json_object_get(g, "handoffs")),
               json_real_value(json_object_get(g, "idle_s")));
    }
}

static int cmd_status(struct admin *a, int argc, char **argv)
{
    const char *pos[1];
    int n, rc = parse(a, CMD(C_STATUS), argc, argv, NULL, NULL, pos, 0, &n);
    /* The table needs no histogram buckets nor per-GPU detail: a brief
     * status (with 1000 tenants, half the bytes); --json prints it all. */
    return rc ? exit_code(rc)
              : listing(a, "status", a->json ? NULL : json_pack("{s:b}", "brief", 1), print_status);
}

static void print_ping(const json_t *p)
{
    printf("vgpud %s (protocol %lld), up %.1f s; you are %san admin\n", admin_str(p, "version"),
           (long long)json_integer_value(json_object_get(p, "protocol")),
           json_real_value(json_object_get(p, "uptime_s")),
           json_is_true(json_object_get(p, "admin")) ? "" : "not ");
}

static int cmd_ping(struct admin *a, int argc, char **argv)
{
    const char *pos[1];
    int n, rc = parse(a, CMD(C_PING), argc, argv, NULL, NULL, pos, 0, &n);
    return rc ? exit_code(rc) : listing(a, "ping", NULL, print_ping);
}

#define TENANT_OPTS                                                                                \
    "[--priority low|medium|high] [--memory SIZE] [--share N] [--rate N/s] [--burst N] "           \
    "[--max-inflight N] [--exec-limit TIME] [--exec-policy warn|quarantine|kill] "                 \
    "[--bind-uid USER|UID | --bind-gid GROUP|GID | --bind-cgroup PATH]"

const struct admin_cmd admin_cmds[] = {
    [C_SCAN] = {"scan-gpus", cmd_scan, "discover the GPUs, store and show them",
                "scan-gpus [--json]"},
    [C_GPUS] = {"gpus", cmd_gpus, "list the GPUs vgpud knows", "gpus [--json]"},
    [C_POOL] = {"pool", cmd_pool, "create, remove or list pools",
                "pool create NAME [--gpus 0,1] | pool rm NAME | pool list [--json]"},
    [C_ASSIGN] = {"assign-gpu", cmd_assign, "let a GPU serve a pool",
                  "assign-gpu --gpu-id=INDEX|UUID --pool=NAME"},
    [C_UNASSIGN] = {"unassign-gpu", cmd_unassign, "take a GPU out of a pool",
                    "unassign-gpu --gpu-id=INDEX|UUID --pool=NAME"},
    [C_REGISTER] = {"register-vm", cmd_register, "add a tenant by numeric VM id (tenant add)",
                    "register-vm --vm-id=N --pool=NAME " TENANT_OPTS},
    [C_TENANT] = {"tenant", cmd_tenant, "add, change, remove, show or list tenants",
                  "tenant add NAME --pool NAME " TENANT_OPTS " | tenant set NAME [--pool NAME] "
                  "[options as for add] | tenant rm NAME | tenant show NAME [--json] | "
                  "tenant list [--pool NAME] [--json]"},
    [C_QUARANTINE] = {"quarantine", cmd_quarantine, "stop a tenant's GPU time until released",
                      "quarantine TENANT"},
    [C_RELEASE] = {"release", cmd_release, "end a tenant's quarantine", "release TENANT"},
    [C_TOKEN] = {"token", cmd_token, "issue, list or revoke tokens (a token admits to its tenant)",
                 "token create --tenant NAME | token create --admin | token list [--json] | "
                 "token revoke ID"},
    [C_WEIGHTS] = {"set-weights", cmd_weights, "show or set the priority weights",
                   "set-weights [high=4,medium=2,low=1] [--json]"},
    [C_STATUS] = {"status", cmd_status, "GPUs, pools, tenants and live use on one screen",
                  "status [--json]"},
    [C_TOP] = {"top", admin_top, "live view: GPU time share, memory, queue and waits per tenant",
               "top [-d|--interval SEC] [-n|--iterations N | --once] "
               "[-s|--sort gpu|memory|queue|wait|name]"},
    [C_PING] = {"ping", cmd_ping, "check that vgpud answers", "ping [--json]"},
};
const int admin_ncmds = (int)(sizeof(admin_cmds) / sizeof(admin_cmds[0]));
