/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "pvfio/plan.h"

#include <stdlib.h>
#include <string.h>

static int grow_strs(char ***v, size_t *n, char *s, struct pv_error *err) {
        if (!s)
                return pv_error_set(err, PV_ENOMEM, "out of memory");
        char **nv = realloc(*v, (*n + 2) * sizeof(char *));
        if (!nv) {
                free(s);
                return pv_error_set(err, PV_ENOMEM, "out of memory");
        }
        nv[(*n)++] = s;
        nv[*n] = NULL;
        *v = nv;
        return 0;
}

void pv_action_done(struct pv_action *a) {
        if (!a)
                return;
        free(a->target);
        free(a->node);
        free(a->reason);
        free(a->before);
        free(a->after);
        for (size_t i = 0; i < a->n_keys; i++) {
                free(a->keys[i].key);
                free(a->keys[i].before);
                free(a->keys[i].after);
        }
        free(a->keys);
        free(a->digest);
        free(a->blocked);
        free(a->error);
        memset(a, 0, sizeof *a);
}

int pv_plan_add(struct pv_plan *p, struct pv_action *a, struct pv_error *err) {
        if (p->n == p->alloc) {
                size_t n = p->alloc ? p->alloc * 2 : 16;
                struct pv_action *v = realloc(p->actions, n * sizeof *v);
                if (!v) {
                        pv_action_done(a);
                        return pv_error_set(err, PV_ENOMEM, "out of memory");
                }
                p->actions = v;
                p->alloc = n;
        }
        p->actions[p->n] = *a;
        memset(a, 0, sizeof *a);
        return (int)p->n++;
}

int pv_plan_add_key(struct pv_plan *p, size_t idx, char *key, char *before, char *after, bool pending,
                    struct pv_error *err) {
        struct pv_action *a = &p->actions[idx];
        struct pv_key_change *v = realloc(a->keys, (a->n_keys + 1) * sizeof *v);
        if (v)
                a->keys = v;
        if (!v || !key) {
                free(key);
                free(before);
                free(after);
                return pv_error_set(err, PV_ENOMEM, "out of memory");
        }
        v[a->n_keys++] = (struct pv_key_change){ key, before, after, pending };
        return 0;
}

int pv_plan_add_reboot_reason(struct pv_plan *p, char *reason, struct pv_error *err) {
        return grow_strs(&p->reboot_reasons, &p->n_reboot_reasons, reason, err);
}

int pv_plan_add_drift(struct pv_plan *p, char *note, struct pv_error *err) {
        return grow_strs(&p->drift, &p->n_drift, note, err);
}

int pv_plan_add_warning(struct pv_plan *p, char *note, struct pv_error *err) {
        return grow_strs(&p->warnings, &p->n_warnings, note, err);
}

static int move_strs(char ***dv, size_t *dn, char ***sv, size_t *sn, struct pv_error *err) {
        for (size_t i = 0; i < *sn; i++) {
                int r = grow_strs(dv, dn, (*sv)[i], err);
                (*sv)[i] = NULL;
                if (r < 0) {
                        for (size_t k = i + 1; k < *sn; k++)
                                free((*sv)[k]);
                        free(*sv);
                        *sv = NULL;
                        *sn = 0;
                        return r;
                }
        }
        free(*sv);
        *sv = NULL;
        *sn = 0;
        return 0;
}

int pv_plan_append(struct pv_plan *dst, struct pv_plan *src, struct pv_error *err) {
        size_t base = dst->n;
        int r = 0;
        for (size_t i = 0; i < src->n; i++) {
                struct pv_action *a = &src->actions[i];
                if (a->depends_on > 0)
                        a->depends_on += (int)base;
                if (r == 0)
                        r = pv_plan_add(dst, a, err) < 0 ? -1 : 0;
                else
                        pv_action_done(a);
        }
        free(src->actions);
        src->actions = NULL;
        src->n = src->alloc = 0;
        int r2 = move_strs(&dst->reboot_reasons, &dst->n_reboot_reasons, &src->reboot_reasons,
                           &src->n_reboot_reasons, err);
        int r3 = move_strs(&dst->drift, &dst->n_drift, &src->drift, &src->n_drift, err);
        int r4 = move_strs(&dst->warnings, &dst->n_warnings, &src->warnings, &src->n_warnings, err);
        dst->n_unread_nodes += src->n_unread_nodes;
        src->n_unread_nodes = 0;
        if (r < 0 || r2 < 0 || r3 < 0 || r4 < 0)
                return -PV_ENOMEM;
        return 0;
}

static void free_strs(char **v, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(v[i]);
        free(v);
}

void pv_plan_done(struct pv_plan *p) {
        if (!p)
                return;
        for (size_t i = 0; i < p->n; i++)
                pv_action_done(&p->actions[i]);
        free(p->actions);
        free_strs(p->reboot_reasons, p->n_reboot_reasons);
        free_strs(p->drift, p->n_drift);
        free_strs(p->warnings, p->n_warnings);
        memset(p, 0, sizeof *p);
}

const char *pv_action_kind_to_string(enum pv_action_kind k) {
        static const char *const names[_PV_ACT_MAX] = {
                [PV_ACT_WRITE_FILE] = "write-file",       [PV_ACT_EDIT_FILE] = "edit-file",
                [PV_ACT_REMOVE_FILE] = "remove-file",     [PV_ACT_RUN_COMMAND] = "run-command",
                [PV_ACT_REBIND_DEVICE] = "rebind-device", [PV_ACT_SET_SRIOV] = "set-sriov",
                [PV_ACT_CREATE_MAPPING] = "create-mapping", [PV_ACT_UPDATE_MAPPING] = "update-mapping",
                [PV_ACT_DELETE_MAPPING] = "delete-mapping", [PV_ACT_CREATE_VM] = "create-vm",
                [PV_ACT_UPDATE_VM] = "update-vm",         [PV_ACT_DELETE_VM] = "delete-vm",
                [PV_ACT_START_VM] = "start-vm",           [PV_ACT_STOP_VM] = "stop-vm",
                [PV_ACT_RESTART_VM] = "restart-vm",
        };
        return (unsigned)k < _PV_ACT_MAX ? names[k] : NULL;
}

const char *pv_action_status_to_string(enum pv_action_status s) {
        switch (s) {
        case PV_ACT_PLANNED: return "planned";
        case PV_ACT_DONE: return "done";
        case PV_ACT_FAILED: return "failed";
        case PV_ACT_SKIPPED: return "skipped";
        case PV_ACT_BLOCKED: return "blocked";
        }
        return NULL;
}

bool pv_action_is_host(enum pv_action_kind k) {
        return k <= PV_ACT_SET_SRIOV;
}
