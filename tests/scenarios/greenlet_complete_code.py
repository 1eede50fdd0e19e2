# Code whose every line has run in one kind of thread runs untraced there, also once greenlet
# is imported; run in the other kind (a greenlet, or the thread's main greenlet) it is traced
# again, so its lines are recorded for that kind too. Called from frames that run untraced
# themselves, so that only the frame hook can tell which greenlet runs.
import greenlet


def shared(n):
    total = 0
    for i in range(n):
        total += i
    return total


def greenlets_first(n):
    return n * 2


def warm_in_main():
    return shared(3)


def in_greenlet():
    return shared(3) + greenlets_first(4)


for _ in range(50):  # every line of shared, warm_in_main: complete for the main greenlet
    warm_in_main()
results = [greenlet.greenlet(in_greenlet).switch() for _ in range(50)]
print(results[0], results[-1])
for _ in range(3):  # greenlets_first is complete for greenlets only
    print(greenlets_first(5))
