/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Entry points of the commands (one cmd_<verb>.c each) and their tables. */
#ifndef PVFIO_CMD_COMMANDS_H
#define PVFIO_CMD_COMMANDS_H

#include "cli.h"

/* pvfio validate PROFILE... (cmd_validate.c) */
extern const struct pv_cmd pv_cmd_validate;

/* pvfio host … (cmd_host.c holds the table) */
extern const struct pv_cmd pv_cmd_host;
extern const struct pv_cmd pv_cmd_host_scan;     /* cmd_host_scan.c */
extern const struct pv_cmd pv_cmd_host_check;    /* cmd_host_scan.c */
extern const struct pv_cmd pv_cmd_host_plan;     /* cmd_host_plan.c */
extern const struct pv_cmd pv_cmd_host_apply;    /* cmd_host_plan.c */
extern const struct pv_cmd pv_cmd_host_rollback; /* cmd_host_plan.c */
extern const struct pv_cmd pv_cmd_host_rom;      /* cmd_host_rom.c */
/* host scan --usb: USB devices per controller (cmd_host_usb.c); returns an exit code */
struct pv_host;
struct pv_host_state;
int pv_host_scan_usb(struct pv_ctx *ctx, const struct pv_host *h, const struct pv_host_state *s);
/* host scan --input: keyboards and mice in /dev/input/by-id (cmd_host_usb.c) */
int pv_host_scan_input(struct pv_ctx *ctx, const struct pv_host *h);

/* pvfio plan | diff | apply PROFILE (cmd_plan.c) */
extern const struct pv_cmd pv_cmd_plan;
extern const struct pv_cmd pv_cmd_diff;
extern const struct pv_cmd pv_cmd_apply;
/* Load a profile, printing its diagnostics to stderr; <0 when invalid. */
struct pv_profile;
int pv_cli_load_profile(struct pv_ctx *ctx, const char *file, struct pv_profile **ret);

/* Connect, observe and plan the profile's mappings and VMs (appended to *plan); returns an exit code
 * after printing any error. conn/obs are filled for the caller to release. */
struct pv_vm_plan_opts;
struct pv_cli_conn;
struct pv_observed;
struct pv_plan;
struct pv_apply_lock;
/* lock: the cluster-wide apply lock, taken when the plan writes (then the plan is checked again under it;
 * NULL = none, for a dry run). */
int pv_cli_plan_cluster(struct pv_ctx *ctx, const struct pv_profile *p, unsigned parallel,
                        const struct pv_vm_plan_opts *vo, struct pv_cli_conn *conn, struct pv_observed *obs,
                        struct pv_plan *plan, struct pv_apply_lock *lock);

/* pvfio vm add (cmd_vm.c) */
extern const struct pv_cmd pv_cmd_vm;

/* pvfio api get|set|create|delete|fingerprint (cmd_api.c) */
extern const struct pv_cmd pv_cmd_api;

#endif
