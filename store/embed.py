#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Embed a text file as a C string constant: embed.py IN OUT SYMBOL."""
import sys

src, out, sym = sys.argv[1:4]
with open(src, encoding="utf-8") as f:
    text = f.read()
with open(out, "w", encoding="utf-8") as f:
    f.write("/* generated from %s by store/embed.py; do not edit */\n" % src.split("/")[-1])
    f.write("static const char %s[] =\n" % sym)
    for line in text.splitlines(True):
        esc = line.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        f.write('\t"%s"\n' % esc)
    f.write(";\n")
