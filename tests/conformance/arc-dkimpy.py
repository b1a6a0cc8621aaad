#!/usr/bin/python3
# NAME
#	arc-dkimpy.py - chains sealed by dkimpy, validated by Signet (interoperability)
# SYNOPSIS
#	top_srcdir=... top_builddir=... tests/conformance/arc-dkimpy.py	(TAP on stdout)
# DESCRIPTION
#	The ARC suite (arc-suite.py) has fixed chains of 2017; this makes new ones with
#	another implementation: dkimpy's arc_sign, hop after hop (each hop first adds the
#	Authentication-Results its AAR copies), with an RSA-2048 key made here and served by
#	a private NSD (spf-suite.py's), and runs each message through
#	tests/conformance/arc-query, which validates it with milter/arcverify.c through
#	Signet's resolver.  dkimpy's own arc_verify must agree on the verdict, so that a
#	case tests Signet and not the way it was made.  Cases: chains of one to three
#	hops; the body changed by a hop before it seals (a pass, with oldest-pass naming the
#	first AMS that still verifies); the body changed after the last seal, a header field
#	the newest AMS signs changed, a seal removed (fails).
# DIAGNOSTICS
#	A missing tool (nsd, openssl, arc-query, dkimpy) is a failure, reported as
#	"Bail out!", never a skip.
import importlib
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), 'lib'))
spf = importlib.import_module('spf-suite')  # its NSD and zone writing
import signettest  # noqa: E402

BASE = (b'From: Alice <alice@example.org>\r\n'
        b'To: list@example.net\r\n'
        b'Subject: ARC between implementations\r\n'
        b'Date: Sun, 6 Dec 2026 10:00:00 +0000\r\n'
        b'Message-ID: <arc-dkimpy@example.org>\r\n'
        b'\r\n'
        b'Hello,  list.\r\n\r\nBye.\r\n')


def find_tools():
    query = signettest.built_program(os.path.join('tests', 'conformance', 'arc-query'))
    nsd = shutil.which('nsd') or '/usr/sbin/nsd'
    if not os.access(nsd, os.X_OK):
        signettest.bail('nsd not found (apt-get install nsd)')
    if shutil.which('openssl') is None:
        signettest.bail('openssl not found')
    try:
        import dkim
    except ImportError:
        signettest.bail('dkimpy missing (apt-get install python3-dkim)')
    return query, nsd, dkim


def make_key(directory):
    """(private key PEM, p= value) of a new RSA-2048 key."""
    path = os.path.join(directory, 'key.pem')
    subprocess.run(['openssl', 'genrsa', '-traditional', '-out', path, '2048'], check=True,
                   capture_output=True)
    der = subprocess.run(['openssl', 'rsa', '-in', path, '-pubout', '-outform', 'DER'],
                         check=True, capture_output=True).stdout
    import base64
    with open(path, 'rb') as f:
        return f.read(), base64.b64encode(der).decode('ascii')


def split(message):
    head, _, body = message.partition(b'\r\n\r\n')
    return head + b'\r\n', body


def hop(dkim, key, record, message, n, body=None):
    """The message after hop n: its A-R added (with dkimpy's verdict on the chain as it
    came, as a sealer must say it), then dkimpy's ARC Set on top."""
    head, old_body = split(message)
    authserv = b'hop%d.example.org' % n
    verdict = b''
    if n > 1:
        cv = dkim.arc_verify(message, dnsfunc=dns(record))[0]
        verdict = b'; arc=' + (cv or b'fail')
    head = b'Authentication-Results: ' + authserv + b'; spf=pass smtp.mailfrom=example.org' \
        + verdict + b'\r\n' + head
    message = head + b'\r\n' + (body if body is not None else old_body)
    fields = dkim.arc_sign(message, b'sel', b'example.org', key, authserv)
    if not fields:
        signettest.bail('dkimpy did not seal hop %d' % n)
    return b''.join(fields) + message


def dns(record):
    """dkimpy's lookup: the one key record."""
    return lambda name, timeout=5: record.encode() \
        if name == b'sel._domainkey.example.org.' else None


def drop_field(message, name, instance):
    """The message without the (folded) field name of that instance."""
    head, body = split(message)
    lines, out, skipping = head.split(b'\r\n'), [], False
    for line in lines:
        if line[:1] in (b' ', b'\t'):
            if not skipping:
                out.append(line)
            continue
        skipping = line.lower().startswith(name.lower() + b':') and \
            (b'i=%d;' % instance) in line.replace(b' ', b'')
        if not skipping:
            out.append(line)
    return b'\r\n'.join(out) + b'\r\n' + body


def cases(dkim, key, record):
    one = hop(dkim, key, record, BASE, 1)
    two = hop(dkim, key, record, one, 2)
    three = hop(dkim, key, record, two, 3)
    footer = hop(dkim, key, record, hop(dkim, key, record, one, 2,
                                        b'Hello,  list.\r\n\r\nBye.\r\n-- \r\nfooter\r\n'), 3)
    return [
        ('one_hop_passes', one, 'pass', '0'),
        ('two_hops_pass', two, 'pass', '0'),
        ('three_hops_pass', three, 'pass', '0'),
        ('a_footer_added_before_sealing_passes_with_oldest_pass_2', footer, 'pass', '2'),
        ('body_changed_after_the_last_seal_fails', three.replace(b'Bye.', b'Bye!'), 'fail',
         None),
        ('subject_changed_after_the_last_seal_fails',
         three.replace(b'Subject: ARC', b'Subject: ARC!'), 'fail', None),
        ('seal_2_removed_fails', drop_field(three, b'ARC-Seal', 2), 'fail', None),
    ]


def run(query, port, directory, name, message):
    path = os.path.join(directory, name + '.eml')
    with open(path, 'wb') as f:
        f.write(message)
    p = subprocess.run([query, '127.0.0.1', str(port), path], capture_output=True, timeout=60)
    lines = p.stdout.decode('utf-8', 'replace').split('\n') + ['', '', '']
    return (lines[0], lines[1], lines[2]) if p.returncode == 0 else \
        ('exit %d' % p.returncode, p.stderr.decode('utf-8', 'replace').strip(), '')


def main():
    query, nsd_binary, dkim = find_tools()
    number, failed = 0, 0
    with tempfile.TemporaryDirectory(prefix='signet-arc-dkimpy-') as directory:
        key, p = make_key(directory)
        record = 'v=DKIM1; k=rsa; p=' + p
        zone = spf.soa_lines('.') + ['ns.signet.test. IN A 127.0.0.1',
                                     'sel._domainkey.example.org. IN TXT %s' %
                                     spf.escape_strings(record)]
        spf.write_file(directory, 'root.zone', zone)
        nsd = spf.Nsd(nsd_binary, directory, [('.', 'root.zone')])
        try:
            for name, message, want, oldest in cases(dkim, key, record):
                got, reason, extra = run(query, nsd.port, directory, name, message)
                theirs = dkim.arc_verify(message, dnsfunc=dns(record))[0]
                theirs = theirs.decode() if theirs else 'fail'
                ok = got == want and theirs == want and \
                    (oldest is None or extra.startswith('oldest-pass=%s ' % oldest))
                number += 1
                failed += not ok
                print('%s %d - %s' % ('ok' if ok else 'not ok', number, name))
                if not ok:
                    print('#   got:  %s (%s) %s; dkimpy: %s' % (got, reason, extra, theirs))
                    print('#   want: %s%s' % (want, ', oldest-pass=' + oldest if oldest else ''))
        finally:
            nsd.stop()
    print('1..%d' % number)
    return 0


if __name__ == '__main__':
    sys.exit(main())
