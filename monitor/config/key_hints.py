"""The keys a config block accepts, for a "did you mean" after an unknown key.

Pydantic reports an unknown key with its path only; the accepted keys are found by walking
the config models along that path (a union of plugin blocks is narrowed by its `type`).
"""

from __future__ import annotations

import types
import typing
from difflib import get_close_matches
from typing import Any

from pydantic import BaseModel


def _models(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models an annotation can hold (through unions, lists, dicts, Annotated)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type[BaseModel]] = []
    for arg in typing.get_args(annotation):
        found += [m for m in _models(arg) if m not in found]
    return found


def _is_mapping(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _is_mapping(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return any(_is_mapping(arg) for arg in typing.get_args(annotation))
    return origin is dict


def _keys(model: type[BaseModel]) -> list[str]:
    return [field.alias or name for name, field in model.model_fields.items()]


def _type_tag(model: type[BaseModel]) -> Any:
    """The `type` a plugin block is chosen by: its field's one Literal value."""
    field = model.model_fields.get("type")
    values = typing.get_args(_first(field.annotation)) if field is not None else ()
    return values[0] if len(values) == 1 else None


def _first(annotation: Any) -> Any:
    """`Literal['x']` out of `Annotated[Literal['x'], ...]` or `Literal['x'] | None`."""
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return _first(typing.get_args(annotation)[0])
    return annotation


def accepted_keys(root: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The keys of the block holding the last item of pydantic's `loc` (empty: unknown)."""
    candidates = [root]
    mapping = False  # the last field stepped into is a mapping: its keys are names
    for item in loc[:-1]:
        if isinstance(item, int):
            continue
        fields = [m.model_fields[item] for m in candidates if item in m.model_fields]
        if fields:
            candidates = [m for f in fields for m in _models(f.annotation)]
            mapping = any(_is_mapping(f.annotation) for f in fields)
            continue
        tagged = [m for m in candidates if _type_tag(m) == item]
        if tagged:  # pydantic's step into one member of a plugin union
            candidates = tagged
        elif not mapping:
            return []  # a path this root does not have (another document's errors)
        mapping = False  # a mapping's own key (a hook's name): the candidates stay
    keys: list[str] = []
    for model in candidates:
        keys += [k for k in _keys(model) if k not in keys]
    return keys


def did_you_mean_key(root: type[BaseModel], loc: tuple[Any, ...]) -> str:
    """` (did you mean rows?)` for an unknown key close to an accepted one, else ""."""
    if not loc or not isinstance(loc[-1], str):
        return ""
    close = get_close_matches(loc[-1], accepted_keys(root, loc), n=2, cutoff=0.6)
    return f" (did you mean {' or '.join(close)}?)" if close else ""
