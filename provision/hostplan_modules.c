/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Host planner, modules and udev rules: modules-load.d, modprobe.d (ids=, softdeps,
 * blacklists), the per-address udev binding, SR-IOV VF counts and the NVIDIA vGPU unit.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pvfio/xalloc.h"
#include "pvfio/bootcfg.h"
#include "pvfio/buf.h"
#include "pvfio/cleanup.h"
#include "pvfio/hostplan.h"
#include "pvfio/vgpucheck.h"

#include "hostplan_int.h"

/* ------------------------------------------------------------ modules */

static int render_modules(struct planner *c, char **ret, struct pv_error *err) {
        const struct pv_host_spec *s = c->spec;
        bool want = c->n_t > 0 || s->vgpu == PV_VGPU_GVTG || s->n_sriov > 0;
        *ret = NULL;
        if (!want)
                return 0;
        bool old = hp_kernel_older(c->st, 6, 2, true);
        struct pv_buf b = PV_BUF_INIT;
        int r = pv_buf_adds(&b,
                            "# Managed by pvfio: modules for PCI passthrough, loaded at boot.\n"
                            "# Overwritten by 'pvfio host apply'; 'pvfio host rollback' removes it.\n",
                            err);
        if (r == 0)
                r = pv_buf_adds(&b, "vfio\nvfio_iommu_type1\nvfio_pci\n", err);
        if (r == 0 && old)
                r = pv_buf_adds(&b, "# kernels before 6.2 have a separate vfio_virqfd module\nvfio_virqfd\n", err);
        if (r == 0 && s->vgpu == PV_VGPU_GVTG)
                r = pv_buf_adds(&b, "# Intel GVT-g mediated devices\nkvmgt\n", err);
        if (r == 0)
                r = pv_buf_detach(&b, ret, NULL, err);
        pv_buf_release(&b);
        return r;
}

int hp_plan_modules(struct planner *c, struct pv_error *err) {
        const struct pv_host_state *st = c->st;
        const struct pv_host_file *cur = hp_find_file(st->modules_load_d, st->n_modules_load_d, PV_HOSTPLAN_MODULES);
        _cleanup_free_ char *after = NULL;
        int r = render_modules(c, &after, err);
        if (r < 0)
                return r;
        char *reason = pv_asprintf(err, after ? "load the VFIO modules at boot%s" : "no VFIO modules needed%s",
                                   after && c->spec->vgpu == PV_VGPU_GVTG ? " (and kvmgt for GVT-g)" : "");
        r = hp_plan_file(c, PV_ACT_WRITE_FILE, PV_HOSTPLAN_MODULES, hp_file_content(cur), after, true, reason, NULL, err);
        if (r < 0)
                return r;
        /* vfio_virqfd listed elsewhere on a kernel that folded it into vfio */
        if (!hp_kernel_older(st, 6, 2, true)) {
                const struct pv_host_file *lists[64];
                size_t n = 0;
                lists[n++] = &st->etc_modules;
                for (size_t i = 0; i < st->n_modules_load_d && n < PV_ELEMENTSOF(lists); i++)
                        if (!hp_streq(st->modules_load_d[i].path, PV_HOSTPLAN_MODULES))
                                lists[n++] = &st->modules_load_d[i];
                for (size_t i = 0; i < n; i++) {
                        const char *txt = hp_file_content(lists[i]);
                        if (!txt)
                                continue;
                        for (const char *p = strstr(txt, "vfio_virqfd"); p; p = strstr(p + 1, "vfio_virqfd")) {
                                const char *ls = p;
                                while (ls > txt && ls[-1] != '\n')
                                        ls--;
                                while (*ls == ' ' || *ls == '\t')
                                        ls++;
                                if (ls != p)
                                        continue;   /* commented out or not at line start */
                                r = warnf(c, err, "%s lists 'vfio_virqfd', which does not exist on kernel %u.%u (it is "
                                                  "part of vfio since 6.2) and logs a boot error; remove that line",
                                          lists[i]->path ? lists[i]->path : "etc/modules", st->kver.major, st->kver.minor);
                                break;
                        }
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

/* The kernel module behind a PCI driver name, for softdep lines (NULL: built in, no softdep). */
const char *hp_driver_module(const char *drv) {
        static const char *const map[][2] = {
                { "xhci_hcd", "xhci_pci" },   { "ehci-pci", "ehci_pci" }, { "nvidia-gpu", "i2c_nvidia_gpu" },
                { "pcieport", NULL },         { "vfio-pci", NULL },       { "pci-stub", NULL },
        };
        for (size_t i = 0; i < PV_ELEMENTSOF(map); i++)
                if (hp_name_eq(drv, map[i][0]))
                        return map[i][1];
        return drv;
}

/* softdep lines already in our file ("softdep X pre: vfio-pci" → X). */
static int existing_softdeps(const char *content, struct pv_strv *out, struct pv_error *err) {
        static const char tail[] = " pre: vfio-pci";
        for (const char *p = content; p && *p;) {
                const char *eol = strchr(p, '\n');
                size_t len = eol ? (size_t)(eol - p) : strlen(p);
                if (len > 8 && pv_startswith(p, "softdep ")) {
                        const char *m = p + 8, *sp = memchr(m, ' ', len - 8);
                        if (sp && (size_t)(p + len - sp) == sizeof tail - 1 && memcmp(sp, tail, sizeof tail - 1) == 0) {
                                _cleanup_free_ char *mod = pv_xstrndup(m, (size_t)(sp - m));
                                if (hp_module_name_ok(mod)) {
                                        int r = hp_strv_add_unique(out, mod, err);
                                        if (r < 0)
                                                return r;
                                }
                        }
                }
                p += len + (eol ? 1 : 0);
        }
        return 0;
}

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(char *const *)a, *(char *const *)b);
}

int hp_plan_modprobe(struct planner *c, struct pv_error *err) {
        const struct pv_host_spec *s = c->spec;
        const struct pv_host_state *st = c->st;
        const struct pv_host_file *cur = hp_find_file(st->modprobe_d, st->n_modprobe_d, PV_HOSTPLAN_MODPROBE);
        const char *before = hp_file_content(cur);
        struct pv_strv softdeps = PV_STRV_INIT, ids = PV_STRV_INIT;
        struct pv_buf b = PV_BUF_INIT;
        int r = 0;

        /* softdeps: the drivers that claim a target now, plus (once they are on vfio-pci) the ones recorded earlier */
        if (c->n_t && s->softdeps_auto) {
                bool any_free = false;
                for (size_t k = 0; r == 0 && k < c->n_t; k++) {
                        const struct pv_host_dev *d = &st->devs[c->t[k].dev];
                        if (hp_dev_is_vfio_or_free(d)) {
                                any_free = true;
                                continue;
                        }
                        const char *m = hp_driver_module(d->driver);
                        if (m)
                                r = hp_strv_add_unique(&softdeps, m, err);
                }
                if (r == 0 && any_free)
                        r = existing_softdeps(before, &softdeps, err);
        } else if (c->n_t) {
                for (size_t i = 0; r == 0 && i < s->softdeps.n; i++)
                        r = hp_strv_add_unique(&softdeps, s->softdeps.v[i], err);
        }
        if (r == 0 && softdeps.n > 1)
                qsort(softdeps.v, softdeps.n, sizeof(char *), cmp_str);
        for (size_t k = 0; r == 0 && s->binding == PV_BIND_IDS && k < c->n_t; k++) {
                const struct pv_host_dev *d = &st->devs[c->t[k].dev];
                char id[10];
                pv_pci_id_format(&(struct pv_pci_id){ d->vendor, d->device }, id);
                r = hp_strv_add_unique(&ids, id, err);
        }
        bool unsafe_ir = s->allow_unsafe && st->iommu.active && st->iommu.ir == PV_IR_ABSENT && c->n_t > 0;
        if (r == 0 && st->iommu.active && st->iommu.ir == PV_IR_ABSENT && c->n_t > 0 && !s->allow_unsafe)
                r = warnf(c, err, "interrupt remapping is not active on node '%s'; vfio refuses such devices unless "
                                  "'allow_unsafe: true' adds 'options vfio_iommu_type1 allow_unsafe_interrupts=1'",
                          c->node);
        /* a file only when it has a directive: ids/disable_vga, softdeps, blacklists, the IR option */
        bool want = r == 0 && ((c->n_t > 0 && (ids.n || s->disable_vga || softdeps.n)) || s->blacklist.n > 0 ||
                               unsafe_ir);
        if (want) {
                r = pv_buf_adds(&b,
                                "# Managed by pvfio: module options for PCI passthrough (copied into the initramfs).\n"
                                "# Overwritten by 'pvfio host apply'; 'pvfio host rollback' removes it.\n",
                                err);
                for (size_t k = 0; r == 0 && k < c->n_t; k++) {
                        const struct pv_host_dev *d = &st->devs[c->t[k].dev];
                        const char *cls = hp_class_fixed(d->class_code);
                        r = cls ? pv_buf_addf(&b, err, "# %s %s [%04x:%04x]%s\n", d->name, cls, d->vendor, d->device,
                                              c->t[k].companion ? " (companion function)" : "")
                                : pv_buf_addf(&b, err, "# %s class %06x [%04x:%04x]%s\n", d->name, d->class_code,
                                              d->vendor, d->device, c->t[k].companion ? " (companion function)" : "");
                }
                if (r == 0 && c->n_t) {
                        bool any = false;
                        if (ids.n) {
                                r = pv_buf_adds(&b, "options vfio-pci ids=", err);
                                for (size_t i = 0; r == 0 && i < ids.n; i++)
                                        r = pv_buf_addf(&b, err, "%s%s", i ? "," : "", ids.v[i]);
                                any = true;
                        }
                        if (r == 0 && s->disable_vga)
                                r = pv_buf_adds(&b, any ? " disable_vga=1" : "options vfio-pci disable_vga=1", err),
                                any = true;
                        if (r == 0 && any)
                                r = pv_buf_addch(&b, '\n', err);
                }
                if (r == 0 && softdeps.n)
                        r = pv_buf_adds(&b, "# load vfio-pci before the drivers that would claim the devices\n", err);
                for (size_t i = 0; r == 0 && i < softdeps.n; i++)
                        r = pv_buf_addf(&b, err, "softdep %s pre: vfio-pci\n", softdeps.v[i]);
                for (size_t i = 0; r == 0 && i < s->blacklist.n; i++)
                        r = pv_buf_addf(&b, err, "blacklist %s\n", s->blacklist.v[i]);
                if (r == 0 && unsafe_ir)
                        r = pv_buf_adds(&b, "# no interrupt remapping on this host (allow_unsafe: true)\n"
                                            "options vfio_iommu_type1 allow_unsafe_interrupts=1\n",
                                        err);
        }
        char *after = NULL;
        if (r == 0 && want)
                r = pv_buf_detach(&b, &after, NULL, err);
        if (r == 0) {
                char *reason;
                if (!want)
                        reason = pv_asprintf(err, "no vfio-pci binding needed");
                else if (s->binding == PV_BIND_IDS && ids.n)
                        reason = pv_asprintf(err, "bind %zu function(s) to vfio-pci at boot by vendor:device", c->n_t);
                else if (c->n_t)
                        reason = pv_asprintf(err, "load vfio-pci before the drivers of %zu function(s) bound by address",
                                             c->n_t);
                else
                        reason = pv_asprintf(err, "blacklist drivers the profile asks for");
                int idx = 0;
                r = hp_plan_file(c, PV_ACT_WRITE_FILE, PV_HOSTPLAN_MODPROBE, before, after, true, reason, &idx, err);
                if (r == 0 && idx && (unsafe_ir || (c->shared_accepted && s->binding == PV_BIND_IDS)))
                        c->p.actions[idx - 1].unsafe = true;
        }
        /* other modprobe.d files that fight ours */
        for (size_t i = 0; r == 0 && i < st->n_modprobe_d; i++) {
                const struct pv_host_file *f = &st->modprobe_d[i];
                const char *txt = hp_file_content(f);
                if (!txt || hp_streq(f->path, PV_HOSTPLAN_MODPROBE))
                        continue;
                /* other files' vfio-pci ids= lines are refused or taken over by hp_plan_existing_bindings() */
                for (const char *p = txt; r == 0 && s->vgpu == PV_VGPU_NVIDIA_SRIOV && *p;) {
                        size_t len = strcspn(p, "\n");
                        char mod[64];
                        if (len < sizeof mod + 16 && sscanf(p, " blacklist %63[A-Za-z0-9_-]", mod) == 1 &&
                            strcspn(p + strspn(p, " \t") + 10 + strlen(mod), " \t#\n") == 0 && hp_is_nvidia_module(mod))
                                r = warnf(c, err, "%s blacklists '%s', which NVIDIA vGPU needs; remove that line",
                                          f->path, mod);
                        p += len + (p[len] == '\n');
                }
        }
        free(after);
        pv_buf_release(&b);
        pv_strv_done(&softdeps);
        pv_strv_done(&ids);
        return r;
}

/* -------------------------------------------------------- udev rules */

int hp_plan_udev_vfio(struct planner *c, struct pv_error *err) {
        const char *before = hp_file_content(&c->in->udev_vfio);
        char *after = NULL;
        struct pv_buf b = PV_BUF_INIT;
        int r = 0;
        bool want = c->spec->binding == PV_BIND_DRIVER_OVERRIDE && c->n_t > 0;
        if (want) {
                r = pv_buf_adds(&b,
                                "# Managed by pvfio: bind these functions to vfio-pci by address (driver_override),\n"
                                "# so identical devices elsewhere keep their driver. The probe covers a vfio-pci that\n"
                                "# was loaded before the override was set. Overwritten by 'pvfio host apply'.\n",
                                err);
                for (size_t k = 0; r == 0 && k < c->n_t; k++) {
                        const struct pv_host_dev *d = &c->st->devs[c->t[k].dev];
                        r = pv_buf_addf(&b, err,
                                        "ACTION==\"add\", SUBSYSTEM==\"pci\", KERNEL==\"%s\", "
                                        "ATTR{driver_override}=\"vfio-pci\", "
                                        "RUN+=\"/bin/sh -c 'echo %%k > /sys/bus/pci/drivers_probe'\"\n",
                                        d->name);
                }
                if (r == 0)
                        r = pv_buf_detach(&b, &after, NULL, err);
        }
        pv_buf_release(&b);
        if (r == 0) {
                char *reason = want ? pv_asprintf(err, "bind %zu function(s) to vfio-pci by address at boot", c->n_t)
                                    : pv_asprintf(err, "no per-address binding needed");
                int idx = 0;
                r = hp_plan_file(c, PV_ACT_WRITE_FILE, PV_HOSTPLAN_UDEV_VFIO, before, after, true, reason, &idx, err);
                if (r == 0 && idx && want && c->shared_accepted)
                        c->p.actions[idx - 1].unsafe = true;
        }
        free(after);
        return r;
}

int hp_plan_sriov(struct planner *c, struct pv_error *err) {
        const struct pv_host_spec *s = c->spec;
        const struct pv_host_state *st = c->st;
        const char *before = hp_file_content(&c->in->udev_sriov);
        struct pv_buf b = PV_BUF_INIT;
        char *after = NULL;
        int r = 0;
        for (size_t i = 0; i < s->n_sriov; i++) {
                const struct pv_sriov_spec *sv = &s->sriov[i];
                char a[PV_PCI_ADDR_MAX];
                pv_pci_addr_format(&sv->pf, a);
                long di = hp_find_dev(st, &sv->pf);
                if (di < 0) {
                        r = pv_error_set_loc(err, PV_ENOTFOUND, &sv->loc, "SR-IOV device %s does not exist on node '%s'",
                                             a, c->node);
                        goto out;
                }
                const struct pv_host_dev *d = &st->devs[di];
                if (!d->is_pf) {
                        r = pv_error_set_loc(err, PV_EINVAL, &sv->loc,
                                             "%s on node '%s' is not an SR-IOV physical function (no sriov_totalvfs)",
                                             a, c->node);
                        goto out;
                }
                if (sv->numvfs > d->sriov_totalvfs) {
                        r = pv_error_set_loc(err, PV_EINVAL, &sv->loc,
                                             "%s supports at most %u virtual functions, the profile asks for %u", a,
                                             d->sriov_totalvfs, sv->numvfs);
                        goto out;
                }
        }
        size_t n_rules = 0;
        for (size_t i = 0; i < s->n_sriov; i++)
                n_rules += s->sriov[i].numvfs > 0;
        if (n_rules) {
                r = pv_buf_adds(&b,
                                "# Managed by pvfio: SR-IOV virtual functions, created when the physical function's\n"
                                "# driver is bound (coldplug 'add' at boot, or a later 'bind'). Overwritten by 'pvfio "
                                "host apply'.\n",
                                err);
                for (size_t i = 0; r == 0 && i < s->n_sriov; i++) {
                        char a[PV_PCI_ADDR_MAX];
                        if (s->sriov[i].numvfs == 0)
                                continue;   /* 0 is the boot default: nothing to keep */
                        pv_pci_addr_format(&s->sriov[i].pf, a);
                        r = pv_buf_addf(&b, err,
                                        "ACTION==\"add|bind\", SUBSYSTEM==\"pci\", KERNEL==\"%s\", TEST==\"driver\", "
                                        "ATTR{sriov_numvfs}==\"0\", ATTR{sriov_numvfs}=\"%u\"\n",
                                        a, s->sriov[i].numvfs);
                }
                if (r == 0)
                        r = pv_buf_detach(&b, &after, NULL, err);
        }
        if (r == 0) {
                char *reason = n_rules ? pv_asprintf(err, "keep the SR-IOV VF count of %zu device(s) across reboots",
                                                     n_rules)
                                          : pv_asprintf(err, "no SR-IOV VF counts to keep");
                r = hp_plan_file(c, PV_ACT_WRITE_FILE, PV_HOSTPLAN_UDEV_SRIOV, before, after, false, reason, NULL, err);
        }
        /* now: SET_SRIOV with --rebind, else a reboot reason */
        for (size_t i = 0; r == 0 && i < s->n_sriov; i++) {
                const struct pv_sriov_spec *sv = &s->sriov[i];
                const struct pv_host_dev *d = &st->devs[hp_find_dev(st, &sv->pf)];
                if (d->sriov_numvfs == sv->numvfs)
                        continue;
                if (!c->opts->rebind) {
                        if (sv->numvfs == 0)
                                r = rebootf(c, err, "%s has %u SR-IOV VFs; they are gone after a reboot (or apply with "
                                                    "--rebind)",
                                            d->name, d->sriov_numvfs);
                        else
                                r = rebootf(c, err, "%s has %u SR-IOV VFs; the %u asked for are created when its driver "
                                                    "next binds (reboot, or apply with --rebind)",
                                            d->name, d->sriov_numvfs, sv->numvfs);
                        continue;
                }
                char cur[16], want[16];
                snprintf(cur, sizeof cur, "%u", d->sriov_numvfs);
                snprintf(want, sizeof want, "%u", sv->numvfs);
                char *reason = pv_asprintf(err, "set the VF count of %s now (%s → %s)", d->name, cur, want);
                int idx = hp_add_action(c, PV_ACT_SET_SRIOV, d->name, NULL, NULL, reason, false, 0, err);
                if (idx < 0) {
                        r = idx;
                        break;
                }
                r = hp_add_key(c, idx, "sriov_numvfs", cur, want, err);
                struct pv_action *a = &c->p.actions[idx - 1];
                if (r == 0)
                        r = pv_action_set_sriov(a, d->name, sv->numvfs, err);
                if (r == 0 && !d->driver)
                        a->blocked = pv_asprintf(err, "%s has no driver bound; VFs can be created only through it",
                                                 d->name);
                for (size_t v = 0; r == 0 && !a->blocked && d->sriov_numvfs > 0 && v < d->n_vfs; v++) {
                        long vi = hp_find_dev(st, &d->vfs[v]);
                        if (vi >= 0 && st->devs[vi].driver && strcmp(st->devs[vi].driver, VFIO_DRIVER) == 0)
                                a->blocked = pv_asprintf(err, "VF %s is bound to vfio-pci (probably used by a VM); "
                                                              "stop its VM first",
                                                         st->devs[vi].name);
                }
        }
out:
        free(after);
        pv_buf_release(&b);
        return r;
}

int hp_plan_nvidia_sriov(struct planner *c, struct pv_error *err) {
        if (c->spec->vgpu != PV_VGPU_NVIDIA_SRIOV || c->in->nvidia_sriov_enabled)
                return 0;
        char *reason = pv_asprintf(err, "create the NVIDIA vGPU virtual functions at every boot");
        int idx = hp_add_action(c, PV_ACT_RUN_COMMAND, "systemctl", "systemctl disable " PV_HOSTPLAN_NVIDIA_SRIOV_UNIT,
                             "systemctl enable " PV_HOSTPLAN_NVIDIA_SRIOV_UNIT, reason, false, 0, err);
        static const char *const enable[] = { "systemctl", "enable", PV_HOSTPLAN_NVIDIA_SRIOV_UNIT, NULL };
        int r = hp_set_argv(c, idx, enable, err);  /* passes a failed add_action on */
        if (r < 0)
                return r;
        if (c->opts->rebind) {
                reason = pv_asprintf(err, "create the NVIDIA vGPU virtual functions now");
                idx = hp_add_action(c, PV_ACT_RUN_COMMAND, "systemctl", NULL, "systemctl start " PV_HOSTPLAN_NVIDIA_SRIOV_UNIT,
                                 reason, false, idx, err);
                static const char *const start[] = { "systemctl", "start", PV_HOSTPLAN_NVIDIA_SRIOV_UNIT, NULL };
                return idx < 0 ? idx : hp_set_argv(c, idx, start, err);
        }
        return rebootf(c, err, "the NVIDIA vGPU virtual functions appear once %s runs (at boot, or apply with --rebind)",
                       PV_HOSTPLAN_NVIDIA_SRIOV_UNIT);
}
