"""Does the configured model answer? One cheap request before the user starts working.

Setup stores a key (or a local server) and a model; a typo in the key, a key for another
provider or a wrong base URL would otherwise only surface at the first prompt, as a failed run.
The check asks for one output token through the Rust core (the one stream path: no second HTTP
client for model calls), without retries and with short timeouts, and says what went wrong in
words that name the thing to fix.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import msgspec

from skipjack.errors import UserError
from skipjack.llm import Context, LLMError, RetryPolicy, StreamOptions, Timeouts, UserMessage, complete
from skipjack.llm.types import Model
from skipjack.runtime import RunOptions, build_runtime

CHECK_TIMEOUTS = Timeouts(connect_ms=5_000, first_byte_ms=20_000, idle_ms=20_000)
"""Long enough for a cold hosted model, short enough that setup never seems hung."""

Problem = Literal["key", "reach", "model", "quota", "server", "config"]


class AccessProblem(msgspec.Struct, frozen=True):
    """Why the provider cannot be reached with these settings."""

    kind: Problem
    message: str
    """One or two sentences for the user: what failed and what to change."""


async def check_access(options: RunOptions, env: Mapping[str, str]) -> AccessProblem | None:
    """None when the model `options` and the config files resolve to answered a 1-token request."""
    try:
        runtime = build_runtime(options, env=env)
    except UserError as e:
        return AccessProblem("config", str(e))
    model, agent_options = runtime.model, runtime.agent.options
    request = replace_stream_options(agent_options)
    try:
        await complete(model, Context(None, [UserMessage("Reply with OK.")], []), options=request)
    except LLMError as e:
        return describe(e, model)
    except Exception as e:  # a check must report, never take setup down with it
        return AccessProblem("server", f"the check of {model.ref} failed: {type(e).__name__}: {e}")
    return None


def replace_stream_options(options: StreamOptions) -> StreamOptions:
    import msgspec

    return msgspec.structs.replace(
        options, max_tokens=1, retry=RetryPolicy(max_retries=0), timeouts=CHECK_TIMEOUTS, reasoning=None
    )


def describe(error: LLMError, model: Model) -> AccessProblem:
    status = f"HTTP {error.status}: " if error.status else ""
    said = f"({status}{str(error).strip()[:200]})"
    where = f"${model.api_key_env} or " if model.api_key_env else ""
    if error.kind == "auth":
        return AccessProblem(
            "key",
            f"{model.provider} refused the key {said}. Check it was copied whole and is for "
            f"{model.provider}; it is read from {where}[keys] {model.provider} in the config.",
        )
    if error.kind in ("network", "timeout"):
        return AccessProblem(
            "reach", f"could not reach {model.base_url} {said}. Check the address and that the server is running."
        )
    if error.kind == "rate_limited":
        return AccessProblem(
            "quota", f"{model.provider} accepted the key but refused the request {said}: out of credit or rate limited."
        )
    if error.kind in ("bad_request", "context_overflow"):
        return AccessProblem(
            "model",
            f"the request for model {model.id!r} was refused {said}; the key may be fine: check the model.",
        )
    return AccessProblem("server", f"{model.provider} failed to answer {said}.")
