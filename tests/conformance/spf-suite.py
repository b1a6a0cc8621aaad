#!/usr/bin/python3
# NAME
#	spf-suite.py - the RFC 7208 (OpenSPF) test suite against Signet's SPF check
# SYNOPSIS
#	top_srcdir=... top_builddir=... tests/conformance/spf-suite.py	(TAP on stdout)
#	SIGNET_CONFORMANCE_DIR=/path/to/conformance  to read the suite from elsewhere
# DESCRIPTION
#	For each scenario of spf/rfc7208-tests.yml, its zonedata is written as zone files
#	and served by a private NSD on a loopback port (restarted per scenario, since
#	scenarios reuse names), and every case is run through tests/conformance/spf-query,
#	which resolves through Signet's resolver forwarding to that NSD.
#
#	The zone data is read as the suite's own driver (pyspf's testspf.py) reads it: an
#	"SPF" entry is also published as TXT unless the name has a TXT entry of its own;
#	"TXT: NONE" publishes nothing; a "TIMEOUT" entry times out every type not listed
#	before it.  Here a name whose TXT, address, MX, PTR or CNAME data all come after
#	its TIMEOUT (or that has none) becomes a zone of its own that NSD is told to serve
#	from a file that does not exist: NSD answers SERVFAIL for it, which the resolver
#	reports as a temporary failure.  Data under such a name is served from zones of
#	their own.  Other names live in one root zone.
#
#	Each case is "ok" when spf-query prints one of the case's results.  Cases Signet
#	deliberately gets wrong are listed in EXPECTED_FAILURES with the RFC section that
#	justifies it and reported as TAP TODO.  The last line says how many cases pass.
# DIAGNOSTICS
#	A missing tool (nsd, spf-query, python3-yaml) or suite file is a failure, reported
#	as "Bail out!", never a skip.  When NSD does not start, its log is shown.
import concurrent.futures
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

# "scenario/case" -> why Signet's answer differs, with the RFC section.
EXPECTED_FAILURES = {
    'Macro expansion rules/macro-mania-in-domain':
        'the expanded name holds blanks; the resolver refuses names with blanks or control '
        'characters (RFC 1035 section 2.3.1), so the a mechanism does not match '
        '(RFC 7208 section 4.8)',
}

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, 'tests', 'lib'))
import signettest  # noqa: E402

ANSWERING_TYPES = ('TXT', 'A', 'AAAA', 'MX', 'PTR', 'CNAME')


bail = signettest.bail


def find_inputs():
    suite = signettest.conformance_file(os.path.join('spf', 'rfc7208-tests.yml'))
    query = signettest.built_program(os.path.join('tests', 'conformance', 'spf-query'))
    nsd = shutil.which('nsd') or '/usr/sbin/nsd'
    if not os.access(nsd, os.X_OK):
        bail('nsd not found (apt-get install nsd)')
    return suite, query, nsd


# ---- zone files ---------------------------------------------------------------------

def escape_name(name):
    """A presentation-format absolute name; unusual bytes as \\DDD."""
    name = name.rstrip('.')
    if name == '':
        return '.'
    labels = []
    for label in name.split('.'):
        out = ''
        for b in label.encode('utf-8'):
            c = chr(b)
            out += c if (c.isascii() and (c.isalnum() or c in '-_')) else '\\%03d' % b
        labels.append(out)
    return '.'.join(labels) + '.'


def escape_strings(value):
    if isinstance(value, str):
        value = [value]
    if not value:
        value = ['']
    out = []
    for s in value:
        data = s.encode('utf-8')
        chunks = [data[i:i + 255] for i in range(0, len(data), 255)] or [b'']
        for chunk in chunks:
            text = ''.join(chr(b) if 0x20 <= b <= 0x7e and chr(b) not in '"\\'
                           else '\\%03d' % b for b in chunk)
            out.append('"%s"' % text)
    return ' '.join(out)


def rdata(rtype, value):
    if rtype in ('A', 'AAAA'):
        return value
    if rtype == 'MX':
        return '%d %s' % (value[0], escape_name(value[1]))
    if rtype in ('PTR', 'CNAME'):
        return escape_name(value)
    if rtype in ('TXT', 'SPF'):
        return escape_strings(value)
    raise ValueError('record type %s not handled' % rtype)


def name_records(entries):
    """(records, times_out) for one name, as pyspf's test driver reads the entries."""
    records, generated, has_txt, answered, times_out = [], [], False, False, False
    for entry in entries:
        if entry == 'TIMEOUT':
            times_out = times_out or not answered
            continue
        for rtype, value in entry.items():
            if rtype == 'TXT':
                has_txt = True
            elif rtype == 'SPF':
                generated.append(value)
            if value == 'NONE':
                continue
            records.append((rtype, value))
            if rtype in ANSWERING_TYPES and not times_out:
                answered = True
    if not has_txt:
        records += [('TXT', v) for v in generated]
    return records, times_out


def is_under(name, parent):
    return name.endswith('.' + parent)


def soa_lines(origin):
    return ['$TTL 5',
            '%s IN SOA ns.signet.test. hostmaster.signet.test. 1 5 5 60 5' % origin,
            '%s IN NS ns.signet.test.' % origin]


def write_zones(zonedata, directory):
    """Zone files and nsd.conf zone clauses for one scenario."""
    names = {}
    for name, entries in zonedata.items():
        names[name.lower().rstrip('.')] = name_records(entries)
    dead = sorted(n for n, (_, t) in names.items() if t)
    own_zone = sorted(n for n, (r, t) in names.items()
                      if not t and any(is_under(n, d) for d in dead))
    root = soa_lines('.') + ['ns.signet.test. IN A 127.0.0.1']
    clauses = []
    for i, name in enumerate(own_zone):
        lines = soa_lines(escape_name(name))
        lines += ['%s IN %s %s' % (escape_name(name), t, rdata(t, v))
                  for t, v in names[name][0]]
        write_file(directory, 'own%d.zone' % i, lines)
        clauses.append((escape_name(name), 'own%d.zone' % i))
    for name, (records, times_out) in sorted(names.items()):
        if name in own_zone:
            continue
        root += ['%s IN %s %s' % (escape_name(name), t, rdata(t, v)) for t, v in records]
    write_file(directory, 'root.zone', root)
    clauses.insert(0, ('.', 'root.zone'))
    for i, name in enumerate(dead):
        clauses.append((escape_name(name), 'dead%d.zone-does-not-exist' % i))
    return clauses


def write_file(directory, name, lines):
    with open(os.path.join(directory, name), 'w') as f:
        f.write('\n'.join(lines) + '\n')


# ---- NSD ----------------------------------------------------------------------------

def free_port():
    try:
        return signettest.free_udp_tcp_port()
    except RuntimeError as e:
        bail(str(e))


def answers_soa(port):
    query = struct.pack('>HHHHHH', 0x5157, 0, 1, 0, 0, 0) + b'\x00' + struct.pack('>HH', 6, 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(0.2)
    try:
        s.sendto(query, ('127.0.0.1', port))
        reply = s.recv(512)
        return len(reply) >= 12 and reply[:2] == b'\x51\x57' and (reply[3] & 0x0f) == 0
    except OSError:
        return False
    finally:
        s.close()


class Nsd:
    def __init__(self, binary, directory, clauses):
        self.directory = directory
        self.log = os.path.join(directory, 'nsd.log')
        self.proc = None
        for _ in range(5):
            self.port = free_port()
            self.write_conf(clauses)
            with open(self.log, 'a') as log:
                self.proc = subprocess.Popen(
                    [binary, '-d', '-p', str(self.port), '-c',
                     os.path.join(directory, 'nsd.conf')],
                    stdout=log, stderr=subprocess.STDOUT)
            if self.wait_ready():
                return
            self.stop()
            if 'in use' not in self.log_text():
                break
        bail('nsd did not answer on 127.0.0.1:%s; its log:\n%s' %
             (self.port, self.log_text()))

    def write_conf(self, clauses):
        d = self.directory
        lines = ['server:',
                 '\tip-address: 127.0.0.1', '\tport: %d' % self.port, '\tdo-ip6: no',
                 '\tusername: ""', '\tchroot: ""', '\tzonesdir: "%s"' % d,
                 '\tdatabase: ""', '\tzonelistfile: "%s/zone.list"' % d,
                 '\txfrdfile: "%s/xfrd.state"' % d, '\txfrdir: "%s"' % d,
                 '\tpidfile: "%s/nsd.pid"' % d, '\tlogfile: "%s"' % self.log,
                 '\tserver-count: 1', '\tverbosity: 1', '\thide-version: yes',
                 'remote-control:', '\tcontrol-enable: no']
        for name, path in clauses:
            lines += ['zone:', '\tname: "%s"' % name.replace('\\', '\\\\'),
                      '\tzonefile: "%s"' % path]
        write_file(d, 'nsd.conf', lines)

    def wait_ready(self):
        for _ in range(100):
            if self.proc.poll() is not None:
                return False
            if answers_soa(self.port):
                return True
            time.sleep(0.05)
        return False

    def log_text(self):
        try:
            with open(self.log) as f:
                return ''.join('    ' + line for line in f)
        except OSError:
            return '    (no log)'

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


# ---- cases --------------------------------------------------------------------------

def run_case(query, port, case):
    args = [query, '127.0.0.1', str(port), case['host'], case.get('helo', ''),
            case.get('mailfrom', '')]
    try:
        p = subprocess.run(args, capture_output=True, timeout=60)
    except subprocess.TimeoutExpired:
        return 'timeout', ''
    out = p.stdout.decode('utf-8', 'replace').split('\n')
    if p.returncode != 0:
        return 'exit %d' % p.returncode, p.stderr.decode('utf-8', 'replace').strip()
    return out[0], out[1] if len(out) > 1 else ''


def run_scenario(scenario, query, nsd_binary, counter):
    title = scenario['description']
    with tempfile.TemporaryDirectory(prefix='signet-spf-') as directory:
        clauses = write_zones(scenario.get('zonedata', {}), directory)
        nsd = Nsd(nsd_binary, directory, clauses)
        try:
            names = list(scenario['tests'])
            with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
                futures = [pool.submit(run_case, query, nsd.port, scenario['tests'][n])
                           for n in names]
                results = [f.result() for f in futures]
        finally:
            nsd.stop()
    passed = 0
    for name, (got, reason) in zip(names, results):
        case = scenario['tests'][name]
        want = case['result'] if isinstance(case['result'], list) else [case['result']]
        ok = got in want
        passed += ok
        counter[0] += 1
        full = '%s/%s' % (title, name)
        todo = EXPECTED_FAILURES.get(full)
        line = '%s %d - %s' % ('ok' if ok else 'not ok', counter[0], full)
        if todo:
            line += ' # TODO ' + todo
        print(line)
        if not ok:
            print('#   got:  %s (%s)' % (got, reason))
            print('#   want: %s   (RFC 7208 section %s)' % (' or '.join(want),
                                                           case.get('spec', '?')))
    sys.stdout.flush()
    return passed


def main():
    suite, query, nsd_binary = find_inputs()
    scenarios = signettest.load_yaml_all(suite)
    counter, passed = [0], 0
    for scenario in scenarios:
        passed += run_scenario(scenario, query, nsd_binary, counter)
    unknown = [k for k in EXPECTED_FAILURES
               if k.split('/', 1)[0] not in [s['description'] for s in scenarios]]
    for k in unknown:
        counter[0] += 1
        print('not ok %d - expected failure %s names no case of the suite' % (counter[0], k))
    print('1..%d' % counter[0])
    print('# SPF suite: %d of %d cases pass' % (passed, counter[0] - len(unknown)))
    return 0


if __name__ == '__main__':
    sys.exit(main())
