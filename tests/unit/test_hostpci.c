/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for provision/pci_propstr.c (pvfio/hostpci.h): property strings, hostpciN values, mapping map entries. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>

#include "pvfio/hostpci.h"

/* Parse s, print it canonically, and check the result (and that the result is a fixed point). */
static void check_canonical(const char *s, const char *want) {
        struct pv_hostpci h = PV_HOSTPCI_INIT, h2 = PV_HOSTPCI_INIT;
        struct pv_error e = PV_ERROR_INIT;
        char *out = NULL, *out2 = NULL;
        if (pv_hostpci_parse(s, &h, &e) < 0)
                fail_msg("'%s' did not parse: %s", s, pv_error_message(&e));
        assert_int_equal(pv_hostpci_format(&h, &out, &e), 0);
        if (strcmp(out, want) != 0)
                fail_msg("'%s' printed as '%s', expected '%s'", s, out, want);
        assert_int_equal(pv_hostpci_parse(out, &h2, &e), 0);
        assert_true(pv_hostpci_equal(&h, &h2));
        assert_int_equal(pv_hostpci_format(&h2, &out2, &e), 0);
        assert_string_equal(out, out2);
        free(out);
        free(out2);
        pv_hostpci_done(&h);
        pv_hostpci_done(&h2);
}

static void test_hostpci_round_trip(void **state) {
        (void)state;
        check_canonical("0000:01:00.0", "0000:01:00.0");
        check_canonical("01:00.0", "0000:01:00.0");
        check_canonical("01:00", "0000:01:00");
        check_canonical("host=01:00.0,pcie=1,x-vga=1", "0000:01:00.0,pcie=1,x-vga=1");
        check_canonical("x-vga=on,host=01:00,pcie=yes,rombar=0", "0000:01:00,pcie=1,rombar=0,x-vga=1");
        check_canonical("mapping=rtx3050,pcie=1", "mapping=rtx3050,pcie=1");
        check_canonical("pcie=TRUE,mapping=rtx3050,x-vga=True", "mapping=rtx3050,pcie=1,x-vga=1");
        check_canonical("0000:03:00.4,mdev=nvidia-660", "0000:03:00.4,mdev=nvidia-660");
        check_canonical("00:02.0,mdev=i915-GVTg_V5_4", "0000:00:02.0,mdev=i915-GVTg_V5_4");
        check_canonical("01:00.0;01:00.1", "0000:01:00.0;0000:01:00.1");
        check_canonical("10000:01:00.0", "10000:01:00.0");
        /* every key, defaults dropped, ids lower-case, Proxmox key order */
        check_canonical("0000:00:02.0,legacy-igd=1,romfile=vbios.rom,vendor-id=0x8086,device-id=0x3E92,"
                        "sub-vendor-id=0x1028,sub-device-id=0x0A61,driver=keep,rombar=1,pcie=0,x-vga=0",
                        "0000:00:02.0,device-id=0x3e92,driver=keep,legacy-igd=1,romfile=vbios.rom,"
                        "sub-device-id=0x0a61,sub-vendor-id=0x1028,vendor-id=0x8086");
        check_canonical("01:00.0,driver=vfio,legacy-igd=0", "0000:01:00.0");
        /* blank parts are skipped like Proxmox does */
        check_canonical(",01:00.0,, ,pcie=1,", "0000:01:00.0,pcie=1");
}

static void expect_equal(const char *a, const char *b, bool eq) {
        if (pv_hostpci_str_equal(a, b) != eq)
                fail_msg("'%s' vs '%s': expected %s", a, b, eq ? "equal" : "different");
        if (pv_hostpci_str_equal(b, a) != eq)
                fail_msg("'%s' vs '%s' (swapped): expected %s", b, a, eq ? "equal" : "different");
}

static void test_hostpci_equivalences(void **state) {
        (void)state;
        /* domain optional */
        expect_equal("01:00.0", "0000:01:00.0", true);
        expect_equal("01:00", "0000:01:00", true);
        expect_equal("01:00.0;01:00.1", "0000:01:00.0;01:00.1", true);
        /* key order, host= spelled out or not */
        expect_equal("0000:01:00.0,pcie=1,x-vga=1", "x-vga=1,pcie=1,host=0000:01:00.0", true);
        expect_equal("mapping=gpu,pcie=1", "pcie=1,mapping=gpu", true);
        /* defaults */
        expect_equal("01:00.0,rombar=1", "01:00.0", true);
        expect_equal("01:00.0,pcie=0", "01:00.0", true);
        expect_equal("01:00.0,x-vga=0", "01:00.0", true);
        expect_equal("01:00.0,legacy-igd=0", "01:00.0", true);
        expect_equal("01:00.0,driver=vfio", "01:00.0", true);
        /* boolean spellings */
        static const char *const on[] = { "1", "on", "yes", "true", "ON", "Yes", "TRUE" };
        static const char *const off[] = { "0", "off", "no", "false", "OFF", "No", "False" };
        for (size_t i = 0; i < sizeof on / sizeof *on; i++) {
                char a[64], b[64];
                snprintf(a, sizeof a, "01:00.0,pcie=%s", on[i]);
                expect_equal(a, "01:00.0,pcie=1", true);
                snprintf(b, sizeof b, "01:00.0,rombar=%s", off[i]);
                expect_equal(b, "01:00.0,rombar=0", true);
                expect_equal(b, "01:00.0", false);
        }
        /* hex case in ID overrides */
        expect_equal("01:00.0,vendor-id=0x10DE", "01:00.0,vendor-id=0x10de", true);
        expect_equal("01:00.0,sub-device-id=0xABCD", "01:00.0,sub-device-id=0xabcd", true);
        /* blank parts */
        expect_equal("01:00.0,,pcie=1,", "01:00.0,pcie=1", true);
}

static void test_hostpci_differences(void **state) {
        (void)state;
        /* all functions vs one function */
        expect_equal("01:00", "01:00.0", false);
        expect_equal("01:00.0", "01:00.1", false);
        expect_equal("01:00.0", "02:00.0", false);
        expect_equal("01:00.0", "01:01.0", false);
        expect_equal("01:00.0", "0001:01:00.0", false);
        /* list order and length */
        expect_equal("01:00.0;01:00.1", "01:00.1;01:00.0", false);
        expect_equal("01:00.0;01:00.1", "01:00.0", false);
        /* flags */
        expect_equal("01:00.0", "01:00.0,pcie=1", false);
        expect_equal("01:00.0", "01:00.0,x-vga=1", false);
        expect_equal("01:00.0", "01:00.0,rombar=0", false);
        expect_equal("00:02.0", "00:02.0,legacy-igd=1", false);
        expect_equal("01:00.0", "01:00.0,driver=keep", false);
        /* strings */
        expect_equal("01:00.4,mdev=nvidia-660", "01:00.4,mdev=nvidia-661", false);
        expect_equal("01:00.4,mdev=nvidia-660", "01:00.4", false);
        expect_equal("01:00.0,romfile=a.rom", "01:00.0,romfile=b.rom", false);
        expect_equal("01:00.0,romfile=a.rom", "01:00.0", false);
        expect_equal("mapping=gpu", "mapping=gpu2", false);
        expect_equal("mapping=gpu", "01:00.0", false);
        expect_equal("mapping=gpu,mdev=nvidia-660", "mapping=gpu", false);
        /* every ID override: set vs unset, and value */
        static const char *const ids[] = { "vendor-id", "device-id", "sub-vendor-id", "sub-device-id" };
        for (size_t i = 0; i < 4; i++) {
                char a[64], b[64];
                snprintf(a, sizeof a, "01:00.0,%s=0x1234", ids[i]);
                snprintf(b, sizeof b, "01:00.0,%s=0x1235", ids[i]);
                expect_equal(a, "01:00.0", false);
                expect_equal(a, b, false);
                expect_equal(a, a, true);
        }
        /* an unparseable value only equals itself */
        expect_equal("garbage=1", "garbage=1", true);
        expect_equal("garbage=1", "01:00.0", false);
        assert_false(pv_hostpci_str_equal(NULL, "01:00.0"));
        assert_true(pv_hostpci_str_equal(NULL, NULL));
}

static void expect_reject(const char *s, const char *msg_part) {
        struct pv_hostpci h = PV_HOSTPCI_INIT;
        struct pv_error e = PV_ERROR_INIT;
        if (pv_hostpci_parse(s, &h, &e) != -PV_EINVAL)
                fail_msg("'%s' was accepted", s);
        if (msg_part && !strstr(pv_error_message(&e), msg_part))
                fail_msg("'%s': message '%s' lacks '%s'", s, pv_error_message(&e), msg_part);
        assert_null(h.host); /* untouched on failure */
        pv_error_done(&e);
}

static void test_hostpci_malformed(void **state) {
        (void)state;
        expect_reject("0000:0A:00.0", "lower-case");      /* Proxmox: lower-case hex only */
        expect_reject("01:0A.0", NULL);
        expect_reject("1:00.0", "not a PCI address");
        expect_reject("000:01:00.0", NULL);                /* domain needs 4+ digits */
        expect_reject("01:00.0.1", NULL);
        expect_reject("01:00.10", NULL);
        expect_reject("01:20.0", "device or function");     /* no device 0x20 */
        expect_reject("01:00.8", "device or function");
        expect_reject("01:00.0;", NULL);
        expect_reject(";01:00.0", NULL);
        expect_reject("01:00.0,pcie=1,pcie=0", "duplicate key 'pcie'");
        expect_reject("01:00.0,01:00.1", "without key");
        expect_reject("01:00.0,host=01:00.1", "duplicate key 'host'");
        expect_reject("01:00.0,foo=1", "unknown key 'foo'");
        expect_reject("01:00.0,Pcie=1", "unknown key");
        expect_reject("01:00.0, pcie=1", "unknown key");
        expect_reject("01:00.0,pcie=maybe", "boolean");
        expect_reject("01:00.0,pcie=2", "boolean");
        expect_reject("01:00.0,pcie=", "missing key or value");
        expect_reject("01:00.0,=1", "missing key or value");
        expect_reject("01:00.0,vendor-id=10de", "0x");
        expect_reject("01:00.0,vendor-id=0x10d", NULL);
        expect_reject("01:00.0,vendor-id=0X10de", NULL);
        expect_reject("01:00.0,device-id=0x10de0", NULL);
        expect_reject("01:00.0,driver=nvidia", "'vfio', 'keep'");
        expect_reject("01:00.0,mdev=a/b", NULL);
        expect_reject("01:00.0,mdev=a.b", NULL);
        expect_reject("01:00.0,mdev=a:b", NULL);
        expect_reject("mapping=1gpu", "mapping id");
        expect_reject("mapping=g", "mapping id");
        expect_reject("mapping=gpu.1", "mapping id");
        expect_reject("01:00.0,romfile=a;b", NULL);
        /* the message names the whole value */
        struct pv_hostpci h = PV_HOSTPCI_INIT;
        struct pv_error e = PV_ERROR_INIT;
        assert_int_equal(pv_hostpci_parse("01:00.0,pcie=1,pcie=0", &h, &e), -PV_EINVAL);
        assert_string_equal(pv_error_message(&e), "invalid hostpci value '01:00.0,pcie=1,pcie=0': duplicate key 'pcie'");
        pv_error_done(&e);
}

static void test_hostpci_check(void **state) {
        (void)state;
        static const struct {
                const char *s;
                bool ok;
        } cases[] = {
                { "01:00.0", true },
                { "mapping=gpu", true },
                { "01:00.0,mapping=gpu", false },         /* Cannot set both */
                { "pcie=1", false },                      /* Either host or mapping */
                { "", false },
                { "01:00.4,mdev=nvidia-660", true },
                { "mapping=gpu,mdev=nvidia-660", true },
                { "01:00,mdev=i915-GVTg_V5_4", false },   /* multifunction */
                { "01:00.0;01:00.1,mdev=x", false },
        };
        for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
                struct pv_hostpci h = PV_HOSTPCI_INIT;
                struct pv_error e = PV_ERROR_INIT;
                assert_int_equal(pv_hostpci_parse(cases[i].s, &h, &e), 0);
                int r = pv_hostpci_check(&h, &e);
                if ((r == 0) != cases[i].ok)
                        fail_msg("check of '%s' returned %d", cases[i].s, r);
                pv_hostpci_done(&h);
                pv_error_done(&e);
        }
        /* nothing to print */
        struct pv_hostpci h = PV_HOSTPCI_INIT;
        struct pv_error e = PV_ERROR_INIT;
        char *out = NULL;
        assert_int_equal(pv_hostpci_format(&h, &out, &e), -PV_EINVAL);
        assert_null(out);
        pv_error_done(&e);
}

static void test_hostpci_same_device(void **state) {
        (void)state;
        struct pv_hostpci a = PV_HOSTPCI_INIT, b = PV_HOSTPCI_INIT, c = PV_HOSTPCI_INIT, d = PV_HOSTPCI_INIT;
        assert_int_equal(pv_hostpci_parse("01:00.0,pcie=1,x-vga=1", &a, NULL), 0);
        assert_int_equal(pv_hostpci_parse("0000:01:00.0,rombar=0", &b, NULL), 0);
        assert_int_equal(pv_hostpci_parse("mapping=gpu,pcie=1", &c, NULL), 0);
        assert_int_equal(pv_hostpci_parse("mapping=gpu,mdev=nvidia-660", &d, NULL), 0);
        assert_true(pv_hostpci_same_device(&a, &b));
        assert_false(pv_hostpci_equal(&a, &b));
        assert_true(pv_hostpci_same_device(&c, &d));
        assert_false(pv_hostpci_same_device(&a, &c));
        pv_hostpci_done(&a);
        pv_hostpci_done(&b);
        pv_hostpci_done(&c);
        pv_hostpci_done(&d);
}

static void test_props_and_bool(void **state) {
        (void)state;
        struct pv_props p;
        struct pv_error e = PV_ERROR_INIT;
        assert_int_equal(pv_props_parse("virtio=BC:24:11:AA:BB:CC,bridge=vmbr0,,tag=20", true, &p, &e), 0);
        assert_int_equal(p.n, 3);
        assert_string_equal(pv_props_get(&p, "virtio"), "BC:24:11:AA:BB:CC");
        assert_string_equal(pv_props_get(&p, "tag"), "20");
        assert_null(pv_props_get(&p, NULL));
        assert_null(pv_props_get(&p, "firewall"));
        pv_props_done(&p);
        assert_int_equal(pv_props_parse("host,flags=+pcid;-md-clear,hidden=1", true, &p, &e), 0);
        assert_string_equal(pv_props_get(&p, NULL), "host");
        assert_string_equal(pv_props_get(&p, "flags"), "+pcid;-md-clear");
        pv_props_done(&p);
        assert_int_equal(pv_props_parse("romfile=a=b", true, &p, &e), 0); /* value may hold '=' */
        assert_string_equal(pv_props_get(&p, "romfile"), "a=b");
        pv_props_done(&p);
        assert_int_equal(pv_props_parse("pve1,path=x", false, &p, &e), -PV_EINVAL);
        assert_non_null(strstr(pv_error_message(&e), "without key"));
        pv_error_done(&e);
        assert_int_equal(pv_props_parse("a,b", true, &p, &e), -PV_EINVAL);
        pv_error_done(&e);
        assert_int_equal(pv_props_parse("k=1,k=2", true, &p, &e), -PV_EINVAL);
        pv_error_done(&e);
        assert_int_equal(pv_props_parse("", true, &p, &e), 0);
        assert_int_equal(p.n, 0);
        pv_props_done(&p);

        static const char *const t[] = { "1", "on", "yes", "true", "On", "YES", "tRuE" };
        static const char *const f[] = { "0", "off", "no", "false", "Off", "NO", "FALSE" };
        for (size_t i = 0; i < 7; i++) {
                assert_int_equal(pv_parse_bool(t[i]), 1);
                assert_int_equal(pv_parse_bool(f[i]), 0);
        }
        assert_int_equal(pv_parse_bool("2"), -1);
        assert_int_equal(pv_parse_bool(""), -1);
        assert_int_equal(pv_parse_bool("y"), -1);
        assert_int_equal(pv_parse_bool(NULL), -1);
}

/* ------------------------------------------------------------ map entries */

static void check_map_canonical(const char *s, const char *want) {
        struct pv_map_entry e;
        struct pv_error err = PV_ERROR_INIT;
        char *out = NULL;
        if (pv_mapentry_parse(s, &e, &err) < 0)
                fail_msg("'%s' did not parse: %s", s, pv_error_message(&err));
        assert_int_equal(pv_mapentry_format(&e, &out, &err), 0);
        if (strcmp(out, want) != 0)
                fail_msg("'%s' printed as '%s', expected '%s'", s, out, want);
        struct pv_map_entry e2;
        assert_int_equal(pv_mapentry_parse(out, &e2, &err), 0);
        assert_true(pv_mapentry_equal(&e, &e2));
        free(out);
        pv_mapentry_done(&e);
        pv_mapentry_done(&e2);
}

static void test_map_round_trip(void **state) {
        (void)state;
        const char *full = "node=pve1,path=0000:01:00.0,id=10de:25a0,subsystem-id=1028:0a61,iommugroup=15,description=left slot";
        check_map_canonical(full, full);
        check_map_canonical("id=10DE:25A0,iommugroup=15,path=0000:01:00.0,node=pve1,subsystem-id=1028:0A61,description=left slot",
                            full);
        check_map_canonical("node=pve2,path=0000:01:00,id=10de:2507", "node=pve2,path=0000:01:00,id=10de:2507");
        check_map_canonical("node=pve1,path=0000:03:00.1;0000:03:00.2,id=8086:1520,iommugroup=+7",
                            "node=pve1,path=0000:03:00.1;0000:03:00.2,id=8086:1520,iommugroup=7");
}

static bool map_eq(const char *a, const char *b) {
        struct pv_map_entry x, y;
        assert_int_equal(pv_mapentry_parse(a, &x, NULL), 0);
        assert_int_equal(pv_mapentry_parse(b, &y, NULL), 0);
        bool eq = pv_mapentry_equal(&x, &y);
        assert_int_equal(eq, pv_mapentry_equal(&y, &x));
        pv_mapentry_done(&x);
        pv_mapentry_done(&y);
        return eq;
}

static void test_map_compare(void **state) {
        (void)state;
        const char *base = "node=pve1,path=0000:01:00.0,id=10de:25a0,subsystem-id=1028:0a61,iommugroup=15";
        assert_true(map_eq(base, "iommugroup=15,subsystem-id=1028:0A61,id=10DE:25A0,path=0000:01:00.0,node=pve1"));
        assert_false(map_eq(base, "node=pve2,path=0000:01:00.0,id=10de:25a0,subsystem-id=1028:0a61,iommugroup=15"));
        assert_false(map_eq(base, "node=pve1,path=0000:01:00,id=10de:25a0,subsystem-id=1028:0a61,iommugroup=15"));
        assert_false(map_eq(base, "node=pve1,path=0000:01:00.1,id=10de:25a0,subsystem-id=1028:0a61,iommugroup=15"));
        assert_false(map_eq(base, "node=pve1,path=0000:01:00.0,id=10de:25a1,subsystem-id=1028:0a61,iommugroup=15"));
        assert_false(map_eq(base, "node=pve1,path=0000:01:00.0,id=10de:25a0,iommugroup=15"));
        assert_false(map_eq(base, "node=pve1,path=0000:01:00.0,id=10de:25a0,subsystem-id=1028:0a62,iommugroup=15"));
        assert_false(map_eq(base, "node=pve1,path=0000:01:00.0,id=10de:25a0,subsystem-id=1028:0a61,iommugroup=16"));
        assert_false(map_eq(base, "node=pve1,path=0000:01:00.0,id=10de:25a0,subsystem-id=1028:0a61"));
        assert_false(map_eq(base, "node=pve1,path=0000:01:00.0,id=10de:25a0,subsystem-id=1028:0a61,iommugroup=15,description=x"));
        assert_false(map_eq("node=pve1,path=0000:03:00.1;0000:03:00.2,id=8086:1520",
                            "node=pve1,path=0000:03:00.2;0000:03:00.1,id=8086:1520"));
        /* description: absent equals empty */
        struct pv_map_entry x;
        assert_int_equal(pv_mapentry_parse("node=pve1,path=0000:01:00.0,id=10de:25a0", &x, NULL), 0);
        struct pv_map_entry y = x;
        y.description = (char *)"";
        assert_true(pv_mapentry_equal(&x, &y));
        pv_mapentry_done(&x);
}

static void map_reject(const char *s, const char *part) {
        struct pv_map_entry e;
        memset(&e, 0x5a, sizeof e);
        struct pv_error err = PV_ERROR_INIT;
        if (pv_mapentry_parse(s, &e, &err) != -PV_EINVAL)
                fail_msg("'%s' was accepted", s);
        if (part && !strstr(pv_error_message(&err), part))
                fail_msg("'%s': message '%s' lacks '%s'", s, pv_error_message(&err), part);
        pv_error_done(&err);
}

static void test_map_malformed(void **state) {
        (void)state;
        map_reject("path=0000:01:00.0,id=10de:25a0", "missing 'node'");
        map_reject("node=pve1,id=10de:25a0", "missing 'path'");
        map_reject("node=pve1,path=0000:01:00.0", "missing 'id'");
        map_reject("node=pve1,path=01:00.0,id=10de:25a0", "not a PCI address");   /* domain required */
        map_reject("node=pve1,path=0000:01:00.0,id=10de25a0", "vendor:device");
        map_reject("node=pve1,path=0000:01:00.0,id=0x10de:0x25a0", "vendor:device");
        map_reject("node=pve1,path=0000:01:00.0,id=10de:25a0,iommugroup=x", "integer");
        map_reject("node=pve1,path=0000:01:00.0,id=10de:25a0,iommugroup=1.5", "integer");
        map_reject("node=pve1,path=0000:01:00.0,id=10de:25a0,color=red", "unknown key 'color'");
        map_reject("pve1,path=0000:01:00.0,id=10de:25a0", "without key");
        map_reject("node=pve1,node=pve2,path=0000:01:00.0,id=10de:25a0", "duplicate key 'node'");
        map_reject("node=-pve1,path=0000:01:00.0,id=10de:25a0", "node name");
        map_reject("node=pve1,path=0000:01:00.0;,id=10de:25a0", NULL);

        struct pv_map_entry e;
        struct pv_error err = PV_ERROR_INIT;
        char *out = NULL;
        assert_int_equal(pv_mapentry_parse("node=pve1,path=0000:01:00.0,id=10de:25a0", &e, &err), 0);
        free(e.description);
        e.description = strdup("a,b");
        assert_int_equal(pv_mapentry_format(&e, &out, &err), -PV_EINVAL);
        assert_null(out);
        pv_error_done(&err);
        e.has_id = false;
        free(e.description);
        e.description = NULL;
        assert_int_equal(pv_mapentry_format(&e, &out, &err), -PV_EINVAL);
        pv_error_done(&err);
        pv_mapentry_done(&e);
        pv_mapentry_done(NULL);
        pv_hostpci_done(NULL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_hostpci_round_trip),  cmocka_unit_test(test_hostpci_equivalences),
                cmocka_unit_test(test_hostpci_differences), cmocka_unit_test(test_hostpci_malformed),
                cmocka_unit_test(test_hostpci_check),       cmocka_unit_test(test_hostpci_same_device),
                cmocka_unit_test(test_props_and_bool),      cmocka_unit_test(test_map_round_trip),
                cmocka_unit_test(test_map_compare),         cmocka_unit_test(test_map_malformed),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
