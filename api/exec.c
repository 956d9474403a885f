/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The API executor: cluster actions of a plan → Proxmox API requests. */
#include "pvfio/apiexec.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pvfio/cleanup.h"

#define DEFAULT_SHUTDOWN_S 180u
#define DEFAULT_VMID_TRIES 10u

static const char *id_of_target(const struct pv_action *a, const char *prefix) {
        size_t n = strlen(prefix);
        if (a->target && strncmp(a->target, prefix, n) == 0)
                return a->target + n;
        return a->target ? a->target : "";
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

static int add_map_lines(struct pv_api_params *p, const char *after, struct pv_error *err) {
        const char *s = after ? after : "";
        while (*s) {
                size_t n = strcspn(s, "\n");
                if (n) {
                        _cleanup_free_ char *line = strndup(s, n);
                        if (!line)
                                return pv_error_set(err, PV_ENOMEM, "out of memory");
                        int r = pv_api_params_add(p, "map", line, err);
                        if (r < 0)
                                return r;
                }
                s += n;
                if (*s)
                        s++;
        }
        return 0;
}

/* The desired map lines of a mapping action (its `after`, one property string per line). */
static int map_lines(const char *after, struct pv_strv *out, struct pv_error *err) {
        struct pv_api_params lines = PV_API_PARAMS_INIT;
        int r = add_map_lines(&lines, after, err);
        for (size_t i = 0; r >= 0 && i < lines.n; i++)
                r = pv_strv_push(out, lines.v[i].value, err);
        pv_api_params_done(&lines);
        return r;
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
static int update_mapping(struct pv_api *api, struct pv_action *a, unsigned long *writes, struct pv_error *err) {
        const char *id = id_of_target(a, "mapping ");
        struct pv_obs_mapping now;
        int r = pv_api_mapping_get(api, id, &now, err);
        if (r < 0)
                return r;
        struct pv_strv map = PV_STRV_INIT;
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
                if ((r = map_lines(a->after, &map, err)) < 0)
                        goto out;
                want.map = map.v;
                want.n_map = map.n;
        } else {
                want.map = now.map;
                want.n_map = now.n_map;
        }
        if (!want.n_map) {
                r = pv_error_set(err, PV_EINVAL, "mapping '%s': no map entry to send (Proxmox requires one)", id);
                goto out;
        }
        (*writes)++;
        r = pv_api_mapping_update(api, &want, now.digest, err);
out:
        pv_strv_done(&map);
        pv_obs_mapping_done(&now);
        return r;
}

static int create_mapping(struct pv_api *api, struct pv_action *a, unsigned long *writes, struct pv_error *err) {
        /* the typed call verifies a create whose answer was lost instead of failing */
        struct pv_obs_mapping m = { .id = (char *)id_of_target(a, "mapping ") };
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
        struct pv_strv map = PV_STRV_INIT;
        int r = map_lines(a->after, &map, err);
        if (r >= 0) {
                m.map = map.v;
                m.n_map = map.n;
                (*writes)++;
                r = pv_api_mapping_create(api, &m, err);
        }
        pv_strv_done(&map);
        return r;
}

static int exec_mapping(struct pv_api *api, struct pv_action *a, unsigned long *writes, struct pv_error *err) {
        switch (a->kind) {
        case PV_ACT_DELETE_MAPPING:
                (*writes)++;
                return pv_api_mapping_delete(api, id_of_target(a, "mapping "), err);
        case PV_ACT_CREATE_MAPPING:
                return create_mapping(api, a, writes, err);
        default:
                return update_mapping(api, a, writes, err);
        }
}

static bool has_pci_keys(const struct pv_action *a) {
        for (size_t i = 0; i < a->n_keys; i++)
                if (strncmp(a->keys[i].key, "hostpci", 7) == 0 && a->keys[i].after)
                        return true;
        return false;
}

static int wait_task(struct pv_api *api, const char *upid, bool has_pci, unsigned timeout_ms, struct pv_error *err) {
        if (!upid)
                return 0;
        struct pv_task_wait w = { .has_pci = has_pci, .timeout_ms = timeout_ms };
        return pv_api_task_wait(api, upid, &w, NULL, err);
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

static int create_vm(struct pv_api *api, struct pv_action *a, const struct pv_api_exec_opts *o, unsigned long *writes,
                     struct pv_error *err) {
        struct pv_api_params p = PV_API_PARAMS_INIT;
        bool async = true;
        int r = config_params(a, &p, NULL, &async, err);
        if (r < 0)
                goto out;
        uint32_t vmid = a->vmid;
        bool allocate = vmid == 0;
        if (allocate && (r = pv_api_nextid(api, 0, &vmid, err)) < 0)
                goto out;
        unsigned tries = o && o->max_vmid_tries ? o->max_vmid_tries : DEFAULT_VMID_TRIES;
        for (unsigned t = 0;; t++) {
                _cleanup_free_ char *upid = NULL;
                (*writes)++;
                r = pv_api_vm_create(api, a->node, vmid, &p, &upid, err);
                if (r == -PV_ECONFLICT && allocate && t + 1 < tries && err->message &&
                    strstr(err->message, "already exists")) {
                        /* another client took the id between nextid and create: take the next one */
                        pv_error_done(err);
                        uint32_t next = 0;
                        if ((r = pv_api_nextid(api, 0, &next, err)) < 0)
                                goto out;
                        vmid = next > vmid ? next : vmid + 1;
                        continue;
                }
                if (r < 0)
                        goto out;
                a->vmid = vmid;
                r = wait_task(api, upid, has_pci_keys(a), 0, err);
                break;
        }
out:
        pv_api_params_done(&p);
        return r;
}

static int update_vm(struct pv_api *api, struct pv_action *a, unsigned long *writes, struct pv_error *err) {
        struct pv_api_params p = PV_API_PARAMS_INIT;
        struct pv_strv del = PV_STRV_INIT;
        bool async = false;
        _cleanup_free_ char *upid = NULL;
        int r = config_params(a, &p, &del, &async, err);
        if (r >= 0) {
                (*writes)++;
                r = pv_api_vm_update(api, a->node, a->vmid, &p, del.n ? &del : NULL, a->digest, async, &upid, err);
        }
        if (r >= 0)
                r = wait_task(api, upid, false, 0, err);
        pv_api_params_done(&p);
        pv_strv_done(&del);
        return r;
}

static int power(struct pv_api *api, struct pv_action *a, enum pv_vm_action what, unsigned timeout_ms,
                 unsigned long *writes, struct pv_error *err) {
        _cleanup_free_ char *upid = NULL;
        (*writes)++;
        int r = pv_api_vm_action(api, a->node, a->vmid, what, &upid, err);
        if (r >= 0)
                r = wait_task(api, upid, what == PV_VM_START, timeout_ms, err);
        return r;
}

static int restart_vm(struct pv_api *api, struct pv_action *a, const struct pv_api_exec_opts *o, unsigned long *writes,
                      struct pv_error *err) {
        unsigned limit = (o && o->shutdown_timeout_s ? o->shutdown_timeout_s : DEFAULT_SHUTDOWN_S) * 1000u;
        struct pv_error soft = PV_ERROR_INIT;
        int r = power(api, a, PV_VM_SHUTDOWN, limit, writes, &soft);
        if (r < 0) {
                /* the guest did not shut down in time (or refused): stop it */
                pv_error_done(&soft);
                r = power(api, a, PV_VM_STOP, 0, writes, err);
                if (r < 0)
                        return pv_error_wrap(err, "clean shutdown failed and stop failed too");
        }
        return power(api, a, PV_VM_START, 0, writes, err);
}

static int delete_vm(struct pv_api *api, struct pv_action *a, unsigned long *writes, struct pv_error *err) {
        char id[16];
        snprintf(id, sizeof id, "%" PRIu32, a->vmid);
        _cleanup_free_ char *path = pv_api_path(err, "nodes", a->node, "qemu", id, NULL);
        if (!path)
                return -PV_ENOMEM;
        struct pv_api_params p = PV_API_PARAMS_INIT;
        int r = pv_api_params_add(&p, "purge", "1", err);
        if (r >= 0)
                r = pv_api_params_add(&p, "destroy-unreferenced-disks", "1", err);
        json_t *data = NULL;
        if (r >= 0) {
                (*writes)++;
                r = pv_api_call(api, PV_API_DELETE, path, &p, &data, err);
        }
        if (r >= 0 && json_is_string(data))
                r = wait_task(api, json_string_value(data), false, 0, err);
        json_decref(data);
        pv_api_params_done(&p);
        return r;
}

static int run_one(struct pv_api *api, struct pv_action *a, const struct pv_api_exec_opts *o, unsigned long *writes,
                   struct pv_error *err) {
        switch (a->kind) {
        case PV_ACT_CREATE_MAPPING:
        case PV_ACT_UPDATE_MAPPING:
        case PV_ACT_DELETE_MAPPING:
                return exec_mapping(api, a, writes, err);
        case PV_ACT_CREATE_VM:
                return create_vm(api, a, o, writes, err);
        case PV_ACT_UPDATE_VM:
                return update_vm(api, a, writes, err);
        case PV_ACT_START_VM:
                return power(api, a, PV_VM_START, 0, writes, err);
        case PV_ACT_STOP_VM:
                return power(api, a, PV_VM_STOP, 0, writes, err);
        case PV_ACT_RESTART_VM:
                return restart_vm(api, a, o, writes, err);
        case PV_ACT_DELETE_VM:
                return delete_vm(api, a, writes, err);
        default:
                return pv_error_set(err, PV_EUNSUPPORTED, "'%s' is not a cluster action", pv_action_kind_to_string(a->kind));
        }
}

static int set_error(struct pv_action *a, enum pv_action_status st, const char *msg) {
        a->status = st;
        free(a->error);
        a->error = strdup(msg);
        return a->error ? 0 : -PV_ENOMEM;
}

int pv_api_execute(struct pv_api *api, struct pv_plan *plan, const struct pv_api_exec_opts *opts,
                   struct pv_api_exec_result *result, struct pv_error *err) {
        struct pv_api_exec_result res = { 0 };
        for (size_t i = 0; i < plan->n; i++) {
                struct pv_action *a = &plan->actions[i];
                if (pv_action_is_host(a->kind))
                        continue;
                if (a->blocked) {
                        a->status = PV_ACT_BLOCKED;
                        res.skipped++;
                        continue;
                }
                /* a prerequisite that did not succeed */
                if (a->depends_on > 0 && (size_t)a->depends_on <= plan->n) {
                        struct pv_action *dep = &plan->actions[a->depends_on - 1];
                        if (dep->status != PV_ACT_DONE && !(pv_action_is_host(dep->kind) && dep->status == PV_ACT_PLANNED)) {
                                _cleanup_free_ char *m = NULL;
                                if (asprintf(&m, "not run: '%s' (%s) did not succeed", dep->target ? dep->target : "?",
                                             pv_action_kind_to_string(dep->kind)) < 0 ||
                                    set_error(a, PV_ACT_SKIPPED, m) < 0)
                                        return pv_error_set(err, PV_ENOMEM, "out of memory");
                                res.skipped++;
                                continue;
                        }
                        if (a->vmid == 0 && dep->vmid)
                                a->vmid = dep->vmid;
                }
                /* per-target ordering: an earlier failure on the same VM/mapping stops the rest */
                bool earlier_failed = false;
                for (size_t k = 0; k < i && !earlier_failed; k++) {
                        const struct pv_action *b = &plan->actions[k];
                        earlier_failed = !pv_action_is_host(b->kind) && (b->status == PV_ACT_FAILED || b->status == PV_ACT_SKIPPED) &&
                                         b->target && a->target && strcmp(b->target, a->target) == 0 &&
                                         ((!b->node && !a->node) || (b->node && a->node && strcmp(b->node, a->node) == 0));
                        if (earlier_failed && a->vmid == 0 && b->vmid)
                                a->vmid = b->vmid;
                }
                if (earlier_failed) {
                        if (set_error(a, PV_ACT_SKIPPED, "not run: an earlier action on the same target failed") < 0)
                                return pv_error_set(err, PV_ENOMEM, "out of memory");
                        res.skipped++;
                        continue;
                }
                /* inherit an allocated vmid from an earlier create of the same VM */
                for (size_t k = 0; k < i && a->vmid == 0; k++) {
                        const struct pv_action *b = &plan->actions[k];
                        if (b->kind == PV_ACT_CREATE_VM && b->vmid && b->target && a->target &&
                            strcmp(b->target, a->target) == 0)
                                a->vmid = b->vmid;
                }
                if (opts && opts->progress)
                        opts->progress(opts->userdata, a, false);
                struct pv_error e = PV_ERROR_INIT;
                int r = run_one(api, a, opts, &res.writes, &e);
                if (r < 0) {
                        if (r == -PV_ENOMEM) {
                                pv_error_move(err, &e);
                                return r;
                        }
                        if (set_error(a, PV_ACT_FAILED, pv_error_message(&e)) < 0) {
                                pv_error_done(&e);
                                return pv_error_set(err, PV_ENOMEM, "out of memory");
                        }
                        res.failed++;
                } else {
                        a->status = PV_ACT_DONE;
                        res.done++;
                }
                pv_error_done(&e);
                if (opts && opts->progress)
                        opts->progress(opts->userdata, a, true);
        }
        if (result)
                *result = res;
        return 0;
}
