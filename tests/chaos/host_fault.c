/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fault injection for the host chaos test (tests/chaos/host_chaos.py); linked only into
 * the test binary `pvfio-fault`, never into pvfio itself.
 *
 * Every call that changes a file under the root is a "boundary": a creating or writing
 * open (openat/openat2), write/pwrite to a file (not stdin/stdout/stderr), fsync,
 * fchmod/fchmodat, fchown, ftruncate, mkdirat, renameat, unlinkat. The calls are wrapped
 * at link time (-Wl,--wrap=…) and counted:
 *   PVFIO_FAULT_AT=N       at the N-th boundary, before the call: SIGKILL the process
 *                          (PVFIO_FAULT_MODE=fail: the call fails with EIO instead, once)
 *   PVFIO_FAULT_COUNT=FILE at exit, write the number of boundaries passed to FILE
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static unsigned long fault_at, passed;
static int fault_fail, inited;
static const char *count_file;

static void report(void) {
        if (!count_file)
                return;
        FILE *f = fopen(count_file, "we");
        if (f) {
                fprintf(f, "%lu\n", passed);
                fclose(f);
        }
}

/* Returns true when this call must fail (mode fail); kills the process in mode kill. */
static int boundary(void) {
        if (!inited) {
                inited = 1;
                const char *v = getenv("PVFIO_FAULT_AT");
                fault_at = v ? strtoul(v, NULL, 10) : 0;
                v = getenv("PVFIO_FAULT_MODE");
                fault_fail = v && strcmp(v, "fail") == 0;
                count_file = getenv("PVFIO_FAULT_COUNT");
                if (count_file)
                        atexit(report);
        }
        passed++;
        if (fault_at && passed == fault_at) {
                if (!fault_fail) {
                        report();
                        raise(SIGKILL);
                }
                errno = EIO;
                return 1;
        }
        return 0;
}

static int writes(int flags) {
        return (flags & (O_CREAT | O_TRUNC)) || (flags & O_ACCMODE) != O_RDONLY;
}

ssize_t __real_write(int fd, const void *buf, size_t n);
ssize_t __wrap_write(int fd, const void *buf, size_t n);
ssize_t __wrap_write(int fd, const void *buf, size_t n) {
        if (fd > 2 && boundary())
                return -1;
        return __real_write(fd, buf, n);
}

ssize_t __real_pwrite(int fd, const void *buf, size_t n, off_t off);
ssize_t __wrap_pwrite(int fd, const void *buf, size_t n, off_t off);
ssize_t __wrap_pwrite(int fd, const void *buf, size_t n, off_t off) {
        if (boundary())
                return -1;
        return __real_pwrite(fd, buf, n, off);
}

int __real_fsync(int fd);
int __wrap_fsync(int fd);
int __wrap_fsync(int fd) {
        return boundary() ? -1 : __real_fsync(fd);
}

int __real_fchmod(int fd, mode_t m);
int __wrap_fchmod(int fd, mode_t m);
int __wrap_fchmod(int fd, mode_t m) {
        return boundary() ? -1 : __real_fchmod(fd, m);
}

int __real_fchmodat(int dfd, const char *p, mode_t m, int fl);
int __wrap_fchmodat(int dfd, const char *p, mode_t m, int fl);
int __wrap_fchmodat(int dfd, const char *p, mode_t m, int fl) {
        return boundary() ? -1 : __real_fchmodat(dfd, p, m, fl);
}

int __real_fchown(int fd, uid_t u, gid_t g);
int __wrap_fchown(int fd, uid_t u, gid_t g);
int __wrap_fchown(int fd, uid_t u, gid_t g) {
        return boundary() ? -1 : __real_fchown(fd, u, g);
}

int __real_ftruncate(int fd, off_t len);
int __wrap_ftruncate(int fd, off_t len);
int __wrap_ftruncate(int fd, off_t len) {
        return boundary() ? -1 : __real_ftruncate(fd, len);
}

int __real_mkdirat(int dfd, const char *p, mode_t m);
int __wrap_mkdirat(int dfd, const char *p, mode_t m);
int __wrap_mkdirat(int dfd, const char *p, mode_t m) {
        return boundary() ? -1 : __real_mkdirat(dfd, p, m);
}

int __real_renameat(int od, const char *op, int nd, const char *np);
int __wrap_renameat(int od, const char *op, int nd, const char *np);
int __wrap_renameat(int od, const char *op, int nd, const char *np) {
        return boundary() ? -1 : __real_renameat(od, op, nd, np);
}

int __real_unlinkat(int dfd, const char *p, int fl);
int __wrap_unlinkat(int dfd, const char *p, int fl);
int __wrap_unlinkat(int dfd, const char *p, int fl) {
        return boundary() ? -1 : __real_unlinkat(dfd, p, fl);
}

int __real_openat(int dfd, const char *p, int flags, ...);
int __wrap_openat(int dfd, const char *p, int flags, ...);
int __wrap_openat(int dfd, const char *p, int flags, ...) {
        va_list ap;
        va_start(ap, flags);
        mode_t m = (flags & (O_CREAT | O_TMPFILE)) ? (mode_t)va_arg(ap, int) : 0;
        va_end(ap);
        if (writes(flags) && boundary())
                return -1;
        return __real_openat(dfd, p, flags, m);
}

long __real_syscall(long n, ...);
long __wrap_syscall(long n, ...);
long __wrap_syscall(long n, ...) {
        va_list ap;
        va_start(ap, n);
        long a = va_arg(ap, long), b = va_arg(ap, long), c = va_arg(ap, long), d = va_arg(ap, long),
             e = va_arg(ap, long);
        va_end(ap);
        if (n == SYS_openat2) {
                const struct open_how *how = (const struct open_how *)c;
                if (writes((int)how->flags) && boundary())
                        return -1;
        }
        return __real_syscall(n, a, b, c, d, e);
}
