/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Decoders: the `data` of Proxmox answers → the observed-state structs of
 * cluster.h. Pure and defensive: any JSON value is accepted as input, wrong
 * shapes are reported (PV_EINVAL, "unexpected answer: …"), integers sent as
 * strings are accepted, unknown members are ignored.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pvfio/api.h"
#include "pvfio/util.h"
#include "pvfio/xalloc.h"

#define BAD(err, ...) pv_error_set((err), PV_EINVAL, "unexpected answer: " __VA_ARGS__)

char *pv_api_scalar_text(const json_t *v) {
        switch (json_typeof(v)) {
        case JSON_STRING:
                return pv_xstrndup(json_string_value(v), json_string_length(v));
        case JSON_INTEGER:
                return pv_xasprintf("%" JSON_INTEGER_FORMAT, json_integer_value(v));
        case JSON_REAL: {
                double d = json_real_value(v);
                if (isfinite(d) && d == floor(d) && fabs(d) < 9e15)
                        return pv_xasprintf("%.0f", d);
                return pv_xasprintf("%.15g", d);
        }
        case JSON_TRUE:
                return pv_xstrdup("1");
        case JSON_FALSE:
                return pv_xstrdup("0");
        default:
                return NULL;
        }
}

/* Unsigned integer from a number or a decimal string ("100"). */
static bool get_u64(const json_t *v, uint64_t max, uint64_t *ret) {
        if (json_is_integer(v)) {
                json_int_t i = json_integer_value(v);
                if (i < 0 || (uint64_t)i > max)
                        return false;
                *ret = (uint64_t)i;
                return true;
        }
        if (json_is_real(v)) {
                double d = json_real_value(v);
                if (!isfinite(d) || d < 0 || d != floor(d) || d > (double)max)
                        return false;
                *ret = (uint64_t)d;
                return true;
        }
        if (json_is_string(v)) {
                const char *s = json_string_value(v);
                if (!*s || json_string_length(v) > 20)
                        return false;
                for (const char *p = s; *p; p++)
                        if (!isdigit((unsigned char)*p))
                                return false;
                errno = 0;
                unsigned long long n = strtoull(s, NULL, 10);
                if (errno || n > max)
                        return false;
                *ret = n;
                return true;
        }
        return false;
}

static bool get_u32(const json_t *v, uint32_t *ret) {
        uint64_t n;
        if (!get_u64(v, UINT32_MAX, &n))
                return false;
        *ret = (uint32_t)n;
        return true;
}

static bool get_int(const json_t *v, int *ret) {
        if (json_is_integer(v)) {
                json_int_t i = json_integer_value(v);
                if (i < -2147483647 || i > 2147483647)
                        return false;
                *ret = (int)i;
                return true;
        }
        if (json_is_string(v)) {
                const char *s = json_string_value(v);
                char *end = NULL;
                errno = 0;
                long n = strtol(s, &end, 10);
                if (!*s || *end || errno || n < -2147483647 || n > 2147483647)
                        return false;
                *ret = (int)n;
                return true;
        }
        return false;
}

/* Proxmox booleans: 0/1, true/false, "1"/"0"/"yes"/"on"… */
static bool get_bool(const json_t *v, bool *ret) {
        if (json_is_boolean(v)) {
                *ret = json_is_true(v);
                return true;
        }
        if (json_is_integer(v)) {
                *ret = json_integer_value(v) != 0;
                return true;
        }
        if (json_is_string(v)) {
                const char *s = json_string_value(v);
                if (!strcasecmp(s, "1") || !strcasecmp(s, "true") || !strcasecmp(s, "yes") || !strcasecmp(s, "on")) {
                        *ret = true;
                        return true;
                }
                if (!strcasecmp(s, "0") || !strcasecmp(s, "false") || !strcasecmp(s, "no") || !strcasecmp(s, "off")) {
                        *ret = false;
                        return true;
                }
        }
        return false;
}

/* Optional string member → owned copy (NULL when absent or null). Numbers are turned into text. */
static int opt_text(const json_t *o, const char *key, char **ret, struct pv_error *err) {
        const json_t *v = json_object_get(o, key);
        *ret = NULL;
        if (!v || json_is_null(v))
                return 0;
        if (!json_is_string(v) && !json_is_number(v) && !json_is_boolean(v))
                return BAD(err, "'%s' is not a string", key);
        *ret = pv_api_scalar_text(v);   /* a scalar: never NULL */
        return 0;
}

static int req_text(const json_t *o, const char *key, const char *what, char **ret, struct pv_error *err) {
        const json_t *v = json_object_get(o, key);
        if (!json_is_string(v) || json_string_length(v) == 0)
                return BAD(err, "%s without a '%s'", what, key);
        *ret = pv_xstrndup(json_string_value(v), json_string_length(v));
        return 0;
}

static bool opt_bool(const json_t *o, const char *key, bool def) {
        bool b = def;
        const json_t *v = json_object_get(o, key);
        if (v && !get_bool(v, &b))
                b = def;
        return b;
}

static int want_array(const json_t *data, const char *what, struct pv_error *err) {
        if (!json_is_array(data))
                return BAD(err, "%s is not a list", what);
        return 0;
}

static int want_object(const json_t *data, const char *what, struct pv_error *err) {
        if (!json_is_object(data))
                return BAD(err, "%s is not an object", what);
        return 0;
}

/* ------------------------------------------------------------- version */

void pv_api_version_done(struct pv_api_version *v) {
        if (!v)
                return;
        free(v->version);
        free(v->release);
        free(v->repoid);
        memset(v, 0, sizeof *v);
}

int pv_api_decode_version(const json_t *data, struct pv_api_version *ret, struct pv_error *err) {
        struct pv_api_version v = { 0 };
        int r = want_object(data, "/version", err);
        if (r >= 0)
                r = req_text(data, "version", "/version", &v.version, err);
        if (r >= 0)
                r = opt_text(data, "release", &v.release, err);
        if (r >= 0)
                r = opt_text(data, "repoid", &v.repoid, err);
        if (r < 0) {
                pv_api_version_done(&v);
                return r;
        }
        *ret = v;
        return 0;
}

/* --------------------------------------------------------------- nodes */

static int decode_node(const json_t *o, struct pv_node_info *n, struct pv_error *err) {
        if (!json_is_object(o))
                return BAD(err, "a node entry is not an object");
        int r = req_text(o, "node", "a node entry", &n->node, err);
        if (r >= 0)
                r = opt_text(o, "status", &n->status, err);
        if (r >= 0 && !n->status)
                n->status = pv_xstrdup("unknown");
        return r;
}

static void free_nodes(struct pv_node_info *v, size_t n) {
        for (size_t i = 0; i < n; i++)
                pv_node_info_done(&v[i]);
        free(v);
}

int pv_api_decode_nodes(const json_t *data, struct pv_node_info **ret, size_t *ret_n, struct pv_error *err) {
        int r = want_array(data, "the node list", err);
        if (r < 0)
                return r;
        size_t n = json_array_size(data);
        struct pv_node_info *v = pv_xcalloc(n ? n : 1, sizeof *v);
        for (size_t i = 0; i < n; i++) {
                r = decode_node(json_array_get(data, i), &v[i], err);
                if (r < 0) {
                        free_nodes(v, n);
                        return r;
                }
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

/* ----------------------------------------------------------------- VMs */

static int decode_vm(const json_t *o, const char *node, struct pv_vm_info *vm, struct pv_error *err) {
        if (!json_is_object(o))
                return BAD(err, "a VM entry is not an object");
        if (!get_u32(json_object_get(o, "vmid"), &vm->vmid) || vm->vmid == 0)
                return BAD(err, "a VM entry without a valid 'vmid'");
        int r = 0;
        if (node)
                vm->node = pv_xstrdup(node);
        else
                r = req_text(o, "node", "a VM entry", &vm->node, err);
        if (r >= 0)
                r = opt_text(o, "name", &vm->name, err);
        if (r >= 0)
                r = opt_text(o, "status", &vm->status, err);
        if (r >= 0)
                r = opt_text(o, "lock", &vm->lock, err);
        if (r >= 0)
                r = opt_text(o, "tags", &vm->tags, err);
        if (r >= 0 && vm->lock && !*vm->lock) {
                free(vm->lock);
                vm->lock = NULL;
        }
        if (r >= 0 && !vm->status)
                vm->status = pv_xstrdup("unknown");
        vm->is_template = opt_bool(o, "template", false);
        if (r < 0)
                return pv_error_wrap(err, "VM %" PRIu32, vm->vmid);
        return 0;
}

static void free_vms(struct pv_vm_info *v, size_t n) {
        for (size_t i = 0; i < n; i++)
                pv_vm_info_done(&v[i]);
        free(v);
}

int pv_api_decode_resources(const json_t *data, struct pv_node_info **ret_nodes, size_t *ret_n_nodes,
                            struct pv_vm_info **ret_vms, size_t *ret_n_vms, struct pv_error *err) {
        int r = want_array(data, "the cluster resources", err);
        if (r < 0)
                return r;
        size_t n = json_array_size(data), nn = 0, nv = 0;
        struct pv_node_info *nodes = pv_xcalloc(n ? n : 1, sizeof *nodes);
        struct pv_vm_info *vms = pv_xcalloc(n ? n : 1, sizeof *vms);
        for (size_t i = 0; i < n && r >= 0; i++) {
                const json_t *o = json_array_get(data, i);
                if (!json_is_object(o)) {
                        r = BAD(err, "a cluster resource is not an object");
                        break;
                }
                const char *type = json_string_value(json_object_get(o, "type"));
                if (!type)
                        continue;
                if (strcmp(type, "node") == 0)
                        r = decode_node(o, &nodes[nn++], err);
                else if (strcmp(type, "qemu") == 0)
                        r = decode_vm(o, NULL, &vms[nv++], err);
        }
        if (r < 0) {
                free_nodes(nodes, nn);
                free_vms(vms, nv);
                return r;
        }
        if (ret_nodes) {
                *ret_nodes = nodes;
                *ret_n_nodes = nn;
        } else {
                free_nodes(nodes, nn);
        }
        if (ret_vms) {
                *ret_vms = vms;
                *ret_n_vms = nv;
        } else {
                free_vms(vms, nv);
        }
        return 0;
}

int pv_api_decode_nextid(const json_t *data, uint32_t *ret, struct pv_error *err) {
        uint32_t id;
        if (!get_u32(data, &id) || id < PV_VMID_MIN || id > PV_VMID_MAX)
                return BAD(err, "/cluster/nextid is not a VM id");
        *ret = id;
        return 0;
}

int pv_api_decode_vm_list(const json_t *data, const char *node, struct pv_vm_info **ret, size_t *ret_n,
                          struct pv_error *err) {
        int r = want_array(data, "the VM list", err);
        if (r < 0)
                return r;
        size_t n = json_array_size(data);
        struct pv_vm_info *v = pv_xcalloc(n ? n : 1, sizeof *v);
        for (size_t i = 0; i < n; i++) {
                r = decode_vm(json_array_get(data, i), node, &v[i], err);
                if (r < 0) {
                        free_vms(v, n);
                        return r;
                }
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

static int cmp_kv(const void *a, const void *b) {
        return strcmp(((const struct pv_kv *)a)->key, ((const struct pv_kv *)b)->key);
}

int pv_api_decode_vm_config(const json_t *data, const char *node, uint32_t vmid, struct pv_vm_config *ret,
                            struct pv_error *err) {
        int r = want_object(data, "the VM config", err);
        if (r < 0)
                return r;
        struct pv_vm_config c = { .vmid = vmid };
        size_t n = json_object_size(data);
        c.kv = pv_xcalloc(n ? n : 1, sizeof *c.kv);
        c.node = pv_xstrdup(node);
        const char *key;
        json_t *v;
        json_object_foreach((json_t *)data, key, v) {
                if (strcmp(key, "digest") == 0) {
                        if (!json_is_string(v)) {
                                r = BAD(err, "the 'digest' of VM %" PRIu32 " is not a string", vmid);
                                break;
                        }
                        free(c.digest);
                        c.digest = pv_xstrdup(json_string_value(v));
                        continue;
                }
                if (!*key || c.n >= n)
                        continue;
                char *text = pv_api_scalar_text(v);
                if (!text)
                        continue; /* null, lists, objects: not config values */
                c.kv[c.n].key = pv_xstrdup(key);
                c.kv[c.n].value = text;
                c.n++;
        }
        if (r < 0) {
                pv_vm_config_done(&c);
                return r;
        }
        qsort(c.kv, c.n, sizeof *c.kv, cmp_kv);
        *ret = c;
        return 0;
}

int pv_api_decode_vm_pending(const json_t *data, uint32_t vmid, struct pv_vm_pending *ret, struct pv_error *err) {
        int r = want_array(data, "the pending list", err);
        if (r < 0)
                return r;
        struct pv_vm_pending p = { .vmid = vmid };
        size_t n = json_array_size(data);
        p.v = pv_xcalloc(n ? n : 1, sizeof *p.v);
        for (size_t i = 0; i < n && r >= 0; i++) {
                const json_t *o = json_array_get(data, i);
                struct pv_pending *e = &p.v[p.n];
                if (!json_is_object(o)) {
                        r = BAD(err, "a pending entry is not an object");
                        break;
                }
                p.n++;
                r = req_text(o, "key", "a pending entry", &e->key, err);
                if (r >= 0)
                        r = opt_text(o, "value", &e->value, err);
                if (r >= 0)
                        r = opt_text(o, "pending", &e->pending, err);
                const json_t *d = json_object_get(o, "delete");
                if (r >= 0 && d && !json_is_null(d)) {
                        int del = 0;
                        if (!get_int(d, &del) || del < 0 || del > 2)
                                r = BAD(err, "the 'delete' of pending key '%s' is not 0, 1 or 2", e->key);
                        e->delete_ = del;
                }
        }
        if (r < 0) {
                pv_vm_pending_done(&p);
                return r;
        }
        *ret = p;
        return 0;
}

void pv_vm_status_done(struct pv_vm_status *s) {
        if (!s)
                return;
        free(s->status);
        free(s->qmpstatus);
        free(s->name);
        free(s->lock);
        memset(s, 0, sizeof *s);
}

int pv_api_decode_vm_status(const json_t *data, struct pv_vm_status *ret, struct pv_error *err) {
        struct pv_vm_status s = { 0 };
        int r = want_object(data, "the VM status", err);
        if (r >= 0)
                r = req_text(data, "status", "the VM status", &s.status, err);
        if (r >= 0)
                r = opt_text(data, "qmpstatus", &s.qmpstatus, err);
        if (r >= 0)
                r = opt_text(data, "name", &s.name, err);
        if (r >= 0)
                r = opt_text(data, "lock", &s.lock, err);
        if (r >= 0) {
                const json_t *v;
                if ((v = json_object_get(data, "vmid")) && !get_u32(v, &s.vmid))
                        r = BAD(err, "the VM status has an invalid 'vmid'");
                else if ((v = json_object_get(data, "pid")) && !json_is_null(v) && !get_u32(v, &s.pid))
                        r = BAD(err, "the VM status has an invalid 'pid'");
                else if ((v = json_object_get(data, "uptime")) && !json_is_null(v) && !get_u64(v, UINT64_MAX, &s.uptime))
                        r = BAD(err, "the VM status has an invalid 'uptime'");
        }
        if (r < 0) {
                pv_vm_status_done(&s);
                return r;
        }
        *ret = s;
        return 0;
}

/* ------------------------------------------------------------ mappings */

int pv_api_decode_mapping(const json_t *data, const char *id, struct pv_obs_mapping *ret, struct pv_error *err) {
        struct pv_obs_mapping m = { 0 };
        int r = want_object(data, "a PCI mapping", err);
        if (r >= 0 && id && !json_object_get(data, "id"))
                m.id = pv_xstrdup(id);
        else if (r >= 0)
                r = req_text(data, "id", "a PCI mapping", &m.id, err);
        if (r >= 0)
                r = opt_text(data, "description", &m.description, err);
        if (r >= 0)
                r = opt_text(data, "digest", &m.digest, err);
        m.mdev = opt_bool(data, "mdev", false);
        m.live_migration_capable = opt_bool(data, "live-migration-capable", false);
        const json_t *map = json_object_get(data, "map");
        if (r >= 0 && map && !json_is_null(map)) {
                /* a list, or a single string when there is one entry */
                size_t n = json_is_array(map) ? json_array_size(map) : 1;
                if (!json_is_array(map) && !json_is_string(map))
                        r = BAD(err, "the 'map' of mapping '%s' is not a list", m.id);
                else
                        m.map = pv_xcalloc(n ? n : 1, sizeof *m.map);
                for (size_t i = 0; r >= 0 && i < n; i++) {
                        const json_t *e = json_is_array(map) ? json_array_get(map, i) : map;
                        if (!json_is_string(e)) {
                                r = BAD(err, "an entry of mapping '%s' is not a string", m.id);
                                break;
                        }
                        m.map[m.n_map++] = pv_xstrdup(json_string_value(e));
                }
        }
        const json_t *checks = json_object_get(data, "checks");
        if (r >= 0 && checks && !json_is_null(checks)) {
                size_t n = json_array_size(checks);
                if (!json_is_array(checks))
                        r = BAD(err, "the 'checks' of mapping '%s' are not a list", m.id);
                else
                        m.checks = pv_xcalloc(n ? n : 1, sizeof *m.checks);
                for (size_t i = 0; r >= 0 && i < n; i++) {
                        const json_t *c = json_array_get(checks, i);
                        struct pv_mapping_check *k = &m.checks[m.n_checks];
                        if (!json_is_object(c)) {
                                r = BAD(err, "a check of mapping '%s' is not an object", m.id);
                                break;
                        }
                        m.n_checks++;
                        r = opt_text(c, "severity", &k->severity, err);
                        if (r >= 0)
                                r = opt_text(c, "message", &k->message, err);
                        if (r >= 0 && !k->severity)
                                k->severity = pv_xstrdup("error");
                        if (r >= 0 && !k->message)
                                k->message = pv_xstrdup("");
                }
        }
        if (r < 0) {
                pv_obs_mapping_done(&m);
                return r;
        }
        *ret = m;
        return 0;
}

int pv_api_decode_mappings(const json_t *data, struct pv_obs_mapping **ret, size_t *ret_n, struct pv_error *err) {
        int r = want_array(data, "the mapping list", err);
        if (r < 0)
                return r;
        size_t n = json_array_size(data);
        struct pv_obs_mapping *v = pv_xcalloc(n ? n : 1, sizeof *v);
        for (size_t i = 0; i < n; i++) {
                r = pv_api_decode_mapping(json_array_get(data, i), NULL, &v[i], err);
                if (r < 0) {
                        for (size_t k = 0; k < i; k++)
                                pv_obs_mapping_done(&v[k]);
                        free(v);
                        return r;
                }
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

/* ------------------------------------------------------------ hardware */

/* "0x10de" or "10de": 1..max hex digits. */
static bool parse_hex(const char *s, unsigned max_digits, uint32_t *ret) {
        if (!s)
                return false;
        if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
                s += 2;
        unsigned n = 0;
        uint32_t v = 0;
        for (; *s; s++) {
                if (!isxdigit((unsigned char)*s) || ++n > max_digits)
                        return false;
                int c = tolower((unsigned char)*s);
                v = v * 16 + (uint32_t)(c <= '9' ? c - '0' : c - 'a' + 10);
        }
        if (n == 0)
                return false;
        *ret = v;
        return true;
}

static bool hex_member(const json_t *o, const char *key, unsigned digits, uint32_t *ret) {
        return parse_hex(json_string_value(json_object_get(o, key)), digits, ret);
}

static int cmp_hw(const void *a, const void *b) {
        return pv_pci_addr_cmp(&((const struct pv_hw_pci *)a)->addr, &((const struct pv_hw_pci *)b)->addr);
}

static int decode_hw(const json_t *o, struct pv_hw_pci *d, struct pv_error *err) {
        if (!json_is_object(o))
                return BAD(err, "a PCI device entry is not an object");
        const char *id = json_string_value(json_object_get(o, "id"));
        if (!id || pv_pci_addr_parse(id, &d->addr, NULL) < 0 || d->addr.func == PV_PCI_FUNC_ALL)
                return BAD(err, "a PCI device entry without a valid 'id'");
        d->addr.domain_given = true;
        uint32_t v = 0, dev = 0;
        if (!hex_member(o, "class", 6, &d->class_code))
                return BAD(err, "PCI device '%s' has no valid 'class'", id);
        if (!hex_member(o, "vendor", 4, &v) || !hex_member(o, "device", 4, &dev))
                return BAD(err, "PCI device '%s' has no valid 'vendor'/'device'", id);
        d->id = (struct pv_pci_id){ (uint16_t)v, (uint16_t)dev };
        if (hex_member(o, "subsystem_vendor", 4, &v) && hex_member(o, "subsystem_device", 4, &dev)) {
                d->has_subsystem = true;
                d->subsystem = (struct pv_pci_id){ (uint16_t)v, (uint16_t)dev };
        }
        d->iommugroup = -1;
        const json_t *g = json_object_get(o, "iommugroup");
        if (g && !json_is_null(g) && (!get_int(g, &d->iommugroup) || d->iommugroup < -1))
                return BAD(err, "PCI device '%s' has an invalid 'iommugroup'", id);
        d->mdev = opt_bool(o, "mdev", false);
        const char *pf = json_string_value(json_object_get(o, "physfn"));
        if (pf) {
                if (pv_pci_addr_parse(pf, &d->physfn, NULL) < 0 || d->physfn.func == PV_PCI_FUNC_ALL)
                        return BAD(err, "PCI device '%s' has an invalid 'physfn'", id);
                d->physfn.domain_given = true;
                d->is_vf = true;
        }
        int r = opt_text(o, "vendor_name", &d->vendor_name, err);
        if (r >= 0)
                r = opt_text(o, "device_name", &d->device_name, err);
        return r;
}

int pv_api_decode_hw_pci(const json_t *data, struct pv_hw_pci **ret, size_t *ret_n, struct pv_error *err) {
        int r = want_array(data, "the PCI device list", err);
        if (r < 0)
                return r;
        size_t n = json_array_size(data);
        struct pv_hw_pci *v = pv_xcalloc(n ? n : 1, sizeof *v);
        for (size_t i = 0; i < n; i++) {
                r = decode_hw(json_array_get(data, i), &v[i], err);
                if (r < 0) {
                        for (size_t k = 0; k <= i; k++)
                                pv_hw_pci_done(&v[k]);
                        free(v);
                        return r;
                }
        }
        qsort(v, n, sizeof *v, cmp_hw);
        *ret = v;
        *ret_n = n;
        return 0;
}

int pv_api_decode_mdev_types(const json_t *data, struct pv_mdev_type **ret, size_t *ret_n, struct pv_error *err) {
        int r = want_array(data, "the mdev type list", err);
        if (r < 0)
                return r;
        size_t n = json_array_size(data);
        struct pv_mdev_type *v = pv_xcalloc(n ? n : 1, sizeof *v);
        for (size_t i = 0; i < n && r >= 0; i++) {
                const json_t *o = json_array_get(data, i);
                if (!json_is_object(o)) {
                        r = BAD(err, "an mdev type entry is not an object");
                        break;
                }
                r = req_text(o, "type", "an mdev type entry", &v[i].type, err);
                if (r >= 0)
                        r = opt_text(o, "name", &v[i].name, err);
                if (r >= 0)
                        r = opt_text(o, "description", &v[i].description, err);
                const json_t *a = json_object_get(o, "available");
                if (r >= 0 && a && !json_is_null(a) && (!get_int(a, &v[i].available) || v[i].available < 0))
                        r = BAD(err, "mdev type '%s' has an invalid 'available'", v[i].type);
        }
        if (r < 0) {
                for (size_t k = 0; k < n; k++)
                        pv_mdev_type_done(&v[k]);
                free(v);
                return r;
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

/* ---------------------------------------------------------------- tasks */

int pv_api_decode_task_status(const json_t *data, struct pv_task_status *ret, struct pv_error *err) {
        struct pv_task_status t = { 0 };
        char *status = NULL;
        int r = want_object(data, "the task status", err);
        if (r >= 0)
                r = req_text(data, "status", "the task status", &status, err);
        if (r >= 0 && strcmp(status, "running") != 0 && strcmp(status, "stopped") != 0)
                r = BAD(err, "task status '%s' is neither 'running' nor 'stopped'", status);
        if (r >= 0) {
                t.running = strcmp(status, "running") == 0;
                r = opt_text(data, "upid", &t.upid, err);
        }
        if (r >= 0)
                r = opt_text(data, "node", &t.node, err);
        if (r >= 0)
                r = opt_text(data, "type", &t.type, err);
        if (r >= 0 && !t.running)
                r = opt_text(data, "exitstatus", &t.exitstatus, err);
        if (r >= 0 && !t.running && !t.exitstatus)
                t.exitstatus = pv_xstrdup("unexpected status");
        free(status);
        if (r < 0) {
                pv_task_status_done(&t);
                return r;
        }
        *ret = t;
        return 0;
}

int pv_api_decode_task_log(const json_t *data, struct pv_strv *ret_lines, struct pv_error *err) {
        int r = want_array(data, "the task log", err);
        if (r < 0)
                return r;
        struct pv_strv lines = PV_STRV_INIT;
        size_t i;
        const json_t *o;
        json_array_foreach((json_t *)data, i, o) {
                const char *t = json_is_object(o) ? json_string_value(json_object_get(o, "t")) : NULL;
                if (!t) {
                        r = BAD(err, "a task log entry has no text");
                        break;
                }
                r = pv_strv_push(&lines, t, err);
                if (r < 0)
                        break;
        }
        if (r < 0) {
                pv_strv_done(&lines);
                return r;
        }
        *ret_lines = lines;
        return 0;
}

/* ------------------------------------------------------- node uptimes */

void pv_node_uptimes_free(struct pv_node_uptime *v, size_t n) {
        for (size_t i = 0; v && i < n; i++)
                free(v[i].node);
        free(v);
}

int pv_api_decode_node_uptimes(const json_t *data, struct pv_node_uptime **ret, size_t *ret_n, struct pv_error *err) {
        if (!json_is_array(data))
                return BAD(err, "the resource list is not a list");
        size_t n = json_array_size(data), k = 0;
        struct pv_node_uptime *v = pv_xcalloc(n ? n : 1, sizeof *v);
        for (size_t i = 0; i < n; i++) {
                const json_t *o = json_array_get(data, i);
                const json_t *type = json_object_get(o, "type");
                if (!json_is_object(o) || !json_is_string(type) || strcmp(json_string_value(type), "node"))
                        continue;
                const json_t *node = json_object_get(o, "node");
                if (!json_is_string(node)) {
                        pv_node_uptimes_free(v, k);
                        return BAD(err, "a node entry has no node name");
                }
                const json_t *st = json_object_get(o, "status");
                v[k].online = json_is_string(st) && !strcmp(json_string_value(st), "online");
                uint64_t up = 0;
                const json_t *u = json_object_get(o, "uptime");
                if (u && get_u64(u, UINT64_MAX / 2, &up))
                        v[k].uptime = up; /* informative: a missing or malformed uptime stays 0 */
                v[k++].node = pv_xstrdup(json_string_value(node));
        }
        *ret = v;
        *ret_n = k;
        return 0;
}

/* ------------------------------------------------- datacenter options, packages */

int pv_api_decode_tag_style(const json_t *data, struct pv_tag_style *ret, bool *ret_set, struct pv_error *err) {
        struct pv_tag_style st = PV_TAG_STYLE_DEFAULT;
        int r = want_object(data, "/cluster/options", err);
        if (r < 0)
                return r;
        const json_t *ts = json_object_get(data, "tag-style");
        bool set = ts && !json_is_null(ts);
        if (json_is_string(ts)) {
                r = pv_tag_style_parse(json_string_value(ts), &st, err);
        } else if (json_is_object(ts)) {
                const json_t *o = json_object_get(ts, "ordering");
                if (o && !json_is_null(o) && !json_is_string(o))
                        return BAD(err, "'tag-style.ordering' is not a string");
                if (json_is_string(o) && strcmp(json_string_value(o), "config") == 0)
                        st.ordering_config = true;
                else if (json_is_string(o) && strcmp(json_string_value(o), "alphabetical") != 0)
                        return BAD(err, "'tag-style.ordering' is '%s'", json_string_value(o));
                st.case_sensitive = opt_bool(ts, "case-sensitive", false);
        } else if (set) {
                return BAD(err, "'tag-style' is neither an object nor a string");
        }
        if (r < 0)
                return r;
        *ret = st;
        *ret_set = set;
        return 0;
}

int pv_api_decode_pkg_version(const json_t *data, const char *pkg, char **ret, struct pv_error *err) {
        if (!json_is_array(data))
                return BAD(err, "the package list is not a list");
        size_t i;
        const json_t *e;
        json_array_foreach(data, i, e) {
                if (!json_is_object(e))
                        return BAD(err, "a package entry is not an object");
                const char *name = json_string_value(json_object_get(e, "Package"));
                if (!name || strcmp(name, pkg) != 0)
                        continue;
                const char *state = json_string_value(json_object_get(e, "CurrentState"));
                const json_t *v = json_object_get(e, "OldVersion");
                if (!json_is_string(v) || (state && strcmp(state, "Installed") != 0)) {
                        *ret = NULL;
                        return 0;
                }
                *ret = pv_xstrdup(json_string_value(v));
                return 0;
        }
        *ret = NULL;
        return 0;
}
