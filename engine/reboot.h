/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Rolling reboot of the nodes whose host configuration waits for a reboot
 * (`pvfio apply --reboot`): one batch of nodes at a time, through the API
 * (POST /nodes/{node}/status command=reboot); each node must come back online
 * (a lower uptime or an offline phase seen in /cluster/resources) and pass the
 * host check (its host plan over SSH has no reboot reason left) before the
 * next batch starts; after each batch the caller re-plans and applies the VMs
 * that were blocked on those nodes. A node that runs VMs the profile does not
 * manage is not rebooted without `force`; the node pvfio runs on only with
 * `self` (or a yes on the terminal), last, and without waiting for it.
 */
#ifndef PVFIO_ENGINE_REBOOT_H
#define PVFIO_ENGINE_REBOOT_H

#include <stdbool.h>

#include <jansson.h>

#include "pvfio/engine.h"
#include "hosts.h"
#include "pvfio/api.h"
#include "pvfio/plan.h"
#include "pvfio/profile.h"

#define PV_REBOOT_DEFAULT_TIMEOUT_S 900u
#define PV_REBOOT_POLL_MS 1000u

struct pv_reboot_opts {
        bool force;                     /* reboot nodes that run VMs the profile does not manage */
        bool self;                      /* --reboot-self: the node pvfio runs on may be rebooted (last) */
        bool ask_self;                  /* ask on the terminal about the node pvfio runs on */
        unsigned parallel;              /* nodes per batch (>= 1) */
        unsigned timeout_s;             /* per batch: back online and host check passed */
        unsigned poll_ms;               /* /cluster/resources poll interval */
        /* the SSH host check */
        const char *profile_text;
        size_t profile_len;
        unsigned ssh_parallel, ssh_timeout_s;
        bool rebind;
        /* after each batch: re-plan and apply what was blocked on the rebooted nodes; returns 0 or the
         * number of failed actions (>0), <0 on an error that stops the rolling reboot */
        int (*after_batch)(void *userdata, const struct pv_strv *rebooted);
        void *userdata;
};

/* What happened to one node. */
enum pv_reboot_status { PV_REBOOT_DONE, PV_REBOOT_FAILED, PV_REBOOT_REFUSED, PV_REBOOT_SKIPPED, PV_REBOOT_SELF };

struct pv_reboot_result {
        char *node;
        enum pv_reboot_status status;
        char *message;                  /* why (refused/failed/skipped), or NULL */
        double seconds;                 /* from the reboot request to the host check passing */
};

struct pv_reboot_report {
        struct pv_reboot_result *v;
        size_t n;
        size_t failed;                  /* nodes that failed (the rolling reboot stopped there) */
        size_t refused;                 /* nodes not rebooted because they run VMs the profile does not manage */
        size_t followup_failed;         /* actions that failed in the follow-up applies */
};
void pv_reboot_report_done(struct pv_reboot_report *r);
const char *pv_reboot_status_to_string(enum pv_reboot_status s);

/*
 * Reboot the nodes of h that need it, as described above. Each step is told
 * through ev->progress as it goes; the question about the node pvfio runs on
 * goes through ev->confirm. Returns 0 when the run completed (see the report),
 * <0 on an internal error.
 */
int pv_rolling_reboot(const struct pv_engine_events *ev, struct pv_api *api, const struct pv_profile *p,
                      struct pv_hosts *h, const struct pv_plan *plan, const struct pv_reboot_opts *o,
                      struct pv_reboot_report *ret, struct pv_error *err);

/* The report as a JSON array (cmd/render_nodes.c renders it as text). */
json_t *pv_reboot_report_json(const struct pv_reboot_report *r);

#endif
