/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The JSON plan document (the one `pvfio … --json` prints, format_version
 * PV_PLAN_FORMAT_VERSION): written from a struct pv_plan by pv_plan_to_json and
 * decoded back into one by pv_plan_from_json (to merge the host plans other
 * nodes send over SSH).
 *
 * The document is untrusted input: every known key is type-checked, action
 * kinds and statuses must be known names, depends_on must point at an earlier
 * action of the same document, and sizes are capped. Unknown keys are ignored
 * (additions within one format version stay readable); a different
 * format_version is refused by the caller after reading the header.
 */
#ifndef PVFIO_PLANJSON_H
#define PVFIO_PLANJSON_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "pvfio/error.h"
#include "pvfio/plan.h"

#define PV_PLAN_JSON_MAX_BYTES (16u * 1024 * 1024)  /* a document larger than this is refused */
#define PV_PLAN_JSON_MAX_ACTIONS 100000u

/* What a plan document says about itself (strings owned; release with pv_plan_doc_info_done). */
struct pv_plan_doc_info {
        long long format_version;       /* -1 when the document has none */
        char *pvfio_version;            /* "0.1.0", or NULL when absent */
        char *node;                     /* host documents: the node it describes, or NULL */
        bool has_host_section;          /* host documents: "host_section" */
        bool host_section;
};
void pv_plan_doc_info_done(struct pv_plan_doc_info *info);

/* Parse text into a JSON object (duplicate keys rejected, size capped). *ret: new reference. */
int pv_plan_json_parse(const char *text, size_t len, json_t **ret, struct pv_error *err);

/* Read the header of any version: format_version, pvfio_version, node, host_section. */
int pv_plan_doc_header(const json_t *doc, struct pv_plan_doc_info *ret, struct pv_error *err);

/*
 * Decode the actions (with key changes, statuses and errors), drift, warnings and
 * reboot reasons of a document into a new plan. Does not look at format_version
 * (check it with pv_plan_doc_header first). *ret is filled only on success
 * (release with pv_plan_done). Errors: PV_EINVAL naming the JSON path
 * ("actions[3].kind: unknown action kind 'x'"), PV_ETOOBIG, PV_ENOMEM.
 */
int pv_plan_from_json(const json_t *doc, struct pv_plan *ret, struct pv_error *err);

/* Name → enum (the inverse of pv_action_kind_to_string / pv_action_status_to_string); -1 if unknown. */
int pv_action_kind_from_string(const char *s);

/*
 * The plan document (new reference): actions with their key changes, statuses, errors, stable keys
 * and payloads, drift, reboot reasons, pending restarts, warnings, the summary counts and the
 * reboots. A pure function of the plan; cmd/ adds its own keys (pvfio_version, node, …) and prints it.
 */
json_t *pv_plan_to_json(const struct pv_plan *plan);

/* Writer side of the typed part (format_version 2): an action's "payload" object, the plan's "reboots" list. */
json_t *pv_action_payload_json(const struct pv_action *a);
json_t *pv_plan_reboots_json(const struct pv_plan *plan);
int pv_action_status_from_string(const char *s);

#endif
