/* SPDX-License-Identifier: GPL-2.0-or-later */
/* JSON views of the host state and the check verdicts (stable key names). */
#include "pvfio/host.h"
#include "pvfio/strv_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

static json_t *str_or_null(const char *s) {
        return s ? json_string(s) : json_null();
}

static json_t *addr_json(const struct pv_pci_addr *a) {
        char b[PV_PCI_ADDR_MAX];
        pv_pci_addr_format(a, b);
        return json_string(b);
}

static json_t *hex_json(unsigned long long v, int width) {
        char b[32];
        snprintf(b, sizeof(b), "%0*llx", width, v);
        return json_string(b);
}

static json_t *u64_hex(uint64_t v) {
        char b[32];
        snprintf(b, sizeof(b), "0x%llx", (unsigned long long)v);
        return json_string(b);
}

static json_t *dev_json(const struct pv_host_dev *d) {
        json_t *o = json_object();
        if (!o)
                return NULL;
        char id[10];
        json_object_set_new(o, "address", json_string(d->name));
        pv_pci_id_format(&(struct pv_pci_id){ d->vendor, d->device }, id);
        json_object_set_new(o, "id", json_string(id));
        json_object_set_new(o, "vendor", hex_json(d->vendor, 4));
        json_object_set_new(o, "device", hex_json(d->device, 4));
        if (d->has_subsystem) {
                pv_pci_id_format(&(struct pv_pci_id){ d->subsystem_vendor, d->subsystem_device }, id);
                json_object_set_new(o, "subsystem_id", json_string(id));
        } else {
                json_object_set_new(o, "subsystem_id", json_null());
        }
        json_object_set_new(o, "class", hex_json(d->class_code, 6));
        json_object_set_new(o, "revision", hex_json(d->revision, 2));
        json_object_set_new(o, "vendor_name", str_or_null(d->vendor_name));
        json_object_set_new(o, "device_name", str_or_null(d->device_name));
        json_object_set_new(o, "subsystem_name", str_or_null(d->subsystem_name));
        json_object_set_new(o, "class_name", str_or_null(d->class_name));
        json_object_set_new(o, "iommu_group", d->iommu_group >= 0 ? json_integer(d->iommu_group) : json_null());
        json_object_set_new(o, "driver", str_or_null(d->driver));
        json_object_set_new(o, "driver_override", str_or_null(d->driver_override));
        json_object_set_new(o, "boot_vga", d->boot_vga < 0 ? json_null() : json_boolean(d->boot_vga == 1));
        json_object_set_new(o, "reset_method", d->has_reset_method ? pv_strv_to_json(&d->reset_methods) : json_null());
        json_object_set_new(o, "has_reset", json_boolean(d->has_reset));
        json_object_set_new(o, "numa_node", json_integer(d->numa_node));
        json_object_set_new(o, "is_bridge", json_boolean(d->is_bridge));
        json_object_set_new(o, "parent", d->has_parent ? addr_json(&d->parent) : json_null());
        if (d->unknown) {
                /* only on roots built from an imported listing: the facts it did not show */
                char *u = pv_host_dev_unknown_list(d, " ", NULL);
                json_t *a = json_array();
                char *save = NULL;
                for (char *w = u ? strtok_r(u, " ", &save) : NULL; a && w; w = strtok_r(NULL, " ", &save))
                        json_array_append_new(a, json_string(w));
                free(u);
                json_object_set_new(o, "unknown", a ? a : json_null());
        }
        if (d->is_pf) {
                json_t *vfs = json_array();
                for (size_t i = 0; vfs && i < d->n_vfs; i++)
                        json_array_append_new(vfs, addr_json(&d->vfs[i]));
                json_object_set_new(o, "sriov", json_pack("{s:i, s:i, s:o*}", "totalvfs", (json_int_t)d->sriov_totalvfs,
                                                          "numvfs", (json_int_t)d->sriov_numvfs, "vfs", vfs));
        } else {
                json_object_set_new(o, "sriov", json_null());
        }
        json_object_set_new(o, "physfn", d->is_vf ? addr_json(&d->physfn) : json_null());
        json_t *mt = json_array();
        for (size_t i = 0; mt && i < d->n_mdev_types; i++) {
                const struct pv_mdev_type *t = &d->mdev_types[i];
                json_array_append_new(mt, json_pack("{s:s, s:o, s:o, s:o, s:o}", "type", t->type, "name",
                                                    str_or_null(t->name), "description", str_or_null(t->description),
                                                    "device_api", str_or_null(t->device_api), "available",
                                                    t->available >= 0 ? json_integer(t->available) : json_null()));
        }
        json_object_set_new(o, "mdev_types", mt);
        json_t *vt = json_array();
        for (size_t i = 0; vt && i < d->n_vgpu_types; i++)
                json_array_append_new(vt, json_pack("{s:i, s:s}", "id", (json_int_t)d->vgpu_types[i].id, "name",
                                                    d->vgpu_types[i].name));
        json_object_set_new(o, "nvidia_vgpu_types", d->has_nvidia_dir ? vt : (json_decref(vt), json_null()));
        if (d->bars_read) {
                json_t *bars = json_array();
                for (size_t i = 0; bars && i < d->n_bars; i++)
                        json_array_append_new(bars, json_pack("{s:i, s:o, s:o, s:o}", "index",
                                                              (json_int_t)d->bars[i].index, "start",
                                                              u64_hex(d->bars[i].start), "end", u64_hex(d->bars[i].end),
                                                              "flags", u64_hex(d->bars[i].flags)));
                json_object_set_new(o, "bars", bars);
        }
        if (d->caps.known)
                json_object_set_new(o, "caps", json_pack("{s:b, s:i, s:b, s:b, s:b, s:i}", "pcie", d->caps.pcie,
                                                         "pcie_type", d->caps.pcie_type, "flr", d->caps.flr,
                                                         "pm_no_soft_reset", d->caps.pm_no_soft_reset, "acs",
                                                         d->caps.acs, "acs_ctrl", (json_int_t)d->caps.acs_ctrl));
        return o;
}

static json_t *idx_list(const struct pv_host_state *s, const size_t *v, size_t n) {
        json_t *a = json_array();
        for (size_t i = 0; a && i < n; i++)
                json_array_append_new(a, json_string(s->devs[v[i]].name));
        return a;
}

static json_t *group_json(const struct pv_host_state *s, const struct pv_host_group *g) {
        json_t *o = json_object();
        if (!o)
                return NULL;
        json_object_set_new(o, "id", json_integer(g->id));
        json_object_set_new(o, "type", str_or_null(g->type));
        json_object_set_new(o, "devices", idx_list(s, g->members, g->n_members));
        struct pv_group_assessment a;
        if (pv_host_assess_group(s, g, &a, NULL) == 0) {
                json_object_set_new(o, "verdict", json_string(pv_group_verdict_to_string(a.verdict)));
                json_object_set_new(o, "companions", idx_list(s, a.companions, a.n_companions));
                json_object_set_new(o, "bridges", idx_list(s, a.bridges, a.n_bridges));
                json_object_set_new(o, "unrelated", idx_list(s, a.unrelated, a.n_unrelated));
                if (a.n_platform)   /* only then: the host platform's own functions, the group must not be passed */
                        json_object_set_new(o, "host_platform", idx_list(s, a.platform, a.n_platform));
                pv_group_assessment_done(&a);
        }
        return o;
}

static json_t *file_json(const struct pv_host_file *f) {
        return json_pack("{s:s, s:b, s:o}", "path", f->path ? f->path : "", "present", f->present, "content",
                         f->present && f->content ? json_stringn(f->content, f->len) : json_null());
}

static json_t *files_json(const struct pv_host_file *v, size_t n) {
        json_t *a = json_array();
        for (size_t i = 0; a && i < n; i++)
                json_array_append_new(a, file_json(&v[i]));
        return a;
}

json_t *pv_host_state_to_json(const struct pv_host_state *s) {
        json_t *root = json_object();
        if (!root)
                return NULL;
        json_t *devs = json_array();
        for (size_t i = 0; devs && i < s->n_devs; i++)
                json_array_append_new(devs, dev_json(&s->devs[i]));
        json_object_set_new(root, "devices", devs);
        json_t *groups = json_array();
        for (size_t i = 0; groups && i < s->n_groups; i++)
                json_array_append_new(groups, group_json(s, &s->groups[i]));
        json_object_set_new(root, "groups", groups);

        const char *vendor = s->cpu.vendor == PV_CPU_INTEL ? "intel" : s->cpu.vendor == PV_CPU_AMD ? "amd" : "other";
        json_object_set_new(root, "cpu", json_pack("{s:s, s:o, s:o, s:i, s:b, s:b, s:o}", "vendor", vendor, "vendor_id",
                                                   str_or_null(s->cpu.vendor_id), "model_name",
                                                   str_or_null(s->cpu.model_name), "count", (json_int_t)s->cpu.count,
                                                   "vmx", s->cpu.vmx, "svm", s->cpu.svm, "flags",
                                                   pv_strv_to_json(&s->cpu.flags)));
        json_object_set_new(root, "kernel", json_pack("{s:o, s:i, s:i, s:i}", "release", str_or_null(s->kernel_release),
                                                      "major", (json_int_t)s->kver.major, "minor",
                                                      (json_int_t)s->kver.minor, "patch", (json_int_t)s->kver.patch));
        json_object_set_new(root, "cmdline", json_pack("{s:o, s:o}", "raw", str_or_null(s->cmdline), "args",
                                                       pv_strv_to_json(&s->cmdline_args)));
        json_object_set_new(root, "modules", pv_strv_to_json(&s->modules));

        json_t *units = json_array();
        for (size_t i = 0; units && i < s->iommu.n_units; i++) {
                const struct pv_iommu_unit *u = &s->iommu.units[i];
                json_t *uo = json_pack("{s:s, s:s}", "name", u->name, "kind",
                                       u->kind == PV_IOMMU_UNIT_INTEL ? "intel" : u->kind == PV_IOMMU_UNIT_AMD ? "amd"
                                                                                                            : "other");
                if (uo && u->has_cap) {
                        json_object_set_new(uo, "cap", u64_hex(u->cap));
                        json_object_set_new(uo, u->kind == PV_IOMMU_UNIT_AMD ? "features" : "ecap", u64_hex(u->ecap));
                        if (u->kind == PV_IOMMU_UNIT_INTEL)
                                json_object_set_new(uo, "ir_capable", json_boolean(u->ir_capable));
                }
                json_array_append_new(units, uo);
        }
        const char *ir = s->iommu.ir == PV_IR_ACTIVE ? "active" : s->iommu.ir == PV_IR_ABSENT ? "absent" : "unknown";
        json_object_set_new(root, "iommu",
                            json_pack("{s:b, s:o, s:i, s:b, s:b, s:o, s:s, s:o, s:o}", "active", s->iommu.active, "units",
                                      units, "groups", (json_int_t)s->iommu.n_groups_sysfs, "dmar_table",
                                      s->iommu.dmar_table, "ivrs_table", s->iommu.ivrs_table, "dmar_flags",
                                      s->iommu.dmar_flags >= 0 ? json_integer(s->iommu.dmar_flags) : json_null(),
                                      "interrupt_remapping", ir, "ir_chips", pv_strv_to_json(&s->iommu.ir_chips),
                                      "plain_chips", pv_strv_to_json(&s->iommu.plain_msi_chips)));
        json_t *fbs = json_array();
        for (size_t i = 0; fbs && i < s->n_fb_ranges; i++)
                json_array_append_new(fbs, json_pack("{s:s, s:o, s:o}", "name", s->fb_ranges[i].name, "start",
                                                     u64_hex(s->fb_ranges[i].start), "end",
                                                     u64_hex(s->fb_ranges[i].end)));
        json_object_set_new(root, "framebuffers", fbs);
        const struct pv_boot_info *b = &s->boot;
        json_object_set_new(root, "boot",
                            json_pack("{s:s, s:b, s:b, s:o, s:o, s:o, s:o, s:o}", "loader",
                                      pv_bootloader_to_string(b->loader), "efi", b->efi, "proxmox_boot_tool",
                                      b->proxmox_boot_tool, "loader_info", str_or_null(b->loader_info), "evidence",
                                      pv_strv_to_json(&b->evidence), "etc_kernel_cmdline",
                                      file_json(&b->etc_kernel_cmdline),
                                      "etc_default_grub", file_json(&b->etc_default_grub), "grub_d",
                                      files_json(b->grub_d, b->n_grub_d)));
        json_object_set_new(root, "etc_modules", file_json(&s->etc_modules));
        json_object_set_new(root, "modules_load_d", files_json(s->modules_load_d, s->n_modules_load_d));
        json_object_set_new(root, "modprobe_d", files_json(s->modprobe_d, s->n_modprobe_d));
        json_object_set_new(root, "reboot_required_flag", json_boolean(s->reboot_required_flag));
        return root;
}

json_t *pv_check_list_to_json(const struct pv_check_list *l) {
        json_t *a = json_array();
        for (size_t i = 0; a && i < l->n; i++) {
                const struct pv_check *c = &l->v[i];
                json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:o, s:o}", "id", c->id, "status",
                                                   pv_check_status_to_string(c->status), "title", c->title, "evidence",
                                                   str_or_null(c->evidence), "fix", str_or_null(c->fix)));
        }
        return a;
}
