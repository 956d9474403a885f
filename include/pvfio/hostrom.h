/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ROM images a host section installs into /usr/share/kvm (`romfiles:`, issue 14): the files as
 * they are on the node, and the install-file actions that bring them to the profile's bytes.
 * Binary-safe end to end: the bytes travel in the action's file payload (pvfio/plan.h), plans
 * show only their size and SHA-256, the executor (hostexec.c) writes them atomically and
 * journals the previous bytes.
 */
#ifndef PVFIO_HOSTROM_H
#define PVFIO_HOSTROM_H

#include <stdbool.h>
#include <stddef.h>

#include "pvfio/bytes.h"
#include "pvfio/error.h"
#include "pvfio/host.h"
#include "pvfio/plan.h"
#include "pvfio/profile.h"

/* One romfiles entry's target as read from the node. */
struct pv_host_rom_file {
        char *name;                     /* the entry's name */
        bool present;                   /* usr/share/kvm/NAME exists */
        size_t len;                     /* its size */
        char sha256[PV_SHA256_HEX];     /* its SHA-256 when present */
        char *problem;                  /* it cannot be read (not a regular file, too big, …), or NULL */
        char *package;                  /* the Debian package that ships it (dpkg's lists), or NULL */
};

struct pv_host_roms {
        struct pv_host_rom_file *v;
        size_t n;
};

/* Read usr/share/kvm/NAME under the root for every romfiles entry of node's host section. */
int pv_host_roms_load(const struct pv_host *h, const struct pv_profile *p, const char *node,
                      struct pv_host_roms *ret, struct pv_error *err);
void pv_host_roms_done(struct pv_host_roms *r);
/*
 * Plan (pure): an install-file action for every entry whose file differs from the profile's bytes
 * (none when the SHA-256 and size match); blocked when the source could not be read on this node
 * or the target cannot be replaced.
 */
int pv_host_roms_plan(const struct pv_profile *p, const char *node, const struct pv_host_roms *cur,
                      struct pv_plan *plan, struct pv_error *err);

#endif
