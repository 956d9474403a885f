/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Profile loading for cluster USB resource mappings (`usb_mappings:`, issue 14), the
 * counterpart of `mappings:` for /cluster/mapping/usb. The format follows
 * pve-guest-common PVE/Mapping/USB.pm: an id (pve-configid), a description and per-node
 * `map` entries {node, id: VENDOR:PRODUCT, path: BUS-PORT[.PORT…], description}; Proxmox
 * requires `id`, pvfio fills it from the node's hardware when only a path is written.
 * The checks tie VMs' `usb: - mapping: ID` entries to these mappings, each problem at its
 * key as FILE:LINE:COL.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pvfio/cleanup.h"
#include "pvfio/xalloc.h"
#include "profile_int.h"

const char *const pvp_usb_mapping_keys[] = { "id", "description", "map", NULL };
const char *const pvp_usb_map_entry_keys[] = { "node", "id", "path", "description", NULL };

#define UERR(c, n, fmt, ...) pvp_diag((c), false, (n), "'%s' " fmt, (c)->path.buf, ##__VA_ARGS__)

static bool scalar(const struct ynode *v) {
        return v->kind == Y_SCALAR && v->stype != YS_NULL && v->len > 0;
}

static const char *shown(const struct ynode *v) {
        return scalar(v) ? v->text : pvp_ykind_name(v);
}

static bool alnum_c(char ch) {
        return (ch >= '0' && ch <= '9') || ((ch | 0x20) >= 'a' && (ch | 0x20) <= 'z');
}

static bool hex4(const char *s) {
        for (int i = 0; i < 4; i++)
                if (!((s[i] >= '0' && s[i] <= '9') || ((s[i] | 0x20) >= 'a' && (s[i] | 0x20) <= 'f')))
                        return false;
        return true;
}

/* pve-configid: ^[a-z][a-z0-9_-]+$ (case-insensitive) */
bool pvp_usb_configid_ok(const char *s) {
        size_t n = strlen(s);
        if (n < 2 || !((s[0] | 0x20) >= 'a' && (s[0] | 0x20) <= 'z'))
                return false;
        for (size_t i = 0; i < n; i++)
                if (!alnum_c(s[i]) && s[i] != '_' && s[i] != '-')
                        return false;
        return true;
}

/* pve-node: ^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?$, at most 63 characters */
static bool node_ok(const char *s) {
        size_t n = strlen(s);
        if (!n || n > 63 || !alnum_c(s[0]) || !alnum_c(s[n - 1]))
                return false;
        for (size_t i = 0; i < n; i++)
                if (!alnum_c(s[i]) && s[i] != '-')
                        return false;
        return true;
}

/* $map_fmt id: ^[0-9A-Fa-f]{4}:[0-9A-Fa-f]{4}$ → "vvvv:pppp" lower-case (sysfs writes lower-case, and
 * PVE::Mapping::USB::assert_valid compares the strings), or NULL. */
char *pvp_usb_id_canon(const char *t) {
        if (strlen(t) != 9 || t[4] != ':' || !hex4(t) || !hex4(t + 5))
                return NULL;
        char *r = pv_xstrdup(t);
        for (char *q = r; *q; q++)
                if (*q >= 'A' && *q <= 'F')
                        *q = (char)(*q | 0x20);
        return r;
}

/* $map_fmt path: ^(\d+)\-(\d+(\.\d+)*)$ */
bool pvp_usb_path_ok(const char *t) {
        const char *dash = strchr(t, '-');
        if (!dash || dash == t || strlen(t) > 64)
                return false;
        for (const char *q = t; q < dash; q++)
                if (*q < '0' || *q > '9')
                        return false;
        bool digit = false;
        for (const char *q = dash + 1; *q; q++) {
                if (*q >= '0' && *q <= '9')
                        digit = true;
                else if (*q == '.' && digit)
                        digit = false;
                else
                        return false;
        }
        return digit;
}

static void unknown_keys(struct pvp_ctx *c, const struct ynode *m, const char *const *known, const char *where) {
        for (size_t i = 0; i < m->n_pairs; i++) {
                const char *k = m->pairs[i].key->text;
                bool ok = false;
                for (size_t j = 0; known[j] && !ok; j++)
                        ok = strcmp(k, known[j]) == 0;
                if (ok)
                        continue;
                size_t mk = pvp_path_key(c, k);
                const char *hint = pvp_suggest(k, known);
                pvp_diag(c, false, m->pairs[i].key, "unknown key '%.80s' in '%s'%s%s%s", k, where,
                         hint ? "; did you mean '" : "", hint ? hint : "", hint ? "'?" : "");
                pvp_path_pop(c, mk);
        }
}

/* A string key of m typed with `ok`; *ret replaced. */
static void str_key(struct pvp_ctx *c, const struct ynode *m, const char *key, bool (*ok)(const char *),
                    const char *what, char **ret) {
        struct pvp_scope s = { 0 };
        const struct ynode *v = pvp_enter(c, m, key, &s);
        if (!v)
                return;
        if (!scalar(v) || (ok && !ok(v->text)))
                UERR(c, v, "must be %s, got %s%s%s", what, scalar(v) ? "'" : "", shown(v), scalar(v) ? "'" : "");
        else {
                free(*ret);
                *ret = pv_xstrdup(v->text);
        }
        pvp_leave(c, &s);
}

static bool description_ok(const char *s) {
        return strlen(s) <= 4096 && !strpbrk(s, "\r\n");
}

/* A map entry's description goes into a property string: no ',' or '"' either. */
static bool entry_description_ok(const char *s) {
        return description_ok(s) && !strpbrk(s, ",\"");
}

static void type_entry(struct pvp_ctx *c, const struct ynode *m, struct pv_usb_map_entry *e) {
        e->loc = (struct pv_loc){ c->p->file, m->line, m->col };
        if (m->kind != Y_MAP) {
                UERR(c, m, "must be a mapping {node: NODE, path: BUS-PORT} or {node: NODE, id: VENDOR:PRODUCT}, got "
                     "%s%s%s", scalar(m) ? "'" : "", shown(m), scalar(m) ? "'" : "");
                return;
        }
        _cleanup_free_ char *where = pv_xstrdup(c->path.buf);
        unknown_keys(c, m, pvp_usb_map_entry_keys, where);
        if (!pvp_ymap_find(m, "node"))
                pvp_diag(c, false, m, "'%s' is missing the required key 'node'", where);
        if (!pvp_ymap_find(m, "id") && !pvp_ymap_find(m, "path"))
                pvp_diag(c, false, m,
                         "'%s' must name its device with 'id' (VENDOR:PRODUCT), 'path' (BUS-PORT, the id is then read "
                         "from the node's hardware), or both",
                         where);
        str_key(c, m, "node", node_ok, "a node name (letters, digits, '-')", &e->node);
        struct pvp_scope s = { 0 };
        const struct ynode *v = pvp_enter(c, m, "id", &s);
        if (v) {
                char *id = scalar(v) ? pvp_usb_id_canon(v->text) : NULL;
                if (!id)
                        UERR(c, v, "must be a USB VENDOR:PRODUCT id (4+4 hex digits, e.g. 0d8c:0014; 'pvfio host scan "
                             "--usb' lists them), got %s%s%s", scalar(v) ? "'" : "", shown(v), scalar(v) ? "'" : "");
                free(e->id);
                e->id = id;
                pvp_leave(c, &s);
        }
        str_key(c, m, "path", pvp_usb_path_ok,
                "a USB port BUS-PORT[.PORT…] (decimal, e.g. 1-3.4; 'pvfio host scan --usb' lists them)", &e->path);
        str_key(c, m, "description", entry_description_ok,
                "a one-line description of at most 4096 characters without ',' or '\"'", &e->description);
}

static void type_usb_mapping(struct pvp_ctx *c, const struct ynode *m, struct pv_usb_mapping *mp) {
        mp->loc = (struct pv_loc){ c->p->file, m->line, m->col };
        if (m->kind != Y_MAP) {
                UERR(c, m, "must be a mapping {id: ID, map: [...]}, got %s%s%s", scalar(m) ? "'" : "", shown(m),
                     scalar(m) ? "'" : "");
                return;
        }
        _cleanup_free_ char *where = pv_xstrdup(c->path.buf);
        unknown_keys(c, m, pvp_usb_mapping_keys, where);
        if (!pvp_ymap_find(m, "id"))
                pvp_diag(c, false, m, "'%s' is missing the required key 'id'", where);
        if (!pvp_ymap_find(m, "map"))
                pvp_diag(c, false, m, "'%s' is missing the required key 'map' (Proxmox requires at least one entry)",
                         where);
        str_key(c, m, "id", pvp_usb_configid_ok,
                "an id of letters, digits, '-' and '_' starting with a letter (at least 2 characters)", &mp->id);
        str_key(c, m, "description", description_ok, "a one-line description of at most 4096 characters",
                &mp->description);
        struct pvp_scope s = { 0 };
        const struct ynode *v = pvp_enter(c, m, "map", &s);
        if (!v)
                return;
        if (v->kind != Y_SEQ || !v->n_items)
                UERR(c, v, "must be a non-empty list of node entries, got %s", pvp_ykind_name(v));
        else {
                mp->map = pv_xcalloc(v->n_items, sizeof *mp->map);
                for (size_t i = 0; i < v->n_items && !c->stop; i++) {
                        size_t mk = pvp_path_idx(c, i);
                        type_entry(c, v->items[i], &mp->map[mp->n_map++]);
                        pvp_path_pop(c, mk);
                }
        }
        pvp_leave(c, &s);
}

void pvp_type_usb_mappings(struct pvp_ctx *c, const struct ynode *v) {
        struct pv_profile *p = c->p;
        if (v->kind != Y_SEQ) {
                UERR(c, v, "must be a list of USB mappings, got %s", pvp_ykind_name(v));
                return;
        }
        if (!v->n_items)
                return;
        p->usb_mappings = pv_xcalloc(v->n_items, sizeof *p->usb_mappings);
        c->usb_mapping_src = pv_xcalloc(v->n_items, sizeof *c->usb_mapping_src);
        for (size_t i = 0; i < v->n_items && !c->stop; i++) {
                size_t mk = pvp_path_idx(c, i);
                c->usb_mapping_src[p->n_usb_mappings] = (struct pvp_item_src){ v->items[i], i };
                type_usb_mapping(c, v->items[i], &p->usb_mappings[p->n_usb_mappings++]);
                pvp_path_pop(c, mk);
        }
}

void pvp_usb_mappings_free(struct pv_profile *p) {
        for (size_t i = 0; i < p->n_usb_mappings; i++) {
                struct pv_usb_mapping *m = &p->usb_mappings[i];
                for (size_t k = 0; k < m->n_map; k++) {
                        free(m->map[k].node);
                        free(m->map[k].id);
                        free(m->map[k].path);
                        free(m->map[k].description);
                }
                free(m->map);
                free(m->id);
                free(m->description);
        }
        free(p->usb_mappings);
        p->usb_mappings = NULL;
        p->n_usb_mappings = 0;
}

const struct pv_usb_mapping *pv_profile_find_usb_mapping(const struct pv_profile *p, const char *id) {
        for (size_t i = 0; p && id && i < p->n_usb_mappings; i++)
                if (p->usb_mappings[i].id && strcmp(p->usb_mappings[i].id, id) == 0)
                        return &p->usb_mappings[i];
        return NULL;
}

/* ---------------------------------------------------------------- checks */

/* Report at `key` of mapping node m (or at m) with the key path "<fmt…>.key". */
static void at(struct pvp_ctx *c, const struct ynode *m, const char *key, const char *path, const char *msg) {
        const struct ypair *pr = m && m->kind == Y_MAP ? pvp_ymap_find(m, key) : NULL;
        const struct ynode *n = pr ? pr->key : m;
        _cleanup_free_ char *full = pv_xasprintf("%s.%s", path, key);
        pvp_diag_at(c, false, n ? n->line : 1, n ? n->col : 1, full, "%s", msg);
}

static void check_mappings(struct pvp_ctx *c) {
        const struct pv_profile *p = c->p;
        for (size_t i = 0; i < p->n_usb_mappings && !c->stop; i++) {
                const struct pv_usb_mapping *m = &p->usb_mappings[i];
                const struct pvp_item_src *src = &c->usb_mapping_src[i];
                _cleanup_free_ char *path = pv_xasprintf("usb_mappings[%zu]", src->idx);
                for (size_t j = 0; m->id && j < i; j++)
                        if (p->usb_mappings[j].id && strcmp(p->usb_mappings[j].id, m->id) == 0) {
                                _cleanup_free_ char *msg = pv_xasprintf(
                                        "USB mapping id '%s' is declared twice (also usb_mappings[%zu])", m->id,
                                        c->usb_mapping_src[j].idx);
                                at(c, src->map, "id", path, msg);
                        }
                const struct ypair *mp = src->map->kind == Y_MAP ? pvp_ymap_find(src->map, "map") : NULL;
                for (size_t k = 0; p->cluster.auth == PV_AUTH_TOKEN && k < m->n_map; k++) {
                        const struct pv_usb_map_entry *e = &m->map[k];
                        if (e->id || !e->path || !mp || mp->value->kind != Y_SEQ || k >= mp->value->n_items)
                                continue;
                        const struct ynode *en = mp->value->items[k];
                        const struct ypair *pp = en->kind == Y_MAP ? pvp_ymap_find(en, "path") : NULL;
                        const struct ynode *at_n = pp ? pp->key : en;
                        _cleanup_free_ char *key = pv_xasprintf("%s.map[%zu].path", path, k);
                        /* pve-manager PVE/API2/Hardware/USB.pm usbscan: Sys.Modify on / */
                        pvp_diag_at(c, true, at_n->line, at_n->col, key,
                                    "'%s' without 'id': pvfio reads the id at port '%s' from GET /nodes/%s/hardware/usb, "
                                    "which needs Sys.Modify on / (an API token rarely has it; without it the mapping "
                                    "is not written); add 'id: VENDOR:PRODUCT' ('pvfio host scan --usb' on the node)",
                                    key, e->path, e->node ? e->node : "NODE");
                }
                for (size_t k = 0; k < m->n_map; k++)
                        for (size_t j = 0; m->map[k].node && j < k; j++)
                                if (m->map[j].node && strcmp(m->map[j].node, m->map[k].node) == 0) {
                                        /* qemu-server QemuServer/USB.pm parse_usb_device */
                                        _cleanup_free_ char *ep = pv_xasprintf("%s.map[%zu]", path, k);
                                        _cleanup_free_ char *msg = pv_xasprintf(
                                                "USB mapping '%s' has a second entry for node '%s' (map[%zu]): Proxmox "
                                                "refuses to start a VM with it ('More than one USB mapping per host not "
                                                "supported'); keep one entry per node",
                                                m->id ? m->id : "", m->map[k].node, j);
                                        const struct ynode *e = mp && mp->value->kind == Y_SEQ &&
                                                                                k < mp->value->n_items
                                                                        ? mp->value->items[k]
                                                                        : src->map;
                                        at(c, e, "node", ep, msg);
                                        break;
                                }
        }
}

/* The YAML node of usb[k] of a merged VM mapping, or the VM mapping. */
static const struct ynode *usb_item(const struct ynode *vm, size_t k) {
        const struct ypair *pr = vm && vm->kind == Y_MAP ? pvp_ymap_find(vm, "usb") : NULL;
        if (pr && pr->value->kind == Y_SEQ && k < pr->value->n_items)
                return pr->value->items[k];
        return vm;
}

static void check_vm_refs(struct pvp_ctx *c) {
        const struct pv_profile *p = c->p;
        for (size_t i = 0; c->vm_src && i < p->n_vms && !c->stop; i++) {
                const struct pv_vm *vm = &p->vms[i];
                const struct pvp_vm_src *src = &c->vm_src[i];
                if (!src->map || vm->state == PV_STATE_ABSENT)
                        continue;
                for (size_t k = 0; k < vm->n_usb; k++) {
                        const struct pv_usbdev *u = &vm->usb[k];
                        if (!u->mapping)
                                continue;
                        _cleanup_free_ char *path = pv_xasprintf("vms[%zu].usb[%zu]", src->idx, k);
                        const struct pv_usb_mapping *m = pv_profile_find_usb_mapping(p, u->mapping);
                        _cleanup_free_ char *msg = NULL;
                        if (!m) {
                                const char *hint = NULL;
                                for (size_t j = 0; j < p->n_usb_mappings && !hint; j++)
                                        if (p->usb_mappings[j].id && !strcasecmp(p->usb_mappings[j].id, u->mapping))
                                                hint = p->usb_mappings[j].id;
                                msg = pv_xasprintf(
                                        "USB mapping '%s' does not exist; declare it under 'usb_mappings' ({id: %s, map: "
                                        "[{node: %s, path: BUS-PORT}]}), otherwise Proxmox refuses to start the VM "
                                        "('USB device mapping not found')%s%s%s",
                                        u->mapping, u->mapping, vm->node ? vm->node : "NODE",
                                        hint ? "; did you mean '" : "", hint ? hint : "", hint ? "'?" : "");
                        } else if (vm->node) {
                                bool found = false;
                                for (size_t j = 0; j < m->n_map && !found; j++)
                                        found = m->map[j].node && !strcmp(m->map[j].node, vm->node);
                                if (!found)
                                        msg = pv_xasprintf("USB mapping '%s' has no entry for node '%s'; Proxmox refuses "
                                                           "to start the VM ('USB device mapping not found')",
                                                           u->mapping, vm->node);
                        }
                        if (msg)
                                at(c, usb_item(src->map, k), "mapping", path, msg);
                }
        }
}

void pvp_check_usb_mappings(struct pvp_ctx *c) {
        if (c->usb_mapping_src)
                check_mappings(c);
        check_vm_refs(c);
}
