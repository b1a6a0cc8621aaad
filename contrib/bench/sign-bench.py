#!/usr/bin/python3
"""
NAME
    sign-bench.py - signing throughput of Signet and OpenDKIM, side by side, same machine

SYNOPSIS
    contrib/bench/sign-bench.py [-n MESSAGES] [-s BODY_BYTES] [--builddir DIR]

DESCRIPTION
    Starts Signet and OpenDKIM with the same RSA-2048 key, each on an inet socket and on a
    unix socket, sends the same N messages to each over ONE connection the way an MTA
    does (tests/milter/milterclient.py), and prints per daemon and socket: wall time per
    message, messages per second, and the daemon's CPU time per message (from
    /proc/PID/stat, summed over its process tree: Signet's signer process counts).  Also Signet dual-signing (RSA + Ed25519).  Every message's result is
    checked to carry a DKIM-Signature, so a daemon that passes mail unsigned shows up.

    Over inet, OpenDKIM pays a Nagle + delayed-ACK stall per message (libmilter does not
    set TCP_NODELAY); Signet does not.  Needs the opendkim package (apt-get install
    opendkim), which this script installs when missing.  Figures, not assertions: this
    is a benchmark, not a test.
"""
import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(TOP, "tests", "milter"))
import milterclient  # noqa: E402
sys.path.insert(0, HERE)
from proctree import cpu_seconds  # noqa: E402


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(spec, proc, log):
    for _ in range(200):
        if proc.poll() is not None:
            sys.exit("daemon exited: %s" % open(log).read())
        try:
            fam, addr = milterclient.parse_socket(spec)
            with socket.socket(fam, socket.SOCK_STREAM) as s:
                s.connect(addr)
            return
        except OSError:
            time.sleep(0.05)
    sys.exit("daemon did not listen on %s" % spec)


def run_load(spec, message, n):
    with milterclient.Session(spec) as s:
        s.connect("127.0.0.1", helo="bench.example")
        s.message(message, "bench@bench.example", ["rcpt@example.net"])  # warm-up
        start = time.monotonic()
        unsigned = 0
        for _ in range(n):
            r = s.message(message, "bench@bench.example", ["rcpt@example.net"])
            if not any(name.lower() == "dkim-signature" for _, name, _ in r.inserted) and \
                    not any(name.lower() == "dkim-signature" for name, _ in r.added):
                unsigned += 1
        return time.monotonic() - start, unsigned


def measure(label, cmd, spec, message, n, tmp):
    log = os.path.join(tmp, label.replace(" ", "_") + ".log")
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=open(log, "w"))
    try:
        wait_for(spec, proc, log)
        cpu0 = cpu_seconds(proc.pid)
        wall, unsigned = run_load(spec, message, n)
        cpu = cpu_seconds(proc.pid) - cpu0
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    print("%-34s %9.3f %10.0f %12.3f %9s" % (label, wall * 1000 / n, n / wall, cpu * 1000 / n,
                                               "all" if unsigned == 0 else "%d NOT" % unsigned))
    if unsigned:
        print("  (%s did not sign; its log:)\n%s" % (label, open(log).read()[-2000:]))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("-n", "--messages", type=int, default=500)
    p.add_argument("-s", "--body-bytes", type=int, default=4096)
    p.add_argument("--builddir", default=TOP)
    args = p.parse_args()
    if shutil.which("opendkim") is None:
        subprocess.run(["apt-get", "install", "-y", "-q", "--no-install-recommends", "opendkim"],
                       check=True, env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
    signet = os.path.join(args.builddir, "milter", "signet")
    keys_tool = os.path.join(args.builddir, "keys", "signet-keys")
    tmp = tempfile.mkdtemp(prefix="signet-bench-")
    os.chmod(tmp, 0o755)
    keys, keys2 = os.path.join(tmp, "keys"), os.path.join(tmp, "keys2")
    rsa = subprocess.run([keys_tool, "-k", keys, "generate", "bench.example", "-s", "rsa1"],
                         capture_output=True, text=True, check=True).stdout.strip()
    subprocess.run([keys_tool, "-k", keys, "activate", "bench.example", rsa, "--force"],
                   capture_output=True, check=True)
    shutil.copytree(keys, keys2)
    subprocess.run([keys_tool, "-k", keys2, "generate", "bench.example", "-a", "ed25519",
                    "-s", "ed1"], capture_output=True, check=True)
    subprocess.run([keys_tool, "-k", keys2, "activate", "bench.example", "ed1", "--force"],
                   capture_output=True, check=True)

    line = b"The quick brown fox jumps over the lazy dog, again and again and again.\r\n"
    body = line * max(1, args.body_bytes // len(line))   # whole lines, as real mail has
    message = (b"From: Bench <bench@bench.example>\r\nTo: rcpt@example.net\r\n"
               b"Subject: benchmark message\r\nDate: Fri, 27 Nov 2026 07:00:00 +0000\r\n"
               b"Message-ID: <bench@bench.example>\r\nMIME-Version: 1.0\r\n"
               b"Content-Type: text/plain; charset=utf-8\r\n\r\n" + body)

    def signet_cmd(name, keystore, sock):
        conf = os.path.join(tmp, name + ".conf")
        with open(conf, "w") as f:
            f.write("Socket %s\nKeystore %s\nLogLevel warning\n" % (sock, keystore))
        return [signet, "-c", conf, "-f"]

    def opendkim_cmd(name, sock):
        conf = os.path.join(tmp, name + ".conf")
        with open(conf, "w") as f:
            f.write("Syslog no\nMode sv\nDomain bench.example\nSelector rsa1\n"
                    "KeyFile %s/bench.example/rsa1.key\nSocket %s\nInternalHosts 127.0.0.1\n"
                    "Canonicalization relaxed/relaxed\nRequireSafeKeys no\n"
                    "UserID root\n" % (keys, sock))
        return ["opendkim", "-f", "-x", conf]

    print("%d messages of %d body bytes over one connection, RSA-2048 unless noted"
          % (args.messages, args.body_bytes))
    print("%-34s %9s %10s %12s %9s" % ("daemon / socket", "ms/msg", "msgs/s", "CPU ms/msg",
                                       "signed"))
    ports = [free_port() for _ in range(3)]
    runs = [
        ("signet inet", signet_cmd("s-inet", keys, "inet:%d@127.0.0.1" % ports[0]),
         "inet:%d@127.0.0.1" % ports[0]),
        ("opendkim inet", opendkim_cmd("o-inet", "inet:%d@127.0.0.1" % ports[1]),
         "inet:%d@127.0.0.1" % ports[1]),
        ("signet unix", signet_cmd("s-unix", keys, "unix:%s/s.sock" % tmp),
         "unix:%s/s.sock" % tmp),
        ("opendkim unix", opendkim_cmd("o-unix", "local:%s/o.sock" % tmp),
         "unix:%s/o.sock" % tmp),
        ("signet inet, RSA + Ed25519", signet_cmd("s-dual", keys2, "inet:%d@127.0.0.1" % ports[2]),
         "inet:%d@127.0.0.1" % ports[2]),
    ]
    for label, cmd, spec in runs:
        measure(label, cmd, spec, message, args.messages, tmp)
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
