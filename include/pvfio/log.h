/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Debug/warning log sink. Library code (provision/, api/, common/) never
 * prints: it reports through this sink, which cmd/ installs. With no sink
 * installed, messages are dropped. Secrets must never be passed here.
 *
 * The sink is carried in a context object (struct pv_log) rather than a
 * global: layers receive a `const struct pv_log *` (NULL = silent).
 */
#ifndef PVFIO_LOG_H
#define PVFIO_LOG_H

#include <stdarg.h>

#include "pvfio/error.h"

enum pv_log_level {
        PV_LOG_ERROR,
        PV_LOG_WARNING,
        PV_LOG_INFO,
        PV_LOG_DEBUG,
};

/* Callback receiving one formatted line (no trailing newline). */
typedef void (*pv_log_fn)(void *userdata, enum pv_log_level level, const char *msg);

struct pv_log {
        pv_log_fn fn;            /* NULL = drop everything */
        void *userdata;          /* passed to fn */
        enum pv_log_level max;   /* messages above this level are dropped */
};

/* Log through `log` (NULL-safe). */
void pv_logf(const struct pv_log *log, enum pv_log_level level, const char *fmt, ...) PV_PRINTF(3, 4);
void pv_vlogf(const struct pv_log *log, enum pv_log_level level, const char *fmt, va_list ap);

#define pv_log_debug(log, ...) pv_logf((log), PV_LOG_DEBUG, __VA_ARGS__)
#define pv_log_info(log, ...) pv_logf((log), PV_LOG_INFO, __VA_ARGS__)
#define pv_log_warning(log, ...) pv_logf((log), PV_LOG_WARNING, __VA_ARGS__)

#endif
