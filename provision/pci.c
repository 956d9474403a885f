/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The libpci adapter: the only file that includes <pci/pci.h>.
 *
 * libpci's callbacks (error/warning/debug) take no user data, so the adapter
 * handling the current call is published in a thread-local pointer for the
 * duration of each libpci call only (set on entry, cleared on every exit).
 * The fatal-error callback longjmp()s back into that call, which then fails
 * with a pv_error; libpci never gets to exit().
 */
#include "pcilib.h"

#include <assert.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <pci/pci.h>

#include "pvfio/xalloc.h"
#include "pvfio/cleanup.h"
#include "pvfio/util.h"

/* pci_lookup_name() formats into a caller buffer; pci.ids lines are far shorter. */
#define PCILIB_NAME_MAX 1024

struct pv_pcilib {
        struct pci_access *a;
        const struct pv_log *log;
        char *sysfs;             /* <root>/sys/bus/pci */
        bool broken;             /* a fatal libpci error happened: only close is allowed */
        char *fatal;             /* message of that error */
        jmp_buf jb;
};

static _Thread_local struct pv_pcilib *pcilib_current;

static void pcilib_vlog(enum pv_log_level level, const char *fmt, va_list ap) {
        struct pv_pcilib *p = pcilib_current;
        if (!p || !p->log || !p->log->fn)
                return;
        char *msg = NULL;
        if (vasprintf(&msg, fmt, ap) < 0)
                return;
        pv_strip_trailing(msg);
        pv_logf(p->log, level, "libpci: %s", msg);
        free(msg);
}

static void pcilib_warning(char *fmt, ...) PCI_PRINTF(1, 2);
static void pcilib_warning(char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        pcilib_vlog(PV_LOG_INFO, fmt, ap);   /* e.g. short config reads: shown with -v, never fatal */
        va_end(ap);
}

static void pcilib_debug(char *fmt, ...) PCI_PRINTF(1, 2);
static void pcilib_debug(char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        pcilib_vlog(PV_LOG_DEBUG, fmt, ap);
        va_end(ap);
}

static void pcilib_error(char *fmt, ...) PCI_PRINTF(1, 2) __attribute__((noreturn));
static void pcilib_error(char *fmt, ...) {
        struct pv_pcilib *p = pcilib_current;
        va_list ap;
        assert(p);   /* every libpci call runs inside a guard that set pcilib_current */
        va_start(ap, fmt);
        free(p->fatal);
        p->fatal = NULL;
        if (vasprintf(&p->fatal, fmt, ap) < 0)
                p->fatal = NULL;
        else
                pv_strip_trailing(p->fatal);
        va_end(ap);
        longjmp(p->jb, 1);
}

static int pcilib_failed(struct pv_pcilib *p, const char *what, struct pv_error *err) {
        pcilib_current = NULL;
        p->broken = true;
        return pv_error_set(err, PV_EINVAL, "libpci failed while %s: %s", what, p->fatal ? p->fatal : "fatal error");
}

static int pcilib_usable(const struct pv_pcilib *p, struct pv_error *err) {
        if (p->broken)
                return pv_error_set(err, PV_EINVAL, "libpci is unusable after an earlier error: %s",
                                    p->fatal ? p->fatal : "fatal error");
        return 0;
}

int pv_pcilib_open(const char *sysfs_bus_pci, const char *ids_path, const struct pv_log *log,
                   struct pv_pcilib **ret, struct pv_error *err) {
        struct pv_pcilib *p = pv_xcalloc(1, sizeof(*p));
        p->log = log;
        p->sysfs = pv_xstrdup(sysfs_bus_pci);
        p->a = pci_alloc();
        if (!p->a) {    /* libpci could not set up its access structure */
                pv_pcilib_close(p);
                return pv_error_set(err, PV_ENOMEM, "out of memory");
        }
        p->a->error = pcilib_error;
        p->a->warning = pcilib_warning;
        p->a->debug = pcilib_debug;
        p->a->method = PCI_ACCESS_SYS_BUS_PCI;   /* never auto-detect (it would fall back to port I/O) */
        p->a->debugging = log && log->max >= PV_LOG_DEBUG;
        p->a->id_lookup_mode = 0;   /* no ~/.pciids-cache (and so no passwd lookup), no network, no hwdb */

        pcilib_current = p;
        if (setjmp(p->jb)) {
                int r = pcilib_failed(p, "initialising", err);
                pv_pcilib_close(p);
                return r;
        }
        if (pci_set_param(p->a, "sysfs.path", p->sysfs) < 0 || pci_set_param(p->a, "hwdb.disable", "1") < 0) {
                pcilib_current = NULL;
                pv_pcilib_close(p);
                return pv_error_set(err, PV_EUNSUPPORTED, "this libpci lacks the 'sysfs.path' or 'hwdb.disable' "
                                                          "parameter");
        }
        if (ids_path) {
                char *copy = pv_xstrdup(ids_path);
                pci_set_name_list_path(p->a, copy, 1);
        }
        pci_init(p->a);
        pcilib_current = NULL;
        *ret = p;
        return 0;
}

void pv_pcilib_close(struct pv_pcilib *p) {
        if (!p)
                return;
        if (p->a) {
                struct pv_pcilib *saved = pcilib_current;
                pcilib_current = p;
                if (setjmp(p->jb) == 0)
                        pci_cleanup(p->a);
                pcilib_current = saved;
        }
        free(p->sysfs);
        free(p->fatal);
        free(p);
}

void pv_pci_names_done(struct pv_pci_names *n) {
        if (!n)
                return;
        free(n->vendor);
        free(n->device);
        free(n->subsystem);
        free(n->class_name);
        memset(n, 0, sizeof(*n));
}

static const int NO_NUM = PCI_LOOKUP_NO_NUMBERS | PCI_LOOKUP_NO_HWDB;

int pv_pcilib_names(struct pv_pcilib *p, uint16_t vendor, uint16_t device, bool has_subsystem, uint16_t sub_vendor,
                    uint16_t sub_device, uint32_t class_code, struct pv_pci_names *ret, struct pv_error *err) {
        int r = pcilib_usable(p, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *bv = pv_xmalloc(PCILIB_NAME_MAX), *bd = pv_xmalloc(PCILIB_NAME_MAX),
                            *bsv = pv_xmalloc(PCILIB_NAME_MAX), *bsd = pv_xmalloc(PCILIB_NAME_MAX),
                            *bc = pv_xmalloc(PCILIB_NAME_MAX);
        /* volatile: assigned between setjmp and a possible longjmp */
        char *volatile v = NULL, *volatile d = NULL, *volatile sv = NULL, *volatile sd = NULL, *volatile c = NULL;

        pcilib_current = p;
        if (setjmp(p->jb))
                return pcilib_failed(p, "looking up names in pci.ids", err);
        v = pci_lookup_name(p->a, bv, PCILIB_NAME_MAX, NO_NUM | PCI_LOOKUP_VENDOR, vendor);
        d = pci_lookup_name(p->a, bd, PCILIB_NAME_MAX, NO_NUM | PCI_LOOKUP_DEVICE, vendor, device);
        if (has_subsystem) {
                sv = pci_lookup_name(p->a, bsv, PCILIB_NAME_MAX, NO_NUM | PCI_LOOKUP_SUBSYSTEM | PCI_LOOKUP_VENDOR,
                                     sub_vendor);
                sd = pci_lookup_name(p->a, bsd, PCILIB_NAME_MAX, NO_NUM | PCI_LOOKUP_SUBSYSTEM | PCI_LOOKUP_DEVICE,
                                     vendor, device, sub_vendor, sub_device);
        }
        c = pci_lookup_name(p->a, bc, PCILIB_NAME_MAX, NO_NUM | PCI_LOOKUP_CLASS, (int)(class_code >> 8));
        pcilib_current = NULL;

        struct pv_pci_names n = { .vendor = pv_xstrdup(v), .device = pv_xstrdup(d), .class_name = pv_xstrdup(c) };
        if (n.class_name) {
                /* a class without this subclass comes back as "Class name [1300]": drop the number */
                char num[16];
                snprintf(num, sizeof(num), " [%04x]", (class_code >> 8) & 0xffff);
                size_t ln = strlen(n.class_name), lk = strlen(num);
                if (ln > lk && strcmp(n.class_name + ln - lk, num) == 0)
                        n.class_name[ln - lk] = '\0';
        }
        if (sv && sd)
                n.subsystem = pv_xasprintf("%s %s", sv, sd);
        else if (sv)
                n.subsystem = pv_xasprintf("%s Device %04x", sv, sub_device);
        else if (sd)
                n.subsystem = pv_xasprintf("Vendor %04x %s", sub_vendor, sd);
        *ret = n;
        return 0;
}

/* True when bytes past the 64-byte header can be read (the kernel gives only 64 to unprivileged users). */
static bool config_readable(const char *path) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return false;
        unsigned char b;
        bool ok = pread(fd, &b, 1, 0xff) == 1;
        close(fd);
        return ok;
}

int pv_pcilib_caps(struct pv_pcilib *p, const struct pv_pci_addr *addr, struct pv_pci_caps *ret,
                   struct pv_error *err) {
        int r = pcilib_usable(p, err);
        if (r < 0)
                return r;
        struct pv_pci_caps caps = { .pcie_type = -1 };
        char name[PV_PCI_ADDR_MAX];
        pv_pci_addr_format(addr, name);
        _cleanup_free_ char *cfg = pv_xasprintf("%s/devices/%s/config", p->sysfs, name);
        struct stat st;
        if (stat(cfg, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size < 256 || !config_readable(cfg)) {
                /* no capability area readable (unprivileged reads of a real sysfs config stop at 64 bytes) */
                *ret = caps;
                return 0;
        }
        bool want_ext = st.st_size >= 4096;

        struct pci_dev *volatile d = NULL;
        pcilib_current = p;
        if (setjmp(p->jb)) {
                /* the device is freed with the access by pci_cleanup() */
                return pcilib_failed(p, "reading the config space", err);
        }
        d = pci_get_dev(p->a, (int)addr->domain, addr->bus, addr->dev, addr->func);
        if (d) {
                pci_fill_info(d, PCI_FILL_IDENT | PCI_FILL_CLASS | PCI_FILL_CAPS | (want_ext ? PCI_FILL_EXT_CAPS : 0));
                caps.known = true;
                struct pci_cap *e = pci_find_cap(d, PCI_CAP_ID_EXP, PCI_CAP_NORMAL);
                if (e) {
                        caps.pcie = true;
                        caps.pcie_type = (pci_read_word(d, e->addr + PCI_EXP_FLAGS) & PCI_EXP_FLAGS_TYPE) >> 4;
                        if (pci_read_long(d, e->addr + PCI_EXP_DEVCAP) & PCI_EXP_DEVCAP_FLRESET)
                                caps.flr = true;
                }
                struct pci_cap *af = pci_find_cap(d, PCI_CAP_ID_AF, PCI_CAP_NORMAL);
                if (af && (pci_read_byte(d, af->addr + PCI_AF_CAP) & PCI_AF_CAP_FLR))
                        caps.flr = true;
                struct pci_cap *pm = pci_find_cap(d, PCI_CAP_ID_PM, PCI_CAP_NORMAL);
                if (pm && (pci_read_word(d, pm->addr + PCI_PM_CTRL) & PCI_PM_CTRL_NO_SOFT_RST))
                        caps.pm_no_soft_reset = true;
                if (want_ext) {
                        struct pci_cap *acs = pci_find_cap(d, PCI_EXT_CAP_ID_ACS, PCI_CAP_EXTENDED);
                        if (acs) {
                                caps.acs = true;
                                caps.acs_ctrl = pci_read_word(d, acs->addr + PCI_ACS_CTRL);
                        }
                }
                pci_free_dev(d);
        }
        pcilib_current = NULL;
        *ret = caps;
        return 0;
}

static int addr_cmp(const void *a, const void *b) {
        return pv_pci_addr_cmp(a, b);
}

int pv_pcilib_scan(struct pv_pcilib *p, struct pv_pci_addr **ret, size_t *ret_n, struct pv_error *err) {
        int r = pcilib_usable(p, err);
        if (r < 0)
                return r;
        pcilib_current = p;
        if (setjmp(p->jb))
                return pcilib_failed(p, "scanning the PCI bus", err);
        pci_scan_bus(p->a);
        pcilib_current = NULL;

        size_t n = 0;
        for (struct pci_dev *d = p->a->devices; d; d = d->next)
                n++;
        struct pv_pci_addr *v = pv_xcalloc(n ? n : 1, sizeof(*v));
        size_t i = 0;
        for (struct pci_dev *d = p->a->devices; d; d = d->next, i++)
                v[i] = (struct pv_pci_addr){ .domain = (uint32_t)d->domain, .bus = d->bus, .dev = d->dev,
                                             .func = d->func, .domain_given = true };
        qsort(v, n, sizeof(*v), addr_cmp);
        *ret = v;
        *ret_n = n;
        return 0;
}
