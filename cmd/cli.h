/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The CLI framework: command tables, option tables (which drive parsing,
 * --help and usage errors), the per-run context, and output helpers.
 * Only cmd/ prints or exits.
 */
#ifndef PVFIO_CMD_CLI_H
#define PVFIO_CMD_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include <jansson.h>

#include "pvfio/engine.h"
#include "pvfio/error.h"
#include "pvfio/log.h"

/* Exit codes (documented in --help, README and pvfio(1)). */
enum {
        PV_EXIT_OK = 0,        /* success, no changes / no drift */
        PV_EXIT_ERROR = 1,     /* error (including an invalid profile) */
        PV_EXIT_CHANGES = 2,   /* plan/diff: changes pending or drift found */
        PV_EXIT_PARTIAL = 3,   /* apply: some actions failed */
        PV_EXIT_USAGE = 64,    /* usage error (EX_USAGE) */
};

/* The exit statuses with their meaning, for --help and pvfio(1); ends with { -1, NULL }. */
struct pv_exit_doc {
        int code;
        const char *meaning;
};
extern const struct pv_exit_doc pv_exit_docs[];

enum pv_color_mode { PV_COLOR_AUTO, PV_COLOR_ALWAYS, PV_COLOR_NEVER };

/* Settings shared by every command (the only mutable run state; owned by main). */
struct pv_ctx {
        const char *prog;        /* "pvfio" */
        bool json;               /* --json */
        bool quiet;              /* -q */
        int verbose;             /* -v count; 2+ = --debug */
        enum pv_color_mode color_mode;
        bool color_out, color_err; /* resolved per stream */
        struct pv_log log;       /* sink for library warnings/debug (writes stderr) */
        FILE *out, *err;         /* stdout / stderr (tests may redirect) */
        unsigned api_retry_s;    /* --retry-time of the running command; 0 = the profile's, else 30 s */
        struct pv_engine_events events; /* filled by pv_cli_events() */
};

enum pv_opt_type {
        PV_OPT_FLAG,             /* --name (may repeat: count) */
        PV_OPT_VALUE,            /* --name VALUE or --name=VALUE (last wins unless repeat) */
};

/* One option of a command. The table ends with { NULL }. */
struct pv_opt {
        const char *name;        /* long name without "--" */
        char short_name;         /* 0 = none */
        enum pv_opt_type type;
        const char *value_name;  /* "DIR", "N" … for --help */
        const char *help;        /* one line */
        bool repeat;             /* VALUE may be given several times (collected) */
};

#define PV_MAX_OPTS 32
#define PV_MAX_VALUES 64

/* Parsed arguments of one command invocation. */
struct pv_args {
        const struct pv_opt *opts;        /* the command's table */
        unsigned count[PV_MAX_OPTS];      /* how often each option was given */
        const char *value[PV_MAX_OPTS];   /* last value of each VALUE option */
        const char *values[PV_MAX_OPTS][PV_MAX_VALUES]; /* all values of repeat options */
        int npos;
        char **pos;                       /* positional arguments (borrowed from argv) */
};

struct pv_cmd;
typedef int (*pv_cmd_fn)(struct pv_ctx *ctx, const struct pv_cmd *cmd, struct pv_args *args);

/* One command. A command with `subcmds` dispatches on its first argument. */
struct pv_cmd {
        const char *name;
        const char *summary;     /* one line for the command list */
        const char *usage;       /* "PROFILE..." – the positional part */
        const char *description; /* a paragraph for --help, or NULL */
        const struct pv_opt *opts; /* may be NULL */
        int min_args, max_args;  /* positional count; max -1 = unlimited */
        pv_cmd_fn run;           /* NULL when subcmds is set */
        const struct pv_cmd *const *subcmds; /* NULL-terminated table of subcommands */
        bool json;               /* the command produces data and accepts --json */
        const char *parent;      /* "host" for "host scan" (set by the table) */
};

/* Option lookups by long name (aborts on a name not in the table: a programming error). */
bool pv_args_flag(const struct pv_args *a, const char *name);
unsigned pv_args_count(const struct pv_args *a, const char *name);
const char *pv_args_value(const struct pv_args *a, const char *name);
/* All values of a repeat option; *ret_n gets their number. */
const char *const *pv_args_values(const struct pv_args *a, const char *name, unsigned *ret_n);
/* Parse an unsigned option value in [min,max]; prints a usage error and returns -1 on failure. */
int pv_args_uint(struct pv_ctx *ctx, const struct pv_cmd *cmd, const struct pv_args *a, const char *name,
                 unsigned min, unsigned max, unsigned def, unsigned *ret);

/* Parse argv for cmd (argv[0] is the command name). Returns 0, or an exit code (64) after printing. */
int pv_cli_parse(struct pv_ctx *ctx, const struct pv_cmd *cmd, int argc, char **argv, struct pv_args *ret,
                 bool *ret_help);
/* Print the help of a command (or of the program when cmd is NULL) to ctx->out. */
void pv_cli_help(struct pv_ctx *ctx, const struct pv_cmd *cmd);
/* Print "pvfio CMD: MESSAGE" + a usage hint to stderr; returns PV_EXIT_USAGE. */
int pv_cli_usage_error(struct pv_ctx *ctx, const struct pv_cmd *cmd, const char *fmt, ...) PV_PRINTF(3, 4);
/* The command table (main.c), NULL-terminated. */
extern const struct pv_cmd *const pv_commands[];
/* Global options, accepted by every command. */
extern const struct pv_opt pv_global_opts[];

/* ---- output helpers (out.c) ---- */

/* Print "pvfio: error: MESSAGE" (with file:line:col when known) once; returns PV_EXIT_ERROR. */
int pv_report_error(struct pv_ctx *ctx, const struct pv_error *err);
/* Print a warning to stderr ("pvfio: warning: …"). */
void pv_warn(struct pv_ctx *ctx, const char *fmt, ...) PV_PRINTF(2, 3);
/* The engine's callbacks bound to ctx: warnings and progress on stderr (progress not with
 * --json or -q), questions answered on a terminal. */
const struct pv_engine_events *pv_cli_events(struct pv_ctx *ctx);
/* Dump a JSON document (steals the reference) to ctx->out, pretty, with trailing newline. */
int pv_print_json(struct pv_ctx *ctx, json_t *doc);
/* JSON object for an error {code, message, file?, line?, col?, http_status?} (new reference). */
json_t *pv_error_to_json(const struct pv_error *err);
/* ANSI colour helpers: return the escape (or "" when colour is off for that stream). */
const char *pv_c(const struct pv_ctx *ctx, FILE *stream, const char *what);
#define PV_C_RED "31"
#define PV_C_GREEN "32"
#define PV_C_YELLOW "33"
#define PV_C_BLUE "34"
#define PV_C_BOLD "1"
#define PV_C_DIM "2"
#define PV_C_RESET "0"

#endif
