/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Internals of host inspection (provision/host_scan*.c only): host_scan.c (file
 * helpers, root, freeing, /etc files, scan, lookups), host_scan_devices.c (PCI
 * devices, IOMMU groups) and host_scan_platform.c (CPU, kernel, IOMMU, boot).
 */
#ifndef PVFIO_HOST_SCAN_INT_H
#define PVFIO_HOST_SCAN_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "pcilib.h"
#include "pvfio/error.h"
#include "pvfio/host.h"
#include "pvfio/util.h"

#define ATTR_MAX 4096                       /* a sysfs attribute is at most one page */
#define PROC_FILE_CAP (16u * 1024 * 1024)   /* cpuinfo of a big server, iomem, interrupts */
#define ETC_FILE_CAP (4u * 1024 * 1024)
#define MAX_CHIPS_KEPT 4
#define LOADER_INFO "sys/firmware/efi/efivars/LoaderInfo-4a67b082-0a4c-41cf-b6c7-440b29bb8c4f"

/* One scan: the host, its PV_SCAN_* flags and the open devices directory. */
struct scan_ctx {
        struct pv_host *h;
        unsigned flags;
        int devdir;               /* sys/bus/pci/devices */
};

/* host_scan.c */
int pvs_open_dir_at(int dfd, const char *path);
/* Read a sysfs attribute into buf (NUL-terminated, trailing whitespace stripped). Returns length or -errno. */
ssize_t pvs_read_attr(int dfd, const char *name, char buf[static ATTR_MAX]);
/* Read a whole regular file (≤ cap bytes). Returns 0, -errno, or -EFBIG past the cap. */
int pvs_read_whole(int dfd, const char *path, size_t cap, char **ret, size_t *ret_len);
bool pvs_exists_at(int dfd, const char *path);
bool pvs_is_dir_at(int dfd, const char *path);
/* readlinkat into a new string; returns 0 or -errno. */
int pvs_readlink_new(int dfd, const char *path, char **ret);
const char *pvs_basename_of(const char *p);
/* Strict "DDDD:BB:DD.F" (the kernel's form). */
bool pvs_parse_bdf_strict(const char *s, struct pv_pci_addr *ret);
bool pvs_parse_ulong(const char *s, int base, unsigned long long max, unsigned long long *ret);
int pvs_path_error(struct pv_host *h, int errno_value, const char *rel, const char *what,
                   struct pv_error *err);
int pvs_strv_push_sorted_unique(struct pv_strv *sv, const char *s, size_t limit, struct pv_error *err);
int pvs_read_host_file(struct pv_host *h, const char *rel, struct pv_host_file *f, struct pv_error *err);
/* List the regular-file names in a root-relative directory ending in `suffix` (sorted). Missing dir = empty. */
int pvs_list_dir(struct pv_host *h, const char *rel, const char *suffix, struct pv_strv *ret, struct pv_error *err);
int pvs_read_dir_files(struct pv_host *h, const char *rel, const char *suffix, struct pv_host_file **ret,
                       size_t *ret_n, struct pv_error *err);

/* host_scan_devices.c */
int pvs_scan_devices(struct scan_ctx *c, struct pv_host_state *s, struct pv_error *err);
void pvs_build_groups(struct scan_ctx *c, struct pv_host_state *s);
int pvs_read_names(struct scan_ctx *c, struct pv_pcilib **lib, struct pv_host_state *s, struct pv_error *err);
int pvs_open_pcilib(struct pv_host *h, struct pv_pcilib **ret, struct pv_error *err);

/* host_scan_platform.c */
int pvs_scan_cpu(struct pv_host *h, struct pv_host_state *s, struct pv_error *err);
int pvs_scan_kernel(struct pv_host *h, struct pv_host_state *s, struct pv_error *err);
int pvs_scan_iommu(struct pv_host *h, struct pv_host_state *s, struct pv_error *err);
int pvs_scan_iomem(struct pv_host *h, struct pv_host_state *s, struct pv_error *err);
int pvs_scan_boot(struct pv_host *h, struct pv_host_state *s, struct pv_error *err);
int pvs_scan_etc(struct pv_host *h, struct pv_host_state *s, struct pv_error *err);

#endif
