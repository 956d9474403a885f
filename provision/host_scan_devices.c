/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Host inspection: the PCI devices under sys/bus/pci/devices (ids, driver,
 * resources, SR-IOV, mdev and vGPU types, DRM connectors), read in parallel, and
 * the IOMMU groups they form; names from libpci. See host_scan.c.
 */
#include "pvfio/xalloc.h"
#include "pvfio/host.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pcilib.h"
#include "pvfio/buf.h"
#include "pvfio/cleanup.h"
#include "pvfio/hostfs.h"
#include "pvfio/util.h"
#include "host_scan_int.h"

/* ---------------------------------------------------------------- devices */

static int dev_error(struct scan_ctx *c, const struct pv_host_dev *d, const char *file, int errno_value,
                     const char *what, struct pv_error *err) {
        _cleanup_free_ char *rel = pv_asprintf(NULL, "sys/bus/pci/devices/%s/%s", d->name, file);
        return pvs_path_error(c->h, errno_value, rel ? rel : file, what, err);
}

static int dev_bad_value(struct scan_ctx *c, const struct pv_host_dev *d, const char *file, const char *value,
                         struct pv_error *err) {
        _cleanup_free_ char *rel = pv_asprintf(NULL, "sys/bus/pci/devices/%s/%s", d->name, file);
        _cleanup_free_ char *abs = rel ? pv_host_path(c->h, rel, NULL) : NULL;
        return pv_error_set(err, PV_EINVAL, "unexpected value '%s' in '%s'", value, abs ? abs : file);
}

/* Mandatory hex attribute. */
static int dev_hex(struct scan_ctx *c, int dfd, struct pv_host_dev *d, const char *file, unsigned long long max,
                   bool mandatory, unsigned long long *ret, bool *ret_found, struct pv_error *err) {
        char buf[ATTR_MAX];
        ssize_t n = pvs_read_attr(dfd, file, buf);
        if (n < 0) {
                if (!mandatory && n == -ENOENT) {
                        if (ret_found)
                                *ret_found = false;
                        return 0;
                }
                return dev_error(c, d, file, (int)-n, "read", err);
        }
        const char *p = buf;
        if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
                p += 2;
        if (!pvs_parse_ulong(p, 16, max, ret))
                return dev_bad_value(c, d, file, buf, err);
        if (ret_found)
                *ret_found = true;
        return 0;
}

static int read_link_base(int dfd, const char *name, char **ret) {
        _cleanup_free_ char *l = NULL;
        int r = pvs_readlink_new(dfd, name, &l);
        if (r < 0)
                return r;
        char *b = strdup(pvs_basename_of(l));
        if (!b)
                return -ENOMEM;
        *ret = b;
        return 0;
}

static int cmp_mdev(const void *a, const void *b) {
        return strcmp(((const struct pv_mdev_type *)a)->type, ((const struct pv_mdev_type *)b)->type);
}

static int read_mdev_types(struct scan_ctx *c, int dfd, struct pv_host_dev *d, struct pv_error *err) {
        int tfd = pvs_open_dir_at(dfd, "mdev_supported_types");
        if (tfd < 0)
                return errno == ENOENT || errno == ENOTDIR ? 0 : dev_error(c, d, "mdev_supported_types", errno, "open", err);
        DIR *dir = fdopendir(tfd);
        if (!dir) {
                close(tfd);
                return dev_error(c, d, "mdev_supported_types", errno, "open", err);
        }
        int r = 0;
        size_t alloc = 0;
        struct dirent *de;
        while ((de = readdir(dir))) {
                if (de->d_name[0] == '.')
                        continue;
                int xfd = pvs_open_dir_at(dirfd(dir), de->d_name);
                if (xfd < 0)
                        continue;   /* not a type directory */
                if (d->n_mdev_types == alloc) {
                        alloc = alloc ? alloc * 2 : 4;
                        d->mdev_types = pv_xreallocarray(d->mdev_types, alloc, sizeof(*d->mdev_types));
                }
                struct pv_mdev_type *t = &d->mdev_types[d->n_mdev_types++];
                memset(t, 0, sizeof(*t));
                t->available = -1;
                char buf[ATTR_MAX];
                t->type = pv_xstrdup(de->d_name);
                if (pvs_read_attr(xfd, "name", buf) >= 0)
                        t->name = pv_xstrdup(buf);
                if (pvs_read_attr(xfd, "description", buf) >= 0)
                        t->description = pv_xstrdup(buf);
                if (pvs_read_attr(xfd, "device_api", buf) >= 0)
                        t->device_api = pv_xstrdup(buf);
                unsigned long long v;
                if (pvs_read_attr(xfd, "available_instances", buf) >= 0 && pvs_parse_ulong(buf, 10, INT_MAX, &v))
                        t->available = (int)v;
                close(xfd);
        }
        closedir(dir);
        if (r == 0 && d->n_mdev_types > 1)
                qsort(d->mdev_types, d->n_mdev_types, sizeof(*d->mdev_types), cmp_mdev);
        return r;
}

/* nvidia/creatable_vgpu_types: a header line "ID    : vGPU Name", then "660   : NVIDIA L4-4Q". */
static int read_vgpu_types(struct scan_ctx *c, int dfd, struct pv_host_dev *d, struct pv_error *err) {
        if (!pvs_is_dir_at(dfd, "nvidia"))
                return 0;
        d->has_nvidia_dir = true;
        _cleanup_free_ char *txt = NULL;
        int r = pvs_read_whole(dfd, "nvidia/creatable_vgpu_types", 1u << 20, &txt, NULL);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return dev_error(c, d, "nvidia/creatable_vgpu_types", -r, "read", err);
        size_t alloc = 0;
        for (char *line = txt, *next; line && *line; line = next) {
                next = strchr(line, '\n');
                if (next)
                        *next++ = '\0';
                char *colon = strchr(line, ':');
                if (!colon)
                        continue;
                *colon = '\0';
                pv_strip_trailing(line);
                while (isspace((unsigned char)*line))
                        line++;
                unsigned long long id;
                if (!pvs_parse_ulong(line, 10, UINT_MAX, &id))
                        continue;   /* the header line */
                char *name = colon + 1;
                while (isspace((unsigned char)*name))
                        name++;
                pv_strip_trailing(name);
                if (d->n_vgpu_types == alloc) {
                        size_t na = alloc ? alloc * 2 : 8;
                        d->vgpu_types = pv_xreallocarray(d->vgpu_types, na, sizeof(*d->vgpu_types));
                        alloc = na;
                }
                char *nm = pv_xstrdup(name);
                d->vgpu_types[d->n_vgpu_types++] = (struct pv_vgpu_type){ .id = (unsigned)id, .name = nm };
        }
        return 0;
}

static int read_resources(struct scan_ctx *c, int dfd, struct pv_host_dev *d, struct pv_error *err) {
        _cleanup_free_ char *txt = NULL;
        int r = pvs_read_whole(dfd, "resource", 1u << 16, &txt, NULL);
        d->bars_read = true;
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return dev_error(c, d, "resource", -r, "read", err);
        unsigned idx = 0;
        size_t alloc = 0;
        for (char *line = txt, *next; line && *line; line = next, idx++) {
                next = strchr(line, '\n');
                if (next)
                        *next++ = '\0';
                unsigned long long s, e, f;
                if (sscanf(line, "%llx %llx %llx", &s, &e, &f) != 3)
                        return dev_bad_value(c, d, "resource", line, err);
                if (s == 0 && e == 0)
                        continue;
                if (d->n_bars == alloc) {
                        size_t na = alloc ? alloc * 2 : 8;
                        d->bars = pv_xreallocarray(d->bars, na, sizeof(*d->bars));
                        alloc = na;
                }
                d->bars[d->n_bars++] = (struct pv_bar){ .index = idx, .start = s, .end = e, .flags = f };
        }
        return 0;
}

static int read_sriov(struct scan_ctx *c, int dfd, struct pv_host_dev *d, struct pv_error *err) {
        char buf[ATTR_MAX];
        ssize_t n = pvs_read_attr(dfd, "sriov_totalvfs", buf);
        unsigned long long v;
        if (n >= 0) {
                if (!pvs_parse_ulong(buf, 10, 65535, &v))
                        return dev_bad_value(c, d, "sriov_totalvfs", buf, err);
                d->is_pf = true;
                d->sriov_totalvfs = (unsigned)v;
                n = pvs_read_attr(dfd, "sriov_numvfs", buf);
                if (n >= 0) {
                        if (!pvs_parse_ulong(buf, 10, 65535, &v))
                                return dev_bad_value(c, d, "sriov_numvfs", buf, err);
                        d->sriov_numvfs = (unsigned)v;
                }
                unsigned max = d->sriov_totalvfs > d->sriov_numvfs ? d->sriov_totalvfs : d->sriov_numvfs;
                if (max)
                        d->vfs = pv_xcalloc(max, sizeof(*d->vfs));
                for (unsigned i = 0; i < max; i++) {
                        char name[32];
                        snprintf(name, sizeof(name), "virtfn%u", i);
                        _cleanup_free_ char *t = NULL;
                        int r = read_link_base(dfd, name, &t);
                        if (r == -ENOENT)
                                break;
                        if (r < 0)
                                return dev_error(c, d, name, -r, "read link", err);
                        if (!pvs_parse_bdf_strict(t, &d->vfs[d->n_vfs]))
                                return dev_bad_value(c, d, name, t, err);
                        d->n_vfs++;
                }
        } else if (n != -ENOENT) {
                return dev_error(c, d, "sriov_totalvfs", (int)-n, "read", err);
        }
        /* VFs are marked from their PF's virtfnN links once every device is read (link_vfs) */
        return 0;
}

/* Mark every VF listed by a PF's virtfnN links (the kernel's physfn link says the same). */
static void link_vfs(struct pv_host_state *s) {
        for (size_t i = 0; i < s->n_devs; i++) {
                const struct pv_host_dev *pf = &s->devs[i];
                for (size_t k = 0; k < pf->n_vfs; k++) {
                        long vi = pv_host_dev_index(s, &pf->vfs[k]);
                        if (vi >= 0) {
                                s->devs[vi].is_vf = true;
                                s->devs[vi].physfn = pf->addr;
                        }
                }
        }
}

/*
 * The device's uevent carries vendor:device, class and subsystem in one read
 * (PCI_ID=10DE:25A0, PCI_CLASS=30000, PCI_SUBSYS_ID=1028:0A61), the same
 * values as the vendor/device/class/subsystem_* files. Returns 1 when used,
 * 0 when there is no uevent file, <0 when it is malformed.
 */
static int read_uevent(struct scan_ctx *c, int fd, struct pv_host_dev *d, struct pv_error *err) {
        char buf[ATTR_MAX];
        ssize_t n = pvs_read_attr(fd, "uevent", buf);
        if (n == -ENOENT)
                return 0;
        if (n < 0)
                return dev_error(c, d, "uevent", (int)-n, "read", err);
        bool id = false, cls = false;
        char *save = NULL;
        for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                unsigned a, b;
                int end = -1;
                if (pv_startswith(line, "PCI_ID=")) {
                        if (sscanf(line + 7, "%4x:%4x%n", &a, &b, &end) != 2 || line[7 + end] != '\0')
                                return dev_bad_value(c, d, "uevent", line, err);
                        d->vendor = (uint16_t)a;
                        d->device = (uint16_t)b;
                        id = true;
                } else if (pv_startswith(line, "PCI_CLASS=")) {
                        unsigned long long v;
                        if (!pvs_parse_ulong(line + 10, 16, 0xffffff, &v))
                                return dev_bad_value(c, d, "uevent", line, err);
                        d->class_code = (uint32_t)v;
                        cls = true;
                } else if (pv_startswith(line, "PCI_SUBSYS_ID=")) {
                        if (sscanf(line + 14, "%4x:%4x%n", &a, &b, &end) != 2 || line[14 + end] != '\0')
                                return dev_bad_value(c, d, "uevent", line, err);
                        d->subsystem_vendor = (uint16_t)a;
                        d->subsystem_device = (uint16_t)b;
                        d->has_subsystem = a || b;
                }
        }
        if (!id || !cls) {
                _cleanup_free_ char *rel = pv_asprintf(NULL, "sys/bus/pci/devices/%s/uevent", d->name);
                _cleanup_free_ char *abs = rel ? pv_host_path(c->h, rel, NULL) : NULL;
                return pv_error_set(err, PV_EINVAL, "'%s' lacks %s", abs ? abs : "uevent", id ? "PCI_CLASS" : "PCI_ID");
        }
        return 1;
}

static const struct {
        const char *name;
        unsigned bit;
} unknown_names[] = {
        { "driver", PV_HOST_UNKNOWN_DRIVER },       { "iommu_group", PV_HOST_UNKNOWN_GROUP },
        { "subsystem", PV_HOST_UNKNOWN_SUBSYSTEM }, { "parent", PV_HOST_UNKNOWN_PARENT },
        { "reset_method", PV_HOST_UNKNOWN_RESET },  { "boot_vga", PV_HOST_UNKNOWN_BOOT_VGA },
        { "prog_if", PV_HOST_UNKNOWN_PROG_IF },
};

/* `pvfio_unknown` of a root built from an imported description: the facts its listing did not show
 * (see enum pv_host_unknown). Unknown names are errors, so a typo cannot hide a fact. */
static int read_unknown(struct scan_ctx *c, int fd, struct pv_host_dev *d, struct pv_error *err) {
        char buf[ATTR_MAX];
        ssize_t n = pvs_read_attr(fd, "pvfio_unknown", buf);
        if (n == -ENOENT)
                return 0;
        if (n < 0)
                return dev_error(c, d, "pvfio_unknown", (int)-n, "read", err);
        char *save = NULL;
        for (char *w = strtok_r(buf, " \t\n", &save); w; w = strtok_r(NULL, " \t\n", &save)) {
                size_t i = 0;
                while (i < sizeof(unknown_names) / sizeof(unknown_names[0]) && strcmp(unknown_names[i].name, w) != 0)
                        i++;
                if (i == sizeof(unknown_names) / sizeof(unknown_names[0]))
                        return dev_bad_value(c, d, "pvfio_unknown", w, err);
                d->unknown |= unknown_names[i].bit;
        }
        return 0;
}

char *pv_host_dev_unknown_list(const struct pv_host_dev *d, const char *sep, struct pv_error *err) {
        _cleanup_buf_ struct pv_buf b = PV_BUF_INIT;
        for (size_t i = 0; i < sizeof(unknown_names) / sizeof(unknown_names[0]); i++)
                if ((d->unknown & unknown_names[i].bit) &&
                    pv_buf_addf(&b, err, "%s%s", b.len ? sep : "", unknown_names[i].name) < 0)
                        return NULL;
        char *s = NULL;
        if (pv_buf_detach(&b, &s, NULL, err) < 0)
                return NULL;
        return s;
}

/* Connectors of the DRM card(s) of a display device: entries "cardN-<connector>" in drm/cardN/; -1 without
 * a drm/ directory. */
static int count_drm_connectors(int fd) {
        int dfd = openat(fd, "drm", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return -1;
        DIR *dir = fdopendir(dfd);
        if (!dir) {
                close(dfd);
                return -1;
        }
        int n = 0;
        for (struct dirent *e; (e = readdir(dir));) {
                if (strncmp(e->d_name, "card", 4) != 0 || strchr(e->d_name, '-'))
                        continue;
                int cfd = openat(dirfd(dir), e->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                DIR *card = cfd < 0 ? NULL : fdopendir(cfd);
                if (!card) {
                        if (cfd >= 0)
                                close(cfd);
                        continue;
                }
                size_t len = strlen(e->d_name);
                for (struct dirent *k; (k = readdir(card));)
                        n += strncmp(k->d_name, e->d_name, len) == 0 && k->d_name[len] == '-';
                closedir(card);
        }
        closedir(dir);
        return n;
}

/* Read one device; d->addr and d->name are set, `entry` is its name in sys/bus/pci/devices. */
static int scan_device(struct scan_ctx *c, const char *entry, struct pv_host_dev *d, struct pv_error *err) {
        d->iommu_group = -1;
        d->boot_vga = -1;
        d->drm_connectors = -1;
        d->numa_node = -1;
        d->caps.pcie_type = -1;

        /* the nested layout: bus/pci/devices/<bdf> -> ../../../devices/pci0000:00/0000:00:01.0/<bdf> */
        _cleanup_free_ char *link = NULL;
        if (pvs_readlink_new(c->devdir, entry, &link) == 0) {
                char *last = strrchr(link, '/');
                if (last) {
                        *last = '\0';
                        if (pvs_parse_bdf_strict(pvs_basename_of(link), &d->parent))
                                d->has_parent = true;
                        *last = '/';
                }
        }
        /* from the root: the entry is a link like ../../../devices/…, resolved inside the root */
        _cleanup_free_ char *entry_rel = pv_xasprintf("sys/bus/pci/devices/%s", entry);
        int dfd = pv_fs_open(c->h->dirfd, entry_rel, O_PATH | O_DIRECTORY, 0);
        if (dfd < 0) {
                int e = -dfd;
                _cleanup_free_ char *rel = pv_asprintf(NULL, "sys/bus/pci/devices/%s", entry);
                _cleanup_free_ char *abs = rel ? pv_host_path(c->h, rel, NULL) : NULL;
                if (e == ENOENT)
                        return pv_error_set(err, PV_EINVAL, "dangling device link '%s' (target '%s' is missing)",
                                            abs ? abs : entry, link ? link : "?");
                return pv_error_set_errno(err, e, "cannot open '%s'", abs ? abs : entry);
        }
        _cleanup_close_ int fd = dfd;
        unsigned long long v;
        bool found;
        int r;
        if ((r = read_unknown(c, fd, d, err)) < 0)
                return r;
        if ((r = read_uevent(c, fd, d, err)) < 0)
                return r;
        if (r == 0) {
                /* no uevent: the individual attribute files (vendor, device, class are mandatory) */
                if ((r = dev_hex(c, fd, d, "vendor", 0xffff, true, &v, NULL, err)) < 0)
                        return r;
                d->vendor = (uint16_t)v;
                if ((r = dev_hex(c, fd, d, "device", 0xffff, true, &v, NULL, err)) < 0)
                        return r;
                d->device = (uint16_t)v;
                if ((r = dev_hex(c, fd, d, "class", 0xffffff, true, &v, NULL, err)) < 0)
                        return r;
                d->class_code = (uint32_t)v;
                if ((r = dev_hex(c, fd, d, "subsystem_vendor", 0xffff, false, &v, &found, err)) < 0)
                        return r;
                if (found) {
                        d->subsystem_vendor = (uint16_t)v;
                        if ((r = dev_hex(c, fd, d, "subsystem_device", 0xffff, false, &v, &found, err)) < 0)
                                return r;
                        d->subsystem_device = (uint16_t)v;
                        d->has_subsystem = found && (d->subsystem_vendor || d->subsystem_device);
                }
        }
        if ((r = dev_hex(c, fd, d, "revision", 0xff, false, &v, &found, err)) < 0)
                return r;
        d->revision = found ? (uint8_t)v : 0;
        uint16_t cls = (uint16_t)(d->class_code >> 8);
        d->is_bridge = cls == 0x0604 || cls == 0x0609;

        char buf[ATTR_MAX];
        ssize_t n = pvs_read_attr(fd, "driver_override", buf);
        if (n > 0 && strcmp(buf, "(null)") != 0)
                d->driver_override = pv_xstrdup(buf);
        if (pv_host_dev_is_display(d) && pvs_read_attr(fd, "boot_vga", buf) >= 0)
                d->boot_vga = strcmp(buf, "1") == 0 ? 1 : 0;
        n = pvs_read_attr(fd, "reset_method", buf);
        if (n >= 0) {
                d->has_reset_method = true;
                char *save = NULL;
                for (char *w = strtok_r(buf, " \t\n", &save); w; w = strtok_r(NULL, " \t\n", &save))
                        if ((r = pv_strv_push(&d->reset_methods, w, err)) < 0)
                                return r;
        }
        d->has_reset = d->has_reset_method ? d->reset_methods.n > 0 : pvs_exists_at(fd, "reset");
        if (pvs_read_attr(fd, "numa_node", buf) >= 0) {
                char *end;
                long nn = strtol(buf, &end, 10);
                if (!*end && nn >= -1 && nn < 65536)
                        d->numa_node = (int)nn;
        }
        _cleanup_free_ char *grp = NULL;
        r = read_link_base(fd, "iommu_group", &grp);
        if (r == 0) {
                if (!pvs_parse_ulong(grp, 10, INT_MAX, &v))
                        return dev_bad_value(c, d, "iommu_group", grp, err);
                d->iommu_group = (int)v;
        } else if (r != -ENOENT) {
                return dev_error(c, d, "iommu_group", -r, "read link", err);
        }
        r = read_link_base(fd, "driver", &d->driver);
        if (r < 0 && r != -ENOENT)
                return dev_error(c, d, "driver", -r, "read link", err);
        if ((r = read_sriov(c, fd, d, err)) < 0)
                return r;
        if ((r = read_mdev_types(c, fd, d, err)) < 0)
                return r;
        if (d->vendor == 0x10de && pv_host_dev_is_display(d) && (r = read_vgpu_types(c, fd, d, err)) < 0)
                return r;
        if ((pv_host_dev_is_display(d) || (c->flags & PV_SCAN_RESOURCES)) && (r = read_resources(c, fd, d, err)) < 0)
                return r;
        if (pv_host_dev_is_display(d))
                d->drm_connectors = count_drm_connectors(fd);
        return 0;
}

static int cmp_dev(const void *a, const void *b) {
        return pv_pci_addr_cmp(&((const struct pv_host_dev *)a)->addr, &((const struct pv_host_dev *)b)->addr);
}

struct scan_job {
        struct scan_ctx *c;
        struct pv_host_dev *devs;
        size_t from, to;
        size_t failed_at;         /* index of the first failing device, or SIZE_MAX */
        struct pv_error err;
        int r;
};

static void *scan_worker(void *arg) {
        struct scan_job *j = arg;
        for (size_t i = j->from; i < j->to; i++)
                if ((j->r = scan_device(j->c, j->devs[i].name, &j->devs[i], &j->err)) < 0) {
                        j->failed_at = i;
                        break;
                }
        return NULL;
}

/* Devices are independent: big trees are read by a few threads (sysfs reads are syscall-bound). */
static int scan_all(struct scan_ctx *c, struct pv_host_dev *devs, size_t n, struct pv_error *err) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        size_t nt = n >= 128 && cpus > 1 ? (size_t)(cpus < 4 ? cpus : 4) : 1;
        struct scan_job jobs[4];
        pthread_t tid[4];
        bool started[4] = { false };
        for (size_t t = 0; t < nt; t++) {
                jobs[t] = (struct scan_job){ .c = c, .devs = devs, .from = n * t / nt, .to = n * (t + 1) / nt,
                                             .failed_at = SIZE_MAX, .err = PV_ERROR_INIT };
                if (t > 0 && pthread_create(&tid[t], NULL, scan_worker, &jobs[t]) == 0)
                        started[t] = true;
        }
        scan_worker(&jobs[0]);
        for (size_t t = 1; t < nt; t++) {
                if (started[t])
                        pthread_join(tid[t], NULL);
                else
                        scan_worker(&jobs[t]);
        }
        size_t worst = SIZE_MAX;
        int r = 0;
        for (size_t t = 0; t < nt; t++) {
                if (jobs[t].failed_at < worst) {
                        worst = jobs[t].failed_at;
                        r = jobs[t].r;
                }
        }
        for (size_t t = 0; t < nt; t++) {
                if (jobs[t].failed_at == worst && worst != SIZE_MAX && err && !err->code)
                        pv_error_move(err, &jobs[t].err);
                pv_error_done(&jobs[t].err);
        }
        return r;
}

int pvs_scan_devices(struct scan_ctx *c, struct pv_host_state *s, struct pv_error *err) {
        const char *rel = "sys/bus/pci/devices";
        int fd = pvs_open_dir_at(c->h->dirfd, rel);
        if (fd < 0)
                return pvs_path_error(c->h, errno, rel, "open", err);
        DIR *dir = fdopendir(fd);
        if (!dir) {
                close(fd);
                return pvs_path_error(c->h, errno, rel, "open", err);
        }
        size_t alloc = 0;
        int r = 0;
        struct dirent *de;
        while ((de = readdir(dir))) {
                if (de->d_name[0] == '.')
                        continue;
                struct pv_pci_addr a;
                char canon[PV_PCI_ADDR_MAX];
                bool ok = pvs_parse_bdf_strict(de->d_name, &a);
                if (ok) {
                        pv_pci_addr_format(&a, canon);
                        ok = strcmp(canon, de->d_name) == 0;
                }
                if (!ok) {
                        _cleanup_free_ char *abs = pv_host_path(c->h, rel, NULL);
                        r = pv_error_set(err, PV_EINVAL,
                                         "unexpected entry '%s' in '%s': not a PCI address (is the root a host root?)",
                                         de->d_name, abs ? abs : rel);
                        break;
                }
                if (s->n_devs == alloc) {
                        size_t na = alloc ? alloc * 2 : 64;
                        s->devs = pv_xreallocarray(s->devs, na, sizeof(*s->devs));
                        alloc = na;
                }
                struct pv_host_dev *d = &s->devs[s->n_devs++];
                memset(d, 0, sizeof(*d));
                d->addr = a;
                pv_pci_addr_format(&a, d->name);
        }
        if (r == 0) {
                c->devdir = dirfd(dir);
                r = scan_all(c, s->devs, s->n_devs, err);
        }
        closedir(dir);
        c->devdir = -1;
        if (r < 0)
                return r;
        if (s->n_devs > 1)
                qsort(s->devs, s->n_devs, sizeof(*s->devs), cmp_dev);
        link_vfs(s);
        return 0;
}

static int cmp_int(const void *a, const void *b) {
        int x = *(const int *)a, y = *(const int *)b;
        return (x > y) - (x < y);
}

void pvs_build_groups(struct scan_ctx *c, struct pv_host_state *s) {
        _cleanup_free_ int *ids = pv_xcalloc(s->n_devs ? s->n_devs : 1, sizeof(int));
        size_t n = 0;
        for (size_t i = 0; i < s->n_devs; i++)
                if (s->devs[i].iommu_group >= 0)
                        ids[n++] = s->devs[i].iommu_group;
        qsort(ids, n, sizeof(int), cmp_int);
        size_t ng = 0;
        for (size_t i = 0; i < n; i++)
                if (i == 0 || ids[i] != ids[i - 1])
                        ids[ng++] = ids[i];
        s->groups = pv_xcalloc(ng ? ng : 1, sizeof(*s->groups));
        s->n_groups = ng;
        for (size_t g = 0; g < ng; g++)
                s->groups[g].id = ids[g];
        /* count, allocate, fill (devices are sorted, so members come out in address order) */
        _cleanup_free_ size_t *counts = pv_xcalloc(ng ? ng : 1, sizeof(size_t));
        for (size_t i = 0; i < s->n_devs; i++) {
                if (s->devs[i].iommu_group < 0)
                        continue;
                int *hit = bsearch(&s->devs[i].iommu_group, ids, ng, sizeof(int), cmp_int);
                counts[hit - ids]++;
        }
        for (size_t g = 0; g < ng; g++)
                s->groups[g].members = pv_xcalloc(counts[g], sizeof(size_t));
        for (size_t i = 0; i < s->n_devs; i++) {
                if (s->devs[i].iommu_group < 0)
                        continue;
                int *hit = bsearch(&s->devs[i].iommu_group, ids, ng, sizeof(int), cmp_int);
                struct pv_host_group *grp = &s->groups[hit - ids];
                grp->members[grp->n_members++] = i;
        }
        /* the kernel's view: how many groups exist, and each group's type */
        int gfd = pvs_open_dir_at(c->h->dirfd, "sys/kernel/iommu_groups");
        if (gfd >= 0) {
                DIR *dir = fdopendir(gfd);
                if (!dir) {
                        close(gfd);
                } else {
                        struct dirent *de;
                        while ((de = readdir(dir)))
                                if (de->d_name[0] != '.')
                                        s->iommu.n_groups_sysfs++;
                        closedir(dir);
                }
        }
        for (size_t g = 0; g < ng; g++) {
                char rel[64], buf[ATTR_MAX];
                snprintf(rel, sizeof(rel), "sys/kernel/iommu_groups/%d/type", s->groups[g].id);
                if (pvs_read_attr(c->h->dirfd, rel, buf) > 0)
                        s->groups[g].type = pv_xstrdup(buf);
        }
}

int pvs_read_names(struct scan_ctx *c, struct pv_pcilib **lib, struct pv_host_state *s, struct pv_error *err) {
        for (size_t i = 0; i < s->n_devs; i++) {
                struct pv_host_dev *d = &s->devs[i];
                struct pv_pci_names nm = { 0 };
                int r = pv_pcilib_names(*lib, d->vendor, d->device, d->has_subsystem, d->subsystem_vendor,
                                        d->subsystem_device, d->class_code, &nm, err);
                if (r < 0)
                        return pv_error_wrap(err, "cannot look up the names of '%s'", d->name);
                d->vendor_name = nm.vendor;
                d->device_name = nm.device;
                d->subsystem_name = nm.subsystem;
                d->class_name = nm.class_name;
        }
        (void)c;
        return 0;
}

int pvs_open_pcilib(struct pv_host *h, struct pv_pcilib **ret, struct pv_error *err) {
        _cleanup_free_ char *sysfs = pv_host_path(h, "sys/bus/pci", err);
        _cleanup_free_ char *ids = NULL;
        if (h->pci_ids)
                ids = pv_xstrdup(h->pci_ids);
        else if (pvs_exists_at(h->dirfd, "usr/share/misc/pci.ids"))
                ids = pv_host_path(h, "usr/share/misc/pci.ids", err);
        return pv_pcilib_open(sysfs, ids, h->log, ret, err);
}
