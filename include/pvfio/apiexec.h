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

#endif
