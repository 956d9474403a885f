/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The API executor: cluster actions of a plan → Proxmox API requests. */
#include "pvfio/apiexec.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pvfio/cleanup.h"
#include "pvfio/util.h"
#include "internal.h"

#define DEFAULT_SHUTDOWN_S 180u
#define DEFAULT_VMID_TRIES 10u

/* vmids handed out during one run (parallel creates must not pick each other's). */
struct vmid_pool {
        pthread_mutex_t mu;
        uint32_t *ids;
        size_t n, alloc;
};

/* What one worker (a thread with its own session, or the caller) carries through its actions. */
struct worker {
        struct pv_api *api;
        const struct pv_api_exec_opts *o;
        struct vmid_pool *pool;
        uint32_t prealloc;              /* CREATE_VM with vmid 0: the id reserved for it, 0 = none */
        unsigned long writes;           /* write requests sent */
        unsigned long tasks, polls;     /* tasks waited for, status polls */
        struct pv_task_board *board;    /* shared by the workers (parallel runs), or NULL */
};

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
static uint32_t pool_take(struct vmid_pool *p, uint32_t id) {
        if (!p)
                return id;
        pthread_mutex_lock(&p->mu);
        while (pool_has(p, id))
                id++;
        if (p->n == p->alloc) {
                size_t na = p->alloc ? p->alloc * 2 : 16;
                uint32_t *v = realloc(p->ids, na * sizeof *v);
                if (v) {
                        p->ids = v;
                        p->alloc = na;
                }
        }
        if (p->n < p->alloc)
                p->ids[p->n++] = id;
        pthread_mutex_unlock(&p->mu);
        return id;
}

static void free_vm_infos(struct pv_vm_info *v, size_t n) {
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
                        free_vm_infos(vms, n);
                        *ret = HOLDER_NONE;
                        return 0;
                }
                if (v->lock && round == 0) {
                        _cleanup_free_ char *node = v->node ? strdup(v->node) : NULL;
                        free_vm_infos(vms, n);
                        if (!node)
                                return pv_error_set(err, PV_ENOMEM, "out of memory");
                        if ((r = pv_api_vm_settle(api, node, vmid, settle_ms, err)) < 0)
                                return r;
                        continue;
                }
                bool ours = !v->lock && name && v->name && strcmp(v->name, name) == 0 && v->node && a->node &&
                            strcmp(v->node, a->node) == 0 && pv_tags_contain(v->tags, PV_API_MANAGED_TAG);
                *ret = ours ? HOLDER_OURS : HOLDER_OTHER;
                free_vm_infos(vms, n);
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
                                vmid = pool_take(w->pool, next > vmid ? next : vmid + 1);
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
        if (!path)
                return -PV_ENOMEM;
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

static int run_one(struct pv_api *api, struct pv_action *a, struct worker *w,
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

static int set_error(struct pv_action *a, enum pv_action_status st, const char *msg) {
        a->status = st;
        free(a->error);
        a->error = strdup(msg);
        return a->error ? 0 : -PV_ENOMEM;
}

/* ------------------------------------------------------------ the graph */

struct dep {
        size_t job;                     /* index into jobs[] */
        bool hard;                      /* a failure of it skips this action (else: order only) */
        bool explicit_dep;              /* the plan's depends_on (its own skip message) */
};

enum job_state { JOB_WAIT, JOB_QUEUED, JOB_RUN, JOB_FINISHED, JOB_SETTLED };

struct job {
        size_t idx;                     /* plan index */
        struct dep *deps;
        size_t n_deps, alloc_deps;
        enum job_state state;
        int rc;
        struct pv_error err;
        uint64_t started_ms;
        uint32_t prealloc;
        unsigned long writes, tasks, polls;
};

struct sched {
        pthread_mutex_t mu;
        pthread_cond_t work_cv, done_cv;
        struct pv_plan *plan;
        const struct pv_api_exec_opts *o;
        struct job *jobs;
        size_t n_jobs;
        size_t *queue;                  /* jobs handed to workers, FIFO */
        size_t q_head, q_tail;
        bool stop;
        struct vmid_pool pool;
        bool enomem;
        struct pv_task_board *board;    /* the tasks the workers wait for (parallel runs) */
};

static bool same_target(const struct pv_action *a, const struct pv_action *b) {
        return a->target && b->target && strcmp(a->target, b->target) == 0 &&
               ((!a->node && !b->node) || (a->node && b->node && strcmp(a->node, b->node) == 0));
}

static bool is_mapping(enum pv_action_kind k) {
        return k == PV_ACT_CREATE_MAPPING || k == PV_ACT_UPDATE_MAPPING || k == PV_ACT_DELETE_MAPPING;
}

static int add_dep(struct job *j, size_t on, bool hard, bool explicit_dep) {
        for (size_t i = 0; i < j->n_deps; i++)
                if (j->deps[i].job == on) {
                        j->deps[i].hard |= hard;
                        j->deps[i].explicit_dep |= explicit_dep;
                        return 0;
                }
        if (j->n_deps == j->alloc_deps) {
                size_t na = j->alloc_deps ? j->alloc_deps * 2 : 4;
                struct dep *v = realloc(j->deps, na * sizeof *v);
                if (!v)
                        return -PV_ENOMEM;
                j->deps = v;
                j->alloc_deps = na;
        }
        j->deps[j->n_deps++] = (struct dep){ .job = on, .hard = hard, .explicit_dep = explicit_dep };
        return 0;
}

/* The job of plan index idx, or SIZE_MAX (host actions are not jobs). */
static size_t job_of(const struct sched *s, size_t idx) {
        for (size_t i = 0; i < s->n_jobs; i++)
                if (s->jobs[i].idx == idx)
                        return i;
        return SIZE_MAX;
}

static int build_graph(struct sched *s) {
        struct pv_plan *plan = s->plan;
        for (size_t k = 0; k < s->n_jobs; k++) {
                struct job *j = &s->jobs[k];
                const struct pv_action *a = &plan->actions[j->idx];
                if (a->depends_on > 0 && (size_t)a->depends_on <= plan->n) {
                        size_t d = job_of(s, (size_t)a->depends_on - 1);
                        if (d != SIZE_MAX && d != k && add_dep(j, d, true, true) < 0)
                                return -PV_ENOMEM;
                }
                bool starts = a->kind == PV_ACT_START_VM || a->kind == PV_ACT_RESTART_VM;
                for (size_t e = 0; e < k; e++) {
                        const struct pv_action *b = &plan->actions[s->jobs[e].idx];
                        int r = 0;
                        if (same_target(a, b))
                                r = add_dep(j, e, true, false);
                        else if (is_mapping(a->kind) && is_mapping(b->kind))
                                r = add_dep(j, e, false, false);
                        else if (starts && a->node && b->node && strcmp(a->node, b->node) == 0 &&
                                 (b->kind == PV_ACT_STOP_VM || b->kind == PV_ACT_DELETE_VM ||
                                  b->kind == PV_ACT_RESTART_VM))
                                r = add_dep(j, e, false, false);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

/*
 * vmids for the creates that need one, reserved before the first write: one
 * nextid (it honours the datacenter's range) and one /cluster/resources read,
 * then the following free ids. A collision at create time is re-checked
 * (create_vm), and a replacement id is never one of these.
 */
static int preallocate_vmids(struct sched *s, struct pv_api *api, struct pv_error *err) {
        size_t n_create = 0;
        for (size_t k = 0; k < s->n_jobs; k++) {
                const struct pv_action *a = &s->plan->actions[s->jobs[k].idx];
                n_create += a->kind == PV_ACT_CREATE_VM && a->vmid == 0 && !a->blocked;
        }
        if (n_create < 2)
                return 0;
        struct pv_vm_info *vms = NULL;
        size_t n = 0;
        uint32_t next = 0;
        /* both in one round (two concurrent GETs): the listing does not depend on the answer of nextid */
        struct pv_api_get q[2] = {
                { .path = "/cluster/nextid", .err = PV_ERROR_INIT },
                { .path = "/cluster/resources", .err = PV_ERROR_INIT },
        };
        int r = pv_api_get_many(api, q, 2, err);
        if (r >= 0 && (r = pv_api_decode_nextid(q[0].data, &next, err)) < 0)
                pv_error_wrap(err, "GET %s", q[0].path);
        if (r >= 0 && (r = pv_api_decode_resources(q[1].data, NULL, NULL, &vms, &n, err)) < 0)
                pv_error_wrap(err, "GET %s", q[1].path);
        for (size_t i = 0; i < 2; i++) {
                json_decref(q[i].data);
                pv_error_done(&q[i].err);
        }
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++)
                (void)pool_take(&s->pool, vms[i].vmid);
        for (size_t i = 0; i < s->plan->n; i++)
                if (s->plan->actions[i].vmid && !pv_action_is_host(s->plan->actions[i].kind))
                        (void)pool_take(&s->pool, s->plan->actions[i].vmid);
        free_vm_infos(vms, n);
        for (size_t k = 0; k < s->n_jobs; k++) {
                struct job *j = &s->jobs[k];
                const struct pv_action *a = &s->plan->actions[j->idx];
                if (a->kind == PV_ACT_CREATE_VM && a->vmid == 0 && !a->blocked) {
                        j->prealloc = pool_take(&s->pool, next);
                        next = j->prealloc + 1;
                }
        }
        return 0;
}

/* Run one job on a worker's session (no lock held). */
static void run_job(struct sched *s, struct pv_api *api, struct job *j) {
        struct worker w = { .api = api, .o = s->o, .pool = &s->pool, .prealloc = j->prealloc, .board = s->board };
        struct pv_action *a = &s->plan->actions[j->idx];
        j->rc = run_one(api, a, &w, &j->err);
        j->writes = w.writes;
        j->tasks = w.tasks;
        j->polls = w.polls;
}

struct worker_thread {
        struct sched *s;
        struct pv_api *api;
        pthread_t tid;
        bool started;
};

static void *worker_main(void *arg) {
        struct worker_thread *wt = arg;
        struct sched *s = wt->s;
        pthread_mutex_lock(&s->mu);
        for (;;) {
                while (s->q_head == s->q_tail && !s->stop)
                        pthread_cond_wait(&s->work_cv, &s->mu);
                if (s->q_head == s->q_tail)
                        break;
                struct job *j = &s->jobs[s->queue[s->q_head++]];
                j->state = JOB_RUN;
                pthread_mutex_unlock(&s->mu);
                run_job(s, wt->api, j);
                pthread_mutex_lock(&s->mu);
                j->state = JOB_FINISHED;
                pthread_cond_signal(&s->done_cv);
        }
        pthread_mutex_unlock(&s->mu);
        return NULL;
}

/* Why a job cannot run because of a prerequisite, or NULL (it may run); *wait = some are unfinished. */
static char *blocked_by(struct sched *s, const struct job *j, bool *wait) {
        *wait = false;
        for (size_t i = 0; i < j->n_deps; i++)
                if (s->jobs[j->deps[i].job].state != JOB_SETTLED)
                        *wait = true;
        if (*wait)
                return NULL;
        for (size_t i = 0; i < j->n_deps; i++) {
                const struct dep *d = &j->deps[i];
                const struct pv_action *b = &s->plan->actions[s->jobs[d->job].idx];
                if (!d->hard || b->status == PV_ACT_DONE)
                        continue;
                if (d->explicit_dep)
                        return pv_asprintf(NULL, "not run: '%s' (%s) did not succeed", b->target ? b->target : "?",
                                           pv_action_kind_to_string(b->kind));
                return strdup("not run: an earlier action on the same target failed");
        }
        /* a prerequisite among the host actions (run before the API executor) */
        const struct pv_action *a = &s->plan->actions[j->idx];
        if (a->depends_on > 0 && (size_t)a->depends_on <= s->plan->n) {
                const struct pv_action *dep = &s->plan->actions[a->depends_on - 1];
                if (pv_action_is_host(dep->kind) && dep->status != PV_ACT_DONE && dep->status != PV_ACT_PLANNED)
                        return pv_asprintf(NULL, "not run: '%s' (%s) did not succeed", dep->target ? dep->target : "?",
                                           pv_action_kind_to_string(dep->kind));
        }
        return NULL;
}

/* A vmid allocated by a create reaches the actions after it. */
static void inherit_vmid(struct sched *s, const struct job *j) {
        struct pv_action *a = &s->plan->actions[j->idx];
        for (size_t i = 0; i < j->n_deps && a->vmid == 0; i++) {
                const struct pv_action *b = &s->plan->actions[s->jobs[j->deps[i].job].idx];
                if (b->vmid && (j->deps[i].explicit_dep || same_target(a, b) ||
                                (b->kind == PV_ACT_CREATE_VM && b->target && a->target && !strcmp(a->target, b->target))))
                        a->vmid = b->vmid;
        }
}

struct runview {
        const struct pv_action **acts;
        uint64_t *since;
        size_t n;
};

/* Report one step (called with s->mu held: the job states it lists are stable). */
static void emit(struct sched *s, enum pv_exec_event_kind kind, const struct job *j, size_t finished,
                 struct runview *rv) {
        const struct pv_api_exec_opts *o = s->o;
        if (!o)
                return;
        struct pv_action *a = j ? &s->plan->actions[j->idx] : NULL;
        if (a && o->progress && kind != PV_EXEC_TICK)
                o->progress(o->userdata, a, kind == PV_EXEC_END);
        if (!o->event)
                return;
        rv->n = 0;
        for (size_t k = 0; k < s->n_jobs; k++)
                if (s->jobs[k].state == JOB_QUEUED || s->jobs[k].state == JOB_RUN ||
                    s->jobs[k].state == JOB_FINISHED) {
                        rv->acts[rv->n] = &s->plan->actions[s->jobs[k].idx];
                        rv->since[rv->n++] = s->jobs[k].started_ms;
                }
        uint64_t now = pv_api_now_ms();
        struct pv_exec_event ev = {
                .kind = kind,
                .a = a,
                .index = j ? j->idx : 0,
                .elapsed_ms = j && j->started_ms && kind == PV_EXEC_END ? now - j->started_ms : 0,
                .finished = finished,
                .total = s->n_jobs,
                .running = rv->acts,
                .running_since_ms = rv->since,
                .n_running = rv->n,
                .now_ms = now,
        };
        o->event(o->userdata, &ev);
}

static void deadline_in(struct timespec *ts, unsigned ms) {
        clock_gettime(CLOCK_REALTIME, ts);
        ts->tv_nsec += (long)ms * 1000000L;
        while (ts->tv_nsec >= 1000000000L) {
                ts->tv_sec++;
                ts->tv_nsec -= 1000000000L;
        }
}

/*
 * The scheduler (caller's thread): settles finished jobs, skips those whose
 * prerequisite failed, hands ready ones to the workers (at most n_workers at
 * once) and reports every step. With no worker threads (inline) it runs each
 * job itself on the caller's session.
 */
static int schedule(struct sched *s, struct pv_api *inline_api, unsigned n_workers, struct pv_api_exec_result *res,
                    struct pv_error *err) {
        size_t finished = 0, in_flight = 0;
        struct runview rv = { .acts = calloc(s->n_jobs + 1, sizeof *rv.acts),
                              .since = calloc(s->n_jobs + 1, sizeof *rv.since) };
        if (!rv.acts || !rv.since) {
                free(rv.acts);
                free(rv.since);
                return pv_error_set(err, PV_ENOMEM, "out of memory");
        }
        int ret = 0;
        pthread_mutex_lock(&s->mu);
        for (;;) {
                bool progress = false;
                /* settle what finished */
                for (size_t k = 0; k < s->n_jobs && ret == 0; k++) {
                        struct job *j = &s->jobs[k];
                        if (j->state != JOB_FINISHED)
                                continue;
                        struct pv_action *a = &s->plan->actions[j->idx];
                        res->writes += j->writes;
                        res->tasks += j->tasks;
                        res->polls += j->polls;
                        if (j->rc == -PV_ENOMEM) {
                                pv_error_move(err, &j->err);
                                ret = -PV_ENOMEM;
                        } else if (j->rc < 0) {
                                if (set_error(a, PV_ACT_FAILED, pv_error_message(&j->err)) < 0)
                                        ret = pv_error_set(err, PV_ENOMEM, "out of memory");
                                res->failed++;
                        } else {
                                a->status = PV_ACT_DONE;
                                res->done++;
                        }
                        pv_error_done(&j->err);
                        j->state = JOB_SETTLED;
                        in_flight--;
                        finished++;
                        progress = true;
                        emit(s, PV_EXEC_END, j, finished, &rv);
                }
                /* skip or dispatch what waits */
                for (size_t k = 0; k < s->n_jobs && ret == 0; k++) {
                        struct job *j = &s->jobs[k];
                        if (j->state != JOB_WAIT)
                                continue;
                        struct pv_action *a = &s->plan->actions[j->idx];
                        if (a->blocked) {
                                a->status = PV_ACT_BLOCKED;
                                res->skipped++;
                        } else {
                                bool wait;
                                _cleanup_free_ char *why = blocked_by(s, j, &wait);
                                if (wait)
                                        continue;
                                inherit_vmid(s, j);
                                if (why) {
                                        if (set_error(a, PV_ACT_SKIPPED, why) < 0) {
                                                ret = pv_error_set(err, PV_ENOMEM, "out of memory");
                                                break;
                                        }
                                        res->skipped++;
                                } else {
                                        if (in_flight >= n_workers)
                                                continue;
                                        j->state = JOB_QUEUED;
                                        j->started_ms = pv_api_now_ms();
                                        in_flight++;
                                        progress = true;
                                        emit(s, PV_EXEC_START, j, finished, &rv);
                                        if (inline_api) {
                                                pthread_mutex_unlock(&s->mu);
                                                run_job(s, inline_api, j);
                                                pthread_mutex_lock(&s->mu);
                                                j->state = JOB_FINISHED;
                                        } else {
                                                s->queue[s->q_tail++] = k;
                                                pthread_cond_signal(&s->work_cv);
                                        }
                                        continue;
                                }
                        }
                        j->state = JOB_SETTLED;
                        finished++;
                        progress = true;
                        emit(s, PV_EXEC_END, j, finished, &rv);
                }
                if (ret < 0 && in_flight == 0)
                        break;
                if (finished == s->n_jobs)
                        break;
                if (progress)
                        continue;
                if (in_flight == 0) {
                        /* nothing runs and nothing can start: a dependency cycle (a planner bug) */
                        ret = pv_error_set(err, PV_EINVAL, "internal error: the plan's actions wait for each other");
                        break;
                }
                struct timespec ts;
                deadline_in(&ts, 100);
                if (pthread_cond_timedwait(&s->done_cv, &s->mu, &ts) != 0)
                        emit(s, PV_EXEC_TICK, NULL, finished, &rv);
        }
        pthread_mutex_unlock(&s->mu);
        free(rv.acts);
        free(rv.since);
        return ret;
}

static void sched_done(struct sched *s) {
        for (size_t k = 0; k < s->n_jobs; k++) {
                free(s->jobs[k].deps);
                pv_error_done(&s->jobs[k].err);
        }
        free(s->jobs);
        free(s->queue);
        free(s->pool.ids);
        pthread_mutex_destroy(&s->pool.mu);
        pthread_cond_destroy(&s->work_cv);
        pthread_cond_destroy(&s->done_cv);
        pthread_mutex_destroy(&s->mu);
}

int pv_api_execute(struct pv_api *api, struct pv_plan *plan, const struct pv_api_exec_opts *opts,
                   struct pv_api_exec_result *result, struct pv_error *err) {
        struct pv_api_exec_result res = { 0 };
        struct sched s = { .plan = plan, .o = opts };
        pthread_mutex_init(&s.mu, NULL);
        pthread_cond_init(&s.work_cv, NULL);
        pthread_cond_init(&s.done_cv, NULL);
        pthread_mutex_init(&s.pool.mu, NULL);
        struct worker_thread *wts = NULL;
        unsigned n_threads = 0;
        int r = 0;
        s.jobs = calloc(plan->n + 1, sizeof *s.jobs);
        s.queue = calloc(plan->n + 1, sizeof *s.queue);
        if (!s.jobs || !s.queue) {
                r = pv_error_set(err, PV_ENOMEM, "out of memory");
                goto out;
        }
        for (size_t i = 0; i < plan->n; i++)
                if (!pv_action_is_host(plan->actions[i].kind))
                        s.jobs[s.n_jobs++] = (struct job){ .idx = i, .err = PV_ERROR_INIT };
        if (build_graph(&s) < 0) {
                r = pv_error_set(err, PV_ENOMEM, "out of memory");
                goto out;
        }
        unsigned parallel = opts && opts->parallel > 1 ? opts->parallel : 1;
        size_t runnable = 0;
        for (size_t k = 0; k < s.n_jobs; k++)
                runnable += !plan->actions[s.jobs[k].idx].blocked;
        if (parallel > runnable)
                parallel = runnable ? (unsigned)runnable : 1;
        if (parallel > 1) {
                struct pv_error e = PV_ERROR_INIT;
                if (preallocate_vmids(&s, api, &e) < 0) {
                        /* not fatal: each create asks nextid itself and re-checks collisions */
                        pv_log_debug(api->log, "executor: vmids not reserved ahead: %s", pv_error_message(&e));
                        pv_error_done(&e);
                }
                s.board = pv_task_board_new();
                wts = calloc(parallel, sizeof *wts);
                if (!wts) {
                        r = pv_error_set(err, PV_ENOMEM, "out of memory");
                        goto out;
                }
                for (unsigned i = 0; i < parallel; i++) {
                        wts[i].s = &s;
                        if (i == 0)
                                wts[i].api = pv_api_ref(api);
                        else if ((r = pv_api_clone(api, &wts[i].api, err)) < 0)
                                goto out;
                        if (pthread_create(&wts[i].tid, NULL, worker_main, &wts[i]) != 0) {
                                r = pv_error_set(err, PV_ENOMEM, "cannot start a worker thread");
                                goto out;
                        }
                        wts[i].started = true;
                        n_threads++;
                }
        }
        r = schedule(&s, n_threads ? NULL : api, n_threads ? n_threads : 1, &res, err);
        res.workers = n_threads ? n_threads : 1;
        if (s.board) /* the requests the waits cost (a wait that a list settled polls no status of its own) */
                pv_task_board_counts(s.board, &res.task_lists, &res.polls);
out:
        if (wts) {
                pthread_mutex_lock(&s.mu);
                s.stop = true;
                pthread_cond_broadcast(&s.work_cv);
                pthread_mutex_unlock(&s.mu);
                for (unsigned i = 0; i < parallel; i++) {
                        if (wts[i].started)
                                pthread_join(wts[i].tid, NULL);
                        if (wts[i].api && wts[i].api != api)
                                pv_api_stats_merge(api, wts[i].api);
                        pv_api_unref(wts[i].api);
                }
                free(wts);
        }
        pv_task_board_free(s.board);
        sched_done(&s);
        if (r >= 0 && result)
                *result = res;
        return r;
}
