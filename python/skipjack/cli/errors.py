"""Re-export: the errors live in `skipjack.errors` so the layers below the front ends can
raise them without importing a front end."""

from skipjack.errors import ExitCode, UserError

__all__ = ["ExitCode", "UserError"]
