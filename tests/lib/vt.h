/* vt: helpers for vgpu's multi-process tests.
 *
 * Children are started so that none can outlive the test: each gets
 * PR_SET_PDEATHSIG(SIGKILL), is recorded, and is killed and reaped at exit
 * (atexit) or when a wait times out. A pair of pipes gives a parent and a
 * child a simple rendezvous ("ready", "go") without sleeps. */
#ifndef VGPU_TEST_VT_H
#define VGPU_TEST_VT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Runs fn(arg) in a forked child, which _exit()s with fn's return value. */
pid_t vt_fork(int (*fn)(void *), void *arg);
/* Starts argv[0] (PATH is searched) with `env` entries ("K=V") added to the
 * environment. */
pid_t vt_spawn(char *const argv[], char *const env[]);
/* Waits up to timeout_ms for `pid`; on time-out kills it and returns -1.
 * Otherwise returns its exit code, or 128+signal when a signal ended it. */
int vt_wait(pid_t pid, int timeout_ms);
/* Runs argv to completion (at most timeout_ms), capturing stdout and stderr
 * into malloc'd strings (*out and *err, either may be NULL). Returns the exit
 * status as vt_wait does. */
int vt_run(char *const argv[], char **out, char **err, int timeout_ms);
/* Kills (SIGKILL) and reaps every child still running. */
void vt_kill_all(void);
/* Sleeps ms milliseconds, on through signals. */
void vt_sleep_ms(int ms);
/* Appends ap's char * arguments, up to a NULL one, to argv[n..] and ends
 * argv with NULL (within argv[cap]); the new count. For the variadic
 * helpers that run a program with the words they are given. */
int vt_argv_add(char **argv, int n, int cap, va_list ap);

/* Rendezvous between a parent and one child. */
struct vt_chan {
    int up[2];   /* child -> parent */
    int down[2]; /* parent -> child */
};
int vt_chan_open(struct vt_chan *c);
/* In the parent after the fork: drops the child's ends, so a child that dies
 * makes vt_recv_up fail at once instead of timing out. */
void vt_chan_parent(struct vt_chan *c);
void vt_chan_close(struct vt_chan *c);
/* Sends / receives one 64-bit value; receive waits up to timeout_ms and
 * returns false on time-out or a closed pipe. */
bool vt_send_up(struct vt_chan *c, uint64_t v);
bool vt_recv_up(struct vt_chan *c, uint64_t *v, int timeout_ms);
bool vt_send_down(struct vt_chan *c, uint64_t v);
bool vt_recv_down(struct vt_chan *c, uint64_t *v, int timeout_ms);

/* Removes the simgpu state file named by SIMGPU_STATE, so the test starts
 * with a fresh simulated machine. */
void vt_fresh_simgpu(void);
/* Removes every /dev/shm/<prefix>.* (a test's scheduler region and tenant
 * accounts, VGPU_ACCOUNT_PREFIX=prefix); nothing when prefix is "". */
void vt_remove_shm(const char *prefix);

#endif
