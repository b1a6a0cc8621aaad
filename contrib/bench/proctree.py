"""
proctree.py - CPU time and peak memory of a process and everything under it, from /proc

The benchmarks measure a daemon as the operator pays for it: Signet's keeper and signer,
Postfix's smtpd and cleanup, all count with the process that started them.  Descendants
are found afresh at each call, so a child forked since the last call counts too.
"""
import os
import re


def tree_pids(pid):
    """pid and the pids of all its descendants alive now."""
    parent = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open("/proc/%s/stat" % entry) as f:
                    parent[int(entry)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                pass
    tree, grew = {pid}, True
    while grew:
        more = {p for p, pp in parent.items() if pp in tree} - tree
        grew = bool(more)
        tree |= more
    return tree


def cpu_seconds(pid):
    """User + system CPU time of pid's tree (reaped children's time counts via the
    parent's cutime/cstime only when the parent waited for them)."""
    ticks = 0
    for p in tree_pids(pid):
        try:
            with open("/proc/%d/stat" % p) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])
        except (OSError, IndexError, ValueError):
            pass
    return ticks / os.sysconf("SC_CLK_TCK")


def peak_rss_kb(pids):
    """Sum of VmHWM (peak resident set) over the trees of pids."""
    total = 0
    for top in pids:
        for p in tree_pids(top):
            try:
                with open("/proc/%d/status" % p) as f:
                    total += int(re.search(r"VmHWM:\s+(\d+)", f.read()).group(1))
            except (OSError, AttributeError):
                pass
    return total
