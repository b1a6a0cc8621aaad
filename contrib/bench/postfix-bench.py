#!/usr/bin/python3
"""
NAME
    postfix-bench.py - mail through a real Postfix: no milter, Signet, OpenDKIM (msg/s)

SYNOPSIS
    contrib/bench/postfix-bench.py [-n 1500] [-c 4] [-s 4096] [--rounds 3] [--warmup 50]
        [--blocks 6] [--builddir DIR] [--signet LABEL=BINARY[@VAR=VALUE]]... [--no-opendkim]
        [--no-null-milter] [--null-burn US] [--null-steps answered|mail|minimal]...
        [--no-settle] [--deliver]
        [--algorithm rsa|ed25519|both] [--fs ext4] [--perf DIR]

DESCRIPTION
    Starts, on loopback, in one temporary directory: an SMTP sink (tests/mta/smtpsink.py),
    a private Postfix (postfix -c DIR, every service unchrooted, main.cf as in
    tests/mta/run.sh with the milter lines of contrib/postfix/main.cf), and one smtpd
    listener per set-up, each with its own smtpd_milters:

      no milter;  each Signet on a unix socket and on an inet socket;
      Debian's OpenDKIM on inet and unix (installed with apt-get when missing);
      contrib/bench/nullmilter on unix and inet: a milter on Signet's engine that takes
      Signet's steps and does no work, the floor under any milter here (left out with
      --no-null-milter; a build with libmilter has none, and says so);
      no milter again, last (the calibration: two equal set-ups).

    Each round starts every set-up's milter, then sends each set-up's N messages of
    about S bytes in B blocks (--blocks, default 6), the set-ups taking turns block by
    block, in the opposite order every other block and every other round: a drift of
    the machine's speed within a round then falls on every set-up alike.  Before its
    first block each set-up gets W messages untimed (--warmup: the first connections,
    the key's first use).  A block's messages are sent from 127.0.0.1 (InternalHosts:
    outbound, signed) over C SMTP sessions at once, and the time from the first
    connection to the last "250" after DATA is taken: Postfix runs the milter inside
    the SMTP transaction, so this is the rate at which Postfix accepts mail with the
    milter attached.  Each accepted message goes to Postfix's hold queue
    (smtpd_end_of_data_restrictions: HOLD for every client), so nothing is delivered
    during the timed part; after each block the held messages are released and
    delivered to the sink (postsuper -H ALL, postqueue -f), untimed.  (Until this,
    defer_transports = smtp held them, but a flush lifts that for a while in qmgr:
    perf found Postfix's smtp clients delivering during the next timed part, a third
    of the samples with no milter.)  Every message must
    then reach the sink with a DKIM-Signature (none for "no milter"), or the set-up's
    figure for the round is marked FAILED.  A set-up's rate in a round is its N
    messages over the sum of its blocks' times; its CPU figures are summed likewise.

    The machine's speed drifts: a Python client doing the same work used 0.26 to 0.50 ms
    of CPU a message in rounds of one run.  So the ratios are also given round by round,
    and "no milter again" against "no milter" shows how far two equal set-ups fall apart
    in this run: a ratio is worth no more than that spread.

    Prints msg/s per set-up and round, the median of the rounds, and for each Signet the
    ratios inet/unix and Signet/no-milter, of the medians and, paired round by round,
    the median of each round's ratio, and Signet against the null milter; and the CPU
    time per message of the whole Postfix (master and every process under it: smtpd,
    cleanup, qmgr...) and of the milter's process tree during the timed part, and of
    this script's SMTP client (Python, in this process), and how busy all the machine's
    cores were (from /proc/stat): through Postfix on a machine this size the rate is
    bound by CPU, so what the milter protocol costs Postfix shows there.  Figures, not
    assertions.

    --deliver measures mail through Postfix from end to end instead: nothing is held,
    the timed messages go to a domain whose transport is Postfix's discard agent
    (discard.signet.test), and a block's time runs until the last of them has left the
    queue (incoming, active, deferred, hold and maildrop all empty, looked at every
    10 ms).  That is acceptance and delivery, with the cheapest delivery Postfix has: an
    operator's steady rate, where a real next hop costs Postfix more than this (an smtp
    client, often TLS), so the milter's share here is at its largest.  The DKIM
    signatures are then checked on 3 more messages per block, sent to the sink untimed.

    --fs ext4 puts Postfix's queue and the sink's files on a file system of their own:
    a fresh ext4 with a journal (mkfs.ext4's defaults, as an MTA's spool usually has),
    in a 4 GiB file of the temporary directory mounted through a loop device, unmounted
    at the end.  Without it they are in the temporary directory's file system as it
    is.  (The machine the figures in RESULTS.md come from has an ext4 without a journal
    there; on such a file system creating a file checks, inode by inode, whether it was
    deleted in the last minute (ext4's recently_deleted()), and perf found that at up to
    10 % of all samples in some blocks and none in others: the queue files of the block
    before, just delivered and deleted.)

    --algorithm says which keys Signet signs with: RSA-2048 (the default, as OpenDKIM
    here), Ed25519, or both (two signatures a message).  OpenDKIM always signs with
    the RSA key.

    --null-burn US makes the null milter spin for US microseconds of CPU at end of
    message before it answers (NULLMILTER_BURN_US): set to what Signet costs beyond the
    null milter, it tells what Postfix pays for sharing the cores with a milter's work
    from what it pays for Signet's answers.

    --null-steps answered|mail|minimal adds another null milter (repeatable),
    labelled so, run with NULLMILTER_STEPS set to that (contrib/bench/nullmilter.c):
    the usual null milter answers end of message only, as Signet does by default;
    "answered" also answers MAIL, RCPT and end of headers (as Signet did before
    22e98b9), "mail" MAIL (as at 22e98b9, and as with RateLimits, which answer RCPT
    too), "minimal" skips RCPT, DATA and end of headers ("noreply", accepted for the
    commands of RESULTS.md, is now the usual one).  Against the null milter in the same
    run, it tells what the MTA pays or saves with a milter that makes it wait more often
    or less.

    While waiting for a block's mail at the sink the script flushes the queue again
    every 10 s: a message the sink did not take at once (deferred) is retried at once
    instead of an hour later in the next block's count.

    Before each timed part the file systems are synced and the script waits a second
    (--no-settle leaves that out): the queue run and the sink's files of the set-up
    before, and the warm-up's queue files, are then written back, so their writeback and
    journal commits do not fall into the timed part, where an MTA's fsync would wait
    for them.

    --signet LABEL=BINARY[@VAR=VALUE] adds a Signet (repeatable; default: one, "signet",
    the build at --builddir).  VAR=VALUE is put into that Signet's environment: a bench
    build can select code variants that way.  With several, each after the first is
    also given against the first, paired round by round (two builds, before and after).
    --perf DIR records each set-up's timed blocks with "perf record -a -g" (the whole
    machine, 499 samples a second) into DIR/rROUND-bBLOCK-LABEL.data, for "perf report
    -i FILE --comm sendmail" and the like; the rates of such a run are lower and are
    not for comparing.
FILES
    tests/mta/run.sh (the Postfix set-up this copies), contrib/bench/RESULTS.md
"""
import argparse
import atexit
import os
import shutil
import signal
import smtplib
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
from proctree import cpu_seconds  # noqa: E402
DOMAIN = "out.signet.test"
DISCARDED = "bob@discard.signet.test"     # --deliver: the timed messages' recipient
CHECKED = 3                               # --deliver: messages per block checked at the sink
CALIBRATION = "no milter again"
NULL = "null milter"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_smtp(port, seconds):
    end = time.time() + seconds
    while time.time() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
                if s.recv(512).startswith(b"220"):
                    s.sendall(b"QUIT\r\n")
                    return True
        except OSError:
            pass
        time.sleep(0.1)
    return False


def wait_milter(spec, proc, seconds=10):
    end = time.time() + seconds
    while time.time() < end:
        if proc.poll() is not None:
            return False
        try:
            if spec.startswith("unix:"):
                s = socket.socket(socket.AF_UNIX)
                s.connect(spec[5:])
            else:
                s = socket.create_connection(("127.0.0.1", int(spec[5:].split("@")[0])), 1)
            s.close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def start_milter(label, cmd, env, spec, log, tries=3):
    """The milter of a set-up, listening on spec.  A daemon that does not come up is given
    two more tries, 2 s apart (OpenDKIM over TCP once did not, in the third round of a
    Sendmail run; its log was not kept, and the set-up's port is the same each round)."""
    for attempt in range(1, tries + 1):
        proc = subprocess.Popen(cmd, env=dict(os.environ, **env), stdout=log, stderr=log)
        if wait_milter(spec, proc):
            return proc
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        print("%s did not start (try %d of %d; log in %s)" % (label, attempt, tries, log.name),
              file=sys.stderr, flush=True)
        time.sleep(2)
    sys.exit("%s did not start (log in %s)" % (label, log.name))


class Postfix:
    """A private Postfix as in tests/mta/run.sh, one smtpd per set-up."""

    def __init__(self, tmp, sink_port, listeners, deliver):
        self.dir = os.path.join(tmp, "postfix")
        self.etc = os.path.join(self.dir, "etc")
        os.makedirs(self.etc)
        os.makedirs(os.path.join(self.dir, "queue"))
        os.makedirs(os.path.join(self.dir, "data"))
        shutil.chown(os.path.join(self.dir, "data"), "postfix")
        with open(os.path.join(TOP, "contrib", "postfix", "main.cf")) as f:
            contrib = [l for l in f.read().splitlines()
                       if l.startswith(("milter_protocol", "milter_mail_macros"))]
        d = self.dir
        with open(os.path.join(self.etc, "main.cf"), "w") as f:
            f.write("""# Written by contrib/bench/postfix-bench.py
compatibility_level = 3.6
queue_directory = {d}/queue
data_directory = {d}/data
mail_owner = postfix
setgid_group = postdrop
maillog_file = {d}/maillog
maillog_file_prefixes = {d}
myhostname = mta.signet.test
mydomain = signet.test
myorigin = $myhostname
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
local_transport = error:no local delivery here
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.1/32
relay_domains = example.net
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
relayhost = [127.0.0.1]:{sink}
smtp_host_lookup = native
smtpd_peername_lookup = no
smtputf8_enable = no
biff = no
{hold}
transport_maps = inline:{{discard.signet.test=discard:}}
queue_run_delay = 1h
milter_default_action = tempfail
{contrib}
""".format(d=d, sink=sink_port, contrib="\n".join(contrib),
           hold="" if deliver else "smtpd_end_of_data_restrictions = check_client_access "
           "static:HOLD"))
        with open(os.path.join(self.etc, "master.cf"), "w") as f:
            f.write("# Written by contrib/bench/postfix-bench.py: no chroot\n")
            for port, milter in listeners:
                f.write("127.0.0.1:%d inet n - n - - smtpd\n  -o smtpd_milters=%s\n"
                        % (port, milter))
            with open(os.path.join(TOP, "tests", "mta", "postfix-services.cf")) as services:
                f.write(services.read())
        open(os.path.join(d, "maillog"), "w").close()
        subprocess.run(["postfix", "-c", self.etc, "start"], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for port, _ in listeners:
            if not wait_smtp(port, 15):
                sys.exit("Postfix does not answer on 127.0.0.1:%d" % port)

    def flush(self):
        """Releases the held messages and delivers them now."""
        subprocess.run(["postsuper", "-c", self.etc, "-H", "ALL"], check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        subprocess.run(["postqueue", "-c", self.etc, "-f"], check=False)

    def queued(self):
        """How many messages are in the queue (not yet delivered or discarded)."""
        n = 0
        for sub in ("maildrop", "incoming", "active", "deferred", "hold"):
            for _, _, files in os.walk(os.path.join(self.dir, "queue", sub)):
                n += len(files)
        return n

    def master_pid(self):
        with open(os.path.join(self.dir, "queue", "pid", "master.pid")) as f:
            return int(f.read().split()[0])

    def stop(self):
        subprocess.run(["postfix", "-c", self.etc, "stop"], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        time.sleep(1)


def wait_delivered(sink_dir, n, mta=None):
    """The sink's messages once it has n (or after 120 s); then 1 s more for strays.
    Every 10 s of waiting the queue is flushed again (mta.flush): a message the sink
    did not take at once is retried now, not in the next block."""
    end = time.time() + 120
    reflush = time.time() + 10
    while time.time() < end:
        if len([f for f in os.listdir(sink_dir) if f.endswith(".eml")]) >= n:
            time.sleep(1)
            break
        if mta and time.time() >= reflush:
            mta.flush()
            reflush = time.time() + 10
        time.sleep(0.2)
    return [f for f in os.listdir(sink_dir) if f.endswith(".eml")]


def is_signed(path):
    with open(path, "rb") as f:
        head = f.read().split(b"\r\n\r\n", 1)[0]
    return (b"\r\n" + head).find(b"\r\nDKIM-Signature:") >= 0 and b"d=" + DOMAIN.encode() in head


def machine_cpu():
    """(busy, total) jiffies of all cores so far, from /proc/stat (busy: not idle or
    iowait)."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    return sum(fields) - fields[3] - fields[4], sum(fields)


def send_all(port, message, n, sessions, rcpt="bob@example.net", until=None):
    """Sends n messages to rcpt over `sessions` SMTP sessions at once; returns the
    seconds until the last is accepted (and then until until() is true, looked at
    every 10 ms), or raises."""
    per = [n // sessions + (1 if i < n % sessions else 0) for i in range(sessions)]
    errors = []
    barrier = threading.Barrier(sessions + 1)

    def session(count):
        try:
            barrier.wait()
            with smtplib.SMTP("127.0.0.1", port, source_address=("127.0.0.1", 0),
                              timeout=120) as s:
                s.ehlo("client.signet.test")
                for _ in range(count):
                    s.sendmail("alice@" + DOMAIN, [rcpt], message)
        except Exception as e:   # noqa: BLE001 -- reported below
            errors.append(repr(e))

    threads = [threading.Thread(target=session, args=(c,)) for c in per]
    for t in threads:
        t.start()
    barrier.wait()
    start = time.monotonic()
    for t in threads:
        t.join()
    while until and not errors and not until():
        if time.monotonic() - start > 300:
            errors.append("not delivered after 300 s")
        time.sleep(0.01)
    elapsed = time.monotonic() - start
    if errors:
        raise RuntimeError("; ".join(errors[:3]))
    return elapsed


def settle():
    """Writes back what is dirty in the file systems and waits a second: an MTA's
    fsync in the timed part must not wait for what the set-up before left behind."""
    os.sync()
    time.sleep(1)


class Block:
    """What a set-up's timed blocks of one round add up to."""

    def __init__(self):
        self.secs = self.mta_cpu = self.milter_cpu = self.client_cpu = 0.0
        self.busy_jiffies = self.all_jiffies = 0
        self.status = ""

    def add(self, other):
        for name in ("secs", "mta_cpu", "milter_cpu", "client_cpu", "busy_jiffies",
                     "all_jiffies"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        if other.status and not self.status:
            self.status = other.status


def run_block(mta, port, milter, message, count, warmup, sessions, sink_dir, signs,
              settle_first, perf, deliver):
    """One timed block of a set-up: warmup messages untimed, then count timed, then the
    queue delivered to the sink, where each must arrive (signed when signs is 1).  With
    deliver, the warm-up and the timed messages are discarded by Postfix, the time runs
    until the queue is empty, and CHECKED more messages go to the sink untimed."""
    b = Block()
    # With deliver: to the discarding domain, and until the queue is empty.
    discarded = (DISCARDED, lambda: not mta.queued()) if deliver else ()
    for f in os.listdir(sink_dir):
        os.unlink(os.path.join(sink_dir, f))
    try:
        if warmup:
            send_all(port, message, warmup, sessions, *discarded)
    except RuntimeError as e:
        b.status = " FAILED in the warm-up: " + str(e)
    if settle_first:
        settle()
    recorder = perf_start(*perf)
    try:
        master = mta.master_pid()
        cpu0 = (cpu_seconds(master), cpu_seconds(milter.pid) if milter else 0.0)
        machine0, client0 = machine_cpu(), os.times()
        try:
            b.secs = send_all(port, message, count, sessions, *discarded)
        except RuntimeError as e:
            b.status = " FAILED: " + str(e)
        b.mta_cpu = cpu_seconds(master) - cpu0[0]
        b.milter_cpu = (cpu_seconds(milter.pid) - cpu0[1]) if milter else 0.0
        machine1, client1 = machine_cpu(), os.times()
        b.busy_jiffies = machine1[0] - machine0[0]
        b.all_jiffies = machine1[1] - machine0[1]
        b.client_cpu = client1.user + client1.system - client0.user - client0.system
    finally:
        if recorder:
            perf_stop(recorder)
    total = count + warmup
    if deliver:
        total = CHECKED
        try:
            send_all(port, message, total, 1)
        except RuntimeError as e:
            b.status += " FAILED in the check: " + str(e)
    mta.flush()
    got = wait_delivered(sink_dir, total, mta)
    signed = sum(1 for f in got if is_signed(os.path.join(sink_dir, f)))
    if len(got) != total or signed != total * signs:
        b.status += " FAILED: %d delivered, %d signed, want %d and %d" % (
            len(got), signed, total, total * signs)
    return b


def perf_start(directory, rnd, block, label):
    """--perf: "perf record" of the whole machine, call graphs, while a set-up's timed
    block runs; None without --perf."""
    if not directory:
        return None
    os.makedirs(directory, exist_ok=True)
    out = os.path.join(directory, "r%d-b%d-%s.data" % (rnd, block + 1,
                                                       label.replace(" ", "-")))
    proc = subprocess.Popen(["perf", "record", "-a", "-g", "-F", "499", "-o", out],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)      # perf is recording before the first timed message
    return proc


def perf_stop(proc):
    """perf writes its file on SIGINT."""
    proc.send_signal(signal.SIGINT)
    proc.wait()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("-n", "--messages", type=int, default=1500)
    p.add_argument("-c", "--sessions", type=int, default=4)
    p.add_argument("-s", "--size", type=int, default=4096)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--warmup", type=int, default=50)
    p.add_argument("--builddir", default=TOP)
    p.add_argument("--signet", action="append", default=[])
    p.add_argument("--no-opendkim", action="store_true")
    p.add_argument("--no-null-milter", action="store_true")
    p.add_argument("--null-burn", type=int, default=0, metavar="US")
    p.add_argument("--null-steps", action="append", default=[],
                   choices=("answered", "mail", "noreply", "minimal"))
    p.add_argument("--deliver", action="store_true")
    p.add_argument("--fs", choices=("ext4",))
    p.add_argument("--algorithm", choices=("rsa", "ed25519", "both"), default="rsa")
    p.add_argument("--blocks", type=int, default=6)
    p.add_argument("--no-settle", action="store_true")
    p.add_argument("--perf", metavar="DIR")
    args = p.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root (a private Postfix needs it)")
    if args.perf and shutil.which("perf") is None:
        sys.exit("--perf needs perf (Debian: apt-get install linux-perf)")
    if not args.no_opendkim and shutil.which("opendkim") is None:
        subprocess.run(["apt-get", "install", "-y", "-q", "--no-install-recommends", "opendkim"],
                       check=True, env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
    signets = []
    for spec in args.signet or ["signet=" + os.path.join(args.builddir, "milter", "signet")]:
        label, _, rest = spec.partition("=")
        binary, _, env = rest.partition("@")
        signets.append((label, binary, dict([env.split("=", 1)]) if env else {}))

    tmp = tempfile.mkdtemp(prefix="signet-pfbench-")
    os.chmod(tmp, 0o755)     # Postfix's daemons run as user postfix
    keys = os.path.join(tmp, "keys")
    spool = tmp
    if args.fs == "ext4":
        spool = mount_ext4(tmp)
    keys_tool = os.path.join(args.builddir, "keys", "signet-keys")
    # OpenDKIM signs with the RSA key, Signet with what --algorithm says.
    for algorithm, selector in (("rsa-2048", "rsa1"), ("ed25519", "ed1")):
        made = subprocess.run([keys_tool, "-k", keys, "generate", DOMAIN, "-s", selector,
                               "-a", algorithm], capture_output=True, text=True,
                              check=True).stdout.strip()
        if algorithm == "rsa-2048":
            sel = made
        if args.algorithm in (algorithm.split("-")[0], "both"):
            subprocess.run([keys_tool, "-k", keys, "activate", DOMAIN, made, "--force"],
                           capture_output=True, check=True)

    line = "The quick brown fox jumps over the lazy dog, again and again and again.\r\n"
    head = ("From: Alice <alice@%s>\r\nTo: Bob <bob@example.net>\r\nSubject: bench\r\n"
            "Date: Fri, 27 Nov 2026 07:00:00 +0000\r\nMessage-ID: <bench@%s>\r\n"
            "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
            % (DOMAIN, DOMAIN))
    message = head + line * max(1, (args.size - len(head)) // len(line))

    sink_dir = os.path.join(spool, "sink")
    os.makedirs(sink_dir)
    sink = subprocess.Popen([sys.executable, os.path.join(TOP, "tests", "mta", "smtpsink.py"),
                             sink_dir, os.path.join(tmp, "sink.port")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(50):
        if os.path.exists(os.path.join(tmp, "sink.port")):
            break
        time.sleep(0.1)
    sink_port = int(open(os.path.join(tmp, "sink.port")).read())

    # (label, command or None, environment, socket for the milter, socket for Postfix)
    setups = [("no milter", None, None, None, None)]

    def signet_setup(label, binary, env, kind):
        name = "%s-%s" % (label, kind)
        if kind == "unix":
            spec = "unix:%s/%s.sock" % (tmp, name)
            pf = spec
        else:
            port = free_port()
            spec, pf = "inet:%d@127.0.0.1" % port, "inet:127.0.0.1:%d" % port
        conf = os.path.join(tmp, name + ".conf")
        with open(conf, "w") as f:
            f.write("Socket %s\nSocketMode 0666\nKeystore %s\nInternalHosts 127.0.0.1\n"
                    "LogLevel warning\n" % (spec, keys))
        setups.append(("%s %s" % (label, kind), [binary, "-c", conf, "-f"], env, spec, pf))

    for label, binary, env in signets:
        for kind in ("unix", "inet"):
            signet_setup(label, binary, env, kind)
    compared = signets + ([] if args.no_opendkim else [("opendkim", None, None)])
    null = os.path.join(args.builddir, "contrib", "bench", "nullmilter")
    if not args.no_null_milter and not os.path.exists(null):
        print("(no null milter: %s is missing; a build with libmilter has none)" % null)
    elif not args.no_null_milter:
        for steps in [None] + args.null_steps:
            label = NULL if steps is None else "%s %s" % (NULL, steps)
            env = {"NULLMILTER_BURN_US": str(args.null_burn)}
            if steps is not None:
                env["NULLMILTER_STEPS"] = steps
            for kind in ("unix", "inet"):
                port = free_port()
                spec, pf = (("unix:%s/%s.sock" % (tmp, label.replace(" ", "-")),) * 2
                            if kind == "unix" else
                            ("inet:%d@127.0.0.1" % port, "inet:127.0.0.1:%d" % port))
                setups.append((label + " " + kind, [null, spec], env, spec, pf))
            compared.append((label, None, None))
    if not args.no_opendkim:
        for kind in ("unix", "inet"):
            if kind == "unix":
                spec = "local:%s/opendkim.sock" % tmp
                pf, wait = "unix:%s/opendkim.sock" % tmp, "unix:%s/opendkim.sock" % tmp
            else:
                port = free_port()
                spec = "inet:%d@127.0.0.1" % port
                pf, wait = "inet:127.0.0.1:%d" % port, spec
            conf = os.path.join(tmp, "opendkim-%s.conf" % kind)
            with open(conf, "w") as f:
                f.write("Syslog no\nMode sv\nDomain %s\nSelector %s\nKeyFile %s/%s/%s.key\n"
                        "Socket %s\nUMask 000\nInternalHosts 127.0.0.1\n"
                        "Canonicalization relaxed/relaxed\nRequireSafeKeys no\nUserID root\n"
                        % (DOMAIN, sel, keys, DOMAIN, sel, spec))
            setups.append(("opendkim " + kind, ["opendkim", "-f", "-x", conf], {}, wait, pf))
    setups.append((CALIBRATION, None, None, None, None))

    listeners = []
    for s in setups:
        listeners.append((free_port(), s[4] or ""))
    postfix = Postfix(spool, sink_port, listeners, args.deliver)

    results = {s[0]: [] for s in setups}
    cpus = {s[0]: [] for s in setups}
    blocks = max(1, min(args.blocks, args.messages))
    block_sizes = [args.messages // blocks + (1 if i < args.messages % blocks else 0)
                   for i in range(blocks)]
    running = []
    send_all(listeners[0][0], message, 40, args.sessions)    # warm-up, untimed
    postfix.flush()
    wait_delivered(sink_dir, 40, postfix)
    try:
        for rnd in range(1, args.rounds + 1):
            order = list(zip(setups, listeners))[::1 if rnd % 2 else -1]
            procs, done = {}, {}
            for (label, cmd, env, spec, _), _ in order:
                if cmd:
                    log = open(os.path.join(tmp, label.replace(" ", "-") + ".log"), "a")
                    procs[label] = start_milter(label, cmd, env, spec, log)
                    running.append(procs[label])
                done[label] = Block()
            for block, count in enumerate(block_sizes):
                for (label, cmd, _, _, _), (port, _) in order[::1 if block % 2 == 0 else -1]:
                    done[label].add(run_block(
                        postfix, port, procs.get(label), message, count,
                        args.warmup if block == 0 else 0, args.sessions, sink_dir,
                        0 if cmd is None or label.startswith(NULL) else 1,
                        not args.no_settle, (args.perf, rnd, block, label), args.deliver))
            for proc in procs.values():
                proc.send_signal(signal.SIGTERM)
                proc.wait()
                running.remove(proc)
            for (label, _, _, _, _), _ in order:
                b = done[label]
                rate = args.messages / b.secs if b.secs and not b.status else 0.0
                cpu = [b.mta_cpu * 1000 / args.messages, b.milter_cpu * 1000 / args.messages]
                client = b.client_cpu * 1000 / args.messages
                busy = 100.0 * b.busy_jiffies / max(1, b.all_jiffies)
                results[label].append(rate)
                cpus[label].append(cpu + [client, busy])
                print("round %d  %-22s %7.1f msg/s  CPU ms/msg: Postfix %.2f, milter %.2f, "
                      "client %.2f; all cores %.0f %% busy%s"
                      % (rnd, label, rate, cpu[0], cpu[1], client, busy, b.status),
                      flush=True)
    finally:
        for proc in running:
            proc.send_signal(signal.SIGTERM)
            proc.wait()
        postfix.stop()
        sink.terminate()
        sink.wait()

    load = open("/proc/loadavg").read().split()[:3]
    print()
    print("%d messages of %d bytes over %d SMTP sessions after %d untimed, median of %d "
          "rounds (load average at the end: %s)" % (args.messages, len(message), args.sessions,
                                                    args.warmup, args.rounds, " ".join(load)))
    print("Signet signs with %s; timed: %s%s" % (
        {"rsa": "RSA-2048", "ed25519": "Ed25519", "both": "RSA-2048 and Ed25519"}[
            args.algorithm],
        "until the queue is empty (--deliver: accepted and discarded by Postfix)"
        if args.deliver else "until accepted (held in Postfix's queue, delivered untimed)",
        "; the null milter spins %d us at end of message" % args.null_burn
        if args.null_burn else ""))
    print()
    print("| set-up | msg/s (median) | rounds | Postfix CPU ms/msg | milter CPU ms/msg | "
          "client CPU ms/msg | all cores busy |")
    print("|---|---:|---|---:|---:|---:|---:|")
    med = {}
    for label in results:
        med[label] = statistics.median(results[label])
        print("| %s | %.0f | %s | %.2f | %.2f | %.2f | %.0f %% |" % (
            label, med[label], ", ".join("%.0f" % r for r in results[label]),
            *(statistics.median(c[i] for c in cpus[label]) for i in range(4))))
    print()
    base = med["no milter"]
    for label, _, _ in compared:
        u, i = med["%s unix" % label], med["%s inet" % label]
        print("%s: inet/unix %.2f; unix/no-milter %.2f; inet/no-milter %.2f"
              % (label, i / u if u else 0, u / base if base else 0, i / base if base else 0))
    # The same ratios taken round by round (set-ups of a round run back to back), then
    # the median: the machine's speed drifts between rounds far more than within one.
    print()
    print("Round by round, then the median of the rounds:")

    def paired(a, b):
        ratios = [x / y for x, y in zip(results[a], results[b]) if y]
        return "%.2f (%s)" % (statistics.median(ratios), ", ".join(
            "%.2f" % r for r in ratios)) if ratios else "-"
    for label, _, _ in compared:
        print("%s: inet/unix %s; unix/no-milter %s; inet/no-milter %s"
              % (label, paired(label + " inet", label + " unix"),
                 paired(label + " unix", "no milter"), paired(label + " inet", "no milter")))
    for label, _, _ in signets[1:]:
        first = signets[0][0]
        print("%s against %s: unix %s; inet %s" % (
            label, first, paired(label + " unix", first + " unix"),
            paired(label + " inet", first + " inet")))
    if any(label == NULL for label, _, _ in compared):
        for label, _, _ in signets:
            print("%s against the null milter: unix %s; inet %s" % (
                label, paired(label + " unix", NULL + " unix"),
                paired(label + " inet", NULL + " inet")))
        for label, _, _ in compared:
            if label.startswith(NULL + " "):
                print("%s against the null milter: unix %s; inet %s" % (
                    label, paired(label + " unix", NULL + " unix"),
                    paired(label + " inet", NULL + " inet")))
    print("calibration: %s/no milter %s" % (CALIBRATION, paired(CALIBRATION, "no milter")))
    if spool != tmp:
        unmount(spool)
    shutil.rmtree(tmp, ignore_errors=True)


def mount_ext4(tmp):
    """--fs ext4: a fresh ext4 with a journal in tmp/spool.img, mounted on tmp/spool;
    unmounted at exit if the script ends early."""
    image, mountpoint = os.path.join(tmp, "spool.img"), os.path.join(tmp, "spool")
    with open(image, "wb") as f:
        f.truncate(4 << 30)
    subprocess.run(["mkfs.ext4", "-q", "-F", image], check=True)
    os.makedirs(mountpoint)
    subprocess.run(["mount", "-o", "loop", image, mountpoint], check=True)
    atexit.register(unmount, mountpoint)
    os.chmod(mountpoint, 0o755)
    return mountpoint


def unmount(mountpoint):
    """Unmounts, waiting up to 10 s for the MTA's last processes to let go of it."""
    for _ in range(20):
        if not os.path.ismount(mountpoint) or subprocess.run(
                ["umount", mountpoint], stderr=subprocess.DEVNULL).returncode == 0:
            return
        time.sleep(0.5)
    print("cannot unmount %s" % mountpoint, file=sys.stderr)


if __name__ == "__main__":
    main()
