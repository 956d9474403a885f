/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Sessions for the parallel executor's worker threads: a pv_api is
 * single-threaded, so each worker gets its own (its own connections) with the
 * same endpoint, credentials, TLS policy and login ticket.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "pvfio/apiexec.h"
#include "pvfio/xalloc.h"

int pv_api_clone(struct pv_api *api, struct pv_api **ret, struct pv_error *err) {
        /* every configured value of the session (a new field of struct pv_api_config goes here too) */
        struct pv_api_config cfg = {
                .url = api->url,
                .auth = api->auth,
                .token_id = api->auth == PV_AUTH_TOKEN ? api->principal : NULL,
                .user = api->auth == PV_AUTH_PASSWORD ? api->principal : NULL,
                .secret = api->secret,
                .secret_source = api->secret_source,
                .fingerprint = api->has_pin ? api->pin_text : NULL,
                .ca_file = api->ca_file,
                .insecure = api->insecure,
                .parallel = api->parallel,
                .connect_timeout_ms = api->connect_timeout_ms,
                .timeout_ms = api->timeout_ms,
                .body_cap = api->body_cap,
                .max_attempts = api->read_attempts, /* as configured: 0 keeps the read/write defaults */
                .backoff_ms = api->backoff_ms,
                .backoff_max_ms = api->backoff_max_ms,
                .ticket_renew_s = api->ticket_renew_s,
                .task_timeout_ms = api->task_timeout_ms,
                .log = api->log,
                .retry_ms = api->retry_ms,
        };
        struct pv_api *c = NULL;
        int r = pv_api_new(&cfg, &c, err);
        if (r < 0)
                return r;
        c->max_attempts = api->max_attempts;
        if (api->ticket) {
                c->ticket = pv_xstrdup(api->ticket);
                c->csrf = pv_xstrdup(api->csrf);
                c->ticket_ms = api->ticket_ms;
        }
        /* the parent's DNS cache and TLS sessions: a worker's connections resume the sessions the
         * parent's verified handshakes made (same endpoint, same pin or CA), instead of a full
         * handshake each; the parent outlives its workers */
        curl_share_cleanup(c->share);
        c->share = api->share;
        c->share_borrowed = true;
        c->pin_mismatch = api->pin_mismatch;
        memcpy(c->pin_seen, api->pin_seen, sizeof c->pin_seen);
        *ret = c;
        return 0;
}

void pv_api_stats_merge(struct pv_api *into, const struct pv_api *from) {
        into->stats.requests += from->stats.requests;
        into->stats.connects += from->stats.connects;
        into->stats.retries += from->stats.retries;
        into->stats.logins += from->stats.logins;
}
