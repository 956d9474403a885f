/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Profile loading, stage 2: typing one value (see profile_parse.c).
 *
 * Key scopes (the key path, unknown and required keys), value types (mapping,
 * list, text, boolean, integer, enum), the patterns Proxmox accepts for names,
 * optional keys, sizes, and PCI addresses and IDs. Each wrong value becomes a
 * diagnostic at the value and the caller goes on.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "pvfio/cleanup.h"
#include "pvfio/xalloc.h"
#include "profile_parse_int.h"

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

const struct ynode *pvp_key_node(const struct ynode *m, const char *key) {
        const struct ypair *p = pvp_ymap_find(m, key);
        return p ? p->key : NULL;
}

const char *pvp_q_(const struct ynode *v) {
        return v->kind == Y_SCALAR && v->stype != YS_NULL ? "'" : "";
}
const char *pvp_q_text(const struct ynode *v) {
        return v->kind == Y_SCALAR && v->stype != YS_NULL ? v->text : pvp_ykind_name(v);
}
int pvp_q_len(const struct ynode *v) {
        size_t n = strlen(pvp_q_text(v));
        return (int)(n > 60 ? 60 : n);
}

struct pv_loc pvp_loc_of(struct pvp_ctx *c, const struct ynode *n) {
        return (struct pv_loc){ c->p->file, n->line, n->col };
}

char *pvp_sdup(struct pvp_ctx *c, const char *s) {
        (void)c;        /* allocation does not fail (pvfio/xalloc.h) */
        return pv_xstrdup(s);
}

bool pvp_in_list(const char *s, const char *const *list) {
        for (size_t i = 0; list[i]; i++)
                if (!strcmp(s, list[i]))
                        return true;
        return false;
}

static bool is_secret_key(const char *k) {
        return !strcmp(k, "secret") || !strcmp(k, "password") || !strcmp(k, "token_secret");
}

/* Report every key of m that is not in `known` (inherited pairs were checked at their source). */
void pvp_check_keys(struct pvp_ctx *c, const struct ynode *m, const char *const *known) {
        for (size_t i = 0; i < m->n_pairs && !c->stop; i++) {
                const struct ypair *p = &m->pairs[i];
                const char *k = p->key->text;
                if (p->inherited || pvp_in_list(k, known))
                        continue;
                _cleanup_free_ char *where = NULL;
                if (c->path.len)
                        where = pv_xasprintf("in '%s'", c->path.buf);
                else
                        where = pv_xstrdup("at the top level");
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
const char *pvp_one_of(struct pvp_ctx *c, const struct ynode *m, const char *const *keys, const char *list) {
        const struct ypair *first = NULL;
        for (size_t i = 0; i < m->n_pairs; i++) {
                const struct ypair *p = &m->pairs[i];
                if (!pvp_in_list(p->key->text, keys))
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

void pvp_require(struct pvp_ctx *c, const struct ynode *m, const char *key) {
        if (!pvp_ymap_find(m, key))
                VERR(c, m, "needs '%s'", key);
}

/* ----------------------------------------------------------- value types */

bool pvp_is_map(struct pvp_ctx *c, const struct ynode *v) {
        if (v->kind == Y_MAP)
                return true;
        if (v->kind == Y_SCALAR && v->stype == YS_NULL)
                VERR(c, v, "has no value; expected a mapping");
        else
                VERR(c, v, "must be a mapping, " GOT, GOTV(v));
        return false;
}

bool pvp_is_seq(struct pvp_ctx *c, const struct ynode *v) {
        if (v->kind == Y_SEQ)
                return true;
        if (v->kind == Y_SCALAR && v->stype == YS_NULL)
                VERR(c, v, "has no value; expected a list (write [] for none)");
        else
                VERR(c, v, "must be a list, " GOT, GOTV(v));
        return false;
}

/* A non-empty scalar; its text is used whatever its core type (so `name: 101` is "101"). */
bool pvp_is_text(struct pvp_ctx *c, const struct ynode *v, const char *what) {
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
        return pvp_in_list(s, w);
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

bool pvp_t_int(struct pvp_ctx *c, const struct ynode *v, long long min, long long max, long long *out) {
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
int pvp_t_enum(struct pvp_ctx *c, const struct ynode *v, const char *const *names) {
        if (v->kind == Y_SCALAR && v->stype != YS_NULL)
                for (size_t i = 0; names[i]; i++)
                        if (!strcmp(v->text, names[i]))
                                return (int)i;
        _cleanup_free_ char *list = NULL;
        struct pv_buf b = PV_BUF_INIT;
        for (size_t i = 0; names[i]; i++)
                if (pv_buf_addf(&b, NULL, "%s%s", i ? ", " : "", names[i]) < 0)
                        pvp_oom(c);
        pv_buf_detach(&b, &list, NULL, NULL);   /* does not fail (pvfio/xalloc.h) */
        const char *hint = v->kind == Y_SCALAR && v->stype != YS_NULL ? pvp_suggest(v->text, names) : NULL;
        if (v->kind == Y_SCALAR && v->stype == YS_NULL)
                VERR(c, v, "has no value; expected one of %s", list);
        else
                VERR(c, v, "must be one of %s, " GOT "%s%s%s", list, GOTV(v), hint ? "; did you mean '" : "",
                     hint ? hint : "", hint ? "'?" : "");
        return -1;
}

/* ---------------------------------------------------------------- patterns */

bool pvp_alnum(char ch) {
        return isascii((unsigned char)ch) && isalnum((unsigned char)ch);
}
bool pvp_chars_ok(const char *s, const char *extra) {
        for (; *s; s++)
                if (!pvp_alnum(*s) && !strchr(extra, *s))
                        return false;
        return true;
}

/* ^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?$, at most 63 characters */
bool pvp_re_node(const char *s) {
        size_t n = strlen(s);
        return n && n <= 63 && pvp_alnum(s[0]) && pvp_alnum(s[n - 1]) && pvp_chars_ok(s, "-");
}
/* ^[a-zA-Z0-9]([a-zA-Z0-9.-]*[a-zA-Z0-9])?$, at most 63 characters */
bool pvp_re_dns(const char *s) {
        size_t n = strlen(s);
        return n && n <= 63 && pvp_alnum(s[0]) && pvp_alnum(s[n - 1]) && pvp_chars_ok(s, ".-");
}
/* ^[a-zA-Z][a-zA-Z0-9\-_.]*[a-zA-Z0-9]$ */
bool pvp_re_storage(const char *s) {
        size_t n = strlen(s);
        return n >= 2 && isalpha((unsigned char)s[0]) && isascii((unsigned char)s[0]) && pvp_alnum(s[n - 1]) &&
               pvp_chars_ok(s, "-_.");
}
/* ^[a-zA-Z][a-zA-Z0-9_.-]*$ */
bool pvp_re_bridge(const char *s) {
        return isascii((unsigned char)s[0]) && isalpha((unsigned char)s[0]) && pvp_chars_ok(s, "_.-");
}
/* ^[a-zA-Z0-9_][a-zA-Z0-9_\-+.]*$ */
bool pvp_re_tag(const char *s) {
        return *s && (pvp_alnum(s[0]) || s[0] == '_') && pvp_chars_ok(s, "_-+.");
}
/* ^[a-zA-Z0-9_-]+$ */
bool pvp_re_driver(const char *s) {
        return *s && pvp_chars_ok(s, "_-");
}
/* ^[a-z0-9][a-z0-9_-]*$ */
bool pvp_re_template(const char *s) {
        if (!*s || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9')))
                return false;
        for (; *s; s++)
                if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' || *s == '-'))
                        return false;
        return true;
}
/* pve-configid ^[a-z][a-z0-9_-]+$ (case-insensitive) */
bool pvp_re_configid(const char *s) {
        return strlen(s) >= 2 && isascii((unsigned char)s[0]) && isalpha((unsigned char)s[0]) && pvp_chars_ok(s, "_-");
}
/* ^[+-][a-zA-Z0-9_-]+$ */
bool pvp_re_cpuflag(const char *s) {
        return (s[0] == '+' || s[0] == '-') && s[1] && pvp_chars_ok(s + 1, "_-");
}
/* CPU model names: "host", "x86-64-v2-AES", "custom-foo" */
bool pvp_re_cputype(const char *s) {
        return pvp_alnum(s[0]) && pvp_chars_ok(s, "_.+-") && strlen(s) <= 64;
}
/* ^[^/.:]+$ */
bool pvp_re_mdev(const char *s) {
        return *s && !strpbrk(s, "/.:");
}
/* ^[0-9]+\.[0-9]+(\+pve[0-9]+)?$ */
bool pvp_re_machver(const char *s) {
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
bool pvp_re_envname(const char *s) {
        return *s && !(s[0] >= '0' && s[0] <= '9') && pvp_chars_ok(s, "_");
}
/* realm / token id: [A-Za-z][A-Za-z0-9.\-_]+ */
bool pvp_re_realm(const char *s) {
        return strlen(s) >= 2 && isascii((unsigned char)s[0]) && isalpha((unsigned char)s[0]) && pvp_chars_ok(s, ".-_");
}
/* pve-userid: name@realm, name = [^\s:/]+, at most 64 characters */
bool pvp_re_userid(const char *s) {
        const char *at = strrchr(s, '@');
        if (!at || at == s || strlen(s) > 64 || !pvp_re_realm(at + 1))
                return false;
        for (const char *p = s; p < at; p++)
                if (isspace((unsigned char)*p) || *p == ':' || *p == '/')
                        return false;
        return true;
}
/* a file path: non-empty, no control characters */
bool pvp_re_path(const char *s) {
        for (; *s; s++)
                if ((unsigned char)*s < 0x20 || *s == 0x7f)
                        return false;
        return true;
}
bool pvp_re_any(const char *s) {
        (void)s;
        return true;
}
bool pvp_re_noblank(const char *s) {
        for (; *s; s++)
                if (isspace((unsigned char)*s))
                        return false;
        return true;
}

/* A string checked by `valid`; *out is a new copy. */
bool pvp_t_str(struct pvp_ctx *c, const struct ynode *v, bool (*valid)(const char *), const char *what, char **out) {
        if (!pvp_is_text(c, v, what))
                return false;
        if (valid && !valid(v->text)) {
                VERR(c, v, "must be %s, " GOT, what, GOTV(v));
                return false;
        }
        char *s = pvp_sdup(c, v->text);
        if (!s)
                return false;
        free(*out);
        *out = s;
        return true;
}

/* ----------------------------------------------------------- optional keys */

int pvp_o_bool(struct pvp_ctx *c, const struct ynode *m, const char *key, bool *out) {
        struct pvp_scope s = { 0 };
        const struct ynode *v = pvp_enter(c, m, key, &s);
        if (!v)
                return 0;
        bool ok = t_bool(c, v, out);
        pvp_leave(c, &s);
        return ok ? 1 : -1;
}

/* A boolean stored as -1 (unset) / 0 / 1. */
void pvp_o_tri(struct pvp_ctx *c, const struct ynode *m, const char *key, int *out) {
        bool b;
        if (pvp_o_bool(c, m, key, &b) == 1)
                *out = b;
}

int pvp_o_int(struct pvp_ctx *c, const struct ynode *m, const char *key, long long min, long long max,
              long long *out) {
        struct pvp_scope s = { 0 };
        const struct ynode *v = pvp_enter(c, m, key, &s);
        if (!v)
                return 0;
        bool ok = pvp_t_int(c, v, min, max, out);
        pvp_leave(c, &s);
        return ok ? 1 : -1;
}

int pvp_o_str(struct pvp_ctx *c, const struct ynode *m, const char *key, bool (*valid)(const char *),
              const char *what, char **out) {
        struct pvp_scope s = { 0 };
        const struct ynode *v = pvp_enter(c, m, key, &s);
        if (!v)
                return 0;
        bool ok = pvp_t_str(c, v, valid, what, out);
        pvp_leave(c, &s);
        return ok ? 1 : -1;
}

int pvp_o_enum(struct pvp_ctx *c, const struct ynode *m, const char *key, const char *const *names, int *out) {
        struct pvp_scope s = { 0 };
        const struct ynode *v = pvp_enter(c, m, key, &s);
        if (!v)
                return 0;
        int r = pvp_t_enum(c, v, names);
        pvp_leave(c, &s);
        if (r < 0)
                return -1;
        *out = r;
        return 1;
}

/* A list of strings each checked by `valid`; item locations optional. */
int pvp_o_strlist(struct pvp_ctx *c, const struct ynode *m, const char *key, bool (*valid)(const char *),
                  const char *what, struct pv_strv *out, struct pv_loc **ret_locs) {
        struct pvp_scope s = { 0 };
        const struct ynode *v = pvp_enter(c, m, key, &s);
        if (!v)
                return 0;
        int r = 1;
        if (!pvp_is_seq(c, v)) {
                pvp_leave(c, &s);
                return -1;
        }
        struct pv_loc *locs = NULL;
        if (ret_locs && v->n_items) {
                locs = pv_xcalloc(v->n_items, sizeof(*locs));
        }
        pv_strv_done(out);
        for (size_t i = 0; i < v->n_items && !c->stop; i++) {
                const struct ynode *it = v->items[i];
                size_t mk = pvp_path_idx(c, i);
                char *str = NULL;
                if (pvp_t_str(c, it, valid, what, &str)) {
                        if (locs)
                                locs[out->n] = pvp_loc_of(c, it);
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

/* "16G", "512M", "1.5G", "16384" (MiB) → whole MiB. */
int pvp_parse_size(const char *s, bool unit_required, uint64_t *ret_mib) {
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

bool pvp_t_size(struct pvp_ctx *c, const struct ynode *v, bool unit_required, uint64_t min_mib, uint64_t *out) {
        if (!pvp_is_text(c, v, "a size such as 16G"))
                return false;
        uint64_t mib = 0;
        switch (pvp_parse_size(v->text, unit_required, &mib)) {
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

bool pvp_t_addr(struct pvp_ctx *c, const struct ynode *v, const char *text, bool need_func, struct pv_pci_addr *out) {
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
bool pvp_t_addr_list(struct pvp_ctx *c, const struct ynode *v, struct pv_pci_addr **ret, size_t *ret_n) {
        struct pv_pci_addr *addrs = NULL;
        size_t n = 0;
        bool ok = true;
        if (v->kind == Y_SEQ) {
                if (!v->n_items) {
                        VERR(c, v, "is an empty list; expected one or more PCI addresses");
                        return false;
                }
                addrs = pv_xcalloc(v->n_items, sizeof(*addrs));
                for (size_t i = 0; i < v->n_items && !c->stop; i++) {
                        size_t mk = pvp_path_idx(c, i);
                        const struct ynode *it = v->items[i];
                        if (pvp_is_text(c, it, "a PCI address") && pvp_t_addr(c, it, it->text, false, &addrs[n]))
                                n++;
                        else
                                ok = false;
                        pvp_path_pop(c, mk);
                }
        } else {
                if (!pvp_is_text(c, v, "a PCI address, 'a;b' or a list of addresses"))
                        return false;
                size_t parts = 1;
                for (const char *p = v->text; *p; p++)
                        parts += *p == ';';
                addrs = pv_xcalloc(parts, sizeof(*addrs));
                _cleanup_free_ char *copy = pv_xstrdup(v->text);
                char *save = NULL;
                size_t seen = 0;
                for (char *t = strtok_r(copy, ";", &save); t; t = strtok_r(NULL, ";", &save)) {
                        seen++;
                        if (pvp_t_addr(c, v, t, false, &addrs[n]))
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

bool pvp_t_pci_id(struct pvp_ctx *c, const struct ynode *v, struct pv_pci_id *out) {
        if (!pvp_is_text(c, v, "a vendor:device ID such as 10de:25a0"))
                return false;
        if (pv_pci_id_parse(v->text, out, NULL) < 0) {
                VERR(c, v, "must be a vendor:device ID of 4+4 hex digits (e.g. 10de:25a0), " GOT, GOTV(v));
                return false;
        }
        return true;
}

/* Exactly `digits` hex digits, optionally prefixed with 0x; `alt` digits also accepted when non-zero. */
bool pvp_hex_value(const char *s, unsigned digits, unsigned alt, uint32_t *out, unsigned *ret_digits) {
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

bool pvp_t_hex16(struct pvp_ctx *c, const struct ynode *v, uint16_t *out) {
        uint32_t x;
        if (!pvp_is_text(c, v, "a 16-bit hex ID such as 10de or 0x10de"))
                return false;
        if (!pvp_hex_value(v->text, 4, 0, &x, NULL)) {
                VERR(c, v, "must be 4 hex digits, with or without 0x (e.g. 10de or 0x10de), " GOT, GOTV(v));
                return false;
        }
        *out = (uint16_t)x;
        return true;
}
