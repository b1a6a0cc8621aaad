#!/usr/bin/python3
"""
NAME
    send.py - signet-reports send: one mail per authorized rua= destination, none to the
    others, never twice; the external destination check against a real DNS server;
    SMTP and sendmail delivery, temporary and permanent failures, size limits, a crash
    in flight, --dry-run

DESCRIPTION
    A private NSD (tests/lib/signettest.start_nsd) serves the zone "example": policy
    domains whose rua= is internal, external and authorized (by an explicit
    <domain>._report._dmarc.<host> record and by a wildcard), external and not
    authorized, overridden to the same host, and overridden to another host (no report
    to either).  Each scenario has its own store, filled with tests/reports/store-fill
    (lib/reportstore, as the daemon's flush does; the row and policy texts come from
    make.py), and its own configuration.

    SMTP goes to tests/mta/smtpsink.py (a separate process keeping every message) or
    to a refusing server started here, which answers RCPT by recipient: 451 for
    "tempfail@", 550 for "refuse@".  Sendmail is a fake script that records its
    arguments and standard input, exits 75 or 67 for some recipients, and, once, kills
    signet-reports (its parent) while it "sends", to leave a delivery in flight.
    Every mail is read back with Python's email parser: Subject (RFC 9990's ABNF),
    From, To, Message-ID, the MIME layout, the attachment's name, and its bytes
    gunzipped to the XML report of that domain and day.  Emits TAP.
"""
import base64
import calendar
import email
import email.policy
import gzip
import os
import re
import signal
import socket
import socketserver
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
from make import policy_text, row_text  # noqa: E402
from signettest import Tap, start_nsd  # noqa: E402

TOP_BUILDDIR = os.environ.get("top_builddir", os.path.join(HERE, "..", ".."))
TOOL = os.path.join(TOP_BUILDDIR, "reports", "signet-reports")
FILL = os.path.join(TOP_BUILDDIR, "tests", "reports", "store-fill")
SINK = os.path.join(HERE, "..", "mta", "smtpsink.py")

DAY = 86400
D1 = calendar.timegm((2026, 12, 1, 0, 0, 0))
NOW = D1 + DAY + 3600          # 2026-12-02 01:00 UTC: D1 has ended, D1 + DAY has not
RECEIVER = "mx.receiver.example"
FROM = "dmarc-noreply@receiver.example"
SUBJECT_RE = re.compile(r"^Report\s+Domain:\s+(\S+)\s+Submitter:\s+(\S+)\s+"
                        r"Report-ID:\s+<([A-Za-z0-9]+)>$")

tap = Tap(max_diag=40)

# The zone: where the destinations agree (or not) to receive reports.
ZONE = """
_dmarc.internal.example. IN TXT "v=DMARC1; p=none"
ext.example._report._dmarc.reports.example. IN TXT "v=DMARC1"
multi.example._report._dmarc.reports.example. IN TXT "v=DMARC1;"
*._report._dmarc.wildrep.example. IN TXT "v=DMARC1"
unauth.example._report._dmarc.spfonly.example. IN TXT "v=spf1 -all"
over.example._report._dmarc.overrep.example. IN TXT "v=DMARC1; rua=mailto:new@overrep.example"
evilover.example._report._dmarc.evilrep.example. IN TXT "v=DMARC1; rua=mailto:victim@victim.example"
"""

# Policy domain -> its rua= as published, and the addresses that must get a mail.
MAIN = {
    "internal.example": ("mailto:dmarc@internal.example", ["dmarc@internal.example"]),
    "sub.internal.example": ("mailto:dmarc@internal.example", ["dmarc@internal.example"]),
    "ext.example": ("mailto:agg@reports.example", ["agg@reports.example"]),
    "wild.example": ("mailto:any@wildrep.example", ["any@wildrep.example"]),
    "unauth.example": ("mailto:x@victim.example, mailto:y@spfonly.example", []),
    "over.example": ("mailto:old@overrep.example", ["new@overrep.example"]),
    "evilover.example": ("mailto:r@evilrep.example", []),
    "multi.example": ("mailto:a@multi.example, https://multi.example/in, "
                      "mailto:b@reports.example", ["a@multi.example", "b@reports.example"]),
    "big.example": ("mailto:dmarc@big.example!1k", []),
    "hostile.example": ("mailto:a@hostile.example?cc=victim@victim.example,"
                        "mailto:b@hostile.example%0D%0ABcc:victim@victim.example", []),
}


def policy(domain, rua):
    return {"domain": domain, "disc": "treewalk", "p": "none", "sp": "", "np": "",
            "adkim": "r", "aspf": "r", "t": "n", "fo": "", "rua": rua}


def row(i, domain):
    return {"ip": "192.0.2.%d" % (i % 250 + 1) if i < 250 else "2001:db8::%x" % i,
            "disp": "none", "dkim_al": "pass" if i % 2 else "fail", "spf_al": "fail",
            "reasons": [], "hfrom": domain, "efrom": "bounce%d.%s" % (i, domain),
            "eto": "receiver.example", "dkim": [(domain, "s%d" % i, "pass")],
            "spf_dom": "bounce%d.%s" % (i, domain), "spf_res": "softfail"}


def fill(store, domains, rows=1, begin=D1):
    """domains: {domain: rua}.  rows distinct rows each (3 messages per row)."""
    lines = []
    for d, rua in domains.items():
        lines.append("P\t" + policy_text(policy(d, rua)))
        for i in range(rows if d != "big.example" else 60):
            lines.append("R\t%d\t3\t%s" % (begin, row_text(row(i, d))))
    r = subprocess.run([FILL, "sqlite:" + store], input="\n".join(lines) + "\n",
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("store-fill: %s" % r.stderr)


def write_conf(tmp, name, dns_port, extra="", report_email=FROM):
    path = os.path.join(tmp, name + ".conf")
    with open(path, "w") as f:
        f.write("ReportStore sqlite:%s\nReportDomain %s\nNameservers 127.0.0.1@%d\n"
                "DNSTimeout 2\n%s%s" % (os.path.join(tmp, name + ".db"), RECEIVER, dns_port,
                                       "ReportEmail %s\n" % report_email if report_email
                                       else "", extra))
    return path


def tool(conf, *args):
    return subprocess.run([TOOL, "-c", conf] + list(args), capture_output=True, text=True,
                          timeout=300)


# ---- the SMTP sink (tests/mta/smtpsink.py) and a refusing server --------------------

class Sink:
    def __init__(self, tmp, name):
        self.dir = os.path.join(tmp, name)
        os.mkdir(self.dir)
        portfile = os.path.join(tmp, name + ".port")
        self.proc = subprocess.Popen(["/usr/bin/python3", SINK, self.dir, portfile])
        for _ in range(200):
            if os.path.exists(portfile):
                break
            time.sleep(0.05)
        with open(portfile) as f:
            self.port = int(f.read())
        self.seen = set()

    def new_mails(self):
        """[(envelope rcpts, message bytes)] received since the last call."""
        out = []
        for n in sorted((int(x[:-4]) for x in os.listdir(self.dir) if x.endswith(".eml"))):
            if n in self.seen:
                continue
            self.seen.add(n)
            with open(os.path.join(self.dir, "%d.env" % n)) as f:
                env = f.read().split("\n")
            with open(os.path.join(self.dir, "%d.eml" % n), "rb") as f:
                out.append(([l[3:] for l in env if l.startswith("to ")], f.read()))
        return out

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


class Refusing(socketserver.StreamRequestHandler):
    """RCPT to tempfail@... gets 451, to refuse@... 550; everything else 250."""
    def reply(self, text):
        self.wfile.write(text.encode() + b"\r\n")
        self.wfile.flush()

    def handle(self):
        self.reply("220 refusing.test ESMTP")
        while True:
            line = self.rfile.readline(1000).decode("latin-1").strip()
            if not line:
                return
            verb = line[:4].upper()
            self.server.log.append(line)
            if verb == "RCPT" and "tempfail@" in line:
                self.reply("451 4.3.0 try later")
            elif verb == "RCPT" and "refuse@" in line:
                self.reply("550 5.1.1 no such user")
            elif verb == "DATA":
                self.reply("503 5.5.1 not here")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("250 ok")


def refusing_server():
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Refusing)
    server.daemon_threads = True
    server.log = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---- reading a report mail back -------------------------------------------------------

def check_mail(rcpt, raw, want_domain):
    """The problems of one report mail (empty when it is right), and its Report-ID."""
    bad = []
    if b"\r\n" not in raw or re.search(rb"[^\r]\n", raw):
        bad.append("line ends are not all CRLF")
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    subject = re.sub(r"\r?\n[ \t]+", " ", msg["Subject"] or "")
    m = SUBJECT_RE.match(subject)
    if not m:
        return ["Subject %r does not follow RFC 9990's ABNF" % subject], None
    domain, submitter, rid = m.groups()
    if domain != want_domain or submitter != RECEIVER:
        bad.append("Subject names %s / %s" % (domain, submitter))
    if any(len(l) > 78 for l in raw.split(b"\r\n\r\n")[0].split(b"\r\n")):
        bad.append("a header line is longer than 78 characters")
    if msg["From"] != "<%s>" % FROM or msg["To"] != "<%s>" % rcpt:
        bad.append("From %s To %s" % (msg["From"], msg["To"]))
    if rid not in (msg["Message-ID"] or "") or not msg["Date"]:
        bad.append("Message-ID %s does not hold the Report-ID, or no Date" % msg["Message-ID"])
    if msg.get_content_type() != "multipart/mixed":
        return bad + ["not multipart/mixed: %s" % msg.get_content_type()], rid
    parts = msg.get_payload()
    types = [p.get_content_type() for p in parts]
    if types != ["text/plain", "application/gzip"]:
        return bad + ["parts %s" % types], rid
    att = parts[1]
    name = att.get_filename()
    want = r"^%s!%s!%d!%d!%s\.xml\.gz$" % (re.escape(RECEIVER), re.escape(want_domain), D1,
                                           D1 + DAY - 1, rid)
    if not name or not re.match(want, name) or \
            not (att["Content-Disposition"] or "").startswith("attachment;"):
        bad.append("attachment %r, %s; want %s" % (name, att["Content-Disposition"], want))
    if (att["Content-Transfer-Encoding"] or "").lower() != "base64":
        bad.append("attachment not base64")
    try:
        xml = gzip.decompress(base64.b64decode(att.get_payload())).decode()
    except (ValueError, OSError) as e:
        return bad + ["attachment does not gunzip: %s" % e], rid
    if not xml.startswith("<?xml") or "<domain>%s</domain>" % want_domain not in xml or \
            "<report_id>%s</report_id>" % rid not in xml or "<begin>%d</begin>" % D1 not in xml:
        bad.append("the XML is not this report: %s" % xml[:300])
    return bad, rid


def by_rcpt(mails):
    out = {}
    for rcpts, raw in mails:
        for r in rcpts:
            out.setdefault(r.strip("<>"), []).append(raw)
    return out


def domain_of(raw):
    m = SUBJECT_RE.match(re.sub(r"\r?\n[ \t]+", " ", email.message_from_bytes(raw)["Subject"]))
    return m.group(1) if m else None


# ---- scenarios ------------------------------------------------------------------------

def main_scenario(tmp, dns_port, sink):
    conf = write_conf(tmp, "main", dns_port)
    fill(os.path.join(tmp, "main.db"), {d: rua for d, (rua, _) in MAIN.items()})
    # a report of the day that has not ended: never sent at NOW
    fill(os.path.join(tmp, "main.db"), {"internal.example": MAIN["internal.example"][0]},
         begin=D1 + DAY)
    smtp = "127.0.0.1:%d" % sink.port

    r = tool(conf, "send", "--now", str(NOW), "--smtp", smtp, "--dry-run")
    mails = sink.new_mails()
    tap(r.returncode == 0 and not mails, "dry_run_sends_nothing",
        "exit %d, %d mails\n%s" % (r.returncode, len(mails), r.stderr))
    would = sorted(set(re.findall(r"would be sent: to (\S+),", r.stdout)))
    want = sorted(set(a for _, addrs in MAIN.values() for a in addrs))
    tap(would == want, "dry_run_says_what_it_would_send", "got %s\nwant %s\n%s"
        % (would, want, r.stdout))
    lst = tool(conf, "list", "--now", str(NOW))
    tap(lst.returncode == 0 and lst.stdout.count("ended") == len(MAIN) and lst.stdout.count(" open") == 1,
        "dry_run_changes_nothing (every report still ended, not done)", lst.stdout + lst.stderr)

    r = tool(conf, "send", "--now", str(NOW), "--smtp", smtp)
    mails = sink.new_mails()
    got = by_rcpt(mails)
    tap(r.returncode == 0, "send_exits_0", r.stderr)
    for d, (rua, addrs) in MAIN.items():
        for a in addrs:
            to_a = [raw for raw in got.get(a, []) if domain_of(raw) == d]
            tap(len(to_a) == 1, "send_one_mail %s -> %s" % (d, a),
                "%d mails\n%s" % (len(to_a), r.stderr))
            for raw in to_a:
                bad, _ = check_mail(a, raw, d)
                tap(not bad, "mail_layout %s -> %s" % (d, a), "\n".join(bad))
    allowed = set(a for _, addrs in MAIN.values() for a in addrs)
    tap(set(got) == allowed and len(mails) == sum(len(a) for _, a in MAIN.values()),
        "send_nothing_else (victim, evilrep, overrep's old address, big, hostile)",
        "recipients %s" % sorted(got))
    for d, what in (("unauth.example", "mailto:x@victim.example: skipped: not authorized: TXT "
                     "unauth.example._report._dmarc.victim.example: nxdomain"),
                    ("unauth.example", "mailto:y@spfonly.example: skipped: not authorized: no "
                     "v=DMARC1 record"),
                    ("evilover.example", "on another host: no report to either"),
                    ("big.example", "over the limit of 1024 bytes (the destination's !size)"),
                    ("hostile.example", "mailto: URI with header fields"),
                    ("hostile.example", "holding a blank or control character"),
                    ("multi.example", "https://multi.example/in: skipped: unsupported URI "
                     "scheme"),
                    ("over.example", "sent")):
        tap(re.search(r"signet-reports: %s 2026-12-01 .*%s" % (re.escape(d), re.escape(what)),
                      r.stderr) is not None, "send_logs %s: %s" % (d, what), r.stderr)
    tap("signet-reports: send: 7 sent, 7 skipped, 0 to try again later" in r.stderr,
        "send_summary_line", r.stderr)
    lst = tool(conf, "list", "--all", "--now", str(NOW))
    tap(lst.stdout.count(" done") == len(MAIN) and lst.stdout.count(" open") == 1,
        "every_ended_report_done_and_the_open_day_not", lst.stdout)

    r = tool(conf, "send", "--now", str(NOW + 7200), "--smtp", smtp)
    mails = sink.new_mails()
    tap(r.returncode == 0 and not mails and "0 sent, 0 skipped" in r.stderr,
        "second_send_sends_nothing", "%d mails\n%s" % (len(mails), r.stderr))

    r = tool(conf, "send", "--now", str(NOW + DAY), "--smtp", smtp)
    mails = sink.new_mails()
    tap(len(mails) == 1 and by_rcpt(mails).keys() == {"dmarc@internal.example"},
        "the_next_day_is_sent_once_it_ends", "%d mails\n%s" % (len(mails), r.stderr))


def failure_scenario(tmp, dns_port, sink):
    conf = write_conf(tmp, "fail", dns_port)
    fill(os.path.join(tmp, "fail.db"), {"tf.example": "mailto:tempfail@tf.example",
                                        "pf.example": "mailto:refuse@pf.example"})
    refusing = refusing_server()
    bad = "127.0.0.1:%d" % refusing.server_address[1]
    good = "127.0.0.1:%d" % sink.port

    r = tool(conf, "send", "--now", str(NOW), "--smtp", bad)
    tap(r.returncode == 0 and "tempfail@tf.example: tempfail: RCPT: 451 4.3.0 try later "
        "(try again in 60 min)" in r.stderr, "smtp_451_is_temporary", r.stderr)
    tap("refuse@pf.example: skipped: RCPT: 550 5.1.1 no such user" in r.stderr,
        "smtp_550_is_permanent", r.stderr)
    tap(not any(l.upper().startswith("DATA") for l in refusing.log),
        "no_data_after_a_refused_rcpt", "\n".join(refusing.log))

    r = tool(conf, "send", "--now", str(NOW + 600), "--smtp", good)
    tap(not sink.new_mails() and "0 sent, 0 skipped, 1 to try again later" in r.stderr,
        "tempfail_waits_for_its_next_try", r.stderr)

    r = tool(conf, "send", "--now", str(NOW + 600), "--smtp", "127.0.0.1:%d" % closed_port())
    tap("0 sent" in r.stderr, "closed_port_before_next_try_sends_nothing", r.stderr)

    r = tool(conf, "send", "--now", str(NOW + 7200), "--smtp", "127.0.0.1:%d" % closed_port())
    tap("tempfail@tf.example: tempfail: " in r.stderr and "connect" in r.stderr and
        "(try again in 120 min)" in r.stderr, "connection_refused_is_temporary_with_backoff",
        r.stderr)

    r = tool(conf, "send", "--now", str(NOW + 5 * 3600), "--smtp", good)
    got = by_rcpt(sink.new_mails())
    tap(list(got) == ["tempfail@tf.example"] and len(got["tempfail@tf.example"]) == 1,
        "tempfail_retried_later_and_sent; the 550 never again", "%s\n%s" % (list(got), r.stderr))

    fill(os.path.join(tmp, "fail.db"), {"giveup.example": "mailto:tempfail@giveup.example"})
    tool(conf, "send", "--now", str(NOW), "--smtp", bad)
    r = tool(conf, "send", "--now", str(NOW + 4 * DAY), "--smtp", bad)
    tap("tempfail@giveup.example: skipped: given up after 2 attempts, 3 days after the day "
        "ended: RCPT: 451" in r.stderr, "tempfail_given_up_after_three_days", r.stderr)
    lst = tool(conf, "list", "--now", str(NOW))
    tap(lst.returncode == 0 and "ended" not in lst.stdout, "all_reports_done_after_give_up",
        lst.stdout)
    refusing.shutdown()


FAKE_SENDMAIL = r"""#!/bin/sh
# argv one per line, then stdin; exit by recipient
dir=$(dirname "$0")
n=$(ls "$dir"/call.*.args 2>/dev/null | wc -l)
for a in "$@"; do printf '%s\n' "$a"; done > "$dir/call.$n.args"
cat > "$dir/call.$n.stdin"
for a in "$@"; do rcpt=$a; done
case $rcpt in
tempfail@*) exit 75 ;;
refuse@*) exit 67 ;;
crash@*) if [ ! -e "$dir/crashed" ]; then : > "$dir/crashed"; kill -9 $PPID; sleep 5; fi ;;
esac
exit 0
"""


def sendmail_calls(folder):
    calls = []
    for n in range(1000):
        base = os.path.join(folder, "call.%d" % n)
        if not os.path.exists(base + ".args"):
            break
        with open(base + ".args") as f, open(base + ".stdin", "rb") as g:
            calls.append((f.read().split("\n")[:-1], g.read()))
    return calls


def sendmail_scenario(tmp, dns_port):
    folder = os.path.join(tmp, "sendmail")
    os.mkdir(folder)
    fake = os.path.join(folder, "sendmail")
    with open(fake, "w") as f:
        f.write(FAKE_SENDMAIL)
    os.chmod(fake, 0o755)
    conf = write_conf(tmp, "pipe", dns_port, "ReportSendmail %s -oi -t\n" % fake)
    fill(os.path.join(tmp, "pipe.db"), {"a-crash.example": "mailto:crash@a-crash.example",
                                        "internal.example": "mailto:dmarc@internal.example",
                                        "tf.example": "mailto:tempfail@tf.example",
                                        "pf.example": "mailto:refuse@pf.example"})
    r = tool(conf, "send", "--now", str(NOW))
    calls = sendmail_calls(folder)
    tap(r.returncode == -signal.SIGKILL and len(calls) == 1,
        "crash_while_sending (the fake sendmail kills signet-reports)",
        "exit %d, %d calls\n%s" % (r.returncode, len(calls), r.stderr))

    r = tool(conf, "send", "--now", str(NOW + 60))
    calls = sendmail_calls(folder)
    rcpts = [c[0][-1] for c in calls]
    tap(sorted(rcpts) == sorted(["crash@a-crash.example", "crash@a-crash.example",
                                 "dmarc@internal.example", "tempfail@tf.example",
                                 "refuse@pf.example"]),
        "after_a_crash_only_the_one_in_flight_is_sent_again", "%s\n%s" % (rcpts, r.stderr))
    tap("a-crash.example 2026-12-01 mailto:crash@a-crash.example: was being sent when a run "
        "stopped: sending again" in r.stderr, "the_resend_is_logged", r.stderr)
    args = [c[0] for c in calls if c[0][-1] == "dmarc@internal.example"]
    tap(args == [["-oi", "-f", FROM, "--", "dmarc@internal.example"]],
        "sendmail_argv_names_the_recipient (no -t)", repr(args))
    body = [c[1] for c in calls if c[0][-1] == "dmarc@internal.example"]
    bad, _ = check_mail("dmarc@internal.example", body[0].replace(b"\n", b"\r\n"),
                        "internal.example") if body else (["no call"], None)
    tap(body and b"\r" not in body[0] and not bad, "sendmail_gets_the_mail_with_lf_line_ends",
        "\n".join(bad))
    tap("tempfail@tf.example: tempfail: " in r.stderr and "exited 75 (EX_TEMPFAIL)" in r.stderr,
        "sendmail_ex_tempfail_is_temporary", r.stderr)
    tap("refuse@pf.example: skipped: " in r.stderr and "exited 67" in r.stderr,
        "sendmail_other_status_is_permanent", r.stderr)

    r = tool(conf, "send", "--now", str(NOW + 120))
    tap(len(sendmail_calls(folder)) == len(calls), "third_send_pipes_nothing", r.stderr)

    # --sendmail replaces ReportSendmail
    fill(os.path.join(tmp, "pipe.db"), {"internal.example": "mailto:dmarc@internal.example"},
         begin=D1 + DAY)
    r = tool(conf, "send", "--now", str(NOW + DAY), "--sendmail", fake + " -odq")
    new = [c[0] for c in sendmail_calls(folder)[len(calls):]
           if c[0][-1] == "dmarc@internal.example"]
    tap(new == [["-odq", "-f", FROM, "--", "dmarc@internal.example"]],
        "sendmail_option_replaces_ReportSendmail", repr(new) + "\n" + r.stderr)


def limits_scenario(tmp, dns_port, sink):
    smtp = "127.0.0.1:%d" % sink.port
    conf = write_conf(tmp, "small", dns_port, "ReportMaxSize 1024\n")
    fill(os.path.join(tmp, "small.db"), {"internal.example": "mailto:dmarc@internal.example"},
         rows=40)
    r = tool(conf, "send", "--now", str(NOW), "--smtp", smtp)
    tap(not sink.new_mails() and re.search(r"skipped: the mail of \d+ bytes is over the limit "
                                           r"of 1024 bytes \(ReportMaxSize\)", r.stderr),
        "report_max_size_not_sent_and_said", r.stderr)

    conf = write_conf(tmp, "nofrom", dns_port, report_email=None)
    fill(os.path.join(tmp, "nofrom.db"), {"internal.example": "mailto:dmarc@internal.example"})
    r = tool(conf, "send", "--now", str(NOW), "--smtp", smtp)
    tap(r.returncode == 1 and "ReportEmail is not set" in r.stderr and not sink.new_mails(),
        "no_report_email_no_mail", r.stderr)
    conf = write_conf(tmp, "badfrom", dns_port, report_email="a@b.example, c@d.example")
    r = tool(conf, "send", "--now", str(NOW), "--smtp", smtp)
    tap(r.returncode != 0 and not sink.new_mails(), "bad_report_email_no_mail", r.stderr)
    r = tool(write_conf(tmp, "usage", dns_port), "send", "--smtp", smtp, "--sendmail", "/x")
    tap(r.returncode == 1 and "not both" in r.stderr, "smtp_and_sendmail_refused", r.stderr)


def main():
    for path in (TOOL, FILL):
        if not os.access(path, os.X_OK):
            print("Bail out! %s is not built" % path)
            sys.exit(1)
    tmp = tempfile.mkdtemp(prefix="signet-send-")
    records = os.path.join(tmp, "example.records")
    with open(records, "w") as f:
        f.write(ZONE)
    dns_port, nsd_pid = start_nsd(os.path.join(tmp, "nsd"), {"example": records})
    sink = Sink(tmp, "sink")
    try:
        main_scenario(tmp, dns_port, sink)
        failure_scenario(tmp, dns_port, sink)
        sendmail_scenario(tmp, dns_port)
        limits_scenario(tmp, dns_port, sink)
    finally:
        sink.stop()
        os.kill(nsd_pid, signal.SIGTERM)
    sys.exit(tap.plan_and_clean(tmp))


if __name__ == "__main__":
    main()
