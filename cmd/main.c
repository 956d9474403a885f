/* SPDX-License-Identifier: GPL-2.0-or-later */
/* pvfio: entry point, global options and command dispatch. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "pvfio/xalloc.h"
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "doc.h"

static void log_to_stderr(void *userdata, enum pv_log_level level, const char *msg) {
        struct pv_ctx *ctx = userdata;
        static const char *const names[] = { "error", "warning", "info", "debug" };
        const char *color = level <= PV_LOG_WARNING ? pv_c(ctx, ctx->err, PV_C_YELLOW) : pv_c(ctx, ctx->err, PV_C_DIM);
        fprintf(ctx->err, "%s: %s%s:%s %s\n", ctx->prog, color, names[level], pv_c(ctx, ctx->err, PV_C_RESET), msg);
}

static bool want_color(enum pv_color_mode m, int fd) {
        if (m == PV_COLOR_ALWAYS)
                return true;
        if (m == PV_COLOR_NEVER)
                return false;
        const char *no = getenv("NO_COLOR");
        if (no && *no)
                return false;
        const char *term = getenv("TERM");
        return isatty(fd) && term && strcmp(term, "dumb") != 0;
}

static const struct pv_cmd *lookup(const struct pv_cmd *const *table, const char *name) {
        for (; table && *table; table++)
                if (strcmp((*table)->name, name) == 0)
                        return *table;
        return NULL;
}

static void finish_ctx(struct pv_ctx *ctx) {
        ctx->color_out = want_color(ctx->color_mode, STDOUT_FILENO);
        ctx->color_err = want_color(ctx->color_mode, STDERR_FILENO);
        ctx->log.max = ctx->verbose >= 2 ? PV_LOG_DEBUG : ctx->verbose == 1 ? PV_LOG_INFO : PV_LOG_WARNING;
        if (ctx->quiet && ctx->verbose == 0)
                ctx->log.max = PV_LOG_ERROR;
}

/* Run cmd with argv (argv[0] = its name), descending into subcommands. */
static int dispatch(struct pv_ctx *ctx, const struct pv_cmd *cmd, int argc, char **argv) {
        struct pv_args args;
        bool help = false;
        int r = pv_cli_parse(ctx, cmd, argc, argv, &args, &help);
        if (r) {
                free(args.pos);
                return r;
        }
        finish_ctx(ctx);
        if (cmd->subcmds) {
                if (help || args.npos == 0) {
                        pv_cli_help(ctx, cmd);
                        free(args.pos);
                        return help ? PV_EXIT_OK : PV_EXIT_USAGE;
                }
                const struct pv_cmd *sub = lookup(cmd->subcmds, args.pos[0]);
                if (!sub) {
                        r = pv_cli_usage_error(ctx, cmd, "unknown command '%s'", args.pos[0]);
                        free(args.pos);
                        return r;
                }
                /* argv for the subcommand: its name and everything after it */
                int k = 1;
                while (k < argc && argv[k] != args.pos[0])
                        k++;
                free(args.pos);
                return dispatch(ctx, sub, argc - k, argv + k);
        }
        if (help) {
                pv_cli_help(ctx, cmd);
                free(args.pos);
                return PV_EXIT_OK;
        }
        r = pv_cli_run(ctx, cmd, &args);   /* the check hook, profile, API and --yes its flags ask for */
        free(args.pos);
        return r;
}

/* Out of memory anywhere: say so and stop (exit 1, like any error); nothing is half-written
 * because host files are replaced by rename and API writes are single requests. */
/*
 * After a command: flush and check stdout (a failed write is an error, not a silent loss),
 * then leave without the libraries' exit-time teardown. OpenSSL's providers, GnuTLS and
 * p11-kit (pulled in by libcurl) free at exit what dies with the process anyway: about
 * 1.5 ms of a 35 ms no-op apply. Sanitizer builds (the leak check) and the chaos tests'
 * pvfio-fault (its boundary count) run the exit handlers: PVFIO_EXIT_NORMALLY.
 */
static int leave(int rc) {
        if (fflush(stdout) != 0 && errno != EPIPE) {
                fprintf(stderr, "pvfio: cannot write the output: %s\n", strerror(errno));
                if (rc == PV_EXIT_OK || rc == PV_EXIT_CHANGES)
                        rc = PV_EXIT_ERROR;
        }
        fflush(stderr);
#ifndef PVFIO_EXIT_NORMALLY
        _exit(rc);
#endif
        return rc;
}

static void out_of_memory(size_t size) {
        fprintf(stderr, "pvfio: error: out of memory (allocating %zu bytes)\n", size);
        _exit(PV_EXIT_ERROR);
}

int main(int argc, char **argv) {
        pv_set_oom_handler(out_of_memory);
        struct pv_ctx ctx = {
                .prog = "pvfio",
                .color_mode = PV_COLOR_AUTO,
                .out = stdout,
                .err = stderr,
        };
        ctx.log.fn = log_to_stderr;
        ctx.log.userdata = &ctx;
        ctx.log.max = PV_LOG_WARNING;

        /* Global options before the command. */
        int k = 1;
        static const struct pv_cmd top = { .name = NULL, .opts = NULL, .subcmds = NULL, .max_args = -1 };
        for (; k < argc && argv[k][0] == '-' && argv[k][1] != '\0'; k++) {
                if (strcmp(argv[k], "--version") == 0) {
                        printf("pvfio %s\n", PVFIO_VERSION);
                        return PV_EXIT_OK;
                }
                if (strcmp(argv[k], "--") == 0) {
                        k++;
                        break;
                }
                if (strcmp(argv[k], "--help") == 0 || strcmp(argv[k], "-h") == 0) {
                        finish_ctx(&ctx);
                        pv_cli_help(&ctx, NULL);
                        return PV_EXIT_OK;
                }
                /* parse one global option (with its value) through the generic parser */
                char *one[3] = { argv[0], argv[k], NULL };
                int n = 2;
                if (strcmp(argv[k], "--color") == 0 && k + 1 < argc) {
                        one[2] = argv[++k];
                        n = 3;
                }
                struct pv_args args;
                bool help = false;
                int r = pv_cli_parse(&ctx, &top, n, one, &args, &help);
                free(args.pos);
                if (r)
                        return r;
        }
        if (k >= argc) {
                finish_ctx(&ctx);
                pv_cli_help(&ctx, NULL);
                return PV_EXIT_USAGE;
        }
        if (strcmp(argv[k], "help") == 0) {
                finish_ctx(&ctx);
                const struct pv_cmd *c = k + 1 < argc ? lookup(pv_commands, argv[k + 1]) : NULL;
                pv_cli_help(&ctx, c);
                return PV_EXIT_OK;
        }
        const struct pv_cmd *cmd = lookup(pv_commands, argv[k]);
        if (!cmd) /* __man, __completion, __nodes: used by the build and the completion */
                cmd = lookup(pv_hidden_commands, argv[k]);
        if (!cmd) {
                fprintf(stderr, "pvfio: unknown command '%s'\nTry 'pvfio --help' for the list of commands.\n",
                        argv[k]);
                return PV_EXIT_USAGE;
        }
        return leave(dispatch(&ctx, cmd, argc - k, argv + k));
}
