/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The host side of the rest of a passthrough setup (issue 14): what the VMs of
 * one node need from the node beyond vfio binding. Planned after the host
 * section's own plan (cmd/localhost.c) from the profile's VMs on the node, the
 * host scan and the extra facts loaded here.
 *
 *   - affinity vs NUMA: a VM pinned (`affinity`) to CPUs outside the NUMA node
 *     of a GPU it uses pays the cross-node hop on every DMA and interrupt. The
 *     kernel lists each device's local CPUs in sysfs `local_cpulist`.
 *   - UEFI and the GPU ROM: a bios: ovmf VM whose GPU ROM (or romfile) has no EFI
 *     image shows nothing until the guest driver loads (pvfio/rom.h).
 *   - Looking Glass: the shared memory file of each VM, created at boot by
 *     systemd-tmpfiles with the owner the client runs as (PV_LG_TMPFILES).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pvfio/xalloc.h"
#include "pvfio/buf.h"
#include "pvfio/cleanup.h"
#include "pvfio/extras.h"
#include "pvfio/rom.h"

/* ------------------------------------------------------- devices of VMs */

typedef int (*dev_fn)(void *ud, const struct pv_vm *vm, const struct pv_pcidev *d, const struct pv_pci_addr *a,
                      struct pv_error *err);

/* Call fn for every PCI function (or slot: func PV_PCI_FUNC_ALL) a VM on node passes through. */
static int each_vm_device(const struct pv_profile *p, const char *node, dev_fn fn, void *ud, struct pv_error *err) {
        int r = 0;
        for (size_t i = 0; r == 0 && i < p->n_vms; i++) {
                const struct pv_vm *vm = &p->vms[i];
                if (!vm->node || strcmp(vm->node, node) != 0 || vm->state == PV_STATE_ABSENT)
                        continue;
                for (size_t k = 0; r == 0 && k < vm->n_pci; k++) {
                        const struct pv_pcidev *d = &vm->pci[k];
                        if (d->kind == PV_PCIDEV_RAW) {
                                for (size_t j = 0; r == 0 && j < d->n_addrs; j++)
                                        r = fn(ud, vm, d, &d->addrs[j], err);
                        } else if (d->kind == PV_PCIDEV_VF_POOL) {
                                r = fn(ud, vm, d, &d->vf_pf, err);
                        } else if (d->mapping) {
                                const struct pv_mapping *m = pv_profile_find_mapping(p, d->mapping);
                                for (size_t e = 0; m && r == 0 && e < m->n_map; e++) {
                                        if (!m->map[e].node || strcmp(m->map[e].node, node) != 0)
                                                continue;
                                        for (size_t j = 0; r == 0 && j < m->map[e].n_paths; j++)
                                                r = fn(ud, vm, d, &m->map[e].paths[j], err);
                                }
                        }
                }
        }
        return r;
}

/* ------------------------------------------------------------------ load */

struct load {
        const struct pv_host *h;
        const struct pv_host_state *s;
        struct pv_host_extras *x;
        const struct pv_profile *p;
        const char *node;
};

static bool have_dev(const struct pv_host_extras *x, const struct pv_pci_addr *a) {
        for (size_t i = 0; i < x->n_devs; i++)
                if (pv_pci_addr_cmp(&x->devs[i].addr, a) == 0)
                        return true;
        return false;
}

/* 1/0 when the ROM (of the device, or the romfile under usr/share/kvm) has an EFI image, -1 unreadable. */
static int rom_has_efi(const struct pv_host *h, const struct pv_host_dev *d, const char *romfile) {
        uint8_t *buf = NULL;
        size_t len = 0;
        struct pv_error e = PV_ERROR_INIT;
        int r;
        if (romfile) {
                _cleanup_free_ char *rel = pv_xasprintf("usr/share/kvm/%s", romfile);
                struct pv_buf b = PV_BUF_INIT_CAP(PV_ROM_MAX_BYTES);
                r = pv_buf_read_file_at(&b, h->dirfd, rel, &e);
                if (r == 0)
                        pv_buf_detach(&b, (char **)&buf, &len, NULL);   /* does not fail (pvfio/xalloc.h) */
                pv_buf_release(&b);
        } else {
                r = pv_rom_read(h, &d->addr, &buf, &len, &e);
        }
        pv_error_done(&e);
        if (r < 0)
                return -1;
        struct pv_rom_info ri;
        int efi = pv_rom_parse(buf, len, &ri, NULL) == 0 && ri.n_images ? ri.has_efi : -1;
        pv_rom_info_done(&ri);
        free(buf);
        return efi;
}

/* The same, but a romfile the host section installs on this node is judged by the profile's bytes
 * (what the apply will put there), not by the file the node has now. */
static int rom_efi_of(const struct load *l, const struct pv_host_dev *d, const char *romfile) {
        const struct pv_romfile *rf = pv_profile_romfile_for_node(l->p, l->node, romfile);
        if (rf)
                return rf->data ? rf->has_efi : -1;
        return rom_has_efi(l->h, d, romfile);
}

static int load_one(void *ud, const struct pv_vm *vm, const struct pv_pcidev *pd, const struct pv_pci_addr *sel,
                    struct pv_error *err) {
        (void)err;      /* allocation does not fail (pvfio/xalloc.h) */
        struct load *l = ud;
        for (size_t i = 0; i < l->s->n_devs; i++) {
                const struct pv_host_dev *d = &l->s->devs[i];
                if (!pv_pci_addr_covers(sel, &d->addr))
                        continue;
                if (have_dev(l->x, &d->addr)) {
                        for (size_t k = 0; k < l->x->n_devs; k++)
                                if (vm->bios == PV_BIOS_OVMF && pv_host_dev_is_display(d) &&
                                    pv_pci_addr_cmp(&l->x->devs[k].addr, &d->addr) == 0 && l->x->devs[k].rom_efi == -2)
                                        l->x->devs[k].rom_efi = rom_efi_of(l, d, pd->romfile);
                        continue;
                }
                l->x->devs = pv_xreallocarray(l->x->devs, l->x->n_devs + 1, sizeof *l->x->devs);
                struct pv_host_extra_dev *e = &l->x->devs[l->x->n_devs++];
                *e = (struct pv_host_extra_dev){ .addr = d->addr, .rom_efi = -2 };
                /* only GPUs of UEFI VMs: their ROM must carry an EFI image (or the romfile must) */
                if (vm->bios == PV_BIOS_OVMF && pv_host_dev_is_display(d))
                        e->rom_efi = rom_efi_of(l, d, pd->romfile);
                _cleanup_free_ char *rel = pv_xasprintf("sys/bus/pci/devices/%s/local_cpulist", d->name);
                struct pv_buf b = PV_BUF_INIT_CAP(4096);
                struct pv_error ignore = PV_ERROR_INIT;
                if (pv_buf_read_file_at(&b, l->h->dirfd, rel, &ignore) == 0) {
                        b.buf[strcspn(b.buf, "\r\n")] = '\0';
                        if (b.buf[0])
                                e->local_cpulist = pv_xstrdup(b.buf);
                }
                pv_error_done(&ignore);
                pv_buf_release(&b);
        }
        return 0;
}

/* A file under the root as text, NULL in *ret when it does not exist. */
static int read_optional(const struct pv_host *h, const char *rel, char **ret, struct pv_error *err) {
        struct pv_buf b = PV_BUF_INIT_CAP(1u << 20);
        struct pv_error e = PV_ERROR_INIT;
        *ret = NULL;
        int r = pv_buf_read_file_at(&b, h->dirfd, rel, &e);
        if (r < 0 && e.errno_value != ENOENT) {
                pv_error_move(err, &e);
                pv_buf_release(&b);
                return r;
        }
        pv_error_done(&e);
        if (r == 0)
                pv_buf_detach(&b, ret, NULL, err);      /* does not fail (pvfio/xalloc.h) */
        pv_buf_release(&b);
        return 0;
}

int pv_host_extras_load(const struct pv_host *h, const struct pv_profile *p, const char *node,
                        const struct pv_host_state *s, struct pv_host_extras *ret, struct pv_error *err) {
        struct pv_host_extras x = { 0 };
        struct load l = { h, s, &x, p, node };
        int r = node ? each_vm_device(p, node, load_one, &l, err) : 0;
        if (r == 0)
                r = read_optional(h, PV_LG_TMPFILES, &x.lg_tmpfiles, err);
        if (r == 0)
                r = read_optional(h, PV_VENDOR_RESET_MODULES, &x.vr_modules, err);
        if (r == 0)
                r = read_optional(h, PV_VENDOR_RESET_UDEV, &x.vr_udev, err);
        x.vr_installed = s && pv_vendor_reset_installed(h, s);
        if (r == 0)
                r = pv_host_roms_load(h, p, node, &x.roms, err);
        if (r < 0) {
                pv_host_extras_done(&x);
                return r;
        }
        *ret = x;
        return 0;
}

void pv_host_extras_done(struct pv_host_extras *x) {
        if (!x)
                return;
        for (size_t i = 0; i < x->n_devs; i++)
                free(x->devs[i].local_cpulist);
        free(x->devs);
        free(x->lg_tmpfiles);
        free(x->vr_modules);
        free(x->vr_udev);
        pv_host_roms_done(&x->roms);
        memset(x, 0, sizeof *x);
}

/* ------------------------------------------------------------------ plan */

struct numa {
        const struct pv_host_state *s;
        const struct pv_host_extras *x;
        struct pv_plan *plan;
        const char *node;
};

static const struct pv_host_extra_dev *extra_dev(const struct pv_host_extras *x, const struct pv_pci_addr *a) {
        for (size_t i = 0; x && i < x->n_devs; i++)
                if (pv_pci_addr_cmp(&x->devs[i].addr, a) == 0)
                        return &x->devs[i];
        return NULL;
}

static int rom_one(struct numa *n, const struct pv_vm *vm, const struct pv_pcidev *pd, const struct pv_pci_addr *sel,
                   struct pv_error *err) {
        if (vm->bios != PV_BIOS_OVMF)
                return 0;
        for (size_t i = 0; i < n->s->n_devs; i++) {
                const struct pv_host_dev *d = &n->s->devs[i];
                if (!pv_pci_addr_covers(sel, &d->addr) || !pv_host_dev_is_display(d))
                        continue;
                const struct pv_host_extra_dev *e = extra_dev(n->x, &d->addr);
                if (!e || e->rom_efi != 0)
                        continue; /* has one, or unknown (unreadable: 'pvfio host rom check' explains) */
                char *w = pd->romfile
                                  ? pv_asprintf(err,
                                                "%s: vm '%s' boots with bios: ovmf, but its romfile '%s' for GPU %s has "
                                                "no EFI image: OVMF cannot initialise the card (no picture until the "
                                                "guest driver loads); use a UEFI-capable ROM image as romfile",
                                                n->node, vm->name, pd->romfile, d->name)
                                  : pv_asprintf(err,
                                                "%s: vm '%s' boots with bios: ovmf, but the ROM of its GPU %s has no "
                                                "EFI image ('pvfio host rom check --device %s'): OVMF cannot "
                                                "initialise the card; set romfile to a UEFI-capable ROM image (from "
                                                "the vendor, or a dump of a UEFI-capable card of the same model) in "
                                                "/usr/share/kvm, or use bios: seabios",
                                                n->node, vm->name, d->name, d->name);
                int r = pv_plan_add_warning(n->plan, w, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int numa_one(void *ud, const struct pv_vm *vm, const struct pv_pcidev *pd, const struct pv_pci_addr *sel,
                    struct pv_error *err) {
        struct numa *n = ud;
        int rr = rom_one(n, vm, pd, sel, err);
        if (rr < 0 || !vm->affinity)
                return rr;
        for (size_t i = 0; i < n->s->n_devs; i++) {
                const struct pv_host_dev *d = &n->s->devs[i];
                /* GPUs (display class 03) only: one warning per GPU, not per audio function */
                if (!pv_pci_addr_covers(sel, &d->addr) || (d->class_code >> 16) != 0x03 || d->numa_node < 0)
                        continue;
                const struct pv_host_extra_dev *e = extra_dev(n->x, &d->addr);
                if (!e || !e->local_cpulist)
                        continue;
                long outside = pv_cpuset_outside(vm->affinity, e->local_cpulist);
                if (outside <= 0)
                        continue;
                char *w = pv_asprintf(err,
                                      "%s: vm '%s' has affinity %s, but %ld of those CPUs are outside NUMA node %d of "
                                      "its GPU %s (local CPUs %s): every DMA and interrupt crosses nodes; pin the VM "
                                      "to CPUs within %s (affinity) and enable numa",
                                      n->node, vm->name, vm->affinity, outside, d->numa_node, d->name,
                                      e->local_cpulist, e->local_cpulist);
                int r = pv_plan_add_warning(n->plan, w, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* ----------------------------------------------------- looking glass */

static int cmp_vm_name(const void *a, const void *b) {
        return strcmp((*(const struct pv_vm *const *)a)->name, (*(const struct pv_vm *const *)b)->name);
}

/*
 * tmpfiles.d line per Looking Glass VM, as Looking Glass documents it:
 * "f /dev/shm/looking-glass 0660 USER kvm -" (QEMU runs as root on Proxmox and
 * opens the file; the client runs as USER).
 */
static int lg_content(const struct pv_profile *p, const char *node, char **ret, struct pv_error *err) {
        const struct pv_vm **v = pv_xcalloc(p->n_vms ? p->n_vms : 1, sizeof *v);
        size_t n = 0;
        for (size_t i = 0; i < p->n_vms; i++)
                if (p->vms[i].looking_glass && p->vms[i].node && !strcmp(p->vms[i].node, node) &&
                    p->vms[i].state != PV_STATE_ABSENT)
                        v[n++] = &p->vms[i];
        *ret = NULL;
        if (!n) {
                free(v);
                return 0;
        }
        qsort(v, n, sizeof *v, cmp_vm_name);
        _cleanup_buf_ struct pv_buf b = PV_BUF_INIT;
        int r = pv_buf_adds(&b, "# Managed by pvfio: Looking Glass shared memory, one file per VM (QEMU writes, the\n"
                                "# client reads). Overwritten by 'pvfio host apply'; 'pvfio host rollback' removes it.\n",
                            err);
        for (size_t i = 0; r == 0 && i < n; i++)
                r = pv_buf_addf(&b, err, "f %s 0660 %s kvm -\n", v[i]->lg_path, v[i]->lg_owner ? v[i]->lg_owner : "root");
        free(v);
        return r < 0 ? r : pv_buf_detach(&b, ret, NULL, err);
}

static int add_host_action(struct pv_plan *plan, enum pv_action_kind kind, const char *node, const char *target,
                           const char *before, const char *after, char *reason, int depends_on, struct pv_error *err) {
        struct pv_action a = { .kind = kind, .depends_on = depends_on };
        a.target = pv_xstrdup(target);
        a.node = pv_xstrdup(node);
        a.before = pv_xstrdup(before);
        a.after = pv_xstrdup(after);
        a.reason = reason;
        int idx = pv_plan_add(plan, &a, err);
        return idx < 0 ? idx : idx + 1;
}

static int plan_looking_glass(const struct pv_profile *p, const char *node, const struct pv_host_extras *x,
                              struct pv_plan *plan, struct pv_error *err) {
        _cleanup_free_ char *after = NULL;
        int r = lg_content(p, node, &after, err);
        const char *before = x ? x->lg_tmpfiles : NULL;
        if (r < 0 || (!before && !after) || (before && after && !strcmp(before, after)))
                return r;
        int idx = add_host_action(plan, after ? PV_ACT_WRITE_FILE : PV_ACT_REMOVE_FILE, node, PV_LG_TMPFILES, before,
                                  after,
                                  pv_asprintf(NULL, after ? "shared memory files of the Looking Glass VMs on %s"
                                                          : "no Looking Glass VM left on %s",
                                              node),
                                  0, err);
        if (idx < 0)
                return idx;
        if ((r = pv_action_set_file(&plan->actions[idx - 1], PV_LG_TMPFILES, after ? 0644 : 0, err)) < 0 || !after)
                return r;
        idx = add_host_action(plan, PV_ACT_RUN_COMMAND, node, "systemd-tmpfiles", NULL,
                              "systemd-tmpfiles --create /" PV_LG_TMPFILES,
                              pv_asprintf(NULL, "create the shared memory files now (at boot systemd does it)"), idx,
                              err);
        static const char *const tmpfiles[] = { "systemd-tmpfiles", "--create", "/" PV_LG_TMPFILES, NULL };
        return idx < 0 ? idx : pv_action_set_command(&plan->actions[idx - 1], tmpfiles, err);
}

/* ------------------------------------------------------- vendor-reset */

static int plan_file(struct pv_plan *plan, const char *node, const char *path, const char *before, const char *after,
                     bool reboot, char *reason, struct pv_error *err) {
        if ((!before && !after) || (before && after && !strcmp(before, after))) {
                free(reason);
                return 0;
        }
        int idx = add_host_action(plan, after ? PV_ACT_WRITE_FILE : PV_ACT_REMOVE_FILE, node, path, before, after,
                                  reason, 0, err);
        if (idx > 0)
                plan->actions[idx - 1].needs_reboot = reboot;
        if (idx < 0)
                return idx;
        return pv_action_set_file(&plan->actions[idx - 1], path, after ? 0644 : 0, err);
}

/* Devices of the node vendor-reset handles (a Polaris/Vega/Navi 1x GPU, function 0). */
static int vr_devices(const struct pv_host_state *s, struct pv_strv *ids, struct pv_strv *names, struct pv_error *err) {
        int r = 0;
        for (size_t i = 0; r == 0 && i < s->n_devs; i++) {
                const struct pv_host_dev *d = &s->devs[i];
                const char *fam = pv_vendor_reset_family(d->vendor, d->device);
                if (!fam)
                        continue;
                _cleanup_free_ char *id = pv_xasprintf("%04x:%04x", d->vendor, d->device);
                if (!pv_strv_contains(ids, id))
                        r = pv_strv_push(ids, id, err);
                if (r == 0)
                        r = pv_strv_push_take(names, pv_asprintf(NULL, "%s (%s)", d->name, fam), err);
        }
        return r;
}

/*
 * vendor_reset: true → the module loads at boot (modules-load.d), and from kernel 5.15 a
 * udev rule sets reset_method to device_specific for each affected device ID of the node
 * (as vendor-reset's own udev/99-vendor-reset.rules does; udev assigns the attribute).
 */
static int plan_vendor_reset(const struct pv_profile *p, const char *node, const struct pv_host_state *s,
                             const struct pv_host_extras *x, struct pv_plan *plan, struct pv_error *err) {
        const struct pv_host_spec *spec = pv_profile_host_for_node(p, node);
        struct pv_strv ids = PV_STRV_INIT, names = PV_STRV_INIT;
        int r = vr_devices(s, &ids, &names, err);
        _cleanup_free_ char *list = r == 0 && names.n ? pv_strv_join(&names, ", ", err) : NULL;
        _cleanup_buf_ struct pv_buf mods = PV_BUF_INIT, udev = PV_BUF_INIT;
        bool want = spec && spec->vendor_reset;
        bool rule = want && ids.n && pv_host_kernel_at_least(s, 5, 15);
        if (r == 0 && !want && names.n)
                r = pv_plan_add_warning(plan,
                                        pv_asprintf(NULL,
                                                    "%s: %s %s the AMD reset bug: without vendor-reset the GPU often "
                                                    "fails to reset, and a VM's second start hangs or shows nothing; "
                                                    "install vendor-reset-dkms and set 'vendor_reset: true' in the "
                                                    "host section",
                                                    node, list, names.n == 1 ? "has" : "have"),
                                        err);
        if (r == 0 && want && !ids.n)
                r = pv_plan_add_warning(plan, pv_asprintf(NULL, "%s: vendor_reset is set, but no GPU of this node "
                                                                "needs it (vendor-reset's list: Polaris, Vega, Navi "
                                                                "10/12/14)",
                                                          node),
                                        err);
        if (r == 0 && want && ids.n && !(x && x->vr_installed))
                r = pv_plan_add_warning(plan,
                                        pv_asprintf(NULL,
                                                    "%s: vendor_reset is set, but the vendor-reset module is not "
                                                    "installed for kernel %s: install it (apt install "
                                                    "pve-headers vendor-reset-dkms, or build "
                                                    "github.com/gnif/vendor-reset with DKMS)",
                                                    node, s->kernel_release ? s->kernel_release : "?"),
                                        err);
        if (r == 0 && want && ids.n)
                r = pv_buf_adds(&mods, "# Managed by pvfio: load vendor-reset at boot (AMD GPU reset quirks).\n"
                                       "vendor-reset\n",
                                err);
        if (r == 0 && rule) {
                r = pv_buf_adds(&udev, "# Managed by pvfio: vendor-reset needs reset_method=device_specific from "
                                       "kernel 5.15 on.\n",
                                err);
                for (size_t i = 0; r == 0 && i < ids.n; i++)
                        r = pv_buf_addf(&udev, err,
                                        "ACTION==\"add\", SUBSYSTEM==\"pci\", ATTR{vendor}==\"0x%.4s\", "
                                        "ATTR{device}==\"0x%.4s\", ATTR{reset_method}=\"device_specific\"\n",
                                        ids.v[i], ids.v[i] + 5);
        }
        if (r == 0)
                r = plan_file(plan, node, PV_VENDOR_RESET_MODULES, x ? x->vr_modules : NULL, mods.len ? mods.buf : NULL,
                              true, pv_asprintf(NULL, mods.len ? "load vendor-reset at boot for %s" : "%s: vendor_reset "
                                                                                                      "is off",
                                                mods.len ? (list ? list : "") : node),
                              err);
        if (r == 0)
                r = plan_file(plan, node, PV_VENDOR_RESET_UDEV, x ? x->vr_udev : NULL, udev.len ? udev.buf : NULL,
                              true,
                              pv_asprintf(NULL, udev.len ? "reset_method=device_specific for %s" : "%s: no "
                                                                                                  "vendor-reset rule "
                                                                                                  "needed",
                                          udev.len ? (list ? list : "") : node),
                              err);
        pv_strv_done(&ids);
        pv_strv_done(&names);
        return r;
}

int pv_host_extras_plan(const struct pv_profile *p, const char *node, const struct pv_host_state *s,
                        const struct pv_host_extras *x, struct pv_plan *plan, struct pv_error *err) {
        if (!p || !node || !s)
                return 0;
        struct numa n = { s, x, plan, node };
        int r = each_vm_device(p, node, numa_one, &n, err);
        if (r == 0)
                r = plan_looking_glass(p, node, x, plan, err);
        if (r == 0)
                r = plan_vendor_reset(p, node, s, x, plan, err);
        if (r == 0)
                r = pv_host_roms_plan(p, node, x ? &x->roms : NULL, plan, err);
        return r;
}

/* ----------------------------------------------------------- input */

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(char *const *)a, *(char *const *)b);
}

int pv_host_input_scan(const struct pv_host *h, struct pv_strv *ret, struct pv_error *err) {
        struct pv_strv v = PV_STRV_INIT;
        int fd = openat(h->dirfd, "dev/input/by-id", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) {
                if (errno == ENOENT) {
                        *ret = v;
                        return 0;
                }
                return pv_error_set_errno(err, errno, "cannot read '%s/dev/input/by-id'", h->root);
        }
        DIR *d = fdopendir(fd);
        if (!d) {
                int e = errno;
                close(fd);
                return pv_error_set_errno(err, e, "cannot read '%s/dev/input/by-id'", h->root);
        }
        int r = 0;
        struct dirent *e;
        while (r == 0 && (e = readdir(d))) {
                size_t n = strlen(e->d_name);
                bool kbd = n > 10 && !strcmp(e->d_name + n - 10, "-event-kbd");
                bool mouse = n > 12 && !strcmp(e->d_name + n - 12, "-event-mouse");
                if (kbd || mouse)
                        r = pv_strv_push(&v, e->d_name, err);
        }
        closedir(d);
        if (r < 0) {
                pv_strv_done(&v);
                return r;
        }
        if (v.n)
                qsort(v.v, v.n, sizeof *v.v, cmp_str);
        *ret = v;
        return 0;
}

/* ------------------------------------------------------------ hugepages */

static bool is_1g(const struct pv_vm *vm) {
        return vm->hugepages && strcmp(vm->hugepages, "1024") == 0;
}

unsigned long pv_host_hugepages_needed(const struct pv_profile *p, const char *node, const struct pv_host_spec *spec) {
        unsigned long pages = 0;
        bool any = false;
        for (size_t i = 0; p && node && i < p->n_vms; i++) {
                const struct pv_vm *vm = &p->vms[i];
                if (!is_1g(vm) || !vm->node || strcmp(vm->node, node) != 0 || vm->state == PV_STATE_ABSENT)
                        continue;
                uint64_t mib = vm->memory_mib ? vm->memory_mib : 512; /* Proxmox's default memory */
                pages += (unsigned long)((mib + 1023) / 1024);
                any = true;
        }
        return any ? pages + (spec ? spec->hugepages_margin : 0) : 0;
}

/* "hugepages=N" among the host section's own kernel arguments: N, or -1. */
static long user_hugepages(const struct pv_host_spec *spec, bool *any_hp_arg) {
        long n = -1;
        *any_hp_arg = false;
        for (size_t i = 0; spec && i < spec->kernel_args.n; i++) {
                const char *a = spec->kernel_args.v[i];
                if (!strncmp(a, "hugepages=", 10) || !strncmp(a, "hugepagesz=", 11) ||
                    !strncmp(a, "default_hugepagesz=", 19))
                        *any_hp_arg = true;
                if (!strncmp(a, "hugepages=", 10))
                        n = strtol(a + 10, NULL, 10);
        }
        return n;
}

int pv_host_hugepages_args(const struct pv_profile *p, const char *node, const struct pv_host_spec *spec,
                           struct pv_strv *ret, struct pv_plan *plan, struct pv_error *err) {
        unsigned long need = pv_host_hugepages_needed(p, node, spec);
        if (!need)
                return 0;
        bool any;
        long user = user_hugepages(spec, &any);
        if (any) {
                if (plan && user >= 0 && (unsigned long)user < need)
                        return pv_plan_add_warning(plan,
                                                   pv_asprintf(NULL,
                                                               "%s: kernel_args reserve hugepages=%ld, but the VMs "
                                                               "with hugepages: 1G need %lu pages of 1 GiB (their "
                                                               "memory plus hugepages_margin); they will not start",
                                                               node, user, need),
                                                   err);
                return 0;
        }
        int r = pv_strv_push(ret, "default_hugepagesz=1G", err);
        if (r == 0)
                r = pv_strv_push(ret, "hugepagesz=1G", err);
        if (r == 0)
                r = pv_strv_push_take(ret, pv_asprintf(NULL, "hugepages=%lu", need), err);
        return r;
}

static long read_long(const struct pv_host *h, const char *rel) {
        struct pv_buf b = PV_BUF_INIT_CAP(256);
        struct pv_error e = PV_ERROR_INIT;
        long v = -1;
        if (pv_buf_read_file_at(&b, h->dirfd, rel, &e) == 0 && b.len) {
                char *end;
                long x = strtol(b.buf, &end, 10);
                if (end != b.buf)
                        v = x;
        }
        pv_error_done(&e);
        pv_buf_release(&b);
        return v;
}

void pv_host_hugepages_read(const struct pv_host *h, long *ret_total, long *ret_free) {
        *ret_total = read_long(h, "sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages");
        *ret_free = read_long(h, "sys/kernel/mm/hugepages/hugepages-1048576kB/free_hugepages");
}

int pv_host_check_hugepages(const struct pv_host *h, unsigned long needed, struct pv_check_list *l,
                            struct pv_error *err) {
        long total, nfree;
        pv_host_hugepages_read(h, &total, &nfree);
        enum pv_check_status st = PV_CHECK_PASS;
        char *evidence, *fix = NULL;
        if (total < 0) {
                st = needed ? PV_CHECK_FAIL : PV_CHECK_PASS;
                evidence = pv_asprintf(NULL, "sys/kernel/mm/hugepages/hugepages-1048576kB does not exist: the CPU "
                                             "or kernel offers no 1 GiB pages%s",
                                       needed ? "" : " (none needed)");
                if (needed)
                        fix = pv_asprintf(NULL, "use hugepages: 2M for the VMs, or a CPU with pdpe1gb");
        } else {
                evidence = pv_asprintf(NULL, "1 GiB pages: %ld reserved, %ld free; %lu needed "
                                             "(sys/kernel/mm/hugepages/hugepages-1048576kB)",
                                       total, nfree, needed);
                if (needed && (unsigned long)(nfree < 0 ? 0 : nfree) < needed) {
                        st = (unsigned long)total >= needed ? PV_CHECK_WARN : PV_CHECK_FAIL;
                        fix = (unsigned long)total >= needed
                                      ? pv_asprintf(NULL, "%lu reserved pages are in use (by running VMs); the VMs "
                                                          "still to start need %lu free",
                                                    (unsigned long)(total - (nfree < 0 ? 0 : nfree)), needed)
                                      : pv_asprintf(NULL, "reserve them at boot: 'pvfio host apply' adds "
                                                          "default_hugepagesz=1G hugepagesz=1G hugepages=%lu for the "
                                                          "profile's VMs, then reboot",
                                                    needed);
                }
        }
        return pv_check_list_add(l, "hugepages-1G", st, "1 GiB huge pages for the VMs", evidence, fix, err);
}


int pv_host_check_vendor_reset(const struct pv_host *h, const struct pv_host_state *s,
                               const struct pv_pci_addr *addrs, size_t n, struct pv_check_list *l,
                               struct pv_error *err) {
        int r = 0;
        for (size_t i = 0; r == 0 && i < s->n_devs; i++) {
                const struct pv_host_dev *d = &s->devs[i];
                const char *fam = pv_vendor_reset_family(d->vendor, d->device);
                bool asked = false;
                for (size_t k = 0; k < n; k++)
                        asked |= pv_pci_addr_covers(&addrs[k], &d->addr);
                if (!fam || !asked)
                        continue;
                bool installed = pv_vendor_reset_installed(h, s), loaded = pv_host_module_loaded(s, "vendor_reset");
                bool need_method = d->has_reset_method; /* the reset_method file exists from kernel 5.15 */
                bool dev_specific = d->reset_methods.n && !strcmp(d->reset_methods.v[0], "device_specific");
                enum pv_check_status st = PV_CHECK_PASS;
                char *fix = NULL;
                if (!installed) {
                        /* the first VM start works; resets after it may not: a warning, not a failure */
                        st = PV_CHECK_WARN;
                        fix = pv_asprintf(NULL, "install vendor-reset-dkms (github.com/gnif/vendor-reset) and set "
                                                "'vendor_reset: true' in the host section");
                } else if (!loaded || (need_method && !dev_specific)) {
                        st = PV_CHECK_WARN;
                        fix = pv_asprintf(NULL, "set 'vendor_reset: true' in the host section and apply: pvfio loads "
                                                "the module at boot and sets reset_method=device_specific with a udev "
                                                "rule");
                }
                _cleanup_free_ char *methods = NULL;
                if (need_method) {
                        struct pv_strv *m = (struct pv_strv *)&d->reset_methods;
                        methods = m->n ? pv_strv_join(m, " ", NULL) : pv_xstrdup("(empty)");
                }
                _cleanup_free_ char *id = pv_xasprintf("vendor-reset:%s", d->name);
                char *ev = pv_asprintf(NULL, "%s is an AMD %s (%04x:%04x) with the reset bug; vendor-reset %s%s%s%s",
                                       d->name, fam, d->vendor, d->device,
                                       !installed ? "is not installed" : loaded ? "is loaded" : "is installed, not loaded",
                                       need_method ? "; reset_method: " : "", need_method && methods ? methods : "",
                                       need_method && !dev_specific ? " (not device_specific)" : "");
                r = pv_check_list_add(l, id, st, "vendor-reset for an AMD GPU with the reset bug", ev, fix, err);
        }
        return r;
}
