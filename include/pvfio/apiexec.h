/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The API executor (api/exec.c, api/exec_graph.c): runs the cluster actions of a plan
 * (mappings, VMs) through the Proxmox API, in plan order, honouring
 * depends_on and per-VM ordering. It only executes actions: what to do was
 * decided by the pure planner (pvfio/vmplan.h documents each action's
 * contract).
 *
 * Each executed action gets status DONE or FAILED (with `error`); actions
 * that are blocked, or whose prerequisite or an earlier action on the same
 * target failed, get SKIPPED/BLOCKED and are never sent. One failure does
 * not stop unrelated actions.
 */
#ifndef PVFIO_APIEXEC_H
#define PVFIO_APIEXEC_H

#include "pvfio/api.h"
#include "pvfio/plan.h"

/* What the executor reports while it runs (always from the thread that called pv_api_execute). */
enum pv_exec_event_kind {
        PV_EXEC_START,                  /* an action was handed to a worker */
        PV_EXEC_END,                    /* an action finished: DONE, FAILED, SKIPPED or BLOCKED (see a->status) */
        PV_EXEC_TICK,                   /* nothing changed; sent about every 100 ms while actions run */
};
struct pv_exec_event {
        enum pv_exec_event_kind kind;
        const struct pv_action *a;      /* NULL for TICK */
        size_t index;                   /* the action's index in the plan */
        uint64_t elapsed_ms;            /* END: how long it ran (0 when never sent) */
        size_t finished, total;         /* cluster actions finished so far / in all */
        const struct pv_action *const *running; /* the actions running now, with their start times */
        const uint64_t *running_since_ms;       /* monotonic ms (compare with now_ms) */
        size_t n_running;
        uint64_t now_ms;
};

struct pv_api_exec_opts {
        unsigned shutdown_timeout_s;    /* RESTART_VM: clean shutdown limit before stop; 0 = 180 s */
        unsigned max_vmid_tries;        /* CREATE_VM with vmid 0: nextid collisions retried; 0 = 10 */
        /* called before and after each action (cmd/ prints progress); may be NULL */
        void (*progress)(void *userdata, const struct pv_action *a, bool done);
        void *userdata;
        unsigned parallel;              /* actions in flight at once (worker sessions); 0 or 1 = one at a time */
        void (*event)(void *userdata, const struct pv_exec_event *ev); /* live progress; may be NULL */
};

struct pv_api_exec_result {
        size_t done, failed, skipped;
        unsigned long writes;           /* write requests sent (POST/PUT/DELETE) */
        unsigned long tasks, polls;     /* tasks waited for and the status polls that cost */
        unsigned workers;               /* sessions that ran actions */
        unsigned long task_lists;       /* GET /nodes/{node}/tasks reads that polled many tasks at once */
};

/*
 * The actions run as a dependency graph: an action starts once the ones it
 * waits for finished: its depends_on, the previous action on the same target
 * (one VM's create → config → start stay in order), every earlier mapping
 * write (one digest covers the whole mapping file), and for a start or
 * restart every earlier stop/delete/restart on the same node (devices are
 * freed first; order only). Up to opts->parallel run at once, each worker
 * with its own session (pv_api_clone). An action whose prerequisite failed is
 * SKIPPED with the reason; independent ones go on. vmids of parallel creates
 * are reserved before the first write (one /cluster/resources read and one
 * nextid), re-checked on a collision.
 *
 * Execute every cluster action of *plan (host actions are ignored). Returns 0
 * when the run completed (check result->failed), <0 only on an internal error
 * (out of memory). Statuses and errors are written into the plan's actions;
 * a CREATE_VM with vmid 0 gets the allocated vmid, which dependants inherit.
 */
int pv_api_execute(struct pv_api *api, struct pv_plan *plan, const struct pv_api_exec_opts *opts,
                   struct pv_api_exec_result *result, struct pv_error *err);

/* A new session with api's endpoint, credentials, TLS policy and login ticket (for a worker thread). */
int pv_api_clone(struct pv_api *api, struct pv_api **ret, struct pv_error *err);
/* Add from's request counters to into's (after a worker finished). */
void pv_api_stats_merge(struct pv_api *into, const struct pv_api *from);

/* ------------------------------------------------- VMs in progress */

#define PV_API_MANAGED_TAG "pvfio"            /* the tag pvfio puts on the VMs it manages */
#define PV_API_DEFAULT_BUSY_WAIT_S 120u       /* how long apply waits for VMs in progress */

/* Whether a locked VM may be one the caller manages (provision's pv_vm_maybe_ours decides it for a profile). */
typedef bool (*pv_vm_filter_fn)(const void *ctx, const struct pv_vm_info *v);
/*
 * Of the observed locked VMs for which maybe_ours(ctx, vm) is true, those that are in progress: `lock: create`, or
 * another lock while a task of the VM runs (GET /nodes/{node}/tasks
 * source=active, one request per such VM). Each is appended to *ret_busy as
 * "VM 123 on 'pve1' (lock: create)"; *ret_creating (may be NULL) counts the
 * creates among them.
 */
int pv_api_busy_vms(struct pv_api *api, pv_vm_filter_fn maybe_ours, const void *ctx, const struct pv_vm_info *vms,
                    size_t n, struct pv_strv *ret_busy, size_t *ret_creating, struct pv_error *err);
/*
 * Wait until VM `vmid` on `node` has no running task and no lock (or does not
 * exist), polling with backoff from 50 ms to 1 s; PV_ECONFLICT after
 * timeout_ms. Used before reading back a write whose answer was lost, so a
 * write that took effect is not sent again.
 */
int pv_api_vm_settle(struct pv_api *api, const char *node, uint32_t vmid, unsigned timeout_ms, struct pv_error *err);

#endif
