import sys

from pkg_app.tools import double, unused

print("pkg_app", sys.argv[1:], double(21), __name__)
