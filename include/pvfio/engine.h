/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The engine layer (engine/): orchestration over provision/ and api/ — the
 * local-host session, the SSH fan-out to other nodes, merging node plans and
 * rolling reboots. It prints nothing: what the user should see reaches cmd/
 * through these callbacks (any of which may be NULL: then nothing is said and
 * a question is answered "no").
 */
#ifndef PVFIO_ENGINE_H
#define PVFIO_ENGINE_H

#include <stdbool.h>

#include "pvfio/error.h"
#include "pvfio/log.h"

struct pv_engine_events {
        const struct pv_log *log;                               /* debug/warning sink, or NULL */
        void (*warn)(void *userdata, const char *message);      /* a warning for the user */
        void (*progress)(void *userdata, const char *message);  /* a step of long work ("Rebooting node …") */
        bool (*confirm)(void *userdata, const char *question);  /* a yes/no question; false = no */
        void *userdata;
};

void pv_engine_warn(const struct pv_engine_events *ev, const char *fmt, ...) PV_PRINTF(2, 3);
void pv_engine_progress(const struct pv_engine_events *ev, const char *fmt, ...) PV_PRINTF(2, 3);
bool pv_engine_confirm(const struct pv_engine_events *ev, const char *fmt, ...) PV_PRINTF(2, 3);
/* The log sink of ev (never NULL: a sink that drops everything when ev has none). */
const struct pv_log *pv_engine_log(const struct pv_engine_events *ev);

#endif
