"""The customers' message templates, for staff to preview in each language (issue 14)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from activities.customer_messages import SAMPLE, render
from api.deps import ServicesDep, reader
from api.schemas.messages import TemplatePreview
from models.messages import Language, Milestone
from models.roles import Reading
from models.tables import User

router = APIRouter(prefix="/messages", tags=["messages"])
Reader = Annotated[User, Depends(reader(Reading.MESSAGES))]


@router.get("/templates", response_model=list[TemplatePreview])
def list_templates(app: ServicesDep, _: Reader) -> list[TemplatePreview]:
    """Every milestone's message in every language, with sample values."""
    timezone = app.policy.office_timezone
    return [
        TemplatePreview.of(render(milestone, language, SAMPLE, timezone))
        for milestone in Milestone
        for language in Language
    ]


@router.get("/templates/{milestone}", response_model=TemplatePreview)
def preview_template(
    milestone: Milestone, app: ServicesDep, _: Reader, language: Language = Language.ZH
) -> TemplatePreview:
    """One milestone's message in `language` (default Simplified Chinese), as a customer
    would read it, with sample values."""
    return TemplatePreview.of(render(milestone, language, SAMPLE, app.policy.office_timezone))
