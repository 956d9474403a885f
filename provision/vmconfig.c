/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Desired VM → Proxmox config keys: the key classes, the key-aware comparison
 * that keeps plans free of phantom changes, and the per-plan claims on shared
 * devices. Pure: works on the profile model and the observed structs only.
 *
 * The translation of a VM into keys is in vmconfig_translate.c, its hostpciN
 * part in vmconfig_hostpci.c; vmconfig_int.h holds what the three share.
 */
#include "pvfio/vmplan.h"
#include "vmextras.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pvfio/cleanup.h"
#include "pvfio/hostpci.h"
#include "pvfio/tags.h"
#include "pvfio/xalloc.h"
#include "vmconfig_int.h"

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
int pvc_key_index(const char *key, const char *prefix, int max) {
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
                if (pvc_key_index(key, indexed_keys[i].prefix, indexed_keys[i].max) >= 0)
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

bool pvc_str_eq(const char *a, const char *b) {
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
                        if (!skipped && !pvc_str_eq(x->v[i].value, pv_props_get(y, k)))
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


int pvc_net_parse(const char *s, struct net_val *ret) {
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

bool pvc_net_subkey_skipped(const char *k) {
        return !k || strcmp(k, "model") == 0 || strcmp(k, "macaddr") == 0 || strcmp(k, "bridge") == 0 ||
               strcmp(k, "firewall") == 0 || strcmp(k, "tag") == 0 || strcmp(k, "link_down") == 0 ||
               is_net_model(k);
}

static bool net_rest_equal(const struct pv_props *a, const struct pv_props *b) {
        for (int pass = 0; pass < 2; pass++) {
                const struct pv_props *x = pass ? b : a, *y = pass ? a : b;
                for (size_t i = 0; i < x->n; i++)
                        if (!pvc_net_subkey_skipped(x->v[i].key) &&
                            !pvc_str_eq(x->v[i].value, pv_props_get(y, x->v[i].key)))
                                return false;
        }
        return true;
}

int pvc_bool_or(const char *s, int def) {
        int v = s ? pv_parse_bool(s) : def;
        return v < 0 ? def : v;
}

/* want = desired (may omit the MAC: Proxmox generates one), have = observed. */
static bool net_equal(const char *want, const char *have) {
        struct net_val a, b;
        if (pvc_net_parse(want, &a) < 0)
                return strcmp(want, have) == 0;
        if (pvc_net_parse(have, &b) < 0) {
                pv_props_done(&a.props);
                return false;
        }
        long long ta = -1, tb = -1;
        const char *sa = pv_props_get(&a.props, "tag"), *sb = pv_props_get(&b.props, "tag");
        bool eq = strcmp(a.model, b.model) == 0 && (!a.mac || (b.mac && strcasecmp(a.mac, b.mac) == 0)) &&
                  pvc_str_eq(pv_props_get(&a.props, "bridge"), pv_props_get(&b.props, "bridge")) &&
                  pvc_bool_or(pv_props_get(&a.props, "firewall"), 0) ==
                          pvc_bool_or(pv_props_get(&b.props, "firewall"), 0) &&
                  pvc_bool_or(pv_props_get(&a.props, "link_down"), 0) ==
                          pvc_bool_or(pv_props_get(&b.props, "link_down"), 0) &&
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
                return pvc_str_eq(want, have);
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


int pv_claims_new(struct pv_claims **ret, struct pv_error *err) {
        (void)err;      /* allocation does not fail (pvfio/xalloc.h) */
        *ret = pv_xcalloc(1, sizeof **ret);
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

int pvc_claim_add(struct pv_claims *c, const char *node, const struct pv_pci_addr *a, const char *mdev,
                  struct pv_error *err) {
        (void)err;      /* allocation does not fail (pvfio/xalloc.h) */
        if (!c)
                return 0;
        c->v = pv_xreallocarray(c->v, c->n + 1, sizeof *c->v);
        c->v[c->n++] = (struct pv_claim){ pv_xstrdup(node), *a, pv_xstrdup(mdev) };
        return 0;
}

int pvc_claim_count(const struct pv_claims *c, const char *node, const struct pv_pci_addr *a, const char *mdev) {
        int n = 0;
        for (size_t i = 0; c && i < c->n; i++)
                if (pv_pci_addr_equal(&c->v[i].addr, a) && pvc_str_eq(c->v[i].mdev, mdev) && strcmp(c->v[i].node, node) == 0)
                        n++;
        return n;
}
