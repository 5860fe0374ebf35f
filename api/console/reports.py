"""The console's reports (issue 15): the KPIs of a period (R30, R36), the day's reports with the
step each person takes on them (R27-R29), a technician's monthly appraisal (R24).

- `GET /console/reports`: the KPIs per branch, zone, technician or service type, as a table
  and bar charts (`api/console/charts.py`); `GET /console/reports/kpis.csv` the same as CSV.
  Both call the JSON API's route function (`api/routes/reports.py` `kpi_report`), so the
  figures, the period's limits and the branch a director or manager may read
  (`branch_scope`) are the API's, and so is the CSV.
- `GET /console/reports/daily`: the day's reports of the branches this user reads (a
  technician: their own part of each) with the forms of the steps waiting for them — the
  technician confirms (R27), the director reviews (A8.10, R28), the manager signs (R29) —
  posted to the JSON API's route functions (`api/routes/daily_reports.py`), which the day's
  workflow answers; a refusal is a page saying why. `GET /console/reports/daily.csv`.
- `GET /console/reports/appraisal`: a technician's month (R24) as
  `GET /reports/technicians/{id}/monthly` reads it, for the roles it admits.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated, Literal, cast
from urllib.parse import urlencode

from fastapi import Depends, Path, Query, Request, Response
from fastapi.responses import RedirectResponse
from markupsafe import Markup
from pydantic import BaseModel
from sqlmodel import Session

from api.console import charts, labels
from api.console.auth import ConsoleUser, Poster
from api.console.i18n import Translate, _, language_of, translator
from api.console.pages import PREFIX, Section, console_router, duration, opens, render, require
from api.console.queues import checked, text_of
from api.console.report_steps import offers, visible_reports
from api.deps import ServicesDep, SessionDep, office_day, require_roles
from api.routes import daily_reports as daily_routes
from api.routes import reports as report_routes
from api.schemas.daily_reports import ConfirmBody, DailyReportPublic, ReviewBody, SignBody
from api.schemas.reports import MONTH_PATTERN, GroupKpisPublic, KpiReport, TechnicianMonthly
from models.daily_report import CONFIRMING_ROLES, REVIEWING_ROLES, SIGNING_ROLES
from models.kpis import AGE_BUCKETS, ALL, GroupBy, GroupKpis
from models.roles import APPRAISING_ROLES, READ_ROLES, Reading, Role
from models.survey import ITEMS
from models.tables import User
from store import users

router = console_router()
KPIS = Section("kpis", _("KPIs"), f"{PREFIX}/reports", READ_ROLES[Reading.REPORTS])
DAILY = Section(
    "daily",
    _("Daily reports"),
    f"{PREFIX}/reports/daily",
    READ_ROLES[Reading.REPORTS] | {Role.TECHNICIAN},
)
APPRAISAL = Section(
    "appraisal",
    _("Monthly appraisal"),
    f"{PREFIX}/reports/appraisal",
    APPRAISING_ROLES | {Role.TECHNICIAN},
)
TABS = (KPIS, DAILY, APPRAISAL)
"""The report pages, in the order of their tabs; a user sees the ones their roles open."""

GROUPINGS = {
    GroupBy.BRANCH: _("Branch"),
    GroupBy.ZONE: _("Zone"),
    GroupBy.TECHNICIAN: _("Technician"),
    GroupBy.SERVICE_TYPE: _("Service type"),
}
BACKLOG_AGES = {
    "under_1_day": _("Under 1 day"),
    "1_to_3_days": _("1 to 3 days"),
    "3_to_7_days": _("3 to 7 days"),
    "over_7_days": _("Over 7 days"),
}
DAY_STATUSES = {
    "drafting": _("Being drafted"),
    "no_work": _("No work that day"),
    "awaiting_confirmation": _("Waiting for confirmation"),
    "awaiting_review": _("Waiting for review"),
    "awaiting_signature": _("Waiting for the signature"),
    "signed": _("Signed"),
    "forwarded": _("Forwarded"),
}
DONE = {
    "confirm": _("Your report is confirmed."),
    "review": _("The report is reviewed."),
    "sign": _("The branch's report is signed and forwarded."),
}
GroupChoice = Annotated[GroupBy | Literal[""] | None, Query()]
"""A grouping, or "" for all tickets together (the form's first option)."""
BranchChoice = Annotated[str | None, Query(max_length=100)]
BranchPath = Annotated[str, Path(min_length=1, max_length=100)]


def tabs_of(user: User, here: Section) -> list[tuple[Section, bool]]:
    return [(tab, tab is here) for tab in TABS if opens(user, tab)]


# --- the KPIs (R30, R36) ---------------------------------------------------------------------


@dataclass(frozen=True)
class Question:
    """What the KPI page and its CSV ask: office days from `first` to `last` (both included),
    a grouping (None: all together), a branch (None: every branch the user reads)."""

    first: date
    last: date
    group_by: GroupBy | None
    branch: str | None

    def query(self) -> str:
        return urlencode(
            {
                "from": self.first.isoformat(),
                "to": self.last.isoformat(),
                "group_by": self.group_by or "",
                "branch": self.branch or "",
            }
        )


def kpi_question(
    app: ServicesDep,
    period_from: Annotated[date | None, Query(alias="from")] = None,
    period_to: Annotated[date | None, Query(alias="to")] = None,
    group_by: GroupChoice = GroupBy.BRANCH,
    branch: BranchChoice = None,
) -> Question:
    """The period asked, by default this month so far on the office calendar."""
    today = office_day(app)
    return Question(
        period_from or today.replace(day=1), period_to or today, group_by or None, branch or None
    )


Asked = Annotated[Question, Depends(kpi_question)]


def _kpi_route(
    request: Request,
    app: ServicesDep,
    db: Session,
    user: User,
    asked: Question,
    format: Literal["json", "csv"],
) -> KpiReport | Response:
    """`GET /reports/kpis` itself: its period's limits, its branch scope, its figures."""
    return report_routes.kpi_report(
        request, app, db, user, asked.first, asked.last, asked.group_by, asked.branch, format
    )


def _kpis(
    request: Request, app: ServicesDep, db: Session, user: User, asked: Question
) -> KpiReport:
    return cast(KpiReport, _kpi_route(request, app, db, user, asked, "json"))  # never a CSV


@dataclass(frozen=True)
class Chart:
    """A chart of the KPI page: its heading, its SVG and what it counts."""

    title: str
    svg: Markup
    note: str = ""


def _percent(fraction: float | None) -> str:
    return "—" if fraction is None else f"{fraction * 100:.0f} %"


def _hours(t: Translate) -> Callable[[float | None], str]:
    def hours(value: float | None) -> str:
        return "—" if value is None else t("{hours} h", hours=round(value, 1))

    return hours


def _group_name(group_by: GroupBy | None, name: str, t: Translate) -> str:
    if name == ALL:
        return t("All")
    if group_by is GroupBy.SERVICE_TYPE and name in labels.SERVICE_TYPES:
        return t(labels.SERVICE_TYPES[name])
    return name


def _rate_bars(rows: list[tuple[str, GroupKpisPublic]], rate: str) -> list[charts.Bar]:
    found = [(name, getattr(row, rate)) for name, row in rows]
    return [
        charts.Bar(name, None if value is None else value * 100, _percent(value))
        for name, value in found
    ]


def _time_bars(
    rows: list[tuple[str, GroupKpisPublic]], spread: str, hours: Callable[[float | None], str]
) -> list[charts.Bar]:
    bars = []
    for name, row in rows:
        figures = getattr(row, spread)
        shown = f"{hours(figures.median)} · {hours(figures.p90)}"
        bars.append(charts.Bar(name, figures.median, shown, figures.p90))
    return bars


def kpi_charts(
    rows: list[tuple[str, GroupKpisPublic]], total: GroupKpisPublic, t: Translate
) -> list[Chart]:
    """R30: arrival compliance and first-visit fixes per group, the times to arrive and to
    resolve per group (median, the 90th percentile behind it), the backlog by age and the
    satisfaction per survey item of all groups together."""
    hours, none = _hours(t), t("no data")
    spread_note = t("Working hours: the median, the 90th percentile behind it.")
    backlog = [
        charts.Bar(
            t(BACKLOG_AGES[name]), total.backlog.get(name, 0), str(total.backlog.get(name, 0))
        )
        for name, _bound in AGE_BUCKETS
    ]
    satisfaction = [
        charts.Bar(t(labels.SURVEY_ITEMS[item.name]), mean, "—" if mean is None else f"{mean:.2f}")
        for item in ITEMS
        for mean in [total.satisfaction.get(item.name)]
    ]
    return [
        Chart(
            t("Arrival deadline met"),
            charts.bar_chart(
                t("Arrival deadline met"),
                _rate_bars(rows, "arrival_compliance"),
                maximum=100,
                colour=charts.GREEN,
                empty=none,
            ),
            t("Of the tickets whose deadline has come: reached in time by the first arrival."),
        ),
        Chart(
            t("First-visit fix rate"),
            charts.bar_chart(
                t("First-visit fix rate"),
                _rate_bars(rows, "first_visit_fix_rate"),
                maximum=100,
                empty=none,
            ),
            t("Of the resolved tickets: one visit, never carried in."),
        ),
        Chart(
            t("Time to arrive"),
            charts.bar_chart(
                t("Time to arrive"), _time_bars(rows, "time_to_arrive_hours", hours), empty=none
            ),
            spread_note,
        ),
        Chart(
            t("Time to resolve"),
            charts.bar_chart(
                t("Time to resolve"), _time_bars(rows, "time_to_resolve_hours", hours), empty=none
            ),
            spread_note,
        ),
        Chart(
            t("Backlog by age"),
            charts.column_chart(t("Backlog by age"), backlog),
            t("Tickets not resolved at the period's end, by how long they have waited."),
        ),
        Chart(
            t("Satisfaction per survey item"),
            charts.bar_chart(
                t("Satisfaction per survey item"), satisfaction, maximum=4, empty=none
            ),
            t(
                "Mean of the answered cards, 1 to 4 ({count} answered).",
                count=total.surveys_answered,
            ),
        ),
    ]


@router.get("/reports")
def kpi_page(
    request: Request, app: ServicesDep, db: SessionDep, user: ConsoleUser, asked: Asked
) -> Response:
    """R30: the period's KPIs per group, with a line for all of them, and their charts; a
    technician, who reads no KPIs, is sent to their daily reports."""
    if not opens(user, KPIS) and opens(user, DAILY):
        return RedirectResponse(DAILY.href, status_code=303)
    require(user, KPIS)
    t = translator(language_of(request))
    report = _kpis(request, app, db, user, asked)
    together = report
    if asked.group_by is not None:
        whole = Question(asked.first, asked.last, None, asked.branch)
        together = _kpis(request, app, db, user, whole)
    total = (together.groups or [GroupKpisPublic.of(GroupKpis(ALL))])[0]
    rows = [(_group_name(asked.group_by, row.group, t), row) for row in report.groups]
    context = {
        "active": "reports",
        "tabs": tabs_of(user, KPIS),
        "asked": asked,
        "report": report,
        "rows": rows,
        "total": total,
        "charts": kpi_charts(rows or [(t("All"), total)], total, t),
        "groupings": GROUPINGS,
        "percent": _percent,
        "hours": _hours(t),
        "csv_href": f"{KPIS.href}/kpis.csv?{asked.query()}",
    }
    return render(request, "console/reports.html", context)


@router.get("/reports/kpis.csv")
def kpi_csv(
    request: Request, app: ServicesDep, db: SessionDep, user: ConsoleUser, asked: Asked
) -> Response:
    """The KPI page's figures as the API's CSV file (one row per group)."""
    require(user, KPIS)
    return cast(Response, _kpi_route(request, app, db, user, asked, "csv"))


# --- the day's reports (R27-R29) ----------------------------------------------------------------


@router.get("/reports/daily")
def daily_page(
    request: Request,
    app: ServicesDep,
    db: SessionDep,
    user: ConsoleUser,
    day: Annotated[date | None, Query(alias="date")] = None,
    branch: BranchChoice = None,
    done: Annotated[str | None, Query(max_length=16)] = None,
) -> Response:
    """The day's reports (default: today, office) with the steps waiting for this user."""
    require(user, DAILY)
    t = translator(language_of(request))
    shown = day or office_day(app)
    reports = visible_reports(db, user, shown, branch or None)
    context = {
        "active": "reports",
        "tabs": tabs_of(user, DAILY),
        "day": shown,
        "branch": branch or "",
        "reports": [(report, offers(report, user)) for report in reports],
        "statuses": DAY_STATUSES,
        "done": DONE.get(done or ""),
        "minutes": lambda amount: duration(timedelta(minutes=amount or 0), t),
        "csv_href": (
            f"{DAILY.href}.csv?{urlencode({'date': shown, 'branch': branch or ''})}"
            if opens(user, KPIS)
            else None
        ),
    }
    return render(request, "console/daily_reports.html", context)


@router.get("/reports/daily.csv")
def daily_csv(
    request: Request,
    app: ServicesDep,
    db: SessionDep,
    user: ConsoleUser,
    day: Annotated[date | None, Query(alias="date")] = None,
    branch: BranchChoice = None,
) -> Response:
    """The day's reports as the API's CSV (one row per job), for those who read reports."""
    require(user, KPIS)
    found = daily_routes.list_daily_reports(
        request, db, user, office_day(app), day, branch or None, "csv"
    )
    return cast(Response, found)


@dataclass(frozen=True)
class DayStep:
    """A step on a day's report as the JSON API takes it: its route function, its body and
    the role check the route declares."""

    route: Callable[..., Awaitable[DailyReportPublic]]
    body: type[BaseModel]
    roles: frozenset[Role]
    """Who may take it: the roles the route requires."""


STEPS = {
    "confirm": DayStep(daily_routes.confirm, ConfirmBody, CONFIRMING_ROLES),
    "review": DayStep(daily_routes.review, ReviewBody, REVIEWING_ROLES),
    "sign": DayStep(daily_routes.sign, SignBody, SIGNING_ROLES),
}


@router.post("/reports/daily/{branch}/{day}/{step}")
async def take_step(
    branch: BranchPath,
    day: date,
    step: Literal["confirm", "review", "sign"],
    request: Request,
    app: ServicesDep,
    user: Poster,
) -> Response:
    """Confirms, reviews or signs through the JSON API's route; then the day's reports saying
    so. A refusal (the route's or the workflow's) is a page saying why."""
    taken = STEPS[step]
    require_roles(*taken.roles)(user)
    form = await request.form()
    body = {"note": text_of(form.get("note"))}
    if step == "review":
        body["technician"] = text_of(form.get("technician"))
    await taken.route(branch, day, checked(taken.body, body), app, user)
    back = urlencode({"date": day.isoformat(), "branch": branch, "done": step})
    return RedirectResponse(f"{DAILY.href}?{back}", status_code=303)


# --- a technician's month (R24) ------------------------------------------------------------------


@router.get("/reports/appraisal")
def appraisal_page(
    request: Request,
    app: ServicesDep,
    db: SessionDep,
    user: ConsoleUser,
    technician: Annotated[str | None, Query(max_length=64)] = None,
    month: Annotated[str | None, Query(pattern=MONTH_PATTERN)] = None,
) -> Response:
    """R24: a technician's month (default: this month, office) — survey cards, the four items'
    averages, complaints; a technician's own by default, another's for the appraising roles
    (`appraisal_reader`)."""
    require(user, APPRAISAL)
    t = translator(language_of(request))
    chosen = technician or (user.username if Role.TECHNICIAN in user.roles else None)
    asked_month = month or office_day(app).strftime("%Y-%m")
    appraisal: TechnicianMonthly | None = None
    chart = None
    if chosen:
        report_routes.appraisal_reader(chosen, user)
        appraisal = report_routes.technician_monthly(chosen, asked_month, app, db, user)
        means = appraisal.averages.model_dump()
        bars = [
            charts.Bar(t(labels.SURVEY_ITEMS[name]), mean, "—" if mean is None else f"{mean:.2f}")
            for name, mean in means.items()
        ]
        title = t("Satisfaction per survey item")
        chart = charts.bar_chart(title, bars, maximum=4, empty=t("no data"))
    appraising = bool(APPRAISING_ROLES.intersection(user.roles))
    context = {
        "active": "reports",
        "tabs": tabs_of(user, APPRAISAL),
        "technician": chosen or "",
        "month": asked_month,
        "technicians": users.users_by_name(db, Role.TECHNICIAN) if appraising else [],
        "appraisal": appraisal,
        "chart": chart,
        "items": labels.SURVEY_ITEMS,
        "percent": _percent,
    }
    return render(request, "console/appraisal.html", context)
