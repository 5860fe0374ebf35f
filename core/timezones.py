"""Zone rules from the pinned `tzdata` package, never the machine's: deadlines are computed in
workflow code (R12), and every worker that replays a ticket must compute them alike, whatever
its operating system ships."""

from __future__ import annotations

import zoneinfo


def use_packaged_zone_rules() -> None:
    """Makes `zoneinfo` read only the `tzdata` package (pinned in requirements.lock). Call it
    first thing in every process, before any time zone is loaded."""
    zoneinfo.reset_tzpath(to=())
    zoneinfo.ZoneInfo.clear_cache()
