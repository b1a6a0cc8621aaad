#!/usr/bin/python3
"""
NAME
    pipeline.py - DMARC aggregate reports from end to end: messages through the real
    daemon, signet-reports make, the schema, Mail::DMARC, signet-reports send to an SMTP
    sink; the same reports from one daemon into SQLite and from two into Redis

DESCRIPTION
    The pieces have their own tests (tests/daemon/reports.py counts through the daemon,
    tests/reports/make.py and send.py run the tool on stores filled directly); this one
    joins them, with nothing in between but the store:

    1. A private NSD serves tests/daemon/reports.py's zone plus two policy domains
       whose rua= is external: auth.example (its destination publishes
       auth.example._report._dmarc.collector.example) and unauth.example (its
       destination publishes nothing; nor does ext.example's).  Every message of reports.py's plan, and some
       for those two domains, goes through one daemon counting into SQLite, and the
       same messages through two daemons counting into one private redis-server.
    2. signet-reports make (--now: the next day) for both stores: every file validates
       against RFC 9990's schema (xmllint), the <count>s of each report add up to the
       messages sent for its policy domain, each record equals the store's row, and the
       SQLite and Redis reports are the same files, byte for byte.
    3. Mail::DMARC (libmail-dmarc-perl, through make.py's mdparse.pl) reads every report
       and agrees on the domain and the total count.
    4. signet-reports send --smtp to tests/mta/smtpsink.py: one mail to every rua=
       destination of a counted domain except ext.example's and unauth.example's
       (not authorized), each carrying its
       domain's file; a second send sends nothing.
    Emits TAP; a missing nsd, redis-server, xmllint or Mail::DMARC is a failure.
"""
import calendar
import collections
import email
import email.policy
import gzip
import importlib.util
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
TOP_SRCDIR = os.path.join(HERE, "..", "..")
sys.path.insert(0, os.path.join(HERE, "..", "milter"))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
from signettest import Daemon, Tap, free_port, start_nsd, start_redis, wait_listening  # noqa: E402

# tests/daemon/reports.py: its zone, its plan of messages and the MTA that sends them
_spec = importlib.util.spec_from_file_location(
    "daemon_reports", os.path.join(HERE, "..", "daemon", "reports.py"))
collect = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(collect)

TOP_BUILDDIR = os.environ.get("top_builddir", os.path.join(HERE, "..", ".."))
TOOL = os.path.join(TOP_BUILDDIR, "reports", "signet-reports")
SCHEMA = os.path.join(HERE, "dmarc-xml-0.2.xsd")
MDPARSE = os.path.join(HERE, "mdparse.pl")
SINK = os.path.join(HERE, "..", "mta", "smtpsink.py")
NS = "{urn:ietf:params:xml:ns:dmarc-2.0}"
RECEIVER = "mx.ours.example"
# rua= at another Organizational Domain that publishes no _report._dmarc record
UNAUTHORIZED = ("ext.example", "unauth.example")
DAY = 86400

tap = Tap(max_diag=40)


def zone(dkim_record):
    spf = '"v=spf1 ip4:%s -all"' % collect.GOOD
    return collect.zone_records(dkim_record) + "\n".join([
        '_dmarc.auth.example. IN TXT "v=DMARC1; p=none; rua=mailto:agg@collector.example"',
        'auth.example._report._dmarc.collector.example. IN TXT "v=DMARC1"',
        '_dmarc.unauth.example. IN TXT "v=DMARC1; p=none; rua=mailto:x@stranger.example"',
        "auth.example. IN TXT %s" % spf,
        "unauth.example. IN TXT %s" % spf,
    ]) + "\n"


def plan():
    items = [i[:6] + ((i[6] is not None),) for i in collect.plan()]
    for domain in ("auth.example", "unauth.example"):
        for ip in (collect.GOOD, collect.BAD, collect.GOOD):
            items.append(("external_" + domain, ip, "a@" + domain, domain,
                          ["bob@ours.example"], "accept", True))
    return items


def conf(tmp, name, spec, dns_port, store):
    path = os.path.join(tmp, name + ".conf")
    with open(path, "w") as f:
        f.write(collect.conf(spec, dns_port, store, "1h",
                             extra="ReportDomain %s\nReportOrgName Ours\n" % RECEIVER))
    return path


def sent_per_domain(items):
    """Messages expected in the reports, per From domain (the policy domain here)."""
    count = collections.Counter()
    for what, _ip, _mf, from_domain, _r, _a, counted in items:
        if counted:
            policy = "psd.example" if from_domain == "shop.psd.example" else \
                "np.example" if from_domain.endswith(".np.example") else from_domain
            count[policy] += 1
    return count


def run_daemons(tmp, dns_port, key, store, names, items):
    """Sends items round-robin to one daemon per name, all counting into store; SIGTERM
    flushes.  Returns a list of problems."""
    daemons, specs, problems = [], [], []
    try:
        for name in names:
            spec = "inet:%d@127.0.0.1" % free_port()
            daemons.append(Daemon(tmp, collect.conf(spec, dns_port, store, "1h"), name))
            specs.append(spec)
        if not all(wait_listening(s) for s in specs):
            return ["daemons did not start: " + "\n".join(d.log() for d in daemons)]
        want = collect.Want()
        for n, spec in enumerate(specs):
            mine = [i[:6] + (None,) for k, i in enumerate(items) if k % len(specs) == n]
            collect.Mta(spec, key).send(mine, want, problems)
        for d in daemons:
            d.proc.send_signal(signal.SIGTERM)
        statuses = [d.exit_status(timeout=60) for d in daemons]
        if statuses != [0] * len(daemons):
            problems.append("exit statuses %r" % statuses)
    finally:
        for d in daemons:
            d.stop()
    return problems


def make(conf_path, out, now):
    os.mkdir(out)
    r = subprocess.run([TOOL, "-c", conf_path, "make", "--now", str(now), "--out", out],
                       capture_output=True, text=True, timeout=300)
    return r, sorted(os.listdir(out))


def records_of(path):
    root = ET.fromstring(gzip.decompress(open(path, "rb").read()))
    domain = root.find(NS + "policy_published/" + NS + "domain").text
    recs = collections.Counter()
    for rec in root.iter(NS + "record"):
        r = rec.find(NS + "row")
        recs[(r.find(NS + "source_ip").text,
              r.find(NS + "policy_evaluated/" + NS + "disposition").text,
              rec.find(NS + "identifiers/" + NS + "header_from").text)] += \
            int(r.find(NS + "count").text)
    return domain, recs


def store_records(spec):
    rows, policies, err = collect.dump(spec)
    recs = collections.defaultdict(collections.Counter)
    for k, n in rows.items():
        recs[k[0]][(k[1], k[2], k[6])] += n
    return recs, policies, err


def check_reports(tmp, sql_conf, redis_conf, sql_store, redis_store, items, now):
    sql_out, redis_out = os.path.join(tmp, "out-sqlite"), os.path.join(tmp, "out-redis")
    r1, names = make(sql_conf, sql_out, now)
    r2, redis_names = make(redis_conf, redis_out, now)
    tap(r1.returncode == 0 and r2.returncode == 0 and names, "make_from_both_stores",
        r1.stderr + r2.stderr)
    bad = []
    for n in names:
        v = subprocess.run(["xmllint", "--noout", "--schema", SCHEMA,
                            os.path.join(sql_out, n)], capture_output=True, text=True,
                           input=None)
        if v.returncode != 0:
            bad.append(v.stderr[-500:])
    tap(not bad, "every_report_from_the_daemon_validates_against_the_schema", "\n".join(bad))
    want = sent_per_domain(items)
    got = {}
    per_record_problems = []
    stored, _, err = store_records(sql_store)
    for n in names:
        domain, recs = records_of(os.path.join(sql_out, n))
        got[domain] = got.get(domain, 0) + sum(recs.values())
        if recs != stored.get(domain):
            per_record_problems.append("%s: xml %r store %r" % (domain, recs,
                                                               stored.get(domain)))
    tap(got == dict(want), "report_counts_add_up_to_the_messages_sent_per_domain",
        "got %r\nwant %r" % (got, dict(want)))
    tap(err is None and not per_record_problems, "every_record_equals_the_store_row",
        err or "\n".join(per_record_problems))
    same = names == redis_names and all(
        open(os.path.join(sql_out, n), "rb").read() == open(os.path.join(redis_out, n),
                                                             "rb").read() for n in names)
    tap(same, "two_daemons_into_redis_give_the_same_report_files_as_one_into_sqlite",
        "%r\n%r" % (names, redis_names))
    md = subprocess.run(["perl", MDPARSE] + [os.path.join(sql_out, n) for n in names],
                        capture_output=True, text=True)
    agree = md.returncode == 0
    if agree:
        parsed = json.loads(md.stdout)
        totals = {parsed[n]["domain"]: sum(rec["count"] for rec in parsed[n]["records"])
                  for n in names}
        agree = totals == dict(want)
    tap(agree, "mail_dmarc_reads_the_daemons_reports_and_agrees_on_counts",
        md.stderr[-800:] or md.stdout[-800:])
    return names


def check_send(tmp, sql_conf, sql_store, names, now):
    sink_dir = os.path.join(tmp, "sink")
    os.mkdir(sink_dir)
    portfile = os.path.join(tmp, "sink.port")
    sink = subprocess.Popen(["/usr/bin/python3", SINK, sink_dir, portfile])
    try:
        for _ in range(200):
            if os.path.exists(portfile) and os.path.getsize(portfile) > 0:
                break
            time.sleep(0.05)
        port = int(open(portfile).read())
        _, policies, _ = collect.dump(sql_store)
        want = {}
        for domain, fields in policies.items():
            rua = fields[10]
            for uri in rua.split(","):
                addr = uri.strip()[len("mailto:"):].split("!")[0]
                if domain not in UNAUTHORIZED:
                    want[addr] = domain
        r = subprocess.run([TOOL, "-c", sql_conf, "send", "--now", str(now), "--smtp",
                            "127.0.0.1:%d" % port], capture_output=True, text=True,
                           timeout=300)
        got = {}
        for f in sorted(os.listdir(sink_dir)):
            if not f.endswith(".env"):
                continue
            env = open(os.path.join(sink_dir, f)).read().split("\n")
            rcpts = [l[3:].strip("<>") for l in env if l.startswith("to ")]
            msg = email.message_from_bytes(open(os.path.join(sink_dir, f[:-4] + ".eml"),
                                                "rb").read(), policy=email.policy.default)
            files = [p.get_filename() for p in msg.walk() if p.get_filename()]
            for rcpt in rcpts:
                got[rcpt] = files
        ok = set(got) == set(want) and all(
            len(files) == 1 and "!%s!" % want[rcpt] in files[0] and files[0] in names
            for rcpt, files in got.items())
        tap(r.returncode == 0 and ok,
            "send_mails_each_authorized_destination_its_report_and_not_the_unauthorized",
            "rc %d %s\ngot %r\nwant %r" % (r.returncode, r.stderr[-800:], got, want))
        tap(not {"x@stranger.example", "reports@collector.example"} & set(got) and
            r.stderr.count("skipped: not authorized") == len(UNAUTHORIZED),
            "the_unauthorized_external_destinations_are_skipped_and_logged", r.stderr[-800:])
        before = len(os.listdir(sink_dir))
        r = subprocess.run([TOOL, "-c", sql_conf, "send", "--now", str(now), "--smtp",
                            "127.0.0.1:%d" % port], capture_output=True, text=True,
                           timeout=300)
        tap(r.returncode == 0 and len(os.listdir(sink_dir)) == before,
            "a_second_send_sends_nothing", r.stderr[-800:])
    finally:
        sink.terminate()
        sink.wait()


def main():
    tmp = tempfile.mkdtemp(prefix="signet-pipeline-")
    nsd_pid = redis = None
    try:
        key, record = collect.dkim_key()
        records = os.path.join(tmp, "example.records")
        with open(records, "w") as f:
            f.write(zone(record))
        dns_port, nsd_pid = start_nsd(os.path.join(tmp, "nsd"), {"example": records})
        redis, redis_port = start_redis(tmp)
        if not tap(redis is not None, "private_redis_server_starts"):
            return tap.plan_and_clean(tmp)
        sql_store = "sqlite:" + os.path.join(tmp, "reports.db")
        redis_store = "redis://127.0.0.1:%d/0" % redis_port
        items = plan()
        problems = run_daemons(tmp, dns_port, key, sql_store, ["one"], items)
        problems += run_daemons(tmp, dns_port, key, redis_store, ["fleet1", "fleet2"], items)
        tap(not problems, "the_messages_go_through_the_daemons_with_their_usual_verdicts",
            "\n".join(problems))
        today = calendar.timegm(time.gmtime()[:3] + (0, 0, 0))
        now = today + DAY + 60
        sql_conf = conf(tmp, "sql", "inet:1@127.0.0.1", dns_port, sql_store)
        redis_conf = conf(tmp, "redis", "inet:1@127.0.0.1", dns_port, redis_store)
        names = check_reports(tmp, sql_conf, redis_conf, sql_store, redis_store, items, now)
        check_send(tmp, sql_conf, sql_store, names, now)
    except Exception as e:  # a missing tool is a failure, with its reason
        tap(False, "pipeline_test_ran_to_the_end", "%s: %s" % (type(e).__name__, e))
    finally:
        if nsd_pid:
            os.kill(nsd_pid, signal.SIGTERM)
        if redis is not None:
            redis.terminate()
            redis.wait(timeout=20)
    return tap.plan_and_clean(tmp)


if __name__ == "__main__":
    sys.exit(main())
