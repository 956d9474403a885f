/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Private to provision/: the libpci adapter (provision/pci.c is the only file
 * that includes <pci/pci.h>). Used for pci.ids names and config-space
 * capabilities; device enumeration and sysfs attributes are read directly by
 * host_scan.c.
 */
#ifndef PVFIO_PROVISION_PCILIB_H
#define PVFIO_PROVISION_PCILIB_H

#include <stdint.h>

#include "pvfio/error.h"
#include "pvfio/host.h"
#include "pvfio/log.h"

struct pv_pcilib;

/* Names of one device (each NULL when the database has no entry). Owned by the caller. */
struct pv_pci_names {
        char *vendor;
        char *device;
        char *subsystem;    /* "<subsystem vendor> <subsystem device>" as lspci -v shows it */
        char *class_name;
};

/*
 * Open libpci with the sysfs method on `sysfs_bus_pci` (absolute path of
 * <root>/sys/bus/pci), hwdb disabled, names from `ids_path` (NULL = libpci's
 * default). libpci's fatal-error callback is replaced: a fatal condition
 * (malformed pci.ids, broken tree) makes the call fail with PV_EINVAL instead
 * of exiting; the handle is then unusable except for pv_pcilib_close().
 */
int pv_pcilib_open(const char *sysfs_bus_pci, const char *ids_path, const struct pv_log *log,
                   struct pv_pcilib **ret, struct pv_error *err);
void pv_pcilib_close(struct pv_pcilib *p);

/* Look up names; fails only on a fatal libpci error or out of memory. */
int pv_pcilib_names(struct pv_pcilib *p, uint16_t vendor, uint16_t device, bool has_subsystem, uint16_t sub_vendor,
                    uint16_t sub_device, uint32_t class_code, struct pv_pci_names *ret, struct pv_error *err);
void pv_pci_names_done(struct pv_pci_names *n);

/* Parse config-space capabilities of one function (ret->known = false when config is unreadable). */
int pv_pcilib_caps(struct pv_pcilib *p, const struct pv_pci_addr *addr, struct pv_pci_caps *ret, struct pv_error *err);

/* Enumerate with libpci's own sysfs scan (strict like lspci); returns addresses sorted. For cross-checks. */
int pv_pcilib_scan(struct pv_pcilib *p, struct pv_pci_addr **ret, size_t *ret_n, struct pv_error *err);

#endif
