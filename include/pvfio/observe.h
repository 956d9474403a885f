/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Observe the cluster for a plan (api/observe.c): read, with as few round
 * trips as possible and bounded concurrency, everything the VM/mapping
 * planner needs about the profile's VMs, mappings and nodes.
 *
 *   round 1: what the profile alone decides, all at once:
 *            GET /cluster/resources (nodes + VMs), the mapping listing (plain
 *            and with check-node per node the profile maps), the hardware of
 *            the nodes the profile's devices use
 *   round 2: what round 1 decides: one read per VM the plan needs (its config,
 *            or for a running VM its pending list, which carries the config
 *            and the digest too), the mdev types of the devices the profile
 *            uses with `mdev:`
 *
 * Ownership: *ret is filled only on success and freed with pv_observed_done().
 */
#ifndef PVFIO_OBSERVE_H
#define PVFIO_OBSERVE_H

/* How the warning about a node whose state could not be read begins (cmd/ counts them: a plan
 * that could not see a node never says "No changes"). */
#define PV_OBSERVE_NODE_UNREAD "cannot read the state of node"

#include "pvfio/api.h"
#include "pvfio/cluster.h"
#include "pvfio/util.h"

struct pv_observe_opts {
        const char *tag;                /* management tag (NULL = "pvfio"): managed VMs are read too (for prune) */
        bool all_vms;                   /* read the config of every VM (diagnostics) */
        /* versions and datacenter options read earlier in this run: copied instead of read again */
        const struct pv_observed *known;
};

struct pv_observe_stats {
        unsigned rounds;                /* request rounds */
        unsigned long requests;         /* GETs issued */
};

/*
 * Observe. Failures to read a VM config or the mapping list are errors (a
 * plan without them could be wrong); a node whose hardware or mdev types
 * cannot be read is reported in *warnings (VMs that need it get blocked by
 * the planner). What is read is `want` (provision's pv_observe_want_from_profile
 * decides it from the profile). warnings may be NULL; stats may be NULL.
 */
int pv_api_observe(struct pv_api *api, const struct pv_observe_want *want, const struct pv_observe_opts *opts,
                   struct pv_observed *ret, struct pv_strv *warnings, struct pv_observe_stats *stats,
                   struct pv_error *err);

/*
 * Observe again what a plan made from *obs depends on (api/reobserve.c; the engine calls it under
 * the apply lock): /cluster/resources and the mapping listings (PCI; USB when wanted) in one round,
 * then the config (or pending list) of every VM in `reread` (the VMs the plan writes) and of every
 * wanted VM whose listing changed (node, name, status, lock, tags) or that is new. The rest of *obs (other configs,
 * hardware, mdev types, versions, options, mapping checks) is kept: it is what the plan was made
 * from, and a VM the plan does not write cannot be overwritten. When the nodes or a mapping file
 * changed, everything is read again (pv_api_observe with obs as `known`). *obs is updated in place
 * only on success.
 */
int pv_api_reobserve(struct pv_api *api, const struct pv_observe_want *want, const struct pv_observe_opts *opts,
                     const uint32_t *reread, size_t n_reread, struct pv_observed *obs, struct pv_strv *warnings,
                     struct pv_observe_stats *stats, struct pv_error *err);

#endif
