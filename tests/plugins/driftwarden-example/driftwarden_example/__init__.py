"""Example driftwarden plugins (see specs.py for what they declare)."""
