/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pvfio error convention.
 *
 * Every fallible function returns int: 0 on success, a negative value on
 * failure. It takes a caller-owned `struct pv_error *err` as its LAST
 * parameter and fills it only on failure. Rules:
 *   - `return pv_error_set(err, PV_EINVAL, "...")` returns the negative code;
 *   - callers add context with pv_error_wrap(); they never overwrite or mask
 *     a callee's error;
 *   - messages are one line, lower-case, no trailing full stop, user strings
 *     quoted in single ticks ('%s');
 *   - secrets never go into a message;
 *   - only cmd/ prints an error (once) and turns it into an exit code.
 */
#ifndef PVFIO_ERROR_H
#define PVFIO_ERROR_H

#include <stdarg.h>
#include <stdbool.h>

/* pvfio error codes (negated when returned). Values above 4096 stay clear of errno. */
enum pv_code {
        PV_OK = 0,
        PV_EINVAL = 4097,    /* invalid input (profile, argument, response) */
        PV_ENOTFOUND,        /* the named thing does not exist */
        PV_ECONFLICT,        /* state changed under us (digest, lock, existing id) */
        PV_EIO,              /* file or system call failure; errno_value says which */
        PV_ENOMEM,           /* allocation failed */
        PV_ETOOBIG,          /* a capped buffer or input limit was hit */
        PV_EHTTP,            /* the API answered with an error status */
        PV_ENET,             /* transport failure (connect, TLS, timeout) */
        PV_EAUTH,            /* authentication or permission failure */
        PV_EUNSAFE,          /* refused because it would be unsafe */
        PV_EUNSUPPORTED,     /* not possible on this host or in this mode */
        PV_EUNCERTAIN,       /* a write may or may not have taken effect (answer lost): check the state */
};

/* Where in a source file a value came from (1-based; 0 = unknown). */
struct pv_loc {
        const char *file;    /* borrowed: owned by the profile/source that produced it */
        unsigned line;
        unsigned col;
};

/* A caller-owned error. Initialise with PV_ERROR_INIT; release with pv_error_done(). */
struct pv_error {
        int code;            /* enum pv_code, 0 when unset */
        int errno_value;     /* errno at failure, 0 if not applicable */
        char *message;       /* owned, one line */
        char *file;          /* owned copy of the source file name, or NULL */
        unsigned line, col;  /* source position when file != NULL */
        int http_status;     /* HTTP status for PV_EHTTP / PV_EAUTH, else 0 */
};

#define PV_ERROR_INIT { 0 }

#if defined(__GNUC__)
#define PV_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define PV_PRINTF(a, b)
#endif

/* Fill err (if non-NULL) with code and message; returns -code. Replaces nothing already set. */
int pv_error_set(struct pv_error *err, int code, const char *fmt, ...) PV_PRINTF(3, 4);
/* Like pv_error_set, and record errno_value; the message gets ": strerror" appended. */
int pv_error_set_errno(struct pv_error *err, int errno_value, const char *fmt, ...) PV_PRINTF(3, 4);
/* Like pv_error_set, with a source location (file is copied). */
int pv_error_set_loc(struct pv_error *err, int code, const struct pv_loc *loc, const char *fmt, ...)
        PV_PRINTF(4, 5);
/* Prefix context ("while X: <old message>"); returns the existing negative code. */
int pv_error_wrap(struct pv_error *err, const char *fmt, ...) PV_PRINTF(2, 3);
/* Release the members and reset to PV_ERROR_INIT. NULL-safe. */
void pv_error_done(struct pv_error *err);
/* Move src into dst (dst is released first); src is reset. NULL-safe: a NULL dst drops src. */
void pv_error_move(struct pv_error *dst, struct pv_error *src);
/* The message, or "unknown error" if none. Borrowed. */
const char *pv_error_message(const struct pv_error *err);
/* A short stable name for a code ("invalid", "not-found", ...), for JSON output. */
const char *pv_code_name(int code);

#endif
