/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for the profile loader: the YAML limits (alias, merge-key and depth
 * bombs, size cap, stdin, documents, keys, tags, encodings, too many problems,
 * description cap). Fixtures: profile_fixture.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "pvfio/profile.h"
#include "profile_fixture.h"

/* --------------------------------------------------------------- limits */

static void test_alias_bomb(void **state) {
        (void)state;
        const char *y = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
                        "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                        "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
                        "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
                        "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
                        "f: &f [*e, " MARK "*e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
                        "g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n"
                        "h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g, *g]\n"
                        "i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h, *h]\n";
        /* e weighs 111111 nodes: the second *e in f crosses 200000 */
        size_t n = expect_diag(y, false, "expands to more than 200000 nodes through alias '*e'; refusing it (alias bomb?)");
        assert_int_equal(n, 1);
        /* the same structure below the cap loads (and fails only on its unknown keys) */
        struct pv_profile *p = NULL;
        struct pv_diags d = { 0 };
        assert_int_equal(parse("version: 1\nx: &a [y, y]\nz: [*a, *a]\n", &p, &d), -PV_EINVAL);
        assert_int_equal(d.n_errors, 2);
        assert_false(has_msg(&d, "alias bomb"));
        pv_diags_done(&d);
}

static void test_merge_key_bomb(void **state) {
        (void)state;
        /* merge keys copy pairs: the weight of the merged sources counts as well */
        char *y = strdup("a0: &a0 {k0: 0, k1: 1, k2: 2, k3: 3, k4: 4, k5: 5, k6: 6, k7: 7, k8: 8, k9: 9}\n");
        assert_non_null(y);
        for (int i = 1; i < 20; i++) {
                char *n = NULL;
                assert_true(asprintf(&n, "%sa%d: &a%d {<<: [*a%d, *a%d], x%d: 1}\n", y, i, i, i - 1, i - 1, i) > 0);
                free(y);
                y = n;
        }
        struct pv_profile *p = NULL;
        struct pv_diags d = { 0 };
        assert_int_equal(parse(y, &p, &d), -PV_EINVAL);
        assert_true(has_msg(&d, "alias bomb"));
        pv_diags_done(&d);
        free(y);
}

static void test_depth_bomb(void **state) {
        (void)state;
        char y[200];
        /* the root mapping is level 1: 31 nested lists below it are fine, 32 are one too many */
        int n = snprintf(y, sizeof(y), "version: 1\nx: ");
        for (int i = 0; i < 31; i++)
                y[n++] = '[';
        for (int i = 0; i < 31; i++)
                y[n++] = ']';
        y[n++] = '\n';
        y[n] = '\0';
        struct pv_profile *p = NULL;
        struct pv_diags d = { 0 };
        assert_int_equal(parse(y, &p, &d), -PV_EINVAL);
        assert_false(has_msg(&d, "nests deeper"));
        assert_true(has_msg(&d, "unknown key 'x'"));
        pv_diags_done(&d);
        n = snprintf(y, sizeof(y), "version: 1\nx: ");
        for (int i = 0; i < 31; i++)
                y[n++] = '[';
        memcpy(y + n, MARK "[]", strlen(MARK "[]"));
        n += (int)strlen(MARK "[]");
        for (int i = 0; i < 31; i++)
                y[n++] = ']';
        y[n] = '\0';
        assert_int_equal(expect_diag(y, false, "the profile nests deeper than 32 levels"), 1);
        /* deep through an alias: a 20-level list used 20 levels down */
        char *z = NULL;
        assert_true(asprintf(&z, "a: &a [[[[[[[[[[[[[[[[[[[[x]]]]]]]]]]]]]]]]]]]]\n"
                                 "b: [[[[[[[[[[[[[[[[[[[" MARK "*a]]]]]]]]]]]]]]]]]]]\n") > 0);
        assert_int_equal(expect_diag(z, false, "nests deeper than 32 levels through alias '*a'"), 1);
        free(z);
        /* 1 MiB of '[' stops early, cleanly */
        size_t big = PV_PROFILE_MAX_BYTES;
        char *w = malloc(big);
        assert_non_null(w);
        memset(w, '[', big);
        assert_int_equal(pv_profile_parse_mem(w, big, "deep", &p, &d, NULL), -PV_EINVAL);
        assert_true(has_diag(&d, false, 1, 33, "nests deeper than 32 levels"));
        pv_diags_done(&d);
        free(w);
}

static void test_size_cap(void **state) {
        (void)state;
        size_t n = PV_PROFILE_MAX_BYTES + 1;
        char *y = malloc(n + 1);
        assert_non_null(y);
        memset(y, ' ', n);
        memcpy(y, "version: 1\n#", 12);
        y[n] = '\0';
        struct pv_profile *p = NULL;
        struct pv_diags d = { 0 };
        struct pv_error e = PV_ERROR_INIT;
        assert_int_equal(pv_profile_parse_mem(y, n, "big.yaml", &p, &d, &e), -PV_ETOOBIG);
        assert_null(p);
        assert_int_equal(d.n, 0);
        assert_non_null(strstr(pv_error_message(&e), "more than the limit of 1048576 bytes"));
        pv_error_done(&e);
        /* exactly at the cap is fine */
        assert_int_equal(pv_profile_parse_mem(y, n - 1, "big.yaml", &p, &d, &e), 0);
        pv_profile_free(p);
        p = NULL;
        pv_diags_done(&d);
        /* the same through a file: one byte over fails while reading */
        char path[] = "/tmp/pvfio-test-profile-XXXXXX";
        int fd = mkstemp(path);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, y, n), (ssize_t)n);
        close(fd);
        assert_int_equal(pv_profile_load(path, &p, &d, &e), -PV_ETOOBIG);
        assert_null(p);
        assert_non_null(strstr(pv_error_message(&e), "exceeds the limit"));
        pv_error_done(&e);
        assert_int_equal(truncate(path, (off_t)(n - 1)), 0);
        assert_int_equal(pv_profile_load(path, &p, &d, &e), 0);
        assert_string_equal(p->file, path);
        pv_profile_free(p);
        unlink(path);
        free(y);
        /* a missing file */
        p = NULL;
        assert_int_equal(pv_profile_load("/nonexistent/pvfio.yaml", &p, &d, &e), -PV_EIO);
        assert_non_null(strstr(pv_error_message(&e), "cannot open '/nonexistent/pvfio.yaml'"));
        assert_null(p);
        pv_error_done(&e);
}

static void test_load_stdin(void **state) {
        (void)state;
        int pfd[2];
        assert_int_equal(pipe(pfd), 0);
        const char *y = "version: 1\nvms:\n  - {name: a, node: pve1, vmid: 7}\n";
        assert_int_equal(write(pfd[1], y, strlen(y)), (ssize_t)strlen(y));
        close(pfd[1]);
        int saved = dup(STDIN_FILENO);
        assert_true(saved >= 0);
        assert_int_equal(dup2(pfd[0], STDIN_FILENO), STDIN_FILENO);
        close(pfd[0]);
        struct pv_profile *p = NULL;
        struct pv_diags d = { 0 };
        struct pv_error e = PV_ERROR_INIT;
        int r = pv_profile_load("-", &p, &d, &e);
        assert_int_equal(dup2(saved, STDIN_FILENO), STDIN_FILENO);
        close(saved);
        assert_int_equal(r, -PV_EINVAL);
        assert_true(has_diag(&d, false, 3, 33, "must be from 100"));
        assert_string_equal(e.file, "<stdin>");
        pv_error_done(&e);
        pv_diags_done(&d);
}

static void test_yaml_errors(void **state) {
        (void)state;
        /* libyaml's problem_mark becomes the position */
        expect_diag("version: 1\nvms:\n  - name: a\n   " MARK "node: b\n", false, "invalid YAML: did not find expected '-' indicator");
        expect_diag("version: 1\nvms: [a, b\n" MARK, false, "invalid YAML: did not find expected ',' or ']'");
        expect_diag("version: 1\nx: " MARK "*nope\n", false, "unknown alias '*nope'");
        expect_diag("version: 1\nx: &a [1, " MARK "*a]\n", false, "refers to a node that contains it");
        expect_diag("version: 1\nx: " MARK "\"a\\0b\"\n", false, "may not contain a NUL character");
        expect_diag("version: 1\nx: " MARK "!!int abc\n", false, "'abc' is not a valid !!int");
        expect_diag("version: 1\n" MARK "~: 1\n", false, "empty mapping key");
        expect_diag(MARK "", false, "the profile is empty");
        expect_diag("version: 1\n<<: " MARK "5\n", false, "a '<<' merge value must be a mapping");
        expect_diag("version: 1\na: {<<: {}, " MARK "<<: {}}\n", false, "duplicate key '<<'");
        /* merged keys never clash with written ones; written duplicates do */
        struct pv_profile *p = parse_ok("version: 1\ntemplates:\n  a: &a {cores: 1}\n  b: {<<: *a, cores: 2}\n");
        pv_profile_free(p);
        expect_diag("version: 1\ntemplates:\n  b: {cores: 1, " MARK "cores: 2}\n", false,
                    "duplicate key 'cores' (first defined at line 3, column 7)");
}

/* Problems found while reading YAML carry the key path of where they are. */
static void test_yaml_key_paths(void **state) {
        (void)state;
        struct pv_profile *p = NULL;
        struct pv_diags d = { 0 };
        const char *y = "version: 1\n"
                        "templates:\n"
                        "  b: {cores: 1, cores: 2}\n"
                        "vms:\n"
                        "  - name: a\n"
                        "    node: b\n"
                        "    8: x\n"
                        "    tags: [a, !foo b]\n";
        assert_int_equal(parse(y, &p, &d), -PV_EINVAL);
        if (d.n != 3)
                dump_diags(&d);
        assert_int_equal(d.n, 3);
        assert_string_equal(d.v[0].key, "templates.b.cores");
        assert_int_equal(d.v[0].line, 3);
        assert_int_equal(d.v[0].col, 17);
        assert_string_equal(d.v[1].key, "vms[0]");
        assert_int_equal(d.v[1].line, 7);
        assert_string_equal(d.v[2].key, "vms[0].tags[1]");
        assert_non_null(strstr(d.v[2].message, "unsupported YAML tag '!foo'"));
        pv_diags_done(&d);
}

static void test_encodings(void **state) {
        (void)state;
        /* invalid UTF-8: the offset becomes line:col */
        expect_diag("version: 1\nx: " MARK "\xff\xfe\n", false, "invalid YAML input: invalid leading UTF-8 octet");
        expect_diag("version: 1\nx: a" MARK "\x01\n", false, "control characters are not allowed");
        /* binary garbage of every kind: a clean error, never a crash or a leak */
        unsigned seed = 12345;
        char buf[512];
        for (int round = 0; round < 2000; round++) {
                size_t n = (size_t)(round % 500) + 1;
                for (size_t i = 0; i < n; i++) {
                        seed = seed * 1103515245u + 12345u;
                        buf[i] = (char)(seed >> 16);
                }
                struct pv_profile *p = NULL;
                struct pv_diags d = { 0 };
                struct pv_error e = PV_ERROR_INIT;
                int r = pv_profile_parse_mem(buf, n, "bin", &p, &d, &e);
                assert_true(r == -PV_EINVAL);
                assert_true(d.n_errors > 0);
                for (size_t i = 0; i < d.n; i++) {
                        assert_non_null(d.v[i].message);
                        assert_true(d.v[i].line >= 1);
                }
                pv_diags_done(&d);
                pv_error_done(&e);
        }
        /* UTF-8 text with multi-byte characters counts columns in characters */
        expect_diag("version: 1\nvms:\n  - {name: a, node: b, tags: [\xc3\xa9t\xc3\xa9, " MARK "\"a b\"]}\n", false, "a tag");
}

static void test_too_many_problems(void **state) {
        (void)state;
        char *y = strdup("version: 1\nvms:\n");
        for (int i = 0; i < 1200; i++) {
                char *n = NULL;
                assert_true(asprintf(&n, "%s  - {name: v%d, node: n, vmid: 1}\n", y, i) > 0);
                free(y);
                y = n;
        }
        struct pv_profile *p = NULL;
        struct pv_diags d = { 0 };
        assert_int_equal(parse(y, &p, &d), -PV_EINVAL);
        assert_int_equal(d.n, 1001);
        assert_true(has_msg(&d, "too many problems (more than 1000)"));
        pv_diags_done(&d);
        free(y);
}

static void test_description_cap(void **state) {
        (void)state;
        char *desc = malloc(4098);
        assert_non_null(desc);
        memset(desc, 'd', 4097);
        desc[4097] = '\0';
        char *y = NULL;
        assert_true(asprintf(&y, V "mappings:\n  - id: rtx\n    description: " MARK "%s\n    map:\n      - {node: a, path: 01:00}\n",
                             desc) > 0);
        expect_diag(y, false, "a description of at most 4096 characters");
        free(y);
        desc[4096] = '\0';
        assert_true(asprintf(&y, V "mappings:\n  - id: rtx\n    description: %s\n    map:\n      - {node: a, path: 01:00}\n",
                             desc) > 0);
        struct pv_profile *p = parse_ok(y);
        assert_int_equal(strlen(p->mappings[0].description), 4096);
        pv_profile_free(p);
        free(y);
        free(desc);
}

int main(void) {
        static const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_alias_bomb),
                cmocka_unit_test(test_merge_key_bomb),
                cmocka_unit_test(test_depth_bomb),
                cmocka_unit_test(test_size_cap),
                cmocka_unit_test(test_load_stdin),
                cmocka_unit_test(test_yaml_errors),
                cmocka_unit_test(test_yaml_key_paths),
                cmocka_unit_test(test_encodings),
                cmocka_unit_test(test_too_many_problems),
                cmocka_unit_test(test_description_cap),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
