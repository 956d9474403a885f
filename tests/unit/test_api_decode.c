/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for the API response decoders (api/decode.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <stdlib.h>

#include "pvfio/api.h"

static json_t *J(const char *text) {
        json_error_t e;
        json_t *v = json_loads(text, JSON_DECODE_ANY, &e);
        if (!v)
                fail_msg("bad test JSON: %s", e.text);
        return v;
}

static void test_version(void **state) {
        (void)state;
        json_t *d = J("{\"version\":\"9.1.9\",\"release\":\"9.1\",\"repoid\":\"0a1b2c3d\",\"console\":\"html5\"}");
        struct pv_api_version v;
        assert_int_equal(pv_api_decode_version(d, &v, NULL), 0);
        assert_string_equal(v.version, "9.1.9");
        assert_string_equal(v.release, "9.1");
        assert_string_equal(v.repoid, "0a1b2c3d");
        pv_api_version_done(&v);
        json_decref(d);
        struct pv_error e = PV_ERROR_INIT;
        d = J("{\"release\":\"9.1\"}");
        assert_int_equal(pv_api_decode_version(d, &v, &e), -PV_EINVAL);
        assert_non_null(strstr(e.message, "'version'"));
        pv_error_done(&e);
        json_decref(d);
}

static void test_nextid(void **state) {
        (void)state;
        uint32_t id = 0;
        json_t *d = J("100");
        assert_int_equal(pv_api_decode_nextid(d, &id, NULL), 0);
        assert_int_equal(id, 100);
        json_decref(d);
        d = J("\"4711\""); /* Proxmox may send it as a string */
        assert_int_equal(pv_api_decode_nextid(d, &id, NULL), 0);
        assert_int_equal(id, 4711);
        json_decref(d);
        const char *bad[] = { "\"\"", "\"12a\"", "-1", "99", "\"1000000000\"", "null", "[]", "\"+100\"", "1.5" };
        for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
                d = J(bad[i]);
                id = 7;
                assert_int_equal(pv_api_decode_nextid(d, &id, NULL), -PV_EINVAL);
                assert_int_equal(id, 7); /* untouched on failure */
                json_decref(d);
        }
}

static void test_resources(void **state) {
        (void)state;
        json_t *d = J("[{\"id\":\"node/pve1\",\"type\":\"node\",\"node\":\"pve1\",\"status\":\"online\"},"
                      " {\"id\":\"qemu/100\",\"type\":\"qemu\",\"vmid\":100,\"node\":\"pve1\",\"name\":\"win11\","
                      "  \"status\":\"running\",\"template\":0,\"tags\":\"pvfio;gpu\"},"
                      " {\"id\":\"storage/pve1/local\",\"type\":\"storage\",\"node\":\"pve1\"},"
                      " {\"id\":\"qemu/9000\",\"type\":\"qemu\",\"vmid\":\"9000\",\"node\":\"pve2\",\"status\":\"stopped\","
                      "  \"template\":1,\"lock\":\"backup\"},"
                      " {\"id\":\"node/pve2\",\"type\":\"node\",\"node\":\"pve2\"}]");
        struct pv_node_info *nodes = NULL;
        struct pv_vm_info *vms = NULL;
        size_t nn = 0, nv = 0;
        assert_int_equal(pv_api_decode_resources(d, &nodes, &nn, &vms, &nv, NULL), 0);
        assert_int_equal(nn, 2);
        assert_int_equal(nv, 2);
        assert_string_equal(nodes[0].node, "pve1");
        assert_string_equal(nodes[0].status, "online");
        assert_string_equal(nodes[1].status, "unknown");
        assert_int_equal(vms[0].vmid, 100);
        assert_string_equal(vms[0].name, "win11");
        assert_string_equal(vms[0].tags, "pvfio;gpu");
        assert_null(vms[0].lock);
        assert_false(vms[0].is_template);
        assert_int_equal(vms[1].vmid, 9000);
        assert_string_equal(vms[1].node, "pve2");
        assert_null(vms[1].name);
        assert_string_equal(vms[1].lock, "backup");
        assert_true(vms[1].is_template);
        for (size_t i = 0; i < nn; i++)
                pv_node_info_done(&nodes[i]);
        for (size_t i = 0; i < nv; i++)
                pv_vm_info_done(&vms[i]);
        free(nodes);
        free(vms);
        json_decref(d);
        /* a VM without a node is an error, not a crash */
        d = J("[{\"type\":\"qemu\",\"vmid\":101}]");
        struct pv_error e = PV_ERROR_INIT;
        assert_int_equal(pv_api_decode_resources(d, &nodes, &nn, &vms, &nv, &e), -PV_EINVAL);
        assert_non_null(strstr(e.message, "VM 101"));
        pv_error_done(&e);
        json_decref(d);
}

static void test_vm_list(void **state) {
        (void)state;
        json_t *d = J("[{\"vmid\":101,\"status\":\"stopped\",\"name\":\"a\",\"cpus\":2},"
                      " {\"vmid\":100,\"status\":\"running\",\"lock\":\"\"}]");
        struct pv_vm_info *v = NULL;
        size_t n = 0;
        assert_int_equal(pv_api_decode_vm_list(d, "pve3", &v, &n, NULL), 0);
        assert_int_equal(n, 2);
        assert_string_equal(v[0].node, "pve3");
        assert_string_equal(v[1].node, "pve3");
        assert_null(v[1].lock); /* an empty lock is no lock */
        for (size_t i = 0; i < n; i++)
                pv_vm_info_done(&v[i]);
        free(v);
        json_decref(d);
        d = J("{\"vmid\":100}");
        assert_int_equal(pv_api_decode_vm_list(d, "pve3", &v, &n, NULL), -PV_EINVAL);
        json_decref(d);
}

static void test_vm_config(void **state) {
        (void)state;
        json_t *d = J("{\"name\":\"win11\",\"cores\":4,\"onboot\":1,\"numa\":false,\"memory\":\"8192\","
                      "\"hostpci0\":\"0000:01:00,pcie=1,x-vga=1\",\"digest\":\"3f2a5b\",\"cpulimit\":1.5,"
                      "\"balloon\":0,\"meta\":null,\"weird\":[1]}");
        struct pv_vm_config c;
        assert_int_equal(pv_api_decode_vm_config(d, "pve1", 100, &c, NULL), 0);
        assert_int_equal(c.vmid, 100);
        assert_string_equal(c.node, "pve1");
        assert_string_equal(c.digest, "3f2a5b");
        assert_null(pv_vm_config_get(&c, "digest"));
        assert_string_equal(pv_vm_config_get(&c, "cores"), "4");
        assert_string_equal(pv_vm_config_get(&c, "onboot"), "1");
        assert_string_equal(pv_vm_config_get(&c, "numa"), "0");
        assert_string_equal(pv_vm_config_get(&c, "cpulimit"), "1.5");
        assert_string_equal(pv_vm_config_get(&c, "balloon"), "0");
        assert_string_equal(pv_vm_config_get(&c, "hostpci0"), "0000:01:00,pcie=1,x-vga=1");
        assert_null(pv_vm_config_get(&c, "meta"));
        assert_null(pv_vm_config_get(&c, "weird"));
        assert_int_equal(c.n, 8);
        for (size_t i = 1; i < c.n; i++)
                assert_true(strcmp(c.kv[i - 1].key, c.kv[i].key) < 0); /* sorted */
        pv_vm_config_done(&c);
        json_decref(d);
        d = J("{\"digest\":5}");
        assert_int_equal(pv_api_decode_vm_config(d, "pve1", 100, &c, NULL), -PV_EINVAL);
        json_decref(d);
}

static void test_pending(void **state) {
        (void)state;
        json_t *d = J("[{\"key\":\"cores\",\"value\":2,\"pending\":4},"
                      " {\"key\":\"hostpci0\",\"pending\":\"mapping=gpu1\"},"
                      " {\"key\":\"hostpci1\",\"value\":\"01:00.0\",\"delete\":1},"
                      " {\"key\":\"net0\",\"value\":\"virtio=AA:BB:CC:DD:EE:FF,bridge=vmbr0\"}]");
        struct pv_vm_pending p;
        assert_int_equal(pv_api_decode_vm_pending(d, 100, &p, NULL), 0);
        assert_int_equal(p.n, 4);
        assert_string_equal(p.v[0].value, "2");
        assert_string_equal(p.v[0].pending, "4");
        assert_null(p.v[1].value);
        assert_string_equal(p.v[1].pending, "mapping=gpu1");
        assert_int_equal(p.v[2].delete_, 1);
        assert_null(p.v[3].pending);
        pv_vm_pending_done(&p);
        json_decref(d);
        d = J("[{\"key\":\"a\",\"delete\":3}]");
        assert_int_equal(pv_api_decode_vm_pending(d, 100, &p, NULL), -PV_EINVAL);
        json_decref(d);
        d = J("[{\"value\":\"x\"}]");
        assert_int_equal(pv_api_decode_vm_pending(d, 100, &p, NULL), -PV_EINVAL);
        json_decref(d);
}

static void test_vm_status(void **state) {
        (void)state;
        json_t *d = J("{\"vmid\":100,\"status\":\"running\",\"qmpstatus\":\"running\",\"pid\":4242,\"uptime\":77,"
                      "\"name\":\"win11\",\"ha\":{\"managed\":0}}");
        struct pv_vm_status s;
        assert_int_equal(pv_api_decode_vm_status(d, &s, NULL), 0);
        assert_string_equal(s.status, "running");
        assert_int_equal(s.pid, 4242);
        assert_int_equal(s.uptime, 77);
        assert_null(s.lock);
        pv_vm_status_done(&s);
        json_decref(d);
        d = J("{\"vmid\":100,\"status\":\"stopped\",\"pid\":\"x\"}");
        assert_int_equal(pv_api_decode_vm_status(d, &s, NULL), -PV_EINVAL);
        json_decref(d);
}

static void test_mappings(void **state) {
        (void)state;
        json_t *d = J("[{\"id\":\"gpu1\",\"type\":\"pci\",\"description\":\"L4\",\"digest\":\"abc\","
                      "  \"map\":[\"node=pve1,path=0000:01:00.0,id=10de:27b8,iommugroup=14\","
                      "          \"node=pve2,path=0000:41:00.0,id=10de:27b8\"],"
                      "  \"checks\":[{\"severity\":\"warning\",\"message\":\"No mapping for node pve3.\"}]},"
                      " {\"id\":\"vgpu\",\"map\":\"node=pve1,path=0000:02:00.4,id=10de:27b8\",\"mdev\":1,"
                      "  \"live-migration-capable\":\"1\"}]");
        struct pv_obs_mapping *m = NULL;
        size_t n = 0;
        assert_int_equal(pv_api_decode_mappings(d, &m, &n, NULL), 0);
        assert_int_equal(n, 2);
        assert_string_equal(m[0].id, "gpu1");
        assert_string_equal(m[0].description, "L4");
        assert_int_equal(m[0].n_map, 2);
        assert_string_equal(m[0].map[1], "node=pve2,path=0000:41:00.0,id=10de:27b8");
        assert_false(m[0].mdev);
        assert_int_equal(m[0].n_checks, 1);
        assert_string_equal(m[0].checks[0].severity, "warning");
        assert_int_equal(m[1].n_map, 1);
        assert_true(m[1].mdev);
        assert_true(m[1].live_migration_capable);
        assert_null(m[1].digest);
        for (size_t i = 0; i < n; i++)
                pv_obs_mapping_done(&m[i]);
        free(m);
        json_decref(d);
        d = J("[{\"id\":\"x\",\"map\":[1]}]");
        assert_int_equal(pv_api_decode_mappings(d, &m, &n, NULL), -PV_EINVAL);
        json_decref(d);
        /* GET /cluster/mapping/pci/{id} answers without the id */
        d = J("{\"type\":\"pci\",\"map\":[\"node=pve1,path=0000:01:00,id=10de:2531\"],\"digest\":\"d1\"}");
        struct pv_obs_mapping one;
        assert_int_equal(pv_api_decode_mapping(d, "gpu1", &one, NULL), 0);
        assert_string_equal(one.id, "gpu1");
        assert_string_equal(one.digest, "d1");
        pv_obs_mapping_done(&one);
        assert_int_equal(pv_api_decode_mapping(d, NULL, &one, NULL), -PV_EINVAL);
        json_decref(d);
}

static void test_hw_pci(void **state) {
        (void)state;
        json_t *d = J("[{\"id\":\"0000:01:00.1\",\"class\":\"0x040300\",\"vendor\":\"0x10de\",\"device\":\"0x228b\","
                      "  \"iommugroup\":14},"
                      " {\"id\":\"0000:01:00.0\",\"class\":\"0x030000\",\"vendor\":\"0x10de\",\"device\":\"0x2236\","
                      "  \"subsystem_vendor\":\"0x10de\",\"subsystem_device\":\"0x1482\",\"iommugroup\":14,\"mdev\":1,"
                      "  \"vendor_name\":\"NVIDIA Corporation\",\"device_name\":\"GA102GL [A10]\"},"
                      " {\"id\":\"0000:02:00.4\",\"class\":\"0x030200\",\"vendor\":\"0x10de\",\"device\":\"0x27b8\","
                      "  \"iommugroup\":-1,\"physfn\":\"0000:02:00.0\"}]");
        struct pv_hw_pci *v = NULL;
        size_t n = 0;
        assert_int_equal(pv_api_decode_hw_pci(d, &v, &n, NULL), 0);
        assert_int_equal(n, 3);
        /* sorted by address */
        assert_int_equal(v[0].addr.func, 0);
        assert_int_equal(v[1].addr.func, 1);
        assert_int_equal(v[0].class_code, 0x030000);
        assert_int_equal(v[0].id.vendor, 0x10de);
        assert_int_equal(v[0].id.device, 0x2236);
        assert_true(v[0].has_subsystem);
        assert_int_equal(v[0].subsystem.device, 0x1482);
        assert_true(v[0].mdev);
        assert_string_equal(v[0].device_name, "GA102GL [A10]");
        assert_false(v[1].has_subsystem);
        assert_false(v[1].mdev);
        assert_int_equal(v[2].iommugroup, -1);
        assert_true(v[2].is_vf);
        assert_int_equal(v[2].physfn.bus, 2);
        for (size_t i = 0; i < n; i++)
                pv_hw_pci_done(&v[i]);
        free(v);
        json_decref(d);
        const char *bad[] = {
                "[{\"id\":\"0000:01:00\",\"class\":\"0x030000\",\"vendor\":\"0x10de\",\"device\":\"0x2236\"}]",
                "[{\"id\":\"0000:01:00.0\",\"class\":\"0x03000000\",\"vendor\":\"0x10de\",\"device\":\"0x2236\"}]",
                "[{\"id\":\"0000:01:00.0\",\"class\":\"0x030000\",\"vendor\":\"10dex\",\"device\":\"0x2236\"}]",
                "[{\"id\":\"0000:01:00.0\",\"class\":\"0x030000\",\"vendor\":\"0x10de\",\"device\":\"0x2236\","
                "\"iommugroup\":-5}]",
                "[{\"id\":\"0000:01:00.0\",\"class\":\"0x030000\",\"vendor\":\"0x10de\",\"device\":\"0x2236\","
                "\"physfn\":\"zz\"}]",
        };
        for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
                d = J(bad[i]);
                assert_int_equal(pv_api_decode_hw_pci(d, &v, &n, NULL), -PV_EINVAL);
                json_decref(d);
        }
}

static void test_mdev(void **state) {
        (void)state;
        json_t *d = J("[{\"type\":\"nvidia-660\",\"available\":1,\"name\":\"NVIDIA L4-4Q\",\"description\":\"\"},"
                      " {\"type\":\"i915-GVTg_V5_4\",\"available\":\"2\",\"description\":\"low_gm_size: 128MB\"}]");
        struct pv_mdev_type *t = NULL;
        size_t n = 0;
        assert_int_equal(pv_api_decode_mdev_types(d, &t, &n, NULL), 0);
        assert_int_equal(n, 2);
        assert_string_equal(t[0].name, "NVIDIA L4-4Q");
        assert_int_equal(t[1].available, 2);
        assert_null(t[1].name);
        for (size_t i = 0; i < n; i++)
                pv_mdev_type_done(&t[i]);
        free(t);
        json_decref(d);
        d = J("[{\"available\":1}]");
        assert_int_equal(pv_api_decode_mdev_types(d, &t, &n, NULL), -PV_EINVAL);
        json_decref(d);
}

static void test_task(void **state) {
        (void)state;
        json_t *d = J("{\"upid\":\"UPID:pve1:0003A1F2:01B2C3D4:66F2A1B0:qmstart:100:root@pam:\",\"node\":\"pve1\","
                      "\"type\":\"qmstart\",\"status\":\"stopped\",\"exitstatus\":\"WARNINGS: 2\",\"pid\":1}");
        struct pv_task_status t;
        assert_int_equal(pv_api_decode_task_status(d, &t, NULL), 0);
        assert_false(t.running);
        assert_string_equal(t.exitstatus, "WARNINGS: 2");
        assert_string_equal(t.type, "qmstart");
        pv_task_status_done(&t);
        json_decref(d);
        d = J("{\"status\":\"running\",\"exitstatus\":\"OK\"}");
        assert_int_equal(pv_api_decode_task_status(d, &t, NULL), 0);
        assert_true(t.running);
        assert_null(t.exitstatus); /* only meaningful once stopped */
        pv_task_status_done(&t);
        json_decref(d);
        d = J("{\"status\":\"stopped\"}");
        assert_int_equal(pv_api_decode_task_status(d, &t, NULL), 0);
        assert_string_equal(t.exitstatus, "unexpected status");
        pv_task_status_done(&t);
        json_decref(d);
        d = J("{\"status\":\"done\"}");
        assert_int_equal(pv_api_decode_task_status(d, &t, NULL), -PV_EINVAL);
        json_decref(d);
        d = J("[{\"n\":1,\"t\":\"start VM 100\"},{\"n\":2,\"t\":\"TASK ERROR: boom\"}]");
        struct pv_strv lines = PV_STRV_INIT;
        assert_int_equal(pv_api_decode_task_log(d, &lines, NULL), 0);
        assert_int_equal(lines.n, 2);
        assert_string_equal(lines.v[1], "TASK ERROR: boom");
        pv_strv_done(&lines);
        json_decref(d);
        d = J("[{\"n\":1}]");
        assert_int_equal(pv_api_decode_task_log(d, &lines, NULL), -PV_EINVAL);
        assert_null(lines.v);
        json_decref(d);
}

static void test_scalar_text(void **state) {
        (void)state;
        const char *in[] = { "\"x\"", "42", "-3", "true", "false", "2.0", "0.25" };
        const char *out[] = { "x", "42", "-3", "1", "0", "2", "0.25" };
        for (size_t i = 0; i < sizeof in / sizeof *in; i++) {
                json_t *v = J(in[i]);
                char *s = pv_api_scalar_text(v);
                assert_string_equal(s, out[i]);
                free(s);
                json_decref(v);
        }
        json_t *v = J("null");
        assert_null(pv_api_scalar_text(v));
        json_decref(v);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_version),   cmocka_unit_test(test_nextid),   cmocka_unit_test(test_resources),
                cmocka_unit_test(test_vm_list),   cmocka_unit_test(test_vm_config), cmocka_unit_test(test_pending),
                cmocka_unit_test(test_vm_status), cmocka_unit_test(test_mappings), cmocka_unit_test(test_hw_pci),
                cmocka_unit_test(test_mdev),      cmocka_unit_test(test_task),     cmocka_unit_test(test_scalar_text),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
