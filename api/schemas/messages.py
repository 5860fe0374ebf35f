"""The customers' messages as staff preview them (issue 14)."""

from __future__ import annotations

from pydantic import BaseModel

from activities.customer_messages import Rendered


class TemplatePreview(BaseModel):
    milestone: str
    language: str
    subject: str
    body: str
    """With sample values in the blanks, times in the office's time zone."""

    @classmethod
    def of(cls, rendered: Rendered) -> TemplatePreview:
        return cls(
            milestone=rendered.milestone,
            language=rendered.language,
            subject=rendered.subject,
            body=rendered.body,
        )
