/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Internals of the VM config translation (provision/vmconfig*.c only):
 * vmconfig.c (key classes, comparison, claims), vmconfig_translate.c (kv
 * builder, translation) and vmconfig_hostpci.c (the hostpciN devices).
 */
#ifndef PVFIO_VMCONFIG_INT_H
#define PVFIO_VMCONFIG_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pvfio/error.h"
#include "pvfio/hostpci.h"
#include "pvfio/util.h"
#include "pvfio/vmplan.h"

/* ------------------------------------------------- vmconfig.c: key classes */

/* "net12" → 12 when the prefix matches and the index is canonical decimal in range, else -1. */
int pvc_key_index(const char *key, const char *prefix, int max);

/* ---------------------------------------------------- vmconfig.c: comparison */

bool pvc_str_eq(const char *a, const char *b);
int pvc_bool_or(const char *s, int def);

/* A parsed netN value: model and MAC (aliases resolved), the other parts in props. */
struct net_val {
        const char *model, *mac;
        struct pv_props props;
};
int pvc_net_parse(const char *s, struct net_val *ret);
bool pvc_net_subkey_skipped(const char *k);

/* -------------------------------------------------------- vmconfig.c: claims */

struct pv_claim {
        char *node;
        struct pv_pci_addr addr;
        char *mdev;             /* NULL: a VF handed out; else one instance of this mdev type */
};

/* A host= address some observed VM config passes (indexed once per plan). */
struct pv_used {
        const char *node;               /* borrowed from the observed config */
        struct pv_pci_addr addr;
        uint32_t vmid;
};

struct pv_claims {
        struct pv_claim *v;
        size_t n;
        const struct pv_observed *indexed;  /* the observed state `used` was built from */
        struct pv_used *used;
        size_t n_used;
};

int pvc_claim_add(struct pv_claims *c, const char *node, const struct pv_pci_addr *a, const char *mdev,
                  struct pv_error *err);
int pvc_claim_count(const struct pv_claims *c, const char *node, const struct pv_pci_addr *a, const char *mdev);

/* --------------------------------------- vmconfig_translate.c: kv builder */

struct kvb {
        struct pv_kv *v;
        size_t n;
};

/* Add key (copied) = value (taken). */
int pvc_kvb_take(struct kvb *b, const char *key, char *value, struct pv_error *err);

/* -------------------------------------- vmconfig_translate.c: translation */

struct xlate {
        const struct pv_vm *vm;
        const struct pv_vm_xlate_ctx *ctx;
        struct kvb kv;
        struct pv_vm_desired out;
        struct pv_strv blocked;
        const struct pv_node_hw *hw;
};

const char *pvc_cur(const struct xlate *x, const char *key);
int pvc_note(struct xlate *x, struct pv_strv *where, struct pv_error *err, const char *fmt, ...) PV_PRINTF(4, 5);

#define DRIFT(x, err, ...) pvc_note((x), &(x)->out.drift, (err), __VA_ARGS__)
#define WARN(x, err, ...) pvc_note((x), &(x)->out.warnings, (err), __VA_ARGS__)
#define BLOCK(x, err, ...) pvc_note((x), &(x)->blocked, (err), __VA_ARGS__)

/* ------------------------------------------ vmconfig_hostpci.c: hostpciN */

/* Index every host= address of the observed configs (once per plan and observed state). */
void pvc_index_used(struct pv_claims *c, const struct pv_observed *o);
int pvc_xl_hostpci(struct xlate *x, struct pv_error *err);

#endif
