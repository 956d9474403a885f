/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "pvfio/error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *vformat(const char *fmt, va_list ap) {
        char *s = NULL;
        if (vasprintf(&s, fmt, ap) < 0)
                return NULL;
        return s;
}

static int set_common(struct pv_error *err, int code, int errno_value, const struct pv_loc *loc,
                      const char *fmt, va_list ap) {
        if (!err)
                return -code;
        if (err->code != 0) /* never clobber an error already recorded */
                return -err->code;
        err->code = code;
        err->errno_value = errno_value;
        err->message = vformat(fmt, ap);
        if (err->message && errno_value != 0) {
                char *m = NULL;
                if (asprintf(&m, "%s: %s", err->message, strerror(errno_value)) >= 0) {
                        free(err->message);
                        err->message = m;
                }
        }
        if (loc && loc->file) {
                err->file = strdup(loc->file);
                err->line = loc->line;
                err->col = loc->col;
        }
        return -code;
}

int pv_error_set(struct pv_error *err, int code, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        int r = set_common(err, code, 0, NULL, fmt, ap);
        va_end(ap);
        return r;
}

int pv_error_set_errno(struct pv_error *err, int errno_value, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        int code = errno_value == ENOMEM ? PV_ENOMEM : PV_EIO;
        int r = set_common(err, code, errno_value, NULL, fmt, ap);
        va_end(ap);
        return r;
}

int pv_error_set_loc(struct pv_error *err, int code, const struct pv_loc *loc, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        int r = set_common(err, code, 0, loc, fmt, ap);
        va_end(ap);
        return r;
}

int pv_error_wrap(struct pv_error *err, const char *fmt, ...) {
        if (!err)
                return -PV_EINVAL;
        int code = err->code ? err->code : PV_EINVAL;
        va_list ap;
        va_start(ap, fmt);
        char *ctx = vformat(fmt, ap);
        va_end(ap);
        if (ctx) {
                char *m = NULL;
                if (asprintf(&m, "%s: %s", ctx, err->message ? err->message : "unknown error") >= 0) {
                        free(err->message);
                        err->message = m;
                }
                free(ctx);
        }
        err->code = code;
        return -code;
}

void pv_error_done(struct pv_error *err) {
        if (!err)
                return;
        free(err->message);
        free(err->file);
        *err = (struct pv_error)PV_ERROR_INIT;
}

void pv_error_move(struct pv_error *dst, struct pv_error *src) {
        /* NULL-safe like pv_error_set: a NULL destination drops the error. */
        if (!src)
                return;
        if (!dst) {
                pv_error_done(src);
                return;
        }
        pv_error_done(dst);
        *dst = *src;
        *src = (struct pv_error)PV_ERROR_INIT;
}

const char *pv_error_message(const struct pv_error *err) {
        if (err && err->message)
                return err->message;
        if (err && err->code == PV_ENOMEM)
                return "out of memory";
        return "unknown error";
}

const char *pv_code_name(int code) {
        if (code < 0)
                code = -code;
        switch (code) {
        case PV_OK: return "ok";
        case PV_EINVAL: return "invalid";
        case PV_ENOTFOUND: return "not-found";
        case PV_ECONFLICT: return "conflict";
        case PV_EIO: return "io";
        case PV_ENOMEM: return "no-memory";
        case PV_ETOOBIG: return "too-big";
        case PV_EHTTP: return "http";
        case PV_ENET: return "network";
        case PV_EAUTH: return "auth";
        case PV_EUNSAFE: return "unsafe";
        case PV_EUNSUPPORTED: return "unsupported";
        case PV_EUNCERTAIN: return "uncertain";
        default: return "error";
        }
}
