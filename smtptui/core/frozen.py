"""Frozen value classes for the one-shot paths, without importing ``dataclasses``.

Why not ``@dataclass(frozen=True, slots=True)``: on Python 3.11 importing ``dataclasses``
imports ``inspect`` (and with it ``ast``, ``dis``, ``tokenize``), about 8 ms, and each
decorated class costs another ~0.5 ms at import (six methods compiled, the class built
twice). ``smtptui check``, ``probe`` and ``send`` import a few dozen value types, so that
was a third of their start-up. ``@frozen`` keeps the semantics those types rely on and
costs a fraction of that: one small ``__init__`` per class, compiled when its first
instance is made (most classes a start-up imports it never makes), the rest shared.

What ``@frozen`` gives, as the dataclass did: ``__slots__``; ``__init__`` taking the
annotated fields in order, positionally or by keyword, with the class-level values as
defaults (immutable defaults only: no factories); ``__post_init__`` when defined;
``==`` and ``hash`` field by field, only between instances of the same class; a
dataclass-style ``repr``; ``__match_args__``; assignment and deletion refused with
:class:`FrozenInstanceError` (an ``AttributeError``); copy and pickle support. Not
supported (use a dataclass where needed): inheritance between value classes,
``field(...)`` options, ordering. :func:`replace` is ``dataclasses.replace`` for them.
"""

from __future__ import annotations

from operator import attrgetter

TYPE_CHECKING = False  # typing is imported by type checkers only: not at start-up
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, TypeVar, dataclass_transform

    _T = TypeVar("_T")
else:
    def dataclass_transform(**_kwargs: object) -> object:
        return lambda decorated: decorated

__all__ = ["FrozenInstanceError", "fields", "frozen", "replace"]

class FrozenInstanceError(AttributeError):
    """Assigning to (or deleting) a field of a frozen value."""


def _setattr(self: object, name: str, value: object) -> None:
    raise FrozenInstanceError(f"cannot assign to field {name!r}")


def _delattr(self: object, name: str) -> None:
    raise FrozenInstanceError(f"cannot delete field {name!r}")


def _repr(self: Any) -> str:
    inner = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__match_args__)
    return f"{self.__class__.__qualname__}({inner})"


def _reduce(self: Any) -> tuple[type, tuple[object, ...]]:
    # The default reduction of a slotted class restores state with setattr, which a
    # frozen class refuses; rebuilding through __init__ works for copy and pickle alike.
    return self.__class__, tuple(getattr(self, name) for name in self.__match_args__)


def _init(names: tuple[str, ...], defaults: dict[str, object], post_init: bool
          ) -> Callable[..., None]:
    """``__init__`` for these fields: compiled, so it is as fast as the dataclass's own
    (compiling is most of what decorating a class costs, so it is the only method
    compiled)."""
    params = ", ".join(f"{n}=_d_{n}" if n in defaults else n for n in names)
    sets = "".join(f"    _set(self, {n!r}, {n})\n" for n in names)
    post = "    self.__post_init__()\n" if post_init else ""
    scope: dict[str, Any] = {f"_d_{n}": v for n, v in defaults.items()}
    scope["_set"] = object.__setattr__
    # The source is built from the class's own field names (identifiers) only.
    exec(f"def __init__(self, {params}):\n{sets}{post}    pass\n", scope)  # noqa: S102
    return scope["__init__"]  # type: ignore[no-any-return]


def _eq_and_hash(names: tuple[str, ...]
                 ) -> tuple[Callable[[Any, object], bool], Callable[[Any], int]]:
    """Field-wise ``==`` (same class only, as a dataclass) and the matching ``hash``."""
    if len(names) > 1:
        key = attrgetter(*names)   # a tuple of the fields, in C
    elif names:
        key = attrgetter(names[0])
    else:
        def key(_self: object) -> tuple[()]:
            return ()

    def __eq__(self: Any, other: object) -> bool:
        if other.__class__ is self.__class__:
            return key(self) == key(other)  # type: ignore[no-any-return]
        return NotImplemented

    def __hash__(self: Any) -> int:
        return hash(key(self))

    return __eq__, __hash__


@dataclass_transform(frozen_default=True)
def frozen(cls: type[_T]) -> type[_T]:
    """Make ``cls`` a frozen, slotted value class of its annotated fields (see module)."""
    namespace = dict(cls.__dict__)
    annotations: dict[str, object] = namespace.get("__annotations__", {})
    names = tuple(name for name, hint in annotations.items()
                  if not str(hint).startswith(("ClassVar", "typing.ClassVar")))
    defaults = {name: namespace.pop(name) for name in names if name in namespace}
    first_default = next((k for k, n in enumerate(names) if n in defaults), len(names))
    if any(n not in defaults for n in names[first_default:]):
        raise TypeError(f"{cls.__name__}: a field without a default follows one with one")
    built: list[type] = []
    init = _first_init(built, names, defaults, "__post_init__" in namespace)
    eq, hash_ = _eq_and_hash(names)
    for method in (init, eq, hash_):
        _name_method(method, cls)
    namespace.pop("__dict__", None)
    namespace.pop("__weakref__", None)
    own_hash = namespace.get("__hash__")
    namespace.update(
        __slots__=names, __match_args__=names, __init__=init,
        __setattr__=_setattr, __delattr__=_delattr, __reduce__=_reduce,
        __repr__=namespace.get("__repr__", _repr),
        __eq__=namespace.get("__eq__", eq),
        __hash__=own_hash if own_hash is not None else hash_,
    )
    built.append(type(cls)(cls.__name__, cls.__bases__, namespace))
    return built[0]  # type: ignore[return-value]


def _name_method(method: Callable[..., object], cls: type) -> None:
    method.__qualname__ = f"{cls.__qualname__}.{method.__name__}"
    method.__module__ = cls.__module__


def _first_init(built: list[type], names: tuple[str, ...], defaults: dict[str, object],
                post_init: bool) -> Callable[..., None]:
    """An ``__init__`` that compiles the real one on the first instance, puts it on the
    class and calls it: compiling is most of what decorating costs, and a start-up
    imports dozens of value classes of which it makes a few (``built`` holds the class,
    made after this function)."""

    def __init__(self: object, *args: object, **kwargs: object) -> None:
        cls = built[0]
        init = _init(names, defaults, post_init)
        _name_method(init, cls)
        cls.__init__ = init  # type: ignore[misc]
        init(self, *args, **kwargs)

    return __init__


def fields(obj: object) -> tuple[str, ...]:
    """The field names of a frozen value (class or instance), in order."""
    return obj.__match_args__  # type: ignore[attr-defined,no-any-return]


def replace(obj: _T, /, **changes: object) -> _T:
    """A copy of ``obj`` with some fields changed (``dataclasses.replace`` for ``@frozen``)."""
    values = {name: getattr(obj, name) for name in fields(obj)}
    unknown = changes.keys() - values.keys()
    if unknown:
        raise TypeError(f"{type(obj).__name__} has no field {min(unknown)!r}")
    return type(obj)(**(values | changes))
