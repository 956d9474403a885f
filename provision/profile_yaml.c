/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Profile loading, stage 1: libyaml events → node tree.
 *
 * The event API is used (not the document loader) so that every limit is
 * enforced while the input is read: nesting depth, node visits with aliases
 * expanded (the alias-bomb guard: each node carries the number of nodes a
 * walk through it visits, so an alias adds its target's weight without
 * copying it), one document only, core-schema tags only. Aliases share the
 * anchored node; `<<:` merge keys are resolved when their mapping ends, and
 * duplicate keys are reported there.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "pvfio/cleanup.h"
#include "pvfio/xalloc.h"
#include "profile_int.h"

#define CORE_TAG "tag:yaml.org,2002:"

struct anchor {
        char *name;
        struct ynode *node;
};

struct frame {
        struct ynode *node;
        struct ynode *pending_key;   /* mapping: key waiting for its value */
        bool bad_key;                /* pending key was not a scalar (pair dropped) */
};

struct builder {
        struct pvp_ctx *c;
        struct frame stack[PV_PROFILE_MAX_DEPTH + 1];
        unsigned depth;              /* open collections */
        struct anchor *anchors;
        size_t n_anchors, alloc_anchors;
        struct ynode *root;
        size_t aliases;              /* alias events seen so far */
};

/* ------------------------------------------------------------- arena */

static struct ynode *node_new(struct yarena *a, enum ykind kind, unsigned line, unsigned col) {
        struct ynode *n = pv_xcalloc(1, sizeof(*n));
        n->kind = kind;
        n->line = line;
        n->col = col;
        n->weight = 1;
        n->arena_next = a->head;
        a->head = n;
        return n;
}

void pvp_yaml_arena_free(struct yarena *a) {
        struct ynode *n = a->head;
        while (n) {
                struct ynode *next = n->arena_next;
                free(n->text);
                free(n->items);
                free(n->pairs);
                free(n);
                n = next;
        }
        a->head = NULL;
}

struct ynode *pvp_ynode_new_map(struct yarena *a, unsigned line, unsigned col) {
        return node_new(a, Y_MAP, line, col);
}

static void pairs_reserve(struct ynode *m, size_t extra) {
        if (m->n_pairs + extra <= m->alloc_pairs)
                return;
        size_t n = m->alloc_pairs ? m->alloc_pairs : 8;
        while (n < m->n_pairs + extra)
                n *= 2;
        m->pairs = pv_xreallocarray(m->pairs, n, sizeof(*m->pairs));
        m->alloc_pairs = n;
}

static void items_reserve(struct ynode *s) {
        if (s->n_items < s->alloc_items)
                return;
        size_t n = s->alloc_items ? s->alloc_items * 2 : 8;
        s->items = pv_xreallocarray(s->items, n, sizeof(*s->items));
        s->alloc_items = n;
}

static int key_cmp(const struct ynode *a, const struct ynode *b) {
        size_t n = a->len < b->len ? a->len : b->len;
        int r = memcmp(a->text, b->text, n);
        if (r)
                return r;
        return a->len < b->len ? -1 : a->len > b->len ? 1 : 0;
}

const struct ypair *pvp_ymap_find(const struct ynode *m, const char *key) {
        if (!m || m->kind != Y_MAP)
                return NULL;
        size_t kl = strlen(key);
        for (size_t i = 0; i < m->n_pairs; i++) {
                const struct ynode *k = m->pairs[i].key;
                if (k->len == kl && memcmp(k->text, key, kl) == 0)
                        return &m->pairs[i];
        }
        return NULL;
}

void pvp_ymap_set(struct ynode *m, struct ynode *key, struct ynode *value, bool inherited) {
        for (size_t i = 0; i < m->n_pairs; i++)
                if (key_cmp(m->pairs[i].key, key) == 0) {
                        m->pairs[i] = (struct ypair){ key, value, 0, i, inherited };
                        return;
                }
        pairs_reserve(m, 1);
        m->pairs[m->n_pairs] = (struct ypair){ key, value, 0, m->n_pairs, inherited };
        m->n_pairs++;
}

const char *pvp_ykind_name(const struct ynode *n) {
        if (!n)
                return "nothing";
        switch (n->kind) {
        case Y_MAP:
                return "a mapping";
        case Y_SEQ:
                return "a list";
        default:
                break;
        }
        switch (n->stype) {
        case YS_NULL:
                return "an empty value";
        case YS_BOOL:
                return "a boolean";
        case YS_INT:
                return "an integer";
        case YS_FLOAT:
                return "a number";
        default:
                return "a string";
        }
}

/* ------------------------------------------------- core-schema scalars */

static bool all_in(const char *s, const char *set) {
        if (!*s)
                return false;
        for (; *s; s++)
                if (!strchr(set, *s))
                        return false;
        return true;
}

static bool is_core_null(const char *s) {
        return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL");
}

static int core_bool(const char *s) {
        if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE"))
                return 1;
        if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE"))
                return 0;
        return -1;
}

/* [-+]?[0-9]+ | 0o[0-7]+ | 0x[0-9a-fA-F]+ ; returns false when not an int. */
static bool core_int(const char *s, long long *ret, bool *overflow) {
        unsigned base = 10;
        bool neg = false;
        const char *p = s;
        if (p[0] == '0' && p[1] == 'o') {
                base = 8;
                p += 2;
                if (!all_in(p, "01234567"))
                        return false;
        } else if (p[0] == '0' && p[1] == 'x') {
                base = 16;
                p += 2;
                if (!all_in(p, "0123456789abcdefABCDEF"))
                        return false;
        } else {
                if (*p == '-' || *p == '+')
                        neg = *p++ == '-';
                if (!all_in(p, "0123456789"))
                        return false;
        }
        unsigned long long v = 0;
        *overflow = false;
        for (; *p; p++) {
                unsigned d = *p <= '9' ? (unsigned)(*p - '0') : (unsigned)((*p | 0x20) - 'a' + 10);
                if (v > (9223372036854775807ULL - d) / base) {
                        *overflow = true;
                        v = 0;
                        break;
                }
                v = v * base + d;
        }
        *ret = neg ? -(long long)v : (long long)v;
        return true;
}

/* [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )? | [-+]?\.inf | \.nan */
static bool core_float(const char *s) {
        const char *p = s;
        if (*p == '-' || *p == '+')
                p++;
        if (!strcmp(p, ".inf") || !strcmp(p, ".Inf") || !strcmp(p, ".INF"))
                return true;
        if (p == s && (!strcmp(p, ".nan") || !strcmp(p, ".NaN") || !strcmp(p, ".NAN")))
                return true;
        size_t digits = 0;
        while (*p >= '0' && *p <= '9')
                p++, digits++;
        if (*p == '.') {
                p++;
                size_t frac = 0;
                while (*p >= '0' && *p <= '9')
                        p++, frac++;
                if (!digits && !frac)
                        return false;
        } else if (!digits) {
                return false;
        }
        if (*p == 'e' || *p == 'E') {
                p++;
                if (*p == '-' || *p == '+')
                        p++;
                if (!(*p >= '0' && *p <= '9'))
                        return false;
                while (*p >= '0' && *p <= '9')
                        p++;
        }
        return *p == '\0';
}

static void resolve_plain(struct ynode *n) {
        int b;
        if (is_core_null(n->text))
                n->stype = YS_NULL;
        else if ((b = core_bool(n->text)) >= 0)
                n->stype = YS_BOOL, n->bval = b;
        else if (core_int(n->text, &n->ival, &n->int_overflow))
                n->stype = YS_INT;
        else if (core_float(n->text))
                n->stype = YS_FLOAT;
        else
                n->stype = YS_STR;
}

/* ------------------------------------------------------------ builder */

static unsigned ln(yaml_mark_t m) {
        return (unsigned)m.line + 1;
}
static unsigned cl(yaml_mark_t m) {
        return (unsigned)m.column + 1;
}

/*
 * The dotted key path of the node at stack[n - 1] (the root for n == 0), plus, when `child`, the
 * slot its next child takes. Only built for diagnostics.
 */
static char *bpath(const struct builder *b, unsigned n, bool child, const char *leaf) {
        struct pv_buf p = PV_BUF_INIT_CAP(16 * 1024);
        unsigned levels = n + (child ? 1 : 0);
        int r = 0;
        for (unsigned i = 1; i < levels && r == 0; i++) {
                const struct frame *f = &b->stack[i - 1];
                if (f->node->kind == Y_SEQ)
                        r = pv_buf_addf(&p, NULL, "[%zu]", f->node->n_items);
                else
                        r = pv_buf_addf(&p, NULL, "%s%.80s", p.len ? "." : "",
                                        f->pending_key ? f->pending_key->text : "?");
        }
        if (leaf && r == 0)
                r = pv_buf_addf(&p, NULL, "%s%.80s", p.len ? "." : "", leaf);
        char *s = NULL;
        if (r < 0 || pv_buf_detach(&p, &s, NULL, NULL) < 0) {
                pv_buf_release(&p);
                return NULL;
        }
        return s;
}

/* A problem at mark m whose key path is bpath(b, n, child, NULL). */
static void berr(struct builder *b, yaml_mark_t m, unsigned n, bool child, const char *fmt, ...) PV_PRINTF(5, 6);
static void berr(struct builder *b, yaml_mark_t m, unsigned n, bool child, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        _cleanup_free_ char *msg = NULL;
        if (vasprintf(&msg, fmt, ap) < 0)
                pv_oom(strlen(fmt));    /* allocation does not fail (pvfio/xalloc.h) */
        va_end(ap);
        _cleanup_free_ char *key = bpath(b, n, child, NULL);
        pvp_diag_at(b->c, false, ln(m), cl(m), key, "%s", msg);
}

/* A problem at a node with an explicit key path (n frames, plus `leaf`). */
static void bnerr(struct builder *b, const struct ynode *at, unsigned n, const char *leaf, const char *fmt, ...)
        PV_PRINTF(5, 6);
static void bnerr(struct builder *b, const struct ynode *at, unsigned n, const char *leaf, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        _cleanup_free_ char *msg = NULL;
        if (vasprintf(&msg, fmt, ap) < 0)
                pv_oom(strlen(fmt));    /* allocation does not fail (pvfio/xalloc.h) */
        va_end(ap);
        _cleanup_free_ char *key = bpath(b, n, false, leaf);
        pvp_diag_at(b->c, false, at->line, at->col, key, "%s", msg);
}

static void add_anchor(struct builder *b, const char *name, struct ynode *n) {
        if (b->n_anchors == b->alloc_anchors) {
                size_t k = b->alloc_anchors ? b->alloc_anchors * 2 : 16;
                b->anchors = pv_xreallocarray(b->anchors, k, sizeof(*b->anchors));
                b->alloc_anchors = k;
        }
        b->anchors[b->n_anchors++] = (struct anchor){ pv_xstrdup(name), n };
}

static struct ynode *find_anchor(struct builder *b, const char *name) {
        for (size_t i = b->n_anchors; i > 0; i--)
                if (!strcmp(b->anchors[i - 1].name, name))
                        return b->anchors[i - 1].node;
        return NULL;
}

/* Checks a tag against the core schema; returns the core type name or "" for none/"!". */
static bool tag_ok(struct builder *b, yaml_mark_t m, const char *tag, const char *const *allowed,
                   const char **ret_core) {
        *ret_core = "";
        if (!tag || !strcmp(tag, "!"))
                return true;
        if (pv_startswith(tag, CORE_TAG)) {
                const char *t = tag + strlen(CORE_TAG);
                for (size_t i = 0; allowed[i]; i++)
                        if (!strcmp(t, allowed[i])) {
                                *ret_core = allowed[i];
                                return true;
                        }
        }
        bool core = pv_startswith(tag, CORE_TAG);
        berr(b, m, b->depth, true,
             "unsupported YAML tag '%s%.60s' here: only the core schema tags (!!str, !!int, !!bool, !!float, "
             "!!null on values, !!seq on lists, !!map on mappings) are allowed",
             core ? "!!" : "", core ? tag + strlen(CORE_TAG) : tag);
        return false;
}

/* Attach a finished node to the open collection (or make it the root). */
static int attach(struct builder *b, struct ynode *child, yaml_mark_t m, const char *alias) {
        if (b->depth + child->height > PV_PROFILE_MAX_DEPTH) {
                berr(b, m, b->depth, true, "the profile nests deeper than %u levels%s%.80s%s",
                     PV_PROFILE_MAX_DEPTH, alias ? " through alias '*" : "", alias ? alias : "", alias ? "'" : "");
                return -PV_EINVAL;
        }
        if (b->depth == 0) {
                b->root = child;
                return 0;
        }
        struct frame *f = &b->stack[b->depth - 1];
        struct ynode *parent = f->node;
        if (parent->height < child->height + 1)
                parent->height = child->height + 1;
        parent->weight += child->weight;
        if (parent->weight > PV_PROFILE_MAX_NODES) {
                if (alias || b->aliases)
                        berr(b, m, b->depth, true,
                             "the profile expands to more than %u nodes through alias%s%.80s%s; refusing it "
                             "(alias bomb?)",
                             PV_PROFILE_MAX_NODES, alias ? " '*" : "es", alias ? alias : "", alias ? "'" : "");
                else
                        berr(b, m, b->depth, true,
                             "the profile has more than %u nodes (aliases counted expanded); refusing it",
                             PV_PROFILE_MAX_NODES);
                return -PV_EINVAL;
        }
        if (parent->kind == Y_SEQ) {
                items_reserve(parent);
                parent->items[parent->n_items++] = child;
                return 0;
        }
        /* mapping */
        if (!f->pending_key && !f->bad_key) {
                if (child->kind != Y_SCALAR) {
                        bnerr(b, child, b->depth, NULL, "mapping keys must be strings, not %s",
                              pvp_ykind_name(child));
                        f->bad_key = true;
                        return 0;
                }
                if (child->stype == YS_NULL) {
                        bnerr(b, child, b->depth, NULL, "empty mapping key");
                        f->bad_key = true;
                        return 0;
                }
                if (child->stype != YS_STR) {
                        bnerr(b, child, b->depth, NULL, "mapping keys must be strings, not %s ('%.60s'); quote it",
                              pvp_ykind_name(child), child->text);
                        f->bad_key = true;
                        return 0;
                }
                f->pending_key = child;
                return 0;
        }
        if (f->bad_key) {
                f->bad_key = false;
                return 0;
        }
        pairs_reserve(parent, 1);
        parent->pairs[parent->n_pairs] = (struct ypair){ f->pending_key, child, 0, parent->n_pairs, false };
        parent->n_pairs++;
        f->pending_key = NULL;
        return 0;
}

static bool is_merge_key(const struct ynode *k) {
        return k->merge_key;
}

static int cmp_pair_key(const void *a, const void *b) {
        const struct ypair *x = a, *y = b;
        int r = key_cmp(x->key, y->key);
        if (r)
                return r;
        if (x->prio != y->prio)
                return x->prio < y->prio ? -1 : 1;
        return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static int cmp_pair_idx(const void *a, const void *b) {
        const struct ypair *x = a, *y = b;
        return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static void append_source(struct ypair **v, size_t *n, size_t *alloc, const struct ynode *src, unsigned prio) {
        if (*n + src->n_pairs > *alloc) {
                size_t k = *alloc ? *alloc : 16;
                while (k < *n + src->n_pairs)
                        k *= 2;
                *v = pv_xreallocarray(*v, k, sizeof(**v));
                *alloc = k;
        }
        for (size_t i = 0; i < src->n_pairs; i++) {
                (*v)[*n] = src->pairs[i];
                (*v)[*n].prio = prio;
                (*v)[*n].idx = *n;
                (*n)++;
        }
}

/* Resolve `<<` merges and report duplicate keys; the mapping is then final. */
static int finish_map(struct builder *b, struct ynode *m) {
        bool merges = false;
        for (size_t i = 0; i < m->n_pairs && !merges; i++)
                merges = is_merge_key(m->pairs[i].key);
        _cleanup_free_ struct ypair *v = NULL;
        size_t n = 0, alloc = 0;
        if (!merges) {
                if (m->n_pairs < 2)
                        return 0;
                v = pv_xmalloc(m->n_pairs * sizeof(*v));
                memcpy(v, m->pairs, m->n_pairs * sizeof(*v));
                n = m->n_pairs;
                for (size_t i = 0; i < n; i++)
                        v[i].prio = 0, v[i].idx = i;
        } else {
                unsigned prio = 0;
                const struct ynode *merge_at = NULL;
                /* written keys first (prio 0), then each merge source in order */
                struct ynode written = { .kind = Y_MAP };
                written.pairs = m->pairs;
                written.n_pairs = m->n_pairs;
                append_source(&v, &n, &alloc, &written, 0);
                size_t w = 0;
                for (size_t i = 0; i < n; i++)
                        if (!is_merge_key(v[i].key))
                                v[w++] = v[i];
                n = w;
                for (size_t i = 0; i < n; i++)
                        v[i].idx = i;
                for (size_t i = 0; i < m->n_pairs; i++) {
                        const struct ypair *pp = &m->pairs[i];
                        if (!is_merge_key(pp->key))
                                continue;
                        if (merge_at) {
                                bnerr(b, pp->key, b->depth + 1, "<<",
                                      "duplicate key '<<' (first defined at line %u, column %u)", merge_at->line,
                                      merge_at->col);
                                continue;
                        }
                        merge_at = pp->key;
                        const struct ynode *val = pp->value;
                        if (val->kind == Y_MAP) {
                                append_source(&v, &n, &alloc, val, ++prio);
                        } else if (val->kind == Y_SEQ) {
                                for (size_t k = 0; k < val->n_items; k++) {
                                        const struct ynode *src = val->items[k];
                                        if (src->kind != Y_MAP) {
                                                bnerr(b, src, b->depth + 1, "<<",
                                                      "a '<<' merge list may only hold mappings, not %s",
                                                      pvp_ykind_name(src));
                                                continue;
                                        }
                                        append_source(&v, &n, &alloc, src, ++prio);
                                }
                        } else {
                                bnerr(b, val, b->depth + 1, "<<",
                                      "a '<<' merge value must be a mapping or a list of mappings, not %s",
                                      pvp_ykind_name(val));
                        }
                }
        }
        if (n > 1)
                qsort(v, n, sizeof(*v), cmp_pair_key);
        size_t w = 0;
        for (size_t i = 0; i < n;) {
                size_t j = i + 1;
                while (j < n && key_cmp(v[i].key, v[j].key) == 0) {
                        if (v[j].prio == 0) /* v[i] is written too (lowest prio sorts first) */
                                bnerr(b, v[j].key, b->depth + 1, v[j].key->text,
                                      "duplicate key '%.80s' (first defined at line %u, column %u)", v[j].key->text,
                                      v[i].key->line, v[i].key->col);
                        j++;
                }
                v[w++] = v[i];
                i = j;
        }
        n = w;
        if (n > 1)
                qsort(v, n, sizeof(*v), cmp_pair_idx);
        /* written duplicates sorted after the first by idx: report order is by position anyway */
        free(m->pairs);
        m->pairs = TAKE_PTR(v);
        m->n_pairs = m->alloc_pairs = n;
        for (size_t i = 0; i < n; i++)
                m->pairs[i].prio = 0, m->pairs[i].idx = i;
        return 0;
}

static const char *const scalar_tags[] = { "str", "int", "bool", "float", "null", "merge", NULL };
static const char *const seq_tags[] = { "seq", NULL };
static const char *const map_tags[] = { "map", NULL };

static int on_scalar(struct builder *b, yaml_event_t *ev) {
        struct ynode *n = node_new(&b->c->arena, Y_SCALAR, ln(ev->start_mark), cl(ev->start_mark));
        n->len = ev->data.scalar.length;
        n->text = pv_xmalloc(n->len + 1);
        memcpy(n->text, ev->data.scalar.value, n->len);
        n->text[n->len] = '\0';
        if (memchr(n->text, '\0', n->len))
                berr(b, ev->start_mark, b->depth, true, "a string may not contain a NUL character");
        const char *core = "";
        const char *tag = (const char *)ev->data.scalar.tag;
        tag_ok(b, ev->start_mark, tag, scalar_tags, &core);
        bool plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
        if (!*core) {
                if (plain && !tag)
                        resolve_plain(n);
                else
                        n->stype = YS_STR;
                n->merge_key = plain && !tag && !strcmp(n->text, "<<");
        } else if (!strcmp(core, "str")) {
                n->stype = YS_STR;
        } else if (!strcmp(core, "merge")) {
                n->stype = YS_STR;
                n->merge_key = true;
        } else {
                resolve_plain(n);
                const char *want = core;
                bool ok = (!strcmp(want, "int") && n->stype == YS_INT) ||
                          (!strcmp(want, "bool") && n->stype == YS_BOOL) ||
                          (!strcmp(want, "null") && n->stype == YS_NULL) ||
                          (!strcmp(want, "float") && (n->stype == YS_FLOAT || n->stype == YS_INT));
                if (!ok) {
                        berr(b, ev->start_mark, b->depth, true, "'%.60s' is not a valid !!%s", n->text, want);
                        n->stype = YS_STR;
                } else if (!strcmp(want, "float")) {
                        n->stype = YS_FLOAT;
                }
        }
        if (ev->data.scalar.anchor)
                add_anchor(b, (const char *)ev->data.scalar.anchor, n);
        return attach(b, n, ev->start_mark, NULL);
}

static int on_start(struct builder *b, yaml_event_t *ev, enum ykind kind) {
        if (b->depth >= PV_PROFILE_MAX_DEPTH) {
                berr(b, ev->start_mark, b->depth, true, "the profile nests deeper than %u levels",
                     PV_PROFILE_MAX_DEPTH);
                return -PV_EINVAL;
        }
        struct ynode *n = node_new(&b->c->arena, kind, ln(ev->start_mark), cl(ev->start_mark));
        n->open = true;
        n->height = 1;
        const char *core;
        const yaml_char_t *anchor, *tag;
        if (kind == Y_SEQ) {
                anchor = ev->data.sequence_start.anchor;
                tag = ev->data.sequence_start.tag;
                tag_ok(b, ev->start_mark, (const char *)tag, seq_tags, &core);
        } else {
                anchor = ev->data.mapping_start.anchor;
                tag = ev->data.mapping_start.tag;
                tag_ok(b, ev->start_mark, (const char *)tag, map_tags, &core);
        }
        if (anchor)
                add_anchor(b, (const char *)anchor, n);
        b->stack[b->depth++] = (struct frame){ .node = n };
        return 0;
}

static int on_end(struct builder *b, yaml_event_t *ev) {
        struct frame *f = &b->stack[--b->depth];
        struct ynode *n = f->node;
        n->open = false;
        if (n->kind == Y_MAP) {
                int r = finish_map(b, n);
                if (r < 0)
                        return r;
        }
        return attach(b, n, ev->start_mark, NULL);
}

static int on_alias(struct builder *b, yaml_event_t *ev) {
        const char *name = (const char *)ev->data.alias.anchor;
        b->aliases++;
        struct ynode *n = find_anchor(b, name);
        if (!n) {
                berr(b, ev->start_mark, b->depth, true, "unknown alias '*%.80s' (no anchor '&%.80s' before it)",
                     name, name);
                return -PV_EINVAL;
        }
        if (n->open) {
                berr(b, ev->start_mark, b->depth, true,
                     "alias '*%.80s' refers to a node that contains it (recursive alias)", name);
                return -PV_EINVAL;
        }
        return attach(b, n, ev->start_mark, name);
}

/* Line and column (1-based) of a byte offset, for reader errors. */
static void offset_pos(const char *buf, size_t len, size_t off, unsigned *line, unsigned *col) {
        unsigned l = 1, c = 1;
        if (off > len)
                off = len;
        for (size_t i = 0; i < off; i++) {
                if (buf[i] == '\n')
                        l++, c = 1;
                else if (((unsigned char)buf[i] & 0xc0) != 0x80)
                        c++;
        }
        *line = l;
        *col = c;
}

static void report_parser_error(struct builder *b, const yaml_parser_t *ps, const char *buf, size_t len) {
        const char *problem = ps->problem ? ps->problem : "unknown problem";
        if (ps->error == YAML_READER_ERROR) {
                unsigned l, c;
                offset_pos(buf, len, ps->problem_offset, &l, &c);
                if (ps->problem_value != -1)
                        pvp_diag_at(b->c, false, l, c, NULL,
                                    "invalid YAML input: %s (#%X at byte %zu); a profile must be UTF-8 text",
                                    problem, (unsigned)ps->problem_value, ps->problem_offset);
                else
                        pvp_diag_at(b->c, false, l, c, NULL,
                                    "invalid YAML input: %s at byte %zu; a profile must be UTF-8 text", problem,
                                    ps->problem_offset);
                return;
        }
        if (ps->context)
                pvp_diag_at(b->c, false, ln(ps->problem_mark), cl(ps->problem_mark), NULL,
                            "invalid YAML: %s (%s at line %u, column %u)", problem, ps->context,
                            ln(ps->context_mark), cl(ps->context_mark));
        else
                pvp_diag_at(b->c, false, ln(ps->problem_mark), cl(ps->problem_mark), NULL, "invalid YAML: %s",
                            problem);
}

int pvp_yaml_load(struct pvp_ctx *c, const char *buf, size_t len, struct ynode **ret_root) {
        struct builder b = { .c = c };
        yaml_parser_t ps;
        int r = 0;
        unsigned docs = 0;
        if (!yaml_parser_initialize(&ps)) {
                pvp_oom(c);
                return -PV_ENOMEM;
        }
        yaml_parser_set_input_string(&ps, (const unsigned char *)buf, len);
        for (bool done = false; !done && r == 0;) {
                yaml_event_t ev;
                if (!yaml_parser_parse(&ps, &ev)) {
                        if (ps.error == YAML_MEMORY_ERROR) {
                                pvp_oom(c);
                                r = -PV_ENOMEM;
                        } else {
                                report_parser_error(&b, &ps, buf, len);
                                r = -PV_EINVAL;
                        }
                        break;
                }
                switch (ev.type) {
                case YAML_STREAM_END_EVENT:
                        done = true;
                        break;
                case YAML_DOCUMENT_START_EVENT:
                        if (++docs > 1) {
                                berr(&b, ev.start_mark, 0, false,
                                     "a profile is one YAML document; found a second document here");
                                r = -PV_EINVAL;
                        }
                        break;
                case YAML_SCALAR_EVENT:
                        r = on_scalar(&b, &ev);
                        break;
                case YAML_SEQUENCE_START_EVENT:
                        r = on_start(&b, &ev, Y_SEQ);
                        break;
                case YAML_MAPPING_START_EVENT:
                        r = on_start(&b, &ev, Y_MAP);
                        break;
                case YAML_SEQUENCE_END_EVENT:
                case YAML_MAPPING_END_EVENT:
                        r = on_end(&b, &ev);
                        break;
                case YAML_ALIAS_EVENT:
                        r = on_alias(&b, &ev);
                        break;
                default:
                        break;
                }
                yaml_event_delete(&ev);
        }
        yaml_parser_delete(&ps);
        for (size_t i = 0; i < b.n_anchors; i++)
                free(b.anchors[i].name);
        free(b.anchors);
        if (r == -PV_ENOMEM)
                pvp_oom(c);
        if (r < 0)
                return r;
        if (!b.root) {
                pvp_diag_at(c, false, 1, 1, NULL, "the profile is empty (it needs at least 'version: 1')");
                return -PV_EINVAL;
        }
        *ret_root = b.root;
        return 0;
}
