/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pvfio apply PROFILE: the plan of cmd_plan.c shown and confirmed, the cluster lock taken when it
 * writes (the plan checked again under it), host sections applied on every node, cluster actions
 * run through the API, then verified; --reboot reboots the nodes that need it and finishes their VMs.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "connect.h"
#include "hosts.h"
#include "localhost.h"
#include "lock.h"
#include "recheck.h"
#include "reboot.h"
#include "render_nodes.h"
#include "render.h"
#include "pvfio/xalloc.h"
#include "pvfio/apiexec.h"
#include "pvfio/buf.h"
#include "pvfio/cleanup.h"
#include "pvfio/hostlock.h"
#include "pvfio/observe.h"
#include "pvfio/vmplan.h"

#include "cmd_plan_int.h"

static const struct pv_opt apply_opts[] = {
        PLAN_OPTS_COMMON,
        PV_CLI_LOCK_OPTS,
        { "yes", 'y', PV_OPT_FLAG, NULL, "apply without asking", false },
        { "rebind", 0, PV_OPT_FLAG, NULL, "rebind idle devices to vfio-pci now (no reboot where possible)", false },
        { "shutdown-timeout", 0, PV_OPT_VALUE, "S", "seconds to wait for a clean shutdown on --restart (180)", false },
        { "busy-timeout", 0, PV_OPT_VALUE, "S",
          "seconds to wait for the profile's VMs that are being created or run a task before planning (120)", false },
        { "reboot", 0, PV_OPT_FLAG, NULL, "reboot the nodes that need it, one at a time, then finish their VMs",
          false },
        { "reboot-parallel", 0, PV_OPT_VALUE, "N", "with --reboot: nodes rebooted at once (default 1)", false },
        { "reboot-timeout", 0, PV_OPT_VALUE, "S", "with --reboot: seconds for a node to come back and pass (900)",
          false },
        { "reboot-self", 0, PV_OPT_FLAG, NULL, "with --reboot: also reboot the node pvfio runs on (last)", false },
        { "force", 0, PV_OPT_FLAG, NULL, "with --reboot: also reboot nodes that run VMs the profile does not manage",
          false },
        { NULL, 0, 0, NULL, NULL, false },
};

static bool plan_has_work(const struct pv_plan *p) {
        for (size_t i = 0; i < p->n; i++)
                if (!p->actions[i].blocked)
                        return true;
        return false;
}

/* Writes in flight at once: --parallel, else the profile's cluster.parallel, else the default. */
static unsigned exec_parallel(const struct plan_state *s) {
        if (s->parallel)
                return s->parallel;
        if (s->profile && s->profile->cluster.parallel)
                return s->profile->cluster.parallel;
        return PV_API_DEFAULT_PARALLEL;
}

/* Run the cluster actions of plan with live progress; the counters add up in s->exec. */
static int execute(struct plan_state *s, struct pv_plan *plan, unsigned shutdown_s, struct pv_error *err) {
        struct pv_live live;
        pv_live_init(&live, s->ctx);
        struct pv_api_exec_opts eo = {
                .shutdown_timeout_s = shutdown_s,
                .parallel = exec_parallel(s),
                .event = pv_live_event,
                .userdata = &live,
        };
        struct pv_api_exec_result res = { 0 };
        uint64_t t0 = pv_now_ns();
        int r = pv_api_execute(s->conn.api, plan, &eo, &res, err);
        pv_live_done(&live);
        s->t.exec += pv_now_ns() - t0;
        s->exec.done += res.done;
        s->exec.failed += res.failed;
        s->exec.skipped += res.skipped;
        s->exec.writes += res.writes;
        s->exec.tasks += res.tasks;
        s->exec.polls += res.polls;
        s->exec.task_lists += res.task_lists;
        if (res.workers > s->exec.workers)
                s->exec.workers = res.workers;
        return r;
}
static bool was_blocked(const struct pv_plan *p, const struct pv_action *a) {
        for (size_t i = 0; i < p->n; i++)
                if (p->actions[i].blocked && p->actions[i].target && a->target && !strcmp(p->actions[i].target, a->target))
                        return true;
        return false;
}

/* Re-observe and re-plan: what differs after the apply (blocked actions and pending restarts excluded). */
static size_t verify(struct pv_ctx *ctx, struct plan_state *s, struct pv_args *args, size_t *ret_blocked) {
        struct pv_observed obs;
        struct pv_plan again = PV_PLAN_INIT;
        struct pv_error err = PV_ERROR_INIT;
        size_t left = 0;
        if (!s->conn.api || !pc_wants_cluster(s->profile))
                return 0;
        /* the host facts still hold: a reboot a host plan asked for (and did not get) has not happened yet */
        if (pv_hosts_readiness(&s->hosts, &err) < 0) {
                pv_warn(ctx, "could not verify the result: %s", pv_error_message(&err));
                pv_error_done(&err);
                return 0;
        }
        struct pv_vm_plan_opts vo = {
                .prune = pv_args_flag(args, "prune"),
                .adopt = pv_args_flag(args, "adopt"),
                .readiness = s->hosts.ready,
                .n_readiness = s->hosts.n_ready,
        };
        /* the versions and datacenter options of this run are known already */
        struct pv_observe_opts oo = { .known = s->have_obs ? &s->obs : NULL };
        if (pv_cli_observe(s->conn.api, s->profile, &oo, &obs, NULL, NULL, &err) < 0) {
                pv_warn(ctx, "could not verify the result: %s", pv_error_message(&err));
                pv_error_done(&err);
                return 0;
        }
        if (pv_vm_plan_build(s->profile, &obs, &vo, &again, &err) < 0) {
                pv_warn(ctx, "could not verify the result: %s", pv_error_message(&err));
                pv_error_done(&err);
                pv_observed_done(&obs);
                return 0;
        }
        *ret_blocked = 0;
        s->dup_after = pc_report_duplicates(ctx, &again);
        for (size_t i = 0; i < again.n; i++) {
                const struct pv_action *a = &again.actions[i];
                *ret_blocked += a->blocked != NULL;
                if (a->blocked && !pc_is_duplicate_block(a->blocked) && !was_blocked(&s->plan, a)) {
                        /* blocked only now: the summary above did not count it, say so */
                        s->blocked_after++;
                        pv_warn(ctx, "after apply, %s is blocked: %s", a->target ? a->target : "?", a->blocked);
                }
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

static size_t count_failed(const struct pv_plan *p) {
        size_t n = 0;
        for (size_t i = 0; i < p->n; i++)
                n += p->actions[i].status == PV_ACT_FAILED || p->actions[i].status == PV_ACT_SKIPPED;
        return n;
}

static size_t count_blocked(const struct pv_plan *p) {
        size_t n = 0;
        for (size_t i = 0; i < p->n; i++)
                n += p->actions[i].status == PV_ACT_BLOCKED || p->actions[i].blocked != NULL;
        return n;
}

/* Host changes: the other nodes over SSH (helper thread) while this node applies its own. */
static int apply_hosts(struct pv_ctx *ctx, struct plan_state *s, bool rebind, struct pv_error *err) {
        struct pv_strv only = PV_STRV_INIT;
        int r = 0;
        for (size_t i = 0; r == 0 && i < s->hosts.n; i++) {
                const struct pv_host_node *hn = &s->hosts.v[i];
                if (!hn->local && !hn->failed && hn->count)
                        r = pv_strv_push(&only, hn->node, err);
        }
        if (r == 0 && only.n) {
                struct pv_remote_opts ro = { .op = PV_REMOTE_APPLY, .rebind = rebind };
                r = pv_hosts_start_remote(&s->hosts, s->profile, s->text, s->text_len, &ro, s->parallel, s->ssh_timeout,
                                          &only, err);
        }
        pv_strv_done(&only);
        if (r < 0)
                return r;
        struct pv_host_node *local = s->hosts.n && s->hosts.v[0].local ? &s->hosts.v[0] : NULL;
        if (local && s->hosts.lh.spec && local->count && !local->failed) {
                /* the local node's actions come first in the plan, so a view of them keeps depends_on valid */
                struct pv_plan view = { .actions = s->plan.actions + local->first, .n = local->count };
                struct pv_runner runner;
                pv_local_runner(s->hosts.lh.h, &runner);
                struct pv_error e = PV_ERROR_INIT;
                /* the same host lock as 'host apply' (pvfio/hostlock.h): one writer of the journal at a time */
                struct pv_host_lock *hl = NULL;
                int lr = pv_host_lock_take(s->hosts.lh.h, true, 10, "apply", &hl, &e);
                if (lr < 0 || local->first != 0 || pv_host_apply(s->hosts.lh.h, &view, &runner, &e) < 0) {
                        if (!e.code)
                                pv_error_set(&e, PV_EINVAL, "internal error: the local host actions are not first");
                        pv_report_error(ctx, &e);
                        local->failed = true;
                        local->error = pv_asprintf(NULL, "node '%s': %s", local->node, pv_error_message(&e));
                        for (size_t k = 0; k < local->count; k++) {
                                struct pv_action *a = &s->plan.actions[local->first + k];
                                a->status = PV_ACT_FAILED;
                                free(a->error);
                                a->error = strdup(pv_error_message(&e));
                        }
                        pv_error_done(&e);
                }
                pv_host_lock_release(hl);
        }
        r = pv_hosts_wait_remote(&s->hosts, PV_REMOTE_APPLY, err);
        if (r < 0)
                return r;
        pv_hosts_take_apply_results(&s->hosts, &s->plan);
        for (size_t i = 0; i < s->hosts.n; i++)
                if (s->hosts.v[i].failed && !s->hosts.v[i].local && s->hosts.v[i].count)
                        pv_report_error(ctx, &(struct pv_error){ .code = PV_EIO, .message = s->hosts.v[i].error });
        return 0;
}

/* After a reboot batch: re-observe, re-plan the VMs with the nodes' new readiness, apply what can run. */
static int after_reboot(void *userdata, const struct pv_strv *rebooted) {
        struct plan_state *s = userdata;
        struct pv_ctx *ctx = s->ctx;
        struct pv_error err = PV_ERROR_INIT;
        if (!s->conn.api || !pc_wants_cluster(s->profile))
                return 0;
        struct pv_plan fplan = PV_PLAN_INIT;
        pv_strv_done(&s->creating);     /* the wait before the first plan is over */
        int r = pc_observe_cluster(s, &err);
        if (r == 0)
                r = pc_plan_vms(s, &fplan, &err);
        if (r < 0) {
                pv_report_error(ctx, &err);
                pv_error_done(&err);
                pv_plan_done(&fplan);
                return 1;
        }
        if (!plan_has_work(&fplan)) {
                pv_plan_done(&fplan);
                return 0;
        }
        s->followups = pv_xreallocarray(s->followups, s->n_followups + 1, sizeof *s->followups);
        struct pv_buf names = PV_BUF_INIT_CAP(64 * 1024);
        for (size_t i = 0; i < rebooted->n; i++)
                pv_buf_addf(&names, NULL, "%s%s", i ? ", " : "", rebooted->v[i]);
        char *label = NULL;
        pv_buf_detach(&names, &label, NULL, NULL);      /* allocation does not fail (pvfio/xalloc.h) */
        pv_strv_push_take(&s->followup_nodes, label, NULL);
        struct pv_plan *fp = &s->followups[s->n_followups++];
        *fp = fplan;
        unsigned shutdown_s = 0;
        const char *st = pv_args_value(s->args, "shutdown-timeout");
        shutdown_s = st ? (unsigned)strtoul(st, NULL, 10) : 180;
        if (execute(s, fp, shutdown_s, &err) < 0) {
                pv_report_error(ctx, &err);
                pv_error_done(&err);
                return 1;
        }
        return (int)count_failed(fp);
}

static int replan_state(void *userdata, const struct pv_observed *obs, const struct pv_strv *creating,
                        struct pv_plan *into, struct pv_error *err) {
        struct plan_state *s = userdata;
        (void)obs; /* s->obs, updated in place */
        pv_strv_done(&s->creating);
        for (size_t i = 0; i < creating->n; i++)
                if (pv_strv_push(&s->creating, creating->v[i], err) < 0)
                        return -PV_ENOMEM;
        return pc_plan_vms(s, into, err);
}

/*
 * The optimistic lock of apply: the plan shown was made without the cluster lock; take it now and
 * plan the cluster part again. The same plan goes on; a different one (someone changed the cluster
 * in between) replaces it and is shown: with --yes it is applied, on a terminal the user is asked
 * again. Returns an exit code.
 */
static int recheck_apply(struct pv_ctx *ctx, struct plan_state *s) {
        bool yes = ctx->env.yes;
        struct pv_error err = PV_ERROR_INIT;
        struct pv_recheck chk = { .api = s->conn.api, .profile = s->profile, .obs = &s->obs, .replan = replan_state,
                                  .userdata = s };
        bool changed = false;
        uint64_t t0 = pv_now_ns();
        int r = pc_lock_and_recheck(ctx, &s->lock, &chk, &s->plan, s->cluster_first, s->cluster_drift,
                                 s->cluster_warnings, &changed, &err);
        s->t.api += pv_now_ns() - t0;
        s->recheck_requests += chk.requests;
        if (r < 0) {
                r = pv_report_error(ctx, &err);
                pv_error_done(&err);
                return r;
        }
        if (!changed)
                return PV_EXIT_OK;
        pv_warn(ctx, "the cluster changed after it was read: planned again under the apply lock%s",
                yes ? " (--yes: applying the new plan)" : "");
        if (!ctx->json) {
                fprintf(ctx->out, "\n%sThe plan, read again under the apply lock:%s\n", pv_c(ctx, ctx->out, PV_C_BOLD),
                        pv_c(ctx, ctx->out, PV_C_RESET));
                pv_render_plan_text(ctx, &s->plan, false);
        }
        return pv_cli_confirm(ctx, "Apply these changes?",
                              "refusing to apply without --yes when standard input is not a terminal",
                              "Nothing applied.");
}

struct apply_opts {
        unsigned shutdown_s, reboot_parallel, reboot_timeout;
};

/* apply's options, checked before the profile is read (then plan's); returns an exit code. */
static int apply_usage(struct pv_ctx *ctx, const struct pv_cmd *cmd, const struct pv_args *args, struct apply_opts *o,
                       struct plan_state *s) {
        if (pv_args_uint(ctx, cmd, args, "shutdown-timeout", 1, 86400, 180, &o->shutdown_s) < 0 ||
            pv_args_uint(ctx, cmd, args, "reboot-parallel", 1, 64, 1, &o->reboot_parallel) < 0 ||
            pv_args_uint(ctx, cmd, args, "reboot-timeout", 1, 86400, PV_REBOOT_DEFAULT_TIMEOUT_S, &o->reboot_timeout) < 0)
                return PV_EXIT_USAGE;
        bool reboot = pv_args_flag(args, "reboot");
        if (!reboot && (pv_args_flag(args, "reboot-self") || pv_args_flag(args, "force") ||
                        pv_args_value(args, "reboot-parallel") || pv_args_value(args, "reboot-timeout")))
                return pv_cli_usage_error(ctx, cmd, "--reboot-self, --force, --reboot-parallel and --reboot-timeout "
                                                    "go with --reboot");
        if (pv_args_uint(ctx, cmd, args, "busy-timeout", 0, 86400, PV_API_DEFAULT_BUSY_WAIT_S, &s->busy_timeout_s) < 0)
                return PV_EXIT_USAGE;
        if (pv_cli_lock_parse(ctx, cmd, args, &s->lock) < 0)
                return PV_EXIT_USAGE;
        if (pc_plan_usage(ctx, cmd, args, &s->parallel, &s->ssh_timeout) < 0)
                return PV_EXIT_USAGE;
        return PV_EXIT_OK;
}

static int check_apply(struct pv_ctx *ctx, const struct pv_cmd *cmd, struct pv_args *args) {
        struct plan_state s;
        struct apply_opts o;
        memset(&s, 0, sizeof s);
        return apply_usage(ctx, cmd, args, &o, &s);
}


static int run_apply(struct pv_ctx *ctx, const struct pv_cmd *cmd, struct pv_args *args) {
        struct plan_state s;
        memset(&s, 0, sizeof s);
        struct pv_error err = PV_ERROR_INIT;
        struct pv_reboot_report rep = { 0 };
        struct apply_opts o;
        int rc = apply_usage(ctx, cmd, args, &o, &s);   /* checked already (check_apply): fills s and o */
        if (rc != PV_EXIT_OK) {
                pc_plan_state_done(&s);
                return rc;
        }
        unsigned shutdown_s = o.shutdown_s, reboot_parallel = o.reboot_parallel, reboot_timeout = o.reboot_timeout;
        bool reboot = pv_args_flag(args, "reboot");
        bool rebind = pv_args_flag(args, "rebind");
        rc = pc_build(ctx, cmd, args, &s, rebind);
        if (rc != PV_EXIT_OK)
                goto out;
        bool reboot_due = false;
        for (size_t i = 0; i < s.hosts.n; i++)
                reboot_due |= s.hosts.v[i].reboot_reasons.n > 0 && !s.hosts.v[i].failed;
        pc_count_unread_nodes(&s);
        if (!plan_has_work(&s.plan) && !(reboot && reboot_due)) {
                if (ctx->json) {
                        pv_print_json(ctx, pc_plan_doc(&s, &s.plan));
                } else if (!ctx->quiet) {
                        pv_render_plan_text(ctx, &s.plan, false);
                        if (pc_has_remote(&s.hosts)) {
                                fputc('\n', ctx->out);
                                pv_hosts_print(ctx, &s.hosts);
                        }
                }
                rc = pv_hosts_failed(&s.hosts) ? PV_EXIT_PARTIAL : s.plan.n ? PV_EXIT_CHANGES : PV_EXIT_OK;
                if (pc_report_duplicates(ctx, &s.plan))
                        rc = PV_EXIT_ERROR;
                goto out;
        }
        if (reboot && !s.conn.api) {
                pv_error_set(&err, PV_EINVAL, "--reboot needs the profile's 'cluster' section: nodes are rebooted "
                                              "through the Proxmox API");
                rc = pv_report_error(ctx, &err);
                goto out;
        }
        if (!ctx->json)
                pv_render_plan_text(ctx, &s.plan, false);
        rc = pv_cli_confirm(ctx, "Apply these changes?",
                            "refusing to apply without --yes when standard input is not a terminal", "Nothing applied.");
        if (rc != PV_EXIT_OK)
                goto out;
        /* the cluster is written (or nodes rebooted through the API): take the apply lock now and plan again */
        if (s.conn.api && pc_wants_cluster(s.profile) &&
            (pv_plan_writes_cluster(&s.plan, s.cluster_first) || (reboot && reboot_due))) {
                rc = recheck_apply(ctx, &s);
                if (rc != PV_EXIT_OK)
                        goto out;
        }
        /* host first: VMs may depend on the host being configured */
        if (s.hosts.n && apply_hosts(ctx, &s, rebind, &err) < 0) {
                rc = pv_report_error(ctx, &err);
                goto out;
        }
        if (s.conn.api && pc_wants_cluster(s.profile)) {
                if (execute(&s, &s.plan, shutdown_s, &err) < 0) {
                        rc = pv_report_error(ctx, &err);
                        goto out;
                }
        }
        size_t failed = count_failed(&s.plan);
        bool rebooted = false;
        if (reboot && reboot_due) {
                struct pv_reboot_opts ro = {
                        .force = pv_args_flag(args, "force"),
                        .self = pv_args_flag(args, "reboot-self"),
                        .ask_self = !pv_args_flag(args, "yes"),
                        .parallel = reboot_parallel,
                        .timeout_s = reboot_timeout,
                        .profile_text = s.text,
                        .profile_len = s.text_len,
                        .ssh_parallel = s.parallel,
                        .ssh_timeout_s = s.ssh_timeout,
                        .rebind = rebind,
                        .after_batch = after_reboot,
                        .userdata = &s,
                };
                if (pv_rolling_reboot(pv_cli_events(ctx), s.conn.api, s.profile, &s.hosts, &s.plan, &ro, &rep, &err) < 0) {
                        rc = pv_report_error(ctx, &err);
                        goto out;
                }
                rebooted = true;
        }
        /* what is still blocked: the verification's re-plan knows best; else the last plan applied */
        size_t blocked = s.n_followups ? count_blocked(&s.followups[s.n_followups - 1]) : count_blocked(&s.plan);
        size_t left = failed ? 0 : verify(ctx, &s, args, &blocked);
        size_t followup_failed = 0;
        for (size_t i = 0; i < s.n_followups; i++)
                followup_failed += count_failed(&s.followups[i]);
        bool reboot_pending = false;
        for (size_t i = 0; i < s.hosts.n; i++)
                reboot_pending |= s.hosts.v[i].reboot_reasons.n > 0;
        bool nodes_failed = pv_hosts_failed(&s.hosts) > 0 || rep.failed > 0 || rep.refused > 0;
        bool bad = failed || followup_failed || left || nodes_failed;
        size_t dups = pc_report_duplicates(ctx, &s.plan) + s.dup_after;
        if (ctx->json) {
                json_t *doc = pc_plan_doc(&s, &s.plan);
                json_object_set_new(doc, "applied", json_true());
                json_object_set_new(doc, "verified", json_boolean(!bad && left == 0 && !dups && !s.blocked_after));
                if (rebooted) {
                        json_object_set_new(doc, "reboots", pv_reboot_report_json(&rep));
                        json_t *fu = json_array();
                        for (size_t i = 0; i < s.n_followups; i++) {
                                json_t *d = pv_plan_to_json(&s.followups[i]);
                                json_object_set_new(d, "after_reboot_of", json_string(s.followup_nodes.v[i]));
                                json_array_append_new(fu, d);
                        }
                        json_object_set_new(doc, "after_reboot", fu);
                }
                pv_print_json(ctx, doc);
        } else {
                fputc('\n', ctx->out);
                pv_render_plan_text(ctx, &s.plan, true);
                for (size_t i = 0; i < s.n_followups; i++) {
                        fprintf(ctx->out, "\n%sAfter the reboot of %s:%s\n", pv_c(ctx, ctx->out, PV_C_BOLD),
                                s.followup_nodes.v[i], pv_c(ctx, ctx->out, PV_C_RESET));
                        pv_render_plan_text(ctx, &s.followups[i], true);
                }
                if (pc_has_remote(&s.hosts) || nodes_failed) {
                        fputc('\n', ctx->out);
                        pv_hosts_print(ctx, &s.hosts);
                }
                if (rebooted)
                        pv_reboot_report_print(ctx, &rep);
                if (!bad && !dups && !s.blocked_after && !ctx->quiet)
                        fprintf(ctx->out, "Verified: the cluster matches the profile%s.\n",
                                reboot_pending ? " (blocked VMs and host changes wait for the reboot)" : "");
        }
        /* 1: VMs share a name (the user must resolve it), 3: something failed; 2: applied, but blocked
         * work remains (e.g. a reboot is due first) */
        rc = dups ? PV_EXIT_ERROR : bad ? PV_EXIT_PARTIAL : blocked ? PV_EXIT_CHANGES : PV_EXIT_OK;
out:
        pc_print_timings(&s);
        pv_reboot_report_done(&rep);
        pv_error_done(&err);
        pc_plan_state_done(&s);
        return rc;
}

const struct pv_cmd pv_cmd_apply = {
        .name = "apply",
        .summary = "apply a profile: host configuration of every node, mappings and VMs",
        .usage = "PROFILE",
        .description = "Plans like 'pvfio plan', shows the plan, asks for confirmation (or --yes). A plan\n"
                       "that writes through the API then takes the cluster-wide lock, reads again what it\n"
                       "depends on and plans again: a changed plan is shown (and asked for again without\n"
                       "--yes); a plan with nothing to write takes no lock. Then it\n"
                       "applies host changes first (this node in-process, the others with 'pvfio host\n"
                       "apply' over SSH, in parallel) and cluster changes through the API, waits for\n"
                       "tasks and verifies by reading the state again. With --reboot the nodes that\n"
                       "need a reboot are rebooted one at a time through the API; after each comes back\n"
                       "and passes its host check, the VMs that waited for it are applied. One failed\n"
                       "action or node does not stop unrelated ones. Exit status 0: applied and\n"
                       "verified, 2: applied, but work waits for a reboot, 3: something failed, 1: an\n"
                       "error (several VMs share a name: the vmids are named; resolve it first).",
        .opts = apply_opts,
        .min_args = 1,
        .max_args = 1,
        .run = run_apply,
        .json = true,
        .flags = PV_CMD_NEEDS_PROFILE | PV_CMD_KEEPS_PROFILE_TEXT | PV_CMD_CONFIRMS,
        .profile_report = PV_PROFILE_REPORT_PLAN,
        .check = check_apply,
};
