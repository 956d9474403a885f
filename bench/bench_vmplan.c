/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Pure VM/mapping planner cost: 5 nodes, N VMs (default 400) with a mapped GPU, a VF from a
 * pool or a raw device each, 5 mappings. Prints the time of the first plan (everything to
 * create), of the steady-state plan (everything converged, zero actions) and the peak RSS.
 * Usage: bench_vmplan [N_VMS] [ROUNDS]
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "pvfio/vmplan.h"

static double now(void) {
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static char *S(const char *s) {
        return strdup(s);
}

int main(int argc, char **argv) {
        size_t n_vms = argc > 1 ? strtoul(argv[1], NULL, 10) : 400, rounds = argc > 2 ? strtoul(argv[2], NULL, 10) : 20;
        static const char *const nodes[] = { "pve1", "pve2", "pve3", "pve4", "pve5" };
        struct pv_profile p = { 0 };
        p.cluster.present = true;
        p.cluster.auth = PV_AUTH_PASSWORD;
        p.cluster.user = (char *)"root@pam";
        struct pv_mapping *maps = calloc(5, sizeof *maps);
        struct pv_map_entry *entries = calloc(5 * 5, sizeof *entries);
        struct pv_pci_addr *paths = calloc(5 * 5, sizeof *paths);
        char **names = calloc(n_vms, sizeof *names);
        struct pv_vm *vms = calloc(n_vms, sizeof *vms);
        struct pv_pcidev *pci = calloc(n_vms, sizeof *pci);
        struct pv_pci_addr *raw = calloc(n_vms, sizeof *raw);
        struct pv_disk disk = { .bus = PV_BUS_SCSI, .index = -1, .storage = (char *)"local-lvm", .size_bytes = 32ull << 30 };
        struct pv_net net = { .index = -1, .model = (char *)"virtio", .bridge = (char *)"vmbr0", .vlan = -1, .firewall = 1 };
        struct pv_observed o = { 0 };
        o.nodes = calloc(5, sizeof *o.nodes);
        o.hw = calloc(5, sizeof *o.hw);
        for (size_t n = 0; n < 5; n++) {
                o.nodes[n] = (struct pv_node_info){ S(nodes[n]), S("online") };
                struct pv_node_hw *h = &o.hw[n];
                h->node = S(nodes[n]);
                h->devs = calloc(5 + 1 + 64 + 100, sizeof *h->devs);
                for (uint8_t b = 0; b < 5; b++)   /* GPUs 0x10..0x14 for the mappings */
                        h->devs[h->n_devs++] = (struct pv_hw_pci){ .addr = { 0, (uint8_t)(0x10 + b), 0, 0, true },
                                                                   .id = { 0x10de, 0x2204 }, .iommugroup = b,
                                                                   .has_subsystem = true, .subsystem = { 0x1458, 0x403b } };
                h->devs[h->n_devs++] = (struct pv_hw_pci){ .addr = { 0, 0x30, 0, 0, true }, .id = { 0x8086, 0x1572 }, .iommugroup = 9 };
                for (int v = 0; v < 64; v++)      /* 64 VFs of 30:00.0 */
                        h->devs[h->n_devs++] = (struct pv_hw_pci){
                                .addr = { 0, 0x30, (uint8_t)(2 + v / 8), (uint8_t)(v % 8), true }, .id = { 0x8086, 0x154c },
                                .iommugroup = 100 + v, .is_vf = true, .physfn = { 0, 0x30, 0, 0, true } };
                for (int r = 0; r < 100; r++)     /* raw devices 0x40.. */
                        h->devs[h->n_devs++] = (struct pv_hw_pci){ .addr = { 0, (uint8_t)(0x40 + r), 0, 0, true },
                                                                   .id = { 0x1000, 0x0097 }, .iommugroup = 200 + r };
        }
        o.n_nodes = o.n_hw = 5;
        static char ids[5][8];
        for (size_t m = 0; m < 5; m++) {
                snprintf(ids[m], sizeof ids[m], "gpu%zu", m);
                for (size_t n = 0; n < 5; n++) {
                        paths[m * 5 + n] = (struct pv_pci_addr){ 0, (uint8_t)(0x10 + m), 0, 0, true };
                        entries[m * 5 + n] = (struct pv_map_entry){ .node = (char *)nodes[n], .paths = &paths[m * 5 + n], .n_paths = 1 };
                }
                maps[m] = (struct pv_mapping){ .id = ids[m], .map = &entries[m * 5], .n_map = 5 };
        }
        for (size_t i = 0; i < n_vms; i++) {
                struct pv_vm *vm = &vms[i];
                if (asprintf(&names[i], "vm-%04zu", i) < 0)
                        return 1;
                vm->name = names[i];
                vm->node = (char *)nodes[i % 5];
                vm->vmid = (uint32_t)(1000 + i);
                vm->state = PV_STATE_RUNNING;
                vm->machine = PV_MACHINE_Q35;
                vm->cores = 4;
                vm->memory_mib = 8192;
                vm->balloon_mib = -1;
                vm->numa = vm->onboot = -1;
                vm->disks = &disk;
                vm->n_disks = 1;
                vm->nets = &net;
                vm->n_nets = 1;
                struct pv_pcidev *d = &pci[i];
                d->slot = -1;
                d->pcie = d->primary = d->rombar = d->legacy_igd = -1;
                if (i % 3 == 0) {
                        d->kind = PV_PCIDEV_MAPPING;
                        d->mapping = ids[i % 5];
                } else if (i % 3 == 1) {
                        d->kind = PV_PCIDEV_VF_POOL;
                        d->vf_pf = (struct pv_pci_addr){ 0, 0x30, 0, 0, true };
                } else {
                        d->kind = PV_PCIDEV_RAW;
                        raw[i] = (struct pv_pci_addr){ 0, (uint8_t)(0x40 + (i / 15) % 100), 0, 0, true };
                        d->addrs = &raw[i];
                        d->n_addrs = 1;
                }
                vm->pci = d;
                vm->n_pci = 1;
        }
        p.mappings = maps;
        p.n_mappings = 5;
        p.vms = vms;
        p.n_vms = n_vms;

        double t0 = now();
        struct pv_plan first = PV_PLAN_INIT;
        struct pv_error err = PV_ERROR_INIT;
        if (pv_vm_plan_build(&p, &o, NULL, &first, &err) < 0) {
                fprintf(stderr, "plan failed: %s\n", pv_error_message(&err));
                return 1;
        }
        double t_first = now() - t0;
        /* converge: every created VM and mapping as Proxmox would list it */
        size_t blocked = 0;
        o.vms = calloc(n_vms, sizeof *o.vms);
        o.configs = calloc(n_vms, sizeof *o.configs);
        o.mappings = calloc(5, sizeof *o.mappings);
        for (size_t i = 0; i < first.n; i++) {
                const struct pv_action *a = &first.actions[i];
                blocked += a->blocked != NULL;
                if (a->kind == PV_ACT_CREATE_MAPPING) {
                        struct pv_obs_mapping *m = &o.mappings[o.n_mappings++];
                        m->id = S(a->target + strlen("mapping "));
                        m->digest = S("0123");
                        for (size_t k = 0; k < a->n_keys; k++) {
                                if (strcmp(a->keys[k].key, "description") == 0)
                                        m->description = S(a->keys[k].after);
                                if (strncmp(a->keys[k].key, "map[", 4) == 0) {
                                        m->map = realloc(m->map, (m->n_map + 1) * sizeof *m->map);
                                        m->map[m->n_map++] = S(a->keys[k].after);
                                }
                        }
                }
                if (a->kind != PV_ACT_CREATE_VM)
                        continue;
                struct pv_vm_info *v = &o.vms[o.n_vms++];
                struct pv_vm_config *c = &o.configs[o.n_configs++];
                v->vmid = c->vmid = a->vmid;
                v->node = S(a->node);
                c->node = S(a->node);
                v->status = S("running");
                c->digest = S("abcd");
                c->kv = calloc(a->n_keys, sizeof *c->kv);
                for (size_t k = 0; k < a->n_keys; k++) {
                        c->kv[c->n++] = (struct pv_kv){ S(a->keys[k].key), S(a->keys[k].after) };
                        if (strcmp(a->keys[k].key, "name") == 0)
                                v->name = S(a->keys[k].after);
                        if (strcmp(a->keys[k].key, "tags") == 0)
                                v->tags = S(a->keys[k].after);
                }
        }
        double best = 1e9, total = 0;
        size_t left = 0;
        for (size_t r = 0; r < rounds; r++) {
                struct pv_plan again = PV_PLAN_INIT;
                t0 = now();
                if (pv_vm_plan_build(&p, &o, NULL, &again, &err) < 0)
                        return 1;
                double t = now() - t0;
                total += t;
                best = t < best ? t : best;
                left = again.n;
                pv_plan_done(&again);
        }
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        printf("vms=%zu mappings=5 nodes=5\n", n_vms);
        printf("first plan: %zu actions (%zu blocked) in %.2f ms\n", first.n, blocked, t_first * 1e3);
        printf("converged plan: %zu actions, best %.2f ms, mean %.2f ms over %zu rounds\n", left, best * 1e3,
               total / (double)rounds * 1e3, rounds);
        printf("peak rss: %.1f MiB\n", (double)ru.ru_maxrss / 1024.0);
        pv_plan_done(&first);
        pv_observed_done(&o);
        for (size_t i = 0; i < n_vms; i++)
                free(names[i]);
        free(names);
        free(vms);
        free(pci);
        free(raw);
        free(maps);
        free(entries);
        free(paths);
        return left != 0;
}
