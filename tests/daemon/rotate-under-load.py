#!/usr/bin/python3
"""
NAME
    rotate-under-load.py - rotating keys and reloading 20 times loses no mail

DESCRIPTION
    Four MTA connections send messages without pause while the key of the domain is
    rotated 20 times: each time signet-keys makes the next key, activates it (the old one
    goes to retiring) and the daemon gets SIGHUP; the next rotation waits until every
    connection has finished two messages under the new key (a condition, not a pause: a
    busy machine slows the test down instead of failing it).  For every message the test
    records when it started and ended; for every reload, when the daemon finished it (its
    log line).
    Then it checks, message by message:
      - it was accepted, not tempfailed or lost, and carries exactly one DKIM-Signature;
      - the selector is a key that was active in the daemon at some moment of the
        message's life (the daemon takes its key set at MAIL FROM);
      - the signature verifies (dkimpy) against a real NSD serving the records of every key
        made, as DNS would hold them: a retiring key stays published.
    Emits TAP.
"""
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP_SRCDIR = os.environ.get("top_srcdir", os.path.join(HERE, "..", ".."))
TOP_BUILDDIR = os.environ.get("top_builddir", TOP_SRCDIR)
sys.path.insert(0, os.path.join(TOP_SRCDIR, "tests", "milter"))
sys.path.insert(0, os.path.join(TOP_SRCDIR, "tests", "lib"))
import milterclient  # noqa: E402
from signettest import Tap, free_port, wait_listening  # noqa: E402

SIGNET = os.path.join(TOP_BUILDDIR, "milter", "signet")
KEYS_TOOL = os.path.join(TOP_BUILDDIR, "keys", "signet-keys")
DOMAIN = "rotate.example"
ROTATIONS = 20
CONNECTIONS = 4
PER_KEY = 2         # messages each connection finishes under each key before the next

tap = Tap(max_diag=40)


def keys(store, *args):
    return subprocess.run([KEYS_TOOL, "-k", store] + list(args), capture_output=True,
                          text=True, check=True).stdout.strip()


def selector_of(value):
    m = re.search(r"(?:^|;)\s*s=([^;\s]+)", value.replace("\n", "").replace("\t", ""))
    return m.group(1) if m else None


class Sender(threading.Thread):
    def __init__(self, spec, n, stop):
        super().__init__()
        self.spec, self.n, self.stop = spec, n, stop
        self.results = []   # (t_start, t_end, action, [selectors], delivered bytes)
        self.error = None

    def run(self):
        try:
            with milterclient.Session(self.spec) as s:
                s.connect("127.0.0.1", helo="mta.example")
                i = 0
                while not self.stop.is_set():
                    i += 1
                    msg = ("From: Load <load@%s>\r\nTo: r@example.net\r\nSubject: c%d m%d\r\n"
                           "Date: Fri, 27 Nov 2026 07:00:00 +0000\r\nMessage-ID: <c%dm%d@%s>"
                           "\r\n\r\nbody %d\r\n" % (DOMAIN, self.n, i, self.n, i, DOMAIN, i)
                           ).encode()
                    t0 = time.monotonic()
                    r = s.message(msg, "load@" + DOMAIN, ["r@example.net"])
                    t1 = time.monotonic()
                    sels = [selector_of(v) for _, n, v in r.inserted
                            if n.lower() == "dkim-signature"]
                    self.results.append((t0, t1, r.action, sels, r.message))
                    time.sleep(0.02)   # a steady load, not a flood: the point is overlap
        except Exception as e:  # reported as a failure by the main thread
            self.error = repr(e)


def main():
    tmp = tempfile.mkdtemp(prefix="signet-rotate-")
    store = os.path.join(tmp, "keys")
    first = keys(store, "generate", DOMAIN, "-a", "ed25519", "-s", "k00")
    keys(store, "activate", DOMAIN, first, "--force")
    spec = "inet:%d@127.0.0.1" % free_port()
    conf = os.path.join(tmp, "signet.conf")
    logpath = os.path.join(tmp, "signet.log")
    with open(conf, "w") as f:
        f.write("Socket %s\nKeystore %s\nMode s\nLogLevel info\n" % (spec, store))
    daemon = subprocess.Popen([SIGNET, "-c", conf, "-f"], stderr=open(logpath, "w"))
    if not tap(wait_listening(spec), "daemon_listens", open(logpath).read()):
        daemon.kill()
        return tap.plan()
    # active[i] = (selector, time the daemon began using it)
    active = [(first, time.monotonic())]
    stop = threading.Event()
    senders = [Sender(spec, n, stop) for n in range(CONNECTIONS)]
    for t in senders:
        t.start()
    reload_failures = []
    starved = []

    def each_connection_sent(since, count=PER_KEY):
        """Waits until every connection has finished count messages begun after since
        (or has stopped with an error): each key signs on every connection, however slow
        the machine, instead of a pause that a busy machine fills with nothing."""
        end = time.monotonic() + 60
        while time.monotonic() < end:
            if all(t.error or not t.is_alive() or
                   sum(1 for r in list(t.results) if r[0] >= since) >= count for t in senders):
                return True
            time.sleep(0.01)
        return False

    try:
        if not each_connection_sent(0):
            starved.append(1)
        for gen in range(2, ROTATIONS + 2):
            sel = "k%02d" % (gen - 1)
            keys(store, "generate", DOMAIN, "-a", "ed25519", "-s", sel)
            old = active[-1][0]
            keys(store, "activate", DOMAIN, sel, "--force")
            # The old key leaves signing (retiring) -- with tools that do not move it yet,
            # retire it here so that exactly one key signs at a time.
            listing = keys(store, "list")
            if re.search(r"^%s %s \S+ active$" % (re.escape(DOMAIN), old), listing, re.M):
                subprocess.run([KEYS_TOOL, "-k", store, "retire", DOMAIN, old],
                               capture_output=True)
            daemon.send_signal(signal.SIGHUP)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if re.search(r"reloaded .* generation %d\b" % gen, open(logpath).read()):
                    break
                time.sleep(0.01)
            else:
                reload_failures.append(gen)
            active.append((sel, time.monotonic()))
            if not each_connection_sent(active[-1][1]):
                starved.append(gen)
    finally:
        stop.set()
        for t in senders:
            t.join(60)
    tap(not reload_failures and daemon.poll() is None,
        "daemon_reloaded_%d_times_and_kept_running" % ROTATIONS,
        "no reload line for generations %r\n%s" % (reload_failures, open(logpath).read()))
    tap(not starved, "every_connection_sent_messages_under_every_key",
        "generations with a connection that sent nothing in 60 s: %r" % starved)
    errors = [t.error for t in senders if t.error]
    tap(not errors, "every_connection_ran_to_the_end", "\n".join(errors))
    results = [r for t in senders for r in t.results]
    tap(len(results) >= CONNECTIONS * PER_KEY * (ROTATIONS + 1), "a_real_load_ran (%d messages)" % len(results), len(results))

    bad_action = [r for r in results if r[2] != "accept" or len(r[3]) != 1]
    tap(not bad_action, "no_message_lost_tempfailed_or_unsigned",
        "\n".join("action %s selectors %r" % (r[2], r[3]) for r in bad_action[:20]))

    def active_during(t0, t1):
        sels = set()
        for i, (sel, since) in enumerate(active):
            until = active[i + 1][1] if i + 1 < len(active) else float("inf")
            # the daemon may have switched up to the moment the reload line appeared
            start = active[i - 1][1] if i > 0 else since
            if start <= t1 and until >= t0:
                sels.add(sel)
        return sels

    wrong = []
    for t0, t1, action, sels, _ in results:
        if len(sels) == 1 and sels[0] not in active_during(t0, t1):
            wrong.append("%s not active in [%.3f, %.3f]" % (sels[0], t0, t1))
    used = sorted({r[3][0] for r in results if len(r[3]) == 1})
    tap(not wrong, "every_message_signed_by_a_key_active_during_its_life", "\n".join(wrong[:20]))
    tap(len(used) == ROTATIONS + 1, "the_load_saw_the_rotations (%d keys used)" % len(used),
        used)

    # Verify every message against a real DNS server that publishes every key made.
    zone = os.path.join(tmp, "records.zone")
    with open(zone, "w") as f:
        f.write(keys(store, "dns", DOMAIN) + "\n")
    for sel, _ in active:   # retired ones are left out by "dns DOMAIN": add them back
        line = keys(store, "dns", DOMAIN, sel)
        with open(zone) as f:
            if line.split()[0] not in f.read():
                with open(zone, "a") as g:
                    g.write(line + "\n")
    msgdir = os.path.join(tmp, "delivered")
    os.makedirs(msgdir)
    for i, r in enumerate(results):
        with open(os.path.join(msgdir, "%05d.eml" % i), "wb") as f:
            f.write(r[4])
    script = ('. "%s/tests/lib/dnsserver.sh"; dns_start "%s/dns" %s "%s" || exit 3; '
              '/usr/bin/python3 "%s/tests/lib/verify-dkimpy.py" 127.0.0.1 "$DNS_PORT" "%s"/*.eml '
              '> "%s/verify.out"; rc=$?; dns_stop; exit $rc'
              % (TOP_SRCDIR, tmp, DOMAIN, zone, TOP_SRCDIR, msgdir, tmp))
    out = subprocess.run(["bash", "-c", script], capture_output=True, text=True)
    verdicts = open(os.path.join(tmp, "verify.out")).read() if os.path.exists(
        os.path.join(tmp, "verify.out")) else ""
    bad = [l for l in verdicts.splitlines() if l.startswith("d=") and not l.endswith(" pass")]
    tap(out.returncode == 0 and verdicts.count(" pass") == len(results),
        "every_message_verifies_against_the_published_keys (dkimpy, NSD)",
        out.stdout + out.stderr + "\n".join(bad[:20]))
    daemon.terminate()
    daemon.wait(timeout=70)
    return tap.plan()


if __name__ == "__main__":
    sys.exit(main())
