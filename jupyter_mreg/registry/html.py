"""HTML cards that Jupyter shows for a `Model` or a `ModelVersion`."""

from __future__ import annotations

import json
from html import escape
from typing import Any

_STYLE = ("font-family:var(--jp-ui-font-family,sans-serif);border:1px solid #ccc;border-radius:6px;"
          "padding:8px 12px;max-width:900px")


def _table(rows: list[tuple[str, Any]]) -> str:
    body = "".join(f"<tr><th style='text-align:left;padding-right:12px'>{escape(k)}</th>"
                   f"<td style='text-align:left'>{v}</td></tr>" for k, v in rows)
    return f"<table>{body}</table>"


def model_card(model: Any) -> str:
    versions = model.show_versions()
    tags = model.show_tags()
    version_rows = "".join(
        f"<tr><td>{escape(r['name'])}</td><td>{escape(str(r['created_on']))[:19]}</td>"
        f"<td>{escape(', '.join(json.loads(r['aliases'])))}</td><td>{escape(r['comment'] or '')}</td></tr>"
        for _, r in versions.iterrows())
    default = versions.loc[versions["is_default_version"], "name"]
    info = _table([
        ("Name", escape(model.name)), ("Full name", escape(model.fully_qualified_name)),
        ("Description", escape(model.comment or "")),
        ("Default version", escape(default.iloc[0] if len(default) else "")),
        ("Tags", escape(", ".join(f"{k}={v}" for k, v in tags.items())) or "—"),
    ])
    return (f"<div style='{_STYLE}'><b>Model {escape(model.name)}</b>{info}"
            "<details open><summary>Versions</summary><table><tr><th>name</th><th>created_on</th>"
            f"<th>aliases</th><th>comment</th></tr>{version_rows}</table></details></div>")


def version_card(mv: Any) -> str:
    functions = "".join(
        f"<details><summary>{escape(f['name'])} ({escape(f['target_method_function_type'])}"
        f"{', partitioned' if f['is_partitioned'] else ''})</summary>{f['signature']._repr_html_()}</details>"
        for f in mv.show_functions())
    metrics = mv.show_metrics()
    info = _table([
        ("Model", escape(mv.model_name)), ("Version", escape(mv.version_name)),
        ("Full name", escape(mv.fully_qualified_model_name)), ("Description", escape(mv.comment or "")),
        ("Aliases", escape(", ".join(mv.aliases))), ("Task", escape(mv.get_model_task().value)),
        ("Framework", escape(mv.manifest.model_type)),
        ("Metrics", escape(", ".join(f"{k}={_short(v)}" for k, v in metrics.items())) or "—"),
    ])
    return (f"<div style='{_STYLE}'><b>Model version {escape(mv.model_name)} / {escape(mv.version_name)}</b>"
            f"{info}<details open><summary>Functions</summary>{functions}</details></div>")


def error_card(exc: Exception) -> str:
    """What a card shows when its object cannot be read (deleted meanwhile): the message, escaped, since it
    quotes names."""
    return f"<pre>{escape(str(exc))}</pre>"


def _short(value: Any) -> str:
    text = str(value).replace("\n", " ")
    return text if len(text) <= 60 else text[:57] + "..."
