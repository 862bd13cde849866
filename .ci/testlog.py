#!/usr/bin/env python3
"""Read a meson test log and say what it shows, in one line:

    testlog.py BUILD_DIR [--setup NAME] [--skips-allowed REGEX]
                         [--case-skips-allowed REGEX] [--label TEXT] [--all]

Prints "LABEL: N passed, M failed, K skipped" and the skipped tests. Fails
(exit 1) when no test ran, when a test failed, or when a test whose name
does not match REGEX was skipped (without --skips-allowed, none may be):
a skip is never counted as a pass. With --all the run was the whole suite:
every test the build defines must have a result (a crashed `meson test`
leaves some without).

A test that passed may have skipped some of its cases (cmocka's SKIPPED
line; tests/support/fixture.h, TEST_SKIP_UNLESS, prints "SKIP: CASE: WHY"
first). Those are listed as "TEST: CASE: WHY", counted apart from the
passes, and fail the run unless --case-skips-allowed REGEX matches that
text; a case skip without a reason fails it always."""
import argparse
import json
import os
import re
import sys

ap = argparse.ArgumentParser()
ap.add_argument('build')
ap.add_argument('--skips-allowed', default=None)
ap.add_argument('--case-skips-allowed', default=None)
ap.add_argument('--label', default=None)
ap.add_argument('--setup', default=None,
                help='the --setup the tests ran with (its own log)')
ap.add_argument('--all', action='store_true',
                help='the whole suite ran: every defined test has a result')
args = ap.parse_args()



def skipped_cases(r):
    """The cases a passing test skipped, as "TEST: CASE: WHY" (WHY None
    when the test gave no reason)."""
    out = (r.get('stdout') or '') + '\n' + (r.get('stderr') or '')
    why = dict(re.findall(r'^SKIP: (\S+): (.*)$', out, re.M))
    cases = []
    for case in re.findall(r'^\[  SKIPPED \] (\S+)$', out, re.M):
        if case not in cases:
            cases.append(case)
    return [(r['name'], c, why.get(c)) for c in cases]


path = os.path.join(args.build, 'meson-logs',
                    'testlog-%s.json' % args.setup if args.setup else 'testlog.json')
results = []
case_skips = []
if os.path.exists(path):
    with open(path) as fh:
        for line in fh:
            if line.strip():
                r = json.loads(line)
                results.append((r['name'], r['result']))
                if r['result'] == 'OK':
                    case_skips += skipped_cases(r)

ok = [n for n, r in results if r in ('OK', 'EXPECTEDFAIL')]
skipped = [n for n, r in results if r == 'SKIP']
failed = [n for n, r in results if r not in ('OK', 'EXPECTEDFAIL', 'SKIP')]
label = args.label or args.build
print('%s: %d passed (with %d cases skipped), %d failed, %d skipped' %
      (label, len(ok), len(case_skips), len(failed), len(skipped)))
for n in skipped:
    print('  skipped: ' + n)
cases = ['%s: %s: %s' % (n, c, w or '(no reason given)') for n, c, w in case_skips]
for c in cases:
    print('  case skipped: ' + c)
allowed = re.compile(args.skips_allowed) if args.skips_allowed else None
unexpected = [n for n in skipped if allowed is None or not allowed.search(n)]
case_allowed = (re.compile(args.case_skips_allowed)
                if args.case_skips_allowed else None)
unexpected += [c for (n, _, w), c in zip(case_skips, cases)
               if w is None or case_allowed is None or not case_allowed.search(c)]
for n in unexpected:
    print('  a skip this run must not have: ' + n)
for n in failed:
    print('  failed: ' + n)
missing = 0
if args.all:
    import subprocess
    defined = json.loads(subprocess.run(
        ['meson', 'introspect', args.build, '--tests'],
        check=True, capture_output=True, text=True).stdout)
    missing = len(defined) - len(results)
    if missing:
        print('  %d of the %d tests defined have no result' % (missing, len(defined)))
sys.exit(0 if results and not failed and not unexpected and not missing else 1)
