"""Unit tests of the simulator's building blocks (no server process)."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from pvesim import auth, formats, hardware, propstr, tasks, validation  # noqa: E402
from pvesim.core import decode_urlencoded, reason_for  # noqa: E402
from pvesim.errors import ApiError  # noqa: E402
from pvesim.schema import get_schema  # noqa: E402

from simclient import TESTDATA  # noqa: E402

SCHEMA = get_schema()
NF = SCHEMA.named_formats


def errors_of(method, template, params):
    m = SCHEMA.method(method, template)
    p = dict(params)
    validation.normalize_legacy_params(p, m.parameters)
    try:
        validation.validate(p, m.parameters, NF)
    except ApiError as e:
        return e.errors
    return None


class PerlHelpers(unittest.TestCase):
    def test_perl_pattern_anchoring_keeps_alternation_semantics(self):
        pat = r"(?:(?:[0-9a-fA-F]{4}:)?[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-9a-fA-F])|([a-zA-Z][a-zA-Z0-9_-]+)"
        self.assertTrue(formats.perl_match(pat, "0000:01:00.0"))
        self.assertTrue(formats.perl_match(pat, "gpu1"))
        # /^A|B$/ in Perl: "starts with A" is enough
        self.assertTrue(formats.perl_match(pat, "01:00.0junk!"))
        self.assertFalse(formats.perl_match(pat, "0000:01:00"))

    def test_perl_stringified_group(self):
        self.assertTrue(formats.perl_match("(?^:^[0-9A-Fa-f]{4}:[0-9A-Fa-f]{4}$)", "10de:2531"))
        self.assertFalse(formats.perl_match("(?^:^[0-9A-Fa-f]{4}:[0-9A-Fa-f]{4}$)", "10de2531"))

    def test_dollar_matches_before_trailing_newline_like_perl(self):
        self.assertTrue(formats.perl_match("[a-z]+", "abc\n"))

    def test_parse_boolean(self):
        for v in ("1", "on", "YES", "True"):
            self.assertEqual(formats.parse_boolean(v), 1)
        for v in ("0", "off", "No", "FALSE"):
            self.assertEqual(formats.parse_boolean(v), 0)
        self.assertIsNone(formats.parse_boolean("2"))

    def test_split_list(self):
        self.assertEqual(formats.split_list("a,b;c  d"), ["a", "b", "c", "d"])
        self.assertEqual(formats.split_list(" "), [])
        self.assertEqual(formats.split_list("a\0b,c"), ["a", "b,c"])

    def test_numbers(self):
        self.assertTrue(formats.is_integer("-12"))
        self.assertFalse(formats.is_integer("1.0"))
        self.assertTrue(formats.is_number("1."))
        self.assertTrue(formats.is_number(".5e3"))
        self.assertFalse(formats.is_number("0x10"))
        self.assertEqual(formats.perl_str(4.0), "4")


class PropertyStrings(unittest.TestCase):
    def test_default_key_and_booleans_normalised(self):
        r = propstr.parse_property_string("pve-qm-hostpci", "01:00.0,pcie=yes,x-vga=OFF", "hostpci0", NF)
        self.assertEqual(r, {"host": "01:00.0", "pcie": 1, "x-vga": 0})

    def test_key_alias(self):
        fmt = SCHEMA.method("POST", "/nodes/{node}/qemu").properties["net0"]["format"]
        r = propstr.parse_property_string(fmt, "virtio=BC:24:11:00:00:01,bridge=vmbr0", "net0", NF)
        self.assertEqual(r["model"], "virtio")
        self.assertEqual(r["macaddr"], "BC:24:11:00:00:01")

    def test_errors(self):
        cases = [
            ("01:00.0,pcie=1,pcie=0", "duplicate key in comma-separated list property: pcie\n"),
            ("01:00.0,02:00.0", "duplicate key in comma-separated list property: host\n"),
            ("pcie=", "missing key in comma-separated list property\n"),
        ]
        for value, msg in cases:
            with self.assertRaises(formats.FormatError) as cm:
                propstr.parse_property_string("pve-qm-hostpci", value, "hostpci0", NF)
            self.assertEqual(cm.exception.message, msg, value)

    def test_unknown_key_is_a_schema_error(self):
        # pve-common parse_property_string: $schema->{alias} autovivifies the undefined
        # schema, so an unknown key reaches check_object (8.x and 9.x alike)
        with self.assertRaises(propstr.PropertyStringError) as cm:
            propstr.parse_property_string("pve-qm-hostpci", "01:00.0,bogus=1", "hostpci0", NF)
        self.assertEqual(cm.exception.stringify(),
                         "format error\nhostpci0.bogus: property is not defined in schema and the schema "
                         "does not allow additional properties\n")

    def test_key_errors_are_collected(self):
        with self.assertRaises(propstr.PropertyStringError) as cm:
            propstr.parse_property_string("pve-qm-hostpci", "0A:00.0,rombar=2", "hostpci0", NF)
        self.assertEqual(cm.exception.stringify(),
                         "format error\nhostpci0.host: value does not match the regex pattern\n"
                         "hostpci0.rombar: type check ('boolean') failed - got '2'\n")

    def test_print_canonical(self):
        self.assertEqual(propstr.print_property_string("pve-qm-hostpci", {"pcie": 1, "host": "01:00.0", "rombar": 0}, NF),
                         "01:00.0,pcie=1,rombar=0")


class Validation(unittest.TestCase):
    CREATE = ("POST", "/nodes/{node}/qemu")

    def test_indexed_keys_expanded_with_real_ranges(self):
        props = SCHEMA.method(*self.CREATE).properties
        self.assertIn("hostpci15", props)
        self.assertNotIn("hostpci16", props)
        self.assertIn("net31", props)
        self.assertIn("scsi30", props)
        self.assertNotIn("scsi31", props)
        self.assertIn("unused255", props)

    def test_top_level_boolean_strict(self):
        e = errors_of(*self.CREATE, {"node": "pve1", "vmid": "100", "onboot": "true"})
        self.assertEqual(e, {"onboot": "type check ('boolean') failed - got 'true'"})
        self.assertIsNone(errors_of(*self.CREATE, {"node": "pve1", "vmid": "100", "onboot": True}))

    def test_repeated_errors_joined_with_literal_backslash_n(self):
        errs = {}
        validation.add_error(errs, "x", "one")
        validation.add_error(errs, "x", "two")
        self.assertEqual(errs["x"], "one\\ntwo")

    def test_format_checked_before_minimum(self):
        e = errors_of(*self.CREATE, {"node": "pve1", "vmid": "5"})
        self.assertEqual(e, {"vmid": "invalid format - value does not look like a valid VM ID\n"})
        e = errors_of(*self.CREATE, {"node": "pve1", "vmid": "1000000000"})
        self.assertEqual(e, {"vmid": "invalid format - value does not look like a valid VM ID\n"})

    def test_list_format(self):
        e = errors_of("PUT", "/nodes/{node}/qemu/{vmid}/config", {"node": "pve1", "vmid": "100", "delete": "name,9x"})
        self.assertEqual(e, {"delete": "invalid format - invalid configuration ID '9x'\n"})

    def test_array_from_single_form_value(self):
        p = {"id": "xx", "map": "node=pve1,path=0000:01:00.0,id=10de:2531"}
        self.assertIsNone(errors_of("POST", "/cluster/mapping/pci", p))

    def test_nested_named_format_in_property_string(self):
        e = errors_of(*self.CREATE, {"node": "pve1", "vmid": "100", "net0": "virtio,bridge=vm br0"})
        self.assertEqual(e, {"net0": "invalid format - format error\nnet0.bridge: invalid format - invalid bridge ID 'vm br0'\n\n"})

    def test_every_named_format_in_the_served_schema_is_known(self):
        missing = set()

        def walk(schema):
            if not isinstance(schema, dict):
                return
            fmt = schema.get("format")
            if isinstance(fmt, str) and fmt != "regex":
                name = fmt[:-5] if fmt.endswith("-list") else fmt[:-4] if fmt.endswith("-opt") else fmt
                if name not in NF and formats.lookup_validator(name) is None:
                    missing.add(fmt)
            elif isinstance(fmt, dict):
                for v in fmt.values():
                    walk(v)
            for v in (schema.get("properties") or {}).values():
                walk(v)
            walk(schema.get("items"))

        for m in SCHEMA.methods.values():
            walk(m.parameters)
        for f in NF.values():
            for v in f.values():
                walk(v)
        self.assertEqual(missing, set())


class Urlencoded(unittest.TestCase):
    def test_perl_quirks(self):
        self.assertEqual(decode_urlencoded("a=1;b=2"), {"a": "1", "b": "2"})
        self.assertEqual(decode_urlencoded("hostpci0=host=01:00.0"), {"hostpci0": "host"})
        self.assertEqual(decode_urlencoded("hostpci0=host%3D01%3A00.0"), {"hostpci0": "host=01:00.0"})
        self.assertEqual(decode_urlencoded("m=a&m=b&m=c"), {"m": ["a", "b", "c"]})
        self.assertEqual(decode_urlencoded("name=a+b%20c"), {"name": "a b c"})
        self.assertEqual(decode_urlencoded("d=%C3%A9"), {"d": "\u00e9"})

    def test_reason_phrase(self):
        self.assertEqual(reason_for(500, "first\nsecond\n"), (500, "first", False))
        self.assertEqual(reason_for(500, ""), (500, "Internal Server Error", False))
        self.assertEqual(reason_for(500, "bad\rline"), (400, "Bad Request", True))


class Auth(unittest.TestCase):
    SECRET = "ab" * 32

    def test_ticket_round_trip_and_lifetime(self):
        t = auth.assemble_ticket(self.SECRET, "root@pam", 1_700_000_000)
        self.assertRegex(t, r"^PVE:root@pam:[0-9A-F]{8}::[A-Za-z0-9+/=]{344}$")
        self.assertEqual(auth.verify_ticket(self.SECRET, t, 1_700_000_000 + 7200), "root@pam")
        self.assertIsNone(auth.verify_ticket(self.SECRET, t, 1_700_000_000 + 7201))
        self.assertIsNone(auth.verify_ticket(self.SECRET, t, 1_700_000_000 - 301))
        self.assertIsNone(auth.verify_ticket(self.SECRET, t.replace("root@pam", "evil@pam"), 1_700_000_000))

    def test_csrf(self):
        c = auth.assemble_csrf(self.SECRET, "root@pam", 1_700_000_000)
        self.assertRegex(c, r"^[0-9A-F]{8}:[A-Za-z0-9+/]{43}$")
        self.assertTrue(auth.verify_csrf(self.SECRET, "root@pam", c, 1_700_000_100))
        self.assertFalse(auth.verify_csrf(self.SECRET, "other@pve", c, 1_700_000_100))

    def test_extract_auth_value(self):
        self.assertEqual(auth.extract_auth_value("a=b; PVEAuthCookie=PVE%3Aroot%40pam%3AX::s", "PVEAuthCookie"),
                         "PVE:root@pam:X::s")
        self.assertEqual(auth.extract_auth_value("PVEAPIToken root@pam!t=s", "PVEAPIToken"), "root@pam!t=s")

    def test_acl_specific_path_replaces_inherited(self):
        st = {"users": {"u@pve": {}}, "tokens": {"u@pve!tk": {"privsep": 1}},
              "acl": [{"path": "/", "ugid": "u@pve", "roles": ["PVEVMAdmin"], "propagate": 1},
                      {"path": "/vms/100", "ugid": "u@pve", "roles": ["NoAccess"], "propagate": 1},
                      {"path": "/vms", "ugid": "u@pve!tk", "roles": ["PVEAuditor"], "propagate": 1}]}
        self.assertIn("VM.Allocate", auth.permissions(st, "u@pve", "/vms/101"))
        self.assertEqual(auth.permissions(st, "u@pve", "/vms/100"), set())
        # token: intersection of user and token privileges
        self.assertEqual(auth.permissions(st, "u@pve!tk", "/vms/101"), {"VM.Audit", "VM.GuestAgent.Audit", "Pool.Audit"})
        st["tokens"]["u@pve!tk"]["privsep"] = 0
        self.assertIn("VM.Allocate", auth.permissions(st, "u@pve!tk", "/vms/101"))

    def test_root_token_is_not_root(self):
        st = {"users": {"root@pam": {}}, "tokens": {"root@pam!x": {"privsep": 1}}, "acl": []}
        self.assertEqual(auth.permissions(st, "root@pam!x", "/"), set())
        self.assertIn("Sys.Modify", auth.permissions(st, "root@pam", "/"))


class Upid(unittest.TestCase):
    def test_encode_decode(self):
        u = tasks.encode_upid("pve1", 0x3A1F2, 0x1B2C3D4, 0x66F2A1B0, "qmcreate", "100", "root@pam")
        self.assertEqual(u, "UPID:pve1:0003A1F2:01B2C3D4:66F2A1B0:qmcreate:100:root@pam:")
        d = tasks.decode_upid(u)
        self.assertEqual((d["node"], d["pid"], d["type"], d["id"], d["user"]), ("pve1", 0x3A1F2, "qmcreate", "100", "root@pam"))
        self.assertIsNone(tasks.decode_upid("UPID:pve1:1:2:3:x:y:z:"))
        self.assertIsNotNone(tasks.decode_upid("UPID:pve1:0003A1F2:01B2C3D4:66F2A1B0:qmcreate::root@pam!tok:"))

    def test_exit_status(self):
        self.assertEqual(tasks.exit_status(["x", "TASK OK"]), "OK")
        self.assertEqual(tasks.exit_status(["TASK WARNINGS: 2"]), "WARNINGS: 2")
        self.assertEqual(tasks.exit_status(["TASK ERROR: boom"]), "boom")
        self.assertEqual(tasks.exit_status(["half"]), "unexpected status")


class Hardware(unittest.TestCase):
    def setUp(self):
        self.hw = hardware.Hardware(hardware.load_machine(os.path.join(TESTDATA, "machines", "sim-gpu1.json")))

    def test_lspci_whole_device(self):
        self.assertEqual([d["addr"] for d in self.hw.lspci("01:00")], ["0000:01:00.0", "0000:01:00.1"])
        self.assertEqual([d["addr"] for d in self.hw.lspci("0000:01:00.1")], ["0000:01:00.1"])
        self.assertEqual(self.hw.lspci("05:00.0"), [])

    def test_blacklist_prefix(self):
        ids = [e["id"] for e in self.hw.pci_list(["05", "06", "0b"], 0)]
        self.assertNotIn("0000:00:00.0", ids)
        self.assertIn("0000:00:14.0", ids)
        ids = [e["id"] for e in self.hw.pci_list(["0c03"], 0)]
        self.assertNotIn("0000:00:14.0", ids)

    def test_assert_valid(self):
        ok = {"path": "0000:01:00", "id": "10de:2531", "subsystem-id": "10de:151d", "iommugroup": "14"}
        self.assertTrue(hardware.assert_valid("g", ok, self.hw, {}))
        with self.assertRaises(ValueError) as cm:
            hardware.assert_valid("g", dict(ok, id="10DE:2531"), self.hw, {})
        self.assertEqual(str(cm.exception), "'id' does not match for 'g' (10de:2531 != 10DE:2531)\n")
        with self.assertRaises(ValueError) as cm:
            hardware.assert_valid("g", dict(ok, path="0000:01:00.0;0000:07:00.0"), self.hw, {})
        self.assertEqual(str(cm.exception), "pci device '0000:07:00.0' not found\n")

    def test_unknown_machine_key_rejected(self):
        with self.assertRaises(hardware.MachineError):
            hardware.check_machine({"name": "x", "devices": [{"addr": "0000:01:00.0", "vendor": "10de",
                                                            "device": "1234", "class": "030000", "colour": 1}]})
        with self.assertRaises(hardware.MachineError):
            hardware.check_machine({"devices": [{"addr": "0000:01:00.0", "vendor": "10DE", "device": "1234",
                                                 "class": "030000"}]})


if __name__ == "__main__":
    unittest.main()
