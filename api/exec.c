/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The API executor: cluster actions of a plan → Proxmox API requests (the actions; exec_graph.c runs them). */
#include "pvfio/apiexec.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pvfio/cleanup.h"
#include "pvfio/util.h"
#include "pvfio/xalloc.h"
#include "exec_int.h"
#include "internal.h"

#define DEFAULT_SHUTDOWN_S 180u
#define DEFAULT_VMID_TRIES 10u

/* Mapping actions are built by the local planner only (a remote node's plan holds host actions only),
 * so they always carry their payload: the mapping id and its desired map entries. */
static const struct pv_mapping_payload *mapping_of(const struct pv_action *a, struct pv_error *err) {
        const struct pv_mapping_payload *m = pv_action_mapping(a);
        if (!m)
                pv_error_set(err, PV_EINVAL, "%s action without its mapping payload", pv_action_kind_to_string(a->kind));
        return m;
}

static bool is_map_key(const char *key) {
        return strncmp(key, "map[", 4) == 0 || strcmp(key, "map") == 0;
}

/* Disk-like keys need the async POST (storage allocation happens in a task). */
static bool needs_task(const char *key) {
        static const char *const prefixes[] = { "scsi", "virtio", "sata", "ide", "efidisk", "tpmstate", "unused" };
        for (size_t i = 0; i < PV_ELEMENTSOF(prefixes); i++) {
                size_t n = strlen(prefixes[i]);
                if (strncmp(key, prefixes[i], n) == 0 && key[n] >= '0' && key[n] <= '9')
                        return true;
        }
        return false;
}

static const struct pv_key_change *find_key(const struct pv_action *a, const char *key) {
        for (size_t i = 0; i < a->n_keys; i++)
                if (strcmp(a->keys[i].key, key) == 0)
                        return &a->keys[i];
        return NULL;
}

static bool map_changed(const struct pv_action *a) {
        for (size_t i = 0; i < a->n_keys; i++)
                if (is_map_key(a->keys[i].key))
                        return true;
        return false;
}

static bool flag_of(const char *v) {
        return v && strcmp(v, "1") == 0;
}

/* A key this action changes must still hold the value the plan saw; NULL when it does. */
static char *changed_since_plan(const struct pv_action *a, const struct pv_obs_mapping *now, struct pv_error *err) {
        for (size_t i = 0; i < a->n_keys; i++) {
                const struct pv_key_change *k = &a->keys[i];
                const char *cur = NULL;
                if (strcmp(k->key, "description") == 0)
                        cur = now->description;
                else if (strcmp(k->key, "mdev") == 0)
                        cur = now->mdev ? "1" : "0";
                else if (strcmp(k->key, "live-migration-capable") == 0)
                        cur = now->live_migration_capable ? "1" : "0";
                else
                        continue;
                const char *before = k->before;
                if (!before && strcmp(k->key, "description") != 0)
                        before = "0";
                if (strcmp(cur ? cur : "", before ? before : "") != 0)
                        return pv_asprintf(err, "%s is now '%s', the plan expected '%s'", k->key, cur ? cur : "",
                                           before ? before : "");
        }
        if (map_changed(a) && a->before) {
                struct pv_strv cur = PV_STRV_INIT;
                for (size_t i = 0; i < now->n_map; i++)
                        if (pv_strv_push(&cur, now->map[i], err) < 0) {
                                pv_strv_done(&cur);
                                return NULL;
                        }
                _cleanup_free_ char *joined = pv_strv_join(&cur, "\n", err);
                pv_strv_done(&cur);
                if (joined && strcmp(joined, a->before) != 0)
                        return pv_asprintf(err, "its map entries changed");
        }
        return NULL;
}

/*
 * PUT /cluster/mapping/pci/{id} runs Proxmox's check_config with create=1
 * (PVE::API2::Cluster::Mapping::PCI, update): `map` is required on every
 * update, so the whole desired object is sent, not only the changed keys.
 * The digest covers the whole mapping file, so it is read fresh right before
 * the write (mapping writes are serialized by the executor); what this
 * mapping held at plan time is checked key by key instead.
 */
static int update_mapping(struct pv_api *api, struct pv_action *a, struct worker *w, struct pv_error *err) {
        const struct pv_mapping_payload *mp = mapping_of(a, err);
        if (!mp)
                return -PV_EINVAL;
        const char *id = mp->id;
        const char *type = mp->usb ? "usb" : "pci";
        struct pv_obs_mapping now;
        int r = pv_api_mapping_get_typed(api, type, id, &now, err);
        if (r < 0)
                return r;
        struct pv_error e = PV_ERROR_INIT;
        _cleanup_free_ char *why = changed_since_plan(a, &now, &e);
        if (why) {
                r = pv_error_set(err, PV_ECONFLICT, "mapping '%s' changed since the plan (%s): plan again", id, why);
                goto out;
        }
        if (e.code) {
                pv_error_move(err, &e);
                r = -PV_ENOMEM;
                goto out;
        }
        const struct pv_key_change *k;
        struct pv_obs_mapping want = {
                .id = (char *)id,
                .description = now.description,
                .mdev = now.mdev,
                .live_migration_capable = now.live_migration_capable,
        };
        if ((k = find_key(a, "description")))
                want.description = k->after && *k->after ? k->after : NULL;
        if ((k = find_key(a, "mdev")))
                want.mdev = flag_of(k->after);
        if ((k = find_key(a, "live-migration-capable")))
                want.live_migration_capable = flag_of(k->after);
        if (map_changed(a)) {
                want.map = mp->entries;
                want.n_map = mp->n_entries;
        } else {
                want.map = now.map;
                want.n_map = now.n_map;
        }
        if (!want.n_map) {
                r = pv_error_set(err, PV_EINVAL, "mapping '%s': no map entry to send (Proxmox requires one)", id);
                goto out;
        }
        w->writes++;
        r = pv_api_mapping_update_typed(api, type, &want, now.digest, err);
out:
        pv_obs_mapping_done(&now);
        return r;
}

static int create_mapping(struct pv_api *api, struct pv_action *a, struct worker *w, struct pv_error *err) {
        /* the typed call verifies a create whose answer was lost instead of failing */
        const struct pv_mapping_payload *mp = mapping_of(a, err);
        if (!mp)
                return -PV_EINVAL;
        struct pv_obs_mapping m = { .id = mp->id, .map = mp->entries, .n_map = mp->n_entries };
        for (size_t i = 0; i < a->n_keys; i++) {
                const struct pv_key_change *k = &a->keys[i];
                if (!k->after)
                        continue;
                if (strcmp(k->key, "description") == 0)
                        m.description = k->after;
                else if (strcmp(k->key, "mdev") == 0)
                        m.mdev = flag_of(k->after);
                else if (strcmp(k->key, "live-migration-capable") == 0)
                        m.live_migration_capable = flag_of(k->after);
        }
        w->writes++;
        return pv_api_mapping_create_typed(api, mp->usb ? "usb" : "pci", &m, err);
}

static int exec_mapping(struct pv_api *api, struct pv_action *a, struct worker *w, struct pv_error *err) {
        switch (a->kind) {
        case PV_ACT_DELETE_MAPPING: {
                const struct pv_mapping_payload *mp = mapping_of(a, err);
                if (!mp)
                        return -PV_EINVAL;
                w->writes++;
                return pv_api_mapping_delete_typed(api, mp->usb ? "usb" : "pci", mp->id, err);
        }
        case PV_ACT_CREATE_MAPPING:
                return create_mapping(api, a, w, err);
        default:
                return update_mapping(api, a, w, err);
        }
}

static bool has_pci_keys(const struct pv_action *a) {
        for (size_t i = 0; i < a->n_keys; i++)
                if (strncmp(a->keys[i].key, "hostpci", 7) == 0 && a->keys[i].after)
                        return true;
        return false;
}

static void count_poll(void *userdata, const struct pv_task_status *st, unsigned elapsed_ms) {
        (void)st;
        (void)elapsed_ms;
        struct worker *w = userdata;
        w->polls++;
}

static int wait_task(struct pv_api *api, struct worker *w, const char *upid, bool has_pci, unsigned timeout_ms,
                     struct pv_error *err) {
        if (!upid)
                return 0;
        struct pv_task_wait tw = {
                .has_pci = has_pci,
                .timeout_ms = timeout_ms,
                .progress = count_poll,
                .userdata = w,
                .board = w->board,
        };
        w->tasks++;
        return pv_api_task_wait(api, upid, &tw, NULL, err);
}

static int config_params(const struct pv_action *a, struct pv_api_params *p, struct pv_strv *del, bool *async,
                         struct pv_error *err) {
        int r = 0;
        for (size_t i = 0; r >= 0 && i < a->n_keys; i++) {
                const struct pv_key_change *k = &a->keys[i];
                if (needs_task(k->key))
                        *async = true;
                if (k->after)
                        r = pv_api_params_add(p, k->key, k->after, err);
                else if (del)
                        r = pv_strv_push(del, k->key, err);
        }
        return r;
}

static bool pool_has(const struct vmid_pool *p, uint32_t id) {
        for (size_t i = 0; i < p->n; i++)
                if (p->ids[i] == id)
                        return true;
        return false;
}

/* Reserve id, or the next one no other create of this run holds (without a pool: id itself). */
uint32_t pvx_pool_take(struct vmid_pool *p, uint32_t id) {
        if (!p)
                return id;
        pthread_mutex_lock(&p->mu);
        while (pool_has(p, id))
                id++;
        if (p->n == p->alloc) {
                size_t na = p->alloc ? p->alloc * 2 : 16;
                p->ids = pv_xreallocarray(p->ids, na, sizeof *p->ids);
                p->alloc = na;
        }
        p->ids[p->n++] = id;
        pthread_mutex_unlock(&p->mu);
        return id;
}

void pvx_free_vm_infos(struct pv_vm_info *v, size_t n) {
        for (size_t i = 0; i < n; i++)
                pv_vm_info_done(&v[i]);
        free(v);
}

enum holder { HOLDER_NONE, HOLDER_OURS, HOLDER_OTHER };

/*
 * A create answered "VM N already exists": who holds N? Re-observe it (after
 * its task or `lock: create` settled): the VM this action creates (same name
 * and node: created by an earlier run whose answer was lost, or by another
 * pvfio), another VM, or nothing any more (a failed create removes its config).
 */
static int vmid_holder(struct pv_api *api, const struct pv_action *a, const char *name, uint32_t vmid,
                       unsigned settle_ms, enum holder *ret, struct pv_error *err) {
        for (int round = 0; round < 2; round++) {
                struct pv_vm_info *vms = NULL;
                size_t n = 0;
                int r = pv_api_cluster_resources(api, NULL, NULL, &vms, &n, err);
                if (r < 0)
                        return r;
                const struct pv_vm_info *v = NULL;
                for (size_t i = 0; i < n && !v; i++)
                        if (vms[i].vmid == vmid)
                                v = &vms[i];
                if (!v) {
                        pvx_free_vm_infos(vms, n);
                        *ret = HOLDER_NONE;
                        return 0;
                }
                if (v->lock && round == 0) {
                        _cleanup_free_ char *node = pv_xstrdup(v->node);
                        pvx_free_vm_infos(vms, n);
                        if ((r = pv_api_vm_settle(api, node, vmid, settle_ms, err)) < 0)
                                return r;
                        continue;
                }
                bool ours = !v->lock && name && v->name && strcmp(v->name, name) == 0 && v->node && a->node &&
                            strcmp(v->node, a->node) == 0 && pv_tags_contain(v->tags, PV_API_MANAGED_TAG);
                *ret = ours ? HOLDER_OURS : HOLDER_OTHER;
                pvx_free_vm_infos(vms, n);
                return 0;
        }
        *ret = HOLDER_OTHER;
        return 0;
}

static int create_vm(struct pv_api *api, struct pv_action *a, struct worker *w,
                     struct pv_error *err) {
        struct pv_api_params p = PV_API_PARAMS_INIT;
        bool async = true;
        int r = config_params(a, &p, NULL, &async, err);
        if (r < 0)
                goto out;
        uint32_t vmid = a->vmid;
        bool allocate = vmid == 0;
        if (allocate && w->prealloc)
                vmid = w->prealloc;
        else if (allocate && (r = pv_api_nextid(api, 0, &vmid, err)) < 0)
                goto out;
        unsigned tries = w->o && w->o->max_vmid_tries ? w->o->max_vmid_tries : DEFAULT_VMID_TRIES;
        unsigned settle_ms = pv_api_task_timeout_ms("qmcreate", 0, 0, false);
        const char *name = pv_api_params_get(&p, "name");
        for (unsigned t = 0;; t++) {
                _cleanup_free_ char *upid = NULL;
                w->writes++;
                r = pv_api_vm_create(api, a->node, vmid, &p, &upid, err);
                bool exists = r == -PV_ECONFLICT && err->message && strstr(err->message, "already exists");
                enum holder h = HOLDER_OTHER;
                if (exists || (r >= 0 && !upid)) {
                        /* never blindly take the next id (nor trust a lost answer): is the VM holding this
                         * one ours, in progress, or gone? */
                        struct pv_error e = PV_ERROR_INIT;
                        if (vmid_holder(api, a, name, vmid, settle_ms, &h, &e) < 0) {
                                pv_error_done(err);
                                pv_error_move(err, &e);
                                r = pv_error_wrap(err, "VM %" PRIu32 " exists and could not be checked", vmid);
                                goto out;
                        }
                        if (h == HOLDER_OURS) {
                                pv_error_done(err);
                                a->vmid = vmid;
                                r = 0;
                                break;
                        }
                        if (!exists && h == HOLDER_OTHER)
                                r = pv_error_set(err, PV_ECONFLICT, "POST /nodes/%s/qemu: VM %" PRIu32 " already exists "
                                                 "and is not '%s' (the answer to the create was lost)",
                                                 a->node, vmid, name ? name : "?");
                        if (h == HOLDER_OTHER && (!allocate || t + 1 >= tries))
                                goto out;
                        pv_error_done(err);
                        if (t + 1 >= tries) {
                                r = pv_error_set(err, PV_ECONFLICT, "VM %" PRIu32 ": the create did not succeed after %u tries",
                                                 vmid, tries);
                                goto out;
                        }
                        if (h == HOLDER_OTHER) {
                                /* another VM took the id between nextid and create: take the next one */
                                uint32_t next = 0;
                                if ((r = pv_api_nextid(api, 0, &next, err)) < 0)
                                        goto out;
                                vmid = pvx_pool_take(w->pool, next > vmid ? next : vmid + 1);
                        }
                        continue;
                }
                if (r < 0)
                        goto out;
                a->vmid = vmid;
                r = wait_task(api, w, upid, has_pci_keys(a), 0, err);
                break;
        }
out:
        pv_api_params_done(&p);
        return r;
}

static int update_vm(struct pv_api *api, struct pv_action *a, struct worker *w, struct pv_error *err) {
        struct pv_api_params p = PV_API_PARAMS_INIT;
        struct pv_strv del = PV_STRV_INIT;
        bool async = false;
        _cleanup_free_ char *upid = NULL;
        int r = config_params(a, &p, &del, &async, err);
        if (r >= 0) {
                w->writes++;
                r = pv_api_vm_update(api, a->node, a->vmid, &p, del.n ? &del : NULL, a->digest, async, &upid, err);
        }
        if (r >= 0)
                r = wait_task(api, w, upid, false, 0, err);
        pv_api_params_done(&p);
        pv_strv_done(&del);
        return r;
}

static int power(struct pv_api *api, struct pv_action *a, enum pv_vm_action what, unsigned timeout_ms,
                 struct worker *w, struct pv_error *err) {
        _cleanup_free_ char *upid = NULL;
        w->writes++;
        int r = pv_api_vm_action(api, a->node, a->vmid, what, &upid, err);
        if (r >= 0)
                r = wait_task(api, w, upid, what == PV_VM_START, timeout_ms, err);
        return r;
}

static int restart_vm(struct pv_api *api, struct pv_action *a, struct worker *w,
                      struct pv_error *err) {
        unsigned limit = (w->o && w->o->shutdown_timeout_s ? w->o->shutdown_timeout_s : DEFAULT_SHUTDOWN_S) * 1000u;
        struct pv_error soft = PV_ERROR_INIT;
        int r = power(api, a, PV_VM_SHUTDOWN, limit, w, &soft);
        if (r < 0) {
                /* the guest did not shut down in time (or refused): stop it */
                pv_error_done(&soft);
                r = power(api, a, PV_VM_STOP, 0, w, err);
                if (r < 0)
                        return pv_error_wrap(err, "clean shutdown failed and stop failed too");
        }
        return power(api, a, PV_VM_START, 0, w, err);
}

struct gone_check {
        const char *node;
        uint32_t vmid;
};

/* A delete whose answer was lost: once the VM's tasks settled, it is gone or it is not. */
static int verify_gone(struct pv_api *api, void *userdata, json_t **ret_data, struct pv_error *err) {
        (void)ret_data;
        const struct gone_check *c = userdata;
        int r = pv_api_vm_settle(api, c->node, c->vmid, pv_api_task_timeout_ms("qmdestroy", 0, 0, false), err);
        if (r < 0)
                return r;
        struct pv_vm_status st;
        struct pv_error e = PV_ERROR_INIT;
        r = pv_api_vm_status(api, c->node, c->vmid, &st, &e);
        if (r >= 0) {
                pv_vm_status_done(&st);
                return 0;
        }
        if (e.code == PV_ENOTFOUND) {
                pv_error_done(&e);
                return 1;
        }
        pv_error_move(err, &e);
        return r;
}

static int delete_vm(struct pv_api *api, struct pv_action *a, struct worker *w, struct pv_error *err) {
        char id[16];
        snprintf(id, sizeof id, "%" PRIu32, a->vmid);
        _cleanup_free_ char *path = pv_api_path(err, "nodes", a->node, "qemu", id, NULL);
        struct pv_api_params p = PV_API_PARAMS_INIT;
        int r = pv_api_params_add(&p, "purge", "1", err);
        if (r >= 0)
                r = pv_api_params_add(&p, "destroy-unreferenced-disks", "1", err);
        json_t *data = NULL;
        struct gone_check c = { .node = a->node, .vmid = a->vmid };
        if (r >= 0) {
                w->writes++;
                r = pv_api_call_verified(api, PV_API_DELETE, path, &p, verify_gone, &c, &data, err);
        }
        if (r >= 0 && json_is_string(data))
                r = wait_task(api, w, json_string_value(data), false, 0, err);
        json_decref(data);
        pv_api_params_done(&p);
        return r;
}

int pvx_run_one(struct pv_api *api, struct pv_action *a, struct worker *w,
                struct pv_error *err) {
        switch (a->kind) {
        case PV_ACT_CREATE_MAPPING:
        case PV_ACT_UPDATE_MAPPING:
        case PV_ACT_DELETE_MAPPING:
                return exec_mapping(api, a, w, err);
        case PV_ACT_CREATE_VM:
                return create_vm(api, a, w, err);
        case PV_ACT_UPDATE_VM:
                return update_vm(api, a, w, err);
        case PV_ACT_START_VM:
                return power(api, a, PV_VM_START, 0, w, err);
        case PV_ACT_STOP_VM:
                return power(api, a, PV_VM_STOP, 0, w, err);
        case PV_ACT_RESTART_VM:
                return restart_vm(api, a, w, err);
        case PV_ACT_DELETE_VM:
                return delete_vm(api, a, w, err);
        default:
                return pv_error_set(err, PV_EUNSUPPORTED, "'%s' is not a cluster action", pv_action_kind_to_string(a->kind));
        }
}
