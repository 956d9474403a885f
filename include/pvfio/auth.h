/* SPDX-License-Identifier: GPL-2.0-or-later */
/* How pvfio authenticates to the Proxmox API: shared by the profile (provision/) and the client (api/). */
#ifndef PVFIO_AUTH_H
#define PVFIO_AUTH_H

enum pv_auth_kind {
        PV_AUTH_NONE,           /* no cluster section: host-only profile */
        PV_AUTH_TOKEN,          /* API token USER@REALM!TOKENID + secret */
        PV_AUTH_PASSWORD,       /* user@realm password login (ticket + CSRF) */
};

#endif
