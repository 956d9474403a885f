/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Observe again, cheaply, what a plan made a moment ago depends on (pvfio/observe.h
 * pv_api_reobserve): the cluster listing and the mapping listing in one round, then
 * the configs of the VMs the plan writes, of every VM whose listing changed and of every
 * VM on a node whose VF pool the plan draws from. What
 * did not change is kept from the earlier observation (moved, not copied).
 */
#include "pvfio/observe.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "pvfio/cleanup.h"
#include "pvfio/xalloc.h"

#define DEFAULT_TAG "pvfio"

static bool streq(const char *a, const char *b) {
        return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static const struct pv_vm_info *find_vm(const struct pv_vm_info *v, size_t n, uint32_t vmid) {
        for (size_t i = 0; i < n; i++)
                if (v[i].vmid == vmid)
                        return &v[i];
        return NULL;
}

static bool listed(const uint32_t *ids, size_t n, uint32_t vmid) {
        for (size_t i = 0; i < n; i++)
                if (ids[i] == vmid)
                        return true;
        return false;
}

/* The nodes (names and states) are the same: the hardware and versions read for them still hold. */
static bool same_nodes(const struct pv_observed *o, const struct pv_node_info *n, size_t nn) {
        if (o->n_nodes != nn)
                return false;
        for (size_t i = 0; i < nn; i++)
                if (!streq(o->nodes[i].node, n[i].node) || !streq(o->nodes[i].status, n[i].status))
                        return false;
        return true;
}

/* A mapping file is unchanged: its digest (one for the whole file) and the ids are the same. */
static bool same_mappings(const struct pv_obs_mapping *old, size_t n_old, const struct pv_obs_mapping *m, size_t nm) {
        if (n_old != nm)
                return false;
        for (size_t i = 0; i < nm; i++)
                if (!streq(old[i].id, m[i].id) || !streq(old[i].digest, m[i].digest))
                        return false;
        return true;
}

/* The listing of a VM changed in a way its config may have too (or its kind of read: config vs pending). */
static bool listing_changed(const struct pv_vm_info *a, const struct pv_vm_info *b) {
        return !streq(a->node, b->node) || !streq(a->name, b->name) || !streq(a->status, b->status) ||
               !streq(a->lock, b->lock) || !streq(a->tags, b->tags) || a->is_template != b->is_template;
}

static ssize_t find_config(const struct pv_observed *o, uint32_t vmid) {
        for (size_t i = 0; i < o->n_configs; i++)
                if (o->configs[i].vmid == vmid)
                        return (ssize_t)i;
        return -1;
}

static ssize_t find_pending(const struct pv_observed *o, uint32_t vmid) {
        for (size_t i = 0; i < o->n_pending; i++)
                if (o->pending[i].vmid == vmid)
                        return (ssize_t)i;
        return -1;
}

/* The new configs and pending lists being assembled. */
struct vm_reads {
        struct pv_vm_config *configs;
        size_t n_configs;
        struct pv_vm_pending *pending;
        size_t n_pending;
};

static void vm_reads_done(struct vm_reads *r) {
        for (size_t i = 0; i < r->n_configs; i++)
                pv_vm_config_done(&r->configs[i]);
        for (size_t i = 0; i < r->n_pending; i++)
                pv_vm_pending_done(&r->pending[i]);
        free(r->configs);
        free(r->pending);
        memset(r, 0, sizeof *r);
}

static void push_config(struct vm_reads *r, struct pv_vm_config *c) {
        r->configs = pv_xreallocarray(r->configs, r->n_configs + 1, sizeof *r->configs);
        r->configs[r->n_configs++] = *c;
        memset(c, 0, sizeof *c);
}

static void push_pending(struct vm_reads *r, struct pv_vm_pending *p) {
        r->pending = pv_xreallocarray(r->pending, r->n_pending + 1, sizeof *r->pending);
        r->pending[r->n_pending++] = *p;
        memset(p, 0, sizeof *p);
}

/* Decode one config (stopped VM) or pending list (running VM, which carries the config) into r. */
static int take_vm_answer(const struct pv_vm_info *v, bool pending, const json_t *data, struct vm_reads *r,
                          struct pv_error *err) {
        struct pv_vm_config c;
        if (!pending) {
                int k = pv_api_decode_vm_config(data, v->node, v->vmid, &c, err);
                if (k == 0)
                        push_config(r, &c);
                return k;
        }
        struct pv_vm_pending pd;
        int k = pv_api_decode_vm_pending(data, v->vmid, &pd, err);
        if (k < 0)
                return k;
        push_pending(r, &pd);
        json_t *conf = pv_api_config_from_pending(data);
        if (!conf)
                return pv_error_set(err, PV_EINVAL, "the pending list is not a list");
        k = pv_api_decode_vm_config(conf, v->node, v->vmid, &c, err);
        json_decref(conf);
        if (k < 0)
                return k;
        if (!c.digest) {
                pv_vm_config_done(&c);
                return pv_error_set(err, PV_EINVAL, "the pending list carries no digest");
        }
        push_config(r, &c);
        return 0;
}

int pv_api_reobserve(struct pv_api *api, const struct pv_observe_want *want, const struct pv_observe_opts *opts,
                     const uint32_t *reread, size_t n_reread, struct pv_observed *obs, struct pv_strv *warnings,
                     struct pv_observe_stats *stats, struct pv_error *err) {
        const char *tag = opts && opts->tag ? opts->tag : DEFAULT_TAG;
        struct pv_api_get round1[3] = {
                { .path = "/cluster/resources", .err = PV_ERROR_INIT },
                { .path = "/cluster/mapping/pci", .err = PV_ERROR_INIT },
                { .path = "/cluster/mapping/usb", .err = PV_ERROR_INIT },
        };
        size_t n1 = want->usb_mappings ? 3 : 2; /* and the USB mapping file (read whenever the cluster is) */
        struct pv_node_info *nodes = NULL;
        struct pv_vm_info *vms = NULL;
        struct pv_obs_mapping *maps = NULL, *usb = NULL;
        size_t nn = 0, nv = 0, nm = 0, nu = 0;
        struct vm_reads got = { 0 };
        struct pv_api_get *reqs = NULL;
        size_t *which = NULL, n_reqs = 0;
        ssize_t *kept = NULL;           /* pairs (config, pending or -1) of *obs kept as they are */
        size_t n_kept = 0;
        char **paths = NULL;
        int r = 0;

        if (stats) {
                stats->rounds++;
                stats->requests += n1;
        }
        struct pv_error ignored = PV_ERROR_INIT;
        pv_api_get_many(api, round1, n1, &ignored);
        pv_error_done(&ignored);
        for (size_t i = 0; i < n1 && r == 0; i++) {
                if (round1[i].err.code) {
                        pv_error_move(err, &round1[i].err);
                        r = -err->code;
                } else if (i == 0) {
                        r = pv_api_decode_resources(round1[i].data, &nodes, &nn, &vms, &nv, err);
                } else if (i == 1) {
                        r = pv_api_decode_mappings(round1[i].data, &maps, &nm, err);
                } else {
                        r = pv_api_decode_mappings(round1[i].data, &usb, &nu, err);
                }
                if (r < 0)
                        pv_error_wrap(err, "GET %s", round1[i].path);
        }
        if (r < 0)
                goto out;

        if (!same_nodes(obs, nodes, nn) || !same_mappings(obs->mappings, obs->n_mappings, maps, nm) ||
            (want->usb_mappings && !same_mappings(obs->usb_mappings, obs->n_usb_mappings, usb, nu))) {
                /* nodes came or went, or the mapping file changed: what was read for them may not hold, read all */
                struct pv_observe_opts o = opts ? *opts : (struct pv_observe_opts){ 0 };
                o.known = obs;
                struct pv_observed fresh;
                r = pv_api_observe(api, want, &o, &fresh, warnings, stats, err);
                if (r == 0) {
                        pv_observed_done(obs);
                        *obs = fresh;
                }
                goto out;
        }

        /* round 2: the configs that must be read again; the others are moved over */
        for (size_t i = 0; i < nv; i++) {
                const struct pv_vm_info *v = &vms[i];
                bool wanted = !v->is_template && ((opts && opts->all_vms) ||
                                                  (v->name && pv_strv_contains(&want->vm_names, v->name)) ||
                                                  pv_tags_contain(v->tags, tag) ||
                                                  pv_strv_contains(&want->vf_nodes, v->node));
                if (!wanted)
                        continue;
                const struct pv_vm_info *old = find_vm(obs->vms, obs->n_vms, v->vmid);
                ssize_t c = find_config(obs, v->vmid);
                bool running = v->status && strcmp(v->status, "running") == 0;
                ssize_t p = find_pending(obs, v->vmid);
                /* a VM on a VF pool's node is read again whatever its listing says: another client may
                 * have given it a VF (a config edit does not change the listing), and the plan picks
                 * free VFs from what those VMs hold */
                if (old && c >= 0 && !listing_changed(old, v) && (!running || p >= 0) &&
                    !listed(reread, n_reread, v->vmid) && !pv_strv_contains(&want->vf_nodes, v->node)) {
                        kept = pv_xreallocarray(kept, 2 * (n_kept + 1), sizeof *kept);
                        kept[2 * n_kept] = c;
                        kept[2 * n_kept + 1] = p;
                        n_kept++;
                        continue;
                }
                char id[16];
                snprintf(id, sizeof id, "%" PRIu32, v->vmid);
                char *path = pv_api_path(err, "nodes", v->node, "qemu", id, running ? "pending" : "config", NULL);
                reqs = pv_xreallocarray(reqs, n_reqs + 1, sizeof *reqs);
                which = pv_xreallocarray(which, n_reqs + 1, sizeof *which);
                paths = pv_xreallocarray(paths, n_reqs + 1, sizeof *paths);
                paths[n_reqs] = path;
                which[n_reqs] = i;
                reqs[n_reqs++] = (struct pv_api_get){ .path = path, .err = PV_ERROR_INIT };
        }
        if (n_reqs) {
                if (stats) {
                        stats->rounds++;
                        stats->requests += n_reqs;
                }
                pv_api_get_many(api, reqs, n_reqs, &ignored);
                pv_error_done(&ignored);
        }
        for (size_t k = 0; k < n_reqs && r == 0; k++) {
                const struct pv_vm_info *v = &vms[which[k]];
                if (reqs[k].err.code) {
                        pv_error_move(err, &reqs[k].err);
                        r = -err->code;
                } else {
                        r = take_vm_answer(v, v->status && strcmp(v->status, "running") == 0, reqs[k].data, &got, err);
                }
                if (r < 0)
                        pv_error_wrap(err, "GET %s", paths[k]);
        }
        if (r < 0)
                goto out;

        /* all read: move the kept configs over (only now, so that a failure leaves *obs as it was) */
        for (size_t k = 0; k < n_kept; k++) {
                push_config(&got, &obs->configs[kept[2 * k]]);
                if (kept[2 * k + 1] >= 0)
                        push_pending(&got, &obs->pending[kept[2 * k + 1]]);
        }
        /* the new listing, configs and pending lists replace the old; hardware, versions, options stay */
        for (size_t i = 0; i < obs->n_nodes; i++)
                pv_node_info_done(&obs->nodes[i]);
        for (size_t i = 0; i < obs->n_vms; i++)
                pv_vm_info_done(&obs->vms[i]);
        for (size_t i = 0; i < obs->n_configs; i++)
                pv_vm_config_done(&obs->configs[i]);
        for (size_t i = 0; i < obs->n_pending; i++)
                pv_vm_pending_done(&obs->pending[i]);
        free(obs->nodes);
        free(obs->vms);
        free(obs->configs);
        free(obs->pending);
        obs->nodes = TAKE_PTR(nodes);
        obs->n_nodes = nn;
        obs->vms = TAKE_PTR(vms);
        obs->n_vms = nv;
        obs->configs = TAKE_PTR(got.configs);
        obs->n_configs = got.n_configs;
        obs->pending = TAKE_PTR(got.pending);
        obs->n_pending = got.n_pending;
        memset(&got, 0, sizeof got);
        nn = nv = 0;
out:
        for (size_t i = 0; i < 3; i++) {
                json_decref(round1[i].data);
                pv_error_done(&round1[i].err);
        }
        for (size_t k = 0; k < n_reqs; k++) {
                json_decref(reqs[k].data);
                pv_error_done(&reqs[k].err);
                free(paths[k]);
        }
        free(reqs);
        free(which);
        free(paths);
        free(kept);
        vm_reads_done(&got);
        for (size_t i = 0; i < nn; i++)
                pv_node_info_done(&nodes[i]);
        for (size_t i = 0; i < nv; i++)
                pv_vm_info_done(&vms[i]);
        for (size_t i = 0; i < nm; i++)
                pv_obs_mapping_done(&maps[i]);
        for (size_t i = 0; i < nu; i++)
                pv_obs_mapping_done(&usb[i]);
        free(nodes);
        free(vms);
        free(maps);
        free(usb);
        return r;
}
