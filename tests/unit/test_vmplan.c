/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for the VM/mapping planner (provision/vmconfig.c, provision/vmplan.c).
 *
 * Profiles are built as plain structs (strings borrowed from literals; the
 * planner never frees them). Observed state is built with the helpers below
 * and freed with pv_observed_done(). sim_apply() plays Proxmox: it applies a
 * plan to the observed state the way the API would store it (generated MAC
 * addresses, allocated disk volumes with size=, extra keys such as vmgenid),
 * so "apply, then plan again" must give zero actions.
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

/* ------------------------------------------------------- observed builders */

static char *S(const char *s) {
        return s ? strdup(s) : NULL;
}

static void add_node(struct pv_observed *o, const char *node, const char *status) {
        o->nodes = realloc(o->nodes, (o->n_nodes + 1) * sizeof *o->nodes);
        o->nodes[o->n_nodes++] = (struct pv_node_info){ S(node), S(status) };
}

static void add_vm(struct pv_observed *o, uint32_t vmid, const char *node, const char *name, const char *status,
                   const char *tags) {
        o->vms = realloc(o->vms, (o->n_vms + 1) * sizeof *o->vms);
        o->vms[o->n_vms++] = (struct pv_vm_info){ .vmid = vmid, .node = S(node), .name = S(name),
                                                  .status = S(status), .tags = S(tags) };
}

static struct pv_vm_info *find_vm(struct pv_observed *o, uint32_t vmid) {
        for (size_t i = 0; i < o->n_vms; i++)
                if (o->vms[i].vmid == vmid)
                        return &o->vms[i];
        return NULL;
}

static struct pv_vm_config *find_cfg(struct pv_observed *o, uint32_t vmid) {
        for (size_t i = 0; i < o->n_configs; i++)
                if (o->configs[i].vmid == vmid)
                        return &o->configs[i];
        return NULL;
}

static struct pv_vm_config *add_cfg(struct pv_observed *o, uint32_t vmid, const char *node) {
        o->configs = realloc(o->configs, (o->n_configs + 1) * sizeof *o->configs);
        o->configs[o->n_configs] = (struct pv_vm_config){ .vmid = vmid, .node = S(node), .digest = S("d0") };
        return &o->configs[o->n_configs++];
}

/* Set (value non-NULL) or remove a config key of vmid. */
static void cfg_set(struct pv_observed *o, uint32_t vmid, const char *key, const char *value) {
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

static size_t add_hw(struct pv_observed *o, const char *node) {
        o->hw = realloc(o->hw, (o->n_hw + 1) * sizeof *o->hw);
        o->hw[o->n_hw] = (struct pv_node_hw){ .node = S(node) };
        return o->n_hw++;
}

static struct pv_pci_addr A(const char *s) {
        struct pv_pci_addr a;
        assert_int_equal(pv_pci_addr_parse(s, &a, NULL), 0);
        return a;
}

static void hw_dev(struct pv_observed *o, size_t h, const char *addr, const char *id, const char *subsys, int group,
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

static void hw_mdev(struct pv_observed *o, size_t h, const char *addr, const char *type, int available) {
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

static struct pv_obs_mapping *add_mapping(struct pv_observed *o, const char *id, const char *desc, const char *digest) {
        o->mappings = realloc(o->mappings, (o->n_mappings + 1) * sizeof *o->mappings);
        o->mappings[o->n_mappings] = (struct pv_obs_mapping){ .id = S(id), .description = S(desc), .digest = S(digest) };
        return &o->mappings[o->n_mappings++];
}

static void mapping_add_map(struct pv_obs_mapping *m, const char *entry) {
        m->map = realloc(m->map, (m->n_map + 1) * sizeof *m->map);
        m->map[m->n_map++] = S(entry);
}

static void mapping_add_check(struct pv_obs_mapping *m, const char *sev, const char *msg) {
        m->checks = realloc(m->checks, (m->n_checks + 1) * sizeof *m->checks);
        m->checks[m->n_checks++] = (struct pv_mapping_check){ .severity = S(sev), .message = S(msg) };
}

static void add_pending(struct pv_observed *o, uint32_t vmid, const char *key, const char *value, const char *pending,
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

static void vm_init(struct pv_vm *vm, const char *name, const char *node) {
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

static struct pv_pcidev pci_mapping(const char *id) {
        struct pv_pcidev d = pci_base();
        d.kind = PV_PCIDEV_MAPPING;
        d.mapping = (char *)id;
        return d;
}

static struct pv_pcidev pci_raw(struct pv_pci_addr *addrs, size_t n) {
        struct pv_pcidev d = pci_base();
        d.kind = PV_PCIDEV_RAW;
        d.addrs = addrs;
        d.n_addrs = n;
        return d;
}

static struct pv_pcidev pci_vf(const char *pf) {
        struct pv_pcidev d = pci_base();
        d.kind = PV_PCIDEV_VF_POOL;
        d.vf_pf = A(pf);
        return d;
}

static void root_password(struct pv_profile *p) {
        p->cluster.present = true;
        p->cluster.auth = PV_AUTH_PASSWORD;
        p->cluster.user = (char *)"root@pam";
}

/* ------------------------------------------------------------ plan helpers */

static struct pv_plan build(const struct pv_profile *p, const struct pv_observed *o, const struct pv_vm_plan_opts *opts) {
        struct pv_plan plan = PV_PLAN_INIT;
        struct pv_error e = PV_ERROR_INIT;
        if (pv_vm_plan_build(p, o, opts, &plan, &e) < 0)
                fail_msg("plan failed: %s", pv_error_message(&e));
        return plan;
}

static size_t count_kind(const struct pv_plan *p, enum pv_action_kind k) {
        size_t n = 0;
        for (size_t i = 0; i < p->n; i++)
                n += p->actions[i].kind == k;
        return n;
}

static const struct pv_action *find_act(const struct pv_plan *p, enum pv_action_kind k, const char *target) {
        for (size_t i = 0; i < p->n; i++)
                if (p->actions[i].kind == k && (!target || strcmp(p->actions[i].target, target) == 0))
                        return &p->actions[i];
        return NULL;
}

static const struct pv_key_change *find_key(const struct pv_action *a, const char *key) {
        for (size_t i = 0; a && i < a->n_keys; i++)
                if (strcmp(a->keys[i].key, key) == 0)
                        return &a->keys[i];
        return NULL;
}

static const char *key_after(const struct pv_action *a, const char *key) {
        const struct pv_key_change *k = find_key(a, key);
        return k ? k->after : NULL;
}

static bool notes_have(char **v, size_t n, const char *part) {
        for (size_t i = 0; i < n; i++)
                if (strstr(v[i], part))
                        return true;
        return false;
}

/* A stable text dump of a plan, for determinism checks and failure messages. */
static char *dump(const struct pv_plan *p) {
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

static void expect_no_actions(const struct pv_plan *p) {
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
static uint32_t sim_apply(struct pv_observed *o, const struct pv_plan *p, uint32_t *next_vmid) {
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

/* The GPU workstation used by several tests. */
struct ws {
        struct pv_profile p;
        struct pv_vm vm;
        struct pv_mapping map;
        struct pv_map_entry entry;
        struct pv_pci_addr entry_path, audio;
        struct pv_pcidev pci[2];
        struct pv_disk disk;
        struct pv_net net;
        char *tags[3];
        char *flags[3];
        struct pv_observed o;
};

static void ws_setup(struct ws *w) {
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
static uint32_t ws_converge(struct ws *w) {
        struct pv_plan p = build(&w->p, &w->o, NULL);
        uint32_t next = 100;
        uint32_t vmid = sim_apply(&w->o, &p, &next);
        pv_plan_done(&p);
        return vmid;
}

/* ------------------------------------------------------------------ tests */

static void test_create_translation(void **state) {
        (void)state;
        struct ws w;
        ws_setup(&w);
        struct pv_plan p = build(&w.p, &w.o, NULL);
        assert_int_equal(p.n, 3);
        assert_int_equal(p.actions[0].kind, PV_ACT_CREATE_MAPPING);
        assert_int_equal(p.actions[1].kind, PV_ACT_CREATE_VM);
        assert_int_equal(p.actions[2].kind, PV_ACT_START_VM);
        const struct pv_action *c = &p.actions[1];
        assert_null(c->blocked);
        assert_int_equal(c->vmid, 0);
        assert_string_equal(c->node, "pve1");
        assert_string_equal(c->target, "vm gpu-ws-1");
        assert_int_equal(c->depends_on, 1);              /* the mapping it uses */
        assert_int_equal(p.actions[2].depends_on, 2);    /* start after create */
        static const char *const want[][2] = {
                { "balloon", "0" },
                { "bios", "ovmf" },
                { "cores", "8" },
                { "cpu", "host,flags=+pcid;-md-clear,hidden=1" },
                { "efidisk0", "local-lvm:1,efitype=4m,pre-enrolled-keys=1" },
                { "hostpci0", "mapping=rtx3050,pcie=1,x-vga=1" },
                { "hostpci1", "0000:01:00.1" },
                { "hugepages", "1024" },
                { "machine", "q35" },
                { "memory", "16384" },
                { "name", "gpu-ws-1" },
                { "net0", "virtio,bridge=vmbr0,firewall=1,tag=20" },
                { "numa", "1" },
                { "onboot", "1" },
                { "ostype", "win11" },
                { "scsi0", "local-lvm:64,ssd=1,discard=on" },
                { "scsihw", "virtio-scsi-single" },
                { "sockets", "1" },
                { "tags", "gpu;pvfio;vdi" },
                { "vga", "none" },
        };
        assert_int_equal(c->n_keys, sizeof want / sizeof *want);
        for (size_t i = 0; i < c->n_keys; i++) {
                assert_string_equal(c->keys[i].key, want[i][0]); /* natural key order */
                assert_string_equal(c->keys[i].after, want[i][1]);
                assert_null(c->keys[i].before);
        }
        /* the mapping is filled from the hardware so Proxmox's check passes */
        const struct pv_action *m = &p.actions[0];
        assert_string_equal(m->target, "mapping rtx3050");
        assert_string_equal(key_after(m, "description"), "RTX 3050 [pvfio]");
        assert_string_equal(key_after(m, "map[0]"), "node=pve1,path=0000:01:00,id=10de:2507,subsystem-id=1028:0a61,iommugroup=15");
        assert_string_equal(m->after, "node=pve1,path=0000:01:00,id=10de:2507,subsystem-id=1028:0a61,iommugroup=15");
        assert_null(find_key(m, "mdev"));
        pv_plan_done(&p);
        pv_observed_done(&w.o);
}

static void test_noop_after_apply(void **state) {
        (void)state;
        struct ws w;
        ws_setup(&w);
        uint32_t vmid = ws_converge(&w);
        assert_int_equal(vmid, 100);
        assert_string_equal(find_vm(&w.o, 100)->status, "running");
        struct pv_plan p = build(&w.p, &w.o, NULL);
        expect_no_actions(&p);
        assert_int_equal(p.n_drift, 0);
        assert_int_equal(p.n_warnings, 0);
        pv_plan_done(&p);
        /* equivalent spellings Proxmox or a human may have written are no change either */
        static const char *const same[][2] = {
                { "hostpci0", "pcie=on,x-vga=yes,mapping=rtx3050,rombar=1" },
                { "hostpci1", "01:00.1,driver=vfio" },
                { "machine", "pc-q35-9.2+pve1" },
                { "tags", "vdi,pvfio gpu" },
                { "memory", "current=16384" },
                { "cpu", "cputype=host,hidden=1,flags=-md-clear;+pcid" },
                { "numa", "true" },
                { "vga", "type=none" },
        };
        for (size_t i = 0; i < sizeof same / sizeof *same; i++) {
                struct pv_vm_config *c = find_cfg(&w.o, vmid);
                char *old = S(pv_vm_config_get(c, same[i][0]));
                cfg_set(&w.o, vmid, same[i][0], same[i][1]);
                p = build(&w.p, &w.o, NULL);
                if (p.n)
                        fail_msg("'%s: %s' gave actions:\n%s", same[i][0], same[i][1], dump(&p));
                pv_plan_done(&p);
                cfg_set(&w.o, vmid, same[i][0], old);
                free(old);
        }
        /* the MAC Proxmox generated is kept, in any case */
        struct pv_vm_config *c = find_cfg(&w.o, vmid);
        char *net = S(pv_vm_config_get(c, "net0"));
        for (char *q = net; *q; q++)
                if (*q >= 'A' && *q <= 'F')
                        *q = (char)(*q - 'A' + 'a');
        cfg_set(&w.o, vmid, "net0", net);
        free(net);
        p = build(&w.p, &w.o, NULL);
        expect_no_actions(&p);
        pv_plan_done(&p);
        pv_observed_done(&w.o);
}

static void test_single_key_drift(void **state) {
        (void)state;
        static const struct {
                const char *key, *observed, *after;
                bool pending;   /* non-hotpluggable on the running VM */
        } cases[] = {
                { "cores", "4", "8", true },
                { "sockets", "2", "1", true },
                { "memory", "8192", "16384", true },
                { "balloon", "1024", "0", false },
                { "hugepages", "2", "1024", true },
                { "numa", "0", "1", true },
                { "scsihw", "lsi", "virtio-scsi-single", true },
                { "vga", "std", "none", true },
                { "ostype", "l26", "win11", true },
                { "onboot", "0", "1", false },
                { "tags", "gpu;pvfio", "gpu;pvfio;vdi", false },
                { "machine", "pc-i440fx-9.2", "q35", true },
                { "bios", "seabios", "ovmf", true },
                { "cpu", "host,flags=+pcid", "host,flags=+pcid;-md-clear,hidden=1", true },
                { "cpu", "x86-64-v2-AES,flags=+pcid;-md-clear,hidden=1", "host,flags=+pcid;-md-clear,hidden=1", true },
                /* MAC = the one Proxmox generated (kept, so the expected value is the original) */
                { "net0", "virtio=MAC,bridge=vmbr1,firewall=1,tag=20", NULL, false },
                { "net0", "virtio=MAC,bridge=vmbr0,tag=20", NULL, false },
                { "net0", "e1000=MAC,bridge=vmbr0,firewall=1,tag=20", NULL, false },
                { "net0", "virtio=MAC,bridge=vmbr0,firewall=1,tag=30", NULL, false },
                { "net0", "virtio=MAC,bridge=vmbr0,firewall=1", NULL, false },
                { "hostpci0", "mapping=rtx3050,pcie=1", "mapping=rtx3050,pcie=1,x-vga=1", true },
                { "hostpci0", "mapping=rtx3060,pcie=1,x-vga=1", "mapping=rtx3050,pcie=1,x-vga=1", true },
                { "hostpci1", "0000:01:00.2", "0000:01:00.1", true },
                { "hostpci1", "0000:01:00", "0000:01:00.1", true },
                { "hostpci1", "0000:01:00.1,rombar=0", "0000:01:00.1", true },
                /* absent on the VM: added back */
                { "cores", NULL, "8", true },
                { "hostpci1", NULL, "0000:01:00.1", true },
                { "tags", NULL, "gpu;pvfio;vdi", false },
        };
        for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
                struct ws w;
                ws_setup(&w);
                uint32_t vmid = ws_converge(&w);
                const char *want_after = cases[i].after;
                char *orig = S(pv_vm_config_get(find_cfg(&w.o, vmid), cases[i].key));
                char *observed = S(cases[i].observed);
                char *mac = observed ? strstr(observed, "MAC") : NULL;
                if (mac) {
                        /* splice in the generated MAC of the original value */
                        const char *om = strchr(orig, '=') + 1;
                        char *v = NULL;
                        assert_true(asprintf(&v, "%.*s%.17s%s", (int)(mac - observed), observed, om, mac + 3) > 0);
                        free(observed);
                        observed = v;
                }
                cfg_set(&w.o, vmid, cases[i].key, observed);
                if (strcmp(cases[i].key, "tags") == 0 && !cases[i].observed) {
                        /* without any tag the VM is unmanaged: keep the marker on the listing */
                        struct pv_vm_info *v = find_vm(&w.o, vmid);
                        free(v->tags);
                        v->tags = S("pvfio");
                }
                struct pv_plan p = build(&w.p, &w.o, NULL);
                char *d = dump(&p);
                if (p.n != 1 || p.actions[0].kind != PV_ACT_UPDATE_VM || p.actions[0].n_keys != 1)
                        fail_msg("case %zu (%s): expected one update with one key, got:\n%s", i, cases[i].key, d);
                const struct pv_action *a = &p.actions[0];
                const struct pv_key_change *k = &a->keys[0];
                assert_string_equal(k->key, cases[i].key);
                if (observed)
                        assert_string_equal(k->before, observed);
                else
                        assert_null(k->before);
                assert_string_equal(k->after, want_after ? want_after : orig);
                if (k->pending_until_restart != cases[i].pending)
                        fail_msg("case %zu (%s): pending %d\n%s", i, cases[i].key, k->pending_until_restart, d);
                assert_int_equal(a->pending_until_restart, cases[i].pending);
                assert_string_equal(a->digest, find_cfg(&w.o, vmid)->digest);
                assert_int_equal(a->vmid, vmid);
                assert_null(a->blocked);
                free(d);
                free(orig);
                free(observed);
                pv_plan_done(&p);
                pv_observed_done(&w.o);
        }
}

static void test_disks_never_recreated(void **state) {
        (void)state;
        struct ws w;
        ws_setup(&w);
        uint32_t vmid = ws_converge(&w);
        /* a size difference is drift, never an action */
        cfg_set(&w.o, vmid, "scsi0", "local-lvm:vm-100-disk-1,ssd=1,discard=on,size=32G");
        struct pv_plan p = build(&w.p, &w.o, NULL);
        expect_no_actions(&p);
        assert_true(notes_have(p.drift, p.n_drift, "scsi0 is 32G, the profile says 64G; pvfio never resizes disks"));
        pv_plan_done(&p);
        /* another storage: drift */
        cfg_set(&w.o, vmid, "scsi0", "local-zfs:vm-100-disk-1,size=64G");
        p = build(&w.p, &w.o, NULL);
        expect_no_actions(&p);
        assert_true(notes_have(p.drift, p.n_drift, "profile wants storage 'local-lvm'"));
        pv_plan_done(&p);
        /* gone: added (a new volume), never deleted when dropped from the profile */
        cfg_set(&w.o, vmid, "scsi0", NULL);
        cfg_set(&w.o, vmid, "scsi1", "local-lvm:vm-100-disk-9,size=8G");
        p = build(&w.p, &w.o, NULL);
        assert_int_equal(p.n, 1);
        assert_int_equal(p.actions[0].n_keys, 1);
        assert_string_equal(p.actions[0].keys[0].key, "scsi0");
        assert_string_equal(p.actions[0].keys[0].after, "local-lvm:64,ssd=1,discard=on");
        assert_false(p.actions[0].keys[0].pending_until_restart); /* scsi is hot-plugged */
        pv_plan_done(&p);
        /* efidisk0 differences are drift */
        cfg_set(&w.o, vmid, "scsi0", "local-lvm:vm-100-disk-1,size=64G");
        cfg_set(&w.o, vmid, "efidisk0", "local-lvm:vm-100-disk-0,efitype=2m,size=128K");
        p = build(&w.p, &w.o, NULL);
        expect_no_actions(&p);
        assert_true(notes_have(p.drift, p.n_drift, "efidisk0 uses efitype 2m"));
        assert_true(notes_have(p.drift, p.n_drift, "pre-enrolled-keys=0"));
        pv_plan_done(&p);
        pv_observed_done(&w.o);
}

static void test_unmanaged_untouched(void **state) {
        (void)state;
        struct ws w;
        ws_setup(&w);
        uint32_t vmid = ws_converge(&w);
        /* strip the management tag: the same-named VM is no longer ours */
        cfg_set(&w.o, vmid, "tags", "gpu;vdi");
        add_vm(&w.o, 300, "pve1", "someone-elses", "running", NULL);
        add_cfg(&w.o, 300, "pve1");
        cfg_set(&w.o, 300, "hostpci0", "0000:05:00.0");
        struct pv_vm_plan_opts opts = { .prune = true };
        struct pv_plan p = build(&w.p, &w.o, &opts);
        for (size_t i = 0; i < p.n; i++)
                if (!p.actions[i].blocked)
                        fail_msg("unblocked action on an unmanaged VM:\n%s", dump(&p));
        const struct pv_action *u = find_act(&p, PV_ACT_UPDATE_VM, "vm gpu-ws-1");
        assert_non_null(u);
        assert_non_null(strstr(u->blocked, "is not managed by pvfio (no 'pvfio' tag)"));
        assert_non_null(strstr(u->blocked, "--adopt"));
        assert_string_equal(key_after(u, "tags"), "gpu;pvfio;vdi"); /* shows what adopting would do */
        assert_null(find_act(&p, PV_ACT_DELETE_VM, NULL));          /* prune never touches vm 300 */
        pv_plan_done(&p);
        /* adopting it: one unblocked update that adds the tag */
        opts.adopt = true;
        p = build(&w.p, &w.o, &opts);
        assert_int_equal(p.n, 1);
        assert_null(p.actions[0].blocked);
        assert_int_equal(p.actions[0].n_keys, 1);
        assert_string_equal(p.actions[0].keys[0].key, "tags");
        pv_plan_done(&p);
        pv_observed_done(&w.o);
}

static void test_dropped_keys(void **state) {
        (void)state;
        struct ws w;
        ws_setup(&w);
        w.vm.numa = -1;          /* the profile no longer sets numa */
        w.vm.sockets = 0;        /* nor sockets */
        uint32_t vmid = ws_converge(&w);
        cfg_set(&w.o, vmid, "numa", "1");                 /* managed, dropped → delete */
        cfg_set(&w.o, vmid, "sockets", "1");              /* managed but at Proxmox's default → left */
        cfg_set(&w.o, vmid, "hostpci3", "0000:05:00.0");  /* managed → delete */
        cfg_set(&w.o, vmid, "net1", "virtio=BC:24:11:00:00:99,bridge=vmbr9"); /* managed → delete */
        cfg_set(&w.o, vmid, "scsi1", "local-lvm:vm-100-disk-7,size=8G"); /* disk: never deleted */
        cfg_set(&w.o, vmid, "hookscript", "local:snippets/x.pl");     /* not pvfio's */
        cfg_set(&w.o, vmid, "description", "hand-written notes");     /* not pvfio's */
        struct pv_plan p = build(&w.p, &w.o, NULL);
        char *d = dump(&p);
        if (p.n != 1)
                fail_msg("%s", d);
        const struct pv_action *u = &p.actions[0];
        assert_int_equal(u->n_keys, 3);
        assert_string_equal(u->keys[0].key, "hostpci3");
        assert_string_equal(u->keys[1].key, "net1");
        assert_string_equal(u->keys[2].key, "numa");
        for (size_t i = 0; i < 3; i++) {
                assert_null(u->keys[i].after);
                assert_non_null(u->keys[i].before);
        }
        assert_string_equal(u->keys[0].before, "0000:05:00.0");
        free(d);
        pv_plan_done(&p);
        /* the same VM without the tag: nothing is deleted */
        cfg_set(&w.o, vmid, "tags", "gpu;vdi");
        p = build(&w.p, &w.o, NULL);
        for (size_t i = 0; i < p.n; i++)
                assert_non_null(p.actions[i].blocked);
        pv_plan_done(&p);
        assert_true(pv_vmconfig_key_deletable("hostpci15"));
        assert_false(pv_vmconfig_key_deletable("hostpci16"));
        assert_false(pv_vmconfig_key_deletable("scsi0"));
        assert_false(pv_vmconfig_key_deletable("efidisk0"));
        assert_false(pv_vmconfig_key_deletable("name"));
        assert_false(pv_vmconfig_key_deletable("hookscript"));
        assert_false(pv_vmconfig_key_managed("net01"));
        assert_true(pv_vmconfig_key_managed("net31"));
        pv_observed_done(&w.o);
}

static void test_pending_on_running_vm(void **state) {
        (void)state;
        struct ws w;
        ws_setup(&w);
        uint32_t vmid = ws_converge(&w);
        cfg_set(&w.o, vmid, "hostpci1", "0000:01:00.2");
        cfg_set(&w.o, vmid, "onboot", "0");
        struct pv_plan p = build(&w.p, &w.o, NULL);
        assert_int_equal(p.n, 1);
        const struct pv_action *u = &p.actions[0];
        assert_true(u->pending_until_restart);
        assert_true(find_key(u, "hostpci1")->pending_until_restart);
        assert_false(find_key(u, "onboot")->pending_until_restart);
        pv_plan_done(&p);
        /* --restart: a restart after the update */
        struct pv_vm_plan_opts opts = { .restart = true };
        p = build(&w.p, &w.o, &opts);
        assert_int_equal(p.n, 2);
        assert_int_equal(p.actions[1].kind, PV_ACT_RESTART_VM);
        assert_int_equal(p.actions[1].depends_on, 1);
        assert_int_equal(p.actions[1].vmid, vmid);
        assert_non_null(strstr(p.actions[1].reason, "hostpci1"));
        pv_plan_done(&p);
        /* only hot-pluggable keys changed: no restart even when asked */
        cfg_set(&w.o, vmid, "hostpci1", "0000:01:00.1");
        p = build(&w.p, &w.o, &opts);
        assert_int_equal(p.n, 1);
        assert_false(p.actions[0].pending_until_restart);
        pv_plan_done(&p);
        /* state: stopped on a running VM: stop first, then update, nothing pending */
        cfg_set(&w.o, vmid, "hostpci1", "0000:01:00.2");
        w.vm.state = PV_STATE_STOPPED;
        p = build(&w.p, &w.o, &opts);
        assert_int_equal(p.n, 2);
        assert_int_equal(p.actions[0].kind, PV_ACT_STOP_VM);
        assert_int_equal(p.actions[1].kind, PV_ACT_UPDATE_VM);
        assert_int_equal(p.actions[1].depends_on, 1);
        assert_false(p.actions[1].pending_until_restart);
        pv_plan_done(&p);
        /* state: running on a stopped VM with changes: update, then start */
        w.vm.state = PV_STATE_RUNNING;
        free(find_vm(&w.o, vmid)->status);
        find_vm(&w.o, vmid)->status = S("stopped");
        p = build(&w.p, &w.o, NULL);
        assert_int_equal(p.n, 2);
        assert_int_equal(p.actions[0].kind, PV_ACT_UPDATE_VM);
        assert_false(p.actions[0].pending_until_restart);
        assert_int_equal(p.actions[1].kind, PV_ACT_START_VM);
        assert_int_equal(p.actions[1].depends_on, 1);
        pv_plan_done(&p);
        pv_observed_done(&w.o);
}

static void test_pending_already_sent(void **state) {
        (void)state;
        struct ws w;
        ws_setup(&w);
        uint32_t vmid = ws_converge(&w);
        /* the config (pending merged) already holds the desired value; /pending shows it waiting */
        add_pending(&w.o, vmid, "hostpci1", "0000:01:00.2", "0000:01:00.1", 0);
        add_pending(&w.o, vmid, "cores", "8", NULL, 0);
        struct pv_plan p = build(&w.p, &w.o, NULL);
        expect_no_actions(&p);
        assert_int_equal(p.n_drift, 1);
        assert_non_null(strstr(p.drift[0], "hostpci1 already changed, pending until the VM is restarted"));
        pv_plan_done(&p);
        struct pv_vm_plan_opts opts = { .restart = true };
        p = build(&w.p, &w.o, &opts);
        assert_int_equal(p.n, 1);
        assert_int_equal(p.actions[0].kind, PV_ACT_RESTART_VM);
        assert_int_equal(p.actions[0].depends_on, 0);
        pv_plan_done(&p);
        /* a pending value that is not the desired one is re-sent */
        pv_observed_done(&w.o);
        ws_setup(&w);
        vmid = ws_converge(&w);
        cfg_set(&w.o, vmid, "hostpci1", "0000:01:00.3");
        add_pending(&w.o, vmid, "hostpci1", "0000:01:00.1", "0000:01:00.3", 0);
        p = build(&w.p, &w.o, NULL);
        assert_int_equal(p.n, 1);
        assert_string_equal(p.actions[0].keys[0].after, "0000:01:00.1");
        assert_int_equal(p.n_drift, 0);
        pv_plan_done(&p);
        pv_observed_done(&w.o);
}

/* Node with PF 03:00.0 and VFs 03:00.1-.4; vmid 200 (not in the profile) uses .1. */
static void vf_fixture(struct pv_observed *o) {
        add_node(o, "pve1", "online");
        size_t h = add_hw(o, "pve1");
        hw_dev(o, h, "0000:03:00.0", "8086:56c0", NULL, 20, false, NULL);
        for (int f = 1; f <= 4; f++) {
                char a[16];
                snprintf(a, sizeof a, "0000:03:00.%d", f);
                hw_dev(o, h, a, "8086:56c1", NULL, 20 + f, false, "0000:03:00.0");
        }
        add_vm(o, 200, "pve1", "other", "running", NULL);
        add_cfg(o, 200, "pve1");
        cfg_set(o, 200, "hostpci0", "0000:03:00.1,pcie=1");
}

static void test_vf_pool(void **state) {
        (void)state;
        struct pv_profile prof = { 0 };
        struct pv_vm vms[3];
        struct pv_pcidev pci[3];
        root_password(&prof);
        const char *names[] = { "vf-b", "vf-a", "vf-c" }; /* profile order is not plan order */
        for (int i = 0; i < 3; i++) {
                vm_init(&vms[i], names[i], "pve1");
                pci[i] = pci_vf("0000:03:00.0");
                vms[i].pci = &pci[i];
                vms[i].n_pci = 1;
        }
        prof.vms = vms;
        prof.n_vms = 2;
        struct pv_observed o = { 0 };
        vf_fixture(&o);
        struct pv_plan p = build(&prof, &o, NULL);
        assert_int_equal(count_kind(&p, PV_ACT_CREATE_VM), 2);
        const struct pv_action *a = find_act(&p, PV_ACT_CREATE_VM, "vm vf-a"), *b = find_act(&p, PV_ACT_CREATE_VM, "vm vf-b");
        assert_non_null(a);
        assert_non_null(b);
        assert_true(a < b); /* sorted by name */
        assert_string_equal(key_after(a, "hostpci0"), "0000:03:00.2"); /* .1 is used by vmid 200 */
        assert_string_equal(key_after(b, "hostpci0"), "0000:03:00.3"); /* not the one vf-a got */
        uint32_t next = 100;
        sim_apply(&o, &p, &next);
        pv_plan_done(&p);
        /* stable across re-plans, also with a new VM sorted before them */
        prof.n_vms = 3;
        p = build(&prof, &o, NULL);
        assert_int_equal(p.n, 1);
        assert_string_equal(key_after(find_act(&p, PV_ACT_CREATE_VM, "vm vf-c"), "hostpci0"), "0000:03:00.4");
        sim_apply(&o, &p, &next);
        pv_plan_done(&p);
        p = build(&prof, &o, NULL);
        expect_no_actions(&p);
        pv_plan_done(&p);
        /* a VM keeps the VF it has even when a lower one is free */
        cfg_set(&o, 200, "hostpci0", NULL);
        p = build(&prof, &o, NULL);
        expect_no_actions(&p);
        pv_plan_done(&p);
        /* pool exhausted: a fourth VM is blocked, with the reason */
        cfg_set(&o, 200, "hostpci0", "0000:03:00.1");
        struct pv_vm more[4];
        struct pv_pcidev mp;
        memcpy(more, vms, sizeof vms);
        vm_init(&more[3], "vf-d", "pve1");
        mp = pci_vf("0000:03:00.0");
        more[3].pci = &mp;
        more[3].n_pci = 1;
        prof.vms = more;
        prof.n_vms = 4;
        p = build(&prof, &o, NULL);
        assert_int_equal(p.n, 1);
        assert_non_null(p.actions[0].blocked);
        assert_non_null(strstr(p.actions[0].blocked, "all 4 VFs of 0000:03:00.0 on 'pve1' are used by other VMs"));
        pv_plan_done(&p);
        /* two running VMs on one raw device: warned (Proxmox starts only one) */
        struct pv_pci_addr gpu = A("0000:81:00");
        struct pv_pcidev r1 = pci_raw(&gpu, 1), r2 = pci_raw(&gpu, 1);
        struct pv_vm two[2];
        vm_init(&two[0], "x1", "pve1");
        vm_init(&two[1], "x2", "pve1");
        two[0].pci = &r1;
        two[1].pci = &r2;
        two[0].n_pci = two[1].n_pci = 1;
        two[0].state = two[1].state = PV_STATE_RUNNING;
        struct pv_profile pp = { 0 };
        root_password(&pp);
        pp.vms = two;
        pp.n_vms = 2;
        struct pv_plan pw = build(&pp, &o, NULL);
        assert_true(notes_have(pw.warnings, pw.n_warnings, "vms 'x1' and 'x2' both pass 0000:81:00 on 'pve1'"));
        pv_plan_done(&pw);
        two[1].state = PV_STATE_STOPPED;
        pw = build(&pp, &o, NULL);
        assert_false(notes_have(pw.warnings, pw.n_warnings, "both pass"));
        pv_plan_done(&pw);
        /* a PF without VFs */
        mp = pci_vf("0000:03:00.1");
        p = build(&prof, &o, NULL);
        assert_non_null(strstr(p.actions[0].blocked, "has no SR-IOV virtual functions"));
        pv_plan_done(&p);
        pv_observed_done(&o);
}

static void test_mdev(void **state) {
        (void)state;
        struct pv_profile prof = { 0 };
        struct pv_vm vms[2];
        struct pv_pcidev pci[2];
        struct pv_pci_addr igd = A("0000:00:02.0");
        root_password(&prof);
        const char *names[] = { "gvt-1", "gvt-2" };
        for (int i = 0; i < 2; i++) {
                vm_init(&vms[i], names[i], "pve1");
                pci[i] = pci_raw(&igd, 1);
                pci[i].mdev = (char *)"i915-GVTg_V5_4";
                vms[i].pci = &pci[i];
                vms[i].n_pci = 1;
        }
        prof.vms = vms;
        prof.n_vms = 2;
        struct pv_observed o = { 0 };
        size_t h = add_hw(&o, "pve1");
        hw_dev(&o, h, "0000:00:02.0", "8086:3e92", "1028:0a61", 0, true, NULL);
        hw_mdev(&o, h, "0000:00:02.0", "i915-GVTg_V5_8", 2);
        hw_mdev(&o, h, "0000:00:02.0", "i915-GVTg_V5_4", 1);
        struct pv_plan p = build(&prof, &o, NULL);
        const struct pv_action *a = find_act(&p, PV_ACT_CREATE_VM, "vm gvt-1"), *b = find_act(&p, PV_ACT_CREATE_VM, "vm gvt-2");
        assert_null(a->blocked);
        assert_string_equal(key_after(a, "hostpci0"), "0000:00:02.0,mdev=i915-GVTg_V5_4");
        assert_non_null(b->blocked); /* the only instance went to gvt-1 */
        assert_non_null(strstr(b->blocked, "no instance of mdev type 'i915-GVTg_V5_4' is free"));
        pv_plan_done(&p);
        /* gvt-1 exists, holds the instance (available now 0): no block, no action */
        prof.n_vms = 1;
        p = build(&prof, &o, NULL);
        uint32_t next = 100;
        sim_apply(&o, &p, &next);
        pv_plan_done(&p);
        o.hw[0].mdev[0].types[1].available = 0;
        p = build(&prof, &o, NULL);
        expect_no_actions(&p);
        pv_plan_done(&p);
        /* a type the device does not offer: blocked, naming what it offers */
        pci[0].mdev = (char *)"i915-GVTg_V5_1";
        p = build(&prof, &o, NULL);
        assert_int_equal(p.n, 1);
        assert_non_null(strstr(p.actions[0].blocked, "mdev type 'i915-GVTg_V5_1' is not offered by 0000:00:02.0 on 'pve1' (offered: 'i915-GVTg_V5_8', 'i915-GVTg_V5_4')"));
        pv_plan_done(&p);
        /* unknown availability (-1): not blocked, but said */
        pci[0].mdev = (char *)"i915-GVTg_V5_4";
        cfg_set(&o, 100, "hostpci0", NULL);
        o.hw[0].mdev[0].types[1].available = -1;
        p = build(&prof, &o, NULL);
        assert_int_equal(p.n, 1);
        assert_null(p.actions[0].blocked);
        assert_true(notes_have(p.warnings, p.n_warnings, "free instances of mdev type 'i915-GVTg_V5_4'"));
        pv_plan_done(&p);
        pv_observed_done(&o);

        /* NVIDIA vGPU on a VF pool: nvidia-NNN must be creatable on the chosen VF */
        struct pv_observed n = { 0 };
        h = add_hw(&n, "pve1");
        hw_dev(&n, h, "0000:41:00.0", "10de:27b8", NULL, 40, true, NULL);
        hw_dev(&n, h, "0000:41:00.4", "10de:27b8", NULL, 41, true, "0000:41:00.0");
        hw_dev(&n, h, "0000:41:00.5", "10de:27b8", NULL, 42, true, "0000:41:00.0");
        hw_mdev(&n, h, "0000:41:00.4", "nvidia-660", 0);   /* busy */
        hw_mdev(&n, h, "0000:41:00.5", "nvidia-660", 1);
        struct pv_vm v;
        struct pv_pcidev vp = pci_vf("0000:41:00.0");
        vp.mdev = (char *)"nvidia-660";
        vm_init(&v, "l4-vm", "pve1");
        v.pci = &vp;
        v.n_pci = 1;
        prof.vms = &v;
        prof.n_vms = 1;
        p = build(&prof, &n, NULL);
        assert_null(p.actions[0].blocked);
        assert_string_equal(key_after(&p.actions[0], "hostpci0"), "0000:41:00.5,mdev=nvidia-660");
        pv_plan_done(&p);
        vp.mdev = (char *)"nvidia-999";
        p = build(&prof, &n, NULL);
        assert_non_null(strstr(p.actions[0].blocked, "offers mdev type 'nvidia-999'"));
        pv_plan_done(&p);
        pv_observed_done(&n);
}

static void test_mapping_fill_digest_checks(void **state) {
        (void)state;
        struct ws w;
        ws_setup(&w);
        ws_converge(&w);
        struct pv_obs_mapping *m = &w.o.mappings[0];
        assert_string_equal(m->description, "RTX 3050 [pvfio]");
        struct pv_plan p = build(&w.p, &w.o, NULL);
        expect_no_actions(&p);
        pv_plan_done(&p);
        /* equivalent spelling of the stored entry: no change */
        free(m->map[0]);
        m->map[0] = S("iommugroup=15,id=10DE:2507,subsystem-id=1028:0A61,path=0000:01:00,node=pve1");
        p = build(&w.p, &w.o, NULL);
        expect_no_actions(&p);
        pv_plan_done(&p);
        /* hand-made entry without iommugroup/subsystem-id: update with digest; Proxmox's checks are drift */
        free(m->map[0]);
        m->map[0] = S("node=pve1,path=0000:01:00,id=10de:2507");
        free(m->digest);
        m->digest = S("abc123");
        mapping_add_check(m, "error", "missing expected property 'subsystem-id' for device '0000:01:00.0'");
        p = build(&w.p, &w.o, NULL);
        assert_int_equal(p.n, 1);
        const struct pv_action *u = &p.actions[0];
        assert_int_equal(u->kind, PV_ACT_UPDATE_MAPPING);
        assert_string_equal(u->digest, "abc123");
        assert_int_equal(u->n_keys, 1);
        assert_string_equal(u->keys[0].key, "map[0]");
        assert_string_equal(u->keys[0].before, "node=pve1,path=0000:01:00,id=10de:2507");
        assert_string_equal(u->keys[0].after, "node=pve1,path=0000:01:00,id=10de:2507,subsystem-id=1028:0a61,iommugroup=15");
        assert_string_equal(u->after, u->keys[0].after);
        assert_true(notes_have(p.drift, p.n_drift, "mapping 'rtx3050': error: missing expected property 'subsystem-id'"));
        pv_plan_done(&p);
        /* description and flags */
        w.map.mdev = true;
        w.map.description = NULL;
        p = build(&w.p, &w.o, NULL);
        u = &p.actions[0];
        assert_string_equal(key_after(u, "description"), "[pvfio]");
        assert_string_equal(key_after(u, "mdev"), "1");
        assert_true(notes_have(p.warnings, p.n_warnings, "is not mdev-capable but the mapping says mdev: true"));
        pv_plan_done(&p);
        /* the id the profile pins differs from the hardware: drift, the profile's value is kept */
        w.map.mdev = false;
        w.map.description = (char *)"RTX 3050";
        w.entry.has_id = true;
        w.entry.id = (struct pv_pci_id){ 0x10de, 0x2236 };
        p = build(&w.p, &w.o, NULL);
        assert_true(notes_have(p.drift, p.n_drift, "0000:01:00 on 'pve1' is 10de:2507, the profile expects 10de:2236"));
        assert_non_null(strstr(key_after(&p.actions[0], "map[0]"), "id=10de:2236"));
        pv_plan_done(&p);
        /* an existing mapping pvfio did not create: left alone unless adopted */
        w.entry.has_id = false;
        free(m->description);
        m->description = S("made by hand");
        p = build(&w.p, &w.o, NULL);
        assert_int_equal(p.n, 1);
        assert_non_null(strstr(p.actions[0].blocked, "pvfio did not create it"));
        pv_plan_done(&p);
        struct pv_vm_plan_opts adopt = { .adopt = true };
        p = build(&w.p, &w.o, &adopt);
        assert_null(p.actions[0].blocked);
        pv_plan_done(&p);
        pv_observed_done(&w.o);
}

static void test_mapping_missing_device(void **state) {
        (void)state;
        struct ws w;
        ws_setup(&w);
        w.entry_path = A("0000:02:00.0");
        struct pv_plan p = build(&w.p, &w.o, NULL);
        const struct pv_action *m = find_act(&p, PV_ACT_CREATE_MAPPING, NULL);
        assert_non_null(m->blocked);
        assert_non_null(strstr(m->blocked, "device 0000:02:00.0 is not present on node 'pve1'"));
        /* the VM that needs it is blocked with it, and so is its start */
        const struct pv_action *c = find_act(&p, PV_ACT_CREATE_VM, NULL);
        assert_int_equal(c->depends_on, 1);
        assert_string_equal(c->blocked, m->blocked);
        assert_non_null(find_act(&p, PV_ACT_START_VM, NULL)->blocked);
        pv_plan_done(&p);
        /* hardware of the node not observed: cannot fill the id */
        w.entry.node = (char *)"pve9";
        p = build(&w.p, &w.o, NULL);
        assert_non_null(strstr(find_act(&p, PV_ACT_CREATE_MAPPING, NULL)->blocked, "hardware of node 'pve9' was not observed"));
        pv_plan_done(&p);
        pv_observed_done(&w.o);
}

static void test_prune(void **state) {
        (void)state;
        struct ws w;
        ws_setup(&w);
        ws_converge(&w);
        add_vm(&w.o, 150, "pve1", "old-vm", "running", "pvfio");
        add_cfg(&w.o, 150, "pve1");
        cfg_set(&w.o, 150, "tags", "pvfio");
        add_vm(&w.o, 151, "pve1", "not-ours", "stopped", "gpu");
        add_cfg(&w.o, 151, "pve1");
        add_mapping(&w.o, "oldmap", "old [pvfio]", "d9");
        add_mapping(&w.o, "handmade", "by hand", "d8");
        struct pv_plan p = build(&w.p, &w.o, NULL);
        expect_no_actions(&p);
        assert_true(notes_have(p.drift, p.n_drift, "vm 'old-vm' (150) is managed by pvfio but no longer in the profile; --prune removes it"));
        assert_true(notes_have(p.drift, p.n_drift, "mapping 'oldmap' is managed by pvfio"));
        assert_false(notes_have(p.drift, p.n_drift, "not-ours"));
        assert_false(notes_have(p.drift, p.n_drift, "handmade"));
        pv_plan_done(&p);
        struct pv_vm_plan_opts opts = { .prune = true };
        p = build(&w.p, &w.o, &opts);
        char *d = dump(&p);
        if (p.n != 3)
                fail_msg("%s", d);
        assert_int_equal(p.actions[0].kind, PV_ACT_STOP_VM);
        assert_int_equal(p.actions[0].vmid, 150);
        assert_int_equal(p.actions[1].kind, PV_ACT_DELETE_VM);
        assert_int_equal(p.actions[1].vmid, 150);
        assert_int_equal(p.actions[1].depends_on, 1);
        assert_int_equal(p.actions[2].kind, PV_ACT_DELETE_MAPPING);
        assert_string_equal(p.actions[2].target, "mapping oldmap");
        assert_null(p.actions[2].blocked);
        free(d);
        pv_plan_done(&p);
        /* a pruned mapping still used by a VM outside the profile is blocked */
        cfg_set(&w.o, 151, "hostpci0", "mapping=oldmap");
        p = build(&w.p, &w.o, &opts);
        const struct pv_action *dm = find_act(&p, PV_ACT_DELETE_MAPPING, NULL);
        assert_non_null(dm->blocked);
        assert_non_null(strstr(dm->blocked, "still used by vmid 151"));
        pv_plan_done(&p);
        /* state: absent deletes a managed VM; an unmanaged one is only warned about */
        w.vm.state = PV_STATE_ABSENT;
        p = build(&w.p, &w.o, NULL);
        assert_non_null(find_act(&p, PV_ACT_STOP_VM, "vm gpu-ws-1"));
        assert_non_null(find_act(&p, PV_ACT_DELETE_VM, "vm gpu-ws-1"));
        assert_null(find_act(&p, PV_ACT_CREATE_VM, NULL));
        pv_plan_done(&p);
        cfg_set(&w.o, 100, "tags", "gpu");
        p = build(&w.p, &w.o, NULL);
        assert_null(find_act(&p, PV_ACT_DELETE_VM, NULL));
        assert_true(notes_have(p.warnings, p.n_warnings, "has state: absent but is not managed by pvfio"));
        pv_plan_done(&p);
        pv_observed_done(&w.o);
}

static void test_token_and_raw(void **state) {
        (void)state;
        struct ws w;
        ws_setup(&w);
        w.p.cluster.auth = PV_AUTH_TOKEN;
        w.p.cluster.token_id = (char *)"pvfio@pve!automation";
        w.p.cluster.user = NULL;
        struct pv_plan p = build(&w.p, &w.o, NULL);
        const struct pv_action *c = find_act(&p, PV_ACT_CREATE_VM, NULL);
        assert_non_null(c->blocked);
        assert_non_null(strstr(c->blocked, "hostpci1 uses the raw PCI device 0000:01:00.1"));
        assert_non_null(strstr(c->blocked, "root@pam"));
        assert_non_null(strstr(c->blocked, "only root can set 'hostpci1' config for non-mapped devices"));
        assert_non_null(strstr(c->blocked, "mappings: [{id: ID, map: [{node: pve1, path: 0000:01:00.1}]}]"));
        assert_non_null(strstr(c->blocked, "pvfio@pve!automation"));
        assert_null(strstr(c->blocked, "hostpci0")); /* the mapped device is fine */
        assert_null(find_act(&p, PV_ACT_CREATE_MAPPING, NULL)->blocked);
        pv_plan_done(&p);
        /* mapped devices only: fine with a token */
        w.vm.n_pci = 1;
        p = build(&w.p, &w.o, NULL);
        assert_null(find_act(&p, PV_ACT_CREATE_VM, NULL)->blocked);
        pv_plan_done(&p);
        /* romfile is root@pam-only too */
        w.pci[0].romfile = (char *)"vbios.rom";
        p = build(&w.p, &w.o, NULL);
        assert_non_null(strstr(find_act(&p, PV_ACT_CREATE_VM, NULL)->blocked, "sets romfile 'vbios.rom'"));
        pv_plan_done(&p);
        w.pci[0].romfile = NULL;
        /* changing away from a raw device needs root@pam as well (Proxmox checks the old value) */
        w.p.cluster.auth = PV_AUTH_PASSWORD;
        w.p.cluster.user = (char *)"root@pam";
        w.vm.n_pci = 2;
        uint32_t vmid = ws_converge(&w);
        w.p.cluster.auth = PV_AUTH_TOKEN;
        w.vm.n_pci = 1;
        p = build(&w.p, &w.o, NULL);
        assert_int_equal(p.n, 1);
        assert_non_null(find_key(&p.actions[0], "hostpci1"));
        assert_non_null(strstr(p.actions[0].blocked, "hostpci1 uses the raw PCI device"));
        pv_plan_done(&p);
        /* another password user is refused too */
        w.p.cluster.auth = PV_AUTH_PASSWORD;
        w.p.cluster.user = (char *)"admin@pve";
        p = build(&w.p, &w.o, NULL);
        assert_non_null(strstr(p.actions[0].blocked, "admin@pve"));
        pv_plan_done(&p);
        (void)vmid;
        pv_observed_done(&w.o);
}

static void test_host_readiness(void **state) {
        (void)state;
        struct ws w;
        ws_setup(&w);
        struct pv_device_not_ready facts[] = {
                { A("0000:01:00.1"), PV_NOT_READY_BINDING, "bound to 'snd_hda_intel', not vfio-pci" },
        };
        struct pv_node_readiness rd = { .node = "pve1", .devs = facts, .n_devs = 1 };
        struct pv_vm_plan_opts opts = { .readiness = &rd, .n_readiness = 1 };
        struct pv_plan p = build(&w.p, &w.o, &opts);
        const struct pv_action *c = find_act(&p, PV_ACT_CREATE_VM, NULL);
        assert_non_null(c->blocked);
        assert_non_null(strstr(c->blocked, "hostpci1: device 0000:01:00.1 on 'pve1' is not ready: bound to 'snd_hda_intel', not vfio-pci"));
        /* the mapping covers the whole slot 01:00 (incl. .1): not ready either */
        assert_non_null(strstr(c->blocked, "hostpci0: device 0000:01:00 of mapping 'rtx3050'"));
        assert_non_null(find_act(&p, PV_ACT_START_VM, NULL)->blocked);
        assert_null(find_act(&p, PV_ACT_CREATE_MAPPING, NULL)->blocked);
        pv_plan_done(&p);
        /* a fact on another node does not matter */
        rd.node = "pve2";
        p = build(&w.p, &w.o, &opts);
        assert_null(find_act(&p, PV_ACT_CREATE_VM, NULL)->blocked);
        pv_plan_done(&p);
        /* binding facts do not apply to driver=keep, other kinds do */
        rd.node = "pve1";
        w.vm.n_pci = 2;
        w.pci[1].driver = PV_DRIVER_KEEP;
        w.pci[0] = pci_mapping("rtx3050");
        w.entry_path = A("0000:01:00.0");
        p = build(&w.p, &w.o, &opts);
        assert_null(find_act(&p, PV_ACT_CREATE_VM, NULL)->blocked);
        pv_plan_done(&p);
        facts[0].kind = PV_NOT_READY_GROUP;
        facts[0].reason = "IOMMU group 15 also holds 0000:00:1f.3 (bound to 'snd_hda_intel')";
        p = build(&w.p, &w.o, &opts);
        assert_non_null(strstr(find_act(&p, PV_ACT_CREATE_VM, NULL)->blocked, "IOMMU group 15"));
        pv_plan_done(&p);
        /* reboot pending on the whole node */
        rd.n_devs = 0;
        rd.all_devices = "reboot pending: vfio-pci ids change takes effect after a reboot";
        p = build(&w.p, &w.o, &opts);
        assert_non_null(strstr(find_act(&p, PV_ACT_CREATE_VM, NULL)->blocked, "node 'pve1': reboot pending"));
        pv_plan_done(&p);
        /* a mapping with a ready alternative is not blocked */
        struct pv_map_entry entries[2];
        struct pv_pci_addr paths[2] = { A("0000:01:00.0"), A("0000:01:00.1") };
        entries[0] = w.entry;
        entries[0].paths = &paths[0];
        entries[1] = w.entry;
        entries[1].paths = &paths[1];
        w.map.map = entries;
        w.map.n_map = 2;
        w.vm.n_pci = 1;
        struct pv_device_not_ready f2 = { A("0000:01:00.0"), PV_NOT_READY_BINDING, "bound to 'nouveau'" };
        rd.all_devices = NULL;
        rd.devs = &f2;
        rd.n_devs = 1;
        p = build(&w.p, &w.o, &opts);
        assert_null(find_act(&p, PV_ACT_CREATE_VM, NULL)->blocked);
        pv_plan_done(&p);
        pv_observed_done(&w.o);
}

static void test_conflicts_and_nodes(void **state) {
        (void)state;
        struct ws w;
        ws_setup(&w);
        /* the profile's vmid is taken by another VM */
        w.vm.vmid = 120;
        add_vm(&w.o, 120, "pve1", "somebody", "stopped", NULL);
        struct pv_plan p = build(&w.p, &w.o, NULL);
        assert_non_null(strstr(find_act(&p, PV_ACT_CREATE_VM, NULL)->blocked, "vmid 120 is already used by vm 'somebody'"));
        pv_plan_done(&p);
        w.vm.vmid = 0;
        /* offline node */
        free(w.o.nodes[0].status);
        w.o.nodes[0].status = S("offline");
        p = build(&w.p, &w.o, NULL);
        assert_non_null(strstr(find_act(&p, PV_ACT_CREATE_VM, NULL)->blocked, "node 'pve1' is offline"));
        pv_plan_done(&p);
        free(w.o.nodes[0].status);
        w.o.nodes[0].status = S("online");
        /* the VM lives on another node */
        uint32_t vmid = ws_converge(&w);
        struct pv_vm_info *v = find_vm(&w.o, vmid);
        free(v->node);
        v->node = S("pve2");
        add_node(&w.o, "pve2", "online");
        cfg_set(&w.o, vmid, "cores", "2");
        p = build(&w.p, &w.o, NULL);
        assert_non_null(strstr(p.actions[0].blocked, "pvfio does not migrate VMs"));
        pv_plan_done(&p);
        free(v->node);
        v->node = S("pve1");
        /* locked */
        v->lock = S("backup");
        p = build(&w.p, &w.o, NULL);
        assert_non_null(strstr(p.actions[0].blocked, "vm is locked ('backup')"));
        pv_plan_done(&p);
        free(v->lock);
        v->lock = NULL;
        /* two managed VMs with the same name */
        add_vm(&w.o, 101, "pve1", "gpu-ws-1", "stopped", "pvfio");
        p = build(&w.p, &w.o, NULL);
        assert_non_null(strstr(p.actions[0].blocked, "several VMs are named 'gpu-ws-1' (vmids 100, 101)"));
        pv_plan_done(&p);
        pv_observed_done(&w.o);
}

static void test_slots_and_machine(void **state) {
        (void)state;
        struct ws w;
        ws_setup(&w);
        uint32_t vmid = ws_converge(&w);
        /* the devices sit in other slots on the VM: their indexes are kept, nothing moves */
        char *h0 = S(pv_vm_config_get(find_cfg(&w.o, vmid), "hostpci0"));
        char *h1 = S(pv_vm_config_get(find_cfg(&w.o, vmid), "hostpci1"));
        cfg_set(&w.o, vmid, "hostpci0", NULL);
        cfg_set(&w.o, vmid, "hostpci1", NULL);
        cfg_set(&w.o, vmid, "hostpci4", h1);
        cfg_set(&w.o, vmid, "hostpci7", h0);
        struct pv_plan p = build(&w.p, &w.o, NULL);
        expect_no_actions(&p);
        pv_plan_done(&p);
        /* an explicit slot wins: the device moves there */
        w.pci[1].slot = 2;
        p = build(&w.p, &w.o, NULL);
        assert_int_equal(p.n, 1);
        assert_int_equal(p.actions[0].n_keys, 2);
        assert_string_equal(p.actions[0].keys[0].key, "hostpci2");
        assert_string_equal(p.actions[0].keys[0].after, "0000:01:00.1");
        assert_string_equal(p.actions[0].keys[1].key, "hostpci4");
        assert_null(p.actions[0].keys[1].after);
        pv_plan_done(&p);
        free(h0);
        free(h1);
        /* an unpinned q35 accepts any pinned version; a pin is a real change */
        w.pci[1].slot = -1;
        cfg_set(&w.o, vmid, "machine", "pc-q35-8.1");
        p = build(&w.p, &w.o, NULL);
        expect_no_actions(&p);
        pv_plan_done(&p);
        w.vm.machine_version = (char *)"9.2+pve1";
        p = build(&w.p, &w.o, NULL);
        assert_int_equal(p.n, 1);
        assert_string_equal(p.actions[0].keys[0].after, "pc-q35-9.2+pve1");
        pv_plan_done(&p);
        /* machine viommu set by hand is carried over */
        cfg_set(&w.o, vmid, "machine", "q35,viommu=intel");
        p = build(&w.p, &w.o, NULL);
        assert_string_equal(p.actions[0].keys[0].after, "pc-q35-9.2+pve1,viommu=intel");
        pv_plan_done(&p);
        /* i440fx unpinned = key unset; "pc" and pinned i440fx are equal to it */
        w.vm.machine_version = NULL;
        w.vm.machine = PV_MACHINE_I440FX;
        w.pci[0].pcie = -1;
        cfg_set(&w.o, vmid, "hostpci7", "mapping=rtx3050,x-vga=1");
        cfg_set(&w.o, vmid, "machine", "pc-i440fx-9.2+pve1");
        p = build(&w.p, &w.o, NULL);
        expect_no_actions(&p);
        pv_plan_done(&p);
        cfg_set(&w.o, vmid, "machine", "q35");
        p = build(&w.p, &w.o, NULL);
        assert_int_equal(p.n, 1);
        assert_string_equal(p.actions[0].keys[0].key, "machine");
        assert_null(p.actions[0].keys[0].after);
        pv_plan_done(&p);
        pv_observed_done(&w.o);
}

static void test_deterministic(void **state) {
        (void)state;
        struct ws w1, w2;
        ws_setup(&w1);
        ws_setup(&w2);
        struct pv_plan a = build(&w1.p, &w1.o, NULL), b = build(&w2.p, &w2.o, NULL), c = build(&w1.p, &w1.o, NULL);
        char *da = dump(&a), *db = dump(&b), *dc = dump(&c);
        assert_string_equal(da, db);
        assert_string_equal(da, dc);
        free(da);
        free(db);
        free(dc);
        pv_plan_done(&a);
        pv_plan_done(&b);
        pv_plan_done(&c);
        /* appending keeps existing actions and shifts depends_on */
        struct pv_plan plan = PV_PLAN_INIT;
        struct pv_action host = { .kind = PV_ACT_RUN_COMMAND, .target = S("update-initramfs"), .reason = S("x") };
        assert_int_equal(pv_plan_add(&plan, &host, NULL), 0);
        assert_int_equal(pv_vm_plan_build(&w1.p, &w1.o, NULL, &plan, NULL), 0);
        assert_int_equal(plan.n, 4);
        assert_int_equal(plan.actions[2].kind, PV_ACT_CREATE_VM);
        assert_int_equal(plan.actions[2].depends_on, 2);
        assert_int_equal(plan.actions[3].depends_on, 3);
        pv_plan_done(&plan);
        pv_observed_done(&w1.o);
        pv_observed_done(&w2.o);
}

static void test_value_equal(void **state) {
        (void)state;
        assert_true(pv_vmconfig_value_equal("cores", NULL, "1"));
        assert_false(pv_vmconfig_value_equal("cores", NULL, "2"));
        assert_true(pv_vmconfig_value_equal("onboot", "1", "true"));
        assert_true(pv_vmconfig_value_equal("numa", NULL, "0"));
        assert_true(pv_vmconfig_value_equal("vga", NULL, "std"));
        assert_true(pv_vmconfig_value_equal("ostype", NULL, "other"));
        assert_true(pv_vmconfig_value_equal("bios", "seabios", NULL));
        assert_false(pv_vmconfig_value_equal("balloon", NULL, "0")); /* 0 disables ballooning: not the default */
        assert_true(pv_vmconfig_value_equal("memory", "4096", "current=4096"));
        assert_true(pv_vmconfig_value_equal("memory", NULL, "512"));
        assert_true(pv_vmconfig_value_equal("machine", NULL, "pc"));
        assert_true(pv_vmconfig_value_equal("machine", NULL, "pc-i440fx-9.0"));
        assert_true(pv_vmconfig_value_equal("machine", "q35", "pc-q35-9.0+pve1"));
        assert_false(pv_vmconfig_value_equal("machine", "pc-q35-9.0+pve1", "q35"));
        assert_false(pv_vmconfig_value_equal("machine", "q35", "pc"));
        assert_true(pv_vmconfig_value_equal("cpu", NULL, "kvm64"));
        assert_false(pv_vmconfig_value_equal("cpu", "host", "host,hv-vendor-id=proxmox"));
        assert_true(pv_vmconfig_value_equal("net3", "virtio,bridge=vmbr0", "virtio=BC:24:11:12:34:56,bridge=vmbr0"));
        assert_true(pv_vmconfig_value_equal("net3", "virtio,bridge=vmbr0", "model=virtio,macaddr=BC:24:11:12:34:56,bridge=vmbr0,firewall=0"));
        assert_false(pv_vmconfig_value_equal("net3", "virtio=BC:24:11:12:34:57,bridge=vmbr0", "virtio=BC:24:11:12:34:56,bridge=vmbr0"));
        assert_false(pv_vmconfig_value_equal("net3", "virtio,bridge=vmbr0", "virtio=BC:24:11:12:34:56,bridge=vmbr0,mtu=9000"));
        assert_true(pv_vmconfig_value_equal("tags", "a;b;pvfio", "pvfio b a"));
        assert_false(pv_vmconfig_value_equal("tags", "a;pvfio", "a;b;pvfio"));
        assert_true(pv_vmconfig_value_equal("hostpci3", "0000:01:00.0", "01:00.0,rombar=on"));
        assert_true(pv_vmconfig_value_equal("hookscript", "x", "x"));
        assert_false(pv_vmconfig_value_equal("hookscript", NULL, "x"));
        assert_true(pv_vmconfig_key_cmp("hostpci2", "hostpci10") < 0);
        assert_true(pv_vmconfig_key_cmp("hostpci10", "hostpci2") > 0);
        assert_true(pv_vmconfig_key_cmp("net0", "numa") < 0);
        assert_int_equal(pv_vmconfig_key_cmp("scsi0", "scsi0"), 0);
        assert_true(pv_vmconfig_key_hotpluggable("net5"));
        assert_false(pv_vmconfig_key_hotpluggable("hostpci0"));
        assert_false(pv_vmconfig_key_hotpluggable("sata0"));
}

static void test_translate_details(void **state) {
        (void)state;
        struct pv_vm vm;
        vm_init(&vm, "t", "pve1");
        struct pv_disk disks[3] = {
                { .bus = PV_BUS_SCSI, .index = 1, .storage = (char *)"fast", .size_bytes = 512ull << 20 },
                { .bus = PV_BUS_SCSI, .index = -1, .storage = (char *)"fast", .size_bytes = (3ull << 30) / 2 },
                { .bus = PV_BUS_VIRTIO, .index = -1, .storage = (char *)"slow", .size_bytes = 1ull << 40 },
        };
        struct pv_net nets[2] = {
                { .index = 3, .model = (char *)"e1000", .bridge = (char *)"vmbr1", .vlan = -1, .firewall = -1,
                  .macaddr = (char *)"bc:24:11:aa:bb:cc" },
                { .index = -1, .bridge = (char *)"vmbr0", .vlan = -1, .firewall = 0 },
        };
        vm.disks = disks;
        vm.n_disks = 3;
        vm.nets = nets;
        vm.n_nets = 2;
        vm.cpu_flags = (struct pv_strv){ (char *[]){ (char *)"+aes", NULL }, 1, 2 };
        struct pv_vm_xlate_ctx ctx = { 0 };
        struct pv_vm_desired d;
        assert_int_equal(pv_vm_translate(&vm, &ctx, &d, NULL), 0);
        assert_string_equal(pv_vm_desired_get(&d, "scsi1"), "fast:0.5");
        assert_string_equal(pv_vm_desired_get(&d, "scsi0"), "fast:1.5");
        assert_string_equal(pv_vm_desired_get(&d, "virtio0"), "slow:1024");
        assert_string_equal(pv_vm_desired_get(&d, "net3"), "e1000=BC:24:11:AA:BB:CC,bridge=vmbr1");
        assert_string_equal(pv_vm_desired_get(&d, "net0"), "virtio,bridge=vmbr0");
        assert_string_equal(pv_vm_desired_get(&d, "cpu"), "flags=+aes");
        assert_string_equal(pv_vm_desired_get(&d, "tags"), "pvfio");
        assert_null(pv_vm_desired_get(&d, "machine"));
        assert_null(pv_vm_desired_get(&d, "balloon"));
        assert_null(d.blocked);
        for (size_t i = 1; i < d.n; i++)
                assert_true(pv_vmconfig_key_cmp(d.kv[i - 1].key, d.kv[i].key) < 0);
        pv_vm_desired_done(&d);
        /* carried sub-keys of an observed net / cpu / vga */
        struct pv_vm_config cur = { 0 };
        struct pv_kv kv[] = {
                { (char *)"cpu", (char *)"kvm64,hv-vendor-id=proxmox,flags=+pcid" },
                { (char *)"net0", (char *)"virtio=BC:24:11:00:00:01,bridge=vmbr9,queues=4,mtu=9000,link_down=1" },
                { (char *)"vga", (char *)"qxl,memory=64" },
        };
        cur.kv = kv;
        cur.n = 3;
        ctx.current = &cur;
        vm.cpu_type = (char *)"host";
        vm.vga = (char *)"virtio";
        assert_int_equal(pv_vm_translate(&vm, &ctx, &d, NULL), 0);
        assert_string_equal(pv_vm_desired_get(&d, "cpu"), "host,flags=+aes,hv-vendor-id=proxmox");
        assert_string_equal(pv_vm_desired_get(&d, "net0"), "virtio=BC:24:11:00:00:01,bridge=vmbr0,link_down=1,mtu=9000,queues=4");
        assert_string_equal(pv_vm_desired_get(&d, "vga"), "virtio,memory=64");
        pv_vm_desired_done(&d);
        /* slot clash and too many devices are blocked, not crashed on */
        struct pv_pcidev pci[2] = { pci_mapping("a1"), pci_mapping("b1") };
        pci[0].slot = pci[1].slot = 3;
        vm.pci = pci;
        vm.n_pci = 2;
        ctx.current = NULL;
        assert_int_equal(pv_vm_translate(&vm, &ctx, &d, NULL), 0);
        assert_non_null(strstr(d.blocked, "pci slot 3 is used twice"));
        pv_vm_desired_done(&d);
        pv_vm_desired_done(NULL);
        pv_claims_free(NULL);
}


/* ------------------------------------------------ example profiles (parser) */

static size_t hw_for(struct pv_observed *o, const char *node) {
        for (size_t i = 0; i < o->n_hw; i++)
                if (strcmp(o->hw[i].node, node) == 0)
                        return i;
        bool known = false;
        for (size_t i = 0; i < o->n_nodes; i++)
                known |= strcmp(o->nodes[i].node, node) == 0;
        if (!known)
                add_node(o, node, "online");
        return add_hw(o, node);
}

/* Add a device (every function 0-1 for a whole slot) unless present. */
static void synth_dev(struct pv_observed *o, size_t h, struct pv_pci_addr a, bool mdev, const char *physfn,
                      const struct pv_map_entry *pin) {
        static int group = 10;
        int last = a.func == PV_PCI_FUNC_ALL ? 1 : a.func;
        for (int f = a.func == PV_PCI_FUNC_ALL ? 0 : a.func; f <= last; f++) {
                struct pv_pci_addr x = a;
                x.func = (uint8_t)f;
                x.domain_given = true;
                if (pv_node_hw_find(&o->hw[h], &x))
                        continue;
                char s[PV_PCI_ADDR_MAX];
                pv_pci_addr_format(&x, s);
                char id[10] = "10de:2204", sub[10] = "1458:403b";
                if (f)
                        strcpy(id, "10de:228b");
                if (pin && pin->has_id)
                        pv_pci_id_format(&pin->id, id);
                if (pin && pin->has_subsystem_id)
                        pv_pci_id_format(&pin->subsystem_id, sub);
                hw_dev(o, h, s, id, sub, pin && pin->has_iommugroup ? pin->iommugroup : group++, mdev, physfn);
        }
}

static void synth_mdev(struct pv_observed *o, size_t h, struct pv_pci_addr a, const char *type) {
        char s[PV_PCI_ADDR_MAX];
        a.func = a.func == PV_PCI_FUNC_ALL ? 0 : a.func;
        pv_pci_addr_format(&a, s);
        const struct pv_node_mdev *m = pv_node_hw_mdev(&o->hw[h], &a);
        for (size_t i = 0; m && i < m->n_types; i++)
                if (strcmp(m->types[i].type, type) == 0)
                        return;
        hw_mdev(o, h, s, type, 8);
}

/* Hardware matching what the profile asks for, so a correct plan has nothing blocked. */
static void synth_hardware(struct pv_observed *o, const struct pv_profile *p) {
        for (size_t i = 0; i < p->n_mappings; i++)
                for (size_t k = 0; k < p->mappings[i].n_map; k++) {
                        const struct pv_map_entry *e = &p->mappings[i].map[k];
                        size_t h = hw_for(o, e->node);
                        for (size_t j = 0; j < e->n_paths; j++)
                                synth_dev(o, h, e->paths[j], p->mappings[i].mdev, NULL, e);
                }
        for (size_t i = 0; i < p->n_vms; i++) {
                const struct pv_vm *vm = &p->vms[i];
                size_t h = hw_for(o, vm->node);
                for (size_t k = 0; k < vm->n_pci; k++) {
                        const struct pv_pcidev *d = &vm->pci[k];
                        if (d->kind == PV_PCIDEV_RAW)
                                for (size_t j = 0; j < d->n_addrs; j++) {
                                        synth_dev(o, h, d->addrs[j], d->mdev != NULL, NULL, NULL);
                                        if (d->mdev)
                                                synth_mdev(o, h, d->addrs[j], d->mdev);
                                }
                        if (d->kind == PV_PCIDEV_VF_POOL) {
                                char pf[PV_PCI_ADDR_MAX];
                                pv_pci_addr_format(&d->vf_pf, pf);
                                synth_dev(o, h, d->vf_pf, false, NULL, NULL);
                                for (int f = 0; f <= 7; f++) {
                                        /* VFs live in their own slot, as on real cards (03:00.0 → 03:02.x) */
                                        struct pv_pci_addr vf = d->vf_pf;
                                        vf.dev = (uint8_t)(d->vf_pf.dev + 2 + d->vf_pf.func);
                                        vf.func = (uint8_t)f;
                                        synth_dev(o, h, vf, d->mdev != NULL, pf, NULL);
                                        if (d->mdev)
                                                synth_mdev(o, h, vf, d->mdev);
                                }
                        }
                        if (d->kind == PV_PCIDEV_MAPPING && d->mdev)
                                for (size_t m = 0; m < p->n_mappings; m++) {
                                        if (strcmp(p->mappings[m].id, d->mapping) != 0)
                                                continue;
                                        for (size_t e = 0; e < p->mappings[m].n_map; e++)
                                                if (strcmp(p->mappings[m].map[e].node, vm->node) == 0 &&
                                                    p->mappings[m].map[e].n_paths == 1)
                                                        synth_mdev(o, hw_for(o, vm->node), p->mappings[m].map[e].paths[0],
                                                                   d->mdev);
                                }
                }
        }
}

static void test_example_profiles(void **state) {
        (void)state;
        static const char *const files[] = {
                "ai-multi-gpu.yaml",     "host-only-amd-gpu.yaml", "igpu-gvtg-vdi.yaml", "laptop-single-gpu.yaml",
                "nvidia-sriov-vgpu.yaml", "sriov-nic-vfs.yaml",    "two-node-mapping.yaml",
        };
        const char *src = getenv("PVFIO_SOURCE_DIR");
        if (!src)
                src = PVFIO_SOURCE_DIR;
        for (size_t f = 0; f < sizeof files / sizeof *files; f++) {
                char *path = NULL, *buf = NULL;
                size_t len = 0;
                assert_true(asprintf(&path, "%s/profiles/examples/%s", src, files[f]) > 0);
                FILE *fp = fopen(path, "r");
                if (!fp)
                        fail_msg("cannot open %s", path);
                char chunk[4096];
                size_t n;
                FILE *mem = open_memstream(&buf, &len);
                while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0)
                        fwrite(chunk, 1, n, mem);
                fclose(mem);
                fclose(fp);
                struct pv_profile *prof = NULL;
                struct pv_diags diags = { 0 };
                struct pv_error e = PV_ERROR_INIT;
                if (pv_profile_parse_mem(buf, len, path, &prof, &diags, &e) < 0) {
                        for (size_t i = 0; i < diags.n; i++)
                                fprintf(stderr, "%s:%u:%u: %s\n", files[f], diags.v[i].line, diags.v[i].col, diags.v[i].message);
                        fail_msg("%s does not parse: %s", files[f], pv_error_message(&e));
                }
                struct pv_observed o = { 0 };
                synth_hardware(&o, prof);
                struct pv_plan p = build(prof, &o, NULL);
                char *d = dump(&p);
                for (size_t i = 0; i < p.n; i++)
                        if (p.actions[i].blocked)
                                fail_msg("%s: blocked action:\n%s", files[f], d);
                size_t creates = 0;
                for (size_t i = 0; i < prof->n_vms; i++)
                        creates += prof->vms[i].state != PV_STATE_ABSENT;
                assert_int_equal(count_kind(&p, PV_ACT_CREATE_VM), creates);
                assert_int_equal(count_kind(&p, PV_ACT_CREATE_MAPPING), prof->n_mappings);
                uint32_t next = 900;
                sim_apply(&o, &p, &next);
                pv_plan_done(&p);
                free(d);
                /* the second run has nothing to do */
                p = build(prof, &o, NULL);
                if (p.n || p.n_drift)
                        fail_msg("%s: second plan is not empty:\n%s", files[f], dump(&p));
                pv_plan_done(&p);
                pv_observed_done(&o);
                pv_profile_free(prof);
                pv_diags_done(&diags);
                free(buf);
                free(path);
        }
}

static void set_version(struct pv_observed *o, const char *node, const char *pve, const char *qs) {
        o->versions = realloc(o->versions, (o->n_versions + 1) * sizeof *o->versions);
        o->versions[o->n_versions++] = (struct pv_node_version){ .node = S(node), .pve = S(pve), .qemu_server = S(qs) };
}

/* A key an older node refuses is blocked at plan time, naming node, version and key. */
static void test_version_gates(void **state) {
        (void)state;
        struct ws w;
        ws_setup(&w);
        w.pci[1].driver = PV_DRIVER_KEEP;
        /* versions not read: not checked */
        struct pv_plan p = build(&w.p, &w.o, NULL);
        assert_null(find_act(&p, PV_ACT_CREATE_VM, NULL)->blocked);
        pv_plan_done(&p);
        /* Proxmox VE 8.4 refuses hostpciN driver (qemu-server < 9.0.25) */
        set_version(&w.o, "pve1", "8.4.1", "8.4.10");
        p = build(&w.p, &w.o, NULL);
        const char *why = find_act(&p, PV_ACT_CREATE_VM, NULL)->blocked;
        assert_non_null(why);
        assert_non_null(strstr(why, "hostpci1: 'driver=keep' needs Proxmox VE 9.1 (qemu-server 9.0.25) or newer, but node 'pve1' runs Proxmox VE 8.4.1 (qemu-server 8.4.10)"));
        assert_non_null(strstr(why, "hostpci0.driver: property is not defined in schema"));
        assert_null(strstr(why, "mapping=")); /* mappings exist since 8.0 */
        assert_non_null(find_act(&p, PV_ACT_START_VM, NULL)->blocked);
        assert_null(find_act(&p, PV_ACT_CREATE_MAPPING, NULL)->blocked);
        pv_plan_done(&p);
        /* qemu-server decides when it was read; else the release */
        free(w.o.versions[0].pve);
        w.o.versions[0].pve = S("9.1.2");
        free(w.o.versions[0].qemu_server);
        w.o.versions[0].qemu_server = S("9.0.24");
        p = build(&w.p, &w.o, NULL);
        assert_non_null(strstr(find_act(&p, PV_ACT_CREATE_VM, NULL)->blocked, "runs Proxmox VE 9.1.2 (qemu-server 9.0.24)"));
        pv_plan_done(&p);
        free(w.o.versions[0].qemu_server);
        w.o.versions[0].qemu_server = NULL; /* apt/versions not permitted */
        p = build(&w.p, &w.o, NULL);
        assert_null(find_act(&p, PV_ACT_CREATE_VM, NULL)->blocked);
        pv_plan_done(&p);
        free(w.o.versions[0].pve);
        w.o.versions[0].pve = S("9.0.11");
        p = build(&w.p, &w.o, NULL);
        assert_non_null(strstr(find_act(&p, PV_ACT_CREATE_VM, NULL)->blocked,
                               "'driver=keep' needs Proxmox VE 9.1 (qemu-server 9.0.25) or newer, but node 'pve1' runs Proxmox VE 9.0.11"));
        pv_plan_done(&p);
        /* an existing VM whose driver=keep is already there: nothing is written, nothing refused */
        free(w.o.versions[0].pve);
        w.o.versions[0].pve = S("9.1.9");
        ws_converge(&w);
        free(w.o.versions[0].pve);
        w.o.versions[0].pve = S("8.4.1");
        p = build(&w.p, &w.o, NULL);
        expect_no_actions(&p);
        pv_plan_done(&p);
        /* affinity needs Proxmox VE 7.3 (qemu-server 7.2-7) */
        w.vm.affinity = (char *)"0-3";
        w.vm.name = "gpu-ws-3";
        free(w.o.versions[0].pve);
        w.o.versions[0].pve = S("7.2.14");
        p = build(&w.p, &w.o, NULL);
        assert_non_null(strstr(find_act(&p, PV_ACT_CREATE_VM, "vm gpu-ws-3")->blocked,
                               "affinity needs Proxmox VE 7.3 (qemu-server 7.2-7) or newer, but node 'pve1' runs Proxmox VE 7.2.14"));
        pv_plan_done(&p);
        w.vm.affinity = NULL;
        /* mappings: Proxmox VE 7 has none */
        free(w.o.versions[0].pve);
        w.o.versions[0].pve = S("7.4.17");
        w.pci[1].driver = PV_DRIVER_DEFAULT;
        w.vm.name = "gpu-ws-2";
        p = build(&w.p, &w.o, NULL);
        assert_non_null(strstr(find_act(&p, PV_ACT_CREATE_VM, "vm gpu-ws-2")->blocked,
                               "hostpci0: 'mapping=rtx3050' needs Proxmox VE 8.0 (qemu-server 8.0.4) or newer, but node 'pve1' runs Proxmox VE 7.4.17"));
        pv_plan_done(&p);
        struct pv_usbdev usb = { .mapping = (char *)"kbd", .usb3 = -1, .index = -1 };
        w.vm.usb = &usb;
        w.vm.n_usb = 1;
        p = build(&w.p, &w.o, NULL);
        assert_non_null(strstr(find_act(&p, PV_ACT_CREATE_VM, "vm gpu-ws-2")->blocked,
                               "usb0: 'mapping=kbd' needs Proxmox VE 8.0 (qemu-server 8.0.4) or newer, but node 'pve1' runs Proxmox VE 7.4.17"));
        pv_plan_done(&p);
        w.vm.usb = NULL;
        w.vm.n_usb = 0;
        pv_observed_done(&w.o);
}

static void test_version_gate_mapping_live_migration(void **state) {
        (void)state;
        struct ws w;
        ws_setup(&w);
        w.map.live_migration_capable = true;
        w.o.api_version = S("8.3.5");
        struct pv_plan p = build(&w.p, &w.o, NULL);
        const char *why = find_act(&p, PV_ACT_CREATE_MAPPING, NULL)->blocked;
        assert_non_null(why);
        assert_non_null(strstr(why, "live-migration-capable needs Proxmox VE 8.4 or newer, but the node answering the API runs Proxmox VE 8.3.5"));
        pv_plan_done(&p);
        free(w.o.api_version);
        w.o.api_version = S("8.4.0");
        set_version(&w.o, "pve1", "8.3.4", NULL);
        p = build(&w.p, &w.o, NULL);
        assert_non_null(strstr(find_act(&p, PV_ACT_CREATE_MAPPING, NULL)->blocked, "but node 'pve1' runs Proxmox VE 8.3.4"));
        pv_plan_done(&p);
        free(w.o.versions[0].pve);
        w.o.versions[0].pve = S("9.0.3");
        p = build(&w.p, &w.o, NULL);
        assert_null(find_act(&p, PV_ACT_CREATE_MAPPING, NULL)->blocked);
        pv_plan_done(&p);
        pv_observed_done(&w.o);
}

/* docs/profile.md lists every version-gated key with its minimum versions. */
static void test_version_gates_documented(void **state) {
        (void)state;
        const char *src = getenv("PVFIO_SOURCE_DIR");
        char path[4096];
        snprintf(path, sizeof path, "%s/docs/profile.md", src ? src : PVFIO_SOURCE_DIR);
        FILE *f = fopen(path, "r");
        assert_non_null(f);
        char *doc = calloc(1, 1 << 20);
        size_t n = fread(doc, 1, (1 << 20) - 1, f);
        fclose(f);
        assert_true(n > 0);
        const struct pv_version_gate *g;
        size_t ng = pv_version_gates(&g);
        assert_true(ng >= 3);
        for (size_t i = 0; i < ng; i++) {
                char row[256];
                snprintf(row, sizeof row, "| `%s` | %s | %s |", g[i].key, g[i].pve, g[i].qemu_server ? g[i].qemu_server : "–");
                if (!strstr(doc, row))
                        fail_msg("docs/profile.md has no row '%s'", row);
        }
        free(doc);
}

/* Tags compare as Proxmox stores them under the datacenter tag-style. */
static void test_tags_tag_style(void **state) {
        (void)state;
        struct ws w;
        ws_setup(&w);
        w.tags[0] = (char *)"Zeta";
        w.tags[1] = (char *)"GPU";
        struct pv_plan p = build(&w.p, &w.o, NULL);
        assert_string_equal(key_after(find_act(&p, PV_ACT_CREATE_VM, NULL), "tags"), "gpu;pvfio;zeta");
        pv_plan_done(&p);
        uint32_t vmid = ws_converge(&w);
        p = build(&w.p, &w.o, NULL);
        expect_no_actions(&p);
        pv_plan_done(&p);
        cfg_set(&w.o, vmid, "tags", "ZETA pvfio,Gpu");
        p = build(&w.p, &w.o, NULL);
        expect_no_actions(&p);
        pv_plan_done(&p);
        /* case-sensitive and ordering=config: the profile's spelling and order (management tag first) */
        w.o.tag_style = (struct pv_tag_style){ .case_sensitive = true, .ordering_config = true };
        p = build(&w.p, &w.o, NULL);
        const struct pv_action *u = find_act(&p, PV_ACT_UPDATE_VM, NULL);
        assert_non_null(u);
        assert_string_equal(key_after(u, "tags"), "pvfio;Zeta;GPU");
        pv_plan_done(&p);
        cfg_set(&w.o, vmid, "tags", "pvfio;Zeta;GPU");
        p = build(&w.p, &w.o, NULL);
        expect_no_actions(&p);
        pv_plan_done(&p);
        pv_observed_done(&w.o);
}

/* Proxmox's check-node results: drift only where the mapping has an entry or a profile VM uses it. */
static void test_mapping_checks_by_node(void **state) {
        (void)state;
        struct ws w;
        ws_setup(&w);
        ws_converge(&w);
        struct pv_obs_mapping *m = &w.o.mappings[0];
        mapping_add_check(m, "warning", "No mapping for node pve2.");
        m->checks[0].node = S("pve2");
        struct pv_plan p = build(&w.p, &w.o, NULL);
        expect_no_actions(&p);
        assert_int_equal(p.n_drift, 0);
        assert_true(notes_have(p.warnings, p.n_warnings, "mapping 'rtx3050' on node 'pve2' (no entry, no VM of the profile uses it there): warning: No mapping for node pve2."));
        pv_plan_done(&p);
        /* a VM of the profile on pve2 uses it: the same warning is drift */
        w.vm.node = "pve2";
        p = build(&w.p, &w.o, NULL);
        assert_true(notes_have(p.drift, p.n_drift, "mapping 'rtx3050' on node 'pve2': warning: No mapping for node pve2."));
        pv_plan_done(&p);
        w.vm.node = "pve1";
        /* an error on the node the mapping covers is drift */
        mapping_add_check(m, "error", "Invalid configuration: 'id' does not match for 'rtx3050' (10de:2507 != 10de:2508)");
        m->checks[1].node = S("pve1");
        p = build(&w.p, &w.o, NULL);
        assert_int_equal(p.n_drift, 1);
        assert_true(notes_have(p.drift, p.n_drift, "mapping 'rtx3050' on node 'pve1': error: Invalid configuration"));
        pv_plan_done(&p);
        pv_observed_done(&w.o);
}

/* A `;` path of devices with different IDs is refused with Proxmox's reason and the whole-device form. */
static void test_joined_path_different_ids(void **state) {
        (void)state;
        struct ws w;
        ws_setup(&w);
        struct pv_pci_addr paths[2] = { A("0000:01:00.0"), A("0000:01:00.1") };
        w.entry.paths = paths;
        w.entry.n_paths = 2;
        struct pv_plan p = build(&w.p, &w.o, NULL);
        const char *why = find_act(&p, PV_ACT_CREATE_MAPPING, NULL)->blocked;
        assert_non_null(why);
        assert_non_null(strstr(why, "joins devices with different id (0000:01:00.0 is 10de:2507, 0000:01:00.1 is 10de:228e)"));
        assert_non_null(strstr(why, "'id' does not match for 'rtx3050' (10de:228e != 10de:2507)"));
        assert_non_null(strstr(why, "pass the whole device instead: path: 0000:01:00 (all its functions)"));
        assert_non_null(find_act(&p, PV_ACT_CREATE_VM, NULL)->blocked);
        pv_plan_done(&p);
        /* same id, different subsystem: Proxmox's subsystem-id check fails the same way */
        pv_observed_done(&w.o);
        ws_setup(&w);
        w.entry.paths = paths;
        w.entry.n_paths = 2;
        w.o.hw[0].devs[1].id = w.o.hw[0].devs[0].id;
        w.o.hw[0].devs[1].has_subsystem = false;
        p = build(&w.p, &w.o, NULL);
        why = find_act(&p, PV_ACT_CREATE_MAPPING, NULL)->blocked;
        assert_non_null(why);
        assert_non_null(strstr(why, "different subsystem-id (0000:01:00.0 is 1028:0a61, 0000:01:00.1 is none)"));
        assert_non_null(strstr(why, "unexpected property 'subsystem-id' configured for device '0000:01:00.1'"));
        pv_plan_done(&p);
        /* identical functions: Proxmox accepts the path */
        w.o.hw[0].devs[1].has_subsystem = true;
        p = build(&w.p, &w.o, NULL);
        assert_null(find_act(&p, PV_ACT_CREATE_MAPPING, NULL)->blocked);
        assert_string_equal(key_after(find_act(&p, PV_ACT_CREATE_MAPPING, NULL), "map[0]"),
                            "node=pve1,path=0000:01:00.0;0000:01:00.1,id=10de:2507,subsystem-id=1028:0a61,iommugroup=15");
        pv_plan_done(&p);
        pv_observed_done(&w.o);
}

/*
 * NVIDIA vGPU VFs: qemu-server up to 9.1.10 lists a VF's own creatable_vgpu_types
 * (a VF hosting a vGPU lists none); from 9.1.11 NVML lists the physical
 * function's types on every VF with available 1. The VF pool picks the same VFs.
 */
static void nvidia_vf_fixture(struct pv_observed *o, bool nvml, bool pool_vm) {
        add_node(o, "pve2", "online");
        size_t h = add_hw(o, "pve2");
        hw_dev(o, h, "0000:c1:00.0", "10de:27b8", "10de:16ca", 94, false, NULL);
        for (int f = 4; f <= 7; f++) {
                char a[16];
                snprintf(a, sizeof a, "0000:c1:00.%d", f);
                hw_dev(o, h, a, "10de:27b8", "10de:16ca", 86 + f, true, "0000:c1:00.0");
                /* up to 9.1.10 a VF hosting a vGPU (.7 for vmid 300, .5 for vmid 301's mapping) lists none */
                if (nvml || (f != 7 && !(pool_vm && f == 5))) {
                        hw_mdev(o, h, a, "nvidia-925", 1);
                        hw_mdev(o, h, a, "nvidia-929", 1);
                }
        }
        add_vm(o, 300, "pve2", "other-vgpu", "running", NULL);
        add_cfg(o, 300, "pve2");
        cfg_set(o, 300, "hostpci0", "0000:c1:00.7,mdev=nvidia-925");
        if (pool_vm) {
                /* a running VM holds one VF of a mapping pool; which one is not in its config */
                struct pv_obs_mapping *m = add_mapping(o, "l4pool", "vGPU pool", "d1");
                m->mdev = true;
                mapping_add_map(m, "node=pve2,path=0000:c1:00.5,id=10de:27b8,subsystem-id=10de:16ca,iommugroup=91");
                add_vm(o, 301, "pve2", "pool-user", "running", NULL);
                add_cfg(o, 301, "pve2");
                cfg_set(o, 301, "hostpci0", "mapping=l4pool,mdev=nvidia-925");
        }
}

static void test_vf_pool_nvidia_type_sources(void **state) {
        (void)state;
        for (int nvml = 0; nvml < 2; nvml++) {
                struct pv_profile prof = { 0 };
                struct pv_vm vms[4];
                struct pv_pcidev pci[4];
                root_password(&prof);
                const char *names[] = { "infer-a", "infer-b", "infer-c", "infer-d" };
                for (int i = 0; i < 4; i++) {
                        vm_init(&vms[i], names[i], "pve2");
                        pci[i] = pci_vf("0000:c1:00.0");
                        pci[i].mdev = (char *)"nvidia-925";
                        vms[i].pci = &pci[i];
                        vms[i].n_pci = 1;
                }
                prof.vms = vms;
                prof.n_vms = 4;
                struct pv_observed o = { 0 };
                nvidia_vf_fixture(&o, nvml, false);
                struct pv_plan p = build(&prof, &o, NULL);
                assert_string_equal(key_after(find_act(&p, PV_ACT_CREATE_VM, "vm infer-a"), "hostpci0"), "0000:c1:00.4,mdev=nvidia-925");
                assert_string_equal(key_after(find_act(&p, PV_ACT_CREATE_VM, "vm infer-b"), "hostpci0"), "0000:c1:00.5,mdev=nvidia-925");
                assert_string_equal(key_after(find_act(&p, PV_ACT_CREATE_VM, "vm infer-c"), "hostpci0"), "0000:c1:00.6,mdev=nvidia-925");
                /* .7 lists the type under NVML but hosts the vGPU of vmid 300: never handed out */
                const struct pv_action *d = find_act(&p, PV_ACT_CREATE_VM, "vm infer-d");
                assert_non_null(d->blocked);
                assert_null(key_after(d, "hostpci0") ? strstr(key_after(d, "hostpci0"), "c1:00.7") : NULL);
                pv_plan_done(&p);
                pv_observed_done(&o);
                /* .5 is held by a running VM through a mapping: skipped with both sources */
                memset(&o, 0, sizeof o);
                nvidia_vf_fixture(&o, nvml, true);
                prof.n_vms = 3;
                p = build(&prof, &o, NULL);
                assert_string_equal(key_after(find_act(&p, PV_ACT_CREATE_VM, "vm infer-a"), "hostpci0"), "0000:c1:00.4,mdev=nvidia-925");
                assert_string_equal(key_after(find_act(&p, PV_ACT_CREATE_VM, "vm infer-b"), "hostpci0"), "0000:c1:00.6,mdev=nvidia-925");
                assert_non_null(find_act(&p, PV_ACT_CREATE_VM, "vm infer-c")->blocked);
                pv_plan_done(&p);
                pv_observed_done(&o);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_create_translation),
                cmocka_unit_test(test_noop_after_apply),
                cmocka_unit_test(test_single_key_drift),
                cmocka_unit_test(test_disks_never_recreated),
                cmocka_unit_test(test_unmanaged_untouched),
                cmocka_unit_test(test_dropped_keys),
                cmocka_unit_test(test_pending_on_running_vm),
                cmocka_unit_test(test_pending_already_sent),
                cmocka_unit_test(test_vf_pool),
                cmocka_unit_test(test_mdev),
                cmocka_unit_test(test_mapping_fill_digest_checks),
                cmocka_unit_test(test_mapping_missing_device),
                cmocka_unit_test(test_prune),
                cmocka_unit_test(test_token_and_raw),
                cmocka_unit_test(test_host_readiness),
                cmocka_unit_test(test_conflicts_and_nodes),
                cmocka_unit_test(test_slots_and_machine),
                cmocka_unit_test(test_deterministic),
                cmocka_unit_test(test_value_equal),
                cmocka_unit_test(test_version_gates),
                cmocka_unit_test(test_version_gate_mapping_live_migration),
                cmocka_unit_test(test_version_gates_documented),
                cmocka_unit_test(test_tags_tag_style),
                cmocka_unit_test(test_mapping_checks_by_node),
                cmocka_unit_test(test_joined_path_different_ids),
                cmocka_unit_test(test_vf_pool_nvidia_type_sources),
                cmocka_unit_test(test_translate_details),
                cmocka_unit_test(test_example_profiles),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
