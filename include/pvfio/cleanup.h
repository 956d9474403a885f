/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Cleanup attributes and ownership helpers (GCC/Clang `cleanup`).
 *
 * Ownership rules (see docs/conventions.md):
 *   - `ret_*` out-parameters are assigned only on success; the caller owns them.
 *   - A getter returning `const T *` is borrowed and lives as long as its parent.
 *   - pv_x_free(p) frees an object and accepts NULL; pv_x_done(&s) frees the
 *     members of a stack object; pv_x_unref() drops a refcounted handle.
 *   - jansson: constructors return a new reference, lookups a borrowed one,
 *     *_new setters steal one. Never free jansson memory with free().
 *   - TAKE_PTR(p) hands ownership on and leaves NULL behind.
 */
#ifndef PVFIO_CLEANUP_H
#define PVFIO_CLEANUP_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define _pv_cleanup_(f) __attribute__((cleanup(f)))

static inline void pv_freep(void *p) { free(*(void **)p); }
static inline void pv_fclosep(FILE **f) { if (*f) fclose(*f); }
static inline void pv_closep(int *fd) { if (*fd >= 0) close(*fd); }

/* Free a malloc()ed pointer when the variable goes out of scope. */
#define _cleanup_free_ _pv_cleanup_(pv_freep)
/* fclose() a FILE * when it goes out of scope. */
#define _cleanup_fclose_ _pv_cleanup_(pv_fclosep)
/* close() a file descriptor (>= 0) when it goes out of scope; initialise with -1. */
#define _cleanup_close_ _pv_cleanup_(pv_closep)

/* Define `name##p` that calls func(*p) on a pointer variable of type `type`. */
#define PV_DEFINE_CLEANUP(type, func)                   \
        static inline void func##p(type *p) {           \
                if (*p) func(*p);                       \
        }

/* Return the pointer and set the variable to NULL (ownership transfer). */
#define TAKE_PTR(p)                                     \
        ({                                              \
                __typeof__(p) _pv_tmp = (p);            \
                (p) = NULL;                             \
                _pv_tmp;                                \
        })

/* Return the fd and set the variable to -1. */
#define TAKE_FD(fd)                                     \
        ({                                              \
                int _pv_fd = (fd);                      \
                (fd) = -1;                              \
                _pv_fd;                                 \
        })

#define PV_ELEMENTSOF(a) (sizeof(a) / sizeof((a)[0]))

#endif
