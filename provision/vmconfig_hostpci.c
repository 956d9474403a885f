/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Desired VM → Proxmox config keys: the hostpciN devices of a VM. Slots are
 * kept stable, raw devices, mappings and VF pools are resolved against the
 * observed hardware and the claims of the plan, and what cannot be passed is
 * blocked with the reason. Pure.
 */
#include "pvfio/vmplan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pvfio/buf.h"
#include "pvfio/cleanup.h"
#include "pvfio/hostpci.h"
#include "pvfio/xalloc.h"
#include "vmconfig_int.h"

/* ------------------------------------------------------------- hostpci */

/* One profile pci entry being resolved. */
struct slotted {
        const struct pv_pcidev *dev;
        struct pv_hostpci hp;           /* desired value (host filled for VF_POOL once chosen) */
        int slot;
        bool ok;                        /* resolved; false = skipped (blocked) */
};

/* Index every host= address of the observed configs (once per plan and observed state). */
void pvc_index_used(struct pv_claims *c, const struct pv_observed *o) {
        if (!c || !o || c->indexed == o)
                return;
        free(c->used);
        c->used = NULL;
        c->n_used = 0;
        size_t alloc = 0;
        for (size_t i = 0; i < o->n_configs; i++) {
                const struct pv_vm_config *cfg = &o->configs[i];
                for (size_t k = 0; cfg->node && k < cfg->n; k++) {
                        if (pvc_key_index(cfg->kv[k].key, "hostpci", 15) < 0)
                                continue;
                        struct pv_hostpci h = PV_HOSTPCI_INIT;
                        if (pv_hostpci_parse(cfg->kv[k].value, &h, NULL) < 0)
                                continue;
                        for (size_t j = 0; j < h.n_host; j++) {
                                if (c->n_used == alloc) {
                                        alloc = alloc ? alloc * 2 : 64;
                                        c->used = pv_xreallocarray(c->used, alloc, sizeof *c->used);
                                }
                                c->used[c->n_used++] = (struct pv_used){ cfg->node, h.host[j], cfg->vmid };
                        }
                        pv_hostpci_done(&h);
                }
        }
        c->indexed = o;
}

/* Is `a` passed (host=) by another VM on `node`? Fills *who with its vmid. */
static bool used_by_other_vm(const struct xlate *x, const char *node, const struct pv_pci_addr *a, uint32_t *who) {
        const struct pv_observed *o = x->ctx->obs;
        const struct pv_claims *cl = x->ctx->claims;
        if (cl && o && cl->indexed == o) {
                for (size_t i = 0; i < cl->n_used; i++)
                        if (cl->used[i].vmid != x->ctx->vmid && pv_pci_addr_overlap(&cl->used[i].addr, a) &&
                            strcmp(cl->used[i].node, node) == 0) {
                                *who = cl->used[i].vmid;
                                return true;
                        }
                return false;
        }
        for (size_t i = 0; o && i < o->n_configs; i++) {
                const struct pv_vm_config *c = &o->configs[i];
                if (c->vmid == x->ctx->vmid || !c->node || strcmp(c->node, node) != 0)
                        continue;
                for (size_t k = 0; k < c->n; k++) {
                        if (pvc_key_index(c->kv[k].key, "hostpci", 15) < 0)
                                continue;
                        struct pv_hostpci h = PV_HOSTPCI_INIT;
                        if (pv_hostpci_parse(c->kv[k].value, &h, NULL) < 0)
                                continue;
                        bool hit = pv_pci_addrs_overlap(h.host, h.n_host, a, 1) != NULL;
                        pv_hostpci_done(&h);
                        if (hit) {
                                *who = c->vmid;
                                return true;
                        }
                }
        }
        return false;
}

static const struct pv_mdev_type *mdev_type(const struct pv_node_hw *hw, const struct pv_pci_addr *a, const char *type,
                                            bool *known) {
        const struct pv_node_mdev *m = pv_node_hw_mdev(hw, a);
        *known = m != NULL;
        for (size_t i = 0; m && i < m->n_types; i++)
                if (strcmp(m->types[i].type, type) == 0)
                        return &m->types[i];
        return NULL;
}

static bool is_vf_of(const struct pv_node_hw *hw, const struct pv_pci_addr *a, const struct pv_pci_addr *pf) {
        const struct pv_hw_pci *d = pv_node_hw_find(hw, a);
        return d && d->is_vf && pv_pci_addr_equal(&d->physfn, pf);
}

/* Does this VM's observed config already hold `h`'s device with the same mdev type? */
static bool held_by_this_vm(const struct xlate *x, const struct pv_hostpci *h) {
        const struct pv_vm_config *c = x->ctx->current;
        for (size_t k = 0; c && k < c->n; k++) {
                if (pvc_key_index(c->kv[k].key, "hostpci", 15) < 0)
                        continue;
                struct pv_hostpci o = PV_HOSTPCI_INIT;
                if (pv_hostpci_parse(c->kv[k].value, &o, NULL) < 0)
                        continue;
                bool same = pv_hostpci_same_device(&o, h) && pvc_str_eq(o.mdev, h->mdev);
                pv_hostpci_done(&o);
                if (same)
                        return true;
        }
        return false;
}

/* Map entries of mapping `id` for `node`: profile first, else the observed mapping (parsed into *owned). */
static void mapping_entries(const struct xlate *x, const char *id, const char *node, const struct pv_map_entry ***ret,
                            size_t *ret_n, struct pv_map_entry **owned, size_t *n_owned, bool *found) {
        const struct pv_profile *p = x->ctx->profile;
        const struct pv_mapping *pm = NULL;
        *ret = NULL;
        *ret_n = 0;
        *owned = NULL;
        *n_owned = 0;
        *found = false;
        for (size_t i = 0; p && i < p->n_mappings; i++)
                if (strcmp(p->mappings[i].id, id) == 0)
                        pm = &p->mappings[i];
        const struct pv_obs_mapping *om = pm || !x->ctx->obs ? NULL : pv_observed_mapping(x->ctx->obs, id);
        if (!pm && !om)
                return;
        *found = true;
        size_t n = pm ? pm->n_map : om->n_map;
        const struct pv_map_entry **v = pv_xcalloc(n ? n : 1, sizeof *v);
        struct pv_map_entry *own = om ? pv_xcalloc(n ? n : 1, sizeof *own) : NULL;
        size_t k = 0, no = 0;
        for (size_t i = 0; i < n; i++) {
                const struct pv_map_entry *e = NULL;
                if (pm) {
                        e = &pm->map[i];
                } else if (pv_mapentry_parse(om->map[i], &own[no], NULL) == 0) {
                        e = &own[no++];
                }
                if (e && e->node && strcmp(e->node, node) == 0)
                        v[k++] = e;
        }
        *ret = v;
        *ret_n = k;
        *owned = own;
        *n_owned = no;
}

static void free_owned(const struct pv_map_entry **v, struct pv_map_entry *own, size_t n_own) {
        for (size_t i = 0; i < n_own; i++)
                pv_mapentry_done(&own[i]);
        free(own);
        free(v);
}

/* The reason a device set is not ready on this node, or NULL (borrowed from the facts). */
static const char *not_ready(const struct xlate *x, const struct pv_pci_addr *addrs, size_t n, bool binding_matters,
                             const struct pv_pci_addr **which) {
        const struct pv_node_readiness *rd = x->ctx->ready;
        if (!rd)
                return NULL;
        for (size_t i = 0; i < n; i++)
                for (size_t f = 0; f < rd->n_devs; f++) {
                        const struct pv_device_not_ready *d = &rd->devs[f];
                        if (d->kind == PV_NOT_READY_BINDING && !binding_matters)
                                continue;
                        if (pv_pci_addr_overlap(&d->addr, &addrs[i])) {
                                *which = &addrs[i];
                                return d->reason ? d->reason : "not ready";
                        }
                }
        return NULL;
}

static int check_ready(struct xlate *x, struct slotted *s, const struct pv_pci_addr *addrs, size_t n,
                           struct pv_error *err) {
        const struct pv_pcidev *d = s->dev;
        bool binding = !d->mdev && d->driver != PV_DRIVER_KEEP;
        const struct pv_pci_addr *which = NULL;
        const char *why = not_ready(x, addrs, n, binding, &which);
        if (!why)
                return 0;
        char a[PV_PCI_ADDR_MAX];
        pv_pci_addr_format(which, a);
        return BLOCK(x, err, "hostpci%d: device %s on '%s' is not ready: %s", s->slot, a, x->vm->node, why);
}

/* mdev type present with an instance free (or held by this VM already); claims one. */
static int check_mdev(struct xlate *x, struct slotted *s, const struct pv_pci_addr *cands, size_t n,
                          struct pv_error *err) {
        const char *type = s->dev->mdev;
        const char *node = x->vm->node;
        if (!type)
                return 0;
        if (held_by_this_vm(x, &s->hp))
                return 0;
        if (!x->hw)
                return WARN(x, err, "hostpci%d: hardware of node '%s' was not observed; mdev type '%s' not checked",
                            s->slot, node, type);
        bool any_known = false, any_type = false;
        for (size_t i = 0; i < n; i++) {
                bool known;
                const struct pv_mdev_type *t = mdev_type(x->hw, &cands[i], type, &known);
                any_known |= known;
                if (!t)
                        continue;
                any_type = true;
                if (t->available < 0) {
                        char u[PV_PCI_ADDR_MAX];
                        pv_pci_addr_format(&cands[i], u);
                        return WARN(x, err, "hostpci%d: free instances of mdev type '%s' on %s on '%s' are unknown; not checked",
                                    s->slot, type, u, node);
                }
                if (t->available - pvc_claim_count(x->ctx->claims, node, &cands[i], type) >= 1)
                        return pvc_claim_add(x->ctx->claims, node, &cands[i], type, err);
        }
        char a[PV_PCI_ADDR_MAX];
        pv_pci_addr_format(&cands[0], a);
        if (!any_known)
                return WARN(x, err, "hostpci%d: mdev types of %s on '%s' were not observed; '%s' not checked", s->slot,
                            a, node, type);
        if (!any_type) {
                _cleanup_buf_ struct pv_buf offered = PV_BUF_INIT;
                for (size_t i = 0; i < n; i++) {
                        const struct pv_node_mdev *m = pv_node_hw_mdev(x->hw, &cands[i]);
                        for (size_t k = 0; m && k < m->n_types; k++)
                                pv_buf_addf(&offered, NULL, "%s'%s'", offered.len ? ", " : "", m->types[k].type);
                }
                return BLOCK(x, err, "hostpci%d: mdev type '%s' is not offered by %s on '%s' (offered: %s)", s->slot,
                             type, a, node, offered.len ? offered.buf : "none");
        }
        return BLOCK(x, err, "hostpci%d: no instance of mdev type '%s' is free on %s on '%s'", s->slot, type, a, node);
}

static int resolve_raw(struct xlate *x, struct slotted *s, struct pv_error *err) {
        const struct pv_pcidev *d = s->dev;
        int r = 0;
        if (x->hw) {
                for (size_t i = 0; r == 0 && i < d->n_addrs; i++) {
                        bool found = false;
                        for (size_t k = 0; k < x->hw->n_devs && !found; k++)
                                found = pv_pci_addr_overlap(&d->addrs[i], &x->hw->devs[k].addr);
                        if (!found) {
                                char a[PV_PCI_ADDR_MAX];
                                pv_pci_addr_format(&d->addrs[i], a);
                                r = BLOCK(x, err, "hostpci%d: device %s does not exist on node '%s'", s->slot, a,
                                          x->vm->node);
                        }
                }
        }
        if (r == 0 && d->mdev && d->n_addrs == 1)
                r = check_mdev(x, s, d->addrs, 1, err);
        if (r == 0)
                r = check_ready(x, s, d->addrs, d->n_addrs, err);
        return r;
}

static int resolve_mapping(struct xlate *x, struct slotted *s, struct pv_error *err) {
        const struct pv_map_entry **v;
        struct pv_map_entry *own;
        size_t n, n_own;
        bool found;
        int r;
        mapping_entries(x, s->dev->mapping, x->vm->node, &v, &n, &own, &n_own, &found);
        if (!found) {
                r = BLOCK(x, err, "hostpci%d: mapping '%s' does not exist in the profile or on the cluster", s->slot,
                          s->dev->mapping);
                goto out;
        }
        r = pv_strv_contains(&x->out.mappings, s->dev->mapping) ? 0
                                                                 : pv_strv_push(&x->out.mappings, s->dev->mapping, err);
        if (r < 0)
                goto out;
        if (n == 0) {
                r = BLOCK(x, err, "hostpci%d: mapping '%s' has no entry for node '%s'", s->slot, s->dev->mapping,
                          x->vm->node);
                goto out;
        }
        if (s->dev->mdev) {
                /* candidates: single-device entries (Proxmox skips ';' paths for mdev) */
                struct pv_pci_addr *c = pv_xcalloc(n, sizeof *c);
                size_t nc = 0;
                for (size_t i = 0; i < n; i++)
                        if (v[i]->n_paths == 1)
                                c[nc++] = v[i]->paths[0];
                if (nc)
                        r = check_mdev(x, s, c, nc, err);
                free(c);
                if (r < 0)
                        goto out;
        }
        if (x->ctx->ready && x->ctx->ready->n_devs) {
                /* blocked only when no alternative is ready */
                const char *why = NULL;
                const struct pv_pci_addr *which = NULL;
                bool binding = !s->dev->mdev && s->dev->driver != PV_DRIVER_KEEP;
                size_t ready = 0;
                for (size_t i = 0; i < n; i++) {
                        const struct pv_pci_addr *w = NULL;
                        const char *y = not_ready(x, v[i]->paths, v[i]->n_paths, binding, &w);
                        if (!y)
                                ready++;
                        else if (!why) {
                                why = y;
                                which = w;
                        }
                }
                if (!ready && why) {
                        char a[PV_PCI_ADDR_MAX];
                        pv_pci_addr_format(which, a);
                        r = BLOCK(x, err, "hostpci%d: device %s of mapping '%s' on '%s' is not ready: %s", s->slot, a,
                                  s->dev->mapping, x->vm->node, why);
                }
        }
out:
        free_owned(v, own, n_own);
        return r;
}

/* Is VF `a` free for this VM entry: not used by another VM, not claimed, not taken by this VM's other entries. */
/*
 * Is `a` an entry (on `node`) of a cluster mapping that another running VM
 * uses? Proxmox hands such a VM the first free entry of the mapping when it
 * starts; which one is not in the config. Up to qemu-server 9.1.10 an NVIDIA
 * VF hosting a vGPU lists no types, from 9.1.11 (NVML on the physical
 * function) it lists the same types as a free one, and an SR-IOV VF never
 * says: so a VF of a mapping in use by a running VM is not handed out.
 */
static bool held_through_mapping(const struct xlate *x, const char *node, const struct pv_pci_addr *a) {
        const struct pv_observed *o = x->ctx->obs;
        for (size_t i = 0; o && i < o->n_vms; i++) {
                const struct pv_vm_info *v = &o->vms[i];
                if (v->vmid == x->ctx->vmid || !v->node || strcmp(v->node, node) != 0 || !v->status ||
                    strcmp(v->status, "running") != 0)
                        continue;
                const struct pv_vm_config *c = pv_observed_config(o, v->vmid);
                for (size_t k = 0; c && k < c->n; k++) {
                        struct pv_hostpci h = PV_HOSTPCI_INIT;
                        if (pvc_key_index(c->kv[k].key, "hostpci", 15) < 0 ||
                            pv_hostpci_parse(c->kv[k].value, &h, NULL) < 0)
                                continue;
                        const struct pv_obs_mapping *om = h.mapping ? pv_observed_mapping(o, h.mapping) : NULL;
                        bool hit = false;
                        for (size_t e = 0; om && !hit && e < om->n_map; e++) {
                                struct pv_map_entry me;
                                if (pv_mapentry_parse(om->map[e], &me, NULL) < 0)
                                        continue;
                                for (size_t p = 0; me.node && strcmp(me.node, node) == 0 && !hit && p < me.n_paths; p++)
                                        hit = pv_pci_addr_overlap(&me.paths[p], a);
                                pv_mapentry_done(&me);
                        }
                        pv_hostpci_done(&h);
                        if (hit)
                                return true;
                }
        }
        return false;
}

static bool vf_free(const struct xlate *x, const struct slotted *all, size_t n_all, const struct slotted *self,
                    const struct pv_pci_addr *a) {
        uint32_t who;
        if (used_by_other_vm(x, x->vm->node, a, &who) || held_through_mapping(x, x->vm->node, a))
                return false;
        if (pvc_claim_count(x->ctx->claims, x->vm->node, a, NULL) > 0)
                return false;
        for (size_t i = 0; i < n_all; i++) {
                if (&all[i] == self || !all[i].ok)
                        continue;
                if (pv_pci_addrs_overlap(all[i].hp.host, all[i].hp.n_host, a, 1))
                        return false;
        }
        return true;
}

static bool vf_mdev_ok(const struct xlate *x, const struct pv_pci_addr *a, const char *type) {
        bool known;
        if (!type)
                return true;
        const struct pv_mdev_type *t = mdev_type(x->hw, a, type, &known);
        return t && (t->available < 0 || t->available - pvc_claim_count(x->ctx->claims, x->vm->node, a, type) >= 1);
}

static void set_host(struct pv_hostpci *h, const struct pv_pci_addr *a) {
        free(h->host);
        h->host = pv_xmalloc(sizeof *h->host);
        h->host[0] = *a;
        h->n_host = 1;
}

static int resolve_vf(struct xlate *x, struct slotted *all, size_t n_all, struct slotted *s,
                      const struct pv_hostpci *obs, const bool *obs_ok, struct pv_error *err) {
        const struct pv_pcidev *d = s->dev;
        char pf[PV_PCI_ADDR_MAX];
        pv_pci_addr_format(&d->vf_pf, pf);
        if (!x->hw)
                return BLOCK(x, err, "hostpci%d: hardware of node '%s' was not observed; cannot pick a VF of %s",
                             s->slot, x->vm->node, pf);
        /* stable: keep a VF of this PF the VM already has, in this slot first, else in any slot */
        const struct pv_pci_addr *keep = NULL;
        for (int pass = 0; pass < 2 && !keep; pass++)
                for (int k = 0; k < PV_MAX_HOSTPCI && !keep; k++) {
                        if ((pass == 0) != (k == s->slot) || !obs_ok[k] || obs[k].n_host != 1 || obs[k].mapping)
                                continue;
                        if (is_vf_of(x->hw, &obs[k].host[0], &d->vf_pf) && vf_free(x, all, n_all, s, &obs[k].host[0]))
                                keep = &obs[k].host[0];
                }
        if (keep) {
                set_host(&s->hp, keep);
                int r = pvc_claim_add(x->ctx->claims, x->vm->node, keep, NULL, err);
                if (r == 0 && d->mdev)
                        r = check_mdev(x, s, keep, 1, err);
                if (r == 0)
                        r = check_ready(x, s, keep, 1, err);
                return r;
        }
        size_t n_vfs = 0;
        for (size_t i = 0; i < x->hw->n_devs; i++) {
                const struct pv_hw_pci *h = &x->hw->devs[i];
                if (!h->is_vf || !pv_pci_addr_equal(&h->physfn, &d->vf_pf))
                        continue;
                n_vfs++;
                if (!vf_free(x, all, n_all, s, &h->addr) || !vf_mdev_ok(x, &h->addr, d->mdev))
                        continue;
                set_host(&s->hp, &h->addr);
                int r = pvc_claim_add(x->ctx->claims, x->vm->node, &h->addr, NULL, err);
                if (r == 0 && d->mdev)
                        r = check_mdev(x, s, &h->addr, 1, err);
                if (r == 0)
                        r = check_ready(x, s, &h->addr, 1, err);
                return r;
        }
        s->ok = false;
        if (!n_vfs)
                return BLOCK(x, err, "hostpci%d: %s on '%s' has no SR-IOV virtual functions (set sriov vfs on the host)",
                             s->slot, pf, x->vm->node);
        if (d->mdev)
                return BLOCK(x, err, "hostpci%d: no free VF of %s on '%s' offers mdev type '%s' (%zu VFs, all in use or without it)",
                             s->slot, pf, x->vm->node, d->mdev, n_vfs);
        return BLOCK(x, err, "hostpci%d: all %zu VFs of %s on '%s' are used by other VMs", s->slot, n_vfs, pf,
                     x->vm->node);
}

static void build_hostpci(const struct pv_pcidev *d, struct pv_hostpci *h) {
        *h = (struct pv_hostpci)PV_HOSTPCI_INIT;
        if (d->kind == PV_PCIDEV_RAW && d->n_addrs) {
                h->host = pv_xcalloc(d->n_addrs, sizeof *h->host);
                memcpy(h->host, d->addrs, d->n_addrs * sizeof *h->host);
                h->n_host = d->n_addrs;
        }
        if (d->kind == PV_PCIDEV_MAPPING)
                h->mapping = pv_xstrdup(d->mapping);
        h->mdev = pv_xstrdup(d->mdev);
        h->romfile = pv_xstrdup(d->romfile);
        h->pcie = d->pcie;
        h->x_vga = d->primary;
        h->rombar = d->rombar;
        h->legacy_igd = d->legacy_igd;
        h->driver = d->driver;
        h->has_vendor_id = d->has_vendor_id, h->vendor_id = d->vendor_id;
        h->has_device_id = d->has_device_id, h->device_id = d->device_id;
        h->has_sub_vendor_id = d->has_sub_vendor_id, h->sub_vendor_id = d->sub_vendor_id;
        h->has_sub_device_id = d->has_sub_device_id, h->sub_device_id = d->sub_device_id;
}

/* Does observed entry `o` identify the device of profile entry `d`? */
static bool same_identity(const struct xlate *x, const struct pv_pcidev *d, const struct pv_hostpci *want,
                          const struct pv_hostpci *o) {
        if (d->kind == PV_PCIDEV_VF_POOL)
                return x->hw && o->n_host == 1 && !o->mapping && is_vf_of(x->hw, &o->host[0], &d->vf_pf);
        return pv_hostpci_same_device(want, o);
}

int pvc_xl_hostpci(struct xlate *x, struct pv_error *err) {
        const struct pv_vm *vm = x->vm;
        struct pv_hostpci obs[PV_MAX_HOSTPCI];
        bool obs_ok[PV_MAX_HOSTPCI] = { false }, taken[PV_MAX_HOSTPCI] = { false };
        int r = 0;
        if (vm->n_pci == 0)
                return 0;
        if (vm->n_pci > PV_MAX_HOSTPCI)
                return BLOCK(x, err, "%zu PCI devices; Proxmox allows at most %d", vm->n_pci, PV_MAX_HOSTPCI);
        for (int i = 0; i < PV_MAX_HOSTPCI; i++) {
                char key[16];
                snprintf(key, sizeof key, "hostpci%d", i);
                obs[i] = (struct pv_hostpci)PV_HOSTPCI_INIT;
                const char *v = pvc_cur(x, key);
                obs_ok[i] = v && pv_hostpci_parse(v, &obs[i], NULL) == 0;
        }
        struct slotted *s = pv_xcalloc(vm->n_pci, sizeof *s);
        for (size_t i = 0; i < vm->n_pci; i++) {
                s[i].dev = &vm->pci[i];
                s[i].slot = -1;
                s[i].ok = true;
                build_hostpci(&vm->pci[i], &s[i].hp);
        }
        /* 1. explicit slots */
        for (size_t i = 0; r == 0 && i < vm->n_pci; i++) {
                int sl = vm->pci[i].slot;
                if (sl < 0)
                        continue;
                if (sl >= PV_MAX_HOSTPCI || taken[sl]) {
                        r = BLOCK(x, err, "pci slot %d is %s", sl, sl >= PV_MAX_HOSTPCI ? "out of range" : "used twice");
                        s[i].ok = false;
                        continue;
                }
                taken[sl] = true;
                s[i].slot = sl;
        }
        /* 2. keep the index the device already has */
        for (size_t i = 0; r == 0 && i < vm->n_pci; i++) {
                if (s[i].slot >= 0 || !s[i].ok)
                        continue;
                for (int k = 0; k < PV_MAX_HOSTPCI; k++)
                        if (!taken[k] && obs_ok[k] && same_identity(x, s[i].dev, &s[i].hp, &obs[k])) {
                                taken[k] = true;
                                s[i].slot = k;
                                break;
                        }
        }
        /* 3. lowest free index */
        for (size_t i = 0; r == 0 && i < vm->n_pci; i++) {
                if (s[i].slot >= 0 || !s[i].ok)
                        continue;
                for (int k = 0; k < PV_MAX_HOSTPCI && s[i].slot < 0; k++)
                        if (!taken[k]) {
                                taken[k] = true;
                                s[i].slot = k;
                        }
        }
        /* resolve devices in slot order (deterministic VF choice) */
        for (int k = 0; r == 0 && k < PV_MAX_HOSTPCI; k++) {
                for (size_t i = 0; r == 0 && i < vm->n_pci; i++) {
                        if (s[i].slot != k || !s[i].ok)
                                continue;
                        switch (s[i].dev->kind) {
                        case PV_PCIDEV_RAW:
                                r = resolve_raw(x, &s[i], err);
                                break;
                        case PV_PCIDEV_MAPPING:
                                r = resolve_mapping(x, &s[i], err);
                                break;
                        case PV_PCIDEV_VF_POOL:
                                r = resolve_vf(x, s, vm->n_pci, &s[i], obs, obs_ok, err);
                                break;
                        }
                }
        }
        if (r == 0 && x->ctx->ready && x->ctx->ready->all_devices)
                r = BLOCK(x, err, "node '%s': %s", vm->node, x->ctx->ready->all_devices);
        for (int k = 0; r == 0 && k < PV_MAX_HOSTPCI; k++)
                for (size_t i = 0; r == 0 && i < vm->n_pci; i++) {
                        if (s[i].slot != k || !s[i].ok || (!s[i].hp.n_host && !s[i].hp.mapping))
                                continue;
                        char key[16], *v = NULL;
                        snprintf(key, sizeof key, "hostpci%d", k);
                        if ((r = pv_hostpci_format(&s[i].hp, &v, err)) == 0)
                                r = pvc_kvb_take(&x->kv, key, v, err);
                }
        for (size_t i = 0; i < vm->n_pci; i++)
                pv_hostpci_done(&s[i].hp);
        free(s);
        for (int i = 0; i < PV_MAX_HOSTPCI; i++)
                pv_hostpci_done(&obs[i]);
        return r;
}
