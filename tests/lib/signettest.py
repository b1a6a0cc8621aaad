"""
NAME
    signettest.py - what the Python test harnesses share: TAP lines, free ports, waiting
    for a daemon's socket

SYNOPSIS
    sys.path.insert(0, os.path.join(TOP_SRCDIR, "tests", "lib"))
    import signettest
    tap = signettest.Tap()
    tap(ok, "behaviour_it_checks", "what was seen")
    ...
    sys.exit(tap.plan())

DESCRIPTION
    Tap numbers "ok" / "not ok" lines; a failing test's diagnostic follows as "#" comments
    (at most max_diag lines of it; with diag_on_pass a passing test's too).  plan() prints
    the plan, which comes last, and returns the exit status: 1 when any test failed;
    plan_and_clean(tmp) also removes a test's temporary directory, or keeps it on failure.

    free_port() is a TCP port free on 127.0.0.1 right now; free_udp_tcp_port() one free for
    both UDP and TCP, for DNS servers (tests/lib/dnsserver.sh has the same for shell).

    wait_listening(spec) waits until a milter socket spec (inet:PORT@HOST, unix:PATH...)
    accepts connections; it needs tests/milter on sys.path for milterclient.

    Daemon(tmp, conf_text, name) writes TMP/NAME.conf and starts milter/signet -f on it
    (from $top_builddir), its stderr in TMP/NAME.log; log(), wait_log(), exit_status()
    and stop() (SIGTERM, then SIGKILL after 70 s).  env and preexec_fn go to Popen.

    signing_keystore(tmp, domain, algorithm) makes TMP/keys with one active key for domain
    (keys/signet-keys generate and activate) and returns its path.

    hwm_kb(pid) is a process's peak resident set (VmHWM) in kB.

    own_milter_engine() says whether the build serves the milter protocol with Signet's
    own engine (config.h of $top_builddir defines SIGNET_MILTER_ENGINE_OWN) rather than
    libmilter (configure --with-milter-engine=libmilter); bails when config.h is missing.

    bail(msg) ends a TAP run with "Bail out!": a missing tool or input fails, never skips.
    conformance_file(relpath) is a file of the public suites in ../shared/conformance
    (SIGNET_CONFORMANCE_DIR names another folder), built_program(relpath) a program of
    the build, load_yaml_all(path) the documents of a YAML file; each bails when what it
    wants is missing.

    start_nsd(dir, {zone: records_path}) starts a private NSD through
    tests/lib/dnsserver.sh and returns (port, pid); stop it with os.kill(pid, SIGTERM).

    start_redis(dir) starts a private redis-server on a free loopback port, without
    persistence, and returns (Popen, port), or (None, port) when it does not answer in
    20 s; FileNotFoundError when redis-server is not installed.

    run_with_nsd(tap, prefix, zone, records_text, run) makes a temporary directory,
    serves records_text as zone from a private NSD, calls run(tmp, dns_port), counts an
    exception as a failed test (a missing tool fails, never skips), stops NSD and
    returns tap.plan_and_clean(tmp).  scrape_metrics(port) reads the daemon's
    /metrics into {series: value}.
"""
import os
import re
import shutil
import socket
import subprocess
import sys
import time

TOP_BUILDDIR = os.environ.get("top_builddir",
                              os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
SIGNET = os.path.join(TOP_BUILDDIR, "milter", "signet")
SIGNET_KEYS = os.path.join(TOP_BUILDDIR, "keys", "signet-keys")
DNSSERVER_SH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "dnsserver.sh")
TOP_SRCDIR = os.environ.get("top_srcdir") or \
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")


def bail(msg):
    print("Bail out! " + msg)
    sys.exit(1)


def conformance_file(relpath):
    confdir = os.environ.get("SIGNET_CONFORMANCE_DIR") or \
        os.path.join(TOP_SRCDIR, "..", "shared", "conformance")
    path = os.path.join(confdir, relpath)
    if not os.path.isfile(path):
        bail("%s not found at %s (set SIGNET_CONFORMANCE_DIR)" % (relpath, path))
    return path


def own_milter_engine():
    path = os.path.join(TOP_BUILDDIR, "config.h")
    try:
        with open(path) as f:
            return re.search(r"^#define SIGNET_MILTER_ENGINE_OWN 1$", f.read(), re.M) is not None
    except OSError as e:
        bail("cannot read %s to tell the milter engine: %s" % (path, e))


def built_program(relpath):
    path = os.path.join(TOP_BUILDDIR, relpath)
    if not os.access(path, os.X_OK):
        bail("%s not built (make check builds it)" % path)
    return path


def load_yaml_all(path):
    try:
        import yaml
    except ImportError:
        bail("python3-yaml missing (apt-get install python3-yaml)")
    with open(path, "rb") as f:
        return list(yaml.safe_load_all(f))


class Tap:
    def __init__(self, max_diag=None, diag_on_pass=False):
        self.count = 0
        self.failed = 0
        self.max_diag = max_diag
        self.diag_on_pass = diag_on_pass

    def __call__(self, ok, name, diag=""):
        """A name ending in "# TODO reason" is a known failure: not counted in the exit
        status when it fails; the TAP driver counts it passing (XPASS) as a failure."""
        self.count += 1
        self.failed += 0 if ok or "# TODO " in name else 1
        print("%sok %d - %s" % ("" if ok else "not ", self.count, name))
        if not ok or self.diag_on_pass:
            for line in str(diag).splitlines()[:self.max_diag]:
                print("#   " + line)
        sys.stdout.flush()
        return ok

    def plan(self):
        print("1..%d" % self.count)
        return 1 if self.failed else 0

    def plan_and_clean(self, tmp):
        """plan(); the temporary directory tmp is removed when every test passed, else
        kept and named."""
        status = self.plan()
        if status == 0:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print("# kept for inspection: %s" % tmp)
        return status


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def delayed_acks():
    """TcpExt DelayedACKs of this network namespace: the ACKs the kernel's delayed-ACK
    timer sent late (issue 17)."""
    with open("/proc/net/netstat") as f:
        lines = f.read().splitlines()
    for names, values in zip(lines[::2], lines[1::2]):
        if names.startswith("TcpExt:"):
            table = dict(zip(names.split()[1:], values.split()[1:]))
            return int(table["DelayedACKs"])
    raise RuntimeError("no TcpExt DelayedACKs in /proc/net/netstat")


def free_udp_tcp_port():
    for _ in range(50):
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        t.bind(("127.0.0.1", 0))
        port = t.getsockname()[1]
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            u.bind(("127.0.0.1", port))
        except OSError:
            continue
        finally:
            t.close()
            u.close()
        return port
    raise RuntimeError("no free port on 127.0.0.1")


def wait_listening(spec, timeout=30):
    """True once spec accepts a connection, False after timeout seconds (generous: a
    sanitized daemon starting on a busy machine)."""
    import milterclient
    fam, addr = milterclient.parse_socket(spec)
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            with socket.socket(fam, socket.SOCK_STREAM) as s:
                s.connect(addr)
            return True
        except OSError:
            time.sleep(0.05)
    return False


class Daemon:
    def __init__(self, tmp, conf_text, name="signet", env=None, preexec_fn=None):
        self.conf = os.path.join(tmp, name + ".conf")
        self.logfile = os.path.join(tmp, name + ".log")
        with open(self.conf, "w") as f:
            f.write(conf_text)
        with open(self.logfile, "w") as log:
            self.proc = subprocess.Popen([SIGNET, "-c", self.conf, "-f"], stderr=log,
                                         env=env, preexec_fn=preexec_fn)

    def log(self):
        with open(self.logfile, errors="replace") as f:
            return f.read()

    def wait_log(self, text, timeout=10):
        """True once text is in the log; False after timeout, or at once if the daemon
        exited without writing it."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if text in self.log():
                return True
            if self.proc.poll() is not None:
                return text in self.log()
            time.sleep(0.05)
        return False

    def exit_status(self, timeout=20):
        """The exit status, or None while it still runs after timeout seconds."""
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=70)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def signing_keystore(tmp, domain, algorithm="ed25519"):
    keys = os.path.join(tmp, "keys")
    sel = subprocess.run([SIGNET_KEYS, "-k", keys, "generate", domain, "-a", algorithm],
                         capture_output=True, text=True, check=True).stdout.strip()
    subprocess.run([SIGNET_KEYS, "-k", keys, "activate", domain, sel, "--force"],
                   capture_output=True, check=True)
    return keys


def hwm_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        return int(re.search(r"^VmHWM:\s+(\d+) kB", f.read(), re.M).group(1))


def start_nsd(dir, zones, also_listen=None):
    """zones: {zone: records_path}; returns (port, pid) of an NSD started through
    tests/lib/dnsserver.sh.  also_listen "ADDR@PORT": answer there too."""
    args = []
    for z, p in zones.items():
        args += [z, p]
    env = dict(os.environ)
    if also_listen:
        env["DNS_ALSO_LISTEN"] = also_listen
    script = ('. "$1"; shift; dns_start "$@" || exit 1; echo "$DNS_PORT $DNS_PID"')
    r = subprocess.run(["bash", "-c", script, "dns", DNSSERVER_SH, dir] + args,
                       capture_output=True, text=True, stdin=subprocess.DEVNULL, env=env)
    if r.returncode != 0:
        raise RuntimeError("NSD: %s" % r.stderr.strip())
    port, pid = r.stdout.split()
    return int(port), int(pid)


def start_redis(dir):
    port = free_port()
    proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                             "--save", "", "--appendonly", "no", "--dir", dir],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    end = time.monotonic() + 20
    while time.monotonic() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), 1):
                return proc, port
        except OSError:
            time.sleep(0.05)
    proc.kill()
    proc.wait()
    return None, port


def run_with_nsd(tap, prefix, zone, records_text, run):
    import signal
    import tempfile
    tmp = tempfile.mkdtemp(prefix=prefix)
    nsd_pid = None
    try:
        records = os.path.join(tmp, zone + ".records")
        with open(records, "w") as f:
            f.write(records_text)
        dns_port, nsd_pid = start_nsd(os.path.join(tmp, "nsd"), {zone: records})
        run(tmp, dns_port)
    except Exception as e:  # a missing tool is a failure, with its reason
        tap(False, "%stest_ran_to_the_end" % prefix, "%s: %s" % (type(e).__name__, e))
    finally:
        if nsd_pid:
            os.kill(nsd_pid, signal.SIGTERM)
    return tap.plan_and_clean(tmp)


def scrape_metrics(port):
    import urllib.request
    text = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=10).read()
    values = {}
    for line in text.decode().splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            values[name] = float(value)
    return values
