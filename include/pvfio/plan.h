/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The plan: an ordered list of typed actions produced by the pure planners
 * (host planner in provision/, VM/mapping planner in provision/) and executed
 * by the executors (host-file executor in provision/, API executor in api/).
 * An action whose target already matches is never in the plan, so applying
 * a plan twice does nothing the second time.
 *
 * Ownership: a pv_plan owns its actions and every string in them;
 * pv_plan_free() releases all. Actions are appended with pv_plan_add(),
 * which copies nothing: the plan takes the strings handed to it.
 */
#ifndef PVFIO_PLAN_H
#define PVFIO_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pvfio/error.h"

#define PV_PLAN_FORMAT_VERSION 1   /* "format_version" of the JSON plan document */

enum pv_action_kind {
        /* host (executed locally under a root, provision/) */
        PV_ACT_WRITE_FILE,        /* create or replace a file pvfio owns (path, before → after content) */
        PV_ACT_EDIT_FILE,         /* edit a file pvfio does not own, inside a marked block / one line */
        PV_ACT_REMOVE_FILE,       /* remove a file pvfio created */
        PV_ACT_RUN_COMMAND,       /* update-initramfs, proxmox-boot-tool refresh, update-grub */
        PV_ACT_REBIND_DEVICE,     /* live driver_override + unbind + probe */
        PV_ACT_SET_SRIOV,         /* write sriov_numvfs now */
        /* cluster (executed through the API, api/) */
        PV_ACT_CREATE_MAPPING,
        PV_ACT_UPDATE_MAPPING,
        PV_ACT_DELETE_MAPPING,
        PV_ACT_CREATE_VM,
        PV_ACT_UPDATE_VM,         /* config keys set/deleted (with digest) */
        PV_ACT_DELETE_VM,
        PV_ACT_START_VM,
        PV_ACT_STOP_VM,
        PV_ACT_RESTART_VM,        /* shutdown (timeout → stop) + start, for pending hostpci changes */
        _PV_ACT_MAX,
};

enum pv_change { PV_CHANGE_ADD = '+', PV_CHANGE_MODIFY = '~', PV_CHANGE_REMOVE = '-', PV_CHANGE_NONE = ' ' };

/* One key of a VM or mapping change (before → after; NULL = absent). */
struct pv_key_change {
        char *key;
        char *before;
        char *after;
        bool pending_until_restart; /* hostpci on a running VM */
};

enum pv_action_status { PV_ACT_PLANNED = 0, PV_ACT_DONE, PV_ACT_FAILED, PV_ACT_SKIPPED, PV_ACT_BLOCKED };

struct pv_action {
        enum pv_action_kind kind;
        char *target;             /* "etc/modprobe.d/pvfio.conf", "vm gpu-ws-1", "mapping rtx3050", … */
        char *node;               /* Proxmox node the action applies to, or NULL */
        uint32_t vmid;            /* VM actions: vmid (0 = allocated at apply) */
        char *reason;             /* one line: why this action exists */
        char *before;             /* file content / command / whole value before, or NULL */
        char *after;              /* file content / command line / whole value after, or NULL */
        struct pv_key_change *keys; /* key-by-key changes (VM config, mapping), or NULL */
        size_t n_keys;
        char *digest;             /* config/mapping digest observed at plan time, or NULL */
        bool needs_reboot;        /* takes effect only after a reboot of `node` */
        bool pending_until_restart; /* VM: PCI changes wait for a VM restart */
        bool unsafe;              /* a risky change the user must have accepted (explained in reason) */
        char *blocked;            /* non-NULL: why this action cannot run now (device not ready, …) */
        int depends_on;           /* 1-based index of an action that must succeed first; 0 = none */
        /* filled by executors */
        enum pv_action_status status;
        char *error;              /* failure message when status == FAILED */
};

struct pv_plan {
        struct pv_action *actions;
        size_t n, alloc;
        char **reboot_reasons;    /* why a reboot is required (node-prefixed), NULL-terminated strv or NULL */
        size_t n_reboot_reasons;
        char **drift;             /* observed differences the plan cannot or will not fix (e.g. mapping checks) */
        size_t n_drift;
        char **warnings;
        size_t n_warnings;
        size_t n_unread_nodes;    /* nodes that could not be read (SSH, API): the plan may be incomplete */
};

#define PV_PLAN_INIT { 0 }

/* Append an action (the plan takes ownership of every string in *a even on failure); returns its index or <0. */
int pv_plan_add(struct pv_plan *p, struct pv_action *a, struct pv_error *err);
/* Append a key change to action `idx` (takes the strings). */
int pv_plan_add_key(struct pv_plan *p, size_t idx, char *key, char *before, char *after, bool pending,
                    struct pv_error *err);
/* Append a reboot reason / drift note / warning (takes the string). */
int pv_plan_add_reboot_reason(struct pv_plan *p, char *reason, struct pv_error *err);
int pv_plan_add_drift(struct pv_plan *p, char *note, struct pv_error *err);
int pv_plan_add_warning(struct pv_plan *p, char *note, struct pv_error *err);
/* Move every action/note of src to the end of dst (src is emptied; depends_on indexes are shifted). */
int pv_plan_append(struct pv_plan *dst, struct pv_plan *src, struct pv_error *err);
/* Release the members of a plan (stack object). */
void pv_plan_done(struct pv_plan *p);
/* Release one action's members. */
void pv_action_done(struct pv_action *a);
/* Stable names used in JSON ("write-file", "update-vm", …). */
const char *pv_action_kind_to_string(enum pv_action_kind k);
const char *pv_action_status_to_string(enum pv_action_status s);
/* True when the action changes the host (provision executor), false for cluster actions. */
bool pv_action_is_host(enum pv_action_kind k);

#endif
