/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Profile loading, stage 3: the semantic rules that span several values
 * (duplicates, references, per-VM PCI rules, auth vs raw devices, unsafe
 * kernel arguments). They read the typed model and take positions from the
 * merged YAML nodes kept in struct pvp_ctx, so each problem is reported at
 * the offending key — a template's line when the key came from a template.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "pvfio/cleanup.h"
#include "pvfio/xalloc.h"
#include "profile_int.h"

/* Reset the key path to a formatted base ("vms[3].pci[1]"). */
static void path_set(struct pvp_ctx *c, const char *fmt, ...) PV_PRINTF(2, 3);
static void path_set(struct pvp_ctx *c, const char *fmt, ...) {
        va_list ap;
        pv_buf_reset(&c->path);
        va_start(ap, fmt);
        if (pv_buf_vaddf(&c->path, NULL, fmt, ap) < 0)
                pvp_oom(c);
        va_end(ap);
}

/* Report at `key` of mapping m (or at m when the key is absent), with "<path>.<key>" as the key path. */
static void at_key(struct pvp_ctx *c, bool warning, const struct ynode *m, const char *key, const char *fmt, ...)
        PV_PRINTF(5, 6);
static void at_key(struct pvp_ctx *c, bool warning, const struct ynode *m, const char *key, const char *fmt, ...) {
        const struct ypair *p = pvp_ymap_find(m, key);
        va_list ap;
        char *msg = NULL;
        va_start(ap, fmt);
        if (vasprintf(&msg, fmt, ap) < 0)
                pv_oom(strlen(fmt));    /* allocation does not fail (pvfio/xalloc.h) */
        va_end(ap);
        size_t mk = pvp_path_key(c, key);
        pvp_diag(c, warning, p ? p->key : m, "%s", msg);
        pvp_path_pop(c, mk);
        free(msg);
}

static unsigned line_of(const struct ynode *m, const char *key) {
        const struct ypair *p = pvp_ymap_find(m, key);
        return p ? p->key->line : m ? m->line : 0;
}

/* ------------------------------------------------------------ duplicates */

struct ent {
        const char *key;
        unsigned long long num;
        size_t i;
};

static int ent_cmp_str(const void *a, const void *b) {
        const struct ent *x = a, *y = b;
        int r = strcmp(x->key, y->key);
        return r ? r : x->i < y->i ? -1 : x->i > y->i;
}

static int ent_cmp_num(const void *a, const void *b) {
        const struct ent *x = a, *y = b;
        if (x->num != y->num)
                return x->num < y->num ? -1 : 1;
        return x->i < y->i ? -1 : x->i > y->i;
}

static void check_duplicates(struct pvp_ctx *c) {
        struct pv_profile *p = c->p;
        size_t n = p->n_vms > p->n_mappings ? p->n_vms : p->n_mappings;
        if (!n)
                return;
        _cleanup_free_ struct ent *e = pv_xcalloc(n, sizeof(*e));
        size_t k = 0;
        for (size_t i = 0; i < p->n_vms; i++)
                if (p->vms[i].name)
                        e[k++] = (struct ent){ p->vms[i].name, 0, i };
        qsort(e, k, sizeof(*e), ent_cmp_str);
        for (size_t j = 1; j < k; j++)
                if (!strcmp(e[j].key, e[j - 1].key)) {
                        size_t first = j - 1;
                        while (first > 0 && !strcmp(e[first - 1].key, e[j].key))
                                first--;
                        const struct pvp_vm_src *s = &c->vm_src[e[j].i], *f = &c->vm_src[e[first].i];
                        path_set(c, "vms[%zu]", s->idx);
                        at_key(c, false, s->map, "name", "duplicate VM name '%s' (also vms[%zu], line %u)", e[j].key,
                               f->idx, line_of(f->map, "name"));
                }
        k = 0;
        for (size_t i = 0; i < p->n_vms; i++)
                if (p->vms[i].vmid)
                        e[k++] = (struct ent){ NULL, p->vms[i].vmid, i };
        qsort(e, k, sizeof(*e), ent_cmp_num);
        for (size_t j = 1; j < k; j++)
                if (e[j].num == e[j - 1].num) {
                        size_t first = j - 1;
                        while (first > 0 && e[first - 1].num == e[j].num)
                                first--;
                        const struct pvp_vm_src *s = &c->vm_src[e[j].i], *f = &c->vm_src[e[first].i];
                        path_set(c, "vms[%zu]", s->idx);
                        at_key(c, false, s->map, "vmid", "duplicate vmid %llu (also vms[%zu], line %u)", e[j].num,
                               f->idx, line_of(f->map, "vmid"));
                }
        k = 0;
        for (size_t i = 0; i < p->n_mappings; i++)
                if (p->mappings[i].id)
                        e[k++] = (struct ent){ p->mappings[i].id, 0, i };
        qsort(e, k, sizeof(*e), ent_cmp_str);
        for (size_t j = 1; j < k; j++)
                if (!strcmp(e[j].key, e[j - 1].key)) {
                        size_t first = j - 1;
                        while (first > 0 && !strcmp(e[first - 1].key, e[j].key))
                                first--;
                        const struct pvp_item_src *s = &c->mapping_src[e[j].i], *f = &c->mapping_src[e[first].i];
                        path_set(c, "mappings[%zu]", s->idx);
                        at_key(c, false, s->map, "id", "duplicate mapping id '%s' (also mappings[%zu], line %u)",
                               e[j].key, f->idx, line_of(f->map, "id"));
                }
}

/* ------------------------------------------------------------------ hosts */

static bool unsafe_arg(const char *arg) {
        return pv_startswith(arg, "pcie_acs_override") || strstr(arg, "allow_unsafe_interrupts");
}

/*
 * Kernel arguments that change what boots rather than how devices are handed over: pvfio would
 * be rewriting the root filesystem, the first process, the initramfs or the boot target, and a
 * typo there leaves a node that does not come back (or, with init=/bin/sh, a root shell on the
 * console). Names compare as the kernel does ('-' = '_'); "rd." is a prefix (dracut options).
 */
static const struct {
        const char *name;
        const char *what;
} boot_args[] = {
        { "root", "the root filesystem" },          { "rootfstype", "the root filesystem" },
        { "rootflags", "the root filesystem" },     { "nfsroot", "the root filesystem" },
        { "ro", "how the root filesystem is mounted" }, { "rw", "how the root filesystem is mounted" },
        { "init", "the first process" },            { "rdinit", "the initramfs' first process" },
        { "initrd", "the initramfs" },              { "boot", "the initramfs boot script (boot=zfs)" },
        { "break", "the initramfs (a shell at a breakpoint)" },
        { "rd.", "the initramfs (dracut options)" },
        { "resume", "the hibernation image it resumes" }, { "resume_offset", "the hibernation image it resumes" },
        { "single", "the boot target (single-user shell)" }, { "s", "the boot target (single-user shell)" },
        { "S", "the boot target (single-user shell)" },
        { "1", "the boot target (single-user shell)" }, { "emergency", "the boot target (emergency shell)" },
        { "rescue", "the boot target (rescue shell)" }, { "systemd.unit", "the boot target" },
        { "systemd.debug_shell", "the consoles (a root shell on tty9)" },
};
#define KARG_MAX_LEN 256     /* one argument */
#define KARGS_MAX_TOTAL 1024 /* all of a host's kernel_args: x86 kernels take 2048 bytes in all */

static const char *boot_changing_arg(const char *arg) {
        size_t n = strcspn(arg, "=");
        for (size_t i = 0; i < sizeof boot_args / sizeof boot_args[0]; i++) {
                const char *b = boot_args[i].name;
                size_t bl = strlen(b);
                bool prefix = b[bl - 1] == '.';
                if (prefix ? n < bl : n != bl)
                        continue;
                size_t k = 0;
                while (k < bl && (arg[k] == b[k] || ((arg[k] == '-' || arg[k] == '_') && (b[k] == '-' || b[k] == '_'))))
                        k++;
                if (k == bl)
                        return boot_args[i].what;
        }
        return NULL;
}

static void check_kernel_arg_limits(struct pvp_ctx *c, const struct pv_host_spec *h, const struct pvp_item_src *src) {
        size_t total = 0;
        for (size_t k = 0; k < h->kernel_args.n; k++) {
                const char *arg = h->kernel_args.v[k], *what = boot_changing_arg(arg);
                size_t len = strlen(arg);
                total += len + 1;
                if (!what && len <= KARG_MAX_LEN && total <= KARGS_MAX_TOTAL + 1)
                        continue;
                path_set(c, "hosts[%zu].kernel_args[%zu]", src->idx, k);
                unsigned line = h->kernel_arg_locs ? h->kernel_arg_locs[k].line : line_of(src->map, "kernel_args");
                unsigned col = h->kernel_arg_locs ? h->kernel_arg_locs[k].col : 0;
                if (what)
                        pvp_diag_at(c, false, line, col, c->path.buf,
                                    "kernel argument '%.80s' changes %s, not device passthrough; pvfio does not write "
                                    "it (set it in the boot configuration yourself if you mean it)",
                                    arg, what);
                else if (len > KARG_MAX_LEN)
                        pvp_diag_at(c, false, line, col, c->path.buf,
                                    "kernel argument '%.40s…' is %zu characters long; the limit is %d", arg, len,
                                    KARG_MAX_LEN);
                else
                        pvp_diag_at(c, false, line, col, c->path.buf,
                                    "kernel_args add up to more than %d characters; the kernel's whole command line "
                                    "is limited (2048 bytes on x86)",
                                    KARGS_MAX_TOTAL);
                if (!what && len <= KARG_MAX_LEN)
                        return;    /* the total is reported once */
        }
}

static int node_ent_cmp(const void *a, const void *b) {
        return ent_cmp_str(a, b);
}

static void check_hosts(struct pvp_ctx *c) {
        struct pv_profile *p = c->p;
        size_t all_at = (size_t)-1, total = 0;
        for (size_t i = 0; i < p->n_hosts && !c->stop; i++) {
                const struct pv_host_spec *h = &p->hosts[i];
                const struct pvp_item_src *src = &c->host_src[i];
                total += h->nodes.n;
                check_kernel_arg_limits(c, h, src);
                for (size_t k = 0; k < h->kernel_args.n; k++) {
                        const char *arg = h->kernel_args.v[k];
                        if (h->allow_unsafe || !unsafe_arg(arg) || !h->kernel_arg_locs)
                                continue;
                        path_set(c, "hosts[%zu].kernel_args[%zu]", src->idx, k);
                        const struct pv_loc *l = &h->kernel_arg_locs[k];
                        if (pv_startswith(arg, "pcie_acs_override"))
                                pvp_diag_at(c, false, l->line, l->col, c->path.buf,
                                            "kernel argument '%.80s' needs 'allow_unsafe: true' on this host: the ACS "
                                            "override splits IOMMU groups the hardware does not isolate, so a passed-"
                                            "through device may still reach the host's or other devices' memory",
                                            arg);
                        else
                                pvp_diag_at(c, false, l->line, l->col, c->path.buf,
                                            "kernel argument '%.80s' needs 'allow_unsafe: true' on this host: unsafe "
                                            "interrupts let a passed-through device inject interrupts into the host "
                                            "(no interrupt remapping)",
                                            arg);
                }
                if (h->vgpu == PV_VGPU_NVIDIA_SRIOV)
                        for (size_t k = 0; k < h->n_vfio; k++) {
                                const struct pv_devsel *d = &h->vfio[k];
                                bool nv = (d->kind == PV_DEVSEL_ID && d->id.vendor == 0x10de) ||
                                          (d->kind == PV_DEVSEL_MATCH && d->has_vendor && d->vendor == 0x10de);
                                if (!nv)
                                        continue;
                                path_set(c, "hosts[%zu].vfio[%zu]", src->idx, k);
                                pvp_diag_at(c, true, d->loc.line, d->loc.col, c->path.buf,
                                            "'vgpu: nvidia-sriov' keeps the NVIDIA host driver bound, but this "
                                            "selector hands NVIDIA devices (vendor 10de) to vfio-pci");
                        }
                if (all_at != (size_t)-1) {
                        path_set(c, "hosts[%zu]", src->idx);
                        at_key(c, true, src->map, "nodes",
                               "this host entry never applies: hosts[%zu] already selects all nodes (the first "
                               "matching entry wins)",
                               c->host_src[all_at].idx);
                } else if (h->all_nodes) {
                        all_at = i;
                }
        }
        if (!total)
                return;
        _cleanup_free_ struct ent *e = pv_xcalloc(total, sizeof(*e));
        size_t k = 0;
        for (size_t i = 0; i < p->n_hosts; i++)
                for (size_t j = 0; j < p->hosts[i].nodes.n; j++)
                        e[k++] = (struct ent){ p->hosts[i].nodes.v[j], 0, i };
        qsort(e, k, sizeof(*e), node_ent_cmp);
        for (size_t j = 1; j < k; j++)
                if (!strcmp(e[j].key, e[j - 1].key)) {
                        const struct pvp_item_src *s = &c->host_src[e[j].i];
                        path_set(c, "hosts[%zu]", s->idx);
                        if (e[j].i == e[j - 1].i)
                                at_key(c, false, s->map, "nodes", "node '%s' is listed twice", e[j].key);
                        else
                                at_key(c, true, s->map, "nodes",
                                       "node '%s' is already configured by hosts[%zu]; only the first matching entry "
                                       "applies",
                                       e[j].key, c->host_src[e[j - 1].i].idx);
                }
}

/* -------------------------------------------------------------------- VMs */

#define ROOT_NEEDED                                                                                                   \
        "Proxmox accepts raw hostpciN only from root@pam (an API token, even root@pam!tok, is refused with 'only "     \
        "root can set …'); declare a mapping and use 'mapping: <id>' instead, or switch cluster.auth to 'user: "      \
        "root@pam'"

static bool needs_root_session(const struct pv_cluster *cl) {
        return cl->auth == PV_AUTH_TOKEN || (cl->auth == PV_AUTH_PASSWORD && cl->user && strcmp(cl->user, "root@pam"));
}

static const char *mapping_ids_hint(struct pvp_ctx *c, const char *id) {
        struct pv_profile *p = c->p;
        if (!p->n_mappings)
                return NULL;
        _cleanup_free_ const char **ids = calloc(p->n_mappings + 1, sizeof(*ids));
        if (!ids)
                return NULL;
        size_t k = 0;
        for (size_t i = 0; i < p->n_mappings; i++)
                if (p->mappings[i].id)
                        ids[k++] = p->mappings[i].id;
        return pvp_suggest(id, ids);
}

static bool addr_is_igd(const struct pv_pci_addr *a) {
        return a->dev == 2 && a->func == 0;
}

static void check_legacy_igd(struct pvp_ctx *c, const struct pv_vm *vm, const struct pv_pcidev *d,
                             const struct ynode *pm) {
        const char *k = "legacy_igd";
        char a[PV_PCI_ADDR_MAX];
        if (d->kind == PV_PCIDEV_VF_POOL)
                at_key(c, false, pm, k, "legacy IGD needs the integrated GPU itself ('address: 0000:00:02.0'), not an "
                                        "SR-IOV VF");
        if (d->kind == PV_PCIDEV_RAW && d->n_addrs > 1)
                at_key(c, false, pm, k, "legacy IGD cannot pass several devices together: give the one IGD address");
        else if (d->kind == PV_PCIDEV_RAW && d->n_addrs == 1 && !addr_is_igd(&d->addrs[0])) {
                pv_pci_addr_format(&d->addrs[0], a);
                at_key(c, false, pm, k,
                       "legacy IGD must be the integrated GPU at XX:02.0, one function (e.g. 0000:00:02.0), not '%s'",
                       a);
        }
        if (d->kind == PV_PCIDEV_MAPPING && d->mapping && vm->node) {
                const struct pv_mapping *mp = pv_profile_find_mapping(c->p, d->mapping);
                size_t n = 0;
                const struct pv_map_entry *hit = NULL;
                for (size_t i = 0; mp && i < mp->n_map; i++)
                        if (mp->map[i].node && !strcmp(mp->map[i].node, vm->node))
                                n++, hit = &mp->map[i];
                if (n > 1)
                        at_key(c, false, pm, k,
                               "legacy IGD cannot use mapping '%s': it has %zu alternative entries for node '%s'",
                               d->mapping, n, vm->node);
                else if (hit && (hit->n_paths != 1 || !addr_is_igd(&hit->paths[0])))
                        at_key(c, false, pm, k,
                               "legacy IGD must be the integrated GPU at XX:02.0, one function; mapping '%s' maps "
                               "something else on node '%s'",
                               d->mapping, vm->node);
        }
        if (vm->machine == PV_MACHINE_Q35)
                at_key(c, false, pm, k, "legacy IGD needs machine i440fx, but this VM uses q35");
        if (!vm->vga || strcmp(vm->vga, "none"))
                at_key(c, false, pm, k, "legacy IGD needs 'vga: none' on the VM (%s%s%s)", vm->vga ? "not '" : "",
                       vm->vga ? vm->vga : "without 'vga' Proxmox uses 'std'", vm->vga ? "'" : "");
        if (d->rombar == 0)
                at_key(c, false, pm, k, "legacy IGD needs the ROM BAR: remove 'rombar: false'");
        if (d->primary == 1)
                at_key(c, false, pm, k, "legacy IGD cannot be combined with 'primary' (x-vga) on the same device");
        if (d->mdev)
                at_key(c, false, pm, k, "legacy IGD cannot be combined with 'mdev'");
}

static void check_vm(struct pvp_ctx *c, size_t i) {
        const struct pv_vm *vm = &c->p->vms[i];
        const struct pvp_vm_src *src = &c->vm_src[i];
        const struct ynode *m = src->map;
        const struct pv_cluster *cl = &c->p->cluster;
        bool absent = vm->state == PV_STATE_ABSENT;

        path_set(c, "vms[%zu]", src->idx);
        if (vm->balloon_mib > 0 && vm->memory_mib && (uint64_t)vm->balloon_mib > vm->memory_mib)
                at_key(c, false, m, "balloon", "'balloon' (%lld MiB) must not exceed 'memory' (%llu MiB)",
                       (long long)vm->balloon_mib, (unsigned long long)vm->memory_mib);
        if (vm->bios == PV_BIOS_OVMF && !pvp_ymap_find(m, "efidisk"))
                at_key(c, true, m, "bios",
                       "'bios: ovmf' without 'efidisk': the EFI variables (boot order, Secure Boot keys) are not "
                       "kept; add 'efidisk: { storage: … }'");
        if (vm->bios != PV_BIOS_OVMF && pvp_ymap_find(m, "efidisk"))
                at_key(c, true, m, "efidisk", "'efidisk' is only used with 'bios: ovmf'");
        if (!absent && vm->hugepages && needs_root_session(cl))
                at_key(c, false, m, "hugepages",
                       "'hugepages' needs a root@pam password session: Proxmox lets only root@pam set it (an API "
                       "token, even root@pam!tok, is refused with 'only root can set 'hugepages' config'); switch "
                       "cluster.auth to 'user: root@pam' or drop 'hugepages'");

        uint32_t disk_used[4] = { 0 };
        for (size_t j = 0; j < vm->n_disks && src->disks; j++) {
                const struct pv_disk *d = &vm->disks[j];
                if (d->index < 0 || (unsigned)d->bus >= 4)
                        continue;
                if (disk_used[d->bus] & (1u << d->index)) {
                        path_set(c, "vms[%zu].disks[%zu]", src->idx, j);
                        at_key(c, false, src->disks[j], "index", "disk index %d is used twice on this bus", d->index);
                }
                disk_used[d->bus] |= 1u << d->index;
        }
        uint32_t net_used = 0;
        for (size_t j = 0; j < vm->n_nets && src->nets; j++) {
                const struct pv_net *n = &vm->nets[j];
                if (n->index < 0 || n->index > 31)
                        continue;
                if (net_used & (1u << n->index)) {
                        path_set(c, "vms[%zu].networks[%zu]", src->idx, j);
                        at_key(c, false, src->nets[j], "index", "network index %d (net%d) is used twice", n->index,
                               n->index);
                }
                net_used |= 1u << n->index;
        }

        const struct ynode *first_primary = NULL, *first_igd = NULL, *slot_at[PV_MAX_HOSTPCI] = { 0 };
        for (size_t j = 0; j < vm->n_pci && src->pci && !c->stop; j++) {
                const struct pv_pcidev *d = &vm->pci[j];
                const struct ynode *pm = src->pci[j];
                if (!pm || pm->kind != Y_MAP)
                        continue;
                path_set(c, "vms[%zu].pci[%zu]", src->idx, j);
                if (d->slot >= 0 && d->slot < PV_MAX_HOSTPCI) {
                        if (slot_at[d->slot])
                                at_key(c, false, pm, "slot", "hostpci slot %d is used twice in this VM (first at line %u)",
                                       d->slot, slot_at[d->slot]->line);
                        else
                                slot_at[d->slot] = pvp_ymap_find(pm, "slot")->key;
                }
                if (d->primary == 1) {
                        if (first_primary)
                                at_key(c, false, pm, "primary",
                                       "'primary: true' (x-vga) on more than one device of this VM (first at line %u): "
                                       "only one device can be the primary GPU",
                                       first_primary->line);
                        else
                                first_primary = pvp_ymap_find(pm, "primary")->key;
                }
                if (d->pcie == 1 && vm->machine != PV_MACHINE_Q35)
                        at_key(c, false, pm, "pcie",
                               "'pcie: true' needs 'machine: q35' (%s): Proxmox refuses to start the VM with 'q35 "
                               "machine model is not enabled'",
                               vm->machine == PV_MACHINE_I440FX ? "this VM uses i440fx"
                                                                : "no machine is set, so Proxmox uses i440fx");
                if (d->mdev && d->kind == PV_PCIDEV_RAW &&
                    (d->n_addrs > 1 || (d->n_addrs == 1 && d->addrs[0].func == PV_PCI_FUNC_ALL)))
                        at_key(c, false, pm, "mdev",
                               "'mdev' on a multi-function entry (%s): Proxmox refuses to start the VM with 'cannot "
                               "use mediated device with multifunction device'; give one address with its function "
                               "(e.g. 0000:01:00.0)",
                               d->n_addrs > 1 ? "several addresses" : "an address without function");
                if (d->legacy_igd == 1) {
                        if (first_igd)
                                at_key(c, false, pm, "legacy_igd",
                                       "'legacy_igd: true' on more than one device of this VM (first at line %u): only "
                                       "one legacy IGD is possible",
                                       first_igd->line);
                        else
                                first_igd = pvp_ymap_find(pm, "legacy_igd")->key;
                        check_legacy_igd(c, vm, d, pm);
                }
                if (!absent && needs_root_session(cl)) {
                        if (d->kind == PV_PCIDEV_RAW && pvp_ymap_find(pm, "address"))
                                at_key(c, false, pm, "address", "raw PCI device needs a root@pam password session: %s",
                                       ROOT_NEEDED);
                        if (d->kind == PV_PCIDEV_VF_POOL && pvp_ymap_find(pm, "vf_of"))
                                at_key(c, false, pm, "vf_of", "raw PCI device needs a root@pam password session: %s",
                                       ROOT_NEEDED);
                        if (d->romfile)
                                at_key(c, false, pm, "romfile",
                                       "'romfile' needs a root@pam password session: Proxmox accepts romfile only "
                                       "from root@pam (an API token, even root@pam!tok, is refused); switch "
                                       "cluster.auth to 'user: root@pam' or drop 'romfile'");
                }
                if (!absent && d->kind == PV_PCIDEV_MAPPING && d->mapping) {
                        const struct pv_mapping *mp = pv_profile_find_mapping(c->p, d->mapping);
                        if (!mp) {
                                const char *hint = mapping_ids_hint(c, d->mapping);
                                at_key(c, false, pm, "mapping",
                                       "mapping '%s' does not exist; declare it under 'mappings'%s%s%s", d->mapping,
                                       hint ? " (did you mean '" : "", hint ? hint : "", hint ? "'?)" : "");
                        } else if (vm->node) {
                                bool found = false, multi = false;
                                for (size_t k = 0; k < mp->n_map; k++) {
                                        const struct pv_map_entry *me = &mp->map[k];
                                        if (!me->node || strcmp(me->node, vm->node))
                                                continue;
                                        found = true;
                                        multi |= me->n_paths > 1 ||
                                                 (me->n_paths == 1 && me->paths[0].func == PV_PCI_FUNC_ALL);
                                }
                                if (!found)
                                        at_key(c, false, pm, "mapping", "mapping '%s' has no entry for node '%s'",
                                               d->mapping, vm->node);
                                if (d->mdev && !mp->mdev)
                                        at_key(c, false, pm, "mdev",
                                               "'mdev' needs a mapping declared with 'mdev: true', but mapping '%s' is "
                                               "not: Proxmox compares the flag with the hardware, and only mdev-capable "
                                               "devices offer mdev types",
                                               d->mapping);
                                if (d->mdev && multi)
                                        at_key(c, false, pm, "mdev",
                                               "mapping '%s' maps a multi-function device on node '%s' (an address "
                                               "without function, or several addresses): Proxmox refuses to start the "
                                               "VM with 'cannot use mediated device with multifunction device'",
                                               d->mapping, vm->node);
                        }
                }
                /* the same device twice (bounded: more than 16 entries is an error already) */
                if (d->kind == PV_PCIDEV_RAW && j < PV_MAX_HOSTPCI) {
                        bool dup = false;
                        for (size_t k = 0; k <= j && !dup; k++) {
                                const struct pv_pcidev *o = &vm->pci[k];
                                if (o->kind != PV_PCIDEV_RAW)
                                        continue;
                                for (size_t x = 0; x < d->n_addrs && !dup; x++)
                                        for (size_t y = 0; y < (k == j ? x : o->n_addrs) && !dup; y++)
                                                if (pv_pci_addr_overlap(&d->addrs[x], &o->addrs[y])) {
                                                        char a[PV_PCI_ADDR_MAX];
                                                        pv_pci_addr_format(&d->addrs[x], a);
                                                        if (k == j)
                                                                at_key(c, false, pm, "address",
                                                                       "device '%s' is listed twice in this entry", a);
                                                        else
                                                                at_key(c, false, pm, "address",
                                                                       "device '%s' is assigned more than once in "
                                                                       "this VM (also in pci[%zu])",
                                                                       a, k);
                                                        dup = true;
                                                }
                        }
                }
        }
}

/*
 * A map entry whose `path` joins functions of one device. Proxmox checks every
 * device of a path against the entry's single id and subsystem-id
 * (PVE::Mapping::PCI::assert_valid), so a GPU joined with its audio function
 * fails that check on the node and the VM does not start. The profile does not
 * say the functions' IDs (the plan refuses the path when the hardware shows
 * they differ); here it is a warning with the whole-device form to use.
 */
static void check_joined_paths(struct pvp_ctx *c) {
        for (size_t i = 0; i < c->p->n_mappings && !c->stop; i++) {
                const struct pv_mapping *m = &c->p->mappings[i];
                const struct pvp_item_src *src = &c->mapping_src[i];
                const struct ypair *mp = pvp_ymap_find(src->map, "map");
                if (!mp || mp->value->kind != Y_SEQ)
                        continue;
                for (size_t k = 0; k < m->n_map && k < mp->value->n_items; k++) {
                        const struct pv_map_entry *e = &m->map[k];
                        const struct pv_pci_addr *a = NULL, *b = NULL;
                        for (size_t x = 0; !a && x < e->n_paths; x++)
                                for (size_t y = x + 1; !a && y < e->n_paths; y++)
                                        if (e->paths[x].func != PV_PCI_FUNC_ALL && e->paths[y].func != PV_PCI_FUNC_ALL &&
                                            pv_pci_addr_same_slot(&e->paths[x], &e->paths[y])) {
                                                a = &e->paths[x];
                                                b = &e->paths[y];
                                        }
                        if (!a)
                                continue;
                        char sa[PV_PCI_ADDR_MAX], sb[PV_PCI_ADDR_MAX], whole[PV_PCI_ADDR_MAX];
                        struct pv_pci_addr w = *a;
                        w.func = PV_PCI_FUNC_ALL;
                        pv_pci_addr_format(a, sa);
                        pv_pci_addr_format(b, sb);
                        pv_pci_addr_format(&w, whole);
                        path_set(c, "mappings[%zu].map[%zu]", src->idx, k);
                        at_key(c, true, mp->value->items[k], "path",
                               "'%s.path' joins functions of one device (%s and %s); Proxmox checks every device of a path against the entry's one id and subsystem-id, so functions with different IDs (a GPU and its audio function) fail that check ('id' does not match) and the VM does not start: use the whole device 'path: %s' (all its functions); 'pvfio plan' refuses the path when the node's hardware shows different IDs",
                               c->path.buf, sa, sb, whole);
                }
        }
}

void pvp_check_profile(struct pvp_ctx *c) {
        check_duplicates(c);
        check_joined_paths(c);
        check_hosts(c);
        for (size_t i = 0; i < c->p->n_vms && !c->stop; i++)
                check_vm(c, i);
        pvp_check_vm_extras(c);
        pvp_check_usb_mappings(c);
        pv_buf_reset(&c->path);
}
