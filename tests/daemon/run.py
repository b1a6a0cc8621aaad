#!/usr/bin/python3
"""
NAME
    run.py - daemon operation: SIGHUP reload, refused bad reload, SIGTERM drain, unix
    socket mode and group, privilege drop, PID file, where a unix socket may live and what
    a symlink at its path can do, signals sent the moment the socket appears, a detached
    start that returns only once the daemon is ready, a second SMTP connection on one
    milter connection (QUIT_NC)

DESCRIPTION
    Starts the real daemon and talks to it as an MTA would (tests/milter/milterclient.py).
    Each check names the behaviour it shows; failures print what was seen and the
    daemon's log.  Emits TAP.
"""
import grp
import os
import pwd
import re
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
# This folder's token.py would hide the standard module dkimpy's imports need.
sys.path = [p for p in sys.path if os.path.abspath(p or ".") != HERE]
sys.path.insert(0, os.path.join(HERE, "..", "milter"))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import milterclient  # noqa: E402
from signettest import Daemon, Tap, free_port, own_milter_engine, wait_listening  # noqa: E402

TOP_BUILDDIR = os.environ.get("top_builddir", os.path.join(HERE, "..", ".."))
SIGNET = os.path.join(TOP_BUILDDIR, "milter", "signet")
KEYS_TOOL = os.path.join(TOP_BUILDDIR, "keys", "signet-keys")

tap = Tap()


def message(domain, subject="test"):
    return ("From: Someone <someone@%s>\r\nTo: rcpt@example.net\r\nSubject: %s\r\n"
            "Date: Fri, 27 Nov 2026 07:00:00 +0000\r\nMessage-ID: <%s@%s>\r\n\r\nbody\r\n"
            % (domain, subject, subject, domain)).encode()


def signed_selectors(result):
    sels = []
    for _, name, value in result.inserted:
        if name.lower() == "dkim-signature":
            for tag in value.replace("\n", "").replace("\t", "").split(";"):
                tag = tag.strip()
                if tag.startswith("s="):
                    sels.append(tag[2:])
    return sorted(sels)


def keys(store, *args):
    return subprocess.run([KEYS_TOOL, "-k", store] + list(args), capture_output=True,
                          text=True, check=True).stdout.strip()


class PausingSession(milterclient.Session):
    """Calls pause() once, just before end of headers: a message caught in flight."""
    pause = None

    def _step(self, cmd, *args, **kw):
        if cmd == milterclient.SMFIC_EOH and self.pause is not None:
            pause, self.pause = self.pause, None
            pause()
        return super()._step(cmd, *args, **kw)


def test_reload(tmp):
    store = os.path.join(tmp, "keys")
    sel_a = keys(store, "generate", "a.example", "-a", "ed25519", "-s", "sa")
    keys(store, "activate", "a.example", sel_a, "--force")
    port = free_port()
    spec = "inet:%d@127.0.0.1" % port
    base = "Socket %s\nKeystore %s\nLogLevel debug\nMode s\n" % (spec, store)
    d = Daemon(tmp, base, "reload")
    try:
        tap(wait_listening(spec), "daemon_listens", d.log())
        with milterclient.Session(spec) as s:
            s.connect("127.0.0.1", helo="mta.example")
            r = s.message(message("a.example"), "x@a.example", ["r@example.net"])
            tap(signed_selectors(r) == ["sa"], "signs_with_the_key_active_at_start",
                r)
            r = s.message(message("b.example"), "x@b.example", ["r@example.net"])
            tap(signed_selectors(r) == [], "domain_without_key_not_signed_before_reload", r)

            sel_b = keys(store, "generate", "b.example", "-a", "ed25519", "-s", "sb")
            keys(store, "activate", "b.example", sel_b, "--force")
            d.proc.send_signal(signal.SIGHUP)
            tap(d.wait_log("reloaded"), "sighup_reloads_config_and_keystore", d.log())
            tap(d.proc.poll() is None, "sighup_does_not_stop_the_daemon")
            r = s.message(message("b.example"), "x@b.example", ["r@example.net"])
            tap(signed_selectors(r) == ["sb"],
                "new_key_signs_after_reload_on_the_same_connection", r)

            with open(d.conf, "a") as f:
                f.write("NoSuchKey here\n")
            d.proc.send_signal(signal.SIGHUP)
            tap(d.wait_log("reload refused"), "bad_config_reload_is_refused_with_a_log_line",
                d.log())
            tap("NoSuchKey" in d.log() and ":5: unknown key" in d.log(),
                "refused_reload_names_file_and_line", d.log())
            r = s.message(message("b.example"), "x@b.example", ["r@example.net"])
            tap(d.proc.poll() is None and signed_selectors(r) == ["sb"],
                "old_configuration_keeps_serving_after_refused_reload", r)
    finally:
        d.stop()


def test_new_connection_after_quit_nc(tmp):
    """QUIT_NC: the MTA begins another SMTP connection on the same milter connection
    without negotiating again.  What was negotiated still holds there: header values
    arrive with their leading space (SMFIP_HDR_LEADSPC), and simple canonicalization
    hashes them as they are, so a signature made in the second SMTP connection only
    verifies when Signet has not forgotten that.  libmilter (Debian's 8.17) answers no
    CONNECT after QUIT_NC: with that engine the second connection is a known failure
    (TODO), and a pass there fails the run, so that it is looked at again."""
    import dkim
    store = os.path.join(tmp, "keys-quit-nc")
    sel = keys(store, "generate", "q.example", "-s", "sq")
    keys(store, "activate", "q.example", sel, "--force")
    record = "".join(re.findall(r'"([^"]*)"', keys(store, "dns", "q.example", sel)))
    port = free_port()
    spec = "inet:%d@127.0.0.1" % port
    d = Daemon(tmp, "Socket %s\nKeystore %s\nMode s\nCanonicalization simple/simple\n"
               % (spec, store), "quit-nc")
    try:
        tap(wait_listening(spec), "quit_nc_daemon_listens", d.log())
        todo = "" if own_milter_engine() else (
            " # TODO libmilter engine: libmilter answers no CONNECT after QUIT_NC")
        with milterclient.Session(spec, timeout=10) as s:
            for n in (1, 2):
                r, verified = None, None
                try:
                    if n == 2:
                        s.quit_new_connection()
                    s.connect("127.0.0.1", helo="mta.example")
                    r = s.message(message("q.example", "quit-nc-%d" % n), "x@q.example",
                                  ["r@example.net"])
                    verified = dkim.verify(r.message,
                                           dnsfunc=lambda name, timeout=5: record.encode())
                except Exception as e:   # noqa: BLE001 -- a failure, shown below
                    verified = repr(e)
                tap(r is not None and s.leadspc and signed_selectors(r) == ["sq"] and
                    verified is True,
                    "smtp_connection_%d_on_one_milter_connection_signed_and_verified%s"
                    % (n, todo if n == 2 else ""), (r, verified, r and r.message))
                if r is None:
                    break
    finally:
        d.stop()


def close_and_wait_exit(d, sessions):
    """Closes the MTA connections of a draining daemon; its exit status, None if it
    still runs after 70 s."""
    for c in sessions:
        try:
            c.close()
        except OSError:
            pass
    try:
        return d.proc.wait(timeout=70)
    except subprocess.TimeoutExpired:
        return None


def test_sigterm_drain(tmp):
    store = os.path.join(tmp, "keys")  # made by test_reload
    port = free_port()
    spec = "inet:%d@127.0.0.1" % port
    pidfile = os.path.join(tmp, "signet.pid")
    # RateLimits (none reached here) make RCPT answered: its reply tells that the daemon
    # has begun the message before the SIGTERM.  MAIL gets no reply (milter/adapter.c).
    limits = os.path.join(tmp, "drain-limits")
    with open(limits, "w") as f:
        f.write("*  rcpt/hour=1000\n")
    d = Daemon(tmp, "Socket %s\nKeystore %s\nLogLevel debug\nMode s\nPidFile %s\n"
               "RateLimits %s\n" % (spec, store, pidfile, limits), "drain")
    try:
        tap(wait_listening(spec), "drain_daemon_listens", d.log())
        tap(os.path.exists(pidfile) and open(pidfile).read().strip() == str(d.proc.pid),
            "pid_file_holds_the_daemon_pid")
        s = PausingSession(spec)
        s.open()
        s.connect("127.0.0.1", helo="mta.example")

        # A second connection, open before the SIGTERM: its message starts while the
        # first is still in flight (once none is, libmilter stops and closes it).
        other = milterclient.Session(spec)
        other.open()
        other.connect("127.0.0.1", helo="mta.example")
        late = []

        def term():
            d.proc.send_signal(signal.SIGTERM)
            # The daemon has seen it before the message goes on.
            d.wait_log("letting messages in flight finish", timeout=30)
            late.append(other.message(message("a.example", "after"), "x@a.example",
                                      ["r@example.net"]))

        s.pause = term
        r = s.message(message("a.example", "inflight"), "x@a.example", ["r@example.net"])
        tap(r.action == "accept" and signed_selectors(r) == ["sa"],
            "message_in_flight_at_sigterm_finishes_signed", r)
        r2 = late[0] if late else None
        tap(r2 is not None and r2.action == "tempfail" and "4.3.2" in str(r2.reply),
            "new_message_after_sigterm_is_tempfailed_not_lost", r2)
        code = close_and_wait_exit(d, (s, other))
        tap(code == 0, "daemon_exits_cleanly_after_draining", "exit %r\n%s" % (code, d.log()))
        tap(not os.path.exists(pidfile), "pid_file_removed_at_exit")
    finally:
        d.stop()


def test_signals_with_verifying(tmp):
    """With Mode v the resolver's threads exist from start-up; SIGHUP and SIGTERM must
    still reach libmilter's signal thread, not kill the process in one of those."""
    store = os.path.join(tmp, "keys")  # made by test_reload
    spec = "inet:%d@127.0.0.1" % free_port()
    dead = free_port()
    d = Daemon(tmp, "Socket %s\nKeystore %s\nLogLevel debug\nMode sv\n"
               "Nameservers 127.0.0.1@%d\nDNSTimeout 1\n" % (spec, store, dead), "verifying")
    try:
        tap(wait_listening(spec), "verifying_daemon_listens", d.log())
        for i in range(3):
            before = d.log().count("reloaded")
            d.proc.send_signal(signal.SIGHUP)
            end = time.monotonic() + 10
            while d.log().count("reloaded") == before and d.proc.poll() is None and \
                    time.monotonic() < end:
                time.sleep(0.05)
            if d.proc.poll() is not None or d.log().count("reloaded") == before:
                break
        tap(d.proc.poll() is None and d.log().count("reloaded") == 3,
            "sighup_reloads_a_verifying_daemon_without_stopping_it",
            "exit %r\n%s" % (d.proc.poll(), d.log()))
        d.proc.send_signal(signal.SIGTERM)
        try:
            code = d.proc.wait(timeout=70)
        except subprocess.TimeoutExpired:
            code = None
        tap(code == 0 and "letting messages in flight finish" in d.log(),
            "sigterm_drains_a_verifying_daemon_and_exits_cleanly",
            "exit %r\n%s" % (code, d.log()))
    finally:
        d.stop()


def socket_group():
    """The SocketGroup the tests ask for: mail where it exists, else our own group."""
    try:
        return grp.getgrnam("mail").gr_name
    except KeyError:
        return grp.getgrgid(os.getgid()).gr_name


def unix_conf(tmp, path):
    return ("Socket unix:%s\nKeystore %s\nLogLevel debug\nMode s\nSocketMode 0660\n"
            "SocketGroup %s\n" % (path, os.path.join(tmp, "keys"), socket_group()))


def test_unix_socket_and_user(tmp):
    store = os.path.join(tmp, "keys")
    sockdir = os.path.join(tmp, "run")
    os.makedirs(sockdir)
    os.chmod(tmp, 0o755)
    os.chmod(sockdir, 0o755)
    user = "nobody"
    if os.getuid() == 0:
        # The daemon's own directory, as /run/signet is: it can remove its socket at exit.
        os.chown(sockdir, pwd.getpwnam(user).pw_uid, -1)
    path = os.path.join(sockdir, "signet.sock")
    group = socket_group()
    conf = ("Socket unix:%s\nKeystore %s\nLogLevel debug\nMode s\nSocketMode 0660\n"
            "SocketGroup %s\n" % (path, store, group))
    if os.getuid() == 0:
        conf += "UserID %s\n" % user
    d = Daemon(tmp, conf, "unix")
    try:
        # Its mode and group are set after it listens: the log line says when all is done.
        ok = wait_listening("unix:" + path) and d.wait_log("listening on")
        tap(ok, "unix_socket_listens", d.log())
        st = os.stat(path) if ok else None
        tap(st is not None and stat.S_IMODE(st.st_mode) == 0o660,
            "unix_socket_has_socket_mode_0660", st and oct(stat.S_IMODE(st.st_mode)))
        tap(st is not None and st.st_gid == grp.getgrnam(group).gr_gid,
            "unix_socket_has_socket_group", st and st.st_gid)
        with milterclient.Session("unix:" + path) as s:
            s.connect("127.0.0.1", helo="mta.example")
            r = s.message(message("a.example"), "x@a.example", ["r@example.net"])
            tap(signed_selectors(r) == ["sa"], "signs_over_the_unix_socket", r)
            # No reply asked (a stray reply would desynchronise the second message)
            # but at end of message and, in Mode s, end of headers (it accepts a
            # message it leaves alone there, so that its body is not sent;
            # tests/tcp/nodelay.py has sv); RCPT unanswered without RateLimits.
            silent = (milterclient.SMFIP_NR_CONN | milterclient.SMFIP_NR_HELO |
                      milterclient.SMFIP_NR_MAIL | milterclient.SMFIP_NR_RCPT |
                      milterclient.SMFIP_NR_DATA | milterclient.SMFIP_NR_HDR |
                      milterclient.SMFIP_NR_BODY)
            answered = milterclient.SMFIP_NR_EOH
            r2 = s.message(message("a.example"), "x@a.example", ["r@example.net"])
            tap(s.protocol & silent == silent and s.protocol & answered == 0
                and signed_selectors(r2) == ["sa"],
                "unix_socket_asks_no_reply_for_steps_that_only_continue",
                "protocol 0x%x, %r" % (s.protocol, r2))
        if os.getuid() == 0:
            uid = None
            with open("/proc/%d/status" % d.proc.pid) as f:
                for line in f:
                    if line.startswith("Uid:"):
                        uid = [int(x) for x in line.split()[1:]]
            want = pwd.getpwnam(user).pw_uid
            tap(uid is not None and all(u == want for u in uid),
                "root_daemon_drops_to_userid_after_binding", uid)
            tap(stat.S_IMODE(os.stat(os.path.join(store, "a.example", "sa.key")).st_mode)
                == 0o600, "keys_stay_0600_and_were_read_before_the_drop")
    finally:
        d.stop()


def mode_and_group(path):
    st = os.lstat(path)
    return oct(stat.S_IMODE(st.st_mode)), st.st_gid


def layout(tmp, name, dir_mode, dir_gid=-1, parent_mode=0o755, sticky_symlink_owner=None):
    """TMP/NAME/d/signet.sock with the given modes; returns the socket path.  With
    sticky_symlink_owner, the path goes through a symlink that user owns in a 1777
    directory (TMP/NAME/d -> TMP/NAME-real/d)."""
    top = os.path.join(tmp, name)
    os.makedirs(os.path.join(top, "d"))
    os.chmod(top, parent_mode)
    os.chmod(os.path.join(top, "d"), dir_mode)
    if dir_gid != -1:
        os.chown(os.path.join(top, "d"), -1, dir_gid)
    if sticky_symlink_owner is not None:
        real = top + "-real"
        os.rename(top, real)
        os.makedirs(top)
        os.chmod(top, 0o1777)
        os.symlink(os.path.join(real, "d"), os.path.join(top, "d"))
        os.lchown(os.path.join(top, "d"), pwd.getpwnam(sticky_symlink_owner).pw_uid, -1)
    return os.path.join(top, "d", "signet.sock")


def test_unix_socket_directory(tmp):
    """Anyone who can write the socket's directory (or one above it without the sticky
    bit) could swap the socket, or bind one of their own while Signet is down and answer
    the MTA in its name: Signet refuses to start there."""
    other_gid = grp.getgrnam(socket_group()).gr_gid
    cases = [
        # name, layout arguments, started, what the log says
        ("socket_dir_0755_is_accepted", dict(dir_mode=0o755), True, None),
        ("socket_dir_writable_by_others_is_refused", dict(dir_mode=0o777), False,
         "writable by others"),
        ("socket_dir_writable_by_others_is_refused_even_sticky", dict(dir_mode=0o1777),
         False, "writable by others"),
        ("socket_dir_above_writable_by_others_is_refused",
         dict(dir_mode=0o755, parent_mode=0o777), False, "writable by others"),
        ("socket_dir_above_sticky_is_accepted", dict(dir_mode=0o755, parent_mode=0o1777),
         True, None),
        ("socket_dir_writable_by_root_group_is_accepted", dict(dir_mode=0o775, dir_gid=0),
         True, None),
    ]
    if os.getuid() == 0 and other_gid != 0:
        cases.append(("socket_dir_writable_by_another_group_is_refused",
                      dict(dir_mode=0o775, dir_gid=other_gid), False,
                      "writable by group %s" % socket_group()))
    if os.getuid() == 0:
        cases.append(("socket_path_through_a_stranger_symlink_in_sticky_dir_is_refused",
                      dict(dir_mode=0o755, sticky_symlink_owner="nobody"), False,
                      "belongs to uid %d" % pwd.getpwnam("nobody").pw_uid))
    for name, args, started, text in cases:
        path = layout(tmp, name, **args)
        d = Daemon(tmp, unix_conf(tmp, path), name)
        try:
            if started:
                tap(wait_listening("unix:" + path), name, d.log())
            else:
                code = d.exit_status()
                tap(code not in (None, 0) and text in d.log() and not os.path.lexists(path),
                    name, "exit %r, want non-zero with \"%s\"; socket there: %s\n%s"
                    % (code, text, os.path.lexists(path), d.log()))
        finally:
            d.stop()


def socket_path_in(tmp, name, symlink_to=None):
    """TMP/NAME/signet.sock in a new 0755 directory; with symlink_to, a symlink there."""
    sockdir = os.path.join(tmp, name)
    os.makedirs(sockdir)
    os.chmod(sockdir, 0o755)
    path = os.path.join(sockdir, "signet.sock")
    if symlink_to is not None:
        os.symlink(symlink_to, path)
    return path


def test_unix_socket_symlinks(tmp):
    """Signet (root) never changes what a symlink at the socket path points to."""
    group = socket_group()
    # A symlink swapped in right after bind (tests/daemon/swap-socket.c does it the moment
    # libmilter listens): the old code's chmod/chown by path changed the target.
    victim = os.path.join(tmp, "victim-file")
    with open(victim, "w") as f:
        f.write("not Signet's\n")
    os.chmod(victim, 0o644)
    before = mode_and_group(victim)
    env = dict(os.environ)
    env["LD_PRELOAD"] = os.path.join(TOP_BUILDDIR, "tests", "daemon", "swap-socket.so")
    env["SIGNET_TEST_SWAP_TARGET"] = victim
    # The preloaded object comes before the sanitizer runtime; let it.
    env["ASAN_OPTIONS"] = ":".join(filter(None, [os.environ.get("ASAN_OPTIONS"),
                                                  "verify_asan_link_order=0"]))
    path = socket_path_in(tmp, "swap")
    d = Daemon(tmp, unix_conf(tmp, path), "swap", env=env)
    try:
        code = d.exit_status()
        tap("is now a symlink" in d.log(), "swap_shim_replaced_the_socket_after_bind", d.log())
        tap(mode_and_group(victim) == before,
            "socket_swapped_for_symlink_after_bind_does_not_redirect_mode_or_group",
            "target now %r, was %r\n%s" % (mode_and_group(victim), before, d.log()))
        tap(code not in (None, 0) and "replaced" in d.log(),
            "socket_swapped_after_bind_refuses_to_start", "exit %r\n%s" % (code, d.log()))
    finally:
        d.stop()

    # A symlink left at the socket path before start, to another socket: replaced by a
    # socket of ours, the other one untouched.
    other = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    other_path = os.path.join(tmp, "other.sock")
    other.bind(other_path)
    os.chmod(other_path, 0o600)
    before = mode_and_group(other_path)
    path = socket_path_in(tmp, "planted", symlink_to=other_path)
    d = Daemon(tmp, unix_conf(tmp, path), "planted")
    try:
        # Its mode and group are set after it listens: the log line says when all is done.
        ok = wait_listening("unix:" + path) and d.wait_log("listening on")
        st = os.lstat(path)
        tap(ok and stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o660 and
            st.st_gid == grp.getgrnam(group).gr_gid,
            "planted_symlink_is_replaced_by_our_socket_with_mode_and_group",
            "%r %s\n%s" % (ok, oct(st.st_mode), d.log()))
        tap(mode_and_group(other_path) == before, "planted_symlink_target_socket_untouched",
            "now %r, was %r" % (mode_and_group(other_path), before))
    finally:
        d.stop()
        other.close()

    # A symlink to a regular file: libmilter will not remove what is not a socket.
    before = mode_and_group(victim)
    path = socket_path_in(tmp, "planted-file", symlink_to=victim)
    d = Daemon(tmp, unix_conf(tmp, path), "planted-file")
    try:
        code = d.exit_status()
        tap(code not in (None, 0) and mode_and_group(victim) == before and
            os.path.islink(path), "planted_symlink_to_a_file_refuses_to_start_file_untouched",
            "exit %r, target now %r, was %r\n%s" % (code, mode_and_group(victim), before,
                                                    d.log()))
    finally:
        d.stop()


def wait_path(path, timeout=20):
    """True the moment path exists (polled without pause: the test is about that moment)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if os.path.lexists(path):
            return True
    return False


def pid_in(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError as e:
        return "(%s)" % e.strerror


def test_signal_the_moment_the_socket_appears(tmp):
    """systemctl reload or signet-keys right after a start: the signal may arrive the
    moment the socket exists.  The daemon must already be ready for it -- SIGHUP reloads,
    SIGTERM stops cleanly -- and the PID file must already hold its pid."""
    starts = 20
    for sig, name in ((signal.SIGHUP, "sighup"), (signal.SIGTERM, "sigterm")):
        died = no_pid = failed = 0
        diag = []
        for i in range(starts):
            path = socket_path_in(tmp, "early-%s-%d" % (name, i))
            pidfile = os.path.join(os.path.dirname(path), "signet.pid")
            d = Daemon(tmp, unix_conf(tmp, path) + "PidFile %s\n" % pidfile,
                       "early-%s-%d" % (name, i))
            try:
                if not wait_path(path) or d.proc.poll() is not None:
                    failed += 1
                    diag.append("start %d: no socket, exit %r\n%s" % (i, d.proc.poll(), d.log()))
                    continue
                d.proc.send_signal(sig)
                seen = pid_in(pidfile)
                if seen.strip() != str(d.proc.pid):
                    no_pid += 1
                    diag.append("start %d: PID file held %r when the socket appeared, want %d"
                                % (i, seen, d.proc.pid))
                if sig == signal.SIGHUP:
                    ok = d.wait_log("reloaded", timeout=30) and d.proc.poll() is None and \
                        wait_listening("unix:" + path)
                    code = d.proc.poll()
                else:
                    code = d.exit_status(timeout=70)
                    ok = code == 0
                if not ok:
                    died += 1
                    diag.append("start %d: exit %r\n%s" % (i, code, d.log()))
            finally:
                d.stop()
        tap(failed == 0 and died == 0,
            "%s_the_moment_the_socket_appears_%s" % (name, "reloads" if sig == signal.SIGHUP
                                                      else "stops_cleanly"),
            "%d of %d starts went wrong, %d did not start\n%s"
            % (died, starts, failed, "\n".join(diag[:3])))
        tap(failed == 0 and no_pid == 0, "pid_file_is_written_before_the_socket_appears_" + name,
            "%d of %d starts had no PID file yet\n%s" % (no_pid, starts, "\n".join(diag[:3])))


def alive(pid):
    """True while pid runs (not yet exited, or a zombie nobody reaped yet)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def wait_until(cond, timeout=30):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.05)
    return cond()


class HeldSession(milterclient.Session):
    """Calls pause() once, just before end of message."""
    pause = None

    def _send(self, cmd, data=b""):
        if cmd == milterclient.SMFIC_BODYEOB and self.pause is not None:
            pause, self.pause = self.pause, None
            pause()
        return super()._send(cmd, data)


def test_drain_waits_for_a_held_refusal(tmp):
    """Mode sv without RateLimits: MAIL, RCPT and end of headers get no reply.  A message
    whose MAIL comes during a drain is refused at end of message, and the drain waits for
    that refusal to be said even once the message that was in flight has ended."""
    store = os.path.join(tmp, "keys")  # made by test_reload
    path = socket_path_in(tmp, "held")
    spec = "unix:" + path
    d = Daemon(tmp, "Socket %s\nKeystore %s\nLogLevel debug\nMode sv\n"
               "Nameservers 127.0.0.1@%d\nDNSTimeout 1\n" % (spec, store, free_port()),
               "held")
    try:
        if not tap(wait_listening(spec), "held_daemon_listens", d.log()):
            return
        first = PausingSession(spec)
        first.open()
        first.connect("127.0.0.1", helo="mta.example")
        late = HeldSession(spec)
        late.open()
        late.connect("127.0.0.1", helo="mta.example")
        go_on = threading.Event()
        results = {}

        def first_message():
            first.pause = go_on.wait
            results["first"] = first.message(message("a.example", "inflight-sv"),
                                             "x@a.example", ["r@example.net"],
                                             queue_id="HELDFIRST")

        t = threading.Thread(target=first_message)
        t.start()
        began = d.wait_log("HELDFIRST: message from", timeout=30)
        d.proc.send_signal(signal.SIGTERM)
        d.wait_log("letting messages in flight finish", timeout=30)

        def finish_first():
            go_on.set()
            t.join(timeout=30)

        late.pause = finish_first
        r2 = late.message(message("a.example", "late-sv"), "x@a.example", ["r@example.net"])
        go_on.set()
        t.join(timeout=30)
        r1 = results.get("first")
        tap(began and r1 is not None and r1.action == "accept" and
            signed_selectors(r1) == ["sa"], "sv_message_in_flight_at_sigterm_finishes_signed",
            (began, r1))
        tap(r2 is not None and r2.action == "tempfail" and r2.stage == "eom" and
            "4.3.2" in str(r2.reply),
            "sv_message_begun_in_the_drain_refused_at_eom_after_the_other_ended", r2)
        code = close_and_wait_exit(d, (first, late))
        tap(code == 0, "held_daemon_exits_cleanly_after_draining",
            "exit %r\n%s" % (code, d.log()))
    finally:
        d.stop()


def test_detached_start(tmp):
    """Without -f the starting process exits only once the daemon is ready: PID file
    written with the daemon's pid, socket listening, signals handled.  A start that fails
    after the fork is the starting process's exit status."""
    path = socket_path_in(tmp, "detached")
    pidfile = os.path.join(os.path.dirname(path), "signet.pid")
    conf = os.path.join(tmp, "detached.conf")
    with open(conf, "w") as f:
        # Mode sv: the resolver is built during start-up, as in production.
        f.write(unix_conf(tmp, path).replace("Mode s\n", "Mode sv\n") +
                "PidFile %s\nNameservers 127.0.0.1@%d\nDNSTimeout 1\n" % (pidfile, free_port()))
    log = open(os.path.join(tmp, "detached.log"), "w")
    pid = None
    try:
        code = subprocess.run([SIGNET, "-c", conf], stdout=subprocess.DEVNULL, stderr=log,
                              timeout=120).returncode
        text = pid_in(pidfile)
        pid = int(text) if text.strip().isdigit() else None
        listening = os.path.exists(path) and wait_listening("unix:" + path, timeout=1)
        tap(code == 0 and pid is not None and alive(pid) and listening,
            "detached_start_returns_once_pid_file_and_socket_are_ready",
            "exit %r, PID file %r, socket listening %r" % (code, text, listening))
        if pid is None:
            return
        os.kill(pid, signal.SIGHUP)
        ok = False
        with milterclient.Session("unix:" + path) as s:
            s.connect("127.0.0.1", helo="mta.example")
            r = s.message(message("a.example"), "x@a.example", ["r@example.net"])
            ok = signed_selectors(r) == ["sa"]
        tap(ok and alive(pid), "detached_daemon_survives_sighup_sent_as_its_start_returns")
        os.kill(pid, signal.SIGTERM)
        tap(wait_until(lambda: not alive(pid), 70) and not os.path.exists(pidfile),
            "detached_daemon_stops_on_sigterm_and_removes_its_pid_file",
            "alive %r, PID file %r" % (alive(pid), pid_in(pidfile)))
    finally:
        if pid is not None and alive(pid):
            os.kill(pid, signal.SIGKILL)

    with open(conf, "a") as f:
        f.write("UserID no-such-user-for-signet\n")
    code = subprocess.run([SIGNET, "-c", conf], stdout=subprocess.DEVNULL, stderr=log,
                          timeout=120).returncode
    tap(code == 1 and not os.path.exists(pidfile),
        "detached_start_failing_after_the_fork_exits_1_without_pid_file",
        "exit %r, PID file %r" % (code, pid_in(pidfile)))


def test_second_start_leaves_the_pid_file(tmp):
    """A second signet started with the same PidFile must not replace the pid of the one
    that runs (the PID file is written before the socket opens, so this is checked)."""
    pidfile = os.path.join(tmp, "second.pid")
    store = os.path.join(tmp, "keys")
    first_spec = "inet:%d@127.0.0.1" % free_port()
    first = Daemon(tmp, "Socket %s\nKeystore %s\nMode s\nPidFile %s\n"
                   % (first_spec, store, pidfile), "first")
    try:
        tap(wait_listening(first_spec), "first_daemon_listens", first.log())
        second = Daemon(tmp, "Socket inet:%d@127.0.0.1\nKeystore %s\nMode s\nPidFile %s\n"
                        % (free_port(), store, pidfile), "second")
        code = second.exit_status()
        second.stop()
        tap(code == 1 and "locked by a running signet (pid %d)" % first.proc.pid in
            second.log() and pid_in(pidfile).strip() == str(first.proc.pid),
            "second_start_refused_pid_file_keeps_the_running_pid",
            "exit %r, PID file %r\n%s" % (code, pid_in(pidfile), second.log()))
    finally:
        first.stop()


def metric(text, name):
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    return None


def test_metrics(tmp):
    store = os.path.join(tmp, "keys")
    spec = "inet:%d@127.0.0.1" % free_port()
    mport = free_port()
    dead = free_port()  # nothing answers DNS here: inbound checks end in temperror
    d = Daemon(tmp, "Socket %s\nKeystore %s\nLogLevel debug\nMode sv\n"
               "MetricsListen 127.0.0.1:%d\nNameservers 127.0.0.1@%d\nDNSTimeout 1\n"
               "InternalHosts 127.0.0.1\n" % (spec, store, mport, dead), "metrics")
    try:
        tap(wait_listening(spec), "metrics_daemon_listens", d.log())
        with milterclient.Session(spec) as s:
            s.connect("127.0.0.1", helo="mta.example")
            for i in range(2):
                s.message(message("a.example", "m%d" % i), "x@a.example", ["r@example.net"])
        with milterclient.Session(spec) as s:
            s.connect("127.0.0.9", helo="mta.example")
            r = s.message(message("a.example", "in"), "x@a.example", ["r@example.net"])
        out = subprocess.run(["curl", "-sS", "-i", "http://127.0.0.1:%d/metrics" % mport],
                             capture_output=True, text=True, timeout=20)
        text = out.stdout
        tap(out.returncode == 0 and "200" in text.splitlines()[0] and
            "text/plain; version=0.0.4" in text,
            "metrics_served_over_http_to_curl", out.stdout[:300] + out.stderr)
        tap(metric(text, 'signet_messages_total{direction="outbound",verdict="signed"}') == 2,
            "metrics_count_signed_outbound_messages", text)
        tap(metric(text, 'signet_signatures_total{algorithm="ed25519-sha256"}') == 2,
            "metrics_count_signatures_by_algorithm", text)
        tap(r.action == "accept" and
            metric(text, 'signet_messages_total{direction="inbound",verdict="accept"}') == 1,
            "metrics_count_inbound_verdicts", text)
        tap((metric(text, "signet_dns_queries_total") or 0) >= 1 and
            metric(text, "signet_dns_timeouts_total") is not None,
            "metrics_count_dns_queries_and_timeouts", text)
        tap(metric(text, "signet_message_duration_seconds_count") == 3,
            "metrics_latency_histogram_counts_every_message", text)
    finally:
        d.stop()


def main():
    tmp = tempfile.mkdtemp(prefix="signet-daemon-")
    for test in (test_reload, test_sigterm_drain, test_drain_waits_for_a_held_refusal,
                 test_signals_with_verifying, test_metrics,
                 test_unix_socket_and_user, test_unix_socket_directory,
                 test_unix_socket_symlinks, test_signal_the_moment_the_socket_appears,
                 test_detached_start, test_second_start_leaves_the_pid_file,
                 test_new_connection_after_quit_nc):
        try:
            test(tmp)
        except Exception as e:  # the harness itself failing is a test failure
            tap(False, test.__name__ + "_ran", repr(e))
    return tap.plan()


if __name__ == "__main__":
    sys.exit(main())
