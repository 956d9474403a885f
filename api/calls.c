/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Typed calls: one request (or a batch) each, decoded into the model structs. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "pvfio/apiexec.h"
#include "pvfio/util.h"
#include "pvfio/xalloc.h"

#define VMID_LEN 16

static void vmid_text(uint32_t vmid, char out[static VMID_LEN]) {
        snprintf(out, VMID_LEN, "%" PRIu32, vmid);
}

/* GET path and hand the data to the caller; decoding errors are wrapped with the request by the callers. */
static int get(struct pv_api *api, const char *path, const struct pv_api_params *params, json_t **ret,
               struct pv_error *err) {
        return pv_api_call(api, PV_API_GET, path, params, ret, err);
}

static int vm_path(const char *node, uint32_t vmid, const char *leaf1, const char *leaf2, char **ret,
                   struct pv_error *err) {
        char id[VMID_LEN];
        vmid_text(vmid, id);
        char *p = pv_api_path(err, "nodes", node, "qemu", id, leaf1, leaf2, NULL);
        *ret = p;
        return 0;
}

int pv_api_version(struct pv_api *api, struct pv_api_version *ret, struct pv_error *err) {
        json_t *d = NULL;
        int r = get(api, "/version", NULL, &d, err);
        if (r >= 0 && (r = pv_api_decode_version(d, ret, err)) < 0)
                pv_error_wrap(err, "GET /version");
        json_decref(d);
        return r;
}

int pv_api_nodes(struct pv_api *api, struct pv_node_info **ret, size_t *ret_n, struct pv_error *err) {
        json_t *d = NULL;
        int r = get(api, "/nodes", NULL, &d, err);
        if (r >= 0 && (r = pv_api_decode_nodes(d, ret, ret_n, err)) < 0)
                pv_error_wrap(err, "GET /nodes");
        json_decref(d);
        return r;
}

int pv_api_cluster_resources(struct pv_api *api, struct pv_node_info **ret_nodes, size_t *ret_n_nodes,
                             struct pv_vm_info **ret_vms, size_t *ret_n_vms, struct pv_error *err) {
        json_t *d = NULL;
        int r = get(api, "/cluster/resources", NULL, &d, err);
        if (r >= 0 && (r = pv_api_decode_resources(d, ret_nodes, ret_n_nodes, ret_vms, ret_n_vms, err)) < 0)
                pv_error_wrap(err, "GET /cluster/resources");
        json_decref(d);
        return r;
}

int pv_api_nextid(struct pv_api *api, uint32_t vmid, uint32_t *ret, struct pv_error *err) {
        struct pv_api_params p = PV_API_PARAMS_INIT;
        int r = vmid ? pv_api_params_add_uint(&p, "vmid", vmid, err) : 0;
        json_t *d = NULL;
        if (r >= 0)
                r = get(api, "/cluster/nextid", &p, &d, err);
        if (r >= 0 && (r = pv_api_decode_nextid(d, ret, err)) < 0)
                pv_error_wrap(err, "GET /cluster/nextid");
        json_decref(d);
        pv_api_params_done(&p);
        return r;
}

int pv_api_vm_list(struct pv_api *api, const char *node, struct pv_vm_info **ret, size_t *ret_n,
                   struct pv_error *err) {
        _cleanup_free_ char *path = pv_api_path(err, "nodes", node, "qemu", NULL);
        json_t *d = NULL;
        int r = get(api, path, NULL, &d, err);
        if (r >= 0 && (r = pv_api_decode_vm_list(d, node, ret, ret_n, err)) < 0)
                pv_error_wrap(err, "GET %s", path);
        json_decref(d);
        return r;
}

int pv_api_vm_config(struct pv_api *api, const char *node, uint32_t vmid, bool current, struct pv_vm_config *ret,
                     struct pv_error *err) {
        _cleanup_free_ char *path = NULL;
        int r = vm_path(node, vmid, "config", NULL, &path, err);
        if (r < 0)
                return r;
        struct pv_api_params p = PV_API_PARAMS_INIT;
        if (current)
                r = pv_api_params_add_bool(&p, "current", true, err);
        json_t *d = NULL;
        if (r >= 0)
                r = get(api, path, &p, &d, err);
        if (r >= 0 && (r = pv_api_decode_vm_config(d, node, vmid, ret, err)) < 0)
                pv_error_wrap(err, "GET %s", path);
        json_decref(d);
        pv_api_params_done(&p);
        return r;
}

int pv_api_vm_configs(struct pv_api *api, const struct pv_vm_info *vms, size_t n, struct pv_vm_config **ret,
                      struct pv_error *err) {
        struct pv_api_get *g = pv_xcalloc(n ? n : 1, sizeof *g);
        char **paths = pv_xcalloc(n ? n : 1, sizeof *paths);
        struct pv_vm_config *cfgs = pv_xcalloc(n ? n : 1, sizeof *cfgs);
        size_t decoded = 0;
        int r = 0;
        for (size_t i = 0; i < n && r >= 0; i++) {
                r = vm_path(vms[i].node, vms[i].vmid, "config", NULL, &paths[i], err);
                g[i].path = paths[i];
        }
        if (r >= 0)
                r = pv_api_get_many(api, g, n, err);
        for (; r >= 0 && decoded < n; decoded++) {
                r = pv_api_decode_vm_config(g[decoded].data, vms[decoded].node, vms[decoded].vmid, &cfgs[decoded], err);
                if (r < 0)
                        pv_error_wrap(err, "GET %s", paths[decoded]);
        }
        if (r >= 0) {
                *ret = TAKE_PTR(cfgs);
                decoded = 0;
        }
        for (size_t i = 0; i < n; i++) {
                json_decref(g[i].data);
                pv_error_done(&g[i].err);
                free(paths[i]);
        }
        for (size_t i = 0; cfgs && i < decoded; i++)
                pv_vm_config_done(&cfgs[i]);
        free(cfgs);
        free(g);
        free(paths);
        return r;
}

int pv_api_vm_pending(struct pv_api *api, const char *node, uint32_t vmid, struct pv_vm_pending *ret,
                      struct pv_error *err) {
        _cleanup_free_ char *path = NULL;
        int r = vm_path(node, vmid, "pending", NULL, &path, err);
        json_t *d = NULL;
        if (r >= 0)
                r = get(api, path, NULL, &d, err);
        if (r >= 0 && (r = pv_api_decode_vm_pending(d, vmid, ret, err)) < 0)
                pv_error_wrap(err, "GET %s", path);
        json_decref(d);
        return r;
}

int pv_api_vm_status(struct pv_api *api, const char *node, uint32_t vmid, struct pv_vm_status *ret,
                     struct pv_error *err) {
        _cleanup_free_ char *path = NULL;
        int r = vm_path(node, vmid, "status", "current", &path, err);
        json_t *d = NULL;
        if (r >= 0)
                r = get(api, path, NULL, &d, err);
        if (r >= 0 && (r = pv_api_decode_vm_status(d, ret, err)) < 0)
                pv_error_wrap(err, "GET %s", path);
        if (r >= 0 && ret->vmid == 0)
                ret->vmid = vmid;
        json_decref(d);
        return r;
}

/* A task id answer: a UPID string, or null (e.g. a POST config that finished within background_delay). */
static int take_upid(json_t *d, const char *what, char **ret_upid, struct pv_error *err) {
        if (!d || json_is_null(d)) {
                *ret_upid = NULL;
                return 0;
        }
        struct pv_upid u;
        if (!json_is_string(d) || pv_upid_parse(json_string_value(d), &u, NULL) < 0)
                return pv_error_set(err, PV_EINVAL, "%s: unexpected answer: not a task id", what);
        *ret_upid = pv_xstrdup(json_string_value(d));
        return 0;
}

/* ---------------------------------------------------------------- VM writes */

struct vm_check {
        const char *node;
        uint32_t vmid;
        const struct pv_api_params *set;
        const struct pv_strv *del;
        enum pv_vm_action action;
};

/*
 * Before reading back a write whose answer was lost: let the VM's task (or a
 * create's `lock: create`) finish, so a write that took effect is seen as
 * done and not sent again (issue 11, item 3).
 */
static int settle(struct pv_api *api, const struct vm_check *c, struct pv_error *err) {
        return pv_api_vm_settle(api, c->node, c->vmid, pv_api_task_timeout_ms("qmcreate", api->task_timeout_ms, 0, false),
                                err);
}

/* Create: the VM exists now and its create task finished (a failed create removes the config). */
static int verify_vm_exists(struct pv_api *api, void *userdata, json_t **ret_data, struct pv_error *err) {
        (void)ret_data;
        struct vm_check *c = userdata;
        int rs = settle(api, c, err);
        if (rs < 0)
                return rs;
        struct pv_vm_config cfg;
        struct pv_error e = PV_ERROR_INIT;
        int r = pv_api_vm_config(api, c->node, c->vmid, false, &cfg, &e);
        if (r >= 0) {
                pv_vm_config_done(&cfg);
                return 1;
        }
        if (e.code == PV_ENOTFOUND) {
                pv_error_done(&e);
                return 0;
        }
        pv_error_move(err, &e);
        return r;
}

/* Update: every key set has the requested value and every deleted key is gone. */
static int verify_vm_config(struct pv_api *api, void *userdata, json_t **ret_data, struct pv_error *err) {
        (void)ret_data;
        struct vm_check *c = userdata;
        struct pv_vm_config cfg;
        int r = settle(api, c, err);
        if (r >= 0)
                r = pv_api_vm_config(api, c->node, c->vmid, false, &cfg, err);
        if (r < 0)
                return r;
        int applied = 1;
        for (size_t i = 0; c->set && i < c->set->n && applied; i++) {
                const char *k = c->set->v[i].key;
                if (strcmp(k, "digest") == 0 || strcmp(k, "delete") == 0 || strcmp(k, "background_delay") == 0)
                        continue;
                const char *now = pv_vm_config_get(&cfg, k);
                if (!now || strcmp(now, c->set->v[i].value) != 0)
                        applied = 0;
        }
        for (size_t i = 0; c->del && i < c->del->n && applied; i++)
                if (pv_vm_config_get(&cfg, c->del->v[i]))
                        applied = 0;
        pv_vm_config_done(&cfg);
        return applied;
}

/* Start/stop/shutdown: the VM is in the target state. */
static int verify_vm_state(struct pv_api *api, void *userdata, json_t **ret_data, struct pv_error *err) {
        (void)ret_data;
        struct vm_check *c = userdata;
        struct pv_vm_status st;
        int r = settle(api, c, err);
        if (r >= 0)
                r = pv_api_vm_status(api, c->node, c->vmid, &st, err);
        if (r < 0)
                return r;
        const char *want = c->action == PV_VM_START ? "running" : "stopped";
        int applied = strcmp(st.status, want) == 0;
        pv_vm_status_done(&st);
        return applied;
}

int pv_api_vm_create(struct pv_api *api, const char *node, uint32_t vmid, const struct pv_api_params *config,
                     char **ret_upid, struct pv_error *err) {
        _cleanup_free_ char *path = pv_api_path(err, "nodes", node, "qemu", NULL);
        struct pv_api_params p = PV_API_PARAMS_INIT;
        int r = pv_api_params_add_uint(&p, "vmid", vmid, err);
        for (size_t i = 0; config && i < config->n && r >= 0; i++) {
                if (strcmp(config->v[i].key, "vmid") == 0 || strcmp(config->v[i].key, "node") == 0) {
                        r = pv_error_set(err, PV_EINVAL, "POST %s: '%s' must not be in the VM config", path,
                                         config->v[i].key);
                        break;
                }
                r = pv_api_params_add(&p, config->v[i].key, config->v[i].value, err);
        }
        struct vm_check c = { .node = node, .vmid = vmid };
        json_t *d = NULL;
        if (r >= 0)
                r = pv_api_call_verified(api, PV_API_POST, path, &p, verify_vm_exists, &c, &d, err);
        if (r >= 0)
                r = take_upid(d, "POST /nodes/{node}/qemu", ret_upid, err);
        json_decref(d);
        pv_api_params_done(&p);
        return r;
}

int pv_api_vm_update(struct pv_api *api, const char *node, uint32_t vmid, const struct pv_api_params *set,
                     const struct pv_strv *delete_keys, const char *digest, bool async, char **ret_upid,
                     struct pv_error *err) {
        _cleanup_free_ char *path = NULL;
        int r = vm_path(node, vmid, "config", NULL, &path, err);
        if (r < 0)
                return r;
        struct pv_api_params p = PV_API_PARAMS_INIT;
        for (size_t i = 0; set && i < set->n && r >= 0; i++)
                r = pv_api_params_add(&p, set->v[i].key, set->v[i].value, err);
        if (r >= 0 && delete_keys && delete_keys->n) {
                struct pv_buf b = PV_BUF_INIT;
                for (size_t i = 0; i < delete_keys->n && r >= 0; i++) {
                        if (i)
                                r = pv_buf_addch(&b, ',', err);
                        if (r >= 0)
                                r = pv_buf_adds(&b, delete_keys->v[i], err);
                }
                if (r >= 0)
                        r = pv_api_params_add(&p, "delete", b.buf, err);
                pv_buf_release(&b);
        }
        if (r >= 0 && digest)
                r = pv_api_params_add(&p, "digest", digest, err);
        struct vm_check c = { .node = node, .vmid = vmid, .set = set, .del = delete_keys };
        json_t *d = NULL;
        if (r >= 0)
                r = pv_api_call_verified(api, async ? PV_API_POST : PV_API_PUT, path, &p, verify_vm_config, &c, &d,
                                         err);
        char *upid = NULL;
        if (r >= 0 && async)
                r = take_upid(d, path, &upid, err);
        if (r >= 0)
                *ret_upid = upid;
        json_decref(d);
        pv_api_params_done(&p);
        return r;
}

int pv_api_vm_action(struct pv_api *api, const char *node, uint32_t vmid, enum pv_vm_action action,
                     char **ret_upid, struct pv_error *err) {
        const char *verb = action == PV_VM_START ? "start" : action == PV_VM_STOP ? "stop" : "shutdown";
        _cleanup_free_ char *path = NULL;
        int r = vm_path(node, vmid, "status", verb, &path, err);
        if (r < 0)
                return r;
        struct vm_check c = { .node = node, .vmid = vmid, .action = action };
        json_t *d = NULL;
        r = pv_api_call_verified(api, PV_API_POST, path, NULL, verify_vm_state, &c, &d, err);
        if (r >= 0)
                r = take_upid(d, path, ret_upid, err);
        json_decref(d);
        return r;
}

/* ------------------------------------------------------------------ mappings */

int pv_api_mappings(struct pv_api *api, const char *check_node, struct pv_obs_mapping **ret, size_t *ret_n,
                    struct pv_error *err) {
        struct pv_api_params p = PV_API_PARAMS_INIT;
        int r = check_node ? pv_api_params_add(&p, "check-node", check_node, err) : 0;
        json_t *d = NULL;
        if (r >= 0)
                r = get(api, "/cluster/mapping/pci", &p, &d, err);
        if (r >= 0 && (r = pv_api_decode_mappings(d, ret, ret_n, err)) < 0)
                pv_error_wrap(err, "GET /cluster/mapping/pci");
        json_decref(d);
        pv_api_params_done(&p);
        return r;
}

int pv_api_mapping_get(struct pv_api *api, const char *id, struct pv_obs_mapping *ret, struct pv_error *err) {
        return pv_api_mapping_get_typed(api, "pci", id, ret, err);
}

/* GET /cluster/mapping/{type}/{id}: type "pci" or "usb" (the USB object has no mdev flags: false). */
int pv_api_mapping_get_typed(struct pv_api *api, const char *type, const char *id, struct pv_obs_mapping *ret,
                             struct pv_error *err) {
        _cleanup_free_ char *path = pv_api_path(err, "cluster", "mapping", type, id, NULL);
        json_t *d = NULL;
        int r = get(api, path, NULL, &d, err);
        if (r >= 0 && (r = pv_api_decode_mapping(d, id, ret, err)) < 0)
                pv_error_wrap(err, "GET %s", path);
        json_decref(d);
        return r;
}

struct map_check {
        const char *type;               /* "pci" | "usb" */
        const struct pv_obs_mapping *m;
        const char *old_digest;
        bool deleted;
};

static bool same_map(const struct pv_obs_mapping *a, const struct pv_obs_mapping *b) {
        if (a->n_map != b->n_map)
                return false;
        for (size_t i = 0; i < a->n_map; i++)
                if (strcmp(a->map[i], b->map[i]) != 0)
                        return false;
        return true;
}

static int verify_mapping(struct pv_api *api, void *userdata, json_t **ret_data, struct pv_error *err) {
        (void)ret_data;
        struct map_check *c = userdata;
        struct pv_obs_mapping now;
        struct pv_error e = PV_ERROR_INIT;
        int r = pv_api_mapping_get_typed(api, c->type, c->m->id, &now, &e);
        if (r < 0) {
                if (e.code == PV_ENOTFOUND) {
                        pv_error_done(&e);
                        return c->deleted ? 1 : 0;
                }
                pv_error_move(err, &e);
                return r;
        }
        int applied = 0;
        if (!c->deleted)
                applied = same_map(&now, c->m) && now.mdev == c->m->mdev &&
                          (!c->old_digest || !now.digest || strcmp(now.digest, c->old_digest) != 0);
        pv_obs_mapping_done(&now);
        return applied;
}

static int mapping_params(const struct pv_obs_mapping *m, bool update, bool usb, struct pv_api_params *p,
                          struct pv_error *err) {
        int r = 0;
        struct pv_buf del = PV_BUF_INIT;
        if (!update)
                r = pv_api_params_add(p, "id", m->id, err);
        if (r >= 0 && m->description)
                r = pv_api_params_add(p, "description", m->description, err);
        else if (r >= 0 && update)
                r = pv_buf_adds(&del, "description", err);
        if (usb) /* PVE::Mapping::USB has neither mdev nor live-migration-capable */
                ;
        else if (r >= 0 && m->mdev)
                r = pv_api_params_add_bool(p, "mdev", true, err);
        else if (r >= 0 && update)
                r = pv_buf_adds(&del, del.len ? ",mdev" : "mdev", err);
        if (usb)
                ;
        else if (r >= 0 && m->live_migration_capable)
                r = pv_api_params_add_bool(p, "live-migration-capable", true, err);
        else if (r >= 0 && update)
                r = pv_buf_adds(&del, del.len ? ",live-migration-capable" : "live-migration-capable", err);
        for (size_t i = 0; r >= 0 && i < m->n_map; i++)
                r = pv_api_params_add(p, "map", m->map[i], err);
        if (r >= 0 && del.len)
                r = pv_api_params_add(p, "delete", del.buf, err);
        pv_buf_release(&del);
        return r;
}

int pv_api_mapping_create(struct pv_api *api, const struct pv_obs_mapping *m, struct pv_error *err) {
        return pv_api_mapping_create_typed(api, "pci", m, err);
}

int pv_api_mapping_update(struct pv_api *api, const struct pv_obs_mapping *m, const char *digest,
                          struct pv_error *err) {
        return pv_api_mapping_update_typed(api, "pci", m, digest, err);
}

int pv_api_mapping_delete(struct pv_api *api, const char *id, struct pv_error *err) {
        return pv_api_mapping_delete_typed(api, "pci", id, err);
}

/* POST /cluster/mapping/{type} (a lost answer is verified by reading the mapping back). */
int pv_api_mapping_create_typed(struct pv_api *api, const char *type, const struct pv_obs_mapping *m,
                                struct pv_error *err) {
        _cleanup_free_ char *path = pv_api_path(err, "cluster", "mapping", type, NULL);
        struct pv_api_params p = PV_API_PARAMS_INIT;
        int r = mapping_params(m, false, strcmp(type, "usb") == 0, &p, err);
        struct map_check c = { .type = type, .m = m };
        if (r >= 0)
                r = pv_api_call_verified(api, PV_API_POST, path, &p, verify_mapping, &c, NULL, err);
        pv_api_params_done(&p);
        return r;
}

/* PUT /cluster/mapping/{type}/{id}: the whole object (map is required), with the digest. */
int pv_api_mapping_update_typed(struct pv_api *api, const char *type, const struct pv_obs_mapping *m,
                                const char *digest, struct pv_error *err) {
        _cleanup_free_ char *path = pv_api_path(err, "cluster", "mapping", type, m->id, NULL);
        struct pv_api_params p = PV_API_PARAMS_INIT;
        int r = mapping_params(m, true, strcmp(type, "usb") == 0, &p, err);
        if (r >= 0 && digest)
                r = pv_api_params_add(&p, "digest", digest, err);
        struct map_check c = { .type = type, .m = m, .old_digest = digest };
        if (r >= 0)
                r = pv_api_call_verified(api, PV_API_PUT, path, &p, verify_mapping, &c, NULL, err);
        pv_api_params_done(&p);
        return r;
}

int pv_api_mapping_delete_typed(struct pv_api *api, const char *type, const char *id, struct pv_error *err) {
        _cleanup_free_ char *path = pv_api_path(err, "cluster", "mapping", type, id, NULL);
        struct pv_obs_mapping only = { .id = (char *)id };
        struct map_check c = { .type = type, .m = &only, .deleted = true };
        return pv_api_call_verified(api, PV_API_DELETE, path, NULL, verify_mapping, &c, NULL, err);
}

/* ------------------------------------------------------------------ hardware */

int pv_api_node_pci(struct pv_api *api, const char *node, const char *class_blacklist, struct pv_hw_pci **ret,
                    size_t *ret_n, struct pv_error *err) {
        _cleanup_free_ char *path = pv_api_path(err, "nodes", node, "hardware", "pci", NULL);
        struct pv_api_params p = PV_API_PARAMS_INIT;
        int r = pv_api_params_add(&p, "pci-class-blacklist", class_blacklist ? class_blacklist : "", err);
        if (r >= 0)
                r = pv_api_params_add_bool(&p, "verbose", true, err);
        json_t *d = NULL;
        if (r >= 0)
                r = get(api, path, &p, &d, err);
        if (r >= 0 && (r = pv_api_decode_hw_pci(d, ret, ret_n, err)) < 0)
                pv_error_wrap(err, "GET %s", path);
        json_decref(d);
        pv_api_params_done(&p);
        return r;
}

int pv_api_node_mdev(struct pv_api *api, const char *node, const char *dev, struct pv_mdev_type **ret,
                     size_t *ret_n, struct pv_error *err) {
        _cleanup_free_ char *path = pv_api_path(err, "nodes", node, "hardware", "pci", dev, "mdev", NULL);
        json_t *d = NULL;
        int r = get(api, path, NULL, &d, err);
        if (r >= 0 && (r = pv_api_decode_mdev_types(d, ret, ret_n, err)) < 0)
                pv_error_wrap(err, "GET %s", path);
        json_decref(d);
        return r;
}

int pv_api_node_reboot(struct pv_api *api, const char *node, struct pv_error *err) {
        _cleanup_free_ char *path = pv_api_path(err, "nodes", node, "status", NULL);
        struct pv_api_params p = PV_API_PARAMS_INIT;
        int r = pv_api_params_add(&p, "command", "reboot", err);
        json_t *d = NULL;
        if (r >= 0)
                r = pv_api_call(api, PV_API_POST, path, &p, &d, err);
        json_decref(d);
        pv_api_params_done(&p);
        return r;
}

int pv_api_node_uptimes(struct pv_api *api, struct pv_node_uptime **ret, size_t *ret_n, struct pv_error *err) {
        struct pv_api_params p = PV_API_PARAMS_INIT;
        int r = pv_api_params_add(&p, "type", "node", err);
        json_t *d = NULL;
        if (r >= 0)
                r = get(api, "/cluster/resources", &p, &d, err);
        if (r >= 0 && (r = pv_api_decode_node_uptimes(d, ret, ret_n, err)) < 0)
                pv_error_wrap(err, "GET /cluster/resources");
        json_decref(d);
        pv_api_params_done(&p);
        return r;
}
