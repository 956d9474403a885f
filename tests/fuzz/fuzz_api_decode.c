/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for the API answer handling: the envelope, the error
 * mapping, the trace redaction and every JSON decoder of api/decode.c run on
 * the same input. Inputs are raw HTTP bodies ({"data": …} or an error body).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pvfio/api.h"

static void decode_all(const json_t *d) {
        struct pv_api_version v;
        if (pv_api_decode_version(d, &v, NULL) == 0)
                pv_api_version_done(&v);

        struct pv_node_info *nodes = NULL;
        struct pv_vm_info *vms = NULL;
        size_t nn = 0, nv = 0;
        if (pv_api_decode_nodes(d, &nodes, &nn, NULL) == 0) {
                for (size_t i = 0; i < nn; i++)
                        pv_node_info_done(&nodes[i]);
                free(nodes);
        }
        if (pv_api_decode_resources(d, &nodes, &nn, &vms, &nv, NULL) == 0) {
                for (size_t i = 0; i < nn; i++)
                        pv_node_info_done(&nodes[i]);
                for (size_t i = 0; i < nv; i++)
                        pv_vm_info_done(&vms[i]);
                free(nodes);
                free(vms);
        }
        if (pv_api_decode_vm_list(d, "pve1", &vms, &nv, NULL) == 0) {
                for (size_t i = 0; i < nv; i++)
                        pv_vm_info_done(&vms[i]);
                free(vms);
        }
        uint32_t id;
        (void)pv_api_decode_nextid(d, &id, NULL);

        struct pv_vm_config c;
        if (pv_api_decode_vm_config(d, "pve1", 100, &c, NULL) == 0)
                pv_vm_config_done(&c);
        struct pv_vm_pending p;
        if (pv_api_decode_vm_pending(d, 100, &p, NULL) == 0)
                pv_vm_pending_done(&p);
        struct pv_vm_status s;
        if (pv_api_decode_vm_status(d, &s, NULL) == 0)
                pv_vm_status_done(&s);

        struct pv_obs_mapping m, *ms = NULL;
        size_t nm = 0;
        if (pv_api_decode_mapping(d, NULL, &m, NULL) == 0)
                pv_obs_mapping_done(&m);
        if (pv_api_decode_mapping(d, "gpu1", &m, NULL) == 0)
                pv_obs_mapping_done(&m);
        if (pv_api_decode_mappings(d, &ms, &nm, NULL) == 0) {
                for (size_t i = 0; i < nm; i++)
                        pv_obs_mapping_done(&ms[i]);
                free(ms);
        }
        struct pv_hw_pci *hw = NULL;
        size_t nh = 0;
        if (pv_api_decode_hw_pci(d, &hw, &nh, NULL) == 0) {
                for (size_t i = 0; i < nh; i++)
                        pv_hw_pci_done(&hw[i]);
                free(hw);
        }
        struct pv_mdev_type *t = NULL;
        size_t nt = 0;
        if (pv_api_decode_mdev_types(d, &t, &nt, NULL) == 0) {
                for (size_t i = 0; i < nt; i++)
                        pv_mdev_type_done(&t[i]);
                free(t);
        }
        struct pv_task_status ts;
        if (pv_api_decode_task_status(d, &ts, NULL) == 0)
                pv_task_status_done(&ts);
        struct pv_strv lines = PV_STRV_INIT;
        if (pv_api_decode_task_log(d, &lines, NULL) == 0)
                pv_strv_done(&lines);
        free(pv_api_scalar_text(d));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const char *body = (const char *)data;
        json_t *d = NULL;
        struct pv_error err = PV_ERROR_INIT;
        if (pv_api_decode_envelope(body, size, &d, &err) == 0) {
                decode_all(d);
                json_decref(d);
        }
        pv_error_done(&err);

        struct pv_api_auth_info ai = { PV_AUTH_TOKEN, "a@pve!t", "environment variable 'X'", "https://h:8006" };
        pv_api_error_from_response("POST", "/nodes/pve1/qemu", 400, "Parameter verification failed.", body, size, &ai,
                                   &err);
        pv_error_done(&err);

        free(pv_api_redact_json_text(body, size, 256));
        char *s = strndup(body, size);
        if (s) {
                free(pv_api_redact_form(s));
                free(pv_api_redact_header(s));
                char fp[PV_API_FP_LEN];
                (void)pv_api_fingerprint_normalize(s, fp, NULL);
                free(s);
        }
        return 0;
}
