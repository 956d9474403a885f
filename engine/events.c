/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The engine's events: formatting helpers over the callbacks cmd/ supplies (pvfio/engine.h). */
#include "pvfio/engine.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

/* Format into a new string; NULL when out of memory (the message is then dropped). */
static char *vformat(const char *fmt, va_list ap) {
        char *s = NULL;
        return vasprintf(&s, fmt, ap) < 0 ? NULL : s;
}

/* Format and hand the message to fn (nothing when there is no callback or no memory). */
static void emit(const struct pv_engine_events *ev, void (*fn)(void *, const char *), const char *fmt, va_list ap) {
        if (!ev || !fn)
                return;
        char *s = vformat(fmt, ap);
        if (s)
                fn(ev->userdata, s);
        free(s);
}

void pv_engine_warn(const struct pv_engine_events *ev, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        emit(ev, ev ? ev->warn : NULL, fmt, ap);
        va_end(ap);
}

void pv_engine_progress(const struct pv_engine_events *ev, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        emit(ev, ev ? ev->progress : NULL, fmt, ap);
        va_end(ap);
}

bool pv_engine_confirm(const struct pv_engine_events *ev, const char *fmt, ...) {
        if (!ev || !ev->confirm)
                return false;
        va_list ap;
        va_start(ap, fmt);
        char *s = vformat(fmt, ap);
        va_end(ap);
        bool yes = s && ev->confirm(ev->userdata, s);
        free(s);
        return yes;
}

const struct pv_log *pv_engine_log(const struct pv_engine_events *ev) {
        static const struct pv_log none = { 0 };
        return ev && ev->log ? ev->log : &none;
}
