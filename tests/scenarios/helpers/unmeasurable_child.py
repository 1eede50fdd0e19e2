import sys

print("unmeasurable child ran with flags", sys.flags.isolated, sys.flags.ignore_environment, sys.flags.no_site)
