"""
NAME
    signing.py - the outbound part of tests/data/run-cases.py: keystores made with
    signet-keys, the DKIM-Signature fields the daemon added, and two verifiers

SYNOPSIS
    import signing
    pool = signing.KeyPool(TMPDIR, SIGNET_KEYS)
    selectors, records = pool.keystore([("example.com", "rsa-2048", None)], CASE_KEYSTORE)
    signing.check_served(nsd_port, selectors)
    want = signing.parse_expectation("signature a=rsa-sha256 d=example.com ...")
    errors = signing.check(result, wants, selectors, nsd_port, delivered_path)

DESCRIPTION
    A case's "keys DOMAIN ALGORITHM [SELECTOR]" lines become its keystore: signet-keys
    generates each key (with that selector, or its own) and activates it, and "signet-keys
    dns" gives the records the case's zone publishes.  Cases with the same lines get a copy
    of one keystore, so a run generates each set of keys once.  selectors maps
    (domain, a= value) to the selectors of the keys that may sign with it.

    Expectations (the text after "expect"):

    signature a=ALG d=DOMAIN [s=SEL] [c=H/B] [h~REGEX] [verifiers=V,...]
        the daemon added one DKIM-Signature with these tags (s= defaults to a selector
        of the case's keys for d= and a=; c= compares with a missing body part read as
        "simple", RFC 6376 3.5; h~ searches the h= list, white space removed); every
        verifier named passes it when asking only the case's NSD.
    unsigned
        the daemon added no DKIM-Signature.
    oversigned NAME: VALUE
        the field "NAME: VALUE" put on top of the delivered message makes every
        signature fail with both verifiers (each finds signatures, none passes).

    The "signature" lines of a message pair one to one with the fields the daemon added
    (no more, no fewer), and each of those fields must have been inserted at index 0
    (SMFIR_INSHEADER), above every header of the message.  A verifier named by any line
    must pass exactly the signatures that name it; when they are all the signatures of
    the delivered message it must also exit 0.

    Verifiers: dkimpy (tests/lib/verify-dkimpy.py) and maildkim (Perl's Mail::DKIM,
    tests/lib/verify-maildkim.pl); each prints "d= s= a= RESULT" per signature.

DIAGNOSTICS
    check() returns what it got and what it wanted as lines; a verifier's own output
    follows its complaint.  ValueError for an expectation it cannot read.
"""

import os
import re
import shutil
import subprocess
import sys
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
LIB = os.path.join(HERE, "..", "lib")
VERIFIERS = {
    "dkimpy": [sys.executable, os.path.join(LIB, "verify-dkimpy.py")],
    "maildkim": ["perl", os.path.join(LIB, "verify-maildkim.pl")],
}


def signet_keys(program, keystore, *args):
    """Runs signet-keys on keystore; its standard output, or RuntimeError with stderr."""
    r = subprocess.run([program, "-k", keystore] + list(args), capture_output=True,
                       text=True)
    if r.returncode != 0:
        raise RuntimeError("signet-keys %s: %s" % (" ".join(args), r.stderr.strip()))
    return r.stdout


def dkim_algorithm(key_algorithm):
    """The a= value of a signature made with a key signet-keys generated as ALGORITHM."""
    return "ed25519-sha256" if key_algorithm == "ed25519" else "rsa-sha256"


def parse_keys_line(rest):
    """'DOMAIN ALGORITHM [SELECTOR]' -> (domain, algorithm, selector or None)."""
    words = rest.split()
    if len(words) not in (2, 3) or not re.match(r"(rsa-\d+|ed25519)$", words[1]):
        raise ValueError("keys: want DOMAIN rsa-BITS|ed25519 [SELECTOR], got '%s'" % rest)
    return (words[0].lower(), words[1], words[2] if len(words) == 3 else None)


class KeyPool:
    """Keystores made by signet-keys, one per distinct list of "keys" lines."""

    def __init__(self, dir, program):
        self.dir = dir
        self.program = program
        self.made = {}
        self.lock = threading.Lock()

    def keystore(self, specs, dest):
        """Copies the keystore of specs into dest; returns (selectors, zone lines)."""
        specs = tuple(specs)
        with self.lock:
            if specs not in self.made:
                path = os.path.join(self.dir, "keystore-%d" % len(self.made))
                self.made[specs] = (path,) + self.make(specs, path)
        path, selectors, records = self.made[specs]
        shutil.copytree(path, dest, dirs_exist_ok=True)
        return selectors, records

    def make(self, specs, keystore):
        os.makedirs(keystore)
        selectors = {}
        for domain, algorithm, selector in specs:
            args = ["generate", domain, "-a", algorithm]
            if selector:
                args += ["-s", selector]
            out = signet_keys(self.program, keystore, *args).split()
            if not out:
                raise RuntimeError("signet-keys %s printed no selector" % " ".join(args))
            signet_keys(self.program, keystore, "activate", domain, out[-1], "--force")
            selectors.setdefault((domain, dkim_algorithm(algorithm)), []).append(out[-1])
        records = []
        for domain in sorted({d for d, _, _ in specs}):
            records += signet_keys(self.program, keystore, "dns", domain).splitlines()
        return selectors, records


def check_served(nsd_port, selectors):
    """RuntimeError unless the case's NSD serves every key's record with its k=."""
    for (domain, algorithm), sels in sorted(selectors.items()):
        k = "ed25519" if algorithm.startswith("ed25519") else "rsa"
        for sel in sels:
            name = "%s._domainkey.%s" % (sel, domain)
            r = subprocess.run(["kdig", "+short", "+timeout=2", "@127.0.0.1", "-p",
                                str(nsd_port), "TXT", name], capture_output=True,
                               text=True)
            got = (r.stdout + r.stderr).strip()
            if not re.search(r"v=DKIM1.*k=%s.*p=" % k, got):
                raise RuntimeError("NSD does not serve %s (k=%s): got '%s'"
                                   % (name, k, got))


# ---- expectations ---------------------------------------------------------------------
def parse_expectation(text):
    """('signature', {tag: value}) | ('unsigned', None) | ('oversigned', (name, value)),
    or None when text is not an outbound expectation."""
    if text == "unsigned":
        return ("unsigned", None)
    m = re.match(r"oversigned ([!-9;-~]+):[ \t]*(.*)$", text)
    if m:
        return ("oversigned", (m.group(1), m.group(2)))
    if not text.startswith("signature "):
        return None
    want = {}
    for word in text.split()[1:]:
        m = re.match(r"(a|d|s|c|verifiers)=(.+)$|h~(.+)$", word)
        if not m:
            raise ValueError("signature: cannot read '%s'" % word)
        if m.group(3) is not None:
            want["h"] = m.group(3)
        elif m.group(1) == "verifiers":
            want["verifiers"] = m.group(2).split(",")
            unknown = set(want["verifiers"]) - set(VERIFIERS)
            if unknown:
                raise ValueError("signature: unknown verifier %s"
                                 % ", ".join(sorted(unknown)))
        else:
            want[m.group(1)] = m.group(2)
    if "a" not in want or "d" not in want:
        raise ValueError("signature: a= and d= are required")
    return ("signature", want)


def dkim_tags(value):
    """A DKIM-Signature value's tag=value list, white space removed."""
    out = {}
    for part in re.sub(r"\s+", "", value).split(";"):
        k, eq, v = part.partition("=")
        if eq:
            out[k] = v
    return out


def canonicalization(c):
    """c= as header/body, a missing body part (or c=) being "simple" (RFC 6376 3.5)."""
    c = (c or "simple").lower()
    return c if "/" in c else c + "/simple"


def matches(want, tags, selectors):
    a, d = tags.get("a", "").lower(), tags.get("d", "").lower()
    if a != want["a"].lower() or d != want["d"].lower():
        return False
    s = tags.get("s", "").lower()
    if "s" in want:
        if s != want["s"].lower():
            return False
    elif s not in [x.lower() for x in selectors.get((d, a), [])]:
        return False
    if "c" in want and canonicalization(tags.get("c")) != canonicalization(want["c"]):
        return False
    return "h" not in want or re.search(want["h"], tags.get("h", "")) is not None


def pair(wants, sigs, selectors, used=()):
    """[index into sigs] for each want, one to one, or None (small backtracking)."""
    if not wants:
        return []
    for i, tags in enumerate(sigs):
        if i not in used and matches(wants[0], tags, selectors):
            rest = pair(wants[1:], sigs, selectors, used + (i,))
            if rest is not None:
                return [i] + rest
    return None


def describe(want, selectors):
    words = ["%s=%s" % (k, want[k]) for k in ("a", "d", "s", "c") if k in want]
    if "s" not in want:
        sels = selectors.get((want["d"].lower(), want["a"].lower()), [])
        words.append("s=%s" % "|".join(sels) if sels else "s=(no key in the case)")
    if "h" in want:
        words.append("h~" + want["h"])
    return " ".join(words)


def run_verifier(name, nsd_port, path):
    """(exit status, [(d, s, a, result)], output) of one verifier over one message."""
    r = subprocess.run(VERIFIERS[name] + ["127.0.0.1", str(nsd_port), path],
                       capture_output=True, timeout=120)
    out = (r.stdout + r.stderr).decode("utf-8", "replace")
    lines = re.findall(r"^d=(\S*) s=(\S*) a=(\S*) (\S+)", r.stdout.decode("latin-1"), re.M)
    return r.returncode, lines, out


def check(res, wants, selectors, nsd_port, delivered):
    """Errors of one message: res a milterclient.Result, wants parsed expectations,
    delivered the path of the delivered message (written by the caller)."""
    errors = []
    sig_wants = [w for kind, w in wants if kind == "signature"]
    added = [("ins@%d" % i, v) for i, n, v in res.inserted if n.lower() == "dkim-signature"]
    added += [("add", v) for n, v in res.added if n.lower() == "dkim-signature"]
    sigs = [dkim_tags(v) for _, v in added]
    got = ["%s %s" % (how, " ".join("%s=%s" % (k, t.get(k, "-")) for k in "adsch"))
           for (how, _), t in zip(added, sigs)]
    paired = pair(sig_wants, sigs, selectors) if len(sig_wants) == len(sigs) else None
    if paired is None:
        errors.append("DKIM-Signature fields the daemon added: got")
        errors += ["  " + g for g in got] or ["  (none)"]
        errors.append("want")
        errors += ["  " + describe(w, selectors) for w in sig_wants] or ["  (none)"]
        return errors
    misplaced = [g for (how, _), g in zip(added, got) if how != "ins@0"]
    if misplaced:
        errors.append("want every DKIM-Signature inserted at index 0 (SMFIR_INSHEADER), "
                      "got:")
        errors += ["  " + g for g in misplaced]
    if res.message is None:
        return errors
    nfields = len(re.findall(rb"(?im)^dkim-signature[ \t]*:",
                             res.message.split(b"\r\n\r\n", 1)[0]))
    for name in sorted({v for w in sig_wants for v in w.get("verifiers", [])}):
        mine = [sigs[i] for w, i in zip(sig_wants, paired)
                if name in w.get("verifiers", [])]
        rc, lines, out = run_verifier(name, nsd_port, delivered)
        passed = [l[:3] for l in lines if l[3] == "pass"]
        missing = [t for t in mine if (t.get("d"), t.get("s"), t.get("a")) not in passed]
        if missing or len(passed) != len(mine) or (len(mine) == nfields and rc != 0):
            errors.append("%s: got %d passing signature(s) (exit %d), want %d:"
                          % (name, len(passed), rc, len(mine)))
            errors += ["  " + l for l in out.splitlines()]
    for field, value in [w for kind, w in wants if kind == "oversigned"]:
        path = "%s-%s.eml" % (os.path.splitext(delivered)[0], field.lower())
        with open(path, "wb") as f:
            f.write(("%s: %s\r\n" % (field, value)).encode() + res.message)
        for name in sorted(VERIFIERS):
            rc, lines, out = run_verifier(name, nsd_port, path)
            if rc == 0 or not lines or any(l[3] == "pass" for l in lines):
                errors.append("%s: with '%s: %s' on top, want every signature to fail, "
                              "got (exit %d):" % (name, field, value, rc))
                errors += ["  " + l for l in out.splitlines()]
    return errors
