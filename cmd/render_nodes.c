/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Text views of the engine's per-node results (see render_nodes.h). */
#include "render_nodes.h"

#include <stdio.h>

void pv_hosts_print(struct pv_ctx *ctx, const struct pv_hosts *h) {
        FILE *f = ctx->out;
        if (!h->n)
                return;
        fprintf(f, "%sNodes:%s\n", pv_c(ctx, f, PV_C_BOLD), pv_c(ctx, f, PV_C_RESET));
        for (size_t i = 0; i < h->n; i++) {
                const struct pv_host_node *hn = &h->v[i];
                fprintf(f, "  %-12s %-5s ", hn->node, hn->local ? "local" : "ssh");
                if (hn->failed) {
                        fprintf(f, "%sfailed:%s %s\n", pv_c(ctx, f, PV_C_RED), pv_c(ctx, f, PV_C_RESET),
                                hn->error ? hn->error : "?");
                        continue;
                }
                if (hn->count)
                        fprintf(f, "%zu host change%s", hn->count, hn->count == 1 ? "" : "s");
                else
                        fprintf(f, "host matches the profile");
                if (hn->reboot_reasons.n)
                        fprintf(f, ", %sreboot required%s", pv_c(ctx, f, PV_C_RED), pv_c(ctx, f, PV_C_RESET));
                fputc('\n', f);
        }
        fputc('\n', f);
}

void pv_reboot_report_print(struct pv_ctx *ctx, const struct pv_reboot_report *r) {
        FILE *f = ctx->out;
        if (!r->n)
                return;
        fprintf(f, "%sReboots:%s\n", pv_c(ctx, f, PV_C_BOLD), pv_c(ctx, f, PV_C_RESET));
        for (size_t i = 0; i < r->n; i++) {
                const struct pv_reboot_result *x = &r->v[i];
                const char *col = x->status == PV_REBOOT_DONE ? PV_C_GREEN : x->status == PV_REBOOT_SELF ? PV_C_YELLOW
                                                                                                          : PV_C_RED;
                fprintf(f, "  %-12s %s%-9s%s", x->node, pv_c(ctx, f, col), pv_reboot_status_to_string(x->status),
                        pv_c(ctx, f, PV_C_RESET));
                if (x->status == PV_REBOOT_DONE)
                        fprintf(f, " back and checked after %.1f s", x->seconds);
                if (x->message)
                        fprintf(f, " %s", x->message);
                fputc('\n', f);
        }
        fputc('\n', f);
}
