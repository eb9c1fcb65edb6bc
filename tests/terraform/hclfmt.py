"""A small `terraform fmt` checker: the layout rules of hclwrite's formatter, without Terraform.

Rules (those of hclwrite's `format.go` that matter for hand-written files):

- indentation is two spaces per open bracket level, counted per line: a line whose brackets open
  more than they close indents the lines after it by one level, a line that closes dedents itself;
- in a run of consecutive lines that each assign a single-line value (`name = value`), the `=` signs
  line up one space after the longest name; a blank line, a comment line, a block header or a line
  that opens a multi-line value (`tags = {`) ends the run;
- exactly one space after an assignment's `=`;
- no tabs, no trailing whitespace, no blank line at the start, exactly one newline at the end.

Not supported (reported as errors instead of being guessed at): heredocs, `/* */` comments spanning
lines, and comments after code on the same line (hclwrite aligns those too; this project keeps
comments on their own lines).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

_OPEN = "{[("
_CLOSE = "}])"


class HclFormatError(ValueError):
    """The text uses something this checker does not handle."""


@dataclass
class _Line:
    text: str
    # (column, kind) for each token that matters: "open", "close", "assign", "comment", "other".
    tokens: list[tuple[int, str]] = field(default_factory=list)


def _scan(text: str) -> list[_Line]:
    """Split text into lines and find brackets, template interpolations, `=` and comments."""
    lines = [_Line(raw) for raw in text.split("\n")]
    # Stack of contexts: "expr" (inside braces/brackets of code), "str" (inside a quoted template),
    # "interp" (inside ${ } or %{ } of a template).
    stack: list[str] = ["expr"]
    for number, line in enumerate(lines, start=1):
        raw = line.text
        i = 0
        while i < len(raw):
            ch = raw[i]
            mode = stack[-1]
            if mode == "str":
                if ch == "\\":
                    i += 2
                    continue
                if raw.startswith(("$${", "%%{"), i):
                    i += 3
                    continue
                if raw.startswith(("${", "%{"), i):
                    line.tokens.append((i, "open"))
                    stack.append("interp")
                    i += 2
                    continue
                if ch == '"':
                    stack.pop()
                i += 1
                continue
            # code: "expr" or "interp"
            if ch in " \t":
                i += 1
                continue
            if ch == "#" or raw.startswith("//", i):
                line.tokens.append((i, "comment"))
                break
            if raw.startswith("/*", i):
                end = raw.find("*/", i + 2)
                if end < 0:
                    raise HclFormatError(f"line {number}: /* */ comments spanning lines are not supported")
                i = end + 2
                continue
            if raw.startswith("<<", i) and re.match(r"<<-?[A-Za-z_]", raw[i:]):
                raise HclFormatError(f"line {number}: heredocs are not supported; use jsonencode() or a string")
            if ch == '"':
                line.tokens.append((i, "other"))
                stack.append("str")
                i += 1
                continue
            if ch in _OPEN:
                line.tokens.append((i, "open"))
                stack.append("brace" if ch == "{" else "expr")
                i += 1
                continue
            if ch in _CLOSE:
                line.tokens.append((i, "close"))
                if len(stack) > 1:
                    stack.pop()
                i += 1
                continue
            if ch == "=":
                prev = raw[i - 1] if i else ""
                nxt = raw[i + 1] if i + 1 < len(raw) else ""
                if (nxt and nxt in "=>") or (prev and prev in "=!<>"):
                    i += 2 if nxt and nxt in "=>" else 1
                    line.tokens.append((i, "other"))
                    continue
                line.tokens.append((i, "assign"))
                i += 1
                continue
            if ch in "!<>" and i + 1 < len(raw) and raw[i + 1] == "=":
                line.tokens.append((i, "other"))
                i += 2
                continue
            line.tokens.append((i, "other"))
            i += 1
        if stack[-1] == "str":
            raise HclFormatError(f"line {number}: unterminated string")
    return lines


def _net(tokens: list[tuple[int, str]]) -> int:
    return sum(1 if kind == "open" else -1 if kind == "close" else 0 for _, kind in tokens)


def format_hcl(text: str) -> str:
    """Return text laid out the way `terraform fmt` lays it out (for the rules above)."""
    lines = _scan(text)
    while lines and lines[-1].text.strip() == "":
        lines.pop()
    while lines and lines[0].text.strip() == "":
        lines.pop(0)

    out: list[str] = []
    assigns: list[tuple[str, str] | None] = []  # (lead, value) for lines that form alignment runs
    indents: list[int] = []
    for number, line in enumerate(lines, start=1):
        content = line.text.strip()
        if "\t" in line.text:
            content = content.replace("\t", "  ")
        if not content:
            out.append("")
            assigns.append(None)
            continue
        offset = len(line.text) - len(line.text.lstrip())
        tokens = [(col - offset, kind) for col, kind in line.tokens]
        code = [(col, kind) for col, kind in tokens if kind != "comment"]
        if len(code) != len(tokens) and code:
            raise HclFormatError(f"line {number}: put the comment on its own line")

        # indentation (hclwrite formatIndent)
        net = _net(code)
        if net > 0:
            level = len(indents)
            indents.append(net)
        elif net < 0:
            closed = -net
            while closed > 0 and indents:
                if closed > indents[-1]:
                    closed -= indents.pop()
                elif closed < indents[-1]:
                    indents[-1] -= closed
                    closed = 0
                else:
                    indents.pop()
                    closed = 0
            level = len(indents)
        else:
            level = len(indents)
        indent = "  " * level

        # assignment cell (hclwrite linesForFormat): the first `=` that is not the line's first token,
        # when the rest of the line closes every bracket it opens
        split = opener = None
        for index, (col, kind) in enumerate(code):
            if kind == "assign":
                if index > 0 and _net(code[index:]) == 0:
                    split = col
                elif index > 0:
                    opener = col
                break
        if opener is not None:
            # `name = {` opens a multi-line value: not aligned, but still one space around `=`
            out.append(f"{indent}{content[:opener].rstrip()} = {content[opener + 1 :].strip()}")
            assigns.append(None)
        elif split is None:
            out.append(indent + content)
            assigns.append(None)
        else:
            lead = indent + content[:split].rstrip()
            value = content[split + 1 :].strip()
            out.append("")
            assigns.append((lead, value))

    # align `=` in runs of consecutive assignment lines (hclwrite formatCells)
    start = None
    for index in range(len(assigns) + 1):
        cell = assigns[index] if index < len(assigns) else None
        if cell is not None and start is None:
            start = index
        if cell is None and start is not None:
            width = max(len(assigns[j][0]) for j in range(start, index))  # type: ignore[index]
            for j in range(start, index):
                lead, value = assigns[j]  # type: ignore[misc]
                out[j] = f"{lead.ljust(width)} = {value}".rstrip()
            start = None
    return "\n".join(out) + "\n"


def check_hcl(text: str) -> list[str]:
    """Problems with the layout of text, as `line N: ...` messages (empty when it is formatted)."""
    try:
        expected = format_hcl(text)
    except HclFormatError as exc:
        return [str(exc)]
    if text == expected:
        return []
    problems: list[str] = []
    got = text.split("\n")
    want = expected.split("\n")
    if not text.endswith("\n") or text.endswith("\n\n"):
        problems.append("file must end with exactly one newline")
    for number, (have, should) in enumerate(zip(got, want, strict=False), start=1):
        if have != should:
            problems.append(f"line {number}: {have!r} should be {should!r}")
            if len(problems) >= 20:
                break
    if not problems:
        problems.append("layout differs from terraform fmt (blank lines at the start or end?)")
    return problems


def check_file(path: Path) -> list[str]:
    return [f"{path}: {problem}" for problem in check_hcl(path.read_text(encoding="utf-8"))]


def main(argv: list[str] | None = None) -> int:
    """`python tests/terraform/hclfmt.py [--write] FILE...`: check (or rewrite) files."""
    import sys

    args = list(sys.argv[1:] if argv is None else argv)
    write = "--write" in args
    failed = 0
    for name in (a for a in args if a != "--write"):
        path = Path(name)
        if write:
            path.write_text(format_hcl(path.read_text(encoding="utf-8")), encoding="utf-8")
            continue
        for problem in check_file(path):
            print(problem)
            failed = 1
    return failed


if __name__ == "__main__":
    raise SystemExit(main())
