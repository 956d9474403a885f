/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What the API executor's pieces share: exec.c (the actions) and exec_graph.c (the graph). */
#ifndef PVFIO_API_EXEC_INT_H
#define PVFIO_API_EXEC_INT_H

#include <pthread.h>
#include <stdint.h>

#include "pvfio/apiexec.h"
#include "internal.h"

/* vmids handed out during one run (parallel creates must not pick each other's). */
struct vmid_pool {
        pthread_mutex_t mu;
        uint32_t *ids;
        size_t n, alloc;
};

/* What one worker (a thread with its own session, or the caller) carries through its actions. */
struct worker {
        struct pv_api *api;
        const struct pv_api_exec_opts *o;
        struct vmid_pool *pool;
        uint32_t prealloc;              /* CREATE_VM with vmid 0: the id reserved for it, 0 = none */
        unsigned long writes;           /* write requests sent */
        unsigned long tasks, polls;     /* tasks waited for, status polls */
        struct pv_task_board *board;    /* shared by the workers (parallel runs), or NULL */
};

/* Reserve id, or the next one no other create of this run holds (without a pool: id itself). */
uint32_t pvx_pool_take(struct vmid_pool *p, uint32_t id);
void pvx_free_vm_infos(struct pv_vm_info *v, size_t n);
/* Run one cluster action on w's session. */
int pvx_run_one(struct pv_api *api, struct pv_action *a, struct worker *w, struct pv_error *err);

#endif
