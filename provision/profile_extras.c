/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Profile loading for the VM keys of the rest of a passthrough setup
 * (issue 14): `tpm`, `affinity`, `hookscript`, `usb`, `looking_glass`, `evdev`. Typed like the other VM keys
 * (profile_parse.c calls pvp_type_vm_extras at the end of type_vm, so
 * defaults and templates apply), checked against the cluster's auth in
 * pvp_check_vm_extras, each problem at its key as FILE:LINE:COL.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pvfio/cleanup.h"
#include "pvfio/extras.h"
#include "profile_int.h"

/* ------------------------------------------------------------- helpers */


#define XERR(c, n, fmt, ...) pvp_diag((c), false, (n), "'%s' " fmt, (c)->path.buf, ##__VA_ARGS__)

static bool scalar(const struct ynode *v) {
        return v->kind == Y_SCALAR && v->stype != YS_NULL && v->len > 0;
}

static const char *shown(const struct ynode *v) {
        return scalar(v) ? v->text : pvp_ykind_name(v);
}

static char *xdup(struct pvp_ctx *c, const char *s) {
        char *d = strdup(s);
        if (!d)
                pvp_oom(c);
        return d;
}

static bool storage_ok(const char *s) {
        /* Proxmox pve-storage-id: [a-z][a-z0-9\-\_\.]*[a-z0-9] (case-insensitive) */
        size_t n = strlen(s);
        if (n < 2 || !((s[0] | 0x20) >= 'a' && (s[0] | 0x20) <= 'z'))
                return false;
        for (size_t i = 0; i < n; i++) {
                char ch = (char)(s[i] | 0x20);
                bool alnum = (ch >= 'a' && ch <= 'z') || (s[i] >= '0' && s[i] <= '9');
                if (!alnum && !(i + 1 < n && strchr("-_.", s[i])))
                        return false;
        }
        return true;
}

/* ------------------------------------------------------------------ tpm */

static const char *const tpm_keys[] = { "storage", "version", NULL };

static void type_tpm(struct pvp_ctx *c, const struct ynode *v, struct pv_vm *vm) {
        if (v->kind != Y_MAP) {
                XERR(c, v, "must be a mapping {storage: STORAGE, version: v2.0}, got %s%s%s", scalar(v) ? "'" : "",
                     shown(v), scalar(v) ? "'" : "");
                return;
        }
        for (size_t i = 0; i < v->n_pairs; i++) {
                const char *k = v->pairs[i].key->text;
                bool known = false;
                for (size_t j = 0; tpm_keys[j]; j++)
                        known |= strcmp(k, tpm_keys[j]) == 0;
                if (!known) {
                        _cleanup_free_ char *where = strdup(c->path.buf);
                        size_t mk = pvp_path_key(c, k);
                        const char *hint = pvp_suggest(k, tpm_keys);
                        pvp_diag(c, false, v->pairs[i].key, "unknown key '%.80s' in '%s'%s%s%s", k,
                                 where ? where : "tpm", hint ? "; did you mean '" : "", hint ? hint : "",
                                 hint ? "'?" : "");
                        pvp_path_pop(c, mk);
                }
        }
        struct pvp_scope s = { 0 };
        const struct ynode *x;
        char *storage = NULL, *version = NULL;
        if ((x = pvp_enter(c, v, "storage", &s))) {
                if (scalar(x) && storage_ok(x->text))
                        storage = xdup(c, x->text);
                else
                        XERR(c, x, "must be a storage id such as local-lvm, got %s%s%s", scalar(x) ? "'" : "",
                             shown(x), scalar(x) ? "'" : "");
                pvp_leave(c, &s);
        } else {
                pvp_diag(c, false, v, "'%s' is missing required key 'storage' (the storage for tpmstate0)",
                         c->path.buf);
        }
        if ((x = pvp_enter(c, v, "version", &s))) {
                /* YAML reads `2.0` as a number: accept it, and `v2.0` / `v1.2` as Proxmox spells them */
                const char *t = scalar(x) ? x->text : "";
                if (!strcmp(t, "v2.0") || !strcmp(t, "2.0"))
                        version = xdup(c, "v2.0");
                else if (!strcmp(t, "v1.2") || !strcmp(t, "1.2"))
                        version = xdup(c, "v1.2");
                else
                        XERR(c, x, "must be v2.0 or v1.2, got %s%s%s", scalar(x) ? "'" : "", shown(x),
                             scalar(x) ? "'" : "");
                pvp_leave(c, &s);
        } else {
                version = xdup(c, "v2.0");
        }
        if (storage && version) {
                free(vm->tpm_storage);
                free(vm->tpm_version);
                vm->tpm_storage = storage;
                vm->tpm_version = version;
        } else {
                free(storage);
                free(version);
        }
}

/* ------------------------------------------------------------- affinity */

static void type_affinity(struct pvp_ctx *c, const struct ynode *v, struct pv_vm *vm) {
        if (!scalar(v) || (v->stype != YS_STR && v->stype != YS_INT)) {
                XERR(c, v, "must be a host CPU list such as \"0-7\" or \"0-3,8-11\", got %s%s%s",
                     scalar(v) ? "'" : "", shown(v), scalar(v) ? "'" : "");
                return;
        }
        struct pv_error e = PV_ERROR_INIT;
        char *canon = NULL;
        if (pv_cpuset_normalize(v->text, &canon, &e) < 0) {
                if (e.code == PV_ENOMEM)
                        pvp_oom(c);
                else
                        XERR(c, v, "must be a host CPU list such as \"0-7\" or \"0-3,8-11\": %s", pv_error_message(&e));
                pv_error_done(&e);
                return;
        }
        free(vm->affinity);
        vm->affinity = canon;
}

/* ----------------------------------------------------------- hookscript */

/* STORAGE:snippets/NAME — Proxmox's check_hookscript wants a volume in a snippets directory. */
static bool hookscript_ok(const char *s) {
        const char *colon = strchr(s, ':');
        if (!colon)
                return false;
        _cleanup_free_ char *st = strndup(s, (size_t)(colon - s));
        if (!st || !storage_ok(st))
                return false;
        const char *rest = colon + 1;
        if (strncmp(rest, "snippets/", 9) != 0 || !rest[9])
                return false;
        for (const char *p = rest + 9; *p; p++)
                if (*p == '/' || *p == ',' || *p == ';' || *p == '=' || (unsigned char)*p <= ' ' || *p == 0x7f)
                        return false;
        return true;
}

static void type_hookscript(struct pvp_ctx *c, const struct ynode *v, struct pv_vm *vm) {
        if (!scalar(v) || !hookscript_ok(v->text)) {
                XERR(c, v, "must be a snippet volume such as local:snippets/gpu-hook.sh (STORAGE:snippets/NAME, "
                     "NAME without '/', ',', ';', '=' or blanks), got %s%s%s",
                     scalar(v) ? "'" : "", shown(v), scalar(v) ? "'" : "");
                return;
        }
        free(vm->hookscript);
        vm->hookscript = xdup(c, v->text);
}

/* ------------------------------------------------------------------ usb */

static const char *const usb_keys[] = { "host", "mapping", "usb3", "index", NULL };

static bool hexn(const char *s, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (!((s[i] >= '0' && s[i] <= '9') || ((s[i] | 0x20) >= 'a' && (s[i] | 0x20) <= 'f')))
                        return false;
        return true;
}

/*
 * A host USB device as qemu-server's pve-qm-usb `host` takes it (QemuServer/USB.pm $USB_ID_RE,
 * $USB_PATH_RE): "[0x]VVVV:[0x]PPPP" → "vvvv:pppp", "BUS-PORT[.PORT…]" (decimal), or "spice".
 * NULL when it is none of them.
 */
static char *usb_host_canon(const char *t) {
        if (!strcasecmp(t, "spice"))
                return strdup("spice");
        const char *colon = strchr(t, ':');
        if (colon) {
                const char *v = t, *p = colon + 1;
                if (!strncasecmp(v, "0x", 2))
                        v += 2;
                if (!strncasecmp(p, "0x", 2))
                        p += 2;
                if (colon - v != 4 || strlen(p) != 4 || !hexn(v, 4) || !hexn(p, 4))
                        return NULL;
                char *r = NULL;
                if (asprintf(&r, "%.4s:%.4s", v, p) < 0)
                        return NULL;
                for (char *q = r; *q; q++)
                        *q = (char)(*q >= 'A' && *q <= 'F' ? *q | 0x20 : *q);
                return r;
        }
        /* BUS-PORT(.PORT)*: digits, one '-', then digit groups separated by single dots */
        return pvp_usb_path_ok(t) ? strdup(t) : NULL;
}

static void type_usbdev(struct pvp_ctx *c, const struct ynode *m, struct pv_usbdev *u) {
        u->usb3 = -1;
        u->index = -1;
        u->loc = (struct pv_loc){ c->p->file, m->line, m->col };
        if (m->kind != Y_MAP) {
                XERR(c, m, "must be a mapping such as {host: 046d:c52b} or {mapping: ID}, got %s%s%s",
                     scalar(m) ? "'" : "", shown(m), scalar(m) ? "'" : "");
                return;
        }
        _cleanup_free_ char *where = strdup(c->path.buf);
        for (size_t i = 0; i < m->n_pairs; i++) {
                const char *k = m->pairs[i].key->text;
                bool known = false;
                for (size_t j = 0; usb_keys[j]; j++)
                        known |= strcmp(k, usb_keys[j]) == 0;
                if (!known) {
                        size_t mk = pvp_path_key(c, k);
                        const char *hint = pvp_suggest(k, usb_keys);
                        pvp_diag(c, false, m->pairs[i].key, "unknown key '%.80s' in '%s'%s%s%s", k,
                                 where ? where : "usb", hint ? "; did you mean '" : "", hint ? hint : "",
                                 hint ? "'?" : "");
                        pvp_path_pop(c, mk);
                }
        }
        bool has_host = pvp_ymap_find(m, "host") != NULL, has_map = pvp_ymap_find(m, "mapping") != NULL;
        if (has_host == has_map)
                pvp_diag(c, false, m, "'%s' must name its device with exactly one of 'host' or 'mapping'",
                         c->path.buf);
        struct pvp_scope s = { 0 };
        const struct ynode *v;
        if ((v = pvp_enter(c, m, "host", &s))) {
                char *h = scalar(v) ? usb_host_canon(v->text) : NULL;
                if (!h)
                        XERR(c, v, "must be a USB device VENDOR:PRODUCT (4+4 hex digits, e.g. 046d:c52b), a port "
                             "BUS-PORT[.PORT…] (e.g. 1-2.3, see 'pvfio host scan --usb') or spice, got %s%s%s",
                             scalar(v) ? "'" : "", shown(v), scalar(v) ? "'" : "");
                else if (has_map)
                        free(h);
                else
                        u->host = h;
                pvp_leave(c, &s);
        }
        if ((v = pvp_enter(c, m, "mapping", &s))) {
                /* pve-configid: [a-z][a-z0-9_-]+ (case-insensitive) */
                const char *t = scalar(v) ? v->text : "";
                bool ok = strlen(t) >= 2 && ((t[0] | 0x20) >= 'a' && (t[0] | 0x20) <= 'z');
                for (const char *q = t; ok && *q; q++)
                        ok = ((*q | 0x20) >= 'a' && (*q | 0x20) <= 'z') || (*q >= '0' && *q <= '9') || *q == '_' ||
                             *q == '-';
                if (!ok)
                        XERR(c, v, "must be a mapping id (a letter, then letters, digits, '_', '-'), got %s%s%s",
                             scalar(v) ? "'" : "", shown(v), scalar(v) ? "'" : "");
                else if (!has_host)
                        u->mapping = xdup(c, t);
                pvp_leave(c, &s);
        }
        if ((v = pvp_enter(c, m, "usb3", &s))) {
                if (v->kind == Y_SCALAR && v->stype == YS_BOOL)
                        u->usb3 = v->bval ? 1 : 0;
                else
                        XERR(c, v, "must be true or false, got %s%s%s", scalar(v) ? "'" : "", shown(v),
                             scalar(v) ? "'" : "");
                pvp_leave(c, &s);
        }
        if ((v = pvp_enter(c, m, "index", &s))) {
                if (v->kind == Y_SCALAR && v->stype == YS_INT && !v->int_overflow && v->ival >= 0 &&
                    v->ival < PV_MAX_USB)
                        u->index = (int)v->ival;
                else
                        XERR(c, v, "must be an integer 0-%d (the N of usbN), got %s%s%s", PV_MAX_USB - 1,
                             scalar(v) ? "'" : "", shown(v), scalar(v) ? "'" : "");
                pvp_leave(c, &s);
        }
}

static void type_usb(struct pvp_ctx *c, const struct ynode *v, struct pv_vm *vm) {
        if (v->kind != Y_SEQ) {
                XERR(c, v, "must be a list of USB devices, got %s%s%s", scalar(v) ? "'" : "", shown(v),
                     scalar(v) ? "'" : "");
                return;
        }
        for (size_t i = 0; i < vm->n_usb; i++) {
                free(vm->usb[i].host);
                free(vm->usb[i].mapping);
        }
        free(vm->usb);
        vm->usb = NULL;
        vm->n_usb = 0;
        if (!v->n_items)
                return;
        if (!(vm->usb = calloc(v->n_items, sizeof *vm->usb))) {
                pvp_oom(c);
                return;
        }
        for (size_t i = 0; i < v->n_items && !c->stop; i++) {
                size_t mk = pvp_path_idx(c, i);
                type_usbdev(c, v->items[i], &vm->usb[vm->n_usb++]);
                if (i == PV_MAX_USB)
                        pvp_diag(c, false, v->items[i],
                                 "'%s' is one USB device too many: Proxmox allows at most %d per VM (usb0..%d)",
                                 c->path.buf, PV_MAX_USB, PV_MAX_USB - 1);
                pvp_path_pop(c, mk);
        }
        /* fixed indexes are unique */
        for (size_t i = 0; i < vm->n_usb; i++)
                for (size_t j = 0; j < i; j++)
                        if (vm->usb[i].index >= 0 && vm->usb[i].index == vm->usb[j].index) {
                                size_t mk = pvp_path_idx(c, i);
                                pvp_diag(c, false, v->items[i], "'%s' uses index %d, which usb[%zu] already has",
                                         c->path.buf, vm->usb[i].index, j);
                                pvp_path_pop(c, mk);
                        }
}

/* ------------------------------------------------------- looking glass */

static const char *const lg_keys[] = { "width", "height", "size", "owner", "path", NULL };

/* Report keys of mapping m not in known, as check_keys does ("unknown key 'k' in 'path'"). */
static void unknown_keys(struct pvp_ctx *c, const struct ynode *m, const char *const *known) {
        _cleanup_free_ char *where = strdup(c->path.buf);
        for (size_t i = 0; i < m->n_pairs; i++) {
                const char *k = m->pairs[i].key->text;
                bool ok = false;
                for (size_t j = 0; known[j]; j++)
                        ok |= strcmp(k, known[j]) == 0;
                if (ok)
                        continue;
                size_t mk = pvp_path_key(c, k);
                const char *hint = pvp_suggest(k, known);
                pvp_diag(c, false, m->pairs[i].key, "unknown key '%.80s' in '%s'%s%s%s", k, where ? where : "",
                         hint ? "; did you mean '" : "", hint ? hint : "", hint ? "'?" : "");
                pvp_path_pop(c, mk);
        }
}

static bool uint_of(const struct ynode *v, unsigned long min, unsigned long max, unsigned long *ret) {
        if (v->kind != Y_SCALAR || v->stype != YS_INT || v->int_overflow || v->ival < (long long)min ||
            v->ival > (long long)max)
                return false;
        *ret = (unsigned long)v->ival;
        return true;
}

/* "64M", "64MiB", "1G", 64 (MiB) → MiB; false when it is none of them. */
static bool lg_size(const struct ynode *v, uint64_t *ret) {
        if (!scalar(v))
                return false;
        char *end;
        unsigned long long n = strtoull(v->text, &end, 10);
        if (end == v->text || n == 0 || n > (1ull << 20))
                return false;
        while (*end == ' ')
                end++;
        if (!*end || !strcasecmp(end, "M") || !strcasecmp(end, "MiB"))
                *ret = n;
        else if (!strcasecmp(end, "G") || !strcasecmp(end, "GiB"))
                *ret = n * 1024;
        else
                return false;
        return true;
}

/* A user name as useradd takes it (and tmpfiles.d needs without quoting). */
static bool user_ok(const char *s) {
        size_t n = strlen(s);
        if (!n || n > 32 || !((s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
                return false;
        for (size_t i = 1; i < n; i++)
                if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-'))
                        return false;
        return true;
}

/* A path QEMU can take inside a property list (no ',') and tmpfiles.d inside a line (no blanks). */
static bool qemu_path_ok(const char *s, const char *prefix) {
        if (strncmp(s, prefix, strlen(prefix)) != 0 || !s[strlen(prefix)] || strstr(s, "/..") || strlen(s) > 255)
                return false;
        for (const char *p = s; *p; p++)
                if ((unsigned char)*p <= ' ' || *p == ',' || *p == '"' || *p == '\'' || *p == '\\' || *p == 0x7f)
                        return false;
        return true;
}

#define GOTX(x) scalar(x) ? "'" : "", shown(x), scalar(x) ? "'" : ""

static void type_looking_glass(struct pvp_ctx *c, const struct ynode *v, struct pv_vm *vm) {
        if (v->kind != Y_MAP) {
                XERR(c, v, "must be a mapping {width: W, height: H} or {size: 64M}, got %s%s%s", GOTX(v));
                return;
        }
        unknown_keys(c, v, lg_keys);
        const struct ypair *w = pvp_ymap_find(v, "width"), *h = pvp_ymap_find(v, "height"),
                          *sz = pvp_ymap_find(v, "size");
        bool ok = true;
        uint64_t mib = 0;
        if (sz && (w || h)) {
                pvp_diag(c, false, sz->key, "'%s' takes either width and height or size, not both", c->path.buf);
                ok = false;
        } else if (!sz && (!w || !h)) {
                pvp_diag(c, false, v, "'%s' needs width and height (the guest's resolution) or size", c->path.buf);
                ok = false;
        }
        struct pvp_scope s = { 0 };
        const struct ynode *x;
        unsigned long wv = 0, hv = 0;
        if ((x = pvp_enter(c, v, "width", &s))) {
                if (!uint_of(x, 320, 16384, &wv)) {
                        XERR(c, x, "must be a width in pixels 320-16384, got %s%s%s", GOTX(x));
                        ok = false;
                }
                pvp_leave(c, &s);
        }
        if ((x = pvp_enter(c, v, "height", &s))) {
                if (!uint_of(x, 200, 16384, &hv)) {
                        XERR(c, x, "must be a height in pixels 200-16384, got %s%s%s", GOTX(x));
                        ok = false;
                }
                pvp_leave(c, &s);
        }
        if ((x = pvp_enter(c, v, "size", &s))) {
                if (!lg_size(x, &mib) || (mib & (mib - 1)) || mib < 2) {
                        XERR(c, x, "must be a power of two in MiB such as 32M, 64M or 128M (IVSHMEM needs it), got "
                             "%s%s%s", GOTX(x));
                        ok = false;
                }
                pvp_leave(c, &s);
        }
        char *owner = NULL, *path = NULL;
        if ((x = pvp_enter(c, v, "owner", &s))) {
                if (scalar(x) && user_ok(x->text))
                        owner = xdup(c, x->text);
                else {
                        XERR(c, x, "must be the user name the Looking Glass client runs as, got %s%s%s", GOTX(x));
                        ok = false;
                }
                pvp_leave(c, &s);
        }
        if ((x = pvp_enter(c, v, "path", &s))) {
                if (scalar(x) && qemu_path_ok(x->text, "/dev/shm/"))
                        path = xdup(c, x->text);
                else {
                        XERR(c, x, "must be a file under /dev/shm/ without ',', quotes or blanks, got %s%s%s",
                             GOTX(x));
                        ok = false;
                }
                pvp_leave(c, &s);
        }
        if (!ok) {
                free(owner);
                free(path);
                return;
        }
        free(vm->lg_owner);
        free(vm->lg_path);
        vm->looking_glass = true;
        vm->lg_size_mib = sz ? mib : pv_lg_size_mib((unsigned)wv, (unsigned)hv);
        vm->lg_owner = owner;
        vm->lg_path = path ? path : xdup(c, PV_LG_DEFAULT_PATH);
        vm->lg_loc = (struct pv_loc){ c->p->file, v->line, v->col };
}

/* --------------------------------------------------------------- evdev */

static const char *const evdev_keys[] = { "device", "grab_all", "repeat", NULL };

static bool ends_with(const char *s, const char *suffix) {
        size_t a = strlen(s), b = strlen(suffix);
        return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* A name under /dev/input/by-id/ or a path under /dev/input/ → the path, or NULL. */
static char *evdev_path(const char *t) {
        if (t[0] == '/')
                return qemu_path_ok(t, "/dev/input/") ? strdup(t) : NULL;
        if (strchr(t, '/') || !strcmp(t, ".") || !strcmp(t, ".."))
                return NULL;
        char *p = NULL;
        if (asprintf(&p, "/dev/input/by-id/%s", t) < 0)
                return NULL;
        if (!qemu_path_ok(p, "/dev/input/")) {
                free(p);
                return NULL;
        }
        return p;
}

static bool flag(struct pvp_ctx *c, const struct ynode *m, const char *key, bool *out) {
        struct pvp_scope s = { 0 };
        const struct ynode *x = pvp_enter(c, m, key, &s);
        if (!x)
                return false;
        if (x->kind == Y_SCALAR && x->stype == YS_BOOL)
                *out = x->bval;
        else
                XERR(c, x, "must be true or false, got %s%s%s", GOTX(x));
        pvp_leave(c, &s);
        return true;
}

static void type_evdev_item(struct pvp_ctx *c, const struct ynode *m, struct pv_evdev *e) {
        e->loc = (struct pv_loc){ c->p->file, m->line, m->col };
        const struct ynode *dev = m;
        size_t mk = c->path.len;
        if (m->kind == Y_MAP) {
                unknown_keys(c, m, evdev_keys);
                const struct ypair *d = pvp_ymap_find(m, "device");
                if (!d) {
                        pvp_diag(c, false, m, "'%s' is missing required key 'device'", c->path.buf);
                        return;
                }
                dev = d->value;
                mk = pvp_path_key(c, "device");
        }
        char *path = scalar(dev) ? evdev_path(dev->text) : NULL;
        if (!path)
                XERR(c, dev, "must be an input device: a name in /dev/input/by-id (see 'pvfio host scan --input', "
                     "e.g. usb-Logitech_USB_Receiver-event-kbd) or a path under /dev/input/, without ',', quotes or "
                     "blanks, got %s%s%s", GOTX(dev));
        pvp_path_pop(c, mk);
        if (!path)
                return;
        e->path = path;
        e->grab_all = e->repeat = ends_with(path, "-event-kbd");
        if (m->kind == Y_MAP) {
                flag(c, m, "grab_all", &e->grab_all);
                flag(c, m, "repeat", &e->repeat);
        }
}

static void free_evdev(struct pv_vm *vm) {
        for (size_t i = 0; i < vm->n_evdev; i++)
                free(vm->evdev[i].path);
        free(vm->evdev);
        vm->evdev = NULL;
        vm->n_evdev = 0;
}

static void type_evdev(struct pvp_ctx *c, const struct ynode *v, struct pv_vm *vm) {
        if (v->kind != Y_SEQ) {
                XERR(c, v, "must be a list of input devices, got %s%s%s", GOTX(v));
                return;
        }
        free_evdev(vm);
        if (!v->n_items)
                return;
        if (!(vm->evdev = calloc(v->n_items, sizeof *vm->evdev))) {
                pvp_oom(c);
                return;
        }
        for (size_t i = 0; i < v->n_items && !c->stop; i++) {
                size_t mk = pvp_path_idx(c, i);
                struct pv_evdev e = { 0 };
                type_evdev_item(c, v->items[i], &e);
                if (e.path) {
                        for (size_t j = 0; j < vm->n_evdev; j++)
                                if (!strcmp(vm->evdev[j].path, e.path))
                                        pvp_diag(c, false, v->items[i], "'%s' names '%s' a second time",
                                                 c->path.buf, e.path);
                        vm->evdev[vm->n_evdev++] = e;
                }
                pvp_path_pop(c, mk);
        }
}

/* ---------------------------------------------------------------- entry */

void pvp_type_vm_extras(struct pvp_ctx *c, const struct ynode *m, struct pv_vm *vm) {
        static const struct {
                const char *key;
                void (*type)(struct pvp_ctx *c, const struct ynode *v, struct pv_vm *vm);
        } keys[] = {
                { "tpm", type_tpm },       { "affinity", type_affinity },           { "hookscript", type_hookscript },
                { "usb", type_usb },       { "looking_glass", type_looking_glass }, { "evdev", type_evdev },
        };
        for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
                struct pvp_scope s = { 0 };
                const struct ynode *v = pvp_enter(c, m, keys[i].key, &s);
                if (v) {
                        keys[i].type(c, v, vm);
                        pvp_leave(c, &s);
                }
        }
}

void pvp_type_host_extras(struct pvp_ctx *c, const struct ynode *m, struct pv_host_spec *h) {
        struct pvp_scope s = { 0 };
        const struct ynode *v;
        if ((v = pvp_enter(c, m, "hugepages_margin", &s))) {
                unsigned long n;
                if (uint_of(v, 0, 4096, &n))
                        h->hugepages_margin = (unsigned)n;
                else
                        XERR(c, v, "must be a number of 1 GiB pages 0-4096, got %s%s%s", GOTX(v));
                pvp_leave(c, &s);
        }
        flag(c, m, "vendor_reset", &h->vendor_reset);
        pvp_type_host_romfiles(c, m, h);
}

void pvp_vm_extras_done(struct pv_vm *vm) {
        free(vm->tpm_storage);
        free(vm->tpm_version);
        free(vm->affinity);
        free(vm->hookscript);
        vm->tpm_storage = vm->tpm_version = vm->affinity = vm->hookscript = NULL;
        for (size_t i = 0; i < vm->n_usb; i++) {
                free(vm->usb[i].host);
                free(vm->usb[i].mapping);
        }
        free(vm->usb);
        vm->usb = NULL;
        vm->n_usb = 0;
        free(vm->lg_path);
        free(vm->lg_owner);
        vm->lg_path = vm->lg_owner = NULL;
        vm->looking_glass = false;
        free_evdev(vm);
}

/* --------------------------------------------------------------- checks */

/* Report at `key` of the merged VM mapping m with the path "vms[i].key". */
static void at(struct pvp_ctx *c, bool warning, size_t idx, const struct ynode *m, const char *key, const char *fmt,
               ...) PV_PRINTF(6, 7);
static void at(struct pvp_ctx *c, bool warning, size_t idx, const struct ynode *m, const char *key, const char *fmt,
               ...) {
        const struct ypair *p = pvp_ymap_find(m, key);
        va_list ap;
        char *msg = NULL;
        va_start(ap, fmt);
        if (vasprintf(&msg, fmt, ap) < 0)
                msg = NULL;
        va_end(ap);
        _cleanup_free_ char *path = NULL;
        if (!msg || asprintf(&path, "vms[%zu].%s", idx, key) < 0) {
                free(msg);
                pvp_oom(c);
                return;
        }
        const struct ynode *n = p ? p->key : m;
        pvp_diag_at(c, warning, n ? n->line : 1, n ? n->col : 1, path, "%s", msg);
        free(msg);
}

static bool root_session(const struct pv_cluster *cl) {
        return !(cl->auth == PV_AUTH_TOKEN ||
                 (cl->auth == PV_AUTH_PASSWORD && cl->user && strcmp(cl->user, "root@pam") != 0));
}

/* Proxmox's check_vm_modify_config_perm (qemu-server API2/Qemu.pm) refuses keys it has no
 * privilege class for to everyone but root@pam: "only root can set '<key>' config". */
#define ROOT_ONLY(key)                                                                                                \
        "'" key "' needs a root@pam password session: Proxmox lets only root@pam set it (an API token, even "       \
        "root@pam!tok, is refused with 'only root can set '" key "' config'); switch cluster.auth to 'user: "        \
        "root@pam' or drop '" key "'"

void pvp_check_vm_extras(struct pvp_ctx *c) {
        const struct pv_profile *p = c->p;
        if (!c->vm_src)
                return;
        for (size_t i = 0; i < p->n_vms && !c->stop; i++) {
                const struct pv_vm *vm = &p->vms[i];
                const struct pvp_vm_src *src = &c->vm_src[i];
                if (!src->map || vm->state == PV_STATE_ABSENT)
                        continue;
                if (!root_session(&p->cluster)) {
                        if (vm->affinity)
                                at(c, false, src->idx, src->map, "affinity", ROOT_ONLY("affinity"));
                        if (vm->hookscript)
                                at(c, false, src->idx, src->map, "hookscript", ROOT_ONLY("hookscript"));
                }
                for (size_t k = 0; k < vm->n_usb; k++) {
                        const struct pv_usbdev *u = &vm->usb[k];
                        if (!u->host || !strcmp(u->host, "spice") || root_session(&p->cluster))
                                continue;
                        _cleanup_free_ char *path = NULL;
                        if (asprintf(&path, "vms[%zu].usb[%zu].host", src->idx, k) < 0) {
                                pvp_oom(c);
                                return;
                        }
                        /* qemu-server API2/Qemu.pm check_usb_perm */
                        pvp_diag_at(c, false, u->loc.line, u->loc.col, path,
                                    "raw USB device '%s' needs a root@pam password session: Proxmox refuses it to "
                                    "others (an API token, even root@pam!tok) with 'only root can set 'usbN' config "
                                    "for real devices'; use a cluster USB mapping ('mapping: ID') or switch "
                                    "cluster.auth to 'user: root@pam'",
                                    u->host);
                }
                if (!root_session(&p->cluster))
                        for (size_t k = 0; k < 2; k++) {
                                const char *key = k ? "evdev" : "looking_glass";
                                if (k ? !vm->n_evdev : !vm->looking_glass)
                                        continue;
                                at(c, false, src->idx, src->map, key,
                                   "'%s' goes into the VM's 'args', which needs a root@pam password session: "
                                   "Proxmox lets only root@pam set it (an API token, even root@pam!tok, is refused "
                                   "with 'only root can set 'args' config'); switch cluster.auth to 'user: root@pam' "
                                   "or drop '%s'",
                                   key, key);
                        }
                for (size_t j = 0; vm->looking_glass && j < i; j++) {
                        const struct pv_vm *o = &p->vms[j];
                        if (o->looking_glass && o->node && vm->node && !strcmp(o->node, vm->node) &&
                            o->state != PV_STATE_ABSENT && !strcmp(o->lg_path, vm->lg_path))
                                at(c, false, src->idx, src->map, "looking_glass",
                                   "vm '%s' uses the shared memory file '%s' of vm '%s' on node '%s': give each "
                                   "Looking Glass VM its own 'path' (e.g. /dev/shm/looking-glass-%s)",
                                   vm->name, vm->lg_path, o->name, vm->node, vm->name);
                }
                if (vm->ostype && !strcmp(vm->ostype, "win11")) {
                        if (!vm->tpm_storage)
                                at(c, true, src->idx, src->map, "ostype",
                                   "'ostype: win11' without 'tpm': Windows 11 setup requires a TPM 2.0; add "
                                   "'tpm: {storage: STORAGE, version: v2.0}'");
                        else if (strcmp(vm->tpm_version, "v2.0") != 0)
                                at(c, true, src->idx, src->map, "tpm",
                                   "TPM version %s with 'ostype: win11': Windows 11 requires v2.0, and Proxmox cannot "
                                   "change the version of an existing TPM state",
                                   vm->tpm_version);
                }
        }
}
