/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Hand-built host actions for the executor tests: the typed payload the host planner
 * (provision/hostplan*.c) gives an action of that kind. The executor reads only payloads,
 * so a test plan without them is refused (see test_hostexec.c, test_apply_needs_payloads).
 * Header-only: included by tests/unit/test_host*.c and tests/hostplan/test_atomic_faults.c.
 */
#ifndef PVFIO_TEST_HOST_ACTIONS_H
#define PVFIO_TEST_HOST_ACTIONS_H

#include <stdlib.h>

#include "pvfio/hostplan.h"
#include "pvfio/plan.h"

/*
 * Give action a the payload of its kind from its target (file path, PCI address) and, for a
 * command, its command line in `after`. SET_SRIOV takes its VF count from test_host_sriov().
 * Returns 0, or -1 when the kind has no host payload or the command line is empty.
 */
static inline int test_host_payload(struct pv_action *a) {
        char **argv = NULL;
        int r;
        switch (a->kind) {
        case PV_ACT_WRITE_FILE:
                return pv_action_set_file(a, a->target, 0644, NULL);
        case PV_ACT_EDIT_FILE:
        case PV_ACT_REMOVE_FILE:
                return pv_action_set_file(a, a->target, 0, NULL);
        case PV_ACT_RUN_COMMAND:
                if (!a->after || pv_command_argv(a->after, &argv, NULL) < 0)
                        return -1;
                r = pv_action_set_command(a, (const char *const *)argv, NULL);
                pv_argv_free(argv);
                return r;
        case PV_ACT_REBIND_DEVICE:
                return pv_action_set_rebind(a, a->target, "vfio-pci", NULL);
        case PV_ACT_SET_SRIOV:
                return 0;   /* test_host_sriov() */
        default:
                return -1;
        }
}

/* The SR-IOV payload of action a: its target's VF count. */
static inline int test_host_sriov(struct pv_action *a, unsigned numvfs) {
        return pv_action_set_sriov(a, a->target, numvfs, NULL);
}

#endif
