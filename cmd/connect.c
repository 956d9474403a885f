/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "connect.h"

#include "pvfio/vmplan.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "pvfio/buf.h"
#include "pvfio/xalloc.h"

#define SECRET_MAX 4096

int pv_cli_read_secret(const char *env, const char *file, char **ret_secret, char **ret_source, struct pv_error *err) {
        char *secret = NULL, *source = NULL;
        if (env) {
                const char *v = getenv(env);
                if (!v || !*v)
                        return pv_error_set(err, PV_EAUTH, "the environment variable '%s' that should hold the secret is %s",
                                            env, v ? "empty" : "not set");
                secret = pv_xstrdup(v);
                source = pv_xasprintf("environment variable '%s'", env);
        } else if (file) {
                struct pv_buf b = PV_BUF_INIT_CAP(SECRET_MAX);
                int r = pv_buf_read_file_at(&b, AT_FDCWD, file, err);
                if (r < 0) {
                        pv_buf_release(&b);
                        return pv_error_wrap(err, "cannot read the secret file");
                }
                size_t n = strcspn(b.buf, "\r\n");
                b.buf[n] = '\0';
                n = strlen(pv_strip_trailing(b.buf));
                if (n == 0) {
                        pv_buf_release(&b);
                        return pv_error_set(err, PV_EAUTH, "the secret file '%s' is empty", file);
                }
                secret = pv_xstrdup(b.buf);
                if (b.alloc)
                        explicit_bzero(b.buf, b.alloc);
                pv_buf_release(&b);
                source = pv_xasprintf("file '%s'", file);
        } else {
                return pv_error_set(err, PV_EAUTH, "no secret source: set secret_env/secret_file (or password_env/password_file)");
        }
        *ret_secret = secret;
        *ret_source = source;
        return 0;
}

void pv_cli_conn_done(struct pv_cli_conn *c) {
        if (!c)
                return;
        pv_api_unref(c->api);
        pv_secret_free(c->secret);
        free(c->secret_source);
        memset(c, 0, sizeof *c);
}

int pv_cli_parse_retry(struct pv_ctx *ctx, const struct pv_cmd *cmd, const struct pv_args *args) {
        return pv_args_uint(ctx, cmd, args, "retry-time", 1, 3600, 0, &ctx->api_retry_s);
}

int pv_cli_connect(struct pv_ctx *ctx, const struct pv_cluster *cl, unsigned parallel, struct pv_cli_conn *ret,
                   struct pv_error *err) {
        struct pv_cli_conn c = { 0 };
        if (!cl->present || !cl->api_url || cl->auth == PV_AUTH_NONE)
                return pv_error_set(err, PV_EINVAL, "the profile has no cluster section with an API endpoint and credentials");
        int r = pv_cli_read_secret(cl->secret.env, cl->secret.file, &c.secret, &c.secret_source, err);
        if (r < 0)
                return r;
        struct pv_api_config cfg = {
                .url = cl->api_url,
                .auth = cl->auth,
                .token_id = cl->token_id,
                .user = cl->user,
                .secret = c.secret,
                .secret_source = c.secret_source,
                .fingerprint = cl->tls_fingerprint,
                .ca_file = cl->tls_ca_file,
                .insecure = cl->tls_insecure,
                .parallel = parallel ? parallel : cl->parallel,
                .timeout_ms = cl->timeout_s * 1000u,
                .log = &ctx->log,
                .retry_ms = (ctx->api_retry_s ? ctx->api_retry_s : cl->retry_time_s) * 1000u,
        };
        if (cfg.insecure && !cfg.fingerprint)
                pv_warn(ctx, "TLS certificate verification is off for %s (tls.insecure): pin the certificate instead "
                             "(pvfio api fingerprint %s)", cl->api_url, cl->api_url);
        r = pv_api_new(&cfg, &c.api, err);
        if (r < 0) {
                pv_cli_conn_done(&c);
                return r;
        }
        *ret = c;
        return 0;
}

int pv_cli_observe(struct pv_api *api, const struct pv_profile *profile, const struct pv_observe_opts *opts,
                   struct pv_observed *ret, struct pv_strv *warnings, struct pv_observe_stats *stats,
                   struct pv_error *err) {
        struct pv_observe_want want;
        int r = pv_observe_want_from_profile(profile, &want, err);
        if (r < 0)
                return r;
        r = pv_api_observe(api, &want, opts, ret, warnings, stats, err);
        pv_observe_want_done(&want);
        return r;
}
