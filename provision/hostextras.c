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
 *   - Looking Glass: the shared memory file of each VM, created at boot by
 *     systemd-tmpfiles with the owner the client runs as (PV_LG_TMPFILES).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* A file under the root as text, NULL in *ret when it does not exist. */
static int read_optional(const struct pv_host *h, const char *rel, char **ret, struct pv_error *err) {
        struct pv_buf b = PV_BUF_INIT_CAP(1u << 20);
        struct pv_error e = PV_ERROR_INIT;
        *ret = NULL;
        int r = pv_buf_read_file_at(&b, h->dirfd, rel, &e);
        if (r < 0 && e.errno_value != ENOENT) {
                pv_error_move(err, &e);
                pv_buf_release(&b);
                return r;
        }
        pv_error_done(&e);
        if (r == 0 && pv_buf_detach(&b, ret, NULL, err) < 0)
                return -PV_ENOMEM;
        pv_buf_release(&b);
        return 0;
}

int pv_host_extras_load(const struct pv_host *h, const struct pv_profile *p, const char *node,
                        const struct pv_host_state *s, struct pv_host_extras *ret, struct pv_error *err) {
        struct pv_host_extras x = { 0 };
        struct load l = { h, s, &x };
        int r = node ? each_vm_device(p, node, load_one, &l, err) : 0;
        if (r == 0)
                r = read_optional(h, PV_LG_TMPFILES, &x.lg_tmpfiles, err);
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
        free(x->lg_tmpfiles);
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

/* ----------------------------------------------------- looking glass */

static int cmp_vm_name(const void *a, const void *b) {
        return strcmp((*(const struct pv_vm *const *)a)->name, (*(const struct pv_vm *const *)b)->name);
}

/*
 * tmpfiles.d line per Looking Glass VM, as Looking Glass documents it:
 * "f /dev/shm/looking-glass 0660 USER kvm -" (QEMU runs as root on Proxmox and
 * opens the file; the client runs as USER).
 */
static int lg_content(const struct pv_profile *p, const char *node, char **ret, struct pv_error *err) {
        const struct pv_vm **v = calloc(p->n_vms ? p->n_vms : 1, sizeof *v);
        size_t n = 0;
        if (!v)
                return pv_error_set(err, PV_ENOMEM, "out of memory");
        for (size_t i = 0; i < p->n_vms; i++)
                if (p->vms[i].looking_glass && p->vms[i].node && !strcmp(p->vms[i].node, node) &&
                    p->vms[i].state != PV_STATE_ABSENT)
                        v[n++] = &p->vms[i];
        *ret = NULL;
        if (!n) {
                free(v);
                return 0;
        }
        qsort(v, n, sizeof *v, cmp_vm_name);
        _cleanup_buf_ struct pv_buf b = PV_BUF_INIT;
        int r = pv_buf_adds(&b, "# Managed by pvfio: Looking Glass shared memory, one file per VM (QEMU writes, the\n"
                                "# client reads). Overwritten by 'pvfio host apply'; 'pvfio host rollback' removes it.\n",
                            err);
        for (size_t i = 0; r == 0 && i < n; i++)
                r = pv_buf_addf(&b, err, "f %s 0660 %s kvm -\n", v[i]->lg_path, v[i]->lg_owner ? v[i]->lg_owner : "root");
        free(v);
        return r < 0 ? r : pv_buf_detach(&b, ret, NULL, err);
}

static int add_host_action(struct pv_plan *plan, enum pv_action_kind kind, const char *node, const char *target,
                           const char *before, const char *after, char *reason, int depends_on, struct pv_error *err) {
        struct pv_action a = { .kind = kind, .depends_on = depends_on };
        bool oom = !reason;
        a.target = target ? strdup(target) : NULL;
        a.node = node ? strdup(node) : NULL;
        a.before = before ? strdup(before) : NULL;
        a.after = after ? strdup(after) : NULL;
        a.reason = reason;
        oom |= (target && !a.target) || (node && !a.node) || (before && !a.before) || (after && !a.after);
        if (oom) {
                pv_action_done(&a);
                return pv_error_set(err, PV_ENOMEM, "out of memory");
        }
        int idx = pv_plan_add(plan, &a, err);
        return idx < 0 ? idx : idx + 1;
}

static int plan_looking_glass(const struct pv_profile *p, const char *node, const struct pv_host_extras *x,
                              struct pv_plan *plan, struct pv_error *err) {
        _cleanup_free_ char *after = NULL;
        int r = lg_content(p, node, &after, err);
        const char *before = x ? x->lg_tmpfiles : NULL;
        if (r < 0 || (!before && !after) || (before && after && !strcmp(before, after)))
                return r;
        int idx = add_host_action(plan, after ? PV_ACT_WRITE_FILE : PV_ACT_REMOVE_FILE, node, PV_LG_TMPFILES, before,
                                  after,
                                  pv_asprintf(NULL, after ? "shared memory files of the Looking Glass VMs on %s"
                                                          : "no Looking Glass VM left on %s",
                                              node),
                                  0, err);
        if (idx < 0 || !after)
                return idx < 0 ? idx : 0;
        idx = add_host_action(plan, PV_ACT_RUN_COMMAND, node, "systemd-tmpfiles", NULL,
                              "systemd-tmpfiles --create /" PV_LG_TMPFILES,
                              pv_asprintf(NULL, "create the shared memory files now (at boot systemd does it)"), idx,
                              err);
        return idx < 0 ? idx : 0;
}

int pv_host_extras_plan(const struct pv_profile *p, const char *node, const struct pv_host_state *s,
                        const struct pv_host_extras *x, struct pv_plan *plan, struct pv_error *err) {
        if (!p || !node || !s)
                return 0;
        struct numa n = { s, x, plan, node };
        int r = each_vm_device(p, node, numa_one, &n, err);
        if (r == 0)
                r = plan_looking_glass(p, node, x, plan, err);
        return r;
}

/* ----------------------------------------------------------- input */

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(char *const *)a, *(char *const *)b);
}

int pv_host_input_scan(const struct pv_host *h, struct pv_strv *ret, struct pv_error *err) {
        struct pv_strv v = PV_STRV_INIT;
        int fd = openat(h->dirfd, "dev/input/by-id", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) {
                if (errno == ENOENT) {
                        *ret = v;
                        return 0;
                }
                return pv_error_set_errno(err, errno, "cannot read '%s/dev/input/by-id'", h->root);
        }
        DIR *d = fdopendir(fd);
        if (!d) {
                int e = errno;
                close(fd);
                return pv_error_set_errno(err, e, "cannot read '%s/dev/input/by-id'", h->root);
        }
        int r = 0;
        struct dirent *e;
        while (r == 0 && (e = readdir(d))) {
                size_t n = strlen(e->d_name);
                bool kbd = n > 10 && !strcmp(e->d_name + n - 10, "-event-kbd");
                bool mouse = n > 12 && !strcmp(e->d_name + n - 12, "-event-mouse");
                if (kbd || mouse)
                        r = pv_strv_push(&v, e->d_name, err);
        }
        closedir(d);
        if (r < 0) {
                pv_strv_done(&v);
                return r;
        }
        if (v.n)
                qsort(v.v, v.n, sizeof *v.v, cmp_str);
        *ret = v;
        return 0;
}
