/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Readiness checks, devices: the vfio modules, the boot framebuffer and the per-device
 * verdicts (group, driver, binding, outputs).
 */
#include "pvfio/xalloc.h"
#include "pvfio/bootcfg.h"
#include "pvfio/host.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pvfio/buf.h"
#include "pvfio/cleanup.h"
#include "pvfio/util.h"

#include "host_check_int.h"

int hc_check_vfio_loaded(struct check_ctx *c, const struct pv_strv *configured) {
        const struct pv_host_state *s = c->s;
        const char *const *mods = pv_host_vfio_modules(s);
        struct pv_strv missing = PV_STRV_INIT;
        int r = 0;
        for (size_t i = 0; mods[i] && r == 0; i++)
                if (!pv_host_module_loaded(s, mods[i]))
                        r = pv_strv_push(&missing, mods[i], c->err);
        if (r == 0 && c->in->gvtg && !pv_host_module_loaded(s, "kvmgt"))
                r = pv_strv_push(&missing, "kvmgt", c->err);
        if (r < 0) {
                pv_strv_done(&missing);
                return r;
        }
        _cleanup_free_ char *miss = hc_join_strv(&missing, ", ");
        _cleanup_free_ char *miss_sp = hc_join_strv(&missing, " ");
        _cleanup_free_ char *all = hc_join_list(mods, ", ");
        bool all_configured = true;
        for (size_t i = 0; i < missing.n; i++)
                all_configured &= hc_strv_has_mod(configured, missing.v[i]);
        if (missing.n && all_configured)
                r = hc_reboot_reason(c, hc_fmt("module(s) %s are configured to load at boot but are not loaded",
                                         miss ? miss : ""));
        pv_strv_done(&missing);
        if (r < 0)
                return r;
        if (miss && *miss)
                ADD(c, "vfio-loaded", PV_CHECK_WARN, "VFIO modules not loaded",
                    hc_fmt("proc/modules and sys/module lack: %s", miss),
                    hc_fmt("'modprobe -a %s' now, and list them in etc/modules-load.d for the next boot "
                                 "('pvfio host apply')",
                        miss_sp ? miss_sp : ""));
        else
                ADD(c, "vfio-loaded", PV_CHECK_PASS, "VFIO modules loaded",
                    hc_fmt("loaded or built in: %s%s", all ? all : "", c->in->gvtg ? ", kvmgt" : ""), NULL);
        return 0;
}

static bool input_has(const struct pv_check_input *in, const struct pv_pci_addr *a) {
        for (size_t i = 0; i < in->n_devices; i++)
                if (pv_pci_addr_covers(&in->devices[i], a))
                        return true;
        return false;
}

int hc_check_framebuffer(struct check_ctx *c) {
        const struct pv_host_state *s = c->s;
        int added = 0;
        for (size_t i = 0; i < s->n_devs; i++) {
                const struct pv_host_dev *d = &s->devs[i];
                for (size_t b = 0; b < d->n_bars; b++) {
                        if (d->bars[b].index > 6 || !(d->bars[b].flags & 0x200))   /* IORESOURCE_MEM */
                                continue;
                        for (size_t f = 0; f < s->n_fb_ranges; f++) {
                                const struct pv_iomem_range *fb = &s->fb_ranges[f];
                                if (fb->start < d->bars[b].start || fb->end > d->bars[b].end)
                                        continue;
                                bool passed = input_has(c->in, &d->addr);
                                enum pv_check_status st = passed ? PV_CHECK_FAIL
                                                          : c->in->n_devices ? PV_CHECK_PASS : PV_CHECK_WARN;
                                char *ev = hc_fmt("proc/iomem: %s [%#" PRIx64 "-%#" PRIx64 "] lies inside BAR %u "
                                                        "[%#" PRIx64 "-%#" PRIx64 "] of %s%s",
                                               fb->name, fb->start, fb->end, d->bars[b].index, d->bars[b].start,
                                               d->bars[b].end, d->name, d->boot_vga == 1 ? " (boot_vga=1)" : "");
                                char *fix = st == PV_CHECK_PASS
                                                    ? NULL
                                                    : hc_fmt("add 'initcall_blacklist=sysfb_init' to the kernel "
                                                                   "command line (with simpledrm built in, also "
                                                                   "'video=simplefb:off'), or make another GPU primary "
                                                                   "in the firmware; otherwise vfio-pci fails with "
                                                                   "\"BAR %u: can't reserve\"",
                                                          d->bars[b].index);
                                ADD(c, "boot-framebuffer", st,
                                    st == PV_CHECK_FAIL   ? "boot framebuffer holds a BAR of a device to pass"
                                    : st == PV_CHECK_WARN ? "boot framebuffer holds a GPU BAR (matters if it is passed)"
                                                          : "boot framebuffer is on a GPU that is not passed",
                                    ev, fix);
                                added++;
                        }
                }
        }
        if (added)
                return 0;
        if (s->n_fb_ranges) {
                /* a framebuffer exists but no BAR information covers it */
                for (size_t i = 0; i < s->n_devs; i++) {
                        const struct pv_host_dev *d = &s->devs[i];
                        if (d->boot_vga != 1 || d->n_bars)
                                continue;
                        bool passed = input_has(c->in, &d->addr);
                        ADD(c, "boot-framebuffer", passed ? PV_CHECK_FAIL : PV_CHECK_WARN,
                            "boot GPU may be held by the framebuffer",
                            hc_fmt("proc/iomem has '%s' and %s has boot_vga=1 (its BARs are unknown)",
                                s->fb_ranges[0].name, d->name),
                            hc_fmt("add 'initcall_blacklist=sysfb_init' to the kernel command line if you pass "
                                         "%s", d->name));
                        return 0;
                }
                ADD(c, "boot-framebuffer", PV_CHECK_PASS, "boot framebuffer is not inside a PCI BAR",
                    hc_fmt("proc/iomem: '%s' at [%#" PRIx64 "-%#" PRIx64 "] is outside every known GPU BAR",
                        s->fb_ranges[0].name, s->fb_ranges[0].start, s->fb_ranges[0].end),
                    NULL);
                return 0;
        }
        ADD(c, "boot-framebuffer", PV_CHECK_PASS, "no boot framebuffer holds a GPU",
            hc_fmt("no BOOTFB/simpledrm/efifb/vesafb range in proc/iomem"), NULL);
        return 0;
}

static char *dev_label(const struct pv_host_state *s, size_t i) {
        const struct pv_host_dev *d = &s->devs[i];
        _cleanup_free_ char *desc = pv_host_dev_describe(d, NULL);
        if (!desc)
                pv_oom(0);
        return hc_fmt("%s %s (driver %s)", d->name, desc ? desc : "", d->driver ? d->driver : "none");
}

/* A muxless (Optimus) dGPU has no display outputs: say what that means for passing it (issue 10 item 13). */
static int check_outputs(struct check_ctx *c, const struct pv_host_dev *d) {
        size_t igpu;
        if (!pv_host_dev_is_muxless_gpu(c->s, d, &igpu))
                return 0;
        _cleanup_free_ char *id = hc_fmt("outputs:%s", d->name);
        const char *why = (d->class_code >> 8) == 0x0302 ? "class 0302 (3D controller): no display engine of its own"
                                                         : "its DRM card has no connector";
        ADD(c, id, PV_CHECK_WARN, "muxless dGPU: no display outputs",
            hc_fmt("%s: %s; the integrated GPU %s drives the screens (a muxless/Optimus laptop)", d->name, why,
                c->s->devs[igpu].name),
            hc_fmt("pass it as a secondary GPU: no 'x-vga', keep a virtual display; its video BIOS is part of the "
                         "system firmware, so give the VM a ROM file ('romfile=', taken from the laptop's BIOS image); "
                         "see its output through Looking Glass or a remote display (RDP, Sunshine/Moonlight, Parsec)"));
        return 0;
}

/* Does the running kernel's command line (proc/cmdline) give vendor:device `id` to vfio-pci? */
static bool cmdline_binds_id(const struct pv_host_state *s, const char *id) {
        for (size_t i = 0; i < s->cmdline_args.n; i++) {
                const char *a = s->cmdline_args.v[i];
                if (!pv_startswith(a, "vfio-pci.ids=") && !pv_startswith(a, "vfio_pci.ids="))
                        continue;
                for (const char *p = a + strlen("vfio-pci.ids="); *p;) {
                        size_t n = strcspn(p, ",");
                        if (n == strlen(id) && strncasecmp(p, id, n) == 0)
                                return true;
                        p += n + (p[n] == ',');
                }
        }
        return false;
}

/* The node booted with vfio-pci.ids= naming the device, yet another driver holds it: a reboot will not
 * change that (issue 10 item 11). Told apart from "reboot needed". */
static int check_bind_lost(struct check_ctx *c, const struct pv_host_dev *d, const char *id) {
        _cleanup_free_ char *rid = hc_fmt("bind:%s", d->name);
        ADD(c, rid, PV_CHECK_FAIL, "rebooted, but vfio-pci did not bind the device",
            hc_fmt("proc/cmdline gives %s to vfio-pci ('vfio-pci.ids=…%s…'), yet %s is bound to '%s': '%s' "
                         "claimed it first",
                id, id, d->name, d->driver, d->driver),
            hc_fmt("load vfio-pci before '%s' ('softdep %s pre: vfio-pci' in etc/modprobe.d, vfio_pci in the "
                         "initramfs: 'update-initramfs -u -k all'), or blacklist '%s' if no other device needs it; then "
                         "reboot",
                d->driver, d->driver, d->driver));
        return 0;
}

/* "0000:00:14.0 SMBus controller (piix4_smbus); 0000:00:14.3 ISA/LPC bridge (no driver)" into b. */
static int platform_evidence(struct check_ctx *c, const struct pv_host_state *s, const struct pv_group_assessment *a,
                             struct pv_buf *b) {
        for (size_t i = 0; i < a->n_platform; i++) {
                const struct pv_host_dev *d = &s->devs[a->platform[i]];
                const char *drv = d->driver                                 ? d->driver
                                  : (d->unknown & PV_HOST_UNKNOWN_DRIVER) ? "driver unknown"
                                                                          : "no driver";
                int r = pv_buf_addf(b, c->err, "%s%s %s (%s)", i ? "; " : "", d->name, pv_host_dev_platform_role(d), drv);
                if (r < 0)
                        return r;
        }
        return 0;
}

int hc_check_device(struct check_ctx *c, const struct pv_pci_addr *want, struct pv_strv *vfio_ids) {
        const struct pv_host_state *s = c->s;
        char an[PV_PCI_ADDR_MAX];
        pv_pci_addr_format(want, an);
        _cleanup_free_ char *rid = hc_fmt("reset:%s", an), *gid = hc_fmt("group:%s", an);
        long idx = pv_host_dev_index(s, want);
        if (idx < 0) {
                ADD(c, gid, PV_CHECK_FAIL, "device not found",
                    hc_fmt("no '%s' in sys/bus/pci/devices", an),
                    hc_fmt("check the address with 'pvfio host scan'"));
                return 0;
        }
        const struct pv_host_dev *d = &s->devs[idx];

        /* reset capability */
        _cleanup_free_ char *methods = hc_join_strv(&d->reset_methods, " ");
        const char *capnote = d->caps.known ? (d->caps.flr ? "; config space: FLR capable" : "; config space: no FLR")
                                            : "";
        if (d->unknown & PV_HOST_UNKNOWN_RESET) {
                ADD(c, rid, PV_CHECK_WARN, "reset method unknown",
                    hc_fmt("%s: this root was imported from a listing that does not show the kernel's reset "
                                 "methods%s", d->name, capnote),
                    hc_fmt("read %s/reset_method on the node itself", d->name));
        } else if (d->reset_methods.n) {
                bool only_bus = d->reset_methods.n == 1 && strcmp(d->reset_methods.v[0], "bus") == 0;
                ADD(c, rid, PV_CHECK_PASS, only_bus ? "resettable by secondary bus reset" : "function reset available",
                    hc_fmt("%s/reset_method: %s%s", d->name, methods ? methods : "", capnote),
                    NULL);
        } else if (!d->has_reset_method && d->has_reset) {
                ADD(c, rid, PV_CHECK_PASS, "function reset available",
                    hc_fmt("%s/reset exists (no reset_method file: kernel before 5.15)%s", d->name, capnote), NULL);
        } else {
                bool amd_gpu = d->vendor == 0x1002 && pv_host_dev_is_display(d);
                ADD(c, rid, PV_CHECK_WARN, "no reset method",
                    hc_fmt("%s has %s%s", d->name,
                        d->has_reset_method ? "an empty reset_method" : "neither reset_method nor reset", capnote),
                    amd_gpu ? hc_fmt("the device may not reset between VM starts (AMD reset bug): use "
                                           "vendor-reset and 'echo device_specific > reset_method', or never restart "
                                           "the VM without a host reboot")
                            : hc_fmt("the device may keep state between VM starts; pass it only to one VM and "
                                           "test stop/start"));
        }

        /* group */
        struct pv_group_assessment a;
        int r = pv_host_assess_device(s, (size_t)idx, &a, c->err);
        if (r < 0)
                return r;
        struct pv_buf names = PV_BUF_INIT;
        bool comp_missing = false;
        bool all_passed = a.verdict == PV_GROUP_SHARED && c->in->n_devices;
        if (a.verdict == PV_GROUP_SHARED) {
                for (size_t i = 0; i < a.n_unrelated && r == 0; i++) {
                        _cleanup_free_ char *lbl = dev_label(s, a.unrelated[i]);
                        all_passed &= input_has(c->in, &s->devs[a.unrelated[i]].addr);
                        r = pv_buf_addf(&names, c->err, "%s%s", i ? "; " : "", lbl ? lbl : "");
                }
        } else if (a.verdict == PV_GROUP_COMPANIONS) {
                for (size_t i = 0; i < a.n_companions && r == 0; i++) {
                        const struct pv_host_dev *o = &s->devs[a.companions[i]];
                        comp_missing |= c->in->n_devices && !input_has(c->in, &o->addr);
                        r = pv_buf_addf(&names, c->err, "%s%s", i ? ", " : "", o->name);
                }
        }
        if (r < 0) {
                pv_buf_release(&names);
                pv_group_assessment_done(&a);
                return r;
        }
        char slot[PV_PCI_ADDR_MAX];
        struct pv_pci_addr sa = d->addr;
        sa.func = PV_PCI_FUNC_ALL;
        pv_pci_addr_format(&sa, slot);
        char *ev = NULL, *fix = NULL;
        enum pv_check_status st = PV_CHECK_PASS;
        const char *title = "";
        switch (a.verdict) {
        case PV_GROUP_NO_IOMMU:
                st = PV_CHECK_FAIL;
                if (d->unknown & PV_HOST_UNKNOWN_GROUP) {
                        title = "IOMMU group unknown";
                        ev = hc_fmt("%s: this root was imported from a listing that does not show its IOMMU "
                                          "group",
                                 d->name);
                        fix = hc_fmt("list the groups on the node itself ('pvfio host scan')");
                        break;
                }
                title = "device has no IOMMU group";
                ev = hc_fmt("%s has no iommu_group link", d->name);
                fix = hc_fmt("enable the IOMMU first (see the 'iommu' check)");
                break;
        case PV_GROUP_ALONE:
                title = "device is alone in its IOMMU group";
                ev = hc_fmt("IOMMU group %d: %s%s", a.group, d->name,
                         a.n_bridges ? " (plus bridges, which may stay on pcieport)" : "");
                break;
        case PV_GROUP_COMPANIONS:
                st = comp_missing ? PV_CHECK_WARN : PV_CHECK_PASS;
                title = comp_missing ? "group holds other functions of the device that are not passed"
                                     : "group holds only functions of the same device";
                ev = hc_fmt("IOMMU group %d: %s with %s", a.group, d->name, names.buf);
                fix = comp_missing ? hc_fmt("pass the whole device (%s, all functions); a group is usable only "
                                                  "when every endpoint in it is bound to vfio-pci",
                                         slot)
                                   : NULL;
                break;
        case PV_GROUP_SHARED:
                ev = hc_fmt("IOMMU group %d also holds %s", a.group, names.buf);
                if (all_passed) {
                        st = PV_CHECK_WARN;
                        title = "group shared with other devices that are passed too";
                        fix = hc_fmt("give every device of IOMMU group %d to the same VM", a.group);
                } else {
                        st = PV_CHECK_FAIL;
                        title = "group shared with unrelated devices";
                        fix = hc_fmt("pass the whole group together (all of its devices leave the host), move the "
                                           "card to a slot with its own group (a CPU root port, not behind a chipset "
                                           "or switch without ACS), or accept the risk explicitly in the profile "
                                           "(pcie_acs_override splits groups but gives up isolation)");
                }
                break;
        }
        if (a.n_platform && a.verdict != PV_GROUP_NO_IOMMU) {
                /* the host platform's own functions: the group cannot be given to a VM (issue 10 item 9) */
                free(ev);
                free(fix);
                ev = fix = NULL;
                pv_buf_release(&names);
                r = platform_evidence(c, s, &a, &names);
                st = PV_CHECK_FAIL;
                title = "group holds the host platform's own functions";
                ev = r < 0 ? NULL : hc_fmt("IOMMU group %d holds %s", a.group, names.buf);
                fix = hc_fmt("do not pass this group: the host needs these functions (firmware flash, "
                                   "sensors, the firmware TPM); choose a device in another group");
        }
        pv_buf_release(&names);
        pv_group_assessment_done(&a);
        if (r < 0) {
                free(ev);
                free(fix);
                return r;
        }
        ADD(c, gid, st, title, ev, fix);

        if ((r = check_outputs(c, d)) < 0)
                return r;

        /* does binding wait for a reboot? */
        char idbuf[10];
        pv_pci_id_format(&(struct pv_pci_id){ d->vendor, d->device }, idbuf);
        bool by_ids = pv_strv_contains(vfio_ids, idbuf);
        bool by_override = d->driver_override && strcmp(d->driver_override, "vfio-pci") == 0;
        if ((by_ids || by_override) && (!d->driver || strcmp(d->driver, "vfio-pci") != 0) && d->driver) {
                if (by_ids && cmdline_binds_id(s, idbuf))
                        return check_bind_lost(c, d, idbuf);
                r = hc_reboot_reason(c, hc_fmt("%s is bound to '%s' although %s assigns it to vfio-pci "
                                                  "(or rebind it live with 'pvfio host apply --rebind')",
                                         d->name, d->driver, by_override ? "driver_override" : "'vfio-pci ids='"));
                if (r < 0)
                        return r;
        }
        return 0;
}
