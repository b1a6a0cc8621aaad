"""
NAME
    hostiledns.py - a DNS server for tests that answers each name with a chosen fault

SYNOPSIS
    import hostiledns
    dns = hostiledns.HostileDns({"sel._domainkey.ok.test.": [("TXT", b"v=DKIM1; ...")]},
                                {"garbage.test.": "garbage", "stuck.test.": "hang"})
    ... Nameservers 127.0.0.1@%d % dns.port ...
    dns.queries("stuck.test.")      # [(proto, qname, qtype, fault)] seen so far
    dns.stop()

DESCRIPTION
    UDP and TCP on one loopback port, one thread per query, answers built with dnspython
    (AA and RA set, so a forwarding resolver takes them).  A name is answered from the
    records given (NXDOMAIN when it has none, NOERROR/NODATA when it has other types)
    unless it lies at or below a name of the fault table; the longest such name decides:

      hang        no answer: a UDP query is dropped, a TCP connection is held open
      slow        the right answer, SLOW_SECONDS late (longer than the daemon waits)
      garbage     the query's ID and a response flag, then random bytes
      tc-close    UDP: an empty answer with TC set; TCP: the connection is closed unread
      tc-hang     UDP: TC set; TCP: the query is read and never answered
      tc-good     UDP: TC set; TCP: the right answer (the ordinary fallback)
      oversized   the right answer padded past 32 kB (junk TXT records beside the real
                  one, or additional-section A records for a DKIM key name): over UDP with
                  TC set, as a correct server does when it does not fit; whole over TCP
      oversized-udp  the same padding to ~9 kB sent over UDP whatever the client said
                  its buffer was (EDNS), TC clear
      cname-loop  every name is a CNAME to loop-a.DOMAIN, which is a CNAME to
                  loop-b.DOMAIN, which is a CNAME to loop-a.DOMAIN

    Every query is recorded with the fault it met (queries()).
"""
import random
import socket
import struct
import threading

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset

SLOW_SECONDS = 4.0
PAD_BIG = 32 * 1024
PAD_UDP = 9 * 1024


def txt_rdata(value):
    """A TXT rdata for a value of any length (strings of at most 255 bytes)."""
    if isinstance(value, str):
        value = value.encode()
    chunks = [value[i:i + 255] for i in range(0, len(value), 255)] or [b""]
    text = " ".join('"%s"' % c.decode("latin-1").replace("\\", "\\\\").replace('"', '\\"')
                    for c in chunks)
    return dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.TXT, text)


class HostileDns:
    def __init__(self, records, faults, seed=15):
        """records: {name.: [(TYPE, value)]}; faults: {name.: fault}, names lower case
        with the final dot."""
        self.records = {k.lower(): v for k, v in records.items()}
        self.faults = {k.lower(): v for k, v in faults.items()}
        self.random = random.Random(seed)
        self.log = []
        self.lock = threading.Lock()
        self.held = []                  # TCP connections kept open unanswered
        self.stopping = threading.Event()
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", 0))
        self.port = self.udp.getsockname()[1]
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.tcp.bind(("127.0.0.1", self.port))
        self.tcp.listen(64)
        for target in (self._udp_loop, self._tcp_loop):
            threading.Thread(target=target, daemon=True).start()

    # -- what a name gets ----------------------------------------------------------------
    def fault_of(self, qname):
        best = None
        for name, fault in self.faults.items():
            if (qname == name or qname.endswith("." + name)) and \
                    (best is None or len(name) > len(best[0])):
                best = (name, fault)
        return best or (None, "normal")

    def answer(self, query, qname, qtype, zone, fault):
        """The response a well-behaved server gives, padded for the oversized faults."""
        resp = dns.message.make_response(query)
        resp.flags |= dns.flags.AA | dns.flags.RA
        origin = dns.name.from_text(qname)
        if fault == "cname-loop":
            loop_a, loop_b = "loop-a." + zone, "loop-b." + zone
            target = loop_b if qname == loop_a else loop_a
            resp.answer.append(dns.rrset.from_text(origin, 5, "IN", "CNAME", target))
            return resp
        have = self.records.get(qname, [])
        want = [v for t, v in have if t == dns.rdatatype.to_text(qtype)]
        if not have:
            resp.set_rcode(dns.rcode.NXDOMAIN)
        if want:
            rrset = dns.rrset.RRset(origin, dns.rdataclass.IN, qtype)
            for v in want:
                rrset.add(txt_rdata(v) if qtype == dns.rdatatype.TXT else
                          dns.rdata.from_text(dns.rdataclass.IN, qtype, v), 5)
            resp.answer.append(rrset)
        if fault in ("oversized", "oversized-udp"):
            self.pad(resp, origin, qtype, PAD_BIG if fault == "oversized" else PAD_UDP)
        return resp

    def pad(self, resp, origin, qtype, size):
        n = size // 240 + 1
        if qtype == dns.rdatatype.TXT and "._domainkey." not in origin.to_text():
            rrset = resp.find_rrset(resp.answer, origin, dns.rdataclass.IN, qtype,
                                    create=True)
            for i in range(n):
                rrset.add(txt_rdata("x-padding %04d " % i + "p" * 220), 5)
        else:
            for i in range(n):
                resp.additional.append(dns.rrset.from_text(
                    "pad%04d.%s" % (i, origin.to_text()), 5, "IN", "TXT",
                    '"%s"' % ("p" * 200)))

    def respond(self, wire, proto):
        """(fault, reply bytes or None for no answer, extra) for one query."""
        try:
            query = dns.message.from_wire(wire)
            q = query.question[0]
            qname, qtype = q.name.to_text().lower(), q.rdtype
        except Exception:  # noqa: BLE001 - anything unreadable is not answered
            return "unreadable", None
        zone, fault = self.fault_of(qname)
        with self.lock:
            self.log.append((proto, qname, dns.rdatatype.to_text(qtype), fault))
        if fault == "hang" or (proto == "tcp" and fault == "tc-hang"):
            return fault, None
        if fault == "garbage":
            junk = bytes(self.random.getrandbits(8) for _ in range(self.random.randint(12, 300)))
            return fault, wire[:2] + b"\x84\x00" + junk
        if proto == "udp" and fault.startswith(("tc-", "oversized")) and \
                fault != "oversized-udp":
            resp = dns.message.make_response(query)
            resp.flags |= dns.flags.AA | dns.flags.RA | dns.flags.TC
            return fault, resp.to_wire()
        if proto == "tcp" and fault == "tc-close":
            return fault, b""
        resp = self.answer(query, qname, qtype, zone, fault)
        return fault, resp.to_wire(max_size=65535)

    # -- transport -----------------------------------------------------------------------
    def _udp_loop(self):
        while not self.stopping.is_set():
            try:
                wire, peer = self.udp.recvfrom(65535)
            except OSError:
                return
            threading.Thread(target=self._udp_one, args=(wire, peer), daemon=True).start()

    def _udp_one(self, wire, peer):
        fault, reply = self.respond(wire, "udp")
        if reply is None:
            return
        if fault == "slow" and self.stopping.wait(SLOW_SECONDS):
            return
        try:
            self.udp.sendto(reply, peer)
        except OSError:
            pass

    def _tcp_loop(self):
        while not self.stopping.is_set():
            try:
                conn, _ = self.tcp.accept()
            except OSError:
                return
            threading.Thread(target=self._tcp_one, args=(conn,), daemon=True).start()

    def _tcp_one(self, conn):
        conn.settimeout(30)
        try:
            while not self.stopping.is_set():
                head = conn.recv(2, socket.MSG_WAITALL)
                if len(head) < 2:
                    break
                (n,) = struct.unpack(">H", head)
                wire = conn.recv(n, socket.MSG_WAITALL)
                fault, reply = self.respond(wire, "tcp")
                if reply is None:           # held open, unanswered, until stop()
                    with self.lock:
                        self.held.append(conn)
                    self.stopping.wait(60)
                    break
                if not reply:
                    break
                if fault == "slow" and self.stopping.wait(SLOW_SECONDS):
                    break
                conn.sendall(struct.pack(">H", len(reply)) + reply)
        except OSError:
            pass
        finally:
            conn.close()

    def queries(self, suffix=""):
        with self.lock:
            return [q for q in self.log if q[1].endswith(suffix)]

    def stop(self):
        self.stopping.set()
        for s in (self.udp, self.tcp):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()
