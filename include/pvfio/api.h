/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The Proxmox VE REST client.
 *
 * A `struct pv_api` is one session with one endpoint: a libcurl multi handle
 * (its connection cache is the keep-alive pool), a share handle (DNS and TLS
 * sessions), the credentials and the TLS policy. It is refcounted
 * (pv_api_ref/pv_api_unref) and single-threaded: concurrency comes from the
 * multi interface, bounded by `parallel`.
 *
 * Every call returns 0 or a negative pv_code and fills `err` on failure with
 * one line naming the request ("POST /nodes/pve1/qemu: 400 Parameter
 * verification failed: hostpci0: …"), `http_status` set when the server
 * answered. Secrets never reach errors or the log: the debug trace redacts
 * Authorization, Cookie, CSRFPreventionToken and password/ticket fields.
 *
 * Retries: GETs are retried with exponential backoff and jitter on
 * connection errors, timeouts and 502/503/596 for up to `retry_ms` (30 s by
 * default: long enough for a pveproxy restart or a quorum blip); a write
 * that provably never reached the server is re-sent up to 4 times. A write that may have reached the server is never
 * re-sent blindly: a typed call asks its verifier (it reads the resulting
 * state); without one the call fails with PV_EUNCERTAIN.
 *
 * Ownership: ret_* outputs are assigned only on success and owned by the
 * caller (free them with the *_done()/pv_*_free() of their type, or
 * json_decref() for json_t). Inputs are borrowed for the duration of a call.
 */
#ifndef PVFIO_API_H
#define PVFIO_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "pvfio/buf.h"
#include "pvfio/cleanup.h"
#include "pvfio/cluster.h"
#include "pvfio/error.h"
#include "pvfio/log.h"
#include "pvfio/auth.h"
#include "pvfio/util.h"

#define PV_API_DEFAULT_PARALLEL 8u
#define PV_API_MAX_PARALLEL 256u
#define PV_API_DEFAULT_CONNECT_TIMEOUT_MS 10000u
#define PV_API_DEFAULT_TIMEOUT_MS 30000u
#define PV_API_DEFAULT_BODY_CAP (8u * 1024 * 1024)
#define PV_API_DEFAULT_ATTEMPTS 4u          /* writes that never reached the server */
#define PV_API_DEFAULT_RETRY_MS 30000u      /* reads: keep retrying 5xx/596/connection errors this long */
#define PV_API_DEFAULT_BACKOFF_MS 200u
#define PV_API_DEFAULT_BACKOFF_MAX_MS 5000u
#define PV_API_DEFAULT_TICKET_RENEW_S 5400u   /* tickets live 2 h; renew after 1.5 h */
#define PV_API_DEFAULT_TASK_TIMEOUT_MS 120000u

/* ------------------------------------------------------------- session */

/* How to reach and authenticate to one endpoint. All strings are borrowed (copied by pv_api_new). */
struct pv_api_config {
        const char *url;                /* "https://host:8006" (a trailing /api2/json is accepted) */
        enum pv_auth_kind auth;         /* PV_AUTH_TOKEN or PV_AUTH_PASSWORD */
        const char *token_id;           /* "user@realm!tokenid" (TOKEN) */
        const char *user;               /* "root@pam" (PASSWORD) */
        const char *secret;             /* the token secret or the password itself (read by cmd/) */
        const char *secret_source;      /* where it came from, for hints ("environment variable 'X'"), or NULL */
        const char *fingerprint;        /* SHA-256 leaf certificate pin in any spelling, or NULL */
        const char *ca_file;            /* PEM bundle, or NULL for the system store */
        bool insecure;                  /* no verification at all (cmd/ warns) */
        unsigned parallel;              /* concurrent requests; 0 = 8 */
        unsigned connect_timeout_ms;    /* 0 = 10 s */
        unsigned timeout_ms;            /* whole request; 0 = 30 s */
        size_t body_cap;                /* response size limit; 0 = 8 MiB */
        unsigned max_attempts;          /* per request including the first; 0 = 4 for writes, reads
                                         * bounded by retry_ms only */
        unsigned backoff_ms;            /* first retry delay; 0 = 200 ms (doubles, with jitter) */
        unsigned backoff_max_ms;        /* 0 = 5 s */
        unsigned ticket_renew_s;        /* renew a login ticket older than this; 0 = 1.5 h */
        unsigned task_timeout_ms;       /* base wait for a task; 0 = 120 s (scaled per task) */
        const struct pv_log *log;       /* warnings and the debug trace; NULL = silent */
        unsigned retry_ms;              /* reads (and the login) retry 502/503/596 and connection errors
                                         * with backoff while this much time has passed since their first
                                         * attempt; 0 = 30 s (a pveproxy restart, a quorum blip) */
};

struct pv_api;

/* Counters since the session was created (for benchmarks and tests). */
struct pv_api_stats {
        unsigned long requests;         /* HTTP exchanges started, retries included */
        unsigned long connects;         /* new connections = TLS handshakes */
        unsigned long retries;          /* automatic re-sends */
        unsigned long logins;           /* ticket logins and renewals */
};

/* Create a session (no network traffic yet: auth and TLS happen on first use). */
int pv_api_new(const struct pv_api_config *cfg, struct pv_api **ret, struct pv_error *err);
struct pv_api *pv_api_ref(struct pv_api *api);
/* Drop a reference (NULL-safe); the last one closes the connections and wipes the secrets. */
void pv_api_unref(struct pv_api *api);
PV_DEFINE_CLEANUP(struct pv_api *, pv_api_unref)
#define _cleanup_api_ _pv_cleanup_(pv_api_unrefp)
void pv_api_get_stats(const struct pv_api *api, struct pv_api_stats *ret);
/* The endpoint as given, normalised ("https://host:8006"). Borrowed. */
const char *pv_api_url(const struct pv_api *api);

/* ------------------------------------------------------- raw requests */

enum pv_api_method { PV_API_GET, PV_API_POST, PV_API_PUT, PV_API_DELETE };
const char *pv_api_method_name(enum pv_api_method m);

/* Request parameters: ordered key/value strings; a repeated key is an array (map=…&map=…). */
struct pv_api_param {
        char *key;
        char *value;
};
struct pv_api_params {
        struct pv_api_param *v;
        size_t n, alloc;
};
#define PV_API_PARAMS_INIT { NULL, 0, 0 }
int pv_api_params_add(struct pv_api_params *p, const char *key, const char *value, struct pv_error *err);
int pv_api_params_add_uint(struct pv_api_params *p, const char *key, uint64_t value, struct pv_error *err);
int pv_api_params_add_bool(struct pv_api_params *p, const char *key, bool value, struct pv_error *err);
/* The value of the first `key`, or NULL. Borrowed. */
const char *pv_api_params_get(const struct pv_api_params *p, const char *key);
void pv_api_params_done(struct pv_api_params *p);
/* application/x-www-form-urlencoded ("a=1&b=x%20y"), appended to out. */
int pv_api_form_encode(const struct pv_api_params *p, struct pv_buf *out, struct pv_error *err);

/*
 * A caller-supplied check for a write whose answer was lost after it may
 * have reached the server. It reads the state and returns 1 when the write
 * took effect (it may then set *ret_data, e.g. to a task id), 0 when it did
 * not (the request is sent again if attempts remain), or a negative error.
 */
typedef int (*pv_api_verify_fn)(struct pv_api *api, void *userdata, json_t **ret_data, struct pv_error *err);

/*
 * One request. `path` is below /api2/json ("/nodes/pve1/qemu"); params go
 * into the query (GET, DELETE) or a form body (POST, PUT). *ret_data (may be
 * NULL to ignore) gets the envelope's `data` (a new reference; json null for
 * void methods).
 */
int pv_api_call(struct pv_api *api, enum pv_api_method m, const char *path, const struct pv_api_params *params,
                json_t **ret_data, struct pv_error *err);
int pv_api_call_verified(struct pv_api *api, enum pv_api_method m, const char *path,
                         const struct pv_api_params *params, pv_api_verify_fn verify, void *userdata,
                         json_t **ret_data, struct pv_error *err);

/* One GET of a batch: path and params in, data or err out. */
struct pv_api_get {
        const char *path;
        const struct pv_api_params *params;     /* or NULL */
        json_t *data;                           /* out: new reference, or NULL on failure */
        struct pv_error err;                    /* out: this request's failure */
};
/*
 * Run many GETs concurrently (at most `parallel` at a time) over the pooled
 * connections. Returns 0 when all succeeded; otherwise the first failure
 * (wrapped with the count) while every entry keeps its own data/err.
 */
int pv_api_get_many(struct pv_api *api, struct pv_api_get *reqs, size_t n, struct pv_error *err);
/*
 * pv_api_get_many where answers start more GETs: `more` is called as each
 * request ends, its data or err already in (*reqs)[i]; it may append entries
 * to *reqs (reallocating the array) and raise *n. The new GETs join the run at
 * once, on the connections already open, instead of waiting for its slowest
 * answer. Paths and params must not live in the array itself (it may move).
 */
typedef void (*pv_api_more_fn)(void *ctx, size_t i);
int pv_api_get_more(struct pv_api *api, struct pv_api_get **reqs, size_t *n, pv_api_more_fn more, void *ctx,
                    struct pv_error *err);

/* Build "/a/b/c" from segments, each escaped as a path segment (NULL ends the list). Never NULL:
 * allocation does not fail (pvfio/xalloc.h) and the path has no cap; err stays for the API's sake. */
char *pv_api_path(struct pv_error *err, const char *first, ...) __attribute__((sentinel));

/* ----------------------------------------------------------------- TLS */

#define PV_API_FP_LEN 96        /* "AA:BB:…" (32 bytes) + NUL */

/* Accept a SHA-256 fingerprint with or without colons, any case; write the canonical "AA:BB:…". */
int pv_api_fingerprint_normalize(const char *in, char out[static PV_API_FP_LEN], struct pv_error *err);
/* Canonical fingerprint of DER bytes. */
void pv_api_fingerprint_of_der(const unsigned char *der, size_t len, char out[static PV_API_FP_LEN]);

struct pv_api_cert_info {
        char *fingerprint;              /* canonical SHA-256 of the leaf certificate */
        char *subject;
        char *issuer;
        char *not_after;
};
void pv_api_cert_info_done(struct pv_api_cert_info *c);
/* Connect to url without trusting anything, read the leaf certificate, send no request. */
int pv_api_fetch_fingerprint(const char *url, unsigned timeout_ms, const struct pv_log *log,
                             struct pv_api_cert_info *ret, struct pv_error *err);

/* -------------------------------------------------------- typed calls */

struct pv_api_version {
        char *version;                  /* "9.1.9" */
        char *release;                  /* "9.1" */
        char *repoid;
};
void pv_api_version_done(struct pv_api_version *v);

/* GET /qemu/{vmid}/status/current */
struct pv_vm_status {
        uint32_t vmid;
        char *status;                   /* "running" | "stopped" */
        char *qmpstatus;                /* or NULL */
        char *name;                     /* or NULL */
        char *lock;                     /* or NULL */
        uint32_t pid;                   /* 0 when not running */
        uint64_t uptime;
};
void pv_vm_status_done(struct pv_vm_status *s);

int pv_api_version(struct pv_api *api, struct pv_api_version *ret, struct pv_error *err);
int pv_api_nodes(struct pv_api *api, struct pv_node_info **ret, size_t *ret_n, struct pv_error *err);
/* GET /cluster/resources: the nodes and the qemu VMs (either output may be NULL to skip it). */
int pv_api_cluster_resources(struct pv_api *api, struct pv_node_info **ret_nodes, size_t *ret_n_nodes,
                             struct pv_vm_info **ret_vms, size_t *ret_n_vms, struct pv_error *err);
/* GET /cluster/nextid (vmid 0 = any); an integer or a string answer is accepted. */
int pv_api_nextid(struct pv_api *api, uint32_t vmid, uint32_t *ret, struct pv_error *err);

int pv_api_vm_list(struct pv_api *api, const char *node, struct pv_vm_info **ret, size_t *ret_n,
                   struct pv_error *err);
/* Config with pending values merged (current = false) or the active ones (true); digest filled. */
int pv_api_vm_config(struct pv_api *api, const char *node, uint32_t vmid, bool current, struct pv_vm_config *ret,
                     struct pv_error *err);
/* The configs of many VMs, fetched concurrently; *ret gets n configs in the order of vms[]. */
int pv_api_vm_configs(struct pv_api *api, const struct pv_vm_info *vms, size_t n, struct pv_vm_config **ret,
                      struct pv_error *err);
int pv_api_vm_pending(struct pv_api *api, const char *node, uint32_t vmid, struct pv_vm_pending *ret,
                      struct pv_error *err);
int pv_api_vm_status(struct pv_api *api, const char *node, uint32_t vmid, struct pv_vm_status *ret,
                     struct pv_error *err);
/* POST /nodes/{node}/qemu (async): *ret_upid gets the task id (NULL if the answer was lost but
 * the verifier found the VM). config must not contain node or vmid. */
int pv_api_vm_create(struct pv_api *api, const char *node, uint32_t vmid, const struct pv_api_params *config,
                     char **ret_upid, struct pv_error *err);
/* Config update: async = POST (*ret_upid gets the task id, NULL if the server answered null),
 * else PUT (sync, *ret_upid set to NULL). delete_keys and digest may be NULL. */
int pv_api_vm_update(struct pv_api *api, const char *node, uint32_t vmid, const struct pv_api_params *set,
                     const struct pv_strv *delete_keys, const char *digest, bool async, char **ret_upid,
                     struct pv_error *err);
enum pv_vm_action { PV_VM_START, PV_VM_STOP, PV_VM_SHUTDOWN };
int pv_api_vm_action(struct pv_api *api, const char *node, uint32_t vmid, enum pv_vm_action action,
                     char **ret_upid, struct pv_error *err);

/* A node's liveness (GET /cluster/resources?type=node), for waiting on a reboot. */
struct pv_node_uptime {
        char *node;
        bool online;
        uint64_t uptime;                /* seconds since boot; 0 = unknown (offline, or not reported) */
};
void pv_node_uptimes_free(struct pv_node_uptime *v, size_t n);
int pv_api_node_uptimes(struct pv_api *api, struct pv_node_uptime **ret, size_t *ret_n, struct pv_error *err);
int pv_api_decode_node_uptimes(const json_t *data, struct pv_node_uptime **ret, size_t *ret_n, struct pv_error *err);

/* POST /nodes/{node}/status command=reboot (synchronous; the node reboots shortly after the answer).
 * Needs Sys.PowerMgmt on /nodes/{node}. Never re-sent blindly: a lost answer is PV_EUNCERTAIN. */
int pv_api_node_reboot(struct pv_api *api, const char *node, struct pv_error *err);

/*
 * The same calls for a mapping type: "pci" or "usb" (/cluster/mapping/usb, pve-manager
 * PVE/API2/Cluster/Mapping/USB.pm: no mdev / live-migration-capable keys).
 */
int pv_api_mapping_get_typed(struct pv_api *api, const char *type, const char *id, struct pv_obs_mapping *ret,
                             struct pv_error *err);
int pv_api_mapping_create_typed(struct pv_api *api, const char *type, const struct pv_obs_mapping *m,
                                struct pv_error *err);
int pv_api_mapping_update_typed(struct pv_api *api, const char *type, const struct pv_obs_mapping *m,
                                const char *digest, struct pv_error *err);
int pv_api_mapping_delete_typed(struct pv_api *api, const char *type, const char *id, struct pv_error *err);
/* GET /cluster/mapping/usb[?check-node=N]: Proxmox's `errors` become the mappings' checks. */
int pv_api_usb_mappings(struct pv_api *api, const char *check_node, struct pv_obs_mapping **ret, size_t *ret_n,
                        struct pv_error *err);
/* GET /nodes/{node}/hardware/usb (needs Sys.Modify on /). */
int pv_api_node_usb(struct pv_api *api, const char *node, struct pv_hw_usb **ret, size_t *ret_n, struct pv_error *err);

/* GET /cluster/mapping/pci[?check-node=N] */
int pv_api_mappings(struct pv_api *api, const char *check_node, struct pv_obs_mapping **ret, size_t *ret_n,
                    struct pv_error *err);
int pv_api_mapping_get(struct pv_api *api, const char *id, struct pv_obs_mapping *ret, struct pv_error *err);
/* Create from m (id, description, mdev, live_migration_capable, map[]). */
int pv_api_mapping_create(struct pv_api *api, const struct pv_obs_mapping *m, struct pv_error *err);
/* Replace the mapping's properties with m's (a NULL description deletes it); digest may be NULL. */
int pv_api_mapping_update(struct pv_api *api, const struct pv_obs_mapping *m, const char *digest,
                          struct pv_error *err);
int pv_api_mapping_delete(struct pv_api *api, const char *id, struct pv_error *err);

/* GET /nodes/{node}/hardware/pci; class_blacklist NULL = "" (list every device). */
int pv_api_node_pci(struct pv_api *api, const char *node, const char *class_blacklist, struct pv_hw_pci **ret,
                    size_t *ret_n, struct pv_error *err);
/* GET /nodes/{node}/hardware/pci/{pci id or mapping}/mdev */
int pv_api_node_mdev(struct pv_api *api, const char *node, const char *dev, struct pv_mdev_type **ret,
                     size_t *ret_n, struct pv_error *err);

/* ---------------------------------------------------------------- tasks */

int pv_api_task_status(struct pv_api *api, const char *upid, struct pv_task_status *ret, struct pv_error *err);
/* Log lines [start, start+limit) (*ret_lines must be empty: PV_STRV_INIT). */
int pv_api_task_log(struct pv_api *api, const char *upid, unsigned start, unsigned limit, struct pv_strv *ret_lines,
                    struct pv_error *err);

#define PV_TASK_POLL_FIRST_MS 15u      /* first status poll: most short tasks are done by the 2nd or 3rd */
#define PV_TASK_POLL_CAP_MS 50u        /* then ×1.5 up to this: mean overshoot past a task's end about 25 ms */
#define PV_TASK_POLL_LONG_MS 10000u    /* after this a task is polled at 2% of its age (≤ 1 s) */

struct pv_task_wait {
        unsigned timeout_ms;            /* 0 = pv_api_task_timeout_ms(type, base, memory, has_pci) */
        unsigned poll_initial_ms;       /* first poll after this; 0 = PV_TASK_POLL_FIRST_MS */
        unsigned poll_max_ms;           /* backoff cap; 0 = PV_TASK_POLL_CAP_MS (raised after PV_TASK_POLL_LONG_MS) */
        bool has_pci;                   /* the VM has PCI devices (start waits 4×) */
        uint64_t memory_mib;            /* the VM's memory (start waits longer for big VMs) */
        unsigned log_tail;              /* log lines put into a failure; 0 = 8 */
        /* called after every poll (cmd/ draws progress when stderr is a terminal); may be NULL */
        void (*progress)(void *userdata, const struct pv_task_status *st, unsigned elapsed_ms);
        void *userdata;
        /* shared by the waiters of many tasks (the parallel executor): the tasks of one node are then
         * polled with one GET /nodes/{node}/tasks while two or more wait there; may be NULL */
        struct pv_task_board *board;
};
/*
 * A task board (api/taskboard.c): the tasks several threads wait for, so that one request of the
 * node's task list (GET /nodes/{node}/tasks?source=all&since=…) settles all of one node. Thread-safe.
 * pv_api_task_wait joins and leaves it; pv_task_board_poll is its poll (a task alone on its node, one
 * missing from the list or one that did not end "OK" is polled by its own status).
 */
struct pv_upid;
struct pv_task_board *pv_task_board_new(void);
void pv_task_board_free(struct pv_task_board *b);
void pv_task_board_join(struct pv_task_board *b, const char *upid, const struct pv_upid *u);
void pv_task_board_leave(struct pv_task_board *b, const char *upid);
/* The status of upid: settled by a list (no request), or running as a list read less than fresh_ms ago
 * (or in flight) says, or read by a list or status request now. */
int pv_task_board_poll(struct pv_task_board *b, struct pv_api *api, const char *upid, unsigned fresh_ms,
                       struct pv_task_status *ret, struct pv_error *err);
/* Sleep up to ms, waking as soon as a list answer settles upid (or tells it to poll its own status). */
void pv_task_board_sleep(struct pv_task_board *b, const char *upid, unsigned ms);
/* Requests made so far: task-list reads and status reads. */
void pv_task_board_counts(struct pv_task_board *b, unsigned long *ret_list_polls, unsigned long *ret_status_polls);
/* How long to wait for a task: base for most, scaled by memory for starts, ×4 with PCI devices. */
unsigned pv_api_task_timeout_ms(const char *type, unsigned base_ms, uint64_t memory_mib, bool has_pci);
/*
 * Wait until the task stops. "OK" → 0; "WARNINGS: n" → 0, each warning logged
 * through pv_log; anything else → PV_EHTTP (PV_ECONFLICT for lock/already-running
 * failures) with the exit status and the log tail; still running at the limit →
 * PV_ENET. opts may be NULL. *ret (may be NULL) gets the final status.
 */
int pv_api_task_wait(struct pv_api *api, const char *upid, const struct pv_task_wait *opts,
                     struct pv_task_status *ret, struct pv_error *err);

/* ------------------------------------ pure helpers (exposed for tests) */

/* Retry policy. */
enum pv_api_verdict {
        PV_API_FINAL,                   /* done: success or a definite error */
        PV_API_RETRY,                   /* safe to send again */
        PV_API_UNCERTAIN,               /* a write that may have taken effect: verify, never re-send blindly */
};
/* curl_code is a CURLcode (0 = a response arrived with http_status). */
enum pv_api_verdict pv_api_retry_classify(bool idempotent, int curl_code, long http_status, bool request_sent);
/* Delay before attempt number `retry` (1 = first retry): base·2^(retry-1) capped at max, then
 * "equal jitter" (half fixed, half from rnd). */
unsigned pv_api_backoff_ms(unsigned retry, unsigned base_ms, unsigned max_ms, uint32_t rnd);
/* After `attempt` tries of a request classified PV_API_RETRY, may it be sent again after delay_ms?
 * Reads: while elapsed (since the first try) + delay stays within retry_ms, and below max_attempts
 * when that is not 0. Writes (never reached the server): below max_attempts (0 = 4). */
bool pv_api_retry_allowed(bool idempotent, unsigned attempt, unsigned max_attempts, uint64_t elapsed_ms,
                          unsigned delay_ms, unsigned retry_ms);

/* What cmd/ passes so an auth failure can say which credential failed and how to fix it. */
struct pv_api_auth_info {
        enum pv_auth_kind kind;
        const char *principal;          /* token id or user */
        const char *secret_source;      /* or NULL */
        const char *url;
};
/*
 * Turn a non-2xx answer into one pv_error: "METHOD PATH: STATUS MESSAGE[: key: text; …]" plus a
 * hint for 401/403/501; code PV_EAUTH (401/403), PV_ECONFLICT (digest, lock, exists),
 * PV_ENOTFOUND (does not exist / not found) or PV_EHTTP; http_status set. auth may be NULL.
 */
int pv_api_error_from_response(const char *method, const char *path, long status, const char *reason,
                               const char *body, size_t body_len, const struct pv_api_auth_info *auth,
                               struct pv_error *err);
/* Parse {"data": …}: *ret_data gets a new reference to data (json null when null). */
int pv_api_decode_envelope(const char *body, size_t len, json_t **ret_data, struct pv_error *err);

/* Redaction for the debug trace (each returns a new malloc()ed string, or NULL on ENOMEM). */
char *pv_api_redact_header(const char *line);        /* "Authorization: <redacted>" (= pv_api_redact_line) */
/* Any debug-trace line: secret headers, HTTP/2 "[cookie: …]", and secret key=value pairs in a
 * request line's query string or in text ("GET /x?password=<redacted> HTTP/1.1"). NULL on OOM. */
char *pv_api_redact_line(const char *line);
char *pv_api_redact_form(const char *body);          /* password=<redacted>&username=root%40pam */
char *pv_api_redact_json_text(const char *text, size_t len, size_t max);  /* JSON values of secret keys */
bool pv_api_is_secret_key(const char *key);

/* Response decoders (pure; fuzzed by tests/fuzz/fuzz_api_decode.c). */
int pv_api_decode_version(const json_t *data, struct pv_api_version *ret, struct pv_error *err);
int pv_api_decode_nodes(const json_t *data, struct pv_node_info **ret, size_t *ret_n, struct pv_error *err);
int pv_api_decode_resources(const json_t *data, struct pv_node_info **ret_nodes, size_t *ret_n_nodes,
                            struct pv_vm_info **ret_vms, size_t *ret_n_vms, struct pv_error *err);
int pv_api_decode_nextid(const json_t *data, uint32_t *ret, struct pv_error *err);
/* node: filled into each entry (the list endpoint does not repeat it). */
int pv_api_decode_vm_list(const json_t *data, const char *node, struct pv_vm_info **ret, size_t *ret_n,
                          struct pv_error *err);
int pv_api_decode_vm_config(const json_t *data, const char *node, uint32_t vmid, struct pv_vm_config *ret,
                            struct pv_error *err);
int pv_api_decode_vm_pending(const json_t *data, uint32_t vmid, struct pv_vm_pending *ret, struct pv_error *err);
int pv_api_decode_vm_status(const json_t *data, struct pv_vm_status *ret, struct pv_error *err);
/* id: used when the answer carries none (GET /cluster/mapping/pci/{id} does not); NULL = required */
int pv_api_decode_mapping(const json_t *data, const char *id, struct pv_obs_mapping *ret, struct pv_error *err);
int pv_api_decode_mappings(const json_t *data, struct pv_obs_mapping **ret, size_t *ret_n, struct pv_error *err);
int pv_api_decode_hw_pci(const json_t *data, struct pv_hw_pci **ret, size_t *ret_n, struct pv_error *err);
int pv_api_decode_mdev_types(const json_t *data, struct pv_mdev_type **ret, size_t *ret_n, struct pv_error *err);
int pv_api_decode_task_status(const json_t *data, struct pv_task_status *ret, struct pv_error *err);
int pv_api_decode_task_log(const json_t *data, struct pv_strv *ret_lines, struct pv_error *err);
/* The last n lines of a task log before its TASK OK/ERROR/WARNINGS lines, joined by " | "; NULL when none. */
char *pv_api_task_log_tail(const struct pv_strv *lines, unsigned n);
/* A JSON scalar as Proxmox's text form: string as is, integer decimal, true/false → 1/0. NULL otherwise. */
char *pv_api_scalar_text(const json_t *v);
/*
 * GET /cluster/options: the datacenter `tag-style` (an object, as
 * parse_datacenter_config leaves it, or its property string). *ret_set is
 * false (and *ret the default) when the option is not set.
 */
int pv_api_decode_tag_style(const json_t *data, struct pv_tag_style *ret, bool *ret_set, struct pv_error *err);
/*
 * GET /nodes/{node}/apt/versions: the installed version of package `pkg`
 * (OldVersion: $assemble_pkginfo puts the candidate in Version); *ret NULL
 * when the package is not installed or not listed.
 */
int pv_api_decode_pkg_version(const json_t *data, const char *pkg, char **ret, struct pv_error *err);

#endif
