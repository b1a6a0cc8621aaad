#!/usr/bin/python3
"""
NAME
    nodelay.py - Signet's MTA connections have TCP_NODELAY set (no Nagle stall)

DESCRIPTION
    At end of message Signet answers with several small writes (a header, then accept).
    Without TCP_NODELAY the second write waits for the MTA's delayed ACK, ~40 ms a message
    (DEPENDENCIES.md).  Signet sets TCP_NODELAY on the milter engine's listening socket, and Linux
    gives accepted connections the option of their listener.

    This test checks the property itself, not a time: it starts the real daemon on an inet
    socket, opens one connection as an MTA would, sends messages that get signed, then
    takes a duplicate of the daemon's end of that very connection (pidfd_getfd(2), which
    needs ptrace rights over the daemon: the test runs it as a child) and reads its
    TCP_NODELAY.  It checks which steps get no reply over TCP (with Signet's engine the
    same as on a unix socket; with libmilter none), and prints, for information only,
    how long 200 messages took over the one connection.  Emits TAP.
"""
import ctypes
import os
import socket
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "milter"))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import milterclient  # noqa: E402
from signettest import Tap, free_port, own_milter_engine, signing_keystore, wait_listening  # noqa: E402

TOP_BUILDDIR = os.environ.get("top_builddir", os.path.join(HERE, "..", ".."))
SIGNET = os.path.join(TOP_BUILDDIR, "milter", "signet")
SYS_pidfd_open, SYS_pidfd_getfd = 434, 438

tap = Tap(diag_on_pass=True)


def daemon_socket_for(pid, client_port):
    """The daemon's fd number whose TCP peer port is client_port."""
    inodes = {}
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes[target[8:-1]] = int(fd)
    with open("/proc/%d/net/tcp" % pid) as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            remote_port = int(fields[2].split(":")[1], 16)
            if remote_port == client_port and fields[9] in inodes:
                return inodes[fields[9]]
    return None


def nodelay_of_remote_fd(pid, fd):
    libc = ctypes.CDLL(None, use_errno=True)
    pidfd = libc.syscall(SYS_pidfd_open, pid, 0)
    if pidfd < 0:
        raise OSError(ctypes.get_errno(), "pidfd_open")
    try:
        local = libc.syscall(SYS_pidfd_getfd, pidfd, fd, 0)
        if local < 0:
            raise OSError(ctypes.get_errno(), "pidfd_getfd")
        s = socket.socket(fileno=local)
        try:
            return s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        finally:
            s.detach()
            os.close(local)
    finally:
        os.close(pidfd)


MESSAGE = (b"From: Alice <alice@nodelay.test>\r\nTo: bob@example.net\r\n"
           b"Subject: nodelay\r\nDate: Fri, 27 Nov 2026 07:00:00 +0000\r\n"
           b"Message-ID: <n@nodelay.test>\r\n\r\nbody\r\n")


def main():
    tmp = tempfile.mkdtemp(prefix="signet-nodelay-")
    keys = signing_keystore(tmp, "nodelay.test")
    port = free_port()
    conf = os.path.join(tmp, "signet.conf")
    with open(conf, "w") as f:
        f.write("Socket inet:%d@127.0.0.1\nKeystore %s\nLogLevel warning\n" % (port, keys))
    log = open(os.path.join(tmp, "signet.log"), "w+")
    daemon = subprocess.Popen([SIGNET, "-c", conf, "-f"], stderr=log)
    spec = "inet:%d@127.0.0.1" % port
    try:
        wait_listening(spec)
        with milterclient.Session(spec) as s:
            s.connect("127.0.0.1", helo="mta.example")
            r = s.message(MESSAGE, "alice@nodelay.test", ["bob@example.net"])
            signed = [v for _, n, v in r.inserted if n.lower() == "dkim-signature"]
            tap(r.action == "accept" and len(signed) == 1,
                "a message over the inet socket is signed (two replies at end of message)",
                "action %s, inserted %r" % (r.action, r.inserted))
            # Signet's engine ACKs an unanswered frame at once (quickack.py), so it asks
            # for no reply to the steps that only continue, as on a unix socket; with
            # libmilter, whose ACKs wait for the kernel's timer, every step is answered.
            silent = (milterclient.SMFIP_NR_CONN | milterclient.SMFIP_NR_HELO |
                      milterclient.SMFIP_NR_DATA | milterclient.SMFIP_NR_HDR |
                      milterclient.SMFIP_NR_BODY)
            nr_all = silent | (milterclient.SMFIP_NR_MAIL | milterclient.SMFIP_NR_RCPT |
                               milterclient.SMFIP_NR_EOH | milterclient.SMFIP_NR_UNKN)
            # Mode sv and no RateLimits (the default): MAIL, RCPT and end of headers get
            # no reply either (milter/adapter.c); end of message is the one answered.
            quiet = silent | (milterclient.SMFIP_NR_MAIL | milterclient.SMFIP_NR_RCPT |
                              milterclient.SMFIP_NR_EOH)
            if own_milter_engine():
                tap(s.protocol & nr_all == quiet,
                    "over TCP, Signet's engine asks for no reply to every step but end of "
                    "message (and unknown commands, which it skips)",
                    "protocol 0x%x" % s.protocol)
            else:
                tap(s.protocol & nr_all == 0,
                    "over TCP with libmilter every step is answered (no SMFIP_NR_*: "
                    "libmilter leaves ACKs to the kernel's timer)",
                    "protocol 0x%x" % s.protocol)
            client_port = s.sock.getsockname()[1]
            fd = daemon_socket_for(daemon.pid, client_port)
            tap(fd is not None, "the daemon's end of the MTA connection is found",
                "no socket of pid %d has peer port %d" % (daemon.pid, client_port))
            value = nodelay_of_remote_fd(daemon.pid, fd) if fd is not None else None
            tap(value == 1, "the daemon's MTA connection has TCP_NODELAY set",
                "TCP_NODELAY is %r" % value)
            n = 200
            start = time.monotonic()
            actions = [s.message(MESSAGE, "alice@nodelay.test", ["bob@example.net"]).action
                       for _ in range(n)]
            elapsed = time.monotonic() - start
            tap(actions.count("accept") == n, "%d messages over one connection all accepted" % n,
                "actions: %r" % set(actions))
            print("# %d signed messages over one inet connection: %.1f ms in all, %.2f ms "
                  "per message (with a Nagle stall it would be over %d ms)"
                  % (n, elapsed * 1000, elapsed * 1000 / n, n * 40))
    except Exception as e:  # a crash of the harness is a failure, with its reason
        tap(False, "nodelay harness ran", repr(e))
    finally:
        daemon.terminate()
        daemon.wait(timeout=10)
        log.seek(0)
        text = log.read()
        if tap.failed and text:
            print("# daemon log:\n" + "".join("#   " + l + "\n" for l in text.splitlines()))
    return tap.plan()


if __name__ == "__main__":
    sys.exit(main())
