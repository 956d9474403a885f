/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Allocation that cannot fail (crun's policy for a command-line tool): when
 * memory runs out, the handler cmd/ installed says so and the process ends;
 * without one it aborts. No caller checks for NULL, no `oom` flags.
 */
#ifndef PVFIO_XALLOC_H
#define PVFIO_XALLOC_H

#include <stddef.h>

#include "pvfio/error.h"

void *pv_xmalloc(size_t n);
void *pv_xcalloc(size_t n, size_t size);
void *pv_xrealloc(void *p, size_t n);
/* realloc to n elements of size, with overflow checked. */
void *pv_xreallocarray(void *p, size_t n, size_t size);
/* NULL for NULL. */
char *pv_xstrdup(const char *s);
char *pv_xstrndup(const char *s, size_t n);
char *pv_xasprintf(const char *fmt, ...) PV_PRINTF(1, 2);

/* Called with the size that could not be had, before abort(); cmd/ prints there and exits. */
void pv_set_oom_handler(void (*handler)(size_t size));
/* The out-of-memory path itself (never returns). */
_Noreturn void pv_oom(size_t size);

#endif
