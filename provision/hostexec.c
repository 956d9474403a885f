/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The host executor: runs exactly the host actions of a plan under a root,
 * with atomic file replacement, a journal of pre-pvfio bytes, and rollback.
 *
 * Journal (var/lib/pvfio/journal.json under the root), written atomically
 * BEFORE the first change of any file it lists:
 *   { "format_version": 1,
 *     "files": [ { "path": "etc/modprobe.d/pvfio.conf", "existed": false },
 *                { "path": "etc/kernel/cmdline", "existed": true, "content": "root=… boot=zfs\n",
 *                  "mode": 420, "uid": 0, "gid": 0,
 *                  "written": "root=… boot=zfs iommu=pt\n",      (what pvfio last left there; null = removed)
 *                  "owned_args": ["iommu=pt"] } ],                 (tokens pvfio added to a command line)
 *     "dirs": ["etc/modules-load.d", …],                           (directories pvfio created, outermost first)
 *     "undo": ["systemctl disable pve-nvidia-sriov@ALL.service"],  (commands rollback runs, last first;
 *                                                                   journalled before the command runs)
 *     "refresh_owed": ["update-initramfs -u -k all"],           (refresh commands whose inputs changed and
 *                                                                   that have not succeeded since: journalled
 *                                                                   before the files are written, cleared after
 *                                                                   the command succeeded; planned again)
 *     "rollback_started": true }                                   (a rollback began: refresh_owed is what
 *                                                                   its restores need)
 * Content that is not valid UTF-8 is stored as "content_base64" / "written_base64". What pvfio wrote
 * with an install-file action (a ROM image) is journalled as its digest, "written_sha256": only
 * the previous bytes are needed to restore, and the journal stays small.
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
#include "pvfio/bytes.h"
#include "pvfio/cleanup.h"
#include "pvfio/hostfs.h"
#include "pvfio/hostlock.h"
#include "pvfio/hostplan.h"

#define JOURNAL_MAX_BYTES (64u * 1024 * 1024) /* previous bytes of every file, ROM images (≤ 4 MiB each) included */
#define FILE_MAX_BYTES (4u * 1024 * 1024)

/* ------------------------------------------------------------ plain files */

static const char *root_name(const struct pv_host *h) {
        return h->root ? h->root : "/";
}

/* Read a root-relative regular file (confined to the root, never blocking on a FIFO).
 * Absent: *ret_present false, no error. */
static int read_rel_cap(const struct pv_host *h, const char *path, size_t cap, bool *ret_present, char **ret,
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
                return pv_error_set(err, PV_EIO, "'%s' under '%s' is not a regular file", path, root_name(h));
        if (r == -EFBIG)
                return pv_error_set(err, PV_ETOOBIG, "'%s' under '%s' is larger than %zu bytes", path, root_name(h),
                                    cap);
        if (r < 0)
                return pv_error_set_errno(err, -r, "cannot read '%s' under '%s'", path, root_name(h));
        *ret_present = true;
        *ret = out;
        if (ret_len)
                *ret_len = len;
        if (ret_st)
                *ret_st = st;
        return 0;
}

static int read_rel(const struct pv_host *h, const char *path, bool *ret_present, char **ret, size_t *ret_len,
                    struct stat *ret_st, struct pv_error *err) {
        return read_rel_cap(h, path, FILE_MAX_BYTES, ret_present, ret, ret_len, ret_st, err);
}

/* mkdirat/unlinkat/readlinkat of a root-relative path: the parent is opened confined first. */
static int at_parent(const struct pv_host *h, const char *path, int (*op)(int dfd, const char *base, void *ud),
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

static int op_rmdir(int dfd, const char *base, void *ud) {
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
                                                    root_name(h));
                        continue;
                }
                if (sr != -ENOENT)
                        return pv_error_set_errno(err, -sr, "cannot stat '%s' under '%s'", prefix, root_name(h));
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
                if (at_parent(h, miss.v[i], op_mkdir, NULL) < 0) {
                        if (errno == EEXIST)
                                continue;
                        r = pv_error_set_errno(err, errno, "cannot create directory '%s' under '%s'", miss.v[i],
                                               root_name(h));
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
static int write_atomic(const struct pv_host *h, const char *path, const void *data, size_t len, unsigned new_mode,
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
                return pv_error_set_errno(err, -dfd, "cannot open directory '%s' under '%s'", dir, root_name(h));
        struct stat old;
        bool have_old = fstatat(dfd, base, &old, AT_SYMLINK_NOFOLLOW) == 0;
        if (!have_old && errno != ENOENT)
                return pv_error_set_errno(err, errno, "cannot stat '%s' under '%s'", path, root_name(h));
        if (have_old && !S_ISREG(old.st_mode))
                return pv_error_set(err, PV_EIO, "refusing to replace '%s' under '%s': not a regular file", path,
                                    root_name(h));
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
                                          root_name(h));
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
                                          root_name(h));
        }
        if (fsync(dfd) < 0)
                return pv_error_set_errno(err, errno, "cannot sync directory of '%s' under '%s'", path, root_name(h));
        return 0;
}

int pv_host_write_file_atomic(const struct pv_host *h, const char *path, const void *data, size_t len, unsigned mode,
                              struct pv_strv *ret_created, struct pv_error *err) {
        return write_atomic(h, path, data, len, mode, -1, -1, -1, ret_created, err);
}

static int remove_rel(const struct pv_host *h, const char *path, struct pv_error *err) {
        _cleanup_free_ char *dir = NULL;
        const char *base = NULL;
        int r = split_path(path, &dir, &base, err);
        if (r < 0)
                return r;
        _cleanup_close_ int dfd = pv_fs_open(h->dirfd, dir, O_RDONLY | O_DIRECTORY, 0);
        if (dfd < 0)
                return dfd == -ENOENT ? 0
                                      : pv_error_set_errno(err, -dfd, "cannot open directory '%s' under '%s'", dir,
                                                           root_name(h));
        if (unlinkat(dfd, base, 0) < 0 && errno != ENOENT)
                return pv_error_set_errno(err, errno, "cannot remove '%s' under '%s'", path, root_name(h));
        if (fsync(dfd) < 0)
                return pv_error_set_errno(err, errno, "cannot sync directory of '%s' under '%s'", path, root_name(h));
        return 0;
}

/* Write a sysfs attribute (no O_CREAT: a missing attribute is an error). */
static int write_attr(const struct pv_host *h, const char *path, const char *value, struct pv_error *err) {
        int fd = pv_fs_open(h->dirfd, path, O_WRONLY | O_TRUNC | O_NOCTTY | O_NONBLOCK, 0);
        if (fd < 0)
                return pv_error_set_errno(err, -fd, "cannot open '%s' under '%s'", path, root_name(h));
        struct stat st;
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
                close(fd);
                return pv_error_set(err, PV_EIO, "'%s' under '%s' is not a regular file", path, root_name(h));
        }
        int e = write_all(fd, value, strlen(value));
        if (close(fd) < 0 && !e)
                e = -errno;
        if (e)
                return pv_error_set_errno(err, -e, "cannot write '%s' to '%s' under '%s'", value, path, root_name(h));
        return 0;
}

/* --------------------------------------------------------------- base64 */

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static char *b64_encode(const unsigned char *in, size_t len) {
        char *out = malloc((len + 2) / 3 * 4 + 1), *o = out;
        if (!out)
                return NULL;
        for (size_t i = 0; i < len; i += 3) {
                unsigned v = (unsigned)in[i] << 16 | (i + 1 < len ? (unsigned)in[i + 1] << 8 : 0) |
                             (i + 2 < len ? in[i + 2] : 0);
                *o++ = b64[v >> 18 & 63];
                *o++ = b64[v >> 12 & 63];
                *o++ = i + 1 < len ? b64[v >> 6 & 63] : '=';
                *o++ = i + 2 < len ? b64[v & 63] : '=';
        }
        *o = '\0';
        return out;
}

static int b64_decode(const char *in, char **ret, size_t *ret_len) {
        size_t n = strlen(in);
        if (n % 4)
                return -1;
        char *out = malloc(n / 4 * 3 + 1);
        if (!out)
                return -1;
        size_t o = 0;
        for (size_t i = 0; i < n; i += 4) {
                unsigned v = 0;
                int pad = 0;
                for (int k = 0; k < 4; k++) {
                        const char *p = in[i + k] == '=' ? NULL : strchr(b64, in[i + k]);
                        if (in[i + k] == '=')
                                pad++;
                        else if (!p || !in[i + k] || pad) {
                                free(out);
                                return -1;
                        }
                        v = v << 6 | (p ? (unsigned)(p - b64) : 0);
                }
                out[o++] = (char)(v >> 16);
                if (pad < 2)
                        out[o++] = (char)(v >> 8 & 0xff);
                if (pad < 1)
                        out[o++] = (char)(v & 0xff);
        }
        out[o] = '\0';
        *ret = out;
        *ret_len = o;
        return 0;
}

/* -------------------------------------------------------------- journal */

struct jfile {
        char *path;
        bool existed;
        char *content;
        size_t len;
        long mode, uid, gid;
        bool has_written;        /* pvfio has written/removed it */
        bool written_present;
        char *written;
        size_t written_len;
        char *written_sha256;    /* install-file: the digest of what pvfio wrote, instead of `written` */
        struct pv_strv owned;
};

struct journal {
        bool loaded;             /* read from disk */
        struct jfile *f;
        size_t n;
        struct pv_strv dirs;
        struct pv_strv undo;
        struct pv_strv owed;     /* refresh commands owed */
        bool rolling_back;       /* a rollback started: `owed` is what its restores need */
};

static void journal_done(struct journal *j) {
        for (size_t i = 0; i < j->n; i++) {
                free(j->f[i].path);
                free(j->f[i].content);
                free(j->f[i].written);
                free(j->f[i].written_sha256);
                pv_strv_done(&j->f[i].owned);
        }
        free(j->f);
        pv_strv_done(&j->dirs);
        pv_strv_done(&j->undo);
        pv_strv_done(&j->owed);
        memset(j, 0, sizeof *j);
}

static struct jfile *journal_find(struct journal *j, const char *path) {
        for (size_t i = 0; i < j->n; i++)
                if (strcmp(j->f[i].path, path) == 0)
                        return &j->f[i];
        return NULL;
}

static struct jfile *journal_add(struct journal *j, const char *path, struct pv_error *err) {
        struct jfile *v = realloc(j->f, (j->n + 1) * sizeof *v);
        if (!v) {
                pv_error_set(err, PV_ENOMEM, "out of memory");
                return NULL;
        }
        j->f = v;
        struct jfile *f = &v[j->n];
        memset(f, 0, sizeof *f);
        f->mode = f->uid = f->gid = -1;
        f->path = strdup(path);
        if (!f->path) {
                pv_error_set(err, PV_ENOMEM, "out of memory");
                return NULL;
        }
        j->n++;
        return f;
}

static json_t *bytes_json(const char *s, size_t len, bool *ret_b64) {
        /* a NUL byte is valid UTF-8, but a journal with "\u0000" needs JSON_ALLOW_NUL to be read: base64 */
        json_t *v = memchr(s, '\0', len) ? NULL : json_stringn(s, len);
        *ret_b64 = false;
        if (v)
                return v;
        _cleanup_free_ char *e = b64_encode((const unsigned char *)s, len);
        *ret_b64 = true;
        return e ? json_string(e) : NULL;
}

static int strv_to_json(const struct pv_strv *v, json_t **ret) {
        json_t *a = json_array();
        if (!a)
                return -1;
        for (size_t i = 0; i < v->n; i++)
                if (json_array_append_new(a, json_string(v->v[i])) < 0) {
                        json_decref(a);
                        return -1;
                }
        *ret = a;
        return 0;
}

static int journal_save(const struct pv_host *h, const struct journal *j, struct pv_error *err) {
        json_t *root = json_object(), *files = json_array(), *dirs = NULL, *undo = NULL, *owed = NULL;
        int bad = !root || !files;
        for (size_t i = 0; !bad && i < j->n; i++) {
                const struct jfile *f = &j->f[i];
                json_t *o = json_object();
                bad = !o || json_array_append_new(files, o) < 0;
                if (bad)
                        break;
                bad |= json_object_set_new(o, "path", json_string(f->path)) < 0;
                bad |= json_object_set_new(o, "existed", json_boolean(f->existed)) < 0;
                if (f->existed) {
                        bool is64;
                        json_t *c = bytes_json(f->content ? f->content : "", f->len, &is64);
                        bad |= !c || json_object_set_new(o, is64 ? "content_base64" : "content", c) < 0;
                        bad |= json_object_set_new(o, "mode", json_integer(f->mode)) < 0;
                        bad |= json_object_set_new(o, "uid", json_integer(f->uid)) < 0;
                        bad |= json_object_set_new(o, "gid", json_integer(f->gid)) < 0;
                }
                if (f->has_written) {
                        if (f->written_present && f->written_sha256) {
                                bad |= json_object_set_new(o, "written_sha256", json_string(f->written_sha256)) < 0;
                        } else if (f->written_present) {
                                bool is64;
                                json_t *c = bytes_json(f->written ? f->written : "", f->written_len, &is64);
                                bad |= !c || json_object_set_new(o, is64 ? "written_base64" : "written", c) < 0;
                        } else {
                                bad |= json_object_set_new(o, "written", json_null()) < 0;
                        }
                }
                if (f->owned.n) {
                        json_t *a = NULL;
                        bad |= strv_to_json(&f->owned, &a) < 0 || json_object_set_new(o, "owned_args", a) < 0;
                }
        }
        bad = bad || strv_to_json(&j->dirs, &dirs) < 0 || strv_to_json(&j->undo, &undo) < 0 ||
              strv_to_json(&j->owed, &owed) < 0;
        if (!bad) {
                bad |= json_object_set_new(root, "format_version", json_integer(1)) < 0;
                bad |= json_object_set_new(root, "files", files) < 0;
                files = NULL;
                bad |= json_object_set_new(root, "dirs", dirs) < 0;
                dirs = NULL;
                bad |= json_object_set_new(root, "undo", undo) < 0;
                undo = NULL;
                bad |= json_object_set_new(root, "refresh_owed", owed) < 0;
                owed = NULL;
                if (j->rolling_back)
                        bad |= json_object_set_new(root, "rollback_started", json_true()) < 0;
        }
        char *text = bad ? NULL : json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        json_decref(root);
        json_decref(files);
        json_decref(dirs);
        json_decref(undo);
        json_decref(owed);
        if (!text)
                return pv_error_set(err, PV_ENOMEM, "out of memory");
        size_t len = strlen(text);
        text[len] = '\0';
        struct pv_buf b = PV_BUF_INIT;
        int r = pv_buf_add(&b, text, len, err);
        if (r == 0)
                r = pv_buf_addch(&b, '\n', err);
        free(text);
        if (r == 0)
                r = write_atomic(h, PV_HOSTPLAN_JOURNAL, b.buf, b.len, 0600, -1, -1, -1, NULL, err);
        pv_buf_release(&b);
        if (r < 0)
                return pv_error_wrap(err, "cannot write the journal");
        return 0;
}

static int json_bytes(json_t *o, const char *key, const char *key64, char **ret, size_t *ret_len, bool *ret_present) {
        json_t *v = json_object_get(o, key);
        *ret = NULL;
        *ret_len = 0;
        *ret_present = false;
        if (v && json_is_string(v)) {
                size_t n = json_string_length(v);
                char *s = malloc(n + 1);
                if (!s)
                        return -1;
                memcpy(s, json_string_value(v), n);
                s[n] = '\0';
                *ret = s;
                *ret_len = n;
                *ret_present = true;
                return 0;
        }
        v = json_object_get(o, key64);
        if (v && json_is_string(v)) {
                if (b64_decode(json_string_value(v), ret, ret_len) < 0)
                        return -1;
                *ret_present = true;
        }
        return 0;
}

static int strv_from_json(json_t *a, struct pv_strv *out, struct pv_error *err) {
        if (!a)
                return 0;
        if (!json_is_array(a))
                return -1;
        size_t i;
        json_t *v;
        json_array_foreach(a, i, v) {
                if (!json_is_string(v))
                        return -1;
                int r = pv_strv_push(out, json_string_value(v), err);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int journal_load(const struct pv_host *h, struct journal *j, struct pv_error *err) {
        memset(j, 0, sizeof *j);
        bool present;
        _cleanup_free_ char *text = NULL;
        size_t len;
        int r = read_rel_cap(h, PV_HOSTPLAN_JOURNAL, JOURNAL_MAX_BYTES, &present, &text, &len, NULL, err);
        if (r < 0)
                return r;
        if (!present)
                return 0;
        json_error_t je;
        json_t *root = json_loadb(text, len, JSON_ALLOW_NUL, &je); /* "\u0000" in journals of pvfio before base64 for NULs */
        const char *why = NULL;
        if (!root)
                why = je.text;
        else if (!json_is_object(root) || json_integer_value(json_object_get(root, "format_version")) != 1)
                why = "unknown format";
        json_t *files = root ? json_object_get(root, "files") : NULL;
        if (!why && !json_is_array(files))
                why = "no 'files' list";
        size_t i;
        json_t *o;
        if (!why) {
                json_array_foreach(files, i, o) {
                        const char *path = json_string_value(json_object_get(o, "path"));
                        if (!path || strstr(path, "..") || path[0] == '/') {
                                why = "bad path";
                                break;
                        }
                        struct jfile *f = journal_add(j, path, err);
                        if (!f) {
                                json_decref(root);
                                journal_done(j);
                                return -PV_ENOMEM;
                        }
                        f->existed = json_is_true(json_object_get(o, "existed"));
                        bool p;
                        if (f->existed) {
                                if (json_bytes(o, "content", "content_base64", &f->content, &f->len, &p) < 0 || !p) {
                                        why = "bad content";
                                        break;
                                }
                                f->mode = (long)json_integer_value(json_object_get(o, "mode"));
                                f->uid = (long)json_integer_value(json_object_get(o, "uid"));
                                f->gid = (long)json_integer_value(json_object_get(o, "gid"));
                        }
                        const char *wsha = json_string_value(json_object_get(o, "written_sha256"));
                        if (wsha) {
                                if (!pv_sha256_hex_valid(wsha)) {
                                        why = "bad written_sha256";
                                        break;
                                }
                                f->has_written = f->written_present = true;
                                f->written_sha256 = strdup(wsha);
                                if (!f->written_sha256) {
                                        json_decref(root);
                                        journal_done(j);
                                        return pv_error_set(err, PV_ENOMEM, "out of memory");
                                }
                        } else if (json_object_get(o, "written") || json_object_get(o, "written_base64")) {
                                f->has_written = true;
                                if (json_bytes(o, "written", "written_base64", &f->written, &f->written_len,
                                               &f->written_present) < 0) {
                                        why = "bad written content";
                                        break;
                                }
                        }
                        if (strv_from_json(json_object_get(o, "owned_args"), &f->owned, err) < 0) {
                                why = "bad owned_args";
                                break;
                        }
                }
        }
        if (!why && (strv_from_json(json_object_get(root, "dirs"), &j->dirs, err) < 0 ||
                     strv_from_json(json_object_get(root, "undo"), &j->undo, err) < 0 ||
                     strv_from_json(json_object_get(root, "refresh_owed"), &j->owed, err) < 0))
                why = "bad dirs or undo list";
        for (size_t k = 0; !why && k < j->dirs.n; k++)
                if (strstr(j->dirs.v[k], "..") || j->dirs.v[k][0] == '/')
                        why = "bad directory";
        j->rolling_back = root && json_is_true(json_object_get(root, "rollback_started"));
        json_decref(root);
        if (why) {
                journal_done(j);
                return pv_error_set(err, PV_EINVAL,
                                    "journal '%s' under '%s' is unreadable (%s); restore or remove it before applying",
                                    PV_HOSTPLAN_JOURNAL, root_name(h), why);
        }
        j->loaded = true;
        return 0;
}

/* -------------------------------------------------- owed refreshes */

static bool is_file_action(enum pv_action_kind k) {
        return k == PV_ACT_WRITE_FILE || k == PV_ACT_EDIT_FILE || k == PV_ACT_REMOVE_FILE || k == PV_ACT_INSTALL_FILE;
}

static const struct {
        unsigned flag;
        const char *cmd;
} refresh_steps[] = { { PV_REFRESH_INITRAMFS, PV_CMD_UPDATE_INITRAMFS },
                      { PV_REFRESH_GRUB, PV_CMD_UPDATE_GRUB },
                      { PV_REFRESH_PBT, PV_CMD_PBT_REFRESH } };

static unsigned refresh_flags(const struct pv_strv *cmds) {
        unsigned f = 0;
        for (size_t i = 0; i < PV_ELEMENTSOF(refresh_steps); i++)
                if (pv_strv_contains(cmds, refresh_steps[i].cmd))
                        f |= refresh_steps[i].flag;
        return f;
}

static bool is_refresh_command(const char *line) {
        for (size_t i = 0; line && i < PV_ELEMENTSOF(refresh_steps); i++)
                if (strcmp(line, refresh_steps[i].cmd) == 0)
                        return true;
        return false;
}

/* Add the refresh commands of `flags` to the owed list (in refresh order); *dirty when one was added. */
static int owe(struct pv_strv *owed, unsigned flags, bool *dirty, struct pv_error *err) {
        for (size_t i = 0; i < PV_ELEMENTSOF(refresh_steps); i++) {
                if (!(flags & refresh_steps[i].flag) || pv_strv_contains(owed, refresh_steps[i].cmd))
                        continue;
                int r = pv_strv_push(owed, refresh_steps[i].cmd, err);
                if (r < 0)
                        return r;
                *dirty = true;
        }
        return 0;
}

static bool strv_remove(struct pv_strv *v, const char *s) {
        for (size_t i = 0; i < v->n; i++)
                if (strcmp(v->v[i], s) == 0) {
                        free(v->v[i]);
                        memmove(&v->v[i], &v->v[i + 1], (v->n - i) * sizeof(char *));
                        v->n--;
                        return true;
                }
        return false;
}

/* The directories whose stale temporary files a run cleans: those of every journalled or planned file. */
static int temp_dirs(const struct journal *j, const struct pv_plan *plan, struct pv_strv *out, struct pv_error *err) {
        int r = 0;
        size_t nplan = plan ? plan->n : 0;
        for (size_t i = 0; r == 0 && i < j->n + nplan + 1; i++) {
                const char *path = i < j->n ? j->f[i].path
                                   : i < j->n + nplan ? plan->actions[i - j->n].target
                                                      : PV_HOSTPLAN_JOURNAL;
                if (i >= j->n && i < j->n + nplan && !is_file_action(plan->actions[i - j->n].kind))
                        continue;
                if (!path)
                        continue;
                const char *slash = strrchr(path, '/');
                _cleanup_free_ char *dir = slash ? strndup(path, (size_t)(slash - path)) : strdup(".");
                if (!dir)
                        return pv_error_set(err, PV_ENOMEM, "out of memory");
                if (!pv_strv_contains(out, dir))
                        r = pv_strv_push(out, dir, err);
        }
        return r;
}

/* ------------------------------------------------------------- inputs */

static void host_file_done(struct pv_host_file *f) {
        free(f->path);
        free(f->content);
        memset(f, 0, sizeof *f);
}

static int load_host_file(const struct pv_host *h, const char *path, struct pv_host_file *f, struct pv_error *err) {
        memset(f, 0, sizeof *f);
        f->path = strdup(path);
        if (!f->path)
                return pv_error_set(err, PV_ENOMEM, "out of memory");
        return read_rel(h, path, &f->present, &f->content, &f->len, NULL, err);
}

static bool unit_enabled(const struct pv_host *h, const char *unit) {
        int fd = pv_fs_open(h->dirfd, "etc/systemd/system", O_RDONLY | O_DIRECTORY, 0);
        if (fd < 0)
                return false;
        DIR *d = fdopendir(fd);
        if (!d) {
                close(fd);
                return false;
        }
        bool found = false;
        struct dirent *e;
        while (!found && (e = readdir(d))) {
                size_t n = strlen(e->d_name);
                if (n < 6 || strcmp(e->d_name + n - 6, ".wants") != 0)
                        continue;
                _cleanup_free_ char *p = NULL;
                if (asprintf(&p, "%s/%s", e->d_name, unit) < 0)
                        break;
                struct stat st;
                found = fstatat(dirfd(d), p, &st, AT_SYMLINK_NOFOLLOW) == 0;
        }
        closedir(d);
        return found;
}

int pv_hostplan_inputs_load(const struct pv_host *h, struct pv_hostplan_inputs *ret, struct pv_error *err) {
        struct pv_hostplan_inputs in = { 0 };
        int r = load_host_file(h, PV_HOSTPLAN_UDEV_VFIO, &in.udev_vfio, err);
        if (r == 0)
                r = load_host_file(h, PV_HOSTPLAN_UDEV_SRIOV, &in.udev_sriov, err);
        in.nvidia_sriov_enabled = unit_enabled(h, PV_HOSTPLAN_NVIDIA_SRIOV_UNIT);
        struct journal j;
        if (r == 0)
                r = journal_load(h, &j, err);
        if (r == 0) {
                in.have_journal = j.loaded;
                struct jfile *f = journal_find(&j, PV_HOSTPLAN_KERNEL_CMDLINE);
                for (size_t i = 0; r == 0 && f && i < f->owned.n; i++)
                        r = pv_strv_push(&in.owned_args, f->owned.v[i], err);
                in.refresh_owed = refresh_flags(&j.owed);
                journal_done(&j);
        }
        if (r < 0) {
                pv_hostplan_inputs_done(&in);
                return r;
        }
        *ret = in;
        return 0;
}

void pv_hostplan_inputs_done(struct pv_hostplan_inputs *in) {
        if (!in)
                return;
        host_file_done(&in->udev_vfio);
        host_file_done(&in->udev_sriov);
        pv_strv_done(&in->owned_args);
        memset(in, 0, sizeof *in);
}

int pv_host_read_node_name(const struct pv_host *h, char **ret, struct pv_error *err) {
        bool present;
        _cleanup_free_ char *txt = NULL;
        size_t len;
        int r = read_rel(h, "etc/hostname", &present, &txt, &len, NULL, err);
        if (r < 0)
                return r;
        if (!present)
                return pv_error_set(err, PV_ENOTFOUND, "no etc/hostname under '%s'", root_name(h));
        size_t s = strspn(txt, " \t\r\n");
        size_t n = strcspn(txt + s, " \t\r\n.");
        if (n == 0)
                return pv_error_set(err, PV_ENOTFOUND, "etc/hostname under '%s' is empty", root_name(h));
        char *name = strndup(txt + s, n);
        if (!name)
                return pv_error_set(err, PV_ENOMEM, "out of memory");
        *ret = name;
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

static int run_line(const struct pv_runner *runner, const char *line, struct pv_error *err) {
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

/* A run-command action: its argv payload; an action without payload (a plan assembled by hand, or
 * read from a format_version 1 document of an older pvfio) still splits its command line. */
static int run_action(const struct pv_runner *runner, const struct pv_action *a, struct pv_error *err) {
        const struct pv_command_payload *c = pv_action_command(a);
        if (!c)
                return run_line(runner, a->after, err);
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
                                               root_name(h));
                } else {
                        int e = write_all(fd, b.buf, b.len);
                        if (close(fd) < 0 && !e)
                                e = -errno;
                        if (e)
                                r = pv_error_set_errno(err, -e, "cannot write '%s' under '%s'", PV_HOSTPLAN_COMMANDS_LOG,
                                                       root_name(h));
                }
        }
        pv_buf_release(&b);
        return r;
}

/* ---------------------------------------------------------------- apply */


static bool same_bytes(bool a_present, const char *a, size_t alen, const char *b) {
        if (!a_present || !b)
                return !a_present && !b;
        return alen == strlen(b) && memcmp(a, b, alen) == 0;
}

/* The file (present, cur, len) has the SHA-256 `sha` (NULL: the file must be absent). */
static bool same_digest(bool present, const char *cur, size_t len, const char *sha) {
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
        bool present;
        _cleanup_free_ char *cur = NULL;
        size_t len;
        int r = read_rel(h, a->target, &present, &cur, &len, NULL, e);
        if (r < 0)
                return r;
        const struct pv_file_payload *fp = pv_action_file(a);
        bool bytes = a->kind == PV_ACT_INSTALL_FILE;
        if (bytes && (!fp || !fp->data))
                return pv_error_set(e, PV_EINVAL, "install-file action for '%s' without its bytes", a->target);
        if (bytes ? !same_digest(present, cur, len, fp->before_sha256) : !same_bytes(present, cur, len, a->before))
                return pv_error_set(e, PV_ECONFLICT,
                                    "'%s' under '%s' changed since the plan was made; run the plan again", a->target,
                                    root_name(h));
        struct jfile *f = journal_find(j, a->target);
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
        if (added && (r = journal_save(h, j, e)) < 0)
                return r;
        if (a->kind == PV_ACT_REMOVE_FILE)
                r = remove_rel(h, a->target, e);
        else if (bytes)
                r = write_atomic(h, a->target, fp->data, fp->len, fp->mode ? fp->mode : 0644, -1, -1, -1, NULL, e);
        else
                r = write_atomic(h, a->target, a->after, strlen(a->after), 0644, -1, -1, -1, NULL, e);
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
                        f->written_sha256 = strdup(fp->sha256);
                        if (!f->written_sha256)
                                return pv_error_set(e, PV_ENOMEM, "out of memory");
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
                                strv_remove(&f->owned, kc->before);
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
        const char *bdf = a->target;
        if (!valid_bdf(bdf))
                return pv_error_set(e, PV_EINVAL, "'%s' is not a PCI function address", bdf ? bdf : "");
        const char *drv = key_after(a, "driver", NULL);
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
        const char *before = NULL, *after = key_after(a, "sriov_numvfs", &before);
        if (!valid_bdf(a->target) || !after || strspn(after, "0123456789") != strlen(after) || !*after)
                return pv_error_set(e, PV_EINVAL, "malformed set-sriov action for '%s'", a->target ? a->target : "");
        _cleanup_free_ char *path = pv_asprintf(e, "sys/bus/pci/devices/%s/sriov_numvfs", a->target);
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
                if (!is_file_action(a->kind) || a->blocked || !a->target)
                        continue;
                if (strstr(a->target, "..") || a->target[0] == '/')
                        return pv_error_set(err, PV_EINVAL, "refusing file action outside the root: '%s'", a->target);
                if (!journal_find(j, a->target)) {
                        struct stat st;
                        bool present;
                        char *cur = NULL;
                        size_t len;
                        r = read_rel(h, a->target, &present, &cur, &len, &st, err);
                        if (r < 0)
                                break;
                        struct jfile *f = journal_add(j, a->target, err);
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
                r = owe(&j->owed, pv_hostplan_refresh_for_path(a->target), &dirty, err);
                if (r < 0)
                        break;
                if (a->kind != PV_ACT_REMOVE_FILE) {
                        _cleanup_free_ char *dir = NULL;
                        const char *base;
                        size_t before = j->dirs.n;
                        r = split_path(a->target, &dir, &base, err);
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

int pv_host_apply(const struct pv_host *h, struct pv_plan *plan, const struct pv_runner *runner,
                  struct pv_error *err) {
        struct journal j;
        int r = journal_load(h, &j, err);
        if (r < 0)
                return pv_error_wrap(err, "nothing was changed");
        /* temporary files a killed run left next to the files this one touches */
        struct pv_strv tdirs = PV_STRV_INIT;
        r = temp_dirs(&j, plan, &tdirs, err);
        if (r == 0)
                r = pv_host_clean_temps(h, &tdirs, NULL, NULL, err);
        pv_strv_done(&tdirs);
        if (r < 0) {
                journal_done(&j);
                return pv_error_wrap(err, "nothing was changed");
        }
        bool dirty = false;
        r = journal_prepare(h, &j, plan, &dirty, err);
        if (r == 0 && dirty)
                r = journal_save(h, &j, err);
        if (r < 0) {
                journal_done(&j);
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
                                if (journal_save(h, &j, &je) == 0)
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
                                        rr = journal_save(h, &j, &e);
                        }
                        if (rr == 0)
                                rr = run_action(runner, a, &e);
                        /* a refresh is owed until it succeeded */
                        if (rr == 0 && is_refresh_command(a->after) && strv_remove(&j.owed, a->after))
                                rr = journal_save(h, &j, &e);
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
                if (journal_save(h, &j, &e) < 0)
                        pv_error_done(&e);
        }
        journal_done(&j);
        return r;
}

/* ------------------------------------------------------------- rollback */

void pv_rollback_report_done(struct pv_rollback_report *r) {
        if (!r)
                return;
        pv_strv_done(&r->restored);
        pv_strv_done(&r->removed);
        pv_strv_done(&r->commands);
        pv_strv_done(&r->warnings);
        pv_strv_done(&r->failed);
        memset(r, 0, sizeof *r);
}

static int note(struct pv_strv *v, struct pv_error *err, const char *fmt, ...) PV_PRINTF(3, 4);
static int note(struct pv_strv *v, struct pv_error *err, const char *fmt, ...) {
        va_list ap;
        char *s = NULL;
        va_start(ap, fmt);
        int n = vasprintf(&s, fmt, ap);
        va_end(ap);
        return pv_strv_push_take(v, n < 0 ? NULL : s, err);
}

/* A directory pvfio created that still holds something other than pvfio's own command log
 * (or directories `kept` for that reason). */
static bool dir_left_busy(const struct pv_host *h, const char *dir, const struct pv_strv *kept) {
        int fd = pv_fs_open(h->dirfd, dir, O_RDONLY | O_DIRECTORY, 0);
        if (fd < 0)
                return false;
        DIR *d = fdopendir(fd);
        if (!d) {
                close(fd);
                return true;
        }
        _cleanup_free_ char *log_dir = strndup(PV_HOSTPLAN_COMMANDS_LOG, strrchr(PV_HOSTPLAN_COMMANDS_LOG, '/') -
                                                                           PV_HOSTPLAN_COMMANDS_LOG);
        bool busy = false;
        struct dirent *e;
        while (!busy && (e = readdir(d))) {
                if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                        continue;
                if (log_dir && strcmp(dir, log_dir) == 0 && strcmp(e->d_name, "commands.log") == 0)
                        continue;
                _cleanup_free_ char *child = NULL;
                busy = asprintf(&child, "%s/%s", dir, e->d_name) < 0 || !pv_strv_contains(kept, child);
        }
        closedir(d);
        return busy;
}

int pv_host_rollback(const struct pv_host *h, const struct pv_runner *runner, struct pv_rollback_report *report,
                     struct pv_error *err) {
        struct pv_rollback_report rep = { 0 };
        struct journal j;
        int r = journal_load(h, &j, err);
        if (r < 0)
                return r;
        rep.had_journal = j.loaded;
        /* temporary files a killed apply or rollback left: removed, or reported as left */
        struct pv_strv tdirs = PV_STRV_INIT, tremoved = PV_STRV_INIT, tleft = PV_STRV_INIT;
        r = temp_dirs(&j, NULL, &tdirs, err);
        if (r == 0)
                r = pv_host_clean_temps(h, &tdirs, &tremoved, &tleft, err);
        for (size_t i = 0; r == 0 && i < tremoved.n; i++)
                r = note(&rep.warnings, err, "removed '%s', a temporary file a killed pvfio left", tremoved.v[i]);
        for (size_t i = 0; r == 0 && i < tleft.n; i++)
                r = note(&rep.failed, err, "%s (temporary file not removed)", tleft.v[i]);
        pv_strv_done(&tdirs);
        pv_strv_done(&tremoved);
        pv_strv_done(&tleft);
        /* the refreshes the restore makes necessary are owed before the first file changes back. What an
         * apply still owed is dropped: once the files are back, the boot images built from them are right
         * again. A rollback that was interrupted keeps its own list (its files may be back already). */
        bool dirty = false;
        if (j.loaded && !j.rolling_back) {
                j.rolling_back = true;
                dirty = true;
                for (size_t i = 0; i < j.owed.n; i++)
                        free(j.owed.v[i]);
                j.owed.n = 0;
        }
        for (size_t i = 0; r == 0 && i < j.n; i++) {
                struct jfile *f = &j.f[i];
                bool present;
                _cleanup_free_ char *cur = NULL;
                size_t len;
                struct pv_error e = PV_ERROR_INIT;
                if (read_rel(h, f->path, &present, &cur, &len, NULL, &e) == 0 &&
                    !(f->existed ? present && len == f->len && memcmp(cur, f->content ? f->content : "", len) == 0
                                 : !present))
                        r = owe(&j.owed, pv_hostplan_refresh_for_path(f->path), &dirty, err);
                pv_error_done(&e);
        }
        if (r == 0 && dirty)
                r = journal_save(h, &j, err);
        for (size_t i = 0; r == 0 && i < j.n; i++) {
                struct jfile *f = &j.f[i];
                bool present;
                _cleanup_free_ char *cur = NULL;
                size_t len;
                struct stat st;
                struct pv_error e = PV_ERROR_INIT;
                int rr = read_rel(h, f->path, &present, &cur, &len, &st, &e);
                if (rr == 0 && f->has_written &&
                    (f->written_sha256 ? !same_digest(present, cur, len, f->written_sha256)
                                       : !same_bytes(present, cur, len,
                                                     f->written_present ? (f->written ? f->written : "") : NULL)))
                        r = note(&rep.warnings, err, "'%s' changed since pvfio wrote it; restoring the pre-pvfio "
                                                     "content anyway",
                                 f->path);
                if (rr == 0 && f->existed) {
                        bool same = present && len == f->len && memcmp(cur, f->content ? f->content : "", len) == 0;
                        bool meta = present && (long)(st.st_mode & 07777) == f->mode && (long)st.st_uid == f->uid &&
                                    (long)st.st_gid == f->gid;
                        if (!same || !meta) {
                                rr = write_atomic(h, f->path, f->content ? f->content : "", f->len, (unsigned)f->mode,
                                                  f->mode, f->uid, f->gid, NULL, &e);
                                if (rr == 0)
                                        r = pv_strv_push(&rep.restored, f->path, err);
                        }
                } else if (rr == 0 && present) {
                        rr = remove_rel(h, f->path, &e);
                        if (rr == 0)
                                r = pv_strv_push(&rep.removed, f->path, err);
                }
                if (rr < 0 && r == 0)
                        r = note(&rep.failed, err, "%s: %s", f->path, pv_error_message(&e));
                pv_error_done(&e);
        }
        /* undo commands, last first, then the owed refreshes (from this restore, or never finished by an apply) */
        for (size_t i = j.undo.n; r == 0 && i-- > 0;) {
                struct pv_error e = PV_ERROR_INIT;
                if (run_line(runner, j.undo.v[i], &e) < 0)
                        r = note(&rep.failed, err, "%s: %s", j.undo.v[i], pv_error_message(&e));
                else
                        r = pv_strv_push(&rep.commands, j.undo.v[i], err);
                pv_error_done(&e);
        }
        for (size_t i = 0; r == 0 && i < PV_ELEMENTSOF(refresh_steps); i++) {
                if (!pv_strv_contains(&j.owed, refresh_steps[i].cmd))
                        continue;
                struct pv_error e = PV_ERROR_INIT;
                if (run_line(runner, refresh_steps[i].cmd, &e) < 0)
                        r = note(&rep.failed, err, "%s: %s", refresh_steps[i].cmd, pv_error_message(&e));
                else
                        r = pv_strv_push(&rep.commands, refresh_steps[i].cmd, err);
                pv_error_done(&e);
        }
        if (r == 0 && j.loaded && rep.failed.n == 0) {
                /* the directories first, the journal's own last: a rollback killed before the journal is
                 * gone still knows every directory left to remove */
                struct pv_strv kept = PV_STRV_INIT;
                for (int pass = 0; pass < 2 && r == 0; pass++) {
                        if (pass == 1 && rep.failed.n)
                                break;    /* a directory is left: the journal stays, so a retry knows it */
                        if (pass == 1)
                                r = remove_rel(h, PV_HOSTPLAN_JOURNAL, err);
                        for (size_t i = j.dirs.n; r == 0 && i-- > 0;) {
                                size_t dl = strlen(j.dirs.v[i]);
                                bool journal_dir = strncmp(PV_HOSTPLAN_JOURNAL, j.dirs.v[i], dl) == 0 &&
                                                   PV_HOSTPLAN_JOURNAL[dl] == '/';
                                if (journal_dir != (pass == 1))
                                        continue;
                                if (at_parent(h, j.dirs.v[i], op_rmdir, NULL) == 0 || errno == ENOENT)
                                        continue;
                                int e = errno;
                                /* a directory pvfio made that now holds someone else's files stays: say so (exit 3) */
                                if ((e == ENOTEMPTY || e == EEXIST) &&
                                    (journal_dir && pass == 0 ? true : !dir_left_busy(h, j.dirs.v[i], &kept))) {
                                        r = pv_strv_push(&kept, j.dirs.v[i], err);
                                        continue;
                                }
                                r = note(&rep.failed, err, "%s: directory pvfio created not removed: %s", j.dirs.v[i],
                                         e == ENOTEMPTY || e == EEXIST ? "it holds other files" : strerror(e));
                        }
                }
                pv_strv_done(&kept);
        }
        journal_done(&j);
        if (r < 0) {
                pv_rollback_report_done(&rep);
                return r;
        }
        *report = rep;
        return 0;
}
