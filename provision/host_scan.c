/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Host inspection: read PCI devices, IOMMU groups, CPU, kernel, boot and
 * module state from a host root. Every access is relative to host->dirfd.
 * Names and config-space capabilities come from libpci (pci.c).
 *
 * This file: the file helpers, the host root, freeing, the /etc files, the
 * scan entry points and the lookups. The PCI devices and IOMMU groups are read
 * in host_scan_devices.c, CPU, kernel, IOMMU, framebuffer and boot state in
 * host_scan_platform.c; host_scan_int.h holds what they share.
 */
#include "pvfio/xalloc.h"
#include "pvfio/host.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
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
#include "host_scan_int.h"

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

int pvs_open_dir_at(int dfd, const char *path) {
        return fs_result(pv_fs_open(dfd, path, O_RDONLY | O_DIRECTORY, 0));
}

/* Read a sysfs attribute into buf (NUL-terminated, trailing whitespace stripped). Returns length or -errno. */
ssize_t pvs_read_attr(int dfd, const char *name, char buf[static ATTR_MAX]) {
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
int pvs_read_whole(int dfd, const char *path, size_t cap, char **ret, size_t *ret_len) {
        return pv_fs_read_regular(dfd, path, 0, cap, ret, ret_len, NULL);
}

bool pvs_exists_at(int dfd, const char *path) {
        struct stat st;
        return pv_fs_stat(dfd, path, false, &st) == 0;
}

bool pvs_is_dir_at(int dfd, const char *path) {
        struct stat st;
        return pv_fs_stat(dfd, path, true, &st) == 0 && S_ISDIR(st.st_mode);
}

/* readlinkat into a new string; returns 0 or -errno. */
int pvs_readlink_new(int dfd, const char *path, char **ret) {
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

const char *pvs_basename_of(const char *p) {
        const char *s = strrchr(p, '/');
        return s ? s + 1 : p;
}

/* Strict "DDDD:BB:DD.F" (the kernel's form). */
bool pvs_parse_bdf_strict(const char *s, struct pv_pci_addr *ret) {
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

bool pvs_parse_ulong(const char *s, int base, unsigned long long max, unsigned long long *ret) {
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

int pvs_path_error(struct pv_host *h, int errno_value, const char *rel, const char *what,
                   struct pv_error *err) {
        _cleanup_free_ char *abs = pv_host_path(h, rel, NULL);
        return pv_error_set_errno(err, errno_value, "cannot %s '%s'", what, abs ? abs : rel);
}

int pvs_strv_push_sorted_unique(struct pv_strv *sv, const char *s, size_t limit, struct pv_error *err) {
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
        size_t n = strlen(abs);
        while (n > 1 && abs[n - 1] == '/')
                abs[--n] = '\0';
        int fd = open(abs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return pv_error_set_errno(err, errno, "cannot open host root '%s'", abs);
        struct pv_host *h = pv_xcalloc(1, sizeof(*h));
        h->root = TAKE_PTR(abs);
        h->dirfd = fd;
        h->log = log;
        *ret = h;
        return 0;
}

int pv_host_set_pci_ids(struct pv_host *h, const char *path, struct pv_error *err) {
        (void)err;      /* allocation does not fail (pvfio/xalloc.h) */
        char *copy = pv_xstrdup(path);
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
        free(s->i915_dkms);
        pv_host_needs_free(s);
        free(s);
}

/* ------------------------------------------------------------ /etc files */

int pvs_read_host_file(struct pv_host *h, const char *rel, struct pv_host_file *f, struct pv_error *err) {
        memset(f, 0, sizeof(*f));
        f->path = pv_xstrdup(rel);
        int r = pvs_read_whole(h->dirfd, rel, ETC_FILE_CAP, &f->content, &f->len);
        if (r == -ENOENT || r == -ENOTDIR)
                return 0;
        if (r == -EFBIG)
                return pv_error_set(err, PV_ETOOBIG, "'%s' is larger than %u bytes", rel, ETC_FILE_CAP);
        if (r < 0)
                return pvs_path_error(h, -r, rel, "read", err);
        f->present = true;
        return 0;
}

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(char *const *)a, *(char *const *)b);
}

/* List the regular-file names in a root-relative directory ending in `suffix` (sorted). Missing dir = empty. */
int pvs_list_dir(struct pv_host *h, const char *rel, const char *suffix, struct pv_strv *ret, struct pv_error *err) {
        int fd = pvs_open_dir_at(h->dirfd, rel);
        if (fd < 0) {
                if (errno == ENOENT || errno == ENOTDIR)
                        return 0;
                return pvs_path_error(h, errno, rel, "open", err);
        }
        DIR *d = fdopendir(fd);
        if (!d) {
                close(fd);
                return pvs_path_error(h, errno, rel, "open", err);
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

int pvs_read_dir_files(struct pv_host *h, const char *rel, const char *suffix, struct pv_host_file **ret,
                       size_t *ret_n, struct pv_error *err) {
        struct pv_strv names = PV_STRV_INIT;
        int r = pvs_list_dir(h, rel, suffix, &names, err);
        if (r < 0)
                return r;
        struct pv_host_file *v = pv_xcalloc(names.n ? names.n : 1, sizeof(*v));
        size_t n = 0;
        for (size_t i = 0; i < names.n; i++) {
                _cleanup_free_ char *p = pv_xasprintf("%s/%s", rel, names.v[i]);
                if ((r = pvs_read_host_file(h, p, &v[n], err)) < 0) {
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

/* ------------------------------------------------------------------ scan */

int pv_host_scan(struct pv_host *h, unsigned flags, struct pv_host_state **ret, struct pv_error *err) {
        struct pv_host_state *s = pv_xcalloc(1, sizeof(*s));
        struct scan_ctx c = { .h = h, .flags = flags, .devdir = -1 };
        struct pv_pcilib *lib = NULL;
        int r;
        if ((r = pvs_scan_devices(&c, s, err)) < 0)
                goto fail;
        pvs_build_groups(&c, s);
        if ((r = pvs_scan_cpu(h, s, err)) < 0 || (r = pvs_scan_kernel(h, s, err)) < 0 ||
            (r = pvs_scan_iommu(h, s, err)) < 0 || (r = pvs_scan_iomem(h, s, err)) < 0 ||
            (r = pvs_scan_boot(h, s, err)) < 0 || (r = pvs_scan_etc(h, s, err)) < 0 ||
            (r = pv_host_scan_needs(h, s, err)) < 0)
                goto fail;
        if (!(flags & PV_SCAN_NO_NAMES) || (flags & PV_SCAN_CAPS)) {
                if ((r = pvs_open_pcilib(h, &lib, err)) < 0)
                        goto fail;
        }
        if (!(flags & PV_SCAN_NO_NAMES) && (r = pvs_read_names(&c, &lib, s, err)) < 0)
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
        int r = pvs_open_pcilib(h, &lib, err);
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

static bool is_integrated_gpu(const struct pv_host_state *s, const struct pv_host_dev *g) {
        if (!pv_host_dev_is_display(g) || g->is_vf)
                return false;
        if (g->vendor == 0x8086)   /* Intel's integrated graphics is always device 2 of bus 0 */
                return g->addr.bus == 0 && g->addr.dev == 2;
        if (g->vendor != 0x1002)
                return false;
        for (size_t i = 0; i < s->n_devs; i++)   /* an APU's graphics slot also holds the PSP */
                if (pv_pci_addr_same_slot(&s->devs[i].addr, &g->addr) && s->devs[i].vendor == 0x1022 &&
                    (s->devs[i].class_code >> 8) == 0x1080)
                        return true;
        return false;
}

bool pv_host_dev_is_muxless_gpu(const struct pv_host_state *s, const struct pv_host_dev *d, size_t *ret_igpu) {
        if (!pv_host_dev_is_display(d) || d->is_vf || (d->vendor != 0x10de && d->vendor != 0x1002))
                return false;
        if ((d->class_code >> 8) != 0x0302 && d->drm_connectors != 0)
                return false;
        for (size_t i = 0; i < s->n_devs; i++)
                if (&s->devs[i] != d && is_integrated_gpu(s, &s->devs[i])) {
                        if (ret_igpu)
                                *ret_igpu = i;
                        return true;
                }
        return false;
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
