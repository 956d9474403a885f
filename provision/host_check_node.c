/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Readiness checks, node-wide: CPU virtualization, IOMMU, firmware tables, interrupt
 * remapping, isolation overrides, kernel, bootloader and kernel arguments.
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

int hc_check_cpu(struct check_ctx *c) {
        const struct pv_cpu_info *cpu = &c->s->cpu;
        const char *model = cpu->model_name ? cpu->model_name : "unknown model";
        if (cpu->vmx || cpu->svm)
                ADD(c, "cpu-virt", PV_CHECK_PASS, cpu->vmx ? "CPU virtualization (Intel VT-x) available"
                                                          : "CPU virtualization (AMD-V) available",
                    hc_fmt("flag '%s' in proc/cpuinfo (%s)", cpu->vmx ? "vmx" : "svm", model), NULL);
        else if (!cpu->count)
                ADD(c, "cpu-virt", PV_CHECK_FAIL, "CPU virtualization unknown",
                    hc_fmt("proc/cpuinfo is missing or lists no processor"),
                    hc_fmt("check that the root is a host root with a mounted proc"));
        else
                ADD(c, "cpu-virt", PV_CHECK_FAIL, "CPU virtualization not available",
                    hc_fmt("neither 'vmx' nor 'svm' in the flags of proc/cpuinfo (%s)", model),
                    hc_fmt("enable %s in the firmware setup (or, in a VM, expose it with nested virtualization)",
                        cpu->vendor == PV_CPU_AMD ? "SVM (AMD-V)" : "Intel VT-x (Virtualization Technology)"));
        return 0;
}

static char *units_list(const struct pv_host_state *s) {
        struct pv_buf b = PV_BUF_INIT;
        for (size_t i = 0; i < s->iommu.n_units && i < 8; i++)
                if ((i && pv_buf_adds(&b, ", ", NULL) < 0) || pv_buf_adds(&b, s->iommu.units[i].name, NULL) < 0)
                        pv_oom(b.len);
        if (s->iommu.n_units > 8 && pv_buf_adds(&b, ", …", NULL) < 0)
                pv_oom(b.len);
        char *r = NULL;
        size_t len;
        if (pv_buf_detach(&b, &r, &len, NULL) < 0)
                pv_oom(b.len);
        return r;
}

int hc_check_iommu(struct check_ctx *c) {
        const struct pv_host_state *s = c->s;
        if (s->iommu.active) {
                _cleanup_free_ char *units = units_list(s);
                ADD(c, "iommu", PV_CHECK_PASS, "IOMMU active",
                    hc_fmt("%zu unit(s) in sys/class/iommu (%s), %zu IOMMU group(s) in sys/kernel/iommu_groups",
                        s->iommu.n_units, units ? units : "", s->iommu.n_groups_sysfs),
                    NULL);
                return 0;
        }
        const char *off = NULL;
        for (size_t i = 0; i < s->cmdline_args.n && !off; i++) {
                const char *a = s->cmdline_args.v[i];
                if (strcmp(a, "intel_iommu=off") == 0 || strcmp(a, "amd_iommu=off") == 0 || strcmp(a, "iommu=off") == 0)
                        off = a;
        }
        bool intel = s->cpu.vendor == PV_CPU_INTEL;
        bool table = intel ? s->iommu.dmar_table : s->cpu.vendor == PV_CPU_AMD ? s->iommu.ivrs_table
                                                                               : s->iommu.dmar_table || s->iommu.ivrs_table;
        const char *tname = intel ? "DMAR" : s->cpu.vendor == PV_CPU_AMD ? "IVRS" : "DMAR/IVRS";
        const char *fw = intel ? "VT-d" : s->cpu.vendor == PV_CPU_AMD ? "AMD-Vi (IOMMU)" : "VT-d / AMD-Vi";
        char *ev, *fix;
        if (off) {
                ev = hc_fmt("sys/class/iommu is empty and proc/cmdline contains '%s'", off);
                fix = hc_fmt("remove '%s' from the kernel command line (%s) and reboot", off,
                          s->boot.loader == PV_BOOTLOADER_SYSTEMD_BOOT ? "etc/kernel/cmdline" : "etc/default/grub");
        } else if (!table) {
                ev = hc_fmt("sys/class/iommu is empty and there is no %s table in sys/firmware/acpi/tables: the "
                                  "firmware does not announce an IOMMU",
                         tname);
                fix = hc_fmt("enable %s in the firmware (BIOS/UEFI) setup, then reboot", fw);
        } else if (intel && s->kver.major && !pv_host_kernel_at_least(s, 6, 8) &&
                   !hc_find_arg(&s->cmdline_args, "intel_iommu=on", NULL)) {
                ev = hc_fmt("sys/class/iommu is empty; kernel %s is older than 6.8, which does not enable the "
                                  "Intel IOMMU by default, and proc/cmdline lacks 'intel_iommu=on'",
                         s->kernel_release ? s->kernel_release : "?");
                fix = hc_fmt("add 'intel_iommu=on' to the kernel command line ('pvfio host apply' does it) and "
                                   "reboot");
        } else {
                ev = hc_fmt("sys/class/iommu is empty although the %s table exists", tname);
                fix = hc_fmt("check 'dmesg | grep -e DMAR -e IOMMU -e AMD-Vi' for why the kernel did not enable "
                                   "the IOMMU");
        }
        ADD(c, "iommu", PV_CHECK_FAIL, "IOMMU not active", ev, fix);
        return 0;
}

int hc_check_firmware(struct check_ctx *c) {
        const struct pv_host_state *s = c->s;
        bool amd = s->cpu.vendor == PV_CPU_AMD;
        bool have = amd ? s->iommu.ivrs_table : s->iommu.dmar_table || (!s->cpu.vendor && s->iommu.ivrs_table);
        const char *t = amd ? "IVRS" : "DMAR";
        if (have) {
                char *ev;
                if (!amd && s->iommu.dmar_flags >= 0)
                        ev = hc_fmt("sys/firmware/acpi/tables/DMAR present (flags 0x%02x: interrupt remapping %s"
                                          "%s)",
                                 (unsigned)s->iommu.dmar_flags,
                                 (s->iommu.dmar_flags & 1) ? "supported" : "not announced",
                                 (s->iommu.dmar_flags & 2) ? ", x2APIC opt-out" : "");
                else
                        ev = hc_fmt("sys/firmware/acpi/tables/%s present", t);
                ADD(c, "iommu-firmware", PV_CHECK_PASS, amd ? "firmware announces AMD-Vi (IVRS table)"
                                                            : "firmware announces VT-d (DMAR table)",
                    ev, NULL);
        } else {
                ADD(c, "iommu-firmware", s->iommu.active ? PV_CHECK_WARN : PV_CHECK_FAIL,
                    amd ? "no IVRS table" : "no DMAR table",
                    hc_fmt("sys/firmware/acpi/tables/%s is absent", t),
                    hc_fmt("enable %s in the firmware (BIOS/UEFI) setup", amd ? "AMD-Vi / IOMMU" : "VT-d"));
        }
        return 0;
}

int hc_check_ir(struct check_ctx *c) {
        const struct pv_host_state *s = c->s;
        bool unsafe_ok = hc_modprobe_has(s, "allow_unsafe_interrupts=1");
        bool unit_ir = false;
        for (size_t i = 0; i < s->iommu.n_units; i++)
                unit_ir |= s->iommu.units[i].ir_capable;
        if (!s->iommu.active && s->iommu.ir != PV_IR_ACTIVE) {
                /* remapping is done by the IOMMU: with it off nothing is "missing" yet, and
                 * allow_unsafe_interrupts would be the wrong advice (issue 10 item 11) */
                ADD(c, "interrupt-remapping", PV_CHECK_WARN, "interrupt remapping not checked: the IOMMU is off",
                    hc_fmt("interrupt remapping is done by the IOMMU, which is not active (see the 'iommu' "
                                 "check)%s",
                        unit_ir ? "; the IOMMU unit supports it (ECAP bit 3)" : ""),
                    hc_fmt("turn the IOMMU on first, then run 'pvfio host check' again"));
                return 0;
        }
        if (s->iommu.ir == PV_IR_ACTIVE) {
                _cleanup_free_ char *chips = hc_join_strv(&s->iommu.ir_chips, ", ");
                ADD(c, "interrupt-remapping", PV_CHECK_PASS, "interrupt remapping active",
                    hc_fmt("remapped interrupt chips in proc/interrupts: %s", chips ? chips : ""), NULL);
        } else if (s->iommu.ir == PV_IR_ABSENT) {
                _cleanup_free_ char *chips = hc_join_strv(&s->iommu.plain_msi_chips, ", ");
                ADD(c, "interrupt-remapping", unsafe_ok ? PV_CHECK_WARN : PV_CHECK_FAIL, "no interrupt remapping",
                    hc_fmt("proc/interrupts shows only non-remapped chips (%s)%s%s", chips ? chips : "",
                        unit_ir ? "; the IOMMU unit supports it (ECAP bit 3)" : "",
                        unsafe_ok ? "; etc/modprobe.d sets allow_unsafe_interrupts=1" : ""),
                    unsafe_ok ? hc_fmt("passthrough works but a guest could inject interrupts; prefer enabling "
                                             "interrupt remapping in the firmware")
                              : hc_fmt("enable interrupt remapping (VT-d/AMD-Vi with x2APIC) in the firmware; "
                                             "only as a last resort add 'options vfio_iommu_type1 "
                                             "allow_unsafe_interrupts=1' to etc/modprobe.d"));
        } else {
                ADD(c, "interrupt-remapping", PV_CHECK_WARN, "interrupt remapping unknown",
                    hc_fmt("proc/interrupts is missing or shows no MSI/IO-APIC chip%s",
                        unit_ir ? "; the IOMMU unit supports it (ECAP bit 3)" : ""),
                    hc_fmt("check 'dmesg | grep remapping'"));
        }
        return 0;
}

/* The running kernel already gave up isolation guarantees (pcie_acs_override, allow_unsafe_interrupts). */
int hc_check_overrides(struct check_ctx *c) {
        const struct pv_host_state *s = c->s;
        const char *acs = NULL;
        for (size_t i = 0; i < s->cmdline_args.n && !acs; i++)
                if (pv_startswith(s->cmdline_args.v[i], "pcie_acs_override="))
                        acs = s->cmdline_args.v[i];
        if (s->acs_override_active)
                ADD(c, "acs-override", PV_CHECK_WARN,
                    "IOMMU groups are split by pcie_acs_override, not isolated by the hardware",
                    hc_fmt("proc/cmdline: %s", acs ? acs : "pcie_acs_override"),
                    hc_fmt("a passed-through device may still reach the other devices of its real group "
                                 "(peer-to-peer DMA around the IOMMU), including the host's; accept that risk, or "
                                 "move the card to a slot with its own group and drop the override"));
        if (s->unsafe_interrupts_active)
                ADD(c, "unsafe-interrupts", PV_CHECK_WARN, "vfio allows devices without interrupt remapping",
                    hc_fmt("allow_unsafe_interrupts is on (proc/cmdline or "
                                 "sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts)"),
                    hc_fmt("a VM's device can raise arbitrary interrupts (MSI) in the host; enable interrupt "
                                 "remapping in the firmware and drop the option where possible"));
        return 0;
}

int hc_check_kernel(struct check_ctx *c, const struct pv_strv *configured) {
        const struct pv_host_state *s = c->s;
        const char *const *mods = pv_host_vfio_modules(s);
        _cleanup_free_ char *list = hc_join_list(mods, ", ");
        if (!s->kver.major) {
                ADD(c, "kernel", PV_CHECK_WARN, "kernel version unknown",
                    hc_fmt("proc/sys/kernel/osrelease is missing or unparsable"),
                    hc_fmt("check that the root has a proc/sys/kernel/osrelease"));
        } else {
                bool old = !pv_host_kernel_at_least(s, 5, 15);
                ADD(c, "kernel", old ? PV_CHECK_WARN : PV_CHECK_PASS,
                    old ? "kernel older than 5.15" : "kernel version supported",
                    hc_fmt("kernel %s: VFIO modules %s%s", s->kernel_release, list ? list : "",
                        pv_host_kernel_at_least(s, 6, 2) ? " (vfio_virqfd is part of vfio since 6.2)" : ""),
                    old ? hc_fmt("upgrade to a current Proxmox VE kernel (no reset_method control before 5.15)")
                        : NULL);
        }
        /* what etc/modules + modules-load.d will load at boot */
        struct pv_strv missing = PV_STRV_INIT;
        int r = 0;
        for (size_t i = 0; mods[i] && r == 0; i++)
                if (!hc_strv_has_mod(configured, mods[i]))
                        r = pv_strv_push(&missing, mods[i], c->err);
        if (r == 0 && c->in->gvtg && !hc_strv_has_mod(configured, "kvmgt"))
                r = pv_strv_push(&missing, "kvmgt", c->err);
        if (r < 0) {
                pv_strv_done(&missing);
                return r;
        }
        bool virqfd = pv_host_kernel_at_least(s, 6, 2) && hc_strv_has_mod(configured, "vfio_virqfd");
        _cleanup_free_ char *miss = hc_join_strv(&missing, ", ");
        if (virqfd)
                ADD(c, "vfio-modules-config", PV_CHECK_WARN, "obsolete module 'vfio_virqfd' configured",
                    hc_fmt("etc/modules or etc/modules-load.d lists vfio_virqfd, which does not exist on kernel %s"
                                 "%s%s",
                        s->kernel_release, missing.n ? "; missing: " : "", missing.n ? miss : ""),
                    hc_fmt("remove 'vfio_virqfd' (systemd-modules-load logs an error for it)%s",
                        missing.n ? " and add the missing modules ('pvfio host apply')" : ""));
        else if (missing.n)
                ADD(c, "vfio-modules-config", PV_CHECK_WARN, "VFIO modules not configured to load at boot",
                    hc_fmt("etc/modules and etc/modules-load.d do not list: %s", miss ? miss : ""),
                    hc_fmt("list them in etc/modules-load.d ('pvfio host apply' writes "
                                 "etc/modules-load.d/pvfio.conf), then 'update-initramfs -u -k all'"));
        else
                ADD(c, "vfio-modules-config", PV_CHECK_PASS, "VFIO modules configured to load at boot",
                    hc_fmt("etc/modules or etc/modules-load.d list %s%s", list ? list : "",
                        c->in->gvtg ? ", kvmgt" : ""),
                    NULL);
        pv_strv_done(&missing);
        return 0;
}

int hc_check_bootloader(struct check_ctx *c) {
        const struct pv_host_state *s = c->s;
        const struct pv_boot_info *b = &s->boot;
        _cleanup_free_ char *ev = hc_join_strv(&b->evidence, "; ");
        if (b->loader == PV_BOOTLOADER_SYSTEMD_BOOT) {
                const struct pv_host_file *f = &b->etc_kernel_cmdline;
                bool root = false;
                if (f->present && f->content) {
                        struct pv_strv w = PV_STRV_INIT;
                        _cleanup_free_ char *first = pv_strdup(f->content, c->err);
                        if (!first)
                                return -PV_ENOMEM;
                        char *nl = strchr(first, '\n');
                        if (nl)
                                *nl = '\0';
                        int r = pv_host_cmdline_tokens(first, &w, c->err);
                        for (size_t i = 0; r == 0 && i < w.n; i++)
                                root |= pv_startswith(w.v[i], "root=");
                        pv_strv_done(&w);
                        if (r < 0)
                                return r;
                }
                if (!root)
                        ADD(c, "bootloader", PV_CHECK_WARN, "systemd-boot: etc/kernel/cmdline lacks 'root='",
                            hc_fmt("%s; etc/kernel/cmdline is %s", ev ? ev : "",
                                f->present ? "present without root=" : "absent"),
                            hc_fmt("write the current root= argument (see proc/cmdline) into etc/kernel/cmdline; "
                                         "'proxmox-boot-tool refresh' aborts without it"));
                else
                        ADD(c, "bootloader", PV_CHECK_PASS, "boot loader: systemd-boot (proxmox-boot-tool)", TAKE_PTR(ev),
                            NULL);
        } else if (b->loader == PV_BOOTLOADER_GRUB) {
                if (!b->etc_default_grub.present && !b->n_grub_d)
                        ADD(c, "bootloader", PV_CHECK_WARN, "boot loader: GRUB, but etc/default/grub is missing",
                            TAKE_PTR(ev), hc_fmt("install grub (grub-efi-amd64 or grub-pc) or check the root"));
                else
                        ADD(c, "bootloader", PV_CHECK_PASS,
                            b->proxmox_boot_tool ? "boot loader: GRUB (ESPs synced by proxmox-boot-tool)"
                                                 : "boot loader: GRUB",
                            TAKE_PTR(ev), NULL);
        } else {
                ADD(c, "bootloader", PV_CHECK_WARN, "boot loader unknown", TAKE_PTR(ev),
                    hc_fmt("run 'proxmox-boot-tool status' and 'efibootmgr -v' to find out"));
        }
        return 0;
}

/* No DMAR (Intel) / IVRS (AMD) ACPI table: the firmware has the IOMMU switched off (or lacks it). */
bool hc_firmware_iommu_off(const struct pv_host_state *s) {
        if (s->iommu.active)
                return false;
        if (s->cpu.vendor == PV_CPU_AMD)
                return !s->iommu.ivrs_table;
        if (s->cpu.vendor == PV_CPU_INTEL)
                return !s->iommu.dmar_table;
        return !s->iommu.dmar_table && !s->iommu.ivrs_table;
}

const char *hc_firmware_iommu_name(const struct pv_host_state *s) {
        return s->cpu.vendor == PV_CPU_AMD ? "AMD-Vi (IOMMU)" : s->cpu.vendor == PV_CPU_INTEL ? "VT-d" : "VT-d / AMD-Vi";
}

/* Kernel arguments whose point is an active IOMMU. */
static bool wants_iommu_arg(const struct pv_strv *want) {
        for (size_t i = 0; i < want->n; i++)
                if (pv_startswith(want->v[i], "intel_iommu=") || pv_startswith(want->v[i], "amd_iommu=") ||
                    pv_startswith(want->v[i], "iommu="))
                        return true;
        return false;
}

/* Arguments the boot configuration has (GRUB or etc/kernel/cmdline) that the running kernel was not
 * started with, told without -k (issue 10 item 11). Those asked for with -k are the 'kernel-args' check's. */
int hc_check_pending_args(struct check_ctx *c, const struct pv_strv *want) {
        const struct pv_host_state *s = c->s;
        struct pv_strv conf = PV_STRV_INIT;
        const char *where = "";
        int r = hc_configured_kernel_args(s, &conf, &where, c->err);
        struct pv_buf pending = PV_BUF_INIT;
        size_t n = 0;
        for (size_t i = 0; r == 0 && i < conf.n; i++) {
                const char *a = conf.v[i];
                if (a[0] == '$' || pv_strv_contains(&s->cmdline_args, a) || hc_find_arg(want, a, NULL))
                        continue;   /* $VAR: a GRUB expansion of what is already counted; -k ones: 'kernel-args' */
                bool dup = false;
                for (size_t k = 0; k < i && !dup; k++)
                        dup = strcmp(conf.v[k], a) == 0;
                if (dup)
                        continue;
                n++;
                r = pv_buf_addf(&pending, c->err, "%s'%s'", pending.len ? ", " : "", a);
                if (r == 0)
                        r = hc_reboot_reason(c, hc_fmt("kernel argument '%s' is in %s but not in proc/cmdline", a,
                                                 where));
        }
        pv_strv_done(&conf);
        if (r < 0 || !n) {
                pv_buf_release(&pending);
                return r;
        }
        char *ev;
        if (hc_firmware_iommu_off(s))
                ev = hc_fmt("configured in %s: %s; proc/cmdline: %s; the firmware has %s off (no %s table), "
                                  "which no kernel argument changes",
                         where, pending.buf, s->cmdline ? s->cmdline : "(missing)", hc_firmware_iommu_name(s),
                         s->cpu.vendor == PV_CPU_AMD ? "IVRS" : "DMAR");
        else
                ev = hc_fmt("configured in %s: %s; proc/cmdline: %s", where, pending.buf,
                         s->cmdline ? s->cmdline : "(missing)");
        pv_buf_release(&pending);
        ADD(c, "kernel-args-pending", PV_CHECK_WARN, "configured kernel arguments not active yet", ev,
            hc_fmt("reboot (after '%s') to start the kernel with them",
                s->boot.loader == PV_BOOTLOADER_SYSTEMD_BOOT ? "proxmox-boot-tool refresh" : "update-grub"));
        return 0;
}

int hc_check_kernel_args(struct check_ctx *c, const struct pv_strv *want) {
        const struct pv_host_state *s = c->s;
        if (!want->n) {
                ADD(c, "kernel-args", PV_CHECK_PASS, "no kernel arguments required",
                    hc_fmt("proc/cmdline: %s", s->cmdline ? s->cmdline : "(missing)"), NULL);
                return 0;
        }
        struct pv_strv conf = PV_STRV_INIT;
        const char *where = "";
        int r = hc_configured_kernel_args(s, &conf, &where, c->err);
        if (r < 0) {
                pv_strv_done(&conf);
                return r;
        }
        struct pv_buf ev = PV_BUF_INIT, pending = PV_BUF_INIT, absent = PV_BUF_INIT;
        size_t n_pending = 0, n_absent = 0;
        for (size_t i = 0; i < want->n; i++) {
                const char *w = want->v[i], *same = NULL, *csame = NULL;
                bool active = hc_find_arg(&s->cmdline_args, w, &same) != NULL;
                bool configured = hc_find_arg(&conf, w, &csame) != NULL;
                if (active)
                        continue;
                if (configured) {
                        n_pending++;
                        r = pv_buf_addf(&pending, c->err, "%s'%s'", pending.len ? ", " : "", w);
                        if (r == 0)
                                r = hc_reboot_reason(c, hc_fmt("kernel argument '%s' is in %s but not in proc/cmdline",
                                                         w, where));
                } else {
                        n_absent++;
                        r = pv_buf_addf(&absent, c->err, "%s'%s'%s%s%s", absent.len ? ", " : "", w,
                                        same ? " (proc/cmdline has '" : "", same ? same : "", same ? "')" : "");
                }
                if (r < 0)
                        break;
        }
        if (r == 0)
                r = pv_buf_addf(&ev, c->err, "proc/cmdline: %s", s->cmdline ? s->cmdline : "(missing)");
        if (r == 0 && n_pending)
                r = pv_buf_addf(&ev, c->err, "; configured in %s but not active: %s", where, pending.buf);
        if (r == 0 && n_absent)
                r = pv_buf_addf(&ev, c->err, "; missing: %s", absent.buf);
        pv_strv_done(&conf);
        pv_buf_release(&pending);
        char *evs = NULL;
        size_t len;
        if (r == 0)
                r = pv_buf_detach(&ev, &evs, &len, c->err);
        pv_buf_release(&ev);
        if (r < 0) {
                pv_buf_release(&absent);
                return r;
        }
        const char *fw_off = hc_firmware_iommu_off(s) && wants_iommu_arg(want) ? hc_firmware_iommu_name(s) : NULL;
        if (fw_off && (n_absent || n_pending)) {
                pv_buf_release(&absent);
                char *ev2 = hc_fmt("%s; sys/firmware/acpi/tables has no %s table: the firmware has %s off, so "
                                         "no kernel argument can turn the IOMMU on, and a reboot alone changes nothing",
                                evs, s->cpu.vendor == PV_CPU_AMD ? "IVRS" : "DMAR", fw_off);
                free(evs);
                ADD(c, "kernel-args", PV_CHECK_FAIL, "IOMMU arguments cannot take effect: the firmware has the IOMMU off",
                    ev2, hc_fmt("enable %s in the firmware (BIOS/UEFI) setup, then reboot", fw_off));
        } else if (n_absent) {
                char *fix = hc_fmt("add %s to %s ('pvfio host apply' does it), refresh the boot loader and reboot",
                                absent.buf, where);
                pv_buf_release(&absent);
                ADD(c, "kernel-args", PV_CHECK_FAIL, "kernel arguments missing", evs, fix);
        } else if (n_pending) {
                pv_buf_release(&absent);
                ADD(c, "kernel-args", PV_CHECK_WARN, "kernel arguments configured, waiting for a reboot", evs,
                    hc_fmt("reboot (after '%s')",
                        s->boot.loader == PV_BOOTLOADER_SYSTEMD_BOOT ? "proxmox-boot-tool refresh" : "update-grub"));
        } else {
                pv_buf_release(&absent);
                ADD(c, "kernel-args", PV_CHECK_PASS, "kernel arguments active", evs, NULL);
        }
        return 0;
}
