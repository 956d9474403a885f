/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The host side of the rest of a passthrough setup (issue 14): what the VMs of
 * one node need from the node beyond vfio binding. Planned after the host
 * section's own plan (cmd/localhost.c) from the profile's VMs on the node, the
 * host scan and the extra facts loaded here.
 *
 *   - affinity vs NUMA: a VM pinned (`affinity`) to CPUs outside the NUMA node
 *     of a GPU it uses pays the cross-node hop on every DMA and interrupt. The
 *     kernel lists each device's local CPUs in sysfs `local_cpulist`.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "pvfio/buf.h"
#include "pvfio/cleanup.h"
#include "pvfio/extras.h"

/* ------------------------------------------------------- devices of VMs */

typedef int (*dev_fn)(void *ud, const struct pv_vm *vm, const struct pv_pci_addr *a, struct pv_error *err);

/* Call fn for every PCI function (or slot: func PV_PCI_FUNC_ALL) a VM on node passes through. */
static int each_vm_device(const struct pv_profile *p, const char *node, dev_fn fn, void *ud, struct pv_error *err) {
        int r = 0;
        for (size_t i = 0; r == 0 && i < p->n_vms; i++) {
                const struct pv_vm *vm = &p->vms[i];
                if (!vm->node || strcmp(vm->node, node) != 0 || vm->state == PV_STATE_ABSENT)
                        continue;
                for (size_t k = 0; r == 0 && k < vm->n_pci; k++) {
                        const struct pv_pcidev *d = &vm->pci[k];
                        if (d->kind == PV_PCIDEV_RAW) {
                                for (size_t j = 0; r == 0 && j < d->n_addrs; j++)
                                        r = fn(ud, vm, &d->addrs[j], err);
                        } else if (d->kind == PV_PCIDEV_VF_POOL) {
                                r = fn(ud, vm, &d->vf_pf, err);
                        } else if (d->mapping) {
                                const struct pv_mapping *m = pv_profile_find_mapping(p, d->mapping);
                                for (size_t e = 0; m && r == 0 && e < m->n_map; e++) {
                                        if (!m->map[e].node || strcmp(m->map[e].node, node) != 0)
                                                continue;
                                        for (size_t j = 0; r == 0 && j < m->map[e].n_paths; j++)
                                                r = fn(ud, vm, &m->map[e].paths[j], err);
                                }
                        }
                }
        }
        return r;
}

static bool addr_covers(const struct pv_pci_addr *sel, const struct pv_pci_addr *dev) {
        return sel->domain == dev->domain && sel->bus == dev->bus && sel->dev == dev->dev &&
               (sel->func == PV_PCI_FUNC_ALL || sel->func == dev->func);
}

/* ------------------------------------------------------------------ load */

struct load {
        const struct pv_host *h;
        const struct pv_host_state *s;
        struct pv_host_extras *x;
};

static bool have_dev(const struct pv_host_extras *x, const struct pv_pci_addr *a) {
        for (size_t i = 0; i < x->n_devs; i++)
                if (pv_pci_addr_cmp(&x->devs[i].addr, a) == 0)
                        return true;
        return false;
}

static int load_one(void *ud, const struct pv_vm *vm, const struct pv_pci_addr *sel, struct pv_error *err) {
        struct load *l = ud;
        (void)vm;
        for (size_t i = 0; i < l->s->n_devs; i++) {
                const struct pv_host_dev *d = &l->s->devs[i];
                if (!addr_covers(sel, &d->addr) || have_dev(l->x, &d->addr))
                        continue;
                struct pv_host_extra_dev *v = realloc(l->x->devs, (l->x->n_devs + 1) * sizeof *v);
                if (!v)
                        return pv_error_set(err, PV_ENOMEM, "out of memory");
                l->x->devs = v;
                struct pv_host_extra_dev *e = &v[l->x->n_devs++];
                *e = (struct pv_host_extra_dev){ .addr = d->addr };
                _cleanup_free_ char *rel = pv_asprintf(err, "sys/bus/pci/devices/%s/local_cpulist", d->name);
                if (!rel)
                        return -PV_ENOMEM;
                struct pv_buf b = PV_BUF_INIT_CAP(4096);
                struct pv_error ignore = PV_ERROR_INIT;
                if (pv_buf_read_file_at(&b, l->h->dirfd, rel, &ignore) == 0) {
                        b.buf[strcspn(b.buf, "\r\n")] = '\0';
                        if (b.buf[0] && !(e->local_cpulist = strdup(b.buf))) {
                                pv_buf_release(&b);
                                return pv_error_set(err, PV_ENOMEM, "out of memory");
                        }
                }
                pv_error_done(&ignore);
                pv_buf_release(&b);
        }
        return 0;
}

int pv_host_extras_load(const struct pv_host *h, const struct pv_profile *p, const char *node,
                        const struct pv_host_state *s, struct pv_host_extras *ret, struct pv_error *err) {
        struct pv_host_extras x = { 0 };
        struct load l = { h, s, &x };
        int r = node ? each_vm_device(p, node, load_one, &l, err) : 0;
        if (r < 0) {
                pv_host_extras_done(&x);
                return r;
        }
        *ret = x;
        return 0;
}

void pv_host_extras_done(struct pv_host_extras *x) {
        if (!x)
                return;
        for (size_t i = 0; i < x->n_devs; i++)
                free(x->devs[i].local_cpulist);
        free(x->devs);
        memset(x, 0, sizeof *x);
}

/* ------------------------------------------------------------------ plan */

struct numa {
        const struct pv_host_state *s;
        const struct pv_host_extras *x;
        struct pv_plan *plan;
        const char *node;
};

static const struct pv_host_extra_dev *extra_dev(const struct pv_host_extras *x, const struct pv_pci_addr *a) {
        for (size_t i = 0; x && i < x->n_devs; i++)
                if (pv_pci_addr_cmp(&x->devs[i].addr, a) == 0)
                        return &x->devs[i];
        return NULL;
}

static int numa_one(void *ud, const struct pv_vm *vm, const struct pv_pci_addr *sel, struct pv_error *err) {
        struct numa *n = ud;
        if (!vm->affinity)
                return 0;
        for (size_t i = 0; i < n->s->n_devs; i++) {
                const struct pv_host_dev *d = &n->s->devs[i];
                /* GPUs (display class 03) only: one warning per GPU, not per audio function */
                if (!addr_covers(sel, &d->addr) || (d->class_code >> 16) != 0x03 || d->numa_node < 0)
                        continue;
                const struct pv_host_extra_dev *e = extra_dev(n->x, &d->addr);
                if (!e || !e->local_cpulist)
                        continue;
                long outside = pv_cpuset_outside(vm->affinity, e->local_cpulist);
                if (outside <= 0)
                        continue;
                char *w = pv_asprintf(err,
                                      "%s: vm '%s' has affinity %s, but %ld of those CPUs are outside NUMA node %d of "
                                      "its GPU %s (local CPUs %s): every DMA and interrupt crosses nodes; pin the VM "
                                      "to CPUs within %s (affinity) and enable numa",
                                      n->node, vm->name, vm->affinity, outside, d->numa_node, d->name,
                                      e->local_cpulist, e->local_cpulist);
                if (!w)
                        return -PV_ENOMEM;
                int r = pv_plan_add_warning(n->plan, w, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

int pv_host_extras_plan(const struct pv_profile *p, const char *node, const struct pv_host_state *s,
                        const struct pv_host_extras *x, struct pv_plan *plan, struct pv_error *err) {
        if (!p || !node || !s)
                return 0;
        struct numa n = { s, x, plan, node };
        return each_vm_device(p, node, numa_one, &n, err);
}
