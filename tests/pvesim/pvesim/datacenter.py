"""datacenter.cfg options the simulator models: `tag-style`, and the tag rule that uses it.

- tag-style: pve-cluster PVE/DataCenterConfig.pm $tag_style_format (shape, color-map,
  ordering, case-sensitive), parsed into an object by parse_datacenter_config, which is
  what GET /cluster/options returns.
- get_unique_tags: pve-guest-common PVE/GuestHelpers.pm get_unique_tags, used by
  qemu-server's create_vm and update_vm for `tags`.
"""

from . import formats
from .formats import perl_str

# pve-cluster PVE/DataCenterConfig.pm $tag_style_format (the keys and their checks)
TAG_STYLE_FORMAT = {
    "shape": {"type": "string", "optional": 1, "enum": ["full", "circle", "dense", "none"]},
    "color-map": {"type": "string", "optional": 1},
    "ordering": {"type": "string", "optional": 1, "enum": ["config", "alphabetical"]},
    "case-sensitive": {"type": "boolean", "optional": 1},
}


def parse_tag_style(value):
    """A tag-style property string (or an already parsed object) -> dict."""
    from .propstr import PropertyStringError, parse_property_string
    if isinstance(value, dict):
        value = ",".join("%s=%s" % (k, perl_str(v)) for k, v in sorted(value.items()))
    try:
        return parse_property_string(TAG_STYLE_FORMAT, str(value), "tag-style", {})
    except PropertyStringError as e:
        raise ValueError(e.stringify().strip().replace("\n", "; "))
    except formats.FormatError as e:
        raise ValueError(str(e).strip())


def tag_style(st):
    return (st.get("datacenter") or {}).get("tag-style") or {}


def get_unique_tags(st, tags):
    """PVE::GuestHelpers::get_unique_tags: split on ,; and spaces (split_list), lower-case
    unless `case-sensitive`, drop repeats, sort (case-insensitively unless
    `case-sensitive`) unless `ordering=config`; joined with ';'."""
    items = formats.split_list(perl_str(tags)) if not isinstance(tags, list) else list(tags)
    if not items:
        return ""
    style = tag_style(st)
    case_sensitive = bool(style.get("case-sensitive"))
    if style.get("ordering") != "config":
        # Perl's sort is a stable merge sort, like sorted()
        items = sorted(items, key=(lambda t: t) if case_sensitive else (lambda t: t.lower()))
    seen = set()
    res = []
    for tag in items:
        if not case_sensitive:
            tag = tag.lower()
        if tag in seen:
            continue
        seen.add(tag)
        res.append(tag)
    return ";".join(res)
