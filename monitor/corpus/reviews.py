"""Generated review-like sentences with sentiment labels: the corpus the demo and replay draw
(nothing downloaded), identical for the same arguments."""

from __future__ import annotations

import math
import re
import string
from collections.abc import Mapping, Sequence
from functools import cache

import numpy as np
import pandas as pd

from monitor.corpus.vocabulary import DOMAINS, HARD_EITHER, HARD_ONLY, LABELS, SPECS, DomainSpec

_SENTENCE_START = re.compile(r"(^|[.!?]\s+)([a-z])")


@cache
def _fields(template: str) -> tuple[str, ...]:
    return tuple(name for _, name, _, _ in string.Formatter().parse(template) if name)


def _fill(template: str, spec: DomainSpec, label: str, rng: np.random.Generator) -> str:
    own = spec.positive if label == "positive" else spec.negative
    other = spec.negative if label == "positive" else spec.positive
    used: dict[str, set[int]] = {}
    values: dict[str, str] = {}
    for name in _fields(template):
        if name == "be":
            values[name] = spec.be
            continue
        base = name.rstrip("0123456789")
        if base.startswith("opp_"):
            pool = other[base.removeprefix("opp_")]
        elif base in own:
            pool = own[base]
        else:
            pool = spec.neutral[base]
        # "{aspect} ... {aspect2}" must name two different aspects, never the same one twice.
        taken = used.setdefault(base, set())
        free = [i for i in range(len(pool)) if i not in taken]
        index = free[int(rng.integers(len(free)))]
        taken.add(index)
        values[name] = pool[index]
    text = " ".join(template.format(**values).split())
    text = text.replace(" ,", ",").replace(" .", ".")
    return _SENTENCE_START.sub(lambda m: m.group(1) + m.group(2).upper(), text)


def check_share(name: str, value: float) -> float:
    """`value` as a float in [0, 1], or a ValueError naming `name`."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.floating | np.integer):
        raise ValueError(f"{name} must be a number in [0, 1], got {value!r}")
    if not 0.0 <= float(value) <= 1.0:  # also rejects NaN
        raise ValueError(f"{name} must be in [0, 1], got {value!r}")
    return float(value)


def _domain_weights(domains: Mapping[str, float] | None) -> tuple[list[str], np.ndarray]:
    if domains is None:
        return ["electronics"], np.array([1.0])
    unknown = sorted(name for name in domains if name not in SPECS)
    if unknown:
        raise ValueError(
            f"domains: unknown domain(s) {', '.join(map(repr, unknown))}; "
            f"valid domains are {', '.join(DOMAINS)}"
        )
    names = list(domains)
    weights = []
    for name in names:
        weight = domains[name]
        if isinstance(weight, bool) or not isinstance(weight, int | float | np.number):
            raise ValueError(f"domains: weight of {name!r} must be a number, got {weight!r}")
        if not math.isfinite(weight) or weight < 0:
            raise ValueError(f"domains: weight of {name!r} must be finite and >= 0, got {weight!r}")
        weights.append(float(weight))
    total = sum(weights)
    if total <= 0:
        raise ValueError("domains: weights must sum to more than 0")
    return names, np.array(weights) / total


def generate_reviews(
    n: int,
    *,
    seed: int,
    domains: Mapping[str, float] | None = None,
    positive_share: float = 0.5,
    hard_share: float = 0.1,
) -> pd.DataFrame:
    """Generate ``n`` labelled review sentences, identical for the same arguments.

    Args:
        n: number of rows (>= 0).
        seed: seed of the ``numpy.random.Generator`` that draws everything.
        domains: domain name -> weight (normalised to probabilities); each row's domain is
            drawn independently. Defaults to electronics only.
        positive_share: probability that a row is labelled ``"positive"``.
        hard_share: probability that a row is a hard case (negation, mixed sentiment
            decided by the final clause, sarcasm) rather than a plain review.

    Returns:
        A DataFrame with string columns ``text``, ``label`` (one of ``LABELS``) and ``domain``.

    Raises:
        ValueError: on a negative ``n``, an unknown domain (the message lists the valid
            ones), a negative or non-finite weight, weights summing to 0, or a share
            outside [0, 1].

    >>> generate_reviews(3, seed=7).shape
    (3, 3)
    """
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 0:
        raise ValueError(f"n must be an integer >= 0, got {n!r}")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise ValueError(f"seed must be an integer, got {seed!r}")
    positive_share = check_share("positive_share", positive_share)
    hard_share = check_share("hard_share", hard_share)
    names, probabilities = _domain_weights(domains)

    rng = np.random.default_rng(seed)
    domain_index = rng.choice(len(names), size=int(n), p=probabilities)
    positive = rng.random(int(n)) < positive_share
    hard = rng.random(int(n)) < hard_share

    texts: list[str] = []
    labels: list[str] = []
    row_domains: list[str] = []
    for i in range(int(n)):
        domain = names[int(domain_index[i])]
        label = LABELS[1] if positive[i] else LABELS[0]
        spec = SPECS[domain]
        templates: Sequence[str] = HARD_EITHER + HARD_ONLY[label] if hard[i] else spec.templates
        template = templates[int(rng.integers(len(templates)))]
        texts.append(_fill(template, spec, label, rng))
        labels.append(label)
        row_domains.append(domain)
    return pd.DataFrame({"text": texts, "label": labels, "domain": row_domains})
