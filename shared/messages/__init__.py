"""Event contracts: the CloudEvents envelope and one module of schemas per stream."""

from shared.messages.envelope import Envelope, PoisonMessage, decode, encode, new_event
from shared.messages.registry import EVENT_TYPES, is_public

__all__ = ["EVENT_TYPES", "Envelope", "PoisonMessage", "decode", "encode", "is_public", "new_event"]
