/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The session and the request engine: libcurl multi with a bounded number of
 * transfers in flight, keep-alive connections pooled in the multi handle,
 * retries with backoff and jitter, auth headers, the debug trace.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "pvfio/util.h"

#define REASON_MAX 512
#define TRACE_BODY_MAX 2048

uint64_t pv_api_now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

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
        char *s = NULL;
        if (asprintf(&s, "https://%.*s%s%.*s", (int)alen, host, has_port ? "" : ":8006", (int)plen, path) < 0)
                return pv_error_set(err, PV_ENOMEM, "out of memory");
        *ret = s;
        return 0;
}

static bool has_crlf(const char *s) {
        return s && strpbrk(s, "\r\n") != NULL;
}

static void api_free(struct pv_api *api) {
        if (api->multi)
                curl_multi_cleanup(api->multi);
        if (api->share)
                curl_share_cleanup(api->share);
        if (api->multi || api->share)
                curl_global_cleanup();
        free(api->url);
        free(api->base);
        free(api->principal);
        pv_secret_free(api->secret);
        free(api->secret_source);
        free(api->ca_file);
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
        struct pv_api *api = calloc(1, sizeof *api);
        if (!api)
                return pv_error_set(err, PV_ENOMEM, "out of memory");
        api->refs = 1;
        r = pv_api_url_normalize(cfg->url, &api->url, err);
        if (r < 0)
                goto fail;
        if (asprintf(&api->base, "%s/api2/json", api->url) < 0) {
                api->base = NULL;
                r = pv_error_set(err, PV_ENOMEM, "out of memory");
                goto fail;
        }
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
        api->principal = strdup(cfg->auth == PV_AUTH_TOKEN ? cfg->token_id : cfg->user);
        api->secret = strdup(cfg->secret);
        api->secret_source = cfg->secret_source ? strdup(cfg->secret_source) : NULL;
        api->ca_file = cfg->ca_file ? strdup(cfg->ca_file) : NULL;
        if (!api->principal || !api->secret || (cfg->secret_source && !api->secret_source) ||
            (cfg->ca_file && !api->ca_file)) {
                r = pv_error_set(err, PV_ENOMEM, "out of memory");
                goto fail;
        }
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
        char *h = NULL;
        if (asprintf(&h, "%s: %s", name, value) < 0)
                return pv_error_set(err, PV_ENOMEM, "out of memory");
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
                        char *v = NULL;
                        if (asprintf(&v, "PVEAPIToken=%s=%s", api->principal, api->secret) < 0)
                                rc = pv_error_set(err, PV_ENOMEM, "out of memory");
                        else
                                rc = append_header(&list, "Authorization", v, err);
                        pv_secret_free(v);
                } else if (api->ticket) {
                        char *v = NULL;
                        if (asprintf(&v, "PVEAuthCookie=%s", api->ticket) < 0)
                                rc = pv_error_set(err, PV_ENOMEM, "out of memory");
                        else
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

void pv_api_run(struct pv_api *api, struct pv_api_req **reqs, size_t n) {
        size_t active = 0, done = 0;
        for (size_t i = 0; i < n; i++) {
                reqs[i]->api = api;
                reqs[i]->state = PV_REQ_WAIT;
                reqs[i]->not_before = 0;
                reqs[i]->verdict = PV_API_FINAL;
                reqs[i]->auth_failed = false;
                json_decref(reqs[i]->data);
                reqs[i]->data = NULL;
                pv_error_done(&reqs[i]->err);
        }
        size_t first_waiting = 0; /* everything before it has been started at least once */
        while (done < n) {
                uint64_t now = pv_api_now_ms();
                uint64_t next_due = UINT64_MAX;
                for (size_t i = 0; i < n && active < api->parallel; i++) {
                        struct pv_api_req *r = reqs[i];
                        if (r->state != PV_REQ_WAIT)
                                continue;
                        if (api->pin_mismatch) {
                                /* every connection would meet the same certificate: stop here */
                                pv_error_set(&r->err, PV_ENET,
                                             "%s %s: not sent: the TLS certificate of '%s' does not match the pin",
                                             pv_api_method_name(r->method), r->path, api->url);
                                r->state = PV_REQ_DONE;
                                done++;
                                continue;
                        }
                        if (r->not_before > now) {
                                if (r->not_before < next_due)
                                        next_due = r->not_before;
                                continue;
                        }
                        start(r);
                        if (r->state == PV_REQ_ACTIVE)
                                active++;
                        else
                                done++;
                        if (i >= first_waiting)
                                first_waiting = i + 1;
                }
                if (done == n)
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
                        if (r->state == PV_REQ_DONE)
                                done++;
                }
                if (done == n)
                        break;
                /* sleep until a transfer has news, a retry is due, or (at most) a second passes */
                int timeout = 1000;
                if (active < api->parallel && first_waiting < n)
                        timeout = 0; /* unstarted requests and a free slot: loop at once */
                now = pv_api_now_ms();
                if (next_due != UINT64_MAX)
                        timeout = next_due <= now ? 0 : (int)(next_due - now < (uint64_t)timeout ? next_due - now : (uint64_t)timeout);
                if (timeout > 0 || active > 0)
                        curl_multi_poll(api->multi, NULL, 0, timeout, NULL);
        }
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
                char *ticket = strdup(json_string_value(t)), *csrf = strdup(json_string_value(c));
                pv_api_req_done(&req);
                if (!ticket || !csrf) {
                        pv_secret_free(ticket);
                        pv_secret_free(csrf);
                        return pv_error_set(err, PV_ENOMEM, "out of memory");
                }
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

int pv_api_get_many(struct pv_api *api, struct pv_api_get *reqs, size_t n, struct pv_error *err) {
        if (n == 0)
                return 0;
        for (size_t i = 0; i < n; i++) {
                int rc = check_path(reqs[i].path, err);
                if (rc < 0)
                        return rc;
        }
        struct pv_error lerr = PV_ERROR_INIT;
        int rc = pv_api_ensure_ticket(api, false, &lerr);
        if (rc < 0) {
                fail_all(reqs, n, &lerr);
                rc = pv_error_set(err, lerr.code, "%s", pv_error_message(&lerr));
                if (err && err->code == lerr.code)
                        err->http_status = lerr.http_status;
                pv_error_done(&lerr);
                return rc;
        }
        struct pv_api_req *rs = calloc(n, sizeof *rs);
        struct pv_api_req **ptrs = calloc(n, sizeof *ptrs);
        if (!rs || !ptrs) {
                free(rs);
                free(ptrs);
                return pv_error_set(err, PV_ENOMEM, "out of memory");
        }
        for (size_t i = 0; i < n; i++) {
                rs[i] = (struct pv_api_req){
                        .method = PV_API_GET,
                        .path = reqs[i].path,
                        .params = reqs[i].params,
                        .idempotent = true,
                };
                ptrs[i] = &rs[i];
        }
        pv_api_run(api, ptrs, n);
        /* a refused ticket: log in again once and re-run what it refused */
        size_t again = 0;
        for (size_t i = 0; i < n; i++)
                if (rs[i].auth_failed)
                        ptrs[again++] = &rs[i];
        if (again) {
                if (pv_api_ensure_ticket(api, true, &lerr) == 0) {
                        pv_api_run(api, ptrs, again);
                } else {
                        /* the 401s stand for a login that now fails: say why */
                        for (size_t i = 0; i < n; i++)
                                if (rs[i].auth_failed) {
                                        pv_error_done(&rs[i].err);
                                        pv_error_set(&rs[i].err, lerr.code, "%s", pv_error_message(&lerr));
                                        rs[i].err.http_status = lerr.http_status;
                                }
                        pv_error_done(&lerr);
                }
        }
        size_t failed = 0, first = n;
        for (size_t i = 0; i < n; i++) {
                json_decref(reqs[i].data);
                reqs[i].data = TAKE_PTR(rs[i].data);
                pv_error_done(&reqs[i].err);
                if (rs[i].err.code) {
                        if (first == n)
                                first = i;
                        failed++;
                }
                pv_error_move(&reqs[i].err, &rs[i].err);
                pv_api_req_done(&rs[i]);
        }
        free(rs);
        free(ptrs);
        if (!failed)
                return 0;
        if (n == 1)
                rc = pv_error_set(err, reqs[first].err.code, "%s", pv_error_message(&reqs[first].err));
        else
                rc = pv_error_set(err, reqs[first].err.code, "%zu of %zu requests failed, the first: %s", failed, n,
                                  pv_error_message(&reqs[first].err));
        if (err && err->code == reqs[first].err.code)
                err->http_status = reqs[first].err.http_status;
        return rc;
}
