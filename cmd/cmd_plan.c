/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pvfio plan | diff PROFILE, and the plan apply shows: host sections of every node + mappings +
 * VMs in one plan (apply itself: cmd_apply.c, sharing cmd_plan_int.h).
 *
 * The host section of the node pvfio runs on is planned in-process (engine/localhost.c);
 * every other node with a host section runs `pvfio host plan|apply --json` over SSH
 * (engine/hosts.c, engine/remote.c) on a helper thread while this thread reads the cluster
 * through the API.
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

static const struct pv_opt plan_opts[] = {
        PLAN_OPTS_COMMON,
        { NULL, 0, 0, NULL, NULL, false },
};



void pc_plan_state_done(struct plan_state *s) {
        if (s->ctx)
                pv_apply_lock_release(pv_cli_events(s->ctx), &s->lock);
        for (size_t i = 0; i < s->n_followups; i++)
                pv_plan_done(&s->followups[i]);
        free(s->followups);
        pv_strv_done(&s->followup_nodes);
        pv_strv_done(&s->creating);
        pv_plan_done(&s->plan);
        if (s->have_obs)
                pv_observed_done(&s->obs);
        pv_cli_conn_done(&s->conn);
        pv_hosts_done(&s->hosts);
        pv_profile_free(s->profile);
        free(s->text);
        memset(s, 0, sizeof *s);
}

bool pc_wants_cluster(const struct pv_profile *p) {
        return p->n_vms > 0 || p->n_mappings > 0 || p->n_usb_mappings > 0;
}

/* Observe the cluster and plan mappings/VMs into *plan with the hosts' readiness. */
int pc_observe_cluster(struct plan_state *s, struct pv_error *err) {
        struct pv_strv warnings = PV_STRV_INIT;
        if (s->have_obs) {
                pv_observed_done(&s->obs);
                s->have_obs = false;
        }
        uint64_t t0 = pv_now_ns();
        int r = pv_cli_observe(s->conn.api, s->profile, NULL, &s->obs, &warnings, NULL, err);
        s->t.api += pv_now_ns() - t0;
        if (r == 0)
                s->have_obs = true;
        for (size_t i = 0; i < warnings.n; i++)
                pv_plan_add_warning(&s->plan, TAKE_PTR(warnings.v[i]), NULL);
        warnings.n = 0;
        pv_strv_done(&warnings);
        return r;
}

static void nap_ms(unsigned ms) {
        struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

/*
 * VMs that may be the profile's and are in progress (a create's `lock: create`,
 * another lock while a task of the VM runs) are waited for, up to timeout_s,
 * observing again until they settled: deciding before would create a VM a
 * second time or re-send a change (issue 11). Creates still in progress after
 * the wait are appended to *creating (block_creates blocks the plan's creates).
 * reobserve(userdata) reads the cluster again into *obs.
 */
static int wait_in_progress(struct pv_ctx *ctx, struct pv_api *api, const struct pv_profile *p,
                            const struct pv_observed *obs, unsigned timeout_s,
                            int (*reobserve)(void *userdata, struct pv_error *err), void *userdata,
                            struct pv_strv *creating, uint64_t *api_ns, struct pv_error *err) {
        uint64_t t0 = pv_now_ns();
        unsigned delay = 100;
        for (bool told = false;; told = true) {
                struct pv_strv busy = PV_STRV_INIT;
                size_t n_creating = 0;
                uint64_t a0 = pv_now_ns();
                int r = pv_api_busy_vms(api, pv_vm_maybe_ours, p, obs->vms, obs->n_vms, &busy, &n_creating, err);
                if (api_ns)
                        *api_ns += pv_now_ns() - a0;
                uint64_t elapsed_ms = (pv_now_ns() - t0) / 1000000u;
                if (r < 0 || !busy.n || elapsed_ms >= (uint64_t)timeout_s * 1000u) {
                        for (size_t i = 0; r >= 0 && i < busy.n; i++)
                                if (strstr(busy.v[i], "(lock: create"))
                                        r = pv_strv_push(creating, busy.v[i], err);
                        if (r >= 0 && busy.n && timeout_s)
                                pv_warn(ctx, "still in progress after %u s: %s", timeout_s, busy.v[0]);
                        pv_strv_done(&busy);
                        return r;
                }
                if (!told && !ctx->quiet && !ctx->json)
                        fprintf(ctx->err, "Waiting for %s%s (in progress, up to %u s)...\n", busy.v[0],
                                busy.n > 1 ? " and others" : "", timeout_s);
                pv_strv_done(&busy);
                nap_ms(delay);
                delay = delay + delay / 2 > 1000 ? 1000 : delay + delay / 2;
                if ((r = reobserve(userdata, err)) < 0)
                        return r;
        }
}

static int reobserve_state(void *userdata, struct pv_error *err) {
        struct plan_state *s = userdata;
        /* only the observation's warnings are in the plan so far: keep the last round's */
        for (size_t i = 0; i < s->plan.n_warnings; i++)
                free(s->plan.warnings[i]);
        s->plan.n_warnings = 0;
        return pc_observe_cluster(s, err);
}

static int wait_busy(struct plan_state *s, struct pv_error *err) {
        return wait_in_progress(s->ctx, s->conn.api, s->profile, &s->obs, s->busy_timeout_s, reobserve_state, s,
                                &s->creating, &s->t.api, err);
}

/* A create still in progress after the wait may be any profile VM: block the creates, saying which. */
static int block_creates(const struct pv_strv *creating, struct pv_plan *plan, struct pv_error *err) {
        if (!creating->n)
                return 0;
        _cleanup_free_ char *list = pv_strv_join(creating, ", ", err);
        if (!list)      /* past the buffer's cap: err says so */
                return pv_error_set(err, PV_ETOOBIG, "too many VMs in progress to name");
        for (size_t i = 0; i < plan->n; i++) {
                struct pv_action *a = &plan->actions[i];
                if (a->kind != PV_ACT_CREATE_VM || a->blocked)
                        continue;
                a->blocked = pv_xasprintf("%s is being created and has no name yet: it may be this VM "
                                          "(run again when its create task finished)", list);
        }
        return 0;
}

struct plan_cluster_ctx {
        struct pv_api *api;
        const struct pv_profile *p;
        struct pv_observed *obs;
        const struct pv_vm_plan_opts *vo;
};

static int reobserve_cluster(void *userdata, struct pv_error *err) {
        struct plan_cluster_ctx *c = userdata;
        pv_observed_done(c->obs);
        return pv_cli_observe(c->api, c->p, NULL, c->obs, NULL, NULL, err);
}

/* The cluster part planned again under the apply lock (recheck.h). */
static int replan_cluster(void *userdata, const struct pv_observed *obs, const struct pv_strv *creating,
                          struct pv_plan *into, struct pv_error *err) {
        struct plan_cluster_ctx *c = userdata;
        int r = pv_vm_plan_build(c->p, obs, c->vo, into, err);
        return r < 0 ? r : block_creates(creating, into, err);
}

/* Take the apply lock when the plan writes, plan again under it; a changed plan replaces the cluster part
 * (from the marks on) and is announced with a warning. */
int pc_lock_and_recheck(struct pv_ctx *ctx, struct pv_apply_lock *lock, struct pv_recheck *rc,
                            struct pv_plan *plan, size_t first, size_t drift, size_t warnings, bool *ret_changed,
                            struct pv_error *err) {
        struct pv_plan fresh = PV_PLAN_INIT;
        bool same = true;
        *ret_changed = false;
        int r = pv_engine_recheck(pv_cli_events(ctx), lock, rc, plan, first, &fresh, &same, err);
        if (r == 0 && !same) {
                pv_plan_truncate(plan, first, drift, warnings);
                r = pv_plan_append(plan, &fresh, err);
                *ret_changed = true;
        }
        pv_plan_done(&fresh);
        return r;
}

int pv_cli_plan_cluster(struct pv_ctx *ctx, const struct pv_profile *p,
                        const struct pv_vm_plan_opts *vo, struct pv_cli_conn *conn, struct pv_observed *obs,
                        struct pv_plan *plan, struct pv_apply_lock *lock) {
        struct pv_error err = PV_ERROR_INIT;
        struct pv_strv warnings = PV_STRV_INIT, creating = PV_STRV_INIT;
        int rc = PV_EXIT_OK;
        struct plan_cluster_ctx rc_ctx = { .p = p, .obs = obs, .vo = vo };
        size_t first = plan->n, drift = plan->n_drift, n_warn = plan->n_warnings;
        bool changed = false;
        /* read without the lock; a write takes it and checks the plan again under it (recheck.h) */
        if (pv_cli_observe(conn->api, p, NULL, obs, &warnings, NULL, &err) < 0 ||
            /* a write waits for VMs in progress, as apply does: no second create */
            (lock && (rc_ctx.api = conn->api,
                      wait_in_progress(ctx, conn->api, p, obs, PV_API_DEFAULT_BUSY_WAIT_S, reobserve_cluster, &rc_ctx,
                                       &creating, NULL, &err) < 0)) ||
            pv_vm_plan_build(p, obs, vo, plan, &err) < 0 || block_creates(&creating, plan, &err) < 0)
                rc = pv_report_error(ctx, &err);
        struct pv_recheck chk = { .api = conn->api, .profile = p, .obs = obs, .replan = replan_cluster, .userdata = &rc_ctx };
        if (rc == PV_EXIT_OK && lock && pv_plan_writes_cluster(plan, first) &&
            pc_lock_and_recheck(ctx, lock, &chk, plan, first, drift, n_warn, &changed, &err) < 0)
                rc = pv_report_error(ctx, &err);
        if (changed)
                pv_warn(ctx, "the cluster changed after it was read: planned again under the apply lock");
        for (size_t i = 0; i < warnings.n; i++)
                pv_plan_add_warning(plan, TAKE_PTR(warnings.v[i]), NULL);
        warnings.n = 0;
        pv_strv_done(&warnings);
        pv_strv_done(&creating);
        pv_error_done(&err);
        return rc;
}

int pc_plan_vms(struct plan_state *s, struct pv_plan *into, struct pv_error *err) {
        uint64_t t0 = pv_now_ns();
        int r = pv_hosts_readiness(&s->hosts, err);
        struct pv_vm_plan_opts vo = {
                .prune = pv_args_flag(s->args, "prune"),
                .restart = pv_args_flag(s->args, "restart"),
                .adopt = pv_args_flag(s->args, "adopt"),
                .readiness = s->hosts.ready,
                .n_readiness = s->hosts.n_ready,
        };
        if (r == 0)
                r = pv_vm_plan_build(s->profile, &s->obs, &vo, into, err);
        if (r == 0)
                r = block_creates(&s->creating, into, err);
        s->t.planning += pv_now_ns() - t0;
        return r;
}

/* The options of plan/diff/apply that are checked before the profile is read; <0 after a usage error. */
int pc_plan_usage(struct pv_ctx *ctx, const struct pv_cmd *cmd, const struct pv_args *args, unsigned *parallel,
                      unsigned *ssh_timeout) {
        if (pv_args_uint(ctx, cmd, args, "parallel", 1, PV_API_MAX_PARALLEL, 0, parallel) < 0 ||
            pv_args_uint(ctx, cmd, args, "ssh-timeout", 1, 86400, 0, ssh_timeout) < 0 ||
            pv_cli_parse_retry(ctx, cmd, args) < 0)
                return -1;
        return 0;
}

/* Build the plan: host sections of every node, then mappings and VMs. Returns an exit code. */
int pc_build(struct pv_ctx *ctx, const struct pv_cmd *cmd, struct pv_args *args, struct plan_state *s,
                 bool rebind) {
        struct pv_error err = PV_ERROR_INIT;
        struct pv_plan local = PV_PLAN_INIT;
        struct pv_strv cluster_nodes = PV_STRV_INIT;
        char *local_name = NULL;
        int rc = PV_EXIT_OK;
        s->ctx = ctx;
        s->args = args;
        s->t.start = pv_now_ns();
        if (pc_plan_usage(ctx, cmd, args, &s->parallel, &s->ssh_timeout) < 0)
                return PV_EXIT_USAGE;
        /* the dispatcher loaded the profile with its bytes (PV_CMD_NEEDS_PROFILE | PV_CMD_KEEPS_PROFILE_TEXT) */
        s->profile = TAKE_PTR(ctx->env.profile);
        s->text = TAKE_PTR(ctx->env.profile_text);
        s->text_len = ctx->env.profile_len;
        const struct pv_profile *p = s->profile;
        bool hosts_wanted = !pv_args_flag(args, "no-host") && p->n_hosts > 0;
        if (pc_wants_cluster(p) && !p->cluster.present) {
                pv_error_set(&err, PV_EINVAL, "the profile declares VMs or mappings but has no 'cluster' section to reach "
                                              "the Proxmox API");
                rc = pv_report_error(ctx, &err);
                goto out;
        }
        /* the cluster's nodes decide which host sections apply (and which node is this one) */
        if (p->cluster.present && (pc_wants_cluster(p) || hosts_wanted)) {
                uint64_t t0 = pv_now_ns();
                struct pv_node_info *nodes = NULL;
                size_t nn = 0;
                if (pv_cli_connect(ctx, &p->cluster, s->parallel, &s->conn, &err) < 0 ||
                    (hosts_wanted && pv_api_cluster_resources(s->conn.api, &nodes, &nn, NULL, NULL, &err) < 0)) {
                        rc = pv_report_error(ctx, &err);
                        goto out;
                }
                for (size_t i = 0; i < nn; i++) {
                        if (rc == PV_EXIT_OK && nodes[i].node && pv_strv_push(&cluster_nodes, nodes[i].node, &err) < 0)
                                rc = pv_report_error(ctx, &err);
                        pv_node_info_done(&nodes[i]);
                }
                free(nodes);
                s->t.api += pv_now_ns() - t0;
                if (rc != PV_EXIT_OK)
                        goto out;
        }
        if (hosts_wanted) {
                const char *root = pv_args_value(args, "root");
                const char *node = pv_args_value(args, "node");
                if (pv_local_node_name(root, node, &local_name, &err) < 0 ||
                    pv_hosts_select(pv_cli_events(ctx), p, p->cluster.present ? &cluster_nodes : NULL, local_name, node != NULL,
                                    pv_args_flag(args, "local-only"), &s->hosts, &err) < 0) {
                        rc = pv_report_error(ctx, &err);
                        goto out;
                }
                struct pv_remote_opts ro = { .op = PV_REMOTE_PLAN, .rebind = rebind };
                if (pv_hosts_start_remote(&s->hosts, p, s->text, s->text_len, &ro, s->parallel, s->ssh_timeout, NULL,
                                          &err) < 0) {
                        rc = pv_report_error(ctx, &err);
                        goto out;
                }
                if (s->hosts.have_local) {
                        uint64_t t0 = pv_now_ns();
                        struct pv_host_node *hn = pv_hosts_find(&s->hosts, local_name);
                        int r = pv_local_host_open(pv_cli_events(ctx), p, root, local_name, &s->hosts.lh, &err);
                        if (r == 0 && (r = pv_local_host_plan(&s->hosts.lh, rebind, &local, &err)) < 0)
                                pv_error_wrap(&err, "host section for node '%s'", local_name);
                        if (r < 0) {
                                pv_report_error(ctx, &err);
                                hn->failed = true;
                                hn->error = pv_asprintf(NULL, "node '%s': %s", local_name, pv_error_message(&err));
                                pv_error_done(&err);
                                s->host_failed = true;
                                rc = PV_EXIT_ERROR;
                        }
                        hn->plan_ns = pv_now_ns() - t0;
                        s->t.local += hn->plan_ns;
                }
        }
        /* read without the apply lock: run_apply takes it only when the plan writes, then checks again */
        if (pc_wants_cluster(p) && (pc_observe_cluster(s, &err) < 0 || wait_busy(s, &err) < 0)) {
                rc = pv_report_error(ctx, &err);
                goto out;
        }
        if (hosts_wanted) {
                int r = pv_hosts_wait_remote(&s->hosts, PV_REMOTE_PLAN, &err);
                s->t.ssh = s->hosts.round_ns;
                uint64_t t0 = pv_now_ns();
                if (r == 0)
                        r = pv_hosts_merge(&s->hosts, &local, &s->plan, &err);
                s->t.planning += pv_now_ns() - t0;
                if (r < 0) {
                        rc = pv_report_error(ctx, &err);
                        goto out;
                }
                for (size_t i = 0; i < s->hosts.n; i++)
                        if (s->hosts.v[i].failed && !s->hosts.v[i].local)
                                pv_report_error(ctx, &(struct pv_error){ .code = PV_EIO, .message = s->hosts.v[i].error });
        }
        s->cluster_first = s->plan.n;
        s->cluster_drift = s->plan.n_drift;
        s->cluster_warnings = s->plan.n_warnings;
        if (pc_wants_cluster(p) && pc_plan_vms(s, &s->plan, &err) < 0)
                rc = pv_report_error(ctx, &err);
out:
        pv_plan_done(&local);
        pv_strv_done(&cluster_nodes);
        free(local_name);
        pv_error_done(&err);
        return rc;
}

void pc_print_timings(struct plan_state *s) {
        struct pv_ctx *ctx = s->ctx;
        if (!pv_args_flag(s->args, "timings"))
                return;
        const char *slowest = NULL;
        uint64_t slow_ns = 0;
        size_t n_ssh = 0;
        for (size_t i = 0; i < s->hosts.n; i++) {
                const struct pv_host_node *hn = &s->hosts.v[i];
                n_ssh += !hn->local;
                if (!hn->local && hn->plan_ns >= slow_ns) {
                        slow_ns = hn->plan_ns;
                        slowest = hn->node;
                }
        }
        struct pv_api_stats st = { 0 };
        if (s->conn.api)
                pv_api_get_stats(s->conn.api, &st);
        fprintf(ctx->err,
                "timings: wall %.3f s; ssh %.3f s (%zu node%s, slowest %s %.3f s); api %.3f s (%lu requests); "
                "local host %.3f s; planning %.3f s\n",
                (double)(pv_now_ns() - s->t.start) / 1e9, (double)s->t.ssh / 1e9, n_ssh, n_ssh == 1 ? "" : "s",
                slowest ? slowest : "-", (double)slow_ns / 1e9, (double)s->t.api / 1e9, st.requests,
                (double)s->t.local / 1e9, (double)s->t.planning / 1e9);
        if (s->lock.held || s->recheck_requests)
                fprintf(ctx->err, "timings: apply lock taken after planning; %lu reads to check the plan under it\n",
                        s->recheck_requests);
        if (s->exec.workers)
                fprintf(ctx->err,
                        "timings: apply %.3f s; %zu done, %zu failed, %zu skipped; %lu writes; %u in parallel; "
                        "%lu tasks, %lu status polls (%.1f per task), %lu task-list polls\n",
                        (double)s->t.exec / 1e9, s->exec.done, s->exec.failed, s->exec.skipped, s->exec.writes,
                        s->exec.workers, s->exec.tasks, s->exec.polls,
                        s->exec.tasks ? (double)s->exec.polls / (double)s->exec.tasks : 0.0, s->exec.task_lists);
}

bool pc_has_remote(const struct pv_hosts *h) {
        for (size_t i = 0; i < h->n; i++)
                if (!h->v[i].local)
                        return true;
        return false;
}

json_t *pc_plan_doc(struct plan_state *s, const struct pv_plan *plan) {
        json_t *doc = pv_plan_to_json(plan);
        json_object_set_new(doc, "pvfio_version", json_string(PVFIO_VERSION));
        json_object_set_new(doc, "nodes", pv_hosts_json(&s->hosts));
        return doc;
}


static int exit_for_plan(const struct pv_plan *p) {
        return p->n > 0 || p->n_drift > 0 ? PV_EXIT_CHANGES : PV_EXIT_OK;
}

/* Nodes the plan could not see (SSH failed, API state unreadable): such a plan never says "No changes". */
void pc_count_unread_nodes(struct plan_state *s) {
        size_t n = pv_hosts_failed(&s->hosts);
        for (size_t i = 0; i < s->plan.n_warnings; i++)
                n += strncmp(s->plan.warnings[i], PV_OBSERVE_NODE_UNREAD, strlen(PV_OBSERVE_NODE_UNREAD)) == 0;
        s->plan.n_unread_nodes = n;
}

bool pc_is_duplicate_block(const char *blocked) {
        return blocked && strncmp(blocked, PV_VMPLAN_DUPLICATE_NAME, strlen(PV_VMPLAN_DUPLICATE_NAME)) == 0;
}

/* Several VMs carrying one name is an error the user must resolve, not something to wait for:
 * each is reported (with the vmids) and the caller exits 1. Returns how many. */
size_t pc_report_duplicates(struct pv_ctx *ctx, const struct pv_plan *p) {
        size_t n = 0;
        for (size_t i = 0; i < p->n; i++) {
                if (!pc_is_duplicate_block(p->actions[i].blocked))
                        continue;
                fprintf(ctx->err, "%s: error: %s\n", ctx->prog, p->actions[i].blocked);
                n++;
        }
        return n;
}

static int run_plan(struct pv_ctx *ctx, const struct pv_cmd *cmd, struct pv_args *args) {
        struct plan_state s;
        memset(&s, 0, sizeof s);
        int rc = pc_build(ctx, cmd, args, &s, false);
        pc_count_unread_nodes(&s);
        if (rc == PV_EXIT_OK || s.host_failed) {
                if (ctx->json) {
                        pv_print_json(ctx, pc_plan_doc(&s, &s.plan));
                } else {
                        if (!ctx->quiet || s.plan.n)
                                pv_render_plan_text(ctx, &s.plan, false);
                        if (pc_has_remote(&s.hosts) && !ctx->quiet) {
                                fputc('\n', ctx->out);
                                pv_hosts_print(ctx, &s.hosts);
                        }
                }
                if (rc == PV_EXIT_OK)
                        rc = pv_hosts_failed(&s.hosts) ? PV_EXIT_PARTIAL : exit_for_plan(&s.plan);
                if (pc_report_duplicates(ctx, &s.plan))
                        rc = PV_EXIT_ERROR;
        }
        pc_print_timings(&s);
        pc_plan_state_done(&s);
        return rc;
}

static int check_plan(struct pv_ctx *ctx, const struct pv_cmd *cmd, struct pv_args *args) {
        unsigned parallel, ssh_timeout;
        return pc_plan_usage(ctx, cmd, args, &parallel, &ssh_timeout) < 0 ? PV_EXIT_USAGE : PV_EXIT_OK;
}

#define PLAN_DESC                                                                                                \
        "Reads the profile, inspects the host of every node with a host section (this\n"                          \
        "node in-process, the others by running 'pvfio host plan --json' on them over\n"                          \
        "SSH, in parallel) and the cluster through the API, and prints what would change:\n"                      \
        "host files as unified diffs, mappings and VMs key by key (+ add, ~ change,\n"                            \
        "- remove). Nothing is changed. Exit status 0: nothing to do, 2: changes or drift,\n"                      \
        "3: some node could not be reached or planned (the others are shown), 1: an error\n"                       \
        "(several VMs share a name: the vmids are named; resolve it first)."

const struct pv_cmd pv_cmd_plan = {
        .name = "plan",
        .summary = "show what applying a profile would change (hosts, mappings, VMs)",
        .usage = "PROFILE",
        .description = PLAN_DESC,
        .opts = plan_opts,
        .min_args = 1,
        .max_args = 1,
        .run = run_plan,
        .json = true,
        .flags = PV_CMD_NEEDS_PROFILE | PV_CMD_KEEPS_PROFILE_TEXT,
        .profile_report = PV_PROFILE_REPORT_PLAN,
        .check = check_plan,
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
        .flags = PV_CMD_NEEDS_PROFILE | PV_CMD_KEEPS_PROFILE_TEXT,
        .profile_report = PV_PROFILE_REPORT_PLAN,
        .check = check_plan,
};
