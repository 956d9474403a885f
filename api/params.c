/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Request parameters, the form encoder and the path builder. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "internal.h"
#include "pvfio/buf.h"
#include "pvfio/util.h"
#include "pvfio/xalloc.h"

int pv_api_params_add(struct pv_api_params *p, const char *key, const char *value, struct pv_error *err) {
        (void)err;      /* allocation does not fail (pvfio/xalloc.h) */
        if (p->n == p->alloc) {
                size_t n = p->alloc ? p->alloc * 2 : 8;
                p->v = pv_xreallocarray(p->v, n, sizeof *p->v);
                p->alloc = n;
        }
        p->v[p->n].key = pv_xstrdup(key);
        p->v[p->n].value = pv_xstrdup(value ? value : "");
        p->n++;
        return 0;
}

int pv_api_params_add_uint(struct pv_api_params *p, const char *key, uint64_t value, struct pv_error *err) {
        char num[24];
        snprintf(num, sizeof num, "%" PRIu64, value);
        return pv_api_params_add(p, key, num, err);
}

int pv_api_params_add_bool(struct pv_api_params *p, const char *key, bool value, struct pv_error *err) {
        return pv_api_params_add(p, key, value ? "1" : "0", err);
}

const char *pv_api_params_get(const struct pv_api_params *p, const char *key) {
        for (size_t i = 0; p && i < p->n; i++)
                if (strcmp(p->v[i].key, key) == 0)
                        return p->v[i].value;
        return NULL;
}

void pv_api_params_done(struct pv_api_params *p) {
        if (!p)
                return;
        for (size_t i = 0; i < p->n; i++) {
                free(p->v[i].key);
                pv_secret_free(p->v[i].value); /* values may carry secrets (the login password) */
        }
        free(p->v);
        memset(p, 0, sizeof *p);
}

static int add_escaped(struct pv_buf *out, const char *s, struct pv_error *err) {
        char *e = curl_easy_escape(NULL, s, (int)strlen(s));
        if (!e)
                return pv_error_set(err, PV_ENOMEM, "out of memory");
        int r = pv_buf_adds(out, e, err);
        curl_free(e);
        return r;
}

int pv_api_form_encode(const struct pv_api_params *p, struct pv_buf *out, struct pv_error *err) {
        for (size_t i = 0; p && i < p->n; i++) {
                int r = 0;
                if (i > 0)
                        r = pv_buf_addch(out, '&', err);
                if (r >= 0)
                        r = add_escaped(out, p->v[i].key, err);
                if (r >= 0)
                        r = pv_buf_addch(out, '=', err);
                if (r >= 0)
                        r = add_escaped(out, p->v[i].value, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* RFC 3986 pchar minus nothing: unreserved / sub-delims / ':' / '@' stay as they are. */
static bool is_pchar(unsigned char c) {
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
                return true;
        return strchr("-._~!$&'()*+,;=:@", c) != NULL && c != '\0';
}

int pv_api_escape_segment(struct pv_buf *out, const char *s, struct pv_error *err) {
        static const char hex[] = "0123456789ABCDEF";
        for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
                int r;
                if (is_pchar(*p)) {
                        r = pv_buf_addch(out, (char)*p, err);
                } else {
                        char e[3] = { '%', hex[*p >> 4], hex[*p & 15] };
                        r = pv_buf_add(out, e, 3, err);
                }
                if (r < 0)
                        return r;
        }
        return 0;
}

char *pv_api_path(struct pv_error *err, const char *first, ...) {
        (void)err;      /* never fails: allocation does not fail (pvfio/xalloc.h) and the buffer has no cap */
        struct pv_buf b = PV_BUF_INIT_CAP(SIZE_MAX);
        va_list ap;
        va_start(ap, first);
        for (const char *seg = first; seg; seg = va_arg(ap, const char *)) {
                (void)pv_buf_addch(&b, '/', NULL);
                (void)pv_api_escape_segment(&b, seg, NULL);
        }
        va_end(ap);
        char *ret = NULL;
        (void)pv_buf_detach(&b, &ret, NULL, NULL);
        return ret;
}

const char *pv_api_method_name(enum pv_api_method m) {
        switch (m) {
        case PV_API_GET: return "GET";
        case PV_API_POST: return "POST";
        case PV_API_PUT: return "PUT";
        case PV_API_DELETE: return "DELETE";
        }
        return "GET";
}
