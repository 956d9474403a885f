/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Profile loading, stage 2: node tree → typed model.
 *
 * Each section is typed by hand against its key list; every value that is
 * wrong becomes a diagnostic at the value (unknown keys at the key) and
 * typing goes on, so one run reports everything. VM mappings are merged
 * on the nodes first (defaults < template chain, base first < the VM); the
 * merged pairs keep their original nodes, so a bad value inherited from a
 * template is reported at the template's line. Templates and defaults are
 * typed on their own as well, so their problems are reported once, under
 * their own key path; inherited values are then typed quietly.
 *
 * This file holds the entry (pvp_type_profile), the VM keys, templates and
 * defaults merging, and the key tables the schema test reads; the typing of
 * one value is in profile_parse_values.c, `cluster:` in profile_parse_cluster.c,
 * `hosts:` and `mappings:` in profile_parse_host.c (shared: profile_parse_int.h).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "pvfio/cleanup.h"
#include "pvfio/xalloc.h"
#include "profile_parse_int.h"

/* --------------------------------------------------------------------- VMs */

enum vmode { VM_REAL, VM_TEMPLATE, VM_DEFAULTS };

static const char *const vm_keys[] = { "name",   "node",     "vmid",      "template", "state",   "machine",
                                       "machine_version", "bios", "efidisk", "cpu",  "cores",   "sockets",
                                       "memory", "balloon",  "hugepages", "numa",     "scsihw",  "disks",
                                       "networks", "vga",    "ostype",    "tags",     "onboot",  "pci",
                                       /* typed in profile_extras.c */
                                       "tpm", "affinity", "hookscript", "usb", "looking_glass", "evdev",
                                       NULL };
static const char *const efidisk_keys[] = { "storage", "pre_enrolled_keys", NULL };
static const char *const cpu_keys[] = { "type", "flags", "hidden", NULL };
static const char *const disk_keys[] = { "bus", "index", "storage", "size", "options", NULL };
static const char *const net_keys[] = { "model", "bridge", "vlan", "firewall", "macaddr", "index", NULL };
static const char *const pci_keys[] = { "mapping",  "address",   "vf_of",         "mdev",          "pcie",
                                        "primary",  "rombar",    "romfile",       "legacy_igd",    "driver",
                                        "vendor_id", "device_id", "sub_vendor_id", "sub_device_id", "slot",
                                        NULL };
static const char *const state_names[] = { "present", "running", "stopped", "absent", NULL };
static const char *const machine_names[] = { "q35", "i440fx", NULL };
static const char *const bios_names[] = { "seabios", "ovmf", NULL };
static const char *const scsihw_names[] = { "lsi", "lsi53c810", "virtio-scsi-pci", "virtio-scsi-single", "megasas",
                                            "pvscsi", NULL };
static const char *const vga_names[] = { "std",     "cirrus",  "vmware",  "qxl",     "serial0",   "serial1",
                                         "serial2", "serial3", "virtio",  "virtio-gl", "none",    NULL };
static const char *const ostype_names[] = { "other", "wxp",   "w2k",   "w2k3", "w2k8", "wvista",  "win7",
                                            "win8",  "win10", "win11", "l24",  "l26",  "solaris", NULL };
static const char *const bus_names[] = { "scsi", "virtio", "sata", "ide", NULL };
static const int bus_max_index[] = { 30, 15, 5, 3 };
static const char *const nic_names[] = { "virtio", "e1000", "e1000e", "rtl8139", "vmxnet3", NULL };
static const char *const driver_names[] = { "vfio", "keep", NULL };
static const char *const hugepage_names[] = { "2M", "1G", "any", NULL };

static void type_cpu(struct pvp_ctx *c, const struct ynode *v, struct pv_vm *vm) {
        const char *what = "a CPU type such as host or x86-64-v2-AES";
        if (v->kind != Y_MAP) {
                pvp_t_str(c, v, pvp_re_cputype, what, &vm->cpu_type);
                return;
        }
        pvp_check_keys(c, v, cpu_keys);
        pvp_o_str(c, v, "type", pvp_re_cputype, what, &vm->cpu_type);
        pvp_o_strlist(c, v, "flags", pvp_re_cpuflag, "a CPU flag such as +pcid or -md-clear", &vm->cpu_flags, NULL);
        pvp_o_bool(c, v, "hidden", &vm->cpu_hidden);
}

static void type_disk(struct pvp_ctx *c, const struct ynode *m, struct pv_disk *d) {
        d->index = -1;
        d->bus = PV_BUS_SCSI;
        d->loc = pvp_loc_of(c, m);
        if (!pvp_is_map(c, m))
                return;
        pvp_check_keys(c, m, disk_keys);
        pvp_require(c, m, "storage");
        pvp_require(c, m, "size");
        int e;
        if (pvp_o_enum(c, m, "bus", bus_names, &e) == 1)
                d->bus = (enum pv_disk_bus)e;
        long long x;
        if (pvp_o_int(c, m, "index", 0, bus_max_index[d->bus], &x) == 1)
                d->index = (int)x;
        pvp_o_str(c, m, "storage", pvp_re_storage, "a storage id such as local-lvm", &d->storage);
        struct pvp_scope s = { 0 };
        const struct ynode *v;
        if ((v = pvp_enter(c, m, "size", &s))) {
                uint64_t mib;
                if (pvp_t_size(c, v, true, 1, &mib))
                        d->size_bytes = mib << 20;
                pvp_leave(c, &s);
        }
        pvp_o_str(c, m, "options", pvp_re_noblank, "Proxmox drive options without spaces (e.g. ssd=1,discard=on)",
                  &d->options);
}

static bool re_mac(const char *s) {
        if (strlen(s) != 17)
                return false;
        for (int i = 0; i < 17; i++)
                if (i % 3 == 2 ? s[i] != ':' : !isxdigit((unsigned char)s[i]))
                        return false;
        unsigned first = (unsigned)strtoul(s, NULL, 16);
        return !(first & 1); /* unicast */
}

static void type_net(struct pvp_ctx *c, const struct ynode *m, struct pv_net *n) {
        n->index = -1;
        n->vlan = -1;
        n->firewall = -1;
        n->loc = pvp_loc_of(c, m);
        if (!pvp_is_map(c, m))
                return;
        pvp_check_keys(c, m, net_keys);
        pvp_require(c, m, "bridge");
        int e = 0;
        if (pvp_o_enum(c, m, "model", nic_names, &e) < 0)
                e = 0;
        n->model = pvp_sdup(c, nic_names[e]);
        pvp_o_str(c, m, "bridge", pvp_re_bridge, "a bridge name such as vmbr0", &n->bridge);
        long long x;
        if (pvp_o_int(c, m, "vlan", 1, 4094, &x) == 1)
                n->vlan = (int)x;
        pvp_o_tri(c, m, "firewall", &n->firewall);
        if (pvp_o_str(c, m, "macaddr", re_mac, "a unicast MAC address such as BC:24:11:AA:BB:CC", &n->macaddr) == 1)
                for (char *p = n->macaddr; *p; p++)
                        *p = (char)toupper((unsigned char)*p);
        if (pvp_o_int(c, m, "index", 0, 31, &x) == 1)
                n->index = (int)x;
}

static void type_pcidev(struct pvp_ctx *c, const struct ynode *m, struct pv_pcidev *d) {
        d->slot = -1;
        d->pcie = d->primary = d->rombar = d->legacy_igd = -1;
        d->loc = pvp_loc_of(c, m);
        if (!pvp_is_map(c, m))
                return;
        pvp_check_keys(c, m, pci_keys);
        static const char *const kinds[] = { "mapping", "address", "vf_of", NULL };
        const char *k = pvp_one_of(c, m, kinds, "'mapping', 'address' or 'vf_of'");
        struct pvp_scope s = { 0 };
        const struct ynode *v;
        if (k && !strcmp(k, "mapping") && (v = pvp_enter(c, m, "mapping", &s))) {
                d->kind = PV_PCIDEV_MAPPING;
                pvp_t_str(c, v, pvp_re_configid, "a mapping id", &d->mapping);
                pvp_leave(c, &s);
        } else if (k && !strcmp(k, "address") && (v = pvp_enter(c, m, "address", &s))) {
                d->kind = PV_PCIDEV_RAW;
                pvp_t_addr_list(c, v, &d->addrs, &d->n_addrs);
                pvp_leave(c, &s);
        } else if (k && !strcmp(k, "vf_of") && (v = pvp_enter(c, m, "vf_of", &s))) {
                d->kind = PV_PCIDEV_VF_POOL;
                if (pvp_is_text(c, v, "the PCI address of a physical function"))
                        pvp_t_addr(c, v, v->text, true, &d->vf_pf);
                pvp_leave(c, &s);
        }
        pvp_o_str(c, m, "mdev", pvp_re_mdev, "an mdev type such as nvidia-660 (no '/', '.' or ':')", &d->mdev);
        pvp_o_tri(c, m, "pcie", &d->pcie);
        pvp_o_tri(c, m, "primary", &d->primary);
        pvp_o_tri(c, m, "rombar", &d->rombar);
        pvp_o_tri(c, m, "legacy_igd", &d->legacy_igd);
        if ((v = pvp_enter(c, m, "romfile", &s))) {
                if (pvp_is_text(c, v, "a file name under /usr/share/kvm")) {
                        if (strchr(v->text, '/'))
                                VERR(c, v, "must be a file name under /usr/share/kvm, without a path separator '/', " GOT,
                                     GOTV(v));
                        else if (strpbrk(v->text, ",;") || !pvp_re_path(v->text))
                                VERR(c, v, "must not contain ',', ';' or control characters, " GOT, GOTV(v));
                        else
                                d->romfile = pvp_sdup(c, v->text);
                }
                pvp_leave(c, &s);
        }
        int e;
        if (pvp_o_enum(c, m, "driver", driver_names, &e) == 1)
                d->driver = e == 0 ? PV_DRIVER_VFIO : PV_DRIVER_KEEP;
        if ((v = pvp_enter(c, m, "vendor_id", &s))) {
                d->has_vendor_id = pvp_t_hex16(c, v, &d->vendor_id);
                pvp_leave(c, &s);
        }
        if ((v = pvp_enter(c, m, "device_id", &s))) {
                d->has_device_id = pvp_t_hex16(c, v, &d->device_id);
                pvp_leave(c, &s);
        }
        if ((v = pvp_enter(c, m, "sub_vendor_id", &s))) {
                d->has_sub_vendor_id = pvp_t_hex16(c, v, &d->sub_vendor_id);
                pvp_leave(c, &s);
        }
        if ((v = pvp_enter(c, m, "sub_device_id", &s))) {
                d->has_sub_device_id = pvp_t_hex16(c, v, &d->sub_device_id);
                pvp_leave(c, &s);
        }
        long long x;
        if (pvp_o_int(c, m, "slot", 0, PV_MAX_HOSTPCI - 1, &x) == 1)
                d->slot = (int)x;
}

/* Type a list key whose items are mappings, allocating `size` bytes per item. */
#define TYPE_LIST(c, m, key, arr, n, srcarr, fn)                                                          \
        do {                                                                                              \
                struct pvp_scope s_ = { 0 };                                                                        \
                const struct ynode *v_ = pvp_enter((c), (m), (key), &s_);                                     \
                if (!v_)                                                                                  \
                        break;                                                                            \
                if (pvp_is_seq((c), v_) && v_->n_items) {                                                     \
                        (arr) = pv_xcalloc(v_->n_items, sizeof(*(arr)));                                  \
                        if (srcarr)                                                                       \
                                *(srcarr) = pv_xcalloc(v_->n_items, sizeof(**(srcarr)));                  \
                        for (size_t i_ = 0; (arr) && i_ < v_->n_items && !(c)->stop; i_++) {              \
                                size_t mk_ = pvp_path_idx((c), i_);                                       \
                                if ((srcarr) && *(srcarr))                                                \
                                        (*(srcarr))[(n)] = v_->items[i_];                                 \
                                fn((c), v_->items[i_], &(arr)[(n)++]);                                    \
                                pvp_path_pop((c), mk_);                                                   \
                        }                                                                                 \
                }                                                                                         \
                pvp_leave((c), &s_);                                                                          \
        } while (0)

static void type_vm(struct pvp_ctx *c, const struct ynode *m, enum vmode mode, struct pv_vm *vm,
                    struct pvp_vm_src *src) {
        vm->balloon_mib = -1;
        vm->numa = -1;
        vm->onboot = -1;
        vm->efidisk_pre_enrolled_keys = true;
        vm->loc = pvp_loc_of(c, m);
        if (src)
                src->map = m;
        struct pvp_scope s = { 0 };
        const struct ynode *v;
        if (mode != VM_REAL) {
                static const char *const per_vm[] = { "name", "node", "vmid", "template", NULL };
                for (size_t i = 0; per_vm[i]; i++) {
                        const struct ynode *k = pvp_key_node(m, per_vm[i]);
                        if (!k || (mode == VM_TEMPLATE && !strcmp(per_vm[i], "template")))
                                continue;
                        size_t mk = pvp_path_key(c, per_vm[i]);
                        if (!strcmp(per_vm[i], "template"))
                                pvp_diag(c, false, k, "'%s' cannot be set in defaults: name the template per VM",
                                         c->path.buf);
                        else
                                pvp_diag(c, false, k, "'%s' cannot be set in %s: name, node and vmid are per VM",
                                         c->path.buf, mode == VM_TEMPLATE ? "a template" : "defaults");
                        pvp_path_pop(c, mk);
                }
        } else {
                pvp_require(c, m, "name");
                pvp_require(c, m, "node");
                if ((v = pvp_enter(c, m, "name", &s))) {
                        pvp_t_str(c, v, pvp_re_dns, "a VM name (DNS label: letters, digits, inner '.' and '-', at most 63)",
                                  &vm->name);
                        vm->name_loc = pvp_loc_of(c, v);
                        pvp_leave(c, &s);
                }
                if ((v = pvp_enter(c, m, "node", &s))) {
                        pvp_t_str(c, v, pvp_re_node, NODE_WHAT, &vm->node);
                        vm->node_loc = pvp_loc_of(c, v);
                        pvp_leave(c, &s);
                }
                long long x;
                if ((v = pvp_enter(c, m, "vmid", &s))) {
                        if (pvp_t_int(c, v, PV_VMID_MIN, PV_VMID_MAX, &x))
                                vm->vmid = (uint32_t)x;
                        vm->vmid_loc = pvp_loc_of(c, v);
                        pvp_leave(c, &s);
                }
        }
        if (mode != VM_DEFAULTS && (v = pvp_enter(c, m, "template", &s))) {
                /* existence and chains are checked where templates are resolved */
                if (pvp_is_text(c, v, "a template name") && mode == VM_REAL)
                        vm->template_name = pvp_sdup(c, v->text);
                pvp_leave(c, &s);
        }
        int e;
        if (pvp_o_enum(c, m, "state", state_names, &e) == 1)
                vm->state = (enum pv_vm_state)e;
        if (pvp_o_enum(c, m, "machine", machine_names, &e) == 1)
                vm->machine = e == 0 ? PV_MACHINE_Q35 : PV_MACHINE_I440FX;
        pvp_o_str(c, m, "machine_version", pvp_re_machver, "a machine version such as 9.2 or 9.2+pve1", &vm->machine_version);
        if (pvp_o_enum(c, m, "bios", bios_names, &e) == 1)
                vm->bios = e == 0 ? PV_BIOS_SEABIOS : PV_BIOS_OVMF;
        if ((v = pvp_enter(c, m, "efidisk", &s))) {
                if (pvp_is_map(c, v)) {
                        pvp_check_keys(c, v, efidisk_keys);
                        pvp_require(c, v, "storage");
                        pvp_o_str(c, v, "storage", pvp_re_storage, "a storage id such as local-lvm", &vm->efidisk_storage);
                        pvp_o_bool(c, v, "pre_enrolled_keys", &vm->efidisk_pre_enrolled_keys);
                }
                pvp_leave(c, &s);
        }
        if ((v = pvp_enter(c, m, "cpu", &s))) {
                type_cpu(c, v, vm);
                pvp_leave(c, &s);
        }
        long long x;
        if (pvp_o_int(c, m, "cores", 1, 1024, &x) == 1)
                vm->cores = (unsigned)x;
        if (pvp_o_int(c, m, "sockets", 1, 16, &x) == 1)
                vm->sockets = (unsigned)x;
        uint64_t mib;
        if ((v = pvp_enter(c, m, "memory", &s))) {
                if (pvp_t_size(c, v, false, 16, &mib))
                        vm->memory_mib = mib;
                pvp_leave(c, &s);
        }
        if ((v = pvp_enter(c, m, "balloon", &s))) {
                if (pvp_t_size(c, v, false, 0, &mib))
                        vm->balloon_mib = (int64_t)mib;
                pvp_leave(c, &s);
        }
        if ((v = pvp_enter(c, m, "hugepages", &s))) {
                int i = -1;
                if (v->kind == Y_SCALAR && v->stype != YS_NULL) {
                        if (!strcmp(v->text, "any"))
                                i = 2;
                        else if (pvp_parse_size(v->text, false, &mib) == SIZE_OK && (mib == 2 || mib == 1024))
                                i = mib == 2 ? 0 : 1;
                }
                if (i < 0)
                        i = pvp_t_enum(c, v, hugepage_names);
                if (i >= 0)
                        vm->hugepages = pvp_sdup(c, i == 0 ? "2" : i == 1 ? "1024" : "any");
                pvp_leave(c, &s);
        }
        pvp_o_tri(c, m, "numa", &vm->numa);
        if (pvp_o_enum(c, m, "scsihw", scsihw_names, &e) == 1)
                vm->scsihw = pvp_sdup(c, scsihw_names[e]);
        if (pvp_o_enum(c, m, "vga", vga_names, &e) == 1)
                vm->vga = pvp_sdup(c, vga_names[e]);
        if (pvp_o_enum(c, m, "ostype", ostype_names, &e) == 1)
                vm->ostype = pvp_sdup(c, ostype_names[e]);
        pvp_o_strlist(c, m, "tags", pvp_re_tag, "a tag ([a-zA-Z0-9_][a-zA-Z0-9_+.-]*)", &vm->tags, NULL);
        pvp_o_tri(c, m, "onboot", &vm->onboot);
        const struct ynode ***no_src = NULL;
        TYPE_LIST(c, m, "disks", vm->disks, vm->n_disks, src ? &src->disks : no_src, type_disk);
        TYPE_LIST(c, m, "networks", vm->nets, vm->n_nets, src ? &src->nets : no_src, type_net);
        TYPE_LIST(c, m, "pci", vm->pci, vm->n_pci, src ? &src->pci : no_src, type_pcidev);
        if (vm->n_pci > PV_MAX_HOSTPCI && (v = pvp_enter(c, m, "pci", &s))) {
                size_t mk = pvp_path_idx(c, PV_MAX_HOSTPCI);
                pvp_diag(c, false, v->items[PV_MAX_HOSTPCI],
                         "'%s' is one PCI device too many: Proxmox allows at most %u per VM (hostpci0..%u), "
                         "this VM has %zu",
                         c->path.buf, PV_MAX_HOSTPCI, PV_MAX_HOSTPCI - 1, vm->n_pci);
                pvp_path_pop(c, mk);
                pvp_leave(c, &s);
        }
        pvp_type_vm_extras(c, m, vm);
}

/* ------------------------------------------------------- templates, merge */

struct tmpl {
        const char *name;
        const struct ynode *key, *map;
        const struct ynode *base;       /* value of its `template:` key, or NULL */
};

struct parse {
        struct pvp_ctx *c;
        struct tmpl *t;
        size_t n_t;
        const char **names;             /* NULL-terminated template names, for hints */
        const struct ynode *defaults;   /* `defaults:` mapping or NULL */
};

static const struct tmpl *find_tmpl(const struct parse *P, const struct ynode *v) {
        if (!v || v->kind != Y_SCALAR || v->stype == YS_NULL)
                return NULL;
        for (size_t i = 0; i < P->n_t; i++)
                if (!strcmp(P->t[i].name, v->text))
                        return &P->t[i];
        return NULL;
}

static void report_missing_tmpl(struct parse *P, const struct ynode *v) {
        struct pvp_ctx *c = P->c;
        if (v->kind != Y_SCALAR || v->stype == YS_NULL)
                return; /* reported as a type error */
        const char *hint = pvp_suggest(v->text, P->names);
        VERR(c, v, "names template '%.60s', which does not exist%s%s%s", v->text, hint ? "; did you mean '" : "",
             hint ? hint : "", hint ? "'?" : "");
}

static void type_templates(struct parse *P, const struct ynode *v) {
        struct pvp_ctx *c = P->c;
        if (!pvp_is_map(c, v) || !v->n_pairs)
                return;
        P->t = pv_xcalloc(v->n_pairs, sizeof(*P->t));
        P->names = pv_xcalloc(v->n_pairs + 1, sizeof(*P->names));
        for (size_t i = 0; i < v->n_pairs && !c->stop; i++) {
                const struct ypair *p = &v->pairs[i];
                size_t mk = pvp_path_key(c, p->key->text);
                if (!pvp_re_template(p->key->text))
                        pvp_diag(c, false, p->key,
                                 "template name '%.60s' must start with a lower-case letter or digit and hold only "
                                 "lower-case letters, digits, '-' and '_'",
                                 p->key->text);
                if (pvp_is_map(c, p->value)) {
                        pvp_check_keys(c, p->value, vm_keys);
                        const struct ypair *b = pvp_ymap_find(p->value, "template");
                        P->t[P->n_t] = (struct tmpl){ p->key->text, p->key, p->value, b ? b->value : NULL };
                        P->names[P->n_t++] = p->key->text;
                        struct pv_vm scratch = { 0 };
                        type_vm(c, p->value, VM_TEMPLATE, &scratch, NULL);
                        pvp_vm_done(&scratch);
                }
                pvp_path_pop(c, mk);
        }
        /* bases exist; chains stay ≤ 8 and acyclic (c->path is "templates" here) */
        for (size_t i = 0; i < P->n_t && !c->stop; i++) {
                const struct tmpl *t = &P->t[i];
                if (!t->base)
                        continue;
                size_t mk = pvp_path_key(c, t->name);
                pvp_path_key(c, "template");
                if (!find_tmpl(P, t->base))
                        report_missing_tmpl(P, t->base);
                pvp_path_pop(c, mk);
                const struct tmpl *walk[PVP_MAX_TEMPLATE_CHAIN] = { t };
                size_t depth = 1;
                for (const struct tmpl *cur = t, *next; (next = find_tmpl(P, cur->base)); cur = next) {
                        bool seen = false;
                        for (size_t k = 1; k < depth; k++)
                                seen |= walk[k] == next;
                        if (seen)
                                break; /* a loop not through t: reported from its own members */
                        mk = pvp_path_key(c, cur->name);
                        pvp_path_key(c, "template");
                        if (next == t)
                                VERR(c, cur->base, "closes a cycle: template '%s' inherits from itself", t->name);
                        else if (depth == PVP_MAX_TEMPLATE_CHAIN)
                                VERR(c, cur->base, "makes the template chain from '%s' longer than %u templates",
                                     t->name, PVP_MAX_TEMPLATE_CHAIN);
                        pvp_path_pop(c, mk);
                        if (next == t || depth == PVP_MAX_TEMPLATE_CHAIN)
                                break;
                        walk[depth++] = next;
                }
        }
}

static bool vm_key_inheritable(const char *k) {
        return pvp_in_list(k, vm_keys) && strcmp(k, "name") && strcmp(k, "node") && strcmp(k, "vmid") &&
               strcmp(k, "template");
}

static void overlay(struct ynode *dst, const struct ynode *src, bool inherited) {
        for (size_t i = 0; i < src->n_pairs; i++) {
                const struct ypair *p = &src->pairs[i];
                if (inherited && !vm_key_inheritable(p->key->text))
                        continue;
                pvp_ymap_set(dst, p->key, p->value, inherited);
        }
}

/* defaults < template chain (base first) < the VM itself, per top-level key. */
static const struct ynode *merge_vm(struct parse *P, const struct ynode *vm) {
        struct pvp_ctx *c = P->c;
        struct ynode *m = pvp_ynode_new_map(&c->arena, vm->line, vm->col);
        const struct tmpl *chain[PVP_MAX_TEMPLATE_CHAIN];
        size_t n = 0;
        const struct ypair *tp = pvp_ymap_find(vm, "template");
        if (tp) {
                const struct tmpl *t = find_tmpl(P, tp->value);
                if (!t) {
                        size_t mk = pvp_path_key(c, "template");
                        report_missing_tmpl(P, tp->value);
                        pvp_path_pop(c, mk);
                }
                while (t && n < PVP_MAX_TEMPLATE_CHAIN) {
                        bool seen = false;
                        for (size_t i = 0; i < n; i++)
                                seen |= chain[i] == t;
                        if (seen)
                                break;
                        chain[n++] = t;
                        t = find_tmpl(P, t->base);
                }
        }
        if (P->defaults)
                overlay(m, P->defaults, true);
        for (size_t i = n; i > 0; i--)
                overlay(m, chain[i - 1]->map, true);
        overlay(m, vm, false);
        return m;
}

/* ---------------------------------------------------------------- profile */

static const char *const top_keys[] = { "version", "cluster", "defaults", "templates", "hosts", "mappings", "vms",
                                        "usb_mappings", NULL };

void pvp_type_profile(struct pvp_ctx *c, const struct ynode *root) {
        struct pv_profile *p = c->p;
        struct parse P = { .c = c };
        if (root->kind != Y_MAP) {
                pvp_diag(c, false, root,
                         "the profile must be a mapping of keys (version, cluster, hosts, mappings, vms, …), not %s",
                         pvp_ykind_name(root));
                return;
        }
        pvp_check_keys(c, root, top_keys);
        struct pvp_scope s = { 0 };
        const struct ynode *v;
        if ((v = pvp_enter(c, root, "version", &s))) {
                if (v->kind == Y_SCALAR && v->stype == YS_INT && v->ival == 1 && !v->int_overflow)
                        p->version = 1;
                else if (v->kind == Y_SCALAR && v->stype == YS_INT)
                        VERR(c, v, "is %.20s, but this pvfio reads profile version 1 only", v->text);
                else
                        VERR(c, v, "must be the integer 1, " GOT, GOTV(v));
                pvp_leave(c, &s);
        } else {
                pvp_diag(c, false, root, "missing required key 'version' (write 'version: 1' at the top)");
        }
        if ((v = pvp_enter(c, root, "cluster", &s))) {
                pvp_type_cluster(c, v);
                pvp_leave(c, &s);
        }
        if ((v = pvp_enter(c, root, "templates", &s))) {
                type_templates(&P, v);
                pvp_leave(c, &s);
        }
        if ((v = pvp_enter(c, root, "defaults", &s))) {
                if (pvp_is_map(c, v)) {
                        pvp_check_keys(c, v, vm_keys);
                        P.defaults = v;
                        struct pv_vm scratch = { 0 };
                        type_vm(c, v, VM_DEFAULTS, &scratch, NULL);
                        pvp_vm_done(&scratch);
                }
                pvp_leave(c, &s);
        }
        if ((v = pvp_enter(c, root, "hosts", &s))) {
                if (pvp_is_seq(c, v) && v->n_items) {
                        p->hosts = pv_xcalloc(v->n_items, sizeof(*p->hosts));
                        c->host_src = pv_xcalloc(v->n_items, sizeof(*c->host_src));
                        for (size_t i = 0; !c->stop && i < v->n_items; i++) {
                                size_t mk = pvp_path_idx(c, i);
                                if (pvp_is_map(c, v->items[i])) {
                                        c->host_src[p->n_hosts] = (struct pvp_item_src){ v->items[i], i };
                                        pvp_type_host(c, v->items[i], &p->hosts[p->n_hosts++]);
                                }
                                pvp_path_pop(c, mk);
                        }
                }
                pvp_leave(c, &s);
        }
        if ((v = pvp_enter(c, root, "mappings", &s))) {
                if (pvp_is_seq(c, v) && v->n_items) {
                        p->mappings = pv_xcalloc(v->n_items, sizeof(*p->mappings));
                        c->mapping_src = pv_xcalloc(v->n_items, sizeof(*c->mapping_src));
                        for (size_t i = 0; !c->stop && i < v->n_items; i++) {
                                size_t mk = pvp_path_idx(c, i);
                                if (pvp_is_map(c, v->items[i])) {
                                        c->mapping_src[p->n_mappings] = (struct pvp_item_src){ v->items[i], i };
                                        pvp_type_mapping(c, v->items[i], &p->mappings[p->n_mappings++]);
                                }
                                pvp_path_pop(c, mk);
                        }
                }
                pvp_leave(c, &s);
        }
        if ((v = pvp_enter(c, root, "usb_mappings", &s))) {
                pvp_type_usb_mappings(c, v); /* profile_usbmap.c */
                pvp_leave(c, &s);
        }
        if ((v = pvp_enter(c, root, "vms", &s))) {
                if (pvp_is_seq(c, v) && v->n_items) {
                        p->vms = pv_xcalloc(v->n_items, sizeof(*p->vms));
                        c->vm_src = pv_xcalloc(v->n_items, sizeof(*c->vm_src));
                        for (size_t i = 0; !c->stop && i < v->n_items; i++) {
                                const struct ynode *it = v->items[i];
                                size_t mk = pvp_path_idx(c, i);
                                if (pvp_is_map(c, it)) {
                                        pvp_check_keys(c, it, vm_keys);
                                        const struct ynode *merged = merge_vm(&P, it);
                                        struct pvp_vm_src *src = &c->vm_src[p->n_vms];
                                        src->idx = i;
                                        type_vm(c, merged, VM_REAL, &p->vms[p->n_vms++], src);
                                }
                                pvp_path_pop(c, mk);
                        }
                }
                pvp_leave(c, &s);
        }
        free(P.t);
        free(P.names);
}

/* ------------------------------------------------------ tables for tests */

const struct pv_profile_keyset pv_profile_keysets[] = {
        { "", top_keys },
        { "/definitions/cluster", pvp_cluster_keys },
        { "/definitions/auth", pvp_auth_keys },
        { "/definitions/tls", pvp_tls_keys },
        { "/definitions/ssh", pvp_ssh_keys },
        { "/definitions/sshNode", pvp_ssh_node_keys },
        { "/definitions/host", pvp_host_keys },
        { "/definitions/vfioSelector", pvp_devsel_keys },
        { "/definitions/vfioSelector/properties/match", pvp_match_keys },
        { "/definitions/sriov", pvp_sriov_keys },
        { "/definitions/mapping", pvp_mapping_keys },
        { "/definitions/usbMapping", pvp_usb_mapping_keys },
        { "/definitions/usbMapEntry", pvp_usb_map_entry_keys },
        { "/definitions/mapEntry", pvp_map_entry_keys },
        { "/definitions/vm", vm_keys },
        { "/definitions/efidisk", efidisk_keys },
        { "/definitions/cpu", cpu_keys },
        { "/definitions/disk", disk_keys },
        { "/definitions/network", net_keys },
        { "/definitions/pciDevice", pci_keys },
        { "/definitions/romfile", pvp_romfile_keys },
        { NULL, NULL },
};
