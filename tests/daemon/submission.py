#!/usr/bin/python3
"""
NAME
    submission.py - authenticated submissions through the real daemon (issue 18): the
    From a user may use, rate limits at RCPT and at end of message, freed by moving the
    test clock, the exact AuditLog lines, counters kept across SIGHUP, two daemons sharing
    one Redis, and Redis stopped under RateLimitStoreDown accept and tempfail

DESCRIPTION
    The daemons run with SIGNET_TEST_NOW_FILE (signet(8), ENVIRONMENT): the clock of the
    limits is the number in that file, so a window passes by writing a larger one, never
    by sleeping.  Redis is a private redis-server on a free loopback port, without
    persistence, stopped at the end.  Emits TAP.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "milter"))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import milterclient  # noqa: E402
from signettest import Daemon, Tap, free_port, start_redis, wait_listening  # noqa: E402

TOP_BUILDDIR = os.environ.get("top_builddir", os.path.join(HERE, "..", ".."))
KEYS_TOOL = os.path.join(TOP_BUILDDIR, "keys", "signet-keys")
T0 = 1790000000
TLS = ("TLSv1.3", "TLS_AES_256_GCM_SHA384")

tap = Tap()


def keys(store, *args):
    return subprocess.run([KEYS_TOOL, "-k", store] + list(args), capture_output=True,
                          text=True, check=True).stdout.strip()


def message(from_value, msgid):
    return ("From: %s\r\nTo: rcpt@example.net\r\nSubject: test\r\n"
            "Date: Fri, 27 Nov 2026 07:00:00 +0000\r\nMessage-ID: <%s>\r\n\r\nbody\r\n"
            % (from_value, msgid)).encode()


def signed(res):
    return res.action == "accept" and any(n.lower() == "dkim-signature"
                                          for _, n, _ in res.inserted)


class Clock:
    def __init__(self, path):
        self.path = path
        self.set(T0)

    def set(self, now):
        self.now = now
        with open(self.path + ".tmp", "w") as f:
            f.write("%d\n" % now)
        os.rename(self.path + ".tmp", self.path)

    def advance(self, seconds):
        self.set(self.now + seconds)


def audit(clock, user, from_, rcpts, msgid, qid, verdict, tls=TLS, mech="PLAIN"):
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(clock.now))
    return json.dumps({"time": stamp, "user": user, "mechanism": mech,
                       "client": "192.0.2.10", "tls_version": tls[0] if tls else "none",
                       "cipher": tls[1] if tls else "none", "from": from_,
                       "recipients": rcpts, "message_id": msgid, "queue_id": qid,
                       "verdict": verdict}, separators=(",", ":"))


class Sender:
    """One MTA connection to a daemon; send() numbers queue ids and Message-IDs."""
    count = 0

    def __init__(self, spec):
        self.s = milterclient.Session(spec)
        self.s.connect("192.0.2.10", helo="client.example")

    def send(self, user, from_value, rcpts=1, tls=TLS):
        Sender.count += 1
        qid = "Q%04d" % Sender.count
        msgid = "m%d@example.org" % Sender.count
        res = self.s.message(message(from_value, msgid), "x@example.org",
                             ["r%d@example.net" % i for i in range(rcpts)],
                             auth_authen=user, queue_id=qid, tls=tls)
        return res, qid, "<%s>" % msgid

    def close(self):
        self.s.close()


def rcpt_refusals(res):
    return [o[3].rstrip(b"\0").decode() for o in res.other if o[0] == "rcpt-refused"]


def memory_store(tmp, store, clock, env):
    auditlog = os.path.join(tmp, "audit.json")
    spec = "inet:%d@127.0.0.1" % free_port()
    metrics_port = free_port()
    base = ("Socket %s\nKeystore %s\nMode s\nLogLevel debug\nSenderMap %s/sendermap\n"
            "RateLimits %s/ratelimits\nAuditLog %s\nMetricsListen %d\n"
            % (spec, store, tmp, tmp, auditlog, metrics_port))
    d = Daemon(tmp, base, "memory", env=env)
    want = []
    try:
        if not tap(wait_listening(spec), "daemon_with_submission_keys_starts", d.log()):
            return
        c = Sender(spec)
        res, qid, mid = c.send("alice@example.org", "Alice <alice@example.org>")
        tap(signed(res), "authorized_sender_signed", res)
        want.append(audit(clock, "alice@example.org", "alice@example.org", 1, mid, qid,
                          "signed"))
        res, qid, mid = c.send("alice@example.org", "CEO <ceo@example.net>")
        tap(res.action == "accept" and not signed(res), "mismatched_from_not_signed", res)
        want.append(audit(clock, "alice@example.org", "ceo@example.net", 1, mid, qid,
                          "not signed: unauthorized From"))
        tap("From <ceo@example.net> is not authorized for user alice@example.org" in d.log(),
            "mismatched_from_logged", d.log())

        for _ in range(2):
            res, qid, mid = c.send("carol@example.org", "carol@example.org")
            want.append(audit(clock, "carol@example.org", "carol@example.org", 1, mid, qid,
                              "signed"))
        res, qid, mid = c.send("carol@example.org", "carol@example.org")
        tap(res.action == "tempfail" and res.reply.startswith("451 4.7.1 ") and
            "msg/min" in res.reply and "try again in" in res.reply,
            "msg_limit_tempfails_at_end_of_message", res)
        want.append(audit(clock, "carol@example.org", "carol@example.org", 1, mid, qid,
                          "rate-limited"))
        clock.advance(120)
        res, qid, mid = c.send("carol@example.org", "carol@example.org")
        tap(signed(res), "msg_limit_freed_after_the_window_by_the_test_clock", res)
        want.append(audit(clock, "carol@example.org", "carol@example.org", 1, mid, qid,
                          "signed"))

        res, qid, mid = c.send("dave@example.org", "dave@example.org", rcpts=3)
        refused = rcpt_refusals(res)
        tap(len(refused) == 1 and refused[0].startswith("451 4.7.1 ") and
            "rcpt/hour" in refused[0] and signed(res),
            "rcpt_limit_refuses_the_third_recipient_at_rcpt", (res, refused))
        want.append(audit(clock, "dave@example.org", "dave@example.org", 2, mid, qid,
                          "signed"))
        c.close()

        # SIGHUP with SenderMismatch reject: the counters stay, the policy changes
        with open(d.conf, "a") as f:
            f.write("SenderMismatch reject\n")
        d.proc.send_signal(signal.SIGHUP)
        tap(d.wait_log("generation 2"), "reload_with_sender_mismatch_reject", d.log())
        c = Sender(spec)
        res, qid, mid = c.send("dave@example.org", "dave@example.org", rcpts=1)
        tap(res.action == "tempfail" and res.stage == "rcpt" and "rcpt/hour" in res.reply,
            "rate_counters_survive_sighup", res)
        want.append(audit(clock, "dave@example.org", "", 0, "", qid, "rate-limited"))
        clock.advance(2 * 3600)
        res, qid, mid = c.send("dave@example.org", "dave@example.org", rcpts=1)
        tap(signed(res), "rcpt_limit_freed_after_the_window_by_the_test_clock", res)
        want.append(audit(clock, "dave@example.org", "dave@example.org", 1, mid, qid,
                          "signed"))
        res, qid, mid = c.send("alice@example.org", "CEO <ceo@example.net>")
        tap(res.action == "reject" and res.reply.startswith("550 5.7.1 ") and
            "ceo@example.net" in res.reply, "mismatched_from_rejected_550_naming_it", res)
        want.append(audit(clock, "alice@example.org", "ceo@example.net", 1, mid, qid,
                          "rejected: unauthorized From"))
        res, qid, mid = c.send("bob@example.org", "bob@example.org", tls=None)
        res2, qid2, mid2 = c.send("bob@example.org", "bob@example.org", tls=None)
        tap(signed(res) and signed(res2) and d.log().count("without TLS") == 1,
            "auth_without_tls_warned_once_per_connection", d.log())
        want.append(audit(clock, "bob@example.org", "bob@example.org", 1, mid, qid,
                          "signed", tls=None))
        want.append(audit(clock, "bob@example.org", "bob@example.org", 1, mid2, qid2,
                          "signed", tls=None))
        c.close()
        tap("user alice@example.org submits from 192.0.2.0/24" in d.log(),
            "new_client_network_warned", d.log())
        with open(auditlog) as f:
            got = f.read().splitlines()
        tap(got == want, "audit_log_holds_exactly_the_expected_lines",
            "\n".join(["got:"] + got + ["want:"] + want))
        scrape = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % metrics_port,
                                        timeout=10).read().decode()
        series = ['signet_submissions_total{verdict="signed"} 8',
                  'signet_submissions_total{verdict="unauthorized_from"} 1',
                  'signet_submissions_total{verdict="rejected"} 1',
                  'signet_submissions_total{verdict="rate_limited"} 2',
                  'signet_rate_limit_trips_total{limit="msg/min"} 1',
                  'signet_rate_limit_trips_total{limit="rcpt/hour"} 2',
                  'signet_unauthorized_from_total 2', 'signet_auth_without_tls_total 1',
                  'signet_new_client_networks_total 4', 'signet_rate_store_errors_total 0']
        lines = scrape.splitlines()
        tap(all(x in lines for x in series) and "example.org" not in scrape,
            "metrics_count_submissions_by_verdict_and_trips_by_limit_never_by_user",
            "\n".join([x for x in series if x not in lines] +
                      [x for x in lines if "submission" in x or "rate" in x]))
    finally:
        d.stop()


def shared_redis(tmp, store, clock, env):
    if shutil.which("redis-server") is None:
        print("# SKIP redis-server not installed")
        return
    redis, port = start_redis(tmp)
    if not tap(redis is not None, "private_redis_server_starts"):
        return
    daemons = []
    try:
        specs = []
        for name, down in (("fleet1", "accept"), ("fleet2", "tempfail")):
            spec = "inet:%d@127.0.0.1" % free_port()
            d = Daemon(tmp, "Socket %s\nKeystore %s\nMode s\nLogLevel debug\n"
                       "RateLimits %s/ratelimits\nRateLimitStore redis://127.0.0.1:%d/0\n"
                       "RateLimitStoreDown %s\n" % (spec, store, tmp, port, down),
                       name, env=env)
            daemons.append(d)
            specs.append(spec)
        if not tap(all(wait_listening(s) for s in specs), "two_daemons_on_one_redis_start",
                   "\n".join(d.log() for d in daemons)):
            return
        a, b = Sender(specs[0]), Sender(specs[1])
        r1 = a.send("carol@example.org", "carol@example.org")[0]
        r2 = b.send("carol@example.org", "carol@example.org")[0]
        r3 = a.send("carol@example.org", "carol@example.org")[0]
        tap(signed(r1) and signed(r2) and r3.action == "tempfail" and "msg/min" in r3.reply,
            "one_users_limit_holds_across_two_daemons", (r1, r2, r3))
        r0 = a.send("alice@example.net", "ceo@example.org")[0]
        tap(signed(r0), "without_sender_map_every_from_is_signed_as_before", r0)
        redis.terminate()
        redis.wait(timeout=20)
        r4 = a.send("alice@example.org", "alice@example.org")[0]
        tap(signed(r4) and daemons[0].wait_log("rate limit store"),
            "redis_down_accept_signs_and_logs", (r4, daemons[0].log()))
        r5 = b.send("alice@example.org", "alice@example.org")[0]
        tap(r5.action == "tempfail" and r5.stage == "rcpt" and "4.3.0" in (r5.reply or ""),
            "redis_down_tempfail_451_4_3_0", r5)
        a.close()
        b.close()
    finally:
        for d in daemons:
            d.stop()
        if redis.poll() is None:
            redis.kill()
            redis.wait()


def rate_limits_set_by_a_reload(tmp, store, env, mode):
    """Without RateLimits RCPT gets no reply (milter/adapter.c); a reload that sets them
    while that MTA connection lasts makes a refused recipient refuse the whole message
    at the next step answered (end of headers in Mode s, end of message in Mode sv,
    where end of headers gets no reply either), and a new connection is answered at
    RCPT again."""
    spec = "unix:%s/reload-limits-%s.sock" % (tmp, mode)
    limits = os.path.join(tmp, "ratelimits-reload")
    with open(limits, "w") as f:
        f.write("*  rcpt/hour=1\n")
    d = Daemon(tmp, "Socket %s\nKeystore %s\nMode %s\nLogLevel debug\n"
               % (spec, store, mode), "reload-limits-" + mode, env=env)
    stage = {"s": "eoh", "sv": "eom"}[mode]
    try:
        if not tap(wait_listening(spec), "mode_%s_daemon_without_rate_limits_starts" % mode,
                   d.log()):
            return
        c = Sender(spec)
        eoh_quiet = c.s.protocol & milterclient.SMFIP_NR_EOH != 0
        tap(c.s.protocol & milterclient.SMFIP_NR_RCPT != 0 and eoh_quiet == (mode == "sv"),
            "mode_%s_without_rate_limits_rcpt_gets_no_reply_eoh_%s"
            % (mode, "neither" if mode == "sv" else "does"), "protocol 0x%x" % c.s.protocol)
        res, _, _ = c.send("erin-%s@example.org" % mode, "erin-%s@example.org" % mode,
                           rcpts=2)
        tap(signed(res), "mode_%s_without_rate_limits_two_recipients_signed" % mode, res)
        with open(d.conf, "a") as f:
            f.write("RateLimits %s\n" % limits)
        d.proc.send_signal(signal.SIGHUP)
        tap(d.wait_log("generation 2"), "mode_%s_reload_sets_rate_limits" % mode, d.log())
        res, _, _ = c.send("erin-%s@example.org" % mode, "erin-%s@example.org" % mode,
                           rcpts=2)
        tap(res.action == "tempfail" and res.stage == stage and
            res.reply.startswith("451 4.7.1 ") and "rcpt/hour" in res.reply and
            not signed(res),
            "mode_%s_recipient_refused_without_rcpt_reply_refuses_the_message_at_%s"
            % (mode, stage), res)
        res, _, _ = c.send("frank-%s@example.org" % mode, "frank-%s@example.org" % mode,
                           rcpts=1)
        tap(signed(res), "mode_%s_next_message_on_that_connection_signed" % mode, res)
        c.close()
        c = Sender(spec)
        tap(c.s.protocol & milterclient.SMFIP_NR_RCPT == 0,
            "mode_%s_with_rate_limits_a_new_connection_answers_rcpt" % mode,
            "protocol 0x%x" % c.s.protocol)
        res, _, _ = c.send("erin-%s@example.org" % mode, "erin-%s@example.org" % mode,
                           rcpts=1)
        tap(res.action == "tempfail" and res.stage == "rcpt" and "rcpt/hour" in res.reply,
            "mode_%s_then_the_recipient_is_refused_at_rcpt" % mode, res)
        c.close()
    finally:
        d.stop()


def check_only_reports_map_errors(tmp, store):
    """signet -n names the file and line of a bad SenderMap or RateLimits line."""
    for key, name, text, want in (
            ("SenderMap", "badmap", "bob@example.org @example.org\nbob@example.org x@y.z\n",
             ":2: "),
            ("RateLimits", "badlimits", "# default\n*  msg/min=lots\n", ":2: ")):
        path = os.path.join(tmp, name)
        with open(path, "w") as f:
            f.write(text)
        conf = os.path.join(tmp, name + ".conf")
        with open(conf, "w") as f:
            f.write("Keystore %s\nMode s\n%s %s\n" % (store, key, path))
        p = subprocess.run([os.path.join(TOP_BUILDDIR, "milter", "signet"), "-c", conf, "-n"],
                           capture_output=True, text=True)
        tap(p.returncode == 1 and (path + want) in p.stderr,
            "check_only_reports_%s_errors_with_file_and_line" % key.lower(),
            (p.returncode, p.stdout, p.stderr))


def main():
    tmp = tempfile.mkdtemp(prefix="signet-submission-")
    try:
        store = os.path.join(tmp, "keys")
        sel = keys(store, "generate", "example.org", "-a", "ed25519", "-s", "s1")
        keys(store, "activate", "example.org", sel, "--force")
        with open(os.path.join(tmp, "sendermap"), "w") as f:
            f.write("# bob may use his domain and its subdomains\n"
                    "bob@example.org  @example.org  *@*.example.org\n")
        with open(os.path.join(tmp, "ratelimits"), "w") as f:
            f.write("*  msg/min=100 rcpt/hour=100\ncarol@example.org  msg/min=2\n"
                    "dave@example.org  rcpt/hour=2\n")
        check_only_reports_map_errors(tmp, store)
        clock = Clock(os.path.join(tmp, "now"))
        env = dict(os.environ, SIGNET_TEST_NOW_FILE=clock.path)
        memory_store(tmp, store, clock, env)
        for mode in ("s", "sv"):
            rate_limits_set_by_a_reload(tmp, store, env, mode)
        shared_redis(tmp, store, clock, env)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return tap.plan()


if __name__ == "__main__":
    sys.exit(main())
