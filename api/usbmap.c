/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Cluster USB mappings and node USB devices over the API (issue 14):
 *   GET /cluster/mapping/usb[?check-node=N]  pve-manager PVE/API2/Cluster/Mapping/USB.pm index:
 *       the same objects as PCI's, but the check-node results are `errors` (PCI: `checks`);
 *   GET /nodes/{node}/hardware/usb           pve-manager PVE/API2/Hardware/USB.pm usbscan
 *       (pve-common SysFSTools::scan_usb; Sys.Modify on /).
 * The writes are calls.c's typed mapping calls with type "usb".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "pvfio/observe.h"
#include "pvfio/util.h"
#include "pvfio/xalloc.h"

/* Proxmox's `errors` of a USB listing → the `checks` key the shared decoder reads. */
static void errors_as_checks(json_t *data) {
        size_t i;
        json_t *e;
        json_array_foreach(data, i, e) {
                json_t *errs = json_object_get(e, "errors");
                if (json_is_object(e) && errs && !json_object_get(e, "checks"))
                        json_object_set(e, "checks", errs);
        }
}

int pv_api_usb_mappings(struct pv_api *api, const char *check_node, struct pv_obs_mapping **ret, size_t *ret_n,
                        struct pv_error *err) {
        struct pv_api_params p = PV_API_PARAMS_INIT;
        int r = check_node ? pv_api_params_add(&p, "check-node", check_node, err) : 0;
        json_t *d = NULL;
        if (r >= 0)
                r = pv_api_call(api, PV_API_GET, "/cluster/mapping/usb", &p, &d, err);
        if (r >= 0 && json_is_array(d))
                errors_as_checks(d);
        if (r >= 0 && (r = pv_api_decode_mappings(d, ret, ret_n, err)) < 0)
                pv_error_wrap(err, "GET /cluster/mapping/usb");
        json_decref(d);
        pv_api_params_done(&p);
        return r;
}

static char *opt_text(const json_t *o, const char *key) {
        const json_t *v = json_object_get(o, key);
        return json_is_string(v) ? pv_xstrdup(json_string_value(v)) : NULL;
}

/* busnum is an integer in the schema; accept a decimal string too. */
static bool uint_of(const json_t *v, unsigned *ret) {
        if (json_is_integer(v) && json_integer_value(v) >= 0 && json_integer_value(v) <= 65535) {
                *ret = (unsigned)json_integer_value(v);
                return true;
        }
        if (json_is_string(v)) {
                char *end = NULL;
                unsigned long x = strtoul(json_string_value(v), &end, 10);
                if (end && !*end && end != json_string_value(v) && x <= 65535) {
                        *ret = (unsigned)x;
                        return true;
                }
        }
        return false;
}

int pv_api_decode_hw_usb(const json_t *data, struct pv_hw_usb **ret, size_t *ret_n, struct pv_error *err) {
        if (!json_is_array(data))
                return pv_error_set(err, PV_EINVAL, "unexpected answer: the USB device list is not a list");
        size_t n = json_array_size(data);
        struct pv_hw_usb *v = pv_xcalloc(n ? n : 1, sizeof *v);
        for (size_t i = 0; i < n; i++) {
                const json_t *e = json_array_get(data, i);
                if (!json_is_object(e) || !uint_of(json_object_get(e, "busnum"), &v[i].busnum) ||
                    !json_is_string(json_object_get(e, "vendid")) || !json_is_string(json_object_get(e, "prodid"))) {
                        for (size_t k = 0; k <= i; k++)
                                pv_hw_usb_done(&v[k]);
                        free(v);
                        return pv_error_set(err, PV_EINVAL,
                                            "unexpected answer: USB device %zu of the list lacks busnum, vendid or prodid",
                                            i);
                }
                v[i].usbpath = opt_text(e, "usbpath");
                v[i].vendid = opt_text(e, "vendid");
                v[i].prodid = opt_text(e, "prodid");
                v[i].product = opt_text(e, "product");
                v[i].manufacturer = opt_text(e, "manufacturer");
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

int pv_api_node_usb(struct pv_api *api, const char *node, struct pv_hw_usb **ret, size_t *ret_n, struct pv_error *err) {
        _cleanup_free_ char *path = pv_api_path(err, "nodes", node, "hardware", "usb", NULL);
        json_t *d = NULL;
        int r = pv_api_call(api, PV_API_GET, path, NULL, &d, err);
        if (r >= 0 && (r = pv_api_decode_hw_usb(d, ret, ret_n, err)) < 0)
                pv_error_wrap(err, "GET %s", path);
        json_decref(d);
        return r;
}

static bool known(const struct pv_observed *o, const char *node) {
        for (size_t i = 0; i < o->n_nodes; i++)
                if (strcmp(o->nodes[i].node, node) == 0)
                        return true;
        return false;
}

static void note(struct pv_strv *warnings, char *s) {
        if (warnings)
                (void)pv_strv_push_take(warnings, s, NULL);
        else
                free(s);
}

/* Merge the errors of a check-node listing into o->usb_mappings, each with its node. */
static void merge_checks(struct pv_observed *o, const char *node, struct pv_obs_mapping *checked, size_t n) {
        for (size_t i = 0; i < n; i++) {
                struct pv_obs_mapping *m = (struct pv_obs_mapping *)pv_observed_usb_mapping(o, checked[i].id);
                if (!m)
                        continue;
                m->checks = pv_xreallocarray(m->checks, m->n_checks + checked[i].n_checks + 1, sizeof *m->checks);
                for (size_t c = 0; c < checked[i].n_checks; c++) {
                        struct pv_mapping_check *k = &checked[i].checks[c];
                        if (k->message)
                                pv_strip_trailing(k->message); /* Proxmox's die texts end in a new line */
                        m->checks[m->n_checks++] = (struct pv_mapping_check){ .severity = TAKE_PTR(k->severity),
                                                                              .message = TAKE_PTR(k->message),
                                                                              .node = pv_xstrdup(node) };
                }
        }
}

static void free_mappings(struct pv_obs_mapping *v, size_t n) {
        for (size_t i = 0; i < n; i++)
                pv_obs_mapping_done(&v[i]);
        free(v);
}

/* The cluster USB mapping listing of round 1 (observe.c), decoded into o->usb_mappings. */
int pv_api_usb_take_listing(struct pv_observed *o, struct pv_api_get *q, struct pv_error *err) {
        if (q->err.code) {
                pv_error_move(err, &q->err);
                return -err->code;
        }
        if (json_is_array(q->data))
                errors_as_checks(q->data);
        int r = pv_api_decode_mappings(q->data, &o->usb_mappings, &o->n_usb_mappings, err);
        if (r < 0)
                pv_error_wrap(err, "GET /cluster/mapping/usb");
        return r;
}

/* The listing checked on node (check-node=NODE): its errors join the mappings of o, each with its
 * node. A node that cannot be read is a warning (PV_OBSERVE_NODE_UNREAD), as for PCI. */
void pv_api_usb_take_check(struct pv_observed *o, const char *node, struct pv_api_get *q, struct pv_strv *warnings) {
        if (!known(o, node))
                return;
        struct pv_obs_mapping *ms = NULL;
        size_t nm = 0;
        struct pv_error e = PV_ERROR_INIT;
        if (!q->err.code && json_is_array(q->data))
                errors_as_checks(q->data);
        if (q->err.code || pv_api_decode_mappings(q->data, &ms, &nm, &e) < 0) {
                note(warnings, pv_xasprintf(PV_OBSERVE_NODE_UNREAD " '%s': %s", node,
                                            pv_error_message(q->err.code ? &q->err : &e)));
                pv_error_done(&e);
                return;
        }
        merge_checks(o, node, ms, nm);
        free_mappings(ms, nm);
}

/* The USB devices of node (GET /nodes/NODE/hardware/usb), for the port-only entries of its mappings. */
void pv_api_usb_take_hw(struct pv_observed *o, const char *node, struct pv_api_get *q, struct pv_strv *warnings) {
        if (!known(o, node))
                return;
        struct pv_hw_usb *devs = NULL;
        size_t nd = 0;
        struct pv_error e = PV_ERROR_INIT;
        if (q->err.code || pv_api_decode_hw_usb(q->data, &devs, &nd, &e) < 0) {
                note(warnings, pv_xasprintf("cannot read the USB devices of node '%s': %s", node,
                                            pv_error_message(q->err.code ? &q->err : &e)));
                pv_error_done(&e);
                return;
        }
        o->usb_hw = pv_xreallocarray(o->usb_hw, o->n_usb_hw + 1, sizeof *o->usb_hw);
        o->usb_hw[o->n_usb_hw++] = (struct pv_node_usb){ .node = pv_xstrdup(node), .devs = devs, .n_devs = nd };
}
