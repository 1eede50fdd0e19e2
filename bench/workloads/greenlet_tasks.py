"""Cooperative tasks on greenlets, the way a gevent or eventlet server runs its requests: 20
greenlets take turns, each switching back to a small hub after every request it handles with
the functions of a small web-style application. CPU-bound. Programs that merely import
greenlet (gevent, eventlet, SQLAlchemy, Playwright's sync API) run on the same terms.

usage: greenlet_tasks.py [REQUESTS]  (requests per greenlet, default 2000)"""
import sys

import greenlet

ROUTES = {"/": "index", "/items": "list_items", "/items/{id}": "show_item", "/search": "search"}
ITEMS = [{"id": i, "name": f"item {i}", "price": (i * 37) % 101, "tags": ["a", "b", "c"][: i % 3 + 1]}
         for i in range(50)]


def parse(request):
    method, _, rest = request.partition(" ")
    path, _, query = rest.partition("?")
    params = {}
    for pair in query.split("&") if query else ():
        key, _, value = pair.partition("=")
        params[key] = value
    return method, path, params


def route(path):
    if path in ROUTES:
        return ROUTES[path], None
    head, _, tail = path.rpartition("/")
    if head == "/items" and tail.isdigit():
        return "show_item", int(tail)
    return "not_found", None


def index(params, _):
    return {"status": 200, "body": "welcome"}


def list_items(params, _):
    limit = int(params.get("limit", "10"))
    return {"status": 200, "body": [item["name"] for item in ITEMS[:limit]]}


def show_item(params, item_id):
    if item_id is None or item_id >= len(ITEMS):
        return {"status": 404, "body": "no such item"}
    item = ITEMS[item_id]
    return {"status": 200, "body": f"{item['name']}: {item['price']} ({', '.join(item['tags'])})"}


def search(params, _):
    word = params.get("q", "")
    found = [item["name"] for item in ITEMS if word in item["name"] or word in item["tags"]]
    return {"status": 200 if found else 404, "body": found}


def not_found(params, _):
    return {"status": 404, "body": "not found"}


HANDLERS = {f.__name__: f for f in (index, list_items, show_item, search, not_found)}


def render(response):
    body = response["body"]
    text = body if isinstance(body, str) else "\n".join(body)
    return f"HTTP/1.1 {response['status']}\r\nContent-Length: {len(text)}\r\n\r\n{text}"


REQUESTS = ["GET /", "GET /items?limit=5", "GET /items/7", "GET /items/99", "GET /search?q=item 1",
            "GET /search?q=zzz", "GET /nowhere", "GET /items?limit=20&sort=price"]


def serve(hub, count, offset):
    sent = 0
    for n in range(count):
        method, path, params = parse(REQUESTS[(n + offset) % len(REQUESTS)])
        name, argument = route(path)
        sent += len(render(HANDLERS[name](params, argument)))
        hub.switch()
    return sent


def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    hub = greenlet.getcurrent()
    tasks = [greenlet.greenlet(serve) for _ in range(20)]
    results = [task.switch(hub, count, i) for i, task in enumerate(tasks)]
    while any(not task.dead for task in tasks):
        for i, task in enumerate(tasks):
            if not task.dead:
                result = task.switch()
                if task.dead:
                    results[i] = result
    print(sum(results))


main()
