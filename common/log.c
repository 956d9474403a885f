/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "pvfio/log.h"

#include <stdio.h>
#include <stdlib.h>

void pv_vlogf(const struct pv_log *log, enum pv_log_level level, const char *fmt, va_list ap) {
        if (!log || !log->fn || level > log->max)
                return;
        char *msg = NULL;
        if (vasprintf(&msg, fmt, ap) < 0)
                return;
        log->fn(log->userdata, level, msg);
        free(msg);
}

void pv_logf(const struct pv_log *log, enum pv_log_level level, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        pv_vlogf(log, level, fmt, ap);
        va_end(ap);
}
