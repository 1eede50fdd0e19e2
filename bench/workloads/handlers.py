"""CPU-bound code that runs inside exception handlers' reach: a record parser whose hot loops
sit in `try` and `with` blocks, with an exception now and then (a bad number, a missing key),
as parsers, validators and request handlers are written.

usage: handlers.py [ROUNDS]
"""
import sys
import threading

LOCK = threading.Lock()
UNITS = {"s": 1, "m": 60, "h": 3600}


def parse_duration(text):
    try:
        value, unit = int(text[:-1]), text[-1]
    except ValueError:
        return None
    try:
        return value * UNITS[unit]
    except KeyError:
        return value


def parse_records(lines):
    totals = {}
    bad = 0
    for line in lines:
        name, _, duration = line.partition("=")
        seconds = parse_duration(duration)
        if seconds is None:
            bad += 1
            continue
        with LOCK:
            totals[name] = totals.get(name, 0) + seconds
    return totals, bad


def make_lines(count):
    lines = []
    for i in range(count):
        unit = "smhx"[i % 4] if i % 50 else "d"
        number = str(i % 90) if i % 97 else "many"
        lines.append(f"task{i % 13}={number}{unit}")
    return lines


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 150
    lines = make_lines(5000)
    for _ in range(rounds):
        totals, bad = parse_records(lines)
    print(len(totals), bad, sum(totals.values()))


main()
