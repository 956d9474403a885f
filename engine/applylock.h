/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The cluster-wide apply lock of one command (`apply`, `vm add`): who this
 * process is (host, pid and its start time, a random token), taking the lock
 * (waiting for another holder, taking over a stale one) and releasing it. The
 * lock itself is api/'s (pvfio/clusterlock.h); what the user should hear
 * (waiting, a stale lock taken over, a failed release) goes through
 * struct pv_engine_events.
 *
 * The lock is optimistic (`pvfio apply`): a command observes and plans without
 * it and takes it only when its plan writes through the API; then it observes
 * again what the plan depends on and plans again (engine/recheck.h).
 */
#ifndef PVFIO_ENGINE_APPLYLOCK_H
#define PVFIO_ENGINE_APPLYLOCK_H

#include <stdbool.h>

#include "pvfio/api.h"
#include "pvfio/clusterlock.h"
#include "pvfio/engine.h"

struct pv_apply_lock {
        bool wanted;                    /* the command takes the lock (not --no-lock) */
        unsigned timeout_s;             /* --lock-timeout */
        struct pv_api *api;             /* a reference while held */
        struct pv_lock_holder self;
        bool held;
};

/* Take the lock when wanted and not held yet (waits up to timeout_s). <0 with err on failure. */
int pv_apply_lock_take(const struct pv_engine_events *ev, struct pv_api *api, struct pv_apply_lock *lock,
                       struct pv_error *err);
/* Release if held (a failure is a warning: the lock then goes stale). NULL-safe. */
void pv_apply_lock_release(const struct pv_engine_events *ev, struct pv_apply_lock *lock);

#endif
