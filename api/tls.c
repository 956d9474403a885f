/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * TLS policy: system/CA-file verification, SHA-256 fingerprint pinning and
 * the first-contact fingerprint fetch.
 *
 * Pinning replaces chain verification (Proxmox nodes usually present a
 * self-signed or cluster-CA certificate): OpenSSL's certificate verification
 * step is replaced by a callback that hashes the leaf certificate's DER and
 * compares it with the pin. It runs inside the handshake, so on a mismatch
 * the handshake fails and not one byte of the HTTP request is sent.
 */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "internal.h"
#include "pvfio/util.h"
#include "pvfio/xalloc.h"

static void format_fp(const unsigned char md[32], char out[static PV_API_FP_LEN]) {
        static const char hex[] = "0123456789ABCDEF";
        size_t k = 0;
        for (size_t i = 0; i < 32; i++) {
                if (i)
                        out[k++] = ':';
                out[k++] = hex[md[i] >> 4];
                out[k++] = hex[md[i] & 15];
        }
        out[k] = '\0';
}

static int hexval(int c) {
        c = tolower(c);
        return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static int parse_fp(const char *in, unsigned char md[32]) {
        const char *p = in;
        while (isspace((unsigned char)*p))
                p++;
        /* "sha256 Fingerprint=AA:…" as printed by openssl x509 -fingerprint -sha256 */
        if (strncasecmp(p, "sha256", 6) == 0) {
                const char *eq = strchr(p, '=');
                if (!eq)
                        return -1;
                p = eq + 1;
        }
        size_t n = 0;
        bool colons = false, bare = false;
        while (*p && !isspace((unsigned char)*p)) {
                if (*p == ':') {
                        /* a separator only between two complete bytes */
                        if (n == 0 || n % 2 || n == 64 || p[1] == ':' || p[1] == '\0')
                                return -1;
                        colons = true;
                        p++;
                        continue;
                }
                int v = hexval((unsigned char)*p);
                if (v < 0 || n >= 64)
                        return -1;
                if (n % 2 == 0 && n > 0 && p[-1] != ':')
                        bare = true;
                md[n / 2] = (unsigned char)(n % 2 ? (md[n / 2] << 4) | v : v);
                n++;
                p++;
        }
        while (isspace((unsigned char)*p))
                p++;
        if (n != 64 || *p || (colons && bare))
                return -1;
        return 0;
}

int pv_api_fingerprint_normalize(const char *in, char out[static PV_API_FP_LEN], struct pv_error *err) {
        unsigned char md[32];
        if (!in || parse_fp(in, md) < 0)
                return pv_error_set(err, PV_EINVAL,
                                    "'%s' is not a SHA-256 certificate fingerprint: expected 64 hex digits, "
                                    "optionally as AA:BB:… pairs (see 'pvfio api fingerprint URL')",
                                    in ? in : "");
        format_fp(md, out);
        return 0;
}

void pv_api_fingerprint_of_der(const unsigned char *der, size_t len, char out[static PV_API_FP_LEN]) {
        unsigned char md[32];
        unsigned int n = 0;
        if (!EVP_Digest(der, len, md, &n, EVP_sha256(), NULL) || n != 32)
                memset(md, 0, sizeof md);
        format_fp(md, out);
}

static int cert_fp(X509 *cert, unsigned char md[32]) {
        unsigned int n = 0;
        if (!X509_digest(cert, EVP_sha256(), md, &n) || n != 32)
                return -1;
        return 0;
}

/* OpenSSL certificate verification replaced by the pin comparison. */
static int pin_verify(X509_STORE_CTX *x, void *arg) {
        struct pv_api *api = arg;
        X509 *cert = X509_STORE_CTX_get0_cert(x);
        unsigned char md[32];
        if (!cert || cert_fp(cert, md) < 0) {
                X509_STORE_CTX_set_error(x, X509_V_ERR_UNSPECIFIED);
                return 0;
        }
        if (CRYPTO_memcmp(md, api->pin, sizeof md) == 0)
                return 1;
        if (!api->pin_mismatch) {
                api->pin_mismatch = true;
                format_fp(md, api->pin_seen);
        }
        X509_STORE_CTX_set_error(x, X509_V_ERR_CERT_REJECTED);
        return 0;
}

static CURLcode pin_ctx(CURL *curl, void *sslctx, void *userptr) {
        (void)curl;
        SSL_CTX *ctx = sslctx;
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
        SSL_CTX_set_cert_verify_callback(ctx, pin_verify, userptr);
        return CURLE_OK;
}

/*
 * The verification store. libcurl builds one per connection from the CA file
 * and directory (the CA cache of libcurl >= 7.87 is off whenever a directory is
 * set, as Debian's default is), and OpenSSL 3 decodes PEM slowly: a connection
 * to a node spent about 0.4 ms on a one-certificate file and some 20 ms on the
 * system bundle. One store per process instead, shared by every connection of
 * every session and thread (an X509_STORE is reference-counted and locked), and
 * handed to each new SSL_CTX; libcurl itself loads nothing.
 *
 * What it trusts: with ca_file, that file alone (not the system store as
 * well); without it, the system store exactly as libcurl would load it: its
 * built-in CA file and CA directory (looked up by subject hash, lazily).
 */
static pthread_mutex_t trust_lock = PTHREAD_MUTEX_INITIALIZER;
static X509_STORE *trust_cached;        /* one reference held here */
static char *trust_cached_key;          /* the CA file, or "" for the system store */

static const char *ssl_reason(void) {
        unsigned long e = ERR_peek_last_error();
        if (e && ERR_SYSTEM_ERROR(e))
                return strerror(ERR_GET_REASON(e));
        const char *why = e ? ERR_reason_error_string(e) : NULL;
        return why ? why : "unknown error";
}

static int trust_build(CURL *easy, const char *ca_file, X509_STORE **ret, struct pv_error *err) {
        X509_STORE *store = X509_STORE_new();
        if (!store)
                return pv_error_set(err, PV_ENOMEM, "out of memory");
        ERR_clear_error();
        if (ca_file) {
                FILE *f = fopen(ca_file, "re");
                if (!f) {
                        int r = pv_error_set(err, PV_EINVAL,
                                             "cannot read the CA file '%s' (tls.ca_file, --ca-file): %s", ca_file,
                                             strerror(errno));
                        X509_STORE_free(store);
                        return r;
                }
                fclose(f);
                if (X509_STORE_load_file(store, ca_file) != 1) {
                        int r = pv_error_set(err, PV_EINVAL,
                                             "cannot read the CA file '%s' (tls.ca_file, --ca-file): %s", ca_file,
                                             ssl_reason());
                        X509_STORE_free(store);
                        return r;
                }
        } else {
                char *file = NULL, *dir = NULL;
                curl_easy_getinfo(easy, CURLINFO_CAINFO, &file);
                curl_easy_getinfo(easy, CURLINFO_CAPATH, &dir);
                bool any = false;
                if (file && *file && X509_STORE_load_file(store, file) == 1)
                        any = true;
                if (dir && *dir && X509_STORE_load_path(store, dir) == 1)
                        any = true;
                if (!any) {
                        int r = pv_error_set(err, PV_EINVAL,
                                             "cannot read the system CA store (file '%s', directory '%s'): %s",
                                             file ? file : "none", dir ? dir : "none", ssl_reason());
                        X509_STORE_free(store);
                        return r;
                }
        }
        ERR_clear_error();
        *ret = store;
        return 0;
}

static int trust_get(struct pv_api *api, CURL *easy, struct pv_error *err) {
        const char *key = api->ca_file ? api->ca_file : "";
        int r = 0;
        pthread_mutex_lock(&trust_lock);
        if (!trust_cached || strcmp(trust_cached_key, key) != 0) {
                X509_STORE *store = NULL;
                r = trust_build(easy, api->ca_file, &store, err);
                if (r >= 0) {
                        X509_STORE_free(trust_cached);
                        free(trust_cached_key);
                        trust_cached = store;
                        trust_cached_key = pv_xstrdup(key);
                }
        }
        if (r >= 0 && X509_STORE_up_ref(trust_cached) == 1)
                api->trust = trust_cached;
        else if (r >= 0)
                r = pv_error_set(err, PV_ENOMEM, "out of memory");
        pthread_mutex_unlock(&trust_lock);
        return r;
}

void pv_api_tls_release(struct pv_api *api) {
        X509_STORE_free(api->trust);
        api->trust = NULL;
}

static CURLcode trust_ctx(CURL *curl, void *sslctx, void *userptr) {
        (void)curl;
        struct pv_api *api = userptr;
        SSL_CTX_set1_cert_store(sslctx, api->trust);
        return CURLE_OK;
}

int pv_api_tls_setup(struct pv_api *api, CURL *easy, struct pv_error *err) {
        if (!api->has_pin && !api->insecure && !api->trust) {
                /* the built-in defaults, read on a handle of their own: this one's are cleared below */
                CURL *probe = curl_easy_init();
                if (!probe)
                        return pv_error_set(err, PV_ENOMEM, "out of memory");
                int r = trust_get(api, probe, err);
                curl_easy_cleanup(probe);
                if (r < 0)
                        return r;
        }
        /* libcurl loads no CA locations of its own: the pin needs none, and the store is ours */
        CURLcode c = curl_easy_setopt(easy, CURLOPT_CAINFO, NULL);
        if (!c)
                c = curl_easy_setopt(easy, CURLOPT_CAPATH, NULL);
        if (c) {
                /* reported below */
        } else if (api->has_pin) {
                /* the pin is the trust anchor: chain and host name checks are replaced by it */
                c = curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 0L);
                if (!c)
                        c = curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 0L);
                if (!c)
                        c = curl_easy_setopt(easy, CURLOPT_SSL_CTX_FUNCTION, pin_ctx);
                if (!c)
                        c = curl_easy_setopt(easy, CURLOPT_SSL_CTX_DATA, api);
        } else if (api->insecure) {
                c = curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 0L);
                if (!c)
                        c = curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 0L);
        } else {
                c = curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 1L);
                if (!c)
                        c = curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 2L);
                if (!c)
                        c = curl_easy_setopt(easy, CURLOPT_SSL_CTX_FUNCTION, trust_ctx);
                if (!c)
                        c = curl_easy_setopt(easy, CURLOPT_SSL_CTX_DATA, api);
        }
        if (c)
                return pv_error_set(err, PV_EUNSUPPORTED, "cannot configure TLS: %s", curl_easy_strerror(c));
        return 0;
}

/* ------------------------------------------------------------ first contact */

struct capture {
        bool got;
        char fp[PV_API_FP_LEN];
        char *subject, *issuer, *not_after;
};

static char *bio_string(BIO *bio) {
        char *data = NULL;
        long n = BIO_get_mem_data(bio, &data);
        char *s = NULL;
        if (n >= 0)
                s = strndup(data ? data : "", (size_t)n);
        return s;
}

static char *name_text(const X509_NAME *name) {
        BIO *bio = BIO_new(BIO_s_mem());
        if (!bio)
                return NULL;
        X509_NAME_print_ex(bio, name, 0, XN_FLAG_ONELINE & ~ASN1_STRFLGS_ESC_MSB);
        char *s = bio_string(bio);
        BIO_free(bio);
        return s;
}

static int capture_verify(X509_STORE_CTX *x, void *arg) {
        struct capture *cap = arg;
        X509 *cert = X509_STORE_CTX_get0_cert(x);
        unsigned char md[32];
        if (!cert || cap->got || cert_fp(cert, md) < 0)
                return 1;
        format_fp(md, cap->fp);
        cap->subject = name_text(X509_get_subject_name(cert));
        cap->issuer = name_text(X509_get_issuer_name(cert));
        BIO *bio = BIO_new(BIO_s_mem());
        if (bio) {
                ASN1_TIME_print(bio, X509_get0_notAfter(cert));
                cap->not_after = bio_string(bio);
                BIO_free(bio);
        }
        cap->got = true;
        return 1;
}

static CURLcode capture_ctx(CURL *curl, void *sslctx, void *userptr) {
        (void)curl;
        SSL_CTX_set_verify(sslctx, SSL_VERIFY_PEER, NULL);
        SSL_CTX_set_cert_verify_callback(sslctx, capture_verify, userptr);
        return CURLE_OK;
}

void pv_api_cert_info_done(struct pv_api_cert_info *c) {
        if (!c)
                return;
        free(c->fingerprint);
        free(c->subject);
        free(c->issuer);
        free(c->not_after);
        memset(c, 0, sizeof *c);
}

int pv_api_fetch_fingerprint(const char *url, unsigned timeout_ms, const struct pv_log *log,
                             struct pv_api_cert_info *ret, struct pv_error *err) {
        _cleanup_free_ char *norm = NULL;
        int r = pv_api_url_normalize(url, &norm, err);
        if (r < 0)
                return r;
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
                return pv_error_set(err, PV_ENOMEM, "cannot initialise libcurl");
        CURL *easy = curl_easy_init();
        if (!easy) {
                curl_global_cleanup();
                return pv_error_set(err, PV_ENOMEM, "out of memory");
        }
        struct capture cap = { 0 };
        char errbuf[CURL_ERROR_SIZE] = "";
        unsigned t = timeout_ms ? timeout_ms : PV_API_DEFAULT_CONNECT_TIMEOUT_MS;
        curl_easy_setopt(easy, CURLOPT_URL, norm);
        curl_easy_setopt(easy, CURLOPT_CONNECT_ONLY, 1L);
        curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 0L);
        curl_easy_setopt(easy, CURLOPT_CAINFO, NULL); /* nothing is verified: no CA store to load */
        curl_easy_setopt(easy, CURLOPT_CAPATH, NULL);
        curl_easy_setopt(easy, CURLOPT_SSL_SESSIONID_CACHE, 0L);
        curl_easy_setopt(easy, CURLOPT_SSL_CTX_FUNCTION, capture_ctx);
        curl_easy_setopt(easy, CURLOPT_SSL_CTX_DATA, &cap);
        curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, (long)t);
        curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, (long)t);
        curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, errbuf);
        pv_log_debug(log, "api: fetching the certificate of '%s' (no request is sent)", norm);
        CURLcode c = curl_easy_perform(easy);
        curl_easy_cleanup(easy);
        curl_global_cleanup();
        if (!cap.got) {
                r = pv_error_set(err, PV_ENET, "cannot read the TLS certificate of '%s': %s", norm,
                                 *errbuf ? errbuf : curl_easy_strerror(c));
                goto out;
        }
        char *fp = pv_xstrdup(cap.fp);
        *ret = (struct pv_api_cert_info){
                .fingerprint = fp,
                .subject = TAKE_PTR(cap.subject),
                .issuer = TAKE_PTR(cap.issuer),
                .not_after = TAKE_PTR(cap.not_after),
        };
        r = 0;
out:
        free(cap.subject);
        free(cap.issuer);
        free(cap.not_after);
        return r;
}
