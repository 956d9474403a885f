/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What cmd_plan.c (plan, diff and the shared build) and cmd_apply.c (apply) share. */
#pragma once

#include "cli.h"
#include "commands.h"
#include "connect.h"
#include "hosts.h"
#include "lock.h"
#include "recheck.h"
#include "pvfio/apiexec.h"
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

/* Shared by plan/diff and apply (cmd_plan.c). */
int pc_build(struct pv_ctx *ctx, const struct pv_cmd *cmd, struct pv_args *args, struct plan_state *s, bool rebind);
void pc_count_unread_nodes(struct plan_state *s);
bool pc_has_remote(const struct pv_hosts *h);
bool pc_is_duplicate_block(const char *blocked);
int pc_lock_and_recheck(struct pv_ctx *ctx, struct pv_apply_lock *lock, struct pv_recheck *rc, struct pv_plan *plan,
                        size_t first, size_t drift, size_t warnings, bool *ret_changed, struct pv_error *err);
int pc_observe_cluster(struct plan_state *s, struct pv_error *err);
json_t *pc_plan_doc(struct plan_state *s, const struct pv_plan *plan);
void pc_plan_state_done(struct plan_state *s);
int pc_plan_usage(struct pv_ctx *ctx, const struct pv_cmd *cmd, const struct pv_args *args, unsigned *parallel,
                  unsigned *ssh_timeout);
int pc_plan_vms(struct plan_state *s, struct pv_plan *into, struct pv_error *err);
void pc_print_timings(struct plan_state *s);
size_t pc_report_duplicates(struct pv_ctx *ctx, const struct pv_plan *p);
bool pc_wants_cluster(const struct pv_profile *p);
