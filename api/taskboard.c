/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Many tasks of one node polled in one request (pvfio/api.h struct pv_task_board):
 * the workers of the parallel executor wait for their own tasks, but while two or
 * more of them wait on one node, the one whose poll is due reads the node's task
 * list, GET /nodes/{node}/tasks?source=all&since=T&limit=N (pve-manager
 * PVE/API2/Tasks.pm node_tasks: active tasks first, their status 'RUNNING' until
 * they end, then the archive with each task's exit status), and settles every
 * waiting task of that node it finds stopped; the others see the answer and need
 * no request of their own. One task alone on its node is polled by its status, as
 * before. A task missing from the list (or a list that cannot be read) is polled by
 * its status too.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "pvfio/xalloc.h"

#define LIST_LIMIT 500u         /* tasks per list answer: the waiting ones are among the newest */

struct board_task {
        char *upid;
        char *node;
        uint32_t starttime;
        bool done;              /* seen stopped in a list */
        bool own;               /* not in the last list of its node: poll its status */
        char *exitstatus;       /* when done */
        uint64_t seen_ms;       /* when a list that covered it was asked for */
        uint64_t joined_ms;     /* when its waiter joined (a list asked for before may not know it) */
};

struct pv_task_board {
        pthread_mutex_t mu;
        pthread_cond_t settled;         /* a list answer settled some tasks: their waiters wake up at once */
        struct board_task *v;
        size_t n;
        struct board_node {
                char *node;
                bool polling;   /* a list request of this node is in flight */
                uint64_t asked_ms;
        } *nodes;
        size_t n_nodes;
        unsigned long list_polls, status_polls;
};

struct pv_task_board *pv_task_board_new(void) {
        struct pv_task_board *b = pv_xcalloc(1, sizeof *b);
        pthread_mutex_init(&b->mu, NULL);
        pthread_condattr_t ca;
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&b->settled, &ca);
        pthread_condattr_destroy(&ca);
        return b;
}

void pv_task_board_free(struct pv_task_board *b) {
        if (!b)
                return;
        for (size_t i = 0; i < b->n; i++) {
                free(b->v[i].upid);
                free(b->v[i].node);
                free(b->v[i].exitstatus);
        }
        for (size_t i = 0; i < b->n_nodes; i++)
                free(b->nodes[i].node);
        free(b->v);
        free(b->nodes);
        pthread_cond_destroy(&b->settled);
        pthread_mutex_destroy(&b->mu);
        free(b);
}

void pv_task_board_counts(struct pv_task_board *b, unsigned long *ret_list_polls, unsigned long *ret_status_polls) {
        pthread_mutex_lock(&b->mu);
        *ret_list_polls = b->list_polls;
        *ret_status_polls = b->status_polls;
        pthread_mutex_unlock(&b->mu);
}

static struct board_task *find_task(struct pv_task_board *b, const char *upid) {
        for (size_t i = 0; i < b->n; i++)
                if (strcmp(b->v[i].upid, upid) == 0)
                        return &b->v[i];
        return NULL;
}

static struct board_node *find_node(struct pv_task_board *b, const char *node) {
        for (size_t i = 0; i < b->n_nodes; i++)
                if (strcmp(b->nodes[i].node, node) == 0)
                        return &b->nodes[i];
        b->nodes = pv_xreallocarray(b->nodes, b->n_nodes + 1, sizeof *b->nodes);
        b->nodes[b->n_nodes] = (struct board_node){ .node = pv_xstrdup(node) };
        return &b->nodes[b->n_nodes++];
}

/* Waiting tasks of node (not settled yet), and the oldest start time among them. */
static size_t waiting_on(const struct pv_task_board *b, const char *node, uint32_t *ret_since) {
        size_t n = 0;
        uint32_t since = UINT32_MAX;
        for (size_t i = 0; i < b->n; i++)
                if (!b->v[i].done && strcmp(b->v[i].node, node) == 0) {
                        n++;
                        if (b->v[i].starttime < since)
                                since = b->v[i].starttime;
                }
        *ret_since = since;
        return n;
}

void pv_task_board_join(struct pv_task_board *b, const char *upid, const struct pv_upid *u) {
        pthread_mutex_lock(&b->mu);
        if (!find_task(b, upid)) {
                b->v = pv_xreallocarray(b->v, b->n + 1, sizeof *b->v);
                b->v[b->n++] = (struct board_task){ .upid = pv_xstrdup(upid), .node = pv_xstrdup(u->node),
                                                    .starttime = u->starttime, .joined_ms = pv_api_now_ms() };
        }
        pthread_mutex_unlock(&b->mu);
}

void pv_task_board_leave(struct pv_task_board *b, const char *upid) {
        pthread_mutex_lock(&b->mu);
        struct board_task *t = find_task(b, upid);
        if (t) {
                free(t->upid);
                free(t->node);
                free(t->exitstatus);
                *t = b->v[--b->n];
        }
        pthread_mutex_unlock(&b->mu);
}

/* Settle the waiting tasks of node from one list answer (under the lock). */
static void take_list(struct pv_task_board *b, const char *node, const json_t *list, uint64_t asked_ms) {
        for (size_t i = 0; i < b->n; i++) {
                struct board_task *t = &b->v[i];
                if (t->done || strcmp(t->node, node) != 0)
                        continue;
                const json_t *hit = NULL, *e;
                size_t k;
                json_array_foreach(list, k, e) {
                        const char *u = json_string_value(json_object_get(e, "upid"));
                        if (u && strcmp(u, t->upid) == 0) {
                                hit = e;
                                break;
                        }
                }
                if (!hit) {
                        /* not listed though it was started before the list was asked for (beyond the
                         * limit?): its own status tells */
                        if (t->joined_ms <= asked_ms)
                                t->own = true;
                        continue;
                }
                t->seen_ms = asked_ms;
                const char *st = json_string_value(json_object_get(hit, "status"));
                if (st && strcmp(st, "OK") == 0) {
                        t->done = true;
                        t->exitstatus = pv_xstrdup(st);
                } else if (st && strcmp(st, "RUNNING") != 0) {
                        t->own = true; /* ended otherwise: the task's own status and log give the details */
                }
        }
}

/* GET the task list of node (no lock held); NULL on failure (then the waiters poll their own status). */
static json_t *read_list(struct pv_api *api, const char *node, uint32_t since) {
        struct pv_error e = PV_ERROR_INIT;
        struct pv_api_params p = PV_API_PARAMS_INIT;
        json_t *d = NULL;
        char *path = pv_api_path(&e, "nodes", node, "tasks", NULL);
        int r = pv_api_params_add(&p, "source", "all", &e);
        if (r >= 0)
                r = pv_api_params_add_uint(&p, "since", since, &e);
        if (r >= 0)
                r = pv_api_params_add_uint(&p, "limit", LIST_LIMIT, &e);
        if (r >= 0)
                r = pv_api_call(api, PV_API_GET, path, &p, &d, &e);
        if (r >= 0 && !json_is_array(d)) {
                json_decref(d);
                d = NULL;
        }
        if (!d)
                pv_log_debug(api->log, "api: cannot read the task list of '%s' (%s): polling each task",
                             node, e.code ? pv_error_message(&e) : "not a list");
        pv_api_params_done(&p);
        pv_error_done(&e);
        free(path);
        return d;
}

void pv_task_board_sleep(struct pv_task_board *b, const char *upid, unsigned ms) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += ms / 1000u;
        until.tv_nsec += (long)(ms % 1000u) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000L;
        }
        pthread_mutex_lock(&b->mu);
        for (;;) {
                const struct board_task *t = find_task(b, upid);
                if (!t || t->done || t->own)
                        break;
                if (pthread_cond_timedwait(&b->settled, &b->mu, &until) != 0)
                        break; /* the time is up (or an error: poll now) */
        }
        pthread_mutex_unlock(&b->mu);
}

int pv_task_board_poll(struct pv_task_board *b, struct pv_api *api, const char *upid, unsigned fresh_ms,
                       struct pv_task_status *ret, struct pv_error *err) {
        pthread_mutex_lock(&b->mu);
        struct board_task *t = find_task(b, upid);
        for (;;) {
                if (!t || t->own)
                        break;
                if (t->done) {
                        *ret = (struct pv_task_status){ .upid = pv_xstrdup(t->upid), .node = pv_xstrdup(t->node),
                                                        .exitstatus = pv_xstrdup(t->exitstatus) };
                        pthread_mutex_unlock(&b->mu);
                        return 0;
                }
                uint32_t since;
                if (waiting_on(b, t->node, &since) < 2)
                        break; /* alone on its node: its status costs as much as the list */
                struct board_node *n = find_node(b, t->node);
                uint64_t now = pv_api_now_ms();
                if (n->polling || (t->seen_ms && now - t->seen_ms < fresh_ms)) {
                        /* another worker asks (or just asked) for this node: that answer is ours too */
                        pthread_mutex_unlock(&b->mu);
                        *ret = (struct pv_task_status){ .upid = pv_xstrdup(upid), .running = true };
                        return 0;
                }
                n->polling = true;
                n->asked_ms = now;
                b->list_polls++;
                char *node = pv_xstrdup(t->node);
                pthread_mutex_unlock(&b->mu);
                json_t *list = read_list(api, node, since);
                pthread_mutex_lock(&b->mu);
                n = find_node(b, node);
                n->polling = false;
                if (list)
                        take_list(b, node, list, now);
                else
                        for (size_t i = 0; i < b->n; i++)
                                if (strcmp(b->v[i].node, node) == 0)
                                        b->v[i].own = true;
                pthread_cond_broadcast(&b->settled);
                json_decref(list);
                free(node);
                t = find_task(b, upid);
                if (t && !t->done && !t->own) {
                        pthread_mutex_unlock(&b->mu);
                        *ret = (struct pv_task_status){ .upid = pv_xstrdup(upid), .running = true };
                        return 0;
                }
        }
        b->status_polls++;
        pthread_mutex_unlock(&b->mu);
        return pv_api_task_status(api, upid, ret, err);
}
