/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Plan rendering: text markers, unified file diffs, key changes and the JSON document. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cli.h"
#include "render.h"
#include "pvfio/plan.h"

static char *render(const struct pv_plan *plan) {
        char *out = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&out, &len);
        struct pv_ctx ctx = { .prog = "pvfio", .out = f, .err = stderr };
        pv_render_plan_text(&ctx, plan, false);
        fclose(f);
        return out;
}

static void add_file(struct pv_plan *p, const char *path, const char *before, const char *after) {
        struct pv_action a = { .kind = PV_ACT_WRITE_FILE };
        a.target = strdup(path);
        a.node = strdup("pve1");
        a.before = before ? strdup(before) : NULL;
        a.after = strdup(after);
        a.reason = strdup("vfio-pci options for 10de:25a0");
        assert_true(pv_plan_add(p, &a, NULL) >= 0);
}

static void test_file_diff(void **state) {
        (void)state;
        struct pv_plan p = PV_PLAN_INIT;
        add_file(&p, "etc/modprobe.d/pvfio.conf", "# pvfio\noptions vfio-pci ids=10de:25a0\nsoftdep nvidia pre: vfio-pci\n",
                 "# pvfio\noptions vfio-pci ids=10de:25a0,10de:2291\nsoftdep nvidia pre: vfio-pci\n");
        char *s = render(&p);
        assert_non_null(strstr(s, "~ write-file etc/modprobe.d/pvfio.conf"));
        assert_non_null(strstr(s, "--- a/etc/modprobe.d/pvfio.conf"));
        assert_non_null(strstr(s, "@@ -1,3 +1,3 @@"));
        assert_non_null(strstr(s, "-options vfio-pci ids=10de:25a0\n"));
        assert_non_null(strstr(s, "+options vfio-pci ids=10de:25a0,10de:2291\n"));
        assert_null(strstr(s, "      softdep nvidia pre: vfio-pci")); /* context lines: 5 columns */
        assert_non_null(strstr(s, "     softdep nvidia pre: vfio-pci\n"));
        assert_non_null(strstr(s, "Plan: 0 to add, 1 to change, 0 to remove, 0 blocked."));
        free(s);
        pv_plan_done(&p);
}

static void test_new_file_and_keys(void **state) {
        (void)state;
        struct pv_plan p = PV_PLAN_INIT;
        add_file(&p, "etc/modules-load.d/pvfio.conf", NULL, "vfio\nvfio_iommu_type1\nvfio_pci\n");
        struct pv_action vm = { .kind = PV_ACT_UPDATE_VM, .vmid = 101, .pending_until_restart = true };
        vm.target = strdup("vm gpu-ws-1");
        vm.node = strdup("pve1");
        int i = pv_plan_add(&p, &vm, NULL);
        assert_true(i >= 0);
        assert_int_equal(pv_plan_add_key(&p, (size_t)i, strdup("cores"), strdup("4"), strdup("8"), false, NULL), 0);
        assert_int_equal(pv_plan_add_key(&p, (size_t)i, strdup("hostpci0"), NULL, strdup("mapping=rtx3050,pcie=1"),
                                         true, NULL), 0);
        assert_int_equal(pv_plan_add_reboot_reason(&p, strdup("pve1: kernel command line changed"), NULL), 0);
        char *s = render(&p);
        assert_non_null(strstr(s, "+ write-file etc/modules-load.d/pvfio.conf"));
        assert_non_null(strstr(s, "--- /dev/null"));
        assert_non_null(strstr(s, "@@ -0,0 +1,3 @@"));
        assert_non_null(strstr(s, "~ cores: 4 → 8"));
        assert_non_null(strstr(s, "+ hostpci0: mapping=rtx3050,pcie=1  (pending until the VM is restarted)"));
        assert_non_null(strstr(s, "reboot required: pve1: kernel command line changed"));
        free(s);

        json_t *j = pv_plan_to_json(&p);
        assert_int_equal(json_integer_value(json_object_get(j, "format_version")), PV_PLAN_FORMAT_VERSION);
        assert_true(json_is_true(json_object_get(j, "reboot_required")));
        json_t *acts = json_object_get(j, "actions");
        assert_int_equal(json_array_size(acts), 2);
        json_t *a1 = json_array_get(acts, 1);
        assert_string_equal(json_string_value(json_object_get(a1, "kind")), "update-vm");
        assert_int_equal(json_array_size(json_object_get(a1, "keys")), 2);
        assert_int_equal(json_array_size(json_object_get(j, "pending_restart")), 1);
        assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "summary"), "add")), 1);
        json_decref(j);
        pv_plan_done(&p);
}

static void test_empty_plan(void **state) {
        (void)state;
        struct pv_plan p = PV_PLAN_INIT;
        char *s = render(&p);
        assert_string_equal(s, "No changes. The cluster matches the profile.\n");
        free(s);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_file_diff),
                cmocka_unit_test(test_new_file_and_keys),
                cmocka_unit_test(test_empty_plan),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
