/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The cluster-wide apply lock: an empty resource pool that Proxmox creates atomically (clusterlock.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "pvfio/clusterlock.h"
#include "pvfio/xalloc.h"

#define COMMENT_PREFIX "pvfio apply lock:"

int pv_lock_holder_format(const struct pv_lock_holder *h, char **ret, struct pv_error *err) {
        (void)err;      /* allocation does not fail (pvfio/xalloc.h) */
        *ret = pv_xasprintf(COMMENT_PREFIX " host=%s pid=%ld start=%llu since=%" PRId64 " token=%s", h->host, h->pid,
                            h->start, h->since, h->token);
        return 0;
}

static bool field(const char *s, const char *key, char *out, size_t cap) {
        size_t kl = strlen(key);
        for (const char *p = s; (p = strstr(p, key)); p += kl) {
                if ((p != s && p[-1] != ' ') || p[kl] != '=')
                        continue;
                const char *v = p + kl + 1;
                size_t n = strcspn(v, " ");
                if (n == 0 || n >= cap)
                        return false;
                memcpy(out, v, n);
                out[n] = '\0';
                return true;
        }
        return false;
}

bool pv_lock_holder_parse(const char *comment, struct pv_lock_holder *ret) {
        struct pv_lock_holder h;
        memset(&h, 0, sizeof h);
        char num[32];
        char *end;
        if (!comment || strncmp(comment, COMMENT_PREFIX, strlen(COMMENT_PREFIX)) != 0)
                return false;
        if (!field(comment, "host", h.host, sizeof h.host) || !field(comment, "token", h.token, sizeof h.token))
                return false;
        if (!field(comment, "pid", num, sizeof num) || (h.pid = strtol(num, &end, 10)) <= 0 || *end)
                return false;
        if (field(comment, "start", num, sizeof num)) {
                errno = 0;
                h.start = strtoull(num, &end, 10);
                if (errno || *end)
                        h.start = 0;
        }
        if (!field(comment, "since", num, sizeof num) || (h.since = strtoll(num, &end, 10)) <= 0 || *end)
                return false;
        *ret = h;
        return true;
}

static void format_since(int64_t since, char *out, size_t cap) {
        time_t t = (time_t)since;
        struct tm tm;
        if (!gmtime_r(&t, &tm) || strftime(out, cap, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
                snprintf(out, cap, "%" PRId64, since);
}

/* The pool's comment, or NULL (no such pool, or another error in *err). *ret_exists says which. */
static int read_comment(struct pv_api *api, char **ret, bool *ret_exists, struct pv_error *err) {
        struct pv_api_params p = PV_API_PARAMS_INIT;
        json_t *data = NULL;
        struct pv_error e = PV_ERROR_INIT;
        int r = pv_api_params_add(&p, "poolid", PV_CLUSTER_LOCK_POOL, err);
        if (r >= 0)
                r = pv_api_call(api, PV_API_GET, "/pools", &p, &data, &e);
        pv_api_params_done(&p);
        *ret = NULL;
        *ret_exists = false;
        if (r < 0) {
                if (e.http_status == 500 && strstr(pv_error_message(&e), "does not exist")) {
                        pv_error_done(&e);
                        return 0;
                }
                pv_error_move(err, &e);
                return r;
        }
        json_t *first = json_is_array(data) ? json_array_get(data, 0) : NULL;
        json_t *c = json_object_get(first, "comment");
        *ret_exists = first != NULL;
        if (json_is_string(c))
                *ret = pv_xstrdup(json_string_value(c));
        json_decref(data);
        return 0;
}

/* Verifier of an uncertain create: the pool is there with our comment. */
struct verify_ctx {
        const char *comment;
};

static int verify_created(struct pv_api *api, void *userdata, json_t **ret_data, struct pv_error *err) {
        struct verify_ctx *v = userdata;
        char *c = NULL;
        bool exists;
        int r = read_comment(api, &c, &exists, err);
        if (r < 0)
                return r;
        bool ours = exists && c && strcmp(c, v->comment) == 0;
        free(c);
        if (ret_data)
                *ret_data = json_null();
        return ours ? 1 : 0;
}

/* 1 taken, 0 held by someone else, <0 error. */
static int try_create(struct pv_api *api, const char *comment, struct pv_error *err) {
        struct pv_api_params p = PV_API_PARAMS_INIT;
        struct pv_error e = PV_ERROR_INIT;
        struct verify_ctx v = { .comment = comment };
        int r = pv_api_params_add(&p, "poolid", PV_CLUSTER_LOCK_POOL, err);
        if (r >= 0)
                r = pv_api_params_add(&p, "comment", comment, err);
        if (r >= 0)
                r = pv_api_call_verified(api, PV_API_POST, "/pools", &p, verify_created, &v, NULL, &e);
        pv_api_params_done(&p);
        if (r >= 0)
                return 1;
        if (e.http_status == 500 && strstr(pv_error_message(&e), "already exists")) {
                pv_error_done(&e);
                return 0;
        }
        if (e.http_status == 403)
                pv_error_wrap(&e, "cannot take the cluster-wide apply lock (the resource pool '" PV_CLUSTER_LOCK_POOL
                                  "'): grant Pool.Allocate and Pool.Audit on /pool/" PV_CLUSTER_LOCK_POOL
                                  " (e.g. pveum acl modify /pool/" PV_CLUSTER_LOCK_POOL
                                  " --tokens USER@REALM!TOKEN --roles PVEPoolAdmin), or run with --no-lock at your "
                                  "own risk");
        else
                pv_error_wrap(&e, "cannot take the cluster-wide apply lock");
        pv_error_move(err, &e);
        return -err->code;
}

static int delete_pool(struct pv_api *api, struct pv_error *err) {
        struct pv_api_params p = PV_API_PARAMS_INIT;
        struct pv_error e = PV_ERROR_INIT;
        int r = pv_api_params_add(&p, "poolid", PV_CLUSTER_LOCK_POOL, err);
        if (r >= 0)
                r = pv_api_call(api, PV_API_DELETE, "/pools", &p, NULL, &e);
        pv_api_params_done(&p);
        if (r < 0 && e.http_status == 500 && strstr(pv_error_message(&e), "does not exist"))
                r = 0; /* gone already: fine */
        if (r < 0)
                pv_error_move(err, &e);
        pv_error_done(&e);
        return r;
}

/* Why a holder is stale, or NULL while it may still be working. */
static const char *stale_reason(const struct pv_cluster_lock_opts *o, const struct pv_lock_holder *h) {
        unsigned stale_s = o->stale_s ? o->stale_s : PV_CLUSTER_LOCK_DEFAULT_STALE_S;
        if (strcmp(h->host, o->self.host) == 0 && o->alive && !o->alive(h->pid, h->start))
                return "its process is gone";
        if (o->self.since > h->since && (uint64_t)(o->self.since - h->since) > stale_s)
                return "it is older than the stale age";
        return NULL;
}

static void sleep_ms(unsigned ms) {
        struct timespec ts = { .tv_sec = ms / 1000u, .tv_nsec = (long)(ms % 1000u) * 1000000L };
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
        }
}

int pv_cluster_lock_acquire(struct pv_api *api, const struct pv_cluster_lock_opts *o, struct pv_error *err) {
        char *comment = NULL;
        int r = pv_lock_holder_format(&o->self, &comment, err);
        if (r < 0)
                return r;
        uint64_t start = pv_api_now_ms();
        bool announced = false;
        for (;;) {
                r = try_create(api, comment, err);
                if (r != 0)
                        break;
                /* held: by whom? */
                char *c = NULL;
                bool exists = false;
                r = read_comment(api, &c, &exists, err);
                if (r < 0)
                        break;
                if (!exists) {
                        free(c);
                        continue; /* released in between: try again at once */
                }
                struct pv_lock_holder h;
                bool parsed = pv_lock_holder_parse(c, &h);
                const char *why = parsed ? stale_reason(o, &h) : NULL;
                if (why) {
                        /* still the same stale comment? then remove it and race for the create */
                        char *again = NULL;
                        bool still = false;
                        r = read_comment(api, &again, &still, err);
                        bool same = r >= 0 && still && again && strcmp(again, c) == 0;
                        free(again);
                        if (r >= 0 && same) {
                                if (o->stale)
                                        o->stale(o->userdata, &h, why);
                                r = delete_pool(api, err);
                        }
                        free(c);
                        if (r < 0)
                                break;
                        continue;
                }
                uint64_t waited = pv_api_now_ms() - start;
                if (waited >= (uint64_t)o->timeout_s * 1000u) {
                        char since[64] = "an unknown time";
                        if (parsed) {
                                format_since(h.since, since, sizeof since);
                                r = pv_error_set(err, PV_ECONFLICT,
                                                 "another pvfio apply holds the cluster lock since %s, on host '%s' "
                                                 "(pid %ld); gave up after %u s (--lock-timeout): if no pvfio runs "
                                                 "there any more, remove the resource pool '" PV_CLUSTER_LOCK_POOL
                                                 "' (pvesh delete /pools --poolid " PV_CLUSTER_LOCK_POOL ")",
                                                 since, h.host, h.pid, o->timeout_s);
                        } else {
                                r = pv_error_set(err, PV_ECONFLICT,
                                                 "the resource pool '" PV_CLUSTER_LOCK_POOL
                                                 "' exists but was not made by pvfio (comment '%s'); pvfio uses it "
                                                 "as its cluster-wide apply lock: remove or rename that pool",
                                                 c ? c : "");
                        }
                        free(c);
                        break;
                }
                if (!announced && o->waiting && parsed) {
                        o->waiting(o->userdata, &h, o->timeout_s);
                        announced = true;
                }
                free(c);
                unsigned poll = o->poll_ms ? o->poll_ms : 1000u;
                uint64_t left = (uint64_t)o->timeout_s * 1000u - waited;
                sleep_ms(left < poll ? (unsigned)left : poll);
        }
        free(comment);
        return r < 0 ? r : 0;
}

int pv_cluster_lock_release(struct pv_api *api, const struct pv_lock_holder *self, struct pv_error *err) {
        char *c = NULL;
        bool exists = false;
        int r = read_comment(api, &c, &exists, err);
        if (r < 0)
                return r;
        struct pv_lock_holder h;
        bool ours = exists && pv_lock_holder_parse(c, &h) && strcmp(h.token, self->token) == 0;
        free(c);
        if (!ours)
                return 0; /* taken over as stale, or removed by hand: not ours to delete */
        return delete_pool(api, err);
}
