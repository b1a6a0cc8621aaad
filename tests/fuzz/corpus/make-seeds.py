#!/usr/bin/python3
"""
NAME
    make-seeds.py - the seeds of the binary fuzz targets (session, dns, opendkim, tsig,
    milterwire)

SYNOPSIS
    tests/fuzz/corpus/make-seeds.py [BUILDDIR]

DESCRIPTION
    Writes tests/fuzz/corpus/{session,dns,opendkim,tsig,milterwire}/seed-*: inputs laid out as
    tests/fuzz/fuzz-session.c, fuzz-dns.c and fuzz-keys.c read them.  The text targets'
    seeds (from ... verify) are written by "BUILDDIR/tests/fuzz/fuzz-parsers
    --write-seeds tests/fuzz/corpus"; the session seeds reuse the verify ones (signed
    for attacker.example with the fuzzers' fixed key), so run that first.  Files other
    than seed-* in a corpus folder are regressions: inputs that once broke a target.
"""
import glob
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def write(target, seeds):
    os.makedirs(os.path.join(HERE, target), exist_ok=True)
    for i, data in enumerate(seeds):
        with open(os.path.join(HERE, target, "seed-%02d" % i), "wb") as f:
            f.write(data)


# ---- session: FLAGS, MAIL FROM line, message ----------------------------------------
def session_seeds():
    seeds = []
    for path in sorted(glob.glob(os.path.join(HERE, "verify", "seed-*")))[:8]:
        seeds.append(b"\x01a@attacker.example\n" + open(path, "rb").read())
    plain = (b"From: Alice <alice@attacker.example>\r\nTo: bob@example.net\r\n"
             b"Subject: hello\r\nMessage-ID: <1@attacker.example>\r\n\r\nHello.\r\n")
    forged = (b"Authentication-Results: mx.example.com; dmarc=pass\r\n"
              b"Authentication-Results: other.example; dkim=pass\r\n"
              b"Authentication-Results: (c) MX.EXAMPLE.COM; spf=pass\r\n")
    seeds += [b"\x00alice@attacker.example\n" + plain,
              b"\x02alice@attacker.example\n" + forged + plain,
              b"\x01<alice@attacker.example>\n" + forged + plain,
              b"\x00<>\nFrom: a@b.example, c@attacker.example\r\nSubject:\r\n\tfolded\r\n"
              b"\r\n\r\n\r\nbody\r\n",
              b"\x01x@other.example\nFrom: \"Doe\" <j@attacker.example>\nDKIM-Signature: "
              b"v=1; d=attacker.example; s=sel; b=AA==; bh=AA==; h=from\n\nbody\n"]
    return seeds


# ---- dns: per answer FLAGS TTL COUNT, then LEN RDATA per record ----------------------
def txt(*strings):
    return b"".join(bytes([len(s)]) + s for s in strings)


def wire(name):
    return b"".join(bytes([len(l)]) + l for l in name.split(b".")) + b"\0"


def answer(records=(), flags=0, ttl=60):
    return bytes([flags, ttl, len(records)]) + b"".join(bytes([len(r)]) + r for r in records)


NX = answer(flags=2)
DMARC = NX + answer([txt(b"v=DMARC1; p=reject; sp=none; adkim=s")])


def dns_seeds():
    a4 = lambda *o: bytes(o)  # noqa: E731
    return [
        answer([txt(b"v=spf1 ip4:192.0.2.0/24 -all")]) + DMARC,
        answer([txt(b"v=spf1 mx a:mail.fuzz.example ~all")])
        + answer([b"\0\x0a" + wire(b"mx1.fuzz.example"), b"\0\x14" + wire(b"mx2.fuzz.example")])
        + answer([a4(192, 0, 2, 9)]) + answer([a4(192, 0, 2, 1)]) + answer([a4(198, 51, 100, 1)])
        + answer([bytes(16)]) + answer([b"\x20\x01\x0d\xb8" + bytes(11) + b"\x01"]) + DMARC,
        answer([txt(b"v=spf1 include:inc.fuzz.example redirect=r.fuzz.example")])
        + answer([txt(b"v=spf1 ptr exists:%{i}.e.fuzz.example -all")])
        + answer([wire(b"host.fuzz.example")]) + answer([a4(192, 0, 2, 1)])
        + answer([txt(b"v=spf1 ", b"+all"), txt(b"unrelated")]) + NX + NX,
        answer([txt(b"v=spf1 -all"), txt(b"v=spf1 +all")], flags=4, ttl=0)
        + answer([txt(b"v=spf1 a -all")], ttl=0) + answer(flags=1) + answer(flags=1)
        + answer(flags=3),
        answer([b"\x05ab", b"", b"\x00\x00\x00"]) + answer([txt(b"v=spf1 ?all")], ttl=0),
        answer([txt(b"v=spf1 a:%{d}.x mx:%{o} ip6:2001:db8::/32 -all")], flags=0x3c)
        + answer([b"\0\x01" + b"\xc0\x0c"]) + answer([a4(1, 2, 3)]) + NX + NX,
        answer(flags=3) + answer(flags=2) + answer(flags=1) + DMARC,
        answer([txt(b"v=spf1 " + b"a:%d.fuzz.example " % i) for i in range(12)])
        + b"".join(answer([a4(10, 0, 0, i)]) for i in range(12)),
    ]


# ---- opendkim: opendkim.conf --- KeyTable --- SigningTable ---------------------------
def opendkim_seeds():
    return [
        b"KeyTable refile:/etc/opendkim/KeyTable\nSigningTable refile:/etc/opendkim/"
        b"SigningTable\n---\nk1 example.com:s1:/etc/opendkim/keys/example.com/s1.private\n"
        b"k2 %:s2:/etc/opendkim/keys/s2.private\n---\n*@example.com k1\n*@*.example.org k2\n"
        b"user@example.net k1\n",
        b"Domain example.com\nSelector mail\nKeyFile /etc/opendkim/mail.private\n---\n---\n",
        b"KeyTable file:/etc/k\nSigningTable db:/etc/s\n# c\n---\n# comment\n\n"
        b"k example.com:sel:/k.pem\n---\nexample.com k\nexample.com k\nother.example missing\n",
        b"Domain a.example,b.example\nSelector s\nKeyFile /k\n---\nk\ta.example:s\n---\n"
        b"* k\n",
    ]


# ---- tsig: UpdateKey line, then the server's answer ----------------------------------
def tsig_answer(rcode=0, mac=b"\x11" * 32, error=0, name=b"update.example",
                algorithm=b"hmac-sha256", with_tsig=True, other=b""):
    zone = wire(b"example.com") + struct.pack(">HH", 6, 1)
    rdata = (wire(algorithm) + struct.pack(">HIH", 0, 1795000000, 300) + struct.pack(">H", len(mac))
             + mac + struct.pack(">HHH", 0x1234, error, len(other)) + other)
    rr = wire(name) + struct.pack(">HHIH", 250, 255, 0, len(rdata)) + rdata
    head = struct.pack(">HBBHHHH", 0x1234, 0xa8, rcode, 1, 0, 0, 1 if with_tsig else 0)
    return head + zone + (rr if with_tsig else b"")


def tsig_seeds():
    key = b"hmac-sha256:update.example:c2lnbmV0IGZ1enogdHNpZyBzZWNyZXQ=\n"
    return [
        key + tsig_answer(),
        key + tsig_answer(rcode=9, mac=b"", error=16),
        key + tsig_answer(rcode=5, with_tsig=False),
        b"hmac-sha512:k.example.:" + b"QUJD" * 20 + b"\n" + tsig_answer(name=b"k.example",
                                                                       algorithm=b"hmac-sha512",
                                                                       mac=b"\x22" * 64),
        b"hmac-sha1:x:AA==\n" + tsig_answer(mac=b"", other=b"\0\0\0\0\0\1"),
        b"hmac-md5:bad:!!\n" + tsig_answer(rcode=0, mac=b""),
    ]


# ---- milterwire: what an MTA writes to the milter socket ----------------------------
def frame(cmd, data=b""):
    return struct.pack(">I", len(data) + 1) + cmd + data


def milterwire_seeds():
    optneg = frame(b"O", struct.pack(">III", 6, 0x1ff, 0x1fffff))
    connect = (frame(b"D", b"Cj\0mx.example\0{daemon_name}\0smtpd\0") +
               frame(b"C", b"client.example\0" + b"4" + struct.pack(">H", 4321) +
                     b"192.0.2.7\0"))
    message = (frame(b"H", b"client.example\0") +
               frame(b"D", b"Mi\0ABC123\0{auth_type}\0PLAIN\0") +
               frame(b"M", b"<a@example.org>\0SIZE=100\0") +
               frame(b"R", b"<b@example.net>\0") + frame(b"T") +
               frame(b"L", b"From\0 a@example.org\0") +
               frame(b"L", b"Subject\0 hi\0") + frame(b"N") +
               frame(b"B", b"Hello.\r\n") + frame(b"E") + frame(b"A"))
    return [
        optneg,
        optneg + connect + message + frame(b"Q"),
        frame(b"C", b"h\0" + b"6" + struct.pack(">H", 25) + b"IPv6:2001:db8::1\0") +
        frame(b"C", b"h\0L\0\0/run/mta.sock\0") + frame(b"C", b"h\0U") + frame(b"K"),
        message + frame(b"E", b"last chunk\r\n") + frame(b"U", b"XYZZY\0"),
    ]


if __name__ == "__main__":
    write("session", session_seeds())
    write("dns", dns_seeds())
    write("opendkim", opendkim_seeds())
    write("tsig", tsig_seeds())
    write("milterwire", milterwire_seeds())
