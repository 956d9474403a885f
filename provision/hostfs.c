/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Host file access confined to a root directory fd (see pvfio/hostfs.h):
 * openat2(RESOLVE_IN_ROOT), or a component walk where openat2 is missing.
 */
#include "pvfio/hostfs.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "pvfio/cleanup.h"

#define MAX_SYMLINKS 40     /* the kernel's own limit */
#define LINK_MAX_BYTES 4096

/* ------------------------------------------------------------ fallback walk */

/* Next component of *p ("a/b//c" → "a", then "b", "c"); NULL at the end. Writes NULs into the string. */
static char *next_component(char **p) {
        char *s = *p;
        while (*s == '/')
                s++;
        if (!*s)
                return NULL;
        char *e = strchr(s, '/');
        if (e) {
                *e = '\0';
                *p = e + 1;
        } else {
                *p = s + strlen(s);
        }
        return s;
}

static bool only_slashes(const char *s) {
        return s[strspn(s, "/")] == '\0';
}

static int walk_dup_dir(int fd) {
        int r = openat(fd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
        return r < 0 ? -errno : r;
}

int pv_fs_open_walk(int dfd, const char *path, int flags, mode_t mode) {
        if (path[0] == '/')
                return -EXDEV;
        _cleanup_free_ char *buf = strdup(path);
        if (!buf)
                return -ENOMEM;
        char *rest = buf;
        int cur = walk_dup_dir(dfd);
        if (cur < 0)
                return cur;
        size_t depth = 0;
        unsigned links = 0;
        int ret;
        for (;;) {
                char *comp = next_component(&rest);
                if (!comp) {
                        /* "" or "." or "a/..": the directory itself */
                        ret = openat(cur, ".", (flags & ~(O_CREAT | O_EXCL)) | O_CLOEXEC);
                        ret = ret < 0 ? -errno : ret;
                        break;
                }
                bool last = only_slashes(rest);
                if (strcmp(comp, ".") == 0)
                        continue;
                if (strcmp(comp, "..") == 0) {
                        if (depth == 0) {
                                ret = -EXDEV;    /* would leave the root */
                                break;
                        }
                        int up = openat(cur, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
                        if (up < 0) {
                                ret = -errno;
                                break;
                        }
                        close(cur);
                        cur = up;
                        depth--;
                        continue;
                }
                struct stat st;
                if (fstatat(cur, comp, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        ret = -errno;
                        if (ret == -ENOENT && last && (flags & O_CREAT)) {
                                ret = openat(cur, comp, flags | O_NOFOLLOW | O_CLOEXEC, mode);
                                ret = ret < 0 ? -errno : ret;
                        }
                        break;
                }
                if (S_ISLNK(st.st_mode)) {
                        if (last && (flags & O_NOFOLLOW)) {
                                ret = -ELOOP;
                                break;
                        }
                        if (++links > MAX_SYMLINKS) {
                                ret = -ELOOP;
                                break;
                        }
                        char target[LINK_MAX_BYTES];
                        ssize_t n = readlinkat(cur, comp, target, sizeof target - 1);
                        if (n < 0) {
                                ret = -errno;
                                break;
                        }
                        target[n] = '\0';
                        if (target[0] == '/') {
                                ret = -EXDEV;    /* an absolute link points outside the root */
                                break;
                        }
                        size_t rl = strlen(rest);
                        char *nb = malloc((size_t)n + 1 + rl + 1);
                        if (!nb) {
                                ret = -ENOMEM;
                                break;
                        }
                        memcpy(nb, target, (size_t)n);
                        nb[n] = '/';
                        memcpy(nb + n + 1, rest, rl + 1);
                        free(buf);
                        buf = rest = nb;
                        continue;
                }
                if (last) {
                        ret = openat(cur, comp, flags | O_NOFOLLOW | O_CLOEXEC, mode);
                        ret = ret < 0 ? -errno : ret;
                        break;
                }
                int next = openat(cur, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (next < 0) {
                        ret = -errno;
                        break;
                }
                close(cur);
                cur = next;
                depth++;
        }
        close(cur);
        return ret;
}

/* ------------------------------------------------------------------ open */

int pv_fs_open(int dfd, const char *path, int flags, mode_t mode) {
        struct open_how how = {
                .flags = (unsigned long long)(flags | O_CLOEXEC),
                .mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0,
                .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
        };
        if (!*path)
                return -ENOENT;
        for (int attempt = 0; attempt < 8; attempt++) {
                long fd = syscall(SYS_openat2, dfd, path, &how, sizeof how);
                if (fd >= 0)
                        return (int)fd;
                if (errno == EAGAIN)     /* a rename raced with the lookup: the kernel asks to retry */
                        continue;
                if (errno == ENOSYS || errno == EPERM)   /* old kernel, or a seccomp filter */
                        break;
                return -errno;
        }
        return pv_fs_open_walk(dfd, path, flags, mode);
}

int pv_fs_stat(int dfd, const char *path, bool follow, struct stat *ret) {
        int fd = pv_fs_open(dfd, path, O_PATH | (follow ? 0 : O_NOFOLLOW), 0);
        if (fd < 0)
                return fd;
        int r = fstat(fd, ret) < 0 ? -errno : 0;
        close(fd);
        return r;
}

int pv_fs_open_parent(int dfd, const char *path, const char **ret_base) {
        const char *slash = strrchr(path, '/');
        int fd;
        if (!slash) {
                fd = pv_fs_open(dfd, ".", O_RDONLY | O_DIRECTORY, 0);
        } else {
                _cleanup_free_ char *dir = strndup(path, (size_t)(slash - path));
                if (!dir)
                        return -ENOMEM;
                fd = pv_fs_open(dfd, *dir ? dir : ".", O_RDONLY | O_DIRECTORY, 0);
        }
        if (fd >= 0)
                *ret_base = slash ? slash + 1 : path;
        return fd;
}

int pv_fs_read_regular(int dfd, const char *path, int flags, size_t cap, char **ret, size_t *ret_len,
                       struct stat *ret_st) {
        /* non-blocking: opening a FIFO must not wait for a writer */
        int fd = pv_fs_open(dfd, path, O_RDONLY | O_NONBLOCK | O_NOCTTY | flags, 0);
        if (fd < 0)
                return fd;
        struct stat st;
        int e = fstat(fd, &st) < 0 ? errno : !S_ISREG(st.st_mode) ? EINVAL : 0;
        if (e) {
                close(fd);
                return -e;
        }
        size_t alloc = st.st_size > 0 && (size_t)st.st_size < cap ? (size_t)st.st_size + 1 : 4096, len = 0;
        if (alloc > cap + 1)
                alloc = cap + 1;
        char *b = malloc(alloc);
        int r = b ? 0 : -ENOMEM;
        while (r == 0) {
                if (alloc - len < 2) {
                        if (alloc >= cap + 1) {
                                r = -EFBIG;
                                break;
                        }
                        size_t na = alloc * 2 > cap + 1 ? cap + 1 : alloc * 2;
                        char *nb = realloc(b, na);
                        if (!nb) {
                                r = -ENOMEM;
                                break;
                        }
                        b = nb;
                        alloc = na;
                }
                ssize_t n = read(fd, b + len, alloc - len - 1);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        r = -errno;
                else if (n == 0)
                        break;
                else
                        len += (size_t)n;
        }
        close(fd);
        if (r < 0) {
                free(b);
                return r;
        }
        b[len] = '\0';
        *ret = b;
        if (ret_len)
                *ret_len = len;
        if (ret_st)
                *ret_st = st;
        return 0;
}

bool pv_fs_is_real_root(int dfd) {
        struct stat a, b;
        return fstat(dfd, &a) == 0 && stat("/", &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}
