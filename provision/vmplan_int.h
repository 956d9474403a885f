/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Internals of the VM and mapping planner (provision/vmplan*.c only):
 *   vmplan.c           the planner state's action helpers, the VM pass and
 *                      pv_vm_plan_build (the order of the passes);
 *   vmplan_mappings.c  the mapping pass: PCI resource mappings created,
 *                      updated, checked against the nodes' hardware, pruned.
 */
#ifndef PVFIO_PROVISION_VMPLAN_INT_H
#define PVFIO_PROVISION_VMPLAN_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "pvfio/vmplan.h"

/* What the mapping pass leaves for the VM pass. */
struct map_state {
        const char *id;
        int create_act;                 /* 1-based local index of its CREATE_MAPPING, 0 = none */
};

struct planner {
        const struct pv_profile *p;
        const struct pv_observed *obs;
        const struct pv_vm_plan_opts *opts;
        const char *tag;
        struct pv_plan plan;            /* local; appended to the caller's plan at the end */
        struct pv_claims *claims;
        struct map_state *maps;
        size_t n_maps;
        struct pv_strv used_mappings;   /* mapping ids the desired VMs keep using */
};

/* ---------------------------------------------- vmplan.c (action helpers) */

/* A new string (NULL with err filled on ENOMEM). */
char *pvm_asp(struct pv_error *err, const char *fmt, ...) PV_PRINTF(2, 3);
/* Append an action; returns its 1-based local index or <0. target/reason are taken. */
int pvm_act(struct planner *pl, enum pv_action_kind kind, const char *node, uint32_t vmid, char *target,
            char *reason, struct pv_error *err);
/* The action at 1-based local index idx. */
struct pv_action *pvm_A(struct planner *pl, int idx);
/* Mark action idx blocked with why (the first reason wins). */
int pvm_set_blocked(struct planner *pl, int idx, const char *why, struct pv_error *err);
/* Record a changed key (before → after) on action idx. */
int pvm_add_key(struct planner *pl, int idx, const char *key, const char *before, const char *after, bool pending,
                struct pv_error *err);
/* A drift line / a warning for the plan. */
int pvm_drift(struct planner *pl, struct pv_error *err, const char *fmt, ...) PV_PRINTF(3, 4);
int pvm_warn(struct planner *pl, struct pv_error *err, const char *fmt, ...) PV_PRINTF(3, 4);
/* The typed payload of mapping action idx (1-based): the desired object; returns idx or <0. */
int pvm_mapping_payload(struct planner *pl, int idx, const char *id, const struct pv_strv *lines, const char *desc,
                        bool mdev, bool lmc, struct pv_error *err);

/* --------------------------------------------------------- vmplan_mappings.c */

/* qsort order of profile mappings (by id). */
int pvm_cmp_mapping(const void *a, const void *b);
/* Version gates of one VM config key on a node: reasons appended to blocked. */
int pvm_key_gates(const struct planner *pl, const char *node, const char *key, const char *value,
                  struct pv_strv *blocked, struct pv_error *err);
/* Plan one profile mapping (create, update, or checks only). */
int pvm_plan_mapping(struct planner *pl, const struct pv_mapping *m, struct pv_error *err);
/* The profile VM named name, or NULL. */
const struct pv_vm *pvm_profile_vm(const struct pv_profile *p, const char *name);
/* Whether an observed VM carries the management tag. */
bool pvm_vm_info_managed(const struct planner *pl, const struct pv_vm_info *v);
/* Drift or deletions for managed mappings no longer in the profile. */
int pvm_prune_mappings(struct planner *pl, struct pv_error *err);

#endif
