/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for the VM/mapping planner (provision/vmconfig.c, provision/vmplan*.c):
 * the GPU workstation planned, applied in the simulator and planned again (no-op,
 * drift, disks, unmanaged VMs, dropped and pending keys), tokens and raw devices,
 * host readiness, conflicts, slots, determinism. Fixtures: vmplan_fixture.h;
 * devices and mappings are in test_vmplan_devices.c, keys, version gates and the
 * example profiles in test_vmplan_keys.c.
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

/* ------------------------------------------------------------------ tests */

static void test_create_translation(void **state) {
        (void)state;
        struct ws w;
        ws_setup(&w);
        struct pv_plan p = build(&w.p, &w.o, NULL);
        assert_int_equal(p.n, 3);
        assert_int_equal(p.actions[0].kind, PV_ACT_CREATE_MAPPING);
        assert_int_equal(p.actions[1].kind, PV_ACT_CREATE_VM);
        assert_int_equal(p.actions[2].kind, PV_ACT_START_VM);
        const struct pv_action *c = &p.actions[1];
        assert_null(c->blocked);
        assert_int_equal(c->vmid, 0);
        assert_string_equal(c->node, "pve1");
        assert_string_equal(c->target, "vm gpu-ws-1");
        assert_int_equal(c->depends_on, 1);              /* the mapping it uses */
        assert_int_equal(p.actions[2].depends_on, 2);    /* start after create */
        static const char *const want[][2] = {
                { "balloon", "0" },
                { "bios", "ovmf" },
                { "cores", "8" },
                { "cpu", "host,flags=+pcid;-md-clear,hidden=1" },
                { "efidisk0", "local-lvm:1,efitype=4m,pre-enrolled-keys=1" },
                { "hostpci0", "mapping=rtx3050,pcie=1,x-vga=1" },
                { "hostpci1", "0000:01:00.1" },
                { "hugepages", "1024" },
                { "machine", "q35" },
                { "memory", "16384" },
                { "name", "gpu-ws-1" },
                { "net0", "virtio,bridge=vmbr0,firewall=1,tag=20" },
                { "numa", "1" },
                { "onboot", "1" },
                { "ostype", "win11" },
                { "scsi0", "local-lvm:64,ssd=1,discard=on" },
                { "scsihw", "virtio-scsi-single" },
                { "sockets", "1" },
                { "tags", "gpu;pvfio;vdi" },
                { "vga", "none" },
        };
        assert_int_equal(c->n_keys, sizeof want / sizeof *want);
        for (size_t i = 0; i < c->n_keys; i++) {
                assert_string_equal(c->keys[i].key, want[i][0]); /* natural key order */
                assert_string_equal(c->keys[i].after, want[i][1]);
                assert_null(c->keys[i].before);
        }
        /* the mapping is filled from the hardware so Proxmox's check passes */
        const struct pv_action *m = &p.actions[0];
        assert_string_equal(m->target, "mapping rtx3050");
        assert_string_equal(key_after(m, "description"), "RTX 3050 [pvfio]");
        assert_string_equal(key_after(m, "map[0]"), "node=pve1,path=0000:01:00,id=10de:2507,subsystem-id=1028:0a61,iommugroup=15");
        assert_string_equal(m->after, "node=pve1,path=0000:01:00,id=10de:2507,subsystem-id=1028:0a61,iommugroup=15");
        assert_null(find_key(m, "mdev"));
        pv_plan_done(&p);
        pv_observed_done(&w.o);
}

static void test_noop_after_apply(void **state) {
        (void)state;
        struct ws w;
        ws_setup(&w);
        uint32_t vmid = ws_converge(&w);
        assert_int_equal(vmid, 100);
        assert_string_equal(find_vm(&w.o, 100)->status, "running");
        struct pv_plan p = build(&w.p, &w.o, NULL);
        expect_no_actions(&p);
        assert_int_equal(p.n_drift, 0);
        assert_int_equal(p.n_warnings, 0);
        pv_plan_done(&p);
        /* equivalent spellings Proxmox or a human may have written are no change either */
        static const char *const same[][2] = {
                { "hostpci0", "pcie=on,x-vga=yes,mapping=rtx3050,rombar=1" },
                { "hostpci1", "01:00.1,driver=vfio" },
                { "machine", "pc-q35-9.2+pve1" },
                { "tags", "vdi,pvfio gpu" },
                { "memory", "current=16384" },
                { "cpu", "cputype=host,hidden=1,flags=-md-clear;+pcid" },
                { "numa", "true" },
                { "vga", "type=none" },
        };
        for (size_t i = 0; i < sizeof same / sizeof *same; i++) {
                struct pv_vm_config *c = find_cfg(&w.o, vmid);
                char *old = S(pv_vm_config_get(c, same[i][0]));
                cfg_set(&w.o, vmid, same[i][0], same[i][1]);
                p = build(&w.p, &w.o, NULL);
                if (p.n)
                        fail_msg("'%s: %s' gave actions:\n%s", same[i][0], same[i][1], dump(&p));
                pv_plan_done(&p);
                cfg_set(&w.o, vmid, same[i][0], old);
                free(old);
        }
        /* the MAC Proxmox generated is kept, in any case */
        struct pv_vm_config *c = find_cfg(&w.o, vmid);
        char *net = S(pv_vm_config_get(c, "net0"));
        for (char *q = net; *q; q++)
                if (*q >= 'A' && *q <= 'F')
                        *q = (char)(*q - 'A' + 'a');
        cfg_set(&w.o, vmid, "net0", net);
        free(net);
        p = build(&w.p, &w.o, NULL);
        expect_no_actions(&p);
        pv_plan_done(&p);
        pv_observed_done(&w.o);
}

static void test_single_key_drift(void **state) {
        (void)state;
        static const struct {
                const char *key, *observed, *after;
                bool pending;   /* non-hotpluggable on the running VM */
        } cases[] = {
                { "cores", "4", "8", true },
                { "sockets", "2", "1", true },
                { "memory", "8192", "16384", true },
                { "balloon", "1024", "0", false },
                { "hugepages", "2", "1024", true },
                { "numa", "0", "1", true },
                { "scsihw", "lsi", "virtio-scsi-single", true },
                { "vga", "std", "none", true },
                { "ostype", "l26", "win11", true },
                { "onboot", "0", "1", false },
                { "tags", "gpu;pvfio", "gpu;pvfio;vdi", false },
                { "machine", "pc-i440fx-9.2", "q35", true },
                { "bios", "seabios", "ovmf", true },
                { "cpu", "host,flags=+pcid", "host,flags=+pcid;-md-clear,hidden=1", true },
                { "cpu", "x86-64-v2-AES,flags=+pcid;-md-clear,hidden=1", "host,flags=+pcid;-md-clear,hidden=1", true },
                /* MAC = the one Proxmox generated (kept, so the expected value is the original) */
                { "net0", "virtio=MAC,bridge=vmbr1,firewall=1,tag=20", NULL, false },
                { "net0", "virtio=MAC,bridge=vmbr0,tag=20", NULL, false },
                { "net0", "e1000=MAC,bridge=vmbr0,firewall=1,tag=20", NULL, false },
                { "net0", "virtio=MAC,bridge=vmbr0,firewall=1,tag=30", NULL, false },
                { "net0", "virtio=MAC,bridge=vmbr0,firewall=1", NULL, false },
                { "hostpci0", "mapping=rtx3050,pcie=1", "mapping=rtx3050,pcie=1,x-vga=1", true },
                { "hostpci0", "mapping=rtx3060,pcie=1,x-vga=1", "mapping=rtx3050,pcie=1,x-vga=1", true },
                { "hostpci1", "0000:01:00.2", "0000:01:00.1", true },
                { "hostpci1", "0000:01:00", "0000:01:00.1", true },
                { "hostpci1", "0000:01:00.1,rombar=0", "0000:01:00.1", true },
                /* absent on the VM: added back */
                { "cores", NULL, "8", true },
                { "hostpci1", NULL, "0000:01:00.1", true },
                { "tags", NULL, "gpu;pvfio;vdi", false },
        };
        for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
                struct ws w;
                ws_setup(&w);
                uint32_t vmid = ws_converge(&w);
                const char *want_after = cases[i].after;
                char *orig = S(pv_vm_config_get(find_cfg(&w.o, vmid), cases[i].key));
                char *observed = S(cases[i].observed);
                char *mac = observed ? strstr(observed, "MAC") : NULL;
                if (mac) {
                        /* splice in the generated MAC of the original value */
                        const char *om = strchr(orig, '=') + 1;
                        char *v = NULL;
                        assert_true(asprintf(&v, "%.*s%.17s%s", (int)(mac - observed), observed, om, mac + 3) > 0);
                        free(observed);
                        observed = v;
                }
                cfg_set(&w.o, vmid, cases[i].key, observed);
                if (strcmp(cases[i].key, "tags") == 0 && !cases[i].observed) {
                        /* without any tag the VM is unmanaged: keep the marker on the listing */
                        struct pv_vm_info *v = find_vm(&w.o, vmid);
                        free(v->tags);
                        v->tags = S("pvfio");
                }
                struct pv_plan p = build(&w.p, &w.o, NULL);
                char *d = dump(&p);
                if (p.n != 1 || p.actions[0].kind != PV_ACT_UPDATE_VM || p.actions[0].n_keys != 1)
                        fail_msg("case %zu (%s): expected one update with one key, got:\n%s", i, cases[i].key, d);
                const struct pv_action *a = &p.actions[0];
                const struct pv_key_change *k = &a->keys[0];
                assert_string_equal(k->key, cases[i].key);
                if (observed)
                        assert_string_equal(k->before, observed);
                else
                        assert_null(k->before);
                assert_string_equal(k->after, want_after ? want_after : orig);
                if (k->pending_until_restart != cases[i].pending)
                        fail_msg("case %zu (%s): pending %d\n%s", i, cases[i].key, k->pending_until_restart, d);
                assert_int_equal(a->pending_until_restart, cases[i].pending);
                assert_string_equal(a->digest, find_cfg(&w.o, vmid)->digest);
                assert_int_equal(a->vmid, vmid);
                assert_null(a->blocked);
                free(d);
                free(orig);
                free(observed);
                pv_plan_done(&p);
                pv_observed_done(&w.o);
        }
}

static void test_disks_never_recreated(void **state) {
        (void)state;
        struct ws w;
        ws_setup(&w);
        uint32_t vmid = ws_converge(&w);
        /* a size difference is drift, never an action */
        cfg_set(&w.o, vmid, "scsi0", "local-lvm:vm-100-disk-1,ssd=1,discard=on,size=32G");
        struct pv_plan p = build(&w.p, &w.o, NULL);
        expect_no_actions(&p);
        assert_true(notes_have(p.drift, p.n_drift, "scsi0 is 32G, the profile says 64G; pvfio never resizes disks"));
        pv_plan_done(&p);
        /* another storage: drift */
        cfg_set(&w.o, vmid, "scsi0", "local-zfs:vm-100-disk-1,size=64G");
        p = build(&w.p, &w.o, NULL);
        expect_no_actions(&p);
        assert_true(notes_have(p.drift, p.n_drift, "profile wants storage 'local-lvm'"));
        pv_plan_done(&p);
        /* gone: added (a new volume), never deleted when dropped from the profile */
        cfg_set(&w.o, vmid, "scsi0", NULL);
        cfg_set(&w.o, vmid, "scsi1", "local-lvm:vm-100-disk-9,size=8G");
        p = build(&w.p, &w.o, NULL);
        assert_int_equal(p.n, 1);
        assert_int_equal(p.actions[0].n_keys, 1);
        assert_string_equal(p.actions[0].keys[0].key, "scsi0");
        assert_string_equal(p.actions[0].keys[0].after, "local-lvm:64,ssd=1,discard=on");
        assert_false(p.actions[0].keys[0].pending_until_restart); /* scsi is hot-plugged */
        pv_plan_done(&p);
        /* efidisk0 differences are drift */
        cfg_set(&w.o, vmid, "scsi0", "local-lvm:vm-100-disk-1,size=64G");
        cfg_set(&w.o, vmid, "efidisk0", "local-lvm:vm-100-disk-0,efitype=2m,size=128K");
        p = build(&w.p, &w.o, NULL);
        expect_no_actions(&p);
        assert_true(notes_have(p.drift, p.n_drift, "efidisk0 uses efitype 2m"));
        assert_true(notes_have(p.drift, p.n_drift, "pre-enrolled-keys=0"));
        pv_plan_done(&p);
        pv_observed_done(&w.o);
}

static void test_unmanaged_untouched(void **state) {
        (void)state;
        struct ws w;
        ws_setup(&w);
        uint32_t vmid = ws_converge(&w);
        /* strip the management tag: the same-named VM is no longer ours */
        cfg_set(&w.o, vmid, "tags", "gpu;vdi");
        add_vm(&w.o, 300, "pve1", "someone-elses", "running", NULL);
        add_cfg(&w.o, 300, "pve1");
        cfg_set(&w.o, 300, "hostpci0", "0000:05:00.0");
        struct pv_vm_plan_opts opts = { .prune = true };
        struct pv_plan p = build(&w.p, &w.o, &opts);
        for (size_t i = 0; i < p.n; i++)
                if (!p.actions[i].blocked)
                        fail_msg("unblocked action on an unmanaged VM:\n%s", dump(&p));
        const struct pv_action *u = find_act(&p, PV_ACT_UPDATE_VM, "vm gpu-ws-1");
        assert_non_null(u);
        assert_non_null(strstr(u->blocked, "is not managed by pvfio (no 'pvfio' tag)"));
        assert_non_null(strstr(u->blocked, "--adopt"));
        assert_string_equal(key_after(u, "tags"), "gpu;pvfio;vdi"); /* shows what adopting would do */
        assert_null(find_act(&p, PV_ACT_DELETE_VM, NULL));          /* prune never touches vm 300 */
        pv_plan_done(&p);
        /* adopting it: one unblocked update that adds the tag */
        opts.adopt = true;
        p = build(&w.p, &w.o, &opts);
        assert_int_equal(p.n, 1);
        assert_null(p.actions[0].blocked);
        assert_int_equal(p.actions[0].n_keys, 1);
        assert_string_equal(p.actions[0].keys[0].key, "tags");
        pv_plan_done(&p);
        pv_observed_done(&w.o);
}

static void test_dropped_keys(void **state) {
        (void)state;
        struct ws w;
        ws_setup(&w);
        w.vm.numa = -1;          /* the profile no longer sets numa */
        w.vm.sockets = 0;        /* nor sockets */
        uint32_t vmid = ws_converge(&w);
        cfg_set(&w.o, vmid, "numa", "1");                 /* managed, dropped → delete */
        cfg_set(&w.o, vmid, "sockets", "1");              /* managed but at Proxmox's default → left */
        cfg_set(&w.o, vmid, "hostpci3", "0000:05:00.0");  /* managed → delete */
        cfg_set(&w.o, vmid, "net1", "virtio=BC:24:11:00:00:99,bridge=vmbr9"); /* managed → delete */
        cfg_set(&w.o, vmid, "scsi1", "local-lvm:vm-100-disk-7,size=8G"); /* disk: never deleted */
        cfg_set(&w.o, vmid, "hookscript", "local:snippets/x.pl");     /* not pvfio's */
        cfg_set(&w.o, vmid, "description", "hand-written notes");     /* not pvfio's */
        struct pv_plan p = build(&w.p, &w.o, NULL);
        char *d = dump(&p);
        if (p.n != 1)
                fail_msg("%s", d);
        const struct pv_action *u = &p.actions[0];
        assert_int_equal(u->n_keys, 3);
        assert_string_equal(u->keys[0].key, "hostpci3");
        assert_string_equal(u->keys[1].key, "net1");
        assert_string_equal(u->keys[2].key, "numa");
        for (size_t i = 0; i < 3; i++) {
                assert_null(u->keys[i].after);
                assert_non_null(u->keys[i].before);
        }
        assert_string_equal(u->keys[0].before, "0000:05:00.0");
        free(d);
        pv_plan_done(&p);
        /* the same VM without the tag: nothing is deleted */
        cfg_set(&w.o, vmid, "tags", "gpu;vdi");
        p = build(&w.p, &w.o, NULL);
        for (size_t i = 0; i < p.n; i++)
                assert_non_null(p.actions[i].blocked);
        pv_plan_done(&p);
        assert_true(pv_vmconfig_key_deletable("hostpci15"));
        assert_false(pv_vmconfig_key_deletable("hostpci16"));
        assert_false(pv_vmconfig_key_deletable("scsi0"));
        assert_false(pv_vmconfig_key_deletable("efidisk0"));
        assert_false(pv_vmconfig_key_deletable("name"));
        assert_false(pv_vmconfig_key_deletable("hookscript"));
        assert_false(pv_vmconfig_key_managed("net01"));
        assert_true(pv_vmconfig_key_managed("net31"));
        pv_observed_done(&w.o);
}

static void test_pending_on_running_vm(void **state) {
        (void)state;
        struct ws w;
        ws_setup(&w);
        uint32_t vmid = ws_converge(&w);
        cfg_set(&w.o, vmid, "hostpci1", "0000:01:00.2");
        cfg_set(&w.o, vmid, "onboot", "0");
        struct pv_plan p = build(&w.p, &w.o, NULL);
        assert_int_equal(p.n, 1);
        const struct pv_action *u = &p.actions[0];
        assert_true(u->pending_until_restart);
        assert_true(find_key(u, "hostpci1")->pending_until_restart);
        assert_false(find_key(u, "onboot")->pending_until_restart);
        pv_plan_done(&p);
        /* --restart: a restart after the update */
        struct pv_vm_plan_opts opts = { .restart = true };
        p = build(&w.p, &w.o, &opts);
        assert_int_equal(p.n, 2);
        assert_int_equal(p.actions[1].kind, PV_ACT_RESTART_VM);
        assert_int_equal(p.actions[1].depends_on, 1);
        assert_int_equal(p.actions[1].vmid, vmid);
        assert_non_null(strstr(p.actions[1].reason, "hostpci1"));
        pv_plan_done(&p);
        /* only hot-pluggable keys changed: no restart even when asked */
        cfg_set(&w.o, vmid, "hostpci1", "0000:01:00.1");
        p = build(&w.p, &w.o, &opts);
        assert_int_equal(p.n, 1);
        assert_false(p.actions[0].pending_until_restart);
        pv_plan_done(&p);
        /* state: stopped on a running VM: stop first, then update, nothing pending */
        cfg_set(&w.o, vmid, "hostpci1", "0000:01:00.2");
        w.vm.state = PV_STATE_STOPPED;
        p = build(&w.p, &w.o, &opts);
        assert_int_equal(p.n, 2);
        assert_int_equal(p.actions[0].kind, PV_ACT_STOP_VM);
        assert_int_equal(p.actions[1].kind, PV_ACT_UPDATE_VM);
        assert_int_equal(p.actions[1].depends_on, 1);
        assert_false(p.actions[1].pending_until_restart);
        pv_plan_done(&p);
        /* state: running on a stopped VM with changes: update, then start */
        w.vm.state = PV_STATE_RUNNING;
        free(find_vm(&w.o, vmid)->status);
        find_vm(&w.o, vmid)->status = S("stopped");
        p = build(&w.p, &w.o, NULL);
        assert_int_equal(p.n, 2);
        assert_int_equal(p.actions[0].kind, PV_ACT_UPDATE_VM);
        assert_false(p.actions[0].pending_until_restart);
        assert_int_equal(p.actions[1].kind, PV_ACT_START_VM);
        assert_int_equal(p.actions[1].depends_on, 1);
        pv_plan_done(&p);
        pv_observed_done(&w.o);
}

static void test_pending_already_sent(void **state) {
        (void)state;
        struct ws w;
        ws_setup(&w);
        uint32_t vmid = ws_converge(&w);
        /* the config (pending merged) already holds the desired value; /pending shows it waiting */
        add_pending(&w.o, vmid, "hostpci1", "0000:01:00.2", "0000:01:00.1", 0);
        add_pending(&w.o, vmid, "cores", "8", NULL, 0);
        struct pv_plan p = build(&w.p, &w.o, NULL);
        expect_no_actions(&p);
        assert_int_equal(p.n_drift, 1);
        assert_non_null(strstr(p.drift[0], "hostpci1 already changed, pending until the VM is restarted"));
        pv_plan_done(&p);
        struct pv_vm_plan_opts opts = { .restart = true };
        p = build(&w.p, &w.o, &opts);
        assert_int_equal(p.n, 1);
        assert_int_equal(p.actions[0].kind, PV_ACT_RESTART_VM);
        assert_int_equal(p.actions[0].depends_on, 0);
        pv_plan_done(&p);
        /* a pending value that is not the desired one is re-sent */
        pv_observed_done(&w.o);
        ws_setup(&w);
        vmid = ws_converge(&w);
        cfg_set(&w.o, vmid, "hostpci1", "0000:01:00.3");
        add_pending(&w.o, vmid, "hostpci1", "0000:01:00.1", "0000:01:00.3", 0);
        p = build(&w.p, &w.o, NULL);
        assert_int_equal(p.n, 1);
        assert_string_equal(p.actions[0].keys[0].after, "0000:01:00.1");
        assert_int_equal(p.n_drift, 0);
        pv_plan_done(&p);
        pv_observed_done(&w.o);
}

/* Node with PF 03:00.0 and VFs 03:00.1-.4; vmid 200 (not in the profile) uses .1. */

static void test_token_and_raw(void **state) {
        (void)state;
        struct ws w;
        ws_setup(&w);
        w.p.cluster.auth = PV_AUTH_TOKEN;
        w.p.cluster.token_id = (char *)"pvfio@pve!automation";
        w.p.cluster.user = NULL;
        struct pv_plan p = build(&w.p, &w.o, NULL);
        const struct pv_action *c = find_act(&p, PV_ACT_CREATE_VM, NULL);
        assert_non_null(c->blocked);
        assert_non_null(strstr(c->blocked, "hostpci1 uses the raw PCI device 0000:01:00.1"));
        assert_non_null(strstr(c->blocked, "root@pam"));
        assert_non_null(strstr(c->blocked, "only root can set 'hostpci1' config for non-mapped devices"));
        assert_non_null(strstr(c->blocked, "mappings: [{id: ID, map: [{node: pve1, path: 0000:01:00.1}]}]"));
        assert_non_null(strstr(c->blocked, "pvfio@pve!automation"));
        assert_null(strstr(c->blocked, "hostpci0")); /* the mapped device is fine */
        assert_null(find_act(&p, PV_ACT_CREATE_MAPPING, NULL)->blocked);
        pv_plan_done(&p);
        /* mapped devices only: fine with a token */
        w.vm.n_pci = 1;
        p = build(&w.p, &w.o, NULL);
        assert_null(find_act(&p, PV_ACT_CREATE_VM, NULL)->blocked);
        pv_plan_done(&p);
        /* romfile is root@pam-only too */
        w.pci[0].romfile = (char *)"vbios.rom";
        p = build(&w.p, &w.o, NULL);
        assert_non_null(strstr(find_act(&p, PV_ACT_CREATE_VM, NULL)->blocked, "sets romfile 'vbios.rom'"));
        pv_plan_done(&p);
        w.pci[0].romfile = NULL;
        /* changing away from a raw device needs root@pam as well (Proxmox checks the old value) */
        w.p.cluster.auth = PV_AUTH_PASSWORD;
        w.p.cluster.user = (char *)"root@pam";
        w.vm.n_pci = 2;
        uint32_t vmid = ws_converge(&w);
        w.p.cluster.auth = PV_AUTH_TOKEN;
        w.vm.n_pci = 1;
        p = build(&w.p, &w.o, NULL);
        assert_int_equal(p.n, 1);
        assert_non_null(find_key(&p.actions[0], "hostpci1"));
        assert_non_null(strstr(p.actions[0].blocked, "hostpci1 uses the raw PCI device"));
        pv_plan_done(&p);
        /* another password user is refused too */
        w.p.cluster.auth = PV_AUTH_PASSWORD;
        w.p.cluster.user = (char *)"admin@pve";
        p = build(&w.p, &w.o, NULL);
        assert_non_null(strstr(p.actions[0].blocked, "admin@pve"));
        pv_plan_done(&p);
        (void)vmid;
        pv_observed_done(&w.o);
}

static void test_host_readiness(void **state) {
        (void)state;
        struct ws w;
        ws_setup(&w);
        struct pv_device_not_ready facts[] = {
                { A("0000:01:00.1"), PV_NOT_READY_BINDING, "bound to 'snd_hda_intel', not vfio-pci" },
        };
        struct pv_node_readiness rd = { .node = "pve1", .devs = facts, .n_devs = 1 };
        struct pv_vm_plan_opts opts = { .readiness = &rd, .n_readiness = 1 };
        struct pv_plan p = build(&w.p, &w.o, &opts);
        const struct pv_action *c = find_act(&p, PV_ACT_CREATE_VM, NULL);
        assert_non_null(c->blocked);
        assert_non_null(strstr(c->blocked, "hostpci1: device 0000:01:00.1 on 'pve1' is not ready: bound to 'snd_hda_intel', not vfio-pci"));
        /* the mapping covers the whole slot 01:00 (incl. .1): not ready either */
        assert_non_null(strstr(c->blocked, "hostpci0: device 0000:01:00 of mapping 'rtx3050'"));
        assert_non_null(find_act(&p, PV_ACT_START_VM, NULL)->blocked);
        assert_null(find_act(&p, PV_ACT_CREATE_MAPPING, NULL)->blocked);
        pv_plan_done(&p);
        /* a fact on another node does not matter */
        rd.node = "pve2";
        p = build(&w.p, &w.o, &opts);
        assert_null(find_act(&p, PV_ACT_CREATE_VM, NULL)->blocked);
        pv_plan_done(&p);
        /* binding facts do not apply to driver=keep, other kinds do */
        rd.node = "pve1";
        w.vm.n_pci = 2;
        w.pci[1].driver = PV_DRIVER_KEEP;
        w.pci[0] = pci_mapping("rtx3050");
        w.entry_path = A("0000:01:00.0");
        p = build(&w.p, &w.o, &opts);
        assert_null(find_act(&p, PV_ACT_CREATE_VM, NULL)->blocked);
        pv_plan_done(&p);
        facts[0].kind = PV_NOT_READY_GROUP;
        facts[0].reason = "IOMMU group 15 also holds 0000:00:1f.3 (bound to 'snd_hda_intel')";
        p = build(&w.p, &w.o, &opts);
        assert_non_null(strstr(find_act(&p, PV_ACT_CREATE_VM, NULL)->blocked, "IOMMU group 15"));
        pv_plan_done(&p);
        /* reboot pending on the whole node */
        rd.n_devs = 0;
        rd.all_devices = "reboot pending: vfio-pci ids change takes effect after a reboot";
        p = build(&w.p, &w.o, &opts);
        assert_non_null(strstr(find_act(&p, PV_ACT_CREATE_VM, NULL)->blocked, "node 'pve1': reboot pending"));
        pv_plan_done(&p);
        /* a mapping with a ready alternative is not blocked */
        struct pv_map_entry entries[2];
        struct pv_pci_addr paths[2] = { A("0000:01:00.0"), A("0000:01:00.1") };
        entries[0] = w.entry;
        entries[0].paths = &paths[0];
        entries[1] = w.entry;
        entries[1].paths = &paths[1];
        w.map.map = entries;
        w.map.n_map = 2;
        w.vm.n_pci = 1;
        struct pv_device_not_ready f2 = { A("0000:01:00.0"), PV_NOT_READY_BINDING, "bound to 'nouveau'" };
        rd.all_devices = NULL;
        rd.devs = &f2;
        rd.n_devs = 1;
        p = build(&w.p, &w.o, &opts);
        assert_null(find_act(&p, PV_ACT_CREATE_VM, NULL)->blocked);
        pv_plan_done(&p);
        pv_observed_done(&w.o);
}

static void test_conflicts_and_nodes(void **state) {
        (void)state;
        struct ws w;
        ws_setup(&w);
        /* the profile's vmid is taken by another VM */
        w.vm.vmid = 120;
        add_vm(&w.o, 120, "pve1", "somebody", "stopped", NULL);
        struct pv_plan p = build(&w.p, &w.o, NULL);
        assert_non_null(strstr(find_act(&p, PV_ACT_CREATE_VM, NULL)->blocked, "vmid 120 is already used by vm 'somebody'"));
        pv_plan_done(&p);
        w.vm.vmid = 0;
        /* offline node */
        free(w.o.nodes[0].status);
        w.o.nodes[0].status = S("offline");
        p = build(&w.p, &w.o, NULL);
        assert_non_null(strstr(find_act(&p, PV_ACT_CREATE_VM, NULL)->blocked, "node 'pve1' is offline"));
        pv_plan_done(&p);
        free(w.o.nodes[0].status);
        w.o.nodes[0].status = S("online");
        /* the VM lives on another node */
        uint32_t vmid = ws_converge(&w);
        struct pv_vm_info *v = find_vm(&w.o, vmid);
        free(v->node);
        v->node = S("pve2");
        add_node(&w.o, "pve2", "online");
        cfg_set(&w.o, vmid, "cores", "2");
        p = build(&w.p, &w.o, NULL);
        assert_non_null(strstr(p.actions[0].blocked, "pvfio does not migrate VMs"));
        pv_plan_done(&p);
        free(v->node);
        v->node = S("pve1");
        /* locked */
        v->lock = S("backup");
        p = build(&w.p, &w.o, NULL);
        assert_non_null(strstr(p.actions[0].blocked, "vm is locked ('backup')"));
        pv_plan_done(&p);
        free(v->lock);
        v->lock = NULL;
        /* two managed VMs with the same name */
        add_vm(&w.o, 101, "pve1", "gpu-ws-1", "stopped", "pvfio");
        p = build(&w.p, &w.o, NULL);
        assert_non_null(strstr(p.actions[0].blocked, "several VMs are named 'gpu-ws-1' (vmids 100, 101)"));
        pv_plan_done(&p);
        pv_observed_done(&w.o);
}

static void test_slots_and_machine(void **state) {
        (void)state;
        struct ws w;
        ws_setup(&w);
        uint32_t vmid = ws_converge(&w);
        /* the devices sit in other slots on the VM: their indexes are kept, nothing moves */
        char *h0 = S(pv_vm_config_get(find_cfg(&w.o, vmid), "hostpci0"));
        char *h1 = S(pv_vm_config_get(find_cfg(&w.o, vmid), "hostpci1"));
        cfg_set(&w.o, vmid, "hostpci0", NULL);
        cfg_set(&w.o, vmid, "hostpci1", NULL);
        cfg_set(&w.o, vmid, "hostpci4", h1);
        cfg_set(&w.o, vmid, "hostpci7", h0);
        struct pv_plan p = build(&w.p, &w.o, NULL);
        expect_no_actions(&p);
        pv_plan_done(&p);
        /* an explicit slot wins: the device moves there */
        w.pci[1].slot = 2;
        p = build(&w.p, &w.o, NULL);
        assert_int_equal(p.n, 1);
        assert_int_equal(p.actions[0].n_keys, 2);
        assert_string_equal(p.actions[0].keys[0].key, "hostpci2");
        assert_string_equal(p.actions[0].keys[0].after, "0000:01:00.1");
        assert_string_equal(p.actions[0].keys[1].key, "hostpci4");
        assert_null(p.actions[0].keys[1].after);
        pv_plan_done(&p);
        free(h0);
        free(h1);
        /* an unpinned q35 accepts any pinned version; a pin is a real change */
        w.pci[1].slot = -1;
        cfg_set(&w.o, vmid, "machine", "pc-q35-8.1");
        p = build(&w.p, &w.o, NULL);
        expect_no_actions(&p);
        pv_plan_done(&p);
        w.vm.machine_version = (char *)"9.2+pve1";
        p = build(&w.p, &w.o, NULL);
        assert_int_equal(p.n, 1);
        assert_string_equal(p.actions[0].keys[0].after, "pc-q35-9.2+pve1");
        pv_plan_done(&p);
        /* machine viommu set by hand is carried over */
        cfg_set(&w.o, vmid, "machine", "q35,viommu=intel");
        p = build(&w.p, &w.o, NULL);
        assert_string_equal(p.actions[0].keys[0].after, "pc-q35-9.2+pve1,viommu=intel");
        pv_plan_done(&p);
        /* i440fx unpinned = key unset; "pc" and pinned i440fx are equal to it */
        w.vm.machine_version = NULL;
        w.vm.machine = PV_MACHINE_I440FX;
        w.pci[0].pcie = -1;
        cfg_set(&w.o, vmid, "hostpci7", "mapping=rtx3050,x-vga=1");
        cfg_set(&w.o, vmid, "machine", "pc-i440fx-9.2+pve1");
        p = build(&w.p, &w.o, NULL);
        expect_no_actions(&p);
        pv_plan_done(&p);
        cfg_set(&w.o, vmid, "machine", "q35");
        p = build(&w.p, &w.o, NULL);
        assert_int_equal(p.n, 1);
        assert_string_equal(p.actions[0].keys[0].key, "machine");
        assert_null(p.actions[0].keys[0].after);
        pv_plan_done(&p);
        pv_observed_done(&w.o);
}

static void test_deterministic(void **state) {
        (void)state;
        struct ws w1, w2;
        ws_setup(&w1);
        ws_setup(&w2);
        struct pv_plan a = build(&w1.p, &w1.o, NULL), b = build(&w2.p, &w2.o, NULL), c = build(&w1.p, &w1.o, NULL);
        char *da = dump(&a), *db = dump(&b), *dc = dump(&c);
        assert_string_equal(da, db);
        assert_string_equal(da, dc);
        free(da);
        free(db);
        free(dc);
        pv_plan_done(&a);
        pv_plan_done(&b);
        pv_plan_done(&c);
        /* appending keeps existing actions and shifts depends_on */
        struct pv_plan plan = PV_PLAN_INIT;
        struct pv_action host = { .kind = PV_ACT_RUN_COMMAND, .target = S("update-initramfs"), .reason = S("x") };
        assert_int_equal(pv_plan_add(&plan, &host, NULL), 0);
        assert_int_equal(pv_vm_plan_build(&w1.p, &w1.o, NULL, &plan, NULL), 0);
        assert_int_equal(plan.n, 4);
        assert_int_equal(plan.actions[2].kind, PV_ACT_CREATE_VM);
        assert_int_equal(plan.actions[2].depends_on, 2);
        assert_int_equal(plan.actions[3].depends_on, 3);
        pv_plan_done(&plan);
        pv_observed_done(&w1.o);
        pv_observed_done(&w2.o);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_create_translation),
                cmocka_unit_test(test_noop_after_apply),
                cmocka_unit_test(test_single_key_drift),
                cmocka_unit_test(test_disks_never_recreated),
                cmocka_unit_test(test_unmanaged_untouched),
                cmocka_unit_test(test_dropped_keys),
                cmocka_unit_test(test_pending_on_running_vm),
                cmocka_unit_test(test_pending_already_sent),
                cmocka_unit_test(test_token_and_raw),
                cmocka_unit_test(test_host_readiness),
                cmocka_unit_test(test_conflicts_and_nodes),
                cmocka_unit_test(test_slots_and_machine),
                cmocka_unit_test(test_deterministic),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
