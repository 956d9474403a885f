/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What a plan needs observed, decided from the profile alone (pure); api/observe.c reads it. */
#include <stdlib.h>
#include <string.h>

#include "pvfio/xalloc.h"
#include "pvfio/vmplan.h"

static int strv_add_unique(struct pv_strv *sv, const char *s, struct pv_error *err) {
        if (pv_strv_contains(sv, s))
                return 0;
        return pv_strv_push(sv, s, err);
}

/* Nodes whose hardware the plan needs: mapping entries, and VMs with raw / VF / mdev devices. */
static int collect_hw_nodes(const struct pv_profile *p, struct pv_observe_want *w, struct pv_error *err) {
        int r = 0;
        for (size_t i = 0; i < p->n_mappings && r >= 0; i++)
                for (size_t k = 0; k < p->mappings[i].n_map && r >= 0; k++)
                        r = strv_add_unique(&w->hw_nodes, p->mappings[i].map[k].node, err);
        for (size_t i = 0; i < p->n_vms && r >= 0; i++) {
                const struct pv_vm *v = &p->vms[i];
                for (size_t k = 0; k < v->n_pci && r >= 0; k++) {
                        const struct pv_pcidev *d = &v->pci[k];
                        if (d->kind == PV_PCIDEV_VF_POOL)
                                r = strv_add_unique(&w->vf_nodes, v->node, err);
                        if (r >= 0 && (d->kind != PV_PCIDEV_MAPPING || d->mdev))
                                r = strv_add_unique(&w->hw_nodes, v->node, err);
                }
        }
        return r;
}

/* Addresses whose mdev types the plan needs on the VM's node, from the profile and the hardware read. */
static void mdev_addrs_for_vm(const struct pv_profile *p, const struct pv_observed *o, const struct pv_vm *v,
                              struct pv_pci_addr **addrs, size_t *n) {
        const struct pv_node_hw *hw = pv_observed_hw(o, v->node);
        for (size_t k = 0; k < v->n_pci; k++) {
                const struct pv_pcidev *d = &v->pci[k];
                if (!d->mdev)
                        continue;
                struct pv_pci_addr cand[64];
                size_t nc = 0;
                if (d->kind == PV_PCIDEV_RAW && d->n_addrs == 1) {
                        cand[nc++] = d->addrs[0];
                } else if (d->kind == PV_PCIDEV_VF_POOL && hw) {
                        for (size_t i = 0; i < hw->n_devs && nc < 64; i++)
                                if (hw->devs[i].is_vf && pv_pci_addr_equal(&hw->devs[i].physfn, &d->vf_pf))
                                        cand[nc++] = hw->devs[i].addr;
                } else if (d->kind == PV_PCIDEV_MAPPING) {
                        const struct pv_mapping *m = pv_profile_find_mapping(p, d->mapping);
                        for (size_t e = 0; m && e < m->n_map && nc < 64; e++)
                                if (strcmp(m->map[e].node, v->node) == 0 && m->map[e].n_paths == 1)
                                        cand[nc++] = m->map[e].paths[0];
                }
                for (size_t c = 0; c < nc; c++) {
                        if (cand[c].func == PV_PCI_FUNC_ALL)
                                continue;
                        cand[c].domain_given = true;
                        bool dup = false;
                        for (size_t i = 0; i < *n; i++)
                                dup = dup || pv_pci_addr_equal(&(*addrs)[i], &cand[c]);
                        if (dup)
                                continue;
                        struct pv_pci_addr *na = *addrs = pv_xreallocarray(*addrs, *n + 1, sizeof *na);
                        na[(*n)++] = cand[c];
                }
        }
}

/* The mdev types round: the devices the profile uses with `mdev:`, per node whose hardware was read. */
static int collect_mdev_wants(const void *ctx, const struct pv_observed *o, struct pv_mdev_want **ret,
                              size_t *ret_n, struct pv_error *err) {
        (void)err;      /* allocation does not fail (pvfio/xalloc.h) */
        const struct pv_profile *profile = ctx;
        struct pv_mdev_want *mreqs = NULL;
        size_t n_mreqs = 0;
        for (size_t i = 0; i < profile->n_vms; i++) {
                const struct pv_vm *v = &profile->vms[i];
                const struct pv_node_hw *hw = pv_observed_hw(o, v->node);
                if (!hw)
                        continue;
                struct pv_pci_addr *addrs = NULL;
                size_t na = 0;
                mdev_addrs_for_vm(profile, o, v, &addrs, &na);
                for (size_t k = 0; k < na; k++) {
                        size_t h = (size_t)(hw - o->hw);
                        bool dup = false;
                        for (size_t q = 0; q < n_mreqs; q++)
                                dup = dup || (mreqs[q].hw == h && pv_pci_addr_equal(&mreqs[q].addr, &addrs[k]));
                        if (dup)
                                continue;
                        mreqs = pv_xreallocarray(mreqs, n_mreqs + 1, sizeof *mreqs);
                        mreqs[n_mreqs++] = (struct pv_mdev_want){ h, addrs[k] };
                }
                free(addrs);
        }
        *ret = mreqs;
        *ret_n = n_mreqs;
        return 0;
}

/* Nodes whose mapping checks count: every node of a mapping entry, and the node of each VM using a mapping. */
static int collect_check_nodes(const struct pv_profile *p, struct pv_strv *nodes, struct pv_error *err) {
        int r = 0;
        for (size_t i = 0; i < p->n_mappings && r >= 0; i++)
                for (size_t k = 0; k < p->mappings[i].n_map && r >= 0; k++)
                        r = strv_add_unique(nodes, p->mappings[i].map[k].node, err);
        for (size_t i = 0; i < p->n_vms && r >= 0; i++)
                for (size_t k = 0; k < p->vms[i].n_pci && r >= 0; k++)
                        if (p->vms[i].pci[k].kind == PV_PCIDEV_MAPPING && p->vms[i].node)
                                r = strv_add_unique(nodes, p->vms[i].node, err);
        return r;
}

/*
 * Nodes whose versions the plan checks keys against: the nodes of the
 * profile's VMs and mapping entries (all of them get GET …/version), and the
 * VM nodes where a key depends on the qemu-server release (`driver`, and
 * `mdev`: where NVIDIA vGPU types come from), which get …/apt/versions too.
 */
static int collect_version_nodes(const struct pv_profile *p, struct pv_strv *nodes, struct pv_strv *qs_nodes,
                                 struct pv_error *err) {
        int r = 0;
        for (size_t i = 0; i < p->n_mappings && r >= 0; i++)
                for (size_t k = 0; k < p->mappings[i].n_map && r >= 0; k++)
                        r = strv_add_unique(nodes, p->mappings[i].map[k].node, err);
        for (size_t i = 0; i < p->n_vms && r >= 0; i++) {
                const struct pv_vm *v = &p->vms[i];
                if (!v->node || v->state == PV_STATE_ABSENT)
                        continue;
                r = strv_add_unique(nodes, v->node, err);
                for (size_t k = 0; k < v->n_pci && r >= 0; k++)
                        if (v->pci[k].driver != PV_DRIVER_DEFAULT || v->pci[k].mdev)
                                r = strv_add_unique(qs_nodes, v->node, err);
        }
        return r;
}

int pv_observe_want_from_profile(const struct pv_profile *profile, struct pv_observe_want *ret,
                                 struct pv_error *err) {
        struct pv_observe_want w = { .mdev_wants = collect_mdev_wants, .ctx = profile };
        int r = collect_hw_nodes(profile, &w, err);
        r = r < 0 ? r : collect_check_nodes(profile, &w.check_nodes, err);
        r = r < 0 ? r : collect_version_nodes(profile, &w.version_nodes, &w.qemu_server_nodes, err);
        r = r < 0 ? r : pv_usb_observe_want(profile, &w, err);
        /* the one key gated on the node answering the API: it writes the mapping file */
        for (size_t i = 0; i < profile->n_mappings; i++)
                w.api_version |= profile->mappings[i].live_migration_capable;
        for (size_t i = 0; i < profile->n_vms && r >= 0; i++)
                if (profile->vms[i].name)
                        r = strv_add_unique(&w.vm_names, profile->vms[i].name, err);
        if (r < 0) {
                pv_observe_want_done(&w);
                return r;
        }
        *ret = w;
        return 0;
}

bool pv_vm_maybe_ours(const void *profile, const struct pv_vm_info *v) {
        const struct pv_profile *p = profile;
        if (!v->lock)
                return false;
        /* a create in progress carries no name and no tags yet: it may be any profile VM */
        if (strcmp(v->lock, "create") == 0)
                return true;
        for (size_t i = 0; i < p->n_vms; i++) {
                if (p->vms[i].vmid && p->vms[i].vmid == v->vmid)
                        return true;
                if (v->name && p->vms[i].name && strcmp(p->vms[i].name, v->name) == 0)
                        return true;
        }
        return pv_tags_contain(v->tags, PV_MANAGED_TAG);
}
