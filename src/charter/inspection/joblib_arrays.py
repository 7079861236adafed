"""Where joblib's inline array data lies inside its pickle stream, so a walk can step over it.

``joblib.dump`` writes each numpy array as a ``NumpyArrayWrapper`` (shape, dtype, order) and
then the array's raw bytes straight into the stream, outside any opcode; ``joblib.load`` reads
them when it builds the wrapper. A plain opcode walk stops at the first such array. This module
follows the pickle's stack symbolically (constants, containers, memo and calls as inert records;
nothing is imported or called) just far enough to read each wrapper's state, and says how many
raw bytes follow it. Anything it does not understand ends the walk where it is, as before.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

WRAPPER = ("joblib.numpy_pickle", "NumpyArrayWrapper")
_DTYPE = re.compile(r"^[<>|=]?(b1|[biuf]\d{1,2}|c\d{1,2}|[SUV]\d{1,9}|[mM]8(\[\w+\])?|O|O8)$")


class Unsupported(Exception):
    """The stream does something this reader does not follow."""


@dataclass(frozen=True)
class Global:
    module: str
    name: str


@dataclass
class Call:
    """An object a loader would make by calling ``func`` with ``args`` (never made here)."""

    func: Any
    args: Any
    state: Any = None


@dataclass(frozen=True)
class Skip:
    """What follows a wrapper's BUILD: ``raw`` bytes after optional padding, or a pickle."""

    raw: int
    padded: bool
    nested_pickle: bool


@dataclass
class Tracker:
    stack: list[Any] = field(default_factory=list)
    marks: list[int] = field(default_factory=list)
    memo: dict[int, Any] = field(default_factory=dict)

    def feed(self, name: str, arg: Any) -> Skip | None:
        """Apply one opcode; a Skip when it built an array wrapper whose data follows."""
        handler = getattr(self, f"_op_{name.lower()}", None)
        if handler is not None:
            return handler(arg)  # type: ignore[no-any-return]
        if name in _CONSTANTS:
            self.stack.append(arg)
            return None
        if name in _IGNORED:
            return None
        raise Unsupported(name)

    def _pop_mark(self) -> list[Any]:
        if not self.marks:
            raise Unsupported("MARK missing")
        at = self.marks.pop()
        items, self.stack[at:] = self.stack[at:], []
        return items

    def _pop(self) -> Any:
        if not self.stack:
            raise Unsupported("stack underflow")
        return self.stack.pop()

    def _op_mark(self, _: Any) -> None:
        self.marks.append(len(self.stack))

    def _op_pop(self, _: Any) -> None:
        self._pop()

    def _op_pop_mark(self, _: Any) -> None:
        self._pop_mark()

    def _op_dup(self, _: Any) -> None:
        self.stack.append(self.stack[-1] if self.stack else None)

    def _op_memoize(self, _: Any) -> None:
        self.memo[len(self.memo)] = self.stack[-1] if self.stack else None

    def _op_put(self, arg: Any) -> None:
        self.memo[int(arg)] = self.stack[-1] if self.stack else None

    _op_binput = _op_long_binput = _op_put

    def _op_get(self, arg: Any) -> None:
        self.stack.append(self.memo.get(int(arg)))

    _op_binget = _op_long_binget = _op_get

    def _op_global(self, arg: Any) -> None:
        module, _, name = str(arg).partition(" ")
        self.stack.append(Global(module, name))

    def _op_stack_global(self, _: Any) -> None:
        name, module = self._pop(), self._pop()
        self.stack.append(Global(str(module), str(name)))

    def _op_empty_tuple(self, _: Any) -> None:
        self.stack.append(())

    def _op_tuple(self, _: Any) -> None:
        self.stack.append(tuple(self._pop_mark()))

    def _op_tuple1(self, _: Any) -> None:
        self.stack.append((self._pop(),))

    def _op_tuple2(self, _: Any) -> None:
        b, a = self._pop(), self._pop()
        self.stack.append((a, b))

    def _op_tuple3(self, _: Any) -> None:
        c, b, a = self._pop(), self._pop(), self._pop()
        self.stack.append((a, b, c))

    def _op_empty_list(self, _: Any) -> None:
        self.stack.append([])

    def _op_list(self, _: Any) -> None:
        self.stack.append(self._pop_mark())

    def _op_append(self, _: Any) -> None:
        value = self._pop()
        if isinstance(self.stack[-1] if self.stack else None, list):
            self.stack[-1].append(value)

    def _op_appends(self, _: Any) -> None:
        values = self._pop_mark()
        if self.stack and isinstance(self.stack[-1], list):
            self.stack[-1].extend(values)

    def _op_empty_dict(self, _: Any) -> None:
        self.stack.append({})

    def _op_dict(self, _: Any) -> None:
        items = self._pop_mark()
        self.stack.append(_as_dict(items))

    def _op_setitem(self, _: Any) -> None:
        value, key = self._pop(), self._pop()
        if self.stack and isinstance(self.stack[-1], dict):
            self.stack[-1].update(_as_dict([key, value]))

    def _op_setitems(self, _: Any) -> None:
        items = self._pop_mark()
        if self.stack and isinstance(self.stack[-1], dict):
            self.stack[-1].update(_as_dict(items))

    def _op_empty_set(self, _: Any) -> None:
        self.stack.append(None)

    def _op_additems(self, _: Any) -> None:
        self._pop_mark()

    def _op_frozenset(self, _: Any) -> None:
        self._pop_mark()
        self.stack.append(None)

    def _op_reduce(self, _: Any) -> None:
        args, func = self._pop(), self._pop()
        self.stack.append(Call(func, args))

    def _op_newobj(self, _: Any) -> None:
        args, cls = self._pop(), self._pop()
        self.stack.append(Call(cls, args))

    def _op_newobj_ex(self, _: Any) -> None:
        _, args, cls = self._pop(), self._pop(), self._pop()
        self.stack.append(Call(cls, args))

    def _op_binpersid(self, _: Any) -> None:
        self._pop()
        self.stack.append(None)

    def _op_build(self, _: Any) -> Skip | None:
        state = self._pop()
        target = self.stack[-1] if self.stack else None
        if not isinstance(target, Call):
            return None
        target.state = state
        func = target.func
        if isinstance(func, Global) and (func.module, func.name) == WRAPPER:
            return _skip_for(state)
        return None


_CONSTANTS = frozenset(
    {
        "INT",
        "BININT",
        "BININT1",
        "BININT2",
        "LONG",
        "LONG1",
        "LONG4",
        "FLOAT",
        "BINFLOAT",
        "STRING",
        "BINSTRING",
        "SHORT_BINSTRING",
        "UNICODE",
        "SHORT_BINUNICODE",
        "BINUNICODE",
        "BINUNICODE8",
        "BINBYTES",
        "SHORT_BINBYTES",
        "BINBYTES8",
        "BYTEARRAY8",
        "NONE",
        "NEWTRUE",
        "NEWFALSE",
    }
)
_IGNORED = frozenset({"PROTO", "FRAME", "STOP"})


def _as_dict(items: list[Any]) -> dict[Any, Any]:
    result = {}
    for key, value in zip(items[::2], items[1::2], strict=False):
        try:
            result[key] = value
        except TypeError:
            continue  # an unhashable key: a record, not data this reader needs
    return result


def _skip_for(state: Any) -> Skip:
    if not isinstance(state, dict):
        raise Unsupported("array wrapper without a state dict")
    shape, dtype = state.get("shape"), state.get("dtype")
    if not isinstance(shape, tuple) or not all(
        isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape
    ):
        raise Unsupported("array wrapper with an unreadable shape")
    code = _dtype_code(dtype)
    if code in ("O", "O8", "|O"):
        return Skip(raw=0, padded=False, nested_pickle=True)
    import numpy

    itemsize = int(numpy.dtype(code).itemsize)  # a type code from the regex: parsing only
    padded = state.get("numpy_array_alignment_bytes") is not None
    count = math.prod(shape) if shape else 1
    return Skip(raw=count * itemsize, padded=padded, nested_pickle=False)


def _dtype_code(dtype: Any) -> str:
    if not (
        isinstance(dtype, Call)
        and isinstance(dtype.func, Global)
        and (dtype.func.module, dtype.func.name) == ("numpy", "dtype")
        and isinstance(dtype.args, tuple)
        and dtype.args
        and isinstance(dtype.args[0], str)
    ):
        raise Unsupported("array wrapper with an unreadable dtype")
    code = dtype.args[0]
    state = dtype.state
    if isinstance(state, tuple) and len(state) > 1 and isinstance(state[1], str):
        code = state[1].replace("|", "") + code.lstrip("<>|=")  # byte order from the state
    if _DTYPE.fullmatch(code) is None or (code.lstrip("<>|=").startswith("V")):
        raise Unsupported(f"array wrapper with dtype {code!r}")
    return code
