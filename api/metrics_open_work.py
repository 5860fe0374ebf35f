"""The read model's gauges, counted when Prometheus scrapes (store/open_work.py): open tickets
by status, unacknowledged escalations by kind, the outbox's backlog. A database that does not
answer makes `aftersales_read_model_up` 0 instead of failing the scrape, so the request
metrics still arrive when they matter most."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from store.open_work import open_work

log = logging.getLogger("aftersales.metrics")


class OpenWorkMetrics(Collector):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterable[Metric]:
        up = GaugeMetricFamily(
            "aftersales_read_model_up", "1 when the read model answered this scrape"
        )
        try:
            work = open_work(self.engine)
        except SQLAlchemyError as failed:
            log.warning("metrics: the read model did not answer: %s", failed.__class__.__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield _by(
            "aftersales_open_tickets",
            "Tickets not closed or cancelled, by status",
            "status",
            work.tickets_by_status,
        )
        yield _by(
            "aftersales_open_escalations",
            "Escalations not yet acknowledged, by kind",
            "kind",
            work.escalations_by_kind,
        )
        yield _by(
            "aftersales_outbox_pending_messages",
            "Notifications written to the outbox and not yet sent, by channel",
            "channel",
            work.pending_messages_by_channel,
        )
        yield GaugeMetricFamily(
            "aftersales_outbox_oldest_pending_seconds",
            "How long the oldest unsent notification has waited (0: none waits)",
            value=work.oldest_pending_age_seconds,
        )


def _by(name: str, documentation: str, label: str, counts: dict[str, int]) -> Metric:
    family = GaugeMetricFamily(name, documentation, labels=[label])
    for value, count in sorted(counts.items()):
        family.add_metric([value], count)
    return family
