/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * VM keys of the rest of a passthrough setup (issue 14), translated apart from
 * vmconfig.c: tpmstate0, affinity, hookscript. vmconfig.c asks these
 * functions first for the keys they own (pvx_key_owned) and merges the
 * translated keys and notes into the VM's desired state.
 */
#ifndef PVFIO_PROVISION_VMEXTRAS_H
#define PVFIO_PROVISION_VMEXTRAS_H

#include <stdbool.h>
#include <stddef.h>

#include "pvfio/cluster.h"
#include "pvfio/vmplan.h"

/* True for the keys this module translates. */
bool pvx_key_owned(const char *key);
/* For owned keys: pvfio may delete it when the profile does not produce it. */
bool pvx_key_deletable(const char *key);
/* For owned keys: Proxmox applies a change to a running VM at once. */
bool pvx_key_hotpluggable(const char *key);
/* For owned keys: same meaning (NULL = absent). */
bool pvx_value_equal(const char *key, const char *want, const char *have);

struct pvx_out {
        struct pv_kv *kv;               /* owned keys and values */
        size_t n;
        struct pv_strv drift, warnings; /* complete lines ("vm 'x' (100): …") */
        struct pv_strv blocked;         /* reasons without the VM prefix */
};

/* Translate the extra keys of vm (current = its observed config or NULL). */
int pvx_translate(const struct pv_vm *vm, const struct pv_vm_xlate_ctx *ctx, struct pvx_out *out,
                  struct pv_error *err);
void pvx_out_done(struct pvx_out *o);

#endif
