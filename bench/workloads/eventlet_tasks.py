"""Green threads on eventlet's hub, the way an eventlet server runs its connections: 20 green
threads each handle a stream of small messages (a chat room's commands) and yield to the hub
after every one. eventlet is pure Python, so its hub loop is Python code too, resumed at
every switch back to it. CPU-bound.

usage: eventlet_tasks.py [MESSAGES]  (messages per green thread, default 2000)"""
import sys

import eventlet

COMMANDS = ["/join lobby", "hello all", "/nick ada", "/me waves", "how are you?", "/part lobby",
            "/join dev", "ship it", "/topic releases", "/quit"]


def parse(message):
    if not message.startswith("/"):
        return "say", message
    command, _, argument = message[1:].partition(" ")
    return command, argument


class Room:
    def __init__(self):
        self.members, self.topic, self.lines = set(), "", []

    def apply(self, user, command, argument):
        if command == "join":
            self.members.add(user)
        elif command == "part" or command == "quit":
            self.members.discard(user)
        elif command == "topic":
            self.topic = argument
        elif command == "me":
            self.lines.append(f"* {user} {argument}")
        elif command == "say":
            self.lines.append(f"<{user}> {argument}")
        if len(self.lines) > 100:
            del self.lines[:50]
        return len(self.members)


def connection(room, user, count, offset):
    handled = 0
    for n in range(count):
        command, argument = parse(COMMANDS[(n + offset) % len(COMMANDS)])
        if command == "nick":
            user = argument + str(offset)
        handled += room.apply(user, command, argument)
        eventlet.sleep(0)
    return handled


def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    room = Room()
    pool = eventlet.GreenPool(20)
    threads = [pool.spawn(connection, room, f"user{i}", count, i) for i in range(20)]
    print(sum(thread.wait() for thread in threads), len(room.lines))


main()
