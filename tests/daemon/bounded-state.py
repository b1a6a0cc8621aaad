#!/usr/bin/env python3
"""
NAME
    bounded-state.py - what a stranger sends cannot make the daemon's memory grow with
    the number of header fields (issue 13, finding 2)

DESCRIPTION
    Starts the real daemon (Mode sv) and sends, as an MTA would, one inbound message
    with 200,000 empty DKIM-Signature fields (3.4 MB of header) and 20,000 forged
    Authentication-Results fields.  Before issue 13 every DKIM-Signature field kept a
    3.5 KB record and got its own Authentication-Results line: the daemon grew to
    836 MB and wrote 200,000 lines.  Checked: the growth of the daemon's peak RSS
    (VmHWM) stays under 64 MB; our Authentication-Results holds MaximumSignatures
    results for the fields plus one summary; every forged field is removed; the daemon
    still answers the next message.  AddressSanitizer's quarantine of freed memory is
    kept small for the daemon (ASAN_OPTIONS) so that RSS measures Signet, not ASan.
    Emits TAP.
"""
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "milter"))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import milterclient  # noqa: E402
from signettest import Tap, free_port, hwm_kb, wait_listening  # noqa: E402

TOP_BUILDDIR = os.environ.get("top_builddir", os.path.join(HERE, "..", ".."))
SIGNET = os.path.join(TOP_BUILDDIR, "milter", "signet")
AUTHSERV_ID = "mx.bounded.test"
SIGNATURE_FIELDS = 200000
FORGED_FIELDS = 2000
MAX_GROWTH_KB = 64 * 1024

tap = Tap()


def message(subject, signature_fields=0, forged_fields=0):
    head = b"DKIM-Signature:\r\n" * signature_fields
    head += (b"Authentication-Results: %s; dmarc=pass\r\n" % AUTHSERV_ID.encode()) * forged_fields
    return head + (b"From: Alice <alice@example.org>\r\nTo: bob@example.net\r\n"
                   b"Subject: %s\r\nMessage-ID: <%s@example.org>\r\n\r\nHello\r\n"
                   % (subject.encode(), subject.encode()))


def our_results(delivered):
    head = delivered.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    fields = re.split(r"\r\n(?![ \t])", head)
    ours = [f for f in fields
            if re.match(r"Authentication-Results:\s*%s;" % re.escape(AUTHSERV_ID), f, re.I)]
    return ours


def main():
    tmp = tempfile.mkdtemp(prefix="signet-bounded-")
    port = free_port()
    conf = os.path.join(tmp, "signet.conf")
    with open(conf, "w") as f:
        # No DNS server listens on port 9: lookups fail fast and count as temperror.
        f.write("Socket inet:%d@127.0.0.1\nMode sv\nAuthservID %s\nKeystore %s\n"
                "InternalHosts 127.0.0.1\nNameservers 127.0.0.1@9\nDNSTimeout 1\n"
                "DNSMessageTime 2\n" % (port, AUTHSERV_ID, tmp))
    env = dict(os.environ)
    env["ASAN_OPTIONS"] = (env.get("ASAN_OPTIONS", "") +
                           ":quarantine_size_mb=1:thread_local_quarantine_size_kb=64").lstrip(":")
    log = open(os.path.join(tmp, "signet.log"), "w")
    proc = subprocess.Popen([SIGNET, "-c", conf, "-f"], stderr=log, env=env)
    try:
        tap(wait_listening("inet:%d@127.0.0.1" % port, 30), "the daemon listens")
        spec = "inet:%d@127.0.0.1" % port
        with milterclient.Session(spec, timeout=300, body_crlf=True) as s:
            s.connect("192.0.2.10", helo="mail.example.org")
            warm = s.message(message("warm-up"), "alice@example.org", ["bob@example.net"])
        before = hwm_kb(proc.pid)
        with milterclient.Session(spec, timeout=600, body_crlf=True) as s:
            s.connect("192.0.2.10", helo="mail.example.org")
            big = s.message(message("many-fields", SIGNATURE_FIELDS, FORGED_FIELDS),
                            "alice@example.org", ["bob@example.net"])
        growth = hwm_kb(proc.pid) - before
        tap(warm.message is not None and big.message is not None,
            "both messages accepted", "actions %s, %s" % (warm.action, big.action))
        tap(growth < MAX_GROWTH_KB,
            "peak RSS grew %d kB with %d signature and %d forged fields (limit %d kB)"
            % (growth, SIGNATURE_FIELDS, FORGED_FIELDS, MAX_GROWTH_KB))
        ours = our_results(big.message or b"")
        dkim = re.findall(r"\bdkim=(\w+)", ours[0]) if len(ours) == 1 else []
        tap(len(ours) == 1, "exactly one Authentication-Results with our id remains",
            "got %d" % len(ours))
        tap(dkim == ["permerror"] * 10 + ["policy"],
            "ten dkim results for the first MaximumSignatures fields, one for the rest",
            "got %s" % dkim)
        tap(len(ours) == 1 and "%d more signatures not checked" % (SIGNATURE_FIELDS - 10)
            in ours[0], "the summary counts every field past the limit")
        with milterclient.Session(spec, timeout=60, body_crlf=True) as s:
            s.connect("192.0.2.10", helo="mail.example.org")
            after = s.message(message("after"), "alice@example.org", ["bob@example.net"])
        tap(after.message is not None and proc.poll() is None,
            "the daemon still answers the next message")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=70)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
    if tap.failed:
        with open(os.path.join(tmp, "signet.log")) as f:
            for line in f.read().splitlines()[-20:]:
                print("# " + line)
    tap.plan()
    return 1 if tap.failed else 0


if __name__ == "__main__":
    sys.exit(main())
