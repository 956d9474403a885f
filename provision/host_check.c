/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Passthrough readiness: group assessment and the check verdicts. Pure
 * functions over a scanned struct pv_host_state (no file access here).
 */
#include "pvfio/bootcfg.h"
#include "pvfio/host.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pvfio/buf.h"
#include "pvfio/cleanup.h"
#include "pvfio/util.h"

/* ------------------------------------------------------------ strings */

const char *pv_check_status_to_string(enum pv_check_status st) {
        switch (st) {
        case PV_CHECK_PASS: return "pass";
        case PV_CHECK_WARN: return "warn";
        case PV_CHECK_FAIL: return "fail";
        }
        return "fail";
}

const char *pv_bootloader_to_string(enum pv_bootloader b) {
        switch (b) {
        case PV_BOOTLOADER_GRUB: return "grub";
        case PV_BOOTLOADER_SYSTEMD_BOOT: return "systemd-boot";
        case PV_BOOTLOADER_UNKNOWN: break;
        }
        return "unknown";
}

const char *pv_group_verdict_to_string(enum pv_group_verdict v) {
        switch (v) {
        case PV_GROUP_NO_IOMMU: return "no-iommu";
        case PV_GROUP_ALONE: return "alone";
        case PV_GROUP_COMPANIONS: return "companions";
        case PV_GROUP_SHARED: return "shared";
        }
        return "no-iommu";
}

const char *const *pv_host_iommu_args(const struct pv_host_state *s) {
        static const char *const intel_on[] = { "intel_iommu=on", NULL };
        static const char *const none[] = { NULL };
        if (s->cpu.vendor == PV_CPU_INTEL && s->kver.major && !pv_host_kernel_at_least(s, 6, 8))
                return intel_on;
        return none;
}

/* ---------------------------------------------------------- group safety */

void pv_group_assessment_done(struct pv_group_assessment *a) {
        if (!a)
                return;
        free(a->companions);
        free(a->bridges);
        free(a->unrelated);
        free(a->platform);
        memset(a, 0, sizeof(*a));
}

static int assess(const struct pv_host_state *s, size_t subject, struct pv_group_assessment *ret, struct pv_error *err) {
        const struct pv_host_dev *d = &s->devs[subject];
        struct pv_group_assessment a = { .verdict = PV_GROUP_NO_IOMMU, .group = -1 };
        size_t n = 0;
        const size_t *m = pv_host_group_members(s, d, &n);
        if (!m) {
                *ret = a;
                return 0;
        }
        a.group = d->iommu_group;
        a.companions = calloc(n, sizeof(size_t));
        a.bridges = calloc(n, sizeof(size_t));
        a.unrelated = calloc(n, sizeof(size_t));
        a.platform = calloc(n, sizeof(size_t));
        if (!a.companions || !a.bridges || !a.unrelated || !a.platform) {
                pv_group_assessment_done(&a);
                return pv_error_set(err, PV_ENOMEM, "out of memory");
        }
        for (size_t i = 0; i < n; i++) {
                const struct pv_host_dev *o = &s->devs[m[i]];
                if (pv_host_dev_platform_role(o))
                        a.platform[a.n_platform++] = m[i];
                if (m[i] == subject)
                        continue;
                /* a driverless host bridge (AMD's dummy host bridges) is no device the host would lose */
                if (o->is_bridge || pv_host_dev_is_idle_host_bridge(o))
                        a.bridges[a.n_bridges++] = m[i];
                else if (pv_pci_addr_same_slot(&o->addr, &d->addr))
                        a.companions[a.n_companions++] = m[i];
                else
                        a.unrelated[a.n_unrelated++] = m[i];
        }
        a.verdict = a.n_unrelated ? PV_GROUP_SHARED : a.n_companions ? PV_GROUP_COMPANIONS : PV_GROUP_ALONE;
        *ret = a;
        return 0;
}

int pv_host_assess_device(const struct pv_host_state *s, size_t dev_index, struct pv_group_assessment *ret,
                          struct pv_error *err) {
        if (dev_index >= s->n_devs)
                return pv_error_set(err, PV_EINVAL, "no device with index %zu", dev_index);
        return assess(s, dev_index, ret, err);
}

int pv_host_assess_group(const struct pv_host_state *s, const struct pv_host_group *g,
                         struct pv_group_assessment *ret, struct pv_error *err) {
        if (!g->n_members)
                return pv_error_set(err, PV_EINVAL, "IOMMU group %d has no members", g->id);
        size_t subject = g->members[0];
        bool found = false;
        for (size_t i = 0; i < g->n_members && !found; i++)
                if (pv_host_dev_is_display(&s->devs[g->members[i]])) {
                        subject = g->members[i];
                        found = true;
                }
        for (size_t i = 0; i < g->n_members && !found; i++)
                if (!s->devs[g->members[i]].is_bridge && !pv_host_dev_is_platform(&s->devs[g->members[i]])) {
                        subject = g->members[i];
                        found = true;
                }
        for (size_t i = 0; i < g->n_members && !found; i++)
                if (!s->devs[g->members[i]].is_bridge) {
                        subject = g->members[i];
                        found = true;
                }
        return assess(s, subject, ret, err);
}

/* ---------------------------------------------------------- check list */

void pv_check_list_done(struct pv_check_list *l) {
        if (!l)
                return;
        for (size_t i = 0; i < l->n; i++) {
                free(l->v[i].id);
                free(l->v[i].title);
                free(l->v[i].evidence);
                free(l->v[i].fix);
        }
        free(l->v);
        memset(l, 0, sizeof(*l));
}

enum pv_check_status pv_check_list_worst(const struct pv_check_list *l) {
        enum pv_check_status w = PV_CHECK_PASS;
        for (size_t i = 0; i < l->n; i++)
                if (l->v[i].status > w)
                        w = l->v[i].status;
        return w;
}

/* Append a verdict; takes ownership of evidence and fix (both may be NULL). */
static int add_check(struct pv_check_list *l, const char *id, enum pv_check_status st, const char *title,
                     char *evidence, char *fix, struct pv_error *err) {
        if (l->n == l->alloc) {
                size_t na = l->alloc ? l->alloc * 2 : 16;
                struct pv_check *nv = realloc(l->v, na * sizeof(*nv));
                if (!nv) {
                        free(evidence);
                        free(fix);
                        return pv_error_set(err, PV_ENOMEM, "out of memory");
                }
                l->v = nv;
                l->alloc = na;
        }
        struct pv_check c = { .status = st, .evidence = evidence, .fix = fix };
        c.id = strdup(id);
        c.title = strdup(title);
        if (!c.id || !c.title) {
                free(c.id);
                free(c.title);
                free(evidence);
                free(fix);
                return pv_error_set(err, PV_ENOMEM, "out of memory");
        }
        l->v[l->n++] = c;
        return 0;
}

/* asprintf that returns NULL on failure (checked by the caller via a flag) */
static char *fmt(bool *oom, const char *f, ...) PV_PRINTF(2, 3);
static char *fmt(bool *oom, const char *f, ...) {
        va_list ap;
        va_start(ap, f);
        char *s = NULL;
        if (vasprintf(&s, f, ap) < 0) {
                s = NULL;
                *oom = true;
        }
        va_end(ap);
        return s;
}

static char *join_strv(const struct pv_strv *sv, const char *sep, bool *oom) {
        struct pv_buf b = PV_BUF_INIT;
        for (size_t i = 0; i < sv->n; i++)
                if ((i && pv_buf_adds(&b, sep, NULL) < 0) || pv_buf_adds(&b, sv->v[i], NULL) < 0) {
                        *oom = true;
                        pv_buf_release(&b);
                        return NULL;
                }
        char *r = NULL;
        size_t len;
        if (pv_buf_detach(&b, &r, &len, NULL) < 0)
                *oom = true;
        return r;
}

static char *join_list(const char *const *v, const char *sep, bool *oom) {
        struct pv_buf b = PV_BUF_INIT;
        for (size_t i = 0; v[i]; i++)
                if ((i && pv_buf_adds(&b, sep, NULL) < 0) || pv_buf_adds(&b, v[i], NULL) < 0) {
                        *oom = true;
                        pv_buf_release(&b);
                        return NULL;
                }
        char *r = NULL;
        size_t len;
        if (pv_buf_detach(&b, &r, &len, NULL) < 0)
                *oom = true;
        return r;
}

/* ---------------------------------------------------- config file parsing */

/* Words of a modules list file (etc/modules, modules-load.d): one module per line, '#'/';' comments. */
static int collect_module_lines(const struct pv_host_file *f, struct pv_strv *out, struct pv_error *err) {
        if (!f->present || !f->content)
                return 0;
        _cleanup_free_ char *txt = pv_strdup(f->content, err);
        if (!txt)
                return -PV_ENOMEM;
        for (char *line = txt, *next; line && *line; line = next) {
                next = strchr(line, '\n');
                if (next)
                        *next++ = '\0';
                while (isspace((unsigned char)*line))
                        line++;
                if (*line == '#' || *line == ';' || !*line)
                        continue;
                char *end = line;
                while (*end && !isspace((unsigned char)*end))
                        end++;
                *end = '\0';
                for (char *p = line; *p; p++)
                        if (*p == '-')
                                *p = '_';
                int r = pv_strv_push(out, line, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int configured_modules(const struct pv_host_state *s, struct pv_strv *out, struct pv_error *err) {
        int r = collect_module_lines(&s->etc_modules, out, err);
        for (size_t i = 0; r == 0 && i < s->n_modules_load_d; i++)
                r = collect_module_lines(&s->modules_load_d[i], out, err);
        return r;
}

static bool strv_has_mod(const struct pv_strv *sv, const char *mod) {
        for (size_t i = 0; i < sv->n; i++) {
                const char *a = sv->v[i], *b = mod;
                for (; *a && *b; a++, b++)
                        if ((*a == '-' ? '_' : *a) != (*b == '-' ? '_' : *b))
                                break;
                if (!*a && !*b)
                        return true;
        }
        return false;
}


/* The kernel arguments the boot configuration will pass on the next boot (pvfio/bootcfg.h: the same
 * parser the planner uses). */
static int configured_kernel_args(const struct pv_host_state *s, struct pv_strv *out, const char **ret_where,
                                  struct pv_error *err) {
        return pv_bootcfg_configured_args(s, out, ret_where, err);
}

/* "key" of a kernel argument: up to '=' (or the whole word). */
static size_t arg_key_len(const char *a) {
        const char *eq = strchr(a, '=');
        return eq ? (size_t)(eq - a) : strlen(a);
}

static const char *find_arg(const struct pv_strv *args, const char *want, const char **ret_same_key) {
        size_t kl = arg_key_len(want);
        const char *same = NULL;
        for (size_t i = 0; i < args->n; i++) {
                if (strcmp(args->v[i], want) == 0)
                        return args->v[i];
                if (arg_key_len(args->v[i]) == kl && strncmp(args->v[i], want, kl) == 0)
                        same = args->v[i];
        }
        if (ret_same_key)
                *ret_same_key = same;
        return NULL;
}

/* vendor:device ids claimed by vfio-pci ids= bindings: modprobe.d, initramfs modules, the active and the
 * configured kernel command line (pvfio/bootcfg.h), pvfio's own modprobe file included. */
static int vfio_ids_configured(const struct pv_host_state *s, struct pv_strv *out, struct pv_error *err) {
        struct pv_vfio_binding *v = NULL;
        size_t n = 0;
        int r = pv_bootcfg_vfio_bindings(s, &v, &n, err);
        for (size_t i = 0; r == 0 && i < n; i++) {
                for (size_t k = 0; r == 0 && k < v[i].n_ids; k++) {
                        char id[10];
                        pv_pci_id_format(&v[i].ids[k], id);
                        if (!pv_strv_contains(out, id))
                                r = pv_strv_push(out, id, err);
                }
        }
        pv_vfio_bindings_free(v, n);
        /* pvfio's own options line (the bindings list leaves pvfio's files out) */
        for (size_t i = 0; r == 0 && i < s->n_modprobe_d; i++) {
                const struct pv_host_file *f = &s->modprobe_d[i];
                if (!f->content || !f->path || strcmp(f->path, "etc/modprobe.d/pvfio.conf") != 0)
                        continue;
                struct pv_modprobe_line *l = NULL;
                size_t nl = 0;
                r = pv_modprobe_parse(f->content, &l, &nl, err);
                for (size_t j = 0; r == 0 && j < nl; j++) {
                        if (l[j].kind != PV_MODPROBE_OPTIONS || !pv_module_name_equal(l[j].module, "vfio_pci"))
                                continue;
                        for (size_t w = 0; r == 0 && w < l[j].words.n; w++) {
                                if (!pv_startswith(l[j].words.v[w], "ids="))
                                        continue;
                                _cleanup_free_ char *ids = pv_strdup(l[j].words.v[w] + 4, err);
                                if (!ids) {
                                        r = -PV_ENOMEM;
                                        break;
                                }
                                char *save = NULL;
                                for (char *id = strtok_r(ids, ",", &save); r == 0 && id; id = strtok_r(NULL, ",", &save)) {
                                        for (char *p = id; *p; p++)
                                                *p = (char)tolower((unsigned char)*p);
                                        if (!pv_strv_contains(out, id))
                                                r = pv_strv_push(out, id, err);
                                }
                        }
                }
                pv_modprobe_lines_free(l, nl);
        }
        return r;
}

static bool modprobe_has(const struct pv_host_state *s, const char *needle) {
        for (size_t i = 0; i < s->n_modprobe_d; i++)
                if (s->modprobe_d[i].content && strstr(s->modprobe_d[i].content, needle))
                        return true;
        return false;
}

/* -------------------------------------------------------------- checks */

struct check_ctx {
        const struct pv_host_state *s;
        const struct pv_check_input *in;
        struct pv_check_list *l;
        struct pv_strv reboot;           /* reboot reasons collected by the other checks */
        struct pv_error *err;
        bool oom;
};

#define ADD(cc, id, st, title, ev, fx)                                                                  \
        do {                                                                                            \
                char *_ev = (ev), *_fx = (fx);                                                          \
                if ((cc)->oom) {                                                                        \
                        free(_ev);                                                                      \
                        free(_fx);                                                                      \
                        return pv_error_set((cc)->err, PV_ENOMEM, "out of memory");                     \
                }                                                                                       \
                int _r = add_check((cc)->l, (id), (st), (title), _ev, _fx, (cc)->err);                  \
                if (_r < 0)                                                                             \
                        return _r;                                                                      \
        } while (0)

static int reboot_reason(struct check_ctx *c, char *reason) {
        if (!reason) {
                c->oom = true;
                return pv_error_set(c->err, PV_ENOMEM, "out of memory");
        }
        return pv_strv_push_take(&c->reboot, reason, c->err);
}

static int check_cpu(struct check_ctx *c) {
        const struct pv_cpu_info *cpu = &c->s->cpu;
        const char *model = cpu->model_name ? cpu->model_name : "unknown model";
        if (cpu->vmx || cpu->svm)
                ADD(c, "cpu-virt", PV_CHECK_PASS, cpu->vmx ? "CPU virtualization (Intel VT-x) available"
                                                          : "CPU virtualization (AMD-V) available",
                    fmt(&c->oom, "flag '%s' in proc/cpuinfo (%s)", cpu->vmx ? "vmx" : "svm", model), NULL);
        else if (!cpu->count)
                ADD(c, "cpu-virt", PV_CHECK_FAIL, "CPU virtualization unknown",
                    fmt(&c->oom, "proc/cpuinfo is missing or lists no processor"),
                    fmt(&c->oom, "check that the root is a host root with a mounted proc"));
        else
                ADD(c, "cpu-virt", PV_CHECK_FAIL, "CPU virtualization not available",
                    fmt(&c->oom, "neither 'vmx' nor 'svm' in the flags of proc/cpuinfo (%s)", model),
                    fmt(&c->oom, "enable %s in the firmware setup (or, in a VM, expose it with nested virtualization)",
                        cpu->vendor == PV_CPU_AMD ? "SVM (AMD-V)" : "Intel VT-x (Virtualization Technology)"));
        return 0;
}

static char *units_list(const struct pv_host_state *s, bool *oom) {
        struct pv_buf b = PV_BUF_INIT;
        for (size_t i = 0; i < s->iommu.n_units && i < 8; i++)
                if ((i && pv_buf_adds(&b, ", ", NULL) < 0) || pv_buf_adds(&b, s->iommu.units[i].name, NULL) < 0)
                        *oom = true;
        if (s->iommu.n_units > 8 && pv_buf_adds(&b, ", …", NULL) < 0)
                *oom = true;
        char *r = NULL;
        size_t len;
        if (pv_buf_detach(&b, &r, &len, NULL) < 0)
                *oom = true;
        return r;
}

static int check_iommu(struct check_ctx *c) {
        const struct pv_host_state *s = c->s;
        if (s->iommu.active) {
                _cleanup_free_ char *units = units_list(s, &c->oom);
                ADD(c, "iommu", PV_CHECK_PASS, "IOMMU active",
                    fmt(&c->oom, "%zu unit(s) in sys/class/iommu (%s), %zu IOMMU group(s) in sys/kernel/iommu_groups",
                        s->iommu.n_units, units ? units : "", s->iommu.n_groups_sysfs),
                    NULL);
                return 0;
        }
        const char *off = NULL;
        for (size_t i = 0; i < s->cmdline_args.n && !off; i++) {
                const char *a = s->cmdline_args.v[i];
                if (strcmp(a, "intel_iommu=off") == 0 || strcmp(a, "amd_iommu=off") == 0 || strcmp(a, "iommu=off") == 0)
                        off = a;
        }
        bool intel = s->cpu.vendor == PV_CPU_INTEL;
        bool table = intel ? s->iommu.dmar_table : s->cpu.vendor == PV_CPU_AMD ? s->iommu.ivrs_table
                                                                               : s->iommu.dmar_table || s->iommu.ivrs_table;
        const char *tname = intel ? "DMAR" : s->cpu.vendor == PV_CPU_AMD ? "IVRS" : "DMAR/IVRS";
        const char *fw = intel ? "VT-d" : s->cpu.vendor == PV_CPU_AMD ? "AMD-Vi (IOMMU)" : "VT-d / AMD-Vi";
        char *ev, *fix;
        if (off) {
                ev = fmt(&c->oom, "sys/class/iommu is empty and proc/cmdline contains '%s'", off);
                fix = fmt(&c->oom, "remove '%s' from the kernel command line (%s) and reboot", off,
                          s->boot.loader == PV_BOOTLOADER_SYSTEMD_BOOT ? "etc/kernel/cmdline" : "etc/default/grub");
        } else if (!table) {
                ev = fmt(&c->oom, "sys/class/iommu is empty and there is no %s table in sys/firmware/acpi/tables: the "
                                  "firmware does not announce an IOMMU",
                         tname);
                fix = fmt(&c->oom, "enable %s in the firmware (BIOS/UEFI) setup, then reboot", fw);
        } else if (intel && s->kver.major && !pv_host_kernel_at_least(s, 6, 8) &&
                   !find_arg(&s->cmdline_args, "intel_iommu=on", NULL)) {
                ev = fmt(&c->oom, "sys/class/iommu is empty; kernel %s is older than 6.8, which does not enable the "
                                  "Intel IOMMU by default, and proc/cmdline lacks 'intel_iommu=on'",
                         s->kernel_release ? s->kernel_release : "?");
                fix = fmt(&c->oom, "add 'intel_iommu=on' to the kernel command line ('pvfio host apply' does it) and "
                                   "reboot");
        } else {
                ev = fmt(&c->oom, "sys/class/iommu is empty although the %s table exists", tname);
                fix = fmt(&c->oom, "check 'dmesg | grep -e DMAR -e IOMMU -e AMD-Vi' for why the kernel did not enable "
                                   "the IOMMU");
        }
        ADD(c, "iommu", PV_CHECK_FAIL, "IOMMU not active", ev, fix);
        return 0;
}

static int check_firmware(struct check_ctx *c) {
        const struct pv_host_state *s = c->s;
        bool amd = s->cpu.vendor == PV_CPU_AMD;
        bool have = amd ? s->iommu.ivrs_table : s->iommu.dmar_table || (!s->cpu.vendor && s->iommu.ivrs_table);
        const char *t = amd ? "IVRS" : "DMAR";
        if (have) {
                char *ev;
                if (!amd && s->iommu.dmar_flags >= 0)
                        ev = fmt(&c->oom, "sys/firmware/acpi/tables/DMAR present (flags 0x%02x: interrupt remapping %s"
                                          "%s)",
                                 (unsigned)s->iommu.dmar_flags,
                                 (s->iommu.dmar_flags & 1) ? "supported" : "not announced",
                                 (s->iommu.dmar_flags & 2) ? ", x2APIC opt-out" : "");
                else
                        ev = fmt(&c->oom, "sys/firmware/acpi/tables/%s present", t);
                ADD(c, "iommu-firmware", PV_CHECK_PASS, amd ? "firmware announces AMD-Vi (IVRS table)"
                                                            : "firmware announces VT-d (DMAR table)",
                    ev, NULL);
        } else {
                ADD(c, "iommu-firmware", s->iommu.active ? PV_CHECK_WARN : PV_CHECK_FAIL,
                    amd ? "no IVRS table" : "no DMAR table",
                    fmt(&c->oom, "sys/firmware/acpi/tables/%s is absent", t),
                    fmt(&c->oom, "enable %s in the firmware (BIOS/UEFI) setup", amd ? "AMD-Vi / IOMMU" : "VT-d"));
        }
        return 0;
}

static int check_ir(struct check_ctx *c) {
        const struct pv_host_state *s = c->s;
        bool unsafe_ok = modprobe_has(s, "allow_unsafe_interrupts=1");
        bool unit_ir = false;
        for (size_t i = 0; i < s->iommu.n_units; i++)
                unit_ir |= s->iommu.units[i].ir_capable;
        if (!s->iommu.active && s->iommu.ir != PV_IR_ACTIVE) {
                /* remapping is done by the IOMMU: with it off nothing is "missing" yet, and
                 * allow_unsafe_interrupts would be the wrong advice (issue 10 item 11) */
                ADD(c, "interrupt-remapping", PV_CHECK_WARN, "interrupt remapping not checked: the IOMMU is off",
                    fmt(&c->oom, "interrupt remapping is done by the IOMMU, which is not active (see the 'iommu' "
                                 "check)%s",
                        unit_ir ? "; the IOMMU unit supports it (ECAP bit 3)" : ""),
                    fmt(&c->oom, "turn the IOMMU on first, then run 'pvfio host check' again"));
                return 0;
        }
        if (s->iommu.ir == PV_IR_ACTIVE) {
                _cleanup_free_ char *chips = join_strv(&s->iommu.ir_chips, ", ", &c->oom);
                ADD(c, "interrupt-remapping", PV_CHECK_PASS, "interrupt remapping active",
                    fmt(&c->oom, "remapped interrupt chips in proc/interrupts: %s", chips ? chips : ""), NULL);
        } else if (s->iommu.ir == PV_IR_ABSENT) {
                _cleanup_free_ char *chips = join_strv(&s->iommu.plain_msi_chips, ", ", &c->oom);
                ADD(c, "interrupt-remapping", unsafe_ok ? PV_CHECK_WARN : PV_CHECK_FAIL, "no interrupt remapping",
                    fmt(&c->oom, "proc/interrupts shows only non-remapped chips (%s)%s%s", chips ? chips : "",
                        unit_ir ? "; the IOMMU unit supports it (ECAP bit 3)" : "",
                        unsafe_ok ? "; etc/modprobe.d sets allow_unsafe_interrupts=1" : ""),
                    unsafe_ok ? fmt(&c->oom, "passthrough works but a guest could inject interrupts; prefer enabling "
                                             "interrupt remapping in the firmware")
                              : fmt(&c->oom, "enable interrupt remapping (VT-d/AMD-Vi with x2APIC) in the firmware; "
                                             "only as a last resort add 'options vfio_iommu_type1 "
                                             "allow_unsafe_interrupts=1' to etc/modprobe.d"));
        } else {
                ADD(c, "interrupt-remapping", PV_CHECK_WARN, "interrupt remapping unknown",
                    fmt(&c->oom, "proc/interrupts is missing or shows no MSI/IO-APIC chip%s",
                        unit_ir ? "; the IOMMU unit supports it (ECAP bit 3)" : ""),
                    fmt(&c->oom, "check 'dmesg | grep remapping'"));
        }
        return 0;
}

/* The running kernel already gave up isolation guarantees (pcie_acs_override, allow_unsafe_interrupts). */
static int check_overrides(struct check_ctx *c) {
        const struct pv_host_state *s = c->s;
        const char *acs = NULL;
        for (size_t i = 0; i < s->cmdline_args.n && !acs; i++)
                if (pv_startswith(s->cmdline_args.v[i], "pcie_acs_override="))
                        acs = s->cmdline_args.v[i];
        if (s->acs_override_active)
                ADD(c, "acs-override", PV_CHECK_WARN,
                    "IOMMU groups are split by pcie_acs_override, not isolated by the hardware",
                    fmt(&c->oom, "proc/cmdline: %s", acs ? acs : "pcie_acs_override"),
                    fmt(&c->oom, "a passed-through device may still reach the other devices of its real group "
                                 "(peer-to-peer DMA around the IOMMU), including the host's; accept that risk, or "
                                 "move the card to a slot with its own group and drop the override"));
        if (s->unsafe_interrupts_active)
                ADD(c, "unsafe-interrupts", PV_CHECK_WARN, "vfio allows devices without interrupt remapping",
                    fmt(&c->oom, "allow_unsafe_interrupts is on (proc/cmdline or "
                                 "sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts)"),
                    fmt(&c->oom, "a VM's device can raise arbitrary interrupts (MSI) in the host; enable interrupt "
                                 "remapping in the firmware and drop the option where possible"));
        return 0;
}

static int check_kernel(struct check_ctx *c, const struct pv_strv *configured) {
        const struct pv_host_state *s = c->s;
        const char *const *mods = pv_host_vfio_modules(s);
        _cleanup_free_ char *list = join_list(mods, ", ", &c->oom);
        if (!s->kver.major) {
                ADD(c, "kernel", PV_CHECK_WARN, "kernel version unknown",
                    fmt(&c->oom, "proc/sys/kernel/osrelease is missing or unparsable"),
                    fmt(&c->oom, "check that the root has a proc/sys/kernel/osrelease"));
        } else {
                bool old = !pv_host_kernel_at_least(s, 5, 15);
                ADD(c, "kernel", old ? PV_CHECK_WARN : PV_CHECK_PASS,
                    old ? "kernel older than 5.15" : "kernel version supported",
                    fmt(&c->oom, "kernel %s: VFIO modules %s%s", s->kernel_release, list ? list : "",
                        pv_host_kernel_at_least(s, 6, 2) ? " (vfio_virqfd is part of vfio since 6.2)" : ""),
                    old ? fmt(&c->oom, "upgrade to a current Proxmox VE kernel (no reset_method control before 5.15)")
                        : NULL);
        }
        /* what etc/modules + modules-load.d will load at boot */
        struct pv_strv missing = PV_STRV_INIT;
        int r = 0;
        for (size_t i = 0; mods[i] && r == 0; i++)
                if (!strv_has_mod(configured, mods[i]))
                        r = pv_strv_push(&missing, mods[i], c->err);
        if (r == 0 && c->in->gvtg && !strv_has_mod(configured, "kvmgt"))
                r = pv_strv_push(&missing, "kvmgt", c->err);
        if (r < 0) {
                pv_strv_done(&missing);
                return r;
        }
        bool virqfd = pv_host_kernel_at_least(s, 6, 2) && strv_has_mod(configured, "vfio_virqfd");
        _cleanup_free_ char *miss = join_strv(&missing, ", ", &c->oom);
        if (virqfd)
                ADD(c, "vfio-modules-config", PV_CHECK_WARN, "obsolete module 'vfio_virqfd' configured",
                    fmt(&c->oom, "etc/modules or etc/modules-load.d lists vfio_virqfd, which does not exist on kernel %s"
                                 "%s%s",
                        s->kernel_release, missing.n ? "; missing: " : "", missing.n ? miss : ""),
                    fmt(&c->oom, "remove 'vfio_virqfd' (systemd-modules-load logs an error for it)%s",
                        missing.n ? " and add the missing modules ('pvfio host apply')" : ""));
        else if (missing.n)
                ADD(c, "vfio-modules-config", PV_CHECK_WARN, "VFIO modules not configured to load at boot",
                    fmt(&c->oom, "etc/modules and etc/modules-load.d do not list: %s", miss ? miss : ""),
                    fmt(&c->oom, "list them in etc/modules-load.d ('pvfio host apply' writes "
                                 "etc/modules-load.d/pvfio.conf), then 'update-initramfs -u -k all'"));
        else
                ADD(c, "vfio-modules-config", PV_CHECK_PASS, "VFIO modules configured to load at boot",
                    fmt(&c->oom, "etc/modules or etc/modules-load.d list %s%s", list ? list : "",
                        c->in->gvtg ? ", kvmgt" : ""),
                    NULL);
        pv_strv_done(&missing);
        return 0;
}

static int check_bootloader(struct check_ctx *c) {
        const struct pv_host_state *s = c->s;
        const struct pv_boot_info *b = &s->boot;
        _cleanup_free_ char *ev = join_strv(&b->evidence, "; ", &c->oom);
        if (b->loader == PV_BOOTLOADER_SYSTEMD_BOOT) {
                const struct pv_host_file *f = &b->etc_kernel_cmdline;
                bool root = false;
                if (f->present && f->content) {
                        struct pv_strv w = PV_STRV_INIT;
                        _cleanup_free_ char *first = pv_strdup(f->content, c->err);
                        if (!first)
                                return -PV_ENOMEM;
                        char *nl = strchr(first, '\n');
                        if (nl)
                                *nl = '\0';
                        int r = pv_host_cmdline_tokens(first, &w, c->err);
                        for (size_t i = 0; r == 0 && i < w.n; i++)
                                root |= pv_startswith(w.v[i], "root=");
                        pv_strv_done(&w);
                        if (r < 0)
                                return r;
                }
                if (!root)
                        ADD(c, "bootloader", PV_CHECK_WARN, "systemd-boot: etc/kernel/cmdline lacks 'root='",
                            fmt(&c->oom, "%s; etc/kernel/cmdline is %s", ev ? ev : "",
                                f->present ? "present without root=" : "absent"),
                            fmt(&c->oom, "write the current root= argument (see proc/cmdline) into etc/kernel/cmdline; "
                                         "'proxmox-boot-tool refresh' aborts without it"));
                else
                        ADD(c, "bootloader", PV_CHECK_PASS, "boot loader: systemd-boot (proxmox-boot-tool)", TAKE_PTR(ev),
                            NULL);
        } else if (b->loader == PV_BOOTLOADER_GRUB) {
                if (!b->etc_default_grub.present && !b->n_grub_d)
                        ADD(c, "bootloader", PV_CHECK_WARN, "boot loader: GRUB, but etc/default/grub is missing",
                            TAKE_PTR(ev), fmt(&c->oom, "install grub (grub-efi-amd64 or grub-pc) or check the root"));
                else
                        ADD(c, "bootloader", PV_CHECK_PASS,
                            b->proxmox_boot_tool ? "boot loader: GRUB (ESPs synced by proxmox-boot-tool)"
                                                 : "boot loader: GRUB",
                            TAKE_PTR(ev), NULL);
        } else {
                ADD(c, "bootloader", PV_CHECK_WARN, "boot loader unknown", TAKE_PTR(ev),
                    fmt(&c->oom, "run 'proxmox-boot-tool status' and 'efibootmgr -v' to find out"));
        }
        return 0;
}

/* No DMAR (Intel) / IVRS (AMD) ACPI table: the firmware has the IOMMU switched off (or lacks it). */
static bool firmware_iommu_off(const struct pv_host_state *s) {
        if (s->iommu.active)
                return false;
        if (s->cpu.vendor == PV_CPU_AMD)
                return !s->iommu.ivrs_table;
        if (s->cpu.vendor == PV_CPU_INTEL)
                return !s->iommu.dmar_table;
        return !s->iommu.dmar_table && !s->iommu.ivrs_table;
}

static const char *firmware_iommu_name(const struct pv_host_state *s) {
        return s->cpu.vendor == PV_CPU_AMD ? "AMD-Vi (IOMMU)" : s->cpu.vendor == PV_CPU_INTEL ? "VT-d" : "VT-d / AMD-Vi";
}

/* Kernel arguments whose point is an active IOMMU. */
static bool wants_iommu_arg(const struct pv_strv *want) {
        for (size_t i = 0; i < want->n; i++)
                if (pv_startswith(want->v[i], "intel_iommu=") || pv_startswith(want->v[i], "amd_iommu=") ||
                    pv_startswith(want->v[i], "iommu="))
                        return true;
        return false;
}

/* Arguments the boot configuration has (GRUB or etc/kernel/cmdline) that the running kernel was not
 * started with, told without -k (issue 10 item 11). Those asked for with -k are the 'kernel-args' check's. */
static int check_pending_args(struct check_ctx *c, const struct pv_strv *want) {
        const struct pv_host_state *s = c->s;
        struct pv_strv conf = PV_STRV_INIT;
        const char *where = "";
        int r = configured_kernel_args(s, &conf, &where, c->err);
        struct pv_buf pending = PV_BUF_INIT;
        size_t n = 0;
        for (size_t i = 0; r == 0 && i < conf.n; i++) {
                const char *a = conf.v[i];
                if (a[0] == '$' || pv_strv_contains(&s->cmdline_args, a) || find_arg(want, a, NULL))
                        continue;   /* $VAR: a GRUB expansion of what is already counted; -k ones: 'kernel-args' */
                bool dup = false;
                for (size_t k = 0; k < i && !dup; k++)
                        dup = strcmp(conf.v[k], a) == 0;
                if (dup)
                        continue;
                n++;
                r = pv_buf_addf(&pending, c->err, "%s'%s'", pending.len ? ", " : "", a);
                if (r == 0)
                        r = reboot_reason(c, fmt(&c->oom, "kernel argument '%s' is in %s but not in proc/cmdline", a,
                                                 where));
        }
        pv_strv_done(&conf);
        if (r < 0 || !n) {
                pv_buf_release(&pending);
                return r;
        }
        char *ev;
        if (firmware_iommu_off(s))
                ev = fmt(&c->oom, "configured in %s: %s; proc/cmdline: %s; the firmware has %s off (no %s table), "
                                  "which no kernel argument changes",
                         where, pending.buf, s->cmdline ? s->cmdline : "(missing)", firmware_iommu_name(s),
                         s->cpu.vendor == PV_CPU_AMD ? "IVRS" : "DMAR");
        else
                ev = fmt(&c->oom, "configured in %s: %s; proc/cmdline: %s", where, pending.buf,
                         s->cmdline ? s->cmdline : "(missing)");
        pv_buf_release(&pending);
        ADD(c, "kernel-args-pending", PV_CHECK_WARN, "configured kernel arguments not active yet", ev,
            fmt(&c->oom, "reboot (after '%s') to start the kernel with them",
                s->boot.loader == PV_BOOTLOADER_SYSTEMD_BOOT ? "proxmox-boot-tool refresh" : "update-grub"));
        return 0;
}

static int check_kernel_args(struct check_ctx *c, const struct pv_strv *want) {
        const struct pv_host_state *s = c->s;
        if (!want->n) {
                ADD(c, "kernel-args", PV_CHECK_PASS, "no kernel arguments required",
                    fmt(&c->oom, "proc/cmdline: %s", s->cmdline ? s->cmdline : "(missing)"), NULL);
                return 0;
        }
        struct pv_strv conf = PV_STRV_INIT;
        const char *where = "";
        int r = configured_kernel_args(s, &conf, &where, c->err);
        if (r < 0) {
                pv_strv_done(&conf);
                return r;
        }
        struct pv_buf ev = PV_BUF_INIT, pending = PV_BUF_INIT, absent = PV_BUF_INIT;
        size_t n_pending = 0, n_absent = 0;
        for (size_t i = 0; i < want->n; i++) {
                const char *w = want->v[i], *same = NULL, *csame = NULL;
                bool active = find_arg(&s->cmdline_args, w, &same) != NULL;
                bool configured = find_arg(&conf, w, &csame) != NULL;
                if (active)
                        continue;
                if (configured) {
                        n_pending++;
                        r = pv_buf_addf(&pending, c->err, "%s'%s'", pending.len ? ", " : "", w);
                        if (r == 0)
                                r = reboot_reason(c, fmt(&c->oom, "kernel argument '%s' is in %s but not in proc/cmdline",
                                                         w, where));
                } else {
                        n_absent++;
                        r = pv_buf_addf(&absent, c->err, "%s'%s'%s%s%s", absent.len ? ", " : "", w,
                                        same ? " (proc/cmdline has '" : "", same ? same : "", same ? "')" : "");
                }
                if (r < 0)
                        break;
        }
        if (r == 0)
                r = pv_buf_addf(&ev, c->err, "proc/cmdline: %s", s->cmdline ? s->cmdline : "(missing)");
        if (r == 0 && n_pending)
                r = pv_buf_addf(&ev, c->err, "; configured in %s but not active: %s", where, pending.buf);
        if (r == 0 && n_absent)
                r = pv_buf_addf(&ev, c->err, "; missing: %s", absent.buf);
        pv_strv_done(&conf);
        pv_buf_release(&pending);
        char *evs = NULL;
        size_t len;
        if (r == 0)
                r = pv_buf_detach(&ev, &evs, &len, c->err);
        pv_buf_release(&ev);
        if (r < 0) {
                pv_buf_release(&absent);
                return r;
        }
        const char *fw_off = firmware_iommu_off(s) && wants_iommu_arg(want) ? firmware_iommu_name(s) : NULL;
        if (fw_off && (n_absent || n_pending)) {
                pv_buf_release(&absent);
                char *ev2 = fmt(&c->oom, "%s; sys/firmware/acpi/tables has no %s table: the firmware has %s off, so "
                                         "no kernel argument can turn the IOMMU on, and a reboot alone changes nothing",
                                evs, s->cpu.vendor == PV_CPU_AMD ? "IVRS" : "DMAR", fw_off);
                free(evs);
                ADD(c, "kernel-args", PV_CHECK_FAIL, "IOMMU arguments cannot take effect: the firmware has the IOMMU off",
                    ev2, fmt(&c->oom, "enable %s in the firmware (BIOS/UEFI) setup, then reboot", fw_off));
        } else if (n_absent) {
                char *fix = fmt(&c->oom, "add %s to %s ('pvfio host apply' does it), refresh the boot loader and reboot",
                                absent.buf, where);
                pv_buf_release(&absent);
                ADD(c, "kernel-args", PV_CHECK_FAIL, "kernel arguments missing", evs, fix);
        } else if (n_pending) {
                pv_buf_release(&absent);
                ADD(c, "kernel-args", PV_CHECK_WARN, "kernel arguments configured, waiting for a reboot", evs,
                    fmt(&c->oom, "reboot (after '%s')",
                        s->boot.loader == PV_BOOTLOADER_SYSTEMD_BOOT ? "proxmox-boot-tool refresh" : "update-grub"));
        } else {
                pv_buf_release(&absent);
                ADD(c, "kernel-args", PV_CHECK_PASS, "kernel arguments active", evs, NULL);
        }
        return 0;
}

static int check_vfio_loaded(struct check_ctx *c, const struct pv_strv *configured) {
        const struct pv_host_state *s = c->s;
        const char *const *mods = pv_host_vfio_modules(s);
        struct pv_strv missing = PV_STRV_INIT;
        int r = 0;
        for (size_t i = 0; mods[i] && r == 0; i++)
                if (!pv_host_module_loaded(s, mods[i]))
                        r = pv_strv_push(&missing, mods[i], c->err);
        if (r == 0 && c->in->gvtg && !pv_host_module_loaded(s, "kvmgt"))
                r = pv_strv_push(&missing, "kvmgt", c->err);
        if (r < 0) {
                pv_strv_done(&missing);
                return r;
        }
        _cleanup_free_ char *miss = join_strv(&missing, ", ", &c->oom);
        _cleanup_free_ char *miss_sp = join_strv(&missing, " ", &c->oom);
        _cleanup_free_ char *all = join_list(mods, ", ", &c->oom);
        bool all_configured = true;
        for (size_t i = 0; i < missing.n; i++)
                all_configured &= strv_has_mod(configured, missing.v[i]);
        if (missing.n && all_configured)
                r = reboot_reason(c, fmt(&c->oom, "module(s) %s are configured to load at boot but are not loaded",
                                         miss ? miss : ""));
        pv_strv_done(&missing);
        if (r < 0)
                return r;
        if (miss && *miss)
                ADD(c, "vfio-loaded", PV_CHECK_WARN, "VFIO modules not loaded",
                    fmt(&c->oom, "proc/modules and sys/module lack: %s", miss),
                    fmt(&c->oom, "'modprobe -a %s' now, and list them in etc/modules-load.d for the next boot "
                                 "('pvfio host apply')",
                        miss_sp ? miss_sp : ""));
        else
                ADD(c, "vfio-loaded", PV_CHECK_PASS, "VFIO modules loaded",
                    fmt(&c->oom, "loaded or built in: %s%s", all ? all : "", c->in->gvtg ? ", kvmgt" : ""), NULL);
        return 0;
}

static bool input_has(const struct pv_check_input *in, const struct pv_pci_addr *a) {
        for (size_t i = 0; i < in->n_devices; i++)
                if (pv_pci_addr_equal(&in->devices[i], a) ||
                    (in->devices[i].func == PV_PCI_FUNC_ALL && pv_pci_addr_same_slot(&in->devices[i], a)))
                        return true;
        return false;
}

static int check_framebuffer(struct check_ctx *c) {
        const struct pv_host_state *s = c->s;
        int added = 0;
        for (size_t i = 0; i < s->n_devs; i++) {
                const struct pv_host_dev *d = &s->devs[i];
                for (size_t b = 0; b < d->n_bars; b++) {
                        if (d->bars[b].index > 6 || !(d->bars[b].flags & 0x200))   /* IORESOURCE_MEM */
                                continue;
                        for (size_t f = 0; f < s->n_fb_ranges; f++) {
                                const struct pv_iomem_range *fb = &s->fb_ranges[f];
                                if (fb->start < d->bars[b].start || fb->end > d->bars[b].end)
                                        continue;
                                bool passed = input_has(c->in, &d->addr);
                                enum pv_check_status st = passed ? PV_CHECK_FAIL
                                                          : c->in->n_devices ? PV_CHECK_PASS : PV_CHECK_WARN;
                                char *ev = fmt(&c->oom, "proc/iomem: %s [%#" PRIx64 "-%#" PRIx64 "] lies inside BAR %u "
                                                        "[%#" PRIx64 "-%#" PRIx64 "] of %s%s",
                                               fb->name, fb->start, fb->end, d->bars[b].index, d->bars[b].start,
                                               d->bars[b].end, d->name, d->boot_vga == 1 ? " (boot_vga=1)" : "");
                                char *fix = st == PV_CHECK_PASS
                                                    ? NULL
                                                    : fmt(&c->oom, "add 'initcall_blacklist=sysfb_init' to the kernel "
                                                                   "command line (with simpledrm built in, also "
                                                                   "'video=simplefb:off'), or make another GPU primary "
                                                                   "in the firmware; otherwise vfio-pci fails with "
                                                                   "\"BAR %u: can't reserve\"",
                                                          d->bars[b].index);
                                ADD(c, "boot-framebuffer", st,
                                    st == PV_CHECK_FAIL   ? "boot framebuffer holds a BAR of a device to pass"
                                    : st == PV_CHECK_WARN ? "boot framebuffer holds a GPU BAR (matters if it is passed)"
                                                          : "boot framebuffer is on a GPU that is not passed",
                                    ev, fix);
                                added++;
                        }
                }
        }
        if (added)
                return 0;
        if (s->n_fb_ranges) {
                /* a framebuffer exists but no BAR information covers it */
                for (size_t i = 0; i < s->n_devs; i++) {
                        const struct pv_host_dev *d = &s->devs[i];
                        if (d->boot_vga != 1 || d->n_bars)
                                continue;
                        bool passed = input_has(c->in, &d->addr);
                        ADD(c, "boot-framebuffer", passed ? PV_CHECK_FAIL : PV_CHECK_WARN,
                            "boot GPU may be held by the framebuffer",
                            fmt(&c->oom, "proc/iomem has '%s' and %s has boot_vga=1 (its BARs are unknown)",
                                s->fb_ranges[0].name, d->name),
                            fmt(&c->oom, "add 'initcall_blacklist=sysfb_init' to the kernel command line if you pass "
                                         "%s", d->name));
                        return 0;
                }
                ADD(c, "boot-framebuffer", PV_CHECK_PASS, "boot framebuffer is not inside a PCI BAR",
                    fmt(&c->oom, "proc/iomem: '%s' at [%#" PRIx64 "-%#" PRIx64 "] is outside every known GPU BAR",
                        s->fb_ranges[0].name, s->fb_ranges[0].start, s->fb_ranges[0].end),
                    NULL);
                return 0;
        }
        ADD(c, "boot-framebuffer", PV_CHECK_PASS, "no boot framebuffer holds a GPU",
            fmt(&c->oom, "no BOOTFB/simpledrm/efifb/vesafb range in proc/iomem"), NULL);
        return 0;
}

static char *dev_label(const struct pv_host_state *s, size_t i, bool *oom) {
        const struct pv_host_dev *d = &s->devs[i];
        _cleanup_free_ char *desc = pv_host_dev_describe(d, NULL);
        if (!desc)
                *oom = true;
        return fmt(oom, "%s %s (driver %s)", d->name, desc ? desc : "", d->driver ? d->driver : "none");
}

/* Does the running kernel's command line (proc/cmdline) give vendor:device `id` to vfio-pci? */
static bool cmdline_binds_id(const struct pv_host_state *s, const char *id) {
        for (size_t i = 0; i < s->cmdline_args.n; i++) {
                const char *a = s->cmdline_args.v[i];
                if (!pv_startswith(a, "vfio-pci.ids=") && !pv_startswith(a, "vfio_pci.ids="))
                        continue;
                for (const char *p = a + strlen("vfio-pci.ids="); *p;) {
                        size_t n = strcspn(p, ",");
                        if (n == strlen(id) && strncasecmp(p, id, n) == 0)
                                return true;
                        p += n + (p[n] == ',');
                }
        }
        return false;
}

/* The node booted with vfio-pci.ids= naming the device, yet another driver holds it: a reboot will not
 * change that (issue 10 item 11). Told apart from "reboot needed". */
static int check_bind_lost(struct check_ctx *c, const struct pv_host_dev *d, const char *id) {
        _cleanup_free_ char *rid = fmt(&c->oom, "bind:%s", d->name);
        if (c->oom)
                return pv_error_set(c->err, PV_ENOMEM, "out of memory");
        ADD(c, rid, PV_CHECK_FAIL, "rebooted, but vfio-pci did not bind the device",
            fmt(&c->oom, "proc/cmdline gives %s to vfio-pci ('vfio-pci.ids=…%s…'), yet %s is bound to '%s': '%s' "
                         "claimed it first",
                id, id, d->name, d->driver, d->driver),
            fmt(&c->oom, "load vfio-pci before '%s' ('softdep %s pre: vfio-pci' in etc/modprobe.d, vfio_pci in the "
                         "initramfs: 'update-initramfs -u -k all'), or blacklist '%s' if no other device needs it; then "
                         "reboot",
                d->driver, d->driver, d->driver));
        return 0;
}

/* "0000:00:14.0 SMBus controller (piix4_smbus); 0000:00:14.3 ISA/LPC bridge (no driver)" into b. */
static int platform_evidence(struct check_ctx *c, const struct pv_host_state *s, const struct pv_group_assessment *a,
                             struct pv_buf *b) {
        for (size_t i = 0; i < a->n_platform; i++) {
                const struct pv_host_dev *d = &s->devs[a->platform[i]];
                const char *drv = d->driver                                 ? d->driver
                                  : (d->unknown & PV_HOST_UNKNOWN_DRIVER) ? "driver unknown"
                                                                          : "no driver";
                int r = pv_buf_addf(b, c->err, "%s%s %s (%s)", i ? "; " : "", d->name, pv_host_dev_platform_role(d), drv);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int check_device(struct check_ctx *c, const struct pv_pci_addr *want, struct pv_strv *vfio_ids) {
        const struct pv_host_state *s = c->s;
        char an[PV_PCI_ADDR_MAX];
        pv_pci_addr_format(want, an);
        _cleanup_free_ char *rid = fmt(&c->oom, "reset:%s", an), *gid = fmt(&c->oom, "group:%s", an);
        if (c->oom)
                return pv_error_set(c->err, PV_ENOMEM, "out of memory");
        long idx = pv_host_dev_index(s, want);
        if (idx < 0) {
                ADD(c, gid, PV_CHECK_FAIL, "device not found",
                    fmt(&c->oom, "no '%s' in sys/bus/pci/devices", an),
                    fmt(&c->oom, "check the address with 'pvfio host scan'"));
                return 0;
        }
        const struct pv_host_dev *d = &s->devs[idx];

        /* reset capability */
        _cleanup_free_ char *methods = join_strv(&d->reset_methods, " ", &c->oom);
        const char *capnote = d->caps.known ? (d->caps.flr ? "; config space: FLR capable" : "; config space: no FLR")
                                            : "";
        if (d->unknown & PV_HOST_UNKNOWN_RESET) {
                ADD(c, rid, PV_CHECK_WARN, "reset method unknown",
                    fmt(&c->oom, "%s: this root was imported from a listing that does not show the kernel's reset "
                                 "methods%s", d->name, capnote),
                    fmt(&c->oom, "read %s/reset_method on the node itself", d->name));
        } else if (d->reset_methods.n) {
                bool only_bus = d->reset_methods.n == 1 && strcmp(d->reset_methods.v[0], "bus") == 0;
                ADD(c, rid, PV_CHECK_PASS, only_bus ? "resettable by secondary bus reset" : "function reset available",
                    fmt(&c->oom, "%s/reset_method: %s%s", d->name, methods ? methods : "", capnote),
                    NULL);
        } else if (!d->has_reset_method && d->has_reset) {
                ADD(c, rid, PV_CHECK_PASS, "function reset available",
                    fmt(&c->oom, "%s/reset exists (no reset_method file: kernel before 5.15)%s", d->name, capnote), NULL);
        } else {
                bool amd_gpu = d->vendor == 0x1002 && pv_host_dev_is_display(d);
                ADD(c, rid, PV_CHECK_WARN, "no reset method",
                    fmt(&c->oom, "%s has %s%s", d->name,
                        d->has_reset_method ? "an empty reset_method" : "neither reset_method nor reset", capnote),
                    amd_gpu ? fmt(&c->oom, "the device may not reset between VM starts (AMD reset bug): use "
                                           "vendor-reset and 'echo device_specific > reset_method', or never restart "
                                           "the VM without a host reboot")
                            : fmt(&c->oom, "the device may keep state between VM starts; pass it only to one VM and "
                                           "test stop/start"));
        }

        /* group */
        struct pv_group_assessment a;
        int r = pv_host_assess_device(s, (size_t)idx, &a, c->err);
        if (r < 0)
                return r;
        struct pv_buf names = PV_BUF_INIT;
        bool comp_missing = false;
        bool all_passed = a.verdict == PV_GROUP_SHARED && c->in->n_devices;
        if (a.verdict == PV_GROUP_SHARED) {
                for (size_t i = 0; i < a.n_unrelated && r == 0; i++) {
                        _cleanup_free_ char *lbl = dev_label(s, a.unrelated[i], &c->oom);
                        all_passed &= input_has(c->in, &s->devs[a.unrelated[i]].addr);
                        r = pv_buf_addf(&names, c->err, "%s%s", i ? "; " : "", lbl ? lbl : "");
                }
        } else if (a.verdict == PV_GROUP_COMPANIONS) {
                for (size_t i = 0; i < a.n_companions && r == 0; i++) {
                        const struct pv_host_dev *o = &s->devs[a.companions[i]];
                        comp_missing |= c->in->n_devices && !input_has(c->in, &o->addr);
                        r = pv_buf_addf(&names, c->err, "%s%s", i ? ", " : "", o->name);
                }
        }
        if (r < 0) {
                pv_buf_release(&names);
                pv_group_assessment_done(&a);
                return r;
        }
        char slot[PV_PCI_ADDR_MAX];
        struct pv_pci_addr sa = d->addr;
        sa.func = PV_PCI_FUNC_ALL;
        pv_pci_addr_format(&sa, slot);
        char *ev = NULL, *fix = NULL;
        enum pv_check_status st = PV_CHECK_PASS;
        const char *title = "";
        switch (a.verdict) {
        case PV_GROUP_NO_IOMMU:
                st = PV_CHECK_FAIL;
                if (d->unknown & PV_HOST_UNKNOWN_GROUP) {
                        title = "IOMMU group unknown";
                        ev = fmt(&c->oom, "%s: this root was imported from a listing that does not show its IOMMU "
                                          "group",
                                 d->name);
                        fix = fmt(&c->oom, "list the groups on the node itself ('pvfio host scan')");
                        break;
                }
                title = "device has no IOMMU group";
                ev = fmt(&c->oom, "%s has no iommu_group link", d->name);
                fix = fmt(&c->oom, "enable the IOMMU first (see the 'iommu' check)");
                break;
        case PV_GROUP_ALONE:
                title = "device is alone in its IOMMU group";
                ev = fmt(&c->oom, "IOMMU group %d: %s%s", a.group, d->name,
                         a.n_bridges ? " (plus bridges, which may stay on pcieport)" : "");
                break;
        case PV_GROUP_COMPANIONS:
                st = comp_missing ? PV_CHECK_WARN : PV_CHECK_PASS;
                title = comp_missing ? "group holds other functions of the device that are not passed"
                                     : "group holds only functions of the same device";
                ev = fmt(&c->oom, "IOMMU group %d: %s with %s", a.group, d->name, names.buf);
                fix = comp_missing ? fmt(&c->oom, "pass the whole device (%s, all functions); a group is usable only "
                                                  "when every endpoint in it is bound to vfio-pci",
                                         slot)
                                   : NULL;
                break;
        case PV_GROUP_SHARED:
                ev = fmt(&c->oom, "IOMMU group %d also holds %s", a.group, names.buf);
                if (all_passed) {
                        st = PV_CHECK_WARN;
                        title = "group shared with other devices that are passed too";
                        fix = fmt(&c->oom, "give every device of IOMMU group %d to the same VM", a.group);
                } else {
                        st = PV_CHECK_FAIL;
                        title = "group shared with unrelated devices";
                        fix = fmt(&c->oom, "pass the whole group together (all of its devices leave the host), move the "
                                           "card to a slot with its own group (a CPU root port, not behind a chipset "
                                           "or switch without ACS), or accept the risk explicitly in the profile "
                                           "(pcie_acs_override splits groups but gives up isolation)");
                }
                break;
        }
        if (a.n_platform && a.verdict != PV_GROUP_NO_IOMMU) {
                /* the host platform's own functions: the group cannot be given to a VM (issue 10 item 9) */
                free(ev);
                free(fix);
                ev = fix = NULL;
                pv_buf_release(&names);
                r = platform_evidence(c, s, &a, &names);
                st = PV_CHECK_FAIL;
                title = "group holds the host platform's own functions";
                ev = r < 0 ? NULL : fmt(&c->oom, "IOMMU group %d holds %s", a.group, names.buf);
                fix = fmt(&c->oom, "do not pass this group: the host needs these functions (firmware flash, "
                                   "sensors, the firmware TPM); choose a device in another group");
        }
        pv_buf_release(&names);
        pv_group_assessment_done(&a);
        if (r < 0) {
                free(ev);
                free(fix);
                return r;
        }
        ADD(c, gid, st, title, ev, fix);

        /* does binding wait for a reboot? */
        char idbuf[10];
        pv_pci_id_format(&(struct pv_pci_id){ d->vendor, d->device }, idbuf);
        bool by_ids = pv_strv_contains(vfio_ids, idbuf);
        bool by_override = d->driver_override && strcmp(d->driver_override, "vfio-pci") == 0;
        if ((by_ids || by_override) && (!d->driver || strcmp(d->driver, "vfio-pci") != 0) && d->driver) {
                if (by_ids && cmdline_binds_id(s, idbuf))
                        return check_bind_lost(c, d, idbuf);
                r = reboot_reason(c, fmt(&c->oom, "%s is bound to '%s' although %s assigns it to vfio-pci "
                                                  "(or rebind it live with 'pvfio host apply --rebind')",
                                         d->name, d->driver, by_override ? "driver_override" : "'vfio-pci ids='"));
                if (r < 0)
                        return r;
        }
        return 0;
}

static int check_reboot(struct check_ctx *c) {
        const struct pv_host_state *s = c->s;
        if (s->reboot_required_flag) {
                int r = reboot_reason(c, fmt(&c->oom, "run/reboot-required exists (a package update asked for it)"));
                if (r < 0)
                        return r;
        }
        if (!c->reboot.n) {
                ADD(c, "reboot", PV_CHECK_PASS, "no reboot needed",
                    fmt(&c->oom, "the running kernel, its command line and the loaded modules match the configuration"),
                    NULL);
                return 0;
        }
        _cleanup_free_ char *why = join_strv(&c->reboot, "; ", &c->oom);
        ADD(c, "reboot", PV_CHECK_WARN, "reboot needed", TAKE_PTR(why),
            firmware_iommu_off(s)
                    ? fmt(&c->oom, "reboot the node to activate the configuration, and enable %s in the firmware "
                                   "setup during that reboot: without it the IOMMU stays off",
                          firmware_iommu_name(s))
                    : fmt(&c->oom, "reboot the node to activate the configuration"));
        return 0;
}

int pv_host_check(const struct pv_host_state *s, const struct pv_check_input *in, struct pv_check_list *ret,
                  struct pv_error *err) {
        static const struct pv_check_input none = { 0 };
        if (!in)
                in = &none;
        struct check_ctx c = { .s = s, .in = in, .l = ret, .reboot = PV_STRV_INIT, .err = err };
        struct pv_check_list tmp = PV_CHECK_LIST_INIT;
        c.l = &tmp;
        struct pv_strv configured = PV_STRV_INIT, want = PV_STRV_INIT, ids = PV_STRV_INIT;
        int r = configured_modules(s, &configured, err);
        for (size_t i = 0; r == 0 && i < in->n_kernel_args; i++)
                if (!pv_strv_contains(&want, in->kernel_args[i]))
                        r = pv_strv_push(&want, in->kernel_args[i], err);
        if (r == 0 && in->gvtg && !pv_strv_contains(&want, "i915.enable_gvt=1"))
                r = pv_strv_push(&want, "i915.enable_gvt=1", err);
        if (r == 0)
                r = vfio_ids_configured(s, &ids, err);
        if (r == 0)
                r = check_cpu(&c);
        if (r == 0)
                r = check_iommu(&c);
        if (r == 0)
                r = check_firmware(&c);
        if (r == 0)
                r = check_ir(&c);
        if (r == 0)
                r = check_overrides(&c);
        if (r == 0)
                r = check_kernel(&c, &configured);
        if (r == 0)
                r = check_bootloader(&c);
        if (r == 0)
                r = check_kernel_args(&c, &want);
        if (r == 0)
                r = check_pending_args(&c, &want);
        if (r == 0)
                r = check_vfio_loaded(&c, &configured);
        if (r == 0)
                r = check_framebuffer(&c);
        for (size_t i = 0; r == 0 && i < in->n_devices; i++) {
                if (in->devices[i].func == PV_PCI_FUNC_ALL) {
                        /* every function of the slot */
                        bool any = false;
                        for (size_t k = 0; r == 0 && k < s->n_devs; k++)
                                if (pv_pci_addr_same_slot(&s->devs[k].addr, &in->devices[i])) {
                                        any = true;
                                        r = check_device(&c, &s->devs[k].addr, &ids);
                                }
                        if (!any && r == 0)
                                r = check_device(&c, &(struct pv_pci_addr){ .domain = in->devices[i].domain,
                                                                             .bus = in->devices[i].bus,
                                                                             .dev = in->devices[i].dev },
                                                 &ids);
                } else {
                        r = check_device(&c, &in->devices[i], &ids);
                }
        }
        if (r == 0)
                r = check_reboot(&c);
        pv_strv_done(&configured);
        pv_strv_done(&want);
        pv_strv_done(&ids);
        pv_strv_done(&c.reboot);
        if (r < 0) {
                pv_check_list_done(&tmp);
                return r;
        }
        *ret = tmp;
        return 0;
}
