/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The VM and mapping planner: profile + observed cluster → cluster actions.
 * Pure and deterministic (see include/pvfio/vmplan.h for the contract).
 *
 * This file holds the action helpers, the VM pass and pv_vm_plan_build; the
 * mapping pass is in vmplan_mappings.c (shared: vmplan_int.h).
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

static char *vasp(struct pv_error *err, const char *fmt, va_list ap) {
        (void)err;      /* allocation does not fail (pvfio/xalloc.h) */
        char *s = NULL;
        if (vasprintf(&s, fmt, ap) < 0)
                pv_oom(strlen(fmt));
        return s;
}

char *pvm_asp(struct pv_error *err, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        char *s = vasp(err, fmt, ap);
        va_end(ap);
        return s;
}

/* Append an action; returns its 1-based local index or <0. target/reason are taken. */
int pvm_act(struct planner *pl, enum pv_action_kind kind, const char *node, uint32_t vmid, char *target,
            char *reason, struct pv_error *err) {
        struct pv_action a = { .kind = kind, .vmid = vmid, .target = target, .reason = reason };
        a.node = pv_xstrdup(node);
        int r = pv_plan_add(&pl->plan, &a, err);
        return r < 0 ? r : r + 1;
}

struct pv_action *pvm_A(struct planner *pl, int idx) {
        return &pl->plan.actions[idx - 1];
}

/* The typed payload of VM action idx (1-based); returns idx, or <0 (also when idx is). */
static int vm_payload(struct planner *pl, int idx, const char *name, uint32_t vmid, struct pv_error *err) {
        if (idx < 0)
                return idx;
        int r = pv_action_set_vm(pvm_A(pl, idx), name, vmid, err);
        return r < 0 ? r : idx;
}

/* The typed payload of mapping action idx (1-based): the desired object; returns idx or <0. */
int pvm_mapping_payload(struct planner *pl, int idx, const char *id, const struct pv_strv *lines, const char *desc,
                        bool mdev, bool lmc, struct pv_error *err) {
        if (idx < 0)
                return idx;
        int r = pv_action_set_mapping(pvm_A(pl, idx), id, lines ? lines->v : NULL, lines ? lines->n : 0, desc, mdev, lmc, err);
        return r < 0 ? r : idx;
}

int pvm_set_blocked(struct planner *pl, int idx, const char *why, struct pv_error *err) {
        struct pv_action *a = pvm_A(pl, idx);
        if (!why || a->blocked)
                return 0;
        (void)err;      /* allocation does not fail (pvfio/xalloc.h) */
        a->blocked = pv_xstrdup(why);
        return 0;
}

int pvm_add_key(struct planner *pl, int idx, const char *key, const char *before, const char *after, bool pending,
                struct pv_error *err) {
        char *k = pv_xstrdup(key), *b = pv_xstrdup(before), *a = pv_xstrdup(after);
        return pv_plan_add_key(&pl->plan, (size_t)idx - 1, k, b, a, pending, err);
}

int pvm_drift(struct planner *pl, struct pv_error *err, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        char *s = vasp(err, fmt, ap);
        va_end(ap);
        return pv_plan_add_drift(&pl->plan, s, err);
}

int pvm_warn(struct planner *pl, struct pv_error *err, const char *fmt, ...) {
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
                        return pvm_asp(err, "node '%s' is %s", node, n->status);
                return NULL;
        }
        return pvm_asp(err, "node '%s' is not a node of this cluster", node);
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
        _cleanup_free_ char *rom_name = pv_xstrdup(h.romfile);
        pv_hostpci_done(&h);
        if (!raw && !rom)
                return NULL;
        const char *who = c->auth == PV_AUTH_TOKEN ? "an API token" : "a password session of another user";
        const char *whoname = c->auth == PV_AUTH_TOKEN ? c->token_id : c->user;
        if (raw)
                return pvm_asp(err,
                               "%s uses the raw PCI device %s, but pvfio talks to Proxmox with %s ('%s'): Proxmox accepts raw hostpciN only from root@pam with a password session (an API token, even root@pam!tok, is refused with 'only root can set '%s' config for non-mapped devices'); declare a mapping (mappings: [{id: ID, map: [{node: %s, path: %s}]}]) and use 'mapping: ID' for vm '%s', or switch cluster.auth to user: root@pam",
                               key, a, who, whoname ? whoname : "", key, vm->node, a, vm->name);
        return pvm_asp(err,
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
        _cleanup_free_ char *lock = v->lock ? pvm_asp(err, "vm is locked ('%s')", v->lock) : NULL;
        if (is_running(v)) {
                dep = pvm_act(pl, PV_ACT_STOP_VM, v->node, v->vmid, pvm_asp(err, "vm %s", v->name ? v->name : ""),
                              pvm_asp(err, "stop before deleting (%s)", why), err);
                dep = vm_payload(pl, dep, v->name, v->vmid, err);
                if (dep < 0)
                        return dep;
                if (lock)
                        pvm_set_blocked(pl, dep, lock, err);   /* does not fail (pvfio/xalloc.h) */
        }
        int idx = pvm_act(pl, PV_ACT_DELETE_VM, v->node, v->vmid, pvm_asp(err, "vm %s", v->name ? v->name : ""), pv_xstrdup(why), err);
        idx = vm_payload(pl, idx, v->name, v->vmid, err);
        if (idx < 0)
                return idx;
        pvm_A(pl, idx)->depends_on = dep;
        return lock ? pvm_set_blocked(pl, idx, lock, err) : 0;
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
static void diff_config(const struct planner *pl, const struct pv_vm_desired *d, const struct pv_vm_config *c,
                        struct change **ret, size_t *ret_n) {
        struct change *v = pv_xcalloc(d->n + c->n + 1, sizeof *v);
        size_t n = 0;
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
}

/* Pending keys that already hold the desired value (sent before, waiting for a restart). */
static int pending_matches(const struct planner *pl, const struct pv_vm_desired *d, uint32_t vmid, struct pv_strv *ret,
                           struct pv_error *err) {
        const struct pv_vm_pending *p = pv_observed_pending(pl->obs, vmid);
        const struct pv_vm_config *cfg = pv_observed_config(pl->obs, vmid);
        int r = 0;
        for (size_t i = 0; p && r == 0 && i < p->n; i++) {
                const struct pv_pending *e = &p->v[i];
                if (!e->key || !pv_vmconfig_key_managed(e->key) || pv_vmconfig_key_hotplugs(e->key, cfg))
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
                if (!v->is_template && pvm_vm_info_managed(pl, v)) {
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
                m->conflict = pvm_asp(err, PV_VMPLAN_DUPLICATE_NAME " '%s' (vmids %s); pvfio cannot tell which one is meant: rename the others",
                                      vm->name, ids.buf);
                return 0;
        }
        m->info = cands[0];
        if (cands[0]->is_template)
                m->conflict = pvm_asp(err, "'%s' is a template (vmid %" PRIu32 "); pvfio does not manage templates", vm->name,
                                      cands[0]->vmid);
        else if (!pl->opts->adopt)
                m->conflict = pvm_asp(err,
                                      "a VM named '%s' already exists (vmid %" PRIu32 " on '%s') but is not managed by pvfio (no '%s' tag); pvfio leaves it alone: rename one of them, or adopt it with --adopt",
                                      vm->name, cands[0]->vmid, cands[0]->node ? cands[0]->node : "?", pl->tag);
        return 0;
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
                        r = pvm_warn(pl, err, "vm '%s' (%" PRIu32 ") has state: absent but is not managed by pvfio (no '%s' tag); left alone",
                                     vm->name, info->vmid, pl->tag);
                else if (m.conflict)
                        r = pvm_warn(pl, err, "vm '%s' has state: absent: %s", vm->name, m.conflict);
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
                                      pvm_asp(err, "vm is on node '%s' but the profile places it on '%s'; pvfio does not migrate VMs: migrate it or change the profile",
                                              info->node, vm->node),
                                      err);
        if (r == 0 && info && info->lock)
                r = pv_strv_push_take(&blocked, pvm_asp(err, "vm is locked ('%s')", info->lock), err);
        if (r == 0 && info && !cfg)
                r = pv_strv_push_take(&blocked, pvm_asp(err, "the configuration of vmid %" PRIu32 " was not observed", info->vmid),
                                      err);
        if (r < 0)
                goto out;

        if (!info) {
                /* ------------------------------------------------------ create */
                if (vm->vmid) {
                        for (size_t i = 0; r == 0 && i < pl->obs->n_vms; i++)
                                if (pl->obs->vms[i].vmid == vm->vmid)
                                        r = pv_strv_push_take(&blocked,
                                                              pvm_asp(err, "vmid %" PRIu32 " is already used by vm '%s' on '%s'; choose another vmid or leave it out",
                                                                      vm->vmid, pl->obs->vms[i].name ? pl->obs->vms[i].name : "",
                                                                      pl->obs->vms[i].node ? pl->obs->vms[i].node : "?"),
                                                              err);
                }
                for (size_t i = 0; r == 0 && i < d.n; i++) {
                        r = pvm_key_gates(pl, vm->node, d.kv[i].key, d.kv[i].value, &blocked, err);
                        if (r < 0 || strncmp(d.kv[i].key, "hostpci", 7) != 0)
                                continue;
                        char *rp = raw_problem(pl, vm, d.kv[i].key, d.kv[i].value, err);
                        if (rp)
                                r = pv_strv_push_take(&blocked, rp, err);
                }
                if (r < 0 || (blocked.n && !(why = pv_strv_join(&blocked, "; ", NULL)))) {
                        r = r < 0 ? r : pv_error_set(err, PV_ETOOBIG, "the reasons vm '%s' is blocked are too long to list", vm->name);
                        goto out;
                }
                int idx = pvm_act(pl, PV_ACT_CREATE_VM, vm->node, vm->vmid, pvm_asp(err, "vm %s", vm->name),
                                  pvm_asp(err, "vm '%s' does not exist on the cluster", vm->name), err);
                idx = vm_payload(pl, idx, vm->name, vm->vmid, err);
                if (idx < 0) {
                        r = idx;
                        goto out;
                }
                pvm_A(pl, idx)->depends_on = mapping_dependency(pl, &d);
                for (size_t i = 0; r == 0 && i < d.n; i++)
                        r = pvm_add_key(pl, idx, d.kv[i].key, NULL, d.kv[i].value, false, err);
                if (r == 0)
                        r = pvm_set_blocked(pl, idx, why, err);
                if (r == 0 && vm->state == PV_STATE_RUNNING) {
                        int s = pvm_act(pl, PV_ACT_START_VM, vm->node, vm->vmid, pvm_asp(err, "vm %s", vm->name),
                                        pv_xstrdup("state: running"), err);
                        s = vm_payload(pl, s, vm->name, vm->vmid, err);
                        if (s < 0)
                                r = s;
                        else
                                pvm_A(pl, s)->depends_on = idx;
                }
                goto out;
        }

        /* ---------------------------------------------------------- update */
        bool running = is_running(info);
        bool want_stopped = vm->state == PV_STATE_STOPPED;
        if (cfg)
                diff_config(pl, &d, cfg, &ch, &n_ch);
        for (size_t i = 0; r == 0 && i < n_ch; i++) {
                r = pvm_key_gates(pl, info->node ? info->node : vm->node, ch[i].key, ch[i].after, &blocked, err);
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
                r = r < 0 ? r : pv_error_set(err, PV_ETOOBIG, "the reasons vm '%s' is blocked are too long to list", vm->name);
                goto out;
        }
        int dep = 0, upd = 0;
        bool upd_pending = false;
        if (want_stopped && running) {
                dep = pvm_act(pl, PV_ACT_STOP_VM, info->node, vmid, pvm_asp(err, "vm %s", vm->name), pv_xstrdup("state: stopped"), err);
                dep = vm_payload(pl, dep, vm->name, vmid, err);
                if (dep < 0) {
                        r = dep;
                        goto out;
                }
                if (info->lock && (r = pvm_set_blocked(pl, dep, why, err)) < 0)
                        goto out;
                running = false;
        }
        if (n_ch || (why && !cfg)) {
                upd = pvm_act(pl, PV_ACT_UPDATE_VM, info->node, vmid, pvm_asp(err, "vm %s", vm->name),
                              n_ch ? pvm_asp(err, "%zu key%s differ%s from the profile", n_ch, n_ch == 1 ? "" : "s", n_ch == 1 ? "s" : "")
                               : pv_xstrdup("vm cannot be reconciled"),
                          err);
                upd = vm_payload(pl, upd, vm->name, vmid, err);
                if (upd < 0) {
                        r = upd;
                        goto out;
                }
                struct pv_action *a = pvm_A(pl, upd);
                a->depends_on = dep ? dep : mapping_dependency(pl, &d);
                if (cfg && cfg->digest)
                        a->digest = pv_xstrdup(cfg->digest);
                for (size_t i = 0; r == 0 && i < n_ch; i++) {
                        bool p = running && !pv_vmconfig_key_hotplugs(ch[i].key, cfg);
                        upd_pending |= p;
                        r = pvm_add_key(pl, upd, ch[i].key, ch[i].before, ch[i].after, p, err);
                }
                pvm_A(pl, upd)->pending_until_restart = upd_pending;
                if (r == 0)
                        r = pvm_set_blocked(pl, upd, why, err);
                if (r < 0)
                        goto out;
        }
        if (vm->state == PV_STATE_RUNNING && !running) {
                int s = pvm_act(pl, PV_ACT_START_VM, info->node, vmid, pvm_asp(err, "vm %s", vm->name), pv_xstrdup("state: running"), err);
                s = vm_payload(pl, s, vm->name, vmid, err);
                if (s < 0) {
                        r = s;
                        goto out;
                }
                pvm_A(pl, s)->depends_on = upd ? upd : dep;
                if ((r = pvm_set_blocked(pl, s, why, err)) < 0)
                        goto out;
        }
        if (running && (upd_pending || pend.n)) {
                struct pv_strv keys = PV_STRV_INIT;
                for (size_t i = 0; r == 0 && i < pend.n; i++)
                        r = pv_strv_push(&keys, pend.v[i], err);
                for (size_t i = 0; r == 0 && upd && i < pvm_A(pl, upd)->n_keys; i++)
                        if (pvm_A(pl, upd)->keys[i].pending_until_restart &&
                            !pv_strv_contains(&keys, pvm_A(pl, upd)->keys[i].key))
                                r = pv_strv_push(&keys, pvm_A(pl, upd)->keys[i].key, err);
                _cleanup_free_ char *list = r == 0 ? pv_strv_join(&keys, ", ", NULL) : NULL;
                pv_strv_done(&keys);
                if (r == 0 && !list)    /* past the buffer's cap */
                        r = pv_error_set(err, PV_ETOOBIG, "the keys pending on vm '%s' are too many to list", vm->name);
                if (r == 0 && pl->opts->restart) {
                        int s = pvm_act(pl, PV_ACT_RESTART_VM, info->node, vmid, pvm_asp(err, "vm %s", vm->name),
                                        pvm_asp(err, "apply changes pending until restart: %s", list), err);
                        s = vm_payload(pl, s, vm->name, vmid, err);
                        if (s < 0)
                                r = s;
                        else {
                                pvm_A(pl, s)->depends_on = upd;
                                pvm_A(pl, s)->pending_until_restart = true;
                                r = pvm_set_blocked(pl, s, why, err);
                        }
                } else if (r == 0 && pend.n) {
                        _cleanup_free_ char *pl_list = pv_strv_join(&pend, ", ", NULL);
                        r = pl_list ? pvm_drift(pl, err,
                                                "vm '%s' (%" PRIu32 "): %s already changed, pending until the VM is restarted (--restart applies it)",
                                                vm->name, vmid, pl_list)
                                    : pv_error_set(err, PV_ETOOBIG, "the keys pending on vm '%s' are too many to list",
                                                   vm->name);
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
        const struct pv_vm_info **v = pv_xcalloc(pl->obs->n_vms ? pl->obs->n_vms : 1, sizeof *v);
        size_t n = 0;
        int r = 0;
        for (size_t i = 0; i < pl->obs->n_vms; i++) {
                const struct pv_vm_info *info = &pl->obs->vms[i];
                if (!info->is_template && !pvm_profile_vm(pl->p, info->name) && pvm_vm_info_managed(pl, info))
                        v[n++] = info;
        }
        qsort(v, n, sizeof *v, cmp_info);
        for (size_t i = 0; r == 0 && i < n; i++) {
                if (pl->opts->prune)
                        r = plan_delete(pl, v[i], "no longer in the profile (--prune)", err);
                else
                        r = pvm_drift(pl, err, "vm '%s' (%" PRIu32 ") is managed by pvfio but no longer in the profile; --prune removes it",
                                      v[i]->name ? v[i]->name : "", v[i]->vmid);
        }
        free(v);
        return r;
}

/* An action that depends on a blocked one is blocked too (same reason). */
static void propagate_blocked(struct planner *pl) {
        for (size_t i = 0; i < pl->plan.n; i++) {
                struct pv_action *a = &pl->plan.actions[i];
                int dep = a->depends_on;
                if (a->blocked || dep <= 0 || (size_t)dep > i)
                        continue;
                const struct pv_action *d = &pl->plan.actions[dep - 1];
                if (d->blocked)
                        a->blocked = pv_xstrdup(d->blocked);
        }
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
                                        hit = pv_pci_addrs_overlap(da->addrs, da->n_addrs, db->addrs, db->n_addrs);
                                }
                        if (hit) {
                                char s[PV_PCI_ADDR_MAX];
                                pv_pci_addr_format(hit, s);
                                r = pvm_warn(pl, err,
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
        const struct pv_mapping **maps = pv_xcalloc(profile->n_mappings + 1, sizeof *maps);
        const struct pv_vm **vms = pv_xcalloc(profile->n_vms + 1, sizeof *vms);
        pl.maps = pv_xcalloc(profile->n_mappings + 1, sizeof *pl.maps);
        int r = pv_claims_new(&pl.claims, err);
        if (r < 0)
                goto out;
        for (size_t i = 0; i < profile->n_mappings; i++)
                maps[i] = &profile->mappings[i];
        qsort(maps, profile->n_mappings, sizeof *maps, pvm_cmp_mapping);
        for (size_t i = 0; i < profile->n_vms; i++)
                vms[i] = &profile->vms[i];
        qsort(vms, profile->n_vms, sizeof *vms, cmp_vm);

        for (size_t i = 0; r == 0 && !pl.opts->skip_mappings && i < profile->n_mappings; i++)
                r = pvm_plan_mapping(&pl, maps[i], err);
        if (r == 0)
                r = pv_usb_mapping_plan(profile, pl.obs, pl.opts, &pl.plan, err); /* usbmap.c */
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
                r = pvm_prune_mappings(&pl, err);
        if (r == 0)
                pv_usb_mapping_link(profile, &pl.plan, 0);
        if (r == 0)
                propagate_blocked(&pl);
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
