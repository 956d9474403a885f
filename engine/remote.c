/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "remote.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "pvfio/cleanup.h"
#include "pvfio/hostplan.h"
#include "pvfio/profilebundle.h"
#include "pvfio/util.h"
#include "pvfio/xalloc.h"

/* ------------------------------------------------------------ argv */

struct argv_b {
        char **v;
        size_t n, alloc;
};

static void add(struct argv_b *b, const char *s) {
        if (b->n + 2 > b->alloc) {
                b->alloc = b->alloc ? b->alloc * 2 : 32;
                b->v = pv_xreallocarray(b->v, b->alloc, sizeof *b->v);
        }
        b->v[b->n++] = pv_xstrdup(s ? s : "");
        b->v[b->n] = NULL;
}

static void add_opt(struct argv_b *b, const char *flag, const char *value) {
        add(b, flag);
        add(b, value);
}

/* A word that reaches the remote login shell: only characters no shell treats specially. */
static bool shell_safe(const char *s) {
        if (!*s)
                return false;
        for (; *s; s++)
                if (!(isascii((unsigned char)*s) && isalnum((unsigned char)*s)) && !strchr("_./+=:,@%-", *s))
                        return false;
        return true;
}

static bool host_safe(const char *s) {
        return *s && *s != '-' && shell_safe(s);
}

int pv_remote_argv(const struct pv_profile *p, const char *node, const struct pv_remote_opts *o, char ***ret,
                   struct pv_error *err) {
        const struct pv_ssh_config *ssh = &p->cluster.ssh;
        const struct pv_ssh_node *sn = pv_profile_ssh_node(p, node);
        const char *host = sn && sn->host ? sn->host : node;
        const char *user = sn && sn->user ? sn->user : ssh->user ? ssh->user : PV_SSH_DEFAULT_USER;
        const char *identity = sn && sn->identity_file ? sn->identity_file : ssh->identity_file;
        const char *remote = sn && sn->pvfio ? sn->pvfio : ssh->pvfio ? ssh->pvfio : PV_SSH_DEFAULT_PVFIO;
        unsigned port = sn && sn->port ? sn->port : ssh->port;
        if (!host_safe(host))
                return pv_error_set(err, PV_EINVAL, "refusing to connect to '%s' for node '%s': not a host name", host,
                                    node);
        if (!shell_safe(node) || *node == '-')
                return pv_error_set(err, PV_EINVAL, "refusing to pass the node name '%s' to a remote shell", node);
        struct argv_b b = { 0 };
        add(&b, ssh->command ? ssh->command : PV_SSH_DEFAULT_COMMAND);
        /* the profile's options first: for ssh the first value of an option wins */
        for (size_t i = 0; i < ssh->options.n; i++)
                add_opt(&b, "-o", ssh->options.v[i]);
        add_opt(&b, "-o", "BatchMode=yes");
        add_opt(&b, "-o", "StrictHostKeyChecking=yes");
        add_opt(&b, "-o", PV_SSH_CONNECT_TIMEOUT_OPT);
        if (ssh->known_hosts) {
                char *kh = pv_xasprintf("UserKnownHostsFile=%s", ssh->known_hosts);
                add_opt(&b, "-o", kh);
                free(kh);
        }
        if (identity) {
                add_opt(&b, "-i", identity);
                add_opt(&b, "-o", "IdentitiesOnly=yes");
        }
        if (port) {
                char pbuf[16];
                snprintf(pbuf, sizeof pbuf, "%u", port);
                add_opt(&b, "-p", pbuf);
        }
        add_opt(&b, "-l", user);
        add(&b, "-T");
        add(&b, "--");
        add(&b, host);
        /* the remote command: words of cluster.ssh.pvfio, then pvfio's arguments */
        const char *w = remote;
        bool bad = false;
        while (*w) {
                size_t n = strcspn(w, " ");
                char *word = pv_xstrndup(w, n);
                bad |= !shell_safe(word);
                add(&b, word);
                free(word);
                w += n;
                while (*w == ' ')
                        w++;
        }
        add(&b, "host");
        add(&b, o->op == PV_REMOTE_APPLY ? "apply" : "plan");
        add(&b, "--json");
        add_opt(&b, "--node", node);
        if (o->op == PV_REMOTE_APPLY)
                add(&b, "--yes");
        if (o->rebind)
                add(&b, "--rebind");
        if (o->profile_bundle)
                add(&b, "--profile-bundle");
        add(&b, "-");
        if (bad) {
                pv_argv_free(b.v);
                return pv_error_set(err, PV_EINVAL, "refusing to pass the remote command '%s' to the shell of "
                                                    "node '%s'", remote, node);
        }
        *ret = b.v;
        return 0;
}

/* ------------------------------------------------------------ running */

/* The node answers with its plan as JSON, and that carries every install-file's bytes as base64
 * (one per romfiles entry, entries that share a source included): room for them on top of the usual cap. */
static size_t answer_cap(const struct pv_profile *p, const char *node) {
        const struct pv_host_spec *spec = pv_profile_host_for_node(p, node);
        size_t extra = 0;
        for (size_t i = 0; spec && i < spec->n_romfiles; i++)
                if (spec->romfiles[i].data)
                        extra += (spec->romfiles[i].len + 2) / 3 * 4;
        return PV_PROC_OUT_CAP + extra;
}

int pv_remote_prepare(struct pv_remote *r, const struct pv_profile *p, const char *node,
                      const struct pv_remote_opts *o, const char *input, size_t input_len, unsigned timeout_s,
                      struct pv_error *err) {
        memset(r, 0, sizeof *r);
        r->plan = (struct pv_plan)PV_PLAN_INIT;
        r->remote_warnings = (struct pv_strv)PV_STRV_INIT;
        const struct pv_ssh_node *sn = pv_profile_ssh_node(p, node);
        r->node = pv_xstrdup(node);
        r->host = pv_xstrdup(sn && sn->host ? sn->host : node);
        int rr = pv_profile_bundle_for_node(p, node, input, input_len, &r->bundle, &r->bundle_len, err);
        struct pv_remote_opts ro = *o;
        ro.profile_bundle = r->bundle != NULL;
        if (rr == 0)
                rr = pv_remote_argv(p, node, &ro, &r->argv, err);
        if (rr < 0) {
                pv_remote_done(r);
                return rr;
        }
        if (!timeout_s)
                timeout_s = p->cluster.ssh.timeout_s ? p->cluster.ssh.timeout_s : PV_SSH_DEFAULT_TIMEOUT_S;
        r->proc.argv = r->argv;
        r->proc.input = r->bundle ? r->bundle : input;
        r->proc.input_len = r->bundle ? r->bundle_len : input_len;
        r->proc.timeout_ms = timeout_s * 1000u;
        r->proc.out_cap = answer_cap(p, node);
        return 0;
}

int pv_remote_run(struct pv_remote *const *v, size_t n, unsigned parallel, struct pv_error *err) {
        struct pv_proc **procs = pv_xcalloc(n ? n : 1, sizeof *procs);
        for (size_t i = 0; i < n; i++)
                procs[i] = &v[i]->proc;
        int r = pv_proc_run_all(procs, n, parallel, err);
        free(procs);
        return r;
}

/* ------------------------------------------------------------ results */

/* Lines of stderr, control characters made visible, "pvfio: " and "error: " prefixes dropped. */
static char *clean_line(const char *s, size_t n) {
        while (n && isspace((unsigned char)s[n - 1]))
                n--;
        while (n && isspace((unsigned char)*s))
                s++, n--;
        static const char *const pre[] = { "pvfio: ", "error: " };
        for (size_t i = 0; i < 2; i++) {
                size_t pl = strlen(pre[i]);
                if (n >= pl && !strncmp(s, pre[i], pl))
                        s += pl, n -= pl;
        }
        char *d = strndup(s, n > 400 ? 400 : n);
        if (d)
                for (char *c = d; *c; c++)
                        if ((unsigned char)*c < 0x20 || *c == 0x7f)
                                *c = '?';
        return d;
}

/* The most telling line of a remote stderr: the first "error:" line, else the last non-empty one. */
static char *stderr_reason(const char *text) {
        const char *first_err = NULL, *last = NULL;
        size_t first_len = 0, last_len = 0;
        for (const char *p = text; *p;) {
                size_t n = strcspn(p, "\n");
                bool blank = true;
                for (size_t i = 0; i < n; i++)
                        blank &= isspace((unsigned char)p[i]) != 0;
                if (!blank) {
                        last = p, last_len = n;
                        if (!first_err && memmem(p, n, "error:", 6))
                                first_err = p, first_len = n;
                }
                p += n + (p[n] == '\n');
        }
        if (first_err)
                return clean_line(first_err, first_len);
        if (last)
                return clean_line(last, last_len);
        return NULL;
}

/* A usage error (exit 64) says what it did not understand on its first line ("Try … --help" follows). */
static char *first_line(const char *text) {
        for (const char *p = text; *p;) {
                size_t n = strcspn(p, "\n");
                for (size_t i = 0; i < n; i++)
                        if (!isspace((unsigned char)p[i]))
                                return clean_line(p, n);
                p += n + (p[n] == '\n');
        }
        return NULL;
}

static void collect_warnings(struct pv_remote *r) {
        static const char pre[] = "pvfio: warning: ";
        for (const char *p = r->proc.err.buf; *p;) {
                size_t n = strcspn(p, "\n");
                if (n > sizeof pre - 1 && !strncmp(p, pre, sizeof pre - 1)) {
                        char *w = clean_line(p + sizeof pre - 1, n - (sizeof pre - 1));
                        if (w)
                                pv_strv_push_take(&r->remote_warnings, w, NULL);
                }
                p += n + (p[n] == '\n');
        }
}

static void fail(struct pv_remote *r, char *msg) {
        free(r->error);
        r->error = msg ? msg : strdup("out of memory");
        r->ok = false;
}

/* Prefix s with "NODE: " unless it already is; takes s. */
static char *node_prefixed(const char *node, char *s) {
        size_t nl = strlen(node);
        if (!s || (!strncmp(s, node, nl) && !strncmp(s + nl, ": ", 2)))
                return s;
        char *d = pv_xasprintf("%s: %s", node, s);
        free(s);
        return d;
}

static void prefix_all(const char *node, char **v, size_t n) {
        for (size_t i = 0; i < n; i++)
                v[i] = node_prefixed(node, v[i]);
}

/* The decoded plan must only hold host actions of the node asked for. */
static int check_plan(struct pv_remote *r, struct pv_error *err) {
        for (size_t i = 0; i < r->plan.n; i++) {
                struct pv_action *a = &r->plan.actions[i];
                if (!pv_action_is_host(a->kind))
                        return pv_error_set(err, PV_EINVAL, "its plan holds a cluster action ('%s'), not only host actions",
                                            pv_action_kind_to_string(a->kind));
                if (a->node && strcmp(a->node, r->node))
                        return pv_error_set(err, PV_EINVAL, "its plan is for node '%s'", a->node);
                if (!a->node)
                        a->node = pv_xstrdup(r->node);
        }
        if (r->info.node && strcmp(r->info.node, r->node))
                return pv_error_set(err, PV_EINVAL, "it answered for node '%s'", r->info.node);
        prefix_all(r->node, r->plan.reboot_reasons, r->plan.n_reboot_reasons);
        prefix_all(r->node, r->plan.warnings, r->plan.n_warnings);
        prefix_all(r->node, r->plan.drift, r->plan.n_drift);
        return 0;
}

void pv_remote_collect(struct pv_remote *r, enum pv_remote_op op) {
        struct pv_proc *p = &r->proc;
        r->ok = false;
        /* start from nothing, also when a session is interpreted again */
        pv_plan_done(&r->plan);
        pv_plan_doc_info_done(&r->info);
        pv_strv_done(&r->remote_warnings);
        collect_warnings(r);
        _cleanup_free_ char *how = pv_proc_describe(p);
        _cleanup_free_ char *why = stderr_reason(p->err.buf);
        if (!p->spawned) {
                fail(r, pv_asprintf(NULL, "node '%s': cannot run '%s': %s", r->node, r->argv ? r->argv[0] : "ssh",
                                    strerror(p->spawn_errno)));
                return;
        }
        if (p->timed_out) {
                fail(r, pv_asprintf(NULL, "node '%s': no answer over SSH from '%s' within %u s (cluster.ssh.timeout)",
                                    r->node, r->host, p->timeout_ms / 1000));
                return;
        }
        if (p->too_much) {
                fail(r, pv_asprintf(NULL, "node '%s': the remote pvfio %s", r->node, how ? how : "failed"));
                return;
        }
        int code = WIFEXITED(p->status) ? WEXITSTATUS(p->status) : -1;
        if (code == 255) {
                fail(r, pv_asprintf(NULL, "node '%s': cannot reach '%s' over SSH: %s", r->node, r->host,
                                    why ? why : "ssh failed without a message"));
                return;
        }
        if (code == 127 || code == 126) {
                fail(r, pv_asprintf(NULL, "node '%s': cannot run pvfio there (%s): install pvfio %s on %s or set "
                                          "cluster.ssh.pvfio",
                                    r->node, why ? why : how ? how : "command not found", PVFIO_VERSION, r->node));
                return;
        }
        /* a JSON document on stdout: check its format before anything else */
        json_t *doc = NULL;
        struct pv_error err = PV_ERROR_INIT;
        if (p->out.len && pv_plan_json_parse(p->out.buf, p->out.len, &doc, &err) == 0) {
                struct pv_plan_doc_info info;
                if (pv_plan_doc_header(doc, &info, &err) < 0) {
                        fail(r, pv_asprintf(NULL, "node '%s': the remote pvfio sent an unreadable plan: %s", r->node,
                                            pv_error_message(&err)));
                } else if (info.format_version < PV_PLAN_FORMAT_VERSION_MIN ||
                           info.format_version > PV_PLAN_FORMAT_VERSION) {
                        char fv[32];
                        if (info.format_version < 0)
                                snprintf(fv, sizeof fv, "no plan format");
                        else
                                snprintf(fv, sizeof fv, "plan format %lld", info.format_version);
                        fail(r, pv_asprintf(NULL, "node '%s': remote pvfio %s speaks %s, this pvfio speaks %d: install "
                                                  "pvfio %s on %s",
                                            r->node, info.pvfio_version ? info.pvfio_version : "(unknown version)", fv,
                                            PV_PLAN_FORMAT_VERSION, PVFIO_VERSION, r->node));
                        pv_plan_doc_info_done(&info);
                } else {
                        r->info = info;
                        bool good_exit = op == PV_REMOTE_PLAN ? code == 0 || code == 2 : code == 0 || code == 3;
                        struct pv_plan plan;
                        if (!good_exit) {
                                fail(r, pv_asprintf(NULL, "node '%s': the remote pvfio %s: %s", r->node,
                                                    how ? how : "failed", why ? why : "no message"));
                        } else if (pv_plan_from_json(doc, &plan, &err) < 0) {
                                fail(r, pv_asprintf(NULL, "node '%s': the remote pvfio sent an unreadable plan: %s",
                                                    r->node, pv_error_message(&err)));
                        } else {
                                r->plan = plan;
                                if (check_plan(r, &err) < 0) {
                                        fail(r, pv_asprintf(NULL, "node '%s': refusing the remote answer: %s", r->node,
                                                            pv_error_message(&err)));
                                        pv_plan_done(&r->plan);
                                } else {
                                        r->ok = true;
                                }
                        }
                }
                json_decref(doc);
                pv_error_done(&err);
                return;
        }
        pv_error_done(&err);
        if (code == 64 && r->bundle) {
                free(why);
                why = first_line(p->err.buf);
                fail(r, pv_asprintf(NULL, "node '%s': the remote pvfio does not understand 'host %s --json "
                                          "--profile-bundle' (%s), which sends it the ROM images of the node's romfiles: "
                                          "install pvfio %s on %s",
                                    r->node, op == PV_REMOTE_APPLY ? "apply" : "plan", why ? why : "usage error",
                                    PVFIO_VERSION, r->node));
                return;
        }
        if (code == 64) {
                fail(r, pv_asprintf(NULL, "node '%s': the remote pvfio does not understand 'host %s --json' (%s): "
                                          "install pvfio %s on %s",
                                    r->node, op == PV_REMOTE_APPLY ? "apply" : "plan", why ? why : "usage error",
                                    PVFIO_VERSION, r->node));
                return;
        }
        if (code != 0 || !p->out.len) {
                fail(r, pv_asprintf(NULL, "node '%s': the remote pvfio %s: %s", r->node, how ? how : "failed",
                                    why ? why : "no message"));
                return;
        }
        fail(r, pv_asprintf(NULL, "node '%s': the remote pvfio did not answer with a JSON plan (is it older than "
                                  "this one? install pvfio %s on %s)",
                            r->node, PVFIO_VERSION, r->node));
}

void pv_remote_done(struct pv_remote *r) {
        if (!r)
                return;
        free(r->node);
        free(r->host);
        pv_argv_free(r->argv);
        pv_proc_done(&r->proc);
        free(r->error);
        pv_plan_done(&r->plan);
        pv_plan_doc_info_done(&r->info);
        pv_strv_done(&r->remote_warnings);
        free(r->bundle);
        memset(r, 0, sizeof *r);
}
