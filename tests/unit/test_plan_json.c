/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The plan JSON writer (common/plan_json.c: pv_plan_to_json) against its reader
 * (pv_plan_from_json): a plan with one action of every kind, each with every
 * common field set, is written, read back field by field and written again to
 * the same bytes. Also the summary counts and the change markers the writer uses.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pvfio/plan.h"
#include "pvfio/planjson.h"
#include "pvfio/xalloc.h"

#define DUMP_FLAGS (JSON_INDENT(2) | JSON_PRESERVE_ORDER)

/* Set the payload the kind's executor reads (kind table), with values derived from i. */
static void set_payload(struct pv_action *a, size_t i) {
        static const char sha_abc[] = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        static const char *const argv[] = { "update-initramfs", "-u", "-k", "all", NULL };
        char *entries[] = { "node=pve1,path=0000:01:00.0,id=10de:2507", NULL };
        char name[32];
        snprintf(name, sizeof name, "gpu-%02zu", i);
        switch (pv_action_kind_info(a->kind)->payload) {
        case PV_PAYLOAD_FILE:
                if (a->kind == PV_ACT_INSTALL_FILE) /* binary: bytes with NULs and non-UTF-8 */
                        assert_int_equal(pv_action_set_file_bytes(a, "usr/share/kvm/gpu.rom", 0644, "\x55\xaa\0\xff", 4,
                                                                  i % 2 ? NULL : sha_abc, NULL),
                                         0);
                else
                        assert_int_equal(pv_action_set_file(a, "etc/modprobe.d/pvfio.conf", 0640, NULL), 0);
                break;
        case PV_PAYLOAD_COMMAND:
                assert_int_equal(pv_action_set_command(a, argv, NULL), 0);
                break;
        case PV_PAYLOAD_REBIND:
                assert_int_equal(pv_action_set_rebind(a, "0000:01:00.0", "vfio-pci", NULL), 0);
                break;
        case PV_PAYLOAD_SRIOV:
                assert_int_equal(pv_action_set_sriov(a, "0000:02:00.0", 7, NULL), 0);
                break;
        case PV_PAYLOAD_VM:
                assert_int_equal(pv_action_set_vm(a, name, (uint32_t)(100 + i), NULL), 0);
                break;
        case PV_PAYLOAD_MAPPING:
                assert_int_equal(pv_action_set_mapping(a, name, entries, 1, "GPU [pvfio]", i % 2 == 0, i % 2 == 1,
                                                       NULL),
                                 0);
                break;
        case PV_PAYLOAD_NONE:
                fail_msg("kind %d has no payload", a->kind);
        }
}

/* One action of every kind, every common field set (blocked, failed, pending … spread over them). */
static void build_every_kind(struct pv_plan *p) {
        for (int k = 0; k < _PV_ACT_MAX; k++) {
                size_t i = (size_t)k;
                struct pv_action a = { .kind = (enum pv_action_kind)k };
                a.target = pv_xasprintf("target-%zu", i);
                a.node = i % 3 == 2 ? NULL : pv_xasprintf("pve%zu", i % 3 + 1);
                a.vmid = i % 2 ? (uint32_t)(100 + i) : 0;
                a.reason = pv_xasprintf("reason %zu", i);
                a.before = i % 4 == 0 ? NULL : pv_xasprintf("before %zu\nline 2\n", i);
                a.after = pv_xasprintf("after %zu", i);
                a.needs_reboot = i % 2 == 0;
                a.pending_until_restart = i % 5 == 1;
                a.unsafe = i % 7 == 3;
                a.blocked = i % 6 == 5 ? pv_xasprintf("blocked %zu", i) : NULL;
                a.depends_on = i > 0 && i % 3 == 0 ? (int)i : 0; /* the action just before (1-based) */
                a.status = (enum pv_action_status)(i % 5);
                a.error = a.status == PV_ACT_FAILED ? pv_xasprintf("failed %zu", i) : NULL;
                int ai = pv_plan_add(p, &a, NULL);
                assert_int_equal(ai, k);
                set_payload(&p->actions[ai], i);
                if (!pv_action_is_host(a.kind)) {
                        assert_int_equal(pv_plan_add_key(p, (size_t)ai, pv_xstrdup("memory"), pv_xstrdup("4096"),
                                                         pv_xstrdup("8192"), false, NULL), 0);
                        assert_int_equal(pv_plan_add_key(p, (size_t)ai, pv_xstrdup("hostpci0"), NULL,
                                                         pv_xstrdup("mapping=x"), true, NULL), 0);
                }
        }
        assert_int_equal(pv_plan_add_drift(p, pv_xstrdup("vm gpu-01: cores 4 → 8 (not managed)"), NULL), 0);
        assert_int_equal(pv_plan_add_warning(p, pv_xstrdup("a warning"), NULL), 0);
        assert_int_equal(pv_plan_add_reboot(p, "pve1", "kernel arguments not active yet", NULL), 0);
}

static char *dump(const json_t *doc) {
        char *text = json_dumps(doc, DUMP_FLAGS);
        assert_non_null(text);
        return text;
}

static void read_back(const char *text, struct pv_plan *ret) {
        json_t *parsed = NULL;
        struct pv_error e = PV_ERROR_INIT;
        if (pv_plan_json_parse(text, strlen(text), &parsed, &e) < 0 || pv_plan_from_json(parsed, ret, &e) < 0)
                fail_msg("%s", pv_error_message(&e));
        json_decref(parsed);
}

static void assert_same_str(const char *a, const char *b) {
        if (!a || !b)
                assert_ptr_equal(a, b);
        else
                assert_string_equal(a, b);
}

static void test_every_kind_roundtrip(void **state) {
        (void)state;
        struct pv_plan p = PV_PLAN_INIT;
        build_every_kind(&p);
        json_t *doc = pv_plan_to_json(&p);
        assert_non_null(doc);
        char *text = dump(doc);
        struct pv_plan back;
        read_back(text, &back);
        assert_int_equal(back.n, _PV_ACT_MAX);
        for (size_t i = 0; i < p.n; i++) {
                const struct pv_action *a = &p.actions[i], *b = &back.actions[i];
                assert_int_equal(b->kind, a->kind);
                assert_same_str(b->target, a->target);
                assert_same_str(b->node, a->node);
                assert_int_equal(b->vmid, a->vmid);
                assert_same_str(b->reason, a->reason);
                assert_same_str(b->before, a->before);
                assert_same_str(b->after, a->after);
                assert_int_equal(b->needs_reboot, a->needs_reboot);
                assert_int_equal(b->pending_until_restart, a->pending_until_restart);
                assert_int_equal(b->unsafe, a->unsafe);
                assert_same_str(b->blocked, a->blocked);
                assert_int_equal(b->depends_on, a->depends_on);
                assert_int_equal(b->status, a->status);
                assert_same_str(b->error, a->error);
                assert_same_str(b->key, a->key);
                assert_int_equal(b->payload_kind, a->payload_kind);
                if (pv_action_file(a) && pv_action_file(a)->data) {
                        const struct pv_file_payload *fa = pv_action_file(a), *fb = pv_action_file(b);
                        assert_int_equal(fb->len, fa->len);
                        assert_memory_equal(fb->data, fa->data, fa->len);
                        assert_same_str(fb->sha256, fa->sha256);
                        assert_same_str(fb->before_sha256, fa->before_sha256);
                }
                assert_int_equal(b->n_keys, a->n_keys);
                for (size_t k = 0; k < a->n_keys; k++) {
                        assert_same_str(b->keys[k].key, a->keys[k].key);
                        assert_same_str(b->keys[k].before, a->keys[k].before);
                        assert_same_str(b->keys[k].after, a->keys[k].after);
                        assert_int_equal(b->keys[k].pending_until_restart, a->keys[k].pending_until_restart);
                }
        }
        assert_int_equal(back.n_drift, 1);
        assert_int_equal(back.n_warnings, 1);
        assert_int_equal(back.n_reboots, 1);
        assert_string_equal(back.reboots[0].node, "pve1");
        /* written again: the same bytes */
        json_t *again = pv_plan_to_json(&back);
        char *text2 = dump(again);
        assert_string_equal(text2, text);
        free(text2);
        json_decref(again);
        free(text);
        json_decref(doc);
        pv_plan_done(&back);
        pv_plan_done(&p);
}

/* The document's fixed members, groups and summary as the writer derives them from the plan. */
static void test_document_shape(void **state) {
        (void)state;
        struct pv_plan p = PV_PLAN_INIT;
        build_every_kind(&p);
        struct pv_plan_counts c;
        pv_plan_counts(&p, &c);
        json_t *doc = pv_plan_to_json(&p);
        static const char *const order[] = { "format_version", "actions", "drift", "reboot_required", "reboot_reasons",
                                             "pending_restart", "warnings", "summary", "reboots", NULL };
        void *it = json_object_iter(doc);
        for (size_t i = 0; order[i]; i++, it = json_object_iter_next(doc, it)) {
                assert_non_null(it);
                assert_string_equal(json_object_iter_key(it), order[i]);
        }
        assert_null(it);
        assert_int_equal(json_integer_value(json_object_get(doc, "format_version")), PV_PLAN_FORMAT_VERSION);
        assert_true(json_is_true(json_object_get(doc, "reboot_required")));
        json_t *actions = json_object_get(doc, "actions");
        size_t n_pending = 0;
        for (size_t i = 0; i < p.n; i++) {
                const struct pv_action *a = &p.actions[i];
                json_t *o = json_array_get(actions, i);
                const char *group = json_string_value(json_object_get(o, "group"));
                assert_string_equal(group, pv_action_is_host(a->kind)                                        ? "host"
                                           : a->kind >= PV_ACT_CREATE_MAPPING && a->kind <= PV_ACT_DELETE_MAPPING ? "mapping"
                                                                                                                : "vm");
                json_t *dep = json_object_get(o, "depends_on");
                if (a->depends_on)
                        assert_int_equal(json_integer_value(dep), a->depends_on - 1); /* 0-based in the document */
                else
                        assert_true(json_is_null(dep));
                n_pending += a->pending_until_restart;
        }
        assert_int_equal(json_array_size(json_object_get(doc, "pending_restart")), n_pending);
        json_t *s = json_object_get(doc, "summary");
        assert_int_equal(json_integer_value(json_object_get(s, "add")), c.add);
        assert_int_equal(json_integer_value(json_object_get(s, "change")), c.change);
        assert_int_equal(json_integer_value(json_object_get(s, "remove")), c.del);
        assert_int_equal(json_integer_value(json_object_get(s, "blocked")), c.blocked);
        assert_int_equal(json_integer_value(json_object_get(s, "done")), c.done);
        assert_int_equal(json_integer_value(json_object_get(s, "failed")), c.failed);
        assert_int_equal(c.add + c.change + c.del + c.blocked, p.n);
        json_decref(doc);
        pv_plan_done(&p);
}

static void test_change_markers(void **state) {
        (void)state;
        struct pv_action a = { .kind = PV_ACT_WRITE_FILE };
        assert_int_equal(pv_action_change(&a), PV_CHANGE_ADD); /* a new file */
        a.before = "x";
        assert_int_equal(pv_action_change(&a), PV_CHANGE_MODIFY);
        a.kind = PV_ACT_REMOVE_FILE;
        assert_int_equal(pv_action_change(&a), PV_CHANGE_REMOVE);
        a.kind = PV_ACT_CREATE_VM;
        assert_int_equal(pv_action_change(&a), PV_CHANGE_ADD);
        assert_string_equal(pv_action_group(&a), "vm");
        a.kind = PV_ACT_DELETE_MAPPING;
        assert_int_equal(pv_action_change(&a), PV_CHANGE_REMOVE);
        assert_string_equal(pv_action_group(&a), "mapping");
        a.kind = PV_ACT_SET_SRIOV;
        assert_int_equal(pv_action_change(&a), PV_CHANGE_MODIFY);
        assert_string_equal(pv_action_group(&a), "host");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_every_kind_roundtrip),
                cmocka_unit_test(test_document_shape),
                cmocka_unit_test(test_change_markers),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
