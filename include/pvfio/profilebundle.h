/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A profile bundle: the profile text together with the ROM images its `romfiles:` sources name,
 * so a node reached over SSH installs the controller's bytes without reading the controller's
 * files (docs/host-apply.md, "Other nodes"). The controller sends it on the remote pvfio's stdin
 * with `pvfio host plan|apply --profile-bundle … -`; only the images of that node's romfiles.
 *
 *   {"format": "pvfio-profile-bundle/1",
 *    "profile": "<the profile's text>",
 *    "files": [{"source": "roms/gpu.rom", "size": 65536, "sha256": "<64 hex>", "data_base64": "…"}]}
 *
 * `source` is the romfiles entry's `source` exactly as the profile writes it (the key the remote
 * looks it up by); the reader checks every image's size and SHA-256 and refuses duplicates,
 * unknown keys and any other format string. A pvfio that does not know the flag stops with a usage
 * error (exit 64), which the controller reports as "install pvfio VERSION on NODE".
 */
#ifndef PVFIO_PROFILEBUNDLE_H
#define PVFIO_PROFILEBUNDLE_H

#include <stddef.h>
#include <stdint.h>

#include "pvfio/bytes.h"
#include "pvfio/error.h"
#include "pvfio/profile.h"

#define PV_PROFILE_BUNDLE_FORMAT "pvfio-profile-bundle/1"
/* The images of one bundle together (four ROMs of the largest size pvfio installs). */
#define PV_PROFILE_BUNDLE_MAX_IMAGES (4u * PV_ROMFILE_MAX_BYTES)
/* The whole document: the images as base64, the profile with every byte escaped (\u00XX), and room
 * for the JSON around them. This is the stdin cap of `--profile-bundle`. */
#define PV_PROFILE_BUNDLE_MAX_BYTES                                                                              \
        ((PV_PROFILE_BUNDLE_MAX_IMAGES / 3u + 1u) * 4u + 6u * PV_PROFILE_MAX_BYTES + (64u << 10))

struct pv_bundle_file {
        char *source;                   /* as the profile's romfiles entry writes it */
        uint8_t *data;                  /* len bytes (NUL-terminated beyond len) */
        size_t len;
        char sha256[PV_SHA256_HEX];
};

struct pv_profile_bundle {
        char *profile;                  /* the profile's text, profile_len bytes (NUL-terminated beyond) */
        size_t profile_len;
        struct pv_bundle_file *files;
        size_t n_files;
};

/* Read and check a bundle document (name: for messages, e.g. "<stdin>"). */
int pv_profile_bundle_parse(const char *buf, size_t len, const char *name, struct pv_profile_bundle *ret,
                            struct pv_error *err);
void pv_profile_bundle_done(struct pv_profile_bundle *b);
/* The image of a source, or NULL. */
const struct pv_bundle_file *pv_profile_bundle_find(const struct pv_profile_bundle *b, const char *source);

/*
 * The bundle for `node`: the profile text and the images of the romfiles of node's host section
 * (each source once). 0 with *ret NULL when that section installs no image (send the plain profile:
 * an older pvfio there keeps working); PV_ETOOBIG when the images exceed PV_PROFILE_BUNDLE_MAX_IMAGES.
 * An entry whose source could not be read here is left out (the node then names it as missing).
 */
int pv_profile_bundle_for_node(const struct pv_profile *p, const char *node, const char *text, size_t text_len,
                               char **ret, size_t *ret_len, struct pv_error *err);

/* Parse the bundle's profile (like pv_profile_parse_mem), its romfiles sources taken from the bundle. */
int pv_profile_parse_bundle(const struct pv_profile_bundle *b, const char *name, struct pv_profile **ret,
                            struct pv_diags *diags, struct pv_error *err);

#endif
