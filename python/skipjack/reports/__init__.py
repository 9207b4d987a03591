"""Usage and cost reports over every saved session: `skipjack usage`."""

from pathlib import Path

from skipjack.reports.aggregate import VIEWS, Filters, Row, View, group
from skipjack.reports.records import Problem, Request, ScanResult, scan_file
from skipjack.reports.scan import scan

__all__ = ["VIEWS", "Filters", "Problem", "Request", "Row", "ScanResult", "View", "group", "project_totals", "scan"]


def project_totals(project_dir: Path) -> tuple[Row, Row]:
    """Today's and this month's spend of one project's sessions folder (local time), for the
    UI's `/cost`: one project's files only, so it stays quick whatever else is stored."""
    import datetime

    from skipjack.reports.aggregate import local_day, summarise
    from skipjack.reports.scan import registry_input_price

    result = ScanResult()
    price = registry_input_price()
    if project_dir.is_dir():
        for path in sorted(project_dir.glob("*.jsonl")):
            scan_file(path, price, result)
    today = datetime.date.today()
    todays = [r for r in result.requests if local_day(r.ts) == today]
    months = [r for r in result.requests if local_day(r.ts).replace(day=1) == today.replace(day=1)]
    return summarise("today", None, todays), summarise(today.strftime("%Y-%m"), None, months)
