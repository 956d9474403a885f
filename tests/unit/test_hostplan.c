/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The host planner on hand-built host states: every decision, and idempotence. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "pvfio/hostplan.h"

/* ------------------------------------------------------------ fixtures */

struct fx {
        struct pv_host_state st;
        struct pv_host_spec spec;
        struct pv_hostplan_inputs in;
        struct pv_host_plan_opts opts;
        struct pv_plan plan;
        struct pv_error err;
};

static char *xstrdup(const char *s) {
        char *d = s ? strdup(s) : NULL;
        assert_true(!s || d);
        return d;
}

static void set_file(struct pv_host_file *f, const char *path, const char *content) {
        free(f->path);
        free(f->content);
        f->path = xstrdup(path);
        f->present = content != NULL;
        f->content = xstrdup(content);
        f->len = content ? strlen(content) : 0;
}

static void push_file(struct pv_host_file **v, size_t *n, const char *path, const char *content) {
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

static struct pv_host_dev *add_dev(struct fx *f, const char *addr, uint16_t ven, uint16_t dev, uint32_t cls, int group,
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
static void build_groups(struct fx *f) {
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

static void set_cmdline(struct fx *f, const char *proc) {
        free(f->st.cmdline);
        pv_strv_done(&f->st.cmdline_args);
        f->st.cmdline = xstrdup(proc);
        assert_int_equal(pv_cmdline_split(proc, &f->st.cmdline_args, NULL), 0);
}

static void base_host(struct fx *f, enum pv_cpu_vendor cpu, unsigned kmaj, unsigned kmin, enum pv_bootloader bl) {
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
static void laptop(struct fx *f, unsigned kmaj, unsigned kmin, enum pv_bootloader bl) {
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

static struct pv_devsel *add_sel(struct fx *f, enum pv_devsel_kind kind, const char *what) {
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

static void fx_done(struct fx *f) {
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

static int plan(struct fx *f) {
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

static const struct pv_action *find_act(const struct fx *f, enum pv_action_kind kind, const char *target) {
        for (size_t i = 0; i < f->plan.n; i++)
                if (f->plan.actions[i].kind == kind && (!target || strcmp(f->plan.actions[i].target, target) == 0))
                        return &f->plan.actions[i];
        return NULL;
}

static size_t act_index(const struct fx *f, const struct pv_action *a) {
        return (size_t)(a - f->plan.actions);
}

static const struct pv_action *find_cmd(const struct fx *f, const char *cmd) {
        for (size_t i = 0; i < f->plan.n; i++)
                if (f->plan.actions[i].kind == PV_ACT_RUN_COMMAND && strcmp(f->plan.actions[i].after, cmd) == 0)
                        return &f->plan.actions[i];
        return NULL;
}

static size_t count_cmds(const struct fx *f) {
        size_t n = 0;
        for (size_t i = 0; i < f->plan.n; i++)
                n += f->plan.actions[i].kind == PV_ACT_RUN_COMMAND;
        return n;
}

static bool any_note(char **v, size_t n, const char *needle) {
        for (size_t i = 0; i < n; i++)
                if (strstr(v[i], needle))
                        return true;
        return false;
}
#define has_warning(f, s) any_note((f)->plan.warnings, (f)->plan.n_warnings, (s))
#define has_reboot(f, s) any_note((f)->plan.reboot_reasons, (f)->plan.n_reboot_reasons, (s))

/* Feed the planned files back into the state, as a successful apply would leave them. */
static void simulate_apply(struct fx *f) {
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

/* ----------------------------------------------------------- cmdline */

static char *unwrap(char *line) {
        size_t n = strlen(line);
        while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
                line[--n] = '\0';
        if (strcmp(line, "<empty>") == 0)
                return line + n;
        if (n >= 2 && line[0] == '|' && line[n - 1] == '|') {
                line[n - 1] = '\0';
                return line + 1;
        }
        return line;
}

static void test_cmdline_triplets(void **state) {
        (void)state;
        const char *src = getenv("PVFIO_SOURCE_DIR");
        char path[4096];
        snprintf(path, sizeof path, "%s/tests/hostplan/cmdline.test", src ? src : PVFIO_SOURCE_DIR);
        FILE *fp = fopen(path, "r");
        assert_non_null(fp);
        char l1[1024], l2[1024], l3[1024];
        unsigned cases = 0, lineno = 0;
        for (;;) {
                if (!fgets(l1, sizeof l1, fp))
                        break;
                lineno++;
                if (l1[0] == '#' || l1[0] == '\n')
                        continue;
                assert_non_null(fgets(l2, sizeof l2, fp));
                assert_non_null(fgets(l3, sizeof l3, fp));
                lineno += 2;
                char *edit = unwrap(l1), *in = unwrap(l2), *want = unwrap(l3);
                const char *add[16], *rm[16];
                size_t na = 0, nr = 0;
                for (char *save = NULL, *tok = strtok_r(edit, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
                        assert_true(tok[0] == '+' || tok[0] == '-');
                        if (tok[0] == '+')
                                add[na++] = tok + 1;
                        else
                                rm[nr++] = tok + 1;
                }
                char *got = NULL;
                struct pv_error e = PV_ERROR_INIT;
                assert_int_equal(pv_cmdline_edit(in, add, na, rm, nr, &got, &e), 0);
                if (strcmp(got, want) != 0)
                        fail_msg("cmdline.test:%u: got '%s', want '%s'", lineno, got, want);
                free(got);
                cases++;
        }
        fclose(fp);
        assert_true(cases >= 20);
}

static void test_cmdline_split(void **state) {
        (void)state;
        struct pv_strv t = PV_STRV_INIT;
        assert_int_equal(pv_cmdline_split("  a=1 b=\"x y\"  \"c=d e\" f", &t, NULL), 0);
        assert_int_equal(t.n, 4);
        assert_string_equal(t.v[0], "a=1");
        assert_string_equal(t.v[1], "b=\"x y\"");
        assert_string_equal(t.v[2], "\"c=d e\"");
        assert_string_equal(t.v[3], "f");
        assert_true(pv_cmdline_has(&t, "f"));
        assert_false(pv_cmdline_has(&t, "a=2"));
        pv_strv_done(&t);
        assert_true(pv_cmdline_token_equal("vfio-pci.ids=1", "vfio_pci.ids=1"));
        assert_false(pv_cmdline_token_equal("vfio-pci.ids=a-b", "vfio-pci.ids=a_b")); /* values are exact */
}

/* ---------------------------------------------------------- planner */

static void test_laptop_grub_intel_old_kernel(void **state) {
        (void)state;
        struct fx f;
        laptop(&f, 6, 5, PV_BOOTLOADER_GRUB);
        add_sel(&f, PV_DEVSEL_ADDR, "01:00.0");
        assert_int_equal(plan(&f), 0);

        const struct pv_action *g = find_act(&f, PV_ACT_WRITE_FILE, PV_HOSTPLAN_GRUB_DROPIN);
        assert_non_null(g);
        assert_null(g->before);
        assert_non_null(strstr(g->after, "GRUB_CMDLINE_LINUX_DEFAULT=\"$GRUB_CMDLINE_LINUX_DEFAULT intel_iommu=on "
                                         "iommu=pt\"\n"));
        assert_true(g->needs_reboot);
        assert_string_equal(g->node, "pve1");
        assert_null(find_act(&f, PV_ACT_EDIT_FILE, NULL));

        const struct pv_action *m = find_act(&f, PV_ACT_WRITE_FILE, PV_HOSTPLAN_MODULES);
        assert_non_null(m);
        assert_non_null(strstr(m->after, "\nvfio\nvfio_iommu_type1\nvfio_pci\n"));
        assert_null(strstr(m->after, "vfio_virqfd"));

        const struct pv_action *mp = find_act(&f, PV_ACT_WRITE_FILE, PV_HOSTPLAN_MODPROBE);
        assert_non_null(mp);
        /* the audio companion comes along; softdeps are the drivers bound to the targets now */
        assert_non_null(strstr(mp->after, "\noptions vfio-pci ids=10de:25a0,10de:2291\n"));
        assert_non_null(strstr(mp->after, "\nsoftdep nvidia pre: vfio-pci\nsoftdep snd_hda_intel pre: vfio-pci\n"));
        assert_null(strstr(mp->after, "blacklist"));
        assert_null(strstr(mp->after, "disable_vga"));
        assert_non_null(strstr(mp->after, "# 0000:01:00.1 Audio device [10de:2291] (companion function)\n"));

        /* refresh: initramfs first, then grub, each after the files it depends on */
        const struct pv_action *ui = find_cmd(&f, PV_CMD_UPDATE_INITRAMFS), *ug = find_cmd(&f, PV_CMD_UPDATE_GRUB);
        assert_non_null(ui);
        assert_non_null(ug);
        assert_null(find_cmd(&f, PV_CMD_PBT_REFRESH));
        assert_int_equal(count_cmds(&f), 2);
        assert_true(act_index(&f, ui) < act_index(&f, ug));
        assert_int_equal(ui->depends_on, (int)act_index(&f, mp) + 1);
        assert_int_equal(ug->depends_on, (int)act_index(&f, ui) + 1);
        assert_null(find_act(&f, PV_ACT_REBIND_DEVICE, NULL));

        assert_true(has_reboot(&f, "pve1: kernel arguments not active yet (missing from /proc/cmdline): intel_iommu=on "
                                   "iommu=pt"));
        assert_true(has_reboot(&f, "0000:01:00.0 is bound to 'nvidia'"));
        assert_true(has_reboot(&f, "0000:01:00.1 is bound to 'snd_hda_intel'"));
        assert_null(find_act(&f, PV_ACT_WRITE_FILE, PV_HOSTPLAN_UDEV_VFIO));
        fx_done(&f);
}

static void test_idempotent_second_plan(void **state) {
        (void)state;
        for (int bl = 0; bl < 2; bl++) {
                struct fx f;
                laptop(&f, 6, 5, bl ? PV_BOOTLOADER_SYSTEMD_BOOT : PV_BOOTLOADER_GRUB);
                add_sel(&f, PV_DEVSEL_ID, "10de:25a0");
                f.spec.disable_vga = true;
                pv_strv_push(&f.spec.kernel_args, "initcall_blacklist=sysfb_init", NULL);
                assert_int_equal(plan(&f), 0);
                assert_true(f.plan.n >= 5);
                simulate_apply(&f);
                assert_int_equal(plan(&f), 0);
                assert_int_equal(f.plan.n, 0);   /* no write, no command */
                /* the host still needs its reboot */
                assert_true(has_reboot(&f, "kernel arguments not active yet"));
                /* after the reboot everything matches: no actions, no reasons */
                set_cmdline(&f, bl ? "initrd=x root=ZFS=rpool/ROOT/pve-1 boot=zfs intel_iommu=on iommu=pt "
                                     "initcall_blacklist=sysfb_init"
                                   : "BOOT_IMAGE=/boot/vmlinuz root=/dev/mapper/pve-root ro quiet intel_iommu=on "
                                     "iommu=pt initcall_blacklist=sysfb_init");
                for (size_t i = 0; i < f.st.n_devs; i++)
                        if (f.st.devs[i].vendor == 0x10de) {
                                free(f.st.devs[i].driver);
                                f.st.devs[i].driver = xstrdup("vfio-pci");
                        }
                assert_int_equal(plan(&f), 0);
                assert_int_equal(f.plan.n, 0);
                assert_int_equal(f.plan.n_reboot_reasons, 0);
                fx_done(&f);
        }
}

static void test_intel_new_kernel_and_iommu_on(void **state) {
        (void)state;
        struct fx f;
        laptop(&f, 6, 8, PV_BOOTLOADER_GRUB);
        add_sel(&f, PV_DEVSEL_ADDR, "01:00");
        assert_int_equal(plan(&f), 0);
        const struct pv_action *g = find_act(&f, PV_ACT_WRITE_FILE, PV_HOSTPLAN_GRUB_DROPIN);
        assert_non_null(g);
        assert_null(strstr(g->after, "intel_iommu"));
        assert_non_null(strstr(g->after, "$GRUB_CMDLINE_LINUX_DEFAULT iommu=pt\""));
        f.spec.iommu = PV_ON;
        assert_int_equal(plan(&f), 0);
        g = find_act(&f, PV_ACT_WRITE_FILE, PV_HOSTPLAN_GRUB_DROPIN);
        assert_non_null(strstr(g->after, "intel_iommu=on iommu=pt"));
        /* no iommu_pt and nothing else: no drop-in at all, no update-grub */
        f.spec.iommu = PV_AUTO;
        f.spec.iommu_pt = false;
        assert_int_equal(plan(&f), 0);
        assert_null(find_act(&f, PV_ACT_WRITE_FILE, PV_HOSTPLAN_GRUB_DROPIN));
        assert_null(find_cmd(&f, PV_CMD_UPDATE_GRUB));
        assert_non_null(find_cmd(&f, PV_CMD_UPDATE_INITRAMFS));
        fx_done(&f);
}

static void test_amd_never_amd_iommu_on(void **state) {
        (void)state;
        struct fx f;
        base_host(&f, PV_CPU_AMD, 6, 5, PV_BOOTLOADER_GRUB);
        add_dev(&f, "0000:02:00.0", 0x1a03, 0x2000, 0x030000, 20, "ast");   /* the host keeps a display */
        add_dev(&f, "0000:0a:00.0", 0x1002, 0x73bf, 0x030000, 30, "amdgpu");
        add_dev(&f, "0000:0a:00.1", 0x1002, 0xab28, 0x040300, 30, "snd_hda_intel");
        build_groups(&f);
        add_sel(&f, PV_DEVSEL_ID, "1002:73bf");
        f.spec.iommu = PV_ON;
        pv_strv_push(&f.spec.kernel_args, "amd_iommu=on", NULL);
        assert_int_equal(plan(&f), 0);
        const struct pv_action *g = find_act(&f, PV_ACT_WRITE_FILE, PV_HOSTPLAN_GRUB_DROPIN);
        assert_non_null(g);
        assert_null(strstr(g->after, "amd_iommu"));
        assert_null(strstr(g->after, "intel_iommu"));
        assert_non_null(strstr(g->after, "iommu=pt"));
        assert_true(has_warning(&f, "'amd_iommu=on' dropped"));
        const struct pv_action *mp = find_act(&f, PV_ACT_WRITE_FILE, PV_HOSTPLAN_MODPROBE);
        assert_non_null(strstr(mp->after, "softdep amdgpu pre: vfio-pci\n"));
        assert_non_null(strstr(mp->after, "ids=1002:73bf,1002:ab28\n"));
        fx_done(&f);
}

static void test_systemd_boot_edit(void **state) {
        (void)state;
        struct fx f;
        laptop(&f, 6, 5, PV_BOOTLOADER_SYSTEMD_BOOT);
        add_sel(&f, PV_DEVSEL_ADDR, "01:00.0");
        assert_int_equal(plan(&f), 0);
        assert_null(find_act(&f, PV_ACT_WRITE_FILE, PV_HOSTPLAN_GRUB_DROPIN));
        const struct pv_action *e = find_act(&f, PV_ACT_EDIT_FILE, PV_HOSTPLAN_KERNEL_CMDLINE);
        assert_non_null(e);
        assert_string_equal(e->before, "root=ZFS=rpool/ROOT/pve-1 boot=zfs\n");
        assert_string_equal(e->after, "root=ZFS=rpool/ROOT/pve-1 boot=zfs intel_iommu=on iommu=pt\n");
        assert_int_equal(e->n_keys, 2);
        assert_string_equal(e->keys[0].key, "intel_iommu");
        assert_null(e->keys[0].before);
        assert_string_equal(e->keys[0].after, "intel_iommu=on");
        const struct pv_action *pbt = find_cmd(&f, PV_CMD_PBT_REFRESH), *ui = find_cmd(&f, PV_CMD_UPDATE_INITRAMFS);
        assert_non_null(pbt);
        assert_non_null(ui);
        assert_true(act_index(&f, ui) < act_index(&f, pbt));
        assert_null(find_cmd(&f, PV_CMD_UPDATE_GRUB));

        /* a later profile without intel_iommu: only the token pvfio added goes, the user's stay */
        simulate_apply(&f);
        set_file(&f.st.boot.etc_kernel_cmdline, "etc/kernel/cmdline",
                 "root=ZFS=rpool/ROOT/pve-1 boot=zfs intel_iommu=on iommu=pt quiet\n");
        f.st.kver = (struct pv_kver){ 6, 8, 12 };
        f.spec.iommu_pt = false;
        assert_int_equal(plan(&f), 0);
        e = find_act(&f, PV_ACT_EDIT_FILE, PV_HOSTPLAN_KERNEL_CMDLINE);
        assert_non_null(e);
        assert_string_equal(e->after, "root=ZFS=rpool/ROOT/pve-1 boot=zfs quiet\n");
        assert_int_equal(e->n_keys, 2);
        assert_null(e->keys[0].after);

        /* a token the user had before pvfio is never removed */
        pv_strv_done(&f.in.owned_args);
        assert_int_equal(plan(&f), 0);
        assert_null(find_act(&f, PV_ACT_EDIT_FILE, NULL));
        fx_done(&f);
}

static void test_systemd_boot_needs_root(void **state) {
        (void)state;
        struct fx f;
        laptop(&f, 6, 5, PV_BOOTLOADER_SYSTEMD_BOOT);
        set_file(&f.st.boot.etc_kernel_cmdline, "etc/kernel/cmdline", "boot=zfs quiet\n");
        assert_int_equal(plan(&f), -PV_EUNSUPPORTED);
        assert_non_null(strstr(pv_error_message(&f.err), "no 'root=' argument"));
        assert_int_equal(f.plan.n, 0);
        /* no file: built from /proc/cmdline, without initrd= */
        set_file(&f.st.boot.etc_kernel_cmdline, "etc/kernel/cmdline", NULL);
        assert_int_equal(plan(&f), 0);
        const struct pv_action *e = find_act(&f, PV_ACT_EDIT_FILE, PV_HOSTPLAN_KERNEL_CMDLINE);
        assert_non_null(e);
        assert_null(e->before);
        assert_string_equal(e->after, "root=ZFS=rpool/ROOT/pve-1 boot=zfs intel_iommu=on iommu=pt\n");
        fx_done(&f);
}

static void test_grub_skips_args_already_configured(void **state) {
        (void)state;
        struct fx f;
        laptop(&f, 6, 5, PV_BOOTLOADER_GRUB);
        set_file(&f.st.boot.etc_default_grub, "etc/default/grub",
                 "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet intel_iommu=on\"\nGRUB_CMDLINE_LINUX=\"\"\n");
        assert_int_equal(plan(&f), 0);
        const struct pv_action *g = find_act(&f, PV_ACT_WRITE_FILE, PV_HOSTPLAN_GRUB_DROPIN);
        assert_non_null(g);
        assert_non_null(strstr(g->after, "$GRUB_CMDLINE_LINUX_DEFAULT iommu=pt\""));
        /* a leftover drop-in on a host that now boots systemd-boot is removed */
        push_file(&f.st.boot.grub_d, &f.st.boot.n_grub_d, PV_HOSTPLAN_GRUB_DROPIN, g->after);
        f.st.boot.loader = PV_BOOTLOADER_SYSTEMD_BOOT;
        set_file(&f.st.boot.etc_kernel_cmdline, "etc/kernel/cmdline", "root=ZFS=rpool/ROOT/pve-1 boot=zfs\n");
        assert_int_equal(plan(&f), 0);
        assert_non_null(find_act(&f, PV_ACT_REMOVE_FILE, PV_HOSTPLAN_GRUB_DROPIN));
        assert_non_null(find_cmd(&f, PV_CMD_UPDATE_GRUB));
        assert_non_null(find_cmd(&f, PV_CMD_PBT_REFRESH));
        fx_done(&f);
}

static void test_old_kernel_virqfd_and_warning(void **state) {
        (void)state;
        struct fx f;
        laptop(&f, 5, 15, PV_BOOTLOADER_GRUB);
        add_sel(&f, PV_DEVSEL_ADDR, "01:00.0");
        assert_int_equal(plan(&f), 0);
        assert_non_null(strstr(find_act(&f, PV_ACT_WRITE_FILE, PV_HOSTPLAN_MODULES)->after, "\nvfio_virqfd\n"));
        fx_done(&f);
        laptop(&f, 6, 8, PV_BOOTLOADER_GRUB);
        add_sel(&f, PV_DEVSEL_ADDR, "01:00.0");
        set_file(&f.st.etc_modules, "etc/modules", "# /etc/modules\nvfio\nvfio_iommu_type1\nvfio_pci\nvfio_virqfd\n");
        assert_int_equal(plan(&f), 0);
        assert_null(strstr(find_act(&f, PV_ACT_WRITE_FILE, PV_HOSTPLAN_MODULES)->after, "virqfd"));
        assert_true(has_warning(&f, "etc/modules lists 'vfio_virqfd'"));
        fx_done(&f);
}

static void test_softdeps(void **state) {
        (void)state;
        struct fx f;
        base_host(&f, PV_CPU_INTEL, 6, 8, PV_BOOTLOADER_GRUB);
        add_dev(&f, "0000:00:02.0", 0x8086, 0x9a60, 0x030000, 0, "i915");   /* the host keeps a display */
        /* Turing card: VGA, audio, USB-C xHCI, UCSI serial bus */
        add_dev(&f, "0000:01:00.0", 0x10de, 0x1e87, 0x030000, 1, "nouveau");
        add_dev(&f, "0000:01:00.1", 0x10de, 0x10f8, 0x040300, 1, "snd_hda_intel");
        add_dev(&f, "0000:01:00.2", 0x10de, 0x1ad8, 0x0c0330, 1, "xhci_hcd");
        add_dev(&f, "0000:01:00.3", 0x10de, 0x1ad9, 0x0c8000, 1, "nvidia-gpu");
        build_groups(&f);
        add_sel(&f, PV_DEVSEL_ADDR, "01:00.0");
        assert_int_equal(plan(&f), 0);
        const struct pv_action *mp = find_act(&f, PV_ACT_WRITE_FILE, PV_HOSTPLAN_MODPROBE);
        assert_non_null(strstr(mp->after, "softdep i2c_nvidia_gpu pre: vfio-pci\nsoftdep nouveau pre: vfio-pci\n"
                                          "softdep snd_hda_intel pre: vfio-pci\nsoftdep xhci_pci pre: vfio-pci\n"));
        assert_non_null(strstr(mp->after, "ids=10de:1e87,10de:10f8,10de:1ad8,10de:1ad9\n"));
        /* after the reboot the devices are on vfio-pci: the recorded softdeps stay (no churn) */
        simulate_apply(&f);
        for (size_t i = 0; i < f.st.n_devs; i++) {
                free(f.st.devs[i].driver);
                f.st.devs[i].driver = xstrdup("vfio-pci");
        }
        assert_int_equal(plan(&f), 0);
        assert_null(find_act(&f, PV_ACT_WRITE_FILE, PV_HOSTPLAN_MODPROBE));
        /* explicit list instead of auto */
        f.spec.softdeps_auto = false;
        pv_strv_push(&f.spec.softdeps, "nvidia", NULL);
        assert_int_equal(plan(&f), 0);
        mp = find_act(&f, PV_ACT_WRITE_FILE, PV_HOSTPLAN_MODPROBE);
        assert_non_null(mp);
        assert_non_null(strstr(mp->after, "\nsoftdep nvidia pre: vfio-pci\n"));
        assert_null(strstr(mp->after, "nouveau"));
        /* blacklist only where asked */
        pv_strv_push(&f.spec.blacklist, "nouveau", NULL);
        assert_int_equal(plan(&f), 0);
        assert_non_null(strstr(find_act(&f, PV_ACT_WRITE_FILE, PV_HOSTPLAN_MODPROBE)->after, "\nblacklist nouveau\n"));
        fx_done(&f);
}

/* Two identical GPUs; only the second goes to a VM. */
static void twins(struct fx *f) {
        base_host(f, PV_CPU_AMD, 6, 8, PV_BOOTLOADER_GRUB);
        add_dev(f, "0000:01:00.0", 0x10de, 0x2204, 0x030000, 20, "nvidia")->boot_vga = 1;
        add_dev(f, "0000:01:00.1", 0x10de, 0x1aef, 0x040300, 20, "snd_hda_intel");
        add_dev(f, "0000:02:00.0", 0x10de, 0x2204, 0x030000, 21, "nvidia")->boot_vga = 0;
        add_dev(f, "0000:02:00.1", 0x10de, 0x1aef, 0x040300, 21, "snd_hda_intel");
        build_groups(f);
        add_sel(f, PV_DEVSEL_ADDR, "02:00.0");
}

static void test_identical_gpus(void **state) {
        (void)state;
        struct fx f;
        twins(&f);
        assert_int_equal(plan(&f), -PV_EUNSAFE);
        assert_non_null(strstr(pv_error_message(&f.err), "0000:01:00.0"));
        assert_non_null(strstr(pv_error_message(&f.err), "binding: driver_override"));
        assert_string_equal(f.err.file, "p.yaml");
        assert_int_equal(f.plan.n, 0);

        f.spec.binding = PV_BIND_DRIVER_OVERRIDE;
        assert_int_equal(plan(&f), 0);
        const struct pv_action *u = find_act(&f, PV_ACT_WRITE_FILE, PV_HOSTPLAN_UDEV_VFIO);
        assert_non_null(u);
        assert_non_null(strstr(u->after, "ACTION==\"add\", SUBSYSTEM==\"pci\", KERNEL==\"0000:02:00.0\", "
                                         "ATTR{driver_override}=\"vfio-pci\", "
                                         "RUN+=\"/bin/sh -c 'echo %k > /sys/bus/pci/drivers_probe'\"\n"));
        assert_non_null(strstr(u->after, "KERNEL==\"0000:02:00.1\""));
        assert_null(strstr(u->after, "0000:01:00"));
        const struct pv_action *mp = find_act(&f, PV_ACT_WRITE_FILE, PV_HOSTPLAN_MODPROBE);
        assert_non_null(mp);
        assert_null(strstr(mp->after, "ids="));
        assert_non_null(strstr(mp->after, "softdep nvidia pre: vfio-pci"));
        /* udev rules need no initramfs, but modprobe.d does */
        assert_non_null(find_cmd(&f, PV_CMD_UPDATE_INITRAMFS));
        /* switching back to ids would remove the rule file again */
        simulate_apply(&f);
        assert_int_equal(plan(&f), 0);
        assert_int_equal(f.plan.n, 0);
        fx_done(&f);
}

/* A GPU in the chipset group with SATA, USB and a NIC. */
static void shared_board(struct fx *f) {
        base_host(f, PV_CPU_INTEL, 6, 8, PV_BOOTLOADER_GRUB);
        add_dev(f, "0000:00:14.0", 0x8086, 0xa2af, 0x0c0330, 12, "xhci_hcd");
        add_dev(f, "0000:00:17.0", 0x8086, 0xa282, 0x010601, 12, "ahci");
        add_dev(f, "0000:00:1c.0", 0x8086, 0xa290, 0x060400, 12, "pcieport");
        add_dev(f, "0000:00:1f.6", 0x8086, 0x15b8, 0x020000, 12, "e1000e");
        add_dev(f, "0000:00:02.0", 0x8086, 0x3e92, 0x030000, 2, "i915");   /* the host keeps a display */
        add_dev(f, "0000:03:00.0", 0x1002, 0x67df, 0x030000, 12, "amdgpu");
        add_dev(f, "0000:03:00.1", 0x1002, 0xaaf0, 0x040300, 12, "snd_hda_intel");
        build_groups(f);
        add_sel(f, PV_DEVSEL_ADDR, "03:00.0");
}

static void test_shared_group(void **state) {
        (void)state;
        struct fx f;
        shared_board(&f);
        assert_int_equal(plan(&f), -PV_EUNSAFE);
        const char *m = pv_error_message(&f.err);
        assert_non_null(strstr(m, "IOMMU group 12"));
        assert_non_null(strstr(m, "0000:00:17.0 SATA controller [8086:a282] (ahci)"));
        assert_non_null(strstr(m, "0000:00:14.0 USB controller"));
        assert_non_null(strstr(m, "0000:00:1f.6 Ethernet controller"));
        assert_null(strstr(m, "0000:00:1c.0"));   /* the bridge is fine */
        assert_null(strstr(m, "0000:03:00.1"));   /* the companion is passed too */
        assert_non_null(strstr(m, "accept_shared_groups"));
        assert_int_equal(f.plan.n, 0);

        f.spec.accept_shared_groups = true;
        assert_int_equal(plan(&f), 0);
        assert_true(has_warning(&f, "accepted by 'accept_shared_groups'"));
        const struct pv_action *mp = find_act(&f, PV_ACT_WRITE_FILE, PV_HOSTPLAN_MODPROBE);
        assert_true(mp->unsafe);
        assert_non_null(strstr(mp->after, "ids=1002:67df,1002:aaf0\n"));
        fx_done(&f);
}

static void test_companions_and_bridges(void **state) {
        (void)state;
        struct fx f;
        laptop(&f, 6, 8, PV_BOOTLOADER_GRUB);
        struct pv_devsel *s = add_sel(&f, PV_DEVSEL_ADDR, "01:00.0");
        s->companions = false;
        /* the audio function stays on snd_hda_intel in the same group: not viable */
        assert_int_equal(plan(&f), -PV_EUNSAFE);
        assert_non_null(strstr(pv_error_message(&f.err), "0000:01:00.1 Audio device"));
        /* unbound, it is only a warning */
        free(f.st.devs[5].driver);
        f.st.devs[5].driver = NULL;
        assert_int_equal(plan(&f), 0);
        assert_true(has_warning(&f, "is in the same IOMMU group of 0000:01:00.0 but not passed through (companions: false)"));
        assert_non_null(strstr(find_act(&f, PV_ACT_WRITE_FILE, PV_HOSTPLAN_MODPROBE)->after, "ids=10de:25a0\n"));
        /* a selector that only hits a bridge */
        s->companions = true;
        s->addr.bus = 0, s->addr.dev = 1, s->addr.func = 0;
        assert_int_equal(plan(&f), -PV_EINVAL);
        assert_non_null(strstr(pv_error_message(&f.err), "only matches PCI bridges"));
        /* nothing at all */
        s->addr.bus = 9;
        assert_int_equal(plan(&f), -PV_ENOTFOUND);
        assert_non_null(strstr(pv_error_message(&f.err), "matches no PCI device on node 'pve1'"));
        /* a match selector by class and vendor */
        s->kind = PV_DEVSEL_MATCH;
        s->has_vendor = true, s->vendor = 0x10de;
        s->has_class = true, s->class_code = 0x0300, s->class_bits = 16;
        assert_int_equal(plan(&f), 0);
        assert_non_null(strstr(find_act(&f, PV_ACT_WRITE_FILE, PV_HOSTPLAN_MODPROBE)->after,
                               "ids=10de:25a0,10de:2291\n"));
        fx_done(&f);
}

static void test_gvtg(void **state) {
        (void)state;
        struct fx f;
        base_host(&f, PV_CPU_INTEL, 6, 1, PV_BOOTLOADER_GRUB);
        add_dev(&f, "0000:00:02.0", 0x8086, 0x3e92, 0x030000, 0, "i915")->boot_vga = 1;
        build_groups(&f);
        f.spec.vgpu = PV_VGPU_GVTG;
        assert_int_equal(plan(&f), 0);
        const struct pv_action *g = find_act(&f, PV_ACT_WRITE_FILE, PV_HOSTPLAN_GRUB_DROPIN);
        assert_non_null(strstr(g->after, "intel_iommu=on iommu=pt i915.enable_gvt=1\""));
        const struct pv_action *m = find_act(&f, PV_ACT_WRITE_FILE, PV_HOSTPLAN_MODULES);
        assert_non_null(strstr(m->after, "\nkvmgt\n"));
        /* mediated devices stay on i915: no vfio-pci binding file */
        assert_null(find_act(&f, PV_ACT_WRITE_FILE, PV_HOSTPLAN_MODPROBE));
        add_sel(&f, PV_DEVSEL_ADDR, "00:02.0");
        assert_int_equal(plan(&f), -PV_EINVAL);
        assert_non_null(strstr(pv_error_message(&f.err), "GVT-g"));
        fx_done(&f);
}

static void test_nvidia_sriov_vgpu(void **state) {
        (void)state;
        struct fx f;
        base_host(&f, PV_CPU_AMD, 6, 8, PV_BOOTLOADER_GRUB);
        struct pv_host_dev *l4 = add_dev(&f, "0000:41:00.0", 0x10de, 0x27b8, 0x030200, 40, "nvidia");
        l4->is_pf = true;
        l4->sriov_totalvfs = 32;
        l4->has_nvidia_dir = true;
        build_groups(&f);
        f.spec.vgpu = PV_VGPU_NVIDIA_SRIOV;
        pv_strv_push(&f.spec.blacklist, "nvidia", NULL);
        assert_int_equal(plan(&f), -PV_EINVAL);
        assert_non_null(strstr(pv_error_message(&f.err), "NVIDIA vGPU"));
        pv_strv_done(&f.spec.blacklist);
        pv_strv_push(&f.spec.blacklist, "nouveau", NULL);
        assert_int_equal(plan(&f), 0);
        const struct pv_action *en = find_cmd(&f, "systemctl enable pve-nvidia-sriov@ALL.service");
        assert_non_null(en);
        assert_string_equal(en->before, "systemctl disable pve-nvidia-sriov@ALL.service");
        assert_null(strstr(find_act(&f, PV_ACT_WRITE_FILE, PV_HOSTPLAN_MODPROBE)->after, "blacklist nvidia"));
        assert_true(has_reboot(&f, "pve-nvidia-sriov@ALL.service"));
        /* the vGPU card itself cannot be a vfio target */
        add_sel(&f, PV_DEVSEL_ADDR, "41:00.0");
        assert_int_equal(plan(&f), -PV_EINVAL);
        f.spec.n_vfio = 0;
        f.in.nvidia_sriov_enabled = true;
        f.opts.rebind = false;
        assert_int_equal(plan(&f), 0);
        assert_null(find_cmd(&f, "systemctl enable pve-nvidia-sriov@ALL.service"));
        fx_done(&f);
}

static void test_sriov(void **state) {
        (void)state;
        struct fx f;
        base_host(&f, PV_CPU_INTEL, 6, 8, PV_BOOTLOADER_SYSTEMD_BOOT);
        struct pv_host_dev *pf = add_dev(&f, "0000:00:02.0", 0x8086, 0xa7a0, 0x030000, 0, "i915");
        pf->is_pf = true;
        pf->sriov_totalvfs = 7;
        pf->sriov_numvfs = 0;
        build_groups(&f);
        f.spec.sriov = calloc(1, sizeof *f.spec.sriov);
        f.spec.n_sriov = 1;
        assert_int_equal(pv_pci_addr_parse("0000:00:02.0", &f.spec.sriov[0].pf, NULL), 0);
        f.spec.sriov[0].numvfs = 9;
        /* i915 SR-IOV needs the out-of-tree driver (issue 10 item 10) */
        assert_int_equal(plan(&f), -PV_EINVAL);
        assert_non_null(strstr(pv_error_message(&f.err), "i915-sriov-dkms"));
        f.st.i915_dkms = xstrdup("lib/modules/6.8.12-4-pve/updates/dkms/i915.ko");
        assert_int_equal(plan(&f), -PV_EINVAL);
        assert_non_null(strstr(pv_error_message(&f.err), "at most 7"));
        f.spec.sriov[0].numvfs = 7;
        assert_int_equal(plan(&f), 0);
        const struct pv_action *u = find_act(&f, PV_ACT_WRITE_FILE, PV_HOSTPLAN_UDEV_SRIOV);
        assert_non_null(u);
        assert_non_null(strstr(u->after, "ACTION==\"add|bind\", SUBSYSTEM==\"pci\", KERNEL==\"0000:00:02.0\", "
                                         "TEST==\"driver\", ATTR{sriov_numvfs}==\"0\", ATTR{sriov_numvfs}=\"7\"\n"));
        assert_null(find_act(&f, PV_ACT_SET_SRIOV, NULL));
        assert_true(has_reboot(&f, "0000:00:02.0 has 0 SR-IOV VFs"));
        /* --rebind: now */
        f.opts.rebind = true;
        assert_int_equal(plan(&f), 0);
        const struct pv_action *s = find_act(&f, PV_ACT_SET_SRIOV, "0000:00:02.0");
        assert_non_null(s);
        assert_null(s->blocked);
        assert_string_equal(s->keys[0].key, "sriov_numvfs");
        assert_string_equal(s->keys[0].before, "0");
        assert_string_equal(s->keys[0].after, "7");
        assert_false(has_reboot(&f, "SR-IOV"));
        /* a VF in use blocks a change of the count */
        pf = &f.st.devs[0];
        pf->sriov_numvfs = 2;
        pf->n_vfs = 2;
        pf->vfs = calloc(2, sizeof *pf->vfs);
        pv_pci_addr_parse("0000:00:02.1", &pf->vfs[0], NULL);
        pv_pci_addr_parse("0000:00:02.2", &pf->vfs[1], NULL);
        add_dev(&f, "0000:00:02.1", 0x8086, 0xa7a0, 0x030000, 17, "vfio-pci")->is_vf = true;
        add_dev(&f, "0000:00:02.2", 0x8086, 0xa7a0, 0x030000, 18, NULL)->is_vf = true;
        assert_int_equal(plan(&f), 0);
        s = find_act(&f, PV_ACT_SET_SRIOV, "0000:00:02.0");
        assert_non_null(s->blocked);
        assert_non_null(strstr(s->blocked, "0000:00:02.1"));
        /* a VF selected for vfio: no companions (the PF is the same slot) */
        f.opts.rebind = false;
        add_sel(&f, PV_DEVSEL_ADDR, "00:02.2");
        f.spec.binding = PV_BIND_DRIVER_OVERRIDE;
        assert_int_equal(plan(&f), 0);
        u = find_act(&f, PV_ACT_WRITE_FILE, PV_HOSTPLAN_UDEV_VFIO);
        assert_non_null(strstr(u->after, "0000:00:02.2"));
        assert_null(strstr(u->after, "0000:00:02.0"));
        assert_null(strstr(u->after, "0000:00:02.1"));
        /* binding the PF itself is a contradiction */
        f.spec.vfio[0].addr.func = 0;
        assert_int_equal(plan(&f), -PV_EINVAL);
        assert_non_null(strstr(pv_error_message(&f.err), "physical function"));
        fx_done(&f);
}

static void test_rebind(void **state) {
        (void)state;
        struct fx f;
        twins(&f);
        f.spec.binding = PV_BIND_DRIVER_OVERRIDE;
        f.opts.rebind = true;
        assert_int_equal(plan(&f), 0);
        const struct pv_action *mpc = find_cmd(&f, "modprobe vfio-pci");
        assert_non_null(mpc);
        const struct pv_action *r0 = find_act(&f, PV_ACT_REBIND_DEVICE, "0000:02:00.0");
        const struct pv_action *r1 = find_act(&f, PV_ACT_REBIND_DEVICE, "0000:02:00.1");
        assert_non_null(r0);
        assert_non_null(r1);
        assert_null(r0->blocked);
        assert_int_equal(r0->depends_on, (int)act_index(&f, mpc) + 1);
        assert_string_equal(r0->keys[0].key, "driver");
        assert_string_equal(r0->keys[0].before, "nvidia");
        assert_string_equal(r0->keys[0].after, "vfio-pci");
        assert_false(has_reboot(&f, "0000:02:00.0 is bound"));
        /* vfio-pci already loaded: no modprobe */
        pv_strv_push(&f.st.modules, "vfio_pci", NULL);
        assert_int_equal(plan(&f), 0);
        assert_null(find_cmd(&f, "modprobe vfio-pci"));
        assert_int_equal(find_act(&f, PV_ACT_REBIND_DEVICE, "0000:02:00.0")->depends_on, 0);
        fx_done(&f);

        /* the boot GPU whose BAR holds the boot framebuffer */
        twins(&f);
        f.spec.binding = PV_BIND_DRIVER_OVERRIDE;
        f.spec.vfio[0].addr.bus = 1;
        f.opts.rebind = true;
        struct pv_host_dev *g = &f.st.devs[0];
        g->bars_read = true;
        g->n_bars = 1;
        g->bars = calloc(1, sizeof *g->bars);
        g->bars[0] = (struct pv_bar){ 1, 0xe0000000, 0xefffffff, 0 };
        f.st.n_fb_ranges = 1;
        f.st.fb_ranges = calloc(1, sizeof *f.st.fb_ranges);
        f.st.fb_ranges[0] = (struct pv_iomem_range){ 0xe0000000, 0xe07e8fff, xstrdup("BOOTFB") };
        assert_int_equal(plan(&f), 0);
        const struct pv_action *rb = find_act(&f, PV_ACT_REBIND_DEVICE, "0000:01:00.0");
        assert_non_null(rb);
        assert_non_null(rb->blocked);
        assert_non_null(strstr(rb->blocked, "BOOTFB"));
        assert_true(has_reboot(&f, "0000:01:00.0 is bound to 'nvidia' and cannot be rebound live"));
        assert_true(has_warning(&f, "boot GPU"));
        assert_true(has_warning(&f, "initcall_blacklist=sysfb_init"));
        fx_done(&f);

        /* a NIC in use is never unbound live */
        base_host(&f, PV_CPU_INTEL, 6, 8, PV_BOOTLOADER_GRUB);
        add_dev(&f, "0000:05:00.0", 0x8086, 0x1533, 0x020000, 9, "igb");
        build_groups(&f);
        add_sel(&f, PV_DEVSEL_ADDR, "05:00.0");
        f.opts.rebind = true;
        assert_int_equal(plan(&f), 0);
        rb = find_act(&f, PV_ACT_REBIND_DEVICE, "0000:05:00.0");
        assert_non_null(rb->blocked);
        assert_non_null(strstr(rb->blocked, "Ethernet controller in use by the host ('igb')"));
        fx_done(&f);
}

static void test_unsafe_options(void **state) {
        (void)state;
        struct fx f;
        laptop(&f, 6, 8, PV_BOOTLOADER_GRUB);
        add_sel(&f, PV_DEVSEL_ADDR, "01:00.0");
        pv_strv_push(&f.spec.kernel_args, "pcie_acs_override=downstream,multifunction", NULL);
        assert_int_equal(plan(&f), -PV_EUNSAFE);
        assert_non_null(strstr(pv_error_message(&f.err), "allow_unsafe"));
        f.spec.allow_unsafe = true;
        f.st.iommu.ir = PV_IR_ABSENT;
        assert_int_equal(plan(&f), 0);
        const struct pv_action *mp = find_act(&f, PV_ACT_WRITE_FILE, PV_HOSTPLAN_MODPROBE);
        assert_non_null(strstr(mp->after, "\noptions vfio_iommu_type1 allow_unsafe_interrupts=1\n"));
        assert_true(mp->unsafe);
        assert_non_null(strstr(find_act(&f, PV_ACT_WRITE_FILE, PV_HOSTPLAN_GRUB_DROPIN)->after,
                               "iommu=pt pcie_acs_override=downstream,multifunction\""));
        /* shell-unsafe characters never reach a file GRUB sources */
        pv_strv_push(&f.spec.kernel_args, "foo=$(reboot)", NULL);
        assert_int_equal(plan(&f), -PV_EINVAL);
        fx_done(&f);
}

static void test_removal_when_no_longer_needed(void **state) {
        (void)state;
        struct fx f;
        laptop(&f, 6, 8, PV_BOOTLOADER_GRUB);
        add_sel(&f, PV_DEVSEL_ADDR, "01:00.0");
        assert_int_equal(plan(&f), 0);
        simulate_apply(&f);
        /* the profile drops its vfio devices and iommu=pt */
        f.spec.n_vfio = 0;
        f.spec.iommu_pt = false;
        assert_int_equal(plan(&f), 0);
        assert_non_null(find_act(&f, PV_ACT_REMOVE_FILE, PV_HOSTPLAN_MODPROBE));
        assert_non_null(find_act(&f, PV_ACT_REMOVE_FILE, PV_HOSTPLAN_MODULES));
        const struct pv_action *rg = find_act(&f, PV_ACT_REMOVE_FILE, PV_HOSTPLAN_GRUB_DROPIN);
        assert_non_null(rg);
        assert_null(rg->after);
        assert_non_null(rg->before);
        assert_non_null(find_cmd(&f, PV_CMD_UPDATE_INITRAMFS));
        assert_non_null(find_cmd(&f, PV_CMD_UPDATE_GRUB));
        fx_done(&f);
}

static void test_appends_to_existing_plan(void **state) {
        (void)state;
        struct fx f;
        laptop(&f, 6, 5, PV_BOOTLOADER_GRUB);
        add_sel(&f, PV_DEVSEL_ADDR, "01:00.0");
        struct pv_action pre = { .kind = PV_ACT_CREATE_MAPPING };
        pre.target = xstrdup("mapping x");
        pre.reason = xstrdup("test");
        assert_int_equal(pv_plan_add(&f.plan, &pre, NULL), 0);
        assert_int_equal(pv_host_plan_build(&f.spec, &f.st, &f.opts, &f.plan, &f.err), 0);
        const struct pv_action *ui = find_cmd(&f, PV_CMD_UPDATE_INITRAMFS);
        const struct pv_action *mp = find_act(&f, PV_ACT_WRITE_FILE, PV_HOSTPLAN_MODPROBE);
        assert_int_equal(ui->depends_on, (int)act_index(&f, mp) + 1);   /* absolute indexes */
        fx_done(&f);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_cmdline_triplets),
                cmocka_unit_test(test_cmdline_split),
                cmocka_unit_test(test_laptop_grub_intel_old_kernel),
                cmocka_unit_test(test_idempotent_second_plan),
                cmocka_unit_test(test_intel_new_kernel_and_iommu_on),
                cmocka_unit_test(test_amd_never_amd_iommu_on),
                cmocka_unit_test(test_systemd_boot_edit),
                cmocka_unit_test(test_systemd_boot_needs_root),
                cmocka_unit_test(test_grub_skips_args_already_configured),
                cmocka_unit_test(test_old_kernel_virqfd_and_warning),
                cmocka_unit_test(test_softdeps),
                cmocka_unit_test(test_identical_gpus),
                cmocka_unit_test(test_shared_group),
                cmocka_unit_test(test_companions_and_bridges),
                cmocka_unit_test(test_gvtg),
                cmocka_unit_test(test_nvidia_sriov_vgpu),
                cmocka_unit_test(test_sriov),
                cmocka_unit_test(test_rebind),
                cmocka_unit_test(test_unsafe_options),
                cmocka_unit_test(test_removal_when_no_longer_needed),
                cmocka_unit_test(test_appends_to_existing_plan),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
