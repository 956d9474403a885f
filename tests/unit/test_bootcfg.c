/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The boot configuration parser (pvfio/bootcfg.h): GRUB evaluation, modprobe lines, vfio-pci bindings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "pvfio/bootcfg.h"
#include "pvfio/hostplan.h"

static void set_file(struct pv_host_file *f, const char *path, const char *content) {
        f->path = strdup(path);
        f->present = content != NULL;
        f->content = content ? strdup(content) : NULL;
        f->len = content ? strlen(content) : 0;
}

static void push_file(struct pv_host_file **v, size_t *n, const char *path, const char *content) {
        *v = realloc(*v, (*n + 1) * sizeof **v);
        memset(&(*v)[*n], 0, sizeof **v);
        set_file(&(*v)[(*n)++], path, content);
}

static void free_files(struct pv_host_file *v, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(v[i].path);
                free(v[i].content);
        }
        free(v);
}

static void state_done(struct pv_host_state *s) {
        free(s->boot.etc_default_grub.path);
        free(s->boot.etc_default_grub.content);
        free(s->boot.etc_kernel_cmdline.path);
        free(s->boot.etc_kernel_cmdline.content);
        free_files(s->boot.grub_d, s->boot.n_grub_d);
        free_files(s->modprobe_d, s->n_modprobe_d);
        free(s->etc_initramfs_modules.path);
        free(s->etc_initramfs_modules.content);
        free_files(s->driverctl_d, s->n_driverctl_d);
        free_files(s->udev_rules, s->n_udev_rules);
        free(s->cmdline);
        memset(s, 0, sizeof *s);
}

static bool has(const struct pv_strv *v, const char *w) {
        return pv_strv_contains(v, w);
}

/* --------------------------------------------------------------- GRUB */

static void words_of(struct pv_host_state *s, struct pv_strv *out) {
        struct pv_error err = PV_ERROR_INIT;
        const char *where = NULL;
        *out = (struct pv_strv)PV_STRV_INIT;
        assert_int_equal(pv_bootcfg_configured_args(s, out, &where, &err), 0);
        assert_non_null(strstr(where, "GRUB_CMDLINE_LINUX"));
}

static void test_grub_quoting_comments(void **state) {
        (void)state;
        struct pv_host_state s = { 0 };
        s.boot.loader = PV_BOOTLOADER_GRUB;
        set_file(&s.boot.etc_default_grub, "etc/default/grub",
                 "# comment GRUB_CMDLINE_LINUX_DEFAULT=\"no\"\n"
                 "GRUB_DISTRIBUTOR=`lsb_release -i -s 2> /dev/null || echo Debian`\n"
                 "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet iommu=pt\" # by hand\n"
                 "export GRUB_CMDLINE_LINUX='a=\"1 2\" $NOT_EXPANDED'\n"
                 "   #GRUB_CMDLINE_LINUX_DEFAULT=\"commented\"\n");
        struct pv_strv w;
        words_of(&s, &w);
        assert_true(has(&w, "quiet"));
        assert_true(has(&w, "iommu=pt"));
        assert_true(has(&w, "a=1 2"));          /* kernel quoting: the quotes group and are dropped */
        assert_true(has(&w, "$NOT_EXPANDED"));  /* single quotes: literal */
        assert_false(has(&w, "#"));
        assert_false(has(&w, "commented"));
        assert_false(has(&w, "no\""));
        pv_strv_done(&w);
        state_done(&s);
}

static void test_grub_expansion_and_order(void **state) {
        (void)state;
        struct pv_host_state s = { 0 };
        s.boot.loader = PV_BOOTLOADER_GRUB;
        set_file(&s.boot.etc_default_grub, "etc/default/grub",
                 "EXTRA=\"intel_iommu=on\"; GRUB_CMDLINE_LINUX_DEFAULT=\"quiet ${EXTRA} ${UNSET:-dflt=1}\"\n"
                 "A=1 GRUB_CMDLINE_LINUX=\"x=$A\\\n"
                 "  y=2\"\n");
        push_file(&s.boot.grub_d, &s.boot.n_grub_d, "etc/default/grub.d/init-select.cfg",
                  "GRUB_CMDLINE_LINUX_DEFAULT=\"$GRUB_CMDLINE_LINUX_DEFAULT\"\n");
        push_file(&s.boot.grub_d, &s.boot.n_grub_d, "etc/default/grub.d/zz-user.cfg",
                  "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet vfio-pci.ids=10de:1db4\"\n");
        struct pv_strv w;
        words_of(&s, &w);
        assert_true(has(&w, "x=1"));
        assert_true(has(&w, "y=2"));
        assert_true(has(&w, "vfio-pci.ids=10de:1db4"));
        assert_false(has(&w, "intel_iommu=on"));  /* replaced by zz-user.cfg */
        pv_strv_done(&w);

        /* pvfio's drop-in evaluated in its place: zz-user.cfg comes after it and does not keep it */
        struct pv_grub_eval e;
        struct pv_error err = PV_ERROR_INIT;
        assert_int_equal(pv_grub_eval_state(&s, PV_HOSTPLAN_GRUB_DROPIN,
                                            "GRUB_CMDLINE_LINUX_DEFAULT=\"$GRUB_CMDLINE_LINUX_DEFAULT iommu=pt\"\n",
                                            &e, &err),
                         0);
        assert_null(strstr(e.cmdline_linux_default, "iommu=pt"));
        size_t pvfio_at = 0, user_at = 0;
        for (size_t i = 0; i < e.n_assigns; i++) {
                if (!strcmp(e.assigns[i].path, PV_HOSTPLAN_GRUB_DROPIN)) {
                        pvfio_at = i + 1;
                        assert_true(e.assigns[i].keeps_previous);
                }
                if (!strcmp(e.assigns[i].path, "etc/default/grub.d/zz-user.cfg")) {
                        user_at = i + 1;
                        assert_false(e.assigns[i].keeps_previous);
                        assert_int_equal(e.assigns[i].line, 1);
                }
        }
        assert_true(pvfio_at && user_at && pvfio_at < user_at);
        pv_grub_eval_done(&e);
        /* without the user's file pvfio's argument reaches the end */
        free(s.boot.grub_d[1].content);
        s.boot.grub_d[1].content = NULL;
        s.boot.grub_d[1].present = false;
        assert_int_equal(pv_grub_eval_state(&s, PV_HOSTPLAN_GRUB_DROPIN,
                                            "GRUB_CMDLINE_LINUX_DEFAULT=\"$GRUB_CMDLINE_LINUX_DEFAULT iommu=pt\"\n",
                                            &e, &err),
                         0);
        assert_non_null(strstr(e.cmdline_linux_default, "intel_iommu=on"));
        assert_non_null(strstr(e.cmdline_linux_default, "iommu=pt"));
        pv_grub_eval_done(&e);
        state_done(&s);
}

static void test_sdboot_first_line(void **state) {
        (void)state;
        struct pv_host_state s = { 0 };
        s.boot.loader = PV_BOOTLOADER_SYSTEMD_BOOT;
        set_file(&s.boot.etc_kernel_cmdline, "etc/kernel/cmdline", "root=ZFS=rpool/ROOT/pve-1 boot=zfs iommu=pt\nignored=1\n");
        struct pv_strv w = PV_STRV_INIT;
        struct pv_error err = PV_ERROR_INIT;
        const char *where = NULL;
        assert_int_equal(pv_bootcfg_configured_args(&s, &w, &where, &err), 0);
        assert_string_equal(where, "etc/kernel/cmdline");
        assert_true(has(&w, "iommu=pt"));
        assert_false(has(&w, "ignored=1"));
        pv_strv_done(&w);
        state_done(&s);
}

/* ----------------------------------------------------------- modprobe */

static void test_modprobe_lines(void **state) {
        (void)state;
        struct pv_modprobe_line *l = NULL;
        size_t n = 0;
        struct pv_error err = PV_ERROR_INIT;
        assert_int_equal(pv_modprobe_parse("# c\n\noptions vfio-pci disable_vga=1 ids=10de:1b80\n"
                                           "blacklist nouveau # no\nsoftdep nvidia pre: vfio-pci\n"
                                           "options vfio_pci \\\n  ids=10de:10f0\ninstall x /bin/true\n",
                                           &l, &n, &err),
                         0);
        assert_int_equal(n, 5);
        assert_int_equal(l[0].kind, PV_MODPROBE_OPTIONS);
        assert_int_equal(l[0].line, 3);
        assert_string_equal(l[0].module, "vfio-pci");
        assert_string_equal(l[0].words.v[1], "ids=10de:1b80");
        assert_int_equal(l[1].kind, PV_MODPROBE_BLACKLIST);
        assert_string_equal(l[1].module, "nouveau");
        assert_int_equal(l[2].kind, PV_MODPROBE_SOFTDEP);
        assert_int_equal(l[3].line, 6);
        assert_int_equal(l[3].n_lines, 2);
        assert_true(pv_module_name_equal(l[3].module, "vfio-pci"));
        assert_string_equal(l[3].words.v[0], "ids=10de:10f0");
        assert_int_equal(l[4].kind, PV_MODPROBE_OTHER);
        pv_modprobe_lines_free(l, n);
}

/* ------------------------------------------------------------ bindings */

static const struct pv_vfio_binding *find_src(const struct pv_vfio_binding *v, size_t n, enum pv_binding_source s) {
        for (size_t i = 0; i < n; i++)
                if (v[i].source == s)
                        return &v[i];
        return NULL;
}

static void test_bindings_every_source(void **state) {
        (void)state;
        struct pv_host_state s = { 0 };
        s.boot.loader = PV_BOOTLOADER_GRUB;
        s.cmdline = strdup("BOOT_IMAGE=/vmlinuz root=/dev/sda1 vfio_pci.ids=1002:73df");
        set_file(&s.boot.etc_default_grub, "etc/default/grub",
                 "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet vfio-pci.ids=10de:1db4\"\n"
                 "GRUB_CMDLINE_LINUX=\"vfio-pci.ids=8086:1521\"\n");
        push_file(&s.boot.grub_d, &s.boot.n_grub_d, "etc/default/grub.d/zz.cfg", "GRUB_CMDLINE_LINUX=\"\"\n");
        push_file(&s.modprobe_d, &s.n_modprobe_d, "etc/modprobe.d/vfio.conf",
                  "options vfio-pci disable_vga=1 ids=10DE:1B80,10de:10f0\n");
        push_file(&s.modprobe_d, &s.n_modprobe_d, PV_HOSTPLAN_MODPROBE, "options vfio-pci ids=1234:5678\n");
        set_file(&s.etc_initramfs_modules, "etc/initramfs-tools/modules", "vfio\nvfio_pci ids=1b21:1242\n");
        push_file(&s.driverctl_d, &s.n_driverctl_d, "etc/driverctl.d/pci-0000:05:00.0", "vfio-pci\n");
        push_file(&s.driverctl_d, &s.n_driverctl_d, "etc/driverctl.d/pci-0000:06:00.0", "nvme\n");
        push_file(&s.udev_rules, &s.n_udev_rules, "etc/udev/rules.d/70-vfio.rules",
                  "# x\nACTION==\"add\", SUBSYSTEM==\"pci\", KERNEL==\"0000:07:00.0\", ATTR{driver_override}=\"vfio-pci\"\n");
        push_file(&s.udev_rules, &s.n_udev_rules, PV_HOSTPLAN_UDEV_VFIO,
                  "ACTION==\"add\", KERNEL==\"0000:08:00.0\", ATTR{driver_override}=\"vfio-pci\"\n");
        struct pv_vfio_binding *v = NULL;
        size_t n = 0;
        struct pv_error err = PV_ERROR_INIT;
        assert_int_equal(pv_bootcfg_vfio_bindings(&s, &v, &n, &err), 0);
        /* active, 2 GRUB (one overridden), modprobe, initramfs, driverctl, udev; pvfio's own files left out */
        assert_int_equal(n, 7);
        const struct pv_vfio_binding *b = find_src(v, n, PV_BINDSRC_CMDLINE_ACTIVE);
        assert_non_null(b);
        assert_false(b->effective);
        assert_int_equal(b->ids[0].vendor, 0x1002);
        int n_grub = 0;
        for (size_t i = 0; i < n; i++) {
                if (v[i].source != PV_BINDSRC_GRUB)
                        continue;
                n_grub++;
                if (v[i].ids[0].vendor == 0x8086)
                        assert_false(v[i].effective);   /* GRUB_CMDLINE_LINUX replaced by zz.cfg */
                else
                        assert_true(v[i].effective);
                assert_string_equal(v[i].path, "etc/default/grub");
        }
        assert_int_equal(n_grub, 2);
        b = find_src(v, n, PV_BINDSRC_MODPROBE);
        assert_int_equal(b->n_ids, 2);
        assert_int_equal(b->ids[0].device, 0x1b80);
        assert_int_equal(b->line, 1);
        b = find_src(v, n, PV_BINDSRC_INITRAMFS);
        assert_int_equal(b->ids[0].vendor, 0x1b21);
        assert_int_equal(b->line, 2);
        b = find_src(v, n, PV_BINDSRC_DRIVERCTL);
        assert_true(b->has_addr);
        assert_int_equal(b->addr.bus, 5);
        b = find_src(v, n, PV_BINDSRC_UDEV);
        assert_int_equal(b->addr.bus, 7);
        assert_int_equal(b->line, 2);
        struct pv_host_dev d = { .vendor = 0x10de, .device = 0x10f0 };
        assert_true(pv_vfio_binding_takes(find_src(v, n, PV_BINDSRC_MODPROBE), &d));

        /* take-over edits keep every other byte */
        char *out = NULL;
        assert_int_equal(pv_bootcfg_remove_binding(s.modprobe_d[0].content, find_src(v, n, PV_BINDSRC_MODPROBE), &out,
                                                   &err),
                         0);
        assert_string_equal(out, "options vfio-pci disable_vga=1\n");
        free(out);
        assert_int_equal(pv_bootcfg_remove_binding(s.etc_initramfs_modules.content, find_src(v, n, PV_BINDSRC_INITRAMFS),
                                                   &out, &err),
                         0);
        assert_string_equal(out, "vfio\nvfio_pci\n");
        free(out);
        assert_int_equal(pv_bootcfg_remove_binding(s.udev_rules[0].content, find_src(v, n, PV_BINDSRC_UDEV), &out, &err),
                         0);
        assert_string_equal(out, "# x\n");
        free(out);
        out = (char *)1;
        assert_int_equal(pv_bootcfg_remove_binding("vfio-pci\n", find_src(v, n, PV_BINDSRC_DRIVERCTL), &out, &err), 0);
        assert_null(out);
        for (size_t i = 0; i < n; i++)
                if (v[i].source == PV_BINDSRC_GRUB && v[i].effective) {
                        assert_int_equal(pv_bootcfg_remove_binding(s.boot.etc_default_grub.content, &v[i], &out, &err), 0);
                        assert_string_equal(out, "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n"
                                                 "GRUB_CMDLINE_LINUX=\"vfio-pci.ids=8086:1521\"\n");
                        free(out);
                }
        /* an ids= line with nothing else goes entirely */
        struct pv_vfio_binding only = { .source = PV_BINDSRC_MODPROBE, .path = (char *)"x", .line = 2 };
        assert_int_equal(pv_bootcfg_remove_binding("# a\noptions vfio_pci ids=1:2\n# b\n", &only, &out, &err), 0);
        assert_string_equal(out, "# a\n# b\n");
        free(out);
        pv_vfio_bindings_free(v, n);
        state_done(&s);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_grub_quoting_comments),
                cmocka_unit_test(test_grub_expansion_and_order),
                cmocka_unit_test(test_sdboot_first_line),
                cmocka_unit_test(test_modprobe_lines),
                cmocka_unit_test(test_bindings_every_source),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
