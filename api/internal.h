/* SPDX-License-Identifier: GPL-2.0-or-later */
/* api/ internals shared between its files (not a public header). */
#ifndef PVFIO_API_INTERNAL_H
#define PVFIO_API_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include <curl/curl.h>

#include "pvfio/api.h"
#include "pvfio/buf.h"

struct pv_api {
        unsigned refs;
        char *url;                      /* "https://host:8006" */
        char *base;                     /* url + "/api2/json" */
        enum pv_auth_kind auth;
        char *principal;                /* token id or user */
        char *secret;                   /* wiped on free */
        char *secret_source;
        char *ca_file;
        bool insecure;
        struct x509_store_st *trust;    /* the verification store, loaded once per process (tls.c) */
        bool has_pin;
        unsigned char pin[32];
        char pin_text[PV_API_FP_LEN];
        unsigned parallel;
        unsigned connect_timeout_ms, timeout_ms;
        size_t body_cap;
        unsigned max_attempts, backoff_ms, backoff_max_ms;
        unsigned read_attempts;         /* cap for reads; 0 = the retry time decides */
        unsigned retry_ms;              /* reads: how long transient failures are retried */
        unsigned ticket_renew_s, task_timeout_ms;
        const struct pv_log *log;

        /* ticket auth state */
        char *ticket;                   /* wiped on free */
        char *csrf;                     /* wiped on free */
        uint64_t ticket_ms;             /* monotonic time the ticket was issued */

        /* the first pin mismatch seen in a handshake (sticky: stops every request) */
        bool pin_mismatch;
        char pin_seen[PV_API_FP_LEN];

        CURLM *multi;                   /* its connection cache is the keep-alive pool */
        CURLSH *share;                  /* DNS cache and TLS sessions (locked: worker sessions use it too) */
        bool share_borrowed;            /* a worker session's: the parent session's share, not freed here */
        uint64_t rng;
        struct pv_api_stats stats;
};

/* One HTTP exchange (with its retries) run by the engine. */
struct pv_api_req {
        struct pv_api *api;
        enum pv_api_method method;
        const char *path;               /* borrowed, for messages */
        const struct pv_api_params *params; /* borrowed */
        bool no_auth;                   /* the login request itself */
        bool idempotent;

        /* engine state */
        CURL *easy;
        struct curl_slist *headers;
        char *url;
        char *body;
        struct pv_buf resp;
        struct pv_buf reason;
        char errbuf[CURL_ERROR_SIZE];
        bool cap_hit;
        unsigned attempt;               /* attempts made */
        uint64_t not_before;            /* monotonic ms */
        uint64_t started;
        uint64_t first_started;         /* monotonic ms of the first attempt (the retry time counts from it) */
        enum { PV_REQ_WAIT, PV_REQ_ACTIVE, PV_REQ_DONE } state;

        /* outcome */
        enum pv_api_verdict verdict;    /* FINAL or UNCERTAIN once done */
        bool auth_failed;               /* 401 while using a ticket (a re-login may help) */
        long status;
        json_t *data;
        struct pv_error err;
};

uint64_t pv_api_now_ms(void);
/* Run requests concurrently (bounded by api->parallel); each ends DONE with data or err. */
void pv_api_run(struct pv_api *api, struct pv_api_req **reqs, size_t n);
/*
 * A run that grows: `ended` is called as each request ends (DONE, or refused for its
 * ticket: auth_failed) and may append requests with pv_api_feed_add; they run in the
 * same loop, on the connections already open, instead of waiting for the slowest
 * request of the run. v holds pointers: a request must not move while the run lasts.
 */
struct pv_api_feed {
        struct pv_api_req **v;
        size_t n, alloc;
        void (*ended)(struct pv_api_feed *f, struct pv_api_req *r);
        void *ctx;
};
void pv_api_feed_add(struct pv_api_feed *f, struct pv_api_req *r);
void pv_api_run_feed(struct pv_api *api, struct pv_api_feed *f);
void pv_api_req_done(struct pv_api_req *r);
/* Log in (or renew the ticket) when password auth needs it. */
int pv_api_ensure_ticket(struct pv_api *api, bool force, struct pv_error *err);
/* Fill the auth-failure context for error messages. */
void pv_api_auth_info(const struct pv_api *api, struct pv_api_auth_info *ret);
/* Install the TLS policy (CA, insecure, pinning) on an easy handle. */
int pv_api_tls_setup(struct pv_api *api, CURL *easy, struct pv_error *err);
/* Drop the session's reference to the verification store. */
void pv_api_tls_release(struct pv_api *api);
/* "https://host:8006" from what the user wrote (https only; trailing / and /api2/json dropped). */
int pv_api_url_normalize(const char *in, char **ret, struct pv_error *err);
/* Path-segment escaping (keeps RFC 3986 pchar characters). */
int pv_api_escape_segment(struct pv_buf *out, const char *s, struct pv_error *err);

/* GET …/config as Proxmox answers it by default, rebuilt from GET …/pending (observe.c); NULL when data is not
 * a list. A new reference. */
json_t *pv_api_config_from_pending(const json_t *data);

/* usbmap.c: GET …/hardware/usb decoded; the answers of the USB requests pv_api_observe sends in
 * its round 1 (the listing: an error fails the observation; a node's check or devices: a warning). */
int pv_api_decode_hw_usb(const json_t *data, struct pv_hw_usb **ret, size_t *ret_n, struct pv_error *err);
int pv_api_usb_take_listing(struct pv_observed *o, struct pv_api_get *q, struct pv_error *err);
void pv_api_usb_take_check(struct pv_observed *o, const char *node, struct pv_api_get *q, struct pv_strv *warnings);
void pv_api_usb_take_hw(struct pv_observed *o, const char *node, struct pv_api_get *q, struct pv_strv *warnings);

#endif
