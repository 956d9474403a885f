/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Host inspection: the platform around the devices: CPU, kernel and
 * cmdline, IOMMU state, framebuffers in iomem, the boot loader and the vGPU
 * software. See host_scan.c.
 */
#include "pvfio/xalloc.h"
#include "pvfio/host.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pcilib.h"
#include "pvfio/buf.h"
#include "pvfio/cleanup.h"
#include "pvfio/hostfs.h"
#include "pvfio/util.h"
#include "host_scan_int.h"

/* --------------------------------------------------------------- platform */

int pvs_scan_cpu(struct pv_host *h, struct pv_host_state *s, struct pv_error *err) {
        _cleanup_free_ char *txt = NULL;
        int r = pvs_read_whole(h->dirfd, "proc/cpuinfo", PROC_FILE_CAP, &txt, NULL);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return pvs_path_error(h, -r, "proc/cpuinfo", "read", err);
        bool have_flags = false;
        for (char *line = txt, *next; line && *line; line = next) {
                next = strchr(line, '\n');
                if (next)
                        *next++ = '\0';
                char *colon = strchr(line, ':');
                if (!colon)
                        continue;
                *colon = '\0';
                char *val = colon + 1;
                while (*val == ' ' || *val == '\t')
                        val++;
                pv_strip_trailing(val);
                pv_strip_trailing(line);
                if (strcmp(line, "processor") == 0) {
                        s->cpu.count++;
                } else if (strcmp(line, "vendor_id") == 0 && !s->cpu.vendor_id) {
                        s->cpu.vendor_id = pv_xstrdup(val);
                } else if (strcmp(line, "model name") == 0 && !s->cpu.model_name) {
                        s->cpu.model_name = pv_xstrdup(val);
                } else if (strcmp(line, "flags") == 0 && !have_flags) {
                        have_flags = true;
                        char *save = NULL;
                        for (char *w = strtok_r(val, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
                                if ((r = pv_strv_push(&s->cpu.flags, w, err)) < 0)
                                        return r;
                                if (strcmp(w, "vmx") == 0)
                                        s->cpu.vmx = true;
                                else if (strcmp(w, "svm") == 0)
                                        s->cpu.svm = true;
                        }
                }
        }
        if (s->cpu.vendor_id && strcmp(s->cpu.vendor_id, "GenuineIntel") == 0)
                s->cpu.vendor = PV_CPU_INTEL;
        else if (s->cpu.vendor_id &&
                 (strcmp(s->cpu.vendor_id, "AuthenticAMD") == 0 || strcmp(s->cpu.vendor_id, "HygonGenuine") == 0))
                s->cpu.vendor = PV_CPU_AMD;
        return 0;
}

int pv_host_cmdline_tokens(const char *line, struct pv_strv *out, struct pv_error *err) {
        struct pv_buf tok = PV_BUF_INIT;
        bool inq = false, have = false;
        int r = 0;
        for (const char *p = line;; p++) {
                if (*p == '\0' || (!inq && isspace((unsigned char)*p))) {
                        if (have) {
                                r = pv_strv_push(out, tok.buf, err);
                                pv_buf_reset(&tok);
                                have = false;
                                if (r < 0)
                                        break;
                        }
                        if (*p == '\0')
                                break;
                        continue;
                }
                have = true;
                if (*p == '"') {
                        inq = !inq;
                        continue;
                }
                if ((r = pv_buf_addch(&tok, *p, err)) < 0)
                        break;
        }
        pv_buf_release(&tok);
        return r;
}

int pvs_scan_kernel(struct pv_host *h, struct pv_host_state *s, struct pv_error *err) {
        char buf[ATTR_MAX];
        ssize_t n = pvs_read_attr(h->dirfd, "proc/sys/kernel/osrelease", buf);
        if (n > 0) {
                s->kernel_release = pv_xstrdup(buf);
                unsigned a = 0, b = 0, c = 0;
                if (sscanf(buf, "%u.%u.%u", &a, &b, &c) >= 2)
                        s->kver = (struct pv_kver){ a, b, c };
        }
        _cleanup_free_ char *cl = NULL;
        int r = pvs_read_whole(h->dirfd, "proc/cmdline", 1u << 16, &cl, NULL);
        if (r == 0) {
                pv_strip_trailing(cl);
                r = pv_host_cmdline_tokens(cl, &s->cmdline_args, err);
                if (r < 0)
                        return r;
                s->cmdline = TAKE_PTR(cl);
        } else if (r != -ENOENT) {
                return pvs_path_error(h, -r, "proc/cmdline", "read", err);
        }
        _cleanup_free_ char *mods = NULL;
        r = pvs_read_whole(h->dirfd, "proc/modules", PROC_FILE_CAP, &mods, NULL);
        if (r == 0) {
                for (char *line = mods, *next; line && *line; line = next) {
                        next = strchr(line, '\n');
                        if (next)
                                *next++ = '\0';
                        char *sp = strchr(line, ' ');
                        if (sp)
                                *sp = '\0';
                        if (*line && (r = pv_strv_push(&s->modules, line, err)) < 0)
                                return r;
                }
        } else if (r != -ENOENT) {
                return pvs_path_error(h, -r, "proc/modules", "read", err);
        }
        if ((r = pvs_list_dir(h, "sys/module", NULL, &s->sys_modules, err)) < 0)
                return r;
        return 0;
}

int pvs_scan_iommu(struct pv_host *h, struct pv_host_state *s, struct pv_error *err) {
        struct pv_strv names = PV_STRV_INIT;
        int r = pvs_list_dir(h, "sys/class/iommu", NULL, &names, err);
        if (r < 0)
                return r;
        s->iommu.units = pv_xcalloc(names.n ? names.n : 1, sizeof(*s->iommu.units));
        for (size_t i = 0; i < names.n; i++) {
                struct pv_iommu_unit *u = &s->iommu.units[s->iommu.n_units++];
                u->name = TAKE_PTR(names.v[i]);
                const char *cap = NULL, *ecap = NULL;
                if (pv_startswith(u->name, "dmar")) {
                        u->kind = PV_IOMMU_UNIT_INTEL;
                        cap = "intel-iommu/cap";
                        ecap = "intel-iommu/ecap";
                } else if (pv_startswith(u->name, "ivhd")) {
                        u->kind = PV_IOMMU_UNIT_AMD;
                        cap = "amd-iommu/cap";
                        ecap = "amd-iommu/features";
                }
                if (!cap)
                        continue;
                char rel[512], buf[ATTR_MAX];
                unsigned long long v1, v2;
                snprintf(rel, sizeof(rel), "sys/class/iommu/%s/%s", u->name, cap);
                if (pvs_read_attr(h->dirfd, rel, buf) < 0 ||
                    !pvs_parse_ulong(pv_startswith(buf, "0x") ? buf + 2 : buf, 16, UINT64_MAX, &v1))
                        continue;
                snprintf(rel, sizeof(rel), "sys/class/iommu/%s/%s", u->name, ecap);
                if (pvs_read_attr(h->dirfd, rel, buf) < 0 ||
                    !pvs_parse_ulong(pv_startswith(buf, "0x") ? buf + 2 : buf, 16, UINT64_MAX, &v2))
                        continue;
                u->has_cap = true;
                u->cap = v1;
                u->ecap = v2;
                if (u->kind == PV_IOMMU_UNIT_INTEL)
                        u->ir_capable = (v2 >> 3) & 1;
        }
        pv_strv_done(&names);

        s->iommu.dmar_flags = -1;
        s->iommu.dmar_table = pvs_exists_at(h->dirfd, "sys/firmware/acpi/tables/DMAR");
        s->iommu.ivrs_table = pvs_exists_at(h->dirfd, "sys/firmware/acpi/tables/IVRS");
        if (s->iommu.dmar_table) {
                int fd = pv_fs_open(h->dirfd, "sys/firmware/acpi/tables/DMAR", O_RDONLY | O_NONBLOCK, 0);
                if (fd >= 0) {
                        unsigned char hdr[38];
                        if (pread(fd, hdr, sizeof(hdr), 0) == (ssize_t)sizeof(hdr))
                                s->iommu.dmar_flags = hdr[37];
                        close(fd);
                }
        }

        _cleanup_free_ char *irq = NULL;
        r = pvs_read_whole(h->dirfd, "proc/interrupts", PROC_FILE_CAP, &irq, NULL);
        if (r == 0) {
                bool any_chip = false, any_ir = false;
                char *save = NULL;
                for (char *w = strtok_r(irq, " \t\n", &save); w; w = strtok_r(NULL, " \t\n", &save)) {
                        if (pv_startswith(w, "IR-") || pv_startswith(w, "vIR-")) {
                                any_ir = true;
                                if ((r = pvs_strv_push_sorted_unique(&s->iommu.ir_chips, w, MAX_CHIPS_KEPT, err)) < 0)
                                        return r;
                        } else if (pv_startswith(w, "PCI-MSI") || strcmp(w, "IO-APIC") == 0) {
                                any_chip = true;
                                if ((r = pvs_strv_push_sorted_unique(&s->iommu.plain_msi_chips, w, MAX_CHIPS_KEPT,
                                                                     err)) < 0)
                                        return r;
                        }
                }
                s->iommu.ir = any_ir ? PV_IR_ACTIVE : any_chip ? PV_IR_ABSENT : PV_IR_UNKNOWN;
        } else if (r != -ENOENT) {
                return pvs_path_error(h, -r, "proc/interrupts", "read", err);
        }
        s->iommu.active = s->iommu.n_units > 0 || s->iommu.n_groups_sysfs > 0;
        return 0;
}

static bool is_fb_name(const char *n) {
        return strcmp(n, "BOOTFB") == 0 || strcmp(n, "simpledrm") == 0 || strcmp(n, "efifb") == 0 ||
               strcmp(n, "vesafb") == 0 || strcmp(n, "simple-framebuffer") == 0 || strcmp(n, "vesafb_mem") == 0;
}

int pvs_scan_iomem(struct pv_host *h, struct pv_host_state *s, struct pv_error *err) {
        _cleanup_free_ char *txt = NULL;
        int r = pvs_read_whole(h->dirfd, "proc/iomem", PROC_FILE_CAP, &txt, NULL);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return pvs_path_error(h, -r, "proc/iomem", "read", err);
        size_t alloc = 0;
        for (char *line = txt, *next; line && *line; line = next) {
                next = strchr(line, '\n');
                if (next)
                        *next++ = '\0';
                unsigned long long a, b;
                int off = -1;
                if (sscanf(line, " %llx-%llx : %n", &a, &b, &off) != 2 || off < 0)
                        continue;
                char *name = line + off;
                pv_strip_trailing(name);
                if (!is_fb_name(name))
                        continue;
                if (s->n_fb_ranges == alloc) {
                        size_t na = alloc ? alloc * 2 : 4;
                        s->fb_ranges = pv_xreallocarray(s->fb_ranges, na, sizeof(*s->fb_ranges));
                        alloc = na;
                }
                char *nm = pv_xstrdup(name);
                s->fb_ranges[s->n_fb_ranges++] = (struct pv_iomem_range){ .start = a, .end = b, .name = nm };
        }
        return 0;
}

static int add_evidence(struct pv_host_state *s, struct pv_error *err, const char *fmt, ...) PV_PRINTF(3, 4);
static int add_evidence(struct pv_host_state *s, struct pv_error *err, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        char *m = NULL;
        int n = vasprintf(&m, fmt, ap);
        va_end(ap);
        if (n < 0)
                pv_oom(strlen(fmt));    /* allocation does not fail (pvfio/xalloc.h) */
        return pv_strv_push_take(&s->boot.evidence, m, err);
}

int pvs_scan_boot(struct pv_host *h, struct pv_host_state *s, struct pv_error *err) {
        struct pv_boot_info *b = &s->boot;
        int r;
        b->efi = pvs_is_dir_at(h->dirfd, "sys/firmware/efi");
        _cleanup_free_ char *uuids = NULL;
        size_t n_esp = 0;
        bool uuids_file = false;
        r = pvs_read_whole(h->dirfd, "etc/kernel/proxmox-boot-uuids", 1u << 16, &uuids, NULL);
        if (r == 0) {
                uuids_file = true;
                for (char *line = uuids, *next; line && *line; line = next) {
                        next = strchr(line, '\n');
                        if (next)
                                *next++ = '\0';
                        while (isspace((unsigned char)*line))
                                line++;
                        pv_strip_trailing(line);
                        if (*line && *line != '#')
                                n_esp++;
                }
        } else if (r != -ENOENT) {
                return pvs_path_error(h, -r, "etc/kernel/proxmox-boot-uuids", "read", err);
        }
        b->proxmox_boot_tool = n_esp > 0;

        _cleanup_free_ char *li = NULL;
        size_t li_len = 0;
        if (pvs_read_whole(h->dirfd, LOADER_INFO, 4096, &li, &li_len) == 0 && li_len > 4) {
                struct pv_buf txt = PV_BUF_INIT;
                for (size_t i = 4; i + 1 < li_len; i += 2) {
                        unsigned ch = (unsigned char)li[i] | ((unsigned)(unsigned char)li[i + 1] << 8);
                        if (ch == 0)
                                break;
                        if ((r = pv_buf_addch(&txt, ch >= 0x20 && ch < 0x7f ? (char)ch : '?', err)) < 0) {
                                pv_buf_release(&txt);
                                return r;
                        }
                }
                size_t dummy;
                if ((r = pv_buf_detach(&txt, &b->loader_info, &dummy, err)) < 0)
                        return r;
        }

        /* the facts, then the decision */
        if ((r = add_evidence(s, err, b->efi ? "sys/firmware/efi exists: booted in UEFI mode"
                                             : "sys/firmware/efi is absent: booted in legacy BIOS mode")) < 0)
                return r;
        if (b->proxmox_boot_tool)
                r = add_evidence(s, err, "etc/kernel/proxmox-boot-uuids lists %zu ESP(s): proxmox-boot-tool manages "
                                         "the boot partitions", n_esp);
        else if (uuids_file)
                r = add_evidence(s, err, "etc/kernel/proxmox-boot-uuids is empty: proxmox-boot-tool is not in use");
        else
                r = add_evidence(s, err, "etc/kernel/proxmox-boot-uuids is absent: proxmox-boot-tool is not in use");
        if (r < 0)
                return r;
        if (b->loader_info)
                r = add_evidence(s, err, "EFI variable LoaderInfo says '%s'", b->loader_info);
        else if (b->efi)
                r = add_evidence(s, err, "no LoaderInfo EFI variable: the boot loader is not systemd-boot");
        if (r < 0)
                return r;

        bool sdboot = b->loader_info && pv_startswith(b->loader_info, "systemd-boot");
        if (b->efi && b->proxmox_boot_tool && sdboot) {
                b->loader = PV_BOOTLOADER_SYSTEMD_BOOT;
                r = add_evidence(s, err, "decision: systemd-boot managed by proxmox-boot-tool (kernel arguments in "
                                         "etc/kernel/cmdline, then 'proxmox-boot-tool refresh')");
        } else if (sdboot) {
                b->loader = PV_BOOTLOADER_SYSTEMD_BOOT;
                r = add_evidence(s, err, "decision: systemd-boot without proxmox-boot-tool (kernel arguments in "
                                         "etc/kernel/cmdline; the boot entries may need a manual update)");
        } else {
                b->loader = PV_BOOTLOADER_GRUB;
                r = add_evidence(s, err, "decision: GRUB (kernel arguments in etc/default/grub or "
                                         "etc/default/grub.d, then 'update-grub'%s)",
                                 b->proxmox_boot_tool ? ", which also refreshes the ESPs through proxmox-boot-tool" : "");
        }
        if (r < 0)
                return r;

        if ((r = pvs_read_host_file(h, "etc/kernel/cmdline", &b->etc_kernel_cmdline, err)) < 0 ||
            (r = pvs_read_host_file(h, "etc/default/grub", &b->etc_default_grub, err)) < 0 ||
            (r = pvs_read_dir_files(h, "etc/default/grub.d", ".cfg", &b->grub_d, &b->n_grub_d, err)) < 0)
                return r;
        if (b->etc_kernel_cmdline.present && b->loader == PV_BOOTLOADER_GRUB &&
            (r = add_evidence(s, err, "etc/kernel/cmdline exists but is not used by GRUB")) < 0)
                return r;
        return 0;
}

/* The software vGPU modes need beside the hardware (issue 10 item 10; see pvfio/vgpucheck.h). */
static void scan_vgpu_software(struct pv_host *h, struct pv_host_state *s) {
        s->nvidia_vgpu_helper = pvs_exists_at(h->dirfd, "var/lib/dpkg/info/pve-nvidia-vgpu-helper.list") ||
                                pvs_exists_at(h->dirfd, "usr/bin/pve-nvidia-vgpu-helper");
        if (!s->kernel_release)
                return;
        static const char *const ext[] = { ".ko", ".ko.xz", ".ko.zst", ".ko.gz" };
        for (size_t i = 0; i < sizeof(ext) / sizeof(ext[0]); i++) {
                _cleanup_free_ char *rel = pv_xasprintf("lib/modules/%s/updates/dkms/i915%s", s->kernel_release, ext[i]);
                if (pvs_exists_at(h->dirfd, rel)) {
                        s->i915_dkms = TAKE_PTR(rel);
                        return;
                }
        }
}

int pvs_scan_etc(struct pv_host *h, struct pv_host_state *s, struct pv_error *err) {
        int r;
        if ((r = pvs_read_host_file(h, "etc/modules", &s->etc_modules, err)) < 0 ||
            (r = pvs_read_dir_files(h, "etc/modules-load.d", ".conf", &s->modules_load_d, &s->n_modules_load_d,
                                    err)) < 0 ||
            (r = pvs_read_dir_files(h, "etc/modprobe.d", ".conf", &s->modprobe_d, &s->n_modprobe_d, err)) < 0 ||
            (r = pvs_read_host_file(h, "etc/initramfs-tools/modules", &s->etc_initramfs_modules, err)) < 0 ||
            (r = pvs_read_dir_files(h, "etc/driverctl.d", NULL, &s->driverctl_d, &s->n_driverctl_d, err)) < 0 ||
            (r = pvs_read_dir_files(h, "etc/udev/rules.d", ".rules", &s->udev_rules, &s->n_udev_rules, err)) < 0)
                return r;
        s->reboot_required_flag = pvs_exists_at(h->dirfd, "run/reboot-required");
        scan_vgpu_software(h, s);
        return 0;
}
