#!/usr/bin/python3
"""
NAME
    smtpsink.py - an SMTP server on loopback that keeps every message it receives, for tests

SYNOPSIS
    /usr/bin/python3 smtpsink.py DIR PORTFILE

DESCRIPTION
    Listens on 127.0.0.1 on a port the kernel picks, writes that port to PORTFILE once it
    accepts connections, and serves SMTP (EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT)
    to any number of clients at once.  Each message accepted is written to DIR as N.eml,
    exactly the bytes after DATA with the dot-stuffing undone and CRLF line ends kept,
    with the envelope in N.env ("from ADDR" and one "to ADDR" line per recipient).  Both
    files are written under another name first and renamed, so a reader that sees N.eml
    sees all of it.  It never refuses a message and offers no extension but 8BITMIME, so
    the MTAs deliver to it as plainly as they can.  Each reply goes in one write, so the
    sink itself never waits for a delayed ACK (tests/mta/run.sh counts them).  It runs
    until killed.

    Only the Python standard library is used (the smtpd module is gone from Python 3.12).
"""

import os
import socket
import socketserver
import sys
import threading

MAX_LINE = 1000 * 1000
MAX_MESSAGE = 64 * 1024 * 1024

counter_lock = threading.Lock()
counter = [0]


def next_number():
    with counter_lock:
        counter[0] += 1
        return counter[0]


class Session(socketserver.StreamRequestHandler):
    timeout = 120

    def reply(self, text):
        self.wfile.write(text.encode("ascii") + b"\r\n")
        self.wfile.flush()

    def readline(self):
        line = self.rfile.readline(MAX_LINE)
        if not line:
            raise EOFError
        return line

    def handle(self):
        try:
            self.reply("220 sink.signet.test ESMTP test sink")
            self.serve()
        except (EOFError, OSError, socket.timeout):
            pass

    def serve(self):
        sender, rcpts = None, []
        while True:
            line = self.readline().rstrip(b"\r\n").decode("latin-1")
            verb = line[:4].upper()
            if verb == "EHLO":
                # One write: a reply written in pieces waits, under Nagle's algorithm,
                # for the client's delayed ACK of the first piece (~40 ms).
                self.reply("250-sink.signet.test\r\n250 8BITMIME")
            elif verb == "HELO":
                self.reply("250 sink.signet.test")
            elif verb == "MAIL":
                sender, rcpts = line.partition(":")[2].strip(), []
                self.reply("250 2.1.0 ok")
            elif verb == "RCPT":
                rcpts.append(line.partition(":")[2].strip())
                self.reply("250 2.1.5 ok")
            elif verb == "DATA":
                if sender is None or not rcpts:
                    self.reply("503 5.5.1 MAIL and RCPT first")
                    continue
                self.reply("354 go ahead")
                self.store(sender, rcpts, self.read_data())
                self.reply("250 2.0.0 stored")
                sender, rcpts = None, []
            elif verb == "RSET":
                sender, rcpts = None, []
                self.reply("250 2.0.0 ok")
            elif verb == "NOOP":
                self.reply("250 2.0.0 ok")
            elif verb == "QUIT":
                self.reply("221 2.0.0 bye")
                return
            else:
                self.reply("502 5.5.2 not implemented")

    def read_data(self):
        data = bytearray()
        while True:
            line = self.readline()
            if line in (b".\r\n", b".\n"):
                return bytes(data)
            if line.startswith(b"."):
                line = line[1:]
            if len(data) + len(line) > MAX_MESSAGE:
                raise EOFError
            data += line

    def store(self, sender, rcpts, data):
        n = next_number()
        base = os.path.join(self.server.directory, str(n))
        with open(base + ".env.tmp", "w") as f:
            f.write("from %s\n" % sender)
            for r in rcpts:
                f.write("to %s\n" % r)
        os.rename(base + ".env.tmp", base + ".env")
        with open(base + ".eml.tmp", "wb") as f:
            f.write(data)
        os.rename(base + ".eml.tmp", base + ".eml")


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    # socketserver's default backlog is 5.  When Postfix opens a burst of connections
    # (a flush of 250 messages) and the queue of accepted connections is full, the
    # kernel drops the client's last handshake ACK: the client believes it is
    # connected and waits for a greeting that never comes (Postfix: "timed out while
    # receiving the initial server greeting" after 300 s, seen in postfix-bench.py).
    request_queue_size = 256
    allow_reuse_address = True


def main(argv):
    if len(argv) != 3:
        sys.stderr.write("usage: smtpsink.py DIR PORTFILE\n")
        return 2
    server = Server(("127.0.0.1", 0), Session)
    server.directory = argv[1]
    with open(argv[2] + ".tmp", "w") as f:
        f.write("%d\n" % server.server_address[1])
    os.rename(argv[2] + ".tmp", argv[2])
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
