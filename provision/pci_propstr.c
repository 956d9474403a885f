/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * PCI property strings as Proxmox writes them: the property-string tokenizer,
 * the codec of VM `hostpciN` values and of PCI mapping `map` entries
 * (`pvfio/hostpci.h`). Which hostpciN a VM should have is vmconfig_hostpci.c.
 */
#include "pvfio/hostpci.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pvfio/buf.h"
#include "pvfio/cleanup.h"
#include "pvfio/util.h"
#include "pvfio/xalloc.h"

/* ------------------------------------------------------ property strings */

void pv_props_done(struct pv_props *p) {
        if (!p)
                return;
        for (size_t i = 0; i < p->n; i++) {
                free(p->v[i].key);
                free(p->v[i].value);
        }
        free(p->v);
        p->v = NULL;
        p->n = 0;
}

static bool is_blank(const char *s, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (!isspace((unsigned char)s[i]))
                        return false;
        return true;
}

static void props_push(struct pv_props *p, char *key, char *value) {
        p->v = pv_xreallocarray(p->v, p->n + 1, sizeof *p->v);
        p->v[p->n++] = (struct pv_prop){ key, value };
}

int pv_props_parse(const char *s, bool has_default_key, struct pv_props *ret, struct pv_error *err) {
        struct pv_props p = { 0 };
        int r = 0;
        if (!s)
                return pv_error_set(err, PV_EINVAL, "empty property string");
        const char *part = s;
        for (;;) {
                const char *end = strchr(part, ',');
                size_t n = end ? (size_t)(end - part) : strlen(part);
                if (!is_blank(part, n)) {
                        const char *eq = memchr(part, '=', n);
                        if (eq) {
                                size_t kl = (size_t)(eq - part), vl = n - kl - 1;
                                if (kl == 0 || vl == 0) {
                                        r = pv_error_set(err, PV_EINVAL, "missing key or value in '%.*s'", (int)n, part);
                                        goto fail;
                                }
                                char *k = pv_xstrndup(part, kl);
                                if (pv_props_get(&p, k)) {
                                        r = pv_error_set(err, PV_EINVAL, "duplicate key '%s'", k);
                                        free(k);
                                        goto fail;
                                }
                                props_push(&p, k, pv_xstrndup(eq + 1, vl));
                        } else {
                                if (!has_default_key) {
                                        r = pv_error_set(err, PV_EINVAL, "value '%.*s' without key", (int)n, part);
                                        goto fail;
                                }
                                bool dup = false;
                                for (size_t i = 0; i < p.n; i++)
                                        dup |= p.v[i].key == NULL;
                                if (dup) {
                                        r = pv_error_set(err, PV_EINVAL, "two values without key ('%.*s')", (int)n, part);
                                        goto fail;
                                }
                                props_push(&p, NULL, pv_xstrndup(part, n));
                        }
                }
                if (!end)
                        break;
                part = end + 1;
        }
        *ret = p;
        return 0;
fail:
        pv_props_done(&p);
        return r;
}

const char *pv_props_get(const struct pv_props *p, const char *key) {
        for (size_t i = 0; i < p->n; i++) {
                if (!key && !p->v[i].key)
                        return p->v[i].value;
                if (key && p->v[i].key && strcmp(p->v[i].key, key) == 0)
                        return p->v[i].value;
        }
        return NULL;
}

int pv_parse_bool(const char *s) {
        static const char *const yes[] = { "1", "on", "yes", "true" }, *const no[] = { "0", "off", "no", "false" };
        if (!s)
                return -1;
        for (size_t i = 0; i < PV_ELEMENTSOF(yes); i++) {
                if (strcasecmp(s, yes[i]) == 0)
                        return 1;
                if (strcasecmp(s, no[i]) == 0)
                        return 0;
        }
        return -1;
}

/* --------------------------------------------------------- PCI addresses */

static int lhex(int c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        return -1;
}

/*
 * Parse one address of the Proxmox patterns (lower-case hex): domain of 4+
 * digits (optional unless need_domain), bus and device of exactly 2 digits,
 * optional `.F`. Returns 0, -1 for a syntax error, -2 for an impossible
 * device/function number.
 */
static int parse_pve_addr(const char *s, size_t n, bool need_domain, struct pv_pci_addr *out) {
        struct pv_pci_addr a = { 0 };
        size_t colons = 0;
        for (size_t i = 0; i < n; i++)
                colons += s[i] == ':';
        size_t i = 0;
        if (colons == 2) {
                uint64_t d = 0;
                size_t digits = 0;
                while (i < n && s[i] != ':') {
                        int v = lhex((unsigned char)s[i]);
                        if (v < 0)
                                return -1;
                        d = d * 16 + (uint64_t)v;
                        if (d > 0xffffffffu)
                                return -1;
                        digits++;
                        i++;
                }
                if (digits < 4)
                        return -1;
                i++;
                a.domain = (uint32_t)d;
                a.domain_given = true;
        } else if (colons != 1 || need_domain) {
                return -1;
        }
        if (n - i < 5)
                return -1;
        int b1 = lhex(s[i]), b2 = lhex(s[i + 1]), d1 = lhex(s[i + 3]), d2 = lhex(s[i + 4]);
        if (b1 < 0 || b2 < 0 || s[i + 2] != ':' || d1 < 0 || d2 < 0)
                return -1;
        a.bus = (uint8_t)(b1 * 16 + b2);
        int dev = d1 * 16 + d2;
        i += 5;
        a.func = PV_PCI_FUNC_ALL;
        if (i < n) {
                if (n - i != 2 || s[i] != '.' || lhex(s[i + 1]) < 0)
                        return -1;
                int f = lhex(s[i + 1]);
                if (f > 7)
                        return -2;
                a.func = (uint8_t)f;
        }
        if (dev > 0x1f)
                return -2;
        a.dev = (uint8_t)dev;
        *out = a;
        return 0;
}

/* Parse a ';' list of addresses into a new array. */
static int parse_addr_list(const char *what, const char *s, bool need_domain, struct pv_pci_addr **ret,
                           size_t *ret_n, struct pv_error *err) {
        size_t n = 1;
        for (const char *q = s; *q; q++)
                n += *q == ';';
        _cleanup_free_ struct pv_pci_addr *v = pv_xcalloc(n, sizeof *v);
        const char *p = s;
        for (size_t i = 0; i < n; i++) {
                const char *end = strchr(p, ';');
                size_t len = end ? (size_t)(end - p) : strlen(p);
                int r = parse_pve_addr(p, len, need_domain, &v[i]);
                if (r == -2)
                        return pv_error_set(err, PV_EINVAL, "%s '%.*s': no PCI device has this device or function number",
                                            what, (int)len, p);
                if (r < 0)
                        return pv_error_set(err, PV_EINVAL,
                                            "%s '%.*s' is not a PCI address (expected %s, lower-case hex)", what,
                                            (int)len, p, need_domain ? "DDDD:BB:DD[.F]" : "[DDDD:]BB:DD[.F]");
                p = end ? end + 1 : p + len;
        }
        *ret = TAKE_PTR(v);
        *ret_n = n;
        return 0;
}

static bool addr_list_equal(const struct pv_pci_addr *a, size_t na, const struct pv_pci_addr *b, size_t nb) {
        if (na != nb)
                return false;
        for (size_t i = 0; i < na; i++)
                if (!pv_pci_addr_equal(&a[i], &b[i]))
                        return false;
        return true;
}

static int add_addr_list(struct pv_buf *b, const struct pv_pci_addr *v, size_t n, struct pv_error *err) {
        for (size_t i = 0; i < n; i++) {
                char s[PV_PCI_ADDR_MAX];
                pv_pci_addr_format(&v[i], s);
                int r = pv_buf_addf(b, err, "%s%s", i ? ";" : "", s);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* ---------------------------------------------------------------- hostpci */

void pv_hostpci_done(struct pv_hostpci *h) {
        if (!h)
                return;
        free(h->host);
        free(h->mapping);
        free(h->mdev);
        free(h->romfile);
        *h = (struct pv_hostpci)PV_HOSTPCI_INIT;
}

static bool configid_ok(const char *s) {
        if (!isalpha((unsigned char)s[0]) || strlen(s) < 2)
                return false;
        for (const char *p = s + 1; *p; p++)
                if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-')
                        return false;
        return true;
}

/* ^0x[0-9a-fA-F]{4}$ */
static int parse_hexid(const char *s, uint16_t *ret) {
        if (strlen(s) != 6 || s[0] != '0' || s[1] != 'x')
                return -1;
        unsigned v = 0;
        for (int i = 2; i < 6; i++) {
                int c = tolower((unsigned char)s[i]);
                int d = lhex(c);
                if (d < 0)
                        return -1;
                v = v * 16 + (unsigned)d;
        }
        *ret = (uint16_t)v;
        return 0;
}

int pv_hostpci_parse(const char *s, struct pv_hostpci *ret, struct pv_error *err) {
        struct pv_props p = { 0 };
        struct pv_hostpci h = PV_HOSTPCI_INIT;
        int r = pv_props_parse(s, true, &p, err);
        if (r < 0)
                return pv_error_wrap(err, "invalid hostpci value '%s'", s ? s : "");
        for (size_t i = 0; i < p.n && r == 0; i++) {
                const char *k = p.v[i].key, *v = p.v[i].value;
                int *flag = NULL;
                uint16_t *id = NULL;
                bool *has = NULL;
                if (!k || strcmp(k, "host") == 0) {
                        if (h.host) {
                                r = pv_error_set(err, PV_EINVAL, "duplicate key 'host'");
                                break;
                        }
                        r = parse_addr_list("host", v, false, &h.host, &h.n_host, err);
                        continue;
                }
                if (strcmp(k, "mapping") == 0) {
                        if (!configid_ok(v))
                                r = pv_error_set(err, PV_EINVAL, "mapping '%s' is not a valid mapping id", v);
                        else
                                h.mapping = pv_xstrdup(v);
                        continue;
                }
                if (strcmp(k, "mdev") == 0) {
                        if (strpbrk(v, "/.:"))
                                r = pv_error_set(err, PV_EINVAL, "mdev type '%s' must not contain '/', '.' or ':'", v);
                        else
                                h.mdev = pv_xstrdup(v);
                        continue;
                }
                if (strcmp(k, "romfile") == 0) {
                        if (strchr(v, ';'))
                                r = pv_error_set(err, PV_EINVAL, "romfile '%s' must not contain ';'", v);
                        else
                                h.romfile = pv_xstrdup(v);
                        continue;
                }
                if (strcmp(k, "driver") == 0) {
                        if (strcmp(v, "vfio") == 0)
                                h.driver = PV_DRIVER_VFIO;
                        else if (strcmp(v, "keep") == 0)
                                h.driver = PV_DRIVER_KEEP;
                        else
                                r = pv_error_set(err, PV_EINVAL, "driver '%s' is not one of 'vfio', 'keep'", v);
                        continue;
                }
                if (strcmp(k, "pcie") == 0)
                        flag = &h.pcie;
                else if (strcmp(k, "x-vga") == 0)
                        flag = &h.x_vga;
                else if (strcmp(k, "rombar") == 0)
                        flag = &h.rombar;
                else if (strcmp(k, "legacy-igd") == 0)
                        flag = &h.legacy_igd;
                else if (strcmp(k, "vendor-id") == 0)
                        id = &h.vendor_id, has = &h.has_vendor_id;
                else if (strcmp(k, "device-id") == 0)
                        id = &h.device_id, has = &h.has_device_id;
                else if (strcmp(k, "sub-vendor-id") == 0)
                        id = &h.sub_vendor_id, has = &h.has_sub_vendor_id;
                else if (strcmp(k, "sub-device-id") == 0)
                        id = &h.sub_device_id, has = &h.has_sub_device_id;
                if (flag) {
                        *flag = pv_parse_bool(v);
                        if (*flag < 0)
                                r = pv_error_set(err, PV_EINVAL, "'%s' must be a boolean, got '%s'", k, v);
                } else if (id) {
                        if (parse_hexid(v, id) < 0)
                                r = pv_error_set(err, PV_EINVAL, "'%s' must be 0x followed by 4 hex digits, got '%s'", k, v);
                        *has = true;
                } else {
                        r = pv_error_set(err, PV_EINVAL, "unknown key '%s'", k);
                }
        }
        pv_props_done(&p);
        if (r < 0) {
                pv_hostpci_done(&h);
                return pv_error_wrap(err, "invalid hostpci value '%s'", s);
        }
        *ret = h;
        return 0;
}

int pv_hostpci_check(const struct pv_hostpci *h, struct pv_error *err) {
        if (h->n_host && h->mapping)
                return pv_error_set(err, PV_EINVAL, "hostpci sets both 'host' and 'mapping'");
        if (!h->n_host && !h->mapping)
                return pv_error_set(err, PV_EINVAL, "hostpci needs either 'host' or 'mapping'");
        if (h->mdev && (h->n_host > 1 || (h->n_host == 1 && h->host[0].func == PV_PCI_FUNC_ALL)))
                return pv_error_set(err, PV_EINVAL, "cannot use mediated device with multifunction device");
        return 0;
}

static int add_kv(struct pv_buf *b, const char *k, const char *v, struct pv_error *err) {
        return pv_buf_addf(b, err, "%s%s=%s", b->len ? "," : "", k, v);
}

static int add_id(struct pv_buf *b, const char *k, bool has, uint16_t v, struct pv_error *err) {
        if (!has)
                return 0;
        char s[8];
        snprintf(s, sizeof s, "0x%04x", v);
        return add_kv(b, k, s, err);
}

static int add_flag(struct pv_buf *b, const char *k, int v, int def, struct pv_error *err) {
        if (v < 0 || v == def)
                return 0;
        return add_kv(b, k, v ? "1" : "0", err);
}

int pv_hostpci_format(const struct pv_hostpci *h, char **ret, struct pv_error *err) {
        _cleanup_buf_ struct pv_buf b = PV_BUF_INIT;
        int r = add_addr_list(&b, h->host, h->n_host, err);
        if (r == 0)
                r = add_id(&b, "device-id", h->has_device_id, h->device_id, err);
        if (r == 0 && h->driver == PV_DRIVER_KEEP)
                r = add_kv(&b, "driver", "keep", err);
        if (r == 0)
                r = add_flag(&b, "legacy-igd", h->legacy_igd, 0, err);
        if (r == 0 && h->mapping)
                r = add_kv(&b, "mapping", h->mapping, err);
        if (r == 0 && h->mdev)
                r = add_kv(&b, "mdev", h->mdev, err);
        if (r == 0)
                r = add_flag(&b, "pcie", h->pcie, 0, err);
        if (r == 0)
                r = add_flag(&b, "rombar", h->rombar, 1, err);
        if (r == 0 && h->romfile)
                r = add_kv(&b, "romfile", h->romfile, err);
        if (r == 0)
                r = add_id(&b, "sub-device-id", h->has_sub_device_id, h->sub_device_id, err);
        if (r == 0)
                r = add_id(&b, "sub-vendor-id", h->has_sub_vendor_id, h->sub_vendor_id, err);
        if (r == 0)
                r = add_id(&b, "vendor-id", h->has_vendor_id, h->vendor_id, err);
        if (r == 0)
                r = add_flag(&b, "x-vga", h->x_vga, 0, err);
        if (r < 0)
                return r;
        if (b.len == 0)
                return pv_error_set(err, PV_EINVAL, "hostpci value with neither a device nor a mapping");
        return pv_buf_detach(&b, ret, NULL, err);
}

static int flag_or(int v, int def) {
        return v < 0 ? def : v;
}

static bool str_eq(const char *a, const char *b) {
        return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static bool id_eq(bool ha, uint16_t a, bool hb, uint16_t b) {
        return ha == hb && (!ha || a == b);
}

bool pv_hostpci_same_device(const struct pv_hostpci *a, const struct pv_hostpci *b) {
        return str_eq(a->mapping, b->mapping) && addr_list_equal(a->host, a->n_host, b->host, b->n_host);
}

bool pv_hostpci_equal(const struct pv_hostpci *a, const struct pv_hostpci *b) {
        enum pv_driver_mode da = a->driver == PV_DRIVER_KEEP ? PV_DRIVER_KEEP : PV_DRIVER_VFIO;
        enum pv_driver_mode db = b->driver == PV_DRIVER_KEEP ? PV_DRIVER_KEEP : PV_DRIVER_VFIO;
        return pv_hostpci_same_device(a, b) && str_eq(a->mdev, b->mdev) && str_eq(a->romfile, b->romfile) &&
               flag_or(a->pcie, 0) == flag_or(b->pcie, 0) && flag_or(a->x_vga, 0) == flag_or(b->x_vga, 0) &&
               flag_or(a->rombar, 1) == flag_or(b->rombar, 1) &&
               flag_or(a->legacy_igd, 0) == flag_or(b->legacy_igd, 0) && da == db &&
               id_eq(a->has_vendor_id, a->vendor_id, b->has_vendor_id, b->vendor_id) &&
               id_eq(a->has_device_id, a->device_id, b->has_device_id, b->device_id) &&
               id_eq(a->has_sub_vendor_id, a->sub_vendor_id, b->has_sub_vendor_id, b->sub_vendor_id) &&
               id_eq(a->has_sub_device_id, a->sub_device_id, b->has_sub_device_id, b->sub_device_id);
}

bool pv_hostpci_str_equal(const char *a, const char *b) {
        if (!a || !b)
                return a == b;
        struct pv_hostpci ha = PV_HOSTPCI_INIT, hb = PV_HOSTPCI_INIT;
        if (pv_hostpci_parse(a, &ha, NULL) < 0)
                return strcmp(a, b) == 0;
        if (pv_hostpci_parse(b, &hb, NULL) < 0) {
                pv_hostpci_done(&ha);
                return false;
        }
        bool eq = pv_hostpci_equal(&ha, &hb);
        pv_hostpci_done(&ha);
        pv_hostpci_done(&hb);
        return eq;
}

/* ------------------------------------------------- mapping `map` entries */

void pv_mapentry_done(struct pv_map_entry *e) {
        if (!e)
                return;
        free(e->node);
        free(e->paths);
        free(e->description);
        memset(e, 0, sizeof *e);
}

static bool node_ok(const char *s) {
        size_t n = strlen(s);
        if (n == 0 || n > 63 || !isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[n - 1]))
                return false;
        for (size_t i = 0; i < n; i++)
                if (!isalnum((unsigned char)s[i]) && s[i] != '-')
                        return false;
        return true;
}

/* ^[0-9A-Fa-f]{4}:[0-9A-Fa-f]{4}$ */
static int parse_idpair(const char *s, struct pv_pci_id *ret) {
        if (strlen(s) != 9)
                return -1;
        return pv_pci_id_parse(s, ret, NULL);
}

/* Perl's is_integer: ^[+-]?\d+$ (kept within int range). */
static int parse_int(const char *s, int *ret) {
        const char *p = s;
        if (*p == '+' || *p == '-')
                p++;
        if (!*p)
                return -1;
        long long v = 0;
        for (; *p; p++) {
                if (!isdigit((unsigned char)*p))
                        return -1;
                v = v * 10 + (*p - '0');
                if (v > 0x7fffffff)
                        return -1;
        }
        *ret = (int)(s[0] == '-' ? -v : v);
        return 0;
}

int pv_mapentry_parse(const char *s, struct pv_map_entry *ret, struct pv_error *err) {
        struct pv_props p = { 0 };
        struct pv_map_entry e = { 0 };
        int r = pv_props_parse(s, false, &p, err);
        if (r < 0)
                return pv_error_wrap(err, "invalid map entry '%s'", s ? s : "");
        for (size_t i = 0; i < p.n && r == 0; i++) {
                const char *k = p.v[i].key, *v = p.v[i].value;
                if (strcmp(k, "node") == 0) {
                        if (!node_ok(v))
                                r = pv_error_set(err, PV_EINVAL, "node '%s' is not a valid node name", v);
                        else
                                e.node = pv_xstrdup(v);
                } else if (strcmp(k, "path") == 0) {
                        r = parse_addr_list("path", v, true, &e.paths, &e.n_paths, err);
                } else if (strcmp(k, "id") == 0) {
                        if (parse_idpair(v, &e.id) < 0)
                                r = pv_error_set(err, PV_EINVAL, "id '%s' is not vendor:device (4+4 hex digits)", v);
                        e.has_id = true;
                } else if (strcmp(k, "subsystem-id") == 0) {
                        if (parse_idpair(v, &e.subsystem_id) < 0)
                                r = pv_error_set(err, PV_EINVAL, "subsystem-id '%s' is not vendor:device (4+4 hex digits)", v);
                        e.has_subsystem_id = true;
                } else if (strcmp(k, "iommugroup") == 0) {
                        if (parse_int(v, &e.iommugroup) < 0)
                                r = pv_error_set(err, PV_EINVAL, "iommugroup '%s' is not an integer", v);
                        e.has_iommugroup = true;
                } else if (strcmp(k, "description") == 0) {
                        if (strlen(v) > 4096)
                                r = pv_error_set(err, PV_EINVAL, "description is longer than 4096 characters");
                        else
                                e.description = pv_xstrdup(v);
                } else {
                        r = pv_error_set(err, PV_EINVAL, "unknown key '%s'", k);
                }
        }
        pv_props_done(&p);
        if (r == 0 && !e.node)
                r = pv_error_set(err, PV_EINVAL, "missing 'node'");
        if (r == 0 && !e.paths)
                r = pv_error_set(err, PV_EINVAL, "missing 'path'");
        if (r == 0 && !e.has_id)
                r = pv_error_set(err, PV_EINVAL, "missing 'id'");
        if (r < 0) {
                pv_mapentry_done(&e);
                return pv_error_wrap(err, "invalid map entry '%s'", s);
        }
        *ret = e;
        return 0;
}

int pv_mapentry_format(const struct pv_map_entry *e, char **ret, struct pv_error *err) {
        _cleanup_buf_ struct pv_buf b = PV_BUF_INIT;
        char id[10];
        if (!e->node || !e->n_paths || !e->has_id)
                return pv_error_set(err, PV_EINVAL, "map entry needs a node, a path and an id");
        if (e->description && (strchr(e->description, ',') || strchr(e->description, '\n')))
                return pv_error_set(err, PV_EINVAL, "map entry description '%s' must not contain ',' or a newline",
                                    e->description);
        int r = pv_buf_addf(&b, err, "node=%s,path=", e->node);
        if (r == 0)
                r = add_addr_list(&b, e->paths, e->n_paths, err);
        pv_pci_id_format(&e->id, id);
        if (r == 0)
                r = add_kv(&b, "id", id, err);
        if (r == 0 && e->has_subsystem_id) {
                pv_pci_id_format(&e->subsystem_id, id);
                r = add_kv(&b, "subsystem-id", id, err);
        }
        if (r == 0 && e->has_iommugroup)
                r = pv_buf_addf(&b, err, ",iommugroup=%d", e->iommugroup);
        if (r == 0 && e->description && *e->description)
                r = add_kv(&b, "description", e->description, err);
        if (r < 0)
                return r;
        return pv_buf_detach(&b, ret, NULL, err);
}

bool pv_mapentry_equal(const struct pv_map_entry *a, const struct pv_map_entry *b) {
        const char *da = a->description ? a->description : "", *db = b->description ? b->description : "";
        return str_eq(a->node, b->node) && addr_list_equal(a->paths, a->n_paths, b->paths, b->n_paths) &&
               a->has_id == b->has_id && (!a->has_id || (a->id.vendor == b->id.vendor && a->id.device == b->id.device)) &&
               a->has_subsystem_id == b->has_subsystem_id &&
               (!a->has_subsystem_id || (a->subsystem_id.vendor == b->subsystem_id.vendor &&
                                         a->subsystem_id.device == b->subsystem_id.device)) &&
               a->has_iommugroup == b->has_iommugroup && (!a->has_iommugroup || a->iommugroup == b->iommugroup) &&
               strcmp(da, db) == 0;
}
