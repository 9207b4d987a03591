"""`run_tui`: what the `skipjack` command calls to open the terminal UI."""

from __future__ import annotations

import os
from collections.abc import Mapping

from skipjack.runtime import RunOptions


def run_tui(
    options: RunOptions,
    *,
    prompt: str | None = None,
    continue_latest: bool = False,
    session_id: str | None = None,
    env: Mapping[str, str] | None = None,
) -> int:
    """Run the UI until the user leaves; returns the exit code.

    Errors a user must fix before anything can work (a malformed config, an unknown model
    with keys present) raise `UserError` before the screen is taken over, so the CLI prints
    them as one line. Without any key at all, the UI opens on its setup screen instead.
    """
    from skipjack.controller import Controller
    from skipjack.errors import UserError
    from skipjack.tui.app import SkipjackApp
    from skipjack.tui.setup import needs_setup

    env = os.environ if env is None else env
    controller: Controller | None = None
    try:
        controller = Controller.build(options, env=env)
    except UserError:
        if not needs_setup(options, env):
            raise
    resume = session_id or ("latest" if continue_latest else None)
    app = SkipjackApp(options, controller=controller, prompt=prompt, resume=resume, env=env)
    code = app.run()
    if app.goodbye:
        print(app.goodbye)
    return code if isinstance(code, int) else 0
