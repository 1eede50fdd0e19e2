# A __getitem__ written in Python, reached by subscripts in code whose lines are all recorded
# (pycov runs such frames untraced). CPython 3.11.0-3.11.3 (Debian 12 ships 3.11.2) calls such
# a __getitem__ from the subscript itself, without the frame-evaluation hook, once the
# subscript has specialised; its new lines must still be recorded, however the method came
# to be the class's, and after the program replaced its code or defaults.

import abc


class Shelf:
    def __getitem__(self, index):
        if index > 100:
            return -index  # first run from a frame that runs untraced
        return index


class Crate:
    def __getitem__(self, index):
        if index < 0:
            return "none"  # idem
        return index * 2


class Drawer:
    def __getitem__(self, index):
        if index == 7:
            return "seven"  # its first call of all comes from the untraced subscript
        return index


def bin_item(self, index):
    if index == "last":
        return "empty"  # idem, in a class that no class statement made
    return index


Bin = type("Bin", (), {"__getitem__": bin_item})


def cabinet_item(self, index):
    if index == 3:
        return "three"  # first call of all from the untraced subscript, class made by type()
    return index


Cabinet = type("Cabinet", (), {"__getitem__": cabinet_item})


class Locker(abc.ABC):  # its metaclass, abc.ABCMeta, was made before pycov started
    pass


def locker_item(self, index):
    if index == 4:
        return "four"  # first call of all from the untraced subscript, method set afterwards
    return index


Locker.__getitem__ = locker_item


def make_box_class():
    def box_item(self, index):
        if index == 5:
            return "five"  # idem, a function made in a function, class made by type()
        return index
    return type("Box", (), {"__getitem__": box_item})


class Vault:
    def __getitem__(self, index):
        return index


def vault_item(self, index):
    if index == 6:
        return "six"  # first run from the untraced subscript, in a method whose code was replaced
    return index


Vault.__getitem__.__code__ = vault_item.__code__  # CPython resets the function's version


class Safe:
    def __getitem__(self, index=0):
        if index > 20:
            return "over"  # idem, in a method whose defaults were replaced
        return index


Safe.__getitem__.__defaults__ = (1,)


class Chest:
    def __getitem__(self, index):
        if index == 8:
            return "eight"  # idem, keyword-only defaults (it has no keyword-only parameter)
        return index


Chest.__getitem__.__kwdefaults__ = None


def make_tray(width):
    class Tray:  # a class statement run again and again: its body's lines are all recorded
        def __getitem__(self, index):
            if index == 99:
                return "rare"  # first run from the untraced subscript, the class made afresh
            return index + width
    return Tray()


def pick_from_tray(container, index, now):
    if now:
        return container[index]
    return None


def pick(container, index):
    return container[index]


def pick_from_bin(container, index):
    return container[index]


def pick_again(container, index):
    return container[index]


def pick_later(container, index, now):
    if now:
        return container[index]
    return None


shelf, crate, drawer, bin = Shelf(), Crate(), Drawer(), Bin()
for number in range(50):
    pick(shelf, number)  # pick and Shelf.__getitem__'s common path: warm, then untraced
    pick_from_bin(bin, number)
print(pick(shelf, 500), pick_from_bin(bin, "last"))

for number in range(50):
    pick_again([number, number], 1)  # the subscript only ever saw lists so far
print(pick_again(crate, -1))

pick_later([1], 0, True)
for number in range(50):
    pick_later(None, number, False)  # quickened: the subscript has not run since
print(pick_later(drawer, 7, True))

pick_from_tray([1], 0, True)
for number in range(50):
    make_tray(number)
    pick_from_tray(None, number, False)
print(pick_from_tray(make_tray(1), 99, True))


def pick_from_cabinet(container, index, now):
    if now:
        return container[index]
    return None


def pick_from_locker(container, index, now):
    if now:
        return container[index]
    return None


def pick_from_box(container, index, now):
    if now:
        return container[index]
    return None


def pick_from_vault(container, index, now):
    if now:
        return container[index]
    return None


def pick_from_safe(container, index, now):
    if now:
        return container[index]
    return None


def pick_from_chest(container, index, now):
    if now:
        return container[index]
    return None


for picker in (pick_from_cabinet, pick_from_locker, pick_from_box, pick_from_vault, pick_from_safe, pick_from_chest):
    picker([1], 0, True)
    for number in range(50):
        picker(None, number, False)  # quickened, the subscript not run since, as above
print(pick_from_cabinet(Cabinet(), 3, True), pick_from_locker(Locker(), 4, True), pick_from_box(make_box_class()(), 5, True))
print(pick_from_vault(Vault(), 6, True), pick_from_safe(Safe(), 25, True), pick_from_chest(Chest(), 8, True))
