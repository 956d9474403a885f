/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "pvfio/pci.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Parse exactly `min..max` hex digits from *p; advances *p. */
static int hex_field(const char **p, unsigned min, unsigned max, uint32_t *ret) {
        uint32_t v = 0;
        unsigned n = 0;
        while (isxdigit((unsigned char)**p) && n < max) {
                char c = (char)tolower((unsigned char)**p);
                v = v * 16 + (uint32_t)(c <= '9' ? c - '0' : c - 'a' + 10);
                (*p)++;
                n++;
        }
        if (n < min || isxdigit((unsigned char)**p))
                return -1;
        *ret = v;
        return 0;
}

int pv_pci_addr_parse(const char *s, struct pv_pci_addr *ret, struct pv_error *err) {
        struct pv_pci_addr a = { 0 };
        const char *p = s;
        uint32_t f1, f2, f3, fn;
        if (!s || !*s)
                return pv_error_set(err, PV_EINVAL, "empty PCI address");
        /* count colons to know whether a domain is present */
        unsigned colons = 0;
        for (const char *q = s; *q; q++)
                colons += *q == ':';
        if (colons == 2) {
                if (hex_field(&p, 4, 8, &f1) < 0 || *p++ != ':')
                        goto bad;
                if (f1 > 0xffff)
                        goto bad;
                a.domain = f1;
                a.domain_given = true;
        } else if (colons != 1) {
                goto bad;
        }
        if (hex_field(&p, 2, 2, &f2) < 0 || *p++ != ':')
                goto bad;
        if (hex_field(&p, 2, 2, &f3) < 0 || f3 > 0x1f)
                goto bad;
        a.bus = (uint8_t)f2;
        a.dev = (uint8_t)f3;
        if (*p == '.') {
                p++;
                if (hex_field(&p, 1, 1, &fn) < 0 || fn > 7)
                        goto bad;
                a.func = (uint8_t)fn;
        } else {
                a.func = PV_PCI_FUNC_ALL;
        }
        if (*p != '\0')
                goto bad;
        *ret = a;
        return 0;
bad:
        return pv_error_set(err, PV_EINVAL,
                            "invalid PCI address '%s' (expected [DDDD:]BB:DD[.F], e.g. 0000:01:00.0)", s);
}

void pv_pci_addr_format(const struct pv_pci_addr *a, char out[static PV_PCI_ADDR_MAX]) {
        if (a->func == PV_PCI_FUNC_ALL)
                snprintf(out, PV_PCI_ADDR_MAX, "%04x:%02x:%02x", (unsigned)a->domain, a->bus, a->dev);
        else
                snprintf(out, PV_PCI_ADDR_MAX, "%04x:%02x:%02x.%x", (unsigned)a->domain, a->bus, a->dev,
                         a->func);
}

void pv_pci_addr_format_short(const struct pv_pci_addr *a, char out[static PV_PCI_ADDR_MAX]) {
        if (a->domain_given || a->domain != 0) {
                pv_pci_addr_format(a, out);
                return;
        }
        if (a->func == PV_PCI_FUNC_ALL)
                snprintf(out, PV_PCI_ADDR_MAX, "%02x:%02x", a->bus, a->dev);
        else
                snprintf(out, PV_PCI_ADDR_MAX, "%02x:%02x.%x", a->bus, a->dev, a->func);
}

bool pv_pci_addr_equal(const struct pv_pci_addr *a, const struct pv_pci_addr *b) {
        return pv_pci_addr_same_slot(a, b) && a->func == b->func;
}

bool pv_pci_addr_same_slot(const struct pv_pci_addr *a, const struct pv_pci_addr *b) {
        return a->domain == b->domain && a->bus == b->bus && a->dev == b->dev;
}

bool pv_pci_addr_covers(const struct pv_pci_addr *sel, const struct pv_pci_addr *dev) {
        return pv_pci_addr_same_slot(sel, dev) && (sel->func == PV_PCI_FUNC_ALL || sel->func == dev->func);
}

bool pv_pci_addr_overlap(const struct pv_pci_addr *a, const struct pv_pci_addr *b) {
        return pv_pci_addr_covers(a, b) || pv_pci_addr_covers(b, a);
}

const struct pv_pci_addr *pv_pci_addrs_overlap(const struct pv_pci_addr *a, size_t na, const struct pv_pci_addr *b,
                                               size_t nb) {
        for (size_t i = 0; i < na; i++)
                for (size_t k = 0; k < nb; k++)
                        if (pv_pci_addr_overlap(&a[i], &b[k]))
                                return &a[i];
        return NULL;
}

int pv_pci_addr_cmp(const struct pv_pci_addr *a, const struct pv_pci_addr *b) {
        if (a->domain != b->domain)
                return a->domain < b->domain ? -1 : 1;
        if (a->bus != b->bus)
                return a->bus < b->bus ? -1 : 1;
        if (a->dev != b->dev)
                return a->dev < b->dev ? -1 : 1;
        if (a->func != b->func)
                return a->func < b->func ? -1 : 1;
        return 0;
}

int pv_pci_id_parse(const char *s, struct pv_pci_id *ret, struct pv_error *err) {
        const char *p = s;
        uint32_t v, d;
        if (!s || hex_field(&p, 4, 4, &v) < 0 || *p++ != ':' || hex_field(&p, 4, 4, &d) < 0 || *p)
                return pv_error_set(err, PV_EINVAL,
                                    "invalid PCI ID '%s' (expected vendor:device, e.g. 10de:25a0)", s ? s : "");
        ret->vendor = (uint16_t)v;
        ret->device = (uint16_t)d;
        return 0;
}

void pv_pci_id_format(const struct pv_pci_id *id, char out[static 10]) {
        snprintf(out, 10, "%04x:%04x", id->vendor, id->device);
}

void pv_mdev_type_done(struct pv_mdev_type *t) {
        if (!t)
                return;
        free(t->type);
        free(t->name);
        free(t->description);
        free(t->device_api);
        memset(t, 0, sizeof *t);
}
