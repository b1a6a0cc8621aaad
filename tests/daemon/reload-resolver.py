#!/usr/bin/env python3
"""
NAME
    reload-resolver.py - a SIGHUP that changes no DNS setting keeps the resolver, its
    cache and its counters; one that does builds a new resolver (issue 14, item 5)

DESCRIPTION
    Starts the real daemon (Mode v, metrics on, DNS pointed at a port where nothing
    answers so every inbound message makes timed-out queries), sends inbound mail and
    reads signet_dns_queries_total over HTTP with curl around reloads:
      - LogLevel changed: the log says the resolver was kept, the counter goes on from
        where it was (a new resolver would start again at 0);
      - DNSTimeout changed: a new resolver, the counter starts again;
      - a reload to a signing Mode: refused (the signer process starts only with the
        daemon), and the log says why (not stderr, which is gone once it detaches).
    Emits TAP.
"""
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "milter"))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import milterclient  # noqa: E402
from signettest import Tap, free_port, wait_listening  # noqa: E402

TOP_BUILDDIR = os.environ.get("top_builddir", os.path.join(HERE, "..", ".."))
SIGNET = os.path.join(TOP_BUILDDIR, "milter", "signet")
KEYS_TOOL = os.path.join(TOP_BUILDDIR, "keys", "signet-keys")

tap = Tap()


def queries(mport):
    out = subprocess.run(["curl", "-sS", "http://127.0.0.1:%d/metrics" % mport],
                         capture_output=True, text=True, timeout=20).stdout
    m = re.search(r"^signet_dns_queries_total (\d+)", out, re.M)
    return int(m.group(1)) if m else None


def send(spec, n):
    msg = ("From: a@example.org\r\nTo: b@example.net\r\nSubject: %d\r\n"
           "Message-ID: <%d@example.org>\r\n\r\nbody\r\n" % (n, n)).encode()
    with milterclient.Session(spec, timeout=60) as s:
        s.connect("192.0.2.10", helo="mail.example.org")
        return s.message(msg, "a@example.org", ["b@example.net"])


def main():
    tmp = tempfile.mkdtemp(prefix="signet-reload-")
    spec = "inet:%d@127.0.0.1" % free_port()
    mport, dead = free_port(), free_port()
    conf = os.path.join(tmp, "signet.conf")
    logpath = os.path.join(tmp, "signet.log")
    base = ("Socket %s\nMetricsListen 127.0.0.1:%d\nNameservers 127.0.0.1@%d\n"
            "DNSMessageTime 2\n" % (spec, mport, dead))

    def write(extra):
        with open(conf, "w") as f:
            f.write(base + extra)

    def log():
        with open(logpath) as f:
            return f.read()

    def reload_and_wait():
        before = log().count("reloaded")
        proc.send_signal(signal.SIGHUP)
        end = time.monotonic() + 30
        while log().count("reloaded") == before and time.monotonic() < end:
            time.sleep(0.05)
        return log().splitlines()[-1] if log().count("reloaded") > before else ""

    write("Mode v\nLogLevel debug\nDNSTimeout 1\n")
    proc = subprocess.Popen([SIGNET, "-c", conf, "-f"], stderr=open(logpath, "w"))
    try:
        tap(wait_listening(spec, 30), "daemon_listens", log())
        send(spec, 1)
        first = queries(mport) or 0
        tap(first > 0, "inbound_mail_makes_dns_queries (%d)" % first)

        write("Mode v\nLogLevel info\nDNSTimeout 1\n")
        line = reload_and_wait()
        tap("DNS resolver and cache kept" in line, "reload_without_dns_change_keeps_the_resolver",
            line or log())
        kept = queries(mport)
        tap(kept == first, "dns_counters_survive_the_reload (%s, before %d)" % (kept, first))
        send(spec, 2)
        tap((queries(mport) or 0) > first, "the_kept_resolver_serves_the_next_message")

        write("Mode v\nLogLevel info\nDNSTimeout 2\n")
        line = reload_and_wait()
        tap("new DNS resolver" in line, "reload_with_a_dns_change_builds_a_new_resolver",
            line or log())
        tap(queries(mport) == 0, "a_new_resolver_counts_from_zero")

        store = os.path.join(tmp, "keys")
        sel = subprocess.run([KEYS_TOOL, "-k", store, "generate", "a.example", "-a", "ed25519"],
                             capture_output=True, text=True).stdout.strip()
        subprocess.run([KEYS_TOOL, "-k", store, "activate", "a.example", sel, "--force"],
                       capture_output=True)
        for root, _, files in os.walk(store):
            for name in files:
                if name.endswith(".private") or name.endswith(".key"):
                    os.chmod(os.path.join(root, name), 0o644)
        write("Mode sv\nKeystore %s\nLogLevel info\nDNSTimeout 2\n" % store)
        before = log().count("reload refused")
        proc.send_signal(signal.SIGHUP)
        end = time.monotonic() + 30
        while log().count("reload refused") == before and time.monotonic() < end:
            time.sleep(0.05)
        # The signer process (issue 16) is forked at start-up, as root, before any key
        # is read; a daemon started without signing has none, so a reload that turns
        # signing on is refused with that reason (a bad keystore's reason on reload is
        # checked by tests/faults/run.py, on a daemon that signs).
        tail = log().splitlines()[-3:]
        tap(any("signer process starts only with signet" in l for l in tail) and
            log().count("reload refused") > before,
            "a_reload_that_turns_signing_on_is_refused_with_its_reason_in_the_log",
            "\n".join(tail))
        tap(proc.poll() is None, "the_daemon_still_runs")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=70)
        except subprocess.TimeoutExpired:
            proc.kill()
    tap.plan()
    return 1 if tap.failed else 0


if __name__ == "__main__":
    sys.exit(main())
