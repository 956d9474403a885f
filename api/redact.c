/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Redaction of secrets for the debug trace: headers, form bodies, JSON. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pvfio/api.h"
#include "pvfio/buf.h"

#define REDACTED "<redacted>"

static const char *const secret_keys[] = {
        "password", "new-password", "ticket", "CSRFPreventionToken", "secret", "token", "value", "otp",
        "tfa-challenge", "PVEAuthCookie", "cipassword", "PVEAPIToken",
};

bool pv_api_is_secret_key(const char *key) {
        for (size_t i = 0; i < sizeof secret_keys / sizeof *secret_keys; i++)
                if (strcasecmp(key, secret_keys[i]) == 0)
                        return true;
        return false;
}

static const char *const secret_headers[] = {
        "authorization", "cookie", "set-cookie", "csrfpreventiontoken", "proxy-authorization",
};

static bool is_secret_header(const char *name, size_t n) {
        for (size_t i = 0; i < sizeof secret_headers / sizeof *secret_headers; i++)
                if (strlen(secret_headers[i]) == n && strncasecmp(name, secret_headers[i], n) == 0)
                        return true;
        return false;
}

/* Decode %XX and '+' of a form key into out (for the comparison only). */
static void form_key(const char *s, size_t n, char *out, size_t cap);

/* Where a key=value pair may start inside a trace line: a query, a form, a cookie list. */
static bool pair_start(const char *line, const char *p) {
        return p == line || strchr("?&; \t[(\"',", p[-1]) != NULL;
}

/* Where a value inside a trace line ends (a form value never holds these unescaped). */
static size_t value_len(const char *v) {
        return strcspn(v, "& \t;]\"',)");
}

/*
 * Any line of the debug trace (a header, a request line "GET /path?query HTTP/1.1", curl's
 * informational text, an HTTP/2 pseudo-header "[cookie: …]"), with the value of a secret header
 * and of every secret key=value pair replaced by <redacted>. NULL when out of memory: the caller
 * then shows nothing of the line (fails closed).
 */
char *pv_api_redact_line(const char *line) {
        const char *colon = strchr(line, ':');
        if (colon && is_secret_header(line, (size_t)(colon - line))) {
                char *s = NULL;
                if (asprintf(&s, "%.*s: " REDACTED, (int)(colon - line), line) < 0)
                        return NULL;
                return s;
        }
        struct pv_buf b = PV_BUF_INIT;
        int r = 0;
        const char *p = line;
        while (*p && r >= 0) {
                if (*p == '[' && pair_start(line, p)) {
                        /* an HTTP/2 header as curl shows it: "[name: value]" */
                        const char *name = p + 1, *c = strchr(name, ':');
                        const char *close = strchr(name, ']');
                        if (c && close && c < close && is_secret_header(name, (size_t)(c - name))) {
                                r = pv_buf_add(&b, p, (size_t)(c - p) + 1, NULL);
                                if (r >= 0)
                                        r = pv_buf_adds(&b, " " REDACTED "]", NULL);
                                p = close + 1;
                                continue;
                        }
                }
                if (pair_start(line, p) && !strchr("?&; \t[(\"',", *p)) {
                        size_t klen = strcspn(p, "=&? \t;[]()\"',:");
                        if (p[klen] == '=') {
                                char key[64];
                                form_key(p, klen, key, sizeof key);
                                if (pv_api_is_secret_key(key)) {
                                        r = pv_buf_add(&b, p, klen + 1, NULL);
                                        if (r >= 0)
                                                r = pv_buf_adds(&b, REDACTED, NULL);
                                        p += klen + 1;
                                        p += value_len(p);
                                        continue;
                                }
                        }
                }
                r = pv_buf_addch(&b, *p++, NULL);
        }
        char *ret = NULL;
        if (r < 0 || pv_buf_detach(&b, &ret, NULL, NULL) < 0)
                ret = NULL;
        pv_buf_release(&b);
        return ret;
}

char *pv_api_redact_header(const char *line) {
        return pv_api_redact_line(line);
}

/* Decode %XX and '+' of a form key into out (for the comparison only). */
static void form_key(const char *s, size_t n, char *out, size_t cap) {
        size_t k = 0;
        for (size_t i = 0; i < n && k + 1 < cap; i++) {
                if (s[i] == '%' && i + 2 < n && isxdigit((unsigned char)s[i + 1]) && isxdigit((unsigned char)s[i + 2])) {
                        char hex[3] = { s[i + 1], s[i + 2], 0 };
                        out[k++] = (char)strtol(hex, NULL, 16);
                        i += 2;
                } else {
                        out[k++] = s[i] == '+' ? ' ' : s[i];
                }
        }
        out[k] = '\0';
}

char *pv_api_redact_form(const char *body) {
        struct pv_buf b = PV_BUF_INIT;
        const char *p = body;
        while (*p) {
                const char *amp = strchr(p, '&');
                size_t len = amp ? (size_t)(amp - p) : strlen(p);
                const char *eq = memchr(p, '=', len);
                char key[64];
                form_key(p, eq ? (size_t)(eq - p) : len, key, sizeof key);
                int r;
                if (eq && pv_api_is_secret_key(key)) {
                        r = pv_buf_add(&b, p, (size_t)(eq - p) + 1, NULL);
                        if (r >= 0)
                                r = pv_buf_adds(&b, REDACTED, NULL);
                } else {
                        r = pv_buf_add(&b, p, len, NULL);
                }
                if (r >= 0 && amp)
                        r = pv_buf_addch(&b, '&', NULL);
                if (r < 0) {
                        pv_buf_release(&b);
                        return NULL;
                }
                p = amp ? amp + 1 : p + len;
        }
        char *ret = NULL;
        if (pv_buf_detach(&b, &ret, NULL, NULL) < 0)
                ret = NULL;
        pv_buf_release(&b);
        return ret;
}

static void redact_tree(json_t *v, int depth) {
        if (depth > 64)
                return;
        if (json_is_object(v)) {
                const char *key;
                json_t *val;
                void *tmp;
                json_object_foreach_safe(v, tmp, key, val) {
                        if (pv_api_is_secret_key(key) && (json_is_string(val) || json_is_number(val)))
                                json_object_set_new(v, key, json_string(REDACTED));
                        else
                                redact_tree(val, depth + 1);
                }
        } else if (json_is_array(v)) {
                size_t i;
                json_t *val;
                json_array_foreach(v, i, val) redact_tree(val, depth + 1);
        }
}

char *pv_api_redact_json_text(const char *text, size_t len, size_t max) {
        json_t *root = json_loadb(text, len, 0, NULL);
        char *out = NULL;
        if (root) {
                redact_tree(root, 0);
                out = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY | JSON_ENSURE_ASCII);
                json_decref(root);
        } else {
                /* not JSON: never echo it (it could be anything), just say how big it was */
                if (asprintf(&out, "<%zu bytes, not JSON>", len) < 0)
                        out = NULL;
        }
        if (out && max > 16 && strlen(out) > max) {
                strcpy(out + max - 16, "…<truncated>");
        }
        return out;
}
