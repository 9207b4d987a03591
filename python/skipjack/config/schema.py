"""The settings schema: what `config.toml` may hold, with the defaults."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, TypeAlias

import msgspec

from skipjack.llm_settings import Api, Price, RetryPolicy, StreamLimits, Timeouts

NonNegInt = Annotated[int, msgspec.Meta(ge=0)]
ApprovalMode: TypeAlias = Literal["ask", "auto-edit", "yolo", "plan"]
SandboxModeSetting: TypeAlias = Literal["read-only", "workspace-write", "full-access"]
# The model id may hold inner spaces (a local server's "my model 2.5"), not leading or trailing ones.
ModelRef = Annotated[str, msgspec.Meta(pattern=r"^[^/\s]+/\S(?:.*\S)?$")]
"""`provider/model-id`."""


class CompactionSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    enabled: bool = True
    reserve_tokens: NonNegInt = 16_384
    """Room kept free in the context window for the reply; compaction starts when it would shrink."""
    keep_recent_tokens: NonNegInt = 20_000
    """How much of the most recent conversation is kept verbatim when compacting."""
    model: ModelRef | None = None
    """A cheaper model for the summaries, `provider/model-id` (default: the conversation's)."""


class SandboxSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """`[sandbox]`: how shell commands are confined. Honoured from the user's config only."""

    mode: SandboxModeSetting | None = None
    """Override the sandbox the approval mode picks (plan always stays read-only)."""
    network: bool | None = None
    """Network inside the sandbox (default: off, except in full access)."""
    network_commands: list[str] = msgspec.field(default_factory=list)
    """Bash patterns (as in allow rules, without `bash:`) whose command lines get the network
    anyway, e.g. `["npm install *", "pip install *", "cargo fetch"]`."""


class ModelConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A model of a custom provider, or overrides for a registry model (unset fields keep its values)."""

    name: str | None = None
    api: Api | None = None
    base_url: str | None = None
    context_window: NonNegInt | None = None
    max_input: NonNegInt | None = None
    max_output: NonNegInt | None = None
    price: Price | None = None
    reasoning: bool | None = None
    images: bool | None = None
    tool_call: bool | None = None
    headers: dict[str, str] = msgspec.field(default_factory=dict)
    base_model: str | None = None
    """The registry model this one is a deployment of (Azure: the deployment's name is the
    model id, `base_model = "gpt-5"` gives it gpt-5's API, limits and prices); a bare id is
    looked up under the same provider, `provider/id` anywhere."""


class ProviderConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """`[providers.<id>]`: a new provider, or overrides for a registry provider."""

    name: str | None = None
    base_url: str | None = None
    api: Api | None = None
    api_key_env: str | None = None
    headers: dict[str, str] = msgspec.field(default_factory=dict)
    models: dict[str, ModelConfig] = msgspec.field(default_factory=dict)


class ShellSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    env_passthrough: list[str] = msgspec.field(default_factory=list)
    """Environment variables the model's shell keeps although their names look like secrets
    (`*KEY*`, `*TOKEN*`, ...) or they hold a provider's API key. User config only."""


class ToolSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    edit_format: Literal["auto", "apply_patch", "edit"] = "auto"
    """Which edit tool the model gets: `auto` gives OpenAI's GPT-5 and codex models the
    `apply_patch` tool they are trained on and every other model `edit`."""


class McpServerConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """`[mcp.servers.NAME]`: an MCP server, run as a program (`command`) or reached at `url`."""

    command: str | None = None
    args: list[str] = msgspec.field(default_factory=list)
    env: dict[str, str] = msgspec.field(default_factory=dict)
    """Added to the small default environment the program gets (`${VAR}` is expanded)."""
    cwd: str | None = None
    url: str | None = None
    """Streamable HTTP endpoint (falls back to the older HTTP+SSE transport)."""
    headers: dict[str, str] = msgspec.field(default_factory=dict)
    transport: Literal["auto", "streamable-http", "sse"] = "auto"
    oauth: bool = False
    """Sign in with OAuth (browser, loopback redirect); tokens are kept in the data dir."""
    enabled: bool = True
    startup_timeout_s: Annotated[float, msgspec.Meta(gt=0, le=600)] = 10.0
    tool_timeout_s: Annotated[float, msgspec.Meta(gt=0)] = 120.0
    include_tools: list[str] = msgspec.field(default_factory=list)
    """Globs over the server's tool names; empty: every tool."""
    exclude_tools: list[str] = msgspec.field(default_factory=list)


class McpSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    servers: dict[str, McpServerConfig] = msgspec.field(default_factory=dict)


class HookCommand(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """One command run on an agent event, with Claude Code's hook contract (`extensions.hooks`)."""

    type: Literal["command"] = "command"
    command: str
    timeout: Annotated[float, msgspec.Meta(gt=0, le=3600)] = 60.0
    """Seconds; a hook still running then is killed and reported."""
    sandbox: bool = True
    """Run inside the OS sandbox of the current approval mode. `false` (user config only; a
    project's is ignored) runs it outside, as the user's own program."""


class HookMatcher(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    hooks: list[HookCommand]
    matcher: str = ""
    """A regular expression over the tool name (`bash|edit`; Claude Code's `Bash|Edit` match too);
    empty or `*` matches every tool. Ignored by events without a tool."""


class SubagentSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    max_depth: Annotated[int, msgspec.Meta(ge=1, le=8)] = 2
    """How deep `task` calls may nest (a child of a child is depth 2)."""
    max_turns: Annotated[int, msgspec.Meta(ge=1)] = 30
    """Model calls per child run."""


class CheckpointSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """`[checkpoints]`: snapshots of the working tree before every user turn (`skipjack rewind`)."""

    enabled: bool = True
    max_file_size: NonNegInt = 10 * 1024 * 1024
    """Bytes; larger files are not snapshotted (listed as skipped) and a rewind leaves them alone."""
    max_files: NonNegInt = 100_000
    """A first snapshot of more files than this is refused (checkpoints off for that folder)."""
    retention_days: NonNegInt = 30
    """Snapshots recorded longer ago than this are removed by `skipjack sessions gc`."""


class Settings(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    model: ModelRef | None = None
    """The default model, `provider/model-id`."""
    approval_mode: ApprovalMode = "ask"
    allow: list[str] = msgspec.field(default_factory=list)
    """`tool: pattern` rules run without asking."""
    deny: list[str] = msgspec.field(default_factory=list)
    """`tool: pattern` rules never run; deny wins over allow."""
    compaction: CompactionSettings = CompactionSettings()
    sandbox: SandboxSettings = SandboxSettings()
    retry: RetryPolicy = RetryPolicy()
    timeouts: Timeouts = Timeouts()
    limits: StreamLimits = StreamLimits()
    """`[limits]`: size caps on a model's response (see `StreamLimits`)."""
    providers: dict[str, ProviderConfig] = msgspec.field(default_factory=dict)
    keys: dict[str, str] = msgspec.field(default_factory=dict)
    """API keys by provider id. Discouraged (a file is easier to leak than an env var) but supported."""
    shell: ShellSettings = ShellSettings()
    tools: ToolSettings = ToolSettings()
    mcp: McpSettings = McpSettings()
    """`[mcp]`: MCP servers whose tools the agent gets (a project's only when trusted)."""
    hooks: dict[str, list[HookMatcher]] = msgspec.field(default_factory=dict)
    """`[[hooks.PreToolUse]]` etc.: commands run on agent events (a project's only when trusted)."""
    subagents: SubagentSettings = SubagentSettings()
    checkpoints: CheckpointSettings = CheckpointSettings()
    trusted_projects: list[str] = msgspec.field(default_factory=list)
    """Folders whose `.skipjack/config.toml` may set privileged keys (their subfolders too).
    Read from the user config only."""
    extra: dict[str, Any] = msgspec.field(default_factory=dict)
    """Keys this version does not know, by dotted path; kept so nothing a user wrote is lost."""


_RULE = re.compile(r"^\s*([A-Za-z_][\w.-]*)\s*:\s*(.*?)\s*$")


class Rule(msgspec.Struct, frozen=True):
    tool: str
    pattern: str
    """A glob over the tool's subject (a command line, a path); `*` when the rule names only the tool."""


def parse_rule(text: str) -> Rule:
    m = _RULE.match(text)
    if m is None:
        raise ValueError(f"{text!r} is not a `tool: pattern` rule")
    return Rule(tool=m.group(1), pattern=m.group(2) or "*")
