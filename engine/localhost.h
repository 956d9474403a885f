/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The node pvfio runs on: its host section, scan and host plan, and the command runner. */
#ifndef PVFIO_ENGINE_LOCALHOST_H
#define PVFIO_ENGINE_LOCALHOST_H

#include "pvfio/engine.h"
#include "pvfio/host.h"
#include "pvfio/hostplan.h"
#include "pvfio/plan.h"
#include "pvfio/profile.h"
#include "pvfio/vmplan.h"

struct pv_local_host {
        char *node;                        /* node name (--node, else the root's etc/hostname, else gethostname) */
        const struct pv_host_spec *spec;   /* the profile's host section for it, or NULL (borrowed) */
        struct pv_host *h;                 /* opened root (only when spec) */
        struct pv_host_state *state;       /* its scan */
        struct pv_hostplan_inputs inputs;
        bool have_inputs;
        /* readiness facts for the VM planner, derived from the host plan */
        struct pv_node_readiness readiness;
        struct pv_device_not_ready *not_ready;
        char **reasons;                    /* owned strings the readiness points into */
        size_t n_reasons;
        const struct pv_profile *profile;  /* borrowed: the VMs whose host side is planned (pvfio/extras.h) */
};

/* The name of the node pvfio runs on: node when given (--node), else the root's etc/hostname
 * (first label), else, for the root "/" only, gethostname() (another root without etc/hostname is
 * an error: it never borrows the running machine's name). */
int pv_local_node_name(const char *root, const char *node, char **ret, struct pv_error *err);
/* The cluster's nodes as the root's pmxcfs shows them (etc/pve/nodes/<name>); empty when unknown. */
int pv_local_cluster_nodes(const char *root, struct pv_strv *ret, struct pv_error *err);
/* Every node a host section names must be a node of the cluster (when the root shows the cluster). */
int pv_local_check_node_names(const struct pv_profile *p, const char *root, struct pv_error *err);
/* Decide the node name and, when the profile has a host section for it, open and scan the root. */
int pv_local_host_open(const struct pv_engine_events *ev, const struct pv_profile *p, const char *root, const char *node,
                       struct pv_local_host *ret, struct pv_error *err);
/* Plan the host section into *plan (nothing when there is none) and derive the readiness facts. */
int pv_local_host_plan(struct pv_local_host *lh, bool rebind, struct pv_plan *plan, struct pv_error *err);
void pv_local_host_done(struct pv_local_host *lh);

/* The command runner for a root: real commands (no shell) for "/", recorded into the root's
 * commands log for any other root (a fake root never runs host commands). */
void pv_local_runner(const struct pv_host *h, struct pv_runner *ret);

#endif
