#!/usr/bin/python3
"""
NAME
    milterclient.py - the MTA side of the milter protocol (version 6), for tests

SYNOPSIS
    import milterclient
    r = milterclient.run("inet:8891@127.0.0.1", message_bytes, "127.0.0.1",
                         "mta.example", "alice@example.com", ["bob@example.net"],
                         auth_authen=None, queue_id="4ABC123")
    r.action, r.message, r.inserted, r.reply

    with milterclient.Session("unix:/run/signet.sock") as s:
        s.connect("127.0.0.1", helo="mta.example")
        for m in messages:
            r = s.message(m, "alice@example.com", ["bob@example.net"])

    milterclient.py -s inet:8891@127.0.0.1 [-i CLIENT_IP] [-H HELO] [-f FROM]
                    [-r RCPT]... [-a AUTH_AUTHEN] [-q QUEUE_ID] [-n COUNT]
                    [-o OUT] [-v] MESSAGE_FILE|-

DESCRIPTION
    Talks to a mail filter the way Postfix's smtpd/cleanup pair does, written from the
    protocol description in libmilter's mfdef.h:

    - SMFIC_OPTNEG offers protocol version 6, every action and every protocol step; what
      the filter asks to skip (SMFIP_NO*) is not sent, the SMFIP_NR_* steps get no reply
      read, and a macro list the filter sends back replaces ours for that stage.
    - Macros go out before each step, as Postfix's defaults send them: connect {j},
      {daemon_name}, {daemon_addr}, {client_addr}; mail {i}, {auth_authen} (only when
      given), {mail_addr}; rcpt {rcpt_addr}; data, end-of-header and end-of-data {i}.
    - Header values are sent without the one space after the colon (Postfix eats one
      space, not a tab) unless SMFIP_HDR_LEADSPC was negotiated; folded lines are joined
      by a bare LF.  Body bytes are sent as given, in chunks of at most 65535 bytes
      (Postfix itself sends CRLF line endings: body_crlf=True, or -c, does that too).
    - At end of message every modification is read and applied the way Postfix applies
      it: an inserted or added value gets one leading space unless SMFIP_HDR_LEADSPC was
      negotiated, and is split at LF into lines (a CR before the LF stays); SMFIR_CHGHEADER
      counts only headers the filter saw, an empty value deletes.  The delivered message
      has CRLF line endings throughout, as an MTA transmits it.
    - Several messages may go over one connection; between them SMFIC_ABORT is sent, as
      Postfix's smtpd does when a transaction ends.

    The input message may have LF or CRLF line endings; headers end at the first empty
    line (or at the first line that is neither a header nor a continuation).

DIAGNOSTICS
    ProtocolError on anything the filter sends that the protocol does not allow, or when
    the filter closes the connection; socket.timeout when it does not answer in time.
"""

import argparse
import os
import re
import socket
import struct
import sys

# Commands (MTA to filter).
SMFIC_ABORT = b"A"
SMFIC_BODY = b"B"
SMFIC_CONNECT = b"C"
SMFIC_MACRO = b"D"
SMFIC_BODYEOB = b"E"
SMFIC_HELO = b"H"
SMFIC_HEADER = b"L"
SMFIC_MAIL = b"M"
SMFIC_EOH = b"N"
SMFIC_OPTNEG = b"O"
SMFIC_QUIT = b"Q"
SMFIC_QUIT_NC = b"K"
SMFIC_RCPT = b"R"
SMFIC_DATA = b"T"

# Responses (filter to MTA).
SMFIR_ADDRCPT = b"+"
SMFIR_DELRCPT = b"-"
SMFIR_ADDRCPT_PAR = b"2"
SMFIR_SHUTDOWN = b"4"
SMFIR_ACCEPT = b"a"
SMFIR_REPLBODY = b"b"
SMFIR_CONTINUE = b"c"
SMFIR_DISCARD = b"d"
SMFIR_CHGFROM = b"e"
SMFIR_CONN_FAIL = b"f"
SMFIR_ADDHEADER = b"h"
SMFIR_INSHEADER = b"i"
SMFIR_SETSYMLIST = b"l"
SMFIR_CHGHEADER = b"m"
SMFIR_PROGRESS = b"p"
SMFIR_QUARANTINE = b"q"
SMFIR_REJECT = b"r"
SMFIR_SKIP = b"s"
SMFIR_TEMPFAIL = b"t"
SMFIR_REPLYCODE = b"y"

# Protocol flags.
SMFIP_NOCONNECT = 0x00000001
SMFIP_NOHELO = 0x00000002
SMFIP_NOMAIL = 0x00000004
SMFIP_NORCPT = 0x00000008
SMFIP_NOBODY = 0x00000010
SMFIP_NOHDRS = 0x00000020
SMFIP_NOEOH = 0x00000040
SMFIP_NR_HDR = 0x00000080
SMFIP_NOUNKNOWN = 0x00000100
SMFIP_NODATA = 0x00000200
SMFIP_SKIP = 0x00000400
SMFIP_RCPT_REJ = 0x00000800
SMFIP_NR_CONN = 0x00001000
SMFIP_NR_HELO = 0x00002000
SMFIP_NR_MAIL = 0x00004000
SMFIP_NR_RCPT = 0x00008000
SMFIP_NR_DATA = 0x00010000
SMFIP_NR_UNKN = 0x00020000
SMFIP_NR_EOH = 0x00040000
SMFIP_NR_BODY = 0x00080000
SMFIP_HDR_LEADSPC = 0x00100000
SMFI_CURR_PROT = 0x001FFFFF
SMFI_CURR_ACTS = 0x000001FF
SMFI_PROT_VERSION = 6

MILTER_CHUNK_SIZE = 65535
MAX_PACKET = 64 * 1024 * 1024      # refuse anything absurd a broken filter might claim

# Macro stages in the SMFIR_SETSYMLIST part of the OPTNEG reply (SMFIM_*).
STAGE_CODES = {0: "C", 1: "H", 2: "M", 3: "R", 4: "T", 5: "E", 6: "N"}

FINAL_ACTIONS = {
    SMFIR_ACCEPT: "accept", SMFIR_CONTINUE: "continue", SMFIR_REJECT: "reject",
    SMFIR_TEMPFAIL: "tempfail", SMFIR_DISCARD: "discard", SMFIR_REPLYCODE: "replycode",
    SMFIR_SHUTDOWN: "shutdown", SMFIR_CONN_FAIL: "connfail",
}

HEADER_NAME = re.compile(rb"^([\x21-\x39\x3b-\x7e]+)[ \t]*:")


class ProtocolError(Exception):
    pass


class Result:
    """What became of one message.

    action    accept, continue, reject, tempfail, discard, replycode, shutdown, connfail
    stage     the step that decided it: connect, helo, mail, rcpt, data, header, eoh,
              body, eom
    message   the message as the MTA would deliver it (CRLF line endings), None when
              it was not accepted
    inserted  [(index, name, value)] from SMFIR_INSHEADER, value as sent by the filter
    added     [(name, value)] from SMFIR_ADDHEADER
    changed   [(index, name, value)] from SMFIR_CHGHEADER
    reply     the SMFIR_REPLYCODE text, or None
    quarantine  the SMFIR_QUARANTINE reason, or None
    other     [(code, data)] any other modification (recipients, sender, body)
    """

    def __init__(self):
        self.action = None
        self.stage = None
        self.message = None
        self.inserted = []
        self.added = []
        self.changed = []
        self.reply = None
        self.quarantine = None
        self.other = []

    def __repr__(self):
        return ("Result(action=%r, stage=%r, inserted=%r, added=%r, changed=%r, "
                "reply=%r)" % (self.action, self.stage, self.inserted, self.added,
                               self.changed, self.reply))


def parse_socket(spec):
    """inet:PORT@HOST, inet6:PORT@HOST, HOST:PORT, unix:/path, local:/path or /path."""
    if spec.startswith(("unix:", "local:")):
        return socket.AF_UNIX, spec.split(":", 1)[1]
    if spec.startswith("/"):
        return socket.AF_UNIX, spec
    if spec.startswith(("inet:", "inet6:")):
        kind, rest = spec.split(":", 1)
        port, _, host = rest.partition("@")
        host = host or ("::1" if kind == "inet6" else "127.0.0.1")
        family = socket.AF_INET6 if kind == "inet6" else socket.AF_INET
        return family, (host.strip("[]"), int(port))
    host, _, port = spec.rpartition(":")
    host = host.strip("[]")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return family, (host, int(port))


def split_message(data):
    """Returns ([(name, value_lines)], body): value_lines are the raw lines of one header
    without their line endings, the first starting right after the colon."""
    headers = []
    pos = 0
    n = len(data)
    while pos < n:
        end = data.find(b"\n", pos)
        line_end = n if end < 0 else end + 1
        line = data[pos:line_end]
        bare = line.rstrip(b"\n")
        if bare.endswith(b"\r"):
            bare = bare[:-1]
        if bare == b"":
            return headers, data[line_end:]
        if bare[:1] in (b" ", b"\t") and headers:
            headers[-1][1].append(bare)
        else:
            m = HEADER_NAME.match(bare)
            if not m:
                return headers, data[pos:]        # no empty line: body starts here
            headers.append((m.group(1), [bare[m.end():]]))
        pos = line_end
    return headers, b""


def to_crlf(data):
    """Every line ending becomes CRLF (bare LF and CRLF alike)."""
    return re.sub(rb"\r?\n", b"\r\n", data)


class Session:
    """One MTA-to-filter connection; several messages may go over it."""

    def __init__(self, spec, timeout=30.0, trace=None, mta_name="mta.test.signet",
                 daemon_name="smtpd", body_crlf=False):
        self.spec = spec
        self.timeout = timeout
        self.trace = trace
        self.mta_name = mta_name
        self.daemon_name = daemon_name
        self.body_crlf = body_crlf
        self.sock = None
        self._pending = b""
        self.version = None
        self.actions = 0
        self.protocol = 0
        self.symlists = {}
        self.messages = 0
        self.in_transaction = False
        self.conn_verdict = None

    # -- wire ---------------------------------------------------------------------------
    def _log(self, fmt, *args):
        if self.trace:
            self.trace.write("milter: " + (fmt % args) + "\n")

    def _send(self, cmd, data=b""):
        """Packets that get no reply (macros, abort) wait and go out in one write with the
        next command: Postfix's buffered stream sends macros with their command, and
        between two transactions a real MTA waits on its SMTP client, so the filter's ACK
        has long arrived.  Back-to-back small writes here would instead wait on the
        filter's delayed ACK (Nagle on the client side), a stall no real MTA has."""
        if len(data) + 1 > 0xFFFFFFFF:
            raise ProtocolError("packet too large")
        self._log(">> %s %r", cmd.decode(), data[:120])
        packet = struct.pack(">I", len(data) + 1) + cmd + data
        if cmd in (SMFIC_MACRO, SMFIC_ABORT):
            self._pending += packet
            return
        self.sock.sendall(self._pending + packet)
        self._pending = b""

    def _recv_exact(self, n):
        buf = bytearray()
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise ProtocolError("filter closed the connection (wanted %d more bytes)"
                                    % (n - len(buf)))
            buf += chunk
        return bytes(buf)

    def _recv(self):
        (length,) = struct.unpack(">I", self._recv_exact(4))
        if length < 1 or length > MAX_PACKET:
            raise ProtocolError("bad packet length %d" % length)
        packet = self._recv_exact(length)
        self._log("<< %s %r", packet[:1].decode("latin-1"), packet[1:200])
        return packet[:1], packet[1:]

    def _reply(self):
        """One reply to a step, skipping SMFIR_PROGRESS."""
        while True:
            code, data = self._recv()
            if code != SMFIR_PROGRESS:
                return code, data

    # -- negotiation --------------------------------------------------------------------
    def open(self):
        family, addr = parse_socket(self.spec)
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(addr)
        self._send(SMFIC_OPTNEG, struct.pack(">III", SMFI_PROT_VERSION, SMFI_CURR_ACTS,
                                             SMFI_CURR_PROT))
        code, data = self._reply()
        if code != SMFIC_OPTNEG or len(data) < 12:
            raise ProtocolError("bad OPTNEG reply %r %r" % (code, data[:40]))
        self.version, self.actions, self.protocol = struct.unpack(">III", data[:12])
        if self.version < 2 or self.version > SMFI_PROT_VERSION:
            raise ProtocolError("filter speaks protocol version %d" % self.version)
        if self.protocol & ~SMFI_CURR_PROT:
            raise ProtocolError("filter asks for unknown protocol bits 0x%x"
                                % (self.protocol & ~SMFI_CURR_PROT))
        rest = data[12:]
        while len(rest) >= 4:
            (stage,) = struct.unpack(">I", rest[:4])
            end = rest.find(b"\0", 4)
            if end < 0:
                raise ProtocolError("unterminated macro list in OPTNEG reply")
            if stage in STAGE_CODES:
                self.symlists[STAGE_CODES[stage]] = rest[4:end].split()
            rest = rest[end + 1:]
        self._log("negotiated version %d actions 0x%x protocol 0x%x", self.version,
                  self.actions, self.protocol)
        return self

    def __enter__(self):
        return self.open() if self.sock is None else self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        if self.sock is None:
            return
        try:
            self._send(SMFIC_QUIT)
        except OSError:
            pass
        self.sock.close()
        self.sock = None

    def quit_new_connection(self):
        """SMFIC_QUIT_NC: this SMTP connection ends and another follows on the same
        milter connection, with no new negotiation; connect() begins it."""
        self._send(SMFIC_QUIT_NC)

    @property
    def leadspc(self):
        return bool(self.protocol & SMFIP_HDR_LEADSPC)

    # -- steps --------------------------------------------------------------------------
    def _macros(self, stage, macros):
        """Sends the macros that have a value, filtered by the filter's list if any."""
        wanted = self.symlists.get(stage)
        if wanted is not None:
            norm = {w.strip(b"{}") for w in wanted}
            macros = [(k, v) for k, v in macros if k.strip("{}").encode() in norm]
        payload = b"".join(k.encode() + b"\0" + v.encode() + b"\0"
                           for k, v in macros if v is not None)
        if payload:
            self._send(SMFIC_MACRO, stage.encode() + payload)

    def _step(self, cmd, stage_macro, macros, skip_flag, nr_flag, data=b""):
        """Sends a step unless the filter skips it; returns the reply code or None."""
        if self.protocol & skip_flag:
            return None
        if stage_macro is not None:
            self._macros(stage_macro, macros)
        self._send(cmd, data)
        if self.protocol & nr_flag:
            return None
        return self._reply()

    def connect(self, client_ip, helo="client.example", client_name=None, port=25):
        """CONNECT and HELO; family 4/6 from the address, L for a path."""
        if self.sock is None:
            self.open()
        if client_ip.startswith("/"):
            family, addr, port = b"L", client_ip, 0
        elif ":" in client_ip:
            family, addr = b"6", client_ip
        else:
            family, addr = b"4", client_ip
        name = client_name or "[%s]" % client_ip
        data = name.encode() + b"\0" + family + struct.pack(">H", port) + addr.encode() + b"\0"
        macros = [("j", self.mta_name), ("{daemon_name}", self.daemon_name),
                  ("{daemon_addr}", "127.0.0.1"), ("{client_addr}", client_ip),
                  ("{client_name}", name)]
        r = self._step(SMFIC_CONNECT, "C", macros, SMFIP_NOCONNECT, SMFIP_NR_CONN, data)
        if r and r[0] != SMFIR_CONTINUE:
            self.conn_verdict = ("connect",) + r
            return r
        r = self._step(SMFIC_HELO, "H", [], SMFIP_NOHELO, SMFIP_NR_HELO,
                       helo.encode() + b"\0")
        if r and r[0] != SMFIR_CONTINUE:
            self.conn_verdict = ("helo",) + r
        return r

    def message(self, data, mail_from, rcpts, auth_authen=None, queue_id=None, tls=None):
        """One transaction: MAIL .. EOM; returns a Result.  tls: (version, cipher) sent
        as {tls_version} and {cipher} with MAIL (Postfix sends them with HELO and MAIL)."""
        if self.sock is None:
            raise ProtocolError("not connected")
        if self.in_transaction:
            self.abort()
        self.messages += 1
        queue_id = queue_id or "TEST%06X" % self.messages
        res = Result()
        if self.conn_verdict:
            res.stage, code, rdata = self.conn_verdict
            return self._verdict(res, code, rdata, data)
        self.in_transaction = True

        def decided(stage, r):
            if r is None or r[0] == SMFIR_CONTINUE:
                return False
            res.stage = stage
            self._verdict(res, r[0], r[1], data)
            return True

        mail_macros = [("i", queue_id), ("{auth_type}", "PLAIN" if auth_authen else None),
                       ("{auth_authen}", auth_authen), ("{mail_addr}", mail_from),
                       ("{tls_version}", tls[0] if tls else None),
                       ("{cipher}", tls[1] if tls else None)]
        r = self._step(SMFIC_MAIL, "M", mail_macros, SMFIP_NOMAIL, SMFIP_NR_MAIL,
                       b"<" + mail_from.encode() + b">\0")
        if decided("mail", r):
            return res
        accepted_rcpts = 0
        for rcpt in rcpts:
            r = self._step(SMFIC_RCPT, "R", [("{rcpt_addr}", rcpt)], SMFIP_NORCPT,
                           SMFIP_NR_RCPT, b"<" + rcpt.encode() + b">\0")
            if r is None or r[0] == SMFIR_CONTINUE:
                accepted_rcpts += 1
            elif r[0] == SMFIR_ACCEPT:
                return self._verdict(res, r[0], r[1], data, "rcpt")
            else:
                res.other.append(("rcpt-refused", rcpt, r[0], r[1]))
        if rcpts and accepted_rcpts == 0:
            code, rdata = r
            return self._verdict(res, code, rdata, data, "rcpt")
        r = self._step(SMFIC_DATA, "T", [("i", queue_id)], SMFIP_NODATA, SMFIP_NR_DATA)
        if decided("data", r):
            return res

        headers, body = split_message(data)
        for name, lines in headers:
            value = b"\n".join(lines)
            if not self.leadspc and value.startswith(b" "):
                value = value[1:]
            r = self._step(SMFIC_HEADER, None, [], SMFIP_NOHDRS, SMFIP_NR_HDR,
                           name + b"\0" + value + b"\0")
            if decided("header", r):
                return res
        r = self._step(SMFIC_EOH, "N", [("i", queue_id)], SMFIP_NOEOH, SMFIP_NR_EOH)
        if decided("eoh", r):
            return res
        if not self.protocol & SMFIP_NOBODY:
            if self.body_crlf:
                body = to_crlf(body)
            for off in range(0, len(body), MILTER_CHUNK_SIZE):
                r = self._step(SMFIC_BODY, None, [], 0, SMFIP_NR_BODY,
                               body[off:off + MILTER_CHUNK_SIZE])
                if r is not None and r[0] == SMFIR_SKIP:
                    break
                if decided("body", r):
                    return res
        self._macros("E", [("i", queue_id)])
        self._send(SMFIC_BODYEOB)
        res.stage = "eom"
        mods = []
        while True:
            code, rdata = self._reply()
            if code in FINAL_ACTIONS:
                break
            mods.append((code, rdata))
        self._verdict(res, code, rdata, None)
        if res.action in ("accept", "continue"):
            res.message = self._apply(headers, body, mods, res)
        else:
            self._record(mods, res)
        return res

    def abort(self):
        """Ends the transaction as Postfix's smtpd does: SMFIC_ABORT, no reply."""
        self._send(SMFIC_ABORT)
        self.in_transaction = False

    def _verdict(self, res, code, rdata, original, stage=None):
        if stage:
            res.stage = stage
        if code not in FINAL_ACTIONS:
            raise ProtocolError("unexpected reply %r at %s" % (code, res.stage))
        res.action = FINAL_ACTIONS[code]
        if code == SMFIR_REPLYCODE:
            res.reply = rdata.rstrip(b"\0").decode("latin-1")
            if res.reply[:1] == "2":
                res.action = "accept"
            elif res.reply[:1] == "4":
                res.action = "tempfail"
            else:
                res.action = "reject"
        if res.action in ("accept", "continue") and original is not None:
            headers, body = split_message(original)
            res.message = self._apply(headers, body, [], res)
        return res

    # -- applying modifications ---------------------------------------------------------
    def _record(self, mods, res):
        for code, data in mods:
            if code == SMFIR_INSHEADER:
                index = struct.unpack(">I", data[:4])[0]
                name, value = data[4:].split(b"\0")[:2]
                res.inserted.append((index, name.decode("latin-1"), value.decode("latin-1")))
            elif code == SMFIR_ADDHEADER:
                name, value = data.split(b"\0")[:2]
                res.added.append((name.decode("latin-1"), value.decode("latin-1")))
            elif code == SMFIR_CHGHEADER:
                index = struct.unpack(">I", data[:4])[0]
                name, value = data[4:].split(b"\0")[:2]
                res.changed.append((index, name.decode("latin-1"), value.decode("latin-1")))
            elif code == SMFIR_QUARANTINE:
                res.quarantine = data.rstrip(b"\0").decode("latin-1")
            else:
                res.other.append((code.decode("latin-1"), data))

    def _delivered_value(self, value):
        """A filter-supplied header value as the MTA writes it (after the colon)."""
        if not self.leadspc:
            value = b" " + value
        return value

    def _apply(self, headers, body, mods, res):
        # Each header as (name, raw value after the colon with lines joined by LF,
        # seen_by_filter).
        hdrs = [[name, b"\n".join(lines), True] for name, lines in headers]
        self._record(mods, res)
        new_body = None
        for code, data in mods:
            if code == SMFIR_INSHEADER:
                index = struct.unpack(">I", data[:4])[0]
                name, value = data[4:].split(b"\0")[:2]
                hdrs.insert(min(index, len(hdrs)),
                            [name, self._delivered_value(value), False])
            elif code == SMFIR_ADDHEADER:
                name, value = data.split(b"\0")[:2]
                hdrs.append([name, self._delivered_value(value), False])
            elif code == SMFIR_CHGHEADER:
                index = struct.unpack(">I", data[:4])[0]
                name, value = data[4:].split(b"\0")[:2]
                self._change(hdrs, index, name, value)
            elif code == SMFIR_REPLBODY:
                new_body = (new_body or b"") + data
        if new_body is not None:
            body = new_body
        out = bytearray()
        for name, value, _ in hdrs:
            if value is None:
                continue
            # Postfix splits at LF; a CR before that LF stays in the line.
            out += name + b":" + b"\r\n".join(value.split(b"\n")) + b"\r\n"
        out += b"\r\n"
        out += to_crlf(body)
        return bytes(out)

    def _change(self, hdrs, index, name, value):
        """SMFIR_CHGHEADER: index counts (from 1) the headers of that name the filter
        saw; an empty value deletes; no such header adds one."""
        seen = 0
        for h in hdrs:
            if h[2] and h[0].lower() == name.lower():
                seen += 1
                if seen == index:
                    h[1] = self._delivered_value(value) if value else None
                    return
        if value:
            hdrs.append([name, self._delivered_value(value), False])


def run(spec, message, client_ip, helo, mail_from, rcpts, auth_authen=None,
        queue_id="4TEST0001", timeout=30.0, trace=None, body_crlf=False):
    """One connection, one message: returns the Result."""
    with Session(spec, timeout=timeout, trace=trace, body_crlf=body_crlf) as s:
        s.connect(client_ip, helo=helo)
        return s.message(message, mail_from, rcpts, auth_authen=auth_authen,
                         queue_id=queue_id)


def main(argv=None):
    p = argparse.ArgumentParser(description="Send a message through a milter like "
                                "Postfix does; print the verdict, write the result.")
    p.add_argument("-s", "--socket", required=True,
                   help="inet:PORT@HOST, HOST:PORT, unix:/path")
    p.add_argument("-i", "--client-ip", default="127.0.0.1")
    p.add_argument("-H", "--helo", default="client.example")
    p.add_argument("-f", "--from", dest="mail_from", default="sender@example.com")
    p.add_argument("-r", "--rcpt", action="append", default=None)
    p.add_argument("-a", "--auth", dest="auth_authen", default=None,
                   help="value of {auth_authen}")
    p.add_argument("-q", "--queue-id", default="4TEST0001")
    p.add_argument("-n", "--count", type=int, default=1,
                   help="send the message this many times over one connection")
    p.add_argument("-o", "--output", help="write the delivered message here "
                   "(the last one, with -n)")
    p.add_argument("-c", "--crlf-body", action="store_true",
                   help="send body line endings as CRLF, as Postfix does")
    p.add_argument("-t", "--timeout", type=float, default=30.0)
    p.add_argument("-v", "--verbose", action="store_true", help="trace the protocol")
    p.add_argument("message", help="message file, or - for standard input")
    args = p.parse_args(argv)

    data = sys.stdin.buffer.read() if args.message == "-" else open(args.message, "rb").read()
    rcpts = args.rcpt or ["rcpt@example.net"]
    trace = sys.stderr if args.verbose else None
    status = 0
    with Session(args.socket, timeout=args.timeout, trace=trace,
                 body_crlf=args.crlf_body) as s:
        s.connect(args.client_ip, helo=args.helo)
        for n in range(args.count):
            qid = args.queue_id if args.count == 1 else "%s%04d" % (args.queue_id, n + 1)
            r = s.message(data, args.mail_from, rcpts, auth_authen=args.auth_authen,
                          queue_id=qid)
            print("message %d: action=%s stage=%s" % (s.messages, r.action, r.stage))
            if r.reply:
                print("  reply: %s" % r.reply)
            for index, name, value in r.inserted:
                print("  inserted at %d: %s: %s" % (index, name, value.replace("\n", "\\n")))
            for name, value in r.added:
                print("  added: %s: %s" % (name, value.replace("\n", "\\n")))
            for index, name, value in r.changed:
                print("  changed %s[%d]: %s" % (name, index, value.replace("\n", "\\n")))
            if r.quarantine:
                print("  quarantine: %s" % r.quarantine)
            if r.action not in ("accept", "continue"):
                status = 1
            if r.message is not None and args.output:
                with open(args.output, "wb") as f:
                    f.write(r.message)
    return status


if __name__ == "__main__":
    sys.exit(main())
