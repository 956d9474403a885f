"""Parameter validation with PVE::JSONSchema's rules and texts.

Values arrive as Python objects decoded from a query string, a form body
(str, or list for repeated keys) or a JSON body (str, int, float, bool, None,
list, dict). JSON booleans play the part of JSON::PP::Boolean, lists and
dicts the part of ARRAY and HASH references.
"""

from . import formats
from . import version
from .errors import param_error
from .formats import FormatError, perl_str

# Python type -> the Perl ref() name shown in "type check ... got X"
_REF_NAMES = {list: "ARRAY", dict: "HASH", bool: "JSON::PP::Boolean"}


def _ref(value):
    """Perl ref(): '' for plain scalars."""
    return _REF_NAMES.get(type(value), "")


def propstr_error():
    from .propstr import PropertyStringError
    return PropertyStringError


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
    from .propstr import parse_property_string  # property strings are checked with check_object
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
        except propstr_error() as e:
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
                    # pve-common check_object; the text changed in 9.0.8 (version.requires_error)
                    key, text = version.requires_error(newpath, "%s.%s" % (path, req) if path else req)
                    add_error(errors, key, text)
            continue
        if additional is not None and not additional:
            add_error(errors, newpath,
                      "property is not defined in schema and the schema does not allow additional properties")
            continue
        if isinstance(additional, dict):
            check_prop(value[key], additional, newpath, errors, named_formats)


def normalize_legacy_params(params, schema):
    """RESTHandler's normalize_legacy_param_formats (form bodies)."""
    props = schema.get("properties") or {}
    for key in list(params):
        ps = props.get(key)
        if ps is None:
            continue
        value = params[key]
        if not value or value == "0":  # Perl truthiness: undef, "" and "0" are skipped
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
