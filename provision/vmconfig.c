/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Desired VM → Proxmox config keys, and the key-aware comparison that keeps
 * plans free of phantom changes. Pure: works on the profile model and the
 * observed structs only.
 */
#include "pvfio/vmplan.h"
#include "vmextras.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pvfio/buf.h"
#include "pvfio/cleanup.h"
#include "pvfio/hostpci.h"
#include "pvfio/tags.h"

/* ---------------------------------------------------------- key classes */

enum kclass {
        K_STRING, K_BOOL, K_INT, K_MEMORY, K_TAGS, K_CPU, K_MACHINE, K_VGA, K_NET, K_HOSTPCI, K_DISK, K_EFIDISK,
};

struct keydef {
        const char *name;
        enum kclass cls;
        const char *def;        /* Proxmox's value when the key is absent, or NULL */
        bool hotplug;           /* applied to a running VM at once */
};

static const struct keydef plain_keys[] = {
        { "name", K_STRING, NULL, true },       { "tags", K_TAGS, "", true },
        { "onboot", K_BOOL, "0", true },        { "balloon", K_INT, NULL, true },
        { "machine", K_MACHINE, "pc", false },  { "bios", K_STRING, "seabios", false },
        { "efidisk0", K_EFIDISK, NULL, false }, { "cpu", K_CPU, "kvm64", false },
        { "cores", K_INT, "1", false },         { "sockets", K_INT, "1", false },
        { "memory", K_MEMORY, "512", false },   { "hugepages", K_STRING, NULL, false },
        { "numa", K_BOOL, "0", false },         { "scsihw", K_STRING, "lsi", false },
        { "vga", K_VGA, "std", false },         { "ostype", K_STRING, "other", false },
};

static const struct {
        const char *prefix;
        int max;
        struct keydef def;
} indexed_keys[] = {
        { "hostpci", 15, { NULL, K_HOSTPCI, NULL, false } }, { "net", 31, { NULL, K_NET, NULL, true } },
        { "scsi", 30, { NULL, K_DISK, NULL, true } },        { "virtio", 15, { NULL, K_DISK, NULL, true } },
        { "sata", 5, { NULL, K_DISK, NULL, false } },        { "ide", 3, { NULL, K_DISK, NULL, false } },
};

/* "net12" → 12 when the prefix matches and the index is canonical decimal in range, else -1. */
static int key_index(const char *key, const char *prefix, int max) {
        size_t n = strlen(prefix);
        if (strncmp(key, prefix, n) != 0)
                return -1;
        const char *p = key + n;
        if (!isdigit((unsigned char)*p) || (p[0] == '0' && p[1]) || strlen(p) > 2)
                return -1;
        int v = atoi(p);
        for (const char *q = p; *q; q++)
                if (!isdigit((unsigned char)*q))
                        return -1;
        return v <= max ? v : -1;
}

static const struct keydef *keydef_of(const char *key) {
        for (size_t i = 0; i < PV_ELEMENTSOF(plain_keys); i++)
                if (strcmp(plain_keys[i].name, key) == 0)
                        return &plain_keys[i];
        for (size_t i = 0; i < PV_ELEMENTSOF(indexed_keys); i++)
                if (key_index(key, indexed_keys[i].prefix, indexed_keys[i].max) >= 0)
                        return &indexed_keys[i].def;
        return NULL;
}

bool pv_vmconfig_key_managed(const char *key) {
        return key && (keydef_of(key) != NULL || pvx_key_owned(key));
}

bool pv_vmconfig_key_deletable(const char *key) {
        if (pvx_key_owned(key))
                return pvx_key_deletable(key);
        const struct keydef *d = key ? keydef_of(key) : NULL;
        return d && d->cls != K_DISK && d->cls != K_EFIDISK && strcmp(key, "name") != 0;
}

bool pv_vmconfig_key_hotpluggable(const char *key) {
        if (pvx_key_owned(key))
                return pvx_key_hotpluggable(key);
        const struct keydef *d = key ? keydef_of(key) : NULL;
        return d && d->hotplug;
}

int pv_vmconfig_key_cmp(const char *a, const char *b) {
        size_t la = strcspn(a, "0123456789"), lb = strcspn(b, "0123456789");
        size_t l = la < lb ? la : lb;
        int c = strncmp(a, b, l);
        if (c || la != lb)
                return c ? c : (la < lb ? -1 : 1);
        if (a[la] && b[lb]) {
                char *ea, *eb;
                unsigned long na = strtoul(a + la, &ea, 10), nb = strtoul(b + lb, &eb, 10);
                if (na != nb)
                        return na < nb ? -1 : 1;
                return strcmp(ea, eb);
        }
        return strcmp(a + la, b + lb);
}

/* ------------------------------------------------------------ comparison */

static bool str_eq(const char *a, const char *b) {
        return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static int parse_ll(const char *s, long long *ret) {
        char *end;
        if (!s || !*s)
                return -1;
        long long v = strtoll(s, &end, 10);
        if (*end)
                return -1;
        *ret = v;
        return 0;
}

/* Every key of a (other than `skip`) has the same value in b, and vice versa. */
static bool rest_equal(const struct pv_props *a, const struct pv_props *b, const char *const *skip) {
        for (int pass = 0; pass < 2; pass++) {
                const struct pv_props *x = pass ? b : a, *y = pass ? a : b;
                for (size_t i = 0; i < x->n; i++) {
                        const char *k = x->v[i].key;
                        bool skipped = !k;
                        for (size_t s = 0; !skipped && skip[s]; s++)
                                skipped = strcmp(skip[s], k) == 0;
                        if (!skipped && !str_eq(x->v[i].value, pv_props_get(y, k)))
                                return false;
                }
        }
        return true;
}

/* Split a list on any of `seps`, sorted and de-duplicated. */
static int split_sorted(const char *s, const char *seps, struct pv_strv *ret) {
        struct pv_strv v = PV_STRV_INIT;
        const char *p = s ? s : "";
        while (*p) {
                size_t n = strcspn(p, seps);
                if (n) {
                        char *t = strndup(p, n);
                        if (pv_strv_push_take(&v, t, NULL) < 0) {
                                pv_strv_done(&v);
                                return -1;
                        }
                }
                p += n;
                if (*p)
                        p++;
        }
        for (size_t i = 1; i < v.n; i++)
                for (size_t k = i; k > 0 && strcmp(v.v[k - 1], v.v[k]) > 0; k--) {
                        char *t = v.v[k];
                        v.v[k] = v.v[k - 1];
                        v.v[k - 1] = t;
                }
        size_t w = 0;
        for (size_t i = 0; i < v.n; i++) {
                if (w && strcmp(v.v[w - 1], v.v[i]) == 0)
                        free(v.v[i]);
                else
                        v.v[w++] = v.v[i];
        }
        v.n = w;
        if (v.v)
                v.v[w] = NULL;
        *ret = v;
        return 0;
}

static int lists_equal(const char *a, const char *b, const char *seps) {
        struct pv_strv x, y;
        if (split_sorted(a, seps, &x) < 0)
                return -1;
        if (split_sorted(b, seps, &y) < 0) {
                pv_strv_done(&x);
                return -1;
        }
        bool eq = x.n == y.n;
        for (size_t i = 0; eq && i < x.n; i++)
                eq = strcmp(x.v[i], y.v[i]) == 0;
        pv_strv_done(&x);
        pv_strv_done(&y);
        return eq;
}

/* q35 family ('q'), i440fx family ('i'), or 0; *ver = pinned version or NULL. */
static char machine_family(const char *t, const char **ver) {
        *ver = NULL;
        if (strcmp(t, "q35") == 0)
                return 'q';
        if (strncmp(t, "pc-q35-", 7) == 0) {
                *ver = t + 7;
                return 'q';
        }
        if (strcmp(t, "pc") == 0)
                return 'i';
        if (strncmp(t, "pc-i440fx-", 10) == 0) {
                *ver = t + 10;
                return 'i';
        }
        if (strncmp(t, "pc-", 3) == 0 && isdigit((unsigned char)t[3])) {
                *ver = t + 3;
                return 'i';
        }
        return 0;
}

static bool machine_type_equal(const char *want, const char *have) {
        const char *vw, *vh;
        char fw = machine_family(want, &vw), fh = machine_family(have, &vh);
        if (!fw || !fh)
                return strcmp(want, have) == 0;
        /* an unpinned wish accepts any version (Proxmox pins Windows VMs on create) */
        return fw == fh && (!vw || (vh && strcmp(vw, vh) == 0));
}

/* Property strings with a default key: default-key values compared by `eqfn`, the rest exactly. */
static int props_cmp(const char *a, const char *b, const char *dkey, const char *ddef, const char *const *skip,
                     bool (*eqfn)(const char *, const char *), struct pv_props *pa, struct pv_props *pb) {
        if (pv_props_parse(a, true, pa, NULL) < 0)
                return -1;
        if (pv_props_parse(b, true, pb, NULL) < 0) {
                pv_props_done(pa);
                return -1;
        }
        const char *ta = pv_props_get(pa, NULL), *tb = pv_props_get(pb, NULL);
        if (!ta)
                ta = pv_props_get(pa, dkey);
        if (!tb)
                tb = pv_props_get(pb, dkey);
        ta = ta ? ta : ddef;
        tb = tb ? tb : ddef;
        return eqfn(ta, tb) && rest_equal(pa, pb, skip);
}

static bool strcmp_eq(const char *a, const char *b) {
        return strcmp(a, b) == 0;
}

static bool cpu_equal(const char *a, const char *b) {
        static const char *const skip[] = { "cputype", "flags", "hidden", NULL };
        struct pv_props pa, pb;
        int r = props_cmp(a, b, "cputype", "kvm64", skip, strcmp_eq, &pa, &pb);
        if (r < 0)
                return strcmp(a, b) == 0;
        bool eq = r == 1;
        const char *ha = pv_props_get(&pa, "hidden"), *hb = pv_props_get(&pb, "hidden");
        eq = eq && (ha ? pv_parse_bool(ha) : 0) == (hb ? pv_parse_bool(hb) : 0);
        eq = eq && lists_equal(pv_props_get(&pa, "flags"), pv_props_get(&pb, "flags"), ";") == 1;
        pv_props_done(&pa);
        pv_props_done(&pb);
        return eq;
}

static bool simple_props_equal(const char *a, const char *b, const char *dkey, const char *ddef,
                               bool (*eqfn)(const char *, const char *)) {
        const char *const skip[] = { dkey, NULL };
        struct pv_props pa, pb;
        int r = props_cmp(a, b, dkey, ddef, skip, eqfn, &pa, &pb);
        if (r < 0)
                return strcmp(a, b) == 0;
        pv_props_done(&pa);
        pv_props_done(&pb);
        return r == 1;
}

static const char *const net_models[] = {
        "e1000", "e1000-82540em", "e1000-82544gc", "e1000-82545em", "e1000e", "i82551", "i82557b",
        "i82559er", "ne2k_isa", "ne2k_pci", "pcnet", "rtl8139", "virtio", "vmxnet3", NULL,
};

static bool is_net_model(const char *s) {
        for (size_t i = 0; net_models[i]; i++)
                if (strcmp(net_models[i], s) == 0)
                        return true;
        return false;
}

/* A parsed netN value: model and MAC (aliases resolved), the other parts in props. */
struct net_val {
        const char *model, *mac;
        struct pv_props props;
};

static int net_parse(const char *s, struct net_val *ret) {
        struct net_val n = { 0 };
        if (pv_props_parse(s, true, &n.props, NULL) < 0)
                return -1;
        for (size_t i = 0; i < n.props.n; i++) {
                const char *k = n.props.v[i].key, *v = n.props.v[i].value;
                if (!k || strcmp(k, "model") == 0)
                        n.model = v;
                else if (strcmp(k, "macaddr") == 0)
                        n.mac = v;
                else if (is_net_model(k)) {
                        n.model = k;
                        n.mac = v;
                }
        }
        if (!n.model) {
                pv_props_done(&n.props);
                return -1;
        }
        *ret = n;
        return 0;
}

static bool net_subkey_skipped(const char *k) {
        return !k || strcmp(k, "model") == 0 || strcmp(k, "macaddr") == 0 || strcmp(k, "bridge") == 0 ||
               strcmp(k, "firewall") == 0 || strcmp(k, "tag") == 0 || strcmp(k, "link_down") == 0 ||
               is_net_model(k);
}

static bool net_rest_equal(const struct pv_props *a, const struct pv_props *b) {
        for (int pass = 0; pass < 2; pass++) {
                const struct pv_props *x = pass ? b : a, *y = pass ? a : b;
                for (size_t i = 0; i < x->n; i++)
                        if (!net_subkey_skipped(x->v[i].key) && !str_eq(x->v[i].value, pv_props_get(y, x->v[i].key)))
                                return false;
        }
        return true;
}

static int bool_or(const char *s, int def) {
        int v = s ? pv_parse_bool(s) : def;
        return v < 0 ? def : v;
}

/* want = desired (may omit the MAC: Proxmox generates one), have = observed. */
static bool net_equal(const char *want, const char *have) {
        struct net_val a, b;
        if (net_parse(want, &a) < 0)
                return strcmp(want, have) == 0;
        if (net_parse(have, &b) < 0) {
                pv_props_done(&a.props);
                return false;
        }
        long long ta = -1, tb = -1;
        const char *sa = pv_props_get(&a.props, "tag"), *sb = pv_props_get(&b.props, "tag");
        bool eq = strcmp(a.model, b.model) == 0 && (!a.mac || (b.mac && strcasecmp(a.mac, b.mac) == 0)) &&
                  str_eq(pv_props_get(&a.props, "bridge"), pv_props_get(&b.props, "bridge")) &&
                  bool_or(pv_props_get(&a.props, "firewall"), 0) == bool_or(pv_props_get(&b.props, "firewall"), 0) &&
                  bool_or(pv_props_get(&a.props, "link_down"), 0) == bool_or(pv_props_get(&b.props, "link_down"), 0) &&
                  (!sa || parse_ll(sa, &ta) == 0) && (!sb || parse_ll(sb, &tb) == 0) && ta == tb &&
                  net_rest_equal(&a.props, &b.props);
        pv_props_done(&a.props);
        pv_props_done(&b.props);
        return eq;
}

static bool memory_equal(const char *a, const char *b) {
        struct pv_props pa, pb;
        const char *const skip[] = { "current", NULL };
        int r = props_cmp(a, b, "current", "512", skip, strcmp_eq, &pa, &pb);
        if (r < 0)
                return strcmp(a, b) == 0;
        const char *ca = pv_props_get(&pa, NULL), *cb = pv_props_get(&pb, NULL);
        ca = ca ? ca : pv_props_get(&pa, "current");
        cb = cb ? cb : pv_props_get(&pb, "current");
        long long x, y;
        bool eq = rest_equal(&pa, &pb, skip) && parse_ll(ca ? ca : "512", &x) == 0 &&
                  parse_ll(cb ? cb : "512", &y) == 0 && x == y;
        pv_props_done(&pa);
        pv_props_done(&pb);
        return eq;
}

bool pv_vmconfig_value_equal(const char *key, const char *want, const char *have) {
        if (pvx_key_owned(key))
                return pvx_value_equal(key, want, have);
        const struct keydef *d = key ? keydef_of(key) : NULL;
        if (!d)
                return str_eq(want, have);
        if (!want)
                want = d->def;
        if (!have)
                have = d->def;
        if (!want || !have)
                return want == have;
        long long x, y;
        switch (d->cls) {
        case K_BOOL: {
                int a = pv_parse_bool(want), b = pv_parse_bool(have);
                return a >= 0 && b >= 0 ? a == b : strcmp(want, have) == 0;
        }
        case K_INT:
                if (parse_ll(want, &x) == 0 && parse_ll(have, &y) == 0)
                        return x == y;
                return strcmp(want, have) == 0;
        case K_MEMORY:
                return memory_equal(want, have);
        case K_TAGS:
                return pv_tags_equal(want, have, NULL); /* Proxmox's default tag-style */
        case K_CPU:
                return cpu_equal(want, have);
        case K_MACHINE:
                return simple_props_equal(want, have, "type", "pc", machine_type_equal);
        case K_VGA:
                return simple_props_equal(want, have, "type", "std", strcmp_eq);
        case K_NET:
                return net_equal(want, have);
        case K_HOSTPCI:
                return pv_hostpci_str_equal(want, have);
        case K_STRING:
        case K_DISK:
        case K_EFIDISK:
                break;
        }
        return strcmp(want, have) == 0;
}

/* ---------------------------------------------------------------- claims */

struct pv_claim {
        char *node;
        struct pv_pci_addr addr;
        char *mdev;             /* NULL: a VF handed out; else one instance of this mdev type */
};

/* A host= address some observed VM config passes (indexed once per plan). */
struct pv_used {
        const char *node;               /* borrowed from the observed config */
        struct pv_pci_addr addr;
        uint32_t vmid;
};

struct pv_claims {
        struct pv_claim *v;
        size_t n;
        const struct pv_observed *indexed;  /* the observed state `used` was built from */
        struct pv_used *used;
        size_t n_used;
};

int pv_claims_new(struct pv_claims **ret, struct pv_error *err) {
        struct pv_claims *c = calloc(1, sizeof *c);
        if (!c)
                return pv_error_set(err, PV_ENOMEM, "out of memory");
        *ret = c;
        return 0;
}

void pv_claims_free(struct pv_claims *c) {
        if (!c)
                return;
        for (size_t i = 0; i < c->n; i++) {
                free(c->v[i].node);
                free(c->v[i].mdev);
        }
        free(c->v);
        free(c->used);
        free(c);
}

static int claim_add(struct pv_claims *c, const char *node, const struct pv_pci_addr *a, const char *mdev,
                     struct pv_error *err) {
        if (!c)
                return 0;
        struct pv_claim *v = realloc(c->v, (c->n + 1) * sizeof *v);
        if (!v)
                return pv_error_set(err, PV_ENOMEM, "out of memory");
        c->v = v;
        char *n = strdup(node), *m = mdev ? strdup(mdev) : NULL;
        if (!n || (mdev && !m)) {
                free(n);
                free(m);
                return pv_error_set(err, PV_ENOMEM, "out of memory");
        }
        c->v[c->n++] = (struct pv_claim){ n, *a, m };
        return 0;
}

static int claim_count(const struct pv_claims *c, const char *node, const struct pv_pci_addr *a, const char *mdev) {
        int n = 0;
        for (size_t i = 0; c && i < c->n; i++)
                if (pv_pci_addr_equal(&c->v[i].addr, a) && str_eq(c->v[i].mdev, mdev) && strcmp(c->v[i].node, node) == 0)
                        n++;
        return n;
}

/* ------------------------------------------------------------ kv builder */

struct kvb {
        struct pv_kv *v;
        size_t n;
};

static void kvb_done(struct kvb *b) {
        for (size_t i = 0; i < b->n; i++) {
                free(b->v[i].key);
                free(b->v[i].value);
        }
        free(b->v);
        b->v = NULL;
        b->n = 0;
}

/* Add key (copied) = value (taken). */
static int kvb_take(struct kvb *b, const char *key, char *value, struct pv_error *err) {
        if (!value)
                return pv_error_set(err, PV_ENOMEM, "out of memory");
        struct pv_kv *v = realloc(b->v, (b->n + 1) * sizeof *v);
        char *k = strdup(key);
        if (!v || !k) {
                if (v)
                        b->v = v;
                free(k);
                free(value);
                return pv_error_set(err, PV_ENOMEM, "out of memory");
        }
        b->v = v;
        b->v[b->n++] = (struct pv_kv){ k, value };
        return 0;
}

static int kvb_set(struct kvb *b, const char *key, const char *value, struct pv_error *err) {
        return kvb_take(b, key, strdup(value), err);
}

static int kv_cmp(const void *a, const void *b) {
        return pv_vmconfig_key_cmp(((const struct pv_kv *)a)->key, ((const struct pv_kv *)b)->key);
}

/* --------------------------------------------------------- translation */

struct xlate {
        const struct pv_vm *vm;
        const struct pv_vm_xlate_ctx *ctx;
        struct kvb kv;
        struct pv_vm_desired out;
        struct pv_strv blocked;
        const struct pv_node_hw *hw;
};

static const char *cur(const struct xlate *x, const char *key) {
        return x->ctx->current ? pv_vm_config_get(x->ctx->current, key) : NULL;
}

static int note(struct xlate *x, struct pv_strv *where, struct pv_error *err, const char *fmt, ...) PV_PRINTF(4, 5);
static int note(struct xlate *x, struct pv_strv *where, struct pv_error *err, const char *fmt, ...) {
        _cleanup_buf_ struct pv_buf b = PV_BUF_INIT;
        va_list ap;
        int r = 0;
        /* drift and warnings stand alone in the plan; blocked reasons are attached to the VM's actions */
        if (where != &x->blocked)
                r = x->ctx->vmid ? pv_buf_addf(&b, err, "vm '%s' (%" PRIu32 "): ", x->vm->name, x->ctx->vmid)
                                 : pv_buf_addf(&b, err, "vm '%s': ", x->vm->name);
        va_start(ap, fmt);
        if (r == 0)
                r = pv_buf_vaddf(&b, err, fmt, ap);
        va_end(ap);
        if (r < 0)
                return r;
        char *s;
        if ((r = pv_buf_detach(&b, &s, NULL, err)) < 0)
                return r;
        return pv_strv_push_take(where, s, err);
}

#define DRIFT(x, err, ...) note((x), &(x)->out.drift, (err), __VA_ARGS__)
#define WARN(x, err, ...) note((x), &(x)->out.warnings, (err), __VA_ARGS__)
#define BLOCK(x, err, ...) note((x), &(x)->blocked, (err), __VA_ARGS__)

/*
 * The management tag, then the profile's tags in profile order, in the form
 * Proxmox stores them (get_unique_tags under the datacenter tag-style):
 * lower-cased, unique and sorted by default.
 */
static int xl_tags(struct xlate *x, struct pv_error *err) {
        const char *tag = x->ctx->tag ? x->ctx->tag : PV_MANAGED_TAG;
        static const struct pv_tag_style def = PV_TAG_STYLE_DEFAULT;
        const struct pv_tag_style *st = x->ctx->obs ? &x->ctx->obs->tag_style : &def;
        _cleanup_buf_ struct pv_buf all = PV_BUF_INIT;
        int r = pv_buf_adds(&all, tag, err);
        for (size_t i = 0; r == 0 && i < x->vm->tags.n; i++)
                r = pv_buf_addf(&all, err, ";%s", x->vm->tags.v[i]);
        char *norm = NULL;
        if (r == 0)
                r = pv_tags_normalize(all.buf, st, &norm, err);
        return r < 0 ? r : kvb_take(&x->kv, "tags", norm, err);
}

/* Append ",k=v" for every part of the observed value `have` not in `skip` (sorted by key). */
static int carry_over(struct pv_buf *b, const char *have, const char *const *skip, bool (*skipfn)(const char *),
                      struct pv_error *err) {
        struct pv_props p;
        if (!have || pv_props_parse(have, true, &p, NULL) < 0)
                return 0;
        /* insertion sort of the indexes by key */
        size_t idx[64], n = 0;
        for (size_t i = 0; i < p.n && n < PV_ELEMENTSOF(idx); i++) {
                const char *k = p.v[i].key;
                bool s = !k || (skipfn && skipfn(k));
                for (size_t j = 0; !s && skip && skip[j]; j++)
                        s = strcmp(skip[j], k) == 0;
                if (s)
                        continue;
                size_t at = n++;
                while (at > 0 && strcmp(p.v[idx[at - 1]].key, k) > 0) {
                        idx[at] = idx[at - 1];
                        at--;
                }
                idx[at] = i;
        }
        int r = 0;
        for (size_t i = 0; r == 0 && i < n; i++)
                r = pv_buf_addf(b, err, "%s%s=%s", b->len ? "," : "", p.v[idx[i]].key, p.v[idx[i]].value);
        pv_props_done(&p);
        return r;
}

static int xl_machine(struct xlate *x, struct pv_error *err) {
        const struct pv_vm *vm = x->vm;
        _cleanup_buf_ struct pv_buf b = PV_BUF_INIT;
        static const char *const skip[] = { "type", NULL };
        int r = 0;
        if (vm->machine == PV_MACHINE_Q35)
                r = vm->machine_version ? pv_buf_addf(&b, err, "pc-q35-%s", vm->machine_version)
                                        : pv_buf_adds(&b, "q35", err);
        else if (vm->machine_version)
                r = pv_buf_addf(&b, err, "pc-i440fx-%s", vm->machine_version);
        if (r < 0)
                return r;
        size_t type_len = b.len;
        if ((r = carry_over(&b, cur(x, "machine"), skip, NULL, err)) < 0)
                return r;
        if (b.len == 0)
                return 0;
        if (type_len == 0) {
                /* only carried sub-keys: spell out the default type */
                _cleanup_buf_ struct pv_buf t = PV_BUF_INIT;
                if ((r = pv_buf_addf(&t, err, "pc,%s", b.buf)) < 0)
                        return r;
                return kvb_set(&x->kv, "machine", t.buf, err);
        }
        return kvb_set(&x->kv, "machine", b.buf, err);
}

static int xl_cpu(struct xlate *x, struct pv_error *err) {
        const struct pv_vm *vm = x->vm;
        if (!vm->cpu_type && vm->cpu_flags.n == 0 && !vm->cpu_hidden)
                return 0;
        _cleanup_buf_ struct pv_buf b = PV_BUF_INIT;
        _cleanup_buf_ struct pv_buf rest = PV_BUF_INIT;
        int r = 0;
        if (vm->cpu_type)
                r = pv_buf_adds(&b, vm->cpu_type, err);
        /* managed sub-keys go in Proxmox's alphabetical order together with carried ones */
        if (r == 0 && vm->cpu_flags.n) {
                r = pv_buf_adds(&rest, "flags=", err);
                for (size_t i = 0; r == 0 && i < vm->cpu_flags.n; i++)
                        r = pv_buf_addf(&rest, err, "%s%s", i ? ";" : "", vm->cpu_flags.v[i]);
        }
        if (r == 0 && vm->cpu_hidden)
                r = pv_buf_addf(&rest, err, "%shidden=1", rest.len ? "," : "");
        if (r < 0)
                return r;
        /* carried: everything but cputype, flags, hidden; merged in key order */
        static const char *const skip2[] = { "cputype", "flags", "hidden", NULL };
        _cleanup_buf_ struct pv_buf carried = PV_BUF_INIT;
        if ((r = carry_over(&carried, cur(x, "cpu"), skip2, NULL, err)) < 0)
                return r;
        _cleanup_buf_ struct pv_buf merged = PV_BUF_INIT;
        if (rest.len && (r = pv_buf_adds(&merged, rest.buf, err)) < 0)
                return r;
        if (carried.len && (r = pv_buf_addf(&merged, err, "%s%s", merged.len ? "," : "", carried.buf)) < 0)
                return r;
        if (merged.len) {
                /* re-sort the merged parts by key */
                struct pv_props p;
                if (pv_props_parse(merged.buf, false, &p, err) < 0)
                        return -PV_ENOMEM;
                for (size_t i = 1; i < p.n; i++)
                        for (size_t k = i; k > 0 && strcmp(p.v[k - 1].key, p.v[k].key) > 0; k--) {
                                struct pv_prop t = p.v[k];
                                p.v[k] = p.v[k - 1];
                                p.v[k - 1] = t;
                        }
                for (size_t i = 0; r == 0 && i < p.n; i++)
                        r = pv_buf_addf(&b, err, "%s%s=%s", b.len ? "," : "", p.v[i].key, p.v[i].value);
                pv_props_done(&p);
                if (r < 0)
                        return r;
        }
        return kvb_set(&x->kv, "cpu", b.buf, err);
}

static int xl_scalar(struct xlate *x, struct pv_error *err) {
        const struct pv_vm *vm = x->vm;
        int r = 0;
        if (vm->bios != PV_BIOS_UNSET)
                r = kvb_set(&x->kv, "bios", vm->bios == PV_BIOS_OVMF ? "ovmf" : "seabios", err);
        if (r == 0 && vm->cores)
                r = kvb_take(&x->kv, "cores", pv_asprintf(NULL, "%u", vm->cores), err);
        if (r == 0 && vm->sockets)
                r = kvb_take(&x->kv, "sockets", pv_asprintf(NULL, "%u", vm->sockets), err);
        if (r == 0 && vm->memory_mib)
                r = kvb_take(&x->kv, "memory", pv_asprintf(NULL, "%" PRIu64, vm->memory_mib), err);
        if (r == 0 && vm->balloon_mib >= 0)
                r = kvb_take(&x->kv, "balloon", pv_asprintf(NULL, "%" PRId64, vm->balloon_mib), err);
        if (r == 0 && vm->hugepages)
                r = kvb_set(&x->kv, "hugepages", vm->hugepages, err);
        if (r == 0 && vm->numa >= 0)
                r = kvb_set(&x->kv, "numa", vm->numa ? "1" : "0", err);
        if (r == 0 && vm->scsihw)
                r = kvb_set(&x->kv, "scsihw", vm->scsihw, err);
        if (r == 0 && vm->ostype)
                r = kvb_set(&x->kv, "ostype", vm->ostype, err);
        if (r == 0 && vm->onboot >= 0)
                r = kvb_set(&x->kv, "onboot", vm->onboot ? "1" : "0", err);
        if (r == 0 && vm->vga) {
                _cleanup_buf_ struct pv_buf b = PV_BUF_INIT;
                static const char *const skip[] = { "type", NULL };
                r = pv_buf_adds(&b, vm->vga, err);
                if (r == 0)
                        r = carry_over(&b, cur(x, "vga"), skip, NULL, err);
                if (r == 0)
                        r = kvb_set(&x->kv, "vga", b.buf, err);
        }
        return r;
}

/* "64G", "4M", "1.5T", "1024" (bytes) → bytes; -1 when not a size. */
static int parse_size(const char *s, uint64_t *ret) {
        char *end;
        double v = strtod(s, &end);
        if (end == s || v < 0)
                return -1;
        double mult = 1;
        switch (*end) {
        case 'K': mult = 1024.0; end++; break;
        case 'M': mult = 1024.0 * 1024; end++; break;
        case 'G': mult = 1024.0 * 1024 * 1024; end++; break;
        case 'T': mult = 1024.0 * 1024 * 1024 * 1024; end++; break;
        default: break;
        }
        if (*end)
                return -1;
        *ret = (uint64_t)(v * mult + 0.5);
        return 0;
}

/* Human size for messages ("64G", "512M"). */
static char *fmt_size(uint64_t bytes) {
        static const char units[] = "KMGT";
        uint64_t v = bytes;
        int u = -1;
        while (u < 3 && v >= 1024 && v % 1024 == 0) {
                v /= 1024;
                u++;
        }
        return u < 0 ? pv_asprintf(NULL, "%" PRIu64 "B", v) : pv_asprintf(NULL, "%" PRIu64 "%c", v, units[u]);
}

/* GiB for the STORAGE:SIZE syntax: "64", "0.5", "0.0009765625". */
static char *fmt_gib(uint64_t bytes) {
        uint64_t mib = (bytes + (1u << 20) - 1) >> 20;
        uint64_t whole = mib / 1024, rem = mib % 1024;
        if (!rem)
                return pv_asprintf(NULL, "%" PRIu64, whole);
        uint64_t frac = rem * 9765625; /* rem/1024 = rem * 10^10 / 2^10 = rem * 9765625 / 10^10 */
        char digits[16];
        snprintf(digits, sizeof digits, "%010" PRIu64, frac);
        for (size_t n = strlen(digits); n > 1 && digits[n - 1] == '0'; n--)
                digits[n - 1] = '\0';
        return pv_asprintf(NULL, "%" PRIu64 ".%s", whole, digits);
}

/* Compare an existing disk (presence, storage, media, size) and report differences as drift. */
static int check_disk(struct xlate *x, const char *key, const char *have, const char *storage, uint64_t size,
                      struct pv_error *err) {
        struct pv_props p;
        if (pv_props_parse(have, true, &p, NULL) < 0)
                return DRIFT(x, err, "%s '%s' cannot be parsed; pvfio leaves the disk alone", key, have);
        int r = 0;
        const char *file = pv_props_get(&p, NULL);
        file = file ? file : pv_props_get(&p, "file");
        const char *media = pv_props_get(&p, "media");
        if (media && strcmp(media, "cdrom") == 0) {
                r = DRIFT(x, err, "%s is a CD-ROM drive, the profile wants a disk on '%s'; pvfio does not replace it", key,
                          storage);
                goto out;
        }
        size_t sl = file ? strcspn(file, ":") : 0;
        if (!file || file[sl] != ':' || strlen(storage) != sl || strncmp(file, storage, sl) != 0) {
                r = DRIFT(x, err, "%s is '%s', the profile wants storage '%s'; pvfio never moves or recreates disks",
                          key, file ? file : "", storage);
                goto out;
        }
        const char *hs = pv_props_get(&p, "size");
        uint64_t hb;
        if (size && hs && parse_size(hs, &hb) == 0 && hb != size) {
                _cleanup_free_ char *want = fmt_size(size);
                r = DRIFT(x, err, "%s is %s, the profile says %s; pvfio never resizes disks", key, hs,
                          want ? want : "?");
        }
out:
        pv_props_done(&p);
        return r;
}

static const char *bus_prefix(enum pv_disk_bus b) {
        switch (b) {
        case PV_BUS_VIRTIO: return "virtio";
        case PV_BUS_SATA: return "sata";
        case PV_BUS_IDE: return "ide";
        case PV_BUS_SCSI: break;
        }
        return "scsi";
}

static int bus_max(enum pv_disk_bus b) {
        switch (b) {
        case PV_BUS_VIRTIO: return 15;
        case PV_BUS_SATA: return 5;
        case PV_BUS_IDE: return 3;
        case PV_BUS_SCSI: break;
        }
        return 30;
}

static int xl_disks(struct xlate *x, struct pv_error *err) {
        const struct pv_vm *vm = x->vm;
        bool used[4][32] = { { false } };
        int *idx = calloc(vm->n_disks ? vm->n_disks : 1, sizeof *idx);
        int r = 0;
        if (!idx)
                return pv_error_set(err, PV_ENOMEM, "out of memory");
        for (size_t i = 0; i < vm->n_disks; i++) {
                idx[i] = vm->disks[i].index;
                if (idx[i] >= 0 && idx[i] <= bus_max(vm->disks[i].bus)) {
                        if (used[vm->disks[i].bus][idx[i]])
                                r = BLOCK(x, err, "disk %s%d is declared twice", bus_prefix(vm->disks[i].bus), idx[i]);
                        used[vm->disks[i].bus][idx[i]] = true;
                }
        }
        for (size_t i = 0; r == 0 && i < vm->n_disks; i++) {
                const struct pv_disk *d = &vm->disks[i];
                if (idx[i] < 0) {
                        for (int k = 0; k <= bus_max(d->bus) && idx[i] < 0; k++)
                                if (!used[d->bus][k]) {
                                        idx[i] = k;
                                        used[d->bus][k] = true;
                                }
                        if (idx[i] < 0) {
                                r = BLOCK(x, err, "no free %s slot for disk %zu", bus_prefix(d->bus), i);
                                continue;
                        }
                }
                if (idx[i] > bus_max(d->bus)) {
                        r = BLOCK(x, err, "disk index %s%d is out of range", bus_prefix(d->bus), idx[i]);
                        continue;
                }
                char key[32];
                snprintf(key, sizeof key, "%s%d", bus_prefix(d->bus), idx[i]);
                const char *have = cur(x, key);
                if (have) {
                        r = check_disk(x, key, have, d->storage, d->size_bytes, err);
                        if (r == 0)
                                r = kvb_set(&x->kv, key, have, err);
                        continue;
                }
                _cleanup_free_ char *gib = fmt_gib(d->size_bytes);
                r = kvb_take(&x->kv, key,
                             gib ? pv_asprintf(NULL, "%s:%s%s%s", d->storage, gib, d->options ? "," : "",
                                               d->options ? d->options : "")
                                 : NULL,
                             err);
        }
        free(idx);
        return r;
}

static int xl_efidisk(struct xlate *x, struct pv_error *err) {
        const struct pv_vm *vm = x->vm;
        if (vm->bios != PV_BIOS_OVMF || !vm->efidisk_storage)
                return 0;
        const char *have = cur(x, "efidisk0");
        if (!have)
                return kvb_take(&x->kv, "efidisk0",
                                pv_asprintf(NULL, "%s:1,efitype=4m%s", vm->efidisk_storage,
                                            vm->efidisk_pre_enrolled_keys ? ",pre-enrolled-keys=1" : ""),
                                err);
        int r = check_disk(x, "efidisk0", have, vm->efidisk_storage, 0, err);
        struct pv_props p;
        if (r == 0 && pv_props_parse(have, true, &p, NULL) == 0) {
                const char *t = pv_props_get(&p, "efitype");
                int keys = bool_or(pv_props_get(&p, "pre-enrolled-keys"), 0);
                if (!t || strcmp(t, "4m") != 0)
                        r = DRIFT(x, err, "efidisk0 uses efitype %s, pvfio creates 4m; pvfio does not recreate the EFI disk",
                                  t ? t : "2m");
                if (r == 0 && keys != (vm->efidisk_pre_enrolled_keys ? 1 : 0))
                        r = DRIFT(x, err, "efidisk0 has pre-enrolled-keys=%d, the profile says %d; pvfio does not recreate the EFI disk",
                                  keys, vm->efidisk_pre_enrolled_keys ? 1 : 0);
                pv_props_done(&p);
        }
        if (r == 0)
                r = kvb_set(&x->kv, "efidisk0", have, err);
        return r;
}

static int xl_nets(struct xlate *x, struct pv_error *err) {
        const struct pv_vm *vm = x->vm;
        bool used[32] = { false };
        int r = 0;
        int *idx = calloc(vm->n_nets ? vm->n_nets : 1, sizeof *idx);
        if (!idx)
                return pv_error_set(err, PV_ENOMEM, "out of memory");
        for (size_t i = 0; i < vm->n_nets; i++) {
                idx[i] = vm->nets[i].index;
                if (idx[i] >= 0 && idx[i] < 32) {
                        if (used[idx[i]])
                                r = BLOCK(x, err, "net%d is declared twice", idx[i]);
                        used[idx[i]] = true;
                }
        }
        for (size_t i = 0; r == 0 && i < vm->n_nets; i++) {
                const struct pv_net *n = &vm->nets[i];
                for (int k = 0; k < 32 && idx[i] < 0; k++)
                        if (!used[k]) {
                                idx[i] = k;
                                used[k] = true;
                        }
                if (idx[i] < 0 || idx[i] > 31) {
                        r = BLOCK(x, err, "no free net slot for network %zu", i);
                        break;
                }
                char key[16];
                snprintf(key, sizeof key, "net%d", idx[i]);
                const char *have = cur(x, key);
                struct net_val obs = { 0 };
                bool have_ok = have && net_parse(have, &obs) == 0;
                const char *mac = n->macaddr ? n->macaddr : (have_ok ? obs.mac : NULL);
                _cleanup_buf_ struct pv_buf b = PV_BUF_INIT;
                r = pv_buf_adds(&b, n->model ? n->model : "virtio", err);
                if (r == 0 && mac) {
                        r = pv_buf_addf(&b, err, "=%s", mac);
                        for (size_t c = b.len - strlen(mac); c < b.len; c++)
                                b.buf[c] = (char)toupper((unsigned char)b.buf[c]);
                }
                /* Proxmox order after the model: bridge firewall link_down mtu queues rate tag trunks */
                _cleanup_buf_ struct pv_buf rest = PV_BUF_INIT;
                if (r == 0 && n->bridge)
                        r = pv_buf_addf(&rest, err, "bridge=%s", n->bridge);
                if (r == 0 && n->firewall == 1)
                        r = pv_buf_addf(&rest, err, "%sfirewall=1", rest.len ? "," : "");
                if (r == 0 && n->vlan > 0)
                        r = pv_buf_addf(&rest, err, "%stag=%d", rest.len ? "," : "", n->vlan);
                if (r == 0 && have_ok) {
                        const char *ld = pv_props_get(&obs.props, "link_down");
                        if (ld && pv_parse_bool(ld) == 1)
                                r = pv_buf_addf(&rest, err, "%slink_down=1", rest.len ? "," : "");
                }
                if (r == 0 && have_ok)
                        r = carry_over(&rest, have, NULL, net_subkey_skipped, err);
                if (have_ok)
                        pv_props_done(&obs.props);
                if (r < 0)
                        break;
                /* sort the non-model parts by key (Proxmox's print order) */
                struct pv_props p;
                if ((r = pv_props_parse(rest.buf, false, &p, err)) < 0)
                        break;
                for (size_t a = 1; a < p.n; a++)
                        for (size_t k = a; k > 0 && strcmp(p.v[k - 1].key, p.v[k].key) > 0; k--) {
                                struct pv_prop t = p.v[k];
                                p.v[k] = p.v[k - 1];
                                p.v[k - 1] = t;
                        }
                for (size_t a = 0; r == 0 && a < p.n; a++)
                        r = pv_buf_addf(&b, err, ",%s=%s", p.v[a].key, p.v[a].value);
                pv_props_done(&p);
                if (r == 0)
                        r = kvb_set(&x->kv, key, b.buf, err);
        }
        free(idx);
        return r;
}

/* ------------------------------------------------------------- hostpci */

/* One profile pci entry being resolved. */
struct slotted {
        const struct pv_pcidev *dev;
        struct pv_hostpci hp;           /* desired value (host filled for VF_POOL once chosen) */
        int slot;
        bool ok;                        /* resolved; false = skipped (blocked) */
};

static bool addr_matches(const struct pv_pci_addr *fact, const struct pv_pci_addr *dev) {
        return pv_pci_addr_same_slot(fact, dev) &&
               (fact->func == PV_PCI_FUNC_ALL || dev->func == PV_PCI_FUNC_ALL || fact->func == dev->func);
}

/* Index every host= address of the observed configs (once per plan and observed state). */
static int index_used(struct pv_claims *c, const struct pv_observed *o, struct pv_error *err) {
        if (!c || !o || c->indexed == o)
                return 0;
        free(c->used);
        c->used = NULL;
        c->n_used = 0;
        size_t alloc = 0;
        for (size_t i = 0; i < o->n_configs; i++) {
                const struct pv_vm_config *cfg = &o->configs[i];
                for (size_t k = 0; cfg->node && k < cfg->n; k++) {
                        if (key_index(cfg->kv[k].key, "hostpci", 15) < 0)
                                continue;
                        struct pv_hostpci h = PV_HOSTPCI_INIT;
                        if (pv_hostpci_parse(cfg->kv[k].value, &h, NULL) < 0)
                                continue;
                        for (size_t j = 0; j < h.n_host; j++) {
                                if (c->n_used == alloc) {
                                        alloc = alloc ? alloc * 2 : 64;
                                        struct pv_used *v = realloc(c->used, alloc * sizeof *v);
                                        if (!v) {
                                                pv_hostpci_done(&h);
                                                return pv_error_set(err, PV_ENOMEM, "out of memory");
                                        }
                                        c->used = v;
                                }
                                c->used[c->n_used++] = (struct pv_used){ cfg->node, h.host[j], cfg->vmid };
                        }
                        pv_hostpci_done(&h);
                }
        }
        c->indexed = o;
        return 0;
}

/* Is `a` passed (host=) by another VM on `node`? Fills *who with its vmid. */
static bool used_by_other_vm(const struct xlate *x, const char *node, const struct pv_pci_addr *a, uint32_t *who) {
        const struct pv_observed *o = x->ctx->obs;
        const struct pv_claims *cl = x->ctx->claims;
        if (cl && o && cl->indexed == o) {
                for (size_t i = 0; i < cl->n_used; i++)
                        if (cl->used[i].vmid != x->ctx->vmid && addr_matches(&cl->used[i].addr, a) &&
                            strcmp(cl->used[i].node, node) == 0) {
                                *who = cl->used[i].vmid;
                                return true;
                        }
                return false;
        }
        for (size_t i = 0; o && i < o->n_configs; i++) {
                const struct pv_vm_config *c = &o->configs[i];
                if (c->vmid == x->ctx->vmid || !c->node || strcmp(c->node, node) != 0)
                        continue;
                for (size_t k = 0; k < c->n; k++) {
                        if (key_index(c->kv[k].key, "hostpci", 15) < 0)
                                continue;
                        struct pv_hostpci h = PV_HOSTPCI_INIT;
                        if (pv_hostpci_parse(c->kv[k].value, &h, NULL) < 0)
                                continue;
                        bool hit = false;
                        for (size_t j = 0; j < h.n_host && !hit; j++)
                                hit = addr_matches(&h.host[j], a);
                        pv_hostpci_done(&h);
                        if (hit) {
                                *who = c->vmid;
                                return true;
                        }
                }
        }
        return false;
}

static const struct pv_mdev_type *mdev_type(const struct pv_node_hw *hw, const struct pv_pci_addr *a, const char *type,
                                            bool *known) {
        const struct pv_node_mdev *m = pv_node_hw_mdev(hw, a);
        *known = m != NULL;
        for (size_t i = 0; m && i < m->n_types; i++)
                if (strcmp(m->types[i].type, type) == 0)
                        return &m->types[i];
        return NULL;
}

static bool is_vf_of(const struct pv_node_hw *hw, const struct pv_pci_addr *a, const struct pv_pci_addr *pf) {
        const struct pv_hw_pci *d = pv_node_hw_find(hw, a);
        return d && d->is_vf && pv_pci_addr_equal(&d->physfn, pf);
}

/* Does this VM's observed config already hold `h`'s device with the same mdev type? */
static bool held_by_this_vm(const struct xlate *x, const struct pv_hostpci *h) {
        const struct pv_vm_config *c = x->ctx->current;
        for (size_t k = 0; c && k < c->n; k++) {
                if (key_index(c->kv[k].key, "hostpci", 15) < 0)
                        continue;
                struct pv_hostpci o = PV_HOSTPCI_INIT;
                if (pv_hostpci_parse(c->kv[k].value, &o, NULL) < 0)
                        continue;
                bool same = pv_hostpci_same_device(&o, h) && str_eq(o.mdev, h->mdev);
                pv_hostpci_done(&o);
                if (same)
                        return true;
        }
        return false;
}

/* Map entries of mapping `id` for `node`: profile first, else the observed mapping (parsed into *owned). */
static int mapping_entries(const struct xlate *x, const char *id, const char *node, const struct pv_map_entry ***ret,
                           size_t *ret_n, struct pv_map_entry **owned, size_t *n_owned, bool *found,
                           struct pv_error *err) {
        const struct pv_profile *p = x->ctx->profile;
        const struct pv_mapping *pm = NULL;
        *ret = NULL;
        *ret_n = 0;
        *owned = NULL;
        *n_owned = 0;
        *found = false;
        for (size_t i = 0; p && i < p->n_mappings; i++)
                if (strcmp(p->mappings[i].id, id) == 0)
                        pm = &p->mappings[i];
        const struct pv_obs_mapping *om = pm || !x->ctx->obs ? NULL : pv_observed_mapping(x->ctx->obs, id);
        if (!pm && !om)
                return 0;
        *found = true;
        size_t n = pm ? pm->n_map : om->n_map;
        const struct pv_map_entry **v = calloc(n ? n : 1, sizeof *v);
        struct pv_map_entry *own = om ? calloc(n ? n : 1, sizeof *own) : NULL;
        if (!v || (om && !own)) {
                free(v);
                free(own);
                return pv_error_set(err, PV_ENOMEM, "out of memory");
        }
        size_t k = 0, no = 0;
        for (size_t i = 0; i < n; i++) {
                const struct pv_map_entry *e = NULL;
                if (pm) {
                        e = &pm->map[i];
                } else if (pv_mapentry_parse(om->map[i], &own[no], NULL) == 0) {
                        e = &own[no++];
                }
                if (e && e->node && strcmp(e->node, node) == 0)
                        v[k++] = e;
        }
        *ret = v;
        *ret_n = k;
        *owned = own;
        *n_owned = no;
        return 0;
}

static void free_owned(const struct pv_map_entry **v, struct pv_map_entry *own, size_t n_own) {
        for (size_t i = 0; i < n_own; i++)
                pv_mapentry_done(&own[i]);
        free(own);
        free(v);
}

/* The reason a device set is not ready on this node, or NULL (borrowed from the facts). */
static const char *not_ready(const struct xlate *x, const struct pv_pci_addr *addrs, size_t n, bool binding_matters,
                             const struct pv_pci_addr **which) {
        const struct pv_node_readiness *rd = x->ctx->ready;
        if (!rd)
                return NULL;
        for (size_t i = 0; i < n; i++)
                for (size_t f = 0; f < rd->n_devs; f++) {
                        const struct pv_device_not_ready *d = &rd->devs[f];
                        if (d->kind == PV_NOT_READY_BINDING && !binding_matters)
                                continue;
                        if (addr_matches(&d->addr, &addrs[i])) {
                                *which = &addrs[i];
                                return d->reason ? d->reason : "not ready";
                        }
                }
        return NULL;
}

static int check_ready(struct xlate *x, struct slotted *s, const struct pv_pci_addr *addrs, size_t n,
                       struct pv_error *err) {
        const struct pv_pcidev *d = s->dev;
        bool binding = !d->mdev && d->driver != PV_DRIVER_KEEP;
        const struct pv_pci_addr *which = NULL;
        const char *why = not_ready(x, addrs, n, binding, &which);
        if (!why)
                return 0;
        char a[PV_PCI_ADDR_MAX];
        pv_pci_addr_format(which, a);
        return BLOCK(x, err, "hostpci%d: device %s on '%s' is not ready: %s", s->slot, a, x->vm->node, why);
}

/* mdev type present with an instance free (or held by this VM already); claims one. */
static int check_mdev(struct xlate *x, struct slotted *s, const struct pv_pci_addr *cands, size_t n,
                      struct pv_error *err) {
        const char *type = s->dev->mdev;
        const char *node = x->vm->node;
        if (!type)
                return 0;
        if (held_by_this_vm(x, &s->hp))
                return 0;
        if (!x->hw)
                return WARN(x, err, "hostpci%d: hardware of node '%s' was not observed; mdev type '%s' not checked",
                            s->slot, node, type);
        bool any_known = false, any_type = false;
        for (size_t i = 0; i < n; i++) {
                bool known;
                const struct pv_mdev_type *t = mdev_type(x->hw, &cands[i], type, &known);
                any_known |= known;
                if (!t)
                        continue;
                any_type = true;
                if (t->available < 0) {
                        char u[PV_PCI_ADDR_MAX];
                        pv_pci_addr_format(&cands[i], u);
                        return WARN(x, err, "hostpci%d: free instances of mdev type '%s' on %s on '%s' are unknown; not checked",
                                    s->slot, type, u, node);
                }
                if (t->available - claim_count(x->ctx->claims, node, &cands[i], type) >= 1)
                        return claim_add(x->ctx->claims, node, &cands[i], type, err);
        }
        char a[PV_PCI_ADDR_MAX];
        pv_pci_addr_format(&cands[0], a);
        if (!any_known)
                return WARN(x, err, "hostpci%d: mdev types of %s on '%s' were not observed; '%s' not checked", s->slot,
                            a, node, type);
        if (!any_type) {
                _cleanup_buf_ struct pv_buf offered = PV_BUF_INIT;
                for (size_t i = 0; i < n; i++) {
                        const struct pv_node_mdev *m = pv_node_hw_mdev(x->hw, &cands[i]);
                        for (size_t k = 0; m && k < m->n_types; k++)
                                pv_buf_addf(&offered, NULL, "%s'%s'", offered.len ? ", " : "", m->types[k].type);
                }
                return BLOCK(x, err, "hostpci%d: mdev type '%s' is not offered by %s on '%s' (offered: %s)", s->slot,
                             type, a, node, offered.len ? offered.buf : "none");
        }
        return BLOCK(x, err, "hostpci%d: no instance of mdev type '%s' is free on %s on '%s'", s->slot, type, a, node);
}

static int resolve_raw(struct xlate *x, struct slotted *s, struct pv_error *err) {
        const struct pv_pcidev *d = s->dev;
        int r = 0;
        if (x->hw) {
                for (size_t i = 0; r == 0 && i < d->n_addrs; i++) {
                        bool found = false;
                        for (size_t k = 0; k < x->hw->n_devs && !found; k++)
                                found = addr_matches(&d->addrs[i], &x->hw->devs[k].addr);
                        if (!found) {
                                char a[PV_PCI_ADDR_MAX];
                                pv_pci_addr_format(&d->addrs[i], a);
                                r = BLOCK(x, err, "hostpci%d: device %s does not exist on node '%s'", s->slot, a,
                                          x->vm->node);
                        }
                }
        }
        if (r == 0 && d->mdev && d->n_addrs == 1)
                r = check_mdev(x, s, d->addrs, 1, err);
        if (r == 0)
                r = check_ready(x, s, d->addrs, d->n_addrs, err);
        return r;
}

static int resolve_mapping(struct xlate *x, struct slotted *s, struct pv_error *err) {
        const struct pv_map_entry **v;
        struct pv_map_entry *own;
        size_t n, n_own;
        bool found;
        int r = mapping_entries(x, s->dev->mapping, x->vm->node, &v, &n, &own, &n_own, &found, err);
        if (r < 0)
                return r;
        if (!found) {
                r = BLOCK(x, err, "hostpci%d: mapping '%s' does not exist in the profile or on the cluster", s->slot,
                          s->dev->mapping);
                goto out;
        }
        r = pv_strv_contains(&x->out.mappings, s->dev->mapping) ? 0
                                                                 : pv_strv_push(&x->out.mappings, s->dev->mapping, err);
        if (r < 0)
                goto out;
        if (n == 0) {
                r = BLOCK(x, err, "hostpci%d: mapping '%s' has no entry for node '%s'", s->slot, s->dev->mapping,
                          x->vm->node);
                goto out;
        }
        if (s->dev->mdev) {
                /* candidates: single-device entries (Proxmox skips ';' paths for mdev) */
                struct pv_pci_addr *c = calloc(n, sizeof *c);
                size_t nc = 0;
                if (!c) {
                        r = pv_error_set(err, PV_ENOMEM, "out of memory");
                        goto out;
                }
                for (size_t i = 0; i < n; i++)
                        if (v[i]->n_paths == 1)
                                c[nc++] = v[i]->paths[0];
                if (nc)
                        r = check_mdev(x, s, c, nc, err);
                free(c);
                if (r < 0)
                        goto out;
        }
        if (x->ctx->ready && x->ctx->ready->n_devs) {
                /* blocked only when no alternative is ready */
                const char *why = NULL;
                const struct pv_pci_addr *which = NULL;
                bool binding = !s->dev->mdev && s->dev->driver != PV_DRIVER_KEEP;
                size_t ready = 0;
                for (size_t i = 0; i < n; i++) {
                        const struct pv_pci_addr *w = NULL;
                        const char *y = not_ready(x, v[i]->paths, v[i]->n_paths, binding, &w);
                        if (!y)
                                ready++;
                        else if (!why) {
                                why = y;
                                which = w;
                        }
                }
                if (!ready && why) {
                        char a[PV_PCI_ADDR_MAX];
                        pv_pci_addr_format(which, a);
                        r = BLOCK(x, err, "hostpci%d: device %s of mapping '%s' on '%s' is not ready: %s", s->slot, a,
                                  s->dev->mapping, x->vm->node, why);
                }
        }
out:
        free_owned(v, own, n_own);
        return r;
}

/* Is VF `a` free for this VM entry: not used by another VM, not claimed, not taken by this VM's other entries. */
/*
 * Is `a` an entry (on `node`) of a cluster mapping that another running VM
 * uses? Proxmox hands such a VM the first free entry of the mapping when it
 * starts; which one is not in the config. Up to qemu-server 9.1.10 an NVIDIA
 * VF hosting a vGPU lists no types, from 9.1.11 (NVML on the physical
 * function) it lists the same types as a free one, and an SR-IOV VF never
 * says: so a VF of a mapping in use by a running VM is not handed out.
 */
static bool held_through_mapping(const struct xlate *x, const char *node, const struct pv_pci_addr *a) {
        const struct pv_observed *o = x->ctx->obs;
        for (size_t i = 0; o && i < o->n_vms; i++) {
                const struct pv_vm_info *v = &o->vms[i];
                if (v->vmid == x->ctx->vmid || !v->node || strcmp(v->node, node) != 0 || !v->status ||
                    strcmp(v->status, "running") != 0)
                        continue;
                const struct pv_vm_config *c = pv_observed_config(o, v->vmid);
                for (size_t k = 0; c && k < c->n; k++) {
                        struct pv_hostpci h = PV_HOSTPCI_INIT;
                        if (key_index(c->kv[k].key, "hostpci", 15) < 0 || pv_hostpci_parse(c->kv[k].value, &h, NULL) < 0)
                                continue;
                        const struct pv_obs_mapping *om = h.mapping ? pv_observed_mapping(o, h.mapping) : NULL;
                        bool hit = false;
                        for (size_t e = 0; om && !hit && e < om->n_map; e++) {
                                struct pv_map_entry me;
                                if (pv_mapentry_parse(om->map[e], &me, NULL) < 0)
                                        continue;
                                for (size_t p = 0; me.node && strcmp(me.node, node) == 0 && !hit && p < me.n_paths; p++)
                                        hit = addr_matches(&me.paths[p], a);
                                pv_mapentry_done(&me);
                        }
                        pv_hostpci_done(&h);
                        if (hit)
                                return true;
                }
        }
        return false;
}

static bool vf_free(const struct xlate *x, const struct slotted *all, size_t n_all, const struct slotted *self,
                    const struct pv_pci_addr *a) {
        uint32_t who;
        if (used_by_other_vm(x, x->vm->node, a, &who) || held_through_mapping(x, x->vm->node, a))
                return false;
        if (claim_count(x->ctx->claims, x->vm->node, a, NULL) > 0)
                return false;
        for (size_t i = 0; i < n_all; i++) {
                if (&all[i] == self || !all[i].ok)
                        continue;
                for (size_t k = 0; k < all[i].hp.n_host; k++)
                        if (addr_matches(&all[i].hp.host[k], a))
                                return false;
        }
        return true;
}

static bool vf_mdev_ok(const struct xlate *x, const struct pv_pci_addr *a, const char *type) {
        bool known;
        if (!type)
                return true;
        const struct pv_mdev_type *t = mdev_type(x->hw, a, type, &known);
        return t && (t->available < 0 || t->available - claim_count(x->ctx->claims, x->vm->node, a, type) >= 1);
}

static int set_host(struct pv_hostpci *h, const struct pv_pci_addr *a, struct pv_error *err) {
        free(h->host);
        h->host = malloc(sizeof *h->host);
        if (!h->host) {
                h->n_host = 0;
                return pv_error_set(err, PV_ENOMEM, "out of memory");
        }
        h->host[0] = *a;
        h->n_host = 1;
        return 0;
}

static int resolve_vf(struct xlate *x, struct slotted *all, size_t n_all, struct slotted *s,
                      const struct pv_hostpci *obs, const bool *obs_ok, struct pv_error *err) {
        const struct pv_pcidev *d = s->dev;
        char pf[PV_PCI_ADDR_MAX];
        pv_pci_addr_format(&d->vf_pf, pf);
        if (!x->hw)
                return BLOCK(x, err, "hostpci%d: hardware of node '%s' was not observed; cannot pick a VF of %s",
                             s->slot, x->vm->node, pf);
        /* stable: keep a VF of this PF the VM already has, in this slot first, else in any slot */
        const struct pv_pci_addr *keep = NULL;
        for (int pass = 0; pass < 2 && !keep; pass++)
                for (int k = 0; k < PV_MAX_HOSTPCI && !keep; k++) {
                        if ((pass == 0) != (k == s->slot) || !obs_ok[k] || obs[k].n_host != 1 || obs[k].mapping)
                                continue;
                        if (is_vf_of(x->hw, &obs[k].host[0], &d->vf_pf) && vf_free(x, all, n_all, s, &obs[k].host[0]))
                                keep = &obs[k].host[0];
                }
        if (keep) {
                int r = set_host(&s->hp, keep, err);
                if (r == 0)
                        r = claim_add(x->ctx->claims, x->vm->node, keep, NULL, err);
                if (r == 0 && d->mdev)
                        r = check_mdev(x, s, keep, 1, err);
                if (r == 0)
                        r = check_ready(x, s, keep, 1, err);
                return r;
        }
        size_t n_vfs = 0;
        for (size_t i = 0; i < x->hw->n_devs; i++) {
                const struct pv_hw_pci *h = &x->hw->devs[i];
                if (!h->is_vf || !pv_pci_addr_equal(&h->physfn, &d->vf_pf))
                        continue;
                n_vfs++;
                if (!vf_free(x, all, n_all, s, &h->addr) || !vf_mdev_ok(x, &h->addr, d->mdev))
                        continue;
                int r = set_host(&s->hp, &h->addr, err);
                if (r == 0)
                        r = claim_add(x->ctx->claims, x->vm->node, &h->addr, NULL, err);
                if (r == 0 && d->mdev)
                        r = check_mdev(x, s, &h->addr, 1, err);
                if (r == 0)
                        r = check_ready(x, s, &h->addr, 1, err);
                return r;
        }
        s->ok = false;
        if (!n_vfs)
                return BLOCK(x, err, "hostpci%d: %s on '%s' has no SR-IOV virtual functions (set sriov vfs on the host)",
                             s->slot, pf, x->vm->node);
        if (d->mdev)
                return BLOCK(x, err, "hostpci%d: no free VF of %s on '%s' offers mdev type '%s' (%zu VFs, all in use or without it)",
                             s->slot, pf, x->vm->node, d->mdev, n_vfs);
        return BLOCK(x, err, "hostpci%d: all %zu VFs of %s on '%s' are used by other VMs", s->slot, n_vfs, pf,
                     x->vm->node);
}

static int build_hostpci(const struct pv_pcidev *d, struct pv_hostpci *h, struct pv_error *err) {
        *h = (struct pv_hostpci)PV_HOSTPCI_INIT;
        if (d->kind == PV_PCIDEV_RAW && d->n_addrs) {
                h->host = calloc(d->n_addrs, sizeof *h->host);
                if (!h->host)
                        return pv_error_set(err, PV_ENOMEM, "out of memory");
                memcpy(h->host, d->addrs, d->n_addrs * sizeof *h->host);
                h->n_host = d->n_addrs;
        }
        if ((d->kind == PV_PCIDEV_MAPPING && d->mapping && !(h->mapping = strdup(d->mapping))) ||
            (d->mdev && !(h->mdev = strdup(d->mdev))) || (d->romfile && !(h->romfile = strdup(d->romfile)))) {
                pv_hostpci_done(h);
                return pv_error_set(err, PV_ENOMEM, "out of memory");
        }
        h->pcie = d->pcie;
        h->x_vga = d->primary;
        h->rombar = d->rombar;
        h->legacy_igd = d->legacy_igd;
        h->driver = d->driver;
        h->has_vendor_id = d->has_vendor_id, h->vendor_id = d->vendor_id;
        h->has_device_id = d->has_device_id, h->device_id = d->device_id;
        h->has_sub_vendor_id = d->has_sub_vendor_id, h->sub_vendor_id = d->sub_vendor_id;
        h->has_sub_device_id = d->has_sub_device_id, h->sub_device_id = d->sub_device_id;
        return 0;
}

/* Does observed entry `o` identify the device of profile entry `d`? */
static bool same_identity(const struct xlate *x, const struct pv_pcidev *d, const struct pv_hostpci *want,
                          const struct pv_hostpci *o) {
        if (d->kind == PV_PCIDEV_VF_POOL)
                return x->hw && o->n_host == 1 && !o->mapping && is_vf_of(x->hw, &o->host[0], &d->vf_pf);
        return pv_hostpci_same_device(want, o);
}

static int xl_hostpci(struct xlate *x, struct pv_error *err) {
        const struct pv_vm *vm = x->vm;
        struct pv_hostpci obs[PV_MAX_HOSTPCI];
        bool obs_ok[PV_MAX_HOSTPCI] = { false }, taken[PV_MAX_HOSTPCI] = { false };
        int r = 0;
        if (vm->n_pci == 0)
                return 0;
        if (vm->n_pci > PV_MAX_HOSTPCI)
                return BLOCK(x, err, "%zu PCI devices; Proxmox allows at most %d", vm->n_pci, PV_MAX_HOSTPCI);
        for (int i = 0; i < PV_MAX_HOSTPCI; i++) {
                char key[16];
                snprintf(key, sizeof key, "hostpci%d", i);
                obs[i] = (struct pv_hostpci)PV_HOSTPCI_INIT;
                const char *v = cur(x, key);
                obs_ok[i] = v && pv_hostpci_parse(v, &obs[i], NULL) == 0;
        }
        struct slotted *s = calloc(vm->n_pci, sizeof *s);
        if (!s) {
                r = pv_error_set(err, PV_ENOMEM, "out of memory");
                goto out;
        }
        for (size_t i = 0; i < vm->n_pci; i++) {
                s[i].dev = &vm->pci[i];
                s[i].slot = -1;
                s[i].ok = true;
                if ((r = build_hostpci(&vm->pci[i], &s[i].hp, err)) < 0)
                        goto out;
        }
        /* 1. explicit slots */
        for (size_t i = 0; r == 0 && i < vm->n_pci; i++) {
                int sl = vm->pci[i].slot;
                if (sl < 0)
                        continue;
                if (sl >= PV_MAX_HOSTPCI || taken[sl]) {
                        r = BLOCK(x, err, "pci slot %d is %s", sl, sl >= PV_MAX_HOSTPCI ? "out of range" : "used twice");
                        s[i].ok = false;
                        continue;
                }
                taken[sl] = true;
                s[i].slot = sl;
        }
        /* 2. keep the index the device already has */
        for (size_t i = 0; r == 0 && i < vm->n_pci; i++) {
                if (s[i].slot >= 0 || !s[i].ok)
                        continue;
                for (int k = 0; k < PV_MAX_HOSTPCI; k++)
                        if (!taken[k] && obs_ok[k] && same_identity(x, s[i].dev, &s[i].hp, &obs[k])) {
                                taken[k] = true;
                                s[i].slot = k;
                                break;
                        }
        }
        /* 3. lowest free index */
        for (size_t i = 0; r == 0 && i < vm->n_pci; i++) {
                if (s[i].slot >= 0 || !s[i].ok)
                        continue;
                for (int k = 0; k < PV_MAX_HOSTPCI && s[i].slot < 0; k++)
                        if (!taken[k]) {
                                taken[k] = true;
                                s[i].slot = k;
                        }
        }
        /* resolve devices in slot order (deterministic VF choice) */
        for (int k = 0; r == 0 && k < PV_MAX_HOSTPCI; k++) {
                for (size_t i = 0; r == 0 && i < vm->n_pci; i++) {
                        if (s[i].slot != k || !s[i].ok)
                                continue;
                        switch (s[i].dev->kind) {
                        case PV_PCIDEV_RAW:
                                r = resolve_raw(x, &s[i], err);
                                break;
                        case PV_PCIDEV_MAPPING:
                                r = resolve_mapping(x, &s[i], err);
                                break;
                        case PV_PCIDEV_VF_POOL:
                                r = resolve_vf(x, s, vm->n_pci, &s[i], obs, obs_ok, err);
                                break;
                        }
                }
        }
        if (r == 0 && x->ctx->ready && x->ctx->ready->all_devices)
                r = BLOCK(x, err, "node '%s': %s", vm->node, x->ctx->ready->all_devices);
        for (int k = 0; r == 0 && k < PV_MAX_HOSTPCI; k++)
                for (size_t i = 0; r == 0 && i < vm->n_pci; i++) {
                        if (s[i].slot != k || !s[i].ok || (!s[i].hp.n_host && !s[i].hp.mapping))
                                continue;
                        char key[16], *v = NULL;
                        snprintf(key, sizeof key, "hostpci%d", k);
                        if ((r = pv_hostpci_format(&s[i].hp, &v, err)) == 0)
                                r = kvb_take(&x->kv, key, v, err);
                }
out:
        for (size_t i = 0; s && i < vm->n_pci; i++)
                pv_hostpci_done(&s[i].hp);
        free(s);
        for (int i = 0; i < PV_MAX_HOSTPCI; i++)
                pv_hostpci_done(&obs[i]);
        return r;
}

/* The keys and notes of vmextras.c (TPM, affinity, hookscript, …). */
static int xl_extras(struct xlate *x, struct pv_error *err) {
        struct pvx_out o;
        int r = pvx_translate(x->vm, x->ctx, &o, err);
        if (r < 0)
                return r;
        for (size_t i = 0; r == 0 && i < o.n; i++) {
                r = kvb_take(&x->kv, o.kv[i].key, o.kv[i].value, err);
                o.kv[i].value = NULL;
        }
        for (size_t i = 0; r == 0 && i < o.drift.n; i++)
                r = pv_strv_push(&x->out.drift, o.drift.v[i], err);
        for (size_t i = 0; r == 0 && i < o.warnings.n; i++)
                r = pv_strv_push(&x->out.warnings, o.warnings.v[i], err);
        for (size_t i = 0; r == 0 && i < o.blocked.n; i++)
                r = pv_strv_push(&x->blocked, o.blocked.v[i], err);
        pvx_out_done(&o);
        return r;
}

void pv_vm_desired_done(struct pv_vm_desired *d) {
        if (!d)
                return;
        for (size_t i = 0; i < d->n; i++) {
                free(d->kv[i].key);
                free(d->kv[i].value);
        }
        free(d->kv);
        pv_strv_done(&d->drift);
        pv_strv_done(&d->warnings);
        pv_strv_done(&d->mappings);
        free(d->blocked);
        memset(d, 0, sizeof *d);
}

const char *pv_vm_desired_get(const struct pv_vm_desired *d, const char *key) {
        for (size_t i = 0; i < d->n; i++)
                if (strcmp(d->kv[i].key, key) == 0)
                        return d->kv[i].value;
        return NULL;
}

int pv_vm_translate(const struct pv_vm *vm, const struct pv_vm_xlate_ctx *ctx, struct pv_vm_desired *ret,
                    struct pv_error *err) {
        struct xlate x = { .vm = vm, .ctx = ctx };
        x.hw = ctx->obs && vm->node ? pv_observed_hw(ctx->obs, vm->node) : NULL;
        int r = 0;
        for (size_t i = 0; i < vm->n_pci && r == 0; i++)
                if (vm->pci[i].kind == PV_PCIDEV_VF_POOL)
                        r = index_used(ctx->claims, ctx->obs, err);
        if (r < 0)
                return r;
        r = kvb_set(&x.kv, "name", vm->name, err);
        if (r == 0)
                r = xl_tags(&x, err);
        if (r == 0)
                r = xl_machine(&x, err);
        if (r == 0)
                r = xl_cpu(&x, err);
        if (r == 0)
                r = xl_scalar(&x, err);
        if (r == 0)
                r = xl_efidisk(&x, err);
        if (r == 0)
                r = xl_disks(&x, err);
        if (r == 0)
                r = xl_nets(&x, err);
        if (r == 0)
                r = xl_hostpci(&x, err);
        if (r == 0)
                r = xl_extras(&x, err);
        if (r == 0 && x.blocked.n) {
                _cleanup_buf_ struct pv_buf b = PV_BUF_INIT;
                for (size_t i = 0; r == 0 && i < x.blocked.n; i++)
                        r = pv_buf_addf(&b, err, "%s%s", i ? "; " : "", x.blocked.v[i]);
                if (r == 0)
                        r = pv_buf_detach(&b, &x.out.blocked, NULL, err);
        }
        pv_strv_done(&x.blocked);
        if (r < 0) {
                kvb_done(&x.kv);
                pv_vm_desired_done(&x.out);
                return r;
        }
        qsort(x.kv.v, x.kv.n, sizeof *x.kv.v, kv_cmp);
        x.out.kv = x.kv.v;
        x.out.n = x.kv.n;
        *ret = x.out;
        return 0;
}
