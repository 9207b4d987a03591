"""A scripted model: assistant turns served as real SSE over the loopback server.

Agent tests and users' own tests drive the real Rust stream path with it: each scripted
turn becomes an OpenAI-style chat-completions stream that `skipjack.llm.stream` fetches
over a socket, and every request the "model" received is recorded for assertions.
"""

from __future__ import annotations

from typing import Any

from skipjack.llm.types import Api, Model, Price
from skipjack.testing.bedrock_script import bedrock_reply
from skipjack.testing.gemini_script import gemini_turn
from skipjack.testing.openai_script import ScriptedTurn, openai_turn
from skipjack.testing.responses_script import responses_turn
from skipjack.testing.sse_server import RecordedRequest, Reply, SSEServer, Stall

SCRIPTED_PRICE = Price(input=3.0, output=15.0, cache_read=0.3, cache_write=3.75)
"""USD per million tokens, so scripted turns cost something real."""


def scripted_model(
    url: str, *, model_id: str = "scripted-model", price: Price | None = SCRIPTED_PRICE, api: Api = "openai-chat"
) -> Model:
    """A `Model` at `url` (e.g. `SSEServer.url`) with a real price, speaking `api`
    (`openai-chat`, `openai-responses`, `google-gemini` or `google-vertex`)."""
    return Model(
        provider="scripted",
        id=model_id,
        api=api,
        base_url=url,
        price=price,
        context_window=128_000,
        max_output=16_000,
    )


def turn_reply(
    turn: ScriptedTurn,
    *,
    chunk_size: int | None = None,
    pause: float = 0.0,
    api: Api = "openai-chat",
    turn_index: int = 0,
) -> Reply:
    """The whole turn as one 200 response, optionally sent in `chunk_size` pieces `pause` apart,
    in the stream format of `api` (`turn_index` numbers Responses item ids)."""
    if api == "openai-responses":
        return Reply.sse(responses_turn(turn, turn_index=turn_index), chunk_size=chunk_size, pause=pause)
    if api in ("google-gemini", "google-vertex"):
        return Reply.sse(gemini_turn(turn, turn_index=turn_index), chunk_size=chunk_size, pause=pause)
    if api == "bedrock-converse":
        return bedrock_reply(turn, turn_index=turn_index, chunk_size=chunk_size)
    if api != "openai-chat":
        raise ValueError(f"no scripted stream format for {api}")
    return Reply.sse(openai_turn(turn), chunk_size=chunk_size, pause=pause)


def stalled_reply(turn: ScriptedTurn) -> Reply:
    """The turn's content without its ending (finish reason, usage, `[DONE]`), then silence:
    a model caught mid-answer, for abort and timeout tests."""
    events = openai_turn(turn).split(b"\n\n")
    # The body ends with the finish chunk, the usage chunk, [DONE] and the empty tail.
    content = b"\n\n".join(events[:-4]) + b"\n\n"
    return Reply(body=[content, Stall()])


class ScriptedModel:
    """`ScriptedModel(server, *turns)`: a `model` whose requests get the scripted replies in order.

    Without a server it starts its own; use it as a context manager then. A reply left
    unscripted is an HTTP 500, which a test sees as a failed model call.
    """

    def __init__(
        self,
        server: SSEServer | None = None,
        *turns: ScriptedTurn | Reply,
        model_id: str = "scripted-model",
        price: Price | None = SCRIPTED_PRICE,
        api: Api = "openai-chat",
    ) -> None:
        self._owns_server = server is None
        self._api: Api = api
        self._turns = 0
        self.server = server if server is not None else SSEServer().start()
        self.model = scripted_model(self.server.url, model_id=model_id, price=price, api=api)
        self.enqueue(*turns)

    def enqueue(self, *turns: ScriptedTurn | Reply) -> None:
        replies: list[Reply] = []
        for t in turns:
            if isinstance(t, Reply):
                replies.append(t)
            else:
                replies.append(turn_reply(t, api=self._api, turn_index=self._turns))
                self._turns += 1
        self.server.enqueue(*replies)

    @property
    def requests(self) -> list[RecordedRequest]:
        return list(self.server.requests)

    def request_body(self, i: int) -> dict[str, Any]:
        """The JSON body of the `i`-th request (negative counts from the end)."""
        body: dict[str, Any] = self.server.requests[i].json()
        return body

    def request_messages(self, i: int) -> list[dict[str, Any]]:
        """The wire `messages` list the model received in request `i`."""
        messages: list[dict[str, Any]] = self.request_body(i)["messages"]
        return messages

    def close(self) -> None:
        if self._owns_server:
            self.server.stop()

    def __enter__(self) -> ScriptedModel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
