#!/usr/bin/python3
"""
NAME
    signer.py - the private keys live in the signer process alone: titles, users, memory,
    sockets, and a signer killed or hung under load

DESCRIPTION
    Started as root (it must be), with an Ed25519 and an RSA-2048 key active for one
    domain and NSD serving their records.  The first daemon runs with "UserID nobody" on
    a keystore owned by the system user "daemon" (directories 0700, key files 0600, every
    directory above it searchable by anyone, so only the keystore's own modes keep
    strangers out).  It checks:
      - the process tree: the daemon is "signet: milter", its one child "signet: keeper",
        the keeper's one child "signet: signer", nothing else under it (in
        /proc/PID/cmdline and in ps);
      - users: the milter runs as nobody, keeper and signer as daemon (the keystore's
        owner, SignerUserID's default); a process that is nobody gets PermissionError
        opening a key file, while one that is daemon opens it;
      - memory, after messages were signed: neither the milter's nor the keeper's memory
        (/proc/PID/mem, every readable mapping except ASan's shadow) holds the Ed25519
        seed, 32 bytes of the RSA private exponent or primes (big- and little-endian, as
        a BIGNUM holds them) or a line of the PEM file; the same search over the signer's
        memory finds the seed and every RSA number (else the search proves nothing);
      - sockets: the signer's and the keeper's only sockets are connected AF_UNIX
        SOCK_SEQPACKET ones (/proc/net/unix); none is TCP, UDP, raw or listening;
      - kill -9 of the signer while 5 connections send 200 messages: every message is
        either accepted with two signatures that verify (dkimpy, NSD) or tempfailed
        (4xx); none is accepted unsigned or half signed; the count adds up; the keeper
        starts a new signer (new pid, same keeper), which signs a fresh message that
        verifies with dkimpy and Mail::DKIM; the log names the killed signer;
      - SIGTERM stops the daemon with status 0, and the keeper and the signer are gone.
    A second daemon runs on a copy of the keystore owned by root, group mail (0750/0640),
    with "SignerUserID mail" and "SignerTimeout 1":
      - keeper and signer run as mail (not as the keystore's owner, root);
      - a SIGSTOPped signer: the next message is tempfailed, not accepted unsigned; the
        keeper kills the hung signer and starts another (log line, new pid), and the
        next message is signed and verifies; it stops cleanly on SIGTERM too.
    Nothing asserts a duration; waits have generous timeouts.  A missing NSD, openssl,
    dkimpy or Mail::DKIM, or not being root, is a failure, not a skip.  Emits TAP.
"""
import ctypes
import grp
import os
import pwd
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP_SRCDIR = os.environ.get("top_srcdir", os.path.join(HERE, "..", ".."))
TOP_BUILDDIR = os.environ.get("top_builddir", TOP_SRCDIR)
sys.path.insert(0, os.path.join(TOP_SRCDIR, "tests", "milter"))
sys.path.insert(0, os.path.join(TOP_SRCDIR, "tests", "lib"))
import milterclient  # noqa: E402
from signettest import Daemon, Tap, free_port, start_nsd, wait_listening  # noqa: E402

KEYS_TOOL = os.path.join(TOP_BUILDDIR, "keys", "signet-keys")
VERIFY_PY = os.path.join(TOP_SRCDIR, "tests", "lib", "verify-dkimpy.py")
VERIFY_PL = os.path.join(TOP_SRCDIR, "tests", "lib", "verify-maildkim.pl")
DOMAIN = "signer.example"
CONNECTIONS = 5
PER_CONNECTION = 40         # 200 messages in all
KILL_AFTER = 70             # messages finished when the signer is killed
GATE = 30                   # no connection sends its 31st message before the kill
# Mappings this large are ASan's shadow (256 MB low, terabytes high): shadow bytes that
# describe memory, never its contents, and mostly address space with nothing behind it.
SHADOW_SIZE = 256 << 20

tap = Tap(max_diag=40)


def run(*args):
    return subprocess.run(list(args), capture_output=True, text=True, stdin=subprocess.DEVNULL)


def keys(store, *args):
    return subprocess.run([KEYS_TOOL, "-k", store] + list(args), capture_output=True,
                          text=True, check=True).stdout.strip()


# ---- processes ---------------------------------------------------------------------------

def stat_of(pid):
    """(ppid, state, starttime) from /proc/PID/stat, or None when there is no such pid."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            text = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = text[text.rindex(")") + 2:].split()
    return int(fields[1]), fields[0], int(fields[19])


def title(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().rstrip(b"\0").decode("latin-1")
    except OSError:
        return None


def ids(pid):
    """{"Uid": [real, effective, saved, fs], "Gid": [...], "Groups": [...]}."""
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            name, _, value = line.partition(":")
            if name in ("Uid", "Gid", "Groups"):
                out[name] = [int(x) for x in value.split()]
    return out


def children_map():
    kids = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            st = stat_of(int(entry))
            if st is not None and st[1] not in "ZX":
                kids.setdefault(st[0], []).append(int(entry))
    return kids


def descendants(pid):
    kids, out, todo = children_map(), [], [pid]
    while todo:
        for k in kids.get(todo.pop(), []):
            out.append(k)
            todo.append(k)
    return out


class Tree:
    """The daemon's processes as they are now: milter, keeper, signer (pids or None)."""

    def __init__(self, milter):
        kids = children_map()
        self.milter = milter
        self.keepers = kids.get(milter, [])
        self.keeper = self.keepers[0] if len(self.keepers) == 1 else None
        self.signers = kids.get(self.keeper, []) if self.keeper else []
        self.signer = self.signers[0] if len(self.signers) == 1 else None
        self.all = descendants(milter)

    def __str__(self):
        return "milter %s keepers %s signers %s all descendants %s\n%s" % (
            self.milter, self.keepers, self.signers, self.all, ps([self.milter] + self.all))


def ps(pids):
    if not pids:
        return "(no processes)"
    r = run("ps", "-o", "pid=,ppid=,user=,args=", "-p", ",".join(str(p) for p in pids))
    return r.stdout + r.stderr


def alive(pid, starttime):
    """True while that very process (same start time) exists and has not exited."""
    st = stat_of(pid)
    return st is not None and st[2] == starttime and st[1] not in "ZX"


def wait_for(cond, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = cond()
        if v:
            return v
        time.sleep(0.05)
    return cond()


def new_signer(milter, keeper, old, timeout=20):
    """The pid of a signer of keeper other than old, once there is one, else None."""
    def find():
        t = Tree(milter)
        if t.keeper == keeper and t.signer is not None and t.signer != old and \
                title(t.signer) == "signet: signer":
            return t.signer
        return None
    return wait_for(find, timeout)


def can_open_as(uid, gid, path):
    """What a child that has become uid:gid (no supplementary groups) gets opening path:
    "opened", "PermissionError" or another error's name."""
    pid = os.fork()
    if pid == 0:
        code = 3
        try:
            os.setgroups([])
            os.setgid(gid)
            os.setuid(uid)
            try:
                with open(path, "rb") as f:
                    f.read(1)
                code = 0
            except PermissionError:
                code = 1
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return {0: "opened", 1: "PermissionError"}.get(os.waitstatus_to_exitcode(status),
                                                   "another error")


# ---- key material and memory -------------------------------------------------------------

def pkey_numbers(path):
    """The private numbers of a PEM key as "openssl pkey -text" prints them:
    {field: bytes, big-endian, no leading zeros}."""
    r = run("openssl", "pkey", "-in", path, "-text", "-noout")
    if r.returncode != 0:
        raise RuntimeError("openssl pkey %s: %s" % (path, r.stderr.strip()))
    fields, name = {}, None
    for line in r.stdout.splitlines():
        if re.match(r"^[A-Za-z0-9]+:\s*$", line):
            name = line.strip().rstrip(":")
            fields[name] = ""
        elif name and re.match(r"^\s+[0-9a-f:]+$", line):
            fields[name] += line.strip().replace(":", "")
        else:
            name = None
    return {k: bytes.fromhex(v).lstrip(b"\0") for k, v in fields.items() if v}


def secrets(ed_path, rsa_path):
    """(patterns, required): patterns {name: bytes} to look for in memory; required
    [(secret, [pattern names])], each secret the signer must be seen to hold in one of
    its forms for the search to mean something."""
    ed = pkey_numbers(ed_path)
    rsa = pkey_numbers(rsa_path)
    patterns = {"ed25519-seed": ed["priv"]}
    required = [("ed25519 seed", ["ed25519-seed"])]
    for field in ("privateExponent", "prime1", "prime2"):
        b = rsa[field]
        mid = len(b) // 2
        patterns["rsa-%s-be" % field] = b[mid - 16:mid + 16]
        patterns["rsa-%s-le" % field] = b[::-1][mid - 16:mid + 16]
        required.append(("rsa " + field, ["rsa-%s-be" % field, "rsa-%s-le" % field]))
    for field in ("exponent1", "exponent2", "coefficient"):
        b = rsa[field]
        mid = len(b) // 2
        patterns["rsa-%s-be" % field] = b[mid - 16:mid + 16]
        patterns["rsa-%s-le" % field] = b[::-1][mid - 16:mid + 16]
    for path in (ed_path, rsa_path):
        lines = [l for l in open(path).read().splitlines() if not l.startswith("-----")]
        patterns["pem-line-%s" % os.path.basename(path)] = lines[len(lines) // 2][:40].encode()
    return patterns, required


def scan_memory(pid, patterns):
    """(bytes read, names of the patterns found) over every readable mapping of pid."""
    found, total = set(), 0
    with open("/proc/%d/maps" % pid) as f:
        maps = f.read().splitlines()
    with open("/proc/%d/mem" % pid, "rb", 0) as mem:
        for line in maps:
            fields = line.split()
            lo, hi = (int(x, 16) for x in fields[0].split("-"))
            if "r" not in fields[1] or (hi - lo >= SHADOW_SIZE and len(fields) < 6):
                continue
            try:
                mem.seek(lo)
                data = mem.read(hi - lo)
            except OSError:         # [vvar] and the like
                continue
            total += len(data)
            for name, p in patterns.items():
                if name not in found and p in data:
                    found.add(name)
    return total, found


# ---- sockets -----------------------------------------------------------------------------

def socket_inodes(pid):
    out = []
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        m = re.match(r"socket:\[(\d+)\]$", target)
        if m:
            out.append(int(m.group(1)))
    return out


def inet_inodes(pid):
    """{inode: table} of every TCP, UDP, raw socket in pid's network namespace."""
    out = {}
    for table in ("tcp", "tcp6", "udp", "udp6", "udplite", "udplite6", "raw", "raw6"):
        try:
            with open("/proc/%d/net/%s" % (pid, table)) as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            out[int(row.split()[9])] = table
    return out


def unix_sockets(pid):
    """{inode: (type, flags, state)} from /proc/PID/net/unix."""
    out = {}
    with open("/proc/%d/net/unix" % pid) as f:
        for row in f.read().splitlines()[1:]:
            c = row.split()
            out[int(c[6])] = (int(c[4], 16), int(c[3], 16), int(c[5], 16))
    return out


def check_sockets(pid, who):
    """Only connected SOCK_SEQPACKET unix sockets, none listening, none inet."""
    SOCK_SEQPACKET, SO_ACCEPTCON, SS_CONNECTED = 5, 0x10000, 3
    inodes = socket_inodes(pid)
    inet, unix = inet_inodes(pid), unix_sockets(pid)
    bad = []
    for ino in inodes:
        if ino in inet:
            bad.append("socket %d is %s" % (ino, inet[ino]))
        elif ino not in unix:
            bad.append("socket %d is neither unix nor tcp/udp/raw" % ino)
        else:
            typ, flags, state = unix[ino]
            if typ != SOCK_SEQPACKET or flags & SO_ACCEPTCON or state != SS_CONNECTED:
                bad.append("unix socket %d: type %d flags %#x state %d" % (ino, typ, flags,
                                                                           state))
    tap(inodes and not bad, "%s_holds_only_connected_unix_seqpacket_sockets (%d)"
        % (who, len(inodes)), "%s\nsockets %r" % ("\n".join(bad) or "no socket at all",
                                                  inodes))


# ---- messages ----------------------------------------------------------------------------

def message(tag):
    return ("From: Signer Test <sender@%s>\r\nTo: r@example.net\r\nSubject: %s\r\n"
            "Date: Sat, 05 Dec 2026 07:00:00 +0000\r\nMessage-ID: <%s@%s>\r\n\r\n"
            "signed in the signer process: %s\r\n" % (DOMAIN, tag, tag, DOMAIN, tag)).encode()


def send_one(spec, tag, timeout=30):
    with milterclient.Session(spec, timeout=timeout) as s:
        s.connect("127.0.0.1", helo="mta.example")
        return s.message(message(tag), "sender@" + DOMAIN, ["r@example.net"])


def algorithms(result):
    out = []
    for _, name, value in result.inserted:
        if name.lower() == "dkim-signature":
            m = re.search(r"(?:^|;)\s*a=([^;\s]+)", re.sub(r"\s+", " ", value))
            out.append(m.group(1) if m else "?")
    return sorted(out)


SIGNED = ["ed25519-sha256", "rsa-sha256"]


def tempfailed(result):
    return result.action == "tempfail" and not result.inserted and \
        (result.reply is None or result.reply.startswith("4"))


class Verifier:
    def __init__(self, tmp, dns_port):
        self.dir = os.path.join(tmp, "delivered")
        os.makedirs(self.dir, exist_ok=True)
        self.port = dns_port

    def save(self, name, data):
        path = os.path.join(self.dir, name + ".eml")
        with open(path, "wb") as f:
            f.write(data)
        return path

    def dkimpy(self, paths):
        """({path: [result lines]}, raw output) verifying every file in one run."""
        r = run("/usr/bin/python3", VERIFY_PY, "127.0.0.1", str(self.port), *paths)
        out, cur = {p: [] for p in paths}, paths[0] if len(paths) == 1 else None
        for line in r.stdout.splitlines():
            if line.startswith("== "):
                cur = line[3:]
            elif cur is not None:
                out[cur].append(line)
        return out, r.stdout + r.stderr

    def both_pass(self, name, data):
        """(dkimpy passes both, Mail::DKIM passes both, their output)."""
        path = self.save(name, data)
        py, pyout = self.dkimpy([path])
        pl = run("perl", VERIFY_PL, "127.0.0.1", str(self.port), path)
        return (passes_both(py[path]), pl.returncode == 0 and pl.stdout.count(" pass\n") == 2,
                pyout + pl.stdout + pl.stderr)


def passes_both(lines):
    return len(lines) == 2 and all(l.endswith(" pass") for l in lines)


def check_signs(d, spec, verifier, tag, what, mail_dkim=False):
    try:
        r = send_one(spec, tag)
    except Exception as e:
        return tap(False, what, "%r\n%s" % (e, d.log()))
    if algorithms(r) != SIGNED or r.action != "accept":
        return tap(False, what, "%r\n%s" % (r, d.log()))
    py, pl, out = verifier.both_pass(tag, r.message)
    return tap(py and (pl or not mail_dkim), what, out)


# ---- the load ----------------------------------------------------------------------------

class Sender(threading.Thread):
    def __init__(self, spec, n, load):
        super().__init__()
        self.spec, self.n, self.load = spec, n, load
        self.results = []       # (tag, Result, started after the kill, ended after it)
        self.error = None

    def run(self):
        try:
            with milterclient.Session(self.spec, timeout=60) as s:
                s.connect("127.0.0.1", helo="mta.example")
                for i in range(PER_CONNECTION):
                    if i == GATE:
                        self.load.killed.wait(60)
                    tag = "c%dm%02d" % (self.n, i)
                    before = self.load.killed.is_set()
                    r = s.message(message(tag), "sender@" + DOMAIN, ["r@example.net"])
                    self.results.append((tag, r, before, self.load.killed.is_set()))
                    self.load.finished()
        except Exception as e:      # reported by the main thread
            self.error = "connection %d: %r" % (self.n, e)


class Load:
    def __init__(self):
        self.lock = threading.Lock()
        self.count = 0
        self.ready = threading.Event()      # KILL_AFTER messages are done
        self.killed = threading.Event()

    def finished(self):
        with self.lock:
            self.count += 1
            if self.count >= KILL_AFTER:
                self.ready.set()


def check_kill_under_load(d, spec, verifier):
    keeper = Tree(d.proc.pid).keeper
    load = Load()
    senders = [Sender(spec, n, load) for n in range(CONNECTIONS)]
    for s in senders:
        s.start()
    try:
        load.ready.wait(120)
        old = Tree(d.proc.pid).signer   # the one running now, whatever happened before
        old_start = stat_of(old)[2] if old else None
        if old:
            os.kill(old, signal.SIGKILL)
    finally:
        load.killed.set()
        for s in senders:
            s.join(120)
    if not tap(old is not None, "a_signer_to_kill_under_load", Tree(d.proc.pid)):
        return
    errors = [s.error for s in senders if s.error]
    tap(not errors and not any(s.is_alive() for s in senders),
        "every_connection_ran_to_the_end", "\n".join(errors) + "\n" + d.log())
    results = [r for s in senders for r in s.results]
    sent = CONNECTIONS * PER_CONNECTION
    before = sum(1 for r in results if not r[3])
    after = sum(1 for r in results if r[2])
    tap(len(results) == sent, "every_message_answered (%d of %d)" % (len(results), sent))
    tap(before > 0 and after > 0, "the_kill_fell_in_the_middle_of_the_load "
        "(%d done before, %d begun after)" % (before, after))
    accepted = [r for r in results if r[1].action == "accept"]
    temp = [r for r in results if tempfailed(r[1])]
    other = [r for r in results if r not in accepted and r not in temp]
    unsigned = [r for r in accepted if algorithms(r[1]) != SIGNED]
    tap(not other, "every_message_accepted_or_tempfailed (%d accepted, %d tempfailed)"
        % (len(accepted), len(temp)),
        "\n".join("%s: %r" % (r[0], r[1]) for r in other[:20]))
    tap(not unsigned, "no_message_accepted_unsigned_or_half_signed",
        "\n".join("%s: %r" % (r[0], algorithms(r[1])) for r in unsigned[:20]))
    tap(len(accepted) + len(temp) == sent and accepted,
        "accepted_plus_tempfailed_is_every_message_sent (%d + %d = %d)"
        % (len(accepted), len(temp), sent))
    paths = {verifier.save(r[0], r[1].message): r[0] for r in accepted}
    verdicts, out = verifier.dkimpy(sorted(paths)) if paths else ({}, "")
    bad = ["%s: %s" % (paths[p], v) for p, v in verdicts.items() if not passes_both(v)]
    tap(paths and not bad, "every_accepted_message_verifies (dkimpy, %d messages)"
        % len(paths), "\n".join(bad[:20]) + "\n" + out[-2000:])

    new = new_signer(d.proc.pid, keeper, old)
    t = Tree(d.proc.pid)
    tap(new is not None and t.keeper == keeper and not alive(old, old_start),
        "keeper_started_a_new_signer (pid %s, was %s)" % (new, old), str(t))
    tap(d.wait_log("the signer (pid %d) was killed by signal 9" % old),
        "log_names_the_killed_signer", d.log())
    check_signs(d, spec, verifier, "after-kill",
                "new_signer_signs_and_both_verifiers_pass (dkimpy, Mail::DKIM)",
                mail_dkim=True)


# ---- checks of one daemon ----------------------------------------------------------------

def check_tree(d, who):
    """Titles and parentage; returns the Tree."""
    t = Tree(d.proc.pid)
    titles = [title(p) for p in (t.milter, t.keeper, t.signer) if p]
    tap(titles == ["signet: milter", "signet: keeper", "signet: signer"]
        and sorted(t.all) == sorted([t.keeper, t.signer]),
        "%s_one_milter_its_one_keeper_its_one_signer (cmdline)" % who,
        "titles %r\n%s" % (titles, t))
    lines = ps([t.milter] + t.all).splitlines()
    want = {t.milter: (os.getpid(), "signet: milter"), t.keeper: (t.milter, "signet: keeper"),
            t.signer: (t.keeper, "signet: signer")}
    seen = {}
    for line in lines:
        pid, ppid, _, args = line.split(None, 3)
        seen[int(pid)] = (int(ppid), args.strip())
    tap(seen == want, "%s_ps_shows_the_same_titles_and_parents" % who,
        "ps:\n%s\nwanted %r" % ("\n".join(lines), want))
    return t


def check_users(t, who, milter_user, signer_user):
    mu, su = pwd.getpwnam(milter_user), pwd.getpwnam(signer_user)
    got = {p: ids(p) for p in (t.milter, t.keeper, t.signer) if p}

    def is_user(pid, pw):
        i = got.get(pid, {})
        return i.get("Uid") == [pw.pw_uid] * 4 and i.get("Gid") == [pw.pw_gid] * 4 and \
            i.get("Groups") == [pw.pw_gid]
    tap(is_user(t.milter, mu), "%s_milter_runs_as_%s" % (who, milter_user), got)
    tap(is_user(t.keeper, su) and is_user(t.signer, su),
        "%s_keeper_and_signer_run_as_%s" % (who, signer_user), got)


def check_stop(d, who):
    t = Tree(d.proc.pid)
    procs = [(p, stat_of(p)[2]) for p in [t.keeper, t.signer] if p and stat_of(p)]
    d.proc.send_signal(signal.SIGTERM)
    status = d.exit_status(timeout=60)
    left = wait_for(lambda: not [p for p, st in procs if alive(p, st)], 20)
    for p, _ in procs:      # the keeper became our child (a subreaper): reap it
        try:
            os.waitpid(p, os.WNOHANG)
        except ChildProcessError:
            pass
    tap(status == 0 and left and len(procs) == 2 and "signet stopped" in d.log(),
        "%s_sigterm_stops_milter_keeper_and_signer" % who,
        "exit %r, still there: %r\n%s" % (status, [p for p, st in procs if alive(p, st)],
                                          d.log()))


# ---- set-up ------------------------------------------------------------------------------

def make_keystores(tmp):
    """The keystore (owner daemon, 0700/0600) and a copy (root:mail, 0750/0640)."""
    store = os.path.join(tmp, "keys")
    keys(store, "generate", DOMAIN, "-a", "ed25519", "-s", "ed1")
    keys(store, "generate", DOMAIN, "-a", "rsa-2048", "-s", "rsa1")
    keys(store, "activate", DOMAIN, "ed1", "--force")
    keys(store, "activate", DOMAIN, "rsa1", "--force")
    records = os.path.join(tmp, "records")
    with open(records, "w") as f:
        f.write(keys(store, "dns", DOMAIN) + "\n")
    copy = os.path.join(tmp, "keys-mail")
    shutil.copytree(store, copy)
    for top, owner, dmode, fmode in ((store, pwd.getpwnam("daemon"), 0o700, 0o600),
                                     (copy, pwd.getpwnam("root"), 0o750, 0o640)):
        gid = grp.getgrnam("mail").gr_gid if top == copy else owner.pw_gid
        for root, dirs, files in os.walk(top):
            os.chown(root, owner.pw_uid, gid)
            os.chmod(root, dmode)
            for name in files:
                os.chown(os.path.join(root, name), owner.pw_uid, gid)
                os.chmod(os.path.join(root, name), fmode)
    return store, copy, records


def check_keystore_access(store):
    key = os.path.join(store, DOMAIN, "rsa1.key")
    daemon, nobody = pwd.getpwnam("daemon"), pwd.getpwnam("nobody")
    path, problems = os.path.dirname(store), []
    while True:     # every directory above the keystore lets anyone through
        if not os.stat(path).st_mode & stat.S_IXOTH:
            problems.append("%s is not searchable by others" % path)
        if path == "/":
            break
        path = os.path.dirname(path)
    for p, mode in ((store, 0o700), (os.path.join(store, DOMAIN), 0o700),
                    (key, 0o600), (os.path.join(store, DOMAIN, "ed1.key"), 0o600)):
        st = os.stat(p)
        if st.st_uid != daemon.pw_uid or stat.S_IMODE(st.st_mode) != mode:
            problems.append("%s: uid %d mode %o" % (p, st.st_uid, stat.S_IMODE(st.st_mode)))
    as_nobody = can_open_as(nobody.pw_uid, nobody.pw_gid, key)
    as_daemon = can_open_as(daemon.pw_uid, daemon.pw_gid, key)
    tap(not problems and as_nobody == "PermissionError" and as_daemon == "opened",
        "nobody_cannot_open_a_key_file_the_daemon_user_can",
        "nobody: %s, daemon: %s\n%s" % (as_nobody, as_daemon, "\n".join(problems)))


def start(tmp, name, conf_text):
    spec = "inet:%d@127.0.0.1" % free_port()
    d = Daemon(tmp, "Socket %s\n%s" % (spec, conf_text), name)
    ok = wait_listening(spec) and d.wait_log("listening on")
    tap(ok, "%s_listens" % name, d.log())
    return d, spec, ok


def first_daemon(tmp, store, verifier):
    conf = "Keystore %s\nMode s\nLogLevel info\nUserID nobody\n" % store
    d, spec, ok = start(tmp, "signet", conf)
    try:
        if not ok:
            return
        t = check_tree(d, "signet")
        check_users(t, "signet", "nobody", "daemon")
        check_signs(d, spec, verifier, "first", "signs_and_verifies (dkimpy, Mail::DKIM)",
                    mail_dkim=True)
        for i in range(3):
            send_one(spec, "more%d" % i)
        patterns, required = secrets(os.path.join(store, DOMAIN, "ed1.key"),
                                     os.path.join(store, DOMAIN, "rsa1.key"))
        for who, pid in (("milter", t.milter), ("keeper", t.keeper)):
            total, found = scan_memory(pid, patterns)
            tap(total > 0 and not found,
                "%s_memory_holds_no_private_key_material (%d MB read)" % (who, total >> 20),
                "found: %s" % ", ".join(sorted(found)))
        total, found = scan_memory(t.signer, patterns)
        missing = [s for s, names in required if not found.intersection(names)]
        tap(total > 0 and not missing,
            "signer_memory_holds_the_keys (the search works: %d of %d patterns found)"
            % (len(found), len(patterns)), "not found: %s" % ", ".join(missing))
        check_sockets(t.signer, "signer")
        check_sockets(t.keeper, "keeper")
        check_kill_under_load(d, spec, verifier)
        check_tree(d, "signet_after_restart")
        check_stop(d, "signet")
    finally:
        d.stop()


def second_daemon(tmp, store, verifier):
    conf = ("Keystore %s\nMode s\nLogLevel info\nUserID nobody\nSignerUserID mail\n"
            "SignerTimeout 1\n" % store)
    d, spec, ok = start(tmp, "signet-mail", conf)
    hung = None
    try:
        if not ok:
            return
        t = check_tree(d, "signet_mail")
        check_users(t, "signer_user_id", "nobody", "mail")
        check_signs(d, spec, verifier, "mail-first", "signer_user_id_signs_and_verifies")
        hung = t.signer
        os.kill(hung, signal.SIGSTOP)
        stopped = wait_for(lambda: (stat_of(hung) or (0, ""))[1] == "T", 10)
        try:
            r = send_one(spec, "hung", timeout=20)
        except Exception as e:
            r = e
        tap(stopped and not isinstance(r, Exception) and tempfailed(r),
            "message_tempfailed_while_the_signer_hangs", "%r\n%s" % (r, d.log()))
        new = new_signer(d.proc.pid, t.keeper, hung)
        tap(new is not None and d.wait_log("the signer (pid %d) did not answer in time"
                                           % hung),
            "keeper_replaces_the_hung_signer (pid %s, was %s)" % (new, hung),
            "%s\n%s" % (Tree(d.proc.pid), d.log()))
        check_signs(d, spec, verifier, "after-hang", "signs_again_after_the_hung_signer",
                    mail_dkim=True)
        check_stop(d, "signet_mail")
    finally:
        st = stat_of(hung) if hung else None
        if st is not None and st[1] == "T" and title(hung) == "signet: signer":
            os.kill(hung, signal.SIGCONT)
        d.stop()


def main():
    if not tap(os.geteuid() == 0, "runs_as_root (it starts the daemon as root)"):
        return tap.plan()
    missing = [t for t in ("openssl", "nsd", "perl", "ps") if shutil.which(t) is None and
               not os.path.exists("/usr/sbin/" + t)]
    if not tap(not missing, "tools_installed", "missing: %s" % " ".join(missing)):
        return tap.plan()
    # A subreaper: the keeper, orphaned when the milter stops, comes back to us to be
    # reaped, instead of staying a zombie under a PID 1 that may not reap.
    libc = ctypes.CDLL(None, use_errno=True)
    tap(libc.prctl(36, 1, 0, 0, 0) == 0, "prctl_set_child_subreaper",   # PR_SET_CHILD_SUBREAPER
        os.strerror(ctypes.get_errno()))
    tmp = tempfile.mkdtemp(prefix="signet-signer-")
    os.chmod(tmp, 0o755)
    nsd_pid = None
    try:
        store, copy, records = make_keystores(tmp)
        check_keystore_access(store)
        nsd_port, nsd_pid = start_nsd(os.path.join(tmp, "dns"), {DOMAIN: records})
        verifier = Verifier(tmp, nsd_port)
        first_daemon(tmp, store, verifier)
        second_daemon(tmp, copy, verifier)
    finally:
        if nsd_pid is not None:
            os.kill(nsd_pid, signal.SIGTERM)
            try:    # NSD, orphaned by dnsserver.sh's shell, is ours to reap
                wait_for(lambda: os.waitpid(nsd_pid, os.WNOHANG)[0] == nsd_pid, 10)
            except ChildProcessError:
                pass
        shutil.rmtree(tmp, ignore_errors=True)
    return tap.plan()


if __name__ == "__main__":
    sys.exit(main())
