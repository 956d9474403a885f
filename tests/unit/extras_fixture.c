/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fixtures of the issue-14 tests: see extras_fixture.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pvfio/extras.h"
#include "pvfio/rom.h"
#include "pvfio/vmplan.h"
#include "extras_fixture.h"

/* ------------------------------------------------------------- helpers */

struct pv_profile *load(const char *yaml, struct pv_diags *d, int want) {
        struct pv_profile *p = NULL;
        struct pv_error e = PV_ERROR_INIT;
        int r = pv_profile_parse_mem(yaml, strlen(yaml), "t.yaml", &p, d, &e);
        if (r != want)
                for (size_t i = 0; i < d->n; i++)
                        print_message("  %u:%u %s\n", d->v[i].line, d->v[i].col, d->v[i].message);
        assert_int_equal(r, want);
        pv_error_done(&e);
        return p;
}

/* The diagnostic at line:col whose message contains text (fails when there is none). */
const struct pv_diag *diag_at(const struct pv_diags *d, unsigned line, unsigned col, const char *text) {
        for (size_t i = 0; i < d->n; i++)
                if (d->v[i].line == line && d->v[i].col == col && strstr(d->v[i].message, text))
                        return &d->v[i];
        for (size_t i = 0; i < d->n; i++)
                print_message("  have %u:%u %s\n", d->v[i].line, d->v[i].col, d->v[i].message);
        fail_msg("no diagnostic at %u:%u containing '%s'", line, col, text);
        return NULL;
}

