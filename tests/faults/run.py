#!/usr/bin/python3
"""
NAME
    run.py - fault injection: hostile DNS, an MTA that misbehaves, a process in trouble;
    each fault has a documented outcome and the daemon serves the next message after it
    (issue 15, item 2)

DESCRIPTION
    Starts the real daemon (built with the sanitizers), a hostile DNS server
    (hostiledns.py) as its only nameserver, and talks to it as an MTA would
    (tests/milter/milterclient.py).  Inbound messages come from 192.0.2.10 for a domain D
    (MAIL FROM alice@D, HELO mail.D, From alice@D), DKIM-signed by dkimpy; D publishes
    its key, "v=spf1 ip4:192.0.2.10 -all" and "v=DMARC1; p=reject", each answered with
    D's fault.  The daemon runs with DMARCEnforce yes, DNSErrorAction tempfail,
    OnInternalError tempfail, DNSTimeout 1, DNSMessageTime 3; the "server down" daemon
    with DNSErrorAction accept.  After every fault a normal message (ok.test: dkim, spf
    and dmarc pass, accepted) must go through; at the end no daemon's stderr holds an
    AddressSanitizer, LeakSanitizer or UndefinedBehaviorSanitizer report.  Nothing here
    is discarded, rejected or answered 5xx because of a fault.

    Case                                 Outcome checked
    ---------------------------------    ---------------------------------------------------
    DNS server down (nothing listens)    accepted (DNSErrorAction accept); dkim, spf, dmarc
                                         temperror; outbound mail still signed
    DNS answer slower than DNSTimeout    tempfail 451 4.7.1; dkim, spf, dmarc temperror
    DNS never answers (UDP nor TCP)      tempfail 451 4.7.1; temperror
    DNS answers garbage (right ID)       tempfail 451 4.7.1; temperror
    TC set, TCP closed unread            tempfail 451 4.7.1; temperror
    TC set, TCP never answers            tempfail 451 4.7.1; temperror (run alone: while
                                         it holds libunbound's TCP connections, other
                                         names' TCP fallbacks to that server wait too)
    TC set, TCP answers                  accepted; dkim, spf, dmarc pass
    oversized: TC, 32 kB answer on TCP   accepted; pass (junk TXT records beside the SPF and
                                         DMARC records are ignored; padding in the
                                         additional section of the key answer)
    oversized: 9 kB over UDP, TC clear   accepted; pass (the key answer's 9 kB of
                                         additional records are not counted against the
                                         key's bounds; they made the key a permerror once)
    CNAME loop                           tempfail 451 4.7.1; temperror
    one domain hangs, others flow        five ok.test messages on other connections are
                                         accepted (pass) while the hung one is in flight;
                                         it then ends tempfail, temperror
    MTA hangs up mid-header, mid-body,   the daemon ends the session quietly and serves
    inside a packet (header, body,       the next connection; the inbound verdict reached
    length prefix), between messages    after the MTA left is logged, not a crash
    (with and without ABORT), right
    after end-of-message (outbound; and
    inbound while its DNS is slow)
    a 1 MB header line                   the milter engine (Signet's or libmilter)
                                         refuses a command over 64 kB (libmilter's
                                         MILTER_MAX_DATA_SIZE): it closes the connection
                                         without a reply; the MTA applies its own default
                                         (Postfix: milter_default_action = tempfail)
    10,000 header fields                 tempfail 451 4.3.0 whatever OnInternalError says
                                         (an accept would let anyone pass DMARCEnforce by
                                         padding a forged header): past
                                         MSGHEADERS_MAX_FIELDS (1000) From is not read,
                                         dmarc=permerror; dkim, spf pass.  It was a
                                         550 5.7.1 reject under DMARCEnforce before
    NUL and 8-bit bytes in header        accepted, dkim/spf/dmarc pass (UTF-8 Subject
    values, raw packets with a NUL in    signed; what follows a NUL is not seen)
    the name or an 8-bit name
    header packets with an empty name,   the engine closes the connection (malformed
    no final NUL, no value, no bytes     command), no verdict; the daemon serves on
    100 MB body, outbound and inbound    signed / verified (dkim=fail: the body was added
                                         after signing; dmarc pass by SPF); peak RSS
                                         (VmHWM) grows less than 32 MB (measured: ~1 MB)
    key file deleted, then corrupted,    keeps signing with the key loaded at start; the
    while running                        signature verifies (dkimpy)
    SIGHUP with that corrupted key       reload refused, the log says why (keystore: ...),
                                         the old key still signs
    SIGHUP with a config of garbage      reload refused, the log names the file; serves
    bytes, then with the config deleted  on; the repaired config reloads
    file descriptors: RLIMIT_NOFILE 64,  the daemon fills its table and runs (the engine
    100 connections at once              retries accept() on EMFILE); every connection is
                                         served once others close, then a normal message
                                         passes and outbound mail is signed

    Emits TAP.  Run time about 30 s.  Needs dkimpy (python3-dkim), dnspython,
    openssl; a missing one fails the test, nothing is skipped.
"""
import base64
import concurrent.futures
import os
import re
import resource
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "milter"))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import milterclient  # noqa: E402
from signettest import Daemon, Tap, free_port, hwm_kb, wait_listening  # noqa: E402

TOP_BUILDDIR = os.environ.get("top_builddir", os.path.join(HERE, "..", ".."))
KEYS_TOOL = os.path.join(TOP_BUILDDIR, "keys", "signet-keys")
AUTHSERV_ID = "mx.faults.test"
CLIENT = "192.0.2.10"
SELECTOR = "sel"
OUT_DOMAIN, OUT_SELECTOR = "out.test", "fsel"
BIG_BODY = 100 * 1024 * 1024
MAX_BODY_GROWTH_KB = 32 * 1024
FD_LIMIT = 64
SANITIZER_REPORT = re.compile(r"ERROR: (Address|Leak|Thread)Sanitizer|runtime error:")

# Domain -> the fault its names meet (hostiledns.py); ok.test answers normally.
DNS_FAULTS = {
    "slow.test": "slow", "hang.test": "hang", "garbage.test": "garbage",
    "tcclose.test": "tc-close", "tchang.test": "tc-hang", "tcgood.test": "tc-good",
    "big.test": "oversized", "bigudp.test": "oversized-udp", "loop.test": "cname-loop",
    "stuck.test": "hang",
}
TEMPERROR = {"dkim": ["temperror"], "spf": ["temperror", "temperror"],
             "dmarc": ["temperror"]}
PASS = {"dkim": ["pass"], "spf": ["pass", "pass"], "dmarc": ["pass"]}
DNS_EXPECT = {   # domain: (action, results)
    "slow.test": ("tempfail", TEMPERROR), "hang.test": ("tempfail", TEMPERROR),
    "garbage.test": ("tempfail", TEMPERROR), "tcclose.test": ("tempfail", TEMPERROR),
    "tchang.test": ("tempfail", TEMPERROR), "tcgood.test": ("accept", PASS),
    "big.test": ("accept", PASS), "bigudp.test": ("accept", PASS),
    "loop.test": ("tempfail", TEMPERROR),
}

tap = Tap(max_diag=40)


def need_tools():
    missing = []
    try:
        import dkim  # noqa: F401
        import dns.message  # noqa: F401
    except ImportError as e:
        missing.append("python module %s (python3-dkim, python3-dnspython)" % e.name)
    for tool in ("openssl", KEYS_TOOL, os.path.join(TOP_BUILDDIR, "milter", "signet")):
        if shutil.which(tool) is None:
            missing.append(tool)
    return missing


# ---- keys, records, messages ---------------------------------------------------------
class World:
    """The inbound key, the keystore, the DNS data and the hostile server."""

    def __init__(self, tmp):
        import hostiledns
        pem = os.path.join(tmp, "TEST-ONLY-inbound.pem")
        subprocess.run(["openssl", "genrsa", "-traditional", "-out", pem, "2048"],
                       check=True, capture_output=True)
        der = subprocess.run(["openssl", "rsa", "-in", pem, "-pubout", "-outform", "DER"],
                             check=True, capture_output=True).stdout
        with open(pem, "rb") as f:
            self.private = f.read()
        self.store = os.path.join(tmp, "keys")
        keys(self.store, "generate", OUT_DOMAIN, "-a", "ed25519", "-s", OUT_SELECTOR)
        keys(self.store, "activate", OUT_DOMAIN, OUT_SELECTOR, "--force")
        self.key_file = os.path.join(self.store, OUT_DOMAIN, OUT_SELECTOR + ".key")
        out_record = re.search(r'"(.*)"', keys(self.store, "dns", OUT_DOMAIN,
                                                OUT_SELECTOR)).group(1)
        key_txt = "v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode()
        self.records = {"%s._domainkey.%s." % (OUT_SELECTOR, OUT_DOMAIN): [("TXT", out_record)]}
        for domain in ["ok.test"] + list(DNS_FAULTS):
            self.records.update({
                domain + ".": [("TXT", "v=spf1 ip4:%s -all" % CLIENT)],
                "mail.%s." % domain: [("TXT", "v=spf1 ip4:%s -all" % CLIENT)],
                "%s._domainkey.%s." % (SELECTOR, domain): [("TXT", key_txt)],
                "_dmarc.%s." % domain: [("TXT", "v=DMARC1; p=reject")],
            })
        self.dns = hostiledns.HostileDns(self.records,
                                         {d + ".": f for d, f in DNS_FAULTS.items()})

    def inbound(self, domain, subject, extra=b"", body=b"Hello Bob,\r\n\r\nAlice\r\n",
                subject_bytes=None):
        import dkim
        head = (b"From: Alice <alice@%s>\r\nTo: Bob <bob@example.net>\r\n"
                b"Subject: %s\r\nDate: Fri, 27 Nov 2026 08:00:00 +0000\r\n"
                b"Message-ID: <%s@%s>\r\n" % (domain.encode(), subject_bytes or
                                              subject.encode(), subject.encode(),
                                              domain.encode()))
        msg = head + b"\r\n" + body
        sig = dkim.sign(msg, SELECTOR.encode(), domain.encode(), self.private,
                        include_headers=[b"from", b"to", b"subject", b"date", b"message-id"])
        return sig + head + extra + b"\r\n" + body

    def verify_outbound(self, delivered):
        import dkim

        def lookup(name, timeout=5):
            recs = self.records.get(name.decode().lower(), [])
            return recs[0][1].encode() if recs else None
        return dkim.verify(delivered, dnsfunc=lookup)


def keys(store, *args):
    return subprocess.run([KEYS_TOOL, "-k", store] + list(args), capture_output=True,
                          text=True, check=True).stdout.strip()


def outbound(subject, body=b"Hello\r\n"):
    return (b"From: Ops <ops@%s>\r\nTo: x@example.net\r\nSubject: %s\r\n"
            b"Date: Fri, 27 Nov 2026 08:00:00 +0000\r\nMessage-ID: <%s@%s>\r\n\r\n"
            % (OUT_DOMAIN.encode(), subject.encode(), subject.encode(),
               OUT_DOMAIN.encode())) + body


def our_results(res):
    """{method: [result, ...]} from the Authentication-Results the daemon inserted."""
    for _, name, value in res.inserted:
        if name.lower() == "authentication-results" and \
                value.strip().startswith(AUTHSERV_ID + ";"):
            found = {}
            for method, result in re.findall(r"(?:^|[\s;])(dkim|spf|dmarc)=(\w+)", value):
                found.setdefault(method, []).append(result)
            return found
    return None


def signatures(res):
    return [v for _, name, v in res.inserted if name.lower() == "dkim-signature"]


# ---- talking to the daemon -----------------------------------------------------------
class Hangup(Exception):
    pass


class FaultySession(milterclient.Session):
    """An MTA that misbehaves at one chosen point.

    cut = (command, n, partial): at the n-th packet of that command the session writes
    only `partial` bytes of it (counting any macro packets queued before it; None: all
    of it) and closes the socket, raising Hangup.  extra_headers: raw SMFIC_HEADER
    payloads sent before the message's first header field.  stream = (chunk, count):
    before the message's body, count body chunks of these bytes."""
    cut = None
    extra_headers = ()
    stream = None

    def _send(self, cmd, data=b""):
        if self.cut and cmd == self.cut[0]:
            self.cut_seen = getattr(self, "cut_seen", 0) + 1
            if self.cut_seen == self.cut[1]:
                packet = self._pending + struct.pack(">I", len(data) + 1) + cmd + data
                partial = self.cut[2]
                self.sock.sendall(packet if partial is None else packet[:partial])
                self.sock.close()
                raise Hangup()
        super()._send(cmd, data)

    def _step(self, cmd, stage_macro, macros, skip_flag, nr_flag, data=b""):
        if cmd == milterclient.SMFIC_HEADER and self.extra_headers:
            extra, self.extra_headers = self.extra_headers, ()
            for payload in extra:
                r = super()._step(cmd, None, [], skip_flag, nr_flag, payload)
                if r is not None and r[0] != milterclient.SMFIR_CONTINUE:
                    return r
        if cmd == milterclient.SMFIC_BODY and self.stream:
            (chunk, count), self.stream = self.stream, None
            for _ in range(count):
                r = super()._step(cmd, None, [], skip_flag, nr_flag, chunk)
                if r is not None and r[0] != milterclient.SMFIR_CONTINUE:
                    return r
        return super()._step(cmd, stage_macro, macros, skip_flag, nr_flag, data)


def send(spec, msg, domain="ok.test", client=CLIENT, timeout=60, queue_id=None, **faults):
    """One message on its own connection; the Result, or Hangup when the session was
    cut, or the exception the client met."""
    s = FaultySession(spec, timeout=timeout)
    for k, v in faults.items():
        setattr(s, k, v)
    try:
        s.open()
        s.connect(client, helo="mail." + domain)
        return s.message(msg, "alice@" + domain, ["bob@example.net"], queue_id=queue_id)
    except (Hangup, milterclient.ProtocolError, OSError) as e:
        return e
    finally:
        try:
            s.sock.close()
        except (OSError, AttributeError):
            pass


def describe(r):
    if isinstance(r, Exception):
        return "%s: %s" % (type(r).__name__, r)
    return "action=%s stage=%s reply=%r results=%r" % (r.action, r.stage, r.reply,
                                                     our_results(r))


def is_outcome(r, action, results, tempfail_code="451 4.7.1"):
    return (not isinstance(r, Exception) and r.action == action and
            our_results(r) == results and
            (action != "tempfail" or (r.reply or "").startswith(tempfail_code)))


class Harness:
    def __init__(self, world, daemon, spec):
        self.world, self.daemon, self.spec = world, daemon, spec

    def serves(self, name):
        """The check after each fault: the daemon runs and passes a normal message."""
        r = send(self.spec, self.world.inbound("ok.test", "after-" + name))
        alive = self.daemon.proc.poll() is None
        return tap(alive and is_outcome(r, "accept", PASS),
                   "serves_a_normal_message_after_%s" % name,
                   "alive=%s %s\n%s" % (alive, describe(r), tail(self.daemon)))


def tail(daemon, n=15):
    return "\n".join(daemon.log().splitlines()[-n:])


def asan_env():
    env = dict(os.environ)
    # A small quarantine of freed memory: RSS then measures Signet, not ASan.
    env["ASAN_OPTIONS"] = (env.get("ASAN_OPTIONS", "") + ":quarantine_size_mb=1:"
                           "thread_local_quarantine_size_kb=64").lstrip(":")
    return env


def config(spec, nameservers, extra=""):
    return ("Socket %s\nMode sv\nAuthservID %s\nInternalHosts 127.0.0.0/8\n"
            "Nameservers %s\nDNSTimeout 1\nDNSMessageTime 3\nDMARCEnforce yes\n"
            "DNSErrorAction tempfail\nOnInternalError tempfail\nLogLevel info\n%s"
            % (spec, AUTHSERV_ID, nameservers, extra))


def start(tmp, name, conf_text, **kw):
    spec = re.search(r"^Socket (\S+)", conf_text, re.M).group(1)
    d = Daemon(tmp, conf_text, name, env=asan_env(), **kw)
    if not tap(wait_listening(spec), "%s_daemon_listens" % name, d.log()):
        raise SystemExit(tap.plan())
    return d


# ---- DNS -----------------------------------------------------------------------------
def test_dns_faults(h):
    """All at once, but tchang.test last and alone: while a server holds libunbound's
    TCP connections unanswered, its other TCP fallbacks (tc-good, oversized) wait too
    (outgoing-num-tcp) and would end in temperror."""
    w = h.world
    futures = {}
    for batch in ([d for d in DNS_EXPECT if d != "tchang.test"], ["tchang.test"]):
        with concurrent.futures.ThreadPoolExecutor(len(batch)) as pool:
            futures.update({d: pool.submit(send, h.spec, w.inbound(d, "fault-" + d), d)
                            for d in batch})
    for domain, (action, results) in DNS_EXPECT.items():
        r = futures[domain].result()
        seen = sorted({(q[0], q[3]) for q in w.dns.queries(domain + ".")})
        tap(is_outcome(r, action, results),
            "dns_%s_gives_%s_%s" % (DNS_FAULTS[domain], action,
                                    "temperror" if results is TEMPERROR else "pass"),
            "%s\nqueries met: %s" % (describe(r), seen))
    h.serves("dns_faults")


def test_dns_down(tmp, world):
    spec = "inet:%d@127.0.0.1" % free_port()
    dead = free_port()      # nothing listens there
    d = start(tmp, "dns-down", config(spec, "127.0.0.1@%d" % dead,
                                      "Keystore %s\n" % world.store)
              .replace("DNSErrorAction tempfail", "DNSErrorAction accept"))
    try:
        r = send(spec, world.inbound("ok.test", "server-down"))
        tap(is_outcome(r, "accept", TEMPERROR),
            "dns_server_down_accepted_with_temperror_as_DNSErrorAction_accept_says",
            describe(r) + "\n" + tail(d))
        r = send(spec, outbound("down-signs"), OUT_DOMAIN, client="127.0.0.1")
        tap(not isinstance(r, Exception) and r.action == "accept" and len(signatures(r)) == 1,
            "dns_server_down_outbound_still_signed", describe(r))
    finally:
        d.stop()
    return d


def test_hang_while_others_flow(h):
    w = h.world
    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        stuck = pool.submit(send, h.spec, w.inbound("stuck.test", "stuck"), "stuck.test")
        end = time.monotonic() + 10
        while not w.dns.queries("stuck.test.") and time.monotonic() < end:
            time.sleep(0.01)
        asked = bool(w.dns.queries("stuck.test."))
        flowing = [pool.submit(send, h.spec, w.inbound("ok.test", "flow-%d" % i))
                   for i in range(5)]
        done = [f.result() for f in flowing]
        stuck_busy = not stuck.done()
        tap(asked and stuck_busy and all(is_outcome(r, "accept", PASS) for r in done),
            "messages_for_answered_names_complete_while_one_waits_on_a_hung_name",
            "stuck asked=%s still in flight=%s\n%s" % (asked, stuck_busy,
                                                      "\n".join(map(describe, done))))
        r = stuck.result()
        tap(is_outcome(r, "tempfail", TEMPERROR), "the_hung_message_ends_in_tempfail_temperror",
            describe(r))


# ---- the MTA -------------------------------------------------------------------------
def test_disconnects(h):
    w = h.world
    H, B, E, M = (milterclient.SMFIC_HEADER, milterclient.SMFIC_BODY,
                  milterclient.SMFIC_BODYEOB, milterclient.SMFIC_MAIL)
    long_body = b"line of the body\r\n" * 12000      # four body packets
    cases = [
        ("mid_header", w.inbound("ok.test", "cut-h"), "ok.test", (H, 3, 0)),
        ("mid_body", w.inbound("ok.test", "cut-b", body=long_body), "ok.test", (B, 2, 0)),
        ("inside_a_header_packet", w.inbound("ok.test", "cut-hp"), "ok.test", (H, 2, 15)),
        ("inside_a_body_packet", w.inbound("ok.test", "cut-bp", body=long_body), "ok.test",
         (B, 1, 30000)),
        ("inside_a_length_prefix", w.inbound("ok.test", "cut-lp"), "ok.test", (M, 1, 2)),
        ("after_end_of_message_outbound", outbound("cut-eom"), OUT_DOMAIN, (E, 1, None)),
        ("after_end_of_message_inbound_with_slow_dns", w.inbound("slow.test", "cut-eom-slow"),
         "slow.test", (E, 1, None)),
    ]
    for name, msg, domain, cut in cases:
        client = "127.0.0.1" if domain == OUT_DOMAIN else CLIENT
        r = send(h.spec, msg, domain, client=client, cut=cut, queue_id="CUT%d" % len(name))
        tap(isinstance(r, Hangup), "mta_hangs_up_%s" % name, describe(r))
        h.serves("hangup_" + name)
    # The daemon's thread for the slow inbound message writes its verdict to a closed
    # connection once its DNS is done: wait until it has logged it, then look again.
    tap(h.daemon.wait_log("CUT%d:" % len(cases[-1][0]), timeout=20),
        "the_verdict_for_a_departed_mta_is_logged", tail(h.daemon))
    h.serves("the_verdict_went_to_a_closed_connection")
    for abort in (False, True):
        s = FaultySession(h.spec, timeout=30)
        s.open()
        s.connect(CLIENT, helo="mail.ok.test")
        r = s.message(w.inbound("ok.test", "between-%s" % abort), "alice@ok.test",
                      ["bob@example.net"])
        if abort:
            s.abort()
            s.sock.sendall(s._pending)
        s.sock.close()
        tap(is_outcome(r, "accept", PASS), "first_message_before_hanging_up_%s" %
            ("after_abort" if abort else "between_messages"), describe(r))
        h.serves("hangup_between_messages" + ("_after_abort" if abort else ""))


def test_huge_header_line(h):
    w = h.world
    r = send(h.spec, w.inbound("ok.test", "1mb-line", extra=b"X-Long: " + b"a" * (1 << 20)
                               + b"\r\n"))
    # The milter closes on the frame's length.  The client, still writing, then sees
    # ECONNRESET when the milter closed with some of the line unread (libmilter reads the
    # length alone), EPIPE when it had read all that was sent (Signet's engine reads in
    # large chunks): either way the connection was closed with no verdict.
    tap(isinstance(r, (milterclient.ProtocolError, ConnectionResetError, BrokenPipeError)),
        "a_1mb_header_line_makes_the_milter_close_the_connection_no_verdict", describe(r))
    h.serves("a_1mb_header_line")


def test_many_fields(h):
    w = h.world
    extra = b"".join(b"X-Field-%05d: value %d\r\n" % (i, i) for i in range(10000))
    r = send(h.spec, w.inbound("ok.test", "10000-fields", extra=extra), timeout=120)
    tap(is_outcome(r, "tempfail", {"dkim": ["pass"], "spf": ["pass", "pass"],
                                    "dmarc": ["permerror"]}, tempfail_code="451 4.3.0"),
        "ten_thousand_header_fields_tempfailed_never_rejected",
        describe(r))
    h.serves("10000_header_fields")


def test_nul_and_8bit(h):
    w = h.world
    extra = (b"X-Nul: before\x00after\r\nX-8bit: caf\xc3\xa9 \xff\xfe\x80\r\n"
             b"X-Ctl: \x01\x02\x1b[31m\r\n")
    raw = [b"X-Nul\x00In-Name\x00value\x00", b"X-\xe9t\xe9\x00v\xe9\x00"]
    msg = w.inbound("ok.test", "8bit", extra=extra,
                    subject_bytes=b"=?utf-8?q?x?= Gr\xc3\xbc\xc3\x9fe \xe2\x98\x83")
    r = send(h.spec, msg, extra_headers=raw)
    tap(is_outcome(r, "accept", PASS), "nul_and_8bit_bytes_in_header_fields_accepted",
        describe(r))
    h.serves("nul_and_8bit_headers")
    malformed = [(b"\x00empty name\x00", "an_empty_name"),
                 (b"X-Unterminated\x00value", "no_final_nul"),
                 (b"X-Only-Name\x00", "no_value"), (b"", "an_empty_packet")]
    for payload, name in malformed:
        r = send(h.spec, w.inbound("ok.test", "raw"), extra_headers=[payload])
        # The client learns of the close when it reads (reset, or no reply) or, when
        # the milter closed before the client's next frame went out, when it writes
        # (EPIPE): which one is a race, the close is what is tested.
        tap(isinstance(r, (milterclient.ProtocolError, ConnectionResetError,
                           BrokenPipeError)),
            "a_header_packet_with_%s_makes_the_milter_close_the_connection" % name,
            describe(r))
    h.serves("malformed_header_packets")


def test_big_body(h):
    w = h.world
    chunk = (b"x" * 78 + b"\r\n") * 800                      # 64,000 bytes
    count = BIG_BODY // len(chunk)
    before = hwm_kb(h.daemon.proc.pid)
    t0 = time.monotonic()
    r = send(h.spec, outbound("100mb"), OUT_DOMAIN, client="127.0.0.1", timeout=300,
             stream=(chunk, count))
    spent_out = time.monotonic() - t0
    out_growth = hwm_kb(h.daemon.proc.pid) - before
    tap(not isinstance(r, Exception) and r.action == "accept" and len(signatures(r)) == 1,
        "a_100mb_outbound_body_is_signed (%.1f s)" % spent_out, describe(r))
    t0 = time.monotonic()
    r = send(h.spec, w.inbound("ok.test", "100mb"), timeout=300, stream=(chunk, count))
    spent_in = time.monotonic() - t0
    growth = hwm_kb(h.daemon.proc.pid) - before
    tap(is_outcome(r, "accept", {"dkim": ["fail"], "spf": ["pass", "pass"],
                                 "dmarc": ["pass"]}),
        "a_100mb_inbound_body_is_verified_dkim_fail_body_changed (%.1f s)" % spent_in,
        describe(r))
    tap(growth < MAX_BODY_GROWTH_KB,
        "peak_rss_grew_%d_kB_for_100_MB_bodies (outbound alone %d kB; before %d kB; "
        "limit %d kB)" % (growth, out_growth, before, MAX_BODY_GROWTH_KB))
    h.serves("100mb_bodies")
    return growth


# ---- the process ---------------------------------------------------------------------
def signs_and_verifies(h, subject):
    r = send(h.spec, outbound(subject), OUT_DOMAIN, client="127.0.0.1")
    ok = (not isinstance(r, Exception) and r.action == "accept" and
          len(signatures(r)) == 1 and ("s=" + OUT_SELECTOR) in signatures(r)[0] and
          h.world.verify_outbound(r.message))
    return ok, describe(r)


def reload_outcome(d, words):
    """Sends SIGHUP and waits for the next reload line; returns it."""
    before = len(re.findall(words, d.log()))
    d.proc.send_signal(signal.SIGHUP)
    end = time.monotonic() + 20
    while len(re.findall(words, d.log())) == before and time.monotonic() < end and \
            d.proc.poll() is None:
        time.sleep(0.05)
    lines = [l for l in d.log().splitlines() if re.search(words, l)]
    return lines[-1] if len(lines) > before else ""


def test_keys_and_reload(h):
    w, d = h.world, h.daemon
    with open(w.key_file, "rb") as f:
        good = f.read()
    os.unlink(w.key_file)
    ok, why = signs_and_verifies(h, "key-deleted")
    tap(ok, "key_file_deleted_while_running_still_signs_with_the_loaded_key", why)
    with open(w.key_file, "wb") as f:
        f.write(b"-----BEGIN PRIVATE KEY-----\nnot a key\x00\xff\n-----END PRIVATE KEY-----\n")
    os.chmod(w.key_file, 0o600)
    ok, why = signs_and_verifies(h, "key-corrupted")
    tap(ok, "key_file_corrupted_while_running_still_signs_with_the_loaded_key", why)
    line = reload_outcome(d, "reload refused|reloaded")
    tap("reload refused" in line and "keystore" in line.lower(),
        "sighup_with_a_corrupted_key_is_refused_and_says_why", line or tail(d))
    ok, why = signs_and_verifies(h, "after-bad-keystore")
    tap(ok and d.proc.poll() is None, "the_old_key_signs_after_the_refused_reload", why)
    with open(w.key_file, "wb") as f:
        f.write(good)
    os.chmod(w.key_file, 0o600)

    with open(d.conf, "rb") as f:
        conf = f.read()
    with open(d.conf, "wb") as f:
        f.write(conf[:40] + b"\x00\xff\xfe garbage \x01\n\xc3" + b"Z" * 5000 + b"\n")
    line = reload_outcome(d, "reload refused|reloaded")
    tap("reload refused" in line and d.conf in line,
        "sighup_with_a_config_of_garbage_bytes_is_refused_and_names_the_file",
        line or tail(d))
    os.unlink(d.conf)
    line = reload_outcome(d, "reload refused|reloaded")
    tap("reload refused" in line, "sighup_with_the_config_deleted_is_refused", line or tail(d))
    ok, why = signs_and_verifies(h, "after-bad-config")
    tap(ok and d.proc.poll() is None, "serves_on_after_the_refused_reloads", why)
    with open(d.conf, "wb") as f:
        f.write(conf)
    line = reload_outcome(d, "reload refused|reloaded")
    tap("reloaded" in line, "a_repaired_config_and_keystore_reload", line or tail(d))
    h.serves("key_and_reload_faults")


def test_fd_limit(tmp, world):
    spec = "inet:%d@127.0.0.1" % free_port()

    def low_limit():
        resource.setrlimit(resource.RLIMIT_NOFILE, (FD_LIMIT, FD_LIMIT))
    d = start(tmp, "fd-limit", config(spec, "127.0.0.1@%d" % world.dns.port,
                                      "Keystore %s\n" % world.store), preexec_fn=low_limit)
    h = Harness(world, d, spec)
    fds = "/proc/%d/fd" % d.proc.pid
    sessions = []
    try:
        h.serves("start_under_a_low_fd_limit")
        opened = []
        release = threading.Event()

        def open_one():
            """Negotiates, then holds the connection until release; closes it."""
            s = milterclient.Session(spec, timeout=60)
            sessions.append(s)
            try:
                s.open()
                opened.append(s)
                release.wait(60)
            except (OSError, milterclient.ProtocolError):
                pass
            finally:
                s.sock.close()
        threads = [threading.Thread(target=open_one) for _ in range(100)]
        for t in threads:
            t.start()
        end = time.monotonic() + 20
        while len(os.listdir(fds)) < FD_LIMIT and time.monotonic() < end:
            time.sleep(0.02)
        full = len(os.listdir(fds))
        waiting = 100 - len(opened)
        tap(full == FD_LIMIT and waiting > 0 and d.proc.poll() is None,
            "the_daemon_fills_its_%d_descriptors_and_runs (%d connections wait)"
            % (FD_LIMIT, waiting), "fds %d, alive %s\n%s" % (full, d.proc.poll() is None,
                                                            tail(d)))
        release.set()
        for t in threads:
            t.join(60)
        tap(len(opened) == 100 and d.proc.poll() is None,
            "every_waiting_connection_is_served_once_others_close",
            "%d of 100 negotiated\n%s" % (len(opened), tail(d)))
    finally:
        for s in sessions:
            try:
                s.sock.close()
            except (OSError, AttributeError):
                pass
    try:
        h.serves("the_fd_limit")
        ok, why = signs_and_verifies(h, "after-fd-limit")
        tap(ok, "signs_after_the_fd_limit", why)
    finally:
        d.stop()
    return d


def main():
    missing = need_tools()
    if missing:
        tap(False, "tools_present", "missing: " + ", ".join(missing))
        return tap.plan()
    started = time.monotonic()
    tmp = tempfile.mkdtemp(prefix="signet-faults-")
    world = World(tmp)
    daemons = []
    growth = None
    try:
        spec = "inet:%d@127.0.0.1" % free_port()
        d = start(tmp, "faults", config(spec, "127.0.0.1@%d" % world.dns.port,
                                        "Keystore %s\n" % world.store))
        daemons.append(d)
        h = Harness(world, d, spec)
        h.serves("start")
        growth = test_big_body(h)
        test_dns_faults(h)
        test_hang_while_others_flow(h)
        h.serves("a_hung_name")
        test_disconnects(h)
        test_huge_header_line(h)
        test_many_fields(h)
        test_nul_and_8bit(h)
        test_keys_and_reload(h)
        daemons.append(test_dns_down(tmp, world))
        daemons.append(test_fd_limit(tmp, world))
    finally:
        for d in daemons:
            d.stop()
        world.dns.stop()
    for d in daemons:
        reports = [l for l in d.log().splitlines() if SANITIZER_REPORT.search(l)]
        tap(not reports and d.proc.returncode == 0,
            "no_sanitizer_report_and_a_clean_exit_%s" % os.path.basename(d.conf),
            "exit %s\n%s" % (d.proc.returncode, "\n".join(reports) or tail(d, 30)))
    print("# peak RSS growth for two 100 MB bodies: %s kB; run time %.1f s"
          % (growth, time.monotonic() - started))
    if not tap.failed:
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        print("# kept %s" % tmp)
    return tap.plan()


if __name__ == "__main__":
    sys.exit(main())
