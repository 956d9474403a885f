/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for the small helpers in common/ that replaced copies across the layers (issue 12). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "pvfio/pci.h"
#include "pvfio/strv_json.h"
#include "pvfio/util.h"

static char *dump(json_t *j) {
        assert_non_null(j);
        char *s = json_dumps(j, JSON_COMPACT);
        json_decref(j);
        assert_non_null(s);
        return s;
}

static void assert_json(json_t *j, const char *want) {
        char *s = dump(j);
        assert_string_equal(s, want);
        free(s);
}

/* pv_strv_to_json, pv_json_string_array, pv_json_string_vec: the strings in order, [] when empty. */
static void test_strv_to_json(void **state) {
        (void)state;
        struct pv_strv sv = PV_STRV_INIT;
        assert_json(pv_strv_to_json(&sv), "[]");
        assert_int_equal(pv_strv_push(&sv, "b", NULL), 0);
        assert_int_equal(pv_strv_push(&sv, "a \"q\"", NULL), 0);
        assert_json(pv_strv_to_json(&sv), "[\"b\",\"a \\\"q\\\"\"]");
        assert_json(pv_json_string_array(sv.v, 1), "[\"b\"]");
        assert_json(pv_json_string_array(NULL, 0), "[]");
        assert_json(pv_json_string_vec(sv.v), "[\"b\",\"a \\\"q\\\"\"]");
        assert_json(pv_json_string_vec(NULL), "[]");
        pv_strv_done(&sv);
}

/* pv_strv_from_json: appends; NULL is nothing; a non-array or a non-string item is -PV_EINVAL. */
static void test_strv_from_json(void **state) {
        (void)state;
        struct pv_strv sv = PV_STRV_INIT;
        assert_int_equal(pv_strv_push(&sv, "x", NULL), 0);
        json_t *a = json_pack("[s, s]", "y", "z");
        assert_int_equal(pv_strv_from_json(a, &sv, NULL), 0);
        json_decref(a);
        assert_int_equal(sv.n, 3);
        assert_string_equal(sv.v[1], "y");
        assert_string_equal(sv.v[2], "z");
        assert_null(sv.v[3]);
        assert_int_equal(pv_strv_from_json(NULL, &sv, NULL), 0);
        assert_int_equal(sv.n, 3);

        struct pv_error err = PV_ERROR_INIT;
        json_t *o = json_pack("{s:s}", "k", "v");
        assert_int_equal(pv_strv_from_json(o, &sv, &err), -PV_EINVAL);
        assert_non_null(strstr(err.message, "not a list"));
        json_decref(o);
        pv_error_done(&err);
        json_t *mixed = json_pack("[s, i]", "w", 1);
        assert_int_equal(pv_strv_from_json(mixed, &sv, &err), -PV_EINVAL);
        assert_non_null(strstr(err.message, "item 1"));
        json_decref(mixed);
        pv_error_done(&err);
        pv_strv_done(&sv);
}

/* A round trip keeps every string, in order. */
static void test_strv_json_round_trip(void **state) {
        (void)state;
        struct pv_strv in = PV_STRV_INIT, out = PV_STRV_INIT;
        const char *words[] = { "intel_iommu=on", "", "vfio-pci.ids=10de:2204,10de:1aef", "ünï" };
        for (size_t i = 0; i < 4; i++)
                assert_int_equal(pv_strv_push(&in, words[i], NULL), 0);
        json_t *j = pv_strv_to_json(&in);
        assert_int_equal(pv_strv_from_json(j, &out, NULL), 0);
        json_decref(j);
        assert_int_equal(out.n, in.n);
        for (size_t i = 0; i < in.n; i++)
                assert_string_equal(out.v[i], in.v[i]);
        pv_strv_done(&in);
        pv_strv_done(&out);
}

static struct pv_pci_addr A(const char *s) {
        struct pv_pci_addr a;
        assert_int_equal(pv_pci_addr_parse(s, &a, NULL), 0);
        return a;
}

/* covers: one way (a whole device covers its functions, not the other way round); overlap: both ways. */
static void test_pci_addr_covers_overlap(void **state) {
        (void)state;
        struct pv_pci_addr whole = A("0000:01:00"), f0 = A("0000:01:00.0"), f1 = A("0000:01:00.1"),
                           other_slot = A("0000:01:01.0"), other_dom = A("0001:01:00.0"), whole2 = A("01:00");
        assert_true(pv_pci_addr_covers(&whole, &f1));
        assert_false(pv_pci_addr_covers(&f1, &whole));
        assert_true(pv_pci_addr_covers(&f0, &f0));
        assert_false(pv_pci_addr_covers(&f0, &f1));
        assert_false(pv_pci_addr_covers(&whole, &other_slot));
        assert_false(pv_pci_addr_covers(&whole, &other_dom));
        assert_true(pv_pci_addr_covers(&whole, &whole2));

        assert_true(pv_pci_addr_overlap(&whole, &f1));
        assert_true(pv_pci_addr_overlap(&f1, &whole));
        assert_true(pv_pci_addr_overlap(&f0, &f0));
        assert_false(pv_pci_addr_overlap(&f0, &f1));
        assert_false(pv_pci_addr_overlap(&f0, &other_slot));
        assert_false(pv_pci_addr_overlap(&f0, &other_dom));

        struct pv_pci_addr a[] = { other_slot, f1, f0 }, b[] = { other_dom, whole };
        assert_ptr_equal(pv_pci_addrs_overlap(a, 3, b, 2), &a[1]);
        assert_ptr_equal(pv_pci_addrs_overlap(a, 3, &f0, 1), &a[2]);
        assert_null(pv_pci_addrs_overlap(a, 1, b, 2));
        assert_null(pv_pci_addrs_overlap(a, 3, b, 0));
        assert_null(pv_pci_addrs_overlap(NULL, 0, b, 2));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_strv_to_json),
                cmocka_unit_test(test_strv_from_json),
                cmocka_unit_test(test_strv_json_round_trip),
                cmocka_unit_test(test_pci_addr_covers_overlap),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
