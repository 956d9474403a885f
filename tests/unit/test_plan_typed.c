/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Typed plan actions: the action-kind table, payload setters and keys, the JSON plan v2 round trip, v1 still read. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pvfio/plan.h"
#include "pvfio/planjson.h"

static void test_kind_table(void **state) {
        (void)state;
        for (int k = 0; k < _PV_ACT_MAX; k++) {
                const struct pv_action_kind_info *ki = pv_action_kind_info((enum pv_action_kind)k);
                assert_non_null(ki);
                assert_int_equal(ki->kind, k); /* rows in enum order */
                assert_non_null(ki->name);
                assert_int_equal(pv_action_kind_from_string(ki->name), k);
                assert_true(ki->payload != PV_PAYLOAD_NONE);
                bool host = k < PV_ACT_CREATE_MAPPING; /* host kinds first */
                assert_int_equal(pv_action_is_host((enum pv_action_kind)k), host);
                assert_int_equal(ki->scope, host ? PV_SCOPE_HOST : PV_SCOPE_CLUSTER);
                assert_true(host ? ki->verb == NULL : ki->verb != NULL);
                for (int j = 0; j < k; j++)
                        assert_string_not_equal(pv_action_kind_info((enum pv_action_kind)j)->name, ki->name);
        }
        assert_null(pv_action_kind_info(_PV_ACT_MAX));
        assert_null(pv_action_kind_to_string((enum pv_action_kind)-1));
        assert_false(pv_action_is_host(_PV_ACT_MAX));
        assert_string_equal(pv_action_kind_to_string(PV_ACT_UPDATE_VM), "update-vm");
}

static int add(struct pv_plan *p, enum pv_action_kind k, const char *target, const char *node) {
        struct pv_action a = { .kind = k };
        a.target = strdup(target);
        a.node = node ? strdup(node) : NULL;
        a.reason = strdup("because");
        int i = pv_plan_add(p, &a, NULL);
        assert_true(i >= 0);
        return i;
}

/* One action of every payload type, on two nodes and the cluster. */
static void build(struct pv_plan *p) {
        static const char *const argv[] = { "update-initramfs", "-u", "-k", "all", NULL };
        char *entries[] = { "node=pve1,path=0000:01:00.0,id=10de:2507", "node=pve2,path=0000:02:00.0,id=10de:2507",
                            NULL };
        int i = add(p, PV_ACT_WRITE_FILE, "etc/modprobe.d/pvfio.conf", "pve1");
        p->actions[i].after = strdup("options vfio-pci ids=10de:2507\n");
        assert_int_equal(pv_action_set_file(&p->actions[i], "etc/modprobe.d/pvfio.conf", 0644, NULL), 0);
        i = add(p, PV_ACT_WRITE_FILE, "etc/modprobe.d/pvfio.conf", "pve2");
        assert_int_equal(pv_action_set_file(&p->actions[i], "etc/modprobe.d/pvfio.conf", 0644, NULL), 0);
        i = add(p, PV_ACT_RUN_COMMAND, "update-initramfs", "pve1");
        p->actions[i].after = strdup("update-initramfs -u -k all");
        p->actions[i].depends_on = 1;
        assert_int_equal(pv_action_set_command(&p->actions[i], argv, NULL), 0);
        i = add(p, PV_ACT_REBIND_DEVICE, "0000:01:00.0", "pve1");
        assert_int_equal(pv_action_set_rebind(&p->actions[i], "0000:01:00.0", "vfio-pci", NULL), 0);
        i = add(p, PV_ACT_SET_SRIOV, "0000:00:02.0", "pve1");
        assert_int_equal(pv_action_set_sriov(&p->actions[i], "0000:00:02.0", 7, NULL), 0);
        i = add(p, PV_ACT_CREATE_MAPPING, "mapping rtx3050", NULL);
        assert_int_equal(pv_action_set_mapping(&p->actions[i], "rtx3050", entries, 2, "GPU [pvfio]", true, false, NULL),
                         0);
        i = add(p, PV_ACT_CREATE_VM, "vm gpu-07", "pve1");
        assert_int_equal(pv_action_set_vm(&p->actions[i], "gpu-07", 0, NULL), 0);
        i = add(p, PV_ACT_START_VM, "vm gpu-07", "pve1");
        assert_int_equal(pv_action_set_vm(&p->actions[i], "gpu-07", 107, NULL), 0);
        assert_int_equal(pv_plan_add_reboot(p, "pve1", "kernel arguments not active yet", NULL), 0);
        assert_int_equal(pv_plan_add_reboot(p, NULL, "no node", NULL), 0);
}

static void test_setters_and_keys(void **state) {
        (void)state;
        struct pv_plan p = PV_PLAN_INIT;
        build(&p);
        assert_string_equal(p.actions[0].key, "file:etc/modprobe.d/pvfio.conf");
        assert_string_equal(p.actions[2].key, "command:update-initramfs -u -k all");
        assert_string_equal(p.actions[3].key, "rebind:0000:01:00.0");
        assert_string_equal(p.actions[4].key, "sriov:0000:00:02.0");
        assert_string_equal(p.actions[5].key, "mapping:rtx3050:create");
        assert_string_equal(p.actions[6].key, "vm:gpu-07:create");
        assert_string_equal(p.actions[7].key, "vm:gpu-07:start");
        assert_string_equal(pv_action_command(&p.actions[2])->argv[3], "all");
        assert_null(pv_action_command(&p.actions[2])->argv[4]);
        assert_null(pv_action_command(&p.actions[0]));
        assert_int_equal(pv_action_mapping(&p.actions[5])->n_entries, 2);
        assert_null(pv_action_mapping(&p.actions[5])->entries[2]);
        /* a key names one action per node */
        assert_ptr_equal(pv_plan_find_key(&p, "pve2", "file:etc/modprobe.d/pvfio.conf"), &p.actions[1]);
        assert_ptr_equal(pv_plan_find_key(&p, NULL, "mapping:rtx3050:create"), &p.actions[5]);
        assert_null(pv_plan_find_key(&p, "pve3", "file:etc/modprobe.d/pvfio.conf"));
        /* both reboot lists, in step */
        assert_int_equal(p.n_reboots, 2);
        assert_int_equal(p.n_reboot_reasons, 2);
        assert_string_equal(p.reboot_reasons[0], "pve1: kernel arguments not active yet");
        assert_string_equal(p.reboots[0].node, "pve1");
        assert_string_equal(p.reboots[0].text, "kernel arguments not active yet");
        assert_string_equal(p.reboot_reasons[1], "no node");
        assert_null(p.reboots[1].node);
        /* setting again replaces the payload; an empty command is refused */
        assert_int_equal(pv_action_set_vm(&p.actions[7], "gpu-08", 108, NULL), 0);
        assert_string_equal(p.actions[7].key, "vm:gpu-08:start");
        static const char *const none[] = { NULL };
        struct pv_error e = PV_ERROR_INIT;
        assert_int_equal(pv_action_set_command(&p.actions[2], none, &e), -PV_EINVAL);
        pv_error_done(&e);
        assert_string_equal(p.actions[2].key, "command:update-initramfs -u -k all");
        /* appending moves the structured reasons too */
        struct pv_plan q = PV_PLAN_INIT;
        assert_int_equal(pv_plan_add_reboot(&q, "pve9", "x", NULL), 0);
        assert_int_equal(pv_plan_append(&q, &p, NULL), 0);
        assert_int_equal(q.n_reboots, 3);
        assert_int_equal(q.n_reboot_reasons, 3);
        assert_string_equal(q.reboots[1].node, "pve1");
        assert_int_equal(q.actions[2].depends_on, 1);
        assert_string_equal(q.actions[2].key, "command:update-initramfs -u -k all");
        pv_plan_done(&q);
        pv_plan_done(&p);
}

static json_t *reparse(json_t *doc, struct pv_plan *back) {
        char *text = json_dumps(doc, 0);
        json_t *parsed = NULL;
        assert_int_equal(pv_plan_json_parse(text, strlen(text), &parsed, NULL), 0);
        free(text);
        struct pv_error e = PV_ERROR_INIT;
        int r = pv_plan_from_json(parsed, back, &e);
        if (r < 0)
                fail_msg("%s", pv_error_message(&e));
        return parsed;
}

static void test_json_v2_roundtrip(void **state) {
        (void)state;
        struct pv_plan p = PV_PLAN_INIT;
        build(&p);
        json_t *doc = pv_plan_to_json(&p);
        assert_int_equal(json_integer_value(json_object_get(doc, "format_version")), 2);
        json_t *a0 = json_array_get(json_object_get(doc, "actions"), 0);
        assert_string_equal(json_string_value(json_object_get(a0, "key")), "file:etc/modprobe.d/pvfio.conf");
        assert_int_equal(json_integer_value(json_object_get(json_object_get(a0, "payload"), "mode")), 0644);
        struct pv_plan back;
        json_t *parsed = reparse(doc, &back);
        assert_int_equal(back.n, p.n);
        for (size_t i = 0; i < p.n; i++) {
                assert_string_equal(back.actions[i].key, p.actions[i].key);
                assert_int_equal(back.actions[i].payload_kind, p.actions[i].payload_kind);
        }
        assert_string_equal(pv_action_command(&back.actions[2])->argv[1], "-u");
        const struct pv_mapping_payload *m = pv_action_mapping(&back.actions[5]);
        assert_string_equal(m->id, "rtx3050");
        assert_int_equal(m->n_entries, 2);
        assert_string_equal(m->entries[1], "node=pve2,path=0000:02:00.0,id=10de:2507");
        assert_string_equal(m->description, "GPU [pvfio]");
        assert_true(m->mdev);
        assert_false(m->live_migration_capable);
        assert_int_equal(back.actions[4].payload.sriov.numvfs, 7);
        assert_string_equal(back.actions[3].payload.rebind.driver, "vfio-pci");
        assert_int_equal(pv_action_vm(&back.actions[7])->vmid, 107);
        assert_int_equal(pv_action_vm(&back.actions[6])->vmid, 0);
        assert_int_equal(back.n_reboots, 2);
        assert_string_equal(back.reboots[0].node, "pve1");
        assert_string_equal(back.reboot_reasons[0], "pve1: kernel arguments not active yet");
        assert_null(back.reboots[1].node);
        json_t *again = pv_plan_to_json(&back);
        assert_true(json_equal(doc, again)); /* everything the document carries survives */
        json_decref(again);
        json_decref(parsed);
        json_decref(doc);
        pv_plan_done(&back);
        pv_plan_done(&p);
}

static int decode(const char *text, struct pv_plan *ret, struct pv_error *err) {
        json_t *doc = NULL;
        int r = pv_plan_json_parse(text, strlen(text), &doc, err);
        if (r == 0)
                r = pv_plan_from_json(doc, ret, err);
        json_decref(doc);
        return r;
}

static void test_json_v1_still_read(void **state) {
        (void)state;
        /* what a pvfio before typed actions sends: no key, no payload, reboot reasons as strings */
        const char *v1 = "{\"format_version\": 1, \"actions\": [{\"kind\": \"run-command\", \"target\": "
                         "\"update-initramfs\", \"after\": \"update-initramfs -u -k all\", \"key\": \"ignored\"}],"
                         " \"reboot_reasons\": [\"pve3: kernel arguments not active yet\"]}";
        struct pv_plan p;
        assert_int_equal(decode(v1, &p, NULL), 0);
        assert_int_equal(p.n, 1);
        assert_null(p.actions[0].key); /* version 1 has no keys: a stray member is not read */
        assert_int_equal(p.actions[0].payload_kind, PV_PAYLOAD_NONE);
        assert_null(pv_action_command(&p.actions[0]));
        assert_string_equal(p.actions[0].after, "update-initramfs -u -k all");
        assert_int_equal(p.n_reboot_reasons, 1);
        assert_int_equal(p.n_reboots, 0);
        pv_plan_done(&p);
}

static void test_json_v2_errors(void **state) {
        (void)state;
        static const struct {
                const char *doc, *msg;
        } bad[] = {
                { "{\"format_version\": 2, \"actions\": [{\"kind\": \"run-command\", \"payload\": {\"argv\": [\"x\"]}}]}",
                  "actions[0].key: missing" },
                { "{\"format_version\": 2, \"actions\": [{\"kind\": \"run-command\", \"key\": \"command:x\"}]}",
                  "actions[0].payload: missing or not an object" },
                { "{\"format_version\": 2, \"actions\": [{\"kind\": \"run-command\", \"key\": \"c\", \"payload\": "
                  "{\"argv\": []}}]}",
                  "actions[0].payload.argv: empty command" },
                { "{\"format_version\": 2, \"actions\": [{\"kind\": \"set-sriov\", \"key\": \"s\", \"payload\": "
                  "{\"pf\": \"0000:00:02.0\", \"numvfs\": -1}}]}",
                  "actions[0].payload.numvfs: not a number" },
                { "{\"format_version\": 2, \"actions\": [{\"kind\": \"write-file\", \"key\": \"f\", \"payload\": "
                  "{\"mode\": 420}}]}",
                  "actions[0].payload.path: missing" },
                { "{\"format_version\": 2, \"actions\": [], \"reboots\": [{\"node\": \"pve1\"}]}",
                  "reboots[0].text: missing" },
                { "{\"format_version\": 2, \"actions\": [{\"kind\": \"create-mapping\", \"key\": \"m\", \"payload\": "
                  "{\"id\": \"x\", \"entries\": [1]}}]}",
                  "actions[0].payload.entries[0]: not a string" },
        };
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
                struct pv_plan p;
                struct pv_error e = PV_ERROR_INIT;
                assert_true(decode(bad[i].doc, &p, &e) < 0);
                assert_string_equal(pv_error_message(&e), bad[i].msg);
                pv_error_done(&e);
        }
        /* an action without payload (a plan assembled by hand) is written and read as such */
        struct pv_plan p;
        assert_int_equal(decode("{\"format_version\": 2, \"actions\": [{\"kind\": \"stop-vm\", \"key\": null, "
                                "\"payload\": null}]}",
                                &p, NULL),
                         0);
        assert_int_equal(p.actions[0].payload_kind, PV_PAYLOAD_NONE);
        pv_plan_done(&p);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_kind_table),
                cmocka_unit_test(test_setters_and_keys),
                cmocka_unit_test(test_json_v2_roundtrip),
                cmocka_unit_test(test_json_v1_still_read),
                cmocka_unit_test(test_json_v2_errors),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
