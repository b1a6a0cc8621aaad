#!/usr/bin/python3
"""
NAME
    run-cases.py - Signet's data-driven suites: tests/data/inbound/*.case and
    tests/data/outbound/*.case (TAP)

SYNOPSIS
    top_srcdir=... top_builddir=... /usr/bin/python3 tests/data/run-cases.py [CASE...]
    SIGNET_TEST_ONLY=REGEX SIGNET_TEST_KEEP=1 SIGNET_TEST_JOBS=N tests/data/run-cases.py

DESCRIPTION
    Each case file (format: tests/data/README.md) describes a message (or several, sent
    on one connection): the SMTP envelope, how to sign it at run time (dkimpy, Mail::DKIM
    or Signet itself), how to tamper with it afterwards, the keys of the daemon's own
    keystore, extra daemon configuration, the DNS data, and what the daemon must do.
    For every case the runner

      - makes the case's keystore with keys/signet-keys (outbound cases) and writes the
        case's DNS data and those keys' records into one zone per top-level domain;
        starts a private NSD (tests/lib/dnsserver.sh) plus a small DNS front in this
        process that forwards to it; the front drops NSD's referrals, so a name the case
        delegates (to any server name) is never answered, which is how a case makes a
        lookup time out;
      - starts its own milter/signet (Mode sv, Nameservers = that front), so no DNS
        cache is shared between cases;
      - signs and tampers the message, sends it with the milter client of tests/milter
        (milterclient.py, Postfix behaviour, CRLF body unless the case says otherwise),
        and checks the verdict, the Authentication-Results header, the delivered bytes
        and (outbound) the DKIM-Signature fields the daemon added, each verified by
        dkimpy and by Mail::DKIM against the case's NSD (signing.py);
      - checks that the daemon is still alive afterwards.

    The cases run in parallel (SIGNET_TEST_JOBS, default 4); TAP lines come out in case
    order, "ok N - FOLDER/NNN-name", and one line "# FOLDER suite: N passed, N failed"
    per folder follows.  A failing case prints, as "#" lines, what it got and what it
    wanted, the Authentication-Results fields of the delivered message, the verifiers'
    output, the DNS queries the daemon made, and the daemon's log.  A missing tool fails
    every case with the reason; nothing is skipped.

    top_srcdir and top_builddir default to the repository root; the conformance data
    comes from $SIGNET_CONFORMANCE_DIR (default $top_srcdir/../shared/conformance).
    CASE arguments select cases: a folder (inbound, outbound), a file or folder path,
    or a name prefix with or without its folder (011-dkim-fail, outbound/02); so does
    SIGNET_TEST_ONLY, a regular expression searched in "FOLDER/NNN-name".
    SIGNET_TEST_KEEP=1 keeps the temporary directory: one folder per case with its
    zone files, NSD log, keystore, daemon config and log, the messages sent and
    delivered.  SIGNET_SIGNER names another signet binary for the "sign signet" step
    (default: the one under test).

    --dkimpy first: no daemon; each case's message is signed and tampered, its DNS
    served, and tests/lib/verify-dkimpy.py verifies it through the DNS front; the
    verifier's lines are printed (every case shows as "not ok" so they appear).  This
    checks the cases themselves against an independent verifier.

FILES
    tests/data/inbound/*.case, tests/data/outbound/*.case, tests/data/signing.py,
    tests/data/sign-maildkim.pl, tests/lib/dnsserver.sh, tests/lib/verify-dkimpy.py,
    tests/lib/verify-maildkim.pl, tests/milter/milterclient.py

EXIT STATUS
    0 when every case passes, 1 otherwise.
"""

import base64
import concurrent.futures
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP_SRCDIR = os.path.abspath(os.environ.get("top_srcdir") or os.path.join(HERE, "..", ".."))
TOP_BUILDDIR = os.path.abspath(os.environ.get("top_builddir") or TOP_SRCDIR)
CONFORMANCE = os.path.abspath(os.environ.get("SIGNET_CONFORMANCE_DIR") or
                              os.path.join(TOP_SRCDIR, "..", "shared", "conformance"))
DATA_DIR = os.path.join(TOP_SRCDIR, "tests", "data")
FOLDERS = ("inbound", "outbound")
SIGNET = os.path.join(TOP_BUILDDIR, "milter", "signet")
SIGNET_KEYS = os.path.join(TOP_BUILDDIR, "keys", "signet-keys")
SIGNER = os.environ.get("SIGNET_SIGNER") or SIGNET
SIGN_MAILDKIM = os.path.join(HERE, "sign-maildkim.pl")

sys.path.insert(0, os.path.join(TOP_SRCDIR, "tests", "milter"))
sys.path.insert(0, os.path.join(TOP_SRCDIR, "tests", "lib"))
import milterclient  # noqa: E402
import signing  # noqa: E402
from signettest import free_udp_tcp_port, start_nsd  # noqa: E402

AUTHSERV_ID = "mx.signet.test"
# Zones always served, so that lookups anywhere under them get real NXDOMAIN/NODATA
# answers (a name outside every zone is REFUSED, which the daemon sees as SERVFAIL).
DEFAULT_TLDS = ("org", "com", "net", "example", "test")
KEY_NAMES = ("rsa2048", "rsa2048b", "rsa1024", "rsa512", "ed25519", "ed25519b")


class CaseError(Exception):
    """The case file itself is wrong (a bug in the test, not in the daemon)."""


# ---- small helpers ---------------------------------------------------------------------
def unescape(data):
    """@xHH@ in case text stands for the byte 0xHH (CR, LF, control and 8-bit bytes)."""
    return re.sub(rb"@x([0-9A-Fa-f]{2})@", lambda m: bytes([int(m.group(1), 16)]), data)


def to_crlf(data):
    return re.sub(rb"\r?\n", b"\r\n", data)


def split_fields(message):
    """[(name, raw_field_bytes_without_final_crlf)] of a CRLF message's header."""
    head = message.split(b"\r\n\r\n", 1)[0]
    fields = []
    for line in head.split(b"\r\n"):
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1][1] += b"\r\n" + line
        else:
            fields.append([line.split(b":", 1)[0], line])
    return [(n.decode("latin-1"), f) for n, f in fields]


def unfold(field):
    return re.sub(rb"\r?\n(?=[ \t])", b"", field).decode("latin-1")


# ---- Authentication-Results parsing (RFC 8601) ----------------------------------------
def strip_comments(text):
    """Returns (text with comments replaced by a space, [comments]); quotes respected."""
    out, comments, depth, cur, i, quoted = [], [], 0, [], 0, False
    while i < len(text):
        c = text[i]
        if depth == 0 and quoted:
            out.append(c)
            if c == "\\" and i + 1 < len(text):
                out.append(text[i + 1])
                i += 1
            elif c == '"':
                quoted = False
        elif depth == 0 and c == '"':
            quoted = True
            out.append(c)
        elif c == "(":
            if depth > 0:
                cur.append(c)
            depth += 1
        elif c == ")" and depth > 0:
            depth -= 1
            if depth == 0:
                comments.append("".join(cur))
                cur = []
                out.append(" ")
            else:
                cur.append(c)
        elif depth > 0:
            if c == "\\" and i + 1 < len(text):
                cur.append(text[i + 1])
                i += 1
            else:
                cur.append(c)
        else:
            out.append(c)
        i += 1
    return "".join(out), comments


def split_outside_quotes(text, sep):
    """Splits at sep where it is neither inside a quoted string nor inside a comment."""
    parts, cur, quoted, depth, i = [], [], False, 0, 0
    while i < len(text):
        c = text[i]
        if c == "\\" and (quoted or depth) and i + 1 < len(text):
            cur.append(text[i:i + 2])
            i += 2
            continue
        if c == '"' and not depth:
            quoted = not quoted
        elif c == "(" and not quoted:
            depth += 1
        elif c == ")" and not quoted and depth:
            depth -= 1
        if c == sep and not quoted and not depth:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(c)
        i += 1
    parts.append("".join(cur))
    return parts


def unquote(v):
    if len(v) >= 2 and v[0] == '"' and v[-1] == '"':
        return re.sub(r"\\(.)", r"\1", v[1:-1])
    return v


class AuthRes:
    """One parsed Authentication-Results field: authserv_id and results."""

    def __init__(self, value):
        self.value = value
        parts = split_outside_quotes(value, ";")
        head, _ = strip_comments(parts[0])
        words = head.split()
        self.authserv_id = unquote(words[0]) if words else ""
        self.results = []
        for part in parts[1:]:
            # Comments belong to the result they follow; a "(comment)" right after
            # method=result is the usual place.
            text, comments = strip_comments(part)
            text = re.sub(r"\s*=\s*", "=", text.strip())
            tokens = [t for t in split_outside_quotes(text, " ") if t]
            if not tokens:
                continue
            if tokens[0].lower() == "none" and len(tokens) == 1:
                continue
            method, _, result = tokens[0].partition("=")
            props = {}
            for t in tokens[1:]:
                k, eq, v = t.partition("=")
                if eq:
                    props.setdefault(k.lower(), []).append(unquote(v))
            self.results.append({"method": method.split("/")[0].lower(),
                                 "result": result.lower(), "props": props,
                                 "comments": comments, "text": part.strip()})


def authres_fields(message):
    """[(raw_field_bytes, AuthRes)] of every Authentication-Results field, in order."""
    out = []
    for name, raw in split_fields(message):
        if name.lower() == "authentication-results":
            value = unfold(raw).split(":", 1)[1]
            out.append((raw, AuthRes(value)))
    return out


# ---- the case file --------------------------------------------------------------------
class Case:
    def __init__(self, path):
        self.path = path
        self.name = os.path.basename(path)[:-len(".case")]
        self.kind = os.path.basename(os.path.dirname(os.path.abspath(path)))
        self.label = "%s/%s" % (self.kind, self.name)
        self.client = "192.0.2.10"
        self.helo = "mail.example.org"
        self.mailfrom = "alice@example.org"
        self.rcpts = ["bob@example.net"]
        self.auth = None
        self.config = []
        self.signs = []
        self.tampers = []
        self.expects = []
        self.zone = []
        self.messages = []
        self.message_file = None
        self.bigbody = 0
        self.files = {}
        self.keys = []
        self.line_endings = "crlf"
        self.parse()

    @property
    def outbound(self):
        return self.kind == "outbound"

    def endings(self, data):
        """CRLF line endings, or bare LF with "line-endings lf"."""
        if self.line_endings == "crlf":
            return to_crlf(data)
        return re.sub(rb"\r?\n", b"\n", data)

    def expects_for(self, n):
        """The expectations of message n (1-based): those without "#N" and those
        with #n."""
        out = []
        for e in self.expects:
            m = re.match(r"#(\d+)\s+(.*)$", e)
            if not m:
                out.append(e)
            elif int(m.group(1)) == n:
                out.append(m.group(2))
        return out

    def parse(self):
        with open(self.path, "rb") as f:
            data = f.read()
        sections = re.split(rb"^--- ", data, flags=re.M)
        self.parse_header(sections[0])
        for sec in sections[1:]:
            title, _, body = sec.partition(b"\n")
            title = title.decode().strip()
            if title == "zone":
                self.zone = [l for l in body.decode("utf-8").splitlines()
                             if l.strip() and not l.lstrip().startswith(";")]
            elif title == "message":
                self.messages.append(unescape(self.endings(body)))
            elif title.startswith("file "):
                self.files[title[5:].strip()] = body
            else:
                raise CaseError("unknown section '--- %s'" % title)
        if bool(self.messages) == bool(self.message_file):
            raise CaseError("want '--- message' sections or one message-file")
        if not self.expects:
            raise CaseError("no expect line")
        for e in self.expects:
            m = re.match(r"#(\d+)\s", e)
            if m and not 1 <= int(m.group(1)) <= max(1, len(self.messages)):
                raise CaseError("expect %s: there is no message %s" % (e, m.group(1)))

    def parse_header(self, text):
        for lineno, raw in enumerate(text.split(b"\n"), 1):
            line = raw.decode("utf-8").rstrip()
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            word, _, rest = line.partition(" ")
            rest = rest.strip()
            if word == "client":
                self.client = rest
            elif word == "helo":
                self.helo = unescape(rest.encode()).decode("latin-1")
            elif word == "mailfrom":
                self.mailfrom = unescape(rest.encode()).decode("latin-1")
            elif word == "rcpt":
                self.rcpts = rest.split()
            elif word == "auth":
                self.auth = rest
            elif word == "config":
                k, _, v = rest.partition(" ")
                self.config.append((k, v.strip()))
            elif word == "sign":
                self.signs.append(self.parse_sign(rest))
            elif word == "tamper":
                self.tampers.append(rest)
            elif word == "expect":
                self.expects.append(rest)
            elif word == "message-file":
                self.message_file = rest
            elif word == "bigbody":
                self.bigbody = int(rest)
            elif word == "keys":
                try:
                    self.keys.append(signing.parse_keys_line(rest))
                except ValueError as e:
                    raise CaseError("line %d: %s" % (lineno, e))
            elif word == "line-endings":
                if rest not in ("crlf", "lf"):
                    raise CaseError("line %d: line-endings crlf|lf" % lineno)
                self.line_endings = rest
            else:
                raise CaseError("line %d: unknown keyword '%s'" % (lineno, word))

    @staticmethod
    def parse_sign(rest):
        words = rest.split()
        if not words:
            raise CaseError("sign: no tool")
        spec = {"tool": words[0]}
        for w in words[1:]:
            k, eq, v = w.partition("=")
            if not eq:
                raise CaseError("sign: '%s' is not key=value" % w)
            spec[k] = v
        if spec["tool"] not in ("dkimpy", "maildkim", "signet", "none"):
            raise CaseError("sign: unknown tool '%s'" % spec["tool"])
        if spec["tool"] in ("dkimpy", "maildkim"):
            for k in ("key", "d", "s"):
                if k not in spec:
                    raise CaseError("sign %s: %s= missing" % (spec["tool"], k))
            if spec["key"] not in KEY_NAMES and ":" not in spec["key"]:
                raise CaseError("sign: unknown key '%s'" % spec["key"])
        if spec["tool"] == "signet" and "d" not in spec:
            raise CaseError("sign signet: d= missing")
        return spec


# ---- keys -----------------------------------------------------------------------------
class Keys:
    """TEST-ONLY keys generated once per run in the temporary directory."""

    def __init__(self, dir):
        self.dir = dir
        os.makedirs(dir, exist_ok=True)
        self.pub = {}
        self.priv = {}
        self.path = {}
        self.lock = threading.Lock()
        for name in KEY_NAMES:
            if name.startswith("rsa"):
                self.make_rsa(name, int(re.sub(r"\D", "", name)))
            else:
                self.make_ed25519(name)

    def make_rsa(self, name, bits):
        path = os.path.join(self.dir, "TEST-ONLY-%s.pem" % name)
        subprocess.run(["openssl", "genrsa", "-traditional", "-out", path, str(bits)],
                       check=True, capture_output=True)
        der = subprocess.run(["openssl", "rsa", "-in", path, "-pubout", "-outform", "DER"],
                             check=True, capture_output=True).stdout
        self.path[name] = path
        with open(path, "rb") as f:
            self.priv[name] = f.read()
        self.pub[name] = base64.b64encode(der).decode()

    def make_ed25519(self, name):
        import nacl.signing
        sk = nacl.signing.SigningKey.generate()
        self.priv[name] = base64.b64encode(bytes(sk))
        self.pub[name] = base64.b64encode(bytes(sk.verify_key)).decode()
        path = os.path.join(self.dir, "TEST-ONLY-%s.seed" % name)
        with open(path, "wb") as f:
            f.write(self.priv[name] + b"\n")
        self.path[name] = path

    def kind(self, name):
        self.load(name)
        return "rsa" if self.priv[name].startswith(b"-----BEGIN") else "ed25519"

    def load(self, name):
        """A key from a file (conformance:PATH, srcdir:PATH): PEM RSA or a base64
        Ed25519 seed, as dkimpy's test data has them."""
        with self.lock:
            if name in self.priv:
                return
            data = read_source(name).strip()
            path = os.path.join(self.dir, "file-%d.key" % len(self.path))
            with open(path, "wb") as f:
                f.write(data + b"\n")
            self.path[name] = path
            self.priv[name] = data
            if not data.startswith(b"-----BEGIN"):
                import nacl.signing
                sk = nacl.signing.SigningKey(base64.b64decode(data))
                self.pub[name] = base64.b64encode(bytes(sk.verify_key)).decode()
            else:
                der = subprocess.run(["openssl", "rsa", "-in", path, "-pubout", "-outform",
                                      "DER"], check=True, capture_output=True).stdout
                self.pub[name] = base64.b64encode(der).decode()


# ---- Signet as a signer ---------------------------------------------------------------
class SignetSigner:
    """One signing daemon (Mode s) for every domain a case signs with "sign signet"."""

    def __init__(self, dir, domains):
        self.dir = dir
        self.domains = domains
        self.records = {}
        self.proc = None
        self.error = None
        self.lock = threading.Lock()

    def start(self):
        """Started on first use, by whichever case needs it first."""
        with self.lock:
            if self.error:
                raise RuntimeError(self.error)
            if self.proc is None:
                try:
                    self.start_locked()
                except Exception as e:
                    self.error = "the signing daemon: %s" % e
                    raise RuntimeError(self.error)

    def start_locked(self):
        dir, domains = self.dir, self.domains
        keystore = os.path.join(dir, "keystore")
        os.makedirs(keystore, exist_ok=True)
        for d in sorted(domains):
            for alg in ("rsa-2048", "ed25519"):
                sel = self.keys(keystore, "generate", d, "-a", alg).split()[-1]
                self.keys(keystore, "activate", d, sel, "--force")
            self.records[d] = self.keys(keystore, "dns", d).splitlines()
        self.port = free_udp_tcp_port()
        conf = os.path.join(dir, "signer.conf")
        with open(conf, "w") as f:
            f.write("Socket inet:%d@127.0.0.1\nMode s\nAuthservID signer.signet.test\n"
                    "Keystore %s\nInternalHosts 127.0.0.1\nLogLevel debug\n"
                    % (self.port, keystore))
        self.log = open(os.path.join(dir, "signer.log"), "wb")
        self.proc = subprocess.Popen([SIGNER, "-c", conf, "-f"], stdout=self.log,
                                     stderr=subprocess.STDOUT)
        wait_milter(self.proc, self.port, os.path.join(dir, "signer.log"))

    @staticmethod
    def keys(keystore, *args):
        return signing.signet_keys(SIGNET_KEYS, keystore, *args)

    def sign(self, message, domain):
        self.start()
        r = milterclient.run("inet:%d@127.0.0.1" % self.port, message, "127.0.0.1",
                             "signer.signet.test", "alice@" + domain, ["bob@example.net"],
                             body_crlf=True)
        if r.action not in ("accept", "continue") or r.message is None:
            raise RuntimeError("signing daemon answered %s" % r.action)
        if not any(n.lower() == "dkim-signature" for _, n, _ in r.inserted):
            raise RuntimeError("signing daemon added no DKIM-Signature for %s" % domain)
        return r.message

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def wait_milter(proc, port, logpath, seconds=10):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("signet exited with status %s at start-up; log:\n%s"
                               % (proc.returncode, tail(logpath, 30)))
        try:
            s = milterclient.Session("inet:%d@127.0.0.1" % port, timeout=2).open()
            s.close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("signet does not answer on port %d after %d s; log:\n%s"
                       % (port, seconds, tail(logpath, 30)))


def tail(path, n):
    try:
        with open(path, "rb") as f:
            lines = f.read().decode("latin-1").splitlines()
    except OSError:
        return "(no log)"
    return "\n".join(lines[-n:])


# ---- DNS: NSD and the front that drops referrals --------------------------------------
def qname_of(packet):
    try:
        pos, labels = 12, []
        while packet[pos]:
            n = packet[pos]
            labels.append(packet[pos + 1:pos + 1 + n].decode("latin-1"))
            pos += 1 + n
        qtype = struct.unpack(">H", packet[pos + 1:pos + 3])[0]
        return ".".join(labels) + ".", qtype
    except (IndexError, struct.error):
        return "?", 0


def is_referral(packet):
    """NSD's answer for a name below a delegation: not authoritative, no answer, NS
    records in the authority section."""
    if len(packet) < 12:
        return False
    flags, _, ancount, nscount = struct.unpack(">HHHH", packet[2:10])
    return not (flags & 0x0400) and (flags & 0x000F) == 0 and ancount == 0 and nscount > 0


class DnsFront:
    """UDP and TCP on a loopback port, forwarding to NSD; a referral is dropped (the
    delegated server "does not answer"), everything else passes unchanged."""

    TYPES = {1: "A", 2: "NS", 5: "CNAME", 12: "PTR", 15: "MX", 16: "TXT", 28: "AAAA",
             99: "SPF"}

    def __init__(self, upstream_port):
        self.upstream = ("127.0.0.1", upstream_port)
        self.log = []
        self.lock = threading.Lock()
        self.stopping = False
        for _ in range(20):
            port = free_udp_tcp_port()
            try:
                self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                self.udp.bind(("127.0.0.1", port))
                self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                self.tcp.bind(("127.0.0.1", port))
                break
            except OSError:
                continue
        self.port = port
        self.tcp.listen(16)
        self.udp.settimeout(0.2)
        self.tcp.settimeout(0.2)
        self.threads = [threading.Thread(target=self.serve_udp, daemon=True),
                        threading.Thread(target=self.serve_tcp, daemon=True)]
        for t in self.threads:
            t.start()

    def note(self, query, proto, what):
        name, qtype = qname_of(query)
        with self.lock:
            self.log.append("%s %s %s %s" % (proto, name, self.TYPES.get(qtype, qtype), what))

    def ask(self, query, proto):
        try:
            if proto == "udp":
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                s.settimeout(3)
                s.sendto(query, self.upstream)
                reply = s.recv(65535)
            else:
                s = socket.create_connection(self.upstream, timeout=3)
                s.sendall(struct.pack(">H", len(query)) + query)
                n = struct.unpack(">H", recv_exact(s, 2))[0]
                reply = recv_exact(s, n)
            s.close()
        except (OSError, struct.error):
            self.note(query, proto, "upstream-error")
            return None
        if is_referral(reply):
            self.note(query, proto, "DROPPED (delegated: no answer)")
            return None
        rcode = reply[3] & 0x0F if len(reply) > 3 else -1
        an = struct.unpack(">H", reply[6:8])[0] if len(reply) >= 8 else 0
        self.note(query, proto, {0: "NOERROR", 2: "SERVFAIL", 3: "NXDOMAIN",
                                 5: "REFUSED"}.get(rcode, "rcode%d" % rcode) + " an=%d" % an)
        return reply

    def serve_udp(self):
        while not self.stopping:
            try:
                query, peer = self.udp.recvfrom(65535)
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=self.udp_one, args=(query, peer), daemon=True).start()

    def udp_one(self, query, peer):
        reply = self.ask(query, "udp")
        if reply is not None and not self.stopping:
            try:
                self.udp.sendto(reply, peer)
            except OSError:
                pass

    def serve_tcp(self):
        while not self.stopping:
            try:
                conn, _ = self.tcp.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=self.tcp_one, args=(conn,), daemon=True).start()

    def tcp_one(self, conn):
        conn.settimeout(10)
        try:
            while not self.stopping:
                n = struct.unpack(">H", recv_exact(conn, 2))[0]
                reply = self.ask(recv_exact(conn, n), "tcp")
                if reply is None:
                    time.sleep(10)          # a server that never answers
                    break
                conn.sendall(struct.pack(">H", len(reply)) + reply)
        except (OSError, struct.error):
            pass
        finally:
            conn.close()

    def stop(self):
        self.stopping = True
        self.udp.close()
        self.tcp.close()


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise OSError("closed")
        buf += chunk
    return buf


# ---- preparing a case ----------------------------------------------------------------
class Runner:
    def __init__(self, tmp, keys, signer, pool):
        self.tmp = tmp
        self.keys = keys
        self.signer = signer
        self.pool = pool

    def expand_zone_line(self, line):
        def repl(m):
            kind, arg = m.group(1), m.group(2)
            if kind in ("PUB", "DKIM"):
                if arg not in KEY_NAMES:
                    self.keys.load(arg)
                if kind == "PUB":
                    return self.keys.pub[arg]
                return "v=DKIM1; k=%s; p=%s" % (self.keys.kind(arg), self.keys.pub[arg])
            if kind == "FILE":
                return read_source(arg).decode().strip()
            raise CaseError("unknown zone placeholder @%s:%s@" % (kind, arg))
        line = re.sub(r"@(PUB|DKIM|FILE):([^@]+)@", repl, line)
        # A character-string holds at most 255 bytes: split longer quoted strings.
        def split_long(m):
            s = m.group(1)
            if len(s) <= 255:
                return m.group(0)
            return " ".join('"%s"' % s[i:i + 255] for i in range(0, len(s), 255))
        return re.sub(r'"((?:[^"\\]|\\.)*)"', split_long, line)

    def write_zones(self, case, dir, records):
        """records: zone lines of the case's own keystore."""
        lines = [self.expand_zone_line(l) for l in case.zone] + records
        for spec in case.signs:
            if spec["tool"] == "signet":
                self.signer.start()
                lines += self.signer.records[spec["d"]]
        tlds = set(DEFAULT_TLDS)
        owners = []
        for l in lines:
            owner = l.split()[0]
            if not owner.endswith("."):
                raise CaseError("zone line with a relative owner name: %s" % l)
            tld = owner.rstrip(".").rsplit(".", 1)[-1].lower()
            tlds.add(tld)
            owners.append((tld, l))
        zones = {}
        for tld in sorted(tlds):
            path = os.path.join(dir, "records-%s" % tld)
            with open(path, "w") as f:
                for t, l in owners:
                    if t == tld:
                        f.write(l + "\n")
            zones[tld] = path
        return zones

    def build_messages(self, case):
        if case.message_file:
            return [self.build_message(case, case.endings(read_source(case.message_file)))]
        return [self.build_message(case, m) for m in case.messages]

    def build_message(self, case, msg):
        if case.bigbody:
            line = case.endings(b"0123456789 abcdefghijklmnopqrstuvwxyz "
                                b"ABCDEFGHIJKLMNOPQRSTUVWXYZ.\r\n")
            out = bytearray()
            n = 0
            while len(out) < case.bigbody:
                out += b"%07d " % n + line
                n += 1
            msg += bytes(out)
        for spec in case.signs:
            msg = self.sign(msg, spec)
        for t in case.tampers:
            msg = self.tamper(msg, t)
        return msg

    def sign(self, msg, spec):
        tool = spec["tool"]
        if tool == "none":
            return msg
        if tool == "signet":
            return self.signer.sign(msg, spec["d"])
        key = spec["key"]
        if key not in KEY_NAMES:
            self.keys.load(key)
        alg = spec.get("a") or ("rsa-sha256" if self.keys.kind(key) == "rsa"
                                else "ed25519-sha256")
        canon = spec.get("c", "relaxed/relaxed")
        if "/" not in canon:
            canon += "/simple"
        if tool == "dkimpy":
            import dkim
            hc, bc = canon.split("/")
            include = None
            if "h" in spec:
                include = [h.encode().lower() for h in spec["h"].split(":")]
            signer = dkim.DKIM(msg)
            if "after-b" in spec:
                signer.gen_header = self.tags_after_b(signer.gen_header, spec["after-b"])
            sig = signer.sign(spec["s"].encode(), spec["d"].encode(), self.keys.priv[key],
                              identity=spec["i"].encode() if "i" in spec else None,
                              canonicalize=(hc.encode(), bc.encode()),
                              signature_algorithm=alg.encode(), include_headers=include,
                              length=spec.get("l") == "yes")
            return to_crlf(sig) + msg
        # maildkim
        now = int(time.time())
        t = str(now + int(spec["t"])) if "t" in spec else "-"
        x = str(now + int(spec["x"])) if "x" in spec else "-"
        r = subprocess.run(["perl", SIGN_MAILDKIM, self.keys.path[key], spec["d"], spec["s"],
                            canon, alg, spec.get("h", "-"), t, x], input=msg,
                           capture_output=True)
        if r.returncode != 0:
            raise RuntimeError("sign-maildkim: %s" % r.stderr.decode("latin-1").strip())
        return to_crlf(r.stdout) + msg

    @staticmethod
    def tags_after_b(gen_header, raw):
        """dkimpy's header builder with raw text signed after b= (each ';'-separated
        piece kept as written, e.g. 'x y=z; d=victim.example'), so the signature is
        valid over a field that a strict reader finds malformed."""
        extra = [tuple(p.strip().encode().split(b"=", 1)) if "=" in p else (p.strip().encode(),)
                 for p in unescape(raw.encode()).decode().split(";") if p.strip()]

        def build(fields, *args, **kwargs):
            return gen_header(list(fields) + extra, *args, **kwargs)
        return build

    @staticmethod
    def b_value(msg):
        """b= of the topmost DKIM-Signature field, without white space."""
        for name, raw in split_fields(msg):
            if name.lower() == "dkim-signature":
                m = re.search(rb"(?:^|;)\s*b\s*=([^;]*)", raw.split(b":", 1)[1])
                if m:
                    return re.sub(rb"\s+", b"", m.group(1))
        raise CaseError("@BVALUE@: no DKIM-Signature with b= above")

    @staticmethod
    def tamper(msg, how):
        op, _, arg = how.partition(" ")
        if op == "sub":
            delim = arg[0]
            parts = arg[1:].split(delim)
            if len(parts) < 2:
                raise CaseError("tamper sub: want sub /REGEX/REPLACEMENT/")
            pattern, repl = parts[0].encode(), unescape(parts[1].encode())
            new, n = re.subn(pattern, lambda m: repl, msg, count=1)
            if n == 0:
                raise CaseError("tamper sub: /%s/ matches nothing" % parts[0])
            return new
        if op == "prepend":
            field = unescape(arg.encode())
            if b"@BVALUE@" in field:
                field = field.replace(b"@BVALUE@", Runner.b_value(msg))
            return to_crlf(field) + b"\r\n" + msg
        if op == "append-body":
            return msg + unescape(arg.encode()) + b"\r\n"
        raise CaseError("unknown tamper '%s'" % op)

    def config_text(self, case, dir, port, dns_port):
        conf = [("Socket", "inet:%d@127.0.0.1" % port), ("Mode", "sv"),
                ("AuthservID", AUTHSERV_ID), ("Keystore", os.path.join(dir, "keystore")),
                ("InternalHosts", "127.0.0.0/8, ::1"),
                ("Nameservers", "127.0.0.1@%d" % dns_port), ("DNSTimeout", "2"),
                ("LogLevel", "debug")]
        for k, v in case.config:
            v = v.replace("@CASEDIR@", dir)
            for i, (ck, _) in enumerate(conf):
                if ck.lower() == k.lower():
                    conf[i] = (ck, v)
                    break
            else:
                conf.append((k, v))
        return "".join("%s %s\n" % kv for kv in conf)

    def verify_only(self, dir, front, sent):
        """--dkimpy: the signatures and zones of a case checked by dkimpy alone (through
        the DNS front), printed as comments; no daemon."""
        r = subprocess.run([sys.executable, os.path.join(TOP_SRCDIR, "tests", "lib",
                                                         "verify-dkimpy.py"),
                            "127.0.0.1", str(front.port)] + sent,
                           capture_output=True, text=True, timeout=60)
        return ["dkimpy: " + l for l in (r.stdout + r.stderr).splitlines()] or ["dkimpy: -"]

    # ---- one case --------------------------------------------------------------------
    def run(self, case):
        dir = os.path.join(self.tmp, case.kind, case.name)
        keystore = os.path.join(dir, "keystore")
        os.makedirs(keystore, exist_ok=True)
        diag = []
        nsd_pid = None
        front = None
        proc = None
        logpath = os.path.join(dir, "signet.log")
        try:
            for name, body in case.files.items():
                with open(os.path.join(dir, name), "wb") as f:
                    f.write(body)
            selectors, records = {}, []
            if case.keys:
                selectors, records = self.pool.keystore(case.keys, keystore)
            zones = self.write_zones(case, dir, records)
            nsd_port, nsd_pid = start_nsd(os.path.join(dir, "nsd"), zones)
            signing.check_served(nsd_port, selectors)
            front = DnsFront(nsd_port)
            msgs = self.build_messages(case)
            sent = [os.path.join(dir, numbered("sent", n, len(msgs)))
                    for n in range(1, len(msgs) + 1)]
            for path, msg in zip(sent, msgs):
                with open(path, "wb") as f:
                    f.write(msg)
            if VERIFY_ONLY:
                return self.verify_only(dir, front, sent)
            port = free_udp_tcp_port()
            conf = os.path.join(dir, "signet.conf")
            with open(conf, "w") as f:
                f.write(self.config_text(case, dir, port, front.port))
            log = open(logpath, "wb")
            proc = subprocess.Popen([SIGNET, "-c", conf, "-f"], stdout=log,
                                    stderr=subprocess.STDOUT)
            log.close()
            wait_milter(proc, port, logpath)
            results, failure = self.send(case, port, msgs)
            if failure:
                diag.append(failure)
            time.sleep(0.05)
            if proc.poll() is not None:
                diag.append("the daemon died during this case (exit status %s)"
                            % proc.returncode)
            for n, res in enumerate(results, 1):
                delivered = os.path.join(dir, numbered("delivered", n, len(msgs)))
                if res.message is not None:
                    with open(delivered, "wb") as f:
                        f.write(res.message)
                errors = check(case, res, case.expects_for(n),
                               Outbound(selectors, nsd_port, delivered))
                if len(msgs) > 1:
                    errors = ["message %d: %s" % (n, e) for e in errors]
                diag += errors
        except CaseError as e:
            diag.append("case file error: %s" % e)
        except Exception as e:          # set-up trouble: the case fails with the reason
            diag.append("set-up failed: %s: %s" % (type(e).__name__, e))
        finally:
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            if front is not None:
                front.stop()
            if nsd_pid:
                try:
                    os.kill(nsd_pid, 15)
                except OSError:
                    pass
        if diag:
            if front is not None and front.log:
                diag.append("DNS queries the daemon made (via the front):")
                diag += ["  " + l for l in front.log]
            if os.path.exists(logpath):
                diag.append("daemon log:")
                diag += ["  " + l for l in tail(logpath, 60).splitlines()]
        return diag

    @staticmethod
    def send(case, port, msgs):
        """Every message of the case on one connection (SMFIC_ABORT between them, as
        Postfix's smtpd); returns ([Result], None) or (the results so far, failure)."""
        results = []
        stem = "Q" + re.sub(r"\W", "", case.name)[:12]
        try:
            with milterclient.Session("inet:%d@127.0.0.1" % port, timeout=60,
                                      body_crlf=case.line_endings == "crlf") as s:
                s.connect(case.client, helo=case.helo)
                for n, msg in enumerate(msgs, 1):
                    results.append(s.message(msg, case.mailfrom, case.rcpts,
                                             auth_authen=case.auth,
                                             queue_id=stem + ("" if n == 1 else str(n))))
        except (OSError, milterclient.ProtocolError) as e:
            return results, ("milter conversation failed after %d message(s): %s: %s"
                             % (len(results), type(e).__name__, e))
        return results, None


def numbered(stem, n, count):
    """sent.eml for a case's only message; sent-1.eml, sent-2.eml... for several."""
    return "%s.eml" % stem if count == 1 else "%s-%d.eml" % (stem, n)


class Outbound:
    """What check() needs for the outbound expectations of one message."""

    def __init__(self, selectors, nsd_port, delivered):
        self.selectors = selectors
        self.nsd_port = nsd_port
        self.delivered = delivered


def read_source(ref):
    """conformance:PATH (under the conformance dir) or srcdir:PATH (under top_srcdir)."""
    kind, _, path = ref.partition(":")
    base = {"conformance": CONFORMANCE, "srcdir": TOP_SRCDIR}.get(kind)
    if base is None:
        raise CaseError("file reference '%s': want conformance:PATH or srcdir:PATH" % ref)
    with open(os.path.join(base, path), "rb") as f:
        return f.read()


# ---- expectations ---------------------------------------------------------------------
def match_result(r, method, results, props):
    if r["method"] != method or r["result"] not in results:
        return False
    for p in props:
        if p.startswith("!"):
            if p[1:].lower() in r["props"]:
                return False
            continue
        m = re.match(r"([\w.-]+)(=|~)(.*)$", p)
        if not m:
            raise CaseError("bad property expectation '%s'" % p)
        k, op, v = m.group(1).lower(), m.group(2), m.group(3)
        if k == "comment":
            values = r["comments"]
        else:
            values = r["props"].get(k, [])
        if op == "=" and not any(x.lower() == unquote(v).lower() for x in values):
            return False
        if op == "~" and not any(re.search(v, x) for x in values):
            return False
    return True


def assign(wants, results, used=()):
    """Every wanted result matched by a distinct actual one (small backtracking)."""
    if not wants:
        return True
    method, res, props = wants[0]
    for i, r in enumerate(results):
        if i not in used and match_result(r, method, res, props) and \
                assign(wants[1:], results, used + (i,)):
            return True
    return False


def check(case, res, expects, outbound):
    """Errors of one message: res its milterclient.Result, expects its expectations,
    outbound what the outbound ones need (an Outbound)."""
    errors = []
    want_action = "accept"
    # Signet adds no Authentication-Results to outbound mail; an outbound case that
    # sends inbound mail (an external client) says how many it wants.
    authres_count = None if case.outbound else 1
    header_checks = []
    signing_wants = []
    result_wants = []
    counts = {}
    want_quarantine = None
    for e in expects:
        try:
            want = signing.parse_expectation(e)
        except ValueError as x:
            raise CaseError(str(x))
        if want:
            signing_wants.append(want)
            continue
        m = re.match(r"action=(\w+)$", e)
        if m:
            want_action = m.group(1)
            continue
        if e.startswith("reply~"):
            if not res.reply or not re.search(e[6:], res.reply):
                errors.append("reply: got %r, want a match for /%s/" % (res.reply, e[6:]))
            continue
        if e == "quarantine" or e.startswith("quarantine~"):
            want_quarantine = e[11:] if "~" in e else ""
            continue
        m = re.match(r"authres-count=(\d+)$", e)
        if m:
            authres_count = int(m.group(1))
            continue
        m = re.match(r"(header|no-header)~(.*)$", e)
        if m:
            header_checks.append((m.group(1), m.group(2)))
            continue
        m = re.match(r"header-count (\S+) (\d+)$", e)
        if m:
            header_checks.append(("count", (m.group(1), int(m.group(2)))))
            continue
        m = re.match(r"count (\w+) (\d+)$", e)
        if m:
            counts[m.group(1).lower()] = int(m.group(2))
            continue
        m = re.match(r"([\w-]+)=([\w|]+)(.*)$", e)
        if m:
            result_wants.append((m.group(1).lower(), m.group(2).lower().split("|"),
                                 m.group(3).split()))
            continue
        raise CaseError("unknown expectation '%s'" % e)
    if case.outbound and not any(k in ("signature", "unsigned") for k, _ in signing_wants):
        raise CaseError("an outbound case says what is signed: expect signature ... or "
                        "expect unsigned")

    got_action = "accept" if res.action == "continue" else res.action
    if got_action != want_action:
        errors.append("action: got %s (reply %r), want %s" % (res.action, res.reply,
                                                              want_action))
    if want_quarantine is None and res.quarantine is not None:
        errors.append("quarantine: got %r, want none" % res.quarantine)
    elif want_quarantine is not None and (res.quarantine is None or
                                          not re.search(want_quarantine, res.quarantine)):
        errors.append("quarantine: got %r, want one%s" % (
            res.quarantine, " matching /%s/" % want_quarantine if want_quarantine else ""))
    if res.message is None:
        if result_wants or header_checks or counts or signing_wants:
            if got_action == want_action:
                errors.append("no delivered message to check the header of")
        return errors

    fields = split_fields(res.message)
    ars = authres_fields(res.message)
    ours = [(raw, a) for raw, a in ars if a.authserv_id.lower() == AUTHSERV_ID]
    if authres_count is not None and len(ours) != authres_count:
        errors.append("Authentication-Results with authserv-id %s: got %d, want %d"
                      % (AUTHSERV_ID, len(ours), authres_count))
    if ours and authres_count == 1:
        top_name, top_raw = fields[0]
        if top_raw != ours[0][0]:
            errors.append("our Authentication-Results is not the first header field "
                          "(first is %r)" % top_raw[:80])
        raw = ours[0][0]
        lines = raw.split(b"\r\n")
        bad = [l for l in lines[1:] if not l.startswith((b"\t", b" "))]
        ctl = re.search(rb"[\x00-\x08\x0a-\x1f\x7f]", b"".join(lines))
        if bad or ctl:
            errors.append("our Authentication-Results is not one clean field: %r" % raw)
    results = ours[0][1].results if len(ours) == 1 else []
    if result_wants and not assign(result_wants, results):
        for w in result_wants:
            if not any(match_result(r, *w) for r in results):
                errors.append("want result %s=%s %s: not found" % (w[0], "|".join(w[1]),
                                                                   " ".join(w[2])))
        if all(any(match_result(r, *w) for r in results) for w in result_wants):
            errors.append("want distinct results for: %s" % "; ".join(expects))
    for method, n in counts.items():
        got = sum(1 for r in results if r["method"] == method)
        if got != n:
            errors.append("count of %s results: got %d, want %d" % (method, got, n))
    texts = [unfold(raw) for _, raw in fields]
    for kind, arg in header_checks:
        if kind == "header" and not any(re.search(arg, t) for t in texts):
            errors.append("want a header field matching /%s/: none" % arg)
        elif kind == "no-header":
            hits = [t for t in texts if re.search(arg, t)]
            if hits:
                errors.append("want no header field matching /%s/, got: %r" % (arg, hits))
        elif kind == "count":
            name, n = arg
            got = sum(1 for fname, _ in fields if fname.lower() == name.lower())
            if got != n:
                errors.append("%s header fields: got %d, want %d" % (name, got, n))
    if signing_wants:
        errors += signing.check(res, signing_wants, outbound.selectors, outbound.nsd_port,
                                outbound.delivered)
    if errors and ars:
        errors.append("delivered Authentication-Results fields:")
        for raw, _ in ars:
            errors += ["  " + l for l in raw.decode("latin-1").split("\r\n")]
    return errors


# ---- main -----------------------------------------------------------------------------
def missing_tools():
    missing = []
    for path, hint in ((SIGNET, "build it: make"), (SIGNER, "SIGNET_SIGNER"),
                       (SIGNET_KEYS, "build it: make")):
        if path == SIGNET and VERIFY_ONLY:
            continue
        if not os.access(path, os.X_OK):
            missing.append("%s (%s)" % (path, hint))
    if not (shutil.which("nsd") or os.access("/usr/sbin/nsd", os.X_OK)):
        missing.append("nsd (apt-get install nsd)")
    if not shutil.which("kdig"):
        missing.append("kdig (apt-get install knot-dnsutils)")
    if not shutil.which("openssl"):
        missing.append("openssl (apt-get install openssl)")
    try:
        import dkim  # noqa: F401
        import nacl.signing  # noqa: F401
    except ImportError as e:
        missing.append("%s for %s (apt-get install python3-dkim python3-nacl)"
                       % (e, sys.executable))
    try:
        import dns.resolver  # noqa: F401
    except ImportError as e:
        missing.append("%s for %s (apt-get install python3-dnspython)"
                       % (e, sys.executable))
    if subprocess.run(["perl", "-MMail::DKIM::Signer", "-MMail::DKIM::Verifier",
                       "-MNet::DNS", "-MCrypt::PK::Ed25519", "-e", "1"],
                      capture_output=True).returncode:
        missing.append("Mail::DKIM/Net::DNS/CryptX (apt-get install libmail-dkim-perl "
                       "libnet-dns-perl libcryptx-perl)")
    if not os.path.isdir(os.path.join(CONFORMANCE, "dkim")):
        missing.append("conformance data %s/dkim (set SIGNET_CONFORMANCE_DIR)" % CONFORMANCE)
    return missing


def case_files(folder):
    return sorted(os.path.join(folder, f) for f in os.listdir(folder)
                  if f.endswith(".case"))


def label(path):
    """FOLDER/NNN-name, how the TAP lines and SIGNET_TEST_ONLY name a case."""
    path = os.path.abspath(path)
    return "%s/%s" % (os.path.basename(os.path.dirname(path)),
                      os.path.basename(path)[:-len(".case")])


def select_cases(argv):
    paths = []
    for folder in FOLDERS:
        if os.path.isdir(os.path.join(DATA_DIR, folder)):
            paths += case_files(os.path.join(DATA_DIR, folder))
    if argv:
        chosen = []
        for a in argv:
            if os.path.isdir(a):
                chosen += case_files(os.path.abspath(a))
            elif os.path.exists(a):
                chosen.append(os.path.abspath(a))
            elif a in FOLDERS:
                chosen += [p for p in paths if label(p).startswith(a + "/")]
            else:
                chosen += [p for p in paths if label(p).startswith(a) or
                           os.path.basename(p).startswith(a)]
        paths = chosen
    only = os.environ.get("SIGNET_TEST_ONLY")
    if only:
        paths = [p for p in paths if re.search(only, label(p))]
    return paths


VERIFY_ONLY = False


def main(argv):
    global VERIFY_ONLY
    if argv[:1] == ["--dkimpy"]:
        VERIFY_ONLY = True
        argv = argv[1:]
    paths = select_cases(argv)
    cases = []
    parse_errors = {}
    for p in paths:
        try:
            cases.append(Case(p))
        except (CaseError, UnicodeDecodeError, ValueError) as e:
            c = object.__new__(Case)
            c.label = label(p)
            c.kind = c.label.split("/")[0]
            cases.append(c)
            parse_errors[c.label] = "case file error: %s" % e
    tmp = tempfile.mkdtemp(prefix="signet-cases.")
    setup_error = None
    missing = missing_tools()
    if missing:
        setup_error = "missing: " + "; ".join(missing)
    keys = signer = None
    if setup_error is None:
        try:
            keys = Keys(os.path.join(tmp, "keys"))
            domains = {s["d"] for c in cases if c.label not in parse_errors
                       for s in c.signs if s["tool"] == "signet"}
            signer = SignetSigner(os.path.join(tmp, "signer"), domains)
        except Exception as e:
            setup_error = "set-up: %s: %s" % (type(e).__name__, e)
    runner = Runner(tmp, keys, signer, signing.KeyPool(tmp, SIGNET_KEYS))
    jobs = int(os.environ.get("SIGNET_TEST_JOBS", "4"))
    failed = {}
    started = time.time()

    def one(c):
        if c.label in parse_errors:
            return [parse_errors[c.label]]
        if setup_error:
            return [setup_error]
        t0 = time.time()
        d = runner.run(c)
        return d, time.time() - t0

    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as ex:
            futures = [ex.submit(one, c) for c in cases]
            for n, (c, fut) in enumerate(zip(cases, futures), 1):
                out = fut.result()
                diag, secs = (out if isinstance(out, tuple) else (out, 0))
                if diag:
                    failed[c.label] = c.kind
                    print("not ok %d - %s" % (n, c.label))
                    for line in diag:
                        for l in str(line).splitlines() or [""]:
                            print("#   " + l)
                else:
                    print("ok %d - %s" % (n, c.label))
                sys.stdout.flush()
    finally:
        if signer:
            signer.stop()
        if os.environ.get("SIGNET_TEST_KEEP"):
            print("# kept %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    for kind in sorted({c.kind for c in cases}):
        total = sum(1 for c in cases if c.kind == kind)
        nfail = sum(1 for k in failed.values() if k == kind)
        print("# %s suite: %d passed, %d failed" % (kind, total - nfail, nfail))
    print("# %d cases in %.0f s" % (len(cases), time.time() - started))
    print("1..%d" % len(cases))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
