"""Build a ready agent from flags and config: model, key, tools, approvals, prompt, limits.

The building half of the controller layer: `skipjack.controller.Controller` builds its
runtime here, so every front end resolves a model, a key and an approval mode the same way.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from skipjack.agent import Agent, Hooks, Limits
from skipjack.config import ConfigError, LoadedConfig, load_config, load_instructions, missing_key_hint, resolve_api_key
from skipjack.config.files import find_repo_root, user_config_path
from skipjack.config.keys import key_required
from skipjack.config.schema import ApprovalMode, SandboxModeSetting, SandboxSettings, Settings
from skipjack.errors import UserError
from skipjack.extensions import Extensions, load_extensions
from skipjack.llm.azure import azure_ad_token
from skipjack.llm.stream import StreamOptions
from skipjack.llm.types import Api, Model, ReasoningEffort
from skipjack.safety.redaction import with_redaction
from skipjack.safety.sandbox import SandboxPolicy, probe, sandbox_for
from skipjack.safety.secrets import Redactor, secret_values, shell_env
from skipjack.safety.trust import is_trusted
from skipjack.subagents import TaskTool
from skipjack.system_prompt import build_system_prompt
from skipjack.tools import default_tools

if TYPE_CHECKING:
    from skipjack.compaction import Compactor
    from skipjack.models.registry import Registry
    from skipjack.safety.policy import ApprovalPolicy
    from skipjack.sessions import Session


class RunOptions(msgspec.Struct, frozen=True):
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
    trust_project: bool = False
    """Apply the project config's privileged settings for this run (`--trust-project`)."""
    sandbox_network: bool | None = None
    """Network inside the sandbox for this session (`--sandbox-network`); None: `[sandbox] network`."""
    sandbox_mode: SandboxModeSetting | None = None
    """The sandbox for this run (`--sandbox`, e.g. a batch's workspace-write); None: `[sandbox] mode`."""


class Runtime(msgspec.Struct):
    """Everything a front end needs to run the agent."""

    agent: Agent
    model: Model
    config: LoadedConfig
    policy: ApprovalPolicy
    """The one approval policy of this run; front ends hook it in and switch its mode."""
    warnings: list[str] = msgspec.field(default_factory=list)
    compactor: Compactor | None = None
    """Set once a session is attached (`attach_session`)."""
    summary_model: Model | None = None
    """The model `compaction.model` names for compaction summaries, if any."""
    redactor: Redactor | None = None
    """Scrubs known secret values from tool output (already wired into the agent's hooks)."""
    sandbox_settings: SandboxSettings = msgspec.field(default_factory=SandboxSettings)
    """The user's `[sandbox]` settings (a project's are ignored)."""
    project_root: Path | None = None
    user_config_dir: Path | None = None
    network_override: bool | None = None
    """This session's choice of network in the sandbox (`--sandbox-network`, `/network`)."""
    env: Mapping[str, str] = msgspec.field(default_factory=lambda: dict(os.environ))
    """The environment keys were read from; a switched-to model's key comes from it too."""
    trust_project: bool = False
    """`--trust-project`: the project's own MCP servers (`.mcp.json`) may start too."""
    shell_env: Mapping[str, str] = msgspec.field(default_factory=dict)
    """The model's shell environment (no credentials): bash's, subagents' bash's and hooks'."""
    extensions: Extensions | None = None
    """Custom commands, skills and agent definitions (a project's only when it is trusted)."""
    project_trusted: bool = False

    def key_for(self, model: Model) -> str | None:
        """The one key resolver: `model`'s own provider's key (environment, then `[keys]`)."""
        return resolve_api_key(model, self.config.settings, self.env)

    @property
    def approval_mode(self) -> ApprovalMode:
        """The policy's mode: one source of truth for approvals and the sandbox."""
        return self.policy.mode

    @approval_mode.setter
    def approval_mode(self, mode: ApprovalMode) -> None:
        self.policy.mode = mode

    def sandbox_policy(self) -> SandboxPolicy:
        """The sandbox the next shell command runs in, for the current approval mode."""
        return self.sandbox_policy_for(self.policy.mode)

    def sandbox_policy_for(self, mode: ApprovalMode) -> SandboxPolicy:
        """The sandbox of an approval mode (a subagent's may be stricter than the session's)."""
        settings = self.sandbox_settings
        root = self.project_root or self.agent.cwd
        # Plan mode is read-only whatever the override says: it is what plan promises.
        override = None if mode == "plan" else settings.mode
        network = settings.network if self.network_override is None else self.network_override
        return sandbox_for(
            mode,
            root,
            network=network,
            mode=override,
            user_config_dir=self.user_config_dir,
            network_commands=settings.network_commands,
        )


def load_settings(cwd: Path, env: Mapping[str, str], *, trust_project: bool = False) -> LoadedConfig:
    try:
        return load_config(cwd, env, trust_project=trust_project)
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
        if ref is not None:
            return _bare_model(ref, registry, settings, env)
        # A typo'd key (`modle = ...`) is the usual reason: say so here, not only in `config show`.
        notes = "".join(f"; {w}" for w in warnings)
        raise UserError(
            "no model chosen: pass --model provider/model-id (see `skipjack models search WORD`), "
            f"or set `model` in your config (`skipjack config init`){notes}"
        )
    provider, _, model_id = (ref or "custom/default").rpartition("/")
    warnings.append(
        f"no price is known for {model_id!r} at {opts.base_url}; its cost is shown as unknown, "
        "not $0 (add prices under [providers] in config)"
    )
    return Model(
        provider=provider or "custom",
        id=model_id,
        api=opts.api or "openai-chat",
        base_url=opts.base_url,
        api_key_env=opts.api_key_env,
    )


def check_cost_limit(model: Model, max_cost: float | None) -> None:
    """A cost cap on a model with no known price could never stop the run: refuse it up front."""
    if max_cost is not None and model.price is None:
        raise UserError(
            f"--max-cost cannot be enforced: no price is known for {model.ref}; set its prices under "
            f"[providers.{model.provider}] in your config, or leave --max-cost out"
        )


def _bare_model(model_id: str, registry: Registry, settings: Settings, env: Mapping[str, str]) -> Model:
    """`--model gpt-4o-mini`: the one usable provider serving that id whose key is set, else
    the one provider serving it at all; otherwise the candidates, named."""
    from skipjack.models import RegistryError

    candidates = [m for m in registry.list_models() if m.id == model_id]
    if not candidates:
        try:
            registry.get_model(model_id, env)
        except RegistryError as e:
            raise UserError(str(e)) from e
    keyed = [m for m in candidates if resolve_api_key(m, settings, env) is not None or not m.api_key_env]
    chosen = keyed if keyed else candidates
    if len(chosen) == 1:
        return registry.get_model(chosen[0].ref, env)
    names = ", ".join(m.ref for m in chosen[:8]) + (" …" if len(chosen) > 8 else "")
    which = "with a key set" if keyed else "(none has a key set)"
    raise UserError(f"{model_id!r} is served by {len(chosen)} providers {which}: {names}; "
                    "pass --model provider/model-id")  # fmt: skip


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
    config = load_settings(opts.cwd, env, trust_project=opts.trust_project)
    settings = config.settings
    warnings = list(config.warnings)
    model = resolve_model(opts, settings, env, warnings)
    check_cost_limit(model, opts.max_cost)
    key = resolve_api_key(model, settings, env)
    if key is None and key_required(model) and opts.base_url is None and azure_ad_token(model, env) is None:
        raise UserError(missing_key_hint(model))
    key_vars = provider_key_vars(settings, model)
    passthrough = settings.shell.env_passthrough
    redactor = Redactor(secret_values(env, key_vars=key_vars, config_keys=settings.keys))
    model_shell_env = shell_env(env, key_vars=key_vars, passthrough=passthrough)
    project_root = find_repo_root(opts.cwd) or opts.cwd.resolve()
    extensions, trusted = discover_extensions(opts.cwd, settings, env, trust_project=opts.trust_project)
    warnings += [f"ignored {p.path}: {p.message}" for p in extensions.problems]
    # The bash tool reads the sandbox policy at each call, from the runtime built below, so a
    # change of approval mode applies to the next command.
    built: list[Runtime] = []
    tools = default_tools(
        opts.cwd,
        shell_env=model_shell_env,
        sandbox=lambda: built[0].sandbox_policy() if built else None,
        model=model,
        edit_format=settings.tools.edit_format,
    )
    tools.append(TaskTool(extensions.agents))  # the controller gives it its spawn function
    if opts.system_prompt_file is not None:
        system_prompt = read_system_prompt_file(opts.system_prompt_file)
    else:
        instructions = load_instructions(opts.cwd, find_repo_root(opts.cwd))
        warnings += instructions.warnings
        system_prompt = build_system_prompt(
            opts.cwd,
            instructions.text,
            tool_names=[t.name for t in tools],
            skills=_skills_prompt(extensions),
        )
    options = StreamOptions(
        api_key=key,
        reasoning=opts.reasoning if model.reasoning else None,
        retry=settings.retry,
        timeouts=settings.timeouts,
        limits=settings.limits,
    )
    agent = Agent(
        model,
        system_prompt=system_prompt,
        tools=tools,
        options=options,
        hooks=with_redaction(hooks or Hooks(), redactor),
        limits=Limits(max_turns=opts.max_turns, max_cost=opts.max_cost),
        cwd=opts.cwd,
    )
    mode: ApprovalMode = opts.approval or settings.approval_mode
    runtime = Runtime(
        agent=agent,
        model=model,
        config=config,
        policy=build_policy(opts.cwd, settings, mode, user_config_dir=user_config_path(env).parent),
        warnings=warnings,
        summary_model=_summary_model(settings, env),
        redactor=redactor,
        sandbox_settings=_with_mode(_user_sandbox_settings(config, env, warnings), opts.sandbox_mode),
        project_root=project_root,
        user_config_dir=user_config_path(env).parent,
        network_override=opts.sandbox_network,
        env=env,
        trust_project=opts.trust_project,
        shell_env=model_shell_env,
        extensions=extensions,
        project_trusted=trusted,
    )
    built.append(runtime)
    if runtime.sandbox_policy().confined and not (support := probe()).available:
        warnings.append(
            f"shell commands cannot be sandboxed: {support.reason}; each command will need your approval "
            "to run unsandboxed (install bubblewrap to fix this)"
        )
    return runtime


def _with_mode(settings: SandboxSettings, mode: SandboxModeSetting | None) -> SandboxSettings:
    import msgspec

    return settings if mode is None else msgspec.structs.replace(settings, mode=mode)


def discover_extensions(
    cwd: Path, settings: Settings, env: Mapping[str, str], *, trust_project: bool = False
) -> tuple[Extensions, bool]:
    """The commands, skills and agent definitions a session in `cwd` gets, and whether the
    project is trusted (only then are its `.skipjack/` and `.claude/` folders read)."""
    project_root = find_repo_root(cwd) or cwd.resolve()
    trusted = trust_project or is_trusted(project_root, settings.trusted_projects)
    found = load_extensions(user_config_dir=user_config_path(env).parent, project_root=project_root, trusted=trusted)
    return found, trusted


def _user_sandbox_settings(config: LoadedConfig, env: Mapping[str, str], warnings: list[str]) -> SandboxSettings:
    """`[sandbox]` as the user set it: a repository must not loosen its own sandbox."""
    keys = ("sandbox.mode", "sandbox.network", "sandbox.network_commands")
    from_project = [k for k in keys if config.source(k).startswith("project")]
    if not from_project:
        return _checked_sandbox(config.settings.sandbox)
    ignored = ", ".join(from_project)
    warnings.append(f"ignored {ignored} from the project config: only your user config sets the sandbox")
    import msgspec

    from skipjack.config.files import read_toml

    user_file = user_config_path(env)
    if not user_file.is_file():
        return SandboxSettings()
    try:
        return _checked_sandbox(msgspec.convert(read_toml(user_file)[0].get("sandbox", {}), SandboxSettings))
    except (ConfigError, msgspec.ValidationError):
        return SandboxSettings()


def _checked_sandbox(settings: SandboxSettings) -> SandboxSettings:
    """A `network_commands` pattern that does not parse is a config error now, not at the
    first command."""
    from skipjack.safety.rules import compile_pattern

    for pattern in settings.network_commands:
        try:
            compile_pattern(pattern)
        except ValueError as e:
            raise UserError(f"[sandbox] network_commands: {pattern!r}: {e}") from e
    return settings


MAX_SYSTEM_PROMPT_BYTES = 1024 * 1024
"""Far above any useful system prompt, far below what would exhaust memory."""


def read_system_prompt_file(path: Path) -> str:
    from skipjack.config.files import UnreadableFile, read_regular_file

    try:
        return read_regular_file(path, MAX_SYSTEM_PROMPT_BYTES).decode("utf-8")
    except UnreadableFile as e:
        raise UserError(f"--system-prompt-file {path} {e}") from e
    except UnicodeDecodeError as e:
        raise UserError(f"--system-prompt-file {path} is not UTF-8 text ({e.reason} at byte {e.start})") from e


def provider_key_vars(settings: Settings, model: Model) -> set[str]:
    """Every variable that holds a provider's API key: the registry's and config's providers',
    and the chosen model's own (`--api-key-env`)."""
    from skipjack.models import registry_for

    names = registry_for(settings).key_variables()
    names |= {p.api_key_env for p in settings.providers.values() if p.api_key_env}
    if model.api_key_env:
        names.add(model.api_key_env)
    from skipjack.config.keys import same_key_vars

    return {alias for name in names for alias in same_key_vars(name)}


def build_policy(
    cwd: Path, settings: Settings, mode: ApprovalMode, *, user_config_dir: Path | None = None
) -> ApprovalPolicy:
    """The approval policy for a run in `cwd`: the repository (or `cwd`) is the project."""
    from skipjack.safety.policy import ApprovalPolicy

    root = find_repo_root(cwd) or cwd
    try:
        return ApprovalPolicy(
            mode,
            root,
            cwd=cwd,
            sandboxed=sandbox_available(),
            allow=settings.allow,
            deny=settings.deny,
            user_config_dir=user_config_dir,
        )
    except ValueError as e:
        raise UserError(f"approval rules: {e}") from e


def sandbox_available() -> bool:
    """Whether shell commands run inside an OS sandbox (`safety.sandbox`, where present).
    Without one the policy asks for every command rather than run it unconfined."""
    import importlib

    try:
        sandbox = importlib.import_module("skipjack.safety.sandbox")
    except ModuleNotFoundError as e:
        if e.name != "skipjack.safety.sandbox":
            raise
        return False
    return bool(sandbox.probe().available)


def _summary_model(settings: Settings, env: Mapping[str, str]) -> Model | None:
    ref = settings.compaction.model
    if ref is None:
        return None
    from skipjack.models import RegistryError, registry_for

    try:
        return registry_for(settings).get_model(ref, env)
    except RegistryError as e:
        raise UserError(f"compaction.model: {e}") from e


def attach_session(
    runtime: Runtime,
    session: Session,
    *,
    resume: bool,
    on_write_error: Callable[[BaseException], None] | None = None,
) -> Callable[[], None]:
    """Make `session` the agent's memory: resume its context, record every new message into
    it, compact through it, and use its id as the prompt-cache key. Returns the detach
    function (stop recording)."""
    import msgspec

    from skipjack.sessions.recorder import record

    agent = runtime.agent
    if resume:
        agent.replace_messages(session.messages())
        ref = agent.model.ref
        if session.model != ref:
            session.append_model_change(ref)
    agent.options = msgspec.structs.replace(agent.options, session_id=session.id)
    install_compactor(runtime, session).on_compaction = lambda result: agent.charge(result.usage)
    return record(agent, session, on_write_error)


def install_compactor(runtime: Runtime, session: Session | None) -> Compactor:
    """A compactor for the agent's conversation (recorded into `session`, or not recorded),
    hooked in front of its model calls."""
    from skipjack.compaction import Compactor

    agent = runtime.agent
    compactor = Compactor(
        lambda: agent.model,
        session=session,
        settings=runtime.config.settings.compaction,
        summary_model=runtime.summary_model,
        options=agent.options,
        key_for=runtime.key_for,
    )
    agent.hooks = compactor.hooks(agent.hooks)
    runtime.compactor = compactor
    return compactor


def _skills_prompt(extensions: Extensions) -> str:
    if not extensions.skills:  # the skills module loads only when there are skills
        return ""
    from skipjack.extensions.skills import skills_prompt

    return skills_prompt(list(extensions.skills.values()))
