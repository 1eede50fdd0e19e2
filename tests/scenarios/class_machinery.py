# Classes made and changed every way Python has: pycov wraps the C functions behind
# type.__new__ and type.__setattr__ (see subscript_methods.py), and the program must see no
# difference, errors included. CPython compares those functions along a class's metaclasses.
# pycov also wraps the setters (and getters) of function.__code__, __defaults__ and
# __kwdefaults__, at the end.

import abc
import collections
import ctypes
import dataclasses
import enum
import inspect
import typing


def attempt(label, action):
    try:
        result = action()
        print(label, "ok", result)
    except Exception as error:
        print(label, type(error).__name__, error)


class Plain:
    pass


class Meta(type):
    pass


class GuardedMeta(type):
    def __setattr__(cls, name, value):
        super().__setattr__(name, value)

    def __delattr__(cls, name):
        super().__delattr__(name)


class Abstract(abc.ABC):  # abc.ABCMeta was made before pycov started
    pass


class Colour(enum.Enum):
    RED = 1


class Pair(ctypes.Structure):
    _fields_ = [("a", ctypes.c_int), ("b", ctypes.c_int)]


T = typing.TypeVar("T")


class Box(typing.Generic[T]):
    pass


attempt("type.__setattr__", lambda: type.__setattr__(Plain, "x", 1))
attempt("type.__delattr__", lambda: type.__delattr__(Plain, "x"))
attempt("object.__setattr__ on a class", lambda: object.__setattr__(Plain, "y", 1))
attempt("setattr on int", lambda: setattr(int, "x", 1))
attempt("type.__setattr__ on int", lambda: type.__setattr__(int, "x", 1))
attempt("type.__setattr__ on an ABC", lambda: type.__setattr__(Abstract, "x", 1))
attempt("type.__delattr__ on an ABC", lambda: type.__delattr__(Abstract, "x"))
attempt("type.__new__(Meta)", lambda: type.__new__(Meta, "N", (), {}).__name__)
attempt("type.__new__(ABCMeta)", lambda: type.__new__(abc.ABCMeta, "N", (), {}).__name__)
attempt("type.__new__(EnumType)", lambda: type.__new__(enum.EnumType, "N", (), {}).__name__)
attempt("Meta.__new__", lambda: Meta.__new__(Meta, "X", (), {}).__name__)
attempt("object.__new__(Meta)", lambda: object.__new__(Meta))
guarded = GuardedMeta("Guarded", (), {})
attempt("set through a Python __setattr__", lambda: setattr(guarded, "z", 2))
attempt("del through a Python __delattr__", lambda: delattr(guarded, "z"))
attempt("super().__setattr__ on a metaclass", lambda: super(Meta, Meta("W", (), {})).__setattr__("k", 1))
attempt("enum: set", lambda: setattr(Colour, "extra", 3))
attempt("enum: del", lambda: delattr(Colour, "extra"))
attempt("enum: reassign a member", lambda: setattr(Colour, "RED", 3))
attempt("enum: subscript", lambda: Colour["RED"])
attempt("dataclass", lambda: dataclasses.make_dataclass("D", ["a"])(1))
attempt("generic alias", lambda: Box[int])
attempt("named tuple", lambda: typing.NamedTuple("NT", [("a", int)])(1))
attempt("ctypes structure", lambda: (Pair(3, 4).a, Pair(3, 4).b))
attempt("ctypes: set on the class", lambda: setattr(Pair, "c", 1))
attempt("type() with a keyword", lambda: type("K", (), {}, extra=1))
attempt("slots", lambda: type("Slotted", (), {"__slots__": ("a",)})().__class__.__name__)
attempt("UserDict subclass", lambda: type("Counts", (collections.UserDict,), {})({"a": 1})["a"])
attempt("a number as __getitem__", lambda: setattr(Plain, "__getitem__", 5))
attempt("subscript with it", lambda: Plain()[1])
attempt("a function as __getitem__", lambda: setattr(Plain, "__getitem__", lambda self, i: i * 2))
attempt("subscript with it", lambda: Plain()[2])
attempt("deleting __getitem__", lambda: delattr(Plain, "__getitem__"))
attempt("subscript without it", lambda: Plain()[3])
print(sorted(type.__dict__))


def scaled(a, b=1, *, c=2):
    return a + b + c


def product(a, b=5, *, c=7):
    return a * b * c


attempt("read __code__", lambda: (scaled.__code__.co_name, scaled.__defaults__, scaled.__kwdefaults__))
attempt("replace __code__", lambda: setattr(scaled, "__code__", product.__code__))
attempt("call it", lambda: scaled(2))
attempt("replace __defaults__", lambda: setattr(scaled, "__defaults__", (3,)))
attempt("delete __kwdefaults__", lambda: delattr(scaled, "__kwdefaults__"))
attempt("call it again", lambda: (scaled(2, c=1), str(inspect.signature(scaled))))
for attribute in ("__code__", "__defaults__", "__kwdefaults__"):
    attempt(f"a number as {attribute}", lambda: setattr(scaled, attribute, 5))
attempt("delete __code__", lambda: delattr(scaled, "__code__"))
def make_reader(value):
    return lambda: value


attempt("code with a free variable", lambda: setattr(scaled, "__code__", make_reader(1).__code__))
descriptor = type(scaled).__dict__["__code__"]
print(descriptor.__name__, descriptor.__doc__, descriptor.__objclass__, type(descriptor).__name__)
