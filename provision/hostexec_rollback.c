/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Host executor, rollback: restores every journalled file to its pre-pvfio bytes, runs
 * the undo commands and the refreshes the restore makes necessary, removes what pvfio created.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "pvfio/buf.h"
#include "pvfio/cleanup.h"
#include "pvfio/hostfs.h"
#include "pvfio/hostlock.h"
#include "pvfio/hostplan.h"

#include "hostexec_int.h"

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
        int r = hx_journal_load(h, &j, err);
        if (r < 0)
                return r;
        rep.had_journal = j.loaded;
        /* temporary files a killed apply or rollback left: removed, or reported as left */
        struct pv_strv tdirs = PV_STRV_INIT, tremoved = PV_STRV_INIT, tleft = PV_STRV_INIT;
        r = hx_temp_dirs(&j, NULL, &tdirs, err);
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
                if (hx_read_rel(h, f->path, &present, &cur, &len, NULL, &e) == 0 &&
                    !(f->existed ? present && len == f->len && memcmp(cur, f->content ? f->content : "", len) == 0
                                 : !present))
                        r = hx_owe(&j.owed, pv_hostplan_refresh_for_path(f->path), &dirty, err);
                pv_error_done(&e);
        }
        if (r == 0 && dirty)
                r = hx_journal_save(h, &j, err);
        for (size_t i = 0; r == 0 && i < j.n; i++) {
                struct jfile *f = &j.f[i];
                bool present;
                _cleanup_free_ char *cur = NULL;
                size_t len;
                struct stat st;
                struct pv_error e = PV_ERROR_INIT;
                int rr = hx_read_rel(h, f->path, &present, &cur, &len, &st, &e);
                if (rr == 0 && f->has_written &&
                    (f->written_sha256 ? !hx_same_digest(present, cur, len, f->written_sha256)
                                       : !hx_same_bytes(present, cur, len,
                                                     f->written_present ? (f->written ? f->written : "") : NULL)))
                        r = note(&rep.warnings, err, "'%s' changed since pvfio wrote it; restoring the pre-pvfio "
                                                     "content anyway",
                                 f->path);
                if (rr == 0 && f->existed) {
                        bool same = present && len == f->len && memcmp(cur, f->content ? f->content : "", len) == 0;
                        bool meta = present && (long)(st.st_mode & 07777) == f->mode && (long)st.st_uid == f->uid &&
                                    (long)st.st_gid == f->gid;
                        if (!same || !meta) {
                                rr = hx_write_atomic(h, f->path, f->content ? f->content : "", f->len, (unsigned)f->mode,
                                                  f->mode, f->uid, f->gid, NULL, &e);
                                if (rr == 0)
                                        r = pv_strv_push(&rep.restored, f->path, err);
                        }
                } else if (rr == 0 && present) {
                        rr = hx_remove_rel(h, f->path, &e);
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
                if (hx_run_line(runner, j.undo.v[i], &e) < 0)
                        r = note(&rep.failed, err, "%s: %s", j.undo.v[i], pv_error_message(&e));
                else
                        r = pv_strv_push(&rep.commands, j.undo.v[i], err);
                pv_error_done(&e);
        }
        for (size_t i = 0; r == 0 && i < PV_ELEMENTSOF(hx_refresh_steps); i++) {
                if (!pv_strv_contains(&j.owed, hx_refresh_steps[i].cmd))
                        continue;
                struct pv_error e = PV_ERROR_INIT;
                if (hx_run_line(runner, hx_refresh_steps[i].cmd, &e) < 0)
                        r = note(&rep.failed, err, "%s: %s", hx_refresh_steps[i].cmd, pv_error_message(&e));
                else
                        r = pv_strv_push(&rep.commands, hx_refresh_steps[i].cmd, err);
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
                                r = hx_remove_rel(h, PV_HOSTPLAN_JOURNAL, err);
                        for (size_t i = j.dirs.n; r == 0 && i-- > 0;) {
                                size_t dl = strlen(j.dirs.v[i]);
                                bool journal_dir = strncmp(PV_HOSTPLAN_JOURNAL, j.dirs.v[i], dl) == 0 &&
                                                   PV_HOSTPLAN_JOURNAL[dl] == '/';
                                if (journal_dir != (pass == 1))
                                        continue;
                                if (hx_at_parent(h, j.dirs.v[i], hx_op_rmdir, NULL) == 0 || errno == ENOENT)
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
        hx_journal_done(&j);
        if (r < 0) {
                pv_rollback_report_done(&rep);
                return r;
        }
        *report = rep;
        return 0;
}
