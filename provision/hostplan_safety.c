/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Host planner, refresh + live + safety: the initramfs/bootloader refresh commands,
 * the live rebind, the host-needs and blacklist refusals, and taking over vfio-pci
 * bindings pvfio did not write.
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

/* ------------------------------------------------------ refresh + live */

int hp_plan_refresh(struct planner *c, struct pv_error *err) {
        static const struct {
                unsigned flag;
                const char *cmd;
                const char *why;
                const char *const argv[5]; /* the same command as a vector (the payload) */
        } steps[] = {
                { PV_REFRESH_INITRAMFS, PV_CMD_UPDATE_INITRAMFS,
                  "module configuration changed; the initramfs carries a copy of it",
                  { "update-initramfs", "-u", "-k", "all", NULL } },
                { PV_REFRESH_GRUB, PV_CMD_UPDATE_GRUB, "kernel arguments changed; regenerate grub.cfg", { "update-grub", NULL } },
                { PV_REFRESH_PBT, PV_CMD_PBT_REFRESH, "kernel arguments changed; copy them to every ESP",
                  { "proxmox-boot-tool", "refresh", NULL } },
        };
        int prev = 0;
        for (size_t i = 0; i < PV_ELEMENTSOF(steps); i++) {
                bool owed = (c->in->refresh_owed & steps[i].flag) && !(c->refresh & steps[i].flag);
                if (!(c->refresh & steps[i].flag) && !owed)
                        continue;
                /* owed: the journal says an earlier apply changed its inputs and the command never succeeded */
                char *reason = owed ? pv_asprintf(err, "owed by an earlier apply that did not complete it (killed, "
                                                       "or the command failed)")
                                    : pv_asprintf(err, "%s", steps[i].why);
                int dep = c->refresh_dep[i];
                /* the bootloader refresh comes after the initramfs; it waits for the later of both */
                if (prev > dep)
                        dep = prev;
                const char *sp = strchr(steps[i].cmd, ' ');
                _cleanup_free_ char *prog = pv_xstrndup(steps[i].cmd, sp ? (size_t)(sp - steps[i].cmd) : strlen(steps[i].cmd));
                int idx = hp_add_action(c, PV_ACT_RUN_COMMAND, prog, NULL, steps[i].cmd, reason, false, dep, err);
                int r = hp_set_argv(c, idx, steps[i].argv, err);
                if (r < 0)
                        return r;
                prev = idx;
        }
        return 0;
}

/* Does a boot framebuffer range (BOOTFB, simpledrm, efifb) sit inside one of the device's BARs? */
static const struct pv_iomem_range *bootfb_in_bar(const struct pv_host_state *st, const struct pv_host_dev *d) {
        for (size_t i = 0; i < st->n_fb_ranges; i++)
                for (size_t b = 0; b < d->n_bars; b++)
                        if (st->fb_ranges[i].start <= d->bars[b].end && st->fb_ranges[i].end >= d->bars[b].start)
                                return &st->fb_ranges[i];
        return NULL;
}

int hp_plan_live_and_reboot(struct planner *c, struct pv_error *err) {
        const struct pv_host_state *st = c->st;
        int r = 0;
        int modprobe_idx = 0;
        for (size_t k = 0; r == 0 && k < c->n_t; k++) {
                const struct pv_host_dev *d = &st->devs[c->t[k].dev];
                if (d->driver && strcmp(d->driver, VFIO_DRIVER) == 0)
                        continue;
                const struct pv_iomem_range *fb = bootfb_in_bar(st, d);
                if (d->boot_vga == 1 && r == 0)
                        r = warnf(c, err, "%s is the boot GPU: the host console goes away once vfio-pci has it%s", d->name,
                                  fb && !pv_cmdline_has(&c->kargs, "initcall_blacklist=sysfb_init")
                                          ? "; add 'initcall_blacklist=sysfb_init' to kernel_args so the boot "
                                            "framebuffer releases its memory"
                                          : "");
                if (r < 0)
                        break;
                if (!c->opts->rebind) {
                        if (d->driver)
                                r = rebootf(c, err, "%s is bound to '%s'; vfio-pci takes it at the next boot (or apply "
                                                    "with --rebind)",
                                            d->name, d->driver);
                        else
                                r = rebootf(c, err, "%s has no driver; vfio-pci takes it at the next boot (or apply "
                                                    "with --rebind)",
                                            d->name);
                        continue;
                }
                if (!modprobe_idx && !hp_module_loaded(st, "vfio_pci")) {
                        char *reason = pv_asprintf(err, "load vfio-pci for the live rebind");
                        modprobe_idx = hp_add_action(c, PV_ACT_RUN_COMMAND, "modprobe", NULL, "modprobe vfio-pci", reason,
                                                  false, 0, err);
                        static const char *const modprobe[] = { "modprobe", "vfio-pci", NULL };
                        int ra = hp_set_argv(c, modprobe_idx, modprobe, err); /* passes a failed add_action on */
                        if (ra < 0)
                                return ra;
                }
                char *reason = pv_asprintf(err, "hand %s to vfio-pci now (driver_override, unbind, probe)", d->name);
                int idx = hp_add_action(c, PV_ACT_REBIND_DEVICE, d->name, NULL, NULL, reason, false, modprobe_idx, err);
                if (idx < 0)
                        return idx;
                r = hp_add_key(c, idx, "driver", d->driver, VFIO_DRIVER, err);
                if (r == 0)
                        r = hp_add_key(c, idx, "driver_override", d->driver_override, VFIO_DRIVER, err);
                if (r == 0)
                        r = pv_action_set_rebind(&c->p.actions[idx - 1], d->name, VFIO_DRIVER, err);
                struct pv_action *a = &c->p.actions[idx - 1];
                if (r == 0 && fb)
                        a->blocked = pv_asprintf(err,
                                                 "the boot framebuffer ('%s' at %#llx) sits in its BAR; add "
                                                 "'initcall_blacklist=sysfb_init' to kernel_args and reboot",
                                                 fb->name ? fb->name : "BOOTFB", (unsigned long long)fb->start);
                else if (r == 0 && d->boot_vga == 1 && !d->bars_read && d->driver)
                        a->blocked = pv_asprintf(err, "it is the boot GPU and its BARs are unknown; reboot instead");
                else if (r == 0 && d->driver && hp_dev_class_host_critical(d))
                        a->blocked = pv_asprintf(err, "it is a %s in use by the host ('%s'); reboot instead",
                                                 hp_class_label(d), d->driver);
                if (r == 0 && a->blocked && d->driver)
                        r = rebootf(c, err, "%s is bound to '%s' and cannot be rebound live; vfio-pci takes it at the "
                                            "next boot",
                                    d->name, d->driver);
        }
        return r;
}


/* ------------------------------------------------------ host safety */

static const char *need_label(enum pv_need_kind k) {
        switch (k) {
        case PV_NEED_STORAGE: return "storage";
        case PV_NEED_NETWORK: return "network";
        case PV_NEED_KEYBOARD: return "keyboard";
        }
        return "device";
}

static int refuse_critical(struct planner *c, const struct target *t, const char *why, struct pv_error *err) {
        const struct pv_host_dev *d = &c->st->devs[t->dev];
        _cleanup_free_ char *lo = hp_dev_label(d, err);
        _cleanup_free_ char *sel = hp_sel_describe(t->sel, err);
        if (!sel)       /* past the buffer's cap: err says so */
                return pv_error_set(err, PV_ETOOBIG, "a device selector too long to describe");
        return pv_error_set_loc(err, PV_EUNSAFE, &t->sel->loc,
                                "refusing to give %s to vfio-pci on node '%s': the host needs it (it %s); it was "
                                "chosen by the selector %s%s. Set 'host_critical_ok: true' on that selector if the "
                                "host can do without it",
                                lo, c->node, why, sel, t->companion ? " (as a companion function)" : "");
}

/* Never bind what the host needs to boot, be reached or be used, unless the selector says so. */
int hp_check_host_needs(struct planner *c, struct pv_error *err) {
        const struct pv_host_state *st = c->st;
        for (size_t k = 0; k < c->n_t; k++) {
                const struct target *t = &c->t[k];
                if (t->sel->host_critical_ok)
                        continue;
                for (size_t n = 0; n < st->n_needs; n++) {
                        if (st->needs[n].dev != t->dev)
                                continue;
                        (void)need_label;
                        return refuse_critical(c, t, st->needs[n].why, err);
                }
        }
        /* the host's display: display-class functions that are not VFs and not already vfio-pci's */
        size_t n_disp = 0, n_taken = 0;
        const struct target *first = NULL;
        for (size_t i = 0; i < st->n_devs; i++) {
                const struct pv_host_dev *d = &st->devs[i];
                if (!hp_is_display(d) || d->is_vf || (d->driver && strcmp(d->driver, VFIO_DRIVER) == 0))
                        continue;
                n_disp++;
                const struct target *t = hp_find_target(c, i);
                if (!t)
                        continue;
                n_taken++;
                if (!t->sel->host_critical_ok && (!first || d->boot_vga == 1))
                        first = t;
        }
        /* groups split by the running kernel's override: say so for every target's group */
        for (size_t k = 0; st->acs_override_active && k < c->n_t; k++) {
                const struct pv_host_dev *d = &st->devs[c->t[k].dev];
                if (c->t[k].companion || d->iommu_group < 0)
                        continue;
                int r = warnf(c, err, "IOMMU group %d of %s is isolated only by the running kernel's "
                                      "pcie_acs_override, not by the hardware: the device may still reach the "
                                      "devices of its real group by peer-to-peer DMA",
                              d->iommu_group, d->name);
                if (r < 0)
                        return r;
        }
        if (n_disp && n_taken == n_disp && first)
                return refuse_critical(c, first,
                                       n_disp == 1 ? "is the host's only display device: the console and a "
                                                     "local rescue need it"
                                                   : "is the last of the host's display devices left to it: the "
                                                     "console and a local rescue need one",
                                       err);
        return 0;
}

/* Blacklisting a driver a host device still uses leaves that device without one. */
int hp_check_blacklist(struct planner *c, struct pv_error *err) {
        const struct pv_host_state *st = c->st;
        for (size_t b = 0; b < c->spec->blacklist.n; b++) {
                const char *m = c->spec->blacklist.v[b];
                for (size_t i = 0; i < st->n_devs; i++) {
                        const struct pv_host_dev *d = &st->devs[i];
                        if (!d->driver || hp_find_target(c, i))
                                continue;
                        const char *mod = hp_driver_module(d->driver);
                        if (!mod || !pv_module_name_equal(mod, m))
                                continue;
                        _cleanup_free_ char *lo = hp_dev_label(d, err);
                        return pv_error_set_loc(err, PV_EUNSAFE, &c->spec->loc,
                                                "blacklisting '%s' on node '%s' would leave %s without its driver: "
                                                "the host still uses it and it is not passed through. Remove '%s' "
                                                "from 'blacklist', or pass that device through",
                                                m, c->node, lo, m);
                }
        }
        return 0;
}

/* ------------------------------------------------- existing bindings */

static int binding_devices(struct planner *c, const struct pv_vfio_binding *b, struct pv_buf *names,
                           struct pv_buf *kept, size_t *n_kept, struct pv_error *err) {
        const struct pv_host_state *st = c->st;
        int r = 0;
        for (size_t i = 0; r == 0 && i < st->n_devs; i++) {
                const struct pv_host_dev *d = &st->devs[i];
                if (d->is_bridge || !pv_vfio_binding_takes(b, d))
                        continue;
                r = pv_buf_addf(names, err, "%s%s", names->len ? ", " : "", d->name);
                if (r == 0 && !hp_find_target(c, i)) {
                        _cleanup_free_ char *lo = hp_dev_label(d, err);
                        r = pv_buf_addf(kept, err, "%s%s", kept->len ? ", " : "", lo);
                        (*n_kept)++;
                }
        }
        return r;
}

static const struct pv_host_file *state_file(const struct pv_host_state *st, const char *path) {
        const struct pv_host_file *f = NULL;
        if (!strcmp(path, "etc/default/grub"))
                return &st->boot.etc_default_grub;
        if (!strcmp(path, "etc/initramfs-tools/modules"))
                return &st->etc_initramfs_modules;
        if ((f = hp_find_file(st->boot.grub_d, st->boot.n_grub_d, path)) || (f = hp_find_file(st->modprobe_d, st->n_modprobe_d, path)) ||
            (f = hp_find_file(st->driverctl_d, st->n_driverctl_d, path)) || (f = hp_find_file(st->udev_rules, st->n_udev_rules, path)))
                return f;
        return NULL;
}

/*
 * Bindings to vfio-pci pvfio did not write: refused when they bind a device the profile keeps on
 * the host, otherwise taken over (removed from their file; pvfio's own files bind the same devices).
 */
int hp_plan_existing_bindings(struct planner *c, struct pv_error *err) {
        struct pv_vfio_binding *v = NULL;
        size_t n = 0;
        int r = pv_bootcfg_vfio_bindings(c->st, &v, &n, err);
        if (r < 0)
                return r;
        /* first decide for every binding; the take-over edits come per file */
        bool *take = pv_xcalloc(n ? n : 1, sizeof *take);
        for (size_t i = 0; r == 0 && i < n; i++) {
                const struct pv_vfio_binding *b = &v[i];
                struct pv_buf names = PV_BUF_INIT, kept = PV_BUF_INIT;
                size_t n_kept = 0;
                r = binding_devices(c, b, &names, &kept, &n_kept, err);
                const char *what = pv_binding_source_to_string(b->source);
                if (r == 0 && b->source == PV_BINDSRC_CMDLINE_ACTIVE) {
                        if (n_kept)
                                r = warnf(c, err, "the running kernel has '%s' (proc/cmdline), which binds %s; not in "
                                                  "the profile, they return to their host drivers once no boot "
                                                  "configuration binds them and the node reboots",
                                          b->text, kept.buf);
                } else if (r == 0 && !b->effective) {
                        /* overridden by a later GRUB assignment: it has no effect */
                } else if (r == 0 && n_kept) {
                        if (b->line)
                                r = pv_error_set_loc(err, PV_EUNSAFE, &c->spec->loc,
                                                     "%s:%u: an existing %s ('%s') sends %s to vfio-pci at boot on "
                                                     "node '%s', but the profile does not pass them through (they "
                                                     "stay with the host); remove that binding, or select them "
                                                     "under 'vfio'",
                                                     b->path, b->line, what, b->text, kept.buf, c->node);
                        else
                                r = pv_error_set_loc(err, PV_EUNSAFE, &c->spec->loc,
                                                     "%s: an existing %s sends %s to vfio-pci at boot on node '%s', "
                                                     "but the profile does not pass it through (it stays with the "
                                                     "host); remove that binding, or select it under 'vfio'",
                                                     b->path, what, kept.buf, c->node);
                } else if (r == 0 && names.len) {
                        take[i] = true;
                }
                pv_buf_release(&names);
                pv_buf_release(&kept);
        }
        /* take over, one action per file */
        for (size_t i = 0; r == 0 && i < n; i++) {
                if (!take[i])
                        continue;
                if (v[i].source == PV_BINDSRC_KERNEL_CMDLINE) {
                        /* edited together with pvfio's own tokens by hp_plan_sdboot() */
                        r = hp_strv_add_unique(&c->kcmdline_takeover, v[i].text, err);
                        continue;
                }
                const struct pv_host_file *f = state_file(c->st, v[i].path);
                const char *before = hp_file_content(f);
                _cleanup_free_ char *cur = pv_xstrdup(before);
                struct pv_buf texts = PV_BUF_INIT;
                bool gone = false;
                /* bindings of the same file, from the last line up so line numbers stay valid */
                for (size_t j = n; r == 0 && j-- > i;) {
                        if (!take[j] || strcmp(v[j].path, v[i].path) != 0)
                                continue;
                        char *next = NULL;
                        struct pv_error e2 = PV_ERROR_INIT;
                        int rr = gone ? 0 : pv_bootcfg_remove_binding(cur, &v[j], &next, &e2);
                        if (rr < 0) {
                                r = pv_error_set_loc(err, PV_EUNSAFE, &c->spec->loc,
                                                     "%s: the existing binding '%s' cannot be taken over (%s); "
                                                     "remove it by hand",
                                                     v[j].path, v[j].text, pv_error_message(&e2));
                                pv_error_done(&e2);
                                break;
                        }
                        if (!gone) {
                                free(cur);
                                cur = next;
                                gone = !next;
                        }
                        r = pv_buf_addf(&texts, err, "%s'%s'", texts.len ? ", " : "", v[j].text);
                        if (j != i)
                                take[j] = false;
                }
                if (r == 0) {
                        char *reason = pv_asprintf(err, "take over the existing vfio-pci binding %s (%s): pvfio's "
                                                        "own files bind the same devices",
                                                   texts.buf, pv_binding_source_to_string(v[i].source));
                        r = hp_plan_file(c, cur ? PV_ACT_EDIT_FILE : PV_ACT_REMOVE_FILE, v[i].path, before, cur,
                                      v[i].source != PV_BINDSRC_DRIVERCTL && v[i].source != PV_BINDSRC_UDEV, reason,
                                      NULL, err);
                }
                pv_buf_release(&texts);
        }
        free(take);
        pv_vfio_bindings_free(v, n);
        return r;
}
