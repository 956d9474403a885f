/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Proxmox property strings pvfio reads and writes: the generic
 * `key=value,…` tokenizer, the `hostpciN` value (format pve-qm-hostpci) and
 * the cluster PCI mapping `map` entry (provision/pci_propstr.c).
 *
 * Parsing follows PVE::JSONSchema::parse_property_string: the value is split
 * on ',' only, blank parts are skipped, `k=v` needs a non-empty key and
 * value, a part without '=' is the default key's value, duplicate keys and
 * unknown keys are errors, booleans accept 1/0/on/off/yes/no/true/false in
 * any case. Values are then checked against the format's patterns (the PCI
 * address pattern of hostpci takes lower-case hex only, like Proxmox).
 *
 * Printing is canonical: the default key first without `key=`, then the
 * other keys in Proxmox's (alphabetical) order, booleans as 1/0, keys at
 * their default value omitted, hex in lower case, PCI addresses with the
 * domain. Comparison is by meaning (see pv_hostpci_equal), so a value
 * written by hand, by the GUI or by another tool never shows a phantom diff.
 *
 * Ownership: parse functions fill a caller-provided struct only on success;
 * the matching *_done() frees its members (NULL-safe). Format functions
 * return a malloc()ed string in *ret on success.
 */
#ifndef PVFIO_HOSTPCI_H
#define PVFIO_HOSTPCI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pvfio/error.h"
#include "pvfio/pci.h"
#include "pvfio/profile.h"

/* ------------------------------------------------------ property strings */

/* One `key=value` part; key is NULL for the value given without a key. */
struct pv_prop {
        char *key;
        char *value;
};

/* A tokenized property string, parts in the order written. */
struct pv_props {
        struct pv_prop *v;
        size_t n;
};

/*
 * Split a property string. `has_default_key` says whether the format has a
 * default key (a part without '=' is then its value, stored with key NULL).
 * Errors (-PV_EINVAL) as Proxmox: duplicate key, missing key ("=x", "k="),
 * value without key when the format has no default key. Keys are not
 * checked against any format here.
 */
int pv_props_parse(const char *s, bool has_default_key, struct pv_props *ret, struct pv_error *err);
/* The value of `key` (NULL = the default key's value), or NULL when absent. Borrowed. */
const char *pv_props_get(const struct pv_props *p, const char *key);
void pv_props_done(struct pv_props *p);

/* Parse a Proxmox boolean (1/0/on/off/yes/no/true/false, any case): 1, 0, or -1 if not a boolean. */
int pv_parse_bool(const char *s);

/* ---------------------------------------------------------------- hostpci */

/* A parsed hostpciN value. Unset optional keys keep Proxmox's default. */
struct pv_hostpci {
        struct pv_pci_addr *host;       /* host= devices in order (domain_given kept); NULL with mapping */
        size_t n_host;
        char *mapping;                  /* mapping= id, or NULL */
        char *mdev;                     /* mdev= type, or NULL */
        int pcie, x_vga, rombar, legacy_igd; /* -1 = unset (defaults 0, 0, 1, 0), else 0/1 */
        char *romfile;                  /* or NULL */
        enum pv_driver_mode driver;     /* PV_DRIVER_DEFAULT = unset (= vfio) */
        bool has_vendor_id, has_device_id, has_sub_vendor_id, has_sub_device_id;
        uint16_t vendor_id, device_id, sub_vendor_id, sub_device_id;
};

#define PV_HOSTPCI_INIT { .pcie = -1, .x_vga = -1, .rombar = -1, .legacy_igd = -1 }

/*
 * Parse a hostpciN value. Accepts everything Proxmox's config update
 * accepts, except addresses no PCI device can have (device > 1f, function
 * > 7). Like Proxmox's schema check, having both or neither of host and
 * mapping is NOT a parse error (Proxmox rejects that only at VM start);
 * see pv_hostpci_check().
 */
int pv_hostpci_parse(const char *s, struct pv_hostpci *ret, struct pv_error *err);
/* The start-time rules that need no hardware: exactly one of host/mapping; no mdev with several devices. */
int pv_hostpci_check(const struct pv_hostpci *h, struct pv_error *err);
/*
 * Canonical form: host list first ("0000:01:00.0;0000:01:00.1", no `host=`),
 * then device-id, driver, legacy-igd, mapping, mdev, pcie, rombar, romfile,
 * sub-device-id, sub-vendor-id, vendor-id, x-vga; keys at their default
 * value (pcie=0, x-vga=0, legacy-igd=0, rombar=1, driver=vfio) omitted.
 */
int pv_hostpci_format(const struct pv_hostpci *h, char **ret, struct pv_error *err);
/*
 * Same meaning. Equivalent: key order, a missing domain and 0000, unset and
 * default values (rombar=1, pcie=0, x-vga=0, legacy-igd=0, driver=vfio),
 * boolean spellings, case of hex in ID overrides. Different: `01:00` (all
 * functions) and `01:00.0` (one function), the order of a `;` list (it sets
 * the guest function numbers), mapping ids, mdev types and romfile names
 * (compared exactly), any ID override set on one side only.
 */
bool pv_hostpci_equal(const struct pv_hostpci *a, const struct pv_hostpci *b);
/* Parse both and compare by meaning; a value that does not parse is equal only to the identical string. */
bool pv_hostpci_str_equal(const char *a, const char *b);
/* Same device (same mapping id, or the same host list), whatever the other options: used to keep slots stable. */
bool pv_hostpci_same_device(const struct pv_hostpci *a, const struct pv_hostpci *b);
void pv_hostpci_done(struct pv_hostpci *h);

/* ------------------------------------------------- mapping `map` entries */

/*
 * Parse one `map` entry of /cluster/mapping/pci into the profile's entry
 * struct: node=…,path=…,id=…[,subsystem-id=…][,iommugroup=…][,description=…].
 * node, path and id are required (as in Proxmox); path needs the domain
 * (`;` list allowed, function optional = whole device). loc is left zero.
 */
int pv_mapentry_parse(const char *s, struct pv_map_entry *ret, struct pv_error *err);
/*
 * Print in the order node, path, id, subsystem-id, iommugroup, description
 * (addresses with domain, IDs lower-case). Refuses an entry without node,
 * paths or id (Proxmox requires them). Description must not contain ',' .
 */
int pv_mapentry_format(const struct pv_map_entry *e, char **ret, struct pv_error *err);
/*
 * Same meaning: node, path list (in order; `01:00` ≠ `01:00.0`), id,
 * subsystem-id and iommugroup (unset only equals unset), description
 * (absent equals empty); key order and hex case do not matter.
 */
bool pv_mapentry_equal(const struct pv_map_entry *a, const struct pv_map_entry *b);
/* Free the members of an entry filled by pv_mapentry_parse (or built by hand with malloc). */
void pv_mapentry_done(struct pv_map_entry *e);

#endif
