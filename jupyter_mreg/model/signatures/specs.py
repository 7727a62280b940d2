"""What a model method takes and returns: FeatureSpec, FeatureGroupSpec, ParamSpec, ParamGroupSpec, ModelSignature.

Each spec checks its arguments when built, writes itself as a JSON-able dict (`to_dict`) that `from_dict`
reads back exactly, and shows itself as text (`repr`) and, for a signature, as an HTML table.
"""

from __future__ import annotations

import base64
import html
import textwrap
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from jupyter_mreg.errors import InvalidArgumentError, SignatureError
from jupyter_mreg.model.signatures.coerce import coerce_param
from jupyter_mreg.model.signatures.types import DataType


def _as_datatype(dtype: Any, owner: str) -> DataType:
    if isinstance(dtype, DataType):
        return dtype
    if isinstance(dtype, str) and dtype.upper() in DataType.__members__:
        return DataType[dtype.upper()]
    raise InvalidArgumentError(
        f"{owner}: dtype must be a DataType (e.g. DataType.DOUBLE) or its name, but got {dtype!r}. "
        f"Known types: {', '.join(DataType.__members__)}."
    )


def _as_shape(shape: Any, owner: str) -> tuple[int, ...] | None:
    if shape is None:
        return None
    if isinstance(shape, (list, tuple)) and all(
        isinstance(d, (int, np.integer)) and not isinstance(d, bool) and (d > 0 or d == -1) for d in shape
    ):
        return tuple(int(d) for d in shape) if shape else None
    raise InvalidArgumentError(
        f"{owner}: shape must be None (a scalar) or a tuple of positive sizes, -1 for a variable size, "
        f"e.g. (3,) or (-1,); got {shape!r}."
    )


def _shape_from_dict(d: dict[str, Any]) -> tuple[Any, ...] | None:
    shape = d.get("shape")
    return tuple(shape) if shape else None


def as_name(name: Any, kind: str) -> str:
    """The name of a feature / param; raises InvalidArgumentError unless it is a non-empty str."""
    if isinstance(name, str) and name:
        return str(name)
    raise InvalidArgumentError(f"A {kind} name must be a non-empty string, but got {name!r}.")


def check_unique(names: list[str], owner: str, kind: str) -> None:
    """Raises InvalidArgumentError naming the duplicates when a name appears twice."""
    seen: set[str] = set()
    dups = [n for n in names if n in seen or seen.add(n)]  # type: ignore[func-returns-value]
    if dups:
        raise InvalidArgumentError(
            f"{owner} has duplicate {kind} names {sorted(set(dups))}; every {kind} needs its own name."
        )


def _shape_sql(inner: str, shape: tuple[int, ...] | None) -> str:
    for _ in shape or ():
        inner = f"ARRAY({inner})"
    return inner


def _children(owner: str, specs: Sequence[Any], base: type, kind: str) -> list[Any]:
    """A group's child specs as a list; raises InvalidArgumentError unless there is one or more, each a `base`."""
    out = list(specs)
    if not out:
        raise InvalidArgumentError(f"{owner} has no child specs; give at least one {kind}Spec.")
    bad = [s for s in out if not isinstance(s, base)]
    if bad:
        raise InvalidArgumentError(f"{owner}: children must be {kind}Spec or {kind}GroupSpec, got {bad[0]!r}.")
    return out


# Snowflake's FeatureSpec.as_dtype: a nullable feature's column takes pandas' masked dtype, so a null stays
# <NA> instead of turning an int column into float (timestamps and bytes keep numpy's).
_NULLABLE = {
    np.dtype(np.int8): pd.Int8Dtype(), np.dtype(np.int16): pd.Int16Dtype(), np.dtype(np.int32): pd.Int32Dtype(),
    np.dtype(np.int64): pd.Int64Dtype(), np.dtype(np.uint8): pd.UInt8Dtype(), np.dtype(np.uint16): pd.UInt16Dtype(),
    np.dtype(np.uint32): pd.UInt32Dtype(), np.dtype(np.uint64): pd.UInt64Dtype(),
    np.dtype(np.float32): pd.Float32Dtype(), np.dtype(np.float64): pd.Float64Dtype(),
    np.dtype(np.bool_): pd.BooleanDtype(), np.dtype(np.str_): pd.StringDtype(),
}


class _ComparedByFields:
    """Value equality: equal to an object of its own class with equal `_fields()`; not hashable."""

    def _fields(self) -> tuple[Any, ...]:  # pragma: no cover - abstract
        raise NotImplementedError

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, type(self)):
            return NotImplemented
        return self._fields() == other._fields()

    __hash__ = None  # type: ignore[assignment]


class _NamedSpec:
    """What features and params share: a name and a per-row shape."""

    _name: str
    _shape: tuple[int, ...] | None

    @property
    def name(self) -> str:
        return self._name

    @property
    def shape(self) -> tuple[int, ...] | None:
        """None for a scalar; a tuple of sizes (-1 = variable) for a list / tensor per row."""
        return self._shape

    def _shape_repr(self) -> str:
        return f", shape={self._shape!r}" if self._shape is not None else ""

    def _with_shape(self, out: dict[str, Any]) -> dict[str, Any]:
        if self._shape is not None:
            out["shape"] = list(self._shape)
        return out


class BaseFeatureSpec(_NamedSpec):
    """A named input or output of a model method."""

    def to_dict(self) -> dict[str, Any]:  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def sql_type(self) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    @classmethod
    def from_dict(cls, input_dict: dict[str, Any]) -> BaseFeatureSpec:
        """Either kind of spec, chosen by the dict's keys (a group has "specs")."""
        if "specs" in input_dict or "feature_group" in input_dict:
            return FeatureGroupSpec.from_dict(input_dict)
        return FeatureSpec.from_dict(input_dict)


class FeatureSpec(_ComparedByFields, BaseFeatureSpec):
    """One column: a name, an element DataType, an optional per-row shape, and whether nulls may appear."""

    def __init__(
        self,
        name: str,
        dtype: DataType,
        shape: tuple[int, ...] | None = None,
        nullable: bool = True,
    ) -> None:
        self._name = as_name(name, "feature")
        self._dtype = _as_datatype(dtype, f"FeatureSpec {name!r}")
        self._shape = _as_shape(shape, f"FeatureSpec {name!r}")
        self._nullable = bool(nullable)

    @property
    def dtype(self) -> DataType:
        return self._dtype

    @property
    def nullable(self) -> bool:
        return self._nullable

    @property
    def sql_type(self) -> str:
        return _shape_sql(self._dtype.sql_type, self._shape)

    def as_dtype(self, force_numpy_dtype: bool = False) -> Any:
        """The dtype of a column holding this feature, as Snowflake's `run` returns it: pandas' nullable
        dtype (Float64, Int64, boolean, string...) when the feature is nullable, else the numpy dtype
        (`force_numpy_dtype=True` always gives numpy); object for list / tensor features."""
        if self._shape is not None:
            return np.dtype(object)
        numpy_dtype = self._dtype.as_numpy()
        if self._nullable and not force_numpy_dtype:
            return _NULLABLE.get(numpy_dtype, numpy_dtype)
        return numpy_dtype

    def _fields(self) -> tuple[Any, ...]:
        return (self._name, self._dtype, self._shape, self._nullable)

    def __repr__(self) -> str:
        return (
            f"FeatureSpec(dtype={self._dtype!r}, name={self._name!r}{self._shape_repr()}, "
            f"nullable={self._nullable!r})"
        )

    def to_dict(self) -> dict[str, Any]:
        """`{"type": "DOUBLE", "name": ..., "nullable": true[, "shape": [...]]}`, JSON-able."""
        return self._with_shape({"type": self._dtype.name, "name": self._name, "nullable": self._nullable})

    @classmethod
    def from_dict(cls, input_dict: dict[str, Any]) -> FeatureSpec:
        try:
            dtype = DataType[input_dict["type"]]
            name = input_dict["name"]
        except KeyError as e:
            raise SignatureError(
                f"Feature spec {input_dict!r} is missing or has an unknown {e}; expected "
                '{"type": <DataType name>, "name": <str>, "nullable": <bool>, "shape": [..] (optional)}.'
            ) from None
        return cls(name=name, dtype=dtype, shape=_shape_from_dict(input_dict),
                   nullable=input_dict.get("nullable", True))


class FeatureGroupSpec(_ComparedByFields, BaseFeatureSpec):
    """A dict / struct-valued column: named child specs (an ARRAY of them when `shape` is set)."""

    def __init__(self, name: str, specs: Sequence[BaseFeatureSpec], shape: tuple[int, ...] | None = None) -> None:
        self._name = as_name(name, "feature group")
        self._shape = _as_shape(shape, f"FeatureGroupSpec {name!r}")
        self._specs = _children(f"FeatureGroupSpec {name!r}", specs, BaseFeatureSpec, "Feature")
        check_unique([s.name for s in self._specs], f"FeatureGroupSpec {name!r}", "child feature")

    @property
    def specs(self) -> list[BaseFeatureSpec]:
        return self._specs

    @property
    def nullable(self) -> bool:
        return True

    @property
    def sql_type(self) -> str:
        return _shape_sql("OBJECT", self._shape)

    def as_dtype(self, force_numpy_dtype: bool = False) -> np.dtype:
        return np.dtype(object)

    def _fields(self) -> tuple[Any, ...]:
        return (self._name, self._specs, self._shape)

    def __repr__(self) -> str:
        children = ",\n".join(textwrap.indent(repr(s), "    ") for s in self._specs)
        return f"FeatureGroupSpec(name={self._name!r}, specs=[\n{children}\n]{self._shape_repr()})"

    def to_dict(self) -> dict[str, Any]:
        return self._with_shape({"name": self._name, "specs": [s.to_dict() for s in self._specs]})

    @classmethod
    def from_dict(cls, input_dict: dict[str, Any]) -> FeatureGroupSpec:
        # Older Snowflake files wrap the group as {"feature_group": {...}}.
        d = input_dict.get("feature_group", input_dict)
        shape = _shape_from_dict(d)
        return cls(name=d["name"], specs=[BaseFeatureSpec.from_dict(s) for s in d["specs"]], shape=shape)


class BaseParamSpec(_NamedSpec):
    """An inference-time keyword argument of a method (constant for a whole call)."""

    @classmethod
    def from_dict(cls, input_dict: dict[str, Any]) -> BaseParamSpec:
        """Either kind of param spec, chosen by the dict's keys (a group has "specs")."""
        if "specs" in input_dict:
            return ParamGroupSpec.from_dict(input_dict)
        return ParamSpec.from_dict(input_dict)


class ParamSpec(_ComparedByFields, BaseParamSpec):
    """A named parameter with a DataType and a default used when a call does not pass it."""

    def __init__(self, name: str, dtype: DataType, default_value: Any, shape: tuple[int, ...] | None = None) -> None:
        self._name = as_name(name, "param")
        self._dtype = _as_datatype(dtype, f"ParamSpec {name!r}")
        self._shape = _as_shape(shape, f"ParamSpec {name!r}")
        # Stored as plain Python values so to_dict is JSON-able and equality is exact.
        self._default_value = (
            None if default_value is None else coerce_param(default_value, self, what="default value")
        )

    @property
    def dtype(self) -> DataType:
        return self._dtype

    @property
    def default_value(self) -> Any:
        return self._default_value

    @property
    def sql_type(self) -> str:
        return _shape_sql(self._dtype.sql_type, self._shape)

    def _fields(self) -> tuple[Any, ...]:
        return (self._name, self._dtype, self._shape, self._default_value)

    def __repr__(self) -> str:
        return (
            f"ParamSpec(name={self._name!r}, dtype={self._dtype!r}, "
            f"default_value={self._default_value!r}{self._shape_repr()})"
        )

    def to_dict(self) -> dict[str, Any]:
        """`{"name", "dtype", "default_value"[, "shape"]}`; timestamps as ISO text, bytes as base64."""
        return self._with_shape({
            "name": self._name,
            "dtype": self._dtype.name,
            "default_value": _map_nested(self._default_value, self._shape, self._jsonable),
        })

    def _jsonable(self, v: Any) -> Any:
        if v is None:
            return None
        if self._dtype is DataType.TIMESTAMP_NTZ:
            return v.isoformat()
        if self._dtype is DataType.BYTES:
            return base64.b64encode(v).decode("ascii")
        return v

    @classmethod
    def from_dict(cls, input_dict: dict[str, Any]) -> ParamSpec:
        dtype = DataType[input_dict["dtype"]]
        shape = _shape_from_dict(input_dict)
        default = input_dict.get("default_value")
        if dtype is DataType.BYTES:
            default = _map_nested(default, shape, lambda v: None if v is None else base64.b64decode(v))
        return cls(name=input_dict["name"], dtype=dtype, default_value=default, shape=shape)


class ParamGroupSpec(_ComparedByFields, BaseParamSpec):
    """A dict-valued param (an OBJECT in SQL): named child params, an ARRAY of such dicts when `shape` is set.

    Without an explicit `default_value` the default is built from the children's defaults (a dict; for a
    shape, nested lists of it, `[]` for a variable dimension), as in Snowflake. A call may pass part of the
    dict: the keys it leaves out keep their defaults (see `validate_params`).
    """

    def __init__(self, name: str, specs: Sequence[BaseParamSpec], default_value: Any = None,
                 shape: tuple[int, ...] | None = None) -> None:
        self._name = as_name(name, "param group")
        self._shape = _as_shape(shape, f"ParamGroupSpec {name!r}")
        self._specs = _children(f"ParamGroupSpec {name!r}", specs, BaseParamSpec, "Param")
        check_unique([s.name.upper() for s in self._specs], f"ParamGroupSpec {name!r}", "case-insensitive child")
        self._explicit_default = (
            None if default_value is None else coerce_param(default_value, self, what="default value")
        )

    @property
    def specs(self) -> list[BaseParamSpec]:
        return self._specs

    @property
    def dtype(self) -> DataType:
        return DataType.OBJECT

    @property
    def default_value(self) -> Any:
        if self._explicit_default is not None:
            return self._explicit_default
        base = {s.name: s.default_value for s in self._specs}  # type: ignore[attr-defined]

        def wrap(dims: tuple[int, ...]) -> Any:
            if not dims:
                return dict(base)
            return [] if dims[0] == -1 else [wrap(dims[1:]) for _ in range(dims[0])]

        return wrap(self._shape or ())

    @property
    def sql_type(self) -> str:
        return _shape_sql("OBJECT", self._shape)

    def _fields(self) -> tuple[Any, ...]:
        return (self._name, self._specs, self._shape, self._explicit_default)

    def __repr__(self) -> str:
        children = ",\n".join(textwrap.indent(repr(s), "    ") for s in self._specs)
        return f"ParamGroupSpec(name={self._name!r}, specs=[\n{children}\n]{self._shape_repr()})"

    def to_dict(self) -> dict[str, Any]:
        """`{"name", "specs": [...][, "shape"][, "default_value"]}` (the default only when given explicitly)."""
        out = self._with_shape({"name": self._name, "specs": [s.to_dict() for s in self._specs]})  # type: ignore[attr-defined]
        if self._explicit_default is not None:
            out["default_value"] = _group_jsonable(self, self._explicit_default)
        return out

    @classmethod
    def from_dict(cls, input_dict: dict[str, Any]) -> ParamGroupSpec:
        specs = [BaseParamSpec.from_dict(s) for s in input_dict["specs"]]
        return cls(name=input_dict["name"], specs=specs, default_value=input_dict.get("default_value"),
                   shape=_shape_from_dict(input_dict))


def _group_jsonable(spec: ParamGroupSpec, value: Any) -> Any:
    """A group's value (coerced: nested lists of dicts with canonical keys) with its leaves made JSON-able."""

    def leaf(d: Any) -> Any:
        if not isinstance(d, dict):
            return d
        children = {c.name: c for c in spec.specs}
        out = {}
        for k, v in d.items():
            child = children[k]
            if isinstance(child, ParamGroupSpec):
                out[k] = None if v is None else _group_jsonable(child, v)
            else:
                out[k] = _map_nested(v, child.shape, child._jsonable)  # type: ignore[attr-defined]
        return out

    return _map_nested(value, spec.shape, leaf)


def _map_nested(value: Any, shape: tuple[int, ...] | None, fn: Callable[[Any], Any]) -> Any:
    if value is None or not shape:
        return fn(value)
    return [_map_nested(v, shape[1:] or None, fn) for v in value]


class ModelSignature(_ComparedByFields):
    """Inputs, outputs and params of one model method."""

    def __init__(
        self,
        inputs: Sequence[BaseFeatureSpec],
        outputs: Sequence[BaseFeatureSpec],
        params: Sequence[BaseParamSpec] | None = None,
    ) -> None:
        self._inputs = list(inputs)
        self._outputs = list(outputs)
        self._params = list(params or [])
        for label, specs, cls in (
            ("inputs", self._inputs, BaseFeatureSpec),
            ("outputs", self._outputs, BaseFeatureSpec),
            ("params", self._params, BaseParamSpec),
        ):
            for s in specs:
                if not isinstance(s, cls):
                    raise InvalidArgumentError(
                        f"ModelSignature {label} must be {cls.__name__.replace('Base', '')} objects, "
                        f"but got {s!r} ({type(s).__name__})."
                    )
        check_unique([s.name for s in self._inputs], "ModelSignature inputs", "feature")
        check_unique([s.name for s in self._outputs], "ModelSignature outputs", "feature")
        self._check_param_names()

    def _check_param_names(self) -> None:
        # Params become trailing SQL arguments, and SQL identifiers fold case: names must differ
        # case-insensitively from each other and from the inputs.
        inputs = {s.name.upper(): s.name for s in self._inputs}
        seen: dict[str, str] = {}
        for p in self._params:
            key = p.name.upper()
            if key in seen:
                raise InvalidArgumentError(
                    f"Params {seen[key]!r} and {p.name!r} have the same name ignoring case; params are SQL "
                    "arguments, whose names are case-insensitive. Rename one of them."
                )
            if key in inputs:
                raise InvalidArgumentError(
                    f"Param {p.name!r} has the same name as input feature {inputs[key]!r} (names are "
                    "compared case-insensitively, like SQL identifiers). Rename the param or the feature."
                )
            seen[key] = p.name

    @property
    def inputs(self) -> list[BaseFeatureSpec]:
        return self._inputs

    @property
    def outputs(self) -> list[BaseFeatureSpec]:
        return self._outputs

    @property
    def params(self) -> list[BaseParamSpec]:
        return self._params

    def _fields(self) -> tuple[Any, ...]:
        return (self._inputs, self._outputs, self._params)

    def to_dict(self) -> dict[str, Any]:
        """`{"inputs": [...], "outputs": [...], "params": [...]}`: JSON-able; `from_dict` inverts it exactly."""
        return {
            "inputs": [s.to_dict() for s in self._inputs],
            "outputs": [s.to_dict() for s in self._outputs],
            "params": [p.to_dict() for p in self._params],  # type: ignore[attr-defined]
        }

    @classmethod
    def from_dict(cls, loaded: dict[str, Any]) -> ModelSignature:
        try:
            return cls(
                inputs=[BaseFeatureSpec.from_dict(s) for s in loaded["inputs"]],
                outputs=[BaseFeatureSpec.from_dict(s) for s in loaded["outputs"]],
                params=[BaseParamSpec.from_dict(p) for p in loaded.get("params") or []],
            )
        except KeyError as e:
            raise SignatureError(
                f"Signature dict is missing key {e}; expected {{'inputs': [...], 'outputs': [...], "
                "'params': [...]}} as written by ModelSignature.to_dict()."
            ) from None

    def __repr__(self) -> str:
        def block(label: str, specs: Sequence[Any]) -> str:
            if not specs:
                return f"    {label}=[],"
            body = ",\n".join(textwrap.indent(repr(s), " " * 8) for s in specs)
            return f"    {label}=[\n{body}\n    ],"

        return "\n".join(
            ["ModelSignature(", block("inputs", self._inputs), block("outputs", self._outputs),
             block("params", self._params), ")"]
        )

    def _repr_html_(self) -> str:
        rows: list[str] = []

        def add(section: str, name: str, typ: str, extra: str) -> None:
            rows.append(
                "<tr>"
                f"<td>{html.escape(section)}</td><td><code>{html.escape(name)}</code></td>"
                f"<td>{html.escape(typ)}</td><td>{html.escape(extra)}</td>"
                "</tr>"
            )

        def add_features(section: str, specs: Sequence[BaseFeatureSpec], prefix: str = "") -> None:
            for s in specs:
                if isinstance(s, FeatureGroupSpec):
                    add(section, prefix + s.name, s.sql_type, "group")
                    add_features(section, s.specs, prefix + s.name + ".")
                else:
                    assert isinstance(s, FeatureSpec)
                    shape = f"shape {s.shape}" if s.shape is not None else ""
                    nul = "nullable" if s.nullable else "not null"
                    add(section, prefix + s.name, s.dtype.name, ", ".join(x for x in (shape, nul) if x))

        add_features("input", self._inputs)
        add_features("output", self._outputs)
        for p in self._params:
            assert isinstance(p, (ParamSpec, ParamGroupSpec))
            shape = f", shape {p.shape}" if p.shape is not None else ""
            add("param", p.name, p.dtype.name, f"default {p.default_value!r}{shape}")
        return (
            '<table class="mreg-signature">'
            "<thead><tr><th>kind</th><th>name</th><th>type</th><th>details</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>"
        )
