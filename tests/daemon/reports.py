#!/usr/bin/python3
"""
NAME
    reports.py - DMARC aggregate-report collection through the real daemon: counts that
    add up per row, the messages never counted, SIGHUP and SIGTERM flushes, kill -9, a
    store that is away and comes back, two daemons counting into one Redis

DESCRIPTION
    A private NSD (tests/lib/signettest.py start_nsd) serves one zone, "example", with
    DMARC records of several kinds: int.example (p=reject, rua= in its own domain),
    ext.example (p=quarantine, rua= at another domain), np.example (np=reject, for a
    From domain that does not exist), tmode.example (p=reject t=y), psd.example (psd=y,
    for the From shop.psd.example below it), norua.example (p=reject, no rua=: never
    counted); SPF records that pass 192.0.2.10 and fail 192.0.2.66, and an Ed25519 DKIM
    key for int.example (signing with dkimpy).

    Messages go to the daemon as an MTA sends them (tests/milter/milterclient.py).  The
    store is read with tests/daemon/reportdump (lib/reportstore, so SQLite and Redis
    alike); each row text is decoded as reportrow.h specifies, and the rows are compared
    with the ones expected, count for count.  Not counted: mail to a ReportSkipRecipients
    address, to ReportEmail, to the record's own rua= address, outbound mail (from
    InternalHosts), mail whose record has no rua=.

    ReportFlushInterval is an hour where only a signal may have flushed; 1 s where the
    periodic flush is what is tested.  Redis is a private redis-server on a free loopback
    port, without persistence.  Emits TAP; a missing nsd, redis-server, dkimpy or nacl is
    a failure, not a skip.
"""
import base64
import collections
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path = [p for p in sys.path if os.path.abspath(p or ".") != HERE]   # token.py
sys.path.insert(0, os.path.join(HERE, "..", "milter"))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import milterclient  # noqa: E402
from signettest import (Daemon, Tap, free_port, scrape_metrics, start_nsd,  # noqa: E402
                        start_redis, wait_listening)

TOP_BUILDDIR = os.environ.get("top_builddir", os.path.join(HERE, "..", ".."))
REPORTDUMP = os.path.join(TOP_BUILDDIR, "tests", "daemon", "reportdump")
GOOD, BAD, INTERNAL = "192.0.2.10", "192.0.2.66", "192.0.2.50"

tap = Tap()


# ---- DNS and keys ------------------------------------------------------------------------
def dkim_key():
    import nacl.signing
    sk = nacl.signing.SigningKey.generate()
    return (base64.b64encode(bytes(sk)),
            "v=DKIM1; k=ed25519; p=" + base64.b64encode(bytes(sk.verify_key)).decode())


def zone_records(dkim_record):
    spf = '"v=spf1 ip4:%s -all"' % GOOD
    lines = [
        '_dmarc.int.example. IN TXT "v=DMARC1; p=reject; rua=mailto:agg@int.example"',
        '_dmarc.ext.example. IN TXT "v=DMARC1; p=quarantine; '
        'rua=mailto:reports@collector.example!10m"',
        '_dmarc.np.example. IN TXT "v=DMARC1; p=none; sp=quarantine; np=reject; '
        'rua=mailto:d@np.example"',
        '_dmarc.tmode.example. IN TXT "v=DMARC1; p=reject; t=y; rua=mailto:d@tmode.example"',
        '_dmarc.psd.example. IN TXT "v=DMARC1; p=quarantine; sp=quarantine; psd=y; '
        'rua=mailto:psd@psd.example"',
        '_dmarc.norua.example. IN TXT "v=DMARC1; p=reject"',
        's1._domainkey.int.example. IN TXT "%s"' % dkim_record,
        'shop.psd.example. IN A 192.0.2.1',
    ]
    for d in ("int", "ext", "np", "tmode", "norua", "mx.int"):
        lines.append("%s.example. IN TXT %s" % (d, spf))
    return "\n".join(lines) + "\n"


# ---- messages ----------------------------------------------------------------------------
def message(from_domain, n):
    return ("From: Someone <someone@%s>\r\nTo: bob@ours.example\r\nSubject: report test %d\r\n"
            "Date: Fri, 27 Nov 2026 07:00:00 +0000\r\nMessage-ID: <%d.%s@test>\r\n\r\n"
            "body %d\r\n" % (from_domain, n, n, from_domain, n)).encode()


def signed(msg, key):
    import dkim
    return dkim.sign(msg, b"s1", b"int.example", key, include_headers=[b"from", b"subject"],
                     signature_algorithm=b"ed25519-sha256") + msg


class Want:
    """The rows a test expects: key -> count."""

    def __init__(self):
        self.rows = collections.Counter()

    def add(self, row, n=1):
        self.rows[row] += n


def row(policy, ip, disposition, dkim, spf, header_from, env_from, spf_result,
        reasons=(), dkim_results=(), env_to="ours.example", spf_domain=None):
    """The fields of a row the tests compare (see decode_row)."""
    return (policy, ip, disposition, dkim, spf, tuple(reasons), header_from, env_from,
            env_to, tuple(dkim_results),
            spf_domain if spf_domain is not None else env_from, spf_result)


# (what it is, client, MAIL FROM, From domain, recipients, action, expected row or None)
def plan():
    p = []
    for _ in range(3):
        p.append(("pass_int", GOOD, "a@int.example", "int.example", ["bob@ours.example"],
                  "accept", row("int.example", GOOD, "none", "fail", "pass", "int.example",
                                "int.example", "pass")))
    for _ in range(2):
        p.append(("fail_int_rejected", BAD, "x@int.example", "int.example",
                  ["bob@ours.example"], "reject",
                  row("int.example", BAD, "reject", "fail", "fail", "int.example",
                      "int.example", "fail")))
    for _ in range(2):
        p.append(("pass_ext", GOOD, "a@ext.example", "ext.example", ["bob@ours.example"],
                  "accept", row("ext.example", GOOD, "none", "fail", "pass", "ext.example",
                                "ext.example", "pass")))
    p.append(("fail_ext_quarantined", BAD, "a@ext.example", "ext.example",
              ["carol@ours.example"], "quarantine",
              row("ext.example", BAD, "quarantine", "fail", "fail", "ext.example",
                  "ext.example", "fail")))
    p.append(("np_nonexistent_from_rejected", BAD, "a@np.example", "ghost.np.example",
              ["bob@ours.example"], "reject",
              row("np.example", BAD, "reject", "fail", "fail", "ghost.np.example",
                  "np.example", "fail")))
    for _ in range(2):
        p.append(("t_y_quarantined_not_rejected", BAD, "a@tmode.example", "tmode.example",
                  ["bob@ours.example"], "quarantine",
                  row("tmode.example", BAD, "quarantine", "fail", "fail", "tmode.example",
                      "tmode.example", "fail", reasons=["policy_test_mode"])))
    p.append(("psd_record_applies_below", BAD, "a@shop.psd.example", "shop.psd.example",
              ["bob@ours.example"], "quarantine",
              row("psd.example", BAD, "quarantine", "fail", "fail", "shop.psd.example",
                  "shop.psd.example", "none")))
    p.append(("no_rua_never_counted", GOOD, "a@norua.example", "norua.example",
              ["bob@ours.example"], "accept", None))
    p.append(("no_rua_rejected_never_counted", BAD, "a@norua.example", "norua.example",
              ["bob@ours.example"], "reject", None))
    for rcpts, what in ((["dmarc-in@ours.example"], "report_skip_recipient"),
                        (["NoReply@ours.example"], "report_email"),
                        (["agg@int.example"], "the_records_own_rua"),
                        (["bob@ours.example", "dmarc-in@ours.example"],
                         "one_recipient_of_two_skipped")):
        p.append(("mail_to_%s_not_counted" % what, GOOD, "a@int.example", "int.example",
                  rcpts, "accept", None))
    p.append(("outbound_never_counted", INTERNAL, "a@int.example", "int.example",
              ["bob@ours.example"], "accept", None))
    p.append(("dkim_signed_aligned_pass", BAD, "a@int.example", "int.example",
              ["bob@ours.example"], "accept",
              row("int.example", BAD, "none", "pass", "fail", "int.example", "int.example",
                  "fail", dkim_results=[("int.example", "s1", "pass")])))
    p.append(("null_sender", GOOD, "", "int.example", ["bob@ours.example"], "accept",
              row("int.example", GOOD, "none", "fail", "pass", "int.example", "", "pass",
                  spf_domain="mx.int.example")))
    return p


def action_of(res):
    if res.action == "accept" and res.quarantine:
        return "quarantine"
    return res.action


class Mta:
    """Sends the messages of a plan to one daemon; returns what was expected to count."""
    count = 0

    def __init__(self, spec, key):
        self.spec = spec
        self.key = key

    def send(self, items, want, problems):
        for what, ip, mail_from, from_domain, rcpts, action, expect in items:
            Mta.count += 1
            msg = message(from_domain, Mta.count)
            if what.startswith("dkim_signed"):
                msg = signed(msg, self.key)
            helo = "mx.int.example" if mail_from == "" else "client.example"
            with milterclient.Session(self.spec) as s:
                s.connect(ip, helo=helo)
                res = s.message(msg, mail_from, rcpts, queue_id="R%05d" % Mta.count)
            if action_of(res) != action:
                problems.append("%s: got %s (%r), want %s" % (what, action_of(res), res,
                                                             action))
            if expect is not None:
                want.add(expect)


# ---- the store --------------------------------------------------------------------------
def fields(text):
    return [urllib.parse.unquote(f) for f in text.split("\t")]


def decode_row(policy_domain, text):
    f = fields(text)
    if f[0] != "1":
        raise ValueError("row version %r" % f[0])
    ip, disposition, dkim, spf = f[1:5]
    n = int(f[5])
    reasons = [f[6 + 2 * i] for i in range(n)]
    i = 6 + 2 * n
    header_from, has_env_from, env_from, env_to = f[i:i + 4]
    k = int(f[i + 4])
    j = i + 5
    dkim_results = [tuple(f[j + 3 * x:j + 3 * x + 3]) for x in range(k)]
    spf_domain, spf_result = f[j + 3 * k:j + 3 * k + 2]
    if len(f) != j + 3 * k + 2:
        raise ValueError("row has %d fields" % len(f))
    return (policy_domain, ip, disposition, dkim, spf, tuple(reasons), header_from,
            env_from if has_env_from == "1" else None, env_to, tuple(dkim_results),
            spf_domain, spf_result)


def dump(spec):
    """(rows Counter over all periods, {domain: policy fields}, error text or None)."""
    r = subprocess.run([REPORTDUMP, spec], capture_output=True, text=True)
    rows, policies = collections.Counter(), {}
    if r.returncode != 0:
        return rows, policies, r.stderr.strip() or "reportdump exit %d" % r.returncode
    for line in r.stdout.splitlines():
        kind, _begin, domain, rest = line.split("\t", 3)
        if kind == "R":
            count, text = rest.split("\t", 1)
            rows[decode_row(domain, text)] += int(count)
        else:
            policies[domain] = fields(rest)
    return rows, policies, None


def diff(got, want):
    lines = []
    for k in sorted(set(got) | set(want), key=repr):
        if got[k] != want[k]:
            lines.append("got %d want %d: %r" % (got[k], want[k], k))
    return "\n".join(lines) or "same"


def wait_for(predicate, timeout=15):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


def metrics(port):
    return scrape_metrics(port)


def conf(spec, dns_port, store, interval, metrics_port=None, extra=""):
    return ("Socket %s\nMode v\nAuthservID mx.ours.test\nNameservers 127.0.0.1@%d\n"
            "InternalHosts %s\nDMARCEnforce yes\nLogLevel debug\nDMARCReports yes\n"
            "ReportStore %s\nReportFlushInterval %s\n"
            "ReportSkipRecipients dmarc-in@ours.example\nReportEmail noreply@ours.example\n"
            "%s%s" % (spec, dns_port, INTERNAL, store, interval,
                      "MetricsListen %d\n" % metrics_port if metrics_port else "", extra))


# ---- the cases ---------------------------------------------------------------------------
def signals_flush_every_count(tmp, dns_port, key):
    store = "sqlite:" + os.path.join(tmp, "reports.db")
    spec = "inet:%d@127.0.0.1" % free_port()
    mport = free_port()
    d = Daemon(tmp, conf(spec, dns_port, store, "1h", mport), "hup")
    try:
        if not tap(wait_listening(spec), "daemon_with_dmarc_reports_starts", d.log()):
            return
        want, problems = Want(), []
        items = plan()
        Mta(spec, key).send(items, want, problems)
        tap(not problems, "every message gets its usual verdict; collecting delays none",
            "\n".join(problems))
        rows, _, err = dump(store)
        tap(err is None and not rows, "nothing is in the store before a flush (interval 1h)",
            err or diff(rows, collections.Counter()))
        m = metrics(mport)
        tap(m.get("signet_dmarc_report_messages_total") == sum(want.rows.values()) and
            m.get("signet_dmarc_report_rows_in_memory") == len(want.rows),
            "metrics: messages counted and rows in memory",
            {k: v for k, v in m.items() if "dmarc_report" in k})

        d.proc.send_signal(signal.SIGHUP)
        flushed = d.wait_log("DMARC reports: flushed %d row(s)" % len(want.rows))
        rows, policies, err = dump(store)
        tap(flushed and err is None and rows == want.rows,
            "sighup_flushes_every_count_exactly_per_row", err or diff(rows, want.rows))
        seen = set()
        for what, _, _, _, _, _, expect in items:
            if expect is not None and what not in seen:
                seen.add(what)
                tap(rows[expect] == want.rows[expect], "counted_%s (%d)" % (what, rows[expect]),
                    diff(rows, want.rows))
        names = [i[0] for i in items if i[6] is None]
        counted_domains = {r[6] for r in rows}
        tap("norua.example" not in counted_domains and
            sum(rows.values()) == sum(1 for i in items if i[6] is not None),
            "not_counted: " + ", ".join(sorted(set(names))), diff(rows, want.rows))
        pol = policies.get("np.example", [])
        tap(pol[:12] == ["1", "np.example", "treewalk", "none", "quarantine", "reject", "r",
                         "r", "n", "", "mailto:d@np.example", ""],
            "policy_published_as_in_dns_np_sp", pol)
        pol = policies.get("tmode.example", [])
        tap(len(pol) > 8 and pol[3] == "reject" and pol[8] == "y",
            "policy_published_testing_y", pol)
        m = metrics(mport)
        tap(m.get("signet_dmarc_report_flushes_total", 0) >= 1 and
            m.get("signet_dmarc_report_rows_in_memory") == 0 and
            m.get("signet_dmarc_report_store_up") == 1 and
            "signet_dmarc_reports_pending" in m,
            "metrics after the flush: flushes, nothing in memory, store up, store figures",
            {k: v for k, v in m.items() if "dmarc_report" in k})

        more = [i for i in items if i[0] in ("pass_int", "t_y_quarantined_not_rejected",
                                            "mail_to_report_email_not_counted")]
        Mta(spec, key).send(more, want, problems)
        d.proc.send_signal(signal.SIGTERM)
        status = d.exit_status(timeout=60)
        rows, _, err = dump(store)
        tap(status == 0 and err is None and rows == want.rows,
            "sigterm_flushes_every_count_before_exit",
            "exit %r\n%s" % (status, err or diff(rows, want.rows)))
    finally:
        d.stop()


def kill9_loses_at_most_an_interval(tmp, dns_port, key):
    path = os.path.join(tmp, "kill9.db")
    store = "sqlite:" + path
    spec = "inet:%d@127.0.0.1" % free_port()
    d = Daemon(tmp, conf(spec, dns_port, store, "1s"), "kill9")
    try:
        if not tap(wait_listening(spec), "kill9_daemon_starts", d.log()):
            return
        want, problems = Want(), []
        first = [i for i in plan() if i[0] == "pass_int"] * 2
        Mta(spec, key).send(first, want, problems)
        tap(wait_for(lambda: dump(store)[0] == want.rows),
            "the_periodic_flush_writes_within_the_interval", diff(dump(store)[0], want.rows))
        second = [i for i in plan() if i[0] == "pass_ext"] * 2
        Mta(spec, key).send(second, Want(), problems)
        d.proc.kill()
        d.proc.wait()
        rows, _, err = dump(store)
        kept = sum(rows.values())
        tap(err is None and all(rows[k] >= n for k, n in want.rows.items()) and
            6 <= kept <= 6 + 4, "kill_9_loses_at_most_the_last_interval (%d of 10 kept)" % kept,
            err or diff(rows, want.rows))
        db = sqlite3.connect(path)
        check = db.execute("PRAGMA integrity_check").fetchall()
        db.close()
        tap(check == [("ok",)], "store_passes_integrity_check_after_kill_9", check)
        tap(not problems, "kill9_messages_verdicts", "\n".join(problems))
    finally:
        d.stop()


def store_away_and_back(tmp, dns_port, key):
    folder = os.path.join(tmp, "later")
    store = "sqlite:" + os.path.join(folder, "reports.db")
    spec = "inet:%d@127.0.0.1" % free_port()
    mport = free_port()
    d = Daemon(tmp, conf(spec, dns_port, store, "1s", mport), "away")
    try:
        if not tap(wait_listening(spec), "daemon_with_an_unavailable_store_starts", d.log()):
            return
        want, problems = Want(), []
        items = [i for i in plan() if i[0] in ("pass_int", "fail_int_rejected")]
        start = time.monotonic()
        Mta(spec, key).send(items, want, problems)
        took = time.monotonic() - start
        tap(not problems and took < 20, "store_unavailable_messages_still_get_their_verdicts "
            "(%.1f s)" % took, "\n".join(problems))
        tap(d.wait_log("DMARC reports: ReportStore %s unavailable" % store),
            "store_unavailable_logged", d.log()[-2000:])
        m = metrics(mport)
        tap(m.get("signet_dmarc_report_store_errors_total", 0) >= 1 and
            m.get("signet_dmarc_report_store_up") == 0 and
            m.get("signet_dmarc_report_rows_in_memory") == len(want.rows),
            "store_unavailable_metrics_errors_and_rows_waiting",
            {k: v for k, v in m.items() if "dmarc_report" in k})
        tap(d.log().count("ReportStore %s unavailable" % store) == 1,
            "store_unavailable_logged_once_per_episode", d.log()[-2000:])
        os.mkdir(folder)
        tap(d.wait_log("DMARC reports: ReportStore %s is back" % store),
            "store_back_logged", d.log()[-2000:])
        rows, _, err = dump(store)
        tap(err is None and rows == want.rows, "counts_kept_in_memory_reach_the_store_once_back",
            err or diff(rows, want.rows))
    finally:
        d.stop()


def two_daemons_one_redis(tmp, dns_port, key):
    try:
        redis, port = start_redis(tmp)
    except FileNotFoundError:
        redis = None
    if not tap(redis is not None, "private_redis_server_starts"):
        return
    store = "redis://127.0.0.1:%d/0" % port
    daemons, specs = [], []
    try:
        for name in ("fleet1", "fleet2"):
            spec = "inet:%d@127.0.0.1" % free_port()
            daemons.append(Daemon(tmp, conf(spec, dns_port, store, "1h"), name))
            specs.append(spec)
        if not tap(all(wait_listening(s) for s in specs), "two_daemons_on_one_redis_start",
                   "\n".join(d.log() for d in daemons)):
            return
        want, problems = Want(), []
        items = plan()
        a = [i for i in items if i[0] in ("pass_int", "fail_ext_quarantined")]
        b = [i for i in items if i[0] in ("pass_int", "t_y_quarantined_not_rejected",
                                          "mail_to_report_skip_recipient_not_counted")]
        Mta(specs[0], key).send(a, want, problems)
        Mta(specs[1], key).send(b, want, problems)
        for d in daemons:
            d.proc.send_signal(signal.SIGTERM)
        statuses = [d.exit_status(timeout=60) for d in daemons]
        rows, _, err = dump(store)
        tap(statuses == [0, 0] and err is None and rows == want.rows and not problems,
            "redis_store_sums_the_counts_of_two_daemons",
            "exit %r\n%s\n%s" % (statuses, err or diff(rows, want.rows), "\n".join(problems)))
    finally:
        for d in daemons:
            d.stop()
        redis.terminate()
        redis.wait(timeout=20)


def main():
    tmp = tempfile.mkdtemp(prefix="signet-reports-")
    nsd_pid = None
    try:
        key, record = dkim_key()
        records = os.path.join(tmp, "example.records")
        with open(records, "w") as f:
            f.write(zone_records(record))
        dns_port, nsd_pid = start_nsd(os.path.join(tmp, "nsd"), {"example": records})
        signals_flush_every_count(tmp, dns_port, key)
        kill9_loses_at_most_an_interval(tmp, dns_port, key)
        store_away_and_back(tmp, dns_port, key)
        two_daemons_one_redis(tmp, dns_port, key)
    except Exception as e:  # a missing tool is a failure, with its reason
        tap(False, "reports_test_ran_to_the_end", "%s: %s" % (type(e).__name__, e))
    finally:
        if nsd_pid:
            os.kill(nsd_pid, signal.SIGTERM)
    return tap.plan_and_clean(tmp)


if __name__ == "__main__":
    sys.exit(main())
