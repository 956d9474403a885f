/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Profile bundles: the profile and its ROM images in one JSON document (see pvfio/profilebundle.h). */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pvfio/cleanup.h"
#include "pvfio/profilebundle.h"
#include "pvfio/xalloc.h"

/* ------------------------------------------------------------ reading */

static bool only_keys(json_t *o, const char *const *keys, const char **ret_bad) {
        const char *k;
        json_t *v;
        json_object_foreach(o, k, v) {
                bool known = false;
                for (size_t i = 0; keys[i]; i++)
                        known |= !strcmp(k, keys[i]);
                if (!known) {
                        *ret_bad = k;
                        return false;
                }
        }
        return true;
}

static int read_file_entry(json_t *f, size_t i, const char *name, size_t *total, struct pv_bundle_file *ret,
                           struct pv_error *err) {
        static const char *const keys[] = { "source", "size", "sha256", "data_base64", NULL };
        const char *bad = NULL;
        if (!json_is_object(f))
                return pv_error_set(err, PV_EINVAL, "profile bundle '%s': files[%zu] is not an object", name, i);
        if (!only_keys(f, keys, &bad))
                return pv_error_set(err, PV_EINVAL, "profile bundle '%s': files[%zu] has an unknown key '%.80s'", name,
                                    i, bad);
        json_t *src = json_object_get(f, "source"), *size = json_object_get(f, "size"),
               *sha = json_object_get(f, "sha256"), *data = json_object_get(f, "data_base64");
        if (!json_is_string(src) || !json_string_length(src) || strlen(json_string_value(src)) != json_string_length(src))
                return pv_error_set(err, PV_EINVAL, "profile bundle '%s': files[%zu] needs 'source' (a path)", name, i);
        const char *s = json_string_value(src);
        if (!json_is_integer(size) || json_integer_value(size) < 0 ||
            json_integer_value(size) > (json_int_t)PV_ROMFILE_MAX_BYTES)
                return pv_error_set(err, PV_EINVAL, "profile bundle '%s': image '%.200s' needs 'size' (0 to %u bytes)",
                                    name, s, PV_ROMFILE_MAX_BYTES);
        if (!json_is_string(sha) || !pv_sha256_hex_valid(json_string_value(sha)))
                return pv_error_set(err, PV_EINVAL, "profile bundle '%s': image '%.200s' needs 'sha256' (64 hex digits)",
                                    name, s);
        if (!json_is_string(data))
                return pv_error_set(err, PV_EINVAL, "profile bundle '%s': image '%.200s' needs 'data_base64'", name, s);
        size_t want = (size_t)json_integer_value(size);
        uint8_t *bytes = NULL;
        size_t n = 0;
        if (pv_base64_decode(json_string_value(data), json_string_length(data), &bytes, &n) < 0)
                return pv_error_set(err, PV_EINVAL, "profile bundle '%s': image '%.200s': 'data_base64' is not base64",
                                    name, s);
        if (n != want) {
                free(bytes);
                return pv_error_set(err, PV_EINVAL,
                                    "profile bundle '%s': image '%.200s' holds %zu bytes, its 'size' says %zu (the "
                                    "bundle was damaged on the way)",
                                    name, s, n, want);
        }
        char got[PV_SHA256_HEX];
        pv_sha256_hex(bytes, n, got);
        if (strcasecmp(got, json_string_value(sha))) {
                free(bytes);
                return pv_error_set(err, PV_EINVAL,
                                    "profile bundle '%s': image '%.200s' has SHA-256 %s, its 'sha256' says %s (the "
                                    "bundle was damaged on the way)",
                                    name, s, got, json_string_value(sha));
        }
        *total += n;
        if (*total > PV_PROFILE_BUNDLE_MAX_IMAGES) {
                free(bytes);
                return pv_error_set(err, PV_ETOOBIG, "profile bundle '%s': its images are more than %u MiB together",
                                    name, PV_PROFILE_BUNDLE_MAX_IMAGES >> 20);
        }
        ret->source = pv_xstrdup(s);
        ret->data = bytes;
        ret->len = n;
        memcpy(ret->sha256, got, sizeof got);
        return 0;
}

static int read_doc(json_t *doc, const char *name, struct pv_profile_bundle *b, struct pv_error *err) {
        static const char *const keys[] = { "format", "profile", "files", NULL };
        const char *bad = NULL;
        if (!json_is_object(doc))
                return pv_error_set(err, PV_EINVAL, "profile bundle '%s' is not a JSON object", name);
        json_t *format = json_object_get(doc, "format");
        if (!json_is_string(format) || strcmp(json_string_value(format), PV_PROFILE_BUNDLE_FORMAT))
                return pv_error_set(err, PV_EINVAL,
                                    "profile bundle '%s' has format '%.80s', this pvfio reads '%s': run the same pvfio "
                                    "version on the controller and the node",
                                    name, json_is_string(format) ? json_string_value(format) : "(none)",
                                    PV_PROFILE_BUNDLE_FORMAT);
        if (!only_keys(doc, keys, &bad))
                return pv_error_set(err, PV_EINVAL, "profile bundle '%s' has an unknown key '%.80s'", name, bad);
        json_t *profile = json_object_get(doc, "profile"), *files = json_object_get(doc, "files");
        if (!json_is_string(profile))
                return pv_error_set(err, PV_EINVAL, "profile bundle '%s' needs 'profile' (the profile's text)", name);
        if (json_string_length(profile) > PV_PROFILE_MAX_BYTES)
                return pv_error_set(err, PV_ETOOBIG, "profile bundle '%s': its profile is more than %u bytes (1 MiB)",
                                    name, PV_PROFILE_MAX_BYTES);
        if (!json_is_array(files))
                return pv_error_set(err, PV_EINVAL, "profile bundle '%s' needs 'files' (a list of images)", name);
        b->profile_len = json_string_length(profile);
        b->profile = pv_xmalloc(b->profile_len + 1);
        memcpy(b->profile, json_string_value(profile), b->profile_len + 1);
        if (json_array_size(files))
                b->files = pv_xcalloc(json_array_size(files), sizeof *b->files);
        size_t total = 0;
        for (size_t i = 0; i < json_array_size(files); i++) {
                struct pv_bundle_file f = { 0 };
                int r = read_file_entry(json_array_get(files, i), i, name, &total, &f, err);
                if (r < 0)
                        return r;
                if (pv_profile_bundle_find(b, f.source)) {
                        r = pv_error_set(err, PV_EINVAL, "profile bundle '%s' holds image '%.200s' twice", name,
                                         f.source);
                        free(f.source);
                        free(f.data);
                        return r;
                }
                b->files[b->n_files++] = f;
        }
        return 0;
}

int pv_profile_bundle_parse(const char *buf, size_t len, const char *name, struct pv_profile_bundle *ret,
                            struct pv_error *err) {
        if (!name)
                name = "<bundle>";
        if (len > PV_PROFILE_BUNDLE_MAX_BYTES)
                return pv_error_set(err, PV_ETOOBIG, "profile bundle '%s' is %zu bytes, more than the limit of %u bytes",
                                    name, len, PV_PROFILE_BUNDLE_MAX_BYTES);
        json_error_t je;
        json_t *doc = json_loadb(buf ? buf : "", buf ? len : 0, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &je);
        if (!doc)
                return pv_error_set(err, PV_EINVAL, "profile bundle '%s' is not JSON (line %d, column %d: %s)", name,
                                    je.line, je.column, je.text);
        struct pv_profile_bundle b = { 0 };
        int r = read_doc(doc, name, &b, err);
        json_decref(doc);
        if (r < 0) {
                pv_profile_bundle_done(&b);
                return r;
        }
        *ret = b;
        return 0;
}

void pv_profile_bundle_done(struct pv_profile_bundle *b) {
        if (!b)
                return;
        for (size_t i = 0; i < b->n_files; i++) {
                free(b->files[i].source);
                free(b->files[i].data);
        }
        free(b->files);
        free(b->profile);
        memset(b, 0, sizeof *b);
}

const struct pv_bundle_file *pv_profile_bundle_find(const struct pv_profile_bundle *b, const char *source) {
        for (size_t i = 0; b && source && i < b->n_files; i++)
                if (!strcmp(b->files[i].source, source))
                        return &b->files[i];
        return NULL;
}

/* ------------------------------------------------------------ writing */

static bool listed(json_t *files, const char *source) {
        for (size_t i = 0; i < json_array_size(files); i++)
                if (!strcmp(json_string_value(json_object_get(json_array_get(files, i), "source")), source))
                        return true;
        return false;
}

int pv_profile_bundle_for_node(const struct pv_profile *p, const char *node, const char *text, size_t text_len,
                               char **ret, size_t *ret_len, struct pv_error *err) {
        const struct pv_host_spec *spec = p && node ? pv_profile_host_for_node(p, node) : NULL;
        json_t *files = json_array();
        size_t total = 0;
        for (size_t i = 0; spec && i < spec->n_romfiles; i++) {
                const struct pv_romfile *rf = &spec->romfiles[i];
                if (!rf->data || !rf->source || listed(files, rf->source))
                        continue;
                total += rf->len;
                _cleanup_free_ char *b64 = pv_base64_encode(rf->data, rf->len);
                json_array_append_new(files, json_pack("{s:s, s:I, s:s, s:s}", "source", rf->source, "size",
                                                       (json_int_t)rf->len, "sha256", rf->sha256, "data_base64", b64));
        }
        if (total > PV_PROFILE_BUNDLE_MAX_IMAGES) {
                json_decref(files);
                return pv_error_set(err, PV_ETOOBIG,
                                    "the ROM images of node '%s' are %zu bytes together, more than the %u MiB pvfio "
                                    "sends over SSH: install some of them on the node by hand",
                                    node, total, PV_PROFILE_BUNDLE_MAX_IMAGES >> 20);
        }
        if (!json_array_size(files)) {
                json_decref(files);
                *ret = NULL;
                *ret_len = 0;
                return 0;
        }
        json_t *profile = json_stringn(text ? text : "", text ? text_len : 0);
        if (!profile) {
                json_decref(files);
                return pv_error_set(err, PV_EINVAL, "the profile is not UTF-8 text: it cannot be sent to node '%s'",
                                    node);
        }
        json_t *doc = json_pack("{s:s, s:o, s:o}", "format", PV_PROFILE_BUNDLE_FORMAT, "profile", profile, "files",
                                files);
        char *s = json_dumps(doc, JSON_COMPACT);
        json_decref(doc);
        if (!s)
                pv_oom(PV_PROFILE_BUNDLE_MAX_BYTES);
        size_t n = strlen(s);
        if (n > PV_PROFILE_BUNDLE_MAX_BYTES) { /* many small images: their JSON around them adds up */
                free(s);
                return pv_error_set(err, PV_ETOOBIG,
                                    "the profile and the ROM images of node '%s' are %zu bytes as a profile bundle, more "
                                    "than the %u bytes a node reads: install some of them on the node by hand",
                                    node, n, PV_PROFILE_BUNDLE_MAX_BYTES);
        }
        *ret = s;       /* jansson's default allocator: malloc(), released with free() */
        *ret_len = n;
        return 0;
}
