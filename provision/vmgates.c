/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Version-gated keys: what pvfio writes that an older Proxmox VE node refuses
 * or does not know. Each entry names the first release that has it, checked
 * in Proxmox's repositories (qemu-server and pve-manager debian/changelog,
 * the hostpci schema in src/PVE/QemuServer/PCI.pm on master against
 * stable-bookworm, pve-guest-common src/PVE/Mapping/PCI.pm). docs/profile.md
 * lists the same table; a unit test keeps the two in step.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pvfio/xalloc.h"
#include "pvfio/cleanup.h"
#include "pvfio/version.h"
#include "pvfio/vmplan.h"

static const struct pv_version_gate gates[] = {
        { "hostpciN mapping", "8.0", "8.0.4", "cluster PCI mappings (/cluster/mapping/pci) are new in Proxmox VE 8.0" },
        { "hostpciN driver", "9.1", "9.0.25", "'hostpci0.driver: property is not defined in schema'" },
        { "usbN mapping", "8.0", "8.0.4", "cluster USB mappings (/cluster/mapping/usb) are new in Proxmox VE 8.0" },
        { "affinity", "7.3", "7.2-7", "'affinity' is not a VM option there" },
        { "mapping live-migration-capable", "8.4", NULL,
          "the mapping API of an older node does not know 'live-migration-capable'" },
};

size_t pv_version_gates(const struct pv_version_gate **ret) {
        *ret = gates;
        return PV_ELEMENTSOF(gates);
}

const struct pv_version_gate *pv_version_gate(const char *key) {
        for (size_t i = 0; i < PV_ELEMENTSOF(gates); i++)
                if (strcmp(gates[i].key, key) == 0)
                        return &gates[i];
        return NULL;
}

int pv_version_gate_check(const struct pv_version_gate *g, const char *node, const struct pv_node_version *nv,
                          const char *api_version, const char *used, char **ret, struct pv_error *err) {
        (void)err;      /* allocation does not fail (pvfio/xalloc.h) */
        const char *pve = nv ? nv->pve : api_version;
        const char *qs = nv ? nv->qemu_server : NULL;
        bool old;
        *ret = NULL;
        if (g->qemu_server && qs)
                old = pv_version_cmp(qs, g->qemu_server) < 0; /* the package that implements it decides */
        else if (pve)
                old = pv_version_cmp(pve, g->pve) < 0;
        else
                return 0;                                     /* not known: not checked (observe warned) */
        if (!old)
                return 0;
        char need[96], runs[128];
        if (g->qemu_server)
                snprintf(need, sizeof need, "Proxmox VE %s (qemu-server %s)", g->pve, g->qemu_server);
        else
                snprintf(need, sizeof need, "Proxmox VE %s", g->pve);
        if (qs && pve)
                snprintf(runs, sizeof runs, "Proxmox VE %s (qemu-server %s)", pve, qs);
        else if (qs)
                snprintf(runs, sizeof runs, "qemu-server %s", qs);
        else
                snprintf(runs, sizeof runs, "Proxmox VE %s", pve);
        char who[96];
        if (node)
                snprintf(who, sizeof who, "node '%s'", node);
        else
                snprintf(who, sizeof who, "the node answering the API");
        *ret = pv_xasprintf("%s needs %s or newer, but %s runs %s; Proxmox refuses it there (%s): upgrade the node or "
                            "drop it from the profile",
                            used, need, who, runs, g->refusal);
        return 0;
}
