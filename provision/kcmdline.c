/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Kernel command line tokenizer and editor (pure). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "pvfio/xalloc.h"
#include "pvfio/buf.h"
#include "pvfio/cleanup.h"
#include "pvfio/hostplan.h"

struct span {
        size_t start, end;  /* [start, end) in the line */
};

/* Token spans, kernel style: whitespace separates, a double quote toggles "inside quotes". */
static void split_spans(const char *s, struct span **ret, size_t *ret_n) {
        size_t n = 0, alloc = 0;
        struct span *v = NULL;
        size_t i = 0;
        for (;;) {
                while (s[i] && isspace((unsigned char)s[i]))
                        i++;
                if (!s[i])
                        break;
                size_t start = i;
                bool inq = false;
                while (s[i] && (inq || !isspace((unsigned char)s[i]))) {
                        if (s[i] == '"')
                                inq = !inq;
                        i++;
                }
                if (n == alloc) {
                        alloc = alloc ? alloc * 2 : 16;
                        v = pv_xreallocarray(v, alloc, sizeof *v);
                }
                v[n++] = (struct span){ start, i };
        }
        *ret = v;
        *ret_n = n;
}

int pv_cmdline_split(const char *line, struct pv_strv *ret, struct pv_error *err) {
        struct span *sp = NULL;
        size_t n = 0;
        split_spans(line ? line : "", &sp, &n);
        struct pv_strv out = PV_STRV_INIT;
        for (size_t i = 0; i < n; i++)
                pv_strv_push_take(&out, pv_xstrndup(line + sp[i].start, sp[i].end - sp[i].start), err);
        free(sp);
        *ret = out;
        return 0;
}

/* The name part of a token: after an opening quote, up to '=' (or the whole token). */
static void token_key(const char *t, size_t len, const char **ret_key, size_t *ret_len) {
        size_t s = 0;
        if (len > 0 && t[0] == '"')
                s = 1;
        size_t e = s;
        while (e < len && t[e] != '=' && t[e] != '"')
                e++;
        *ret_key = t + s;
        *ret_len = e - s;
}

bool pv_cmdline_key_equal(const char *a, size_t alen, const char *b, size_t blen) {
        if (alen != blen)
                return false;
        for (size_t i = 0; i < alen; i++) {
                char x = a[i] == '-' ? '_' : a[i], y = b[i] == '-' ? '_' : b[i];
                if (x != y)
                        return false;
        }
        return true;
}

static bool token_equal_n(const char *a, size_t alen, const char *b, size_t blen) {
        const char *ka, *kb;
        size_t kla, klb;
        token_key(a, alen, &ka, &kla);
        token_key(b, blen, &kb, &klb);
        if (!pv_cmdline_key_equal(ka, kla, kb, klb))
                return false;
        size_t ra = (size_t)(ka - a) + kla, rb = (size_t)(kb - b) + klb;
        return alen - ra == blen - rb && memcmp(a + ra, b + rb, alen - ra) == 0;
}

bool pv_cmdline_token_equal(const char *a, const char *b) {
        return token_equal_n(a, strlen(a), b, strlen(b));
}

bool pv_cmdline_has(const struct pv_strv *tokens, const char *tok) {
        for (size_t i = 0; i < tokens->n; i++)
                if (pv_cmdline_token_equal(tokens->v[i], tok))
                        return true;
        return false;
}

/* Arguments the kernel accepts several times, each adding to the previous ones. */
static bool key_repeats(const char *k, size_t len) {
        static const char *const rep[] = { "console", "video", "initcall_blacklist", "earlycon", "memmap",
                                           "hugepagesz", "hugepages", "isolcpus", "module_blacklist", "efi_fake_mem",
                                           NULL };
        for (size_t i = 0; rep[i]; i++)
                if (pv_cmdline_key_equal(k, len, rep[i], strlen(rep[i])))
                        return true;
        return false;
}

enum { TOK_KEEP, TOK_DROP, TOK_REPLACE };

int pv_cmdline_edit(const char *line, const char *const *add, size_t n_add, const char *const *remove,
                    size_t n_remove, char **ret, struct pv_error *err) {
        if (!line)
                line = "";
        _cleanup_free_ struct span *sp = NULL;
        size_t n = 0;
        split_spans(line, &sp, &n);
        _cleanup_free_ int *state = pv_xcalloc(n + 1, sizeof *state);
        _cleanup_free_ const char **repl = pv_xcalloc(n + 1, sizeof *repl);
        _cleanup_free_ const char **extra = pv_xcalloc(n_add + 1, sizeof *extra);
        size_t n_extra = 0;

        for (size_t k = 0; k < n_remove; k++) {
                const char *rm = remove[k];
                bool exact = strchr(rm, '=') != NULL;
                for (size_t i = 0; i < n; i++) {
                        const char *t = line + sp[i].start;
                        size_t tl = sp[i].end - sp[i].start;
                        if (exact) {
                                if (token_equal_n(t, tl, rm, strlen(rm)))
                                        state[i] = TOK_DROP;
                        } else {
                                const char *kt;
                                size_t klt;
                                token_key(t, tl, &kt, &klt);
                                if (pv_cmdline_key_equal(kt, klt, rm, strlen(rm)))
                                        state[i] = TOK_DROP;
                        }
                }
        }
        for (size_t k = 0; k < n_add; k++) {
                const char *a = add[k];
                size_t al = strlen(a);
                const char *ka;
                size_t kla;
                token_key(a, al, &ka, &kla);
                bool present = false;
                for (size_t i = 0; i < n && !present; i++)
                        if (state[i] != TOK_DROP && token_equal_n(line + sp[i].start, sp[i].end - sp[i].start, a, al)) {
                                present = true;
                                state[i] = TOK_KEEP;
                        }
                for (size_t e = 0; e < n_extra && !present; e++)
                        present = pv_cmdline_token_equal(extra[e], a);
                if (present)
                        continue;
                bool placed = false;
                if (!key_repeats(ka, kla)) {
                        for (size_t i = 0; i < n; i++) {
                                const char *kt;
                                size_t klt;
                                token_key(line + sp[i].start, sp[i].end - sp[i].start, &kt, &klt);
                                if (state[i] == TOK_DROP || !pv_cmdline_key_equal(kt, klt, ka, kla))
                                        continue;
                                if (!placed) {
                                        state[i] = TOK_REPLACE;
                                        repl[i] = a;
                                        placed = true;
                                } else {
                                        state[i] = TOK_DROP;
                                }
                        }
                }
                if (!placed)
                        extra[n_extra++] = a;
        }

        struct pv_buf b = PV_BUF_INIT;
        size_t lead = n ? sp[0].start : 0;
        /* leading whitespace of a line without tokens is kept as is */
        if (!n)
                lead = strlen(line);
        int r = pv_buf_add(&b, line, lead, err);
        bool first = true;
        for (size_t i = 0; i < n && r == 0; i++) {
                if (state[i] == TOK_DROP)
                        continue;
                if (!first)
                        r = pv_buf_add(&b, line + sp[i - 1].end, sp[i].start - sp[i - 1].end, err);
                if (r == 0) {
                        if (state[i] == TOK_REPLACE)
                                r = pv_buf_adds(&b, repl[i], err);
                        else
                                r = pv_buf_add(&b, line + sp[i].start, sp[i].end - sp[i].start, err);
                }
                first = false;
        }
        for (size_t e = 0; e < n_extra && r == 0; e++) {
                if (b.len > 0 && !isspace((unsigned char)b.buf[b.len - 1]))
                        r = pv_buf_addch(&b, ' ', err);
                if (r == 0)
                        r = pv_buf_adds(&b, extra[e], err);
        }
        if (r == 0 && n)
                r = pv_buf_adds(&b, line + sp[n - 1].end, err);   /* trailing whitespace */
        char *out = NULL;
        if (r == 0)
                r = pv_buf_detach(&b, &out, NULL, err);
        pv_buf_release(&b);
        if (r < 0)
                return r;
        *ret = out;
        return 0;
}
