/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The host executor on temporary roots: atomic writes, journal, rollback, live sysfs writes. */
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

#include "host_actions.h"

/* ------------------------------------------------------------- helpers */

struct root {
        char path[64];
        struct pv_host h;
};

static void root_make(struct root *r) {
        strcpy(r->path, "/tmp/pvfio-hostexec-XXXXXX");
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

static void root_free(struct root *r) {
        close(r->h.dirfd);
        nftw(r->path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void put(struct root *r, const char *rel, const char *content, mode_t mode) {
        char p[512];
        snprintf(p, sizeof p, "%s/%s", r->path, rel);
        for (char *s = strchr(p + strlen(r->path) + 1, '/'); s; s = strchr(s + 1, '/')) {
                *s = '\0';
                mkdir(p, 0755);
                *s = '/';
        }
        FILE *f = fopen(p, "w");
        assert_non_null(f);
        fputs(content, f);
        fclose(f);
        assert_int_equal(chmod(p, mode), 0);
}

/* Whole content of a file under the root, or NULL when absent (caller frees). */
static char *get(struct root *r, const char *rel) {
        char p[512];
        snprintf(p, sizeof p, "%s/%s", r->path, rel);
        FILE *f = fopen(p, "r");
        if (!f)
                return NULL;
        char *buf = NULL;
        size_t n = 0;
        FILE *m = open_memstream(&buf, &n);
        int c;
        while ((c = fgetc(f)) != EOF)
                fputc(c, m);
        fclose(m);
        fclose(f);
        return buf;
}

static struct stat st_of(struct root *r, const char *rel) {
        struct stat st;
        memset(&st, 0, sizeof st);
        if (fstatat(r->h.dirfd, rel, &st, AT_SYMLINK_NOFOLLOW) < 0)
                st.st_ino = 0;
        return st;
}

static bool exists(struct root *r, const char *rel) {
        return st_of(r, rel).st_ino != 0;
}

/* A strict recorder: every command is logged; fail_on makes that command fail. */
struct rec {
        char lines[32][256];
        size_t n;
        const char *fail_on;
};

static int rec_run(void *ud, const char *const argv[], struct pv_error *err) {
        struct rec *r = ud;
        assert_true(r->n < 32);
        char *l = r->lines[r->n++];
        l[0] = '\0';
        for (size_t i = 0; argv[i]; i++) {
                if (i)
                        strcat(l, " ");
                strcat(l, argv[i]);
        }
        if (r->fail_on && strcmp(l, r->fail_on) == 0)
                return pv_error_set(err, PV_EIO, "'%s' exited with status 1", l);
        return 0;
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

static void add_key(struct pv_plan *p, const char *key, const char *before, const char *after) {
        assert_int_equal(pv_plan_add_key(p, p->n - 1, strdup(key), before ? strdup(before) : NULL,
                                         after ? strdup(after) : NULL, false, NULL),
                         0);
}

/* Snapshot of every file and directory below the root: "path mode content" lines (sorted by walk). */
static char *snapshot_buf;
static size_t snapshot_len;
static FILE *snapshot_out;
static size_t snapshot_skip;

static int snap_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw) {
        (void)ftw;
        if (strlen(p) <= snapshot_skip)
                return 0;
        fprintf(snapshot_out, "%s %o %u:%u", p + snapshot_skip, (unsigned)(sb->st_mode & 07777), (unsigned)sb->st_uid,
                (unsigned)sb->st_gid);
        if (flag == FTW_F) {
                FILE *f = fopen(p, "r");
                int c;
                fputc(' ', snapshot_out);
                while (f && (c = fgetc(f)) != EOF)
                        fputc(c, snapshot_out);
                if (f)
                        fclose(f);
        }
        fputc('\n', snapshot_out);
        return 0;
}

static char *snapshot(struct root *r) {
        snapshot_out = open_memstream(&snapshot_buf, &snapshot_len);
        snapshot_skip = strlen(r->path);
        nftw(r->path, snap_one, 16, FTW_PHYS);
        fclose(snapshot_out);
        return snapshot_buf;
}

/* ------------------------------------------------------------- tests */

static void test_atomic_write(void **state) {
        (void)state;
        struct root r;
        root_make(&r);
        struct pv_error e = PV_ERROR_INIT;
        put(&r, "etc/x.conf", "old\n", 0640);
        if (geteuid() == 0)
                assert_int_equal(fchownat(r.h.dirfd, "etc/x.conf", 1234, 5678, 0), 0);
        struct stat before = st_of(&r, "etc/x.conf");
        assert_int_equal(pv_host_write_file_atomic(&r.h, "etc/x.conf", "new\n", 4, 0644, NULL, &e), 0);
        char *c = get(&r, "etc/x.conf");
        assert_string_equal(c, "new\n");
        free(c);
        struct stat after = st_of(&r, "etc/x.conf");
        assert_int_equal(after.st_mode & 07777, 0640);        /* mode kept */
        assert_int_equal(after.st_uid, before.st_uid);       /* owner kept */
        assert_int_equal(after.st_gid, before.st_gid);
        assert_int_not_equal(after.st_ino, before.st_ino);   /* replaced by rename, not rewritten in place */
        /* new file in new directories: 0644 / 0755, created directories reported outermost first */
        struct pv_strv created = PV_STRV_INIT;
        mode_t old_umask = umask(077);
        assert_int_equal(pv_host_write_file_atomic(&r.h, "etc/a/b/new.conf", "x", 1, 0644, &created, &e), 0);
        umask(old_umask);
        assert_int_equal(created.n, 2);
        assert_string_equal(created.v[0], "etc/a");
        assert_string_equal(created.v[1], "etc/a/b");
        assert_int_equal(st_of(&r, "etc/a/b/new.conf").st_mode & 07777, 0644);
        assert_int_equal(st_of(&r, "etc/a").st_mode & 07777, 0755);
        pv_strv_done(&created);
        /* no temporary files left behind */
        char p[128];
        snprintf(p, sizeof p, "%s/etc", r.path);
        DIR *d = opendir(p);
        struct dirent *de;
        while ((de = readdir(d)))
                assert_null(strstr(de->d_name, ".pvfio-"));
        closedir(d);
        /* a directory in the way is refused, not replaced */
        put(&r, "etc/dir/keep", "k", 0644);
        assert_true(pv_host_write_file_atomic(&r.h, "etc/dir", "x", 1, 0644, NULL, &e) < 0);
        assert_non_null(strstr(pv_error_message(&e), "not a regular file"));
        pv_error_done(&e);
        root_free(&r);
}

static const char cmdline0[] = "root=ZFS=rpool/ROOT/pve-1 boot=zfs\n";
static const char cmdline1[] = "root=ZFS=rpool/ROOT/pve-1 boot=zfs iommu=pt\n";

static void build_plan(struct pv_plan *p) {
        add(p, PV_ACT_WRITE_FILE, PV_HOSTPLAN_MODPROBE, NULL, "options vfio-pci ids=10de:25a0\n", 0);       /* 1 */
        add(p, PV_ACT_WRITE_FILE, PV_HOSTPLAN_MODULES, NULL, "vfio\nvfio_iommu_type1\nvfio_pci\n", 0);       /* 2 */
        add(p, PV_ACT_EDIT_FILE, PV_HOSTPLAN_KERNEL_CMDLINE, cmdline0, cmdline1, 0);                          /* 3 */
        add_key(p, "iommu", NULL, "iommu=pt");
        add(p, PV_ACT_RUN_COMMAND, "update-initramfs", NULL, PV_CMD_UPDATE_INITRAMFS, 2);                     /* 4 */
        add(p, PV_ACT_RUN_COMMAND, "proxmox-boot-tool", NULL, PV_CMD_PBT_REFRESH, 4);                         /* 5 */
        add(p, PV_ACT_RUN_COMMAND, "systemctl", "systemctl disable pve-nvidia-sriov@ALL.service",
            "systemctl enable pve-nvidia-sriov@ALL.service", 0);                                              /* 6 */
}

static void test_apply_journal_rollback(void **state) {
        (void)state;
        struct root r;
        root_make(&r);
        put(&r, "etc/kernel/cmdline", cmdline0, 0600);
        put(&r, "etc/modprobe.d/other.conf", "options kvm ignore_msrs=1\n", 0644);
        char *orig = snapshot(&r);

        struct pv_plan p = PV_PLAN_INIT;
        build_plan(&p);
        struct rec rec = { 0 };
        struct pv_runner runner = { rec_run, &rec };
        struct pv_error e = PV_ERROR_INIT;
        assert_int_equal(pv_host_apply(&r.h, &p, &runner, &e), 0);
        for (size_t i = 0; i < p.n; i++) {
                if (p.actions[i].status != PV_ACT_DONE)
                        fail_msg("action %zu: %s", i, p.actions[i].error ? p.actions[i].error : "?");
        }
        assert_int_equal(rec.n, 3);
        assert_string_equal(rec.lines[0], "update-initramfs -u -k all");
        assert_string_equal(rec.lines[1], "proxmox-boot-tool refresh");
        assert_string_equal(rec.lines[2], "systemctl enable pve-nvidia-sriov@ALL.service");
        char *c = get(&r, PV_HOSTPLAN_KERNEL_CMDLINE);
        assert_string_equal(c, cmdline1);
        free(c);
        assert_int_equal(st_of(&r, PV_HOSTPLAN_KERNEL_CMDLINE).st_mode & 07777, 0600);
        assert_int_equal(st_of(&r, PV_HOSTPLAN_MODULES).st_mode & 07777, 0644);
        c = get(&r, PV_HOSTPLAN_JOURNAL);
        assert_non_null(c);
        assert_non_null(strstr(c, "\"path\": \"etc/kernel/cmdline\""));
        assert_non_null(strstr(c, "\"content\": \"root=ZFS=rpool/ROOT/pve-1 boot=zfs\\n\""));
        assert_non_null(strstr(c, "\"owned_args\": [\n        \"iommu=pt\"\n      ]"));
        assert_non_null(strstr(c, "\"etc/modules-load.d\""));
        free(c);
        assert_int_equal(st_of(&r, PV_HOSTPLAN_JOURNAL).st_mode & 07777, 0600);

        /* the journal feeds the next plan: pvfio owns iommu=pt */
        struct pv_hostplan_inputs in;
        assert_int_equal(pv_hostplan_inputs_load(&r.h, &in, &e), 0);
        assert_true(in.have_journal);
        assert_int_equal(in.owned_args.n, 1);
        assert_string_equal(in.owned_args.v[0], "iommu=pt");
        assert_false(in.udev_vfio.present);
        assert_false(in.nvidia_sriov_enabled);
        pv_hostplan_inputs_done(&in);

        /* nothing to do: no write (journal untouched), no command */
        struct stat js = st_of(&r, PV_HOSTPLAN_JOURNAL);
        struct pv_plan empty = PV_PLAN_INIT;
        assert_int_equal(pv_host_apply(&r.h, &empty, &runner, &e), 0);
        struct stat js2 = st_of(&r, PV_HOSTPLAN_JOURNAL);
        assert_int_equal(js.st_ino, js2.st_ino);
        assert_int_equal(js.st_mtim.tv_nsec, js2.st_mtim.tv_nsec);
        assert_int_equal(rec.n, 3);

        /* rollback: exact pre-pvfio tree, undo command, then the refreshes whose inputs changed */
        struct pv_rollback_report rep;
        assert_int_equal(pv_host_rollback(&r.h, &runner, &rep, &e), 0);
        assert_true(rep.had_journal);
        assert_int_equal(rep.failed.n, 0);
        assert_int_equal(rep.warnings.n, 0);
        assert_int_equal(rep.restored.n, 1);
        assert_string_equal(rep.restored.v[0], PV_HOSTPLAN_KERNEL_CMDLINE);
        assert_int_equal(rep.removed.n, 2);
        assert_int_equal(rep.commands.n, 3);
        assert_string_equal(rep.commands.v[0], "systemctl disable pve-nvidia-sriov@ALL.service");
        assert_string_equal(rep.commands.v[1], PV_CMD_UPDATE_INITRAMFS);
        assert_string_equal(rep.commands.v[2], PV_CMD_PBT_REFRESH);
        assert_int_equal(rec.n, 6);
        assert_string_equal(rec.lines[5], PV_CMD_PBT_REFRESH);
        char *now = snapshot(&r);
        assert_string_equal(now, orig);
        free(now);
        free(orig);
        pv_rollback_report_done(&rep);

        /* a second rollback finds nothing */
        assert_int_equal(pv_host_rollback(&r.h, &runner, &rep, &e), 0);
        assert_false(rep.had_journal);
        assert_int_equal(rep.commands.n, 0);
        pv_rollback_report_done(&rep);
        pv_plan_done(&p);
        root_free(&r);
}

static void test_stale_file_and_skips(void **state) {
        (void)state;
        struct root r;
        root_make(&r);
        put(&r, "etc/kernel/cmdline", "root=/dev/sda1 quiet\n", 0644);   /* not what the plan saw */
        struct pv_plan p = PV_PLAN_INIT;
        build_plan(&p);
        struct rec rec = { .fail_on = PV_CMD_UPDATE_INITRAMFS };
        struct pv_runner runner = { rec_run, &rec };
        struct pv_error e = PV_ERROR_INIT;
        assert_int_equal(pv_host_apply(&r.h, &p, &runner, &e), 0);
        assert_int_equal(p.actions[0].status, PV_ACT_DONE);
        assert_int_equal(p.actions[2].status, PV_ACT_FAILED);
        assert_non_null(strstr(p.actions[2].error, "changed since the plan was made"));
        char *c = get(&r, PV_HOSTPLAN_KERNEL_CMDLINE);
        assert_string_equal(c, "root=/dev/sda1 quiet\n");   /* untouched */
        free(c);
        assert_int_equal(p.actions[3].status, PV_ACT_FAILED);   /* update-initramfs failed in the runner */
        assert_non_null(strstr(p.actions[3].error, "exited with status 1"));
        assert_int_equal(p.actions[4].status, PV_ACT_SKIPPED);  /* depends on it: never run */
        assert_int_equal(p.actions[5].status, PV_ACT_DONE);
        assert_int_equal(rec.n, 2);
        assert_string_equal(rec.lines[1], "systemctl enable pve-nvidia-sriov@ALL.service");
        /* the user edits pvfio's file afterwards: rollback still restores, and says so */
        put(&r, PV_HOSTPLAN_MODPROBE, "options vfio-pci ids=10de:25a0\n# mine\n", 0644);
        struct pv_rollback_report rep;
        rec.fail_on = NULL;
        assert_int_equal(pv_host_rollback(&r.h, &runner, &rep, &e), 0);
        assert_int_equal(rep.warnings.n, 1);
        assert_non_null(strstr(rep.warnings.v[0], "'etc/modprobe.d/pvfio.conf' changed since pvfio wrote it"));
        assert_false(exists(&r, PV_HOSTPLAN_MODPROBE));
        assert_false(exists(&r, "etc/modules-load.d"));
        assert_false(exists(&r, "var"));
        c = get(&r, PV_HOSTPLAN_KERNEL_CMDLINE);
        assert_string_equal(c, "root=/dev/sda1 quiet\n");
        free(c);
        pv_rollback_report_done(&rep);
        pv_plan_done(&p);
        root_free(&r);
}

static void test_blocked_and_corrupt_journal(void **state) {
        (void)state;
        struct root r;
        root_make(&r);
        struct pv_plan p = PV_PLAN_INIT;
        add(&p, PV_ACT_WRITE_FILE, PV_HOSTPLAN_MODPROBE, NULL, "x\n", 0);
        p.actions[0].blocked = strdup("because");
        add(&p, PV_ACT_RUN_COMMAND, "update-initramfs", NULL, PV_CMD_UPDATE_INITRAMFS, 1);
        struct rec rec = { 0 };
        struct pv_runner runner = { rec_run, &rec };
        struct pv_error e = PV_ERROR_INIT;
        assert_int_equal(pv_host_apply(&r.h, &p, &runner, &e), 0);
        assert_int_equal(p.actions[0].status, PV_ACT_BLOCKED);
        assert_int_equal(p.actions[1].status, PV_ACT_SKIPPED);
        assert_int_equal(rec.n, 0);
        assert_false(exists(&r, "var"));   /* nothing to journal */
        pv_plan_done(&p);

        put(&r, PV_HOSTPLAN_JOURNAL, "{ not json", 0600);
        add(&p, PV_ACT_WRITE_FILE, PV_HOSTPLAN_MODPROBE, NULL, "x\n", 0);
        assert_int_equal(pv_host_apply(&r.h, &p, &runner, &e), -PV_EINVAL);
        assert_non_null(strstr(pv_error_message(&e), "journal 'var/lib/pvfio/journal.json'"));
        assert_non_null(strstr(pv_error_message(&e), "nothing was changed"));
        assert_false(exists(&r, PV_HOSTPLAN_MODPROBE));
        assert_int_equal(p.actions[0].status, PV_ACT_PLANNED);
        pv_error_done(&e);
        struct pv_rollback_report rep;
        assert_int_equal(pv_host_rollback(&r.h, &runner, &rep, &e), -PV_EINVAL);
        pv_error_done(&e);
        pv_plan_done(&p);
        root_free(&r);
}

static void test_binary_original_roundtrip(void **state) {
        (void)state;
        struct root r;
        root_make(&r);
        static const char bin[] = "abc\xff\xfe\x01zz\n";
        put(&r, "etc/modprobe.d/pvfio.conf", bin, 0644);
        struct pv_plan p = PV_PLAN_INIT;
        add(&p, PV_ACT_WRITE_FILE, PV_HOSTPLAN_MODPROBE, bin, "clean\n", 0);
        struct rec rec = { 0 };
        struct pv_runner runner = { rec_run, &rec };
        struct pv_error e = PV_ERROR_INIT;
        assert_int_equal(pv_host_apply(&r.h, &p, &runner, &e), 0);
        assert_int_equal(p.actions[0].status, PV_ACT_DONE);
        char *j = get(&r, PV_HOSTPLAN_JOURNAL);
        assert_non_null(strstr(j, "\"content_base64\": \"YWJj//4BenoK\""));
        free(j);
        struct pv_rollback_report rep;
        assert_int_equal(pv_host_rollback(&r.h, &runner, &rep, &e), 0);
        char *c = get(&r, PV_HOSTPLAN_MODPROBE);
        assert_string_equal(c, bin);
        free(c);
        assert_int_equal(rep.commands.n, 1);
        assert_string_equal(rep.commands.v[0], PV_CMD_UPDATE_INITRAMFS);
        pv_rollback_report_done(&rep);
        pv_plan_done(&p);
        root_free(&r);
}

static void test_rebind_and_sriov_sysfs(void **state) {
        (void)state;
        struct root r;
        root_make(&r);
        put(&r, "sys/bus/pci/drivers/nvidia/unbind", "", 0600);
        put(&r, "sys/bus/pci/devices/0000:02:00.0/driver_override", "(null)\n", 0644);
        put(&r, "sys/bus/pci/drivers_probe", "", 0600);
        put(&r, "sys/bus/pci/devices/0000:00:02.0/sriov_numvfs", "3\n", 0644);
        put(&r, "sys/bus/pci/devices/0000:02:00.1/driver_override", "(null)\n", 0644);   /* unbound function */
        assert_int_equal(symlinkat("../../drivers/nvidia", r.h.dirfd, "sys/bus/pci/devices/0000:02:00.0/driver"), 0);

        struct pv_plan p = PV_PLAN_INIT;
        add(&p, PV_ACT_REBIND_DEVICE, "0000:02:00.0", NULL, NULL, 0);
        add_key(&p, "driver", "nvidia", "vfio-pci");
        add(&p, PV_ACT_SET_SRIOV, "0000:00:02.0", NULL, NULL, 0);
        add_key(&p, "sriov_numvfs", "3", "7");
        assert_int_equal(test_host_sriov(&p.actions[p.n - 1], 7), 0);
        add(&p, PV_ACT_REBIND_DEVICE, "0000:02:00.1", NULL, NULL, 0);
        add_key(&p, "driver", NULL, "vfio-pci");
        add(&p, PV_ACT_REBIND_DEVICE, "../../etc", NULL, NULL, 0);
        struct pv_error e = PV_ERROR_INIT;
        assert_int_equal(pv_host_apply(&r.h, &p, NULL, &e), 0);
        assert_int_equal(p.actions[0].status, PV_ACT_DONE);
        assert_int_equal(p.actions[1].status, PV_ACT_DONE);
        assert_int_equal(p.actions[2].status, PV_ACT_DONE);
        assert_int_equal(p.actions[3].status, PV_ACT_FAILED);
        char *c = get(&r, "sys/bus/pci/devices/0000:02:00.0/driver_override");
        assert_string_equal(c, "vfio-pci");
        free(c);
        c = get(&r, "sys/bus/pci/drivers/nvidia/unbind");
        assert_string_equal(c, "0000:02:00.0");   /* only the bound function was unbound */
        free(c);
        c = get(&r, "sys/bus/pci/drivers_probe");
        assert_string_equal(c, "0000:02:00.1");   /* the last probe written */
        free(c);
        c = get(&r, "sys/bus/pci/devices/0000:00:02.0/sriov_numvfs");
        assert_string_equal(c, "7");
        free(c);
        pv_plan_done(&p);

        /* a missing attribute is a failure, not a created file */
        add(&p, PV_ACT_SET_SRIOV, "0000:00:03.0", NULL, NULL, 0);
        add_key(&p, "sriov_numvfs", "0", "2");
        assert_int_equal(test_host_sriov(&p.actions[p.n - 1], 2), 0);
        assert_int_equal(pv_host_apply(&r.h, &p, NULL, &e), 0);
        assert_int_equal(p.actions[0].status, PV_ACT_FAILED);
        assert_non_null(strstr(p.actions[0].error, "sriov_numvfs"));
        assert_false(exists(&r, "sys/bus/pci/devices/0000:00:03.0"));
        pv_plan_done(&p);
        root_free(&r);
}

static void test_commands(void **state) {
        (void)state;
        char **argv = NULL;
        struct pv_error e = PV_ERROR_INIT;
        assert_int_equal(pv_command_argv("update-initramfs  -u -k all", &argv, &e), 0);
        assert_string_equal(argv[0], "update-initramfs");
        assert_string_equal(argv[3], "all");
        assert_null(argv[4]);
        pv_argv_free(argv);
        assert_int_equal(pv_command_argv("  ", &argv, &e), -PV_EINVAL);
        pv_error_done(&e);

        struct root r;
        root_make(&r);
        const char *a1[] = { "update-grub", NULL }, *a2[] = { "proxmox-boot-tool", "refresh", NULL };
        assert_int_equal(pv_host_record_command(&r.h, a1, &e), 0);
        assert_int_equal(pv_host_record_command(&r.h, a2, &e), 0);
        char *c = get(&r, PV_HOSTPLAN_COMMANDS_LOG);
        assert_string_equal(c, "update-grub\nproxmox-boot-tool refresh\n");
        free(c);
        /* no runner: a command action fails instead of silently passing */
        struct pv_plan p = PV_PLAN_INIT;
        add(&p, PV_ACT_RUN_COMMAND, "update-grub", NULL, PV_CMD_UPDATE_GRUB, 0);
        assert_int_equal(pv_host_apply(&r.h, &p, NULL, &e), 0);
        assert_int_equal(p.actions[0].status, PV_ACT_FAILED);
        pv_plan_done(&p);
        root_free(&r);
}

/* The executors read only typed payloads: an action without one (a plan from an older pvfio, or
 * assembled by hand) is refused before anything changes; its command line is never split. */
static void test_apply_needs_payloads(void **state) {
        (void)state;
        struct root r;
        root_make(&r);
        struct rec rec = { 0 };
        struct pv_runner runner = { rec_run, &rec };
        struct pv_error e = PV_ERROR_INIT;
        struct pv_plan p = PV_PLAN_INIT;
        add(&p, PV_ACT_WRITE_FILE, PV_HOSTPLAN_MODULES, NULL, "vfio\n", 0);   /* with its payload */
        struct pv_action a = { .kind = PV_ACT_RUN_COMMAND };             /* without: after is only text */
        a.target = strdup("update-initramfs");
        a.after = strdup(PV_CMD_UPDATE_INITRAMFS);
        a.reason = strdup("test");
        assert_true(pv_plan_add(&p, &a, NULL) >= 0);
        assert_int_equal(pv_host_apply(&r.h, &p, &runner, &e), -PV_EINVAL);
        assert_non_null(strstr(pv_error_message(&e), "host action 2 (run-command 'update-initramfs') has no typed "
                                                      "payload"));
        assert_non_null(strstr(pv_error_message(&e), "nothing was changed"));
        pv_error_done(&e);
        assert_int_equal(rec.n, 0);                       /* the command line was not split and run */
        assert_false(exists(&r, PV_HOSTPLAN_MODULES));    /* the earlier file action did not run either */
        assert_false(exists(&r, "var"));                  /* no journal */
        assert_int_equal(p.actions[0].status, PV_ACT_PLANNED);
        assert_int_equal(p.actions[1].status, PV_ACT_PLANNED);
        pv_plan_done(&p);

        /* a file action without payload: refused too, even though its target names a path */
        struct pv_action f = { .kind = PV_ACT_WRITE_FILE };
        f.target = strdup(PV_HOSTPLAN_MODPROBE);
        f.after = strdup("x\n");
        f.reason = strdup("test");
        assert_true(pv_plan_add(&p, &f, NULL) >= 0);
        assert_int_equal(pv_host_apply(&r.h, &p, &runner, &e), -PV_EINVAL);
        assert_non_null(strstr(pv_error_message(&e), "host action 1 (write-file 'etc/modprobe.d/pvfio.conf') has no "
                                                      "typed payload"));
        pv_error_done(&e);
        assert_false(exists(&r, PV_HOSTPLAN_MODPROBE));
        pv_plan_done(&p);

        /* with payloads, the display text is only text: the payload's path and argv are what run */
        add(&p, PV_ACT_WRITE_FILE, PV_HOSTPLAN_MODPROBE, NULL, "y\n", 0);
        free(p.actions[0].target);
        p.actions[0].target = strdup("display/only");
        static const char *const grub[] = { "update-grub", NULL };
        add(&p, PV_ACT_RUN_COMMAND, "update-grub", NULL, "not this command", 0);
        assert_int_equal(pv_action_set_command(&p.actions[1], grub, &e), 0);
        assert_int_equal(pv_host_apply(&r.h, &p, &runner, &e), 0);
        assert_int_equal(p.actions[0].status, PV_ACT_DONE);
        assert_int_equal(p.actions[1].status, PV_ACT_DONE);
        assert_true(exists(&r, PV_HOSTPLAN_MODPROBE));
        assert_false(exists(&r, "display"));
        assert_int_equal(rec.n, 1);
        assert_string_equal(rec.lines[0], "update-grub");
        pv_plan_done(&p);
        root_free(&r);
}

static void test_inputs_and_node_name(void **state) {
        (void)state;
        struct root r;
        root_make(&r);
        struct pv_error e = PV_ERROR_INIT;
        char *node = NULL;
        assert_int_equal(pv_host_read_node_name(&r.h, &node, &e), -PV_ENOTFOUND);
        pv_error_done(&e);
        put(&r, "etc/hostname", "pve2.example.com\n", 0644);
        assert_int_equal(pv_host_read_node_name(&r.h, &node, &e), 0);
        assert_string_equal(node, "pve2");
        free(node);
        put(&r, PV_HOSTPLAN_UDEV_VFIO, "ACTION==\"add\"\n", 0644);
        put(&r, "etc/systemd/system/multi-user.target.wants/.keep", "", 0644);
        struct pv_hostplan_inputs in;
        assert_int_equal(pv_hostplan_inputs_load(&r.h, &in, &e), 0);
        assert_true(in.udev_vfio.present);
        assert_string_equal(in.udev_vfio.content, "ACTION==\"add\"\n");
        assert_string_equal(in.udev_vfio.path, PV_HOSTPLAN_UDEV_VFIO);
        assert_false(in.udev_sriov.present);
        assert_false(in.nvidia_sriov_enabled);
        assert_false(in.have_journal);
        pv_hostplan_inputs_done(&in);
        assert_int_equal(symlinkat("/lib/systemd/system/pve-nvidia-sriov@.service", r.h.dirfd,
                                   "etc/systemd/system/multi-user.target.wants/pve-nvidia-sriov@ALL.service"),
                         0);
        assert_int_equal(pv_hostplan_inputs_load(&r.h, &in, &e), 0);
        assert_true(in.nvidia_sriov_enabled);   /* a dangling link is still "enabled" */
        pv_hostplan_inputs_done(&in);
        root_free(&r);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_atomic_write),
                cmocka_unit_test(test_apply_journal_rollback),
                cmocka_unit_test(test_stale_file_and_skips),
                cmocka_unit_test(test_blocked_and_corrupt_journal),
                cmocka_unit_test(test_binary_original_roundtrip),
                cmocka_unit_test(test_rebind_and_sriov_sysfs),
                cmocka_unit_test(test_commands),
                cmocka_unit_test(test_apply_needs_payloads),
                cmocka_unit_test(test_inputs_and_node_name),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
