#!/usr/bin/env python3
"""Split the EXAMPLES section of an mdoc page into the transcript it shows.

usage: man-examples.py page dir

Writes dir/N.cmd for each command (a .Dl line or a .Bd -literal block
beginning with "$ "), dir/N.out for the output the page shows right after
command N (.Dl lines without "$", or the block's lines after the command), and
dir/N.file.NAME for a literal block introduced by ".Pa NAME :", the
content of a file the next examples read.  N orders them as the page does;
examples written without "$" are prose, not run.  tests/docs.bats runs the
transcript, as tests/inspect.bats runs the README's.
"""
import os
import sys


def unescape(s):
    for a, b in (("\\(dq", '"'), ("\\(aq", "'"), ("\\-", "-"),
                 ("\\&", ""), ("\\e", "\\")):
        s = s.replace(a, b)
    return s


def main():
    page, out = sys.argv[1], sys.argv[2]
    with open(page, encoding="utf-8") as f:
        lines = f.read().split("\n")
    items = []          # [kind, name, lines]
    section = False
    block = None        # lines of a .Bd -literal block
    file_name = None    # NAME of a ".Pa NAME :" just before a block
    prev = None         # what the last line was, for output attachment
    for line in lines:
        if line.startswith(".Sh "):
            section = line == ".Sh EXAMPLES"
            continue
        if not section:
            continue
        if block is not None:
            if line.startswith(".Ed"):
                literal(items, block, file_name)
                block, file_name, prev = None, None, None
            else:
                block.append(unescape(line))
            continue
        if line.startswith(".Bd -literal"):
            block = []
            if prev is not None and prev[0] == "pa":
                file_name = prev[1]
            continue
        if line.startswith(".Dl "):
            text = unescape(line[4:])
            if text.startswith("$ "):
                items.append(["cmd", None, [text[2:]]])
                prev = ("cmd",)
            elif prev is not None and prev[0] in ("cmd", "out"):
                if prev[0] == "cmd":
                    items.append(["out", None, []])
                items[-1][2].append(text)
                prev = ("out",)
            continue
        words = line.split()
        if len(words) == 3 and words[0] == ".Pa" and words[2] == ":":
            prev = ("pa", words[1])
        else:
            prev = None
    os.makedirs(out, exist_ok=True)
    n = 0
    for kind, name, text in items:
        if kind != "out":
            n += 1
        suffix = "file." + name if kind == "file" else kind
        with open(os.path.join(out, "%03d.%s" % (n, suffix)), "w",
                  encoding="utf-8") as f:
            f.write("\n".join(text) + "\n")


def literal(items, block, file_name):
    """A literal block: a file's content, a transcript, or prose."""
    if file_name is not None:
        items.append(["file", file_name, block])
        return
    if not block or not block[0].startswith("$ "):
        return
    for line in block:
        if line.startswith("$ "):
            items.append(["cmd", None, [line[2:]]])
            continued = line.endswith("\\") or line.endswith("|")
        elif items[-1][0] == "cmd" and continued:
            items[-1][2].append(line)
            continued = line.endswith("\\") or line.endswith("|")
        else:
            if items[-1][0] == "cmd":
                items.append(["out", None, []])
            items[-1][2].append(line)


if __name__ == "__main__":
    main()
