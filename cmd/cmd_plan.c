/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pvfio plan | diff | apply PROFILE: host sections of every node + mappings + VMs in one plan.
 *
 * The host section of the node pvfio runs on is planned in-process (cmd/localhost.c);
 * every other node with a host section runs `pvfio host plan|apply --json` over SSH
 * (cmd/hosts.c, cmd/remote.c) on a helper thread while this thread reads the cluster
 * through the API. `apply --reboot` then reboots the nodes that need it, one batch at a
 * time (cmd/reboot.c), and applies what was blocked on them.
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

#define PLAN_OPTS_COMMON                                                                                          \
        { "node", 'n', PV_OPT_VALUE, "NAME", "the node pvfio runs on (default: the root's hostname)", false },   \
        { "root", 'r', PV_OPT_VALUE, "DIR", "host root for this node's host section (default /)", false },      \
        { "no-host", 0, PV_OPT_FLAG, NULL, "leave every host section out of the plan", false },                   \
        { "local-only", 0, PV_OPT_FLAG, NULL, "only this node's host section: reach no other node over SSH",       \
          false },                                                                                                \
        { "parallel", 'p', PV_OPT_VALUE, "N",                                                                     \
          "concurrent API requests, SSH sessions and (apply) cluster actions (default: profile, else 8)", false },                         \
        { "ssh-timeout", 0, PV_OPT_VALUE, "S", "seconds per node for its SSH session (default: profile, else 600)", \
          false },                                                                                                \
        { "prune", 0, PV_OPT_FLAG, NULL, "remove managed VMs and mappings that left the profile", false },        \
        { "restart", 0, PV_OPT_FLAG, NULL, "restart running VMs whose PCI changes wait for a restart", false },    \
        { "adopt", 0, PV_OPT_FLAG, NULL, "manage same-named VMs/mappings that pvfio did not create", false },     \
        { "timings", 0, PV_OPT_FLAG, NULL, "print where the time went (SSH, API, planning) to stderr", false }, \
        PV_CLI_RETRY_OPT

static const struct pv_opt plan_opts[] = {
        PLAN_OPTS_COMMON,
        { NULL, 0, 0, NULL, NULL, false },
};

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

struct timings {
        uint64_t start, api, local, planning, ssh, exec;
};

/* Everything one plan needs, released by plan_state_done(). */
struct plan_state {
        struct pv_ctx *ctx;
        struct pv_args *args;
        struct pv_profile *profile;
        char *text;                     /* the profile's bytes (sent to the other nodes) */
        size_t text_len;
        struct pv_hosts hosts;
        struct pv_cli_conn conn;
        struct pv_observed obs;
        bool have_obs;
        struct pv_plan plan;
        bool host_failed;               /* this node's host section failed */
        unsigned parallel, ssh_timeout;
        struct timings t;
        struct pv_plan *followups;      /* plans applied after reboots */
        size_t n_followups;
        struct pv_strv followup_nodes;  /* "pve1, pve2": the nodes rebooted before each */
        unsigned busy_timeout_s;        /* apply: wait for VMs in progress before planning; 0 = do not wait */
        struct pv_api_exec_result exec; /* the API executor's counters (all its runs) */
        struct pv_strv creating;        /* `lock: create` VMs still in progress after the wait */
        size_t dup_after;               /* verification: VMs that share a name after the apply */
        size_t blocked_after;           /* verification: actions blocked only after the apply */
        struct pv_apply_lock lock;      /* apply: the cluster-wide lock, taken when the plan writes (recheck.h) */
        /* where the cluster part of s->plan begins (it is planned again under the lock) */
        size_t cluster_first, cluster_drift, cluster_warnings;
        unsigned long recheck_requests; /* GETs made under the lock to check the plan again */
};

static void plan_state_done(struct plan_state *s) {
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

static bool wants_cluster(const struct pv_profile *p) {
        return p->n_vms > 0 || p->n_mappings > 0 || p->n_usb_mappings > 0;
}

/* Observe the cluster and plan mappings/VMs into *plan with the hosts' readiness. */
static int observe_cluster(struct plan_state *s, struct pv_error *err) {
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
        return observe_cluster(s, err);
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
static int lock_and_recheck(struct pv_ctx *ctx, struct pv_apply_lock *lock, struct pv_recheck *rc,
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
            lock_and_recheck(ctx, lock, &chk, plan, first, drift, n_warn, &changed, &err) < 0)
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

static int plan_vms(struct plan_state *s, struct pv_plan *into, struct pv_error *err) {
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
static int plan_usage(struct pv_ctx *ctx, const struct pv_cmd *cmd, const struct pv_args *args, unsigned *parallel,
                      unsigned *ssh_timeout) {
        if (pv_args_uint(ctx, cmd, args, "parallel", 1, PV_API_MAX_PARALLEL, 0, parallel) < 0 ||
            pv_args_uint(ctx, cmd, args, "ssh-timeout", 1, 86400, 0, ssh_timeout) < 0 ||
            pv_cli_parse_retry(ctx, cmd, args) < 0)
                return -1;
        return 0;
}

/* Build the plan: host sections of every node, then mappings and VMs. Returns an exit code. */
static int build(struct pv_ctx *ctx, const struct pv_cmd *cmd, struct pv_args *args, struct plan_state *s,
                 bool rebind) {
        struct pv_error err = PV_ERROR_INIT;
        struct pv_plan local = PV_PLAN_INIT;
        struct pv_strv cluster_nodes = PV_STRV_INIT;
        char *local_name = NULL;
        int rc = PV_EXIT_OK;
        s->ctx = ctx;
        s->args = args;
        s->t.start = pv_now_ns();
        if (plan_usage(ctx, cmd, args, &s->parallel, &s->ssh_timeout) < 0)
                return PV_EXIT_USAGE;
        /* the dispatcher loaded the profile with its bytes (PV_CMD_NEEDS_PROFILE | PV_CMD_KEEPS_PROFILE_TEXT) */
        s->profile = TAKE_PTR(ctx->env.profile);
        s->text = TAKE_PTR(ctx->env.profile_text);
        s->text_len = ctx->env.profile_len;
        const struct pv_profile *p = s->profile;
        bool hosts_wanted = !pv_args_flag(args, "no-host") && p->n_hosts > 0;
        if (wants_cluster(p) && !p->cluster.present) {
                pv_error_set(&err, PV_EINVAL, "the profile declares VMs or mappings but has no 'cluster' section to reach "
                                              "the Proxmox API");
                rc = pv_report_error(ctx, &err);
                goto out;
        }
        /* the cluster's nodes decide which host sections apply (and which node is this one) */
        if (p->cluster.present && (wants_cluster(p) || hosts_wanted)) {
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
        if (wants_cluster(p) && (observe_cluster(s, &err) < 0 || wait_busy(s, &err) < 0)) {
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
        if (wants_cluster(p) && plan_vms(s, &s->plan, &err) < 0)
                rc = pv_report_error(ctx, &err);
out:
        pv_plan_done(&local);
        pv_strv_done(&cluster_nodes);
        free(local_name);
        pv_error_done(&err);
        return rc;
}

static void print_timings(struct plan_state *s) {
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
        if (s->exec.workers)
                fprintf(ctx->err,
                        "timings: apply %.3f s; %zu done, %zu failed, %zu skipped; %lu writes; %u in parallel; "
                        "%lu tasks, %lu status polls (%.1f per task), %lu task-list polls\n",
                        (double)s->t.exec / 1e9, s->exec.done, s->exec.failed, s->exec.skipped, s->exec.writes,
                        s->exec.workers, s->exec.tasks, s->exec.polls,
                        s->exec.tasks ? (double)s->exec.polls / (double)s->exec.tasks : 0.0, s->exec.task_lists);
}

static bool has_remote(const struct pv_hosts *h) {
        for (size_t i = 0; i < h->n; i++)
                if (!h->v[i].local)
                        return true;
        return false;
}

static json_t *plan_doc(struct plan_state *s, const struct pv_plan *plan) {
        json_t *doc = pv_plan_to_json(plan);
        json_object_set_new(doc, "pvfio_version", json_string(PVFIO_VERSION));
        json_object_set_new(doc, "nodes", pv_hosts_json(&s->hosts));
        return doc;
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

/* Nodes the plan could not see (SSH failed, API state unreadable): such a plan never says "No changes". */
static void count_unread_nodes(struct plan_state *s) {
        size_t n = pv_hosts_failed(&s->hosts);
        for (size_t i = 0; i < s->plan.n_warnings; i++)
                n += strncmp(s->plan.warnings[i], PV_OBSERVE_NODE_UNREAD, strlen(PV_OBSERVE_NODE_UNREAD)) == 0;
        s->plan.n_unread_nodes = n;
}

static bool is_duplicate_block(const char *blocked) {
        return blocked && strncmp(blocked, PV_VMPLAN_DUPLICATE_NAME, strlen(PV_VMPLAN_DUPLICATE_NAME)) == 0;
}

/* Several VMs carrying one name is an error the user must resolve, not something to wait for:
 * each is reported (with the vmids) and the caller exits 1. Returns how many. */
static size_t report_duplicates(struct pv_ctx *ctx, const struct pv_plan *p) {
        size_t n = 0;
        for (size_t i = 0; i < p->n; i++) {
                if (!is_duplicate_block(p->actions[i].blocked))
                        continue;
                fprintf(ctx->err, "%s: error: %s\n", ctx->prog, p->actions[i].blocked);
                n++;
        }
        return n;
}

static int run_plan(struct pv_ctx *ctx, const struct pv_cmd *cmd, struct pv_args *args) {
        struct plan_state s;
        memset(&s, 0, sizeof s);
        int rc = build(ctx, cmd, args, &s, false);
        count_unread_nodes(&s);
        if (rc == PV_EXIT_OK || s.host_failed) {
                if (ctx->json) {
                        pv_print_json(ctx, plan_doc(&s, &s.plan));
                } else {
                        if (!ctx->quiet || s.plan.n)
                                pv_render_plan_text(ctx, &s.plan, false);
                        if (has_remote(&s.hosts) && !ctx->quiet) {
                                fputc('\n', ctx->out);
                                pv_hosts_print(ctx, &s.hosts);
                        }
                }
                if (rc == PV_EXIT_OK)
                        rc = pv_hosts_failed(&s.hosts) ? PV_EXIT_PARTIAL : exit_for_plan(&s.plan);
                if (report_duplicates(ctx, &s.plan))
                        rc = PV_EXIT_ERROR;
        }
        print_timings(&s);
        plan_state_done(&s);
        return rc;
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
        if (!s->conn.api || !wants_cluster(s->profile))
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
        s->dup_after = report_duplicates(ctx, &again);
        for (size_t i = 0; i < again.n; i++) {
                const struct pv_action *a = &again.actions[i];
                *ret_blocked += a->blocked != NULL;
                if (a->blocked && !is_duplicate_block(a->blocked) && !was_blocked(&s->plan, a)) {
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
        if (!s->conn.api || !wants_cluster(s->profile))
                return 0;
        struct pv_plan fplan = PV_PLAN_INIT;
        pv_strv_done(&s->creating);     /* the wait before the first plan is over */
        int r = observe_cluster(s, &err);
        if (r == 0)
                r = plan_vms(s, &fplan, &err);
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
        return plan_vms(s, into, err);
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
        int r = lock_and_recheck(ctx, &s->lock, &chk, &s->plan, s->cluster_first, s->cluster_drift,
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
        if (plan_usage(ctx, cmd, args, &s->parallel, &s->ssh_timeout) < 0)
                return PV_EXIT_USAGE;
        return PV_EXIT_OK;
}

static int check_apply(struct pv_ctx *ctx, const struct pv_cmd *cmd, struct pv_args *args) {
        struct plan_state s;
        struct apply_opts o;
        memset(&s, 0, sizeof s);
        return apply_usage(ctx, cmd, args, &o, &s);
}

static int check_plan(struct pv_ctx *ctx, const struct pv_cmd *cmd, struct pv_args *args) {
        unsigned parallel, ssh_timeout;
        return plan_usage(ctx, cmd, args, &parallel, &ssh_timeout) < 0 ? PV_EXIT_USAGE : PV_EXIT_OK;
}

static int run_apply(struct pv_ctx *ctx, const struct pv_cmd *cmd, struct pv_args *args) {
        struct plan_state s;
        memset(&s, 0, sizeof s);
        struct pv_error err = PV_ERROR_INIT;
        struct pv_reboot_report rep = { 0 };
        struct apply_opts o;
        int rc = apply_usage(ctx, cmd, args, &o, &s);   /* checked already (check_apply): fills s and o */
        if (rc != PV_EXIT_OK) {
                plan_state_done(&s);
                return rc;
        }
        unsigned shutdown_s = o.shutdown_s, reboot_parallel = o.reboot_parallel, reboot_timeout = o.reboot_timeout;
        bool reboot = pv_args_flag(args, "reboot");
        bool rebind = pv_args_flag(args, "rebind");
        rc = build(ctx, cmd, args, &s, rebind);
        if (rc != PV_EXIT_OK)
                goto out;
        bool reboot_due = false;
        for (size_t i = 0; i < s.hosts.n; i++)
                reboot_due |= s.hosts.v[i].reboot_reasons.n > 0 && !s.hosts.v[i].failed;
        count_unread_nodes(&s);
        if (!plan_has_work(&s.plan) && !(reboot && reboot_due)) {
                if (ctx->json) {
                        pv_print_json(ctx, plan_doc(&s, &s.plan));
                } else if (!ctx->quiet) {
                        pv_render_plan_text(ctx, &s.plan, false);
                        if (has_remote(&s.hosts)) {
                                fputc('\n', ctx->out);
                                pv_hosts_print(ctx, &s.hosts);
                        }
                }
                rc = pv_hosts_failed(&s.hosts) ? PV_EXIT_PARTIAL : s.plan.n ? PV_EXIT_CHANGES : PV_EXIT_OK;
                if (report_duplicates(ctx, &s.plan))
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
        if (s.conn.api && wants_cluster(s.profile) &&
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
        if (s.conn.api && wants_cluster(s.profile)) {
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
        size_t dups = report_duplicates(ctx, &s.plan) + s.dup_after;
        if (ctx->json) {
                json_t *doc = plan_doc(&s, &s.plan);
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
                if (has_remote(&s.hosts) || nodes_failed) {
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
        print_timings(&s);
        pv_reboot_report_done(&rep);
        pv_error_done(&err);
        plan_state_done(&s);
        return rc;
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
