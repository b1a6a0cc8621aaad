#!/usr/bin/python3
"""
NAME
    make.py - signet-reports list, make and expire (RFC 9990 aggregate reports) on a
    SQLite store filled as the daemon fills it

DESCRIPTION
    tests/reports/store-fill puts rows into the store through lib/reportstore (several
    flushes, so counters add up): three policy domains over three UTC days, hundreds of
    distinct rows, and hostile values (< & > quotes, bytes that are not UTF-8, control
    characters, an empty DKIM selector).  Then, with --now in the third day:
      - list shows every report with its messages, rows and state;
      - make writes one file per ended (domain, day) and none for the open day, named
        receiver!domain!begin!end!unique-id.xml.gz;
      - every file is valid against tests/reports/dmarc-xml-0.2.xsd (xmllint), as is
        the copied sample (a check of the schema and of xmllint themselves);
      - Python's XML parser finds exactly the stored rows, each with its summed count,
        the hostile text decoded to what was stored (or U+FFFD where XML cannot hold it);
      - Mail::DMARC (tests/reports/mdparse.pl) agrees on domain, period, Report-ID and
        every record's count and results;
      - make again gives the same names and bytes; counts flushed late change the
        content, not the name;
      - expire drops only reports done and ReportKeep past their day;
      - errors: rows the schema cannot hold, a policy domain that is no domain name, a
        bad receiver, usage errors; each with its exit status and message.
    Emits TAP.  Nothing is skipped: a missing xmllint or Mail::DMARC fails.
"""
import gzip
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
from signettest import Tap  # noqa: E402

TOP_BUILDDIR = os.environ.get("top_builddir", os.path.join(HERE, "..", ".."))
TOOL = os.path.join(TOP_BUILDDIR, "reports", "signet-reports")
FILL = os.path.join(TOP_BUILDDIR, "tests", "reports", "store-fill")
SCHEMA = os.path.join(HERE, "dmarc-xml-0.2.xsd")
SAMPLE = os.path.join(HERE, "dmarc-xml-0.2-sample.xml")
MDPARSE = os.path.join(HERE, "mdparse.pl")
NS = "urn:ietf:params:xml:ns:dmarc-2.0"
Q = "{%s}" % NS

DAY = 86400
D1 = 1796428800            # 2026-12-05T00:00:00Z
D2 = D1 + DAY
D3 = D2 + DAY              # open: --now is in this day
NOW = "2026-12-07T13:00:00Z"
RECEIVER = "mx.example.net"
FFFD = "\ufffd"
KEEP = 14 * DAY

tap = Tap(max_diag=40)


# ---- the row and policy texts of lib/reportrow.h --------------------------------------

def pct(value):
    """reportrow.h's field encoding: bytes below 0x21, above 0x7e, and '%' as %XX."""
    raw = value if isinstance(value, bytes) else value.encode()
    return "".join("%%%02X" % b if b < 0x21 or b > 0x7e or b == 0x25 else chr(b) for b in raw)


def row_text(r):
    f = ["1", r["ip"], r["disp"], r["dkim_al"], r["spf_al"], str(len(r["reasons"]))]
    for t, c in r["reasons"]:
        f += [t, c]
    f += [r["hfrom"], "1" if r["efrom"] is not None else "0", r["efrom"] or b"", r["eto"],
          str(len(r["dkim"]))]
    for d in r["dkim"]:
        f += list(d)
    f += [r["spf_dom"], r["spf_res"]]
    return "\t".join(pct(x) if i else x for i, x in enumerate(f))


def policy_text(p):
    f = ["1", p["domain"], p["disc"], p["p"], p["sp"], p["np"], p["adkim"], p["aspf"],
         p["t"], p["fo"], p["rua"], ""]
    return "\t".join(pct(x) if i else x for i, x in enumerate(f))


def xml_text(value):
    """What a value reads as once in the XML: valid UTF-8 kept, every other byte and
    every control character as U+FFFD (the test's values use only lone bad bytes)."""
    raw = value if isinstance(value, bytes) else value.encode()
    out, i = [], 0
    while i < len(raw):
        for n in (4, 3, 2, 1):
            try:
                ch = raw[i:i + n].decode("utf-8")
            except UnicodeDecodeError:
                continue
            if len(ch) == 1:
                break
        else:
            ch, n = FFFD, 1
        out.append(FFFD if ord(ch) < 0x20 or 0x7f <= ord(ch) <= 0x9f else ch)
        i += n
    return "".join(out)


# ---- the data -------------------------------------------------------------------------

POLICIES = {
    "example.com": dict(domain="example.com", disc="treewalk", p="reject", sp="quarantine",
                        np="", adkim="s", aspf="r", t="n", fo="", rua="mailto:d@example.com"),
    "example.org": dict(domain="example.org", disc="psl", p="none", sp="", np="reject",
                        adkim="r", aspf="r", t="y", fo="1", rua="mailto:r@example.org"),
    "hostile.example": dict(domain="hostile.example", disc="treewalk", p="quarantine", sp="",
                            np="", adkim="r", aspf="s", t="n", fo="", rua="mailto:x@h.example"),
}

HOSTILE = [
    b"ev<il>&\"quote'.example",
    b"bad\xff\xfebytes.example",
    b"caf\xc3\xa9.example",
    b"ctl\x01\x7f.example",
    b"]]><!--x-->&amp;.example",
]


def make_row(i, domain):
    reasons = []
    if i % 7 == 0:
        reasons.append(("local_policy", "allowed by <site> & 'list'"))
    if i % 11 == 0:
        reasons.append(("trusted_forwarder", ""))
    dkim = [(domain, "s%d" % (i % 3), "pass")]
    if i % 5 == 0:
        dkim.append((b"other.example", b"", "permerror"))
    if i % 13 == 0:
        dkim.append((b"third.example", b"sel<3>", "fail"))
    return {
        "ip": "192.0.2.%d" % (i % 250) if i % 4 else "2001:db8::%x" % i,
        "disp": ("none", "quarantine", "reject")[i % 3],
        "dkim_al": ("pass", "fail")[i % 2],
        "spf_al": ("fail", "pass")[(i // 2) % 2],
        "reasons": reasons,
        "hfrom": domain if i % 9 else "sub%d.%s" % (i, domain),
        "efrom": None if i % 17 == 0 else (b"" if i % 19 == 0 else ("bounce.%s" % domain).encode()),
        "eto": "" if i % 6 == 0 else "rcpt%d.example.net" % (i % 4),
        "dkim": dkim,
        "spf_dom": "" if i % 23 == 0 else "bounce.%s" % domain,
        "spf_res": ("pass", "softfail", "fail", "neutral", "none", "temperror")[i % 6],
    }


def hostile_row(i):
    h = HOSTILE[i % len(HOSTILE)]
    return {
        "ip": "198.51.100.%d" % i, "disp": "quarantine", "dkim_al": "fail", "spf_al": "fail",
        "reasons": [("other", b"comment <&> \xff\x02 'q' \"qq\"")],
        "hfrom": h, "efrom": h, "eto": h,
        "dkim": [(h, b"sel'\"<>&\xff", "fail"), (b"", b"", "none")],
        "spf_dom": h, "spf_res": "permerror",
    }


def build_data():
    """[(begin, domain, row, count)] in flush order; rows repeat across flushes."""
    adds = []
    for begin, n in ((D1, 300), (D2, 40), (D3, 5)):
        for i in range(n):
            adds.append((begin, "example.com", make_row(i, "example.com"), 1 + i % 9))
        for i in range(n // 10 + 1):
            adds.append((begin, "example.org", make_row(i + 1000, "example.org"), 2))
    for i in range(10):
        adds.append((D1, "hostile.example", hostile_row(i), 3))
    # a second flush of the same rows: the counts add up
    adds += [(b, d, r, 5) for (b, d, r, _) in adds[:50]]
    return adds


def fill(store, adds, done=()):
    lines, last = [], None
    for k, (begin, domain, row, count) in enumerate(adds):
        if domain != last:
            lines.append("P\t" + policy_text(POLICIES[domain]))
            last = domain
        lines.append("R\t%d\t%d\t%s" % (begin, count, row_text(row)))
        if k % 97 == 96:
            lines.append("F")
    for begin, domain, when in done:
        lines.append("D\t%d\t%s\t%d" % (begin, domain, when))
    return subprocess.run([FILL, "sqlite:" + store], input="\n".join(lines) + "\n",
                          capture_output=True, text=True)


def expected_reports(adds, ended_by):
    """{(begin, domain): {record_key: count}} of what the XML must hold."""
    want = {}
    for begin, domain, row, count in adds:
        if begin + DAY > ended_by:
            continue
        key = row_key(row)
        rep = want.setdefault((begin, domain), {})
        rep[key] = rep.get(key, 0) + count
    return want


def row_key(r):
    """A record as both the stored row and the parsed XML can express it."""
    return (
        r["ip"], r["disp"], r["dkim_al"], r["spf_al"],
        tuple((t, xml_text(c) if c else None) for t, c in r["reasons"]),
        xml_text(r["hfrom"]),
        None if r["efrom"] is None else xml_text(r["efrom"]),
        xml_text(r["eto"]) if r["eto"] else None,
        tuple((xml_text(d), xml_text(s), res) for d, s, res in r["dkim"]),
        (xml_text(r["spf_dom"]), "mfrom", r["spf_res"]) if r["spf_dom"] else None,
    )


def parsed_key(rec):
    def text(el, path):
        node = el.find(path)
        return None if node is None else (node.text or "")
    pe = rec.find(Q + "row/" + Q + "policy_evaluated")
    return (
        text(rec, Q + "row/" + Q + "source_ip"), text(pe, Q + "disposition"),
        text(pe, Q + "dkim"), text(pe, Q + "spf"),
        tuple((text(r, Q + "type"), text(r, Q + "comment")) for r in pe.findall(Q + "reason")),
        text(rec, Q + "identifiers/" + Q + "header_from"),
        text(rec, Q + "identifiers/" + Q + "envelope_from"),
        text(rec, Q + "identifiers/" + Q + "envelope_to"),
        tuple((text(d, Q + "domain"), text(d, Q + "selector"), text(d, Q + "result"))
              for d in rec.findall(Q + "auth_results/" + Q + "dkim")),
        None if rec.find(Q + "auth_results/" + Q + "spf") is None else tuple(
            text(rec.find(Q + "auth_results/" + Q + "spf"), Q + x)
            for x in ("domain", "scope", "result")),
    )


# ---- running the tool -----------------------------------------------------------------

def tool(conf, *args):
    return subprocess.run([TOOL, "-c", conf] + list(args), capture_output=True, text=True)


def write_conf(tmp, name, store, extra=""):
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        f.write("ReportStore sqlite:%s\nReportDomain %s\nReportOrgName Example <Org> & Co\n"
                "ReportEmail dmarc-noreply@example.net\nReportKeep 14d\n%s"
                % (store, RECEIVER, extra))
    return path


def files_in(folder):
    return sorted(n for n in os.listdir(folder) if not n.startswith("."))


FILENAME = re.compile(r"^([a-z0-9.-]+)!([a-z0-9.-]+)!(\d+)!(\d+)!([A-Za-z0-9]+)\.xml\.gz$")


def check_schema_tools():
    r = subprocess.run(["xmllint", "--noout", "--schema", SCHEMA, SAMPLE], capture_output=True,
                       text=True)
    tap(r.returncode == 0, "sample_validates_against_the_copied_schema", r.stderr)


def check_list(conf, adds):
    r = tool(conf, "list", "--now", NOW)
    lines = r.stdout.splitlines()
    want = {}
    for begin, domain, row, count in adds:
        w = want.setdefault((begin, domain), [0, set()])
        w[0] += count
        w[1].add(row_text(row))
    expect = ["# day begin domain messages rows state"]
    days = {D1: "2026-12-05", D2: "2026-12-06", D3: "2026-12-07"}
    for (begin, domain) in sorted(want):
        expect.append("%s %d %s %d %d %s" % (days[begin], begin, domain, want[(begin, domain)][0],
                                            len(want[(begin, domain)][1]),
                                            "open" if begin == D3 else "ended"))
    tap(r.returncode == 0 and lines == expect, "list_shows_every_report_with_counts_and_state",
        "rc=%d\n%s\n-- want --\n%s" % (r.returncode, r.stdout + r.stderr, "\n".join(expect)))
    return want


def check_files(out, adds, stdout):
    names = files_in(out)
    want = expected_reports(adds, D3)
    seen = set()
    ok_names = True
    for n in names:
        m = FILENAME.match(n)
        if not m or m.group(1) != RECEIVER or int(m.group(4)) != int(m.group(3)) + DAY - 1:
            ok_names = False
            continue
        seen.add((int(m.group(3)), m.group(2)))
    tap(ok_names and seen == set(want), "make_one_file_per_ended_domain_and_day_named_per_abnf",
        "%s\nwant %s" % (names, sorted(want)))
    tap(sorted(os.path.basename(p) for p in stdout.split()) == names,
        "make_prints_each_path_written", stdout)
    tap(not any(n.split("!")[2] == str(D3) for n in names), "make_leaves_the_open_day_alone",
        "\n".join(names))
    return names, want


def check_schema(out, names):
    bad = []
    for n in names:
        r = subprocess.run(["xmllint", "--noout", "--schema", SCHEMA, os.path.join(out, n)],
                           capture_output=True, text=True)
        if r.returncode != 0:
            bad.append(n + ": " + r.stderr)
    tap(names and not bad, "every_report_validates_against_the_schema", "\n".join(bad))


def check_contents(out, names, want):
    problems = []
    total_xml = total_want = 0
    for n in names:
        m = FILENAME.match(n)
        begin, domain, uid = int(m.group(3)), m.group(2), m.group(5)
        root = ET.fromstring(gzip.open(os.path.join(out, n)).read())
        meta = root.find(Q + "report_metadata")
        pol = root.find(Q + "policy_published")
        checks = [
            (root.tag == Q + "feedback", "namespace"),
            (root.findtext(Q + "version") == "1.0", "version"),
            (meta.findtext(Q + "org_name") == "Example <Org> & Co", "org_name"),
            (meta.findtext(Q + "email") == "dmarc-noreply@example.net", "email"),
            (meta.findtext(Q + "report_id") == uid, "report_id is the unique-id"),
            (meta.findtext(Q + "date_range/" + Q + "begin") == str(begin), "begin"),
            (meta.findtext(Q + "date_range/" + Q + "end") == str(begin + DAY - 1), "end"),
            (meta.findtext(Q + "generator", "").startswith("Signet "), "generator"),
            (pol.findtext(Q + "domain") == domain, "policy domain"),
            (pol.findtext(Q + "p") == POLICIES[domain]["p"], "p"),
            (pol.findtext(Q + "sp") == (POLICIES[domain]["sp"] or None), "sp"),
            (pol.findtext(Q + "np") == (POLICIES[domain]["np"] or None), "np"),
            (pol.findtext(Q + "testing") == POLICIES[domain]["t"], "testing"),
            (pol.findtext(Q + "fo") == (POLICIES[domain]["fo"] or None), "fo"),
        ]
        problems += ["%s: %s" % (n, what) for ok, what in checks if not ok]
        got = {}
        for rec in root.findall(Q + "record"):
            key = parsed_key(rec)
            if key in got:
                problems.append("%s: two records for %r" % (n, key))
            got[key] = int(rec.findtext(Q + "row/" + Q + "count"))
        expect = want[(begin, domain)]
        if got != expect:
            missing = [k for k in expect if got.get(k) != expect[k]][:3]
            extra = [k for k in got if k not in expect][:3]
            problems.append("%s: records differ\nwant %r\ngot  %r" % (
                n, [(k, expect[k]) for k in missing], [(k, got.get(k)) for k in missing + extra]))
        total_xml += sum(got.values())
        total_want += sum(expect.values())
    tap(not problems and total_xml == total_want,
        "every_record_and_count_matches_the_store_exactly",
        "\n".join(problems) + "\ntotal %d want %d" % (total_xml, total_want))


def check_hostile(out, names):
    n = [x for x in names if "!hostile.example!" in x][0]
    raw = gzip.open(os.path.join(out, n)).read()
    root = ET.fromstring(raw)
    froms = {r.findtext(Q + "identifiers/" + Q + "header_from") for r in root.findall(Q + "record")}
    want = {xml_text(h) for h in HOSTILE}
    tap(froms == want, "hostile_text_reads_back_as_stored_or_as_u_fffd",
        "got %r\nwant %r" % (froms, want))
    tap(b"\xff" not in raw and b"\x01" not in raw and b"]]><!--" not in raw,
        "hostile_bytes_never_reach_the_file_raw", raw[:400])
    sels = [d.findtext(Q + "selector") for r in root.findall(Q + "record")
            for d in r.findall(Q + "auth_results/" + Q + "dkim")]
    tap("" in [s or "" for s in sels] and "sel'\"<>&" + FFFD in sels,
        "dkim_selector_empty_and_hostile_are_written", repr(sels[:6]))


def check_mail_dmarc(out, names, want):
    r = subprocess.run(["perl", MDPARSE] + [os.path.join(out, n) for n in names],
                       capture_output=True, text=True)
    if not tap(r.returncode == 0, "mail_dmarc_reads_every_report", r.stderr):
        return
    parsed = json.loads(r.stdout)
    problems = []
    for n in names:
        m = FILENAME.match(n)
        begin, domain, uid = int(m.group(3)), m.group(2), m.group(5)
        md = parsed[n]
        if (md["domain"], md["begin"], md["end"], md["report_id"], md["file_submitter"],
                md["file_domain"], md["p"]) != (domain, begin, begin + DAY - 1, uid, RECEIVER,
                                                domain, POLICIES[domain]["p"]):
            problems.append("%s: metadata %r" % (n, {k: v for k, v in md.items() if k != "records"}))
        expect = {}
        for key, count in want[(begin, domain)].items():
            ip, disp, dal, sal, _, hfrom, efrom, eto, dkim, spf = key
            # Mail::DMARC fills a missing envelope_to with the receiver of the file name
            k = (ip, disp, dal, sal, hfrom, efrom or "", eto or RECEIVER, len(dkim),
                 tuple(dkim[0]) if dkim else None, spf)
            expect[k] = expect.get(k, 0) + count
        got = {}
        for rec in md["records"]:
            first = rec["dkim_first"]
            spf = rec["spf"]
            k = (rec["source_ip"], rec["disposition"], rec["dkim_aligned"], rec["spf_aligned"],
                 rec["header_from"], rec["envelope_from"] or "", rec["envelope_to"] or "",
                 rec["dkim_count"],
                 (first["domain"], first["selector"], first["result"]) if first else None,
                 (spf["domain"], spf["scope"], spf["result"]) if spf else None)
            got[k] = got.get(k, 0) + rec["count"]
        if got != expect:
            diff = [(k, expect.get(k), got.get(k)) for k in set(got) | set(expect)
                    if got.get(k) != expect.get(k)][:3]
            problems.append("%s: records differ (key, want, got) %r" % (n, diff))
    tap(not problems, "mail_dmarc_agrees_on_domain_period_id_and_every_count",
        "\n".join(problems))


def check_remake(conf, tmp, out, names, store, adds):
    out2 = os.path.join(tmp, "out2")
    os.mkdir(out2)
    r = tool(conf, "make", "--now", NOW, "--out", out2)
    same = r.returncode == 0 and files_in(out2) == names and all(
        open(os.path.join(out, n), "rb").read() == open(os.path.join(out2, n), "rb").read()
        for n in names)
    tap(same, "make_again_gives_the_same_names_and_bytes", r.stderr)
    late = [(D1, "example.com", make_row(0, "example.com"), 1000)]
    r1 = fill(store, late)
    r = tool(conf, "make", "--now", NOW, "--out", out2)
    target = [n for n in names if n.split("!")[1:3] == ["example.com", str(D1)]][0]
    root = ET.fromstring(gzip.open(os.path.join(out2, target)).read())
    counts = sum(int(c.text) for c in root.iter(Q + "count"))
    want = sum(c for b, d, _, c in adds + late if b == D1 and d == "example.com")
    tap(r1.returncode == 0 and r.returncode == 0 and files_in(out2) == names and counts == want,
        "late_counts_change_the_content_not_the_name",
        "%s%s names %s counts %d want %d" % (r1.stderr, r.stderr, files_in(out2), counts, want))
    return adds + late


def check_expire(conf, store):
    # D1 example.com and D2 example.com done; D1 example.org not done.
    r = fill(store, [], done=[(D1, "example.com", D2 + 10), (D2, "example.com", D3 + 10)])
    tap(r.returncode == 0, "store_marks_reports_done", r.stderr)
    r = tool(conf, "list", "--now", NOW)
    shown = [l.split(" ")[1:3] for l in r.stdout.splitlines()[1:]]
    tap(r.returncode == 0 and [str(D1), "example.com"] not in shown
        and [str(D2), "example.com"] not in shown and [str(D1), "example.org"] in shown,
        "list_hides_done_reports", r.stdout)
    r = tool(conf, "list", "--all", "--now", NOW)
    tap("2026-12-05 %d example.com" % D1 in r.stdout and r.stdout.count(" done\n") == 2,
        "list_all_shows_done_reports", r.stdout)
    edge = D1 + DAY + KEEP
    r = tool(conf, "expire", "--now", str(edge - 1))
    tap(r.returncode == 0 and r.stdout == "expired 0\n", "expire_keeps_done_reports_until_report_keep",
        r.stdout + r.stderr)
    r = tool(conf, "expire", "--now", str(edge))
    tap(r.returncode == 0 and r.stdout == "expired 1\n", "expire_drops_done_report_after_report_keep",
        r.stdout + r.stderr)
    r = tool(conf, "list", "--all", "--now", str(edge))
    lines = r.stdout.splitlines()
    tap(not any(l.startswith("2026-12-05 %d example.com " % D1) for l in lines)
        and any(l.startswith("2026-12-05 %d example.org " % D1) for l in lines)
        and any(l.startswith("2026-12-06 %d example.com " % D2) for l in lines),
        "expire_drops_only_done_and_old_reports", r.stdout)
    r = tool(conf, "expire", "--now", str(edge + 365 * DAY))
    r2 = tool(conf, "list", "--all", "--now", str(edge + 365 * DAY))
    tap(r.stdout == "expired 1\n" and "example.org" in r2.stdout and "hostile.example" in r2.stdout,
        "expire_never_drops_reports_not_done", r.stdout + r2.stdout)


def check_errors(tmp):
    store = os.path.join(tmp, "bad.db")
    conf = write_conf(tmp, "bad.conf", store)
    POLICIES["under_score.example"] = dict(POLICIES["example.com"], domain="under_score.example")
    refused = dict(make_row(1, "example.com"), disp="discard")
    badres = dict(make_row(2, "example.com"), spf_res="unknown",
                  dkim=[("example.com", "s1", "softfail")])
    adds = [(D1, "example.com", make_row(3, "example.com"), 4), (D1, "example.com", refused, 6),
            (D1, "example.com", badres, 2), (D1, "under_score.example", make_row(4, "x.example"), 1)]
    r = fill(store, adds)
    tap(r.returncode == 0, "error_store_filled", r.stderr)
    out = os.path.join(tmp, "badout")
    os.mkdir(out)
    r = tool(conf, "make", "--now", NOW, "--out", out)
    names = files_in(out)
    tap(r.returncode == 1 and len(names) == 1 and "!example.com!" in names[0],
        "make_goes_on_past_a_report_it_cannot_name_and_exits_1", r.stdout + r.stderr)
    tap("under_score.example" in r.stderr and "domain names" in r.stderr,
        "make_says_why_a_report_has_no_file_name", r.stderr)
    tap("1 rows (6 messages) left out" in r.stderr, "make_says_how_many_rows_it_left_out",
        r.stderr)
    tap("2 DKIM/SPF results" in r.stderr, "make_says_how_many_values_it_left_out", r.stderr)
    if names:
        raw = gzip.open(os.path.join(out, names[0])).read()
        root = ET.fromstring(raw)
        v = subprocess.run(["xmllint", "--noout", "--schema", SCHEMA, "-"], input=raw,
                           capture_output=True)
        tap(sum(int(c.text) for c in root.iter(Q + "count")) == 6 and v.returncode == 0
            and b"softfail" not in raw and b"unknown" not in raw and b"discard" not in raw,
            "report_without_unwritable_values_still_validates", v.stderr.decode() + raw.decode())
    del POLICIES["under_score.example"]

    badname = os.path.join(tmp, "badname.conf")
    with open(badname, "w") as f:
        f.write("ReportStore sqlite:%s\nReportDomain bad_name!.example\n" % store)
    r = tool(badname, "make", "--now", NOW, "--out", out)
    tap(r.returncode == 1 and "ReportDomain" in r.stderr, "make_refuses_a_receiver_not_a_domain",
        r.stderr)
    r = tool(conf, "make", "--now", NOW, "--out", os.path.join(tmp, "missing"))
    tap(r.returncode == 1 and "missing" in r.stderr, "make_needs_an_existing_folder", r.stderr)

    usage = [
        ("none", [], "no command given"),
        ("unknown_command", ["bogus"], "unknown command"),
        ("make_without_out", ["make", "--now", NOW], "--out is needed by make"),
        ("out_for_list", ["list", "--out", tmp], "--out does not belong to list"),
        ("now_not_a_time", ["expire", "--now", "yesterday"], "--now takes"),
        ("now_not_a_date", ["expire", "--now", "2026-02-30"], "--now takes"),
        ("extra_argument", ["list", "extra"], "too many arguments for list"),
    ]
    for name, args, msg in usage:
        r = tool(conf, *args)
        tap(r.returncode == 2 and msg in r.stderr and "usage:" in r.stderr,
            "usage_error_" + name, "rc=%d %s" % (r.returncode, r.stderr))
    r = subprocess.run([TOOL, "-c", os.path.join(tmp, "nonexistent.conf"), "list"],
                       capture_output=True, text=True)
    tap(r.returncode == 1 and "nonexistent.conf" in r.stderr, "missing_conf_file_fails",
        r.stderr)
    r = tool(conf, "--help")
    tap(r.returncode == 0 and r.stdout.startswith("usage: signet-reports"), "help_prints_usage",
        r.stdout)
    # The daemon creates the SQLite store as its own user; the tool (often run as root)
    # must not create it first, or the daemon could never write to it.
    absent = os.path.join(tmp, "not-yet.db")
    r = tool(write_conf(tmp, "absent.conf", absent), "list")
    tap(r.returncode == 1 and "no report store at " + absent in r.stderr
        and not os.path.exists(absent), "tool_never_creates_the_sqlite_store", r.stderr)


def main():
    tmp = tempfile.mkdtemp(prefix="signet-reports-")
    for prog in ("xmllint", "perl"):
        tap(shutil.which(prog) is not None, "%s_is_installed" % prog)
    check_schema_tools()
    store = os.path.join(tmp, "reports.db")
    conf = write_conf(tmp, "signet.conf", store)
    adds = build_data()
    r = fill(store, adds)
    tap(r.returncode == 0, "store_filled_through_reportstore", r.stderr)
    check_list(conf, adds)
    out = os.path.join(tmp, "out")
    os.mkdir(out)
    r = tool(conf, "make", "--now", NOW, "--out", out)
    tap(r.returncode == 0 and r.stderr == "", "make_succeeds", r.stderr)
    names, want = check_files(out, adds, r.stdout)
    check_schema(out, names)
    check_contents(out, names, want)
    check_hostile(out, names)
    check_mail_dmarc(out, names, want)
    adds = check_remake(conf, tmp, out, names, store, adds)
    check_expire(conf, store)
    check_errors(tmp)
    sys.exit(tap.plan_and_clean(tmp))


if __name__ == "__main__":
    main()
