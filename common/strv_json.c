/* SPDX-License-Identifier: GPL-2.0-or-later */
/* String vectors as JSON arrays of strings (pvfio/strv_json.h). */
#include "pvfio/strv_json.h"

json_t *pv_json_string_array(char *const *v, size_t n) {
        json_t *a = json_array();
        for (size_t i = 0; a && i < n; i++)
                if (json_array_append_new(a, json_string(v[i])) < 0) {
                        json_decref(a);
                        a = NULL;
                }
        return a;
}

json_t *pv_json_string_vec(char *const *v) {
        size_t n = 0;
        while (v && v[n])
                n++;
        return pv_json_string_array(v, n);
}

json_t *pv_strv_to_json(const struct pv_strv *sv) {
        return pv_json_string_array(sv->v, sv->n);
}

int pv_strv_from_json(const json_t *a, struct pv_strv *out, struct pv_error *err) {
        if (!a)
                return 0;
        if (!json_is_array(a))
                return pv_error_set(err, PV_EINVAL, "not a list");
        for (size_t i = 0; i < json_array_size(a); i++) {
                const char *s = json_string_value(json_array_get(a, i));
                if (!s)
                        return pv_error_set(err, PV_EINVAL, "item %zu is not a string", i);
                int r = pv_strv_push(out, s, err);
                if (r < 0)
                        return r;
        }
        return 0;
}
