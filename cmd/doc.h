/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Documentation generated from the command and option tables, so it cannot
 * drift from what the parser accepts: the pvfio(1) manual page (troff) and the
 * bash completion script. The build reaches them through hidden commands
 * (`pvfio __man`, `pvfio __completion bash`); the completion script asks
 * `pvfio __nodes PROFILE` for node names. None of them is listed in --help.
 */
#ifndef PVFIO_CMD_DOC_H
#define PVFIO_CMD_DOC_H

#include <stdio.h>

#include "cli.h"

/* Hidden commands, looked up by main.c when a name is not in pv_commands[] (NULL-terminated). */
extern const struct pv_cmd *const pv_hidden_commands[];

/* Write pvfio(1) in troff (man macros) to f. date ("YYYY-MM-DD") may be NULL. 0, or -1 on a write error. */
int pv_doc_man(FILE *f, const char *date);
/* Write the bash completion script to f. 0, or -1 on a write error. */
int pv_doc_bash_completion(FILE *f);

#endif
