/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The host planner: profile host section + scanned host state → typed actions.
 * Pure: no file, sysfs or command access; everything comes in through the
 * arguments (file contents included), so every decision is unit-testable.
 *
 * This file: shared helpers, validation, device targets and the entry points;
 * the other pieces are listed in hostplan_int.h.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pvfio/xalloc.h"
#include "pvfio/bootcfg.h"
#include "pvfio/buf.h"
#include "pvfio/cleanup.h"
#include "pvfio/hostplan.h"
#include "pvfio/vgpucheck.h"

#include "hostplan_int.h"

static const struct pv_hostplan_inputs no_inputs;

/* ------------------------------------------------------------ helpers */

int hp_add_note(struct planner *c, int kind, struct pv_error *err, const char *fmt, ...) {
        va_list ap;
        char *msg = NULL;
        va_start(ap, fmt);
        int r = vasprintf(&msg, fmt, ap);
        va_end(ap);
        if (r < 0)
                pv_oom(strlen(fmt));    /* allocation does not fail (pvfio/xalloc.h) */
        if (kind == 'r') {
                r = pv_plan_add_reboot(&c->p, c->node, msg, err);
                free(msg);
                return r;
        }
        return pv_plan_add_warning(&c->p, msg, err);
}

/* Append an action; returns its 1-based index (for depends_on) or a negative code. */
int hp_add_action(struct planner *c, enum pv_action_kind kind, const char *target, const char *before,
                      const char *after, char *reason_owned, bool needs_reboot, int depends_on, struct pv_error *err) {
        struct pv_action a = { .kind = kind, .needs_reboot = needs_reboot, .depends_on = depends_on };
        a.target = pv_xstrdup(target);
        a.node = pv_xstrdup(c->node);
        a.before = pv_xstrdup(before);
        a.after = pv_xstrdup(after);
        a.reason = reason_owned;
        if (!reason_owned) {
                pv_action_done(&a);
                return pv_error_set(err, PV_ENOMEM, "out of memory");
        }
        int idx = pv_plan_add(&c->p, &a, err);
        return idx < 0 ? idx : idx + 1;
}

/* The typed payload of action idx1 (1-based): its argv (NULL-terminated). */
int hp_set_argv(struct planner *c, int idx1, const char *const *argv, struct pv_error *err) {
        return idx1 < 0 ? idx1 : pv_action_set_command(&c->p.actions[idx1 - 1], argv, err);
}

int hp_add_key(struct planner *c, int idx1, const char *key, const char *before, const char *after,
                   struct pv_error *err) {
        char *k = pv_xstrdup(key), *b = pv_xstrdup(before), *a = pv_xstrdup(after);
        return pv_plan_add_key(&c->p, (size_t)(idx1 - 1), k, b, a, false, err);
}

bool hp_streq(const char *a, const char *b) {
        return a && b && strcmp(a, b) == 0;
}

static bool strv_has(const struct pv_strv *v, const char *s) {
        for (size_t i = 0; i < v->n; i++)
                if (strcmp(v->v[i], s) == 0)
                        return true;
        return false;
}

int hp_strv_add_unique(struct pv_strv *v, const char *s, struct pv_error *err) {
        return strv_has(v, s) ? 0 : pv_strv_push(v, s, err);
}

bool hp_name_eq(const char *a, const char *b) {
        return pv_cmdline_key_equal(a, strlen(a), b, strlen(b));
}

bool hp_module_loaded(const struct pv_host_state *st, const char *name) {
        for (size_t i = 0; i < st->modules.n; i++)
                if (hp_name_eq(st->modules.v[i], name))
                        return true;
        for (size_t i = 0; i < st->sys_modules.n; i++)
                if (hp_name_eq(st->sys_modules.v[i], name))
                        return true;
        return false;
}

/* Kernel older than major.minor; unknown versions count as "not older" only when `unknown_new`. */
bool hp_kernel_older(const struct pv_host_state *st, unsigned major, unsigned minor, bool unknown_new) {
        const struct pv_kver *k = &st->kver;
        if (k->major == 0)
                return !unknown_new;
        return k->major < major || (k->major == major && k->minor < minor);
}

const struct pv_host_file *hp_find_file(const struct pv_host_file *v, size_t n, const char *path) {
        for (size_t i = 0; i < n; i++)
                if (v[i].path && strcmp(v[i].path, path) == 0)
                        return &v[i];
        return NULL;
}

const char *hp_file_content(const struct pv_host_file *f) {
        return f && f->present ? (f->content ? f->content : "") : NULL;
}

/* A fixed class name (file content must not depend on the pci.ids version), or NULL. */
const char *hp_class_fixed(uint32_t class_code) {
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

const char *hp_class_label(const struct pv_host_dev *d) {
        const char *c = hp_class_fixed(d->class_code);
        return c ? c : d->class_name ? d->class_name : "device";
}

/* "0000:00:17.0 SATA controller [8086:a352] (ahci)" — new string. */
char *hp_dev_label(const struct pv_host_dev *d, struct pv_error *err) {
        return pv_asprintf(err, "%s %s [%04x:%04x] (%s)", d->name, hp_class_label(d), d->vendor, d->device,
                           d->driver ? d->driver : "no driver");
}

bool hp_is_display(const struct pv_host_dev *d) {
        return (d->class_code >> 16) == 0x03;
}

bool hp_dev_is_vfio_or_free(const struct pv_host_dev *d) {
        return !d->driver || strcmp(d->driver, VFIO_DRIVER) == 0;
}

/* A host device a live unbind would take away from the host: storage, network, USB. */
bool hp_dev_class_host_critical(const struct pv_host_dev *d) {
        unsigned base = d->class_code >> 16, sub = (d->class_code >> 8) & 0xff;
        return base == 0x01 || base == 0x02 || (base == 0x0c && sub == 0x03);
}

static const struct pv_host_group *find_group(const struct pv_host_state *st, int id) {
        for (size_t i = 0; i < st->n_groups; i++)
                if (st->groups[i].id == id)
                        return &st->groups[i];
        return NULL;
}

long hp_find_dev(const struct pv_host_state *st, const struct pv_pci_addr *a) {
        for (size_t i = 0; i < st->n_devs; i++)
                if (pv_pci_addr_equal(&st->devs[i].addr, a))
                        return (long)i;
        return -1;
}

struct target *hp_find_target(struct planner *c, size_t dev) {
        for (size_t i = 0; i < c->n_t; i++)
                if (c->t[i].dev == dev)
                        return &c->t[i];
        return NULL;
}

static int add_target(struct planner *c, size_t dev, const struct pv_devsel *sel, bool companion,
                      struct pv_error *err) {
        if (hp_find_target(c, dev))
                return 0;
        (void)err;      /* allocation does not fail (pvfio/xalloc.h) */
        c->t = pv_xreallocarray(c->t, c->n_t + 1, sizeof *c->t);
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

bool hp_module_name_ok(const char *s) {
        if (!*s)
                return false;
        for (const char *p = s; *p; p++)
                if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-')
                        return false;
        return true;
}

bool hp_is_nvidia_module(const char *m) {
        return hp_name_eq(m, "nvidia") || pv_startswith(m, "nvidia_") || pv_startswith(m, "nvidia-");
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
                if (!hp_module_name_ok(s->softdeps.v[i]))
                        return pv_error_set_loc(err, PV_EINVAL, &s->loc, "softdep '%s' is not a module name",
                                                s->softdeps.v[i]);
        for (size_t i = 0; i < s->blacklist.n; i++) {
                const char *m = s->blacklist.v[i];
                if (!hp_module_name_ok(m))
                        return pv_error_set_loc(err, PV_EINVAL, &s->loc, "blacklist entry '%s' is not a module name", m);
                if (s->vgpu == PV_VGPU_NVIDIA_SRIOV && hp_is_nvidia_module(m))
                        return pv_error_set_loc(err, PV_EINVAL, &s->loc,
                                                "blacklisting '%s' would break NVIDIA vGPU, which needs the nvidia host "
                                                "driver; remove it from 'blacklist'",
                                                m);
                if (hp_name_eq(m, VFIO_DRIVER))
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
                return pv_pci_addr_covers(&s->addr, &d->addr);
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

char *hp_sel_describe(const struct pv_devsel *s, struct pv_error *err) {
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
        if (hp_is_display(d) && o->vendor == d->vendor && (oc == 0x0403 || oc == 0x0c03 || oc == 0x0c80))
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
                        _cleanup_free_ char *what = hp_sel_describe(s, err);
                        if (!what)      /* past the buffer's cap: err says so */
                                return pv_error_set(err, PV_ETOOBIG, "a device selector too long to describe");
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
                        _cleanup_free_ char *what = hp_sel_describe(s, err);
                        if (!what)      /* past the buffer's cap: err says so */
                                return pv_error_set(err, PV_ETOOBIG, "a device selector too long to describe");
                        int r = warnf(c, err, "vfio device %s also matches %zu PCI bridge(s); bridges stay with the "
                                              "host (they do not need vfio-pci)",
                                      what, bridges);
                        if (r < 0)
                                return r;
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
                                    !pv_pci_addr_same_slot(&o->addr, &d->addr) || hp_find_target(c, i))
                                        continue;
                                const char *role = companion_role(d, o);
                                _cleanup_free_ char *lo = hp_dev_label(o, err);
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
                if (c->spec->vgpu == PV_VGPU_GVTG && d->vendor == 0x8086 && hp_is_display(d))
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
                        int r = warned_no_groups ? 0
                                                 : warnf(c, err,
                                                         "%s has no IOMMU group (the IOMMU is not active yet); group "
                                                         "safety is checked again after the reboot by 'pvfio host check'",
                                                         d->name);
                        if (r < 0)
                                return r;
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
                        if (hp_find_target(c, idx) || o->is_bridge)
                                continue;
                        _cleanup_free_ char *lo = hp_dev_label(o, err);
                        if (hp_dev_is_vfio_or_free(o)) {
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
                        if (o->vendor != d->vendor || o->device != d->device || hp_find_target(c, i) || o->is_bridge)
                                continue;
                        if (hp_dev_is_vfio_or_free(o)) {
                                int r = warnf(c, err, "'options vfio-pci ids=%04x:%04x' also binds %s at boot (same "
                                                      "vendor:device, not selected)",
                                              d->vendor, d->device, o->name);
                                if (r < 0)
                                        return r;
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
        if (r == 0)   /* can the vGPU mode work on this node at all (issue 10 item 10, pvfio/vgpucheck.h) */
                r = pv_host_vgpu_check(spec, state, c.node, &c.p, err);
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
                r = hp_check_host_needs(&c, err);
        if (r == 0)
                r = hp_check_blacklist(&c, err);
        if (r == 0)
                r = hp_desired_kernel_args(&c, err);
        if (r == 0)
                r = hp_plan_existing_bindings(&c, err);
        if (r == 0) {
                enum pv_bootloader bl = state->boot.loader;
                if (bl == PV_BOOTLOADER_UNKNOWN)
                        r = warnf(&c, err, "bootloader of node '%s' not recognised; assuming GRUB", c.node);
                bool sd = bl == PV_BOOTLOADER_SYSTEMD_BOOT;
                /* the inactive variant is planned too, so pvfio's leftovers there are removed */
                if (r == 0)
                        r = hp_plan_grub(&c, !sd, err);
                if (r == 0)
                        r = hp_plan_sdboot(&c, sd, err);
        }
        if (r == 0)
                r = hp_plan_modules(&c, err);
        if (r == 0)
                r = hp_plan_modprobe(&c, err);
        if (r == 0)
                r = hp_plan_udev_vfio(&c, err);
        if (r == 0)
                r = hp_plan_sriov(&c, err);
        if (r == 0)
                r = hp_plan_nvidia_sriov(&c, err);
        if (r == 0)
                r = hp_plan_refresh(&c, err);
        if (r == 0)
                r = hp_plan_live_and_reboot(&c, err);
        if (r == 0 && spec->vgpu == PV_VGPU_GVTG) {
                bool igpu = false;
                for (size_t i = 0; i < state->n_devs && !igpu; i++)
                        igpu = state->devs[i].vendor == 0x8086 && hp_is_display(&state->devs[i]);
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
