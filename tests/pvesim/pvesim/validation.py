"""Parameter validation with PVE::JSONSchema's rules and texts.

Values arrive as Python objects decoded from a query string, a form body
(str, or list for repeated keys) or a JSON body (str, int, float, bool, None,
list, dict). JSON booleans play the part of JSON::PP::Boolean, lists and
dicts the part of ARRAY and HASH references.
"""

import re

from . import formats
from .errors import param_error
from .formats import FormatError, perl_str

# Python type -> the Perl ref() name shown in "type check ... got X"
_REF_NAMES = {list: "ARRAY", dict: "HASH", bool: "JSON::PP::Boolean"}


_KV_RE = re.compile(r"^([^=]+)=(.+)$")


def _ref(value):
    """Perl ref(): '' for plain scalars."""
    return _REF_NAMES.get(type(value), "")


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


def add_error(errors, path, msg):
    path = path or "_root"
    if errors.get(path):
        errors[path] = errors[path] + "\\n" + msg  # a literal backslash-n, as in Perl
    else:
        errors[path] = msg


def check_type(path, typ, value, errors):
    if not typ:
        return True
    if typ == "any":
        return True
    if typ == "null":
        if value is not None:
            add_error(errors, path, "type check ('null') failed - value is not null")
            return False
        return True
    if typ == "array":
        if not isinstance(value, list):
            add_error(errors, path, "type check ('array') failed")
            return False
        return True
    if typ == "object":
        if not isinstance(value, dict):
            add_error(errors, path, "type check ('object') failed")
            return False
        return True
    ref = _ref(value)
    if ref:
        if typ == "boolean" and isinstance(value, bool):
            return True
        add_error(errors, path, "type check ('%s') failed - got %s" % (typ, ref))
        return False
    s = perl_str(value)
    if typ == "string":
        return True
    if typ == "boolean":
        if s in ("0", "1"):
            return True
        add_error(errors, path, "type check ('boolean') failed - got '%s'" % s)
        return False
    if typ == "integer":
        if not formats.is_integer(s):
            add_error(errors, path, "type check ('integer') failed - got '%s'" % s)
            return False
        return True
    if typ == "number":
        if not formats.is_number(s):
            add_error(errors, path, "type check ('number') failed - got '%s'" % s)
            return False
        return True
    return True


def check_format(fmt, value, path, named_formats):
    """Raises FormatError or PropertyStringError like Perl's check_format."""
    if isinstance(fmt, dict):
        return parse_property_string(fmt, value, path, named_formats)
    if fmt == "regex":
        return None
    name, kind = fmt, None
    for suffix in ("-list", "-opt"):
        if fmt.endswith(suffix) and fmt[: -len(suffix)]:
            name, kind = fmt[: -len(suffix)], suffix[1:]
            break
    registered = named_formats.get(name)
    validator = formats.lookup_validator(name)
    if registered is None and validator is None:
        raise FormatError("undefined format '%s'\n" % fmt)
    if kind and registered is not None:
        raise FormatError("'-%s' format must have code ref, not hash\n" % kind)
    if kind == "list":
        for item in formats.split_list(value):
            validator(item)
        return None
    if kind == "opt":
        if value:
            validator(value)
        return None
    if registered is not None:
        return parse_property_string(registered, value, path, named_formats)
    validator(perl_str(value))
    return None


def check_prop(value, schema, path, errors, named_formats):
    if not isinstance(schema, dict):
        add_error(errors, path, "Invalid schema definition.")
        return
    if value is None:
        if schema.get("type") == "null":
            return
        if not schema.get("optional") and not schema.get("alias") and not schema.get("group"):
            add_error(errors, path, "property is missing and it is not optional")
        return
    if not check_type(path, schema.get("type"), value, errors):
        return
    if isinstance(value, list):
        items = schema.get("items")
        if items:
            for i, el in enumerate(value):
                check_prop(el, items, "%s[%d]" % (path, i), errors, named_formats)
        return
    if isinstance(value, dict):
        if schema.get("properties") or schema.get("additionalProperties"):
            check_object(path, schema.get("properties") or {}, value,
                         schema.get("additionalProperties"), errors, named_formats)
        return
    if isinstance(value, bool):
        return  # a JSON boolean for a boolean property: nothing more to check
    s = perl_str(value)
    fmt = schema.get("format")
    if fmt:
        try:
            check_format(fmt, s, path, named_formats)
        except FormatError as e:
            add_error(errors, path, "invalid format - " + e.message)
            return
        except PropertyStringError as e:
            add_error(errors, path, "invalid format - " + e.stringify())
            return
    pattern = schema.get("pattern")
    if pattern:
        if not formats.perl_match(pattern, s):
            add_error(errors, path, "value does not match the regex pattern")
            return
    if schema.get("maxLength") is not None:
        if len(s) > int(schema["maxLength"]):
            add_error(errors, path, "value may only be %s characters long" % perl_str(schema["maxLength"]))
            return
    if schema.get("minLength") is not None:
        if len(s) < int(schema["minLength"]):
            add_error(errors, path, "value must be at least %s characters long" % perl_str(schema["minLength"]))
            return
    if formats.is_number(s):
        num = formats.perl_num(s)
        mx = schema.get("maximum")
        if mx is not None and formats.is_number(mx) and num > formats.perl_num(mx):
            add_error(errors, path, "value must have a maximum value of %s" % perl_str(mx))
            return
        mn = schema.get("minimum")
        if mn is not None and formats.is_number(mn) and num < formats.perl_num(mn):
            add_error(errors, path, "value must have a minimum value of %s" % perl_str(mn))
            return
    enum = schema.get("enum")
    if enum:
        if s not in [perl_str(e) for e in enum]:
            add_error(errors, path, "value '%s' does not have a value in the enumeration '%s'"
                      % (s, ", ".join(perl_str(e) for e in enum)))


def check_object(path, props, value, additional, errors, named_formats):
    if not isinstance(value, dict):
        add_error(errors, path, "an object is required")
        return
    for key in sorted(props):
        check_prop(value.get(key), props[key], "%s.%s" % (path, key) if path else key,
                   errors, named_formats)
    for key in sorted(value):
        newpath = "%s.%s" % (path, key) if path else key
        sub = props.get(key)
        if sub is not None:
            req = sub.get("requires")
            if req:
                if isinstance(req, dict):
                    check_prop(value, req, path, errors, named_formats)
                elif value.get(req) is None:
                    add_error(errors, "%s.%s" % (path, req) if path else req,
                              "missing property - '%s' requires this property" % newpath)
            continue
        if additional is not None and not additional:
            add_error(errors, newpath,
                      "property is not defined in schema and the schema does not allow additional properties")
            continue
        if isinstance(additional, dict):
            check_prop(value[key], additional, newpath, errors, named_formats)


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
            if schema is not None and schema.get("alias"):
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


def normalize_legacy_params(params, schema):
    """RESTHandler's normalize_legacy_param_formats (form bodies)."""
    props = schema.get("properties") or {}
    for key, ps in props.items():
        value = params.get(key)
        if not value:  # Perl truthiness: undef, "" and "0" are skipped
            continue
        typ = ps.get("type") or ""
        fmt = ps.get("format") or ""
        if isinstance(value, list) and typ == "string" and isinstance(fmt, str) and fmt.endswith("-list"):
            params[key] = ",".join(perl_str(v) for v in value)
        elif not isinstance(value, (list, dict)) and typ == "array":
            params[key] = [value]
    return params


def validate(params, schema, named_formats):
    """PVE::JSONSchema::validate for a method's parameter schema; raises 400."""
    errors = {}
    check_prop(params, schema, "", errors, named_formats)
    if errors:
        raise param_error(errors)
