/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Desired VM → Proxmox config keys: the translation of one profile VM into
 * the keys it should have (name, tags, machine, cpu, scalars, disks, nets,
 * the hostpciN devices of vmconfig_hostpci.c and the keys of vmextras.c),
 * with drift, warnings and blocked reasons. Pure.
 */
#include "pvfio/vmplan.h"
#include "vmextras.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pvfio/buf.h"
#include "pvfio/cleanup.h"
#include "pvfio/tags.h"
#include "pvfio/xalloc.h"
#include "vmconfig_int.h"

/* ------------------------------------------------------------ kv builder */

static void kvb_done(struct kvb *b) {
        for (size_t i = 0; i < b->n; i++) {
                free(b->v[i].key);
                free(b->v[i].value);
        }
        free(b->v);
        b->v = NULL;
        b->n = 0;
}

/* Add key (copied) = value (taken). */
int pvc_kvb_take(struct kvb *b, const char *key, char *value, struct pv_error *err) {
        (void)err;      /* allocation does not fail (pvfio/xalloc.h) */
        b->v = pv_xreallocarray(b->v, b->n + 1, sizeof *b->v);
        b->v[b->n++] = (struct pv_kv){ pv_xstrdup(key), value };
        return 0;
}

static int kvb_set(struct kvb *b, const char *key, const char *value, struct pv_error *err) {
        return pvc_kvb_take(b, key, pv_xstrdup(value), err);
}

static int kv_cmp(const void *a, const void *b) {
        return pv_vmconfig_key_cmp(((const struct pv_kv *)a)->key, ((const struct pv_kv *)b)->key);
}

/* --------------------------------------------------------- translation */


const char *pvc_cur(const struct xlate *x, const char *key) {
        return x->ctx->current ? pv_vm_config_get(x->ctx->current, key) : NULL;
}

int pvc_note(struct xlate *x, struct pv_strv *where, struct pv_error *err, const char *fmt, ...) {
        _cleanup_buf_ struct pv_buf b = PV_BUF_INIT;
        va_list ap;
        int r = 0;
        /* drift and warnings stand alone in the plan; blocked reasons are attached to the VM's actions */
        if (where != &x->blocked)
                r = x->ctx->vmid ? pv_buf_addf(&b, err, "vm '%s' (%" PRIu32 "): ", x->vm->name, x->ctx->vmid)
                                 : pv_buf_addf(&b, err, "vm '%s': ", x->vm->name);
        va_start(ap, fmt);
        if (r == 0)
                r = pv_buf_vaddf(&b, err, fmt, ap);
        va_end(ap);
        if (r < 0)
                return r;
        char *s;
        if ((r = pv_buf_detach(&b, &s, NULL, err)) < 0)
                return r;
        return pv_strv_push_take(where, s, err);
}


/*
 * The management tag, then the profile's tags in profile order, in the form
 * Proxmox stores them (get_unique_tags under the datacenter tag-style):
 * lower-cased, unique and sorted by default.
 */
static int xl_tags(struct xlate *x, struct pv_error *err) {
        const char *tag = x->ctx->tag ? x->ctx->tag : PV_MANAGED_TAG;
        static const struct pv_tag_style def = PV_TAG_STYLE_DEFAULT;
        const struct pv_tag_style *st = x->ctx->obs ? &x->ctx->obs->tag_style : &def;
        _cleanup_buf_ struct pv_buf all = PV_BUF_INIT;
        int r = pv_buf_adds(&all, tag, err);
        for (size_t i = 0; r == 0 && i < x->vm->tags.n; i++)
                r = pv_buf_addf(&all, err, ";%s", x->vm->tags.v[i]);
        char *norm = NULL;
        if (r == 0)
                r = pv_tags_normalize(all.buf, st, &norm, err);
        return r < 0 ? r : pvc_kvb_take(&x->kv, "tags", norm, err);
}

/* Sort the parts of a property string by key (stable: Proxmox's print order). */
static void props_sort_by_key(struct pv_props *p) {
        for (size_t i = 1; i < p->n; i++)
                for (size_t k = i; k > 0 && strcmp(p->v[k - 1].key, p->v[k].key) > 0; k--) {
                        struct pv_prop t = p->v[k];
                        p->v[k] = p->v[k - 1];
                        p->v[k - 1] = t;
                }
}

/* Append ",k=v" for every part of the observed value `have` not in `skip` (sorted by key). */
static int carry_over(struct pv_buf *b, const char *have, const char *const *skip, bool (*skipfn)(const char *),
                          struct pv_error *err) {
        struct pv_props p;
        if (!have || pv_props_parse(have, true, &p, NULL) < 0)
                return 0;
        /* insertion sort of the indexes by key */
        size_t idx[64], n = 0;
        for (size_t i = 0; i < p.n && n < PV_ELEMENTSOF(idx); i++) {
                const char *k = p.v[i].key;
                bool s = !k || (skipfn && skipfn(k));
                for (size_t j = 0; !s && skip && skip[j]; j++)
                        s = strcmp(skip[j], k) == 0;
                if (s)
                        continue;
                size_t at = n++;
                while (at > 0 && strcmp(p.v[idx[at - 1]].key, k) > 0) {
                        idx[at] = idx[at - 1];
                        at--;
                }
                idx[at] = i;
        }
        int r = 0;
        for (size_t i = 0; r == 0 && i < n; i++)
                r = pv_buf_addf(b, err, "%s%s=%s", b->len ? "," : "", p.v[idx[i]].key, p.v[idx[i]].value);
        pv_props_done(&p);
        return r;
}

static int xl_machine(struct xlate *x, struct pv_error *err) {
        const struct pv_vm *vm = x->vm;
        _cleanup_buf_ struct pv_buf b = PV_BUF_INIT;
        static const char *const skip[] = { "type", NULL };
        int r = 0;
        if (vm->machine == PV_MACHINE_Q35)
                r = vm->machine_version ? pv_buf_addf(&b, err, "pc-q35-%s", vm->machine_version)
                                        : pv_buf_adds(&b, "q35", err);
        else if (vm->machine_version)
                r = pv_buf_addf(&b, err, "pc-i440fx-%s", vm->machine_version);
        if (r < 0)
                return r;
        size_t type_len = b.len;
        if ((r = carry_over(&b, pvc_cur(x, "machine"), skip, NULL, err)) < 0)
                return r;
        if (b.len == 0)
                return 0;
        if (type_len == 0) {
                /* only carried sub-keys: spell out the default type */
                _cleanup_buf_ struct pv_buf t = PV_BUF_INIT;
                if ((r = pv_buf_addf(&t, err, "pc,%s", b.buf)) < 0)
                        return r;
                return kvb_set(&x->kv, "machine", t.buf, err);
        }
        return kvb_set(&x->kv, "machine", b.buf, err);
}

static int xl_cpu(struct xlate *x, struct pv_error *err) {
        const struct pv_vm *vm = x->vm;
        if (!vm->cpu_type && vm->cpu_flags.n == 0 && !vm->cpu_hidden)
                return 0;
        _cleanup_buf_ struct pv_buf b = PV_BUF_INIT;
        _cleanup_buf_ struct pv_buf rest = PV_BUF_INIT;
        int r = 0;
        if (vm->cpu_type)
                r = pv_buf_adds(&b, vm->cpu_type, err);
        /* managed sub-keys go in Proxmox's alphabetical order together with carried ones */
        if (r == 0 && vm->cpu_flags.n) {
                r = pv_buf_adds(&rest, "flags=", err);
                for (size_t i = 0; r == 0 && i < vm->cpu_flags.n; i++)
                        r = pv_buf_addf(&rest, err, "%s%s", i ? ";" : "", vm->cpu_flags.v[i]);
        }
        if (r == 0 && vm->cpu_hidden)
                r = pv_buf_addf(&rest, err, "%shidden=1", rest.len ? "," : "");
        if (r < 0)
                return r;
        /* carried: everything but cputype, flags, hidden; merged in key order */
        static const char *const skip2[] = { "cputype", "flags", "hidden", NULL };
        _cleanup_buf_ struct pv_buf carried = PV_BUF_INIT;
        if ((r = carry_over(&carried, pvc_cur(x, "cpu"), skip2, NULL, err)) < 0)
                return r;
        _cleanup_buf_ struct pv_buf merged = PV_BUF_INIT;
        if (rest.len && (r = pv_buf_adds(&merged, rest.buf, err)) < 0)
                return r;
        if (carried.len && (r = pv_buf_addf(&merged, err, "%s%s", merged.len ? "," : "", carried.buf)) < 0)
                return r;
        if (merged.len) {
                /* re-sort the merged parts by key */
                struct pv_props p;
                if ((r = pv_props_parse(merged.buf, false, &p, err)) < 0)
                        return r;
                props_sort_by_key(&p);
                for (size_t i = 0; r == 0 && i < p.n; i++)
                        r = pv_buf_addf(&b, err, "%s%s=%s", b.len ? "," : "", p.v[i].key, p.v[i].value);
                pv_props_done(&p);
                if (r < 0)
                        return r;
        }
        return kvb_set(&x->kv, "cpu", b.buf, err);
}

static int xl_scalar(struct xlate *x, struct pv_error *err) {
        const struct pv_vm *vm = x->vm;
        int r = 0;
        if (vm->bios != PV_BIOS_UNSET)
                r = kvb_set(&x->kv, "bios", vm->bios == PV_BIOS_OVMF ? "ovmf" : "seabios", err);
        if (r == 0 && vm->cores)
                r = pvc_kvb_take(&x->kv, "cores", pv_asprintf(NULL, "%u", vm->cores), err);
        if (r == 0 && vm->sockets)
                r = pvc_kvb_take(&x->kv, "sockets", pv_asprintf(NULL, "%u", vm->sockets), err);
        if (r == 0 && vm->memory_mib)
                r = pvc_kvb_take(&x->kv, "memory", pv_asprintf(NULL, "%" PRIu64, vm->memory_mib), err);
        if (r == 0 && vm->balloon_mib >= 0)
                r = pvc_kvb_take(&x->kv, "balloon", pv_asprintf(NULL, "%" PRId64, vm->balloon_mib), err);
        if (r == 0 && vm->hugepages)
                r = kvb_set(&x->kv, "hugepages", vm->hugepages, err);
        if (r == 0 && vm->numa >= 0)
                r = kvb_set(&x->kv, "numa", vm->numa ? "1" : "0", err);
        if (r == 0 && vm->scsihw)
                r = kvb_set(&x->kv, "scsihw", vm->scsihw, err);
        if (r == 0 && vm->ostype)
                r = kvb_set(&x->kv, "ostype", vm->ostype, err);
        if (r == 0 && vm->onboot >= 0)
                r = kvb_set(&x->kv, "onboot", vm->onboot ? "1" : "0", err);
        if (r == 0 && vm->vga) {
                _cleanup_buf_ struct pv_buf b = PV_BUF_INIT;
                static const char *const skip[] = { "type", NULL };
                r = pv_buf_adds(&b, vm->vga, err);
                if (r == 0)
                        r = carry_over(&b, pvc_cur(x, "vga"), skip, NULL, err);
                if (r == 0)
                        r = kvb_set(&x->kv, "vga", b.buf, err);
        }
        return r;
}

/* "64G", "4M", "1.5T", "1024" (bytes) → bytes; -1 when not a size. */
static int parse_size(const char *s, uint64_t *ret) {
        char *end;
        double v = strtod(s, &end);
        if (end == s || v < 0)
                return -1;
        double mult = 1;
        switch (*end) {
        case 'K': mult = 1024.0; end++; break;
        case 'M': mult = 1024.0 * 1024; end++; break;
        case 'G': mult = 1024.0 * 1024 * 1024; end++; break;
        case 'T': mult = 1024.0 * 1024 * 1024 * 1024; end++; break;
        default: break;
        }
        if (*end)
                return -1;
        *ret = (uint64_t)(v * mult + 0.5);
        return 0;
}

/* Human size for messages ("64G", "512M"). */
static char *fmt_size(uint64_t bytes) {
        static const char units[] = "KMGT";
        uint64_t v = bytes;
        int u = -1;
        while (u < 3 && v >= 1024 && v % 1024 == 0) {
                v /= 1024;
                u++;
        }
        return u < 0 ? pv_asprintf(NULL, "%" PRIu64 "B", v) : pv_asprintf(NULL, "%" PRIu64 "%c", v, units[u]);
}

/* GiB for the STORAGE:SIZE syntax: "64", "0.5", "0.0009765625". */
static char *fmt_gib(uint64_t bytes) {
        uint64_t mib = (bytes + (1u << 20) - 1) >> 20;
        uint64_t whole = mib / 1024, rem = mib % 1024;
        if (!rem)
                return pv_asprintf(NULL, "%" PRIu64, whole);
        uint64_t frac = rem * 9765625; /* rem/1024 = rem * 10^10 / 2^10 = rem * 9765625 / 10^10 */
        char digits[16];
        snprintf(digits, sizeof digits, "%010" PRIu64, frac);
        for (size_t n = strlen(digits); n > 1 && digits[n - 1] == '0'; n--)
                digits[n - 1] = '\0';
        return pv_asprintf(NULL, "%" PRIu64 ".%s", whole, digits);
}

/* Compare an existing disk (presence, storage, media, size) and report differences as drift. */
static int check_disk(struct xlate *x, const char *key, const char *have, const char *storage, uint64_t size,
                          struct pv_error *err) {
        struct pv_props p;
        if (pv_props_parse(have, true, &p, NULL) < 0)
                return DRIFT(x, err, "%s '%s' cannot be parsed; pvfio leaves the disk alone", key, have);
        int r = 0;
        const char *file = pv_props_get(&p, NULL);
        file = file ? file : pv_props_get(&p, "file");
        const char *media = pv_props_get(&p, "media");
        if (media && strcmp(media, "cdrom") == 0) {
                r = DRIFT(x, err, "%s is a CD-ROM drive, the profile wants a disk on '%s'; pvfio does not replace it", key,
                          storage);
                goto out;
        }
        size_t sl = file ? strcspn(file, ":") : 0;
        if (!file || file[sl] != ':' || strlen(storage) != sl || strncmp(file, storage, sl) != 0) {
                r = DRIFT(x, err, "%s is '%s', the profile wants storage '%s'; pvfio never moves or recreates disks",
                          key, file ? file : "", storage);
                goto out;
        }
        const char *hs = pv_props_get(&p, "size");
        uint64_t hb;
        if (size && hs && parse_size(hs, &hb) == 0 && hb != size) {
                _cleanup_free_ char *want = fmt_size(size);
                r = DRIFT(x, err, "%s is %s, the profile says %s; pvfio never resizes disks", key, hs,
                          want ? want : "?");
        }
out:
        pv_props_done(&p);
        return r;
}

static const char *bus_prefix(enum pv_disk_bus b) {
        switch (b) {
        case PV_BUS_VIRTIO: return "virtio";
        case PV_BUS_SATA: return "sata";
        case PV_BUS_IDE: return "ide";
        case PV_BUS_SCSI: break;
        }
        return "scsi";
}

static int bus_max(enum pv_disk_bus b) {
        switch (b) {
        case PV_BUS_VIRTIO: return 15;
        case PV_BUS_SATA: return 5;
        case PV_BUS_IDE: return 3;
        case PV_BUS_SCSI: break;
        }
        return 30;
}

static int xl_disks(struct xlate *x, struct pv_error *err) {
        const struct pv_vm *vm = x->vm;
        bool used[4][32] = { { false } };
        int *idx = pv_xcalloc(vm->n_disks ? vm->n_disks : 1, sizeof *idx);
        int r = 0;
        for (size_t i = 0; i < vm->n_disks; i++) {
                idx[i] = vm->disks[i].index;
                if (idx[i] >= 0 && idx[i] <= bus_max(vm->disks[i].bus)) {
                        if (used[vm->disks[i].bus][idx[i]])
                                r = BLOCK(x, err, "disk %s%d is declared twice", bus_prefix(vm->disks[i].bus), idx[i]);
                        used[vm->disks[i].bus][idx[i]] = true;
                }
        }
        for (size_t i = 0; r == 0 && i < vm->n_disks; i++) {
                const struct pv_disk *d = &vm->disks[i];
                if (idx[i] < 0) {
                        for (int k = 0; k <= bus_max(d->bus) && idx[i] < 0; k++)
                                if (!used[d->bus][k]) {
                                        idx[i] = k;
                                        used[d->bus][k] = true;
                                }
                        if (idx[i] < 0) {
                                r = BLOCK(x, err, "no free %s slot for disk %zu", bus_prefix(d->bus), i);
                                continue;
                        }
                }
                if (idx[i] > bus_max(d->bus)) {
                        r = BLOCK(x, err, "disk index %s%d is out of range", bus_prefix(d->bus), idx[i]);
                        continue;
                }
                char key[32];
                snprintf(key, sizeof key, "%s%d", bus_prefix(d->bus), idx[i]);
                const char *have = pvc_cur(x, key);
                if (have) {
                        r = check_disk(x, key, have, d->storage, d->size_bytes, err);
                        if (r == 0)
                                r = kvb_set(&x->kv, key, have, err);
                        continue;
                }
                _cleanup_free_ char *gib = fmt_gib(d->size_bytes);
                r = pvc_kvb_take(&x->kv, key,
                                 gib ? pv_asprintf(NULL, "%s:%s%s%s", d->storage, gib, d->options ? "," : "",
                                                   d->options ? d->options : "")
                                     : NULL,
                                 err);
        }
        free(idx);
        return r;
}

static int xl_efidisk(struct xlate *x, struct pv_error *err) {
        const struct pv_vm *vm = x->vm;
        if (vm->bios != PV_BIOS_OVMF || !vm->efidisk_storage)
                return 0;
        const char *have = pvc_cur(x, "efidisk0");
        if (!have)
                return pvc_kvb_take(&x->kv, "efidisk0",
                                    pv_asprintf(NULL, "%s:1,efitype=4m%s", vm->efidisk_storage,
                                                vm->efidisk_pre_enrolled_keys ? ",pre-enrolled-keys=1" : ""),
                                    err);
        int r = check_disk(x, "efidisk0", have, vm->efidisk_storage, 0, err);
        struct pv_props p;
        if (r == 0 && pv_props_parse(have, true, &p, NULL) == 0) {
                const char *t = pv_props_get(&p, "efitype");
                int keys = pvc_bool_or(pv_props_get(&p, "pre-enrolled-keys"), 0);
                if (!t || strcmp(t, "4m") != 0)
                        r = DRIFT(x, err, "efidisk0 uses efitype %s, pvfio creates 4m; pvfio does not recreate the EFI disk",
                                  t ? t : "2m");
                if (r == 0 && keys != (vm->efidisk_pre_enrolled_keys ? 1 : 0))
                        r = DRIFT(x, err, "efidisk0 has pre-enrolled-keys=%d, the profile says %d; pvfio does not recreate the EFI disk",
                                  keys, vm->efidisk_pre_enrolled_keys ? 1 : 0);
                pv_props_done(&p);
        }
        if (r == 0)
                r = kvb_set(&x->kv, "efidisk0", have, err);
        return r;
}

static int xl_nets(struct xlate *x, struct pv_error *err) {
        const struct pv_vm *vm = x->vm;
        bool used[32] = { false };
        int r = 0;
        int *idx = pv_xcalloc(vm->n_nets ? vm->n_nets : 1, sizeof *idx);
        for (size_t i = 0; i < vm->n_nets; i++) {
                idx[i] = vm->nets[i].index;
                if (idx[i] >= 0 && idx[i] < 32) {
                        if (used[idx[i]])
                                r = BLOCK(x, err, "net%d is declared twice", idx[i]);
                        used[idx[i]] = true;
                }
        }
        for (size_t i = 0; r == 0 && i < vm->n_nets; i++) {
                const struct pv_net *n = &vm->nets[i];
                for (int k = 0; k < 32 && idx[i] < 0; k++)
                        if (!used[k]) {
                                idx[i] = k;
                                used[k] = true;
                        }
                if (idx[i] < 0 || idx[i] > 31) {
                        r = BLOCK(x, err, "no free net slot for network %zu", i);
                        break;
                }
                char key[16];
                snprintf(key, sizeof key, "net%d", idx[i]);
                const char *have = pvc_cur(x, key);
                struct net_val obs = { 0 };
                bool have_ok = have && pvc_net_parse(have, &obs) == 0;
                const char *mac = n->macaddr ? n->macaddr : (have_ok ? obs.mac : NULL);
                _cleanup_buf_ struct pv_buf b = PV_BUF_INIT;
                r = pv_buf_adds(&b, n->model ? n->model : "virtio", err);
                if (r == 0 && mac) {
                        r = pv_buf_addf(&b, err, "=%s", mac);
                        for (size_t c = b.len - strlen(mac); c < b.len; c++)
                                b.buf[c] = (char)toupper((unsigned char)b.buf[c]);
                }
                /* Proxmox order after the model: bridge firewall link_down mtu queues rate tag trunks */
                _cleanup_buf_ struct pv_buf rest = PV_BUF_INIT;
                if (r == 0 && n->bridge)
                        r = pv_buf_addf(&rest, err, "bridge=%s", n->bridge);
                if (r == 0 && n->firewall == 1)
                        r = pv_buf_addf(&rest, err, "%sfirewall=1", rest.len ? "," : "");
                if (r == 0 && n->vlan > 0)
                        r = pv_buf_addf(&rest, err, "%stag=%d", rest.len ? "," : "", n->vlan);
                if (r == 0 && have_ok) {
                        const char *ld = pv_props_get(&obs.props, "link_down");
                        if (ld && pv_parse_bool(ld) == 1)
                                r = pv_buf_addf(&rest, err, "%slink_down=1", rest.len ? "," : "");
                }
                if (r == 0 && have_ok)
                        r = carry_over(&rest, have, NULL, pvc_net_subkey_skipped, err);
                if (have_ok)
                        pv_props_done(&obs.props);
                if (r < 0)
                        break;
                /* sort the non-model parts by key (Proxmox's print order) */
                struct pv_props p;
                if ((r = pv_props_parse(rest.buf, false, &p, err)) < 0)
                        break;
                props_sort_by_key(&p);
                for (size_t a = 0; r == 0 && a < p.n; a++)
                        r = pv_buf_addf(&b, err, ",%s=%s", p.v[a].key, p.v[a].value);
                pv_props_done(&p);
                if (r == 0)
                        r = kvb_set(&x->kv, key, b.buf, err);
        }
        free(idx);
        return r;
}

/* The keys and notes of vmextras.c (TPM, affinity, hookscript, …). */
static int xl_extras(struct xlate *x, struct pv_error *err) {
        struct pvx_out o;
        int r = pvx_translate(x->vm, x->ctx, &o, err);
        if (r < 0)
                return r;
        for (size_t i = 0; r == 0 && i < o.n; i++) {
                r = pvc_kvb_take(&x->kv, o.kv[i].key, o.kv[i].value, err);
                o.kv[i].value = NULL;
        }
        for (size_t i = 0; r == 0 && i < o.drift.n; i++)
                r = pv_strv_push(&x->out.drift, o.drift.v[i], err);
        for (size_t i = 0; r == 0 && i < o.warnings.n; i++)
                r = pv_strv_push(&x->out.warnings, o.warnings.v[i], err);
        for (size_t i = 0; r == 0 && i < o.blocked.n; i++)
                r = pv_strv_push(&x->blocked, o.blocked.v[i], err);
        pvx_out_done(&o);
        return r;
}

void pv_vm_desired_done(struct pv_vm_desired *d) {
        if (!d)
                return;
        for (size_t i = 0; i < d->n; i++) {
                free(d->kv[i].key);
                free(d->kv[i].value);
        }
        free(d->kv);
        pv_strv_done(&d->drift);
        pv_strv_done(&d->warnings);
        pv_strv_done(&d->mappings);
        free(d->blocked);
        memset(d, 0, sizeof *d);
}

const char *pv_vm_desired_get(const struct pv_vm_desired *d, const char *key) {
        for (size_t i = 0; i < d->n; i++)
                if (strcmp(d->kv[i].key, key) == 0)
                        return d->kv[i].value;
        return NULL;
}

int pv_vm_translate(const struct pv_vm *vm, const struct pv_vm_xlate_ctx *ctx, struct pv_vm_desired *ret,
                        struct pv_error *err) {
        struct xlate x = { .vm = vm, .ctx = ctx };
        x.hw = ctx->obs && vm->node ? pv_observed_hw(ctx->obs, vm->node) : NULL;
        for (size_t i = 0; i < vm->n_pci; i++)
                if (vm->pci[i].kind == PV_PCIDEV_VF_POOL)
                        pvc_index_used(ctx->claims, ctx->obs);
        int r = kvb_set(&x.kv, "name", vm->name, err);
        if (r == 0)
                r = xl_tags(&x, err);
        if (r == 0)
                r = xl_machine(&x, err);
        if (r == 0)
                r = xl_cpu(&x, err);
        if (r == 0)
                r = xl_scalar(&x, err);
        if (r == 0)
                r = xl_efidisk(&x, err);
        if (r == 0)
                r = xl_disks(&x, err);
        if (r == 0)
                r = xl_nets(&x, err);
        if (r == 0)
                r = pvc_xl_hostpci(&x, err);
        if (r == 0)
                r = xl_extras(&x, err);
        if (r == 0 && x.blocked.n) {
                _cleanup_buf_ struct pv_buf b = PV_BUF_INIT;
                for (size_t i = 0; r == 0 && i < x.blocked.n; i++)
                        r = pv_buf_addf(&b, err, "%s%s", i ? "; " : "", x.blocked.v[i]);
                if (r == 0)
                        r = pv_buf_detach(&b, &x.out.blocked, NULL, err);
        }
        pv_strv_done(&x.blocked);
        if (r < 0) {
                kvb_done(&x.kv);
                pv_vm_desired_done(&x.out);
                return r;
        }
        qsort(x.kv.v, x.kv.n, sizeof *x.kv.v, kv_cmp);
        x.out.kv = x.kv.v;
        x.out.n = x.kv.n;
        *ret = x.out;
        return 0;
}
