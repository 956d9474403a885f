/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Plan rendering shared by `host plan`, `plan`/`diff` and `apply`. */
#ifndef PVFIO_CMD_RENDER_H
#define PVFIO_CMD_RENDER_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "cli.h"

struct pv_plan;

struct pv_plan_counts {
        size_t add, change, del, blocked, pending_restart, done, failed;
};

/* Count actions by marker (+ add, ~ change, - remove) and status. */
void pv_plan_counts(const struct pv_plan *plan, struct pv_plan_counts *ret);
/* Human text grouped by host, mapping and VM: +/~/- markers, unified diffs for
 * files, `before → after` per key, drift, warnings, reboot reasons and a
 * summary line. apply_view shows each action's status instead of the plan summary. */
void pv_render_plan_text(struct pv_ctx *ctx, const struct pv_plan *plan, bool apply_view);
/* The stable JSON document (format_version PV_PLAN_FORMAT_VERSION); new reference. */
json_t *pv_render_plan_json(const struct pv_plan *plan);

#endif
