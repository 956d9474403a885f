/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The cluster-wide apply lock: one pvfio at a time plans and writes a cluster.
 *
 * The lock is a Proxmox resource pool, PV_CLUSTER_LOCK_POOL, that holds no
 * members. `POST /pools` runs under pmxcfs's lock of user.cfg
 * (pve-manager PVE/API2/Pool.pm create_pool inside
 * PVE::AccessControl::lock_user_config), so of two pvfio processes creating it
 * at once exactly one succeeds, on any node; the other gets "pool … already
 * exists". The pool's comment names the holder:
 *
 *   pvfio apply lock: host=ws1 pid=4711 start=123456 since=1796000000 token=9f3a…
 *
 * (host name, pid and its start time in clock ticks, the UNIX time it was
 * taken, a random token). Creating and deleting it needs Pool.Allocate on
 * /pool/pvfio-lock, reading it Pool.Audit (PVEPoolAdmin has both).
 *
 * Stale locks: a lock whose holder ran on this host and is gone (pid dead or
 * reused) is taken over at once; one older than the stale age (default 6 h)
 * from another host too. Anything else is waited for (polling, up to the lock
 * timeout), then refused with who holds it and since when.
 */
#ifndef PVFIO_CLUSTERLOCK_H
#define PVFIO_CLUSTERLOCK_H

#include <stdbool.h>
#include <stdint.h>

#include "pvfio/api.h"
#include "pvfio/error.h"

#define PV_CLUSTER_LOCK_POOL "pvfio-lock"
#define PV_CLUSTER_LOCK_DEFAULT_TIMEOUT_S 300u
#define PV_CLUSTER_LOCK_DEFAULT_STALE_S (6u * 3600u)

/* Who holds (or wants) the lock. */
struct pv_lock_holder {
        char host[128];
        long pid;
        unsigned long long start;       /* process start time (clock ticks since boot), 0 = unknown */
        int64_t since;                  /* UNIX time the lock was taken */
        char token[33];
};

struct pv_cluster_lock_opts {
        struct pv_lock_holder self;     /* filled by the caller (cmd/): host, pid, start, since, token */
        unsigned timeout_s;             /* how long to wait for another holder; 0 = fail at once */
        unsigned stale_s;               /* 0 = PV_CLUSTER_LOCK_DEFAULT_STALE_S */
        /* Is process pid (started at `start`) still running on this host? */
        bool (*alive)(long pid, unsigned long long start);
        /* Called once when the lock is found held and will be waited for (for a message). */
        void (*waiting)(void *userdata, const struct pv_lock_holder *holder, unsigned timeout_s);
        /* Called when a stale lock is taken over. */
        void (*stale)(void *userdata, const struct pv_lock_holder *holder, const char *why);
        void *userdata;
        unsigned poll_ms;               /* between attempts while waiting; 0 = 1000 */
};

/* Take the lock (waiting up to timeout_s); release it with
 * pv_cluster_lock_release(). Errors name the holder ("another pvfio apply holds …"). */
int pv_cluster_lock_acquire(struct pv_api *api, const struct pv_cluster_lock_opts *o, struct pv_error *err);
/* Release the lock if it is still ours (the comment carries our token). */
int pv_cluster_lock_release(struct pv_api *api, const struct pv_lock_holder *self, struct pv_error *err);

/* The comment text for a holder, and back (false when it is not a pvfio lock comment). */
int pv_lock_holder_format(const struct pv_lock_holder *h, char **ret, struct pv_error *err);
bool pv_lock_holder_parse(const char *comment, struct pv_lock_holder *ret);

#endif
