/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for the rest of a passthrough setup (issue 14), VM side: CPU lists,
 * the profile keys (tpm, affinity, hookscript, usb, looking_glass, evdev), their
 * translation to Proxmox keys and the plan over them. The host side (hugepages,
 * ROM files, vendor-reset, NUMA) is in test_extras_host.c; fixtures: extras_fixture.h.
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

/* ------------------------------------------------------------- cpusets */

static void test_cpuset(void **state) {
        (void)state;
        char *s = NULL;
        assert_int_equal(pv_cpuset_normalize("8,0-3,2, 4 ,9", &s, NULL), 0);
        assert_string_equal(s, "0-4,8-9");
        free(s);
        assert_int_equal(pv_cpuset_normalize("7", &s, NULL), 0);
        assert_string_equal(s, "7");
        free(s);
        struct pv_error e = PV_ERROR_INIT;
        assert_int_equal(pv_cpuset_normalize("5-3", &s, &e), -PV_EINVAL);
        assert_non_null(strstr(pv_error_message(&e), "'5-3' ends before it starts"));
        pv_error_done(&e);
        const char *bad[] = { "", "a", "1,", ",1", "1-", "1--2", "-1", "1;2", "8192", "1-99999", NULL };
        for (size_t i = 0; bad[i]; i++) {
                s = NULL;
                assert_int_equal(pv_cpuset_normalize(bad[i], &s, NULL), -PV_EINVAL);
                assert_null(s);
        }
        assert_true(pv_cpuset_equal("0,1,2,3", "0-3"));
        assert_true(pv_cpuset_equal("3,2,1,0", "0-3"));
        assert_false(pv_cpuset_equal("0-3", "0-4"));
        assert_int_equal(pv_cpuset_outside("0-7", "0-15"), 0);
        assert_int_equal(pv_cpuset_outside("0-7", "4-15"), 4);
        assert_int_equal(pv_cpuset_outside("x", "0-15"), -1);
}

/* ------------------------------------------------------------- profile */

static void test_profile_keys(void **state) {
        (void)state;
        struct pv_diags d = { 0 };
        struct pv_profile *p = load(HEAD_ROOT
                                    "templates:\n"
                                    "  win:\n"
                                    "    tpm: {storage: local-lvm}\n"
                                    "    affinity: \"8, 0-3,2\"\n"
                                    "vms:\n"
                                    "  - name: a\n"
                                    "    node: pve1\n"
                                    "    template: win\n"
                                    "    hookscript: local:snippets/gpu-hook.sh\n"
                                    "  - name: b\n"
                                    "    node: pve1\n"
                                    "    tpm: {storage: zfs.pool, version: 1.2}\n"
                                    "    affinity: 5\n",
                                    &d, 0);
        assert_string_equal(p->vms[0].tpm_storage, "local-lvm");
        assert_string_equal(p->vms[0].tpm_version, "v2.0");
        assert_string_equal(p->vms[0].affinity, "0-3,8");
        assert_string_equal(p->vms[0].hookscript, "local:snippets/gpu-hook.sh");
        assert_string_equal(p->vms[1].tpm_storage, "zfs.pool");
        assert_string_equal(p->vms[1].tpm_version, "v1.2");
        assert_string_equal(p->vms[1].affinity, "5");
        assert_null(p->vms[1].hookscript);
        pv_profile_free(p);
        pv_diags_done(&d);
}

static void test_profile_errors(void **state) {
        (void)state;
        struct pv_diags d = { 0 };
        load(HEAD_TOKEN
             "vms:\n"                                   /* 5 */
             "  - name: a\n"
             "    node: pve1\n"
             "    tpm: {storag: local-lvm}\n"           /* 8 */
             "    affinity: \"3-1\"\n"                  /* 9 */
             "    hookscript: local:iso/x.sh\n"         /* 10 */
             "  - name: b\n"
             "    node: pve1\n"
             "    tpm: local-lvm\n"                     /* 13 */
             "    affinity: [0, 1]\n"                   /* 14 */
             "    hookscript: local:snippets/sub/x\n"   /* 15 */
             "  - name: c\n"
             "    node: pve1\n"
             "    tpm: {storage: local-lvm, version: v3}\n" /* 18 */
             "    affinity: 0-3\n"                      /* 19 */
             "    hookscript: local:snippets/x.sh\n"    /* 20 */
             "    ostype: win11\n",                     /* 21 */
             &d, -PV_EINVAL);
        diag_at(&d, 8, 10, "missing required key 'storage'");
        const struct pv_diag *x = diag_at(&d, 8, 11, "unknown key 'storag' in 'vms[0].tpm'; did you mean 'storage'?");
        assert_string_equal(x->key, "vms[0].tpm.storag");
        x = diag_at(&d, 9, 15, "'3-1' ends before it starts");
        assert_string_equal(x->key, "vms[0].affinity");
        diag_at(&d, 10, 17, "must be a snippet volume");
        diag_at(&d, 13, 10, "must be a mapping {storage: STORAGE, version: v2.0}");
        diag_at(&d, 14, 15, "must be a host CPU list");
        diag_at(&d, 15, 17, "must be a snippet volume");
        diag_at(&d, 18, 40, "must be v2.0 or v1.2, got 'v3'");
        /* an API token may not set affinity or hookscript: Proxmox's check_vm_modify_config_perm */
        x = diag_at(&d, 19, 5, "only root can set 'affinity' config");
        assert_string_equal(x->key, "vms[2].affinity");
        assert_false(x->warning);
        diag_at(&d, 20, 5, "only root can set 'hookscript' config");
        /* c's TPM failed to type: the win11 rule then sees no TPM */
        x = diag_at(&d, 21, 5, "Windows 11 setup requires a TPM 2.0");
        assert_true(x->warning);
        pv_diags_done(&d);
}

/* --------------------------------------------------------- translation */

static void add_kv(struct pv_vm_config *c, const char *k, const char *v) {
        c->kv = realloc(c->kv, (c->n + 1) * sizeof *c->kv);
        c->kv[c->n++] = (struct pv_kv){ strdup(k), strdup(v) };
}

static void test_translate(void **state) {
        (void)state;
        struct pv_diags d = { 0 };
        struct pv_profile *p = load(HEAD_ROOT
                                    "vms:\n"
                                    "  - name: a\n"
                                    "    node: pve1\n"
                                    "    tpm: {storage: local-lvm, version: v2.0}\n"
                                    "    affinity: 0,1,2,3,8\n"
                                    "    hookscript: local:snippets/h.sh\n",
                                    &d, 0);
        struct pv_vm_xlate_ctx ctx = { .profile = p };
        struct pv_vm_desired out;
        assert_int_equal(pv_vm_translate(&p->vms[0], &ctx, &out, NULL), 0);
        assert_string_equal(pv_vm_desired_get(&out, "tpmstate0"), "local-lvm:1,version=v2.0");
        assert_string_equal(pv_vm_desired_get(&out, "affinity"), "0-3,8");
        assert_string_equal(pv_vm_desired_get(&out, "hookscript"), "local:snippets/h.sh");
        pv_vm_desired_done(&out);

        /* an existing TPM state is kept as it is; another storage or version is drift, never a change */
        struct pv_vm_config cur = { .vmid = 100 };
        add_kv(&cur, "tpmstate0", "local-lvm:vm-100-disk-1,size=4M,version=v2.0");
        ctx.current = &cur;
        ctx.vmid = 100;
        assert_int_equal(pv_vm_translate(&p->vms[0], &ctx, &out, NULL), 0);
        assert_string_equal(pv_vm_desired_get(&out, "tpmstate0"), "local-lvm:vm-100-disk-1,size=4M,version=v2.0");
        assert_int_equal(out.drift.n, 0);
        pv_vm_desired_done(&out);
        free(cur.kv[0].value);
        cur.kv[0].value = strdup("other:vm-100-disk-1,size=4M");
        assert_int_equal(pv_vm_translate(&p->vms[0], &ctx, &out, NULL), 0);
        assert_string_equal(pv_vm_desired_get(&out, "tpmstate0"), "other:vm-100-disk-1,size=4M");
        assert_int_equal(out.drift.n, 2);
        assert_non_null(strstr(out.drift.v[0], "vm 'a' (100): tpmstate0 is 'other:vm-100-disk-1', the profile wants storage 'local-lvm'"));
        assert_non_null(strstr(out.drift.v[1], "tpmstate0 has version v1.2, the profile says v2.0"));
        pv_vm_desired_done(&out);
        pv_vm_config_done(&cur);

        /* key semantics */
        assert_true(pv_vmconfig_key_managed("tpmstate0"));
        assert_true(pv_vmconfig_key_managed("affinity"));
        assert_true(pv_vmconfig_key_managed("hookscript"));
        assert_false(pv_vmconfig_key_deletable("tpmstate0"));
        assert_false(pv_vmconfig_key_deletable("affinity"));
        assert_false(pv_vmconfig_key_deletable("hookscript"));
        assert_true(pv_vmconfig_key_hotpluggable("hookscript"));
        assert_false(pv_vmconfig_key_hotpluggable("affinity"));
        assert_false(pv_vmconfig_key_hotpluggable("tpmstate0"));
        assert_true(pv_vmconfig_value_equal("affinity", "0-3,8", "8,0,1,2,3"));
        assert_false(pv_vmconfig_value_equal("affinity", "0-3", "0-4"));
        assert_false(pv_vmconfig_value_equal("affinity", NULL, "0-3"));
        pv_profile_free(p);
        pv_diags_done(&d);
}

/* Planning against a config that already holds the values (as Proxmox stores them) gives no action;
 * a profile without the keys leaves them (a hand-set hook script stays, the TPM state holds keys);
 * a different affinity is an update that waits for a restart on a running VM. */
static void test_plan_noop_and_removal(void **state) {
        (void)state;
        struct pv_diags d = { 0 };
        struct pv_profile *p = load(HEAD_ROOT
                                    "vms:\n"
                                    "  - name: a\n"
                                    "    node: pve1\n"
                                    "    tpm: {storage: local-lvm}\n"
                                    "    affinity: 0-3\n"
                                    "    hookscript: local:snippets/h.sh\n",
                                    &d, 0);
        struct pv_observed o = { 0 };
        o.nodes = calloc(1, sizeof *o.nodes);
        o.nodes[o.n_nodes++] = (struct pv_node_info){ strdup("pve1"), strdup("online") };
        o.vms = calloc(1, sizeof *o.vms);
        o.vms[o.n_vms++] = (struct pv_vm_info){ .vmid = 100, .node = strdup("pve1"), .name = strdup("a"),
                                                .status = strdup("stopped"), .tags = strdup("pvfio") };
        o.configs = calloc(1, sizeof *o.configs);
        o.configs[0] = (struct pv_vm_config){ .vmid = 100, .node = strdup("pve1"), .digest = strdup("d") };
        o.n_configs = 1;
        add_kv(&o.configs[0], "name", "a");
        add_kv(&o.configs[0], "tags", "pvfio");
        add_kv(&o.configs[0], "tpmstate0", "local-lvm:vm-100-disk-0,size=4M,version=v2.0");
        add_kv(&o.configs[0], "affinity", "0,1,2,3");
        add_kv(&o.configs[0], "hookscript", "local:snippets/h.sh");
        struct pv_vm_plan_opts opts = { 0 };
        struct pv_plan plan = { 0 };
        assert_int_equal(pv_vm_plan_build(p, &o, &opts, &plan, NULL), 0);
        assert_int_equal(plan.n, 0);
        pv_plan_done(&plan);
        pv_profile_free(p);

        p = load(HEAD_ROOT "vms:\n  - name: a\n    node: pve1\n", &d, 0);
        memset(&plan, 0, sizeof plan);
        assert_int_equal(pv_vm_plan_build(p, &o, &opts, &plan, NULL), 0);
        assert_int_equal(plan.n, 0);
        pv_plan_done(&plan);
        pv_profile_free(p);

        p = load(HEAD_ROOT "vms:\n  - name: a\n    node: pve1\n    affinity: 4-7\n    hookscript: local:snippets/g.sh\n",
                 &d, 0);
        free(o.vms[0].status);
        o.vms[0].status = strdup("running");
        memset(&plan, 0, sizeof plan);
        assert_int_equal(pv_vm_plan_build(p, &o, &opts, &plan, NULL), 0);
        assert_int_equal(plan.n, 1);
        assert_int_equal(plan.actions[0].kind, PV_ACT_UPDATE_VM);
        assert_int_equal(plan.actions[0].n_keys, 2);
        assert_string_equal(plan.actions[0].keys[0].key, "affinity");
        assert_string_equal(plan.actions[0].keys[0].after, "4-7");
        assert_true(plan.actions[0].keys[0].pending_until_restart);
        assert_string_equal(plan.actions[0].keys[1].key, "hookscript");
        assert_string_equal(plan.actions[0].keys[1].after, "local:snippets/g.sh");
        assert_false(plan.actions[0].keys[1].pending_until_restart);
        pv_plan_done(&plan);
        pv_profile_free(p);
        pv_observed_done(&o);
        pv_diags_done(&d);
}

/* Which changes Proxmox hot-plugs into a running VM (qemu-server's vmconfig_hotplug_pending): usbN
 * only with `usb` in `hotplug`, a machine version of 7.1 or newer and ostype l26 or Windows > 7. */
static void test_hotplug_rules(void **state) {
        (void)state;
        static const struct {
                const char *key, *ostype, *machine, *hotplug;
                bool live;
        } cases[] = {
                { "usb0", "l26", NULL, NULL, true },
                { "usb0", NULL, NULL, NULL, false },           /* no ostype: never */
                { "usb0", "win11", NULL, NULL, true },
                { "usb0", "win8", NULL, NULL, true },
                { "usb0", "win7", NULL, NULL, false },
                { "usb0", "w2k8", NULL, NULL, false },
                { "usb0", "other", NULL, NULL, false },
                { "usb0", "l26", "pc-q35-6.2", NULL, false },  /* pinned before 7.1 */
                { "usb0", "l26", "pc-i440fx-7.1+pve0", NULL, true },
                { "usb0", "l26", "type=pc-q35-7.0,viommu=intel", NULL, false },
                { "usb0", "l26", "q35", NULL, true },          /* unpinned: the node's QEMU */
                { "usb3", "l26", NULL, "network,disk", false },
                { "usb3", "l26", NULL, "usb", true },
                { "usb3", "l26", NULL, "0", false },
                { "usb3", "l26", NULL, "1", true },
                { "net0", "other", NULL, NULL, true },
                { "net0", "l26", NULL, "disk,usb", false },
                { "scsi1", "l26", NULL, "0", false },
                { "virtio2", "l26", NULL, "disk", true },
                { "name", "l26", NULL, "0", true },            /* a fast-plug option */
                { "hostpci0", "l26", NULL, NULL, false },
        };
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                struct pv_vm_config c = { .vmid = 100 };
                if (cases[i].ostype)
                        add_kv(&c, "ostype", cases[i].ostype);
                if (cases[i].machine)
                        add_kv(&c, "machine", cases[i].machine);
                if (cases[i].hotplug)
                        add_kv(&c, "hotplug", cases[i].hotplug);
                if (pv_vmconfig_key_hotplugs(cases[i].key, &c) != cases[i].live)
                        fail_msg("case %zu: %s (ostype %s, machine %s, hotplug %s): expected %s", i, cases[i].key,
                                 cases[i].ostype ? cases[i].ostype : "-", cases[i].machine ? cases[i].machine : "-",
                                 cases[i].hotplug ? cases[i].hotplug : "-", cases[i].live ? "live" : "pending");
                for (size_t k = 0; k < c.n; k++) {
                        free(c.kv[k].key);
                        free(c.kv[k].value);
                }
                free(c.kv);
        }
}

/* ------------------------------------------------------------------ usb */

static void test_usb_profile_errors(void **state) {
        (void)state;
        struct pv_diags d = { 0 };
        load(HEAD_TOKEN
             "vms:\n"                                   /* 5 */
             "  - name: a\n"
             "    node: pve1\n"
             "    usb:\n"
             "      - host: 046d:c52b\n"               /* 9: raw with a token */
             "      - mapping: kbd\n"                  /* 10: fine */
             "      - host: spice\n"                   /* 11: fine (not a real device) */
             "      - {host: 1-2, mapping: x1}\n"      /* 12 */
             "      - host: 1-.2\n"                    /* 13 */
             "      - {mapping: kbd, index: 14}\n"     /* 14 */
             "      - {mapping: m2, index: 3, usb3: 1}\n" /* 15 */
             "      - {mapping: m3, index: 3}\n"       /* 16 */
             "usb_mappings:\n"
             "  - {id: kbd, map: [{node: pve1, id: 046d:c52b}]}\n"
             "  - {id: m2, map: [{node: pve1, path: 1-2}]}\n"
             "  - {id: m3, map: [{node: pve1, path: 1-3}]}\n",
             &d, -PV_EINVAL);
        const struct pv_diag *x = diag_at(&d, 9, 9, "only root can set 'usbN' config for real devices");
        assert_string_equal(x->key, "vms[0].usb[0].host");
        diag_at(&d, 12, 9, "exactly one of 'host' or 'mapping'");
        diag_at(&d, 13, 15, "must be a USB device VENDOR:PRODUCT");
        diag_at(&d, 14, 31, "must be an integer 0-13");
        diag_at(&d, 15, 39, "must be true or false");
        diag_at(&d, 16, 9, "uses index 3, which usb[6] already has");
        for (size_t i = 0; i < d.n; i++)
                assert_true(d.v[i].line != 10 && d.v[i].line != 11);
        pv_diags_done(&d);
}

static void test_usb_translate(void **state) {
        (void)state;
        struct pv_diags d = { 0 };
        struct pv_profile *p = load(HEAD_ROOT
                                    "vms:\n"
                                    "  - name: a\n"
                                    "    node: pve1\n"
                                    "    usb:\n"
                                    "      - host: 0x046D:C52B\n"
                                    "      - {mapping: kbd, usb3: true}\n"
                                    "      - {host: 1-2.3, index: 0}\n"
                                    "usb_mappings:\n"
                                    "  - {id: kbd, map: [{node: pve1, id: 046d:c52b}]}\n",
                                    &d, 0);
        struct pv_vm_xlate_ctx ctx = { .profile = p };
        struct pv_vm_desired out;
        assert_int_equal(pv_vm_translate(&p->vms[0], &ctx, &out, NULL), 0);
        assert_string_equal(pv_vm_desired_get(&out, "usb0"), "host=1-2.3");
        assert_string_equal(pv_vm_desired_get(&out, "usb1"), "host=046d:c52b");
        assert_string_equal(pv_vm_desired_get(&out, "usb2"), "mapping=kbd,usb3=1");
        pv_vm_desired_done(&out);

        /* devices keep the index they already have; Proxmox's spellings compare equal */
        struct pv_vm_config cur = { .vmid = 100 };
        add_kv(&cur, "usb5", "mapping=kbd,usb3=1");
        add_kv(&cur, "usb7", "host=0x046d:0xC52B");
        ctx.current = &cur;
        ctx.vmid = 100;
        assert_int_equal(pv_vm_translate(&p->vms[0], &ctx, &out, NULL), 0);
        assert_string_equal(pv_vm_desired_get(&out, "usb0"), "host=1-2.3");
        assert_string_equal(pv_vm_desired_get(&out, "usb5"), "mapping=kbd,usb3=1");
        assert_string_equal(pv_vm_desired_get(&out, "usb7"), "host=046d:c52b");
        assert_null(pv_vm_desired_get(&out, "usb1"));
        assert_true(pv_vmconfig_value_equal("usb7", "host=046d:c52b", "host=0x046d:0xC52B"));
        assert_true(pv_vmconfig_value_equal("usb7", "host=046d:c52b", "046d:c52b,usb3=0"));
        assert_false(pv_vmconfig_value_equal("usb7", "host=046d:c52b", "host=046d:c52b,usb3=1"));
        assert_false(pv_vmconfig_value_equal("usb7", "host=046d:c52b", "mapping=kbd"));
        assert_false(pv_vmconfig_value_equal("usb7", "host=1-2", "host=1-2.1"));
        pv_vm_desired_done(&out);
        pv_vm_config_done(&cur);

        assert_true(pv_vmconfig_key_managed("usb0"));
        assert_true(pv_vmconfig_key_managed("usb13"));
        assert_false(pv_vmconfig_key_managed("usb14"));
        assert_false(pv_vmconfig_key_managed("usb01"));
        assert_true(pv_vmconfig_key_deletable("usb3"));
        assert_true(pv_vmconfig_key_hotpluggable("usb3"));
        pv_profile_free(p);
        pv_diags_done(&d);
}

/* ------------------------------------------------ looking glass, evdev */

static void test_lg_size(void **state) {
        (void)state;
        /* Looking Glass: w × h × 4 × 2 bytes + 10 MiB, rounded up to a power of two */
        assert_int_equal(pv_lg_size_mib(1920, 1080), 32);
        assert_int_equal(pv_lg_size_mib(2560, 1440), 64);
        assert_int_equal(pv_lg_size_mib(3840, 2160), 128);
        assert_int_equal(pv_lg_size_mib(1280, 720), 32);  /* 7.03 + 10 = 17.03 → 32 */
        assert_int_equal(pv_lg_size_mib(640, 480), 16);   /* 2.34 + 10 → 16 */
}

static void test_lg_evdev_translate(void **state) {
        (void)state;
        struct pv_diags d = { 0 };
        struct pv_profile *p = load(HEAD_ROOT
                                    "vms:\n"
                                    "  - name: a\n"
                                    "    node: pve1\n"
                                    "    machine: q35\n"
                                    "    looking_glass: {width: 2560, height: 1440, owner: alice}\n"
                                    "    evdev:\n"
                                    "      - usb-Logi-event-kbd\n"
                                    "      - /dev/input/by-id/usb-Razer-event-mouse\n"
                                    "      - {device: usb-Other-event-kbd, repeat: false}\n",
                                    &d, 0);
        const char *ours = "-device ivshmem-plain,memdev=ivshmem,bus=pcie.0 -object memory-backend-file,id=ivshmem,"
                           "share=on,mem-path=/dev/shm/looking-glass,size=64M "
                           "-object input-linux,id=pvfio-evdev0,evdev=/dev/input/by-id/usb-Logi-event-kbd,grab_all=on,"
                           "repeat=on "
                           "-object input-linux,id=pvfio-evdev1,evdev=/dev/input/by-id/usb-Razer-event-mouse "
                           "-object input-linux,id=pvfio-evdev2,evdev=/dev/input/by-id/usb-Other-event-kbd,grab_all=on";
        struct pv_vm_xlate_ctx ctx = { .profile = p };
        struct pv_vm_desired out;
        assert_int_equal(pv_vm_translate(&p->vms[0], &ctx, &out, NULL), 0);
        assert_string_equal(pv_vm_desired_get(&out, "args"), ours);
        pv_vm_desired_done(&out);

        /* the user's own arguments stay in front, in their spelling; pvfio's old words are replaced */
        struct pv_vm_config cur = { .vmid = 100 };
        add_kv(&cur, "args",
               "-no-reboot  -object input-linux,id=pvfio-evdev0,evdev=/dev/input/by-id/old-event-kbd "
               "-smbios 'type=0,vendor=FOO BAR'");
        ctx.current = &cur;
        ctx.vmid = 100;
        assert_int_equal(pv_vm_translate(&p->vms[0], &ctx, &out, NULL), 0);
        char *want = NULL;
        assert_true(asprintf(&want, "-no-reboot -smbios 'type=0,vendor=FOO BAR' %s", ours) > 0);
        assert_string_equal(pv_vm_desired_get(&out, "args"), want);
        /* equal modulo blanks and quoting; a changed user word is a difference */
        assert_true(pv_vmconfig_value_equal("args", want, "-no-reboot   -smbios \"type=0,vendor=FOO BAR\" "
                                                            "-device ivshmem-plain,memdev=ivshmem,bus=pcie.0 "
                                                            "-object memory-backend-file,id=ivshmem,share=on,"
                                                            "mem-path=/dev/shm/looking-glass,size=64M "
                                                            "-object input-linux,id=pvfio-evdev0,evdev=/dev/input/"
                                                            "by-id/usb-Logi-event-kbd,grab_all=on,repeat=on "
                                                            "-object input-linux,id=pvfio-evdev1,evdev=/dev/input/"
                                                            "by-id/usb-Razer-event-mouse "
                                                            "-object input-linux,id=pvfio-evdev2,evdev=/dev/input/"
                                                            "by-id/usb-Other-event-kbd,grab_all=on"));
        assert_false(pv_vmconfig_value_equal("args", want, ours));
        free(want);
        pv_vm_desired_done(&out);
        pv_profile_free(p);

        /* a profile without them: the user's words stay (no change), pvfio's go */
        p = load(HEAD_ROOT "vms:\n  - name: a\n    node: pve1\n", &d, 0);
        assert_int_equal(pv_vm_translate(&p->vms[0], &ctx, &out, NULL), 0);
        assert_string_equal(pv_vm_desired_get(&out, "args"), "-no-reboot -smbios 'type=0,vendor=FOO BAR'");
        pv_vm_desired_done(&out);
        free(cur.kv[0].value);
        cur.kv[0].value = strdup("-object input-linux,id=pvfio-evdev0,evdev=/dev/input/by-id/old-event-kbd");
        assert_int_equal(pv_vm_translate(&p->vms[0], &ctx, &out, NULL), 0);
        assert_null(pv_vm_desired_get(&out, "args")); /* only pvfio's were there: deleted */
        assert_true(pv_vmconfig_key_deletable("args"));
        assert_false(pv_vmconfig_key_hotpluggable("args"));
        pv_vm_desired_done(&out);
        pv_vm_config_done(&cur);
        pv_profile_free(p);

        /* i440fx has no pcie.0 */
        p = load(HEAD_ROOT "vms:\n  - name: a\n    node: pve1\n    looking_glass: {size: 32M}\n", &d, 0);
        ctx.current = NULL;
        assert_int_equal(pv_vm_translate(&p->vms[0], &ctx, &out, NULL), 0);
        assert_string_equal(pv_vm_desired_get(&out, "args"),
                            "-device ivshmem-plain,memdev=ivshmem,bus=pci.0 -object memory-backend-file,id=ivshmem,"
                            "share=on,mem-path=/dev/shm/looking-glass,size=32M");
        pv_vm_desired_done(&out);
        pv_profile_free(p);
        pv_diags_done(&d);
}

static void test_lg_evdev_errors(void **state) {
        (void)state;
        struct pv_diags d = { 0 };
        load(HEAD_TOKEN
             "vms:\n"                                                  /* 5 */
             "  - name: a\n"
             "    node: pve1\n"
             "    looking_glass: {width: 1920, height: 1080}\n"       /* 8: token → args is root only */
             "    evdev: [usb-x-event-kbd]\n"                          /* 9 */
             "  - name: b\n"
             "    node: pve1\n"
             "    looking_glass: {size: 48M, width: 1}\n"              /* 12 */
             "    evdev: [\"a,b\", {device: ../x}, {grab_all: true}]\n" /* 13 */
             "  - name: c\n"
             "    node: pve1\n"
             "    looking_glass: {width: 800, height: 600, owner: Bob, path: /tmp/x}\n" /* 16 */
             "  - name: e\n"
             "    node: pve1\n"
             "    looking_glass: {size: 32M}\n",                         /* 19: same file as a on pve1 */
             &d, -PV_EINVAL);
        const struct pv_diag *x = diag_at(&d, 8, 5, "only root can set 'args' config");
        assert_string_equal(x->key, "vms[0].looking_glass");
        diag_at(&d, 9, 5, "'evdev' goes into the VM's 'args'");
        diag_at(&d, 12, 21, "takes either width and height or size, not both");
        diag_at(&d, 12, 27, "must be a power of two in MiB");
        diag_at(&d, 12, 39, "must be a width in pixels 320-16384");
        diag_at(&d, 13, 13, "must be an input device");
        diag_at(&d, 13, 29, "must be an input device");
        diag_at(&d, 13, 36, "missing required key 'device'");
        diag_at(&d, 16, 53, "must be the user name the Looking Glass client runs as");
        diag_at(&d, 16, 64, "must be a file under /dev/shm/");
        x = diag_at(&d, 19, 5, "uses the shared memory file '/dev/shm/looking-glass' of vm 'a' on node 'pve1'");
        assert_string_equal(x->key, "vms[3].looking_glass");
        pv_diags_done(&d);
}

static void test_lg_host_plan(void **state) {
        (void)state;
        struct pv_diags d = { 0 };
        struct pv_profile *p = load("version: 1\n"
                                    "vms:\n"
                                    "  - name: zeta\n"
                                    "    node: pve1\n"
                                    "    looking_glass: {size: 64M, owner: alice, path: /dev/shm/lg-zeta}\n"
                                    "  - name: alpha\n"
                                    "    node: pve1\n"
                                    "    looking_glass: {size: 32M}\n"
                                    "  - name: elsewhere\n"
                                    "    node: pve2\n"
                                    "    looking_glass: {size: 32M}\n",
                                    &d, 0);
        struct pv_host_state s = { 0 };
        struct pv_host_extras x = { 0 };
        struct pv_plan plan = { 0 };
        assert_int_equal(pv_host_extras_plan(p, "pve1", &s, &x, &plan, NULL), 0);
        assert_int_equal(plan.n, 2);
        assert_int_equal(plan.actions[0].kind, PV_ACT_WRITE_FILE);
        assert_string_equal(plan.actions[0].target, "etc/tmpfiles.d/pvfio-looking-glass.conf");
        assert_null(plan.actions[0].before);
        const char *want = "# Managed by pvfio: Looking Glass shared memory, one file per VM (QEMU writes, the\n"
                           "# client reads). Overwritten by 'pvfio host apply'; 'pvfio host rollback' removes it.\n"
                           "f /dev/shm/looking-glass 0660 root kvm -\n"
                           "f /dev/shm/lg-zeta 0660 alice kvm -\n";
        assert_string_equal(plan.actions[0].after, want);
        assert_int_equal(plan.actions[1].kind, PV_ACT_RUN_COMMAND);
        assert_string_equal(plan.actions[1].after, "systemd-tmpfiles --create /etc/tmpfiles.d/pvfio-looking-glass.conf");
        assert_int_equal(plan.actions[1].depends_on, 1);
        pv_plan_done(&plan);
        /* applied: nothing to do */
        x.lg_tmpfiles = (char *)want;
        memset(&plan, 0, sizeof plan);
        assert_int_equal(pv_host_extras_plan(p, "pve1", &s, &x, &plan, NULL), 0);
        assert_int_equal(plan.n, 0);
        pv_plan_done(&plan);
        /* no Looking Glass VM left on the node: the file goes, nothing is run */
        memset(&plan, 0, sizeof plan);
        assert_int_equal(pv_host_extras_plan(p, "pve3", &s, &x, &plan, NULL), 0);
        assert_int_equal(plan.n, 1);
        assert_int_equal(plan.actions[0].kind, PV_ACT_REMOVE_FILE);
        assert_null(plan.actions[0].after);
        pv_plan_done(&plan);
        pv_profile_free(p);
        pv_diags_done(&d);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_cpuset),
                cmocka_unit_test(test_profile_keys),
                cmocka_unit_test(test_profile_errors),
                cmocka_unit_test(test_translate),
                cmocka_unit_test(test_plan_noop_and_removal),
                cmocka_unit_test(test_hotplug_rules),
                cmocka_unit_test(test_usb_profile_errors),
                cmocka_unit_test(test_usb_translate),
                cmocka_unit_test(test_lg_size),
                cmocka_unit_test(test_lg_evdev_translate),
                cmocka_unit_test(test_lg_evdev_errors),
                cmocka_unit_test(test_lg_host_plan),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
