#!/usr/bin/env python3
"""Keeps the user documentation honest: fails when README.md or
docs/drukfs.1 drift from the code.

  (a) every `-o NAME=` option that `drukfs --help` prints (the binary named
      by $DRUKFS) is in README.md's options table and in the man page's
      OPTIONS, and neither documents an option drukfs does not have; every
      option options.c parses is in --help; the numeric defaults in
      options.c match both documents; the usage line matches both.
  (b) every file of the tree (the field names of src/fs/render.c's name
      table, the fixed files of src/fs/fs.c, and hosts, doctor,
      doctor.json, .drukfs/log, .drukfs/stats, .drukfs/refresh) is in
      README.md's tree and has an entry in the man page's FILES, and the
      fixed files' modes match.
  (c) the errno names of README.md's "Errors" section (the table and the
      sentence after it) and of the man page's ERRORS section are the same
      set, and every class of src/lib/error.c's errno table maps to the
      errno README.md gives it.
  (d) the man page renders without warnings (`man --warnings -l`; skipped
      with a message when man is missing; `mandoc -T lint` too when mandoc
      is installed).
  (e) README.md starts with a code block of exactly two commands.

Environment: DRUKFS (the drukfs binary; without it the usage text in
src/fs/options.c is used) and SOURCE_ROOT (default: two levels up).
Python 3 standard library only.  The last line printed is
"N passed, N failed"; the exit status is non-zero on any failure.
"""
import errno
import os
import re
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.environ.get("SOURCE_ROOT") or os.path.dirname(os.path.dirname(HERE))
README = os.path.join(ROOT, "README.md")
MANPAGE = os.path.join(ROOT, "docs", "drukfs.1")

ERRNO_NAMES = set(errno.errorcode.values())

passed = 0
failed = 0


def check(ok, what, why=""):
    global passed, failed
    if ok:
        passed += 1
        print("ok      " + what)
    else:
        failed += 1
        print("FAIL    " + what + (": " + why if why else ""))
    return ok


def skip(what, why):
    print("SKIP    " + what + ": " + why)


def read(path):
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except OSError as e:
        check(False, "read " + os.path.relpath(path, ROOT), str(e))
        return None


# ---- roff (man(7)) reading ------------------------------------------------

NAMED = {"em": "--", "en": "-", "ti": "~", "aq": "'", "dq": '"', "lq": '"',
         "rq": '"', "oq": "'", "cq": "'", "bu": "*", "ha": "^", "co": "(C)",
         "hy": "-", "mi": "-", "rs": "\\"}
JOIN = "\x00"  # \c: the next line continues this one without a space


def unescape(text):
    def one(m):
        e = m.group(1)
        if e.startswith("("):
            return NAMED.get(e[1:], "")
        if e.startswith("["):
            return NAMED.get(e[1:-1], "")
        if e.startswith(("f", "s", "*")):
            return ""
        return {"-": "-", "&": "", " ": " ", "~": " ", "0": " ", "e": "\\",
                "\\": "\\", "c": JOIN, ".": ".", "'": "'", "`": "`",
                "|": "", "^": "", "%": "", ",": "", "/": ""}.get(e, "")
    return re.sub(r"\\(\(..|\[[^\]]*\]|[fs*](?:\[[^\]]*\]|\(..|[-+]?.)|.)",
                  one, text)


def roff_args(s):
    """Splits a macro line's arguments like roff: blanks separate, double
    quotes group, "" inside quotes is one quote."""
    args, i, n = [], 0, len(s)
    while i < n:
        while i < n and s[i] in " \t":
            i += 1
        if i >= n:
            break
        if s[i] == '"':
            i += 1
            buf = []
            while i < n:
                if s[i] == '"':
                    if i + 1 < n and s[i + 1] == '"':
                        buf.append('"')
                        i += 2
                        continue
                    i += 1
                    break
                if s[i] == "\\" and i + 1 < n:
                    buf.append(s[i:i + 2])
                    i += 2
                    continue
                buf.append(s[i])
                i += 1
            args.append("".join(buf))
        else:
            j = i
            while j < n and s[j] not in " \t":
                j += 2 if s[j] == "\\" else 1
            args.append(s[i:j])
            i = j
    return args


FONT_JOINED = {"B", "I", "SM", "SB"}
FONT_ALTERNATING = {"BR", "RB", "BI", "IB", "IR", "RI"}


class Man:
    """A man(7) page as sections of items: ('sub', subheading),
    ('tag', text) for a .TP/.IP tag, ('text', text)."""

    def __init__(self, source):
        self.sections = {}
        self.order = []
        items = None
        tag_next = False
        for line in source.split("\n"):
            if line.startswith(('.\\"', "'\\\"")):
                continue
            line = re.sub(r'\\".*', "", line)
            kind, text = "text", None
            if line[:1] in (".", "'"):
                parts = line[1:].strip().split(None, 1)
                if not parts:
                    continue
                macro = parts[0]
                args = roff_args(parts[1]) if len(parts) > 1 else []
                if macro == "SH":
                    name = " ".join(unescape(a) for a in args)
                    items = self.sections.setdefault(name, [])
                    self.order.append(name)
                    tag_next = False
                    continue
                if macro == "SS":
                    kind = "sub"
                    text = " ".join(unescape(a) for a in args)
                elif macro in FONT_JOINED:
                    text = unescape(" ".join(args))
                elif macro in FONT_ALTERNATING:
                    text = unescape("".join(args))
                elif macro == "TP":
                    tag_next = True
                    continue
                elif macro == "IP":
                    tag_next = False
                    tag = unescape(args[0]) if args else ""
                    if tag.strip() and tag.strip() not in ("*", "-"):
                        kind, text = "tag", tag
                    else:
                        continue
                else:
                    continue  # PP, RS, RE, EX, EE, br, TH, ...
            else:
                text = unescape(line)
            if items is None or text is None:
                continue
            if kind == "text" and tag_next:
                kind, tag_next = "tag", False
            if items and items[-1][1].endswith(JOIN) and kind != "sub":
                prev_kind, prev = items[-1]
                items[-1] = (prev_kind, prev[:-1] + text)
            else:
                items.append((kind, text))

    def section(self, name):
        return self.sections.get(name, [])

    def text(self, name):
        return " ".join(t for _, t in self.section(name)).replace(JOIN, "")

    def entries(self, name, sub=None):
        """(tag, body) of every tagged entry of a section (or of one of
        its subsections)."""
        out, cur, in_sub = [], None, sub is None
        for kind, text in self.section(name):
            if kind == "sub":
                in_sub = sub is None or text == sub
                cur = None
                continue
            if not in_sub:
                continue
            if kind == "tag":
                cur = [text.strip(), []]
                out.append(cur)
            elif cur is not None:
                cur[1].append(text)
        return [(t, " ".join(b)) for t, b in out]


# ---- markdown reading ------------------------------------------------------

def md_section(md, title):
    """The body of the '## title' section, up to the next '## '."""
    m = re.search(r"^## " + re.escape(title) + r"[ \t]*\n(.*?)(?=^## |\Z)",
                  md, re.M | re.S)
    return m.group(1) if m else None


def md_code_blocks(text):
    return re.findall(r"^```[^\n]*\n(.*?)^```", text, re.M | re.S)


def norm_ws(s):
    return re.sub(r"\s+", " ", s).strip()


# ---- inputs --------------------------------------------------------------------

def help_text():
    exe = os.environ.get("DRUKFS")
    if exe:
        try:
            r = subprocess.run([exe, "--help"], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, timeout=30)
        except OSError as e:
            check(False, "run $DRUKFS --help", str(e))
            return None
        out = r.stdout.decode("utf-8", "replace")
        if not check(r.returncode == 0 and "-o " in out,
                     "drukfs --help exits 0 and lists options",
                     "exit %d, output %r" % (r.returncode, out[:200])):
            return None
        return out
    src = read(os.path.join(ROOT, "src", "fs", "options.c"))
    if src is None:
        return None
    m = re.search(r"void drukfs_usage\(.*?\{\s*printf\((.*?)\n\"\\n\", prog\);",
                  src, re.S)
    skip("drukfs --help", "$DRUKFS is not set; using the usage text of "
         "src/fs/options.c instead of running the binary")
    if not check(bool(m), "find drukfs_usage() in src/fs/options.c"):
        return None
    return "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', m.group(1))) \
        .replace("\\n", "\n").replace('\\"', '"').replace("%s", "drukfs")


# ---- (a) options ---------------------------------------------------------------

def check_options(help_out, readme, man):
    help_opts = list(dict.fromkeys(re.findall(r"-o ([a-z_]+)=", help_out)))
    if not check(len(help_opts) >= 10, "drukfs --help lists its -o options",
                 "found only %s" % help_opts):
        return

    options_c = read(os.path.join(ROOT, "src", "fs", "options.c"))
    if options_c is not None:
        spec = re.findall(r'OPT\("([a-z_]+)=%s"', options_c)
        check(len(spec) >= 10, "options.c's opt_spec is readable",
              "found %s" % spec)
        for name in spec:
            check(name in help_opts, "option %s (options.c) is in --help"
                  % name)

    table = set(re.findall(r"^\|\s*`-o ([a-z_]+)=", readme, re.M))
    man_all = {m.group(1) for tag, _ in man.entries("OPTIONS")
               for m in [re.match(r"-o ([a-z_]+)=", tag)] if m}
    man_own = {m.group(1) for tag, _ in man.entries("OPTIONS",
                                                    "drukfs options")
               for m in [re.match(r"-o ([a-z_]+)=", tag)] if m}
    check(man_own, "the man page has an OPTIONS subsection "
          "'drukfs options' with -o entries")
    for name in help_opts:
        check(name in table, "option %s is in README.md's options table"
              % name)
        check(name in man_all, "option %s is in drukfs.1 OPTIONS" % name)
    for name in sorted(table - set(help_opts)):
        check(False, "README.md's options table documents -o %s=" % name,
              "drukfs --help has no such option")
    for name in sorted(man_own - set(help_opts)):
        check(False, "drukfs.1 documents -o %s=" % name,
              "drukfs --help has no such option")

    # Numeric defaults: seconds_opt("NAME", o->NAME, DEFAULT, MIN, ...).
    if options_c is not None:
        defaults = re.findall(r'seconds_opt\("([a-z_]+)",\s*o->\w+,\s*'
                              r'([0-9.]+)', options_c)
        check(defaults, "options.c's numeric defaults are readable")
        rows = {m.group(1): m.group(2) for m in re.finditer(
            r"^\|\s*`-o ([a-z_]+)=[^|]*(?:\\\|[^|]*)*\|\s*([^|]*?)\s*\|",
            readme, re.M)}
        bodies = {m.group(1): body for tag, body in man.entries("OPTIONS")
                  for m in [re.match(r"-o ([a-z_]+)=", tag)] if m}
        for name, value in defaults:
            want = "%g" % float(value)
            check(rows.get(name) == want,
                  "README.md gives -o %s= the default %s" % (name, want),
                  "its table says %r" % rows.get(name))
            check(re.search(r"Default: %s\." % re.escape(want),
                            bodies.get(name, "")) is not None,
                  "drukfs.1 gives -o %s= the default %s" % (name, want),
                  "its entry says %r" % bodies.get(name, "")[-80:])

    # The usage line.
    m = re.search(r"usage: \S+ (.*)", help_out)
    if check(bool(m), "drukfs --help starts with a usage line"):
        usage = "drukfs " + m.group(1).strip()
        check(usage in readme, "README.md shows the usage line %r" % usage)
        check(usage in norm_ws(man.text("SYNOPSIS")),
              "drukfs.1 SYNOPSIS shows the usage line",
              "SYNOPSIS reads %r" % norm_ws(man.text("SYNOPSIS")))


# ---- (b) files ------------------------------------------------------------------

def check_files(readme, man):
    render = read(os.path.join(ROOT, "src", "fs", "render.c"))
    fs_c = read(os.path.join(ROOT, "src", "fs", "fs.c"))
    names = ["hosts", "doctor", "doctor.json", ".drukfs/log",
             ".drukfs/stats", ".drukfs/refresh"]
    modes = {}
    if render is not None:
        table = re.search(r"field_names\[[^\]]*\]\s*=\s*\{(.*?)\};", render,
                          re.S)
        fields = re.findall(r'\[FIELD_\w+\]\s*=\s*"([^"]+)"',
                            table.group(1) if table else "")
        if check(len(fields) >= 10, "render.c's field name table is "
                 "readable", "found %s" % fields):
            names += fields
    if fs_c is not None:
        fixed = re.findall(r'\{\s*INO_\w+,\s*INO_(\w+),\s*"([^"]+)",\s*'
                           r'S_IF(\w+)\s*\|\s*(0[0-7]+)\s*\}', fs_c)
        if check(len(fixed) >= 5, "fs.c's fixed file table is readable",
                 "found %s" % fixed):
            for parent, name, kind, mode in fixed:
                if kind == "DIR" and name != "hosts":
                    continue  # .drukfs/ shows through the files in it
                path = (".drukfs/" if parent == "META" else "") + name
                modes[path] = mode
                if path not in names:
                    names.append(path)

    tree = md_section(readme, "The tree")
    blocks = md_code_blocks(tree) if tree else []
    check(blocks, "README.md has a '## The tree' section with a code block")
    tree_lines = blocks[0].split("\n") if blocks else []
    tree_tokens = {t.rstrip("/") for line in tree_lines for t in line.split()}
    entries = man.entries("FILES")
    man_tags = {t.rstrip("/"): body for t, body in entries}
    check(entries, "drukfs.1 has a FILES section with entries")

    for name in dict.fromkeys(names):
        check(name in tree_tokens, "file %s is in README.md's tree" % name)
        check(name in man_tags, "file %s has an entry in drukfs.1 FILES"
              % name)
        if name in modes:
            mode = modes[name]
            line = next((ln for ln in tree_lines
                         if ln.split() and ln.split()[0].rstrip("/") == name),
                        "")
            check(mode in line.split(), "README.md gives %s mode %s"
                  % (name, mode), "its line is %r" % line.strip())
            check(("Mode %s" % mode) in man_tags.get(name, ""),
                  "drukfs.1 gives %s mode %s" % (name, mode),
                  "its entry is %r" % man_tags.get(name, "")[:80])


# ---- (c) errors -------------------------------------------------------------------

def check_errors(readme, man):
    section = md_section(readme, "Errors")
    if not check(section is not None, "README.md has an '## Errors' "
                 "section"):
        return
    readme_set = set(re.findall(r"`(E[A-Z0-9]+)`", section)) & ERRNO_NAMES
    man_text = man.text("ERRORS")
    man_set = set(re.findall(r"\b(E[A-Z0-9]{2,})\b", man_text)) & ERRNO_NAMES
    check(len(readme_set) >= 8, "README.md's errno table is readable",
          "found %s" % sorted(readme_set))
    check(man_set, "drukfs.1 has an ERRORS section naming errnos")
    for name in sorted(readme_set):
        check(name in man_set, "errno %s (README.md) is in drukfs.1 ERRORS"
              % name)
    for name in sorted(man_set - readme_set):
        check(False, "errno %s (drukfs.1 ERRORS) is in README.md's Errors"
              % name, "README.md does not list it")

    # The code's table: every class maps to the errno README.md gives it.
    error_c = read(os.path.join(ROOT, "src", "lib", "error.c"))
    if error_c is None:
        return
    classes = re.findall(r'\[DRUKBOX_E\w+\]\s*=\s*\{\s*"(\w+)",\s*'
                         r'DRUKBOX_SDK_\w+,\s*(E[A-Z0-9]+)', error_c)
    if not check(len(classes) >= 10, "src/lib/error.c's errno table is "
                 "readable", "found %s" % classes):
        return
    rows = {}
    for m in re.finditer(r"^\|\s*([^|`]+?)\s*\|[^\n]*?`(E[A-Z0-9]+)`\s*\|"
                         r"\s*$", section, re.M):
        rows.setdefault(m.group(1).lower(), set()).add(m.group(2))
    for name, errnum in classes:
        label = name.replace("_", " ")
        if label in rows:
            check(errnum in rows[label], "README.md maps class %s to %s"
                  % (label, errnum), "it says %s" % sorted(rows[label]))
        else:
            check(errnum in readme_set, "README.md lists %s (class %s)"
                  % (errnum, name))


# ---- (d) rendering ------------------------------------------------------------------

def check_render():
    man_prog = shutil.which("man")
    if not man_prog:
        skip("man --warnings -l docs/drukfs.1",
             "man is not installed (apt-get install man-db groff-base)")
    else:
        env = dict(os.environ, MANWIDTH="80", MAN_KEEP_FORMATTING="")
        env.pop("MANPAGER", None)
        env.pop("PAGER", None)
        try:
            r = subprocess.run([man_prog, "--warnings", "-l", MANPAGE],
                               stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, env=env, timeout=60)
            err = r.stderr.decode("utf-8", "replace").strip()
            check(r.returncode == 0 and not err and r.stdout,
                  "man --warnings -l docs/drukfs.1 renders without warnings",
                  "exit %d: %s" % (r.returncode, err[:2000]))
        except (OSError, subprocess.TimeoutExpired) as e:
            check(False, "man --warnings -l docs/drukfs.1", str(e))
    mandoc = shutil.which("mandoc")
    if not mandoc:
        skip("mandoc -T lint docs/drukfs.1", "mandoc is not installed")
        return
    r = subprocess.run([mandoc, "-T", "lint", "-W", "warning", MANPAGE],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=60)
    out = r.stdout.decode("utf-8", "replace").strip()
    check(r.returncode == 0 and not out,
          "mandoc -T lint -W warning docs/drukfs.1 is clean",
          "exit %d: %s" % (r.returncode, out[:2000]))


# ---- (e) README's opening ------------------------------------------------------------

def check_readme_start(readme):
    m = re.match(r"(.*?)^```[^\n]*\n(.*?)^```", readme, re.M | re.S)
    if not check(bool(m), "README.md has a code block"):
        return
    before = [ln for ln in m.group(1).split("\n") if ln.strip()]
    check(all(ln.startswith("#") for ln in before),
          "README.md opens with its code block (only the title before it)",
          "before it: %r" % before)
    commands = [ln for ln in m.group(2).split("\n")
                if ln.strip() and not ln.lstrip().startswith("#")]
    check(len(commands) == 2,
          "README.md's first code block holds exactly two commands",
          "it holds %d: %r" % (len(commands), commands))


def main():
    readme = read(README)
    source = read(MANPAGE)
    if readme is None or source is None:
        print("%d passed, %d failed" % (passed, failed))
        return 1
    man = Man(source)
    for name in ("NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "FILES",
                 "ERRORS", "ENVIRONMENT", "EXIT STATUS", "EXAMPLES",
                 "SEE ALSO"):
        check(name in man.sections, "drukfs.1 has a %s section" % name)
    help_out = help_text()
    if help_out is not None:
        check_options(help_out, readme, man)
    check_files(readme, man)
    check_errors(readme, man)
    check_render()
    check_readme_start(readme)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
