/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vGPU sanity checks before a host plan (see pvfio/vgpucheck.h; issue 10 item 10). */
#include "pvfio/xalloc.h"
#include "pvfio/vgpucheck.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "pvfio/cleanup.h"
#include "pvfio/util.h"

/*
 * Intel iGPU device IDs of the generations the kernel's GVT-g (drivers/gpu/drm/i915/gvt) supports:
 * Broadwell, Skylake, Kaby Lake (with Amber Lake Y), Coffee Lake (with Whiskey Lake and Amber Lake/CFL),
 * Comet Lake, and Broxton/Apollo Lake. The ranges cover exactly the IDs the kernel lists for these
 * platforms in include/drm/intel/pciids.h (INTEL_BDW_IDS, INTEL_SKL_IDS, INTEL_KBL_IDS, INTEL_AML_*_IDS,
 * INTEL_CFL_IDS, INTEL_WHL_IDS, INTEL_CML_IDS, INTEL_BXT_IDS; torvalds/linux). Gemini Lake, Ice Lake,
 * Tiger/Rocket Lake, Alder/Raptor Lake and later have no GVT-g (Intel moved to SR-IOV from Alder Lake on).
 */
static const struct {
        uint16_t lo, hi;
        const char *family;
} gvtg_ids[] = {
        { 0x0a84, 0x0a84, "Broxton" },    { 0x1602, 0x163e, "Broadwell" },  { 0x1902, 0x193d, "Skylake" },
        { 0x1a84, 0x1a85, "Broxton" },    { 0x3e90, 0x3ea9, "Coffee Lake" }, { 0x5902, 0x593b, "Kaby Lake" },
        { 0x5a84, 0x5a85, "Apollo Lake" }, { 0x87c0, 0x87c0, "Amber Lake" }, { 0x87ca, 0x87ca, "Amber Lake" },
        { 0x9b21, 0x9b21, "Comet Lake" }, { 0x9b41, 0x9b41, "Comet Lake" }, { 0x9ba2, 0x9bac, "Comet Lake" },
        { 0x9bc2, 0x9bf6, "Comet Lake" },
};

const char *pv_gvtg_family(uint16_t device) {
        for (size_t i = 0; i < sizeof(gvtg_ids) / sizeof(gvtg_ids[0]); i++)
                if (device >= gvtg_ids[i].lo && device <= gvtg_ids[i].hi)
                        return gvtg_ids[i].family;
        return NULL;
}

static int warn(struct pv_plan *plan, struct pv_error *err, const char *fmt, ...) PV_PRINTF(3, 4);
static int warn(struct pv_plan *plan, struct pv_error *err, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        char *msg = NULL;
        int n = vasprintf(&msg, fmt, ap);
        va_end(ap);
        if (n < 0)
                pv_oom(strlen(fmt));    /* allocation does not fail (pvfio/xalloc.h) */
        return pv_plan_add_warning(plan, msg, err);
}

/* Intel's integrated GPU: device 2 of bus 0, a display controller, not a VF. */
static const struct pv_host_dev *intel_igpu(const struct pv_host_state *st) {
        for (size_t i = 0; i < st->n_devs; i++) {
                const struct pv_host_dev *d = &st->devs[i];
                if (d->vendor == 0x8086 && pv_host_dev_is_display(d) && !d->is_vf && d->addr.bus == 0 && d->addr.dev == 2)
                        return d;
        }
        return NULL;
}

static const char *dev_label(const struct pv_host_dev *d) {
        return d->device_name ? d->device_name : "unnamed device";
}

static int check_gvtg(const struct pv_host_spec *spec, const struct pv_host_state *st, const char *node,
                      struct pv_error *err) {
        const struct pv_host_dev *g = intel_igpu(st);
        if (g) {
                if (pv_gvtg_family(g->device))
                        return 0;
                return pv_error_set_loc(err, PV_EINVAL, &spec->vgpu_loc,
                                        "vgpu: gvt-g on node '%s': its Intel GPU %s [8086:%04x] (%s) has no GVT-g, "
                                        "which exists only from Broadwell to Comet Lake (5th-10th generation); from "
                                        "Alder Lake on Intel iGPUs are split with SR-IOV instead (an 'sriov' entry "
                                        "for %s with the i915-sriov-dkms driver), or pass the whole GPU",
                                        node, g->name, g->device, dev_label(g), g->name);
        }
        const struct pv_host_dev *other = NULL;
        for (size_t i = 0; i < st->n_devs && !other; i++)
                if (pv_host_dev_is_display(&st->devs[i]) && !st->devs[i].is_vf)
                        other = &st->devs[i];
        if (other && other->vendor == 0x1002)
                return pv_error_set_loc(err, PV_EINVAL, &spec->vgpu_loc,
                                        "vgpu: gvt-g on node '%s': GVT-g is Intel's; the node's GPU %s [1002:%04x] "
                                        "(%s) is AMD's, which has no mediated vGPU in Proxmox VE (pass the whole GPU)",
                                        node, other->name, other->device, dev_label(other));
        return pv_error_set_loc(err, PV_EINVAL, &spec->vgpu_loc,
                                "vgpu: gvt-g on node '%s': the node has no Intel integrated GPU (0000:00:02.0)", node);
}

/* `w` in `s` as whole words: not inside another word ("A10" is not in "GA104"). */
static bool has_word(const char *s, const char *w) {
        size_t n = strlen(w);
        for (const char *p = strstr(s, w); p; p = strstr(p + 1, w)) {
                bool left = p == s || p[-1] == ' ' || p[-1] == '[' || p[-1] == '/';
                bool right = p[n] == '\0' || p[n] == ' ' || p[n] == ']' || p[n] == '/' || p[n] == '-';
                if (left && right)
                        return true;
        }
        return false;
}

/* An NVIDIA GPU that can host vGPUs over SR-IOV: the SR-IOV capability (sriov_totalvfs) or VFs seen, the
 * nvidia/ vGPU directory, or a data-centre/professional model by its pci.ids name. */
static const char *nvidia_vgpu_evidence(const struct pv_host_dev *d) {
        static const char *const names[] = { "Tesla", "A100", "A30", "A40", "A10", "A16", "A2", "L4", "L20",
                                             "L40", "H100", "H200", "H20", "B200", "RTX A5000", "RTX A5500",
                                             "RTX A6000", "RTX 5000 Ada", "RTX 6000 Ada", "RTX PRO 6000",
                                             "Server Edition" };
        if (d->is_pf)
                return "it has the SR-IOV capability";
        if (d->is_vf)
                return "it is an SR-IOV virtual function";
        if (d->has_nvidia_dir || d->n_vgpu_types)
                return "the NVIDIA vGPU driver lists it (nvidia/)";
        for (size_t i = 0; d->device_name && i < sizeof(names) / sizeof(names[0]); i++)
                if (has_word(d->device_name, names[i]))
                        return "a data-centre/professional model by its name";
        return NULL;
}

static int check_nvidia_sriov(const struct pv_host_spec *spec, const struct pv_host_state *st, const char *node,
                              struct pv_plan *plan, struct pv_error *err) {
        const struct pv_host_dev *capable = NULL, *consumer = NULL;
        for (size_t i = 0; i < st->n_devs && !capable; i++) {
                const struct pv_host_dev *d = &st->devs[i];
                if (d->vendor != 0x10de || !pv_host_dev_is_display(d))
                        continue;
                if (nvidia_vgpu_evidence(d))
                        capable = d;
                else if (!consumer)
                        consumer = d;
        }
        if (!capable) {
                if (consumer)
                        return pv_error_set_loc(err, PV_EINVAL, &spec->vgpu_loc,
                                                "vgpu: nvidia-sriov on node '%s': %s [10de:%04x] (%s) cannot host NVIDIA "
                                                "vGPUs: vGPU over SR-IOV needs a data-centre or professional GPU "
                                                "(A100, A40, L4, L40, RTX A5000/A6000, RTX 6000 Ada, …); pass this GPU "
                                                "whole instead",
                                                node, consumer->name, consumer->device, dev_label(consumer));
                return pv_error_set_loc(err, PV_EINVAL, &spec->vgpu_loc,
                                        "vgpu: nvidia-sriov on node '%s': the node has no NVIDIA GPU", node);
        }
        int r = 0;
        if (!pv_host_module_loaded(st, "nvidia"))
                r = warn(plan, err,
                         "vgpu: nvidia-sriov on node '%s': the NVIDIA vGPU host driver is not loaded (no 'nvidia' in "
                         "proc/modules): install NVIDIA's vGPU host driver for Proxmox VE (the .run package from the "
                         "NVIDIA licensing portal, 'NVIDIA-Linux-x86_64-*-vgpu-kvm.run') before the reboot",
                         node);
        if (r == 0 && !st->nvidia_vgpu_helper)
                r = warn(plan, err,
                         "vgpu: nvidia-sriov on node '%s': pve-nvidia-vgpu-helper is not installed: 'apt install "
                         "pve-nvidia-vgpu-helper', then 'pve-nvidia-vgpu-helper setup' (it provides "
                         "pve-nvidia-sriov@.service, which creates the VFs at boot)",
                         node);
        return r;
}

/* i915 SR-IOV on the Intel iGPU: wanted when an 'sriov' entry names it or kernel_args has i915.max_vfs=. */
static int check_i915_sriov(const struct pv_host_spec *spec, const struct pv_host_state *st, const char *node,
                            struct pv_error *err) {
        const struct pv_host_dev *g = intel_igpu(st);
        const struct pv_loc *loc = NULL;
        for (size_t i = 0; i < spec->n_sriov && !loc; i++)
                if (g && pv_pci_addr_equal(&spec->sriov[i].pf, &g->addr))
                        loc = &spec->sriov[i].loc;
        for (size_t i = 0; i < spec->kernel_args.n && !loc; i++)
                if (pv_startswith(spec->kernel_args.v[i], "i915.max_vfs="))
                        loc = spec->kernel_arg_locs ? &spec->kernel_arg_locs[i] : &spec->loc;
        if (!loc || st->i915_dkms)
                return 0;
        return pv_error_set_loc(err, PV_EINVAL, loc,
                                "SR-IOV of the Intel GPU%s%s on node '%s' needs the out-of-tree i915 driver "
                                "(i915-sriov-dkms), which is not installed for kernel %s (no "
                                "lib/modules/%s/updates/dkms/i915.ko): the stock i915 ignores i915.max_vfs and no VF "
                                "would appear; install i915-sriov-dkms (github.com/strongtz/i915-sriov-dkms) for "
                                "this kernel first",
                                g ? " " : "", g ? g->name : "", node, st->kernel_release ? st->kernel_release : "?",
                                st->kernel_release ? st->kernel_release : "<release>");
}

int pv_host_vgpu_check(const struct pv_host_spec *spec, const struct pv_host_state *st, const char *node,
                       struct pv_plan *plan, struct pv_error *err) {
        int r = 0;
        if (spec->vgpu == PV_VGPU_GVTG)
                r = check_gvtg(spec, st, node, err);
        else if (spec->vgpu == PV_VGPU_NVIDIA_SRIOV)
                r = check_nvidia_sriov(spec, st, node, plan, err);
        if (r == 0)
                r = check_i915_sriov(spec, st, node, err);
        return r;
}
