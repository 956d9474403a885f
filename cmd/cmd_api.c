/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pvfio api get|set|create|delete PATH [KEY=VALUE…]   (pvesh-like, JSON out)
 * pvfio api fingerprint URL
 *
 * The connection comes from a profile's cluster section (--profile) and/or
 * the options below; options win. Secrets are read from an environment
 * variable or a file, never from the command line.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "connect.h"
#include "pvfio/api.h"
#include "pvfio/buf.h"
#include "pvfio/cleanup.h"
#include "pvfio/profile.h"
#include "pvfio/util.h"
#include "pvfio/xalloc.h"


static const struct pv_opt call_opts[] = {
        { "profile", 'p', PV_OPT_VALUE, "FILE", "take the connection from the profile's cluster section", false },
        { "url", 0, PV_OPT_VALUE, "URL", "API endpoint, https://HOST:8006", false },
        { "token-id", 0, PV_OPT_VALUE, "ID", "API token USER@REALM!TOKENID", false },
        { "secret-env", 0, PV_OPT_VALUE, "VAR", "environment variable holding the token secret", false },
        { "secret-file", 0, PV_OPT_VALUE, "FILE", "file holding the token secret", false },
        { "user", 0, PV_OPT_VALUE, "USER", "password login as USER@REALM (root@pam)", false },
        { "password-env", 0, PV_OPT_VALUE, "VAR", "environment variable holding the password", false },
        { "password-file", 0, PV_OPT_VALUE, "FILE", "file holding the password", false },
        { "fingerprint", 0, PV_OPT_VALUE, "SHA256", "pin the server certificate (see 'pvfio api fingerprint')",
          false },
        { "ca-file", 0, PV_OPT_VALUE, "FILE", "trust only the CA certificates in FILE (PEM)", false },
        { "insecure", 'k', PV_OPT_FLAG, NULL, "do not verify the server certificate at all (unsafe)", false },
        { "parallel", 0, PV_OPT_VALUE, "N", "concurrent requests (default 8)", false },
        { "timeout", 0, PV_OPT_VALUE, "SECONDS", "per-request timeout (default 30)", false },
        PV_CLI_RETRY_OPT,
        { "wait", 'w', PV_OPT_FLAG, NULL, "when the answer is a task id, wait for the task and print its status",
          false },
        { NULL, 0, 0, NULL, NULL, false },
};

static const struct pv_opt fingerprint_opts[] = {
        { "timeout", 0, PV_OPT_VALUE, "SECONDS", "connect timeout (default 10)", false },
        { NULL, 0, 0, NULL, NULL, false },
};

/* Everything a session config borrows from; released by conn_done. */
struct conn {
        struct pv_profile *profile;
        char *secret;
        char *secret_source;
        struct pv_api_config cfg;
};

static void conn_done(struct conn *c) {
        pv_profile_free(c->profile);
        pv_secret_free(c->secret);
        free(c->secret_source);
        memset(c, 0, sizeof *c);
}

static int read_secret(const char *env, const char *file, struct conn *c, struct pv_error *err) {
        return pv_cli_read_secret(env, file, &c->secret, &c->secret_source, err);
}

/* Fill c->cfg from --profile and the options. Returns an exit code (0 = go on). */
static int conn_setup(struct pv_ctx *ctx, const struct pv_cmd *cmd, const struct pv_args *a, struct conn *c) {
        struct pv_error err = PV_ERROR_INIT;
        const struct pv_cluster *cl = NULL;
        const char *pf = ctx->env.profile_file;
        if (pf) {
                /* --profile was loaded by the dispatcher (PV_CMD_NEEDS_PROFILE | PV_CMD_PROFILE_OPTION) */
                c->profile = TAKE_PTR(ctx->env.profile);
                cl = &c->profile->cluster;
                if (!cl->present)
                        return pv_cli_usage_error(ctx, cmd, "profile '%s' has no cluster section", pf);
        }
        struct pv_api_config *cfg = &c->cfg;
        cfg->url = pv_args_value(a, "url") ? pv_args_value(a, "url") : cl ? cl->api_url : NULL;
        if (!cfg->url)
                return pv_cli_usage_error(ctx, cmd, "no API endpoint: give --url https://HOST:8006 or --profile FILE");

        const char *token = pv_args_value(a, "token-id"), *user = pv_args_value(a, "user");
        const char *env = NULL, *file = NULL;
        if (token && user)
                return pv_cli_usage_error(ctx, cmd, "--token-id and --user exclude each other");
        if (token) {
                cfg->auth = PV_AUTH_TOKEN;
                cfg->token_id = token;
                env = pv_args_value(a, "secret-env");
                file = pv_args_value(a, "secret-file");
                if (!env && !file)
                        return pv_cli_usage_error(ctx, cmd, "--token-id needs --secret-env VAR or --secret-file FILE");
        } else if (user) {
                cfg->auth = PV_AUTH_PASSWORD;
                cfg->user = user;
                env = pv_args_value(a, "password-env");
                file = pv_args_value(a, "password-file");
                if (!env && !file)
                        return pv_cli_usage_error(ctx, cmd, "--user needs --password-env VAR or --password-file FILE");
        } else if (cl && cl->auth != PV_AUTH_NONE) {
                cfg->auth = cl->auth;
                cfg->token_id = cl->token_id;
                cfg->user = cl->user;
                env = cl->secret.env;
                file = cl->secret.file;
        } else {
                return pv_cli_usage_error(ctx, cmd,
                                          "no credentials: give --token-id ID --secret-env VAR, --user USER "
                                          "--password-env VAR, or --profile FILE");
        }
        if (env && file)
                return pv_cli_usage_error(ctx, cmd, "give the secret either from the environment or from a file");
        if (!env && !file)
                return pv_cli_usage_error(ctx, cmd, "the profile's cluster section names no secret (env or file)");
        if (read_secret(env, file, c, &err) < 0) {
                int r = pv_report_error(ctx, &err);
                pv_error_done(&err);
                return r;
        }
        cfg->secret = c->secret;
        cfg->secret_source = c->secret_source;
        cfg->fingerprint = pv_args_value(a, "fingerprint") ? pv_args_value(a, "fingerprint")
                           : cl                            ? cl->tls_fingerprint
                                                           : NULL;
        cfg->ca_file = pv_args_value(a, "ca-file") ? pv_args_value(a, "ca-file") : cl ? cl->tls_ca_file : NULL;
        cfg->insecure = pv_args_flag(a, "insecure") || (cl && cl->tls_insecure);
        unsigned par = 0, timeout = 0;
        if (pv_args_uint(ctx, cmd, a, "parallel", 1, PV_API_MAX_PARALLEL, cl ? cl->parallel : 0, &par) < 0 ||
            pv_args_uint(ctx, cmd, a, "timeout", 1, 3600, cl ? cl->timeout_s : 0, &timeout) < 0 ||
            pv_cli_parse_retry(ctx, cmd, a) < 0)
                return PV_EXIT_USAGE;
        cfg->retry_ms = (ctx->api_retry_s ? ctx->api_retry_s : cl ? cl->retry_time_s : 0) * 1000u;
        cfg->parallel = par;
        cfg->timeout_ms = timeout * 1000u;
        cfg->log = &ctx->log;
        if (cfg->insecure && !cfg->fingerprint)
                pv_warn(ctx,
                        "TLS certificate verification is off: anyone on the network path can read the credentials; "
                        "pin the certificate instead (pvfio api fingerprint %s)",
                        cfg->url);
        return 0;
}

static int print_data(struct pv_ctx *ctx, json_t *data) {
        int r = json_dumpf(data, ctx->out, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
        fputc('\n', ctx->out);
        return r < 0 ? PV_EXIT_ERROR : PV_EXIT_OK;
}

static void progress(void *userdata, const struct pv_task_status *st, unsigned elapsed_ms) {
        struct pv_ctx *ctx = userdata;
        if (!isatty(fileno(ctx->err)) || ctx->quiet)
                return;
        if (st->running)
                fprintf(ctx->err, "\r%s: waiting for task %s … %u s", ctx->prog, st->type ? st->type : "",
                        elapsed_ms / 1000);
        else
                fprintf(ctx->err, "\r\033[K");
        fflush(ctx->err);
}

static int wait_task(struct pv_ctx *ctx, struct pv_api *api, const char *upid) {
        struct pv_error err = PV_ERROR_INIT;
        struct pv_task_status st = { 0 };
        struct pv_task_wait w = { .progress = progress, .userdata = ctx };
        int r = pv_api_task_wait(api, upid, &w, &st, &err);
        if (r < 0) {
                if (isatty(fileno(ctx->err)) && !ctx->quiet)
                        fprintf(ctx->err, "\r\033[K");
                r = pv_report_error(ctx, &err);
                pv_error_done(&err);
                return r;
        }
        json_t *o = json_pack("{s:s, s:s?, s:s?, s:s, s:s?}", "upid", upid, "node", st.node, "type", st.type, "status",
                              st.running ? "running" : "stopped", "exitstatus", st.exitstatus);
        pv_task_status_done(&st);
        if (!o)
                return PV_EXIT_ERROR;
        r = print_data(ctx, o);
        json_decref(o);
        return r;
}

/* PATH and KEY=VALUE, checked before --profile is read. */
static int check_call(struct pv_ctx *ctx, const struct pv_cmd *cmd, struct pv_args *args) {
        const char *path = args->pos[0];
        if (path[0] != '/')
                return pv_cli_usage_error(ctx, cmd, "PATH '%s' must start with '/' (e.g. /nodes)", path);
        for (int i = 1; i < args->npos; i++) {
                const char *kv = args->pos[i];
                const char *eq = strchr(kv, '=');
                if (!eq || eq == kv)
                        return pv_cli_usage_error(ctx, cmd, "expected KEY=VALUE, got '%s'", kv);
        }
        return PV_EXIT_OK;
}

static int run_call(struct pv_ctx *ctx, const struct pv_cmd *cmd, struct pv_args *args) {
        enum pv_api_method m = strcmp(cmd->name, "get") == 0      ? PV_API_GET
                               : strcmp(cmd->name, "set") == 0    ? PV_API_PUT
                               : strcmp(cmd->name, "create") == 0 ? PV_API_POST
                                                                  : PV_API_DELETE;
        const char *path = args->pos[0];
        struct pv_error err = PV_ERROR_INIT;
        struct pv_api_params params = PV_API_PARAMS_INIT;
        for (int i = 1; i < args->npos; i++) {   /* KEY=VALUE each (check_call) */
                const char *kv = args->pos[i];
                const char *eq = strchr(kv, '=');
                _cleanup_free_ char *key = pv_xstrndup(kv, (size_t)(eq - kv));
                pv_api_params_add(&params, key, eq + 1, NULL);  /* does not fail (pvfio/xalloc.h) */
        }
        struct conn c = { 0 };
        int rc = conn_setup(ctx, cmd, args, &c);
        struct pv_api *api = NULL;
        if (rc == 0 && pv_api_new(&c.cfg, &api, &err) < 0)
                rc = pv_report_error(ctx, &err);
        json_t *data = NULL;
        if (rc == 0 && pv_api_call(api, m, path, &params, &data, &err) < 0)
                rc = pv_report_error(ctx, &err);
        if (rc == 0) {
                const char *s = json_string_value(data);
                if (pv_args_flag(args, "wait") && s && pv_startswith(s, "UPID:"))
                        rc = wait_task(ctx, api, s);
                else
                        rc = print_data(ctx, data);
        }
        if (api && ctx->verbose >= 2) {
                struct pv_api_stats st;
                pv_api_get_stats(api, &st);
                pv_log_debug(&ctx->log, "api: %lu request(s), %lu new connection(s), %lu retr%s, %lu login(s)",
                             st.requests, st.connects, st.retries, st.retries == 1 ? "y" : "ies", st.logins);
        }
        json_decref(data);
        pv_api_unref(api);
        conn_done(&c);
        pv_api_params_done(&params);
        pv_error_done(&err);
        return rc;
}

static int run_fingerprint(struct pv_ctx *ctx, const struct pv_cmd *cmd, struct pv_args *args) {
        unsigned timeout = 0;
        if (pv_args_uint(ctx, cmd, args, "timeout", 1, 600, 10, &timeout) < 0)
                return PV_EXIT_USAGE;
        struct pv_error err = PV_ERROR_INIT;
        struct pv_api_cert_info info = { 0 };
        if (pv_api_fetch_fingerprint(args->pos[0], timeout * 1000u, &ctx->log, &info, &err) < 0) {
                int r = pv_report_error(ctx, &err);
                pv_error_done(&err);
                return r;
        }
        int rc = PV_EXIT_OK;
        if (ctx->json) {
                json_t *o = json_pack("{s:s, s:s, s:s?, s:s?, s:s?}", "url", args->pos[0], "fingerprint",
                                      info.fingerprint, "subject", info.subject, "issuer", info.issuer, "not_after",
                                      info.not_after);
                rc = o ? print_data(ctx, o) : PV_EXIT_ERROR;
                json_decref(o);
        } else {
                fprintf(ctx->out, "%s\n", info.fingerprint);
                if (!ctx->quiet)
                        fprintf(ctx->err,
                                "subject: %s\nissuer:  %s\nexpires: %s\n"
                                "Compare it with 'pvenode cert info' on the node (or the GUI: node > System > "
                                "Certificates) before pinning it as cluster.tls.fingerprint.\n",
                                info.subject ? info.subject : "?", info.issuer ? info.issuer : "?",
                                info.not_after ? info.not_after : "?");
        }
        pv_api_cert_info_done(&info);
        return rc;
}

#define CALL_DESCRIPTION(what)                                                                                         \
        what "\nPATH is below /api2/json (as with pvesh); KEY=VALUE pairs become query\n"                            \
             "parameters (get, delete) or a form body (set, create); repeat a key for a list.\n"                      \
             "The answer's data is printed as JSON. Secrets come from --secret-env/--secret-file\n"                   \
             "(token) or --password-env/--password-file (password login), never from argv."

static const struct pv_cmd api_get = {
        .name = "get",
        .summary = "GET an API path and print the data as JSON",
        .usage = "PATH [KEY=VALUE...]",
        .description = CALL_DESCRIPTION("Example: pvfio api get /cluster/resources type=vm --profile site.yaml"),
        .opts = call_opts,
        .min_args = 1,
        .max_args = -1,
        .run = run_call,
        .json = true,
        .parent = "api",
        .flags = PV_CMD_NEEDS_PROFILE | PV_CMD_PROFILE_OPTION,
        .profile_report = PV_PROFILE_REPORT_TERSE,
        .check = check_call,
};

static const struct pv_cmd api_set = {
        .name = "set",
        .summary = "PUT (update) an API path",
        .usage = "PATH [KEY=VALUE...]",
        .description = CALL_DESCRIPTION("Example: pvfio api set /nodes/pve1/qemu/100/config memory=8192"),
        .opts = call_opts,
        .min_args = 1,
        .max_args = -1,
        .run = run_call,
        .json = true,
        .parent = "api",
        .flags = PV_CMD_NEEDS_PROFILE | PV_CMD_PROFILE_OPTION,
        .profile_report = PV_PROFILE_REPORT_TERSE,
        .check = check_call,
};

static const struct pv_cmd api_create = {
        .name = "create",
        .summary = "POST (create) to an API path; --wait follows a task",
        .usage = "PATH [KEY=VALUE...]",
        .description = CALL_DESCRIPTION("Example: pvfio api create /nodes/pve1/qemu/100/status/start --wait"),
        .opts = call_opts,
        .min_args = 1,
        .max_args = -1,
        .run = run_call,
        .json = true,
        .parent = "api",
        .flags = PV_CMD_NEEDS_PROFILE | PV_CMD_PROFILE_OPTION,
        .profile_report = PV_PROFILE_REPORT_TERSE,
        .check = check_call,
};

static const struct pv_cmd api_delete = {
        .name = "delete",
        .summary = "DELETE an API path",
        .usage = "PATH [KEY=VALUE...]",
        .description = CALL_DESCRIPTION("Example: pvfio api delete /cluster/mapping/pci/gpu1"),
        .opts = call_opts,
        .min_args = 1,
        .max_args = -1,
        .run = run_call,
        .json = true,
        .parent = "api",
        .flags = PV_CMD_NEEDS_PROFILE | PV_CMD_PROFILE_OPTION,
        .profile_report = PV_PROFILE_REPORT_TERSE,
        .check = check_call,
};

static const struct pv_cmd api_fingerprint = {
        .name = "fingerprint",
        .summary = "print the SHA-256 fingerprint of a server's TLS certificate",
        .usage = "URL",
        .description = "Connects to URL (https://HOST:8006) without trusting anything and without\n"
                       "sending a request, and prints the leaf certificate's SHA-256 fingerprint as\n"
                       "Proxmox shows it (AA:BB:…), for cluster.tls.fingerprint or --fingerprint.",
        .opts = fingerprint_opts,
        .min_args = 1,
        .max_args = 1,
        .run = run_fingerprint,
        .json = true,
        .parent = "api",
};

static const struct pv_cmd *const api_subcmds[] = {
        &api_get, &api_set, &api_create, &api_delete, &api_fingerprint, NULL,
};

const struct pv_cmd pv_cmd_api = {
        .name = "api",
        .summary = "talk to the Proxmox API directly (pvesh-like debugging)",
        .subcmds = api_subcmds,
        .max_args = -1,
};
