# SPDX-License-Identifier: GPL-2.0-or-later
"""Real Proxmox behaviour the client must follow (issue 9, client side), on clusters/lab.json:
mapping checks of nodes a mapping does not cover (not drift), a `;` map path of devices with
different IDs (refused), tags as Proxmox stores them (lower-cased, unique, sorted, or as the
datacenter tag-style says), version-gated keys (refused for a PVE 8.4 node, `--pve-version 8.4`),
the vGPU VF pool with both NVIDIA type sources (`--qemu-server 9.1.10` / `9.1.11`), and the
apply/diff/apply loop on a three-node profile converging with zero writes."""
import e2elib

NODE_SPECIFIC = """
mappings:
  - id: gpu-a
    map:
      - { node: pve1, path: 0000:02:00 }
  - id: vf-c
    map:
      - { node: pve3, path: 0000:00:02.3 }
vms:
  - { name: fa-1, node: pve1, machine: q35, memory: 4G, pci: [ { mapping: gpu-a, pcie: true } ] }
  - { name: fc-1, node: pve3, machine: q35, memory: 2G, pci: [ { mapping: vf-c, pcie: true } ] }
"""


class Fidelity(e2elib.Lab):

    def test_no_mapping_for_other_node_is_not_drift(self):
        prof = self.lab_profile(NODE_SPECIFIC)
        self.apply_ok(prof)
        # Proxmox's listing with check-node=pve3 warns about gpu-a, which has no pve3 entry
        checks = {m["id"]: m.get("checks") for m in self.api.get("/cluster/mapping/pci", **{"check-node": "pve3"})}
        self.assertEqual(checks["gpu-a"], [{"severity": "warning", "message": "No mapping for node pve3."}])
        r = self.expect(self.pvfio("diff", prof), 0)
        self.assertIn("No changes", r.out)
        self.assertNotIn("drift:", r.out)
        # still shown, with its node and severity
        self.assertRegex(r.out + r.err, r"mapping 'gpu-a' on node 'pve3' \([^)]*\): warning: No mapping for node pve3\.")
        self.assertRegex(r.out + r.err, r"mapping 'vf-c' on node 'pve1' \([^)]*\): warning: No mapping for node pve1\.")
        mark = self.sim.mark()
        self.expect(self.pvfio("apply", "--yes", prof), 0)
        self.assertNoWrites(mark, "second apply")

    def test_check_of_a_mapped_node_is_drift(self):
        prof = self.lab_profile(NODE_SPECIFIC)
        self.apply_ok(prof)
        # another admin pins a wrong id on the pve1 entry: Proxmox's check on pve1 fails
        m = self.mapping("gpu-a")
        bad = m["map"][0].replace("id=10de:2684", "id=10de:2685")
        self.api.put("/cluster/mapping/pci/gpu-a", map=bad, description=m.get("description"))
        r = self.expect(self.pvfio("diff", prof), 2)
        self.assertRegex(r.out, r"(?m)^drift: mapping 'gpu-a' on node 'pve1': error: Invalid configuration: "
                                r"'id' does not match for 'gpu-a' \(10de:2684 != 10de:2685\)$")

    def test_tags_are_sent_and_compared_as_proxmox_stores_them(self):
        # Proxmox (get_unique_tags, default tag-style) stores lower-cased, unique, sorted tags
        prof = self.lab_profile("""
vms:
  - { name: tagged, node: pve1, machine: q35, memory: 2G, tags: [Zeta, GPU, gpu, lab] }
""")
        mark = self.sim.mark()
        self.apply_ok(prof)
        [create] = [w for w in self.sim.writes(mark) if w["path"].endswith("/qemu")]
        self.assertEqual(create["params"]["tags"], "gpu;lab;pvfio;zeta")
        # the versions and the datacenter options are read once per run (the verification reuses them);
        # the API node's own version only for a live-migration-capable mapping (test_observe)
        paths = [e["path"].split("?")[0] for e in self.sim.requests(mark) if e["method"] == "GET"]
        for p, n in (("/version", 0), ("/nodes/pve1/version", 1), ("/cluster/options", 1)):
            self.assertEqual(sum(x.endswith("/api2/json" + p) for x in paths), n, (p, paths))
        vmid, node, _, conf = self.vm_config("tagged")
        self.assertEqual(conf["tags"], "gpu;lab;pvfio;zeta")
        self.assertIdempotent(prof)
        # a spelling Proxmox would store the same way is no drift either
        self.sim.set_vm(vmid=vmid, config={"tags": "ZETA,pvfio lab;Gpu"})
        r = self.expect(self.pvfio("diff", prof), 0)
        self.assertIn("No changes", r.out)

    def test_joined_path_of_functions_with_different_ids_is_refused(self):
        # pve1 0000:02:00.0 is 10de:2684 (RTX 4090), 0000:02:00.1 its audio function 10de:22ba
        body = """
mappings:
  - id: multi
    map:
      - { node: pve1, path: "0000:02:00.0;0000:02:00.1" }
vms:
  - { name: joined, node: pve1, machine: q35, memory: 4G, pci: [ { mapping: multi, pcie: true } ] }
"""
        prof = self.lab_profile(body)
        r = self.expect(self.pvfio("validate", prof), 0)
        self.assertRegex(r.out, r"warning: 'mappings\[0\]\.map\[0\]\.path' joins functions of one device "
                                r"\(0000:02:00\.0 and 0000:02:00\.1\).*use the whole device 'path: 0000:02:00'")
        r = self.expect(self.pvfio("plan", prof), 2)
        self.assertRegex(r.out, r"(?s)create-mapping mapping multi.*?blocked: [^\n]*joins devices with different id "
                                r"\(0000:02:00\.0 is 10de:2684, 0000:02:00\.1 is 10de:22ba\)[^\n]*"
                                r"'id' does not match for 'multi' \(10de:22ba != 10de:2684\)[^\n]*"
                                r"pass the whole device instead: path: 0000:02:00 \(all its functions\)")
        self.assertRegex(r.out, r"(?s)create-vm vm joined.*?blocked:")
        mark = self.sim.mark()
        self.expect(self.pvfio("apply", "--yes", prof), 2)
        self.assertNoWrites(mark, "apply of a refused mapping")
        # the proposed form works: whole device, all functions, checked against the first one
        self.apply_ok(self.lab_profile(body.replace('"0000:02:00.0;0000:02:00.1"', "0000:02:00"), name="whole.yaml"))
        checks = {m["id"]: m.get("checks") for m in self.api.get("/cluster/mapping/pci", **{"check-node": "pve1"})}
        self.assertEqual(checks["multi"], [])


THREE_NODES = """
mappings:
  - id: gpu-a
    description: @DESC_A@
    map:
      - { node: pve1, path: 0000:02:00 }
  - id: l4-b
    description: @DESC_B@
    mdev: true
    map:
      - { node: pve2, path: @PATH_B@ }
  - id: vf-c
    description: @DESC_C@
    map:
      - { node: pve3, path: @PATH_C@ }
templates:
  small:
    machine: q35
    memory: 2G
    tags: [GPU, Zeta, lab]
vms:
  - { name: three-a, node: pve1, template: small, pci: [ { mapping: gpu-a, pcie: true } ] }
  - { name: three-b, node: pve2, template: small, pci: [ { mapping: l4-b, mdev: nvidia-925 } ] }
  - { name: three-c, node: pve3, template: small, pci: [ { mapping: vf-c, pcie: true } ] }
"""


class Converge(e2elib.Lab):
    """Issue 9 "done when": apply / diff / apply on a three-node profile converges."""

    def three(self, name, **subs):
        d = {"DESC_A": "card of pve1", "DESC_B": "L4 vGPU of pve2", "DESC_C": "Iris VF of pve3",
             "PATH_B": "0000:c1:00.4", "PATH_C": "0000:00:02.3"}
        d.update(subs)
        return self.lab_profile(THREE_NODES, name=name, **d)

    def test_three_nodes_converge(self):
        first = self.three("first.yaml")
        self.apply_ok(first)
        r = self.expect(self.pvfio("diff", first), 0)
        self.assertIn("No changes", r.out)
        for n in ("three-a", "three-b", "three-c"):
            self.assertEqual(self.vm_config(n)[3]["tags"], "gpu;lab;pvfio;zeta")
        # three mapping updates in one apply: a description-only change, a description change,
        # and a new path
        second = self.three("second.yaml", DESC_A="RTX 4090 of pve1", DESC_B="L4 of pve2",
                            PATH_C="0000:00:02.4")
        r = self.expect(self.pvfio("diff", second), 2)
        self.assertRegex(r.out, r"Plan: 0 to add, [34] to change, 0 to remove, 0 blocked\.")
        mark = self.sim.mark()
        self.apply_ok(second)
        puts = [w for w in self.sim.writes(mark) if w["method"] == "PUT" and "/cluster/mapping/pci/" in w["path"]]
        self.assertEqual(len(puts), 3, puts)
        self.assertEqual(self.mapping("gpu-a")["description"], "RTX 4090 of pve1 [pvfio]")
        self.assertIn("path=0000:00:02.4", self.mapping("vf-c")["map"][0])
        # converged: the second diff is clean and the next apply writes nothing
        mark = self.sim.mark()
        r = self.expect(self.pvfio("diff", second), 0)
        self.assertIn("No changes", r.out)
        self.assertNotIn("drift:", r.out)
        self.expect(self.pvfio("apply", "--yes", second), 0)
        self.assertNoWrites(mark, "diff and apply after convergence")


DRIVER_KEEP = """
vms:
  - name: keep-1
    node: pve1
    machine: q35
    memory: 4G
    pci:
      - { address: 0000:02:00, pcie: true, driver: keep }
"""


class Pve84(e2elib.Lab):
    """A Proxmox VE 8.4 cluster (qemu-server 8.4.10): keys of newer releases are refused at plan time."""

    sim_args = ("--pve-version", "8.4")

    def test_driver_keep_needs_9_1(self):
        prof = self.lab_profile(DRIVER_KEEP, auth="root")
        r = self.expect(self.pvfio("plan", prof), 2)
        self.assertRegex(r.out, r"(?s)create-vm vm keep-1.*?blocked: [^\n]*hostpci0: 'driver=keep' needs Proxmox VE 9\.1 "
                                r"\(qemu-server 9\.0\.25\) or newer, but node 'pve1' runs Proxmox VE 8\.4\.\d+ "
                                r"\(qemu-server 8\.4\.10\)[^\n]*hostpci0\.driver: property is not defined in schema")
        mark = self.sim.mark()
        self.expect(self.pvfio("apply", "--yes", prof), 2)
        self.assertNoWrites(mark, "apply of a key the node refuses")
        # without driver the same VM is created on 8.4
        self.apply_ok(self.lab_profile(DRIVER_KEEP.replace(", driver: keep", ""), auth="root", name="plain.yaml"))


class Pve9(e2elib.Lab):
    """Proxmox VE 9.x: the same key goes through; the datacenter tag-style is honoured."""

    def test_driver_keep_on_9(self):
        prof = self.lab_profile(DRIVER_KEEP, auth="root")
        self.apply_ok(prof)
        self.assertIn("driver=keep", self.vm_config("keep-1")[3]["hostpci0"])
        self.assertIdempotent(prof)

    def test_tag_style_case_sensitive_config_order(self):
        self.sim.control("POST", "/_sim/datacenter", {"tag-style": "case-sensitive=1,ordering=config"})
        prof = self.lab_profile("""
vms:
  - { name: styled, node: pve1, machine: q35, memory: 2G, tags: [Zeta, GPU, lab] }
""")
        mark = self.sim.mark()
        self.apply_ok(prof)
        [create] = [w for w in self.sim.writes(mark) if w["path"].endswith("/qemu")]
        self.assertEqual(create["params"]["tags"], "pvfio;Zeta;GPU;lab")
        self.assertEqual(self.vm_config("styled")[3]["tags"], "pvfio;Zeta;GPU;lab")
        self.assertIdempotent(prof)
        # another order is drift under ordering=config
        vmid = self.find_vm("styled")[0]
        self.api.set_config("pve1", vmid, tags="pvfio;GPU;Zeta;lab")
        r = self.expect(self.pvfio("diff", prof), 2)
        self.assertKeyChange(r.out, "tags", "pvfio;GPU;Zeta;lab", "pvfio;Zeta;GPU;lab")


VGPU_POOL = """
mappings:
  - id: l4pool
    mdev: true
    map:
      - { node: pve2, path: 0000:c1:00.5 }
vms:
  - { name: pool-user, node: pve2, machine: q35, memory: 4G, state: running,
      pci: [ { mapping: l4pool, mdev: nvidia-925 } ] }
"""

VGPU_VFS = """
vms:
  - { name: vf-1, node: pve2, machine: q35, memory: 4G, state: running,
      pci: [ { vf_of: 0000:c1:00.0, mdev: nvidia-925 } ] }
  - { name: vf-2, node: pve2, machine: q35, memory: 4G, state: running,
      pci: [ { vf_of: 0000:c1:00.0, mdev: nvidia-925 } ] }
"""


class VgpuTypeSource:
    """A vGPU VF pool next to a running VM that holds a VF through a mapping (its config
    says only mapping=…): the VFs pvfio picks are the same whether Proxmox lists the vGPU
    types per VF (up to qemu-server 9.1.10: a busy VF lists none) or through NVML on the
    physical function (9.1.11: every VF lists them)."""

    def test_vf_pool_next_to_a_mapping_pool(self):
        self.apply_ok(self.lab_profile(VGPU_POOL, auth="root", name="pool.yaml"))
        self.assertEqual(self.vm_config("pool-user")[3].get("hostpci0"), "mapping=l4pool,mdev=nvidia-925")
        prof = self.lab_profile(VGPU_VFS, auth="root", name="vfs.yaml")
        self.expect(self.pvfio("apply", "--yes", prof), 0)
        # .5 is held by pool-user (through l4pool), .7 hosts a vGPU already: .4 and .6
        self.assertEqual(self.vm_config("vf-1")[3].get("hostpci0"), "0000:c1:00.4,mdev=nvidia-925")
        self.assertEqual(self.vm_config("vf-2")[3].get("hostpci0"), "0000:c1:00.6,mdev=nvidia-925")
        self.assertEqual(self.vm_config("vf-2")[2], "running")


class VgpuSysfs(VgpuTypeSource, e2elib.Lab):
    sim_args = ("--qemu-server", "9.1.10")


class VgpuNvml(VgpuTypeSource, e2elib.Lab):
    sim_args = ("--qemu-server", "9.1.11")
