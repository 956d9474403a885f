/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fixtures of the VM/mapping planner tests: see vmplan_fixture.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "pvfio/hostpci.h"
#include "pvfio/vmplan.h"
#include "vmplan_fixture.h"

/* ------------------------------------------------------- observed builders */

char *S(const char *s) {
        return s ? strdup(s) : NULL;
}

void add_node(struct pv_observed *o, const char *node, const char *status) {
        o->nodes = realloc(o->nodes, (o->n_nodes + 1) * sizeof *o->nodes);
        o->nodes[o->n_nodes++] = (struct pv_node_info){ S(node), S(status) };
}

void add_vm(struct pv_observed *o, uint32_t vmid, const char *node, const char *name, const char *status,
            const char *tags) {
        o->vms = realloc(o->vms, (o->n_vms + 1) * sizeof *o->vms);
        o->vms[o->n_vms++] = (struct pv_vm_info){ .vmid = vmid, .node = S(node), .name = S(name),
                                                  .status = S(status), .tags = S(tags) };
}

struct pv_vm_info *find_vm(struct pv_observed *o, uint32_t vmid) {
        for (size_t i = 0; i < o->n_vms; i++)
                if (o->vms[i].vmid == vmid)
                        return &o->vms[i];
        return NULL;
}

struct pv_vm_config *find_cfg(struct pv_observed *o, uint32_t vmid) {
        for (size_t i = 0; i < o->n_configs; i++)
                if (o->configs[i].vmid == vmid)
                        return &o->configs[i];
        return NULL;
}

struct pv_vm_config *add_cfg(struct pv_observed *o, uint32_t vmid, const char *node) {
        o->configs = realloc(o->configs, (o->n_configs + 1) * sizeof *o->configs);
        o->configs[o->n_configs] = (struct pv_vm_config){ .vmid = vmid, .node = S(node), .digest = S("d0") };
        return &o->configs[o->n_configs++];
}

/* Set (value non-NULL) or remove a config key of vmid. */
void cfg_set(struct pv_observed *o, uint32_t vmid, const char *key, const char *value) {
        struct pv_vm_config *c = find_cfg(o, vmid);
        assert_non_null(c);
        for (size_t i = 0; i < c->n; i++)
                if (strcmp(c->kv[i].key, key) == 0) {
                        free(c->kv[i].value);
                        if (value) {
                                c->kv[i].value = S(value);
                        } else {
                                free(c->kv[i].key);
                                c->kv[i] = c->kv[--c->n];
                        }
                        return;
                }
        if (!value)
                return;
        c->kv = realloc(c->kv, (c->n + 1) * sizeof *c->kv);
        c->kv[c->n++] = (struct pv_kv){ S(key), S(value) };
        if (strcmp(key, "tags") == 0) {
                struct pv_vm_info *v = find_vm(o, vmid);
                if (v) {
                        free(v->tags);
                        v->tags = S(value);
                }
        }
}

size_t add_hw(struct pv_observed *o, const char *node) {
        o->hw = realloc(o->hw, (o->n_hw + 1) * sizeof *o->hw);
        o->hw[o->n_hw] = (struct pv_node_hw){ .node = S(node) };
        return o->n_hw++;
}

struct pv_pci_addr A(const char *s) {
        struct pv_pci_addr a;
        assert_int_equal(pv_pci_addr_parse(s, &a, NULL), 0);
        return a;
}

void hw_dev(struct pv_observed *o, size_t h, const char *addr, const char *id, const char *subsys, int group,
            bool mdev, const char *physfn) {
        struct pv_node_hw *hw = &o->hw[h];
        hw->devs = realloc(hw->devs, (hw->n_devs + 1) * sizeof *hw->devs);
        struct pv_hw_pci d = { .addr = A(addr), .class_code = 0x030000, .iommugroup = group, .mdev = mdev };
        assert_int_equal(pv_pci_id_parse(id, &d.id, NULL), 0);
        if (subsys) {
                d.has_subsystem = true;
                assert_int_equal(pv_pci_id_parse(subsys, &d.subsystem, NULL), 0);
        }
        if (physfn) {
                d.is_vf = true;
                d.physfn = A(physfn);
        }
        hw->devs[hw->n_devs++] = d;
}

void hw_mdev(struct pv_observed *o, size_t h, const char *addr, const char *type, int available) {
        struct pv_node_hw *hw = &o->hw[h];
        struct pv_pci_addr a = A(addr);
        struct pv_node_mdev *m = NULL;
        for (size_t i = 0; i < hw->n_mdev; i++)
                if (pv_pci_addr_equal(&hw->mdev[i].addr, &a))
                        m = &hw->mdev[i];
        if (!m) {
                hw->mdev = realloc(hw->mdev, (hw->n_mdev + 1) * sizeof *hw->mdev);
                m = &hw->mdev[hw->n_mdev++];
                *m = (struct pv_node_mdev){ .addr = a };
        }
        m->types = realloc(m->types, (m->n_types + 1) * sizeof *m->types);
        m->types[m->n_types++] = (struct pv_mdev_type){ .type = S(type), .name = S(type), .description = S(""), .available = available };
}

struct pv_obs_mapping *add_mapping(struct pv_observed *o, const char *id, const char *desc, const char *digest) {
        o->mappings = realloc(o->mappings, (o->n_mappings + 1) * sizeof *o->mappings);
        o->mappings[o->n_mappings] = (struct pv_obs_mapping){ .id = S(id), .description = S(desc), .digest = S(digest) };
        return &o->mappings[o->n_mappings++];
}

void mapping_add_map(struct pv_obs_mapping *m, const char *entry) {
        m->map = realloc(m->map, (m->n_map + 1) * sizeof *m->map);
        m->map[m->n_map++] = S(entry);
}

void mapping_add_check(struct pv_obs_mapping *m, const char *sev, const char *msg) {
        m->checks = realloc(m->checks, (m->n_checks + 1) * sizeof *m->checks);
        m->checks[m->n_checks++] = (struct pv_mapping_check){ .severity = S(sev), .message = S(msg) };
}

void add_pending(struct pv_observed *o, uint32_t vmid, const char *key, const char *value, const char *pending,
                 int del) {
        struct pv_vm_pending *p = NULL;
        for (size_t i = 0; i < o->n_pending; i++)
                if (o->pending[i].vmid == vmid)
                        p = &o->pending[i];
        if (!p) {
                o->pending = realloc(o->pending, (o->n_pending + 1) * sizeof *o->pending);
                p = &o->pending[o->n_pending++];
                *p = (struct pv_vm_pending){ .vmid = vmid };
        }
        p->v = realloc(p->v, (p->n + 1) * sizeof *p->v);
        p->v[p->n++] = (struct pv_pending){ S(key), S(value), S(pending), del };
}

/* --------------------------------------------------------- profile builders */

void vm_init(struct pv_vm *vm, const char *name, const char *node) {
        memset(vm, 0, sizeof *vm);
        vm->name = (char *)name;
        vm->node = (char *)node;
        vm->balloon_mib = -1;
        vm->numa = -1;
        vm->onboot = -1;
        vm->efidisk_pre_enrolled_keys = true;
}

static struct pv_pcidev pci_base(void) {
        struct pv_pcidev d;
        memset(&d, 0, sizeof d);
        d.slot = -1;
        d.pcie = d.primary = d.rombar = d.legacy_igd = -1;
        return d;
}

struct pv_pcidev pci_mapping(const char *id) {
        struct pv_pcidev d = pci_base();
        d.kind = PV_PCIDEV_MAPPING;
        d.mapping = (char *)id;
        return d;
}

struct pv_pcidev pci_raw(struct pv_pci_addr *addrs, size_t n) {
        struct pv_pcidev d = pci_base();
        d.kind = PV_PCIDEV_RAW;
        d.addrs = addrs;
        d.n_addrs = n;
        return d;
}

struct pv_pcidev pci_vf(const char *pf) {
        struct pv_pcidev d = pci_base();
        d.kind = PV_PCIDEV_VF_POOL;
        d.vf_pf = A(pf);
        return d;
}

void root_password(struct pv_profile *p) {
        p->cluster.present = true;
        p->cluster.auth = PV_AUTH_PASSWORD;
        p->cluster.user = (char *)"root@pam";
}

/* ------------------------------------------------------------ plan helpers */

struct pv_plan build(const struct pv_profile *p, const struct pv_observed *o, const struct pv_vm_plan_opts *opts) {
        struct pv_plan plan = PV_PLAN_INIT;
        struct pv_error e = PV_ERROR_INIT;
        if (pv_vm_plan_build(p, o, opts, &plan, &e) < 0)
                fail_msg("plan failed: %s", pv_error_message(&e));
        /* every action is typed: the payload of its kind and a key no other action of its node has */
        for (size_t i = 0; i < plan.n; i++) {
                const struct pv_action *a = &plan.actions[i];
                assert_int_equal(a->payload_kind, pv_action_kind_info(a->kind)->payload);
                assert_non_null(a->key);
                assert_ptr_equal(pv_plan_find_key(&plan, a->node, a->key), a);
        }
        return plan;
}

size_t count_kind(const struct pv_plan *p, enum pv_action_kind k) {
        size_t n = 0;
        for (size_t i = 0; i < p->n; i++)
                n += p->actions[i].kind == k;
        return n;
}

const struct pv_action *find_act(const struct pv_plan *p, enum pv_action_kind k, const char *target) {
        for (size_t i = 0; i < p->n; i++)
                if (p->actions[i].kind == k && (!target || strcmp(p->actions[i].target, target) == 0))
                        return &p->actions[i];
        return NULL;
}

const struct pv_key_change *find_key(const struct pv_action *a, const char *key) {
        for (size_t i = 0; a && i < a->n_keys; i++)
                if (strcmp(a->keys[i].key, key) == 0)
                        return &a->keys[i];
        return NULL;
}

const char *key_after(const struct pv_action *a, const char *key) {
        const struct pv_key_change *k = find_key(a, key);
        return k ? k->after : NULL;
}

bool notes_have(char **v, size_t n, const char *part) {
        for (size_t i = 0; i < n; i++)
                if (strstr(v[i], part))
                        return true;
        return false;
}

/* A stable text dump of a plan, for determinism checks and failure messages. */
char *dump(const struct pv_plan *p) {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        for (size_t i = 0; i < p->n; i++) {
                const struct pv_action *a = &p->actions[i];
                fprintf(f, "%zu %s %s node=%s vmid=%" PRIu32 " dep=%d pend=%d blocked=%s\n", i + 1,
                        pv_action_kind_to_string(a->kind), a->target, a->node ? a->node : "-", a->vmid, a->depends_on,
                        a->pending_until_restart, a->blocked ? a->blocked : "-");
                for (size_t k = 0; k < a->n_keys; k++)
                        fprintf(f, "   %s: %s -> %s%s\n", a->keys[k].key, a->keys[k].before ? a->keys[k].before : "(none)",
                                a->keys[k].after ? a->keys[k].after : "(delete)",
                                a->keys[k].pending_until_restart ? " [pending]" : "");
        }
        for (size_t i = 0; i < p->n_drift; i++)
                fprintf(f, "drift: %s\n", p->drift[i]);
        for (size_t i = 0; i < p->n_warnings; i++)
                fprintf(f, "warning: %s\n", p->warnings[i]);
        fclose(f);
        return buf;
}

void expect_no_actions(const struct pv_plan *p) {
        if (p->n) {
                char *d = dump(p);
                fail_msg("expected no actions, got:\n%s", d);
        }
}

/* -------------------------------------------------------- Proxmox simulator */

static int disk_counter;

/* "local-lvm:64,ssd=1" → "local-lvm:vm-ID-disk-N,ssd=1,size=64G" */
static char *sim_disk(uint32_t vmid, const char *v, bool efi) {
        char storage[64], rest[256] = "";
        double gib = 0;
        const char *colon = strchr(v, ':');
        snprintf(storage, sizeof storage, "%.*s", (int)(colon - v), v);
        gib = strtod(colon + 1, NULL);
        const char *comma = strchr(v, ',');
        if (comma)
                snprintf(rest, sizeof rest, "%s", comma);
        char *out = NULL;
        if (efi)
                assert_true(asprintf(&out, "%s:vm-%" PRIu32 "-disk-%d%s,size=4M", storage, vmid, disk_counter++, rest) > 0);
        else if (gib == (double)(long)gib)
                assert_true(asprintf(&out, "%s:vm-%" PRIu32 "-disk-%d%s,size=%ldG", storage, vmid, disk_counter++, rest,
                                     (long)gib) > 0);
        else
                assert_true(asprintf(&out, "%s:vm-%" PRIu32 "-disk-%d%s,size=%ldM", storage, vmid, disk_counter++, rest,
                                     (long)(gib * 1024)) > 0);
        return out;
}

/* "virtio,bridge=vmbr0" → "virtio=BC:24:11:00:00:NN,bridge=vmbr0" */
static char *sim_net(const char *v) {
        static int mac;
        const char *comma = strchr(v, ',');
        size_t ml = comma ? (size_t)(comma - v) : strlen(v);
        char *out = NULL;
        if (memchr(v, '=', ml))
                return S(v);
        assert_true(asprintf(&out, "%.*s=BC:24:11:00:00:%02X%s", (int)ml, v, ++mac & 0xff, comma ? comma : "") > 0);
        return out;
}

static bool is_disk_key(const char *key) {
        static const char *const pre[] = { "scsi", "virtio", "sata", "ide" };
        for (size_t i = 0; i < 4; i++) {
                size_t n = strlen(pre[i]);
                if (strncmp(key, pre[i], n) == 0 && key[n] >= '0' && key[n] <= '9')
                        return true;
        }
        return false;
}

static void sim_set(struct pv_observed *o, uint32_t vmid, const char *key, const char *value, bool fresh) {
        char *v = NULL;
        if (value && fresh && is_disk_key(key))
                v = sim_disk(vmid, value, false);
        else if (value && fresh && strcmp(key, "efidisk0") == 0)
                v = sim_disk(vmid, value, true);
        else if (value && strncmp(key, "net", 3) == 0 && key[3] >= '0' && key[3] <= '9')
                v = sim_net(value);
        cfg_set(o, vmid, key, v ? v : value);
        free(v);
}

/* Apply a plan as Proxmox would (only what the tests need). Returns the vmid of the last create. */
uint32_t sim_apply(struct pv_observed *o, const struct pv_plan *p, uint32_t *next_vmid) {
        uint32_t *ids = calloc(p->n + 1, sizeof *ids), last = 0;
        static int digest;
        for (size_t i = 0; i < p->n; i++) {
                const struct pv_action *a = &p->actions[i];
                assert_null(a->blocked);
                uint32_t vmid = a->vmid ? a->vmid : (a->depends_on ? ids[a->depends_on - 1] : 0);
                char d[16];
                snprintf(d, sizeof d, "d%d", ++digest);
                switch (a->kind) {
                case PV_ACT_CREATE_VM: {
                        vmid = a->vmid ? a->vmid : (*next_vmid)++;
                        add_vm(o, vmid, a->node, key_after(a, "name"), "stopped", key_after(a, "tags"));
                        add_cfg(o, vmid, a->node);
                        cfg_set(o, vmid, "vmgenid", "8a6b5a34-0000-4000-8000-000000000001");
                        cfg_set(o, vmid, "smbios1", "uuid=8a6b5a34-0000-4000-8000-000000000002");
                        cfg_set(o, vmid, "meta", "creation-qemu=9.2.0,ctime=1700000000");
                        for (size_t k = 0; k < a->n_keys; k++)
                                sim_set(o, vmid, a->keys[k].key, a->keys[k].after, true);
                        last = vmid;
                        break;
                }
                case PV_ACT_UPDATE_VM:
                        for (size_t k = 0; k < a->n_keys; k++)
                                sim_set(o, vmid, a->keys[k].key, a->keys[k].after, a->keys[k].before == NULL);
                        break;
                case PV_ACT_START_VM:
                case PV_ACT_STOP_VM: {
                        struct pv_vm_info *v = find_vm(o, vmid);
                        assert_non_null(v);
                        free(v->status);
                        v->status = S(a->kind == PV_ACT_START_VM ? "running" : "stopped");
                        break;
                }
                case PV_ACT_CREATE_MAPPING:
                case PV_ACT_UPDATE_MAPPING: {
                        const char *id = a->target + strlen("mapping ");
                        struct pv_obs_mapping *m = NULL;
                        for (size_t k = 0; k < o->n_mappings; k++)
                                if (strcmp(o->mappings[k].id, id) == 0)
                                        m = &o->mappings[k];
                        if (!m)
                                m = add_mapping(o, id, NULL, d);
                        const char *desc = key_after(a, "description");
                        if (desc) {
                                free(m->description);
                                m->description = S(desc);
                        }
                        if (find_key(a, "mdev"))
                                m->mdev = strcmp(key_after(a, "mdev"), "1") == 0;
                        if (a->after) {
                                for (size_t k = 0; k < m->n_map; k++)
                                        free(m->map[k]);
                                m->n_map = 0;
                                char *copy = S(a->after), *save = NULL;
                                for (char *t = strtok_r(copy, "\n", &save); t; t = strtok_r(NULL, "\n", &save))
                                        mapping_add_map(m, t);
                                free(copy);
                        }
                        break;
                }
                default:
                        fail_msg("simulator: unexpected action %s", pv_action_kind_to_string(a->kind));
                }
                ids[i] = vmid;
        }
        free(ids);
        return last;
}

/* --------------------------------------------------------------- fixtures */

void ws_setup(struct ws *w) {
        memset(w, 0, sizeof *w);
        root_password(&w->p);
        vm_init(&w->vm, "gpu-ws-1", "pve1");
        w->vm.state = PV_STATE_RUNNING;
        w->vm.machine = PV_MACHINE_Q35;
        w->vm.bios = PV_BIOS_OVMF;
        w->vm.efidisk_storage = (char *)"local-lvm";
        w->vm.cpu_type = (char *)"host";
        w->flags[0] = (char *)"+pcid";
        w->flags[1] = (char *)"-md-clear";
        w->vm.cpu_flags = (struct pv_strv){ w->flags, 2, 3 };
        w->vm.cpu_hidden = true;
        w->vm.cores = 8;
        w->vm.sockets = 1;
        w->vm.memory_mib = 16384;
        w->vm.balloon_mib = 0;
        w->vm.hugepages = (char *)"1024";
        w->vm.numa = 1;
        w->vm.scsihw = (char *)"virtio-scsi-single";
        w->vm.vga = (char *)"none";
        w->vm.ostype = (char *)"win11";
        w->vm.onboot = 1;
        w->tags[0] = (char *)"vdi";
        w->tags[1] = (char *)"gpu";
        w->vm.tags = (struct pv_strv){ w->tags, 2, 3 };
        w->disk = (struct pv_disk){ .bus = PV_BUS_SCSI, .index = -1, .storage = (char *)"local-lvm",
                                    .size_bytes = 64ull << 30, .options = (char *)"ssd=1,discard=on" };
        w->vm.disks = &w->disk;
        w->vm.n_disks = 1;
        w->net = (struct pv_net){ .index = -1, .model = (char *)"virtio", .bridge = (char *)"vmbr0", .vlan = 20,
                                  .firewall = 1 };
        w->vm.nets = &w->net;
        w->vm.n_nets = 1;
        w->pci[0] = pci_mapping("rtx3050");
        w->pci[0].pcie = 1;
        w->pci[0].primary = 1;
        w->audio = A("0000:01:00.1");
        w->pci[1] = pci_raw(&w->audio, 1);
        w->vm.pci = w->pci;
        w->vm.n_pci = 2;
        w->entry_path = A("0000:01:00");
        w->entry = (struct pv_map_entry){ .node = (char *)"pve1", .paths = &w->entry_path, .n_paths = 1 };
        w->map = (struct pv_mapping){ .id = (char *)"rtx3050", .description = (char *)"RTX 3050", .map = &w->entry,
                                      .n_map = 1 };
        w->p.mappings = &w->map;
        w->p.n_mappings = 1;
        w->p.vms = &w->vm;
        w->p.n_vms = 1;
        add_node(&w->o, "pve1", "online");
        size_t h = add_hw(&w->o, "pve1");
        hw_dev(&w->o, h, "0000:01:00.0", "10de:2507", "1028:0a61", 15, false, NULL);
        hw_dev(&w->o, h, "0000:01:00.1", "10de:228e", "1028:0a61", 15, false, NULL);
}

/* Create everything, apply it in the simulator; returns the VM's vmid. */
uint32_t ws_converge(struct ws *w) {
        struct pv_plan p = build(&w->p, &w->o, NULL);
        uint32_t next = 100;
        uint32_t vmid = sim_apply(&w->o, &p, &next);
        pv_plan_done(&p);
        return vmid;
}
