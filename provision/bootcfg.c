/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The boot configuration parser (see pvfio/bootcfg.h). Pure: works on file contents in a pv_host_state. */
#include "pvfio/xalloc.h"
#include "pvfio/bootcfg.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "pvfio/buf.h"
#include "pvfio/cleanup.h"
#include "pvfio/hostplan.h"

#define GRUB_DEFAULT "etc/default/grub"
#define GRUB_D "etc/default/grub.d/"

/* ------------------------------------------------------------ sh subset */

struct shvar {
        char *name;
        char *value;
};

struct sheval {
        struct shvar *v;
        size_t n;
        struct pv_grub_eval *out;
        const char *path;
        struct pv_error *err;
};

static const char *var_get(const struct sheval *e, const char *name, size_t len) {
        for (size_t i = 0; i < e->n; i++)
                if (strlen(e->v[i].name) == len && memcmp(e->v[i].name, name, len) == 0)
                        return e->v[i].value;
        return NULL;
}

static int var_set(struct sheval *e, const char *name, size_t len, char *value_owned) {
        for (size_t i = 0; i < e->n; i++)
                if (strlen(e->v[i].name) == len && memcmp(e->v[i].name, name, len) == 0) {
                        free(e->v[i].value);
                        e->v[i].value = value_owned;
                        return 0;
                }
        e->v = pv_xreallocarray(e->v, e->n + 1, sizeof *e->v);
        e->v[e->n++] = (struct shvar){ pv_xstrndup(name, len), value_owned };
        return 0;
}

static bool name_start(char c) {
        return isalpha((unsigned char)c) || c == '_';
}

static bool name_char(char c) {
        return isalnum((unsigned char)c) || c == '_';
}

/* Expand a $… reference at p (p[0] == '$'); appends to b, returns the number of bytes consumed. */
static size_t expand_ref(struct sheval *e, const char *p, struct pv_buf *b, const char *self, bool *self_ref,
                         bool *unknown, int *r) {
        if (p[1] == '(') {
                *unknown = true;
                size_t depth = 0, i = 1;
                for (; p[i]; i++) {
                        if (p[i] == '(')
                                depth++;
                        else if (p[i] == ')' && --depth == 0)
                                return i + 1;
                }
                return i;
        }
        const char *name = p + 1;
        size_t len = 0, used;
        const char *dflt = NULL;
        size_t dlen = 0;
        if (p[1] == '{') {
                name = p + 2;
                while (name_char(name[len]))
                        len++;
                const char *q = name + len;
                const char *close = strchr(q, '}');
                if (!close)
                        return 1;   /* a lone "${": literal */
                if (q[0] == ':' && q[1] == '-') {
                        dflt = q + 2;
                        dlen = (size_t)(close - dflt);
                }
                used = (size_t)(close - p) + 1;
        } else {
                if (!name_start(name[0])) {
                        *r = pv_buf_addch(b, '$', e->err);
                        return 1;
                }
                while (name_char(name[len]))
                        len++;
                used = 1 + len;
        }
        if (self && strlen(self) == len && memcmp(self, name, len) == 0)
                *self_ref = true;
        const char *val = var_get(e, name, len);
        if ((!val || !*val) && dflt)
                *r = pv_buf_add(b, dflt, dlen, e->err);
        else if (val)
                *r = pv_buf_adds(b, val, e->err);
        return used;
}

/*
 * Parse one shell word starting at *pp (an assignment's value): quotes, escapes and
 * expansion; stops at an unquoted blank, ';', '&', '|' or newline. Counts newlines
 * inside quotes into *line.
 */
static int parse_word(struct sheval *e, const char **pp, unsigned *line, const char *self, char **ret,
                      bool *self_ref, bool *unknown) {
        const char *p = *pp;
        struct pv_buf b = PV_BUF_INIT;
        int r = pv_buf_adds(&b, "", e->err);
        while (r == 0 && *p && !strchr(" \t\n;&|", *p)) {
                if (*p == '\'') {
                        const char *end = strchr(p + 1, '\'');
                        size_t n = end ? (size_t)(end - p - 1) : strlen(p + 1);
                        for (size_t i = 0; i < n; i++)
                                *line += p[1 + i] == '\n';
                        r = pv_buf_add(&b, p + 1, n, e->err);
                        p += 1 + n + (end ? 1 : 0);
                } else if (*p == '"') {
                        p++;
                        while (r == 0 && *p && *p != '"') {
                                if (*p == '\\' && p[1] && strchr("$`\"\\\n", p[1])) {
                                        if (p[1] != '\n')
                                                r = pv_buf_addch(&b, p[1], e->err);
                                        else
                                                (*line)++;
                                        p += 2;
                                } else if (*p == '$') {
                                        p += expand_ref(e, p, &b, self, self_ref, unknown, &r);
                                } else if (*p == '`') {
                                        *unknown = true;
                                        const char *end = strchr(p + 1, '`');
                                        p = end ? end + 1 : p + strlen(p);
                                } else {
                                        *line += *p == '\n';
                                        r = pv_buf_addch(&b, *p++, e->err);
                                }
                        }
                        if (*p == '"')
                                p++;
                } else if (*p == '\\' && p[1]) {
                        if (p[1] == '\n')
                                (*line)++;
                        else
                                r = pv_buf_addch(&b, p[1], e->err);
                        p += 2;
                } else if (*p == '$') {
                        p += expand_ref(e, p, &b, self, self_ref, unknown, &r);
                } else if (*p == '`') {
                        *unknown = true;
                        const char *end = strchr(p + 1, '`');
                        p = end ? end + 1 : p + strlen(p);
                } else {
                        r = pv_buf_addch(&b, *p++, e->err);
                }
        }
        *pp = p;
        if (r == 0)
                r = pv_buf_detach(&b, ret, NULL, e->err);
        pv_buf_release(&b);
        return r;
}

static int record_assign(struct sheval *e, unsigned line, bool is_default, bool self_ref, bool unknown,
                         const char *value) {
        struct pv_grub_eval *o = e->out;
        o->assigns = pv_xreallocarray(o->assigns, o->n_assigns + 1, sizeof *o->assigns);
        struct pv_grub_assign *a = &o->assigns[o->n_assigns];
        *a = (struct pv_grub_assign){ .line = line, .is_default = is_default, .keeps_previous = self_ref,
                                      .unknown = unknown };
        a->path = pv_xstrdup(e->path);
        a->value = pv_xstrdup(value);
        o->n_assigns++;
        return 0;
}

/* Evaluate one sourced file: assignments only. */
static int eval_file(struct sheval *e, const char *content) {
        const char *p = content;
        unsigned line = 1;
        bool cmd_start = true;
        while (*p) {
                if (*p == '\n') {
                        line++;
                        p++;
                        cmd_start = true;
                        continue;
                }
                if (*p == ' ' || *p == '\t') {
                        p++;
                        continue;
                }
                if (*p == ';') {
                        p++;
                        cmd_start = true;
                        continue;
                }
                if (*p == '#' && cmd_start) {
                        while (*p && *p != '\n')
                                p++;
                        continue;
                }
                if (cmd_start && strncmp(p, "export", 6) == 0 && (p[6] == ' ' || p[6] == '\t')) {
                        p += 6;
                        continue;
                }
                size_t nl = 0;
                if (cmd_start && name_start(*p)) {
                        while (name_char(p[nl]))
                                nl++;
                }
                if (!nl || p[nl] != '=') {
                        /* a command or anything else: skip to the end of the line (no quoting across lines) */
                        while (*p && *p != '\n' && *p != ';')
                                p++;
                        continue;
                }
                const char *name = p;
                p += nl + 1;
                _cleanup_free_ char *self = pv_xstrndup(name, nl);
                unsigned at = line;
                bool self_ref = false, unknown = false;
                char *val = NULL;
                int r = parse_word(e, &p, &line, self, &val, &self_ref, &unknown);
                if (r < 0)
                        return r;
                bool is_def = strcmp(self, "GRUB_CMDLINE_LINUX_DEFAULT") == 0;
                if (is_def || strcmp(self, "GRUB_CMDLINE_LINUX") == 0) {
                        r = record_assign(e, at, is_def, self_ref, unknown, val);
                        if (r < 0) {
                                free(val);
                                return r;
                        }
                }
                r = var_set(e, name, nl, val);
                if (r < 0)
                        return r;
                /* after an assignment another assignment may follow on the line (A=1 B=2) */
                cmd_start = true;
        }
        return 0;
}

void pv_grub_eval_done(struct pv_grub_eval *e) {
        if (!e)
                return;
        free(e->cmdline_linux);
        free(e->cmdline_linux_default);
        for (size_t i = 0; i < e->n_assigns; i++) {
                free(e->assigns[i].path);
                free(e->assigns[i].value);
        }
        free(e->assigns);
        memset(e, 0, sizeof *e);
}

static const char *content_of(const struct pv_host_file *f) {
        return f && f->present ? (f->content ? f->content : "") : NULL;
}

int pv_grub_eval_state(const struct pv_host_state *s, const char *replace_path, const char *replace_content,
                       struct pv_grub_eval *ret, struct pv_error *err) {
        memset(ret, 0, sizeof *ret);
        struct sheval e = { .out = ret, .err = err };
        int r = 0;
        /* the file list in update-grub's order, with the replacement in its place */
        const struct pv_boot_info *b = &s->boot;
        size_t n = 1 + b->n_grub_d + 1;
        const char **paths = pv_xcalloc(n, sizeof *paths), **texts = pv_xcalloc(n, sizeof *texts);
        size_t k = 0;
        bool replaced = false;
        paths[k] = GRUB_DEFAULT;
        texts[k++] = content_of(&b->etc_default_grub);
        if (replace_path && strcmp(replace_path, GRUB_DEFAULT) == 0) {
                texts[0] = replace_content;
                replaced = true;
        }
        for (size_t i = 0; i < b->n_grub_d; i++) {
                const char *p = b->grub_d[i].path ? b->grub_d[i].path : "";
                if (replace_path && !replaced && strcmp(p, replace_path) > 0 && pv_startswith(replace_path, GRUB_D)) {
                        paths[k] = replace_path;
                        texts[k++] = replace_content;
                        replaced = true;
                }
                paths[k] = p;
                texts[k++] = content_of(&b->grub_d[i]);
                if (replace_path && strcmp(p, replace_path) == 0) {
                        texts[k - 1] = replace_content;
                        replaced = true;
                }
        }
        if (replace_path && !replaced && pv_startswith(replace_path, GRUB_D)) {
                paths[k] = replace_path;
                texts[k++] = replace_content;
        }
        for (size_t i = 0; r == 0 && i < k; i++) {
                if (!texts[i])
                        continue;
                e.path = paths[i];
                r = eval_file(&e, texts[i]);
        }
        if (r == 0) {
                const char *l = var_get(&e, "GRUB_CMDLINE_LINUX", strlen("GRUB_CMDLINE_LINUX"));
                const char *d = var_get(&e, "GRUB_CMDLINE_LINUX_DEFAULT", strlen("GRUB_CMDLINE_LINUX_DEFAULT"));
                ret->cmdline_linux = pv_xstrdup(l ? l : "");
                ret->cmdline_linux_default = pv_xstrdup(d ? d : "");
        }
        for (size_t i = 0; i < e.n; i++) {
                free(e.v[i].name);
                free(e.v[i].value);
        }
        free(e.v);
        free(paths);
        free(texts);
        if (r < 0)
                pv_grub_eval_done(ret);
        return r;
}

int pv_grub_words_of(const char *content, struct pv_strv *out, struct pv_error *err) {
        struct pv_grub_eval ev = { 0 };
        struct sheval e = { .out = &ev, .err = err, .path = "" };
        int r = eval_file(&e, content ? content : "");
        for (size_t i = 0; r == 0 && i < ev.n_assigns; i++)
                r = pv_host_cmdline_tokens(ev.assigns[i].value, out, err);
        for (size_t i = 0; i < e.n; i++) {
                free(e.v[i].name);
                free(e.v[i].value);
        }
        free(e.v);
        pv_grub_eval_done(&ev);
        return r;
}

int pv_grub_eval_words(const struct pv_grub_eval *e, struct pv_strv *out, struct pv_error *err) {
        int r = pv_host_cmdline_tokens(e->cmdline_linux ? e->cmdline_linux : "", out, err);
        if (r == 0)
                r = pv_host_cmdline_tokens(e->cmdline_linux_default ? e->cmdline_linux_default : "", out, err);
        return r;
}

int pv_bootcfg_configured_args(const struct pv_host_state *s, struct pv_strv *out, const char **ret_where,
                               struct pv_error *err) {
        if (s->boot.loader == PV_BOOTLOADER_SYSTEMD_BOOT) {
                *ret_where = "etc/kernel/cmdline";
                const char *c = content_of(&s->boot.etc_kernel_cmdline);
                if (!c)
                        return 0;
                _cleanup_free_ char *first = pv_xstrndup(c, strcspn(c, "\n"));
                return pv_host_cmdline_tokens(first, out, err);
        }
        *ret_where = "GRUB_CMDLINE_LINUX_DEFAULT (etc/default/grub, etc/default/grub.d)";
        struct pv_grub_eval e;
        int r = pv_grub_eval_state(s, NULL, NULL, &e, err);
        if (r == 0)
                r = pv_grub_eval_words(&e, out, err);
        pv_grub_eval_done(&e);
        return r;
}

/* ------------------------------------------------------------- modprobe */

bool pv_module_name_equal(const char *a, const char *b) {
        for (; *a && *b; a++, b++)
                if ((*a == '-' ? '_' : *a) != (*b == '-' ? '_' : *b))
                        return false;
        return !*a && !*b;
}

void pv_modprobe_lines_free(struct pv_modprobe_line *v, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(v[i].module);
                pv_strv_done(&v[i].words);
        }
        free(v);
}

static int split_words(const char *s, struct pv_strv *out, struct pv_error *err) {
        while (*s) {
                while (*s == ' ' || *s == '\t')
                        s++;
                size_t n = strcspn(s, " \t");
                if (!n)
                        break;
                int r = pv_strv_push_take(out, strndup(s, n), err);
                if (r < 0)
                        return r;
                s += n;
        }
        return 0;
}

int pv_modprobe_parse(const char *content, struct pv_modprobe_line **ret, size_t *ret_n, struct pv_error *err) {
        struct pv_modprobe_line *v = NULL;
        size_t n = 0;
        unsigned line = 1;
        const char *p = content ? content : "";
        int r = 0;
        while (*p && r == 0) {
                /* one logical line: physical lines joined at a trailing backslash */
                struct pv_buf b = PV_BUF_INIT;
                unsigned first = line, span = 0;
                r = pv_buf_adds(&b, "", err);
                for (;;) {
                        size_t len = strcspn(p, "\n");
                        bool cont = len > 0 && p[len - 1] == '\\';
                        if (r == 0)
                                r = pv_buf_add(&b, p, cont ? len - 1 : len, err);
                        if (r == 0 && cont)
                                r = pv_buf_addch(&b, ' ', err);
                        p += len + (p[len] == '\n');
                        line++;
                        span++;
                        if (!cont || !*p || r < 0)
                                break;
                }
                if (r < 0) {
                        pv_buf_release(&b);
                        break;
                }
                const char *t = b.buf;
                while (*t == ' ' || *t == '\t')
                        t++;
                if (!*t || *t == '#') {
                        pv_buf_release(&b);
                        continue;
                }
                struct pv_strv w = PV_STRV_INIT;
                r = split_words(t, &w, err);
                pv_buf_release(&b);
                if (r < 0) {
                        pv_strv_done(&w);
                        break;
                }
                v = pv_xreallocarray(v, n + 1, sizeof *v);
                struct pv_modprobe_line *l = &v[n++];
                *l = (struct pv_modprobe_line){ .line = first, .n_lines = span, .words = PV_STRV_INIT };
                const char *cmd = w.v[0];
                l->kind = !strcmp(cmd, "options")     ? PV_MODPROBE_OPTIONS
                          : !strcmp(cmd, "blacklist") ? PV_MODPROBE_BLACKLIST
                          : !strcmp(cmd, "softdep")   ? PV_MODPROBE_SOFTDEP
                                                      : PV_MODPROBE_OTHER;
                if (l->kind != PV_MODPROBE_OTHER && w.n >= 2) {
                        l->module = pv_xstrdup(w.v[1]);
                        for (size_t i = 2; r == 0 && i < w.n; i++)
                                r = pv_strv_push(&l->words, w.v[i], err);
                } else {
                        l->kind = PV_MODPROBE_OTHER;
                }
                pv_strv_done(&w);
        }
        if (r < 0) {
                pv_modprobe_lines_free(v, n);
                return r;
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

/* ------------------------------------------------------- vfio bindings */

const char *pv_binding_source_to_string(enum pv_binding_source s) {
        switch (s) {
        case PV_BINDSRC_CMDLINE_ACTIVE: return "running kernel command line";
        case PV_BINDSRC_GRUB: return "GRUB kernel command line";
        case PV_BINDSRC_KERNEL_CMDLINE: return "systemd-boot kernel command line";
        case PV_BINDSRC_MODPROBE: return "modprobe.d option";
        case PV_BINDSRC_INITRAMFS: return "initramfs module option";
        case PV_BINDSRC_DRIVERCTL: return "driverctl override";
        case PV_BINDSRC_UDEV: return "udev driver_override rule";
        }
        return "binding";
}

void pv_vfio_bindings_free(struct pv_vfio_binding *v, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(v[i].path);
                free(v[i].text);
                free(v[i].ids);
        }
        free(v);
}

bool pv_vfio_binding_takes(const struct pv_vfio_binding *b, const struct pv_host_dev *d) {
        if (b->has_addr)
                return pv_pci_addr_equal(&b->addr, &d->addr);
        for (size_t i = 0; i < b->n_ids; i++)
                if (b->ids[i].vendor == d->vendor && b->ids[i].device == d->device)
                        return true;
        return false;
}

struct blist {
        struct pv_vfio_binding *v;
        size_t n;
        struct pv_error *err;
};

static struct pv_vfio_binding *blist_add(struct blist *l, enum pv_binding_source src, const char *path,
                                         unsigned line, const char *text, size_t text_len) {
        l->v = pv_xreallocarray(l->v, l->n + 1, sizeof *l->v);
        struct pv_vfio_binding *b = &l->v[l->n];
        *b = (struct pv_vfio_binding){ .source = src, .line = line, .effective = true };
        b->path = pv_xstrdup(path);
        b->text = pv_xstrndup(text, text_len);
        l->n++;
        return b;
}

/* "10de:1db4,10DE:10f0" → ids (hex, case-insensitive); unparsable entries are skipped. */
static void parse_ids(const char *list, struct pv_vfio_binding *b) {
        const char *p = list;
        while (*p) {
                size_t n = strcspn(p, ",");
                char tmp[16];
                struct pv_pci_id id;
                if (n > 0 && n < sizeof tmp) {
                        memcpy(tmp, p, n);
                        tmp[n] = '\0';
                        char *end = NULL;
                        unsigned long v = strtoul(tmp, &end, 16);
                        if (end && *end == ':' && v <= 0xffff) {
                                char *end2 = NULL;
                                unsigned long dv = strtoul(end + 1, &end2, 16);
                                if (end2 && end2 != end + 1 && (!*end2 || *end2 == ':') && dv <= 0xffff) {
                                        id.vendor = (uint16_t)v;
                                        id.device = (uint16_t)dv;
                                        b->ids = pv_xreallocarray(b->ids, b->n_ids + 1, sizeof *b->ids);
                                        b->ids[b->n_ids++] = id;
                                }
                        }
                }
                p += n + (p[n] == ',');
        }
}

static bool is_ids_token(const char *t) {
        return pv_startswith(t, "vfio-pci.ids=") || pv_startswith(t, "vfio_pci.ids=");
}

/* vfio-pci.ids= words of a command line (quotes dropped). */
static int cmdline_bindings(struct blist *l, enum pv_binding_source src, const char *path, unsigned line,
                            const char *cmdline, bool effective) {
        struct pv_strv w = PV_STRV_INIT;
        int r = pv_host_cmdline_tokens(cmdline, &w, l->err);
        for (size_t i = 0; r == 0 && i < w.n; i++) {
                if (!is_ids_token(w.v[i]))
                        continue;
                struct pv_vfio_binding *b = blist_add(l, src, path, line, w.v[i], strlen(w.v[i]));
                b->effective = effective;
                parse_ids(w.v[i] + strlen("vfio-pci.ids="), b);
        }
        pv_strv_done(&w);
        return r;
}

static bool is_own(const char *path) {
        return path && (strcmp(path, PV_HOSTPLAN_GRUB_DROPIN) == 0 || strcmp(path, PV_HOSTPLAN_MODPROBE) == 0 ||
                        strcmp(path, PV_HOSTPLAN_UDEV_VFIO) == 0);
}

static int grub_bindings(struct blist *l, const struct pv_host_state *s) {
        struct pv_grub_eval e;
        int r = pv_grub_eval_state(s, NULL, NULL, &e, l->err);
        if (r < 0)
                return r;
        struct pv_strv final = PV_STRV_INIT;
        r = pv_grub_eval_words(&e, &final, l->err);
        for (size_t i = 0; r == 0 && i < e.n_assigns; i++) {
                const struct pv_grub_assign *a = &e.assigns[i];
                if (is_own(a->path))
                        continue;
                /* the words this assignment adds itself: its value minus an expanded previous value */
                size_t start = l->n;
                r = cmdline_bindings(l, PV_BINDSRC_GRUB, a->path, a->line, a->value, true);
                for (size_t k = start; r == 0 && k < l->n; k++) {
                        /* the same word again from a later $VAR expansion is one binding */
                        bool dup = false;
                        for (size_t j = 0; j < start && !dup; j++)
                                dup = l->v[j].source == PV_BINDSRC_GRUB && strcmp(l->v[j].text, l->v[k].text) == 0;
                        l->v[k].effective = pv_strv_contains(&final, l->v[k].text);
                        if (dup) {
                                free(l->v[k].path);
                                free(l->v[k].text);
                                free(l->v[k].ids);
                                memmove(&l->v[k], &l->v[k + 1], (l->n - k - 1) * sizeof *l->v);
                                l->n--;
                                k--;
                        }
                }
        }
        pv_strv_done(&final);
        pv_grub_eval_done(&e);
        return r;
}

static int modprobe_bindings(struct blist *l, const struct pv_host_file *f, enum pv_binding_source src) {
        const char *c = content_of(f);
        if (!c || is_own(f->path))
                return 0;
        struct pv_modprobe_line *v = NULL;
        size_t n = 0;
        int r;
        if (src == PV_BINDSRC_MODPROBE) {
                r = pv_modprobe_parse(c, &v, &n, l->err);
        } else {
                /* initramfs-tools/modules: "MODULE opt=val …" — parse as "options MODULE …" */
                r = pv_modprobe_parse(c, &v, &n, l->err);
                for (size_t i = 0; r == 0 && i < n; i++) {
                        if (v[i].kind != PV_MODPROBE_OTHER)
                                continue;
                        struct pv_strv w = PV_STRV_INIT;
                        const char *ls = c;
                        for (unsigned k = 1; k < v[i].line && ls; k++) {
                                ls = strchr(ls, '\n');
                                ls = ls ? ls + 1 : NULL;
                        }
                        if (!ls)
                                continue;
                        _cleanup_free_ char *one = pv_xstrndup(ls, strcspn(ls, "\n"));
                        r = split_words(one, &w, l->err);
                        if (r == 0 && w.n >= 1) {
                                v[i].kind = PV_MODPROBE_OPTIONS;
                                v[i].module = pv_xstrdup(w.v[0]);
                                for (size_t j = 1; r == 0 && j < w.n; j++)
                                        r = pv_strv_push(&v[i].words, w.v[j], l->err);
                        }
                        pv_strv_done(&w);
                }
        }
        for (size_t i = 0; r == 0 && i < n; i++) {
                if (v[i].kind != PV_MODPROBE_OPTIONS || !pv_module_name_equal(v[i].module, "vfio_pci"))
                        continue;
                for (size_t j = 0; r == 0 && j < v[i].words.n; j++) {
                        const char *w = v[i].words.v[j];
                        if (!pv_startswith(w, "ids="))
                                continue;
                        /* the text: the physical line as written */
                        const char *ls = c;
                        for (unsigned k = 1; k < v[i].line && ls; k++) {
                                ls = strchr(ls, '\n');
                                ls = ls ? ls + 1 : NULL;
                        }
                        struct pv_vfio_binding *b =
                                blist_add(l, src, f->path, v[i].line, ls ? ls : w, ls ? strcspn(ls, "\n") : strlen(w));
                        parse_ids(w + 4, b);
                }
        }
        pv_modprobe_lines_free(v, n);
        return r;
}

static int driverctl_bindings(struct blist *l, const struct pv_host_state *s) {
        for (size_t i = 0; i < s->n_driverctl_d; i++) {
                const struct pv_host_file *f = &s->driverctl_d[i];
                const char *c = content_of(f);
                const char *base = f->path ? strrchr(f->path, '/') : NULL;
                base = base ? base + 1 : f->path;
                struct pv_pci_addr a;
                if (!c || !base || !pv_startswith(base, "pci-") || pv_pci_addr_parse(base + 4, &a, NULL) < 0)
                        continue;
                size_t n = strcspn(c, " \t\r\n");
                if (n != strlen("vfio-pci") || strncmp(c, "vfio-pci", n) != 0)
                        continue;
                struct pv_vfio_binding *b = blist_add(l, PV_BINDSRC_DRIVERCTL, f->path, 0, c, n);
                b->has_addr = true;
                b->addr = a;
        }
        return 0;
}

/* The value of KEY=="value" / KEY="value" in a udev rule line (borrowed span), or NULL. */
static const char *udev_value(const char *line, size_t len, const char *key, size_t *ret_len) {
        size_t kl = strlen(key);
        for (const char *p = line; p + kl < line + len; p++) {
                if (strncmp(p, key, kl) != 0 || (p > line && (isalnum((unsigned char)p[-1]) || p[-1] == '_')))
                        continue;
                const char *q = p + kl;
                while (*q == ' ')
                        q++;
                if (q[0] == '=' && q[1] == '=')
                        q += 2;
                else if (q[0] == '=')
                        q += 1;
                else
                        continue;
                while (*q == ' ')
                        q++;
                if (*q != '"')
                        continue;
                const char *end = memchr(q + 1, '"', (size_t)(line + len - q - 1));
                if (!end)
                        return NULL;
                *ret_len = (size_t)(end - q - 1);
                return q + 1;
        }
        return NULL;
}

static int udev_bindings(struct blist *l, const struct pv_host_state *s) {
        for (size_t i = 0; i < s->n_udev_rules; i++) {
                const struct pv_host_file *f = &s->udev_rules[i];
                const char *c = content_of(f);
                if (!c || is_own(f->path))
                        continue;
                unsigned line = 1;
                for (const char *p = c; *p; line++) {
                        size_t len = strcspn(p, "\n");
                        size_t vl = 0, kl = 0;
                        const char *t = p + strspn(p, " \t");
                        const char *v = *t == '#' ? NULL : udev_value(p, len, "ATTR{driver_override}", &vl);
                        const char *k = v ? udev_value(p, len, "KERNEL", &kl) : NULL;
                        struct pv_pci_addr a;
                        char buf[PV_PCI_ADDR_MAX + 8];
                        if (v && vl == 8 && strncmp(v, "vfio-pci", 8) == 0 && k && kl < sizeof buf) {
                                memcpy(buf, k, kl);
                                buf[kl] = '\0';
                                if (pv_pci_addr_parse(buf, &a, NULL) == 0 && a.func != PV_PCI_FUNC_ALL) {
                                        struct pv_vfio_binding *b = blist_add(l, PV_BINDSRC_UDEV, f->path, line, p, len);
                                        b->has_addr = true;
                                        b->addr = a;
                                }
                        }
                        p += len + (p[len] == '\n');
                }
        }
        return 0;
}

int pv_bootcfg_vfio_bindings(const struct pv_host_state *s, struct pv_vfio_binding **ret, size_t *ret_n,
                             struct pv_error *err) {
        struct blist l = { .err = err };
        int r = 0;
        if (s->cmdline)
                r = cmdline_bindings(&l, PV_BINDSRC_CMDLINE_ACTIVE, "proc/cmdline", 0, s->cmdline, false);
        if (r == 0 && s->boot.loader == PV_BOOTLOADER_SYSTEMD_BOOT) {
                const char *c = content_of(&s->boot.etc_kernel_cmdline);
                _cleanup_free_ char *first = c ? pv_xstrndup(c, strcspn(c, "\n")) : NULL;
                if (first)
                        r = cmdline_bindings(&l, PV_BINDSRC_KERNEL_CMDLINE, "etc/kernel/cmdline", 1, first, true);
        } else if (r == 0) {
                r = grub_bindings(&l, s);
        }
        for (size_t i = 0; r == 0 && i < s->n_modprobe_d; i++)
                r = modprobe_bindings(&l, &s->modprobe_d[i], PV_BINDSRC_MODPROBE);
        if (r == 0)
                r = modprobe_bindings(&l, &s->etc_initramfs_modules, PV_BINDSRC_INITRAMFS);
        if (r == 0)
                r = driverctl_bindings(&l, s);
        if (r == 0)
                r = udev_bindings(&l, s);
        if (r < 0) {
                pv_vfio_bindings_free(l.v, l.n);
                return r;
        }
        *ret = l.v;
        *ret_n = l.n;
        return 0;
}

/* ------------------------------------------------------------ take over */

/* Start and length of physical line `line` (1-based) in content. */
static bool line_span(const char *c, unsigned line, size_t *start, size_t *len) {
        const char *p = c;
        for (unsigned k = 1; k < line; k++) {
                p = strchr(p, '\n');
                if (!p)
                        return false;
                p++;
        }
        *start = (size_t)(p - c);
        *len = strcspn(p, "\n");
        return true;
}

/* content with [start, start+len) replaced by repl (NULL = the line and its newline removed). */
static int splice(const char *c, size_t start, size_t len, const char *repl, char **ret, struct pv_error *err) {
        struct pv_buf b = PV_BUF_INIT;
        size_t end = start + len;
        if (!repl && c[end] == '\n')
                end++;
        int r = pv_buf_add(&b, c, start, err);
        if (r == 0 && repl)
                r = pv_buf_adds(&b, repl, err);
        if (r == 0)
                r = pv_buf_adds(&b, c + end, err);
        if (r == 0)
                r = pv_buf_detach(&b, ret, NULL, err);
        pv_buf_release(&b);
        return r;
}

/* Remove the word starting with `prefix` (an ids= option) from a line of blank-separated words. */
static int line_without_word(const char *line, size_t len, const char *word, char **ret, bool *ret_empty,
                             size_t keep_min, struct pv_error *err) {
        struct pv_buf b = PV_BUF_INIT;
        size_t n_kept = 0;
        int r = pv_buf_adds(&b, "", err);
        const char *p = line, *end = line + len;
        /* keep the leading blanks */
        size_t lead = strspn(p, " \t");
        if (lead > len)
                lead = len;
        r = pv_buf_add(&b, p, lead, err);
        p += lead;
        bool first = true;
        while (r == 0 && p < end) {
                size_t wl = 0;
                while (p + wl < end && p[wl] != ' ' && p[wl] != '\t')
                        wl++;
                if (!(wl == strlen(word) && strncmp(p, word, wl) == 0)) {
                        r = pv_buf_addf(&b, err, "%s%.*s", first ? "" : " ", (int)wl, p);
                        first = false;
                        n_kept++;
                }
                p += wl;
                while (p < end && (*p == ' ' || *p == '\t'))
                        p++;
        }
        *ret_empty = n_kept <= keep_min;
        if (r == 0)
                r = pv_buf_detach(&b, ret, NULL, err);
        pv_buf_release(&b);
        return r;
}

int pv_bootcfg_remove_binding(const char *content, const struct pv_vfio_binding *b, char **ret,
                              struct pv_error *err) {
        *ret = NULL;
        if (b->source == PV_BINDSRC_DRIVERCTL)
                return 0;
        if (b->source == PV_BINDSRC_CMDLINE_ACTIVE)
                return pv_error_set(err, PV_EINVAL, "the running kernel's command line cannot be edited");
        const char *c = content ? content : "";
        size_t start, len;
        if (!line_span(c, b->line ? b->line : 1, &start, &len))
                return pv_error_set(err, PV_ENOTFOUND, "%s has no line %u", b->path, b->line);
        _cleanup_free_ char *line = pv_xstrndup(c + start, len);
        switch (b->source) {
        case PV_BINDSRC_UDEV:
                return splice(c, start, len, NULL, ret, err);
        case PV_BINDSRC_MODPROBE:
        case PV_BINDSRC_INITRAMFS: {
                /* the ids= word of the line: find it */
                const char *w = strstr(line, "ids=");
                while (w && w > line && w[-1] != ' ' && w[-1] != '\t')
                        w = strstr(w + 1, "ids=");
                if (!w)
                        return pv_error_set(err, PV_ENOTFOUND, "%s:%u has no ids= option", b->path, b->line);
                _cleanup_free_ char *word = pv_xstrndup(w, strcspn(w, " \t"));
                _cleanup_free_ char *nl = NULL;
                bool empty = false;
                /* modprobe: "options vfio-pci" alone is empty; initramfs: "vfio_pci" keeps loading the module */
                int r = line_without_word(line, len, word, &nl, &empty, b->source == PV_BINDSRC_MODPROBE ? 2 : 0, err);
                if (r < 0)
                        return r;
                return splice(c, start, len, empty ? NULL : nl, ret, err);
        }
        case PV_BINDSRC_GRUB:
        case PV_BINDSRC_KERNEL_CMDLINE: {
                /* remove the token text from the line, with one neighbouring blank */
                const char *t = line;
                size_t tl = strlen(b->text);
                for (;;) {
                        t = strstr(t, b->text);
                        if (!t)
                                return pv_error_set(err, PV_ENOTFOUND, "'%s' is not written on %s:%u", b->text, b->path,
                                                    b->line);
                        bool before_ok = t == line || strchr(" \t\"'=", t[-1]);
                        bool after_ok = !t[tl] || strchr(" \t\"'", t[tl]);
                        if (before_ok && after_ok)
                                break;
                        t++;
                }
                size_t off = (size_t)(t - line), cut = tl;
                if (off > 0 && (line[off - 1] == ' ' || line[off - 1] == '\t')) {
                        off--;
                        cut++;
                } else if (line[off + tl] == ' ' || line[off + tl] == '\t') {
                        cut++;
                }
                memmove(line + off, line + off + cut, strlen(line + off + cut) + 1);
                return splice(c, start, len, line, ret, err);
        }
        default:
                break;
        }
        return pv_error_set(err, PV_EINVAL, "cannot remove that binding");
}
