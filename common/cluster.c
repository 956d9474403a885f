/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Observed cluster state: destructors, lookups, UPID parsing. */
#include "pvfio/cluster.h"
#include "pvfio/xalloc.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void pv_node_info_done(struct pv_node_info *n) {
        if (!n)
                return;
        free(n->node);
        free(n->status);
        memset(n, 0, sizeof *n);
}

void pv_vm_info_done(struct pv_vm_info *v) {
        if (!v)
                return;
        free(v->node);
        free(v->name);
        free(v->status);
        free(v->lock);
        free(v->tags);
        memset(v, 0, sizeof *v);
}

void pv_vm_config_done(struct pv_vm_config *c) {
        if (!c)
                return;
        for (size_t i = 0; i < c->n; i++) {
                free(c->kv[i].key);
                free(c->kv[i].value);
        }
        free(c->kv);
        free(c->node);
        free(c->digest);
        memset(c, 0, sizeof *c);
}

void pv_vm_pending_done(struct pv_vm_pending *p) {
        if (!p)
                return;
        for (size_t i = 0; i < p->n; i++) {
                free(p->v[i].key);
                free(p->v[i].value);
                free(p->v[i].pending);
        }
        free(p->v);
        memset(p, 0, sizeof *p);
}

void pv_hw_pci_done(struct pv_hw_pci *d) {
        if (!d)
                return;
        free(d->vendor_name);
        free(d->device_name);
        memset(d, 0, sizeof *d);
}

void pv_node_hw_done(struct pv_node_hw *h) {
        if (!h)
                return;
        for (size_t i = 0; i < h->n_devs; i++)
                pv_hw_pci_done(&h->devs[i]);
        free(h->devs);
        for (size_t i = 0; i < h->n_mdev; i++) {
                for (size_t k = 0; k < h->mdev[i].n_types; k++)
                        pv_mdev_type_done(&h->mdev[i].types[k]);
                free(h->mdev[i].types);
        }
        free(h->mdev);
        free(h->node);
        memset(h, 0, sizeof *h);
}

void pv_obs_mapping_done(struct pv_obs_mapping *m) {
        if (!m)
                return;
        free(m->id);
        free(m->description);
        for (size_t i = 0; i < m->n_map; i++)
                free(m->map[i]);
        free(m->map);
        free(m->digest);
        for (size_t i = 0; i < m->n_checks; i++) {
                free(m->checks[i].severity);
                free(m->checks[i].message);
                free(m->checks[i].node);
        }
        free(m->checks);
        memset(m, 0, sizeof *m);
}

void pv_task_status_done(struct pv_task_status *t) {
        if (!t)
                return;
        free(t->upid);
        free(t->node);
        free(t->type);
        free(t->exitstatus);
        memset(t, 0, sizeof *t);
}

void pv_observe_want_done(struct pv_observe_want *w) {
        if (!w)
                return;
        pv_strv_done(&w->hw_nodes);
        pv_strv_done(&w->check_nodes);
        pv_strv_done(&w->vf_nodes);
        pv_strv_done(&w->vm_names);
        pv_strv_done(&w->version_nodes);
        pv_strv_done(&w->qemu_server_nodes);
        pv_strv_done(&w->usb_check_nodes);
        pv_strv_done(&w->usb_hw_nodes);
        *w = (struct pv_observe_want){ 0 };
}

void pv_node_version_done(struct pv_node_version *v) {
        if (!v)
                return;
        free(v->node);
        free(v->pve);
        free(v->qemu_server);
        free(v->qemu_server_unknown);
        memset(v, 0, sizeof *v);
}

void pv_observed_done(struct pv_observed *o) {
        if (!o)
                return;
        for (size_t i = 0; i < o->n_versions; i++)
                pv_node_version_done(&o->versions[i]);
        free(o->versions);
        free(o->api_version);
        for (size_t i = 0; i < o->n_nodes; i++)
                pv_node_info_done(&o->nodes[i]);
        free(o->nodes);
        for (size_t i = 0; i < o->n_vms; i++)
                pv_vm_info_done(&o->vms[i]);
        free(o->vms);
        for (size_t i = 0; i < o->n_configs; i++)
                pv_vm_config_done(&o->configs[i]);
        free(o->configs);
        for (size_t i = 0; i < o->n_pending; i++)
                pv_vm_pending_done(&o->pending[i]);
        free(o->pending);
        for (size_t i = 0; i < o->n_mappings; i++)
                pv_obs_mapping_done(&o->mappings[i]);
        free(o->mappings);
        for (size_t i = 0; i < o->n_hw; i++)
                pv_node_hw_done(&o->hw[i]);
        free(o->hw);
        for (size_t i = 0; i < o->n_usb_mappings; i++)
                pv_obs_mapping_done(&o->usb_mappings[i]);
        free(o->usb_mappings);
        for (size_t i = 0; i < o->n_usb_hw; i++)
                pv_node_usb_done(&o->usb_hw[i]);
        free(o->usb_hw);
        memset(o, 0, sizeof *o);
}

const char *pv_vm_config_get(const struct pv_vm_config *c, const char *key) {
        for (size_t i = 0; c && i < c->n; i++)
                if (strcmp(c->kv[i].key, key) == 0)
                        return c->kv[i].value;
        return NULL;
}

const struct pv_vm_config *pv_observed_config(const struct pv_observed *o, uint32_t vmid) {
        for (size_t i = 0; i < o->n_configs; i++)
                if (o->configs[i].vmid == vmid)
                        return &o->configs[i];
        return NULL;
}

const struct pv_vm_pending *pv_observed_pending(const struct pv_observed *o, uint32_t vmid) {
        for (size_t i = 0; i < o->n_pending; i++)
                if (o->pending[i].vmid == vmid)
                        return &o->pending[i];
        return NULL;
}

const struct pv_obs_mapping *pv_observed_mapping(const struct pv_observed *o, const char *id) {
        for (size_t i = 0; i < o->n_mappings; i++)
                if (strcasecmp(o->mappings[i].id, id) == 0)
                        return &o->mappings[i];
        return NULL;
}

const struct pv_node_hw *pv_observed_hw(const struct pv_observed *o, const char *node) {
        for (size_t i = 0; i < o->n_hw; i++)
                if (strcmp(o->hw[i].node, node) == 0)
                        return &o->hw[i];
        return NULL;
}

const struct pv_node_version *pv_observed_version(const struct pv_observed *o, const char *node) {
        for (size_t i = 0; node && i < o->n_versions; i++)
                if (strcmp(o->versions[i].node, node) == 0)
                        return &o->versions[i];
        return NULL;
}

int pv_observed_copy_versions(struct pv_observed *dst, const struct pv_observed *src, struct pv_error *err) {
        (void)err;      /* allocation does not fail (pvfio/xalloc.h) */
        dst->tag_style = src->tag_style;
        dst->have_tag_style = src->have_tag_style;
        dst->api_version = pv_xstrdup(src->api_version);
        if (!src->n_versions)
                return 0;
        dst->versions = pv_xcalloc(src->n_versions, sizeof *dst->versions);
        for (size_t i = 0; i < src->n_versions; i++) {
                const struct pv_node_version *s = &src->versions[i];
                struct pv_node_version *d = &dst->versions[dst->n_versions++];
                d->node = pv_xstrdup(s->node);
                d->pve = pv_xstrdup(s->pve);
                d->qemu_server = pv_xstrdup(s->qemu_server);
                d->qemu_server_unknown = pv_xstrdup(s->qemu_server_unknown);
        }
        return 0;
}

const struct pv_hw_pci *pv_node_hw_find(const struct pv_node_hw *h, const struct pv_pci_addr *addr) {
        for (size_t i = 0; h && i < h->n_devs; i++)
                if (pv_pci_addr_equal(&h->devs[i].addr, addr))
                        return &h->devs[i];
        return NULL;
}

const struct pv_node_mdev *pv_node_hw_mdev(const struct pv_node_hw *h, const struct pv_pci_addr *addr) {
        for (size_t i = 0; h && i < h->n_mdev; i++)
                if (pv_pci_addr_equal(&h->mdev[i].addr, addr))
                        return &h->mdev[i];
        return NULL;
}

/* Copy one ':'-terminated field of at most cap-1 chars; fails on '/' or whitespace when strict. */
static const char *field(const char *p, char *out, size_t cap, bool allow_empty) {
        size_t n = 0;
        while (*p && *p != ':') {
                if (isspace((unsigned char)*p) || *p == '/' || n + 1 >= cap)
                        return NULL;
                out[n++] = *p++;
        }
        if (*p != ':' || (!allow_empty && n == 0))
                return NULL;
        out[n] = '\0';
        return p + 1;
}

static const char *hexfield(const char *p, unsigned min, unsigned max, uint64_t *ret) {
        uint64_t v = 0;
        unsigned n = 0;
        while (isxdigit((unsigned char)*p)) {
                if (++n > max)
                        return NULL;
                int c = tolower((unsigned char)*p++);
                v = v * 16 + (uint64_t)(c <= '9' ? c - '0' : c - 'a' + 10);
        }
        if (n < min || *p != ':')
                return NULL;
        *ret = v;
        return p + 1;
}

int pv_upid_parse(const char *s, struct pv_upid *ret, struct pv_error *err) {
        struct pv_upid u;
        memset(&u, 0, sizeof u);
        uint64_t pid, pstart, start;
        const char *p = s;
        if (!s || strncmp(p, "UPID:", 5) != 0)
                goto bad;
        p += 5;
        if (!(p = field(p, u.node, sizeof u.node, false)))
                goto bad;
        for (const char *q = u.node; *q; q++)
                if (!isalnum((unsigned char)*q) && *q != '-')
                        goto bad;
        if (!isalnum((unsigned char)u.node[0]) || !isalnum((unsigned char)u.node[strlen(u.node) - 1]))
                goto bad;
        if (!(p = hexfield(p, 8, 8, &pid)) || !(p = hexfield(p, 8, 9, &pstart)) || !(p = hexfield(p, 8, 8, &start)))
                goto bad;
        if (!(p = field(p, u.type, sizeof u.type, false)) || !(p = field(p, u.id, sizeof u.id, true)) ||
            !(p = field(p, u.user, sizeof u.user, false)) || *p != '\0')
                goto bad;
        u.pid = (uint32_t)pid;
        u.pstart = pstart;
        u.starttime = (uint32_t)start;
        *ret = u;
        return 0;
bad:
        return pv_error_set(err, PV_EINVAL, "unable to parse task id '%s'", s ? s : "");
}

/* ------------------------------------------------------------- USB (issue 14) */

void pv_hw_usb_done(struct pv_hw_usb *d) {
        if (!d)
                return;
        free(d->usbpath);
        free(d->vendid);
        free(d->prodid);
        free(d->product);
        free(d->manufacturer);
        memset(d, 0, sizeof *d);
}

void pv_node_usb_done(struct pv_node_usb *n) {
        if (!n)
                return;
        for (size_t i = 0; i < n->n_devs; i++)
                pv_hw_usb_done(&n->devs[i]);
        free(n->devs);
        free(n->node);
        memset(n, 0, sizeof *n);
}

const struct pv_obs_mapping *pv_observed_usb_mapping(const struct pv_observed *o, const char *id) {
        for (size_t i = 0; o && id && i < o->n_usb_mappings; i++)
                if (strcmp(o->usb_mappings[i].id, id) == 0)
                        return &o->usb_mappings[i];
        return NULL;
}

const struct pv_node_usb *pv_observed_usb_hw(const struct pv_observed *o, const char *node) {
        for (size_t i = 0; o && node && i < o->n_usb_hw; i++)
                if (strcmp(o->usb_hw[i].node, node) == 0)
                        return &o->usb_hw[i];
        return NULL;
}
