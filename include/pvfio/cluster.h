/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Observed cluster state: what the Proxmox API reports, decoded into plain
 * structs by api/ and consumed as data by the pure VM/mapping planner in
 * provision/. Neither side includes the other; this header is the contract.
 *
 * Ownership: every struct here owns its strings and arrays; each has a
 * pv_*_done() that frees the members (NULL-safe) and pv_observed_done()
 * frees the whole tree.
 */
#ifndef PVFIO_CLUSTER_H
#define PVFIO_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pvfio/error.h"
#include "pvfio/pci.h"
#include "pvfio/tags.h"
#include "pvfio/util.h"

#define PV_VMID_MIN 100u                     /* Proxmox VE vmid range */
#define PV_VMID_MAX 999999999u

/* One cluster node (/nodes or /cluster/resources type=node). */
struct pv_node_info {
        char *node;
        char *status;                   /* "online" | "offline" | "unknown" */
};

/* One VM as listed by /cluster/resources?type=vm (qemu only). */
struct pv_vm_info {
        uint32_t vmid;
        char *node;
        char *name;                     /* NULL when unnamed */
        char *status;                   /* "running" | "stopped" | … */
        char *lock;                     /* NULL when not locked */
        char *tags;                     /* raw ";"-separated tags or NULL */
        bool is_template;
};

/* A config key/value; integers and booleans are kept in Proxmox's decimal text form ("4", "1"). */
struct pv_kv {
        char *key;
        char *value;
};

/* GET /nodes/{node}/qemu/{vmid}/config (pending values merged, as the API returns by default). */
struct pv_vm_config {
        uint32_t vmid;
        char *node;
        struct pv_kv *kv;               /* sorted by key; "digest" is not in here */
        size_t n;
        char *digest;                   /* 40-hex SHA1 */
};

/* GET …/pending: one entry per key. */
struct pv_pending {
        char *key;
        char *value;                    /* current value or NULL */
        char *pending;                  /* pending value or NULL */
        int delete_;                    /* 0, 1 = delete pending, 2 = force delete */
};

struct pv_vm_pending {
        uint32_t vmid;
        struct pv_pending *v;
        size_t n;
};

/* One device of GET /nodes/{node}/hardware/pci?pci-class-blacklist= (verbose). */
struct pv_hw_pci {
        struct pv_pci_addr addr;        /* with domain */
        uint32_t class_code;            /* 24-bit */
        struct pv_pci_id id;            /* vendor:device */
        bool has_subsystem;
        struct pv_pci_id subsystem;
        int iommugroup;                 /* -1 without IOMMU */
        bool mdev;                      /* mdev/vGPU capable */
        bool is_vf;                     /* has physfn */
        struct pv_pci_addr physfn;      /* valid when is_vf */
        char *vendor_name, *device_name;/* may be NULL */
};

/* GET /nodes/{node}/hardware/pci/{id}/mdev entries are struct pv_mdev_type (pvfio/pci.h). */

/* The hardware of one node, with the mdev types fetched for the devices that need them. */
struct pv_node_hw {
        char *node;
        struct pv_hw_pci *devs;         /* sorted by address */
        size_t n_devs;
        struct pv_node_mdev {
                struct pv_pci_addr addr;
                struct pv_mdev_type *types;
                size_t n_types;
        } *mdev;
        size_t n_mdev;
};

/* A check reported by GET /cluster/mapping/pci?check-node=N. */
struct pv_mapping_check {
        char *severity;                 /* "warning" | "error" */
        char *message;                  /* Proxmox's text, trailing new line dropped */
        char *node;                     /* the check-node it was read with (NULL: not known) */
};

/* A cluster PCI mapping as Proxmox stores it. */
struct pv_obs_mapping {
        char *id;
        char *description;              /* NULL when unset */
        bool mdev;
        bool live_migration_capable;
        char **map;                     /* raw map property strings, as returned, in order */
        size_t n_map;
        char *digest;
        struct pv_mapping_check *checks;/* only when fetched with check-node */
        size_t n_checks;
};

/* One device of GET /nodes/{node}/hardware/usb (pve-common SysFSTools::scan_usb). */
struct pv_hw_usb {
        unsigned busnum;
        char *usbpath;                  /* "3.4" below the root hub; NULL for a root hub */
        char *vendid, *prodid;          /* sysfs idVendor/idProduct text ("0d8c", lower-case hex) */
        char *product, *manufacturer;   /* may be NULL */
};

/* The USB devices of one node. */
struct pv_node_usb {
        char *node;
        struct pv_hw_usb *devs;
        size_t n_devs;
};

/*
 * What runs on one node (GET /nodes/{node}/version, and GET
 * /nodes/{node}/apt/versions where a feature depends on qemu-server).
 */
struct pv_node_version {
        char *node;
        char *pve;                      /* pve-manager version ("8.4.1"); NULL when not read */
        char *qemu_server;              /* installed qemu-server ("9.1.11"); NULL when not read */
        char *qemu_server_unknown;      /* why qemu_server is NULL when it was asked for (e.g. no Sys.Audit) */
};

/* Everything pvfio observed of the cluster for one plan. */
struct pv_observed {
        struct pv_node_info *nodes;
        size_t n_nodes;
        struct pv_vm_info *vms;
        size_t n_vms;
        struct pv_vm_config *configs;   /* for the VMs the profile names (by name) or manages (tag) */
        size_t n_configs;
        struct pv_vm_pending *pending;  /* for running VMs among those */
        size_t n_pending;
        struct pv_obs_mapping *mappings;
        size_t n_mappings;
        struct pv_node_hw *hw;          /* for nodes the profile's mappings/VMs use */
        size_t n_hw;
        /* datacenter options (GET /cluster/options): how Proxmox stores tags */
        struct pv_tag_style tag_style;
        bool have_tag_style;            /* read; else Proxmox's default is assumed */
        /* versions: of the node answering the API (GET /version), and per node */
        char *api_version;              /* pve-manager version, e.g. "9.1.9"; NULL when not read */
        struct pv_node_version *versions;
        size_t n_versions;
        /* cluster USB mappings (GET /cluster/mapping/usb; checks from check-node, Proxmox's `errors`) */
        struct pv_obs_mapping *usb_mappings;
        size_t n_usb_mappings;
        struct pv_node_usb *usb_hw;     /* for nodes whose USB entries name only a port */
        size_t n_usb_hw;
};

/* Task status (GET /nodes/{node}/tasks/{upid}/status). */
struct pv_task_status {
        char *upid;
        char *node;
        char *type;                     /* "qmcreate", "qmstart", … */
        bool running;
        char *exitstatus;               /* "OK", "WARNINGS: 2", or the error text; NULL while running */
};

/* A parsed UPID "UPID:node:PID:PSTART:STARTTIME:type:id:user:". */
struct pv_upid {
        char node[64];
        uint32_t pid;
        uint64_t pstart;
        uint32_t starttime;
        char type[64];
        char id[64];
        char user[128];
};

void pv_node_info_done(struct pv_node_info *n);
void pv_vm_info_done(struct pv_vm_info *v);
void pv_vm_config_done(struct pv_vm_config *c);
void pv_vm_pending_done(struct pv_vm_pending *p);
void pv_hw_pci_done(struct pv_hw_pci *d);
void pv_node_hw_done(struct pv_node_hw *h);
void pv_obs_mapping_done(struct pv_obs_mapping *m);
void pv_task_status_done(struct pv_task_status *t);
void pv_node_version_done(struct pv_node_version *v);
void pv_observed_done(struct pv_observed *o);
void pv_hw_usb_done(struct pv_hw_usb *d);
void pv_node_usb_done(struct pv_node_usb *n);

/*
 * What a plan needs observed. provision/ decides it from the profile
 * (pv_observe_want_from_profile in vmplan.h); api/ reads it (pv_api_observe)
 * without knowing the profile. Round 2's mdev-type reads depend on the
 * hardware read in round 1, so they are asked through a callback.
 */
struct pv_mdev_want {
        size_t hw;                      /* index into pv_observed.hw */
        struct pv_pci_addr addr;
};

struct pv_observe_want {
        struct pv_strv hw_nodes;        /* nodes whose PCI hardware is read */
        struct pv_strv check_nodes;     /* nodes the mapping listing is checked on (check-node) */
        struct pv_strv vf_nodes;        /* nodes whose VMs are all read (VF pools: used VFs matter) */
        struct pv_strv vm_names;        /* VMs the profile names (their configs are read) */
        struct pv_strv version_nodes;   /* nodes whose Proxmox VE version is read (GET …/version) */
        struct pv_strv qemu_server_nodes; /* nodes whose qemu-server release matters (…/apt/versions) */
        bool api_version;               /* read the version of the node answering the API (GET /version) */
        /* Round 2: the devices whose mdev types are read, from the hardware of round 1. May be NULL. */
        int (*mdev_wants)(const void *ctx, const struct pv_observed *o, struct pv_mdev_want **ret,
                          size_t *ret_n, struct pv_error *err);
        const void *ctx;
        /* cluster USB mappings: read the listing, check it on usb_check_nodes, read usb_hw_nodes' USB devices */
        bool usb_mappings;
        struct pv_strv usb_check_nodes;
        struct pv_strv usb_hw_nodes;
};

void pv_observe_want_done(struct pv_observe_want *w);

/* Lookups (borrowed; NULL when absent). */
const char *pv_vm_config_get(const struct pv_vm_config *c, const char *key);
const struct pv_vm_config *pv_observed_config(const struct pv_observed *o, uint32_t vmid);
const struct pv_vm_pending *pv_observed_pending(const struct pv_observed *o, uint32_t vmid);
const struct pv_obs_mapping *pv_observed_mapping(const struct pv_observed *o, const char *id);
const struct pv_node_hw *pv_observed_hw(const struct pv_observed *o, const char *node);
const struct pv_hw_pci *pv_node_hw_find(const struct pv_node_hw *h, const struct pv_pci_addr *addr);
const struct pv_node_mdev *pv_node_hw_mdev(const struct pv_node_hw *h, const struct pv_pci_addr *addr);
const struct pv_node_version *pv_observed_version(const struct pv_observed *o, const char *node);
const struct pv_obs_mapping *pv_observed_usb_mapping(const struct pv_observed *o, const char *id);
const struct pv_node_usb *pv_observed_usb_hw(const struct pv_observed *o, const char *node);
/* Copy the versions and the datacenter tag-style of src into dst (which has none yet). */
int pv_observed_copy_versions(struct pv_observed *dst, const struct pv_observed *src, struct pv_error *err);

/* Parse a UPID (0 or -PV_EINVAL). */
int pv_upid_parse(const char *s, struct pv_upid *ret, struct pv_error *err);

#endif
