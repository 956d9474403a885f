/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The cluster-wide apply lock of one command: the holder's identity, taking and releasing (applylock.h). */
#include "applylock.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

/* Field 22 of /proc/PID/stat: the start time in clock ticks since boot (0 when unknown). */
static unsigned long long proc_start(long pid) {
        char path[64], buf[1024];
        snprintf(path, sizeof path, "/proc/%ld/stat", pid);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return 0;
        ssize_t n = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (n <= 0)
                return 0;
        buf[n] = '\0';
        const char *p = strrchr(buf, ')'); /* the command name may hold spaces */
        if (!p)
                return 0;
        p++;
        for (int field = 3; field < 22 && p; field++) {
                p = strchr(p + 1, ' ');
        }
        return p ? strtoull(p + 1, NULL, 10) : 0;
}

static bool pid_alive(long pid, unsigned long long start) {
        if (pid <= 0)
                return false;
        if (kill((pid_t)pid, 0) < 0 && errno == ESRCH)
                return false;
        /* the pid exists: is it still the same process (not a reused pid)? */
        unsigned long long now = proc_start(pid);
        return !(start && now && now != start);
}

static void format_since(int64_t since, char *out, size_t cap) {
        time_t t = (time_t)since;
        struct tm tm;
        if (!gmtime_r(&t, &tm) || !strftime(out, cap, "%Y-%m-%d %H:%M:%S UTC", &tm))
                snprintf(out, cap, "%" PRId64, since);
}

static void on_waiting(void *userdata, const struct pv_lock_holder *h, unsigned timeout_s) {
        char since[64];
        format_since(h->since, since, sizeof since);
        pv_engine_warn(userdata,
                       "another pvfio apply holds the cluster lock since %s, on host '%s' (pid %ld): waiting up to "
                       "%u s (--lock-timeout)",
                       since, h->host, h->pid, timeout_s);
}

static void on_stale(void *userdata, const struct pv_lock_holder *h, const char *why) {
        pv_engine_warn(userdata, "taking over the stale cluster lock of host '%s' (pid %ld): %s", h->host, h->pid, why);
}

static void fill_self(struct pv_lock_holder *self) {
        memset(self, 0, sizeof *self);
        if (gethostname(self->host, sizeof self->host - 1) < 0 || !self->host[0])
                snprintf(self->host, sizeof self->host, "unknown");
        for (char *c = self->host; *c; c++)
                if (*c == ' ' || *c == '=')
                        *c = '_';
        self->pid = (long)getpid();
        self->start = proc_start(self->pid);
        self->since = (int64_t)time(NULL);
        unsigned char rnd[16];
        if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) {
                uint64_t x = (uint64_t)self->since ^ ((uint64_t)self->pid << 32) ^ (uint64_t)clock();
                memcpy(rnd, &x, sizeof x);
                memcpy(rnd + 8, &x, sizeof x);
        }
        for (size_t i = 0; i < sizeof rnd; i++)
                snprintf(self->token + 2 * i, 3, "%02x", rnd[i]);
}

int pv_apply_lock_take(const struct pv_engine_events *ev, struct pv_api *api, struct pv_apply_lock *lock,
                       struct pv_error *err) {
        if (!lock->wanted || lock->held)
                return 0;
        struct pv_cluster_lock_opts o = {
                .timeout_s = lock->timeout_s,
                .alive = pid_alive,
                .waiting = on_waiting,
                .stale = on_stale,
                .userdata = (void *)ev,
        };
        fill_self(&o.self);
        int r = pv_cluster_lock_acquire(api, &o, err);
        if (r < 0)
                return r;
        lock->api = pv_api_ref(api);
        lock->self = o.self;
        lock->held = true;
        return 0;
}

void pv_apply_lock_release(const struct pv_engine_events *ev, struct pv_apply_lock *lock) {
        if (!lock || !lock->held)
                return;
        struct pv_error err = PV_ERROR_INIT;
        if (pv_cluster_lock_release(lock->api, &lock->self, &err) < 0)
                pv_engine_warn(ev, "could not release the cluster lock (the next run takes it over as stale): %s",
                               pv_error_message(&err));
        pv_error_done(&err);
        pv_api_unref(lock->api);
        lock->api = NULL;
        lock->held = false;
}
