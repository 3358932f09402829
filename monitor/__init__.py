"""driftwarden: watches a deployed model for drift and tells the people who must act."""

__version__ = "0.1.0"
