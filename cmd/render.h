/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Plan rendering shared by `host plan`, `plan`/`diff` and `apply`. */
#ifndef PVFIO_CMD_RENDER_H
#define PVFIO_CMD_RENDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "cli.h"
#include "pvfio/plan.h"
#include "pvfio/planjson.h"   /* pv_plan_to_json: the JSON document cmd/ prints */

struct pv_plan;

/* Human text grouped by host, mapping and VM: +/~/- markers, unified diffs for
 * files, `before → after` per key, drift, warnings, reboot reasons and a
 * summary line. apply_view shows each action's status instead of the plan summary. */
void pv_render_plan_text(struct pv_ctx *ctx, const struct pv_plan *plan, bool apply_view);

/*
 * Live progress of the API executor (cmd/progress.c). On a terminal (stderr,
 * without -q/--json): finished actions scroll by as they end, with task errors
 * right away, under them a status area redrawn in place ("[12/40] create vm
 * gpu-07 on pve2 … 1.2 s" per running action). Otherwise one line per finished
 * action and nothing in place.
 */
struct pv_exec_event;
struct pv_live {
        struct pv_ctx *ctx;
        bool tty;
        unsigned drawn;                 /* status lines on screen */
        uint64_t last_draw_ms;
};
void pv_live_init(struct pv_live *l, struct pv_ctx *ctx);
/* The executor's event callback (userdata: a struct pv_live). */
void pv_live_event(void *userdata, const struct pv_exec_event *ev);
/* Erase the status area (call when the executor returned). */
void pv_live_done(struct pv_live *l);

#endif
