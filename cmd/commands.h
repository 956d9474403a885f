/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Entry points of the commands (one cmd_<verb>.c each) and their tables. */
#ifndef PVFIO_CMD_COMMANDS_H
#define PVFIO_CMD_COMMANDS_H

#include "cli.h"
#include "pvfio/profile.h"

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
/*
 * The one profile loader of cmd/ (prepare.c): the dispatcher calls it for the commands with
 * PV_CMD_NEEDS_PROFILE, `validate` for each of its files. Reads req->file ("-" = standard input),
 * parses it (with req->vms_yaml replacing its `vms`), reports what is wrong the way req->report
 * says and returns an exit code: PV_EXIT_OK with ret->profile (and ret->text with keep_text), or
 * PV_EXIT_ERROR. With PV_PROFILE_REPORT_NONE nothing is printed and ret->diags / ret->err hold the
 * problems for the caller. Release *ret with pv_cli_profile_done in every case.
 */
struct pv_cli_profile_req {
        const char *file;
        enum pv_profile_report report;
        bool keep_text;
        const char *vms_yaml;           /* NULL = the profile's own `vms` */
        size_t vms_len;
};
struct pv_cli_profile {
        struct pv_profile *profile;
        char *text;                     /* keep_text: the bytes read */
        size_t len;
        struct pv_diags diags;          /* PV_PROFILE_REPORT_NONE: every diagnostic */
        struct pv_error err;            /* PV_PROFILE_REPORT_NONE: the failure that is not a diagnostic */
};
int pv_cli_profile_load(struct pv_ctx *ctx, const struct pv_cli_profile_req *req, struct pv_cli_profile *ret);
void pv_cli_profile_done(struct pv_cli_profile *l);

/* Observe and plan the profile's mappings and VMs (appended to *plan) over the session conn; returns
 * an exit code after printing any error. obs is filled for the caller to release. */
struct pv_vm_plan_opts;
struct pv_cli_conn;
struct pv_observed;
struct pv_plan;
struct pv_apply_lock;
/* lock: the cluster-wide apply lock, taken when the plan writes (then the plan is checked again under it;
 * NULL = none, for a dry run). */
int pv_cli_plan_cluster(struct pv_ctx *ctx, const struct pv_profile *p,
                        const struct pv_vm_plan_opts *vo, struct pv_cli_conn *conn, struct pv_observed *obs,
                        struct pv_plan *plan, struct pv_apply_lock *lock);

/* pvfio vm add (cmd_vm.c) */
extern const struct pv_cmd pv_cmd_vm;

/* pvfio api get|set|create|delete|fingerprint (cmd_api.c) */
extern const struct pv_cmd pv_cmd_api;

#endif
