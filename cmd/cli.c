/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Option-table driven argument parsing and help. */
#include "cli.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const struct pv_opt pv_global_opts[] = {
        { "help", 'h', PV_OPT_FLAG, NULL, "show this help and exit", false },
        { "json", 0, PV_OPT_FLAG, NULL, "machine-readable JSON output (commands that produce data)", false },
        { "quiet", 'q', PV_OPT_FLAG, NULL, "print only errors and the essential result", false },
        { "verbose", 'v', PV_OPT_FLAG, NULL, "more detail on stderr (twice: debug trace, secrets redacted)", false },
        { "debug", 0, PV_OPT_FLAG, NULL, "same as -vv", false },
        { "color", 0, PV_OPT_VALUE, "WHEN", "colour output: auto (default), always, never", false },
        { NULL, 0, 0, NULL, NULL, false },
};

static int find_opt(const struct pv_opt *opts, const char *name) {
        for (int i = 0; opts && opts[i].name; i++)
                if (strcmp(opts[i].name, name) == 0)
                        return i;
        return -1;
}

static int find_short(const struct pv_opt *opts, char c) {
        for (int i = 0; opts && opts[i].name; i++)
                if (opts[i].short_name == c)
                        return i;
        return -1;
}

static int index_of(const struct pv_args *a, const char *name) {
        int i = find_opt(a->opts, name);
        assert(i >= 0 && "option not in the command's table");
        return i;
}

bool pv_args_flag(const struct pv_args *a, const char *name) {
        return a->count[index_of(a, name)] > 0;
}

unsigned pv_args_count(const struct pv_args *a, const char *name) {
        return a->count[index_of(a, name)];
}

const char *pv_args_value(const struct pv_args *a, const char *name) {
        return a->value[index_of(a, name)];
}

const char *const *pv_args_values(const struct pv_args *a, const char *name, unsigned *ret_n) {
        int i = index_of(a, name);
        *ret_n = a->count[i] < PV_MAX_VALUES ? a->count[i] : PV_MAX_VALUES;
        return a->values[i];
}

static void full_name(const struct pv_cmd *cmd, char *out, size_t n) {
        if (!cmd || !cmd->name)
                snprintf(out, n, "pvfio");
        else if (cmd->parent)
                snprintf(out, n, "pvfio %s %s", cmd->parent, cmd->name);
        else
                snprintf(out, n, "pvfio %s", cmd->name);
}

int pv_cli_usage_error(struct pv_ctx *ctx, const struct pv_cmd *cmd, const char *fmt, ...) {
        char name[128];
        full_name(cmd, name, sizeof name);
        va_list ap;
        va_start(ap, fmt);
        fprintf(ctx->err, "%s: ", name);
        vfprintf(ctx->err, fmt, ap);
        fputc('\n', ctx->err);
        va_end(ap);
        fprintf(ctx->err, "Try '%s --help' for more information.\n", name);
        return PV_EXIT_USAGE;
}

int pv_args_uint(struct pv_ctx *ctx, const struct pv_cmd *cmd, const struct pv_args *a, const char *name,
                 unsigned min, unsigned max, unsigned def, unsigned *ret) {
        const char *v = pv_args_value(a, name);
        if (!v) {
                *ret = def;
                return 0;
        }
        char *end = NULL;
        errno = 0;
        unsigned long n = strtoul(v, &end, 10);
        if (errno || !*v || *end || v[0] == '-' || n < min || n > max) {
                pv_cli_usage_error(ctx, cmd, "--%s: '%s' is not a number between %u and %u", name, v, min, max);
                return -1;
        }
        *ret = (unsigned)n;
        return 0;
}

static int apply_global(struct pv_ctx *ctx, const struct pv_cmd *cmd, int gi, const char *value, bool *ret_help) {
        const char *n = pv_global_opts[gi].name;
        if (strcmp(n, "help") == 0)
                *ret_help = true;
        else if (strcmp(n, "json") == 0) {
                if (cmd && cmd->name && !cmd->json && !cmd->subcmds)
                        return pv_cli_usage_error(ctx, cmd, "--json is not supported by this command");
                ctx->json = true;
        } else if (strcmp(n, "quiet") == 0)
                ctx->quiet = true;
        else if (strcmp(n, "verbose") == 0)
                ctx->verbose++;
        else if (strcmp(n, "debug") == 0)
                ctx->verbose = ctx->verbose < 2 ? 2 : ctx->verbose;
        else if (strcmp(n, "color") == 0) {
                if (strcmp(value, "auto") == 0)
                        ctx->color_mode = PV_COLOR_AUTO;
                else if (strcmp(value, "always") == 0)
                        ctx->color_mode = PV_COLOR_ALWAYS;
                else if (strcmp(value, "never") == 0)
                        ctx->color_mode = PV_COLOR_NEVER;
                else
                        return pv_cli_usage_error(ctx, cmd, "--color: '%s' is not one of auto, always, never", value);
        }
        return 0;
}

static int store(struct pv_ctx *ctx, const struct pv_cmd *cmd, struct pv_args *a, int i, const char *value) {
        if (a->count[i] >= PV_MAX_VALUES)
                return pv_cli_usage_error(ctx, cmd, "--%s given too many times", a->opts[i].name);
        if (a->opts[i].type == PV_OPT_VALUE) {
                if (a->count[i] > 0 && !a->opts[i].repeat && strcmp(a->value[i], value) != 0)
                        return pv_cli_usage_error(ctx, cmd, "--%s given twice with different values",
                                                  a->opts[i].name);
                a->value[i] = value;
                a->values[i][a->count[i]] = value;
        }
        a->count[i]++;
        return 0;
}

int pv_cli_parse(struct pv_ctx *ctx, const struct pv_cmd *cmd, int argc, char **argv, struct pv_args *ret,
                 bool *ret_help) {
        struct pv_args *a = ret;
        memset(a, 0, sizeof *a);
        a->opts = cmd->opts;
        a->pos = calloc((size_t)argc + 1, sizeof(char *));
        if (!a->pos) {
                fprintf(ctx->err, "pvfio: out of memory\n");
                return PV_EXIT_ERROR;
        }
        *ret_help = false;
        bool only_pos = false;
        for (int k = 1; k < argc; k++) {
                char *arg = argv[k];
                if (only_pos || arg[0] != '-' || arg[1] == '\0') {
                        a->pos[a->npos++] = arg;
                        /* a command with subcommands stops at its subcommand name */
                        if (cmd->subcmds) {
                                for (k++; k < argc; k++)
                                        a->pos[a->npos++] = argv[k];
                                break;
                        }
                        continue;
                }
                if (strcmp(arg, "--") == 0) {
                        only_pos = true;
                        continue;
                }
                if (arg[1] == '-') {
                        const char *name = arg + 2;
                        const char *eq = strchr(name, '=');
                        char nbuf[64];
                        size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
                        if (nlen >= sizeof nbuf)
                                return pv_cli_usage_error(ctx, cmd, "unknown option '%s'", arg);
                        memcpy(nbuf, name, nlen);
                        nbuf[nlen] = '\0';
                        int i = find_opt(cmd->opts, nbuf);
                        int gi = i < 0 ? find_opt(pv_global_opts, nbuf) : -1;
                        if (i < 0 && gi < 0)
                                return pv_cli_usage_error(ctx, cmd, "unknown option '--%s'", nbuf);
                        const struct pv_opt *o = i >= 0 ? &cmd->opts[i] : &pv_global_opts[gi];
                        const char *value = NULL;
                        if (o->type == PV_OPT_VALUE) {
                                if (eq)
                                        value = eq + 1;
                                else if (k + 1 < argc)
                                        value = argv[++k];
                                else
                                        return pv_cli_usage_error(ctx, cmd, "option '--%s' needs a value (%s)",
                                                                  o->name, o->value_name ? o->value_name : "VALUE");
                        } else if (eq) {
                                return pv_cli_usage_error(ctx, cmd, "option '--%s' takes no value", o->name);
                        }
                        int r = i >= 0 ? store(ctx, cmd, a, i, value) : apply_global(ctx, cmd, gi, value, ret_help);
                        if (r)
                                return r;
                        continue;
                }
                /* short options, possibly clustered: -qv, -r DIR, -rDIR */
                for (const char *p = arg + 1; *p; p++) {
                        int i = find_short(cmd->opts, *p);
                        int gi = i < 0 ? find_short(pv_global_opts, *p) : -1;
                        if (i < 0 && gi < 0)
                                return pv_cli_usage_error(ctx, cmd, "unknown option '-%c'", *p);
                        const struct pv_opt *o = i >= 0 ? &cmd->opts[i] : &pv_global_opts[gi];
                        const char *value = NULL;
                        if (o->type == PV_OPT_VALUE) {
                                if (p[1])
                                        value = p + 1;
                                else if (k + 1 < argc)
                                        value = argv[++k];
                                else
                                        return pv_cli_usage_error(ctx, cmd, "option '-%c' needs a value", *p);
                        }
                        int r = i >= 0 ? store(ctx, cmd, a, i, value) : apply_global(ctx, cmd, gi, value, ret_help);
                        if (r)
                                return r;
                        if (value)
                                break;
                }
        }
        if (*ret_help)
                return 0;
        if (!cmd->subcmds) {
                if (a->npos < cmd->min_args)
                        return pv_cli_usage_error(ctx, cmd, "missing argument: %s", cmd->usage ? cmd->usage : "");
                if (cmd->max_args >= 0 && a->npos > cmd->max_args)
                        return pv_cli_usage_error(ctx, cmd, "unexpected argument '%s'", a->pos[cmd->max_args]);
        }
        return 0;
}

static void print_opts(FILE *f, const struct pv_opt *opts) {
        for (int i = 0; opts && opts[i].name; i++) {
                char left[80];
                const struct pv_opt *o = &opts[i];
                if (o->short_name)
                        snprintf(left, sizeof left, "-%c, --%s%s%s", o->short_name, o->name,
                                 o->type == PV_OPT_VALUE ? " " : "", o->type == PV_OPT_VALUE ? o->value_name : "");
                else
                        snprintf(left, sizeof left, "    --%s%s%s", o->name, o->type == PV_OPT_VALUE ? "=" : "",
                                 o->type == PV_OPT_VALUE ? o->value_name : "");
                fprintf(f, "  %-28s %s\n", left, o->help);
        }
}

const struct pv_exit_doc pv_exit_docs[] = {
        { PV_EXIT_OK, "success; for plan and diff: nothing to change" },
        { PV_EXIT_ERROR, "error (an invalid profile, an API or host failure)" },
        { PV_EXIT_CHANGES, "plan and diff: changes are pending or drift was found; apply: applied, but blocked "
                           "work remains (a reboot is due, for example)" },
        { PV_EXIT_PARTIAL, "apply: some actions failed (the summary says which and why)" },
        { PV_EXIT_USAGE, "usage error (an unknown command or option, a missing argument)" },
        { -1, NULL },
};

static void print_exit_codes(FILE *f) {
        fprintf(f, "\nExit status:\n");
        for (const struct pv_exit_doc *e = pv_exit_docs; e->meaning; e++)
                fprintf(f, "  %-3d %s\n", e->code, e->meaning);
}

void pv_cli_help(struct pv_ctx *ctx, const struct pv_cmd *cmd) {
        FILE *f = ctx->out;
        if (!cmd) {
                fprintf(f, "Usage: pvfio [OPTIONS] COMMAND [ARGS...]\n\n"
                           "Declarative GPU and PCI passthrough for Proxmox VE: host VFIO setup, PCI\n"
                           "resource mappings and VMs from one YAML profile.\n\nCommands:\n");
                for (const struct pv_cmd *const *cp = pv_commands; *cp; cp++) {
                        const struct pv_cmd *c = *cp;
                        if (c->subcmds) {
                                for (const struct pv_cmd *const *sp = c->subcmds; *sp; sp++) {
                                        const struct pv_cmd *s = *sp;
                                        char n[64];
                                        snprintf(n, sizeof n, "%s %s", c->name, s->name);
                                        fprintf(f, "  %-18s %s\n", n, s->summary);
                                }
                        } else {
                                fprintf(f, "  %-18s %s\n", c->name, c->summary);
                        }
                }
                fprintf(f, "\nGlobal options:\n");
                print_opts(f, pv_global_opts);
                fprintf(f, "      --version                print the version and exit\n");
                print_exit_codes(f);
                fprintf(f, "\nRun 'pvfio COMMAND --help' for a command's options. Profile format: docs/profile.md.\n");
                return;
        }
        char name[128];
        full_name(cmd, name, sizeof name);
        if (cmd->subcmds) {
                fprintf(f, "Usage: %s COMMAND [OPTIONS] [ARGS...]\n\n%s\n\nCommands:\n", name, cmd->summary);
                for (const struct pv_cmd *const *sp = cmd->subcmds; *sp; sp++)
                        fprintf(f, "  %-12s %s\n", (*sp)->name, (*sp)->summary);
                fprintf(f, "\nRun '%s COMMAND --help' for details.\n", name);
                return;
        }
        fprintf(f, "Usage: %s [OPTIONS]%s%s\n\n%s\n", name, cmd->usage ? " " : "", cmd->usage ? cmd->usage : "",
                cmd->summary);
        if (cmd->description)
                fprintf(f, "\n%s\n", cmd->description);
        if (cmd->opts && cmd->opts[0].name) {
                fprintf(f, "\nOptions:\n");
                print_opts(f, cmd->opts);
        }
        fprintf(f, "\nGlobal options:\n");
        for (int i = 0; pv_global_opts[i].name; i++) {
                if (strcmp(pv_global_opts[i].name, "json") == 0 && !cmd->json)
                        continue;
                struct pv_opt one[2] = { pv_global_opts[i], { NULL, 0, 0, NULL, NULL, false } };
                print_opts(f, one);
        }
        print_exit_codes(f);
}
