/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The transfer engine: libcurl multi with a bounded number of transfers in
 * flight, keep-alive connections pooled in the multi handle, retries with
 * backoff and jitter, auth headers, the redacted debug trace. The session it
 * serves is http.c.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "pvfio/util.h"
#include "pvfio/xalloc.h"

#define REASON_MAX 512
#define TRACE_BODY_MAX 2048

static uint32_t next_rand(struct pv_api *api) {
        /* xorshift64*: jitter only, not security */
        uint64_t x = api->rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        api->rng = x;
        return (uint32_t)((x * 0x2545F4914F6CDD1DULL) >> 32);
}

static bool want_trace(const struct pv_api *api) {
        return api->log && api->log->fn && api->log->max >= PV_LOG_DEBUG;
}

/* --------------------------------------------------------------- callbacks */

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata) {
        struct pv_api_req *r = userdata;
        size_t n = size * nmemb;
        if (pv_buf_add(&r->resp, ptr, n, NULL) < 0) {
                r->cap_hit = true;
                return 0; /* short count: libcurl aborts the transfer */
        }
        return n;
}

static size_t on_header(char *ptr, size_t size, size_t nitems, void *userdata) {
        struct pv_api_req *r = userdata;
        size_t n = size * nitems;
        if (n > 5 && strncmp(ptr, "HTTP/", 5) == 0) {
                /* "HTTP/1.1 400 Parameter verification failed.\r\n": keep the reason phrase */
                pv_buf_reset(&r->reason);
                const char *end = ptr + n;
                const char *p = memchr(ptr, ' ', n);
                if (p) {
                        while (p < end && *p == ' ')
                                p++;
                        while (p < end && isdigit((unsigned char)*p))
                                p++;
                        while (p < end && *p == ' ')
                                p++;
                        const char *q = p;
                        while (q < end && *q != '\r' && *q != '\n')
                                q++;
                        size_t len = (size_t)(q - p);
                        if (len > REASON_MAX)
                                len = REASON_MAX;
                        pv_buf_add(&r->reason, p, len, NULL);
                }
        }
        return n;
}

/* Every traced line goes through the redaction; when that cannot be done (out of memory), the
 * line is not shown at all: the trace fails closed. */
static void trace_lines(const struct pv_log *log, const char *prefix, const char *data, size_t size) {
        const char *p = data, *end = data + size;
        while (p < end) {
                const char *nl = memchr(p, '\n', (size_t)(end - p));
                const char *stop = nl ? nl : end;
                size_t len = (size_t)(stop - p);
                if (len && p[len - 1] == '\r')
                        len--;
                if (len) {
                        char *line = strndup(p, len);
                        char *shown = line ? pv_api_redact_line(line) : NULL;
                        pv_log_debug(log, "api: %s %s", prefix, shown ? shown : "<line not shown: out of memory>");
                        pv_secret_free(shown);
                        pv_secret_free(line);
                }
                p = nl ? nl + 1 : end;
        }
}

static int on_debug(CURL *h, curl_infotype type, char *data, size_t size, void *userdata) {
        (void)h;
        struct pv_api_req *r = userdata;
        const struct pv_log *log = r->api->log;
        switch (type) {
        case CURLINFO_TEXT:
                trace_lines(log, "*", data, size);
                break;
        case CURLINFO_HEADER_OUT:
                trace_lines(log, ">", data, size);
                break;
        case CURLINFO_HEADER_IN:
                trace_lines(log, "<", data, size);
                break;
        default:
                break; /* bodies are traced (redacted) when the request completes */
        }
        return 0;
}

/* ------------------------------------------------------------- the engine */

void pv_api_req_done(struct pv_api_req *r) {
        if (!r)
                return;
        if (r->easy)
                curl_easy_cleanup(r->easy);
        curl_slist_free_all(r->headers);
        free(r->url);
        pv_secret_free(r->body);
        pv_buf_release(&r->resp);
        pv_buf_release(&r->reason);
        json_decref(r->data);
        pv_error_done(&r->err);
        r->easy = NULL;
        r->headers = NULL;
        r->url = NULL;
        r->body = NULL;
        r->data = NULL;
}

static int append_header(struct curl_slist **list, const char *name, const char *value, struct pv_error *err) {
        char *h = pv_xasprintf("%s: %s", name, value);
        struct curl_slist *n = curl_slist_append(*list, h);
        pv_secret_free(h);
        if (!n)
                return pv_error_set(err, PV_ENOMEM, "out of memory");
        *list = n;
        return 0;
}

static int build_headers(struct pv_api_req *r, struct pv_error *err) {
        struct pv_api *api = r->api;
        struct curl_slist *list = NULL;
        int rc = append_header(&list, "Accept", "application/json", err);
        if (rc >= 0)
                rc = append_header(&list, "Expect", "", err); /* no 100-continue round trip */
        if (rc >= 0 && !r->no_auth) {
                if (api->auth == PV_AUTH_TOKEN) {
                        char *v = pv_xasprintf("PVEAPIToken=%s=%s", api->principal, api->secret);
                        rc = append_header(&list, "Authorization", v, err);
                        pv_secret_free(v);
                } else if (api->ticket) {
                        char *v = pv_xasprintf("PVEAuthCookie=%s", api->ticket);
                        rc = append_header(&list, "Cookie", v, err);
                        pv_secret_free(v);
                        if (rc >= 0 && r->method != PV_API_GET && api->csrf)
                                rc = append_header(&list, "CSRFPreventionToken", api->csrf, err);
                }
        }
        if (rc < 0) {
                curl_slist_free_all(list);
                return rc;
        }
        curl_slist_free_all(r->headers);
        r->headers = list;
        return 0;
}

static int build_request(struct pv_api_req *r, struct pv_error *err) {
        struct pv_api *api = r->api;
        struct pv_buf url = PV_BUF_INIT;
        int rc = pv_buf_adds(&url, api->base, err);
        if (rc >= 0)
                rc = pv_buf_adds(&url, r->path, err);
        bool query = r->method == PV_API_GET || r->method == PV_API_DELETE;
        if (rc >= 0 && query && r->params && r->params->n) {
                rc = pv_buf_addch(&url, '?', err);
                if (rc >= 0)
                        rc = pv_api_form_encode(r->params, &url, err);
        }
        if (rc >= 0)
                rc = pv_buf_detach(&url, &r->url, NULL, err);
        pv_buf_release(&url);
        if (rc < 0)
                return rc;
        if (!query) {
                struct pv_buf body = PV_BUF_INIT;
                rc = pv_api_form_encode(r->params, &body, err);
                if (rc >= 0)
                        rc = pv_buf_detach(&body, &r->body, NULL, err);
                if (body.alloc)
                        explicit_bzero(body.buf, body.len);
                pv_buf_release(&body);
        }
        return rc;
}

static int setup_easy(struct pv_api_req *r, struct pv_error *err) {
        struct pv_api *api = r->api;
        CURL *e = curl_easy_init();
        if (!e)
                return pv_error_set(err, PV_ENOMEM, "out of memory");
        r->easy = e;
        CURLcode c = CURLE_OK;
#define SET(opt, val)                                           \
        do {                                                    \
                if (c == CURLE_OK)                              \
                        c = curl_easy_setopt(e, opt, val);      \
        } while (0)
        SET(CURLOPT_URL, r->url);
        SET(CURLOPT_PRIVATE, r);
        SET(CURLOPT_SHARE, api->share);
        SET(CURLOPT_NOSIGNAL, 1L);
        SET(CURLOPT_WRITEFUNCTION, on_body);
        SET(CURLOPT_WRITEDATA, r);
        SET(CURLOPT_HEADERFUNCTION, on_header);
        SET(CURLOPT_HEADERDATA, r);
        SET(CURLOPT_ERRORBUFFER, r->errbuf);
        SET(CURLOPT_CONNECTTIMEOUT_MS, (long)api->connect_timeout_ms);
        SET(CURLOPT_TIMEOUT_MS, (long)api->timeout_ms);
        SET(CURLOPT_TCP_KEEPALIVE, 1L);
        SET(CURLOPT_PROTOCOLS_STR, "https");
        SET(CURLOPT_FOLLOWLOCATION, 0L);
        SET(CURLOPT_USERAGENT, "pvfio/" PVFIO_VERSION);
        /* pveproxy gzips large answers; the body cap applies to the decoded bytes */
        SET(CURLOPT_ACCEPT_ENCODING, "gzip");
        switch (r->method) {
        case PV_API_GET:
                SET(CURLOPT_HTTPGET, 1L);
                break;
        case PV_API_DELETE:
                SET(CURLOPT_CUSTOMREQUEST, "DELETE");
                break;
        case PV_API_POST:
        case PV_API_PUT:
                SET(CURLOPT_POST, 1L);
                SET(CURLOPT_POSTFIELDS, r->body);
                SET(CURLOPT_POSTFIELDSIZE, (long)strlen(r->body));
                if (r->method == PV_API_PUT)
                        SET(CURLOPT_CUSTOMREQUEST, "PUT");
                break;
        }
        /* libcurl silently re-sends a request whose reused connection turns out dead; a write must
         * not be re-sent behind our back, so writes get a connection of their own */
        if (!r->idempotent)
                SET(CURLOPT_FRESH_CONNECT, 1L);
        if (want_trace(api)) {
                SET(CURLOPT_DEBUGFUNCTION, on_debug);
                SET(CURLOPT_DEBUGDATA, r);
                SET(CURLOPT_VERBOSE, 1L);
        }
#undef SET
        if (c != CURLE_OK)
                return pv_error_set(err, PV_EUNSUPPORTED, "cannot set up the request: %s", curl_easy_strerror(c));
        return pv_api_tls_setup(api, e, err);
}

static void start(struct pv_api_req *r) {
        struct pv_api *api = r->api;
        struct pv_error *err = &r->err;
        int rc = 0;
        if (!r->url)
                rc = build_request(r, err);
        if (rc >= 0 && !r->easy)
                rc = setup_easy(r, err);
        if (rc >= 0)
                rc = build_headers(r, err);
        if (rc >= 0 && curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, r->headers) != CURLE_OK)
                rc = pv_error_set(err, PV_ENOMEM, "out of memory");
        if (rc < 0) {
                pv_error_wrap(err, "%s %s", pv_api_method_name(r->method), r->path);
                r->state = PV_REQ_DONE;
                r->verdict = PV_API_FINAL;
                return;
        }
        pv_buf_reset(&r->resp);
        r->resp.cap = api->body_cap;
        pv_buf_reset(&r->reason);
        r->errbuf[0] = '\0';
        r->cap_hit = false;
        r->attempt++;
        r->started = pv_api_now_ms();
        if (r->attempt == 1)
                r->first_started = r->started;
        if (want_trace(api)) {
                /* a body whose redaction fails is not shown (fails closed) */
                char *shown = r->body && *r->body ? pv_api_redact_form(r->body) : NULL;
                pv_log_debug(api->log, "api: %s %s%s%s (attempt %u)", pv_api_method_name(r->method), r->path,
                             shown ? " body: " : "", shown ? shown : "", r->attempt);
                free(shown);
        }
        CURLMcode mc = curl_multi_add_handle(api->multi, r->easy);
        if (mc != CURLM_OK) {
                pv_error_set(err, PV_ENOMEM, "%s %s: cannot start the request: %s", pv_api_method_name(r->method),
                             r->path, curl_multi_strerror(mc));
                r->state = PV_REQ_DONE;
                r->verdict = PV_API_FINAL;
                return;
        }
        api->stats.requests++;
        r->state = PV_REQ_ACTIVE;
}

static bool is_connect_error(CURLcode c) {
        return c == CURLE_COULDNT_CONNECT || c == CURLE_COULDNT_RESOLVE_HOST || c == CURLE_SSL_CONNECT_ERROR;
}

static void transport_error(struct pv_api_req *r, CURLcode c, bool sent) {
        struct pv_api *api = r->api;
        const char *m = pv_api_method_name(r->method);
        const char *why = r->errbuf[0] ? r->errbuf : curl_easy_strerror(c);
        if (c == CURLE_PEER_FAILED_VERIFICATION || c == CURLE_SSL_CACERT_BADFILE) {
                pv_error_set(&r->err, PV_ENET,
                             "%s %s: the TLS certificate of '%s' is not trusted (%s): pin it with --fingerprint "
                             "(see 'pvfio api fingerprint %s'), give --ca-file, or check the host name",
                             m, r->path, api->url, why, api->url);
        } else if (r->verdict == PV_API_UNCERTAIN) {
                pv_error_set(&r->err, PV_EUNCERTAIN,
                             "%s %s: the connection to '%s' failed after the request was sent (%s); it may or may "
                             "not have taken effect and was not sent again: check the state before retrying",
                             m, r->path, api->url, why);
        } else if (c == CURLE_OPERATION_TIMEDOUT) {
                pv_error_set(&r->err, PV_ENET, "%s %s: no answer from '%s' (%s) after %u attempt%s", m, r->path,
                             api->url, why, r->attempt, r->attempt == 1 ? "" : "s");
        } else if (is_connect_error(c) || !sent) {
                pv_error_set(&r->err, PV_ENET, "%s %s: cannot connect to '%s': %s (%u attempt%s)", m, r->path,
                             api->url, why, r->attempt, r->attempt == 1 ? "" : "s");
        } else {
                pv_error_set(&r->err, PV_ENET, "%s %s: transfer from '%s' failed: %s (%u attempt%s)", m, r->path,
                             api->url, why, r->attempt, r->attempt == 1 ? "" : "s");
        }
}

static void http_result(struct pv_api_req *r, long status) {
        struct pv_api *api = r->api;
        const char *m = pv_api_method_name(r->method);
        if (status >= 200 && status < 300) {
                json_t *data = NULL;
                struct pv_error e = PV_ERROR_INIT;
                if (pv_api_decode_envelope(r->resp.buf, r->resp.len, &data, &e) < 0) {
                        pv_error_set(&r->err, PV_EINVAL, "%s %s: unexpected answer from '%s': %s", m, r->path,
                                     api->url, pv_error_message(&e));
                        r->err.http_status = (int)status;
                        pv_error_done(&e);
                        return;
                }
                r->data = data;
                return;
        }
        struct pv_api_auth_info ai;
        pv_api_auth_info(api, &ai);
        struct pv_error e = PV_ERROR_INIT;
        pv_api_error_from_response(m, r->path, status, r->reason.buf, r->resp.buf, r->resp.len, &ai, &e);
        if (r->verdict == PV_API_UNCERTAIN) {
                pv_error_set(&r->err, PV_EUNCERTAIN,
                             "%s; the request may or may not have taken effect and was not sent again: check the "
                             "state before retrying",
                             pv_error_message(&e));
                r->err.http_status = (int)status;
                pv_error_done(&e);
                return;
        }
        if (status == 401 && api->auth == PV_AUTH_PASSWORD && !r->no_auth)
                r->auth_failed = true;
        pv_error_move(&r->err, &e);
}

static void finish(struct pv_api_req *r, CURLcode c) {
        struct pv_api *api = r->api;
        long status = 0, nconn = 0, reqsize = 0;
        curl_off_t pre = 0;
        curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_getinfo(r->easy, CURLINFO_NUM_CONNECTS, &nconn);
        curl_easy_getinfo(r->easy, CURLINFO_PRETRANSFER_TIME_T, &pre);
        curl_easy_getinfo(r->easy, CURLINFO_REQUEST_SIZE, &reqsize);
        api->stats.connects += (unsigned long)(nconn > 0 ? nconn : 0);
        bool sent = pre > 0 || reqsize > 0;
        uint64_t ms = pv_api_now_ms() - r->started;
        r->status = status;
        if (want_trace(api)) {
                pv_log_debug(api->log, "api: %s %s -> %s%ld %s (%zu bytes, %" PRIu64 " ms, %ld new connection%s)",
                             pv_api_method_name(r->method), r->path, c ? "transport error, " : "", status,
                             c ? curl_easy_strerror(c) : r->reason.buf, r->resp.len, ms, nconn, nconn == 1 ? "" : "s");
                if (r->resp.len) {
                        char *shown = pv_api_redact_json_text(r->resp.buf, r->resp.len, TRACE_BODY_MAX);
                        if (shown)
                                pv_log_debug(api->log, "api:   %s", shown);
                        free(shown);
                }
        }
        if (r->cap_hit) {
                /* a write was carried out even though its answer is refused */
                pv_error_set(&r->err, r->idempotent ? PV_ETOOBIG : PV_EUNCERTAIN,
                             "%s %s: the answer from '%s' exceeds the limit of %zu bytes%s",
                             pv_api_method_name(r->method), r->path, api->url, api->body_cap,
                             r->idempotent ? "" : "; the request has probably taken effect: check the state");
                r->verdict = r->idempotent ? PV_API_FINAL : PV_API_UNCERTAIN;
                r->state = PV_REQ_DONE;
                return;
        }
        if (c != CURLE_OK && api->pin_mismatch && (c == CURLE_SSL_CONNECT_ERROR || c == CURLE_PEER_FAILED_VERIFICATION ||
                                                   c == CURLE_RECV_ERROR || c == CURLE_SEND_ERROR)) {
                pv_error_set(&r->err, PV_ENET,
                             "%s %s: TLS certificate of '%s' does not match the pinned fingerprint (server %s, "
                             "pinned %s); nothing was sent: if the certificate was renewed on purpose, check it "
                             "with 'pvfio api fingerprint %s' and update the pin",
                             pv_api_method_name(r->method), r->path, api->url, api->pin_seen, api->pin_text, api->url);
                r->verdict = PV_API_FINAL;
                r->state = PV_REQ_DONE;
                return;
        }
        enum pv_api_verdict v = pv_api_retry_classify(r->idempotent, (int)c, c == CURLE_OK ? status : 0, sent);
        unsigned delay = v == PV_API_RETRY ? pv_api_backoff_ms(r->attempt, api->backoff_ms, api->backoff_max_ms,
                                                               next_rand(api))
                                            : 0;
        uint64_t elapsed = pv_api_now_ms() - r->first_started;
        if (v == PV_API_RETRY &&
            pv_api_retry_allowed(r->idempotent, r->attempt, r->idempotent ? api->read_attempts : api->max_attempts,
                                 elapsed, delay, api->retry_ms)) {
                pv_log_debug(api->log, "api: %s %s: %s, retrying in %u ms (attempt %u, %.1f s of %.1f s)",
                             pv_api_method_name(r->method), r->path,
                             c ? (r->errbuf[0] ? r->errbuf : curl_easy_strerror(c)) : r->reason.buf, delay,
                             r->attempt + 1, (double)elapsed / 1000.0, (double)api->retry_ms / 1000.0);
                api->stats.retries++;
                r->not_before = pv_api_now_ms() + delay;
                r->state = PV_REQ_WAIT;
                return;
        }
        r->verdict = v == PV_API_UNCERTAIN ? PV_API_UNCERTAIN : PV_API_FINAL;
        r->state = PV_REQ_DONE;
        if (c != CURLE_OK)
                transport_error(r, c, sent);
        else
                http_result(r, status);
}

/*
 * How many of n requests run at once: as many waves as `parallel` needs (ceil(n / parallel)),
 * spread evenly. 20 reads at --parallel 16 take two waves either way; 10 at a time need 10
 * connections instead of 16, and each new connection costs a TLS handshake on the server.
 */
static size_t batch_width(size_t parallel, size_t n) {
        if (parallel == 0 || n == 0)
                return 1;
        size_t waves = (n + parallel - 1) / parallel;
        return (n + waves - 1) / waves;
}

static void run_reset(struct pv_api *api, struct pv_api_req *r) {
        r->api = api;
        r->state = PV_REQ_WAIT;
        r->not_before = 0;
        r->verdict = PV_API_FINAL;
        r->auth_failed = false;
        json_decref(r->data);
        r->data = NULL;
        pv_error_done(&r->err);
}

/*
 * The width of a run that grew to `left` unfinished requests. A new connection costs
 * two round trips before its first answer (TCP, then a resumed TLS 1.3 handshake) and
 * the handshake's CPU on the server, about one answer more: three waves, where one
 * already open answers in one. So the run opens more only when the connections it has
 * would need more than three waves beyond what the wider run needs: 20 VM reads after
 * 6 listing reads keep the 6 connections (5 waves, against 2 plus the handshakes);
 * after 2 reads they do not (11 waves against 2).
 */
static size_t grown_width(size_t parallel, size_t width, size_t left) {
        size_t wider = batch_width(parallel, left);
        if (wider <= width)
                return width;
        size_t waves_now = (left + width - 1) / width, waves_wider = (left + wider - 1) / wider;
        return waves_now > waves_wider + 3 ? wider : width;
}

void pv_api_feed_add(struct pv_api_feed *f, struct pv_api_req *r) {
        if (f->n == f->alloc) {
                f->alloc = f->alloc ? f->alloc * 2 : 16;
                f->v = pv_xreallocarray(f->v, f->alloc, sizeof *f->v);
        }
        f->v[f->n++] = r;
}

void pv_api_run_feed(struct pv_api *api, struct pv_api_feed *f) {
        size_t active = 0, done = 0, reset = 0;
        size_t first_waiting = 0; /* everything before it has been started at least once */
        size_t width = batch_width(api->parallel, f->n);
        /* a request that ends may add more: the loop runs until every one, old or new, is done */
        while (reset < f->n || done < f->n) {
                if (reset < f->n) {
                        for (; reset < f->n; reset++)
                                run_reset(api, f->v[reset]);
                        width = grown_width(api->parallel, width, f->n - done);
                }
                uint64_t now = pv_api_now_ms();
                uint64_t next_due = UINT64_MAX;
                size_t n = f->n;
                for (size_t i = 0; i < n && active < width; i++) {
                        struct pv_api_req *r = f->v[i];
                        if (r->state != PV_REQ_WAIT)
                                continue;
                        if (api->pin_mismatch) {
                                /* every connection would meet the same certificate: stop here */
                                pv_error_set(&r->err, PV_ENET,
                                             "%s %s: not sent: the TLS certificate of '%s' does not match the pin",
                                             pv_api_method_name(r->method), r->path, api->url);
                                r->state = PV_REQ_DONE;
                                done++;
                                if (f->ended)
                                        f->ended(f, r);
                                continue;
                        }
                        if (r->not_before > now) {
                                if (r->not_before < next_due)
                                        next_due = r->not_before;
                                continue;
                        }
                        start(r);
                        if (r->state == PV_REQ_ACTIVE) {
                                active++;
                        } else {
                                done++;
                                if (f->ended)
                                        f->ended(f, r);
                        }
                        if (i >= first_waiting)
                                first_waiting = i + 1;
                }
                if (done == f->n && reset == f->n)
                        break;
                int running = 0;
                curl_multi_perform(api->multi, &running);
                CURLMsg *msg;
                int left;
                while ((msg = curl_multi_info_read(api->multi, &left))) {
                        if (msg->msg != CURLMSG_DONE)
                                continue;
                        struct pv_api_req *r = NULL;
                        CURL *easy = msg->easy_handle;
                        CURLcode c = msg->data.result;
                        curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&r);
                        curl_multi_remove_handle(api->multi, easy);
                        active--;
                        finish(r, c);
                        if (r->state == PV_REQ_DONE) {
                                done++;
                                if (f->ended)
                                        f->ended(f, r);
                        }
                }
                if (done == f->n && reset == f->n)
                        break;
                if (reset < f->n)
                        continue; /* new requests: start them at once */
                /* sleep until a transfer has news, a retry is due, or (at most) a second passes */
                int timeout = 1000;
                if (active < width && first_waiting < f->n)
                        timeout = 0; /* unstarted requests and a free slot: loop at once */
                now = pv_api_now_ms();
                if (next_due != UINT64_MAX)
                        timeout = next_due <= now ? 0 : (int)(next_due - now < (uint64_t)timeout ? next_due - now : (uint64_t)timeout);
                if (timeout > 0 || active > 0)
                        curl_multi_poll(api->multi, NULL, 0, timeout, NULL);
        }
}

void pv_api_run(struct pv_api *api, struct pv_api_req **reqs, size_t n) {
        struct pv_api_feed f = { .v = reqs, .n = n, .alloc = n };
        pv_api_run_feed(api, &f);
}
