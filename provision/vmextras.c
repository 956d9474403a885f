/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The extra VM keys of issue 14 → Proxmox config keys:
 *   tpm        → tpmstate0 "STORAGE:1,version=v2.0" on create (Proxmox allocates a
 *                4 MiB volume: API2/Qemu.pm create_disks, TPMSTATE_DISK_SIZE); an
 *                existing TPM state keeps its observed value, a different storage
 *                or version is drift (the version cannot be changed later, and
 *                pvfio never recreates a TPM state: it holds the guest's keys);
 *   affinity   → affinity, the canonical CPU list (compared as a set);
 *   hookscript → hookscript, the snippet volume;
 *   usb        → usbN "host=VVVV:PPPP" / "host=BUS-PORT" / "mapping=ID" [,usb3=0|1];
 *   looking_glass, evdev → pvfio's words in `args` (the user's words are kept).
 * Keys Proxmox decides for itself are not owned here.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "pvfio/xalloc.h"
#include "pvfio/buf.h"
#include "pvfio/cleanup.h"
#include "pvfio/extras.h"
#include "pvfio/hostpci.h"
#include "pvfio/vmplan.h"
#include "vmextras.h"

/* ---------------------------------------------------------------- keys */

struct xkey {
        const char *name;
        bool deletable, hotplug;
};

/*
 * hookscript is one of qemu-server's $fast_plug_option; affinity and tpmstate0 wait for a
 * restart. None is deleted when the profile leaves it out: a hook script or pinning set by
 * hand on a VM pvfio manages stays (pvfio owns the value only while the profile sets it),
 * and a TPM state holds the guest's keys.
 */
static const struct xkey keys[] = {
        { "args", true, false }, /* emptied of pvfio's words and nothing else left: removed */
        { "tpmstate0", false, false },
        { "affinity", false, false },
        { "hookscript", false, true },
};

/*
 * usbN: the profile's `usb` list is the VM's USB devices, like `pci` for hostpciN, so a usbN
 * the profile does not produce is deleted. Proxmox hot-plugs USB with its default `hotplug`
 * (network,disk,usb).
 */
static const struct xkey usb_key = { "usbN", true, true };

/* "usb7" → 7 for usb0..usb13 written canonically, else -1. */
static int usb_index(const char *key) {
        if (!key || strncmp(key, "usb", 3) != 0)
                return -1;
        const char *p = key + 3;
        if (!(p[0] >= '0' && p[0] <= '9') || (p[0] == '0' && p[1]) || strlen(p) > 2)
                return -1;
        if (p[1] && !(p[1] >= '0' && p[1] <= '9'))
                return -1;
        int v = atoi(p);
        return v < PV_MAX_USB ? v : -1;
}

static const struct xkey *xkey_of(const char *key) {
        for (size_t i = 0; key && i < sizeof keys / sizeof keys[0]; i++)
                if (strcmp(keys[i].name, key) == 0)
                        return &keys[i];
        if (usb_index(key) >= 0)
                return &usb_key;
        return NULL;
}

/* ------------------------------------------------------------------ usb */

struct usbval {
        char *host;     /* canonical, or NULL */
        char *mapping;
        int usb3;       /* 0/1 (schema default 0) */
        bool other;     /* sub-keys pvfio does not know */
};

static void usbval_done(struct usbval *u) {
        free(u->host);
        free(u->mapping);
}

/* Canonical host: hex IDs lower-case without 0x; ports and spice as written (spice lower-case). */
static char *host_canon(const char *h) {
        const char *colon = strchr(h, ':');
        if (!colon) {
                char *r = strdup(h);
                if (r && !strcasecmp(r, "spice"))
                        strcpy(r, "spice");
                return r;
        }
        const char *v = h, *p = colon + 1;
        if (!strncasecmp(v, "0x", 2))
                v += 2;
        if (!strncasecmp(p, "0x", 2))
                p += 2;
        char *r = pv_asprintf(NULL, "%.*s:%s", (int)(colon - v), v, p);
        for (char *q = r; q && *q; q++)
                if (*q >= 'A' && *q <= 'F')
                        *q = (char)(*q | 0x20);
        return r;
}

static int usb_parse(const char *s, struct usbval *ret) {
        struct pv_props p;
        memset(ret, 0, sizeof *ret);
        if (pv_props_parse(s, true, &p, NULL) < 0)
                return -1;
        const char *h = pv_props_get(&p, NULL);
        h = h ? h : pv_props_get(&p, "host");
        const char *m = pv_props_get(&p, "mapping");
        const char *u3 = pv_props_get(&p, "usb3");
        ret->usb3 = u3 ? pv_parse_bool(u3) == 1 : 0;
        ret->host = h ? host_canon(h) : NULL;
        ret->mapping = m ? strdup(m) : NULL;
        for (size_t i = 0; i < p.n; i++)
                if (p.v[i].key && strcmp(p.v[i].key, "host") && strcmp(p.v[i].key, "mapping") &&
                    strcmp(p.v[i].key, "usb3"))
                        ret->other = true;
        pv_props_done(&p);
        return 0;
}

static bool str_same(const char *a, const char *b) {
        return a == b || (a && b && strcmp(a, b) == 0);
}

static bool usb_equal(const char *a, const char *b) {
        struct usbval x, y;
        if (usb_parse(a, &x) < 0)
                return strcmp(a, b) == 0;
        if (usb_parse(b, &y) < 0) {
                usbval_done(&x);
                return false;
        }
        bool eq = str_same(x.host, y.host) && str_same(x.mapping, y.mapping) && x.usb3 == y.usb3 &&
                  x.other == y.other;
        usbval_done(&x);
        usbval_done(&y);
        return eq;
}

/* The device an observed usbN value names is the profile entry's device (usb3 aside). */
static bool usb_same_device(const struct pv_usbdev *u, const char *have) {
        struct usbval v;
        if (!have || usb_parse(have, &v) < 0)
                return false;
        bool same = u->host ? str_same(u->host, v.host) && !v.mapping : str_same(u->mapping, v.mapping) && !v.host;
        usbval_done(&v);
        return same;
}

bool pvx_key_owned(const char *key) {
        return xkey_of(key) != NULL;
}

bool pvx_key_deletable(const char *key) {
        const struct xkey *k = xkey_of(key);
        return k && k->deletable;
}

bool pvx_key_hotpluggable(const char *key) {
        const struct xkey *k = xkey_of(key);
        return k && k->hotplug;
}

/*
 * Does Proxmox hot-plug a change of `key` into the running VM whose current config is cfg, or
 * does it stay pending until a restart? qemu-server's vmconfig_hotplug_pending: netN, disks and
 * usbN only with their family in the VM's `hotplug` (parse_hotplug_features: unset or "1" is
 * network,disk,usb; "0" none), and usbN only when the machine version is 7.1 or newer and the
 * ostype is l26 or Windows newer than 7 (is_usb_hotplug_supported).
 */
static bool hotplug_feature(const struct pv_vm_config *cfg, const char *feature) {
        const char *h = cfg ? pv_vm_config_get(cfg, "hotplug") : NULL;
        if (!h || !strcmp(h, "1"))
                h = "network,disk,usb";
        size_t n = strlen(feature);
        for (const char *p = h; *p;) {
                size_t len = strcspn(p, ",; \t");
                if (len == n && !strncmp(p, feature, n))
                        return true;
                p += len;
                p += strspn(p, ",; \t");
        }
        return false;
}

/* The machine version the VM runs: pinned in `machine` (pc-q35-6.2, pc-i440fx-7.0+pve1,
 * type=pc-q35-8.1,viommu=…; qemu-server's extract_version_parts), else the node's QEMU, which
 * is 7.1 or newer on every Proxmox VE release pvfio supports (7.3+ ships QEMU ≥ 7.1). */
static bool machine_at_least_7_1(const struct pv_vm_config *cfg) {
        const char *m = cfg ? pv_vm_config_get(cfg, "machine") : NULL;
        if (!m)
                return true;
        if (!strncmp(m, "type=", 5))
                m += 5;
        const char *v = NULL;
        if (!strncmp(m, "pc-q35-", 7))
                v = m + 7;
        else if (!strncmp(m, "pc-i440fx-", 10))
                v = m + 10;
        else if (!strncmp(m, "virt-", 5))
                v = m + 5;
        else if (!strncmp(m, "pc-", 3))
                v = m + 3;
        unsigned major, minor;
        if (!v || sscanf(v, "%u.%u", &major, &minor) != 2)
                return true;
        return major > 7 || (major == 7 && minor >= 1);
}

/* qemu-server's windows_version: win7 → 7, win11 → 11, w2k8/wvista → 6, wxp/w2k/w2k3 → 5, else 0. */
static unsigned windows_version(const char *ostype) {
        unsigned v;
        if (!ostype)
                return 0;
        if (!strcmp(ostype, "wxp") || !strcmp(ostype, "w2k3") || !strcmp(ostype, "w2k"))
                return 5;
        if (!strcmp(ostype, "w2k8") || !strcmp(ostype, "wvista"))
                return 6;
        if (!strncmp(ostype, "win", 3) && sscanf(ostype + 3, "%u", &v) == 1)
                return v;
        return 0;
}

static bool is_disk_key(const char *key) {
        static const char *const bus[] = { "scsi", "virtio", "sata", NULL };
        for (size_t i = 0; bus[i]; i++) {
                size_t n = strlen(bus[i]);
                if (!strncmp(key, bus[i], n) && key[n] >= '0' && key[n] <= '9')
                        return true;
        }
        return false;
}

bool pv_vmconfig_key_hotplugs(const char *key, const struct pv_vm_config *cfg) {
        if (!key || !pv_vmconfig_key_hotpluggable(key))
                return false;
        if (!strncmp(key, "net", 3) && key[3] >= '0' && key[3] <= '9')
                return hotplug_feature(cfg, "network");
        if (is_disk_key(key))
                return hotplug_feature(cfg, "disk");
        if (usb_index(key) >= 0) {
                const char *ostype = cfg ? pv_vm_config_get(cfg, "ostype") : NULL;
                return hotplug_feature(cfg, "usb") && machine_at_least_7_1(cfg) && ostype &&
                       (!strcmp(ostype, "l26") || windows_version(ostype) > 7);
        }
        return true;
}

static bool args_equal(const char *a, const char *b);

bool pvx_value_equal(const char *key, const char *want, const char *have) {
        if (!want || !have)
                return want == have;
        if (strcmp(key, "affinity") == 0)
                return pv_cpuset_equal(want, have);
        if (usb_index(key) >= 0)
                return usb_equal(want, have);
        if (strcmp(key, "args") == 0)
                return args_equal(want, have);
        return strcmp(want, have) == 0;
}

/* ----------------------------------------------------------- translate */

struct ctx {
        const struct pv_vm *vm;
        const struct pv_vm_xlate_ctx *x;
        struct pvx_out *out;
};

static const char *cur(const struct ctx *c, const char *key) {
        return c->x->current ? pv_vm_config_get(c->x->current, key) : NULL;
}

/* Set key to value (taken) in the translated config. */
static int add(struct ctx *c, const char *key, char *value, struct pv_error *err) {
        (void)err;      /* allocation does not fail (pvfio/xalloc.h) */
        c->out->kv = pv_xreallocarray(c->out->kv, c->out->n + 1, sizeof *c->out->kv);
        c->out->kv[c->out->n++] = (struct pv_kv){ pv_xstrdup(key), value };
        return 0;
}

static int note(struct ctx *c, struct pv_strv *where, struct pv_error *err, const char *fmt, ...) PV_PRINTF(4, 5);
static int note(struct ctx *c, struct pv_strv *where, struct pv_error *err, const char *fmt, ...) {
        _cleanup_buf_ struct pv_buf b = PV_BUF_INIT;
        int r = 0;
        if (where != &c->out->blocked)
                r = c->x->vmid ? pv_buf_addf(&b, err, "vm '%s' (%" PRIu32 "): ", c->vm->name, c->x->vmid)
                               : pv_buf_addf(&b, err, "vm '%s': ", c->vm->name);
        va_list ap;
        va_start(ap, fmt);
        if (r == 0)
                r = pv_buf_vaddf(&b, err, fmt, ap);
        va_end(ap);
        char *s;
        if (r == 0)
                r = pv_buf_detach(&b, &s, NULL, err);
        return r < 0 ? r : pv_strv_push_take(where, s, err);
}

static int xl_tpm(struct ctx *c, struct pv_error *err) {
        const struct pv_vm *vm = c->vm;
        if (!vm->tpm_storage)
                return 0;
        const char *have = cur(c, "tpmstate0");
        if (!have)
                return add(c, "tpmstate0", pv_xasprintf("%s:1,version=%s", vm->tpm_storage, vm->tpm_version), err);
        struct pv_props p;
        int r = 0;
        if (pv_props_parse(have, true, &p, NULL) < 0) {
                r = note(c, &c->out->drift, err, "tpmstate0 '%s' cannot be parsed; pvfio leaves the TPM state alone",
                         have);
        } else {
                const char *file = pv_props_get(&p, NULL);
                file = file ? file : pv_props_get(&p, "file");
                const char *ver = pv_props_get(&p, "version");
                ver = ver ? ver : "v1.2"; /* the schema's default */
                size_t sl = file ? strcspn(file, ":") : 0;
                if (!file || file[sl] != ':' || strlen(vm->tpm_storage) != sl ||
                    strncmp(file, vm->tpm_storage, sl) != 0)
                        r = note(c, &c->out->drift, err,
                                 "tpmstate0 is '%s', the profile wants storage '%s'; pvfio never moves or recreates "
                                 "the TPM state (it holds the guest's keys)",
                                 file ? file : "", vm->tpm_storage);
                if (r == 0 && strcmp(ver, vm->tpm_version) != 0)
                        r = note(c, &c->out->drift, err,
                                 "tpmstate0 has version %s, the profile says %s; Proxmox cannot change the TPM "
                                 "version of an existing state: remove tpmstate0 yourself (the guest loses its TPM "
                                 "keys, e.g. BitLocker's) to let pvfio create a new one",
                                 ver, vm->tpm_version);
                pv_props_done(&p);
        }
        return r < 0 ? r : add(c, "tpmstate0", pv_xstrdup(have), err);
}

/* ----------------------------------------------------------------- args */

/*
 * `args` holds pvfio's QEMU arguments (Looking Glass, evdev) next to the user's own.
 * Proxmox splits the value like a shell does (QemuServer config_to_command:
 * PVE::Tools::split_args). pvfio owns exactly these option/value pairs:
 *   -device ivshmem-plain,…memdev=ivshmem…
 *   -object memory-backend-file,id=ivshmem,…
 *   -object input-linux,id=pvfio-…
 * Every other word is the user's: kept in its order and spelling, never drift.
 */
struct word {
        const char *start;      /* raw text in the value (quotes included) */
        size_t len;
        char *text;             /* unquoted */
};

static void words_done(struct word *w, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(w[i].text);
        free(w);
}

/* Shell-like split: blanks separate, '…' and "…" group, \ escapes outside single quotes. */
static int split_words(const char *s, struct word **ret, size_t *ret_n) {
        struct word *v = NULL;
        size_t n = 0;
        const char *p = s;
        for (;;) {
                while (*p == ' ' || *p == '\t' || *p == '\n')
                        p++;
                if (!*p)
                        break;
                const char *start = p;
                size_t cap = strlen(p) + 1, k = 0;
                char *t = pv_xmalloc(cap);
                char q = 0;
                while (*p && (q || (*p != ' ' && *p != '\t' && *p != '\n'))) {
                        if (q) {
                                if (*p == q)
                                        q = 0;
                                else if (q == '"' && *p == '\\' && p[1])
                                        t[k++] = *++p;
                                else
                                        t[k++] = *p;
                        } else if (*p == '\'' || *p == '"') {
                                q = *p;
                        } else if (*p == '\\' && p[1]) {
                                t[k++] = *++p;
                        } else {
                                t[k++] = *p;
                        }
                        p++;
                }
                t[k] = '\0';
                v = pv_xreallocarray(v, n + 1, sizeof *v);
                v[n++] = (struct word){ start, (size_t)(p - start), t };
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

static bool owned_pair(const char *opt, const char *val) {
        if (!strcmp(opt, "-device"))
                return !strncmp(val, "ivshmem-plain,", 14) && strstr(val, "memdev=ivshmem") != NULL;
        if (!strcmp(opt, "-object"))
                return !strncmp(val, "memory-backend-file,id=ivshmem,", 31) ||
                       !strncmp(val, "input-linux,id=pvfio-", 21);
        return false;
}

/* The user's part of an args value (raw words joined by one space), owned pairs removed. */
static char *args_user_part(const char *have) {
        struct word *w = NULL;
        size_t n = 0;
        if (!have || split_words(have, &w, &n) < 0)
                return have ? NULL : strdup("");
        _cleanup_buf_ struct pv_buf b = PV_BUF_INIT;
        int r = 0;
        for (size_t i = 0; r == 0 && i < n; i++) {
                if (i + 1 < n && owned_pair(w[i].text, w[i + 1].text)) {
                        i++;
                        continue;
                }
                r = pv_buf_addf(&b, NULL, "%s%.*s", b.len ? " " : "", (int)w[i].len, w[i].start);
        }
        words_done(w, n);
        char *out = NULL;
        if (r == 0 && pv_buf_detach(&b, &out, NULL, NULL) < 0)
                out = NULL;
        return out;
}

static bool args_equal(const char *a, const char *b) {
        struct word *x = NULL, *y = NULL;
        size_t nx = 0, ny = 0;
        if (split_words(a, &x, &nx) < 0)
                return strcmp(a, b) == 0;
        if (split_words(b, &y, &ny) < 0) {
                words_done(x, nx);
                return strcmp(a, b) == 0;
        }
        bool eq = nx == ny;
        for (size_t i = 0; eq && i < nx; i++)
                eq = strcmp(x[i].text, y[i].text) == 0;
        words_done(x, nx);
        words_done(y, ny);
        return eq;
}

/* pvfio's arguments for the VM (Looking Glass's IVSHMEM device, evdev inputs), or "". */
static int pvfio_args(const struct pv_vm *vm, struct pv_buf *b, struct pv_error *err) {
        int r = 0;
        if (vm->looking_glass)
                r = pv_buf_addf(b, err,
                                "-device ivshmem-plain,memdev=ivshmem,bus=%s -object memory-backend-file,id=ivshmem,"
                                "share=on,mem-path=%s,size=%" PRIu64 "M",
                                vm->machine == PV_MACHINE_Q35 ? "pcie.0" : "pci.0", vm->lg_path, vm->lg_size_mib);
        for (size_t i = 0; r == 0 && i < vm->n_evdev; i++) {
                const struct pv_evdev *e = &vm->evdev[i];
                r = pv_buf_addf(b, err, "%s-object input-linux,id=pvfio-evdev%zu,evdev=%s%s%s", b->len ? " " : "", i,
                                e->path, e->grab_all ? ",grab_all=on" : "", e->repeat ? ",repeat=on" : "");
        }
        return r;
}

static int xl_args(struct ctx *c, struct pv_error *err) {
        const char *have = cur(c, "args");
        _cleanup_buf_ struct pv_buf ours = PV_BUF_INIT;
        int r = pvfio_args(c->vm, &ours, err);
        if (r < 0)
                return r;
        if (!have && !ours.len)
                return 0;
        _cleanup_free_ char *user = args_user_part(have);
        if (!user)
                return note(c, &c->out->drift, err,
                            "args '%s' cannot be split into words (an unclosed quote?); pvfio leaves it alone", have);
        if (!*user && !ours.len)
                return 0; /* only pvfio's arguments were there: the key goes */
        return add(c, "args", pv_xasprintf("%s%s%s", user, *user && ours.len ? " " : "", ours.buf), err);
}

/*
 * usbN slots: a fixed `index` first, then the index an observed usbN with the same device
 * already has, then the lowest free one. The value is "host=…" or "mapping=…", plus
 * ",usb3=1" / ",usb3=0" when the profile says so.
 */
static int xl_usb(struct ctx *c, struct pv_error *err) {
        const struct pv_vm *vm = c->vm;
        int slot[PV_MAX_USB];
        bool taken[PV_MAX_USB] = { false };
        size_t n = vm->n_usb < PV_MAX_USB ? vm->n_usb : PV_MAX_USB;
        for (size_t i = 0; i < n; i++) {
                slot[i] = vm->usb[i].index;
                if (slot[i] >= 0)
                        taken[slot[i]] = true;
        }
        for (size_t i = 0; i < n; i++) {
                for (int k = 0; slot[i] < 0 && k < PV_MAX_USB; k++) {
                        char key[8];
                        snprintf(key, sizeof key, "usb%d", k);
                        if (!taken[k] && usb_same_device(&vm->usb[i], cur(c, key))) {
                                slot[i] = k;
                                taken[k] = true;
                        }
                }
        }
        int r = 0;
        for (size_t i = 0; r == 0 && i < n; i++) {
                for (int k = 0; slot[i] < 0 && k < PV_MAX_USB; k++)
                        if (!taken[k]) {
                                slot[i] = k;
                                taken[k] = true;
                        }
                const struct pv_usbdev *u = &vm->usb[i];
                char key[8];
                snprintf(key, sizeof key, "usb%d", slot[i]);
                r = add(c, key,
                        pv_xasprintf("%s=%s%s", u->host ? "host" : "mapping", u->host ? u->host : u->mapping,
                                     u->usb3 < 0 ? "" : u->usb3 ? ",usb3=1" : ",usb3=0"),
                        err);
        }
        return r;
}

int pvx_translate(const struct pv_vm *vm, const struct pv_vm_xlate_ctx *ctx, struct pvx_out *out,
                  struct pv_error *err) {
        struct ctx c = { .vm = vm, .x = ctx, .out = out };
        memset(out, 0, sizeof *out);
        int r = xl_tpm(&c, err);
        if (r == 0 && vm->affinity)
                r = add(&c, "affinity", pv_xstrdup(vm->affinity), err);
        if (r == 0 && vm->hookscript)
                r = add(&c, "hookscript", pv_xstrdup(vm->hookscript), err);
        if (r == 0)
                r = xl_usb(&c, err);
        if (r == 0)
                r = xl_args(&c, err);
        if (r < 0)
                pvx_out_done(out);
        return r;
}

void pvx_out_done(struct pvx_out *o) {
        if (!o)
                return;
        for (size_t i = 0; i < o->n; i++) {
                free(o->kv[i].key);
                free(o->kv[i].value);
        }
        free(o->kv);
        pv_strv_done(&o->drift);
        pv_strv_done(&o->warnings);
        pv_strv_done(&o->blocked);
        memset(o, 0, sizeof *o);
}
