/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fixtures of the profile loader tests (test_profile*.c; tests/unit/CMakeLists.txt
 * links profile_fixture.c into each of them): loading YAML text, looking for a
 * diagnostic, and the YAML pieces the cases are built from.
 *
 * Cases mark the expected position of a problem with "»" (MARK) inside the
 * YAML text; the marker is removed before parsing and its line:col (1-based,
 * in characters) must be exactly where the diagnostic points.
 */
#ifndef PVFIO_TESTS_UNIT_PROFILE_FIXTURE_H
#define PVFIO_TESTS_UNIT_PROFILE_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>

#include "pvfio/profile.h"

#define MARK "\xc2\xbb" /* » */
#define X64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

/* ------------------------------------------------------------------ pieces */

#define V "version: 1\n"
#define ROOTPW                                                                                              \
        "cluster:\n  api: https://pve1.example.com:8006\n  auth:\n    user: root@pam\n    password_env: PVFIO_PW\n"
#define TOKEN                                                                                                \
        "cluster:\n  api: https://pve1.example.com:8006\n  auth:\n    token: pvfio@pve!auto\n    secret_env: PVFIO_TOK\n"
#define VM "vms:\n  - name: vm1\n    node: pve1\n"
#define MAPRTX "mappings:\n  - id: rtx\n    map:\n      - node: pve1\n        path: 0000:01:00\n"
#define IGD_VM V ROOTPW "vms:\n  - name: igd\n    node: pve1\n    machine: i440fx\n    vga: none\n    pci:\n"

void dump_diags(const struct pv_diags *d);
int parse(const char *yaml, struct pv_profile **p, struct pv_diags *d);
struct pv_profile *parse_ok(const char *yaml);
bool has_diag(const struct pv_diags *d, bool warning, unsigned line, unsigned col, const char *msg);
bool has_msg(const struct pv_diags *d, const char *msg);
size_t expect_diag(const char *marked, bool warning, const char *msg);

#endif
