"""The methods a package exposes: which ones (from `target_methods`, `signatures` or the handler's
defaults), their manifest entries (SQL function name, function type, volatility, signature), and their
signatures read back from a manifest as `ModelSignature`s (here, not in `manifest`, which is imported with
the registry and must not load numpy and pandas)."""

from __future__ import annotations

import re
from typing import Any

from jupyter_mreg.errors import InvalidArgumentError, MregError, SignatureError
from jupyter_mreg.model.packaging.json_values import plain
from jupyter_mreg.model.packaging.manifest import Manifest, MethodInfo
from jupyter_mreg.model.packaging.options import function_type
from jupyter_mreg.model.signatures.specs import ModelSignature


def resolve_methods(model: Any, handler: type, options: dict, signatures: dict | None) -> list[str]:
    """The methods to log, each checked to exist on `model`. Given `signatures` (replaced in place by
    `ModelSignature`s where given as dicts), their keys, or the `target_methods` among them; else the
    handler's choice."""
    kind = type(model).__qualname__
    if signatures is not None:
        if not isinstance(signatures, dict) or not signatures:
            raise SignatureError(
                f"signatures must be a non-empty dict {{method name: ModelSignature}}, got {signatures!r}."
            )
        for name, sig in signatures.items():
            if isinstance(sig, dict):  # the `ModelSignature.to_dict()` form
                try:
                    signatures[name] = ModelSignature.from_dict(sig)
                except MregError:
                    raise
                except Exception as exc:
                    raise SignatureError(f"signatures[{name!r}] is not a valid signature dict: {exc}") from exc
            elif not hasattr(sig, "to_dict"):
                raise SignatureError(
                    f"signatures[{name!r}] must be a ModelSignature (see model_signature.infer_signature), got "
                    f"{type(sig).__name__}."
                )
        methods = [str(m) for m in signatures]
        wanted = options.get("target_methods")
        if wanted is not None:
            missing = [m for m in wanted if m not in signatures]
            if missing:
                raise SignatureError(
                    f"target_methods {missing} have no entry in `signatures` (which has {methods}): add their "
                    "signatures, or pass sample_input_data instead of signatures to infer them."
                )
            methods = list(wanted)
        source = "signatures" if wanted is None else "target_methods"
    else:
        methods = list(dict.fromkeys(handler.target_methods(model, options)))
        if not methods:
            raise InvalidArgumentError(
                f"{kind} has none of the methods a {handler.name} model can expose "
                f"({', '.join(handler.default_target_methods) or 'none'}): nothing to log."
            )
        source = "target_methods"
    missing = [m for m in methods if not handler.exposes(model, m)]
    if missing:
        try:
            available = handler.target_methods(model, {})
        except MregError:
            available = []
        raise InvalidArgumentError(
            f"{kind} has no method {', '.join(repr(m) for m in missing)} (named in {source}). "
            f"Methods it can expose: {', '.join(available) or 'none'}."
        )
    if signatures is not None:
        # The handler may refuse methods it cannot expose (a custom model's undecorated methods).
        handler.target_methods(model, {**options, "target_methods": methods})
    return methods


def function_name(method: str, case_sensitive: bool = False) -> str:
    """The SQL identifier form of a method: `predict` -> `PREDICT`, `__call__` -> `__CALL__`; case-sensitive
    names are double-quoted (`"predictLog"`) unless they already read the same unquoted."""
    if not case_sensitive:
        return method.upper()
    if re.fullmatch(r"[A-Z_][A-Z0-9_$]*", method):
        return method
    return '"' + method.replace('"', '""') + '"'


def method_entries(model: Any, handler: type, methods: list[str], sigs: dict, options: dict,
                   explain: dict | None = None) -> list[MethodInfo]:
    """The manifest's `methods` list: one entry per method, the per-method options over the common ones over
    the handler's `function_info`. `explain` is the record of the generated method `explain` when there is one
    (a TABLE_FUNCTION by default, as in Snowflake)."""
    method_options = options.get("method_options") or {}
    unknown = [m for m in method_options if m not in methods]
    if unknown:
        raise InvalidArgumentError(
            f"method_options names {', '.join(repr(m) for m in unknown)}, which {'is' if len(unknown) == 1 else 'are'} "
            f"not among the methods being logged ({', '.join(methods)})."
        )
    default_volatility = "VOLATILE" if handler.name == "custom" else "IMMUTABLE"
    entries: list[MethodInfo] = []
    names: dict[str, str] = {}
    for method in methods:
        mo = method_options.get(method, {})
        generated = explain if method == "explain" else None
        info = {"function_type": "TABLE_FUNCTION"} if generated else (handler.function_info(model, method) or {})
        ftype = mo.get("function_type") or options.get("function_type") or info.get("function_type") or "FUNCTION"
        ftype = function_type(ftype, f"function type of {method!r}")
        partitioned = bool(info.get("is_partitioned", False))
        if partitioned and ftype != "TABLE_FUNCTION":
            raise InvalidArgumentError("Partitioned inference api functions must have type TABLE_FUNCTION.")
        name = function_name(method, bool(mo.get("case_sensitive", False)))
        key = name if name.startswith('"') else name.upper()
        if key in names:
            raise InvalidArgumentError(
                f"Methods {names[key]!r} and {method!r} both become the function {name}: set "
                f"method_options[{method!r}] = {{'case_sensitive': True}} to keep their case."
            )
        names[key] = method
        max_batch_size = mo.get("max_batch_size")
        entries.append(MethodInfo(
            name=name, target_method=method, function_type=ftype, is_partitioned=partitioned,
            volatility=mo.get("volatility") or options.get("volatility") or default_volatility,
            signature=plain(sigs[method].to_dict()),
            max_batch_size=int(max_batch_size) if max_batch_size is not None else None, explain=generated,
        ))
    return entries


def manifest_signatures(manifest: Manifest) -> dict:
    """`{target_method: ModelSignature}` from a manifest (keys are Python method names, e.g. `predict`)."""
    return {m.target_method: ModelSignature.from_dict(m.signature) for m in manifest.methods}
