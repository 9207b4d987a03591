"""Usage and cost reports over every saved session: `skipjack usage`."""

from skipjack.reports.aggregate import VIEWS, Filters, Row, View, group
from skipjack.reports.records import Problem, Request, ScanResult
from skipjack.reports.scan import scan

__all__ = ["VIEWS", "Filters", "Problem", "Request", "Row", "ScanResult", "View", "group", "scan"]
