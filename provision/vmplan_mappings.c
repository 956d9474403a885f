/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The mapping pass of the VM planner (see vmplan.c): each profile mapping
 * becomes a create or update of a Proxmox PCI resource mapping, checked
 * against the nodes' hardware and versions; managed mappings no longer in
 * the profile are reported or pruned (after the VM pass, which records the
 * ids the desired VMs keep using).
 */
#include "pvfio/xalloc.h"
#include "pvfio/vmplan.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pvfio/buf.h"
#include "pvfio/cleanup.h"
#include "pvfio/hostpci.h"
#include "pvfio/tags.h"
#include "vmplan_int.h"

/* The management marker in a mapping description ("… [pvfio]"). */
static char *marker(const struct planner *pl, struct pv_error *err) {
        return pvm_asp(err, "[%s]", pl->tag);
}

static bool desc_managed(const struct planner *pl, const char *desc) {
        _cleanup_free_ char *m = marker(pl, NULL);
        if (!desc || !m)
                return false;
        size_t dl = strlen(desc), ml = strlen(m);
        return dl >= ml && strcmp(desc + dl - ml, m) == 0;
}

/* ---------------------------------------------------------------- mappings */

int pvm_cmp_mapping(const void *a, const void *b) {
        return strcmp((*(const struct pv_mapping *const *)a)->id, (*(const struct pv_mapping *const *)b)->id);
}

static bool id_eq(const struct pv_pci_id *a, const struct pv_pci_id *b) {
        return a->vendor == b->vendor && a->device == b->device;
}

static bool same_subsystem(const struct pv_hw_pci *a, const struct pv_hw_pci *b) {
        return a->has_subsystem == b->has_subsystem && (!a->has_subsystem || id_eq(&a->subsystem, &b->subsystem));
}

/*
 * A `;`-joined path whose devices differ in id, subsystem-id or mdev support.
 * PVE::Mapping::PCI::assert_valid (pve-guest-common) checks every device of
 * the path against the entry's single id/subsystem-id (and the mapping's
 * mdev flag), so on a real node check-node reports "'id' does not match for
 * 'ID' (10de:22ba != 10de:2684)" and the VM does not start ("PCI device
 * mapping invalid (hardware probably changed)"). Functions of one device go
 * as the whole device (`0000:01:00`: all functions, the first one checked).
 */
static int joined_path_problem(const struct pv_mapping *m, const struct pv_map_entry *e, const struct pv_node_hw *hw,
                               struct pv_strv *blocked, struct pv_error *err) {
        if (e->n_paths < 2)
                return 0;
        const struct pv_hw_pci *d0 = NULL;
        bool one_slot = true;
        for (size_t i = 0; i < e->n_paths; i++) {
                struct pv_pci_addr p = e->paths[i];
                if (p.func == PV_PCI_FUNC_ALL)
                        p.func = 0;
                const struct pv_hw_pci *d = pv_node_hw_find(hw, &p);
                one_slot = one_slot && pv_pci_addr_same_slot(&e->paths[0], &e->paths[i]);
                if (!d0) {
                        d0 = d;
                        continue;
                }
                if (!d || (id_eq(&d->id, &d0->id) && same_subsystem(d, d0) && d->mdev == d0->mdev))
                        continue;
                char a0[PV_PCI_ADDR_MAX], ai[PV_PCI_ADDR_MAX], i0[10], ii[10], whole[PV_PCI_ADDR_MAX];
                pv_pci_addr_format(&p, ai);
                pv_pci_addr_format(&d0->addr, a0);
                const char *what = !id_eq(&d->id, &d0->id) ? "id" : !same_subsystem(d, d0) ? "subsystem-id" : "mdev";
                if (!id_eq(&d->id, &d0->id)) {
                        pv_pci_id_format(&d0->id, i0);
                        pv_pci_id_format(&d->id, ii);
                } else if (!same_subsystem(d, d0)) {
                        snprintf(i0, sizeof i0, "%s", "none");
                        snprintf(ii, sizeof ii, "%s", "none");
                        if (d0->has_subsystem)
                                pv_pci_id_format(&d0->subsystem, i0);
                        if (d->has_subsystem)
                                pv_pci_id_format(&d->subsystem, ii);
                } else {
                        snprintf(i0, sizeof i0, "%d", d0->mdev);
                        snprintf(ii, sizeof ii, "%d", d->mdev);
                }
                struct pv_pci_addr w = e->paths[0];
                w.func = PV_PCI_FUNC_ALL;
                pv_pci_addr_format(&w, whole);
                /* assert_valid's text for the device that differs from the first */
                _cleanup_free_ char *says =
                        d->has_subsystem == d0->has_subsystem || strcmp(what, "subsystem-id") != 0
                                ? pvm_asp(err, "'%s' does not match for '%s' (%s != %s)", what, m->id, ii, i0)
                        : d->has_subsystem ? pvm_asp(err, "missing expected property 'subsystem-id' for device '%s'", ai)
                                           : pvm_asp(err, "unexpected property 'subsystem-id' configured for device '%s'", ai);
                return pv_strv_push_take(
                        blocked,
                        pvm_asp(err, "the path of its entry for '%s' joins devices with different %s (%s is %s, %s is %s), but Proxmox checks every device of a path against the entry's one %s: check-node reports \"Invalid configuration: %s\" and a VM using it does not start (\"PCI device mapping invalid (hardware probably changed)\"); %s%s%s",
                                e->node, what, a0, i0, ai, ii, what, says,
                                one_slot ? "pass the whole device instead: path: " : "give each device its own mapping",
                                one_slot ? whole : "", one_slot ? " (all its functions)" : ""),
                        err);
        }
        return 0;
}

/* Fill id / subsystem-id / iommugroup of a (shallow) entry copy from the node's hardware. */
static int fill_entry(struct planner *pl, const struct pv_mapping *m, struct pv_map_entry *e, struct pv_strv *blocked,
                      struct pv_error *err) {
        const struct pv_node_hw *hw = pv_observed_hw(pl->obs, e->node);
        char a[PV_PCI_ADDR_MAX];
        if (!e->n_paths)
                return pv_strv_push_take(blocked, pvm_asp(err, "map entry for '%s' has no path", e->node), err);
        if (!hw) {
                if (e->has_id)
                        return pvm_warn(pl, err, "mapping '%s': hardware of node '%s' was not observed; its entry is used as written",
                                        m->id, e->node);
                return pv_strv_push_take(blocked,
                                         pvm_asp(err, "hardware of node '%s' was not observed, so the id of its map entry cannot be filled in (is the node online?)",
                                                 e->node),
                                         err);
        }
        const struct pv_hw_pci *first = NULL;
        for (size_t i = 0; i < e->n_paths; i++) {
                struct pv_pci_addr p = e->paths[i];
                if (p.func == PV_PCI_FUNC_ALL)
                        p.func = 0;   /* whole device: Proxmox checks the first function */
                const struct pv_hw_pci *d = pv_node_hw_find(hw, &p);
                pv_pci_addr_format(&e->paths[i], a);
                if (!d) {
                        int r = pv_strv_push_take(
                                blocked,
                                pvm_asp(err, "device %s is not present on node '%s' (see 'pvesh get /nodes/%s/hardware/pci --pci-class-blacklist \"\"')",
                                        a, e->node, e->node),
                                err);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (!first)
                        first = d;
        }
        if (!first || blocked->n)
                return 0;
        int r0 = joined_path_problem(m, e, hw, blocked, err);
        if (r0 < 0 || blocked->n)
                return r0;
        pv_pci_addr_format(&e->paths[0], a);
        char hv[10], pv[10];
        int r = 0;
        if (!e->has_id) {
                e->id = first->id;
                e->has_id = true;
        } else if (!id_eq(&e->id, &first->id)) {
                pv_pci_id_format(&e->id, pv);
                pv_pci_id_format(&first->id, hv);
                r = pvm_drift(pl, err, "mapping '%s': %s on '%s' is %s, the profile expects %s (hardware changed?)", m->id, a,
                              e->node, hv, pv);
        }
        if (r == 0 && !e->has_subsystem_id && first->has_subsystem) {
                e->subsystem_id = first->subsystem;
                e->has_subsystem_id = true;
        } else if (r == 0 && e->has_subsystem_id && (!first->has_subsystem || !id_eq(&e->subsystem_id, &first->subsystem))) {
                pv_pci_id_format(&e->subsystem_id, pv);
                if (first->has_subsystem)
                        pv_pci_id_format(&first->subsystem, hv);
                r = pvm_drift(pl, err, "mapping '%s': subsystem of %s on '%s' is %s, the profile expects %s", m->id, a, e->node,
                              first->has_subsystem ? hv : "none", pv);
        }
        if (r == 0 && !e->has_iommugroup && first->iommugroup >= 0) {
                e->iommugroup = first->iommugroup;
                e->has_iommugroup = true;
        } else if (r == 0 && e->has_iommugroup && e->iommugroup != first->iommugroup) {
                r = pvm_drift(pl, err, "mapping '%s': %s on '%s' is in IOMMU group %d, the profile expects %d", m->id, a, e->node,
                              first->iommugroup, e->iommugroup);
        }
        if (r == 0 && first->mdev != m->mdev)
                r = pvm_warn(pl, err,
                             "mapping '%s': %s on '%s' is %smdev-capable but the mapping says mdev: %s; Proxmox's check will fail",
                             m->id, a, e->node, first->mdev ? "" : "not ", m->mdev ? "true" : "false");
        return r;
}

static char *join_lines(char **v, size_t n) {
        struct pv_buf b = PV_BUF_INIT;
        for (size_t i = 0; i < n; i++)
                if (pv_buf_addf(&b, NULL, "%s%s", i ? "\n" : "", v[i]) < 0) {
                        pv_buf_release(&b);
                        return NULL;
                }
        char *s = NULL;
        if (pv_buf_detach(&b, &s, NULL, NULL) < 0)
                return NULL;
        return s;
}


/* Map lists equal by meaning: per node, the same entries in the same order (order across nodes is free). */
static bool map_lists_equal(const struct pv_map_entry *want, size_t nw, char **have_raw, size_t nh) {
        if (nw != nh)
                return false;
        struct pv_map_entry *have = calloc(nh ? nh : 1, sizeof *have);
        bool eq = have != NULL;
        size_t parsed = 0;
        for (; eq && parsed < nh; parsed++)
                eq = pv_mapentry_parse(have_raw[parsed], &have[parsed], NULL) == 0;
        for (size_t i = 0; eq && i < nw; i++) {
                /* the k-th entry of node N in want must be the k-th entry of node N in have */
                size_t k = 0;
                for (size_t j = 0; j < i; j++)
                        k += strcmp(want[j].node, want[i].node) == 0;
                const struct pv_map_entry *h = NULL;
                for (size_t j = 0; j < nh && !h; j++)
                        if (strcmp(have[j].node, want[i].node) == 0 && k-- == 0)
                                h = &have[j];
                eq = h && pv_mapentry_equal(&want[i], h);
        }
        for (size_t i = 0; have && i < nh; i++)
                pv_mapentry_done(&have[i]);
        free(have);
        return eq;
}

/* Push why `used` cannot be written to `node` (gate `key` of provision/vmgates.c) onto blocked. */
static int gate(const char *key, const char *node, const struct pv_node_version *nv, const char *api_version,
                const char *used, struct pv_strv *blocked, struct pv_error *err) {
        const struct pv_version_gate *g = pv_version_gate(key);
        char *why = NULL;
        int r = g ? pv_version_gate_check(g, node, nv, api_version, used, &why, err) : 0;
        return r < 0 || !why ? r : pv_strv_push_take(blocked, why, err);
}

/* The version gates of one config key written to a VM on `node`: hostpciN properties, usbN mappings, affinity. */
int pvm_key_gates(const struct planner *pl, const char *node, const char *key, const char *value,
                  struct pv_strv *blocked, struct pv_error *err) {
        const struct pv_node_version *nv = pv_observed_version(pl->obs, node);
        if (!nv || !value)
                return 0;
        int r = 0;
        _cleanup_free_ char *used = NULL;
        if (strcmp(key, "affinity") == 0)
                return gate("affinity", node, nv, NULL, "affinity", blocked, err);
        if (strncmp(key, "usb", 3) == 0) {
                struct pv_props pr;
                if (pv_props_parse(value, true, &pr, NULL) < 0)
                        return 0;
                const char *mp = pv_props_get(&pr, "mapping");
                if (mp) {
                        used = pvm_asp(err, "%s: 'mapping=%s'", key, mp);
                        r = gate("usbN mapping", node, nv, NULL, used, blocked, err);
                }
                pv_props_done(&pr);
                return r;
        }
        struct pv_hostpci h = PV_HOSTPCI_INIT;
        if (strncmp(key, "hostpci", 7) != 0 || pv_hostpci_parse(value, &h, NULL) < 0)
                return 0;
        if (h.mapping) {
                used = pvm_asp(err, "%s: 'mapping=%s'", key, h.mapping);
                r = gate("hostpciN mapping", node, nv, NULL, used, blocked, err);
        }
        free(TAKE_PTR(used));
        if (r == 0 && h.driver == PV_DRIVER_KEEP) {
                used = pvm_asp(err, "%s: 'driver=keep'", key);
                r = gate("hostpciN driver", node, nv, NULL, used, blocked, err);
        }
        pv_hostpci_done(&h);
        return r;
}

/* The version gates of a mapping written with live-migration-capable: the API node and every node of its entries. */
static int mapping_gates(const struct planner *pl, const struct pv_mapping *m, struct pv_strv *blocked,
                         struct pv_error *err) {
        if (!m->live_migration_capable)
                return 0;
        static const char used[] = "live-migration-capable";
        int r = gate("mapping live-migration-capable", NULL, NULL, pl->obs->api_version, used, blocked, err);
        for (size_t i = 0; r == 0 && i < m->n_map; i++) {
                bool seen = false;
                for (size_t k = 0; k < i && !seen; k++)
                        seen = strcmp(m->map[k].node, m->map[i].node) == 0;
                const struct pv_node_version *nv = pv_observed_version(pl->obs, m->map[i].node);
                if (!seen && nv)
                        r = gate("mapping live-migration-capable", m->map[i].node, nv, NULL, used, blocked, err);
        }
        return r;
}

/* Does a VM of the profile on `node` use mapping `id`? */
static bool profile_vm_uses_mapping(const struct pv_profile *p, const char *id, const char *node) {
        for (size_t i = 0; i < p->n_vms; i++) {
                const struct pv_vm *v = &p->vms[i];
                if (v->state == PV_STATE_ABSENT || !v->node || strcmp(v->node, node) != 0)
                        continue;
                for (size_t k = 0; k < v->n_pci; k++)
                        if (v->pci[k].kind == PV_PCIDEV_MAPPING && v->pci[k].mapping &&
                            strcasecmp(v->pci[k].mapping, id) == 0)
                                return true;
        }
        return false;
}

/*
 * Proxmox's checks of an existing mapping (the listing with check-node=N for
 * each node). A check counts as drift only for a node the mapping has an entry
 * for, or where a VM of the profile uses the mapping: "No mapping for node N."
 * elsewhere is what a node-specific mapping looks like. Every other check is
 * shown as a warning, with its node and severity.
 */
static int report_checks(struct planner *pl, const struct pv_mapping *m, const struct pv_obs_mapping *om,
                         struct pv_error *err) {
        int r = 0;
        for (size_t i = 0; r == 0 && i < om->n_checks; i++) {
                const struct pv_mapping_check *c = &om->checks[i];
                const char *sev = c->severity ? c->severity : "check", *msg = c->message ? c->message : "";
                if (!c->node) {
                        r = pvm_drift(pl, err, "mapping '%s': %s: %s", m->id, sev, msg);
                        continue;
                }
                bool counts = profile_vm_uses_mapping(pl->p, m->id, c->node);
                for (size_t k = 0; !counts && k < m->n_map; k++)
                        counts = strcmp(m->map[k].node, c->node) == 0;
                if (counts)
                        r = pvm_drift(pl, err, "mapping '%s' on node '%s': %s: %s", m->id, c->node, sev, msg);
                else
                        r = pvm_warn(pl, err, "mapping '%s' on node '%s' (no entry, no VM of the profile uses it there): %s: %s",
                                     m->id, c->node, sev, msg);
        }
        return r;
}

int pvm_plan_mapping(struct planner *pl, const struct pv_mapping *m, struct pv_error *err) {
        struct pv_strv blocked = PV_STRV_INIT, lines = PV_STRV_INIT;
        struct pv_map_entry *want = pv_xcalloc(m->n_map ? m->n_map : 1, sizeof *want);
        _cleanup_free_ char *target = NULL, *desc = NULL, *why = NULL, *mk = NULL;
        int r = 0, idx = 0;
        struct map_state *ms = &pl->maps[pl->n_maps++];
        ms->id = m->id;
        ms->create_act = 0;
        for (size_t i = 0; r == 0 && i < m->n_map; i++) {
                want[i] = m->map[i]; /* shallow: strings and paths stay the profile's */
                r = fill_entry(pl, m, &want[i], &blocked, err);
        }
        for (size_t i = 0; r == 0 && blocked.n == 0 && i < m->n_map; i++) {
                char *s = NULL;
                struct pv_error e2 = PV_ERROR_INIT;
                int k = pv_mapentry_format(&want[i], &s, &e2);
                if (k == -PV_EINVAL)
                        r = pv_strv_push_take(&blocked, pvm_asp(err, "%s", pv_error_message(&e2)), err);
                else if (k < 0)
                        r = pv_error_set(err, -k, "%s", pv_error_message(&e2));
                else
                        r = pv_strv_push_take(&lines, s, err);
                pv_error_done(&e2);
        }
        if (r < 0)
                goto out;
        mk = marker(pl, err);
        desc = m->description && *m->description ? pvm_asp(err, "%s %s", m->description, mk) : pv_xstrdup(mk);
        target = pvm_asp(err, "mapping %s", m->id);
        const struct pv_obs_mapping *om = pv_observed_mapping(pl->obs, m->id);
        if (!om || !om->live_migration_capable)
                r = mapping_gates(pl, m, &blocked, err);
        if (r < 0)
                goto out;
        if (blocked.n && !(why = pv_strv_join(&blocked, "; ", NULL))) {  /* past the buffer's cap */
                r = pv_error_set(err, PV_ETOOBIG, "the reasons mapping '%s' is blocked are too long to list", m->id);
                goto out;
        }
        if (!om) {
                idx = pvm_act(pl, PV_ACT_CREATE_MAPPING, NULL, 0, TAKE_PTR(target),
                              pvm_asp(err, "mapping '%s' does not exist on the cluster", m->id), err);
                idx = pvm_mapping_payload(pl, idx, m->id, &lines, desc, m->mdev, m->live_migration_capable, err);
                if (idx < 0) {
                        r = idx;
                        goto out;
                }
                ms->create_act = idx;
                r = pvm_add_key(pl, idx, "description", NULL, desc, false, err);
                if (r == 0 && m->mdev)
                        r = pvm_add_key(pl, idx, "mdev", NULL, "1", false, err);
                if (r == 0 && m->live_migration_capable)
                        r = pvm_add_key(pl, idx, "live-migration-capable", NULL, "1", false, err);
                for (size_t i = 0; r == 0 && i < lines.n; i++) {
                        char key[32];
                        snprintf(key, sizeof key, "map[%zu]", i);
                        r = pvm_add_key(pl, idx, key, NULL, lines.v[i], false, err);
                }
                if (r == 0 && lines.n && !(pvm_A(pl, idx)->after = join_lines(lines.v, lines.n)))
                        r = pv_error_set(err, PV_ETOOBIG, "mapping '%s' has too many entries to show", m->id);
                if (r == 0)
                        r = pvm_set_blocked(pl, idx, why ? why : NULL, err);
                if (r == 0 && why)
                        r = pv_plan_add_warning(&pl->plan, pvm_asp(err, "mapping '%s' cannot be created: %s", m->id, why), err);
                goto out;
        }
        /* exists: report Proxmox's own checks */
        r = report_checks(pl, m, om, err);
        if (r < 0)
                goto out;
        bool managed = desc_managed(pl, om->description);
        bool map_eq = !blocked.n && map_lists_equal(want, m->n_map, om->map, om->n_map);
        bool desc_eq = strcmp(desc, om->description ? om->description : "") == 0;
        if (map_eq && desc_eq && om->mdev == m->mdev && om->live_migration_capable == m->live_migration_capable)
                goto out;
        idx = pvm_act(pl, PV_ACT_UPDATE_MAPPING, NULL, 0, TAKE_PTR(target), pvm_asp(err, "mapping '%s' differs from the profile", m->id),
                      err);
        idx = pvm_mapping_payload(pl, idx, m->id, &lines, desc, m->mdev, m->live_migration_capable, err);
        if (idx < 0) {
                r = idx;
                goto out;
        }
        if (om->digest)
                pvm_A(pl, idx)->digest = pv_xstrdup(om->digest);
        if (!desc_eq)
                r = pvm_add_key(pl, idx, "description", om->description, desc, false, err);
        if (r == 0 && om->mdev != m->mdev)
                r = pvm_add_key(pl, idx, "mdev", om->mdev ? "1" : "0", m->mdev ? "1" : "0", false, err);
        if (r == 0 && om->live_migration_capable != m->live_migration_capable)
                r = pvm_add_key(pl, idx, "live-migration-capable", om->live_migration_capable ? "1" : "0",
                                m->live_migration_capable ? "1" : "0", false, err);
        if (r == 0 && !map_eq && !blocked.n) {
                size_t n = lines.n > om->n_map ? lines.n : om->n_map;
                for (size_t i = 0; r == 0 && i < n; i++) {
                        const char *b = i < om->n_map ? om->map[i] : NULL, *a = i < lines.n ? lines.v[i] : NULL;
                        if (a && b) {
                                struct pv_map_entry pe;
                                if (pv_mapentry_parse(b, &pe, NULL) == 0) {
                                        bool same = pv_mapentry_equal(&want[i], &pe);
                                        pv_mapentry_done(&pe);
                                        if (same)
                                                continue;
                                }
                        }
                        char key[32];
                        snprintf(key, sizeof key, "map[%zu]", i);
                        r = pvm_add_key(pl, idx, key, b, a, false, err);
                }
                if (r == 0 && !(pvm_A(pl, idx)->after = join_lines(lines.v, lines.n)))
                        r = pv_error_set(err, PV_ETOOBIG, "mapping '%s' has too many entries to show", m->id);
                if (r == 0 && om->n_map && !(pvm_A(pl, idx)->before = join_lines(om->map, om->n_map)))
                        r = pv_error_set(err, PV_ETOOBIG, "mapping '%s' has too many entries to show", m->id);
        }
        if (r == 0 && why)
                r = pvm_set_blocked(pl, idx, why, err);
        if (r == 0 && !managed && !pl->opts->adopt) {
                _cleanup_free_ char *w = pvm_asp(err,
                                                 "mapping '%s' exists but pvfio did not create it (its description does not end in '%s'); pvfio leaves it alone: rename one of them, or adopt it with --adopt",
                                                 m->id, mk);
                r = pvm_set_blocked(pl, idx, w, err);
        }
out:
        free(want);
        pv_strv_done(&blocked);
        pv_strv_done(&lines);
        return r;
}

/* Every hostpci mapping id of an observed config. */
static bool config_uses_mapping(const struct pv_vm_config *c, const char *id) {
        for (size_t k = 0; c && k < c->n; k++) {
                if (strncmp(c->kv[k].key, "hostpci", 7) != 0)
                        continue;
                struct pv_hostpci h = PV_HOSTPCI_INIT;
                if (pv_hostpci_parse(c->kv[k].value, &h, NULL) < 0)
                        continue;
                bool hit = h.mapping && strcmp(h.mapping, id) == 0;
                pv_hostpci_done(&h);
                if (hit)
                        return true;
        }
        return false;
}

const struct pv_vm *pvm_profile_vm(const struct pv_profile *p, const char *name) {
        for (size_t i = 0; name && i < p->n_vms; i++)
                if (strcmp(p->vms[i].name, name) == 0)
                        return &p->vms[i];
        return NULL;
}

bool pvm_vm_info_managed(const struct planner *pl, const struct pv_vm_info *v) {
        const struct pv_vm_config *c = pv_observed_config(pl->obs, v->vmid);
        const char *t = c ? pv_vm_config_get(c, "tags") : NULL;
        return pv_tags_contain(t ? t : v->tags, pl->tag);
}

static int cmp_obs_mapping(const void *a, const void *b) {
        return strcmp((*(const struct pv_obs_mapping *const *)a)->id, (*(const struct pv_obs_mapping *const *)b)->id);
}

int pvm_prune_mappings(struct planner *pl, struct pv_error *err) {
        const struct pv_obs_mapping **v = pv_xcalloc(pl->obs->n_mappings ? pl->obs->n_mappings : 1, sizeof *v);
        size_t n = 0;
        int r = 0;
        for (size_t i = 0; i < pl->obs->n_mappings; i++) {
                const struct pv_obs_mapping *om = &pl->obs->mappings[i];
                bool in_profile = false;
                for (size_t k = 0; k < pl->p->n_mappings && !in_profile; k++)
                        in_profile = strcasecmp(pl->p->mappings[k].id, om->id) == 0;
                if (!in_profile && desc_managed(pl, om->description))
                        v[n++] = om;
        }
        qsort(v, n, sizeof *v, cmp_obs_mapping);
        for (size_t i = 0; r == 0 && i < n; i++) {
                const struct pv_obs_mapping *om = v[i];
                if (!pl->opts->prune) {
                        r = pvm_drift(pl, err, "mapping '%s' is managed by pvfio but no longer in the profile; --prune removes it",
                                      om->id);
                        continue;
                }
                int idx = pvm_act(pl, PV_ACT_DELETE_MAPPING, NULL, 0, pvm_asp(err, "mapping %s", om->id),
                                  pvm_asp(err, "mapping '%s' is no longer in the profile (--prune)", om->id), err);
                idx = pvm_mapping_payload(pl, idx, om->id, NULL, NULL, false, false, err);
                if (idx < 0) {
                        r = idx;
                        break;
                }
                /* still used by a VM that keeps it (desired) or that pvfio does not plan? */
                const char *user = NULL;
                uint32_t user_id = 0;
                if (pv_strv_contains(&pl->used_mappings, om->id))
                        user = "a VM of the profile";
                for (size_t c = 0; !user && c < pl->obs->n_configs; c++) {
                        const struct pv_vm_config *cfg = &pl->obs->configs[c];
                        const struct pv_vm_info *info = NULL;
                        for (size_t k = 0; k < pl->obs->n_vms; k++)
                                if (pl->obs->vms[k].vmid == cfg->vmid)
                                        info = &pl->obs->vms[k];
                        bool planned = info && (pvm_profile_vm(pl->p, info->name) ||
                                                (pl->opts->prune && pvm_vm_info_managed(pl, info)));
                        if (!planned && config_uses_mapping(cfg, om->id)) {
                                user = "a VM outside the profile";
                                user_id = cfg->vmid;
                        }
                }
                if (user) {
                        _cleanup_free_ char *w = user_id ? pvm_asp(err, "mapping '%s' is still used by vmid %" PRIu32, om->id, user_id)
                                                         : pvm_asp(err, "mapping '%s' is still used by %s", om->id, user);
                        r = pvm_set_blocked(pl, idx, w, err);
                }
        }
        free(v);
        return r;
}
