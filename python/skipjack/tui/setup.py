"""First run without any API key: pick a provider and paste a key, or point at a local server.

The key goes into the user config under `[keys]`, the file kept at mode 0600. Esc skips. Once
a model is picked, one 1-token request checks that it answers (`Controller.check_access`); a
refused key, an unreachable server or an unknown model is said plainly, and the user types the
key (or the server) again, or goes on anyway.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import ClassVar

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from skipjack.config import ConfigError, load_config, set_config_value, user_config_path
from skipjack.controller.access_check import AccessProblem
from skipjack.runtime import RunOptions

LOCAL = "__local__"
PREFERRED = ("anthropic", "openai", "openrouter", "google", "deepseek", "mistral", "groq", "xai")
LOCAL_PROVIDER = "local"


def needs_setup(options: RunOptions, env: Mapping[str, str]) -> bool:
    """No base URL given, no key in the environment for any provider, none in config, and no
    provider of the user's own: nothing could answer a prompt."""
    if options.base_url is not None:
        return False
    try:
        settings = load_config(options.cwd, env).settings
    except ConfigError:
        return False  # a broken config is reported as such, not papered over with setup
    if any(v.strip() for v in settings.keys.values()) or settings.providers:
        return False
    from skipjack.models import providers

    for p in providers():
        for var in [*p.env, *([p.api_key_env] if p.api_key_env else [])]:
            if env.get(var, "").strip():
                return False
    return True


def provider_options() -> list[tuple[str, str]]:
    """(provider id, label), the well-known ones first, then the local server choice."""
    from skipjack.models import providers

    usable = [p for p in providers() if p.unsupported is None and p.api_key_env and p.models]
    rank = {pid: i for i, pid in enumerate(PREFERRED)}
    usable.sort(key=lambda p: (rank.get(p.id, len(rank)), p.name.lower()))
    out = [(p.id, f"{p.name}  ({p.models} models, key in ${p.api_key_env})") for p in usable]
    out.insert(min(len(PREFERRED), len(out)), (LOCAL, "A local or self-hosted server (OpenAI-compatible base URL)"))
    return out


def write_private(path: Path, key: str | tuple[str, ...], value: object) -> None:
    set_config_value(path, key, value)
    os.chmod(path, 0o600)


class SetupScreen(ModalScreen[str | None]):
    """Dismisses with the model to use (`provider/model-id`), or None when skipped."""

    DEFAULT_CSS = """
    SetupScreen { align: center middle; }
    SetupScreen > Vertical {
        width: 90%; max-width: 100; height: 90%;
        border: round $primary; background: $surface; padding: 0 1;
    }
    SetupScreen .title { text-style: bold; }
    SetupScreen .hint { color: $text-muted; }
    SetupScreen .problem { color: $error; display: none; }
    SetupScreen .problem.-shown { display: block; }
    SetupScreen OptionList { height: 1fr; border: none; }
    SetupScreen Input { display: none; }
    SetupScreen Input.-shown { display: block; }
    """
    # Models most users do not mean to chat with: listed last, never highlighted first.
    NOT_CHAT = ("image", "audio", "tts", "embed", "whisper", "dall-e", "moderation", "realtime", "transcribe",
                "search", "speech", "vision-preview")  # fmt: skip
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "skip", "skip", show=False)]

    def __init__(
        self, env: Mapping[str, str], check: Callable[[str], Awaitable[AccessProblem | None]] | None = None
    ) -> None:
        """`check`: asks the model a ref names for one token; None when it answers."""
        super().__init__()
        self.env = env
        self.check = check
        self.chosen: str | None = None
        self.problem: AccessProblem | None = None
        self.problem_text = Static("", classes="problem", markup=False)
        self.config_path = user_config_path(env)
        self.choices = provider_options()
        self.provider: str | None = None
        self.step = "provider"
        self.hint = Static("", classes="hint", markup=False)
        self.options = OptionList(*[Option(label) for _, label in self.choices])
        self.filter = Input(placeholder="type to filter, ↑↓ to move, Enter to pick", id="filter")
        self.shown: list[tuple[str, str]] = list(self.choices)
        """(value, label) of the rows on show, in order: the filter narrows them."""
        self.key_input = Input(password=True, placeholder="paste the API key and press Enter", id="key")
        self.url_input = Input(placeholder="http://127.0.0.1:8080/v1", id="base-url")
        self.name_input = Input(placeholder="model name as the server knows it", id="model-name")
        self.models: list[str] = []

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("Welcome to skipjack — no API key found", classes="title")
            yield self.hint
            yield self.problem_text
            yield self.filter
            yield self.key_input
            yield self.url_input
            yield self.name_input
            yield self.options

    def on_mount(self) -> None:
        self.hint.update("Pick a provider (type to filter, Enter to pick), or Esc to skip setup.")
        self._show(self.choices)
        self.filter.add_class("-shown")
        self.filter.focus()

    def _show(self, rows: list[tuple[str, str]], query: str = "") -> None:
        words = query.lower().split()
        self.shown = [r for r in rows if all(w in f"{r[0]} {r[1]}".lower() for w in words)]
        self.options.clear_options()
        self.options.add_options([Option(label) for _, label in self.shown])
        if self.shown:
            self.options.highlighted = 0

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input is self.filter:
            rows = self.choices if self.step == "provider" else [(m, m) for m in self.models]
            self._show(rows, event.value)

    def on_key(self, event: events.Key) -> None:
        if self.step == "problem" and event.key in ("enter", "r"):
            event.stop()
            if event.key == "enter":
                self.dismiss(self.chosen)  # on anyway: what was saved stays
            else:
                self._ask_again()
            return
        if self.filter.has_focus and event.key in ("up", "down", "pageup", "pagedown") and self.shown:
            event.stop()
            step = {"up": -1, "down": 1, "pageup": -10, "pagedown": 10}[event.key]
            now = self.options.highlighted or 0
            self.options.highlighted = max(0, min(len(self.shown) - 1, now + step))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self._pick(event.option_index)

    def _pick(self, index: int | None) -> None:
        if index is None or not 0 <= index < len(self.shown):
            return
        value = self.shown[index][0]
        if self.step == "provider":
            pid = value
            self.provider = pid
            self.filter.remove_class("-shown")
            self.options.display = False
            if pid == LOCAL:
                self.step = "local"
                self.hint.update("Base URL of the server (OpenAI chat-completions API), then the model name.")
                self.url_input.add_class("-shown")
                self.name_input.add_class("-shown")
                self.url_input.focus()
            else:
                self.step = "key"
                self.hint.update(f"Paste your {pid} API key. It is stored in {self.config_path} (mode 0600).")
                self.key_input.add_class("-shown")
                self.key_input.focus()
        elif self.step == "model":
            self._finish(value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        value = event.value.strip()
        if event.input is self.filter:
            self._pick(self.options.highlighted)
        elif event.input is self.key_input and value and self.provider:
            write_private(self.config_path, ("keys", self.provider), value)
            self._pick_model(self.provider)
        elif event.input is self.url_input and value:
            self.name_input.focus()
        elif event.input is self.name_input and value and self.url_input.value.strip():
            base = self.url_input.value.strip()
            write_private(self.config_path, ("providers", LOCAL_PROVIDER, "base_url"), base)
            write_private(self.config_path, ("providers", LOCAL_PROVIDER, "api"), "openai-chat")
            # The name as one key part: `gpt-4.1` must not become the table `gpt-4` → `1`.
            write_private(self.config_path, ("providers", LOCAL_PROVIDER, "models", value), {})
            self._finish(f"{LOCAL_PROVIDER}/{value}")

    def _pick_model(self, pid: str) -> None:
        from skipjack.models import list_models

        self.step = "model"
        refs = [m.ref for m in list_models(provider=pid)]
        self.models = sorted(refs, key=lambda ref: any(w in ref.lower() for w in self.NOT_CHAT))
        self.key_input.remove_class("-shown")
        self.hint.update("Key saved. Pick the model to use (saved as your default; type to filter):")
        self.filter.value = ""
        self._show([(m, m) for m in self.models])
        self.options.display = True
        self.filter.add_class("-shown")
        self.filter.focus()

    def _save_model(self, ref: str) -> str:
        write_private(self.config_path, "model", ref)
        return ref

    def _finish(self, ref: str) -> None:
        """Save the model, then check it answers before leaving."""
        self.chosen = self._save_model(ref)
        if self.check is None:
            self.dismiss(ref)
            return
        self.step = "checking"
        for widget in (self.filter, self.key_input, self.url_input, self.name_input):
            widget.remove_class("-shown")
        self.options.display = False
        self.problem_text.remove_class("-shown")
        self.hint.update(f"Checking {ref}: one request for a single token… (Esc skips)")
        self.set_focus(None)
        self.run_worker(self._check(ref), exclusive=True, group="setup-check", exit_on_error=False)

    async def _check(self, ref: str) -> None:
        assert self.check is not None
        problem = await self.check(ref)
        if self.step != "checking" or not self.is_attached:
            return
        if problem is None:
            self.dismiss(ref)
            return
        self.step = "problem"
        self.problem = problem
        again = "the server address" if self.provider == LOCAL else "the key"
        self.problem_text.update(f"✗ {problem.message}")
        self.problem_text.add_class("-shown")
        self.hint.update(f"Enter: continue anyway  ·  r: type {again} again  ·  Esc: skip setup")

    def _ask_again(self) -> None:
        self.problem_text.remove_class("-shown")
        if self.provider == LOCAL:
            self.step = "local"
            self.hint.update("Base URL of the server (OpenAI chat-completions API), then the model name.")
            self.url_input.add_class("-shown")
            self.name_input.add_class("-shown")
            self.url_input.focus()
        else:
            self.step = "key"
            self.hint.update(f"Paste your {self.provider} API key. It is stored in {self.config_path} (mode 0600).")
            self.key_input.value = ""
            self.key_input.add_class("-shown")
            self.key_input.focus()

    def action_skip(self) -> None:
        self.dismiss(None)
