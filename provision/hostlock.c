/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The host lock (flock on run/pvfio-host.lock under the root) and stale temporary files. */
#include "pvfio/xalloc.h"
#include "pvfio/hostlock.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "pvfio/cleanup.h"
#include "pvfio/hostfs.h"

#define LOCK_DIR "run"
#define POLL_MS 100
#define HOLDER_MAX 1024

struct pv_host_lock {
        const struct pv_host *h;
        int fd;                  /* -1: shared lock granted on a read-only root */
        bool exclusive;
        bool on_root;            /* no run/ (a fake root): the lock is on the root directory itself */
};

static const char *root_name(const struct pv_host *h) {
        return h->root ? h->root : "/";
}

static long long now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms) {
        struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

/* "pid 123, 'host apply', since 2026-…" from the lock file, or a plain phrase when it says nothing. */
static char *holder_text(const struct pv_host *h) {
        char *txt = NULL;
        if (pv_fs_read_regular(h->dirfd, PV_HOSTLOCK_PATH, O_NOFOLLOW, HOLDER_MAX, &txt, NULL, NULL) < 0)
                return strdup("another pvfio");
        long pid = 0;
        char since[64] = "", command[128] = "";
        for (char *line = strtok(txt, "\n"); line; line = strtok(NULL, "\n")) {
                if (strncmp(line, "pid ", 4) == 0)
                        pid = strtol(line + 4, NULL, 10);
                else if (strncmp(line, "since ", 6) == 0)
                        snprintf(since, sizeof since, "%s", line + 6);
                else if (strncmp(line, "command ", 8) == 0)
                        snprintf(command, sizeof command, "%s", line + 8);
        }
        free(txt);
        char *s = NULL;
        if (pid > 0 && asprintf(&s, "pvfio pid %ld ('%s') since %s", pid, command, since) < 0)
                s = NULL;
        return s ? s : strdup("another pvfio ('host plan' readers)");
}

static int write_holder(int fd, const char *command) {
        char since[32] = "?";
        time_t t = time(NULL);
        struct tm tm;
        if (gmtime_r(&t, &tm))
                strftime(since, sizeof since, "%Y-%m-%dT%H:%M:%SZ", &tm);
        char buf[512];
        int n = snprintf(buf, sizeof buf, "pid %ld\nsince %s\ncommand %s\n", (long)getpid(), since,
                         command ? command : "pvfio");
        if (n < 0 || (size_t)n >= sizeof buf)
                n = (int)strlen(buf);
        if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, (size_t)n, 0) != n)
                return -errno;
        return 0;
}

/* Does fd still name the file at PV_HOSTLOCK_PATH (not one a releasing holder unlinked)? */
static bool still_linked(const struct pv_host *h, int fd) {
        struct stat a, b;
        return fstat(fd, &a) == 0 && pv_fs_stat(h->dirfd, PV_HOSTLOCK_PATH, false, &b) == 0 && a.st_dev == b.st_dev &&
               a.st_ino == b.st_ino;
}

/* A root without run/ (a fake root): lock the root directory itself, so nothing is created in it. */
static int take_on_root(struct pv_host_lock *l, bool exclusive, long long deadline, struct pv_error *err) {
        const struct pv_host *h = l->h;
        int fd = openat(h->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return pv_error_set_errno(err, errno, "cannot open '%s' to lock it", root_name(h));
        while (flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) < 0) {
                if ((errno != EWOULDBLOCK && errno != EINTR) || now_ms() >= deadline) {
                        int e = errno;
                        close(fd);
                        if (e != EWOULDBLOCK && e != EINTR)
                                return pv_error_set_errno(err, e, "cannot lock '%s'", root_name(h));
                        return pv_error_set(err, PV_ECONFLICT,
                                            "another pvfio holds the host lock of '%s' (the root directory: it has no "
                                            "run/); wait for it to finish, or give --lock-timeout SECONDS to wait longer",
                                            root_name(h));
                }
                sleep_ms(POLL_MS);
        }
        l->fd = fd;
        l->on_root = true;
        return 0;
}

int pv_host_lock_take(const struct pv_host *h, bool exclusive, unsigned timeout_s, const char *command,
                      struct pv_host_lock **ret, struct pv_error *err) {
        struct pv_host_lock *l = pv_xcalloc(1, sizeof *l);
        l->h = h;
        l->fd = -1;
        l->exclusive = exclusive;
        long long deadline = now_ms() + (long long)timeout_s * 1000;
        struct stat dst;
        if (pv_fs_stat(h->dirfd, LOCK_DIR, true, &dst) < 0 || !S_ISDIR(dst.st_mode)) {
                int r = take_on_root(l, exclusive, deadline, err);
                if (r < 0) {
                        free(l);
                        return r;
                }
                *ret = l;
                return 0;
        }
        for (unsigned spins = 0;; spins++) {
                int fd = pv_fs_open(h->dirfd, PV_HOSTLOCK_PATH, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK, 0644);
                if (fd == -ENOENT && spins < 1000)
                        continue;     /* run/ went away meanwhile: start over */
                if (fd < 0 && !exclusive && (fd == -EROFS || fd == -EACCES || fd == -EPERM)) {
                        *ret = l;     /* a plan on a read-only image: nothing can change it under us */
                        return 0;
                }
                if (fd < 0) {
                        free(l);
                        return pv_error_set_errno(err, -fd, "cannot open the host lock '%s' under '%s'",
                                                  PV_HOSTLOCK_PATH, root_name(h));
                }
                struct stat st;
                if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
                        close(fd);
                        free(l);
                        return pv_error_set(err, PV_EIO, "the host lock '%s' under '%s' is not a regular file",
                                            PV_HOSTLOCK_PATH, root_name(h));
                }
                if (flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) == 0) {
                        if (still_linked(h, fd)) {
                                if (exclusive && write_holder(fd, command) < 0) {
                                        int e = errno;
                                        close(fd);
                                        free(l);
                                        return pv_error_set_errno(err, e, "cannot write the host lock '%s' under '%s'",
                                                                  PV_HOSTLOCK_PATH, root_name(h));
                                }
                                l->fd = fd;
                                *ret = l;
                                return 0;
                        }
                        close(fd);    /* we locked a file that was just removed: take the new one */
                        continue;
                }
                int e = errno;
                close(fd);
                if (e != EWOULDBLOCK && e != EINTR) {
                        free(l);
                        return pv_error_set_errno(err, e, "cannot lock '%s' under '%s'", PV_HOSTLOCK_PATH,
                                                  root_name(h));
                }
                if (now_ms() >= deadline) {
                        free(l);
                        _cleanup_free_ char *who = holder_text(h);
                        return pv_error_set(err, PV_ECONFLICT,
                                            "%s holds the host lock of '%s' (%s); wait for it to finish, or give "
                                            "--lock-timeout SECONDS to wait longer",
                                            who ? who : "another pvfio", root_name(h), PV_HOSTLOCK_PATH);
                }
                sleep_ms(POLL_MS);
        }
}

void pv_host_lock_release(struct pv_host_lock *l) {
        if (!l)
                return;
        if (l->fd >= 0) {
                /* the last holder removes the file: try to become the only one first */
                if (!l->on_root && flock(l->fd, LOCK_EX | LOCK_NB) == 0 && still_linked(l->h, l->fd)) {
                        const char *base = NULL;
                        int pfd = pv_fs_open_parent(l->h->dirfd, PV_HOSTLOCK_PATH, &base);
                        if (pfd >= 0) {
                                unlinkat(pfd, base, 0);
                                close(pfd);
                        }
                }
                close(l->fd);
        }
        free(l);
}

/* ------------------------------------------------------------- temp files */

/* ".NAME.pvfio-PID-HEX" → PID, or 0 when the name is not a pvfio temporary file. */
static long temp_pid(const char *name) {
        if (name[0] != '.')
                return 0;
        const char *m = strstr(name, ".pvfio-");
        const char *last = NULL;
        for (; m; m = strstr(m + 1, ".pvfio-"))
                last = m;
        if (!last || last == name)
                return 0;
        const char *p = last + 7;
        char *end;
        long pid = strtol(p, &end, 10);
        if (end == p || pid <= 0 || *end != '-' || !end[1] || end[strspn(end + 1, "0123456789abcdef") + 1])
                return 0;
        return pid;
}

static bool pid_dead(long pid) {
        return pid != (long)getpid() && kill((pid_t)pid, 0) < 0 && errno == ESRCH;
}

static int push_fmt(struct pv_strv *v, struct pv_error *err, const char *dir, const char *name, const char *why) {
        if (!v)
                return 0;
        char *s = NULL;
        int n = why ? asprintf(&s, "%s/%s: %s", dir, name, why) : asprintf(&s, "%s/%s", dir, name);
        return pv_strv_push_take(v, n < 0 ? NULL : s, err);
}

int pv_host_clean_temps(const struct pv_host *h, const struct pv_strv *dirs, struct pv_strv *ret_removed,
                        struct pv_strv *ret_left, struct pv_error *err) {
        int r = 0;
        for (size_t i = 0; r == 0 && i < dirs->n; i++) {
                int fd = pv_fs_open(h->dirfd, dirs->v[i], O_RDONLY | O_DIRECTORY, 0);
                if (fd < 0)
                        continue;    /* absent (or not a directory): nothing of ours in it */
                DIR *d = fdopendir(fd);
                if (!d) {
                        close(fd);
                        continue;
                }
                struct dirent *e;
                while (r == 0 && (e = readdir(d))) {
                        long pid = temp_pid(e->d_name);
                        if (!pid)
                                continue;
                        if (!pid_dead(pid)) {
                                if (pid != (long)getpid())
                                        r = push_fmt(ret_left, err, dirs->v[i], e->d_name,
                                                     "its pvfio process is still running");
                                continue;
                        }
                        if (unlinkat(dirfd(d), e->d_name, 0) < 0 && errno != ENOENT)
                                r = push_fmt(ret_left, err, dirs->v[i], e->d_name, strerror(errno));
                        else
                                r = push_fmt(ret_removed, err, dirs->v[i], e->d_name, NULL);
                }
                if (r == 0 && ret_removed && ret_removed->n)
                        fsync(dirfd(d));
                closedir(d);
        }
        return r;
}
