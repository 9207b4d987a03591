"""What the registry raises; every message is meant to be shown to the user as is."""

from __future__ import annotations


class RegistryError(Exception):
    """Base of every registry error."""


class UnknownModelError(RegistryError, LookupError):
    def __init__(self, ref: str, suggestions: list[str], hint: str = "") -> None:
        self.ref = ref
        self.suggestions = suggestions
        msg = f"unknown model {ref!r}"
        if hint:
            msg += f" ({hint})"
        if suggestions:
            msg += "; did you mean " + ", ".join(suggestions) + "?"
        super().__init__(msg)


class UnsupportedModelError(RegistryError):
    """The model exists but skipjack cannot talk to it; `reason` says why."""

    def __init__(self, ref: str, reason: str) -> None:
        self.ref = ref
        self.reason = reason
        super().__init__(f"{ref} {reason}")


class UnsupportedProviderError(UnsupportedModelError):
    """The whole provider is out of reach (a native protocol or auth skipjack does not speak)."""

    def __init__(self, provider: str, name: str, reason: str) -> None:
        self.provider = provider
        super().__init__(provider, reason)
        self.args = (f"{name} ({provider}) {reason}",)


class ProviderSetupError(RegistryError):
    """The provider needs a value from the environment (e.g. an account id in its URL)."""


class CustomProviderError(RegistryError, ValueError):
    """A custom provider or model in config cannot be used as written; names the config key."""
