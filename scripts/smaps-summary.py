#!/usr/bin/env python3
"""What a process's resident memory is made of: /proc/PID/smaps summed by mapping, largest first (kB).

Usage: scripts/smaps-summary.py PID | SMAPS_FILE
Groups: the .NET shared framework's assemblies as "[framework dll]" and its native libraries by name, the
application's assemblies as "[app dll]", anonymous memory by its permissions, anything else by path.
Columns: Rss, the anonymous part of it, private dirty and clean, shared clean (file pages other processes map too), Pss.
"""
import collections
import os
import re
import sys

HEADER = re.compile(r'^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \d+\s*(.*)$')
FIELDS = ('Rss', 'Anonymous', 'Private_Dirty', 'Private_Clean', 'Shared_Clean', 'Pss')


def group(path, perms):
    if not path:
        return '[anon ' + perms + ']'
    if not path.startswith('/'):
        return path
    name = os.path.basename(path)
    if '/dotnet/shared/' in path:
        return '[framework dll]' if name.endswith('.dll') else '[framework] ' + name
    if name.endswith('.dll'):
        return '[app dll]'
    return path


def main():
    arg = sys.argv[1]
    source = f'/proc/{arg}/smaps' if arg.isdigit() else arg
    rows = collections.defaultdict(collections.Counter)
    name = None
    with open(source) as f:
        for line in f:
            m = HEADER.match(line)
            if m:
                name = group(m.group(4).strip(), m.group(3))
                rows[name]['maps'] += 1
                continue
            key, _, value = line.partition(':')
            if key in FIELDS:
                rows[name][key] += int(value.split()[0])
    total = collections.Counter()
    for r in rows.values():
        total.update(r)
    print(f"{'mapping':52} {'maps':>5} {'Rss':>7} {'Anon':>7} {'PrivDirty':>9} {'PrivClean':>9} {'ShClean':>7} {'Pss':>7}  (kB)")
    for n, r in sorted(rows.items(), key=lambda x: -x[1]['Rss']):
        if r['Rss'] >= 200:
            print(f"{n[:52]:52} {r['maps']:5} {r['Rss']:7} {r['Anonymous']:7} {r['Private_Dirty']:9} {r['Private_Clean']:9} {r['Shared_Clean']:7} {r['Pss']:7}")
    print(f"{'total (all mappings)':52} {total['maps']:5} {total['Rss']:7} {total['Anonymous']:7} {total['Private_Dirty']:9} {total['Private_Clean']:9} {total['Shared_Clean']:7} {total['Pss']:7}")


if __name__ == '__main__':
    main()
