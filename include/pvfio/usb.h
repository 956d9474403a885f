/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * USB devices of a host, read from sysfs under a root the way Proxmox's
 * PVE::SysFSTools::scan_usb (pve-common) reads them for
 * GET /nodes/{node}/hardware/usb: every root hub sys/bus/usb/devices/usbB,
 * then depth first the devices `B-P[.P…]` below it. pvfio also records the
 * PCI controller each bus hangs off, so a user can pass the whole controller
 * (hot-plug works inside the guest) instead of single devices.
 */
#ifndef PVFIO_USB_H
#define PVFIO_USB_H

#include <stdbool.h>
#include <stddef.h>

#include "pvfio/error.h"
#include "pvfio/host.h"
#include "pvfio/pci.h"

struct pv_usb_dev {
        unsigned busnum, devnum;
        unsigned level;                  /* 0 = root hub */
        unsigned port;                   /* Proxmox's `port`: last port number - 1 (0 for root hubs) */
        char *usbpath;                   /* "3.1" (the part after "B-"), NULL for root hubs */
        char *name;                      /* sysfs name: "usb1", "1-3.1" */
        char vendor[5], product[5];      /* idVendor / idProduct as read ("046d") */
        unsigned class_code;             /* bDeviceClass (09 = hub) */
        char *speed;                     /* "12", "480", "5000", … (Mbit/s) */
        char *manufacturer, *product_name; /* NULL when the device has none */
        bool has_controller;
        struct pv_pci_addr controller;   /* the PCI device the bus hangs off */
};

struct pv_usb_list {
        struct pv_usb_dev *v;
        size_t n;
};

/* Read the USB devices under the root (no sys/bus/usb: an empty list). */
int pv_host_usb_scan(const struct pv_host *h, struct pv_usb_list *ret, struct pv_error *err);
void pv_usb_list_done(struct pv_usb_list *l);

#endif
