/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Allocation that cannot fail (see pvfio/xalloc.h). */
#include "pvfio/xalloc.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void (*oom_handler)(size_t size);

void pv_set_oom_handler(void (*handler)(size_t size)) {
        oom_handler = handler;
}

_Noreturn void pv_oom(size_t size) {
        if (oom_handler)
                oom_handler(size);
        abort();
}

void *pv_xmalloc(size_t n) {
        void *p = malloc(n ? n : 1);
        if (!p)
                pv_oom(n);
        return p;
}

void *pv_xcalloc(size_t n, size_t size) {
        void *p = calloc(n ? n : 1, size ? size : 1);
        if (!p)
                pv_oom(n * size);
        return p;
}

void *pv_xrealloc(void *p, size_t n) {
        void *q = realloc(p, n ? n : 1);
        if (!q)
                pv_oom(n);
        return q;
}

void *pv_xreallocarray(void *p, size_t n, size_t size) {
        if (size && n > SIZE_MAX / size)
                pv_oom(SIZE_MAX);
        return pv_xrealloc(p, n * size);
}

char *pv_xstrdup(const char *s) {
        if (!s)
                return NULL;
        char *d = strdup(s);
        if (!d)
                pv_oom(strlen(s) + 1);
        return d;
}

char *pv_xstrndup(const char *s, size_t n) {
        if (!s)
                return NULL;
        char *d = strndup(s, n);
        if (!d)
                pv_oom(n + 1);
        return d;
}

char *pv_xasprintf(const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        char *s = NULL;
        int r = vasprintf(&s, fmt, ap);
        va_end(ap);
        if (r < 0)
                pv_oom(strlen(fmt));
        return s;
}
