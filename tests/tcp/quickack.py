#!/usr/bin/python3
"""
NAME
    quickack.py - a milter frame that gets no reply is ACKed at once (no Nagle stall)

DESCRIPTION
    Sendmail writes an event's macro frame and the event's command in two writes, and its
    milter socket has Nagle's algorithm on: the command waits until the macro frame is
    ACKed.  The macro frame gets no reply, so a milter whose kernel delays its ACK (~40 ms
    on Linux) costs ~40 ms per event: through Sendmail over TCP, 39 messages/s instead of
    hundreds (issue 17, contrib/bench/RESULTS.md).  Signet's engine (milter/engine.c) sets
    TCP_QUICKACK whenever it waits for the MTA with no reply to send.

    This test counts the stalls themselves, not a time: it runs in a network namespace of
    its own (unshare(1); root, or an unprivileged user namespace), where the kernel's
    TcpExt DelayedACKs counter (/proc/net/netstat) counts only this test's ACKs sent late
    by the delayed-ACK timer.  It starts the real daemon on an inet socket there, sends
    messages as Sendmail does (each macro frame in a write of its own, Nagle on), and
    checks that the counter grew by far less than one per message.  A daemon that leaves
    the ACK to its timer adds several per message.  Emits TAP.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "milter"))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import milterclient  # noqa: E402
from signettest import (Daemon, Tap, delayed_acks, free_port, signing_keystore,  # noqa: E402
                        wait_listening)

INNER = "--in-namespace"
MESSAGES = 100

MESSAGE = (b"From: Alice <alice@quickack.test>\r\nTo: bob@example.net\r\n"
           b"Subject: quickack\r\nDate: Sun, 06 Dec 2026 21:00:00 +0000\r\n"
           b"Message-ID: <q@quickack.test>\r\n\r\nbody\r\n")


class SendmailLikeSession(milterclient.Session):
    """Writes every frame at once, macro frames alone, as Sendmail does."""

    def _send(self, cmd, data=b""):
        self._pending = b""
        self.sock.sendall(milterclient.struct.pack(">I", len(data) + 1) + cmd + data)


def in_namespace(tap):
    tmp = tempfile.mkdtemp(prefix="signet-quickack-")
    port = free_port()
    daemon = Daemon(tmp, "Socket inet:%d@127.0.0.1\nKeystore %s\nLogLevel warning\n"
                    % (port, signing_keystore(tmp, "quickack.test")))
    spec = "inet:%d@127.0.0.1" % port
    try:
        wait_listening(spec)
        with SendmailLikeSession(spec) as s:
            s.connect("127.0.0.1", helo="mta.example")
            before = delayed_acks()
            start = time.monotonic()
            actions = [s.message(MESSAGE, "alice@quickack.test", ["bob@example.net"]).action
                       for _ in range(MESSAGES)]
            elapsed = time.monotonic() - start
            late = delayed_acks() - before
        tap(actions.count("accept") == MESSAGES,
            "%d messages, macro frames written alone, all accepted" % MESSAGES,
            "actions: %r" % set(actions))
        tap(late < MESSAGES // 10,
            "fewer than %d ACKs left to the delayed-ACK timer for %d messages"
            % (MESSAGES // 10, MESSAGES),
            "%d delayed ACKs (each is a frame with no reply left to the milter's ACK timer)"
            % late)
        print("# %d delayed ACKs; %.2f ms per message (information only)"
              % (late, elapsed * 1000 / MESSAGES))
    except Exception as e:  # a crash of the harness is a failure, with its reason
        tap(False, "quickack harness ran", repr(e))
    finally:
        daemon.stop()
        if tap.failed:
            print("# daemon log:\n" +
                  "".join("#   " + l + "\n" for l in daemon.log().splitlines()))
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    if INNER in sys.argv:
        tap = Tap(diag_on_pass=True)
        in_namespace(tap)
        return tap.plan()
    unshare = shutil.which("unshare")
    if unshare is None:
        print("1..1\nnot ok 1 - unshare(1) found (apt-get install util-linux)")
        return 1
    # Root: a network namespace; otherwise one inside an unprivileged user namespace.
    flags = ["-n"] if os.geteuid() == 0 else ["-r", "-n"]
    script = ('ip link set lo up 2>/dev/null || python3 -c "import socket,fcntl,struct;'
              's=socket.socket();fcntl.ioctl(s,0x8914,struct.pack(\'16sH22x\',b\'lo\',0x41))"'
              ' && exec "$0" "$1" "$2"')
    r = subprocess.run([unshare] + flags + ["sh", "-c", script, sys.executable,
                                            os.path.abspath(__file__), INNER])
    return r.returncode


if __name__ == "__main__":
    sys.exit(main())
