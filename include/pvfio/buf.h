/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A growable byte buffer with a hard cap (for file contents and HTTP bodies).
 *
 * Invariants: after PV_BUF_INIT `buf` is never NULL and always NUL-terminated;
 * `len` excludes the terminator; growing past `cap` fails with PV_ETOOBIG and
 * leaves the contents unchanged. cap == 0 means PV_BUF_DEFAULT_CAP.
 */
#ifndef PVFIO_BUF_H
#define PVFIO_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include "pvfio/error.h"

#define PV_BUF_DEFAULT_CAP (64u * 1024 * 1024)   /* 64 MiB unless a smaller cap is given */

struct pv_buf {
        char *buf;      /* NUL-terminated contents; points at a static "" until first growth */
        size_t len;     /* bytes used, excluding the NUL */
        size_t alloc;   /* bytes allocated (0 while buf is the static "") */
        size_t cap;     /* hard limit on len; 0 = PV_BUF_DEFAULT_CAP */
};

extern char pv_buf_empty[];
#define PV_BUF_INIT { .buf = pv_buf_empty, .len = 0, .alloc = 0, .cap = 0 }
#define PV_BUF_INIT_CAP(c) { .buf = pv_buf_empty, .len = 0, .alloc = 0, .cap = (c) }

/* Make room for `extra` more bytes; PV_ETOOBIG past the cap. */
int pv_buf_grow(struct pv_buf *b, size_t extra, struct pv_error *err);
/* Append n bytes. */
int pv_buf_add(struct pv_buf *b, const void *data, size_t n, struct pv_error *err);
/* Append a C string. */
int pv_buf_adds(struct pv_buf *b, const char *s, struct pv_error *err);
/* Append one byte. */
int pv_buf_addch(struct pv_buf *b, char c, struct pv_error *err);
/* Append printf-formatted text. */
int pv_buf_addf(struct pv_buf *b, struct pv_error *err, const char *fmt, ...) PV_PRINTF(3, 4);
int pv_buf_vaddf(struct pv_buf *b, struct pv_error *err, const char *fmt, va_list ap);
/* Truncate to len bytes (len <= b->len). */
void pv_buf_setlen(struct pv_buf *b, size_t len);
/* Empty the buffer, keeping its allocation and cap. */
void pv_buf_reset(struct pv_buf *b);
/* Free the memory and reset to PV_BUF_INIT (the cap is kept). */
void pv_buf_release(struct pv_buf *b);
/* Hand the contents to the caller (malloc()ed, never NULL on success) and reset. */
int pv_buf_detach(struct pv_buf *b, char **ret, size_t *ret_len, struct pv_error *err);
/* Read a whole file (fd) into b, failing with PV_ETOOBIG past the cap. */
int pv_buf_read_fd(struct pv_buf *b, int fd, struct pv_error *err);
/* Read a whole file relative to dirfd (AT_FDCWD allowed) into b. */
int pv_buf_read_file_at(struct pv_buf *b, int dirfd, const char *path, struct pv_error *err);

static inline void pv_buf_releasep(struct pv_buf *b) { pv_buf_release(b); }
/* Release a stack pv_buf when it goes out of scope. */
#define _cleanup_buf_ __attribute__((cleanup(pv_buf_releasep)))

#endif
