/* SPDX-License-Identifier: GPL-2.0-or-later */
/* PCI identifiers shared by every layer: addresses and vendor:device pairs. */
#ifndef PVFIO_PCI_H
#define PVFIO_PCI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pvfio/error.h"

#define PV_PCI_FUNC_ALL 0xff   /* `func` value meaning "all functions" (0000:01:00) */

/* A PCI address. domain_given/func == PV_PCI_FUNC_ALL keep what was written. */
struct pv_pci_addr {
        uint32_t domain;    /* 0..0xffff (Proxmox accepts 4+ hex digits) */
        uint8_t bus;
        uint8_t dev;        /* 0..0x1f */
        uint8_t func;       /* 0..7, or PV_PCI_FUNC_ALL */
        bool domain_given;  /* false for "01:00.0" (domain 0 implied) */
};

/* A vendor:device (or subsystem vendor:device) pair. */
struct pv_pci_id {
        uint16_t vendor;
        uint16_t device;
};

/* A mediated-device (mdev/vGPU) type: classic mdev_supported_types/<type>/ as the
 * host scan reads it, or an entry of GET /nodes/{node}/hardware/pci/{id}/mdev. */
struct pv_mdev_type {
        char *type;              /* "i915-GVTg_V5_4", "nvidia-660" */
        char *name;              /* `name` file / API name, or NULL */
        char *description;       /* may span lines, or NULL */
        char *device_api;        /* `device_api` file ("vfio-pci"), or NULL (not in the API) */
        int available;           /* available instances; -1 when unreadable */
};

/* Free the members of an mdev type (NULL-safe). */
void pv_mdev_type_done(struct pv_mdev_type *t);

/* Longest formatted address "ffffffff:ff:1f.7" + NUL. */
#define PV_PCI_ADDR_MAX 18

/* Parse "[DDDD:]BB:DD[.F]" (hex, either case). Returns 0 or -PV_EINVAL; out only on success. */
int pv_pci_addr_parse(const char *s, struct pv_pci_addr *ret, struct pv_error *err);
/* Format with domain, lower-case: "0000:01:00.0" or "0000:01:00" for all functions. */
void pv_pci_addr_format(const struct pv_pci_addr *a, char out[static PV_PCI_ADDR_MAX]);
/* Format as Proxmox writes it when the domain was omitted ("01:00.0"), else like pv_pci_addr_format. */
void pv_pci_addr_format_short(const struct pv_pci_addr *a, char out[static PV_PCI_ADDR_MAX]);
/* Same device and function (domain-insensitive to "given"; FUNC_ALL matches only FUNC_ALL). */
bool pv_pci_addr_equal(const struct pv_pci_addr *a, const struct pv_pci_addr *b);
/* Same slot (domain, bus, dev), ignoring the function. */
bool pv_pci_addr_same_slot(const struct pv_pci_addr *a, const struct pv_pci_addr *b);
/* sel names dev: the same slot, and sel is the whole device (PV_PCI_FUNC_ALL) or dev's function. */
bool pv_pci_addr_covers(const struct pv_pci_addr *sel, const struct pv_pci_addr *dev);
/* a and b name at least one common function: the same slot, and the same function or either is the whole device. */
bool pv_pci_addr_overlap(const struct pv_pci_addr *a, const struct pv_pci_addr *b);
/* The first address of a[0..na) that overlaps one of b[0..nb) (pv_pci_addr_overlap), or NULL. */
const struct pv_pci_addr *pv_pci_addrs_overlap(const struct pv_pci_addr *a, size_t na, const struct pv_pci_addr *b,
                                               size_t nb);
/* Order by domain, bus, dev, func (for qsort). */
int pv_pci_addr_cmp(const struct pv_pci_addr *a, const struct pv_pci_addr *b);

/* Parse "vvvv:dddd" (exactly 4+4 hex digits, either case). */
int pv_pci_id_parse(const char *s, struct pv_pci_id *ret, struct pv_error *err);
/* Format as lower-case "vvvv:dddd" (10 bytes incl. NUL). */
void pv_pci_id_format(const struct pv_pci_id *id, char out[static 10]);

#endif
