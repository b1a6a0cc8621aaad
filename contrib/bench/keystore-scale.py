#!/usr/bin/python3
"""
NAME
    keystore-scale.py - does Signet's cost per message grow with the keystore? (issue 17,
    item 4: "nothing per message that grows with the number of domains in the keystore")

SYNOPSIS
    contrib/bench/keystore-scale.py [--builddir DIR] [--sizes 1,1000,10000] [-n MESSAGES]

DESCRIPTION
    Builds keystores of 1, 1,000 and 10,000 domains (one active Ed25519 key each: Ed25519
    so that the signature itself, 0.04 ms, hides nothing), starts Signet on each (sign
    mode, unix socket) and prints per keystore size:
      - the time from start until the daemon logs that it listens (libmilter binds the
        socket before the keys are loaded), and from a SIGHUP until the reload is
        logged as done (keys are loaded at start and at every reload: that part
        grows with the store, and should);
      - CPU per message and msg/s signing with milterload, From the first, the middle
        and the last domain in sort order, in rotation, 3 rounds, medians;
      - peak RSS of the daemon's process tree (the signer holds the private keys).
    The 10,000 domains are copies of one generated key under other names: the daemon
    does not compare keys between domains.  Figures, not assertions.
"""
import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(TOP, "tests", "milter"))
sys.path.insert(0, HERE)
import milterclient  # noqa: E402
import socket  # noqa: E402


def make_store(tool, root, count):
    """count domains d00000.example ... each with the same active Ed25519 key."""
    store = os.path.join(root, "keys-%d" % count)
    os.makedirs(store, mode=0o750)
    subprocess.run([tool, "-k", store, "generate", "d00000.example", "-a", "ed25519"],
                   check=True, capture_output=True, text=True)
    selector = os.listdir(os.path.join(store, "d00000.example"))[0].split(".")[0]
    subprocess.run([tool, "-k", store, "activate", "d00000.example", selector, "--force"],
                   check=True, capture_output=True, text=True)
    first = os.path.join(store, "d00000.example")
    for i in range(1, count):
        shutil.copytree(first, os.path.join(store, "d%05d.example" % i))
    return store, ["d%05d.example" % i for i in sorted({0, count // 2, count - 1})]


def wait_socket(path, proc, deadline=120):
    start = time.monotonic()
    while time.monotonic() - start < deadline:
        if proc.poll() is not None:
            sys.exit("signet exited at start")
        try:
            with socket.socket(socket.AF_UNIX) as s:
                s.connect(path)
            return time.monotonic() - start
        except OSError:
            time.sleep(0.01)
    sys.exit("signet did not listen")


def wait_log(path, text, since, deadline=120):
    start = time.monotonic()
    while time.monotonic() - start < deadline:
        with open(path, errors="replace") as f:
            f.seek(since)
            if text in f.read():
                return time.monotonic() - start
        time.sleep(0.01)
    sys.exit("no %r in %s" % (text, path))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--builddir", default=TOP)
    ap.add_argument("--sizes", default="1,1000,10000")
    ap.add_argument("-n", type=int, default=3000, help="messages per domain and round")
    args = ap.parse_args()
    signet = os.path.join(args.builddir, "milter", "signet")
    tool = os.path.join(args.builddir, "keys", "signet-keys")
    load = os.path.join(args.builddir, "contrib", "bench", "milterload")
    tmp = tempfile.mkdtemp(prefix="ks-scale-")
    print("keystore-scale: %s, %d cores, load %.1f" % (signet, os.cpu_count(),
                                                       os.getloadavg()[0]))
    print("%8s %9s %9s %12s %10s %9s" % ("domains", "start_s", "reload_s", "cpu_ms/msg",
                                         "msg/s", "rss_MB"))
    try:
        for count in [int(x) for x in args.sizes.split(",")]:
            store, domains = make_store(tool, tmp, count)
            sock = os.path.join(tmp, "s%d.sock" % count)
            conf = os.path.join(tmp, "s%d.conf" % count)
            log = os.path.join(tmp, "s%d.log" % count)
            with open(conf, "w") as f:
                f.write("Socket unix:%s\nMode s\nKeystore %s\nInternalHosts 127.0.0.1\n"
                        "LogLevel info\n" % (sock, store))
            logf = open(log, "w")
            t_start = time.monotonic()
            proc = subprocess.Popen([signet, "-c", conf, "-f"], stdout=logf, stderr=logf)
            wait_socket(sock, proc)
            wait_log(log, "listening", 0)
            started = time.monotonic() - t_start
            since = os.path.getsize(log)
            proc.send_signal(signal.SIGHUP)
            reloaded = wait_log(log, "reload", since)
            cpu, rate, rss = [], [], []
            for _ in range(3):
                for d in domains:
                    r = subprocess.run([load, "-q", "-c", "4", "-n", str(args.n), "-m", "10",
                                        "--from", "bench@" + d, "--pid", str(proc.pid),
                                        "--expect", "DKIM-Signature", "unix:" + sock],
                                       capture_output=True, text=True)
                    fields = dict(kv.split("=", 1) for kv in r.stdout.split() if "=" in kv)
                    if "cpu_ms_per_msg" not in fields or fields.get("missing", "0") != "0":
                        sys.exit("milterload: %s %s" % (r.stdout, r.stderr))
                    cpu.append(float(fields["cpu_ms_per_msg"]))
                    rate.append(float(fields["msg_per_s"]))
                    rss.append(float(fields["rss_kb"]) / 1024)
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
            print("%8d %9.3f %9.3f %12.3f %10.0f %9.1f" % (
                count, started, reloaded, statistics.median(cpu), statistics.median(rate),
                max(rss)))
            shutil.rmtree(store)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
