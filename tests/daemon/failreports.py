#!/usr/bin/python3
"""
NAME
    failreports.py - DMARC failure reports (RFC 9991) from the real daemon: who gets one
    per fo=, only authorized destinations, the rate limit, the report's MIME structure and
    fields, redaction, no body unless FailureReportBody yes, and messages never delayed

DESCRIPTION
    A private NSD (tests/lib/signettest.py start_nsd) serves the zone "example" with
    DMARC records that ask for failure reports: f0 (fo absent, p=reject), f1 (fo=1),
    fd (fo=d, with an Ed25519 DKIM key), fs (fo=s), ext.example (ruf= at its own domain,
    at collector.example, which authorizes it with ext.example._report._dmarc.
    collector.example, and at nobody.example, which does not), psdf.example (psd=y: its
    ruf= is never used); SPF passes 192.0.2.10 and fails 192.0.2.66 for every domain.

    ReportSendmail is a small script that writes its arguments to N.args and its input
    to N.eml, and takes a second, so that a report sent on the message's thread would
    show in the message's time.  Reports are read with Python's email package and
    checked: multipart/report; report-type=feedback-report of text/plain,
    message/feedback-report and text/rfc822-headers (message/rfc822 with
    FailureReportBody yes), the ARF fields RFC 6591 and RFC 9991 ask for, local-parts
    redacted, the recipient given on the command line (never -t).  Emits TAP; a missing
    nsd, dkimpy or nacl is a failure, not a skip.
"""
import base64
import email
import email.policy
import glob
import os
import signal
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path = [p for p in sys.path if os.path.abspath(p or ".") != HERE]   # token.py
sys.path.insert(0, os.path.join(HERE, "..", "milter"))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import milterclient  # noqa: E402
from signettest import Daemon, Tap, free_port, run_with_nsd, scrape_metrics, \
    wait_listening  # noqa: E402

GOOD, BAD, INTERNAL = "192.0.2.10", "192.0.2.66", "192.0.2.50"
REPORT_EMAIL = "dmarc-noreply@ours.example"
RATE = 3

tap = Tap(max_diag=60)


def dkim_key():
    import nacl.signing
    sk = nacl.signing.SigningKey.generate()
    return (base64.b64encode(bytes(sk)),
            "v=DKIM1; k=ed25519; p=" + base64.b64encode(bytes(sk.verify_key)).decode())


def zone_records(dkim_record):
    lines = [
        '_dmarc.f0.example. IN TXT "v=DMARC1; p=reject; ruf=mailto:ruf@f0.example"',
        '_dmarc.f1.example. IN TXT "v=DMARC1; p=none; fo=1; ruf=mailto:ruf@f1.example"',
        '_dmarc.fd.example. IN TXT "v=DMARC1; p=none; fo=d; ruf=mailto:ruf@fd.example"',
        '_dmarc.fs.example. IN TXT "v=DMARC1; p=none; fo=s; ruf=mailto:ruf@fs.example"',
        '_dmarc.ext.example. IN TXT "v=DMARC1; p=quarantine; ruf=mailto:fr@collector.example,'
        'mailto:fr@nobody.example,mailto:ruf@ext.example"',
        'ext.example._report._dmarc.collector.example. IN TXT "v=DMARC1"',
        '_dmarc.psdf.example. IN TXT "v=DMARC1; p=reject; psd=y; ruf=mailto:ruf@psdf.example"',
        'shop.psdf.example. IN A 192.0.2.1',
        's1._domainkey.fd.example. IN TXT "%s"' % dkim_record,
    ]
    for d in ("f0", "f1", "fd", "fs", "ext", "shop.psdf"):
        lines.append('%s.example. IN TXT "v=spf1 ip4:%s -all"' % (d, GOOD))
    return "\n".join(lines) + "\n"


def message(from_domain, n, extra=b""):
    return (b"From: Someone <someone@" + from_domain.encode() + b">\r\n"
            b"To: Bob <bob@ours.example>\r\nSubject: failure test %d http://x.example/\r\n"
            b"Date: Fri, 27 Nov 2026 07:00:00 +0000\r\nMessage-ID: <%d.fr@test>\r\n" % (n, n) +
            extra + b"\r\nbody-marker-%d\r\n" % n)


def signed(msg, key, tamper):
    import dkim
    out = dkim.sign(msg, b"s1", b"fd.example", key, include_headers=[b"from", b"subject"],
                    signature_algorithm=b"ed25519-sha256") + msg
    return out.replace(b"body-marker", b"body-changed") if tamper else out


SENDMAIL = """#!/bin/sh
n=$(date +%%s%%N)-$$
cat > "%(dir)s/$n.eml"
printf '%%s\\n' "$@" > "%(dir)s/$n.tmp"
sleep 1
mv "%(dir)s/$n.tmp" "%(dir)s/$n.args"
"""


class Outbox:
    """The reports the sendmail script received."""

    def __init__(self, tmp, name):
        self.dir = os.path.join(tmp, name + "-out")
        os.mkdir(self.dir)
        self.script = os.path.join(tmp, name + "-sendmail")
        with open(self.script, "w") as f:
            f.write(SENDMAIL % {"dir": self.dir})
        os.chmod(self.script, 0o755)

    def reports(self):
        out = []
        for args in sorted(glob.glob(os.path.join(self.dir, "*.args"))):
            with open(args) as f:
                argv = f.read().splitlines()
            with open(args[:-5] + ".eml", "rb") as f:
                raw = f.read()
            out.append((argv, raw))
        return out

    def wait(self, count, timeout=60, quiet=3.0):
        """The reports once count have come and no more came for quiet seconds."""
        end = time.monotonic() + timeout
        while time.monotonic() < end and len(self.reports()) < count:
            time.sleep(0.2)
        time.sleep(quiet)
        return self.reports()


def conf(spec, dns_port, outbox, mport, extra=""):
    return ("Socket %s\nMode v\nAuthservID mx.ours.test\nNameservers 127.0.0.1@%d\n"
            "InternalHosts %s\nDMARCEnforce yes\nLogLevel debug\n"
            "DMARCFailureReports yes\nFailureReportRate %d\nReportEmail %s\n"
            "ReportSendmail %s -oi -t\nReportSkipRecipients dmarc-in@ours.example\n"
            "MetricsListen %d\n%s" % (spec, dns_port, INTERNAL, RATE, REPORT_EMAIL,
                                      outbox.script, mport, extra))


def outcome(m, name):
    return m.get('signet_dmarc_failure_reports_total{outcome="%s"}' % name)


class Mta:
    count = 0

    def __init__(self, spec, key):
        self.spec = spec
        self.key = key

    def send(self, ip, mail_from, from_domain, rcpts=("bob@ours.example",), dkim=None,
             extra=b""):
        """(action, seconds, message number)."""
        Mta.count += 1
        msg = message(from_domain, Mta.count, extra)
        if dkim is not None:
            msg = signed(msg, self.key, dkim == "broken")
        start = time.monotonic()
        with milterclient.Session(self.spec) as s:
            s.connect(ip, helo="client.example")
            res = s.message(msg, mail_from, list(rcpts), queue_id="F%05d" % Mta.count)
        took = time.monotonic() - start
        action = "quarantine" if res.action == "accept" and res.quarantine else res.action
        return action, took, Mta.count


# (name, client, MAIL FROM, From domain, recipients, dkim, extra header, action,
#  report recipients expected)
CASES = [
    ("fo0_spf_and_dkim_fail", BAD, "a@f0.example", "f0.example", None, None, b"", "reject",
     ["ruf@f0.example"]),
    ("fo0_aligned_spf_pass", GOOD, "a@f0.example", "f0.example", None, None, b"", "accept", []),
    ("fo1_pass_without_dkim", GOOD, "a@f1.example", "f1.example", None, None, b"", "accept",
     ["ruf@f1.example"]),
    ("fod_pass_with_a_broken_signature", GOOD, "a@fd.example", "fd.example", None, "broken",
     b"", "accept", ["ruf@fd.example"]),
    ("fod_pass_with_a_good_signature", GOOD, "a@fd.example", "fd.example", None, "good", b"",
     "accept", []),
    ("fod_fail_without_signature", BAD, "a@fd.example", "fd.example", None, None, b"",
     "accept", []),
    ("fos_spf_fail", BAD, "a@fs.example", "fs.example", None, None, b"", "accept",
     ["ruf@fs.example"]),
    ("fos_spf_pass", GOOD, "a@fs.example", "fs.example", None, None, b"", "accept", []),
    ("external_authorized_internal_and_unauthorized", BAD, "a@ext.example", "ext.example",
     None, None, b"", "quarantine", ["fr@collector.example", "ruf@ext.example"]),
    ("psd_y_record_ruf_never_used", BAD, "a@shop.psdf.example", "shop.psdf.example", None,
     None, b"", "reject", []),
    ("mail_to_the_ruf_address_itself", BAD, "a@f0.example", "f0.example", ["ruf@f0.example"],
     None, b"", "reject", []),
    ("mail_to_report_email", BAD, "a@f0.example", "f0.example", [REPORT_EMAIL], None, b"",
     "reject", []),
    ("mail_to_a_skip_recipient", BAD, "a@f0.example", "f0.example",
     ["bob@ours.example", "dmarc-in@ours.example"], None, b"", "reject", []),
    ("a_feedback_report_itself", BAD, "a@f0.example", "f0.example", None, None,
     b"MIME-Version: 1.0\r\nContent-Type: multipart/report;\r\n report-type=feedback-report;"
     b" boundary=x\r\n", "reject", []),
    ("outbound_never", INTERNAL, "a@f0.example", "f0.example", None, None, b"", "accept", []),
    ("hostile_header_lines", BAD, "a@fs.example", "fs.example", None, None,
     b"X-Inject: a\r--=_signet_0123\rBcc: evil@x.example\r\n"
     b"X-More: \xc3\xa9\x01 " + b"w" * 3000 + b"\r\n",
     "accept", ["ruf@fs.example"]),
]


def feedback(report):
    parts = report.get_payload()
    return parts[1].get_payload()[0] if len(parts) > 1 else None


def check_report(name, argv, raw, n, want_body=False):
    """A list of problems with one report (empty when it is right)."""
    problems = []
    rep = email.message_from_bytes(raw, policy=email.policy.compat32)
    if "-t" in argv or argv[-2:-1] != ["--"] or argv[argv.index("-f") + 1] != REPORT_EMAIL:
        problems.append("argv %r" % argv)
    if rep.get("To") != "<%s>" % argv[-1] or rep.get("From") != "<%s>" % REPORT_EMAIL:
        problems.append("To %r From %r" % (rep.get("To"), rep.get("From")))
    if rep.get_content_type() != "multipart/report" or \
            rep.get_param("report-type") != "feedback-report" or rep.defects:
        problems.append("top %s %r %r" % (rep.get_content_type(), rep.get_param("report-type"),
                                          rep.defects))
        return problems
    parts = rep.get_payload()
    last = "message/rfc822" if want_body else "text/rfc822-headers"
    types = [p.get_content_type() for p in parts]
    if types != ["text/plain", "message/feedback-report", last]:
        return problems + ["parts %r" % types]
    fb = feedback(rep)
    for field, value in (("Feedback-Type", "auth-failure"), ("Version", "1"),
                         ("Auth-Failure", "dmarc")):
        if fb.get(field) != value:
            problems.append("%s: %r" % (field, fb.get(field)))
    for field in ("User-Agent", "Authentication-Results", "Identity-Alignment",
                  "Original-Mail-From", "Arrival-Date", "Source-IP", "Reported-Domain"):
        if not fb.get(field):
            problems.append("no %s" % field)
    if "Original-Rcpt-To" in fb:
        problems.append("Original-Rcpt-To present")
    if "dmarc=" not in (fb.get("Authentication-Results") or ""):
        problems.append("A-R %r" % fb.get("Authentication-Results"))
    copied = parts[2].get_payload()
    text = copied[0].as_string() if isinstance(copied, list) else copied
    if "failure test %d" % n not in text or "<%d.fr@test>" % n not in text:
        problems.append("original header not copied: %r" % text[:400])
    if ("body-marker-%d" % n in text) != want_body:
        problems.append("body %s" % ("missing" if want_body else "present"))
    whole = raw.decode("utf-8", "replace")
    # The keyed hash that replaces a local-part may itself end in "a": compare whole.
    mail_from_local = fb.get("Original-Mail-From", "").strip().strip("<>").rpartition("@")[0]
    if "someone@" in whole or "bob@" in whole or mail_from_local == "a":
        problems.append("a local-part is not redacted")
    if "http://" in whole:
        problems.append("http:// not defanged")
    if any(len(line) > 998 for line in raw.split(b"\n")) or b"\r" in raw:
        problems.append("a line over 998 bytes, or a CR")
    return problems


def main_daemon(tmp, dns_port, key):
    outbox = Outbox(tmp, "main")
    spec = "inet:%d@127.0.0.1" % free_port()
    mport = free_port()
    d = Daemon(tmp, conf(spec, dns_port, outbox, mport), "main")
    try:
        if not tap(wait_listening(spec), "daemon_with_failure_reports_starts", d.log()):
            return
        mta = Mta(spec, key)
        sent = {}       # message number -> (case name, expected recipients)
        wrong = []
        for case in CASES:
            name, ip, mail_from, dom, rcpts, dkim, extra, action, expect = case
            got, took, n = mta.send(ip, mail_from, dom, rcpts or ("bob@ours.example",), dkim,
                                    extra)
            if got != action:
                wrong.append("%s: got %s, want %s" % (name, got, action))
            sent[n] = (name, expect)
        tap(not wrong, "every message gets the verdict it gets without reports",
            "\n".join(wrong))

        # The rate limit: RATE reports an hour per destination; f0 had one already.
        start = time.monotonic()
        numbers = []
        for _ in range(RATE + 1):
            got, _, n = mta.send(BAD, "a@f0.example", "f0.example")
            numbers.append(n)
            wrong.append(got) if got != "reject" else None
        took = time.monotonic() - start
        tap(took < RATE * 1.0, "messages_are_not_delayed_by_reports (%d messages in %.2f s, "
            "each report takes the sendmail 1 s)" % (RATE + 1, took))

        want = [r for c in CASES for r in c[8]] + ["ruf@f0.example"] * (RATE - 1)
        reports = outbox.wait(len(want))
        got_rcpts = sorted(argv[-1] for argv, _ in reports)
        tap(got_rcpts == sorted(want), "reports_go_to_exactly_the_authorized_destinations",
            "got  %r\nwant %r" % (got_rcpts, sorted(want)))
        by_number = {}
        for argv, raw in reports:
            rep = email.message_from_bytes(raw)
            for n in list(sent) + numbers:
                if b"<%d.fr@test>" % n in raw:
                    by_number.setdefault(n, []).append((argv, raw, rep))
        for n, (name, expect) in sorted(sent.items()):
            got = sorted(argv[-1] for argv, _, _ in by_number.get(n, []))
            tap(got == sorted(expect), "%s: reports to %s" % (name, expect or "nobody"),
                "got %r" % got)
            for argv, raw, _ in by_number.get(n, []):
                problems = check_report(name, argv, raw, n)
                tap(not problems, "%s: report to %s is well formed and redacted" %
                    (name, argv[-1]), "\n".join(problems) + "\n" + raw.decode("utf-8",
                                                                             "replace")[:3000])

        def fb_of(case_name):
            for n, (name, _) in sent.items():
                if name == case_name and by_number.get(n):
                    return feedback(email.message_from_bytes(by_number[n][0][1]))
            return None

        fb = fb_of("fod_pass_with_a_broken_signature")
        tap(fb is not None and fb.get("Identity-Alignment") == "dkim" and
            fb.get("DKIM-Domain") == "fd.example" and fb.get("DKIM-Selector") == "s1" and
            fb.get("DKIM-Identity") == "@fd.example" and fb.get("Delivery-Result") ==
            "delivered", "fod_report_names_the_failed_aligned_signature",
            fb.items() if fb else "no report")
        fb = fb_of("fo0_spf_and_dkim_fail")
        tap(fb is not None and fb.get("Identity-Alignment") == "dkim, spf" and
            fb.get("Source-IP") == BAD and fb.get("Reported-Domain") == "f0.example" and
            fb.get("Delivery-Result") == "reject" and
            fb.get("Original-Mail-From", "").endswith("@f0.example>"),
            "fo0_report_fields", fb.items() if fb else "no report")
        for n, (name, _) in sent.items():
            if name == "hostile_header_lines" and by_number.get(n):
                raw = by_number[n][0][1]
                rep = email.message_from_bytes(raw)
                headers = rep.get_payload()[2].get_payload()
                tap(b"\n --=_signet_0123" in raw and b"\n--=_signet_0123" not in raw and
                    b"\n Bcc: " in raw and b"\nBcc:" not in raw and
                    len(rep.get_payload()) == 3 and "X-More" in headers and
                    b"\n w" in raw and b"\xc3\xa9? www" in raw,
                    "hostile_header_lines_stay_inside_their_part",
                    raw.decode("utf-8", "replace")[-3000:])
        f0_reports = [n for n in numbers if by_number.get(n)]
        tap(len(f0_reports) == RATE - 1, "rate_limit_FailureReportRate_%d_per_destination "
            "(%d of the last %d sent)" % (RATE, len(f0_reports), len(numbers)))
        m = scrape_metrics(mport)
        tap(outcome(m, "sent") == len(want) and outcome(m, "rate_limited") == 2 and
            outcome(m, "not_authorized") == 1 and outcome(m, "queue_full") == 0 and
            outcome(m, "send_error") == 0, "metrics_count_each_outcome",
            {k: v for k, v in m.items() if "failure_reports" in k})
        tap("not sent to fr@nobody.example" in d.log(), "unauthorized_destination_logged",
            d.log()[-2000:])
        d.proc.send_signal(signal.SIGTERM)
        tap(d.exit_status(timeout=60) == 0, "daemon_stops_cleanly_with_the_report_thread",
            d.log()[-2000:])
    finally:
        d.stop()


def body_daemon(tmp, dns_port, key):
    outbox = Outbox(tmp, "body")
    spec = "inet:%d@127.0.0.1" % free_port()
    d = Daemon(tmp, conf(spec, dns_port, outbox, free_port(), "FailureReportBody yes\n"),
               "body")
    try:
        if not tap(wait_listening(spec), "daemon_with_failure_report_body_starts", d.log()):
            return
        got, _, n = Mta(spec, key).send(BAD, "a@f0.example", "f0.example")
        reports = outbox.wait(1)
        tap(got == "reject" and len(reports) == 1, "failure_report_body_one_report",
            "%s %d" % (got, len(reports)))
        for argv, raw in reports:
            problems = check_report("body", argv, raw, n, want_body=True)
            tap(not problems, "failure_report_body_yes_carries_the_body_as_message_rfc822",
                "\n".join(problems) + "\n" + raw.decode("utf-8", "replace")[:3000])
    finally:
        d.stop()


def no_report_email_daemon(tmp, dns_port, key):
    outbox = Outbox(tmp, "noemail")
    spec = "inet:%d@127.0.0.1" % free_port()
    text = conf(spec, dns_port, outbox, free_port()).replace(
        "ReportEmail %s\n" % REPORT_EMAIL, "")
    d = Daemon(tmp, text, "noemail")
    try:
        if not tap(wait_listening(spec), "daemon_without_report_email_starts", d.log()):
            return
        got, _, _ = Mta(spec, key).send(BAD, "a@f0.example", "f0.example")
        reports = outbox.wait(1, timeout=3, quiet=1)
        tap(got == "reject" and not reports and
            d.log().count("ReportEmail is not set: no failure report is sent") == 1,
            "without_report_email_failure_reports_are_off_and_said_once", d.log()[-2000:])
    finally:
        d.stop()


def main():
    key, record = dkim_key()

    def run(tmp, dns_port):
        main_daemon(tmp, dns_port, key)
        body_daemon(tmp, dns_port, key)
        no_report_email_daemon(tmp, dns_port, key)
    return run_with_nsd(tap, "signet-failreports-", "example", zone_records(record), run)


if __name__ == "__main__":
    sys.exit(main())
