"""The bases of every request body."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator


class Request(BaseModel):
    """A request body: a field the API does not know is refused, not ignored."""

    model_config = ConfigDict(extra="forbid")


class Patch(Request):
    """PATCH bodies: only the fields sent change; null only where the field may be empty."""

    nullable: ClassVar[frozenset[str]] = frozenset()

    @field_validator("*")
    @classmethod
    def _null_only_where_allowed(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None and info.field_name not in cls.nullable:
            raise ValueError("may not be null")
        return value

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True)
