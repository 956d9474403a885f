/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vGPU sanity (issue 10 item 10): can the vGPU mode a host section asks for work on this node's
 * hardware and software? Used by the host planner before anything is planned.
 *
 *   vgpu: gvt-g           an Intel iGPU of a GVT-g generation (Broadwell … Comet Lake, and Apollo Lake);
 *                         refused on Alder Lake and later (and Ice/Tiger/Rocket Lake), on AMD, without
 *                         an Intel iGPU
 *   vgpu: nvidia-sriov    an NVIDIA GPU that can host vGPUs over SR-IOV (data-centre/professional: it has
 *                         the SR-IOV capability or is one by name); warnings name what to install when the
 *                         NVIDIA host driver or pve-nvidia-vgpu-helper is missing
 *   sriov: on the Intel iGPU, or i915.max_vfs= in kernel_args
 *                         the out-of-tree i915 (i915-sriov-dkms) must be installed for the running kernel
 */
#ifndef PVFIO_VGPUCHECK_H
#define PVFIO_VGPUCHECK_H

#include <stdbool.h>
#include <stdint.h>

#include "pvfio/error.h"
#include "pvfio/host.h"
#include "pvfio/plan.h"
#include "pvfio/profile.h"

/* Intel GVT-g capable iGPU device ID: the family name ("Skylake", …), or NULL. */
const char *pv_gvtg_family(uint16_t device);

/* Check `spec` against node `node` (state `st`): warnings go to *plan (pv_plan_add_warning); a mode that
 * cannot work is an error (PV_EINVAL with the profile location of 'vgpu'/'sriov'/the kernel argument). */
int pv_host_vgpu_check(const struct pv_host_spec *spec, const struct pv_host_state *st, const char *node,
                       struct pv_plan *plan, struct pv_error *err);

#endif
