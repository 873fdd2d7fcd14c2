/* vt: process and rendezvous helpers for multi-process tests (see vt.h). */
#include "vt.h"

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_CHILDREN 256

static pid_t children[MAX_CHILDREN];
static int nchildren;
static int atexit_done;

static void remember(pid_t pid)
{
    if (!atexit_done) {
        atexit(vt_kill_all);
        atexit_done = 1;
    }
    for (int i = 0; i < MAX_CHILDREN; i++) {
        if (children[i] == 0) {
            children[i] = pid;
            if (i >= nchildren)
                nchildren = i + 1;
            return;
        }
    }
}

static void forget(pid_t pid)
{
    for (int i = 0; i < nchildren; i++)
        if (children[i] == pid)
            children[i] = 0;
}

static void child_setup(pid_t parent)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) /* the parent died before prctl took effect */
        _exit(127);
}

pid_t vt_fork(int (*fn)(void *), void *arg)
{
    pid_t parent = getpid();
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        child_setup(parent);
        nchildren = 0;
        _exit(fn(arg));
    }
    if (pid > 0)
        remember(pid);
    return pid;
}

pid_t vt_spawn(char *const argv[], char *const env[])
{
    pid_t parent = getpid();
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        child_setup(parent);
        for (int i = 0; env && env[i]; i++)
            putenv(env[i]);
        execvp(argv[0], argv);
        fprintf(stderr, "vt_spawn: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    if (pid > 0)
        remember(pid);
    return pid;
}

int vt_wait(pid_t pid, int timeout_ms)
{
    struct timespec start, now;
    int status;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) {
            forget(pid);
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        }
        if (r < 0) {
            forget(pid);
            return -1;
        }
        clock_gettime(CLOCK_MONOTONIC, &now);
        long ms = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
        if (ms >= timeout_ms) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            forget(pid);
            fprintf(stderr, "vt_wait: pid %d timed out after %d ms and was killed\n", (int)pid,
                    timeout_ms);
            return -1;
        }
        struct timespec ts = {0, 2 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

/* Reads everything from fd until EOF into a malloc'd string. */
static char *slurp(int fd)
{
    size_t len = 0, cap = 4096;
    char *buf = malloc(cap);
    ssize_t n;
    while (buf && (n = read(fd, buf + len, cap - len - 1)) > 0) {
        len += (size_t)n;
        if (cap - len < 1024) {
            char *nb = realloc(buf, cap * 2);
            if (!nb)
                break;
            buf = nb;
            cap *= 2;
        }
    }
    if (buf)
        buf[len] = '\0';
    return buf;
}

struct drain {
    int fd;
    char *text;
};

static void *drain_thread(void *p)
{
    struct drain *d = p;
    d->text = slurp(d->fd);
    return NULL;
}

int vt_run(char *const argv[], char **out, char **err, int timeout_ms)
{
    int po[2], pe[2];
    if (pipe(po) != 0 || pipe(pe) != 0)
        return -1;
    pid_t parent = getpid();
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        child_setup(parent);
        dup2(po[1], 1);
        dup2(pe[1], 2);
        close(po[0]);
        close(pe[0]);
        execvp(argv[0], argv);
        fprintf(stderr, "vt_run: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(po[1]);
    close(pe[1]);
    if (pid < 0) {
        close(po[0]);
        close(pe[0]);
        return -1;
    }
    remember(pid);
    /* Both pipes drain at once, so a child filling one cannot block. */
    struct drain de = {.fd = pe[0]};
    pthread_t t;
    int have_thread = pthread_create(&t, NULL, drain_thread, &de) == 0;
    char *o = slurp(po[0]);
    if (have_thread)
        pthread_join(t, NULL);
    close(po[0]);
    close(pe[0]);
    int rc = vt_wait(pid, timeout_ms);
    if (out)
        *out = o;
    else
        free(o);
    if (err)
        *err = de.text;
    else
        free(de.text);
    return rc;
}

void vt_kill_all(void)
{
    for (int i = 0; i < nchildren; i++) {
        if (children[i] > 0) {
            kill(children[i], SIGKILL);
            waitpid(children[i], NULL, 0);
            children[i] = 0;
        }
    }
    nchildren = 0;
}

void vt_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

int vt_argv_add(char **argv, int n, int cap, va_list ap)
{
    for (char *word; n < cap - 1 && (word = va_arg(ap, char *)) != NULL;)
        argv[n++] = word;
    argv[n] = NULL;
    return n;
}

int vt_chan_open(struct vt_chan *c)
{
    if (pipe(c->up) != 0)
        return -1;
    if (pipe(c->down) != 0) {
        close(c->up[0]);
        close(c->up[1]);
        return -1;
    }
    return 0;
}

void vt_chan_parent(struct vt_chan *c)
{
    close(c->up[1]);
    close(c->down[0]);
    c->up[1] = c->down[0] = -1;
}

void vt_chan_close(struct vt_chan *c)
{
    for (int i = 0; i < 2; i++) {
        if (c->up[i] >= 0)
            close(c->up[i]);
        if (c->down[i] >= 0)
            close(c->down[i]);
    }
}

static bool send_v(int fd, uint64_t v)
{
    return write(fd, &v, sizeof(v)) == (ssize_t)sizeof(v);
}

static bool recv_v(int fd, uint64_t *v, int timeout_ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, timeout_ms) != 1)
        return false;
    return read(fd, v, sizeof(*v)) == (ssize_t)sizeof(*v);
}

bool vt_send_up(struct vt_chan *c, uint64_t v)
{
    return send_v(c->up[1], v);
}

bool vt_recv_up(struct vt_chan *c, uint64_t *v, int timeout_ms)
{
    return recv_v(c->up[0], v, timeout_ms);
}

bool vt_send_down(struct vt_chan *c, uint64_t v)
{
    return send_v(c->down[1], v);
}

bool vt_recv_down(struct vt_chan *c, uint64_t *v, int timeout_ms)
{
    return recv_v(c->down[0], v, timeout_ms);
}

void vt_fresh_simgpu(void)
{
    const char *p = getenv("SIMGPU_STATE");
    if (p && *p)
        unlink(p);
}

void vt_remove_shm(const char *prefix)
{
    char path[512], pre[128];
    if (!prefix[0]) /* "." would name every hidden file there */
        return;
    snprintf(pre, sizeof(pre), "%s.", prefix);
    DIR *dir = opendir("/dev/shm");
    struct dirent *e;
    while (dir && (e = readdir(dir)) != NULL) {
        if (strncmp(e->d_name, pre, strlen(pre)) == 0) {
            snprintf(path, sizeof(path), "/dev/shm/%s", e->d_name);
            unlink(path);
        }
    }
    if (dir)
        closedir(dir);
}
