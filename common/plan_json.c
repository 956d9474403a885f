/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The JSON plan document: struct pv_plan → JSON (pv_plan_to_json) and back (pv_plan_from_json). */
#include "pvfio/planjson.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pvfio/bytes.h"
#include "pvfio/cleanup.h"
#include "pvfio/strv_json.h"
#include "pvfio/util.h"
#include "pvfio/xalloc.h"

#define MAX_NOTES 100000u

int pv_action_kind_from_string(const char *s) {
        for (int k = 0; s && k < _PV_ACT_MAX; k++)
                if (!strcmp(pv_action_kind_to_string((enum pv_action_kind)k), s))
                        return k;
        return -1;
}

int pv_action_status_from_string(const char *s) {
        static const enum pv_action_status all[] = { PV_ACT_PLANNED, PV_ACT_DONE, PV_ACT_FAILED, PV_ACT_SKIPPED,
                                                     PV_ACT_BLOCKED };
        for (size_t i = 0; s && i < sizeof all / sizeof all[0]; i++)
                if (!strcmp(pv_action_status_to_string(all[i]), s))
                        return (int)all[i];
        return -1;
}

void pv_plan_doc_info_done(struct pv_plan_doc_info *info) {
        if (!info)
                return;
        free(info->pvfio_version);
        free(info->node);
        memset(info, 0, sizeof *info);
}

int pv_plan_json_parse(const char *text, size_t len, json_t **ret, struct pv_error *err) {
        if (len > PV_PLAN_JSON_MAX_BYTES)
                return pv_error_set(err, PV_ETOOBIG, "the plan document is larger than %u bytes",
                                    PV_PLAN_JSON_MAX_BYTES);
        json_error_t je;
        json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
        if (!doc)
                return pv_error_set(err, PV_EINVAL, "not a JSON document (line %d, column %d: %s)", je.line,
                                    je.column, je.text);
        if (!json_is_object(doc)) {
                json_decref(doc);
                return pv_error_set(err, PV_EINVAL, "the plan document is not a JSON object");
        }
        *ret = doc;
        return 0;
}

/* An optional string member: absent or null → NULL; anything else but a string is an error. */
static int opt_str(const json_t *o, const char *key, const char *where, size_t idx, char **ret,
                   struct pv_error *err) {
        const json_t *v = json_object_get(o, key);
        *ret = NULL;
        if (!v || json_is_null(v))
                return 0;
        if (!json_is_string(v)) {
                if (where)
                        return pv_error_set(err, PV_EINVAL, "%s[%zu].%s: not a string", where, idx, key);
                return pv_error_set(err, PV_EINVAL, "%s: not a string", key);
        }
        size_t n = json_string_length(v);
        const char *s = json_string_value(v);
        if (memchr(s, '\0', n)) {
                if (where)
                        return pv_error_set(err, PV_EINVAL, "%s[%zu].%s: contains a NUL character", where, idx, key);
                return pv_error_set(err, PV_EINVAL, "%s: contains a NUL character", key);
        }
        *ret = pv_xstrndup(s, n);
        return 0;
}

static int opt_bool(const json_t *o, const char *key, size_t idx, bool *ret, struct pv_error *err) {
        const json_t *v = json_object_get(o, key);
        if (!v) {
                *ret = false;
                return 0;
        }
        if (!json_is_boolean(v))
                return pv_error_set(err, PV_EINVAL, "actions[%zu].%s: not a boolean", idx, key);
        *ret = json_is_true(v);
        return 0;
}

int pv_plan_doc_header(const json_t *doc, struct pv_plan_doc_info *ret, struct pv_error *err) {
        struct pv_plan_doc_info info = { .format_version = -1 };
        if (!json_is_object(doc))
                return pv_error_set(err, PV_EINVAL, "the plan document is not a JSON object");
        const json_t *fv = json_object_get(doc, "format_version");
        if (fv && !json_is_integer(fv))
                return pv_error_set(err, PV_EINVAL, "format_version: not an integer");
        if (fv)
                info.format_version = json_integer_value(fv);
        int r = opt_str(doc, "pvfio_version", NULL, 0, &info.pvfio_version, err);
        if (r == 0)
                r = opt_str(doc, "node", NULL, 0, &info.node, err);
        const json_t *hs = json_object_get(doc, "host_section");
        if (r == 0 && hs && !json_is_boolean(hs))
                r = pv_error_set(err, PV_EINVAL, "host_section: not a boolean");
        if (r < 0) {
                pv_plan_doc_info_done(&info);
                return r;
        }
        info.has_host_section = hs != NULL;
        info.host_section = hs && json_is_true(hs);
        *ret = info;
        return 0;
}

static int decode_keys(const json_t *keys, size_t idx, struct pv_plan *p, size_t ai, struct pv_error *err) {
        if (!keys || json_is_null(keys))
                return 0;
        if (!json_is_array(keys))
                return pv_error_set(err, PV_EINVAL, "actions[%zu].keys: not a list", idx);
        size_t k;
        const json_t *o;
        json_array_foreach(keys, k, o) {
                if (!json_is_object(o))
                        return pv_error_set(err, PV_EINVAL, "actions[%zu].keys[%zu]: not an object", idx, k);
                char *key = NULL, *before = NULL, *after = NULL;
                bool pending = false;
                int r = opt_str(o, "key", "actions[].keys", k, &key, err);
                if (r == 0 && !key)
                        r = pv_error_set(err, PV_EINVAL, "actions[%zu].keys[%zu].key: missing", idx, k);
                if (r == 0)
                        r = opt_str(o, "before", "actions[].keys", k, &before, err);
                if (r == 0)
                        r = opt_str(o, "after", "actions[].keys", k, &after, err);
                const json_t *pu = json_object_get(o, "pending_until_restart");
                if (r == 0 && pu && !json_is_boolean(pu))
                        r = pv_error_set(err, PV_EINVAL, "actions[%zu].keys[%zu].pending_until_restart: not a boolean",
                                         idx, k);
                pending = pu && json_is_true(pu);
                if (r < 0) {
                        free(key);
                        free(before);
                        free(after);
                        return r;
                }
                r = pv_plan_add_key(p, ai, key, before, after, pending, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* ------------------------------------------------------------ typed part (format_version 2) */

static json_t *str_or_null(const char *s) {
        return s ? json_string(s) : json_null();
}

/* A file payload; install-file's bytes as base64 with their size and SHA-256 (checked on reading). */
static json_t *file_payload_json(const struct pv_file_payload *f) {
        json_t *o = json_pack("{s:s, s:I}", "path", f->path, "mode", (json_int_t)f->mode);
        if (!o || !f->data)
                return o;
        json_object_set_new(o, "size", json_integer((json_int_t)f->len));
        json_object_set_new(o, "sha256", json_string(f->sha256));
        json_object_set_new(o, "before_sha256", str_or_null(f->before_sha256));
        char *b64 = pv_base64_encode(f->data, f->len);
        json_object_set_new(o, "data_base64", json_string_nocheck(b64));
        free(b64);
        return o;
}

json_t *pv_action_payload_json(const struct pv_action *a) {
        switch (a->payload_kind) {
        case PV_PAYLOAD_FILE:
                return file_payload_json(&a->payload.file);
        case PV_PAYLOAD_COMMAND:
                return json_pack("{s:o}", "argv", pv_json_string_vec(a->payload.command.argv));
        case PV_PAYLOAD_REBIND:
                return json_pack("{s:s, s:o}", "addr", a->payload.rebind.addr, "driver",
                                 str_or_null(a->payload.rebind.driver));
        case PV_PAYLOAD_SRIOV:
                return json_pack("{s:s, s:I}", "pf", a->payload.sriov.pf, "numvfs", (json_int_t)a->payload.sriov.numvfs);
        case PV_PAYLOAD_VM:
                return json_pack("{s:s, s:o}", "name", a->payload.vm.name, "vmid",
                                 a->payload.vm.vmid ? json_integer(a->payload.vm.vmid) : json_null());
        case PV_PAYLOAD_MAPPING: {
                const struct pv_mapping_payload *m = &a->payload.mapping;
                if (m->usb) /* a USB mapping: its own type, no mdev/live-migration flags */
                        return json_pack("{s:s, s:s, s:o, s:o}", "type", "usb", "id", m->id, "entries",
                                         pv_json_string_vec(m->entries), "description", str_or_null(m->description));
                return json_pack("{s:s, s:o, s:o, s:b, s:b}", "id", m->id, "entries",
                                 pv_json_string_vec(m->entries), "description", str_or_null(m->description), "mdev", m->mdev,
                                 "live_migration_capable", m->live_migration_capable);
        }
        case PV_PAYLOAD_NONE:
                break;
        }
        return json_null();
}

json_t *pv_plan_reboots_json(const struct pv_plan *plan) {
        json_t *a = json_array();
        if (plan->n_reboots != plan->n_reboot_reasons) {
                /* some reasons were added as strings only: the strings, whole, without a node */
                for (size_t i = 0; i < plan->n_reboot_reasons; i++)
                        json_array_append_new(a, json_pack("{s:n, s:s}", "node", "text", plan->reboot_reasons[i]));
                return a;
        }
        for (size_t i = 0; i < plan->n_reboots; i++)
                json_array_append_new(a, json_pack("{s:o, s:s}", "node", str_or_null(plan->reboots[i].node), "text",
                                                   plan->reboots[i].text));
        return a;
}

static json_t *action_json(const struct pv_action *a) {
        json_t *o = json_object();
        json_object_set_new(o, "kind", json_string(pv_action_kind_to_string(a->kind)));
        json_object_set_new(o, "group", json_string(pv_action_group(a)));
        json_object_set_new(o, "target", str_or_null(a->target));
        json_object_set_new(o, "node", str_or_null(a->node));
        json_object_set_new(o, "vmid", a->vmid ? json_integer(a->vmid) : json_null());
        json_object_set_new(o, "reason", str_or_null(a->reason));
        json_object_set_new(o, "before", str_or_null(a->before));
        json_object_set_new(o, "after", str_or_null(a->after));
        json_t *keys = json_array();
        for (size_t k = 0; k < a->n_keys; k++)
                json_array_append_new(keys, json_pack("{s:s, s:o, s:o, s:b}", "key", a->keys[k].key, "before",
                                                      str_or_null(a->keys[k].before), "after",
                                                      str_or_null(a->keys[k].after), "pending_until_restart",
                                                      a->keys[k].pending_until_restart));
        json_object_set_new(o, "keys", keys);
        json_object_set_new(o, "needs_reboot", json_boolean(a->needs_reboot));
        json_object_set_new(o, "pending_until_restart", json_boolean(a->pending_until_restart));
        json_object_set_new(o, "unsafe", json_boolean(a->unsafe));
        json_object_set_new(o, "blocked", str_or_null(a->blocked));
        json_object_set_new(o, "depends_on", a->depends_on > 0 ? json_integer(a->depends_on - 1) : json_null());
        json_object_set_new(o, "status", json_string(pv_action_status_to_string(a->status)));
        json_object_set_new(o, "error", str_or_null(a->error));
        /* format_version 2: the stable key and the payload of the kind */
        json_object_set_new(o, "key", str_or_null(a->key));
        json_object_set_new(o, "payload", pv_action_payload_json(a));
        return o;
}

json_t *pv_plan_to_json(const struct pv_plan *plan) {
        json_t *actions = json_array();
        json_t *pending = json_array();
        for (size_t i = 0; i < plan->n; i++) {
                const struct pv_action *a = &plan->actions[i];
                json_array_append_new(actions, action_json(a));
                if (a->pending_until_restart && a->target)
                        json_array_append_new(pending, json_string(a->target));
        }
        struct pv_plan_counts c;
        pv_plan_counts(plan, &c);
        json_t *doc = json_pack("{s:i, s:o, s:o, s:b, s:o, s:o, s:o, s:{s:i, s:i, s:i, s:i, s:i, s:i}}", "format_version",
                                PV_PLAN_FORMAT_VERSION, "actions", actions, "drift",
                                pv_json_string_array(plan->drift, plan->n_drift), "reboot_required",
                                plan->n_reboot_reasons > 0, "reboot_reasons",
                                pv_json_string_array(plan->reboot_reasons, plan->n_reboot_reasons), "pending_restart",
                                pending, "warnings", pv_json_string_array(plan->warnings, plan->n_warnings), "summary", "add",
                                (json_int_t)c.add, "change", (json_int_t)c.change, "remove", (json_int_t)c.del,
                                "blocked", (json_int_t)c.blocked, "done", (json_int_t)c.done, "failed",
                                (json_int_t)c.failed);
        if (doc)
                json_object_set_new(doc, "reboots", pv_plan_reboots_json(plan));
        return doc;
}

/* A list of strings → NULL-terminated vector (owned) and its length. */
static int decode_vec(const json_t *o, const char *key, size_t idx, char ***ret, size_t *ret_n, struct pv_error *err) {
        const json_t *v = json_object_get(o, key);
        *ret = NULL;
        *ret_n = 0;
        if (!v || json_is_null(v))
                return 0;
        if (!json_is_array(v) || json_array_size(v) > MAX_NOTES)
                return pv_error_set(err, PV_EINVAL, "actions[%zu].payload.%s: not a list", idx, key);
        char **vec = pv_xcalloc(json_array_size(v) + 1, sizeof *vec);
        size_t i;
        const json_t *e;
        json_array_foreach(v, i, e) {
                if (!json_is_string(e) || memchr(json_string_value(e), '\0', json_string_length(e)) ||
                    !(vec[i] = strdup(json_string_value(e)))) {
                        for (size_t k = 0; k < i; k++)
                                free(vec[k]);
                        free(vec);
                        return pv_error_set(err, PV_EINVAL, "actions[%zu].payload.%s[%zu]: not a string", idx, key, i);
                }
        }
        *ret = vec;
        *ret_n = json_array_size(v);
        return 0;
}

static void free_vec(char **v) {
        for (size_t i = 0; v && v[i]; i++)
                free(v[i]);
        free(v);
}

static int opt_uint(const json_t *o, const char *key, size_t idx, unsigned *ret, struct pv_error *err) {
        const json_t *v = json_object_get(o, key);
        *ret = 0;
        if (!v || json_is_null(v))
                return 0;
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > UINT32_MAX)
                return pv_error_set(err, PV_EINVAL, "actions[%zu].payload.%s: not a number", idx, key);
        *ret = (unsigned)json_integer_value(v);
        return 0;
}

/* install-file: the bytes (base64), checked against the size and SHA-256 written beside them. */
static int decode_file_bytes(const json_t *pl, size_t idx, struct pv_action *a, const char *path, unsigned mode,
                             struct pv_error *err) {
        const json_t *d = json_object_get(pl, "data_base64"), *sz = json_object_get(pl, "size");
        const char *sha = json_string_value(json_object_get(pl, "sha256"));
        const json_t *bs = json_object_get(pl, "before_sha256");
        if (!json_is_string(d) || !json_is_integer(sz) || !sha)
                return pv_error_set(err, PV_EINVAL, "actions[%zu].payload: install-file needs data_base64, size and "
                                                    "sha256", idx);
        if (bs && !json_is_null(bs) && !pv_sha256_hex_valid(json_string_value(bs)))
                return pv_error_set(err, PV_EINVAL, "actions[%zu].payload.before_sha256: not a SHA-256", idx);
        uint8_t *bytes = NULL;
        size_t len = 0;
        if (pv_base64_decode(json_string_value(d), json_string_length(d), &bytes, &len) < 0)
                return pv_error_set(err, PV_EINVAL, "actions[%zu].payload.data_base64: not base64", idx);
        char got[PV_SHA256_HEX];
        pv_sha256_hex(bytes, len, got);
        int r = 0;
        if ((json_int_t)len != json_integer_value(sz) || strcasecmp(got, sha) != 0)
                r = pv_error_set(err, PV_EINVAL, "actions[%zu].payload: the bytes do not match their size and "
                                                 "sha256 (damaged in transit)", idx);
        else
                r = pv_action_set_file_bytes(a, path, mode, bytes, len, json_string_value(bs), err);
        free(bytes);
        return r;
}

/* The payload member of a version 2 action; the payload type comes from the kind table. */
static int decode_payload(const json_t *o, size_t idx, struct pv_action *a, struct pv_error *err) {
        const json_t *pl = json_object_get(o, "payload");
        const struct pv_action_kind_info *ki = pv_action_kind_info(a->kind);
        if (!pl || !json_is_object(pl))
                return pv_error_set(err, PV_EINVAL, "actions[%zu].payload: missing or not an object", idx);
        const char *w = "actions[].payload";
        _cleanup_free_ char *s1 = NULL, *s2 = NULL, *s3 = NULL;
        char **vec = NULL;
        size_t n = 0;
        unsigned u = 0;
        bool b1 = false, b2 = false;
        int r;
        switch (ki->payload) {
        case PV_PAYLOAD_FILE:
                r = opt_str(pl, "path", w, idx, &s1, err);
                if (r == 0)
                        r = opt_uint(pl, "mode", idx, &u, err);
                if (r == 0 && !s1)
                        r = pv_error_set(err, PV_EINVAL, "actions[%zu].payload.path: missing", idx);
                if (r == 0 && a->kind == PV_ACT_INSTALL_FILE)
                        return decode_file_bytes(pl, idx, a, s1, u, err);
                return r < 0 ? r : pv_action_set_file(a, s1, u, err);
        case PV_PAYLOAD_COMMAND:
                r = decode_vec(pl, "argv", idx, &vec, &n, err);
                if (r == 0 && !n)
                        r = pv_error_set(err, PV_EINVAL, "actions[%zu].payload.argv: empty command", idx);
                if (r == 0)
                        r = pv_action_set_command(a, (const char *const *)vec, err);
                free_vec(vec);
                return r;
        case PV_PAYLOAD_REBIND:
                r = opt_str(pl, "addr", w, idx, &s1, err);
                if (r == 0)
                        r = opt_str(pl, "driver", w, idx, &s2, err);
                if (r == 0 && !s1)
                        r = pv_error_set(err, PV_EINVAL, "actions[%zu].payload.addr: missing", idx);
                return r < 0 ? r : pv_action_set_rebind(a, s1, s2, err);
        case PV_PAYLOAD_SRIOV:
                r = opt_str(pl, "pf", w, idx, &s1, err);
                if (r == 0)
                        r = opt_uint(pl, "numvfs", idx, &u, err);
                if (r == 0 && !s1)
                        r = pv_error_set(err, PV_EINVAL, "actions[%zu].payload.pf: missing", idx);
                return r < 0 ? r : pv_action_set_sriov(a, s1, u, err);
        case PV_PAYLOAD_VM:
                r = opt_str(pl, "name", w, idx, &s1, err);
                if (r == 0)
                        r = opt_uint(pl, "vmid", idx, &u, err);
                return r < 0 ? r : pv_action_set_vm(a, s1, u, err);
        case PV_PAYLOAD_MAPPING:
                r = opt_str(pl, "id", w, idx, &s1, err);
                if (r == 0)
                        r = opt_str(pl, "description", w, idx, &s3, err);
                if (r == 0)
                        r = opt_bool(pl, "mdev", idx, &b1, err);
                if (r == 0)
                        r = opt_bool(pl, "live_migration_capable", idx, &b2, err);
                if (r == 0 && !s1)
                        r = pv_error_set(err, PV_EINVAL, "actions[%zu].payload.id: missing", idx);
                if (r == 0)
                        r = decode_vec(pl, "entries", idx, &vec, &n, err);
                if (r == 0)
                        r = opt_str(pl, "type", w, idx, &s2, err);
                if (r == 0 && s2 && strcmp(s2, "usb") != 0)
                        r = pv_error_set(err, PV_EINVAL, "actions[%zu].payload.type: '%s' is not a mapping type (usb)",
                                         idx, s2);
                if (r == 0)
                        r = s2 ? pv_action_set_usb_mapping(a, s1, vec, n, s3, err)
                               : pv_action_set_mapping(a, s1, vec, n, s3, b1, b2, err);
                free_vec(vec);
                return r;
        case PV_PAYLOAD_NONE:
                break;
        }
        return 0;
}

/*
 * The key and payload of a version 2 action (the key written is kept: it is what results are matched
 * by). Both null: an action without payload (a plan assembled by hand); one without the other is an error.
 */
static int decode_typed(const json_t *o, size_t idx, struct pv_action *a, struct pv_error *err) {
        _cleanup_free_ char *key = NULL;
        int r = opt_str(o, "key", "actions", idx, &key, err);
        const json_t *pl = json_object_get(o, "payload");
        bool has_payload = pl && !json_is_null(pl);
        if (r < 0 || (!key && !has_payload))
                return r;
        if (!key || !*key)
                return pv_error_set(err, PV_EINVAL, "actions[%zu].key: missing", idx);
        r = decode_payload(o, idx, a, err);
        return r < 0 ? r : pv_action_set_key(a, key, err);
}

static int decode_reboots(const json_t *doc, struct pv_plan *p, struct pv_error *err) {
        const json_t *list = json_object_get(doc, "reboots");
        if (!list || json_is_null(list))
                return 0;
        if (!json_is_array(list) || json_array_size(list) > MAX_NOTES)
                return pv_error_set(err, PV_EINVAL, "reboots: not a list");
        size_t i;
        const json_t *o;
        json_array_foreach(list, i, o) {
                _cleanup_free_ char *node = NULL, *text = NULL;
                if (!json_is_object(o))
                        return pv_error_set(err, PV_EINVAL, "reboots[%zu]: not an object", i);
                int r = opt_str(o, "node", "reboots", i, &node, err);
                if (r == 0)
                        r = opt_str(o, "text", "reboots", i, &text, err);
                if (r == 0 && !text)
                        r = pv_error_set(err, PV_EINVAL, "reboots[%zu].text: missing", i);
                if (r == 0)
                        r = pv_plan_add_reboot(p, node, text, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int decode_action(const json_t *o, size_t idx, struct pv_plan *p, bool typed, struct pv_error *err) {
        if (!json_is_object(o))
                return pv_error_set(err, PV_EINVAL, "actions[%zu]: not an object", idx);
        struct pv_action a = { 0 };
        char *kind = NULL, *status = NULL;
        int r = opt_str(o, "kind", "actions", idx, &kind, err);
        if (r == 0 && !kind)
                r = pv_error_set(err, PV_EINVAL, "actions[%zu].kind: missing", idx);
        int k = r == 0 ? pv_action_kind_from_string(kind) : 0;
        if (r == 0 && k < 0)
                r = pv_error_set(err, PV_EINVAL, "actions[%zu].kind: unknown action kind '%.40s'", idx, kind);
        a.kind = (enum pv_action_kind)(k < 0 ? 0 : k);
        if (r == 0)
                r = opt_str(o, "status", "actions", idx, &status, err);
        int st = r == 0 && status ? pv_action_status_from_string(status) : 0;
        if (r == 0 && st < 0)
                r = pv_error_set(err, PV_EINVAL, "actions[%zu].status: unknown status '%.40s'", idx, status);
        a.status = (enum pv_action_status)(st < 0 ? 0 : st);
        free(kind);
        free(status);
        if (r == 0)
                r = opt_str(o, "target", "actions", idx, &a.target, err);
        if (r == 0)
                r = opt_str(o, "node", "actions", idx, &a.node, err);
        if (r == 0)
                r = opt_str(o, "reason", "actions", idx, &a.reason, err);
        if (r == 0)
                r = opt_str(o, "before", "actions", idx, &a.before, err);
        if (r == 0)
                r = opt_str(o, "after", "actions", idx, &a.after, err);
        if (r == 0)
                r = opt_str(o, "blocked", "actions", idx, &a.blocked, err);
        if (r == 0)
                r = opt_str(o, "error", "actions", idx, &a.error, err);
        if (r == 0)
                r = opt_bool(o, "needs_reboot", idx, &a.needs_reboot, err);
        if (r == 0)
                r = opt_bool(o, "pending_until_restart", idx, &a.pending_until_restart, err);
        if (r == 0)
                r = opt_bool(o, "unsafe", idx, &a.unsafe, err);
        const json_t *v = json_object_get(o, "vmid");
        if (r == 0 && v && !json_is_null(v)) {
                if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > UINT32_MAX)
                        r = pv_error_set(err, PV_EINVAL, "actions[%zu].vmid: not a VM id", idx);
                else
                        a.vmid = (uint32_t)json_integer_value(v);
        }
        v = json_object_get(o, "depends_on");
        if (r == 0 && v && !json_is_null(v)) {
                /* 0-based in the document; only an earlier action of the same document */
                if (!json_is_integer(v) || json_integer_value(v) < 0 || (size_t)json_integer_value(v) >= idx)
                        r = pv_error_set(err, PV_EINVAL, "actions[%zu].depends_on: not the index of an earlier action",
                                         idx);
                else
                        a.depends_on = (int)json_integer_value(v) + 1;
        }
        if (r == 0 && typed)
                r = decode_typed(o, idx, &a, err);
        if (r < 0) {
                pv_action_done(&a);
                return r;
        }
        int ai = pv_plan_add(p, &a, err);
        if (ai < 0)
                return ai;
        return decode_keys(json_object_get(o, "keys"), idx, p, (size_t)ai, err);
}

static int decode_notes(const json_t *doc, const char *key, struct pv_plan *p,
                        int (*add)(struct pv_plan *, char *, struct pv_error *), struct pv_error *err) {
        const json_t *list = json_object_get(doc, key);
        if (!list || json_is_null(list))
                return 0;
        if (!json_is_array(list))
                return pv_error_set(err, PV_EINVAL, "%s: not a list", key);
        if (json_array_size(list) > MAX_NOTES)
                return pv_error_set(err, PV_ETOOBIG, "%s: more than %u entries", key, MAX_NOTES);
        size_t i;
        const json_t *s;
        json_array_foreach(list, i, s) {
                if (!json_is_string(s) || memchr(json_string_value(s), '\0', json_string_length(s)))
                        return pv_error_set(err, PV_EINVAL, "%s[%zu]: not a string", key, i);
                char *dup = strdup(json_string_value(s));
                int r = add(p, dup, err); /* takes dup, also on failure */
                if (r < 0)
                        return r;
        }
        return 0;
}

int pv_plan_from_json(const json_t *doc, struct pv_plan *ret, struct pv_error *err) {
        if (!json_is_object(doc))
                return pv_error_set(err, PV_EINVAL, "the plan document is not a JSON object");
        const json_t *actions = json_object_get(doc, "actions");
        if (!actions)
                return pv_error_set(err, PV_EINVAL, "actions: missing");
        if (!json_is_array(actions))
                return pv_error_set(err, PV_EINVAL, "actions: not a list");
        if (json_array_size(actions) > PV_PLAN_JSON_MAX_ACTIONS)
                return pv_error_set(err, PV_ETOOBIG, "actions: more than %u entries", PV_PLAN_JSON_MAX_ACTIONS);
        /* version 1 (an older remote pvfio): no keys, no payloads, reboot reasons only as strings */
        const json_t *fv = json_object_get(doc, "format_version");
        bool typed = json_is_integer(fv) && json_integer_value(fv) >= 2;
        struct pv_plan p = PV_PLAN_INIT;
        int r = 0;
        size_t i;
        const json_t *o;
        json_array_foreach(actions, i, o) {
                r = decode_action(o, i, &p, typed, err);
                if (r < 0)
                        break;
        }
        if (r == 0 && typed && json_object_get(doc, "reboots"))
                r = decode_reboots(doc, &p, err); /* fills reboot_reasons ("NODE: text") too */
        else if (r == 0)
                r = decode_notes(doc, "reboot_reasons", &p, pv_plan_add_reboot_reason, err);
        if (r == 0)
                r = decode_notes(doc, "drift", &p, pv_plan_add_drift, err);
        if (r == 0)
                r = decode_notes(doc, "warnings", &p, pv_plan_add_warning, err);
        if (r < 0) {
                pv_plan_done(&p);
                return r;
        }
        *ret = p;
        return 0;
}
