/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Internals of the readiness checks (provision/host_check*.c only): the check context,
 * the ADD() verdict macro and the helpers the pieces share.
 *
 *   host_check.c         strings, group safety, the check list, config file parsing, pv_host_check()
 *   host_check_node.c    node-wide checks: CPU, IOMMU, firmware, interrupt remapping, overrides,
 *                        kernel, bootloader, kernel arguments
 *   host_check_device.c  vfio modules, boot framebuffer, the per-device checks
 */
#ifndef PVFIO_HOST_CHECK_INT_H
#define PVFIO_HOST_CHECK_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "pvfio/host.h"

struct check_ctx {
        const struct pv_host_state *s;
        const struct pv_check_input *in;
        struct pv_check_list *l;
        struct pv_strv reboot;           /* reboot reasons collected by the other checks */
        struct pv_error *err;
};

#define ADD(cc, id, st, title, ev, fx)                                                                  \
        do {                                                                                            \
                char *_ev = (ev), *_fx = (fx);                                                          \
                int _r = pv_check_list_add((cc)->l, (id), (st), (title), _ev, _fx, (cc)->err);                  \
                if (_r < 0)                                                                             \
                        return _r;                                                                      \
        } while (0)

/* host_check.c */
char *hc_fmt(const char *f, ...) PV_PRINTF(1, 2);
char *hc_join_strv(const struct pv_strv *sv, const char *sep);
char *hc_join_list(const char *const *v, const char *sep);
bool hc_strv_has_mod(const struct pv_strv *sv, const char *mod);
int hc_configured_kernel_args(const struct pv_host_state *s, struct pv_strv *out, const char **ret_where,
                           struct pv_error *err);
const char *hc_find_arg(const struct pv_strv *args, const char *want, const char **ret_same_key);
bool hc_modprobe_has(const struct pv_host_state *s, const char *needle);
int hc_reboot_reason(struct check_ctx *c, char *reason);

/* host_check_node.c */
int hc_check_cpu(struct check_ctx *c);
int hc_check_iommu(struct check_ctx *c);
int hc_check_firmware(struct check_ctx *c);
int hc_check_ir(struct check_ctx *c);
int hc_check_overrides(struct check_ctx *c);
int hc_check_kernel(struct check_ctx *c, const struct pv_strv *configured);
int hc_check_bootloader(struct check_ctx *c);
bool hc_firmware_iommu_off(const struct pv_host_state *s);
const char *hc_firmware_iommu_name(const struct pv_host_state *s);
int hc_check_pending_args(struct check_ctx *c, const struct pv_strv *want);
int hc_check_kernel_args(struct check_ctx *c, const struct pv_strv *want);

/* host_check_device.c */
int hc_check_vfio_loaded(struct check_ctx *c, const struct pv_strv *configured);
int hc_check_framebuffer(struct check_ctx *c);
int hc_check_device(struct check_ctx *c, const struct pv_pci_addr *want, struct pv_strv *vfio_ids);

#endif
