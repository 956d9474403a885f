/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for the rest of a passthrough setup (issue 14): CPU lists, the
 * profile keys (tpm, affinity, hookscript), their translation to Proxmox keys
 * and the host-side checks (affinity vs a GPU's NUMA node).
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

/* ------------------------------------------------------------- helpers */

static struct pv_profile *load(const char *yaml, struct pv_diags *d, int want) {
        struct pv_profile *p = NULL;
        struct pv_error e = PV_ERROR_INIT;
        int r = pv_profile_parse_mem(yaml, strlen(yaml), "t.yaml", &p, d, &e);
        if (r != want)
                for (size_t i = 0; i < d->n; i++)
                        print_message("  %u:%u %s\n", d->v[i].line, d->v[i].col, d->v[i].message);
        assert_int_equal(r, want);
        pv_error_done(&e);
        return p;
}

/* The diagnostic at line:col whose message contains text (fails when there is none). */
static const struct pv_diag *diag_at(const struct pv_diags *d, unsigned line, unsigned col, const char *text) {
        for (size_t i = 0; i < d->n; i++)
                if (d->v[i].line == line && d->v[i].col == col && strstr(d->v[i].message, text))
                        return &d->v[i];
        for (size_t i = 0; i < d->n; i++)
                print_message("  have %u:%u %s\n", d->v[i].line, d->v[i].col, d->v[i].message);
        fail_msg("no diagnostic at %u:%u containing '%s'", line, col, text);
        return NULL;
}

#define HEAD_ROOT                                                                                                     \
        "version: 1\n"                                                                                                \
        "cluster:\n"                                                                                                  \
        "  api: https://pve1:8006\n"                                                                                  \
        "  auth: {user: root@pam, password_env: PW}\n"
#define HEAD_TOKEN                                                                                                    \
        "version: 1\n"                                                                                                \
        "cluster:\n"                                                                                                  \
        "  api: https://pve1:8006\n"                                                                                  \
        "  auth: {token: pvfio@pve!auto, secret_env: S}\n"

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

/* A synthetic option ROM image (PCI Firmware Specification layout; no vendor firmware). */
static size_t rom_image(uint8_t *p, uint16_t ven, uint16_t dev, uint8_t code, bool last, unsigned blocks) {
        memset(p, 0, blocks * 512u);
        p[0] = 0x55, p[1] = 0xaa;
        if (code == 3) {
                p[4] = 0xf1, p[5] = 0x0e;     /* EfiSignature 0x0EF1 */
                p[0x0a] = 0x64, p[0x0b] = 0x86; /* machine type x64 */
        }
        p[0x18] = 0x40;
        memcpy(p + 0x40, "PCIR", 4);
        p[0x44] = ven & 0xff, p[0x45] = ven >> 8, p[0x46] = dev & 0xff, p[0x47] = dev >> 8;
        p[0x50] = blocks & 0xff, p[0x51] = blocks >> 8;
        p[0x54] = code;
        p[0x55] = last ? 0x80 : 0;
        return blocks * 512u;
}

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
                cmocka_unit_test(test_cpuset),
                cmocka_unit_test(test_profile_keys),
                cmocka_unit_test(test_profile_errors),
                cmocka_unit_test(test_translate),
                cmocka_unit_test(test_plan_noop_and_removal),
                cmocka_unit_test(test_numa_warning),
                cmocka_unit_test(test_numa_load),
                cmocka_unit_test(test_usb_profile_errors),
                cmocka_unit_test(test_usb_translate),
                cmocka_unit_test(test_lg_size),
                cmocka_unit_test(test_lg_evdev_translate),
                cmocka_unit_test(test_lg_evdev_errors),
                cmocka_unit_test(test_lg_host_plan),
                cmocka_unit_test(test_hugepages),
                cmocka_unit_test(test_rom_parse),
                cmocka_unit_test(test_rom_read_and_ovmf_warning),
                cmocka_unit_test(test_vendor_reset),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
