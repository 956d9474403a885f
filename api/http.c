/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The session: configuration checks, the handle and its references, auth
 * (API token, or ticket + CSRF token with renewal) and the public calls that
 * run requests through the transfer engine of http_transfer.c (libcurl multi,
 * bounded concurrency, keep-alive pool, retries, the debug trace).
 */
#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "pvfio/util.h"
#include "pvfio/xalloc.h"

uint64_t pv_api_now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---------------------------------------------------------------- session */

int pv_api_url_normalize(const char *in, char **ret, struct pv_error *err) {
        if (!in || !*in)
                return pv_error_set(err, PV_EINVAL, "no API URL given: set cluster.api or --url https://HOST:8006");
        if (strncasecmp(in, "https://", 8) != 0)
                return pv_error_set(err, PV_EINVAL,
                                    "API URL '%s' must start with https:// (e.g. https://pve1:8006): the API carries "
                                    "passwords and tickets",
                                    in);
        for (const char *p = in; *p; p++)
                if (isspace((unsigned char)*p) || *p == '?' || *p == '#' || (unsigned char)*p < 0x20)
                        return pv_error_set(err, PV_EINVAL, "API URL '%s' must be https://HOST[:PORT] only", in);
        const char *host = in + 8;
        size_t alen = strcspn(host, "/");
        if (alen == 0 || *host == ':')
                return pv_error_set(err, PV_EINVAL, "API URL '%s' has no host name", in);
        if (memchr(host, '@', alen))
                /* not echoed: it may hold a password */
                return pv_error_set(err, PV_EINVAL,
                                    "the API URL must not contain user information (USER[:PASSWORD]@HOST): "
                                    "credentials go in the auth settings");
        bool has_port;
        if (*host == '[') {
                const char *close = memchr(host, ']', alen);
                if (!close)
                        return pv_error_set(err, PV_EINVAL, "API URL '%s' has an unterminated IPv6 address", in);
                has_port = close + 1 < host + alen && close[1] == ':';
        } else {
                has_port = memchr(host, ':', alen) != NULL;
        }
        /* the path after the authority, without trailing slashes and /api2/json */
        const char *path = host + alen;
        size_t plen = strlen(path);
        while (plen > 0 && path[plen - 1] == '/')
                plen--;
        if (plen >= 10 && strncmp(path + plen - 10, "/api2/json", 10) == 0)
                plen -= 10;
        while (plen > 0 && path[plen - 1] == '/')
                plen--;
        *ret = pv_xasprintf("https://%.*s%s%.*s", (int)alen, host, has_port ? "" : ":8006", (int)plen, path);
        return 0;
}

static bool has_crlf(const char *s) {
        return s && strpbrk(s, "\r\n") != NULL;
}

/*
 * The share handle (DNS cache, TLS sessions) may be used by the executor's worker sessions on
 * their threads too (pv_api_clone), so it is locked: one mutex per kind of shared data.
 */
static pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];
static pthread_once_t share_locks_once = PTHREAD_ONCE_INIT;

static void share_locks_init(void) {
        for (size_t i = 0; i < CURL_LOCK_DATA_LAST; i++)
                pthread_mutex_init(&share_locks[i], NULL);
}

static void share_lock(CURL *easy, curl_lock_data data, curl_lock_access access, void *userptr) {
        (void)easy, (void)access, (void)userptr;
        if ((unsigned)data < CURL_LOCK_DATA_LAST)
                pthread_mutex_lock(&share_locks[data]);
}

static void share_unlock(CURL *easy, curl_lock_data data, void *userptr) {
        (void)easy, (void)userptr;
        if ((unsigned)data < CURL_LOCK_DATA_LAST)
                pthread_mutex_unlock(&share_locks[data]);
}

static void api_free(struct pv_api *api) {
        if (api->multi)
                curl_multi_cleanup(api->multi);
        if (api->share && !api->share_borrowed)
                curl_share_cleanup(api->share);
        if (api->multi || api->share)
                curl_global_cleanup();
        free(api->url);
        free(api->base);
        free(api->principal);
        pv_secret_free(api->secret);
        free(api->secret_source);
        free(api->ca_file);
        pv_api_tls_release(api);
        pv_secret_free(api->ticket);
        pv_secret_free(api->csrf);
        free(api);
}

static int check_config(const struct pv_api_config *cfg, struct pv_error *err) {
        const char *src = cfg->secret_source ? cfg->secret_source : "the configured secret";
        switch (cfg->auth) {
        case PV_AUTH_TOKEN:
                if (!cfg->token_id || !strchr(cfg->token_id, '@') || !strchr(cfg->token_id, '!') ||
                    strchr(cfg->token_id, '=') || has_crlf(cfg->token_id) || strchr(cfg->token_id, ' '))
                        return pv_error_set(err, PV_EINVAL,
                                            "API token id '%s' must look like USER@REALM!TOKENID (e.g. "
                                            "'root@pam!pvfio')",
                                            cfg->token_id ? cfg->token_id : "");
                if (!cfg->secret || !*cfg->secret)
                        return pv_error_set(err, PV_EINVAL, "the secret of API token '%s' is empty (%s)",
                                            cfg->token_id, src);
                break;
        case PV_AUTH_PASSWORD:
                if (!cfg->user || !strchr(cfg->user, '@') || has_crlf(cfg->user))
                        return pv_error_set(err, PV_EINVAL, "user '%s' must look like USER@REALM (e.g. 'root@pam')",
                                            cfg->user ? cfg->user : "");
                if (!cfg->secret || !*cfg->secret)
                        return pv_error_set(err, PV_EINVAL, "the password of '%s' is empty (%s)", cfg->user, src);
                break;
        default:
                return pv_error_set(err, PV_EINVAL,
                                    "no API credentials configured: use an API token (token_id + secret) or a "
                                    "password login (user + password)");
        }
        if (has_crlf(cfg->secret))
                return pv_error_set(err, PV_EINVAL, "the secret from %s contains a line break", src);
        return 0;
}

int pv_api_new(const struct pv_api_config *cfg, struct pv_api **ret, struct pv_error *err) {
        int r = check_config(cfg, err);
        if (r < 0)
                return r;
        struct pv_api *api = pv_xcalloc(1, sizeof *api);
        api->refs = 1;
        r = pv_api_url_normalize(cfg->url, &api->url, err);
        if (r < 0)
                goto fail;
        api->base = pv_xasprintf("%s/api2/json", api->url);
        if (cfg->fingerprint) {
                r = pv_api_fingerprint_normalize(cfg->fingerprint, api->pin_text, err);
                if (r < 0)
                        goto fail;
                /* back to bytes for the constant-time comparison */
                for (size_t i = 0; i < 32; i++)
                        api->pin[i] = (unsigned char)strtoul((char[3]){ api->pin_text[i * 3], api->pin_text[i * 3 + 1], 0 },
                                                             NULL, 16);
                api->has_pin = true;
        }
        api->auth = cfg->auth;
        api->principal = pv_xstrdup(cfg->auth == PV_AUTH_TOKEN ? cfg->token_id : cfg->user);
        api->secret = pv_xstrdup(cfg->secret);
        api->secret_source = pv_xstrdup(cfg->secret_source);
        api->ca_file = pv_xstrdup(cfg->ca_file);
        api->insecure = cfg->insecure;
        api->parallel = cfg->parallel ? cfg->parallel : PV_API_DEFAULT_PARALLEL;
        if (api->parallel > PV_API_MAX_PARALLEL)
                api->parallel = PV_API_MAX_PARALLEL;
        api->connect_timeout_ms = cfg->connect_timeout_ms ? cfg->connect_timeout_ms : PV_API_DEFAULT_CONNECT_TIMEOUT_MS;
        api->timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : PV_API_DEFAULT_TIMEOUT_MS;
        api->body_cap = cfg->body_cap ? cfg->body_cap : PV_API_DEFAULT_BODY_CAP;
        api->max_attempts = cfg->max_attempts ? cfg->max_attempts : PV_API_DEFAULT_ATTEMPTS;
        api->read_attempts = cfg->max_attempts;
        api->retry_ms = cfg->retry_ms ? cfg->retry_ms : PV_API_DEFAULT_RETRY_MS;
        api->backoff_ms = cfg->backoff_ms ? cfg->backoff_ms : PV_API_DEFAULT_BACKOFF_MS;
        api->backoff_max_ms = cfg->backoff_max_ms ? cfg->backoff_max_ms : PV_API_DEFAULT_BACKOFF_MAX_MS;
        api->ticket_renew_s = cfg->ticket_renew_s ? cfg->ticket_renew_s : PV_API_DEFAULT_TICKET_RENEW_S;
        api->task_timeout_ms = cfg->task_timeout_ms ? cfg->task_timeout_ms : PV_API_DEFAULT_TASK_TIMEOUT_MS;
        api->log = cfg->log;
        api->rng = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)api ^ pv_api_now_ms();
        if (!api->rng)
                api->rng = 0x9E3779B97F4A7C15ULL;

        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
                r = pv_error_set(err, PV_ENOMEM, "cannot initialise libcurl");
                goto fail;
        }
        api->multi = curl_multi_init();
        api->share = curl_share_init();
        if (!api->multi || !api->share) {
                r = pv_error_set(err, PV_ENOMEM, "out of memory");
                goto fail;
        }
        curl_multi_setopt(api->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)api->parallel);
        curl_multi_setopt(api->multi, CURLMOPT_MAXCONNECTS, (long)api->parallel + 4);
        curl_multi_setopt(api->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
        pthread_once(&share_locks_once, share_locks_init);
        curl_share_setopt(api->share, CURLSHOPT_LOCKFUNC, share_lock);
        curl_share_setopt(api->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
        curl_share_setopt(api->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
        curl_share_setopt(api->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
        *ret = api;
        return 0;
fail:
        api_free(api);
        return r;
}

struct pv_api *pv_api_ref(struct pv_api *api) {
        if (api)
                api->refs++;
        return api;
}

void pv_api_unref(struct pv_api *api) {
        if (!api || --api->refs > 0)
                return;
        api_free(api);
}

void pv_api_get_stats(const struct pv_api *api, struct pv_api_stats *ret) {
        *ret = api->stats;
}

const char *pv_api_url(const struct pv_api *api) {
        return api->url;
}

void pv_api_auth_info(const struct pv_api *api, struct pv_api_auth_info *ret) {
        *ret = (struct pv_api_auth_info){
                .kind = api->auth,
                .principal = api->principal,
                .secret_source = api->secret_source,
                .url = api->url,
        };
}

/* ------------------------------------------------------------------ auth */

int pv_api_ensure_ticket(struct pv_api *api, bool force, struct pv_error *err) {
        if (api->auth != PV_AUTH_PASSWORD)
                return 0;
        uint64_t now = pv_api_now_ms();
        if (!force && api->ticket && now - api->ticket_ms < (uint64_t)api->ticket_renew_s * 1000u)
                return 0;
        /* renew by posting the current ticket as the password; fall back to the password itself */
        bool renew = api->ticket && !force;
        for (;;) {
                struct pv_api_params p = PV_API_PARAMS_INIT;
                int rc = pv_api_params_add(&p, "username", api->principal, err);
                if (rc >= 0)
                        rc = pv_api_params_add(&p, "password", renew ? api->ticket : api->secret, err);
                if (rc < 0) {
                        pv_api_params_done(&p);
                        return rc;
                }
                struct pv_api_req req = {
                        .method = PV_API_POST,
                        .path = "/access/ticket",
                        .params = &p,
                        .no_auth = true,
                        .idempotent = true, /* a login changes nothing: safe to send again */
                };
                struct pv_api_req *rp = &req;
                pv_log_debug(api->log, "api: %s ticket for '%s'", renew ? "renewing the" : "logging in for a",
                             api->principal);
                pv_api_run(api, &rp, 1);
                pv_api_params_done(&p);
                api->stats.logins++;
                if (req.err.code) {
                        if (renew && req.status == 401) {
                                pv_api_req_done(&req);
                                renew = false;
                                continue;
                        }
                        pv_error_move(err, &req.err);
                        pv_api_req_done(&req);
                        return -err->code;
                }
                json_t *t = json_object_get(req.data, "ticket");
                json_t *c = json_object_get(req.data, "CSRFPreventionToken");
                if (!json_is_string(t) || !json_is_string(c) || has_crlf(json_string_value(t)) ||
                    has_crlf(json_string_value(c))) {
                        pv_api_req_done(&req);
                        return pv_error_set(err, PV_EINVAL,
                                            "POST /access/ticket: the answer of '%s' has no usable ticket and CSRF "
                                            "token",
                                            api->url);
                }
                char *ticket = pv_xstrdup(json_string_value(t)), *csrf = pv_xstrdup(json_string_value(c));
                pv_api_req_done(&req);
                pv_secret_free(api->ticket);
                pv_secret_free(api->csrf);
                api->ticket = ticket;
                api->csrf = csrf;
                api->ticket_ms = now;
                return 0;
        }
}

/* ------------------------------------------------------------ public calls */

/* A path is a path: parameters go in `params`, where the trace and the messages can redact them. */
static int check_path(const char *path, struct pv_error *err) {
        if (!path || path[0] != '/')
                return pv_error_set(err, PV_EINVAL, "API path '%s' must start with '/' (e.g. /nodes)", path ? path : "");
        if (strpbrk(path, "?#"))
                /* not echoed: a query string may carry a password */
                return pv_error_set(err, PV_EINVAL,
                                    "an API path must not contain '?' or '#': give query parameters as KEY=VALUE");
        return 0;
}

static int call(struct pv_api *api, enum pv_api_method m, const char *path, const struct pv_api_params *params,
                pv_api_verify_fn verify, void *userdata, json_t **ret_data, struct pv_error *err) {
        int rc0 = check_path(path, err);
        if (rc0 < 0)
                return rc0;
        bool relogged = false;
        unsigned checks = 0;
        for (;;) {
                int rc = pv_api_ensure_ticket(api, false, err);
                if (rc < 0)
                        return rc;
                struct pv_api_req req = {
                        .method = m,
                        .path = path,
                        .params = params,
                        .idempotent = m == PV_API_GET,
                };
                struct pv_api_req *rp = &req;
                pv_api_run(api, &rp, 1);
                if (!req.err.code) {
                        if (ret_data)
                                *ret_data = TAKE_PTR(req.data);
                        pv_api_req_done(&req);
                        return 0;
                }
                if (req.auth_failed && !relogged) {
                        /* the ticket was refused (expired, server restarted): log in again once */
                        relogged = true;
                        pv_api_req_done(&req);
                        rc = pv_api_ensure_ticket(api, true, err);
                        if (rc < 0)
                                return rc;
                        continue;
                }
                if (req.verdict == PV_API_UNCERTAIN && verify && checks + 1 < api->max_attempts) {
                        checks++;
                        json_t *vdata = NULL;
                        struct pv_error verr = PV_ERROR_INIT;
                        int v = verify(api, userdata, &vdata, &verr);
                        if (v > 0) {
                                pv_log_info(api->log, "%s %s: the answer was lost, but the change is in place",
                                            pv_api_method_name(m), path);
                                if (ret_data)
                                        *ret_data = vdata ? vdata : json_null();
                                else
                                        json_decref(vdata);
                                pv_api_req_done(&req);
                                return 0;
                        }
                        json_decref(vdata);
                        if (v == 0) {
                                pv_log_warning(api->log,
                                               "%s %s: the answer was lost and the change is not in place; sending "
                                               "it again",
                                               pv_api_method_name(m), path);
                                api->stats.retries++;
                                pv_api_req_done(&req);
                                pv_error_done(&verr);
                                continue;
                        }
                        pv_error_set(err, PV_EUNCERTAIN, "%s (checking the result failed too: %s)",
                                     pv_error_message(&req.err), pv_error_message(&verr));
                        if (err)
                                err->http_status = req.err.http_status;
                        pv_error_done(&verr);
                        pv_api_req_done(&req);
                        return -PV_EUNCERTAIN;
                }
                rc = -req.err.code;
                pv_error_move(err, &req.err);
                pv_api_req_done(&req);
                return rc;
        }
}

int pv_api_call(struct pv_api *api, enum pv_api_method m, const char *path, const struct pv_api_params *params,
                json_t **ret_data, struct pv_error *err) {
        return call(api, m, path, params, NULL, NULL, ret_data, err);
}

int pv_api_call_verified(struct pv_api *api, enum pv_api_method m, const char *path,
                         const struct pv_api_params *params, pv_api_verify_fn verify, void *userdata,
                         json_t **ret_data, struct pv_error *err) {
        return call(api, m, path, params, verify, userdata, ret_data, err);
}

/* Every request of a batch that could not be sent carries the reason (a failed login, say): callers
 * read per-request errors, and an empty one would read as an empty answer. */
static void fail_all(struct pv_api_get *reqs, size_t n, const struct pv_error *why) {
        for (size_t i = 0; i < n; i++) {
                json_decref(reqs[i].data);
                reqs[i].data = NULL;
                pv_error_done(&reqs[i].err);
                pv_error_set(&reqs[i].err, why->code, "%s", pv_error_message(why));
                reqs[i].err.http_status = why->http_status;
        }
}

/* One GET of a growing batch: the engine's request and its index in the caller's array. */
struct more_req {
        struct pv_api_req req;
        size_t index;
};

struct more_run {
        struct pv_api_get **reqs;
        size_t *n;
        pv_api_more_fn more;
        void *ctx;
        struct more_req **all;          /* every request of the batch, in index order */
        size_t n_all;
        struct pv_api_feed *feed;       /* the run new requests join */
        const struct pv_error *unsent;  /* or, after a failed login, why they are not sent */
        bool last_pass;                 /* the run after a new login: a refusal now is the answer */
};

/* Requests the caller appended: checked, then queued on the running feed (or only recorded). */
static void more_take_new(struct more_run *m) {
        while (m->n_all < *m->n) {
                size_t i = m->n_all;
                struct pv_api_get *g = &(*m->reqs)[i];
                struct more_req *w = pv_xcalloc(1, sizeof *w);
                w->index = i;
                w->req = (struct pv_api_req){
                        .method = PV_API_GET,
                        .path = g->path,
                        .params = g->params,
                        .idempotent = true,
                };
                m->all = pv_xreallocarray(m->all, i + 1, sizeof *m->all);
                m->all[m->n_all++] = w;
                pv_error_done(&g->err);
                if (check_path(g->path, &g->err) < 0) {
                        w->req.state = PV_REQ_DONE; /* never sent: its err says why */
                        pv_error_move(&w->req.err, &g->err);
                        continue;
                }
                if (m->unsent) {
                        w->req.state = PV_REQ_DONE;
                        pv_error_set(&w->req.err, m->unsent->code, "%s", pv_error_message(m->unsent));
                        w->req.err.http_status = m->unsent->http_status;
                } else {
                        pv_api_feed_add(m->feed, &w->req);
                }
        }
}

/* A request ended: its answer goes to the caller's entry, and the caller may add more. */
static void more_end(struct more_run *m, struct more_req *w) {
        struct pv_api_get *g = &(*m->reqs)[w->index];
        json_decref(g->data);
        g->data = TAKE_PTR(w->req.data);
        pv_error_done(&g->err);
        pv_error_move(&g->err, &w->req.err);
        if (m->more)
                m->more(m->ctx, w->index);
        more_take_new(m);
}

static void more_ended(struct pv_api_feed *f, struct pv_api_req *r) {
        struct more_run *m = f->ctx;
        if (r->auth_failed && !m->last_pass)
                return; /* run again after a new login, or given the login's failure */
        more_end(m, (struct more_req *)((char *)r - offsetof(struct more_req, req)));
}

int pv_api_get_more(struct pv_api *api, struct pv_api_get **reqs, size_t *n, pv_api_more_fn more, void *ctx,
                    struct pv_error *err) {
        if (*n == 0)
                return 0;
        for (size_t i = 0; i < *n; i++) {
                int rc = check_path((*reqs)[i].path, err);
                if (rc < 0)
                        return rc;
        }
        struct pv_error lerr = PV_ERROR_INIT;
        int rc = pv_api_ensure_ticket(api, false, &lerr);
        if (rc < 0) {
                fail_all(*reqs, *n, &lerr);
                rc = pv_error_set(err, lerr.code, "%s", pv_error_message(&lerr));
                if (err && err->code == lerr.code)
                        err->http_status = lerr.http_status;
                pv_error_done(&lerr);
                return rc;
        }
        struct pv_api_feed feed = { .ended = more_ended };
        struct more_run m = { .reqs = reqs, .n = n, .more = more, .ctx = ctx, .feed = &feed };
        feed.ctx = &m;
        more_take_new(&m);
        pv_api_run_feed(api, &feed);
        /* a refused ticket: log in again once and re-run what it refused (their answers may add more) */
        struct pv_api_feed again = { .ended = more_ended, .ctx = &m };
        for (size_t i = 0; i < m.n_all; i++)
                if (m.all[i]->req.auth_failed)
                        pv_api_feed_add(&again, &m.all[i]->req);
        if (again.n) {
                m.feed = &again;
                m.last_pass = true;
                if (pv_api_ensure_ticket(api, true, &lerr) == 0) {
                        pv_api_run_feed(api, &again);
                } else {
                        /* the 401s stand for a login that now fails: say why */
                        m.unsent = &lerr;
                        for (size_t k = 0; k < again.n; k++) {
                                struct pv_api_req *r = again.v[k];
                                pv_error_done(&r->err);
                                pv_error_set(&r->err, lerr.code, "%s", pv_error_message(&lerr));
                                r->err.http_status = lerr.http_status;
                                r->auth_failed = false;
                                more_end(&m, (struct more_req *)((char *)r - offsetof(struct more_req, req)));
                        }
                        m.unsent = NULL;
                        pv_error_done(&lerr);
                }
        }
        size_t failed = 0, first = *n;
        for (size_t i = 0; i < m.n_all; i++) {
                struct more_req *w = m.all[i];
                if (w->req.err.code) /* never sent: a bad path, or appended after a failed login */
                        pv_error_move(&(*reqs)[i].err, &w->req.err);
                if ((*reqs)[i].err.code) {
                        if (first == *n)
                                first = i;
                        failed++;
                }
                pv_api_req_done(&w->req);
                free(w);
        }
        free(m.all);
        free(feed.v);
        free(again.v);
        if (!failed)
                return 0;
        struct pv_api_get *f = &(*reqs)[first];
        if (*n == 1)
                rc = pv_error_set(err, f->err.code, "%s", pv_error_message(&f->err));
        else
                rc = pv_error_set(err, f->err.code, "%zu of %zu requests failed, the first: %s", failed, *n,
                                  pv_error_message(&f->err));
        if (err && err->code == f->err.code)
                err->http_status = f->err.http_status;
        return rc;
}

int pv_api_get_many(struct pv_api *api, struct pv_api_get *reqs, size_t n, struct pv_error *err) {
        size_t nn = n;
        return pv_api_get_more(api, &reqs, &nn, NULL, NULL, err);
}
