/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Host sections of other nodes, over OpenSSH: pvfio runs
 *
 *   ssh [cluster.ssh.options as -o …] -o BatchMode=yes -o StrictHostKeyChecking=yes
 *       [-o UserKnownHostsFile=F] [-i KEY -o IdentitiesOnly=yes] [-p PORT] -l USER -T -- HOST
 *       PVFIO host plan|apply --json --node NODE [--yes] [--rebind] [--profile-bundle] -
 *
 * with the profile on stdin (a profile bundle with the node's ROM images when its host section has
 * `romfiles:`, pvfio/profilebundle.h; the plain profile otherwise), collects the JSON plan document the remote pvfio
 * prints, checks its format version, and decodes it into plan actions for the
 * merged plan. Every argument is a separate argv element (posix_spawnp, no local
 * shell); the remote words reach the node's login shell, so each is checked
 * against a conservative character set before anything runs.
 */
#ifndef PVFIO_ENGINE_REMOTE_H
#define PVFIO_ENGINE_REMOTE_H

#include <stdbool.h>

#include "proc.h"
#include "pvfio/plan.h"
#include "pvfio/planjson.h"
#include "pvfio/profile.h"

#define PV_SSH_CONNECT_TIMEOUT_OPT "ConnectTimeout=10"

enum pv_remote_op { PV_REMOTE_PLAN, PV_REMOTE_APPLY };

struct pv_remote_opts {
        enum pv_remote_op op;
        bool rebind;                    /* pass --rebind */
        bool profile_bundle;            /* pass --profile-bundle: stdin is a profile bundle (pvfio/profilebundle.h) */
};

/* One node reached over SSH. */
struct pv_remote {
        char *node;
        char *host;                     /* what ssh connects to (for messages) */
        char **argv;                    /* the ssh command line (NULL-terminated) */
        struct pv_proc proc;
        /* result, filled by pv_remote_collect() */
        bool ok;                        /* a plan document of our format arrived and was decoded */
        char *error;                    /* otherwise: why (one line, names the node) */
        struct pv_plan plan;            /* its actions (all host actions of `node`), notes and statuses */
        struct pv_plan_doc_info info;
        struct pv_strv remote_warnings; /* "pvfio: warning: …" lines of its stderr */
        char *bundle;                   /* the profile bundle sent on stdin (owned), NULL = the plain profile */
        size_t bundle_len;
};

/* The ssh argv for one node (new NULL-terminated array; free with pv_argv_free). */
int pv_remote_argv(const struct pv_profile *p, const char *node, const struct pv_remote_opts *o, char ***ret,
                   struct pv_error *err);
/* Prepare r for node: argv and the input (the profile's text, borrowed, must outlive the run; when node's
 * romfiles need images, r sends its own bundle of that text and the images instead); timeout 0 =
 * profile/default. */
int pv_remote_prepare(struct pv_remote *r, const struct pv_profile *p, const char *node,
                      const struct pv_remote_opts *o, const char *input, size_t input_len, unsigned timeout_s,
                      struct pv_error *err);
/* Run the sessions of v[0..n) (at most `parallel` at once). <0 only on an internal failure. */
int pv_remote_run(struct pv_remote *const *v, size_t n, unsigned parallel, struct pv_error *err);
/* Interpret a finished session (r->proc: spawned, status, timed_out, out, err): decode the
 * document, or set r->error. Tests fill r->proc by hand. */
void pv_remote_collect(struct pv_remote *r, enum pv_remote_op op);
void pv_remote_done(struct pv_remote *r);

#endif
