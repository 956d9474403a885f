/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The host executor: runs exactly the host actions of a plan under a root,
 * with atomic file replacement, a journal of pre-pvfio bytes, and rollback.
 *
 * This file: plain files (confined reads, atomic writes), commands and apply; the
 * planner's inputs, the journal (its format is described in hostexec_journal.c)
 * and rollback are in the other pieces listed in hostexec_int.h.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "pvfio/buf.h"
#include "pvfio/cleanup.h"
#include "pvfio/hostfs.h"
#include "pvfio/hostlock.h"
#include "pvfio/hostplan.h"
#include "pvfio/xalloc.h"

#include "hostexec_int.h"

/* ------------------------------------------------------------ plain files */

const char *hx_root_name(const struct pv_host *h) {
        return h->root ? h->root : "/";
}

/* Read a root-relative regular file (confined to the root, never blocking on a FIFO).
 * Absent: *ret_present false, no error. */
int hx_read_rel_cap(const struct pv_host *h, const char *path, size_t cap, bool *ret_present, char **ret,
                 size_t *ret_len, struct stat *ret_st, struct pv_error *err) {
        char *out = NULL;
        size_t len = 0;
        struct stat st;
        int r = pv_fs_read_regular(h->dirfd, path, O_NOFOLLOW, cap, &out, &len, &st);
        if (r == -ENOENT) {
                *ret_present = false;
                *ret = NULL;
                if (ret_len)
                        *ret_len = 0;
                return 0;
        }
        if (r == -EINVAL || r == -ELOOP)
                return pv_error_set(err, PV_EIO, "'%s' under '%s' is not a regular file", path, hx_root_name(h));
        if (r == -EFBIG)
                return pv_error_set(err, PV_ETOOBIG, "'%s' under '%s' is larger than %zu bytes", path, hx_root_name(h),
                                    cap);
        if (r < 0)
                return pv_error_set_errno(err, -r, "cannot read '%s' under '%s'", path, hx_root_name(h));
        *ret_present = true;
        *ret = out;
        if (ret_len)
                *ret_len = len;
        if (ret_st)
                *ret_st = st;
        return 0;
}

int hx_read_rel(const struct pv_host *h, const char *path, bool *ret_present, char **ret, size_t *ret_len,
             struct stat *ret_st, struct pv_error *err) {
        return hx_read_rel_cap(h, path, FILE_MAX_BYTES, ret_present, ret, ret_len, ret_st, err);
}

/* mkdirat/unlinkat/readlinkat of a root-relative path: the parent is opened confined first. */
int hx_at_parent(const struct pv_host *h, const char *path, int (*op)(int dfd, const char *base, void *ud),
                     void *ud) {
        const char *base = NULL;
        int pfd = pv_fs_open_parent(h->dirfd, path, &base);
        if (pfd < 0) {
                errno = -pfd;
                return -1;
        }
        int r = op(pfd, base, ud);
        int e = errno;
        close(pfd);
        errno = e;
        return r;
}

static int op_mkdir(int dfd, const char *base, void *ud) {
        (void)ud;
        if (mkdirat(dfd, base, 0755) < 0)
                return -1;
        return fchmodat(dfd, base, 0755, 0);   /* 0755 whatever the umask */
}

int hx_op_rmdir(int dfd, const char *base, void *ud) {
        (void)ud;
        return unlinkat(dfd, base, AT_REMOVEDIR);
}

static int write_all(int fd, const void *data, size_t len) {
        const char *p = data;
        while (len > 0) {
                ssize_t n = write(fd, p, len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        return -EIO;
                p += n;
                len -= (size_t)n;
        }
        return 0;
}

/* Split "a/b/c" into the directory ("a/b", or "." ) and the base name. */
static int split_path(const char *path, char **ret_dir, const char **ret_base, struct pv_error *err) {
        const char *slash = strrchr(path, '/');
        char *dir = slash ? strndup(path, (size_t)(slash - path)) : strdup(".");
        if (!dir)
                return pv_error_set(err, PV_ENOMEM, "out of memory");
        *ret_dir = dir;
        *ret_base = slash ? slash + 1 : path;
        return 0;
}

/* Directories of `dir` (root-relative) that do not exist yet, outermost first. */
static int missing_dirs(const struct pv_host *h, const char *dir, struct pv_strv *out, struct pv_error *err) {
        if (!dir || !*dir || strcmp(dir, ".") == 0)
                return 0;
        size_t len = strlen(dir);
        for (size_t i = 1; i <= len; i++) {
                if (dir[i] != '/' && dir[i] != '\0')
                        continue;
                _cleanup_free_ char *prefix = strndup(dir, i);
                if (!prefix)
                        return pv_error_set(err, PV_ENOMEM, "out of memory");
                struct stat st;
                int sr = pv_fs_stat(h->dirfd, prefix, true, &st);
                if (sr == 0) {
                        if (!S_ISDIR(st.st_mode))
                                return pv_error_set(err, PV_EIO, "'%s' under '%s' is not a directory", prefix,
                                                    hx_root_name(h));
                        continue;
                }
                if (sr != -ENOENT)
                        return pv_error_set_errno(err, -sr, "cannot stat '%s' under '%s'", prefix, hx_root_name(h));
                if (!pv_strv_contains(out, prefix)) {
                        int r = pv_strv_push(out, prefix, err);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

static int mkdirs(const struct pv_host *h, const char *dir, struct pv_strv *created, struct pv_error *err) {
        struct pv_strv miss = PV_STRV_INIT;
        int r = missing_dirs(h, dir, &miss, err);
        for (size_t i = 0; r == 0 && i < miss.n; i++) {
                if (hx_at_parent(h, miss.v[i], op_mkdir, NULL) < 0) {
                        if (errno == EEXIST)
                                continue;
                        r = pv_error_set_errno(err, errno, "cannot create directory '%s' under '%s'", miss.v[i],
                                               hx_root_name(h));
                        break;
                }
                if (created && !pv_strv_contains(created, miss.v[i]))
                        r = pv_strv_push(created, miss.v[i], err);
        }
        pv_strv_done(&miss);
        return r;
}

/*
 * The atomic replacement. mode/uid/gid < 0: keep the existing file's (or `new_mode` and the
 * caller's ids for a new file).
 */
int hx_write_atomic(const struct pv_host *h, const char *path, const void *data, size_t len, unsigned new_mode,
                        long force_mode, long force_uid, long force_gid, struct pv_strv *created,
                        struct pv_error *err) {
        _cleanup_free_ char *dir = NULL;
        const char *base = NULL;
        int r = split_path(path, &dir, &base, err);
        if (r < 0)
                return r;
        r = mkdirs(h, dir, created, err);
        if (r < 0)
                return r;
        _cleanup_close_ int dfd = pv_fs_open(h->dirfd, dir, O_RDONLY | O_DIRECTORY, 0);
        if (dfd < 0)
                return pv_error_set_errno(err, -dfd, "cannot open directory '%s' under '%s'", dir, hx_root_name(h));
        struct stat old;
        bool have_old = fstatat(dfd, base, &old, AT_SYMLINK_NOFOLLOW) == 0;
        if (!have_old && errno != ENOENT)
                return pv_error_set_errno(err, errno, "cannot stat '%s' under '%s'", path, hx_root_name(h));
        if (have_old && !S_ISREG(old.st_mode))
                return pv_error_set(err, PV_EIO, "refusing to replace '%s' under '%s': not a regular file", path,
                                    hx_root_name(h));
        mode_t mode = force_mode >= 0 ? (mode_t)force_mode : have_old ? old.st_mode & 07777 : (mode_t)new_mode;
        _cleanup_free_ char *tmp = NULL;
        int fd = -1;
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        for (unsigned attempt = 0; attempt < 16 && fd < 0; attempt++) {
                free(tmp);
                tmp = pv_asprintf(err, ".%s.pvfio-%ld-%lx", base, (long)getpid(),
                                  (unsigned long)(ts.tv_nsec + attempt * 7919));
                if (!tmp)
                        return -PV_ENOMEM;
                fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
                if (fd < 0 && errno != EEXIST)
                        break;
        }
        if (fd < 0)
                return pv_error_set_errno(err, errno, "cannot create a temporary file next to '%s' under '%s'", path,
                                          hx_root_name(h));
        int e = write_all(fd, data, len);
        const char *step = "write";
        if (!e && fchmod(fd, mode) < 0)
                e = -errno, step = "set the mode of";
        if (!e) {
                uid_t uid = force_uid >= 0 ? (uid_t)force_uid : have_old ? old.st_uid : (uid_t)-1;
                gid_t gid = force_gid >= 0 ? (gid_t)force_gid : have_old ? old.st_gid : (gid_t)-1;
                struct stat now;
                if (fstat(fd, &now) == 0 && ((uid != (uid_t)-1 && uid != now.st_uid) || (gid != (gid_t)-1 && gid != now.st_gid)) &&
                    fchown(fd, uid, gid) < 0)
                        e = -errno, step = "set the owner of";
        }
        if (!e && fsync(fd) < 0)
                e = -errno, step = "sync";
        if (close(fd) < 0 && !e)
                e = -errno, step = "close";
        if (!e && renameat(dfd, tmp, dfd, base) < 0)
                e = -errno, step = "rename into place";
        if (e) {
                unlinkat(dfd, tmp, 0);
                return pv_error_set_errno(err, -e, "cannot %s '%s' under '%s' (the old file is unchanged)", step, path,
                                          hx_root_name(h));
        }
        if (fsync(dfd) < 0)
                return pv_error_set_errno(err, errno, "cannot sync directory of '%s' under '%s'", path, hx_root_name(h));
        return 0;
}

int pv_host_write_file_atomic(const struct pv_host *h, const char *path, const void *data, size_t len, unsigned mode,
                              struct pv_strv *ret_created, struct pv_error *err) {
        return hx_write_atomic(h, path, data, len, mode, -1, -1, -1, ret_created, err);
}

int hx_remove_rel(const struct pv_host *h, const char *path, struct pv_error *err) {
        _cleanup_free_ char *dir = NULL;
        const char *base = NULL;
        int r = split_path(path, &dir, &base, err);
        if (r < 0)
                return r;
        _cleanup_close_ int dfd = pv_fs_open(h->dirfd, dir, O_RDONLY | O_DIRECTORY, 0);
        if (dfd < 0)
                return dfd == -ENOENT ? 0
                                      : pv_error_set_errno(err, -dfd, "cannot open directory '%s' under '%s'", dir,
                                                           hx_root_name(h));
        if (unlinkat(dfd, base, 0) < 0 && errno != ENOENT)
                return pv_error_set_errno(err, errno, "cannot remove '%s' under '%s'", path, hx_root_name(h));
        if (fsync(dfd) < 0)
                return pv_error_set_errno(err, errno, "cannot sync directory of '%s' under '%s'", path, hx_root_name(h));
        return 0;
}

/* Write a sysfs attribute (no O_CREAT: a missing attribute is an error). */
static int write_attr(const struct pv_host *h, const char *path, const char *value, struct pv_error *err) {
        int fd = pv_fs_open(h->dirfd, path, O_WRONLY | O_TRUNC | O_NOCTTY | O_NONBLOCK, 0);
        if (fd < 0)
                return pv_error_set_errno(err, -fd, "cannot open '%s' under '%s'", path, hx_root_name(h));
        struct stat st;
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
                close(fd);
                return pv_error_set(err, PV_EIO, "'%s' under '%s' is not a regular file", path, hx_root_name(h));
        }
        int e = write_all(fd, value, strlen(value));
        if (close(fd) < 0 && !e)
                e = -errno;
        if (e)
                return pv_error_set_errno(err, -e, "cannot write '%s' to '%s' under '%s'", value, path, hx_root_name(h));
        return 0;
}

/* ------------------------------------------------------------- commands */

int pv_command_argv(const char *line, char ***ret, struct pv_error *err) {
        struct pv_strv v = PV_STRV_INIT;
        for (const char *p = line ? line : ""; *p;) {
                while (*p == ' ')
                        p++;
                if (!*p)
                        break;
                const char *e = strchr(p, ' ');
                size_t n = e ? (size_t)(e - p) : strlen(p);
                int r = pv_strv_push_take(&v, strndup(p, n), err);
                if (r < 0) {
                        pv_strv_done(&v);
                        return r;
                }
                p += n;
        }
        if (v.n == 0)
                return pv_error_set(err, PV_EINVAL, "empty command");
        *ret = v.v;
        return 0;
}

void pv_argv_free(char **argv) {
        for (size_t i = 0; argv && argv[i]; i++)
                free(argv[i]);
        free(argv);
}

int hx_run_line(const struct pv_runner *runner, const char *line, struct pv_error *err) {
        if (!runner || !runner->run)
                return pv_error_set(err, PV_EUNSUPPORTED, "no command runner to run '%s'", line);
        char **argv = NULL;
        int r = pv_command_argv(line, &argv, err);
        if (r < 0)
                return r;
        r = runner->run(runner->ud, (const char *const *)argv, err);
        pv_argv_free(argv);
        return r;
}

/* A run-command action: its argv payload, never its display text (pv_host_apply refuses an action
 * without payload before anything changes). */
static int run_action(const struct pv_runner *runner, const struct pv_action *a, struct pv_error *err) {
        const struct pv_command_payload *c = pv_action_command(a);
        if (!c)
                return pv_error_set(err, PV_EINVAL, "run-command action without its command payload");
        if (!runner || !runner->run)
                return pv_error_set(err, PV_EUNSUPPORTED, "no command runner to run '%s'",
                                    a->after ? a->after : c->argv[0]);
        return runner->run(runner->ud, (const char *const *)c->argv, err);
}

int pv_host_record_command(const struct pv_host *h, const char *const argv[], struct pv_error *err) {
        _cleanup_free_ char *dir = NULL;
        const char *base = NULL;
        int r = split_path(PV_HOSTPLAN_COMMANDS_LOG, &dir, &base, err);
        if (r == 0)
                r = mkdirs(h, dir, NULL, err);
        if (r < 0)
                return r;
        struct pv_buf b = PV_BUF_INIT;
        for (size_t i = 0; r == 0 && argv[i]; i++)
                r = pv_buf_addf(&b, err, "%s%s", i ? " " : "", argv[i]);
        if (r == 0)
                r = pv_buf_addch(&b, '\n', err);
        if (r == 0) {
                int fd = pv_fs_open(h->dirfd, PV_HOSTPLAN_COMMANDS_LOG, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW, 0644);
                if (fd < 0) {
                        r = pv_error_set_errno(err, -fd, "cannot open '%s' under '%s'", PV_HOSTPLAN_COMMANDS_LOG,
                                               hx_root_name(h));
                } else {
                        int e = write_all(fd, b.buf, b.len);
                        if (close(fd) < 0 && !e)
                                e = -errno;
                        if (e)
                                r = pv_error_set_errno(err, -e, "cannot write '%s' under '%s'", PV_HOSTPLAN_COMMANDS_LOG,
                                                       hx_root_name(h));
                }
        }
        pv_buf_release(&b);
        return r;
}

/* ---------------------------------------------------------------- apply */


bool hx_same_bytes(bool a_present, const char *a, size_t alen, const char *b) {
        if (!a_present || !b)
                return !a_present && !b;
        return alen == strlen(b) && memcmp(a, b, alen) == 0;
}

bool hx_same_digest(bool present, const char *cur, size_t len, const char *sha) {
        if (!present || !sha)
                return !present && !sha;
        char got[PV_SHA256_HEX];
        pv_sha256_hex(cur, len, got);
        return strcasecmp(got, sha) == 0;
}

static void fail(struct pv_action *a, struct pv_error *e) {
        a->status = PV_ACT_FAILED;
        free(a->error);
        a->error = strdup(pv_error_message(e));
        pv_error_done(e);
}

static int do_file(const struct pv_host *h, struct journal *j, struct pv_action *a, struct pv_error *e) {
        const struct pv_file_payload *fp = pv_action_file(a);
        if (!fp)
                return pv_error_set(e, PV_EINVAL, "%s action without its file payload", pv_action_kind_to_string(a->kind));
        const char *path = fp->path;
        bool present;
        _cleanup_free_ char *cur = NULL;
        size_t len;
        int r = hx_read_rel(h, path, &present, &cur, &len, NULL, e);
        if (r < 0)
                return r;
        bool bytes = a->kind == PV_ACT_INSTALL_FILE;
        if (bytes && !fp->data)
                return pv_error_set(e, PV_EINVAL, "install-file action for '%s' without its bytes", path);
        if (bytes ? !hx_same_digest(present, cur, len, fp->before_sha256) : !hx_same_bytes(present, cur, len, a->before))
                return pv_error_set(e, PV_ECONFLICT,
                                    "'%s' under '%s' changed since the plan was made; run the plan again", path,
                                    hx_root_name(h));
        struct jfile *f = hx_journal_find(j, path);
        /* command-line tokens pvfio is about to add are journalled before the write, so a kill right after
         * it cannot leave a token pvfio added that the journal does not call pvfio's */
        bool added = false;
        for (size_t k = 0; f && k < a->n_keys; k++) {
                const char *tok = a->keys[k].after;
                if (tok && !pv_strv_contains(&f->owned, tok)) {
                        r = pv_strv_push(&f->owned, tok, e);
                        if (r < 0)
                                return r;
                        added = true;
                }
        }
        if (added && (r = hx_journal_save(h, j, e)) < 0)
                return r;
        if (a->kind == PV_ACT_REMOVE_FILE)
                r = hx_remove_rel(h, path, e);
        else if (bytes)
                r = hx_write_atomic(h, path, fp->data, fp->len, fp->mode ? fp->mode : 0644, -1, -1, -1, NULL, e);
        else   /* mode 0: keep an existing file's; a new one gets 0644 */
                r = hx_write_atomic(h, path, a->after, strlen(a->after), fp->mode ? fp->mode : 0644, -1, -1, -1, NULL, e);
        if (r < 0)
                return r;
        if (f) {
                free(f->written);
                f->written = NULL;
                free(f->written_sha256);
                f->written_sha256 = NULL;
                f->has_written = true;
                f->written_present = a->kind != PV_ACT_REMOVE_FILE;
                if (bytes) {
                        f->written_sha256 = pv_xstrdup(fp->sha256);
                } else if (f->written_present) {
                        f->written = strdup(a->after);
                        f->written_len = strlen(a->after);
                        if (!f->written)
                                return pv_error_set(e, PV_ENOMEM, "out of memory");
                }
                /* tokens pvfio took away are no longer its own */
                for (size_t k = 0; k < a->n_keys; k++) {
                        const struct pv_key_change *kc = &a->keys[k];
                        if (kc->before && (!kc->after || strcmp(kc->before, kc->after) != 0))
                                hx_strv_remove(&f->owned, kc->before);
                }
        }
        return 0;
}

static int valid_bdf(const char *s) {
        struct pv_pci_addr a;
        return s && pv_pci_addr_parse(s, &a, NULL) == 0 && a.func != PV_PCI_FUNC_ALL && strchr(s, '/') == NULL;
}

static const char *key_after(const struct pv_action *a, const char *key, const char **ret_before) {
        for (size_t i = 0; i < a->n_keys; i++)
                if (strcmp(a->keys[i].key, key) == 0) {
                        if (ret_before)
                                *ret_before = a->keys[i].before;
                        return a->keys[i].after;
                }
        return NULL;
}

static int do_rebind(const struct pv_host *h, const struct pv_action *a, struct pv_error *e) {
        const struct pv_rebind_payload *b = pv_action_rebind(a);
        const char *bdf = b ? b->addr : NULL;
        if (!valid_bdf(bdf))
                return pv_error_set(e, PV_EINVAL, "'%s' is not a PCI function address", bdf ? bdf : "");
        const char *drv = b->driver;
        if (!drv)
                drv = "vfio-pci";
        _cleanup_free_ char *ov = pv_asprintf(e, "sys/bus/pci/devices/%s/driver_override", bdf);
        _cleanup_free_ char *link = pv_asprintf(e, "sys/bus/pci/devices/%s/driver", bdf);
        _cleanup_free_ char *unbind = pv_asprintf(e, "sys/bus/pci/devices/%s/driver/unbind", bdf);
        if (!ov || !link || !unbind)
                return -PV_ENOMEM;
        int r = write_attr(h, ov, drv, e);
        if (r < 0)
                return r;
        struct stat st;
        if (pv_fs_stat(h->dirfd, link, true, &st) == 0) {
                r = write_attr(h, unbind, bdf, e);
                if (r < 0)
                        return r;
        }
        r = write_attr(h, "sys/bus/pci/drivers_probe", bdf, e);
        if (r < 0)
                return r;
        if (pv_fs_is_real_root(h->dirfd)) {
                /* on the live system the kernel answers at once: check the result */
                char target[4096];
                const char *lbase = NULL;
                _cleanup_close_ int pfd = pv_fs_open_parent(h->dirfd, link, &lbase);
                ssize_t n = pfd < 0 ? -1 : readlinkat(pfd, lbase, target, sizeof target - 1);
                const char *now = "no driver";
                if (n > 0) {
                        target[n] = '\0';
                        const char *slash = strrchr(target, '/');
                        now = slash ? slash + 1 : target;
                }
                if (strcmp(now, drv) != 0)
                        return pv_error_set(e, PV_EIO, "%s is on '%s' after the rebind, not '%s'", bdf, now, drv);
        }
        return 0;
}

static int do_sriov(const struct pv_host *h, const struct pv_action *a, struct pv_error *e) {
        const struct pv_sriov_payload *s = pv_action_sriov(a);
        if (!s || !valid_bdf(s->pf))
                return pv_error_set(e, PV_EINVAL, "malformed set-sriov action for '%s'", s && s->pf ? s->pf : "");
        /* the count the plan saw (its key), to step through 0 below */
        const char *before = NULL;
        (void)key_after(a, "sriov_numvfs", &before);
        char after[16];
        snprintf(after, sizeof after, "%u", s->numvfs);
        _cleanup_free_ char *path = pv_asprintf(e, "sys/bus/pci/devices/%s/sriov_numvfs", s->pf);
        if (!path)
                return -PV_ENOMEM;
        /* the kernel refuses to change a non-zero count to another non-zero count */
        if (before && strcmp(before, "0") != 0 && strcmp(after, "0") != 0) {
                int r = write_attr(h, path, "0", e);
                if (r < 0)
                        return r;
        }
        return write_attr(h, path, after, e);
}

/* Record the original of every file the plan will touch, and the directories it will create. */
static int journal_prepare(const struct pv_host *h, struct journal *j, const struct pv_plan *plan, bool *ret_dirty,
                           struct pv_error *err) {
        bool dirty = false;
        int r = 0;
        for (size_t i = 0; r == 0 && i < plan->n; i++) {
                const struct pv_action *a = &plan->actions[i];
                if (a->kind == PV_ACT_RUN_COMMAND && a->before && !a->blocked)
                        dirty = true;     /* its undo will be journalled: the journal's directories count */
                const char *path = hx_file_action_path(a);
                if (!hx_is_file_action(a->kind) || a->blocked || !path)
                        continue;
                if (strstr(path, "..") || path[0] == '/')
                        return pv_error_set(err, PV_EINVAL, "refusing file action outside the root: '%s'", path);
                if (!hx_journal_find(j, path)) {
                        struct stat st;
                        bool present;
                        char *cur = NULL;
                        size_t len;
                        r = hx_read_rel(h, path, &present, &cur, &len, &st, err);
                        if (r < 0)
                                break;
                        struct jfile *f = hx_journal_add(j, path, err);
                        if (!f) {
                                free(cur);
                                return -PV_ENOMEM;
                        }
                        f->existed = present;
                        f->content = cur;
                        f->len = len;
                        if (present) {
                                f->mode = st.st_mode & 07777;
                                f->uid = st.st_uid;
                                f->gid = st.st_gid;
                        }
                        dirty = true;
                }
                /* the refreshes this file needs are owed from now until they succeed */
                r = hx_owe(&j->owed, pv_hostplan_refresh_for_path(path), &dirty, err);
                if (r < 0)
                        break;
                if (a->kind != PV_ACT_REMOVE_FILE) {
                        _cleanup_free_ char *dir = NULL;
                        const char *base;
                        size_t before = j->dirs.n;
                        r = split_path(path, &dir, &base, err);
                        if (r == 0)
                                r = missing_dirs(h, dir, &j->dirs, err);
                        dirty |= j->dirs.n != before;
                }
        }
        if (r == 0 && dirty) {
                /* the journal's own directories too, so rollback leaves no trace */
                _cleanup_free_ char *dir = NULL;
                const char *base;
                r = split_path(PV_HOSTPLAN_JOURNAL, &dir, &base, err);
                if (r == 0)
                        r = missing_dirs(h, dir, &j->dirs, err);
        }
        *ret_dirty = dirty;
        return r;
}

/* The executors read only the typed payloads: every host action must carry its kind's. A plan from an
 * older pvfio (format_version 1) or assembled without them is refused before anything changes. */
static int check_payloads(const struct pv_plan *plan, struct pv_error *err) {
        for (size_t i = 0; i < plan->n; i++) {
                const struct pv_action *a = &plan->actions[i];
                const struct pv_action_kind_info *k = pv_action_kind_info(a->kind);
                if (!pv_action_is_host(a->kind) || (k && a->payload_kind == k->payload))
                        continue;
                return pv_error_set(err, PV_EINVAL,
                                    "host action %zu (%s '%s') has no typed payload: it comes from an older pvfio "
                                    "or was assembled by hand; make the plan again with this pvfio",
                                    i + 1, pv_action_kind_to_string(a->kind), a->target ? a->target : "");
        }
        return 0;
}

/* The command line of a run-command action's argv payload (new string), or NULL. */
static char *payload_line(const struct pv_action *a) {
        const struct pv_command_payload *c = pv_action_command(a);
        if (!c)
                return NULL;
        struct pv_strv words = { .v = c->argv };
        while (c->argv[words.n])
                words.n++;
        char *line = pv_strv_join(&words, " ", NULL);
        if (!line)
                pv_oom(0);
        return line;
}

int pv_host_apply(const struct pv_host *h, struct pv_plan *plan, const struct pv_runner *runner,
                  struct pv_error *err) {
        int r = check_payloads(plan, err);
        if (r < 0)
                return pv_error_wrap(err, "nothing was changed");
        struct journal j;
        r = hx_journal_load(h, &j, err);
        if (r < 0)
                return pv_error_wrap(err, "nothing was changed");
        /* temporary files a killed run left next to the files this one touches */
        struct pv_strv tdirs = PV_STRV_INIT;
        r = hx_temp_dirs(&j, plan, &tdirs, err);
        if (r == 0)
                r = pv_host_clean_temps(h, &tdirs, NULL, NULL, err);
        pv_strv_done(&tdirs);
        if (r < 0) {
                hx_journal_done(&j);
                return pv_error_wrap(err, "nothing was changed");
        }
        bool dirty = false;
        r = journal_prepare(h, &j, plan, &dirty, err);
        if (r == 0 && dirty)
                r = hx_journal_save(h, &j, err);
        if (r < 0) {
                hx_journal_done(&j);
                return pv_error_wrap(err, "nothing was changed");
        }
        bool changed = false;
        for (size_t i = 0; i < plan->n; i++) {
                struct pv_action *a = &plan->actions[i];
                if (!pv_action_is_host(a->kind))
                        continue;
                if (a->blocked) {
                        a->status = PV_ACT_BLOCKED;
                        continue;
                }
                if (a->depends_on > 0 && (size_t)a->depends_on <= plan->n &&
                    plan->actions[a->depends_on - 1].status != PV_ACT_DONE) {
                        a->status = PV_ACT_SKIPPED;
                        free(a->error);
                        a->error = pv_asprintf(NULL, "skipped: action %d did not succeed", a->depends_on);
                        continue;
                }
                struct pv_error e = PV_ERROR_INIT;
                int rr;
                switch (a->kind) {
                case PV_ACT_WRITE_FILE:
                case PV_ACT_EDIT_FILE:
                case PV_ACT_REMOVE_FILE:
                case PV_ACT_INSTALL_FILE:
                        rr = do_file(h, &j, a, &e);
                        if (rr == 0)
                                changed = true;
                        if (rr == 0 && a->n_keys) {
                                /* owned tokens must survive a crash later in the run; a failed save here
                                 * does not undo the write, the final save tries again */
                                struct pv_error je = PV_ERROR_INIT;
                                if (hx_journal_save(h, &j, &je) == 0)
                                        changed = false;
                                pv_error_done(&je);
                        }
                        break;
                case PV_ACT_RUN_COMMAND:
                        /* the undo is journalled before the command runs: a kill in between leaves an undo
                         * of something that may not have happened, which rollback can run harmlessly */
                        rr = 0;
                        if (a->before && !pv_strv_contains(&j.undo, a->before)) {
                                rr = pv_strv_push(&j.undo, a->before, &e);
                                if (rr == 0)
                                        rr = hx_journal_save(h, &j, &e);
                        }
                        if (rr == 0)
                                rr = run_action(runner, a, &e);
                        /* a refresh is owed until it succeeded */
                        if (rr == 0) {
                                _cleanup_free_ char *line = payload_line(a);
                                if (line && hx_is_refresh_command(line) && hx_strv_remove(&j.owed, line))
                                        rr = hx_journal_save(h, &j, &e);
                        }
                        break;
                case PV_ACT_REBIND_DEVICE:
                        rr = do_rebind(h, a, &e);
                        break;
                case PV_ACT_SET_SRIOV:
                        rr = do_sriov(h, a, &e);
                        break;
                default:
                        rr = pv_error_set(&e, PV_EUNSUPPORTED, "not a host action");
                        break;
                }
                if (rr < 0)
                        fail(a, &e);
                else
                        a->status = PV_ACT_DONE;
        }
        r = 0;
        if (changed) {
                struct pv_error e = PV_ERROR_INIT;
                /* the files are written; a journal that lags behind only loses the 'written' notes */
                if (hx_journal_save(h, &j, &e) < 0)
                        pv_error_done(&e);
        }
        hx_journal_done(&j);
        return r;
}
