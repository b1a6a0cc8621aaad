#!/usr/bin/python3
"""
NAME
    milterload.py - contrib/bench/milterload, the load generator, measures what it claims
    and fails when it should

DESCRIPTION
    Starts the real daemon twice from the build tree (a unix socket, an inet socket) with
    a keystore made by keys/signet-keys, and runs milterload against each as the
    benchmarks do: 4 workers, 40 messages, --auth, --expect DKIM-Signature, --pid of the
    daemon.  Its one summary line (the key=value line contrib/bench/matrix.py parses)
    must say every message was signed, with numeric rate and latencies, and CPU time
    and peak memory above zero.  Then what must fail does: a From domain the keystore
    has no key for gives missing>0 and exit 1; a socket that accepts and reads but never
    answers, with --timeout 1, gives exit 2 (or errors>0) within seconds, and so does
    one that stops answering after the negotiation; a usage error gives exit 2.  Every
    run of milterload has a time limit, so a hang fails the test instead of stalling it.
    Emits TAP.
"""
import os
import shutil
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
from signettest import Daemon, Tap, free_port, wait_listening  # noqa: E402

TOP_BUILDDIR = os.environ.get("top_builddir", os.path.join(HERE, "..", ".."))
MILTERLOAD = os.path.join(TOP_BUILDDIR, "contrib", "bench", "milterload")
SIGNET_KEYS = os.path.join(TOP_BUILDDIR, "keys", "signet-keys")
SUMMARY_KEYS = ["messages", "seconds", "msg_per_s", "p50_ms", "p99_ms", "max_ms",
                "cpu_ms_per_msg", "rss_kb", "errors", "missing"]
RUN_LIMIT = 120         # seconds for a run that should take one or two

tap = Tap()


def milterload(*args, limit=RUN_LIMIT):
    """(exit status, summary dict or None, stderr, seconds); status None on a hang."""
    start = time.monotonic()
    try:
        r = subprocess.run([MILTERLOAD] + list(args), capture_output=True, text=True,
                           timeout=limit, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        err = e.stderr.decode(errors="replace") if isinstance(e.stderr, bytes) else e.stderr
        return None, None, "killed after %d s\n%s" % (limit, err or ""), limit
    lines = r.stdout.splitlines()
    summary = None
    if lines:
        pairs = [f.split("=", 1) for f in lines[-1].split()]
        if all(len(p) == 2 for p in pairs):
            summary = dict(pairs)
            summary["_keys"] = [p[0] for p in pairs]
    return r.returncode, summary, r.stdout + r.stderr, time.monotonic() - start


def number(summary, key):
    try:
        return float(summary[key])
    except (KeyError, TypeError, ValueError):
        return None


class QuietMilter:
    """A listening socket that accepts and reads, and never writes; with
    answer_optneg, it answers the negotiation (version 6, no actions, every step
    answered) and then nothing more."""

    def __init__(self, answer_optneg=False):
        self.answer_optneg = answer_optneg
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.spec = "inet:%d@127.0.0.1" % self.sock.getsockname()[1]
        self.conns = []
        self.received = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(c)
            threading.Thread(target=self._read, args=(c,), daemon=True).start()

    def _read(self, c):
        data = b""
        answered = not self.answer_optneg
        while True:
            try:
                chunk = c.recv(65536)
            except OSError:
                return
            if not chunk:
                return
            self.received += len(chunk)
            if answered:
                continue
            data += chunk
            if len(data) >= 5 and len(data) >= 4 + struct.unpack(">I", data[:4])[0]:
                c.sendall(struct.pack(">IcIII", 13, b"O", 6, 0, 0))
                answered = True

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        for c in self.conns:
            c.close()


def keystore(tmp):
    store = os.path.join(tmp, "keys")
    sel = subprocess.run([SIGNET_KEYS, "-k", store, "generate", "bench.example"],
                         capture_output=True, text=True, check=True).stdout.strip()
    subprocess.run([SIGNET_KEYS, "-k", store, "activate", "bench.example", sel, "--force"],
                   capture_output=True, check=True)
    return store


def check_signing_run(where, daemon, spec):
    status, s, out, _ = milterload("-c", "4", "-n", "40", "--auth", "alice",
                                   "--expect", "DKIM-Signature", "--pid",
                                   str(daemon.proc.pid), spec)
    seen = "exit %r\n%s" % (status, out)
    tap(status == 0, "%s: 40 signed messages, exit 0" % where, seen)
    tap(s is not None and s["_keys"] == SUMMARY_KEYS,
        "%s: the summary line has the keys matrix.py parses, in order" % where, seen)
    s = s or {}
    tap(s.get("messages") == "40" and s.get("errors") == "0" and s.get("missing") == "0",
        "%s: messages=40 errors=0 missing=0" % where, seen)
    rate, p50, p99, top = (number(s, k) for k in ("msg_per_s", "p50_ms", "p99_ms", "max_ms"))
    tap(None not in (rate, p50, p99, top) and rate > 0 and 0 <= p50 <= p99 <= top,
        "%s: msg_per_s, p50_ms, p99_ms and max_ms are numbers, in order" % where, seen)
    cpu, rss = number(s, "cpu_ms_per_msg"), number(s, "rss_kb")
    tap(cpu is not None and cpu > 0 and rss is not None and rss > 0,
        "%s: --pid of the daemon gives cpu_ms_per_msg > 0 and rss_kb > 0" % where, seen)


def check_unkeyed_domain(spec):
    status, s, out, _ = milterload("-c", "4", "-n", "40", "--auth", "alice",
                                   "--from", "bench@nokey.example", "--expect",
                                   "DKIM-Signature", spec)
    s = s or {}
    tap(status == 1 and number(s, "missing") is not None and number(s, "missing") > 0
        and s.get("errors") == "0",
        "a From domain without a key: missing>0, errors=0, exit 1",
        "exit %r\n%s" % (status, out))


def check_quiet_milter(answer_optneg, what):
    quiet = QuietMilter(answer_optneg=answer_optneg)
    try:
        status, s, out, took = milterload("-c", "2", "-n", "2", "--warmup", "0",
                                          "--timeout", "1", quiet.spec, limit=30)
    finally:
        quiet.close()
    s = s or {}
    seen = "exit %r after %.1f s, the milter read %d bytes\n%s" % (status, took,
                                                                  quiet.received, out)
    tap(status is not None, "%s: milterload --timeout 1 does not hang" % what, seen)
    tap(status == 2 or (number(s, "errors") or 0) > 0,
        "%s: exit 2 or errors>0" % what, seen)
    tap(status is not None and took < 15 and quiet.received >= 17 and "no reply" in out,
        "%s: it gave up within seconds, saying which reply did not come" % what, seen)


def check_usage_errors():
    for args in ([], ["-c", "0", "unix:/nonexistent"], ["--timeout", "1"]):
        status, _, out, _ = milterload(*args, limit=30)
        tap(status == 2 and "usage:" in out, "usage error exits 2: %r" % (args,),
            "exit %r\n%s" % (status, out))


def main():
    if not os.access(MILTERLOAD, os.X_OK):
        tap(False, "contrib/bench/milterload is built", MILTERLOAD + " is missing")
        return tap.plan()
    tmp = tempfile.mkdtemp(prefix="signet-milterload-")
    store = keystore(tmp)
    unix_spec = "unix:" + os.path.join(tmp, "signet.sock")
    inet_spec = "inet:%d@127.0.0.1" % free_port()
    daemons = []
    try:
        for name, spec in (("unix", unix_spec), ("inet", inet_spec)):
            d = Daemon(tmp, "Socket %s\nKeystore %s\nMode s\nLogLevel warning\n"
                       % (spec, store), name)
            daemons.append(d)
            tap(wait_listening(spec), "the daemon listens on %s" % spec, d.log())
        check_signing_run("unix socket", daemons[0], unix_spec)
        check_signing_run("inet socket", daemons[1], inet_spec)
        check_unkeyed_domain(unix_spec)
        check_quiet_milter(False, "a socket that never answers")
        check_quiet_milter(True, "a milter silent after the negotiation")
        check_usage_errors()
    except Exception as e:  # a crash of the harness is a failure, with its reason
        tap(False, "milterload harness ran", repr(e))
    finally:
        for d in daemons:
            d.stop()
            if tap.failed:
                print("# %s log:\n%s" % (d.logfile, "".join("#   " + l + "\n"
                                                            for l in d.log().splitlines())))
        if not tap.failed:
            shutil.rmtree(tmp, ignore_errors=True)
    return tap.plan()


if __name__ == "__main__":
    sys.exit(main())
