# Real library code under the tracer: measured with --include on these standard-library
# modules, pycov's lines and arcs must equal coverage.py's.
import calendar
import difflib
import statistics
from fractions import Fraction

before = ["apple\n", "banana\n", "cherry\n", "date\n"]
after = ["apple\n", "blueberry\n", "cherry\n", "dates\n", "elderberry\n"]
print("".join(difflib.unified_diff(before, after, "before", "after")))
print(difflib.SequenceMatcher(None, "abcdefgh", "abxdefzh").ratio())
print(difflib.get_close_matches("appel", ["ape", "apple", "peach", "puppy"]))

values = [Fraction(1, 3), Fraction(2, 5), Fraction(7, 11), Fraction(3, 4)]
print(sum(values), max(values), Fraction("3.1415").limit_denominator(100))
print(statistics.mean([1, 2, 3, 4, 4]), statistics.median([3, 1, 2]), statistics.pstdev([2, 4, 4, 4, 5, 5, 7, 9]))

print(calendar.month(2026, 11))
print(calendar.isleap(2028), calendar.weekday(2026, 11, 23))
