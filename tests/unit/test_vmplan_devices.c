/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for the VM/mapping planner: VF pools, mediated devices and PCI resource
 * mappings (fill, digest, checks by node, missing devices, joined paths, prune).
 * Fixtures: vmplan_fixture.h.
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

static void vf_fixture(struct pv_observed *o) {
        add_node(o, "pve1", "online");
        size_t h = add_hw(o, "pve1");
        hw_dev(o, h, "0000:03:00.0", "8086:56c0", NULL, 20, false, NULL);
        for (int f = 1; f <= 4; f++) {
                char a[16];
                snprintf(a, sizeof a, "0000:03:00.%d", f);
                hw_dev(o, h, a, "8086:56c1", NULL, 20 + f, false, "0000:03:00.0");
        }
        add_vm(o, 200, "pve1", "other", "running", NULL);
        add_cfg(o, 200, "pve1");
        cfg_set(o, 200, "hostpci0", "0000:03:00.1,pcie=1");
}

static void test_vf_pool(void **state) {
        (void)state;
        struct pv_profile prof = { 0 };
        struct pv_vm vms[3];
        struct pv_pcidev pci[3];
        root_password(&prof);
        const char *names[] = { "vf-b", "vf-a", "vf-c" }; /* profile order is not plan order */
        for (int i = 0; i < 3; i++) {
                vm_init(&vms[i], names[i], "pve1");
                pci[i] = pci_vf("0000:03:00.0");
                vms[i].pci = &pci[i];
                vms[i].n_pci = 1;
        }
        prof.vms = vms;
        prof.n_vms = 2;
        struct pv_observed o = { 0 };
        vf_fixture(&o);
        struct pv_plan p = build(&prof, &o, NULL);
        assert_int_equal(count_kind(&p, PV_ACT_CREATE_VM), 2);
        const struct pv_action *a = find_act(&p, PV_ACT_CREATE_VM, "vm vf-a"), *b = find_act(&p, PV_ACT_CREATE_VM, "vm vf-b");
        assert_non_null(a);
        assert_non_null(b);
        assert_true(a < b); /* sorted by name */
        assert_string_equal(key_after(a, "hostpci0"), "0000:03:00.2"); /* .1 is used by vmid 200 */
        assert_string_equal(key_after(b, "hostpci0"), "0000:03:00.3"); /* not the one vf-a got */
        uint32_t next = 100;
        sim_apply(&o, &p, &next);
        pv_plan_done(&p);
        /* stable across re-plans, also with a new VM sorted before them */
        prof.n_vms = 3;
        p = build(&prof, &o, NULL);
        assert_int_equal(p.n, 1);
        assert_string_equal(key_after(find_act(&p, PV_ACT_CREATE_VM, "vm vf-c"), "hostpci0"), "0000:03:00.4");
        sim_apply(&o, &p, &next);
        pv_plan_done(&p);
        p = build(&prof, &o, NULL);
        expect_no_actions(&p);
        pv_plan_done(&p);
        /* a VM keeps the VF it has even when a lower one is free */
        cfg_set(&o, 200, "hostpci0", NULL);
        p = build(&prof, &o, NULL);
        expect_no_actions(&p);
        pv_plan_done(&p);
        /* pool exhausted: a fourth VM is blocked, with the reason */
        cfg_set(&o, 200, "hostpci0", "0000:03:00.1");
        struct pv_vm more[4];
        struct pv_pcidev mp;
        memcpy(more, vms, sizeof vms);
        vm_init(&more[3], "vf-d", "pve1");
        mp = pci_vf("0000:03:00.0");
        more[3].pci = &mp;
        more[3].n_pci = 1;
        prof.vms = more;
        prof.n_vms = 4;
        p = build(&prof, &o, NULL);
        assert_int_equal(p.n, 1);
        assert_non_null(p.actions[0].blocked);
        assert_non_null(strstr(p.actions[0].blocked, "all 4 VFs of 0000:03:00.0 on 'pve1' are used by other VMs"));
        pv_plan_done(&p);
        /* two running VMs on one raw device: warned (Proxmox starts only one) */
        struct pv_pci_addr gpu = A("0000:81:00");
        struct pv_pcidev r1 = pci_raw(&gpu, 1), r2 = pci_raw(&gpu, 1);
        struct pv_vm two[2];
        vm_init(&two[0], "x1", "pve1");
        vm_init(&two[1], "x2", "pve1");
        two[0].pci = &r1;
        two[1].pci = &r2;
        two[0].n_pci = two[1].n_pci = 1;
        two[0].state = two[1].state = PV_STATE_RUNNING;
        struct pv_profile pp = { 0 };
        root_password(&pp);
        pp.vms = two;
        pp.n_vms = 2;
        struct pv_plan pw = build(&pp, &o, NULL);
        assert_true(notes_have(pw.warnings, pw.n_warnings, "vms 'x1' and 'x2' both pass 0000:81:00 on 'pve1'"));
        pv_plan_done(&pw);
        two[1].state = PV_STATE_STOPPED;
        pw = build(&pp, &o, NULL);
        assert_false(notes_have(pw.warnings, pw.n_warnings, "both pass"));
        pv_plan_done(&pw);
        /* a PF without VFs */
        mp = pci_vf("0000:03:00.1");
        p = build(&prof, &o, NULL);
        assert_non_null(strstr(p.actions[0].blocked, "has no SR-IOV virtual functions"));
        pv_plan_done(&p);
        pv_observed_done(&o);
}

static void test_mdev(void **state) {
        (void)state;
        struct pv_profile prof = { 0 };
        struct pv_vm vms[2];
        struct pv_pcidev pci[2];
        struct pv_pci_addr igd = A("0000:00:02.0");
        root_password(&prof);
        const char *names[] = { "gvt-1", "gvt-2" };
        for (int i = 0; i < 2; i++) {
                vm_init(&vms[i], names[i], "pve1");
                pci[i] = pci_raw(&igd, 1);
                pci[i].mdev = (char *)"i915-GVTg_V5_4";
                vms[i].pci = &pci[i];
                vms[i].n_pci = 1;
        }
        prof.vms = vms;
        prof.n_vms = 2;
        struct pv_observed o = { 0 };
        size_t h = add_hw(&o, "pve1");
        hw_dev(&o, h, "0000:00:02.0", "8086:3e92", "1028:0a61", 0, true, NULL);
        hw_mdev(&o, h, "0000:00:02.0", "i915-GVTg_V5_8", 2);
        hw_mdev(&o, h, "0000:00:02.0", "i915-GVTg_V5_4", 1);
        struct pv_plan p = build(&prof, &o, NULL);
        const struct pv_action *a = find_act(&p, PV_ACT_CREATE_VM, "vm gvt-1"), *b = find_act(&p, PV_ACT_CREATE_VM, "vm gvt-2");
        assert_null(a->blocked);
        assert_string_equal(key_after(a, "hostpci0"), "0000:00:02.0,mdev=i915-GVTg_V5_4");
        assert_non_null(b->blocked); /* the only instance went to gvt-1 */
        assert_non_null(strstr(b->blocked, "no instance of mdev type 'i915-GVTg_V5_4' is free"));
        pv_plan_done(&p);
        /* gvt-1 exists, holds the instance (available now 0): no block, no action */
        prof.n_vms = 1;
        p = build(&prof, &o, NULL);
        uint32_t next = 100;
        sim_apply(&o, &p, &next);
        pv_plan_done(&p);
        o.hw[0].mdev[0].types[1].available = 0;
        p = build(&prof, &o, NULL);
        expect_no_actions(&p);
        pv_plan_done(&p);
        /* a type the device does not offer: blocked, naming what it offers */
        pci[0].mdev = (char *)"i915-GVTg_V5_1";
        p = build(&prof, &o, NULL);
        assert_int_equal(p.n, 1);
        assert_non_null(strstr(p.actions[0].blocked, "mdev type 'i915-GVTg_V5_1' is not offered by 0000:00:02.0 on 'pve1' (offered: 'i915-GVTg_V5_8', 'i915-GVTg_V5_4')"));
        pv_plan_done(&p);
        /* unknown availability (-1): not blocked, but said */
        pci[0].mdev = (char *)"i915-GVTg_V5_4";
        cfg_set(&o, 100, "hostpci0", NULL);
        o.hw[0].mdev[0].types[1].available = -1;
        p = build(&prof, &o, NULL);
        assert_int_equal(p.n, 1);
        assert_null(p.actions[0].blocked);
        assert_true(notes_have(p.warnings, p.n_warnings, "free instances of mdev type 'i915-GVTg_V5_4'"));
        pv_plan_done(&p);
        pv_observed_done(&o);

        /* NVIDIA vGPU on a VF pool: nvidia-NNN must be creatable on the chosen VF */
        struct pv_observed n = { 0 };
        h = add_hw(&n, "pve1");
        hw_dev(&n, h, "0000:41:00.0", "10de:27b8", NULL, 40, true, NULL);
        hw_dev(&n, h, "0000:41:00.4", "10de:27b8", NULL, 41, true, "0000:41:00.0");
        hw_dev(&n, h, "0000:41:00.5", "10de:27b8", NULL, 42, true, "0000:41:00.0");
        hw_mdev(&n, h, "0000:41:00.4", "nvidia-660", 0);   /* busy */
        hw_mdev(&n, h, "0000:41:00.5", "nvidia-660", 1);
        struct pv_vm v;
        struct pv_pcidev vp = pci_vf("0000:41:00.0");
        vp.mdev = (char *)"nvidia-660";
        vm_init(&v, "l4-vm", "pve1");
        v.pci = &vp;
        v.n_pci = 1;
        prof.vms = &v;
        prof.n_vms = 1;
        p = build(&prof, &n, NULL);
        assert_null(p.actions[0].blocked);
        assert_string_equal(key_after(&p.actions[0], "hostpci0"), "0000:41:00.5,mdev=nvidia-660");
        pv_plan_done(&p);
        vp.mdev = (char *)"nvidia-999";
        p = build(&prof, &n, NULL);
        assert_non_null(strstr(p.actions[0].blocked, "offers mdev type 'nvidia-999'"));
        pv_plan_done(&p);
        pv_observed_done(&n);
}

static void test_mapping_fill_digest_checks(void **state) {
        (void)state;
        struct ws w;
        ws_setup(&w);
        ws_converge(&w);
        struct pv_obs_mapping *m = &w.o.mappings[0];
        assert_string_equal(m->description, "RTX 3050 [pvfio]");
        struct pv_plan p = build(&w.p, &w.o, NULL);
        expect_no_actions(&p);
        pv_plan_done(&p);
        /* equivalent spelling of the stored entry: no change */
        free(m->map[0]);
        m->map[0] = S("iommugroup=15,id=10DE:2507,subsystem-id=1028:0A61,path=0000:01:00,node=pve1");
        p = build(&w.p, &w.o, NULL);
        expect_no_actions(&p);
        pv_plan_done(&p);
        /* hand-made entry without iommugroup/subsystem-id: update with digest; Proxmox's checks are drift */
        free(m->map[0]);
        m->map[0] = S("node=pve1,path=0000:01:00,id=10de:2507");
        free(m->digest);
        m->digest = S("abc123");
        mapping_add_check(m, "error", "missing expected property 'subsystem-id' for device '0000:01:00.0'");
        p = build(&w.p, &w.o, NULL);
        assert_int_equal(p.n, 1);
        const struct pv_action *u = &p.actions[0];
        assert_int_equal(u->kind, PV_ACT_UPDATE_MAPPING);
        assert_string_equal(u->digest, "abc123");
        assert_int_equal(u->n_keys, 1);
        assert_string_equal(u->keys[0].key, "map[0]");
        assert_string_equal(u->keys[0].before, "node=pve1,path=0000:01:00,id=10de:2507");
        assert_string_equal(u->keys[0].after, "node=pve1,path=0000:01:00,id=10de:2507,subsystem-id=1028:0a61,iommugroup=15");
        assert_string_equal(u->after, u->keys[0].after);
        assert_true(notes_have(p.drift, p.n_drift, "mapping 'rtx3050': error: missing expected property 'subsystem-id'"));
        pv_plan_done(&p);
        /* description and flags */
        w.map.mdev = true;
        w.map.description = NULL;
        p = build(&w.p, &w.o, NULL);
        u = &p.actions[0];
        assert_string_equal(key_after(u, "description"), "[pvfio]");
        assert_string_equal(key_after(u, "mdev"), "1");
        assert_true(notes_have(p.warnings, p.n_warnings, "is not mdev-capable but the mapping says mdev: true"));
        pv_plan_done(&p);
        /* the id the profile pins differs from the hardware: drift, the profile's value is kept */
        w.map.mdev = false;
        w.map.description = (char *)"RTX 3050";
        w.entry.has_id = true;
        w.entry.id = (struct pv_pci_id){ 0x10de, 0x2236 };
        p = build(&w.p, &w.o, NULL);
        assert_true(notes_have(p.drift, p.n_drift, "0000:01:00 on 'pve1' is 10de:2507, the profile expects 10de:2236"));
        assert_non_null(strstr(key_after(&p.actions[0], "map[0]"), "id=10de:2236"));
        pv_plan_done(&p);
        /* an existing mapping pvfio did not create: left alone unless adopted */
        w.entry.has_id = false;
        free(m->description);
        m->description = S("made by hand");
        p = build(&w.p, &w.o, NULL);
        assert_int_equal(p.n, 1);
        assert_non_null(strstr(p.actions[0].blocked, "pvfio did not create it"));
        pv_plan_done(&p);
        struct pv_vm_plan_opts adopt = { .adopt = true };
        p = build(&w.p, &w.o, &adopt);
        assert_null(p.actions[0].blocked);
        pv_plan_done(&p);
        pv_observed_done(&w.o);
}

static void test_mapping_missing_device(void **state) {
        (void)state;
        struct ws w;
        ws_setup(&w);
        w.entry_path = A("0000:02:00.0");
        struct pv_plan p = build(&w.p, &w.o, NULL);
        const struct pv_action *m = find_act(&p, PV_ACT_CREATE_MAPPING, NULL);
        assert_non_null(m->blocked);
        assert_non_null(strstr(m->blocked, "device 0000:02:00.0 is not present on node 'pve1'"));
        /* the VM that needs it is blocked with it, and so is its start */
        const struct pv_action *c = find_act(&p, PV_ACT_CREATE_VM, NULL);
        assert_int_equal(c->depends_on, 1);
        assert_string_equal(c->blocked, m->blocked);
        assert_non_null(find_act(&p, PV_ACT_START_VM, NULL)->blocked);
        pv_plan_done(&p);
        /* hardware of the node not observed: cannot fill the id */
        w.entry.node = (char *)"pve9";
        p = build(&w.p, &w.o, NULL);
        assert_non_null(strstr(find_act(&p, PV_ACT_CREATE_MAPPING, NULL)->blocked, "hardware of node 'pve9' was not observed"));
        pv_plan_done(&p);
        pv_observed_done(&w.o);
}

static void test_prune(void **state) {
        (void)state;
        struct ws w;
        ws_setup(&w);
        ws_converge(&w);
        add_vm(&w.o, 150, "pve1", "old-vm", "running", "pvfio");
        add_cfg(&w.o, 150, "pve1");
        cfg_set(&w.o, 150, "tags", "pvfio");
        add_vm(&w.o, 151, "pve1", "not-ours", "stopped", "gpu");
        add_cfg(&w.o, 151, "pve1");
        add_mapping(&w.o, "oldmap", "old [pvfio]", "d9");
        add_mapping(&w.o, "handmade", "by hand", "d8");
        struct pv_plan p = build(&w.p, &w.o, NULL);
        expect_no_actions(&p);
        assert_true(notes_have(p.drift, p.n_drift, "vm 'old-vm' (150) is managed by pvfio but no longer in the profile; --prune removes it"));
        assert_true(notes_have(p.drift, p.n_drift, "mapping 'oldmap' is managed by pvfio"));
        assert_false(notes_have(p.drift, p.n_drift, "not-ours"));
        assert_false(notes_have(p.drift, p.n_drift, "handmade"));
        pv_plan_done(&p);
        struct pv_vm_plan_opts opts = { .prune = true };
        p = build(&w.p, &w.o, &opts);
        char *d = dump(&p);
        if (p.n != 3)
                fail_msg("%s", d);
        assert_int_equal(p.actions[0].kind, PV_ACT_STOP_VM);
        assert_int_equal(p.actions[0].vmid, 150);
        assert_int_equal(p.actions[1].kind, PV_ACT_DELETE_VM);
        assert_int_equal(p.actions[1].vmid, 150);
        assert_int_equal(p.actions[1].depends_on, 1);
        assert_int_equal(p.actions[2].kind, PV_ACT_DELETE_MAPPING);
        assert_string_equal(p.actions[2].target, "mapping oldmap");
        assert_null(p.actions[2].blocked);
        free(d);
        pv_plan_done(&p);
        /* a pruned mapping still used by a VM outside the profile is blocked */
        cfg_set(&w.o, 151, "hostpci0", "mapping=oldmap");
        p = build(&w.p, &w.o, &opts);
        const struct pv_action *dm = find_act(&p, PV_ACT_DELETE_MAPPING, NULL);
        assert_non_null(dm->blocked);
        assert_non_null(strstr(dm->blocked, "still used by vmid 151"));
        pv_plan_done(&p);
        /* state: absent deletes a managed VM; an unmanaged one is only warned about */
        w.vm.state = PV_STATE_ABSENT;
        p = build(&w.p, &w.o, NULL);
        assert_non_null(find_act(&p, PV_ACT_STOP_VM, "vm gpu-ws-1"));
        assert_non_null(find_act(&p, PV_ACT_DELETE_VM, "vm gpu-ws-1"));
        assert_null(find_act(&p, PV_ACT_CREATE_VM, NULL));
        pv_plan_done(&p);
        cfg_set(&w.o, 100, "tags", "gpu");
        p = build(&w.p, &w.o, NULL);
        assert_null(find_act(&p, PV_ACT_DELETE_VM, NULL));
        assert_true(notes_have(p.warnings, p.n_warnings, "has state: absent but is not managed by pvfio"));
        pv_plan_done(&p);
        pv_observed_done(&w.o);
}

static void test_mapping_checks_by_node(void **state) {
        (void)state;
        struct ws w;
        ws_setup(&w);
        ws_converge(&w);
        struct pv_obs_mapping *m = &w.o.mappings[0];
        mapping_add_check(m, "warning", "No mapping for node pve2.");
        m->checks[0].node = S("pve2");
        struct pv_plan p = build(&w.p, &w.o, NULL);
        expect_no_actions(&p);
        assert_int_equal(p.n_drift, 0);
        assert_true(notes_have(p.warnings, p.n_warnings, "mapping 'rtx3050' on node 'pve2' (no entry, no VM of the profile uses it there): warning: No mapping for node pve2."));
        pv_plan_done(&p);
        /* a VM of the profile on pve2 uses it: the same warning is drift */
        w.vm.node = "pve2";
        p = build(&w.p, &w.o, NULL);
        assert_true(notes_have(p.drift, p.n_drift, "mapping 'rtx3050' on node 'pve2': warning: No mapping for node pve2."));
        pv_plan_done(&p);
        w.vm.node = "pve1";
        /* an error on the node the mapping covers is drift */
        mapping_add_check(m, "error", "Invalid configuration: 'id' does not match for 'rtx3050' (10de:2507 != 10de:2508)");
        m->checks[1].node = S("pve1");
        p = build(&w.p, &w.o, NULL);
        assert_int_equal(p.n_drift, 1);
        assert_true(notes_have(p.drift, p.n_drift, "mapping 'rtx3050' on node 'pve1': error: Invalid configuration"));
        pv_plan_done(&p);
        pv_observed_done(&w.o);
}

/* A `;` path of devices with different IDs is refused with Proxmox's reason and the whole-device form. */
static void test_joined_path_different_ids(void **state) {
        (void)state;
        struct ws w;
        ws_setup(&w);
        struct pv_pci_addr paths[2] = { A("0000:01:00.0"), A("0000:01:00.1") };
        w.entry.paths = paths;
        w.entry.n_paths = 2;
        struct pv_plan p = build(&w.p, &w.o, NULL);
        const char *why = find_act(&p, PV_ACT_CREATE_MAPPING, NULL)->blocked;
        assert_non_null(why);
        assert_non_null(strstr(why, "joins devices with different id (0000:01:00.0 is 10de:2507, 0000:01:00.1 is 10de:228e)"));
        assert_non_null(strstr(why, "'id' does not match for 'rtx3050' (10de:228e != 10de:2507)"));
        assert_non_null(strstr(why, "pass the whole device instead: path: 0000:01:00 (all its functions)"));
        assert_non_null(find_act(&p, PV_ACT_CREATE_VM, NULL)->blocked);
        pv_plan_done(&p);
        /* same id, different subsystem: Proxmox's subsystem-id check fails the same way */
        pv_observed_done(&w.o);
        ws_setup(&w);
        w.entry.paths = paths;
        w.entry.n_paths = 2;
        w.o.hw[0].devs[1].id = w.o.hw[0].devs[0].id;
        w.o.hw[0].devs[1].has_subsystem = false;
        p = build(&w.p, &w.o, NULL);
        why = find_act(&p, PV_ACT_CREATE_MAPPING, NULL)->blocked;
        assert_non_null(why);
        assert_non_null(strstr(why, "different subsystem-id (0000:01:00.0 is 1028:0a61, 0000:01:00.1 is none)"));
        assert_non_null(strstr(why, "unexpected property 'subsystem-id' configured for device '0000:01:00.1'"));
        pv_plan_done(&p);
        /* identical functions: Proxmox accepts the path */
        w.o.hw[0].devs[1].has_subsystem = true;
        p = build(&w.p, &w.o, NULL);
        assert_null(find_act(&p, PV_ACT_CREATE_MAPPING, NULL)->blocked);
        assert_string_equal(key_after(find_act(&p, PV_ACT_CREATE_MAPPING, NULL), "map[0]"),
                            "node=pve1,path=0000:01:00.0;0000:01:00.1,id=10de:2507,subsystem-id=1028:0a61,iommugroup=15");
        pv_plan_done(&p);
        pv_observed_done(&w.o);
}

/*
 * NVIDIA vGPU VFs: qemu-server up to 9.1.10 lists a VF's own creatable_vgpu_types
 * (a VF hosting a vGPU lists none); from 9.1.11 NVML lists the physical
 * function's types on every VF with available 1. The VF pool picks the same VFs.
 */
static void nvidia_vf_fixture(struct pv_observed *o, bool nvml, bool pool_vm) {
        add_node(o, "pve2", "online");
        size_t h = add_hw(o, "pve2");
        hw_dev(o, h, "0000:c1:00.0", "10de:27b8", "10de:16ca", 94, false, NULL);
        for (int f = 4; f <= 7; f++) {
                char a[16];
                snprintf(a, sizeof a, "0000:c1:00.%d", f);
                hw_dev(o, h, a, "10de:27b8", "10de:16ca", 86 + f, true, "0000:c1:00.0");
                /* up to 9.1.10 a VF hosting a vGPU (.7 for vmid 300, .5 for vmid 301's mapping) lists none */
                if (nvml || (f != 7 && !(pool_vm && f == 5))) {
                        hw_mdev(o, h, a, "nvidia-925", 1);
                        hw_mdev(o, h, a, "nvidia-929", 1);
                }
        }
        add_vm(o, 300, "pve2", "other-vgpu", "running", NULL);
        add_cfg(o, 300, "pve2");
        cfg_set(o, 300, "hostpci0", "0000:c1:00.7,mdev=nvidia-925");
        if (pool_vm) {
                /* a running VM holds one VF of a mapping pool; which one is not in its config */
                struct pv_obs_mapping *m = add_mapping(o, "l4pool", "vGPU pool", "d1");
                m->mdev = true;
                mapping_add_map(m, "node=pve2,path=0000:c1:00.5,id=10de:27b8,subsystem-id=10de:16ca,iommugroup=91");
                add_vm(o, 301, "pve2", "pool-user", "running", NULL);
                add_cfg(o, 301, "pve2");
                cfg_set(o, 301, "hostpci0", "mapping=l4pool,mdev=nvidia-925");
        }
}

static void test_vf_pool_nvidia_type_sources(void **state) {
        (void)state;
        for (int nvml = 0; nvml < 2; nvml++) {
                struct pv_profile prof = { 0 };
                struct pv_vm vms[4];
                struct pv_pcidev pci[4];
                root_password(&prof);
                const char *names[] = { "infer-a", "infer-b", "infer-c", "infer-d" };
                for (int i = 0; i < 4; i++) {
                        vm_init(&vms[i], names[i], "pve2");
                        pci[i] = pci_vf("0000:c1:00.0");
                        pci[i].mdev = (char *)"nvidia-925";
                        vms[i].pci = &pci[i];
                        vms[i].n_pci = 1;
                }
                prof.vms = vms;
                prof.n_vms = 4;
                struct pv_observed o = { 0 };
                nvidia_vf_fixture(&o, nvml, false);
                struct pv_plan p = build(&prof, &o, NULL);
                assert_string_equal(key_after(find_act(&p, PV_ACT_CREATE_VM, "vm infer-a"), "hostpci0"), "0000:c1:00.4,mdev=nvidia-925");
                assert_string_equal(key_after(find_act(&p, PV_ACT_CREATE_VM, "vm infer-b"), "hostpci0"), "0000:c1:00.5,mdev=nvidia-925");
                assert_string_equal(key_after(find_act(&p, PV_ACT_CREATE_VM, "vm infer-c"), "hostpci0"), "0000:c1:00.6,mdev=nvidia-925");
                /* .7 lists the type under NVML but hosts the vGPU of vmid 300: never handed out */
                const struct pv_action *d = find_act(&p, PV_ACT_CREATE_VM, "vm infer-d");
                assert_non_null(d->blocked);
                assert_null(key_after(d, "hostpci0") ? strstr(key_after(d, "hostpci0"), "c1:00.7") : NULL);
                pv_plan_done(&p);
                pv_observed_done(&o);
                /* .5 is held by a running VM through a mapping: skipped with both sources */
                memset(&o, 0, sizeof o);
                nvidia_vf_fixture(&o, nvml, true);
                prof.n_vms = 3;
                p = build(&prof, &o, NULL);
                assert_string_equal(key_after(find_act(&p, PV_ACT_CREATE_VM, "vm infer-a"), "hostpci0"), "0000:c1:00.4,mdev=nvidia-925");
                assert_string_equal(key_after(find_act(&p, PV_ACT_CREATE_VM, "vm infer-b"), "hostpci0"), "0000:c1:00.6,mdev=nvidia-925");
                assert_non_null(find_act(&p, PV_ACT_CREATE_VM, "vm infer-c")->blocked);
                pv_plan_done(&p);
                pv_observed_done(&o);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_vf_pool),
                cmocka_unit_test(test_mdev),
                cmocka_unit_test(test_mapping_fill_digest_checks),
                cmocka_unit_test(test_mapping_missing_device),
                cmocka_unit_test(test_prune),
                cmocka_unit_test(test_mapping_checks_by_node),
                cmocka_unit_test(test_joined_path_different_ids),
                cmocka_unit_test(test_vf_pool_nvidia_type_sources),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
