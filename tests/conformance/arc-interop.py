#!/usr/bin/python3
# NAME
#	arc-interop.py - ARC chains of 1, 2 and 3 hops, Signet sealing after dkimpy and
#	Mail::DKIM, verified by both
# SYNOPSIS
#	top_srcdir=... top_builddir=... tests/conformance/arc-interop.py	(TAP on stdout)
# DESCRIPTION
#	Keys are made for the run (openssl) and published by a private NSD on a loopback
#	port; both verifiers look them up there (dkimpy through tests/lib/verify-dkimpy.py's
#	dnsfunc, Mail::DKIM through Net::DNS in tests/lib/arc-verify-maildkim.pl).  Earlier hops are sealed
#	by dkimpy's arc_sign() and Mail::DKIM::ARC::Signer, each after adding its own
#	Authentication-Results with the arc= result of the chain it received; the last by
#	tests/conformance/arc-seal (arcseal_make()), given the chain status dkimpy's
#	arc_verify() finds (standing in for Signet's validator).  Then dkimpy's arc_verify()
#	and Mail::DKIM::ARC::Verifier must both say pass.  A chain where Signet's set sits
#	between two others checks that the next hop's tools accept it too; one with a
#	DKIM-Signature that the AMS signs; and a message changed after Signet sealed it
#	must fail with both.
#
#	Ed25519: dkimpy 1.1.4 lists only rsa-sha256 for ARC (its ARC_HASH_ALGORITHMS) and
#	Debian 12's Mail::DKIM has no ed25519-sha256 at all.  For the ed25519-sha256
#	chains this test adds ed25519-sha256 to dkimpy's ARC list, so that dkimpy's
#	RFC 8463 code checks Signet's fields; Mail::DKIM is not asked.
# DIAGNOSTICS
#	A missing tool (openssl, nsd, arc-seal, python3-dkim, python3-dnspython,
#	python3-nacl, libmail-dkim-perl) is a failure, never a skip.
import base64
import hashlib
import importlib.util
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SRCDIR = os.environ.get('top_srcdir') or os.path.dirname(os.path.dirname(HERE))
BUILDDIR = os.environ.get('top_builddir') or SRCDIR
sys.path.insert(0, os.path.join(SRCDIR, 'tests', 'lib'))
import signettest  # noqa: E402

SEALER = os.path.join(BUILDDIR, 'tests', 'conformance', 'arc-seal')
MAILDKIM_SEAL = os.path.join(SRCDIR, 'tests', 'lib', 'arc-sign-maildkim.pl')
MAILDKIM_VERIFY = os.path.join(SRCDIR, 'tests', 'lib', 'arc-verify-maildkim.pl')

MESSAGE = ('From: Alice <alice@origin.example>\n'
           'To: list@hop1.example\n'
           'Subject: ARC across three hops\n'
           'Date: Sun, 06 Dec 2026 18:00:00 +0000\n'
           'Message-ID: <arc-interop@origin.example>\n'
           'MIME-Version: 1.0\n'
           'Content-Type: text/plain\n'
           '\n'
           'Hello,\n'
           '  a body  with   runs of  blanks.\n'
           '\n')

# (domain, selector, key type)
KEYS = [('hop1.example', 'py', 'rsa'), ('hop2.example', 'pl', 'rsa'),
        ('signet.example', 'rsa', 'rsa'), ('signet.example', 'ed', 'ed25519')]


def load_verify_dkimpy():
    spec = importlib.util.spec_from_file_location(
        'verify_dkimpy', os.path.join(SRCDIR, 'tests', 'lib', 'verify-dkimpy.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(args, **kw):
    return subprocess.run(args, capture_output=True, timeout=120, **kw)


def make_key(tmp, domain, selector, kind):
    path = os.path.join(tmp, '%s.%s.pem' % (selector, domain))
    if kind == 'rsa':
        gen = run(['openssl', 'genrsa', '-traditional', '-out', path, '2048'])
    else:
        gen = run(['openssl', 'genpkey', '-algorithm', 'ed25519', '-out', path])
    der = run(['openssl', 'pkey', '-in', path, '-pubout', '-outform', 'DER'])
    if gen.returncode or der.returncode:
        raise RuntimeError('openssl: %s%s' % (gen.stderr.decode(), der.stderr.decode()))
    public = der.stdout if kind == 'rsa' else der.stdout[-32:]
    p = base64.b64encode(public).decode()
    txt = 'v=DKIM1; k=%s; p=%s' % (kind, p)
    chunks = ' '.join('"%s"' % txt[i:i + 250] for i in range(0, len(txt), 250))
    record = '%s._domainkey.%s. 5 IN TXT %s' % (selector, domain, chunks)
    return path, record


def add_ar(message, srv_id, chain):
    """The hop's own Authentication-Results, on top, as its inbound check writes it."""
    return ('Authentication-Results: %s; arc=%s;\n\tspf=pass smtp.mailfrom=origin.example\n'
            % (srv_id, chain)) + message


class Hops:
    def __init__(self, tmp, keys, dkim, dnsfunc):
        self.tmp, self.keys, self.dkim, self.dnsfunc = tmp, keys, dkim, dnsfunc

    def chain(self, message):
        cv, _, _ = self.dkim.arc_verify(message.encode(), dnsfunc=self.dnsfunc)
        return 'fail' if cv is None else cv.decode()

    def dkimpy(self, message):
        srv = 'hop1.example'
        message = add_ar(message, srv, self.chain(message))
        with open(self.keys[(srv, 'py')], 'rb') as f:
            key = f.read()
        fields = self.dkim.arc_sign(message.encode(), b'py', srv.encode(), key, srv.encode(),
                                    include_headers=[b'from', b'to', b'subject', b'date',
                                                     b'message-id'])
        if not fields:
            raise RuntimeError('dkimpy added no ARC set')
        return b''.join(fields).decode().replace('\r\n', '\n') + message

    def maildkim(self, message):
        srv = 'hop2.example'
        message = add_ar(message, srv, self.chain(message))
        path = self.write('in-maildkim.eml', message)
        p = run(['perl', MAILDKIM_SEAL, self.keys[(srv, 'pl')], srv, 'pl', srv, path])
        if p.returncode:
            raise RuntimeError('Mail::DKIM: %s' % p.stderr.decode().strip())
        return p.stdout.decode().replace('\r\n', '\n')

    def signet(self, message, selector):
        path = self.write('in-signet.eml', message)
        p = run([SEALER, '-d', 'signet.example', '-s', selector, '-k',
                 self.keys[('signet.example', selector)], '-a', 'mx.signet.example',
                 '-c', self.chain(message), '-r',
                 'spf=pass smtp.mailfrom=origin.example;\n\tdkim=none', path])
        if p.returncode:
            raise RuntimeError('arc-seal exit %d: %s' % (p.returncode, p.stderr.decode()))
        return p.stdout.decode()

    def dkim_signature(self, message):
        """A DKIM-Signature by hop1, which the next AMS must sign (RFC 8617 4.1.2)."""
        with open(self.keys[('hop1.example', 'py')], 'rb') as f:
            key = f.read()
        field = self.dkim.sign(message.encode(), b'py', b'hop1.example', key,
                               include_headers=[b'from', b'to', b'subject'])
        return field.decode().replace('\r\n', '\n') + message

    def write(self, name, text):
        path = os.path.join(self.tmp, name)
        with open(path, 'w') as f:
            f.write(text)
        return path


def tamper(message):
    return message.replace('runs of  blanks', 'runs of  changes')


def check(tap, hops, port, name, steps, ed25519=False):
    message = MESSAGE
    try:
        for step in steps:
            message = step(message)
    except (RuntimeError, subprocess.TimeoutExpired) as e:
        tap(False, '%s: sealed' % name, str(e))
        return
    want = b'fail' if steps[-1] is tamper else b'pass'
    cv, results, why = hops.dkim.arc_verify(message.encode(), dnsfunc=hops.dnsfunc)
    tap(cv == want, '%s: dkimpy arc_verify says %s' % (name, want.decode()),
        '%r %s %r\n%s' % (cv, why, results, message))
    if ed25519:
        return
    path = hops.write('%s.eml' % name.replace(' ', '-'), message)
    p = run(['perl', MAILDKIM_VERIFY, '127.0.0.1', str(port), path])
    tap(p.stdout.decode().split(' ')[0].strip() == want.decode(),
        '%s: Mail::DKIM says %s' % (name, want.decode()), (p.stdout + p.stderr).decode() +
        message)


def scenarios(hops):
    py, pl, dk = hops.dkimpy, hops.maildkim, hops.dkim_signature

    def signet(selector):
        return lambda m: hops.signet(m, selector)
    rsa, ed = signet('rsa'), signet('ed')
    return [
        ('1 hop signet rsa', [rsa], False),
        ('2 hops dkimpy signet rsa', [py, rsa], False),
        ('2 hops maildkim signet rsa', [pl, rsa], False),
        ('3 hops dkimpy maildkim signet rsa', [py, pl, rsa], False),
        ('3 hops maildkim dkimpy signet rsa', [pl, py, rsa], False),
        ('3 hops dkimpy signet maildkim', [py, rsa, pl], False),
        ('3 hops signet dkimpy signet', [rsa, py, rsa], False),
        ('dkim-signature then 2 hops dkimpy signet', [dk, py, rsa], False),
        ('2 hops dkimpy signet then a changed body', [py, rsa, tamper], False),
        ('1 hop signet ed25519', [ed], True),
        ('3 hops dkimpy maildkim signet ed25519', [py, pl, ed], True),
        ('1 hop signet ed25519 then a changed body', [ed, tamper], True),
    ]


def main():
    tap = signettest.Tap(max_diag=60)
    try:
        import dkim
        dnsfunc = load_verify_dkimpy().nsd_dnsfunc('127.0.0.1', 0)
    except ImportError as e:
        print('Bail out! %s (apt-get install python3-dkim python3-dnspython python3-nacl)'
              % e)
        return 1
    if not os.access(SEALER, os.X_OK):
        print('Bail out! %s not built (make check builds it)' % SEALER)
        return 1
    # Lets dkimpy's RFC 8463 code check the ed25519-sha256 ARC fields (see DESCRIPTION).
    dkim.ARC_HASH_ALGORITHMS.setdefault(b'ed25519-sha256', hashlib.sha256)
    tmp = tempfile.mkdtemp(prefix='signet-arcinterop-')
    pid = None
    try:
        keys, records = {}, []
        for domain, selector, kind in KEYS:
            keys[(domain, selector)], record = make_key(tmp, domain, selector, kind)
            records.append(record)
        zone = os.path.join(tmp, 'records.txt')
        with open(zone, 'w') as f:
            f.write('\n'.join(records) + '\n')
        port, pid = signettest.start_nsd(tmp, {'example': zone})
        dnsfunc = load_verify_dkimpy().nsd_dnsfunc('127.0.0.1', port)
        hops = Hops(tmp, keys, dkim, dnsfunc)
        for name, steps, ed25519 in scenarios(hops):
            check(tap, hops, port, name, steps, ed25519)
    except (RuntimeError, OSError) as e:
        tap(False, 'test set-up', str(e))
    finally:
        if pid is not None:
            os.kill(pid, 15)
    return tap.plan_and_clean(tmp)


if __name__ == '__main__':
    sys.exit(main())
