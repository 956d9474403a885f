/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Profile loading, stage 2: the `cluster:` section (see profile_parse.c):
 * the API URL, auth, TLS and `cluster.ssh` with its per-node entries.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "pvfio/cleanup.h"
#include "pvfio/xalloc.h"
#include "profile_parse_int.h"

/* ---------------------------------------------------------------- cluster */

const char *const pvp_cluster_keys[] = { "name", "api", "auth", "tls", "parallel", "timeout", "ssh", "retry_time",
                                         NULL };
const char *const pvp_auth_keys[] = { "token", "secret_env", "secret_file", "user", "password_env", "password_file",
                                      NULL };
const char *const pvp_tls_keys[] = { "fingerprint", "ca_file", "insecure", NULL };
const char *const pvp_ssh_keys[] = { "command", "user", "port", "options", "identity_file", "known_hosts",
                                     "pvfio", "timeout", "parallel", "nodes", NULL };
const char *const pvp_ssh_node_keys[] = { "host", "port", "user", "identity_file", "pvfio", NULL };

/* https://host[:port][/] → "https://host:port" (port 8006 when omitted). */
static void type_api_url(struct pvp_ctx *c, const struct ynode *v) {
        struct pv_cluster *cl = &c->p->cluster;
        if (!pvp_is_text(c, v, "an https:// URL"))
                return;
        const char *s = v->text;
        if (!strncasecmp(s, "http://", 7)) {
                VERR(c, v, "must use https:// (TLS is mandatory; Proxmox serves its API on https://HOST:8006), " GOT,
                     GOTV(v));
                return;
        }
        if (strncasecmp(s, "https://", 8)) {
                VERR(c, v, "must be an https:// URL such as https://pve1.example.com:8006, " GOT, GOTV(v));
                return;
        }
        const char *h = s + 8, *e;
        _cleanup_free_ char *host = NULL;
        if (*h == '[') {
                e = strchr(h, ']');
                if (!e || e == h + 1 || strspn(h + 1, "0123456789abcdefABCDEF:.") != (size_t)(e - h - 1)) {
                        VERR(c, v, "has an invalid IPv6 address, " GOT, GOTV(v));
                        return;
                }
                e++;
        } else {
                e = h + strspn(h, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-");
                if (e == h || *h == '.' || *h == '-' || e[-1] == '-') {
                        VERR(c, v, "has no valid host name, " GOT, GOTV(v));
                        return;
                }
        }
        host = pv_xstrndup(h, (size_t)(e - h));
        for (char *p = host; *p; p++)
                *p = (char)tolower((unsigned char)*p);
        long port = 8006;
        if (*e == ':') {
                size_t nd = strspn(e + 1, "0123456789");
                port = nd && nd <= 5 ? strtol(e + 1, NULL, 10) : 0;
                if (port < 1 || port > 65535) {
                        VERR(c, v, "has an invalid port (1..65535), " GOT, GOTV(v));
                        return;
                }
                e += 1 + nd;
        }
        if (*e == '@' || strchr(h, '@')) {
                VERR(c, v, "must not contain user information ('user@'): credentials belong in 'cluster.auth'");
                return;
        }
        if (*e == '/' && e[1] == '\0')
                e++;
        if (*e) {
                VERR(c, v, "must not contain a path, query or fragment (pvfio adds /api2/json), " GOT, GOTV(v));
                return;
        }
        char *url = pv_xasprintf("https://%s:%ld", host, port);
        free(cl->api_url);
        cl->api_url = url;
        cl->api_url_loc = pvp_loc_of(c, v);
}

static void type_auth(struct pvp_ctx *c, const struct ynode *m) {
        struct pv_cluster *cl = &c->p->cluster;
        if (!pvp_is_map(c, m))
                return;
        pvp_check_keys(c, m, pvp_auth_keys);
        cl->auth_loc = pvp_loc_of(c, m);
        static const char *const who[] = { "token", "user", NULL };
        const char *kind = pvp_one_of(c, m, who, "'token' (API token) or 'user' (password login)");
        if (!kind)
                return;
        bool token = !strcmp(kind, "token");
        struct pvp_scope s = { 0 };
        const struct ynode *v = pvp_enter(c, m, kind, &s);
        if (pvp_is_text(c, v, token ? "an API token id USER@REALM!TOKENID" : "a user id USER@REALM")) {
                const char *bang = strrchr(v->text, '!');
                if (token) {
                        _cleanup_free_ char *user = bang ? pv_xstrndup(v->text, (size_t)(bang - v->text)) : NULL;
                        if (!bang || !pvp_re_userid(user) || !pvp_re_realm(bang + 1))
                                VERR(c, v, "must be an API token id USER@REALM!TOKENID (e.g. pvfio@pve!automation), " GOT,
                                     GOTV(v));
                        else if ((cl->token_id = pvp_sdup(c, v->text)))
                                cl->auth = PV_AUTH_TOKEN;
                } else {
                        if (bang || !pvp_re_userid(v->text))
                                VERR(c, v, "must be a user id USER@REALM (e.g. root@pam), " GOT, GOTV(v));
                        else if ((cl->user = pvp_sdup(c, v->text)))
                                cl->auth = PV_AUTH_PASSWORD;
                }
        }
        pvp_leave(c, &s);
        const char *env = token ? "secret_env" : "password_env";
        const char *file = token ? "secret_file" : "password_file";
        const char *other_env = token ? "password_env" : "secret_env";
        const char *other_file = token ? "password_file" : "secret_file";
        const char *wrong[] = { other_env, other_file, NULL };
        for (size_t i = 0; wrong[i]; i++) {
                const struct ynode *k = pvp_key_node(m, wrong[i]);
                if (!k)
                        continue;
                size_t mk = pvp_path_key(c, wrong[i]);
                pvp_diag(c, false, k, "'%s' belongs to %s; %s uses '%s' or '%s'", c->path.buf,
                         token ? "password login ('user')" : "an API token ('token')",
                         token ? "a token" : "password login", env, file);
                pvp_path_pop(c, mk);
        }
        const char *src[] = { env, file, NULL };
        _cleanup_free_ char *list = pv_xasprintf("'%s' or '%s'", env, file);
        const char *which = pvp_one_of(c, m, src, list);
        if (!which)
                return;
        v = pvp_enter(c, m, which, &s);
        if (!strcmp(which, env))
                pvp_t_str(c, v, pvp_re_envname, "an environment variable name ([A-Za-z_][A-Za-z0-9_]*)", &cl->secret.env);
        else
                pvp_t_str(c, v, pvp_re_path, "a file path", &cl->secret.file);
        cl->secret.loc = pvp_loc_of(c, v);
        pvp_leave(c, &s);
}

/* SHA-256 "AB:CD:…" (colons optional, any case) → upper-case with colons. */
static void type_fingerprint(struct pvp_ctx *c, const struct ynode *v) {
        if (!pvp_is_text(c, v, "a SHA-256 fingerprint"))
                return;
        char hex[65];
        size_t n = 0;
        bool ok = true;
        for (const char *p = v->text; *p && ok; p++) {
                if (*p == ':')
                        continue;
                if (!isxdigit((unsigned char)*p) || n == 64)
                        ok = false;
                else
                        hex[n++] = (char)toupper((unsigned char)*p);
        }
        if (!ok || n != 64) {
                VERR(c, v, "must be a SHA-256 fingerprint: 32 hex bytes, colon-separated as Proxmox shows it "
                           "(AB:CD:…), " GOT, GOTV(v));
                return;
        }
        char *fp = pv_xmalloc(32 * 3);
        for (size_t i = 0; i < 32; i++) {
                fp[i * 3] = hex[i * 2];
                fp[i * 3 + 1] = hex[i * 2 + 1];
                fp[i * 3 + 2] = i == 31 ? '\0' : ':';
        }
        free(c->p->cluster.tls_fingerprint);
        c->p->cluster.tls_fingerprint = fp;
}

static void type_tls(struct pvp_ctx *c, const struct ynode *m) {
        struct pv_cluster *cl = &c->p->cluster;
        if (!pvp_is_map(c, m))
                return;
        pvp_check_keys(c, m, pvp_tls_keys);
        cl->tls_loc = pvp_loc_of(c, m);
        struct pvp_scope s = { 0 };
        const struct ynode *v;
        if ((v = pvp_enter(c, m, "fingerprint", &s))) {
                type_fingerprint(c, v);
                pvp_leave(c, &s);
        }
        pvp_o_str(c, m, "ca_file", pvp_re_path, "a file path", &cl->tls_ca_file);
        bool insecure = false;
        if (pvp_o_bool(c, m, "insecure", &insecure) == 1 && insecure) {
                cl->tls_insecure = true;
                const struct ynode *k = pvp_key_node(m, "insecure");
                size_t mk = pvp_path_key(c, "insecure");
                if (pvp_ymap_find(m, "fingerprint"))
                        pvp_diag(c, false, k,
                                 "'%s: true' contradicts 'fingerprint': pinning a certificate needs verification; "
                                 "remove one of them", c->path.buf);
                else
                        pvp_diag(c, true, k,
                                 "'%s: true' disables TLS certificate verification; pin the certificate with "
                                 "'fingerprint' instead", c->path.buf);
                pvp_path_pop(c, mk);
        }
}

/* ------------------------------------------------------------ cluster.ssh */

/* A login name: [A-Za-z0-9_][A-Za-z0-9_.-]*, at most 32 characters (never an option). */
static bool re_sshuser(const char *s) {
        return *s && strlen(s) <= 32 && (pvp_alnum(s[0]) || s[0] == '_') && pvp_chars_ok(s, "_.-");
}
/* A DNS name, an IPv4 address or an IPv6 address (without brackets); never starts with '-'. */
static bool re_sshhost(const char *s) {
        size_t n = strlen(s);
        if (!n || n > 253 || s[0] == '-' || s[0] == '.')
                return false;
        return pvp_chars_ok(s, ".-") || strspn(s, "0123456789abcdefABCDEF:.") == n;
}
/* One word of the remote command: it reaches the node's login shell, so only [A-Za-z0-9_./+=:,@%-]. */
static bool re_shellword(const char *s) {
        return *s && pvp_chars_ok(s, "_./+=:,@%-");
}
/* The remote command: words of re_shellword separated by single spaces; the first not an option. */
static bool re_remote_cmd(const char *s) {
        if (!*s || *s == '-' || *s == ' ')
                return false;
        const char *p = s;
        while (*p) {
                size_t n = strcspn(p, " ");
                if (!n)
                        return false;
                char *w = strndup(p, n);
                bool ok = w && re_shellword(w);
                free(w);
                if (!ok)
                        return false;
                p += n;
                if (*p == ' ' && !*++p)
                        return false;
        }
        return true;
}
/* An ssh -o option "Key=Value": Key letters and digits, Value non-empty without control characters. */
static bool re_sshopt(const char *s) {
        size_t k = 0;
        while (pvp_alnum(s[k]))
                k++;
        return k > 0 && isalpha((unsigned char)s[0]) && s[k] == '=' && s[k + 1] && pvp_re_path(s + k + 1);
}

#define SSH_REMOTE_WHAT "a command such as 'pvfio' or '/usr/local/bin/pvfio' (words of letters, digits and _./+=:,@%-)"

static void type_ssh_options(struct pvp_ctx *c, const struct ynode *m, struct pv_ssh_config *ssh) {
        if (pvp_o_strlist(c, m, "options", re_sshopt, "an ssh option 'Key=Value' (e.g. 'ConnectTimeout=5')",
                          &ssh->options, NULL) != 1)
                return;
        const struct ynode *list = pvp_ymap_find(m, "options")->value;
        struct pvp_scope s = { 0 };
        pvp_enter(c, m, "options", &s);
        for (size_t i = 0; i < list->n_items && i < ssh->options.n; i++) {
                const char *o = ssh->options.v[i];
                const char *eq = strchr(o, '=');
                size_t mk = pvp_path_idx(c, i);
                if (!strncasecmp(o, "BatchMode=", 10) && strcasecmp(eq + 1, "yes"))
                        VERR(c, list->items[i], "cannot turn BatchMode off: pvfio runs ssh without a terminal, so a "
                                                "password or host-key prompt would hang; use keys (identity_file)");
                else if (!strncasecmp(o, "StrictHostKeyChecking=", 22) && strcasecmp(eq + 1, "yes"))
                        VWARN(c, list->items[i], "weakens host key checking ('%s'): pvfio checks host keys strictly "
                                                 "by default; prefer a known_hosts file with the nodes' keys", o);
                else if (!strncasecmp(o, "UserKnownHostsFile=", 19))
                        VERR(c, list->items[i], "sets the known hosts file; use 'cluster.ssh.known_hosts' instead");
                pvp_path_pop(c, mk);
        }
        pvp_leave(c, &s);
}

static void type_ssh_node(struct pvp_ctx *c, const struct ynode *key, const struct ynode *m, struct pv_ssh_node *n) {
        n->loc = pvp_loc_of(c, key);
        if (!pvp_re_node(key->text))
                pvp_diag(c, false, key, "'%s' is not a node name (letters, digits and inner '-', at most 63 characters)",
                         c->path.buf);
        n->node = pvp_sdup(c, key->text);
        if (!pvp_is_map(c, m))
                return;
        pvp_check_keys(c, m, pvp_ssh_node_keys);
        pvp_o_str(c, m, "host", re_sshhost, "a host name or IP address to connect to", &n->host);
        long long x;
        if (pvp_o_int(c, m, "port", 1, 65535, &x) == 1)
                n->port = (unsigned)x;
        pvp_o_str(c, m, "user", re_sshuser, "a login name ([A-Za-z0-9_][A-Za-z0-9_.-]*)", &n->user);
        pvp_o_str(c, m, "identity_file", pvp_re_path, "a file path", &n->identity_file);
        pvp_o_str(c, m, "pvfio", re_remote_cmd, SSH_REMOTE_WHAT, &n->pvfio);
}

static void type_ssh(struct pvp_ctx *c, const struct ynode *m) {
        struct pv_ssh_config *ssh = &c->p->cluster.ssh;
        if (!pvp_is_map(c, m))
                return;
        ssh->present = true;
        ssh->loc = pvp_loc_of(c, m);
        pvp_check_keys(c, m, pvp_ssh_keys);
        pvp_o_str(c, m, "command", pvp_re_noblank, "a program name or path without arguments (ssh options go in 'options')",
                  &ssh->command);
        pvp_o_str(c, m, "user", re_sshuser, "a login name ([A-Za-z0-9_][A-Za-z0-9_.-]*)", &ssh->user);
        long long x;
        if (pvp_o_int(c, m, "port", 1, 65535, &x) == 1)
                ssh->port = (unsigned)x;
        type_ssh_options(c, m, ssh);
        pvp_o_str(c, m, "identity_file", pvp_re_path, "a file path", &ssh->identity_file);
        pvp_o_str(c, m, "known_hosts", pvp_re_path, "a file path", &ssh->known_hosts);
        pvp_o_str(c, m, "pvfio", re_remote_cmd, SSH_REMOTE_WHAT, &ssh->pvfio);
        if (pvp_o_int(c, m, "timeout", 1, 86400, &x) == 1)
                ssh->timeout_s = (unsigned)x;
        if (pvp_o_int(c, m, "parallel", 1, 64, &x) == 1)
                ssh->parallel = (unsigned)x;
        struct pvp_scope s = { 0 };
        const struct ynode *v = pvp_enter(c, m, "nodes", &s);
        if (v && pvp_is_map(c, v) && v->n_pairs) {
                ssh->nodes = pv_xcalloc(v->n_pairs, sizeof(*ssh->nodes));
                for (size_t i = 0; ssh->nodes && i < v->n_pairs && !c->stop; i++) {
                        const struct ypair *p = &v->pairs[i];
                        size_t mk = pvp_path_key(c, p->key->text);
                        type_ssh_node(c, p->key, p->value, &ssh->nodes[ssh->n_nodes++]);
                        pvp_path_pop(c, mk);
                }
        }
        if (v)
                pvp_leave(c, &s);
}

void pvp_type_cluster(struct pvp_ctx *c, const struct ynode *m) {
        struct pv_cluster *cl = &c->p->cluster;
        if (!pvp_is_map(c, m))
                return;
        c->cluster_src = m;
        cl->present = true;
        pvp_check_keys(c, m, pvp_cluster_keys);
        pvp_o_str(c, m, "name", pvp_re_any, "a display name", &cl->name);
        struct pvp_scope s = { 0 };
        const struct ynode *v;
        pvp_require(c, m, "api");
        if ((v = pvp_enter(c, m, "api", &s))) {
                type_api_url(c, v);
                pvp_leave(c, &s);
        }
        pvp_require(c, m, "auth");
        if ((v = pvp_enter(c, m, "auth", &s))) {
                type_auth(c, v);
                pvp_leave(c, &s);
        }
        if ((v = pvp_enter(c, m, "tls", &s))) {
                type_tls(c, v);
                pvp_leave(c, &s);
        }
        long long x;
        if (pvp_o_int(c, m, "parallel", 1, 64, &x) == 1)
                cl->parallel = (unsigned)x;
        if (pvp_o_int(c, m, "timeout", 1, 3600, &x) == 1)
                cl->timeout_s = (unsigned)x;
        if (pvp_o_int(c, m, "retry_time", 1, 3600, &x) == 1)
                cl->retry_time_s = (unsigned)x;
        if ((v = pvp_enter(c, m, "ssh", &s))) {
                type_ssh(c, v);
                pvp_leave(c, &s);
        }
}
