"""The handlers a gateway hands received texts and delivery reports to (shared by the adapters)."""

from __future__ import annotations

from collections.abc import Callable

from services.ports import DeliveryReport, Text


class Fanout:
    def __init__(self) -> None:
        self._texts: list[Callable[[Text], None]] = []
        self._reports: list[Callable[[DeliveryReport], object]] = []

    def subscribe(self, handler: Callable[[Text], None]) -> None:
        self._texts.append(handler)

    def subscribe_reports(self, handler: Callable[[DeliveryReport], object]) -> None:
        self._reports.append(handler)

    def text(self, text: Text) -> None:
        for handler in self._texts:
            handler(text)

    def report(self, report: DeliveryReport) -> None:
        for handler in self._reports:
            handler(report)
