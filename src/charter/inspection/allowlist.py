"""The globals a pickle may import without being called ``suspicious``.

picklescan's deny-list names what is known to be dangerous; this allow-list names what is known
to be harmless in model files (array and estimator reconstruction). Anything in neither is
``suspicious``: a scanner's deny-list has known bypasses, an allow-list has fewer.
"""

from __future__ import annotations

EXACT = frozenset(
    {
        "collections.OrderedDict",
        "collections.defaultdict",
        "collections.Counter",
        "collections.deque",
        "copyreg._reconstructor",
        "_codecs.encode",
        "datetime.datetime",
        "datetime.date",
        "datetime.time",
        "datetime.timedelta",
        "datetime.timezone",
        "decimal.Decimal",
        "numpy.dtype",
        "numpy.ndarray",
        "numpy.core.multiarray._reconstruct",
        "numpy.core.multiarray.scalar",
        "numpy._core.multiarray._reconstruct",
        "numpy._core.multiarray.scalar",
        "numpy.core.numeric._frombuffer",
        "numpy._core.numeric._frombuffer",
        "numpy.random._pickle.__randomstate_ctor",
        "numpy.random._pickle.__bit_generator_ctor",
        "numpy.random._pickle.__generator_ctor",
        "numpy.random.mtrand.RandomState",
        "joblib.numpy_pickle.NumpyArrayWrapper",
        "joblib.numpy_pickle.NDArrayWrapper",
        "torch._utils._rebuild_tensor_v2",
        "torch._utils._rebuild_parameter",
        "torch.Size",
        "torch.device",
    }
    | {
        f"builtins.{name}"
        for name in (
            "set",
            "frozenset",
            "slice",
            "range",
            "complex",
            "bytearray",
            "object",
            "int",
            "float",
            "bool",
            "str",
            "bytes",
            "list",
            "dict",
            "tuple",
        )
    }
    | {
        f"torch.{dtype}"
        for dtype in (
            "float64",
            "float32",
            "float16",
            "bfloat16",
            "int64",
            "int32",
            "int16",
            "int8",
            "uint8",
            "bool",
            "complex64",
            "complex128",
        )
    }
)
# Whole packages of estimators and containers, minus their test helpers.
PREFIXES = ("sklearn.", "scipy.sparse.", "numpy.dtypes.")
EXCLUDED_PREFIXES = ("sklearn.utils._testing", "sklearn.externals")


def allowed(name: str) -> bool:
    """Whether ``module.name`` is known to be harmless to import when unpickling."""
    # Protocols 0 to 2 write Python 2's module names; the unpickler maps them to these.
    for old, new in (("__builtin__.", "builtins."), ("copy_reg.", "copyreg.")):
        if name.startswith(old):
            name = new + name.removeprefix(old)
    if name in EXACT:
        return True
    module, _, attribute = name.rpartition(".")
    if module == "torch" and attribute.endswith("Storage"):
        return True
    return name.startswith(PREFIXES) and not name.startswith(EXCLUDED_PREFIXES)
