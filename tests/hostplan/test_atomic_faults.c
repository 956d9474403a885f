/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * I/O failure injection for the atomic writer: write(), fsync() and renameat() are
 * wrapped at link time (-Wl,--wrap=...) and fail for the temporary file of one target.
 * Whatever fails, the old file must survive byte for byte, keep its mode, and no
 * temporary file may be left behind; through pv_host_apply the action fails and
 * the commands that depend on it do not run.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pvfio/hostplan.h"

#include "../unit/host_actions.h"

enum fault { F_NONE, F_WRITE_SHORT, F_FSYNC, F_RENAME };
static enum fault fault;      /* test-only switches (this binary is single-threaded) */
static unsigned hits;

ssize_t __real_write(int fd, const void *buf, size_t n);
int __real_fsync(int fd);
int __real_renameat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath);
ssize_t __wrap_write(int fd, const void *buf, size_t n);
int __wrap_fsync(int fd);
int __wrap_renameat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath);

/* Is fd the temporary file of the target (".pvfio.conf.pvfio-…")? */
static bool is_target_tmp(int fd) {
        char link[64], path[4096];
        snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
        ssize_t n = readlink(link, path, sizeof path - 1);
        if (n <= 0)
                return false;
        path[n] = '\0';
        return strstr(path, "/.pvfio.conf.pvfio-") != NULL;
}

ssize_t __wrap_write(int fd, const void *buf, size_t n) {
        if (fault == F_WRITE_SHORT && is_target_tmp(fd)) {
                hits++;
                if (n > 3) {
                        /* the disk fills up half way */
                        ssize_t w = __real_write(fd, buf, 3);
                        if (w > 0)
                                return w;
                }
                errno = ENOSPC;
                return -1;
        }
        return __real_write(fd, buf, n);
}

int __wrap_fsync(int fd) {
        if (fault == F_FSYNC && is_target_tmp(fd)) {
                hits++;
                errno = EIO;
                return -1;
        }
        return __real_fsync(fd);
}

int __wrap_renameat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath) {
        if (fault == F_RENAME && strcmp(newpath, "pvfio.conf") == 0) {
                hits++;
                errno = EXDEV;
                return -1;
        }
        return __real_renameat(olddirfd, oldpath, newdirfd, newpath);
}

static const char old_content[] = "# pvfio\noptions vfio-pci ids=10de:25a0\n";
static const char new_content[] = "# pvfio\noptions vfio-pci ids=10de:25a0,10de:2291\nsoftdep nvidia pre: vfio-pci\n";

struct root {
        char path[64];
        struct pv_host h;
};

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw) {
        (void)sb, (void)flag, (void)ftw;
        return remove(p);
}

static void setup_root(struct root *r) {
        strcpy(r->path, "/tmp/pvfio-faults-XXXXXX");
        assert_non_null(mkdtemp(r->path));
        r->h = (struct pv_host){ .root = r->path };
        r->h.dirfd = open(r->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(r->h.dirfd >= 0);
        assert_int_equal(mkdirat(r->h.dirfd, "etc", 0755), 0);
        assert_int_equal(mkdirat(r->h.dirfd, "etc/modprobe.d", 0755), 0);
        int fd = openat(r->h.dirfd, PV_HOSTPLAN_MODPROBE, O_WRONLY | O_CREAT | O_EXCL, 0640);
        assert_true(fd >= 0);
        assert_int_equal(__real_write(fd, old_content, strlen(old_content)), (ssize_t)strlen(old_content));
        close(fd);
}

static void check_intact(struct root *r) {
        char buf[256] = { 0 };
        int fd = openat(r->h.dirfd, PV_HOSTPLAN_MODPROBE, O_RDONLY);
        assert_true(fd >= 0);
        ssize_t n = read(fd, buf, sizeof buf - 1);
        close(fd);
        assert_int_equal(n, (ssize_t)strlen(old_content));
        assert_string_equal(buf, old_content);
        struct stat st;
        assert_int_equal(fstatat(r->h.dirfd, PV_HOSTPLAN_MODPROBE, &st, 0), 0);
        assert_int_equal(st.st_mode & 07777, 0640);
        /* no temporary file left in the directory */
        char dir[128];
        snprintf(dir, sizeof dir, "%s/etc/modprobe.d", r->path);
        DIR *d = opendir(dir);
        struct dirent *e;
        unsigned entries = 0;
        while ((e = readdir(d)))
                if (e->d_name[0] != '.' || strstr(e->d_name, "pvfio-")) {
                        assert_string_equal(e->d_name, "pvfio.conf");
                        entries++;
                }
        closedir(d);
        assert_int_equal(entries, 1);
}

static void teardown_root(struct root *r) {
        close(r->h.dirfd);
        nftw(r->path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
        fault = F_NONE;
}

static void direct(enum fault f, const char *expect) {
        struct root r;
        setup_root(&r);
        fault = f;
        hits = 0;
        struct pv_error e = PV_ERROR_INIT;
        assert_true(pv_host_write_file_atomic(&r.h, PV_HOSTPLAN_MODPROBE, new_content, strlen(new_content), 0644, NULL,
                                              &e) < 0);
        assert_true(hits > 0);
        assert_non_null(strstr(pv_error_message(&e), expect));
        assert_non_null(strstr(pv_error_message(&e), "the old file is unchanged"));
        pv_error_done(&e);
        check_intact(&r);
        /* once the fault is gone the same write succeeds */
        fault = F_NONE;
        assert_int_equal(pv_host_write_file_atomic(&r.h, PV_HOSTPLAN_MODPROBE, new_content, strlen(new_content), 0644,
                                                   NULL, &e),
                         0);
        teardown_root(&r);
}

static void test_write_fails(void **state) {
        (void)state;
        direct(F_WRITE_SHORT, "cannot write");
}

static void test_fsync_fails(void **state) {
        (void)state;
        direct(F_FSYNC, "cannot sync");
}

static void test_rename_fails(void **state) {
        (void)state;
        direct(F_RENAME, "cannot rename into place");
}

static int rec_run(void *ud, const char *const argv[], struct pv_error *err) {
        (void)argv, (void)err;
        (*(unsigned *)ud)++;
        return 0;
}

static void test_apply_reports_and_skips(void **state) {
        (void)state;
        for (enum fault f = F_WRITE_SHORT; f <= F_RENAME; f++) {
                struct root r;
                setup_root(&r);
                struct pv_plan p = PV_PLAN_INIT;
                struct pv_action a = { .kind = PV_ACT_WRITE_FILE };
                a.target = strdup(PV_HOSTPLAN_MODPROBE);
                a.before = strdup(old_content);
                a.after = strdup(new_content);
                assert_int_equal(pv_plan_add(&p, &a, NULL), 0);
                assert_int_equal(test_host_payload(&p.actions[0]), 0);
                struct pv_action c = { .kind = PV_ACT_RUN_COMMAND, .depends_on = 1 };
                c.target = strdup("update-initramfs");
                c.after = strdup(PV_CMD_UPDATE_INITRAMFS);
                assert_int_equal(pv_plan_add(&p, &c, NULL), 1);
                assert_int_equal(test_host_payload(&p.actions[1]), 0);
                unsigned ran = 0;
                struct pv_runner runner = { rec_run, &ran };
                struct pv_error e = PV_ERROR_INIT;
                fault = f;
                assert_int_equal(pv_host_apply(&r.h, &p, &runner, &e), 0);   /* the journal itself was written */
                assert_int_equal(p.actions[0].status, PV_ACT_FAILED);
                assert_non_null(strstr(p.actions[0].error, "the old file is unchanged"));
                assert_int_equal(p.actions[1].status, PV_ACT_SKIPPED);
                assert_int_equal(ran, 0);
                check_intact(&r);
                /* rollback has nothing to restore and no refresh to run */
                fault = F_NONE;
                struct pv_rollback_report rep;
                assert_int_equal(pv_host_rollback(&r.h, &runner, &rep, &e), 0);
                assert_int_equal(rep.restored.n + rep.removed.n + rep.commands.n, 0);
                pv_rollback_report_done(&rep);
                check_intact(&r);
                pv_plan_done(&p);
                teardown_root(&r);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_write_fails),
                cmocka_unit_test(test_fsync_fails),
                cmocka_unit_test(test_rename_fails),
                cmocka_unit_test(test_apply_reports_and_skips),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
