#!/usr/bin/python3
# NAME
#	arc-suite.py - the ARC validation suite (ValiMail arc_test_suite) against Signet's validator
# SYNOPSIS
#	top_srcdir=... top_builddir=... tests/conformance/arc-suite.py	(TAP on stdout)
#	SIGNET_CONFORMANCE_DIR=/path/to/conformance  to read the suite from elsewhere
# DESCRIPTION
#	The key records of every scenario of arc/arc-draft-validation-tests.yml (they agree
#	where they share a name) are written as one zone and served by a private NSD on a
#	loopback port, as spf-suite.py serves the SPF suite; every case's message is run
#	through tests/conformance/arc-query, which validates it with milter/arcverify.c,
#	looking keys up through Signet's resolver forwarding to that NSD.
#
#	A case is "ok" when arc-query prints the case's cv (Pass, Fail, None; the suite's
#	empty cv is dkimpy's "the chain has ended", for a seal saying cv=fail).  Cases where
#	Signet follows RFC 8617 (or RFC 6376, which it imports) rather than the draft-era
#	suite are listed in EXPECTED_FAILURES with the section that justifies it, and
#	reported as TAP TODO; one of them that passes is reported too, so the list stays
#	honest.  The last line says how many cases pass.
# DIAGNOSTICS
#	A missing tool (nsd, arc-query, python3-yaml) or suite file is a failure, reported
#	as "Bail out!", never a skip.  When NSD does not start, its log is shown.
import concurrent.futures
import importlib
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), 'lib'))
spf = importlib.import_module('spf-suite')  # its NSD and zone writing
import signettest  # noqa: E402

# "scenario/case" -> why Signet's answer differs, with the RFC section.
EXPECTED_FAILURES = {
    'Chain Validation/cv_fail_i1_as_cv_fail':
        'the suite wants no verdict (dkimpy: "the chain has ended"); RFC 8617 section 5.2 '
        'step 2: a newest seal saying cv=fail makes the chain fail, and A-R registers only '
        'none, pass and fail for arc (section 10.1)',
    'Chain Validation/cv_fail_i2_as2_fail':
        'the suite wants no verdict; RFC 8617 section 5.2 step 2: the newest seal says '
        'cv=fail, so the chain fails',
    'Chain Validation/cv_fail_i2_as1_fail':
        'the suite wants no verdict; RFC 8617 section 5.2 step 3.3: a seal saying cv=fail '
        'fails the chain',
    'Arc Message Signature Fields/ams_fields_c_na':
        'the AMS has no c= and was signed relaxed/relaxed (dkimpy\'s ARC default); RFC 8617 '
        'section 4.1.2 gives the AMS the semantics of DKIM-Signature, whose c= defaults '
        'to simple/simple (RFC 6376 section 3.5)',
    'Arc Message Signature Fields/ams_fields_h_empty':
        'an empty h= is not the sig-h-tag of RFC 6376 section 3.5 (one field name at '
        'least), and an AMS that does not sign From is ignored (RFC 6376 section 6.1.1, '
        'imported by RFC 8617 section 4.1.2): the newest AMS fails, so the chain does',
    'Arc Message Signature Fields/ams_fields_h_mis_hdr':
        'h= with an empty name ("to::date") is not the sig-h-tag of RFC 6376 section 3.5 '
        '(hdr-name is 1*ftext); the newest AMS is malformed, so the chain fails '
        '(RFC 8617 section 5.2 step 4)',
}



def wanted(case):
    """The suite's cv, lower case; "" (no verdict) stays "", which arc-query never prints."""
    return str(case['cv']).strip().lower()


def key_records(scenarios):
    """name -> record text, one for all scenarios; a name given two texts is an error."""
    records = {}
    for scenario in scenarios:
        for name, text in (scenario.get('txt-records') or {}).items():
            text = ' '.join(text.split())
            if records.get(name, text) != text:
                signettest.bail('the scenarios publish two records at %s' % name)
            records[name] = text
    return records


def write_zone(records, directory):
    zone = spf.soa_lines('.') + ['ns.signet.test. IN A 127.0.0.1']
    for name, text in sorted(records.items()):
        zone.append('%s IN TXT %s' % (spf.escape_name(name), spf.escape_strings(text)))
    spf.write_file(directory, 'root.zone', zone)
    return [('.', 'root.zone')]


def run_case(query, port, directory, key, message):
    path = os.path.join(directory, 'case-%d.eml' % key)
    with open(path, 'w') as f:
        f.write(message)
    try:
        p = spf.subprocess.run([query, '127.0.0.1', str(port), path], capture_output=True,
                               timeout=60)
    except spf.subprocess.TimeoutExpired:
        return 'timeout', ''
    if p.returncode != 0:
        return 'exit %d' % p.returncode, p.stderr.decode('utf-8', 'replace').strip()
    out = p.stdout.decode('utf-8', 'replace').split('\n')
    return out[0], out[1] if len(out) > 1 else ''


def main():
    suite = signettest.conformance_file(os.path.join('arc', 'arc-draft-validation-tests.yml'))
    query = signettest.built_program(os.path.join('tests', 'conformance', 'arc-query'))
    nsd_binary = spf.shutil.which('nsd') or '/usr/sbin/nsd'
    if not os.access(nsd_binary, os.X_OK):
        signettest.bail('nsd not found (apt-get install nsd)')
    scenarios = signettest.load_yaml_all(suite)
    cases = [('%s/%s' % (s['description'].strip(), name), case)
             for s in scenarios for name, case in s['tests'].items()]
    with tempfile.TemporaryDirectory(prefix='signet-arc-') as directory:
        nsd = spf.Nsd(nsd_binary, directory, write_zone(key_records(scenarios), directory))
        try:
            with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
                futures = [pool.submit(run_case, query, nsd.port, directory, i,
                                       case.get('message') or '')
                           for i, (_, case) in enumerate(cases)]
                results = [f.result() for f in futures]
        finally:
            nsd.stop()
    passed, number = 0, 0
    for (full, case), (got, reason) in zip(cases, results):
        want = wanted(case)
        ok = got == want
        passed += ok
        number += 1
        todo = EXPECTED_FAILURES.get(full)
        line = '%s %d - %s' % ('ok' if ok else 'not ok', number, full)
        if todo and not ok:
            line += ' # TODO ' + todo
        print(line)
        if not ok or todo:
            print('#   got:  %s (%s)' % (got, reason))
            print('#   want: %s (cv %s in the YAML)' % (want or '(no verdict)',
                                                   repr(str(case['cv']).strip())))
    names = [full for full, _ in cases]
    for k in EXPECTED_FAILURES:
        if k not in names:
            number += 1
            print('not ok %d - expected failure %s names no case of the suite' % (number, k))
        elif results[names.index(k)][0] == wanted(cases[names.index(k)][1]):
            number += 1
            print('not ok %d - expected failure %s passes now: take it off the list' % (number, k))
    print('1..%d' % number)
    print('# ARC suite: %d of %d cases pass' % (passed, len(cases)))
    return 0


if __name__ == '__main__':
    sys.exit(main())
