/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * USB devices from sysfs under a root (see pvfio/usb.h). Follows
 * PVE::SysFSTools::scan_usb / __scan_usb_device (pve-common): root hubs
 * `usb*` in sys/bus/usb/devices, then the subdirectories named
 * "<busnum>-<port>[.<port>…]" of each device, depth first; `port` is the last
 * port number minus one, `usbpath` the name after "<busnum>-".
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pvfio/xalloc.h"
#include "pvfio/cleanup.h"
#include "pvfio/usb.h"

#define MAX_USB_DEVICES 4096 /* a bound on what one host can list */
#define MAX_DEPTH 8          /* USB allows 7 tiers below the root hub */

/* First line of dfd/name (trailing blanks stripped), or NULL when unreadable. */
static char *first_line(int dfd, const char *name) {
        int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return NULL;
        char buf[512];
        ssize_t n = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (n < 0)
                return NULL;
        buf[n] = '\0';
        buf[strcspn(buf, "\n")] = '\0';
        size_t len = strlen(buf);
        while (len && (buf[len - 1] == ' ' || buf[len - 1] == '\t' || buf[len - 1] == '\r'))
                buf[--len] = '\0';
        return strdup(buf);
}

static bool is_child_name(const char *name, unsigned bus) {
        char prefix[16];
        int n = snprintf(prefix, sizeof prefix, "%u-", bus);
        if (strncmp(name, prefix, (size_t)n) != 0)
                return false;
        const char *p = name + n;
        bool digit = false;
        for (; *p; p++) {
                if (*p >= '0' && *p <= '9')
                        digit = true;
                else if (*p == '.' && digit)
                        digit = false;
                else
                        return false;
        }
        return digit;
}

static int cmp_names(const void *a, const void *b) {
        return strverscmp(*(char *const *)a, *(char *const *)b);
}

static int add_dev(struct pv_usb_list *l, struct pv_usb_dev *d, struct pv_error *err) {
        if (l->n >= MAX_USB_DEVICES)
                return pv_error_set(err, PV_ETOOBIG, "more than %d USB devices under sys/bus/usb", MAX_USB_DEVICES);
        l->v = pv_xreallocarray(l->v, l->n + 1, sizeof *l->v);
        l->v[l->n++] = *d;
        return 0;
}

static void dev_done(struct pv_usb_dev *d) {
        free(d->usbpath);
        free(d->name);
        free(d->speed);
        free(d->manufacturer);
        free(d->product_name);
}

static int scan_dev(struct pv_usb_list *l, int dfd, const char *name, unsigned level, const struct pv_usb_dev *root,
                    struct pv_error *err) {
        struct pv_usb_dev d = { .level = level };
        _cleanup_free_ char *bus = first_line(dfd, "busnum"), *dev = first_line(dfd, "devnum");
        _cleanup_free_ char *cls = first_line(dfd, "bDeviceClass"), *ven = first_line(dfd, "idVendor");
        _cleanup_free_ char *prod = first_line(dfd, "idProduct");
        if (!bus || !dev)
                return 0; /* not a USB device directory */
        d.busnum = (unsigned)strtoul(bus, NULL, 10);
        d.devnum = (unsigned)strtoul(dev, NULL, 10);
        d.class_code = cls ? (unsigned)strtoul(cls, NULL, 16) : 0;
        snprintf(d.vendor, sizeof d.vendor, "%s", ven ? ven : "");
        snprintf(d.product, sizeof d.product, "%s", prod ? prod : "");
        d.speed = first_line(dfd, "speed");
        d.manufacturer = first_line(dfd, "manufacturer");
        d.product_name = first_line(dfd, "product");
        if (d.manufacturer && !*d.manufacturer) {
                free(d.manufacturer);
                d.manufacturer = NULL;
        }
        if (d.product_name && !*d.product_name) {
                free(d.product_name);
                d.product_name = NULL;
        }
        d.name = pv_xstrdup(name);
        if (level) {
                const char *dash = strchr(name, '-');
                d.usbpath = pv_xstrdup(dash + 1);
                const char *last = strrchr(name, '.');
                last = last ? last + 1 : dash + 1;
                unsigned long p = strtoul(last, NULL, 10);
                d.port = p ? (unsigned)(p - 1) : 0;
        }
        if (root) {
                d.has_controller = root->has_controller;
                d.controller = root->controller;
        }
        int r = add_dev(l, &d, err);
        if (r < 0) {
                dev_done(&d);
                return r;
        }
        if (level >= MAX_DEPTH)
                return 0;
        const struct pv_usb_dev *self = root ? root : &l->v[l->n - 1];
        struct pv_usb_dev rootcopy = *self; /* l->v may move while recursing */
        int dup_fd = dup(dfd);
        if (dup_fd < 0)
                return pv_error_set_errno(err, errno, "cannot read USB device '%s'", name);
        DIR *dir = fdopendir(dup_fd);
        if (!dir) {
                close(dup_fd);
                return pv_error_set_errno(err, errno, "cannot read USB device '%s'", name);
        }
        char **kids = NULL;
        size_t n_kids = 0;
        struct dirent *e;
        unsigned busnum = l->v[l->n - 1].busnum;
        while (r == 0 && (e = readdir(dir))) {
                if (!is_child_name(e->d_name, busnum))
                        continue;
                kids = pv_xreallocarray(kids, n_kids + 1, sizeof *kids);
                kids[n_kids++] = pv_xstrdup(e->d_name);
        }
        closedir(dir);
        if (n_kids)
                qsort(kids, n_kids, sizeof *kids, cmp_names);
        for (size_t i = 0; r == 0 && i < n_kids; i++) {
                int cfd = openat(dfd, kids[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
                if (cfd < 0)
                        continue;
                r = scan_dev(l, cfd, kids[i], level + 1, &rootcopy, err);
                close(cfd);
        }
        for (size_t i = 0; i < n_kids; i++)
                free(kids[i]);
        free(kids);
        return r;
}

/* The PCI address in a root hub's link target ".../0000:00:14.0/usb1". */
static bool controller_of(int bdfd, const char *name, struct pv_pci_addr *ret) {
        char buf[4096];
        ssize_t n = readlinkat(bdfd, name, buf, sizeof buf - 1);
        if (n <= 0)
                return false;
        buf[n] = '\0';
        char *slash = strrchr(buf, '/');
        if (!slash)
                return false;
        *slash = '\0';
        const char *parent = strrchr(buf, '/');
        parent = parent ? parent + 1 : buf;
        return pv_pci_addr_parse(parent, ret, NULL) == 0 && ret->func != PV_PCI_FUNC_ALL;
}

int pv_host_usb_scan(const struct pv_host *h, struct pv_usb_list *ret, struct pv_error *err) {
        struct pv_usb_list l = { 0 };
        int bdfd = openat(h->dirfd, "sys/bus/usb/devices", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (bdfd < 0) {
                if (errno == ENOENT) {
                        *ret = l;
                        return 0;
                }
                return pv_error_set_errno(err, errno, "cannot read '%s/sys/bus/usb/devices'", h->root);
        }
        int dup_fd = dup(bdfd);
        DIR *dir = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
        if (!dir) {
                int e = errno;
                if (dup_fd >= 0)
                        close(dup_fd);
                close(bdfd);
                return pv_error_set_errno(err, e, "cannot read '%s/sys/bus/usb/devices'", h->root);
        }
        char **hubs = NULL;
        size_t n_hubs = 0;
        int r = 0;
        struct dirent *e;
        while ((e = readdir(dir))) {
                if (strncmp(e->d_name, "usb", 3) != 0)
                        continue;
                hubs = pv_xreallocarray(hubs, n_hubs + 1, sizeof *hubs);
                hubs[n_hubs++] = pv_xstrdup(e->d_name);
        }
        closedir(dir);
        if (n_hubs)
                qsort(hubs, n_hubs, sizeof *hubs, cmp_names);
        for (size_t i = 0; r == 0 && i < n_hubs; i++) {
                struct pv_usb_dev root = { 0 };
                root.has_controller = controller_of(bdfd, hubs[i], &root.controller);
                int dfd = openat(bdfd, hubs[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (dfd < 0)
                        continue;
                r = scan_dev(&l, dfd, hubs[i], 0, &root, err);
                close(dfd);
        }
        for (size_t i = 0; i < n_hubs; i++)
                free(hubs[i]);
        free(hubs);
        close(bdfd);
        if (r < 0) {
                pv_usb_list_done(&l);
                return r;
        }
        *ret = l;
        return 0;
}

void pv_usb_list_done(struct pv_usb_list *l) {
        if (!l)
                return;
        for (size_t i = 0; i < l->n; i++)
                dev_done(&l->v[i]);
        free(l->v);
        l->v = NULL;
        l->n = 0;
}
