/* SPDX-License-Identifier: GPL-2.0-or-later */
/* TEMPORARY: replaced by the profile parser. */
#include "pvfio/profile.h"
#include <stdlib.h>
int pv_profile_load(const char *path, struct pv_profile **ret, struct pv_diags *diags, struct pv_error *err) {
        (void)ret; (void)diags;
        return pv_error_set(err, PV_EUNSUPPORTED, "cannot load '%s': profile parser not built yet", path);
}
void pv_profile_free(struct pv_profile *p) { free(p); }
void pv_diags_done(struct pv_diags *d) { (void)d; }
const char *pv_vm_state_to_string(enum pv_vm_state s) { (void)s; return "present"; }
const char *pv_binding_to_string(enum pv_binding b) { (void)b; return "ids"; }
const char *pv_vgpu_kind_to_string(enum pv_vgpu_kind k) { (void)k; return "none"; }
