/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The parser's key tables and profiles/pvfio.schema.json describe the same keys:
 * a key added to one and not the other fails here, naming the key and the table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "pvfio/profile.h"

static json_t *schema;

static int load_schema(void **state) {
        (void)state;
        const char *top = getenv("PVFIO_SOURCE_DIR");
        char path[4096];
        snprintf(path, sizeof path, "%s/profiles/pvfio.schema.json", top ? top : ".");
        json_error_t e;
        schema = json_load_file(path, 0, &e);
        if (!schema)
                fprintf(stderr, "%s:%d: %s\n", path, e.line, e.text);
        return schema ? 0 : -1;
}

static int free_schema(void **state) {
        (void)state;
        json_decref(schema);
        return 0;
}

/* Follow a JSON pointer of plain object keys, then $ref, then the anyOf/oneOf
 * branch that describes an object, to the "properties" object. */
static json_t *properties_at(const char *pointer) {
        json_t *n = schema;
        char *dup = strdup(pointer), *save = NULL;
        for (char *tok = strtok_r(dup, "/", &save); n && tok; tok = strtok_r(NULL, "/", &save))
                n = json_object_get(n, tok);
        free(dup);
        for (int hops = 0; n && hops < 8; hops++) {
                json_t *p = json_object_get(n, "properties");
                if (json_is_object(p))
                        return p;
                const char *ref = json_string_value(json_object_get(n, "$ref"));
                if (ref && ref[0] == '#')
                        return properties_at(ref + 1);
                json_t *alts = json_object_get(n, "anyOf");
                if (!alts)
                        alts = json_object_get(n, "oneOf");
                json_t *next = NULL, *alt;
                size_t i;
                json_array_foreach(alts, i, alt) {
                        if (json_is_object(json_object_get(alt, "properties")) || json_object_get(alt, "$ref")) {
                                next = alt;
                                break;
                        }
                }
                n = next;
        }
        return NULL;
}

static bool in_list(const char *const *keys, const char *k, const char *const *minus) {
        for (size_t i = 0; minus && minus[i]; i++)
                if (!strcmp(minus[i], k))
                        return false;
        for (size_t i = 0; keys[i]; i++)
                if (!strcmp(keys[i], k))
                        return true;
        return false;
}

/* Every parser key is in the schema and every schema key in the parser (less `minus`). */
static int compare(const char *pointer, const char *const *keys, const char *const *minus) {
        json_t *props = properties_at(pointer);
        if (!props) {
                fprintf(stderr, "schema has no object at '%s'\n", pointer);
                return 1;
        }
        int bad = 0;
        for (size_t i = 0; keys[i]; i++) {
                if (!in_list(keys, keys[i], minus))
                        continue;
                if (!json_object_get(props, keys[i])) {
                        fprintf(stderr, "key '%s' is parsed but missing from the schema at '%s'\n", keys[i],
                                pointer);
                        bad++;
                }
        }
        const char *k;
        json_t *v;
        json_object_foreach(props, k, v) {
                if (!in_list(keys, k, minus)) {
                        fprintf(stderr, "key '%s' is in the schema at '%s' but the parser refuses it\n", k,
                                pointer);
                        bad++;
                }
        }
        return bad;
}

static void test_tables_match_schema(void **state) {
        (void)state;
        int bad = 0;
        size_t n = 0;
        for (const struct pv_profile_keyset *ks = pv_profile_keysets; ks->keys; ks++, n++)
                bad += compare(ks->schema_pointer, ks->keys, NULL);
        assert_true(n >= 10);
        assert_int_equal(bad, 0);
}

/* Templates and defaults take every VM key but the per-VM ones. */
static void test_templates_and_defaults(void **state) {
        (void)state;
        const char *const *vm = NULL;
        for (const struct pv_profile_keyset *ks = pv_profile_keysets; ks->keys; ks++)
                if (!strcmp(ks->schema_pointer, "/definitions/vm"))
                        vm = ks->keys;
        assert_non_null(vm);
        static const char *const not_in_template[] = { "name", "node", "vmid", NULL };
        static const char *const not_in_defaults[] = { "name", "node", "vmid", "template", NULL };
        assert_int_equal(compare("/definitions/template", vm, not_in_template), 0);
        assert_int_equal(compare("/definitions/defaults", vm, not_in_defaults), 0);
}

/* The comparison itself can fail: a key the schema lacks is reported. */
static void test_compare_detects_drift(void **state) {
        (void)state;
        static const char *const keys[] = { "pf", "vfs", "no_such_key", NULL };
        assert_int_equal(compare("/definitions/sriov", keys, NULL), 1);
        static const char *const fewer[] = { "pf", NULL };
        assert_int_equal(compare("/definitions/sriov", fewer, NULL), 1);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_tables_match_schema),
                cmocka_unit_test(test_templates_and_defaults),
                cmocka_unit_test(test_compare_detects_drift),
        };
        return cmocka_run_group_tests(tests, load_schema, free_schema);
}
