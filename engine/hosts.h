/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Host sections across the cluster: which nodes have one, which of them is the
 * node pvfio runs on (planned and applied in-process, cmd/localhost.c) and which
 * are reached over SSH (cmd/remote.c, in parallel on a helper thread while the
 * main thread talks to the API), and how their plans merge into the one plan:
 * the local node's host actions first, then the other nodes' in name order,
 * then mappings and VMs. Each node's actions keep their node.
 */
#ifndef PVFIO_ENGINE_HOSTS_H
#define PVFIO_ENGINE_HOSTS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "pvfio/engine.h"
#include "localhost.h"
#include "remote.h"
#include "pvfio/plan.h"
#include "pvfio/profile.h"
#include "pvfio/vmplan.h"

struct pv_host_node {
        char *node;
        bool local;                     /* the node pvfio runs on: no SSH */
        struct pv_remote *remote;       /* SSH session of the current round (remote nodes) */
        bool failed;                    /* its host plan or apply could not be done */
        char *error;                    /* why (one line, names the node) */
        size_t first, count;            /* its actions in the merged plan */
        struct pv_strv reboot_reasons;  /* why it must reboot (without the "NODE: " prefix) */
        char *not_ready;                /* readiness fact for the VM planner, or NULL */
        uint64_t plan_ns;               /* how long its host plan took (SSH: the whole session) */
};

struct pv_hosts {
        struct pv_host_node *v;         /* sorted: local first, then by name */
        size_t n;
        char *local_node;               /* the node pvfio runs on (may be no cluster node) */
        bool have_local;                /* local_node has a host section in scope */
        struct pv_local_host lh;        /* opened when have_local */
        /* the SSH round in flight */
        pthread_t thread;
        bool thread_running;
        struct pv_remote **round;
        size_t n_round;
        unsigned parallel;
        int round_rc;
        struct pv_error round_err;
        uint64_t round_start_ns, round_ns;
        /* readiness facts handed to the VM planner (point into v[]) */
        struct pv_node_readiness *ready;
        size_t n_ready;
};

/*
 * Decide the nodes with a host section. cluster_nodes: the cluster's node names
 * (NULL for a host-only profile: then the local node plus every node a host
 * section names). local_node: --node or the root's hostname; explicit_local:
 * it was given with --node. no_remote: keep only the local node.
 */
int pv_hosts_select(const struct pv_engine_events *ev, const struct pv_profile *p, const struct pv_strv *cluster_nodes,
                    const char *local_node, bool explicit_local, bool no_remote, struct pv_hosts *ret,
                    struct pv_error *err);
/* Start `host plan|apply` over SSH on the remote nodes named in only (NULL = all remote nodes
 * that have not failed) on a helper thread. */
int pv_hosts_start_remote(struct pv_hosts *h, const struct pv_profile *p, const char *profile_text,
                          size_t profile_len, const struct pv_remote_opts *o, unsigned parallel, unsigned timeout_s,
                          const struct pv_strv *only, struct pv_error *err);
/* Wait for the round and interpret every session (a failed node gets failed/error). */
int pv_hosts_wait_remote(struct pv_hosts *h, enum pv_remote_op op, struct pv_error *err);
/* Append the local plan (first) and the remote nodes' plans to *plan; record slices and reboot reasons. */
int pv_hosts_merge(struct pv_hosts *h, struct pv_plan *local, struct pv_plan *plan, struct pv_error *err);
/* Copy the statuses a remote apply reported into the node's slice of plan. */
void pv_hosts_take_apply_results(struct pv_hosts *h, struct pv_plan *plan);
/* Build the readiness facts for the VM planner (valid until the next call or pv_hosts_done). */
int pv_hosts_readiness(struct pv_hosts *h, struct pv_error *err);
/* The node, or NULL. */
struct pv_host_node *pv_hosts_find(struct pv_hosts *h, const char *node);
/* Number of failed nodes. */
size_t pv_hosts_failed(const struct pv_hosts *h);
/* "Nodes:" table (text) / JSON array of {node, via, status, error, actions, reboot_required, reboot_reasons}. */
json_t *pv_hosts_json(const struct pv_hosts *h);
void pv_hosts_done(struct pv_hosts *h);

/* Set the node's reboot reasons from plan notes "NODE: why" (replaces the old ones). */
int pv_host_node_set_reasons(struct pv_host_node *hn, char *const *reasons, size_t n, struct pv_error *err);

#endif
