/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Profile loading, stage 2: node tree → typed model.
 *
 * Each section is typed by hand against its key list; every value that is
 * wrong becomes a diagnostic at the value (unknown keys at the key) and
 * typing goes on, so one run reports everything. VM mappings are merged
 * on the nodes first (defaults < template chain, base first < the VM); the
 * merged pairs keep their original nodes, so a bad value inherited from a
 * template is reported at the template's line. Templates and defaults are
 * typed on their own as well, so their problems are reported once, under
 * their own key path; inherited values are then typed quietly.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "pvfio/cleanup.h"
#include "profile_int.h"

/* ----------------------------------------------------------- key scopes */

/* Look up `key` in mapping m; when present push it on the key path (inherited values are typed quietly). */
const struct ynode *pvp_enter(struct pvp_ctx *c, const struct ynode *m, const char *key, struct pvp_scope *s) {
        const struct ypair *p = pvp_ymap_find(m, key);
        if (!p)
                return NULL;
        s->mark = pvp_path_key(c, key);
        s->quiet = c->quiet;
        if (p->inherited)
                c->quiet = true;
        return p->value;
}

void pvp_leave(struct pvp_ctx *c, const struct pvp_scope *s) {
        pvp_path_pop(c, s->mark);
        c->quiet = s->quiet;
}

static const struct ynode *key_node(const struct ynode *m, const char *key) {
        const struct ypair *p = pvp_ymap_find(m, key);
        return p ? p->key : NULL;
}

#define VERR(c, n, fmt, ...) pvp_diag((c), false, (n), "'%s' " fmt, (c)->path.buf, ##__VA_ARGS__)
#define VWARN(c, n, fmt, ...) pvp_diag((c), true, (n), "'%s' " fmt, (c)->path.buf, ##__VA_ARGS__)

/* "got 'text'" / "got a list" */
#define GOT "got %s%.*s%s"
#define GOTV(v) q_(v), q_len(v), q_text(v), q_(v)
static const char *q_(const struct ynode *v) {
        return v->kind == Y_SCALAR && v->stype != YS_NULL ? "'" : "";
}
static const char *q_text(const struct ynode *v) {
        return v->kind == Y_SCALAR && v->stype != YS_NULL ? v->text : pvp_ykind_name(v);
}
static int q_len(const struct ynode *v) {
        size_t n = strlen(q_text(v));
        return (int)(n > 60 ? 60 : n);
}

static struct pv_loc loc_of(struct pvp_ctx *c, const struct ynode *n) {
        return (struct pv_loc){ c->p->file, n->line, n->col };
}

static char *sdup(struct pvp_ctx *c, const char *s) {
        char *r = strdup(s);
        if (!r)
                pvp_oom(c);
        return r;
}

static bool in_list(const char *s, const char *const *list) {
        for (size_t i = 0; list[i]; i++)
                if (!strcmp(s, list[i]))
                        return true;
        return false;
}

static bool is_secret_key(const char *k) {
        return !strcmp(k, "secret") || !strcmp(k, "password") || !strcmp(k, "token_secret");
}

/* Report every key of m that is not in `known` (inherited pairs were checked at their source). */
static void check_keys(struct pvp_ctx *c, const struct ynode *m, const char *const *known) {
        for (size_t i = 0; i < m->n_pairs && !c->stop; i++) {
                const struct ypair *p = &m->pairs[i];
                const char *k = p->key->text;
                if (p->inherited || in_list(k, known))
                        continue;
                _cleanup_free_ char *where = NULL;
                if (c->path.len)
                        where = pv_asprintf(NULL, "in '%s'", c->path.buf);
                else
                        where = strdup("at the top level");
                if (!where) {
                        pvp_oom(c);
                        return;
                }
                size_t mk = pvp_path_key(c, k);
                if (is_secret_key(k)) {
                        pvp_diag(c, false, p->key,
                                 "'%s' holds a secret: secrets must not be written in the profile; use %s", c->path.buf,
                                 strcmp(k, "password") ? "secret_env or secret_file"
                                                       : "password_env or password_file");
                } else {
                        const char *hint = pvp_suggest(k, known);
                        pvp_diag(c, false, p->key, "unknown key '%.*s' %s%s%s%s", (int)(strlen(k) > 80 ? 80 : strlen(k)),
                                 k, where, hint ? "; did you mean '" : "", hint ? hint : "", hint ? "'?" : "");
                }
                pvp_path_pop(c, mk);
        }
}

/* Report when none or more than one of `keys` is present in m. Returns the present key or NULL. */
static const char *one_of(struct pvp_ctx *c, const struct ynode *m, const char *const *keys, const char *list) {
        const struct ypair *first = NULL;
        for (size_t i = 0; i < m->n_pairs; i++) {
                const struct ypair *p = &m->pairs[i];
                if (!in_list(p->key->text, keys))
                        continue;
                if (!first) {
                        first = p;
                        continue;
                }
                bool q = c->quiet;
                c->quiet = q || p->inherited;
                VERR(c, p->key, "has both '%s' and '%s': use exactly one of %s", first->key->text, p->key->text, list);
                c->quiet = q;
        }
        if (!first)
                VERR(c, m, "needs one of %s", list);
        return first ? first->key->text : NULL;
}

static void require(struct pvp_ctx *c, const struct ynode *m, const char *key) {
        if (!pvp_ymap_find(m, key))
                VERR(c, m, "needs '%s'", key);
}

/* ----------------------------------------------------------- value types */

static bool is_map(struct pvp_ctx *c, const struct ynode *v) {
        if (v->kind == Y_MAP)
                return true;
        if (v->kind == Y_SCALAR && v->stype == YS_NULL)
                VERR(c, v, "has no value; expected a mapping");
        else
                VERR(c, v, "must be a mapping, " GOT, GOTV(v));
        return false;
}

static bool is_seq(struct pvp_ctx *c, const struct ynode *v) {
        if (v->kind == Y_SEQ)
                return true;
        if (v->kind == Y_SCALAR && v->stype == YS_NULL)
                VERR(c, v, "has no value; expected a list (write [] for none)");
        else
                VERR(c, v, "must be a list, " GOT, GOTV(v));
        return false;
}

/* A non-empty scalar; its text is used whatever its core type (so `name: 101` is "101"). */
static bool is_text(struct pvp_ctx *c, const struct ynode *v, const char *what) {
        if (v->kind == Y_SCALAR && v->stype != YS_NULL && v->len > 0)
                return true;
        if (v->kind == Y_SCALAR)
                VERR(c, v, "has no value; expected %s", what);
        else
                VERR(c, v, "must be %s, " GOT, what, GOTV(v));
        return false;
}

static bool yaml11_bool(const char *s) {
        static const char *const w[] = { "yes", "no", "on", "off", "y", "n", "Yes", "No", "On", "Off", "YES", "NO",
                                         "ON", "OFF", NULL };
        return in_list(s, w);
}

static bool t_bool(struct pvp_ctx *c, const struct ynode *v, bool *out) {
        if (v->kind == Y_SCALAR && v->stype == YS_BOOL) {
                *out = v->bval;
                return true;
        }
        if (v->kind == Y_SCALAR && v->stype == YS_STR && yaml11_bool(v->text))
                VERR(c, v, "must be true or false ('%s' is not a boolean in YAML 1.2)", v->text);
        else if (v->kind == Y_SCALAR && v->stype == YS_NULL)
                VERR(c, v, "has no value; expected true or false");
        else
                VERR(c, v, "must be true or false, " GOT, GOTV(v));
        return false;
}

static bool t_int(struct pvp_ctx *c, const struct ynode *v, long long min, long long max, long long *out) {
        if (v->kind == Y_SCALAR && v->stype == YS_INT) {
                if (!v->int_overflow && v->ival >= min && v->ival <= max) {
                        *out = v->ival;
                        return true;
                }
                VERR(c, v, "must be from %lld to %lld, " GOT, min, max, GOTV(v));
                return false;
        }
        if (v->kind == Y_SCALAR && v->stype == YS_NULL)
                VERR(c, v, "has no value; expected an integer from %lld to %lld", min, max);
        else if (v->kind == Y_SCALAR && v->stype == YS_STR && v->len && strspn(v->text, "0123456789") == v->len)
                VERR(c, v, "must be an integer from %lld to %lld, " GOT " (a quoted string; write it without quotes)",
                     min, max, GOTV(v));
        else
                VERR(c, v, "must be an integer from %lld to %lld, " GOT, min, max, GOTV(v));
        return false;
}

/* An enum value: index into names (NULL-terminated), or -1 after a diagnostic. */
static int t_enum(struct pvp_ctx *c, const struct ynode *v, const char *const *names) {
        if (v->kind == Y_SCALAR && v->stype != YS_NULL)
                for (size_t i = 0; names[i]; i++)
                        if (!strcmp(v->text, names[i]))
                                return (int)i;
        _cleanup_free_ char *list = NULL;
        struct pv_buf b = PV_BUF_INIT;
        for (size_t i = 0; names[i]; i++)
                if (pv_buf_addf(&b, NULL, "%s%s", i ? ", " : "", names[i]) < 0)
                        pvp_oom(c);
        if (pv_buf_detach(&b, &list, NULL, NULL) < 0) {
                pv_buf_release(&b);
                pvp_oom(c);
                return -1;
        }
        const char *hint = v->kind == Y_SCALAR && v->stype != YS_NULL ? pvp_suggest(v->text, names) : NULL;
        if (v->kind == Y_SCALAR && v->stype == YS_NULL)
                VERR(c, v, "has no value; expected one of %s", list);
        else
                VERR(c, v, "must be one of %s, " GOT "%s%s%s", list, GOTV(v), hint ? "; did you mean '" : "",
                     hint ? hint : "", hint ? "'?" : "");
        return -1;
}

/* ---------------------------------------------------------------- patterns */

static bool alnum(char ch) {
        return isascii((unsigned char)ch) && isalnum((unsigned char)ch);
}
static bool chars_ok(const char *s, const char *extra) {
        for (; *s; s++)
                if (!alnum(*s) && !strchr(extra, *s))
                        return false;
        return true;
}

/* ^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?$, at most 63 characters */
static bool re_node(const char *s) {
        size_t n = strlen(s);
        return n && n <= 63 && alnum(s[0]) && alnum(s[n - 1]) && chars_ok(s, "-");
}
/* ^[a-zA-Z0-9]([a-zA-Z0-9.-]*[a-zA-Z0-9])?$, at most 63 characters */
static bool re_dns(const char *s) {
        size_t n = strlen(s);
        return n && n <= 63 && alnum(s[0]) && alnum(s[n - 1]) && chars_ok(s, ".-");
}
/* ^[a-zA-Z][a-zA-Z0-9\-_.]*[a-zA-Z0-9]$ */
static bool re_storage(const char *s) {
        size_t n = strlen(s);
        return n >= 2 && isalpha((unsigned char)s[0]) && isascii((unsigned char)s[0]) && alnum(s[n - 1]) &&
               chars_ok(s, "-_.");
}
/* ^[a-zA-Z][a-zA-Z0-9_.-]*$ */
static bool re_bridge(const char *s) {
        return isascii((unsigned char)s[0]) && isalpha((unsigned char)s[0]) && chars_ok(s, "_.-");
}
/* ^[a-zA-Z0-9_][a-zA-Z0-9_\-+.]*$ */
static bool re_tag(const char *s) {
        return *s && (alnum(s[0]) || s[0] == '_') && chars_ok(s, "_-+.");
}
/* ^[a-zA-Z0-9_-]+$ */
static bool re_driver(const char *s) {
        return *s && chars_ok(s, "_-");
}
/* ^[a-z0-9][a-z0-9_-]*$ */
static bool re_template(const char *s) {
        if (!*s || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9')))
                return false;
        for (; *s; s++)
                if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' || *s == '-'))
                        return false;
        return true;
}
/* pve-configid ^[a-z][a-z0-9_-]+$ (case-insensitive) */
static bool re_configid(const char *s) {
        return strlen(s) >= 2 && isascii((unsigned char)s[0]) && isalpha((unsigned char)s[0]) && chars_ok(s, "_-");
}
/* ^[+-][a-zA-Z0-9_-]+$ */
static bool re_cpuflag(const char *s) {
        return (s[0] == '+' || s[0] == '-') && s[1] && chars_ok(s + 1, "_-");
}
/* CPU model names: "host", "x86-64-v2-AES", "custom-foo" */
static bool re_cputype(const char *s) {
        return alnum(s[0]) && chars_ok(s, "_.+-") && strlen(s) <= 64;
}
/* ^[^/.:]+$ */
static bool re_mdev(const char *s) {
        return *s && !strpbrk(s, "/.:");
}
/* ^[0-9]+\.[0-9]+(\+pve[0-9]+)?$ */
static bool re_machver(const char *s) {
        size_t a = strspn(s, "0123456789");
        if (!a || s[a] != '.')
                return false;
        s += a + 1;
        size_t b = strspn(s, "0123456789");
        if (!b)
                return false;
        s += b;
        if (!*s)
                return true;
        if (strncmp(s, "+pve", 4))
                return false;
        s += 4;
        size_t d = strspn(s, "0123456789");
        return d && !s[d];
}
/* ^[A-Za-z_][A-Za-z0-9_]*$ */
static bool re_envname(const char *s) {
        return *s && !(s[0] >= '0' && s[0] <= '9') && chars_ok(s, "_");
}
/* realm / token id: [A-Za-z][A-Za-z0-9.\-_]+ */
static bool re_realm(const char *s) {
        return strlen(s) >= 2 && isascii((unsigned char)s[0]) && isalpha((unsigned char)s[0]) && chars_ok(s, ".-_");
}
/* pve-userid: name@realm, name = [^\s:/]+, at most 64 characters */
static bool re_userid(const char *s) {
        const char *at = strrchr(s, '@');
        if (!at || at == s || strlen(s) > 64 || !re_realm(at + 1))
                return false;
        for (const char *p = s; p < at; p++)
                if (isspace((unsigned char)*p) || *p == ':' || *p == '/')
                        return false;
        return true;
}
/* a file path: non-empty, no control characters */
static bool re_path(const char *s) {
        for (; *s; s++)
                if ((unsigned char)*s < 0x20 || *s == 0x7f)
                        return false;
        return true;
}
static bool re_any(const char *s) {
        (void)s;
        return true;
}
static bool re_noblank(const char *s) {
        for (; *s; s++)
                if (isspace((unsigned char)*s))
                        return false;
        return true;
}

/* A string checked by `valid`; *out is a new copy. */
static bool t_str(struct pvp_ctx *c, const struct ynode *v, bool (*valid)(const char *), const char *what, char **out) {
        if (!is_text(c, v, what))
                return false;
        if (valid && !valid(v->text)) {
                VERR(c, v, "must be %s, " GOT, what, GOTV(v));
                return false;
        }
        char *s = sdup(c, v->text);
        if (!s)
                return false;
        free(*out);
        *out = s;
        return true;
}

/* ----------------------------------------------------------- optional keys */

static int o_bool(struct pvp_ctx *c, const struct ynode *m, const char *key, bool *out) {
        struct pvp_scope s = { 0 };
        const struct ynode *v = pvp_enter(c, m, key, &s);
        if (!v)
                return 0;
        bool ok = t_bool(c, v, out);
        pvp_leave(c, &s);
        return ok ? 1 : -1;
}

/* A boolean stored as -1 (unset) / 0 / 1. */
static void o_tri(struct pvp_ctx *c, const struct ynode *m, const char *key, int *out) {
        bool b;
        if (o_bool(c, m, key, &b) == 1)
                *out = b;
}

static int o_int(struct pvp_ctx *c, const struct ynode *m, const char *key, long long min, long long max,
                 long long *out) {
        struct pvp_scope s = { 0 };
        const struct ynode *v = pvp_enter(c, m, key, &s);
        if (!v)
                return 0;
        bool ok = t_int(c, v, min, max, out);
        pvp_leave(c, &s);
        return ok ? 1 : -1;
}

static int o_str(struct pvp_ctx *c, const struct ynode *m, const char *key, bool (*valid)(const char *),
                 const char *what, char **out) {
        struct pvp_scope s = { 0 };
        const struct ynode *v = pvp_enter(c, m, key, &s);
        if (!v)
                return 0;
        bool ok = t_str(c, v, valid, what, out);
        pvp_leave(c, &s);
        return ok ? 1 : -1;
}

static int o_enum(struct pvp_ctx *c, const struct ynode *m, const char *key, const char *const *names, int *out) {
        struct pvp_scope s = { 0 };
        const struct ynode *v = pvp_enter(c, m, key, &s);
        if (!v)
                return 0;
        int r = t_enum(c, v, names);
        pvp_leave(c, &s);
        if (r < 0)
                return -1;
        *out = r;
        return 1;
}

/* A list of strings each checked by `valid`; item locations optional. */
static int o_strlist(struct pvp_ctx *c, const struct ynode *m, const char *key, bool (*valid)(const char *),
                     const char *what, struct pv_strv *out, struct pv_loc **ret_locs) {
        struct pvp_scope s = { 0 };
        const struct ynode *v = pvp_enter(c, m, key, &s);
        if (!v)
                return 0;
        int r = 1;
        if (!is_seq(c, v)) {
                pvp_leave(c, &s);
                return -1;
        }
        struct pv_loc *locs = NULL;
        if (ret_locs && v->n_items) {
                locs = calloc(v->n_items, sizeof(*locs));
                if (!locs)
                        pvp_oom(c);
        }
        pv_strv_done(out);
        for (size_t i = 0; i < v->n_items && !c->stop; i++) {
                const struct ynode *it = v->items[i];
                size_t mk = pvp_path_idx(c, i);
                char *str = NULL;
                if (t_str(c, it, valid, what, &str)) {
                        if (locs)
                                locs[out->n] = loc_of(c, it);
                        if (pv_strv_push_take(out, str, NULL) < 0)
                                pvp_oom(c);
                } else {
                        r = -1;
                }
                pvp_path_pop(c, mk);
        }
        if (ret_locs) {
                free(*ret_locs);
                *ret_locs = locs;
        }
        pvp_leave(c, &s);
        return r;
}

/* ------------------------------------------------------------------ sizes */

enum size_err { SIZE_OK = 0, SIZE_SYNTAX = -1, SIZE_FRACTION = -2, SIZE_BIG = -3, SIZE_NEEDS_UNIT = -4 };

/* "16G", "512M", "1.5G", "16384" (MiB) → whole MiB. */
static int parse_size(const char *s, bool unit_required, uint64_t *ret_mib) {
        unsigned __int128 mant = 0;
        unsigned digits = 0, frac = 0;
        const char *p = s;
        while (*p >= '0' && *p <= '9') {
                mant = mant * 10 + (unsigned)(*p++ - '0');
                if (++digits > 19)
                        return SIZE_BIG;
        }
        if (*p == '.') {
                p++;
                if (!(*p >= '0' && *p <= '9'))
                        return SIZE_SYNTAX;
                while (*p >= '0' && *p <= '9') {
                        mant = mant * 10 + (unsigned)(*p++ - '0');
                        frac++;
                        if (digits + frac > 19)
                                return SIZE_BIG;
                }
        }
        if (!digits && !frac)
                return SIZE_SYNTAX;
        while (*p == ' ')
                p++;
        unsigned shift;
        switch (*p | 0x20) {
        case 'k':
                shift = 10;
                break;
        case 'm':
                shift = 20;
                break;
        case 'g':
                shift = 30;
                break;
        case 't':
                shift = 40;
                break;
        default:
                if (*p)
                        return SIZE_SYNTAX;
                if (unit_required)
                        return SIZE_NEEDS_UNIT;
                shift = 20;
                p--; /* no unit letter to skip */
                break;
        }
        p++;
        if ((p[0] | 0x20) == 'i' && (p[1] | 0x20) == 'b')
                p += 2;
        if (*p)
                return SIZE_SYNTAX;
        unsigned __int128 bytes = mant << shift;
        unsigned __int128 div = 1;
        for (unsigned i = 0; i < frac; i++)
                div *= 10;
        if (bytes % div)
                return SIZE_FRACTION;
        bytes /= div;
        if (bytes % (1u << 20))
                return SIZE_FRACTION;
        bytes >>= 20;
        if (bytes > ((unsigned __int128)1 << 30)) /* 1 PiB */
                return SIZE_BIG;
        *ret_mib = (uint64_t)bytes;
        return SIZE_OK;
}

static bool t_size(struct pvp_ctx *c, const struct ynode *v, bool unit_required, uint64_t min_mib, uint64_t *out) {
        if (!is_text(c, v, "a size such as 16G"))
                return false;
        uint64_t mib = 0;
        switch (parse_size(v->text, unit_required, &mib)) {
        case SIZE_OK:
                if (mib < min_mib) {
                        VERR(c, v, "must be at least %llu MiB, " GOT, (unsigned long long)min_mib, GOTV(v));
                        return false;
                }
                *out = mib;
                return true;
        case SIZE_FRACTION:
                VERR(c, v, "must be a whole number of MiB, " GOT, GOTV(v));
                return false;
        case SIZE_BIG:
                VERR(c, v, "is too large (at most 1 PiB), " GOT, GOTV(v));
                return false;
        case SIZE_NEEDS_UNIT:
                VERR(c, v, "needs a unit such as 64G (a bare number is ambiguous: Proxmox reads GiB), " GOT, GOTV(v));
                return false;
        default:
                VERR(c, v, "must be a size: MiB as an integer or a number with a unit K, M, G or T (e.g. 16G), " GOT,
                     GOTV(v));
                return false;
        }
}

/* ----------------------------------------------------------------- PCI bits */

static bool t_addr(struct pvp_ctx *c, const struct ynode *v, const char *text, bool need_func, struct pv_pci_addr *out) {
        struct pv_pci_addr a;
        if (pv_pci_addr_parse(text, &a, NULL) < 0) {
                VERR(c, v, "is not a PCI address: '%.60s' (expected [DDDD:]BB:DD[.F], e.g. 0000:01:00.0)", text);
                return false;
        }
        if (need_func && a.func == PV_PCI_FUNC_ALL) {
                VERR(c, v, "needs a function ('%.60s.0', not '%.60s')", text, text);
                return false;
        }
        *out = a;
        return true;
}

/* One address, "a;b" or a YAML list of addresses. */
static bool t_addr_list(struct pvp_ctx *c, const struct ynode *v, struct pv_pci_addr **ret, size_t *ret_n) {
        struct pv_pci_addr *addrs = NULL;
        size_t n = 0;
        bool ok = true;
        if (v->kind == Y_SEQ) {
                if (!v->n_items) {
                        VERR(c, v, "is an empty list; expected one or more PCI addresses");
                        return false;
                }
                addrs = calloc(v->n_items, sizeof(*addrs));
                if (!addrs) {
                        pvp_oom(c);
                        return false;
                }
                for (size_t i = 0; i < v->n_items && !c->stop; i++) {
                        size_t mk = pvp_path_idx(c, i);
                        const struct ynode *it = v->items[i];
                        if (is_text(c, it, "a PCI address") && t_addr(c, it, it->text, false, &addrs[n]))
                                n++;
                        else
                                ok = false;
                        pvp_path_pop(c, mk);
                }
        } else {
                if (!is_text(c, v, "a PCI address, 'a;b' or a list of addresses"))
                        return false;
                size_t parts = 1;
                for (const char *p = v->text; *p; p++)
                        parts += *p == ';';
                addrs = calloc(parts, sizeof(*addrs));
                _cleanup_free_ char *copy = sdup(c, v->text);
                if (!addrs || !copy) {
                        free(addrs);
                        pvp_oom(c);
                        return false;
                }
                char *save = NULL;
                size_t seen = 0;
                for (char *t = strtok_r(copy, ";", &save); t; t = strtok_r(NULL, ";", &save)) {
                        seen++;
                        if (t_addr(c, v, t, false, &addrs[n]))
                                n++;
                        else
                                ok = false;
                }
                if (seen != parts) {
                        VERR(c, v, "has an empty element in '%.60s'", v->text);
                        ok = false;
                }
        }
        if (!ok) {
                free(addrs);
                return false;
        }
        *ret = addrs;
        *ret_n = n;
        return true;
}

static bool t_pci_id(struct pvp_ctx *c, const struct ynode *v, struct pv_pci_id *out) {
        if (!is_text(c, v, "a vendor:device ID such as 10de:25a0"))
                return false;
        if (pv_pci_id_parse(v->text, out, NULL) < 0) {
                VERR(c, v, "must be a vendor:device ID of 4+4 hex digits (e.g. 10de:25a0), " GOT, GOTV(v));
                return false;
        }
        return true;
}

/* Exactly `digits` hex digits, optionally prefixed with 0x; `alt` digits also accepted when non-zero. */
static bool hex_value(const char *s, unsigned digits, unsigned alt, uint32_t *out, unsigned *ret_digits) {
        if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
                s += 2;
        size_t n = strlen(s);
        if ((n != digits && (!alt || n != alt)) || strspn(s, "0123456789abcdefABCDEF") != n)
                return false;
        *out = (uint32_t)strtoul(s, NULL, 16);
        if (ret_digits)
                *ret_digits = (unsigned)n;
        return true;
}

static bool t_hex16(struct pvp_ctx *c, const struct ynode *v, uint16_t *out) {
        uint32_t x;
        if (!is_text(c, v, "a 16-bit hex ID such as 10de or 0x10de"))
                return false;
        if (!hex_value(v->text, 4, 0, &x, NULL)) {
                VERR(c, v, "must be 4 hex digits, with or without 0x (e.g. 10de or 0x10de), " GOT, GOTV(v));
                return false;
        }
        *out = (uint16_t)x;
        return true;
}

/* ---------------------------------------------------------------- cluster */

static const char *const cluster_keys[] = { "name", "api", "auth", "tls", "parallel", "timeout", "ssh", "retry_time",
                                            NULL };
static const char *const auth_keys[] = { "token", "secret_env", "secret_file", "user", "password_env", "password_file",
                                         NULL };
static const char *const tls_keys[] = { "fingerprint", "ca_file", "insecure", NULL };
static const char *const ssh_keys[] = { "command", "user", "port", "options", "identity_file", "known_hosts",
                                        "pvfio", "timeout", "parallel", "nodes", NULL };
static const char *const ssh_node_keys[] = { "host", "port", "user", "identity_file", "pvfio", NULL };

/* https://host[:port][/] → "https://host:port" (port 8006 when omitted). */
static void type_api_url(struct pvp_ctx *c, const struct ynode *v) {
        struct pv_cluster *cl = &c->p->cluster;
        if (!is_text(c, v, "an https:// URL"))
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
        host = strndup(h, (size_t)(e - h));
        if (!host) {
                pvp_oom(c);
                return;
        }
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
        char *url = pv_asprintf(NULL, "https://%s:%ld", host, port);
        if (!url) {
                pvp_oom(c);
                return;
        }
        free(cl->api_url);
        cl->api_url = url;
        cl->api_url_loc = loc_of(c, v);
}

static void type_auth(struct pvp_ctx *c, const struct ynode *m) {
        struct pv_cluster *cl = &c->p->cluster;
        if (!is_map(c, m))
                return;
        check_keys(c, m, auth_keys);
        cl->auth_loc = loc_of(c, m);
        static const char *const who[] = { "token", "user", NULL };
        const char *kind = one_of(c, m, who, "'token' (API token) or 'user' (password login)");
        if (!kind)
                return;
        bool token = !strcmp(kind, "token");
        struct pvp_scope s = { 0 };
        const struct ynode *v = pvp_enter(c, m, kind, &s);
        if (is_text(c, v, token ? "an API token id USER@REALM!TOKENID" : "a user id USER@REALM")) {
                const char *bang = strrchr(v->text, '!');
                if (token) {
                        _cleanup_free_ char *user = bang ? strndup(v->text, (size_t)(bang - v->text)) : NULL;
                        if (bang && !user)
                                pvp_oom(c);
                        else if (!bang || !re_userid(user) || !re_realm(bang + 1))
                                VERR(c, v, "must be an API token id USER@REALM!TOKENID (e.g. pvfio@pve!automation), " GOT,
                                     GOTV(v));
                        else if ((cl->token_id = sdup(c, v->text)))
                                cl->auth = PV_AUTH_TOKEN;
                } else {
                        if (bang || !re_userid(v->text))
                                VERR(c, v, "must be a user id USER@REALM (e.g. root@pam), " GOT, GOTV(v));
                        else if ((cl->user = sdup(c, v->text)))
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
                const struct ynode *k = key_node(m, wrong[i]);
                if (!k)
                        continue;
                size_t mk = pvp_path_key(c, wrong[i]);
                pvp_diag(c, false, k, "'%s' belongs to %s; %s uses '%s' or '%s'", c->path.buf,
                         token ? "password login ('user')" : "an API token ('token')",
                         token ? "a token" : "password login", env, file);
                pvp_path_pop(c, mk);
        }
        const char *src[] = { env, file, NULL };
        _cleanup_free_ char *list = pv_asprintf(NULL, "'%s' or '%s'", env, file);
        if (!list) {
                pvp_oom(c);
                return;
        }
        const char *which = one_of(c, m, src, list);
        if (!which)
                return;
        v = pvp_enter(c, m, which, &s);
        if (!strcmp(which, env))
                t_str(c, v, re_envname, "an environment variable name ([A-Za-z_][A-Za-z0-9_]*)", &cl->secret.env);
        else
                t_str(c, v, re_path, "a file path", &cl->secret.file);
        cl->secret.loc = loc_of(c, v);
        pvp_leave(c, &s);
}

/* SHA-256 "AB:CD:…" (colons optional, any case) → upper-case with colons. */
static void type_fingerprint(struct pvp_ctx *c, const struct ynode *v) {
        if (!is_text(c, v, "a SHA-256 fingerprint"))
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
        char *fp = malloc(32 * 3);
        if (!fp) {
                pvp_oom(c);
                return;
        }
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
        if (!is_map(c, m))
                return;
        check_keys(c, m, tls_keys);
        cl->tls_loc = loc_of(c, m);
        struct pvp_scope s = { 0 };
        const struct ynode *v;
        if ((v = pvp_enter(c, m, "fingerprint", &s))) {
                type_fingerprint(c, v);
                pvp_leave(c, &s);
        }
        o_str(c, m, "ca_file", re_path, "a file path", &cl->tls_ca_file);
        bool insecure = false;
        if (o_bool(c, m, "insecure", &insecure) == 1 && insecure) {
                cl->tls_insecure = true;
                const struct ynode *k = key_node(m, "insecure");
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
        return *s && strlen(s) <= 32 && (alnum(s[0]) || s[0] == '_') && chars_ok(s, "_.-");
}
/* A DNS name, an IPv4 address or an IPv6 address (without brackets); never starts with '-'. */
static bool re_sshhost(const char *s) {
        size_t n = strlen(s);
        if (!n || n > 253 || s[0] == '-' || s[0] == '.')
                return false;
        return chars_ok(s, ".-") || strspn(s, "0123456789abcdefABCDEF:.") == n;
}
/* One word of the remote command: it reaches the node's login shell, so only [A-Za-z0-9_./+=:,@%-]. */
static bool re_shellword(const char *s) {
        return *s && chars_ok(s, "_./+=:,@%-");
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
        while (alnum(s[k]))
                k++;
        return k > 0 && isalpha((unsigned char)s[0]) && s[k] == '=' && s[k + 1] && re_path(s + k + 1);
}

#define SSH_REMOTE_WHAT "a command such as 'pvfio' or '/usr/local/bin/pvfio' (words of letters, digits and _./+=:,@%-)"

static void type_ssh_options(struct pvp_ctx *c, const struct ynode *m, struct pv_ssh_config *ssh) {
        if (o_strlist(c, m, "options", re_sshopt, "an ssh option 'Key=Value' (e.g. 'ConnectTimeout=5')",
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
        n->loc = loc_of(c, key);
        if (!re_node(key->text))
                pvp_diag(c, false, key, "'%s' is not a node name (letters, digits and inner '-', at most 63 characters)",
                         c->path.buf);
        n->node = sdup(c, key->text);
        if (!is_map(c, m))
                return;
        check_keys(c, m, ssh_node_keys);
        o_str(c, m, "host", re_sshhost, "a host name or IP address to connect to", &n->host);
        long long x;
        if (o_int(c, m, "port", 1, 65535, &x) == 1)
                n->port = (unsigned)x;
        o_str(c, m, "user", re_sshuser, "a login name ([A-Za-z0-9_][A-Za-z0-9_.-]*)", &n->user);
        o_str(c, m, "identity_file", re_path, "a file path", &n->identity_file);
        o_str(c, m, "pvfio", re_remote_cmd, SSH_REMOTE_WHAT, &n->pvfio);
}

static void type_ssh(struct pvp_ctx *c, const struct ynode *m) {
        struct pv_ssh_config *ssh = &c->p->cluster.ssh;
        if (!is_map(c, m))
                return;
        ssh->present = true;
        ssh->loc = loc_of(c, m);
        check_keys(c, m, ssh_keys);
        o_str(c, m, "command", re_noblank, "a program name or path without arguments (ssh options go in 'options')",
              &ssh->command);
        o_str(c, m, "user", re_sshuser, "a login name ([A-Za-z0-9_][A-Za-z0-9_.-]*)", &ssh->user);
        long long x;
        if (o_int(c, m, "port", 1, 65535, &x) == 1)
                ssh->port = (unsigned)x;
        type_ssh_options(c, m, ssh);
        o_str(c, m, "identity_file", re_path, "a file path", &ssh->identity_file);
        o_str(c, m, "known_hosts", re_path, "a file path", &ssh->known_hosts);
        o_str(c, m, "pvfio", re_remote_cmd, SSH_REMOTE_WHAT, &ssh->pvfio);
        if (o_int(c, m, "timeout", 1, 86400, &x) == 1)
                ssh->timeout_s = (unsigned)x;
        if (o_int(c, m, "parallel", 1, 64, &x) == 1)
                ssh->parallel = (unsigned)x;
        struct pvp_scope s = { 0 };
        const struct ynode *v = pvp_enter(c, m, "nodes", &s);
        if (v && is_map(c, v) && v->n_pairs) {
                ssh->nodes = calloc(v->n_pairs, sizeof(*ssh->nodes));
                if (!ssh->nodes)
                        pvp_oom(c);
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

static void type_cluster(struct pvp_ctx *c, const struct ynode *m) {
        struct pv_cluster *cl = &c->p->cluster;
        if (!is_map(c, m))
                return;
        c->cluster_src = m;
        cl->present = true;
        check_keys(c, m, cluster_keys);
        o_str(c, m, "name", re_any, "a display name", &cl->name);
        struct pvp_scope s = { 0 };
        const struct ynode *v;
        require(c, m, "api");
        if ((v = pvp_enter(c, m, "api", &s))) {
                type_api_url(c, v);
                pvp_leave(c, &s);
        }
        require(c, m, "auth");
        if ((v = pvp_enter(c, m, "auth", &s))) {
                type_auth(c, v);
                pvp_leave(c, &s);
        }
        if ((v = pvp_enter(c, m, "tls", &s))) {
                type_tls(c, v);
                pvp_leave(c, &s);
        }
        long long x;
        if (o_int(c, m, "parallel", 1, 64, &x) == 1)
                cl->parallel = (unsigned)x;
        if (o_int(c, m, "timeout", 1, 3600, &x) == 1)
                cl->timeout_s = (unsigned)x;
        if (o_int(c, m, "retry_time", 1, 3600, &x) == 1)
                cl->retry_time_s = (unsigned)x;
        if ((v = pvp_enter(c, m, "ssh", &s))) {
                type_ssh(c, v);
                pvp_leave(c, &s);
        }
}

/* ------------------------------------------------------------------ hosts */

static const char *const host_keys[] = { "nodes", "iommu", "iommu_pt", "kernel_args", "allow_unsafe", "binding", "vfio",
                                         "softdeps", "blacklist", "disable_vga", "sriov", "vgpu",
                                         "accept_shared_groups",
                                         /* typed in profile_extras.c */
                                         "hugepages_margin", "vendor_reset",
                                         /* typed in profile_rom.c */
                                         "romfiles", NULL };
static const char *const devsel_keys[] = { "id", "address", "match", "companions", "host_critical_ok", NULL };
static const char *const match_keys[] = { "vendor", "device", "class", "name", NULL };
static const char *const sriov_keys[] = { "pf", "vfs", NULL };
static const char *const iommu_names[] = { "auto", "on", "off", NULL };
static const char *const binding_names[] = { "ids", "driver_override", NULL };
static const char *const vgpu_names[] = { "none", "gvt-g", "nvidia-sriov", NULL };

#define NODE_WHAT "a node name (letters, digits and inner '-', at most 63 characters)"

static void type_nodes(struct pvp_ctx *c, const struct ynode *v, struct pv_host_spec *h) {
        if (v->kind == Y_SCALAR && v->stype != YS_NULL && !strcmp(v->text, "all")) {
                h->all_nodes = true;
                return;
        }
        if (v->kind == Y_SCALAR) {
                char *s = NULL;
                if (t_str(c, v, re_node, NODE_WHAT " or 'all'", &s) && pv_strv_push_take(&h->nodes, s, NULL) < 0)
                        pvp_oom(c);
                return;
        }
        if (!is_seq(c, v))
                return;
        if (!v->n_items)
                VERR(c, v, "is empty; name at least one node, or write 'nodes: all'");
        for (size_t i = 0; i < v->n_items && !c->stop; i++) {
                const struct ynode *it = v->items[i];
                size_t mk = pvp_path_idx(c, i);
                char *s = NULL;
                if (it->kind == Y_SCALAR && !strcmp(it->text, "all"))
                        VERR(c, it, "is 'all' inside a list; write 'nodes: all' on its own");
                else if (t_str(c, it, re_node, NODE_WHAT, &s) && pv_strv_push_take(&h->nodes, s, NULL) < 0)
                        pvp_oom(c);
                pvp_path_pop(c, mk);
        }
}

static void type_match(struct pvp_ctx *c, const struct ynode *m, struct pv_devsel *d) {
        if (!is_map(c, m))
                return;
        check_keys(c, m, match_keys);
        if (!m->n_pairs)
                VERR(c, m, "needs at least one of 'vendor', 'device', 'class' or 'name'");
        struct pvp_scope s = { 0 };
        const struct ynode *v;
        if ((v = pvp_enter(c, m, "vendor", &s))) {
                d->has_vendor = t_hex16(c, v, &d->vendor);
                pvp_leave(c, &s);
        }
        if ((v = pvp_enter(c, m, "device", &s))) {
                d->has_device = t_hex16(c, v, &d->device);
                pvp_leave(c, &s);
        }
        if ((v = pvp_enter(c, m, "class", &s))) {
                uint32_t x;
                unsigned nd;
                if (is_text(c, v, "a PCI class of 4 or 6 hex digits such as \"0300\"")) {
                        if (hex_value(v->text, 4, 6, &x, &nd)) {
                                d->has_class = true;
                                d->class_code = x;
                                d->class_bits = nd * 4;
                        } else {
                                VERR(c, v, "must be a PCI class of 4 or 6 hex digits (e.g. \"0300\" or \"030000\"), " GOT,
                                     GOTV(v));
                        }
                }
                pvp_leave(c, &s);
        }
        o_str(c, m, "name", re_any, "a device name substring", &d->name_contains);
}

/* Kernel arguments whose value is a comma-separated list (a flow list splits it at the commas). */
static bool comma_list_arg(const char *a) {
        static const char *const keys[] = { "pcie_acs_override", "vfio-pci.ids", "vfio_pci.ids", "initcall_blacklist",
                                            "module_blacklist", "modprobe.blacklist", "video", "isolcpus", "nohz_full",
                                            "rcu_nocbs", "irqaffinity", "intel_iommu", "iommu", "i915.force_probe",
                                            "pci", NULL };
        size_t kl = strcspn(a, "=");
        if (!a[kl])
                return false;
        for (size_t i = 0; keys[i]; i++)
                if (strlen(keys[i]) == kl && !strncmp(a, keys[i], kl))
                        return true;
        return false;
}

/* A vendor:device id ("10de:1db4") or an ACS-override "id:" item. */
static bool looks_like_id(const char *a) {
        if (pv_startswith(a, "id:"))
                return true;
        if (strlen(a) != 9 || a[4] != ':')
                return false;
        for (size_t i = 0; i < 9; i++)
                if (i != 4 && !isxdigit((unsigned char)a[i]))
                        return false;
        return true;
}

/*
 * `kernel_args: [pcie_acs_override=downstream,multifunction]` is two YAML items; warn when an item on
 * the same line as the previous one has no '=' and looks like the rest of its comma-separated value.
 */
static void warn_split_kernel_args(struct pvp_ctx *c, const struct ynode *v) {
        if (v->kind != Y_SEQ)
                return;
        for (size_t i = 1; i < v->n_items; i++) {
                const struct ynode *prev = v->items[i - 1], *it = v->items[i];
                if (prev->kind != Y_SCALAR || it->kind != Y_SCALAR || !prev->text || !it->text ||
                    prev->line != it->line || strchr(it->text, '='))
                        continue;
                if (!comma_list_arg(prev->text) && !looks_like_id(it->text))
                        continue;
                size_t mk = pvp_path_idx(c, i);
                VWARN(c, it, "'%s' looks like the rest of the previous item '%s': in a flow list a comma starts a "
                             "new item, so the kernel would get two arguments; quote the whole argument: "
                             "[\"%s,%s\"]",
                      it->text, prev->text, prev->text, it->text);
                pvp_path_pop(c, mk);
        }
}

static void type_devsel(struct pvp_ctx *c, const struct ynode *m, struct pv_devsel *d) {
        d->companions = true;
        d->loc = loc_of(c, m);
        if (!is_map(c, m))
                return;
        check_keys(c, m, devsel_keys);
        static const char *const kinds[] = { "id", "address", "match", NULL };
        const char *k = one_of(c, m, kinds, "'id', 'address' or 'match'");
        struct pvp_scope s = { 0 };
        const struct ynode *v;
        if (k && !strcmp(k, "id") && (v = pvp_enter(c, m, "id", &s))) {
                d->kind = PV_DEVSEL_ID;
                t_pci_id(c, v, &d->id);
                pvp_leave(c, &s);
        } else if (k && !strcmp(k, "address") && (v = pvp_enter(c, m, "address", &s))) {
                d->kind = PV_DEVSEL_ADDR;
                if (is_text(c, v, "a PCI address"))
                        t_addr(c, v, v->text, false, &d->addr);
                pvp_leave(c, &s);
        } else if (k && !strcmp(k, "match") && (v = pvp_enter(c, m, "match", &s))) {
                d->kind = PV_DEVSEL_MATCH;
                type_match(c, v, d);
                pvp_leave(c, &s);
        }
        o_bool(c, m, "companions", &d->companions);
        o_bool(c, m, "host_critical_ok", &d->host_critical_ok);
}

static void type_sriov(struct pvp_ctx *c, const struct ynode *m, struct pv_sriov_spec *sr) {
        sr->loc = loc_of(c, m);
        if (!is_map(c, m))
                return;
        check_keys(c, m, sriov_keys);
        require(c, m, "pf");
        require(c, m, "vfs");
        struct pvp_scope s = { 0 };
        const struct ynode *v;
        if ((v = pvp_enter(c, m, "pf", &s))) {
                if (is_text(c, v, "a PCI address with function"))
                        t_addr(c, v, v->text, true, &sr->pf);
                pvp_leave(c, &s);
        }
        long long x;
        if (o_int(c, m, "vfs", 0, 256, &x) == 1)
                sr->numvfs = (unsigned)x;
}

static void type_host(struct pvp_ctx *c, const struct ynode *m, struct pv_host_spec *h) {
        h->iommu = PV_AUTO;
        h->iommu_pt = true;
        h->binding = PV_BIND_IDS;
        h->softdeps_auto = true;
        h->vgpu = PV_VGPU_NONE;
        h->loc = loc_of(c, m);
        check_keys(c, m, host_keys);
        struct pvp_scope s = { 0 };
        const struct ynode *v;
        require(c, m, "nodes");
        if ((v = pvp_enter(c, m, "nodes", &s))) {
                type_nodes(c, v, h);
                pvp_leave(c, &s);
        }
        if ((v = pvp_enter(c, m, "iommu", &s))) {
                if (v->kind == Y_SCALAR && v->stype == YS_BOOL) {
                        VERR(c, v, "must be one of auto, on, off, got the boolean %s; write '%s'", v->text,
                             v->bval ? "on" : "off");
                } else {
                        int i = t_enum(c, v, iommu_names);
                        if (i >= 0)
                                h->iommu = i == 0 ? PV_AUTO : i == 1 ? PV_ON : PV_OFF;
                }
                pvp_leave(c, &s);
        }
        o_bool(c, m, "iommu_pt", &h->iommu_pt);
        o_strlist(c, m, "kernel_args", re_noblank, "a kernel argument without spaces", &h->kernel_args,
                  &h->kernel_arg_locs);
        if ((v = pvp_enter(c, m, "kernel_args", &s))) {
                warn_split_kernel_args(c, v);
                pvp_leave(c, &s);
        }
        o_bool(c, m, "allow_unsafe", &h->allow_unsafe);
        int e;
        if (o_enum(c, m, "binding", binding_names, &e) == 1)
                h->binding = (enum pv_binding)e;
        if ((v = pvp_enter(c, m, "vfio", &s))) {
                if (is_seq(c, v) && v->n_items) {
                        h->vfio = calloc(v->n_items, sizeof(*h->vfio));
                        if (!h->vfio)
                                pvp_oom(c);
                        for (size_t i = 0; h->vfio && i < v->n_items && !c->stop; i++) {
                                size_t mk = pvp_path_idx(c, i);
                                type_devsel(c, v->items[i], &h->vfio[h->n_vfio++]);
                                pvp_path_pop(c, mk);
                        }
                }
                pvp_leave(c, &s);
        }
        if ((v = pvp_enter(c, m, "softdeps", &s))) {
                if (v->kind == Y_SCALAR && v->stype != YS_NULL && !strcmp(v->text, "auto")) {
                        h->softdeps_auto = true;
                } else if (v->kind == Y_SEQ) {
                        h->softdeps_auto = false;
                        pvp_leave(c, &s);
                        o_strlist(c, m, "softdeps", re_driver, "a driver name ([a-zA-Z0-9_-]+)", &h->softdeps, NULL);
                        goto softdeps_done;
                } else {
                        VERR(c, v, "must be 'auto' or a list of driver names, " GOT, GOTV(v));
                }
                pvp_leave(c, &s);
        }
softdeps_done:
        o_strlist(c, m, "blacklist", re_driver, "a driver name ([a-zA-Z0-9_-]+)", &h->blacklist, NULL);
        o_bool(c, m, "disable_vga", &h->disable_vga);
        if ((v = pvp_enter(c, m, "sriov", &s))) {
                if (is_seq(c, v) && v->n_items) {
                        h->sriov = calloc(v->n_items, sizeof(*h->sriov));
                        if (!h->sriov)
                                pvp_oom(c);
                        for (size_t i = 0; h->sriov && i < v->n_items && !c->stop; i++) {
                                size_t mk = pvp_path_idx(c, i);
                                type_sriov(c, v->items[i], &h->sriov[h->n_sriov++]);
                                pvp_path_pop(c, mk);
                        }
                }
                pvp_leave(c, &s);
        }
        if ((v = pvp_enter(c, m, "vgpu", &s))) {
                int i = t_enum(c, v, vgpu_names);
                if (i >= 0)
                        h->vgpu = (enum pv_vgpu_kind)i;
                h->vgpu_loc = loc_of(c, v);
                pvp_leave(c, &s);
        }
        o_bool(c, m, "accept_shared_groups", &h->accept_shared_groups);
        pvp_type_host_extras(c, m, h);
}

/* --------------------------------------------------------------- mappings */

static const char *const mapping_keys[] = { "id", "description", "mdev", "live_migration_capable", "map", NULL };
static const char *const map_entry_keys[] = { "node", "path", "id", "subsystem_id", "iommu_group", "description",
                                              NULL };
#define CONFIGID_WHAT "an id of letters, digits, '-' and '_' starting with a letter (at least 2 characters)"

static bool re_description(const char *s) {
        return strlen(s) <= 4096;
}

static void type_map_entry(struct pvp_ctx *c, const struct ynode *m, struct pv_map_entry *e) {
        e->loc = loc_of(c, m);
        if (!is_map(c, m))
                return;
        check_keys(c, m, map_entry_keys);
        require(c, m, "node");
        require(c, m, "path");
        o_str(c, m, "node", re_node, NODE_WHAT, &e->node);
        struct pvp_scope s = { 0 };
        const struct ynode *v;
        if ((v = pvp_enter(c, m, "path", &s))) {
                t_addr_list(c, v, &e->paths, &e->n_paths);
                for (size_t i = 0; i < e->n_paths; i++)
                        e->paths[i].domain_given = true; /* normalised to 0000 when omitted */
                pvp_leave(c, &s);
        }
        if ((v = pvp_enter(c, m, "id", &s))) {
                e->has_id = t_pci_id(c, v, &e->id);
                pvp_leave(c, &s);
        }
        if ((v = pvp_enter(c, m, "subsystem_id", &s))) {
                e->has_subsystem_id = t_pci_id(c, v, &e->subsystem_id);
                pvp_leave(c, &s);
        }
        long long x;
        if (o_int(c, m, "iommu_group", 0, 1000000, &x) == 1) {
                e->has_iommugroup = true;
                e->iommugroup = (int)x;
        }
        o_str(c, m, "description", re_description, "a description of at most 4096 characters", &e->description);
}

static void type_mapping(struct pvp_ctx *c, const struct ynode *m, struct pv_mapping *mp) {
        mp->loc = loc_of(c, m);
        check_keys(c, m, mapping_keys);
        require(c, m, "id");
        require(c, m, "map");
        o_str(c, m, "id", re_configid, CONFIGID_WHAT, &mp->id);
        o_str(c, m, "description", re_description, "a description of at most 4096 characters", &mp->description);
        o_bool(c, m, "mdev", &mp->mdev);
        o_bool(c, m, "live_migration_capable", &mp->live_migration_capable);
        struct pvp_scope s = { 0 };
        const struct ynode *v;
        if ((v = pvp_enter(c, m, "map", &s))) {
                if (is_seq(c, v)) {
                        if (!v->n_items)
                                VERR(c, v, "is empty; a mapping needs at least one node entry");
                        else if (!(mp->map = calloc(v->n_items, sizeof(*mp->map))))
                                pvp_oom(c);
                        for (size_t i = 0; mp->map && i < v->n_items && !c->stop; i++) {
                                size_t mk = pvp_path_idx(c, i);
                                type_map_entry(c, v->items[i], &mp->map[mp->n_map++]);
                                pvp_path_pop(c, mk);
                        }
                }
                pvp_leave(c, &s);
        }
}

/* --------------------------------------------------------------------- VMs */

enum vmode { VM_REAL, VM_TEMPLATE, VM_DEFAULTS };

static const char *const vm_keys[] = { "name",   "node",     "vmid",      "template", "state",   "machine",
                                       "machine_version", "bios", "efidisk", "cpu",  "cores",   "sockets",
                                       "memory", "balloon",  "hugepages", "numa",     "scsihw",  "disks",
                                       "networks", "vga",    "ostype",    "tags",     "onboot",  "pci",
                                       /* typed in profile_extras.c */
                                       "tpm", "affinity", "hookscript", "usb", "looking_glass", "evdev",
                                       NULL };
static const char *const efidisk_keys[] = { "storage", "pre_enrolled_keys", NULL };
static const char *const cpu_keys[] = { "type", "flags", "hidden", NULL };
static const char *const disk_keys[] = { "bus", "index", "storage", "size", "options", NULL };
static const char *const net_keys[] = { "model", "bridge", "vlan", "firewall", "macaddr", "index", NULL };
static const char *const pci_keys[] = { "mapping",  "address",   "vf_of",         "mdev",          "pcie",
                                        "primary",  "rombar",    "romfile",       "legacy_igd",    "driver",
                                        "vendor_id", "device_id", "sub_vendor_id", "sub_device_id", "slot",
                                        NULL };
static const char *const state_names[] = { "present", "running", "stopped", "absent", NULL };
static const char *const machine_names[] = { "q35", "i440fx", NULL };
static const char *const bios_names[] = { "seabios", "ovmf", NULL };
static const char *const scsihw_names[] = { "lsi", "lsi53c810", "virtio-scsi-pci", "virtio-scsi-single", "megasas",
                                            "pvscsi", NULL };
static const char *const vga_names[] = { "std",     "cirrus",  "vmware",  "qxl",     "serial0",   "serial1",
                                         "serial2", "serial3", "virtio",  "virtio-gl", "none",    NULL };
static const char *const ostype_names[] = { "other", "wxp",   "w2k",   "w2k3", "w2k8", "wvista",  "win7",
                                            "win8",  "win10", "win11", "l24",  "l26",  "solaris", NULL };
static const char *const bus_names[] = { "scsi", "virtio", "sata", "ide", NULL };
static const int bus_max_index[] = { 30, 15, 5, 3 };
static const char *const nic_names[] = { "virtio", "e1000", "e1000e", "rtl8139", "vmxnet3", NULL };
static const char *const driver_names[] = { "vfio", "keep", NULL };
static const char *const hugepage_names[] = { "2M", "1G", "any", NULL };

static void type_cpu(struct pvp_ctx *c, const struct ynode *v, struct pv_vm *vm) {
        const char *what = "a CPU type such as host or x86-64-v2-AES";
        if (v->kind != Y_MAP) {
                t_str(c, v, re_cputype, what, &vm->cpu_type);
                return;
        }
        check_keys(c, v, cpu_keys);
        o_str(c, v, "type", re_cputype, what, &vm->cpu_type);
        o_strlist(c, v, "flags", re_cpuflag, "a CPU flag such as +pcid or -md-clear", &vm->cpu_flags, NULL);
        o_bool(c, v, "hidden", &vm->cpu_hidden);
}

static void type_disk(struct pvp_ctx *c, const struct ynode *m, struct pv_disk *d) {
        d->index = -1;
        d->bus = PV_BUS_SCSI;
        d->loc = loc_of(c, m);
        if (!is_map(c, m))
                return;
        check_keys(c, m, disk_keys);
        require(c, m, "storage");
        require(c, m, "size");
        int e;
        if (o_enum(c, m, "bus", bus_names, &e) == 1)
                d->bus = (enum pv_disk_bus)e;
        long long x;
        if (o_int(c, m, "index", 0, bus_max_index[d->bus], &x) == 1)
                d->index = (int)x;
        o_str(c, m, "storage", re_storage, "a storage id such as local-lvm", &d->storage);
        struct pvp_scope s = { 0 };
        const struct ynode *v;
        if ((v = pvp_enter(c, m, "size", &s))) {
                uint64_t mib;
                if (t_size(c, v, true, 1, &mib))
                        d->size_bytes = mib << 20;
                pvp_leave(c, &s);
        }
        o_str(c, m, "options", re_noblank, "Proxmox drive options without spaces (e.g. ssd=1,discard=on)",
              &d->options);
}

static bool re_mac(const char *s) {
        if (strlen(s) != 17)
                return false;
        for (int i = 0; i < 17; i++)
                if (i % 3 == 2 ? s[i] != ':' : !isxdigit((unsigned char)s[i]))
                        return false;
        unsigned first = (unsigned)strtoul(s, NULL, 16);
        return !(first & 1); /* unicast */
}

static void type_net(struct pvp_ctx *c, const struct ynode *m, struct pv_net *n) {
        n->index = -1;
        n->vlan = -1;
        n->firewall = -1;
        n->loc = loc_of(c, m);
        if (!is_map(c, m))
                return;
        check_keys(c, m, net_keys);
        require(c, m, "bridge");
        int e = 0;
        if (o_enum(c, m, "model", nic_names, &e) < 0)
                e = 0;
        n->model = sdup(c, nic_names[e]);
        o_str(c, m, "bridge", re_bridge, "a bridge name such as vmbr0", &n->bridge);
        long long x;
        if (o_int(c, m, "vlan", 1, 4094, &x) == 1)
                n->vlan = (int)x;
        o_tri(c, m, "firewall", &n->firewall);
        if (o_str(c, m, "macaddr", re_mac, "a unicast MAC address such as BC:24:11:AA:BB:CC", &n->macaddr) == 1)
                for (char *p = n->macaddr; *p; p++)
                        *p = (char)toupper((unsigned char)*p);
        if (o_int(c, m, "index", 0, 31, &x) == 1)
                n->index = (int)x;
}

static void type_pcidev(struct pvp_ctx *c, const struct ynode *m, struct pv_pcidev *d) {
        d->slot = -1;
        d->pcie = d->primary = d->rombar = d->legacy_igd = -1;
        d->loc = loc_of(c, m);
        if (!is_map(c, m))
                return;
        check_keys(c, m, pci_keys);
        static const char *const kinds[] = { "mapping", "address", "vf_of", NULL };
        const char *k = one_of(c, m, kinds, "'mapping', 'address' or 'vf_of'");
        struct pvp_scope s = { 0 };
        const struct ynode *v;
        if (k && !strcmp(k, "mapping") && (v = pvp_enter(c, m, "mapping", &s))) {
                d->kind = PV_PCIDEV_MAPPING;
                t_str(c, v, re_configid, "a mapping id", &d->mapping);
                pvp_leave(c, &s);
        } else if (k && !strcmp(k, "address") && (v = pvp_enter(c, m, "address", &s))) {
                d->kind = PV_PCIDEV_RAW;
                t_addr_list(c, v, &d->addrs, &d->n_addrs);
                pvp_leave(c, &s);
        } else if (k && !strcmp(k, "vf_of") && (v = pvp_enter(c, m, "vf_of", &s))) {
                d->kind = PV_PCIDEV_VF_POOL;
                if (is_text(c, v, "the PCI address of a physical function"))
                        t_addr(c, v, v->text, true, &d->vf_pf);
                pvp_leave(c, &s);
        }
        o_str(c, m, "mdev", re_mdev, "an mdev type such as nvidia-660 (no '/', '.' or ':')", &d->mdev);
        o_tri(c, m, "pcie", &d->pcie);
        o_tri(c, m, "primary", &d->primary);
        o_tri(c, m, "rombar", &d->rombar);
        o_tri(c, m, "legacy_igd", &d->legacy_igd);
        if ((v = pvp_enter(c, m, "romfile", &s))) {
                if (is_text(c, v, "a file name under /usr/share/kvm")) {
                        if (strchr(v->text, '/'))
                                VERR(c, v, "must be a file name under /usr/share/kvm, without a path separator '/', " GOT,
                                     GOTV(v));
                        else if (strpbrk(v->text, ",;") || !re_path(v->text))
                                VERR(c, v, "must not contain ',', ';' or control characters, " GOT, GOTV(v));
                        else
                                d->romfile = sdup(c, v->text);
                }
                pvp_leave(c, &s);
        }
        int e;
        if (o_enum(c, m, "driver", driver_names, &e) == 1)
                d->driver = e == 0 ? PV_DRIVER_VFIO : PV_DRIVER_KEEP;
        if ((v = pvp_enter(c, m, "vendor_id", &s))) {
                d->has_vendor_id = t_hex16(c, v, &d->vendor_id);
                pvp_leave(c, &s);
        }
        if ((v = pvp_enter(c, m, "device_id", &s))) {
                d->has_device_id = t_hex16(c, v, &d->device_id);
                pvp_leave(c, &s);
        }
        if ((v = pvp_enter(c, m, "sub_vendor_id", &s))) {
                d->has_sub_vendor_id = t_hex16(c, v, &d->sub_vendor_id);
                pvp_leave(c, &s);
        }
        if ((v = pvp_enter(c, m, "sub_device_id", &s))) {
                d->has_sub_device_id = t_hex16(c, v, &d->sub_device_id);
                pvp_leave(c, &s);
        }
        long long x;
        if (o_int(c, m, "slot", 0, PV_MAX_HOSTPCI - 1, &x) == 1)
                d->slot = (int)x;
}

/* Type a list key whose items are mappings, allocating `size` bytes per item. */
#define TYPE_LIST(c, m, key, arr, n, srcarr, fn)                                                          \
        do {                                                                                              \
                struct pvp_scope s_ = { 0 };                                                                        \
                const struct ynode *v_ = pvp_enter((c), (m), (key), &s_);                                     \
                if (!v_)                                                                                  \
                        break;                                                                            \
                if (is_seq((c), v_) && v_->n_items) {                                                     \
                        (arr) = calloc(v_->n_items, sizeof(*(arr)));                                      \
                        if (srcarr)                                                                       \
                                *(srcarr) = calloc(v_->n_items, sizeof(**(srcarr)));                      \
                        if (!(arr) || ((srcarr) && !*(srcarr)))                                           \
                                pvp_oom(c);                                                               \
                        for (size_t i_ = 0; (arr) && i_ < v_->n_items && !(c)->stop; i_++) {              \
                                size_t mk_ = pvp_path_idx((c), i_);                                       \
                                if ((srcarr) && *(srcarr))                                                \
                                        (*(srcarr))[(n)] = v_->items[i_];                                 \
                                fn((c), v_->items[i_], &(arr)[(n)++]);                                    \
                                pvp_path_pop((c), mk_);                                                   \
                        }                                                                                 \
                }                                                                                         \
                pvp_leave((c), &s_);                                                                          \
        } while (0)

static void type_vm(struct pvp_ctx *c, const struct ynode *m, enum vmode mode, struct pv_vm *vm,
                    struct pvp_vm_src *src) {
        vm->balloon_mib = -1;
        vm->numa = -1;
        vm->onboot = -1;
        vm->efidisk_pre_enrolled_keys = true;
        vm->loc = loc_of(c, m);
        if (src)
                src->map = m;
        struct pvp_scope s = { 0 };
        const struct ynode *v;
        if (mode != VM_REAL) {
                static const char *const per_vm[] = { "name", "node", "vmid", "template", NULL };
                for (size_t i = 0; per_vm[i]; i++) {
                        const struct ynode *k = key_node(m, per_vm[i]);
                        if (!k || (mode == VM_TEMPLATE && !strcmp(per_vm[i], "template")))
                                continue;
                        size_t mk = pvp_path_key(c, per_vm[i]);
                        if (!strcmp(per_vm[i], "template"))
                                pvp_diag(c, false, k, "'%s' cannot be set in defaults: name the template per VM",
                                         c->path.buf);
                        else
                                pvp_diag(c, false, k, "'%s' cannot be set in %s: name, node and vmid are per VM",
                                         c->path.buf, mode == VM_TEMPLATE ? "a template" : "defaults");
                        pvp_path_pop(c, mk);
                }
        } else {
                require(c, m, "name");
                require(c, m, "node");
                if ((v = pvp_enter(c, m, "name", &s))) {
                        t_str(c, v, re_dns, "a VM name (DNS label: letters, digits, inner '.' and '-', at most 63)",
                              &vm->name);
                        vm->name_loc = loc_of(c, v);
                        pvp_leave(c, &s);
                }
                if ((v = pvp_enter(c, m, "node", &s))) {
                        t_str(c, v, re_node, NODE_WHAT, &vm->node);
                        vm->node_loc = loc_of(c, v);
                        pvp_leave(c, &s);
                }
                long long x;
                if ((v = pvp_enter(c, m, "vmid", &s))) {
                        if (t_int(c, v, PV_VMID_MIN, PV_VMID_MAX, &x))
                                vm->vmid = (uint32_t)x;
                        vm->vmid_loc = loc_of(c, v);
                        pvp_leave(c, &s);
                }
        }
        if (mode != VM_DEFAULTS && (v = pvp_enter(c, m, "template", &s))) {
                /* existence and chains are checked where templates are resolved */
                if (is_text(c, v, "a template name") && mode == VM_REAL)
                        vm->template_name = sdup(c, v->text);
                pvp_leave(c, &s);
        }
        int e;
        if (o_enum(c, m, "state", state_names, &e) == 1)
                vm->state = (enum pv_vm_state)e;
        if (o_enum(c, m, "machine", machine_names, &e) == 1)
                vm->machine = e == 0 ? PV_MACHINE_Q35 : PV_MACHINE_I440FX;
        o_str(c, m, "machine_version", re_machver, "a machine version such as 9.2 or 9.2+pve1", &vm->machine_version);
        if (o_enum(c, m, "bios", bios_names, &e) == 1)
                vm->bios = e == 0 ? PV_BIOS_SEABIOS : PV_BIOS_OVMF;
        if ((v = pvp_enter(c, m, "efidisk", &s))) {
                if (is_map(c, v)) {
                        check_keys(c, v, efidisk_keys);
                        require(c, v, "storage");
                        o_str(c, v, "storage", re_storage, "a storage id such as local-lvm", &vm->efidisk_storage);
                        o_bool(c, v, "pre_enrolled_keys", &vm->efidisk_pre_enrolled_keys);
                }
                pvp_leave(c, &s);
        }
        if ((v = pvp_enter(c, m, "cpu", &s))) {
                type_cpu(c, v, vm);
                pvp_leave(c, &s);
        }
        long long x;
        if (o_int(c, m, "cores", 1, 1024, &x) == 1)
                vm->cores = (unsigned)x;
        if (o_int(c, m, "sockets", 1, 16, &x) == 1)
                vm->sockets = (unsigned)x;
        uint64_t mib;
        if ((v = pvp_enter(c, m, "memory", &s))) {
                if (t_size(c, v, false, 16, &mib))
                        vm->memory_mib = mib;
                pvp_leave(c, &s);
        }
        if ((v = pvp_enter(c, m, "balloon", &s))) {
                if (t_size(c, v, false, 0, &mib))
                        vm->balloon_mib = (int64_t)mib;
                pvp_leave(c, &s);
        }
        if ((v = pvp_enter(c, m, "hugepages", &s))) {
                int i = -1;
                if (v->kind == Y_SCALAR && v->stype != YS_NULL) {
                        if (!strcmp(v->text, "any"))
                                i = 2;
                        else if (parse_size(v->text, false, &mib) == SIZE_OK && (mib == 2 || mib == 1024))
                                i = mib == 2 ? 0 : 1;
                }
                if (i < 0)
                        i = t_enum(c, v, hugepage_names);
                if (i >= 0)
                        vm->hugepages = sdup(c, i == 0 ? "2" : i == 1 ? "1024" : "any");
                pvp_leave(c, &s);
        }
        o_tri(c, m, "numa", &vm->numa);
        if (o_enum(c, m, "scsihw", scsihw_names, &e) == 1)
                vm->scsihw = sdup(c, scsihw_names[e]);
        if (o_enum(c, m, "vga", vga_names, &e) == 1)
                vm->vga = sdup(c, vga_names[e]);
        if (o_enum(c, m, "ostype", ostype_names, &e) == 1)
                vm->ostype = sdup(c, ostype_names[e]);
        o_strlist(c, m, "tags", re_tag, "a tag ([a-zA-Z0-9_][a-zA-Z0-9_+.-]*)", &vm->tags, NULL);
        o_tri(c, m, "onboot", &vm->onboot);
        const struct ynode ***no_src = NULL;
        TYPE_LIST(c, m, "disks", vm->disks, vm->n_disks, src ? &src->disks : no_src, type_disk);
        TYPE_LIST(c, m, "networks", vm->nets, vm->n_nets, src ? &src->nets : no_src, type_net);
        TYPE_LIST(c, m, "pci", vm->pci, vm->n_pci, src ? &src->pci : no_src, type_pcidev);
        if (vm->n_pci > PV_MAX_HOSTPCI && (v = pvp_enter(c, m, "pci", &s))) {
                size_t mk = pvp_path_idx(c, PV_MAX_HOSTPCI);
                pvp_diag(c, false, v->items[PV_MAX_HOSTPCI],
                         "'%s' is one PCI device too many: Proxmox allows at most %u per VM (hostpci0..%u), "
                         "this VM has %zu",
                         c->path.buf, PV_MAX_HOSTPCI, PV_MAX_HOSTPCI - 1, vm->n_pci);
                pvp_path_pop(c, mk);
                pvp_leave(c, &s);
        }
        pvp_type_vm_extras(c, m, vm);
}

/* ------------------------------------------------------- templates, merge */

struct tmpl {
        const char *name;
        const struct ynode *key, *map;
        const struct ynode *base;       /* value of its `template:` key, or NULL */
};

struct parse {
        struct pvp_ctx *c;
        struct tmpl *t;
        size_t n_t;
        const char **names;             /* NULL-terminated template names, for hints */
        const struct ynode *defaults;   /* `defaults:` mapping or NULL */
};

static const struct tmpl *find_tmpl(const struct parse *P, const struct ynode *v) {
        if (!v || v->kind != Y_SCALAR || v->stype == YS_NULL)
                return NULL;
        for (size_t i = 0; i < P->n_t; i++)
                if (!strcmp(P->t[i].name, v->text))
                        return &P->t[i];
        return NULL;
}

static void report_missing_tmpl(struct parse *P, const struct ynode *v) {
        struct pvp_ctx *c = P->c;
        if (v->kind != Y_SCALAR || v->stype == YS_NULL)
                return; /* reported as a type error */
        const char *hint = pvp_suggest(v->text, P->names);
        VERR(c, v, "names template '%.60s', which does not exist%s%s%s", v->text, hint ? "; did you mean '" : "",
             hint ? hint : "", hint ? "'?" : "");
}

static void type_templates(struct parse *P, const struct ynode *v) {
        struct pvp_ctx *c = P->c;
        if (!is_map(c, v) || !v->n_pairs)
                return;
        P->t = calloc(v->n_pairs, sizeof(*P->t));
        P->names = calloc(v->n_pairs + 1, sizeof(*P->names));
        if (!P->t || !P->names) {
                pvp_oom(c);
                return;
        }
        for (size_t i = 0; i < v->n_pairs && !c->stop; i++) {
                const struct ypair *p = &v->pairs[i];
                size_t mk = pvp_path_key(c, p->key->text);
                if (!re_template(p->key->text))
                        pvp_diag(c, false, p->key,
                                 "template name '%.60s' must start with a lower-case letter or digit and hold only "
                                 "lower-case letters, digits, '-' and '_'",
                                 p->key->text);
                if (is_map(c, p->value)) {
                        check_keys(c, p->value, vm_keys);
                        const struct ypair *b = pvp_ymap_find(p->value, "template");
                        P->t[P->n_t] = (struct tmpl){ p->key->text, p->key, p->value, b ? b->value : NULL };
                        P->names[P->n_t++] = p->key->text;
                        struct pv_vm scratch = { 0 };
                        type_vm(c, p->value, VM_TEMPLATE, &scratch, NULL);
                        pvp_vm_done(&scratch);
                }
                pvp_path_pop(c, mk);
        }
        /* bases exist; chains stay ≤ 8 and acyclic (c->path is "templates" here) */
        for (size_t i = 0; i < P->n_t && !c->stop; i++) {
                const struct tmpl *t = &P->t[i];
                if (!t->base)
                        continue;
                size_t mk = pvp_path_key(c, t->name);
                pvp_path_key(c, "template");
                if (!find_tmpl(P, t->base))
                        report_missing_tmpl(P, t->base);
                pvp_path_pop(c, mk);
                const struct tmpl *walk[PVP_MAX_TEMPLATE_CHAIN] = { t };
                size_t depth = 1;
                for (const struct tmpl *cur = t, *next; (next = find_tmpl(P, cur->base)); cur = next) {
                        bool seen = false;
                        for (size_t k = 1; k < depth; k++)
                                seen |= walk[k] == next;
                        if (seen)
                                break; /* a loop not through t: reported from its own members */
                        mk = pvp_path_key(c, cur->name);
                        pvp_path_key(c, "template");
                        if (next == t)
                                VERR(c, cur->base, "closes a cycle: template '%s' inherits from itself", t->name);
                        else if (depth == PVP_MAX_TEMPLATE_CHAIN)
                                VERR(c, cur->base, "makes the template chain from '%s' longer than %u templates",
                                     t->name, PVP_MAX_TEMPLATE_CHAIN);
                        pvp_path_pop(c, mk);
                        if (next == t || depth == PVP_MAX_TEMPLATE_CHAIN)
                                break;
                        walk[depth++] = next;
                }
        }
}

static bool vm_key_inheritable(const char *k) {
        return in_list(k, vm_keys) && strcmp(k, "name") && strcmp(k, "node") && strcmp(k, "vmid") &&
               strcmp(k, "template");
}

static int overlay(struct ynode *dst, const struct ynode *src, bool inherited) {
        for (size_t i = 0; i < src->n_pairs; i++) {
                const struct ypair *p = &src->pairs[i];
                if (inherited && !vm_key_inheritable(p->key->text))
                        continue;
                if (pvp_ymap_set(dst, p->key, p->value, inherited) < 0)
                        return -PV_ENOMEM;
        }
        return 0;
}

/* defaults < template chain (base first) < the VM itself, per top-level key. */
static const struct ynode *merge_vm(struct parse *P, const struct ynode *vm) {
        struct pvp_ctx *c = P->c;
        struct ynode *m = pvp_ynode_new_map(&c->arena, vm->line, vm->col);
        if (!m) {
                pvp_oom(c);
                return vm;
        }
        const struct tmpl *chain[PVP_MAX_TEMPLATE_CHAIN];
        size_t n = 0;
        const struct ypair *tp = pvp_ymap_find(vm, "template");
        if (tp) {
                const struct tmpl *t = find_tmpl(P, tp->value);
                if (!t) {
                        size_t mk = pvp_path_key(c, "template");
                        report_missing_tmpl(P, tp->value);
                        pvp_path_pop(c, mk);
                }
                while (t && n < PVP_MAX_TEMPLATE_CHAIN) {
                        bool seen = false;
                        for (size_t i = 0; i < n; i++)
                                seen |= chain[i] == t;
                        if (seen)
                                break;
                        chain[n++] = t;
                        t = find_tmpl(P, t->base);
                }
        }
        int r = 0;
        if (P->defaults)
                r = overlay(m, P->defaults, true);
        for (size_t i = n; i > 0 && r == 0; i--)
                r = overlay(m, chain[i - 1]->map, true);
        if (r == 0)
                r = overlay(m, vm, false);
        if (r < 0)
                pvp_oom(c);
        return m;
}

/* ---------------------------------------------------------------- profile */

static const char *const top_keys[] = { "version", "cluster", "defaults", "templates", "hosts", "mappings", "vms",
                                        NULL };

void pvp_type_profile(struct pvp_ctx *c, const struct ynode *root) {
        struct pv_profile *p = c->p;
        struct parse P = { .c = c };
        if (root->kind != Y_MAP) {
                pvp_diag(c, false, root,
                         "the profile must be a mapping of keys (version, cluster, hosts, mappings, vms, …), not %s",
                         pvp_ykind_name(root));
                return;
        }
        check_keys(c, root, top_keys);
        struct pvp_scope s = { 0 };
        const struct ynode *v;
        if ((v = pvp_enter(c, root, "version", &s))) {
                if (v->kind == Y_SCALAR && v->stype == YS_INT && v->ival == 1 && !v->int_overflow)
                        p->version = 1;
                else if (v->kind == Y_SCALAR && v->stype == YS_INT)
                        VERR(c, v, "is %.20s, but this pvfio reads profile version 1 only", v->text);
                else
                        VERR(c, v, "must be the integer 1, " GOT, GOTV(v));
                pvp_leave(c, &s);
        } else {
                pvp_diag(c, false, root, "missing required key 'version' (write 'version: 1' at the top)");
        }
        if ((v = pvp_enter(c, root, "cluster", &s))) {
                type_cluster(c, v);
                pvp_leave(c, &s);
        }
        if ((v = pvp_enter(c, root, "templates", &s))) {
                type_templates(&P, v);
                pvp_leave(c, &s);
        }
        if ((v = pvp_enter(c, root, "defaults", &s))) {
                if (is_map(c, v)) {
                        check_keys(c, v, vm_keys);
                        P.defaults = v;
                        struct pv_vm scratch = { 0 };
                        type_vm(c, v, VM_DEFAULTS, &scratch, NULL);
                        pvp_vm_done(&scratch);
                }
                pvp_leave(c, &s);
        }
        if ((v = pvp_enter(c, root, "hosts", &s))) {
                if (is_seq(c, v) && v->n_items) {
                        p->hosts = calloc(v->n_items, sizeof(*p->hosts));
                        c->host_src = calloc(v->n_items, sizeof(*c->host_src));
                        if (!p->hosts || !c->host_src)
                                pvp_oom(c);
                        for (size_t i = 0; !c->stop && i < v->n_items; i++) {
                                size_t mk = pvp_path_idx(c, i);
                                if (is_map(c, v->items[i])) {
                                        c->host_src[p->n_hosts] = (struct pvp_item_src){ v->items[i], i };
                                        type_host(c, v->items[i], &p->hosts[p->n_hosts++]);
                                }
                                pvp_path_pop(c, mk);
                        }
                }
                pvp_leave(c, &s);
        }
        if ((v = pvp_enter(c, root, "mappings", &s))) {
                if (is_seq(c, v) && v->n_items) {
                        p->mappings = calloc(v->n_items, sizeof(*p->mappings));
                        c->mapping_src = calloc(v->n_items, sizeof(*c->mapping_src));
                        if (!p->mappings || !c->mapping_src)
                                pvp_oom(c);
                        for (size_t i = 0; !c->stop && i < v->n_items; i++) {
                                size_t mk = pvp_path_idx(c, i);
                                if (is_map(c, v->items[i])) {
                                        c->mapping_src[p->n_mappings] = (struct pvp_item_src){ v->items[i], i };
                                        type_mapping(c, v->items[i], &p->mappings[p->n_mappings++]);
                                }
                                pvp_path_pop(c, mk);
                        }
                }
                pvp_leave(c, &s);
        }
        if ((v = pvp_enter(c, root, "vms", &s))) {
                if (is_seq(c, v) && v->n_items) {
                        p->vms = calloc(v->n_items, sizeof(*p->vms));
                        c->vm_src = calloc(v->n_items, sizeof(*c->vm_src));
                        if (!p->vms || !c->vm_src)
                                pvp_oom(c);
                        for (size_t i = 0; !c->stop && i < v->n_items; i++) {
                                const struct ynode *it = v->items[i];
                                size_t mk = pvp_path_idx(c, i);
                                if (is_map(c, it)) {
                                        check_keys(c, it, vm_keys);
                                        const struct ynode *merged = merge_vm(&P, it);
                                        struct pvp_vm_src *src = &c->vm_src[p->n_vms];
                                        src->idx = i;
                                        type_vm(c, merged, VM_REAL, &p->vms[p->n_vms++], src);
                                }
                                pvp_path_pop(c, mk);
                        }
                }
                pvp_leave(c, &s);
        }
        free(P.t);
        free(P.names);
}

/* ------------------------------------------------------ tables for tests */

const struct pv_profile_keyset pv_profile_keysets[] = {
        { "", top_keys },
        { "/definitions/cluster", cluster_keys },
        { "/definitions/auth", auth_keys },
        { "/definitions/tls", tls_keys },
        { "/definitions/ssh", ssh_keys },
        { "/definitions/sshNode", ssh_node_keys },
        { "/definitions/host", host_keys },
        { "/definitions/vfioSelector", devsel_keys },
        { "/definitions/vfioSelector/properties/match", match_keys },
        { "/definitions/sriov", sriov_keys },
        { "/definitions/mapping", mapping_keys },
        { "/definitions/mapEntry", map_entry_keys },
        { "/definitions/vm", vm_keys },
        { "/definitions/efidisk", efidisk_keys },
        { "/definitions/cpu", cpu_keys },
        { "/definitions/disk", disk_keys },
        { "/definitions/network", net_keys },
        { "/definitions/pciDevice", pci_keys },
        { "/definitions/romfile", pvp_romfile_keys },
        { NULL, NULL },
};
