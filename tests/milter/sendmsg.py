#!/usr/bin/python3
"""
NAME
    sendmsg.py - send messages through the milter on one connection, report for run.sh

SYNOPSIS
    sendmsg.py -s SOCKET -d OUTDIR [-i CLIENT_IP] [-a AUTH_AUTHEN] [-f MAIL_FROM]
               [-c] MESSAGE_FILE...

DESCRIPTION
    Opens one milter connection (milterclient.Session), connects as CLIENT_IP and sends
    each MESSAGE_FILE as its own transaction.  The delivered message N (1-based) is
    written to OUTDIR/N.eml when the filter let it through.  Prints, per message:

        message N action ACTION
        message N sig HOW A C D S      one per DKIM-Signature the filter added:
                                       HOW is "ins@INDEX" (SMFIR_INSHEADER) or "add"
                                       (SMFIR_ADDHEADER); A, C, D, S the a=, c=, d=, s=
        message N reply TEXT           when the filter sent SMFIR_REPLYCODE

    Exit status 0 unless the protocol itself failed (then 1, reason on stderr).
"""

import argparse
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import milterclient  # noqa: E402


def tags(value):
    """DKIM tag=value list, whitespace removed."""
    out = {}
    for part in re.sub(r"\s+", "", value).split(";"):
        if "=" in part:
            k, v = part.split("=", 1)
            out[k] = v
    return out


def describe(n, res):
    print("message %d action %s" % (n, res.action))
    if res.reply:
        print("message %d reply %s" % (n, res.reply))
    sigs = [("ins@%d" % i, v) for i, name, v in res.inserted
            if name.lower() == "dkim-signature"]
    sigs += [("add", v) for name, v in res.added if name.lower() == "dkim-signature"]
    for how, value in sigs:
        t = tags(value)
        print("message %d sig %s %s %s %s %s" % (n, how, t.get("a", "-"), t.get("c", "-"),
                                                t.get("d", "-"), t.get("s", "-")))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("-s", "--socket", required=True)
    p.add_argument("-d", "--outdir", required=True)
    p.add_argument("-i", "--client-ip", default="127.0.0.1")
    p.add_argument("-a", "--auth", default=None)
    p.add_argument("-f", "--mail-from", default="alice@example.com")
    p.add_argument("-c", "--crlf-body", action="store_true")
    p.add_argument("-t", "--timeout", type=float, default=60.0)
    p.add_argument("messages", nargs="+")
    args = p.parse_args()
    try:
        with milterclient.Session(args.socket, timeout=args.timeout,
                                  body_crlf=args.crlf_body) as s:
            s.connect(args.client_ip, helo="client.signet.test")
            for n, path in enumerate(args.messages, 1):
                with open(path, "rb") as f:
                    data = f.read()
                res = s.message(data, args.mail_from, ["bob@example.net"],
                                auth_authen=args.auth, queue_id="4SIGNET%04d" % n)
                describe(n, res)
                if res.message is not None:
                    with open(os.path.join(args.outdir, "%d.eml" % n), "wb") as f:
                        f.write(res.message)
            print("messages %d" % s.messages)
    except (OSError, milterclient.ProtocolError) as e:
        sys.stderr.write("sendmsg: %s: %s\n" % (type(e).__name__, e))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
