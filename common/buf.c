/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "pvfio/buf.h"
#include "pvfio/xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

char pv_buf_empty[1];

static size_t buf_cap(const struct pv_buf *b) {
        return b->cap ? b->cap : PV_BUF_DEFAULT_CAP;
}

int pv_buf_grow(struct pv_buf *b, size_t extra, struct pv_error *err) {
        size_t cap = buf_cap(b);
        if (extra > cap || b->len > cap - extra)
                return pv_error_set(err, PV_ETOOBIG, "data exceeds the limit of %zu bytes", cap);
        size_t need = b->len + extra + 1;
        if (need <= b->alloc)
                return 0;
        size_t n = b->alloc ? b->alloc : 64;
        while (n < need)
                n = n > SIZE_MAX / 2 ? need : n * 2;
        char *p = pv_xrealloc(b->alloc ? b->buf : NULL, n);
        if (!b->alloc)
                p[0] = '\0';
        b->buf = p;
        b->alloc = n;
        return 0;
}

int pv_buf_add(struct pv_buf *b, const void *data, size_t n, struct pv_error *err) {
        int r = pv_buf_grow(b, n, err);
        if (r < 0)
                return r;
        if (n)
                memcpy(b->buf + b->len, data, n);
        b->len += n;
        b->buf[b->len] = '\0';
        return 0;
}

int pv_buf_adds(struct pv_buf *b, const char *s, struct pv_error *err) {
        return pv_buf_add(b, s, strlen(s), err);
}

int pv_buf_addch(struct pv_buf *b, char c, struct pv_error *err) {
        return pv_buf_add(b, &c, 1, err);
}

int pv_buf_vaddf(struct pv_buf *b, struct pv_error *err, const char *fmt, va_list ap) {
        va_list cp;
        va_copy(cp, ap);
        int n = vsnprintf(NULL, 0, fmt, cp);
        va_end(cp);
        if (n < 0)
                return pv_error_set(err, PV_EINVAL, "invalid format string");
        int r = pv_buf_grow(b, (size_t)n, err);
        if (r < 0)
                return r;
        vsnprintf(b->buf + b->len, (size_t)n + 1, fmt, ap);
        b->len += (size_t)n;
        return 0;
}

int pv_buf_addf(struct pv_buf *b, struct pv_error *err, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        int r = pv_buf_vaddf(b, err, fmt, ap);
        va_end(ap);
        return r;
}

void pv_buf_setlen(struct pv_buf *b, size_t len) {
        if (len > b->len)
                return;
        b->len = len;
        if (b->alloc)
                b->buf[len] = '\0';
}

void pv_buf_reset(struct pv_buf *b) {
        pv_buf_setlen(b, 0);
}

void pv_buf_release(struct pv_buf *b) {
        if (!b)
                return;
        if (b->alloc)
                free(b->buf);
        size_t cap = b->cap;
        *b = (struct pv_buf)PV_BUF_INIT_CAP(cap);
}

int pv_buf_detach(struct pv_buf *b, char **ret, size_t *ret_len, struct pv_error *err) {
        (void)err;      /* allocation does not fail (pvfio/xalloc.h) */
        if (!b->alloc) {
                *ret = pv_xstrdup("");
        } else {
                *ret = b->buf;
        }
        if (ret_len)
                *ret_len = b->len;
        size_t cap = b->cap;
        *b = (struct pv_buf)PV_BUF_INIT_CAP(cap);
        return 0;
}

int pv_buf_read_fd(struct pv_buf *b, int fd, struct pv_error *err) {
        for (;;) {
                size_t space = buf_cap(b) - b->len;
                if (space == 0) {
                        /* exactly at the cap: only end-of-file is acceptable */
                        char c;
                        ssize_t n = read(fd, &c, 1);
                        if (n < 0 && errno == EINTR)
                                continue;
                        if (n < 0)
                                return pv_error_set_errno(err, errno, "read failed");
                        if (n == 0)
                                return 0;
                        return pv_error_set(err, PV_ETOOBIG, "input exceeds the limit of %zu bytes", buf_cap(b));
                }
                size_t want = space < 65536 ? space : 65536;
                int r = pv_buf_grow(b, want, err);
                if (r < 0)
                        return r;
                ssize_t n = read(fd, b->buf + b->len, want);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return pv_error_set_errno(err, errno, "read failed");
                if (n == 0)
                        return 0;
                b->len += (size_t)n;
                b->buf[b->len] = '\0';
        }
}

int pv_buf_read_file_at(struct pv_buf *b, int dirfd, const char *path, struct pv_error *err) {
        int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return pv_error_set_errno(err, errno, "cannot open '%s'", path);
        int r = pv_buf_read_fd(b, fd, err);
        close(fd);
        if (r < 0)
                return pv_error_wrap(err, "cannot read '%s'", path);
        return 0;
}
