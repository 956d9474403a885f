/* SPDX-License-Identifier: GPL-2.0-or-later */
/* pvfio plan | diff | apply PROFILE: host + mappings + VMs in one plan. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "connect.h"
#include "localhost.h"
#include "render.h"
#include "pvfio/apiexec.h"
#include "pvfio/observe.h"
#include "pvfio/cleanup.h"
#include "pvfio/vmplan.h"

#define PLAN_OPTS_COMMON                                                                                          \
        { "node", 'n', PV_OPT_VALUE, "NAME", "the node pvfio runs on (default: the root's hostname)", false },   \
        { "root", 'r', PV_OPT_VALUE, "DIR", "host root for the host section (default /)", false },               \
        { "no-host", 0, PV_OPT_FLAG, NULL, "leave the host section out of the plan", false },                     \
        { "parallel", 'p', PV_OPT_VALUE, "N", "concurrent API requests (default: profile, else 8)", false },      \
        { "prune", 0, PV_OPT_FLAG, NULL, "remove managed VMs and mappings that left the profile", false },        \
        { "restart", 0, PV_OPT_FLAG, NULL, "restart running VMs whose PCI changes wait for a restart", false },    \
        { "adopt", 0, PV_OPT_FLAG, NULL, "manage same-named VMs/mappings that pvfio did not create", false }

static const struct pv_opt plan_opts[] = {
        PLAN_OPTS_COMMON,
        { NULL, 0, 0, NULL, NULL, false },
};

static const struct pv_opt apply_opts[] = {
        PLAN_OPTS_COMMON,
        { "yes", 'y', PV_OPT_FLAG, NULL, "apply without asking", false },
        { "rebind", 0, PV_OPT_FLAG, NULL, "rebind idle devices to vfio-pci now (no reboot where possible)", false },
        { "shutdown-timeout", 0, PV_OPT_VALUE, "S", "seconds to wait for a clean shutdown on --restart (180)", false },
        { NULL, 0, 0, NULL, NULL, false },
};

/* Everything one plan needs, released by plan_state_done(). */
struct plan_state {
        struct pv_profile *profile;
        struct pv_local_host lh;
        struct pv_cli_conn conn;
        struct pv_observed obs;
        struct pv_plan plan;
        bool host_failed;
};

static void plan_state_done(struct plan_state *s) {
        pv_plan_done(&s->plan);
        pv_observed_done(&s->obs);
        pv_cli_conn_done(&s->conn);
        pv_local_host_done(&s->lh);
        pv_profile_free(s->profile);
        memset(s, 0, sizeof *s);
}

/* Print a profile's diagnostics (stderr) and return whether it loaded. */
int pv_cli_load_profile(struct pv_ctx *ctx, const char *file, struct pv_profile **ret) {
        struct pv_diags diags = { 0 };
        struct pv_error err = PV_ERROR_INIT;
        int r = pv_profile_load(file, ret, &diags, &err);
        for (size_t i = 0; i < diags.n; i++) {
                const struct pv_diag *d = &diags.v[i];
                if (d->warning && ctx->quiet)
                        continue;
                fprintf(ctx->err, "%s:%u:%u: %s%s:%s %s\n", file, d->line, d->col,
                        pv_c(ctx, ctx->err, d->warning ? PV_C_YELLOW : PV_C_RED), d->warning ? "warning" : "error",
                        pv_c(ctx, ctx->err, PV_C_RESET), d->message);
        }
        if (r < 0 && diags.n_errors == 0)
                pv_report_error(ctx, &err);
        else if (r < 0)
                fprintf(ctx->err, "%s: the profile '%s' is not valid (%zu error%s)\n", ctx->prog, file, diags.n_errors,
                        diags.n_errors == 1 ? "" : "s");
        pv_diags_done(&diags);
        pv_error_done(&err);
        return r;
}

int pv_cli_plan_cluster(struct pv_ctx *ctx, const struct pv_profile *p, unsigned parallel,
                        const struct pv_vm_plan_opts *vo, struct pv_cli_conn *conn, struct pv_observed *obs,
                        struct pv_plan *plan) {
        struct pv_error err = PV_ERROR_INIT;
        struct pv_strv warnings = PV_STRV_INIT;
        int rc = PV_EXIT_OK;
        if (pv_cli_connect(ctx, &p->cluster, parallel, conn, &err) < 0 ||
            pv_api_observe(conn->api, p, NULL, obs, &warnings, NULL, &err) < 0 ||
            pv_vm_plan_build(p, obs, vo, plan, &err) < 0)
                rc = pv_report_error(ctx, &err);
        for (size_t i = 0; i < warnings.n; i++)
                pv_plan_add_warning(plan, TAKE_PTR(warnings.v[i]), NULL);
        warnings.n = 0;
        pv_strv_done(&warnings);
        pv_error_done(&err);
        return rc;
}

/* Build the plan for the profile: host section of this node, then mappings and VMs. Returns an exit code. */
static int build(struct pv_ctx *ctx, const struct pv_cmd *cmd, struct pv_args *args, struct plan_state *s,
                 bool rebind) {
        struct pv_error err = PV_ERROR_INIT;
        int rc = PV_EXIT_OK;
        unsigned parallel = 0;
        if (pv_args_uint(ctx, cmd, args, "parallel", 1, PV_API_MAX_PARALLEL, 0, &parallel) < 0)
                return PV_EXIT_USAGE;
        if (pv_cli_load_profile(ctx, args->pos[0], &s->profile) < 0)
                return PV_EXIT_ERROR;

        if (!pv_args_flag(args, "no-host")) {
                if (pv_local_host_open(ctx, s->profile, pv_args_value(args, "root"), pv_args_value(args, "node"), &s->lh,
                                       &err) < 0) {
                        rc = pv_report_error(ctx, &err);
                        goto out;
                }
                if (pv_local_host_plan(&s->lh, rebind, &s->plan, &err) < 0) {
                        pv_error_wrap(&err, "host section for node '%s'", s->lh.node);
                        pv_report_error(ctx, &err);
                        pv_error_done(&err);
                        s->host_failed = true;
                        rc = PV_EXIT_ERROR;
                }
        }

        if (s->profile->n_vms == 0 && s->profile->n_mappings == 0)
                goto out;
        if (!s->profile->cluster.present) {
                pv_error_set(&err, PV_EINVAL, "the profile declares VMs or mappings but has no 'cluster' section to reach "
                                              "the Proxmox API");
                rc = pv_report_error(ctx, &err);
                goto out;
        }
        struct pv_vm_plan_opts vo = {
                .prune = pv_args_flag(args, "prune"),
                .restart = pv_args_flag(args, "restart"),
                .adopt = pv_args_flag(args, "adopt"),
                .readiness = s->lh.spec ? &s->lh.readiness : NULL,
                .n_readiness = s->lh.spec ? 1 : 0,
        };
        int r = pv_cli_plan_cluster(ctx, s->profile, parallel, &vo, &s->conn, &s->obs, &s->plan);
        if (r != PV_EXIT_OK)
                rc = r;
out:
        pv_error_done(&err);
        return rc;
}

static bool plan_has_work(const struct pv_plan *p) {
        for (size_t i = 0; i < p->n; i++)
                if (!p->actions[i].blocked)
                        return true;
        return false;
}

static int exit_for_plan(const struct pv_plan *p) {
        return p->n > 0 || p->n_drift > 0 ? PV_EXIT_CHANGES : PV_EXIT_OK;
}

static int run_plan(struct pv_ctx *ctx, const struct pv_cmd *cmd, struct pv_args *args) {
        struct plan_state s;
        memset(&s, 0, sizeof s);
        int rc = build(ctx, cmd, args, &s, false);
        if (rc == PV_EXIT_OK || s.host_failed) {
                if (ctx->json)
                        pv_print_json(ctx, pv_render_plan_json(&s.plan));
                else if (!ctx->quiet || s.plan.n)
                        pv_render_plan_text(ctx, &s.plan, false);
                if (rc == PV_EXIT_OK)
                        rc = exit_for_plan(&s.plan);
        }
        plan_state_done(&s);
        return rc;
}

static bool confirm(struct pv_ctx *ctx) {
        if (!isatty(STDIN_FILENO))
                return false;
        fprintf(ctx->err, "Apply these changes? [y/N] ");
        fflush(ctx->err);
        char line[16];
        if (!fgets(line, sizeof line, stdin))
                return false;
        return line[0] == 'y' || line[0] == 'Y';
}

static void progress(void *userdata, const struct pv_action *a, bool done) {
        struct pv_ctx *ctx = userdata;
        if (ctx->quiet || ctx->json || !isatty(STDERR_FILENO))
                return;
        if (!done)
                fprintf(ctx->err, "%s %s...\n", pv_action_kind_to_string(a->kind), a->target ? a->target : "");
}

/* Re-observe and re-plan: what differs after the apply (blocked actions and pending restarts excluded). */
static size_t verify(struct pv_ctx *ctx, struct plan_state *s, struct pv_args *args) {
        struct pv_observed obs;
        struct pv_plan again = PV_PLAN_INIT;
        struct pv_error err = PV_ERROR_INIT;
        size_t left = 0;
        if (!s->conn.api)
                return 0;
        /* the host facts still hold: a reboot the host plan asked for has not happened yet */
        struct pv_vm_plan_opts vo = {
                .prune = pv_args_flag(args, "prune"),
                .adopt = pv_args_flag(args, "adopt"),
                .readiness = s->lh.spec ? &s->lh.readiness : NULL,
                .n_readiness = s->lh.spec ? 1 : 0,
        };
        if (pv_api_observe(s->conn.api, s->profile, NULL, &obs, NULL, NULL, &err) < 0 ||
            pv_vm_plan_build(s->profile, &obs, &vo, &again, &err) < 0) {
                pv_warn(ctx, "could not verify the result: %s", pv_error_message(&err));
                pv_error_done(&err);
                return 0;
        }
        for (size_t i = 0; i < again.n; i++) {
                const struct pv_action *a = &again.actions[i];
                if (a->blocked || a->pending_until_restart)
                        continue;
                left++;
                if (!ctx->json)
                        pv_warn(ctx, "after apply, %s still differs (%s)", a->target ? a->target : "?",
                                pv_action_kind_to_string(a->kind));
        }
        pv_plan_done(&again);
        pv_observed_done(&obs);
        return left;
}

static int run_apply(struct pv_ctx *ctx, const struct pv_cmd *cmd, struct pv_args *args) {
        struct plan_state s;
        memset(&s, 0, sizeof s);
        struct pv_error err = PV_ERROR_INIT;
        unsigned shutdown_s = 0;
        if (pv_args_uint(ctx, cmd, args, "shutdown-timeout", 1, 86400, 180, &shutdown_s) < 0)
                return PV_EXIT_USAGE;
        int rc = build(ctx, cmd, args, &s, pv_args_flag(args, "rebind"));
        if (rc != PV_EXIT_OK)
                goto out;
        if (!plan_has_work(&s.plan)) {
                if (ctx->json)
                        pv_print_json(ctx, pv_render_plan_json(&s.plan));
                else if (!ctx->quiet)
                        pv_render_plan_text(ctx, &s.plan, false);
                rc = s.plan.n ? PV_EXIT_CHANGES : PV_EXIT_OK;
                goto out;
        }
        if (!ctx->json)
                pv_render_plan_text(ctx, &s.plan, false);
        if (!pv_args_flag(args, "yes")) {
                if (!isatty(STDIN_FILENO)) {
                        fprintf(ctx->err, "%s: refusing to apply without --yes when standard input is not a terminal\n",
                                ctx->prog);
                        rc = PV_EXIT_ERROR;
                        goto out;
                }
                if (!confirm(ctx)) {
                        fprintf(ctx->err, "Nothing applied.\n");
                        rc = PV_EXIT_ERROR;
                        goto out;
                }
        }
        /* host first: VMs may depend on the host being configured */
        if (s.lh.spec) {
                struct pv_runner runner;
                pv_local_runner(s.lh.h, &runner);
                if (pv_host_apply(s.lh.h, &s.plan, &runner, &err) < 0) {
                        pv_report_error(ctx, &err);
                        pv_error_done(&err);
                        rc = PV_EXIT_ERROR;
                        goto out;
                }
        }
        struct pv_api_exec_result res = { 0 };
        if (s.conn.api) {
                struct pv_api_exec_opts eo = { .shutdown_timeout_s = shutdown_s, .progress = progress, .userdata = ctx };
                if (pv_api_execute(s.conn.api, &s.plan, &eo, &res, &err) < 0) {
                        rc = pv_report_error(ctx, &err);
                        goto out;
                }
        }
        size_t failed = 0;
        for (size_t i = 0; i < s.plan.n; i++)
                failed += s.plan.actions[i].status == PV_ACT_FAILED || s.plan.actions[i].status == PV_ACT_SKIPPED;
        size_t left = failed ? 0 : verify(ctx, &s, args);
        if (ctx->json) {
                json_t *doc = pv_render_plan_json(&s.plan);
                json_object_set_new(doc, "applied", json_true());
                json_object_set_new(doc, "verified", json_boolean(!failed && left == 0));
                pv_print_json(ctx, doc);
        } else {
                fputc('\n', ctx->out);
                pv_render_plan_text(ctx, &s.plan, true);
                if (!failed && left == 0 && !ctx->quiet)
                        fprintf(ctx->out, "Verified: the cluster matches the profile%s.\n",
                                s.plan.n_reboot_reasons ? " (blocked VMs and host changes wait for the reboot)" : "");
        }
        size_t blocked = 0;
        for (size_t i = 0; i < s.plan.n; i++)
                blocked += s.plan.actions[i].status == PV_ACT_BLOCKED || s.plan.actions[i].blocked != NULL;
        /* 3: something failed; 2: applied, but blocked work remains (e.g. a reboot is due first) */
        rc = failed || left ? PV_EXIT_PARTIAL : blocked ? PV_EXIT_CHANGES : PV_EXIT_OK;
out:
        pv_error_done(&err);
        plan_state_done(&s);
        return rc;
}

#define PLAN_DESC                                                                                                \
        "Reads the profile, inspects this node's host state (when the profile has a host\n"                       \
        "section for it) and the cluster through the API, and prints what would change:\n"                      \
        "host files as unified diffs, mappings and VMs key by key (+ add, ~ change,\n"                            \
        "- remove). Nothing is changed. Exit status 0: nothing to do, 2: changes or drift."

const struct pv_cmd pv_cmd_plan = {
        .name = "plan",
        .summary = "show what applying a profile would change (host, mappings, VMs)",
        .usage = "PROFILE",
        .description = PLAN_DESC,
        .opts = plan_opts,
        .min_args = 1,
        .max_args = 1,
        .run = run_plan,
        .json = true,
};

const struct pv_cmd pv_cmd_diff = {
        .name = "diff",
        .summary = "alias of plan: the difference between the profile and reality",
        .usage = "PROFILE",
        .description = PLAN_DESC,
        .opts = plan_opts,
        .min_args = 1,
        .max_args = 1,
        .run = run_plan,
        .json = true,
};

const struct pv_cmd pv_cmd_apply = {
        .name = "apply",
        .summary = "apply a profile: host configuration, mappings and VMs",
        .usage = "PROFILE",
        .description = "Plans like 'pvfio plan', shows the plan, asks for confirmation (or --yes), then\n"
                       "applies host changes first and cluster changes through the API, waits for\n"
                       "tasks and verifies by reading the state again. One failed action does not stop\n"
                       "unrelated ones. Exit status 0: applied and verified, 3: some actions failed.",
        .opts = apply_opts,
        .min_args = 1,
        .max_args = 1,
        .run = run_apply,
        .json = true,
};
