#!/usr/bin/python3
"""
NAME
    matrix.py - Signet against OpenDKIM (+ OpenDMARC): the whole matrix, one table

SYNOPSIS
    contrib/bench/matrix.py [--rounds 3] [--seconds 2] [--builddir DIR] [--write]
        [--only REGEX] [--sizes 4096,65536,1048576] [--conc 1,4,16] [--no-mta]

DESCRIPTION
    Runs, on this machine, in one temporary directory:

      a private NSD (tests/lib/dnsserver.sh) serving the keys, SPF and DMARC records of
      sender.example, on a loopback port and on 127.0.0.9 port 53 (OpenDMARC resolves
      with libresolv, which cannot be given a port: it runs in its own mount namespace
      where /etc/resolv.conf says 127.0.0.9);

      for each scenario, on a unix and on an inet socket, Signet (the build at
      --builddir, which should be made without the sanitizers) and what sites run
      today (Debian's OpenDKIM; for the inbound rows OpenDKIM and OpenDMARC chained, in
      the order Postfix's cleanup runs them, each seeing the other's header):

        calibration  Signet against a second, identical Signet: the harness's error bar
                     (--calibrate-with BUILDDIR: the second one from another build, RSA
                     signing, to compare two builds of Signet in one run)
        rsa          RSA-2048 signing           (OpenDKIM: the same key)
        ed25519      Ed25519 signing            (OpenDKIM: the same key)
        dual         RSA-2048 + Ed25519 signing (OpenDKIM: one daemon has one
                     SignatureAlgorithm, so two OpenDKIMs chained, RSA then Ed25519)
        verify       DKIM verifying, Mode v, keys from the NSD (OpenDKIM: Mode v)
        inbound      Mode sv on inbound mail: DKIM + SPF + DMARC (OpenDKIM + OpenDMARC)

    and drives each with contrib/bench/milterload (the milter protocol as Postfix speaks
    it: persistent connections, 10 messages each, Postfix's macros, Nagle on) at each
    concurrency and message size for --seconds, the two daemons of a row alternating
    (the order flips every round).  Outbound mail comes from 127.0.0.1 with
    {auth_authen}; inbound mail from 192.0.2.10, signed beforehand by dkimpy.  Every
    message must come back with a DKIM-Signature (outbound) or an
    Authentication-Results (inbound), and before timing one message of each daemon is
    checked for dkim=pass (and spf=pass, dmarc=pass inbound): a daemon that does less
    than its row says shows up as an error, not as speed.

    Reported per row, median of the rounds: msg/s, CPU ms per message (the daemon's
    whole process tree, from /proc: Signet's signer counts), the ratio Signet/other,
    p50 and p99 latency, and peak RSS (VmHWM) per daemon for each size (every daemon
    starts afresh for each size in each round, so a size's peak is its own runs alone,
    not what the daemon kept from the sizes before: connections and threads seen, glibc's
    arenas).  Then
    the issue's targets, each met or missed, and, unless --no-mta, the figures through
    the real Postfix (contrib/bench/postfix-bench.py) and Sendmail
    (contrib/bench/sendmail-bench.py).

    --write replaces the section between the markers "<!-- matrix.py -->" and
    "<!-- /matrix.py -->" of contrib/bench/RESULTS.md with the report, and the command
    that made it.  Figures, not assertions: this is a benchmark, not a test.  Run as
    root on a quiet machine.
FILES
    contrib/bench/milterload-src/, contrib/bench/RESULTS.md
"""
import argparse
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(TOP, "tests", "milter"))
sys.path.insert(0, os.path.join(TOP, "tests", "lib"))
import milterclient  # noqa: E402
from signettest import free_port, start_nsd  # noqa: E402
from proctree import peak_rss_kb  # noqa: E402

OUT, IN = "bench.example", "sender.example"
AUTHSERV = "bench.test"
DMARC_DNS = "127.0.0.9"
INBOUND_CLIENT = "192.0.2.10"
TARGETS = {"rsa": 0.35, "ed25519": 0.25, "verify": 0.5, "inbound": 0.5}
MARK_BEGIN, MARK_END = "<!-- matrix.py -->", "<!-- /matrix.py -->"


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, check=True, **kw).stdout.strip()


class Daemon:
    """One milter process (or a chain of them, for OpenDKIM + OpenDMARC)."""

    def __init__(self, label, commands, specs, tmp):
        self.label, self.commands, self.specs, self.tmp = label, commands, specs, tmp
        self.procs = []

    def start(self):
        for i, cmd in enumerate(self.commands):
            log = open(os.path.join(self.tmp, "%s-%d.log" % (self.label.replace(" ", "_"), i)),
                       "a")
            proc = subprocess.Popen(cmd, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
            self.procs.append(proc)
            wait_listening(self.specs[i], proc, log.name)

    def stop(self):
        for proc in self.procs:
            proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.procs = []

    @property
    def pids(self):
        return [p.pid for p in self.procs]


def wait_listening(spec, proc, logname):
    fam, addr = milterclient.parse_socket(spec.replace("local:", "unix:"))
    for _ in range(300):
        if proc.poll() is not None:
            sys.exit("milter exited at start: %s" % open(logname).read()[-2000:])
        try:
            with socket.socket(fam, socket.SOCK_STREAM) as s:
                s.connect(addr)
            return
        except OSError:
            time.sleep(0.05)
    sys.exit("milter did not listen on %s (log %s)" % (spec, logname))


def make_message(size, domain, user):
    line = "The quick brown fox jumps over the lazy dog, again and again and again.\r\n"
    head = ("From: Bench <%s@%s>\r\nTo: rcpt@example.net\r\nSubject: benchmark message\r\n"
            "Date: Fri, 27 Nov 2026 07:00:00 +0000\r\nMessage-ID: <bench-%d@%s>\r\n"
            "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
            % (user, domain, size, domain))
    return (head + line * max(1, (size - len(head)) // len(line))).encode()


class Setup:
    """Keys, DNS, configurations and messages: everything the daemons share."""

    def __init__(self, args, tmp):
        self.args, self.tmp = args, tmp
        self.tool = os.path.join(args.builddir, "keys", "signet-keys")
        self.signet = os.path.join(args.builddir, "milter", "signet")
        self.keystores = {}
        for name, algs in (("rsa", ["rsa-2048"]), ("ed25519", ["ed25519"]),
                           ("dual", ["rsa-2048", "ed25519"])):
            store = os.path.join(tmp, "keys-" + name)
            for alg in algs:
                sel = "ed1" if alg == "ed25519" else "rsa1"
                run([self.tool, "-k", store, "generate", OUT, "-a", alg, "-s", sel])
                run([self.tool, "-k", store, "activate", OUT, sel, "--force"])
            self.keystores[name] = store
        inkeys = os.path.join(tmp, "keys-in")
        run([self.tool, "-k", inkeys, "generate", IN, "-s", "in1"])
        run([self.tool, "-k", inkeys, "activate", IN, "in1", "--force"])
        records = os.path.join(tmp, "records")
        with open(records, "w") as f:
            f.write(run([self.tool, "-k", inkeys, "dns", IN]) + "\n")
            f.write('%s. IN TXT "v=spf1 ip4:192.0.2.0/24 -all"\n' % IN)
            f.write('_dmarc.%s. IN TXT "v=DMARC1; p=reject"\n' % IN)
        self.dns_port, self.nsd_pid = start_nsd(os.path.join(tmp, "nsd"), {IN: records},
                                                also_listen="%s@53" % DMARC_DNS)
        with open(os.path.join(tmp, "resolv.conf"), "w") as f:
            f.write("nameserver %s\noptions attempts:1 timeout:2\n" % DMARC_DNS)
        import dkim
        inkey = open(os.path.join(inkeys, IN, "in1.key"), "rb").read()
        self.inbound_files = {}
        for size in args.sizes:
            msg = make_message(size, IN, "someone")
            sig = dkim.sign(msg, b"in1", IN.encode(), inkey,
                            canonicalize=(b"relaxed", b"relaxed"),
                            include_headers=[b"from", b"to", b"subject", b"date",
                                             b"message-id"])
            path = os.path.join(tmp, "inbound-%d.eml" % size)
            with open(path, "wb") as f:
                f.write(sig + msg)
            self.inbound_files[size] = path

    def socket_for(self, name, kind):
        if kind == "unix":
            path = os.path.join(self.tmp, name + ".sock")
            return "unix:" + path, "local:" + path
        spec = "inet:%d@127.0.0.1" % free_port()
        return spec, spec

    def signet_daemon(self, label, scenario, kind, binary=None):
        spec, _ = self.socket_for(label.replace(" ", "-"), kind)
        conf = os.path.join(self.tmp, label.replace(" ", "-") + ".conf")
        store = self.keystores.get(scenario, self.keystores["rsa"])
        mode = "v" if scenario == "verify" else "sv"
        with open(conf, "w") as f:
            f.write("Socket %s\nMode %s\nKeystore %s\nInternalHosts 127.0.0.1\n"
                    "AuthservID %s\nNameservers 127.0.0.1@%d\nLogLevel warning\n"
                    % (spec, mode, store, AUTHSERV, self.dns_port))
        return Daemon(label, [[binary or self.signet, "-c", conf, "-f"]], [spec], self.tmp)

    def opendkim_conf(self, label, sock, key=None):
        """key (selector, path, algorithm) signs Mode sv; None verifies (Mode v).
        OpenDKIM's SignatureAlgorithm is one for the whole daemon, so a site that signs
        with RSA and Ed25519 runs two of them, chained."""
        conf = os.path.join(self.tmp, label.replace(" ", "-") + ".conf")
        lines = ["Syslog no", "UserID root", "Socket " + sock, "UMask 000",
                 "InternalHosts 127.0.0.1", "Canonicalization relaxed/relaxed",
                 "RequireSafeKeys no", "AuthservID " + AUTHSERV,
                 "Nameservers 127.0.0.1@%d" % self.dns_port]
        if key is None:
            lines.append("Mode v")
        else:
            sel, path, alg = key
            lines += ["Mode sv", "Domain " + OUT, "Selector " + sel, "KeyFile " + path,
                      "SignatureAlgorithm " + alg]
        with open(conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        return conf

    def other_daemon(self, label, scenario, kind):
        """What sites run today for this scenario."""
        keys = []
        if scenario not in ("verify", "inbound"):
            store = os.path.join(self.keystores[scenario], OUT)
            for sel, alg in (("rsa1", "rsa-sha256"), ("ed1", "ed25519-sha256")):
                if os.path.exists(os.path.join(store, sel + ".key")):
                    keys.append((sel, os.path.join(store, sel + ".key"), alg))
        commands, specs = [], []
        for i, key in enumerate(keys or [None]):
            name = "%s-%d" % (label, i)
            spec, sock = self.socket_for(name.replace(" ", "-"), kind)
            conf = self.opendkim_conf(name, sock, key)
            commands.append(["opendkim", "-f", "-x", conf])
            specs.append(spec)
        if scenario == "inbound":
            dspec, dsock = self.socket_for(label.replace(" ", "-") + "-dmarc", kind)
            dconf = os.path.join(self.tmp, label.replace(" ", "-") + "-dmarc.conf")
            with open(dconf, "w") as f:
                f.write("Socket %s\nUMask 000\nAuthservID %s\nTrustedAuthservIDs %s\n"
                        "SPFSelfValidate true\nRequiredHeaders false\nSyslog false\n"
                        "IgnoreAuthenticatedClients false\nRejectFailures false\n"
                        "PublicSuffixList /usr/share/publicsuffix/public_suffix_list.dat\n"
                        "UserID root\nPidFile %s.pid\n" % (dsock, AUTHSERV, AUTHSERV, dconf))
            resolv = os.path.join(self.tmp, "resolv.conf")
            commands.append(["unshare", "-m", "--propagation", "private", "sh", "-c",
                             'mount --bind "$0" /etc/resolv.conf && exec opendmarc -f -c "$1"',
                             resolv, dconf])
            specs.append(dspec)
        return Daemon(label, commands, specs, self.tmp)


def scenarios(setup, only):
    """(scenario, socket kind, daemon A, daemon B): A is always Signet."""
    out = []
    for scenario in ("calibration", "rsa", "ed25519", "dual", "verify", "inbound"):
        for kind in ("unix", "inet"):
            name = "%s %s" % (scenario, kind)
            if only and not re.search(only, name):
                continue
            a = setup.signet_daemon("signet " + name, scenario, kind)
            if scenario == "calibration":
                other = setup.args.calibrate_with
                b = setup.signet_daemon("signet2 " + name, scenario, kind,
                                        os.path.join(other, "milter", "signet") if other else None)
            else:
                b = setup.other_daemon("other " + name, scenario, kind)
            out.append((scenario, kind, a, b))
    return out


def load_args(setup, scenario, size):
    if scenario in ("verify", "inbound"):
        return ["--client", INBOUND_CLIENT, "--helo", "mail." + IN, "--from", "someone@" + IN,
                "-f", setup.inbound_files[size], "--expect", "Authentication-Results"]
    return ["--client", "127.0.0.1", "--auth", "bench@" + OUT, "--from", "bench@" + OUT,
            "-s", str(size), "--expect", "DKIM-Signature"]


def drive(setup, daemon, scenario, size, conc, seconds):
    cmd = [setup.args.milterload, "-q", "-c", str(conc), "-t", str(seconds), "-m", "10"]
    cmd += load_args(setup, scenario, size)
    for pid in daemon.pids:
        cmd += ["--pid", str(pid)]
    cmd += daemon.specs
    r = subprocess.run(cmd, capture_output=True, text=True)
    fields = dict(kv.split("=", 1) for kv in r.stdout.split() if "=" in kv)
    if "msg_per_s" not in fields:
        sys.exit("milterload failed against %s: %s %s" % (daemon.label, r.stdout, r.stderr))
    return fields


def check_verdicts(setup, daemon, scenario):
    """One message through the daemon (or chain) before timing: does it do its job?"""
    inbound = scenario in ("verify", "inbound")
    if inbound:
        message = open(setup.inbound_files[setup.args.sizes[0]], "rb").read()
        client, helo, sender = INBOUND_CLIENT, "mail." + IN, "someone@" + IN
    else:
        message, client, helo = make_message(4096, OUT, "bench"), "127.0.0.1", "bench"
        sender = "bench@" + OUT
    added = []
    for spec in daemon.specs:
        with milterclient.Session(spec.replace("local:", "unix:"), timeout=30) as s:
            s.connect(client, helo=helo)
            r = s.message(message, sender, ["rcpt@example.net"],
                          auth_authen=None if inbound else "bench@" + OUT)
        added += [(n, v) for _, n, v in r.inserted] + list(r.added)
        message = r.message or message      # the next milter sees this one's edits
    text = " ".join("%s: %s" % (n, v) for n, v in added).lower()
    want = ["dkim-signature"] if not inbound else ["dkim=pass"]
    if scenario == "dual":
        want = ["a=rsa-sha256", "a=ed25519-sha256"]
    if scenario == "ed25519":
        want = ["a=ed25519-sha256"]
    if scenario == "inbound":
        want += ["spf=pass", "dmarc=pass"]
    missing = [w for w in want if w not in text]
    if missing:
        sys.exit("%s does not do its job (%s missing) in: %s" % (daemon.label, missing, text))


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def measure(setup, rows, args):
    """results[(scenario, kind, size, conc, side)] = list of field dicts, one per round;
    rss[(scenario, kind, size, side)] = list of peak kB after that size, one per round.
    Every daemon starts afresh for each size, so its peak RSS is that size's runs alone
    (c1 up to the highest concurrency), not what it kept from the smaller sizes."""
    results, rss = {}, {}
    for rnd in range(args.rounds):
        for size in args.sizes:
            for _, _, a, b in rows:
                a.start()
                b.start()
            try:
                for scenario, _, a, b in rows:
                    check_verdicts(setup, a, scenario)
                    check_verdicts(setup, b, scenario)
                for conc in args.conc:
                    for i, (scenario, kind, a, b) in enumerate(rows):
                        order = [("signet", a), ("other", b)]
                        if (rnd + i) % 2:
                            order.reverse()
                        for side, daemon in order:
                            f = drive(setup, daemon, scenario, size, conc, args.seconds)
                            results.setdefault((scenario, kind, size, conc, side), []).append(f)
                            print("round %d %-11s %-4s %7d c%-2d %-6s %8s msg/s cpu %6s ms "
                                  "p99 %7s ms errors %s missing %s" % (
                                      rnd + 1, scenario, kind, size, conc, side,
                                      f["msg_per_s"], f["cpu_ms_per_msg"], f["p99_ms"],
                                      f["errors"], f["missing"]), flush=True)
                for scenario, kind, a, b in rows:
                    for side, daemon in (("signet", a), ("other", b)):
                        rss.setdefault((scenario, kind, size, side), []).append(
                            peak_rss_kb(daemon.pids))
            finally:
                for _, _, a, b in rows:
                    a.stop()
                    b.stop()
    return results, rss


def num(fields, key):
    try:
        return float(fields[key])
    except (KeyError, ValueError):
        return None


def fmt(v, digits=2):
    return "-" if v is None else "%.*f" % (digits, v)


def table(results, rss, args):
    out = ["| scenario | socket | size | c | Signet msg/s | other msg/s | Signet CPU ms/msg "
           "| other CPU ms/msg | CPU ratio | Signet p50 / p99 ms | other p50 / p99 ms "
           "| errors |",
           "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    ratios = {}
    for (scenario, kind, size, conc, side), runs in results.items():
        if side != "signet":
            continue
        other = results[(scenario, kind, size, conc, "other")]
        m = {}
        for name, rs in (("s", runs), ("o", other)):
            for key in ("msg_per_s", "cpu_ms_per_msg", "p50_ms", "p99_ms"):
                m[name + key] = median([num(r, key) for r in rs])
            m[name + "err"] = sum(int(r["errors"]) + int(r["missing"]) for r in rs)
        ratio = m["scpu_ms_per_msg"] / m["ocpu_ms_per_msg"] if m["ocpu_ms_per_msg"] else None
        ratios[(scenario, kind, size, conc)] = (ratio, m)
        out.append("| %s | %s | %s | %d | %.0f | %.0f | %s | %s | %s | %s / %s | %s / %s | "
                   "%d / %d |" % (
                       scenario, kind, human(size), conc, m["smsg_per_s"], m["omsg_per_s"],
                       fmt(m["scpu_ms_per_msg"], 3), fmt(m["ocpu_ms_per_msg"], 3),
                       fmt(ratio), fmt(m["sp50_ms"]), fmt(m["sp99_ms"]), fmt(m["op50_ms"]),
                       fmt(m["op99_ms"]), m["serr"], m["oerr"]))
    out += ["", "Peak RSS (VmHWM, kB, median of the rounds; the daemon's whole process tree; "
            "every daemon started afresh for each size in each round, so a size's figure is "
            "its own runs alone):", "",
            "| scenario | socket | " + " | ".join("Signet at %s" % human(z) for z in args.sizes)
            + " | " + " | ".join("other at %s" % human(z) for z in args.sizes) + " |",
            "|---|---|" + "---:|" * (2 * len(args.sizes))]
    peaks = {}
    for (scenario, kind, size, side), values in sorted(rss.items()):
        peaks[(scenario, kind, size, side)] = median(values)
    for scenario, kind in sorted({(k[0], k[1]) for k in peaks}, key=row_order):
        out.append("| %s | %s | %s |" % (scenario, kind, " | ".join(
            "%.0f" % peaks[(scenario, kind, z, side)]
            for side in ("signet", "other") for z in args.sizes)))
    return out, ratios, peaks


def row_order(key):
    order = ["calibration", "rsa", "ed25519", "dual", "verify", "inbound"]
    return (order.index(key[0]), key[1])


def human(size):
    return "%d MiB" % (size >> 20) if size >= 1 << 20 else "%d KiB" % (size >> 10)


def targets(ratios, peaks, args):
    out = ["| target | figure | met |", "|---|---|---|"]
    for scenario, limit in TARGETS.items():
        rs = [r for (s, _, _, _), (r, _) in ratios.items() if s == scenario and r is not None]
        if rs:
            out.append("| %s CPU/msg <= %.2fx the other | %.2f-%.2fx (median %.2f) over %d "
                       "cells | %s |" % (scenario, limit, min(rs), max(rs),
                                         statistics.median(rs), len(rs),
                                         "yes" if max(rs) <= limit else
                                         "median only" if statistics.median(rs) <= limit
                                         else "NO"))
    cal = [r for (s, _, _, _), (r, _) in ratios.items() if s == "calibration" and r is not None]
    if cal:
        out.append("| calibration: two equal Signets ~1.0x | %.2f-%.2fx (median %.2f) | %s |"
                   % (min(cal), max(cal), statistics.median(cal),
                      "yes" if 0.85 <= statistics.median(cal) <= 1.15 else "NO"))
    c16 = [v for (s, _, _, side), v in peaks.items() if side == "signet"]
    if c16:
        out.append("| Signet peak RSS < 30 MB (every scenario, up to c%d) | at most %.1f MB | "
                   "%s |" % (max(args.conc), max(c16) / 1024,
                             "yes" if max(c16) < 30 * 1024 else "NO"))
    # The MTA sends the body in chunks of at most 64 KiB, so a milter's buffers follow the
    # message size up to that; growth between the two largest sizes (both >= 64 KiB)
    # would be the body kept, which at c16 and 1 MiB would be 16 MB.
    growth, (small, large) = [], args.sizes[-2:] if len(args.sizes) > 1 else (None, None)
    for (s, k, size, side), v in peaks.items():
        if side == "signet" and size == large and small is not None:
            growth.append(v - peaks[(s, k, small, side)])
    if growth and small >= 65536:
        out.append("| Signet RSS independent of message size (body chunks are at most 64 KiB) "
                   "| %s to %s: at most %+.1f MB | %s |"
                   % (human(small), human(large), max(growth) / 1024,
                      "yes" if max(growth) < 1024 else "NO"))
    worse = [(s, k, size) for (s, k, size, c), (_, m) in ratios.items()
             if c == max(args.conc) and s != "calibration" and m["sp99_ms"] is not None
             and m["op99_ms"] is not None and m["sp99_ms"] > m["op99_ms"]]
    total = len([1 for (s, _, _, c) in ratios if c == max(args.conc) and s != "calibration"])
    out.append("| p99 at c%d no worse than the other | worse in %d of %d cells%s | %s |"
               % (max(args.conc), len(worse), total,
                  (": " + ", ".join("%s %s %s" % (s, k, human(z)) for s, k, z in worse))
                  if worse else "", "yes" if not worse else "NO"))
    return out


def machine():
    cpu = re.search(r"model name\s*:\s*(.*)", open("/proc/cpuinfo").read())
    mem = int(re.search(r"MemTotal:\s+(\d+)", open("/proc/meminfo").read()).group(1))
    debian = open("/etc/debian_version").read().strip()
    versions = []
    for cmd in (["opendkim", "-V"], ["opendmarc", "-V"], ["postconf", "-h", "mail_version"]):
        try:
            versions.append(subprocess.run(cmd, capture_output=True, text=True)
                            .stdout.splitlines()[0].strip())
        except (OSError, IndexError):
            pass
    commit = subprocess.run(["git", "-C", TOP, "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    return ("Debian %s, kernel %s, %d cores (%s), %.0f GiB RAM; Signet %s; %s" % (
        debian, platform.release(), os.cpu_count(), cpu.group(1) if cpu else "?",
        mem / 1048576, commit, "; ".join(versions)))


def mta_figures(args):
    out = []
    for script in ("postfix-bench.py", "sendmail-bench.py"):
        path = os.path.join(HERE, script)
        if not os.path.exists(path):
            out += ["", "(%s is missing)" % script]
            continue
        r = subprocess.run([sys.executable, path, "--builddir", args.builddir],
                           capture_output=True, text=True)
        lines = r.stdout.splitlines()
        start = next((i for i, ln in enumerate(lines) if "median of" in ln), None)
        out += ["", "### Through %s (`contrib/bench/%s --builddir %s`)" % (
            "Postfix" if script.startswith("postfix") else "Sendmail", script,
            args.builddir), ""]
        if r.returncode != 0 or start is None:
            out += ["FAILED (exit %d):" % r.returncode, "", "```",
                    (r.stdout + r.stderr)[-3000:], "```"]
        else:
            out += lines[start:]
    return out


def write_results(report):
    path = os.path.join(HERE, "RESULTS.md")
    text = open(path).read()
    block = MARK_BEGIN + "\n" + "\n".join(report) + "\n" + MARK_END
    if MARK_BEGIN in text:
        text = re.sub(re.escape(MARK_BEGIN) + ".*?" + re.escape(MARK_END),
                      lambda _: block, text, flags=re.S)
    else:
        text = text.replace("# Results\n", "# Results\n\n" + block + "\n", 1)
    with open(path, "w") as f:
        f.write(text)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--seconds", type=int, default=2)
    p.add_argument("--builddir", default=TOP)
    p.add_argument("--sizes", default="4096,65536,1048576")
    p.add_argument("--conc", default="1,4,16")
    p.add_argument("--only", help="regular expression on 'scenario socket'")
    p.add_argument("--no-mta", action="store_true")
    p.add_argument("--calibrate-with", metavar="BUILDDIR",
                   help="the calibration row's second Signet from this build: two builds "
                        "compared in one run, alternating ('other' is this one)")
    p.add_argument("--write", action="store_true")
    args = p.parse_args()
    args.sizes = sorted(int(s) for s in args.sizes.split(","))
    args.conc = [int(c) for c in args.conc.split(",")]
    args.builddir = os.path.abspath(args.builddir)
    args.milterload = os.path.join(args.builddir, "contrib", "bench", "milterload")
    if os.geteuid() != 0:
        sys.exit("run as root (OpenDMARC's DNS goes through a private mount namespace)")
    for tool in ("opendkim", "opendmarc", "nsd"):
        if shutil.which(tool) is None:
            sys.exit("%s is missing: apt-get install opendkim opendmarc nsd" % tool)
    if not os.access(args.milterload, os.X_OK):
        sys.exit("%s is missing: make in the build directory" % args.milterload)
    command = "contrib/bench/matrix.py " + " ".join(a for a in sys.argv[1:])
    load_before = open("/proc/loadavg").read().split()[:3]
    tmp = tempfile.mkdtemp(prefix="signet-matrix-")
    os.chmod(tmp, 0o755)
    setup = Setup(args, tmp)
    try:
        rows = scenarios(setup, args.only)
        started = time.monotonic()
        results, rss = measure(setup, rows, args)
        minutes = (time.monotonic() - started) / 60
    finally:
        os.kill(setup.nsd_pid, signal.SIGTERM)
    lines, ratios, peaks = table(results, rss, args)
    load_after = open("/proc/loadavg").read().split()[:3]
    report = ["## The matrix: Signet against OpenDKIM and OpenDMARC (issue 17)", "",
              "```sh", command, "```", "",
              "Made by `contrib/bench/matrix.py` on %s. %s. Load average %s before, %s "
              "after; %.0f minutes. %d rounds of %d s per cell, medians; the two daemons "
              "of a row alternate. CPU is the daemon's whole process tree (Signet: milter, "
              "keeper and signer; the inbound 'other' is OpenDKIM and OpenDMARC together). "
              "Latency is from MAIL to the last milter's end-of-message reply, as "
              "`milterload` sends it (Postfix's protocol, Nagle on). Errors are messages "
              "refused, unanswered, or without the header they must get (Signet / other)."
              % (time.strftime("%Y-%m-%d"), machine(), " ".join(load_before),
                 " ".join(load_after), minutes, args.rounds, args.seconds), ""]
    report += ["### Targets", ""] + targets(ratios, peaks, args) + ["", "### All cells", ""]
    report += lines
    if not args.no_mta:
        report += mta_figures(args)
    print("\n".join(report))
    if args.write:
        write_results(report)
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
