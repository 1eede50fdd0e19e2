# A module imported through a relative sys.path entry has a relative co_filename; the
# program then changes directory. Its lines must still be attributed to the right file.
import os
import sys

sys.path.insert(0, "helpers")
import helper  # noqa: E402

print(helper.first())
os.chdir("helpers")
print(helper.later())
