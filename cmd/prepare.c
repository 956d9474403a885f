/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the dispatcher does for a command before it runs, from the flags of its
 * table entry: the check hook (usage errors first), the profile (the one
 * loader of cmd/, also behind `validate`), the API session and the --yes of
 * the commands that confirm. The command then finds all of it in ctx->env.
 */
#include <assert.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "connect.h"
#include "pvfio/buf.h"
#include "pvfio/profilebundle.h"
#include "pvfio/xalloc.h"

/* ---------------------------------------------------------------- the profile */

static const char *shown_name(const char *file) {
        return strcmp(file, "-") == 0 ? "<stdin>" : file;
}

/* The profile's bytes into *b: stdin for "-" except for the KEYS style (vm add reads a file only). */
static int read_profile(const struct pv_cli_profile_req *req, struct pv_buf *b, struct pv_error *err) {
        bool is_stdin = strcmp(req->file, "-") == 0 && req->report != PV_PROFILE_REPORT_KEYS;
        int r = is_stdin ? pv_buf_read_fd(b, STDIN_FILENO, err) : pv_buf_read_file_at(b, AT_FDCWD, req->file, err);
        if (r >= 0)
                return r;
        if (req->report == PV_PROFILE_REPORT_PLAN)
                return pv_error_wrap(err, "cannot read the profile");
        if (is_stdin && req->report != PV_PROFILE_REPORT_KEYS)
                return pv_error_wrap(err, "cannot read the profile from standard input");
        return r;
}

static void print_diag(struct pv_ctx *ctx, const char *shown, const struct pv_diag *d) {
        fprintf(ctx->err, "%s:%u:%u: %s%s:%s %s\n", shown, d->line, d->col,
                pv_c(ctx, ctx->err, d->warning ? PV_C_YELLOW : PV_C_RED), d->warning ? "warning" : "error",
                pv_c(ctx, ctx->err, PV_C_RESET), d->message);
}

/* Say what is wrong with the profile (r: the parse result) the way req->report asks. Returns an exit code. */
static int report_profile(struct pv_ctx *ctx, const struct pv_cli_profile_req *req, int r, struct pv_cli_profile *l) {
        const char *shown = shown_name(req->file);
        const struct pv_diags *diags = &l->diags;
        switch (req->report) {
        case PV_PROFILE_REPORT_PLAN:
                for (size_t i = 0; i < diags->n; i++)
                        if (!diags->v[i].warning || !ctx->quiet)
                                print_diag(ctx, shown, &diags->v[i]);
                if (r >= 0)
                        return PV_EXIT_OK;
                if (diags->n_errors == 0)
                        return pv_report_error(ctx, &l->err);
                fprintf(ctx->err, "%s: the profile '%s' is not valid (%zu error%s)\n", ctx->prog, req->file,
                        diags->n_errors, diags->n_errors == 1 ? "" : "s");
                return PV_EXIT_ERROR;
        case PV_PROFILE_REPORT_HOST:
                for (size_t i = 0; i < diags->n; i++)
                        if (!diags->v[i].warning || (!ctx->quiet && r < 0))
                                print_diag(ctx, shown, &diags->v[i]);
                if (r >= 0)
                        return PV_EXIT_OK;
                if (diags->n_errors == 0)
                        return pv_report_error(ctx, &l->err);
                fprintf(ctx->err, "%s: %s is not a valid profile ('%s validate' shows every problem)\n", ctx->prog,
                        shown, ctx->prog);
                return PV_EXIT_ERROR;
        case PV_PROFILE_REPORT_TERSE:
                if (r >= 0)
                        return PV_EXIT_OK;
                if (!l->err.code)
                        pv_error_set(&l->err, PV_EINVAL, "profile '%s' is not valid: run 'pvfio validate %s'", req->file,
                                     req->file);
                return pv_report_error(ctx, &l->err);
        case PV_PROFILE_REPORT_KEYS:
                if (r >= 0)
                        return PV_EXIT_OK;
                for (size_t i = 0; i < diags->n; i++)
                        if (!diags->v[i].warning)
                                fprintf(ctx->err, "%s: error: %s%s%s\n", ctx->prog, diags->v[i].key ? diags->v[i].key : "",
                                        diags->v[i].key ? ": " : "", diags->v[i].message);
                if (diags->n_errors == 0)
                        pv_report_error(ctx, &l->err);
                return PV_EXIT_ERROR;
        case PV_PROFILE_REPORT_NONE:
                break;
        }
        return r < 0 ? PV_EXIT_ERROR : PV_EXIT_OK;
}

/* A profile bundle (what the controller sends over SSH): its profile, with the romfiles images it carries. */
static int parse_bundle(const struct pv_cli_profile_req *req, const char *name, struct pv_buf *b,
                        struct pv_cli_profile *ret) {
        struct pv_profile_bundle pb;
        int r = pv_profile_bundle_parse(b->buf, b->len, name, &pb, &ret->err);
        if (r < 0)
                return r;
        r = pv_profile_parse_bundle(&pb, name, &ret->profile, &ret->diags, &ret->err);
        if (r >= 0 && req->keep_text) {
                /* the text kept is the profile's, not the bundle's */
                pv_buf_reset(b);
                r = pv_buf_add(b, pb.profile, pb.profile_len, &ret->err);
        }
        pv_profile_bundle_done(&pb);
        return r;
}

int pv_cli_profile_load(struct pv_ctx *ctx, const struct pv_cli_profile_req *req, struct pv_cli_profile *ret) {
        struct pv_buf b = PV_BUF_INIT_CAP(req->bundle ? PV_PROFILE_BUNDLE_MAX_BYTES : PV_PROFILE_MAX_BYTES);
        memset(ret, 0, sizeof *ret);
        ret->err = (struct pv_error)PV_ERROR_INIT;
        const char *name = strcmp(req->file, "-") == 0 && req->report != PV_PROFILE_REPORT_KEYS ? "<stdin>" : req->file;
        int r = read_profile(req, &b, &ret->err);
        if (r >= 0 && req->bundle)
                r = parse_bundle(req, name, &b, ret);
        else if (r >= 0)
                r = pv_profile_parse_mem_with_vms(b.buf, b.len, name, req->vms_yaml, req->vms_len, &ret->profile,
                                                  &ret->diags, &ret->err);
        int rc = report_profile(ctx, req, r, ret);
        if (rc == PV_EXIT_OK && req->keep_text && pv_buf_detach(&b, &ret->text, &ret->len, &ret->err) < 0)
                rc = pv_report_error(ctx, &ret->err);
        pv_buf_release(&b);
        if (req->report != PV_PROFILE_REPORT_NONE) {
                /* reported: only the profile (and its text) go back */
                pv_diags_done(&ret->diags);
                pv_error_done(&ret->err);
        }
        return rc;
}

void pv_cli_profile_done(struct pv_cli_profile *l) {
        pv_profile_free(l->profile);
        free(l->text);
        pv_diags_done(&l->diags);
        pv_error_done(&l->err);
        memset(l, 0, sizeof *l);
}

/* The profile a command names: a check hook's choice, else --profile (PV_CMD_PROFILE_OPTION), else PROFILE. */
static const char *profile_file(const struct pv_cmd *cmd, const struct pv_args *args, const struct pv_cmd_env *env) {
        if (env->profile_file)
                return env->profile_file;
        if (cmd->flags & PV_CMD_PROFILE_OPTION)
                return pv_args_value(args, "profile");
        return args->npos > 0 ? args->pos[0] : NULL;
}

static bool has_opt(const struct pv_args *args, const char *name) {
        for (size_t i = 0; args->opts && args->opts[i].name; i++)
                if (!strcmp(args->opts[i].name, name))
                        return true;
        return false;
}

static int load_env_profile(struct pv_ctx *ctx, const struct pv_cmd *cmd, const struct pv_args *args) {
        struct pv_cmd_env *env = &ctx->env;
        env->profile_file = profile_file(cmd, args, env);
        if (!env->profile_file) {
                assert(cmd->flags & PV_CMD_PROFILE_OPTION);
                return PV_EXIT_OK;
        }
        struct pv_cli_profile_req req = {
                .file = env->profile_file,
                .report = cmd->profile_report,
                .keep_text = cmd->flags & PV_CMD_KEEPS_PROFILE_TEXT,
                .vms_yaml = env->vms_yaml,
                .vms_len = env->vms_len,
                .bundle = has_opt(args, "profile-bundle") && pv_args_flag(args, "profile-bundle"),
        };
        struct pv_cli_profile l;
        int rc = pv_cli_profile_load(ctx, &req, &l);
        if (rc == PV_EXIT_OK) {
                env->profile = l.profile;
                env->profile_text = l.text;
                env->profile_len = l.len;
                l.profile = NULL;
                l.text = NULL;
        }
        pv_cli_profile_done(&l);
        return rc;
}

/* ---------------------------------------------------------------- the API session */

static int connect_env(struct pv_ctx *ctx) {
        struct pv_cmd_env *env = &ctx->env;
        assert(env->profile && "PV_CMD_NEEDS_API goes with PV_CMD_NEEDS_PROFILE");
        struct pv_error err = PV_ERROR_INIT;
        env->conn = pv_xcalloc(1, sizeof *env->conn);
        if (pv_cli_connect(ctx, &env->profile->cluster, env->parallel, env->conn, &err) < 0) {
                int rc = pv_report_error(ctx, &err);
                pv_error_done(&err);
                return rc;
        }
        return PV_EXIT_OK;
}

/* ---------------------------------------------------------------- confirmation */

int pv_cli_confirm(struct pv_ctx *ctx, const char *question, const char *refusal, const char *declined) {
        if (ctx->env.yes)
                return PV_EXIT_OK;
        if (!isatty(STDIN_FILENO)) {
                fprintf(ctx->err, "%s: %s\n", ctx->prog, refusal);
                return PV_EXIT_ERROR;
        }
        fprintf(ctx->err, "%s [y/N] ", question);
        fflush(ctx->err);
        char line[16] = { 0 };
        if (!fgets(line, sizeof line, stdin) || (line[0] != 'y' && line[0] != 'Y')) {
                fprintf(ctx->err, "%s\n", declined);
                return PV_EXIT_ERROR;
        }
        return PV_EXIT_OK;
}

/* ---------------------------------------------------------------- the run */

void pv_cmd_env_done(struct pv_cmd_env *env) {
        if (env->conn) {
                pv_cli_conn_done(env->conn);
                free(env->conn);
        }
        pv_profile_free(env->profile);
        free(env->profile_text);
        free(env->vms_yaml);
        memset(env, 0, sizeof *env);
}

int pv_cli_run(struct pv_ctx *ctx, const struct pv_cmd *cmd, struct pv_args *args) {
        int rc = cmd->check ? cmd->check(ctx, cmd, args) : PV_EXIT_OK;
        if (rc == PV_EXIT_OK && (cmd->flags & PV_CMD_NEEDS_PROFILE))
                rc = load_env_profile(ctx, cmd, args);
        if (rc == PV_EXIT_OK && (cmd->flags & PV_CMD_NEEDS_API))
                rc = connect_env(ctx);
        if (rc == PV_EXIT_OK && (cmd->flags & PV_CMD_CONFIRMS))
                ctx->env.yes = pv_args_flag(args, "yes");
        if (rc == PV_EXIT_OK)
                rc = cmd->run(ctx, cmd, args);
        pv_cmd_env_done(&ctx->env);
        return rc;
}
