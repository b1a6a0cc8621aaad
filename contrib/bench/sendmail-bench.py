#!/usr/bin/python3
"""
NAME
    sendmail-bench.py - mail through a real Sendmail: no milter, Signet, OpenDKIM (msg/s)

SYNOPSIS
    contrib/bench/sendmail-bench.py [-n 1500] [-c 4] [-s 4096] [--rounds 3] [--warmup 50]
        [--blocks 6] [--builddir DIR] [--signet LABEL=BINARY[@VAR=VALUE]]... [--no-opendkim]
        [--no-null-milter] [--null-burn US] [--no-settle] [--fs ext4]
        [--algorithm rsa|ed25519|both] [--perf DIR]
        [--delivery-mode queue|background|interactive] [--queue-dirs N] [--mc LINE]...

DESCRIPTION
    The Sendmail counterpart of postfix-bench.py, with its options and its output: that
    script's main() runs here with a private Sendmail in place of its private Postfix,
    so the set-ups, the messages, the timing, the checks at the sink and the table are
    the same code.

    Sendmail is set up as in tests/mta/run.sh: Debian's sendmail-bin, sendmail-base and
    sendmail-cf, fetched with "apt-get download" (or taken from $SIGNET_SENDMAIL_DEBS,
    a directory holding the three .deb files) and unpacked with dpkg -x, never installed
    (they conflict with postfix); sendmail.cf built with m4 from an .mc with its own
    queue, pid and status files, "hosts files" as service switch, SMART_HOST the sink;
    run as root with -bD in its own UTS and mount namespaces (unshare), where the host
    name is mta.signet.test (an unqualified one makes Sendmail sleep 60 s at start).

    Each set-up has its own DAEMON_OPTIONS listener whose I= names its one filter,
    declared with MAIL_FILTER; the flags and timeouts (F=, T=) and the
    confMILTER_MACROS_* lines are those of contrib/sendmail/signet.mc, for every milter.
    The no-milter listener has no I= and no InputMailFilters exist, so it has none.

    --delivery-mode (default queue, Sendmail's DeliveryMode): "queue" holds the messages
    in the queue during the timed part, as postfix-bench.py holds Postfix's in its hold
    queue, and a queue run ("sendmail -q" in Sendmail's namespaces) delivers
    them to the sink afterwards, untimed.  "background" forks a delivery per message
    while the clients send (Debian's default); "interactive" delivers before the 250
    after DATA.
    --queue-dirs N (default 1) gives Sendmail N queue directories, queue/q1 .. queue/qN
    (QUEUE_DIR queue/q*), among which it spreads new messages: the sessions then
    contend less for one directory's lock when they create and remove queue files.
    --mc LINE adds a line to the .mc before the MAILER lines (repeatable), to measure
    a Sendmail option: e.g. --mc "define(\`confTO_IDENT', \`0s')dnl".
    The other options are postfix-bench.py's (read it), --deliver excepted; with
    --fs ext4 Sendmail's queue is on the journaled file system.  Figures, not
    assertions.
    Temporary files go under $TMPDIR (default /tmp).
FILES
    contrib/bench/postfix-bench.py, tests/mta/run.sh, contrib/sendmail/signet.mc
"""
import argparse
import importlib.util
import os
import re
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("postfix_bench",
                                               os.path.join(HERE, "postfix-bench.py"))
pfb = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(pfb)

OPTIONS = {"delivery_mode": "queue", "mc": [], "queue_dirs": 1}


def milter_socket(spec):
    """Postfix's notation (unix:PATH, inet:HOST:PORT) in Sendmail's (S=unix:PATH, inet:PORT@HOST)."""
    m = re.match(r"inet:([0-9.]+):([0-9]+)$", spec)
    return "inet:%s@%s" % (m.group(2), m.group(1)) if m else spec


def signet_mc():
    """The F= and T= of contrib/sendmail/signet.mc's filter, and its macro list lines."""
    with open(os.path.join(pfb.TOP, "contrib", "sendmail", "signet.mc")) as f:
        lines = f.read().splitlines()
    flags = None
    for line in lines:
        m = re.match(r"INPUT_MAIL_FILTER\(`signet', `S=[^,]*, (.*)'\)dnl$", line)
        if m:
            flags = m.group(1)
    if flags is None:
        sys.exit("contrib/sendmail/signet.mc has no INPUT_MAIL_FILTER(`signet', `S=..., ...') line")
    return flags, [l for l in lines if l.startswith("define(`confMILTER_MACROS_")]


def sendmail_binary(root):
    debs = os.path.join(root, "debs")
    os.makedirs(debs)
    given = os.environ.get("SIGNET_SENDMAIL_DEBS")
    if given:
        files = [os.path.join(given, f) for f in sorted(os.listdir(given))
                 if re.match(r"sendmail-(bin|base|cf)_.*\.deb$", f)]
    else:
        subprocess.run(["apt-get", "download", "sendmail-bin", "sendmail-base", "sendmail-cf"],
                       cwd=debs, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        files = [os.path.join(debs, f) for f in os.listdir(debs)]
    if len(files) != 3:
        sys.exit("want sendmail-bin, sendmail-base and sendmail-cf .deb files, got %s" % files)
    for f in files:
        subprocess.run(["dpkg", "-x", f, os.path.join(root, "root")], check=True)
    return os.path.join(root, "root", "usr", "libexec", "sendmail", "sendmail")


class Sendmail:
    """A private Sendmail as in tests/mta/run.sh, one listener and one filter per set-up;
    what postfix-bench.py's main() asks of its Postfix."""

    def __init__(self, tmp, sink_port, listeners, deliver):
        if deliver:
            sys.exit("--deliver is postfix-bench.py's only (it needs Postfix's discard "
                     "agent); use --delivery-mode here")
        d = self.dir = os.path.join(tmp, "sendmail")
        queue = os.path.join(d, "queue")
        os.makedirs(queue, mode=0o700)
        if OPTIONS["queue_dirs"] > 1:
            for i in range(1, OPTIONS["queue_dirs"] + 1):
                os.makedirs(os.path.join(queue, "q%d" % i), mode=0o700)
            queue = os.path.join(queue, "q*")
        self.binary = sendmail_binary(d)
        cfdir = os.path.join(d, "root", "usr", "share", "sendmail", "cf")
        flags, macros = signet_mc()
        with open(os.path.join(d, "service.switch"), "w") as f:
            f.write("hosts files\naliases files\n")
        mc = ["divert(-1)", "# Written by contrib/bench/sendmail-bench.py", "divert(0)dnl",
              "OSTYPE(`linux')dnl"]
        for name, value in (
                ("confDOMAIN_NAME", "mta.signet.test"), ("QUEUE_DIR", queue),
                ("confPID_FILE", d + "/sendmail.pid"), ("STATUS_FILE", d + "/statistics"),
                ("confSERVICE_SWITCH_FILE", d + "/service.switch"),
                ("confHOSTS_FILE", "/etc/hosts"), ("ALIAS_FILE", ""), ("confHELP_FILE", ""),
                ("confDONT_PROBE_INTERFACES", "True"),
                # The milters' unix sockets are under /tmp (world-writable, sticky).
                ("confDONT_BLAME_SENDMAIL", "TrustStickyBit"),
                ("confDELIVERY_MODE", OPTIONS["delivery_mode"]),
                # A busy 2-core machine must not make Sendmail queue or refuse mail.
                ("confQUEUE_LA", "1000"), ("confREFUSE_LA", "1000"), ("confDELAY_LA", "0"),
                ("SMART_HOST", "[127.0.0.1]"), ("RELAY_MAILER_ARGS", "TCP $h %d" % sink_port)):
            mc.append("define(`%s', `%s')dnl" % (name, value))
        mc += ["FEATURE(`no_default_msa')dnl", "FEATURE(`nocanonify')dnl",
               "FEATURE(`accept_unresolvable_domains')dnl", "RELAY_DOMAIN(`example.net')dnl"]
        mc += macros
        for i, (port, milter) in enumerate(listeners):
            inputs = ""
            if milter:
                mc.append("MAIL_FILTER(`m%d', `S=%s, %s')dnl" % (i, milter_socket(milter), flags))
                inputs = ", I=m%d" % i
            mc.append("DAEMON_OPTIONS(`Family=inet, Name=MTA%d, Port=%d, Addr=127.0.0.1%s')dnl"
                      % (i, port, inputs))
        mc += OPTIONS["mc"]
        mc.append("MAILER(`smtp')dnl")
        with open(os.path.join(d, "sendmail.mc"), "w") as f:
            f.write("\n".join(mc) + "\n")
        self.cf = os.path.join(d, "sendmail.cf")
        with open(self.cf, "w") as out:
            subprocess.run(["m4", "-D_CF_DIR_=" + cfdir + "/", os.path.join(cfdir, "m4", "cf.m4"),
                            os.path.join(d, "sendmail.mc")], stdout=out, check=True)
        self.log = open(os.path.join(d, "sendmail.out"), "w")
        self.proc = subprocess.Popen(
            ["unshare", "--uts", "--mount", "--propagation", "private", "/bin/sh", "-c",
             'hostname mta.signet.test && exec "$@"', "sh", self.binary, "-C", self.cf, "-bD"],
            stdout=self.log, stderr=self.log, stdin=subprocess.DEVNULL)
        for port, _ in listeners:
            if not pfb.wait_smtp(port, 20):
                self.stop()
                sys.exit("Sendmail does not answer on 127.0.0.1:%d (log in %s)"
                         % (port, self.log.name))

    def flush(self):
        """Queue runs in Sendmail's namespaces (its host name), to their end: four at once,
        each skipping what another holds locked (one alone takes about a minute for 1500
        messages)."""
        runs = [subprocess.Popen(["nsenter", "-t", str(self.proc.pid), "--uts", "--mount",
                                  self.binary, "-C", self.cf, "-q"],
                                 stdout=self.log, stderr=self.log) for _ in range(4)]
        for run in runs:
            run.wait()

    def master_pid(self):
        """The daemon: each SMTP session is a child of it, counted with it."""
        return self.proc.pid

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait()
        time.sleep(1)     # its SMTP children see their clients gone
        self.log.close()  # (with --fs ext4 it is on the file system to unmount)


def main():
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--delivery-mode", choices=("queue", "background", "interactive"),
                   default="queue")
    p.add_argument("--mc", action="append", default=[])
    p.add_argument("--queue-dirs", type=int, default=1)
    args, rest = p.parse_known_args()
    if "-h" in rest or "--help" in rest:
        print(__doc__)
        return
    if os.geteuid() != 0:
        sys.exit("run as root (a private Sendmail needs it)")
    OPTIONS.update(delivery_mode=args.delivery_mode, mc=args.mc,
                   queue_dirs=max(1, args.queue_dirs))
    # A SIGTERM unwinds main()'s finally: the milters, Sendmail and the sink stop too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("stopped by SIGTERM"))
    pfb.Postfix = Sendmail
    sys.argv = [sys.argv[0]] + rest
    sys.stdout = MtaName(sys.stdout)
    pfb.main()


class MtaName:
    """postfix-bench.py's main() says "Postfix" for the MTA in what it prints."""

    def __init__(self, out):
        self.out = out

    def write(self, text):
        return self.out.write(text.replace("Postfix", "Sendmail"))

    def flush(self):
        self.out.flush()


if __name__ == "__main__":
    main()
