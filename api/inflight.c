/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * VMs in the middle of something: a create whose config holds only
 * `lock: create` (PVE::QemuConfig->create_and_lock_config, removed again when
 * the create fails), a task of the VM still running, or any other lock.
 * Deciding about such a VM before it settles duplicates it or re-sends a
 * write that already took effect (issue 11, items 1-3).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "pvfio/apiexec.h"
#include "pvfio/xalloc.h"

#define SETTLE_FIRST_MS 50u
#define SETTLE_MAX_MS 1000u

static void nap_ms(unsigned ms) {
        struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

static unsigned next_delay(unsigned d) {
        unsigned n = d + d / 2;
        return n > SETTLE_MAX_MS ? SETTLE_MAX_MS : n;
}

/* Running tasks of one VM on its node (GET /nodes/{node}/tasks?source=active&vmid=N). */
static int active_tasks(struct pv_api *api, const char *node, uint32_t vmid, size_t *ret_n, struct pv_error *err) {
        _cleanup_free_ char *path = pv_api_path(err, "nodes", node, "tasks", NULL);
        if (!path)      /* a node name that is no path segment: err says why */
                return pv_error_set(err, PV_EINVAL, "invalid node name");
        struct pv_api_params p = PV_API_PARAMS_INIT;
        int r = pv_api_params_add(&p, "source", "active", err);
        if (r >= 0)
                r = pv_api_params_add_uint(&p, "vmid", vmid, err);
        json_t *d = NULL;
        if (r >= 0)
                r = pv_api_call(api, PV_API_GET, path, &p, &d, err);
        if (r >= 0 && !json_is_array(d))
                r = pv_error_set(err, PV_EINVAL, "GET %s: unexpected answer: the task list is not a list", path);
        if (r >= 0) {
                /* source=active lists the tasks that ended but are not archived yet too, with their exit
                 * status (pve-manager PVE/API2/Tasks.pm node_tasks): only 'RUNNING' ones still run */
                size_t n = 0, i;
                const json_t *e;
                json_array_foreach(d, i, e) {
                        const char *st = json_string_value(json_object_get(e, "status"));
                        n += !st || strcmp(st, "RUNNING") == 0;
                }
                *ret_n = n;
        }
        json_decref(d);
        pv_api_params_done(&p);
        return r;
}

int pv_api_vm_settle(struct pv_api *api, const char *node, uint32_t vmid, unsigned timeout_ms, struct pv_error *err) {
        uint64_t t0 = pv_api_now_ms();
        unsigned delay = SETTLE_FIRST_MS;
        for (;;) {
                size_t n_tasks = 0;
                int r = active_tasks(api, node, vmid, &n_tasks, err);
                if (r < 0)
                        return r;
                bool busy = n_tasks > 0;
                _cleanup_free_ char *lock = NULL;
                if (!busy) {
                        struct pv_vm_status st;
                        struct pv_error e = PV_ERROR_INIT;
                        r = pv_api_vm_status(api, node, vmid, &st, &e);
                        if (r < 0 && e.code == PV_ENOTFOUND) {
                                pv_error_done(&e);
                                return 0; /* gone (a failed create removes its config): settled */
                        }
                        if (r < 0) {
                                pv_error_move(err, &e);
                                return r;
                        }
                        lock = st.lock ? strdup(st.lock) : NULL;
                        busy = st.lock != NULL;
                        pv_vm_status_done(&st);
                        if (!busy)
                                return 0;
                }
                uint64_t elapsed = pv_api_now_ms() - t0;
                if (elapsed >= timeout_ms) {
                        if (n_tasks)
                                return pv_error_set(err, PV_ECONFLICT,
                                                    "VM %" PRIu32 " on '%s' is still busy after %u s (a task of it runs)",
                                                    vmid, node, timeout_ms / 1000);
                        return pv_error_set(err, PV_ECONFLICT, "VM %" PRIu32 " on '%s' is still locked after %u s (lock: %s)",
                                            vmid, node, timeout_ms / 1000, lock ? lock : "?");
                }
                unsigned left = (unsigned)(timeout_ms - elapsed);
                nap_ms(delay < left ? delay : left);
                delay = next_delay(delay);
        }
}

int pv_api_busy_vms(struct pv_api *api, pv_vm_filter_fn maybe_ours, const void *ctx, const struct pv_vm_info *vms,
                    size_t n, struct pv_strv *ret_busy, size_t *ret_creating, struct pv_error *err) {
        size_t creating = 0;
        int r = 0;
        for (size_t i = 0; r >= 0 && i < n; i++) {
                const struct pv_vm_info *v = &vms[i];
                if (!v->lock || !maybe_ours(ctx, v))
                        continue;
                bool create = strcmp(v->lock, "create") == 0;
                if (!create) {
                        /* another lock counts while a task of the VM runs (a stale lock is the planner's
                         * business: it blocks the VM's actions and says why) */
                        size_t n_tasks = 0;
                        if ((r = active_tasks(api, v->node, v->vmid, &n_tasks, err)) < 0)
                                break;
                        if (!n_tasks)
                                continue;
                }
                creating += create;
                bool named = !create && v->name;
                r = pv_strv_push_take(ret_busy,
                                      pv_xasprintf("VM %" PRIu32 " on '%s' (lock: %s%s%s)", v->vmid,
                                                   v->node ? v->node : "?", v->lock, named ? ", name " : "",
                                                   named ? v->name : ""),
                                      err);
        }
        if (ret_creating)
                *ret_creating = creating;
        return r;
}
