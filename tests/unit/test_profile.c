/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for the profile loader (provision/profile*.c): a full profile
 * into the typed model, template and defaults precedence, every problem in one
 * run, warnings, auth and API URL forms, enum lookups. Every validation rule with
 * a good and a bad case is in test_profile_rules.c, the YAML limits in
 * test_profile_limits.c; fixtures: profile_fixture.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "pvfio/profile.h"
#include "profile_fixture.h"

/* ------------------------------------------------------------ full model */

static const char full_profile[] =
        "version: 1\n"
        "cluster:\n"
        "  name: homelab\n"
        "  api: HTTPS://PVE1.Example.com\n"
        "  auth:\n"
        "    user: root@pam\n"
        "    password_file: /etc/pvfio/root.pw\n"
        "  tls:\n"
        "    fingerprint: \"00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:00112233445566778899AABBCCDDEEFF\"\n"
        "  parallel: 4\n"
        "  timeout: 60\n"
        "defaults:\n"
        "  machine: q35\n"
        "  memory: 4G\n"
        "  tags: [fleet]\n"
        "templates:\n"
        "  base: &base\n"
        "    bios: ovmf\n"
        "    efidisk: { storage: local-lvm }\n"
        "    cores: 4\n"
        "    ostype: l26\n"
        "  gpu-desktop:\n"
        "    template: base\n"
        "    cores: 8\n"
        "    memory: 16G\n"
        "    pci:\n"
        "      - mapping: rtx\n"                                   /* line 27 */
        "        pcie: true\n"
        "        primary: true\n"
        "hosts:\n"
        "  - nodes: [pve1, pve2]\n"
        "    iommu: on\n"
        "    iommu_pt: false\n"
        "    kernel_args: [initcall_blacklist=sysfb_init, \"pcie_acs_override=downstream,multifunction\"]\n"
        "    allow_unsafe: true\n"
        "    binding: driver_override\n"
        "    vfio:\n"
        "      - id: 10DE:25A0\n"
        "      - address: 0A:00\n"
        "        companions: false\n"
        "      - match: { vendor: 10de, class: \"0300\", name: RTX }\n"
        "    softdeps: [nvidia, snd_hda_intel]\n"
        "    blacklist: [nouveau]\n"
        "    disable_vga: true\n"
        "    sriov:\n"
        "      - pf: 0000:03:00.0\n"
        "        vfs: 7\n"
        "    vgpu: gvt-g\n"
        "    accept_shared_groups: true\n"
        "  - nodes: all\n"
        "mappings:\n"
        "  - id: rtx\n"
        "    description: RTX 3050 on each node\n"
        "    mdev: true\n"
        "    live_migration_capable: true\n"
        "    map:\n"
        "      - node: pve1\n"
        "        path: 01:00\n"
        "        id: 10de:25a0\n"
        "        subsystem_id: 1028:0A61\n"
        "        iommu_group: 15\n"
        "        description: left slot\n"
        "      - node: pve2\n"
        "        path: \"0000:02:00.0;0000:02:00.1\"\n"
        "      - node: pve2\n"
        "        path: [0000:03:00.0, 0000:03:00.1]\n"
        "  - id: vgpu\n"
        "    mdev: true\n"
        "    map: [{node: pve2, path: 0000:04:00.4}, {node: pve2, path: 0000:04:00.5}]\n"
        "vms:\n"
        "  - name: ws1\n"                                           /* line 71 */
        "    node: pve1\n"
        "    vmid: 101\n"
        "    template: gpu-desktop\n"
        "    state: running\n"
        "    cores: 12\n"
        "    machine_version: \"9.2+pve1\"\n"
        "    cpu: { type: host, flags: [\"+pcid\", \"-md-clear\"], hidden: true }\n"
        "    sockets: 2\n"
        "    balloon: 2048\n"
        "    hugepages: 1G\n"
        "    numa: true\n"
        "    scsihw: virtio-scsi-single\n"
        "    disks:\n"
        "      - storage: local-lvm\n"
        "        size: 1.5T\n"
        "        options: \"ssd=1,discard=on\"\n"
        "      - bus: virtio\n"
        "        index: 3\n"
        "        storage: ceph.pool\n"
        "        size: 512M\n"
        "    networks:\n"
        "      - bridge: vmbr0\n"
        "        vlan: 20\n"
        "        firewall: true\n"
        "        macaddr: \"bc:24:11:aa:bb:cc\"\n"
        "        index: 1\n"
        "      - model: e1000\n"
        "        bridge: vmbr1\n"
        "    vga: none\n"
        "    tags: [gpu, vdi]\n"
        "    onboot: true\n"
        "  - name: ws2\n"
        "    node: pve2\n"
        "    <<: *base\n"
        "    cores: 2\n"
        "    pci:\n"
        "      - address: [0000:0A:00.0, 0b:00.1]\n"
        "        rombar: false\n"
        "        romfile: vbios.rom\n"
        "        driver: keep\n"
        "        vendor_id: 0x10DE\n"
        "        device_id: \"25a0\"\n"
        "        sub_vendor_id: 1028\n"
        "        sub_device_id: 0A61\n"
        "        slot: 3\n"
        "      - vf_of: 0000:03:00.0\n"
        "        mdev: nvidia-660\n"
        "      - mapping: vgpu\n"
        "        mdev: i915-GVTg_V5_4\n";

static void test_full_model(void **state) {
        (void)state;
        struct pv_profile *p = parse_ok(full_profile);

        assert_string_equal(p->file, "test.yaml");
        assert_int_equal(p->version, 1);
        /* cluster */
        const struct pv_cluster *cl = &p->cluster;
        assert_true(cl->present);
        assert_string_equal(cl->name, "homelab");
        assert_string_equal(cl->api_url, "https://pve1.example.com:8006");
        assert_int_equal(cl->api_url_loc.line, 4);
        assert_int_equal(cl->api_url_loc.col, 8);
        assert_ptr_equal(cl->api_url_loc.file, p->file);
        assert_int_equal(cl->auth, PV_AUTH_PASSWORD);
        assert_string_equal(cl->user, "root@pam");
        assert_null(cl->token_id);
        assert_null(cl->secret.env);
        assert_string_equal(cl->secret.file, "/etc/pvfio/root.pw");
        assert_string_equal(cl->tls_fingerprint,
                            "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF");
        assert_false(cl->tls_insecure);
        assert_int_equal(cl->parallel, 4);
        assert_int_equal(cl->timeout_s, 60);

        /* hosts */
        assert_int_equal(p->n_hosts, 2);
        const struct pv_host_spec *h = &p->hosts[0];
        assert_int_equal(h->nodes.n, 2);
        assert_string_equal(h->nodes.v[0], "pve1");
        assert_string_equal(h->nodes.v[1], "pve2");
        assert_false(h->all_nodes);
        assert_int_equal(h->iommu, PV_ON);
        assert_false(h->iommu_pt);
        assert_int_equal(h->kernel_args.n, 2);
        assert_string_equal(h->kernel_args.v[1], "pcie_acs_override=downstream,multifunction");
        assert_int_equal(h->kernel_arg_locs[1].line, 34);
        assert_true(h->allow_unsafe);
        assert_int_equal(h->binding, PV_BIND_DRIVER_OVERRIDE);
        assert_int_equal(h->n_vfio, 3);
        assert_int_equal(h->vfio[0].kind, PV_DEVSEL_ID);
        assert_int_equal(h->vfio[0].id.vendor, 0x10de);
        assert_int_equal(h->vfio[0].id.device, 0x25a0);
        assert_true(h->vfio[0].companions);
        assert_int_equal(h->vfio[1].kind, PV_DEVSEL_ADDR);
        assert_int_equal(h->vfio[1].addr.domain, 0);
        assert_int_equal(h->vfio[1].addr.bus, 0x0a);
        assert_int_equal(h->vfio[1].addr.dev, 0);
        assert_int_equal(h->vfio[1].addr.func, PV_PCI_FUNC_ALL);
        assert_false(h->vfio[1].companions);
        assert_int_equal(h->vfio[1].loc.line, 39);
        assert_int_equal(h->vfio[2].kind, PV_DEVSEL_MATCH);
        assert_true(h->vfio[2].has_vendor);
        assert_false(h->vfio[2].has_device);
        assert_int_equal(h->vfio[2].vendor, 0x10de);
        assert_true(h->vfio[2].has_class);
        assert_int_equal(h->vfio[2].class_code, 0x0300);
        assert_int_equal(h->vfio[2].class_bits, 16);
        assert_string_equal(h->vfio[2].name_contains, "RTX");
        assert_false(h->softdeps_auto);
        assert_int_equal(h->softdeps.n, 2);
        assert_string_equal(h->softdeps.v[1], "snd_hda_intel");
        assert_string_equal(h->blacklist.v[0], "nouveau");
        assert_true(h->disable_vga);
        assert_int_equal(h->n_sriov, 1);
        assert_int_equal(h->sriov[0].pf.bus, 3);
        assert_int_equal(h->sriov[0].pf.func, 0);
        assert_int_equal(h->sriov[0].numvfs, 7);
        assert_int_equal(h->vgpu, PV_VGPU_GVTG);
        assert_true(h->accept_shared_groups);
        const struct pv_host_spec *all = &p->hosts[1];
        assert_true(all->all_nodes);
        assert_int_equal(all->iommu, PV_AUTO);
        assert_true(all->iommu_pt);
        assert_true(all->softdeps_auto);
        assert_int_equal(all->binding, PV_BIND_IDS);
        assert_int_equal(all->vgpu, PV_VGPU_NONE);
        assert_ptr_equal(pv_profile_host_for_node(p, "pve2"), &p->hosts[0]);
        assert_ptr_equal(pv_profile_host_for_node(p, "pve9"), &p->hosts[1]);

        /* mappings */
        assert_int_equal(p->n_mappings, 2);
        assert_ptr_equal(pv_profile_find_mapping(p, "vgpu"), &p->mappings[1]);
        assert_int_equal(p->mappings[1].n_map, 2);
        const struct pv_mapping *m = pv_profile_find_mapping(p, "rtx");
        assert_ptr_equal(m, &p->mappings[0]);
        assert_null(pv_profile_find_mapping(p, "nope"));
        assert_string_equal(m->description, "RTX 3050 on each node");
        assert_true(m->mdev);
        assert_true(m->live_migration_capable);
        assert_int_equal(m->n_map, 3);
        assert_string_equal(m->map[0].node, "pve1");
        assert_int_equal(m->map[0].n_paths, 1);
        char a[PV_PCI_ADDR_MAX];
        pv_pci_addr_format(&m->map[0].paths[0], a);
        assert_string_equal(a, "0000:01:00");
        assert_true(m->map[0].has_id);
        assert_int_equal(m->map[0].id.device, 0x25a0);
        assert_true(m->map[0].has_subsystem_id);
        assert_int_equal(m->map[0].subsystem_id.vendor, 0x1028);
        assert_int_equal(m->map[0].subsystem_id.device, 0x0a61);
        assert_true(m->map[0].has_iommugroup);
        assert_int_equal(m->map[0].iommugroup, 15);
        assert_string_equal(m->map[0].description, "left slot");
        assert_int_equal(m->map[1].n_paths, 2);
        pv_pci_addr_format(&m->map[1].paths[1], a);
        assert_string_equal(a, "0000:02:00.1");
        assert_false(m->map[1].has_id);
        assert_int_equal(m->map[2].n_paths, 2);
        pv_pci_addr_format(&m->map[2].paths[0], a);
        assert_string_equal(a, "0000:03:00.0");

        /* vms: defaults < base < gpu-desktop < VM */
        assert_int_equal(p->n_vms, 2);
        const struct pv_vm *v = pv_profile_find_vm(p, "ws1");
        assert_ptr_equal(v, &p->vms[0]);
        assert_null(pv_profile_find_vm(p, "ws3"));
        assert_string_equal(v->node, "pve1");
        assert_int_equal(v->vmid, 101);
        assert_int_equal(v->vmid_loc.line, 73);
        assert_int_equal(v->name_loc.line, 71);
        assert_int_equal(v->name_loc.col, 11);
        assert_int_equal(v->loc.line, 71);
        assert_int_equal(v->loc.col, 5);
        assert_string_equal(v->template_name, "gpu-desktop");
        assert_int_equal(v->state, PV_STATE_RUNNING);
        assert_int_equal(v->machine, PV_MACHINE_Q35);          /* defaults */
        assert_string_equal(v->machine_version, "9.2+pve1");
        assert_int_equal(v->bios, PV_BIOS_OVMF);               /* base */
        assert_string_equal(v->efidisk_storage, "local-lvm");  /* base */
        assert_true(v->efidisk_pre_enrolled_keys);
        assert_string_equal(v->ostype, "l26");                 /* base */
        assert_int_equal(v->cores, 12);                        /* VM over gpu-desktop over base */
        assert_int_equal(v->memory_mib, 16384);                /* gpu-desktop over defaults */
        assert_int_equal(v->sockets, 2);
        assert_int_equal(v->balloon_mib, 2048);
        assert_string_equal(v->hugepages, "1024");
        assert_int_equal(v->numa, 1);
        assert_string_equal(v->scsihw, "virtio-scsi-single");
        assert_string_equal(v->cpu_type, "host");
        assert_int_equal(v->cpu_flags.n, 2);
        assert_string_equal(v->cpu_flags.v[1], "-md-clear");
        assert_true(v->cpu_hidden);
        assert_string_equal(v->vga, "none");
        assert_int_equal(v->onboot, 1);
        assert_int_equal(v->tags.n, 2);                        /* VM list replaces the defaults' list */
        assert_string_equal(v->tags.v[0], "gpu");
        assert_int_equal(v->n_disks, 2);
        assert_int_equal(v->disks[0].bus, PV_BUS_SCSI);
        assert_int_equal(v->disks[0].index, -1);
        assert_true(v->disks[0].size_bytes == 1536ull * 1024 * 1024 * 1024);
        assert_string_equal(v->disks[0].options, "ssd=1,discard=on");
        assert_int_equal(v->disks[1].bus, PV_BUS_VIRTIO);
        assert_int_equal(v->disks[1].index, 3);
        assert_string_equal(v->disks[1].storage, "ceph.pool");
        assert_true(v->disks[1].size_bytes == 512ull * 1024 * 1024);
        assert_int_equal(v->n_nets, 2);
        assert_string_equal(v->nets[0].model, "virtio");
        assert_string_equal(v->nets[0].bridge, "vmbr0");
        assert_int_equal(v->nets[0].vlan, 20);
        assert_int_equal(v->nets[0].firewall, 1);
        assert_string_equal(v->nets[0].macaddr, "BC:24:11:AA:BB:CC");
        assert_int_equal(v->nets[0].index, 1);
        assert_string_equal(v->nets[1].model, "e1000");
        assert_int_equal(v->nets[1].vlan, -1);
        assert_int_equal(v->nets[1].firewall, -1);
        assert_null(v->nets[1].macaddr);
        /* pci inherited from the template keeps the template's position */
        assert_int_equal(v->n_pci, 1);
        assert_int_equal(v->pci[0].kind, PV_PCIDEV_MAPPING);
        assert_string_equal(v->pci[0].mapping, "rtx");
        assert_int_equal(v->pci[0].pcie, 1);
        assert_int_equal(v->pci[0].primary, 1);
        assert_int_equal(v->pci[0].rombar, -1);
        assert_int_equal(v->pci[0].legacy_igd, -1);
        assert_int_equal(v->pci[0].slot, -1);
        assert_int_equal(v->pci[0].driver, PV_DRIVER_DEFAULT);
        assert_int_equal(v->pci[0].loc.line, 27);
        assert_int_equal(v->pci[0].loc.col, 9);

        /* ws2: defaults < `<<: *base` merge key < its own keys */
        v = &p->vms[1];
        assert_null(v->template_name);
        assert_int_equal(v->vmid, 0);
        assert_int_equal(v->state, PV_STATE_PRESENT);
        assert_int_equal(v->bios, PV_BIOS_OVMF);
        assert_string_equal(v->efidisk_storage, "local-lvm");
        assert_int_equal(v->cores, 2);
        assert_int_equal(v->memory_mib, 4096);
        assert_int_equal(v->balloon_mib, -1);
        assert_int_equal(v->numa, -1);
        assert_int_equal(v->onboot, -1);
        assert_null(v->hugepages);
        assert_int_equal(v->tags.n, 1);
        assert_string_equal(v->tags.v[0], "fleet");
        assert_int_equal(v->n_pci, 3);
        const struct pv_pcidev *d = &v->pci[0];
        assert_int_equal(d->kind, PV_PCIDEV_RAW);
        assert_int_equal(d->n_addrs, 2);
        pv_pci_addr_format(&d->addrs[0], a);
        assert_string_equal(a, "0000:0a:00.0"); /* upper case accepted, normalised */
        pv_pci_addr_format(&d->addrs[1], a);
        assert_string_equal(a, "0000:0b:00.1");
        assert_int_equal(d->rombar, 0);
        assert_string_equal(d->romfile, "vbios.rom");
        assert_int_equal(d->driver, PV_DRIVER_KEEP);
        assert_true(d->has_vendor_id && d->has_device_id && d->has_sub_vendor_id && d->has_sub_device_id);
        assert_int_equal(d->vendor_id, 0x10de);
        assert_int_equal(d->device_id, 0x25a0);
        assert_int_equal(d->sub_vendor_id, 0x1028);
        assert_int_equal(d->sub_device_id, 0x0a61);
        assert_int_equal(d->slot, 3);
        assert_null(d->mdev);
        d = &v->pci[1];
        assert_int_equal(d->kind, PV_PCIDEV_VF_POOL);
        pv_pci_addr_format(&d->vf_pf, a);
        assert_string_equal(a, "0000:03:00.0");
        assert_string_equal(d->mdev, "nvidia-660");
        d = &v->pci[2];
        assert_int_equal(d->kind, PV_PCIDEV_MAPPING);
        assert_string_equal(d->mapping, "vgpu");
        assert_string_equal(d->mdev, "i915-GVTg_V5_4");
        pv_profile_free(p);
}

static void test_merge_precedence(void **state) {
        (void)state;
        struct pv_profile *p = parse_ok(V "templates:\n"
                                          "  small: &small\n"
                                          "    cores: 2\n"
                                          "    memory: 2G\n"
                                          "    sockets: 1\n"
                                          "  big: &big\n"
                                          "    cores: 16\n"
                                          "    memory: 64G\n"
                                          "    numa: true\n"
                                          "  mixed:\n"
                                          "    <<: [*small, *big]\n" /* earlier source wins */
                                          "    sockets: 2\n"         /* written key wins over merged */
                                          "defaults:\n"
                                          "  onboot: true\n"
                                          "  cores: 1\n"
                                          "vms:\n"
                                          "  - name: a\n"
                                          "    node: pve1\n"
                                          "    template: mixed\n"
                                          "  - name: b\n"
                                          "    node: pve1\n"
                                          "    template: mixed\n"
                                          "    onboot: false\n"
                                          "    cores: 4\n"
                                          "  - name: c\n"
                                          "    node: pve1\n"
                                          "    cores: 3\n");
        assert_int_equal(p->n_vms, 3);
        const struct pv_vm *a = &p->vms[0], *b = &p->vms[1], *c = &p->vms[2];
        assert_int_equal(a->cores, 2);
        assert_int_equal(a->memory_mib, 2048);
        assert_int_equal(a->numa, 1);
        assert_int_equal(a->sockets, 2);
        assert_int_equal(a->onboot, 1);
        assert_int_equal(b->cores, 4);
        assert_int_equal(b->onboot, 0);
        assert_int_equal(b->sockets, 2);
        assert_int_equal(c->cores, 3);
        assert_int_equal(c->onboot, 1);
        assert_int_equal(c->memory_mib, 0);
        assert_int_equal(c->sockets, 0);
        assert_null(c->template_name);
        pv_profile_free(p);
}

/* A bad value in a template used by three VMs is reported once, at the template. */
static void test_template_error_once(void **state) {
        (void)state;
        struct pv_profile *p = NULL;
        struct pv_diags d = { 0 };
        const char *y = V "templates:\n  t:\n    cores: 0\n    bogus: 1\n"
                          "vms:\n  - {name: a, node: n1, template: t}\n  - {name: b, node: n1, template: t}\n"
                          "  - {name: c, node: n1, template: t}\n";
        assert_int_equal(parse(y, &p, &d), -PV_EINVAL);
        if (d.n_errors != 2)
                dump_diags(&d);
        assert_int_equal(d.n_errors, 2);
        assert_true(has_diag(&d, false, 4, 12, "'templates.t.cores' must be from 1 to 1024"));
        assert_true(has_diag(&d, false, 5, 5, "unknown key 'bogus' in 'templates.t'"));
        assert_string_equal(d.v[0].key, "templates.t.cores");
        pv_diags_done(&d);
}

/* Every problem is collected, sorted by position, each with its key path. */
static void test_all_problems(void **state) {
        (void)state;
        struct pv_profile *p = NULL;
        struct pv_diags d = { 0 };
        const char *y = "version: 1\n"
                        "vms:\n"
                        "  - name: a\n"
                        "    node: n_1\n"
                        "    vmid: 5\n"
                        "    cores: 0\n"
                        "    pci:\n"
                        "      - mapping: nope\n"
                        "        mdev: a/b\n"
                        "bogus: 1\n";
        assert_int_equal(parse(y, &p, &d), -PV_EINVAL);
        if (d.n_errors != 6)
                dump_diags(&d);
        assert_int_equal(d.n_errors, 6);
        assert_int_equal(d.n, 6);
        for (size_t i = 1; i < d.n; i++)
                assert_true(d.v[i - 1].line < d.v[i].line ||
                            (d.v[i - 1].line == d.v[i].line && d.v[i - 1].col <= d.v[i].col));
        assert_string_equal(d.v[0].key, "vms[0].node");
        assert_string_equal(d.v[1].key, "vms[0].vmid");
        assert_string_equal(d.v[2].key, "vms[0].cores");
        assert_string_equal(d.v[3].key, "vms[0].pci[0].mapping");
        assert_string_equal(d.v[4].key, "vms[0].pci[0].mdev");
        assert_string_equal(d.v[5].key, "bogus");
        pv_diags_done(&d);
}

/* Without a diags list the first problem still arrives through err, with its position. */
static void test_error_without_diags(void **state) {
        (void)state;
        struct pv_profile *p = NULL;
        struct pv_error e = PV_ERROR_INIT;
        const char *y = "version: 1\nvms:\n  - {name: a, node: b, vmid: 1}\n  - {name: a, node: b}\n";
        assert_int_equal(pv_profile_parse_mem(y, strlen(y), "p.yaml", &p, NULL, &e), -PV_EINVAL);
        assert_null(p);
        assert_int_equal(e.code, PV_EINVAL);
        assert_string_equal(e.file, "p.yaml");
        assert_int_equal(e.line, 3);
        assert_int_equal(e.col, 30);
        assert_non_null(strstr(e.message, "must be from 100 to 999999999"));
        assert_non_null(strstr(e.message, "and 1 more problem;"));
        pv_error_done(&e);
}

static void test_warnings_keep_valid(void **state) {
        (void)state;
        struct pv_profile *p = NULL;
        struct pv_diags d = { 0 };
        const char *y = V ROOTPW "  tls:\n    insecure: true\n";
        assert_int_equal(parse(y, &p, &d), 0);
        assert_non_null(p);
        assert_int_equal(d.n, 1);
        assert_int_equal(d.n_errors, 0);
        assert_true(d.v[0].warning);
        assert_string_equal(d.v[0].key, "cluster.tls.insecure");
        assert_true(p->cluster.tls_insecure);
        pv_profile_free(p);
        pv_diags_done(&d);
}

static void test_auth_and_url(void **state) {
        (void)state;
        struct pv_profile *p = parse_ok(V "cluster:\n  api: https://[fd00::1]/\n  auth:\n"
                                          "    token: root@pam!pvfio-1\n    secret_file: /etc/pvfio/token\n");
        assert_string_equal(p->cluster.api_url, "https://[fd00::1]:8006");
        assert_int_equal(p->cluster.auth, PV_AUTH_TOKEN);
        assert_string_equal(p->cluster.token_id, "root@pam!pvfio-1");
        assert_null(p->cluster.user);
        assert_string_equal(p->cluster.secret.file, "/etc/pvfio/token");
        assert_int_equal(p->cluster.secret.loc.line, 6);
        assert_int_equal(p->cluster.parallel, 0);
        assert_int_equal(p->cluster.timeout_s, 0);
        pv_profile_free(p);
        p = parse_ok(V "cluster:\n  api: https://pve.example.com:443\n  auth: {user: root@pam, password_env: PW}\n");
        assert_string_equal(p->cluster.api_url, "https://pve.example.com:443");
        assert_string_equal(p->cluster.secret.env, "PW");
        pv_profile_free(p);
        p = parse_ok(V);
        assert_false(p->cluster.present);
        assert_int_equal(p->cluster.auth, PV_AUTH_NONE);
        pv_profile_free(p);
        expect_diag(V "cluster:\n  api: " MARK "https://user@pve1\n  auth: {user: root@pam, password_env: PW}\n", false,
                    "must not contain user information");
        expect_diag(V "cluster:\n  api: " MARK "ftp://pve1\n  auth: {user: root@pam, password_env: PW}\n", false,
                    "must be an https:// URL");
}

static void test_enums_and_lookups(void **state) {
        (void)state;
        assert_string_equal(pv_vm_state_to_string(PV_STATE_ABSENT), "absent");
        assert_null(pv_vm_state_to_string((enum pv_vm_state)42));
        assert_int_equal(pv_vm_state_from_string("running"), PV_STATE_RUNNING);
        assert_int_equal(pv_vm_state_from_string("started"), -1);
        assert_int_equal(pv_vm_state_from_string(NULL), -1);
        assert_string_equal(pv_machine_to_string(PV_MACHINE_Q35), "q35");
        assert_string_equal(pv_machine_to_string(PV_MACHINE_I440FX), "i440fx");
        assert_null(pv_machine_to_string(PV_MACHINE_UNSET));
        assert_string_equal(pv_bios_to_string(PV_BIOS_OVMF), "ovmf");
        assert_string_equal(pv_bios_to_string(PV_BIOS_SEABIOS), "seabios");
        assert_null(pv_bios_to_string((enum pv_bios)9));
        assert_string_equal(pv_binding_to_string(PV_BIND_DRIVER_OVERRIDE), "driver_override");
        assert_string_equal(pv_binding_to_string(PV_BIND_IDS), "ids");
        assert_string_equal(pv_vgpu_kind_to_string(PV_VGPU_NVIDIA_SRIOV), "nvidia-sriov");
        assert_string_equal(pv_vgpu_kind_to_string(PV_VGPU_GVTG), "gvt-g");
        assert_null(pv_vgpu_kind_to_string((enum pv_vgpu_kind)7));
        assert_null(pv_profile_find_vm(NULL, "a"));
        assert_null(pv_profile_host_for_node(NULL, "a"));
        pv_profile_free(NULL);
        pv_diags_done(NULL);
        /* in YAML 1.2 on/off are the strings iommu wants */
        struct pv_profile *p = parse_ok(V "hosts:\n  - {nodes: pve1, iommu: on}\n  - {nodes: pve2, iommu: off}\n");
        assert_int_equal(p->hosts[0].iommu, PV_ON);
        assert_int_equal(p->hosts[1].iommu, PV_OFF);
        assert_null(pv_profile_host_for_node(p, "pve3"));
        pv_profile_free(p);
}

int main(void) {
        static const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_full_model),
                cmocka_unit_test(test_merge_precedence),
                cmocka_unit_test(test_template_error_once),
                cmocka_unit_test(test_all_problems),
                cmocka_unit_test(test_error_without_diags),
                cmocka_unit_test(test_warnings_keep_valid),
                cmocka_unit_test(test_auth_and_url),
                cmocka_unit_test(test_enums_and_lookups),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
