/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The VM and mapping planner: desired state (struct pv_profile) + observed
 * cluster state (struct pv_observed) → cluster actions (struct pv_plan).
 * Pure: no HTTP, no files, no clock; the same inputs give the same plan,
 * byte for byte (mappings sorted by id, VMs by name, keys in natural order).
 *
 * Wiring (cmd/):
 *   1. observe: /cluster/resources (VMs + nodes), GET config for every VM the
 *      profile names or that carries the management tag (and, on nodes where
 *      the profile uses `vf_of`, for every VM on that node, so used VFs are
 *      seen), GET pending for running ones, /cluster/mapping/pci?check-node,
 *      /nodes/N/hardware/pci for the nodes used, mdev types for the devices
 *      used with `mdev:`;
 *   2. optional: the host plan's "device not ready" facts into opts.readiness;
 *   3. pv_vm_plan_build(); render; apply with the API executor.
 *
 * Contract for the API executor (actions are appended in execution order;
 * depends_on is 1-based into the final plan):
 *   - CREATE_MAPPING / UPDATE_MAPPING: keys "description", "mdev",
 *     "live-migration-capable" (after NULL = delete the key), and "map[N]"
 *     for display only. `after` holds the complete desired `map` list, one
 *     entry per line, in order; send it whole as the `map` array whenever a
 *     map[N] key is present (always on create). UPDATE carries `digest`.
 *   - DELETE_MAPPING: target "mapping ID".
 *   - CREATE_VM: every key with its after value (vmid 0 = allocate one:
 *     /cluster/nextid, retry with the next id on "already exists").
 *   - UPDATE_VM: keys with after NULL go to `delete`, the rest are set;
 *     `digest` is the config digest seen at plan time.
 *   - START_VM / STOP_VM / RESTART_VM / DELETE_VM: vmid (0 = the vmid
 *     allocated by the CREATE_VM it depends on).
 *   - All mapping actions come before the VM actions that use them; a VM
 *     action's depends_on names the first mapping it needs that is created
 *     in this plan, so run mapping actions before VM actions.
 *   - An action with `blocked` set is not executed (nor are actions that
 *     depend on it: they carry the same `blocked` reason already).
 */
#ifndef PVFIO_VMPLAN_H
#define PVFIO_VMPLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pvfio/cluster.h"
#include "pvfio/error.h"
#include "pvfio/pci.h"
#include "pvfio/plan.h"
#include "pvfio/profile.h"
#include "pvfio/util.h"

#define PV_MANAGED_TAG "pvfio"   /* default tag marking VMs (and, as "[pvfio]", mappings) pvfio owns */
/* How the block of a VM whose name several VMs carry begins: an error for cmd/ (exit 1), not a wait. */
#define PV_VMPLAN_DUPLICATE_NAME "several VMs are named"

/* ------------------------------------------------------ host readiness */

enum pv_not_ready_kind {
        PV_NOT_READY_BINDING,   /* not bound to vfio-pci (ignored for mdev and driver=keep entries) */
        PV_NOT_READY_GROUP,     /* IOMMU group not viable */
        PV_NOT_READY_REBOOT,    /* the binding takes effect only after a reboot */
};

/* One fact from the host plan (strings borrowed from the caller). */
struct pv_device_not_ready {
        struct pv_pci_addr addr;        /* PV_PCI_FUNC_ALL = every function of the slot */
        enum pv_not_ready_kind kind;
        const char *reason;             /* one line, e.g. "bound to 'nvidia', not vfio-pci" */
};

struct pv_node_readiness {
        const char *node;
        const char *all_devices;        /* non-NULL: no passthrough device of the node is ready (e.g. "reboot pending") */
        const struct pv_device_not_ready *devs;
        size_t n_devs;
};

/* --------------------------------------------------------------- options */

struct pv_vm_plan_opts {
        const char *tag;                /* management tag; NULL = PV_MANAGED_TAG */
        bool prune;                     /* delete managed VMs and mappings that left the profile */
        bool restart;                   /* RESTART_VM for running VMs with changes pending until restart */
        bool adopt;                     /* manage a same-named VM / same-id mapping that lacks the marker */
        bool skip_mappings;             /* plan VMs only (e.g. `vm add` against existing mappings) */
        const struct pv_node_readiness *readiness; /* per-node facts from the host plan, or NULL */
        size_t n_readiness;
};

/*
 * Build the plan for every mapping and VM of the profile and append it to
 * *plan (whose existing actions, e.g. host actions, are kept; new depends_on
 * indexes are absolute). Problems that only concern one VM or mapping
 * (device missing, no free VF, mdev type unavailable, token + raw device,
 * unmanaged name clash, device not ready) become `blocked` actions, drift or
 * warnings, never an error. Fails only on PV_ENOMEM / internal errors, and
 * then leaves *plan as it was.
 */
int pv_vm_plan_build(const struct pv_profile *profile, const struct pv_observed *obs,
                     const struct pv_vm_plan_opts *opts, struct pv_plan *plan, struct pv_error *err);

/*
 * The cluster USB mappings of the profile (`usb_mappings:`, provision/usbmap.c): create,
 * update (whole object, digest) and, with opts->prune, delete actions with a USB mapping
 * payload appended to *plan; Proxmox's check-node errors as drift or warnings.
 * pv_vm_plan_build calls both; pv_usb_mapping_link makes the first action of a VM that
 * uses a USB mapping created in plan[first..] depend on that create.
 */
int pv_usb_mapping_plan(const struct pv_profile *profile, const struct pv_observed *obs,
                        const struct pv_vm_plan_opts *opts, struct pv_plan *plan, struct pv_error *err);
void pv_usb_mapping_link(const struct pv_profile *profile, struct pv_plan *plan, size_t first);
/* What the USB mappings need observed (called by pv_observe_want_from_profile): the listing when the
 * profile declares or uses one, checked on their nodes, and the USB devices of nodes with port-only entries. */
int pv_usb_observe_want(const struct pv_profile *profile, struct pv_observe_want *w, struct pv_error *err);

/* ----------------------------------------- translation (one VM, provision/vmconfig.c) */

/*
 * Reservations made while planning several VMs against one observed state
 * (VFs handed out, mdev instances taken, and an index of the host= devices
 * the observed configs use). Use one pv_claims per plan; do not change the
 * observed state while it is in use.
 */
struct pv_claims;
int pv_claims_new(struct pv_claims **ret, struct pv_error *err);
void pv_claims_free(struct pv_claims *c);

struct pv_vm_xlate_ctx {
        const struct pv_profile *profile;      /* mapping lookups (may be NULL) */
        const struct pv_observed *obs;         /* hardware, mdev types, other VMs' configs (may be NULL) */
        const struct pv_vm_config *current;    /* this VM's observed config, NULL for a new VM */
        uint32_t vmid;                         /* this VM's vmid, 0 for a new VM */
        const char *tag;                       /* management tag (NULL = PV_MANAGED_TAG) */
        struct pv_claims *claims;              /* NULL = no reservations across VMs */
        const struct pv_node_readiness *ready; /* facts for the VM's node, or NULL */
};

/* The translated VM. */
struct pv_vm_desired {
        struct pv_kv *kv;               /* desired keys, natural key order, canonical values */
        size_t n;
        struct pv_strv drift;           /* differences pvfio will not fix (disk size, storage, …) */
        struct pv_strv warnings;
        char *blocked;                  /* why the VM cannot be provisioned now, or NULL */
        struct pv_strv mappings;        /* mapping ids the VM's devices use */
};

/*
 * Desired model → the exact Proxmox config keys:
 *   name, tags (user tags + the management tag, sorted, ';'-joined),
 *   machine ("q35" / "pc-q35-V" / "pc-i440fx-V"; i440fx unpinned = unset),
 *   bios, efidisk0 ("STORAGE:1,efitype=4m,pre-enrolled-keys=1" on create),
 *   cpu ("TYPE,flags=+a;-b,hidden=1"), cores, sockets, memory, balloon,
 *   hugepages, numa, scsihw, vga, ostype, onboot, netN
 *   ("MODEL[=MAC],bridge=B,firewall=1,tag=V"), disks ("STORAGE:GiB[,opts]"
 *   on create; an existing disk keeps its observed value, differences become
 *   drift), hostpciN (canonical form; slots: explicit, else the index the
 *   device already has, else the lowest free one).
 * Sub-keys the profile cannot express (net mtu/queues, cpu hv-vendor-id,
 * machine viommu, vga memory, …) are carried over from the observed value.
 * *ret is filled only on success (PV_ENOMEM otherwise).
 */
int pv_vm_translate(const struct pv_vm *vm, const struct pv_vm_xlate_ctx *ctx, struct pv_vm_desired *ret,
                    struct pv_error *err);
void pv_vm_desired_done(struct pv_vm_desired *d);
/* Borrowed value of `key` in d, or NULL. */
const char *pv_vm_desired_get(const struct pv_vm_desired *d, const char *key);

/* Key helpers (shared with renderers and tests). */
/* True for every key the translator can produce (name … hostpci15, net0..31, disks, efidisk0). */
bool pv_vmconfig_key_managed(const char *key);
/* Managed keys pvfio may delete when the profile does not produce them (not disks, efidisk0, name). */
bool pv_vmconfig_key_deletable(const char *key);
/* True when Proxmox applies a change to a running VM at once (name, tags, onboot, balloon, netN, scsiN, virtioN). */
bool pv_vmconfig_key_hotpluggable(const char *key);
/* The same for the running VM whose current config is cfg (NULL: Proxmox's defaults): its `hotplug`
 * setting, and for usbN its machine version and ostype, as qemu-server's vmconfig_hotplug_pending. */
struct pv_vm_config;
bool pv_vmconfig_key_hotplugs(const char *key, const struct pv_vm_config *cfg);
/* Same meaning for `key` (NULL = absent; Proxmox defaults such as cores=1, numa=0, vga std apply). */
bool pv_vmconfig_value_equal(const char *key, const char *a, const char *b);
/* Natural order of config keys ("hostpci2" < "hostpci10"), for qsort-style use. */
int pv_vmconfig_key_cmp(const char *a, const char *b);

/*
 * What the plan of this profile needs observed (pure): the nodes whose
 * hardware is read, the nodes the mappings are checked on, the VMs named, and
 * (as a callback borrowing `profile`) the mdev types of round 2. `profile`
 * must outlive *ret. Free with pv_observe_want_done().
 */
int pv_observe_want_from_profile(const struct pv_profile *profile, struct pv_observe_want *ret,
                                 struct pv_error *err);

/*
 * Version-gated keys (provision/vmgates.c; docs/profile.md lists them): a key
 * pvfio writes that a node older than `pve` (or, for a qemu-server key, whose
 * qemu-server is older than `qemu_server`) refuses. The planner blocks the
 * action that would write it to such a node, naming node, version and key.
 */
struct pv_version_gate {
        const char *key;                /* as docs/profile.md names it: "hostpciN driver" */
        const char *pve;                /* first Proxmox VE release (pve-manager) */
        const char *qemu_server;        /* first qemu-server version; NULL: not a qemu-server key */
        const char *refusal;            /* what an older node does with it */
};
size_t pv_version_gates(const struct pv_version_gate **ret);
const struct pv_version_gate *pv_version_gate(const char *key);
/*
 * *ret = why `used` (e.g. "hostpci0: 'driver=keep'") cannot go to node `node`
 * (versions nv; NULL: use api_version, the node answering the API), or NULL
 * when it can or the version is not known (a qemu-server key is checked
 * against qemu-server when it was read, else against the Proxmox VE release).
 */
int pv_version_gate_check(const struct pv_version_gate *g, const char *node, const struct pv_node_version *nv,
                          const char *api_version, const char *used, char **ret, struct pv_error *err);

/*
 * A locked VM that may be one of the profile's (`profile` is a const struct
 * pv_profile *; the signature fits api/'s pv_vm_filter_fn): `lock: create` (a
 * create in progress has no name or tags yet, so it may be any of them), or
 * another lock on a VM the profile names (by name or vmid) or pvfio manages (tag).
 */
bool pv_vm_maybe_ours(const void *profile, const struct pv_vm_info *v);

#endif
