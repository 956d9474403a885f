/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Entry points of the commands (one cmd_<verb>.c each) and their tables. */
#ifndef PVFIO_CMD_COMMANDS_H
#define PVFIO_CMD_COMMANDS_H

#include "cli.h"

/* pvfio validate PROFILE... (cmd_validate.c) */
extern const struct pv_cmd pv_cmd_validate;
/* pvfio host scan|check|plan|apply|rollback (cmd_host.c) */
extern const struct pv_cmd pv_cmd_host;
/* pvfio api get|set|create|delete|fingerprint (cmd_api.c) */
extern const struct pv_cmd pv_cmd_api;

#endif
