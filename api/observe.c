/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Observe the cluster for a plan: concurrent GETs, one per VM, started as soon as the cluster listing answers. */
#include "pvfio/observe.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "pvfio/cleanup.h"
#include "pvfio/xalloc.h"

#define DEFAULT_TAG "pvfio"

/* A growable list of GET requests whose paths and params this file owns. */
struct batch {
        struct pv_api_get *reqs;
        struct pv_api_params **params;  /* one per request, or NULL (each allocated: the arrays may move mid-run) */
        char **paths;
        int *kind;                      /* what the answer is for */
        size_t *ref;                    /* index into the owner's table (VM, node, device) */
        size_t n, alloc;
};

enum {
        REQ_CONFIG, REQ_PENDING, REQ_RESOURCES, REQ_MAPPINGS, REQ_MAPPINGS_CHECK, REQ_HW, REQ_MDEV,
        REQ_USB_MAPPINGS, REQ_USB_CHECK, REQ_USB_HW,
        REQ_OPTIONS, REQ_VERSION, REQ_NODE_VERSION, REQ_APT_VERSIONS, /* the version answers: keep these last */
};

static void batch_done(struct batch *b) {
        for (size_t i = 0; i < b->n; i++) {
                json_decref(b->reqs[i].data);
                pv_error_done(&b->reqs[i].err);
                if (b->params[i])
                        pv_api_params_done(b->params[i]);
                free(b->params[i]);
                free(b->paths[i]);
        }
        free(b->reqs);
        free(b->params);
        free(b->paths);
        free(b->kind);
        free(b->ref);
        memset(b, 0, sizeof *b);
}

/* Add a GET (takes path). Returns the index or <0. */
static int batch_add(struct batch *b, char *path, int kind, size_t ref) {
        if (b->n == b->alloc) {
                size_t n = b->alloc ? b->alloc * 2 : 64;
                b->reqs = pv_xreallocarray(b->reqs, n, sizeof *b->reqs);
                b->params = pv_xreallocarray(b->params, n, sizeof *b->params);
                b->paths = pv_xreallocarray(b->paths, n, sizeof *b->paths);
                b->kind = pv_xreallocarray(b->kind, n, sizeof *b->kind);
                b->ref = pv_xreallocarray(b->ref, n, sizeof *b->ref);
                b->alloc = n;
        }
        size_t i = b->n++;
        b->paths[i] = path;
        b->params[i] = NULL;
        b->kind[i] = kind;
        b->ref[i] = ref;
        b->reqs[i] = (struct pv_api_get){ .path = path, .params = NULL, .data = NULL, .err = PV_ERROR_INIT };
        return (int)i;
}

/* The query parameters of request idx (allocated on first use). */
static struct pv_api_params *batch_params(struct batch *b, size_t idx) {
        if (!b->params[idx]) {
                b->params[idx] = pv_xmalloc(sizeof *b->params[idx]);
                *b->params[idx] = (struct pv_api_params)PV_API_PARAMS_INIT;
                b->reqs[idx].params = b->params[idx];
        }
        return b->params[idx];
}

static int batch_run(struct pv_api *api, struct batch *b, struct pv_observe_stats *stats) {
        if (stats) {
                stats->rounds++;
                stats->requests += b->n;
        }
        struct pv_error ignored = PV_ERROR_INIT;
        pv_api_get_many(api, b->reqs, b->n, &ignored); /* per-request errors are inspected by the caller */
        pv_error_done(&ignored);
        return 0;
}

static bool node_known(const struct pv_observed *o, const char *node) {
        for (size_t i = 0; i < o->n_nodes; i++)
                if (strcmp(o->nodes[i].node, node) == 0)
                        return true;
        return false;
}

static int warn(struct pv_strv *warnings, const char *fmt, const char *a, const char *b);

static struct pv_node_version *version_slot(struct pv_observed *o, const char *node) {
        for (size_t i = 0; i < o->n_versions; i++)
                if (strcmp(o->versions[i].node, node) == 0)
                        return &o->versions[i];
        struct pv_node_version *v = pv_xreallocarray(o->versions, o->n_versions + 1, sizeof *v);
        o->versions = v;
        v[o->n_versions] = (struct pv_node_version){ .node = pv_xstrdup(node) };
        return &v[o->n_versions++];
}

/* The answer of one version request of round 1 (a failure is a warning: keys are then checked with what is known). */
static int take_version_answer(struct pv_observed *o, int kind, const char *node, struct pv_api_get *q,
                               struct pv_strv *warnings, struct pv_error *err) {
        if (kind == REQ_OPTIONS || kind == REQ_VERSION) {
                if (q->err.code)
                        return warn(warnings, kind == REQ_OPTIONS
                                                      ? "cannot read the datacenter options (%s); tags are written and compared as Proxmox's default tag-style stores them (lower-case, sorted)%s"
                                                      : "cannot read the Proxmox VE version (%s)%s",
                                    pv_error_message(&q->err), "");
                if (kind == REQ_OPTIONS)
                        return pv_api_decode_tag_style(q->data, &o->tag_style, &o->have_tag_style, err);
                struct pv_api_version v = { 0 };
                int r = pv_api_decode_version(q->data, &v, err);
                if (r >= 0) {
                        o->api_version = TAKE_PTR(v.version);
                        pv_api_version_done(&v);
                }
                return r;
        }
        struct pv_node_version *nv = version_slot(o, node);
        if (q->err.code && kind == REQ_NODE_VERSION)
                return warn(warnings, "cannot read the version of node '%s' (%s); keys that need a newer Proxmox VE are not checked there",
                            node, pv_error_message(&q->err));
        if (q->err.code) {
                /* Sys.Audit on /nodes/{node} is needed; the Proxmox VE version still gates the keys */
                nv->qemu_server_unknown = pv_xstrdup(pv_error_message(&q->err));
                return warn(warnings,
                            "cannot read the qemu-server version of node '%s' (%s; it needs Sys.Audit on /nodes/NODE); keys that depend on it are checked against the node's Proxmox VE release",
                            node, nv->qemu_server_unknown);
        }
        if (kind == REQ_APT_VERSIONS)
                return pv_api_decode_pkg_version(q->data, "qemu-server", &nv->qemu_server, err);
        struct pv_api_version v = { 0 };
        int r = pv_api_decode_version(q->data, &v, err);
        if (r >= 0)
                nv->pve = TAKE_PTR(v.version);
        pv_api_version_done(&v);
        return r;
}

static void append_config(struct pv_observed *o, struct pv_vm_config *c) {
        o->configs = pv_xreallocarray(o->configs, o->n_configs + 1, sizeof *o->configs);
        o->configs[o->n_configs++] = *c;
        memset(c, 0, sizeof *c);
}

static void append_pending(struct pv_observed *o, struct pv_vm_pending *pd) {
        o->pending = pv_xreallocarray(o->pending, o->n_pending + 1, sizeof *o->pending);
        o->pending[o->n_pending++] = *pd;
        memset(pd, 0, sizeof *pd);
}

static void append_hw(struct pv_observed *o, const char *node, struct pv_hw_pci *devs, size_t n) {
        o->hw = pv_xreallocarray(o->hw, o->n_hw + 1, sizeof *o->hw);
        o->hw[o->n_hw++] = (struct pv_node_hw){ .node = pv_xstrdup(node), .devs = devs, .n_devs = n };
}

/* Merge the checks of a check-node listing into the plain listing, each with the node it was read for. */
static void merge_checks(struct pv_observed *o, const char *node, struct pv_obs_mapping *checked, size_t n) {
        for (size_t i = 0; i < n; i++) {
                struct pv_obs_mapping *m = NULL;
                for (size_t k = 0; k < o->n_mappings; k++)
                        if (strcmp(o->mappings[k].id, checked[i].id) == 0)
                                m = &o->mappings[k];
                if (!m)
                        continue;
                for (size_t c = 0; c < checked[i].n_checks; c++) {
                        struct pv_mapping_check *v = pv_xreallocarray(m->checks, m->n_checks + 1, sizeof *v);
                        m->checks = v;
                        char *nd = pv_xstrdup(node);
                        struct pv_mapping_check *k = &checked[i].checks[c];
                        if (k->message)
                                pv_strip_trailing(k->message); /* Proxmox's die texts end in a new line */
                        v[m->n_checks++] = (struct pv_mapping_check){ .severity = TAKE_PTR(k->severity),
                                                                      .message = TAKE_PTR(k->message),
                                                                      .node = nd };
                }
        }
}

/* VMs (indexes into o.vms) whose config must be read after all (a pending list without a digest). */
struct idx_list {
        size_t *v;
        size_t n;
};

static void need_config_add(struct idx_list *l, size_t idx) {
        l->v = pv_xreallocarray(l->v, l->n + 1, sizeof *l->v);
        l->v[l->n++] = idx;
}

static bool truthy_delete(const json_t *d) {
        if (json_is_integer(d))
                return json_integer_value(d) > 0;
        if (json_is_string(d))
                return strcmp(json_string_value(d), "") != 0 && strcmp(json_string_value(d), "0") != 0;
        return json_is_true(d);
}

/*
 * GET …/config as Proxmox answers it by default (pending values merged in,
 * keys with a pending deletion dropped), rebuilt from GET …/pending, which
 * lists every key with its current and pending value (and the digest). So a
 * running VM costs one request instead of two. NULL when data is not a list.
 */
json_t *pv_api_config_from_pending(const json_t *data) {
        if (!json_is_array(data))
                return NULL;
        json_t *o = json_object();
        size_t i;
        const json_t *e;
        json_array_foreach(data, i, e) {
                const char *key = json_string_value(json_object_get(e, "key"));
                if (!o || !key)
                        continue;
                const json_t *d = json_object_get(e, "delete");
                if (d && truthy_delete(d))
                        continue;
                json_t *v = json_object_get(e, "pending");
                if (!v || json_is_null(v))
                        v = json_object_get(e, "value");
                if (v && !json_is_null(v) && json_object_set(o, key, v) < 0) {
                        json_decref(o);
                        o = NULL;
                }
        }
        return o;
}

static int warn(struct pv_strv *warnings, const char *fmt, const char *a, const char *b) {
        if (!warnings)
                return 0;
        return pv_strv_push_take(warnings, pv_xasprintf(fmt, a, b), NULL);
}

static int add_mdev_types(struct pv_node_hw *hw, const struct pv_pci_addr *addr, const json_t *data,
                          struct pv_error *err) {
        struct pv_mdev_type *types = NULL;
        size_t nt = 0;
        int r = pv_api_decode_mdev_types(data, &types, &nt, err);
        if (r < 0)
                return r;
        hw->mdev = pv_xreallocarray(hw->mdev, hw->n_mdev + 1, sizeof *hw->mdev);
        hw->mdev[hw->n_mdev++] = (struct pv_node_mdev){ .addr = *addr, .types = types, .n_types = nt };
        return 0;
}

/* One VM read of the batch: its config, or its pending list and the config in it. */
static int take_vm_read(struct pv_observed *o, struct batch *b, size_t i, struct idx_list *need_config,
                        struct pv_error *err) {
        struct pv_api_get *q = &b->reqs[i];
        if (q->err.code) {
                pv_error_move(err, &q->err);
                return -err->code;
        }
        const struct pv_vm_info *v = &o->vms[b->ref[i]];
        int r;
        if (b->kind[i] == REQ_CONFIG) {
                struct pv_vm_config c;
                r = pv_api_decode_vm_config(q->data, v->node, v->vmid, &c, err);
                if (r >= 0)
                        append_config(o, &c);
        } else {
                struct pv_vm_pending pd;
                r = pv_api_decode_vm_pending(q->data, v->vmid, &pd, err);
                if (r >= 0)
                        append_pending(o, &pd);
                json_t *conf = r >= 0 ? pv_api_config_from_pending(q->data) : NULL;
                if (r >= 0 && !conf)
                        r = pv_error_set(err, PV_ENOMEM, "out of memory");
                struct pv_vm_config c;
                if (r >= 0)
                        r = pv_api_decode_vm_config(conf, v->node, v->vmid, &c, err);
                json_decref(conf);
                if (r >= 0 && c.digest) {
                        append_config(o, &c);
                } else if (r >= 0) {
                        pv_vm_config_done(&c); /* no digest: the update needs one, read the config */
                        need_config_add(need_config, b->ref[i]);
                }
        }
        if (r < 0)
                pv_error_wrap(err, "GET %s", b->paths[i]);
        return r;
}

/* The reads of the VMs the plan needs, from the cluster listing: a config, or for a running VM its pending list. */
static int add_vm_reads(struct batch *b, const struct pv_observed *o, const struct pv_observe_want *want,
                        const struct pv_observe_opts *opts, const char *tag, struct pv_error *err) {
        for (size_t i = 0; i < o->n_vms; i++) {
                const struct pv_vm_info *v = &o->vms[i];
                if (v->is_template)
                        continue;
                /* VMs on nodes where the profile picks VFs are read too: used VFs matter */
                bool wanted = (opts && opts->all_vms) || (v->name && pv_strv_contains(&want->vm_names, v->name)) ||
                            pv_tags_contain(v->tags, tag) || pv_strv_contains(&want->vf_nodes, v->node);
                if (!wanted)
                        continue;
                char id[16];
                snprintf(id, sizeof id, "%" PRIu32, v->vmid);
                /* a running VM may have pending changes: its pending list carries the config too */
                bool running = v->status && strcmp(v->status, "running") == 0;
                char *path = pv_api_path(err, "nodes", v->node, "qemu", id, running ? "pending" : "config", NULL);
                int r = batch_add(b, path, running ? REQ_PENDING : REQ_CONFIG, i);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Round 1 as it runs: the listing's answer starts the VM reads at once. */
struct listing_feed {
        struct batch *b;
        struct pv_observed *o;
        const struct pv_observe_want *want;
        const struct pv_observe_opts *opts;
        const char *tag;
        bool listed;                    /* the listing is decoded into o */
        int r;                          /* < 0: decoding it (or adding the reads) failed: err says why */
        struct pv_error err;
};

static void listing_answered(void *ctx, size_t i) {
        struct listing_feed *f = ctx;
        struct batch *b = f->b;
        if (b->kind[i] != REQ_RESOURCES || b->reqs[i].err.code || f->listed || f->r < 0)
                return;
        f->r = pv_api_decode_resources(b->reqs[i].data, &f->o->nodes, &f->o->n_nodes, &f->o->vms, &f->o->n_vms,
                                       &f->err);
        if (f->r < 0) {
                pv_error_wrap(&f->err, "GET %s", b->paths[i]);
                return;
        }
        f->listed = true;
        f->r = add_vm_reads(b, f->o, f->want, f->opts, f->tag, &f->err);
}

/*
 * Concurrent GETs in one run, and a second only when the hardware asks for it:
 *   1. what the profile alone decides: /cluster/resources, the mapping
 *      listing (plain, and with check-node per mapped node), the hardware of
 *      the nodes the profile's devices use; and, started the moment the
 *      listing answers, one read per VM (config, or for a running VM its
 *      pending list, which carries the config too);
 *   2. what the hardware decides: the mdev types.
 * A node the profile names but the cluster lacks costs a failed request in
 * round 1; it is reported as not part of the cluster.
 */
int pv_api_observe(struct pv_api *api, const struct pv_observe_want *want, const struct pv_observe_opts *opts,
                   struct pv_observed *ret, struct pv_strv *warnings, struct pv_observe_stats *stats,
                   struct pv_error *err) {
        const char *tag = opts && opts->tag ? opts->tag : DEFAULT_TAG;
        struct pv_observed o;
        memset(&o, 0, sizeof o);
        struct batch b = { 0 };
        const struct pv_strv *hw_nodes = &want->hw_nodes, *check_nodes = &want->check_nodes;
        const struct pv_strv *ver_nodes = &want->version_nodes, *qs_nodes = &want->qemu_server_nodes;
        struct idx_list need_config = { 0 };
        struct pv_mdev_want *mreqs = NULL;
        size_t n_mreqs = 0;
        struct listing_feed feed = { .b = &b, .o = &o, .want = want, .opts = opts, .tag = tag, .err = PV_ERROR_INIT };
        int r;

        /* round 1; the versions and datacenter options once per run */
        const struct pv_observed *known = opts ? opts->known : NULL;
        static const struct pv_strv none = PV_STRV_INIT;
        if (known) {
                ver_nodes = qs_nodes = &none;
                if ((r = pv_observed_copy_versions(&o, known, err)) < 0)
                        goto fail;
        }
        r = batch_add(&b, pv_xstrdup("/cluster/resources"), REQ_RESOURCES, 0);
        if (r >= 0 && !known)
                r = batch_add(&b, pv_xstrdup("/cluster/options"), REQ_OPTIONS, 0);
        if (r >= 0 && !known && want->api_version)
                r = batch_add(&b, pv_xstrdup("/version"), REQ_VERSION, 0);
        for (size_t i = 0; i < ver_nodes->n && r >= 0; i++)
                r = batch_add(&b, pv_api_path(err, "nodes", ver_nodes->v[i], "version", NULL), REQ_NODE_VERSION, i);
        for (size_t i = 0; i < qs_nodes->n && r >= 0; i++)
                r = batch_add(&b, pv_api_path(err, "nodes", qs_nodes->v[i], "apt", "versions", NULL), REQ_APT_VERSIONS, i);
        if (r >= 0)
                r = batch_add(&b, pv_xstrdup("/cluster/mapping/pci"), REQ_MAPPINGS, 0);
        for (size_t i = 0; i < check_nodes->n && r >= 0; i++) {
                int idx = batch_add(&b, pv_xstrdup("/cluster/mapping/pci"), REQ_MAPPINGS_CHECK, i);
                r = idx < 0 ? idx : pv_api_params_add(batch_params(&b, idx), "check-node", check_nodes->v[i], err);
        }
        for (size_t i = 0; i < hw_nodes->n && r >= 0; i++) {
                int idx = batch_add(&b, pv_api_path(err, "nodes", hw_nodes->v[i], "hardware", "pci", NULL), REQ_HW, i);
                r = idx < 0 ? idx : pv_api_params_add(batch_params(&b, idx), "pci-class-blacklist", "", err);
        }
        /* cluster USB mappings, their checks and the USB devices their port-only entries need */
        if (r >= 0 && want->usb_mappings) {
                r = batch_add(&b, pv_xstrdup("/cluster/mapping/usb"), REQ_USB_MAPPINGS, 0);
                for (size_t i = 0; i < want->usb_check_nodes.n && r >= 0; i++) {
                        int idx = batch_add(&b, pv_xstrdup("/cluster/mapping/usb"), REQ_USB_CHECK, i);
                        r = idx < 0 ? idx
                                    : pv_api_params_add(batch_params(&b, idx), "check-node", want->usb_check_nodes.v[i],
                                                        err);
                }
                for (size_t i = 0; i < want->usb_hw_nodes.n && r >= 0; i++)
                        r = batch_add(&b, pv_api_path(err, "nodes", want->usb_hw_nodes.v[i], "hardware", "usb", NULL),
                                      REQ_USB_HW, i);
        }
        if (r < 0)
                goto fail;
        if (stats)
                stats->rounds++;
        struct pv_error ignored = PV_ERROR_INIT;
        pv_api_get_more(api, &b.reqs, &b.n, listing_answered, &feed, &ignored); /* errors: per request, below */
        pv_error_done(&ignored);
        if (stats)
                stats->requests += b.n;
        /* the cluster listing and the mappings first: the rest is read against them */
        for (size_t i = 0; i < b.n; i++) {
                if (b.kind[i] != REQ_RESOURCES && b.kind[i] != REQ_MAPPINGS)
                        continue;
                if (b.reqs[i].err.code) {
                        pv_error_move(err, &b.reqs[i].err);
                        r = -err->code;
                        goto fail;
                }
                if (b.kind[i] == REQ_RESOURCES) {
                        r = feed.r;
                        if (r < 0)
                                pv_error_move(err, &feed.err);
                        if (r < 0)
                                goto fail;
                        continue;
                }
                r = pv_api_decode_mappings(b.reqs[i].data, &o.mappings, &o.n_mappings, err);
                if (r < 0) {
                        pv_error_wrap(err, "GET %s", b.paths[i]);
                        goto fail;
                }
        }
        for (size_t i = 0; i < b.n; i++) /* the USB listing before the checks merged into it */
                if (b.kind[i] == REQ_USB_MAPPINGS && (r = pv_api_usb_take_listing(&o, &b.reqs[i], err)) < 0)
                        goto fail;
        for (size_t i = 0; i < b.n; i++) {
                struct pv_api_get *q = &b.reqs[i];
                if (b.kind[i] == REQ_RESOURCES || b.kind[i] == REQ_MAPPINGS || b.kind[i] == REQ_USB_MAPPINGS ||
                    b.kind[i] == REQ_CONFIG || b.kind[i] == REQ_PENDING)
                        continue;
                if (b.kind[i] == REQ_USB_CHECK) {
                        pv_api_usb_take_check(&o, want->usb_check_nodes.v[b.ref[i]], q, warnings);
                        continue;
                }
                if (b.kind[i] == REQ_USB_HW) {
                        pv_api_usb_take_hw(&o, want->usb_hw_nodes.v[b.ref[i]], q, warnings);
                        continue;
                }
                if (b.kind[i] >= REQ_OPTIONS) {
                        const char *vn = b.kind[i] == REQ_NODE_VERSION   ? ver_nodes->v[b.ref[i]]
                                         : b.kind[i] == REQ_APT_VERSIONS ? qs_nodes->v[b.ref[i]]
                                                                         : NULL;
                        if (vn && !node_known(&o, vn))
                                continue; /* reported with its hardware, or by the planner */
                        r = take_version_answer(&o, b.kind[i], vn, q, warnings, err);
                        if (r < 0) {
                                pv_error_wrap(err, "GET %s", b.paths[i]);
                                goto fail;
                        }
                        continue;
                }
                const char *node = b.kind[i] == REQ_HW ? hw_nodes->v[b.ref[i]] : check_nodes->v[b.ref[i]];
                if (!node_known(&o, node)) {
                        if (b.kind[i] == REQ_HW)
                                r = warn(warnings, "node '%s' is not part of the cluster%s", node, "");
                        if (r < 0)
                                goto fail;
                        continue;
                }
                if (q->err.code) {
                        r = warn(warnings, PV_OBSERVE_NODE_UNREAD " '%s': %s", node, pv_error_message(&q->err));
                        if (r < 0)
                                goto fail;
                        continue;
                }
                if (b.kind[i] == REQ_MAPPINGS_CHECK) {
                        struct pv_obs_mapping *ms = NULL;
                        size_t nm = 0;
                        r = pv_api_decode_mappings(q->data, &ms, &nm, err);
                        if (r >= 0)
                                merge_checks(&o, node, ms, nm);
                        for (size_t k = 0; k < nm; k++)
                                pv_obs_mapping_done(&ms[k]);
                        free(ms);
                } else {
                        struct pv_hw_pci *devs = NULL;
                        size_t nd = 0;
                        r = pv_api_decode_hw_pci(q->data, &devs, &nd, err);
                        if (r >= 0)
                                append_hw(&o, node, devs, nd);
                }
                if (r < 0) {
                        pv_error_wrap(err, "GET %s", b.paths[i]);
                        goto fail;
                }
        }
        /* the VM reads */
        for (size_t i = 0; i < b.n && r >= 0; i++)
                if (b.kind[i] == REQ_CONFIG || b.kind[i] == REQ_PENDING)
                        r = take_vm_read(&o, &b, i, &need_config, err);
        if (r < 0)
                goto fail;
        batch_done(&b);

        /* round 2 */
        if (want->mdev_wants)
                r = want->mdev_wants(want->ctx, &o, &mreqs, &n_mreqs, err);
        for (size_t q = 0; q < n_mreqs && r >= 0; q++) {
                char a[PV_PCI_ADDR_MAX];
                pv_pci_addr_format(&mreqs[q].addr, a);
                r = batch_add(&b, pv_api_path(err, "nodes", o.hw[mreqs[q].hw].node, "hardware", "pci", a, "mdev", NULL),
                              REQ_MDEV, q);
        }
        if (r < 0)
                goto fail;
        if (b.n)
                batch_run(api, &b, stats);
        for (size_t i = 0; i < b.n; i++) {
                struct pv_api_get *q = &b.reqs[i];
                if (b.kind[i] == REQ_MDEV) {
                        struct pv_mdev_want *mq = &mreqs[b.ref[i]];
                        if (q->err.code) {
                                char a[PV_PCI_ADDR_MAX];
                                pv_pci_addr_format(&mq->addr, a);
                                r = warn(warnings, "cannot read the mdev types of %s: %s", a, pv_error_message(&q->err));
                        } else {
                                r = add_mdev_types(&o.hw[mq->hw], &mq->addr, q->data, err);
                        }
                        if (r < 0) {
                                pv_error_wrap(err, "GET %s", b.paths[i]);
                                goto fail;
                        }
                }
        }
        batch_done(&b);

        /* rare: a pending list without the digest (not what Proxmox sends): read those configs */
        for (size_t k = 0; k < need_config.n && r >= 0; k++) {
                const struct pv_vm_info *v = &o.vms[need_config.v[k]];
                char id[16];
                snprintf(id, sizeof id, "%" PRIu32, v->vmid);
                r = batch_add(&b, pv_api_path(err, "nodes", v->node, "qemu", id, "config", NULL), REQ_CONFIG,
                              need_config.v[k]);
        }
        if (r < 0)
                goto fail;
        if (b.n)
                batch_run(api, &b, stats);
        for (size_t i = 0; i < b.n; i++) {
                const struct pv_vm_info *v = &o.vms[b.ref[i]];
                struct pv_vm_config c;
                if (b.reqs[i].err.code) {
                        pv_error_move(err, &b.reqs[i].err);
                        r = -err->code;
                        goto fail;
                }
                r = pv_api_decode_vm_config(b.reqs[i].data, v->node, v->vmid, &c, err);
                if (r >= 0)
                        append_config(&o, &c);
                if (r < 0) {
                        pv_error_wrap(err, "GET %s", b.paths[i]);
                        goto fail;
                }
        }
        batch_done(&b);
        free(mreqs);
        free(need_config.v);
        *ret = o;
        return 0;
fail:
        pv_error_done(&feed.err);
        batch_done(&b);
        free(mreqs);
        free(need_config.v);
        pv_observed_done(&o);
        return r < 0 ? r : -PV_EINVAL;
}
