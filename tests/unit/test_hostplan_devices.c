/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The host planner on hand-built host states: which devices go to vfio —
 * identical GPUs, shared IOMMU groups, companions and bridges, GVT-g, vGPU,
 * SR-IOV, rebinding. Fixtures: hostplan_fixture.h.
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

/* Two identical GPUs; only the second goes to a VM. */
static void twins(struct fx *f) {
        base_host(f, PV_CPU_AMD, 6, 8, PV_BOOTLOADER_GRUB);
        add_dev(f, "0000:01:00.0", 0x10de, 0x2204, 0x030000, 20, "nvidia")->boot_vga = 1;
        add_dev(f, "0000:01:00.1", 0x10de, 0x1aef, 0x040300, 20, "snd_hda_intel");
        add_dev(f, "0000:02:00.0", 0x10de, 0x2204, 0x030000, 21, "nvidia")->boot_vga = 0;
        add_dev(f, "0000:02:00.1", 0x10de, 0x1aef, 0x040300, 21, "snd_hda_intel");
        build_groups(f);
        add_sel(f, PV_DEVSEL_ADDR, "02:00.0");
}

static void test_identical_gpus(void **state) {
        (void)state;
        struct fx f;
        twins(&f);
        assert_int_equal(plan(&f), -PV_EUNSAFE);
        assert_non_null(strstr(pv_error_message(&f.err), "0000:01:00.0"));
        assert_non_null(strstr(pv_error_message(&f.err), "binding: driver_override"));
        assert_string_equal(f.err.file, "p.yaml");
        assert_int_equal(f.plan.n, 0);

        f.spec.binding = PV_BIND_DRIVER_OVERRIDE;
        assert_int_equal(plan(&f), 0);
        const struct pv_action *u = find_act(&f, PV_ACT_WRITE_FILE, PV_HOSTPLAN_UDEV_VFIO);
        assert_non_null(u);
        assert_non_null(strstr(u->after, "ACTION==\"add\", SUBSYSTEM==\"pci\", KERNEL==\"0000:02:00.0\", "
                                         "ATTR{driver_override}=\"vfio-pci\", "
                                         "RUN+=\"/bin/sh -c 'echo %k > /sys/bus/pci/drivers_probe'\"\n"));
        assert_non_null(strstr(u->after, "KERNEL==\"0000:02:00.1\""));
        assert_null(strstr(u->after, "0000:01:00"));
        const struct pv_action *mp = find_act(&f, PV_ACT_WRITE_FILE, PV_HOSTPLAN_MODPROBE);
        assert_non_null(mp);
        assert_null(strstr(mp->after, "ids="));
        assert_non_null(strstr(mp->after, "softdep nvidia pre: vfio-pci"));
        /* udev rules need no initramfs, but modprobe.d does */
        assert_non_null(find_cmd(&f, PV_CMD_UPDATE_INITRAMFS));
        /* switching back to ids would remove the rule file again */
        simulate_apply(&f);
        assert_int_equal(plan(&f), 0);
        assert_int_equal(f.plan.n, 0);
        fx_done(&f);
}

/* A GPU in the chipset group with SATA, USB and a NIC. */
static void shared_board(struct fx *f) {
        base_host(f, PV_CPU_INTEL, 6, 8, PV_BOOTLOADER_GRUB);
        add_dev(f, "0000:00:14.0", 0x8086, 0xa2af, 0x0c0330, 12, "xhci_hcd");
        add_dev(f, "0000:00:17.0", 0x8086, 0xa282, 0x010601, 12, "ahci");
        add_dev(f, "0000:00:1c.0", 0x8086, 0xa290, 0x060400, 12, "pcieport");
        add_dev(f, "0000:00:1f.6", 0x8086, 0x15b8, 0x020000, 12, "e1000e");
        add_dev(f, "0000:00:02.0", 0x8086, 0x3e92, 0x030000, 2, "i915");   /* the host keeps a display */
        add_dev(f, "0000:03:00.0", 0x1002, 0x67df, 0x030000, 12, "amdgpu");
        add_dev(f, "0000:03:00.1", 0x1002, 0xaaf0, 0x040300, 12, "snd_hda_intel");
        build_groups(f);
        add_sel(f, PV_DEVSEL_ADDR, "03:00.0");
}

static void test_shared_group(void **state) {
        (void)state;
        struct fx f;
        shared_board(&f);
        assert_int_equal(plan(&f), -PV_EUNSAFE);
        const char *m = pv_error_message(&f.err);
        assert_non_null(strstr(m, "IOMMU group 12"));
        assert_non_null(strstr(m, "0000:00:17.0 SATA controller [8086:a282] (ahci)"));
        assert_non_null(strstr(m, "0000:00:14.0 USB controller"));
        assert_non_null(strstr(m, "0000:00:1f.6 Ethernet controller"));
        assert_null(strstr(m, "0000:00:1c.0"));   /* the bridge is fine */
        assert_null(strstr(m, "0000:03:00.1"));   /* the companion is passed too */
        assert_non_null(strstr(m, "accept_shared_groups"));
        assert_int_equal(f.plan.n, 0);

        f.spec.accept_shared_groups = true;
        assert_int_equal(plan(&f), 0);
        assert_true(has_warning(&f, "accepted by 'accept_shared_groups'"));
        const struct pv_action *mp = find_act(&f, PV_ACT_WRITE_FILE, PV_HOSTPLAN_MODPROBE);
        assert_true(mp->unsafe);
        assert_non_null(strstr(mp->after, "ids=1002:67df,1002:aaf0\n"));
        fx_done(&f);
}

static void test_companions_and_bridges(void **state) {
        (void)state;
        struct fx f;
        laptop(&f, 6, 8, PV_BOOTLOADER_GRUB);
        struct pv_devsel *s = add_sel(&f, PV_DEVSEL_ADDR, "01:00.0");
        s->companions = false;
        /* the audio function stays on snd_hda_intel in the same group: not viable */
        assert_int_equal(plan(&f), -PV_EUNSAFE);
        assert_non_null(strstr(pv_error_message(&f.err), "0000:01:00.1 Audio device"));
        /* unbound, it is only a warning */
        free(f.st.devs[5].driver);
        f.st.devs[5].driver = NULL;
        assert_int_equal(plan(&f), 0);
        assert_true(has_warning(&f, "is in the same IOMMU group of 0000:01:00.0 but not passed through (companions: false)"));
        assert_non_null(strstr(find_act(&f, PV_ACT_WRITE_FILE, PV_HOSTPLAN_MODPROBE)->after, "ids=10de:25a0\n"));
        /* a selector that only hits a bridge */
        s->companions = true;
        s->addr.bus = 0, s->addr.dev = 1, s->addr.func = 0;
        assert_int_equal(plan(&f), -PV_EINVAL);
        assert_non_null(strstr(pv_error_message(&f.err), "only matches PCI bridges"));
        /* nothing at all */
        s->addr.bus = 9;
        assert_int_equal(plan(&f), -PV_ENOTFOUND);
        assert_non_null(strstr(pv_error_message(&f.err), "matches no PCI device on node 'pve1'"));
        /* a match selector by class and vendor */
        s->kind = PV_DEVSEL_MATCH;
        s->has_vendor = true, s->vendor = 0x10de;
        s->has_class = true, s->class_code = 0x0300, s->class_bits = 16;
        assert_int_equal(plan(&f), 0);
        assert_non_null(strstr(find_act(&f, PV_ACT_WRITE_FILE, PV_HOSTPLAN_MODPROBE)->after,
                               "ids=10de:25a0,10de:2291\n"));
        fx_done(&f);
}

static void test_gvtg(void **state) {
        (void)state;
        struct fx f;
        base_host(&f, PV_CPU_INTEL, 6, 1, PV_BOOTLOADER_GRUB);
        add_dev(&f, "0000:00:02.0", 0x8086, 0x3e92, 0x030000, 0, "i915")->boot_vga = 1;
        build_groups(&f);
        f.spec.vgpu = PV_VGPU_GVTG;
        assert_int_equal(plan(&f), 0);
        const struct pv_action *g = find_act(&f, PV_ACT_WRITE_FILE, PV_HOSTPLAN_GRUB_DROPIN);
        assert_non_null(strstr(g->after, "intel_iommu=on iommu=pt i915.enable_gvt=1\""));
        const struct pv_action *m = find_act(&f, PV_ACT_WRITE_FILE, PV_HOSTPLAN_MODULES);
        assert_non_null(strstr(m->after, "\nkvmgt\n"));
        /* mediated devices stay on i915: no vfio-pci binding file */
        assert_null(find_act(&f, PV_ACT_WRITE_FILE, PV_HOSTPLAN_MODPROBE));
        add_sel(&f, PV_DEVSEL_ADDR, "00:02.0");
        assert_int_equal(plan(&f), -PV_EINVAL);
        assert_non_null(strstr(pv_error_message(&f.err), "GVT-g"));
        fx_done(&f);
}

static void test_nvidia_sriov_vgpu(void **state) {
        (void)state;
        struct fx f;
        base_host(&f, PV_CPU_AMD, 6, 8, PV_BOOTLOADER_GRUB);
        struct pv_host_dev *l4 = add_dev(&f, "0000:41:00.0", 0x10de, 0x27b8, 0x030200, 40, "nvidia");
        l4->is_pf = true;
        l4->sriov_totalvfs = 32;
        l4->has_nvidia_dir = true;
        build_groups(&f);
        f.spec.vgpu = PV_VGPU_NVIDIA_SRIOV;
        pv_strv_push(&f.spec.blacklist, "nvidia", NULL);
        assert_int_equal(plan(&f), -PV_EINVAL);
        assert_non_null(strstr(pv_error_message(&f.err), "NVIDIA vGPU"));
        pv_strv_done(&f.spec.blacklist);
        pv_strv_push(&f.spec.blacklist, "nouveau", NULL);
        assert_int_equal(plan(&f), 0);
        const struct pv_action *en = find_cmd(&f, "systemctl enable pve-nvidia-sriov@ALL.service");
        assert_non_null(en);
        assert_string_equal(en->before, "systemctl disable pve-nvidia-sriov@ALL.service");
        assert_null(strstr(find_act(&f, PV_ACT_WRITE_FILE, PV_HOSTPLAN_MODPROBE)->after, "blacklist nvidia"));
        assert_true(has_reboot(&f, "pve-nvidia-sriov@ALL.service"));
        /* the vGPU card itself cannot be a vfio target */
        add_sel(&f, PV_DEVSEL_ADDR, "41:00.0");
        assert_int_equal(plan(&f), -PV_EINVAL);
        f.spec.n_vfio = 0;
        f.in.nvidia_sriov_enabled = true;
        f.opts.rebind = false;
        assert_int_equal(plan(&f), 0);
        assert_null(find_cmd(&f, "systemctl enable pve-nvidia-sriov@ALL.service"));
        fx_done(&f);
}

static void test_sriov(void **state) {
        (void)state;
        struct fx f;
        base_host(&f, PV_CPU_INTEL, 6, 8, PV_BOOTLOADER_SYSTEMD_BOOT);
        struct pv_host_dev *pf = add_dev(&f, "0000:00:02.0", 0x8086, 0xa7a0, 0x030000, 0, "i915");
        pf->is_pf = true;
        pf->sriov_totalvfs = 7;
        pf->sriov_numvfs = 0;
        build_groups(&f);
        f.spec.sriov = calloc(1, sizeof *f.spec.sriov);
        f.spec.n_sriov = 1;
        assert_int_equal(pv_pci_addr_parse("0000:00:02.0", &f.spec.sriov[0].pf, NULL), 0);
        f.spec.sriov[0].numvfs = 9;
        /* i915 SR-IOV needs the out-of-tree driver (issue 10 item 10) */
        assert_int_equal(plan(&f), -PV_EINVAL);
        assert_non_null(strstr(pv_error_message(&f.err), "i915-sriov-dkms"));
        f.st.i915_dkms = xstrdup("lib/modules/6.8.12-4-pve/updates/dkms/i915.ko");
        assert_int_equal(plan(&f), -PV_EINVAL);
        assert_non_null(strstr(pv_error_message(&f.err), "at most 7"));
        f.spec.sriov[0].numvfs = 7;
        assert_int_equal(plan(&f), 0);
        const struct pv_action *u = find_act(&f, PV_ACT_WRITE_FILE, PV_HOSTPLAN_UDEV_SRIOV);
        assert_non_null(u);
        assert_non_null(strstr(u->after, "ACTION==\"add|bind\", SUBSYSTEM==\"pci\", KERNEL==\"0000:00:02.0\", "
                                         "TEST==\"driver\", ATTR{sriov_numvfs}==\"0\", ATTR{sriov_numvfs}=\"7\"\n"));
        assert_null(find_act(&f, PV_ACT_SET_SRIOV, NULL));
        assert_true(has_reboot(&f, "0000:00:02.0 has 0 SR-IOV VFs"));
        /* --rebind: now */
        f.opts.rebind = true;
        assert_int_equal(plan(&f), 0);
        const struct pv_action *s = find_act(&f, PV_ACT_SET_SRIOV, "0000:00:02.0");
        assert_non_null(s);
        assert_null(s->blocked);
        assert_string_equal(s->keys[0].key, "sriov_numvfs");
        assert_string_equal(s->keys[0].before, "0");
        assert_string_equal(s->keys[0].after, "7");
        assert_false(has_reboot(&f, "SR-IOV"));
        /* a VF in use blocks a change of the count */
        pf = &f.st.devs[0];
        pf->sriov_numvfs = 2;
        pf->n_vfs = 2;
        pf->vfs = calloc(2, sizeof *pf->vfs);
        pv_pci_addr_parse("0000:00:02.1", &pf->vfs[0], NULL);
        pv_pci_addr_parse("0000:00:02.2", &pf->vfs[1], NULL);
        add_dev(&f, "0000:00:02.1", 0x8086, 0xa7a0, 0x030000, 17, "vfio-pci")->is_vf = true;
        add_dev(&f, "0000:00:02.2", 0x8086, 0xa7a0, 0x030000, 18, NULL)->is_vf = true;
        assert_int_equal(plan(&f), 0);
        s = find_act(&f, PV_ACT_SET_SRIOV, "0000:00:02.0");
        assert_non_null(s->blocked);
        assert_non_null(strstr(s->blocked, "0000:00:02.1"));
        /* a VF selected for vfio: no companions (the PF is the same slot) */
        f.opts.rebind = false;
        add_sel(&f, PV_DEVSEL_ADDR, "00:02.2");
        f.spec.binding = PV_BIND_DRIVER_OVERRIDE;
        assert_int_equal(plan(&f), 0);
        u = find_act(&f, PV_ACT_WRITE_FILE, PV_HOSTPLAN_UDEV_VFIO);
        assert_non_null(strstr(u->after, "0000:00:02.2"));
        assert_null(strstr(u->after, "0000:00:02.0"));
        assert_null(strstr(u->after, "0000:00:02.1"));
        /* binding the PF itself is a contradiction */
        f.spec.vfio[0].addr.func = 0;
        assert_int_equal(plan(&f), -PV_EINVAL);
        assert_non_null(strstr(pv_error_message(&f.err), "physical function"));
        fx_done(&f);
}

static void test_rebind(void **state) {
        (void)state;
        struct fx f;
        twins(&f);
        f.spec.binding = PV_BIND_DRIVER_OVERRIDE;
        f.opts.rebind = true;
        assert_int_equal(plan(&f), 0);
        const struct pv_action *mpc = find_cmd(&f, "modprobe vfio-pci");
        assert_non_null(mpc);
        const struct pv_action *r0 = find_act(&f, PV_ACT_REBIND_DEVICE, "0000:02:00.0");
        const struct pv_action *r1 = find_act(&f, PV_ACT_REBIND_DEVICE, "0000:02:00.1");
        assert_non_null(r0);
        assert_non_null(r1);
        assert_null(r0->blocked);
        assert_int_equal(r0->depends_on, (int)act_index(&f, mpc) + 1);
        assert_string_equal(r0->keys[0].key, "driver");
        assert_string_equal(r0->keys[0].before, "nvidia");
        assert_string_equal(r0->keys[0].after, "vfio-pci");
        assert_false(has_reboot(&f, "0000:02:00.0 is bound"));
        /* vfio-pci already loaded: no modprobe */
        pv_strv_push(&f.st.modules, "vfio_pci", NULL);
        assert_int_equal(plan(&f), 0);
        assert_null(find_cmd(&f, "modprobe vfio-pci"));
        assert_int_equal(find_act(&f, PV_ACT_REBIND_DEVICE, "0000:02:00.0")->depends_on, 0);
        fx_done(&f);

        /* the boot GPU whose BAR holds the boot framebuffer */
        twins(&f);
        f.spec.binding = PV_BIND_DRIVER_OVERRIDE;
        f.spec.vfio[0].addr.bus = 1;
        f.opts.rebind = true;
        struct pv_host_dev *g = &f.st.devs[0];
        g->bars_read = true;
        g->n_bars = 1;
        g->bars = calloc(1, sizeof *g->bars);
        g->bars[0] = (struct pv_bar){ 1, 0xe0000000, 0xefffffff, 0 };
        f.st.n_fb_ranges = 1;
        f.st.fb_ranges = calloc(1, sizeof *f.st.fb_ranges);
        f.st.fb_ranges[0] = (struct pv_iomem_range){ 0xe0000000, 0xe07e8fff, xstrdup("BOOTFB") };
        assert_int_equal(plan(&f), 0);
        const struct pv_action *rb = find_act(&f, PV_ACT_REBIND_DEVICE, "0000:01:00.0");
        assert_non_null(rb);
        assert_non_null(rb->blocked);
        assert_non_null(strstr(rb->blocked, "BOOTFB"));
        assert_true(has_reboot(&f, "0000:01:00.0 is bound to 'nvidia' and cannot be rebound live"));
        assert_true(has_warning(&f, "boot GPU"));
        assert_true(has_warning(&f, "initcall_blacklist=sysfb_init"));
        fx_done(&f);

        /* a NIC in use is never unbound live */
        base_host(&f, PV_CPU_INTEL, 6, 8, PV_BOOTLOADER_GRUB);
        add_dev(&f, "0000:05:00.0", 0x8086, 0x1533, 0x020000, 9, "igb");
        build_groups(&f);
        add_sel(&f, PV_DEVSEL_ADDR, "05:00.0");
        f.opts.rebind = true;
        assert_int_equal(plan(&f), 0);
        rb = find_act(&f, PV_ACT_REBIND_DEVICE, "0000:05:00.0");
        assert_non_null(rb->blocked);
        assert_non_null(strstr(rb->blocked, "Ethernet controller in use by the host ('igb')"));
        fx_done(&f);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_identical_gpus),
                cmocka_unit_test(test_shared_group),
                cmocka_unit_test(test_companions_and_bridges),
                cmocka_unit_test(test_gvtg),
                cmocka_unit_test(test_nvidia_sriov_vgpu),
                cmocka_unit_test(test_sriov),
                cmocka_unit_test(test_rebind),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
