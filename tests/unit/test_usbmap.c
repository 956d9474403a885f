/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for cluster USB mappings as code (issue 14): the `usb_mappings` profile key and
 * its validation (FILE:LINE:COL), the planner (create with the id read from the hardware,
 * no-op, update with the digest, unmanaged, Proxmox's check-node errors, prune), the VM's
 * dependency on a mapping create, what is observed, and the plan JSON round trip.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>

#include "pvfio/planjson.h"
#include "pvfio/vmplan.h"

static char *S(const char *s) {
        return s ? strdup(s) : NULL;
}

static struct pv_profile *load(const char *yaml, struct pv_diags *d, int want) {
        struct pv_profile *p = NULL;
        struct pv_error e = PV_ERROR_INIT;
        int r = pv_profile_parse_mem(yaml, strlen(yaml), "t.yaml", &p, d, &e);
        if (r != want)
                for (size_t i = 0; i < d->n; i++)
                        print_message("  %u:%u %s\n", d->v[i].line, d->v[i].col, d->v[i].message);
        assert_int_equal(r, want);
        pv_error_done(&e);
        return p;
}

static const struct pv_diag *diag_at(const struct pv_diags *d, unsigned line, unsigned col, const char *text) {
        for (size_t i = 0; i < d->n; i++)
                if (d->v[i].line == line && d->v[i].col == col && strstr(d->v[i].message, text))
                        return &d->v[i];
        for (size_t i = 0; i < d->n; i++)
                print_message("  have %u:%u %s\n", d->v[i].line, d->v[i].col, d->v[i].message);
        fail_msg("no diagnostic at %u:%u containing '%s'", line, col, text);
        return NULL;
}

#define HEAD                                                                                                          \
        "version: 1\n"                                                                                                \
        "cluster:\n"                                                                                                  \
        "  api: https://pve1:8006\n"                                                                                  \
        "  auth: {token: pvfio@pve!auto, secret_env: S}\n"

/* A profile with one USB mapping by port on pve1 and a VM using it. */
#define PROFILE                                                                                                       \
        HEAD "usb_mappings:\n"                                                                                        \
             "  - id: headset\n"                                                                                      \
             "    description: desk headset\n"                                                                        \
             "    map:\n"                                                                                             \
             "      - { node: pve1, path: 1-3.4 }\n"                                                                  \
             "      - { node: pve2, id: 0D8C:0014, description: front }\n"                                            \
             "vms:\n"                                                                                                 \
             "  - name: desk\n"                                                                                       \
             "    node: pve1\n"                                                                                       \
             "    usb: [{ mapping: headset }]\n"

static void add_usb_hw(struct pv_observed *o, const char *node, unsigned bus, const char *path, const char *vid,
                       const char *pid) {
        struct pv_node_usb *n = NULL;
        for (size_t i = 0; i < o->n_usb_hw; i++)
                if (!strcmp(o->usb_hw[i].node, node))
                        n = &o->usb_hw[i];
        if (!n) {
                o->usb_hw = realloc(o->usb_hw, (o->n_usb_hw + 1) * sizeof *o->usb_hw);
                n = &o->usb_hw[o->n_usb_hw++];
                *n = (struct pv_node_usb){ .node = S(node) };
        }
        n->devs = realloc(n->devs, (n->n_devs + 1) * sizeof *n->devs);
        n->devs[n->n_devs++] = (struct pv_hw_usb){ .busnum = bus, .usbpath = S(path), .vendid = S(vid), .prodid = S(pid) };
}

static struct pv_obs_mapping *add_usb_mapping(struct pv_observed *o, const char *id, const char *desc, const char *digest) {
        o->usb_mappings = realloc(o->usb_mappings, (o->n_usb_mappings + 1) * sizeof *o->usb_mappings);
        o->usb_mappings[o->n_usb_mappings] = (struct pv_obs_mapping){ .id = S(id), .description = S(desc), .digest = S(digest) };
        return &o->usb_mappings[o->n_usb_mappings++];
}

static void map_add(struct pv_obs_mapping *m, const char *line) {
        m->map = realloc(m->map, (m->n_map + 1) * sizeof *m->map);
        m->map[m->n_map++] = S(line);
}

static const struct pv_action *find(const struct pv_plan *p, enum pv_action_kind k, const char *key) {
        for (size_t i = 0; i < p->n; i++)
                if (p->actions[i].kind == k && (!key || (p->actions[i].key && !strcmp(p->actions[i].key, key))))
                        return &p->actions[i];
        return NULL;
}

static const struct pv_key_change *key_of(const struct pv_action *a, const char *k) {
        for (size_t i = 0; i < a->n_keys; i++)
                if (!strcmp(a->keys[i].key, k))
                        return &a->keys[i];
        return NULL;
}

static bool any_contains(char **v, size_t n, const char *text) {
        for (size_t i = 0; i < n; i++)
                if (strstr(v[i], text))
                        return true;
        return false;
}

/* ------------------------------------------------------------- profile */

static void test_parse(void **state) {
        (void)state;
        struct pv_diags d = { 0 };
        struct pv_profile *p = load(PROFILE, &d, 0);
        assert_int_equal(p->n_usb_mappings, 1);
        const struct pv_usb_mapping *m = pv_profile_find_usb_mapping(p, "headset");
        assert_non_null(m);
        assert_string_equal(m->description, "desk headset");
        assert_int_equal(m->n_map, 2);
        assert_string_equal(m->map[0].node, "pve1");
        assert_string_equal(m->map[0].path, "1-3.4");
        assert_null(m->map[0].id);
        assert_string_equal(m->map[1].id, "0d8c:0014"); /* lower-cased: assert_valid compares sysfs text */
        assert_null(m->map[1].path);
        assert_string_equal(m->map[1].description, "front");
        assert_int_equal(m->loc.line, 6);
        assert_null(pv_profile_find_usb_mapping(p, "Headset"));
        /* a token and a port-only entry: the hardware listing needs Sys.Modify on / (a warning) */
        const struct pv_diag *w = diag_at(&d, 9, 23, "needs Sys.Modify on /");
        assert_true(w->warning);
        assert_string_equal(w->key, "usb_mappings[0].map[0].path");
        assert_int_equal(d.n, 1);
        pv_profile_free(p);
        pv_diags_done(&d);
}

static void test_errors(void **state) {
        (void)state;
        struct pv_diags d = { 0 };
        load(HEAD "usb_mappings:\n"                                   /* 5 */
                  "  - id: headset\n"                                 /* 6 */
                  "    map:\n"                                        /* 7 */
                  "      - { node: pve1, path: 1-3.4 }\n"             /* 8 */
                  "      - { node: pve1, id: 1234:5678 }\n"           /* 9: second entry for pve1 */
                  "  - id: headset\n"                                 /* 10: twice */
                  "    map: [{ node: pve2, id: 12345:1 }]\n"          /* 11: bad id */
                  "  - id: x\n"                                       /* 12: bad id (1 character) */
                  "    map: [{ node: pve2, path: 1-, descr: y }]\n"   /* 13: bad path, unknown key */
                  "  - { id: nomap }\n"                               /* 14: map missing */
                  "  - { id: empty, map: [{ node: pve3 }] }\n"        /* 15: neither id nor path */
                  "vms:\n"                                            /* 16 */
                  "  - name: a\n"                                     /* 17 */
                  "    node: pve3\n"                                  /* 18 */
                  "    usb:\n"                                        /* 19 */
                  "      - mapping: headst\n"                         /* 20: unknown */
                  "      - mapping: headset\n"                        /* 21: no entry for pve3 */
                  "      - mapping: HEADSET\n",                       /* 22: unknown, with a hint */
             &d, -PV_EINVAL);
        const struct pv_diag *x = diag_at(&d, 9, 11, "second entry for node 'pve1'");
        assert_string_equal(x->key, "usb_mappings[0].map[1].node");
        assert_non_null(strstr(x->message, "More than one USB mapping per host not supported"));
        x = diag_at(&d, 10, 5, "USB mapping id 'headset' is declared twice");
        assert_string_equal(x->key, "usb_mappings[1].id");
        diag_at(&d, 11, 29, "must be a USB VENDOR:PRODUCT id");
        diag_at(&d, 12, 9, "must be an id of letters");
        diag_at(&d, 13, 31, "must be a USB port BUS-PORT");
        diag_at(&d, 13, 35, "unknown key 'descr'");
        diag_at(&d, 14, 5, "missing the required key 'map'");
        diag_at(&d, 15, 24, "must name its device with 'id'");
        x = diag_at(&d, 20, 9, "USB mapping 'headst' does not exist; declare it under 'usb_mappings'");
        assert_string_equal(x->key, "vms[0].usb[0].mapping");
        x = diag_at(&d, 21, 9, "USB mapping 'headset' has no entry for node 'pve3'");
        assert_string_equal(x->key, "vms[0].usb[1].mapping");
        diag_at(&d, 22, 9, "did you mean 'headset'?");
        pv_diags_done(&d);
}

/* ------------------------------------------------------------- planner */

static void plan(const struct pv_profile *p, const struct pv_observed *o, const struct pv_vm_plan_opts *opts,
                 struct pv_plan *ret) {
        struct pv_error e = PV_ERROR_INIT;
        *ret = (struct pv_plan)PV_PLAN_INIT;
        if (pv_usb_mapping_plan(p, o, opts, ret, &e) < 0)
                fail_msg("%s", pv_error_message(&e));
}

static void test_create(void **state) {
        (void)state;
        struct pv_diags d = { 0 };
        struct pv_profile *p = load(PROFILE, &d, 0);
        struct pv_observed o = { 0 };
        add_usb_hw(&o, "pve1", 1, "3", "05e3", "0610");
        add_usb_hw(&o, "pve1", 1, "3.4", "0D8C", "0014");
        struct pv_plan pl;
        plan(p, &o, NULL, &pl);
        assert_int_equal(pl.n, 1);
        const struct pv_action *a = find(&pl, PV_ACT_CREATE_MAPPING, "usb-mapping:headset:create");
        assert_non_null(a);
        assert_null(a->blocked);
        assert_string_equal(a->target, "usb-mapping headset");
        const struct pv_mapping_payload *mp = pv_action_mapping(a);
        assert_true(mp->usb);
        assert_int_equal(mp->n_entries, 2);
        assert_string_equal(mp->entries[0], "node=pve1,path=1-3.4,id=0d8c:0014");
        assert_string_equal(mp->entries[1], "node=pve2,id=0d8c:0014,description=front");
        assert_string_equal(mp->description, "desk headset [pvfio]");
        assert_string_equal(key_of(a, "map[0]")->after, "node=pve1,path=1-3.4,id=0d8c:0014");
        pv_plan_done(&pl);

        /* the node's USB devices could not be read, or nothing sits at the port: blocked, saying why */
        struct pv_observed none = { 0 };
        plan(p, &none, NULL, &pl);
        a = find(&pl, PV_ACT_CREATE_MAPPING, NULL);
        assert_non_null(a);
        assert_non_null(a->blocked);
        assert_non_null(strstr(a->blocked, "GET /nodes/pve1/hardware/usb needs Sys.Modify on /"));
        assert_true(any_contains(pl.warnings, pl.n_warnings, "usb mapping 'headset' cannot be created"));
        pv_plan_done(&pl);
        struct pv_observed empty = { 0 };
        add_usb_hw(&empty, "pve1", 1, "2", "046d", "c52b");
        plan(p, &empty, NULL, &pl);
        assert_non_null(strstr(find(&pl, PV_ACT_CREATE_MAPPING, NULL)->blocked, "no USB device at port '1-3.4' on node 'pve1'"));
        pv_plan_done(&pl);
        pv_observed_done(&empty);
        pv_observed_done(&o);
        pv_profile_free(p);
        pv_diags_done(&d);
}

static void test_noop_update_unmanaged(void **state) {
        (void)state;
        struct pv_diags d = { 0 };
        struct pv_profile *p = load(PROFILE, &d, 0);
        struct pv_observed o = { 0 };
        add_usb_hw(&o, "pve1", 1, "3.4", "0d8c", "0014");
        /* Proxmox's copy in another order and case: nothing to do */
        struct pv_obs_mapping *m = add_usb_mapping(&o, "headset", "desk headset [pvfio]", "d1");
        map_add(m, "id=0D8C:0014,node=pve2,description=front");
        map_add(m, "node=pve1,path=1-3.4,id=0d8c:0014");
        struct pv_plan pl;
        plan(p, &o, NULL, &pl);
        assert_int_equal(pl.n, 0);
        assert_int_equal(pl.n_drift, 0);
        pv_plan_done(&pl);

        /* another device at the port (an out-of-band change): update with the digest, whole object */
        free(m->map[1]);
        m->map[1] = S("node=pve1,path=1-3.4,id=1532:0084");
        plan(p, &o, NULL, &pl);
        const struct pv_action *a = find(&pl, PV_ACT_UPDATE_MAPPING, "usb-mapping:headset:update");
        assert_non_null(a);
        assert_null(a->blocked);
        assert_string_equal(a->digest, "d1");
        assert_int_equal(a->n_keys, 2); /* both positions differ: pvfio writes its order */
        assert_string_equal(key_of(a, "map[1]")->before, "node=pve1,path=1-3.4,id=1532:0084");
        assert_int_equal(pv_action_mapping(a)->n_entries, 2);
        assert_true(pv_action_mapping(a)->usb);
        pv_plan_done(&pl);

        /* Proxmox's check-node errors count where the mapping has an entry */
        free(m->map[1]);
        m->map[1] = S("node=pve1,path=1-3.4,id=0d8c:0014");
        m->checks = calloc(2, sizeof *m->checks);
        m->checks[0] = (struct pv_mapping_check){ .severity = S("error"), .message = S("Invalid configuration: usb device '1-3.4' not found"), .node = S("pve1") };
        m->checks[1] = (struct pv_mapping_check){ .severity = S("warning"), .message = S("No mapping for node pve3."), .node = S("pve3") };
        m->n_checks = 2;
        plan(p, &o, NULL, &pl);
        assert_int_equal(pl.n, 0);
        assert_int_equal(pl.n_drift, 1);
        assert_string_equal(pl.drift[0], "usb mapping 'headset' on node 'pve1': error: Invalid configuration: usb device '1-3.4' not found");
        assert_true(any_contains(pl.warnings, pl.n_warnings, "on node 'pve3' (no entry, no VM of the profile uses it there)"));
        pv_plan_done(&pl);

        /* made outside pvfio: left alone unless adopted */
        free(m->description);
        m->description = S("somebody's");
        plan(p, &o, NULL, &pl);
        a = find(&pl, PV_ACT_UPDATE_MAPPING, NULL);
        assert_non_null(a->blocked);
        assert_non_null(strstr(a->blocked, "pvfio did not create it"));
        assert_string_equal(key_of(a, "description")->after, "desk headset [pvfio]");
        pv_plan_done(&pl);
        struct pv_vm_plan_opts adopt = { .adopt = true };
        plan(p, &o, &adopt, &pl);
        assert_null(find(&pl, PV_ACT_UPDATE_MAPPING, NULL)->blocked);
        pv_plan_done(&pl);
        pv_observed_done(&o);
        pv_profile_free(p);
        pv_diags_done(&d);
}

static void test_prune(void **state) {
        (void)state;
        struct pv_diags d = { 0 };
        struct pv_profile *p = load(PROFILE, &d, 0);
        struct pv_observed o = { 0 };
        add_usb_hw(&o, "pve1", 1, "3.4", "0d8c", "0014");
        struct pv_obs_mapping *m = add_usb_mapping(&o, "old", "[pvfio]", "d1");
        map_add(m, "node=pve1,id=046d:c52b");
        add_usb_mapping(&o, "theirs", "not ours", "d1");
        struct pv_plan pl;
        plan(p, &o, NULL, &pl);
        assert_null(find(&pl, PV_ACT_DELETE_MAPPING, NULL));
        assert_true(any_contains(pl.drift, pl.n_drift, "usb mapping 'old' is managed by pvfio but no longer in the profile"));
        assert_false(any_contains(pl.drift, pl.n_drift, "theirs"));
        pv_plan_done(&pl);
        struct pv_vm_plan_opts prune = { .prune = true };
        /* still used by a VM outside the profile: blocked */
        o.vms = calloc(1, sizeof *o.vms);
        o.vms[0] = (struct pv_vm_info){ .vmid = 300, .node = S("pve1"), .name = S("other"), .status = S("stopped") };
        o.n_vms = 1;
        o.configs = calloc(1, sizeof *o.configs);
        o.configs[0] = (struct pv_vm_config){ .vmid = 300, .node = S("pve1"), .n = 1 };
        o.configs[0].kv = calloc(1, sizeof *o.configs[0].kv);
        o.configs[0].kv[0] = (struct pv_kv){ .key = S("usb2"), .value = S("mapping=old,usb3=1") };
        o.n_configs = 1;
        plan(p, &o, &prune, &pl);
        const struct pv_action *a = find(&pl, PV_ACT_DELETE_MAPPING, "usb-mapping:old:delete");
        assert_non_null(a);
        assert_string_equal(a->blocked, "usb mapping 'old' is still used by vmid 300");
        pv_plan_done(&pl);
        free(o.configs[0].kv[0].value);
        o.configs[0].kv[0].value = S("mapping=older");
        plan(p, &o, &prune, &pl);
        assert_null(find(&pl, PV_ACT_DELETE_MAPPING, NULL)->blocked);
        pv_plan_done(&pl);
        pv_observed_done(&o);
        pv_profile_free(p);
        pv_diags_done(&d);
}

/* The whole VM plan: the VM's first action waits for the mapping's create. */
static void test_vm_depends_on_create(void **state) {
        (void)state;
        struct pv_diags d = { 0 };
        struct pv_profile *p = load(PROFILE, &d, 0);
        struct pv_observed o = { 0 };
        add_usb_hw(&o, "pve1", 1, "3.4", "0d8c", "0014");
        o.nodes = calloc(2, sizeof *o.nodes);
        o.nodes[0] = (struct pv_node_info){ .node = S("pve1"), .status = S("online") };
        o.nodes[1] = (struct pv_node_info){ .node = S("pve2"), .status = S("online") };
        o.n_nodes = 2;
        struct pv_plan pl = PV_PLAN_INIT;
        struct pv_error e = PV_ERROR_INIT;
        if (pv_vm_plan_build(p, &o, NULL, &pl, &e) < 0)
                fail_msg("%s", pv_error_message(&e));
        const struct pv_action *mc = find(&pl, PV_ACT_CREATE_MAPPING, "usb-mapping:headset:create");
        const struct pv_action *vc = find(&pl, PV_ACT_CREATE_VM, NULL);
        assert_non_null(mc);
        assert_non_null(vc);
        assert_int_equal(vc->depends_on, (int)(mc - pl.actions) + 1);
        pv_plan_done(&pl);
        pv_observed_done(&o);
        pv_profile_free(p);
        pv_diags_done(&d);
}

static void test_observe_want(void **state) {
        (void)state;
        struct pv_diags d = { 0 };
        struct pv_profile *p = load(PROFILE, &d, 0);
        struct pv_observe_want w;
        assert_int_equal(pv_observe_want_from_profile(p, &w, NULL), 0);
        assert_true(w.usb_mappings);
        assert_int_equal(w.usb_check_nodes.n, 2);
        assert_true(pv_strv_contains(&w.usb_check_nodes, "pve1"));
        assert_true(pv_strv_contains(&w.usb_check_nodes, "pve2"));
        assert_int_equal(w.usb_hw_nodes.n, 1); /* only pve1's entry lacks the id */
        assert_string_equal(w.usb_hw_nodes.v[0], "pve1");
        pv_observe_want_done(&w);
        pv_profile_free(p);
        /* a profile without USB mappings still reads the listing (a managed mapping it dropped is
         * drift, and --prune removes it) but checks no node and reads no hardware */
        p = load(HEAD "vms: [{name: a, node: pve1}]\n", &d, 0);
        assert_int_equal(pv_observe_want_from_profile(p, &w, NULL), 0);
        assert_true(w.usb_mappings);
        assert_int_equal(w.usb_check_nodes.n + w.usb_hw_nodes.n, 0);
        pv_observe_want_done(&w);
        pv_profile_free(p);
        pv_diags_done(&d);
}

static void test_plan_json(void **state) {
        (void)state;
        struct pv_action a = { .kind = PV_ACT_UPDATE_MAPPING, .target = S("usb-mapping headset"), .reason = S("r") };
        char *lines[] = { "node=pve1,path=1-3.4,id=0d8c:0014", NULL };
        assert_int_equal(pv_action_set_usb_mapping(&a, "headset", lines, 1, "d [pvfio]", NULL), 0);
        json_t *pl = pv_action_payload_json(&a);
        assert_string_equal(json_string_value(json_object_get(pl, "type")), "usb");
        assert_null(json_object_get(pl, "mdev"));
        json_t *doc = json_pack("{s:i, s:[{s:s, s:s, s:s, s:s, s:o}]}", "format_version", PV_PLAN_FORMAT_VERSION,
                                "actions", "kind", "update-mapping", "target", a.target, "reason", "r", "key", a.key,
                                "payload", pl);
        char *text = json_dumps(doc, 0);
        json_t *parsed = NULL;
        assert_int_equal(pv_plan_json_parse(text, strlen(text), &parsed, NULL), 0);
        struct pv_plan back;
        struct pv_error e = PV_ERROR_INIT;
        if (pv_plan_from_json(parsed, &back, &e) < 0)
                fail_msg("%s", pv_error_message(&e));
        const struct pv_mapping_payload *mp = pv_action_mapping(&back.actions[0]);
        assert_true(mp->usb);
        assert_string_equal(mp->id, "headset");
        assert_string_equal(mp->entries[0], lines[0]);
        assert_string_equal(back.actions[0].key, "usb-mapping:headset:update");
        pv_plan_done(&back);
        /* a type other than usb is refused */
        json_object_set_new(json_object_get(json_array_get(json_object_get(parsed, "actions"), 0), "payload"), "type",
                            json_string("scsi"));
        assert_int_equal(pv_plan_from_json(parsed, &back, &e), -PV_EINVAL);
        assert_non_null(strstr(pv_error_message(&e), "is not a mapping type"));
        pv_error_done(&e);
        json_decref(parsed);
        json_decref(doc);
        free(text);
        pv_action_done(&a);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse),          cmocka_unit_test(test_errors),
                cmocka_unit_test(test_create),         cmocka_unit_test(test_noop_update_unmanaged),
                cmocka_unit_test(test_prune),          cmocka_unit_test(test_vm_depends_on_create),
                cmocka_unit_test(test_observe_want),   cmocka_unit_test(test_plan_json),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
