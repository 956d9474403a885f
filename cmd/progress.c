/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Live progress of `apply`: the API executor's events as lines or a status area redrawn in place. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "render.h"
#include "pvfio/apiexec.h"
#include "pvfio/plan.h"

#define MAX_SHOWN 8u            /* running actions listed in the status area */
#define REDRAW_MS 100u

void pv_live_init(struct pv_live *l, struct pv_ctx *ctx) {
        memset(l, 0, sizeof *l);
        l->ctx = ctx;
        l->tty = !ctx->quiet && !ctx->json && isatty(fileno(ctx->err));
}

/* "create vm gpu-07 on pve2": the kind's verb, the target, the node. */
static void label(FILE *f, const struct pv_action *a) {
        const char *kind = pv_action_kind_to_string(a->kind);
        size_t verb = strcspn(kind, "-");
        fprintf(f, "%.*s %s", (int)verb, kind, a->target ? a->target : "?");
        if (a->node)
                fprintf(f, " on %s", a->node);
}

static void erase(struct pv_live *l) {
        if (!l->drawn)
                return;
        fprintf(l->ctx->err, "\r\033[%uA\033[J", l->drawn);
        l->drawn = 0;
}

static void draw(struct pv_live *l, const struct pv_exec_event *ev) {
        FILE *f = l->ctx->err;
        size_t shown = ev->n_running < MAX_SHOWN ? ev->n_running : MAX_SHOWN;
        for (size_t i = 0; i < shown; i++) {
                fprintf(f, "%s[%zu/%zu]%s ", pv_c(l->ctx, f, PV_C_DIM), ev->finished, ev->total,
                        pv_c(l->ctx, f, PV_C_RESET));
                label(f, ev->running[i]);
                uint64_t since = ev->running_since_ms[i];
                fprintf(f, " … %.1f s\033[K\n", since && ev->now_ms > since ? (double)(ev->now_ms - since) / 1000.0 : 0.0);
        }
        if (ev->n_running > shown)
                fprintf(f, "        … and %zu more running\033[K\n", ev->n_running - shown);
        l->drawn = (unsigned)(shown + (ev->n_running > shown));
        l->last_draw_ms = ev->now_ms;
        fflush(f);
}

/* One finished action: "[12/40] done create vm gpu-07 on pve2 (1.2 s)", errors and skip reasons with it. */
static void finished_line(struct pv_live *l, const struct pv_exec_event *ev) {
        FILE *f = l->ctx->err;
        const struct pv_action *a = ev->a;
        const char *color = a->status == PV_ACT_DONE ? PV_C_GREEN : a->status == PV_ACT_FAILED ? PV_C_RED : PV_C_YELLOW;
        fprintf(f, "[%zu/%zu] %s%s%s ", ev->finished, ev->total, pv_c(l->ctx, f, color),
                pv_action_status_to_string(a->status), pv_c(l->ctx, f, PV_C_RESET));
        label(f, a);
        if (a->vmid && a->target && strncmp(a->target, "vm ", 3) == 0)
                fprintf(f, " (vmid %u)", (unsigned)a->vmid);
        if (ev->elapsed_ms)
                fprintf(f, " %.1f s", (double)ev->elapsed_ms / 1000.0);
        if (a->status == PV_ACT_FAILED || a->status == PV_ACT_SKIPPED)
                fprintf(f, ": %s", a->error ? a->error : "?");
        else if (a->status == PV_ACT_BLOCKED && a->blocked)
                fprintf(f, ": %s", a->blocked);
        fputc('\n', f);
}

void pv_live_event(void *userdata, const struct pv_exec_event *ev) {
        struct pv_live *l = userdata;
        if (!l->tty) {
                if (ev->kind == PV_EXEC_END) {
                        finished_line(l, ev);
                        fflush(l->ctx->err);
                }
                return;
        }
        if (ev->kind == PV_EXEC_TICK && ev->now_ms - l->last_draw_ms < REDRAW_MS)
                return;
        erase(l);
        if (ev->kind == PV_EXEC_END)
                finished_line(l, ev);
        draw(l, ev);
}

void pv_live_done(struct pv_live *l) {
        if (l->tty) {
                erase(l);
                fflush(l->ctx->err);
        }
}
