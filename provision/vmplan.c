/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The VM and mapping planner: profile + observed cluster → cluster actions.
 * Pure and deterministic (see include/pvfio/vmplan.h for the contract).
 */
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

/* What the mapping pass leaves for the VM pass. */
struct map_state {
        const char *id;
        int create_act;                 /* 1-based local index of its CREATE_MAPPING, 0 = none */
};

struct planner {
        const struct pv_profile *p;
        const struct pv_observed *obs;
        const struct pv_vm_plan_opts *opts;
        const char *tag;
        struct pv_plan plan;            /* local; appended to the caller's plan at the end */
        struct pv_claims *claims;
        struct map_state *maps;
        size_t n_maps;
        struct pv_strv used_mappings;   /* mapping ids the desired VMs keep using */
};

static char *vasp(struct pv_error *err, const char *fmt, va_list ap) {
        char *s = NULL;
        if (vasprintf(&s, fmt, ap) < 0) {
                pv_error_set(err, PV_ENOMEM, "out of memory");
                return NULL;
        }
        return s;
}

static char *asp(struct pv_error *err, const char *fmt, ...) PV_PRINTF(2, 3);
static char *asp(struct pv_error *err, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        char *s = vasp(err, fmt, ap);
        va_end(ap);
        return s;
}

static char *xdup(const char *s) {
        return s ? strdup(s) : NULL;
}

/* Append an action; returns its 1-based local index or <0. target/reason are taken. */
static int act(struct planner *pl, enum pv_action_kind kind, const char *node, uint32_t vmid, char *target,
               char *reason, struct pv_error *err) {
        struct pv_action a = { .kind = kind, .vmid = vmid, .target = target, .reason = reason };
        a.node = xdup(node);
        if (!target || !reason || (node && !a.node)) {
                pv_action_done(&a);
                return pv_error_set(err, PV_ENOMEM, "out of memory");
        }
        int r = pv_plan_add(&pl->plan, &a, err);
        return r < 0 ? r : r + 1;
}

static struct pv_action *A(struct planner *pl, int idx) {
        return &pl->plan.actions[idx - 1];
}

static int set_blocked(struct planner *pl, int idx, const char *why, struct pv_error *err) {
        struct pv_action *a = A(pl, idx);
        if (!why || a->blocked)
                return 0;
        a->blocked = strdup(why);
        return a->blocked ? 0 : pv_error_set(err, PV_ENOMEM, "out of memory");
}

static int add_key(struct planner *pl, int idx, const char *key, const char *before, const char *after, bool pending,
                   struct pv_error *err) {
        char *k = strdup(key), *b = xdup(before), *a = xdup(after);
        if (!k || (before && !b) || (after && !a)) {
                free(k);
                free(b);
                free(a);
                return pv_error_set(err, PV_ENOMEM, "out of memory");
        }
        return pv_plan_add_key(&pl->plan, (size_t)idx - 1, k, b, a, pending, err);
}

static int drift(struct planner *pl, struct pv_error *err, const char *fmt, ...) PV_PRINTF(3, 4);
static int drift(struct planner *pl, struct pv_error *err, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        char *s = vasp(err, fmt, ap);
        va_end(ap);
        return pv_plan_add_drift(&pl->plan, s, err);
}

static int warn(struct planner *pl, struct pv_error *err, const char *fmt, ...) PV_PRINTF(3, 4);
static int warn(struct planner *pl, struct pv_error *err, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        char *s = vasp(err, fmt, ap);
        va_end(ap);
        return pv_plan_add_warning(&pl->plan, s, err);
}

static int move_notes(struct planner *pl, struct pv_strv *v, bool is_drift, struct pv_error *err) {
        int r = 0;
        for (size_t i = 0; i < v->n; i++) {
                char *s = v->v[i];
                v->v[i] = NULL;
                if (r == 0)
                        r = is_drift ? pv_plan_add_drift(&pl->plan, s, err) : pv_plan_add_warning(&pl->plan, s, err);
                else
                        free(s);
        }
        v->n = 0;
        return r;
}

/* The management marker in a mapping description ("… [pvfio]"). */
static char *marker(const struct planner *pl, struct pv_error *err) {
        return asp(err, "[%s]", pl->tag);
}

static bool desc_managed(const struct planner *pl, const char *desc) {
        _cleanup_free_ char *m = marker(pl, NULL);
        if (!desc || !m)
                return false;
        size_t dl = strlen(desc), ml = strlen(m);
        return dl >= ml && strcmp(desc + dl - ml, m) == 0;
}

/* ---------------------------------------------------------------- mappings */

static int cmp_mapping(const void *a, const void *b) {
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
                                ? asp(err, "'%s' does not match for '%s' (%s != %s)", what, m->id, ii, i0)
                        : d->has_subsystem ? asp(err, "missing expected property 'subsystem-id' for device '%s'", ai)
                                           : asp(err, "unexpected property 'subsystem-id' configured for device '%s'", ai);
                if (!says)
                        return -PV_ENOMEM;
                return pv_strv_push_take(
                        blocked,
                        asp(err, "the path of its entry for '%s' joins devices with different %s (%s is %s, %s is %s), but Proxmox checks every device of a path against the entry's one %s: check-node reports \"Invalid configuration: %s\" and a VM using it does not start (\"PCI device mapping invalid (hardware probably changed)\"); %s%s%s",
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
                return pv_strv_push_take(blocked, asp(err, "map entry for '%s' has no path", e->node), err);
        if (!hw) {
                if (e->has_id)
                        return warn(pl, err, "mapping '%s': hardware of node '%s' was not observed; its entry is used as written",
                                    m->id, e->node);
                return pv_strv_push_take(blocked,
                                         asp(err, "hardware of node '%s' was not observed, so the id of its map entry cannot be filled in (is the node online?)",
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
                                asp(err, "device %s is not present on node '%s' (see 'pvesh get /nodes/%s/hardware/pci --pci-class-blacklist \"\"')",
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
                r = drift(pl, err, "mapping '%s': %s on '%s' is %s, the profile expects %s (hardware changed?)", m->id, a,
                          e->node, hv, pv);
        }
        if (r == 0 && !e->has_subsystem_id && first->has_subsystem) {
                e->subsystem_id = first->subsystem;
                e->has_subsystem_id = true;
        } else if (r == 0 && e->has_subsystem_id && (!first->has_subsystem || !id_eq(&e->subsystem_id, &first->subsystem))) {
                pv_pci_id_format(&e->subsystem_id, pv);
                if (first->has_subsystem)
                        pv_pci_id_format(&first->subsystem, hv);
                r = drift(pl, err, "mapping '%s': subsystem of %s on '%s' is %s, the profile expects %s", m->id, a, e->node,
                          first->has_subsystem ? hv : "none", pv);
        }
        if (r == 0 && !e->has_iommugroup && first->iommugroup >= 0) {
                e->iommugroup = first->iommugroup;
                e->has_iommugroup = true;
        } else if (r == 0 && e->has_iommugroup && e->iommugroup != first->iommugroup) {
                r = drift(pl, err, "mapping '%s': %s on '%s' is in IOMMU group %d, the profile expects %d", m->id, a, e->node,
                          first->iommugroup, e->iommugroup);
        }
        if (r == 0 && first->mdev != m->mdev)
                r = warn(pl, err,
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
static int key_gates(const struct planner *pl, const char *node, const char *key, const char *value,
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
                if (mp && (used = asp(err, "%s: 'mapping=%s'", key, mp)))
                        r = gate("usbN mapping", node, nv, NULL, used, blocked, err);
                else if (mp)
                        r = -PV_ENOMEM;
                pv_props_done(&pr);
                return r;
        }
        struct pv_hostpci h = PV_HOSTPCI_INIT;
        if (strncmp(key, "hostpci", 7) != 0 || pv_hostpci_parse(value, &h, NULL) < 0)
                return 0;
        if (h.mapping)
                r = (used = asp(err, "%s: 'mapping=%s'", key, h.mapping))
                            ? gate("hostpciN mapping", node, nv, NULL, used, blocked, err)
                            : -PV_ENOMEM;
        free(TAKE_PTR(used));
        if (r == 0 && h.driver == PV_DRIVER_KEEP)
                r = (used = asp(err, "%s: 'driver=keep'", key)) ? gate("hostpciN driver", node, nv, NULL, used, blocked, err)
                                                                : -PV_ENOMEM;
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
                        r = drift(pl, err, "mapping '%s': %s: %s", m->id, sev, msg);
                        continue;
                }
                bool counts = profile_vm_uses_mapping(pl->p, m->id, c->node);
                for (size_t k = 0; !counts && k < m->n_map; k++)
                        counts = strcmp(m->map[k].node, c->node) == 0;
                if (counts)
                        r = drift(pl, err, "mapping '%s' on node '%s': %s: %s", m->id, c->node, sev, msg);
                else
                        r = warn(pl, err, "mapping '%s' on node '%s' (no entry, no VM of the profile uses it there): %s: %s",
                                 m->id, c->node, sev, msg);
        }
        return r;
}

static int plan_mapping(struct planner *pl, const struct pv_mapping *m, struct pv_error *err) {
        struct pv_strv blocked = PV_STRV_INIT, lines = PV_STRV_INIT;
        struct pv_map_entry *want = calloc(m->n_map ? m->n_map : 1, sizeof *want);
        _cleanup_free_ char *target = NULL, *desc = NULL, *why = NULL, *mk = NULL;
        int r = 0, idx = 0;
        struct map_state *ms = &pl->maps[pl->n_maps++];
        ms->id = m->id;
        ms->create_act = 0;
        if (!want)
                return pv_error_set(err, PV_ENOMEM, "out of memory");
        for (size_t i = 0; r == 0 && i < m->n_map; i++) {
                want[i] = m->map[i]; /* shallow: strings and paths stay the profile's */
                r = fill_entry(pl, m, &want[i], &blocked, err);
        }
        for (size_t i = 0; r == 0 && blocked.n == 0 && i < m->n_map; i++) {
                char *s = NULL;
                struct pv_error e2 = PV_ERROR_INIT;
                int k = pv_mapentry_format(&want[i], &s, &e2);
                if (k == -PV_EINVAL)
                        r = pv_strv_push_take(&blocked, asp(err, "%s", pv_error_message(&e2)), err);
                else if (k < 0)
                        r = pv_error_set(err, -k, "%s", pv_error_message(&e2));
                else
                        r = pv_strv_push_take(&lines, s, err);
                pv_error_done(&e2);
        }
        if (r < 0)
                goto out;
        mk = marker(pl, err);
        desc = mk ? (m->description && *m->description ? asp(err, "%s %s", m->description, mk) : strdup(mk)) : NULL;
        target = asp(err, "mapping %s", m->id);
        if (!desc || !target) {
                r = pv_error_set(err, PV_ENOMEM, "out of memory");
                goto out;
        }
        const struct pv_obs_mapping *om = pv_observed_mapping(pl->obs, m->id);
        if (!om || !om->live_migration_capable)
                r = mapping_gates(pl, m, &blocked, err);
        if (r < 0)
                goto out;
        if (blocked.n && !(why = pv_strv_join(&blocked, "; ", NULL))) {
                r = pv_error_set(err, PV_ENOMEM, "out of memory");
                goto out;
        }
        if (!om) {
                idx = act(pl, PV_ACT_CREATE_MAPPING, NULL, 0, TAKE_PTR(target),
                          asp(err, "mapping '%s' does not exist on the cluster", m->id), err);
                if (idx < 0) {
                        r = idx;
                        goto out;
                }
                ms->create_act = idx;
                r = add_key(pl, idx, "description", NULL, desc, false, err);
                if (r == 0 && m->mdev)
                        r = add_key(pl, idx, "mdev", NULL, "1", false, err);
                if (r == 0 && m->live_migration_capable)
                        r = add_key(pl, idx, "live-migration-capable", NULL, "1", false, err);
                for (size_t i = 0; r == 0 && i < lines.n; i++) {
                        char key[32];
                        snprintf(key, sizeof key, "map[%zu]", i);
                        r = add_key(pl, idx, key, NULL, lines.v[i], false, err);
                }
                if (r == 0 && lines.n && !(A(pl, idx)->after = join_lines(lines.v, lines.n)))
                        r = pv_error_set(err, PV_ENOMEM, "out of memory");
                if (r == 0)
                        r = set_blocked(pl, idx, why ? why : NULL, err);
                if (r == 0 && why)
                        r = pv_plan_add_warning(&pl->plan, asp(err, "mapping '%s' cannot be created: %s", m->id, why), err);
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
        idx = act(pl, PV_ACT_UPDATE_MAPPING, NULL, 0, TAKE_PTR(target), asp(err, "mapping '%s' differs from the profile", m->id),
                  err);
        if (idx < 0) {
                r = idx;
                goto out;
        }
        if (om->digest && !(A(pl, idx)->digest = strdup(om->digest))) {
                r = pv_error_set(err, PV_ENOMEM, "out of memory");
                goto out;
        }
        if (!desc_eq)
                r = add_key(pl, idx, "description", om->description, desc, false, err);
        if (r == 0 && om->mdev != m->mdev)
                r = add_key(pl, idx, "mdev", om->mdev ? "1" : "0", m->mdev ? "1" : "0", false, err);
        if (r == 0 && om->live_migration_capable != m->live_migration_capable)
                r = add_key(pl, idx, "live-migration-capable", om->live_migration_capable ? "1" : "0",
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
                        r = add_key(pl, idx, key, b, a, false, err);
                }
                if (r == 0 && !(A(pl, idx)->after = join_lines(lines.v, lines.n)))
                        r = pv_error_set(err, PV_ENOMEM, "out of memory");
                if (r == 0 && om->n_map && !(A(pl, idx)->before = join_lines(om->map, om->n_map)))
                        r = pv_error_set(err, PV_ENOMEM, "out of memory");
        }
        if (r == 0 && why)
                r = set_blocked(pl, idx, why, err);
        if (r == 0 && !managed && !pl->opts->adopt) {
                _cleanup_free_ char *w = asp(err,
                                             "mapping '%s' exists but pvfio did not create it (its description does not end in '%s'); pvfio leaves it alone: rename one of them, or adopt it with --adopt",
                                             m->id, mk);
                r = w ? set_blocked(pl, idx, w, err) : -PV_ENOMEM;
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

static const struct pv_vm *profile_vm(const struct pv_profile *p, const char *name) {
        for (size_t i = 0; name && i < p->n_vms; i++)
                if (strcmp(p->vms[i].name, name) == 0)
                        return &p->vms[i];
        return NULL;
}

static bool vm_info_managed(const struct planner *pl, const struct pv_vm_info *v) {
        const struct pv_vm_config *c = pv_observed_config(pl->obs, v->vmid);
        const char *t = c ? pv_vm_config_get(c, "tags") : NULL;
        return pv_tags_contain(t ? t : v->tags, pl->tag);
}

static int cmp_obs_mapping(const void *a, const void *b) {
        return strcmp((*(const struct pv_obs_mapping *const *)a)->id, (*(const struct pv_obs_mapping *const *)b)->id);
}

static int prune_mappings(struct planner *pl, struct pv_error *err) {
        const struct pv_obs_mapping **v = calloc(pl->obs->n_mappings ? pl->obs->n_mappings : 1, sizeof *v);
        size_t n = 0;
        int r = 0;
        if (!v)
                return pv_error_set(err, PV_ENOMEM, "out of memory");
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
                        r = drift(pl, err, "mapping '%s' is managed by pvfio but no longer in the profile; --prune removes it",
                                  om->id);
                        continue;
                }
                int idx = act(pl, PV_ACT_DELETE_MAPPING, NULL, 0, asp(err, "mapping %s", om->id),
                              asp(err, "mapping '%s' is no longer in the profile (--prune)", om->id), err);
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
                        bool planned = info && (profile_vm(pl->p, info->name) ||
                                                (pl->opts->prune && vm_info_managed(pl, info)));
                        if (!planned && config_uses_mapping(cfg, om->id)) {
                                user = "a VM outside the profile";
                                user_id = cfg->vmid;
                        }
                }
                if (user) {
                        _cleanup_free_ char *w = user_id ? asp(err, "mapping '%s' is still used by vmid %" PRIu32, om->id, user_id)
                                                         : asp(err, "mapping '%s' is still used by %s", om->id, user);
                        r = w ? set_blocked(pl, idx, w, err) : -PV_ENOMEM;
                }
        }
        free(v);
        return r;
}

/* --------------------------------------------------------------------- VMs */

static int cmp_vm(const void *a, const void *b) {
        return strcmp((*(const struct pv_vm *const *)a)->name, (*(const struct pv_vm *const *)b)->name);
}

static const struct pv_node_readiness *readiness_for(const struct planner *pl, const char *node) {
        for (size_t i = 0; node && pl->opts->readiness && i < pl->opts->n_readiness; i++)
                if (pl->opts->readiness[i].node && strcmp(pl->opts->readiness[i].node, node) == 0)
                        return &pl->opts->readiness[i];
        return NULL;
}

/* Why VM actions on `node` cannot run (node offline / unknown), or NULL. */
static char *node_problem(const struct planner *pl, const char *node, struct pv_error *err) {
        if (!pl->obs->n_nodes)
                return NULL;
        for (size_t i = 0; i < pl->obs->n_nodes; i++) {
                const struct pv_node_info *n = &pl->obs->nodes[i];
                if (strcmp(n->node, node) != 0)
                        continue;
                if (n->status && strcmp(n->status, "online") != 0)
                        return asp(err, "node '%s' is %s", node, n->status);
                return NULL;
        }
        return asp(err, "node '%s' is not a node of this cluster", node);
}

/* The token / non-root rule for one hostpci value; returns an owned message or NULL. */
static char *raw_problem(const struct planner *pl, const struct pv_vm *vm, const char *key, const char *value,
                         struct pv_error *err) {
        const struct pv_cluster *c = &pl->p->cluster;
        if (!value || c->auth == PV_AUTH_NONE ||
            (c->auth == PV_AUTH_PASSWORD && c->user && strcmp(c->user, "root@pam") == 0))
                return NULL;
        struct pv_hostpci h = PV_HOSTPCI_INIT;
        if (pv_hostpci_parse(value, &h, NULL) < 0)
                return NULL;
        char a[PV_PCI_ADDR_MAX] = "";
        if (h.n_host)
                pv_pci_addr_format(&h.host[0], a);
        bool raw = h.n_host > 0, rom = h.romfile != NULL;
        _cleanup_free_ char *rom_name = xdup(h.romfile);
        pv_hostpci_done(&h);
        if (!raw && !rom)
                return NULL;
        const char *who = c->auth == PV_AUTH_TOKEN ? "an API token" : "a password session of another user";
        const char *whoname = c->auth == PV_AUTH_TOKEN ? c->token_id : c->user;
        if (raw)
                return asp(err,
                           "%s uses the raw PCI device %s, but pvfio talks to Proxmox with %s ('%s'): Proxmox accepts raw hostpciN only from root@pam with a password session (an API token, even root@pam!tok, is refused with 'only root can set '%s' config for non-mapped devices'); declare a mapping (mappings: [{id: ID, map: [{node: %s, path: %s}]}]) and use 'mapping: ID' for vm '%s', or switch cluster.auth to user: root@pam",
                           key, a, who, whoname ? whoname : "", key, vm->node, a, vm->name);
        return asp(err,
                   "%s sets romfile '%s', but pvfio talks to Proxmox with %s ('%s'): only root@pam with a password session may set romfile; drop romfile or switch cluster.auth to user: root@pam",
                   key, rom_name ? rom_name : "", who, whoname ? whoname : "");
}

/* First mapping the VM needs that this plan creates (1-based local index), or 0. */
static int mapping_dependency(const struct planner *pl, const struct pv_vm_desired *d) {
        for (size_t i = 0; i < d->mappings.n; i++)
                for (size_t k = 0; k < pl->n_maps; k++)
                        if (strcmp(pl->maps[k].id, d->mappings.v[i]) == 0 && pl->maps[k].create_act)
                                return pl->maps[k].create_act;
        return 0;
}

static bool is_running(const struct pv_vm_info *v) {
        return v->status && strcmp(v->status, "running") == 0;
}

/* stop (if running) + delete. */
static int plan_delete(struct planner *pl, const struct pv_vm_info *v, const char *why, struct pv_error *err) {
        int dep = 0;
        _cleanup_free_ char *lock = v->lock ? asp(err, "vm is locked ('%s')", v->lock) : NULL;
        if (is_running(v)) {
                dep = act(pl, PV_ACT_STOP_VM, v->node, v->vmid, asp(err, "vm %s", v->name ? v->name : ""),
                          asp(err, "stop before deleting (%s)", why), err);
                if (dep < 0)
                        return dep;
                if (lock && set_blocked(pl, dep, lock, err) < 0)
                        return -PV_ENOMEM;
        }
        int idx = act(pl, PV_ACT_DELETE_VM, v->node, v->vmid, asp(err, "vm %s", v->name ? v->name : ""), strdup(why), err);
        if (idx < 0)
                return idx;
        A(pl, idx)->depends_on = dep;
        return lock ? set_blocked(pl, idx, lock, err) : 0;
}

struct change {
        const char *key, *before, *after;
};

static int cmp_change(const void *a, const void *b) {
        return pv_vmconfig_key_cmp(((const struct change *)a)->key, ((const struct change *)b)->key);
}

/* pv_vmconfig_value_equal, with tags compared as the cluster's tag-style stores them. */
static bool value_equal(const struct planner *pl, const char *key, const char *want, const char *have) {
        if (strcmp(key, "tags") == 0)
                return pv_tags_equal(want, have, &pl->obs->tag_style);
        return pv_vmconfig_value_equal(key, want, have);
}

/* Key-by-key differences between the desired keys and an observed config. */
static int diff_config(const struct planner *pl, const struct pv_vm_desired *d, const struct pv_vm_config *c,
                       struct change **ret, size_t *ret_n, struct pv_error *err) {
        struct change *v = calloc(d->n + c->n + 1, sizeof *v);
        size_t n = 0;
        if (!v)
                return pv_error_set(err, PV_ENOMEM, "out of memory");
        for (size_t i = 0; i < d->n; i++) {
                const char *have = pv_vm_config_get(c, d->kv[i].key);
                if (!value_equal(pl, d->kv[i].key, d->kv[i].value, have))
                        v[n++] = (struct change){ d->kv[i].key, have, d->kv[i].value };
        }
        for (size_t i = 0; i < c->n; i++) {
                const char *k = c->kv[i].key;
                if (!pv_vmconfig_key_deletable(k) || pv_vm_desired_get(d, k))
                        continue;
                if (!value_equal(pl, k, NULL, c->kv[i].value))
                        v[n++] = (struct change){ k, c->kv[i].value, NULL };
        }
        qsort(v, n, sizeof *v, cmp_change);
        *ret = v;
        *ret_n = n;
        return 0;
}

/* Pending keys that already hold the desired value (sent before, waiting for a restart). */
static int pending_matches(const struct planner *pl, const struct pv_vm_desired *d, uint32_t vmid, struct pv_strv *ret,
                           struct pv_error *err) {
        const struct pv_vm_pending *p = pv_observed_pending(pl->obs, vmid);
        int r = 0;
        for (size_t i = 0; p && r == 0 && i < p->n; i++) {
                const struct pv_pending *e = &p->v[i];
                if (!e->key || !pv_vmconfig_key_managed(e->key) || pv_vmconfig_key_hotpluggable(e->key))
                        continue;
                const char *want = pv_vm_desired_get(d, e->key);
                bool match = e->delete_ ? (!want || value_equal(pl, e->key, want, NULL))
                                        : (e->pending && value_equal(pl, e->key, want, e->pending));
                if (match && (e->pending || e->delete_))
                        r = pv_strv_push(ret, e->key, err);
        }
        return r;
}


struct vm_match {
        const struct pv_vm_info *info;  /* NULL: not on the cluster */
        bool managed;
        char *conflict;                 /* owned: why pvfio must not touch it */
};

static int match_vm(struct planner *pl, const struct pv_vm *vm, struct vm_match *m, struct pv_error *err) {
        const struct pv_vm_info *cands[8];
        size_t n = 0, n_managed = 0;
        const struct pv_vm_info *managed = NULL;
        memset(m, 0, sizeof *m);
        for (size_t i = 0; i < pl->obs->n_vms; i++) {
                const struct pv_vm_info *v = &pl->obs->vms[i];
                if (!v->name || strcmp(v->name, vm->name) != 0)
                        continue;
                if (n < PV_ELEMENTSOF(cands))
                        cands[n] = v;
                n++;
                if (!v->is_template && vm_info_managed(pl, v)) {
                        n_managed++;
                        managed = v;
                }
        }
        if (n == 0)
                return 0;
        if (n_managed == 1) {
                m->info = managed;
                m->managed = true;
                return 0;
        }
        if (n_managed > 1 || n > 1) {
                _cleanup_buf_ struct pv_buf ids = PV_BUF_INIT;
                for (size_t i = 0; i < n && i < PV_ELEMENTSOF(cands); i++)
                        pv_buf_addf(&ids, NULL, "%s%" PRIu32, i ? ", " : "", cands[i]->vmid);
                m->conflict = asp(err, PV_VMPLAN_DUPLICATE_NAME " '%s' (vmids %s); pvfio cannot tell which one is meant: rename the others",
                                  vm->name, ids.buf);
                return m->conflict ? 0 : -PV_ENOMEM;
        }
        m->info = cands[0];
        if (cands[0]->is_template)
                m->conflict = asp(err, "'%s' is a template (vmid %" PRIu32 "); pvfio does not manage templates", vm->name,
                                  cands[0]->vmid);
        else if (!pl->opts->adopt)
                m->conflict = asp(err,
                                  "a VM named '%s' already exists (vmid %" PRIu32 " on '%s') but is not managed by pvfio (no '%s' tag); pvfio leaves it alone: rename one of them, or adopt it with --adopt",
                                  vm->name, cands[0]->vmid, cands[0]->node ? cands[0]->node : "?", pl->tag);
        else
                return 0;
        return m->conflict ? 0 : -PV_ENOMEM;
}

static int plan_vm(struct planner *pl, const struct pv_vm *vm, struct pv_error *err) {
        struct vm_match m;
        struct pv_vm_desired d = { 0 };
        struct pv_strv blocked = PV_STRV_INIT, pend = PV_STRV_INIT;
        struct change *ch = NULL;
        size_t n_ch = 0;
        _cleanup_free_ char *why = NULL;
        int r = match_vm(pl, vm, &m, err);
        if (r < 0)
                return r;
        const struct pv_vm_info *info = m.info;
        uint32_t vmid = info ? info->vmid : vm->vmid;

        if (vm->state == PV_STATE_ABSENT) {
                /* only a VM carrying the tag is ever deleted (even with --adopt) */
                if (info && m.managed)
                        r = plan_delete(pl, info, "state: absent", err);
                else if (info)
                        r = warn(pl, err, "vm '%s' (%" PRIu32 ") has state: absent but is not managed by pvfio (no '%s' tag); left alone",
                                 vm->name, info->vmid, pl->tag);
                else if (m.conflict)
                        r = warn(pl, err, "vm '%s' has state: absent: %s", vm->name, m.conflict);
                free(m.conflict);
                return r;
        }

        const struct pv_vm_config *cfg = info ? pv_observed_config(pl->obs, info->vmid) : NULL;
        struct pv_vm_xlate_ctx ctx = {
                .profile = pl->p, .obs = pl->obs, .current = cfg, .vmid = info ? info->vmid : 0,
                .tag = pl->tag,   .claims = pl->claims, .ready = readiness_for(pl, vm->node),
        };
        if ((r = pv_vm_translate(vm, &ctx, &d, err)) < 0)
                goto out;
        for (size_t i = 0; r == 0 && i < d.mappings.n; i++)
                if (!pv_strv_contains(&pl->used_mappings, d.mappings.v[i]))
                        r = pv_strv_push(&pl->used_mappings, d.mappings.v[i], err);
        if (r == 0)
                r = move_notes(pl, &d.drift, true, err);
        if (r == 0)
                r = move_notes(pl, &d.warnings, false, err);
        if (r < 0)
                goto out;

        /* reasons that block every action of this VM */
        if (m.conflict)
                r = pv_strv_push_take(&blocked, TAKE_PTR(m.conflict), err);
        if (r == 0 && d.blocked)
                r = pv_strv_push(&blocked, d.blocked, err);
        char *np = node_problem(pl, info && info->node ? info->node : vm->node, err);
        if (r == 0 && np)
                r = pv_strv_push_take(&blocked, np, err);
        else
                free(np);
        if (r == 0 && info && info->node && strcmp(info->node, vm->node) != 0)
                r = pv_strv_push_take(&blocked,
                                      asp(err, "vm is on node '%s' but the profile places it on '%s'; pvfio does not migrate VMs: migrate it or change the profile",
                                          info->node, vm->node),
                                      err);
        if (r == 0 && info && info->lock)
                r = pv_strv_push_take(&blocked, asp(err, "vm is locked ('%s')", info->lock), err);
        if (r == 0 && info && !cfg)
                r = pv_strv_push_take(&blocked, asp(err, "the configuration of vmid %" PRIu32 " was not observed", info->vmid),
                                      err);
        if (r < 0)
                goto out;

        if (!info) {
                /* ------------------------------------------------------ create */
                if (vm->vmid) {
                        for (size_t i = 0; r == 0 && i < pl->obs->n_vms; i++)
                                if (pl->obs->vms[i].vmid == vm->vmid)
                                        r = pv_strv_push_take(&blocked,
                                                              asp(err, "vmid %" PRIu32 " is already used by vm '%s' on '%s'; choose another vmid or leave it out",
                                                                  vm->vmid, pl->obs->vms[i].name ? pl->obs->vms[i].name : "",
                                                                  pl->obs->vms[i].node ? pl->obs->vms[i].node : "?"),
                                                              err);
                }
                for (size_t i = 0; r == 0 && i < d.n; i++) {
                        r = key_gates(pl, vm->node, d.kv[i].key, d.kv[i].value, &blocked, err);
                        if (r < 0 || strncmp(d.kv[i].key, "hostpci", 7) != 0)
                                continue;
                        char *rp = raw_problem(pl, vm, d.kv[i].key, d.kv[i].value, err);
                        if (rp)
                                r = pv_strv_push_take(&blocked, rp, err);
                }
                if (r < 0 || (blocked.n && !(why = pv_strv_join(&blocked, "; ", NULL)))) {
                        r = r < 0 ? r : pv_error_set(err, PV_ENOMEM, "out of memory");
                        goto out;
                }
                int idx = act(pl, PV_ACT_CREATE_VM, vm->node, vm->vmid, asp(err, "vm %s", vm->name),
                              asp(err, "vm '%s' does not exist on the cluster", vm->name), err);
                if (idx < 0) {
                        r = idx;
                        goto out;
                }
                A(pl, idx)->depends_on = mapping_dependency(pl, &d);
                for (size_t i = 0; r == 0 && i < d.n; i++)
                        r = add_key(pl, idx, d.kv[i].key, NULL, d.kv[i].value, false, err);
                if (r == 0)
                        r = set_blocked(pl, idx, why, err);
                if (r == 0 && vm->state == PV_STATE_RUNNING) {
                        int s = act(pl, PV_ACT_START_VM, vm->node, vm->vmid, asp(err, "vm %s", vm->name),
                                    strdup("state: running"), err);
                        if (s < 0)
                                r = s;
                        else
                                A(pl, s)->depends_on = idx;
                }
                goto out;
        }

        /* ---------------------------------------------------------- update */
        bool running = is_running(info);
        bool want_stopped = vm->state == PV_STATE_STOPPED;
        if (cfg && (r = diff_config(pl, &d, cfg, &ch, &n_ch, err)) < 0)
                goto out;
        for (size_t i = 0; r == 0 && i < n_ch; i++) {
                r = key_gates(pl, info->node ? info->node : vm->node, ch[i].key, ch[i].after, &blocked, err);
                if (r < 0 || strncmp(ch[i].key, "hostpci", 7) != 0)
                        continue;
                char *rp = raw_problem(pl, vm, ch[i].key, ch[i].before, err);
                if (!rp)
                        rp = raw_problem(pl, vm, ch[i].key, ch[i].after, err);
                if (rp)
                        r = pv_strv_push_take(&blocked, rp, err);
        }
        if (r == 0 && running && !want_stopped && cfg)
                r = pending_matches(pl, &d, info->vmid, &pend, err);
        if (r < 0 || (blocked.n && !(why = pv_strv_join(&blocked, "; ", NULL)))) {
                r = r < 0 ? r : pv_error_set(err, PV_ENOMEM, "out of memory");
                goto out;
        }
        int dep = 0, upd = 0;
        bool upd_pending = false;
        if (want_stopped && running) {
                dep = act(pl, PV_ACT_STOP_VM, info->node, vmid, asp(err, "vm %s", vm->name), strdup("state: stopped"), err);
                if (dep < 0) {
                        r = dep;
                        goto out;
                }
                if (info->lock && (r = set_blocked(pl, dep, why, err)) < 0)
                        goto out;
                running = false;
        }
        if (n_ch || (why && !cfg)) {
                upd = act(pl, PV_ACT_UPDATE_VM, info->node, vmid, asp(err, "vm %s", vm->name),
                          n_ch ? asp(err, "%zu key%s differ%s from the profile", n_ch, n_ch == 1 ? "" : "s", n_ch == 1 ? "s" : "")
                               : strdup("vm cannot be reconciled"),
                          err);
                if (upd < 0) {
                        r = upd;
                        goto out;
                }
                struct pv_action *a = A(pl, upd);
                a->depends_on = dep ? dep : mapping_dependency(pl, &d);
                if (cfg && cfg->digest && !(a->digest = strdup(cfg->digest))) {
                        r = pv_error_set(err, PV_ENOMEM, "out of memory");
                        goto out;
                }
                for (size_t i = 0; r == 0 && i < n_ch; i++) {
                        bool p = running && !pv_vmconfig_key_hotpluggable(ch[i].key);
                        upd_pending |= p;
                        r = add_key(pl, upd, ch[i].key, ch[i].before, ch[i].after, p, err);
                }
                A(pl, upd)->pending_until_restart = upd_pending;
                if (r == 0)
                        r = set_blocked(pl, upd, why, err);
                if (r < 0)
                        goto out;
        }
        if (vm->state == PV_STATE_RUNNING && !running) {
                int s = act(pl, PV_ACT_START_VM, info->node, vmid, asp(err, "vm %s", vm->name), strdup("state: running"), err);
                if (s < 0) {
                        r = s;
                        goto out;
                }
                A(pl, s)->depends_on = upd ? upd : dep;
                if ((r = set_blocked(pl, s, why, err)) < 0)
                        goto out;
        }
        if (running && (upd_pending || pend.n)) {
                struct pv_strv keys = PV_STRV_INIT;
                for (size_t i = 0; r == 0 && i < pend.n; i++)
                        r = pv_strv_push(&keys, pend.v[i], err);
                for (size_t i = 0; r == 0 && upd && i < A(pl, upd)->n_keys; i++)
                        if (A(pl, upd)->keys[i].pending_until_restart &&
                            !pv_strv_contains(&keys, A(pl, upd)->keys[i].key))
                                r = pv_strv_push(&keys, A(pl, upd)->keys[i].key, err);
                _cleanup_free_ char *list = r == 0 ? pv_strv_join(&keys, ", ", NULL) : NULL;
                pv_strv_done(&keys);
                if (r == 0 && !list)
                        r = pv_error_set(err, PV_ENOMEM, "out of memory");
                if (r == 0 && pl->opts->restart) {
                        int s = act(pl, PV_ACT_RESTART_VM, info->node, vmid, asp(err, "vm %s", vm->name),
                                    asp(err, "apply changes pending until restart: %s", list), err);
                        if (s < 0)
                                r = s;
                        else {
                                A(pl, s)->depends_on = upd;
                                A(pl, s)->pending_until_restart = true;
                                r = set_blocked(pl, s, why, err);
                        }
                } else if (r == 0 && pend.n) {
                        _cleanup_free_ char *pl_list = pv_strv_join(&pend, ", ", NULL);
                        r = pl_list ? drift(pl, err,
                                            "vm '%s' (%" PRIu32 "): %s already changed, pending until the VM is restarted (--restart applies it)",
                                            vm->name, vmid, pl_list)
                                    : pv_error_set(err, PV_ENOMEM, "out of memory");
                }
        }
out:
        free(m.conflict);
        free(ch);
        pv_strv_done(&blocked);
        pv_strv_done(&pend);
        pv_vm_desired_done(&d);
        return r;
}

static int cmp_info(const void *a, const void *b) {
        uint32_t x = (*(const struct pv_vm_info *const *)a)->vmid, y = (*(const struct pv_vm_info *const *)b)->vmid;
        return x < y ? -1 : x > y;
}

static int prune_vms(struct planner *pl, struct pv_error *err) {
        const struct pv_vm_info **v = calloc(pl->obs->n_vms ? pl->obs->n_vms : 1, sizeof *v);
        size_t n = 0;
        int r = 0;
        if (!v)
                return pv_error_set(err, PV_ENOMEM, "out of memory");
        for (size_t i = 0; i < pl->obs->n_vms; i++) {
                const struct pv_vm_info *info = &pl->obs->vms[i];
                if (!info->is_template && !profile_vm(pl->p, info->name) && vm_info_managed(pl, info))
                        v[n++] = info;
        }
        qsort(v, n, sizeof *v, cmp_info);
        for (size_t i = 0; r == 0 && i < n; i++) {
                if (pl->opts->prune)
                        r = plan_delete(pl, v[i], "no longer in the profile (--prune)", err);
                else
                        r = drift(pl, err, "vm '%s' (%" PRIu32 ") is managed by pvfio but no longer in the profile; --prune removes it",
                                  v[i]->name ? v[i]->name : "", v[i]->vmid);
        }
        free(v);
        return r;
}

/* An action that depends on a blocked one is blocked too (same reason). */
static int propagate_blocked(struct planner *pl, struct pv_error *err) {
        for (size_t i = 0; i < pl->plan.n; i++) {
                struct pv_action *a = &pl->plan.actions[i];
                int dep = a->depends_on;
                if (a->blocked || dep <= 0 || (size_t)dep > i)
                        continue;
                const struct pv_action *d = &pl->plan.actions[dep - 1];
                if (d->blocked && !(a->blocked = strdup(d->blocked)))
                        return pv_error_set(err, PV_ENOMEM, "out of memory");
        }
        return 0;
}

/* Two VMs that should both run and pass the same raw device: Proxmox starts only one of them. */
static int warn_shared_raw(struct planner *pl, const struct pv_vm **vms, size_t n, struct pv_error *err) {
        int r = 0;
        for (size_t i = 0; r == 0 && i < n; i++)
                for (size_t j = i + 1; r == 0 && j < n; j++) {
                        const struct pv_vm *a = vms[i], *b = vms[j];
                        if (a->state != PV_STATE_RUNNING || b->state != PV_STATE_RUNNING || !a->node || !b->node ||
                            strcmp(a->node, b->node) != 0)
                                continue;
                        const struct pv_pci_addr *hit = NULL;
                        for (size_t x = 0; !hit && x < a->n_pci; x++)
                                for (size_t y = 0; !hit && y < b->n_pci; y++) {
                                        const struct pv_pcidev *da = &a->pci[x], *db = &b->pci[y];
                                        if (da->kind != PV_PCIDEV_RAW || db->kind != PV_PCIDEV_RAW || da->mdev || db->mdev)
                                                continue;
                                        for (size_t u = 0; !hit && u < da->n_addrs; u++)
                                                for (size_t v = 0; !hit && v < db->n_addrs; v++)
                                                        if (pv_pci_addr_same_slot(&da->addrs[u], &db->addrs[v]) &&
                                                            (da->addrs[u].func == db->addrs[v].func ||
                                                             da->addrs[u].func == PV_PCI_FUNC_ALL ||
                                                             db->addrs[v].func == PV_PCI_FUNC_ALL))
                                                                hit = &da->addrs[u];
                                }
                        if (hit) {
                                char s[PV_PCI_ADDR_MAX];
                                pv_pci_addr_format(hit, s);
                                r = warn(pl, err,
                                         "vms '%s' and '%s' both pass %s on '%s' and both have state: running; Proxmox starts only one of them",
                                         a->name, b->name, s, a->node);
                        }
                }
        return r;
}

int pv_vm_plan_build(const struct pv_profile *profile, const struct pv_observed *obs, const struct pv_vm_plan_opts *opts,
                     struct pv_plan *plan, struct pv_error *err) {
        static const struct pv_vm_plan_opts no_opts = { 0 };
        static const struct pv_observed no_obs = { 0 };
        struct planner pl = {
                .p = profile, .obs = obs ? obs : &no_obs, .opts = opts ? opts : &no_opts, .plan = PV_PLAN_INIT,
        };
        pl.tag = pl.opts->tag ? pl.opts->tag : PV_MANAGED_TAG;
        const struct pv_mapping **maps = calloc(profile->n_mappings + 1, sizeof *maps);
        const struct pv_vm **vms = calloc(profile->n_vms + 1, sizeof *vms);
        pl.maps = calloc(profile->n_mappings + 1, sizeof *pl.maps);
        int r = maps && vms && pl.maps ? pv_claims_new(&pl.claims, err) : pv_error_set(err, PV_ENOMEM, "out of memory");
        if (r < 0)
                goto out;
        for (size_t i = 0; i < profile->n_mappings; i++)
                maps[i] = &profile->mappings[i];
        qsort(maps, profile->n_mappings, sizeof *maps, cmp_mapping);
        for (size_t i = 0; i < profile->n_vms; i++)
                vms[i] = &profile->vms[i];
        qsort(vms, profile->n_vms, sizeof *vms, cmp_vm);

        for (size_t i = 0; r == 0 && !pl.opts->skip_mappings && i < profile->n_mappings; i++)
                r = plan_mapping(&pl, maps[i], err);
        for (size_t i = 0; r == 0 && i < profile->n_vms; i++) {
                r = plan_vm(&pl, vms[i], err);
                if (r < 0)
                        pv_error_wrap(err, "while planning vm '%s'", vms[i]->name);
        }
        if (r == 0)
                r = warn_shared_raw(&pl, vms, profile->n_vms, err);
        if (r == 0)
                r = prune_vms(&pl, err);
        if (r == 0 && !pl.opts->skip_mappings)
                r = prune_mappings(&pl, err);
        if (r == 0)
                r = propagate_blocked(&pl, err);
        if (r == 0)
                r = pv_plan_append(plan, &pl.plan, err);
out:
        pv_plan_done(&pl.plan);
        pv_claims_free(pl.claims);
        pv_strv_done(&pl.used_mappings);
        free(pl.maps);
        free(maps);
        free(vms);
        return r;
}
