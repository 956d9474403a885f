/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The host planner on hand-built host states: kernel command lines, boot loaders
 * (GRUB, systemd-boot), kernel versions, modules and softdeps, unsafe options,
 * removal, idempotence. Device selection is in test_hostplan_devices.c;
 * fixtures: hostplan_fixture.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "pvfio/hostplan.h"
#include "hostplan_fixture.h"

/* ----------------------------------------------------------- cmdline */

static char *unwrap(char *line) {
        size_t n = strlen(line);
        while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
                line[--n] = '\0';
        if (strcmp(line, "<empty>") == 0)
                return line + n;
        if (n >= 2 && line[0] == '|' && line[n - 1] == '|') {
                line[n - 1] = '\0';
                return line + 1;
        }
        return line;
}

static void test_cmdline_triplets(void **state) {
        (void)state;
        const char *src = getenv("PVFIO_SOURCE_DIR");
        char path[4096];
        snprintf(path, sizeof path, "%s/tests/hostplan/cmdline.test", src ? src : PVFIO_SOURCE_DIR);
        FILE *fp = fopen(path, "r");
        assert_non_null(fp);
        char l1[1024], l2[1024], l3[1024];
        unsigned cases = 0, lineno = 0;
        for (;;) {
                if (!fgets(l1, sizeof l1, fp))
                        break;
                lineno++;
                if (l1[0] == '#' || l1[0] == '\n')
                        continue;
                assert_non_null(fgets(l2, sizeof l2, fp));
                assert_non_null(fgets(l3, sizeof l3, fp));
                lineno += 2;
                char *edit = unwrap(l1), *in = unwrap(l2), *want = unwrap(l3);
                const char *add[16], *rm[16];
                size_t na = 0, nr = 0;
                for (char *save = NULL, *tok = strtok_r(edit, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
                        assert_true(tok[0] == '+' || tok[0] == '-');
                        if (tok[0] == '+')
                                add[na++] = tok + 1;
                        else
                                rm[nr++] = tok + 1;
                }
                char *got = NULL;
                struct pv_error e = PV_ERROR_INIT;
                assert_int_equal(pv_cmdline_edit(in, add, na, rm, nr, &got, &e), 0);
                if (strcmp(got, want) != 0)
                        fail_msg("cmdline.test:%u: got '%s', want '%s'", lineno, got, want);
                free(got);
                cases++;
        }
        fclose(fp);
        assert_true(cases >= 20);
}

static void test_cmdline_split(void **state) {
        (void)state;
        struct pv_strv t = PV_STRV_INIT;
        assert_int_equal(pv_cmdline_split("  a=1 b=\"x y\"  \"c=d e\" f", &t, NULL), 0);
        assert_int_equal(t.n, 4);
        assert_string_equal(t.v[0], "a=1");
        assert_string_equal(t.v[1], "b=\"x y\"");
        assert_string_equal(t.v[2], "\"c=d e\"");
        assert_string_equal(t.v[3], "f");
        assert_true(pv_cmdline_has(&t, "f"));
        assert_false(pv_cmdline_has(&t, "a=2"));
        pv_strv_done(&t);
        assert_true(pv_cmdline_token_equal("vfio-pci.ids=1", "vfio_pci.ids=1"));
        assert_false(pv_cmdline_token_equal("vfio-pci.ids=a-b", "vfio-pci.ids=a_b")); /* values are exact */
}

/* ---------------------------------------------------------- planner */

static void test_laptop_grub_intel_old_kernel(void **state) {
        (void)state;
        struct fx f;
        laptop(&f, 6, 5, PV_BOOTLOADER_GRUB);
        add_sel(&f, PV_DEVSEL_ADDR, "01:00.0");
        assert_int_equal(plan(&f), 0);

        const struct pv_action *g = find_act(&f, PV_ACT_WRITE_FILE, PV_HOSTPLAN_GRUB_DROPIN);
        assert_non_null(g);
        assert_null(g->before);
        assert_non_null(strstr(g->after, "GRUB_CMDLINE_LINUX_DEFAULT=\"$GRUB_CMDLINE_LINUX_DEFAULT intel_iommu=on "
                                         "iommu=pt\"\n"));
        assert_true(g->needs_reboot);
        assert_string_equal(g->node, "pve1");
        assert_null(find_act(&f, PV_ACT_EDIT_FILE, NULL));

        const struct pv_action *m = find_act(&f, PV_ACT_WRITE_FILE, PV_HOSTPLAN_MODULES);
        assert_non_null(m);
        assert_non_null(strstr(m->after, "\nvfio\nvfio_iommu_type1\nvfio_pci\n"));
        assert_null(strstr(m->after, "vfio_virqfd"));

        const struct pv_action *mp = find_act(&f, PV_ACT_WRITE_FILE, PV_HOSTPLAN_MODPROBE);
        assert_non_null(mp);
        /* the audio companion comes along; softdeps are the drivers bound to the targets now */
        assert_non_null(strstr(mp->after, "\noptions vfio-pci ids=10de:25a0,10de:2291\n"));
        assert_non_null(strstr(mp->after, "\nsoftdep nvidia pre: vfio-pci\nsoftdep snd_hda_intel pre: vfio-pci\n"));
        assert_null(strstr(mp->after, "blacklist"));
        assert_null(strstr(mp->after, "disable_vga"));
        assert_non_null(strstr(mp->after, "# 0000:01:00.1 Audio device [10de:2291] (companion function)\n"));

        /* refresh: initramfs first, then grub, each after the files it depends on */
        const struct pv_action *ui = find_cmd(&f, PV_CMD_UPDATE_INITRAMFS), *ug = find_cmd(&f, PV_CMD_UPDATE_GRUB);
        assert_non_null(ui);
        assert_non_null(ug);
        assert_null(find_cmd(&f, PV_CMD_PBT_REFRESH));
        assert_int_equal(count_cmds(&f), 2);
        assert_true(act_index(&f, ui) < act_index(&f, ug));
        assert_int_equal(ui->depends_on, (int)act_index(&f, mp) + 1);
        assert_int_equal(ug->depends_on, (int)act_index(&f, ui) + 1);
        assert_null(find_act(&f, PV_ACT_REBIND_DEVICE, NULL));

        assert_true(has_reboot(&f, "pve1: kernel arguments not active yet (missing from /proc/cmdline): intel_iommu=on "
                                   "iommu=pt"));
        assert_true(has_reboot(&f, "0000:01:00.0 is bound to 'nvidia'"));
        assert_true(has_reboot(&f, "0000:01:00.1 is bound to 'snd_hda_intel'"));
        assert_null(find_act(&f, PV_ACT_WRITE_FILE, PV_HOSTPLAN_UDEV_VFIO));
        fx_done(&f);
}

static void test_idempotent_second_plan(void **state) {
        (void)state;
        for (int bl = 0; bl < 2; bl++) {
                struct fx f;
                laptop(&f, 6, 5, bl ? PV_BOOTLOADER_SYSTEMD_BOOT : PV_BOOTLOADER_GRUB);
                add_sel(&f, PV_DEVSEL_ID, "10de:25a0");
                f.spec.disable_vga = true;
                pv_strv_push(&f.spec.kernel_args, "initcall_blacklist=sysfb_init", NULL);
                assert_int_equal(plan(&f), 0);
                assert_true(f.plan.n >= 5);
                simulate_apply(&f);
                assert_int_equal(plan(&f), 0);
                assert_int_equal(f.plan.n, 0);   /* no write, no command */
                /* the host still needs its reboot */
                assert_true(has_reboot(&f, "kernel arguments not active yet"));
                /* after the reboot everything matches: no actions, no reasons */
                set_cmdline(&f, bl ? "initrd=x root=ZFS=rpool/ROOT/pve-1 boot=zfs intel_iommu=on iommu=pt "
                                     "initcall_blacklist=sysfb_init"
                                   : "BOOT_IMAGE=/boot/vmlinuz root=/dev/mapper/pve-root ro quiet intel_iommu=on "
                                     "iommu=pt initcall_blacklist=sysfb_init");
                for (size_t i = 0; i < f.st.n_devs; i++)
                        if (f.st.devs[i].vendor == 0x10de) {
                                free(f.st.devs[i].driver);
                                f.st.devs[i].driver = xstrdup("vfio-pci");
                        }
                assert_int_equal(plan(&f), 0);
                assert_int_equal(f.plan.n, 0);
                assert_int_equal(f.plan.n_reboot_reasons, 0);
                fx_done(&f);
        }
}

static void test_intel_new_kernel_and_iommu_on(void **state) {
        (void)state;
        struct fx f;
        laptop(&f, 6, 8, PV_BOOTLOADER_GRUB);
        add_sel(&f, PV_DEVSEL_ADDR, "01:00");
        assert_int_equal(plan(&f), 0);
        const struct pv_action *g = find_act(&f, PV_ACT_WRITE_FILE, PV_HOSTPLAN_GRUB_DROPIN);
        assert_non_null(g);
        assert_null(strstr(g->after, "intel_iommu"));
        assert_non_null(strstr(g->after, "$GRUB_CMDLINE_LINUX_DEFAULT iommu=pt\""));
        f.spec.iommu = PV_ON;
        assert_int_equal(plan(&f), 0);
        g = find_act(&f, PV_ACT_WRITE_FILE, PV_HOSTPLAN_GRUB_DROPIN);
        assert_non_null(strstr(g->after, "intel_iommu=on iommu=pt"));
        /* no iommu_pt and nothing else: no drop-in at all, no update-grub */
        f.spec.iommu = PV_AUTO;
        f.spec.iommu_pt = false;
        assert_int_equal(plan(&f), 0);
        assert_null(find_act(&f, PV_ACT_WRITE_FILE, PV_HOSTPLAN_GRUB_DROPIN));
        assert_null(find_cmd(&f, PV_CMD_UPDATE_GRUB));
        assert_non_null(find_cmd(&f, PV_CMD_UPDATE_INITRAMFS));
        fx_done(&f);
}

static void test_amd_never_amd_iommu_on(void **state) {
        (void)state;
        struct fx f;
        base_host(&f, PV_CPU_AMD, 6, 5, PV_BOOTLOADER_GRUB);
        add_dev(&f, "0000:02:00.0", 0x1a03, 0x2000, 0x030000, 20, "ast");   /* the host keeps a display */
        add_dev(&f, "0000:0a:00.0", 0x1002, 0x73bf, 0x030000, 30, "amdgpu");
        add_dev(&f, "0000:0a:00.1", 0x1002, 0xab28, 0x040300, 30, "snd_hda_intel");
        build_groups(&f);
        add_sel(&f, PV_DEVSEL_ID, "1002:73bf");
        f.spec.iommu = PV_ON;
        pv_strv_push(&f.spec.kernel_args, "amd_iommu=on", NULL);
        assert_int_equal(plan(&f), 0);
        const struct pv_action *g = find_act(&f, PV_ACT_WRITE_FILE, PV_HOSTPLAN_GRUB_DROPIN);
        assert_non_null(g);
        assert_null(strstr(g->after, "amd_iommu"));
        assert_null(strstr(g->after, "intel_iommu"));
        assert_non_null(strstr(g->after, "iommu=pt"));
        assert_true(has_warning(&f, "'amd_iommu=on' dropped"));
        const struct pv_action *mp = find_act(&f, PV_ACT_WRITE_FILE, PV_HOSTPLAN_MODPROBE);
        assert_non_null(strstr(mp->after, "softdep amdgpu pre: vfio-pci\n"));
        assert_non_null(strstr(mp->after, "ids=1002:73bf,1002:ab28\n"));
        fx_done(&f);
}

static void test_systemd_boot_edit(void **state) {
        (void)state;
        struct fx f;
        laptop(&f, 6, 5, PV_BOOTLOADER_SYSTEMD_BOOT);
        add_sel(&f, PV_DEVSEL_ADDR, "01:00.0");
        assert_int_equal(plan(&f), 0);
        assert_null(find_act(&f, PV_ACT_WRITE_FILE, PV_HOSTPLAN_GRUB_DROPIN));
        const struct pv_action *e = find_act(&f, PV_ACT_EDIT_FILE, PV_HOSTPLAN_KERNEL_CMDLINE);
        assert_non_null(e);
        assert_string_equal(e->before, "root=ZFS=rpool/ROOT/pve-1 boot=zfs\n");
        assert_string_equal(e->after, "root=ZFS=rpool/ROOT/pve-1 boot=zfs intel_iommu=on iommu=pt\n");
        assert_int_equal(e->n_keys, 2);
        assert_string_equal(e->keys[0].key, "intel_iommu");
        assert_null(e->keys[0].before);
        assert_string_equal(e->keys[0].after, "intel_iommu=on");
        const struct pv_action *pbt = find_cmd(&f, PV_CMD_PBT_REFRESH), *ui = find_cmd(&f, PV_CMD_UPDATE_INITRAMFS);
        assert_non_null(pbt);
        assert_non_null(ui);
        assert_true(act_index(&f, ui) < act_index(&f, pbt));
        assert_null(find_cmd(&f, PV_CMD_UPDATE_GRUB));

        /* a later profile without intel_iommu: only the token pvfio added goes, the user's stay */
        simulate_apply(&f);
        set_file(&f.st.boot.etc_kernel_cmdline, "etc/kernel/cmdline",
                 "root=ZFS=rpool/ROOT/pve-1 boot=zfs intel_iommu=on iommu=pt quiet\n");
        f.st.kver = (struct pv_kver){ 6, 8, 12 };
        f.spec.iommu_pt = false;
        assert_int_equal(plan(&f), 0);
        e = find_act(&f, PV_ACT_EDIT_FILE, PV_HOSTPLAN_KERNEL_CMDLINE);
        assert_non_null(e);
        assert_string_equal(e->after, "root=ZFS=rpool/ROOT/pve-1 boot=zfs quiet\n");
        assert_int_equal(e->n_keys, 2);
        assert_null(e->keys[0].after);

        /* a token the user had before pvfio is never removed */
        pv_strv_done(&f.in.owned_args);
        assert_int_equal(plan(&f), 0);
        assert_null(find_act(&f, PV_ACT_EDIT_FILE, NULL));
        fx_done(&f);
}

static void test_systemd_boot_needs_root(void **state) {
        (void)state;
        struct fx f;
        laptop(&f, 6, 5, PV_BOOTLOADER_SYSTEMD_BOOT);
        set_file(&f.st.boot.etc_kernel_cmdline, "etc/kernel/cmdline", "boot=zfs quiet\n");
        assert_int_equal(plan(&f), -PV_EUNSUPPORTED);
        assert_non_null(strstr(pv_error_message(&f.err), "no 'root=' argument"));
        assert_int_equal(f.plan.n, 0);
        /* no file: built from /proc/cmdline, without initrd= */
        set_file(&f.st.boot.etc_kernel_cmdline, "etc/kernel/cmdline", NULL);
        assert_int_equal(plan(&f), 0);
        const struct pv_action *e = find_act(&f, PV_ACT_EDIT_FILE, PV_HOSTPLAN_KERNEL_CMDLINE);
        assert_non_null(e);
        assert_null(e->before);
        assert_string_equal(e->after, "root=ZFS=rpool/ROOT/pve-1 boot=zfs intel_iommu=on iommu=pt\n");
        fx_done(&f);
}

static void test_grub_skips_args_already_configured(void **state) {
        (void)state;
        struct fx f;
        laptop(&f, 6, 5, PV_BOOTLOADER_GRUB);
        set_file(&f.st.boot.etc_default_grub, "etc/default/grub",
                 "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet intel_iommu=on\"\nGRUB_CMDLINE_LINUX=\"\"\n");
        assert_int_equal(plan(&f), 0);
        const struct pv_action *g = find_act(&f, PV_ACT_WRITE_FILE, PV_HOSTPLAN_GRUB_DROPIN);
        assert_non_null(g);
        assert_non_null(strstr(g->after, "$GRUB_CMDLINE_LINUX_DEFAULT iommu=pt\""));
        /* a leftover drop-in on a host that now boots systemd-boot is removed */
        push_file(&f.st.boot.grub_d, &f.st.boot.n_grub_d, PV_HOSTPLAN_GRUB_DROPIN, g->after);
        f.st.boot.loader = PV_BOOTLOADER_SYSTEMD_BOOT;
        set_file(&f.st.boot.etc_kernel_cmdline, "etc/kernel/cmdline", "root=ZFS=rpool/ROOT/pve-1 boot=zfs\n");
        assert_int_equal(plan(&f), 0);
        assert_non_null(find_act(&f, PV_ACT_REMOVE_FILE, PV_HOSTPLAN_GRUB_DROPIN));
        assert_non_null(find_cmd(&f, PV_CMD_UPDATE_GRUB));
        assert_non_null(find_cmd(&f, PV_CMD_PBT_REFRESH));
        fx_done(&f);
}

static void test_old_kernel_virqfd_and_warning(void **state) {
        (void)state;
        struct fx f;
        laptop(&f, 5, 15, PV_BOOTLOADER_GRUB);
        add_sel(&f, PV_DEVSEL_ADDR, "01:00.0");
        assert_int_equal(plan(&f), 0);
        assert_non_null(strstr(find_act(&f, PV_ACT_WRITE_FILE, PV_HOSTPLAN_MODULES)->after, "\nvfio_virqfd\n"));
        fx_done(&f);
        laptop(&f, 6, 8, PV_BOOTLOADER_GRUB);
        add_sel(&f, PV_DEVSEL_ADDR, "01:00.0");
        set_file(&f.st.etc_modules, "etc/modules", "# /etc/modules\nvfio\nvfio_iommu_type1\nvfio_pci\nvfio_virqfd\n");
        assert_int_equal(plan(&f), 0);
        assert_null(strstr(find_act(&f, PV_ACT_WRITE_FILE, PV_HOSTPLAN_MODULES)->after, "virqfd"));
        assert_true(has_warning(&f, "etc/modules lists 'vfio_virqfd'"));
        fx_done(&f);
}

static void test_softdeps(void **state) {
        (void)state;
        struct fx f;
        base_host(&f, PV_CPU_INTEL, 6, 8, PV_BOOTLOADER_GRUB);
        add_dev(&f, "0000:00:02.0", 0x8086, 0x9a60, 0x030000, 0, "i915");   /* the host keeps a display */
        /* Turing card: VGA, audio, USB-C xHCI, UCSI serial bus */
        add_dev(&f, "0000:01:00.0", 0x10de, 0x1e87, 0x030000, 1, "nouveau");
        add_dev(&f, "0000:01:00.1", 0x10de, 0x10f8, 0x040300, 1, "snd_hda_intel");
        add_dev(&f, "0000:01:00.2", 0x10de, 0x1ad8, 0x0c0330, 1, "xhci_hcd");
        add_dev(&f, "0000:01:00.3", 0x10de, 0x1ad9, 0x0c8000, 1, "nvidia-gpu");
        build_groups(&f);
        add_sel(&f, PV_DEVSEL_ADDR, "01:00.0");
        assert_int_equal(plan(&f), 0);
        const struct pv_action *mp = find_act(&f, PV_ACT_WRITE_FILE, PV_HOSTPLAN_MODPROBE);
        assert_non_null(strstr(mp->after, "softdep i2c_nvidia_gpu pre: vfio-pci\nsoftdep nouveau pre: vfio-pci\n"
                                          "softdep snd_hda_intel pre: vfio-pci\nsoftdep xhci_pci pre: vfio-pci\n"));
        assert_non_null(strstr(mp->after, "ids=10de:1e87,10de:10f8,10de:1ad8,10de:1ad9\n"));
        /* after the reboot the devices are on vfio-pci: the recorded softdeps stay (no churn) */
        simulate_apply(&f);
        for (size_t i = 0; i < f.st.n_devs; i++) {
                free(f.st.devs[i].driver);
                f.st.devs[i].driver = xstrdup("vfio-pci");
        }
        assert_int_equal(plan(&f), 0);
        assert_null(find_act(&f, PV_ACT_WRITE_FILE, PV_HOSTPLAN_MODPROBE));
        /* explicit list instead of auto */
        f.spec.softdeps_auto = false;
        pv_strv_push(&f.spec.softdeps, "nvidia", NULL);
        assert_int_equal(plan(&f), 0);
        mp = find_act(&f, PV_ACT_WRITE_FILE, PV_HOSTPLAN_MODPROBE);
        assert_non_null(mp);
        assert_non_null(strstr(mp->after, "\nsoftdep nvidia pre: vfio-pci\n"));
        assert_null(strstr(mp->after, "nouveau"));
        /* blacklist only where asked */
        pv_strv_push(&f.spec.blacklist, "nouveau", NULL);
        assert_int_equal(plan(&f), 0);
        assert_non_null(strstr(find_act(&f, PV_ACT_WRITE_FILE, PV_HOSTPLAN_MODPROBE)->after, "\nblacklist nouveau\n"));
        fx_done(&f);
}

static void test_unsafe_options(void **state) {
        (void)state;
        struct fx f;
        laptop(&f, 6, 8, PV_BOOTLOADER_GRUB);
        add_sel(&f, PV_DEVSEL_ADDR, "01:00.0");
        pv_strv_push(&f.spec.kernel_args, "pcie_acs_override=downstream,multifunction", NULL);
        assert_int_equal(plan(&f), -PV_EUNSAFE);
        assert_non_null(strstr(pv_error_message(&f.err), "allow_unsafe"));
        f.spec.allow_unsafe = true;
        f.st.iommu.ir = PV_IR_ABSENT;
        assert_int_equal(plan(&f), 0);
        const struct pv_action *mp = find_act(&f, PV_ACT_WRITE_FILE, PV_HOSTPLAN_MODPROBE);
        assert_non_null(strstr(mp->after, "\noptions vfio_iommu_type1 allow_unsafe_interrupts=1\n"));
        assert_true(mp->unsafe);
        assert_non_null(strstr(find_act(&f, PV_ACT_WRITE_FILE, PV_HOSTPLAN_GRUB_DROPIN)->after,
                               "iommu=pt pcie_acs_override=downstream,multifunction\""));
        /* shell-unsafe characters never reach a file GRUB sources */
        pv_strv_push(&f.spec.kernel_args, "foo=$(reboot)", NULL);
        assert_int_equal(plan(&f), -PV_EINVAL);
        fx_done(&f);
}

static void test_removal_when_no_longer_needed(void **state) {
        (void)state;
        struct fx f;
        laptop(&f, 6, 8, PV_BOOTLOADER_GRUB);
        add_sel(&f, PV_DEVSEL_ADDR, "01:00.0");
        assert_int_equal(plan(&f), 0);
        simulate_apply(&f);
        /* the profile drops its vfio devices and iommu=pt */
        f.spec.n_vfio = 0;
        f.spec.iommu_pt = false;
        assert_int_equal(plan(&f), 0);
        assert_non_null(find_act(&f, PV_ACT_REMOVE_FILE, PV_HOSTPLAN_MODPROBE));
        assert_non_null(find_act(&f, PV_ACT_REMOVE_FILE, PV_HOSTPLAN_MODULES));
        const struct pv_action *rg = find_act(&f, PV_ACT_REMOVE_FILE, PV_HOSTPLAN_GRUB_DROPIN);
        assert_non_null(rg);
        assert_null(rg->after);
        assert_non_null(rg->before);
        assert_non_null(find_cmd(&f, PV_CMD_UPDATE_INITRAMFS));
        assert_non_null(find_cmd(&f, PV_CMD_UPDATE_GRUB));
        fx_done(&f);
}

static void test_appends_to_existing_plan(void **state) {
        (void)state;
        struct fx f;
        laptop(&f, 6, 5, PV_BOOTLOADER_GRUB);
        add_sel(&f, PV_DEVSEL_ADDR, "01:00.0");
        struct pv_action pre = { .kind = PV_ACT_CREATE_MAPPING };
        pre.target = xstrdup("mapping x");
        pre.reason = xstrdup("test");
        assert_int_equal(pv_plan_add(&f.plan, &pre, NULL), 0);
        assert_int_equal(pv_host_plan_build(&f.spec, &f.st, &f.opts, &f.plan, &f.err), 0);
        const struct pv_action *ui = find_cmd(&f, PV_CMD_UPDATE_INITRAMFS);
        const struct pv_action *mp = find_act(&f, PV_ACT_WRITE_FILE, PV_HOSTPLAN_MODPROBE);
        assert_int_equal(ui->depends_on, (int)act_index(&f, mp) + 1);   /* absolute indexes */
        fx_done(&f);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_cmdline_triplets),
                cmocka_unit_test(test_cmdline_split),
                cmocka_unit_test(test_laptop_grub_intel_old_kernel),
                cmocka_unit_test(test_idempotent_second_plan),
                cmocka_unit_test(test_intel_new_kernel_and_iommu_on),
                cmocka_unit_test(test_amd_never_amd_iommu_on),
                cmocka_unit_test(test_systemd_boot_edit),
                cmocka_unit_test(test_systemd_boot_needs_root),
                cmocka_unit_test(test_grub_skips_args_already_configured),
                cmocka_unit_test(test_old_kernel_virqfd_and_warning),
                cmocka_unit_test(test_softdeps),
                cmocka_unit_test(test_unsafe_options),
                cmocka_unit_test(test_removal_when_no_longer_needed),
                cmocka_unit_test(test_appends_to_existing_plan),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
