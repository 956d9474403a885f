/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for the VM/mapping planner: key translation and comparison, version
 * gates (and their documentation), the tag style, and every example profile
 * planned against synthesized hardware. Fixtures: vmplan_fixture.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "pvfio/hostpci.h"
#include "pvfio/vmplan.h"
#include "vmplan_fixture.h"

static void test_value_equal(void **state) {
        (void)state;
        assert_true(pv_vmconfig_value_equal("cores", NULL, "1"));
        assert_false(pv_vmconfig_value_equal("cores", NULL, "2"));
        assert_true(pv_vmconfig_value_equal("onboot", "1", "true"));
        assert_true(pv_vmconfig_value_equal("numa", NULL, "0"));
        assert_true(pv_vmconfig_value_equal("vga", NULL, "std"));
        assert_true(pv_vmconfig_value_equal("ostype", NULL, "other"));
        assert_true(pv_vmconfig_value_equal("bios", "seabios", NULL));
        assert_false(pv_vmconfig_value_equal("balloon", NULL, "0")); /* 0 disables ballooning: not the default */
        assert_true(pv_vmconfig_value_equal("memory", "4096", "current=4096"));
        assert_true(pv_vmconfig_value_equal("memory", NULL, "512"));
        assert_true(pv_vmconfig_value_equal("machine", NULL, "pc"));
        assert_true(pv_vmconfig_value_equal("machine", NULL, "pc-i440fx-9.0"));
        assert_true(pv_vmconfig_value_equal("machine", "q35", "pc-q35-9.0+pve1"));
        assert_false(pv_vmconfig_value_equal("machine", "pc-q35-9.0+pve1", "q35"));
        assert_false(pv_vmconfig_value_equal("machine", "q35", "pc"));
        assert_true(pv_vmconfig_value_equal("cpu", NULL, "kvm64"));
        assert_false(pv_vmconfig_value_equal("cpu", "host", "host,hv-vendor-id=proxmox"));
        assert_true(pv_vmconfig_value_equal("net3", "virtio,bridge=vmbr0", "virtio=BC:24:11:12:34:56,bridge=vmbr0"));
        assert_true(pv_vmconfig_value_equal("net3", "virtio,bridge=vmbr0", "model=virtio,macaddr=BC:24:11:12:34:56,bridge=vmbr0,firewall=0"));
        assert_false(pv_vmconfig_value_equal("net3", "virtio=BC:24:11:12:34:57,bridge=vmbr0", "virtio=BC:24:11:12:34:56,bridge=vmbr0"));
        assert_false(pv_vmconfig_value_equal("net3", "virtio,bridge=vmbr0", "virtio=BC:24:11:12:34:56,bridge=vmbr0,mtu=9000"));
        assert_true(pv_vmconfig_value_equal("tags", "a;b;pvfio", "pvfio b a"));
        assert_false(pv_vmconfig_value_equal("tags", "a;pvfio", "a;b;pvfio"));
        assert_true(pv_vmconfig_value_equal("hostpci3", "0000:01:00.0", "01:00.0,rombar=on"));
        assert_true(pv_vmconfig_value_equal("hookscript", "x", "x"));
        assert_false(pv_vmconfig_value_equal("hookscript", NULL, "x"));
        assert_true(pv_vmconfig_key_cmp("hostpci2", "hostpci10") < 0);
        assert_true(pv_vmconfig_key_cmp("hostpci10", "hostpci2") > 0);
        assert_true(pv_vmconfig_key_cmp("net0", "numa") < 0);
        assert_int_equal(pv_vmconfig_key_cmp("scsi0", "scsi0"), 0);
        assert_true(pv_vmconfig_key_hotpluggable("net5"));
        assert_false(pv_vmconfig_key_hotpluggable("hostpci0"));
        assert_false(pv_vmconfig_key_hotpluggable("sata0"));
}

static void test_translate_details(void **state) {
        (void)state;
        struct pv_vm vm;
        vm_init(&vm, "t", "pve1");
        struct pv_disk disks[3] = {
                { .bus = PV_BUS_SCSI, .index = 1, .storage = (char *)"fast", .size_bytes = 512ull << 20 },
                { .bus = PV_BUS_SCSI, .index = -1, .storage = (char *)"fast", .size_bytes = (3ull << 30) / 2 },
                { .bus = PV_BUS_VIRTIO, .index = -1, .storage = (char *)"slow", .size_bytes = 1ull << 40 },
        };
        struct pv_net nets[2] = {
                { .index = 3, .model = (char *)"e1000", .bridge = (char *)"vmbr1", .vlan = -1, .firewall = -1,
                  .macaddr = (char *)"bc:24:11:aa:bb:cc" },
                { .index = -1, .bridge = (char *)"vmbr0", .vlan = -1, .firewall = 0 },
        };
        vm.disks = disks;
        vm.n_disks = 3;
        vm.nets = nets;
        vm.n_nets = 2;
        vm.cpu_flags = (struct pv_strv){ (char *[]){ (char *)"+aes", NULL }, 1, 2 };
        struct pv_vm_xlate_ctx ctx = { 0 };
        struct pv_vm_desired d;
        assert_int_equal(pv_vm_translate(&vm, &ctx, &d, NULL), 0);
        assert_string_equal(pv_vm_desired_get(&d, "scsi1"), "fast:0.5");
        assert_string_equal(pv_vm_desired_get(&d, "scsi0"), "fast:1.5");
        assert_string_equal(pv_vm_desired_get(&d, "virtio0"), "slow:1024");
        assert_string_equal(pv_vm_desired_get(&d, "net3"), "e1000=BC:24:11:AA:BB:CC,bridge=vmbr1");
        assert_string_equal(pv_vm_desired_get(&d, "net0"), "virtio,bridge=vmbr0");
        assert_string_equal(pv_vm_desired_get(&d, "cpu"), "flags=+aes");
        assert_string_equal(pv_vm_desired_get(&d, "tags"), "pvfio");
        assert_null(pv_vm_desired_get(&d, "machine"));
        assert_null(pv_vm_desired_get(&d, "balloon"));
        assert_null(d.blocked);
        for (size_t i = 1; i < d.n; i++)
                assert_true(pv_vmconfig_key_cmp(d.kv[i - 1].key, d.kv[i].key) < 0);
        pv_vm_desired_done(&d);
        /* carried sub-keys of an observed net / cpu / vga */
        struct pv_vm_config cur = { 0 };
        struct pv_kv kv[] = {
                { (char *)"cpu", (char *)"kvm64,hv-vendor-id=proxmox,flags=+pcid" },
                { (char *)"net0", (char *)"virtio=BC:24:11:00:00:01,bridge=vmbr9,queues=4,mtu=9000,link_down=1" },
                { (char *)"vga", (char *)"qxl,memory=64" },
        };
        cur.kv = kv;
        cur.n = 3;
        ctx.current = &cur;
        vm.cpu_type = (char *)"host";
        vm.vga = (char *)"virtio";
        assert_int_equal(pv_vm_translate(&vm, &ctx, &d, NULL), 0);
        assert_string_equal(pv_vm_desired_get(&d, "cpu"), "host,flags=+aes,hv-vendor-id=proxmox");
        assert_string_equal(pv_vm_desired_get(&d, "net0"), "virtio=BC:24:11:00:00:01,bridge=vmbr0,link_down=1,mtu=9000,queues=4");
        assert_string_equal(pv_vm_desired_get(&d, "vga"), "virtio,memory=64");
        pv_vm_desired_done(&d);
        /* slot clash and too many devices are blocked, not crashed on */
        struct pv_pcidev pci[2] = { pci_mapping("a1"), pci_mapping("b1") };
        pci[0].slot = pci[1].slot = 3;
        vm.pci = pci;
        vm.n_pci = 2;
        ctx.current = NULL;
        assert_int_equal(pv_vm_translate(&vm, &ctx, &d, NULL), 0);
        assert_non_null(strstr(d.blocked, "pci slot 3 is used twice"));
        pv_vm_desired_done(&d);
        pv_vm_desired_done(NULL);
        pv_claims_free(NULL);
}


/* ------------------------------------------------ example profiles (parser) */

static size_t hw_for(struct pv_observed *o, const char *node) {
        for (size_t i = 0; i < o->n_hw; i++)
                if (strcmp(o->hw[i].node, node) == 0)
                        return i;
        bool known = false;
        for (size_t i = 0; i < o->n_nodes; i++)
                known |= strcmp(o->nodes[i].node, node) == 0;
        if (!known)
                add_node(o, node, "online");
        return add_hw(o, node);
}

/* Add a device (every function 0-1 for a whole slot) unless present. */
static void synth_dev(struct pv_observed *o, size_t h, struct pv_pci_addr a, bool mdev, const char *physfn,
                      const struct pv_map_entry *pin) {
        static int group = 10;
        int last = a.func == PV_PCI_FUNC_ALL ? 1 : a.func;
        for (int f = a.func == PV_PCI_FUNC_ALL ? 0 : a.func; f <= last; f++) {
                struct pv_pci_addr x = a;
                x.func = (uint8_t)f;
                x.domain_given = true;
                if (pv_node_hw_find(&o->hw[h], &x))
                        continue;
                char s[PV_PCI_ADDR_MAX];
                pv_pci_addr_format(&x, s);
                char id[10] = "10de:2204", sub[10] = "1458:403b";
                if (f)
                        strcpy(id, "10de:228b");
                if (pin && pin->has_id)
                        pv_pci_id_format(&pin->id, id);
                if (pin && pin->has_subsystem_id)
                        pv_pci_id_format(&pin->subsystem_id, sub);
                hw_dev(o, h, s, id, sub, pin && pin->has_iommugroup ? pin->iommugroup : group++, mdev, physfn);
        }
}

static void synth_mdev(struct pv_observed *o, size_t h, struct pv_pci_addr a, const char *type) {
        char s[PV_PCI_ADDR_MAX];
        a.func = a.func == PV_PCI_FUNC_ALL ? 0 : a.func;
        pv_pci_addr_format(&a, s);
        const struct pv_node_mdev *m = pv_node_hw_mdev(&o->hw[h], &a);
        for (size_t i = 0; m && i < m->n_types; i++)
                if (strcmp(m->types[i].type, type) == 0)
                        return;
        hw_mdev(o, h, s, type, 8);
}

/* Hardware matching what the profile asks for, so a correct plan has nothing blocked. */
static void synth_hardware(struct pv_observed *o, const struct pv_profile *p) {
        for (size_t i = 0; i < p->n_mappings; i++)
                for (size_t k = 0; k < p->mappings[i].n_map; k++) {
                        const struct pv_map_entry *e = &p->mappings[i].map[k];
                        size_t h = hw_for(o, e->node);
                        for (size_t j = 0; j < e->n_paths; j++)
                                synth_dev(o, h, e->paths[j], p->mappings[i].mdev, NULL, e);
                }
        for (size_t i = 0; i < p->n_vms; i++) {
                const struct pv_vm *vm = &p->vms[i];
                size_t h = hw_for(o, vm->node);
                for (size_t k = 0; k < vm->n_pci; k++) {
                        const struct pv_pcidev *d = &vm->pci[k];
                        if (d->kind == PV_PCIDEV_RAW)
                                for (size_t j = 0; j < d->n_addrs; j++) {
                                        synth_dev(o, h, d->addrs[j], d->mdev != NULL, NULL, NULL);
                                        if (d->mdev)
                                                synth_mdev(o, h, d->addrs[j], d->mdev);
                                }
                        if (d->kind == PV_PCIDEV_VF_POOL) {
                                char pf[PV_PCI_ADDR_MAX];
                                pv_pci_addr_format(&d->vf_pf, pf);
                                synth_dev(o, h, d->vf_pf, false, NULL, NULL);
                                for (int f = 0; f <= 7; f++) {
                                        /* VFs live in their own slot, as on real cards (03:00.0 → 03:02.x) */
                                        struct pv_pci_addr vf = d->vf_pf;
                                        vf.dev = (uint8_t)(d->vf_pf.dev + 2 + d->vf_pf.func);
                                        vf.func = (uint8_t)f;
                                        synth_dev(o, h, vf, d->mdev != NULL, pf, NULL);
                                        if (d->mdev)
                                                synth_mdev(o, h, vf, d->mdev);
                                }
                        }
                        if (d->kind == PV_PCIDEV_MAPPING && d->mdev)
                                for (size_t m = 0; m < p->n_mappings; m++) {
                                        if (strcmp(p->mappings[m].id, d->mapping) != 0)
                                                continue;
                                        for (size_t e = 0; e < p->mappings[m].n_map; e++)
                                                if (strcmp(p->mappings[m].map[e].node, vm->node) == 0 &&
                                                    p->mappings[m].map[e].n_paths == 1)
                                                        synth_mdev(o, hw_for(o, vm->node), p->mappings[m].map[e].paths[0],
                                                                   d->mdev);
                                }
                }
        }
}

static void test_example_profiles(void **state) {
        (void)state;
        static const char *const files[] = {
                "ai-multi-gpu.yaml",     "host-only-amd-gpu.yaml", "igpu-gvtg-vdi.yaml", "laptop-single-gpu.yaml",
                "nvidia-sriov-vgpu.yaml", "sriov-nic-vfs.yaml",    "two-node-mapping.yaml",
        };
        const char *src = getenv("PVFIO_SOURCE_DIR");
        if (!src)
                src = PVFIO_SOURCE_DIR;
        for (size_t f = 0; f < sizeof files / sizeof *files; f++) {
                char *path = NULL, *buf = NULL;
                size_t len = 0;
                assert_true(asprintf(&path, "%s/profiles/examples/%s", src, files[f]) > 0);
                FILE *fp = fopen(path, "r");
                if (!fp)
                        fail_msg("cannot open %s", path);
                char chunk[4096];
                size_t n;
                FILE *mem = open_memstream(&buf, &len);
                while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0)
                        fwrite(chunk, 1, n, mem);
                fclose(mem);
                fclose(fp);
                struct pv_profile *prof = NULL;
                struct pv_diags diags = { 0 };
                struct pv_error e = PV_ERROR_INIT;
                if (pv_profile_parse_mem(buf, len, path, &prof, &diags, &e) < 0) {
                        for (size_t i = 0; i < diags.n; i++)
                                fprintf(stderr, "%s:%u:%u: %s\n", files[f], diags.v[i].line, diags.v[i].col, diags.v[i].message);
                        fail_msg("%s does not parse: %s", files[f], pv_error_message(&e));
                }
                struct pv_observed o = { 0 };
                synth_hardware(&o, prof);
                struct pv_plan p = build(prof, &o, NULL);
                char *d = dump(&p);
                for (size_t i = 0; i < p.n; i++)
                        if (p.actions[i].blocked)
                                fail_msg("%s: blocked action:\n%s", files[f], d);
                size_t creates = 0;
                for (size_t i = 0; i < prof->n_vms; i++)
                        creates += prof->vms[i].state != PV_STATE_ABSENT;
                assert_int_equal(count_kind(&p, PV_ACT_CREATE_VM), creates);
                assert_int_equal(count_kind(&p, PV_ACT_CREATE_MAPPING), prof->n_mappings);
                uint32_t next = 900;
                sim_apply(&o, &p, &next);
                pv_plan_done(&p);
                free(d);
                /* the second run has nothing to do */
                p = build(prof, &o, NULL);
                if (p.n || p.n_drift)
                        fail_msg("%s: second plan is not empty:\n%s", files[f], dump(&p));
                pv_plan_done(&p);
                pv_observed_done(&o);
                pv_profile_free(prof);
                pv_diags_done(&diags);
                free(buf);
                free(path);
        }
}

static void set_version(struct pv_observed *o, const char *node, const char *pve, const char *qs) {
        o->versions = realloc(o->versions, (o->n_versions + 1) * sizeof *o->versions);
        o->versions[o->n_versions++] = (struct pv_node_version){ .node = S(node), .pve = S(pve), .qemu_server = S(qs) };
}

/* A key an older node refuses is blocked at plan time, naming node, version and key. */
static void test_version_gates(void **state) {
        (void)state;
        struct ws w;
        ws_setup(&w);
        w.pci[1].driver = PV_DRIVER_KEEP;
        /* versions not read: not checked */
        struct pv_plan p = build(&w.p, &w.o, NULL);
        assert_null(find_act(&p, PV_ACT_CREATE_VM, NULL)->blocked);
        pv_plan_done(&p);
        /* Proxmox VE 8.4 refuses hostpciN driver (qemu-server < 9.0.25) */
        set_version(&w.o, "pve1", "8.4.1", "8.4.10");
        p = build(&w.p, &w.o, NULL);
        const char *why = find_act(&p, PV_ACT_CREATE_VM, NULL)->blocked;
        assert_non_null(why);
        assert_non_null(strstr(why, "hostpci1: 'driver=keep' needs Proxmox VE 9.1 (qemu-server 9.0.25) or newer, but node 'pve1' runs Proxmox VE 8.4.1 (qemu-server 8.4.10)"));
        assert_non_null(strstr(why, "hostpci0.driver: property is not defined in schema"));
        assert_null(strstr(why, "mapping=")); /* mappings exist since 8.0 */
        assert_non_null(find_act(&p, PV_ACT_START_VM, NULL)->blocked);
        assert_null(find_act(&p, PV_ACT_CREATE_MAPPING, NULL)->blocked);
        pv_plan_done(&p);
        /* qemu-server decides when it was read; else the release */
        free(w.o.versions[0].pve);
        w.o.versions[0].pve = S("9.1.2");
        free(w.o.versions[0].qemu_server);
        w.o.versions[0].qemu_server = S("9.0.24");
        p = build(&w.p, &w.o, NULL);
        assert_non_null(strstr(find_act(&p, PV_ACT_CREATE_VM, NULL)->blocked, "runs Proxmox VE 9.1.2 (qemu-server 9.0.24)"));
        pv_plan_done(&p);
        free(w.o.versions[0].qemu_server);
        w.o.versions[0].qemu_server = NULL; /* apt/versions not permitted */
        p = build(&w.p, &w.o, NULL);
        assert_null(find_act(&p, PV_ACT_CREATE_VM, NULL)->blocked);
        pv_plan_done(&p);
        free(w.o.versions[0].pve);
        w.o.versions[0].pve = S("9.0.11");
        p = build(&w.p, &w.o, NULL);
        assert_non_null(strstr(find_act(&p, PV_ACT_CREATE_VM, NULL)->blocked,
                               "'driver=keep' needs Proxmox VE 9.1 (qemu-server 9.0.25) or newer, but node 'pve1' runs Proxmox VE 9.0.11"));
        pv_plan_done(&p);
        /* an existing VM whose driver=keep is already there: nothing is written, nothing refused */
        free(w.o.versions[0].pve);
        w.o.versions[0].pve = S("9.1.9");
        ws_converge(&w);
        free(w.o.versions[0].pve);
        w.o.versions[0].pve = S("8.4.1");
        p = build(&w.p, &w.o, NULL);
        expect_no_actions(&p);
        pv_plan_done(&p);
        /* affinity needs Proxmox VE 7.3 (qemu-server 7.2-7) */
        w.vm.affinity = (char *)"0-3";
        w.vm.name = "gpu-ws-3";
        free(w.o.versions[0].pve);
        w.o.versions[0].pve = S("7.2.14");
        p = build(&w.p, &w.o, NULL);
        assert_non_null(strstr(find_act(&p, PV_ACT_CREATE_VM, "vm gpu-ws-3")->blocked,
                               "affinity needs Proxmox VE 7.3 (qemu-server 7.2-7) or newer, but node 'pve1' runs Proxmox VE 7.2.14"));
        pv_plan_done(&p);
        w.vm.affinity = NULL;
        /* mappings: Proxmox VE 7 has none */
        free(w.o.versions[0].pve);
        w.o.versions[0].pve = S("7.4.17");
        w.pci[1].driver = PV_DRIVER_DEFAULT;
        w.vm.name = "gpu-ws-2";
        p = build(&w.p, &w.o, NULL);
        assert_non_null(strstr(find_act(&p, PV_ACT_CREATE_VM, "vm gpu-ws-2")->blocked,
                               "hostpci0: 'mapping=rtx3050' needs Proxmox VE 8.0 (qemu-server 8.0.4) or newer, but node 'pve1' runs Proxmox VE 7.4.17"));
        pv_plan_done(&p);
        struct pv_usbdev usb = { .mapping = (char *)"kbd", .usb3 = -1, .index = -1 };
        w.vm.usb = &usb;
        w.vm.n_usb = 1;
        p = build(&w.p, &w.o, NULL);
        assert_non_null(strstr(find_act(&p, PV_ACT_CREATE_VM, "vm gpu-ws-2")->blocked,
                               "usb0: 'mapping=kbd' needs Proxmox VE 8.0 (qemu-server 8.0.4) or newer, but node 'pve1' runs Proxmox VE 7.4.17"));
        pv_plan_done(&p);
        w.vm.usb = NULL;
        w.vm.n_usb = 0;
        pv_observed_done(&w.o);
}

static void test_version_gate_mapping_live_migration(void **state) {
        (void)state;
        struct ws w;
        ws_setup(&w);
        w.map.live_migration_capable = true;
        w.o.api_version = S("8.3.5");
        struct pv_plan p = build(&w.p, &w.o, NULL);
        const char *why = find_act(&p, PV_ACT_CREATE_MAPPING, NULL)->blocked;
        assert_non_null(why);
        assert_non_null(strstr(why, "live-migration-capable needs Proxmox VE 8.4 or newer, but the node answering the API runs Proxmox VE 8.3.5"));
        pv_plan_done(&p);
        free(w.o.api_version);
        w.o.api_version = S("8.4.0");
        set_version(&w.o, "pve1", "8.3.4", NULL);
        p = build(&w.p, &w.o, NULL);
        assert_non_null(strstr(find_act(&p, PV_ACT_CREATE_MAPPING, NULL)->blocked, "but node 'pve1' runs Proxmox VE 8.3.4"));
        pv_plan_done(&p);
        free(w.o.versions[0].pve);
        w.o.versions[0].pve = S("9.0.3");
        p = build(&w.p, &w.o, NULL);
        assert_null(find_act(&p, PV_ACT_CREATE_MAPPING, NULL)->blocked);
        pv_plan_done(&p);
        pv_observed_done(&w.o);
}

/* docs/profile.md lists every version-gated key with its minimum versions. */
static void test_version_gates_documented(void **state) {
        (void)state;
        const char *src = getenv("PVFIO_SOURCE_DIR");
        char path[4096];
        snprintf(path, sizeof path, "%s/docs/profile.md", src ? src : PVFIO_SOURCE_DIR);
        FILE *f = fopen(path, "r");
        assert_non_null(f);
        char *doc = calloc(1, 1 << 20);
        size_t n = fread(doc, 1, (1 << 20) - 1, f);
        fclose(f);
        assert_true(n > 0);
        const struct pv_version_gate *g;
        size_t ng = pv_version_gates(&g);
        assert_true(ng >= 3);
        for (size_t i = 0; i < ng; i++) {
                char row[256];
                snprintf(row, sizeof row, "| `%s` | %s | %s |", g[i].key, g[i].pve, g[i].qemu_server ? g[i].qemu_server : "–");
                if (!strstr(doc, row))
                        fail_msg("docs/profile.md has no row '%s'", row);
        }
        free(doc);
}

/* Tags compare as Proxmox stores them under the datacenter tag-style. */
static void test_tags_tag_style(void **state) {
        (void)state;
        struct ws w;
        ws_setup(&w);
        w.tags[0] = (char *)"Zeta";
        w.tags[1] = (char *)"GPU";
        struct pv_plan p = build(&w.p, &w.o, NULL);
        assert_string_equal(key_after(find_act(&p, PV_ACT_CREATE_VM, NULL), "tags"), "gpu;pvfio;zeta");
        pv_plan_done(&p);
        uint32_t vmid = ws_converge(&w);
        p = build(&w.p, &w.o, NULL);
        expect_no_actions(&p);
        pv_plan_done(&p);
        cfg_set(&w.o, vmid, "tags", "ZETA pvfio,Gpu");
        p = build(&w.p, &w.o, NULL);
        expect_no_actions(&p);
        pv_plan_done(&p);
        /* case-sensitive and ordering=config: the profile's spelling and order (management tag first) */
        w.o.tag_style = (struct pv_tag_style){ .case_sensitive = true, .ordering_config = true };
        p = build(&w.p, &w.o, NULL);
        const struct pv_action *u = find_act(&p, PV_ACT_UPDATE_VM, NULL);
        assert_non_null(u);
        assert_string_equal(key_after(u, "tags"), "pvfio;Zeta;GPU");
        pv_plan_done(&p);
        cfg_set(&w.o, vmid, "tags", "pvfio;Zeta;GPU");
        p = build(&w.p, &w.o, NULL);
        expect_no_actions(&p);
        pv_plan_done(&p);
        pv_observed_done(&w.o);
}

/* Proxmox's check-node results: drift only where the mapping has an entry or a profile VM uses it. */

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_value_equal),
                cmocka_unit_test(test_version_gates),
                cmocka_unit_test(test_version_gate_mapping_live_migration),
                cmocka_unit_test(test_version_gates_documented),
                cmocka_unit_test(test_tags_tag_style),
                cmocka_unit_test(test_translate_details),
                cmocka_unit_test(test_example_profiles),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
