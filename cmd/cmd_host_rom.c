/* SPDX-License-Identifier: GPL-2.0-or-later */
/* pvfio host rom check|dump: a GPU's option ROM, its images and whether it can boot under UEFI (OVMF). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "pvfio/cleanup.h"
#include "pvfio/host.h"
#include "pvfio/rom.h"

static const struct pv_opt rom_opts[] = {
        { "root", 0, PV_OPT_VALUE, "DIR", "host root to inspect (default /)", false },
        { "device", 'd', PV_OPT_VALUE, "ADDR", "the device (check: default every display controller)", false },
        { "output", 'o', PV_OPT_VALUE, "FILE", "dump: the file to write the ROM to", false },
        { NULL, 0, 0, NULL, NULL, false },
};

static json_t *info_json(const struct pv_rom_info *ri, size_t len) {
        json_t *imgs = json_array();
        for (size_t i = 0; imgs && i < ri->n_images; i++) {
                const struct pv_rom_image *im = &ri->images[i];
                char vd[10], cb[16], mb[8];
                snprintf(vd, sizeof vd, "%04x:%04x", im->vendor, im->device);
                json_t *o = json_pack("{s:I, s:I, s:s, s:i, s:s, s:b}", "offset", (json_int_t)im->offset, "length",
                                      (json_int_t)im->length, "id", vd, "code_type", im->code_type, "code",
                                      pv_rom_code_name(im->code_type, cb), "last", im->last);
                if (o && im->efi_machine)
                        json_object_set_new(o, "efi_machine", json_string(pv_rom_machine_name(im->efi_machine, mb)));
                json_array_append_new(imgs, o);
        }
        return json_pack("{s:I, s:o, s:b, s:o}", "size", (json_int_t)len, "images", imgs ? imgs : json_array(),
                         "efi", ri->has_efi, "problem", ri->problem ? json_string(ri->problem) : json_null());
}

static void print_info(struct pv_ctx *ctx, const struct pv_host_dev *d, const char *addr, const struct pv_rom_info *ri,
                       size_t len) {
        FILE *f = ctx->out;
        fprintf(f, "%s%s%s", pv_c(ctx, f, PV_C_BOLD), addr, pv_c(ctx, f, PV_C_RESET));
        if (d)
                fprintf(f, " %s%s%s [%04x:%04x]", d->vendor_name ? d->vendor_name : "", d->vendor_name ? " " : "",
                        d->device_name ? d->device_name : "", d->vendor, d->device);
        fprintf(f, ": ROM %zu bytes, %zu image%s\n", len, ri->n_images, ri->n_images == 1 ? "" : "s");
        for (size_t i = 0; i < ri->n_images; i++) {
                const struct pv_rom_image *im = &ri->images[i];
                char cb[16], mb[8];
                fprintf(f, "  image %zu at 0x%zx: %s", i, im->offset, pv_rom_code_name(im->code_type, cb));
                if (im->efi_machine)
                        fprintf(f, " (%s)", pv_rom_machine_name(im->efi_machine, mb));
                fprintf(f, ", PCIR %04x:%04x, %zu bytes%s\n", im->vendor, im->device, im->length,
                        im->last ? ", last" : "");
        }
        if (ri->problem)
                fprintf(f, "  %swarning:%s %s\n", pv_c(ctx, f, PV_C_YELLOW), pv_c(ctx, f, PV_C_RESET), ri->problem);
        if (ri->has_efi)
                fprintf(f, "  UEFI: %syes%s, an EFI image is present (OVMF can initialise the card)\n",
                        pv_c(ctx, f, PV_C_GREEN), pv_c(ctx, f, PV_C_RESET));
        else
                fprintf(f, "  UEFI: %sno EFI image%s: with bios: ovmf the card shows nothing until the guest driver "
                           "loads; pass a UEFI-capable ROM image as romfile (from the vendor, or a dump of a "
                           "UEFI-capable card of the same model)\n",
                        pv_c(ctx, f, PV_C_YELLOW), pv_c(ctx, f, PV_C_RESET));
}

static int report(struct pv_ctx *ctx, struct pv_error *err) {
        int rc = pv_report_error(ctx, err);
        pv_error_done(err);
        return rc;
}

static int run_rom(struct pv_ctx *ctx, const struct pv_cmd *cmd, struct pv_args *args) {
        const char *action = args->pos[0];
        bool dump = strcmp(action, "dump") == 0;
        if (!dump && strcmp(action, "check") != 0)
                return pv_cli_usage_error(ctx, cmd, "unknown action '%s' (check or dump)", action);
        const char *dev = pv_args_value(args, "device"), *out = pv_args_value(args, "output");
        if (dump && (!dev || !out))
                return pv_cli_usage_error(ctx, cmd, "dump needs --device ADDR and --output FILE");
        if (!dump && out)
                return pv_cli_usage_error(ctx, cmd, "--output is for dump");
        struct pv_error err = PV_ERROR_INIT;
        struct pv_pci_addr want;
        if (dev) {
                if (pv_pci_addr_parse(dev, &want, &err) < 0 || want.func == PV_PCI_FUNC_ALL) {
                        int rc = pv_cli_usage_error(ctx, cmd, "--device '%s': a PCI function such as 0000:01:00.0 is "
                                                              "required",
                                                    dev);
                        pv_error_done(&err);
                        return rc;
                }
        }
        struct pv_host *h = NULL;
        struct pv_host_state *s = NULL;
        if (pv_host_open(pv_args_value(args, "root"), &ctx->log, &h, &err) < 0 || pv_host_scan(h, 0, &s, &err) < 0) {
                pv_host_close(h);
                return report(ctx, &err);
        }
        int rc = PV_EXIT_OK;
        json_t *list = ctx->json ? json_array() : NULL;
        size_t n = 0;
        for (size_t i = 0; i < s->n_devs && rc == PV_EXIT_OK; i++) {
                const struct pv_host_dev *d = &s->devs[i];
                if (dev ? pv_pci_addr_cmp(&d->addr, &want) != 0 : !pv_host_dev_is_display(d))
                        continue;
                n++;
                uint8_t *buf = NULL;
                size_t len = 0;
                if (pv_rom_read(h, &d->addr, &buf, &len, &err) < 0) {
                        if (dev || dump) {
                                rc = report(ctx, &err);
                                break;
                        }
                        if (list)
                                json_array_append_new(list, json_pack("{s:s, s:s}", "address", d->name, "error",
                                                                      pv_error_message(&err)));
                        else
                                fprintf(ctx->out, "%s: %s\n", d->name, pv_error_message(&err));
                        pv_error_done(&err);
                        continue;
                }
                if (dump) {
                        int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
                        bool ok = fd >= 0 && write(fd, buf, len) == (ssize_t)len;
                        int e = errno;
                        if (fd >= 0 && close(fd) < 0)
                                ok = false;
                        if (!ok) {
                                pv_error_set_errno(&err, e, "cannot write '%s'", out);
                                rc = report(ctx, &err);
                        }
                }
                struct pv_rom_info ri;
                if (rc == PV_EXIT_OK && pv_rom_parse(buf, len, &ri, &err) < 0)
                        rc = report(ctx, &err);
                else if (rc == PV_EXIT_OK) {
                        if (list) {
                                json_t *o = info_json(&ri, len);
                                if (o)
                                        json_object_set_new(o, "address", json_string(d->name));
                                json_array_append_new(list, o);
                        } else {
                                print_info(ctx, d, d->name, &ri, len);
                                if (dump)
                                        fprintf(ctx->out, "written to %s\n", out);
                        }
                        pv_rom_info_done(&ri);
                }
                free(buf);
        }
        if (rc == PV_EXIT_OK && dev && !n) {
                pv_error_set(&err, PV_ENOTFOUND, "no PCI device %s on this host (see 'pvfio host scan')", dev);
                rc = report(ctx, &err);
        }
        if (rc == PV_EXIT_OK && list)
                pv_print_json(ctx, json_pack("{s:o}", "roms", list));
        else if (list)
                json_decref(list);
        if (rc == PV_EXIT_OK && !list && !n)
                fprintf(ctx->out, "No display controller on this host.\n");
        pv_host_state_free(s);
        pv_host_close(h);
        return rc;
}

const struct pv_cmd pv_cmd_host_rom = {
        .name = "rom",
        .summary = "check a GPU's option ROM (images, UEFI support) or dump it to a file",
        .usage = "check|dump",
        .description = "check: reads each display controller's ROM (or --device's) from sysfs, walks its\n"
                       "images (x86 BIOS, EFI, …) and says whether it has an EFI image, which OVMF\n"
                       "needs to show anything before the guest driver loads. On the real root the ROM\n"
                       "is enabled for the read and disabled after it. dump: writes --device's ROM to\n"
                       "--output, for use as a VM's romfile (a host section's romfiles installs it\n"
                       "into /usr/share/kvm). A boot GPU's ROM often cannot be read.",
        .opts = rom_opts,
        .run = run_rom,
        .json = true,
        .parent = "host",
        .min_args = 1,
        .max_args = 1,
};
