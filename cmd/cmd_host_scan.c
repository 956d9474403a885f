/* SPDX-License-Identifier: GPL-2.0-or-later */
/* pvfio host scan / pvfio host check */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "pvfio/xalloc.h"
#include "pvfio/cleanup.h"
#include "pvfio/extras.h"
#include "pvfio/host.h"

static const struct pv_opt scan_opts[] = {
        { "root", 0, PV_OPT_VALUE, "DIR", "host root to inspect (default /)", false },
        { "pci-ids", 0, PV_OPT_VALUE, "FILE", "pci.ids file for names (default: the root's, then the system's)", false },
        { "usb", 0, PV_OPT_FLAG, NULL, "list USB devices per controller instead (for usb: entries)", false },
        { "input", 0, PV_OPT_FLAG, NULL, "list keyboards and mice in /dev/input/by-id instead (for evdev:)", false },
        { NULL, 0, 0, NULL, NULL, false },
};

static const struct pv_opt check_opts[] = {
        { "root", 0, PV_OPT_VALUE, "DIR", "host root to inspect (default /)", false },
        { "device", 'd', PV_OPT_VALUE, "ADDR", "a device to be passed through (repeatable; 01:00 = all functions)",
          true },
        { "kernel-arg", 'k', PV_OPT_VALUE, "ARG", "a kernel argument that must be active (repeatable)", true },
        { "gvtg", 0, PV_OPT_FLAG, NULL, "also check Intel GVT-g prerequisites (kvmgt, i915.enable_gvt=1)", false },
        { "hugepages", 0, PV_OPT_VALUE, "N", "also check that N free 1 GiB huge pages are reserved for VMs", false },
        { "pci-ids", 0, PV_OPT_VALUE, "FILE", "pci.ids file for names (default: the root's, then the system's)", false },
        { NULL, 0, 0, NULL, NULL, false },
};

static int open_and_scan(struct pv_ctx *ctx, const struct pv_args *args, unsigned flags, struct pv_host **ret_h,
                         struct pv_host_state **ret_s) {
        struct pv_error err = PV_ERROR_INIT;
        struct pv_host *h = NULL;
        struct pv_host_state *s = NULL;
        const char *ids = pv_args_value(args, "pci-ids");
        int r = pv_host_open(pv_args_value(args, "root"), &ctx->log, &h, &err);
        if (r == 0 && ids)
                r = pv_host_set_pci_ids(h, ids, &err);
        if (r == 0)
                r = pv_host_scan(h, flags, &s, &err);
        if (r < 0) {
                pv_host_close(h);
                int rc = pv_report_error(ctx, &err);
                pv_error_done(&err);
                return rc;
        }
        *ret_h = h;
        *ret_s = s;
        return 0;
}

/* "0000:01:00.0 VGA compatible controller [0300]: NVIDIA Corporation GA107M [...] [10de:25a0] (rev a1)" */
static void print_dev_line(FILE *f, const struct pv_host_dev *d) {
        fprintf(f, "%s ", d->name);
        if (d->class_name)
                fprintf(f, "%s [%04x]: ", d->class_name, d->class_code >> 8);
        else
                fprintf(f, "Class [%04x]: ", d->class_code >> 8);
        if (d->vendor_name)
                fprintf(f, "%s ", d->vendor_name);
        if (d->device_name)
                fprintf(f, "%s ", d->device_name);
        else
                fprintf(f, "Device ");
        fprintf(f, "[%04x:%04x]", d->vendor, d->device);
        if (d->revision)
                fprintf(f, " (rev %02x)", d->revision);
        fputc('\n', f);
}

static void print_dev(struct pv_ctx *ctx, const struct pv_host_state *s, const struct pv_host_dev *d,
                      const char *indent) {
        FILE *f = ctx->out;
        fputs(indent, f);
        print_dev_line(f, d);
        const char *dim = pv_c(ctx, f, PV_C_DIM), *rst = pv_c(ctx, f, PV_C_RESET);
        if (d->has_subsystem && d->subsystem_name)
                fprintf(f, "%s\t%sSubsystem: %s [%04x:%04x]%s\n", indent, dim, d->subsystem_name, d->subsystem_vendor,
                        d->subsystem_device, rst);
        if (d->driver)
                fprintf(f, "%s\tKernel driver in use: %s\n", indent, d->driver);
        else if (d->unknown & PV_HOST_UNKNOWN_DRIVER)
                fprintf(f, "%s\tKernel driver in use: unknown (not in the listing this root was imported from)\n",
                        indent);
        if (d->driver_override)
                fprintf(f, "%s\tDriver override: %s\n", indent, d->driver_override);
        if (d->boot_vga == 1)
                fprintf(f, "%s\t%sBoot VGA device (firmware console)%s\n", indent, dim, rst);
        size_t igpu;
        if (pv_host_dev_is_muxless_gpu(s, d, &igpu))
                fprintf(f, "%s\tNo display outputs: %s beside the integrated GPU %s (a muxless/Optimus dGPU: the "
                           "screens hang on the iGPU)\n",
                        indent, (d->class_code >> 8) == 0x0302 ? "3D controller" : "no DRM connector",
                        s->devs[igpu].name);
        if (d->is_pf) {
                fprintf(f, "%s\tSR-IOV: %u of %u VFs enabled", indent, d->sriov_numvfs, d->sriov_totalvfs);
                if (d->n_vfs) {
                        char a[PV_PCI_ADDR_MAX], b[PV_PCI_ADDR_MAX];
                        pv_pci_addr_format(&d->vfs[0], a);
                        pv_pci_addr_format(&d->vfs[d->n_vfs - 1], b);
                        fprintf(f, " (%s%s%s)", a, d->n_vfs > 1 ? " .. " : "", d->n_vfs > 1 ? b : "");
                }
                fputc('\n', f);
        }
        if (d->is_vf) {
                char a[PV_PCI_ADDR_MAX];
                pv_pci_addr_format(&d->physfn, a);
                fprintf(f, "%s\tSR-IOV VF of %s\n", indent, a);
        }
        if (d->n_mdev_types) {
                fprintf(f, "%s\tmdev types:", indent);
                for (size_t i = 0; i < d->n_mdev_types; i++) {
                        const struct pv_mdev_type *t = &d->mdev_types[i];
                        fprintf(f, "%s %s", i ? "," : "", t->type);
                        if (t->available >= 0)
                                fprintf(f, " (%d available)", t->available);
                }
                fputc('\n', f);
        }
        if (d->n_vgpu_types) {
                fprintf(f, "%s\tvGPU types: %zu creatable (%s", indent, d->n_vgpu_types, d->vgpu_types[0].name);
                if (d->n_vgpu_types > 1)
                        fprintf(f, " .. %s", d->vgpu_types[d->n_vgpu_types - 1].name);
                fprintf(f, ")\n");
        } else if (d->has_nvidia_dir) {
                fprintf(f, "%s\tvGPU types: none creatable\n", indent);
        }
}

static void print_names(struct pv_ctx *ctx, const struct pv_host_state *s, const size_t *v, size_t n, bool detail) {
        for (size_t i = 0; i < n; i++) {
                const struct pv_host_dev *d = &s->devs[v[i]];
                fprintf(ctx->out, "%s%s", i ? ", " : "", d->name);
                if (detail)
                        fprintf(ctx->out, " %s (%s)", d->class_name ? d->class_name : "device",
                                d->driver ? d->driver : "no driver");
        }
}

static void print_group_verdict(struct pv_ctx *ctx, const struct pv_host_state *s, const struct pv_host_group *g) {
        FILE *f = ctx->out;
        struct pv_group_assessment a;
        struct pv_error err = PV_ERROR_INIT;
        if (pv_host_assess_group(s, g, &a, &err) < 0) {
                pv_error_done(&err);
                return;
        }
        const char *rst = pv_c(ctx, f, PV_C_RESET);
        size_t endpoints = 0;
        for (size_t i = 0; i < g->n_members; i++)
                endpoints += !s->devs[g->members[i]].is_bridge;
        size_t platform = 0;
        for (size_t i = 0; i < g->n_members; i++)
                platform += !s->devs[g->members[i]].is_bridge && pv_host_dev_is_platform(&s->devs[g->members[i]]);
        if (a.n_platform) {
                /* the host platform's own functions: the group can never be passed (issue 10 item 9) */
                fprintf(f, "    %s→ host platform, do not pass:%s ", pv_c(ctx, f, PV_C_YELLOW), rst);
                for (size_t i = 0; i < a.n_platform; i++) {
                        const struct pv_host_dev *d = &s->devs[a.platform[i]];
                        fprintf(f, "%s%s %s", i ? ", " : "", d->name, pv_host_dev_platform_role(d));
                }
                if (endpoints > a.n_platform)
                        fprintf(f, "; everything else in this group stays with the host too");
                fputc('\n', f);
                pv_group_assessment_done(&a);
                return;
        }
        if (endpoints && platform == endpoints) {
                fprintf(f, "    %s→ platform devices only (nothing to pass)%s\n", pv_c(ctx, f, PV_C_DIM), rst);
                pv_group_assessment_done(&a);
                return;
        }
        if (s->acs_override_active && endpoints && (a.verdict == PV_GROUP_ALONE || a.verdict == PV_GROUP_COMPANIONS)) {
                /* the running kernel splits groups itself: the hardware may not isolate this one */
                fprintf(f, "    %s→ isolated only by pcie_acs_override (not by the hardware): a VM's device may "
                           "still reach devices of its real group by peer-to-peer DMA%s\n",
                        pv_c(ctx, f, PV_C_YELLOW), rst);
                pv_group_assessment_done(&a);
                return;
        }
        switch (a.verdict) {
        case PV_GROUP_ALONE:
                if (!endpoints) {
                        fprintf(f, "    %s→ bridges only (nothing to pass)%s\n", pv_c(ctx, f, PV_C_DIM), rst);
                        break;
                }
                fprintf(f, "    %s→ ready for passthrough%s", pv_c(ctx, f, PV_C_GREEN), rst);
                if (a.n_bridges) {
                        fprintf(f, " (shares only with bridge ");
                        print_names(ctx, s, a.bridges, a.n_bridges, false);
                        fprintf(f, ", which stays on its driver)");
                }
                fputc('\n', f);
                break;
        case PV_GROUP_COMPANIONS:
                fprintf(f, "    %s→ shares only with its own functions", pv_c(ctx, f, PV_C_GREEN));
                if (a.n_bridges)
                        fprintf(f, " and bridges");
                fprintf(f, " (fine: pass them together)%s\n", rst);
                break;
        case PV_GROUP_SHARED:
                fprintf(f, "    %s→ shares with unrelated devices:%s ", pv_c(ctx, f, PV_C_YELLOW), rst);
                print_names(ctx, s, a.unrelated, a.n_unrelated, true);
                fprintf(f, "; passing any of them takes all of them from the host\n");
                break;
        case PV_GROUP_NO_IOMMU:
                break;
        }
        pv_group_assessment_done(&a);
}

/* The running kernel gives up isolation guarantees: say so before the groups. */
static void print_override_note(struct pv_ctx *ctx, const struct pv_host_state *s) {
        FILE *f = ctx->out;
        for (size_t i = 0; i < s->cmdline_args.n; i++) {
                const char *a = s->cmdline_args.v[i];
                if (pv_startswith(a, "pcie_acs_override="))
                        fprintf(f, "%sNote:%s the running kernel has '%s' (proc/cmdline): IOMMU groups are split by "
                                   "the kernel, not by the hardware's ACS; groups below that look ready are isolated "
                                   "only by that override.\n",
                                pv_c(ctx, f, PV_C_YELLOW), pv_c(ctx, f, PV_C_RESET), a);
        }
        if (s->unsafe_interrupts_active)
                fprintf(f, "%sNote:%s vfio_iommu_type1 allow_unsafe_interrupts is on: without interrupt remapping a "
                           "VM's device can inject interrupts into the host.\n",
                        pv_c(ctx, f, PV_C_YELLOW), pv_c(ctx, f, PV_C_RESET));
}

static int print_no_iommu(struct pv_ctx *ctx, const struct pv_host_state *s) {
        struct pv_check_list l = PV_CHECK_LIST_INIT;
        struct pv_error err = PV_ERROR_INIT;
        FILE *f = ctx->out;
        if (pv_host_check(s, NULL, &l, &err) < 0) {
                int rc = pv_report_error(ctx, &err);
                pv_error_done(&err);
                return rc;
        }
        for (size_t i = 0; i < l.n; i++) {
                if (strcmp(l.v[i].id, "iommu") != 0)
                        continue;
                fprintf(f, "%sNo IOMMU groups: the IOMMU is not active.%s\n", pv_c(ctx, f, PV_C_RED),
                        pv_c(ctx, f, PV_C_RESET));
                fprintf(f, "  Likely cause: %s\n", l.v[i].evidence ? l.v[i].evidence : "");
                if (l.v[i].fix)
                        fprintf(f, "  Fix: %s\n", l.v[i].fix);
        }
        pv_check_list_done(&l);
        return 0;
}

static int run_scan(struct pv_ctx *ctx, const struct pv_cmd *cmd, struct pv_args *args) {
        (void)cmd;
        struct pv_host *h = NULL;
        struct pv_host_state *s = NULL;
        int rc = open_and_scan(ctx, args, 0, &h, &s);
        if (rc)
                return rc;
        if (pv_args_flag(args, "usb") || pv_args_flag(args, "input")) {
                rc = pv_args_flag(args, "usb") ? pv_host_scan_usb(ctx, h, s) : pv_host_scan_input(ctx, h);
                pv_host_state_free(s);
                pv_host_close(h);
                return rc;
        }
        if (ctx->json) {
                json_t *doc = pv_host_state_to_json(s);
                pv_host_state_free(s);
                pv_host_close(h);
                if (!doc) {
                        struct pv_error err = PV_ERROR_INIT;
                        pv_error_set(&err, PV_ENOMEM, "out of memory");
                        rc = pv_report_error(ctx, &err);
                        pv_error_done(&err);
                        return rc;
                }
                pv_print_json(ctx, doc);
                return PV_EXIT_OK;
        }
        FILE *f = ctx->out;
        const char *bold = pv_c(ctx, f, PV_C_BOLD), *rst = pv_c(ctx, f, PV_C_RESET);
        size_t n_unknown_group = 0;
        for (size_t i = 0; i < s->n_devs; i++)
                n_unknown_group += (s->devs[i].unknown & PV_HOST_UNKNOWN_GROUP) != 0;
        if (!s->n_groups && !n_unknown_group) {
                rc = print_no_iommu(ctx, s);
                if (!rc) {
                        fprintf(f, "\n%sDevices (no IOMMU group):%s\n", bold, rst);
                        for (size_t i = 0; i < s->n_devs; i++)
                                print_dev(ctx, s, &s->devs[i], "  ");
                }
        } else {
                if (s->acs_override_active || s->unsafe_interrupts_active)
                        print_override_note(ctx, s);
                for (size_t g = 0; g < s->n_groups; g++) {
                        const struct pv_host_group *grp = &s->groups[g];
                        fprintf(f, "%sIOMMU Group %d:%s\n", bold, grp->id, rst);
                        for (size_t i = 0; i < grp->n_members; i++)
                                print_dev(ctx, s, &s->devs[grp->members[i]], "\t");
                        print_group_verdict(ctx, s, grp);
                }
                size_t orphans = 0, unknown = n_unknown_group;
                for (size_t i = 0; i < s->n_devs; i++)
                        orphans += s->devs[i].iommu_group < 0 && !(s->devs[i].unknown & PV_HOST_UNKNOWN_GROUP);
                if (orphans) {
                        fprintf(f, "%sDevices without an IOMMU group:%s\n", bold, rst);
                        for (size_t i = 0; i < s->n_devs; i++)
                                if (s->devs[i].iommu_group < 0 && !(s->devs[i].unknown & PV_HOST_UNKNOWN_GROUP))
                                        print_dev(ctx, s, &s->devs[i], "\t");
                }
                if (unknown) {
                        fprintf(f, "%sDevices whose IOMMU group is unknown%s (not in the listing this root was "
                                   "imported from; they may share a group above):\n", bold, rst);
                        for (size_t i = 0; i < s->n_devs; i++)
                                if (s->devs[i].unknown & PV_HOST_UNKNOWN_GROUP)
                                        print_dev(ctx, s, &s->devs[i], "\t");
                }
        }
        pv_host_state_free(s);
        pv_host_close(h);
        return rc;
}

/* --hugepages N: free vs needed 1 GiB pages (pvfio/extras.h). */
static int check_hugepages(struct pv_ctx *ctx, const struct pv_cmd *cmd, const struct pv_host *h, const char *arg,
                           struct pv_check_list *l) {
        char *end;
        unsigned long n = strtoul(arg, &end, 10);
        if (!*arg || *end || *arg == '-')
                return pv_cli_usage_error(ctx, cmd, "--hugepages '%s': a number of 1 GiB pages is required", arg);
        struct pv_error err = PV_ERROR_INIT;
        int rc = 0;
        if (pv_host_check_hugepages(h, n, l, &err) < 0)
                rc = pv_report_error(ctx, &err);
        pv_error_done(&err);
        return rc;
}

static int run_check(struct pv_ctx *ctx, const struct pv_cmd *cmd, struct pv_args *args) {
        unsigned n_dev = 0, n_arg = 0;
        const char *const *devs = pv_args_values(args, "device", &n_dev);
        const char *const *kargs = pv_args_values(args, "kernel-arg", &n_arg);
        _cleanup_free_ struct pv_pci_addr *addrs = calloc(n_dev ? n_dev : 1, sizeof(*addrs));
        if (!addrs)
                return PV_EXIT_ERROR;
        for (unsigned i = 0; i < n_dev; i++) {
                struct pv_error e = PV_ERROR_INIT;
                if (pv_pci_addr_parse(devs[i], &addrs[i], &e) < 0) {
                        int rc = pv_cli_usage_error(ctx, cmd, "--device '%s': %s", devs[i], pv_error_message(&e));
                        pv_error_done(&e);
                        return rc;
                }
                addrs[i].domain_given = true;
        }
        struct pv_host *h = NULL;
        struct pv_host_state *s = NULL;
        int rc = open_and_scan(ctx, args, 0, &h, &s);
        if (rc)
                return rc;
        struct pv_error err = PV_ERROR_INIT;
        /* config-space facts (FLR) for the devices to pass; unreadable config is not an error */
        for (unsigned i = 0; i < n_dev && rc == 0; i++)
                for (size_t k = 0; k < s->n_devs; k++)
                        if (pv_pci_addr_covers(&addrs[i], &s->devs[k].addr))
                                if (pv_host_read_caps(h, s, k, &err) < 0)
                                        rc = pv_report_error(ctx, &err);
        /* desired kernel arguments: what this host needs for its IOMMU, plus what was asked */
        const char *const *iommu_args = pv_host_iommu_args(s);
        size_t n_iommu = 0;
        while (iommu_args[n_iommu])
                n_iommu++;
        _cleanup_free_ const char **want = pv_xcalloc(n_iommu + n_arg + 1, sizeof(char *));
        struct pv_check_list l = PV_CHECK_LIST_INIT;
        if (rc == 0) {
                size_t nw = 0;
                for (size_t i = 0; i < n_iommu; i++)
                        want[nw++] = iommu_args[i];
                for (unsigned i = 0; i < n_arg; i++)
                        want[nw++] = kargs[i];
                struct pv_check_input in = { .kernel_args = want, .n_kernel_args = nw, .devices = addrs,
                                             .n_devices = n_dev, .gvtg = pv_args_flag(args, "gvtg") };
                if (pv_host_check(s, &in, &l, &err) < 0)
                        rc = pv_report_error(ctx, &err);
        }
        if (rc == 0 && n_dev && pv_host_check_vendor_reset(h, s, addrs, n_dev, &l, &err) < 0)
                rc = pv_report_error(ctx, &err);
        if (rc == 0 && pv_args_value(args, "hugepages"))
                rc = check_hugepages(ctx, cmd, h, pv_args_value(args, "hugepages"), &l);
        if (rc == 0) {
                enum pv_check_status worst = pv_check_list_worst(&l);
                if (ctx->json) {
                        json_t *doc = json_pack("{s:s, s:s, s:o}", "status", pv_check_status_to_string(worst),
                                                "bootloader", pv_bootloader_to_string(s->boot.loader), "checks",
                                                pv_check_list_to_json(&l));
                        pv_print_json(ctx, doc);
                } else {
                        FILE *f = ctx->out;
                        size_t cnt[3] = { 0 };
                        for (size_t i = 0; i < l.n; i++) {
                                const struct pv_check *c = &l.v[i];
                                cnt[c->status]++;
                                const char *col = c->status == PV_CHECK_PASS   ? PV_C_GREEN
                                                  : c->status == PV_CHECK_WARN ? PV_C_YELLOW
                                                                               : PV_C_RED;
                                if (ctx->quiet && c->status == PV_CHECK_PASS)
                                        continue;
                                fprintf(f, "%s%-4s%s  %-22s %s\n", pv_c(ctx, f, col), pv_check_status_to_string(c->status),
                                        pv_c(ctx, f, PV_C_RESET), c->id, c->title);
                                if (c->evidence)
                                        fprintf(f, "      %s%s%s\n", pv_c(ctx, f, PV_C_DIM), c->evidence,
                                                pv_c(ctx, f, PV_C_RESET));
                                if (c->fix)
                                        fprintf(f, "      fix: %s\n", c->fix);
                        }
                        fprintf(f, "%zu passed, %zu warning(s), %zu failure(s)\n", cnt[PV_CHECK_PASS], cnt[PV_CHECK_WARN],
                                cnt[PV_CHECK_FAIL]);
                }
                rc = worst == PV_CHECK_FAIL ? PV_EXIT_ERROR : PV_EXIT_OK;
        }
        pv_error_done(&err);
        pv_check_list_done(&l);
        pv_host_state_free(s);
        pv_host_close(h);
        return rc;
}

const struct pv_cmd pv_cmd_host_scan = {
        .name = "scan",
        .summary = "list PCI devices by IOMMU group, with a passthrough verdict per group",
        .description = "Reads the PCI devices, IOMMU groups, drivers, SR-IOV and mdev state of this host\n"
                       "(or of the host root given with --root) and prints them grouped by IOMMU group,\n"
                       "with a verdict per group: ready, shares only with its own functions or bridges\n"
                       "(fine), shares with unrelated devices (named), or host platform (the LPC bridge,\n"
                       "SMBus, SPI flash or AMD PSP: never pass it). --json prints everything read.",
        .opts = scan_opts,
        .run = run_scan,
        .json = true,
        .parent = "host",
        .min_args = 0,
        .max_args = 0,
};

const struct pv_cmd pv_cmd_host_check = {
        .name = "check",
        .summary = "check passthrough readiness (pass/warn/fail with evidence and fix)",
        .description = "Checks CPU virtualization, the IOMMU and its firmware table, interrupt remapping,\n"
                       "the kernel and its VFIO modules, the boot loader, kernel arguments, the boot\n"
                       "framebuffer, and for each --device its reset capability and IOMMU group.\n"
                       "Exit status 0 when nothing fails, 1 otherwise.",
        .opts = check_opts,
        .run = run_check,
        .json = true,
        .parent = "host",
        .min_args = 0,
        .max_args = 0,
};
