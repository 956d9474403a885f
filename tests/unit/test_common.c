/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for common/: errors, capped buffers, PCI addresses and IDs, strings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "pvfio/xalloc.h"
#include "pvfio/buf.h"
#include "pvfio/error.h"
#include "pvfio/pci.h"
#include "pvfio/tags.h"
#include "pvfio/util.h"
#include "pvfio/version.h"

static void exit_42(size_t size) {
        (void)size;
        _exit(42);
}

/* The x-allocators never return NULL: they copy, and an impossible size ends in the handler. */
static void test_xalloc(void **state) {
        (void)state;
        char *s = pv_xasprintf("%s-%d", "gpu", 7);
        assert_string_equal(s, "gpu-7");
        free(s);
        assert_null(pv_xstrdup(NULL));
        s = pv_xstrndup("abcdef", 3);
        assert_string_equal(s, "abc");
        free(s);
        int *v = pv_xreallocarray(NULL, 4, sizeof *v);
        v[3] = 1;
        free(v);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                pv_set_oom_handler(exit_42);
                (void)pv_xreallocarray(NULL, SIZE_MAX / 2 + 2, 2);
                _exit(0);
        }
        int st = 0;
        assert_int_equal(waitpid(pid, &st, 0), pid);
        assert_true(WIFEXITED(st));
        assert_int_equal(WEXITSTATUS(st), 42);
}

/* pv_error_move is NULL-safe like pv_error_set: no crash, nothing leaked (ASan). */
static void test_error_move_null(void **state) {
        (void)state;
        struct pv_error a = PV_ERROR_INIT, b = PV_ERROR_INIT;
        pv_error_set(&a, PV_EINVAL, "first");
        pv_error_move(NULL, &a);
        assert_null(a.message);
        pv_error_move(&b, NULL);
        assert_null(b.message);
        pv_error_set(&a, PV_EIO, "second");
        pv_error_move(&b, &a);
        assert_string_equal(pv_error_message(&b), "second");
        assert_null(a.message);
        pv_error_done(&b);
}

static void test_error_set_and_wrap(void **state) {
        (void)state;
        struct pv_error e = PV_ERROR_INIT;
        assert_int_equal(pv_error_set(&e, PV_EINVAL, "bad '%s'", "x"), -PV_EINVAL);
        /* a second set never clobbers the first */
        assert_int_equal(pv_error_set(&e, PV_EIO, "other"), -PV_EINVAL);
        assert_string_equal(pv_error_message(&e), "bad 'x'");
        assert_int_equal(pv_error_wrap(&e, "while loading %d", 3), -PV_EINVAL);
        assert_string_equal(pv_error_message(&e), "while loading 3: bad 'x'");
        pv_error_done(&e);
        assert_int_equal(e.code, 0);
        assert_null(e.message);
        struct pv_loc loc = { "p.yaml", 3, 7 };
        pv_error_set_loc(&e, PV_EINVAL, &loc, "unknown key");
        assert_string_equal(e.file, "p.yaml");
        assert_int_equal(e.line, 3);
        assert_int_equal(e.col, 7);
        pv_error_done(&e);
        pv_error_set_errno(&e, 2, "cannot open '%s'", "f");
        assert_string_equal(pv_error_message(&e), "cannot open 'f': No such file or directory");
        assert_int_equal(e.errno_value, 2);
        pv_error_done(&e);
        assert_string_equal(pv_code_name(-PV_ETOOBIG), "too-big");
}

static void test_buf_cap(void **state) {
        (void)state;
        struct pv_buf b = PV_BUF_INIT_CAP(10);
        struct pv_error e = PV_ERROR_INIT;
        assert_string_equal(b.buf, "");
        assert_int_equal(pv_buf_adds(&b, "hello", &e), 0);
        assert_int_equal(pv_buf_addf(&b, &e, "%d", 1234), 0);
        assert_string_equal(b.buf, "hello1234");
        assert_int_equal(pv_buf_adds(&b, "xy", &e), -PV_ETOOBIG);
        assert_string_equal(b.buf, "hello1234"); /* unchanged on failure */
        pv_error_done(&e);
        assert_int_equal(pv_buf_addch(&b, '!', &e), 0);
        assert_int_equal(b.len, 10);
        char *s = NULL;
        size_t n = 0;
        assert_int_equal(pv_buf_detach(&b, &s, &n, &e), 0);
        assert_string_equal(s, "hello1234!");
        assert_int_equal(n, 10);
        free(s);
        assert_int_equal(b.len, 0);
        assert_int_equal(b.cap, 10);
        pv_buf_release(&b);
}

static void test_buf_read_file_cap(void **state) {
        (void)state;
        char path[] = "/tmp/pvfio-test-XXXXXX";
        int fd = mkstemp(path);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, "0123456789", 10), 10);
        close(fd);
        struct pv_error e = PV_ERROR_INIT;
        struct pv_buf ok = PV_BUF_INIT_CAP(10);
        assert_int_equal(pv_buf_read_file_at(&ok, AT_FDCWD, path, &e), 0);
        assert_string_equal(ok.buf, "0123456789");
        pv_buf_release(&ok);
        struct pv_buf small = PV_BUF_INIT_CAP(9);
        assert_int_equal(pv_buf_read_file_at(&small, AT_FDCWD, path, &e), -PV_ETOOBIG);
        pv_buf_release(&small);
        pv_error_done(&e);
        assert_int_equal(pv_buf_read_file_at(&small, AT_FDCWD, "/nonexistent/x", &e), -PV_EIO);
        assert_int_equal(e.errno_value, 2);
        pv_error_done(&e);
        unlink(path);
}

static void test_pci_addr(void **state) {
        (void)state;
        struct pv_pci_addr a;
        char s[PV_PCI_ADDR_MAX];
        assert_int_equal(pv_pci_addr_parse("0000:01:00.0", &a, NULL), 0);
        assert_true(a.domain_given);
        assert_int_equal(a.bus, 1);
        assert_int_equal(a.func, 0);
        pv_pci_addr_format(&a, s);
        assert_string_equal(s, "0000:01:00.0");
        assert_int_equal(pv_pci_addr_parse("0A:1f", &a, NULL), 0); /* upper case accepted, normalised */
        assert_false(a.domain_given);
        assert_int_equal(a.func, PV_PCI_FUNC_ALL);
        pv_pci_addr_format(&a, s);
        assert_string_equal(s, "0000:0a:1f");
        pv_pci_addr_format_short(&a, s);
        assert_string_equal(s, "0a:1f");
        const char *bad[] = { "", "1:00.0", "0000:01:00.8", "0000:01:20.0", "0000:01:00.", "01:00.0x",
                              "g000:01:00.0", "0000:01:00:0", "01" };
        for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
                struct pv_error e = PV_ERROR_INIT;
                assert_int_equal(pv_pci_addr_parse(bad[i], &a, &e), -PV_EINVAL);
                pv_error_done(&e);
        }
        struct pv_pci_addr x, y;
        pv_pci_addr_parse("01:00.1", &x, NULL);
        pv_pci_addr_parse("0000:01:00.1", &y, NULL);
        assert_true(pv_pci_addr_equal(&x, &y));
        pv_pci_addr_parse("0000:01:00.0", &y, NULL);
        assert_true(pv_pci_addr_cmp(&y, &x) < 0);
        assert_true(pv_pci_addr_same_slot(&x, &y));
}

static void test_pci_id(void **state) {
        (void)state;
        struct pv_pci_id id;
        char s[10];
        assert_int_equal(pv_pci_id_parse("10DE:25a0", &id, NULL), 0);
        pv_pci_id_format(&id, s);
        assert_string_equal(s, "10de:25a0");
        assert_int_equal(pv_pci_id_parse("10de:25a", &id, NULL), -PV_EINVAL);
        assert_int_equal(pv_pci_id_parse("0x10de:25a0", &id, NULL), -PV_EINVAL);
        assert_int_equal(pv_pci_id_parse("10de-25a0", &id, NULL), -PV_EINVAL);
}

static void test_strings(void **state) {
        (void)state;
        assert_int_equal(pv_edit_distance("macine", "machine", 5), 1);
        assert_int_equal(pv_edit_distance("abc", "xyz", 2), 2);
        struct pv_strv sv = PV_STRV_INIT;
        assert_int_equal(pv_strv_push(&sv, "a", NULL), 0);
        assert_int_equal(pv_strv_push(&sv, "b", NULL), 0);
        assert_true(pv_strv_contains(&sv, "b"));
        assert_false(pv_strv_contains(&sv, "c"));
        assert_null(sv.v[2]);
        char *j = pv_strv_join(&sv, ", ", NULL);
        assert_string_equal(j, "a, b");
        free(j);
        pv_strv_done(&sv);
        char t[] = "x \n\t";
        assert_string_equal(pv_strip_trailing(t), "x");
}

/* A secret is zeroed over its whole length before it is freed. */
static void test_secret_wipe(void **state) {
        (void)state;
        char s[] = "hunter2";
        pv_secret_wipe(s);
        for (size_t i = 0; i < sizeof s; i++)
                assert_int_equal(s[i], 0);
        pv_secret_wipe(NULL);
        pv_secret_free(NULL);
        pv_secret_free(pv_xstrdup("ticket")); /* ASan: freed, not leaked */
}

static char *norm(const char *tags, bool case_sensitive, bool ordering_config) {
        struct pv_tag_style st = { .case_sensitive = case_sensitive, .ordering_config = ordering_config };
        char *s = NULL;
        assert_int_equal(pv_tags_normalize(tags, &st, &s, NULL), 0);
        return s;
}

/* The results PVE::GuestHelpers::get_unique_tags gives for the same input and tag-style. */
static void test_tags_normalize(void **state) {
        (void)state;
        static const struct {
                const char *in;
                bool cs, cfg;
                const char *out;
        } cases[] = {
                { "GPU;Zeta;pvfio", false, false, "gpu;pvfio;zeta" },
                { "Zeta,GPU gpu;;lab", false, false, "gpu;lab;zeta" },
                { " b\ta\n", false, false, "a;b" },
                { "", false, false, "" },
                { "GPU;Zeta;gpu", true, false, "GPU;Zeta;gpu" },
                { "b;B;a", true, false, "B;a;b" },
                { "Zeta;GPU;gpu;zeta", false, true, "zeta;gpu" },
                { "Zeta;GPU;gpu;zeta", true, true, "Zeta;GPU;gpu;zeta" },
                { "b;a;b", true, true, "b;a" },
                { "a-1;A+2;a.3;_x", false, false, "_x;a+2;a-1;a.3" },
        };
        for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
                char *s = norm(cases[i].in, cases[i].cs, cases[i].cfg);
                assert_string_equal(s, cases[i].out);
                free(s);
        }
        char *s = NULL;
        assert_int_equal(pv_tags_normalize(NULL, NULL, &s, NULL), 0);
        assert_string_equal(s, "");
        free(s);
        assert_true(pv_tags_equal("GPU;Zeta;pvfio", "gpu;pvfio;zeta", NULL));
        assert_true(pv_tags_equal(NULL, "", NULL));
        struct pv_tag_style cs = { .case_sensitive = true };
        assert_false(pv_tags_equal("GPU;pvfio", "gpu;pvfio", &cs));
        struct pv_tag_style cfg = { .ordering_config = true };
        assert_false(pv_tags_equal("b;a", "a;b", &cfg));
        assert_true(pv_tags_equal("B;a", "b;A", &cfg));
}

static void test_tag_style_parse(void **state) {
        (void)state;
        struct pv_tag_style st;
        assert_int_equal(pv_tag_style_parse("case-sensitive=1,ordering=config,shape=full", &st, NULL), 0);
        assert_true(st.case_sensitive && st.ordering_config);
        assert_int_equal(pv_tag_style_parse("ordering=alphabetical,color-map=a:FFFFFF", &st, NULL), 0);
        assert_false(st.case_sensitive || st.ordering_config);
        assert_int_equal(pv_tag_style_parse("", &st, NULL), 0);
        assert_int_equal(pv_tag_style_parse("ordering=random", &st, NULL), -PV_EINVAL);
        assert_int_equal(pv_tag_style_parse("case-sensitive=maybe", &st, NULL), -PV_EINVAL);
}

static void test_version_cmp(void **state) {
        (void)state;
        assert_true(pv_version_cmp("9.0.25", "9.0.24") > 0);
        assert_true(pv_version_cmp("9.0.25", "9.1.4.1") < 0);
        assert_true(pv_version_cmp("9.1.4.1", "9.1.11") < 0);
        assert_true(pv_version_cmp("9.1.11", "9.1.11") == 0);
        assert_true(pv_version_cmp("8.4.10", "9.0.0") < 0);
        assert_true(pv_version_cmp("6.2-10", "6.2-4") > 0);
        assert_true(pv_version_cmp("9.1", "9.1.0") < 0);
        assert_true(pv_version_cmp("9.1~rc1", "9.1") < 0);
        assert_true(pv_version_cmp("09.1", "9.1") == 0);
        assert_true(pv_version_cmp(NULL, "1") < 0);
        assert_true(pv_version_cmp("1", NULL) > 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_error_set_and_wrap), cmocka_unit_test(test_error_move_null), cmocka_unit_test(test_xalloc), cmocka_unit_test(test_buf_cap),
                cmocka_unit_test(test_buf_read_file_cap), cmocka_unit_test(test_pci_addr),
                cmocka_unit_test(test_pci_id), cmocka_unit_test(test_strings),
                cmocka_unit_test(test_tags_normalize), cmocka_unit_test(test_tag_style_parse),
                cmocka_unit_test(test_version_cmp), cmocka_unit_test(test_secret_wipe),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
