#!/usr/bin/python3
"""
NAME
    arc.py - ARC (RFC 8617) through the real daemon: the arc= result of chains made by
    dkimpy and Mail::DKIM, tampered chains, trusted sealers overriding DMARC, inbound and
    outbound sealing checked by dkimpy and Mail::DKIM, and the ARC metrics (issue 20)

DESCRIPTION
    A private NSD (tests/lib/signettest.py run_with_nsd) serves the zone "example" with
    every key: the sealers' (a, b, c, pm, list, evil: RSA; ed: Ed25519), the authors'
    DKIM key, ours.example's keys made by keys/signet-keys (RSA and Ed25519), SPF records
    that pass 192.0.2.10 only, and DMARC records (author and other: p=reject, quar:
    p=quarantine, sender: p=none).

    Chains are made with dkimpy (its ARC class; the Ed25519 hop needs a nacl key handed
    in, see dkimpy_hop) and Mail::DKIM's ARC signer (tests/lib/arc-sign-maildkim.pl);
    before each hop an Authentication-Results of that hop is prepended, whose arc= gives
    the cv= of its seal.  Chains and sealed messages are checked by three validators on
    the same input: Signet (our A-R's arc=), dkimpy (tests/lib/arc-verify-dkimpy.py) and
    Mail::DKIM (tests/lib/arc-verify-maildkim.pl).  Each daemon runs Mode sv with a
    Keystore, AuthservID mx.ours.example, InternalHosts 192.0.2.50 and MetricsListen.

    Cases (the number leads each TAP line):
    1  no ARC field: arc=none with smtp.remote-ip.
    2  chains of 1-3 hops by dkimpy (one Ed25519 hop), Mail::DKIM and both mixed:
       arc=pass header.oldest-pass=0, dkimpy and Mail::DKIM pass.
    3  a body changed after the last seal, ARC-Seal i=2 removed, set i=2 removed, i=3
       renumbered i=2, a lying cv=: fail in all three alike.
    4  trusted sealers (DMARCEnforce yes, ARCTrustedSealers list.example): list.example's
       AAR vouches for author.example (p=reject, SPF and DKIM failing): accepted with
       the override in the dmarc= comment; rejected 550 when sealed by an untrusted
       domain, when the AAR passes another domain only or saw the author fail, when the
       chain was broken after the trusted seal, and when the trusted set's content was
       rewritten and resealed by another (oldest-pass above the trusted instance).
    5  ARCSeal inbound (RSA and Ed25519), both: our set on top (AS, AMS, AAR), AAR = our
       A-R's results, cv= from validation; validated by dkimpy and Mail::DKIM;
       quarantined mail sealed, rejected not; a failing chain sealed cv=fail, one broken
       in structure sealed cv=fail one above its highest instance, an ended
       one not again; forged A-R of ours; odd bodies.
    6  ARCSeal outbound as a mailing list: in from outside (our A-R, arc=pass), "[list] "
       and a footer added, out from InternalHosts: set i=2 cv=pass, our A-R gone, the
       whole chain valid with our AAR's dkim=pass; back in: header.oldest-pass=2; our
       A-R arc=fail gives cv=fail; authenticated-only submission is not sealed; our own
       domain's mail signed (RSA and Ed25519) and sealed i=1 cv=none.
    7  signet_arc_chains_total{result}, signet_arc_seals_total{cv} and
       signet_arc_dmarc_overrides_total equal what each daemon was sent.
    Also: ARCSeal without ARCSealDomain or without Mode s refused at start; no key for
    ARCSealDomain passes unsealed; SIGHUP changing ARCSealDomain.

    Emits TAP; a missing tool is a failure, never a skip.
"""
import base64
import importlib
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path = [p for p in sys.path if os.path.abspath(p or ".") != HERE]   # token.py
LIB = os.path.join(HERE, "..", "lib")
sys.path.insert(0, os.path.join(HERE, "..", "milter"))
sys.path.insert(0, LIB)
import milterclient  # noqa: E402
from signettest import Daemon, Tap, free_port, run_with_nsd, scrape_metrics, \
    wait_listening  # noqa: E402

TOP_BUILDDIR = os.environ.get("top_builddir", os.path.join(HERE, "..", ".."))
KEYS_TOOL = os.path.join(TOP_BUILDDIR, "keys", "signet-keys")
DKIMPY_ARC = importlib.import_module("arc-verify-dkimpy")
MAILDKIM_VERIFY = os.path.join(LIB, "arc-verify-maildkim.pl")
MAILDKIM_SIGN = os.path.join(LIB, "arc-sign-maildkim.pl")

GOOD, BAD, INTERNAL, AUTHED = "192.0.2.10", "192.0.2.66", "192.0.2.50", "192.0.2.77"
AUTHSERV = "mx.ours.example"
SIGNED = [b"from", b"to", b"subject", b"date", b"message-id"]

tap = Tap(max_diag=80)


# ---- keys and zone ---------------------------------------------------------------------
class Keys:
    """TEST-ONLY keys made for this run: name -> (private key, DNS record)."""

    def __init__(self, dir):
        import nacl.signing
        self.dir = dir
        self.priv, self.path, self.pub = {}, {}, {}
        rsa = os.path.join(dir, "TEST-ONLY-rsa.pem")
        subprocess.run(["openssl", "genrsa", "-traditional", "-out", rsa, "2048"],
                       check=True, capture_output=True)
        der = subprocess.run(["openssl", "rsa", "-in", rsa, "-pubout", "-outform", "DER"],
                             check=True, capture_output=True).stdout
        with open(rsa, "rb") as f:
            rsa_priv = f.read()
        rsa_pub = "v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode()
        for name in ("a", "b", "c", "pm", "list", "evil", "author"):
            self.priv[name], self.path[name], self.pub[name] = rsa_priv, rsa, rsa_pub
        sk = nacl.signing.SigningKey.generate()
        self.priv["ed"] = base64.b64encode(bytes(sk))
        self.pub["ed"] = "v=DKIM1; k=ed25519; p=" + base64.b64encode(
            bytes(sk.verify_key)).decode()
        # ours.example, made and activated by signet-keys as an operator would
        self.store = os.path.join(dir, "keystore")
        for alg, sel in (("rsa-2048", "sel"), ("ed25519", "ed")):
            keytool("generate", self.store, "ours.example", "-a", alg, "-s", sel)
            keytool("activate", self.store, "ours.example", sel, "--force")
        self.ours_records = keytool("dns", self.store, "ours.example")

    def zone(self):
        lines = []
        for name in ("a", "b", "c", "pm", "list", "evil", "ed"):
            lines.append(zone_line("s._domainkey.%s.example" % name, self.pub[name]))
        lines.append(zone_line("s._domainkey.author.example", self.pub["author"]))
        lines.append(zone_line("s._domainkey.sender.example", self.pub["author"]))
        lines.append(self.ours_records + "\n")
        for d in ("author", "sender", "list", "other", "ours", "quar"):
            lines.append('%s.example. IN TXT "v=spf1 ip4:%s -all"\n' % (d, GOOD))
        lines.append('_dmarc.author.example. IN TXT "v=DMARC1; p=reject"\n')
        lines.append('_dmarc.other.example. IN TXT "v=DMARC1; p=reject"\n')
        lines.append('_dmarc.sender.example. IN TXT "v=DMARC1; p=none"\n')
        lines.append('_dmarc.quar.example. IN TXT "v=DMARC1; p=quarantine"\n')
        return "".join(lines)


def keytool(cmd, store, *args):
    return subprocess.run([KEYS_TOOL, "-k", store, cmd] + list(args), capture_output=True,
                          text=True, check=True).stdout.strip()


def zone_line(name, text):
    strings = " ".join('"%s"' % text[i:i + 250] for i in range(0, len(text), 250))
    return "%s. IN TXT %s\n" % (name, strings)


# ---- messages and chains ---------------------------------------------------------------
def message(n, from_domain="sender.example", body=b"Hello, this is the body.\r\n"):
    return (b"From: Alice <alice@" + from_domain.encode() + b">\r\n"
            b"To: Bob <bob@ours.example>\r\nSubject: arc test %d\r\n"
            b"Date: Fri, 27 Nov 2026 07:00:00 +0000\r\nMessage-ID: <%d.arc@test>\r\n\r\n"
            % (n, n) + body)


def dkim_signed(keys, msg, domain="sender.example"):
    import dkim
    return dkim.sign(msg, b"s", domain.encode(), keys.priv["author"],
                     include_headers=SIGNED) + msg


def hop_ar(srv, cv, domain="sender.example", results=None):
    """The Authentication-Results of one hop, before it seals."""
    results = results or ("spf=pass smtp.mailfrom=alice@%s; dkim=pass header.d=%s; "
                          "dmarc=pass header.from=%s" % (domain, domain, domain))
    return ("Authentication-Results: %s; arc=%s; %s\r\n" % (srv, cv, results)).encode()


def dkimpy_hop(keys, msg, sealer, cv, results=None, domain="sender.example"):
    """One hop by dkimpy: its A-R, then its ARC set on top."""
    import dkim
    srv = "%s.example" % sealer
    msg = hop_ar(srv, cv, domain, results) + msg
    alg = b"ed25519-sha256" if sealer == "ed" else b"rsa-sha256"
    parse = dkim.parse_pem_private_key
    if sealer == "ed":
        # dkimpy 1.1.4's arc_sign() always asks for rsa-sha256 and ARC.sign reads every
        # key as RSA PEM, though its gen_header signs Ed25519 with a nacl key: ARC is
        # called directly and handed one for this hop
        import nacl.encoding
        import nacl.signing
        dkim.parse_pem_private_key = lambda k: nacl.signing.SigningKey(
            k, encoder=nacl.encoding.Base64Encoder)
    try:
        sets = dkim.ARC(msg, signature_algorithm=alg, linesep=b"\r\n").sign(
            b"s", srv.encode(), keys.priv[sealer], srv.encode(), include_headers=SIGNED)
    finally:
        dkim.parse_pem_private_key = parse
    if len(sets) != 3:
        raise RuntimeError("dkimpy did not seal for %s: %r" % (sealer, sets))
    return b"".join(s if s.endswith(b"\r\n") else s + b"\r\n" for s in sets) + msg


def maildkim_hop(keys, tmp, msg, sealer, cv):
    srv = "%s.example" % sealer
    path = os.path.join(tmp, "to-seal.eml")
    with open(path, "wb") as f:
        f.write(hop_ar(srv, cv) + msg)
    r = subprocess.run(["perl", MAILDKIM_SIGN, keys.path[sealer], srv, "s", srv, path],
                       capture_output=True)
    if r.returncode != 0:
        raise RuntimeError("Mail::DKIM did not seal: %s" % r.stderr.decode())
    return r.stdout


def chain(keys, tmp, msg, hops):
    """hops: sealer names, oldest first; "pm:" before a name seals with Mail::DKIM."""
    for i, hop in enumerate(hops):
        cv = "none" if i == 0 else "pass"
        if hop.startswith("pm:"):
            msg = maildkim_hop(keys, tmp, msg, hop[3:], cv)
        else:
            msg = dkimpy_hop(keys, msg, hop, cv)
    return msg


# ---- verifiers -------------------------------------------------------------------------
class Verifiers:
    def __init__(self, tmp, dns_port):
        self.tmp, self.port = tmp, dns_port
        self.n = 0

    def dkimpy(self, msg):
        """(cv, reason)."""
        try:
            cv, results, reason = DKIMPY_ARC.arc_verify(msg, "127.0.0.1", self.port)
        except Exception as e:
            return "error", "%s: %s" % (type(e).__name__, e)
        return cv, reason

    def dkim(self, msg):
        """(all DKIM signatures pass, output) by tests/lib/verify-dkimpy.py."""
        self.n += 1
        path = os.path.join(self.tmp, "dkim-%d.eml" % self.n)
        with open(path, "wb") as f:
            f.write(msg)
        r = subprocess.run([sys.executable, os.path.join(LIB, "verify-dkimpy.py"),
                            "127.0.0.1", str(self.port), path], capture_output=True,
                           text=True)
        return r.returncode == 0, r.stdout + r.stderr

    def maildkim(self, msg):
        """(result, detail)."""
        self.n += 1
        path = os.path.join(self.tmp, "verify-%d.eml" % self.n)
        with open(path, "wb") as f:
            f.write(msg)
        r = subprocess.run(["perl", MAILDKIM_VERIFY, "127.0.0.1", str(self.port), path],
                           capture_output=True, text=True)
        if r.returncode == 2:
            return "error", r.stderr.strip()
        out = r.stdout.strip()
        return out.split(" ", 1)[0], out


# ---- the MTA ---------------------------------------------------------------------------
class Mta:
    count = 0

    def __init__(self, spec):
        self.spec = spec

    def send(self, msg, ip=GOOD, mail_from="alice@sender.example", auth=None):
        Mta.count += 1
        with milterclient.Session(self.spec) as s:
            s.connect(ip, helo="client.example")
            return s.message(msg, mail_from, ["bob@ours.example"], auth_authen=auth,
                             queue_id="ARC%04d" % Mta.count)


def headers_of(msg):
    """[(name, value unfolded)] of a delivered message, in order."""
    hdrs, _ = milterclient.split_message(msg)
    return [(n.decode("latin-1"), b" ".join(x.strip() for x in v).decode("latin-1"))
            for n, v in hdrs]


def first(fields, name):
    """The value of the topmost field called name in [(name, value)], or ""."""
    return next((v for n, v in fields if n.lower() == name.lower()), "")


def our_ar(res):
    """Our Authentication-Results as inserted, unfolded, or ""."""
    for _, name, value in res.inserted:
        if name.lower() == "authentication-results":
            return re.sub(r"\s+", " ", value).strip()
    return ""


def arc_part(ar):
    m = re.search(r"(?:^|;)\s*(arc=[^;]*)", ar)
    return m.group(1).strip() if m else ""


def dmarc_part(ar):
    """From dmarc= to the end: Signet writes it last, its comment holds semicolons."""
    i = ar.find("; dmarc=")
    return ar[i + 2:].strip() if i >= 0 else ""


def tag(value, name):
    m = re.search(r"(?:^|;)\s*%s\s*=\s*([^;]*)" % re.escape(name), value)
    return re.sub(r"\s+", "", m.group(1)) if m else None


def inserted_arc(res):
    """The ARC fields Signet inserted, [(name, value)]."""
    return [(n, re.sub(r"\s+", " ", v).strip()) for _, n, v in res.inserted
            if n.lower().startswith("arc-")]


def conf(spec, dns_port, mport, keys, extra=""):
    return ("Socket %s\nMode sv\nKeystore %s\nAuthservID %s\nNameservers 127.0.0.1@%d\n"
            "InternalHosts %s\nLogLevel debug\nMetricsListen %d\n%s"
            % (spec, keys.store, AUTHSERV, dns_port, INTERNAL, mport, extra))


def start(tmp, dns_port, keys, name, extra=""):
    spec = "inet:%d@127.0.0.1" % free_port()
    mport = free_port()
    d = Daemon(tmp, conf(spec, dns_port, mport, keys, extra), name)
    if not tap(wait_listening(spec), "%s: daemon starts" % name, d.log()):
        d.stop()
        return None, None, None
    return d, Mta(spec), mport


def arc_metrics(mport):
    m = scrape_metrics(mport)
    return {k: v for k, v in m.items() if k.startswith("signet_arc_")}


def want_metrics(got, chains, seals, overrides=0):
    ok = True
    for r in ("pass", "fail", "none"):
        ok &= got.get('signet_arc_chains_total{result="%s"}' % r) == chains.get(r, 0)
        ok &= got.get('signet_arc_seals_total{cv="%s"}' % r) == seals.get(r, 0)
    ok &= got.get("signet_arc_dmarc_overrides_total") == overrides
    return ok


# ---- cases 1-3: validation -------------------------------------------------------------
def validation(tmp, dns_port, keys, v):
    d, mta, mport = start(tmp, dns_port, keys, "validate")
    if d is None:
        return
    chains = {"pass": 0, "fail": 0, "none": 0}
    try:
        # 1. no ARC field
        res = mta.send(dkim_signed(keys, message(1)))
        ar = our_ar(res)
        tap(res.action == "accept" and arc_part(ar) == "arc=none smtp.remote-ip=%s" % GOOD,
            "1: no ARC field: arc=none smtp.remote-ip=%s" % GOOD, "A-R: %s\n%r" % (ar, res))
        chains["none"] += 1

        # 2. good chains
        good = [("dkimpy_1_hop_rsa", ["a"]), ("dkimpy_2_hops_rsa", ["a", "b"]),
                ("dkimpy_3_hops_rsa_ed25519_rsa", ["a", "ed", "c"]),
                ("maildkim_1_hop_rsa", ["pm:pm"]), ("maildkim_2_hops_rsa", ["pm:pm", "pm:b"]),
                ("dkimpy_then_maildkim_3_hops", ["a", "pm:pm", "c"])]
        for n, (name, hops) in enumerate(good, 10):
            msg = chain(keys, tmp, dkim_signed(keys, message(n)), hops)
            res = mta.send(msg)
            ar = our_ar(res)
            chains["pass"] += 1
            py, mp = v.dkimpy(msg), v.maildkim(msg)
            want = "arc=pass smtp.remote-ip=%s header.oldest-pass=0" % GOOD
            tap(res.action == "accept" and arc_part(ar) == want and py[0] == "pass" and
                mp[0] == "pass", "2: %s: Signet, dkimpy and Mail::DKIM all pass" % name,
                "Signet: %s\ndkimpy: %s\nMail::DKIM: %s" % (arc_part(ar) or ar, py, mp))

        # 3. tampered chains, from one good 3-hop chain
        base = chain(keys, tmp, dkim_signed(keys, message(30)), ["a", "b", "c"])

        def drop(msg, pattern):
            hdrs, body = milterclient.split_message(msg)
            out = b""
            for name, lines in hdrs:
                value = b"\r\n".join(lines)
                if re.match(pattern, name.decode() + ":" + re.sub(r"\s", "", value.decode())):
                    continue
                out += name + b":" + value + b"\r\n"
            return out + b"\r\n" + body

        def lying_cv(msg):
            hdrs, body = milterclient.split_message(msg)
            out = b""
            for name, lines in hdrs:
                value = b"\r\n".join(lines)
                if name.lower() == b"arc-seal" and b"i=2;" in value.replace(b" ", b""):
                    value = re.sub(rb"cv=pass", b"cv=none", value)
                out += name + b":" + value + b"\r\n"
            return out + b"\r\n" + body

        def renumber(msg):
            """i=2 set removed, i=3 renumbered i=2: the seal no longer verifies"""
            m = drop(msg, r"(?i)arc-[a-z-]+:i=2;")
            return re.sub(rb"(ARC-[A-Za-z-]+: ?)i=3;", rb"\1i=2;", m)

        tampered = [
            ("body_changed_after_the_last_seal",
             base.replace(b"Hello, this is the body.", b"Hello, this is the b0dy.")),
            ("arc_seal_of_i2_removed", drop(base, r"(?i)arc-seal:i=2;")),
            ("set_i2_removed_whole", drop(base, r"(?i)arc-[a-z-]+:i=2;")),
            ("instance_renumbered_i3_as_i2", renumber(base)),
            ("cv_lying_in_seal_i2", lying_cv(base)),
        ]
        for name, msg in tampered:
            res = mta.send(msg)
            ar = our_ar(res)
            chains["fail"] += 1
            py, mp = v.dkimpy(msg), v.maildkim(msg)
            tap(res.action == "accept" and arc_part(ar).startswith("arc=fail") and
                "smtp.remote-ip=%s" % GOOD in arc_part(ar) and py[0] == "fail" and
                mp[0] == "fail", "3: %s: Signet, dkimpy and Mail::DKIM all fail" % name,
                "Signet: %s\ndkimpy: %s\nMail::DKIM: %s" % (arc_part(ar) or ar, py, mp))
        got = arc_metrics(mport)
        tap(want_metrics(got, chains, {}), "7: validate daemon: signet_arc_chains_total "
            "counts what was sent, no seal", "want chains %r\ngot %r" % (chains, got))
    finally:
        d.stop()


# ---- case 4: trusted sealers -----------------------------------------------------------
def list_message(keys, n, sealer, aar_results):
    """author.example's signed mail, changed by a list (subject tag, footer): DKIM broken;
    sealed by sealer with AAR results aar_results."""
    msg = dkim_signed(keys, message(n, "author.example"), "author.example")
    msg = msg.replace(b"Subject: arc test", b"Subject: [list] arc test")
    msg += b"-- \r\nlist footer\r\n"
    return dkimpy_hop(keys, msg, sealer, "none", aar_results, "author.example")


def trusted(tmp, dns_port, keys, v):
    d, mta, mport = start(tmp, dns_port, keys, "trust",
                          "DMARCEnforce yes\nARCTrustedSealers list.example\n")
    if d is None:
        return
    try:
        vouching = ("spf=pass smtp.mailfrom=alice@author.example; dkim=pass "
                    "header.d=author.example; dmarc=pass header.from=author.example")
        msg = list_message(keys, 40, "list", vouching)
        res = mta.send(msg, ip=BAD, mail_from="alice@author.example")
        ar = our_ar(res)
        dm = dmarc_part(ar)
        tap(res.action == "accept" and arc_part(ar).startswith("arc=pass") and
            dm.startswith("dmarc=fail") and "not enforced, ARC override: trusted sealer" in dm
            and "list.example" in dm and "header.from=author.example" in dm,
            "4: trusted sealer list.example vouches: accepted, dmarc=fail with the override "
            "named", "action %s reply %s\nA-R: %s\nlog: %s" % (res.action, res.reply, ar,
                                                              d.log()[-1500:]))
        tap(v.dkimpy(msg)[0] == "pass" and v.maildkim(msg)[0] == "pass",
            "4: the list's chain passes dkimpy and Mail::DKIM too",
            "%s\n%s" % (v.dkimpy(msg), v.maildkim(msg)))

        msg = list_message(keys, 41, "evil", vouching)
        res = mta.send(msg, ip=BAD, mail_from="alice@author.example")
        tap(res.action == "reject" and (res.reply or "").startswith("550"),
            "4: the same chain sealed by an untrusted domain: rejected 550",
            "action %s reply %s" % (res.action, res.reply))

        other = ("spf=pass smtp.mailfrom=alice@other.example; dkim=pass "
                 "header.d=other.example; dmarc=pass header.from=other.example")
        msg = list_message(keys, 42, "list", other)
        res = mta.send(msg, ip=BAD, mail_from="alice@author.example")
        tap(res.action == "reject" and (res.reply or "").startswith("550"),
            "4: a trusted sealer's AAR with passes for another domain only: rejected 550",
            "action %s reply %s" % (res.action, res.reply))
        got = arc_metrics(mport)
        tap(want_metrics(got, {"pass": 3}, {}, 1), "4/7: signet_arc_dmarc_overrides_total "
            "counts 1 after the three above, chains 3 pass", "got %r" % got)

        msg = list_message(keys, 43, "list", vouching)
        msg = msg.replace(b"list footer", b"list f00ter")
        res = mta.send(msg, ip=BAD, mail_from="alice@author.example")
        tap(res.action == "reject" and (res.reply or "").startswith("550"),
            "4: the trusted sealer's chain broken after its seal (arc=fail): no override, "
            "rejected 550", "action %s reply %s" % (res.action, res.reply))

        failing = ("spf=fail smtp.mailfrom=alice@author.example; dkim=fail "
                   "header.d=author.example; dmarc=fail header.from=author.example")
        msg = list_message(keys, 44, "list", failing)
        res = mta.send(msg, ip=BAD, mail_from="alice@author.example")
        tap(res.action == "reject" and (res.reply or "").startswith("550"),
            "4: a trusted sealer's AAR that saw the author fail too: rejected 550",
            "action %s reply %s" % (res.action, res.reply))

        lower = list_message(keys, 45, "list", vouching)
        lower = re.sub(rb"(?m)^ARC-(Seal|Message-Signature|Authentication-Results):",
                       lambda m: m.group(0).lower(), lower)
        res = mta.send(lower, ip=BAD, mail_from="alice@author.example")
        ar = our_ar(res)
        tap(res.action == "accept" and arc_part(ar).startswith("arc=pass") and
            "ARC override" in dmarc_part(ar) and v.dkimpy(lower)[0] == "pass",
            "4: ARC field names in lower case: the chain passes, the override holds",
            "action %s\nA-R %s\ndkimpy %s" % (res.action, ar, v.dkimpy(lower)))
        # replay: the trusted list's message rewritten by someone else, who seals it
        # (i=2, a valid chain): the trusted AAR vouched for other content
        replay = list_message(keys, 46, "list", vouching)
        replay = replay.replace(b"Hello, this is the body.", b"Please wire the money.")
        replay = dkimpy_hop(keys, replay, "evil", "pass", vouching, "author.example")
        res = mta.send(replay, ip=BAD, mail_from="alice@author.example")
        ar = our_ar(res)
        tap(arc_part(ar).startswith("arc=pass") and "header.oldest-pass=2" in arc_part(ar) and
            res.action == "reject" and (res.reply or "").startswith("550"),
            "4: the trusted sealer's content rewritten and resealed by an untrusted domain "
            "(chain passes, oldest-pass=2): no override, rejected 550",
            "action %s reply %s\nA-R %s" % (res.action, res.reply, ar))
        got = arc_metrics(mport)
        tap(want_metrics(got, {"pass": 6, "fail": 1}, {}, 2),
            "4/7: signet_arc_dmarc_overrides_total counts the 2 overrides, chains 6 pass "
            "1 fail", "got %r" % got)
    finally:
        d.stop()


# ---- case 5: inbound sealing -----------------------------------------------------------
def check_sealed(name, res, v, instance, alg, cv, maildkim=True):
    """Checks of a message Signet sealed inbound."""
    top = headers_of(res.message or b"")[:4]
    names = [n for n, _ in top]
    tap(names == ["ARC-Seal", "ARC-Message-Signature", "ARC-Authentication-Results",
                  "Authentication-Results"],
        "5: %s: ARC-Seal, ARC-Message-Signature, ARC-Authentication-Results on top, "
        "then our A-R" % name, "top fields: %r" % names)
    fields = dict(top)
    seal = fields.get("ARC-Seal", "")
    aar = fields.get("ARC-Authentication-Results", "")
    ours = re.sub(r"\s+", " ", fields.get("Authentication-Results", ""))
    results = ours.split(";", 1)[1].strip() if ";" in ours else "?"
    aar_results = re.sub(r"\s+", " ", aar).strip()
    tap(tag(seal, "i") == str(instance) and tag(seal, "cv") == cv and tag(seal, "a") == alg
        and tag(seal, "d") == "ours.example",
        "5: %s: our seal i=%d cv=%s a=%s d=ours.example" % (name, instance, cv, alg), seal)
    tap(aar_results == "i=%d; %s; %s" % (instance, AUTHSERV, results) and
        "dkim=" in results and "spf=" in results and "arc=" in results,
        "5: %s: our AAR is our A-R's results (dkim=, spf=, arc=)" % name,
        "AAR: %s\nA-R: %s" % (aar_results, ours))
    py = v.dkimpy(res.message or b"")
    tap(py[0] == "pass", "5: %s: dkimpy validates the delivered message: pass" % name,
        "%s\n%s" % (py, (res.message or b"")[:3000].decode("latin-1")))
    if maildkim:
        mp = v.maildkim(res.message or b"")
        tap(mp[0] == "pass", "5: %s: Mail::DKIM validates the delivered message: pass" %
            name, mp)


def inbound_sealing(tmp, dns_port, keys, v):
    for daemon, alg, extra in (
            ("seal-rsa", "rsa-sha256", ""),
            ("seal-ed25519", "ed25519-sha256", "ARCSealAlgorithm ed25519-sha256\n")):
        d, mta, mport = start(tmp, dns_port, keys, daemon, "ARCSeal inbound\n"
                              "ARCSealDomain ours.example\n" + extra)
        if d is None:
            continue
        try:
            msg = chain(keys, tmp, dkim_signed(keys, message(50)), ["a"])
            res = mta.send(msg)
            check_sealed("%s 1-hop dkimpy chain" % daemon, res, v, 2, alg, "pass")
            res = mta.send(dkim_signed(keys, message(51)))
            check_sealed("%s no chain" % daemon, res, v, 1, alg, "none")
            got = arc_metrics(mport)
            tap(want_metrics(got, {"pass": 1, "none": 1}, {"pass": 1, "none": 1}),
                "7: %s: chains and seals counted" % daemon, "got %r" % got)
        finally:
            d.stop()


# ---- case 6: outbound sealing, the mailing list ----------------------------------------
def play_list(delivered):
    """What a list does: "[list] " in Subject, a footer; our A-R kept."""
    msg = delivered.replace(b"Subject: arc test", b"Subject: [list] arc test", 1)
    return msg + b"-- \r\nlist footer\r\n"


def outbound_sealing(tmp, dns_port, keys, v):
    d, mta, mport = start(tmp, dns_port, keys, "seal-out", "ARCSeal outbound\n"
                          "ARCSealDomain ours.example\n")
    if d is None:
        return
    try:
        msg = chain(keys, tmp, dkim_signed(keys, message(60)), ["a"])
        res = mta.send(msg)
        ar = our_ar(res)
        tap(res.action == "accept" and arc_part(ar).startswith("arc=pass") and
            "dkim=pass" in ar and not inserted_arc(res),
            "6: inbound from outside: our A-R, arc=pass, not sealed (outbound only)",
            "A-R: %s\ninserted %r" % (ar, res.inserted))
        relayed = play_list(res.message or b"")
        res = mta.send(relayed, ip=INTERNAL, mail_from="list-bounces@list.example")
        out = res.message or b""
        top = headers_of(out)
        seal = first(top, "ARC-Seal")
        aar = first(top, "ARC-Authentication-Results")
        tap(res.action == "accept" and [n for n, _ in top[:3]] ==
            ["ARC-Seal", "ARC-Message-Signature", "ARC-Authentication-Results"] and
            tag(seal, "i") == "2" and tag(seal, "cv") == "pass",
            "6: relayed by the list from InternalHosts: new set i=2 cv=pass on top",
            "action %s\nfields %r\nlog %s" % (res.action, top[:6], d.log()[-1500:]))
        ours_left = [val for n, val in top if n.lower() == "authentication-results" and
                     val.strip().startswith(AUTHSERV)]
        tap(not ours_left, "6: our A-R removed from the relayed message", ours_left)
        py = v.dkimpy(out)
        tap(py[0] == "pass", "6: dkimpy validates the whole chain after the list's changes",
            "%s\n%s" % (py, out[:3000].decode("latin-1")))
        mp = v.maildkim(out)
        tap(mp[0] == "pass", "6: Mail::DKIM validates the whole chain after the list's "
            "changes", mp)
        tap(tag(aar, "i") == "2" and AUTHSERV + ";" in aar and "dkim=pass" in aar and
            "header.d=sender.example" in aar and "arc=pass" in aar,
            "6: our AAR shows the original dkim=pass and arc=pass", aar)

        # the relayed message arriving at its reader's MX (here: from outside again): the
        # list changed what set 1 signed, so the oldest AMS that validates is ours, i=2
        res = mta.send(out, mail_from="list-bounces@list.example")
        ar = our_ar(res)
        tap(arc_part(ar) == "arc=pass smtp.remote-ip=%s header.oldest-pass=2" % GOOD,
            "6: the relayed chain validated again: arc=pass header.oldest-pass=2 (AMS i=1 "
            "broken by the list)", "A-R: %s" % ar)

        # A-R of ours saying arc=fail: cv=fail
        bad = chain(keys, tmp, dkim_signed(keys, message(61)), ["a", "b"])
        bad = bad.replace(b"Hello, this is the body.", b"Hello, this is the b0dy.")
        res = mta.send(bad)
        ar = our_ar(res)
        relayed = play_list(res.message or b"")
        res2 = mta.send(relayed, ip=INTERNAL, mail_from="list-bounces@list.example")
        seal = first(headers_of(res2.message or b""), "ARC-Seal")
        tap(arc_part(ar).startswith("arc=fail") and tag(seal, "i") == "3" and
            tag(seal, "cv") == "fail",
            "6: our A-R says arc=fail: the outbound seal says cv=fail (i=3)",
            "inbound A-R: %s\nseal: %s\nlog: %s" % (ar, seal, d.log()[-1500:]))
        py, mp = v.dkimpy(res2.message or b""), v.maildkim(res2.message or b"")
        tap(py[0] in ("fail", "ended") and mp[0] == "fail",
            "6: dkimpy (chain ended) and Mail::DKIM (fail) agree the cv=fail chain fails",
            "dkimpy: %s\nMail::DKIM: %s" % (py, mp))

        # an authenticated submission from outside InternalHosts: no seal
        res = mta.send(play_list(mta.send(msg).message or b""), ip=AUTHED,
                       mail_from="alice@sender.example", auth="alice")
        tap(res.action == "accept" and not inserted_arc(res),
            "6: authenticated-only submission (not InternalHosts): no seal",
            "action %s inserted %r" % (res.action, res.inserted))
        got = arc_metrics(mport)
        # validated inbound: 1-hop pass twice (msg sent twice), the broken 2-hop fail
        # mail of our own domain from an internal host: signed (RSA and Ed25519) and sealed
        res = mta.send(message(62, "ours.example"), ip=INTERNAL,
                       mail_from="alice@ours.example")
        out = res.message or b""
        top = headers_of(out)
        names = [n for n, _ in top[:5]]
        seal = first(top, "ARC-Seal")
        py, mp = v.dkimpy(out), v.maildkim(out)
        dk = v.dkim(out)
        tap(names == ["ARC-Seal", "ARC-Message-Signature", "ARC-Authentication-Results",
                      "DKIM-Signature", "DKIM-Signature"] and tag(seal, "i") == "1" and
            tag(seal, "cv") == "none" and py[0] == "pass" and mp[0] == "pass" and dk[0],
            "6: internal mail of ours.example: two DKIM-Signatures, sealed i=1 cv=none, "
            "ARC passes dkimpy and Mail::DKIM, DKIM passes dkimpy",
            "fields %r\ndkimpy %s\nMail::DKIM %s\nDKIM %s" % (names, py, mp, dk[1]))
        tap(first(top, "ARC-Authentication-Results").replace(" ", "") ==
            "i=1;%s;none" % AUTHSERV, "6: without an A-R of ours the AAR says none",
            first(top, "ARC-Authentication-Results"))
        got = arc_metrics(mport)
        tap(want_metrics(got, {"pass": 3, "fail": 1}, {"pass": 1, "fail": 1, "none": 1}),
            "7: seal-out: chains and seals counted", "got %r" % got)
    finally:
        d.stop()


# ---- cases 5 and 6 further: ARCSeal both, quarantine and reject, odd bodies ------------
def both_sealing(tmp, dns_port, keys, v):
    import dkim
    d, mta, mport = start(tmp, dns_port, keys, "seal-both", "ARCSeal both\n"
                          "ARCSealDomain ours.example\nDMARCEnforce yes\n")
    if d is None:
        return
    seals = {"pass": 0, "fail": 0, "none": 0}
    chains = {"pass": 0, "fail": 0, "none": 0}
    try:
        # in from outside: sealed i=2; the list's relay from inside: sealed i=3
        msg = chain(keys, tmp, dkim_signed(keys, message(70)), ["a"])
        res = mta.send(msg)
        chains["pass"] += 1
        seals["pass"] += 1
        relayed = play_list(res.message or b"")
        res = mta.send(relayed, ip=INTERNAL, mail_from="list-bounces@list.example")
        seals["pass"] += 1
        out = res.message or b""
        top = headers_of(out)
        seals_i = [tag(val, "i") + ":" + tag(val, "cv") for n, val in top
                   if n == "ARC-Seal"]
        py, mp = v.dkimpy(out), v.maildkim(out)
        tap(seals_i == ["3:pass", "2:pass", "1:none"] and py[0] == "pass" and
            mp[0] == "pass", "5/6: ARCSeal both: sealed i=2 coming in, i=3 going out by the "
            "list; dkimpy and Mail::DKIM pass",
            "seals %r\ndkimpy %s\nMail::DKIM %s" % (seals_i, py, mp))
        res = mta.send(out, mail_from="list-bounces@list.example")
        chains["pass"] += 1
        seals["pass"] += 1
        ar = our_ar(res)
        tap(arc_part(ar) == "arc=pass smtp.remote-ip=%s header.oldest-pass=3" % GOOD,
            "5/6: that chain validated again: header.oldest-pass=3", ar)

        # quarantined mail is sealed, rejected mail is not
        res = mta.send(message(71, "quar.example"), ip=BAD, mail_from="alice@quar.example")
        chains["none"] += 1
        seals["none"] += 1
        seal = first(headers_of(res.message or b""), "ARC-Seal")
        tap(res.action == "accept" and res.quarantine and tag(seal, "i") == "1" and
            v.dkimpy(res.message or b"")[0] == "pass",
            "5: quarantined inbound mail (p=quarantine failed) is sealed, and validates",
            "action %s quarantine %r seal %s" % (res.action, res.quarantine, seal))
        res = mta.send(message(72, "author.example"), ip=BAD,
                       mail_from="alice@author.example")
        chains["none"] += 1
        tap(res.action == "reject" and not inserted_arc(res),
            "5: rejected inbound mail is not sealed", "action %s inserted %r" %
            (res.action, inserted_arc(res)))

        # a broken chain coming in: sealed cv=fail, which ends it for everyone
        bad = chain(keys, tmp, dkim_signed(keys, message(73)), ["a", "b"])
        bad = bad.replace(b"Hello, this is the body.", b"Hello, this is the b0dy.")
        res = mta.send(bad)
        chains["fail"] += 1
        seals["fail"] += 1
        seal = first(headers_of(res.message or b""), "ARC-Seal")
        py, mp = v.dkimpy(res.message or b""), v.maildkim(res.message or b"")
        tap(tag(seal, "i") == "3" and tag(seal, "cv") == "fail" and
            py[0] in ("fail", "ended") and mp[0] == "fail",
            "5: a failing chain coming in is sealed i=3 cv=fail; dkimpy (chain ended) and "
            "Mail::DKIM (fail) agree", "seal %s\ndkimpy %s\nMail::DKIM %s" % (seal, py, mp))
        # ... and a chain ended by cv=fail gets no further set
        res = mta.send(res.message or b"")
        chains["fail"] += 1
        tap(arc_part(our_ar(res)).startswith("arc=fail") and not inserted_arc(res),
            "5: a chain already ended by cv=fail: arc=fail, no set added",
            "A-R %s\ninserted %r" % (our_ar(res), inserted_arc(res)))

        # a chain broken in structure (its ARC-Seal i=2 removed) is sealed all the same:
        # i=3, one above the highest instance its fields name, cv=fail, the seal over our
        # set alone (RFC 8617 section 5.1 step 2, section 5.1.2)
        broken = chain(keys, tmp, dkim_signed(keys, message(76)), ["a", "b"])
        hdrs, body = milterclient.split_message(broken)
        broken = b"".join(name + b":" + b"\r\n".join(lines) + b"\r\n" for name, lines in hdrs
                          if not (name.lower() == b"arc-seal" and
                                  b"i=2;" in b"".join(lines).replace(b" ", b""))) + \
            b"\r\n" + body
        res = mta.send(broken)
        chains["fail"] += 1
        seals["fail"] += 1
        seal = first(headers_of(res.message or b""), "ARC-Seal")
        mp = v.maildkim(res.message or b"")
        tap(arc_part(our_ar(res)).startswith("arc=fail") and tag(seal, "i") == "3" and
            tag(seal, "cv") == "fail" and tag(seal, "d") == "ours.example" and
            mp[0] == "fail",
            "5: a chain broken in structure (seal i=2 missing) is sealed i=3 cv=fail; "
            "Mail::DKIM says fail", "A-R %s\nseal %s\nMail::DKIM %s" % (our_ar(res), seal, mp))

        # a chain whose key lookup fails for now (a.elsewhere: outside NSD's zone, which
        # refuses it): arc=fail, but no cv=fail seal to end the chain for good
        elsewhere = hop_ar("a.elsewhere", "none") + dkim_signed(keys, message(75))
        elsewhere = b"".join(dkim.ARC(elsewhere, linesep=b"\r\n").sign(
            b"s", b"a.elsewhere", keys.priv["a"], b"a.elsewhere",
            include_headers=SIGNED)) + elsewhere
        res = mta.send(elsewhere)
        chains["fail"] += 1
        tap(arc_part(our_ar(res)).startswith("arc=fail") and not inserted_arc(res) and
            "not ARC-sealed: the chain's validation failed temporarily" in d.log(),
            "5: a chain failing for now (key lookup refused): arc=fail, not sealed cv=fail",
            "A-R %s\ninserted %r\n%s" % (our_ar(res), inserted_arc(res), d.log()[-1000:]))

        # a forged A-R of ours is removed; the sealed message still validates
        forged = (b"Authentication-Results: " + AUTHSERV.encode() +
                  b"; dkim=pass header.d=sender.example; arc=pass\r\n" +
                  dkim_signed(keys, message(74)))
        res = mta.send(forged)
        chains["none"] += 1
        seals["none"] += 1
        ours = [val for n, val in headers_of(res.message or b"")
                if n == "Authentication-Results"]
        py, mp = v.dkimpy(res.message or b""), v.maildkim(res.message or b"")
        tap(len(ours) == 1 and "arc=none" in ours[0] and py[0] == "pass" and mp[0] == "pass",
            "5: a forged A-R of ours is removed, ours says arc=none, the seal validates",
            "A-Rs %r\ndkimpy %s\nMail::DKIM %s" % (ours, py, mp))

        # bodies: empty, trailing blank lines and spaces, over one milter chunk, LF only
        bodies = [("empty_body", b""),
                  ("trailing_blank_lines_and_spaces", b"line one  \r\n\tline two\t\r\n\r\n\r\n"),
                  ("body_of_200_KB", b"".join(b"line %06d of a long body\r\n" % i
                                              for i in range(8000))),
                  ("no_final_line_break", b"no final CRLF")]
        for n, (name, body) in enumerate(bodies, 80):
            msg = chain(keys, tmp, message(n, body=body), ["a"])
            res = mta.send(msg)
            chains["pass"] += 1
            seals["pass"] += 1
            out = res.message or b""
            py, mp = v.dkimpy(out), v.maildkim(out)
            tap(arc_part(our_ar(res)).startswith("arc=pass") and
                tag(first(headers_of(out), "ARC-Seal"), "i") == "2" and py[0] == "pass" and
                mp[0] == "pass", "5: %s: chain passes, our set i=2 validates in dkimpy and "
                "Mail::DKIM" % name, "A-R %s\ndkimpy %s\nMail::DKIM %s" %
                (our_ar(res), py, mp))
        got = arc_metrics(mport)
        tap(want_metrics(got, chains, seals), "7: seal-both: chains and seals counted",
            "want chains %r seals %r\ngot %r" % (chains, seals, got))
    finally:
        d.stop()


# ---- operation: configuration errors, no key, SIGHUP turning sealing on ---------------
def operation(tmp, dns_port, keys, v):
    import signal
    spec = "inet:%d@127.0.0.1" % free_port()
    for name, extra, text in (
            ("no_seal_domain", "ARCSeal inbound\n", "ARCSeal needs ARCSealDomain"),
            ("verify_only", "ARCSeal inbound\nARCSealDomain ours.example\n",
             "ARCSeal needs Mode s or sv")):
        body = conf(spec, dns_port, free_port(), keys, extra)
        if name == "verify_only":
            body = body.replace("Mode sv\n", "Mode v\n")
        d = Daemon(tmp, body, "conf-" + name)
        try:
            code = d.exit_status(timeout=30)
            tap(code not in (None, 0) and text in d.log(),
                "conf: %s: the daemon refuses to start and says why" % name,
                "exit %r\n%s" % (code, d.log()))
        finally:
            d.stop()

    d, mta, mport = start(tmp, dns_port, keys, "nokey", "ARCSeal inbound\n"
                          "ARCSealDomain nokey.example\n")
    if d is None:
        return
    try:
        res = mta.send(dkim_signed(keys, message(90)))
        tap(res.action == "accept" and our_ar(res) and not inserted_arc(res) and
            "not ARC-sealed: no active RSA key for nokey.example" in d.log(),
            "no key for ARCSealDomain: the message passes unsealed, the log says why",
            "action %s inserted %r\n%s" % (res.action, res.inserted, d.log()[-1500:]))
        with open(d.conf) as f:
            text = f.read()
        with open(d.conf, "w") as f:
            f.write(text.replace("nokey.example", "ours.example"))
        d.proc.send_signal(signal.SIGHUP)
        tap(d.wait_log("reloaded"), "SIGHUP reloads the ARC settings", d.log()[-1500:])
        res = mta.send(dkim_signed(keys, message(91)))
        py = v.dkimpy(res.message or b"")
        tap(tag(first(headers_of(res.message or b""), "ARC-Seal"), "d") == "ours.example" and
            py[0] == "pass", "after SIGHUP with ARCSealDomain ours.example: sealed, and "
            "dkimpy validates", "%s\n%r" % (py, inserted_arc(res)))
        got = arc_metrics(mport)
        tap(want_metrics(got, {"none": 2}, {"none": 1}),
            "7: nokey: an unsealed message counts no seal", "got %r" % got)
    finally:
        d.stop()


def main():
    keydir = tempfile.mkdtemp(prefix="signet-arc-keys-")
    try:
        keys = Keys(keydir)

        def run(tmp, dns_port):
            v = Verifiers(tmp, dns_port)
            validation(tmp, dns_port, keys, v)
            trusted(tmp, dns_port, keys, v)
            inbound_sealing(tmp, dns_port, keys, v)
            outbound_sealing(tmp, dns_port, keys, v)
            both_sealing(tmp, dns_port, keys, v)
            operation(tmp, dns_port, keys, v)
        return run_with_nsd(tap, "signet-arc-", "example", keys.zone(), run)
    finally:
        shutil.rmtree(keydir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
