#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Turn a reference page in Markdown (docs/profile.md) into a manual page (troff, man macros).

    md2man.py --name pvfio-profile --section 5 --summary TEXT [--date D] [--source S]
              [--manual M] [--see-also 'pvfio(1)' ...] [--skip-section Contents] IN.md OUT

The Markdown subset is the one the docs use: '#'-'###' headings, paragraphs,
'- ' lists (with indented continuation lines), fenced code blocks and pipe
tables, with `code`, **bold**, *italic* and [links](target) inline. The first
'# ' heading is dropped (NAME says it); the text before the first '## ' becomes
DESCRIPTION; each '## ' a section, each '### ' a subsection. A table becomes a
tagged list: its first column is the tag, the other cells follow as
"header: value" (a 'meaning' column as plain text), so it reads well in 80
columns. Python 3 standard library only; anything it does not understand is an
error, so the page never silently loses text.
"""

import argparse
import re
import sys

PROSE_COLUMNS = {"meaning", "what", "content", "what pvfio sets up"}
DASH_BEFORE = set(" ([\"'-/=,")
INLINE_RE = re.compile(
    r"`(?P<code>[^`]+)`"
    r"|\*\*(?P<bold>.+?)\*\*"
    r"|(?<![\w*])\*(?P<ital>[^\s*](?:.*?[^\s*])?)\*(?![\w*])"
    r"|\[(?P<ltext>[^\]]+)\]\((?P<lhref>[^)\s]+)\)"
)


class MdError(ValueError):
    pass


def escape(text, literal, prev=""):
    """Escape text for troff; literal text gets a minus sign for every '-'."""
    out = []
    for i, ch in enumerate(text):
        if ch == "\\":
            out.append("\\e")
        elif ch == "-":
            before = text[i - 1] if i > 0 else prev
            after = text[i + 1] if i + 1 < len(text) else ""
            if literal or ((before == "" or before in DASH_BEFORE) and (after == "-" or after.isalnum())):
                out.append("\\-")
            else:
                out.append("-")
        elif ch == "\u2026":
            out.append("...")  # no glyph for it on the ASCII device
        elif ord(ch) > 127:
            out.append("\\[u%04X]" % ord(ch))
        else:
            out.append(ch)
    return "".join(out)


def font(bold, ital):
    return "\\f[BI]" if bold and ital else "\\f[B]" if bold else "\\f[I]" if ital else "\\f[R]"


def segments(text, bold=False, ital=False):
    """Split inline Markdown into (text, bold, italic, literal) runs."""
    pos = 0
    for m in INLINE_RE.finditer(text):
        if m.start() > pos:
            yield text[pos:m.start()], bold, ital, False
        if m.group("code") is not None:
            yield m.group("code"), True, ital, True
        elif m.group("bold") is not None:
            yield from segments(m.group("bold"), True, ital)
        elif m.group("ital") is not None:
            yield from segments(m.group("ital"), bold, True)
        else:
            yield from segments(m.group("ltext"), bold, ital)
            href = m.group("lhref")
            if href.startswith(("http://", "https://")):
                yield " <" + href + ">", bold, ital, True
        pos = m.end()
    if pos < len(text):
        yield text[pos:], bold, ital, False


def inline(text):
    """One line of inline Markdown as troff text (never a control line)."""
    out, cur, prev = [], (False, False), ""
    for seg, bold, ital, literal in segments(text):
        if (bold, ital) != cur:
            out.append(font(bold, ital))
            cur = (bold, ital)
        out.append(escape(seg, literal, prev))
        prev = seg[-1:] or prev
    if cur != (False, False):
        out.append(font(False, False))
    line = "".join(out)
    if line.startswith((".", "'")):
        line = "\\&" + line
    return line


def split_row(line, lineno):
    row = line.strip()
    if not (row.startswith("|") and row.endswith("|")):
        raise MdError("line %d: a table row must start and end with '|'" % lineno)
    cells, cur, i = [], [], 1
    while i < len(row) - 1:
        if row[i] == "\\" and row[i + 1] == "|":
            cur.append("|")
            i += 2
            continue
        if row[i] == "|":
            cells.append("".join(cur).strip())
            cur = []
        else:
            cur.append(row[i])
        i += 1
    cells.append("".join(cur).strip())
    return cells


def plain(text):
    """Inline Markdown reduced to its text (for headings)."""
    return "".join(seg for seg, _b, _i, _l in segments(text))


def heading_arg(text):
    t = escape(plain(text), False)
    if '"' in t:
        raise MdError("a heading with a double quote: %r" % text)
    return '"' + t + '"'


def render_table(rows, out):
    header = [plain(h) for h in rows[0]]
    for cells in rows[1:]:
        if len(cells) != len(header):
            raise MdError("a table row with %d cells under a header of %d: %r" % (len(cells), len(header), cells))
        out.append(".TP")
        out.append(inline(cells[0]))
        labelled, prose, width = [], [], 0
        for h, c in zip(header[1:], cells[1:]):
            if c in ("", "\u2013", "-"):
                continue
            if len(header) == 2 or h.lower() in PROSE_COLUMNS:
                prose.append(c)
            else:
                labelled.append(escape(h, False) + ": " + inline(c))
                width += len(h) + 2 + len(plain(c))
        if labelled:
            # short cells on one line; long ones, or whole sentences, one per line
            if width > 60 or any(x.endswith(".") for x in labelled):
                out.append("\n.br\n".join(labelled))
            else:
                out.append("; ".join(labelled))
        for i, p in enumerate(prose):
            if labelled or i:
                out.append(".br")
            out.append(inline(p))


def convert(lines, skip_sections):
    out = []
    i, n = 0, len(lines)
    in_description = True
    skipping = False
    out.append(".SH DESCRIPTION")
    while i < n:
        line = lines[i]
        lineno = i + 1
        stripped = line.strip()
        if stripped.startswith("## ") or stripped.startswith("# ") or stripped.startswith("### "):
            level = len(stripped) - len(stripped.lstrip("#"))
            title = stripped[level:].strip()
            i += 1
            if level == 1:
                if not in_description:
                    raise MdError("line %d: a second '# ' heading" % lineno)
                continue
            if level == 2:
                in_description = False
                skipping = plain(title) in skip_sections
                if not skipping:
                    out.append(".SH " + heading_arg(plain(title).upper()))
                continue
            if level == 3 and not skipping:
                out.append(".SS " + heading_arg(title))
            continue
        if skipping:
            i += 1
            continue
        if not stripped:
            i += 1
            continue
        if stripped.startswith("```"):
            i += 1
            block = []
            while i < n and not lines[i].strip().startswith("```"):
                block.append(lines[i].rstrip("\n"))
                i += 1
            if i >= n:
                raise MdError("line %d: a code block that never ends" % lineno)
            i += 1
            out += [".PP", ".RS 4", ".nf"]
            for b in block:
                t = escape(b.expandtabs(), True)
                out.append("\\&" + t if t.startswith((".", "'")) or not t else t)
            out += [".fi", ".RE"]
            continue
        if stripped.startswith("|"):
            rows = []
            while i < n and lines[i].strip().startswith("|"):
                cells = split_row(lines[i], i + 1)
                if not all(re.fullmatch(r":?-+:?", c) for c in cells):
                    rows.append(cells)
                i += 1
            if len(rows) < 2:
                raise MdError("line %d: a table without rows" % lineno)
            render_table(rows, out)
            continue
        if stripped.startswith("- ") or stripped.startswith("* "):
            indent = len(line) - len(line.lstrip())
            while i < n and lines[i].strip().startswith(("- ", "* ")) and \
                    len(lines[i]) - len(lines[i].lstrip()) == indent:
                out.append(".IP \\(bu 2")
                out.append(inline(lines[i].strip()[2:]))
                i += 1
                while i < n and lines[i].strip() and len(lines[i]) - len(lines[i].lstrip()) > indent and \
                        not lines[i].strip().startswith(("- ", "* ", "```", "|")):
                    out.append(inline(lines[i].strip()))
                    i += 1
                if i < n and lines[i].strip() and len(lines[i]) - len(lines[i].lstrip()) > indent:
                    raise MdError("line %d: nested lists, tables or code in a list item are not supported" % (i + 1))
            continue
        if re.match(r"\d+\. ", stripped):
            indent = len(line) - len(line.lstrip())
            while i < n and re.match(r"\d+\. ", lines[i].strip()) and len(lines[i]) - len(lines[i].lstrip()) == indent:
                num, text = lines[i].strip().split(" ", 1)
                out.append(".IP %s 4" % num)
                out.append(inline(text))
                i += 1
                while i < n and lines[i].strip() and len(lines[i]) - len(lines[i].lstrip()) > indent and \
                        not re.match(r"(\d+\. |- |\* |```|\|)", lines[i].strip()):
                    out.append(inline(lines[i].strip()))
                    i += 1
                if i < n and lines[i].strip() and len(lines[i]) - len(lines[i].lstrip()) > indent:
                    raise MdError("line %d: nested lists, tables or code in a list item are not supported" % (i + 1))
            continue
        if stripped.startswith((">", "<!--")):
            raise MdError("line %d: unsupported Markdown (block quote or HTML): %r" % (lineno, stripped[:40]))
        out.append(".PP")
        start = i
        while i < n and lines[i].strip() and not lines[i].strip().startswith(("#", "```", "|", "- ", "* ")) and \
                not (i > start and re.match(r"\d+\. ", lines[i].strip())):
            out.append(inline(lines[i].strip()))
            i += 1
    return out


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--name", required=True)
    ap.add_argument("--section", required=True)
    ap.add_argument("--summary", required=True)
    ap.add_argument("--date", default="")
    ap.add_argument("--source", default="")
    ap.add_argument("--manual", default="File Formats")
    ap.add_argument("--see-also", action="append", default=[])
    ap.add_argument("--skip-section", action="append", default=[])
    ap.add_argument("input")
    ap.add_argument("output")
    args = ap.parse_args(argv)
    with open(args.input, encoding="utf-8") as f:
        lines = f.read().splitlines()
    try:
        body = convert(lines, set(args.skip_section))
    except MdError as e:
        print("md2man: %s: %s" % (args.input, e), file=sys.stderr)
        return 1
    page = [
        '.\\" %s(%s): generated from %s by md2man.py; do not edit.' % (args.name, args.section, args.input.split("/")[-1]),
        '.TH %s %s "%s" "%s" "%s"' % (args.name.upper(), args.section, args.date, args.source, args.manual),
        ".nh",
        ".ad l",
        ".SH NAME",
        "%s \\- %s" % (escape(args.name, True), escape(args.summary, False)),
    ] + body
    if args.see_also:
        refs = []
        for ref in args.see_also:
            m = re.fullmatch(r"([\w.-]+)\((\w+)\)", ref)
            if not m:
                print("md2man: --see-also wants NAME(SECTION), not %r" % ref, file=sys.stderr)
                return 1
            refs.append(".BR %s (%s)" % (escape(m.group(1), True), m.group(2)))
        page.append(".SH \"SEE ALSO\"")
        page += [r + "," for r in refs[:-1]] + refs[-1:]
    with open(args.output, "w", encoding="ascii") as f:
        f.write("\n".join(page) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
