"""Build a ready agent from flags and config: model, key, tools, approvals, prompt, limits.

Shared by the headless `run` command and the terminal UI so both resolve a model, a key and
an approval mode the same way.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from skipjack.agent import Agent, Hooks, Limits
from skipjack.cli.errors import UserError
from skipjack.config import ConfigError, LoadedConfig, load_config, load_instructions, missing_key_hint, resolve_api_key
from skipjack.config.files import find_repo_root, user_config_path
from skipjack.config.schema import ApprovalMode, SandboxSettings, Settings
from skipjack.llm.stream import StreamOptions
from skipjack.llm.types import Api, Model, ReasoningEffort
from skipjack.safety.sandbox import SandboxPolicy, probe, sandbox_for
from skipjack.system_prompt import build_system_prompt
from skipjack.tools import default_tools

if TYPE_CHECKING:
    from skipjack.compaction import Compactor
    from skipjack.sessions import Session


@dataclass(frozen=True)
class RunOptions:
    """What the command line may set; None leaves the config's value."""

    cwd: Path
    model: str | None = None
    base_url: str | None = None
    api: Api | None = None
    api_key_env: str | None = None
    approval: ApprovalMode | None = None
    max_turns: int | None = None
    max_cost: float | None = None
    system_prompt_file: Path | None = None
    reasoning: ReasoningEffort | None = None


@dataclass
class Runtime:
    agent: Agent
    model: Model
    config: LoadedConfig
    approval_mode: ApprovalMode
    warnings: list[str] = field(default_factory=list)
    compactor: Compactor | None = None
    """Set once a session is attached (`attach_session`)."""
    summary_model: Model | None = None
    """The model `compaction.model` names for compaction summaries, if any."""
    sandbox_settings: SandboxSettings = field(default_factory=SandboxSettings)
    """The user's `[sandbox]` settings (a project's are ignored)."""
    project_root: Path | None = None
    user_config_dir: Path | None = None

    def sandbox_policy(self) -> SandboxPolicy:
        """The sandbox the next shell command runs in, for the current approval mode."""
        settings = self.sandbox_settings
        root = self.project_root or self.agent.cwd
        # Plan mode is read-only whatever the override says: it is what plan promises.
        override = None if self.approval_mode == "plan" else settings.mode
        return sandbox_for(
            self.approval_mode, root, network=settings.network, mode=override, user_config_dir=self.user_config_dir
        )


def load_settings(cwd: Path, env: Mapping[str, str]) -> LoadedConfig:
    try:
        return load_config(cwd, env)
    except ConfigError as e:
        raise UserError(str(e)) from e


def resolve_model(opts: RunOptions, settings: Settings, env: Mapping[str, str], warnings: list[str]) -> Model:
    """The registry's (or config's) model for `--model`, optionally re-pointed by `--base-url`;
    a name the registry does not know is allowed only with `--base-url`."""
    from skipjack.models import RegistryError, registry_for

    ref = opts.model or settings.model
    registry = registry_for(settings)
    if ref is not None and "/" in ref:
        try:
            model = registry.get_model(ref, env)
        except RegistryError as e:
            if opts.base_url is None:
                raise UserError(str(e)) from e
        else:
            if opts.base_url is None:
                return model
            return _repoint(model, opts)
    if opts.base_url is None:
        raise UserError(
            "no model chosen: pass --model provider/model-id (see `skipjack models search WORD`), "
            "or set `model` in your config (`skipjack config init`)"
        )
    provider, _, model_id = (ref or "custom/default").rpartition("/")
    warnings.append(
        f"no price is known for {model_id!r} at {opts.base_url}; its cost is counted as $0 "
        "(add prices under [providers] in config)"
    )
    return Model(
        provider=provider or "custom",
        id=model_id,
        api=opts.api or "openai-chat",
        base_url=opts.base_url,
        api_key_env=opts.api_key_env,
    )


def _repoint(model: Model, opts: RunOptions) -> Model:
    import msgspec

    changes: dict[str, Any] = {"base_url": opts.base_url}
    if opts.api:
        changes["api"] = opts.api
    if opts.api_key_env:
        changes["api_key_env"] = opts.api_key_env
    return msgspec.structs.replace(model, **changes)


def build_runtime(opts: RunOptions, *, hooks: Hooks | None = None, env: Mapping[str, str] | None = None) -> Runtime:
    """Everything but the approval hook and session, which the caller adds (they differ
    between the headless run and the UI)."""
    env = os.environ if env is None else env
    if not opts.cwd.is_dir():
        raise UserError(f"--cwd {opts.cwd} is not a directory")
    config = load_settings(opts.cwd, env)
    settings = config.settings
    warnings = list(config.warnings)
    model = resolve_model(opts, settings, env, warnings)
    key = resolve_api_key(model, settings, env)
    if key is None and model.api_key_env and opts.base_url is None:
        raise UserError(missing_key_hint(model))
    # The bash tool reads the policy at each call, from the runtime built below, so a change
    # of approval mode applies to the next command.
    built: list[Runtime] = []
    tools = default_tools(opts.cwd, sandbox=lambda: built[0].sandbox_policy() if built else None)
    if opts.system_prompt_file is not None:
        try:
            system_prompt = opts.system_prompt_file.read_text(encoding="utf-8")
        except OSError as e:
            raise UserError(f"cannot read --system-prompt-file {opts.system_prompt_file}: {e.strerror}") from e
    else:
        instructions = load_instructions(opts.cwd, find_repo_root(opts.cwd))
        system_prompt = build_system_prompt(opts.cwd, instructions.text, tool_names=[t.name for t in tools])
    options = StreamOptions(
        api_key=key,
        reasoning=opts.reasoning if model.reasoning else None,
        retry=settings.retry,
        timeouts=settings.timeouts,
    )
    agent = Agent(
        model,
        system_prompt=system_prompt,
        tools=tools,
        options=options,
        hooks=hooks,
        limits=Limits(max_turns=opts.max_turns, max_cost=opts.max_cost),
        cwd=opts.cwd,
    )
    mode: ApprovalMode = opts.approval or settings.approval_mode
    runtime = Runtime(
        agent=agent,
        model=model,
        config=config,
        approval_mode=mode,
        warnings=warnings,
        summary_model=_summary_model(settings, env),
        sandbox_settings=_user_sandbox_settings(config, env, warnings),
        project_root=find_repo_root(opts.cwd) or opts.cwd.resolve(),
        user_config_dir=user_config_path(env).parent,
    )
    built.append(runtime)
    if runtime.sandbox_policy().confined and not (support := probe()).available:
        warnings.append(
            f"shell commands cannot be sandboxed: {support.reason}; each command will need your approval "
            "to run unsandboxed (install bubblewrap to fix this)"
        )
    return runtime


def _user_sandbox_settings(config: LoadedConfig, env: Mapping[str, str], warnings: list[str]) -> SandboxSettings:
    """`[sandbox]` as the user set it: a repository must not loosen its own sandbox."""
    from_project = [k for k in ("sandbox.mode", "sandbox.network") if config.source(k).startswith("project")]
    if not from_project:
        return config.settings.sandbox
    ignored = ", ".join(from_project)
    warnings.append(f"ignored {ignored} from the project config: only your user config sets the sandbox")
    import msgspec

    from skipjack.config.files import read_toml

    user_file = user_config_path(env)
    if not user_file.is_file():
        return SandboxSettings()
    try:
        return msgspec.convert(read_toml(user_file)[0].get("sandbox", {}), SandboxSettings)
    except (ConfigError, msgspec.ValidationError):
        return SandboxSettings()


def _summary_model(settings: Settings, env: Mapping[str, str]) -> Model | None:
    ref = settings.compaction.model
    if ref is None:
        return None
    from skipjack.models import RegistryError, registry_for

    try:
        return registry_for(settings).get_model(ref, env)
    except RegistryError as e:
        raise UserError(f"compaction.model: {e}") from e


def attach_session(runtime: Runtime, session: Session, *, resume: bool) -> Callable[[], None]:
    """Make `session` the agent's memory: resume its context, record every new message into
    it, compact through it, and use its id as the prompt-cache key. Returns the detach
    function (stop recording)."""
    import msgspec

    from skipjack.compaction import Compactor
    from skipjack.sessions import model_ref
    from skipjack.sessions.recorder import record

    agent = runtime.agent
    if resume:
        agent.replace_messages(session.messages())
        ref = model_ref(agent.model.provider, agent.model.id)
        if session.model != ref:
            session.append_model_change(ref)
    agent.options = msgspec.structs.replace(agent.options, session_id=session.id)
    compactor = Compactor(
        lambda: agent.model,
        session=session,
        settings=runtime.config.settings.compaction,
        summary_model=runtime.summary_model,
        options=agent.options,
        on_compaction=lambda result: agent.charge(result.usage),
    )
    agent.hooks = compactor.hooks(agent.hooks)
    runtime.compactor = compactor
    return record(agent, session)
