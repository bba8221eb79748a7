"""Compact human-readable output of console results (the client prints these lines).

Results are plain JSON data; `--json` prints them as they are, these functions
make tables and key/value lines. An application adds renderers for its own
commands; anything without one gets `render_mapping`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

Renderer = Callable[[Any], list[str]]

ERROR_WIDTH = 60
_TIME_FIELDS = ("_at", "oldest", "newest")


def table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    """Left-aligned text columns, right-aligned numbers; two spaces apart."""
    cells = [[cell_text(c) for c in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(header)]
    numeric = [
        bool(rows) and all(isinstance(r[i], int | float) or r[i] is None for r in rows)
        for i in range(len(header))
    ]

    def line(values: Sequence[str]) -> str:
        return "  ".join(
            v.rjust(w) if numeric[i] else v.ljust(w)
            for i, (v, w) in enumerate(zip(values, widths, strict=True))
        ).rstrip()

    return [line(list(header)), *(line(r) for r in cells)]


def cell_text(value: Any) -> str:
    """One table cell."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}".rstrip("0").rstrip(".")
    return str(value)


def when(value: Any) -> str:
    """An epoch time as local ISO time, seconds precision."""
    if isinstance(value, int | float):
        return time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(value))
    return cell_text(value)


def short(text: Any, width: int = ERROR_WIDTH) -> str:
    """Text cut to `width` characters."""
    value = cell_text(text)
    return value if len(value) <= width else value[: width - 1] + "…"


def render_mapping(data: Any, indent: str = "") -> list[str]:
    """Key: value lines; nested mappings indented, a mapping of mappings as a table."""
    if not isinstance(data, Mapping):
        if isinstance(data, list) and data and all(isinstance(i, Mapping) for i in data):
            header = list(dict.fromkeys(k for item in data for k in item))
            return [
                indent + line for line in table(header, [[i.get(k) for k in header] for i in data])
            ]
        return [indent + cell_text(data)]
    lines: list[str] = []
    for key, value in data.items():
        if (
            isinstance(value, Mapping)
            and value
            and all(isinstance(v, Mapping) for v in value.values())
        ):
            lines.append(f"{indent}{key}:")
            header = ["", *dict.fromkeys(k for v in value.values() for k in v)]
            rows = [[name, *(v.get(k) for k in header[1:])] for name, v in value.items()]
            lines.extend(indent + "  " + line for line in table(header, rows))
        elif isinstance(value, Mapping | list) and value:
            lines.append(f"{indent}{key}:")
            lines.extend(render_mapping(value, indent + "  "))
        elif key.endswith(_TIME_FIELDS):
            lines.append(f"{indent}{key}: {when(value)}")
        else:
            lines.append(f"{indent}{key}: {cell_text(value) if value != [] else '-'}")
    return lines


def render_tree(tree: Mapping[str, Any], indent: str = "") -> list[str]:
    """The supervision tree, one line per node."""
    summary = tree.get("summary") or {}
    extra = "  ".join(f"{k} {v}" for k, v in summary.items())
    lines = [
        f"{indent}{tree['name']}  [{tree['state']}]  {tree.get('kind', 'supervisor')} "
        f"{tree.get('strategy', '')}  restarts in window {tree.get('restarts_in_window', 0)}"
        + (f"  {extra}" if extra else "")
    ]
    for child in tree.get("children", ()):
        if "children" in child:
            lines.extend(render_tree(child, indent + "  "))
            continue
        error = f"  last error: {short(child['last_error'])}" if child.get("last_error") else ""
        lines.append(
            f"{indent}  {child['name']}  [{child['state']}]  mailbox {child['mailbox_depth']}  "
            f"processed {child['processed']}  failed {child['failed']}  "
            f"restarts {child['restarts']}{error}"
        )
    return lines


ACTOR_COLUMNS = ("name", "state", "mailbox", "processed", "failed", "restarts", "last_error")


def render_actors(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """The `actors` (and `top`) table."""
    if not rows:
        return ["no live actors"]
    return table(
        ACTOR_COLUMNS,
        [[short(r[c]) if c == "last_error" else r[c] for c in ACTOR_COLUMNS] for r in rows],
    )


def render_inspect(info: Mapping[str, Any]) -> list[str]:
    """One actor (its description last) or one subtree."""
    if info.get("node") == "supervisor":
        return render_tree(info)
    head = {k: v for k, v in info.items() if k not in ("description", "node")}
    lines = render_mapping(head)
    description = info.get("description")
    if description:
        lines.append("description:")
        lines.extend(render_mapping(description, "  "))
    return lines


def render_health(health: Mapping[str, Any]) -> list[str]:
    """Healthy or not, and what is in trouble."""
    verdict = "healthy" if health["healthy"] else "NOT healthy"
    lines = [f"{verdict}: {health['root']} {health['state']}, {health['live_actors']} live actors"]
    trouble = health.get("trouble") or []
    if trouble:
        lines.extend(
            table(
                ("name", "state", "last_error"),
                [[t["name"], t["state"], short(t["last_error"])] for t in trouble],
            )
        )
    return lines


def render_help(commands: Sequence[Mapping[str, Any]]) -> list[str]:
    """The command list."""
    width = max(len(c["usage"]) for c in commands)
    return [
        f"{c['usage'].ljust(width)}  {c['summary']}" + ("  (admin)" if c["admin"] else "")
        for c in commands
    ]


RENDERERS: dict[str, Renderer] = {
    "tree": render_tree,
    "actors": render_actors,
    "inspect": render_inspect,
    "health": render_health,
    "help": render_help,
}


def render(command: str, result: Any, extra: Mapping[str, Renderer] | None = None) -> list[str]:
    """The lines to print for one command's result."""
    renderer = (extra or {}).get(command) or RENDERERS.get(command) or render_mapping
    return renderer(result)
