/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fixtures of the VM/mapping planner tests (test_vmplan*.c; tests/unit/CMakeLists.txt
 * links vmplan_fixture.c into each of them).
 *
 * Profiles are built as plain structs (strings borrowed from literals; the
 * planner never frees them). Observed state is built with the helpers below
 * and freed with pv_observed_done(). sim_apply() plays Proxmox: it applies a
 * plan to the observed state the way the API would store it (generated MAC
 * addresses, allocated disk volumes with size=, extra keys such as vmgenid),
 * so "apply, then plan again" must give zero actions.
 */
#ifndef PVFIO_TESTS_UNIT_VMPLAN_FIXTURE_H
#define PVFIO_TESTS_UNIT_VMPLAN_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pvfio/hostpci.h"
#include "pvfio/vmplan.h"

/* The GPU workstation used by several tests. */
struct ws {
        struct pv_profile p;
        struct pv_vm vm;
        struct pv_mapping map;
        struct pv_map_entry entry;
        struct pv_pci_addr entry_path, audio;
        struct pv_pcidev pci[2];
        struct pv_disk disk;
        struct pv_net net;
        char *tags[3];
        char *flags[3];
        struct pv_observed o;
};

/* observed builders */
char *S(const char *s);
void add_node(struct pv_observed *o, const char *node, const char *status);
void add_vm(struct pv_observed *o, uint32_t vmid, const char *node, const char *name, const char *status,
            const char *tags);
struct pv_vm_info *find_vm(struct pv_observed *o, uint32_t vmid);
struct pv_vm_config *find_cfg(struct pv_observed *o, uint32_t vmid);
struct pv_vm_config *add_cfg(struct pv_observed *o, uint32_t vmid, const char *node);
void cfg_set(struct pv_observed *o, uint32_t vmid, const char *key, const char *value);
size_t add_hw(struct pv_observed *o, const char *node);
struct pv_pci_addr A(const char *s);
void hw_dev(struct pv_observed *o, size_t h, const char *addr, const char *id, const char *subsys, int group,
            bool mdev, const char *physfn);
void hw_mdev(struct pv_observed *o, size_t h, const char *addr, const char *type, int available);
struct pv_obs_mapping *add_mapping(struct pv_observed *o, const char *id, const char *desc, const char *digest);
void mapping_add_map(struct pv_obs_mapping *m, const char *entry);
void mapping_add_check(struct pv_obs_mapping *m, const char *sev, const char *msg);
void add_pending(struct pv_observed *o, uint32_t vmid, const char *key, const char *value, const char *pending,
                 int del);

/* profile builders */
void vm_init(struct pv_vm *vm, const char *name, const char *node);
struct pv_pcidev pci_mapping(const char *id);
struct pv_pcidev pci_raw(struct pv_pci_addr *addrs, size_t n);
struct pv_pcidev pci_vf(const char *pf);
void root_password(struct pv_profile *p);

/* plan helpers */
struct pv_plan build(const struct pv_profile *p, const struct pv_observed *o, const struct pv_vm_plan_opts *opts);
size_t count_kind(const struct pv_plan *p, enum pv_action_kind k);
const struct pv_action *find_act(const struct pv_plan *p, enum pv_action_kind k, const char *target);
const struct pv_key_change *find_key(const struct pv_action *a, const char *key);
const char *key_after(const struct pv_action *a, const char *key);
bool notes_have(char **v, size_t n, const char *part);
char *dump(const struct pv_plan *p);
void expect_no_actions(const struct pv_plan *p);

/* Proxmox simulator */
uint32_t sim_apply(struct pv_observed *o, const struct pv_plan *p, uint32_t *next_vmid);

/* fixtures */
void ws_setup(struct ws *w);
uint32_t ws_converge(struct ws *w);

#endif
