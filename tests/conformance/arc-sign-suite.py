#!/usr/bin/python3
# NAME
#	arc-sign-suite.py - the ARC signing cases of the ValiMail suite against arcseal_make()
# SYNOPSIS
#	top_srcdir=... top_builddir=... tests/conformance/arc-sign-suite.py	(TAP on stdout)
#	SIGNET_CONFORMANCE_DIR=/path/to/conformance  to read the suite from elsewhere
# DESCRIPTION
#	For each case of arc/arc-draft-sign-tests.yml the message is sealed by
#	tests/conformance/arc-seal (arcseal_make()) with the case's key, d=, s=, t=,
#	sig-headers and srv-id, and the new set is compared with the expected one:
#
#	  - the ARC-Authentication-Results value, white space runs counted as one space;
#	  - every tag of the ARC-Message-Signature and the ARC-Seal but b= (a, bh, c, cv,
#	    d, h, i, s, t), white space inside values ignored; no tag missing or extra;
#	  - b=, by verification instead of by comparison.  The expected values were made by
#	    dkimpy in its "standardize" mode, which writes the tags in alphabetical order
#	    (b= second); Signet writes them in the order Gmail and dkimpy's usual mode do,
#	    b= last (milter/arcseal.c).  The signed form of an AMS or AS is the field itself
#	    with b= empty, so a different tag order is a different signature, valid all the
#	    same (RFC 6376 section 3.2: tag order has no meaning).  So dkimpy, an
#	    independent implementation, verifies Signet's sealed message: arc_verify() must
#	    say pass for a set sealed cv=none or cv=pass; for a set sealed cv=fail, which
#	    arc_verify() does not reach (it stops at a seal that says fail), dkimpy's
#	    verify_sig() checks the new AMS over the message and the new AS over the new set
#	    alone (RFC 8617 section 5.1.2).
#	  - a case that expects no set (a chain an earlier hop marked cv=fail, RFC 8617
#	    section 5.1.3) passes when arc-seal adds none.
#
#	Where the suite expects an empty AS, AMS and AAR, arc-seal must refuse (exit 3).
#
#	cv, the chain validation status Signet's validator would hand to arcseal_make(),
#	is taken from dkimpy's arc_verify() on the input message (an independent
#	validator; a chain that dkimpy finds already terminated by a cv=fail seal is
#	handed over as fail).  The A-R payload is built as the caller would: the results of
#	every Authentication-Results field whose authserv-id is srv-id, in order, joined
#	by "; ".  DNS for dkimpy comes from the case's txt-records through its dnsfunc
#	hook (no DNS server is involved: DNS is not what is tested here).
#
#	Cases Signet deliberately gets wrong would be listed in EXPECTED_FAILURES with the
#	RFC section that justifies it (TAP TODO); there are none.  The last line says how
#	many cases pass.
# DIAGNOSTICS
#	A missing tool (arc-seal, python3-dkim, python3-yaml) or suite file is a failure,
#	reported as "Bail out!", never a skip.
import os
import subprocess
import sys
import tempfile

EXPECTED_FAILURES = {}

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), 'lib'))
import signettest  # noqa: E402


def import_dkim():
    try:
        import dkim
        import dkim.util
    except ImportError:
        signettest.bail('python3-dkim missing (apt-get install python3-dkim)')
    return dkim


# ---- what the caller of arcseal_make() works out ----------------------------------

def header_fields(message):
    """[(name, value)] of the header, folds kept."""
    head = message.split('\n\n', 1)[0]
    fields = []
    for line in head.split('\n'):
        if line[:1] in (' ', '\t') and fields:
            fields[-1][1] += '\n' + line
        elif ':' in line:
            name, value = line.split(':', 1)
            fields.append([name, value])
    return fields


def results_payload(message, srv_id):
    """The results of our authserv-id's Authentication-Results fields, in order."""
    results = []
    for name, value in header_fields(message):
        if name.strip().lower() != 'authentication-results':
            continue
        value = value.strip()
        head, _, rest = value.partition(';')
        if head.strip().lower() != srv_id.lower():
            continue
        results += [r.strip() for r in rest.split(';') if r.strip()]
    return ';\n\t'.join(results)


def dnsfunc_for(records):
    table = {name.rstrip('.').lower() + '.': ''.join(value.split('\n')).strip()
             for name, value in records.items()}

    def dnsfunc(name, timeout=5):
        if isinstance(name, bytes):
            name = name.decode()
        return table.get(name.rstrip('.').lower() + '.', '').encode() or None
    return dnsfunc


def chain_status(dkim, message, dnsfunc):
    cv, _, reason = dkim.arc_verify(message.encode(), dnsfunc=dnsfunc)
    if cv is None:
        return 'fail', reason
    return cv.decode(), reason


# ---- comparing -----------------------------------------------------------------------

def squeeze(text):
    return ' '.join(text.split())


def tags(value):
    out = {}
    for spec in value.split(';'):
        if '=' in spec:
            name, v = spec.split('=', 1)
            out[name.strip()] = ''.join(v.split())
    return out


def new_set(sealed):
    """The first three fields of the sealed message, by name."""
    fields = header_fields(sealed)[:3]
    return {name.lower(): value for name, value in fields}


def compare_tags(what, got, want):
    g, w = tags(got), tags(want)
    g.pop('b', None)
    w.pop('b', None)
    diffs = ['%s %s=: got %r, want %r' % (what, k, g.get(k), w.get(k))
             for k in sorted(set(g) | set(w)) if g.get(k) != w.get(k)]
    return diffs


def verify_fail_set(dkim, sealed, dnsfunc, seal):
    """dkimpy's arc_verify() for the new AMS (it checks the newest set's AMS before it
    stops at a cv=fail seal) and its verify_sig() for the new AS over the new set alone,
    older ARC sets taken out of the message so that only ours are selected."""
    problems = []
    instance = int(tags(seal)['i'])
    _, results, _ = dkim.arc_verify(sealed.encode(), dnsfunc=dnsfunc)
    if not [r for r in results if r['instance'] == instance and r['ams-valid']]:
        problems.append('dkimpy does not verify the new ARC-Message-Signature')
    fields = header_fields(sealed)
    body = sealed.split('\n\n', 1)[1] if '\n\n' in sealed else ''
    arc = ('arc-seal', 'arc-message-signature', 'arc-authentication-results')
    kept = fields[:3] + [f for f in fields[3:] if f[0].strip().lower() not in arc]
    text = ''.join('%s:%s\n' % (n, v) for n, v in kept) + '\n' + body
    sig = dkim.util.parse_tag_value(seal.encode())
    sig.setdefault(b'c', b'relaxed/relaxed')
    try:
        ok = dkim.ARC(text.encode()).verify_sig(
            sig, [b'arc-authentication-results', b'arc-message-signature'],
            (b'ARC-Seal', seal.encode()), dnsfunc)
    except dkim.DKIMException as e:
        ok = False
        problems.append('dkimpy: %s' % e)
    if not ok:
        problems.append('dkimpy does not verify the new ARC-Seal over the new set alone')
    return problems


def run_case(dkim, sealer, keyfile, scenario, case):
    message = case['message']
    srv_id = case['srv-id']
    dnsfunc = dnsfunc_for(scenario['txt-records'])
    cv, reason = chain_status(dkim, message, dnsfunc)
    args = [sealer, '-d', scenario['domain'], '-s', scenario['sel'], '-k', keyfile,
            '-a', srv_id, '-c', cv, '-r', results_payload(message, srv_id),
            '-t', str(case['t']), '-h', case['sig-headers']]
    p = subprocess.run(args, input=message.encode(), capture_output=True, timeout=60)
    want_none = not (case.get('AS') or '').strip()
    err = p.stderr.decode('utf-8', 'replace').strip()
    if want_none:
        if p.returncode == 3 and not p.stdout:
            return []
        return ['a set was added (exit %d, %s) where none is expected' % (p.returncode, err)]
    if p.returncode != 0:
        return ['arc-seal exit %d: %s (cv %s: %s)' % (p.returncode, err, cv, reason)]
    sealed = p.stdout.decode('utf-8', 'replace')
    got = new_set(sealed)
    problems = []
    if squeeze(got.get('arc-authentication-results', '')) != squeeze(case['AAR']):
        problems.append('AAR: got %r, want %r' % (squeeze(got.get(
            'arc-authentication-results', '')), squeeze(case['AAR'])))
    problems += compare_tags('AMS', got.get('arc-message-signature', ''), case['AMS'])
    problems += compare_tags('AS', got.get('arc-seal', ''), case['AS'])
    sealed_cv = tags(got.get('arc-seal', '')).get('cv')
    if sealed_cv == 'fail':
        problems += verify_fail_set(dkim, sealed, dnsfunc, got['arc-seal'])
    else:
        result, _, why = dkim.arc_verify(sealed.encode(), dnsfunc=dnsfunc)
        if result != b'pass':
            problems.append('dkimpy arc_verify on the sealed message: %r (%s)' % (result, why))
    return problems


def main():
    suite = signettest.conformance_file(os.path.join('arc', 'arc-draft-sign-tests.yml'))
    sealer = signettest.built_program(os.path.join('tests', 'conformance', 'arc-seal'))
    dkim = import_dkim()
    scenarios = signettest.load_yaml_all(suite)
    count = passed = 0
    names = set()
    with tempfile.TemporaryDirectory(prefix='signet-arcsign-') as tmp:
        for number, scenario in enumerate(scenarios):
            keyfile = os.path.join(tmp, 'key%d.pem' % number)
            with open(keyfile, 'w') as f:
                f.write(scenario['privatekey'])
            for name, case in scenario['tests'].items():
                count += 1
                full = '%s/%s' % (scenario['description'].strip(), name)
                names.add(full)
                problems = run_case(dkim, sealer, keyfile, scenario, case)
                ok = not problems
                passed += ok
                line = '%s %d - %s' % ('ok' if ok else 'not ok', count, full)
                if full in EXPECTED_FAILURES:
                    line += ' # TODO ' + EXPECTED_FAILURES[full]
                print(line)
                for problem in problems:
                    print('#   ' + problem)
                sys.stdout.flush()
    unknown = [k for k in EXPECTED_FAILURES if k not in names]
    for k in unknown:
        count += 1
        print('not ok %d - expected failure %s names no case of the suite' % (count, k))
    print('1..%d' % count)
    print('# ARC signing suite: %d of %d cases pass' % (passed, count - len(unknown)))
    return 0


if __name__ == '__main__':
    sys.exit(main())
