/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * api_tool: drives the typed API client (api/) from the end-to-end tests and
 * the benchmark. One command per run; prints one JSON object on stdout:
 *   {"ok": true, "result": …, "stats": {requests, connects, retries, logins}, "ms": N}
 *   {"ok": false, "code": "…", "message": "…", "http_status": N, "stats": …}
 * and exits 0 / 1 (2 on usage errors). The secret (token or password) comes
 * from the environment variable PVFIO_TEST_SECRET, never from argv.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pvfio/api.h"

static void log_stderr(void *userdata, enum pv_log_level level, const char *msg) {
        (void)userdata;
        static const char *const names[] = { "error", "warning", "info", "debug" };
        fprintf(stderr, "api_tool: %s: %s\n", names[level], msg);
}

static int usage(const char *msg) {
        fprintf(stderr, "api_tool: %s\n", msg);
        return 2;
}

static uint32_t vmid_arg(const char *s) {
        char *end = NULL;
        unsigned long v = strtoul(s, &end, 10);
        return (*s && !*end && v <= UINT32_MAX) ? (uint32_t)v : 0;
}

static uint64_t now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static json_t *stats_json(struct pv_api *api) {
        struct pv_api_stats st = { 0 };
        if (api)
                pv_api_get_stats(api, &st);
        return json_pack("{s:I, s:I, s:I, s:I}", "requests", (json_int_t)st.requests, "connects",
                         (json_int_t)st.connects, "retries", (json_int_t)st.retries, "logins", (json_int_t)st.logins);
}

static json_t *config_json(const struct pv_vm_config *c) {
        json_t *o = json_object();
        for (size_t i = 0; i < c->n; i++)
                json_object_set_new(o, c->kv[i].key, json_string(c->kv[i].value));
        json_object_set_new(o, "digest", c->digest ? json_string(c->digest) : json_null());
        return o;
}

static json_t *mapping_json(const struct pv_obs_mapping *m) {
        json_t *map = json_array(), *checks = json_array();
        for (size_t i = 0; i < m->n_map; i++)
                json_array_append_new(map, json_string(m->map[i]));
        for (size_t i = 0; i < m->n_checks; i++)
                json_array_append_new(checks, json_pack("{s:s, s:s}", "severity", m->checks[i].severity, "message",
                                                        m->checks[i].message));
        return json_pack("{s:s, s:s?, s:b, s:o, s:s?, s:o}", "id", m->id, "description", m->description, "mdev",
                         m->mdev, "map", map, "digest", m->digest, "checks", checks);
}

/* KEY=VALUE arguments → params. */
static int kv_params(int argc, char **argv, struct pv_api_params *p, struct pv_error *err) {
        for (int i = 0; i < argc; i++) {
                char *eq = strchr(argv[i], '=');
                if (!eq)
                        return pv_error_set(err, PV_EINVAL, "expected KEY=VALUE, got '%s'", argv[i]);
                *eq = '\0';
                int r = pv_api_params_add(p, argv[i], eq + 1, err);
                *eq = '=';
                if (r < 0)
                        return r;
        }
        return 0;
}

static int wait_upid(struct pv_api *api, const char *upid, bool has_pci, json_t **ret, struct pv_error *err) {
        struct pv_task_status st = { 0 };
        struct pv_task_wait w = { .has_pci = has_pci, .poll_initial_ms = 50, .poll_max_ms = 200 };
        int r = pv_api_task_wait(api, upid, &w, &st, err);
        if (r < 0)
                return r;
        *ret = json_pack("{s:s, s:s?}", "upid", upid, "exitstatus", st.exitstatus);
        pv_task_status_done(&st);
        return 0;
}

static int run(struct pv_api *api, int argc, char **argv, bool wait, json_t **ret, struct pv_error *err) {
        const char *cmd = argv[0];
        int r = 0;
#define NEED(n)                                                                   \
        do {                                                                      \
                if (argc < (n))                                                   \
                        return pv_error_set(err, PV_EINVAL, "%s: missing arguments", cmd); \
        } while (0)
        if (!strcmp(cmd, "version")) {
                struct pv_api_version v;
                if ((r = pv_api_version(api, &v, err)) < 0)
                        return r;
                *ret = json_pack("{s:s, s:s?}", "version", v.version, "release", v.release);
                pv_api_version_done(&v);
        } else if (!strcmp(cmd, "repeat")) {
                /* repeat N PAUSE_MS: GET /version N times, pausing in between */
                NEED(3);
                unsigned n = (unsigned)atoi(argv[1]), pause = (unsigned)atoi(argv[2]);
                for (unsigned i = 0; i < n; i++) {
                        struct pv_api_version v;
                        if ((r = pv_api_version(api, &v, err)) < 0)
                                return r;
                        pv_api_version_done(&v);
                        if (i + 1 < n) {
                                struct timespec ts = { pause / 1000, (long)(pause % 1000) * 1000000L };
                                nanosleep(&ts, NULL);
                        }
                }
                *ret = json_integer(n);
        } else if (!strcmp(cmd, "nodes")) {
                struct pv_node_info *nodes = NULL;
                size_t n = 0;
                if ((r = pv_api_nodes(api, &nodes, &n, err)) < 0)
                        return r;
                *ret = json_array();
                for (size_t i = 0; i < n; i++) {
                        json_array_append_new(*ret, json_pack("{s:s, s:s}", "node", nodes[i].node, "status",
                                                              nodes[i].status));
                        pv_node_info_done(&nodes[i]);
                }
                free(nodes);
        } else if (!strcmp(cmd, "nextid")) {
                uint32_t id = 0;
                if ((r = pv_api_nextid(api, argc > 1 ? vmid_arg(argv[1]) : 0, &id, err)) < 0)
                        return r;
                *ret = json_integer(id);
        } else if (!strcmp(cmd, "configs")) {
                /* all VMs of the cluster, then all their configs concurrently */
                struct pv_vm_info *vms = NULL;
                size_t n = 0;
                if ((r = pv_api_cluster_resources(api, NULL, NULL, &vms, &n, err)) < 0)
                        return r;
                struct pv_api_stats before;
                pv_api_get_stats(api, &before);
                struct pv_vm_config *cfgs = NULL;
                uint64_t t0 = now_ms();
                r = pv_api_vm_configs(api, vms, n, &cfgs, err);
                uint64_t t1 = now_ms();
                if (r >= 0) {
                        struct pv_api_stats after;
                        pv_api_get_stats(api, &after);
                        size_t with_digest = 0;
                        for (size_t i = 0; i < n; i++) {
                                with_digest += cfgs[i].digest != NULL;
                                pv_vm_config_done(&cfgs[i]);
                        }
                        free(cfgs);
                        *ret = json_pack("{s:I, s:I, s:I, s:I, s:I}", "vms", (json_int_t)n, "with_digest",
                                         (json_int_t)with_digest, "fetch_ms", (json_int_t)(t1 - t0), "fetch_requests",
                                         (json_int_t)(after.requests - before.requests), "fetch_connects",
                                         (json_int_t)(after.connects - before.connects));
                }
                for (size_t i = 0; i < n; i++)
                        pv_vm_info_done(&vms[i]);
                free(vms);
        } else if (!strcmp(cmd, "config")) {
                NEED(3);
                struct pv_vm_config c;
                if ((r = pv_api_vm_config(api, argv[1], vmid_arg(argv[2]), false, &c, err)) < 0)
                        return r;
                *ret = config_json(&c);
                pv_vm_config_done(&c);
        } else if (!strcmp(cmd, "pending")) {
                NEED(3);
                struct pv_vm_pending p;
                if ((r = pv_api_vm_pending(api, argv[1], vmid_arg(argv[2]), &p, err)) < 0)
                        return r;
                *ret = json_array();
                for (size_t i = 0; i < p.n; i++)
                        json_array_append_new(*ret, json_pack("{s:s, s:s?, s:s?, s:i}", "key", p.v[i].key, "value",
                                                              p.v[i].value, "pending", p.v[i].pending, "delete",
                                                              p.v[i].delete_));
                pv_vm_pending_done(&p);
        } else if (!strcmp(cmd, "status")) {
                NEED(3);
                struct pv_vm_status s;
                if ((r = pv_api_vm_status(api, argv[1], vmid_arg(argv[2]), &s, err)) < 0)
                        return r;
                *ret = json_pack("{s:s, s:s?}", "status", s.status, "lock", s.lock);
                pv_vm_status_done(&s);
        } else if (!strcmp(cmd, "create") || !strcmp(cmd, "update") || !strcmp(cmd, "update-async")) {
                NEED(3);
                struct pv_api_params p = PV_API_PARAMS_INIT;
                struct pv_strv del = PV_STRV_INIT;
                const char *digest = NULL;
                int k = 3;
                for (; k < argc && argv[k][0] == '-'; k++) {
                        if (!strncmp(argv[k], "-delete=", 8))
                                r = pv_strv_push(&del, argv[k] + 8, err);
                        else if (!strncmp(argv[k], "-digest=", 8))
                                digest = argv[k] + 8;
                }
                if (r >= 0)
                        r = kv_params(argc - k, argv + k, &p, err);
                char *upid = NULL;
                if (r >= 0 && !strcmp(cmd, "create"))
                        r = pv_api_vm_create(api, argv[1], vmid_arg(argv[2]), &p, &upid, err);
                else if (r >= 0)
                        r = pv_api_vm_update(api, argv[1], vmid_arg(argv[2]), &p, &del, digest,
                                             !strcmp(cmd, "update-async"), &upid, err);
                if (r >= 0 && upid && wait)
                        r = wait_upid(api, upid, false, ret, err);
                else if (r >= 0)
                        *ret = upid ? json_string(upid) : json_null();
                free(upid);
                pv_strv_done(&del);
                pv_api_params_done(&p);
        } else if (!strcmp(cmd, "start") || !strcmp(cmd, "stop") || !strcmp(cmd, "shutdown")) {
                NEED(3);
                enum pv_vm_action a = !strcmp(cmd, "start") ? PV_VM_START : !strcmp(cmd, "stop") ? PV_VM_STOP
                                                                                                : PV_VM_SHUTDOWN;
                char *upid = NULL;
                r = pv_api_vm_action(api, argv[1], vmid_arg(argv[2]), a, &upid, err);
                if (r >= 0 && upid && wait)
                        r = wait_upid(api, upid, argc > 3 && !strcmp(argv[3], "pci"), ret, err);
                else if (r >= 0)
                        *ret = upid ? json_string(upid) : json_null();
                free(upid);
        } else if (!strcmp(cmd, "mappings")) {
                struct pv_obs_mapping *m = NULL;
                size_t n = 0;
                if ((r = pv_api_mappings(api, argc > 1 ? argv[1] : NULL, &m, &n, err)) < 0)
                        return r;
                *ret = json_array();
                for (size_t i = 0; i < n; i++) {
                        json_array_append_new(*ret, mapping_json(&m[i]));
                        pv_obs_mapping_done(&m[i]);
                }
                free(m);
        } else if (!strcmp(cmd, "mapping-get")) {
                NEED(2);
                struct pv_obs_mapping m;
                if ((r = pv_api_mapping_get(api, argv[1], &m, err)) < 0)
                        return r;
                *ret = mapping_json(&m);
                pv_obs_mapping_done(&m);
        } else if (!strcmp(cmd, "mapping-create") || !strcmp(cmd, "mapping-update")) {
                /* mapping-create ID [-mdev] [-desc=TEXT] MAP…; mapping-update ID DIGEST|- […] MAP… */
                NEED(3);
                bool update = !strcmp(cmd, "mapping-update");
                int k = update ? 3 : 2;
                const char *digest = update && strcmp(argv[2], "-") ? argv[2] : NULL;
                struct pv_obs_mapping m = { .id = argv[1] };
                for (; k < argc && argv[k][0] == '-'; k++) {
                        if (!strcmp(argv[k], "-mdev"))
                                m.mdev = true;
                        else if (!strncmp(argv[k], "-desc=", 6))
                                m.description = argv[k] + 6;
                }
                m.map = argv + k;
                m.n_map = (size_t)(argc - k);
                r = update ? pv_api_mapping_update(api, &m, digest, err) : pv_api_mapping_create(api, &m, err);
                if (r >= 0)
                        *ret = json_null();
        } else if (!strcmp(cmd, "mapping-delete")) {
                NEED(2);
                if ((r = pv_api_mapping_delete(api, argv[1], err)) < 0)
                        return r;
                *ret = json_null();
        } else if (!strcmp(cmd, "hw")) {
                NEED(2);
                struct pv_hw_pci *d = NULL;
                size_t n = 0;
                if ((r = pv_api_node_pci(api, argv[1], argc > 2 ? argv[2] : NULL, &d, &n, err)) < 0)
                        return r;
                *ret = json_array();
                for (size_t i = 0; i < n; i++) {
                        char a[PV_PCI_ADDR_MAX], id[10];
                        pv_pci_addr_format(&d[i].addr, a);
                        pv_pci_id_format(&d[i].id, id);
                        json_array_append_new(*ret, json_pack("{s:s, s:s, s:i, s:b}", "addr", a, "id", id,
                                                              "iommugroup", d[i].iommugroup, "mdev", d[i].mdev));
                        pv_hw_pci_done(&d[i]);
                }
                free(d);
        } else if (!strcmp(cmd, "mdev")) {
                NEED(3);
                struct pv_mdev_type *t = NULL;
                size_t n = 0;
                if ((r = pv_api_node_mdev(api, argv[1], argv[2], &t, &n, err)) < 0)
                        return r;
                *ret = json_array();
                for (size_t i = 0; i < n; i++) {
                        json_array_append_new(*ret, json_pack("{s:s, s:i}", "type", t[i].type, "available",
                                                              t[i].available));
                        pv_mdev_type_done(&t[i]);
                }
                free(t);
        } else if (!strcmp(cmd, "wait")) {
                NEED(2);
                r = wait_upid(api, argv[1], false, ret, err);
        } else if (!strcmp(cmd, "raw")) {
                /* raw METHOD PATH KEY=VALUE…: the unverified path (writes are never re-sent) */
                NEED(3);
                enum pv_api_method m = !strcmp(argv[1], "GET")    ? PV_API_GET
                                       : !strcmp(argv[1], "POST") ? PV_API_POST
                                       : !strcmp(argv[1], "PUT")  ? PV_API_PUT
                                                                  : PV_API_DELETE;
                struct pv_api_params p = PV_API_PARAMS_INIT;
                r = kv_params(argc - 3, argv + 3, &p, err);
                if (r >= 0)
                        r = pv_api_call(api, m, argv[2], &p, ret, err);
                pv_api_params_done(&p);
        } else {
                return pv_error_set(err, PV_EINVAL, "unknown command '%s'", cmd);
        }
        return r;
#undef NEED
}

int main(int argc, char **argv) {
        struct pv_log log = { log_stderr, NULL, PV_LOG_WARNING };
        struct pv_api_config cfg = { .log = &log };
        bool wait = false;
        int k = 1;
        for (; k < argc && !strncmp(argv[k], "--", 2); k++) {
                const char *o = argv[k] + 2;
                const char *v = k + 1 < argc ? argv[k + 1] : NULL;
                if (!strcmp(o, "debug")) {
                        log.max = PV_LOG_DEBUG;
                        continue;
                }
                if (!strcmp(o, "insecure")) {
                        cfg.insecure = true;
                        continue;
                }
                if (!strcmp(o, "wait")) {
                        wait = true;
                        continue;
                }
                if (!v)
                        return usage("option needs a value");
                k++;
                if (!strcmp(o, "url"))
                        cfg.url = v;
                else if (!strcmp(o, "fingerprint"))
                        cfg.fingerprint = v;
                else if (!strcmp(o, "ca-file"))
                        cfg.ca_file = v;
                else if (!strcmp(o, "token-id"))
                        cfg.auth = PV_AUTH_TOKEN, cfg.token_id = v;
                else if (!strcmp(o, "user"))
                        cfg.auth = PV_AUTH_PASSWORD, cfg.user = v;
                else if (!strcmp(o, "parallel"))
                        cfg.parallel = (unsigned)atoi(v);
                else if (!strcmp(o, "attempts"))
                        cfg.max_attempts = (unsigned)atoi(v);
                else if (!strcmp(o, "backoff-ms"))
                        cfg.backoff_ms = (unsigned)atoi(v);
                else if (!strcmp(o, "timeout-ms"))
                        cfg.timeout_ms = (unsigned)atoi(v);
                else if (!strcmp(o, "body-cap"))
                        cfg.body_cap = (size_t)atol(v);
                else if (!strcmp(o, "renew-s"))
                        cfg.ticket_renew_s = (unsigned)atoi(v);
                else if (!strcmp(o, "task-timeout-ms"))
                        cfg.task_timeout_ms = (unsigned)atoi(v);
                else
                        return usage("unknown option");
        }
        if (k >= argc)
                return usage("usage: api_tool [--url URL --token-id ID|--user U …] COMMAND [ARGS]");
        cfg.secret = getenv("PVFIO_TEST_SECRET");
        cfg.secret_source = "environment variable 'PVFIO_TEST_SECRET'";

        struct pv_error err = PV_ERROR_INIT;
        struct pv_api *api = NULL;
        json_t *result = NULL;
        uint64_t t0 = now_ms();
        int r = pv_api_new(&cfg, &api, &err);
        if (r >= 0)
                r = run(api, argc - k, argv + k, wait, &result, &err);
        uint64_t ms = now_ms() - t0;
        json_t *out;
        if (r >= 0)
                out = json_pack("{s:b, s:o, s:o, s:I}", "ok", 1, "result", result ? result : json_null(), "stats",
                                stats_json(api), "ms", (json_int_t)ms);
        else
                out = json_pack("{s:b, s:s, s:s, s:i, s:o, s:I}", "ok", 0, "code", pv_code_name(err.code), "message",
                                pv_error_message(&err), "http_status", err.http_status, "stats", stats_json(api), "ms",
                                (json_int_t)ms);
        if (r < 0)
                json_decref(result);
        json_dumpf(out, stdout, JSON_COMPACT | JSON_ENCODE_ANY);
        fputc('\n', stdout);
        json_decref(out);
        pv_error_done(&err);
        pv_api_unref(api);
        return r >= 0 ? 0 : 1;
}
