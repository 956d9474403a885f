/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for the rest of a passthrough setup (issue 14), host side:
 * hugepages, ROM files (parse, read, the OVMF warning), vendor-reset, and
 * affinity against a GPU's NUMA node. Fixtures: extras_fixture.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pvfio/extras.h"
#include "pvfio/rom.h"
#include "pvfio/vmplan.h"
#include "extras_fixture.h"
#include "rom_fixture.h"

/* ------------------------------------------------------------ hugepages */

static void test_hugepages(void **state) {
        (void)state;
        struct pv_diags d = { 0 };
        struct pv_profile *p = load("version: 1\n"
                                    "hosts:\n"
                                    "  - nodes: pve1\n"
                                    "    hugepages_margin: 2\n"
                                    "  - nodes: pve2\n"
                                    "    kernel_args: [hugepages=4]\n"
                                    "vms:\n"
                                    "  - {name: a, node: pve1, memory: 16G, hugepages: 1G}\n"
                                    "  - {name: b, node: pve1, memory: 8200, hugepages: 1G}\n"
                                    "  - {name: c, node: pve1, memory: 64G, hugepages: 2M}\n"
                                    "  - {name: d, node: pve1, memory: 64G, hugepages: 1G, state: absent}\n"
                                    "  - {name: e, node: pve1, hugepages: 1G}\n"
                                    "  - {name: f, node: pve2, memory: 8G, hugepages: 1G}\n",
                                    &d, 0);
        /* 16 + ceil(8200/1024) + 1 (512 MiB default) + margin 2 */
        assert_int_equal(pv_host_hugepages_needed(p, "pve1", &p->hosts[0]), 16 + 9 + 1 + 2);
        assert_int_equal(pv_host_hugepages_needed(p, "pve3", &p->hosts[0]), 0);
        struct pv_strv v = PV_STRV_INIT;
        struct pv_plan plan = { 0 };
        assert_int_equal(pv_host_hugepages_args(p, "pve1", &p->hosts[0], &v, &plan, NULL), 0);
        assert_int_equal(v.n, 3);
        assert_string_equal(v.v[0], "default_hugepagesz=1G");
        assert_string_equal(v.v[1], "hugepagesz=1G");
        assert_string_equal(v.v[2], "hugepages=28");
        pv_strv_done(&v);
        /* the host section reserves pages itself: its choice wins, with a warning when too few */
        assert_int_equal(pv_host_hugepages_args(p, "pve2", &p->hosts[1], &v, &plan, NULL), 0);
        assert_int_equal(v.n, 0);
        assert_int_equal(plan.n_warnings, 1);
        assert_non_null(strstr(plan.warnings[0], "pve2: kernel_args reserve hugepages=4, but the VMs with hugepages: "
                                                 "1G need 8 pages"));
        pv_plan_done(&plan);
        pv_profile_free(p);

        /* host check: free vs needed, from sysfs under the root */
        char root[] = "/tmp/pvfio-hp-XXXXXX";
        assert_non_null(mkdtemp(root));
        char path[512];
        const char *dirs[] = { "sys", "sys/kernel", "sys/kernel/mm", "sys/kernel/mm/hugepages",
                               "sys/kernel/mm/hugepages/hugepages-1048576kB", NULL };
        struct pv_host *h = NULL;
        assert_int_equal(pv_host_open(root, NULL, &h, NULL), 0);
        struct pv_check_list l = PV_CHECK_LIST_INIT;
        assert_int_equal(pv_host_check_hugepages(h, 4, &l, NULL), 0);
        assert_int_equal(l.v[0].status, PV_CHECK_FAIL); /* no 1 GiB pages at all */
        assert_non_null(strstr(l.v[0].evidence, "does not exist"));
        for (size_t i = 0; dirs[i]; i++) {
                snprintf(path, sizeof path, "%s/%s", root, dirs[i]);
                assert_int_equal(mkdir(path, 0755), 0);
        }
        const char *files[] = { "nr_hugepages", "free_hugepages" };
        const char *vals[] = { "8\n", "3\n" };
        for (int i = 0; i < 2; i++) {
                snprintf(path, sizeof path, "%s/%s/%s", root, dirs[4], files[i]);
                FILE *f = fopen(path, "w");
                assert_non_null(f);
                fputs(vals[i], f);
                fclose(f);
        }
        assert_int_equal(pv_host_check_hugepages(h, 3, &l, NULL), 0);
        assert_int_equal(l.v[1].status, PV_CHECK_PASS);
        assert_string_equal(l.v[1].evidence,
                            "1 GiB pages: 8 reserved, 3 free; 3 needed (sys/kernel/mm/hugepages/hugepages-1048576kB)");
        assert_int_equal(pv_host_check_hugepages(h, 6, &l, NULL), 0);
        assert_int_equal(l.v[2].status, PV_CHECK_WARN); /* reserved enough, but in use */
        assert_int_equal(pv_host_check_hugepages(h, 10, &l, NULL), 0);
        assert_int_equal(l.v[3].status, PV_CHECK_FAIL);
        assert_non_null(strstr(l.v[3].fix, "hugepages=10"));
        pv_check_list_done(&l);
        pv_host_close(h);
        for (int i = 0; i < 2; i++) {
                snprintf(path, sizeof path, "%s/%s/%s", root, dirs[4], files[i]);
                unlink(path);
        }
        for (size_t i = 5; i-- > 0;) {
                snprintf(path, sizeof path, "%s/%s", root, dirs[i]);
                rmdir(path);
        }
        rmdir(root);
        pv_diags_done(&d);
}

/* ------------------------------------------------------------------ ROM */

static void test_rom_parse(void **state) {
        (void)state;
        static uint8_t rom[64 * 512];
        size_t n = rom_image(rom, 0x10de, 0x2484, 0, false, 40);
        n += rom_image(rom + n, 0x10de, 0x2484, 3, true, 24);
        struct pv_rom_info ri;
        assert_int_equal(pv_rom_parse(rom, n, &ri, NULL), 0);
        assert_int_equal(ri.n_images, 2);
        assert_null(ri.problem);
        assert_true(ri.has_efi);
        assert_true(ri.has_x86);
        assert_int_equal(ri.images[0].vendor, 0x10de);
        assert_int_equal(ri.images[0].device, 0x2484);
        assert_int_equal(ri.images[0].length, 40 * 512);
        assert_int_equal(ri.images[1].offset, 40 * 512);
        assert_int_equal(ri.images[1].code_type, 3);
        assert_int_equal(ri.images[1].efi_machine, 0x8664);
        assert_true(ri.images[1].last);
        pv_rom_info_done(&ri);
        /* legacy only */
        n = rom_image(rom, 0x1002, 0x73df, 0, true, 32);
        assert_int_equal(pv_rom_parse(rom, n, &ri, NULL), 0);
        assert_int_equal(ri.n_images, 1);
        assert_false(ri.has_efi);
        pv_rom_info_done(&ri);
        /* not marked last, ends: a problem, the images seen are kept */
        n = rom_image(rom, 0x1002, 0x73df, 0, false, 32);
        assert_int_equal(pv_rom_parse(rom, n, &ri, NULL), 0);
        assert_int_equal(ri.n_images, 1);
        assert_non_null(strstr(ri.problem, "not marked as last"));
        pv_rom_info_done(&ri);
        /* garbage: no signature */
        memset(rom, 0xff, 1024);
        assert_int_equal(pv_rom_parse(rom, 1024, &ri, NULL), 0);
        assert_int_equal(ri.n_images, 0);
        assert_non_null(strstr(ri.problem, "no 55 AA signature at offset 0x0"));
        pv_rom_info_done(&ri);
        /* a bad PCIR pointer */
        n = rom_image(rom, 1, 2, 0, true, 2);
        rom[0x18] = 0xf0, rom[0x19] = 0x03;
        assert_int_equal(pv_rom_parse(rom, n, &ri, NULL), 0);
        assert_non_null(strstr(ri.problem, "no PCI data structure"));
        pv_rom_info_done(&ri);
        assert_int_equal(pv_rom_parse(rom, 0, &ri, NULL), 0);
        assert_non_null(strstr(ri.problem, "empty"));
        pv_rom_info_done(&ri);
}

/* Under a root: the ROM is read from the fixture's file; no device / no ROM BAR / empty say why. */
static void test_rom_read_and_ovmf_warning(void **state) {
        (void)state;
        char root[] = "/tmp/pvfio-rom-XXXXXX";
        assert_non_null(mkdtemp(root));
        char path[512];
        const char *dirs[] = { "sys", "sys/bus", "sys/bus/pci", "sys/bus/pci/devices", "sys/bus/pci/devices/0000:02:00.0",
                               "sys/bus/pci/devices/0000:03:00.0", "sys/bus/pci/devices/0000:04:00.0", NULL };
        for (size_t i = 0; dirs[i]; i++) {
                snprintf(path, sizeof path, "%s/%s", root, dirs[i]);
                assert_int_equal(mkdir(path, 0755), 0);
        }
        static uint8_t rom[32 * 512];
        size_t n = rom_image(rom, 0x10de, 0x2684, 0, true, 32);
        snprintf(path, sizeof path, "%s/sys/bus/pci/devices/0000:02:00.0/rom", root);
        FILE *f = fopen(path, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(rom, 1, n, f), n);
        fclose(f);
        snprintf(path, sizeof path, "%s/sys/bus/pci/devices/0000:03:00.0/rom", root);
        f = fopen(path, "wb");
        fclose(f);
        struct pv_host *h = NULL;
        assert_int_equal(pv_host_open(root, NULL, &h, NULL), 0);
        struct pv_pci_addr a;
        uint8_t *buf = NULL;
        size_t len = 0;
        assert_int_equal(pv_pci_addr_parse("0000:02:00.0", &a, NULL), 0);
        assert_int_equal(pv_rom_read(h, &a, &buf, &len, NULL), 0);
        assert_int_equal(len, n);
        assert_memory_equal(buf, rom, n);
        free(buf);
        struct pv_error e = PV_ERROR_INIT;
        assert_int_equal(pv_pci_addr_parse("0000:03:00.0", &a, NULL), 0);
        assert_int_equal(pv_rom_read(h, &a, &buf, &len, &e), -PV_EIO);
        assert_non_null(strstr(pv_error_message(&e), "boot display"));
        pv_error_done(&e);
        assert_int_equal(pv_pci_addr_parse("0000:04:00.0", &a, NULL), 0);
        assert_int_equal(pv_rom_read(h, &a, &buf, &len, &e), -PV_ENOTFOUND);
        assert_non_null(strstr(pv_error_message(&e), "has no ROM BAR"));
        pv_error_done(&e);
        assert_int_equal(pv_pci_addr_parse("0000:05:00.0", &a, NULL), 0);
        assert_int_equal(pv_rom_read(h, &a, &buf, &len, &e), -PV_ENOTFOUND);
        assert_non_null(strstr(pv_error_message(&e), "no PCI device 0000:05:00.0"));
        pv_error_done(&e);

        /* the host plan warns for a bios: ovmf VM whose GPU ROM has no EFI image, not for seabios */
        struct pv_diags d = { 0 };
        struct pv_profile *p = load("version: 1\n"
                                    "vms:\n"
                                    "  - {name: uefi, node: n1, bios: ovmf, pci: [{address: 0000:02:00}]}\n"
                                    "  - {name: legacy, node: n1, bios: seabios, pci: [{address: 0000:02:00.0}]}\n"
                                    "  - {name: shadowed, node: n1, bios: ovmf, pci: [{address: 0000:03:00.0}]}\n",
                                    &d, 0);
        struct pv_host_dev devs[2] = { 0 };
        const char *names[] = { "0000:02:00.0", "0000:03:00.0" };
        for (int i = 0; i < 2; i++) {
                assert_int_equal(pv_pci_addr_parse(names[i], &devs[i].addr, NULL), 0);
                strcpy(devs[i].name, names[i]);
                devs[i].class_code = 0x030000;
                devs[i].numa_node = -1;
        }
        struct pv_host_state s = { .devs = devs, .n_devs = 2 };
        struct pv_host_extras x;
        assert_int_equal(pv_host_extras_load(h, p, "n1", &s, &x, NULL), 0);
        assert_int_equal(x.devs[0].rom_efi, 0);
        assert_int_equal(x.devs[1].rom_efi, -1); /* unreadable: no warning, rom check explains */
        struct pv_plan plan = { 0 };
        assert_int_equal(pv_host_extras_plan(p, "n1", &s, &x, &plan, NULL), 0);
        assert_int_equal(plan.n_warnings, 1);
        assert_non_null(strstr(plan.warnings[0], "n1: vm 'uefi' boots with bios: ovmf, but the ROM of its GPU "
                                                 "0000:02:00.0 has no EFI image"));
        assert_non_null(strstr(plan.warnings[0], "set romfile to a UEFI-capable ROM image"));
        pv_plan_done(&plan);
        pv_host_extras_done(&x);
        pv_profile_free(p);
        pv_diags_done(&d);
        pv_host_close(h);
        for (int i = 0; i < 2; i++) {
                snprintf(path, sizeof path, "%s/sys/bus/pci/devices/%s/rom", root, names[i]);
                unlink(path);
        }
        for (size_t i = 7; i-- > 0;) {
                snprintf(path, sizeof path, "%s/%s", root, dirs[i]);
                rmdir(path);
        }
        rmdir(root);
}

/* --------------------------------------------------------- vendor-reset */

static void test_vendor_reset(void **state) {
        (void)state;
        assert_string_equal(pv_vendor_reset_family(0x1002, 0x731f), "Navi 10");
        assert_string_equal(pv_vendor_reset_family(0x1002, 0x67df), "Polaris 10");
        assert_string_equal(pv_vendor_reset_family(0x1002, 0x687f), "Vega 10");
        assert_string_equal(pv_vendor_reset_family(0x1002, 0x7340), "Navi 14");
        assert_null(pv_vendor_reset_family(0x1002, 0x73df)); /* Navi 22 resets fine */
        assert_null(pv_vendor_reset_family(0x10de, 0x731f));

        char root[] = "/tmp/pvfio-vr-XXXXXX";
        assert_non_null(mkdtemp(root));
        struct pv_host *h = NULL;
        assert_int_equal(pv_host_open(root, NULL, &h, NULL), 0);
        struct pv_host_dev devs[2] = { 0 };
        const char *names[] = { "0000:0b:00.0", "0000:0b:00.1" };
        const uint16_t ids[] = { 0x731f, 0xab38 };
        for (int i = 0; i < 2; i++) {
                assert_int_equal(pv_pci_addr_parse(names[i], &devs[i].addr, NULL), 0);
                strcpy(devs[i].name, names[i]);
                devs[i].vendor = 0x1002;
                devs[i].device = ids[i];
                devs[i].class_code = i ? 0x040300 : 0x030000;
                devs[i].numa_node = -1;
        }
        devs[0].has_reset_method = true;
        assert_int_equal(pv_strv_push(&devs[0].reset_methods, "bus", NULL), 0);
        struct pv_host_state s = { .devs = devs, .n_devs = 2, .kernel_release = (char *)"6.8.12-4-pve",
                                   .kver = { 6, 8, 12 } };
        struct pv_diags d = { 0 };
        struct pv_profile *p = load("version: 1\nhosts:\n  - nodes: n1\n  - nodes: n2\n    vendor_reset: true\n",
                                    &d, 0);
        struct pv_host_extras x = { 0 };
        struct pv_plan plan = { 0 };
        /* without vendor_reset: a warning naming the GPU and the fix, no files */
        assert_int_equal(pv_host_extras_plan(p, "n1", &s, &x, &plan, NULL), 0);
        assert_int_equal(plan.n, 0);
        assert_int_equal(plan.n_warnings, 1);
        assert_non_null(strstr(plan.warnings[0], "n1: 0000:0b:00.0 (Navi 10) has the AMD reset bug"));
        assert_non_null(strstr(plan.warnings[0], "'vendor_reset: true'"));
        pv_plan_done(&plan);
        /* with it: modules-load.d and the udev rule (kernel ≥ 5.15); not installed → warning */
        memset(&plan, 0, sizeof plan);
        assert_int_equal(pv_host_extras_plan(p, "n2", &s, &x, &plan, NULL), 0);
        assert_int_equal(plan.n, 2);
        assert_string_equal(plan.actions[0].target, "etc/modules-load.d/pvfio-vendor-reset.conf");
        assert_non_null(strstr(plan.actions[0].after, "\nvendor-reset\n"));
        assert_true(plan.actions[0].needs_reboot);
        assert_string_equal(plan.actions[1].target, "etc/udev/rules.d/61-pvfio-vendor-reset.rules");
        assert_non_null(strstr(plan.actions[1].after,
                               "ACTION==\"add\", SUBSYSTEM==\"pci\", ATTR{vendor}==\"0x1002\", "
                               "ATTR{device}==\"0x731f\", ATTR{reset_method}=\"device_specific\"\n"));
        assert_null(strstr(plan.actions[1].after, "ab38")); /* the audio function resets fine */
        assert_int_equal(plan.n_warnings, 1);
        assert_non_null(strstr(plan.warnings[0], "the vendor-reset module is not installed for kernel 6.8.12-4-pve"));
        pv_plan_done(&plan);
        /* kernel before 5.15: no reset_method, only the module */
        s.kver = (struct pv_kver){ 5, 13, 0 };
        x.vr_installed = true;
        memset(&plan, 0, sizeof plan);
        assert_int_equal(pv_host_extras_plan(p, "n2", &s, &x, &plan, NULL), 0);
        assert_int_equal(plan.n, 1);
        assert_int_equal(plan.n_warnings, 0);
        pv_plan_done(&plan);
        s.kver = (struct pv_kver){ 6, 8, 12 };

        /* host check --device: installed? loaded? device_specific? */
        struct pv_check_list l = PV_CHECK_LIST_INIT;
        struct pv_pci_addr slot;
        assert_int_equal(pv_pci_addr_parse("0000:0b:00", &slot, NULL), 0);
        assert_int_equal(pv_host_check_vendor_reset(h, &s, &slot, 1, &l, NULL), 0);
        assert_int_equal(l.n, 1);
        assert_string_equal(l.v[0].id, "vendor-reset:0000:0b:00.0");
        assert_int_equal(l.v[0].status, PV_CHECK_WARN);
        assert_non_null(strstr(l.v[0].evidence, "vendor-reset is not installed; reset_method: bus (not device_specific)"));
        char path[512];
        const char *dirs[] = { "lib", "lib/modules", "lib/modules/6.8.12-4-pve", "lib/modules/6.8.12-4-pve/updates",
                               "lib/modules/6.8.12-4-pve/updates/dkms", NULL };
        for (size_t i = 0; dirs[i]; i++) {
                snprintf(path, sizeof path, "%s/%s", root, dirs[i]);
                assert_int_equal(mkdir(path, 0755), 0);
        }
        snprintf(path, sizeof path, "%s/lib/modules/6.8.12-4-pve/updates/dkms/vendor-reset.ko", root);
        FILE *f = fopen(path, "w");
        fclose(f);
        assert_int_equal(pv_host_check_vendor_reset(h, &s, &slot, 1, &l, NULL), 0);
        assert_int_equal(l.v[1].status, PV_CHECK_WARN);
        assert_non_null(strstr(l.v[1].evidence, "is installed, not loaded"));
        assert_int_equal(pv_strv_push(&s.modules, "vendor_reset", NULL), 0);
        free(devs[0].reset_methods.v[0]);
        devs[0].reset_methods.v[0] = strdup("device_specific");
        assert_int_equal(pv_host_check_vendor_reset(h, &s, &slot, 1, &l, NULL), 0);
        assert_int_equal(l.v[2].status, PV_CHECK_PASS);
        pv_check_list_done(&l);
        pv_strv_done(&s.modules);
        pv_strv_done(&devs[0].reset_methods);
        unlink(path);
        for (size_t i = 5; i-- > 0;) {
                snprintf(path, sizeof path, "%s/%s", root, dirs[i]);
                rmdir(path);
        }
        rmdir(root);
        pv_host_close(h);
        pv_profile_free(p);
        pv_diags_done(&d);
}

/* ----------------------------------------------------------- host side */

static void test_numa_warning(void **state) {
        (void)state;
        struct pv_diags d = { 0 };
        struct pv_profile *p = load("version: 1\n"
                                    "mappings:\n"
                                    "  - id: gpu1\n"
                                    "    map: [{node: pve1, path: 0000:41:00}]\n"
                                    "vms:\n"
                                    "  - name: far\n"
                                    "    node: pve1\n"
                                    "    affinity: 0-7\n"
                                    "    pci: [{address: 0000:01:00}, {mapping: gpu1}]\n"
                                    "  - name: near\n"
                                    "    node: pve1\n"
                                    "    affinity: 16-23\n"
                                    "    pci: [{mapping: gpu1}]\n"
                                    "  - name: other-node\n"
                                    "    node: pve2\n"
                                    "    affinity: 0-7\n"
                                    "    pci: [{address: 0000:41:00.0}]\n",
                                    &d, 0);
        struct pv_host_dev devs[3] = { 0 };
        const char *names[] = { "0000:01:00.0", "0000:41:00.0", "0000:41:00.1" };
        const uint32_t cls[] = { 0x030000, 0x030000, 0x040300 };
        for (int i = 0; i < 3; i++) {
                assert_int_equal(pv_pci_addr_parse(names[i], &devs[i].addr, NULL), 0);
                strcpy(devs[i].name, names[i]);
                devs[i].class_code = cls[i];
                devs[i].numa_node = i == 0 ? 0 : 1;
        }
        struct pv_host_state s = { .devs = devs, .n_devs = 3 };
        struct pv_host_extra_dev xd[3] = {
                { devs[0].addr, (char *)"0-15", -2 }, { devs[1].addr, (char *)"16-31", -2 }, { devs[2].addr, (char *)"16-31", -2 }
        };
        struct pv_host_extras x = { .devs = xd, .n_devs = 3 };
        struct pv_plan plan = { 0 };
        assert_int_equal(pv_host_extras_plan(p, "pve1", &s, &x, &plan, NULL), 0);
        assert_int_equal(plan.n, 0);
        /* one warning: far's mapped GPU (41:00.0; not its audio function, not the GPU on node 0) */
        assert_int_equal(plan.n_warnings, 1);
        assert_string_equal(plan.warnings[0],
                            "pve1: vm 'far' has affinity 0-7, but 8 of those CPUs are outside NUMA node 1 of its GPU "
                            "0000:41:00.0 (local CPUs 16-31): every DMA and interrupt crosses nodes; pin the VM to CPUs "
                            "within 16-31 (affinity) and enable numa");
        pv_plan_done(&plan);
        pv_profile_free(p);
        pv_diags_done(&d);
}

/* The loader reads local_cpulist under the root for the devices the node's VMs use. */
static void test_numa_load(void **state) {
        (void)state;
        char root[] = "/tmp/pvfio-extras-XXXXXX";
        assert_non_null(mkdtemp(root));
        char path[512];
        const char *dirs[] = { "sys", "sys/bus", "sys/bus/pci", "sys/bus/pci/devices",
                               "sys/bus/pci/devices/0000:41:00.0", NULL };
        for (size_t i = 0; dirs[i]; i++) {
                snprintf(path, sizeof path, "%s/%s", root, dirs[i]);
                assert_int_equal(mkdir(path, 0755), 0);
        }
        snprintf(path, sizeof path, "%s/sys/bus/pci/devices/0000:41:00.0/local_cpulist", root);
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fputs("16-31\n", f);
        fclose(f);
        struct pv_diags d = { 0 };
        struct pv_profile *p = load("version: 1\nvms:\n  - name: a\n    node: pve1\n    affinity: 0-3\n"
                                    "    pci: [{address: 0000:41:00}, {address: 0000:42:00.0}]\n",
                                    &d, 0);
        struct pv_host_dev devs[3] = { 0 };
        const char *names[] = { "0000:41:00.0", "0000:41:00.1", "0000:42:00.0" };
        for (int i = 0; i < 3; i++) {
                assert_int_equal(pv_pci_addr_parse(names[i], &devs[i].addr, NULL), 0);
                strcpy(devs[i].name, names[i]);
        }
        struct pv_host_state s = { .devs = devs, .n_devs = 3 };
        struct pv_host *h = NULL;
        assert_int_equal(pv_host_open(root, NULL, &h, NULL), 0);
        struct pv_host_extras x;
        assert_int_equal(pv_host_extras_load(h, p, "pve1", &s, &x, NULL), 0);
        assert_int_equal(x.n_devs, 3);
        assert_string_equal(x.devs[0].local_cpulist, "16-31");
        assert_null(x.devs[1].local_cpulist); /* no file: unknown, not an error */
        assert_null(x.devs[2].local_cpulist);
        pv_host_extras_done(&x);
        assert_int_equal(pv_host_extras_load(h, p, "pve2", &s, &x, NULL), 0);
        assert_int_equal(x.n_devs, 0);
        pv_host_extras_done(&x);
        pv_host_close(h);
        unlink(path);
        for (size_t i = 5; i-- > 0;) {
                snprintf(path, sizeof path, "%s/%s", root, dirs[i]);
                rmdir(path);
        }
        rmdir(root);
        pv_profile_free(p);
        pv_diags_done(&d);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_numa_warning),
                cmocka_unit_test(test_numa_load),
                cmocka_unit_test(test_hugepages),
                cmocka_unit_test(test_rom_parse),
                cmocka_unit_test(test_rom_read_and_ovmf_warning),
                cmocka_unit_test(test_vendor_reset),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
