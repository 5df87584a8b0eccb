"""A run report as a page a data engineer reads in a browser: every value is escaped text."""

from __future__ import annotations

import json
from html import escape

STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5rem;color:#1b1b1b}
table{border-collapse:collapse;margin:.5rem 0 1.5rem}
th,td{border:1px solid #bbb;padding:.25rem .5rem;text-align:left;vertical-align:top;font-size:.9rem}
th{background:#eef}
h2{margin-top:2rem}
.empty{color:#666}
"""


def _cell(value) -> str:
    if isinstance(value, (dict, list)):
        return f"<code>{escape(json.dumps(value, ensure_ascii=False))}</code>"
    return escape("" if value is None else str(value))


def _table_of_rows(rows: list[dict]) -> str:
    columns: list[str] = []
    for row in rows:
        columns += [c for c in row if c not in columns]
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{_cell(row.get(c))}</td>" for c in columns) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _section(title: str, value) -> str:
    heading = f"<h2>{escape(title)}</h2>"
    if value in (None, [], {}):
        return heading + '<p class="empty">none</p>'
    if isinstance(value, list) and all(isinstance(v, dict) for v in value):
        return heading + _table_of_rows(value)
    if isinstance(value, dict) and all(isinstance(v, dict) for v in value.values()):
        return heading + _table_of_rows([{"": key, **row} for key, row in value.items()])
    if isinstance(value, dict):
        return heading + _table_of_rows([value])
    return heading + f"<p>{_cell(value)}</p>"


def render_report(report: dict) -> str:
    title = f"digor · {report.get('chain', '?')} · {report.get('night', '?')}"
    sections = "".join(_section(key, value) for key, value in report.items() if key not in ("chain", "night"))
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f"<style>{STYLE}</style></head><body><h1>{escape(title)}</h1>{sections}</body></html>\n"
    )
