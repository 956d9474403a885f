/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer target: any input to the profile loader ends in a profile or diagnostics, never a crash or a leak. */
#include <stddef.h>
#include <stdint.h>

#include "pvfio/profile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct pv_profile *p = NULL;
        struct pv_diags d = { 0 };
        struct pv_error e = PV_ERROR_INIT;
        int r = pv_profile_parse_mem((const char *)data, size, "fuzz.yaml", &p, &d, &e);
        if (r == 0) {
                /* walk the lookups over what was loaded */
                for (size_t i = 0; i < p->n_vms; i++)
                        (void)pv_profile_find_vm(p, p->vms[i].name);
                for (size_t i = 0; i < p->n_mappings; i++)
                        (void)pv_profile_find_mapping(p, p->mappings[i].id);
                for (size_t i = 0; i < p->n_hosts; i++)
                        for (size_t k = 0; k < p->hosts[i].nodes.n; k++)
                                (void)pv_profile_host_for_node(p, p->hosts[i].nodes.v[k]);
        }
        pv_profile_free(p);
        pv_diags_done(&d);
        pv_error_done(&e);
        return 0;
}
