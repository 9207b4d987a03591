"""Aider's side of the agent benchmark, run with the aider venv's Python in the work folder.

Aider has no tool loop to script: its unit of work is a chat message answered with edit
blocks in its own edit format, which it applies to the files in the chat. Its documented
scripting API (https://aider.chat/docs/scripting.html) is `Coder.create(...)` then
`coder.run(message)`; each of the benchmark's turns is one such message, whose scripted reply
is a SEARCH/REPLACE block editing one line of notes.txt. A last message gets a plain answer.

    OPENAI_API_BASE=... python aider_driver.py TURNS
"""

import sys

from aider.coders import Coder
from aider.io import InputOutput
from aider.models import Model


def main() -> None:
    turns = int(sys.argv[1])
    io = InputOutput(yes=True, pretty=False, fancy_input=False, chat_history_file=None, input_history_file=None)
    coder = Coder.create(
        main_model=Model("openai/gpt-4.1"),
        fnames=["notes.txt"],
        io=io,
        use_git=False,
        auto_commits=False,
        dirty_commits=False,
        stream=True,
        map_tokens=0,
        suggest_shell_commands=False,
        detect_urls=False,
        auto_lint=False,
        auto_test=False,
    )
    for k in range(turns):
        coder.run(f"Mark line {k:02d} of notes.txt done.")
    coder.run("Say BENCH-COMPLETE when every line is done.")
    print("AGENT_TOTAL_COST", coder.total_cost, flush=True)


if __name__ == "__main__":
    main()
