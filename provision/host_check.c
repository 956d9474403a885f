/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Passthrough readiness: group assessment and the check verdicts. Pure
 * functions over a scanned struct pv_host_state (no file access here).
 *
 * This file: strings, group safety, the check list, config file parsing and
 * pv_host_check(); the checks themselves are in the pieces listed in host_check_int.h.
 */
#include "pvfio/xalloc.h"
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

#include "host_check_int.h"

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
int pv_check_list_add(struct pv_check_list *l, const char *id, enum pv_check_status st, const char *title,
                      char *evidence, char *fix, struct pv_error *err) {
        (void)err;
        if (l->n == l->alloc) {
                l->alloc = l->alloc ? l->alloc * 2 : 16;
                l->v = pv_xreallocarray(l->v, l->alloc, sizeof(*l->v));
        }
        l->v[l->n++] = (struct pv_check){
                .id = pv_xstrdup(id), .title = pv_xstrdup(title), .status = st, .evidence = evidence, .fix = fix
        };
        return 0;
}

/* asprintf that cannot fail (pvfio/xalloc.h) */
char *hc_fmt(const char *f, ...) {
        va_list ap;
        va_start(ap, f);
        char *s = NULL;
        if (vasprintf(&s, f, ap) < 0)
                pv_oom(strlen(f));
        va_end(ap);
        return s;
}

/* The strings joined with sep (new string, "" when none). */
char *hc_join_strv(const struct pv_strv *sv, const char *sep) {
        char *r = pv_strv_join(sv, sep, NULL);
        if (!r)
                pv_oom(0);
        return r;
}

char *hc_join_list(const char *const *v, const char *sep) {
        struct pv_strv sv = { .v = (char **)v };
        while (v[sv.n])
                sv.n++;
        return hc_join_strv(&sv, sep);
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

bool hc_strv_has_mod(const struct pv_strv *sv, const char *mod) {
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
int hc_configured_kernel_args(const struct pv_host_state *s, struct pv_strv *out, const char **ret_where,
                                  struct pv_error *err) {
        return pv_bootcfg_configured_args(s, out, ret_where, err);
}

/* "key" of a kernel argument: up to '=' (or the whole word). */
static size_t arg_key_len(const char *a) {
        const char *eq = strchr(a, '=');
        return eq ? (size_t)(eq - a) : strlen(a);
}

const char *hc_find_arg(const struct pv_strv *args, const char *want, const char **ret_same_key) {
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

bool hc_modprobe_has(const struct pv_host_state *s, const char *needle) {
        for (size_t i = 0; i < s->n_modprobe_d; i++)
                if (s->modprobe_d[i].content && strstr(s->modprobe_d[i].content, needle))
                        return true;
        return false;
}

/* -------------------------------------------------------------- checks */

int hc_reboot_reason(struct check_ctx *c, char *reason) {
        return pv_strv_push_take(&c->reboot, reason, c->err);
}

static int check_reboot(struct check_ctx *c) {
        const struct pv_host_state *s = c->s;
        if (s->reboot_required_flag) {
                int r = hc_reboot_reason(c, hc_fmt("run/reboot-required exists (a package update asked for it)"));
                if (r < 0)
                        return r;
        }
        if (!c->reboot.n) {
                ADD(c, "reboot", PV_CHECK_PASS, "no reboot needed",
                    hc_fmt("the running kernel, its command line and the loaded modules match the configuration"),
                    NULL);
                return 0;
        }
        _cleanup_free_ char *why = hc_join_strv(&c->reboot, "; ");
        ADD(c, "reboot", PV_CHECK_WARN, "reboot needed", TAKE_PTR(why),
            hc_firmware_iommu_off(s)
                    ? hc_fmt("reboot the node to activate the configuration, and enable %s in the firmware "
                                   "setup during that reboot: without it the IOMMU stays off",
                          hc_firmware_iommu_name(s))
                    : hc_fmt("reboot the node to activate the configuration"));
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
                r = hc_check_cpu(&c);
        if (r == 0)
                r = hc_check_iommu(&c);
        if (r == 0)
                r = hc_check_firmware(&c);
        if (r == 0)
                r = hc_check_ir(&c);
        if (r == 0)
                r = hc_check_overrides(&c);
        if (r == 0)
                r = hc_check_kernel(&c, &configured);
        if (r == 0)
                r = hc_check_bootloader(&c);
        if (r == 0)
                r = hc_check_kernel_args(&c, &want);
        if (r == 0)
                r = hc_check_pending_args(&c, &want);
        if (r == 0)
                r = hc_check_vfio_loaded(&c, &configured);
        if (r == 0)
                r = hc_check_framebuffer(&c);
        for (size_t i = 0; r == 0 && i < in->n_devices; i++) {
                if (in->devices[i].func == PV_PCI_FUNC_ALL) {
                        /* every function of the slot */
                        bool any = false;
                        for (size_t k = 0; r == 0 && k < s->n_devs; k++)
                                if (pv_pci_addr_same_slot(&s->devs[k].addr, &in->devices[i])) {
                                        any = true;
                                        r = hc_check_device(&c, &s->devs[k].addr, &ids);
                                }
                        if (!any && r == 0)
                                r = hc_check_device(&c, &(struct pv_pci_addr){ .domain = in->devices[i].domain,
                                                                             .bus = in->devices[i].bus,
                                                                             .dev = in->devices[i].dev },
                                                 &ids);
                } else {
                        r = hc_check_device(&c, &in->devices[i], &ids);
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
