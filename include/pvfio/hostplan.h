/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Host configuration: plan (pure) and apply (executor, journal, rollback).
 *
 *   pv_host_plan_build(spec, state, opts)   → struct pv_plan of host actions (no file access)
 *   pv_host_apply(host, plan, runner)       → executes exactly those actions under host->root
 *   pv_host_rollback(host, runner)          → restores the pre-pvfio bytes of every file pvfio touched
 *
 * Files pvfio owns (root-relative; created, rewritten and removed whole):
 *   etc/default/grub.d/pvfio.cfg           GRUB: GRUB_CMDLINE_LINUX_DEFAULT="$GRUB_CMDLINE_LINUX_DEFAULT …"
 *   etc/modules-load.d/pvfio.conf          vfio vfio_iommu_type1 vfio_pci (+ vfio_virqfd < 6.2, kvmgt for GVT-g)
 *   etc/modprobe.d/pvfio.conf              options vfio-pci ids=…, softdep X pre: vfio-pci, blacklist …
 *   etc/udev/rules.d/60-pvfio-vfio.rules   binding: driver_override (per address)
 *   etc/udev/rules.d/60-pvfio-sriov.rules  SR-IOV VF counts, set whenever the PF driver binds
 * File pvfio edits but does not own:
 *   etc/kernel/cmdline                     systemd-boot: tokens of the first line; every other token
 *                                          (root=, boot=zfs, …) is kept; the journal remembers which
 *                                          tokens pvfio added so only those are ever removed again
 * Its own records:
 *   var/lib/pvfio/journal.json             pre-pvfio bytes, mode and owner of every file it touched
 *   var/lib/pvfio/commands.log             commands recorded instead of run (fake roots, see cmd/)
 *
 * Action encoding (struct pv_action from plan.h):
 *   WRITE_FILE/EDIT_FILE/REMOVE_FILE  target = path, before/after = whole content (NULL = absent).
 *       EDIT_FILE of etc/kernel/cmdline carries one key change per token: key = argument name,
 *       before/after = whole token (NULL = absent).
 *   RUN_COMMAND    after = the command line (words separated by single spaces, no quoting);
 *                  before = the command that undoes it on rollback, or NULL (refresh commands).
 *   REBIND_DEVICE  target = "0000:01:00.0"; keys "driver" (old → vfio-pci) and "driver_override".
 *   SET_SRIOV      target = PF address; key "sriov_numvfs" (old → new).
 */
#ifndef PVFIO_HOSTPLAN_H
#define PVFIO_HOSTPLAN_H

#include <stdbool.h>
#include <stddef.h>

#include "pvfio/error.h"
#include "pvfio/host.h"
#include "pvfio/plan.h"
#include "pvfio/profile.h"
#include "pvfio/util.h"

#define PV_HOSTPLAN_GRUB_DROPIN "etc/default/grub.d/pvfio.cfg"
#define PV_HOSTPLAN_KERNEL_CMDLINE "etc/kernel/cmdline"
#define PV_HOSTPLAN_MODULES "etc/modules-load.d/pvfio.conf"
#define PV_HOSTPLAN_MODPROBE "etc/modprobe.d/pvfio.conf"
#define PV_HOSTPLAN_UDEV_VFIO "etc/udev/rules.d/60-pvfio-vfio.rules"
#define PV_HOSTPLAN_UDEV_SRIOV "etc/udev/rules.d/60-pvfio-sriov.rules"
#define PV_HOSTPLAN_JOURNAL "var/lib/pvfio/journal.json"
#define PV_HOSTPLAN_COMMANDS_LOG "var/lib/pvfio/commands.log"
#define PV_HOSTPLAN_NVIDIA_SRIOV_UNIT "pve-nvidia-sriov@ALL.service"

/* The refresh commands. */
#define PV_CMD_UPDATE_INITRAMFS "update-initramfs -u -k all"
#define PV_CMD_UPDATE_GRUB "update-grub"
#define PV_CMD_PBT_REFRESH "proxmox-boot-tool refresh"

/* ------------------------------------------------------------ cmdline */

/* Split a kernel command line into tokens the way the kernel does (whitespace separates,
 * double quotes protect spaces; tokens are kept verbatim, quotes included). */
int pv_cmdline_split(const char *line, struct pv_strv *ret, struct pv_error *err);
/* True when two argument names are equal ('-' and '_' are the same, as the kernel treats them). */
bool pv_cmdline_key_equal(const char *a, size_t alen, const char *b, size_t blen);
/* True when two tokens are the same argument with the same value. */
bool pv_cmdline_token_equal(const char *a, const char *b);
/* True when the line holds a token equal to `tok`. */
bool pv_cmdline_has(const struct pv_strv *tokens, const char *tok);
/*
 * Edit one command line, keeping every other token and the spacing around it:
 *   remove: "key=value" removes that exact token, "key" removes every token named key;
 *   add:    a token already present is kept; otherwise it replaces the first token with
 *           the same name (later duplicates go) unless the name may repeat (console=,
 *           video=, initcall_blacklist=, …), else it is appended.
 * *ret is a new string without a newline.
 */
int pv_cmdline_edit(const char *line, const char *const *add, size_t n_add, const char *const *remove,
                    size_t n_remove, char **ret, struct pv_error *err);

/* -------------------------------------------------------------- plan */

/* What the scan does not read: pvfio's other files and what its journal remembers. */
struct pv_hostplan_inputs {
        struct pv_host_file udev_vfio;   /* PV_HOSTPLAN_UDEV_VFIO */
        struct pv_host_file udev_sriov;  /* PV_HOSTPLAN_UDEV_SRIOV */
        bool nvidia_sriov_enabled;       /* pve-nvidia-sriov@ALL.service has a *.wants link */
        bool have_journal;
        struct pv_strv owned_args;       /* tokens pvfio added to etc/kernel/cmdline */
        unsigned refresh_owed;           /* PV_REFRESH_* an earlier apply changed the inputs of and did not
                                          * finish (killed, or the command failed): planned again */
};

/* Read the inputs from the root (missing files are not an error). */
int pv_hostplan_inputs_load(const struct pv_host *h, struct pv_hostplan_inputs *ret, struct pv_error *err);
void pv_hostplan_inputs_done(struct pv_hostplan_inputs *in);

struct pv_host_plan_opts {
        const char *node;                /* node name for actions and reasons (NULL = "host") */
        bool rebind;                     /* --rebind: plan live rebinds and SR-IOV changes now */
        const struct pv_hostplan_inputs *inputs; /* NULL: none of those files exist, no journal */
};

/*
 * Plan the host configuration `spec` asks for on the host described by `state`.
 * Pure: reads nothing but its arguments. Appends actions, warnings and reboot
 * reasons to *plan (actions already there are kept; depends_on indexes are
 * absolute). An action whose target already matches is not added, so planning
 * after a successful apply adds no action (reboot reasons may remain until the
 * host is rebooted).
 * Errors: PV_ENOTFOUND (a selector or SR-IOV PF matches no device), PV_EUNSAFE
 * (a device's IOMMU group holds host devices in use, an ids= binding would also
 * take an unselected identical device, pcie_acs_override without allow_unsafe,
 * a target the host needs (state->needs, its last display device) without
 * host_critical_ok, a blacklisted driver a host device still uses, an existing
 * vfio-pci binding that takes a device the profile keeps, a later GRUB drop-in
 * that drops pvfio's arguments),
 * PV_EINVAL (conflicting profile: blacklisting nvidia for NVIDIA vGPU, a kernel
 * argument pvfio cannot write safely, …), PV_EUNSUPPORTED (systemd-boot without
 * root= in etc/kernel/cmdline and /proc/cmdline). *plan is unchanged on failure.
 */
int pv_host_plan_build(const struct pv_host_spec *spec, const struct pv_host_state *state,
                       const struct pv_host_plan_opts *opts, struct pv_plan *plan, struct pv_error *err);

/* Which refresh commands a change of `path` needs. */
enum pv_refresh {
        PV_REFRESH_INITRAMFS = 1u << 0,  /* update-initramfs -u -k all */
        PV_REFRESH_GRUB = 1u << 1,       /* update-grub */
        PV_REFRESH_PBT = 1u << 2,        /* proxmox-boot-tool refresh */
};
unsigned pv_hostplan_refresh_for_path(const char *path);

/* ---------------------------------------------------------- execute */

/* Runs one external command (argv[0] looked up in PATH, no shell). Returns 0 or a
 * negative code with err filled. Tests install a recorder. */
struct pv_runner {
        int (*run)(void *ud, const char *const argv[], struct pv_error *err);
        void *ud;
};

/* Split a command line of PV action form ("update-initramfs -u -k all") into a NULL-terminated argv. */
int pv_command_argv(const char *line, char ***ret, struct pv_error *err);
void pv_argv_free(char **argv);

/*
 * Execute the host actions of `plan` in order under h->root. Each action gets
 * status DONE, FAILED (with error), SKIPPED (a dependency did not succeed) or
 * BLOCKED. Before the first change to a file its previous bytes, mode and owner
 * are written to the journal (atomically); files are replaced atomically (temp
 * file in the same directory, fsync, renameat, fsync of the directory) keeping
 * mode and owner; a file that no longer holds the plan's `before` fails instead
 * of being overwritten. Returns 0 when every action ran (check the statuses for
 * failures), or a negative code when nothing could be done (journal unreadable
 * or unwritable); then no file was touched.
 */
int pv_host_apply(const struct pv_host *h, struct pv_plan *plan, const struct pv_runner *runner,
                  struct pv_error *err);

/* What a rollback did. */
struct pv_rollback_report {
        bool had_journal;
        struct pv_strv restored;         /* paths written back to their pre-pvfio bytes */
        struct pv_strv removed;          /* paths pvfio had created, now removed */
        struct pv_strv commands;         /* commands run (undo commands, then refreshes) */
        struct pv_strv warnings;         /* e.g. a file changed since pvfio wrote it */
        struct pv_strv failed;           /* "path: message" per file that could not be restored */
};
void pv_rollback_report_done(struct pv_rollback_report *r);

/*
 * Restore exactly the pre-pvfio state recorded in the journal: every file back to
 * its first-seen bytes, mode and owner (or removed when it did not exist), the
 * directories pvfio created removed when empty, undo commands run, then the
 * refresh commands whose inputs changed. The journal is removed when every file
 * was restored. Returns 0 (see report->failed for per-file failures) or a negative
 * code when the journal cannot be read. No journal: 0 with had_journal false.
 */
int pv_host_rollback(const struct pv_host *h, const struct pv_runner *runner, struct pv_rollback_report *report,
                     struct pv_error *err);

/* The node name recorded under the root: first label of etc/hostname. -PV_ENOTFOUND when absent/empty. */
int pv_host_read_node_name(const struct pv_host *h, char **ret, struct pv_error *err);

/* Append one command line to PV_HOSTPLAN_COMMANDS_LOG under the root (for runners that record). */
int pv_host_record_command(const struct pv_host *h, const char *const argv[], struct pv_error *err);

/*
 * Atomically replace (or create) the root-relative file `path` with data: temp file in the
 * same directory, fsync, renameat, fsync of the directory. An existing file keeps its mode
 * and owner; a new one gets `mode`. Missing parent directories are created 0755 and, when
 * ret_created is non-NULL, appended to it (outermost first). Never leaves a partial file.
 */
int pv_host_write_file_atomic(const struct pv_host *h, const char *path, const void *data, size_t len,
                              unsigned mode, struct pv_strv *ret_created, struct pv_error *err);

#endif
