"""Reading a YAML document that someone else may have written: no code, no surprises.

PyYAML's safe loader already refuses tags that build objects. On top of it this loader
refuses what would otherwise mislead or stall a reader: a mapping that repeats a key
(YAML keeps the last silently), a document whose aliases expand past a bound (an "alias
bomb": nine levels of nine aliases is a billion values), nesting too deep for a recursive
reader, and text that is not UTF-8. Booleans follow YAML 1.2 (`true`/`false` only), so
`method: off` is the word "off", not `False` as YAML 1.1 would read it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from monitor.errors import ConfigError

MAX_BYTES = 4 * 1024 * 1024  # a config or scenario is a few kB; a stray dump is not one
MAX_VALUES = 100_000  # scalars, lists and mappings once every alias is expanded
MAX_DEPTH = 64

_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 booleans, no duplicate keys and a bounded depth."""

    yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    _depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise ConfigError(f"line {mark.line + 1}: nested more than {MAX_DEPTH} levels deep")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if isinstance(key_node, ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
                key = key_node.value
                line = key_node.start_mark.line + 1
                if key in seen:
                    raise ConfigError(
                        f"line {line}: duplicate key {_shown(key)} (first at line {seen[key]})"
                    )
                seen[key] = line
        return super().construct_mapping(node, deep=deep)


for _first in "tTfF":
    _Loader.add_implicit_resolver("tag:yaml.org,2002:bool", _BOOL, list(_first))


def _shown(key: str) -> str:
    """A key as an error shows it: short, since a document may paste anything there."""
    return repr(key if len(key) <= 40 else key[:37] + "...")


def _expanded_size(root: Node) -> int:
    """How many values the document holds once aliases are expanded (a shared node counted
    once per use), computed without expanding anything; a node holding itself counts as
    too many."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if id(node) in sizes:
            continue
        if isinstance(node, ScalarNode):
            sizes[id(node)] = 1
            continue
        children: list[Node] = []
        if isinstance(node, SequenceNode):
            children = list(node.value)
        elif isinstance(node, MappingNode):
            children = [part for pair in node.value for part in pair]
        if not children_done:
            if id(node) in open_nodes:  # reached again from inside itself: a cycle
                return MAX_VALUES + 1
            open_nodes.add(id(node))
            stack.append((node, True))
            stack.extend((child, False) for child in children if id(child) not in sizes)
            continue
        open_nodes.discard(id(node))
        total = 1 + sum(sizes.get(id(child), MAX_VALUES + 1) for child in children)
        sizes[id(node)] = min(total, MAX_VALUES + 1)
    return sizes[id(root)]


def parse_yaml(text: str, source: str) -> Any:
    """The document in `text`; every problem is a ConfigError naming `source` and the line."""
    if len(text) > MAX_BYTES:
        raise ConfigError(f"{source} is larger than {MAX_BYTES:,} characters; not a config")
    loader: _Loader | None = None
    try:
        loader = _Loader(text)  # it reads the text at once: unprintable characters fail here
        root = loader.get_single_node()
        if root is None:
            return None
        if _expanded_size(root) > MAX_VALUES:
            raise ConfigError(
                f"its aliases expand to more than {MAX_VALUES:,} values (or refer to "
                "themselves); write the values out or use fewer aliases"
            )
        return loader.construct_document(root)
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{source} is not valid YAML{where}: {problem}") from None
    except RecursionError:
        raise ConfigError(f"{source}: nested too deeply to read") from None
    finally:
        if loader is not None:
            loader.dispose()


def read_yaml_file(path: Path) -> Any:
    """Read `path` as UTF-8 YAML; unreadable, non-UTF-8 or invalid text is a ConfigError."""
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or type(exc).__name__}") from None
    if len(raw) > MAX_BYTES:
        raise ConfigError(f"{path} is larger than {MAX_BYTES:,} bytes; not a config")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(
            f"{path}: not UTF-8 text (byte 0x{raw[exc.start]:02x} on line {line}); "
            "save the file as UTF-8"
        ) from None
    return parse_yaml(text, str(path))
