# greenlet gives the greenlet a switch resumes the tracing state of the frame the switch left
# ("continuity"). A frame that pycov traces must go on traced after a switch made from a frame
# it runs untraced: code whose every line has run, or the standard library's.
import sched

import greenlet


def back_to_parent(value):
    return greenlet.getcurrent().parent.switch(value)  # pycov: runs


def from_complete_code():
    for i in range(3):  # pycov: runs
        back_to_parent(i)  # untraced from its second call on  # pycov: runs


def from_library_code():
    events = sched.scheduler()  # pycov: runs
    for i in range(3):  # pycov: runs
        events.enter(0, 1, greenlet.getcurrent().parent.switch, (i,))  # pycov: runs
        events.run()  # sched.py switches  # pycov: runs


def after_complete_code():
    g = greenlet.greenlet(from_complete_code)
    first = g.switch()
    second = g.switch()  # pycov: runs
    third = g.switch()  # pycov: runs
    return first, second, third  # pycov: runs


def after_library_code():
    g = greenlet.greenlet(from_library_code)
    first = g.switch()  # pycov: runs
    second = g.switch()  # pycov: runs
    third = g.switch()  # pycov: runs
    return first, second, third  # pycov: runs


print(after_complete_code(), after_library_code())


# The program's own greenlet trace function sees every switch, and greenlet.gettrace() and
# greenlet.settrace() answer as unmeasured, though pycov has a greenlet trace function too.
def program_trace(event, args):
    seen.append(event)


seen = []
print(greenlet.gettrace(), greenlet.settrace(program_trace))
print(after_complete_code(), greenlet.gettrace() is program_trace, seen)
print(greenlet.settrace(None) is program_trace, greenlet.gettrace())
