/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Host inspection: what this node's PCI/IOMMU/VFIO/boot state is, read from a
 * host root (`--root DIR`, default "/"), and the passthrough readiness checks
 * computed from it.
 *
 *   pv_host_open(root)        → struct pv_host (root path + directory fd)
 *   pv_host_scan(host)        → struct pv_host_state (plain data, owned by the caller)
 *   pv_host_check(state, in)  → verdicts {id, pass/warn/fail, title, evidence, fix}
 *
 * Every file access goes through host->dirfd with openat-family calls and
 * O_CLOEXEC; paths in this header are relative to the root ("sys/bus/pci",
 * "etc/default/grub"). Only provision/pci.c talks to libpci (names and
 * config-space capabilities); everything else is read from sysfs/procfs/etc
 * files directly.
 *
 * Ownership: a pv_host_state owns every string and array in it and is freed
 * with pv_host_state_free(). Lookups return borrowed pointers that live as
 * long as the state. Device indexes (size_t) index state->devs.
 */
#ifndef PVFIO_HOST_H
#define PVFIO_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pvfio/error.h"
#include "pvfio/log.h"
#include "pvfio/pci.h"
#include "pvfio/util.h"

struct json_t;   /* jansson */

/* ------------------------------------------------------------------ root */

/* An opened host root. Create with pv_host_open(), release with pv_host_close(). */
struct pv_host {
        char *root;              /* absolute path of the root as given ("/" or "/tmp/x"), no trailing '/' except "/" */
        int dirfd;               /* O_DIRECTORY|O_CLOEXEC fd of the root; every access is relative to it */
        char *pci_ids;           /* pci.ids override (absolute path), or NULL: <root>/usr/share/misc/pci.ids,
                                  * then the system's /usr/share/misc/pci.ids */
        const struct pv_log *log;/* borrowed; NULL = silent */
};

/* Open `root` (NULL = "/"). The log sink is borrowed and must outlive the host. */
int pv_host_open(const char *root, const struct pv_log *log, struct pv_host **ret, struct pv_error *err);
/* Use this pci.ids file for names (copied; NULL restores the default search). */
int pv_host_set_pci_ids(struct pv_host *h, const char *path, struct pv_error *err);
/* Close the fd and free. NULL-safe. */
void pv_host_close(struct pv_host *h);

/* Absolute path of a root-relative path (for messages and for libpci, which takes paths). New string. */
char *pv_host_path(const struct pv_host *h, const char *rel, struct pv_error *err);

/* ------------------------------------------------------------- devices */

/* struct pv_mdev_type (classic mdev_supported_types/<type>/) is defined in pvfio/pci.h:
 * the same struct serves the host scan and the API's mdev listing. */

/* An NVIDIA vGPU type from nvidia/creatable_vgpu_types (kernel ≥ 6.8 vGPU drivers). */
struct pv_vgpu_type {
        unsigned id;             /* e.g. 660 */
        char *name;              /* e.g. "NVIDIA L4-4Q" */
};

/* One memory/IO range of a device (`resource` file line with a non-zero start). */
struct pv_bar {
        unsigned index;          /* line number in `resource` (0–5 BARs, 6 ROM, 7+ bridge windows) */
        uint64_t start, end;     /* inclusive */
        uint64_t flags;
};

/* Config-space facts read through libpci (only with PV_SCAN_CAPS or pv_host_read_caps()). */
struct pv_pci_caps {
        bool known;              /* config space was readable and parsed */
        bool pcie;               /* has the PCI Express capability */
        int pcie_type;           /* PCIe device/port type (0 endpoint, 4 root port, 6 downstream…), -1 */
        bool flr;                /* PCIe DevCap FLR or AF FLR */
        bool pm_no_soft_reset;   /* PM cap NoSoftRst+ (D3hot→D0 keeps state: 'pm' reset useless) */
        bool acs;                /* has the ACS extended capability */
        uint16_t acs_ctrl;       /* ACS control register when acs */
};

/* Facts of a device that its root could not tell (struct pv_host_dev.unknown). A real sysfs tree knows
 * everything; a root built from an imported description (tests/machines importer: what users post,
 * `lspci -nnk` and the IOMMU-group listing) marks in the device directory's `pvfio_unknown` file, one
 * name per line, what its listing did not show. The scan then leaves the fact empty and says "unknown",
 * never "absent". */
enum pv_host_unknown {
        PV_HOST_UNKNOWN_DRIVER = 1u << 0,        /* "driver": driver NULL means "not known", not "unbound" */
        PV_HOST_UNKNOWN_GROUP = 1u << 1,         /* "iommu_group": iommu_group -1 means "not known" */
        PV_HOST_UNKNOWN_SUBSYSTEM = 1u << 2,     /* "subsystem" */
        PV_HOST_UNKNOWN_PARENT = 1u << 3,        /* "parent": the upstream bridge is not known */
        PV_HOST_UNKNOWN_RESET = 1u << 4,         /* "reset_method": no reset_method/reset says nothing */
        PV_HOST_UNKNOWN_BOOT_VGA = 1u << 5,      /* "boot_vga" */
        PV_HOST_UNKNOWN_PROG_IF = 1u << 6,       /* "prog_if": the low class byte is not known */
};

struct pv_host_dev {
        struct pv_pci_addr addr;
        char name[PV_PCI_ADDR_MAX];      /* "0000:01:00.0" */
        uint16_t vendor, device;
        bool has_subsystem;
        uint16_t subsystem_vendor, subsystem_device;
        uint32_t class_code;             /* 24-bit class: 0x030000 */
        uint8_t revision;
        /* names from pci.ids (NULL when unknown) */
        char *vendor_name;               /* "NVIDIA Corporation" */
        char *device_name;               /* "GA107M [GeForce RTX 3050 Ti Mobile]" */
        char *subsystem_name;            /* "Dell GA107M [GeForce RTX 3050 Ti Mobile]" or NULL */
        char *class_name;                /* "VGA compatible controller" */
        int iommu_group;                 /* -1 = none (no IOMMU) */
        char *driver;                    /* bound driver, NULL when unbound */
        char *driver_override;           /* NULL when unset ("(null)") or absent */
        int boot_vga;                    /* -1 = no boot_vga file, else 0/1 */
        bool has_reset_method;           /* `reset_method` file exists */
        struct pv_strv reset_methods;    /* its words, in kernel order ("flr", "bus", …) */
        bool has_reset;                  /* `reset` file exists (the kernel can reset the function) */
        int numa_node;                   /* -1 = none/unknown */
        bool is_bridge;                  /* PCI-to-PCI bridge / root port (class 0604xx/0609xx or pci_bus/) */
        bool has_parent;                 /* upstream bridge known (nested sysfs layout) */
        struct pv_pci_addr parent;       /* upstream bridge or root port */
        /* SR-IOV */
        bool is_pf;                      /* has sriov_totalvfs */
        unsigned sriov_totalvfs, sriov_numvfs;
        struct pv_pci_addr *vfs;         /* virtfnN links, in N order */
        size_t n_vfs;
        bool is_vf;                      /* listed by a PF's virtfnN link (the kernel's physfn) */
        struct pv_pci_addr physfn;
        /* mediated devices */
        struct pv_mdev_type *mdev_types; /* sorted by type */
        size_t n_mdev_types;
        bool has_nvidia_dir;             /* nvidia/ exists (Proxmox then treats it as mdev-capable) */
        struct pv_vgpu_type *vgpu_types; /* nvidia/creatable_vgpu_types, file order */
        size_t n_vgpu_types;
        /* resources: read for display-class devices, and for all with PV_SCAN_RESOURCES */
        bool bars_read;
        struct pv_bar *bars;
        size_t n_bars;
        struct pv_pci_caps caps;
        unsigned unknown;                /* enum pv_host_unknown bits (0 on a real host) */
};

struct pv_host_group {
        int id;
        size_t *members;                 /* indexes into state->devs, in address order */
        size_t n_members;
        char *type;                      /* `type` file ("DMA", "DMA-FQ", "identity", …) or NULL */
};

/* ----------------------------------------------------------- platform */

enum pv_cpu_vendor { PV_CPU_OTHER = 0, PV_CPU_INTEL, PV_CPU_AMD };

struct pv_cpu_info {
        enum pv_cpu_vendor vendor;
        char *vendor_id;                 /* "GenuineIntel", "AuthenticAMD", or NULL */
        char *model_name;                /* or NULL */
        struct pv_strv flags;            /* of the first processor */
        unsigned count;                  /* processor entries */
        bool vmx, svm;
};

struct pv_kver {
        unsigned major, minor, patch;    /* 0.0.0 when unparsable */
};

enum pv_iommu_kind { PV_IOMMU_UNIT_OTHER = 0, PV_IOMMU_UNIT_INTEL, PV_IOMMU_UNIT_AMD };

/* One entry of sys/class/iommu/. */
struct pv_iommu_unit {
        char *name;                      /* "dmar0", "ivhd0" */
        enum pv_iommu_kind kind;
        bool has_cap;                    /* cap/ecap (Intel) or cap/features (AMD) were read */
        uint64_t cap, ecap;              /* AMD: ecap = features */
        bool ir_capable;                 /* Intel: ECAP bit 3 */
};

enum pv_ir_state { PV_IR_UNKNOWN = 0, PV_IR_ACTIVE, PV_IR_ABSENT };

struct pv_iommu_info {
        bool active;                     /* sys/class/iommu non-empty or IOMMU groups present */
        struct pv_iommu_unit *units;
        size_t n_units;
        size_t n_groups_sysfs;           /* entries of sys/kernel/iommu_groups */
        bool dmar_table, ivrs_table;     /* sys/firmware/acpi/tables/DMAR|IVRS */
        int dmar_flags;                  /* DMAR byte 37 (bit0 INTR_REMAP, bit1 X2APIC_OPT_OUT); -1 unreadable */
        enum pv_ir_state ir;             /* from proc/interrupts */
        struct pv_strv ir_chips;         /* distinct IR-/vIR- chip names seen (at most a few) */
        struct pv_strv plain_msi_chips;  /* distinct non-remapped MSI chip names seen (at most a few) */
};

/* A framebuffer range of proc/iomem (BOOTFB, simpledrm, efifb, vesafb, simple-framebuffer). */
struct pv_iomem_range {
        uint64_t start, end;             /* inclusive */
        char *name;
};

/* A file as read from the root (for the planner: exact previous bytes). */
struct pv_host_file {
        char *path;                      /* root-relative, e.g. "etc/default/grub" */
        bool present;
        char *content;                   /* NUL-terminated, NULL when absent */
        size_t len;
};

/* Why the host needs a device (root file system, management network, console keyboard). */
enum pv_need_kind { PV_NEED_STORAGE = 0, PV_NEED_NETWORK, PV_NEED_KEYBOARD };

struct pv_host_need {
        size_t dev;                      /* index into state->devs */
        enum pv_need_kind kind;
        char *why;                       /* "holds / (/dev/nvme0n1p3 via dm-0)", "carries the default route (vmbr0 port eno1)" */
};

enum pv_bootloader { PV_BOOTLOADER_UNKNOWN = 0, PV_BOOTLOADER_GRUB, PV_BOOTLOADER_SYSTEMD_BOOT };

struct pv_boot_info {
        enum pv_bootloader loader;       /* decided from boot state, see pv_host_scan() */
        bool efi;                        /* sys/firmware/efi exists */
        bool proxmox_boot_tool;          /* etc/kernel/proxmox-boot-uuids lists at least one ESP */
        char *loader_info;               /* LoaderInfo EFI variable decoded ("systemd-boot 252.33"), or NULL */
        struct pv_strv evidence;         /* one line per fact the decision used */
        struct pv_host_file etc_kernel_cmdline;   /* etc/kernel/cmdline */
        struct pv_host_file etc_default_grub;     /* etc/default/grub */
        struct pv_host_file *grub_d;     /* etc/default/grub.d/<name>.cfg, sorted by name */
        size_t n_grub_d;
};

struct pv_host_state {
        struct pv_host_dev *devs;        /* sorted by address */
        size_t n_devs;
        struct pv_host_group *groups;    /* sorted by id */
        size_t n_groups;
        struct pv_cpu_info cpu;
        char *kernel_release;            /* proc/sys/kernel/osrelease, or NULL */
        struct pv_kver kver;
        char *cmdline;                   /* proc/cmdline (trailing newline stripped), or NULL */
        struct pv_strv cmdline_args;     /* its tokens (double quotes honoured) */
        struct pv_strv modules;          /* proc/modules names, file order */
        struct pv_strv sys_modules;      /* sys/module entries (loaded or built-in), sorted */
        struct pv_iommu_info iommu;
        struct pv_iomem_range *fb_ranges;
        size_t n_fb_ranges;
        struct pv_boot_info boot;
        /* module configuration as read (for the planner) */
        struct pv_host_file etc_modules;          /* etc/modules */
        struct pv_host_file *modules_load_d;      /* etc/modules-load.d/<name>.conf, sorted */
        size_t n_modules_load_d;
        struct pv_host_file *modprobe_d;          /* etc/modprobe.d/<name>.conf, sorted */
        size_t n_modprobe_d;
        bool reboot_required_flag;       /* run/reboot-required exists (Debian packages asked for one) */
        /* other ways a device may already be bound to vfio-pci (read for pvfio/bootcfg.h) */
        struct pv_host_file etc_initramfs_modules;  /* etc/initramfs-tools/modules */
        struct pv_host_file *driverctl_d;         /* etc/driverctl.d/<name> (driverctl overrides) */
        size_t n_driverctl_d;
        struct pv_host_file *udev_rules;          /* etc/udev/rules.d/<name>.rules, sorted */
        size_t n_udev_rules;
        /* devices the host itself needs (see pv_host_needs() in pvfio/hostneeds.h) */
        struct pv_host_need *needs;
        size_t n_needs;
        /* node identity (read for 'host apply') */
        char *hostname;                  /* first label of etc/hostname, or NULL */
        bool pve_node;                   /* the root is a Proxmox VE node (see pv_host_scan()) */
        char *pve_evidence;              /* what showed it ("etc/pve", "var/lib/dpkg/info/pve-manager.list"), or NULL */
        struct pv_strv cluster_nodes;    /* etc/pve/nodes/<name> directories, sorted (empty when unknown) */
        bool acs_override_active;        /* pcie_acs_override= on proc/cmdline */
        bool unsafe_interrupts_active;   /* allow_unsafe_interrupts=1 on proc/cmdline or in sys/module */
};

/* ------------------------------------------------------------------ scan */

enum pv_scan_flags {
        PV_SCAN_CAPS = 1u << 0,          /* read config-space capabilities of every device (libpci) */
        PV_SCAN_RESOURCES = 1u << 1,     /* read `resource` of every device, not only display devices */
        PV_SCAN_NO_NAMES = 1u << 2,      /* skip pci.ids names */
};

/*
 * Scan the host. Fails (never exits) on a tree that is not a sysfs PCI tree: a
 * non-address entry in sys/bus/pci/devices, a dangling device link, a missing
 * vendor/device/class file. No IOMMU is not an error (groups are empty).
 *
 * Bootloader decision: systemd-boot when etc/kernel/proxmox-boot-uuids lists an
 * ESP, sys/firmware/efi exists and the LoaderInfo EFI variable names
 * systemd-boot; otherwise GRUB. The existence of etc/kernel/cmdline alone
 * decides nothing.
 */
int pv_host_scan(struct pv_host *h, unsigned flags, struct pv_host_state **ret, struct pv_error *err);
/* Kernel command-line words as the kernel sees them: blanks separate, double quotes group
 * and are dropped ("a=\"b c\"" → a=b c). Appended to *out. */
int pv_host_cmdline_tokens(const char *line, struct pv_strv *out, struct pv_error *err);
/* Read config-space capabilities for one device (idempotent). */
int pv_host_read_caps(struct pv_host *h, struct pv_host_state *s, size_t dev_index, struct pv_error *err);
void pv_host_state_free(struct pv_host_state *s);

/* Lookups (borrowed results; NULL when absent). addr must name one function. */
const struct pv_host_dev *pv_host_find_dev(const struct pv_host_state *s, const struct pv_pci_addr *addr);
/* Index of the device in s->devs, or -1. */
long pv_host_dev_index(const struct pv_host_state *s, const struct pv_pci_addr *addr);
const struct pv_host_group *pv_host_find_group(const struct pv_host_state *s, int id);
/* Devices of `dev`'s IOMMU group (including itself), or NULL with *n = 0 when it has none. */
const size_t *pv_host_group_members(const struct pv_host_state *s, const struct pv_host_dev *dev, size_t *ret_n);
/* Module loaded (proc/modules) or built in (sys/module); '-' and '_' are equivalent. */
bool pv_host_module_loaded(const struct pv_host_state *s, const char *name);
/* Kernel release at least major.minor. */
bool pv_host_kernel_at_least(const struct pv_host_state *s, unsigned major, unsigned minor);
/* The VFIO modules for this kernel (NULL-terminated, static): vfio, vfio_iommu_type1, vfio_pci
 * (+ vfio_virqfd before 6.2). */
const char *const *pv_host_vfio_modules(const struct pv_host_state *s);
/* True for display controllers (class 03xxxx). */
bool pv_host_dev_is_display(const struct pv_host_dev *d);
/* True for platform plumbing nobody passes through: host/ISA/other bridges (0600, 0601, 0680), RAM (0500),
 * PIC (0800), IOMMU (0806), SMBus (0c05), non-essential instrumentation (13xx). */
bool pv_host_dev_is_platform(const struct pv_host_dev *d);
/* The host platform's own functions, which a VM must never get and whose IOMMU group can therefore not
 * be passed at all (issue 10 item 9): "ISA/LPC bridge" (0601: LPC/eSPI, firmware and TPM access), "SMBus
 * controller" (0c05: sensors, SPD), "SPI flash controller" (Intel 0c80 ids of the kernel's spi-intel-pci
 * driver, or named "SPI"), "AMD Platform Security Processor" (AMD 1080: the PSP/CCP the ccp driver
 * serves: firmware TPM, SEV). NULL for anything else (static string). */
const char *pv_host_dev_platform_role(const struct pv_host_dev *d);
/* A host bridge (0600) without a driver, e.g. AMD's "PCIe Dummy Host Bridge": nothing of the host is
 * bound to it, so a group holding it loses nothing by it (VFIO accepts driverless devices in a group).
 * With an unknown driver only a device named "Dummy Host Bridge" counts. */
bool pv_host_dev_is_idle_host_bridge(const struct pv_host_dev *d);
/* Names of the unknown facts of d ("driver", "iommu_group", …) as one string joined by `sep`, or ""
 * (new string). */
char *pv_host_dev_unknown_list(const struct pv_host_dev *d, const char *sep, struct pv_error *err);
/* Human-readable one-liner "VGA compatible controller: NVIDIA Corporation GA107M […]" (new string). */
char *pv_host_dev_describe(const struct pv_host_dev *d, struct pv_error *err);

/* ---------------------------------------------------------- group safety */

enum pv_group_verdict {
        PV_GROUP_NO_IOMMU = 0,           /* the device has no IOMMU group */
        PV_GROUP_ALONE,                  /* only the device (plus bridges) */
        PV_GROUP_COMPANIONS,             /* only its own functions (same slot) and bridges: fine, pass them together */
        PV_GROUP_SHARED,                 /* shares with unrelated endpoints (listed) */
};

struct pv_group_assessment {
        enum pv_group_verdict verdict;
        int group;                       /* -1 with NO_IOMMU */
        size_t *companions;              /* other functions of the same slot in the group */
        size_t n_companions;
        size_t *bridges;                 /* bridges/root ports in the group (may stay on pcieport) */
        size_t n_bridges;
        size_t *unrelated;               /* endpoints of other slots in the group */
        size_t n_unrelated;
        size_t *platform;                /* host platform functions in the group, the device itself included
                                          * (pv_host_dev_platform_role): such a group must not be passed */
        size_t n_platform;
};

/* Assess the group of device `dev_index` for passing that device. */
int pv_host_assess_device(const struct pv_host_state *s, size_t dev_index, struct pv_group_assessment *ret,
                          struct pv_error *err);
/* Assess a whole group (scan view): relative to its first display device, or else its first endpoint. */
int pv_host_assess_group(const struct pv_host_state *s, const struct pv_host_group *g,
                         struct pv_group_assessment *ret, struct pv_error *err);
void pv_group_assessment_done(struct pv_group_assessment *a);
const char *pv_group_verdict_to_string(enum pv_group_verdict v);  /* "no-iommu", "alone", "companions", "shared" */

/* ---------------------------------------------------------------- checks */

enum pv_check_status { PV_CHECK_PASS = 0, PV_CHECK_WARN, PV_CHECK_FAIL };

/* One readiness verdict. */
struct pv_check {
        char *id;                        /* stable: "cpu-virt", "iommu", "iommu-firmware", "interrupt-remapping",
                                          * "kernel", "vfio-modules-config", "bootloader", "kernel-args",
                                          * "vfio-loaded", "boot-framebuffer", "reset:<addr>", "group:<addr>",
                                          * "reboot" */
        enum pv_check_status status;
        char *title;                     /* one line */
        char *evidence;                  /* what was seen, with the file it came from */
        char *fix;                       /* what to do, or NULL when nothing */
};

struct pv_check_list {
        struct pv_check *v;
        size_t n, alloc;
};
#define PV_CHECK_LIST_INIT { NULL, 0, 0 }

/* What the checks are asked about. All members may be empty. */
struct pv_check_input {
        const char *const *kernel_args;  /* desired kernel arguments, e.g. "intel_iommu=on", "iommu=pt" */
        size_t n_kernel_args;
        const struct pv_pci_addr *devices; /* devices to be passed through (functions) */
        size_t n_devices;
        bool gvtg;                       /* GVT-g wanted: kvmgt + i915.enable_gvt=1 */
};

/* Compute the verdicts (pure over the state). */
int pv_host_check(const struct pv_host_state *s, const struct pv_check_input *in, struct pv_check_list *ret,
                  struct pv_error *err);
void pv_check_list_done(struct pv_check_list *l);
/* Worst status of the list (PASS when empty). */
enum pv_check_status pv_check_list_worst(const struct pv_check_list *l);
const char *pv_check_status_to_string(enum pv_check_status st);  /* "pass", "warn", "fail" */
const char *pv_bootloader_to_string(enum pv_bootloader b);       /* "unknown", "grub", "systemd-boot" */
/* The IOMMU kernel arguments this host needs (static strings, NULL-terminated): "intel_iommu=on" on
 * Intel with kernel < 6.8, nothing on AMD or newer Intel kernels. */
const char *const *pv_host_iommu_args(const struct pv_host_state *s);

/* ------------------------------------------------------------------ JSON */

/* The full state as JSON (new reference), or NULL on allocation failure. */
struct json_t *pv_host_state_to_json(const struct pv_host_state *s);
/* The verdicts as a JSON array (new reference). */
struct json_t *pv_check_list_to_json(const struct pv_check_list *l);

#endif
