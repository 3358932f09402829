"""The generated review corpus that the demo stream and replay scenarios share: sentences by
domain, and seeded drift transforms on them."""

from monitor.corpus.reviews import generate_reviews
from monitor.corpus.vocabulary import DOMAINS, LABELS

__all__ = ["DOMAINS", "LABELS", "generate_reviews"]
