/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The rest of a passthrough setup (issue 14): helpers shared by the profile,
 * the VM planner and the host side for CPU affinity, TPM, hook scripts and
 * the host facts they are checked against.
 *
 * CPU sets use the syntax of Proxmox's `pve-cpuset` format (PVE::CpuSet
 * parse_cpuset in pve-common): comma-separated decimal CPU numbers or ranges
 * `A-B` with A ≤ B. The canonical form pvfio writes merges and sorts them:
 * "8,0-3,2" → "0-3,8".
 */
#ifndef PVFIO_EXTRAS_H
#define PVFIO_EXTRAS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pvfio/error.h"
#include "pvfio/host.h"
#include "pvfio/hostrom.h"
#include "pvfio/plan.h"
#include "pvfio/profile.h"

#define PV_CPUSET_MAX_CPU 8191u          /* highest CPU number accepted (the kernel's NR_CPUS limit) */

/*
 * Parse a CPU list into its canonical form (*ret, caller frees). PV_EINVAL with a
 * message naming the bad part ("'5-3' ends before it starts") when it is not one.
 */
int pv_cpuset_normalize(const char *s, char **ret, struct pv_error *err);
/* True when both lists parse and name the same CPUs (order and ranges do not matter). */
bool pv_cpuset_equal(const char *a, const char *b);
/*
 * How many CPUs of `set` are outside `local` (both CPU lists); -1 when either does
 * not parse. 0 = every CPU of set is in local.
 */
long pv_cpuset_outside(const char *set, const char *local);

/*
 * Looking Glass shared memory for a width × height frame, as Looking Glass documents it:
 * width × height × 4 bytes × 2 frames, plus 10 MiB, rounded up to a power of two (MiB).
 * 1920×1080 → 32, 2560×1440 → 64, 3840×2160 → 128.
 */
uint64_t pv_lg_size_mib(unsigned width, unsigned height);

/* ----------------------------------------------------- host side (hostextras.c) */

/* Per-device facts the host scan does not read, loaded for the devices VMs of the node use. */
struct pv_host_extra_dev {
        struct pv_pci_addr addr;
        char *local_cpulist;             /* sys/bus/pci/devices/ADDR/local_cpulist, or NULL */
        int rom_efi;                     /* display devices of bios: ovmf VMs: its ROM (or the romfile) has
                                          * an EFI image (1), has none (0), could not be read (-1); -2 =
                                          * not examined */
};

#define PV_LG_TMPFILES "etc/tmpfiles.d/pvfio-looking-glass.conf"

struct pv_host_extras {
        struct pv_host_extra_dev *devs;
        size_t n_devs;
        char *lg_tmpfiles;               /* PV_LG_TMPFILES as read, NULL when absent */
        char *vr_modules, *vr_udev;      /* PV_VENDOR_RESET_MODULES / _UDEV as read, NULL when absent */
        bool vr_installed;               /* pv_vendor_reset_installed() */
        struct pv_host_roms roms;        /* the romfiles targets as read (hostrom.c) */
};

/*
 * Read the facts for every PCI function the profile's VMs on `node` pass through
 * (missing files are not an error). *ret filled on success.
 */
int pv_host_extras_load(const struct pv_host *h, const struct pv_profile *p, const char *node,
                        const struct pv_host_state *s, struct pv_host_extras *ret, struct pv_error *err);
void pv_host_extras_done(struct pv_host_extras *x);

/*
 * Plan the host side of the profile's VMs on `node` (pure): appends warnings (a VM's
 * `affinity` with CPUs outside the NUMA node of a GPU it uses; a `bios: ovmf` VM whose
 * GPU's ROM, or romfile, has no EFI image) and actions (the
 * tmpfiles.d entry that creates each Looking Glass VM's shared memory file with its
 * client's owner, `systemd-tmpfiles --create` to apply it now) to *plan.
 * Fails only with PV_ENOMEM.
 */
int pv_host_extras_plan(const struct pv_profile *p, const char *node, const struct pv_host_state *s,
                        const struct pv_host_extras *x, struct pv_plan *plan, struct pv_error *err);

/*
 * Huge pages for the node's VMs with `hugepages: 1G`: the 1 GiB pages they need (the sum of
 * their memory, each rounded up to whole GiB) plus the host's `hugepages_margin`; 0 when no
 * VM on the node uses 1G pages.
 */
unsigned long pv_host_hugepages_needed(const struct pv_profile *p, const char *node, const struct pv_host_spec *spec);
/*
 * The kernel arguments that reserve them at boot ("default_hugepagesz=1G", "hugepagesz=1G",
 * "hugepages=N") into *ret (appended); nothing when none are needed or when the host
 * section's kernel_args already set hugepages themselves (the user's choice wins; a warning
 * goes to *plan when it reserves fewer than needed).
 */
int pv_host_hugepages_args(const struct pv_profile *p, const char *node, const struct pv_host_spec *spec,
                           struct pv_strv *ret, struct pv_plan *plan, struct pv_error *err);
/* 1 GiB pages of the host (sys/kernel/mm/hugepages/hugepages-1048576kB); -1 each when unknown. */
void pv_host_hugepages_read(const struct pv_host *h, long *ret_total, long *ret_free);
/* Append the check "hugepages-1G" (free vs needed 1 GiB pages) to *l. */
int pv_host_check_hugepages(const struct pv_host *h, unsigned long needed, struct pv_check_list *l,
                            struct pv_error *err);

/* ------------------------------------------------ resets (vendor_reset.c) */

#define PV_VENDOR_RESET_MODULES "etc/modules-load.d/pvfio-vendor-reset.conf"
#define PV_VENDOR_RESET_UDEV "etc/udev/rules.d/61-pvfio-vendor-reset.rules"

/* The AMD GPU family vendor-reset handles for vendor:device ("Navi 10", …), or NULL. */
const char *pv_vendor_reset_family(uint16_t vendor, uint16_t device);
/* The vendor-reset module is loaded, or installed for the running kernel (lib/modules). */
bool pv_vendor_reset_installed(const struct pv_host *h, const struct pv_host_state *s);
/* Append "vendor-reset:<addr>" checks for the devices among addrs that need vendor-reset. */
int pv_host_check_vendor_reset(const struct pv_host *h, const struct pv_host_state *s,
                               const struct pv_pci_addr *addrs, size_t n, struct pv_check_list *l,
                               struct pv_error *err);

/* Names in dev/input/by-id under the root ending in -event-kbd or -event-mouse, sorted (for evdev). */
int pv_host_input_scan(const struct pv_host *h, struct pv_strv *ret, struct pv_error *err);

#endif
