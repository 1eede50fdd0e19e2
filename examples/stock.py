class Stock:
    def __init__(self, items):
        self.items = dict(items)

    def add(self, name, count):
        if count <= 0:
            raise ValueError("count must be positive")
        self.items[name] = self.items.get(name, 0) + count

    def audit(self):
        problems = []
        for name, count in self.items.items():
            if count < 0:
                problems.append(name)
        return problems
