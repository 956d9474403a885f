/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Boot configuration parser: the one place that reads what the host's boot
 * configuration says. Used by the scan, the checks and the planner so they
 * always agree.
 *
 *   GRUB defaults     etc/default/grub, then etc/default/grub.d/ *.cfg in name order, evaluated
 *                     the way update-grub sources them (sh): assignments, "…" and '…' quoting,
 *                     backslash escapes, $VAR / ${VAR} / ${VAR:-word} expansion, comments, several
 *                     assignments on a line, `export`. Command substitution, conditionals and
 *                     other commands are not run: an assignment using `…` or $(…) is marked
 *                     unknown and keeps the text outside the substitution.
 *   systemd-boot      the first line of etc/kernel/cmdline (what proxmox-boot-tool refresh reads).
 *   modprobe.d        `options MODULE opt=val …`, `blacklist MODULE`, `softdep …` lines; '#' comments;
 *                     a trailing backslash continues a line (as kmod reads them).
 *   initramfs-tools   etc/initramfs-tools/modules: `MODULE [opt=val …]` per line.
 *
 * Existing vfio-pci bindings (pv_bootcfg_vfio_bindings) come from every one of them plus
 * driverctl overrides (etc/driverctl.d/pci-ADDR holding the driver name) and udev rules
 * that set ATTR{driver_override}="vfio-pci".
 */
#ifndef PVFIO_BOOTCFG_H
#define PVFIO_BOOTCFG_H

#include <stdbool.h>
#include <stddef.h>

#include "pvfio/error.h"
#include "pvfio/host.h"
#include "pvfio/pci.h"
#include "pvfio/util.h"

/* ------------------------------------------------------------------ GRUB */

/* One assignment to GRUB_CMDLINE_LINUX or GRUB_CMDLINE_LINUX_DEFAULT, in evaluation order. */
struct pv_grub_assign {
        char *path;                      /* root-relative file */
        unsigned line;                   /* 1-based */
        bool is_default;                 /* GRUB_CMDLINE_LINUX_DEFAULT (else GRUB_CMDLINE_LINUX) */
        bool keeps_previous;             /* the value expands the variable's previous value ($VAR) */
        bool unknown;                    /* the value uses command substitution (not evaluated) */
        char *value;                     /* the value after expansion */
};

struct pv_grub_eval {
        char *cmdline_linux;             /* final GRUB_CMDLINE_LINUX ("" when never set) */
        char *cmdline_linux_default;     /* final GRUB_CMDLINE_LINUX_DEFAULT */
        struct pv_grub_assign *assigns;
        size_t n_assigns;
};

/*
 * Evaluate the GRUB defaults of `s` as update-grub does. When `replace_path` is not NULL,
 * the file with that root-relative path is evaluated with `replace_content` instead
 * (NULL content = the file does not exist); a path not in the state is inserted in name
 * order among the drop-ins (it must start with "etc/default/grub.d/").
 */
int pv_grub_eval_state(const struct pv_host_state *s, const char *replace_path, const char *replace_content,
                       struct pv_grub_eval *ret, struct pv_error *err);
void pv_grub_eval_done(struct pv_grub_eval *e);
/* The kernel words GRUB puts on the default entry: GRUB_CMDLINE_LINUX then _DEFAULT (quotes dropped). */
int pv_grub_eval_words(const struct pv_grub_eval *e, struct pv_strv *out, struct pv_error *err);

/* The words one GRUB defaults file assigns on its own (variables start empty; each assignment's words). */
int pv_grub_words_of(const char *content, struct pv_strv *out, struct pv_error *err);

/*
 * The kernel arguments the next boot gets, as words (quotes dropped), for the host's boot loader:
 * GRUB (evaluated defaults) or systemd-boot (first line of etc/kernel/cmdline). *ret_where
 * (static) names the configuration for messages. Appended to *out.
 */
int pv_bootcfg_configured_args(const struct pv_host_state *s, struct pv_strv *out, const char **ret_where,
                               struct pv_error *err);

/* ------------------------------------------------------------- modprobe */

enum pv_modprobe_kind { PV_MODPROBE_OTHER = 0, PV_MODPROBE_OPTIONS, PV_MODPROBE_BLACKLIST, PV_MODPROBE_SOFTDEP };

/* One logical line of a modprobe.d file. */
struct pv_modprobe_line {
        enum pv_modprobe_kind kind;
        unsigned line;                   /* 1-based first physical line */
        unsigned n_lines;                /* physical lines it spans (continuations) */
        char *module;                    /* as written ("vfio-pci"), NULL for OTHER */
        struct pv_strv words;            /* the words after the module */
};

/* Parse modprobe.d content. *ret is an array of *ret_n lines (comments and blank lines left out). */
int pv_modprobe_parse(const char *content, struct pv_modprobe_line **ret, size_t *ret_n, struct pv_error *err);
void pv_modprobe_lines_free(struct pv_modprobe_line *v, size_t n);
/* Module names equal ('-' and '_' are the same). */
bool pv_module_name_equal(const char *a, const char *b);

/* ------------------------------------------------------- vfio bindings */

enum pv_binding_source {
        PV_BINDSRC_CMDLINE_ACTIVE = 0,   /* proc/cmdline: vfio-pci.ids= (the running kernel) */
        PV_BINDSRC_GRUB,                 /* a GRUB defaults file's GRUB_CMDLINE_LINUX[_DEFAULT] */
        PV_BINDSRC_KERNEL_CMDLINE,       /* etc/kernel/cmdline (systemd-boot) */
        PV_BINDSRC_MODPROBE,             /* options vfio-pci … ids=… in etc/modprobe.d */
        PV_BINDSRC_INITRAMFS,            /* vfio_pci ids=… in etc/initramfs-tools/modules */
        PV_BINDSRC_DRIVERCTL,            /* etc/driverctl.d/pci-ADDR → vfio-pci */
        PV_BINDSRC_UDEV,                 /* a udev rule setting driver_override to vfio-pci */
};

/* One binding to vfio-pci pvfio did not write. */
struct pv_vfio_binding {
        enum pv_binding_source source;
        char *path;                      /* root-relative file ("proc/cmdline" for the active line) */
        unsigned line;                   /* 1-based, 0 when not line-based */
        char *text;                      /* the token or line as written */
        struct pv_pci_id *ids;           /* by vendor:device */
        size_t n_ids;
        bool has_addr;                   /* by address */
        struct pv_pci_addr addr;
        bool effective;                  /* takes effect at the next boot (GRUB: not overridden later;
                                          * the active command line: false) */
};

/*
 * Every vfio-pci binding the host has that pvfio did not write (pvfio's own files are skipped):
 * the active and configured kernel command lines, modprobe.d, initramfs-tools/modules, driverctl
 * overrides and driver_override udev rules. The configured command line is the boot loader's
 * (GRUB files when GRUB, etc/kernel/cmdline when systemd-boot).
 */
int pv_bootcfg_vfio_bindings(const struct pv_host_state *s, struct pv_vfio_binding **ret, size_t *ret_n,
                             struct pv_error *err);
void pv_vfio_bindings_free(struct pv_vfio_binding *v, size_t n);
const char *pv_binding_source_to_string(enum pv_binding_source s);
/* True when the binding sends device `d` to vfio-pci. */
bool pv_vfio_binding_takes(const struct pv_vfio_binding *b, const struct pv_host_dev *d);

/*
 * `content` (of b->path) without the binding b: the vfio-pci.ids= token removed from its GRUB
 * assignment or kernel command line, the ids= option removed from its modprobe/initramfs line
 * (the line goes when nothing else is left on it), the udev rule line removed. *ret is NULL when
 * the whole file goes (a driverctl override). Lines other than the binding's are kept byte for byte.
 */
int pv_bootcfg_remove_binding(const char *content, const struct pv_vfio_binding *b, char **ret,
                              struct pv_error *err);

#endif
