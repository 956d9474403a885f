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

#define PV_PLAN_FORMAT_VERSION 2   /* "format_version" of the JSON plan document */
/* Version 1 (pvfio before typed actions: no "key", no payloads, reboot reasons as strings) is still read. */
#define PV_PLAN_FORMAT_VERSION_MIN 1

enum pv_action_kind {
        /* host (executed locally under a root, provision/) */
        PV_ACT_WRITE_FILE,        /* create or replace a file pvfio owns (path, before → after content) */
        PV_ACT_EDIT_FILE,         /* edit a file pvfio does not own, inside a marked block / one line */
        PV_ACT_REMOVE_FILE,       /* remove a file pvfio created */
        PV_ACT_RUN_COMMAND,       /* update-initramfs, proxmox-boot-tool refresh, update-grub */
        PV_ACT_REBIND_DEVICE,     /* live driver_override + unbind + probe */
        PV_ACT_SET_SRIOV,         /* write sriov_numvfs now */
        /* host, binary content (provision/hostrom.c): the bytes are in the file payload, before/after
         * only describe them ("131072 bytes, sha256 …") */
        PV_ACT_INSTALL_FILE,      /* create or replace a file with bytes (a ROM image in usr/share/kvm) */
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

/* Per-kind payloads: what an executor needs, so that nothing re-parses display text. */
enum pv_payload_kind { PV_PAYLOAD_NONE = 0, PV_PAYLOAD_FILE, PV_PAYLOAD_COMMAND, PV_PAYLOAD_REBIND, PV_PAYLOAD_SRIOV,
                       PV_PAYLOAD_VM, PV_PAYLOAD_MAPPING };

/* write-file / edit-file / remove-file: the content before → after is the action's own before/after. */
struct pv_file_payload {
        char *path;               /* relative to the host root, e.g. "etc/modprobe.d/pvfio.conf" */
        unsigned mode;            /* mode of a new file; 0 = keep the existing file's */
        /* install-file only (pv_action_set_file_bytes): the bytes to write, binary-safe */
        uint8_t *data;            /* len bytes (NUL-terminated beyond len), or NULL */
        size_t len;
        char *sha256;             /* SHA-256 of data (hex), or NULL */
        char *before_sha256;      /* SHA-256 of the file when planned, NULL = it did not exist */
};
struct pv_command_payload {
        char **argv;              /* NULL-terminated */
};
struct pv_rebind_payload {
        char *addr;               /* PCI address "0000:01:00.0" */
        char *driver;             /* driver to bind ("vfio-pci") */
};
struct pv_sriov_payload {
        char *pf;                 /* PCI address of the physical function */
        unsigned numvfs;          /* sriov_numvfs to write */
};
struct pv_vm_payload {
        char *name;
        uint32_t vmid;            /* 0 = allocated at apply */
};
struct pv_mapping_payload {
        char *id;
        char **entries;           /* desired map lines (property strings), NULL-terminated */
        size_t n_entries;
        char *description;        /* desired description (with pvfio's marker), or NULL */
        bool mdev;
        bool live_migration_capable;
        bool usb;                 /* a cluster USB mapping (/cluster/mapping/usb), else PCI */
};

/* A reboot reason: the node that must reboot and why (without the node prefix). */
struct pv_reboot_reason {
        char *node;               /* may be NULL (a plan without node) */
        char *text;
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
        /* typed part (format_version 2): a stable key and the payload of the kind (see pv_action_set_*) */
        char *key;                /* "file:etc/modprobe.d/pvfio.conf", "vm:gpu-07:create", unique per (node, key) */
        enum pv_payload_kind payload_kind; /* PV_PAYLOAD_NONE: a plan read from an older pvfio (format_version 1) */
        union {
                struct pv_file_payload file;
                struct pv_command_payload command;
                struct pv_rebind_payload rebind;
                struct pv_sriov_payload sriov;
                struct pv_vm_payload vm;
                struct pv_mapping_payload mapping;
        } payload;
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
        /* the same reboot reasons, structured (same order as reboot_reasons; filled by pv_plan_add_reboot) */
        struct pv_reboot_reason *reboots;
        size_t n_reboots;
};

#define PV_PLAN_INIT { 0 }

/* Append an action (the plan takes ownership of every string in *a); returns its index (it does not fail). */
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

/* ------------------------------------------------------------ typed actions */

enum pv_action_scope { PV_SCOPE_HOST, PV_SCOPE_CLUSTER };

/* One row of the action-kind table (common/plan.c): everything that depends on the kind alone. */
struct pv_action_kind_info {
        enum pv_action_kind kind;
        const char *name;         /* JSON/display name: "write-file", "update-vm", … */
        enum pv_action_scope scope;
        enum pv_payload_kind payload; /* the payload the executor of this kind reads */
        const char *verb;         /* key suffix of VM/mapping actions ("create"), NULL for host kinds */
};
/* The row of kind k, or NULL when k is not a kind. */
const struct pv_action_kind_info *pv_action_kind_info(enum pv_action_kind k);

/*
 * Payload setters: each copies its arguments, sets payload_kind and the action's stable key
 * (replacing a previous payload). 0 or -PV_ENOMEM. Call right after the action is created.
 */
int pv_action_set_file(struct pv_action *a, const char *path, unsigned mode, struct pv_error *err);
int pv_action_set_command(struct pv_action *a, const char *const *argv, struct pv_error *err);
int pv_action_set_rebind(struct pv_action *a, const char *addr, const char *driver, struct pv_error *err);
int pv_action_set_sriov(struct pv_action *a, const char *pf, unsigned numvfs, struct pv_error *err);
int pv_action_set_vm(struct pv_action *a, const char *name, uint32_t vmid, struct pv_error *err);
int pv_action_set_mapping(struct pv_action *a, const char *id, char *const *entries, size_t n_entries,
                          const char *description, bool mdev, bool live_migration_capable, struct pv_error *err);
/* A USB mapping payload (usb = true, key "usb-mapping:ID:VERB"): the desired map lines and description. */
int pv_action_set_usb_mapping(struct pv_action *a, const char *id, char *const *entries, size_t n_entries,
                              const char *description, struct pv_error *err);
/*
 * The install-file payload: path, mode of a new file, the bytes (copied) and the SHA-256 of the
 * file's bytes when planned (NULL: absent). The key is "file:PATH", as for the text file kinds.
 */
int pv_action_set_file_bytes(struct pv_action *a, const char *path, unsigned mode, const void *data, size_t len,
                             const char *before_sha256, struct pv_error *err);
/* "N bytes, sha256 HEX" (malloc()ed): how plans show binary content instead of the bytes. */
char *pv_bytes_summary(size_t len, const char *sha256);
/* Set the stable key (copied) of an action whose payload does not name it; used by the JSON reader. */
int pv_action_set_key(struct pv_action *a, const char *key, struct pv_error *err);
/* The payload of the kind's type, or NULL (no payload: a format_version 1 plan). */
const struct pv_file_payload *pv_action_file(const struct pv_action *a);
const struct pv_command_payload *pv_action_command(const struct pv_action *a);
const struct pv_mapping_payload *pv_action_mapping(const struct pv_action *a);
const struct pv_vm_payload *pv_action_vm(const struct pv_action *a);
const struct pv_rebind_payload *pv_action_rebind(const struct pv_action *a);
const struct pv_sriov_payload *pv_action_sriov(const struct pv_action *a);
/* Release the payload and key of an action (pv_action_done does it too). */
void pv_action_payload_done(struct pv_action *a);

/*
 * Append a reboot reason of `node` (may be NULL): the structured {node, text} list gets both,
 * the string list gets "NODE: text" (or text alone without node). Copies both.
 */
int pv_plan_add_reboot(struct pv_plan *p, const char *node, const char *text, struct pv_error *err);
/* The first action of p whose node and key equal (node, key), or NULL. */
struct pv_action *pv_plan_find_key(struct pv_plan *p, const char *node, const char *key);

/* What an action does to its target, as the plan shows it: PV_CHANGE_ADD ('+'), PV_CHANGE_REMOVE ('-')
 * or PV_CHANGE_MODIFY ('~'). */
enum pv_change pv_action_change(const struct pv_action *a);
/* The part of the plan an action belongs to: "host", "mapping" or "vm". */
const char *pv_action_group(const struct pv_action *a);
/* A plan's actions counted by change (blocked ones only as blocked) and by status. */
struct pv_plan_counts {
        size_t add, change, del, blocked, pending_restart, done, failed;
};
void pv_plan_counts(const struct pv_plan *plan, struct pv_plan_counts *ret);

#endif
