/* spank_vgpu: the Slurm SPANK plugin that makes a job a vgpu tenant.
 *
 *   srun --vgpu-memory=8GiB --vgpu-share=25 --vgpu-priority=high ./train
 *
 * Slurm places jobs; this plugin makes their GPU slices real. It runs in
 * four places, and does one thing in each:
 *   srun, sbatch, salloc (local and allocator context): the option
 *     callbacks check each value and refuse a bad one, which stops the
 *     submission with the reason (values.c holds the grammar).
 *   slurmstepd as root, once per step (remote, init_post_opt): works out
 *     the job's limits (options first; without --vgpu-share, the share its
 *     shards imply) and, where vgpud runs on the node (its socket exists)
 *     and plugstack.conf names a pool, registers the job as tenant
 *     slurm-<jobid>: bound to the job's cgroup when Slurm gave it one
 *     (cgroup v2, ".../job_<id>"), else admitting the job's tasks by a
 *     token vgpud issues for the tenant (VGPU_TOKEN in their environment;
 *     not by uid: a user may run several jobs on a node, and a uid binds
 *     to one tenant). A job's second step finds its tenant there and uses
 *     it (with a token of its own).
 *   slurmstepd as the user, before the tasks fork (user_init): puts
 *     libvgpu.so in front of the job's LD_PRELOAD and sets VGPU_TENANT,
 *     VGPU_MEMORY_LIMIT, VGPU_COMPUTE_SHARE, VGPU_PRIORITY (VGPU_SOCKET
 *     when plugstack.conf names one, VGPU_TOKEN when a token admits it). Without vgpud these are the limits
 *     libvgpu.so enforces (standalone); with it, vgpud's tenant, which
 *     holds the same values, is.
 *   slurmstepd as root, when the step that registered the job ends (exit):
 *     removes tenant slurm-<jobid>; and the job's epilog (job_script
 *     context, root, once per node when the job ends), where Slurm runs
 *     SPANK epilogs, does the same for whichever step added it.
 * A job that gives none of the options and has no shards is left alone.
 *
 * State. Option callbacks get no handle, so what they read is kept in the
 * static `job` below, and the plugin's arguments in `cfg`. Every process
 * that loads the plugin (srun, one slurmstepd per step, the epilog) is one
 * job step; its tasks are forked after init_post_opt and get copies. So the
 * statics are written in one process for one step, before any fork, and
 * only read after.
 *
 * What the plugin links: vgpu_common (sizes), vgpu_run_core (composing
 * LD_PRELOAD, as vgpu-run does) and vgpu_proto (the control protocol),
 * statically and with their symbols hidden; jansson shared (Debian's
 * libjansson.a is not position independent). Slurm loads plugins with
 * RTLD_LOCAL and neither slurmstepd nor libslurmfull defines json_*, so
 * jansson's names cannot be bound to JSON-C's (which some Slurm plugins
 * load, each in its own scope). Only the SPANK entry
 * points and Slurm's plugin symbols are exported. Slurm's own functions
 * (spank_*, slurm_*) are resolved from the process that loads us. */
#include "common.h"
#include "preload.h"
#include "proto.h"
#include "values.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <slurm/spank.h>

#ifndef VGPU_SPANK_LIBVGPU
#error "VGPU_SPANK_LIBVGPU (the installed libvgpu.so) must be defined by the build"
#endif
#define DEFAULT_SOCKET "/run/vgpu/vgpud.sock"
#define CALL_TIMEOUT_MS 5000
#define SPANK_API __attribute__((visibility("default")))

#pragma GCC visibility push(default)
SPANK_PLUGIN(vgpu, 1)
#pragma GCC visibility pop

/* The job's values as the user gave them (canonical spellings, checked),
 * and what the step worked out from them. */
static struct {
    char memory[64];
    char share[12];
    char priority[8];
    char tenant[32];
    char token[96]; /* for the tenant, when no cgroup binds the job (VGPU_TOKEN) */
    int acting;     /* the job asked for a slice (an option or shards) */
    int registered; /* this step added the tenant: it removes it at its exit */
} job;

static struct vgpu_spank_config cfg;

/* ---- options ----------------------------------------------------------------------------- */

static int refuse(const char *opt, const char *v, const char *why)
{
    slurm_error("vgpu: invalid --vgpu-%s value '%.80s': %s", opt, v ? v : "", why);
    return -1;
}

static int opt_memory(int val, const char *v, int remote)
{
    char err[160];
    if (!v || vgpu_spank_check_memory(v, NULL, err, sizeof(err)) != 0)
        return refuse("memory", v, v ? err : "a size is needed");
    vgpu_strlcpy(job.memory, v, sizeof(job.memory));
    return 0;
}

static int opt_share(int val, const char *v, int remote)
{
    char err[160];
    if (!v || vgpu_spank_check_share(v, NULL, err, sizeof(err)) != 0)
        return refuse("share", v, v ? err : "a number is needed");
    vgpu_strlcpy(job.share, v, sizeof(job.share));
    return 0;
}

static int opt_priority(int val, const char *v, int remote)
{
    char err[160];
    if (!v || vgpu_spank_check_priority(v, err, sizeof(err)) != 0)
        return refuse("priority", v, v ? err : "a class is needed");
    vgpu_strlcpy(job.priority, v, sizeof(job.priority));
    return 0;
}

static struct spank_option options[] = {
    {"vgpu-memory", "SIZE", "vgpu: GPU memory of the job's virtual GPU (8GiB, 512MiB, 1.5g)", 1, 0,
     opt_memory},
    {"vgpu-share", "N", "vgpu: share of GPU time, percent 1-100 (default: what its shards imply)",
     1, 0, opt_share},
    {"vgpu-priority", "CLASS", "vgpu: priority class: low, medium or high", 1, 0, opt_priority},
};

/* ---- helpers ----------------------------------------------------------------------------- */

static int job_id(spank_t sp, uint32_t *id)
{
    const char *env;
    if (spank_get_item(sp, S_JOB_ID, id) == ESPANK_SUCCESS && *id != 0)
        return 0;
    env = getenv("SLURM_JOB_ID"); /* the epilog's environment */
    if (env && *env) {
        *id = (uint32_t)strtoul(env, NULL, 10);
        return *id ? 0 : -EINVAL;
    }
    return -ENOENT;
}

/* The job's shards on this node, from what Slurm puts in the step's
 * environment: SLURM_SHARDS_ON_NODE (set with the shard gres, a bare
 * count), else the gres the job or step asked for, read only when it names
 * a shard (Slurm's GPU plugin puts the allocated GPUs' indices, "1" or
 * "0,1", in SLURM_STEP_GRES and SLURM_JOB_GRES: not shard counts). 0 when
 * none. */
static long job_shards(spank_t sp)
{
    static const char *const vars[] = {"SLURM_SHARDS_ON_NODE", "SLURM_STEP_GRES", "SLURM_JOB_GRES",
                                       "SLURM_GRES"};
    char buf[512];

    for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
        if (spank_getenv(sp, vars[i], buf, sizeof(buf)) != ESPANK_SUCCESS || !buf[0] ||
            (i > 0 && !strstr(buf, "shard")))
            continue;
        long n = vgpu_spank_shards(buf);
        if (n < 0)
            slurm_info("vgpu: %s=%.100s: cannot read a shard count from it", vars[i], buf);
        else if (n > 0)
            return n;
    }
    return 0;
}

static int socket_present(void)
{
    struct stat st;
    return stat(cfg.socket, &st) == 0 && S_ISSOCK(st.st_mode);
}

/* One request to vgpud. 0 (its result in *out when out is not NULL), or
 * -errno with the reason in err ("code: message" for an error reply, code
 * in `code`). */
static int call_for(const char *op, json_t *args, json_t **out, char *code, size_t codelen,
                    char *err, size_t errlen)
{
    json_t *res = NULL;
    int fd = vgpu_client_connect(cfg.socket), rc;

    code[0] = '\0';
    if (fd < 0) {
        json_decref(args);
        return vgpu_errf(err, errlen, fd, "cannot connect to %s: %s", cfg.socket, strerror(-fd));
    }
    rc = vgpu_client_call(fd, op, args, &res, err, errlen, CALL_TIMEOUT_MS);
    close(fd);
    json_decref(args);
    if (rc == 0 && out)
        *out = res;
    else
        json_decref(res);
    if (rc == -EREMOTEIO)
        snprintf(code, codelen, "%.*s", (int)strcspn(err, ":"), err);
    return rc;
}

static int call(const char *op, json_t *args, char *code, size_t codelen, char *err, size_t errlen)
{
    return call_for(op, args, NULL, code, codelen, err, errlen);
}

/* What binds the job's processes to its tenant: its cgroup when Slurm gave
 * it one; else nothing here, and the step gets a token for the tenant
 * (issue_token): a uid may be bound to one tenant only, and a user may run
 * several jobs on a node. */
static json_t *binding(uint32_t id, char *what, size_t len)
{
    char line[600], cg[512];
    FILE *f = fopen("/proc/self/cgroup", "re");
    int found = -ENOENT;

    while (f && found != 0 && fgets(line, sizeof(line), f))
        found = vgpu_spank_job_cgroup(line, id, cg, sizeof(cg));
    if (f)
        fclose(f);
    if (found == 0) {
        snprintf(what, len, "cgroup %s", cg);
        return json_pack("{s:s}", "bind_cgroup", cg);
    }
    snprintf(what, len, "a token in the job's environment");
    return json_object();
}

/* A token for the job's tenant, for this step's tasks (VGPU_TOKEN): vgpud
 * admits whoever presents it to that tenant. It goes with the tenant. */
static int issue_token(uint32_t id)
{
    char err[512], code[64];
    json_t *res = NULL;
    int rc = call_for("token.create", json_pack("{s:s}", "tenant", job.tenant), &res, code,
                      sizeof(code), err, sizeof(err));
    const char *tok = rc == 0 ? json_string_value(json_object_get(res, "token")) : NULL;
    if (tok && strlen(tok) < sizeof(job.token))
        snprintf(job.token, sizeof(job.token), "%s", tok);
    json_decref(res);
    if (!job.token[0]) {
        slurm_error("vgpu: job %u: cannot get a token for tenant %s from vgpud: %s", (unsigned)id,
                    job.tenant, rc ? err : "no token in the reply");
        return -1;
    }
    return 0;
}

/* Registers the job as tenant job.tenant. 0 also when a step before this
 * one did. */
static int register_job(spank_t sp, uint32_t id)
{
    char err[512], code[64], what[600];
    json_t *args = binding(id, what, sizeof(what));
    bool by_token = json_object_size(args) == 0;
    int rc;

    if (!args) {
        slurm_error("vgpu: out of memory");
        return -1;
    }
    json_object_set_new(args, "name", json_string(job.tenant));
    json_object_set_new(args, "pool", json_string(cfg.pool));
    if (job.memory[0])
        json_object_set_new(args, "memory", json_string(job.memory));
    if (job.share[0])
        json_object_set_new(args, "share", json_string(job.share));
    if (job.priority[0])
        json_object_set_new(args, "priority", json_string(job.priority));
    rc = call("tenant.add", args, code, sizeof(code), err, sizeof(err));
    if (rc == -EREMOTEIO && strcmp(code, "already_exists") == 0) {
        slurm_verbose("vgpu: tenant %s is registered already (an earlier step)", job.tenant);
        return by_token ? issue_token(id) : 0;
    }
    if (rc != 0) {
        slurm_error("vgpu: cannot register job %u as tenant %s in pool %s with vgpud at %s: %s",
                    (unsigned)id, job.tenant, cfg.pool, cfg.socket, err);
        return -1;
    }
    slurm_info("vgpu: job %u is tenant %s in pool %s, bound to %s", (unsigned)id, job.tenant,
               cfg.pool, what);
    job.registered = 1;
    return by_token ? issue_token(id) : 0;
}

static int set_env(spank_t sp, const char *var, const char *val)
{
    spank_err_t rc = spank_setenv(sp, var, val, 1);
    if (rc != ESPANK_SUCCESS) {
        slurm_error("vgpu: cannot set %s in the job's environment: %s", var, spank_strerror(rc));
        return -1;
    }
    return 0;
}

/* ---- SPANK entry points ------------------------------------------------------------------ */

SPANK_API int slurm_spank_init(spank_t sp, int ac, char **av)
{
    char err[400];

    for (size_t i = 0; i < sizeof(options) / sizeof(options[0]); i++) {
        spank_err_t rc = spank_option_register(sp, &options[i]);
        if (rc != ESPANK_SUCCESS) {
            slurm_error("vgpu: cannot register --%s: %s", options[i].name, spank_strerror(rc));
            return -1;
        }
    }
    if (vgpu_spank_config_parse(ac, av, VGPU_SPANK_LIBVGPU, DEFAULT_SOCKET, &cfg, err,
                                sizeof(err)) != 0) {
        slurm_error("vgpu: plugstack.conf: %s", err);
        return -1;
    }
    return 0;
}

SPANK_API int slurm_spank_init_post_opt(spank_t sp, int ac, char **av)
{
    uint32_t id = 0;
    long shards;

    if (spank_context() != S_CTX_REMOTE)
        return 0;
    shards = job_shards(sp);
    if (!job.share[0] && shards > 0) {
        unsigned share = vgpu_spank_share_from_shards((unsigned long)shards, cfg.shards_per_gpu);
        if (share == 0)
            slurm_info("vgpu: the job has %ld shards but plugstack.conf gives no "
                       "shards_per_gpu: no share implied",
                       shards);
        else
            snprintf(job.share, sizeof(job.share), "%u", share);
    }
    job.acting = job.memory[0] || job.share[0] || job.priority[0] || shards > 0;
    if (!job.acting)
        return 0;
    if (job_id(sp, &id) != 0) {
        slurm_error("vgpu: cannot tell the job's id");
        return -1;
    }
    snprintf(job.tenant, sizeof(job.tenant), "slurm-%u", (unsigned)id);
    if (!cfg.pool[0] || !socket_present()) {
        slurm_verbose("vgpu: job %u: %s; limits from the environment (standalone)", (unsigned)id,
                      cfg.pool[0] ? "no vgpud on this node" : "no pool= in plugstack.conf");
        return 0;
    }
    return register_job(sp, id);
}

SPANK_API int slurm_spank_user_init(spank_t sp, int ac, char **av)
{
    char existing[4096];
    char *preload;
    int rc = -1;

    if (spank_context() != S_CTX_REMOTE || !job.acting)
        return 0;
    if (access(cfg.libvgpu, R_OK) != 0) {
        slurm_error("vgpu: %s: %s; the job would run without its GPU limits (set libvgpu= in "
                    "plugstack.conf)",
                    cfg.libvgpu, strerror(errno));
        return -1;
    }
    if (spank_getenv(sp, "LD_PRELOAD", existing, sizeof(existing)) != ESPANK_SUCCESS)
        existing[0] = '\0';
    preload = vgpu_run_preload_value(cfg.libvgpu, existing[0] ? existing : NULL);
    if (!preload) {
        slurm_error("vgpu: out of memory");
        return -1;
    }
    if (set_env(sp, "LD_PRELOAD", preload) || set_env(sp, "VGPU_TENANT", job.tenant) ||
        (job.memory[0] && set_env(sp, "VGPU_MEMORY_LIMIT", job.memory)) ||
        (job.share[0] && set_env(sp, "VGPU_COMPUTE_SHARE", job.share)) ||
        (job.priority[0] && set_env(sp, "VGPU_PRIORITY", job.priority)) ||
        (cfg.socket_given && set_env(sp, "VGPU_SOCKET", cfg.socket)) ||
        (job.token[0] && set_env(sp, "VGPU_TOKEN", job.token)))
        goto cleanup;
    rc = 0;
cleanup:
    free(preload);
    return rc;
}

/* Removes tenant slurm-<id>; a tenant already gone is fine. Never fails
 * the caller: a tenant that could not be removed only lingers (and a
 * failing epilog would drain the node). */
static void unregister_job(uint32_t id, const char *why)
{
    char err[512], code[64], tenant[32];
    int rc;

    snprintf(tenant, sizeof(tenant), "slurm-%u", (unsigned)id);
    rc =
        call("tenant.rm", json_pack("{s:s}", "name", tenant), code, sizeof(code), err, sizeof(err));
    if (rc == 0)
        slurm_info("vgpu: job %u %s: tenant %s removed", (unsigned)id, why, tenant);
    else if (!(rc == -EREMOTEIO && strcmp(code, "not_found") == 0))
        slurm_error("vgpu: job %u %s, but tenant %s could not be removed: %s", (unsigned)id, why,
                    tenant, err);
}

/* The step that registered the job removes it when it ends: the batch step
 * of an sbatch job (its srun steps run inside it), the one step of an srun
 * job. */
SPANK_API int slurm_spank_exit(spank_t sp, int ac, char **av)
{
    uint32_t id = 0;

    if (spank_context() != S_CTX_REMOTE || !job.registered || job_id(sp, &id) != 0)
        return 0;
    if (socket_present())
        unregister_job(id, "step ended");
    return 0;
}

/* Where Slurm runs SPANK epilogs, the job's end on this node removes the
 * tenant too, whichever step added it. */
SPANK_API int slurm_spank_job_epilog(spank_t sp, int ac, char **av)
{
    uint32_t id = 0;

    if (!cfg.pool[0] || !socket_present())
        return 0;
    if (job_id(sp, &id) != 0) {
        slurm_error("vgpu: epilog: cannot tell the job's id");
        return 0;
    }
    unregister_job(id, "ended");
    return 0;
}
