/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The optimistic apply lock: a command observes and plans the cluster without
 * the lock; only a plan that writes through the API takes it
 * (pv_engine_recheck), and then, holding it, observes again what the plan
 * depends on (pv_api_reobserve: the cluster listing, the mapping listing, the
 * configs of the VMs the plan writes and of every VM whose listing changed),
 * plans again and says whether the cluster part of the plan is still the same.
 * A change someone made between the first read and the lock is so never
 * overwritten: either the plan is the same (the writes then carry the digests
 * read under the lock), or the caller gets the new plan to show and confirm.
 */
#ifndef PVFIO_ENGINE_RECHECK_H
#define PVFIO_ENGINE_RECHECK_H

#include <stdbool.h>
#include <stddef.h>

#include "applylock.h"
#include "pvfio/cluster.h"
#include "pvfio/engine.h"
#include "pvfio/plan.h"
#include "pvfio/profile.h"

/* Plans the cluster part again from obs into *into (an empty plan); creating: VMs still being created
 * (`lock: create`, no name yet) that may be the profile's (the caller blocks its creates). */
typedef int (*pv_replan_fn)(void *userdata, const struct pv_observed *obs, const struct pv_strv *creating,
                            struct pv_plan *into, struct pv_error *err);

struct pv_recheck {
        struct pv_api *api;
        const struct pv_profile *profile;
        struct pv_observed *obs;        /* what the plan was made from; updated in place */
        pv_replan_fn replan;
        void *userdata;
        /* out */
        unsigned long requests;         /* GETs of the re-observation */
};

/* True when actions [first, n) of plan write through the API (an unblocked cluster action). */
bool pv_plan_writes_cluster(const struct pv_plan *plan, size_t first);

/*
 * Take the lock (when wanted), observe again, plan again into *ret_fresh and set *ret_same:
 * true when the fresh cluster actions are those of plan[first..] (their digests and vmids are
 * then refreshed in plan, and *ret_fresh is left empty), false when they differ (the caller shows
 * *ret_fresh instead). Without the lock (--no-lock) nothing is read: *ret_same is true.
 */
int pv_engine_recheck(const struct pv_engine_events *ev, struct pv_apply_lock *lock, struct pv_recheck *rc,
                      struct pv_plan *plan, size_t first, struct pv_plan *ret_fresh, bool *ret_same,
                      struct pv_error *err);

/* Same cluster actions (kind, node, key, keys before/after, blocked, flags) in the same order. */
bool pv_plan_cluster_same(const struct pv_plan *a, size_t a_first, const struct pv_plan *b, size_t b_first);

/* Drop the actions from index n_actions on and the drift notes and warnings past the given counts. */
void pv_plan_truncate(struct pv_plan *p, size_t n_actions, size_t n_drift, size_t n_warnings);

#endif
