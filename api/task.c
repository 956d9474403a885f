/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Tasks (UPIDs): status, log, and waiting with backoff and task-aware limits. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "pvfio/util.h"
#include "pvfio/xalloc.h"

#define LOG_FETCH_MAX 5000u     /* lines read to find the tail of a failed task */

static int task_path(const char *upid, const char *leaf, struct pv_upid *u, char **ret, struct pv_error *err) {
        int r = pv_upid_parse(upid, u, err);
        if (r < 0)
                return r;
        char *p = pv_api_path(err, "nodes", u->node, "tasks", upid, leaf, NULL);
        *ret = p;
        return 0;
}

int pv_api_task_status(struct pv_api *api, const char *upid, struct pv_task_status *ret, struct pv_error *err) {
        struct pv_upid u;
        _cleanup_free_ char *path = NULL;
        int r = task_path(upid, "status", &u, &path, err);
        json_t *d = NULL;
        if (r >= 0)
                r = pv_api_call(api, PV_API_GET, path, NULL, &d, err);
        if (r >= 0 && (r = pv_api_decode_task_status(d, ret, err)) < 0)
                pv_error_wrap(err, "GET %s", path);
        json_decref(d);
        return r;
}

int pv_api_task_log(struct pv_api *api, const char *upid, unsigned start, unsigned limit, struct pv_strv *ret_lines,
                    struct pv_error *err) {
        struct pv_upid u;
        _cleanup_free_ char *path = NULL;
        int r = task_path(upid, "log", &u, &path, err);
        struct pv_api_params p = PV_API_PARAMS_INIT;
        if (r >= 0)
                r = pv_api_params_add_uint(&p, "start", start, err);
        if (r >= 0)
                r = pv_api_params_add_uint(&p, "limit", limit, err);
        json_t *d = NULL;
        if (r >= 0)
                r = pv_api_call(api, PV_API_GET, path, &p, &d, err);
        if (r >= 0 && (r = pv_api_decode_task_log(d, ret_lines, err)) < 0)
                pv_error_wrap(err, "GET %s", path);
        json_decref(d);
        pv_api_params_done(&p);
        return r;
}

unsigned pv_api_task_timeout_ms(const char *type, unsigned base_ms, uint64_t memory_mib, bool has_pci) {
        uint64_t t = base_ms ? base_ms : PV_API_DEFAULT_TASK_TIMEOUT_MS;
        const char *ty = type ? type : "";
        if (!strcmp(ty, "qmstart") || !strcmp(ty, "hastart") || !strcmp(ty, "qmreboot") || !strcmp(ty, "qmresume")) {
                /* like qemu-server: big VMs need longer (1 s per GiB), PCI passthrough four times as long */
                uint64_t mem = memory_mib / 1024u * 1000u;
                if (mem > t)
                        t = mem;
                if (has_pci)
                        t *= 4;
        } else if (!strcmp(ty, "qmcreate") || !strcmp(ty, "qmrestore") || !strcmp(ty, "qmclone") ||
                   !strcmp(ty, "qmdestroy")) {
                t *= 3; /* disk allocation */
        } else if (!strcmp(ty, "qmshutdown") || !strcmp(ty, "hastop")) {
                t *= 2; /* the guest's own shutdown, then a stop */
        }
        return t > UINT32_MAX ? UINT32_MAX : (unsigned)t;
}

static void sleep_ms(unsigned ms) {
        struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

/*
 * The next sleep between status polls: ×1.5 up to the cap, so the time
 * between a task's end and the poll that sees it stays short (a mean of about
 * half the cap) while the number of polls stays small. A task that has run for
 * PV_TASK_POLL_LONG_MS is polled at 2% of its age (at most 1 s): a
 * three-minute shutdown does not cost thousands of requests.
 */
static unsigned next_poll_delay(unsigned delay, unsigned cap, uint64_t elapsed_ms) {
        uint64_t c = cap;
        if (elapsed_ms > PV_TASK_POLL_LONG_MS && elapsed_ms / 50 > c)
                c = elapsed_ms / 50 > 1000 ? 1000 : elapsed_ms / 50;
        uint64_t n = (uint64_t)delay + delay / 2;
        return (unsigned)(n > c ? c : n);
}

/* The log of a finished task (at most LOG_FETCH_MAX lines); NULL-safe on failure. */
static void fetch_log(struct pv_api *api, const char *upid, struct pv_strv *lines) {
        struct pv_error e = PV_ERROR_INIT;
        if (pv_api_task_log(api, upid, 0, LOG_FETCH_MAX, lines, &e) < 0)
                pv_log_debug(api->log, "api: cannot read the log of task '%s': %s", upid, pv_error_message(&e));
        pv_error_done(&e);
}

static bool is_status_line(const char *s) {
        return pv_startswith(s, "TASK OK") || pv_startswith(s, "TASK ERROR:") || pv_startswith(s, "TASK WARNINGS:");
}

char *pv_api_task_log_tail(const struct pv_strv *lines, unsigned n) {
        size_t end = lines->n;
        while (end > 0 && is_status_line(lines->v[end - 1]))
                end--;
        size_t from = end > n ? end - n : 0;
        if (from >= end)
                return NULL;
        struct pv_buf b = PV_BUF_INIT;
        int r = 0;
        for (size_t i = from; i < end && r >= 0; i++) {
                if (i > from)
                        r = pv_buf_adds(&b, " | ", NULL);
                if (r >= 0)
                        r = pv_buf_adds(&b, lines->v[i], NULL);
        }
        char *s = NULL;
        if (r >= 0 && pv_buf_detach(&b, &s, NULL, NULL) >= 0)
                pv_strip_trailing(s);
        pv_buf_release(&b);
        return s;
}

static int task_wait(struct pv_api *api, const char *upid, const struct pv_upid *up, const struct pv_task_wait *o,
                     struct pv_task_status *ret, struct pv_error *err) {
        const struct pv_upid u = *up;
        int r;
        unsigned limit = o->timeout_ms ? o->timeout_ms
                                       : pv_api_task_timeout_ms(u.type, api->task_timeout_ms, o->memory_mib, o->has_pci);
        unsigned delay = o->poll_initial_ms ? o->poll_initial_ms : PV_TASK_POLL_FIRST_MS;
        unsigned max_delay = o->poll_max_ms ? o->poll_max_ms : PV_TASK_POLL_CAP_MS;
        unsigned tail = o->log_tail ? o->log_tail : 8;
        _cleanup_free_ char *what = u.id[0] ? pv_xasprintf("task %s %s on '%s'", u.type, u.id, u.node)
                                            : pv_xasprintf("task %s on '%s'", u.type, u.node);
        uint64_t t0 = pv_api_now_ms();
        struct pv_task_status st = { 0 };
        /* a task just started is still running: the first poll after a short sleep, then backoff to the cap */
        sleep_ms(delay < limit ? delay : limit);
        for (;;) {
                pv_task_status_done(&st);
                r = o->board ? pv_task_board_poll(o->board, api, upid, delay, &st, err)
                             : pv_api_task_status(api, upid, &st, err);
                if (r < 0)
                        return pv_error_wrap(err, "while waiting for %s", what);
                uint64_t elapsed = pv_api_now_ms() - t0;
                if (o->progress)
                        o->progress(o->userdata, &st, (unsigned)elapsed);
                if (!st.running)
                        break;
                if (elapsed >= limit) {
                        pv_task_status_done(&st);
                        return pv_error_set(err, PV_ENET,
                                            "%s is still running after %u s (the limit for this task); it goes on "
                                            "on the server: follow it with 'pvfio api get /nodes/%s/tasks/%s/status'",
                                            what, limit / 1000, u.node, upid);
                }
                delay = next_poll_delay(delay, max_delay, elapsed);
                unsigned left = (unsigned)(limit - elapsed);
                if (o->board)
                        pv_task_board_sleep(o->board, upid, delay < left ? delay : left);
                else
                        sleep_ms(delay < left ? delay : left);
        }
        const char *exit = st.exitstatus ? st.exitstatus : "unexpected status";
        if (strcmp(exit, "OK") == 0) {
                r = 0;
        } else if (pv_startswith(exit, "WARNINGS")) {
                struct pv_strv lines = PV_STRV_INIT;
                fetch_log(api, upid, &lines);
                unsigned shown = 0;
                for (size_t i = 0; i < lines.n; i++)
                        if (pv_startswith(lines.v[i], "WARN")) {
                                pv_log_warning(api->log, "%s: %s", what, lines.v[i]);
                                shown++;
                        }
                if (!shown)
                        pv_log_warning(api->log, "%s finished with %s", what, exit);
                pv_strv_done(&lines);
                r = 0;
        } else {
                struct pv_strv lines = PV_STRV_INIT;
                fetch_log(api, upid, &lines);
                _cleanup_free_ char *log_tail = pv_api_task_log_tail(&lines, tail);
                _cleanup_free_ char *text = strdup(exit);
                if (text)
                        pv_strip_trailing(text);
                int code = strstr(exit, "is locked") || strstr(exit, "already running") || strstr(exit, "already exists")
                                   ? PV_ECONFLICT
                                   : PV_EHTTP;
                r = pv_error_set(err, code, "%s failed: %s%s%s", what, text ? text : exit, log_tail ? "; log: " : "",
                                 log_tail ? log_tail : "");
                pv_strv_done(&lines);
        }
        if (r >= 0 && ret)
                *ret = st;
        else
                pv_task_status_done(&st);
        return r;
}

int pv_api_task_wait(struct pv_api *api, const char *upid, const struct pv_task_wait *opts,
                     struct pv_task_status *ret, struct pv_error *err) {
        static const struct pv_task_wait defaults = { 0 };
        const struct pv_task_wait *o = opts ? opts : &defaults;
        struct pv_upid u;
        int r = pv_upid_parse(upid, &u, err);
        if (r < 0)
                return r;
        if (o->board)
                pv_task_board_join(o->board, upid, &u);
        r = task_wait(api, upid, &u, o, ret, err);
        if (o->board)
                pv_task_board_leave(o->board, upid);
        return r;
}
