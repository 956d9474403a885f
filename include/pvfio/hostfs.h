/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Host file access confined to a root directory fd.
 *
 * Every lookup treats `dfd` as "/": openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS),
 * so an absolute symlink or a ".." never leaves it (`--root /mnt/image` holding
 * `etc/modprobe.d -> /etc/modprobe.d` resolves inside the image, never on the host).
 * Kernels without openat2 get a component walk that refuses absolute symlinks and
 * ".." above dfd (EXDEV) instead.
 *
 * Functions return a fd / 0, or -errno. Reads open non-blocking, accept only regular
 * files (sysfs and procfs attributes are regular files; a FIFO, socket or device is
 * refused with -EINVAL instead of hanging) and stop at a size cap (-EFBIG).
 */
#ifndef PVFIO_HOSTFS_H
#define PVFIO_HOSTFS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

/* openat() with every component resolved inside dfd. Returns a fd or -errno. */
int pv_fs_open(int dfd, const char *path, int flags, mode_t mode);
/* The fallback of pv_fs_open (used when openat2 is missing); exposed for tests. */
int pv_fs_open_walk(int dfd, const char *path, int flags, mode_t mode);

/* fstatat() confined to dfd: follow = false does not follow the last component. */
int pv_fs_stat(int dfd, const char *path, bool follow, struct stat *ret);

/* Open the directory holding `path` (O_RDONLY|O_DIRECTORY, confined) and point
 * *ret_base at the last component of `path`. Returns a fd or -errno. */
int pv_fs_open_parent(int dfd, const char *path, const char **ret_base);

/* Read a whole regular file (≤ cap bytes, NUL-terminated). -ENOENT when absent,
 * -EINVAL when not a regular file, -EFBIG past the cap. `flags` adds open flags
 * (O_NOFOLLOW: refuse a symlink as the last component). ret_len, ret_st may be NULL. */
int pv_fs_read_regular(int dfd, const char *path, int flags, size_t cap, char **ret, size_t *ret_len,
                       struct stat *ret_st);

/* Is dfd the running system's "/" (same device and inode), whatever path named it? */
bool pv_fs_is_real_root(int dfd);

#endif
