#!/usr/bin/python3
"""
NAME
    soak.py - a long mixed load through one daemon: every message answered, no error,
    memory, descriptors and threads flat, a reload every HUP_EVERY messages

SYNOPSIS
    contrib/bench/soak.py [-n MESSAGES] [-c CONNECTIONS] [--hup-every N]
                          [--sample-every N] [--warmup FRACTION] [--rss-bound-kb KB]
                          [--builddir DIR]

DESCRIPTION
    Starts a private NSD (tests/lib/dnsserver.sh) serving soak.example: its DKIM key,
    an SPF record for 192.0.2.0/24 and a DMARC record with p=reject; and the daemon
    from BUILDDIR (Mode sv, Nameservers that NSD, so SPF and DMARC are real lookups;
    the zone's TTL of 5 s makes the resolver ask NSD again every few seconds).

    CONNECTIONS threads (default 16) act as MTAs (tests/milter/milterclient.py), each
    sending PER_CONNECTION messages over one connection, then reconnecting; one
    connection in two is outbound (from 127.0.0.1, InternalHosts: signed) and the other
    inbound (from 192.0.2.10: a message the daemon signed at start-up, verified, with
    SPF and DMARC).  Every HUP_EVERY messages the daemon gets SIGHUP (a full reload:
    configuration, keystore, resolver).

    Every SAMPLE_EVERY messages the daemon's RSS (VmRSS in /proc/PID/status), open
    descriptors (/proc/PID/fd) and threads (/proc/PID/task) are sampled; the curve is
    printed at the end.  Checked (TAP):
      - every message was answered, each with what it must carry: an outbound one
        accepted with one DKIM-Signature for soak.example; an inbound one accepted with
        our Authentication-Results saying dkim=pass, spf=pass and dmarc=pass;
      - the daemon logged no error or warning, and logged one reload per SIGHUP;
      - the warm-up (the first WARMUP of the messages, default 20 %) and the rest run
        as two phases with a pause between them; once every connection is closed and
        the counts have settled, the daemon holds no more descriptors and threads at
        the end than after the warm-up (under load the counts follow the connections
        open at that moment, so they are reported, not compared);
      - the RSS after the warm-up never exceeds the RSS at the end of the warm-up by
        more than RSS_BOUND_KB (default 8 MB, or 10 % of that RSS if more).  A leak of 100 bytes a message past the warm-up of a 200,000-
        message run would be 16 MB.

    For a sanitized daemon, AddressSanitizer's quarantine of freed memory is kept small
    (as tests/daemon/bounded-state.py does) so that the RSS measures Signet, not ASan.
    tests/daemon/soak.py runs this with 10,000 messages in make check; the figures of
    the 200,000-message run are in contrib/bench/RESULTS.md.
"""
import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP_SRCDIR = os.environ.get("top_srcdir", os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(TOP_SRCDIR, "tests", "milter"))
sys.path.insert(0, os.path.join(TOP_SRCDIR, "tests", "lib"))
import milterclient  # noqa: E402
from signettest import Tap, free_port, start_nsd, wait_listening  # noqa: E402

DOMAIN = "soak.example"
AUTHSERV_ID = "mx.soak.example"
INBOUND_CLIENT = "192.0.2.10"
PER_CONNECTION = 50


def keys(tool, store, *args):
    return subprocess.run([tool, "-k", store] + list(args), capture_output=True, text=True,
                          check=True).stdout.strip()


def outbound_message(k):
    return ("From: Soak <soak@%s>\r\nTo: r@example.net\r\nSubject: soak %d\r\n"
            "Date: Fri, 27 Nov 2026 07:00:00 +0000\r\nMessage-ID: <m%d@%s>\r\n\r\n"
            "message %d\r\n" % (DOMAIN, k, k, DOMAIN, k)).encode() + b"body line\r\n" * 20


def probe(pid):
    """(RSS kB, open descriptors, threads) of the daemon now."""
    with open("/proc/%d/status" % pid) as f:
        rss = int(re.search(r"^VmRSS:\s+(\d+) kB", f.read(), re.M).group(1))
    return rss, len(os.listdir("/proc/%d/fd" % pid)), len(os.listdir("/proc/%d/task" % pid))


def check_outbound(r):
    sigs = [v for _, n, v in r.inserted if n.lower() == "dkim-signature"]
    if r.action != "accept" or len(sigs) != 1 or \
            not re.search(r"\bd=%s\b" % re.escape(DOMAIN), re.sub(r"\s", "", sigs[0])):
        return "outbound: action %s, %d signatures %r" % (r.action, len(sigs), sigs[:1])
    return None


def check_inbound(r):
    ars = [v for _, n, v in r.inserted if n.lower() == "authentication-results"]
    ar = " ".join(ars)
    if r.action != "accept" or len(ars) != 1 or not all(
            re.search(r"\b%s=pass\b" % m, ar) for m in ("dkim", "spf", "dmarc")):
        return "inbound: action %s, Authentication-Results %r" % (r.action, ars)
    return None


class Load:
    """The shared counters of the senders; the main thread samples and reloads."""

    def __init__(self, total, spec, signed):
        self.total, self.spec, self.signed = total, spec, signed
        self.lock = threading.Lock()
        self.taken = 0
        self.answered = 0
        self.errors = []
        self.error_count = 0
        self.connections = 0
        self.next_sample = self.next_hup = 0

    def take(self):
        with self.lock:
            if self.taken >= self.total:
                return None
            self.taken += 1
            return self.taken

    def done(self, error):
        with self.lock:
            self.answered += error is None
            if error is not None:
                self.error_count += 1
                if len(self.errors) < 20:
                    self.errors.append(error)

    def sender(self, n):
        """One MTA: connections of PER_CONNECTION messages until the total is taken."""
        inbound = n % 2 == 1
        while True:
            k = self.take()
            if k is None:
                return
            try:
                with milterclient.Session(self.spec, timeout=60) as s:
                    with self.lock:
                        self.connections += 1
                    s.connect(INBOUND_CLIENT if inbound else "127.0.0.1",
                              helo="mail.%s" % DOMAIN)
                    for i in range(PER_CONNECTION):
                        if i > 0 and (k := self.take()) is None:
                            return
                        if inbound:
                            r = s.message(self.signed, "soak@" + DOMAIN, ["r@example.net"])
                            self.done(check_inbound(r))
                        else:
                            r = s.message(outbound_message(k), "soak@" + DOMAIN,
                                          ["r@example.net"])
                            self.done(check_outbound(r))
            except Exception as e:   # the message in flight is counted unanswered
                self.done("message %d: %r" % (k, e))
            inbound = not inbound


def start(tmp, builddir):
    """NSD and the daemon; returns (daemon, spec, log path, nsd pid)."""
    tool = os.path.join(builddir, "keys", "signet-keys")
    store = os.path.join(tmp, "keys")
    sel = keys(tool, store, "generate", DOMAIN, "-a", "ed25519", "-s", "soak1")
    keys(tool, store, "activate", DOMAIN, sel, "--force")
    records = os.path.join(tmp, "records")
    with open(records, "w") as f:
        f.write(keys(tool, store, "dns", DOMAIN) + "\n")
        f.write('%s. IN TXT "v=spf1 ip4:192.0.2.0/24 -all"\n' % DOMAIN)
        f.write('_dmarc.%s. IN TXT "v=DMARC1; p=reject"\n' % DOMAIN)
    dns_port, nsd_pid = start_nsd(os.path.join(tmp, "nsd"), {DOMAIN: records})
    spec = "inet:%d@127.0.0.1" % free_port()
    conf = os.path.join(tmp, "signet.conf")
    with open(conf, "w") as f:
        f.write("Socket %s\nMode sv\nAuthservID %s\nKeystore %s\nInternalHosts 127.0.0.1\n"
                "Nameservers 127.0.0.1@%d\nDNSTimeout 5\nLogLevel notice\n"
                % (spec, AUTHSERV_ID, store, dns_port))
    env = dict(os.environ)
    env["ASAN_OPTIONS"] = (env.get("ASAN_OPTIONS", "") +
                           ":quarantine_size_mb=1:thread_local_quarantine_size_kb=64").lstrip(":")
    logpath = os.path.join(tmp, "signet.log")
    daemon = subprocess.Popen([os.path.join(builddir, "milter", "signet"), "-c", conf, "-f"],
                              stderr=open(logpath, "w"), env=env)
    return daemon, spec, logpath, nsd_pid


def sign_once(spec):
    """The inbound message: signed by the daemon itself, as another MTA's signer would."""
    with milterclient.Session(spec, timeout=60) as s:
        s.connect("127.0.0.1", helo="mail.%s" % DOMAIN)
        r = s.message(outbound_message(0), "soak@" + DOMAIN, ["r@example.net"])
    return r.message if check_outbound(r) is None else None


def settle(pid, timeout=10):
    """The daemon's (RSS, fds, threads) once no connection is open and the counts have
    stopped falling (libmilter's connection threads exit shortly after their client)."""
    end = time.monotonic() + timeout
    last = probe(pid)
    while time.monotonic() < end:
        time.sleep(0.5)
        now = probe(pid)
        if now[1:] == last[1:]:
            return now
        last = now
    return last


def run_phase(load, daemon, args, until, t0, samples):
    """Sends messages until `until` have been answered, sampling and reloading; returns
    the reloads sent.  The phase ends with no connection open."""
    load.total = until
    threads = [threading.Thread(target=load.sender, args=(n,))
               for n in range(args.connections)]
    for t in threads:
        t.start()
    hups = 0
    while any(t.is_alive() for t in threads):
        time.sleep(0.005)
        answered = load.answered + load.error_count
        if answered >= load.next_sample:
            samples.append((answered, time.monotonic() - t0) + probe(daemon.pid))
            load.next_sample += args.sample_every
        if answered >= load.next_hup and load.next_hup < args.messages:
            daemon.send_signal(signal.SIGHUP)
            hups += 1
            load.next_hup += args.hup_every
    for t in threads:
        t.join()
    return hups


def run_load(load, daemon, args):
    """The warm-up, then the rest; returns (samples, idle counts after the warm-up and
    at the end, reloads sent, seconds)."""
    samples = [(0, 0.0) + probe(daemon.pid)]
    load.next_sample, load.next_hup = args.sample_every, args.hup_every
    t0 = time.monotonic()
    warmup = int(args.messages * args.warmup)
    hups = run_phase(load, daemon, args, warmup, t0, samples)
    pause = time.monotonic()
    idle_warm = settle(daemon.pid)
    pause = time.monotonic() - pause
    hups += run_phase(load, daemon, args, args.messages, t0, samples)
    seconds = time.monotonic() - t0 - pause     # the rate leaves the pause out
    return samples, (idle_warm, settle(daemon.pid)), hups, seconds


def count_reloads(logpath, want, timeout=60):
    end = time.monotonic() + timeout
    while True:
        got = len(re.findall(r"\breloaded .* generation \d+", open(logpath).read()))
        if got >= want or time.monotonic() > end:
            return got
        time.sleep(0.1)


def report(tap, args, load, samples, idle, hups, seconds, logpath):
    print("# %d messages, %d connections at a time (%d opened), %.1f s, %.0f messages/s"
          % (args.messages, args.connections, load.connections, seconds,
             args.messages / seconds))
    print("#  messages  seconds   RSS kB  fds  threads   (seconds include the pause "
          "after the warm-up)")
    for m, t, rss, fds, thr in samples:
        print("# %9d %8.1f %8d %4d %8d" % (m, t, rss, fds, thr))
    tap(load.answered == args.messages and load.error_count == 0,
        "every_message_answered_with_what_it_must_carry (%d of %d)"
        % (load.answered, args.messages), "\n".join(load.errors))
    reloads = count_reloads(logpath, hups)
    tap(reloads == hups, "one_reload_per_sighup (%d sent, %d logged)" % (hups, reloads))
    log = open(logpath).read()
    bad = [line for line in log.splitlines() if re.search(r"signet\[(error|warning)\]", line)]
    tap(not bad, "the_daemon_logged_no_error_or_warning", "\n".join(bad[:20]))
    warm = [s for s in samples if s[0] <= args.messages * args.warmup]
    after = [s for s in samples if s[0] > args.messages * args.warmup]
    if not warm or not after:
        tap(False, "enough_samples_for_a_curve", "%d samples" % len(samples))
        return
    base = warm[-1][2]
    bound = max(args.rss_bound_kb, base // 10)
    peak = max(s[2] for s in after)
    slope = (after[-1][2] - base) * 1024.0 / max(1, after[-1][0] - warm[-1][0])
    tap(peak - base <= bound,
        "rss_flat_after_warm_up (at %d messages %d kB, then at most %+d kB, at the end "
        "%+d kB, %.1f bytes a message; bound %d kB)"
        % (warm[-1][0], base, peak - base, after[-1][2] - base, slope, bound))
    for what, i in (("descriptors", 3), ("threads", 4)):
        tap(idle[1][i - 2] <= idle[0][i - 2],
            "%s_do_not_grow (idle after the warm-up %d, idle at the end %d; under load "
            "%d to %d after the warm-up)" % (what, idle[0][i - 2], idle[1][i - 2],
                                             min(s[i] for s in after), max(s[i] for s in after)))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[2].strip())
    p.add_argument("-n", "--messages", type=int, default=200000)
    p.add_argument("-c", "--connections", type=int, default=16)
    p.add_argument("--hup-every", type=int, default=10000)
    p.add_argument("--sample-every", type=int, default=5000)
    p.add_argument("--warmup", type=float, default=0.2, help="fraction of the messages")
    p.add_argument("--rss-bound-kb", type=int, default=8192)
    p.add_argument("--builddir", default=os.environ.get("top_builddir", TOP_SRCDIR))
    args = p.parse_args(argv)
    tap = Tap(max_diag=40)
    tmp = tempfile.mkdtemp(prefix="signet-soak-")
    daemon, spec, logpath, nsd_pid = start(tmp, args.builddir)
    try:
        if not tap(wait_listening(spec), "the_daemon_listens", open(logpath).read()):
            return tap.plan()
        signed = sign_once(spec)
        if not tap(signed is not None, "the_inbound_message_is_signed_at_start"):
            return tap.plan()
        load = Load(args.messages, spec, signed)
        samples, idle, hups, seconds = run_load(load, daemon, args)
        report(tap, args, load, samples, idle, hups, seconds, logpath)
        tap(daemon.poll() is None, "the_daemon_is_still_running")
    finally:
        daemon.terminate()
        try:
            daemon.wait(timeout=70)
        except subprocess.TimeoutExpired:
            daemon.kill()
        os.kill(nsd_pid, signal.SIGTERM)
    status = tap.plan()
    if status == 0:
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        print("# kept for inspection: %s" % tmp)
    return status


if __name__ == "__main__":
    sys.exit(main())
