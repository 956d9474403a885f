/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Host inspection against fake roots built by tests/mkroot/mkroot.py from
 * tests/machines/<name>.json: scan results per machine, check verdicts, and broken
 * trees (which must fail cleanly, never exit).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#if defined(__SANITIZE_ADDRESS__)
#define PV_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PV_TEST_ASAN 1
#endif
#endif
#ifdef PV_TEST_ASAN
#include <sanitizer/lsan_interface.h>
#endif

#include "../../provision/pcilib.h"
#include "pvfio/host.h"

static char tmpdir[] = "/tmp/pvfio-host-test-XXXXXX";
static const char *srcdir;

/* ---------------------------------------------------------------- helpers */

static char *xasprintf(const char *fmt, ...) PV_PRINTF(1, 2);
static char *xasprintf(const char *fmt, ...) {
        va_list ap;
        char *s = NULL;
        va_start(ap, fmt);
        assert_true(vasprintf(&s, fmt, ap) >= 0);
        va_end(ap);
        return s;
}

static void run(char *const argv[]) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                execvp(argv[0], argv);
                _exit(127);
        }
        int st = 0;
        assert_int_equal(waitpid(pid, &st, 0), pid);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
                fail_msg("'%s %s %s' failed (status %d)", argv[0], argv[1], argv[2] ? argv[2] : "", st);
}

/* Build tmp/<root> from a machine file; returns the root path (owned). */
static char *mkroot_file(const char *machine_json, const char *root) {
        char *out = xasprintf("%s/%s", tmpdir, root);
        char *script = xasprintf("%s/tests/mkroot/mkroot.py", srcdir);
        char *argv[] = { "python3", script, (char *)machine_json, out, NULL };
        run(argv);
        free(script);
        return out;
}

static char *machine_path(const char *name) {
        return xasprintf("%s/tests/machines/%s.json", srcdir, name);
}

static char *mkroot(const char *name) {
        char *m = machine_path(name);
        char *r = mkroot_file(m, name);
        free(m);
        return r;
}

/* Load a machine, let `edit` change it, write it to tmp and build its root under `root`. */
static char *mkroot_variant(const char *name, const char *root, void (*edit)(json_t *m)) {
        char *m = machine_path(name);
        json_error_t je;
        json_t *doc = json_load_file(m, 0, &je);
        assert_non_null(doc);
        edit(doc);
        char *variant = xasprintf("%s/%s.json", tmpdir, root);
        assert_int_equal(json_dump_file(doc, variant, JSON_INDENT(1)), 0);
        json_decref(doc);
        char *r = mkroot_file(variant, root);
        free(variant);
        free(m);
        return r;
}

static void write_file(const char *root, const char *rel, const char *content) {
        char *p = xasprintf("%s/%s", root, rel);
        FILE *f = fopen(p, "w");
        assert_non_null(f);
        fputs(content, f);
        fclose(f);
        free(p);
}

static void remove_file(const char *root, const char *rel) {
        char *p = xasprintf("%s/%s", root, rel);
        assert_int_equal(unlink(p), 0);
        free(p);
}

static struct pv_host_state *scan_root(const char *root, unsigned flags) {
        struct pv_error err = PV_ERROR_INIT;
        struct pv_host *h = NULL;
        struct pv_host_state *s = NULL;
        assert_int_equal(pv_host_open(root, NULL, &h, &err), 0);
        if (pv_host_scan(h, flags, &s, &err) < 0)
                fail_msg("scan of '%s' failed: %s", root, pv_error_message(&err));
        pv_host_close(h);
        return s;
}

/* Scan must fail; returns the message (owned). */
static char *scan_fails(const char *root) {
        struct pv_error err = PV_ERROR_INIT;
        struct pv_host *h = NULL;
        struct pv_host_state *s = NULL;
        assert_int_equal(pv_host_open(root, NULL, &h, &err), 0);
        int r = pv_host_scan(h, 0, &s, &err);
        assert_true(r < 0);
        assert_null(s);
        assert_int_equal(r, -err.code);
        char *msg = strdup(pv_error_message(&err));
        pv_error_done(&err);
        pv_host_close(h);
        return msg;
}

static struct scan_machine {
        const char *name;
        char *root;
        struct pv_host_state *s;
} machines[] = {
        { "laptop-ga107m", NULL, NULL },   { "desktop-igpu-dgpu", NULL, NULL }, { "workstation-2gpu", NULL, NULL },
        { "server-4gpu", NULL, NULL },     { "igpu-gvtg", NULL, NULL },         { "igpu-sriov", NULL, NULL },
        { "chipset-shared", NULL, NULL },  { "nvidia-l4-vgpu", NULL, NULL },
};

static struct scan_machine *machine(const char *name) {
        for (size_t i = 0; i < sizeof(machines) / sizeof(machines[0]); i++)
                if (strcmp(machines[i].name, name) == 0) {
                        if (!machines[i].s) {
                                machines[i].root = mkroot(name);
                                machines[i].s = scan_root(machines[i].root, 0);
                        }
                        return &machines[i];
                }
        fail_msg("no machine '%s'", name);
        return NULL;
}

static const struct pv_host_dev *dev(const struct pv_host_state *s, const char *addr) {
        struct pv_pci_addr a;
        struct pv_error err = PV_ERROR_INIT;
        assert_int_equal(pv_pci_addr_parse(addr, &a, &err), 0);
        const struct pv_host_dev *d = pv_host_find_dev(s, &a);
        if (!d)
                fail_msg("no device %s", addr);
        return d;
}

static struct pv_pci_addr addr(const char *s) {
        struct pv_pci_addr a;
        struct pv_error err = PV_ERROR_INIT;
        assert_int_equal(pv_pci_addr_parse(s, &a, &err), 0);
        return a;
}

static void assert_addr(const struct pv_pci_addr *a, const char *want) {
        char b[PV_PCI_ADDR_MAX];
        pv_pci_addr_format(a, b);
        assert_string_equal(b, want);
}

static void check(const struct pv_host_state *s, const struct pv_check_input *in, struct pv_check_list *l) {
        struct pv_error err = PV_ERROR_INIT;
        if (pv_host_check(s, in, l, &err) < 0)
                fail_msg("check failed: %s", pv_error_message(&err));
}

static const struct pv_check *verdict(const struct pv_check_list *l, const char *id) {
        for (size_t i = 0; i < l->n; i++)
                if (strcmp(l->v[i].id, id) == 0)
                        return &l->v[i];
        fail_msg("no verdict '%s'", id);
        return NULL;
}

static void assert_contains(const char *hay, const char *needle) {
        if (!hay || !strstr(hay, needle))
                fail_msg("'%s' does not contain '%s'", hay ? hay : "(null)", needle);
}

static bool sorted_by_address(const struct pv_host_state *s) {
        for (size_t i = 1; i < s->n_devs; i++)
                if (pv_pci_addr_cmp(&s->devs[i - 1].addr, &s->devs[i].addr) >= 0)
                        return false;
        return true;
}

/* ------------------------------------------------------------- per machine */

static void test_laptop_scan(void **state) {
        (void)state;
        const struct pv_host_state *s = machine("laptop-ga107m")->s;
        assert_int_equal(s->n_devs, 17);
        assert_true(sorted_by_address(s));
        const struct pv_host_dev *gpu = dev(s, "0000:01:00.0"), *audio = dev(s, "0000:01:00.1");
        assert_int_equal(gpu->vendor, 0x10de);
        assert_int_equal(gpu->device, 0x25a0);
        assert_true(gpu->has_subsystem);
        assert_int_equal(gpu->subsystem_vendor, 0x1028);
        assert_int_equal(gpu->subsystem_device, 0x0a61);
        assert_int_equal(gpu->class_code, 0x030000);
        assert_int_equal(gpu->revision, 0xa1);
        assert_string_equal(gpu->vendor_name, "NVIDIA Corporation");
        assert_string_equal(gpu->device_name, "GA107M [GeForce RTX 3050 Ti Mobile]");
        assert_string_equal(gpu->class_name, "VGA compatible controller");
        assert_string_equal(audio->device_name, "GA107 High Definition Audio Controller");
        assert_string_equal(audio->class_name, "Audio device");
        assert_string_equal(gpu->driver, "nvidia");
        assert_string_equal(audio->driver, "snd_hda_intel");
        assert_null(gpu->driver_override);
        assert_int_equal(gpu->boot_vga, 0);
        assert_int_equal(dev(s, "0000:00:02.0")->boot_vga, 1);
        assert_int_equal(audio->boot_vga, -1);
        assert_int_equal(gpu->iommu_group, 15);
        assert_true(gpu->has_parent);
        assert_addr(&gpu->parent, "0000:00:01.0");
        assert_false(dev(s, "0000:00:01.0")->has_parent);
        assert_true(dev(s, "0000:00:01.0")->is_bridge);
        assert_int_equal(gpu->reset_methods.n, 1);
        assert_string_equal(gpu->reset_methods.v[0], "bus");
        assert_true(gpu->bars_read);
        assert_int_equal(gpu->n_bars, 3);
        assert_int_equal(gpu->bars[1].start, 0x6000000000ULL);

        const struct pv_host_group *g = pv_host_find_group(s, 15);
        assert_non_null(g);
        assert_int_equal(g->n_members, 2);
        assert_string_equal(s->devs[g->members[0]].name, "0000:01:00.0");
        assert_string_equal(s->devs[g->members[1]].name, "0000:01:00.1");
        assert_string_equal(g->type, "DMA-FQ");
        size_t n = 0;
        assert_non_null(pv_host_group_members(s, gpu, &n));
        assert_int_equal(n, 2);
        assert_null(pv_host_find_group(s, 14));

        assert_int_equal(s->cpu.vendor, PV_CPU_INTEL);
        assert_true(s->cpu.vmx);
        assert_false(s->cpu.svm);
        assert_int_equal(s->cpu.count, 16);
        assert_string_equal(s->kernel_release, "6.8.12-4-pve");
        assert_int_equal(s->kver.major, 6);
        assert_int_equal(s->kver.minor, 8);
        assert_int_equal(s->kver.patch, 12);
        assert_true(s->iommu.active);
        assert_int_equal(s->iommu.n_units, 2);
        assert_int_equal(s->iommu.units[0].kind, PV_IOMMU_UNIT_INTEL);
        assert_true(s->iommu.units[0].ir_capable);
        assert_true(s->iommu.dmar_table);
        assert_false(s->iommu.ivrs_table);
        assert_int_equal(s->iommu.dmar_flags, 1);
        assert_int_equal(s->iommu.ir, PV_IR_ACTIVE);
        assert_true(pv_host_module_loaded(s, "nvidia"));
        assert_true(pv_host_module_loaded(s, "snd-hda-intel"));
        assert_false(pv_host_module_loaded(s, "vfio_pci"));
        assert_int_equal(s->n_fb_ranges, 1);
        assert_string_equal(s->fb_ranges[0].name, "BOOTFB");
        assert_int_equal(s->boot.loader, PV_BOOTLOADER_GRUB);
        assert_true(s->boot.efi);
        assert_false(s->boot.proxmox_boot_tool);
        assert_null(s->boot.loader_info);
        assert_true(s->boot.etc_default_grub.present);
        assert_false(s->boot.etc_kernel_cmdline.present);
        assert_int_equal(s->boot.n_grub_d, 1);
        assert_true(pv_strv_contains(&s->cmdline_args, "root=/dev/mapper/pve-root"));
        const char *const *mods = pv_host_vfio_modules(s);
        assert_string_equal(mods[0], "vfio");
        assert_string_equal(mods[2], "vfio_pci");
        assert_null(mods[3]);
        assert_null(pv_host_iommu_args(s)[0]);   /* 6.8: Intel IOMMU on by default */
}

static void test_laptop_check(void **state) {
        (void)state;
        const struct pv_host_state *s = machine("laptop-ga107m")->s;
        struct pv_pci_addr devs[] = { addr("01:00") };
        struct pv_check_input in = { .devices = devs, .n_devices = 1 };
        struct pv_check_list l = PV_CHECK_LIST_INIT;
        check(s, &in, &l);
        assert_int_equal(verdict(&l, "cpu-virt")->status, PV_CHECK_PASS);
        assert_int_equal(verdict(&l, "iommu")->status, PV_CHECK_PASS);
        assert_int_equal(verdict(&l, "iommu-firmware")->status, PV_CHECK_PASS);
        assert_int_equal(verdict(&l, "interrupt-remapping")->status, PV_CHECK_PASS);
        assert_contains(verdict(&l, "interrupt-remapping")->evidence, "IR-");
        const struct pv_check *v = verdict(&l, "vfio-loaded");
        assert_int_equal(v->status, PV_CHECK_WARN);
        assert_contains(v->evidence, "vfio_pci");
        assert_contains(v->fix, "modprobe -a vfio vfio_iommu_type1 vfio_pci");
        assert_int_equal(verdict(&l, "vfio-modules-config")->status, PV_CHECK_WARN);
        assert_int_equal(verdict(&l, "bootloader")->status, PV_CHECK_PASS);
        assert_contains(verdict(&l, "bootloader")->evidence, "decision: GRUB");
        v = verdict(&l, "group:0000:01:00.0");
        assert_int_equal(v->status, PV_CHECK_PASS);
        assert_contains(v->evidence, "0000:01:00.1");
        assert_int_equal(verdict(&l, "reset:0000:01:00.1")->status, PV_CHECK_PASS);
        assert_int_equal(verdict(&l, "boot-framebuffer")->status, PV_CHECK_PASS);   /* BOOTFB is on the iGPU */
        assert_int_equal(verdict(&l, "reboot")->status, PV_CHECK_PASS);
        assert_int_equal(pv_check_list_worst(&l), PV_CHECK_WARN);
        pv_check_list_done(&l);

        /* only the GPU function: its audio companion is left behind */
        struct pv_pci_addr one[] = { addr("0000:01:00.0") };
        in = (struct pv_check_input){ .devices = one, .n_devices = 1 };
        check(s, &in, &l);
        v = verdict(&l, "group:0000:01:00.0");
        assert_int_equal(v->status, PV_CHECK_WARN);
        assert_contains(v->fix, "0000:01:00");
        pv_check_list_done(&l);

        /* a function without any reset method */
        struct pv_pci_addr sram[] = { addr("0000:00:14.2") };
        in = (struct pv_check_input){ .devices = sram, .n_devices = 1 };
        check(s, &in, &l);
        assert_int_equal(verdict(&l, "reset:0000:00:14.2")->status, PV_CHECK_WARN);
        pv_check_list_done(&l);

        /* an address that does not exist */
        struct pv_pci_addr none[] = { addr("0000:09:00.0") };
        in = (struct pv_check_input){ .devices = none, .n_devices = 1 };
        check(s, &in, &l);
        assert_int_equal(verdict(&l, "group:0000:09:00.0")->status, PV_CHECK_FAIL);
        assert_int_equal(pv_check_list_worst(&l), PV_CHECK_FAIL);
        pv_check_list_done(&l);
}

static void test_desktop(void **state) {
        (void)state;
        const struct pv_host_state *s = machine("desktop-igpu-dgpu")->s;
        assert_int_equal(s->boot.loader, PV_BOOTLOADER_GRUB);
        assert_false(s->boot.efi);
        assert_int_equal(s->kver.minor, 5);
        assert_string_equal(pv_host_iommu_args(s)[0], "intel_iommu=on");   /* kernel 6.5 on Intel */
        assert_string_equal(pv_host_dev_is_display(dev(s, "0000:03:00.0")) ? "display" : "", "display");
        const struct pv_host_dev *gpu = dev(s, "0000:03:00.0");
        assert_addr(&gpu->parent, "0000:02:00.0");
        assert_addr(&dev(s, "0000:02:00.0")->parent, "0000:01:00.0");
        assert_addr(&dev(s, "0000:01:00.0")->parent, "0000:00:01.0");
        struct pv_group_assessment a;
        struct pv_error err = PV_ERROR_INIT;
        assert_int_equal(pv_host_assess_device(s, (size_t)pv_host_dev_index(s, &gpu->addr), &a, &err), 0);
        assert_int_equal(a.verdict, PV_GROUP_COMPANIONS);
        assert_int_equal(a.group, 1);
        assert_int_equal(a.n_bridges, 3);
        assert_int_equal(a.n_companions, 1);
        assert_string_equal(s->devs[a.companions[0]].name, "0000:03:00.1");
        assert_int_equal(a.n_unrelated, 0);
        pv_group_assessment_done(&a);

        const char *args[] = { "intel_iommu=on", "iommu=pt" };
        struct pv_check_input in = { .kernel_args = args, .n_kernel_args = 2 };
        struct pv_check_list l = PV_CHECK_LIST_INIT;
        check(s, &in, &l);
        assert_int_equal(verdict(&l, "kernel-args")->status, PV_CHECK_PASS);
        pv_check_list_done(&l);
}

static void test_workstation(void **state) {
        (void)state;
        const struct pv_host_state *s = machine("workstation-2gpu")->s;
        const struct pv_host_dev *a = dev(s, "0000:01:00.0"), *b = dev(s, "0000:02:00.0");
        assert_int_equal(a->device, b->device);
        assert_int_equal(a->device, 0x2684);
        assert_string_equal(a->driver, "nvidia");
        assert_string_equal(b->driver, "vfio-pci");
        assert_null(a->driver_override);
        assert_string_equal(b->driver_override, "vfio-pci");
        assert_int_equal(a->boot_vga, 1);
        assert_int_not_equal(a->iommu_group, b->iommu_group);
        assert_int_equal(s->cpu.vendor, PV_CPU_AMD);
        assert_true(s->cpu.svm);
        assert_true(s->iommu.ivrs_table);
        assert_int_equal(s->iommu.units[0].kind, PV_IOMMU_UNIT_AMD);
        assert_int_equal(s->boot.loader, PV_BOOTLOADER_SYSTEMD_BOOT);
        assert_true(s->boot.proxmox_boot_tool);
        assert_string_equal(s->boot.loader_info, "systemd-boot 252.33");
        assert_true(s->boot.etc_kernel_cmdline.present);
        assert_string_equal(s->boot.etc_kernel_cmdline.content, "root=ZFS=rpool/ROOT/pve-1 boot=zfs iommu=pt\n");
        assert_true(pv_host_module_loaded(s, "vfio_pci"));

        /* iommu=pt is in etc/kernel/cmdline and active; the boot GPU's framebuffer blocks passing 01:00 */
        const char *args[] = { "iommu=pt" };
        struct pv_pci_addr devs[] = { addr("0000:01:00"), addr("0000:02:00") };
        struct pv_check_input in = { .kernel_args = args, .n_kernel_args = 1, .devices = devs, .n_devices = 2 };
        struct pv_check_list l = PV_CHECK_LIST_INIT;
        check(s, &in, &l);
        assert_int_equal(verdict(&l, "kernel-args")->status, PV_CHECK_PASS);
        assert_int_equal(verdict(&l, "bootloader")->status, PV_CHECK_PASS);
        assert_contains(verdict(&l, "bootloader")->evidence, "decision: systemd-boot");
        assert_int_equal(verdict(&l, "vfio-loaded")->status, PV_CHECK_PASS);
        const struct pv_check *fb = verdict(&l, "boot-framebuffer");
        assert_int_equal(fb->status, PV_CHECK_FAIL);
        assert_contains(fb->evidence, "0000:01:00.0");
        assert_contains(fb->fix, "initcall_blacklist=sysfb_init");
        assert_int_equal(verdict(&l, "group:0000:02:00.0")->status, PV_CHECK_PASS);
        pv_check_list_done(&l);
}

static void test_server(void **state) {
        (void)state;
        const struct pv_host_state *s = machine("server-4gpu")->s;
        const struct pv_host_group *g = pv_host_find_group(s, 40);
        assert_non_null(g);
        assert_int_equal(g->n_members, 7);   /* switch up + 2 down ports + 2 GPUs with audio */
        assert_int_equal(dev(s, "0000:c3:00.0")->numa_node, 1);
        assert_int_equal(dev(s, "0000:43:00.0")->numa_node, 0);
        struct pv_group_assessment a;
        struct pv_error err = PV_ERROR_INIT;
        const struct pv_host_dev *gpu = dev(s, "0000:43:00.0");
        assert_int_equal(pv_host_assess_device(s, (size_t)pv_host_dev_index(s, &gpu->addr), &a, &err), 0);
        assert_int_equal(a.verdict, PV_GROUP_SHARED);
        assert_int_equal(a.n_unrelated, 2);
        assert_string_equal(s->devs[a.unrelated[0]].name, "0000:44:00.0");
        assert_int_equal(a.n_bridges, 3);
        pv_group_assessment_done(&a);
        assert_int_equal(pv_host_assess_group(s, g, &a, &err), 0);
        assert_int_equal(a.verdict, PV_GROUP_SHARED);
        pv_group_assessment_done(&a);

        struct pv_pci_addr devs[] = { addr("0000:43:00.0") };
        struct pv_check_input in = { .devices = devs, .n_devices = 1 };
        struct pv_check_list l = PV_CHECK_LIST_INIT;
        check(s, &in, &l);
        const struct pv_check *v = verdict(&l, "group:0000:43:00.0");
        assert_int_equal(v->status, PV_CHECK_FAIL);
        assert_contains(v->evidence, "0000:44:00.0");
        assert_contains(v->evidence, "RTX A6000");
        assert_int_equal(verdict(&l, "iommu-firmware")->status, PV_CHECK_PASS);
        assert_contains(verdict(&l, "iommu-firmware")->title, "IVRS");
        /* the BMC's framebuffer is not on a passed GPU */
        assert_int_equal(verdict(&l, "boot-framebuffer")->status, PV_CHECK_PASS);
        pv_check_list_done(&l);

        /* both GPUs of the pair go to VMs: a warning (same VM), not a failure */
        struct pv_pci_addr pair[] = { addr("0000:43:00"), addr("0000:44:00") };
        in = (struct pv_check_input){ .devices = pair, .n_devices = 2 };
        check(s, &in, &l);
        v = verdict(&l, "group:0000:44:00.1");
        assert_int_equal(v->status, PV_CHECK_WARN);
        assert_contains(v->fix, "same VM");
        pv_check_list_done(&l);
}

static void test_gvtg(void **state) {
        (void)state;
        const struct pv_host_state *s = machine("igpu-gvtg")->s;
        const struct pv_host_dev *igpu = dev(s, "0000:00:02.0");
        assert_int_equal(igpu->device, 0x3e92);
        assert_int_equal(igpu->n_mdev_types, 2);
        assert_string_equal(igpu->mdev_types[0].type, "i915-GVTg_V5_4");
        assert_string_equal(igpu->mdev_types[0].name, "GVTg_V5_4");
        assert_int_equal(igpu->mdev_types[0].available, 1);
        assert_string_equal(igpu->mdev_types[0].device_api, "vfio-pci");
        assert_contains(igpu->mdev_types[0].description, "high_gm_size: 512MB");
        assert_string_equal(igpu->mdev_types[1].type, "i915-GVTg_V5_8");
        assert_int_equal(igpu->mdev_types[1].available, 2);
        assert_false(igpu->has_nvidia_dir);

        struct pv_check_input in = { .gvtg = true };
        struct pv_check_list l = PV_CHECK_LIST_INIT;
        check(s, &in, &l);
        assert_int_equal(verdict(&l, "kernel-args")->status, PV_CHECK_PASS);   /* i915.enable_gvt=1 active */
        assert_int_equal(verdict(&l, "vfio-loaded")->status, PV_CHECK_PASS);   /* kvmgt + vfio loaded */
        assert_contains(verdict(&l, "vfio-modules-config")->evidence, "kvmgt");
        pv_check_list_done(&l);
}

static void test_sriov(void **state) {
        (void)state;
        const struct pv_host_state *s = machine("igpu-sriov")->s;
        const struct pv_host_dev *pf = dev(s, "0000:00:02.0");
        assert_true(pf->is_pf);
        assert_false(pf->is_vf);
        assert_int_equal(pf->sriov_totalvfs, 7);
        assert_int_equal(pf->sriov_numvfs, 7);
        assert_int_equal(pf->n_vfs, 7);
        assert_addr(&pf->vfs[0], "0000:00:02.1");
        assert_addr(&pf->vfs[6], "0000:00:02.7");
        const struct pv_host_dev *vf = dev(s, "0000:00:02.3");
        assert_true(vf->is_vf);
        assert_addr(&vf->physfn, "0000:00:02.0");
        assert_int_equal(vf->iommu_group, 23);
        assert_string_equal(vf->driver, "i915");
        assert_string_equal(dev(s, "0000:00:02.1")->driver, "vfio-pci");
        assert_int_equal(s->boot.loader, PV_BOOTLOADER_SYSTEMD_BOOT);
        struct pv_group_assessment a;
        struct pv_error err = PV_ERROR_INIT;
        assert_int_equal(pv_host_assess_device(s, (size_t)pv_host_dev_index(s, &vf->addr), &a, &err), 0);
        assert_int_equal(a.verdict, PV_GROUP_ALONE);
        pv_group_assessment_done(&a);
}

static void test_chipset_shared(void **state) {
        (void)state;
        const struct pv_host_state *s = machine("chipset-shared")->s;
        struct pv_pci_addr devs[] = { addr("0000:07:00") };
        struct pv_check_input in = { .devices = devs, .n_devices = 1 };
        struct pv_check_list l = PV_CHECK_LIST_INIT;
        check(s, &in, &l);
        const struct pv_check *v = verdict(&l, "group:0000:07:00.0");
        assert_int_equal(v->status, PV_CHECK_FAIL);
        assert_contains(v->evidence, "0000:02:00.1 SATA controller");
        assert_contains(v->evidence, "(driver ahci)");
        assert_contains(v->evidence, "0000:05:00.0 Ethernet controller");
        assert_contains(v->evidence, "0000:02:00.0 USB controller");
        /* the GPU is the boot display: its BAR holds BOOTFB */
        assert_int_equal(verdict(&l, "boot-framebuffer")->status, PV_CHECK_FAIL);
        assert_int_equal(pv_check_list_worst(&l), PV_CHECK_FAIL);
        pv_check_list_done(&l);
}

static void test_l4_vgpu(void **state) {
        (void)state;
        const struct pv_host_state *s = machine("nvidia-l4-vgpu")->s;
        const struct pv_host_dev *pf = dev(s, "0000:c1:00.0");
        assert_true(pf->is_pf);
        assert_int_equal(pf->sriov_totalvfs, 32);
        assert_int_equal(pf->sriov_numvfs, 4);
        assert_int_equal(pf->n_vfs, 4);
        assert_addr(&pf->vfs[0], "0000:c1:00.4");
        assert_false(pf->has_nvidia_dir);
        const struct pv_host_dev *vf = dev(s, "0000:c1:00.4");
        assert_true(vf->is_vf);
        assert_true(vf->has_nvidia_dir);
        assert_int_equal(vf->n_vgpu_types, 12);
        assert_int_equal(vf->vgpu_types[0].id, 918);
        assert_string_equal(vf->vgpu_types[0].name, "NVIDIA L4-1B");
        assert_string_equal(vf->vgpu_types[11].name, "NVIDIA L4-24C");
        const struct pv_host_dev *busy = dev(s, "0000:c1:00.7");
        assert_true(busy->has_nvidia_dir);
        assert_int_equal(busy->n_vgpu_types, 0);
        assert_int_equal(vf->class_code, 0x030200);
        assert_int_equal(vf->boot_vga, -1);   /* 3D controllers have no boot_vga */
}

/* libpci's own sysfs enumeration sees exactly the devices the scan found (real nesting, symlink depths) */
static void test_libpci_agrees(void **state) {
        (void)state;
        for (size_t i = 0; i < sizeof(machines) / sizeof(machines[0]); i++) {
                struct scan_machine *m = machine(machines[i].name);
                char *sysfs = xasprintf("%s/sys/bus/pci", m->root);
                struct pv_pcilib *lib = NULL;
                struct pv_error err = PV_ERROR_INIT;
                assert_int_equal(pv_pcilib_open(sysfs, NULL, NULL, &lib, &err), 0);
                struct pv_pci_addr *v = NULL;
                size_t n = 0;
                if (pv_pcilib_scan(lib, &v, &n, &err) < 0)
                        fail_msg("%s: %s", m->name, pv_error_message(&err));
                assert_int_equal(n, m->s->n_devs);
                for (size_t k = 0; k < n; k++)
                        assert_true(pv_pci_addr_equal(&v[k], &m->s->devs[k].addr));
                /* config space: the GPU of the laptop has a PCIe cap and no FLR; its iGPU has FLR */
                if (strcmp(m->name, "laptop-ga107m") == 0) {
                        struct pv_pci_caps caps;
                        struct pv_pci_addr a = addr("0000:01:00.0");
                        assert_int_equal(pv_pcilib_caps(lib, &a, &caps, &err), 0);
                        assert_true(caps.known);
                        assert_true(caps.pcie);
                        assert_int_equal(caps.pcie_type, 0);
                        assert_false(caps.flr);
                        a = addr("0000:00:02.0");
                        assert_int_equal(pv_pcilib_caps(lib, &a, &caps, &err), 0);
                        assert_true(caps.flr);
                        a = addr("0000:00:01.0");
                        assert_int_equal(pv_pcilib_caps(lib, &a, &caps, &err), 0);
                        assert_int_equal(caps.pcie_type, 4);   /* root port */
                }
                free(v);
                pv_pcilib_close(lib);
                free(sysfs);
        }
}

static void test_json(void **state) {
        (void)state;
        const struct pv_host_state *s = machine("laptop-ga107m")->s;
        json_t *j = pv_host_state_to_json(s);
        assert_non_null(j);
        json_t *devs = json_object_get(j, "devices");
        assert_int_equal(json_array_size(devs), s->n_devs);
        json_t *gpu = NULL;
        size_t i;
        json_t *it;
        json_array_foreach(devs, i, it) if (strcmp(json_string_value(json_object_get(it, "address")), "0000:01:00.0") == 0)
                gpu = it;
        assert_non_null(gpu);
        assert_string_equal(json_string_value(json_object_get(gpu, "id")), "10de:25a0");
        assert_string_equal(json_string_value(json_object_get(gpu, "subsystem_id")), "1028:0a61");
        assert_int_equal(json_integer_value(json_object_get(gpu, "iommu_group")), 15);
        assert_string_equal(json_string_value(json_object_get(gpu, "driver")), "nvidia");
        assert_string_equal(json_string_value(json_object_get(gpu, "parent")), "0000:00:01.0");
        assert_string_equal(json_string_value(json_object_get(json_object_get(j, "boot"), "loader")), "grub");
        json_t *groups = json_object_get(j, "groups");
        json_t *g15 = NULL;
        json_array_foreach(groups, i, it) if (json_integer_value(json_object_get(it, "id")) == 15) g15 = it;
        assert_non_null(g15);
        assert_string_equal(json_string_value(json_object_get(g15, "verdict")), "companions");
        json_decref(j);
}

/* ---------------------------------------------------------- edited machines */

static void no_iommu_old_kernel(json_t *m) {
        json_object_set_new(json_object_get(m, "iommu"), "enabled", json_false());
        json_object_set_new(json_object_get(m, "boot"), "cmdline",
                            json_string("BOOT_IMAGE=/boot/vmlinuz-6.5.13-6-pve root=/dev/mapper/pve-root ro quiet"));
}

static void no_iommu_off(json_t *m) {
        json_object_set_new(json_object_get(m, "iommu"), "enabled", json_false());
        json_object_set_new(json_object_get(m, "boot"), "cmdline",
                            json_string("BOOT_IMAGE=/boot/vmlinuz-6.8.12-4-pve root=/dev/mapper/pve-root ro quiet "
                                        "intel_iommu=off"));
}

static void no_iommu_bios(json_t *m) {
        json_object_set_new(json_object_get(m, "iommu"), "enabled", json_false());
        json_object_set_new(json_object_get(m, "iommu"), "firmware_table", json_null());
}

static void no_ir(json_t *m) {
        json_object_set_new(json_object_get(m, "iommu"), "interrupt_remapping", json_false());
}

static void test_no_iommu_causes(void **state) {
        (void)state;
        struct { const char *machine, *root; void (*edit)(json_t *); const char *evidence, *fix; } cases[] = {
                { "desktop-igpu-dgpu", "noiommu-old", no_iommu_old_kernel, "older than 6.8", "intel_iommu=on" },
                { "laptop-ga107m", "noiommu-off", no_iommu_off, "'intel_iommu=off'", "remove 'intel_iommu=off'" },
                { "laptop-ga107m", "noiommu-bios", no_iommu_bios, "no DMAR table", "VT-d" },
                { "chipset-shared", "noiommu-amd", no_iommu_bios, "no IVRS table", "AMD-Vi" },
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                char *root = mkroot_variant(cases[i].machine, cases[i].root, cases[i].edit);
                struct pv_host_state *s = scan_root(root, 0);
                assert_false(s->iommu.active);
                assert_int_equal(s->n_groups, 0);
                assert_int_equal(s->devs[0].iommu_group, -1);
                struct pv_pci_addr devs[] = { s->devs[s->n_devs - 1].addr };
                struct pv_check_input in = { .devices = devs, .n_devices = 1 };
                struct pv_check_list l = PV_CHECK_LIST_INIT;
                check(s, &in, &l);
                const struct pv_check *v = verdict(&l, "iommu");
                assert_int_equal(v->status, PV_CHECK_FAIL);
                assert_contains(v->evidence, cases[i].evidence);
                assert_contains(v->fix, cases[i].fix);
                char gid[64];
                snprintf(gid, sizeof(gid), "group:%s", s->devs[s->n_devs - 1].name);
                assert_int_equal(verdict(&l, gid)->status, PV_CHECK_FAIL);
                pv_check_list_done(&l);
                pv_host_state_free(s);
                free(root);
        }
}

static void test_interrupt_remapping_absent(void **state) {
        (void)state;
        char *root = mkroot_variant("laptop-ga107m", "noir", no_ir);
        struct pv_host_state *s = scan_root(root, 0);
        assert_int_equal(s->iommu.ir, PV_IR_ABSENT);
        assert_false(s->iommu.units[0].ir_capable);
        struct pv_check_list l = PV_CHECK_LIST_INIT;
        check(s, NULL, &l);
        const struct pv_check *v = verdict(&l, "interrupt-remapping");
        assert_int_equal(v->status, PV_CHECK_FAIL);
        assert_contains(v->evidence, "IO-APIC, PCI-MSIX-0000:00:01.0");
        assert_contains(v->fix, "allow_unsafe_interrupts=1");
        pv_check_list_done(&l);
        pv_host_state_free(s);

        /* the documented fallback is configured: a warning, not a failure */
        write_file(root, "etc/modprobe.d/iommu_unsafe_interrupts.conf",
                   "options vfio_iommu_type1 allow_unsafe_interrupts=1\n");
        s = scan_root(root, 0);
        check(s, NULL, &l);
        assert_int_equal(verdict(&l, "interrupt-remapping")->status, PV_CHECK_WARN);
        pv_check_list_done(&l);
        pv_host_state_free(s);
        free(root);
}

static void test_reboot_reasons(void **state) {
        (void)state;
        char *root = mkroot("laptop-ga107m");   /* a fresh copy (machine() keeps its own) */
        char *moved = xasprintf("%s/laptop-reboot", tmpdir);
        assert_int_equal(rename(root, moved), 0);
        free(root);
        root = moved;
        /* configured but not yet active: modules, a kernel argument, vfio-pci ids for a bound device */
        write_file(root, "etc/modules-load.d/pvfio.conf", "vfio\nvfio_iommu_type1\nvfio_pci\n");
        write_file(root, "etc/default/grub.d/pvfio.cfg",
                   "GRUB_CMDLINE_LINUX_DEFAULT=\"$GRUB_CMDLINE_LINUX_DEFAULT iommu=pt\"\n");
        write_file(root, "etc/modprobe.d/pvfio.conf", "options vfio-pci ids=10de:25a0,10de:2291\n"
                                                      "softdep nvidia pre: vfio-pci\n");
        struct pv_host_state *s = scan_root(root, 0);
        assert_int_equal(s->n_modprobe_d, 2);
        assert_int_equal(s->boot.n_grub_d, 2);
        const char *args[] = { "iommu=pt" };
        struct pv_pci_addr devs[] = { addr("0000:01:00") };
        struct pv_check_input in = { .kernel_args = args, .n_kernel_args = 1, .devices = devs, .n_devices = 1 };
        struct pv_check_list l = PV_CHECK_LIST_INIT;
        check(s, &in, &l);
        assert_int_equal(verdict(&l, "vfio-modules-config")->status, PV_CHECK_PASS);
        const struct pv_check *v = verdict(&l, "kernel-args");
        assert_int_equal(v->status, PV_CHECK_WARN);
        assert_contains(v->evidence, "not active: 'iommu=pt'");
        v = verdict(&l, "reboot");
        assert_int_equal(v->status, PV_CHECK_WARN);
        assert_contains(v->evidence, "kernel argument 'iommu=pt'");
        assert_contains(v->evidence, "configured to load at boot");
        assert_contains(v->evidence, "0000:01:00.0 is bound to 'nvidia'");
        assert_contains(v->evidence, "0000:01:00.1 is bound to 'snd_hda_intel'");
        pv_check_list_done(&l);
        pv_host_state_free(s);

        /* vfio_virqfd does not exist on 6.2+ */
        write_file(root, "etc/modules-load.d/pvfio.conf", "vfio\nvfio_iommu_type1\nvfio_pci\nvfio_virqfd\n");
        write_file(root, "run/reboot-required", "*** System restart required ***\n");
        s = scan_root(root, 0);
        assert_true(s->reboot_required_flag);
        check(s, NULL, &l);
        v = verdict(&l, "vfio-modules-config");
        assert_int_equal(v->status, PV_CHECK_WARN);
        assert_contains(v->title, "vfio_virqfd");
        assert_contains(verdict(&l, "reboot")->evidence, "run/reboot-required");
        pv_check_list_done(&l);
        pv_host_state_free(s);
        free(root);
}

static void sdboot_no_uuids(json_t *m) {
        (void)m;
}

static void test_bootloader_decision(void **state) {
        (void)state;
        /* etc/kernel/cmdline alone decides nothing: GRUB host with a stray etc/kernel/cmdline */
        char *root = mkroot_variant("laptop-ga107m", "grub-stray-cmdline", sdboot_no_uuids);
        write_file(root, "etc/kernel/cmdline", "root=/dev/mapper/pve-root quiet\n");
        struct pv_host_state *s = scan_root(root, 0);
        assert_int_equal(s->boot.loader, PV_BOOTLOADER_GRUB);
        bool noted = false;
        for (size_t i = 0; i < s->boot.evidence.n; i++)
                noted |= strstr(s->boot.evidence.v[i], "not used by GRUB") != NULL;
        assert_true(noted);
        pv_host_state_free(s);
        free(root);

        /* proxmox-boot-tool with GRUB ESPs (no LoaderInfo): still GRUB */
        root = mkroot_variant("workstation-2gpu", "pbt-grub", sdboot_no_uuids);
        remove_file(root, "sys/firmware/efi/efivars/LoaderInfo-4a67b082-0a4c-41cf-b6c7-440b29bb8c4f");
        s = scan_root(root, 0);
        assert_true(s->boot.proxmox_boot_tool);
        assert_int_equal(s->boot.loader, PV_BOOTLOADER_GRUB);
        pv_host_state_free(s);

        /* systemd-boot whose etc/kernel/cmdline lacks root= */
        free(root);
        root = mkroot_variant("workstation-2gpu", "sdboot-noroot", sdboot_no_uuids);
        write_file(root, "etc/kernel/cmdline", "boot=zfs iommu=pt\n");
        s = scan_root(root, 0);
        assert_int_equal(s->boot.loader, PV_BOOTLOADER_SYSTEMD_BOOT);
        struct pv_check_list l = PV_CHECK_LIST_INIT;
        check(s, NULL, &l);
        assert_int_equal(verdict(&l, "bootloader")->status, PV_CHECK_WARN);
        assert_contains(verdict(&l, "bootloader")->fix, "root=");
        pv_check_list_done(&l);
        pv_host_state_free(s);
        free(root);
}

/* ------------------------------------------------------------ broken trees */

static void test_broken_trees(void **state) {
        (void)state;
        char *msg;
        /* a stray non-address entry */
        char *root = mkroot_variant("laptop-ga107m", "broken-stray", sdboot_no_uuids);
        char *p = xasprintf("%s/sys/bus/pci/devices/foo", root);
        assert_int_equal(mkdir(p, 0755), 0);
        msg = scan_fails(root);
        assert_contains(msg, "unexpected entry 'foo'");
        free(msg);
        /* libpci itself would exit(1) here: the adapter turns it into an error */
        char *sysfs = xasprintf("%s/sys/bus/pci", root);
        struct pv_pcilib *lib = NULL;
        struct pv_error err = PV_ERROR_INIT;
        assert_int_equal(pv_pcilib_open(sysfs, NULL, NULL, &lib, &err), 0);
        struct pv_pci_addr *v = NULL;
        size_t n = 0;
#ifdef PV_TEST_ASAN
        /* leaving pci_scan_bus() by longjmp strands its open DIR and half-made device (known, accepted:
         * the handle is unusable afterwards and only tests enumerate through libpci) */
        __lsan_disable();
#endif
        int sr = pv_pcilib_scan(lib, &v, &n, &err);
#ifdef PV_TEST_ASAN
        __lsan_enable();
#endif
        assert_true(sr < 0);
        assert_contains(pv_error_message(&err), "libpci failed while scanning");
        assert_contains(pv_error_message(&err), "foo");
        pv_error_done(&err);
        assert_true(pv_pcilib_scan(lib, &v, &n, &err) < 0);   /* unusable afterwards, still no exit */
        pv_error_done(&err);
        pv_pcilib_close(lib);
        free(sysfs);
        assert_int_equal(rmdir(p), 0);
        free(p);

        /* config space limited to the 64-byte header (an unprivileged read of real sysfs): capabilities unknown */
        char *cfg = xasprintf("%s/sys/bus/pci/devices/0000:01:00.0/config", root);
        assert_int_equal(truncate(cfg, 64), 0);
        free(cfg);
        {
                struct pv_host *hh = NULL;
                struct pv_host_state *ss = NULL;
                assert_int_equal(pv_host_open(root, NULL, &hh, &err), 0);
                assert_int_equal(pv_host_scan(hh, PV_SCAN_NO_NAMES, &ss, &err), 0);
                long gi = pv_host_dev_index(ss, &(struct pv_pci_addr){ .bus = 1 });
                long ii = pv_host_dev_index(ss, &(struct pv_pci_addr){ .dev = 2 });
                assert_true(gi >= 0 && ii >= 0);
                assert_int_equal(pv_host_read_caps(hh, ss, (size_t)gi, &err), 0);
                assert_false(ss->devs[gi].caps.known);
                assert_int_equal(pv_host_read_caps(hh, ss, (size_t)ii, &err), 0);
                assert_true(ss->devs[ii].caps.known);
                assert_true(ss->devs[ii].caps.flr);
                assert_true(pv_host_read_caps(hh, ss, ss->n_devs, &err) < 0);
                pv_error_done(&err);
                pv_host_state_free(ss);
                pv_host_close(hh);
        }

        /* a dangling device link */
        p = xasprintf("%s/sys/bus/pci/devices/0000:09:00.0", root);
        assert_int_equal(symlink("../../../devices/pci0000:00/0000:09:00.0", p), 0);
        msg = scan_fails(root);
        assert_contains(msg, "dangling device link");
        assert_contains(msg, "0000:09:00.0");
        free(msg);
        assert_int_equal(unlink(p), 0);
        free(p);

        /* an upper-case entry is not what the kernel writes */
        p = xasprintf("%s/sys/bus/pci/devices/0000:0A:00.0", root);
        assert_int_equal(mkdir(p, 0755), 0);
        msg = scan_fails(root);
        assert_contains(msg, "unexpected entry '0000:0A:00.0'");
        free(msg);
        assert_int_equal(rmdir(p), 0);
        free(p);

        /* a uevent without PCI_ID */
        write_file(root, "sys/bus/pci/devices/0000:01:00.1/uevent", "DRIVER=snd_hda_intel\nPCI_CLASS=40300\n");
        msg = scan_fails(root);
        assert_contains(msg, "0000:01:00.1/uevent' lacks PCI_ID");
        free(msg);
        /* no uevent: the attribute files are used, and vendor is mandatory */
        remove_file(root, "sys/bus/pci/devices/0000:01:00.1/uevent");
        struct pv_host_state *s = scan_root(root, 0);
        assert_int_equal(dev(s, "0000:01:00.1")->device, 0x2291);
        assert_int_equal(dev(s, "0000:01:00.1")->subsystem_device, 0x0a61);
        pv_host_state_free(s);
        remove_file(root, "sys/bus/pci/devices/0000:01:00.1/vendor");
        msg = scan_fails(root);
        assert_contains(msg, "0000:01:00.1/vendor");
        assert_contains(msg, "No such file or directory");
        free(msg);
        write_file(root, "sys/bus/pci/devices/0000:01:00.1/vendor", "banana\n");
        msg = scan_fails(root);
        assert_contains(msg, "unexpected value 'banana'");
        free(msg);
        write_file(root, "sys/bus/pci/devices/0000:01:00.1/vendor", "0x10de\n");
        s = scan_root(root, 0);
        pv_host_state_free(s);

        /* a malformed pci.ids: libpci's fatal parse error becomes a scan error */
        write_file(root, "usr/share/misc/pci.ids", "10de  NVIDIA Corporation\n\tzzzz  not hex\n");
        msg = scan_fails(root);
        assert_contains(msg, "libpci failed while looking up names");
        free(msg);
        /* ... and names can be skipped entirely */
        struct pv_host *h = NULL;
        assert_int_equal(pv_host_open(root, NULL, &h, &err), 0);
        assert_int_equal(pv_host_scan(h, PV_SCAN_NO_NAMES, &s, &err), 0);
        assert_null(dev(s, "0000:01:00.0")->vendor_name);
        pv_host_state_free(s);
        /* an explicit pci.ids override wins over the root's */
        char *ids = xasprintf("%s/override.ids", tmpdir);
        write_file(tmpdir, "override.ids", "10de  Nvidia Override\n\t25a0  Renamed GPU\nC 03  Display controller\n\t00  VGA compatible controller\n");
        assert_int_equal(pv_host_set_pci_ids(h, ids, &err), 0);
        assert_int_equal(pv_host_scan(h, 0, &s, &err), 0);
        assert_string_equal(dev(s, "0000:01:00.0")->device_name, "Renamed GPU");
        assert_null(dev(s, "0000:00:02.0")->vendor_name);
        pv_host_state_free(s);
        pv_host_close(h);
        free(ids);
        free(root);

        /* not a host root at all */
        msg = scan_fails(tmpdir);
        assert_contains(msg, "sys/bus/pci/devices");
        free(msg);
        assert_true(pv_host_open("/nonexistent/pvfio-root", NULL, &h, &err) < 0);
        assert_contains(pv_error_message(&err), "cannot open host root '/nonexistent/pvfio-root'");
        pv_error_done(&err);
}

/* ------------------------------------------------------------------ setup */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        (void)st;
        (void)flag;
        (void)ftw;
        return remove(path);
}

static int group_setup(void **state) {
        (void)state;
        srcdir = getenv("PVFIO_SOURCE_DIR");
        if (!srcdir)
                srcdir = PVFIO_SOURCE_DIR;
        if (!mkdtemp(tmpdir))
                return -1;
        return 0;
}

static int group_teardown(void **state) {
        (void)state;
        for (size_t i = 0; i < sizeof(machines) / sizeof(machines[0]); i++) {
                pv_host_state_free(machines[i].s);
                free(machines[i].root);
        }
        nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        return 0;
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_laptop_scan),        cmocka_unit_test(test_laptop_check),
                cmocka_unit_test(test_desktop),            cmocka_unit_test(test_workstation),
                cmocka_unit_test(test_server),             cmocka_unit_test(test_gvtg),
                cmocka_unit_test(test_sriov),              cmocka_unit_test(test_chipset_shared),
                cmocka_unit_test(test_l4_vgpu),            cmocka_unit_test(test_libpci_agrees),
                cmocka_unit_test(test_json),               cmocka_unit_test(test_no_iommu_causes),
                cmocka_unit_test(test_interrupt_remapping_absent), cmocka_unit_test(test_reboot_reasons),
                cmocka_unit_test(test_bootloader_decision), cmocka_unit_test(test_broken_trees),
        };
        return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
