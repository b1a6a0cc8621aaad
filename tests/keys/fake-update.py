"""
NAME
    fake-update.py - a DNS server on a loopback TCP port that answers every UPDATE with
    NOERROR and no valid signature, for the tests of signet-keys publish

SYNOPSIS
    python3 tests/keys/fake-update.py MODE > PORTFILE &

DESCRIPTION
    Listens on 127.0.0.1, on a port the kernel picks, and prints that port on the first
    line of stdout.  Each connection carries one message (RFC 7766: a 2-byte length
    first); the answer has the request's ID, QR, opcode UPDATE, rcode NOERROR and the
    zone section echoed.  MODE says what it carries as signature:

        empty-mac   a TSIG record naming the request's key and algorithm, time now,
                    fudge 300, error 0 and a MAC of length 0: what a server that does
                    not know the key, or anyone on the path, can send
        no-tsig     no TSIG record at all

    It runs until killed.
"""
import socket
import struct
import sys
import time


def read_exactly(conn, n):
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


def name_end(msg, at):
    """Offset after the uncompressed name at `at` (signet-keys does not compress)."""
    while msg[at] != 0:
        at += msg[at] + 1
    return at + 1


def last_record_owner_and_algorithm(msg):
    """The TSIG record is the request's last: its owner name and its algorithm name."""
    counts = struct.unpack("!4H", msg[4:12])
    at = name_end(msg, 12) + 4
    for _ in range(counts[1] + counts[2] + counts[3] - 1):
        at = name_end(msg, at)
        at += 10 + struct.unpack("!H", msg[at + 8:at + 10])[0]
    owner_end = name_end(msg, at)
    algorithm_end = name_end(msg, owner_end + 10)
    return msg[at:owner_end], msg[owner_end + 10:algorithm_end]


def answer(request, mode):
    qid = request[:2]
    zone = request[12:name_end(request, 12) + 4]
    tsig = b""
    if mode == "empty-mac":
        owner, algorithm = last_record_owner_and_algorithm(request)
        now = int(time.time())
        rdata = (algorithm + struct.pack("!HIH", now >> 32, now & 0xffffffff, 300)
                 + struct.pack("!H", 0) + qid + struct.pack("!HH", 0, 0))
        tsig = owner + struct.pack("!HHIH", 250, 255, 0, len(rdata)) + rdata
    header = qid + bytes([0x80 | 5 << 3, 0]) + struct.pack("!4H", 1, 0, 0, 1 if tsig else 0)
    return header + zone + tsig


def main():
    mode = sys.argv[1]
    if mode not in ("empty-mac", "no-tsig"):
        sys.exit("fake-update.py: MODE is empty-mac or no-tsig")
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    print(listener.getsockname()[1], flush=True)
    while True:
        conn, _ = listener.accept()
        with conn:
            try:
                length = struct.unpack("!H", read_exactly(conn, 2))[0]
                reply = answer(read_exactly(conn, length), mode)
                conn.sendall(struct.pack("!H", len(reply)) + reply)
            except (EOFError, IndexError, struct.error, OSError):
                pass


if __name__ == "__main__":
    main()
