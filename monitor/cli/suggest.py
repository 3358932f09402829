""" "Did you mean" hints for names a user typed: monitors, commands, options."""

from __future__ import annotations

from collections.abc import Iterable
from difflib import get_close_matches


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """` (did you mean X?)` when a known name is close to `name`, else an empty string."""
    known = list(known)
    # a name cut short ("fit" for "fit-head") first, then names spelled alike
    close = [k for k in known if name and k.startswith(name) and k != name]
    close += [k for k in get_close_matches(name, known, n=3, cutoff=0.7) if k not in close]
    if not close:
        return ""
    return f" (did you mean {' or '.join(close)}?)"


def unknown_name(kind: str, name: str, known: Iterable[str]) -> str:
    """`no monitor named 'x' (did you mean y?); known: a, b` as one sentence."""
    names = sorted(set(known))
    listed = ", ".join(names) if names else "none yet"
    return f"no {kind} named {name!r}{did_you_mean(name, names)}; known: {listed}"
