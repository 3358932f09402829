"""Every config key, with its type, default and description, from the pydantic models."""

from __future__ import annotations

import types
import typing
from enum import Enum
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from docsgen.key_notes import NOTES
from monitor.config import Config


def _members(annotation: Any) -> list[Any]:
    """The members of a union (through Annotated), or the annotation itself."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _members(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        found: list[Any] = []
        for arg in typing.get_args(annotation):
            found += _members(arg)
        return found
    return [annotation]


def _model(annotation: Any) -> type[BaseModel] | None:
    return (
        annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
    )


def type_name(annotation: Any) -> str:
    """A short, readable type: `int | None`, `'csv' | 'parquet'`, `list[str]`, `block`."""
    names = []
    for member in _members(annotation):
        origin = typing.get_origin(member)
        if member is type(None):
            names.append("null")
        elif origin is typing.Literal:
            names += [repr(v) for v in typing.get_args(member)]
        elif _model(member) is not None:
            names.append("block")
        elif origin in (list, tuple, set, frozenset):
            inner = typing.get_args(member)
            names.append(f"list[{type_name(inner[0])}]" if inner else "list")
        elif origin is dict:
            key, value = typing.get_args(member)
            names.append(f"mapping of {type_name(key)} to {type_name(value)}")
        elif isinstance(member, type) and issubclass(member, Enum):
            names += [repr(m.value) for m in member]
        elif isinstance(member, type):
            names.append(
                {"timedelta": "duration", "Path": "path", "str": "string"}.get(
                    member.__name__, member.__name__
                )
            )
        else:
            names.append(str(member))
    unique = list(dict.fromkeys(names))
    return " \\| ".join(unique)


def _default(field: Any) -> str:
    if field.is_required():
        return "required"
    value = field.default
    if value is PydanticUndefined and field.default_factory is not None:
        value = field.default_factory()  # type: ignore[call-arg]
    if value is PydanticUndefined or value is None:
        return "-"
    if isinstance(value, list | dict) and not value:
        return f"`{value}`"
    if isinstance(value, BaseModel):
        return "(a block of defaults)"
    if isinstance(value, Enum):
        value = value.value
    if hasattr(value, "total_seconds"):
        return f"`{int(value.total_seconds())}s`"
    return f"`{value}`"


def _description(field: Any, models: list[type[BaseModel]]) -> str:
    if field.description:
        return str(field.description)
    if len(models) == 1 and models[0].__doc__:
        return models[0].__doc__.strip().splitlines()[0]
    return ""


def _type_tag(model: type[BaseModel]) -> str | None:
    """The `type` a plugin block is chosen by (its one Literal value)."""
    field = model.model_fields.get("type")
    if field is None:
        return None
    values = [v for m in _members(field.annotation) for v in typing.get_args(m)]
    return str(values[0]) if len(values) == 1 else None


def rows(
    model: type[BaseModel], prefix: str = "", note: str = "", seen: frozenset[type] = frozenset()
) -> list[list[str]]:
    """One row (key, type, default, description) per key under `model`, depth first; `note`
    names the plugin type a key belongs to."""
    found: list[list[str]] = []
    for name, field in model.model_fields.items():
        key = f"{prefix}{field.alias or name}"
        first = _members(field.annotation)[0]
        inner, suffix = field.annotation, ""
        if typing.get_origin(first) in (list, tuple):
            inner, suffix = typing.get_args(first)[0], "[]"
        elif typing.get_origin(first) is dict:
            inner, suffix = typing.get_args(first)[1], ".NAME"
        models = [m for m in map(_model, _members(inner)) if m is not None and m not in seen]
        kind = type_name(field.annotation)
        described = _description(field, models) or NOTES.get(key, "")
        found.append([f"`{key}`{note}", kind, _default(field), described])
        for member in models:
            tag = _type_tag(member) if len(models) > 1 else None
            inner_note = f" (type `{tag}`)" if tag else note
            found += rows(member, f"{key}{suffix}.", inner_note, seen | {member})
    return found


def config_keys() -> list[str]:
    """Every key path of the reference (for the tests)."""
    return [row[0].split("`")[1] for row in rows(Config)]


def config_page() -> str:
    lines = [
        "# Configuration keys",
        "",
        "Every key of the YAML config, from the pydantic models that validate it. A block whose",
        "`type` picks a plugin (`model`, `stream`, `labels`, `hooks`, `executor`) lists each",
        "type's keys under `(type NAME)`. `${VAR}` and `${VAR:-default}` are replaced from the",
        "environment in every string; relative paths are relative to the config file.",
        "The [configuration guide](../configuration.md) explains the keys with examples.",
        "",
        "| key | type | default | description |",
        "|---|---|---|---|",
    ]
    for key, kind, default, description in rows(Config):
        cells = [key, kind, default, description.replace("|", "\\|")]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
