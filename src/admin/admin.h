/* admin: vgpu-admin, the control panel on a terminal.
 *
 * Each subcommand is one entry of a table ({name, handler, summary, usage});
 * the top-level help is generated from it. A subcommand builds the request's
 * arguments from its options as the user typed them (vgpud validates them,
 * one path for the CLI and the HTTP API), sends it over the control socket
 * and prints the reply as a table, or as JSON with --json; `top` (top.c)
 * asks for status again and again and draws what changed. Exit codes: 0 ok,
 * 1 an error (one line naming what was wrong), 2 a usage error. It may call:
 * common, proto. */
#ifndef VGPU_ADMIN_H
#define VGPU_ADMIN_H

#include <jansson.h>
#include <stdbool.h>

struct admin {
    const char *socket; /* --socket, else VGPU_SOCKET, else the default */
    int fd;             /* -1 until the first request */
    bool json;          /* --json: print the reply's JSON */
};

struct admin_cmd {
    const char *name;
    int (*run)(struct admin *a, int argc, char **argv);
    const char *summary;
    const char *usage;
};

/* Sends op with args (stolen) and returns 0 with *result (when result is not
 * NULL), or prints the error and returns 1. */
int admin_call(struct admin *a, const char *op, json_t *args, json_t **result);
/* The same without printing, for callers that go on after an error (top):
 * args (may be NULL) is not stolen, result must not be NULL. Returns 0 with
 * *result, -EREMOTEIO for vgpud's error reply, -EDESTADDRREQ when there is
 * no socket path, or another -errno when vgpud cannot be reached or the
 * connection failed (it is closed: the next request connects again); err
 * says what happened in every case. */
int admin_request(struct admin *a, const char *op, const json_t *args, json_t **result, char *err,
                  size_t errlen, int timeout_ms);
/* Prints `usage` for a subcommand to stderr and returns 2. */
int admin_usage(const struct admin_cmd *cmd);
/* Prints JSON (compact, one line) and returns 0. */
int admin_print_json(const json_t *j);

/* commands.c: the table, and what the listings print with. */
extern const struct admin_cmd admin_cmds[];
extern const int admin_ncmds;
/* o[key] as a string, "-" when it is not one. */
const char *admin_str(const json_t *o, const char *key);
/* Milliseconds with about three significant digits ("0.412", "18.9",
 * "1234"), "-" for a negative value or NaN (no observations). */
const char *admin_format_ms(double ms, char *buf, size_t len);

/* top.c: `vgpu-admin top`, the live view. */
int admin_top(struct admin *a, int argc, char **argv);

#endif
