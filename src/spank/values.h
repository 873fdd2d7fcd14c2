/* values: what spank_vgpu.so accepts, with no Slurm in sight (so the rules
 * can be tested and fuzzed on their own).
 *
 * The job's options (--vgpu-memory, --vgpu-share, --vgpu-priority), the
 * plugin's arguments in plugstack.conf, the share a job's shards imply, and
 * the cgroup a job's tenant is bound to. Every function is pure: it reads
 * its arguments and writes its outputs, nothing else. Errors are negative
 * errno values with a one-line reason in err. */
#ifndef VGPU_SPANK_VALUES_H
#define VGPU_SPANK_VALUES_H

#include <stddef.h>
#include <stdint.h>

#define VGPU_SPANK_PATH_MAX 108 /* a sockaddr_un path; also enough for the library */
#define VGPU_SPANK_POOL_MAX 63

/* The plugin's arguments (plugstack.conf), after the path of the plugin:
 *   libvgpu=PATH        the library to preload (absolute; default: the install's)
 *   socket=PATH         vgpud's control socket (absolute; default /run/vgpu/vgpud.sock);
 *                       also handed to the job as VGPU_SOCKET
 *   pool=NAME           the pool jobs' tenants join; without it no job is registered
 *   shards_per_gpu=N    how many shards gres.conf gives each GPU (1-1000); without it
 *                       shards imply no share */
struct vgpu_spank_config {
    char libvgpu[VGPU_SPANK_PATH_MAX];
    char socket[VGPU_SPANK_PATH_MAX];
    int socket_given; /* socket= was set: the job gets VGPU_SOCKET */
    char pool[VGPU_SPANK_POOL_MAX + 1];
    unsigned shards_per_gpu; /* 0: not given */
};

/* Fills *cfg from the defaults and then argv (argc words of key=value).
 * Unknown keys, repeated keys and bad values are refused. */
int vgpu_spank_config_parse(int argc, char **argv, const char *default_libvgpu,
                            const char *default_socket, struct vgpu_spank_config *cfg, char *err,
                            size_t errlen);

/* --vgpu-memory: one size as vgpu_parse_size reads it ("8GiB", "512MiB",
 * "1.5g", "4GB"), more than 0 bytes, at most 63 characters. */
int vgpu_spank_check_memory(const char *v, uint64_t *bytes, char *err, size_t errlen);
/* --vgpu-share: a whole number 1-100, written plainly (no sign, no leading 0). */
int vgpu_spank_check_share(const char *v, unsigned *share, char *err, size_t errlen);
/* --vgpu-priority: low, medium or high. */
int vgpu_spank_check_priority(const char *v, char *err, size_t errlen);

/* The number of shards in a gres list as Slurm writes one in a job's
 * environment: "shard:2", "gpu:1,shard:3", "gres/shard:2", "gres:shard:2",
 * "shard:a100:2" (typed). 0 when the list has no shard, -EINVAL when the
 * shard entry is malformed. A bare count ("2", SLURM_SHARDS_ON_NODE) is
 * taken as it is. */
long vgpu_spank_shards(const char *gres);
/* The share `shards` shards of a GPU cut into `per_gpu` imply:
 * floor(shards * 100 / per_gpu), at least 1, at most 100. 0 when either is 0. */
unsigned vgpu_spank_share_from_shards(unsigned long shards, unsigned per_gpu);

/* The cgroup (v2) that holds job `jobid`, from a line of /proc/PID/cgroup
 * ("0::/system.slice/slurmstepd.scope/job_42/step_0/slurm"): the path up to
 * and including its "job_<jobid>" component. -ENOENT when the line is not a
 * v2 line or has no such component (no cgroup plugin in Slurm). */
int vgpu_spank_job_cgroup(const char *line, uint32_t jobid, char *out, size_t len);

#endif
