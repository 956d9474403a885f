/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Guest tags as Proxmox stores them. Proxmox VE passes every tags value a
 * client sends through PVE::GuestHelpers::get_unique_tags (pve-guest-common)
 * before it writes the config: the list is split like PVE::Tools::split_list
 * (';', ',' and white space separate), then, by the datacenter option
 * `tag-style` (GET /cluster/options):
 *   - unless `case-sensitive=1`: every tag is lower-cased, and duplicates are
 *     found case-insensitively;
 *   - unless `ordering=config`: the tags are sorted (case-insensitively,
 *     byte order, unless case-sensitive);
 *   - the first of equal tags is kept; the result is joined with ';'.
 * pvfio sends tags in that form and compares in that form, so what Proxmox
 * stores never looks like drift.
 */
#ifndef PVFIO_TAGS_H
#define PVFIO_TAGS_H

#include <stdbool.h>

#include "pvfio/error.h"

struct pv_tag_style {
        bool case_sensitive;            /* tag-style case-sensitive=1 */
        bool ordering_config;           /* tag-style ordering=config (default: alphabetical) */
};
#define PV_TAG_STYLE_DEFAULT { false, false }

/* Proxmox's stored form of `tags` (NULL = ""): a new string in *ret ("" when there are none). */
int pv_tags_normalize(const char *tags, const struct pv_tag_style *style, char **ret, struct pv_error *err);
/* Same tags once both are normalized (NULL and "" are no tags). Out of memory compares unequal. */
bool pv_tags_equal(const char *a, const char *b, const struct pv_tag_style *style);
/*
 * Parse the `tag-style` of GET /cluster/options as a property string
 * ("case-sensitive=1,ordering=config"); keys pvfio does not need (shape,
 * color-map) are ignored. -PV_EINVAL on a malformed value.
 */
int pv_tag_style_parse(const char *s, struct pv_tag_style *ret, struct pv_error *err);

#endif
