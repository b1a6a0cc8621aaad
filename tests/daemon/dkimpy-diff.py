#!/usr/bin/python3
"""
NAME
    dkimpy-diff.py - Signet's DKIM verdicts against dkimpy's on a few hundred varied
    messages signed by dkimpy

SYNOPSIS
    top_builddir=... tests/daemon/dkimpy-diff.py
    SIGNET_DIFF_MESSAGES=N SIGNET_DIFF_SEED=S tests/daemon/dkimpy-diff.py

DESCRIPTION
    Makes TEST-ONLY keys (RSA-2048, RSA-1024, two Ed25519), publishes them in a private
    NSD (tests/lib/signettest.py start_nsd) under diff.example, one selector publishing
    another key than the one that signs with it, and starts the daemon (Mode v, that
    NSD as its only nameserver).  Then, from a fixed seed, SIGNET_DIFF_MESSAGES messages
    (default 300): header fields in random order, some folded, some with runs of blanks
    or blanks at the end; bodies with blank runs, tabs, trailing blank lines, or none.
    Each gets one to three signatures by dkimpy (dkim.sign): a random key, c= among
    the four pairs, h= a random choice of the fields present, some named twice, some
    absent, l= now and then.  Afterwards a message may be changed as mail is in transit:
    a body byte, text appended to the body, blank lines appended, a signed value
    changed, blanks added inside a header value, a field name's case changed, a field
    added on top.

    Each message goes to the daemon as an external MTA would send it
    (tests/milter/milterclient.py) and every DKIM-Signature is verified by dkimpy
    (DKIM.verify(idx), keys from the same records).  The daemon's Authentication-Results
    has one dkim= result per signature, in header order; a result is "pass" exactly
    when dkimpy says True.  TAP: one line for the whole set and one per feature (each
    algorithm, each c= pair, l=, repeated or absent names, several signatures, each
    change), each feature that is not a change also showing it met both verdicts.  A
    disagreement prints the message number, the signature, both verdicts and the
    changes made; the messages are kept in the temporary directory, which is kept.

    Where dkimpy and RFC 6376 part, messages are not generated that way: dkimpy adds
    one more "from" to h= when it verifies (Debian bug 644046), so no From is added on
    top of a message whose signatures list From once.
"""
import base64
import os
import random
import re
import signal
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
# This folder's token.py would hide the standard module dkimpy's imports need.
sys.path = [p for p in sys.path if os.path.abspath(p or ".") != HERE]
sys.path.insert(0, os.path.join(HERE, "..", "milter"))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import milterclient  # noqa: E402
from signettest import Daemon, Tap, free_port, start_nsd, wait_listening  # noqa: E402

DOMAIN = "diff.example"
AUTHSERV_ID = "mx.diff.test"
CLIENT = "192.0.2.10"
MESSAGES = int(os.environ.get("SIGNET_DIFF_MESSAGES", "300"))
SEED = int(os.environ.get("SIGNET_DIFF_SEED", "17"))

# selector -> (key it signs with, key DNS publishes for it)
SELECTORS = {"r2048": ("rsa2048", "rsa2048"), "r1024": ("rsa1024", "rsa1024"),
             "ed": ("ed1", "ed1"), "ed2": ("ed2", "ed2"), "wrong": ("ed1", "ed2")}
FIELDS = ["From", "To", "Cc", "Subject", "Date", "Message-ID", "Reply-To", "X-List",
          "X-Mailer", "MIME-Version", "Content-Type"]
WORDS = ["alpha", "beta", "gamma", "delta", "mail", "test", "the", "of", "message",
         "signed", "relaxed", "simple"]


class Keys:
    """TEST-ONLY keys, made for this run."""

    def __init__(self, dir):
        import nacl.signing
        self.priv, self.pub = {}, {}
        for name, bits in (("rsa2048", 2048), ("rsa1024", 1024)):
            path = os.path.join(dir, "TEST-ONLY-%s.pem" % name)
            subprocess.run(["openssl", "genrsa", "-traditional", "-out", path, str(bits)],
                           check=True, capture_output=True)
            der = subprocess.run(["openssl", "rsa", "-in", path, "-pubout", "-outform",
                                  "DER"], check=True, capture_output=True).stdout
            with open(path, "rb") as f:
                self.priv[name] = f.read()
            self.pub[name] = "v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode()
        for name in ("ed1", "ed2"):
            sk = nacl.signing.SigningKey.generate()
            self.priv[name] = base64.b64encode(bytes(sk))
            self.pub[name] = ("v=DKIM1; k=ed25519; p=" +
                              base64.b64encode(bytes(sk.verify_key)).decode())

    def record(self, selector):
        return self.pub[SELECTORS[selector][1]]


def zone_line(name, text):
    strings = " ".join('"%s"' % text[i:i + 250] for i in range(0, len(text), 250))
    return "%s. IN TXT %s\n" % (name, strings)


# ---- messages --------------------------------------------------------------------------
def words(rng, n):
    return " ".join(rng.choice(WORDS) for _ in range(n))


def value_for(rng, name, k):
    if name == "From":
        return "Alice <alice@%s>" % DOMAIN
    if name == "Date":
        return "Fri, 27 Nov 2026 08:%02d:00 +0000" % (k % 60)
    if name == "Message-ID":
        return "<%d.%d@%s>" % (k, rng.randrange(10 ** 6), DOMAIN)
    text = words(rng, rng.randint(1, 12))
    if rng.random() < 0.3:
        text = text.replace(" ", "  ", 1)          # a run of blanks
    if rng.random() < 0.3:                          # folded
        cut = text.find(" ")
        if cut > 0:
            text = text[:cut] + "\r\n\t" + text[cut + 1:]
    if rng.random() < 0.15:
        text += " "                                 # a blank at the end
    return text


def make_message(rng, k):
    names = ["From"] + rng.sample(FIELDS[1:], rng.randint(2, len(FIELDS) - 1))
    if rng.random() < 0.4:
        names.append(rng.choice(["X-List", "Cc", "To"]))   # a name twice
    rng.shuffle(names)
    fields = [(n, value_for(rng, n, k)) for n in names]
    lines = []
    for _ in range(rng.choice([0, 1, 2, 5, 20])):
        line = words(rng, rng.randint(0, 10))
        if rng.random() < 0.2:
            line = line.replace(" ", " \t ", 1)
        if rng.random() < 0.2:
            line += "  "
        lines.append(line)
    lines += [""] * rng.choice([0, 0, 1, 3])
    body = "".join(line + "\r\n" for line in lines)
    head = "".join("%s: %s\r\n" % (n, v) for n, v in fields)
    return (head + "\r\n" + body).encode(), fields


def sign_spec(rng, fields):
    present = [n.lower() for n, _ in fields]
    # From always, and a second time when the sample takes it too.
    h = ["from"] + rng.sample(present, rng.randint(1, len(present)))
    if rng.random() < 0.3:
        h.append(rng.choice(present))               # listed more often
    if rng.random() < 0.3:
        h.append(rng.choice(["x-absent", "sender", "in-reply-to"]))
    rng.shuffle(h)
    return {"selector": rng.choice(["r2048", "r1024", "ed", "ed2"] * 4 + ["wrong"]),
            "c": (rng.choice([b"simple", b"relaxed"]), rng.choice([b"simple", b"relaxed"])),
            "h": h, "l": rng.random() < 0.2}


def sign(keys, msg, spec):
    import dkim
    key = SELECTORS[spec["selector"]][0]
    alg = b"ed25519-sha256" if key.startswith("ed") else b"rsa-sha256"
    return dkim.sign(msg, spec["selector"].encode(), DOMAIN.encode(), keys.priv[key],
                     canonicalize=spec["c"], include_headers=[x.encode() for x in spec["h"]],
                     length=spec["l"], signature_algorithm=alg) + msg


def change(rng, msg, specs):
    """A change in transit, or none: (new message, its name)."""
    head, _, body = msg.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    # dkimpy adds one more "from" to h= when it verifies: a From on top then breaks a
    # signature that lists From once, where RFC 6376 takes the lowest From and passes.
    from_twice = all(s["h"].count("from") >= 2 for s in specs)
    kinds = ["none"] * 5 + ["body-byte", "body-append", "blank-lines", "value", "blanks",
                            "name-case", "field-on-top"]
    kind = rng.choice(kinds)
    plain = [i for i, x in enumerate(lines) if re.match(rb"(?i)(to|subject|x-list|cc):", x)]
    if kind == "body-byte" and body:
        i = rng.randrange(len(body))
        if body[i:i + 1] not in (b"\r", b"\n", b" ", b"\t"):
            body = body[:i] + b"Z" + body[i + 1:]
    elif kind == "body-append":
        body += b"appended in transit\r\n"
    elif kind == "blank-lines":
        body += b"\r\n\r\n"
    elif kind in ("value", "blanks", "name-case") and plain:
        i = rng.choice(plain)
        name, _, value = lines[i].partition(b":")
        if kind == "value":
            value += b" changed"
        elif kind == "blanks":
            value = value.replace(b" ", b"   ", 1) + b" "
        else:
            name = name.upper() if name != name.upper() else name.lower()
        lines[i] = name + b":" + value
    elif kind == "field-on-top":
        name = rng.choice([b"X-List", b"Cc", b"Reply-To"] + ([b"From"] if from_twice else []))
        lines.insert(0, name + b": added@" + DOMAIN.encode())
    else:
        kind = "none"
    return b"\r\n".join(lines) + b"\r\n\r\n" + body, kind


# ---- verdicts --------------------------------------------------------------------------
def dkimpy_verdicts(msg, keys, count):
    import dkim

    def dnsfunc(name, timeout=5):
        name = name.decode() if isinstance(name, bytes) else name
        sel = name.split("._domainkey.")[0]
        return keys.record(sel).encode() if sel in SELECTORS else None
    out = []
    for i in range(count):
        try:
            out.append(bool(dkim.DKIM(msg).verify(idx=i, dnsfunc=dnsfunc)))
        except Exception:   # dkimpy raises on a body hash mismatch and the like
            out.append(False)
    return out


def strip_comments(text):
    out, depth = [], 0
    for c in text:
        depth += c == "("
        if depth == 0:
            out.append(c)
        depth -= c == ")" and depth > 0
    return "".join(out)


def signet_verdicts(res):
    ars = [v for _, n, v in res.inserted if n.lower() == "authentication-results"]
    if res.action != "accept" or len(ars) != 1:
        return None
    return re.findall(r"(?:^|;)\s*dkim=(\w+)", strip_comments(ars[0].replace("\n", " ")))


def features(spec, kind, nsigs):
    key = SELECTORS[spec["selector"]][0]
    f = ["ed25519" if key.startswith("ed") else key.replace("rsa", "rsa-"),
         "c=%s/%s" % (spec["c"][0].decode(), spec["c"][1].decode()),
         "change:" + kind]
    if spec["l"]:
        f.append("l=")
    if len(spec["h"]) != len(set(spec["h"])) or "x-absent" in spec["h"]:
        f.append("h= repeats or names an absent field")
    if spec["selector"] == "wrong":
        f.append("another key published")
    if nsigs > 1:
        f.append("several signatures")
    return f


def main():
    tap = Tap(max_diag=60)
    try:
        import dkim  # noqa: F401
        import nacl  # noqa: F401
    except ImportError as e:
        tap(False, "dkimpy and nacl available (apt-get install python3-dkim python3-nacl; "
            "run with /usr/bin/python3)", str(e))
        return tap.plan()
    tmp = tempfile.mkdtemp(prefix="signet-dkimpy-diff-")
    keys = Keys(tmp)
    records = os.path.join(tmp, "records")
    with open(records, "w") as f:
        for sel in SELECTORS:
            f.write(zone_line("%s._domainkey.%s" % (sel, DOMAIN), keys.record(sel)))
    dns_port, nsd_pid = start_nsd(os.path.join(tmp, "nsd"), {DOMAIN: records})
    spec = "inet:%d@127.0.0.1" % free_port()
    daemon = Daemon(tmp, "Socket %s\nMode v\nAuthservID %s\nNameservers 127.0.0.1@%d\n"
                    "DNSTimeout 5\nLogLevel notice\n" % (spec, AUTHSERV_ID, dns_port))
    rng = random.Random(SEED)
    stats, mismatches, unanswered = {}, [], []
    total = passes = 0
    try:
        if not tap(wait_listening(spec), "the_daemon_listens", daemon.log()):
            return tap.plan()
        with milterclient.Session(spec, timeout=60) as s:
            s.connect(CLIENT, helo="mail." + DOMAIN)
            for k in range(MESSAGES):
                msg, fields = make_message(rng, k)
                specs = [sign_spec(rng, fields) for _ in range(rng.choice([1, 1, 2, 3]))]
                for sp in specs:
                    msg = sign(keys, msg, sp)
                msg, kind = change(rng, msg, specs)
                with open(os.path.join(tmp, "message-%03d.eml" % k), "wb") as f:
                    f.write(msg)
                theirs = dkimpy_verdicts(msg, keys, len(specs))
                ours = signet_verdicts(s.message(msg, "alice@" + DOMAIN, ["bob@example.net"]))
                if ours is None or len(ours) != len(specs):
                    unanswered.append("message %d: %r" % (k, ours))
                    continue
                # dkimpy's idx 0 is the topmost field: the last signature made.
                for i, sp in enumerate(reversed(specs)):
                    agree = (ours[i] == "pass") == theirs[i]
                    total += 1
                    passes += theirs[i]
                    for feat in features(sp, kind, len(specs)):
                        st = stats.setdefault(feat, [0, 0, 0])   # pass, not, disagree
                        st[0 if theirs[i] else 1] += 1
                        st[2] += not agree
                    if not agree:
                        mismatches.append("message %d signature %d (%s): Signet %s, "
                                          "dkimpy %s" % (k, i, ", ".join(features(
                                              sp, kind, len(specs))), ours[i], theirs[i]))
        tap(not unanswered, "every_message_has_one_dkim_result_per_signature (%d messages)"
            % MESSAGES, "\n".join(unanswered[:20]))
        tap(not mismatches, "signet_passes_exactly_what_dkimpy_passes (%d signatures, %d "
            "pass, %d do not)" % (total, passes, total - passes), "\n".join(mismatches))
        # A feature that is no change must have met both verdicts (a key that is not
        # the signer's never passes).
        for feat in sorted(stats):
            p, n, bad = stats[feat]
            tap(bad == 0 and (feat.startswith("change:") or feat == "another key published"
                              or (p > 0 and n > 0)),
                "%s: %d pass, %d do not, %d disagree" % (feat, p, n, bad))
        tap(daemon.proc.poll() is None, "the_daemon_is_still_running")
    finally:
        daemon.stop()
        os.kill(nsd_pid, signal.SIGTERM)
    return tap.plan_and_clean(tmp)


if __name__ == "__main__":
    sys.exit(main())
