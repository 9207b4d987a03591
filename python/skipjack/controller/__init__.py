"""The controller of a working session: what every front end (CLI, TUI, RPC) drives."""

from skipjack.controller.controller import APPROVAL_MODES, Controller
from skipjack.controller.events import ControllerEvent, Event, to_json

__all__ = ["APPROVAL_MODES", "Controller", "ControllerEvent", "Event", "to_json"]
