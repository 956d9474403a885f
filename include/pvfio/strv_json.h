/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * String vectors as JSON arrays of strings, both ways (jansson). The one
 * place every layer turns a list of strings into `["a", "b"]` or back.
 */
#ifndef PVFIO_STRV_JSON_H
#define PVFIO_STRV_JSON_H

#include <stddef.h>

#include <jansson.h>

#include "pvfio/error.h"
#include "pvfio/util.h"

/* A new JSON array of the strings v[0..n) (v may be NULL when n is 0); NULL when jansson cannot allocate. */
json_t *pv_json_string_array(char *const *v, size_t n);
/* A new JSON array of a NULL-terminated string vector (v may be NULL: an empty array). */
json_t *pv_json_string_vec(char *const *v);
/* A new JSON array of the strings of sv. */
json_t *pv_strv_to_json(const struct pv_strv *sv);
/*
 * Append the strings of JSON array a to out. NULL (an absent key) appends
 * nothing; anything but an array of strings is -PV_EINVAL. On failure out
 * keeps what was appended before it (the caller frees it).
 */
int pv_strv_from_json(const json_t *a, struct pv_strv *out, struct pv_error *err);

#endif
