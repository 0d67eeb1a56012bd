"""Values JSON cannot carry, as tagged JSON in the format of smolagents' SafeSerializer.

A tuple becomes {"__type__": "tuple", "data": [...]}, a date {"__type__": "date",
"data": "2024-01-31"}, bytes base64, and so on, so that what smolagents' own
SafeSerializer writes this reads and the other way round. The data may come
from the guest, so decoding makes only the listed types, from their plain
constructors: nothing is unpickled, no module the data names is imported, and
images stay encoded. Malformed input raises an Exception (KeyError, TypeError,
ValueError, ArithmeticError), never anything worse.

This file runs on both sides of the sandbox: as pycell._safejson on the host,
and inside the guest, where PycellExecutor executes its source. So it imports
only the standard library, and numpy / PIL only when the caller has already
loaded them.
"""
import base64
import dataclasses
import datetime
import decimal
import io
import pathlib
import sys


class SerializationError(TypeError):
    """The value has a type the tagged format does not carry."""


def to_json_safe(obj):
    """A JSON-serializable form of obj; SerializationError for a type the format does not carry."""
    kind = type(obj)
    if obj is None or kind in (str, int, float, bool):
        return obj
    if kind is list:
        return [to_json_safe(item) for item in obj]
    if kind is dict:
        if all(type(key) is str for key in obj):
            return {key: to_json_safe(value) for key, value in obj.items()}
        return {"__type__": "dict_with_complex_keys",
                "data": [[to_json_safe(key), to_json_safe(value)] for key, value in obj.items()]}
    if kind in (tuple, set, frozenset):
        return {"__type__": kind.__name__, "data": [to_json_safe(item) for item in obj]}
    if kind is bytes:
        return {"__type__": "bytes", "data": base64.b64encode(obj).decode()}
    if kind is complex:
        return {"__type__": "complex", "real": obj.real, "imag": obj.imag}
    # datetime before date: a datetime is also a date.
    for cls, tag in ((datetime.datetime, "datetime"), (datetime.date, "date"), (datetime.time, "time")):
        if kind is cls:
            return {"__type__": tag, "data": obj.isoformat()}
    if kind is datetime.timedelta:
        return {"__type__": "timedelta", "total_seconds": obj.total_seconds()}
    if kind is decimal.Decimal:
        return {"__type__": "Decimal", "data": str(obj)}
    if isinstance(obj, pathlib.PurePath):
        return {"__type__": "Path", "data": str(obj)}
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        if kind is numpy.ndarray:
            return {"__type__": "ndarray", "data": obj.tolist(), "dtype": str(obj.dtype)}
        if isinstance(obj, (numpy.integer, numpy.floating)):
            return obj.item()
    image = sys.modules.get("PIL.Image")
    if image is not None and isinstance(obj, image.Image):
        buffer = io.BytesIO()
        obj.save(buffer, format="PNG")
        return {"__type__": "PIL.Image", "data": base64.b64encode(buffer.getvalue()).decode()}
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {"__type__": "dataclass", "class_name": kind.__name__, "module": kind.__module__,
                "data": {f.name: to_json_safe(getattr(obj, f.name)) for f in dataclasses.fields(obj)}}
    raise SerializationError(f"Cannot safely serialize object of type {kind.__name__}")


_SEQUENCES = {"tuple": tuple, "set": set, "frozenset": frozenset}
_ISO = {"datetime": datetime.datetime, "date": datetime.date, "time": datetime.time}


def from_json_safe(obj):
    """The value to_json_safe (or smolagents' SafeSerializer.to_json_safe) encoded as obj."""
    if isinstance(obj, list):
        return [from_json_safe(item) for item in obj]
    if not isinstance(obj, dict):
        return obj
    tag = obj.get("__type__")
    if tag in _SEQUENCES:
        return _SEQUENCES[tag](from_json_safe(item) for item in obj["data"])
    if tag == "dict_with_complex_keys":
        return {from_json_safe(key): from_json_safe(value) for key, value in obj["data"]}
    if tag == "bytes":
        return base64.b64decode(obj["data"], validate=True)
    if tag == "complex":
        return complex(obj["real"], obj["imag"])
    if tag in _ISO:
        return _ISO[tag].fromisoformat(obj["data"])
    if tag == "timedelta":
        return datetime.timedelta(seconds=obj["total_seconds"])
    if tag == "Decimal":
        return decimal.Decimal(obj["data"])
    if tag == "Path":
        return pathlib.Path(obj["data"])
    if tag == "ndarray":
        numpy = sys.modules.get("numpy")
        if numpy is None:
            return obj["data"]
        dtype = numpy.dtype(str(obj["dtype"]))
        # Numbers only: a dtype such as "U2000000000" would make one element gigabytes.
        if dtype.kind not in "biufc":
            raise SerializationError(f"ndarray dtype {dtype} is not numeric")
        return numpy.array(obj["data"], dtype=dtype)
    # A "PIL.Image" stays the tagged dict: decoding an image file that the other
    # side wrote would hand untrusted bytes to PIL's decoders.
    if tag == "dataclass":
        # The class itself is not rebuilt (that would mean importing what the data names).
        return {"__dataclass__": obj["class_name"], "__module__": obj["module"],
                **{key: from_json_safe(value) for key, value in obj["data"].items()}}
    return {key: from_json_safe(value) for key, value in obj.items()}
