"""core.frozen: the value classes of the one-shot paths behave as the frozen, slotted
dataclasses they replace (equality, hashing, repr, immutability, copy and pickle)."""

from __future__ import annotations

import copy
import pickle

import pytest

from smtptui.core.diagnostics import Diagnostic, Severity
from smtptui.core.frozen import FrozenInstanceError, fields, frozen, replace
from smtptui.core.replies import Reply


@frozen
class Point:
    """A value for these tests."""

    x: int
    y: int = 0
    label: str = ""


@frozen
class OtherPoint:
    x: int
    y: int = 0
    label: str = ""


@frozen
class Positive:
    n: int

    def __post_init__(self) -> None:
        if self.n <= 0:
            raise ValueError("n must be positive")


def test_init_takes_fields_in_order_with_defaults() -> None:
    assert Point(1) == Point(x=1, y=0, label="")
    assert (Point(1, 2, "a").x, Point(1, 2, "a").y, Point(1, 2, "a").label) == (1, 2, "a")
    with pytest.raises(TypeError):
        Point()  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Point(1, z=3)  # type: ignore[call-arg]


def test_equality_and_hash_are_field_wise_and_only_within_one_class() -> None:
    assert Point(1, 2) == Point(1, 2)
    assert Point(1, 2) != Point(1, 3)
    assert hash(Point(1, 2)) == hash(Point(1, 2))
    assert Point(1, 2) != OtherPoint(1, 2)
    assert Point(1, 2) != (1, 2, "")  # not a tuple, unlike a NamedTuple
    assert len({Point(1), Point(1), Point(2)}) == 2


def test_repr_is_the_dataclass_one() -> None:
    assert repr(Point(1, label="a")) == "Point(x=1, y=0, label='a')"
    d = Diagnostic(Severity.ERROR, 0, 1, "m")
    assert repr(d).startswith("Diagnostic(severity=<Severity.ERROR: 'error'>, start=0")


def test_fields_cannot_be_assigned_or_deleted_and_there_is_no_dict() -> None:
    p = Point(1)
    with pytest.raises(FrozenInstanceError):
        p.x = 2  # type: ignore[misc]
    with pytest.raises(AttributeError):  # FrozenInstanceError is an AttributeError
        del p.y  # type: ignore[misc]
    with pytest.raises(AttributeError):
        p.extra = 1  # type: ignore[attr-defined]
    assert not hasattr(p, "__dict__")
    assert Point.__slots__ == ("x", "y", "label")


def test_post_init_runs() -> None:
    assert Positive(1).n == 1
    with pytest.raises(ValueError, match="positive"):
        Positive(0)


def test_replace_fields_match_copy_and_pickle() -> None:
    p = Point(1, 2, "a")
    assert replace(p, y=5) == Point(1, 5, "a")
    with pytest.raises(TypeError, match="no field 'z'"):
        replace(p, z=1)
    assert fields(p) == fields(Point) == ("x", "y", "label")
    assert copy.copy(p) == p and copy.deepcopy(p) == p
    reply = Reply.from_text("250-mx.example\n250 SIZE 10")
    assert pickle.loads(pickle.dumps(reply)) == reply
    match p:
        case Point(x, y):
            assert (x, y) == (1, 2)


def test_a_field_without_default_after_one_with_is_refused() -> None:
    with pytest.raises(TypeError, match="follows"):
        @frozen
        class Bad:
            a: int = 0
            b: int  # type: ignore[misc]


def test_init_is_compiled_on_the_first_instance_with_the_same_errors() -> None:
    @frozen
    class Late:
        a: int
        b: str = "b"

        def __post_init__(self) -> None:
            if self.a < 0:
                raise ValueError("negative")

    first_init = Late.__init__
    # A wrong call on the first use is refused as the compiled __init__ refuses it ...
    with pytest.raises(TypeError, match="missing 1 required positional argument: 'a'"):
        Late()  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="unexpected keyword argument 'c'"):
        Late(1, c=2)  # type: ignore[call-arg]
    # ... and from then on the class has the compiled one, named as a method of it.
    assert Late.__init__ is not first_init
    assert Late.__init__.__qualname__.endswith("Late.__init__")
    assert Late(1) == Late(a=1, b="b") and Late(2, "x").b == "x"
    with pytest.raises(ValueError, match="negative"):
        Late(-1)


def test_a_subclass_made_first_compiles_the_init_of_the_value_class() -> None:
    @frozen
    class Base:
        a: int

    class Named(Base):
        __slots__ = ()

        def name(self) -> str:
            return f"n{self.a}"

    stub = Base.__init__
    assert Named(3).name() == "n3"
    assert Base.__init__ is not stub and Named.__init__ is Base.__init__
    assert Base(3).a == 3
