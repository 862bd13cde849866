#!/usr/bin/env python3
"""The manual pages of section 3 against include/syssem.h, the contract.

    pages.py aliases MANDIR          "ALIAS.3 PAGE.3" for every function a
                                     page names besides its own: the
                                     symbolic links man/meson.build installs
    pages.py check HEADER MANDIR     exit 1, saying why, unless:

  - every function the header declares (SYSSEM_EXTERN) is named by exactly
    one page (in its NAME section), and every function a page names is
    declared;
  - the page's SYNOPSIS declares each of them as the header does (the same
    text, spacing aside);
  - the codes (SYSSEM_E...) that the page's RETURN VALUE and ERRORS sections
    list are exactly the codes the header's comments give for the page's
    functions: those from the comment's last "Returns" (or "returns:") on.
    There "any code that syssem_f() returns" or "the codes of syssem_f()"
    brings in f's codes, unless a list in parentheses follows and says
    which.

The header stays the one place where the contract is written; this keeps
the pages from drifting away from it."""
import os
import re
import sys

CODE = re.compile(r'\bSYSSEM_E[A-Z]+\b')


def header_functions(path):
    """{name: (declaration, comment)} of the SYSSEM_EXTERN functions."""
    text = open(path, encoding='utf-8').read()
    out = {}
    pat = re.compile(r'(/\*(?:(?!\*/).)*\*/)\s*SYSSEM_EXTERN\s+([^;]*?\b(syssem_\w+)\s*\([^;]*\));',
                     re.S)
    for m in pat.finditer(text):
        comment, decl, name = m.group(1), m.group(2), m.group(3)
        # Only the comment right above: the last /* ... */ before the decl.
        comment = comment[comment.rfind('/*'):]
        # One line of text: no line breaks, no leading " * ".
        comment = re.sub(r'\n\s*\*(?!/)\s?', ' ', comment)
        out[name] = (decl, comment)
    return out


def squeeze(s):
    return re.sub(r'\s+', '', s)


def codes_of(name, funcs, seen=None):
    seen = seen or set()
    if name in seen:
        return set()
    seen.add(name)
    comment = funcs[name][1]
    # What it returns: from the comment's last "Returns" (or "returns:") on;
    # codes named before that belong to other calls.
    starts = [m.start() for m in re.finditer(r'\bReturns\b|\breturns:', comment)]
    comment = comment[starts[-1]:] if starts else ''
    codes = set(CODE.findall(comment))
    for m in re.finditer(r'(?:any code that|codes of)\s+(syssem_\w+)\(\)(?:\s+returns)?(\s*\()?',
                         comment):
        if m.group(2) is None and m.group(1) in funcs:
            codes |= codes_of(m.group(1), funcs, seen)
    return codes


def roff_text(lines):
    """The text of roff lines: requests' arguments unquoted, escapes of
    hyphens and the like undone."""
    out = []
    for line in lines:
        if line.startswith('.\\"'):
            continue
        m = re.match(r'\.(?:B|I|BI|IB|BR|RB|IR|RI)\s+(.*)$', line)
        if m:
            words = re.findall(r'"([^"]*)"|(\S+)', m.group(1))
            line = ''.join(a or b for a, b in words)
        elif line.startswith('.'):
            continue
        out.append(line.replace('\\-', '-').replace('\\e', '\\'))
    return '\n'.join(out)


def sections(path):
    """{section name: [lines]} of a page."""
    secs, cur = {}, None
    for line in open(path, encoding='utf-8').read().splitlines():
        m = re.match(r'\.SH\s+"?([^"]*)"?$', line)
        if m:
            cur = m.group(1).strip()
            secs[cur] = []
        elif cur is not None:
            secs[cur].append(line)
    return secs


def full_pages(mandir):
    """{page file: (names in NAME, sections)} of the section 3 pages that are
    not links."""
    pages = {}
    for f in sorted(os.listdir(mandir)):
        path = os.path.join(mandir, f)
        if not f.endswith('.3') or os.path.islink(path):
            continue
        secs = sections(path)
        name_text = roff_text(secs.get('NAME', [])).split(' - ')[0]
        names = [n.strip() for n in name_text.replace('\n', ' ').split(',')]
        pages[f] = ([n for n in names if n], secs)
    return pages


def aliases(mandir):
    for page, (names, _) in full_pages(mandir).items():
        for n in names:
            if n + '.3' != page:
                print(n + '.3', page)


def check(header, mandir):
    funcs = header_functions(header)
    if len(funcs) < 18:
        sys.exit('pages.py: found only %d functions in %s' % (len(funcs), header))
    problems = []
    named = {}
    for page, (names, secs) in full_pages(mandir).items():
        declared = [n for n in names if n in funcs]
        if page == 'syssem.3':
            continue  # the overview
        for n in names:
            if n not in funcs:
                problems.append('%s names %s, which the header does not declare'
                                % (page, n))
            named.setdefault(n, []).append(page)
        synopsis = squeeze(roff_text(secs.get('SYNOPSIS', [])))
        for n in declared:
            if squeeze(funcs[n][0]) + ';' not in synopsis:
                problems.append('%s: SYNOPSIS does not declare %s as the header does: %s;'
                                % (page, n, ' '.join(funcs[n][0].split())))
        want = set()
        for n in declared:
            want |= codes_of(n, funcs)
        listed = set(CODE.findall(roff_text(secs.get('RETURN VALUE', []) +
                                            secs.get('ERRORS', []))))
        for c in sorted(want - listed):
            problems.append('%s: RETURN VALUE/ERRORS lack %s, which the header gives for %s'
                            % (page, c, ', '.join(n for n in declared if c in codes_of(n, funcs))))
        for c in sorted(listed - want):
            problems.append('%s: RETURN VALUE/ERRORS list %s, which the header gives none of %s'
                            % (page, c, ', '.join(declared)))
    for n in sorted(funcs):
        if n not in named:
            problems.append('no page names %s' % n)
        elif len(named[n]) > 1:
            problems.append('%s is named by %s' % (n, ', '.join(named[n])))
    for p in problems:
        print(p)
    print('%d functions, %d pages: %s' % (len(funcs), len(full_pages(mandir)),
                                          'ok' if not problems else
                                          '%d problems' % len(problems)))
    return 1 if problems else 0


if __name__ == '__main__':
    if len(sys.argv) == 3 and sys.argv[1] == 'aliases':
        aliases(sys.argv[2])
    elif len(sys.argv) == 4 and sys.argv[1] == 'check':
        sys.exit(check(sys.argv[2], sys.argv[3]))
    else:
        sys.exit(__doc__)
