/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pvfio host plan | apply | rollback
 *
 * Commands run by apply/rollback go through the runner of cmd/localhost.c: on
 * the real root ("/") they are spawned with posix_spawnp (no shell); under any
 * other --root they are NOT run but appended to <root>/var/lib/pvfio/commands.log,
 * so a fake root never runs host commands.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "localhost.h"
#include "render.h"
#include "pvfio/cleanup.h"
#include "pvfio/host.h"
#include "pvfio/hostfs.h"
#include "pvfio/hostlock.h"
#include "pvfio/hostplan.h"
#include "pvfio/profile.h"
#include "pvfio/strv_json.h"

static const struct pv_opt plan_opts[] = {
        { "node", 0, PV_OPT_VALUE, "NAME", "node whose host section applies (default: the root's etc/hostname)", false },
        { "root", 0, PV_OPT_VALUE, "DIR", "host root (default /)", false },
        { "rebind", 0, PV_OPT_FLAG, NULL, "also plan live rebinds and SR-IOV changes (what apply --rebind does)",
          false },
        { "lock-timeout", 0, PV_OPT_VALUE, "SECONDS", "wait this long for another pvfio holding the host lock (default 10)",
          false },
        { NULL, 0, 0, NULL, NULL, false },
};

static const struct pv_opt apply_opts[] = {
        { "node", 0, PV_OPT_VALUE, "NAME", "node whose host section applies (default: the root's etc/hostname)", false },
        { "root", 0, PV_OPT_VALUE, "DIR", "host root (default /); other roots record commands instead of running them",
          false },
        { "rebind", 0, PV_OPT_FLAG, NULL, "hand devices that are not in use to vfio-pci now, and set SR-IOV VF counts",
          false },
        { "yes", 'y', PV_OPT_FLAG, NULL, "apply without asking", false },
        { "force", 0, PV_OPT_FLAG, NULL, "apply to a root that does not look like a Proxmox VE node", false },
        { "lock-timeout", 0, PV_OPT_VALUE, "SECONDS", "wait this long for another pvfio holding the host lock (default 10)",
          false },
        { NULL, 0, 0, NULL, NULL, false },
};

static const struct pv_opt rollback_opts[] = {
        { "root", 0, PV_OPT_VALUE, "DIR", "host root (default /); other roots record commands instead of running them",
          false },
        { "yes", 'y', PV_OPT_FLAG, NULL, "roll back without asking", false },
        { "lock-timeout", 0, PV_OPT_VALUE, "SECONDS", "wait this long for another pvfio holding the host lock (default 10)",
          false },
        { NULL, 0, 0, NULL, NULL, false },
};

static bool is_real_root(const struct pv_host *h) {
        return pv_fs_is_real_root(h->dirfd);
}

/* ------------------------------------------------------------- shared */

#define LOCK_TIMEOUT_DEFAULT 10
#define LOCK_TIMEOUT_MAX 86400

struct session {
        struct pv_host *lock_root;   /* the root the host lock is taken on */
        struct pv_host_lock *lock;   /* held from before the scan to the end: shared for plan, exclusive to apply */
        struct pv_profile *profile;
        struct pv_local_host lh;     /* node, host section, opened root, scan, inputs (cmd/localhost.c) */
        bool have_lh;
        struct pv_plan plan;
};

static void session_done(struct session *s) {
        pv_plan_done(&s->plan);
        if (s->have_lh)
                pv_local_host_done(&s->lh);
        pv_profile_free(s->profile);
        pv_host_lock_release(s->lock);
        pv_host_close(s->lock_root);
}

static int fail(struct pv_ctx *ctx, struct pv_error *err) {
        int rc = pv_report_error(ctx, err);
        pv_error_done(err);
        return rc;
}

static int check_privileges(struct pv_ctx *ctx, struct pv_host *h) {
        if (is_real_root(h) && geteuid() != 0) {
                fprintf(ctx->err, "%s: error: changing the host configuration of '/' needs root; run as root, or "
                                  "use --root DIR for a copy\n",
                        ctx->prog);
                return PV_EXIT_ERROR;
        }
        return 0;
}

/* Take the host lock of --root (exclusive for apply and rollback). Returns 0 or an exit code. */
static int take_lock(struct pv_ctx *ctx, const struct pv_cmd *cmd, const struct pv_args *args, struct pv_host *h,
                     bool exclusive, struct pv_host_lock **ret) {
        unsigned timeout = 0;
        if (pv_args_uint(ctx, cmd, args, "lock-timeout", 0, LOCK_TIMEOUT_MAX, LOCK_TIMEOUT_DEFAULT, &timeout) < 0)
                return PV_EXIT_USAGE;
        struct pv_error err = PV_ERROR_INIT;
        char what[32];
        snprintf(what, sizeof what, "host %s", cmd->name);
        if (pv_host_lock_take(h, exclusive, timeout, what, ret, &err) < 0)
                return fail(ctx, &err);
        return 0;
}

/* Profile (loaded by the dispatcher) → lock → node → scan → plan. Returns 0 or an exit code. */
static int prepare(struct pv_ctx *ctx, const struct pv_cmd *cmd, const struct pv_args *args, bool rebind,
                   bool exclusive, struct session *s) {
        s->profile = TAKE_PTR(ctx->env.profile);
        int rc;
        struct pv_error err = PV_ERROR_INIT;
        const char *root = pv_args_value(args, "root");
        if (pv_host_open(root, &ctx->log, &s->lock_root, &err) < 0)
                return fail(ctx, &err);
        rc = exclusive ? check_privileges(ctx, s->lock_root) : 0;   /* before the lock: say "needs root" */
        if (rc == 0)
                rc = take_lock(ctx, cmd, args, s->lock_root, exclusive, &s->lock);
        if (rc)
                return rc;
        if (pv_local_check_node_names(s->profile, root, &err) < 0 ||
            pv_local_host_open(pv_cli_events(ctx), s->profile, root, pv_args_value(args, "node"), &s->lh, &err) < 0)
                return fail(ctx, &err);
        s->have_lh = true;
        if (s->lh.spec && pv_local_host_plan(&s->lh, rebind, &s->plan, &err) < 0)
                return fail(ctx, &err);
        return 0;
}

static void print_notes(struct pv_ctx *ctx, const struct pv_plan *p) {
        FILE *f = ctx->out;
        for (size_t i = 0; i < p->n_warnings; i++)
                fprintf(f, "%swarning:%s %s\n", pv_c(ctx, f, PV_C_YELLOW), pv_c(ctx, f, PV_C_RESET), p->warnings[i]);
        for (size_t i = 0; i < p->n_reboot_reasons; i++)
                fprintf(f, "%sreboot required:%s %s\n", pv_c(ctx, f, PV_C_RED), pv_c(ctx, f, PV_C_RESET),
                        p->reboot_reasons[i]);
}

static int print_nothing(struct pv_ctx *ctx, struct session *s, const char *profile) {
        if (ctx->json) {
                json_t *doc = pv_plan_to_json(&s->plan);
                json_object_set_new(doc, "pvfio_version", json_string(PVFIO_VERSION));
                json_object_set_new(doc, "node", json_string(s->lh.node));
                json_object_set_new(doc, "host_section", json_boolean(s->lh.spec != NULL));
                pv_print_json(ctx, doc);
                return PV_EXIT_OK;
        }
        if (!s->lh.spec) {
                fprintf(ctx->out, "Nothing to do: no host section of %s applies to node '%s'.\n", profile, s->lh.node);
                return PV_EXIT_OK;
        }
        print_notes(ctx, &s->plan);
        fprintf(ctx->out, "Nothing to do: node '%s' matches the profile.\n", s->lh.node);
        return PV_EXIT_OK;
}

/* ------------------------------------------------------------- plan */

static int run_plan(struct pv_ctx *ctx, const struct pv_cmd *cmd, struct pv_args *args) {
        struct session s = { .plan = PV_PLAN_INIT };
        int rc = prepare(ctx, cmd, args, pv_args_flag(args, "rebind"), false, &s);
        if (rc == 0 && s.plan.n == 0)
                rc = print_nothing(ctx, &s, args->pos[0]);
        else if (rc == 0) {
                if (ctx->json) {
                        json_t *doc = pv_plan_to_json(&s.plan);
                        json_object_set_new(doc, "pvfio_version", json_string(PVFIO_VERSION));
                        json_object_set_new(doc, "node", json_string(s.lh.node));
                        json_object_set_new(doc, "host_section", json_true());
                        pv_print_json(ctx, doc);
                } else {
                        pv_render_plan_text(ctx, &s.plan, false);
                }
                rc = PV_EXIT_CHANGES;
        }
        session_done(&s);
        return rc;
}

/* ------------------------------------------------------------- apply */

/* Ask on the terminal (PV_CMD_CONFIRMS: --yes skips it); refuse when stdin is not one. Returns 0 to go on,
 * or an exit code. */
static int confirm(struct pv_ctx *ctx, const char *question) {
        return pv_cli_confirm(ctx, question, "error: standard input is not a terminal; pass --yes to proceed without "
                                             "asking", "Nothing changed.");
}


/*
 * The root must be the node named: a Proxmox VE node (etc/pve, the pmxcfs mount point, or the dpkg
 * record of pve-manager or qemu-server; --force overrides) whose etc/hostname names --node.
 */
static int check_identity(struct pv_ctx *ctx, const struct pv_args *args, const struct session *s) {
        const struct pv_host_state *st = s->lh.state;
        const char *node = pv_args_value(args, "node");
        if (!st)
                return 0;
        if (!st->pve_node && !pv_args_flag(args, "force")) {
                fprintf(ctx->err, "%s: error: '%s' is not a Proxmox VE node (no etc/pve, no "
                                  "var/lib/dpkg/info/pve-manager.list or qemu-server.list); pass --force to configure "
                                  "it anyway\n",
                        ctx->prog, s->lh.h->root);
                return PV_EXIT_ERROR;
        }
        if (node && st->hostname && strcmp(node, st->hostname) != 0) {
                fprintf(ctx->err, "%s: error: the root '%s' is node '%s' (etc/hostname), not '%s' (--node); refusing "
                                  "to apply another node's host section to it\n",
                        ctx->prog, s->lh.h->root, st->hostname, node);
                return PV_EXIT_ERROR;
        }
        return 0;
}

/* A runner that counts the commands it ran (or recorded): "recorded" is said only when some were. */
struct counting_runner {
        struct pv_runner inner;
        size_t n;
};

static int run_counted(void *ud, const char *const argv[], struct pv_error *err) {
        struct counting_runner *c = ud;
        int r = c->inner.run(c->inner.ud, argv, err);
        if (r >= 0)
                c->n++;
        return r;
}

static void print_summary(struct pv_ctx *ctx, const struct session *s, size_t n_commands) {
        FILE *f = ctx->out;
        size_t done = 0, failed = 0, skipped = 0, blocked = 0;
        fprintf(f, "%sApplied on %s:%s\n", pv_c(ctx, f, PV_C_BOLD), s->lh.node, pv_c(ctx, f, PV_C_RESET));
        for (size_t i = 0; i < s->plan.n; i++) {
                const struct pv_action *a = &s->plan.actions[i];
                const char *col = a->status == PV_ACT_DONE ? PV_C_GREEN : a->status == PV_ACT_FAILED ? PV_C_RED : PV_C_YELLOW;
                done += a->status == PV_ACT_DONE;
                failed += a->status == PV_ACT_FAILED;
                skipped += a->status == PV_ACT_SKIPPED;
                blocked += a->status == PV_ACT_BLOCKED;
                fprintf(f, "  %s%-7s%s %s %s\n", pv_c(ctx, f, col), pv_action_status_to_string(a->status),
                        pv_c(ctx, f, PV_C_RESET), pv_action_kind_to_string(a->kind),
                        a->kind == PV_ACT_RUN_COMMAND && a->after ? a->after : a->target ? a->target : "");
                if (a->error)
                        fprintf(f, "          %s\n", a->error);
                else if (a->blocked && a->status == PV_ACT_BLOCKED)
                        fprintf(f, "          %s\n", a->blocked);
        }
        print_notes(ctx, &s->plan);
        if (!is_real_root(s->lh.h) && n_commands)
                fprintf(f, "Commands were recorded in %s/%s, not run (--root is not '/').\n", s->lh.h->root,
                        PV_HOSTPLAN_COMMANDS_LOG);
        fprintf(f, "%zu done, %zu failed, %zu skipped, %zu blocked.\n", done, failed, skipped, blocked);
}

static int run_apply(struct pv_ctx *ctx, const struct pv_cmd *cmd, struct pv_args *args) {
        struct session s = { .plan = PV_PLAN_INIT };
        int rc = prepare(ctx, cmd, args, pv_args_flag(args, "rebind"), true, &s);
        if (rc == 0 && s.plan.n == 0) {
                /* nothing to change, but temporary files a killed run left are still cleaned */
                struct pv_error err = PV_ERROR_INIT;
                if (s.lh.h && pv_host_apply(s.lh.h, &s.plan, NULL, &err) < 0) {
                        rc = fail(ctx, &err);
                        session_done(&s);
                        return rc;
                }
                rc = print_nothing(ctx, &s, args->pos[0]);
                session_done(&s);
                return rc;
        }
        if (rc == 0)
                rc = check_privileges(ctx, s.lh.h);
        if (rc == 0)
                rc = check_identity(ctx, args, &s);
        if (rc == 0 && !ctx->json)
                pv_render_plan_text(ctx, &s.plan, false);
        if (rc == 0) {
                char q[128];
                snprintf(q, sizeof q, "Apply these %zu changes to node '%s'?", s.plan.n, s.lh.node);
                rc = confirm(ctx, q);
        }
        if (rc == 0) {
                struct pv_error err = PV_ERROR_INIT;
                struct counting_runner counted = { .n = 0 };
                pv_local_runner(s.lh.h, &counted.inner);
                struct pv_runner runner = { .run = run_counted, .ud = &counted };
                if (pv_host_apply(s.lh.h, &s.plan, &runner, &err) < 0) {
                        rc = fail(ctx, &err);
                } else {
                        bool partial = false;
                        for (size_t i = 0; i < s.plan.n; i++)
                                partial |= s.plan.actions[i].status == PV_ACT_FAILED ||
                                           s.plan.actions[i].status == PV_ACT_SKIPPED;
                        if (ctx->json) {
                                json_t *doc = pv_plan_to_json(&s.plan);
                                json_object_set_new(doc, "pvfio_version", json_string(PVFIO_VERSION));
                        json_object_set_new(doc, "node", json_string(s.lh.node));
                                json_object_set_new(doc, "host_section", json_true());
                                json_object_set_new(doc, "commands_recorded",
                                                    json_boolean(!is_real_root(s.lh.h) && counted.n > 0));
                                pv_print_json(ctx, doc);
                        } else {
                                print_summary(ctx, &s, counted.n);
                        }
                        rc = partial ? PV_EXIT_PARTIAL : PV_EXIT_OK;
                }
        }
        session_done(&s);
        return rc;
}

/* ------------------------------------------------------------- rollback */

static int run_rollback(struct pv_ctx *ctx, const struct pv_cmd *cmd, struct pv_args *args) {
        struct pv_host *h = NULL;
        struct pv_host_lock *lock = NULL;
        struct pv_error err = PV_ERROR_INIT;
        if (pv_host_open(pv_args_value(args, "root"), &ctx->log, &h, &err) < 0)
                return fail(ctx, &err);
        int rc = check_privileges(ctx, h);
        if (rc == 0)
                rc = take_lock(ctx, cmd, args, h, true, &lock);
        if (rc == 0) {
                char q[4200];
                snprintf(q, sizeof q, "Restore every file pvfio changed under '%s' to its pre-pvfio content?", h->root);
                rc = confirm(ctx, q);
        }
        if (rc) {
                pv_host_lock_release(lock);
                pv_host_close(h);
                return rc;
        }
        struct pv_runner runner;
        pv_local_runner(h, &runner);
        struct pv_rollback_report rep = { 0 };
        if (pv_host_rollback(h, &runner, &rep, &err) < 0) {
                rc = fail(ctx, &err);
                pv_host_lock_release(lock);
                pv_host_close(h);
                return rc;
        }
        bool recorded = !is_real_root(h);
        if (ctx->json) {
                json_t *doc = json_pack("{s:b, s:o, s:o, s:o, s:b, s:o, s:o}", "had_journal", rep.had_journal,
                                        "restored", pv_strv_to_json(&rep.restored), "removed",
                                        pv_strv_to_json(&rep.removed), "commands", pv_strv_to_json(&rep.commands),
                                        "commands_recorded", recorded, "warnings", pv_strv_to_json(&rep.warnings),
                                        "failed", pv_strv_to_json(&rep.failed));
                pv_print_json(ctx, doc);
        } else if (!rep.had_journal) {
                fprintf(ctx->out, "Nothing to roll back: no journal under '%s'.\n", h->root);
        } else {
                FILE *f = ctx->out;
                for (size_t i = 0; i < rep.restored.n; i++)
                        fprintf(f, "  restored %s\n", rep.restored.v[i]);
                for (size_t i = 0; i < rep.removed.n; i++)
                        fprintf(f, "  removed  %s\n", rep.removed.v[i]);
                for (size_t i = 0; i < rep.commands.n; i++)
                        fprintf(f, "  %s $ %s\n", recorded ? "recorded" : "ran     ", rep.commands.v[i]);
                for (size_t i = 0; i < rep.warnings.n; i++)
                        fprintf(f, "%swarning:%s %s\n", pv_c(ctx, f, PV_C_YELLOW), pv_c(ctx, f, PV_C_RESET),
                                rep.warnings.v[i]);
                for (size_t i = 0; i < rep.failed.n; i++)
                        fprintf(f, "%sfailed:%s %s\n", pv_c(ctx, f, PV_C_RED), pv_c(ctx, f, PV_C_RESET), rep.failed.v[i]);
                if (rep.failed.n)
                        fprintf(f, "Rollback incomplete; the journal is kept so it can be retried.\n");
                else
                        fprintf(f, "Rolled back: %zu restored, %zu removed, %zu command(s)%s. Reboot to return to the "
                                   "old kernel and driver state.\n",
                                rep.restored.n, rep.removed.n, rep.commands.n, recorded ? " recorded" : " run");
        }
        rc = rep.failed.n ? PV_EXIT_PARTIAL : PV_EXIT_OK;
        pv_rollback_report_done(&rep);
        pv_host_lock_release(lock);
        pv_host_close(h);
        return rc;
}

const struct pv_cmd pv_cmd_host_plan = {
        .name = "plan",
        .summary = "show the host changes a profile needs (files as unified diffs, commands, reboots)",
        .usage = "PROFILE",
        .description = "Scans this host (or --root DIR), takes the profile's host section for the node and\n"
                       "prints what 'host apply' would change: each file as a unified diff, the refresh\n"
                       "commands, live rebinds (--rebind) and why a reboot is required.\n"
                       "Exit status 0 when nothing needs to change, 2 when there are changes, 1 on error.",
        .opts = plan_opts,
        .min_args = 1,
        .max_args = 1,
        .run = run_plan,
        .json = true,
        .parent = "host",
        .flags = PV_CMD_NEEDS_PROFILE,
        .profile_report = PV_PROFILE_REPORT_HOST,
};

const struct pv_cmd pv_cmd_host_apply = {
        .name = "apply",
        .summary = "apply the host changes a profile needs (atomic, journalled, reversible)",
        .usage = "PROFILE",
        .description = "Plans like 'host plan', shows the plan, asks (unless --yes; without a terminal\n"
                       "--yes is required) and executes exactly that plan: files are replaced atomically\n"
                       "and their previous content is journalled for 'host rollback'; refresh commands run\n"
                       "only when their inputs changed. With --root other than '/' no command is run: they\n"
                       "are recorded in <root>/var/lib/pvfio/commands.log.\n"
                       "Exit status 0 when everything was applied (or nothing was needed), 3 when some\n"
                       "actions failed, 1 on error.",
        .opts = apply_opts,
        .min_args = 1,
        .max_args = 1,
        .run = run_apply,
        .json = true,
        .parent = "host",
        .flags = PV_CMD_NEEDS_PROFILE | PV_CMD_CONFIRMS,
        .profile_report = PV_PROFILE_REPORT_HOST,
};

const struct pv_cmd pv_cmd_host_rollback = {
        .name = "rollback",
        .summary = "restore the pre-pvfio host state from the journal",
        .description = "Writes back the exact bytes, mode and owner every file had before pvfio first\n"
                       "changed it (files pvfio created are removed), then runs the refresh commands whose\n"
                       "inputs changed and says which. With --root other than '/' commands are recorded in\n"
                       "<root>/var/lib/pvfio/commands.log, not run. Exit status 0, 3 when some files could\n"
                       "not be restored (the journal is kept), 1 on error.",
        .opts = rollback_opts,
        .min_args = 0,
        .max_args = 0,
        .run = run_rollback,
        .json = true,
        .parent = "host",
        .flags = PV_CMD_CONFIRMS,
};
