/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Text views of the engine's per-node results: the nodes of a cluster run and the rolling-reboot report. */
#ifndef PVFIO_CMD_RENDER_NODES_H
#define PVFIO_CMD_RENDER_NODES_H

#include "cli.h"
#include "hosts.h"
#include "reboot.h"

/* "Nodes:" with each node's host changes, failure or reboot need (ctx->out). */
void pv_hosts_print(struct pv_ctx *ctx, const struct pv_hosts *h);
/* "Reboots:" with each node's outcome (ctx->out). */
void pv_reboot_report_print(struct pv_ctx *ctx, const struct pv_reboot_report *r);

#endif
