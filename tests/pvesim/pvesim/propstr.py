"""Property strings: PVE::JSONSchema::parse_property_string and its printer.

`key=value,key=value` with an optional default key; every key is then checked
with the key's schema (validation.check_object), so the error texts are those
of PVE::JSONSchema.
"""

import re

from . import formats
from .formats import FormatError, perl_str
from .validation import check_object

_KV_RE = re.compile(r"^([^=]+)=(.+)$")


class PropertyStringError(Exception):
    """`raise "format error\\n", errors => {...}` from parse_property_string."""

    def __init__(self, errors):
        super().__init__("format error")
        self.errors = errors

    def stringify(self):
        # PVE::Exception::stringify: message, then "key: error\n" per error
        msg = "format error\n"
        for key in sorted(self.errors):
            msg += "%s: %s\n" % (key, self.errors[key])
        return msg



def parse_property_string(fmt, data, path, named_formats, additional=0):
    """PVE::JSONSchema::parse_property_string. Returns the parsed dict.

    Booleans are normalised to 1/0 (ints); everything else stays a string.
    Raises FormatError for syntax errors and PropertyStringError for schema
    violations of the keys.
    """
    if isinstance(fmt, str):
        reg = named_formats.get(fmt)
        if reg is None:
            raise FormatError("unknown format: %s\n" % fmt)
        fmt = reg
    data = perl_str(data)
    res = {}
    default_key = None
    for part in data.split(","):
        if part.strip() == "":
            continue
        m = _KV_RE.search(part)
        if m:
            key, val = m.group(1), m.group(2)
            if key in res:
                raise FormatError("duplicate key in comma-separated list property: %s\n" % key)
            schema = fmt.get(key)
            if schema is None:
                # Perl: `if (my $alias = $schema->{alias})` autovivifies the undefined $schema
                # into {}, so the "invalid key" check below never fires for an unknown key;
                # the key is kept and check_object reports "property is not defined in schema
                # ..." (pve-common PVE/JSONSchema.pm parse_property_string, 8.x and 9.x alike)
                res[key] = val
                continue
            if schema.get("alias"):
                key_alias = schema.get("keyAlias")
                if key_alias:
                    if key_alias in res:
                        raise FormatError("key alias '%s' is already defined\n" % key_alias)
                    res[key_alias] = key
                key = schema["alias"]
                schema = fmt.get(key)
            if schema is None:
                raise FormatError("invalid key in comma-separated list property: %s\n" % key)
            if schema.get("type") == "boolean":
                b = formats.parse_boolean(val)
                if b is not None:
                    val = b
            res[key] = val
        elif "=" not in part:
            if default_key:
                raise FormatError("duplicate key in comma-separated list property: %s\n" % default_key)
            for k in sorted(fmt):
                if fmt[k].get("default_key"):
                    default_key = k
                    if not res.get(k):
                        res[k] = part
                        break
                    raise FormatError("duplicate key in comma-separated list property: %s\n" % k)
            if not default_key:
                raise FormatError("value without key, but schema does not define a default key\n")
        else:
            raise FormatError("missing key in comma-separated list property\n")
    errors = {}
    check_object(path, fmt, res, additional, errors, named_formats)
    if errors:
        raise PropertyStringError(errors)
    return res


def print_property_string(fmt, data, named_formats, order=None):
    """Canonical form: default key first without name, then keys sorted."""
    if isinstance(fmt, str):
        fmt = named_formats[fmt]
    default_key = next((k for k in sorted(fmt) if fmt[k].get("default_key")), None)
    parts = []
    if default_key and data.get(default_key) is not None:
        parts.append(perl_str(data[default_key]))
    for key in (order or sorted(data)):
        if key == default_key or data.get(key) is None:
            continue
        parts.append("%s=%s" % (key, perl_str(data[key])))
    return ",".join(parts)
