/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fixtures of the host planner tests: see hostplan_fixture.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "pvfio/hostplan.h"
#include "hostplan_fixture.h"

/* ------------------------------------------------------------ fixtures */

char *xstrdup(const char *s) {
        char *d = s ? strdup(s) : NULL;
        assert_true(!s || d);
        return d;
}

void set_file(struct pv_host_file *f, const char *path, const char *content) {
        free(f->path);
        free(f->content);
        f->path = xstrdup(path);
        f->present = content != NULL;
        f->content = xstrdup(content);
        f->len = content ? strlen(content) : 0;
}

void push_file(struct pv_host_file **v, size_t *n, const char *path, const char *content) {
        for (size_t i = 0; i < *n; i++)
                if (strcmp((*v)[i].path, path) == 0) {
                        set_file(&(*v)[i], path, content);
                        return;
                }
        *v = realloc(*v, (*n + 1) * sizeof **v);
        assert_non_null(*v);
        memset(&(*v)[*n], 0, sizeof **v);
        set_file(&(*v)[(*n)++], path, content);
}

struct pv_host_dev *add_dev(struct fx *f, const char *addr, uint16_t ven, uint16_t dev, uint32_t cls, int group,
                            const char *driver) {
        struct pv_host_state *st = &f->st;
        st->devs = realloc(st->devs, (st->n_devs + 1) * sizeof *st->devs);
        assert_non_null(st->devs);
        struct pv_host_dev *d = &st->devs[st->n_devs++];
        memset(d, 0, sizeof *d);
        assert_int_equal(pv_pci_addr_parse(addr, &d->addr, NULL), 0);
        pv_pci_addr_format(&d->addr, d->name);
        d->vendor = ven;
        d->device = dev;
        d->class_code = cls;
        d->iommu_group = group;
        d->driver = xstrdup(driver);
        d->boot_vga = -1;
        d->numa_node = -1;
        d->is_bridge = (cls >> 8) == 0x0604;
        return d;
}

/* Groups from the devices' iommu_group fields (devices must be added in address order). */
void build_groups(struct fx *f) {
        struct pv_host_state *st = &f->st;
        for (size_t i = 0; i < st->n_devs; i++) {
                int g = st->devs[i].iommu_group;
                if (g < 0)
                        continue;
                struct pv_host_group *grp = NULL;
                for (size_t k = 0; k < st->n_groups; k++)
                        if (st->groups[k].id == g)
                                grp = &st->groups[k];
                if (!grp) {
                        st->groups = realloc(st->groups, (st->n_groups + 1) * sizeof *st->groups);
                        assert_non_null(st->groups);
                        grp = &st->groups[st->n_groups++];
                        memset(grp, 0, sizeof *grp);
                        grp->id = g;
                }
                grp->members = realloc(grp->members, (grp->n_members + 1) * sizeof(size_t));
                assert_non_null(grp->members);
                grp->members[grp->n_members++] = i;
        }
        st->iommu.active = st->n_groups > 0;
}

void set_cmdline(struct fx *f, const char *proc) {
        free(f->st.cmdline);
        pv_strv_done(&f->st.cmdline_args);
        f->st.cmdline = xstrdup(proc);
        assert_int_equal(pv_cmdline_split(proc, &f->st.cmdline_args, NULL), 0);
}

void base_host(struct fx *f, enum pv_cpu_vendor cpu, unsigned kmaj, unsigned kmin, enum pv_bootloader bl) {
        memset(f, 0, sizeof *f);
        f->st.cpu.vendor = cpu;
        f->st.kver = (struct pv_kver){ kmaj, kmin, 0 };
        f->st.boot.loader = bl;
        f->st.iommu.ir = PV_IR_ACTIVE;
        set_cmdline(f, bl == PV_BOOTLOADER_SYSTEMD_BOOT ? "initrd=\\EFI\\proxmox\\initrd.img root=ZFS=rpool/ROOT/pve-1 boot=zfs"
                                                       : "BOOT_IMAGE=/boot/vmlinuz root=/dev/mapper/pve-root ro quiet");
        set_file(&f->st.boot.etc_default_grub, "etc/default/grub",
                 "GRUB_DEFAULT=0\nGRUB_TIMEOUT=5\nGRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\nGRUB_CMDLINE_LINUX=\"\"\n");
        if (bl == PV_BOOTLOADER_SYSTEMD_BOOT)
                set_file(&f->st.boot.etc_kernel_cmdline, "etc/kernel/cmdline", "root=ZFS=rpool/ROOT/pve-1 boot=zfs\n");
        pv_strv_push(&f->st.modules, "nvidia", NULL);
        f->spec.iommu = PV_AUTO;
        f->spec.iommu_pt = true;
        f->spec.softdeps_auto = true;
        f->spec.binding = PV_BIND_IDS;
        f->spec.loc = (struct pv_loc){ "p.yaml", 3, 3 };
        f->opts.node = "pve1";
        f->opts.inputs = &f->in;
}

/* The seed laptop: GA107M + audio in group 15 behind root port 00:01.0 (group 2), Intel CPU. */
void laptop(struct fx *f, unsigned kmaj, unsigned kmin, enum pv_bootloader bl) {
        base_host(f, PV_CPU_INTEL, kmaj, kmin, bl);
        add_dev(f, "0000:00:01.0", 0x8086, 0x9a09, 0x060400, 2, "pcieport");
        add_dev(f, "0000:00:02.0", 0x8086, 0x9a60, 0x030000, 0, "i915")->boot_vga = 1;
        add_dev(f, "0000:00:14.0", 0x8086, 0x43ed, 0x0c0330, 5, "xhci_hcd");
        add_dev(f, "0000:00:17.0", 0x8086, 0x43d3, 0x010601, 7, "ahci");
        struct pv_host_dev *g = add_dev(f, "0000:01:00.0", 0x10de, 0x25a0, 0x030000, 15, "nvidia");
        g->boot_vga = 0;
        add_dev(f, "0000:01:00.1", 0x10de, 0x2291, 0x040300, 15, "snd_hda_intel");
        build_groups(f);
}

struct pv_devsel *add_sel(struct fx *f, enum pv_devsel_kind kind, const char *what) {
        f->spec.vfio = realloc(f->spec.vfio, (f->spec.n_vfio + 1) * sizeof *f->spec.vfio);
        assert_non_null(f->spec.vfio);
        struct pv_devsel *s = &f->spec.vfio[f->spec.n_vfio++];
        memset(s, 0, sizeof *s);
        s->kind = kind;
        s->companions = true;
        s->loc = (struct pv_loc){ "p.yaml", 10 + (unsigned)f->spec.n_vfio, 7 };
        if (kind == PV_DEVSEL_ID)
                assert_int_equal(pv_pci_id_parse(what, &s->id, NULL), 0);
        else if (kind == PV_DEVSEL_ADDR)
                assert_int_equal(pv_pci_addr_parse(what, &s->addr, NULL), 0);
        return s;
}

static void free_files(struct pv_host_file *v, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(v[i].path);
                free(v[i].content);
        }
        free(v);
}

void fx_done(struct fx *f) {
        struct pv_host_state *st = &f->st;
        for (size_t i = 0; i < st->n_devs; i++) {
                free(st->devs[i].driver);
                free(st->devs[i].driver_override);
                free(st->devs[i].vfs);
                free(st->devs[i].bars);
        }
        free(st->devs);
        for (size_t i = 0; i < st->n_groups; i++)
                free(st->groups[i].members);
        free(st->groups);
        free(st->i915_dkms);
        free(st->cmdline);
        pv_strv_done(&st->cmdline_args);
        pv_strv_done(&st->modules);
        pv_strv_done(&st->sys_modules);
        for (size_t i = 0; i < st->n_fb_ranges; i++)
                free(st->fb_ranges[i].name);
        free(st->fb_ranges);
        free(st->boot.etc_kernel_cmdline.path);
        free(st->boot.etc_kernel_cmdline.content);
        free(st->boot.etc_default_grub.path);
        free(st->boot.etc_default_grub.content);
        free_files(st->boot.grub_d, st->boot.n_grub_d);
        free(st->etc_modules.path);
        free(st->etc_modules.content);
        free_files(st->modules_load_d, st->n_modules_load_d);
        free_files(st->modprobe_d, st->n_modprobe_d);
        free(f->spec.vfio);
        free(f->spec.sriov);
        pv_strv_done(&f->spec.kernel_args);
        pv_strv_done(&f->spec.softdeps);
        pv_strv_done(&f->spec.blacklist);
        pv_hostplan_inputs_done(&f->in);
        pv_plan_done(&f->plan);
        pv_error_done(&f->err);
}

int plan(struct fx *f) {
        pv_plan_done(&f->plan);
        pv_error_done(&f->err);
        int r = pv_host_plan_build(&f->spec, &f->st, &f->opts, &f->plan, &f->err);
        /* every action is typed: the payload of its kind and a key no other action of its node has */
        for (size_t i = 0; r == 0 && i < f->plan.n; i++) {
                const struct pv_action *a = &f->plan.actions[i];
                assert_int_equal(a->payload_kind, pv_action_kind_info(a->kind)->payload);
                assert_non_null(a->key);
                assert_ptr_equal(pv_plan_find_key(&f->plan, a->node, a->key), a);
        }
        assert_int_equal(f->plan.n_reboots, f->plan.n_reboot_reasons);
        return r;
}

const struct pv_action *find_act(const struct fx *f, enum pv_action_kind kind, const char *target) {
        for (size_t i = 0; i < f->plan.n; i++)
                if (f->plan.actions[i].kind == kind && (!target || strcmp(f->plan.actions[i].target, target) == 0))
                        return &f->plan.actions[i];
        return NULL;
}

size_t act_index(const struct fx *f, const struct pv_action *a) {
        return (size_t)(a - f->plan.actions);
}

const struct pv_action *find_cmd(const struct fx *f, const char *cmd) {
        for (size_t i = 0; i < f->plan.n; i++)
                if (f->plan.actions[i].kind == PV_ACT_RUN_COMMAND && strcmp(f->plan.actions[i].after, cmd) == 0)
                        return &f->plan.actions[i];
        return NULL;
}

size_t count_cmds(const struct fx *f) {
        size_t n = 0;
        for (size_t i = 0; i < f->plan.n; i++)
                n += f->plan.actions[i].kind == PV_ACT_RUN_COMMAND;
        return n;
}

bool any_note(char **v, size_t n, const char *needle) {
        for (size_t i = 0; i < n; i++)
                if (strstr(v[i], needle))
                        return true;
        return false;
}
/* Feed the planned files back into the state, as a successful apply would leave them. */
void simulate_apply(struct fx *f) {
        for (size_t i = 0; i < f->plan.n; i++) {
                const struct pv_action *a = &f->plan.actions[i];
                if (a->kind != PV_ACT_WRITE_FILE && a->kind != PV_ACT_EDIT_FILE && a->kind != PV_ACT_REMOVE_FILE)
                        continue;
                const char *after = a->kind == PV_ACT_REMOVE_FILE ? NULL : a->after;
                if (strcmp(a->target, PV_HOSTPLAN_GRUB_DROPIN) == 0)
                        push_file(&f->st.boot.grub_d, &f->st.boot.n_grub_d, a->target, after);
                else if (strcmp(a->target, PV_HOSTPLAN_KERNEL_CMDLINE) == 0) {
                        set_file(&f->st.boot.etc_kernel_cmdline, a->target, after);
                        for (size_t k = 0; k < a->n_keys; k++) {
                                if (a->keys[k].after)
                                        pv_strv_push(&f->in.owned_args, a->keys[k].after, NULL);
                        }
                } else if (strcmp(a->target, PV_HOSTPLAN_MODULES) == 0)
                        push_file(&f->st.modules_load_d, &f->st.n_modules_load_d, a->target, after);
                else if (strcmp(a->target, PV_HOSTPLAN_MODPROBE) == 0)
                        push_file(&f->st.modprobe_d, &f->st.n_modprobe_d, a->target, after);
                else if (strcmp(a->target, PV_HOSTPLAN_UDEV_VFIO) == 0)
                        set_file(&f->in.udev_vfio, a->target, after);
                else if (strcmp(a->target, PV_HOSTPLAN_UDEV_SRIOV) == 0)
                        set_file(&f->in.udev_sriov, a->target, after);
                else
                        fail_msg("unexpected file %s", a->target);
        }
        for (size_t i = 0; i < f->plan.n; i++)
                if (f->plan.actions[i].kind == PV_ACT_RUN_COMMAND &&
                    strstr(f->plan.actions[i].after, "systemctl enable"))
                        f->in.nvidia_sriov_enabled = true;
}
