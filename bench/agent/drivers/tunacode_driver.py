"""TunaCode's side of the agent benchmark, run with the TunaCode venv's Python in the work folder.

TunaCode 0.2.3 has no headless mode: `tunacode` always opens its Textual UI. Its UI hands each
prompt to `tunacode.core.agents.main.process_request(message, model, state_manager)` (in
`ui/app.py`); this driver makes that same call without the UI, with the state manager the CLI
builds and the base URL set the way its `--baseurl` flag sets it (the session's
`OPENAI_BASE_URL`). So the figures are TunaCode's agent loop (tinyAgent underneath), minus the
cost of its terminal UI.

    OPENAI_BASE_URL=... OPENAI_API_KEY=... python tunacode_driver.py PROMPT
"""

import asyncio
import os
import sys

from tunacode.core.agents.main import process_request
from tunacode.core.session import StateManager
from tunacode.types import ModelName

MODEL = "openai:gpt-4.1"


async def main() -> None:
    sm = StateManager()
    env = sm.session.user_config["env"]
    env["OPENAI_BASE_URL"] = os.environ["OPENAI_BASE_URL"]
    env["OPENAI_API_KEY"] = os.environ["OPENAI_API_KEY"]
    sm.session.current_model = MODEL
    await process_request(message=sys.argv[1], model=ModelName(MODEL), state_manager=sm)
    # The running total its UI shows in the status bar (ui/app.py).
    print("AGENT_TOTAL_COST", sm.session.usage.session_total_usage.cost.total, flush=True)


if __name__ == "__main__":
    asyncio.run(main())
