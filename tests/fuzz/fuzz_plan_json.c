/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for the plan document decoder (common/plan_json.c): what a
 * remote node answers over SSH is parsed, its header read and its actions
 * decoded. Any input must be refused cleanly or decoded into a plan whose
 * depends_on indexes point at earlier actions.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "pvfio/planjson.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        json_t *doc = NULL;
        if (pv_plan_json_parse((const char *)data, size, &doc, NULL) < 0)
                return 0;
        struct pv_plan_doc_info info;
        if (pv_plan_doc_header(doc, &info, NULL) == 0)
                pv_plan_doc_info_done(&info);
        struct pv_plan p;
        if (pv_plan_from_json(doc, &p, NULL) == 0) {
                for (size_t i = 0; i < p.n; i++)
                        if (p.actions[i].depends_on < 0 || (size_t)p.actions[i].depends_on > i)
                                abort();
                pv_plan_done(&p);
        }
        json_decref(doc);
        return 0;
}
