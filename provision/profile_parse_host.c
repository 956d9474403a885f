/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Profile loading, stage 2: the `hosts:` and `mappings:` sections (see
 * profile_parse.c): node lists, IOMMU, kernel arguments, vfio selectors, SR-IOV,
 * vGPU, and the cluster resource mappings with their per-node entries.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "pvfio/cleanup.h"
#include "pvfio/xalloc.h"
#include "profile_parse_int.h"

/* ------------------------------------------------------------------ hosts */

const char *const pvp_host_keys[] = { "nodes", "iommu", "iommu_pt", "kernel_args", "allow_unsafe", "binding", "vfio",
                                      "softdeps", "blacklist", "disable_vga", "sriov", "vgpu",
                                      "accept_shared_groups",
                                      /* typed in profile_extras.c */
                                      "hugepages_margin", "vendor_reset",
                                      /* typed in profile_rom.c */
                                      "romfiles", NULL };
const char *const pvp_devsel_keys[] = { "id", "address", "match", "companions", "host_critical_ok", NULL };
const char *const pvp_match_keys[] = { "vendor", "device", "class", "name", NULL };
const char *const pvp_sriov_keys[] = { "pf", "vfs", NULL };
static const char *const iommu_names[] = { "auto", "on", "off", NULL };
static const char *const binding_names[] = { "ids", "driver_override", NULL };
static const char *const vgpu_names[] = { "none", "gvt-g", "nvidia-sriov", NULL };

static void type_nodes(struct pvp_ctx *c, const struct ynode *v, struct pv_host_spec *h) {
        if (v->kind == Y_SCALAR && v->stype != YS_NULL && !strcmp(v->text, "all")) {
                h->all_nodes = true;
                return;
        }
        if (v->kind == Y_SCALAR) {
                char *s = NULL;
                if (pvp_t_str(c, v, pvp_re_node, NODE_WHAT " or 'all'", &s) && pv_strv_push_take(&h->nodes, s, NULL) < 0)
                        pvp_oom(c);
                return;
        }
        if (!pvp_is_seq(c, v))
                return;
        if (!v->n_items)
                VERR(c, v, "is empty; name at least one node, or write 'nodes: all'");
        for (size_t i = 0; i < v->n_items && !c->stop; i++) {
                const struct ynode *it = v->items[i];
                size_t mk = pvp_path_idx(c, i);
                char *s = NULL;
                if (it->kind == Y_SCALAR && !strcmp(it->text, "all"))
                        VERR(c, it, "is 'all' inside a list; write 'nodes: all' on its own");
                else if (pvp_t_str(c, it, pvp_re_node, NODE_WHAT, &s) && pv_strv_push_take(&h->nodes, s, NULL) < 0)
                        pvp_oom(c);
                pvp_path_pop(c, mk);
        }
}

static void type_match(struct pvp_ctx *c, const struct ynode *m, struct pv_devsel *d) {
        if (!pvp_is_map(c, m))
                return;
        pvp_check_keys(c, m, pvp_match_keys);
        if (!m->n_pairs)
                VERR(c, m, "needs at least one of 'vendor', 'device', 'class' or 'name'");
        struct pvp_scope s = { 0 };
        const struct ynode *v;
        if ((v = pvp_enter(c, m, "vendor", &s))) {
                d->has_vendor = pvp_t_hex16(c, v, &d->vendor);
                pvp_leave(c, &s);
        }
        if ((v = pvp_enter(c, m, "device", &s))) {
                d->has_device = pvp_t_hex16(c, v, &d->device);
                pvp_leave(c, &s);
        }
        if ((v = pvp_enter(c, m, "class", &s))) {
                uint32_t x;
                unsigned nd;
                if (pvp_is_text(c, v, "a PCI class of 4 or 6 hex digits such as \"0300\"")) {
                        if (pvp_hex_value(v->text, 4, 6, &x, &nd)) {
                                d->has_class = true;
                                d->class_code = x;
                                d->class_bits = nd * 4;
                        } else {
                                VERR(c, v, "must be a PCI class of 4 or 6 hex digits (e.g. \"0300\" or \"030000\"), " GOT,
                                     GOTV(v));
                        }
                }
                pvp_leave(c, &s);
        }
        pvp_o_str(c, m, "name", pvp_re_any, "a device name substring", &d->name_contains);
}

/* Kernel arguments whose value is a comma-separated list (a flow list splits it at the commas). */
static bool comma_list_arg(const char *a) {
        static const char *const keys[] = { "pcie_acs_override", "vfio-pci.ids", "vfio_pci.ids", "initcall_blacklist",
                                            "module_blacklist", "modprobe.blacklist", "video", "isolcpus", "nohz_full",
                                            "rcu_nocbs", "irqaffinity", "intel_iommu", "iommu", "i915.force_probe",
                                            "pci", NULL };
        size_t kl = strcspn(a, "=");
        if (!a[kl])
                return false;
        for (size_t i = 0; keys[i]; i++)
                if (strlen(keys[i]) == kl && !strncmp(a, keys[i], kl))
                        return true;
        return false;
}

/* A vendor:device id ("10de:1db4") or an ACS-override "id:" item. */
static bool looks_like_id(const char *a) {
        if (pv_startswith(a, "id:"))
                return true;
        if (strlen(a) != 9 || a[4] != ':')
                return false;
        for (size_t i = 0; i < 9; i++)
                if (i != 4 && !isxdigit((unsigned char)a[i]))
                        return false;
        return true;
}

/*
 * `kernel_args: [pcie_acs_override=downstream,multifunction]` is two YAML items; warn when an item on
 * the same line as the previous one has no '=' and looks like the rest of its comma-separated value.
 */
static void warn_split_kernel_args(struct pvp_ctx *c, const struct ynode *v) {
        if (v->kind != Y_SEQ)
                return;
        for (size_t i = 1; i < v->n_items; i++) {
                const struct ynode *prev = v->items[i - 1], *it = v->items[i];
                if (prev->kind != Y_SCALAR || it->kind != Y_SCALAR || !prev->text || !it->text ||
                    prev->line != it->line || strchr(it->text, '='))
                        continue;
                if (!comma_list_arg(prev->text) && !looks_like_id(it->text))
                        continue;
                size_t mk = pvp_path_idx(c, i);
                VWARN(c, it, "'%s' looks like the rest of the previous item '%s': in a flow list a comma starts a "
                             "new item, so the kernel would get two arguments; quote the whole argument: "
                             "[\"%s,%s\"]",
                      it->text, prev->text, prev->text, it->text);
                pvp_path_pop(c, mk);
        }
}

static void type_devsel(struct pvp_ctx *c, const struct ynode *m, struct pv_devsel *d) {
        d->companions = true;
        d->loc = pvp_loc_of(c, m);
        if (!pvp_is_map(c, m))
                return;
        pvp_check_keys(c, m, pvp_devsel_keys);
        static const char *const kinds[] = { "id", "address", "match", NULL };
        const char *k = pvp_one_of(c, m, kinds, "'id', 'address' or 'match'");
        struct pvp_scope s = { 0 };
        const struct ynode *v;
        if (k && !strcmp(k, "id") && (v = pvp_enter(c, m, "id", &s))) {
                d->kind = PV_DEVSEL_ID;
                pvp_t_pci_id(c, v, &d->id);
                pvp_leave(c, &s);
        } else if (k && !strcmp(k, "address") && (v = pvp_enter(c, m, "address", &s))) {
                d->kind = PV_DEVSEL_ADDR;
                if (pvp_is_text(c, v, "a PCI address"))
                        pvp_t_addr(c, v, v->text, false, &d->addr);
                pvp_leave(c, &s);
        } else if (k && !strcmp(k, "match") && (v = pvp_enter(c, m, "match", &s))) {
                d->kind = PV_DEVSEL_MATCH;
                type_match(c, v, d);
                pvp_leave(c, &s);
        }
        pvp_o_bool(c, m, "companions", &d->companions);
        pvp_o_bool(c, m, "host_critical_ok", &d->host_critical_ok);
}

static void type_sriov(struct pvp_ctx *c, const struct ynode *m, struct pv_sriov_spec *sr) {
        sr->loc = pvp_loc_of(c, m);
        if (!pvp_is_map(c, m))
                return;
        pvp_check_keys(c, m, pvp_sriov_keys);
        pvp_require(c, m, "pf");
        pvp_require(c, m, "vfs");
        struct pvp_scope s = { 0 };
        const struct ynode *v;
        if ((v = pvp_enter(c, m, "pf", &s))) {
                if (pvp_is_text(c, v, "a PCI address with function"))
                        pvp_t_addr(c, v, v->text, true, &sr->pf);
                pvp_leave(c, &s);
        }
        long long x;
        if (pvp_o_int(c, m, "vfs", 0, 256, &x) == 1)
                sr->numvfs = (unsigned)x;
}

void pvp_type_host(struct pvp_ctx *c, const struct ynode *m, struct pv_host_spec *h) {
        h->iommu = PV_AUTO;
        h->iommu_pt = true;
        h->binding = PV_BIND_IDS;
        h->softdeps_auto = true;
        h->vgpu = PV_VGPU_NONE;
        h->loc = pvp_loc_of(c, m);
        pvp_check_keys(c, m, pvp_host_keys);
        struct pvp_scope s = { 0 };
        const struct ynode *v;
        pvp_require(c, m, "nodes");
        if ((v = pvp_enter(c, m, "nodes", &s))) {
                type_nodes(c, v, h);
                pvp_leave(c, &s);
        }
        if ((v = pvp_enter(c, m, "iommu", &s))) {
                if (v->kind == Y_SCALAR && v->stype == YS_BOOL) {
                        VERR(c, v, "must be one of auto, on, off, got the boolean %s; write '%s'", v->text,
                             v->bval ? "on" : "off");
                } else {
                        int i = pvp_t_enum(c, v, iommu_names);
                        if (i >= 0)
                                h->iommu = i == 0 ? PV_AUTO : i == 1 ? PV_ON : PV_OFF;
                }
                pvp_leave(c, &s);
        }
        pvp_o_bool(c, m, "iommu_pt", &h->iommu_pt);
        pvp_o_strlist(c, m, "kernel_args", pvp_re_noblank, "a kernel argument without spaces", &h->kernel_args,
                      &h->kernel_arg_locs);
        if ((v = pvp_enter(c, m, "kernel_args", &s))) {
                warn_split_kernel_args(c, v);
                pvp_leave(c, &s);
        }
        pvp_o_bool(c, m, "allow_unsafe", &h->allow_unsafe);
        int e;
        if (pvp_o_enum(c, m, "binding", binding_names, &e) == 1)
                h->binding = (enum pv_binding)e;
        if ((v = pvp_enter(c, m, "vfio", &s))) {
                if (pvp_is_seq(c, v) && v->n_items) {
                        h->vfio = pv_xcalloc(v->n_items, sizeof(*h->vfio));
                        for (size_t i = 0; h->vfio && i < v->n_items && !c->stop; i++) {
                                size_t mk = pvp_path_idx(c, i);
                                type_devsel(c, v->items[i], &h->vfio[h->n_vfio++]);
                                pvp_path_pop(c, mk);
                        }
                }
                pvp_leave(c, &s);
        }
        if ((v = pvp_enter(c, m, "softdeps", &s))) {
                if (v->kind == Y_SCALAR && v->stype != YS_NULL && !strcmp(v->text, "auto")) {
                        h->softdeps_auto = true;
                } else if (v->kind == Y_SEQ) {
                        h->softdeps_auto = false;
                        pvp_leave(c, &s);
                        pvp_o_strlist(c, m, "softdeps", pvp_re_driver, "a driver name ([a-zA-Z0-9_-]+)", &h->softdeps, NULL);
                        goto softdeps_done;
                } else {
                        VERR(c, v, "must be 'auto' or a list of driver names, " GOT, GOTV(v));
                }
                pvp_leave(c, &s);
        }
softdeps_done:
        pvp_o_strlist(c, m, "blacklist", pvp_re_driver, "a driver name ([a-zA-Z0-9_-]+)", &h->blacklist, NULL);
        pvp_o_bool(c, m, "disable_vga", &h->disable_vga);
        if ((v = pvp_enter(c, m, "sriov", &s))) {
                if (pvp_is_seq(c, v) && v->n_items) {
                        h->sriov = pv_xcalloc(v->n_items, sizeof(*h->sriov));
                        for (size_t i = 0; h->sriov && i < v->n_items && !c->stop; i++) {
                                size_t mk = pvp_path_idx(c, i);
                                type_sriov(c, v->items[i], &h->sriov[h->n_sriov++]);
                                pvp_path_pop(c, mk);
                        }
                }
                pvp_leave(c, &s);
        }
        if ((v = pvp_enter(c, m, "vgpu", &s))) {
                int i = pvp_t_enum(c, v, vgpu_names);
                if (i >= 0)
                        h->vgpu = (enum pv_vgpu_kind)i;
                h->vgpu_loc = pvp_loc_of(c, v);
                pvp_leave(c, &s);
        }
        pvp_o_bool(c, m, "accept_shared_groups", &h->accept_shared_groups);
        pvp_type_host_extras(c, m, h);
}

/* --------------------------------------------------------------- mappings */

const char *const pvp_mapping_keys[] = { "id", "description", "mdev", "live_migration_capable", "map", NULL };
const char *const pvp_map_entry_keys[] = { "node", "path", "id", "subsystem_id", "iommu_group", "description",
                                           NULL };
#define CONFIGID_WHAT "an id of letters, digits, '-' and '_' starting with a letter (at least 2 characters)"

static bool re_description(const char *s) {
        return strlen(s) <= 4096;
}

static void type_map_entry(struct pvp_ctx *c, const struct ynode *m, struct pv_map_entry *e) {
        e->loc = pvp_loc_of(c, m);
        if (!pvp_is_map(c, m))
                return;
        pvp_check_keys(c, m, pvp_map_entry_keys);
        pvp_require(c, m, "node");
        pvp_require(c, m, "path");
        pvp_o_str(c, m, "node", pvp_re_node, NODE_WHAT, &e->node);
        struct pvp_scope s = { 0 };
        const struct ynode *v;
        if ((v = pvp_enter(c, m, "path", &s))) {
                pvp_t_addr_list(c, v, &e->paths, &e->n_paths);
                for (size_t i = 0; i < e->n_paths; i++)
                        e->paths[i].domain_given = true; /* normalised to 0000 when omitted */
                pvp_leave(c, &s);
        }
        if ((v = pvp_enter(c, m, "id", &s))) {
                e->has_id = pvp_t_pci_id(c, v, &e->id);
                pvp_leave(c, &s);
        }
        if ((v = pvp_enter(c, m, "subsystem_id", &s))) {
                e->has_subsystem_id = pvp_t_pci_id(c, v, &e->subsystem_id);
                pvp_leave(c, &s);
        }
        long long x;
        if (pvp_o_int(c, m, "iommu_group", 0, 1000000, &x) == 1) {
                e->has_iommugroup = true;
                e->iommugroup = (int)x;
        }
        pvp_o_str(c, m, "description", re_description, "a description of at most 4096 characters", &e->description);
}

void pvp_type_mapping(struct pvp_ctx *c, const struct ynode *m, struct pv_mapping *mp) {
        mp->loc = pvp_loc_of(c, m);
        pvp_check_keys(c, m, pvp_mapping_keys);
        pvp_require(c, m, "id");
        pvp_require(c, m, "map");
        pvp_o_str(c, m, "id", pvp_re_configid, CONFIGID_WHAT, &mp->id);
        pvp_o_str(c, m, "description", re_description, "a description of at most 4096 characters", &mp->description);
        pvp_o_bool(c, m, "mdev", &mp->mdev);
        pvp_o_bool(c, m, "live_migration_capable", &mp->live_migration_capable);
        struct pvp_scope s = { 0 };
        const struct ynode *v;
        if ((v = pvp_enter(c, m, "map", &s))) {
                if (pvp_is_seq(c, v)) {
                        if (!v->n_items)
                                VERR(c, v, "is empty; a mapping needs at least one node entry");
                        else
                                mp->map = pv_xcalloc(v->n_items, sizeof(*mp->map));
                        for (size_t i = 0; mp->map && i < v->n_items && !c->stop; i++) {
                                size_t mk = pvp_path_idx(c, i);
                                type_map_entry(c, v->items[i], &mp->map[mp->n_map++]);
                                pvp_path_pop(c, mk);
                        }
                }
                pvp_leave(c, &s);
        }
}
