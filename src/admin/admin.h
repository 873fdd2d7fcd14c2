/* admin: vgpu-admin, the control panel on a terminal.
 *
 * Each subcommand is one entry of a table ({name, handler, summary, usage});
 * the top-level help is generated from it. A subcommand builds the request's
 * arguments from its options as the user typed them (vgpud validates them,
 * one path for the CLI and the HTTP API), sends it over the control socket
 * and prints the reply as a table, or as JSON with --json. Exit codes: 0 ok,
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
/* Prints `usage` for a subcommand to stderr and returns 2. */
int admin_usage(const struct admin_cmd *cmd);
/* Prints JSON (compact, one line) and returns 0. */
int admin_print_json(const json_t *j);

/* commands.c: the table. */
extern const struct admin_cmd admin_cmds[];
extern const int admin_ncmds;

#endif
