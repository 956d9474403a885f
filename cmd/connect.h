/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Opening an API session from a profile's cluster section (secrets read here, in cmd/). */
#ifndef PVFIO_CMD_CONNECT_H
#define PVFIO_CMD_CONNECT_H

#include "cli.h"
#include "pvfio/api.h"
#include "pvfio/observe.h"
#include "pvfio/profile.h"

/* A session plus the secret it was built from (wiped on release). */
struct pv_cli_conn {
        struct pv_api *api;
        char *secret;
        char *secret_source;     /* "environment variable 'X'" / "file 'Y'" */
};

/* Read a secret from an environment variable or a file (first line, trailing newline stripped). */
int pv_cli_read_secret(const char *env, const char *file, char **ret_secret, char **ret_source, struct pv_error *err);
/* Open a session for the profile's cluster; parallel 0 = the profile's value. Warns when TLS is off. */
int pv_cli_connect(struct pv_ctx *ctx, const struct pv_cluster *cl, unsigned parallel, struct pv_cli_conn *ret,
                   struct pv_error *err);
/* Observe what the profile's plan needs (provision decides what, api reads it). */
int pv_cli_observe(struct pv_api *api, const struct pv_profile *profile, const struct pv_observe_opts *opts,
                   struct pv_observed *ret, struct pv_strv *warnings, struct pv_observe_stats *stats,
                   struct pv_error *err);
/* The --retry-time option of the commands that read the cluster (in their option tables). */
#define PV_CLI_RETRY_OPT                                                                                          \
        { "retry-time", 0, PV_OPT_VALUE, "SECONDS",                                                               \
          "keep retrying reads on 5xx/596/connection errors this long (default: profile, else 30)", false }
/* Parse --retry-time into ctx->api_retry_s (pv_cli_connect uses it). Returns <0 on a usage error. */
int pv_cli_parse_retry(struct pv_ctx *ctx, const struct pv_cmd *cmd, const struct pv_args *args);
/* Drop the session and wipe the secret. */
void pv_cli_conn_done(struct pv_cli_conn *c);

#endif
