/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fixtures of the profile loader tests: see profile_fixture.h.
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

/* Remove the marker; return the text and the marker's 1-based line:col (0:0 when absent). */
static char *unmark(const char *in, unsigned *line, unsigned *col) {
        char *out = strdup(in);
        assert_non_null(out);
        *line = *col = 0;
        char *m = strstr(out, MARK);
        if (!m)
                return out;
        unsigned l = 1, c = 1;
        for (const char *p = out; p < m; p++) {
                if (*p == '\n')
                        l++, c = 1;
                else if (((unsigned char)*p & 0xc0) != 0x80)
                        c++;
        }
        memmove(m, m + strlen(MARK), strlen(m + strlen(MARK)) + 1);
        *line = l;
        *col = c;
        assert_null(strstr(out, MARK));
        return out;
}

void dump_diags(const struct pv_diags *d) {
        for (size_t i = 0; i < d->n; i++)
                print_message("    %u:%u %s [%s] %s\n", d->v[i].line, d->v[i].col, d->v[i].warning ? "warning" : "error",
                              d->v[i].key ? d->v[i].key : "-", d->v[i].message);
}

int parse(const char *yaml, struct pv_profile **p, struct pv_diags *d) {
        struct pv_error e = PV_ERROR_INIT;
        int r = pv_profile_parse_mem(yaml, strlen(yaml), "test.yaml", p, d, &e);
        if (r < 0 && r != -PV_EINVAL)
                print_message("    error: %s\n", pv_error_message(&e));
        /* the first problem is mirrored into err for callers that ignore diags */
        if (r == -PV_EINVAL) {
                assert_non_null(e.file);
                assert_string_equal(e.file, "test.yaml");
                assert_true(d->n_errors > 0);
        }
        pv_error_done(&e);
        return r;
}

/* Parse; expect no errors at all. Returns the profile (caller frees). */
struct pv_profile *parse_ok(const char *yaml) {
        struct pv_profile *p = NULL;
        struct pv_diags d = { 0 };
        int r = parse(yaml, &p, &d);
        if (r != 0 || d.n_errors) {
                print_message("  expected a valid profile:\n%s\n  got:\n", yaml);
                dump_diags(&d);
        }
        assert_int_equal(r, 0);
        assert_int_equal(d.n_errors, 0);
        assert_non_null(p);
        pv_diags_done(&d);
        return p;
}

bool has_diag(const struct pv_diags *d, bool warning, unsigned line, unsigned col, const char *msg) {
        for (size_t i = 0; i < d->n; i++)
                if (d->v[i].warning == warning && d->v[i].line == line && d->v[i].col == col &&
                    strstr(d->v[i].message, msg))
                        return true;
        return false;
}

bool has_msg(const struct pv_diags *d, const char *msg) {
        for (size_t i = 0; i < d->n; i++)
                if (strstr(d->v[i].message, msg))
                        return true;
        return false;
}

/* Parse the marked YAML; expect a diagnostic at the marker containing msg. Returns the diag count. */
size_t expect_diag(const char *marked, bool warning, const char *msg) {
        unsigned line, col;
        char *yaml = unmark(marked, &line, &col);
        assert_true(line > 0);
        struct pv_profile *p = NULL;
        struct pv_diags d = { 0 };
        int r = parse(yaml, &p, &d);
        bool ok = has_diag(&d, warning, line, col, msg);
        if (!ok || (!warning && r != -PV_EINVAL)) {
                print_message("  expected %s at %u:%u containing \"%s\" in:\n%s\n  got (r=%d):\n",
                              warning ? "warning" : "error", line, col, msg, yaml, r);
                dump_diags(&d);
        }
        assert_true(ok);
        if (!warning) {
                assert_int_equal(r, -PV_EINVAL);
                assert_null(p);
        }
        size_t n = d.n;
        pv_profile_free(p);
        pv_diags_done(&d);
        free(yaml);
        return n;
}
