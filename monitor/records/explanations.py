"""What changed in a window, as the store, `runs --json` and hook payloads carry it (the
computation is `monitor.metrics.explain`)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

#: rows, terms and descriptors an explanation shows of each kind in a headline
TOP = 5


@dataclass(frozen=True)
class ExampleRow:
    """A row that stands out, with its witness value (higher: more like the window)."""

    text: str
    witness: float
    row_id: str | None = None


@dataclass(frozen=True)
class TermShift:
    """A term's z-scored log-odds ratio, window against reference, and its counts."""

    term: str
    z: float
    window_count: int
    reference_count: int


@dataclass(frozen=True)
class DescriptorShift:
    """A descriptor's means on both sides and its standardized mean difference."""

    name: str
    reference_mean: float
    window_mean: float
    effect_size: float
    moved: bool


@dataclass(frozen=True)
class Explanation:
    """What sets one window apart from the reference (see the module docstring)."""

    window_rows: list[ExampleRow] = field(default_factory=list)
    reference_rows: list[ExampleRow] = field(default_factory=list)
    window_terms: list[TermShift] = field(default_factory=list)
    reference_terms: list[TermShift] = field(default_factory=list)
    descriptors: list[DescriptorShift] = field(default_factory=list)
    #: how the rows were ranked: `mmd-witness`, or None (no embeddings: no rows)
    rows_method: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The explanation as `runs --json` and hook payloads carry it."""
        return {
            "rows_method": self.rows_method,
            "window_rows": [asdict(row) for row in self.window_rows],
            "reference_rows": [asdict(row) for row in self.reference_rows],
            "window_terms": [_rounded(asdict(term)) for term in self.window_terms],
            "reference_terms": [_rounded(asdict(term)) for term in self.reference_terms],
            "descriptors": [_rounded(asdict(shift)) for shift in self.descriptors],
        }

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Explanation:
        return cls(
            [ExampleRow(**row) for row in body.get("window_rows", [])],
            [ExampleRow(**row) for row in body.get("reference_rows", [])],
            [TermShift(**term) for term in body.get("window_terms", [])],
            [TermShift(**term) for term in body.get("reference_terms", [])],
            [DescriptorShift(**shift) for shift in body.get("descriptors", [])],
            body.get("rows_method"),
        )

    def headline(self) -> str:
        """One line for a notification: the top terms of each side and the largest move."""
        parts = []
        if self.window_terms:
            parts.append("more: " + ", ".join(t.term for t in self.window_terms[:TOP]))
        if self.reference_terms:
            parts.append("fewer: " + ", ".join(t.term for t in self.reference_terms[:TOP]))
        moved = [d for d in self.descriptors if d.moved]
        if moved:
            parts.append(f"{moved[0].name} d={moved[0].effect_size:+.2f}")
        return "; ".join(parts)


def _rounded(values: dict[str, Any]) -> dict[str, Any]:
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in values.items()}
