"""Reading a config file: YAML, `${ENV}` interpolation, validation, and every problem as one
`path.to.key: message` line."""

from __future__ import annotations

import functools
import os
import re
import typing
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from monitor.config.executor import EXECUTOR_TYPES
from monitor.config.key_hints import did_you_mean_key
from monitor.config.monitor import AlertRule, Config
from monitor.config.safe_yaml import read_yaml_file
from monitor.errors import ConfigError
from monitor.plugins.registry import HOOKS, LABELS, MODELS, REGISTRY, SOURCES
from monitor.plugins.spec import HookConfig, ModelConfig

DocumentT = TypeVar("DocumentT", bound=BaseModel)

_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


# Blocks whose `type` picks a plugin's config model; pydantic puts the type in error paths.
_PLUGIN_BLOCKS = ("model", "stream", "labels")


def _format_loc(loc: tuple[Any, ...]) -> str:
    tags = REGISTRY.names()
    parts: list[str] = []
    for i, item in enumerate(loc):
        parent = loc[i - 1] if i >= 1 else None
        grandparent = loc[i - 2] if i >= 2 else None
        if item in tags and (parent in _PLUGIN_BLOCKS or grandparent == "hooks"):
            continue  # pydantic's discriminator step, not a key the user wrote
        if item in EXECUTOR_TYPES and parent == "executor" and i == 1:
            continue  # the `executor:` block's type, likewise
        if isinstance(item, int):
            parts[-1:] = [f"{parts[-1]}[{item}]"] if parts else [f"[{item}]"]
        else:
            parts.append(str(item))
    return ".".join(parts) or "(top level)"


def problems_of(error: ValidationError, root: type[BaseModel] = Config) -> list[str]:
    """One `path.to.key: message` line per problem (an unknown key with the nearest of the
    keys `root`'s block there accepts); a value the user wrote is never echoed (a secret
    typed into the wrong field would reach logs and terminals) unless it is a known name: a
    plugin or executor type, or a key the document itself defines."""
    lines = []
    for err in error.errors():
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = "unknown key" + did_you_mean_key(root, tuple(err["loc"]))
        else:
            message = _without_values(message, err.get("input"))
        lines.append(f"{_format_loc(tuple(err['loc']))}: {message}")
    return lines


HIDDEN = "(the value given)"


def _without_values(message: str, given: Any) -> str:
    values: set[str] = set()
    keys: set[str] = set(REGISTRY.names()) | set(EXECUTOR_TYPES) | _choices()
    _strings(given, values, keys, depth=0)
    for value in sorted(values - keys, key=len, reverse=True):
        for quoted in (repr(value), f'"{value}"', f"'{value}'"):
            message = message.replace(quoted, HIDDEN)
        if len(value) >= 6:  # unquoted (a path, a time zone): long enough not to be a word
            message = message.replace(value, HIDDEN)
    return message


@functools.cache
def _choices() -> set[str]:
    """Every value a `Literal` of the config's models allows (a backend, a dtype): names
    the schema knows, so a message may name them."""
    found: set[str] = set()
    seen: set[type] = set()

    def walk(annotation: Any) -> None:
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            if annotation in seen:
                return
            seen.add(annotation)
            for field in annotation.model_fields.values():
                walk(field.annotation)
            return
        if typing.get_origin(annotation) is typing.Literal:
            found.update(str(arg) for arg in typing.get_args(annotation))
            return
        for arg in typing.get_args(annotation):
            walk(arg)

    walk(Config)
    for role in (SOURCES, LABELS, MODELS, HOOKS):
        for spec in REGISTRY.specs(role).values():
            walk(spec.config)
    return found


def _strings(value: Any, values: set[str], keys: set[str], depth: int) -> None:
    """The text values in what was validated, and the keys it defines (names, not values)."""
    if depth > 20:
        return
    if isinstance(value, str):
        if value:
            values.add(value)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            keys.add(str(key))
            _strings(item, values, keys, depth + 1)
    elif isinstance(value, list | tuple):
        for item in value:
            _strings(item, values, keys, depth + 1)
    elif value is not None and not isinstance(value, bool | int | float):
        values.add(str(value))


def interpolate_env(value: Any, path: str = "") -> tuple[Any, list[str]]:
    """Replace `${NAME}` and `${NAME:-default}` in every string; report unset names."""
    problems: list[str] = []

    def walk(node: Any, where: str) -> Any:
        if isinstance(node, dict):
            return {k: walk(v, f"{where}.{k}" if where else str(k)) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v, f"{where}[{i}]") for i, v in enumerate(node)]
        if isinstance(node, str):

            def sub(match: re.Match[str]) -> str:
                name, default = match[1], match[2]
                if name in os.environ:
                    return os.environ[name]
                if default is not None:
                    return default
                problems.append(f"{where}: environment variable {name} is not set")
                return ""

            return _ENV.sub(sub, node)
        return node

    return walk(value, path), problems


def alert_rule_problems(
    alerts: list[AlertRule],
    hooks: Mapping[str, HookConfig],
    where: str,
    model: ModelConfig | None,
) -> list[str]:
    """Duplicate rule names and hooks a rule names that are not defined (or cannot apply)."""
    problems = []
    seen: set[str] = set()
    for j, rule in enumerate(alerts):
        at = f"{where}.alerts[{j}]"
        if rule.name in seen:
            problems.append(f"{at}.name: duplicate rule name {rule.name!r}")
        seen.add(rule.name)
        for hook in rule.hooks:
            if hook not in hooks:
                known = ", ".join(sorted(hooks)) or "none defined"
                problems.append(f"{at}.hooks: unknown hook {hook!r} (hooks: {known})")
            elif model is not None and (misfit := hooks[hook].misfit(model)) is not None:
                kind = hooks[hook].type
                problems.append(f"{at}.hooks: {hook!r} is a {kind} hook, which {misfit}")
    return problems


def _cross_check(config: Config) -> list[str]:
    problems = []
    names: set[str] = set()
    for i, monitor in enumerate(config.monitors):
        if monitor.name in names:
            problems.append(f"monitors[{i}].name: duplicate monitor name {monitor.name!r}")
        names.add(monitor.name)
        problems += alert_rule_problems(
            monitor.alerts, config.hooks, f"monitors[{i}]", monitor.model
        )
    if config.executor.type == "dask":
        # a retrain refits on the monitor as loaded in the daemon, which loads none on Dask
        problems += [
            f"hooks.{name}: a {hook.type} hook needs the monitors loaded in the daemon; "
            "with `executor: {type: dask}` they are loaded on the workers (use in-process)"
            for name, hook in config.hooks.items()
            if hook.type in ("retrain-head", "retrain-fm")
        ]
        # the label join reads the model's classes in the daemon, which loads none on Dask
        problems += [
            f"monitors[{i}].labels: late labels are joined by the monitors loaded in the "
            "daemon; with `executor: {type: dask}` they are loaded on the workers "
            "(use in-process)"
            for i, monitor in enumerate(config.monitors)
            if monitor.labels is not None
        ]
    return problems


def validate_document(
    model: type[DocumentT],
    raw: dict[str, Any],
    base_dir: Path | None,
    source: str,
    problems: list[str],
    clean: Callable[[str], str] = lambda line: line,
) -> DocumentT:
    """`model` validated from `raw`; any failure a ConfigError listing `problems` and every
    problem of the document (each line passed through `clean`)."""
    try:
        return model.model_validate(raw, context={"base_dir": base_dir})
    except ValidationError as exc:
        problems += [clean(line) for line in problems_of(exc, model)]
    except (ArithmeticError, TypeError, RecursionError) as exc:
        # a value no validator foresaw (validators turn what they foresee into messages);
        # the exception's own text may quote the value, so only its kind is shown
        problems.append(f"(top level): a value cannot be read ({type(exc).__name__})")
    raise ConfigError(f"{source} is invalid", problems)


def parse_config(raw: Any, base_dir: Path | None = None, *, source: str = "config") -> Config:
    """Validate an already-parsed YAML document; raise ConfigError listing every problem."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: the top level must be a mapping")
    raw, problems = interpolate_env(raw)
    env_problems = list(problems)
    unset = {line.partition(": ")[0] for line in env_problems}
    try:
        config = validate_document(Config, raw, base_dir, source, problems)
    except ConfigError as exc:
        # an unset variable is one problem: not also the empty value it left behind
        exc.problems = [
            p for p in exc.problems if p in env_problems or p.partition(": ")[0] not in unset
        ]
        raise
    problems += _cross_check(config)
    if problems:
        raise ConfigError(f"{source} is invalid", problems)
    return config


def load_yaml(path: Path) -> Any:
    """The YAML document in `path`, read safely (`monitor.config.safe_yaml`)."""
    return read_yaml_file(path)


def load_config(path: str | Path) -> Config:
    """Read, interpolate, validate and resolve relative paths against the file's folder."""
    path = Path(path)
    return parse_config(load_yaml(path), path.resolve().parent, source=str(path))
