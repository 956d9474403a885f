/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Package version order, as dpkg compares Debian versions ("9.0.25" <
 * "9.1.4.1" < "9.1.11"; "6.2-4" < "6.2-10"; '~' sorts before everything).
 * Proxmox VE's versions (pve-manager, qemu-server) are Debian versions.
 */
#ifndef PVFIO_VERSION_H
#define PVFIO_VERSION_H

/* <0, 0, >0 as a is older than, equal to, newer than b. NULL is older than everything. */
int pv_version_cmp(const char *a, const char *b);

#endif
