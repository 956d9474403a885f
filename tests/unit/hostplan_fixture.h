/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fixtures of the host planner tests (test_hostplan*.c; tests/unit/CMakeLists.txt
 * links hostplan_fixture.c into each program that includes this header): hand-built
 * host states (devices, IOMMU groups, boot files), selectors, planning, looking
 * actions up, and an apply simulated by feeding the planned files back.
 */
#ifndef PVFIO_TESTS_UNIT_HOSTPLAN_FIXTURE_H
#define PVFIO_TESTS_UNIT_HOSTPLAN_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pvfio/hostplan.h"

struct fx {
        struct pv_host_state st;
        struct pv_host_spec spec;
        struct pv_hostplan_inputs in;
        struct pv_host_plan_opts opts;
        struct pv_plan plan;
        struct pv_error err;
};

#define has_warning(f, s) any_note((f)->plan.warnings, (f)->plan.n_warnings, (s))
#define has_reboot(f, s) any_note((f)->plan.reboot_reasons, (f)->plan.n_reboot_reasons, (s))

/* fixtures */
char *xstrdup(const char *s);
void set_file(struct pv_host_file *f, const char *path, const char *content);
void push_file(struct pv_host_file **v, size_t *n, const char *path, const char *content);
struct pv_host_dev *add_dev(struct fx *f, const char *addr, uint16_t ven, uint16_t dev, uint32_t cls, int group,
                            const char *driver);
void build_groups(struct fx *f);
void set_cmdline(struct fx *f, const char *proc);
void base_host(struct fx *f, enum pv_cpu_vendor cpu, unsigned kmaj, unsigned kmin, enum pv_bootloader bl);
void laptop(struct fx *f, unsigned kmaj, unsigned kmin, enum pv_bootloader bl);
struct pv_devsel *add_sel(struct fx *f, enum pv_devsel_kind kind, const char *what);
void fx_done(struct fx *f);
int plan(struct fx *f);
const struct pv_action *find_act(const struct fx *f, enum pv_action_kind kind, const char *target);
size_t act_index(const struct fx *f, const struct pv_action *a);
const struct pv_action *find_cmd(const struct fx *f, const char *cmd);
size_t count_cmds(const struct fx *f);
bool any_note(char **v, size_t n, const char *needle);
void simulate_apply(struct fx *f);

#endif
