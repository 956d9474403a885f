/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The host planner: profile host section + scanned host state → typed actions.
 * Pure: no file, sysfs or command access; everything comes in through the
 * arguments (file contents included), so every decision is unit-testable.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pvfio/bootcfg.h"
#include "pvfio/buf.h"
#include "pvfio/cleanup.h"
#include "pvfio/hostplan.h"

#define VFIO_DRIVER "vfio-pci"

/* A device chosen for vfio-pci. */
struct target {
        size_t dev;                      /* index into state->devs */
        const struct pv_devsel *sel;     /* the selector that chose it (or its companion's) */
        bool companion;                  /* added as another function of a selected device */
};

struct planner {
        const struct pv_host_spec *spec;
        const struct pv_host_state *st;
        const struct pv_host_plan_opts *opts;
        const struct pv_hostplan_inputs *in;
        const char *node;
        struct pv_plan p;                /* built locally, appended to the caller's plan on success */
        struct target *t;
        size_t n_t;
        struct pv_strv kargs;            /* desired kernel arguments, in order */
        unsigned refresh;                /* PV_REFRESH_* needed by the file actions */
        int refresh_dep[3];              /* 1-based action index each refresh waits for */
        bool shared_accepted;            /* a target's group holds host devices (accept_shared_groups) */
        struct pv_strv kcmdline_takeover;/* vfio-pci.ids= tokens of etc/kernel/cmdline pvfio takes over */
};

static const struct pv_hostplan_inputs no_inputs;

/* ------------------------------------------------------------ helpers */

static int add_note(struct planner *c, int kind, struct pv_error *err, const char *fmt, ...) PV_PRINTF(4, 5);
static int add_note(struct planner *c, int kind, struct pv_error *err, const char *fmt, ...) {
        va_list ap;
        char *msg = NULL;
        va_start(ap, fmt);
        int r = vasprintf(&msg, fmt, ap);
        va_end(ap);
        if (r < 0)
                return pv_error_set(err, PV_ENOMEM, "out of memory");
        if (kind == 'r') {
                char *full = pv_asprintf(err, "%s: %s", c->node, msg);
                free(msg);
                return pv_plan_add_reboot_reason(&c->p, full, err);
        }
        return pv_plan_add_warning(&c->p, msg, err);
}
#define warnf(c, err, ...) add_note((c), 'w', (err), __VA_ARGS__)
#define rebootf(c, err, ...) add_note((c), 'r', (err), __VA_ARGS__)

static char *dup_or_null(const char *s, bool *oom) {
        if (!s)
                return NULL;
        char *d = strdup(s);
        if (!d)
                *oom = true;
        return d;
}

/* Append an action; returns its 1-based index (for depends_on) or a negative code. */
static int add_action(struct planner *c, enum pv_action_kind kind, const char *target, const char *before,
                      const char *after, char *reason_owned, bool needs_reboot, int depends_on, struct pv_error *err) {
        bool oom = false;
        struct pv_action a = { .kind = kind, .needs_reboot = needs_reboot, .depends_on = depends_on };
        a.target = dup_or_null(target, &oom);
        a.node = dup_or_null(c->node, &oom);
        a.before = dup_or_null(before, &oom);
        a.after = dup_or_null(after, &oom);
        a.reason = reason_owned;
        if (oom || !reason_owned) {
                pv_action_done(&a);
                return pv_error_set(err, PV_ENOMEM, "out of memory");
        }
        int idx = pv_plan_add(&c->p, &a, err);
        return idx < 0 ? idx : idx + 1;
}

static int add_key(struct planner *c, int idx1, const char *key, const char *before, const char *after,
                   struct pv_error *err) {
        bool oom = false;
        char *k = dup_or_null(key, &oom), *b = dup_or_null(before, &oom), *a = dup_or_null(after, &oom);
        if (oom) {
                free(k);
                free(b);
                free(a);
                return pv_error_set(err, PV_ENOMEM, "out of memory");
        }
        return pv_plan_add_key(&c->p, (size_t)(idx1 - 1), k, b, a, false, err);
}

static bool streq(const char *a, const char *b) {
        return a && b && strcmp(a, b) == 0;
}

static bool strv_has(const struct pv_strv *v, const char *s) {
        for (size_t i = 0; i < v->n; i++)
                if (strcmp(v->v[i], s) == 0)
                        return true;
        return false;
}

static int strv_add_unique(struct pv_strv *v, const char *s, struct pv_error *err) {
        return strv_has(v, s) ? 0 : pv_strv_push(v, s, err);
}

static bool name_eq(const char *a, const char *b) {
        return pv_cmdline_key_equal(a, strlen(a), b, strlen(b));
}

static bool module_loaded(const struct pv_host_state *st, const char *name) {
        for (size_t i = 0; i < st->modules.n; i++)
                if (name_eq(st->modules.v[i], name))
                        return true;
        for (size_t i = 0; i < st->sys_modules.n; i++)
                if (name_eq(st->sys_modules.v[i], name))
                        return true;
        return false;
}

/* Kernel older than major.minor; unknown versions count as "not older" only when `unknown_new`. */
static bool kernel_older(const struct pv_host_state *st, unsigned major, unsigned minor, bool unknown_new) {
        const struct pv_kver *k = &st->kver;
        if (k->major == 0)
                return !unknown_new;
        return k->major < major || (k->major == major && k->minor < minor);
}

static const struct pv_host_file *find_file(const struct pv_host_file *v, size_t n, const char *path) {
        for (size_t i = 0; i < n; i++)
                if (v[i].path && strcmp(v[i].path, path) == 0)
                        return &v[i];
        return NULL;
}

static const char *file_content(const struct pv_host_file *f) {
        return f && f->present ? (f->content ? f->content : "") : NULL;
}

/* A fixed class name (file content must not depend on the pci.ids version), or NULL. */
static const char *class_fixed(uint32_t class_code) {
        switch (class_code >> 8) {
        case 0x0100: return "SCSI storage controller";
        case 0x0101: return "IDE interface";
        case 0x0104: return "RAID bus controller";
        case 0x0106: return "SATA controller";
        case 0x0107: return "Serial Attached SCSI controller";
        case 0x0108: return "Non-Volatile memory controller";
        case 0x0200: return "Ethernet controller";
        case 0x0280: return "Network controller";
        case 0x0300: return "VGA compatible controller";
        case 0x0302: return "3D controller";
        case 0x0380: return "Display controller";
        case 0x0403: return "Audio device";
        case 0x0604: return "PCI bridge";
        case 0x0c03: return "USB controller";
        case 0x0c05: return "SMBus";
        case 0x0c80: return "Serial bus controller";
        default: return NULL;
        }
}

static const char *class_label(const struct pv_host_dev *d) {
        const char *c = class_fixed(d->class_code);
        return c ? c : d->class_name ? d->class_name : "device";
}

/* "0000:00:17.0 SATA controller [8086:a352] (ahci)" — new string. */
static char *dev_label(const struct pv_host_dev *d, struct pv_error *err) {
        return pv_asprintf(err, "%s %s [%04x:%04x] (%s)", d->name, class_label(d), d->vendor, d->device,
                           d->driver ? d->driver : "no driver");
}

static bool is_display(const struct pv_host_dev *d) {
        return (d->class_code >> 16) == 0x03;
}

static bool dev_is_vfio_or_free(const struct pv_host_dev *d) {
        return !d->driver || strcmp(d->driver, VFIO_DRIVER) == 0;
}

/* A host device a live unbind would take away from the host: storage, network, USB. */
static bool dev_class_host_critical(const struct pv_host_dev *d) {
        unsigned base = d->class_code >> 16, sub = (d->class_code >> 8) & 0xff;
        return base == 0x01 || base == 0x02 || (base == 0x0c && sub == 0x03);
}

static const struct pv_host_group *find_group(const struct pv_host_state *st, int id) {
        for (size_t i = 0; i < st->n_groups; i++)
                if (st->groups[i].id == id)
                        return &st->groups[i];
        return NULL;
}

static long find_dev(const struct pv_host_state *st, const struct pv_pci_addr *a) {
        for (size_t i = 0; i < st->n_devs; i++)
                if (pv_pci_addr_equal(&st->devs[i].addr, a))
                        return (long)i;
        return -1;
}

static struct target *find_target(struct planner *c, size_t dev) {
        for (size_t i = 0; i < c->n_t; i++)
                if (c->t[i].dev == dev)
                        return &c->t[i];
        return NULL;
}

static int add_target(struct planner *c, size_t dev, const struct pv_devsel *sel, bool companion,
                      struct pv_error *err) {
        if (find_target(c, dev))
                return 0;
        struct target *v = realloc(c->t, (c->n_t + 1) * sizeof *v);
        if (!v)
                return pv_error_set(err, PV_ENOMEM, "out of memory");
        c->t = v;
        c->t[c->n_t++] = (struct target){ dev, sel, companion };
        return 0;
}

static int cmp_target(const void *a, const void *b) {
        const struct target *x = a, *y = b;
        return x->dev < y->dev ? -1 : x->dev > y->dev;
}

/* ---------------------------------------------------------- validation */

static bool karg_chars_ok(const char *s) {
        if (!*s)
                return false;
        for (const char *p = s; *p; p++)
                if (!isalnum((unsigned char)*p) && !strchr("_.,:=+/@%~-", *p))
                        return false;
        return true;
}

static bool module_name_ok(const char *s) {
        if (!*s)
                return false;
        for (const char *p = s; *p; p++)
                if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-')
                        return false;
        return true;
}

static bool is_nvidia_module(const char *m) {
        return name_eq(m, "nvidia") || pv_startswith(m, "nvidia_") || pv_startswith(m, "nvidia-");
}

static int validate_spec(struct planner *c, struct pv_error *err) {
        const struct pv_host_spec *s = c->spec;
        for (size_t i = 0; i < s->kernel_args.n; i++) {
                const char *a = s->kernel_args.v[i];
                const struct pv_loc *loc = s->kernel_arg_locs ? &s->kernel_arg_locs[i] : &s->loc;
                if (!karg_chars_ok(a))
                        return pv_error_set_loc(err, PV_EINVAL, loc,
                                                "kernel argument '%s' has characters pvfio does not write into boot "
                                                "configuration (allowed: letters, digits and _.,:=+/@%%~-)",
                                                a);
                if ((pv_startswith(a, "pcie_acs_override") || strstr(a, "allow_unsafe_interrupts")) &&
                    !s->allow_unsafe)
                        return pv_error_set_loc(err, PV_EUNSAFE, loc,
                                                "kernel argument '%s' gives up IOMMU isolation guarantees; set "
                                                "'allow_unsafe: true' in this host section to accept that",
                                                a);
        }
        for (size_t i = 0; i < s->softdeps.n; i++)
                if (!module_name_ok(s->softdeps.v[i]))
                        return pv_error_set_loc(err, PV_EINVAL, &s->loc, "softdep '%s' is not a module name",
                                                s->softdeps.v[i]);
        for (size_t i = 0; i < s->blacklist.n; i++) {
                const char *m = s->blacklist.v[i];
                if (!module_name_ok(m))
                        return pv_error_set_loc(err, PV_EINVAL, &s->loc, "blacklist entry '%s' is not a module name", m);
                if (s->vgpu == PV_VGPU_NVIDIA_SRIOV && is_nvidia_module(m))
                        return pv_error_set_loc(err, PV_EINVAL, &s->loc,
                                                "blacklisting '%s' would break NVIDIA vGPU, which needs the nvidia host "
                                                "driver; remove it from 'blacklist'",
                                                m);
                if (name_eq(m, VFIO_DRIVER))
                        return pv_error_set_loc(err, PV_EINVAL, &s->loc, "blacklisting '%s' defeats the binding", m);
        }
        return 0;
}

/* ------------------------------------------------------ device targets */

static bool ci_contains(const char *hay, const char *needle) {
        if (!hay || !needle)
                return false;
        return strcasestr(hay, needle) != NULL;
}

static bool sel_matches(const struct pv_devsel *s, const struct pv_host_dev *d) {
        switch (s->kind) {
        case PV_DEVSEL_ID:
                return d->vendor == s->id.vendor && d->device == s->id.device;
        case PV_DEVSEL_ADDR:
                if (s->addr.func == PV_PCI_FUNC_ALL)
                        return pv_pci_addr_same_slot(&d->addr, &s->addr);
                return pv_pci_addr_equal(&d->addr, &s->addr);
        case PV_DEVSEL_MATCH:
                if (s->has_vendor && d->vendor != s->vendor)
                        return false;
                if (s->has_device && d->device != s->device)
                        return false;
                if (s->has_class) {
                        uint32_t cls = s->class_bits == 16 ? d->class_code >> 8 : d->class_code;
                        if (cls != s->class_code)
                                return false;
                }
                if (s->name_contains && !ci_contains(d->device_name, s->name_contains) &&
                    !ci_contains(d->vendor_name, s->name_contains) && !ci_contains(d->subsystem_name, s->name_contains))
                        return false;
                return true;
        }
        return false;
}

static char *sel_describe(const struct pv_devsel *s, struct pv_error *err) {
        char buf[PV_PCI_ADDR_MAX], id[10];
        switch (s->kind) {
        case PV_DEVSEL_ID:
                pv_pci_id_format(&s->id, id);
                return pv_asprintf(err, "id %s", id);
        case PV_DEVSEL_ADDR:
                pv_pci_addr_format(&s->addr, buf);
                return pv_asprintf(err, "address %s", buf);
        case PV_DEVSEL_MATCH:
                break;
        }
        struct pv_buf b = PV_BUF_INIT;
        int r = pv_buf_adds(&b, "match", err);
        if (r == 0 && s->has_vendor)
                r = pv_buf_addf(&b, err, " vendor %04x", s->vendor);
        if (r == 0 && s->has_device)
                r = pv_buf_addf(&b, err, " device %04x", s->device);
        if (r == 0 && s->has_class)
                r = pv_buf_addf(&b, err, s->class_bits == 16 ? " class %04x" : " class %06x", s->class_code);
        if (r == 0 && s->name_contains)
                r = pv_buf_addf(&b, err, " name '%s'", s->name_contains);
        char *out = NULL;
        if (r == 0)
                r = pv_buf_detach(&b, &out, NULL, err);
        pv_buf_release(&b);
        return r == 0 ? out : NULL;
}

/*
 * Why `o` (another function of `d`'s slot) goes with `d`, or NULL when it does not:
 * the same IOMMU group (they cannot be separated), or, for a GPU, its own display-related
 * function: HDMI/DP audio, USB-C xHCI or UCSI serial bus controller of the GPU's vendor.
 * An APU's chipset functions (other vendor, own groups) stay with the host.
 */
static const char *companion_role(const struct pv_host_dev *d, const struct pv_host_dev *o) {
        if (d->iommu_group >= 0 && o->iommu_group == d->iommu_group)
                return "in the same IOMMU group";
        unsigned oc = o->class_code >> 8;
        if (is_display(d) && o->vendor == d->vendor && (oc == 0x0403 || oc == 0x0c03 || oc == 0x0c80))
                return oc == 0x0403 ? "the GPU's audio function" : oc == 0x0c03 ? "the GPU's USB-C controller"
                                                                              : "the GPU's USB-C (UCSI) controller";
        return NULL;
}

static int resolve_targets(struct planner *c, struct pv_error *err) {
        const struct pv_host_state *st = c->st;
        for (size_t k = 0; k < c->spec->n_vfio; k++) {
                const struct pv_devsel *s = &c->spec->vfio[k];
                size_t matched = 0, bridges = 0, first_new = c->n_t;
                for (size_t i = 0; i < st->n_devs; i++) {
                        const struct pv_host_dev *d = &st->devs[i];
                        if (!sel_matches(s, d))
                                continue;
                        if (d->is_bridge) {
                                bridges++;
                                continue;
                        }
                        matched++;
                        int r = add_target(c, i, s, false, err);
                        if (r < 0)
                                return r;
                }
                if (matched == 0) {
                        _cleanup_free_ char *what = sel_describe(s, err);
                        if (!what)
                                return -PV_ENOMEM;
                        if (bridges)
                                return pv_error_set_loc(err, PV_EINVAL, &s->loc,
                                                        "vfio device %s on node '%s' only matches PCI bridges, which "
                                                        "stay with the host; select the device behind the bridge",
                                                        what, c->node);
                        bool names = false;
                        for (size_t i = 0; i < st->n_devs && !names; i++)
                                names = st->devs[i].device_name != NULL;
                        return pv_error_set_loc(err, PV_ENOTFOUND, &s->loc,
                                                "vfio device %s matches no PCI device on node '%s'%s; 'pvfio host "
                                                "scan' lists the devices",
                                                what, c->node,
                                                s->name_contains && !names ? " (no pci.ids names available)" : "");
                }
                if (bridges) {
                        _cleanup_free_ char *what = sel_describe(s, err);
                        if (!what || warnf(c, err, "vfio device %s also matches %zu PCI bridge(s); bridges stay with "
                                                   "the host (they do not need vfio-pci)",
                                           what, bridges) < 0)
                                return -PV_ENOMEM;
                }
                /* companions: what each newly selected device cannot be separated from (not for VFs) */
                size_t end = c->n_t;
                for (size_t t = first_new; t < end; t++) {
                        const struct pv_host_dev *d = &st->devs[c->t[t].dev];
                        if (d->is_vf)
                                continue;
                        for (size_t i = 0; i < st->n_devs; i++) {
                                const struct pv_host_dev *o = &st->devs[i];
                                if (i == c->t[t].dev || o->is_bridge || o->is_vf ||
                                    !pv_pci_addr_same_slot(&o->addr, &d->addr) || find_target(c, i))
                                        continue;
                                const char *role = companion_role(d, o);
                                _cleanup_free_ char *lo = dev_label(o, err);
                                if (!lo)
                                        return -PV_ENOMEM;
                                int r;
                                if (!role)
                                        r = warnf(c, err,
                                                  "%s is another function of the slot of %s but %s; it is not "
                                                  "passed through and stays with the host",
                                                  lo, d->name,
                                                  o->iommu_group >= 0 && d->iommu_group >= 0
                                                          ? "in another IOMMU group and not part of the device"
                                                          : "not part of the device");
                                else if (s->companions)
                                        r = add_target(c, i, s, true, err);
                                else
                                        r = warnf(c, err,
                                                  "%s is %s of %s but not passed through (companions: false); a "
                                                  "VM can use the device only while that function has no host "
                                                  "driver or vfio-pci",
                                                  lo, role, d->name);
                                if (r < 0)
                                        return r;
                        }
                }
        }
        if (c->n_t > 1)
                qsort(c->t, c->n_t, sizeof *c->t, cmp_target);
        return 0;
}

/* Targets must not be devices the profile gives to the host in another role. */
static int check_conflicts(struct planner *c, struct pv_error *err) {
        const struct pv_host_state *st = c->st;
        for (size_t k = 0; k < c->n_t; k++) {
                const struct pv_host_dev *d = &st->devs[c->t[k].dev];
                const struct pv_loc *loc = &c->t[k].sel->loc;
                for (size_t s = 0; s < c->spec->n_sriov; s++)
                        if (pv_pci_addr_equal(&c->spec->sriov[s].pf, &d->addr))
                                return pv_error_set_loc(err, PV_EINVAL, loc,
                                                        "%s is the SR-IOV physical function of an 'sriov' entry; its "
                                                        "driver creates the VFs, so it cannot be bound to vfio-pci "
                                                        "(pass the VFs instead)",
                                                        d->name);
                if (c->spec->vgpu == PV_VGPU_GVTG && d->vendor == 0x8086 && is_display(d))
                        return pv_error_set_loc(err, PV_EINVAL, loc,
                                                "%s is the Intel GPU that provides GVT-g vGPUs; it stays on i915 "
                                                "and cannot also be bound to vfio-pci",
                                                d->name);
                if (c->spec->vgpu == PV_VGPU_NVIDIA_SRIOV && d->vendor == 0x10de && !d->is_vf &&
                    (d->is_pf || d->has_nvidia_dir || d->n_vgpu_types))
                        return pv_error_set_loc(err, PV_EINVAL, loc,
                                                "%s provides NVIDIA vGPUs (vgpu: nvidia-sriov) and must stay on the "
                                                "nvidia driver; do not list it under 'vfio'",
                                                d->name);
        }
        return 0;
}

/* Group safety: every other endpoint of a target's IOMMU group must be a target, a bridge, or free. */
static int check_groups(struct planner *c, struct pv_error *err) {
        const struct pv_host_state *st = c->st;
        bool warned_no_groups = false;
        int last_group_checked = -2;
        for (size_t k = 0; k < c->n_t; k++) {
                const struct pv_host_dev *d = &st->devs[c->t[k].dev];
                if (d->iommu_group < 0) {
                        if (!warned_no_groups && warnf(c, err,
                                                       "%s has no IOMMU group (the IOMMU is not active yet); group "
                                                       "safety is checked again after the reboot by 'pvfio host check'",
                                                       d->name) < 0)
                                return -PV_ENOMEM;
                        warned_no_groups = true;
                        continue;
                }
                if (d->iommu_group == last_group_checked)
                        continue;
                last_group_checked = d->iommu_group;
                const struct pv_host_group *g = find_group(st, d->iommu_group);
                if (!g)
                        continue;
                struct pv_buf busy = PV_BUF_INIT;
                size_t n_busy = 0;
                int r = 0;
                for (size_t m = 0; m < g->n_members && r == 0; m++) {
                        size_t idx = g->members[m];
                        if (idx >= st->n_devs)
                                continue;
                        const struct pv_host_dev *o = &st->devs[idx];
                        if (find_target(c, idx) || o->is_bridge)
                                continue;
                        _cleanup_free_ char *lo = dev_label(o, err);
                        if (!lo) {
                                r = -PV_ENOMEM;
                                break;
                        }
                        if (dev_is_vfio_or_free(o)) {
                                r = warnf(c, err, "IOMMU group %d of %s also holds %s; it is usable while that "
                                                  "device stays without a host driver",
                                          g->id, d->name, lo);
                                continue;
                        }
                        r = pv_buf_addf(&busy, err, "%s%s", n_busy ? ", " : "", lo);
                        n_busy++;
                }
                if (r == 0 && n_busy) {
                        if (!c->spec->accept_shared_groups) {
                                r = pv_error_set_loc(err, PV_EUNSAFE, &c->t[k].sel->loc,
                                                     "refusing to give %s to vfio-pci on node '%s': its IOMMU group %d "
                                                     "also holds host devices in use: %s; a VM would take them all. "
                                                     "Move the card to another slot, or set 'accept_shared_groups: "
                                                     "true' if you accept that",
                                                     d->name, c->node, g->id, busy.buf);
                        } else {
                                c->shared_accepted = true;
                                r = warnf(c, err,
                                          "IOMMU group %d of %s also holds host devices in use (%s); accepted by "
                                          "'accept_shared_groups', but no VM can start with the device until they "
                                          "leave their drivers or the group is split",
                                          g->id, d->name, busy.buf);
                        }
                }
                pv_buf_release(&busy);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* ids= binds every device with that vendor:device; refuse when it would take an unselected one. */
static int check_ids_twins(struct planner *c, struct pv_error *err) {
        const struct pv_host_state *st = c->st;
        if (c->spec->binding != PV_BIND_IDS)
                return 0;
        for (size_t k = 0; k < c->n_t; k++) {
                const struct pv_host_dev *d = &st->devs[c->t[k].dev];
                for (size_t i = 0; i < st->n_devs; i++) {
                        const struct pv_host_dev *o = &st->devs[i];
                        if (o->vendor != d->vendor || o->device != d->device || find_target(c, i) || o->is_bridge)
                                continue;
                        if (dev_is_vfio_or_free(o)) {
                                if (warnf(c, err, "'options vfio-pci ids=%04x:%04x' also binds %s at boot (same "
                                                  "vendor:device, not selected)",
                                          d->vendor, d->device, o->name) < 0)
                                        return -PV_ENOMEM;
                                continue;
                        }
                        return pv_error_set_loc(err, PV_EUNSAFE, &c->t[k].sel->loc,
                                                "binding by id %04x:%04x would also take %s (same vendor:device, "
                                                "not selected, in use by '%s') away from the host on node '%s'; set "
                                                "'binding: driver_override' to bind by address",
                                                d->vendor, d->device, o->name, o->driver, c->node);
                }
        }
        return 0;
}

/* ------------------------------------------------------ kernel arguments */

static int desired_kernel_args(struct planner *c, struct pv_error *err) {
        const struct pv_host_spec *s = c->spec;
        const struct pv_host_state *st = c->st;
        int r = 0;
        if (s->iommu != PV_OFF) {
                switch (st->cpu.vendor) {
                case PV_CPU_INTEL:
                        /* Intel's IOMMU is on by default from 6.8 (unknown kernels get the argument) */
                        if (s->iommu == PV_ON || kernel_older(st, 6, 8, false))
                                r = strv_add_unique(&c->kargs, "intel_iommu=on", err);
                        break;
                case PV_CPU_AMD:
                        /* AMD-Vi is on by default; 'amd_iommu=on' is not a valid value */
                        break;
                default:
                        r = warnf(c, err, "CPU vendor of node '%s' is unknown; no IOMMU kernel argument added",
                                  c->node);
                        break;
                }
        }
        if (r == 0 && s->iommu_pt)
                r = strv_add_unique(&c->kargs, "iommu=pt", err);
        if (r == 0 && s->vgpu == PV_VGPU_GVTG)
                r = strv_add_unique(&c->kargs, "i915.enable_gvt=1", err);
        for (size_t i = 0; r == 0 && i < s->kernel_args.n; i++) {
                const char *a = s->kernel_args.v[i];
                if (name_eq(a, "amd_iommu=on")) {
                        r = warnf(c, err, "kernel argument 'amd_iommu=on' dropped: it is not a valid value (AMD-Vi "
                                          "is on by default)");
                        continue;
                }
                /* a profile argument replaces pvfio's own choice for the same name */
                const char *eq = strchr(a, '=');
                size_t kl = eq ? (size_t)(eq - a) : strlen(a);
                for (size_t j = 0; j < c->kargs.n; j++) {
                        const char *o = c->kargs.v[j];
                        const char *oeq = strchr(o, '=');
                        size_t ol = oeq ? (size_t)(oeq - o) : strlen(o);
                        if (pv_cmdline_key_equal(a, kl, o, ol) && !pv_cmdline_token_equal(a, o)) {
                                free(c->kargs.v[j]);
                                memmove(&c->kargs.v[j], &c->kargs.v[j + 1], (c->kargs.n - j) * sizeof(char *));
                                c->kargs.n--;
                                break;
                        }
                }
                bool dup = false;
                for (size_t j = 0; j < c->kargs.n && !dup; j++)
                        dup = pv_cmdline_token_equal(c->kargs.v[j], a);
                if (!dup)
                        r = pv_strv_push(&c->kargs, a, err);
        }
        return r;
}

static int reboot_for_args(struct planner *c, const struct pv_strv *removed, struct pv_error *err) {
        const struct pv_host_state *st = c->st;
        if (!st->cmdline)
                return 0;
        struct pv_buf miss = PV_BUF_INIT, stale = PV_BUF_INIT;
        int r = 0;
        for (size_t i = 0; r == 0 && i < c->kargs.n; i++)
                if (!pv_cmdline_has(&st->cmdline_args, c->kargs.v[i]))
                        r = pv_buf_addf(&miss, err, "%s%s", miss.len ? " " : "", c->kargs.v[i]);
        for (size_t i = 0; r == 0 && removed && i < removed->n; i++)
                if (pv_cmdline_has(&st->cmdline_args, removed->v[i]))
                        r = pv_buf_addf(&stale, err, "%s%s", stale.len ? " " : "", removed->v[i]);
        if (r == 0 && miss.len)
                r = rebootf(c, err, "kernel arguments not active yet (missing from /proc/cmdline): %s", miss.buf);
        if (r == 0 && stale.len)
                r = rebootf(c, err, "kernel arguments pvfio removed are still active: %s", stale.buf);
        pv_buf_release(&miss);
        pv_buf_release(&stale);
        return r;
}

static int plan_file(struct planner *c, enum pv_action_kind kind, const char *path, const char *before,
                     const char *after, bool needs_reboot, char *reason, int *ret_idx, struct pv_error *err) {
        if (ret_idx)
                *ret_idx = 0;
        if ((!before && !after) || (before && after && strcmp(before, after) == 0)) {
                free(reason);
                return 0;
        }
        if (!after)
                kind = PV_ACT_REMOVE_FILE;
        int idx = add_action(c, kind, path, before, after, reason, needs_reboot, 0, err);
        if (idx < 0)
                return idx;
        unsigned rf = pv_hostplan_refresh_for_path(path);
        for (unsigned b = 0; b < 3; b++)
                if (rf & (1u << b))
                        c->refresh_dep[b] = idx;
        c->refresh |= rf;
        if (ret_idx)
                *ret_idx = idx;
        return 0;
}

static const char grub_header[] =
        "# Managed by pvfio: kernel arguments for PCI passthrough. Sourced by update-grub after\n"
        "# /etc/default/grub. Overwritten by 'pvfio host apply'; 'pvfio host rollback' removes it.\n";

/* pvfio's arguments must survive the drop-ins sourced after its own: refuse naming the one that drops them. */
static int check_grub_order(struct planner *c, const char *after, struct pv_error *err) {
        struct pv_grub_eval e;
        struct pv_strv words = PV_STRV_INIT;
        int r = pv_grub_eval_state(c->st, PV_HOSTPLAN_GRUB_DROPIN, after, &e, err);
        if (r < 0)
                return r;
        r = pv_grub_eval_words(&e, &words, err);
        const char *lost = NULL;
        for (size_t i = 0; r == 0 && i < c->kargs.n && !lost; i++)
                if (!pv_cmdline_has(&words, c->kargs.v[i]))
                        lost = c->kargs.v[i];
        if (r == 0 && lost) {
                const struct pv_grub_assign *last = NULL;
                for (size_t i = 0; i < e.n_assigns; i++)
                        if (e.assigns[i].is_default && !e.assigns[i].keeps_previous &&
                            strcmp(e.assigns[i].path, PV_HOSTPLAN_GRUB_DROPIN) > 0)
                                last = &e.assigns[i];
                if (last)
                        r = pv_error_set_loc(err, PV_EUNSAFE, &c->spec->loc,
                                             "%s:%u on node '%s' sets GRUB_CMDLINE_LINUX_DEFAULT after pvfio's %s "
                                             "(drop-ins are sourced in name order) without keeping its previous "
                                             "value, so '%s' would never reach the kernel; make that line start "
                                             "with \"$GRUB_CMDLINE_LINUX_DEFAULT \" or move its arguments into "
                                             "etc/default/grub",
                                             last->path, last->line, c->node, PV_HOSTPLAN_GRUB_DROPIN, lost);
                else
                        r = pv_error_set_loc(err, PV_EUNSAFE, &c->spec->loc,
                                             "the GRUB defaults on node '%s' drop '%s' after pvfio's %s sets it; "
                                             "check etc/default/grub.d",
                                             c->node, lost, PV_HOSTPLAN_GRUB_DROPIN);
        }
        pv_strv_done(&words);
        pv_grub_eval_done(&e);
        return r;
}

static int plan_grub(struct planner *c, bool active, struct pv_error *err) {
        const struct pv_boot_info *b = &c->st->boot;
        const struct pv_host_file *cur = find_file(b->grub_d, b->n_grub_d, PV_HOSTPLAN_GRUB_DROPIN);
        const char *before = file_content(cur);
        /* arguments the GRUB defaults give without pvfio's drop-in are not repeated */
        struct pv_strv have = PV_STRV_INIT, old = PV_STRV_INIT, removed = PV_STRV_INIT;
        struct pv_buf line = PV_BUF_INIT;
        char *after = NULL;
        struct pv_grub_eval ev;
        int r = pv_grub_eval_state(c->st, PV_HOSTPLAN_GRUB_DROPIN, NULL, &ev, err);
        if (r == 0) {
                r = pv_grub_eval_words(&ev, &have, err);
                pv_grub_eval_done(&ev);
        }
        if (r == 0)
                r = pv_grub_words_of(before, &old, err);
        size_t n_new = 0;
        for (size_t i = 0; r == 0 && active && i < c->kargs.n; i++) {
                const char *a = c->kargs.v[i];
                if (pv_cmdline_has(&have, a))
                        continue;
                r = pv_buf_addf(&line, err, " %s", a);
                n_new++;
        }
        for (size_t i = 0; r == 0 && i < old.n; i++)
                if (!(active && pv_strv_contains(&c->kargs, old.v[i])) && !pv_strv_contains(&removed, old.v[i]))
                        r = pv_strv_push(&removed, old.v[i], err);
        if (r == 0 && n_new)
                after = pv_asprintf(err, "%sGRUB_CMDLINE_LINUX_DEFAULT=\"$GRUB_CMDLINE_LINUX_DEFAULT%s\"\n",
                                    grub_header, line.buf);
        if (r == 0 && n_new && !after)
                r = -PV_ENOMEM;
        if (r == 0 && active && c->kargs.n)
                r = check_grub_order(c, after, err);
        if (r == 0) {
                char *reason = active ? pv_asprintf(err, "kernel arguments for passthrough in a GRUB drop-in (%s)",
                                                    n_new ? line.buf + 1 : "none")
                                      : pv_asprintf(err, "the host boots with systemd-boot; the GRUB drop-in is unused");
                r = plan_file(c, PV_ACT_WRITE_FILE, PV_HOSTPLAN_GRUB_DROPIN, before, after, true, reason, NULL, err);
        }
        if (r == 0 && active)
                r = reboot_for_args(c, &removed, err);
        free(after);
        pv_buf_release(&line);
        pv_strv_done(&have);
        pv_strv_done(&old);
        pv_strv_done(&removed);
        return r;
}

static bool has_root_arg(const struct pv_strv *t) {
        for (size_t i = 0; i < t->n; i++)
                if (pv_startswith(t->v[i], "root="))
                        return true;
        return false;
}

static int plan_sdboot(struct planner *c, bool active, struct pv_error *err) {
        const struct pv_host_state *st = c->st;
        const struct pv_host_file *f = &st->boot.etc_kernel_cmdline;
        const char *before = file_content(f);
        const struct pv_strv *owned = &c->in->owned_args;
        _cleanup_free_ char *first = NULL, *newline = NULL, *after = NULL;
        const char *rest = "";
        bool created = false;
        int r = 0;
        if (before) {
                const char *nl = strchr(before, '\n');
                first = strndup(before, nl ? (size_t)(nl - before) : strlen(before));
                rest = nl ? nl : "";
        } else {
                if (!active || c->kargs.n == 0)
                        return 0;
                /* proxmox-boot-tool falls back to /proc/cmdline; start from it */
                struct pv_buf b = PV_BUF_INIT;
                struct pv_strv proc = PV_STRV_INIT;
                r = pv_cmdline_split(st->cmdline, &proc, err);   /* raw: quotes kept */
                for (size_t i = 0; r == 0 && i < proc.n; i++) {
                        const char *t = proc.v[i];
                        if (pv_startswith(t, "BOOT_IMAGE=") || pv_startswith(t, "initrd="))
                                continue;
                        r = pv_buf_addf(&b, err, "%s%s", b.len ? " " : "", t);
                }
                if (r == 0)
                        r = pv_buf_detach(&b, &first, NULL, err);
                pv_buf_release(&b);
                pv_strv_done(&proc);
                if (r < 0)
                        return r;
                rest = "\n";
                created = true;
        }
        if (!first)
                return pv_error_set(err, PV_ENOMEM, "out of memory");
        struct pv_strv old = PV_STRV_INIT, nw = PV_STRV_INIT, removed = PV_STRV_INIT;
        r = pv_cmdline_split(first, &old, err);
        for (size_t i = 0; r == 0 && i < owned->n; i++)
                if (!(active && pv_cmdline_has(&c->kargs, owned->v[i])) && pv_cmdline_has(&old, owned->v[i]))
                        r = pv_strv_push(&removed, owned->v[i], err);
        for (size_t i = 0; r == 0 && active && i < c->kcmdline_takeover.n; i++)
                if (pv_cmdline_has(&old, c->kcmdline_takeover.v[i]) && !pv_strv_contains(&removed, c->kcmdline_takeover.v[i]))
                        r = pv_strv_push(&removed, c->kcmdline_takeover.v[i], err);
        if (r == 0)
                r = pv_cmdline_edit(first, active ? (const char *const *)c->kargs.v : NULL, active ? c->kargs.n : 0,
                                    (const char *const *)removed.v, removed.n, &newline, err);
        if (r == 0)
                r = pv_cmdline_split(newline, &nw, err);
        if (r == 0 && strcmp(newline, first) != 0) {
                if (!has_root_arg(&nw)) {
                        r = pv_error_set(err, PV_EUNSUPPORTED,
                                         "%s on node '%s' has no 'root=' argument%s; proxmox-boot-tool refresh "
                                         "would abort: put the root= of /proc/cmdline on its first line",
                                         PV_HOSTPLAN_KERNEL_CMDLINE, c->node,
                                         created ? " and neither has /proc/cmdline" : "");
                } else {
                        after = pv_asprintf(err, "%s%s", newline, rest);
                        char *reason = after ? pv_asprintf(err, created ? "create the systemd-boot kernel command "
                                                                          "line from /proc/cmdline with the "
                                                                          "passthrough arguments"
                                                                        : "kernel arguments for passthrough on the "
                                                                          "systemd-boot command line (other "
                                                                          "arguments kept)")
                                             : NULL;
                        int idx = 0;
                        if (!after || !reason) {
                                free(reason);
                                r = pv_error_set(err, PV_ENOMEM, "out of memory");
                        } else {
                                r = plan_file(c, PV_ACT_EDIT_FILE, PV_HOSTPLAN_KERNEL_CMDLINE, before, after, true,
                                              reason, &idx, err);
                        }
                        /* one key per changed token: the journal learns which tokens pvfio owns */
                        for (size_t i = 0; r == 0 && idx && i < old.n; i++) {
                                if (pv_cmdline_has(&nw, old.v[i]))
                                        continue;
                                const char *eq = strchr(old.v[i], '=');
                                size_t kl = eq ? (size_t)(eq - old.v[i]) : strlen(old.v[i]);
                                const char *repl = NULL;
                                for (size_t j = 0; j < nw.n && !repl; j++) {
                                        const char *e2 = strchr(nw.v[j], '=');
                                        size_t k2 = e2 ? (size_t)(e2 - nw.v[j]) : strlen(nw.v[j]);
                                        if (pv_cmdline_key_equal(old.v[i], kl, nw.v[j], k2) && !pv_cmdline_has(&old, nw.v[j]))
                                                repl = nw.v[j];
                                }
                                _cleanup_free_ char *key = strndup(old.v[i], kl);
                                r = key ? add_key(c, idx, key, old.v[i], repl, err)
                                        : pv_error_set(err, PV_ENOMEM, "out of memory");
                        }
                        for (size_t j = 0; r == 0 && idx && j < nw.n; j++) {
                                if (pv_cmdline_has(&old, nw.v[j]))
                                        continue;
                                const char *e2 = strchr(nw.v[j], '=');
                                size_t k2 = e2 ? (size_t)(e2 - nw.v[j]) : strlen(nw.v[j]);
                                bool paired = false;
                                for (size_t i = 0; i < old.n && !paired; i++) {
                                        const char *eq = strchr(old.v[i], '=');
                                        size_t kl = eq ? (size_t)(eq - old.v[i]) : strlen(old.v[i]);
                                        paired = !pv_cmdline_has(&nw, old.v[i]) &&
                                                 pv_cmdline_key_equal(old.v[i], kl, nw.v[j], k2);
                                }
                                if (paired)
                                        continue;
                                _cleanup_free_ char *key = strndup(nw.v[j], k2);
                                r = key ? add_key(c, idx, key, NULL, nw.v[j], err)
                                        : pv_error_set(err, PV_ENOMEM, "out of memory");
                        }
                }
        }
        if (r == 0 && active)
                r = reboot_for_args(c, &removed, err);
        pv_strv_done(&old);
        pv_strv_done(&nw);
        pv_strv_done(&removed);
        return r;
}

/* ------------------------------------------------------------ modules */

static int render_modules(struct planner *c, char **ret, struct pv_error *err) {
        const struct pv_host_spec *s = c->spec;
        bool want = c->n_t > 0 || s->vgpu == PV_VGPU_GVTG || s->n_sriov > 0;
        *ret = NULL;
        if (!want)
                return 0;
        bool old = kernel_older(c->st, 6, 2, true);
        struct pv_buf b = PV_BUF_INIT;
        int r = pv_buf_adds(&b,
                            "# Managed by pvfio: modules for PCI passthrough, loaded at boot.\n"
                            "# Overwritten by 'pvfio host apply'; 'pvfio host rollback' removes it.\n",
                            err);
        if (r == 0)
                r = pv_buf_adds(&b, "vfio\nvfio_iommu_type1\nvfio_pci\n", err);
        if (r == 0 && old)
                r = pv_buf_adds(&b, "# kernels before 6.2 have a separate vfio_virqfd module\nvfio_virqfd\n", err);
        if (r == 0 && s->vgpu == PV_VGPU_GVTG)
                r = pv_buf_adds(&b, "# Intel GVT-g mediated devices\nkvmgt\n", err);
        if (r == 0)
                r = pv_buf_detach(&b, ret, NULL, err);
        pv_buf_release(&b);
        return r;
}

static int plan_modules(struct planner *c, struct pv_error *err) {
        const struct pv_host_state *st = c->st;
        const struct pv_host_file *cur = find_file(st->modules_load_d, st->n_modules_load_d, PV_HOSTPLAN_MODULES);
        _cleanup_free_ char *after = NULL;
        int r = render_modules(c, &after, err);
        if (r < 0)
                return r;
        char *reason = pv_asprintf(err, after ? "load the VFIO modules at boot%s" : "no VFIO modules needed%s",
                                   after && c->spec->vgpu == PV_VGPU_GVTG ? " (and kvmgt for GVT-g)" : "");
        r = plan_file(c, PV_ACT_WRITE_FILE, PV_HOSTPLAN_MODULES, file_content(cur), after, true, reason, NULL, err);
        if (r < 0)
                return r;
        /* vfio_virqfd listed elsewhere on a kernel that folded it into vfio */
        if (!kernel_older(st, 6, 2, true)) {
                const struct pv_host_file *lists[64];
                size_t n = 0;
                lists[n++] = &st->etc_modules;
                for (size_t i = 0; i < st->n_modules_load_d && n < PV_ELEMENTSOF(lists); i++)
                        if (!streq(st->modules_load_d[i].path, PV_HOSTPLAN_MODULES))
                                lists[n++] = &st->modules_load_d[i];
                for (size_t i = 0; i < n; i++) {
                        const char *txt = file_content(lists[i]);
                        if (!txt)
                                continue;
                        for (const char *p = strstr(txt, "vfio_virqfd"); p; p = strstr(p + 1, "vfio_virqfd")) {
                                const char *ls = p;
                                while (ls > txt && ls[-1] != '\n')
                                        ls--;
                                while (*ls == ' ' || *ls == '\t')
                                        ls++;
                                if (ls != p)
                                        continue;   /* commented out or not at line start */
                                r = warnf(c, err, "%s lists 'vfio_virqfd', which does not exist on kernel %u.%u (it is "
                                                  "part of vfio since 6.2) and logs a boot error; remove that line",
                                          lists[i]->path ? lists[i]->path : "etc/modules", st->kver.major, st->kver.minor);
                                break;
                        }
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

/* The kernel module behind a PCI driver name, for softdep lines (NULL: built in, no softdep). */
static const char *driver_module(const char *drv) {
        static const char *const map[][2] = {
                { "xhci_hcd", "xhci_pci" },   { "ehci-pci", "ehci_pci" }, { "nvidia-gpu", "i2c_nvidia_gpu" },
                { "pcieport", NULL },         { "vfio-pci", NULL },       { "pci-stub", NULL },
        };
        for (size_t i = 0; i < PV_ELEMENTSOF(map); i++)
                if (name_eq(drv, map[i][0]))
                        return map[i][1];
        return drv;
}

/* softdep lines already in our file ("softdep X pre: vfio-pci" → X). */
static int existing_softdeps(const char *content, struct pv_strv *out, struct pv_error *err) {
        static const char tail[] = " pre: vfio-pci";
        for (const char *p = content; p && *p;) {
                const char *eol = strchr(p, '\n');
                size_t len = eol ? (size_t)(eol - p) : strlen(p);
                if (len > 8 && pv_startswith(p, "softdep ")) {
                        const char *m = p + 8, *sp = memchr(m, ' ', len - 8);
                        if (sp && (size_t)(p + len - sp) == sizeof tail - 1 && memcmp(sp, tail, sizeof tail - 1) == 0) {
                                _cleanup_free_ char *mod = strndup(m, (size_t)(sp - m));
                                if (!mod)
                                        return pv_error_set(err, PV_ENOMEM, "out of memory");
                                if (module_name_ok(mod)) {
                                        int r = strv_add_unique(out, mod, err);
                                        if (r < 0)
                                                return r;
                                }
                        }
                }
                p += len + (eol ? 1 : 0);
        }
        return 0;
}

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(char *const *)a, *(char *const *)b);
}

static int plan_modprobe(struct planner *c, struct pv_error *err) {
        const struct pv_host_spec *s = c->spec;
        const struct pv_host_state *st = c->st;
        const struct pv_host_file *cur = find_file(st->modprobe_d, st->n_modprobe_d, PV_HOSTPLAN_MODPROBE);
        const char *before = file_content(cur);
        struct pv_strv softdeps = PV_STRV_INIT, ids = PV_STRV_INIT;
        struct pv_buf b = PV_BUF_INIT;
        int r = 0;

        /* softdeps: the drivers that claim a target now, plus (once they are on vfio-pci) the ones recorded earlier */
        if (c->n_t && s->softdeps_auto) {
                bool any_free = false;
                for (size_t k = 0; r == 0 && k < c->n_t; k++) {
                        const struct pv_host_dev *d = &st->devs[c->t[k].dev];
                        if (dev_is_vfio_or_free(d)) {
                                any_free = true;
                                continue;
                        }
                        const char *m = driver_module(d->driver);
                        if (m)
                                r = strv_add_unique(&softdeps, m, err);
                }
                if (r == 0 && any_free)
                        r = existing_softdeps(before, &softdeps, err);
        } else if (c->n_t) {
                for (size_t i = 0; r == 0 && i < s->softdeps.n; i++)
                        r = strv_add_unique(&softdeps, s->softdeps.v[i], err);
        }
        if (r == 0 && softdeps.n > 1)
                qsort(softdeps.v, softdeps.n, sizeof(char *), cmp_str);
        for (size_t k = 0; r == 0 && s->binding == PV_BIND_IDS && k < c->n_t; k++) {
                const struct pv_host_dev *d = &st->devs[c->t[k].dev];
                char id[10];
                pv_pci_id_format(&(struct pv_pci_id){ d->vendor, d->device }, id);
                r = strv_add_unique(&ids, id, err);
        }
        bool unsafe_ir = s->allow_unsafe && st->iommu.active && st->iommu.ir == PV_IR_ABSENT && c->n_t > 0;
        if (r == 0 && st->iommu.active && st->iommu.ir == PV_IR_ABSENT && c->n_t > 0 && !s->allow_unsafe)
                r = warnf(c, err, "interrupt remapping is not active on node '%s'; vfio refuses such devices unless "
                                  "'allow_unsafe: true' adds 'options vfio_iommu_type1 allow_unsafe_interrupts=1'",
                          c->node);
        /* a file only when it has a directive: ids/disable_vga, softdeps, blacklists, the IR option */
        bool want = r == 0 && ((c->n_t > 0 && (ids.n || s->disable_vga || softdeps.n)) || s->blacklist.n > 0 ||
                               unsafe_ir);
        if (want) {
                r = pv_buf_adds(&b,
                                "# Managed by pvfio: module options for PCI passthrough (copied into the initramfs).\n"
                                "# Overwritten by 'pvfio host apply'; 'pvfio host rollback' removes it.\n",
                                err);
                for (size_t k = 0; r == 0 && k < c->n_t; k++) {
                        const struct pv_host_dev *d = &st->devs[c->t[k].dev];
                        const char *cls = class_fixed(d->class_code);
                        r = cls ? pv_buf_addf(&b, err, "# %s %s [%04x:%04x]%s\n", d->name, cls, d->vendor, d->device,
                                              c->t[k].companion ? " (companion function)" : "")
                                : pv_buf_addf(&b, err, "# %s class %06x [%04x:%04x]%s\n", d->name, d->class_code,
                                              d->vendor, d->device, c->t[k].companion ? " (companion function)" : "");
                }
                if (r == 0 && c->n_t) {
                        bool any = false;
                        if (ids.n) {
                                r = pv_buf_adds(&b, "options vfio-pci ids=", err);
                                for (size_t i = 0; r == 0 && i < ids.n; i++)
                                        r = pv_buf_addf(&b, err, "%s%s", i ? "," : "", ids.v[i]);
                                any = true;
                        }
                        if (r == 0 && s->disable_vga)
                                r = pv_buf_adds(&b, any ? " disable_vga=1" : "options vfio-pci disable_vga=1", err),
                                any = true;
                        if (r == 0 && any)
                                r = pv_buf_addch(&b, '\n', err);
                }
                if (r == 0 && softdeps.n)
                        r = pv_buf_adds(&b, "# load vfio-pci before the drivers that would claim the devices\n", err);
                for (size_t i = 0; r == 0 && i < softdeps.n; i++)
                        r = pv_buf_addf(&b, err, "softdep %s pre: vfio-pci\n", softdeps.v[i]);
                for (size_t i = 0; r == 0 && i < s->blacklist.n; i++)
                        r = pv_buf_addf(&b, err, "blacklist %s\n", s->blacklist.v[i]);
                if (r == 0 && unsafe_ir)
                        r = pv_buf_adds(&b, "# no interrupt remapping on this host (allow_unsafe: true)\n"
                                            "options vfio_iommu_type1 allow_unsafe_interrupts=1\n",
                                        err);
        }
        char *after = NULL;
        if (r == 0 && want)
                r = pv_buf_detach(&b, &after, NULL, err);
        if (r == 0) {
                char *reason;
                if (!want)
                        reason = pv_asprintf(err, "no vfio-pci binding needed");
                else if (s->binding == PV_BIND_IDS && ids.n)
                        reason = pv_asprintf(err, "bind %zu function(s) to vfio-pci at boot by vendor:device", c->n_t);
                else if (c->n_t)
                        reason = pv_asprintf(err, "load vfio-pci before the drivers of %zu function(s) bound by address",
                                             c->n_t);
                else
                        reason = pv_asprintf(err, "blacklist drivers the profile asks for");
                int idx = 0;
                r = plan_file(c, PV_ACT_WRITE_FILE, PV_HOSTPLAN_MODPROBE, before, after, true, reason, &idx, err);
                if (r == 0 && idx && (unsafe_ir || (c->shared_accepted && s->binding == PV_BIND_IDS)))
                        c->p.actions[idx - 1].unsafe = true;
        }
        /* other modprobe.d files that fight ours */
        for (size_t i = 0; r == 0 && i < st->n_modprobe_d; i++) {
                const struct pv_host_file *f = &st->modprobe_d[i];
                const char *txt = file_content(f);
                if (!txt || streq(f->path, PV_HOSTPLAN_MODPROBE))
                        continue;
                /* other files' vfio-pci ids= lines are refused or taken over by plan_existing_bindings() */
                for (const char *p = txt; r == 0 && s->vgpu == PV_VGPU_NVIDIA_SRIOV && *p;) {
                        size_t len = strcspn(p, "\n");
                        char mod[64];
                        if (len < sizeof mod + 16 && sscanf(p, " blacklist %63[A-Za-z0-9_-]", mod) == 1 &&
                            strcspn(p + strspn(p, " \t") + 10 + strlen(mod), " \t#\n") == 0 && is_nvidia_module(mod))
                                r = warnf(c, err, "%s blacklists '%s', which NVIDIA vGPU needs; remove that line",
                                          f->path, mod);
                        p += len + (p[len] == '\n');
                }
        }
        free(after);
        pv_buf_release(&b);
        pv_strv_done(&softdeps);
        pv_strv_done(&ids);
        return r;
}

/* -------------------------------------------------------- udev rules */

static int plan_udev_vfio(struct planner *c, struct pv_error *err) {
        const char *before = file_content(&c->in->udev_vfio);
        char *after = NULL;
        struct pv_buf b = PV_BUF_INIT;
        int r = 0;
        bool want = c->spec->binding == PV_BIND_DRIVER_OVERRIDE && c->n_t > 0;
        if (want) {
                r = pv_buf_adds(&b,
                                "# Managed by pvfio: bind these functions to vfio-pci by address (driver_override),\n"
                                "# so identical devices elsewhere keep their driver. The probe covers a vfio-pci that\n"
                                "# was loaded before the override was set. Overwritten by 'pvfio host apply'.\n",
                                err);
                for (size_t k = 0; r == 0 && k < c->n_t; k++) {
                        const struct pv_host_dev *d = &c->st->devs[c->t[k].dev];
                        r = pv_buf_addf(&b, err,
                                        "ACTION==\"add\", SUBSYSTEM==\"pci\", KERNEL==\"%s\", "
                                        "ATTR{driver_override}=\"vfio-pci\", "
                                        "RUN+=\"/bin/sh -c 'echo %%k > /sys/bus/pci/drivers_probe'\"\n",
                                        d->name);
                }
                if (r == 0)
                        r = pv_buf_detach(&b, &after, NULL, err);
        }
        pv_buf_release(&b);
        if (r == 0) {
                char *reason = want ? pv_asprintf(err, "bind %zu function(s) to vfio-pci by address at boot", c->n_t)
                                    : pv_asprintf(err, "no per-address binding needed");
                int idx = 0;
                r = plan_file(c, PV_ACT_WRITE_FILE, PV_HOSTPLAN_UDEV_VFIO, before, after, true, reason, &idx, err);
                if (r == 0 && idx && want && c->shared_accepted)
                        c->p.actions[idx - 1].unsafe = true;
        }
        free(after);
        return r;
}

static int plan_sriov(struct planner *c, struct pv_error *err) {
        const struct pv_host_spec *s = c->spec;
        const struct pv_host_state *st = c->st;
        const char *before = file_content(&c->in->udev_sriov);
        struct pv_buf b = PV_BUF_INIT;
        char *after = NULL;
        int r = 0;
        for (size_t i = 0; i < s->n_sriov; i++) {
                const struct pv_sriov_spec *sv = &s->sriov[i];
                char a[PV_PCI_ADDR_MAX];
                pv_pci_addr_format(&sv->pf, a);
                long di = find_dev(st, &sv->pf);
                if (di < 0) {
                        r = pv_error_set_loc(err, PV_ENOTFOUND, &sv->loc, "SR-IOV device %s does not exist on node '%s'",
                                             a, c->node);
                        goto out;
                }
                const struct pv_host_dev *d = &st->devs[di];
                if (!d->is_pf) {
                        r = pv_error_set_loc(err, PV_EINVAL, &sv->loc,
                                             "%s on node '%s' is not an SR-IOV physical function (no sriov_totalvfs)",
                                             a, c->node);
                        goto out;
                }
                if (sv->numvfs > d->sriov_totalvfs) {
                        r = pv_error_set_loc(err, PV_EINVAL, &sv->loc,
                                             "%s supports at most %u virtual functions, the profile asks for %u", a,
                                             d->sriov_totalvfs, sv->numvfs);
                        goto out;
                }
        }
        size_t n_rules = 0;
        for (size_t i = 0; i < s->n_sriov; i++)
                n_rules += s->sriov[i].numvfs > 0;
        if (n_rules) {
                r = pv_buf_adds(&b,
                                "# Managed by pvfio: SR-IOV virtual functions, created when the physical function's\n"
                                "# driver is bound (coldplug 'add' at boot, or a later 'bind'). Overwritten by 'pvfio "
                                "host apply'.\n",
                                err);
                for (size_t i = 0; r == 0 && i < s->n_sriov; i++) {
                        char a[PV_PCI_ADDR_MAX];
                        if (s->sriov[i].numvfs == 0)
                                continue;   /* 0 is the boot default: nothing to keep */
                        pv_pci_addr_format(&s->sriov[i].pf, a);
                        r = pv_buf_addf(&b, err,
                                        "ACTION==\"add|bind\", SUBSYSTEM==\"pci\", KERNEL==\"%s\", TEST==\"driver\", "
                                        "ATTR{sriov_numvfs}==\"0\", ATTR{sriov_numvfs}=\"%u\"\n",
                                        a, s->sriov[i].numvfs);
                }
                if (r == 0)
                        r = pv_buf_detach(&b, &after, NULL, err);
        }
        if (r == 0) {
                char *reason = n_rules ? pv_asprintf(err, "keep the SR-IOV VF count of %zu device(s) across reboots",
                                                     n_rules)
                                          : pv_asprintf(err, "no SR-IOV VF counts to keep");
                r = plan_file(c, PV_ACT_WRITE_FILE, PV_HOSTPLAN_UDEV_SRIOV, before, after, false, reason, NULL, err);
        }
        /* now: SET_SRIOV with --rebind, else a reboot reason */
        for (size_t i = 0; r == 0 && i < s->n_sriov; i++) {
                const struct pv_sriov_spec *sv = &s->sriov[i];
                const struct pv_host_dev *d = &st->devs[find_dev(st, &sv->pf)];
                if (d->sriov_numvfs == sv->numvfs)
                        continue;
                if (!c->opts->rebind) {
                        if (sv->numvfs == 0)
                                r = rebootf(c, err, "%s has %u SR-IOV VFs; they are gone after a reboot (or apply with "
                                                    "--rebind)",
                                            d->name, d->sriov_numvfs);
                        else
                                r = rebootf(c, err, "%s has %u SR-IOV VFs; the %u asked for are created when its driver "
                                                    "next binds (reboot, or apply with --rebind)",
                                            d->name, d->sriov_numvfs, sv->numvfs);
                        continue;
                }
                char cur[16], want[16];
                snprintf(cur, sizeof cur, "%u", d->sriov_numvfs);
                snprintf(want, sizeof want, "%u", sv->numvfs);
                char *reason = pv_asprintf(err, "set the VF count of %s now (%s → %s)", d->name, cur, want);
                int idx = add_action(c, PV_ACT_SET_SRIOV, d->name, NULL, NULL, reason, false, 0, err);
                if (idx < 0) {
                        r = idx;
                        break;
                }
                r = add_key(c, idx, "sriov_numvfs", cur, want, err);
                struct pv_action *a = &c->p.actions[idx - 1];
                if (r == 0 && !d->driver)
                        a->blocked = pv_asprintf(err, "%s has no driver bound; VFs can be created only through it",
                                                 d->name);
                for (size_t v = 0; r == 0 && !a->blocked && d->sriov_numvfs > 0 && v < d->n_vfs; v++) {
                        long vi = find_dev(st, &d->vfs[v]);
                        if (vi >= 0 && st->devs[vi].driver && strcmp(st->devs[vi].driver, VFIO_DRIVER) == 0)
                                a->blocked = pv_asprintf(err, "VF %s is bound to vfio-pci (probably used by a VM); "
                                                              "stop its VM first",
                                                         st->devs[vi].name);
                }
        }
out:
        free(after);
        pv_buf_release(&b);
        return r;
}

static int plan_nvidia_sriov(struct planner *c, struct pv_error *err) {
        if (c->spec->vgpu != PV_VGPU_NVIDIA_SRIOV || c->in->nvidia_sriov_enabled)
                return 0;
        char *reason = pv_asprintf(err, "create the NVIDIA vGPU virtual functions at every boot");
        int idx = add_action(c, PV_ACT_RUN_COMMAND, "systemctl", "systemctl disable " PV_HOSTPLAN_NVIDIA_SRIOV_UNIT,
                             "systemctl enable " PV_HOSTPLAN_NVIDIA_SRIOV_UNIT, reason, false, 0, err);
        if (idx < 0)
                return idx;
        if (c->opts->rebind) {
                reason = pv_asprintf(err, "create the NVIDIA vGPU virtual functions now");
                idx = add_action(c, PV_ACT_RUN_COMMAND, "systemctl", NULL, "systemctl start " PV_HOSTPLAN_NVIDIA_SRIOV_UNIT,
                                 reason, false, idx, err);
                return idx < 0 ? idx : 0;
        }
        return rebootf(c, err, "the NVIDIA vGPU virtual functions appear once %s runs (at boot, or apply with --rebind)",
                       PV_HOSTPLAN_NVIDIA_SRIOV_UNIT);
}

/* ------------------------------------------------------ refresh + live */

static int plan_refresh(struct planner *c, struct pv_error *err) {
        static const struct {
                unsigned flag;
                const char *cmd;
                const char *why;
        } steps[] = {
                { PV_REFRESH_INITRAMFS, PV_CMD_UPDATE_INITRAMFS,
                  "module configuration changed; the initramfs carries a copy of it" },
                { PV_REFRESH_GRUB, PV_CMD_UPDATE_GRUB, "kernel arguments changed; regenerate grub.cfg" },
                { PV_REFRESH_PBT, PV_CMD_PBT_REFRESH, "kernel arguments changed; copy them to every ESP" },
        };
        int prev = 0;
        for (size_t i = 0; i < PV_ELEMENTSOF(steps); i++) {
                bool owed = (c->in->refresh_owed & steps[i].flag) && !(c->refresh & steps[i].flag);
                if (!(c->refresh & steps[i].flag) && !owed)
                        continue;
                /* owed: the journal says an earlier apply changed its inputs and the command never succeeded */
                char *reason = owed ? pv_asprintf(err, "owed by an earlier apply that did not complete it (killed, "
                                                       "or the command failed)")
                                    : pv_asprintf(err, "%s", steps[i].why);
                int dep = c->refresh_dep[i];
                /* the bootloader refresh comes after the initramfs; it waits for the later of both */
                if (prev > dep)
                        dep = prev;
                const char *sp = strchr(steps[i].cmd, ' ');
                _cleanup_free_ char *prog = strndup(steps[i].cmd, sp ? (size_t)(sp - steps[i].cmd) : strlen(steps[i].cmd));
                if (!prog) {
                        free(reason);
                        return pv_error_set(err, PV_ENOMEM, "out of memory");
                }
                int idx = add_action(c, PV_ACT_RUN_COMMAND, prog, NULL, steps[i].cmd, reason, false, dep, err);
                if (idx < 0)
                        return idx;
                prev = idx;
        }
        return 0;
}

/* Does a boot framebuffer range (BOOTFB, simpledrm, efifb) sit inside one of the device's BARs? */
static const struct pv_iomem_range *bootfb_in_bar(const struct pv_host_state *st, const struct pv_host_dev *d) {
        for (size_t i = 0; i < st->n_fb_ranges; i++)
                for (size_t b = 0; b < d->n_bars; b++)
                        if (st->fb_ranges[i].start <= d->bars[b].end && st->fb_ranges[i].end >= d->bars[b].start)
                                return &st->fb_ranges[i];
        return NULL;
}

static int plan_live_and_reboot(struct planner *c, struct pv_error *err) {
        const struct pv_host_state *st = c->st;
        int r = 0;
        int modprobe_idx = 0;
        for (size_t k = 0; r == 0 && k < c->n_t; k++) {
                const struct pv_host_dev *d = &st->devs[c->t[k].dev];
                if (d->driver && strcmp(d->driver, VFIO_DRIVER) == 0)
                        continue;
                const struct pv_iomem_range *fb = bootfb_in_bar(st, d);
                if (d->boot_vga == 1 && r == 0)
                        r = warnf(c, err, "%s is the boot GPU: the host console goes away once vfio-pci has it%s", d->name,
                                  fb && !pv_cmdline_has(&c->kargs, "initcall_blacklist=sysfb_init")
                                          ? "; add 'initcall_blacklist=sysfb_init' to kernel_args so the boot "
                                            "framebuffer releases its memory"
                                          : "");
                if (r < 0)
                        break;
                if (!c->opts->rebind) {
                        if (d->driver)
                                r = rebootf(c, err, "%s is bound to '%s'; vfio-pci takes it at the next boot (or apply "
                                                    "with --rebind)",
                                            d->name, d->driver);
                        else
                                r = rebootf(c, err, "%s has no driver; vfio-pci takes it at the next boot (or apply "
                                                    "with --rebind)",
                                            d->name);
                        continue;
                }
                if (!modprobe_idx && !module_loaded(st, "vfio_pci")) {
                        char *reason = pv_asprintf(err, "load vfio-pci for the live rebind");
                        modprobe_idx = add_action(c, PV_ACT_RUN_COMMAND, "modprobe", NULL, "modprobe vfio-pci", reason,
                                                  false, 0, err);
                        if (modprobe_idx < 0)
                                return modprobe_idx;
                }
                char *reason = pv_asprintf(err, "hand %s to vfio-pci now (driver_override, unbind, probe)", d->name);
                int idx = add_action(c, PV_ACT_REBIND_DEVICE, d->name, NULL, NULL, reason, false, modprobe_idx, err);
                if (idx < 0)
                        return idx;
                r = add_key(c, idx, "driver", d->driver, VFIO_DRIVER, err);
                if (r == 0)
                        r = add_key(c, idx, "driver_override", d->driver_override, VFIO_DRIVER, err);
                struct pv_action *a = &c->p.actions[idx - 1];
                if (r == 0 && fb)
                        a->blocked = pv_asprintf(err,
                                                 "the boot framebuffer ('%s' at %#llx) sits in its BAR; add "
                                                 "'initcall_blacklist=sysfb_init' to kernel_args and reboot",
                                                 fb->name ? fb->name : "BOOTFB", (unsigned long long)fb->start);
                else if (r == 0 && d->boot_vga == 1 && !d->bars_read && d->driver)
                        a->blocked = pv_asprintf(err, "it is the boot GPU and its BARs are unknown; reboot instead");
                else if (r == 0 && d->driver && dev_class_host_critical(d))
                        a->blocked = pv_asprintf(err, "it is a %s in use by the host ('%s'); reboot instead",
                                                 class_label(d), d->driver);
                if (r == 0 && a->blocked && d->driver)
                        r = rebootf(c, err, "%s is bound to '%s' and cannot be rebound live; vfio-pci takes it at the "
                                            "next boot",
                                    d->name, d->driver);
        }
        return r;
}


/* ------------------------------------------------------ host safety */

static const char *need_label(enum pv_need_kind k) {
        switch (k) {
        case PV_NEED_STORAGE: return "storage";
        case PV_NEED_NETWORK: return "network";
        case PV_NEED_KEYBOARD: return "keyboard";
        }
        return "device";
}

static int refuse_critical(struct planner *c, const struct target *t, const char *why, struct pv_error *err) {
        const struct pv_host_dev *d = &c->st->devs[t->dev];
        _cleanup_free_ char *lo = dev_label(d, err);
        _cleanup_free_ char *sel = sel_describe(t->sel, err);
        if (!lo || !sel)
                return -PV_ENOMEM;
        return pv_error_set_loc(err, PV_EUNSAFE, &t->sel->loc,
                                "refusing to give %s to vfio-pci on node '%s': the host needs it (it %s); it was "
                                "chosen by the selector %s%s. Set 'host_critical_ok: true' on that selector if the "
                                "host can do without it",
                                lo, c->node, why, sel, t->companion ? " (as a companion function)" : "");
}

/* Never bind what the host needs to boot, be reached or be used, unless the selector says so. */
static int check_host_needs(struct planner *c, struct pv_error *err) {
        const struct pv_host_state *st = c->st;
        for (size_t k = 0; k < c->n_t; k++) {
                const struct target *t = &c->t[k];
                if (t->sel->host_critical_ok)
                        continue;
                for (size_t n = 0; n < st->n_needs; n++) {
                        if (st->needs[n].dev != t->dev)
                                continue;
                        (void)need_label;
                        return refuse_critical(c, t, st->needs[n].why, err);
                }
        }
        /* the host's display: display-class functions that are not VFs and not already vfio-pci's */
        size_t n_disp = 0, n_taken = 0;
        const struct target *first = NULL;
        for (size_t i = 0; i < st->n_devs; i++) {
                const struct pv_host_dev *d = &st->devs[i];
                if (!is_display(d) || d->is_vf || (d->driver && strcmp(d->driver, VFIO_DRIVER) == 0))
                        continue;
                n_disp++;
                const struct target *t = find_target(c, i);
                if (!t)
                        continue;
                n_taken++;
                if (!t->sel->host_critical_ok && (!first || d->boot_vga == 1))
                        first = t;
        }
        /* groups split by the running kernel's override: say so for every target's group */
        for (size_t k = 0; st->acs_override_active && k < c->n_t; k++) {
                const struct pv_host_dev *d = &st->devs[c->t[k].dev];
                if (c->t[k].companion || d->iommu_group < 0)
                        continue;
                int r = warnf(c, err, "IOMMU group %d of %s is isolated only by the running kernel's "
                                      "pcie_acs_override, not by the hardware: the device may still reach the "
                                      "devices of its real group by peer-to-peer DMA",
                              d->iommu_group, d->name);
                if (r < 0)
                        return r;
        }
        if (n_disp && n_taken == n_disp && first)
                return refuse_critical(c, first,
                                       n_disp == 1 ? "is the host's only display device: the console and a "
                                                     "local rescue need it"
                                                   : "is the last of the host's display devices left to it: the "
                                                     "console and a local rescue need one",
                                       err);
        return 0;
}

/* Blacklisting a driver a host device still uses leaves that device without one. */
static int check_blacklist(struct planner *c, struct pv_error *err) {
        const struct pv_host_state *st = c->st;
        for (size_t b = 0; b < c->spec->blacklist.n; b++) {
                const char *m = c->spec->blacklist.v[b];
                for (size_t i = 0; i < st->n_devs; i++) {
                        const struct pv_host_dev *d = &st->devs[i];
                        if (!d->driver || find_target(c, i))
                                continue;
                        const char *mod = driver_module(d->driver);
                        if (!mod || !pv_module_name_equal(mod, m))
                                continue;
                        _cleanup_free_ char *lo = dev_label(d, err);
                        if (!lo)
                                return -PV_ENOMEM;
                        return pv_error_set_loc(err, PV_EUNSAFE, &c->spec->loc,
                                                "blacklisting '%s' on node '%s' would leave %s without its driver: "
                                                "the host still uses it and it is not passed through. Remove '%s' "
                                                "from 'blacklist', or pass that device through",
                                                m, c->node, lo, m);
                }
        }
        return 0;
}

/* ------------------------------------------------- existing bindings */

static int binding_devices(struct planner *c, const struct pv_vfio_binding *b, struct pv_buf *names,
                           struct pv_buf *kept, size_t *n_kept, struct pv_error *err) {
        const struct pv_host_state *st = c->st;
        int r = 0;
        for (size_t i = 0; r == 0 && i < st->n_devs; i++) {
                const struct pv_host_dev *d = &st->devs[i];
                if (d->is_bridge || !pv_vfio_binding_takes(b, d))
                        continue;
                r = pv_buf_addf(names, err, "%s%s", names->len ? ", " : "", d->name);
                if (r == 0 && !find_target(c, i)) {
                        _cleanup_free_ char *lo = dev_label(d, err);
                        r = lo ? pv_buf_addf(kept, err, "%s%s", kept->len ? ", " : "", lo) : -PV_ENOMEM;
                        (*n_kept)++;
                }
        }
        return r;
}

static const struct pv_host_file *state_file(const struct pv_host_state *st, const char *path) {
        const struct pv_host_file *f = NULL;
        if (!strcmp(path, "etc/default/grub"))
                return &st->boot.etc_default_grub;
        if (!strcmp(path, "etc/initramfs-tools/modules"))
                return &st->etc_initramfs_modules;
        if ((f = find_file(st->boot.grub_d, st->boot.n_grub_d, path)) || (f = find_file(st->modprobe_d, st->n_modprobe_d, path)) ||
            (f = find_file(st->driverctl_d, st->n_driverctl_d, path)) || (f = find_file(st->udev_rules, st->n_udev_rules, path)))
                return f;
        return NULL;
}

/*
 * Bindings to vfio-pci pvfio did not write: refused when they bind a device the profile keeps on
 * the host, otherwise taken over (removed from their file; pvfio's own files bind the same devices).
 */
static int plan_existing_bindings(struct planner *c, struct pv_error *err) {
        struct pv_vfio_binding *v = NULL;
        size_t n = 0;
        int r = pv_bootcfg_vfio_bindings(c->st, &v, &n, err);
        if (r < 0)
                return r;
        /* first decide for every binding; the take-over edits come per file */
        bool *take = calloc(n ? n : 1, sizeof *take);
        if (!take) {
                pv_vfio_bindings_free(v, n);
                return pv_error_set(err, PV_ENOMEM, "out of memory");
        }
        for (size_t i = 0; r == 0 && i < n; i++) {
                const struct pv_vfio_binding *b = &v[i];
                struct pv_buf names = PV_BUF_INIT, kept = PV_BUF_INIT;
                size_t n_kept = 0;
                r = binding_devices(c, b, &names, &kept, &n_kept, err);
                const char *what = pv_binding_source_to_string(b->source);
                if (r == 0 && b->source == PV_BINDSRC_CMDLINE_ACTIVE) {
                        if (n_kept)
                                r = warnf(c, err, "the running kernel has '%s' (proc/cmdline), which binds %s; not in "
                                                  "the profile, they return to their host drivers once no boot "
                                                  "configuration binds them and the node reboots",
                                          b->text, kept.buf);
                } else if (r == 0 && !b->effective) {
                        /* overridden by a later GRUB assignment: it has no effect */
                } else if (r == 0 && n_kept) {
                        if (b->line)
                                r = pv_error_set_loc(err, PV_EUNSAFE, &c->spec->loc,
                                                     "%s:%u: an existing %s ('%s') sends %s to vfio-pci at boot on "
                                                     "node '%s', but the profile does not pass them through (they "
                                                     "stay with the host); remove that binding, or select them "
                                                     "under 'vfio'",
                                                     b->path, b->line, what, b->text, kept.buf, c->node);
                        else
                                r = pv_error_set_loc(err, PV_EUNSAFE, &c->spec->loc,
                                                     "%s: an existing %s sends %s to vfio-pci at boot on node '%s', "
                                                     "but the profile does not pass it through (it stays with the "
                                                     "host); remove that binding, or select it under 'vfio'",
                                                     b->path, what, kept.buf, c->node);
                } else if (r == 0 && names.len) {
                        take[i] = true;
                }
                pv_buf_release(&names);
                pv_buf_release(&kept);
        }
        /* take over, one action per file */
        for (size_t i = 0; r == 0 && i < n; i++) {
                if (!take[i])
                        continue;
                if (v[i].source == PV_BINDSRC_KERNEL_CMDLINE) {
                        /* edited together with pvfio's own tokens by plan_sdboot() */
                        r = strv_add_unique(&c->kcmdline_takeover, v[i].text, err);
                        continue;
                }
                const struct pv_host_file *f = state_file(c->st, v[i].path);
                const char *before = file_content(f);
                _cleanup_free_ char *cur = before ? strdup(before) : NULL;
                if (before && !cur) {
                        r = pv_error_set(err, PV_ENOMEM, "out of memory");
                        break;
                }
                struct pv_buf texts = PV_BUF_INIT;
                bool gone = false;
                /* bindings of the same file, from the last line up so line numbers stay valid */
                for (size_t j = n; r == 0 && j-- > i;) {
                        if (!take[j] || strcmp(v[j].path, v[i].path) != 0)
                                continue;
                        char *next = NULL;
                        struct pv_error e2 = PV_ERROR_INIT;
                        int rr = gone ? 0 : pv_bootcfg_remove_binding(cur, &v[j], &next, &e2);
                        if (rr < 0) {
                                r = pv_error_set_loc(err, PV_EUNSAFE, &c->spec->loc,
                                                     "%s: the existing binding '%s' cannot be taken over (%s); "
                                                     "remove it by hand",
                                                     v[j].path, v[j].text, pv_error_message(&e2));
                                pv_error_done(&e2);
                                break;
                        }
                        if (!gone) {
                                free(cur);
                                cur = next;
                                gone = !next;
                        }
                        r = pv_buf_addf(&texts, err, "%s'%s'", texts.len ? ", " : "", v[j].text);
                        if (j != i)
                                take[j] = false;
                }
                if (r == 0) {
                        char *reason = pv_asprintf(err, "take over the existing vfio-pci binding %s (%s): pvfio's "
                                                        "own files bind the same devices",
                                                   texts.buf, pv_binding_source_to_string(v[i].source));
                        r = reason ? plan_file(c, cur ? PV_ACT_EDIT_FILE : PV_ACT_REMOVE_FILE, v[i].path, before, cur,
                                               v[i].source != PV_BINDSRC_DRIVERCTL && v[i].source != PV_BINDSRC_UDEV,
                                               reason, NULL, err)
                                   : -PV_ENOMEM;
                }
                pv_buf_release(&texts);
        }
        free(take);
        pv_vfio_bindings_free(v, n);
        return r;
}

/* ------------------------------------------------------------- entry */

unsigned pv_hostplan_refresh_for_path(const char *path) {
        if (!path)
                return 0;
        if (pv_startswith(path, "etc/modprobe.d/") || pv_startswith(path, "etc/modules-load.d/") ||
            strcmp(path, "etc/modules") == 0 || pv_startswith(path, "etc/initramfs-tools/"))
                return PV_REFRESH_INITRAMFS;
        if (pv_startswith(path, "etc/default/grub"))
                return PV_REFRESH_GRUB;
        if (strcmp(path, PV_HOSTPLAN_KERNEL_CMDLINE) == 0)
                return PV_REFRESH_PBT;
        return 0;
}

int pv_host_plan_build(const struct pv_host_spec *spec, const struct pv_host_state *state,
                       const struct pv_host_plan_opts *opts, struct pv_plan *plan, struct pv_error *err) {
        static const struct pv_host_plan_opts no_opts;
        if (!opts)
                opts = &no_opts;
        struct planner c = {
                .spec = spec,
                .st = state,
                .opts = opts,
                .in = opts->inputs ? opts->inputs : &no_inputs,
                .node = opts->node ? opts->node : "host",
                .p = PV_PLAN_INIT,
                .kargs = PV_STRV_INIT,
                .kcmdline_takeover = PV_STRV_INIT,
        };
        int r = validate_spec(&c, err);
        if (r == 0 && state->kver.major == 0)
                r = warnf(&c, err, "kernel version of node '%s' unknown (no proc/sys/kernel/osrelease); assuming a "
                                   "kernel without vfio_virqfd that may still need intel_iommu=on",
                          c.node);
        if (r == 0)
                r = resolve_targets(&c, err);
        if (r == 0)
                r = check_conflicts(&c, err);
        if (r == 0)
                r = check_groups(&c, err);
        if (r == 0)
                r = check_ids_twins(&c, err);
        if (r == 0)
                r = check_host_needs(&c, err);
        if (r == 0)
                r = check_blacklist(&c, err);
        if (r == 0)
                r = desired_kernel_args(&c, err);
        if (r == 0)
                r = plan_existing_bindings(&c, err);
        if (r == 0) {
                enum pv_bootloader bl = state->boot.loader;
                if (bl == PV_BOOTLOADER_UNKNOWN)
                        r = warnf(&c, err, "bootloader of node '%s' not recognised; assuming GRUB", c.node);
                bool sd = bl == PV_BOOTLOADER_SYSTEMD_BOOT;
                /* the inactive variant is planned too, so pvfio's leftovers there are removed */
                if (r == 0)
                        r = plan_grub(&c, !sd, err);
                if (r == 0)
                        r = plan_sdboot(&c, sd, err);
        }
        if (r == 0)
                r = plan_modules(&c, err);
        if (r == 0)
                r = plan_modprobe(&c, err);
        if (r == 0)
                r = plan_udev_vfio(&c, err);
        if (r == 0)
                r = plan_sriov(&c, err);
        if (r == 0)
                r = plan_nvidia_sriov(&c, err);
        if (r == 0)
                r = plan_refresh(&c, err);
        if (r == 0)
                r = plan_live_and_reboot(&c, err);
        if (r == 0 && spec->vgpu == PV_VGPU_GVTG) {
                bool igpu = false;
                for (size_t i = 0; i < state->n_devs && !igpu; i++)
                        igpu = state->devs[i].vendor == 0x8086 && is_display(&state->devs[i]);
                if (!igpu)
                        r = warnf(&c, err, "vgpu: gvt-g asked for, but node '%s' has no Intel GPU", c.node);
        }
        if (r == 0)
                r = pv_plan_append(plan, &c.p, err);
        pv_plan_done(&c.p);
        pv_strv_done(&c.kargs);
        pv_strv_done(&c.kcmdline_takeover);
        free(c.t);
        return r;
}
