"""The controller of a working session: what every front end (CLI, TUI, RPC) drives."""

from skipjack.controller.approvals import APPROVAL_MODES
from skipjack.controller.controller import Controller
from skipjack.controller.events import ControllerEvent, Event, to_json

__all__ = ["APPROVAL_MODES", "Controller", "ControllerEvent", "Event", "to_json"]
