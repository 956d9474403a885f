/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Profile bundles (pvfio/profilebundle.h): what the controller sends a node over SSH so the node
 * installs the controller's ROM images. The writer sends only that node's images; the reader checks
 * JSON, format, keys, size, SHA-256 and base64; a profile parsed from a bundle takes its romfiles
 * bytes from it, and an image the bundle lacks blocks that node's install with the reason.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pvfio/bytes.h"
#include "pvfio/hostrom.h"
#include "pvfio/plan.h"
#include "pvfio/profile.h"
#include "pvfio/profilebundle.h"

/* A synthetic legacy option ROM (PCI Firmware Specification layout) of 8 blocks, mostly NULs. */
static size_t rom_build(uint8_t *p, uint8_t mark) {
        memset(p, 0, 8 * 512);
        p[0] = 0x55, p[1] = 0xaa;
        p[0x18] = 0x40;
        memcpy(p + 0x40, "PCIR", 4);
        p[0x44] = 0xde, p[0x45] = 0x10, p[0x46] = 0x84, p[0x47] = 0x24;
        p[0x50] = 8;
        p[0x55] = 0x80;
        p[0x100] = 0xff, p[0x101] = 0xfe, p[0x102] = mark; /* not UTF-8 */
        return 8 * 512;
}

static char dir[64];

static void put(const char *rel, const void *data, size_t len) {
        char p[256];
        snprintf(p, sizeof p, "%s/%s", dir, rel);
        FILE *f = fopen(p, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(data, 1, len, f), len);
        fclose(f);
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw) {
        (void)sb, (void)flag, (void)ftw;
        return remove(p);
}

static int setup(void **state) {
        (void)state;
        snprintf(dir, sizeof dir, "/tmp/pvfio-bundle-XXXXXX");
        assert_non_null(mkdtemp(dir));
        char p[256];
        snprintf(p, sizeof p, "%s/roms", dir);
        assert_int_equal(mkdir(p, 0755), 0);
        return 0;
}

static int teardown(void **state) {
        (void)state;
        nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
        return 0;
}

static const char PROFILE[] = "version: 1\n"
                              "hosts:\n"
                              "  - nodes: [n1]\n"
                              "    romfiles:\n"
                              "      - {name: gpu.rom, source: roms/gpu.rom}\n"
                              "      - {name: same.rom, source: roms/gpu.rom}\n"
                              "  - nodes: [n2]\n"
                              "    romfiles:\n"
                              "      - {name: other.rom, source: roms/other.rom}\n"
                              "  - nodes: [n3]\n"
                              "    kernel_args: [quiet]\n";

static uint8_t gpu[8 * 512], other[8 * 512];

/* The profile loaded from DIR/profile.yaml, as the controller loads it. */
static struct pv_profile *controller_profile(void) {
        rom_build(gpu, 0xc3);
        rom_build(other, 0xc4);
        put("roms/gpu.rom", gpu, sizeof gpu);
        put("roms/other.rom", other, sizeof other);
        put("profile.yaml", PROFILE, strlen(PROFILE));
        char p[256];
        snprintf(p, sizeof p, "%s/profile.yaml", dir);
        struct pv_profile *prof = NULL;
        struct pv_diags d = { 0 };
        assert_int_equal(pv_profile_load(p, &prof, &d, NULL), 0);
        pv_diags_done(&d);
        return prof;
}

static void test_node_gets_its_images_byte_for_byte(void **state) {
        (void)state;
        struct pv_profile *p = controller_profile();
        char *doc = NULL;
        size_t n = 0;
        /* n3 installs no image: the plain profile goes (an older pvfio there keeps working) */
        assert_int_equal(pv_profile_bundle_for_node(p, "n3", PROFILE, strlen(PROFILE), &doc, &n, NULL), 0);
        assert_null(doc);
        assert_int_equal(pv_profile_bundle_for_node(p, "n1", PROFILE, strlen(PROFILE), &doc, &n, NULL), 0);
        assert_non_null(doc);
        assert_non_null(strstr(doc, "\"format\":\"" PV_PROFILE_BUNDLE_FORMAT "\""));
        assert_null(strstr(doc, "roms/other.rom\",")); /* n2's image is not sent to n1 */

        struct pv_profile_bundle b;
        assert_int_equal(pv_profile_bundle_parse(doc, n, "<stdin>", &b, NULL), 0);
        assert_int_equal(b.n_files, 1); /* two entries, one source: sent once */
        assert_string_equal(b.files[0].source, "roms/gpu.rom");
        assert_int_equal(b.files[0].len, sizeof gpu);
        assert_memory_equal(b.files[0].data, gpu, sizeof gpu);
        assert_int_equal(b.profile_len, strlen(PROFILE));
        assert_memory_equal(b.profile, PROFILE, strlen(PROFILE));

        /* the node (working directory elsewhere, no roms/ there) takes the bytes from the bundle */
        struct pv_profile *remote = NULL;
        struct pv_diags d = { 0 };
        assert_int_equal(pv_profile_parse_bundle(&b, "<stdin>", &remote, &d, NULL), 0);
        const struct pv_romfile *rf = pv_profile_romfile_for_node(remote, "n1", "same.rom");
        assert_non_null(rf);
        assert_null(rf->problem);
        assert_int_equal(rf->len, sizeof gpu);
        assert_memory_equal(rf->data, gpu, sizeof gpu);
        char sha[PV_SHA256_HEX];
        pv_sha256_hex(gpu, sizeof gpu, sha);
        assert_string_equal(rf->sha256, sha);
        struct pv_plan plan = PV_PLAN_INIT;
        assert_int_equal(pv_host_roms_plan(remote, "n1", NULL, &plan, NULL), 0);
        assert_int_equal(plan.n, 2);
        assert_null(plan.actions[0].blocked);
        assert_null(plan.actions[1].blocked);
        pv_plan_done(&plan);

        /* an image the bundle lacks (n2's, sent to n1) is that node's problem, never read from disk */
        const struct pv_romfile *missing = pv_profile_romfile_for_node(remote, "n2", "other.rom");
        assert_null(missing->data);
        assert_string_equal(missing->problem, "the ROM source 'roms/other.rom' is not in the profile bundle the "
                                              "controller sent");
        assert_int_equal(pv_host_roms_plan(remote, "n2", NULL, &plan, NULL), 0);
        assert_int_equal(plan.n, 1);
        assert_non_null(strstr(plan.actions[0].blocked, "is not in the profile bundle the controller sent for node n2"));
        pv_plan_done(&plan);

        pv_profile_free(remote);
        pv_diags_done(&d);
        pv_profile_bundle_done(&b);
        free(doc);
        pv_profile_free(p);
}

/* A bundle document with one image (data as given, size and sha256 as given). */
static char *bundle_with(const char *size, const char *sha, const char *data) {
        char *s = NULL;
        assert_true(asprintf(&s,
                             "{\"format\": \"pvfio-profile-bundle/1\", \"profile\": \"version: 1\\n\", \"files\": "
                             "[{\"source\": \"roms/gpu.rom\", \"size\": %s, \"sha256\": \"%s\", \"data_base64\": \"%s\"}]}",
                             size, sha, data) > 0);
        return s;
}

static void expect_refused(const char *doc, int code, const char *needle) {
        struct pv_profile_bundle b;
        struct pv_error err = PV_ERROR_INIT;
        assert_int_equal(pv_profile_bundle_parse(doc, strlen(doc), "<stdin>", &b, &err), -code);
        if (!strstr(pv_error_message(&err), needle))
                fail_msg("'%s' does not say '%s'", pv_error_message(&err), needle);
        pv_error_done(&err);
}

static void test_reader_refuses(void **state) {
        (void)state;
        static const uint8_t bytes[] = { 0x55, 0xaa, 0x00, 0x00, 0xff };
        char sha[PV_SHA256_HEX], zero[PV_SHA256_HEX];
        pv_sha256_hex(bytes, sizeof bytes, sha);
        memset(zero, '0', 64);
        zero[64] = '\0';
        char *b64 = pv_base64_encode(bytes, sizeof bytes);

        char *good = bundle_with("5", sha, b64);
        struct pv_profile_bundle b;
        assert_int_equal(pv_profile_bundle_parse(good, strlen(good), "<stdin>", &b, NULL), 0);
        assert_int_equal(b.n_files, 1);
        assert_memory_equal(b.files[0].data, bytes, sizeof bytes);
        pv_profile_bundle_done(&b);
        free(good);

        expect_refused("{\"format\": \"pvfio-profile-bundle/1\", \"profile\": ", PV_EINVAL,
                       "profile bundle '<stdin>' is not JSON (line 1");
        expect_refused("[]", PV_EINVAL, "is not a JSON object");
        expect_refused("{\"format\": \"pvfio-profile-bundle/2\", \"profile\": \"\", \"files\": []}", PV_EINVAL,
                       "has format 'pvfio-profile-bundle/2', this pvfio reads 'pvfio-profile-bundle/1'");
        expect_refused("{\"profile\": \"\", \"files\": []}", PV_EINVAL, "has format '(none)'");
        expect_refused("{\"format\": \"pvfio-profile-bundle/1\", \"files\": []}", PV_EINVAL, "needs 'profile'");
        expect_refused("{\"format\": \"pvfio-profile-bundle/1\", \"profile\": \"\"}", PV_EINVAL, "needs 'files'");
        expect_refused("{\"format\": \"pvfio-profile-bundle/1\", \"profile\": \"\", \"files\": [], \"x\": 1}",
                       PV_EINVAL, "unknown key 'x'");
        expect_refused("{\"format\": \"pvfio-profile-bundle/1\", \"format\": \"x\", \"profile\": \"\", \"files\": []}",
                       PV_EINVAL, "is not JSON");

        struct { const char *size, *sha, *data, *needle; } bad[] = {
                { "6", sha, b64, "image 'roms/gpu.rom' holds 5 bytes, its 'size' says 6 (the bundle was damaged" },
                { "4", sha, b64, "holds 5 bytes, its 'size' says 4" },
                { "5", zero, b64, "image 'roms/gpu.rom' has SHA-256 " },
                { "5", "abc", b64, "needs 'sha256' (64 hex digits)" },
                { "5", sha, "VaoAAP8", "'data_base64' is not base64" },
                { "-1", sha, b64, "needs 'size' (0 to 4194304 bytes)" },
                { "\"5\"", sha, b64, "needs 'size'" },
        };
        for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
                char *doc = bundle_with(bad[i].size, bad[i].sha, bad[i].data);
                expect_refused(doc, PV_EINVAL, bad[i].needle);
                free(doc);
        }
        char *doc = bundle_with("5", zero, b64);
        expect_refused(doc, PV_EINVAL, "its 'sha256' says 0000000000000000000000000000000000000000000000000000000000000000");
        free(doc);

        /* the same image twice */
        char *twice = NULL;
        assert_true(asprintf(&twice,
                             "{\"format\": \"pvfio-profile-bundle/1\", \"profile\": \"\", \"files\": ["
                             "{\"source\": \"a\", \"size\": 5, \"sha256\": \"%s\", \"data_base64\": \"%s\"},"
                             "{\"source\": \"a\", \"size\": 5, \"sha256\": \"%s\", \"data_base64\": \"%s\"}]}",
                             sha, b64, sha, b64) > 0);
        expect_refused(twice, PV_EINVAL, "holds image 'a' twice");
        free(twice);
        expect_refused("{\"format\": \"pvfio-profile-bundle/1\", \"profile\": \"\", \"files\": [{\"size\": 0}]}",
                       PV_EINVAL, "files[0] needs 'source'");
        expect_refused("{\"format\": \"pvfio-profile-bundle/1\", \"profile\": \"\", \"files\": [{\"source\": \"a\", "
                       "\"mode\": 1}]}",
                       PV_EINVAL, "files[0] has an unknown key 'mode'");
        free(b64);

        /* past the stdin cap of --profile-bundle */
        size_t big = PV_PROFILE_BUNDLE_MAX_BYTES + 1;
        char *huge = calloc(1, big);
        assert_non_null(huge);
        struct pv_error err = PV_ERROR_INIT;
        assert_int_equal(pv_profile_bundle_parse(huge, big, "<stdin>", &b, &err), -PV_ETOOBIG);
        assert_non_null(strstr(pv_error_message(&err), "more than the limit of"));
        pv_error_done(&err);
        free(huge);
}

static void test_missing_image_blocks_with_reason(void **state) {
        (void)state;
        static const char doc[] = "{\"format\": \"pvfio-profile-bundle/1\", \"profile\": \"version: 1\\nhosts:\\n  - "
                                  "nodes: [n1]\\n    romfiles:\\n      - {name: gpu.rom, source: roms/gpu.rom}\\n\", "
                                  "\"files\": []}";
        struct pv_profile_bundle b;
        assert_int_equal(pv_profile_bundle_parse(doc, strlen(doc), "<stdin>", &b, NULL), 0);
        struct pv_profile *p = NULL;
        struct pv_diags d = { 0 };
        assert_int_equal(pv_profile_parse_bundle(&b, "<stdin>", &p, &d, NULL), 0);
        struct pv_plan plan = PV_PLAN_INIT;
        assert_int_equal(pv_host_roms_plan(p, "n1", NULL, &plan, NULL), 0);
        assert_int_equal(plan.n, 1);
        assert_string_equal(plan.actions[0].blocked,
                            "the ROM source 'roms/gpu.rom' is not in the profile bundle the controller sent for node "
                            "n1: the controller sends the images its profile names; run the plan from a controller "
                            "that can read that source");
        pv_plan_done(&plan);
        pv_profile_free(p);
        pv_diags_done(&d);
        pv_profile_bundle_done(&b);
}

/* A node's images are capped together (PV_PROFILE_BUNDLE_MAX_IMAGES): five of the largest size are refused
 * on the controller, naming the node, before anything is sent. */
static void test_writer_caps_a_nodes_images(void **state) {
        (void)state;
        size_t n = PV_ROMFILE_MAX_BYTES;
        uint8_t *big = calloc(1, n);
        assert_non_null(big);
        rom_build(big, 0xc3);
        char text[1024] = "version: 1\nhosts:\n  - nodes: [n1]\n    romfiles:\n";
        for (int i = 0; i < 5; i++) {
                char rel[32];
                snprintf(rel, sizeof rel, "roms/big%d.rom", i);
                big[0x200] = (uint8_t)i; /* five different images */
                put(rel, big, n);
                snprintf(text + strlen(text), sizeof text - strlen(text), "      - {name: big%d.rom, source: %s}\n", i,
                         rel);
        }
        free(big);
        put("profile.yaml", text, strlen(text));
        char path[256];
        snprintf(path, sizeof path, "%s/profile.yaml", dir);
        struct pv_profile *p = NULL;
        struct pv_diags d = { 0 };
        assert_int_equal(pv_profile_load(path, &p, &d, NULL), 0);
        char *doc = NULL;
        size_t len = 0;
        struct pv_error err = PV_ERROR_INIT;
        assert_int_equal(pv_profile_bundle_for_node(p, "n1", text, strlen(text), &doc, &len, &err), -PV_ETOOBIG);
        assert_null(doc);
        assert_non_null(strstr(pv_error_message(&err), "the ROM images of node 'n1' are 20971520 bytes together, more "
                                                       "than the 16 MiB pvfio sends over SSH"));
        pv_error_done(&err);
        pv_profile_free(p);
        pv_diags_done(&d);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_node_gets_its_images_byte_for_byte, setup, teardown),
                cmocka_unit_test(test_reader_refuses),
                cmocka_unit_test(test_missing_image_blocks_with_reason),
                cmocka_unit_test_setup_teardown(test_writer_caps_a_nodes_images, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
