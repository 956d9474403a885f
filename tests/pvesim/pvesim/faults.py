"""Fault injection, runtime settings and the request log."""

import json
import random
import re
import urllib.parse
import threading
import time

STANDARD_REASONS = {
    500: "Internal Server Error", 501: "Not Implemented", 502: "Bad Gateway",
    503: "Service Unavailable", 504: "Gateway Timeout", 595: "Connection refused",
    596: "Broken pipe", 599: "Internal Error", 429: "Too Many Requests", 408: "Request Timeout",
}

REQUEST_ACTIONS = ("status", "drop-before", "drop-after", "delay")
RULE_KEYS = {"method", "path", "action", "status", "reason", "body", "delay_ms", "count", "skip",
             "probability", "task", "vmid", "node", "duration_ms", "fail", "warnings", "comment"}

SECRET_KEYS = re.compile(r"(password|passwd|secret|ticket|token|otp|tfa-challenge|csrf)", re.I)


class Settings:
    def __init__(self, args):
        self.latency_ms = args.latency_ms
        self.latency_jitter_ms = args.latency_jitter_ms
        self.task_ms = args.task_ms
        self.auth_fail_delay = args.auth_fail_delay
        self.reboot_ms = getattr(args, "reboot_ms", 2000.0)

    def update(self, d):
        for k in ("latency_ms", "latency_jitter_ms", "task_ms", "auth_fail_delay", "reboot_ms"):
            if k in d:
                setattr(self, k, float(d[k]))

    def as_dict(self):
        return {"latency_ms": self.latency_ms, "latency_jitter_ms": self.latency_jitter_ms,
                "task_ms": self.task_ms, "auth_fail_delay": self.auth_fail_delay, "reboot_ms": self.reboot_ms}


class RuleError(ValueError):
    pass


class Rule:
    def __init__(self, d):
        if not isinstance(d, dict):
            raise RuleError("a fault rule must be an object")
        bad = sorted(set(d) - RULE_KEYS)
        if bad:
            raise RuleError("unknown fault rule key(s): %s" % ", ".join(bad))
        self.raw = dict(d)
        self.task = d.get("task")
        self.method = d.get("method")
        try:
            self.path = re.compile(d["path"]) if d.get("path") else None
        except re.error as e:
            raise RuleError("bad path regex: %s" % e)
        self.action = d.get("action")
        if self.task is None:
            if self.action not in REQUEST_ACTIONS:
                raise RuleError("action must be one of %s" % ", ".join(REQUEST_ACTIONS))
            if self.action == "status" and not isinstance(d.get("status"), int):
                raise RuleError("action 'status' needs an integer 'status'")
        self.count = d.get("count")
        self.skip = int(d.get("skip", 0))
        self.probability = float(d.get("probability", 1.0))
        self.hits = 0   # times the rule fired
        self.seen = 0   # matching requests/tasks seen

    def exhausted(self):
        return self.count is not None and self.hits >= self.count

    def describe(self):
        d = dict(self.raw)
        d["hits"] = self.hits
        if self.count is not None:
            d["remaining"] = max(self.count - self.hits, 0)
        return d


class Faults:
    def __init__(self, args):
        self.lock = threading.Lock()
        self.rng = random.Random(args.seed)
        self.rules = []
        self.error_rates = []  # (status, probability)
        self.drop_rates = {}   # before/after -> probability
        if args.error_rate:
            for part in args.error_rate.split(","):
                s, p = part.split(":")
                self.error_rates.append((int(s), float(p)))
        if args.drop_rate:
            for part in args.drop_rate.split(","):
                k, p = part.split(":")
                if k not in ("before", "after"):
                    raise RuleError("--drop-rate: use before:P,after:P")
                self.drop_rates[k] = float(p)
        if args.faults:
            with open(args.faults, encoding="utf-8") as f:
                self.add(json.load(f))

    def add(self, rules):
        if isinstance(rules, dict) and "rules" in rules:
            rules = rules["rules"]
        if isinstance(rules, dict):
            rules = [rules]
        parsed = [Rule(r) for r in rules]
        with self.lock:
            self.rules.extend(parsed)
        return len(parsed)

    def clear(self):
        with self.lock:
            self.rules = []
            self.error_rates = []
            self.drop_rates = {}

    def describe(self):
        with self.lock:
            return {"rules": [r.describe() for r in self.rules if not r.exhausted()],
                    "error_rates": {str(s): p for s, p in self.error_rates},
                    "drop_rates": dict(self.drop_rates)}

    def _fires(self, rule):
        """Count a match; True if the rule fires for it (skip, probability, count)."""
        rule.seen += 1
        if rule.seen <= rule.skip:
            return False
        if rule.probability < 1.0 and self.rng.random() >= rule.probability:
            return False
        if rule.exhausted():
            return False
        rule.hits += 1
        return True

    def for_request(self, method, rel_path):
        """The fault to apply to an API request, or None: a dict with the action."""
        with self.lock:
            for rule in self.rules:
                if rule.task is not None or rule.exhausted():
                    continue
                if rule.method and rule.method.upper() != method:
                    continue
                if rule.path and not rule.path.search(rel_path):
                    continue
                if self._fires(rule):
                    return rule.raw
            for status, p in self.error_rates:
                if self.rng.random() < p:
                    return {"action": "status", "status": status, "random": True}
            for kind in ("before", "after"):
                p = self.drop_rates.get(kind)
                if p and self.rng.random() < p:
                    return {"action": "drop-" + kind, "random": True}
        return None

    def task_override(self, wtype, wid, node):
        with self.lock:
            for rule in self.rules:
                if rule.task is None or rule.exhausted():
                    continue
                if rule.task not in (wtype, "*"):
                    continue
                if rule.raw.get("vmid") is not None and str(rule.raw["vmid"]) != str(wid):
                    continue
                if rule.raw.get("node") and rule.raw["node"] != node:
                    continue
                if not self._fires(rule):
                    continue
                return {k: rule.raw.get(k) for k in ("duration_ms", "fail", "warnings")}
        return {}


# --- request log --------------------------------------------------------------

def redact(params):
    """Copy of the request parameters with every secret value replaced."""
    out = {}
    for k, v in (params or {}).items():
        if SECRET_KEYS.search(k):
            out[k] = "<redacted>"
        elif isinstance(v, str) and (v.startswith("PVE:") or v.startswith("PVEAPIToken")):
            out[k] = "<redacted>"
        else:
            out[k] = v
    return out


_FORM_PAIR = re.compile(r"([^&;=]*)=([^&;]*)")


def _secret_value(key, value):
    return bool(SECRET_KEYS.search(key)) or value.startswith("PVE:") or value.startswith("PVEAPIToken")


def redact_raw_form(raw):
    """A raw query string or form body with every secret value replaced by
    `%3Credacted%3E`; everything else byte for byte as sent."""
    def sub(m):
        key = urllib.parse.unquote_plus(m.group(1))
        val = urllib.parse.unquote_plus(m.group(2))
        if _secret_value(key, val):
            return m.group(1) + "=%3Credacted%3E"
        return m.group(0)
    return _FORM_PAIR.sub(sub, raw)


def redact_raw_json(raw):
    """A raw JSON body as sent, or (when a secret must go) re-encoded with it redacted."""
    try:
        obj = json.loads(raw)
    except ValueError:
        return raw
    if not isinstance(obj, dict):
        return raw
    red = redact(obj)
    return raw if red == obj else json.dumps(red, separators=(",", ":"), ensure_ascii=False)


def raw_fields(query, body, content_type):
    """The request-log fields `query`, `body`, `content_type`: the query string and the
    body exactly as sent (decoded as UTF-8, invalid bytes escaped), secrets redacted."""
    out = {"query": redact_raw_form(query or "")}
    text = (body or b"").decode("utf-8", errors="backslashreplace")
    ctype = (content_type or "").split(";")[0].strip().lower()
    out["body"] = redact_raw_json(text) if ctype == "application/json" else redact_raw_form(text)
    out["content_type"] = content_type
    return out


class RequestLog:
    def __init__(self, path, keep=100000, copy_path=None):
        """path: --request-log; copy_path: a second copy (PVESIM_LOG_DIR)."""
        self.lock = threading.Lock()
        self.entries = []
        self.seq = 0
        self.keep = keep
        self.files = [open(p, "a", encoding="utf-8", buffering=1) for p in (path, copy_path) if p]

    def add(self, entry):
        with self.lock:
            self.seq += 1
            entry = dict(entry, seq=self.seq)
            self.entries.append(entry)
            if len(self.entries) > self.keep:
                del self.entries[: len(self.entries) - self.keep]
            if self.files:
                line = json.dumps(entry, sort_keys=True) + "\n"
                for f in self.files:
                    f.write(line)
        return entry

    def since(self, seq):
        with self.lock:
            return [e for e in self.entries if e["seq"] > seq]

    def clear(self):
        with self.lock:
            self.entries = []


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.connections = 0
        self.tls_handshakes = 0
        self.failed_handshakes = 0
        self.requests = 0
        self.active = 0
        self.started = time.time()

    def as_dict(self):
        with self.lock:
            return {"connections": self.connections, "tls_handshakes": self.tls_handshakes,
                    "failed_handshakes": self.failed_handshakes, "requests": self.requests,
                    "active_connections": self.active, "uptime": round(time.time() - self.started, 3)}
