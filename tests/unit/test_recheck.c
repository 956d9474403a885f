/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The optimistic lock's plan comparison (engine/recheck.c): what makes a plan read again under the lock "the same". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "recheck.h"
#include "pvfio/plan.h"

static void add_host(struct pv_plan *p) {
        struct pv_action a = { .kind = PV_ACT_WRITE_FILE, .target = strdup("etc/modprobe.d/pvfio.conf"),
                               .after = strdup("x\n") };
        assert_true(pv_plan_add(p, &a, NULL) >= 0);
}

/* A VM action with one key change; returns its index. */
static size_t add_vm(struct pv_plan *p, enum pv_action_kind k, uint32_t vmid, const char *key, const char *before,
                     const char *after, const char *digest) {
        struct pv_action a = { .kind = k, .target = strdup("vm gpu-1"), .node = strdup("pve1"), .vmid = vmid,
                               .digest = digest ? strdup(digest) : NULL };
        int i = pv_plan_add(p, &a, NULL);
        assert_true(i >= 0);
        assert_true(pv_action_set_vm(&p->actions[i], "gpu-1", vmid, NULL) >= 0);
        if (key)
                assert_true(pv_plan_add_key(p, (size_t)i, strdup(key), before ? strdup(before) : NULL,
                                            after ? strdup(after) : NULL, false, NULL) >= 0);
        return (size_t)i;
}

static void test_same_ignores_digest_and_host_part(void **state) {
        (void)state;
        struct pv_plan old = PV_PLAN_INIT, fresh = PV_PLAN_INIT;
        add_host(&old);
        add_vm(&old, PV_ACT_UPDATE_VM, 101, "memory", "1024", "2048", "aaaa");
        add_vm(&fresh, PV_ACT_UPDATE_VM, 101, "memory", "1024", "2048", "bbbb");
        assert_true(pv_plan_writes_cluster(&old, 1));
        assert_true(pv_plan_cluster_same(&old, 1, &fresh, 0));
        pv_plan_done(&old);
        pv_plan_done(&fresh);
}

static void test_changed_before_value_or_new_action_differs(void **state) {
        (void)state;
        struct pv_plan old = PV_PLAN_INIT, a = PV_PLAN_INIT, b = PV_PLAN_INIT;
        add_vm(&old, PV_ACT_UPDATE_VM, 101, "memory", "1024", "2048", "aaaa");
        add_vm(&a, PV_ACT_UPDATE_VM, 101, "memory", "3072", "2048", "bbbb"); /* someone else wrote 3072 */
        assert_false(pv_plan_cluster_same(&old, 0, &a, 0));
        add_vm(&b, PV_ACT_UPDATE_VM, 101, "memory", "1024", "2048", "aaaa");
        add_vm(&b, PV_ACT_START_VM, 101, NULL, NULL, NULL, NULL);             /* one more action */
        assert_false(pv_plan_cluster_same(&old, 0, &b, 0));
        assert_false(pv_plan_cluster_same(&b, 0, &old, 0));
        pv_plan_done(&old);
        pv_plan_done(&a);
        pv_plan_done(&b);
}

static void test_create_vmid_and_blocked(void **state) {
        (void)state;
        struct pv_plan old = PV_PLAN_INIT, fresh = PV_PLAN_INIT;
        add_vm(&old, PV_ACT_CREATE_VM, 105, "memory", NULL, "1024", NULL);
        add_vm(&fresh, PV_ACT_CREATE_VM, 106, "memory", NULL, "1024", NULL); /* another free id: no change */
        assert_true(pv_plan_cluster_same(&old, 0, &fresh, 0));
        fresh.actions[0].blocked = strdup("a VM of that name exists and is not managed by pvfio");
        assert_false(pv_plan_cluster_same(&old, 0, &fresh, 0));
        assert_false(pv_plan_writes_cluster(&fresh, 0));
        pv_plan_done(&old);
        pv_plan_done(&fresh);
}

static void test_truncate(void **state) {
        (void)state;
        struct pv_plan p = PV_PLAN_INIT;
        add_host(&p);
        assert_true(pv_plan_add_warning(&p, strdup("host warning"), NULL) >= 0);
        add_vm(&p, PV_ACT_UPDATE_VM, 101, "memory", "1024", "2048", "aaaa");
        assert_true(pv_plan_add_drift(&p, strdup("vm drift"), NULL) >= 0);
        assert_true(pv_plan_add_warning(&p, strdup("vm warning"), NULL) >= 0);
        pv_plan_truncate(&p, 1, 0, 1);
        assert_int_equal(p.n, 1);
        assert_int_equal(p.n_drift, 0);
        assert_int_equal(p.n_warnings, 1);
        assert_string_equal(p.warnings[0], "host warning");
        assert_false(pv_plan_writes_cluster(&p, 0));
        pv_plan_done(&p);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_same_ignores_digest_and_host_part),
                cmocka_unit_test(test_changed_before_value_or_new_action_differs),
                cmocka_unit_test(test_create_vmid_and_blocked),
                cmocka_unit_test(test_truncate),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
