/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fixtures of the tests for the rest of a passthrough setup (test_extras*.c;
 * tests/unit/CMakeLists.txt links extras_fixture.c into each program that includes
 * this header): loading a profile, finding a diagnostic, the profile heads.
 */
#ifndef PVFIO_TESTS_UNIT_EXTRAS_FIXTURE_H
#define PVFIO_TESTS_UNIT_EXTRAS_FIXTURE_H

#include "pvfio/profile.h"

#define HEAD_ROOT                                                                                                     \
        "version: 1\n"                                                                                                \
        "cluster:\n"                                                                                                  \
        "  api: https://pve1:8006\n"                                                                                  \
        "  auth: {user: root@pam, password_env: PW}\n"
#define HEAD_TOKEN                                                                                                    \
        "version: 1\n"                                                                                                \
        "cluster:\n"                                                                                                  \
        "  api: https://pve1:8006\n"                                                                                  \
        "  auth: {token: pvfio@pve!auto, secret_env: S}\n"

/* helpers */
struct pv_profile *load(const char *yaml, struct pv_diags *d, int want);
const struct pv_diag *diag_at(const struct pv_diags *d, unsigned line, unsigned col, const char *text);

#endif
