/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Guest tags in the form Proxmox stores them (see include/pvfio/tags.h). */
#include "pvfio/tags.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pvfio/buf.h"
#include "pvfio/cleanup.h"
#include "pvfio/util.h"

/* split_list: ';', ',' and white space (Perl's \s) separate; empty parts vanish. */
static const char tag_seps[] = ";, \t\n\r\f\v";

static int tag_cmp_ci(const void *a, const void *b) {
        /* the tags are lower-cased already when this order is used */
        return strcmp(*(char *const *)a, *(char *const *)b);
}

static void ascii_lower(char *s) {
        for (; *s; s++)
                if (*s >= 'A' && *s <= 'Z')
                        *s = (char)(*s - 'A' + 'a');
}

int pv_tags_normalize(const char *tags, const struct pv_tag_style *style, char **ret, struct pv_error *err) {
        static const struct pv_tag_style def = PV_TAG_STYLE_DEFAULT;
        const struct pv_tag_style *st = style ? style : &def;
        struct pv_strv v = PV_STRV_INIT;
        int r = 0;
        for (const char *p = tags ? tags : ""; *p && r == 0;) {
                size_t n = strcspn(p, tag_seps);
                if (n) {
                        char *t = strndup(p, n);
                        if (t && !st->case_sensitive)
                                ascii_lower(t);
                        r = pv_strv_push_take(&v, t, err);
                }
                p += n;
                if (*p)
                        p++;
        }
        /* Perl's sort is a stable merge sort; equal keys are equal strings here, so qsort gives the same list */
        if (r == 0 && !st->ordering_config && v.n > 1)
                qsort(v.v, v.n, sizeof *v.v, tag_cmp_ci);
        struct pv_buf b = PV_BUF_INIT;
        for (size_t i = 0; r == 0 && i < v.n; i++) {
                bool seen = false;
                for (size_t k = 0; k < i && !seen; k++)
                        seen = strcmp(v.v[k], v.v[i]) == 0;
                if (!seen)
                        r = pv_buf_addf(&b, err, "%s%s", b.len ? ";" : "", v.v[i]);
        }
        pv_strv_done(&v);
        char *s = NULL;
        if (r == 0)
                r = pv_buf_detach(&b, &s, NULL, err);
        pv_buf_release(&b);
        if (r < 0)
                return r;
        *ret = s;
        return 0;
}

bool pv_tags_equal(const char *a, const char *b, const struct pv_tag_style *style) {
        char *x = NULL, *y = NULL;
        bool eq = pv_tags_normalize(a, style, &x, NULL) == 0 && pv_tags_normalize(b, style, &y, NULL) == 0 &&
                  strcmp(x, y) == 0;
        free(x);
        free(y);
        return eq;
}

/* Perl truth of a schema boolean as PVE::JSONSchema::parse_boolean reads it. */
static int parse_flag(const char *v, size_t n) {
        static const char *const yes[] = { "1", "on", "yes", "true" }, *const no[] = { "0", "off", "no", "false" };
        for (size_t i = 0; i < PV_ELEMENTSOF(yes); i++) {
                if (strlen(yes[i]) == n && strncasecmp(v, yes[i], n) == 0)
                        return 1;
                if (strlen(no[i]) == n && strncasecmp(v, no[i], n) == 0)
                        return 0;
        }
        return -1;
}

int pv_tag_style_parse(const char *s, struct pv_tag_style *ret, struct pv_error *err) {
        struct pv_tag_style st = PV_TAG_STYLE_DEFAULT;
        for (const char *p = s ? s : ""; *p;) {
                size_t n = strcspn(p, ",");
                const char *eq = memchr(p, '=', n);
                size_t kl = eq ? (size_t)(eq - p) : n;
                const char *v = eq ? eq + 1 : p + n;
                size_t vl = eq ? n - kl - 1 : 0;
                if (kl == 14 && strncmp(p, "case-sensitive", kl) == 0) {
                        int b = parse_flag(v, vl);
                        if (b < 0)
                                return pv_error_set(err, PV_EINVAL, "tag-style: 'case-sensitive' is not a boolean in '%s'", s);
                        st.case_sensitive = b;
                } else if (kl == 8 && strncmp(p, "ordering", kl) == 0) {
                        if (vl == 6 && strncmp(v, "config", vl) == 0)
                                st.ordering_config = true;
                        else if (vl == 12 && strncmp(v, "alphabetical", vl) == 0)
                                st.ordering_config = false;
                        else
                                return pv_error_set(err, PV_EINVAL, "tag-style: unknown 'ordering' in '%s'", s);
                }
                p += n;
                if (*p)
                        p++;
        }
        *ret = st;
        return 0;
}
