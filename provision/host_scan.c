/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Host inspection: read PCI devices, IOMMU groups, CPU, kernel, boot and
 * module state from a host root. Every access is relative to host->dirfd.
 * Names and config-space capabilities come from libpci (pci.c).
 */
#include "pvfio/host.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pcilib.h"
#include "pvfio/buf.h"
#include "pvfio/cleanup.h"
#include "pvfio/hostfs.h"
#include "pvfio/util.h"

#define ATTR_MAX 4096                       /* a sysfs attribute is at most one page */
#define PROC_FILE_CAP (16u * 1024 * 1024)   /* cpuinfo of a big server, iomem, interrupts */
#define ETC_FILE_CAP (4u * 1024 * 1024)
#define MAX_CHIPS_KEPT 4
#define LOADER_INFO "sys/firmware/efi/efivars/LoaderInfo-4a67b082-0a4c-41cf-b6c7-440b29bb8c4f"

/* provision/hostneeds.c */
int pv_host_scan_needs(const struct pv_host *h, struct pv_host_state *s, struct pv_error *err);
void pv_host_needs_free(struct pv_host_state *s);

/* ------------------------------------------------------------ file helpers */

/* Every lookup below resolves inside `dfd` (pvfio/hostfs.h): a symlink in a --root image
 * never reaches the running host's files, and only regular files are read (a FIFO at
 * proc/cmdline is refused at once instead of hanging the scan). -1 with errno on failure. */
static int fs_result(int r) {
        if (r < 0) {
                errno = -r;
                return -1;
        }
        return r;
}

static int open_dir_at(int dfd, const char *path) {
        return fs_result(pv_fs_open(dfd, path, O_RDONLY | O_DIRECTORY, 0));
}

/* Read a sysfs attribute into buf (NUL-terminated, trailing whitespace stripped). Returns length or -errno. */
static ssize_t read_attr(int dfd, const char *name, char buf[static ATTR_MAX]) {
        int fd = pv_fs_open(dfd, name, O_RDONLY | O_NOCTTY | O_NONBLOCK, 0);
        if (fd < 0)
                return fd;
        struct stat st;
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
                close(fd);
                return -EINVAL;
        }
        ssize_t n = read(fd, buf, ATTR_MAX - 1);
        int e = errno;
        close(fd);
        if (n < 0)
                return -e;
        while (n > 0 && isspace((unsigned char)buf[n - 1]))
                n--;
        buf[n] = '\0';
        return n;
}

/* Read a whole regular file (≤ cap bytes). Returns 0, -errno, or -EFBIG past the cap. */
static int read_whole(int dfd, const char *path, size_t cap, char **ret, size_t *ret_len) {
        return pv_fs_read_regular(dfd, path, 0, cap, ret, ret_len, NULL);
}

static bool exists_at(int dfd, const char *path) {
        struct stat st;
        return pv_fs_stat(dfd, path, false, &st) == 0;
}

static bool is_dir_at(int dfd, const char *path) {
        struct stat st;
        return pv_fs_stat(dfd, path, true, &st) == 0 && S_ISDIR(st.st_mode);
}

/* readlinkat into a new string; returns 0 or -errno. */
static int readlink_new(int dfd, const char *path, char **ret) {
        const char *base = path;
        _cleanup_close_ int pfd = -1;
        if (strchr(path, '/')) {
                pfd = pv_fs_open_parent(dfd, path, &base);
                if (pfd < 0)
                        return pfd;
                dfd = pfd;
        }
        size_t size = 256;
        for (;;) {
                char *b = malloc(size);
                if (!b)
                        return -ENOMEM;
                ssize_t n = readlinkat(dfd, base, b, size);
                if (n < 0) {
                        int e = errno;
                        free(b);
                        return -e;
                }
                if ((size_t)n < size) {
                        b[n] = '\0';
                        *ret = b;
                        return 0;
                }
                free(b);
                if (size >= 65536)
                        return -ENAMETOOLONG;
                size *= 2;
        }
}

static const char *basename_of(const char *p) {
        const char *s = strrchr(p, '/');
        return s ? s + 1 : p;
}

/* Strict "DDDD:BB:DD.F" (the kernel's form). */
static bool parse_bdf_strict(const char *s, struct pv_pci_addr *ret) {
        unsigned dom, bus, dev, fn;
        int n = -1;
        if (strlen(s) < 12 || sscanf(s, "%x:%x:%x.%x%n", &dom, &bus, &dev, &fn, &n) != 4 || n != (int)strlen(s))
                return false;
        if (dom > 0xffff || bus > 0xff || dev > 0x1f || fn > 7)
                return false;
        for (const char *c = s; *c; c++)
                if (!isxdigit((unsigned char)*c) && *c != ':' && *c != '.')
                        return false;
        *ret = (struct pv_pci_addr){ .domain = dom, .bus = (uint8_t)bus, .dev = (uint8_t)dev, .func = (uint8_t)fn,
                                     .domain_given = true };
        return true;
}

static bool parse_ulong(const char *s, int base, unsigned long long max, unsigned long long *ret) {
        if (!*s)
                return false;
        char *end;
        errno = 0;
        unsigned long long v = strtoull(s, &end, base);
        if (errno || *end || v > max)
                return false;
        *ret = v;
        return true;
}

static int path_error(struct pv_host *h, int errno_value, const char *rel, const char *what,
                      struct pv_error *err) {
        _cleanup_free_ char *abs = pv_host_path(h, rel, NULL);
        return pv_error_set_errno(err, errno_value, "cannot %s '%s'", what, abs ? abs : rel);
}

static int strv_push_sorted_unique(struct pv_strv *sv, const char *s, size_t limit, struct pv_error *err) {
        if (pv_strv_contains(sv, s) || sv->n >= limit)
                return 0;
        return pv_strv_push(sv, s, err);
}

/* ------------------------------------------------------------------- root */

int pv_host_open(const char *root, const struct pv_log *log, struct pv_host **ret, struct pv_error *err) {
        if (!root || !*root)
                root = "/";
        _cleanup_free_ char *abs = NULL;
        if (root[0] != '/') {
                _cleanup_free_ char *cwd = getcwd(NULL, 0);
                if (!cwd)
                        return pv_error_set_errno(err, errno, "cannot resolve the current directory");
                abs = pv_asprintf(err, "%s/%s", cwd, root);
        } else {
                abs = pv_strdup(root, err);
        }
        if (!abs)
                return -PV_ENOMEM;
        size_t n = strlen(abs);
        while (n > 1 && abs[n - 1] == '/')
                abs[--n] = '\0';
        int fd = open(abs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return pv_error_set_errno(err, errno, "cannot open host root '%s'", abs);
        struct pv_host *h = calloc(1, sizeof(*h));
        if (!h) {
                close(fd);
                return pv_error_set(err, PV_ENOMEM, "out of memory");
        }
        h->root = TAKE_PTR(abs);
        h->dirfd = fd;
        h->log = log;
        *ret = h;
        return 0;
}

int pv_host_set_pci_ids(struct pv_host *h, const char *path, struct pv_error *err) {
        char *copy = NULL;
        if (path && !(copy = pv_strdup(path, err)))
                return -PV_ENOMEM;
        free(h->pci_ids);
        h->pci_ids = copy;
        return 0;
}

void pv_host_close(struct pv_host *h) {
        if (!h)
                return;
        if (h->dirfd >= 0)
                close(h->dirfd);
        free(h->root);
        free(h->pci_ids);
        free(h);
}

char *pv_host_path(const struct pv_host *h, const char *rel, struct pv_error *err) {
        while (*rel == '/')
                rel++;
        if (strcmp(h->root, "/") == 0)
                return pv_asprintf(err, "/%s", rel);
        return *rel ? pv_asprintf(err, "%s/%s", h->root, rel) : pv_strdup(h->root, err);
}

/* --------------------------------------------------------------- freeing */

static void host_file_done(struct pv_host_file *f) {
        free(f->path);
        free(f->content);
        memset(f, 0, sizeof(*f));
}

static void host_files_free(struct pv_host_file *v, size_t n) {
        for (size_t i = 0; i < n; i++)
                host_file_done(&v[i]);
        free(v);
}

static void dev_done(struct pv_host_dev *d) {
        free(d->vendor_name);
        free(d->device_name);
        free(d->subsystem_name);
        free(d->class_name);
        free(d->driver);
        free(d->driver_override);
        pv_strv_done(&d->reset_methods);
        free(d->vfs);
        for (size_t i = 0; i < d->n_mdev_types; i++) {
                free(d->mdev_types[i].type);
                free(d->mdev_types[i].name);
                free(d->mdev_types[i].description);
                free(d->mdev_types[i].device_api);
        }
        free(d->mdev_types);
        for (size_t i = 0; i < d->n_vgpu_types; i++)
                free(d->vgpu_types[i].name);
        free(d->vgpu_types);
        free(d->bars);
}

void pv_host_state_free(struct pv_host_state *s) {
        if (!s)
                return;
        for (size_t i = 0; i < s->n_devs; i++)
                dev_done(&s->devs[i]);
        free(s->devs);
        for (size_t i = 0; i < s->n_groups; i++) {
                free(s->groups[i].members);
                free(s->groups[i].type);
        }
        free(s->groups);
        free(s->cpu.vendor_id);
        free(s->cpu.model_name);
        pv_strv_done(&s->cpu.flags);
        free(s->kernel_release);
        free(s->cmdline);
        pv_strv_done(&s->cmdline_args);
        pv_strv_done(&s->modules);
        pv_strv_done(&s->sys_modules);
        for (size_t i = 0; i < s->iommu.n_units; i++)
                free(s->iommu.units[i].name);
        free(s->iommu.units);
        pv_strv_done(&s->iommu.ir_chips);
        pv_strv_done(&s->iommu.plain_msi_chips);
        for (size_t i = 0; i < s->n_fb_ranges; i++)
                free(s->fb_ranges[i].name);
        free(s->fb_ranges);
        free(s->boot.loader_info);
        pv_strv_done(&s->boot.evidence);
        host_file_done(&s->boot.etc_kernel_cmdline);
        host_file_done(&s->boot.etc_default_grub);
        host_files_free(s->boot.grub_d, s->boot.n_grub_d);
        host_file_done(&s->etc_modules);
        host_files_free(s->modules_load_d, s->n_modules_load_d);
        host_files_free(s->modprobe_d, s->n_modprobe_d);
        host_file_done(&s->etc_initramfs_modules);
        host_files_free(s->driverctl_d, s->n_driverctl_d);
        host_files_free(s->udev_rules, s->n_udev_rules);
        pv_host_needs_free(s);
        free(s);
}

/* ------------------------------------------------------------ /etc files */

static int read_host_file(struct pv_host *h, const char *rel, struct pv_host_file *f, struct pv_error *err) {
        memset(f, 0, sizeof(*f));
        if (!(f->path = pv_strdup(rel, err)))
                return -PV_ENOMEM;
        int r = read_whole(h->dirfd, rel, ETC_FILE_CAP, &f->content, &f->len);
        if (r == -ENOENT || r == -ENOTDIR)
                return 0;
        if (r == -EFBIG)
                return pv_error_set(err, PV_ETOOBIG, "'%s' is larger than %u bytes", rel, ETC_FILE_CAP);
        if (r < 0)
                return path_error(h, -r, rel, "read", err);
        f->present = true;
        return 0;
}

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(char *const *)a, *(char *const *)b);
}

/* List the regular-file names in a root-relative directory ending in `suffix` (sorted). Missing dir = empty. */
static int list_dir(struct pv_host *h, const char *rel, const char *suffix, struct pv_strv *ret, struct pv_error *err) {
        int fd = open_dir_at(h->dirfd, rel);
        if (fd < 0) {
                if (errno == ENOENT || errno == ENOTDIR)
                        return 0;
                return path_error(h, errno, rel, "open", err);
        }
        DIR *d = fdopendir(fd);
        if (!d) {
                close(fd);
                return path_error(h, errno, rel, "open", err);
        }
        struct dirent *de;
        int r = 0;
        while ((de = readdir(d))) {
                if (de->d_name[0] == '.')
                        continue;
                size_t ln = strlen(de->d_name), ls = suffix ? strlen(suffix) : 0;
                if (suffix && (ln <= ls || strcmp(de->d_name + ln - ls, suffix) != 0))
                        continue;
                if ((r = pv_strv_push(ret, de->d_name, err)) < 0)
                        break;
        }
        closedir(d);
        if (r < 0)
                return r;
        if (ret->n > 1)
                qsort(ret->v, ret->n, sizeof(char *), cmp_str);
        return 0;
}

static int read_dir_files(struct pv_host *h, const char *rel, const char *suffix, struct pv_host_file **ret,
                          size_t *ret_n, struct pv_error *err) {
        struct pv_strv names = PV_STRV_INIT;
        int r = list_dir(h, rel, suffix, &names, err);
        if (r < 0)
                return r;
        struct pv_host_file *v = calloc(names.n ? names.n : 1, sizeof(*v));
        if (!v) {
                pv_strv_done(&names);
                return pv_error_set(err, PV_ENOMEM, "out of memory");
        }
        size_t n = 0;
        for (size_t i = 0; i < names.n; i++) {
                _cleanup_free_ char *p = pv_asprintf(err, "%s/%s", rel, names.v[i]);
                if (!p) {
                        r = -PV_ENOMEM;
                        break;
                }
                if ((r = read_host_file(h, p, &v[n], err)) < 0) {
                        host_file_done(&v[n]);
                        break;
                }
                if (v[n].present)
                        n++;
                else
                        host_file_done(&v[n]);
        }
        pv_strv_done(&names);
        if (r < 0) {
                host_files_free(v, n);
                return r;
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

/* ---------------------------------------------------------------- devices */

struct scan_ctx {
        struct pv_host *h;
        unsigned flags;
        int devdir;               /* sys/bus/pci/devices */
};

static int dev_error(struct scan_ctx *c, const struct pv_host_dev *d, const char *file, int errno_value,
                     const char *what, struct pv_error *err) {
        _cleanup_free_ char *rel = pv_asprintf(NULL, "sys/bus/pci/devices/%s/%s", d->name, file);
        return path_error(c->h, errno_value, rel ? rel : file, what, err);
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
        ssize_t n = read_attr(dfd, file, buf);
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
        if (!parse_ulong(p, 16, max, ret))
                return dev_bad_value(c, d, file, buf, err);
        if (ret_found)
                *ret_found = true;
        return 0;
}

static int read_link_base(int dfd, const char *name, char **ret) {
        _cleanup_free_ char *l = NULL;
        int r = readlink_new(dfd, name, &l);
        if (r < 0)
                return r;
        char *b = strdup(basename_of(l));
        if (!b)
                return -ENOMEM;
        *ret = b;
        return 0;
}

static int cmp_mdev(const void *a, const void *b) {
        return strcmp(((const struct pv_mdev_type *)a)->type, ((const struct pv_mdev_type *)b)->type);
}

static int read_mdev_types(struct scan_ctx *c, int dfd, struct pv_host_dev *d, struct pv_error *err) {
        int tfd = open_dir_at(dfd, "mdev_supported_types");
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
                int xfd = open_dir_at(dirfd(dir), de->d_name);
                if (xfd < 0)
                        continue;   /* not a type directory */
                if (d->n_mdev_types == alloc) {
                        size_t na = alloc ? alloc * 2 : 4;
                        struct pv_mdev_type *nv = realloc(d->mdev_types, na * sizeof(*nv));
                        if (!nv) {
                                close(xfd);
                                r = pv_error_set(err, PV_ENOMEM, "out of memory");
                                break;
                        }
                        d->mdev_types = nv;
                        alloc = na;
                }
                struct pv_mdev_type *t = &d->mdev_types[d->n_mdev_types++];
                memset(t, 0, sizeof(*t));
                t->available = -1;
                char buf[ATTR_MAX];
                bool oom = !(t->type = strdup(de->d_name));
                if (read_attr(xfd, "name", buf) >= 0 && !(t->name = strdup(buf)))
                        oom = true;
                if (read_attr(xfd, "description", buf) >= 0 && !(t->description = strdup(buf)))
                        oom = true;
                if (read_attr(xfd, "device_api", buf) >= 0 && !(t->device_api = strdup(buf)))
                        oom = true;
                unsigned long long v;
                if (read_attr(xfd, "available_instances", buf) >= 0 && parse_ulong(buf, 10, INT_MAX, &v))
                        t->available = (int)v;
                close(xfd);
                if (oom) {
                        r = pv_error_set(err, PV_ENOMEM, "out of memory");
                        break;
                }
        }
        closedir(dir);
        if (r == 0 && d->n_mdev_types > 1)
                qsort(d->mdev_types, d->n_mdev_types, sizeof(*d->mdev_types), cmp_mdev);
        return r;
}

/* nvidia/creatable_vgpu_types: a header line "ID    : vGPU Name", then "660   : NVIDIA L4-4Q". */
static int read_vgpu_types(struct scan_ctx *c, int dfd, struct pv_host_dev *d, struct pv_error *err) {
        if (!is_dir_at(dfd, "nvidia"))
                return 0;
        d->has_nvidia_dir = true;
        _cleanup_free_ char *txt = NULL;
        int r = read_whole(dfd, "nvidia/creatable_vgpu_types", 1u << 20, &txt, NULL);
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
                if (!parse_ulong(line, 10, UINT_MAX, &id))
                        continue;   /* the header line */
                char *name = colon + 1;
                while (isspace((unsigned char)*name))
                        name++;
                pv_strip_trailing(name);
                if (d->n_vgpu_types == alloc) {
                        size_t na = alloc ? alloc * 2 : 8;
                        struct pv_vgpu_type *nv = realloc(d->vgpu_types, na * sizeof(*nv));
                        if (!nv)
                                return pv_error_set(err, PV_ENOMEM, "out of memory");
                        d->vgpu_types = nv;
                        alloc = na;
                }
                char *nm = strdup(name);
                if (!nm)
                        return pv_error_set(err, PV_ENOMEM, "out of memory");
                d->vgpu_types[d->n_vgpu_types++] = (struct pv_vgpu_type){ .id = (unsigned)id, .name = nm };
        }
        return 0;
}

static int read_resources(struct scan_ctx *c, int dfd, struct pv_host_dev *d, struct pv_error *err) {
        _cleanup_free_ char *txt = NULL;
        int r = read_whole(dfd, "resource", 1u << 16, &txt, NULL);
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
                        struct pv_bar *nv = realloc(d->bars, na * sizeof(*nv));
                        if (!nv)
                                return pv_error_set(err, PV_ENOMEM, "out of memory");
                        d->bars = nv;
                        alloc = na;
                }
                d->bars[d->n_bars++] = (struct pv_bar){ .index = idx, .start = s, .end = e, .flags = f };
        }
        return 0;
}

static int read_sriov(struct scan_ctx *c, int dfd, struct pv_host_dev *d, struct pv_error *err) {
        char buf[ATTR_MAX];
        ssize_t n = read_attr(dfd, "sriov_totalvfs", buf);
        unsigned long long v;
        if (n >= 0) {
                if (!parse_ulong(buf, 10, 65535, &v))
                        return dev_bad_value(c, d, "sriov_totalvfs", buf, err);
                d->is_pf = true;
                d->sriov_totalvfs = (unsigned)v;
                n = read_attr(dfd, "sriov_numvfs", buf);
                if (n >= 0) {
                        if (!parse_ulong(buf, 10, 65535, &v))
                                return dev_bad_value(c, d, "sriov_numvfs", buf, err);
                        d->sriov_numvfs = (unsigned)v;
                }
                unsigned max = d->sriov_totalvfs > d->sriov_numvfs ? d->sriov_totalvfs : d->sriov_numvfs;
                if (max) {
                        d->vfs = calloc(max, sizeof(*d->vfs));
                        if (!d->vfs)
                                return pv_error_set(err, PV_ENOMEM, "out of memory");
                }
                for (unsigned i = 0; i < max; i++) {
                        char name[32];
                        snprintf(name, sizeof(name), "virtfn%u", i);
                        _cleanup_free_ char *t = NULL;
                        int r = read_link_base(dfd, name, &t);
                        if (r == -ENOENT)
                                break;
                        if (r < 0)
                                return dev_error(c, d, name, -r, "read link", err);
                        if (!parse_bdf_strict(t, &d->vfs[d->n_vfs]))
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
        ssize_t n = read_attr(fd, "uevent", buf);
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
                        if (!parse_ulong(line + 10, 16, 0xffffff, &v))
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
        ssize_t n = read_attr(fd, "pvfio_unknown", buf);
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

/* Read one device; d->addr and d->name are set, `entry` is its name in sys/bus/pci/devices. */
static int scan_device(struct scan_ctx *c, const char *entry, struct pv_host_dev *d, struct pv_error *err) {
        d->iommu_group = -1;
        d->boot_vga = -1;
        d->numa_node = -1;
        d->caps.pcie_type = -1;

        /* the nested layout: bus/pci/devices/<bdf> -> ../../../devices/pci0000:00/0000:00:01.0/<bdf> */
        _cleanup_free_ char *link = NULL;
        if (readlink_new(c->devdir, entry, &link) == 0) {
                char *last = strrchr(link, '/');
                if (last) {
                        *last = '\0';
                        if (parse_bdf_strict(basename_of(link), &d->parent))
                                d->has_parent = true;
                        *last = '/';
                }
        }
        /* from the root: the entry is a link like ../../../devices/…, resolved inside the root */
        _cleanup_free_ char *entry_rel = pv_asprintf(err, "sys/bus/pci/devices/%s", entry);
        if (!entry_rel)
                return -PV_ENOMEM;
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
        ssize_t n = read_attr(fd, "driver_override", buf);
        if (n > 0 && strcmp(buf, "(null)") != 0 && !(d->driver_override = strdup(buf)))
                return pv_error_set(err, PV_ENOMEM, "out of memory");
        if (pv_host_dev_is_display(d) && read_attr(fd, "boot_vga", buf) >= 0)
                d->boot_vga = strcmp(buf, "1") == 0 ? 1 : 0;
        n = read_attr(fd, "reset_method", buf);
        if (n >= 0) {
                d->has_reset_method = true;
                char *save = NULL;
                for (char *w = strtok_r(buf, " \t\n", &save); w; w = strtok_r(NULL, " \t\n", &save))
                        if ((r = pv_strv_push(&d->reset_methods, w, err)) < 0)
                                return r;
        }
        d->has_reset = d->has_reset_method ? d->reset_methods.n > 0 : exists_at(fd, "reset");
        if (read_attr(fd, "numa_node", buf) >= 0) {
                char *end;
                long nn = strtol(buf, &end, 10);
                if (!*end && nn >= -1 && nn < 65536)
                        d->numa_node = (int)nn;
        }
        _cleanup_free_ char *grp = NULL;
        r = read_link_base(fd, "iommu_group", &grp);
        if (r == 0) {
                if (!parse_ulong(grp, 10, INT_MAX, &v))
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

static int scan_devices(struct scan_ctx *c, struct pv_host_state *s, struct pv_error *err) {
        const char *rel = "sys/bus/pci/devices";
        int fd = open_dir_at(c->h->dirfd, rel);
        if (fd < 0)
                return path_error(c->h, errno, rel, "open", err);
        DIR *dir = fdopendir(fd);
        if (!dir) {
                close(fd);
                return path_error(c->h, errno, rel, "open", err);
        }
        size_t alloc = 0;
        int r = 0;
        struct dirent *de;
        while ((de = readdir(dir))) {
                if (de->d_name[0] == '.')
                        continue;
                struct pv_pci_addr a;
                char canon[PV_PCI_ADDR_MAX];
                bool ok = parse_bdf_strict(de->d_name, &a);
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
                        struct pv_host_dev *nv = realloc(s->devs, na * sizeof(*nv));
                        if (!nv) {
                                r = pv_error_set(err, PV_ENOMEM, "out of memory");
                                break;
                        }
                        s->devs = nv;
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

static int build_groups(struct scan_ctx *c, struct pv_host_state *s, struct pv_error *err) {
        _cleanup_free_ int *ids = calloc(s->n_devs ? s->n_devs : 1, sizeof(int));
        if (!ids)
                return pv_error_set(err, PV_ENOMEM, "out of memory");
        size_t n = 0;
        for (size_t i = 0; i < s->n_devs; i++)
                if (s->devs[i].iommu_group >= 0)
                        ids[n++] = s->devs[i].iommu_group;
        qsort(ids, n, sizeof(int), cmp_int);
        size_t ng = 0;
        for (size_t i = 0; i < n; i++)
                if (i == 0 || ids[i] != ids[i - 1])
                        ids[ng++] = ids[i];
        s->groups = calloc(ng ? ng : 1, sizeof(*s->groups));
        if (!s->groups)
                return pv_error_set(err, PV_ENOMEM, "out of memory");
        s->n_groups = ng;
        for (size_t g = 0; g < ng; g++)
                s->groups[g].id = ids[g];
        /* count, allocate, fill (devices are sorted, so members come out in address order) */
        _cleanup_free_ size_t *counts = calloc(ng ? ng : 1, sizeof(size_t));
        if (!counts)
                return pv_error_set(err, PV_ENOMEM, "out of memory");
        for (size_t i = 0; i < s->n_devs; i++) {
                if (s->devs[i].iommu_group < 0)
                        continue;
                int *hit = bsearch(&s->devs[i].iommu_group, ids, ng, sizeof(int), cmp_int);
                counts[hit - ids]++;
        }
        for (size_t g = 0; g < ng; g++) {
                s->groups[g].members = calloc(counts[g], sizeof(size_t));
                if (!s->groups[g].members)
                        return pv_error_set(err, PV_ENOMEM, "out of memory");
        }
        for (size_t i = 0; i < s->n_devs; i++) {
                if (s->devs[i].iommu_group < 0)
                        continue;
                int *hit = bsearch(&s->devs[i].iommu_group, ids, ng, sizeof(int), cmp_int);
                struct pv_host_group *grp = &s->groups[hit - ids];
                grp->members[grp->n_members++] = i;
        }
        /* the kernel's view: how many groups exist, and each group's type */
        int gfd = open_dir_at(c->h->dirfd, "sys/kernel/iommu_groups");
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
                if (read_attr(c->h->dirfd, rel, buf) > 0 && !(s->groups[g].type = strdup(buf)))
                        return pv_error_set(err, PV_ENOMEM, "out of memory");
        }
        return 0;
}

static int read_names(struct scan_ctx *c, struct pv_pcilib **lib, struct pv_host_state *s, struct pv_error *err) {
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

static int open_pcilib(struct pv_host *h, struct pv_pcilib **ret, struct pv_error *err) {
        _cleanup_free_ char *sysfs = pv_host_path(h, "sys/bus/pci", err);
        if (!sysfs)
                return -PV_ENOMEM;
        _cleanup_free_ char *ids = NULL;
        if (h->pci_ids) {
                if (!(ids = pv_strdup(h->pci_ids, err)))
                        return -PV_ENOMEM;
        } else if (exists_at(h->dirfd, "usr/share/misc/pci.ids")) {
                if (!(ids = pv_host_path(h, "usr/share/misc/pci.ids", err)))
                        return -PV_ENOMEM;
        }
        return pv_pcilib_open(sysfs, ids, h->log, ret, err);
}

/* --------------------------------------------------------------- platform */

static int scan_cpu(struct pv_host *h, struct pv_host_state *s, struct pv_error *err) {
        _cleanup_free_ char *txt = NULL;
        int r = read_whole(h->dirfd, "proc/cpuinfo", PROC_FILE_CAP, &txt, NULL);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return path_error(h, -r, "proc/cpuinfo", "read", err);
        bool have_flags = false;
        for (char *line = txt, *next; line && *line; line = next) {
                next = strchr(line, '\n');
                if (next)
                        *next++ = '\0';
                char *colon = strchr(line, ':');
                if (!colon)
                        continue;
                *colon = '\0';
                char *val = colon + 1;
                while (*val == ' ' || *val == '\t')
                        val++;
                pv_strip_trailing(val);
                pv_strip_trailing(line);
                if (strcmp(line, "processor") == 0) {
                        s->cpu.count++;
                } else if (strcmp(line, "vendor_id") == 0 && !s->cpu.vendor_id) {
                        if (!(s->cpu.vendor_id = pv_strdup(val, err)))
                                return -PV_ENOMEM;
                } else if (strcmp(line, "model name") == 0 && !s->cpu.model_name) {
                        if (!(s->cpu.model_name = pv_strdup(val, err)))
                                return -PV_ENOMEM;
                } else if (strcmp(line, "flags") == 0 && !have_flags) {
                        have_flags = true;
                        char *save = NULL;
                        for (char *w = strtok_r(val, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
                                if ((r = pv_strv_push(&s->cpu.flags, w, err)) < 0)
                                        return r;
                                if (strcmp(w, "vmx") == 0)
                                        s->cpu.vmx = true;
                                else if (strcmp(w, "svm") == 0)
                                        s->cpu.svm = true;
                        }
                }
        }
        if (s->cpu.vendor_id && strcmp(s->cpu.vendor_id, "GenuineIntel") == 0)
                s->cpu.vendor = PV_CPU_INTEL;
        else if (s->cpu.vendor_id &&
                 (strcmp(s->cpu.vendor_id, "AuthenticAMD") == 0 || strcmp(s->cpu.vendor_id, "HygonGenuine") == 0))
                s->cpu.vendor = PV_CPU_AMD;
        return 0;
}

int pv_host_cmdline_tokens(const char *line, struct pv_strv *out, struct pv_error *err) {
        struct pv_buf tok = PV_BUF_INIT;
        bool inq = false, have = false;
        int r = 0;
        for (const char *p = line;; p++) {
                if (*p == '\0' || (!inq && isspace((unsigned char)*p))) {
                        if (have) {
                                r = pv_strv_push(out, tok.buf, err);
                                pv_buf_reset(&tok);
                                have = false;
                                if (r < 0)
                                        break;
                        }
                        if (*p == '\0')
                                break;
                        continue;
                }
                have = true;
                if (*p == '"') {
                        inq = !inq;
                        continue;
                }
                if ((r = pv_buf_addch(&tok, *p, err)) < 0)
                        break;
        }
        pv_buf_release(&tok);
        return r;
}

static int scan_kernel(struct pv_host *h, struct pv_host_state *s, struct pv_error *err) {
        char buf[ATTR_MAX];
        ssize_t n = read_attr(h->dirfd, "proc/sys/kernel/osrelease", buf);
        if (n > 0) {
                if (!(s->kernel_release = pv_strdup(buf, err)))
                        return -PV_ENOMEM;
                unsigned a = 0, b = 0, c = 0;
                if (sscanf(buf, "%u.%u.%u", &a, &b, &c) >= 2)
                        s->kver = (struct pv_kver){ a, b, c };
        }
        _cleanup_free_ char *cl = NULL;
        int r = read_whole(h->dirfd, "proc/cmdline", 1u << 16, &cl, NULL);
        if (r == 0) {
                pv_strip_trailing(cl);
                r = pv_host_cmdline_tokens(cl, &s->cmdline_args, err);
                if (r < 0)
                        return r;
                s->cmdline = TAKE_PTR(cl);
        } else if (r != -ENOENT) {
                return path_error(h, -r, "proc/cmdline", "read", err);
        }
        _cleanup_free_ char *mods = NULL;
        r = read_whole(h->dirfd, "proc/modules", PROC_FILE_CAP, &mods, NULL);
        if (r == 0) {
                for (char *line = mods, *next; line && *line; line = next) {
                        next = strchr(line, '\n');
                        if (next)
                                *next++ = '\0';
                        char *sp = strchr(line, ' ');
                        if (sp)
                                *sp = '\0';
                        if (*line && (r = pv_strv_push(&s->modules, line, err)) < 0)
                                return r;
                }
        } else if (r != -ENOENT) {
                return path_error(h, -r, "proc/modules", "read", err);
        }
        if ((r = list_dir(h, "sys/module", NULL, &s->sys_modules, err)) < 0)
                return r;
        return 0;
}

static int scan_iommu(struct pv_host *h, struct pv_host_state *s, struct pv_error *err) {
        struct pv_strv names = PV_STRV_INIT;
        int r = list_dir(h, "sys/class/iommu", NULL, &names, err);
        if (r < 0)
                return r;
        s->iommu.units = calloc(names.n ? names.n : 1, sizeof(*s->iommu.units));
        if (!s->iommu.units) {
                pv_strv_done(&names);
                return pv_error_set(err, PV_ENOMEM, "out of memory");
        }
        for (size_t i = 0; i < names.n; i++) {
                struct pv_iommu_unit *u = &s->iommu.units[s->iommu.n_units++];
                u->name = TAKE_PTR(names.v[i]);
                const char *cap = NULL, *ecap = NULL;
                if (pv_startswith(u->name, "dmar")) {
                        u->kind = PV_IOMMU_UNIT_INTEL;
                        cap = "intel-iommu/cap";
                        ecap = "intel-iommu/ecap";
                } else if (pv_startswith(u->name, "ivhd")) {
                        u->kind = PV_IOMMU_UNIT_AMD;
                        cap = "amd-iommu/cap";
                        ecap = "amd-iommu/features";
                }
                if (!cap)
                        continue;
                char rel[512], buf[ATTR_MAX];
                unsigned long long v1, v2;
                snprintf(rel, sizeof(rel), "sys/class/iommu/%s/%s", u->name, cap);
                if (read_attr(h->dirfd, rel, buf) < 0 || !parse_ulong(pv_startswith(buf, "0x") ? buf + 2 : buf, 16,
                                                                     UINT64_MAX, &v1))
                        continue;
                snprintf(rel, sizeof(rel), "sys/class/iommu/%s/%s", u->name, ecap);
                if (read_attr(h->dirfd, rel, buf) < 0 || !parse_ulong(pv_startswith(buf, "0x") ? buf + 2 : buf, 16,
                                                                     UINT64_MAX, &v2))
                        continue;
                u->has_cap = true;
                u->cap = v1;
                u->ecap = v2;
                if (u->kind == PV_IOMMU_UNIT_INTEL)
                        u->ir_capable = (v2 >> 3) & 1;
        }
        pv_strv_done(&names);

        s->iommu.dmar_flags = -1;
        s->iommu.dmar_table = exists_at(h->dirfd, "sys/firmware/acpi/tables/DMAR");
        s->iommu.ivrs_table = exists_at(h->dirfd, "sys/firmware/acpi/tables/IVRS");
        if (s->iommu.dmar_table) {
                int fd = pv_fs_open(h->dirfd, "sys/firmware/acpi/tables/DMAR", O_RDONLY | O_NONBLOCK, 0);
                if (fd >= 0) {
                        unsigned char hdr[38];
                        if (pread(fd, hdr, sizeof(hdr), 0) == (ssize_t)sizeof(hdr))
                                s->iommu.dmar_flags = hdr[37];
                        close(fd);
                }
        }

        _cleanup_free_ char *irq = NULL;
        r = read_whole(h->dirfd, "proc/interrupts", PROC_FILE_CAP, &irq, NULL);
        if (r == 0) {
                bool any_chip = false, any_ir = false;
                char *save = NULL;
                for (char *w = strtok_r(irq, " \t\n", &save); w; w = strtok_r(NULL, " \t\n", &save)) {
                        if (pv_startswith(w, "IR-") || pv_startswith(w, "vIR-")) {
                                any_ir = true;
                                if ((r = strv_push_sorted_unique(&s->iommu.ir_chips, w, MAX_CHIPS_KEPT, err)) < 0)
                                        return r;
                        } else if (pv_startswith(w, "PCI-MSI") || strcmp(w, "IO-APIC") == 0) {
                                any_chip = true;
                                if ((r = strv_push_sorted_unique(&s->iommu.plain_msi_chips, w, MAX_CHIPS_KEPT, err)) < 0)
                                        return r;
                        }
                }
                s->iommu.ir = any_ir ? PV_IR_ACTIVE : any_chip ? PV_IR_ABSENT : PV_IR_UNKNOWN;
        } else if (r != -ENOENT) {
                return path_error(h, -r, "proc/interrupts", "read", err);
        }
        s->iommu.active = s->iommu.n_units > 0 || s->iommu.n_groups_sysfs > 0;
        return 0;
}

static bool is_fb_name(const char *n) {
        return strcmp(n, "BOOTFB") == 0 || strcmp(n, "simpledrm") == 0 || strcmp(n, "efifb") == 0 ||
               strcmp(n, "vesafb") == 0 || strcmp(n, "simple-framebuffer") == 0 || strcmp(n, "vesafb_mem") == 0;
}

static int scan_iomem(struct pv_host *h, struct pv_host_state *s, struct pv_error *err) {
        _cleanup_free_ char *txt = NULL;
        int r = read_whole(h->dirfd, "proc/iomem", PROC_FILE_CAP, &txt, NULL);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return path_error(h, -r, "proc/iomem", "read", err);
        size_t alloc = 0;
        for (char *line = txt, *next; line && *line; line = next) {
                next = strchr(line, '\n');
                if (next)
                        *next++ = '\0';
                unsigned long long a, b;
                int off = -1;
                if (sscanf(line, " %llx-%llx : %n", &a, &b, &off) != 2 || off < 0)
                        continue;
                char *name = line + off;
                pv_strip_trailing(name);
                if (!is_fb_name(name))
                        continue;
                if (s->n_fb_ranges == alloc) {
                        size_t na = alloc ? alloc * 2 : 4;
                        struct pv_iomem_range *nv = realloc(s->fb_ranges, na * sizeof(*nv));
                        if (!nv)
                                return pv_error_set(err, PV_ENOMEM, "out of memory");
                        s->fb_ranges = nv;
                        alloc = na;
                }
                char *nm = pv_strdup(name, err);
                if (!nm)
                        return -PV_ENOMEM;
                s->fb_ranges[s->n_fb_ranges++] = (struct pv_iomem_range){ .start = a, .end = b, .name = nm };
        }
        return 0;
}

static int add_evidence(struct pv_host_state *s, struct pv_error *err, const char *fmt, ...) PV_PRINTF(3, 4);
static int add_evidence(struct pv_host_state *s, struct pv_error *err, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        char *m = NULL;
        int n = vasprintf(&m, fmt, ap);
        va_end(ap);
        if (n < 0)
                return pv_error_set(err, PV_ENOMEM, "out of memory");
        return pv_strv_push_take(&s->boot.evidence, m, err);
}

static int scan_boot(struct pv_host *h, struct pv_host_state *s, struct pv_error *err) {
        struct pv_boot_info *b = &s->boot;
        int r;
        b->efi = is_dir_at(h->dirfd, "sys/firmware/efi");
        _cleanup_free_ char *uuids = NULL;
        size_t n_esp = 0;
        bool uuids_file = false;
        r = read_whole(h->dirfd, "etc/kernel/proxmox-boot-uuids", 1u << 16, &uuids, NULL);
        if (r == 0) {
                uuids_file = true;
                for (char *line = uuids, *next; line && *line; line = next) {
                        next = strchr(line, '\n');
                        if (next)
                                *next++ = '\0';
                        while (isspace((unsigned char)*line))
                                line++;
                        pv_strip_trailing(line);
                        if (*line && *line != '#')
                                n_esp++;
                }
        } else if (r != -ENOENT) {
                return path_error(h, -r, "etc/kernel/proxmox-boot-uuids", "read", err);
        }
        b->proxmox_boot_tool = n_esp > 0;

        _cleanup_free_ char *li = NULL;
        size_t li_len = 0;
        if (read_whole(h->dirfd, LOADER_INFO, 4096, &li, &li_len) == 0 && li_len > 4) {
                struct pv_buf txt = PV_BUF_INIT;
                for (size_t i = 4; i + 1 < li_len; i += 2) {
                        unsigned ch = (unsigned char)li[i] | ((unsigned)(unsigned char)li[i + 1] << 8);
                        if (ch == 0)
                                break;
                        if ((r = pv_buf_addch(&txt, ch >= 0x20 && ch < 0x7f ? (char)ch : '?', err)) < 0) {
                                pv_buf_release(&txt);
                                return r;
                        }
                }
                size_t dummy;
                if ((r = pv_buf_detach(&txt, &b->loader_info, &dummy, err)) < 0)
                        return r;
        }

        /* the facts, then the decision */
        if ((r = add_evidence(s, err, b->efi ? "sys/firmware/efi exists: booted in UEFI mode"
                                             : "sys/firmware/efi is absent: booted in legacy BIOS mode")) < 0)
                return r;
        if (b->proxmox_boot_tool)
                r = add_evidence(s, err, "etc/kernel/proxmox-boot-uuids lists %zu ESP(s): proxmox-boot-tool manages "
                                         "the boot partitions", n_esp);
        else if (uuids_file)
                r = add_evidence(s, err, "etc/kernel/proxmox-boot-uuids is empty: proxmox-boot-tool is not in use");
        else
                r = add_evidence(s, err, "etc/kernel/proxmox-boot-uuids is absent: proxmox-boot-tool is not in use");
        if (r < 0)
                return r;
        if (b->loader_info)
                r = add_evidence(s, err, "EFI variable LoaderInfo says '%s'", b->loader_info);
        else if (b->efi)
                r = add_evidence(s, err, "no LoaderInfo EFI variable: the boot loader is not systemd-boot");
        if (r < 0)
                return r;

        bool sdboot = b->loader_info && pv_startswith(b->loader_info, "systemd-boot");
        if (b->efi && b->proxmox_boot_tool && sdboot) {
                b->loader = PV_BOOTLOADER_SYSTEMD_BOOT;
                r = add_evidence(s, err, "decision: systemd-boot managed by proxmox-boot-tool (kernel arguments in "
                                         "etc/kernel/cmdline, then 'proxmox-boot-tool refresh')");
        } else if (sdboot) {
                b->loader = PV_BOOTLOADER_SYSTEMD_BOOT;
                r = add_evidence(s, err, "decision: systemd-boot without proxmox-boot-tool (kernel arguments in "
                                         "etc/kernel/cmdline; the boot entries may need a manual update)");
        } else {
                b->loader = PV_BOOTLOADER_GRUB;
                r = add_evidence(s, err, "decision: GRUB (kernel arguments in etc/default/grub or "
                                         "etc/default/grub.d, then 'update-grub'%s)",
                                 b->proxmox_boot_tool ? ", which also refreshes the ESPs through proxmox-boot-tool" : "");
        }
        if (r < 0)
                return r;

        if ((r = read_host_file(h, "etc/kernel/cmdline", &b->etc_kernel_cmdline, err)) < 0 ||
            (r = read_host_file(h, "etc/default/grub", &b->etc_default_grub, err)) < 0 ||
            (r = read_dir_files(h, "etc/default/grub.d", ".cfg", &b->grub_d, &b->n_grub_d, err)) < 0)
                return r;
        if (b->etc_kernel_cmdline.present && b->loader == PV_BOOTLOADER_GRUB &&
            (r = add_evidence(s, err, "etc/kernel/cmdline exists but is not used by GRUB")) < 0)
                return r;
        return 0;
}

static int scan_etc(struct pv_host *h, struct pv_host_state *s, struct pv_error *err) {
        int r;
        if ((r = read_host_file(h, "etc/modules", &s->etc_modules, err)) < 0 ||
            (r = read_dir_files(h, "etc/modules-load.d", ".conf", &s->modules_load_d, &s->n_modules_load_d, err)) < 0 ||
            (r = read_dir_files(h, "etc/modprobe.d", ".conf", &s->modprobe_d, &s->n_modprobe_d, err)) < 0 ||
            (r = read_host_file(h, "etc/initramfs-tools/modules", &s->etc_initramfs_modules, err)) < 0 ||
            (r = read_dir_files(h, "etc/driverctl.d", NULL, &s->driverctl_d, &s->n_driverctl_d, err)) < 0 ||
            (r = read_dir_files(h, "etc/udev/rules.d", ".rules", &s->udev_rules, &s->n_udev_rules, err)) < 0)
                return r;
        s->reboot_required_flag = exists_at(h->dirfd, "run/reboot-required");
        return 0;
}

/* ------------------------------------------------------------------ scan */

int pv_host_scan(struct pv_host *h, unsigned flags, struct pv_host_state **ret, struct pv_error *err) {
        struct pv_host_state *s = calloc(1, sizeof(*s));
        if (!s)
                return pv_error_set(err, PV_ENOMEM, "out of memory");
        struct scan_ctx c = { .h = h, .flags = flags, .devdir = -1 };
        struct pv_pcilib *lib = NULL;
        int r;
        if ((r = scan_devices(&c, s, err)) < 0 || (r = build_groups(&c, s, err)) < 0 ||
            (r = scan_cpu(h, s, err)) < 0 || (r = scan_kernel(h, s, err)) < 0 || (r = scan_iommu(h, s, err)) < 0 ||
            (r = scan_iomem(h, s, err)) < 0 || (r = scan_boot(h, s, err)) < 0 || (r = scan_etc(h, s, err)) < 0 ||
            (r = pv_host_scan_needs(h, s, err)) < 0)
                goto fail;
        if (!(flags & PV_SCAN_NO_NAMES) || (flags & PV_SCAN_CAPS)) {
                if ((r = open_pcilib(h, &lib, err)) < 0)
                        goto fail;
        }
        if (!(flags & PV_SCAN_NO_NAMES) && (r = read_names(&c, &lib, s, err)) < 0)
                goto fail;
        if (flags & PV_SCAN_CAPS) {
                for (size_t i = 0; i < s->n_devs; i++) {
                        if ((r = pv_pcilib_caps(lib, &s->devs[i].addr, &s->devs[i].caps, err)) < 0) {
                                pv_error_wrap(err, "cannot read the capabilities of '%s'", s->devs[i].name);
                                goto fail;
                        }
                }
        }
        pv_pcilib_close(lib);
        *ret = s;
        return 0;
fail:
        pv_pcilib_close(lib);
        pv_host_state_free(s);
        return r;
}

int pv_host_read_caps(struct pv_host *h, struct pv_host_state *s, size_t dev_index, struct pv_error *err) {
        if (dev_index >= s->n_devs)
                return pv_error_set(err, PV_EINVAL, "no device with index %zu", dev_index);
        struct pv_host_dev *d = &s->devs[dev_index];
        if (d->caps.known)
                return 0;
        struct pv_pcilib *lib = NULL;
        int r = open_pcilib(h, &lib, err);
        if (r < 0)
                return r;
        r = pv_pcilib_caps(lib, &d->addr, &d->caps, err);
        pv_pcilib_close(lib);
        if (r < 0)
                return pv_error_wrap(err, "cannot read the capabilities of '%s'", d->name);
        return 0;
}

/* --------------------------------------------------------------- lookups */

long pv_host_dev_index(const struct pv_host_state *s, const struct pv_pci_addr *addr) {
        size_t lo = 0, hi = s->n_devs;
        struct pv_pci_addr key = *addr;
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                int c = pv_pci_addr_cmp(&s->devs[mid].addr, &key);
                if (c == 0)
                        return (long)mid;
                if (c < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return -1;
}

const struct pv_host_dev *pv_host_find_dev(const struct pv_host_state *s, const struct pv_pci_addr *addr) {
        long i = pv_host_dev_index(s, addr);
        return i < 0 ? NULL : &s->devs[i];
}

const struct pv_host_group *pv_host_find_group(const struct pv_host_state *s, int id) {
        size_t lo = 0, hi = s->n_groups;
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (s->groups[mid].id == id)
                        return &s->groups[mid];
                if (s->groups[mid].id < id)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return NULL;
}

const size_t *pv_host_group_members(const struct pv_host_state *s, const struct pv_host_dev *dev, size_t *ret_n) {
        const struct pv_host_group *g = dev->iommu_group >= 0 ? pv_host_find_group(s, dev->iommu_group) : NULL;
        *ret_n = g ? g->n_members : 0;
        return g ? g->members : NULL;
}

static bool modname_eq(const char *a, const char *b) {
        for (; *a && *b; a++, b++) {
                char x = *a == '-' ? '_' : *a, y = *b == '-' ? '_' : *b;
                if (x != y)
                        return false;
        }
        return *a == *b;
}

bool pv_host_module_loaded(const struct pv_host_state *s, const char *name) {
        for (size_t i = 0; i < s->modules.n; i++)
                if (modname_eq(s->modules.v[i], name))
                        return true;
        for (size_t i = 0; i < s->sys_modules.n; i++)
                if (modname_eq(s->sys_modules.v[i], name))
                        return true;
        return false;
}

bool pv_host_kernel_at_least(const struct pv_host_state *s, unsigned major, unsigned minor) {
        return s->kver.major > major || (s->kver.major == major && s->kver.minor >= minor);
}

const char *const *pv_host_vfio_modules(const struct pv_host_state *s) {
        static const char *const modern[] = { "vfio", "vfio_iommu_type1", "vfio_pci", NULL };
        static const char *const old[] = { "vfio", "vfio_iommu_type1", "vfio_pci", "vfio_virqfd", NULL };
        return s->kver.major == 0 || pv_host_kernel_at_least(s, 6, 2) ? modern : old;
}

bool pv_host_dev_is_display(const struct pv_host_dev *d) {
        return (d->class_code >> 16) == 0x03;
}

/* Intel PCH/PCU SPI flash controllers: the ids of intel_spi_pci_ids in the kernel's spi-intel-pci
 * driver (torvalds/linux drivers/spi/spi-intel-pci.c). Newer ones are recognised by their pci.ids name. */
static const uint16_t intel_spi_ids[] = { 0x02a4, 0x06a4, 0x18e0, 0x19e0, 0x1bca, 0x34a4, 0x38a4,
                                          0x43a4, 0x4b24, 0x4da4, 0x51a4, 0x54a4, 0x7a24, 0x7aa4,
                                          0xa0a4, 0xa1a4, 0xa224, 0xa324, 0xa3a4 };

static bool is_intel_spi(const struct pv_host_dev *d) {
        if (d->vendor != 0x8086 || (d->class_code >> 8) != 0x0c80)
                return false;
        for (size_t i = 0; i < sizeof(intel_spi_ids) / sizeof(intel_spi_ids[0]); i++)
                if (d->device == intel_spi_ids[i])
                        return true;
        return d->device_name && strstr(d->device_name, "SPI") != NULL;
}

const char *pv_host_dev_platform_role(const struct pv_host_dev *d) {
        uint16_t c = (uint16_t)(d->class_code >> 8);
        if (c == 0x0601)
                return "ISA/LPC bridge";
        if (c == 0x0c05)
                return "SMBus controller";
        if (is_intel_spi(d))
                return "SPI flash controller";
        if (d->vendor == 0x1022 && c == 0x1080)   /* AMD's encryption controllers are its PSP/CCP (ccp driver) */
                return "AMD Platform Security Processor";
        return NULL;
}

bool pv_host_dev_is_idle_host_bridge(const struct pv_host_dev *d) {
        if ((d->class_code >> 8) != 0x0600)
                return false;
        if (d->unknown & PV_HOST_UNKNOWN_DRIVER)
                return d->device_name && strstr(d->device_name, "Dummy Host Bridge") != NULL;
        return d->driver == NULL;
}

bool pv_host_dev_is_platform(const struct pv_host_dev *d) {
        uint16_t c = (uint16_t)(d->class_code >> 8);
        return c == 0x0600 || c == 0x0601 || c == 0x0680 || c == 0x0500 || c == 0x0800 || c == 0x0806 ||
               c == 0x0c05 || (c >> 8) == 0x13;
}

char *pv_host_dev_describe(const struct pv_host_dev *d, struct pv_error *err) {
        _cleanup_free_ char *cls = d->class_name ? pv_strdup(d->class_name, err)
                                                 : pv_asprintf(err, "Class %04x", d->class_code >> 8);
        _cleanup_free_ char *ven = d->vendor_name ? pv_strdup(d->vendor_name, err)
                                                  : pv_asprintf(err, "Vendor %04x", d->vendor);
        _cleanup_free_ char *dev = d->device_name ? pv_strdup(d->device_name, err)
                                                  : pv_asprintf(err, "Device %04x", d->device);
        if (!cls || !ven || !dev)
                return NULL;
        return pv_asprintf(err, "%s: %s %s", cls, ven, dev);
}
