"""Hooks: webhook, command, python and retrain-head, fed by a persistent outbox in the store."""

from monitor.hooks.base import AttemptResult, Hook, HookContext
from monitor.hooks.dispatcher import DeliveryReport, Dispatcher

__all__ = ["AttemptResult", "DeliveryReport", "Dispatcher", "Hook", "HookContext"]
