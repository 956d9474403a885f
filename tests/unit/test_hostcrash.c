/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Crash and confinement safety of host files (issue 11 items 7-11, issue 12 "host paths confined"):
 * lookups confined to the root, FIFOs refused, the host lock, owed refreshes, undo journalled
 * first, stale temporary files, rollback that reports what it leaves.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pvfio/host.h"
#include "pvfio/hostfs.h"
#include "pvfio/hostlock.h"
#include "pvfio/hostplan.h"

#include "host_actions.h"

/* ------------------------------------------------------------- helpers */

struct root {
        char path[64];
        struct pv_host h;
};

static void root_make(struct root *r) {
        strcpy(r->path, "/tmp/pvfio-hostcrash-XXXXXX");
        assert_non_null(mkdtemp(r->path));
        memset(&r->h, 0, sizeof r->h);
        r->h.root = r->path;
        r->h.dirfd = open(r->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(r->h.dirfd >= 0);
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw) {
        (void)sb, (void)flag, (void)ftw;
        return remove(p);
}

static void rm_tree(const char *p) {
        nftw(p, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void root_free(struct root *r) {
        close(r->h.dirfd);
        rm_tree(r->path);
}

static void mkdirs_for(const char *p, size_t skip) {
        char *c = strdup(p);
        for (char *s = strchr(c + skip + 1, '/'); s; s = strchr(s + 1, '/')) {
                *s = '\0';
                mkdir(c, 0755);
                *s = '/';
        }
        free(c);
}

static void put(struct root *r, const char *rel, const char *content) {
        char p[512];
        snprintf(p, sizeof p, "%s/%s", r->path, rel);
        mkdirs_for(p, strlen(r->path));
        FILE *f = fopen(p, "w");
        assert_non_null(f);
        fputs(content, f);
        fclose(f);
}

static void link_at(struct root *r, const char *rel, const char *target) {
        char p[512];
        snprintf(p, sizeof p, "%s/%s", r->path, rel);
        mkdirs_for(p, strlen(r->path));
        assert_int_equal(symlink(target, p), 0);
}

static bool exists(struct root *r, const char *rel) {
        struct stat st;
        return fstatat(r->h.dirfd, rel, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

static char *get(struct root *r, const char *rel) {
        char *out = NULL;
        size_t n = 0;
        if (pv_fs_read_regular(r->h.dirfd, rel, 0, 1 << 20, &out, &n, NULL) < 0)
                return NULL;
        return out;
}

static void add(struct pv_plan *p, enum pv_action_kind kind, const char *target, const char *before, const char *after,
                int depends_on) {
        struct pv_action a = { .kind = kind, .depends_on = depends_on };
        a.target = target ? strdup(target) : NULL;
        a.before = before ? strdup(before) : NULL;
        a.after = after ? strdup(after) : NULL;
        a.reason = strdup("test");
        assert_true(pv_plan_add(p, &a, NULL) >= 0);
        assert_int_equal(test_host_payload(&p->actions[p->n - 1]), 0);   /* what the planner gives it */
}

/* A recorder: fail_on makes that command fail; `check` runs before each command. */
struct rec {
        char lines[16][128];
        size_t n;
        const char *fail_on;
        struct root *root;
        bool undo_was_journalled;    /* seen by the 'systemctl enable' call */
};

static int rec_run(void *ud, const char *const argv[], struct pv_error *err) {
        struct rec *r = ud;
        assert_true(r->n < 16);
        char *l = r->lines[r->n++];
        l[0] = '\0';
        for (size_t i = 0; argv[i]; i++) {
                if (i)
                        strcat(l, " ");
                strcat(l, argv[i]);
        }
        if (strncmp(l, "systemctl enable", 16) == 0) {
                char *j = get(r->root, PV_HOSTPLAN_JOURNAL);
                r->undo_was_journalled = j && strstr(j, "systemctl disable") != NULL;
                free(j);
        }
        if (r->fail_on && strcmp(l, r->fail_on) == 0)
                return pv_error_set(err, PV_EIO, "'%s' exited with status 1", l);
        return 0;
}

/* A pid that surely does not run any more (a reaped child). */
static pid_t dead_pid(void) {
        pid_t p = fork();
        assert_true(p >= 0);
        if (p == 0)
                _exit(0);
        waitpid(p, NULL, 0);
        return p;
}

/* ------------------------------------------------------ confinement */

static void test_walk_refuses_escapes(void **state) {
        (void)state;
        struct root r;
        root_make(&r);
        char outside[64];
        strcpy(outside, "/tmp/pvfio-outside-XXXXXX");
        assert_non_null(mkdtemp(outside));
        char secret[128];
        snprintf(secret, sizeof secret, "%s/secret", outside);
        FILE *f = fopen(secret, "w");
        fputs("host\n", f);
        fclose(f);
        link_at(&r, "etc/abs", outside);                          /* absolute link out */
        link_at(&r, "etc/rel", "../../../../../../../../../tmp"); /* ".." out */
        put(&r, "etc/real/file", "inside\n");
        link_at(&r, "etc/ok", "real");                            /* relative, inside */

        /* the fallback walk refuses both escapes, follows the link that stays inside */
        assert_int_equal(pv_fs_open_walk(r.h.dirfd, "etc/abs/secret", O_RDONLY, 0), -EXDEV);
        assert_int_equal(pv_fs_open_walk(r.h.dirfd, "etc/rel", O_RDONLY | O_DIRECTORY, 0), -EXDEV);
        assert_int_equal(pv_fs_open_walk(r.h.dirfd, "../x", O_RDONLY, 0), -EXDEV);
        assert_int_equal(pv_fs_open_walk(r.h.dirfd, "/etc/passwd", O_RDONLY, 0), -EXDEV);
        int fd = pv_fs_open_walk(r.h.dirfd, "etc/ok/file", O_RDONLY, 0);
        assert_true(fd >= 0);
        close(fd);
        fd = pv_fs_open_walk(r.h.dirfd, "etc/real/../ok/./file", O_RDONLY, 0);
        assert_true(fd >= 0);
        close(fd);
        assert_int_equal(pv_fs_open_walk(r.h.dirfd, "etc/ok/file", O_RDONLY | O_NOFOLLOW, 0) >= 0, true);
        assert_int_equal(pv_fs_open_walk(r.h.dirfd, "etc/ok", O_RDONLY | O_NOFOLLOW, 0), -ELOOP);

        /* openat2: the escapes resolve inside the root (where nothing is), never to the host */
        char *c = NULL;
        assert_true(pv_fs_read_regular(r.h.dirfd, "etc/abs/secret", 0, 4096, &c, NULL, NULL) < 0);
        assert_true(pv_fs_read_regular(r.h.dirfd, "etc/ok/file", 0, 4096, &c, NULL, NULL) == 0);
        assert_string_equal(c, "inside\n");
        free(c);

        rm_tree(outside);
        root_free(&r);
}

/* `--root /mnt/image` whose etc/modprobe.d points at the host's: apply writes nothing outside. */
static void test_apply_cannot_escape(void **state) {
        (void)state;
        struct root r;
        root_make(&r);
        char outside[64];
        strcpy(outside, "/tmp/pvfio-outside-XXXXXX");
        assert_non_null(mkdtemp(outside));
        link_at(&r, "etc/modprobe.d", outside);
        link_at(&r, "etc/modules-load.d", "../../../../../../../.." /* climbs to / */ "/tmp");
        struct pv_plan p = PV_PLAN_INIT;
        add(&p, PV_ACT_WRITE_FILE, PV_HOSTPLAN_MODPROBE, NULL, "options vfio-pci ids=10de:1234\n", 0);
        add(&p, PV_ACT_WRITE_FILE, PV_HOSTPLAN_MODULES, NULL, "vfio\n", 0);
        struct rec rec = { .root = &r };
        struct pv_runner runner = { rec_run, &rec };
        struct pv_error e = PV_ERROR_INIT;
        (void)pv_host_apply(&r.h, &p, &runner, &e);
        pv_error_done(&e);
        char probe[128];
        snprintf(probe, sizeof probe, "%s/pvfio.conf", outside);
        assert_int_not_equal(access(probe, F_OK), 0);          /* nothing written on the "host" */
        assert_int_not_equal(access("/tmp/pvfio.conf", F_OK), 0);
        pv_plan_done(&p);
        rm_tree(outside);
        root_free(&r);
}

static void test_real_root_by_inode(void **state) {
        (void)state;
        int fd = open("//", O_RDONLY | O_DIRECTORY);
        assert_true(pv_fs_is_real_root(fd));
        close(fd);
        char link[64];
        snprintf(link, sizeof link, "/tmp/pvfio-slash-%d", (int)getpid());
        assert_int_equal(symlink("/", link), 0);
        fd = open(link, O_RDONLY | O_DIRECTORY);
        assert_true(pv_fs_is_real_root(fd));                     /* "/tmp/x -> /" is the real root */
        close(fd);
        unlink(link);
        fd = open("/tmp", O_RDONLY | O_DIRECTORY);
        assert_false(pv_fs_is_real_root(fd));
        close(fd);
}

/* ------------------------------------------------------------ FIFO */

static void on_alarm(int sig) {
        (void)sig;
        static const char m[] = "blocked on a FIFO\n";
        (void)!write(2, m, sizeof m - 1);
        _exit(1);
}

static void test_fifo_refused_not_hung(void **state) {
        (void)state;
        struct root r;
        root_make(&r);
        char cmd[512];
        snprintf(cmd, sizeof cmd, "python3 %s/tests/mkroot/mkroot.py %s/tests/machines/laptop-ga107m.json %s/m >/dev/null",
                 PVFIO_SOURCE_DIR, PVFIO_SOURCE_DIR, r.path);
        assert_int_equal(system(cmd), 0);
        char p[256];
        snprintf(p, sizeof p, "%s/m/proc/cmdline", r.path);
        unlink(p);
        assert_int_equal(mkfifo(p, 0644), 0);
        snprintf(p, sizeof p, "%s/m/etc/udev/rules.d", r.path);
        mkdirs_for(p, strlen(r.path));
        mkdir(p, 0755);
        strcat(p, "/60-pvfio-vfio.rules");
        assert_int_equal(mkfifo(p, 0644), 0);
        snprintf(p, sizeof p, "%s/m", r.path);
        signal(SIGALRM, on_alarm);
        alarm(30);
        struct pv_host *h = NULL;
        struct pv_error e = PV_ERROR_INIT;
        assert_int_equal(pv_host_open(p, NULL, &h, &e), 0);
        struct pv_host_state *st = NULL;
        /* proc/cmdline as a FIFO: read as absent, the scan goes on */
        if (pv_host_scan(h, 0, &st, &e) == 0)
                pv_host_state_free(st);
        pv_error_done(&e);
        /* a FIFO where pvfio's own file should be: an error naming it, at once */
        struct pv_hostplan_inputs in;
        assert_true(pv_hostplan_inputs_load(h, &in, &e) < 0);
        assert_non_null(strstr(pv_error_message(&e), "not a regular file"));
        pv_error_done(&e);
        alarm(0);
        pv_host_close(h);
        root_free(&r);
}

/* ------------------------------------------------------------- lock */

static void test_lock_exclusive_names_holder(void **state) {
        (void)state;
        struct root r;
        root_make(&r);
        struct pv_error e = PV_ERROR_INIT;
        struct pv_host_lock *l = NULL;
        assert_int_equal(mkdirat(r.h.dirfd, "run", 0755), 0);
        assert_int_equal(pv_host_lock_take(&r.h, true, 0, "host apply", &l, &e), 0);
        assert_true(exists(&r, PV_HOSTLOCK_PATH));
        pid_t child = fork();
        assert_true(child >= 0);
        if (child == 0) {
                /* another process: exclusive and shared both refused, naming the holder */
                struct pv_host_lock *l2 = NULL;
                struct pv_error e2 = PV_ERROR_INIT;
                char want[64];
                snprintf(want, sizeof want, "pid %ld ('host apply') since ", (long)getppid());
                int ok = pv_host_lock_take(&r.h, true, 1, "host apply", &l2, &e2) == -PV_ECONFLICT &&
                         strstr(pv_error_message(&e2), want) && strstr(pv_error_message(&e2), "--lock-timeout");
                pv_error_done(&e2);
                ok = ok && pv_host_lock_take(&r.h, false, 0, "host plan", &l2, &e2) == -PV_ECONFLICT;
                _exit(ok ? 0 : 1);
        }
        int status = 0;
        waitpid(child, &status, 0);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        pv_host_lock_release(l);
        /* the last holder leaves no trace */
        assert_false(exists(&r, PV_HOSTLOCK_PATH));
        /* two plans side by side */
        struct pv_host_lock *a = NULL, *b = NULL;
        assert_int_equal(pv_host_lock_take(&r.h, false, 0, "host plan", &a, &e), 0);
        assert_int_equal(pv_host_lock_take(&r.h, false, 0, "host plan", &b, &e), 0);
        pv_host_lock_release(a);
        assert_true(exists(&r, PV_HOSTLOCK_PATH));                /* b still holds it */
        pv_host_lock_release(b);
        assert_false(exists(&r, PV_HOSTLOCK_PATH));
        /* a fake root without run/ gets none: the root directory itself is locked */
        assert_int_equal(unlinkat(r.h.dirfd, "run", AT_REMOVEDIR), 0);
        assert_int_equal(pv_host_lock_take(&r.h, true, 0, "host apply", &a, &e), 0);
        child = fork();
        if (child == 0)
                _exit(pv_host_lock_take(&r.h, false, 0, "host plan", &b, &e) == -PV_ECONFLICT ? 0 : 1);
        waitpid(child, &status, 0);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        pv_host_lock_release(a);
        assert_false(exists(&r, "run"));
        root_free(&r);
}

/* ----------------------------------------------- journal before effect */

static void test_refresh_owed_until_it_succeeds(void **state) {
        (void)state;
        struct root r;
        root_make(&r);
        struct pv_plan p = PV_PLAN_INIT;
        add(&p, PV_ACT_WRITE_FILE, PV_HOSTPLAN_MODULES, NULL, "vfio\n", 0);
        add(&p, PV_ACT_RUN_COMMAND, "update-initramfs", NULL, PV_CMD_UPDATE_INITRAMFS, 1);
        struct rec rec = { .root = &r, .fail_on = PV_CMD_UPDATE_INITRAMFS };
        struct pv_runner runner = { rec_run, &rec };
        struct pv_error e = PV_ERROR_INIT;
        assert_int_equal(pv_host_apply(&r.h, &p, &runner, &e), 0);
        assert_int_equal(p.actions[1].status, PV_ACT_FAILED);
        pv_plan_done(&p);
        /* the file is in place, the refresh failed: the journal owes it, the planner's inputs say so */
        struct pv_hostplan_inputs in;
        assert_int_equal(pv_hostplan_inputs_load(&r.h, &in, &e), 0);
        assert_int_equal(in.refresh_owed, PV_REFRESH_INITRAMFS);
        pv_hostplan_inputs_done(&in);
        /* a run with only the refresh (what the planner plans then) clears it once it succeeds */
        p = (struct pv_plan)PV_PLAN_INIT;
        add(&p, PV_ACT_RUN_COMMAND, "update-initramfs", NULL, PV_CMD_UPDATE_INITRAMFS, 0);
        rec.fail_on = NULL;
        assert_int_equal(pv_host_apply(&r.h, &p, &runner, &e), 0);
        assert_int_equal(p.actions[0].status, PV_ACT_DONE);
        pv_plan_done(&p);
        assert_int_equal(pv_hostplan_inputs_load(&r.h, &in, &e), 0);
        assert_int_equal(in.refresh_owed, 0);
        pv_hostplan_inputs_done(&in);
        root_free(&r);
}

static void test_undo_journalled_before_command(void **state) {
        (void)state;
        struct root r;
        root_make(&r);
        struct pv_plan p = PV_PLAN_INIT;
        add(&p, PV_ACT_RUN_COMMAND, "systemctl", "systemctl disable " PV_HOSTPLAN_NVIDIA_SRIOV_UNIT,
            "systemctl enable " PV_HOSTPLAN_NVIDIA_SRIOV_UNIT, 0);
        /* the enable "fails" after doing its work (as a kill right after it would): rollback must still undo it */
        struct rec rec = { .root = &r, .fail_on = "systemctl enable " PV_HOSTPLAN_NVIDIA_SRIOV_UNIT };
        struct pv_runner runner = { rec_run, &rec };
        struct pv_error e = PV_ERROR_INIT;
        assert_int_equal(pv_host_apply(&r.h, &p, &runner, &e), 0);
        assert_true(rec.undo_was_journalled);
        pv_plan_done(&p);
        struct pv_rollback_report rep = { 0 };
        rec.fail_on = NULL;
        rec.n = 0;
        assert_int_equal(pv_host_rollback(&r.h, &runner, &rep, &e), 0);
        assert_int_equal(rep.failed.n, 0);
        assert_int_equal(rec.n, 1);
        assert_string_equal(rec.lines[0], "systemctl disable " PV_HOSTPLAN_NVIDIA_SRIOV_UNIT);
        pv_rollback_report_done(&rep);
        /* and leaves no trace of its journal */
        assert_false(exists(&r, "var"));
        root_free(&r);
}

/* ---------------------------------------------------------- temp files */

static void test_stale_temps_cleaned(void **state) {
        (void)state;
        struct root r;
        root_make(&r);
        put(&r, PV_HOSTPLAN_MODPROBE, "old\n");
        struct pv_plan p = PV_PLAN_INIT;
        add(&p, PV_ACT_WRITE_FILE, PV_HOSTPLAN_MODPROBE, "old\n", "new\n", 0);
        char stale[128];
        snprintf(stale, sizeof stale, "etc/modprobe.d/.pvfio.conf.pvfio-%ld-1f2e", (long)dead_pid());
        put(&r, stale, "half");
        struct rec rec = { .root = &r };
        struct pv_runner runner = { rec_run, &rec };
        struct pv_error e = PV_ERROR_INIT;
        assert_int_equal(pv_host_apply(&r.h, &p, &runner, &e), 0);
        assert_false(exists(&r, stale));                          /* re-apply cleans it */
        pv_plan_done(&p);
        /* one more left by a killed rollback, one of a live process (the parent of this test) */
        snprintf(stale, sizeof stale, "etc/modprobe.d/.pvfio.conf.pvfio-%ld-77", (long)dead_pid());
        put(&r, stale, "x");
        char live[128];
        snprintf(live, sizeof live, "var/lib/pvfio/.journal.json.pvfio-%ld-abc", (long)getppid());
        put(&r, live, "x");
        struct pv_rollback_report rep = { 0 };
        assert_int_equal(pv_host_rollback(&r.h, &runner, &rep, &e), 0);
        assert_false(exists(&r, stale));
        assert_int_equal(rep.warnings.n >= 1, true);
        assert_non_null(strstr(rep.warnings.v[0], "temporary file a killed pvfio left"));
        /* the live one is left and reported: the command exits 3 */
        assert_true(exists(&r, live));
        assert_int_equal(rep.failed.n, 1);
        assert_non_null(strstr(rep.failed.v[0], "still running"));
        pv_rollback_report_done(&rep);
        root_free(&r);
}

static void test_rollback_reports_left_directory(void **state) {
        (void)state;
        struct root r;
        root_make(&r);
        struct pv_plan p = PV_PLAN_INIT;
        add(&p, PV_ACT_WRITE_FILE, PV_HOSTPLAN_MODPROBE, NULL, "new\n", 0);
        struct rec rec = { .root = &r };
        struct pv_runner runner = { rec_run, &rec };
        struct pv_error e = PV_ERROR_INIT;
        assert_int_equal(pv_host_apply(&r.h, &p, &runner, &e), 0);
        pv_plan_done(&p);
        put(&r, "etc/modprobe.d/user.conf", "mine\n");          /* someone else's file in pvfio's directory */
        struct pv_rollback_report rep = { 0 };
        assert_int_equal(pv_host_rollback(&r.h, &runner, &rep, &e), 0);
        assert_int_equal(rep.failed.n, 2);   /* etc/modprobe.d, then etc that holds it */
        assert_non_null(strstr(rep.failed.v[0], "etc/modprobe.d: directory pvfio created not removed"));
        assert_non_null(strstr(rep.failed.v[1], "etc: directory pvfio created not removed"));
        assert_true(exists(&r, "etc/modprobe.d/user.conf"));
        assert_false(exists(&r, PV_HOSTPLAN_MODPROBE));
        pv_rollback_report_done(&rep);
        root_free(&r);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_walk_refuses_escapes),
                cmocka_unit_test(test_apply_cannot_escape),
                cmocka_unit_test(test_real_root_by_inode),
                cmocka_unit_test(test_fifo_refused_not_hung),
                cmocka_unit_test(test_lock_exclusive_names_holder),
                cmocka_unit_test(test_refresh_owed_until_it_succeeds),
                cmocka_unit_test(test_undo_journalled_before_command),
                cmocka_unit_test(test_stale_temps_cleaned),
                cmocka_unit_test(test_rollback_reports_left_directory),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
