#!/usr/bin/python3
"""
NAME
    arc-verify-dkimpy.py - validate a message's ARC chain with dkimpy

SYNOPSIS
    arc-verify-dkimpy.py DNS_IP DNS_PORT MESSAGE_FILE

    import importlib; m = importlib.import_module("arc-verify-dkimpy")
    cv, sets, reason = m.arc_verify(message_bytes, "127.0.0.1", port)

DESCRIPTION
    Validates the ARC chain of MESSAGE_FILE (RFC 8617 section 5.2) with dkimpy's
    arc_verify (python3-dkim), looking keys up only at the DNS server DNS_IP:DNS_PORT
    (dnspython, no recursion, no system resolver; as tests/lib/verify-dkimpy.py does).
    Prints one line:

        cv=pass|fail|none|ended [(reason)]

    and one line per set dkimpy reports: "i=N d=DOMAIN as=RESULT ams=RESULT".

    Ed25519: dkimpy 1.1.4 signs and verifies ed25519-sha256 DKIM signatures (RFC 8463)
    but lists only rsa-sha256 among ARC's algorithms, so an ARC set of a=ed25519-sha256
    fails with "unknown signature algorithm" before any check.  arc_verify() adds
    ed25519-sha256 to that list (dkim.crypto.ARC_HASH_ALGORITHMS); the checks are then
    dkimpy's own, the same as for its Ed25519 DKIM signatures.  RFC 8617 section 4.1.3
    names rsa-sha256 only: this is an extension, as Signet's ARCSealAlgorithm is.

    Exit status 0 when the chain passes, 1 when it fails or there is none, 2 on a
    usage or environment error.  Run it with /usr/bin/python3: Debian's dkimpy,
    dnspython and nacl live there.
"""
import sys


def dnsfunc_for(server, port):
    """A dkimpy dnsfunc asking only server:port for TXT records: verify-dkimpy.py's."""
    import importlib
    import os
    here = os.path.dirname(os.path.abspath(__file__))
    if here not in sys.path:
        sys.path.insert(0, here)
    return importlib.import_module("verify-dkimpy").nsd_dnsfunc(server, port)


def arc_verify(message, server, port):
    """(cv, [set result dicts], reason): cv is "pass", "fail", "none", or "ended": dkimpy
    gives no verdict (None) for a chain whose newest seal says cv=fail ("the chain is
    terminated"), which RFC 8617 section 5.2 step 2 makes a fail."""
    import hashlib
    import dkim
    import dkim.crypto
    dkim.crypto.ARC_HASH_ALGORITHMS.setdefault(b"ed25519-sha256", hashlib.sha256)
    cv, results, reason = dkim.arc_verify(message, dnsfunc=dnsfunc_for(server, int(port)))
    if cv is None:
        return "ended", results, reason
    return cv.decode() if isinstance(cv, bytes) else str(cv), results, reason


def main(argv):
    if len(argv) != 4:
        sys.stderr.write("usage: arc-verify-dkimpy.py DNS_IP DNS_PORT MESSAGE_FILE\n")
        return 2
    try:
        import dkim  # noqa: F401
        import dns.message  # noqa: F401
    except ImportError as e:
        sys.stderr.write("arc-verify-dkimpy: %s (apt-get install python3-dkim "
                         "python3-dnspython python3-nacl; run /usr/bin/python3)\n" % e)
        return 2
    with open(argv[3], "rb") as f:
        message = f.read()
    cv, results, reason = arc_verify(message, argv[1], argv[2])
    print("cv=%s%s" % (cv, " (%s)" % reason if reason and cv != "pass" else ""))
    for r in results:
        print("i=%s d=%s as=%s ams=%s" % (
            r.get("instance"), r.get("as-domain", b"").decode("latin-1")
            if isinstance(r.get("as-domain"), bytes) else r.get("as-domain"),
            r.get("as-valid"), r.get("ams-valid")))
    return 0 if cv == "pass" else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
