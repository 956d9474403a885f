/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pvfio(1) and the bash completion, generated from the command and option
 * tables (pv_commands[], pv_global_opts[], each command's opts), and the
 * hidden commands that print them:
 *
 *   pvfio __man [--date YYYY-MM-DD]   the manual page, troff
 *   pvfio __completion bash           the completion script
 *   pvfio __nodes PROFILE             node names a profile declares (for the completion)
 */
#include "doc.h"

#include <ctype.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <yaml.h>

#include "commands.h"
#include "pvfio/xalloc.h"
#include "pvfio/buf.h"
#include "pvfio/cleanup.h"
#include "pvfio/hostplan.h"
#include "pvfio/profile.h"
#include "pvfio/util.h"

/* ------------------------------------------------------------------ troff */

#define R_LITERAL 1u /* every '-' is a minus sign (command lines, options) */
#define R_MIDLINE 2u /* the text does not start an output line */

/* A '-' that starts or continues an option ("--json", "-q") in prose. */
static bool option_dash(unsigned char prev, unsigned char next) {
        return (prev == 0 || strchr(" ([\"'-/=,", prev)) && (next == '-' || isalnum(next));
}

/* Decode one UTF-8 sequence at p; returns its length (1 for a stray byte, *cp = '?'). */
static size_t utf8_decode(const unsigned char *p, unsigned *cp) {
        size_t n = p[0] >= 0xf0 ? 4 : p[0] >= 0xe0 ? 3 : p[0] >= 0xc0 ? 2 : 1;
        unsigned v = n == 4 ? p[0] & 0x07u : n == 3 ? p[0] & 0x0fu : p[0] & 0x1fu;
        if (n == 1) {
                *cp = '?';
                return 1;
        }
        for (size_t i = 1; i < n; i++) {
                if ((p[i] & 0xc0) != 0x80) {
                        *cp = '?';
                        return 1;
                }
                v = v << 6 | (p[i] & 0x3fu);
        }
        *cp = v;
        return n;
}

/* Write text for troff: escapes, no control line by accident, non-ASCII as \[uXXXX]. */
static void roff(FILE *f, const char *s, unsigned flags) {
        bool bol = !(flags & R_MIDLINE);
        unsigned char prev = 0;
        for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
                unsigned char c = *p;
                if (c == '\n') {
                        fputc('\n', f);
                        while (p[1] == ' ' || p[1] == '\t')
                                p++;
                        bol = true;
                        prev = 0;
                        continue;
                }
                if (bol && (c == '.' || c == '\''))
                        fputs("\\&", f);
                bol = false;
                if (c == '\\')
                        fputs("\\e", f);
                else if (c == '-' && ((flags & R_LITERAL) || option_dash(prev, p[1])))
                        fputs("\\-", f);
                else if (c < 0x80)
                        fputc(c, f);
                else {
                        unsigned cp;
                        p += utf8_decode(p, &cp) - 1;
                        if (cp == 0x2026) /* no glyph for "…" on the ASCII device */
                                fputs("...", f);
                        else
                                fprintf(f, "\\[u%04X]", cp);
                }
                prev = c;
        }
}

/* "PATH [KEY=VALUE...]": the upper-case words in italics. */
static void roff_usage(FILE *f, const char *usage) {
        for (const char *p = usage; *p;) {
                size_t n = strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");
                if (n > 0 && isupper((unsigned char)*p)) {
                        fputs("\\fI", f);
                        fwrite(p, 1, n, f);
                        fputs("\\fR", f);
                        p += n;
                } else {
                        char one[2] = { *p, '\0' };
                        roff(f, one, R_LITERAL | R_MIDLINE);
                        p++;
                }
        }
}

/* One sentence from a one-line summary: capital first letter, full stop. */
static void roff_sentence(FILE *f, const char *s) {
        if (!*s)
                return;
        char first[2] = { (char)toupper((unsigned char)s[0]), '\0' };
        roff(f, first, 0);
        roff(f, s + 1, R_MIDLINE);
        fputs(s[strlen(s) - 1] == '.' ? "\n" : ".\n", f);
}

static void man_opt(FILE *f, const struct pv_opt *o) {
        fputs(".TP\n", f);
        if (o->short_name)
                fprintf(f, "\\fB\\-%c\\fR, ", o->short_name);
        fputs("\\fB\\-\\-", f);
        roff(f, o->name, R_LITERAL | R_MIDLINE);
        fputs("\\fR", f);
        if (o->type == PV_OPT_VALUE) {
                fputs(" \\fI", f);
                roff(f, o->value_name ? o->value_name : "VALUE", R_LITERAL | R_MIDLINE);
                fputs("\\fR", f);
        }
        fputc('\n', f);
        roff(f, o->help, 0);
        if (o->repeat && !strstr(o->help, "repeat"))
                fputs(" (repeatable)", f);
        fputc('\n', f);
}

static const struct pv_opt *global_opt(const char *name) {
        for (const struct pv_opt *o = pv_global_opts; o->name; o++)
                if (strcmp(o->name, name) == 0)
                        return o;
        return NULL;
}

/* The synopsis line of a command ("pvfio host scan [OPTIONS]"). */
static void man_synopsis(FILE *f, const char *path, const struct pv_cmd *c) {
        fputs("\\fB", f);
        roff(f, path, R_LITERAL);
        fputs("\\fR", f);
        if (c->subcmds) {
                fputs(" \\fICOMMAND\\fR [\\fIOPTIONS\\fR] [\\fIARGS\\fR...]\n", f);
                return;
        }
        fputs(" [\\fIOPTIONS\\fR]", f);
        if (c->usage && *c->usage) {
                fputc(' ', f);
                roff_usage(f, c->usage);
        }
        fputc('\n', f);
}

static int man_synopses(FILE *f, const char *parent, const struct pv_cmd *const *table) {
        for (; *table; table++) {
                _cleanup_free_ char *path = NULL;
                if (asprintf(&path, "%s %s", parent, (*table)->name) < 0)
                        return -1;
                if ((*table)->subcmds) {
                        if (man_synopses(f, path, (*table)->subcmds) < 0)
                                return -1;
                } else {
                        man_synopsis(f, path, *table);
                }
        }
        return 0;
}

static int man_command(FILE *f, const char *parent, const struct pv_cmd *c) {
        _cleanup_free_ char *path = NULL;
        if (asprintf(&path, "%s %s", parent, c->name) < 0)
                return -1;
        fprintf(f, ".SS \"");
        roff(f, path, R_LITERAL | R_MIDLINE);
        fputs("\"\n", f);
        man_synopsis(f, path, c);
        fputs(".PP\n", f);
        roff_sentence(f, c->summary);
        if (c->description) {
                fputs(".PP\n", f);
                roff(f, c->description, 0);
                fputc('\n', f);
        }
        bool any = c->opts && c->opts[0].name;
        const struct pv_opt *json = c->json ? global_opt("json") : NULL;
        if (any || json) {
                fputs(".PP\nOptions:\n", f);
                for (const struct pv_opt *o = c->opts; o && o->name; o++)
                        man_opt(f, o);
                if (json)
                        man_opt(f, json);
        }
        if (c->subcmds) {
                fputs(".PP\nCommands:", f);
                for (const struct pv_cmd *const *s = c->subcmds; *s; s++)
                        fprintf(f, "%s \\fB%s\\fR", s == c->subcmds ? "" : ",", (*s)->name);
                fputs(".\n", f);
                for (const struct pv_cmd *const *s = c->subcmds; *s; s++)
                        if (man_command(f, path, *s) < 0)
                                return -1;
        }
        return 0;
}

/* The environment variable an option's help names as its default ("($PVFIO_PROFILE)"): *ret_n chars at the result. */
static const char *opt_env_default(const struct pv_opt *o, int *ret_n) {
        const char *v = strstr(o->help, "($");
        size_t n = v ? strspn(v + 2, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") : 0;
        if (n == 0 || v[2 + n] != ')')
                return NULL;
        *ret_n = (int)n;
        return v + 2;
}

/* ENVIRONMENT entries for the options whose default comes from the environment. */
static int man_env_from_opts(FILE *f, const char *parent, const struct pv_cmd *const *table) {
        for (; *table; table++) {
                const struct pv_cmd *c = *table;
                _cleanup_free_ char *path = NULL;
                if (asprintf(&path, "%s %s", parent, c->name) < 0)
                        return -1;
                for (const struct pv_opt *o = c->opts; o && o->name; o++) {
                        int n;
                        const char *v = opt_env_default(o, &n);
                        if (!v)
                                continue;
                        fprintf(f, ".TP\n.B %.*s\n", n, v);
                        roff(f, "the default of --", 0);
                        roff(f, o->name, R_LITERAL | R_MIDLINE);
                        roff(f, " for '", R_MIDLINE);
                        roff(f, path, R_LITERAL | R_MIDLINE);
                        roff(f, "'\n", R_MIDLINE);
                }
                if (c->subcmds && man_env_from_opts(f, path, c->subcmds) < 0)
                        return -1;
        }
        return 0;
}

/* Examples; each command line is checked against the tables when the page is written. */
static const struct {
        const char *what;
        const char *cmdlines[3];
} man_examples[] = {
        { "Check a profile and summarise what it declares:", { "pvfio validate --summary cluster.yaml" } },
        { "List the PCI devices of this node by IOMMU group:", { "pvfio host scan" } },
        { "Check that a GPU can be passed through:", { "pvfio host check --device 0000:01:00" } },
        { "Show the host changes the profile needs on this node, then make them:",
          { "pvfio host plan cluster.yaml", "pvfio host apply cluster.yaml" } },
        { "Undo every host change pvfio made:", { "pvfio host rollback" } },
        { "Print the API server's certificate fingerprint for cluster.tls.fingerprint:",
          { "pvfio api fingerprint https://pve1.example.com:8006" } },
        { "Show everything the profile would change (host, mappings, VMs), then apply it:",
          { "pvfio plan cluster.yaml", "pvfio apply --yes cluster.yaml" } },
        { "The plan as JSON, for scripts (exit status 2 when something would change):",
          { "pvfio plan --json cluster.yaml" } },
};

static const struct pv_opt *find_opt_any(const struct pv_cmd *c, const char *word) {
        const struct pv_opt *tables[2] = { c ? c->opts : NULL, pv_global_opts };
        for (size_t t = 0; t < 2; t++)
                for (const struct pv_opt *o = tables[t]; o && o->name; o++) {
                        if (word[1] == '-' && strcmp(word + 2, o->name) == 0)
                                return o;
                        if (word[1] != '-' && word[2] == '\0' && word[1] == o->short_name)
                                return o;
                }
        return NULL;
}

/* True if the example command line names existing commands and options (so examples cannot drift). */
static bool example_ok(const char *cmdline) {
        _cleanup_free_ char *copy = strdup(cmdline);
        if (!copy)
                return false;
        char *save = NULL;
        char *w = strtok_r(copy, " ", &save);
        if (!w || strcmp(w, "pvfio") != 0)
                return false;
        const struct pv_cmd *const *table = pv_commands;
        const struct pv_cmd *c = NULL;
        while ((w = strtok_r(NULL, " ", &save))) {
                if (w[0] == '-') {
                        const struct pv_opt *o = find_opt_any(c, w);
                        if (!o)
                                return false;
                        if (o->type == PV_OPT_VALUE && !strtok_r(NULL, " ", &save))
                                return false;
                        continue;
                }
                if (!table)
                        continue; /* a positional argument */
                const struct pv_cmd *next = NULL;
                for (const struct pv_cmd *const *t = table; *t; t++)
                        if (strcmp((*t)->name, w) == 0)
                                next = *t;
                if (!next)
                        return false;
                c = next;
                table = c->subcmds;
        }
        return c && !c->subcmds;
}

int pv_doc_man(FILE *f, const char *date) {
        fputs(".\\\" pvfio(1): generated by 'pvfio __man' from the command and option tables; do not edit.\n", f);
        fprintf(f, ".TH PVFIO 1 \"%s\" \"pvfio %s\" \"User Commands\"\n", date ? date : "", PVFIO_VERSION);
        fputs(".nh\n.ad l\n", f); /* no hyphenated options, no stretched lines around long literals */
        fputs(".SH NAME\npvfio \\- declarative GPU and PCI passthrough for Proxmox VE\n", f);

        fputs(".SH SYNOPSIS\n.nf\n"
              "\\fBpvfio\\fR [\\fIGLOBAL OPTIONS\\fR] \\fICOMMAND\\fR [\\fIOPTIONS\\fR] [\\fIARGS\\fR...]\n",
              f);
        if (man_synopses(f, "pvfio", pv_commands) < 0)
                return -1;
        fputs("\\fBpvfio help\\fR [\\fICOMMAND\\fR]\n\\fBpvfio \\-\\-version\\fR\n.fi\n", f);

        fputs(".SH DESCRIPTION\n", f);
        roff(f, "pvfio makes GPU and PCI passthrough on Proxmox VE declarative. One YAML profile,\n"
                "described in", 0);
        fputs("\n.BR pvfio-profile (5),\n", f);
        roff(f, "says how each node is prepared (IOMMU, kernel arguments, vfio-pci binding,\n"
                "softdeps, SR-IOV, vGPU), which cluster PCI and USB resource mappings exist, and which VMs\n"
                "use raw devices, mappings or vGPUs.\n", 0);
        fputs(".PP\n", f);
        roff(f, "'pvfio plan' shows the exact difference between the profile and reality; 'pvfio\n"
                "apply' makes the change. Host files are replaced atomically and journalled, so\n"
                "'pvfio host rollback' restores them; mappings and VMs change through the Proxmox VE\n"
                "API, and pvfio only touches VMs that carry its tag. Applying the same profile a\n"
                "second time changes nothing.\n", 0);
        fputs(".PP\n", f);
        roff(f, "Global options may be given before or after the command. Every command prints\n"
                "its options with --help. Commands that produce data print JSON with --json.\n"
                "Problems in a profile are reported as FILE:LINE:COL, every one of them.\n", 0);

        fputs(".SH COMMANDS\n", f);
        for (const struct pv_cmd *const *c = pv_commands; *c; c++)
                if (man_command(f, "pvfio", *c) < 0)
                        return -1;
        fputs(".SS \"pvfio help\"\n\\fBpvfio help\\fR [\\fICOMMAND\\fR]\n.PP\n", f);
        roff(f, "Print the help of the program, or of COMMAND (the same as 'pvfio COMMAND --help').\n", 0);

        fputs(".SH GLOBAL OPTIONS\n", f);
        for (const struct pv_opt *o = pv_global_opts; o->name; o++)
                man_opt(f, o);
        fputs(".TP\n\\fB\\-\\-version\\fR\nprint the version and exit (only before the command)\n", f);

        fputs(".SH EXIT STATUS\n", f);
        for (const struct pv_exit_doc *e = pv_exit_docs; e->meaning; e++)
                fprintf(f, ".TP\n.B %d\n%s\n", e->code, e->meaning);

        fputs(".SH ENVIRONMENT\n", f);
        fputs(".TP\n.B NO_COLOR\n", f);
        roff(f, "when set and not empty, no colour unless --color=always\n", 0);
        fputs(".TP\n.B TERM\n", f);
        roff(f, "colour only on a terminal whose TERM is set and not 'dumb' (--color=auto)\n", 0);
        fputs(".TP\nthe variables named by \\fBsecret_env\\fR and \\fBpassword_env\\fR\n", f);
        roff(f, "in the profile's cluster.auth, or by --secret-env and --password-env: the API token\n"
                "secret or the password. Secrets never appear in pvfio's output, logs or errors.\n", 0);

        if (man_env_from_opts(f, "pvfio", pv_commands) < 0)
                return -1;

        fputs(".SH FILES\n", f);
        static const struct {
                const char *path, *what;
        } files[] = {
                { PV_HOSTPLAN_GRUB_DROPIN, "kernel arguments on nodes that boot with GRUB (then update-grub)" },
                { PV_HOSTPLAN_KERNEL_CMDLINE,
                  "kernel arguments on nodes that boot with systemd-boot (then proxmox-boot-tool refresh); pvfio "
                  "edits only the arguments it added" },
                { PV_HOSTPLAN_MODULES, "the VFIO modules (and kvmgt for GVT-g) loaded at boot" },
                { PV_HOSTPLAN_MODPROBE, "vfio-pci device IDs, softdeps, blacklists and options (then update-initramfs)" },
                { PV_HOSTPLAN_UDEV_VFIO, "per-device vfio-pci binding (binding: driver_override)" },
                { PV_HOSTPLAN_UDEV_SRIOV, "SR-IOV VF counts, applied whenever the physical function's driver binds" },
                { PV_HOSTPLAN_JOURNAL, "the previous bytes, mode and owner of every file pvfio changed, for "
                                       "'pvfio host rollback'" },
                { PV_HOSTPLAN_COMMANDS_LOG, "with --root other than /: the commands that were recorded instead of run" },
                { "usr/share/doc/pvfio/examples/", "example profiles" },
        };
        for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
                fputs(".TP\n.I /", f);
                roff(f, files[i].path, R_LITERAL | R_MIDLINE);
                fputc('\n', f);
                roff(f, files[i].what, 0);
                fputc('\n', f);
        }

        fputs(".SH EXAMPLES\n", f);
        for (size_t i = 0; i < sizeof man_examples / sizeof man_examples[0]; i++) {
                fputs(".PP\n", f);
                roff(f, man_examples[i].what, 0);
                fputs("\n.PP\n.RS 4\n.nf\n", f);
                for (size_t k = 0; k < 3 && man_examples[i].cmdlines[k]; k++) {
                        if (!example_ok(man_examples[i].cmdlines[k]))
                                return -1; /* the tables changed under the example */
                        fputs("\\fB$\\fR ", f);
                        roff(f, man_examples[i].cmdlines[k], R_LITERAL | R_MIDLINE);
                        fputc('\n', f);
                }
                fputs(".fi\n.RE\n", f);
        }

        fputs(".SH SEE ALSO\n.BR pvfio-profile (5),\n.BR qm (1),\n.BR pvesh (1),\n.BR update-initramfs (8)\n", f);
        return ferror(f) ? -1 : 0;
}

/* --------------------------------------------------------------- completion */

/* How a value is completed (the KIND of the generated script). */
static const struct {
        const char *opt;
        const char *values;
} known_values[] = {
        { "color", "w:auto,always,never" },
};

static const char *opt_kind(const struct pv_opt *o) {
        for (size_t i = 0; i < sizeof known_values / sizeof known_values[0]; i++)
                if (strcmp(o->name, known_values[i].opt) == 0)
                        return known_values[i].values;
        const char *v = o->value_name ? o->value_name : "";
        if (strcmp(o->name, "node") == 0)
                return "node";
        if (strcmp(o->name, "profile") == 0 || strcmp(v, "PROFILE") == 0)
                return "profile";
        if (strcmp(v, "DIR") == 0)
                return "dir";
        if (strcmp(v, "FILE") == 0)
                return "file";
        if (strcmp(v, "VAR") == 0)
                return "env";
        return "none";
}

/* Names go into single-quoted shell words: allow only what command and option names are made of. */
static bool shell_safe(const char *s) {
        return *s && strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") == strlen(s);
}

static void comp_opts(FILE *f, const struct pv_opt *opts, bool with_value) {
        for (const struct pv_opt *o = opts; o && o->name; o++) {
                if ((o->type == PV_OPT_VALUE) != with_value || !shell_safe(o->name))
                        continue;
                const char *kind = with_value ? opt_kind(o) : NULL;
                fprintf(f, " --%s%s%s", o->name, kind ? "=" : "", kind ? kind : "");
                if (o->short_name && isalnum((unsigned char)o->short_name))
                        fprintf(f, " -%c%s%s", o->short_name, kind ? "=" : "", kind ? kind : "");
        }
}

/* The global options a command accepts (--json only where it produces data). */
static void comp_global(FILE *f, const struct pv_cmd *c, bool with_value) {
        for (const struct pv_opt *o = pv_global_opts; o->name; o++) {
                if (c && strcmp(o->name, "json") == 0 && !c->json && !c->subcmds)
                        continue;
                struct pv_opt one[2] = { *o, { NULL, 0, 0, NULL, NULL, false } };
                comp_opts(f, one, with_value);
        }
}

static int comp_spec(FILE *f, const char *path, const struct pv_cmd *c) {
        if (!shell_safe(c->name))
                return 0;
        fprintf(f, "    '%s')\n        subs='", path);
        for (const struct pv_cmd *const *s = c->subcmds; s && *s; s++)
                if (shell_safe((*s)->name))
                        fprintf(f, "%s%s", s == c->subcmds ? "" : " ", (*s)->name);
        fputs("'\n        opts='", f);
        comp_opts(f, c->opts, false);
        comp_global(f, c, false);
        fputs("'\n        vopts='", f);
        comp_opts(f, c->opts, true);
        comp_global(f, c, true);
        const char *pos = "none";
        if (!c->subcmds && c->usage && pv_startswith(c->usage, "PROFILE"))
                pos = "profile";
        const char *penv = NULL;
        int penv_n = 0;
        for (const struct pv_opt *o = c->opts; o && o->name && !penv; o++)
                if (o->type == PV_OPT_VALUE && strcmp(opt_kind(o), "profile") == 0)
                        penv = opt_env_default(o, &penv_n);
        fprintf(f, "'\n        pos=%s maxpos=%d penv=%.*s ;;\n", pos, c->subcmds ? 0 : c->max_args, penv_n,
                penv ? penv : "");
        for (const struct pv_cmd *const *s = c->subcmds; s && *s; s++) {
                _cleanup_free_ char *sub = NULL;
                if (asprintf(&sub, "%s %s", path, (*s)->name) < 0)
                        return -1;
                if (comp_spec(f, sub, *s) < 0)
                        return -1;
        }
        return 0;
}

static const char comp_main[] =
        "# _pvfio_kind OPTION: set kind to the KIND of a value option of the current command.\n"
        "_pvfio_kind() {\n"
        "    local v\n"
        "    for v in $vopts; do\n"
        "        if [[ ${v%%=*} == \"$1\" ]]; then\n"
        "            kind=${v#*=}\n"
        "            return 0\n"
        "        fi\n"
        "    done\n"
        "    return 1\n"
        "}\n"
        "\n"
        "# _pvfio_values KIND CUR PROFILE BIN: COMPREPLY = the values of KIND that start with CUR.\n"
        "_pvfio_values() {\n"
        "    local kind=$1 cur=$2 profile=$3 bin=$4\n"
        "    case $kind in\n"
        "    w:*)\n"
        "        local words=${kind#w:}\n"
        "        mapfile -t COMPREPLY < <(compgen -W \"${words//,/ }\" -- \"$cur\") ;;\n"
        "    dir)\n"
        "        compopt -o filenames 2>/dev/null\n"
        "        mapfile -t COMPREPLY < <(compgen -d -- \"$cur\") ;;\n"
        "    file)\n"
        "        compopt -o filenames 2>/dev/null\n"
        "        mapfile -t COMPREPLY < <(compgen -f -- \"$cur\") ;;\n"
        "    profile)\n"
        "        compopt -o filenames 2>/dev/null\n"
        "        mapfile -t COMPREPLY < <(compgen -f -X '!*.yaml' -- \"$cur\"; compgen -f -X '!*.yml' -- \"$cur\"\n"
        "                                 compgen -d -- \"$cur\") ;;\n"
        "    env)\n"
        "        mapfile -t COMPREPLY < <(compgen -e -- \"$cur\") ;;\n"
        "    node)\n"
        "        # the node names the profile on the command line declares, read by pvfio's own parser\n"
        "        [[ $profile == '~/'* ]] && profile=$HOME/${profile#'~/'}\n"
        "        [[ -n $profile && $profile != - && -r $profile ]] || return 0\n"
        "        [[ $bin == '~/'* ]] && bin=$HOME/${bin#'~/'}\n"
        "        mapfile -t COMPREPLY < <(compgen -W \"$(\"$bin\" __nodes -- \"$profile\" 2>/dev/null)\" -- \"$cur\") ;;\n"
        "    esac\n"
        "    return 0\n"
        "}\n"
        "\n"
        "_pvfio() {\n"
        "    local cur=${COMP_WORDS[COMP_CWORD]} bin=${COMP_WORDS[0]}\n"
        "    local subs opts vopts pos maxpos penv kind path='' profile='' want='' w v names\n"
        "    local -i i=1 npos=0 only_pos=0\n"
        "    COMPREPLY=()\n"
        "    # \"--opt=\" arrives as \"--opt\" \"=\" (COMP_WORDBREAKS): the value is empty so far\n"
        "    [[ $cur == = ]] && cur=''\n"
        "    _pvfio_spec ''\n"
        "    # every word but the one being completed; after it, only the profile is looked for\n"
        "    while (( i < ${#COMP_WORDS[@]} )); do\n"
        "        w=${COMP_WORDS[i]}\n"
        "        if (( i == COMP_CWORD )); then\n"
        "            i+=1\n"
        "            continue\n"
        "        fi\n"
        "        if (( ! only_pos )) && [[ $w == -?* ]]; then\n"
        "            if [[ $w == -- ]]; then\n"
        "                (( i < COMP_CWORD )) && only_pos=1\n"
        "            elif [[ $w != *=* ]] && _pvfio_kind \"$w\"; then\n"
        "                # its value: the next word, after a lone \"=\" when \"--opt=value\" was split\n"
        "                if [[ ${COMP_WORDS[i+1]} == = ]] && (( i + 1 != COMP_CWORD )); then i+=1; fi\n"
        "                i+=1\n"
        "                if (( i == COMP_CWORD )); then\n"
        "                    want=$kind\n"
        "                elif [[ $kind == profile && -z $profile ]]; then\n"
        "                    profile=${COMP_WORDS[i]}\n"
        "                fi\n"
        "            elif [[ $w == --*=* ]] && _pvfio_kind \"${w%%=*}\" && [[ $kind == profile && -z $profile ]]; then\n"
        "                profile=${w#*=}\n"
        "            fi\n"
        "        elif (( i > COMP_CWORD )); then\n"
        "            [[ -z $subs && $pos == profile && -z $profile ]] && profile=$w\n"
        "        elif [[ -n $subs ]]; then\n"
        "            [[ \" $subs \" == *\" $w \"* ]] || return 0   # not a command: nothing to offer\n"
        "            path=${path:+$path }$w\n"
        "            _pvfio_spec \"$path\"\n"
        "        else\n"
        "            [[ $pos == profile && $npos -eq 0 && -z $profile ]] && profile=$w\n"
        "            npos+=1\n"
        "        fi\n"
        "        i+=1\n"
        "    done\n"
        "    [[ -z $profile && -n $penv ]] && profile=${!penv}\n"
        "    if [[ -n $want ]]; then\n"
        "        _pvfio_values \"$want\" \"$cur\" \"$profile\" \"$bin\"\n"
        "        return 0\n"
        "    fi\n"
        "    if (( ! only_pos )) && [[ $cur == --*=* ]]; then   # \"--opt=value\" as one word\n"
        "        if _pvfio_kind \"${cur%%=*}\"; then\n"
        "            _pvfio_values \"$kind\" \"${cur#*=}\" \"$profile\" \"$bin\"\n"
        "            COMPREPLY=(\"${COMPREPLY[@]/#/${cur%%=*}=}\")\n"
        "        fi\n"
        "        return 0\n"
        "    fi\n"
        "    if (( ! only_pos )) && [[ $cur == -* ]]; then\n"
        "        names=$opts\n"
        "        for v in $vopts; do names+=\" ${v%%=*}\"; done\n"
        "        mapfile -t COMPREPLY < <(compgen -W \"$names\" -- \"$cur\")\n"
        "        return 0\n"
        "    fi\n"
        "    if [[ -n $subs ]]; then\n"
        "        mapfile -t COMPREPLY < <(compgen -W \"$subs\" -- \"$cur\")\n"
        "        return 0\n"
        "    fi\n"
        "    if (( maxpos < 0 || npos < maxpos )); then\n"
        "        _pvfio_values \"$pos\" \"$cur\" \"$profile\" \"$bin\"\n"
        "    fi\n"
        "    return 0\n"
        "}\n"
        "\n"
        "complete -F _pvfio pvfio\n";

int pv_doc_bash_completion(FILE *f) {
        fprintf(f, "# bash completion for pvfio(1)                             -*- shell-script -*-\n"
                   "# Generated by 'pvfio __completion bash' (pvfio %s) from the command and option\n"
                   "# tables; do not edit.\n\n",
                PVFIO_VERSION);
        fputs("# _pvfio_spec PATH: what the command PATH ('', 'host', 'host scan') accepts:\n"
              "#   subs    its subcommands\n"
              "#   opts    options without a value\n"
              "#   vopts   options with a value, each OPTION=KIND\n"
              "#   pos     how positional arguments complete, maxpos how many there are (-1: any)\n"
              "#   penv    the environment variable that names the profile when no option does\n"
              "# KIND: dir, file, profile (*.yaml, *.yml), node (from the profile), env, none, w:WORD,WORD...\n"
              "_pvfio_spec() {\n"
              "    case $1 in\n"
              "    '')\n        subs='",
              f);
        for (const struct pv_cmd *const *c = pv_commands; *c; c++)
                if (shell_safe((*c)->name))
                        fprintf(f, "%s ", (*c)->name);
        fputs("help'\n        opts=' --version", f);
        comp_global(f, NULL, false);
        fputs("'\n        vopts='", f);
        comp_global(f, NULL, true);
        fputs("'\n        pos=none maxpos=0 penv= ;;\n", f);
        fputs("    'help')\n        subs='' opts='' vopts='' penv=''\n        pos='w:", f);
        for (const struct pv_cmd *const *c = pv_commands; *c; c++)
                if (shell_safe((*c)->name))
                        fprintf(f, "%s%s", c == pv_commands ? "" : ",", (*c)->name);
        fputs("' maxpos=1 ;;\n", f);
        for (const struct pv_cmd *const *c = pv_commands; *c; c++)
                if (comp_spec(f, (*c)->name, *c) < 0)
                        return -1;
        fputs("    *)\n        subs='' opts='' vopts='' pos=none maxpos=0 penv= ;;\n    esac\n}\n\n", f);
        fputs(comp_main, f);
        return ferror(f) ? -1 : 0;
}

/* -------------------------------------------------------------------- nodes */

/* A node name as Proxmox allows it (pve-node); anything else is not offered. */
static bool node_name_ok(const char *s) {
        size_t n = strlen(s);
        if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
                return false;
        for (size_t i = 0; i < n; i++)
                if (!isalnum((unsigned char)s[i]) && s[i] != '-')
                        return false;
        return true;
}

static int add_node(struct pv_strv *sv, const char *name, struct pv_error *err) {
        if (!name || !node_name_ok(name) || pv_strv_contains(sv, name))
                return 0;
        return pv_strv_push(sv, name, err);
}

/* Names from a valid profile: hosts[].nodes, vms[].node, mappings[].map[].node, usb_mappings[].map[].node. */
static int nodes_from_profile(const struct pv_profile *p, struct pv_strv *sv, struct pv_error *err) {
        for (size_t i = 0; i < p->n_hosts; i++)
                for (size_t k = 0; k < p->hosts[i].nodes.n; k++)
                        if (add_node(sv, p->hosts[i].nodes.v[k], err) < 0)
                                return -1;
        for (size_t i = 0; i < p->n_vms; i++)
                if (add_node(sv, p->vms[i].node, err) < 0)
                        return -1;
        for (size_t i = 0; i < p->n_mappings; i++)
                for (size_t k = 0; k < p->mappings[i].n_map; k++)
                        if (add_node(sv, p->mappings[i].map[k].node, err) < 0)
                                return -1;
        for (size_t i = 0; i < p->n_usb_mappings; i++)
                for (size_t k = 0; k < p->usb_mappings[i].n_map; k++)
                        if (add_node(sv, p->usb_mappings[i].map[k].node, err) < 0)
                                return -1;
        return 0;
}

/*
 * Names from a profile that does not validate (the usual case while it is being
 * written): every scalar under a `node` key, or under `nodes` (alone or in a list),
 * up to the first YAML syntax error.
 */
static int nodes_from_yaml(const char *buf, size_t len, struct pv_strv *sv, struct pv_error *err) {
        enum { MAX_DEPTH = 64 };
        struct {
                bool mapping, want_key;
                char *key;     /* last key of a mapping */
                bool node_list; /* a sequence under `nodes` */
        } st[MAX_DEPTH];
        int depth = -1, r = 0;
        yaml_parser_t parser;
        if (!yaml_parser_initialize(&parser))
                return pv_error_set(err, PV_ENOMEM, "out of memory");
        yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
        for (unsigned events = 0; r == 0 && events < 1000000; events++) {
                yaml_event_t ev;
                if (!yaml_parser_parse(&parser, &ev))
                        break; /* keep what was found before the error */
                yaml_event_type_t type = ev.type;
                const char *key = depth >= 0 && st[depth].mapping && !st[depth].want_key ? st[depth].key : NULL;
                bool in_list = depth >= 0 && !st[depth].mapping && st[depth].node_list;
                if (type == YAML_SCALAR_EVENT) {
                        const char *v = (const char *)ev.data.scalar.value;
                        if (depth >= 0 && st[depth].mapping && st[depth].want_key) {
                                free(st[depth].key);
                                st[depth].key = pv_xstrdup(v);
                                st[depth].want_key = false;
                                yaml_event_delete(&ev);
                                continue;
                        }
                        bool nodes_key = key && strcmp(key, "nodes") == 0;
                        if (((in_list || nodes_key) && strcmp(v, "all") != 0) || (key && strcmp(key, "node") == 0))
                                r = add_node(sv, v, err);
                } else if (type == YAML_MAPPING_START_EVENT || type == YAML_SEQUENCE_START_EVENT) {
                        if (depth + 1 >= MAX_DEPTH) {
                                yaml_event_delete(&ev);
                                break;
                        }
                        depth++;
                        st[depth].mapping = type == YAML_MAPPING_START_EVENT;
                        st[depth].want_key = true;
                        st[depth].key = NULL;
                        st[depth].node_list = !st[depth].mapping && key && strcmp(key, "nodes") == 0;
                        yaml_event_delete(&ev);
                        continue;
                } else if (type == YAML_MAPPING_END_EVENT || type == YAML_SEQUENCE_END_EVENT) {
                        if (depth >= 0) {
                                free(st[depth].key);
                                depth--;
                        }
                } else if (type == YAML_STREAM_END_EVENT) {
                        yaml_event_delete(&ev);
                        break;
                }
                /* a value (scalar, alias or a finished collection) completes a key/value pair */
                if (depth >= 0 && st[depth].mapping && type != YAML_MAPPING_START_EVENT &&
                    type != YAML_SEQUENCE_START_EVENT && (type == YAML_SCALAR_EVENT || type == YAML_ALIAS_EVENT ||
                                                          type == YAML_MAPPING_END_EVENT || type == YAML_SEQUENCE_END_EVENT))
                        st[depth].want_key = true;
                yaml_event_delete(&ev);
        }
        for (; depth >= 0; depth--)
                free(st[depth].key);
        yaml_parser_delete(&parser);
        return r;
}

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(char *const *)a, *(char *const *)b);
}

static int run_nodes(struct pv_ctx *ctx, const struct pv_cmd *cmd, struct pv_args *args) {
        (void)cmd;
        struct pv_error err = PV_ERROR_INIT;
        struct pv_buf b = PV_BUF_INIT_CAP(PV_PROFILE_MAX_BYTES);
        struct pv_strv nodes = PV_STRV_INIT;
        struct pv_profile *p = NULL;
        struct pv_diags diags = { 0 };
        int rc = PV_EXIT_OK;
        const char *file = args->pos[0];
        if (pv_buf_read_file_at(&b, AT_FDCWD, file, &err) < 0) {
                pv_error_wrap(&err, "cannot read the profile '%s'", file);
                rc = pv_report_error(ctx, &err);
                goto out;
        }
        int r = pv_profile_parse_mem(b.buf, b.len, file, &p, &diags, &err);
        if (r == 0)
                r = nodes_from_profile(p, &nodes, &err);
        else if (r == -PV_EINVAL)
                r = nodes_from_yaml(b.buf, b.len, &nodes, &err);
        if (r < 0) {
                rc = pv_report_error(ctx, &err);
                goto out;
        }
        if (nodes.n > 1)
                qsort(nodes.v, nodes.n, sizeof *nodes.v, cmp_str);
        for (size_t i = 0; i < nodes.n; i++)
                fprintf(ctx->out, "%s\n", nodes.v[i]);
out:
        pv_profile_free(p);
        pv_diags_done(&diags);
        pv_strv_done(&nodes);
        pv_buf_release(&b);
        pv_error_done(&err);
        return rc;
}

/* ----------------------------------------------------------------- commands */

typedef int (*doc_writer)(FILE *f, const char *arg);

/* Write a document to stdout, or to --output FILE (through FILE.tmp and a rename, so a failed build
 * never leaves half a page behind). */
static int write_doc(struct pv_ctx *ctx, const struct pv_args *args, doc_writer fn, const char *arg,
                     const char *what) {
        const char *output = pv_args_value(args, "output");
        if (!output) {
                if (fn(ctx->out, arg) == 0 && fflush(ctx->out) == 0 && !ferror(ctx->out))
                        return PV_EXIT_OK;
                fprintf(ctx->err, "%s: error: cannot write the %s to standard output\n", ctx->prog, what);
                return PV_EXIT_ERROR;
        }
        _cleanup_free_ char *tmp = NULL;
        if (asprintf(&tmp, "%s.tmp", output) < 0) {
                fprintf(ctx->err, "%s: error: out of memory\n", ctx->prog);
                return PV_EXIT_ERROR;
        }
        FILE *f = fopen(tmp, "we");
        if (!f) {
                fprintf(ctx->err, "%s: error: cannot create '%s': %m\n", ctx->prog, tmp);
                return PV_EXIT_ERROR;
        }
        int r = fn(f, arg);
        if (fclose(f) != 0 || r < 0 || rename(tmp, output) < 0) {
                fprintf(ctx->err, "%s: error: cannot write the %s to '%s'\n", ctx->prog, what, output);
                unlink(tmp);
                return PV_EXIT_ERROR;
        }
        return PV_EXIT_OK;
}

static int man_writer(FILE *f, const char *date) {
        return pv_doc_man(f, date);
}

static int completion_writer(FILE *f, const char *unused) {
        (void)unused;
        return pv_doc_bash_completion(f);
}

static int run_man(struct pv_ctx *ctx, const struct pv_cmd *cmd, struct pv_args *args) {
        (void)cmd;
        return write_doc(ctx, args, man_writer, pv_args_value(args, "date"), "manual page");
}

static int run_completion(struct pv_ctx *ctx, const struct pv_cmd *cmd, struct pv_args *args) {
        if (strcmp(args->pos[0], "bash") != 0)
                return pv_cli_usage_error(ctx, cmd, "no completion for the shell '%s'; only 'bash' is supported",
                                          args->pos[0]);
        return write_doc(ctx, args, completion_writer, NULL, "completion script");
}

static const struct pv_opt man_opts[] = {
        { "date", 0, PV_OPT_VALUE, "DATE", "the date in the page footer (YYYY-MM-DD)", false },
        { "output", 'o', PV_OPT_VALUE, "FILE", "write to FILE instead of standard output", false },
        { NULL, 0, 0, NULL, NULL, false },
};

static const struct pv_opt completion_opts[] = {
        { "output", 'o', PV_OPT_VALUE, "FILE", "write to FILE instead of standard output", false },
        { NULL, 0, 0, NULL, NULL, false },
};

static const struct pv_cmd cmd_man = {
        .name = "__man",
        .summary = "print the pvfio(1) manual page, generated from the option tables (troff)",
        .opts = man_opts,
        .min_args = 0,
        .max_args = 0,
        .run = run_man,
};

static const struct pv_cmd cmd_completion = {
        .name = "__completion",
        .summary = "print the completion script for SHELL (bash), generated from the option tables",
        .usage = "SHELL",
        .opts = completion_opts,
        .min_args = 1,
        .max_args = 1,
        .run = run_completion,
};

static const struct pv_cmd cmd_nodes = {
        .name = "__nodes",
        .summary = "print the node names a profile declares, one per line (for the completion)",
        .usage = "PROFILE",
        .description = "Reads hosts[].nodes, vms[].node and the map[].node of mappings and usb_mappings.\n"
                       "A profile that does not validate is scanned for those keys up to its first YAML\n"
                       "syntax error.",
        .min_args = 1,
        .max_args = 1,
        .run = run_nodes,
};

const struct pv_cmd *const pv_hidden_commands[] = {
        &cmd_man,
        &cmd_completion,
        &cmd_nodes,
        NULL,
};
