/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "pvfio/util.h"

#include "pvfio/buf.h"
#include "pvfio/xalloc.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *pv_strdup(const char *s, struct pv_error *err) {
        (void)err;      /* allocation does not fail (pvfio/xalloc.h) */
        return pv_xstrdup(s ? s : "");
}

char *pv_asprintf(struct pv_error *err, const char *fmt, ...) {
        (void)err;      /* allocation does not fail (pvfio/xalloc.h) */
        va_list ap;
        char *s = NULL;
        va_start(ap, fmt);
        int r = vasprintf(&s, fmt, ap);
        va_end(ap);
        if (r < 0)
                pv_oom(strlen(fmt));
        return s;
}

bool pv_startswith(const char *s, const char *prefix) {
        return strncmp(s, prefix, strlen(prefix)) == 0;
}

unsigned pv_edit_distance(const char *a, const char *b, unsigned cap) {
        size_t la = strlen(a), lb = strlen(b);
        if (la > 64 || lb > 64)
                return cap;
        unsigned row[65];
        for (size_t j = 0; j <= lb; j++)
                row[j] = (unsigned)j;
        for (size_t i = 1; i <= la; i++) {
                unsigned prev = row[0];
                row[0] = (unsigned)i;
                for (size_t j = 1; j <= lb; j++) {
                        unsigned cur = row[j];
                        unsigned cost = tolower((unsigned char)a[i - 1]) == tolower((unsigned char)b[j - 1]) ? 0 : 1;
                        unsigned v = prev + cost;
                        if (row[j] + 1 < v)
                                v = row[j] + 1;
                        if (row[j - 1] + 1 < v)
                                v = row[j - 1] + 1;
                        row[j] = v;
                        prev = cur;
                }
        }
        return row[lb] < cap ? row[lb] : cap;
}

bool pv_tags_contain(const char *tags, const char *tag) {
        if (!tags || !tag)
                return false;
        size_t tl = strlen(tag);
        for (const char *p = tags; *p;) {
                size_t n = strcspn(p, ";, \t");
                if (n == tl && strncmp(p, tag, n) == 0)
                        return true;
                p += n;
                if (*p)
                        p++;
        }
        return false;
}

char *pv_strip_trailing(char *s) {
        size_t n = strlen(s);
        while (n > 0 && isspace((unsigned char)s[n - 1]))
                s[--n] = '\0';
        return s;
}

int pv_strv_push_take(struct pv_strv *sv, char *s, struct pv_error *err) {
        if (!s)
                return pv_error_set(err, PV_ENOMEM, "out of memory");
        if (sv->n + 2 > sv->alloc) {
                size_t n = sv->alloc ? sv->alloc * 2 : 8;
                sv->v = pv_xreallocarray(sv->v, n, sizeof *sv->v);
                sv->alloc = n;
        }
        sv->v[sv->n++] = s;
        sv->v[sv->n] = NULL;
        return 0;
}

int pv_strv_push(struct pv_strv *sv, const char *s, struct pv_error *err) {
        return pv_strv_push_take(sv, pv_xstrdup(s), err);
}

bool pv_strv_contains(const struct pv_strv *sv, const char *s) {
        for (size_t i = 0; i < sv->n; i++)
                if (strcmp(sv->v[i], s) == 0)
                        return true;
        return false;
}

char *pv_strv_join(const struct pv_strv *sv, const char *sep, struct pv_error *err) {
        struct pv_buf b = PV_BUF_INIT;
        for (size_t i = 0; i < sv->n; i++)
                if (pv_buf_addf(&b, err, "%s%s", i ? sep : "", sv->v[i]) < 0) {
                        pv_buf_release(&b);
                        return NULL;
                }
        char *s = NULL;
        if (pv_buf_detach(&b, &s, NULL, err) < 0)
                return NULL;
        return s;
}

void pv_strv_done(struct pv_strv *sv) {
        if (!sv)
                return;
        for (size_t i = 0; i < sv->n; i++)
                free(sv->v[i]);
        free(sv->v);
        *sv = (struct pv_strv)PV_STRV_INIT;
}

void pv_secret_wipe(char *s) {
        if (s)
                explicit_bzero(s, strlen(s));
}

void pv_secret_free(char *s) {
        pv_secret_wipe(s);
        free(s);
}
