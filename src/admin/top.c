/* top: `vgpu-admin top`, vgpud's status as a live view (see admin.h).
 *
 *   vgpu-admin top [--interval SEC] [--iterations N | --once] [--sort KEY]
 *
 * Every frame is one `status` request over the control socket, the reply
 * `status --json` prints; what top adds is the change between two frames.
 * A tenant's SHARE is the growth of its GPU time divided by the wall time
 * between the frames (both from vgpud's clock: its uptime): 100 % is one
 * whole GPU, so a tenant busy on two GPUs shows up to 200 %, as top(1)
 * counts CPUs (status's GPU time includes the lease a tenant holds now, so
 * a tenant alone on a GPU, which keeps its lease, shows its share at once).
 * The request-latency percentiles and
 * the rate-limit waits are those of the last interval too: the histogram's
 * growth since the previous frame, read as vgpud reads the whole one.
 * Hand-offs per second come from each GPU's hand-off count. A frame needs an
 * earlier sample: at the start, and whenever vgpud comes back (it was
 * unreachable, or its uptime went down), top takes one and waits
 * min(interval, 1 s) before drawing.
 *
 * When stdout is a terminal each frame clears the screen and homes the
 * cursor (ANSI), the cursor is hidden and lines are cut to the window; when
 * stdin is one too, keys are read as they are typed (non-canonical, no
 * echo) and 'q' quits. SIGINT, SIGTERM, SIGHUP and SIGQUIT end top with exit
 * 0 once the terminal is restored; a second one, should vgpud hang a
 * request, restores it from the handler and exits at once. SIGTSTP restores
 * the terminal before stopping and top takes it over again on SIGCONT. With
 * stdout not a terminal, frames are plain text with no escapes, one blank
 * line after each, for pipes and logs. When vgpud cannot be reached a frame
 * says so and top keeps trying; a refused request (not an admin) ends it.
 *
 * Exit status: 0; 1 when vgpud refused the request, or with --iterations
 * when the last frame could not reach vgpud; 2 for a usage error. */
#include "admin.h"

#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define REQUEST_MS 5000    /* a status request that takes longer: "unreachable" */
#define FIRST_WINDOW_S 1.0 /* the longest wait for the first sample of a run */
#define MIN_INTERVAL_S 0.1 /* status reads the database: not much faster */
#define MAX_INTERVAL_S 3600.0
#define NCOLS 12 /* columns of the widest table */
#define CELL 64  /* a tenant name fits (63 characters) */

enum sort_key { SORT_GPU, SORT_MEMORY, SORT_QUEUE, SORT_WAIT, SORT_NAME };
static const char *const sort_names[] = {"gpu", "memory", "queue", "wait", "name"};

struct top {
    struct admin *a;
    double interval; /* seconds between frames */
    long iterations; /* frames to draw, 0: until told to stop */
    enum sort_key sort;
    bool screen;  /* stdout is a terminal: ANSI frames */
    bool keys;    /* stdin is one too: read keys */
    json_t *prev; /* the previous sample (a status reply), NULL: none */
};

/* ---- terminal and signals ---------------------------------------------------------------- */

/* What the signal handlers may touch: a self-pipe that wakes the main loop,
 * and what restoring the terminal needs. */
static int sig_pipe[2] = {-1, -1};
static volatile sig_atomic_t quitting;
static volatile sig_atomic_t tio_saved;
static volatile sig_atomic_t cursor_hidden;
static struct termios saved_tio;

#define SHOW_CURSOR "\n\x1b[?25h"
#define HIDE_CURSOR "\x1b[?25l"
#define CLEAR_HOME "\x1b[H\x1b[2J"

/* Async-signal-safe: write and tcsetattr only. */
static void term_restore(void)
{
    if (cursor_hidden && write(STDOUT_FILENO, SHOW_CURSOR, sizeof(SHOW_CURSOR) - 1) >= 0)
        cursor_hidden = 0;
    if (tio_saved && tcsetattr(STDIN_FILENO, TCSANOW, &saved_tio) == 0)
        tio_saved = 0;
}

static void term_setup(const struct top *T)
{
    if (T->keys && tcgetattr(STDIN_FILENO, &saved_tio) == 0) {
        struct termios raw = saved_tio;
        raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO); /* ISIG stays: ^C is SIGINT */
        raw.c_cc[VMIN] = 1;                        /* read only after poll says so */
        raw.c_cc[VTIME] = 0;
        if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0)
            tio_saved = 1;
    }
    if (T->screen) {
        fflush(stdout);
        if (write(STDOUT_FILENO, HIDE_CURSOR, sizeof(HIDE_CURSOR) - 1) >= 0)
            cursor_hidden = 1;
    }
}

static void on_signal(int sig)
{
    int saved = errno;
    unsigned char c = (unsigned char)sig;
    if (sig != SIGTSTP && quitting) { /* the second one: the main loop is stuck */
        term_restore();
        _exit(0);
    }
    if (sig != SIGTSTP)
        quitting = 1;
    if (write(sig_pipe[1], &c, 1) < 0) { /* full: the loop has enough to wake up */
    }
    errno = saved;
}

static const int caught[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGTSTP};

static void catch_signals(void (*fn)(int))
{
    struct sigaction sa = {.sa_handler = fn};
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof(caught) / sizeof(caught[0]); i++)
        sigaction(caught[i], &sa, NULL);
}

/* ^Z: give the terminal back, stop, and take it again when continued. */
static void suspend(const struct top *T)
{
    fflush(stdout);
    term_restore();
    signal(SIGTSTP, SIG_DFL);
    raise(SIGTSTP); /* returns on SIGCONT, whatever cppcheck thinks */
    /* cppcheck-suppress unreachableCode */
    catch_signals(on_signal);
    term_setup(T);
}

enum { WAITED, QUIT };

/* Waits until `deadline` (vgpu_now_ns), reading keys and signals. */
static int wait_until(struct top *T, uint64_t deadline)
{
    for (;;) {
        uint64_t now = vgpu_now_ns();
        if (quitting)
            return QUIT;
        if (now >= deadline)
            return WAITED;
        struct pollfd p[2] = {{.fd = sig_pipe[0], .events = POLLIN},
                              {.fd = T->keys ? STDIN_FILENO : -1, .events = POLLIN}};
        uint64_t ms = (deadline - now + 999999) / 1000000;
        if (poll(p, 2, ms > 60000 ? 60000 : (int)ms) < 0 && errno != EINTR)
            return WAITED;
        unsigned char buf[64];
        ssize_t n;
        if (p[0].revents & POLLIN) {
            while ((n = read(sig_pipe[0], buf, sizeof(buf))) > 0) {
                for (ssize_t i = 0; i < n; i++) {
                    if (buf[i] == SIGTSTP)
                        suspend(T);
                    else
                        return QUIT;
                }
            }
        }
        if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
            n = read(STDIN_FILENO, buf, sizeof(buf));
            if (n <= 0 && !(n < 0 && (errno == EINTR || errno == EAGAIN)))
                T->keys = false; /* the terminal went away: no more keys */
            for (ssize_t i = 0; i < n; i++)
                if (buf[i] == 'q' || buf[i] == 'Q')
                    return QUIT;
        }
    }
}

/* ---- figures --------------------------------------------------------------------------------- */

static double num(const json_t *o, const char *key)
{
    return json_number_value(json_object_get(o, key));
}

static json_int_t integer(const json_t *o, const char *key)
{
    return json_integer_value(json_object_get(o, key));
}

/* The tenant of status `s` named `name`, or NULL. */
static const json_t *tenant_in(const json_t *s, const char *name)
{
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(s, "tenants"), i, t)
    {
        if (strcmp(admin_str(t, "name"), name) == 0)
            return t;
    }
    return NULL;
}

/* The q-quantile in ms of the observations histogram `h` gained since
 * `before` (NULL: all), as vgpud computes status's p50_ms
 * (vgpu_sched_hist_quantile, Prometheus's histogram_quantile: linear inside
 * the bucket, the last bound above them all) from the bounds in the status
 * reply (vgpu-admin does not link the scheduler). < 0 when it gained none. */
static double quantile_since(const json_t *h, const json_t *before, const json_t *bounds, double q)
{
    const json_t *b = json_object_get(h, "buckets"), *b0 = json_object_get(before, "buckets");
    size_t n = json_array_size(b), nb = json_array_size(bounds);
    double count[64], total = 0, below = 0;
    if (n < 2 || n > 64 || nb + 1 != n || (b0 && json_array_size(b0) != n))
        return -1;
    for (size_t i = 0; i < n; i++) {
        double d = (double)json_integer_value(json_array_get(b, i)) -
                   (b0 ? (double)json_integer_value(json_array_get(b0, i)) : 0);
        count[i] = d > 0 ? d : 0;
        total += count[i];
    }
    if (total <= 0)
        return -1;
    double rank = q * total;
    for (size_t i = 0; i < n; i++) {
        if (count[i] > 0 && below + count[i] >= rank) {
            if (i == n - 1)
                break;
            double lo = i ? json_number_value(json_array_get(bounds, i - 1)) : 0;
            double hi = json_number_value(json_array_get(bounds, i));
            return (lo + (hi - lo) * (rank - below) / count[i]) * 1e3;
        }
        below += count[i];
    }
    return json_number_value(json_array_get(bounds, nb - 1)) * 1e3;
}

/* One tenant's row: what it is sorted by, and its cells. */
struct row {
    const char *name;
    double share; /* % of one GPU over the interval, < 0: not known */
    double gpu_s; /* cumulative */
    json_int_t memory, queue, inflight;
    double p99; /* ms over the interval, < 0: no waits */
    char cell[NCOLS][CELL];
};

static int compare_rows(const void *x, const void *y, void *key)
{
    const struct row *a = x, *b = y;
    int d = 0;
    switch (*(const enum sort_key *)key) {
    case SORT_GPU:
        d = (a->share < b->share) - (a->share > b->share);
        if (!d)
            d = (a->gpu_s < b->gpu_s) - (a->gpu_s > b->gpu_s);
        break;
    case SORT_MEMORY: d = (a->memory < b->memory) - (a->memory > b->memory); break;
    case SORT_QUEUE:
        d = (a->queue < b->queue) - (a->queue > b->queue);
        if (!d)
            d = (a->inflight < b->inflight) - (a->inflight > b->inflight);
        break;
    case SORT_WAIT: d = (a->p99 < b->p99) - (a->p99 > b->p99); break;
    case SORT_NAME: break;
    }
    return d ? d : strcmp(a->name, b->name);
}

/* ---- drawing ----------------------------------------------------------------------------------
 */

/* "0", "512K", "1.5G", "80G": binary units, short enough for a column. */
static const char *short_size(json_int_t bytes, char *buf, size_t len)
{
    static const char units[] = "BKMGTPE";
    double v = (double)(bytes > 0 ? bytes : 0);
    int u = 0;
    while (v >= 1024 && u < 6) {
        v /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(buf, len, "%.0f", v);
    else
        snprintf(buf, len, v < 9.95 ? "%.1f%c" : "%.0f%c", v, units[u]);
    return buf;
}

/* "4.2s", "12m03s", "5h07m", "3d04h". */
static const char *duration(double s, char *buf, size_t len)
{
    long n = (long)s;
    if (!(s >= 0))
        snprintf(buf, len, "-");
    else if (s < 60)
        snprintf(buf, len, "%.1fs", s);
    else if (s < 3600)
        snprintf(buf, len, "%ldm%02lds", n / 60, n % 60);
    else if (s < 86400)
        snprintf(buf, len, "%ldh%02ldm", n / 3600, n / 60 % 60);
    else
        snprintf(buf, len, "%ldd%02ldh", n / 86400, n / 3600 % 24);
    return buf;
}

/* Prints rows of cells under `head` ("<NAME" left-aligned, ">NAME" right),
 * each column as wide as its widest cell; text columns at most `cap` wide
 * (a longer name is cut, its last character '~'). */
static void table(FILE *f, const char *const *head, int ncols, struct row *rows, size_t nrows,
                  int cap)
{
    int w[NCOLS];
    for (int c = 0; c < ncols; c++) {
        w[c] = (int)strlen(head[c] + 1);
        for (size_t r = 0; r < nrows; r++) {
            int n = (int)strlen(rows[r].cell[c]);
            w[c] = n > w[c] ? n : w[c];
        }
        if (head[c][0] == '<' && w[c] > cap)
            w[c] = cap;
    }
    for (size_t r = 0; r <= nrows; r++) {
        for (int c = 0; c < ncols; c++) {
            const char *text = r == 0 ? head[c] + 1 : rows[r - 1].cell[c];
            bool last = c == ncols - 1, left = head[c][0] == '<';
            int n = (int)strlen(text);
            if (n > w[c])
                fprintf(f, "%.*s~", w[c] - 1, text);
            else if (left && last)
                fputs(text, f);
            else
                fprintf(f, left ? "%-*s" : "%*s", w[c], text);
            fputs(last ? "\n" : "  ", f);
        }
    }
}

static void draw_header(FILE *f, const struct top *T, const json_t *s, double window)
{
    const json_t *d = json_object_get(s, "daemon");
    char up[32], clock[16];
    time_t now = time(NULL);
    struct tm tm;
    strftime(clock, sizeof(clock), "%H:%M:%S", localtime_r(&now, &tm));
    fprintf(f, "vgpu-admin top  %s  vgpud %s, up %s, %lld connection(s), %zu client(s)%s\n", clock,
            admin_str(d, "version"), duration(num(d, "uptime_s"), up, sizeof(up)),
            (long long)integer(d, "connections"), json_array_size(json_object_get(s, "clients")),
            T->keys ? "  [q quits]" : "");
    fprintf(f,
            "last %.1f s: SHARE %% of one GPU, P50/P99 request latency ms, RL/S rate-limit "
            "waits/s; sort: %s\n\n",
            window, sort_names[T->sort]);
}

/* The scheduler's GPUs: index and UUID from the store's list, the lease
 * holder, clients waiting, hand-offs a second over the interval. */
static void draw_gpus(FILE *f, const json_t *s, const json_t *prev, double window)
{
    static const char *const head[] = {"<GPU",    "<UUID",    "<POOLS",
                                       "<HOLDER", ">WAITING", ">HANDOFFS/S"};
    const json_t *gpus = json_object_get(json_object_get(s, "scheduler"), "gpus"), *g, *k;
    const json_t *before = json_object_get(json_object_get(prev, "scheduler"), "gpus");
    size_t n = json_array_size(gpus), i, j;
    struct row *rows = calloc(n ? n : 1, sizeof(*rows));
    if (!rows)
        return;
    json_array_foreach(gpus, i, g)
    {
        struct row *r = &rows[i];
        const char *hex = admin_str(g, "uuid");
        const json_t *h = json_object_get(g, "holder");
        snprintf(r->cell[0], CELL, "-");
        snprintf(r->cell[1], CELL, "%s", hex);
        snprintf(r->cell[2], CELL, "-");
        json_array_foreach(json_object_get(s, "gpus"), j, k)
        {
            const char *uuid = admin_str(k, "uuid");
            if (strlen(uuid) > 4 && strcmp(uuid + 4, hex) == 0) {
                size_t used = 0, p;
                json_t *pool;
                snprintf(r->cell[0], CELL, "%lld", (long long)integer(k, "index"));
                snprintf(r->cell[1], CELL, "%s", uuid);
                json_array_foreach(json_object_get(k, "pools"), p, pool)
                {
                    int w = snprintf(r->cell[2] + used, CELL - used, "%s%s", p ? "," : "",
                                     json_string_value(pool));
                    if (w < 0 || (size_t)w >= CELL - used)
                        break;
                    used += (size_t)w;
                }
            }
        }
        if (json_is_object(h))
            snprintf(r->cell[3], CELL, "%s (%lld)", admin_str(h, "tenant"),
                     (long long)integer(h, "pid"));
        else
            snprintf(r->cell[3], CELL, "-");
        snprintf(r->cell[4], CELL, "%lld", (long long)integer(g, "waiting"));
        snprintf(r->cell[5], CELL, "-");
        json_array_foreach(before, j, k)
        {
            if (strcmp(admin_str(k, "uuid"), hex) == 0 && window > 0) {
                json_int_t dh = integer(g, "handoffs") - integer(k, "handoffs");
                snprintf(r->cell[5], CELL, "%.1f", (double)(dh > 0 ? dh : 0) / window);
            }
        }
    }
    table(f, head, 6, rows, n, 44);
    free(rows);
}

static void draw_tenants(FILE *f, const struct top *T, const json_t *s, const json_t *prev,
                         double window)
{
    static const char *const head[NCOLS] = {"<TENANT", "<POOL",     "<PRIO",   "<STATE",
                                            ">SHARE",  ">GPU TIME", ">MEMORY", ">QUEUE",
                                            ">INFL",   ">P50",      ">P99",    ">RL/S"};
    const json_t *tenants = json_object_get(s, "tenants"), *t;
    const json_t *bounds = json_object_get(json_object_get(s, "scheduler"), "wait_buckets_s");
    size_t n = json_array_size(tenants), i;
    struct row *rows = calloc(n ? n : 1, sizeof(*rows));
    if (!rows)
        return;
    json_array_foreach(tenants, i, t)
    {
        struct row *r = &rows[i];
        const json_t *was = tenant_in(prev, admin_str(t, "name"));
        const json_t *req = json_object_get(t, "request_latency");
        const json_t *req0 = was ? json_object_get(was, "request_latency") : NULL;
        json_int_t limit = integer(t, "memory");
        char used[16], lim[16], b[32];
        r->name = admin_str(t, "name");
        r->gpu_s = num(t, "gpu_time_s");
        r->share = -1;
        if (was && window > 0) {
            double grown = r->gpu_s - num(was, "gpu_time_s");
            r->share = (grown > 0 ? grown : 0) / window * 100;
        }
        r->memory = integer(t, "memory_used");
        r->queue = integer(t, "queue_depth");
        r->inflight = integer(t, "inflight");
        r->p99 = was ? quantile_since(req, req0, bounds, 0.99) : -1;
        snprintf(r->cell[0], CELL, "%s", r->name);
        snprintf(r->cell[1], CELL, "%s", admin_str(t, "pool"));
        snprintf(r->cell[2], CELL, "%s", admin_str(t, "priority"));
        snprintf(r->cell[3], CELL, "%s", admin_str(t, "state"));
        if (r->share >= 0)
            snprintf(r->cell[4], CELL, "%.1f%%", r->share);
        else
            snprintf(r->cell[4], CELL, "-");
        snprintf(r->cell[5], CELL, "%s", duration(r->gpu_s, b, sizeof(b)));
        snprintf(r->cell[6], CELL, "%s/%s", short_size(r->memory, used, sizeof(used)),
                 limit > 0 ? short_size(limit, lim, sizeof(lim)) : "-");
        snprintf(r->cell[7], CELL, "%lld", (long long)r->queue);
        snprintf(r->cell[8], CELL, "%lld", (long long)r->inflight);
        snprintf(r->cell[9], CELL, "%s",
                 admin_format_ms(was ? quantile_since(req, req0, bounds, 0.5) : -1, b, sizeof(b)));
        snprintf(r->cell[10], CELL, "%s", admin_format_ms(r->p99, b, sizeof(b)));
        if (was && window > 0) {
            json_int_t dw = integer(t, "rate_limit_waits") - integer(was, "rate_limit_waits");
            snprintf(r->cell[11], CELL, "%.0f", (double)(dw > 0 ? dw : 0) / window);
        } else {
            snprintf(r->cell[11], CELL, "-");
        }
    }
    qsort_r(rows, n, sizeof(*rows), compare_rows, (void *)&T->sort);
    table(f, head, NCOLS, rows, n, 20);
    free(rows);
}

/* Writes a frame: on a terminal after clearing it, each line cut to the
 * window and no more lines than it has; otherwise as it is, then a blank
 * line. */
static void show(const struct top *T, const char *frame)
{
    if (!T->screen) {
        fputs(frame, stdout);
        fputs("\n", stdout);
        fflush(stdout);
        return;
    }
    struct winsize ws = {0};
    int cols = 100, lines = 40;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 && ws.ws_row > 0) {
        cols = ws.ws_col;
        lines = ws.ws_row;
    }
    fputs(CLEAR_HOME, stdout);
    for (int l = 0; *frame && l < lines; l++) {
        size_t len = strcspn(frame, "\n");
        /* no newline after the window's last line: it would scroll */
        fprintf(stdout, "%s%.*s", l ? "\n" : "", (int)(len < (size_t)cols ? len : (size_t)cols),
                frame);
        frame += len + (frame[len] == '\n');
    }
    fflush(stdout);
}

/* Draws one frame from `s` (NULL: vgpud was not reached, `err` says why). */
static void frame(const struct top *T, const json_t *s, const char *err)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return;
    if (s) {
        double window = num(json_object_get(s, "daemon"), "uptime_s") -
                        num(json_object_get(T->prev, "daemon"), "uptime_s");
        draw_header(f, T, s, window);
        draw_gpus(f, s, T->prev, window);
        fputs("\n", f);
        draw_tenants(f, T, s, T->prev, window);
    } else {
        char clock[16];
        time_t now = time(NULL);
        struct tm tm;
        strftime(clock, sizeof(clock), "%H:%M:%S", localtime_r(&now, &tm));
        fprintf(f, "vgpu-admin top  %s  vgpud unreachable, retrying every %.1f s%s\n%s\n", clock,
                T->interval, T->keys ? "  [q quits]" : "", err);
    }
    if (fclose(f) == 0 && buf)
        show(T, buf);
    free(buf);
}

/* ---- the loop ----------------------------------------------------------------------------------
 */

static int run(struct top *T)
{
    uint64_t interval_ns = (uint64_t)(T->interval * 1e9);
    double first = T->interval < FIRST_WINDOW_S ? T->interval : FIRST_WINDOW_S;
    long frames = 0;
    int rc = 0;
    for (;;) {
        json_t *s = NULL;
        char err[512] = "";
        int r = admin_request(T->a, "status", NULL, &s, err, sizeof(err), REQUEST_MS);
        if (quitting) {
            json_decref(s);
            break;
        }
        if (r == -EREMOTEIO || r == -EDESTADDRREQ) { /* asking again will not help */
            fflush(stdout);
            term_restore();
            fprintf(stderr, "vgpu-admin top: %s\n", err);
            rc = 1;
            break;
        }
        double up = r == 0 ? num(json_object_get(s, "daemon"), "uptime_s") : 0;
        if (r == 0 && (!T->prev || up < num(json_object_get(T->prev, "daemon"), "uptime_s"))) {
            json_decref(T->prev); /* a first sample, or vgpud restarted: one to compare with */
            T->prev = s;
            if (wait_until(T, vgpu_now_ns() + (uint64_t)(first * 1e9)) == QUIT)
                break;
            continue;
        }
        frame(T, r == 0 ? s : NULL, err);
        json_decref(T->prev);
        T->prev = r == 0 ? s : NULL;
        rc = r == 0 ? 0 : 1;
        if (T->iterations && ++frames >= T->iterations)
            break;
        if (wait_until(T, vgpu_now_ns() + interval_ns) == QUIT) {
            rc = 0;
            break;
        }
    }
    return quitting ? 0 : rc;
}

/* ---- options
 * ------------------------------------------------------------------------------------- */

static const struct admin_cmd *self(void)
{
    for (int i = 0; i < admin_ncmds; i++)
        if (admin_cmds[i].run == admin_top)
            return &admin_cmds[i];
    return NULL;
}

static int bad_value(const char *opt, const char *want, const char *val)
{
    fprintf(stderr, "vgpu-admin top: %s wants %s, not '%s'\n", opt, want, val);
    return admin_usage(self());
}

/* Returns 0, 1 for --help (usage printed), 2 for a usage error. */
static int parse_options(struct top *T, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"interval", required_argument, NULL, 'd'}, {"iterations", required_argument, NULL, 'n'},
        {"once", no_argument, NULL, '1'},           {"sort", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0},
    };
    int c;
    char *end;
    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":d:n:s:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'd':
            errno = 0;
            T->interval = strtod(optarg, &end);
            if (errno || end == optarg || *end || !(T->interval >= MIN_INTERVAL_S) ||
                !(T->interval <= MAX_INTERVAL_S))
                return bad_value("--interval", "seconds from 0.1 to 3600", optarg);
            break;
        case 'n':
            errno = 0;
            T->iterations = strtol(optarg, &end, 10);
            if (errno || end == optarg || *end || T->iterations < 1)
                return bad_value("--iterations", "a number of frames from 1", optarg);
            break;
        case '1': T->iterations = 1; break;
        case 's': {
            int k = SORT_GPU;
            while (k <= SORT_NAME && strcmp(optarg, sort_names[k]) != 0)
                k++;
            if (k > SORT_NAME)
                return bad_value("--sort", "gpu, memory, queue, wait or name", optarg);
            T->sort = (enum sort_key)k;
            break;
        }
        case 'h': printf("usage: vgpu-admin %s\n", self()->usage); return 1;
        default:
            fprintf(stderr, "vgpu-admin top: %s '%s'\n",
                    c == ':' ? "missing value for" : "unknown option", argv[optind - 1]);
            return admin_usage(self());
        }
    }
    if (optind < argc) {
        fprintf(stderr, "vgpu-admin top: unexpected argument '%s'\n", argv[optind]);
        return admin_usage(self());
    }
    return 0;
}

int admin_top(struct admin *a, int argc, char **argv)
{
    struct top T = {.a = a, .interval = 1.0, .sort = SORT_GPU};
    int rc = parse_options(&T, argc, argv);
    if (rc)
        return rc == 1 ? 0 : rc;
    if (pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
        fprintf(stderr, "vgpu-admin top: pipe: %s\n", strerror(errno));
        return 1;
    }
    T.screen = isatty(STDOUT_FILENO);
    T.keys = T.screen && isatty(STDIN_FILENO); /* `top | less`: the keys are less's */
    catch_signals(on_signal);
    term_setup(&T);
    rc = run(&T);
    fflush(stdout);
    term_restore();
    catch_signals(SIG_DFL);
    json_decref(T.prev);
    close(sig_pipe[0]);
    close(sig_pipe[1]);
    return rc;
}
