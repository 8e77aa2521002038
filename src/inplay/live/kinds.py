"""How a message kind is declared: its fields and their JSON Schema types.

:mod:`inplay.live.messages` declares the live path's kinds and :mod:`inplay.mlops.messages`
the MLOps loop's; both use these two classes, and ``docs/schemas/`` is generated from them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["SCHEMA_DIALECT", "Field", "Kind"]

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


@dataclass(frozen=True)
class Field:
    """One field of a message kind.

    Attributes:
        name: The JSON key.
        type: The JSON Schema type (``integer``, ``number``, ``string``, ``boolean``, ``object``,
            ``array``).
        nullable: Whether ``null`` is allowed too.
        extra: More JSON Schema keywords for the field (``const``, ``properties``, ...).
    """

    name: str
    type: str
    nullable: bool = False
    extra: tuple[tuple[str, Any], ...] = ()

    def schema(self) -> dict[str, Any]:
        """The JSON Schema of this field's value."""
        out: dict[str, Any] = {"type": [self.type, "null"] if self.nullable else self.type}
        out.update(dict(self.extra))
        return out


@dataclass(frozen=True)
class Kind:
    """A message kind: its name, topic, description and fields (all required)."""

    name: str
    topic: str
    description: str
    fields: tuple[Field, ...]

    @property
    def names(self) -> tuple[str, ...]:
        """The field names, in message order."""
        return tuple(f.name for f in self.fields)


def _f(name: str, type_: str, nullable: bool = False, **extra: Any) -> Field:
    return Field(name, type_, nullable, tuple(extra.items()))


def kind_field(name: str) -> Field:
    """The ``kind`` field of a monitoring-style message, fixed to ``name``."""
    return _f("kind", "string", const=name)
