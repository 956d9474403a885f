/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The {"data": …} envelope and Proxmox error answers → one pv_error. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "pvfio/api.h"
#include "pvfio/buf.h"
#include "pvfio/xalloc.h"

#define MAX_MESSAGE 2048        /* server text kept in one error line */

int pv_api_decode_envelope(const char *body, size_t len, json_t **ret_data, struct pv_error *err) {
        json_error_t je;
        json_t *root = json_loadb(body, len, 0, &je);
        if (!root)
                return pv_error_set(err, PV_EINVAL, "response is not valid JSON (%s at byte %d)", je.text,
                                    je.position);
        if (!json_is_object(root)) {
                json_decref(root);
                return pv_error_set(err, PV_EINVAL, "response is not a JSON object");
        }
        json_t *data = json_object_get(root, "data");
        if (!data) {
                json_decref(root);
                return pv_error_set(err, PV_EINVAL, "response has no 'data' member");
        }
        *ret_data = json_incref(data);
        json_decref(root);
        return 0;
}

/* Append server text on one line: newlines become "; ", trailing space and full stop dropped. */
static int add_clean(struct pv_buf *b, const char *s, struct pv_error *err) {
        size_t n = strlen(s);
        while (n > 0 && (isspace((unsigned char)s[n - 1]) || s[n - 1] == '.'))
                n--;
        while (n > 0 && isspace((unsigned char)*s)) {
                s++;
                n--;
        }
        if (n > MAX_MESSAGE)
                n = MAX_MESSAGE;
        bool sep = false;
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char)s[i];
                int r;
                if (c == '\n' || c == '\r') {
                        sep = true;
                        continue;
                }
                if (sep) {
                        r = pv_buf_adds(b, "; ", err);
                        if (r < 0)
                                return r;
                        sep = false;
                }
                r = pv_buf_addch(b, (c < 0x20 || c == 0x7f) ? ' ' : (char)c, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int add_param_errors(struct pv_buf *b, json_t *errors, struct pv_error *err) {
        size_t n = json_object_size(errors);
        if (n == 0)
                return 0;
        const char **keys = pv_xcalloc(n, sizeof *keys);
        size_t k = 0;
        const char *key;
        json_t *v;
        json_object_foreach(errors, key, v) {
                if (k < n)
                        keys[k++] = key;
        }
        qsort(keys, k, sizeof *keys, cmp_str);
        int r = 0;
        for (size_t i = 0; i < k && r >= 0; i++) {
                json_t *val = json_object_get(errors, keys[i]);
                r = pv_buf_adds(b, i == 0 ? ": " : "; ", err);
                if (r >= 0)
                        r = add_clean(b, keys[i], err);
                if (r >= 0 && json_is_string(val)) {
                        r = pv_buf_adds(b, ": ", err);
                        if (r >= 0)
                                r = add_clean(b, json_string_value(val), err);
                }
        }
        free(keys);
        return r;
}

static bool has(const char *s, const char *needle) {
        return s && strstr(s, needle);
}

static int classify(long status, const char *msg) {
        if (status == 401 || status == 403)
                return PV_EAUTH;
        if (has(msg, "checksum mismatch") || has(msg, "detected modified configuration") || has(msg, "is locked") ||
            has(msg, "already exists") || has(msg, "already defined") || has(msg, "got timeout") ||
            has(msg, "already running"))
                return PV_ECONFLICT;
        if (status != 501 && (has(msg, "does not exist") || has(msg, "not found") || has(msg, "no such")))
                return PV_ENOTFOUND;
        return PV_EHTTP;
}

static const char *src_or(const struct pv_api_auth_info *a, const char *def) {
        return a && a->secret_source ? a->secret_source : def;
}

static int add_hint(struct pv_buf *b, long status, const char *msg, const struct pv_api_auth_info *a,
                    struct pv_error *err) {
        const char *who = a && a->principal ? a->principal : "?";
        if (status == 401) {
                if (a && a->kind == PV_AUTH_TOKEN)
                        return pv_buf_addf(b, err,
                                           "; API token '%s' was rejected: check that it exists, is not expired, "
                                           "and that the secret in %s belongs to it",
                                           who, src_or(a, "the configured secret"));
                if (a && a->kind == PV_AUTH_PASSWORD)
                        return pv_buf_addf(b, err,
                                           "; the login of '%s' was rejected: check the user name (user@realm) "
                                           "and the password in %s",
                                           who, src_or(a, "the configured secret"));
                return pv_buf_adds(b, "; the server wants credentials: configure an API token or a password login",
                                   err);
        }
        if (status == 403) {
                if (has(msg, "need proper ticket"))
                        return pv_buf_adds(b, "; this call is not available to API tokens: use a password login", err);
                if (a && a->kind == PV_AUTH_TOKEN)
                        return pv_buf_addf(b, err,
                                           "; grant the privilege to the user and to token '%s' (a token with "
                                           "privilege separation only has permissions given to both)",
                                           who);
                return pv_buf_addf(b, err, "; grant the privilege to '%s' (Datacenter > Permissions)", who);
        }
        if (status == 501)
                return pv_buf_adds(b, "; the server does not implement this path or method: check the path "
                                      "(pvesh-style, below /api2/json) and the Proxmox VE version",
                                   err);
        if (has(msg, "only root can set 'hostpci"))
                return pv_buf_adds(b, "; raw host PCI devices need a root@pam password login (API tokens never "
                                      "qualify): use a cluster mapping or auth: password",
                                   err);
        if (has(msg, "only root can set"))
                return pv_buf_adds(b, "; Proxmox lets only root@pam with a password login set this key (API tokens "
                                      "never qualify): drop it from the profile or use auth: password",
                                   err);
        return 0;
}

int pv_api_error_from_response(const char *method, const char *path, long status, const char *reason,
                               const char *body, size_t body_len, const struct pv_api_auth_info *auth,
                               struct pv_error *err) {
        json_t *root = NULL;
        const char *message = NULL;
        json_t *errors = NULL;
        if (body && body_len > 0) {
                root = json_loadb(body, body_len, 0, NULL);
                if (json_is_object(root)) {
                        json_t *m = json_object_get(root, "message");
                        if (json_is_string(m) && json_string_length(m) > 0)
                                message = json_string_value(m);
                        errors = json_object_get(root, "errors");
                        if (!json_is_object(errors))
                                errors = NULL;
                }
        }
        const char *text = message ? message : (reason && *reason ? reason : NULL);
        struct pv_buf b = PV_BUF_INIT;
        struct pv_error tmp = PV_ERROR_INIT;
        int r = pv_buf_addf(&b, &tmp, "%s %s: %ld", method, path, status);
        if (r >= 0) {
                if (text) {
                        r = pv_buf_addch(&b, ' ', &tmp);
                        if (r >= 0)
                                r = add_clean(&b, text, &tmp);
                } else {
                        r = pv_buf_adds(&b, " (no message)", &tmp);
                }
        }
        if (r >= 0 && errors)
                r = add_param_errors(&b, errors, &tmp);
        if (r >= 0)
                r = add_hint(&b, status, text, auth, &tmp);
        int code = classify(status, text);
        json_decref(root);
        if (r < 0) {
                pv_buf_release(&b);
                pv_error_move(err, &tmp);
                return r;
        }
        r = pv_error_set(err, code, "%s", b.buf);
        if (err && err->code == code)
                err->http_status = (int)status;
        pv_buf_release(&b);
        return r;
}
