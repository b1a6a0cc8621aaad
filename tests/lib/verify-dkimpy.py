#!/usr/bin/python3
"""
NAME
    verify-dkimpy.py - verify every DKIM-Signature of a message with dkimpy

SYNOPSIS
    verify-dkimpy.py DNS_IP DNS_PORT MESSAGE_FILE...

DESCRIPTION
    Verifies each DKIM-Signature header of MESSAGE_FILE, topmost first, with dkimpy
    (python3-dkim), looking keys up only at the DNS server DNS_IP:DNS_PORT (dnspython,
    no recursion, no system resolver).  Prints one line per signature:

        d=DOMAIN s=SELECTOR a=ALGORITHM pass|fail|permerror|temperror [(reason)]

    Exit status 0 when there is at least one signature and every one passes, 1 when a
    signature does not pass or there is none, 2 on a usage or environment error.

    Run it with /usr/bin/python3: Debian's dkimpy and dnspython live there.
"""

import logging
import sys


class Reasons(logging.Handler):
    """Keeps what dkimpy logs about a failure, so the result line can say why."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines = []

    def emit(self, record):
        text = record.getMessage()
        if record.levelno >= logging.INFO or not text.startswith(("sig:", "l:", "h:")):
            self.lines.append(text)


def nsd_dnsfunc(server, port):
    """dkimpy's dnsfunc, asking only server:port (no recursion, no system resolver).
    tests/conformance/arc-interop.py uses it too."""
    import dkim
    import dns.exception
    import dns.flags
    import dns.message
    import dns.query
    import dns.rcode
    import dns.rdatatype

    def dnsfunc(name, timeout=5):
        if isinstance(name, bytes):
            name = name.decode("ascii")
        q = dns.message.make_query(name, dns.rdatatype.TXT)
        q.flags &= ~dns.flags.RD
        try:
            r = dns.query.udp(q, server, port=port, timeout=timeout)
            if r.flags & dns.flags.TC:
                r = dns.query.tcp(q, server, port=port, timeout=timeout)
        except dns.exception.Timeout as e:
            raise dkim.DnsTimeoutError(str(e))
        if r.rcode() != dns.rcode.NOERROR:
            return None
        for rrset in r.answer:
            if rrset.rdtype == dns.rdatatype.TXT:
                return b"".join(list(rrset.items)[0].strings)
        return None
    return dnsfunc


def main(argv):
    if len(argv) < 4:
        sys.stderr.write("usage: verify-dkimpy.py DNS_IP DNS_PORT MESSAGE_FILE...\n")
        return 2
    server, port, paths = argv[1], int(argv[2]), argv[3:]
    try:
        import dkim
        dnsfunc = nsd_dnsfunc(server, port)
    except ImportError as e:
        sys.stderr.write("verify-dkimpy: %s (apt-get install python3-dkim "
                         "python3-dnspython python3-nacl; run /usr/bin/python3)\n" % e)
        return 2

    all_pass = True
    for path in paths:
        with open(path, "rb") as f:
            message = f.read()
        if len(paths) > 1:
            print("== %s" % path)
        all_pass = verify_message(message, dnsfunc, dkim) and all_pass
    return 0 if all_pass else 1


def verify_message(message, dnsfunc, dkim):
    """Verifies every signature of one message; True when there is one and all pass."""
    headers, _ = dkim.rfc822_parse(message)
    sigs = [v for k, v in headers if k.lower() == b"dkim-signature"]
    all_pass = bool(sigs)
    for idx, value in enumerate(sigs):
        try:
            tags = dkim.parse_tag_value(value)
        except Exception:
            tags = {}

        def tag(t):
            return tags.get(t, b"?").decode("latin-1")

        reasons = Reasons()
        logger = logging.getLogger("verify-dkimpy.%d" % idx)
        logger.setLevel(logging.DEBUG)
        logger.propagate = False
        logger.addHandler(reasons)
        d = dkim.DKIM(message, logger=logger)
        try:
            ok = d.verify(idx=idx, dnsfunc=dnsfunc)
            result = "pass" if ok else "fail"
        except dkim.DnsTimeoutError as e:
            result, ok = "temperror", False
            reasons.lines.append(str(e))
        except dkim.ValidationError as e:
            result, ok = "fail", False          # a hash that does not match
            reasons.lines.append(str(e))
        except dkim.DKIMException as e:
            result, ok = "permerror", False
            reasons.lines.append(str(e))
        line = "d=%s s=%s a=%s %s" % (tag(b"d"), tag(b"s"), tag(b"a"), result)
        if not ok and reasons.lines:
            line += " (%s)" % reasons.lines[-1]
        print(line)
        all_pass = all_pass and ok
    if not sigs:
        print("no DKIM-Signature")
    return all_pass


if __name__ == "__main__":
    sys.exit(main(sys.argv))
