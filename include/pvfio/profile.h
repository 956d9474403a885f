/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The typed profile model (profile format v1, see docs/profile.md).
 *
 * A profile is parsed once into these structs; nothing downstream touches
 * YAML. Every value that can be wrong carries its source position
 * (struct pv_loc, whose `file` is borrowed from the owning pv_profile).
 * Optional scalars have an explicit "set" flag or a sentinel documented at
 * the field; templates and `defaults` are merged before typing, so a VM
 * here is complete.
 *
 * Ownership: everything hangs off struct pv_profile and is freed by
 * pv_profile_free(). Pointers returned by lookups are borrowed.
 */
#ifndef PVFIO_PROFILE_H
#define PVFIO_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pvfio/auth.h"
#include "pvfio/cluster.h"
#include "pvfio/error.h"
#include "pvfio/pci.h"
#include "pvfio/util.h"

#define PV_PROFILE_MAX_BYTES (1024u * 1024)  /* 1 MiB input cap */
#define PV_PROFILE_MAX_DEPTH 32              /* YAML nesting cap */
#define PV_PROFILE_MAX_NODES 200000          /* nodes visited incl. alias expansion (alias-bomb guard) */
#define PV_MAX_HOSTPCI 16                    /* hostpci0..15 ($MAX_HOSTPCI_DEVICES) */

/* ---------------------------------------------------------------- cluster */


/* Where a secret comes from. Secrets are never inline in a profile. */
struct pv_secret_ref {
        char *env;              /* environment variable name, or NULL */
        char *file;             /* path of a file holding the secret, or NULL */
        struct pv_loc loc;
};

/* One node's SSH overrides (cluster.ssh.nodes.NAME); unset fields inherit cluster.ssh. */
struct pv_ssh_node {
        char *node;             /* the Proxmox node name (the key) */
        char *host;             /* address or DNS name to connect to; NULL = the node name */
        unsigned port;          /* 0 = cluster.ssh.port */
        char *user;             /* NULL = cluster.ssh.user */
        char *identity_file;    /* NULL = cluster.ssh.identity_file */
        char *pvfio;            /* remote command; NULL = cluster.ssh.pvfio */
        struct pv_loc loc;
};

#define PV_SSH_DEFAULT_COMMAND "ssh"
#define PV_SSH_DEFAULT_USER "root"
#define PV_SSH_DEFAULT_PVFIO "pvfio"
#define PV_SSH_DEFAULT_TIMEOUT_S 600u
#define PV_SSH_DEFAULT_PARALLEL 8u

/*
 * How pvfio reaches the other nodes for their host sections (cluster.ssh).
 * The client runs as `COMMAND -o BatchMode=yes … [-o OPTION]… -p PORT -l USER -- HOST
 * PVFIO host plan|apply --json --node NODE -` with the profile on stdin; host keys are
 * checked strictly unless an explicit option says otherwise.
 */
struct pv_ssh_config {
        bool present;           /* the profile has `cluster.ssh` */
        char *command;          /* client program (PATH lookup); NULL = "ssh" */
        char *user;             /* NULL = "root" */
        unsigned port;          /* 0 = the client's default */
        struct pv_strv options; /* "Key=Value", each passed as `-o Key=Value` (before pvfio's defaults, so they win) */
        char *identity_file;    /* NULL = the client's default keys */
        char *known_hosts;      /* UserKnownHostsFile; NULL = the client's default */
        char *pvfio;            /* remote command, words separated by single spaces; NULL = "pvfio" */
        unsigned timeout_s;     /* per node, whole session; 0 = PV_SSH_DEFAULT_TIMEOUT_S */
        unsigned parallel;      /* nodes at once; 0 = PV_SSH_DEFAULT_PARALLEL */
        struct pv_ssh_node *nodes;
        size_t n_nodes;
        struct pv_loc loc;
};

struct pv_cluster {
        bool present;           /* the profile has a `cluster:` section */
        char *name;             /* optional display name */
        char *api_url;          /* "https://host:8006" (no /api2/json suffix) */
        struct pv_loc api_url_loc;
        enum pv_auth_kind auth;
        char *token_id;         /* "user@realm!tokenid" when auth == TOKEN */
        char *user;             /* "root@pam" when auth == PASSWORD */
        struct pv_secret_ref secret;  /* token secret or password */
        struct pv_loc auth_loc;
        char *tls_fingerprint;  /* normalised "AA:BB:…" (64 hex digits) or NULL */
        char *tls_ca_file;      /* PEM bundle path or NULL */
        bool tls_insecure;      /* only when written explicitly */
        struct pv_loc tls_loc;
        unsigned parallel;      /* API concurrency; 0 = default (8) */
        unsigned timeout_s;     /* per-request timeout; 0 = default (30) */
        struct pv_ssh_config ssh; /* cluster.ssh (zeroed when absent: defaults apply) */
        unsigned retry_time_s;  /* reads retry transient failures this long; 0 = default (30) */
};

/* ------------------------------------------------------------------ hosts */

enum pv_tristate { PV_AUTO = 0, PV_ON, PV_OFF };

enum pv_binding {
        PV_BIND_IDS,            /* boot-time `options vfio-pci ids=…` (default) */
        PV_BIND_DRIVER_OVERRIDE,/* per-address driver_override rule */
};

enum pv_devsel_kind {
        PV_DEVSEL_ID,           /* vendor:device, every matching function */
        PV_DEVSEL_ADDR,         /* one function, or all functions when func == PV_PCI_FUNC_ALL */
        PV_DEVSEL_MATCH,        /* named match: vendor/device/class/name substring */
};

/* A device selector for vfio binding. */
struct pv_devsel {
        enum pv_devsel_kind kind;
        struct pv_pci_id id;            /* PV_DEVSEL_ID */
        struct pv_pci_addr addr;        /* PV_DEVSEL_ADDR */
        /* PV_DEVSEL_MATCH: each criterion applies when its has_ flag is set */
        bool has_vendor, has_device, has_class;
        uint16_t vendor, device;
        uint32_t class_code;            /* 16-bit "0300" or 24-bit "030000"; class_bits = 16 or 24 */
        unsigned class_bits;
        char *name_contains;            /* case-insensitive substring of the pci.ids name, or NULL */
        bool companions;                /* also bind the device's other functions (default true) */
        struct pv_loc loc;
        bool host_critical_ok;          /* may take a device the host needs (root disk, management NIC,
                                         * only display or keyboard); default false */
};

struct pv_sriov_spec {
        struct pv_pci_addr pf;          /* physical function */
        unsigned numvfs;
        struct pv_loc loc;
};

enum pv_vgpu_kind {
        PV_VGPU_NONE = 0,
        PV_VGPU_GVTG,                   /* Intel GVT-g: i915.enable_gvt=1 + kvmgt */
        PV_VGPU_NVIDIA_SRIOV,           /* NVIDIA vGPU ≥17: pve-nvidia-sriov@ VFs, host driver kept */
};

struct pv_host_spec {
        /* which nodes: a list, or all nodes of the cluster */
        bool all_nodes;
        struct pv_strv nodes;
        struct pv_loc loc;
        enum pv_tristate iommu;         /* AUTO = add intel_iommu=on only where the kernel needs it */
        bool iommu_pt;                  /* add iommu=pt (default true) */
        struct pv_strv kernel_args;     /* extra args, e.g. initcall_blacklist=sysfb_init */
        struct pv_loc *kernel_arg_locs; /* kernel_args.n entries */
        bool allow_unsafe;              /* pcie_acs_override / allow_unsafe_interrupts accepted */
        enum pv_binding binding;
        struct pv_devsel *vfio;         /* devices for vfio-pci */
        size_t n_vfio;
        bool softdeps_auto;             /* softdeps: auto (default) */
        struct pv_strv softdeps;        /* explicit driver list when !softdeps_auto */
        struct pv_strv blacklist;       /* drivers to blacklist (only where asked) */
        bool disable_vga;               /* options vfio-pci disable_vga=1 */
        struct pv_sriov_spec *sriov;
        size_t n_sriov;
        enum pv_vgpu_kind vgpu;
        struct pv_loc vgpu_loc;
        bool accept_shared_groups;      /* explicit opt-in to pass devices whose group has host devices */
        /* the rest of a passthrough setup (provision/profile_extras.c, provision/hostextras.c) */
        unsigned hugepages_margin;      /* 1 GiB pages reserved beyond the node's hugepages: 1G VMs */
        bool vendor_reset;              /* load vendor-reset, reset_method=device_specific for AMD reset-bug GPUs */
        /* ROM images installed into usr/share/kvm for `romfile:` (provision/profile_rom.c, provision/hostrom.c) */
        struct pv_romfile *romfiles;
        size_t n_romfiles;
};

/*
 * One `romfiles:` entry: a PCI option ROM image the host plan installs as usr/share/kvm/NAME.
 * `source` is read when the profile is loaded (relative to the profile file's directory; a
 * profile read from stdin: to the working directory). A profile loaded from a file refuses a
 * source it cannot read; one from stdin keeps the reason in `problem` and the host plan of that
 * node blocks the install. A node reached over SSH gets a profile bundle (pvfio/profilebundle.h):
 * its sources come from the bundle, never from that node's disk (`from_bundle`).
 */
#define PV_ROMFILE_MAX_BYTES (4u << 20)  /* a GPU vBIOS is 64 KiB-1 MiB; keeps journal and JSON plan small */
#define PV_ROMFILE_DIR "usr/share/kvm"  /* where QEMU looks for romfile=NAME (root-relative) */
struct pv_romfile {
        char *name;                     /* file name under /usr/share/kvm (no '/', ',', ';') */
        char *source;                   /* as written in the profile */
        uint8_t *data;                  /* the image, len bytes; NULL when unreadable (see problem) */
        size_t len;
        char *sha256;                   /* of data (hex), NULL when unreadable */
        bool has_efi;                   /* the image carries an EFI (UEFI) image */
        char *problem;                  /* why the source could not be read (stdin profiles), or NULL */
        struct pv_loc loc;
        bool from_bundle;               /* the profile came in a profile bundle (pvfio/profilebundle.h): the
                                         * bytes, or their absence, are the controller's */
};

/* A romfiles name: letters, digits, '.', '_', '+', '-', not starting with '.' or '-', ≤ 128 characters. */
bool pv_romfile_name_ok(const char *s);

/* --------------------------------------------------------------- mappings */

struct pv_map_entry {
        char *node;
        struct pv_pci_addr *paths;      /* one or several devices passed together (`;`) */
        size_t n_paths;
        bool has_id, has_subsystem_id, has_iommugroup;
        struct pv_pci_id id;            /* vendor:device; filled from hardware when unset */
        struct pv_pci_id subsystem_id;
        int iommugroup;
        char *description;
        struct pv_loc loc;
};

struct pv_mapping {
        char *id;                       /* pve-configid: ^[a-z][a-z0-9_-]+$ (case-insensitive) */
        char *description;
        bool mdev;                      /* devices are mdev/vGPU capable (default false) */
        bool live_migration_capable;    /* default false */
        struct pv_map_entry *map;       /* several entries per node = alternatives (pool) */
        size_t n_map;
        struct pv_loc loc;
};

/* ----------------------------------------------------------- USB mappings */

/*
 * One node's entry of a cluster USB mapping (pve-guest-common PVE/Mapping/USB.pm $map_fmt):
 * a device by vendor:product anywhere on the node, or whatever sits at a port (path), where
 * the id is what Proxmox expects there ("only used for detecting hardware changes").
 */
struct pv_usb_map_entry {
        char *node;
        char *id;                       /* "vvvv:pppp" lower-case hex; NULL = filled from the node's hardware (path given) */
        char *path;                     /* "BUS-PORT[.PORT…]" or NULL */
        char *description;
        struct pv_loc loc;
};

/* A cluster USB resource mapping (`usb_mappings:`, /cluster/mapping/usb). */
struct pv_usb_mapping {
        char *id;                       /* pve-configid */
        char *description;
        struct pv_usb_map_entry *map;   /* at most one entry per node (Proxmox refuses more at VM start) */
        size_t n_map;
        struct pv_loc loc;
};

/* -------------------------------------------------------------------- VMs */

enum pv_vm_state { PV_STATE_PRESENT = 0, PV_STATE_RUNNING, PV_STATE_STOPPED, PV_STATE_ABSENT };
enum pv_machine { PV_MACHINE_UNSET = 0, PV_MACHINE_Q35, PV_MACHINE_I440FX };
enum pv_bios { PV_BIOS_UNSET = 0, PV_BIOS_SEABIOS, PV_BIOS_OVMF };

enum pv_pcidev_kind {
        PV_PCIDEV_RAW,                  /* host address(es); needs a root@pam ticket */
        PV_PCIDEV_MAPPING,              /* cluster mapping id */
        PV_PCIDEV_VF_POOL,              /* a free SR-IOV VF of a physical function */
};

enum pv_driver_mode { PV_DRIVER_DEFAULT = 0, PV_DRIVER_VFIO, PV_DRIVER_KEEP };

/* One hostpciN entry. mdev may be combined with RAW, MAPPING or VF_POOL. */
struct pv_pcidev {
        enum pv_pcidev_kind kind;
        struct pv_pci_addr *addrs;      /* RAW: one, or several passed together */
        size_t n_addrs;
        char *mapping;                  /* MAPPING */
        struct pv_pci_addr vf_pf;       /* VF_POOL: the physical function */
        char *mdev;                     /* mdev / vGPU type ("i915-GVTg_V5_4", "nvidia-660") or NULL */
        int slot;                       /* fixed hostpci index 0..15, or -1 = next free */
        /* -1 = unset (Proxmox default), else 0/1 */
        int pcie, primary /* x-vga */, rombar, legacy_igd;
        char *romfile;                  /* file name under /usr/share/kvm, no path separator */
        enum pv_driver_mode driver;
        /* guest-visible ID overrides; 0 when has_ flag false */
        bool has_vendor_id, has_device_id, has_sub_vendor_id, has_sub_device_id;
        uint16_t vendor_id, device_id, sub_vendor_id, sub_device_id;
        struct pv_loc loc;
};

enum pv_disk_bus { PV_BUS_SCSI, PV_BUS_VIRTIO, PV_BUS_SATA, PV_BUS_IDE };

struct pv_disk {
        enum pv_disk_bus bus;
        int index;                      /* -1 = next free on that bus */
        char *storage;                  /* "local-lvm" */
        uint64_t size_bytes;            /* size for new disks */
        char *options;                  /* extra Proxmox disk options ("ssd=1,discard=on") or NULL */
        struct pv_loc loc;
};

struct pv_net {
        int index;                      /* -1 = next free */
        char *model;                    /* virtio, e1000, … (default virtio) */
        char *bridge;                   /* vmbr0 */
        int vlan;                       /* -1 = none */
        int firewall;                   /* -1 unset, 0/1 */
        char *macaddr;                  /* NULL = let Proxmox choose */
        struct pv_loc loc;
};

#define PV_LG_DEFAULT_PATH "/dev/shm/looking-glass"

/* One evdev input passed to the guest with QEMU's input-linux object. */
struct pv_evdev {
        char *path;                     /* "/dev/input/by-id/…-event-kbd" */
        bool grab_all, repeat;          /* default on for keyboards (…-event-kbd) */
        struct pv_loc loc;
};

#define PV_MAX_USB 14                       /* usb0..13 ($MAX_USB_DEVICES in qemu-server QemuServer/USB.pm) */

/* One usbN entry: exactly one of host / mapping. */
struct pv_usbdev {
        char *host;                     /* canonical "vvvv:pppp" (lower-case hex), "BUS-PORT[.PORT…]" or "spice" */
        char *mapping;                  /* cluster USB mapping id */
        int usb3;                       /* -1 unset, 0/1 */
        int index;                      /* fixed usbN index, or -1 = keep / next free */
        struct pv_loc loc;
};

struct pv_vm {
        char *name;                     /* DNS-name rules */
        char *node;
        uint32_t vmid;                  /* 0 = allocate */
        enum pv_vm_state state;
        char *template_name;            /* the template it came from, or NULL */
        enum pv_machine machine;
        char *machine_version;          /* optional "9.2+pve1" pin, or NULL */
        enum pv_bios bios;
        char *efidisk_storage;          /* efidisk0 storage for OVMF, or NULL */
        bool efidisk_pre_enrolled_keys; /* default true */
        char *cpu_type;                 /* "host", "x86-64-v2-AES", … or NULL */
        struct pv_strv cpu_flags;       /* "+pcid", "-md-clear" */
        bool cpu_hidden;                /* hidden=1 (old NVIDIA drivers) */
        unsigned cores, sockets;        /* 0 = unset */
        uint64_t memory_mib;            /* 0 = unset */
        int64_t balloon_mib;            /* -1 = unset, 0 = disabled */
        char *hugepages;                /* "2", "1024", "any" or NULL */
        int numa;                       /* -1 unset, 0/1 */
        char *scsihw;
        char *vga;                      /* "none", "std", "virtio", … or NULL */
        char *ostype;                   /* "l26", "win11", … or NULL */
        int onboot;                     /* -1 unset, 0/1 */
        struct pv_strv tags;            /* user tags; pvfio adds its own management tag */
        struct pv_disk *disks;
        size_t n_disks;
        struct pv_net *nets;
        size_t n_nets;
        struct pv_pcidev *pci;
        size_t n_pci;
        struct pv_loc loc;              /* the VM's mapping node */
        struct pv_loc name_loc, vmid_loc, node_loc;
        /* the rest of a passthrough setup (provision/profile_extras.c, provision/vmextras.c) */
        char *tpm_storage;              /* tpmstate0 storage; NULL = no TPM */
        char *tpm_version;              /* "v2.0" or "v1.2" when tpm_storage is set */
        char *affinity;                 /* host CPU list in canonical form ("0-3,8"), or NULL */
        char *hookscript;               /* snippet volume "STORAGE:snippets/NAME", or NULL */
        struct pv_usbdev *usb;          /* usbN entries (`usb:`) */
        size_t n_usb;
        /* Looking Glass: an IVSHMEM device in `args` (provision/vmextras.c) */
        bool looking_glass;
        uint64_t lg_size_mib;           /* shared memory size, a power of two */
        char *lg_path;                  /* mem-path, default PV_LG_DEFAULT_PATH */
        char *lg_owner;                 /* user the client runs as (tmpfiles.d owner); NULL = "root" */
        struct pv_loc lg_loc;
        struct pv_evdev *evdev;         /* input-linux objects in `args` */
        size_t n_evdev;
};

/* ---------------------------------------------------------------- profile */

struct pv_profile {
        char *file;                     /* owned; every pv_loc.file points here */
        unsigned version;               /* 1 */
        struct pv_cluster cluster;
        struct pv_host_spec *hosts;
        size_t n_hosts;
        struct pv_mapping *mappings;
        size_t n_mappings;
        struct pv_vm *vms;
        size_t n_vms;
        struct pv_usb_mapping *usb_mappings; /* `usb_mappings:` (provision/profile_usbmap.c) */
        size_t n_usb_mappings;
};

/* One problem found while loading (all are collected, not just the first). */
struct pv_diag {
        bool warning;                   /* true = warning, false = error */
        char *message;                  /* owned, one line */
        char *key;                      /* dotted key path ("vms[2].pci[0].mapping") or NULL */
        unsigned line, col;
};

struct pv_diags {
        struct pv_diag *v;
        size_t n, alloc;
        size_t n_errors;
};

/*
 * Parse and validate a profile held in memory. `name` is used in locations.
 * On success *ret is the profile (caller frees) and diags may hold warnings.
 * On failure returns -PV_EINVAL with every problem in *diags; *ret untouched.
 * Other negative codes (PV_ETOOBIG, PV_ENOMEM) are reported through err.
 */
int pv_profile_parse_mem(const char *buf, size_t len, const char *name, struct pv_profile **ret,
                         struct pv_diags *diags, struct pv_error *err);
/*
 * Like pv_profile_parse_mem, but the profile's `vms` list is replaced by the one
 * in vms_yaml (a YAML document `vms: [...]`, e.g. built by `pvfio vm add` from its
 * options). Templates, defaults, mappings and the cluster section come from buf.
 * vms_yaml NULL = plain parse.
 */
int pv_profile_parse_mem_with_vms(const char *buf, size_t len, const char *name, const char *vms_yaml,
                                  size_t vms_len, struct pv_profile **ret, struct pv_diags *diags,
                                  struct pv_error *err);
/* Read a file (capped at PV_PROFILE_MAX_BYTES) and parse it; "-" reads stdin. */
int pv_profile_load(const char *path, struct pv_profile **ret, struct pv_diags *diags,
                    struct pv_error *err);
/* Free a profile (NULL-safe). */
void pv_profile_free(struct pv_profile *p);
/* Free the diagnostics' members. */
void pv_diags_done(struct pv_diags *d);

/* Lookups (borrowed results, NULL when absent). */
const struct pv_mapping *pv_profile_find_mapping(const struct pv_profile *p, const char *id);
const struct pv_vm *pv_profile_find_vm(const struct pv_profile *p, const char *name);
const struct pv_usb_mapping *pv_profile_find_usb_mapping(const struct pv_profile *p, const char *id);
/* The host spec that applies to `node` (first match; `all` matches every node), or NULL. */
const struct pv_host_spec *pv_profile_host_for_node(const struct pv_profile *p, const char *node);
/* The romfiles entry NAME of the host section that applies to `node`, or NULL. */
const struct pv_romfile *pv_profile_romfile_for_node(const struct pv_profile *p, const char *node, const char *name);
/* cluster.ssh.nodes entry of `node`, or NULL. */
const struct pv_ssh_node *pv_profile_ssh_node(const struct pv_profile *p, const char *node);

/* Enum string tables: *_to_string returns NULL for out-of-range; *_from_string returns -1 if unknown. */
const char *pv_vm_state_to_string(enum pv_vm_state s);
int pv_vm_state_from_string(const char *s);
const char *pv_machine_to_string(enum pv_machine m);
const char *pv_bios_to_string(enum pv_bios b);
const char *pv_binding_to_string(enum pv_binding b);
const char *pv_vgpu_kind_to_string(enum pv_vgpu_kind k);


/* The parser's key tables, each named by the JSON pointer of the object in
 * profiles/pvfio.schema.json that describes the same keys ("" = the document),
 * so a unit test keeps the parser and the schema in step. Ends with { NULL, NULL }. */
struct pv_profile_keyset {
        const char *schema_pointer;
        const char *const *keys;
};
extern const struct pv_profile_keyset pv_profile_keysets[];

#endif
