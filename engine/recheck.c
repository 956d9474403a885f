/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The optimistic apply lock: observe and plan again under the lock, compare (recheck.h). */
#include "recheck.h"

#include <stdlib.h>
#include <string.h>

#include "pvfio/api.h"
#include "pvfio/apiexec.h"
#include "pvfio/observe.h"
#include "pvfio/vmplan.h"
#include "pvfio/xalloc.h"

#define MAX_ROUNDS 3

static bool streq(const char *a, const char *b) {
        return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static bool is_cluster(const struct pv_action *a) {
        return !pv_action_is_host(a->kind);
}

bool pv_plan_writes_cluster(const struct pv_plan *plan, size_t first) {
        for (size_t i = first; i < plan->n; i++)
                if (is_cluster(&plan->actions[i]) && !plan->actions[i].blocked)
                        return true;
        return false;
}

/* Actions that change a VM's config (so its config and digest must be read again under the lock). */
static bool writes_config(enum pv_action_kind k) {
        return k == PV_ACT_UPDATE_VM || k == PV_ACT_DELETE_VM || k == PV_ACT_RESTART_VM;
}

static bool has_id(const uint32_t *ids, size_t n, uint32_t id) {
        for (size_t i = 0; i < n; i++)
                if (ids[i] == id)
                        return true;
        return false;
}

/* Add the vmids whose config plan[first..] writes to ids; returns how many were new. */
static size_t add_written(const struct pv_plan *plan, size_t first, uint32_t **ids, size_t *n) {
        size_t added = 0;
        for (size_t i = first; i < plan->n; i++) {
                const struct pv_action *a = &plan->actions[i];
                if (!is_cluster(a) || a->blocked || !a->vmid || !writes_config(a->kind) || has_id(*ids, *n, a->vmid))
                        continue;
                *ids = pv_xreallocarray(*ids, *n + 1, sizeof **ids);
                (*ids)[(*n)++] = a->vmid;
                added++;
        }
        return added;
}

static bool same_keys(const struct pv_action *a, const struct pv_action *b) {
        if (a->n_keys != b->n_keys)
                return false;
        for (size_t k = 0; k < a->n_keys; k++) {
                const struct pv_key_change *x = &a->keys[k], *y = &b->keys[k];
                if (!streq(x->key, y->key) || !streq(x->before, y->before) || !streq(x->after, y->after) ||
                    x->pending_until_restart != y->pending_until_restart)
                        return false;
        }
        return true;
}

static bool same_action(const struct pv_action *a, size_t a_first, const struct pv_action *b, size_t b_first) {
        /* a create's vmid may be picked from a listing that moved on: which free id it gets is no change */
        bool vmid_matters = a->kind != PV_ACT_CREATE_VM;
        size_t da = a->depends_on ? (size_t)a->depends_on - a_first : 0;
        size_t db = b->depends_on ? (size_t)b->depends_on - b_first : 0;
        return a->kind == b->kind && streq(a->node, b->node) && streq(a->target, b->target) && streq(a->key, b->key) &&
               (!vmid_matters || a->vmid == b->vmid) && streq(a->blocked, b->blocked) && a->unsafe == b->unsafe &&
               a->needs_reboot == b->needs_reboot && a->pending_until_restart == b->pending_until_restart &&
               da == db && streq(a->before, b->before) && streq(a->after, b->after) && same_keys(a, b);
}

bool pv_plan_cluster_same(const struct pv_plan *a, size_t a_first, const struct pv_plan *b, size_t b_first) {
        size_t i = a_first, k = b_first;
        for (;;) {
                while (i < a->n && !is_cluster(&a->actions[i]))
                        i++;
                while (k < b->n && !is_cluster(&b->actions[k]))
                        k++;
                if (i >= a->n || k >= b->n)
                        return i >= a->n && k >= b->n;
                if (!same_action(&a->actions[i], a_first, &b->actions[k], b_first))
                        return false;
                i++;
                k++;
        }
}

/* The plans are the same: take the digests (read under the lock) and the vmids of fresh into plan. */
static void refresh(struct pv_plan *plan, size_t first, const struct pv_plan *fresh) {
        size_t i = first, k = 0;
        for (;;) {
                while (i < plan->n && !is_cluster(&plan->actions[i]))
                        i++;
                while (k < fresh->n && !is_cluster(&fresh->actions[k]))
                        k++;
                if (i >= plan->n || k >= fresh->n)
                        return;
                struct pv_action *a = &plan->actions[i++];
                const struct pv_action *b = &fresh->actions[k++];
                free(a->digest);
                a->digest = b->digest ? pv_xstrdup(b->digest) : NULL;
                a->vmid = b->vmid;
                if (a->payload_kind == PV_PAYLOAD_VM && b->payload_kind == PV_PAYLOAD_VM)
                        a->payload.vm.vmid = b->payload.vm.vmid;
        }
}

void pv_plan_truncate(struct pv_plan *p, size_t n_actions, size_t n_drift, size_t n_warnings) {
        for (size_t i = n_actions; i < p->n; i++)
                pv_action_done(&p->actions[i]);
        if (n_actions < p->n)
                p->n = n_actions;
        for (size_t i = n_drift; i < p->n_drift; i++)
                free(p->drift[i]);
        if (n_drift < p->n_drift) {
                p->n_drift = n_drift;
                p->drift[n_drift] = NULL;
        }
        for (size_t i = n_warnings; i < p->n_warnings; i++)
                free(p->warnings[i]);
        if (n_warnings < p->n_warnings) {
                p->n_warnings = n_warnings;
                p->warnings[n_warnings] = NULL;
        }
}

/* VMs in progress that may be the profile's and are being created (no name yet): their ids as text. */
static int creating_now(struct pv_api *api, const struct pv_profile *p, const struct pv_observed *obs,
                        struct pv_strv *ret, struct pv_error *err) {
        struct pv_strv busy = PV_STRV_INIT;
        int r = pv_api_busy_vms(api, pv_vm_maybe_ours, p, obs->vms, obs->n_vms, &busy, NULL, err);
        for (size_t i = 0; r >= 0 && i < busy.n; i++)
                if (strstr(busy.v[i], "(lock: create"))
                        r = pv_strv_push(ret, busy.v[i], err);
        pv_strv_done(&busy);
        return r;
}

int pv_engine_recheck(const struct pv_engine_events *ev, struct pv_apply_lock *lock, struct pv_recheck *rc,
                      struct pv_plan *plan, size_t first, struct pv_plan *ret_fresh, bool *ret_same,
                      struct pv_error *err) {
        *ret_same = true;
        int r = pv_apply_lock_take(ev, rc->api, lock, err);
        if (r < 0 || !lock->held)
                return r;
        struct pv_observe_want want;
        if ((r = pv_observe_want_from_profile(rc->profile, &want, err)) < 0)
                return r;
        uint32_t *ids = NULL;
        size_t n_ids = 0;
        struct pv_plan fresh = PV_PLAN_INIT;
        struct pv_strv creating = PV_STRV_INIT;
        struct pv_observe_stats st = { 0 };
        add_written(plan, first, &ids, &n_ids);
        for (unsigned round = 0; r >= 0 && round < MAX_ROUNDS; round++) {
                pv_plan_done(&fresh);
                pv_strv_done(&creating);
                r = pv_api_reobserve(rc->api, &want, NULL, ids, n_ids, rc->obs, NULL, &st, err);
                if (r >= 0)
                        r = creating_now(rc->api, rc->profile, rc->obs, &creating, err);
                if (r >= 0)
                        r = rc->replan(rc->userdata, rc->obs, &creating, &fresh, err);
                /* the new plan writes a VM whose config was kept from the first read: read it too */
                if (r < 0 || !add_written(&fresh, 0, &ids, &n_ids))
                        break;
        }
        rc->requests += st.requests;
        if (r >= 0) {
                pv_log_debug(pv_engine_log(ev), "apply lock: re-observed %lu requests, %zu configs read again",
                             st.requests, n_ids);
                *ret_same = pv_plan_cluster_same(plan, first, &fresh, 0);
                if (*ret_same)
                        refresh(plan, first, &fresh);
                else
                        *ret_fresh = fresh, fresh = (struct pv_plan)PV_PLAN_INIT;
        }
        pv_plan_done(&fresh);
        pv_strv_done(&creating);
        pv_observe_want_done(&want);
        free(ids);
        return r;
}
