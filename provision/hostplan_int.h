/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Internals of the host planner (provision/hostplan*.c only): the planner state and the
 * helpers the pieces share.
 *
 *   hostplan.c          helpers, validation, device targets, the entry points
 *   hostplan_kargs.c    kernel arguments (GRUB drop-in, systemd-boot command line), hp_plan_file()
 *   hostplan_modules.c  modules-load.d, modprobe.d, udev rules, SR-IOV, NVIDIA vGPU unit
 *   hostplan_safety.c   refresh commands + live rebind, host safety, existing bindings
 */
#ifndef PVFIO_HOSTPLAN_INT_H
#define PVFIO_HOSTPLAN_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "pvfio/hostplan.h"

#define VFIO_DRIVER "vfio-pci"

/* A device chosen for vfio-pci. */
struct target {
        size_t dev;                      /* index into state->devs */
        const struct pv_devsel *sel;     /* the selector that chose it (or its companion's) */
        bool companion;                  /* added as another function of a selected device */
};

struct planner {
        const struct pv_host_spec *spec;
        const struct pv_host_state *st;
        const struct pv_host_plan_opts *opts;
        const struct pv_hostplan_inputs *in;
        const char *node;
        struct pv_plan p;                /* built locally, appended to the caller's plan on success */
        struct target *t;
        size_t n_t;
        struct pv_strv kargs;            /* desired kernel arguments, in order */
        unsigned refresh;                /* PV_REFRESH_* needed by the file actions */
        int refresh_dep[3];              /* 1-based action index each refresh waits for */
        bool shared_accepted;            /* a target's group holds host devices (accept_shared_groups) */
        struct pv_strv kcmdline_takeover;/* vfio-pci.ids= tokens of etc/kernel/cmdline pvfio takes over */
};

#define warnf(c, err, ...) hp_add_note((c), 'w', (err), __VA_ARGS__)
#define rebootf(c, err, ...) hp_add_note((c), 'r', (err), __VA_ARGS__)

/* hostplan.c */
int hp_add_note(struct planner *c, int kind, struct pv_error *err, const char *fmt, ...) PV_PRINTF(4, 5);
int hp_add_action(struct planner *c, enum pv_action_kind kind, const char *target, const char *before,
               const char *after, char *reason_owned, bool needs_reboot, int depends_on, struct pv_error *err);
int hp_set_argv(struct planner *c, int idx1, const char *const *argv, struct pv_error *err);
int hp_add_key(struct planner *c, int idx1, const char *key, const char *before, const char *after,
            struct pv_error *err);
bool hp_streq(const char *a, const char *b);
int hp_strv_add_unique(struct pv_strv *v, const char *s, struct pv_error *err);
bool hp_name_eq(const char *a, const char *b);
bool hp_module_loaded(const struct pv_host_state *st, const char *name);
bool hp_kernel_older(const struct pv_host_state *st, unsigned major, unsigned minor, bool unknown_new);
const struct pv_host_file *hp_find_file(const struct pv_host_file *v, size_t n, const char *path);
const char *hp_file_content(const struct pv_host_file *f);
const char *hp_class_fixed(uint32_t class_code);
const char *hp_class_label(const struct pv_host_dev *d);
char *hp_dev_label(const struct pv_host_dev *d, struct pv_error *err);
bool hp_is_display(const struct pv_host_dev *d);
bool hp_dev_is_vfio_or_free(const struct pv_host_dev *d);
bool hp_dev_class_host_critical(const struct pv_host_dev *d);
long hp_find_dev(const struct pv_host_state *st, const struct pv_pci_addr *a);
struct target *hp_find_target(struct planner *c, size_t dev);
bool hp_module_name_ok(const char *s);
bool hp_is_nvidia_module(const char *m);
char *hp_sel_describe(const struct pv_devsel *s, struct pv_error *err);

/* hostplan_kargs.c */
int hp_desired_kernel_args(struct planner *c, struct pv_error *err);
int hp_plan_file(struct planner *c, enum pv_action_kind kind, const char *path, const char *before,
              const char *after, bool needs_reboot, char *reason, int *ret_idx, struct pv_error *err);
int hp_plan_grub(struct planner *c, bool active, struct pv_error *err);
int hp_plan_sdboot(struct planner *c, bool active, struct pv_error *err);

/* hostplan_modules.c */
int hp_plan_modules(struct planner *c, struct pv_error *err);
const char *hp_driver_module(const char *drv);
int hp_plan_modprobe(struct planner *c, struct pv_error *err);
int hp_plan_udev_vfio(struct planner *c, struct pv_error *err);
int hp_plan_sriov(struct planner *c, struct pv_error *err);
int hp_plan_nvidia_sriov(struct planner *c, struct pv_error *err);

/* hostplan_safety.c */
int hp_plan_refresh(struct planner *c, struct pv_error *err);
int hp_plan_live_and_reboot(struct planner *c, struct pv_error *err);
int hp_check_host_needs(struct planner *c, struct pv_error *err);
int hp_check_blacklist(struct planner *c, struct pv_error *err);
int hp_plan_existing_bindings(struct planner *c, struct pv_error *err);

#endif
