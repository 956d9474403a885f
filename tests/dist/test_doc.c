/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pvfio(1) and the bash completion against the tables they are generated from:
 * every command (at any depth) and every option of its table, and every global
 * option, must appear where it belongs; the page must be plain troff (ASCII,
 * known macros only).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cli.h"
#include "doc.h"

static char *gen(int (*fn)(FILE *f)) {
        char *out = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&out, &len);
        assert_non_null(f);
        assert_int_equal(fn(f), 0);
        assert_int_equal(fclose(f), 0);
        assert_non_null(out);
        return out;
}

static int man_nodate(FILE *f) {
        return pv_doc_man(f, "2000-01-01");
}

/* "--no-host" as troff writes it: "\-\-no\-host". */
static char *roff_opt(const char *dashes, const char *name) {
        size_t n = strlen(dashes) * 2 + strlen(name) * 2 + 1;
        char *out = calloc(1, n);
        assert_non_null(out);
        size_t k = 0;
        for (const char *p = dashes; *p; p++) {
                out[k++] = '\\';
                out[k++] = '-';
        }
        for (const char *p = name; *p; p++) {
                if (*p == '-')
                        out[k++] = '\\';
                out[k++] = *p;
        }
        return out;
}

/* The text of the section whose heading line is `heading`, up to the next .SS or .SH. */
static char *section(const char *doc, const char *heading) {
        const char *p = strstr(doc, heading);
        if (!p)
                fail_msg("no section '%s'", heading);
        p += strlen(heading);
        const char *ss = strstr(p, "\n.SS "), *sh = strstr(p, "\n.SH ");
        const char *end = ss && (!sh || ss < sh) ? ss : sh ? sh : p + strlen(p);
        return strndup(p, (size_t)(end - p));
}

static void check_opt_in(const char *text, const struct pv_opt *o, const char *where) {
        char *l = roff_opt("--", o->name);
        if (!strstr(text, l))
                fail_msg("option '--%s' missing from %s", o->name, where);
        free(l);
        if (o->short_name) {
                char s[8];
                snprintf(s, sizeof s, "\\-%c", o->short_name);
                if (!strstr(text, s))
                        fail_msg("option '-%c' missing from %s", o->short_name, where);
        }
        if (o->type == PV_OPT_VALUE && o->value_name && !strstr(text, o->value_name))
                fail_msg("value name '%s' of '--%s' missing from %s", o->value_name, o->name, where);
}

static unsigned man_walk(const char *doc, const char *synopsis, const char *parent, const struct pv_cmd *const *table) {
        unsigned n = 0;
        for (; *table; table++) {
                const struct pv_cmd *c = *table;
                char *path = NULL, *heading = NULL, *syn = NULL;
                assert_true(asprintf(&path, "%s %s", parent, c->name) > 0);
                assert_true(asprintf(&heading, "\n.SS \"%s\"\n", path) > 0);
                assert_true(asprintf(&syn, "\\fB%s\\fR", path) > 0);
                char *text = section(doc, heading);
                if (!strstr(text, syn))
                        fail_msg("no synopsis line for '%s' in its section", path);
                if (!c->subcmds && !strstr(synopsis, syn))
                        fail_msg("'%s' missing from SYNOPSIS", path);
                for (const struct pv_opt *o = c->opts; o && o->name; o++)
                        check_opt_in(text, o, path);
                if (c->json && !strstr(text, "\\fB\\-\\-json\\fR"))
                        fail_msg("'%s' produces JSON but its section does not list --json", path);
                n++;
                if (c->subcmds)
                        n += man_walk(doc, synopsis, path, c->subcmds);
                free(text);
                free(syn);
                free(heading);
                free(path);
        }
        return n;
}

static void test_man_covers_tables(void **state) {
        (void)state;
        char *doc = gen(man_nodate);
        char *synopsis = section(doc, "\n.SH SYNOPSIS\n");
        unsigned n = man_walk(doc, synopsis, "pvfio", pv_commands);
        assert_true(n >= 16); /* validate plan diff apply, host + 5, api + 5 at least */
        char *global = section(doc, "\n.SH GLOBAL OPTIONS\n");
        for (const struct pv_opt *o = pv_global_opts; o->name; o++)
                check_opt_in(global, o, "GLOBAL OPTIONS");
        assert_non_null(strstr(global, "\\-\\-version"));
        char *exit_status = section(doc, "\n.SH EXIT STATUS\n");
        int codes[] = { PV_EXIT_OK, PV_EXIT_ERROR, PV_EXIT_CHANGES, PV_EXIT_PARTIAL, PV_EXIT_USAGE };
        for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
                char want[32];
                snprintf(want, sizeof want, "\n.B %d\n", codes[i]);
                if (!strstr(exit_status, want))
                        fail_msg("exit status %d not documented", codes[i]);
        }
        for (const char *s = "NAME\0SYNOPSIS\0DESCRIPTION\0COMMANDS\0ENVIRONMENT\0FILES\0EXAMPLES\0SEE ALSO\0"; *s;
             s += strlen(s) + 1) {
                char want[64];
                snprintf(want, sizeof want, "\n.SH %s\n", s);
                if (!strstr(doc, want))
                        fail_msg("no %s section", s);
        }
        /* the hidden commands stay hidden (the first line is the "generated by" comment) */
        const char *body = strchr(doc, '\n');
        assert_null(strstr(body, "__man"));
        assert_null(strstr(body, "__completion"));
        assert_null(strstr(body, "__nodes"));
        free(exit_status);
        free(global);
        free(synopsis);
        free(doc);
}

/* Plain troff: ASCII only, every control line a macro this page is meant to use. */
static void test_man_is_plain_troff(void **state) {
        (void)state;
        static const char *const macros[] = { ".\\\" ", ".TH ", ".SH ", ".SS ", ".TP", ".PP", ".B ", ".BR ", ".I ",
                                              ".RS ", ".RE", ".nf", ".fi", ".nh", ".ad l", NULL };
        char *doc = gen(man_nodate);
        assert_true(strncmp(doc, ".\\\" ", 4) == 0);
        for (const unsigned char *p = (const unsigned char *)doc; *p; p++)
                if (*p >= 0x80 || (*p < 0x20 && *p != '\n'))
                        fail_msg("byte 0x%02x at offset %zu", *p, (size_t)(p - (const unsigned char *)doc));
        for (const char *line = doc; *line; line = strchr(line, '\n') + 1) {
                if (*line == '.' || *line == '\'') {
                        bool known = false;
                        for (size_t i = 0; macros[i] && !known; i++)
                                known = strncmp(line, macros[i], strlen(macros[i])) == 0;
                        if (!known)
                                fail_msg("unexpected control line: %.40s", line);
                }
                if (!strchr(line, '\n'))
                        break;
        }
        assert_non_null(strstr(doc, ".TH PVFIO 1 \"2000-01-01\" \"pvfio " PVFIO_VERSION "\""));
        free(doc);
}

/* The body of `'PATH')` in _pvfio_spec, up to its ";;". */
static char *spec_case(const char *script, const char *path) {
        char *label = NULL;
        assert_true(asprintf(&label, "\n    '%s')\n", path) > 0);
        const char *p = strstr(script, label);
        if (!p)
                fail_msg("no completion case for '%s'", path);
        p += strlen(label);
        const char *end = strstr(p, ";;");
        assert_non_null(end);
        free(label);
        return strndup(p, (size_t)(end - p));
}

static void check_comp_opt(const char *body, const struct pv_opt *o, const char *path) {
        char *want = NULL;
        assert_true(asprintf(&want, " --%s%s", o->name, o->type == PV_OPT_VALUE ? "=" : "") > 0);
        /* a flag must be followed by a space or the closing quote, not be a prefix of a longer name */
        const char *p = strstr(body, want);
        while (p && o->type == PV_OPT_FLAG && p[strlen(want)] != ' ' && p[strlen(want)] != '\'')
                p = strstr(p + 1, want);
        if (!p)
                fail_msg("completion for '%s' lacks '--%s'", path, o->name);
        free(want);
        if (o->short_name) {
                char s[8];
                snprintf(s, sizeof s, " -%c%s", o->short_name, o->type == PV_OPT_VALUE ? "=" : "");
                if (!strstr(body, s))
                        fail_msg("completion for '%s' lacks '-%c'", path, o->short_name);
        }
}

static unsigned comp_walk(const char *script, const char *parent, const struct pv_cmd *const *table,
                          const char *top_subs) {
        unsigned n = 0;
        for (; *table; table++) {
                const struct pv_cmd *c = *table;
                char *path = NULL;
                if (*parent)
                        assert_true(asprintf(&path, "%s %s", parent, c->name) > 0);
                else
                        path = strdup(c->name);
                char *body = spec_case(script, path);
                char *word = NULL;
                assert_true(asprintf(&word, " %s ", c->name) > 0);
                if (!strstr(top_subs, word))
                        fail_msg("'%s' is not offered by its parent", path);
                for (const struct pv_opt *o = c->opts; o && o->name; o++)
                        check_comp_opt(body, o, path);
                for (const struct pv_opt *o = pv_global_opts; o->name; o++)
                        if (strcmp(o->name, "json") != 0 || c->json || c->subcmds)
                                check_comp_opt(body, o, path);
                if (c->subcmds) {
                        const char *s = strstr(body, "subs='");
                        assert_non_null(s);
                        char *subs = NULL;
                        assert_true(asprintf(&subs, " %.*s ", (int)strcspn(s + 6, "'"), s + 6) > 0);
                        n += comp_walk(script, path, c->subcmds, subs);
                        free(subs);
                }
                n++;
                free(word);
                free(body);
                free(path);
        }
        return n;
}

static void test_completion_covers_tables(void **state) {
        (void)state;
        char *script = gen(pv_doc_bash_completion);
        char *top = spec_case(script, "");
        const char *s = strstr(top, "subs='");
        assert_non_null(s);
        char *subs = NULL;
        assert_true(asprintf(&subs, " %.*s ", (int)strcspn(s + 6, "'"), s + 6) > 0);
        assert_true(comp_walk(script, "", pv_commands, subs) >= 16);
        assert_non_null(strstr(subs, " help "));
        assert_null(strstr(script, "__man")); /* hidden commands are not offered */
        assert_non_null(strstr(top, " --version"));
        assert_non_null(strstr(script, " --color=w:auto,always,never"));
        assert_non_null(strstr(script, "\ncomplete -F _pvfio pvfio\n"));
        free(subs);
        free(top);
        free(script);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_man_covers_tables),
                cmocka_unit_test(test_man_is_plain_troff),
                cmocka_unit_test(test_completion_covers_tables),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
