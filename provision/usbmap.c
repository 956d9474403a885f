/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The cluster USB mapping planner (`usb_mappings:` → /cluster/mapping/usb), the USB
 * counterpart of vmplan.c's PCI mapping pass. Pure: profile + observed state in, typed
 * create/update/delete mapping actions (payload type usb) out.
 *
 * Proxmox's side (read from pve-guest-common PVE/Mapping/USB.pm and pve-manager
 * PVE/API2/Cluster/Mapping/USB.pm): a map entry is `node=N,path=BUS-PORT,id=VVVV:PPPP
 * [,description=D]`, `id` required (pvfio fills it from GET /nodes/N/hardware/usb when the
 * profile gives only a path); the listing with check-node carries Proxmox's assert_valid
 * results as `errors`; an update sends the whole object (map is required) with the digest
 * of the whole usb.cfg, read just before the write (api/usbmap.c).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pvfio/buf.h"
#include "pvfio/cleanup.h"
#include "pvfio/vmplan.h"
#include "pvfio/xalloc.h"

/* A parsed map line (only the keys pvfio writes; others are kept as "other"). */
struct usb_line {
        char *node, *id, *path, *description;
        bool other;                     /* a key pvfio does not write: never equal */
};

static void usb_line_done(struct usb_line *l) {
        free(l->node);
        free(l->id);
        free(l->path);
        free(l->description);
        memset(l, 0, sizeof *l);
}

/* "node=pve1,path=1-3.4,id=0d8c:0014": keys split at ',', values at the first '='. */
static void usb_line_parse(const char *s, struct usb_line *ret) {
        memset(ret, 0, sizeof *ret);
        _cleanup_free_ char *copy = pv_xstrdup(s);
        char *save = NULL;
        for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
                char *eq = strchr(tok, '=');
                if (!eq) {
                        ret->other = true;
                        continue;
                }
                *eq = '\0';
                char **slot = !strcmp(tok, "node") ? &ret->node
                              : !strcmp(tok, "id") ? &ret->id
                              : !strcmp(tok, "path") ? &ret->path
                              : !strcmp(tok, "description") ? &ret->description
                                                              : NULL;
                if (!slot) {
                        ret->other = true;
                        continue;
                }
                free(*slot);
                *slot = pv_xstrdup(eq + 1);
        }
}

static bool str_eq(const char *a, const char *b) {
        return strcmp(a ? a : "", b ? b : "") == 0;
}

/* Equal by meaning: same node, id (case-insensitive hex), path and description. */
static bool usb_lines_equal(const char *want, const char *have) {
        struct usb_line a, b;
        usb_line_parse(want, &a);
        usb_line_parse(have, &b);
        bool eq = !a.other && !b.other && str_eq(a.node, b.node) && str_eq(a.path, b.path) &&
                  str_eq(a.description, b.description) && !strcasecmp(a.id ? a.id : "", b.id ? b.id : "");
        usb_line_done(&a);
        usb_line_done(&b);
        return eq;
}

/* The map lists are equal when each node's entry is (one entry per node; order across nodes is free). */
static bool usb_maps_equal(char *const *want, size_t nw, char *const *have, size_t nh) {
        if (nw != nh)
                return false;
        for (size_t i = 0; i < nw; i++) {
                struct usb_line w;
                usb_line_parse(want[i], &w);
                bool found = false;
                for (size_t k = 0; k < nh && !found; k++) {
                        struct usb_line h;
                        usb_line_parse(have[k], &h);
                        found = str_eq(w.node, h.node) && usb_lines_equal(want[i], have[k]);
                        usb_line_done(&h);
                }
                usb_line_done(&w);
                if (!found)
                        return false;
        }
        return true;
}

/* The device at `path` ("BUS-PORT[.PORT…]") of a node's USB listing, or NULL. */
static const struct pv_hw_usb *usb_at(const struct pv_node_usb *hw, const char *path) {
        for (size_t i = 0; hw && i < hw->n_devs; i++) {
                const struct pv_hw_usb *d = &hw->devs[i];
                if (!d->usbpath)
                        continue;
                _cleanup_free_ char *p = pv_xasprintf("%u-%s", d->busnum, d->usbpath);
                if (!strcmp(p, path))
                        return d;
        }
        return NULL;
}

/* The map line of entry e (id filled from the hardware), or NULL with *why set (owned). */
static char *entry_line(const struct pv_usb_mapping *m, const struct pv_usb_map_entry *e, const struct pv_observed *obs,
                        char **why) {
        _cleanup_free_ char *id = e->id ? pv_xstrdup(e->id) : NULL;
        if (!id) {
                const struct pv_node_usb *hw = pv_observed_usb_hw(obs, e->node);
                const struct pv_hw_usb *d = hw ? usb_at(hw, e->path) : NULL;
                if (!hw) {
                        *why = pv_xasprintf(
                                "usb mapping '%s': the entry for node '%s' names only the port '%s' and the node's USB "
                                "devices could not be read (GET /nodes/%s/hardware/usb needs Sys.Modify on /); write its "
                                "'id: VENDOR:PRODUCT'",
                                m->id, e->node, e->path, e->node);
                        return NULL;
                }
                if (!d || !d->vendid || !d->prodid) {
                        *why = pv_xasprintf("usb mapping '%s': no USB device at port '%s' on node '%s' ('pvfio host scan "
                                            "--usb' on the node lists the ports); plug it in or fix 'path'",
                                            m->id, e->path, e->node);
                        return NULL;
                }
                id = pv_xasprintf("%s:%s", d->vendid, d->prodid);
                for (char *q = id; *q; q++)
                        if (*q >= 'A' && *q <= 'F')
                                *q = (char)(*q | 0x20);
        }
        if (e->description && *e->description)
                return e->path ? pv_xasprintf("node=%s,path=%s,id=%s,description=%s", e->node, e->path, id,
                                              e->description)
                               : pv_xasprintf("node=%s,id=%s,description=%s", e->node, id, e->description);
        return e->path ? pv_xasprintf("node=%s,path=%s,id=%s", e->node, e->path, id)
                       : pv_xasprintf("node=%s,id=%s", e->node, id);
}

static char *join(char *const *v, size_t n) {
        struct pv_buf b = PV_BUF_INIT;
        for (size_t i = 0; i < n; i++)
                (void)pv_buf_addf(&b, NULL, "%s%s", i ? "\n" : "", v[i]);
        char *s = NULL;
        if (pv_buf_detach(&b, &s, NULL, NULL) < 0)
                s = pv_xstrdup("");
        return s;
}

static bool desc_managed(const char *tag, const char *desc) {
        _cleanup_free_ char *mk = pv_xasprintf("[%s]", tag);
        size_t dl = desc ? strlen(desc) : 0, ml = strlen(mk);
        return desc && dl >= ml && !strcmp(desc + dl - ml, mk);
}

/* Does a (present) VM of the profile on `node` (any node when NULL) use USB mapping `id`? */
static bool profile_vm_uses(const struct pv_profile *p, const char *id, const char *node) {
        for (size_t i = 0; i < p->n_vms; i++) {
                const struct pv_vm *v = &p->vms[i];
                if (v->state == PV_STATE_ABSENT || (node && (!v->node || strcmp(v->node, node))))
                        continue;
                for (size_t k = 0; k < v->n_usb; k++)
                        if (v->usb[k].mapping && !strcmp(v->usb[k].mapping, id))
                                return true;
        }
        return false;
}

static int add_action(struct pv_plan *plan, enum pv_action_kind kind, const char *id, char *reason, char *const *lines,
                      size_t n, const char *desc, struct pv_error *err) {
        struct pv_action a = { .kind = kind, .target = pv_xasprintf("usb-mapping %s", id), .reason = reason };
        int idx = pv_plan_add(plan, &a, err);
        if (idx < 0)
                return idx;
        int r = pv_action_set_usb_mapping(&plan->actions[idx], id, lines, n, desc, err);
        return r < 0 ? r : idx;
}

static int key(struct pv_plan *plan, int idx, const char *k, const char *before, const char *after, struct pv_error *err) {
        return pv_plan_add_key(plan, (size_t)idx, pv_xstrdup(k), before ? pv_xstrdup(before) : NULL,
                               after ? pv_xstrdup(after) : NULL, false, err);
}

static void block(struct pv_plan *plan, int idx, const char *why) {
        struct pv_action *a = &plan->actions[idx];
        if (why && !a->blocked)
                a->blocked = pv_xstrdup(why);
}

/* Proxmox's checks (check-node `errors`): drift where the mapping has an entry or a VM of the profile uses it. */
static int report_checks(const struct pv_profile *p, const struct pv_usb_mapping *m, const struct pv_obs_mapping *om,
                         struct pv_plan *plan, struct pv_error *err) {
        int r = 0;
        for (size_t i = 0; r == 0 && i < om->n_checks; i++) {
                const struct pv_mapping_check *c = &om->checks[i];
                const char *sev = c->severity ? c->severity : "check", *msg = c->message ? c->message : "";
                bool counts = !c->node || profile_vm_uses(p, m->id, c->node);
                for (size_t k = 0; c->node && !counts && k < m->n_map; k++)
                        counts = m->map[k].node && !strcmp(m->map[k].node, c->node);
                if (!c->node)
                        r = pv_plan_add_drift(plan, pv_xasprintf("usb mapping '%s': %s: %s", m->id, sev, msg), err);
                else if (counts)
                        r = pv_plan_add_drift(plan,
                                              pv_xasprintf("usb mapping '%s' on node '%s': %s: %s", m->id, c->node, sev, msg),
                                              err);
                else
                        r = pv_plan_add_warning(plan,
                                                pv_xasprintf("usb mapping '%s' on node '%s' (no entry, no VM of the profile "
                                                             "uses it there): %s: %s",
                                                             m->id, c->node, sev, msg),
                                                err);
        }
        return r;
}

static int plan_one(const struct pv_profile *p, const struct pv_observed *obs, const struct pv_vm_plan_opts *opts,
                    const char *tag, const struct pv_usb_mapping *m, struct pv_plan *plan, struct pv_error *err) {
        struct pv_strv lines = PV_STRV_INIT, blocked = PV_STRV_INIT;
        int r = 0;
        for (size_t i = 0; r == 0 && i < m->n_map; i++) {
                char *why = NULL, *line = entry_line(m, &m->map[i], obs, &why);
                r = line ? pv_strv_push_take(&lines, line, err) : pv_strv_push_take(&blocked, why, err);
        }
        _cleanup_free_ char *why = blocked.n ? pv_strv_join(&blocked, "; ", NULL) : NULL;
        _cleanup_free_ char *desc = m->description && *m->description ? pv_xasprintf("%s [%s]", m->description, tag)
                                                                        : pv_xasprintf("[%s]", tag);
        const struct pv_obs_mapping *om = pv_observed_usb_mapping(obs, m->id);
        int idx = 0;
        if (r < 0)
                goto out;
        if (!om) {
                idx = add_action(plan, PV_ACT_CREATE_MAPPING, m->id,
                                 pv_xasprintf("usb mapping '%s' does not exist on the cluster", m->id), lines.v, lines.n,
                                 desc, err);
                r = idx < 0 ? idx : key(plan, idx, "description", NULL, desc, err);
                for (size_t i = 0; r == 0 && i < lines.n; i++) {
                        _cleanup_free_ char *k = pv_xasprintf("map[%zu]", i);
                        r = key(plan, idx, k, NULL, lines.v[i], err);
                }
                if (r == 0 && lines.n)
                        plan->actions[idx].after = join(lines.v, lines.n);
                if (r == 0 && why) {
                        block(plan, idx, why);
                        r = pv_plan_add_warning(plan, pv_xasprintf("usb mapping '%s' cannot be created: %s", m->id, why),
                                                err);
                }
                goto out;
        }
        r = report_checks(p, m, om, plan, err);
        bool map_eq = !why && usb_maps_equal(lines.v, lines.n, om->map, om->n_map);
        bool desc_eq = str_eq(desc, om->description);
        if (r < 0 || (map_eq && desc_eq))
                goto out;
        idx = add_action(plan, PV_ACT_UPDATE_MAPPING, m->id, pv_xasprintf("usb mapping '%s' differs from the profile", m->id),
                         lines.v, lines.n, desc, err);
        if (idx < 0) {
                r = idx;
                goto out;
        }
        if (om->digest)
                plan->actions[idx].digest = pv_xstrdup(om->digest);
        if (!desc_eq)
                r = key(plan, idx, "description", om->description, desc, err);
        if (r == 0 && !map_eq && !why) {
                size_t n = lines.n > om->n_map ? lines.n : om->n_map;
                for (size_t i = 0; r == 0 && i < n; i++) {
                        const char *b = i < om->n_map ? om->map[i] : NULL, *a = i < lines.n ? lines.v[i] : NULL;
                        if (a && b && usb_lines_equal(a, b))
                                continue;
                        _cleanup_free_ char *k = pv_xasprintf("map[%zu]", i);
                        r = key(plan, idx, k, b, a, err);
                }
                if (r == 0) {
                        plan->actions[idx].after = join(lines.v, lines.n);
                        if (om->n_map)
                                plan->actions[idx].before = join(om->map, om->n_map);
                }
        }
        if (r == 0 && why)
                block(plan, idx, why);
        if (r == 0 && !desc_managed(tag, om->description) && !opts->adopt) {
                _cleanup_free_ char *w = pv_xasprintf(
                        "usb mapping '%s' exists but pvfio did not create it (its description does not end in '[%s]'); "
                        "pvfio leaves it alone: rename one of them, or adopt it with --adopt",
                        m->id, tag);
                block(plan, idx, w);
        }
out:
        pv_strv_done(&lines);
        pv_strv_done(&blocked);
        return r;
}

/* Does an observed VM config use USB mapping `id` (usbN: mapping=ID)? */
static bool config_uses(const struct pv_vm_config *c, const char *id) {
        for (size_t k = 0; c && k < c->n; k++) {
                if (strncmp(c->kv[k].key, "usb", 3) || !c->kv[k].value)
                        continue;
                const char *v = c->kv[k].value;
                const char *at = strstr(v, "mapping=");
                if (at && (at == v || at[-1] == ',')) {
                        at += strlen("mapping=");
                        size_t n = strcspn(at, ",");
                        if (n == strlen(id) && !strncmp(at, id, n))
                                return true;
                }
        }
        return false;
}

static int prune(const struct pv_profile *p, const struct pv_observed *obs, const struct pv_vm_plan_opts *opts,
                 const char *tag, struct pv_plan *plan, struct pv_error *err) {
        int r = 0;
        for (size_t i = 0; r == 0 && i < obs->n_usb_mappings; i++) {
                const struct pv_obs_mapping *om = &obs->usb_mappings[i];
                if (pv_profile_find_usb_mapping(p, om->id) || !desc_managed(tag, om->description))
                        continue;
                if (!opts->prune) {
                        r = pv_plan_add_drift(plan,
                                              pv_xasprintf("usb mapping '%s' is managed by pvfio but no longer in the "
                                                           "profile; --prune removes it",
                                                           om->id),
                                              err);
                        continue;
                }
                int idx = add_action(plan, PV_ACT_DELETE_MAPPING, om->id,
                                     pv_xasprintf("usb mapping '%s' is no longer in the profile (--prune)", om->id), NULL,
                                     0, NULL, err);
                if (idx < 0)
                        return idx;
                _cleanup_free_ char *w = NULL;
                if (profile_vm_uses(p, om->id, NULL))
                        w = pv_xasprintf("usb mapping '%s' is still used by a VM of the profile", om->id);
                for (size_t c = 0; !w && c < obs->n_configs; c++) {
                        const struct pv_vm_config *cfg = &obs->configs[c];
                        const struct pv_vm_info *info = NULL;
                        for (size_t k = 0; k < obs->n_vms; k++)
                                if (obs->vms[k].vmid == cfg->vmid)
                                        info = &obs->vms[k];
                        bool in_profile = info && info->name && pv_profile_find_vm(p, info->name);
                        if (!in_profile && config_uses(cfg, om->id))
                                w = pv_xasprintf("usb mapping '%s' is still used by vmid %" PRIu32, om->id, cfg->vmid);
                }
                block(plan, idx, w);
        }
        return r;
}

static int cmp_usb_mapping(const void *a, const void *b) {
        const struct pv_usb_mapping *x = *(const struct pv_usb_mapping *const *)a, *y = *(const struct pv_usb_mapping *const *)b;
        return strcmp(x->id ? x->id : "", y->id ? y->id : "");
}

int pv_usb_mapping_plan(const struct pv_profile *profile, const struct pv_observed *obs,
                        const struct pv_vm_plan_opts *opts, struct pv_plan *plan, struct pv_error *err) {
        static const struct pv_vm_plan_opts no_opts = { 0 };
        static const struct pv_observed no_obs = { 0 };
        opts = opts ? opts : &no_opts;
        obs = obs ? obs : &no_obs;
        const char *tag = opts->tag ? opts->tag : PV_MANAGED_TAG;
        if (opts->skip_mappings)
                return 0;
        _cleanup_free_ const struct pv_usb_mapping **v = pv_xcalloc(profile->n_usb_mappings + 1, sizeof *v);
        size_t n = 0;
        for (size_t i = 0; i < profile->n_usb_mappings; i++)
                if (profile->usb_mappings[i].id)
                        v[n++] = &profile->usb_mappings[i];
        qsort(v, n, sizeof *v, cmp_usb_mapping);
        int r = 0;
        for (size_t i = 0; r == 0 && i < n; i++)
                r = plan_one(profile, obs, opts, tag, v[i], plan, err);
        return r < 0 ? r : prune(profile, obs, opts, tag, plan, err);
}

void pv_usb_mapping_link(const struct pv_profile *profile, struct pv_plan *plan, size_t first) {
        for (size_t i = first; i < plan->n; i++) {
                struct pv_action *a = &plan->actions[i];
                const struct pv_vm_payload *vp = pv_action_vm(a);
                const struct pv_vm *vm = vp ? pv_profile_find_vm(profile, vp->name) : NULL;
                if (!vm || a->depends_on || a->kind == PV_ACT_DELETE_VM || a->kind == PV_ACT_STOP_VM)
                        continue;
                for (size_t k = 0; k < vm->n_usb && !a->depends_on; k++) {
                        if (!vm->usb[k].mapping)
                                continue;
                        for (size_t j = first; j < i && !a->depends_on; j++) {
                                const struct pv_mapping_payload *mp = pv_action_mapping(&plan->actions[j]);
                                if (mp && mp->usb && plan->actions[j].kind == PV_ACT_CREATE_MAPPING &&
                                    !strcmp(mp->id, vm->usb[k].mapping))
                                        a->depends_on = (int)(j + 1);
                        }
                }
        }
}

static int add_unique(struct pv_strv *v, const char *s, struct pv_error *err) {
        return !s || pv_strv_contains(v, s) ? 0 : pv_strv_push(v, s, err);
}

int pv_usb_observe_want(const struct pv_profile *profile, struct pv_observe_want *w, struct pv_error *err) {
        int r = 0;
        /* The listing is read whenever the cluster is, as the PCI one: a managed mapping the profile
         * dropped (all of them, even) is still seen, reported as drift and pruned. */
        w->usb_mappings = true;
        for (size_t i = 0; r >= 0 && i < profile->n_usb_mappings; i++) {
                const struct pv_usb_mapping *m = &profile->usb_mappings[i];
                for (size_t k = 0; r >= 0 && k < m->n_map; k++) {
                        r = add_unique(&w->usb_check_nodes, m->map[k].node, err);
                        if (r >= 0 && !m->map[k].id && m->map[k].path)
                                r = add_unique(&w->usb_hw_nodes, m->map[k].node, err);
                }
        }
        for (size_t i = 0; r >= 0 && i < profile->n_vms; i++) {
                const struct pv_vm *v = &profile->vms[i];
                for (size_t k = 0; r >= 0 && k < v->n_usb; k++)
                        if (v->usb[k].mapping && v->state != PV_STATE_ABSENT)
                                r = add_unique(&w->usb_check_nodes, v->node, err);
        }
        return r < 0 ? r : 0;
}
