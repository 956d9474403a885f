/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "pvfio/plan.h"
#include "pvfio/xalloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pvfio/bytes.h"
#include "pvfio/util.h"

static int grow_strs(char ***v, size_t *n, char *s, struct pv_error *err) {
        if (!s)
                return pv_error_set(err, PV_ENOMEM, "out of memory");
        char **nv = pv_xreallocarray(*v, *n + 2, sizeof(char *));
        nv[(*n)++] = s;
        nv[*n] = NULL;
        *v = nv;
        return 0;
}

void pv_action_done(struct pv_action *a) {
        if (!a)
                return;
        free(a->target);
        free(a->node);
        free(a->reason);
        free(a->before);
        free(a->after);
        for (size_t i = 0; i < a->n_keys; i++) {
                free(a->keys[i].key);
                free(a->keys[i].before);
                free(a->keys[i].after);
        }
        free(a->keys);
        free(a->digest);
        free(a->blocked);
        free(a->error);
        pv_action_payload_done(a);
        memset(a, 0, sizeof *a);
}

int pv_plan_add(struct pv_plan *p, struct pv_action *a, struct pv_error *err) {
        (void)err;      /* allocation does not fail (pvfio/xalloc.h) */
        if (p->n == p->alloc) {
                size_t n = p->alloc ? p->alloc * 2 : 16;
                p->actions = pv_xreallocarray(p->actions, n, sizeof *p->actions);
                p->alloc = n;
        }
        p->actions[p->n] = *a;
        memset(a, 0, sizeof *a);
        return (int)p->n++;
}

int pv_plan_add_key(struct pv_plan *p, size_t idx, char *key, char *before, char *after, bool pending,
                    struct pv_error *err) {
        struct pv_action *a = &p->actions[idx];
        if (!key) {     /* the caller's allocation of the key failed */
                free(before);
                free(after);
                return pv_error_set(err, PV_ENOMEM, "out of memory");
        }
        struct pv_key_change *v = a->keys = pv_xreallocarray(a->keys, a->n_keys + 1, sizeof *v);
        v[a->n_keys++] = (struct pv_key_change){ key, before, after, pending };
        return 0;
}

int pv_plan_add_reboot_reason(struct pv_plan *p, char *reason, struct pv_error *err) {
        return grow_strs(&p->reboot_reasons, &p->n_reboot_reasons, reason, err);
}

int pv_plan_add_drift(struct pv_plan *p, char *note, struct pv_error *err) {
        return grow_strs(&p->drift, &p->n_drift, note, err);
}

int pv_plan_add_warning(struct pv_plan *p, char *note, struct pv_error *err) {
        return grow_strs(&p->warnings, &p->n_warnings, note, err);
}

/* Move every string of *sv to the end of *dv (a plan's strings are never NULL). */
static void move_strs(char ***dv, size_t *dn, char ***sv, size_t *sn) {
        if (*sn) {
                *dv = pv_xreallocarray(*dv, *dn + *sn + 1, sizeof **dv);
                for (size_t i = 0; i < *sn; i++)
                        (*dv)[(*dn)++] = (*sv)[i];
                (*dv)[*dn] = NULL;
        }
        free(*sv);
        *sv = NULL;
        *sn = 0;
}

int pv_plan_append(struct pv_plan *dst, struct pv_plan *src, struct pv_error *err) {
        size_t base = dst->n;
        for (size_t i = 0; i < src->n; i++) {
                struct pv_action *a = &src->actions[i];
                if (a->depends_on > 0)
                        a->depends_on += (int)base;
                pv_plan_add(dst, a, err);
        }
        free(src->actions);
        src->actions = NULL;
        src->n = src->alloc = 0;
        move_strs(&dst->reboot_reasons, &dst->n_reboot_reasons, &src->reboot_reasons, &src->n_reboot_reasons);
        move_strs(&dst->drift, &dst->n_drift, &src->drift, &src->n_drift);
        move_strs(&dst->warnings, &dst->n_warnings, &src->warnings, &src->n_warnings);
        if (src->n_reboots) {
                struct pv_reboot_reason *v = pv_xreallocarray(dst->reboots, dst->n_reboots + src->n_reboots, sizeof *v);
                memcpy(v + dst->n_reboots, src->reboots, src->n_reboots * sizeof *v);
                dst->reboots = v;
                dst->n_reboots += src->n_reboots;
        }
        free(src->reboots);
        src->reboots = NULL;
        src->n_reboots = 0;
        dst->n_unread_nodes += src->n_unread_nodes;
        src->n_unread_nodes = 0;
        return 0;
}

static void free_strs(char **v, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(v[i]);
        free(v);
}

void pv_plan_done(struct pv_plan *p) {
        if (!p)
                return;
        for (size_t i = 0; i < p->n; i++)
                pv_action_done(&p->actions[i]);
        free(p->actions);
        free_strs(p->reboot_reasons, p->n_reboot_reasons);
        free_strs(p->drift, p->n_drift);
        free_strs(p->warnings, p->n_warnings);
        for (size_t i = 0; i < p->n_reboots; i++) {
                free(p->reboots[i].node);
                free(p->reboots[i].text);
        }
        free(p->reboots);
        memset(p, 0, sizeof *p);
}

/* The action-kind table: one row per kind, in enum order. */
static const struct pv_action_kind_info kinds[_PV_ACT_MAX] = {
        { PV_ACT_WRITE_FILE, "write-file", PV_SCOPE_HOST, PV_PAYLOAD_FILE, NULL },
        { PV_ACT_EDIT_FILE, "edit-file", PV_SCOPE_HOST, PV_PAYLOAD_FILE, NULL },
        { PV_ACT_REMOVE_FILE, "remove-file", PV_SCOPE_HOST, PV_PAYLOAD_FILE, NULL },
        { PV_ACT_RUN_COMMAND, "run-command", PV_SCOPE_HOST, PV_PAYLOAD_COMMAND, NULL },
        { PV_ACT_REBIND_DEVICE, "rebind-device", PV_SCOPE_HOST, PV_PAYLOAD_REBIND, NULL },
        { PV_ACT_SET_SRIOV, "set-sriov", PV_SCOPE_HOST, PV_PAYLOAD_SRIOV, NULL },
        { PV_ACT_INSTALL_FILE, "install-file", PV_SCOPE_HOST, PV_PAYLOAD_FILE, NULL },
        { PV_ACT_CREATE_MAPPING, "create-mapping", PV_SCOPE_CLUSTER, PV_PAYLOAD_MAPPING, "create" },
        { PV_ACT_UPDATE_MAPPING, "update-mapping", PV_SCOPE_CLUSTER, PV_PAYLOAD_MAPPING, "update" },
        { PV_ACT_DELETE_MAPPING, "delete-mapping", PV_SCOPE_CLUSTER, PV_PAYLOAD_MAPPING, "delete" },
        { PV_ACT_CREATE_VM, "create-vm", PV_SCOPE_CLUSTER, PV_PAYLOAD_VM, "create" },
        { PV_ACT_UPDATE_VM, "update-vm", PV_SCOPE_CLUSTER, PV_PAYLOAD_VM, "update" },
        { PV_ACT_DELETE_VM, "delete-vm", PV_SCOPE_CLUSTER, PV_PAYLOAD_VM, "delete" },
        { PV_ACT_START_VM, "start-vm", PV_SCOPE_CLUSTER, PV_PAYLOAD_VM, "start" },
        { PV_ACT_STOP_VM, "stop-vm", PV_SCOPE_CLUSTER, PV_PAYLOAD_VM, "stop" },
        { PV_ACT_RESTART_VM, "restart-vm", PV_SCOPE_CLUSTER, PV_PAYLOAD_VM, "restart" },
};

const struct pv_action_kind_info *pv_action_kind_info(enum pv_action_kind k) {
        return (unsigned)k < _PV_ACT_MAX ? &kinds[k] : NULL;
}

const char *pv_action_kind_to_string(enum pv_action_kind k) {
        const struct pv_action_kind_info *ki = pv_action_kind_info(k);
        return ki ? ki->name : NULL;
}

const char *pv_action_status_to_string(enum pv_action_status s) {
        switch (s) {
        case PV_ACT_PLANNED: return "planned";
        case PV_ACT_DONE: return "done";
        case PV_ACT_FAILED: return "failed";
        case PV_ACT_SKIPPED: return "skipped";
        case PV_ACT_BLOCKED: return "blocked";
        }
        return NULL;
}

bool pv_action_is_host(enum pv_action_kind k) {
        const struct pv_action_kind_info *ki = pv_action_kind_info(k);
        return ki && ki->scope == PV_SCOPE_HOST;
}

/* ------------------------------------------------------------ payloads and keys */

static void free_vec(char **v) {
        for (size_t i = 0; v && v[i]; i++)
                free(v[i]);
        free(v);
}

void pv_action_payload_done(struct pv_action *a) {
        switch (a->payload_kind) {
        case PV_PAYLOAD_FILE:
                free(a->payload.file.path);
                free(a->payload.file.data);
                free(a->payload.file.sha256);
                free(a->payload.file.before_sha256);
                break;
        case PV_PAYLOAD_COMMAND:
                free_vec(a->payload.command.argv);
                break;
        case PV_PAYLOAD_REBIND:
                free(a->payload.rebind.addr);
                free(a->payload.rebind.driver);
                break;
        case PV_PAYLOAD_SRIOV:
                free(a->payload.sriov.pf);
                break;
        case PV_PAYLOAD_VM:
                free(a->payload.vm.name);
                break;
        case PV_PAYLOAD_MAPPING:
                free(a->payload.mapping.id);
                free_vec(a->payload.mapping.entries);
                free(a->payload.mapping.description);
                break;
        case PV_PAYLOAD_NONE:
                break;
        }
        free(a->key);
        a->key = NULL;
        a->payload_kind = PV_PAYLOAD_NONE;
        memset(&a->payload, 0, sizeof a->payload);
}

static char **dup_vec(const char *const *v, size_t n) {
        char **d = pv_xcalloc(n + 1, sizeof *d);
        for (size_t i = 0; i < n; i++)
                d[i] = pv_xstrdup(v[i]);
        return d;
}

/* Replace the payload of a with *pl (of kind pk) and its key with `key` (taken). */
static int install(struct pv_action *a, enum pv_payload_kind pk, const void *pl, size_t size, char *key) {
        pv_action_payload_done(a);
        a->payload_kind = pk;
        a->key = key;
        memcpy(&a->payload, pl, size);
        return 0;
}

int pv_action_set_file(struct pv_action *a, const char *path, unsigned mode, struct pv_error *err) {
        (void)err;
        struct pv_file_payload f = { .path = pv_xstrdup(path ? path : ""), .mode = mode };
        return install(a, PV_PAYLOAD_FILE, &f, sizeof f, pv_xasprintf("file:%s", f.path));
}

int pv_action_set_file_bytes(struct pv_action *a, const char *path, unsigned mode, const void *data, size_t len,
                             const char *before_sha256, struct pv_error *err) {
        (void)err;
        struct pv_file_payload f = { .path = pv_xstrdup(path ? path : ""), .mode = mode, .len = len,
                                     .before_sha256 = pv_xstrdup(before_sha256) };
        f.data = pv_xmalloc(len + 1);
        if (len)
                memcpy(f.data, data, len);
        f.data[len] = '\0';
        f.sha256 = pv_xmalloc(PV_SHA256_HEX);
        pv_sha256_hex(f.data, len, f.sha256);
        return install(a, PV_PAYLOAD_FILE, &f, sizeof f, pv_xasprintf("file:%s", f.path));
}

char *pv_bytes_summary(size_t len, const char *sha256) {
        return pv_xasprintf("%zu bytes, sha256 %s", len, sha256 ? sha256 : "?");
}

int pv_action_set_command(struct pv_action *a, const char *const *argv, struct pv_error *err) {
        size_t n = 0;
        while (argv && argv[n])
                n++;
        if (n == 0)
                return pv_error_set(err, PV_EINVAL, "empty command");
        struct pv_command_payload c = { .argv = dup_vec(argv, n) };
        /* the key names the whole command line: two different commands of a plan differ */
        struct pv_strv words = { .v = (char **)argv, .n = n };
        char *line = pv_strv_join(&words, " ", NULL);
        if (!line)
                pv_oom(0);
        char *key = pv_xasprintf("command:%s", line);
        free(line);
        return install(a, PV_PAYLOAD_COMMAND, &c, sizeof c, key);
}

int pv_action_set_rebind(struct pv_action *a, const char *addr, const char *driver, struct pv_error *err) {
        (void)err;
        struct pv_rebind_payload b = { .addr = pv_xstrdup(addr ? addr : ""), .driver = pv_xstrdup(driver) };
        return install(a, PV_PAYLOAD_REBIND, &b, sizeof b, pv_xasprintf("rebind:%s", addr ? addr : ""));
}

int pv_action_set_sriov(struct pv_action *a, const char *pf, unsigned numvfs, struct pv_error *err) {
        (void)err;
        struct pv_sriov_payload s = { .pf = pv_xstrdup(pf ? pf : ""), .numvfs = numvfs };
        return install(a, PV_PAYLOAD_SRIOV, &s, sizeof s, pv_xasprintf("sriov:%s", pf ? pf : ""));
}

static const char *verb_of(const struct pv_action *a) {
        const struct pv_action_kind_info *ki = pv_action_kind_info(a->kind);
        return ki && ki->verb ? ki->verb : "?";
}

int pv_action_set_vm(struct pv_action *a, const char *name, uint32_t vmid, struct pv_error *err) {
        (void)err;
        struct pv_vm_payload v = { .name = pv_xstrdup(name ? name : ""), .vmid = vmid };
        return install(a, PV_PAYLOAD_VM, &v, sizeof v, pv_xasprintf("vm:%s:%s", name ? name : "", verb_of(a)));
}

int pv_action_set_mapping(struct pv_action *a, const char *id, char *const *entries, size_t n_entries,
                          const char *description, bool mdev, bool live_migration_capable, struct pv_error *err) {
        (void)err;
        struct pv_mapping_payload m = {
                .id = pv_xstrdup(id ? id : ""),
                .entries = dup_vec((const char *const *)entries, n_entries),
                .n_entries = n_entries,
                .description = pv_xstrdup(description),
                .mdev = mdev,
                .live_migration_capable = live_migration_capable,
        };
        return install(a, PV_PAYLOAD_MAPPING, &m, sizeof m, pv_xasprintf("mapping:%s:%s", id ? id : "", verb_of(a)));
}

int pv_action_set_usb_mapping(struct pv_action *a, const char *id, char *const *entries, size_t n_entries,
                              const char *description, struct pv_error *err) {
        (void)err;
        struct pv_mapping_payload m = {
                .id = pv_xstrdup(id ? id : ""),
                .entries = dup_vec((const char *const *)entries, n_entries),
                .n_entries = n_entries,
                .description = pv_xstrdup(description),
                .usb = true,
        };
        return install(a, PV_PAYLOAD_MAPPING, &m, sizeof m, pv_xasprintf("usb-mapping:%s:%s", id ? id : "", verb_of(a)));
}

int pv_action_set_key(struct pv_action *a, const char *key, struct pv_error *err) {
        (void)err;
        char *k = pv_xstrdup(key ? key : "");
        free(a->key);
        a->key = k;
        return 0;
}

const struct pv_file_payload *pv_action_file(const struct pv_action *a) {
        return a->payload_kind == PV_PAYLOAD_FILE ? &a->payload.file : NULL;
}

const struct pv_command_payload *pv_action_command(const struct pv_action *a) {
        return a->payload_kind == PV_PAYLOAD_COMMAND ? &a->payload.command : NULL;
}

const struct pv_mapping_payload *pv_action_mapping(const struct pv_action *a) {
        return a->payload_kind == PV_PAYLOAD_MAPPING ? &a->payload.mapping : NULL;
}

const struct pv_vm_payload *pv_action_vm(const struct pv_action *a) {
        return a->payload_kind == PV_PAYLOAD_VM ? &a->payload.vm : NULL;
}

const struct pv_rebind_payload *pv_action_rebind(const struct pv_action *a) {
        return a->payload_kind == PV_PAYLOAD_REBIND ? &a->payload.rebind : NULL;
}

const struct pv_sriov_payload *pv_action_sriov(const struct pv_action *a) {
        return a->payload_kind == PV_PAYLOAD_SRIOV ? &a->payload.sriov : NULL;
}

int pv_plan_add_reboot(struct pv_plan *p, const char *node, const char *text, struct pv_error *err) {
        struct pv_reboot_reason rr = { .node = pv_xstrdup(node), .text = pv_xstrdup(text ? text : "") };
        p->reboots = pv_xreallocarray(p->reboots, p->n_reboots + 1, sizeof *p->reboots);
        char *full = node ? pv_xasprintf("%s: %s", node, rr.text) : pv_xstrdup(rr.text);
        int r = pv_plan_add_reboot_reason(p, full, err);
        if (r < 0) {
                free(rr.node);
                free(rr.text);
                return r;
        }
        p->reboots[p->n_reboots++] = rr;
        return 0;
}

struct pv_action *pv_plan_find_key(struct pv_plan *p, const char *node, const char *key) {
        for (size_t i = 0; key && i < p->n; i++) {
                struct pv_action *a = &p->actions[i];
                if (a->key && !strcmp(a->key, key) && !strcmp(a->node ? a->node : "", node ? node : ""))
                        return a;
        }
        return NULL;
}

/* ------------------------------------------------------------ change markers and counts */

enum pv_change pv_action_change(const struct pv_action *a) {
        switch (a->kind) {
        case PV_ACT_CREATE_MAPPING:
        case PV_ACT_CREATE_VM:
                return PV_CHANGE_ADD;
        case PV_ACT_DELETE_MAPPING:
        case PV_ACT_DELETE_VM:
        case PV_ACT_REMOVE_FILE:
                return PV_CHANGE_REMOVE;
        case PV_ACT_WRITE_FILE:
        case PV_ACT_INSTALL_FILE:
                return a->before ? PV_CHANGE_MODIFY : PV_CHANGE_ADD;
        default:
                return PV_CHANGE_MODIFY;
        }
}

const char *pv_action_group(const struct pv_action *a) {
        if (pv_action_is_host(a->kind))
                return "host";
        if (a->kind >= PV_ACT_CREATE_MAPPING && a->kind <= PV_ACT_DELETE_MAPPING)
                return "mapping";
        return "vm";
}

void pv_plan_counts(const struct pv_plan *plan, struct pv_plan_counts *c) {
        memset(c, 0, sizeof *c);
        for (size_t i = 0; i < plan->n; i++) {
                const struct pv_action *a = &plan->actions[i];
                if (a->blocked) {
                        c->blocked++;
                        continue;
                }
                enum pv_change m = pv_action_change(a);
                if (m == PV_CHANGE_ADD)
                        c->add++;
                else if (m == PV_CHANGE_REMOVE)
                        c->del++;
                else
                        c->change++;
                if (a->pending_until_restart)
                        c->pending_restart++;
                if (a->status == PV_ACT_FAILED)
                        c->failed++;
                if (a->status == PV_ACT_DONE)
                        c->done++;
        }
}
