#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Check that profiles/pvfio.schema.json and `pvfio validate` agree.

  check_profiles.py --source SRC_DIR --pvfio PVFIO_BINARY

(a) every profiles/examples/*.yaml, and the complete example in docs/profile.md (a ```yaml block
    opening with the yaml-language-server line), is valid per the schema and per `pvfio validate`;
(b) every tests/schema/valid/*.yaml likewise (plus the warnings its header announces);
(c) every tests/schema/invalid/*.yaml is rejected by both, at the announced key path
    (and line / message when the header says so). Files marked `pvfio-only:` break a rule a
    JSON Schema cannot express (duplicates, references, merged values): the schema must
    accept them (so the file has no other defect) and pvfio must reject them.

Header directives (comment lines anywhere in the file):
  # invalid: WHAT IS WRONG          required in invalid/
  # at: PATH [| PATH...]            required in invalid/: dotted key path (vms[0].pci[1]) of the
                                    problem; "" = anywhere. Schema: an error at a path related
                                    to PATH (one a prefix of the other). pvfio: an error whose
                                    key is PATH or lies below it (an error without key path,
                                    e.g. a YAML duplicate key, must then match `line:`).
  # line: N                         pvfio reports that error on line N
  # message: TEXT                   ... and its message contains TEXT
  # pvfio-only: WHY                 the schema cannot express the rule
  # valid: WHAT IT SHOWS            valid/ files
  # warning-line: N                 valid/: pvfio reports a warning on line N (repeatable)

YAML is read with the YAML 1.2 core schema (as pvfio and yaml-language-server do): `on`,
`yes`, `0300` are not booleans or octal numbers here. If `pvfio validate` reports that the
parser is not built yet, the pvfio half is skipped and the run says SKIP.
"""
import argparse
import glob
import json
import os
import re
import subprocess
import sys
import tempfile

try:
    import yaml
    import jsonschema
except ImportError as e:  # deps.sh installs python3-yaml and python3-jsonschema
    print("FAIL: missing Python module (%s); install python3-yaml python3-jsonschema" % e)
    print("0 passed, 1 failed")
    sys.exit(1)

NOT_BUILT = "profile parser not built yet"
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                     "UndefinedBehaviorSanitizer")


# ---------------------------------------------------------------- YAML 1.2 core schema loader
class CoreLoader(yaml.SafeLoader):
    """SafeLoader with the YAML 1.2 core schema instead of YAML 1.1 implicit types."""


CoreLoader.yaml_implicit_resolvers = {}


def _resolver(tag, regexp, first):
    CoreLoader.add_implicit_resolver(tag, re.compile(regexp), list(first))


_resolver("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""])
_resolver("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF")
_resolver("tag:yaml.org,2002:int", r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", "-+0123456789")
_resolver("tag:yaml.org,2002:float",
          r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
          r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$", "-+0123456789.")
_resolver("tag:yaml.org,2002:merge", r"^(?:<<)$", "<")


def _int(loader, node):
    v = loader.construct_scalar(node)
    if v.startswith("0o"):
        return int(v[2:], 8)
    if v.startswith("0x"):
        return int(v[2:], 16)
    return int(v, 10)


def _float(loader, node):
    v = loader.construct_scalar(node).lower()
    if v.endswith(".inf"):
        return float("-inf") if v.startswith("-") else float("inf")
    if v == ".nan":
        return float("nan")
    return float(v)


def _bool(loader, node):
    return loader.construct_scalar(node).lower() == "true"


CoreLoader.add_constructor("tag:yaml.org,2002:int", _int)
CoreLoader.add_constructor("tag:yaml.org,2002:float", _float)
CoreLoader.add_constructor("tag:yaml.org,2002:bool", _bool)


def load_yaml(path):
    with open(path, encoding="utf-8") as f:
        return yaml.load(f, Loader=CoreLoader)


# ---------------------------------------------------------------- helpers
def dotted(path):
    out = ""
    for p in path:
        if isinstance(p, int):
            out += "[%d]" % p
        else:
            out += ("." if out else "") + str(p)
    return out


def below(key, at):
    """key is `at` or lies below it (vms[0].pci[0].mdev is below vms[0].pci[0])."""
    if at == "":
        return True
    return key == at or key.startswith(at + ".") or key.startswith(at + "[")


def related(a, b):
    return below(a, b) or below(b, a)


def non_string_keys(node, path=()):
    if isinstance(node, dict):
        for k, v in node.items():
            if not isinstance(k, str):
                yield dotted(path) or "<root>"
            else:
                yield from non_string_keys(v, path + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from non_string_keys(v, path + (i,))


def directives(path):
    d = {"at": None, "line": None, "message": None, "pvfio_only": None, "invalid": None,
         "valid": None, "warning_lines": []}
    rx = re.compile(r"^\s*#\s*(invalid|valid|at|line|message|pvfio-only|warning-line):\s?(.*?)\s*$")
    with open(path, encoding="utf-8") as f:
        for raw in f:
            m = rx.match(raw)
            if not m:
                continue
            k, v = m.group(1), m.group(2)
            if k == "at":
                d["at"] = [] if v in ('""', "") else [p.strip() for p in v.split("|")]
            elif k == "line":
                d["line"] = int(v)
            elif k == "warning-line":
                d["warning_lines"].append(int(v))
            else:
                d[k.replace("-", "_")] = v
    return d


class Runner:
    def __init__(self, schema, pvfio):
        self.validator = jsonschema.Draft7Validator(schema)
        self.pvfio = pvfio
        self.passed = self.failed = self.skipped = 0
        self.pvfio_ready = None

    def result(self, name, problems):
        if problems:
            self.failed += 1
            print("FAIL %s" % name)
            for p in problems:
                print("     - %s" % p)
        else:
            self.passed += 1
            print("PASS %s" % name)

    # -- schema side: list of (dotted path, message)
    def schema_errors(self, path):
        try:
            doc = load_yaml(path)
        except yaml.YAMLError as e:
            return [("", "YAML: %s" % str(e).replace("\n", " "))]
        errs = [(p, "non-string key") for p in non_string_keys(doc)]
        for e in self.validator.iter_errors(doc):
            base = list(e.absolute_path)
            paths = [base]
            # point at the offending key itself, as pvfio does
            if e.validator == "additionalProperties" and isinstance(e.instance, dict):
                known = set(e.schema.get("properties", {}))
                paths = [base + [k] for k in e.instance if k not in known] or paths
            elif e.validator == "required" and isinstance(e.instance, dict):
                paths = [base + [k] for k in e.validator_value if k not in e.instance] or paths
            for p in paths:
                errs.append((dotted(p), e.message[:200]))
        return errs

    # -- pvfio side: (exit status, diagnostics list, problem text or None)
    def run_pvfio(self, path):
        try:
            cp = subprocess.run([self.pvfio, "--json", "--color=never", "validate", path],
                                capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as e:
            return None, [], "cannot run pvfio: %s" % e
        for m in SANITIZER_MARKERS:
            if m in cp.stderr:
                return cp.returncode, [], "sanitizer report: %s" % cp.stderr.strip()[:400]
        if cp.returncode not in (0, 1):
            return cp.returncode, [], "unexpected exit status %d: %s" % (cp.returncode, cp.stderr.strip()[:300])
        try:
            doc = json.loads(cp.stdout)
            entry = doc[0]
            diags = entry["problems"]
        except (ValueError, LookupError, TypeError) as e:
            return cp.returncode, [], "unreadable --json output (%s): %r" % (e, cp.stdout[:300])
        if entry.get("valid") != (cp.returncode == 0):
            return cp.returncode, diags, "'valid' (%s) disagrees with exit status %d" % (entry.get("valid"), cp.returncode)
        return cp.returncode, diags, None

    def probe_pvfio(self, sample):
        rc, diags, problem = self.run_pvfio(sample)
        if problem is None and rc == 1 and any(NOT_BUILT in d.get("message", "") for d in diags):
            self.pvfio_ready = False
            print("SKIP pvfio validate: the profile parser is not built yet; checking the schema only")
        else:
            self.pvfio_ready = True

    # -- checks
    def check_valid(self, path, kind):
        name = kind if kind.startswith("docs/") else "%s/%s" % (kind, os.path.basename(path))
        problems = []
        d = directives(path)
        if kind == "valid" and not d["valid"]:
            problems.append("header lacks '# valid: ...'")
        for p, msg in self.schema_errors(path):
            problems.append("schema rejects at '%s': %s" % (p, msg))
        if self.pvfio_ready:
            rc, diags, problem = self.run_pvfio(path)
            if problem:
                problems.append("pvfio: " + problem)
            elif rc != 0:
                for x in diags:
                    problems.append("pvfio: %s:%s: %s: %s [%s]" % (x.get("line"), x.get("col"), x.get("severity"),
                                                                   x.get("message"), x.get("key")))
                if not diags:
                    problems.append("pvfio exit status %d" % rc)
            else:
                for wl in d["warning_lines"]:
                    if not any(x.get("severity") == "warning" and x.get("line") == wl for x in diags):
                        problems.append("pvfio: no warning on line %d (got: %s)" % (
                            wl, [(x.get("line"), x.get("message")) for x in diags]))
        self.result(name, problems)

    def check_invalid(self, path):
        name = "invalid/%s" % os.path.basename(path)
        problems = []
        d = directives(path)
        if not d["invalid"] or d["at"] is None:
            self.result(name, ["header needs '# invalid: ...' and '# at: ...'"])
            return
        ats = d["at"] or [""]
        serrs = self.schema_errors(path)
        if d["pvfio_only"]:
            for p, msg in serrs:
                problems.append("pvfio-only file, but the schema rejects it at '%s': %s" % (p, msg))
        elif not serrs:
            problems.append("the schema accepts it")
        elif not any(related(p, at) and (p != "" or at == "") for p, _ in serrs for at in ats):
            problems.append("the schema rejects it, but not at %s: %s" % (" | ".join(ats), serrs[:4]))
        if self.pvfio_ready:
            rc, diags, problem = self.run_pvfio(path)
            errors = [x for x in diags if x.get("severity") == "error"]
            if problem:
                problems.append("pvfio: " + problem)
            elif rc != 1:
                problems.append("pvfio accepts it (exit status %d)" % rc)
            else:
                def fits(x):
                    key = x.get("key")
                    # problems found while reading YAML (duplicate keys, syntax) may carry no key
                    # path; then the announced line has to match instead
                    where = (any(below(key, at) for at in ats) if key is not None
                             else d["line"] is not None or ats == [""])
                    return (where and
                            (d["line"] is None or x.get("line") == d["line"]) and
                            (d["message"] is None or d["message"] in (x.get("message") or "")))
                if not any(fits(x) for x in errors):
                    want = "at %s" % " | ".join(ats)
                    if d["line"] is not None:
                        want += ", line %d" % d["line"]
                    if d["message"] is not None:
                        want += ", message containing %r" % d["message"]
                    got = ["%s:%s [%s] %s" % (x.get("line"), x.get("col"), x.get("key"), x.get("message"))
                           for x in errors]
                    problems.append("pvfio rejects it, but no error %s; got %s" % (want, got))
        self.result(name, problems)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--source", required=True, help="pvfio source tree")
    ap.add_argument("--pvfio", required=True, help="the pvfio binary")
    args = ap.parse_args()

    src = args.source
    with open(os.path.join(src, "profiles", "pvfio.schema.json"), encoding="utf-8") as f:
        schema = json.load(f)
    jsonschema.Draft7Validator.check_schema(schema)

    examples = sorted(glob.glob(os.path.join(src, "profiles", "examples", "*.yaml")))
    valid = sorted(glob.glob(os.path.join(src, "tests", "schema", "valid", "*.yaml")))
    invalid = sorted(glob.glob(os.path.join(src, "tests", "schema", "invalid", "*.yaml")))

    # the complete example(s) in docs/profile.md: ```yaml blocks that open with the schema line
    docs = os.path.join(src, "docs", "profile.md")
    doc_examples = []
    if os.path.exists(docs):
        with open(docs, encoding="utf-8") as f:
            text = f.read()
        for m in re.finditer(r"```yaml\n(# yaml-language-server:.*?)```", text, re.S):
            if re.search(r"^version:", m.group(1), re.M):
                doc_examples.append(m.group(1))

    r = Runner(schema, args.pvfio)
    if len(examples) < 5 or not valid or not invalid:
        print("FAIL test data missing: %d examples, %d valid, %d invalid" % (len(examples), len(valid), len(invalid)))
        r.failed += 1
    else:
        r.probe_pvfio(examples[0])
        for p in examples:
            r.check_valid(p, "examples")
        for p in valid:
            r.check_valid(p, "valid")
        if not doc_examples:
            r.result("docs/profile.md", ["no complete example (a ```yaml block opening with the schema line)"])
        for i, body in enumerate(doc_examples):
            tmp = tempfile.NamedTemporaryFile("w", suffix=".yaml", prefix="doc-example-", delete=False)
            try:
                with tmp:
                    tmp.write("# valid: docs/profile.md example\n" + body)
                r.check_valid(tmp.name, "docs/profile.md example %d" % (i + 1))
            finally:
                os.unlink(tmp.name)
        for p in invalid:
            r.check_invalid(p)
    if r.pvfio_ready is False:
        print("SKIP pvfio half of every check (parser not built); schema half ran")
    print("%d passed, %d failed" % (r.passed, r.failed))
    return 0 if r.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
