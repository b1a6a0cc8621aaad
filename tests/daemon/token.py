#!/usr/bin/python3
"""
NAME
    token.py - DKIM keys in a PKCS#11 token (SoftHSM): signet-keys and the daemon

DESCRIPTION
    Makes a private SoftHSM token (SOFTHSM2_CONF in a temporary directory), then:
      - signet-keys generate --token makes an RSA-2048 and an Ed25519 key there: no .key
        file, the .meta records the PKCS#11 URI, list -l shows it, dns prints records,
        activate, rotate (the new key is on the token too), retire and status work;
      - pkcs11-tool, reading the token itself, says the private keys are sensitive and
        never extractable;
      - the daemon, whose active keys are both on the token, signs a message twice and
        both signatures verify with dkimpy and with Mail::DKIM against NSD serving the
        records that "signet-keys dns" prints;
      - a wrong PIN stops the daemon at start-up with a sentence naming PKCS11PinFile;
      - a SIGHUP with a PIN file holding a wrong PIN is refused, and mail is still
        signed with the running keys.
    A missing softhsm2-util, pkcs11-tool or NSD is a failure, not a skip.  Emits TAP.
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP_SRCDIR = os.environ.get("top_srcdir", os.path.join(HERE, "..", ".."))
TOP_BUILDDIR = os.environ.get("top_builddir", TOP_SRCDIR)
sys.path.insert(0, os.path.join(TOP_SRCDIR, "tests", "milter"))
sys.path.insert(0, os.path.join(TOP_SRCDIR, "tests", "lib"))
import milterclient  # noqa: E402
from signettest import Daemon, Tap, free_port, start_nsd, wait_listening  # noqa: E402

KEYS_TOOL = os.path.join(TOP_BUILDDIR, "keys", "signet-keys")
MODULE = "/usr/lib/softhsm/libsofthsm2.so"
LABEL = "signet-daemon"
PIN = "2468"
DOMAIN = "token.example"

tap = Tap(max_diag=30)


def run(*args, env=None):
    return subprocess.run(list(args), capture_output=True, text=True, env=env,
                          stdin=subprocess.DEVNULL)


def make_token(tmp):
    """SOFTHSM2_CONF for this test only; None and a reason when SoftHSM is missing."""
    conf = os.path.join(tmp, "softhsm2.conf")
    os.makedirs(os.path.join(tmp, "tokens"))
    with open(conf, "w") as f:
        f.write("directories.tokendir = %s/tokens\nobjectstore.backend = file\n"
                "log.level = ERROR\n" % tmp)
    env = dict(os.environ, SOFTHSM2_CONF=conf,
               # SoftHSM leaks inside itself at every EdDSA C_SignInit (tests/lsan.supp).
               ASAN_OPTIONS="fast_unwind_on_malloc=0",
               LSAN_OPTIONS="suppressions=%s/tests/lsan.supp" % os.path.abspath(TOP_SRCDIR))
    if shutil.which("softhsm2-util") is None or not os.path.exists(MODULE):
        return None, "softhsm2 is not installed (apt-get install softhsm2)"
    r = run("softhsm2-util", "--init-token", "--free", "--label", LABEL, "--pin", PIN,
            "--so-pin", "1357", env=env)
    if r.returncode != 0:
        return None, r.stdout + r.stderr
    return env, ""


def write_pin(path, pin):
    with open(path, "w") as f:
        f.write(pin + "\n")
    os.chmod(path, 0o600)


def keys_cmd(env, conf, *args):
    return run(KEYS_TOOL, "-c", conf, *args, env=env)


def check_tool(env, conf, store):
    """signet-keys on token keys; returns the selectors made (rsa, ed) or None."""
    r1 = keys_cmd(env, conf, "generate", DOMAIN, "--token", "-s", "rsa1")
    r2 = keys_cmd(env, conf, "generate", DOMAIN, "--token", "-s", "ed1", "-a", "ed25519")
    if not tap(r1.returncode == 0 and r2.returncode == 0, "generate_token_keys",
               r1.stderr + r2.stderr):
        return None
    meta = open(os.path.join(store, DOMAIN, "rsa1.meta")).read()
    tap(re.search(r"^uri pkcs11:token=%s;id=[^;]+;object=[^;]+;type=private$" % LABEL,
                  meta, re.M) is not None
        and not os.path.exists(os.path.join(store, DOMAIN, "rsa1.key")),
        "token_key_recorded_by_uri_without_key_file", meta)
    lst = keys_cmd(env, conf, "list", "-l").stdout
    tap(re.search(r"^%s ed1 ed25519 pending .* token=pkcs11:token=%s;" % (DOMAIN, LABEL),
                  lst, re.M) and re.search(r"^%s rsa1 rsa-2048 pending .* token=pkcs11:"
                                           % DOMAIN, lst, re.M),
        "list_l_shows_token_uri", lst)
    dns = keys_cmd(env, conf, "dns", DOMAIN)
    tap(dns.returncode == 0 and "rsa1._domainkey.%s. IN TXT \"v=DKIM1; k=rsa; p=MIIB" % DOMAIN
        in dns.stdout and "ed1._domainkey.%s. IN TXT \"v=DKIM1; k=ed25519; p=" % DOMAIN
        in dns.stdout, "dns_reads_public_keys_from_token", dns.stdout + dns.stderr)
    ok = all(keys_cmd(env, conf, "activate", DOMAIN, s, "--force").returncode == 0
             for s in ("rsa1", "ed1"))
    lst = keys_cmd(env, conf, "list").stdout
    tap(ok and lst.count(" active\n") == 2, "activate_token_keys", lst)
    rot = keys_cmd(env, conf, "rotate", DOMAIN, "-a", "rsa-2048")
    new = rot.stdout.strip()
    newmeta = os.path.join(store, DOMAIN, new + ".meta") if new else ""
    tap(rot.returncode == 0 and new and "uri pkcs11:" in open(newmeta).read(),
        "rotate_makes_the_next_key_on_the_token", rot.stdout + rot.stderr)
    st = keys_cmd(env, conf, "status", DOMAIN, "--nameserver", "127.0.0.1@1")
    tap("%s rsa1 active: signs (rsa-2048)" % DOMAIN in st.stdout
        and "%s %s pending" % (DOMAIN, new) in st.stdout, "status_covers_token_keys",
        st.stdout + st.stderr)
    # The rotated key is retired again straight away; keys stay as they were for signing.
    keys_cmd(env, conf, "activate", DOMAIN, new, "--force")
    ret = keys_cmd(env, conf, "retire", DOMAIN, new, "--force")
    keys_cmd(env, conf, "activate", DOMAIN, "rsa1", "--force")
    lst = keys_cmd(env, conf, "list").stdout
    tap(ret.returncode == 0 and "%s %s rsa-2048 retired" % (DOMAIN, new) in lst
        and "%s rsa1 rsa-2048 active" % DOMAIN in lst, "retire_token_key", ret.stderr + lst)
    tool = shutil.which("pkcs11-tool")
    if not tap(tool is not None, "pkcs11_tool_installed (apt-get install opensc)"):
        return "rsa1", "ed1"
    r = run(tool, "--module", MODULE, "--token-label", LABEL, "--login", "--pin", PIN,
            "--list-objects", "--type", "privkey", env=env)
    blocks = [b for b in r.stdout.split("Private Key Object") if "label:" in b]
    tap(len(blocks) == 3 and all("sensitive" in b and "never extractable" in b
                                 and "Usage:      sign\n" in b for b in blocks),
        "token_says_private_keys_are_sensitive_and_never_extractable", r.stdout + r.stderr)
    return "rsa1", "ed1"


def send(spec, n):
    msg = ("From: Tok <t@%s>\r\nTo: r@example.net\r\nSubject: token %d\r\n"
           "Date: Sat, 05 Dec 2026 07:00:00 +0000\r\nMessage-ID: <t%d@%s>\r\n\r\n"
           "signed through the token %d\r\n" % (DOMAIN, n, n, DOMAIN, n)).encode()
    with milterclient.Session(spec) as s:
        s.connect("127.0.0.1", helo="mta.example")
        r = s.message(msg, "t@" + DOMAIN, ["r@example.net"])
    sigs = [v for _, name, v in r.inserted if name.lower() == "dkim-signature"]
    return r, sigs


def verify(tmp, port, name, message):
    path = os.path.join(tmp, name + ".eml")
    with open(path, "wb") as f:
        f.write(message)
    py = run("/usr/bin/python3", os.path.join(TOP_SRCDIR, "tests", "lib", "verify-dkimpy.py"),
             "127.0.0.1", str(port), path)
    pl = run("perl", os.path.join(TOP_SRCDIR, "tests", "lib", "verify-maildkim.pl"),
             "127.0.0.1", str(port), path)
    return py, pl


def check_signing(tmp, env, conf_text, records):
    spec = "inet:%d@127.0.0.1" % free_port()
    d = Daemon(tmp, "Socket %s\n%s" % (spec, conf_text), "signet", env=env)
    try:
        if not tap(wait_listening(spec), "daemon_starts_with_token_keys", d.log()):
            return
        nsd_port, nsd_pid = start_nsd(os.path.join(tmp, "dns"), {DOMAIN: records})
        try:
            r, sigs = send(spec, 1)
            tap(len(sigs) == 2 and any("a=rsa-sha256" in s for s in sigs)
                and any("a=ed25519-sha256" in s for s in sigs),
                "message_signed_with_both_token_keys", "%r\n%s" % (sigs, d.log()))
            py, pl = verify(tmp, nsd_port, "first", r.message)
            tap(py.returncode == 0 and py.stdout.count(" pass") == 2,
                "token_signatures_verify_with_dkimpy", py.stdout + py.stderr)
            tap(pl.returncode == 0 and pl.stdout.count(" pass") == 2,
                "token_signatures_verify_with_mail_dkim", pl.stdout + pl.stderr)
            write_pin(os.path.join(tmp, "pin"), "9999")
            d.proc.send_signal(signal.SIGHUP)
            refused = d.wait_log("reload refused", timeout=20)
            tap(refused and "PKCS11PinFile" in d.log(),
                "reload_with_wrong_pin_is_refused_naming_the_setting", d.log())
            r, sigs = send(spec, 2)
            py, pl = verify(tmp, nsd_port, "second", r.message)
            tap(len(sigs) == 2 and py.stdout.count(" pass") == 2
                and pl.stdout.count(" pass") == 2, "running_token_keys_sign_after_refused_reload",
                py.stdout + pl.stdout + d.log())
            write_pin(os.path.join(tmp, "pin"), PIN)
        finally:
            os.kill(nsd_pid, signal.SIGTERM)
    finally:
        d.stop()


def check_wrong_pin_at_start(tmp, env, conf_text):
    write_pin(os.path.join(tmp, "pin"), "9999")
    spec = "inet:%d@127.0.0.1" % free_port()
    d = Daemon(tmp, "Socket %s\n%s" % (spec, conf_text), "wrongpin", env=env)
    status = d.exit_status(timeout=30)
    d.stop()
    log = d.log()
    tap(status not in (None, 0) and "PKCS11PinFile" in log and "wrong PIN" in log,
        "wrong_pin_stops_start_up_naming_the_setting", "exit %r\n%s" % (status, log))
    write_pin(os.path.join(tmp, "pin"), PIN)


def main():
    tmp = tempfile.mkdtemp(prefix="signet-token-")
    try:
        env, why = make_token(tmp)
        if not tap(env is not None, "softhsm_token_made", why):
            return tap.plan()
        store = os.path.join(tmp, "keys")
        write_pin(os.path.join(tmp, "pin"), PIN)
        conf_text = ("Keystore %s\nMode s\nLogLevel info\nPKCS11Module %s\nPKCS11Token %s\n"
                     "PKCS11PinFile %s/pin\n" % (store, MODULE, LABEL, tmp))
        conf = os.path.join(tmp, "tool.conf")
        with open(conf, "w") as f:
            f.write(conf_text)
        if check_tool(env, conf, store) is None:
            return tap.plan()
        records = os.path.join(tmp, "records")
        with open(records, "w") as f:
            f.write(keys_cmd(env, conf, "dns", DOMAIN).stdout)
        check_signing(tmp, env, conf_text, records)
        check_wrong_pin_at_start(tmp, env, conf_text)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return tap.plan()


if __name__ == "__main__":
    sys.exit(main())
