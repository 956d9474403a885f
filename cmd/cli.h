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

struct pv_profile;
struct pv_cli_conn;

/*
 * What the dispatcher prepared for the running command from its table flags
 * (PV_CMD_NEEDS_PROFILE …), released by the dispatcher after the command ran.
 * A command may take a member over (TAKE_PTR) when it outlives the run.
 */
struct pv_cmd_env {
        const char *profile_file;  /* the profile as named ("-" = stdin); a check hook may set it */
        struct pv_profile *profile;/* PV_CMD_NEEDS_PROFILE (NULL when PV_CMD_PROFILE_OPTION was not given) */
        char *profile_text;        /* PV_CMD_KEEPS_PROFILE_TEXT: the profile's bytes (sent to other nodes) */
        size_t profile_len;
        char *vms_yaml;            /* set by a check hook: replaces the profile's `vms` list (vm add) */
        size_t vms_len;
        unsigned parallel;         /* set by a check hook: --parallel for PV_CMD_NEEDS_API (0 = the profile's) */
        struct pv_cli_conn *conn;  /* PV_CMD_NEEDS_API: the session to the profile's cluster */
        bool yes;                  /* PV_CMD_CONFIRMS: --yes was given (pv_cli_confirm does not ask) */
};

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
        struct pv_cmd_env env;   /* what the dispatcher prepared for the running command */
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

/*
 * What the dispatcher does before it calls a command's run (pv_cmd.flags), in
 * this order: the check hook (usage errors come before anything is read), the
 * profile, the API session, the confirmation setting.
 */
enum {
        /* Load the profile named by the first argument (PV_CMD_PROFILE_OPTION: by --profile, optional;
         * a check hook may name it in env.profile_file) into ctx->env.profile, reporting its
         * diagnostics as cmd->profile_report says. An invalid profile ends the run (exit 1). */
        PV_CMD_NEEDS_PROFILE = 1 << 0,
        PV_CMD_KEEPS_PROFILE_TEXT = 1 << 1, /* also keep the bytes in ctx->env.profile_text */
        PV_CMD_PROFILE_OPTION = 1 << 2,     /* the profile comes from --profile FILE and may be absent */
        /* Open a session to the profile's cluster (ctx->env.conn) with --parallel as the check hook set it. */
        PV_CMD_NEEDS_API = 1 << 3,
        /* The command asks before it changes something: ctx->env.yes = --yes, pv_cli_confirm() asks. */
        PV_CMD_CONFIRMS = 1 << 4,
};

/* How the dispatcher reports a profile that does not load: each command keeps the wording it always had. */
enum pv_profile_report {
        PV_PROFILE_REPORT_PLAN,   /* every diagnostic on stderr; "the profile 'F' is not valid (N errors)" */
        PV_PROFILE_REPORT_HOST,   /* warnings only when it fails; "F is not a valid profile ('pvfio validate' …)" */
        PV_PROFILE_REPORT_TERSE,  /* no diagnostics; "profile 'F' is not valid: run 'pvfio validate F'" */
        PV_PROFILE_REPORT_KEYS,   /* errors as "pvfio: error: KEY: MESSAGE" (a regular file only) */
        PV_PROFILE_REPORT_NONE,   /* nothing printed: the caller reports the diagnostics (validate) */
};

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
        unsigned flags;          /* PV_CMD_*: what the dispatcher prepares before run */
        enum pv_profile_report profile_report; /* with PV_CMD_NEEDS_PROFILE */
        /* Usage checks that come before the profile is read (exit code, 0 = go on); may fill ctx->env. */
        pv_cmd_fn check;
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
/* Run cmd as the table says: its check hook, the profile, the API session, then cmd->run; releases
 * ctx->env afterwards. Returns the exit code. */
int pv_cli_run(struct pv_ctx *ctx, const struct pv_cmd *cmd, struct pv_args *args);
/* Release what the dispatcher prepared (ctx->env). */
void pv_cmd_env_done(struct pv_cmd_env *env);
/* PV_CMD_CONFIRMS: 0 to go on (--yes, or 'y' on the terminal), else PV_EXIT_ERROR after saying why:
 * "PROG: <refusal>" when standard input is not a terminal, <declined> when the answer was not yes. */
int pv_cli_confirm(struct pv_ctx *ctx, const char *question, const char *refusal, const char *declined);
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
