/* SPDX-License-Identifier: GPL-2.0-or-later */
/* pvfio host scan --usb: USB devices per controller (and bus), for `usb:` entries or controller passthrough;
 * pvfio host scan --input: keyboards and mice by id, for `evdev:`. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "pvfio/extras.h"
#include "pvfio/host.h"
#include "pvfio/usb.h"

static bool same_controller(const struct pv_usb_dev *a, const struct pv_usb_dev *b) {
        if (a->has_controller != b->has_controller)
                return false;
        return !a->has_controller || pv_pci_addr_cmp(&a->controller, &b->controller) == 0;
}

/* Proxmox's field names (GET /nodes/{node}/hardware/usb) plus sysfs name and controller. */
static json_t *usb_json(const struct pv_usb_dev *d) {
        json_t *o = json_pack("{s:s, s:i, s:i, s:i, s:i, s:i, s:s, s:s, s:s}", "name", d->name, "busnum",
                              (int)d->busnum, "devnum", (int)d->devnum, "level", (int)d->level, "port", (int)d->port,
                              "class", (int)d->class_code, "vendid", d->vendor, "prodid", d->product, "speed",
                              d->speed ? d->speed : "");
        if (!o)
                return NULL;
        if (d->usbpath)
                json_object_set_new(o, "usbpath", json_string(d->usbpath));
        if (d->manufacturer)
                json_object_set_new(o, "manufacturer", json_string(d->manufacturer));
        if (d->product_name)
                json_object_set_new(o, "product", json_string(d->product_name));
        return o;
}

static int print_json(struct pv_ctx *ctx, const struct pv_host_state *s, const struct pv_usb_list *l) {
        json_t *ctrls = json_array();
        json_t *cur = NULL;
        for (size_t i = 0; ctrls && i < l->n; i++) {
                const struct pv_usb_dev *d = &l->v[i];
                if (!i || !same_controller(d, &l->v[i - 1])) {
                        char a[PV_PCI_ADDR_MAX] = "";
                        if (d->has_controller)
                                pv_pci_addr_format(&d->controller, a);
                        const struct pv_host_dev *pd = d->has_controller ? pv_host_find_dev(s, &d->controller) : NULL;
                        json_t *c = json_pack("{s:o, s:o, s:o, s:[]}", "address", a[0] ? json_string(a) : json_null(),
                                              "iommu_group", pd && pd->iommu_group >= 0 ? json_integer(pd->iommu_group)
                                                                                        : json_null(),
                                              "driver", pd && pd->driver ? json_string(pd->driver) : json_null(),
                                              "devices");
                        if (!c || json_array_append_new(ctrls, c) < 0)
                                break;
                        cur = json_object_get(c, "devices");
                }
                json_array_append_new(cur, usb_json(d));
        }
        json_t *doc = ctrls ? json_pack("{s:o}", "usb_controllers", ctrls) : NULL;
        if (!doc) {
                struct pv_error err = PV_ERROR_INIT;
                pv_error_set(&err, PV_ENOMEM, "out of memory");
                int rc = pv_report_error(ctx, &err);
                pv_error_done(&err);
                return rc;
        }
        pv_print_json(ctx, doc);
        return PV_EXIT_OK;
}

static void print_controller(struct pv_ctx *ctx, const struct pv_host_state *s, const struct pv_usb_dev *d) {
        FILE *f = ctx->out;
        const char *bold = pv_c(ctx, f, PV_C_BOLD), *rst = pv_c(ctx, f, PV_C_RESET);
        if (!d->has_controller) {
                fprintf(f, "%sUSB controller (not a PCI device)%s\n", bold, rst);
                return;
        }
        char a[PV_PCI_ADDR_MAX];
        pv_pci_addr_format(&d->controller, a);
        const struct pv_host_dev *pd = pv_host_find_dev(s, &d->controller);
        fprintf(f, "%sUSB controller %s%s", bold, a, rst);
        if (pd && (pd->vendor_name || pd->device_name))
                fprintf(f, " %s%s%s", pd->vendor_name ? pd->vendor_name : "", pd->vendor_name ? " " : "",
                        pd->device_name ? pd->device_name : "");
        if (pd)
                fprintf(f, " [%04x:%04x]", pd->vendor, pd->device);
        if (pd && pd->iommu_group >= 0)
                fprintf(f, ", IOMMU group %d", pd->iommu_group);
        if (pd && pd->driver)
                fprintf(f, " (%s)", pd->driver);
        fputc('\n', f);
}

static void print_device(struct pv_ctx *ctx, const struct pv_usb_dev *d) {
        FILE *f = ctx->out;
        if (!d->level) {
                fprintf(f, "  Bus %u%s%s%s\n", d->busnum, d->speed ? " (" : "", d->speed ? d->speed : "",
                        d->speed ? " Mbit/s)" : "");
                return;
        }
        fprintf(f, "    %*s%-10s %s:%s  ", (int)(2 * (d->level - 1)), "", d->name, d->vendor, d->product);
        if (d->manufacturer)
                fprintf(f, "%s ", d->manufacturer);
        fprintf(f, "%s", d->product_name ? d->product_name : "(no name)");
        if (d->class_code == 0x09)
                fprintf(f, " %s[hub]%s", pv_c(ctx, f, PV_C_DIM), pv_c(ctx, f, PV_C_RESET));
        if (d->speed)
                fprintf(f, ", %s Mbit/s", d->speed);
        fputc('\n', f);
}

int pv_host_scan_usb(struct pv_ctx *ctx, const struct pv_host *h, const struct pv_host_state *s) {
        struct pv_usb_list l;
        struct pv_error err = PV_ERROR_INIT;
        if (pv_host_usb_scan(h, &l, &err) < 0) {
                int rc = pv_report_error(ctx, &err);
                pv_error_done(&err);
                return rc;
        }
        int rc = PV_EXIT_OK;
        if (ctx->json) {
                rc = print_json(ctx, s, &l);
                pv_usb_list_done(&l);
                return rc;
        }
        FILE *f = ctx->out;
        if (!l.n)
                fprintf(f, "No USB devices (sys/bus/usb/devices under the root is empty or missing).\n");
        for (size_t i = 0; i < l.n; i++) {
                bool first = !i || !same_controller(&l.v[i], &l.v[i - 1]);
                if (first) {
                        if (i)
                                fputc('\n', f);
                        print_controller(ctx, s, &l.v[i]);
                }
                print_device(ctx, &l.v[i]);
                bool last = i + 1 == l.n || !same_controller(&l.v[i], &l.v[i + 1]);
                if (last && l.v[i].has_controller) {
                        char a[PV_PCI_ADDR_MAX];
                        pv_pci_addr_format(&l.v[i].controller, a);
                        fprintf(f, "  %s→ pass one device: usb: [{host: VENDOR:PRODUCT}] or [{host: BUS-PORT}]; "
                                   "the whole controller (hot-plug in the guest): pci: [{address: %s}]%s\n",
                                pv_c(ctx, f, PV_C_DIM), a, pv_c(ctx, f, PV_C_RESET));
                }
        }
        pv_usb_list_done(&l);
        return rc;
}

int pv_host_scan_input(struct pv_ctx *ctx, const struct pv_host *h) {
        struct pv_strv v;
        struct pv_error err = PV_ERROR_INIT;
        if (pv_host_input_scan(h, &v, &err) < 0) {
                int rc = pv_report_error(ctx, &err);
                pv_error_done(&err);
                return rc;
        }
        FILE *f = ctx->out;
        if (ctx->json) {
                json_t *a = json_array();
                for (size_t i = 0; a && i < v.n; i++) {
                        size_t n = strlen(v.v[i]);
                        bool kbd = n > 10 && !strcmp(v.v[i] + n - 10, "-event-kbd");
                        json_array_append_new(a, json_pack("{s:s, s:s+, s:s}", "name", v.v[i], "path",
                                                           "/dev/input/by-id/", v.v[i], "kind",
                                                           kbd ? "keyboard" : "mouse"));
                }
                pv_strv_done(&v);
                json_t *doc = a ? json_pack("{s:o}", "input_devices", a) : NULL;
                if (!doc) {
                        pv_error_set(&err, PV_ENOMEM, "out of memory");
                        int rc = pv_report_error(ctx, &err);
                        pv_error_done(&err);
                        return rc;
                }
                pv_print_json(ctx, doc);
                return PV_EXIT_OK;
        }
        if (!v.n)
                fprintf(f, "No keyboards or mice in /dev/input/by-id under the root.\n");
        else
                fprintf(f, "%sKeyboards and mice (/dev/input/by-id):%s\n", pv_c(ctx, f, PV_C_BOLD),
                        pv_c(ctx, f, PV_C_RESET));
        for (size_t i = 0; i < v.n; i++)
                fprintf(f, "  %s\n", v.v[i]);
        if (v.n)
                fprintf(f, "  %s→ a VM takes them with evdev: [NAME, …] (keyboards grab all and repeat)%s\n",
                        pv_c(ctx, f, PV_C_DIM), pv_c(ctx, f, PV_C_RESET));
        pv_strv_done(&v);
        return PV_EXIT_OK;
}
