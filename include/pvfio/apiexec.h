/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The API executor (api/exec.c): runs the cluster actions of a plan
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

struct pv_api_exec_opts {
        unsigned shutdown_timeout_s;    /* RESTART_VM: clean shutdown limit before stop; 0 = 180 s */
        unsigned max_vmid_tries;        /* CREATE_VM with vmid 0: nextid collisions retried; 0 = 10 */
        /* called before and after each action (cmd/ prints progress); may be NULL */
        void (*progress)(void *userdata, const struct pv_action *a, bool done);
        void *userdata;
};

struct pv_api_exec_result {
        size_t done, failed, skipped;
        unsigned long writes;           /* write requests sent (POST/PUT/DELETE) */
};

/*
 * Execute every cluster action of *plan (host actions are ignored). Returns 0
 * when the run completed (check result->failed), <0 only on an internal error
 * (out of memory). Statuses and errors are written into the plan's actions;
 * a CREATE_VM with vmid 0 gets the allocated vmid, which dependants inherit.
 */
int pv_api_execute(struct pv_api *api, struct pv_plan *plan, const struct pv_api_exec_opts *opts,
                   struct pv_api_exec_result *result, struct pv_error *err);

/* ------------------------------------------------- VMs in progress */

#define PV_API_MANAGED_TAG "pvfio"            /* the tag pvfio puts on the VMs it manages */
#define PV_API_DEFAULT_BUSY_WAIT_S 120u       /* how long apply waits for VMs in progress */

/*
 * A locked VM that may be one of the profile's: `lock: create` (a create in
 * progress has no name or tags yet, so it may be any of them), or another
 * lock on a VM the profile names (by name or vmid) or pvfio manages (tag).
 */
bool pv_vm_maybe_ours(const struct pv_profile *p, const struct pv_vm_info *v);
/*
 * Of the observed VMs, those that are in progress: `lock: create`, or
 * another lock while a task of the VM runs (GET /nodes/{node}/tasks
 * source=active, one request per such VM). Each is appended to *ret_busy as
 * "VM 123 on 'pve1' (lock: create)"; *ret_creating (may be NULL) counts the
 * creates among them.
 */
int pv_api_busy_vms(struct pv_api *api, const struct pv_profile *p, const struct pv_vm_info *vms, size_t n,
                    struct pv_strv *ret_busy, size_t *ret_creating, struct pv_error *err);
/*
 * Wait until VM `vmid` on `node` has no running task and no lock (or does not
 * exist), polling with backoff from 50 ms to 1 s; PV_ECONFLICT after
 * timeout_ms. Used before reading back a write whose answer was lost, so a
 * write that took effect is not sent again.
 */
int pv_api_vm_settle(struct pv_api *api, const char *node, uint32_t vmid, unsigned timeout_ms, struct pv_error *err);

#endif
