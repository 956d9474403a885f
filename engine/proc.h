/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Running several external programs at once (the SSH sessions to other nodes):
 * posix_spawnp with an argv array (never a shell), input fed on stdin, stdout
 * and stderr collected into capped buffers, a per-process timeout, and at most
 * `parallel` processes alive at a time. Each process gets its own process
 * group so a timeout stops it with everything it started.
 */
#ifndef PVFIO_ENGINE_PROC_H
#define PVFIO_ENGINE_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "pvfio/buf.h"
#include "pvfio/error.h"

#define PV_PROC_OUT_CAP (16u * 1024 * 1024)
#define PV_PROC_ERR_CAP (64u * 1024)

struct pv_proc {
        /* in (borrowed for the run) */
        char *const *argv;              /* argv[0] is looked up in PATH */
        const char *input;              /* written to stdin, which is then closed; NULL = empty stdin */
        size_t input_len;
        unsigned timeout_ms;            /* 0 = none */
        size_t out_cap, err_cap;        /* 0 = PV_PROC_OUT_CAP / PV_PROC_ERR_CAP */
        /* out */
        struct pv_buf out, err;         /* what it wrote (release with pv_proc_done) */
        bool spawned;                   /* it ran (else spawn_errno says why not) */
        int spawn_errno;
        int status;                     /* waitpid() status once reaped */
        bool timed_out;                 /* killed at its timeout */
        bool too_much;                  /* killed: stdout or stderr exceeded its cap */
        uint64_t elapsed_ns;            /* from spawn to reaped */
        /* private */
        pid_t pid;
        int in_fd, out_fd, err_fd;
        size_t in_off;
        uint64_t start_ns, exit_ns;
        bool reaped, running;
};

/*
 * Run every process of procs[0..n) with at most `parallel` (0 = all) alive at once,
 * started in array order. Returns 0 when all ran to completion (check each one's
 * spawned/status/timed_out), <0 on an internal failure (out of memory, poll).
 */
int pv_proc_run_all(struct pv_proc *const *procs, size_t n, unsigned parallel, struct pv_error *err);

/* One line describing how a finished process ended: "exited with status 3", "killed by signal 9",
 * "timed out after 5 s", "could not be started: …". New string (NULL on ENOMEM). */
char *pv_proc_describe(const struct pv_proc *p);
/* True when it was spawned, was not killed, and exited with `code`. */
bool pv_proc_exited_with(const struct pv_proc *p, int code);
void pv_proc_done(struct pv_proc *p);

/* Monotonic clock in nanoseconds. */
uint64_t pv_now_ns(void);

#endif
