#!/usr/bin/python3
"""
NAME
    milterrelay.py - a TCP relay between an MTA and a milter that logs the milter frames

SYNOPSIS
    /usr/bin/python3 milterrelay.py PORTFILE UPSTREAM_PORT LOGFILE

DESCRIPTION
    Listens on 127.0.0.1 on a port the kernel picks and writes it to PORTFILE once it
    accepts connections.  Each connection is relayed to 127.0.0.1:UPSTREAM_PORT (the
    milter), both ways, as the bytes come, with TCP_NODELAY on both sockets so that the
    relay adds no wait of its own.  One thread per connection reads both sockets in the
    order the bytes arrive, cuts each direction into milter frames (a 4-byte length,
    then the command or reply code) and appends one line per frame to LOGFILE:

        CONN mta CODE EVENT     a command from the MTA; EVENT is the event a macro
                                frame (SMFIC_MACRO, "D") is for, "-" for other codes
        CONN milter CODE -      a reply from the milter

    in the order the relay received them.  Since an MTA that waits for a reply sends
    nothing before the reply has reached it, a command that follows another with no
    reply in between shows where the MTA did not wait.  It runs until killed.
"""
import os
import select
import socket
import struct
import sys
import threading

LOCK = threading.Lock()


class Frames:
    """Cuts one direction of the stream into milter frames."""

    def __init__(self):
        self.buf = b""

    def feed(self, data):
        self.buf += data
        out = []
        while len(self.buf) >= 5:
            (length,) = struct.unpack("!I", self.buf[:4])
            if length < 1:
                raise ValueError("bad frame length 0")
            if len(self.buf) < 4 + length:
                break
            body = self.buf[4:4 + length]
            self.buf = self.buf[4 + length:]
            code = chr(body[0])
            event = chr(body[1]) if code == "D" and length > 1 else "-"
            out.append((code, event))
        return out


def relay(conn_id, mta, upstream_port, log):
    try:
        milter = socket.create_connection(("127.0.0.1", upstream_port))
    except OSError:
        mta.close()
        return
    for s in (mta, milter):
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    frames = {mta: Frames(), milter: Frames()}
    other = {mta: milter, milter: mta}
    name = {mta: "mta", milter: "milter"}
    try:
        while True:
            ready, _, _ = select.select([mta, milter], [], [])
            # The MTA's side first: of two frames that arrived together, the command
            # cannot have been caused by the reply.  Either order is the order of arrival
            # when only one is ready.
            for s in sorted(ready, key=lambda x: x is not mta):
                data = s.recv(65536)
                if not data:
                    return
                lines = ["%d %s %s %s\n" % (conn_id, name[s], code, event)
                         for code, event in frames[s].feed(data)]
                if lines:
                    with LOCK:
                        log.write("".join(lines))
                        log.flush()
                other[s].sendall(data)
    except (OSError, ValueError):
        pass
    finally:
        mta.close()
        milter.close()


def main():
    portfile, upstream_port, logfile = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    log = open(logfile, "a")
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    with open(portfile + ".tmp", "w") as f:
        f.write("%d\n" % listener.getsockname()[1])
    os.rename(portfile + ".tmp", portfile)
    conn_id = 0
    while True:
        mta, _ = listener.accept()
        conn_id += 1
        threading.Thread(target=relay, args=(conn_id, mta, upstream_port, log),
                         daemon=True).start()


if __name__ == "__main__":
    main()
