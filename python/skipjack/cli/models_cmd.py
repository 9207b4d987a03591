"""`skipjack models`: list, search, show and refresh the model registry."""

from __future__ import annotations

import argparse
import sys
from typing import get_args

from skipjack.errors import UserError
from skipjack.llm.types import Api, Model

_API_WIDTH = max(len(a) for a in get_args(Api))


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("models", help="list, search, show or refresh the model registry")
    msub = p.add_subparsers(dest="models_command")
    ls = msub.add_parser("list", help="list models (optionally of one provider)")
    ls.add_argument("provider", nargs="?")
    se = msub.add_parser("search", help="search models by name or id")
    se.add_argument("query")
    sh = msub.add_parser("show", help="show one model's prices, limits and capabilities")
    sh.add_argument("model", help="provider/model-id")
    rf = msub.add_parser("refresh", help="download the current models.dev catalog into the user cache")
    rf.add_argument("--url", help=argparse.SUPPRESS)


def run(args: argparse.Namespace) -> int:
    from skipjack import models

    command = args.models_command or "list"
    if command == "refresh":
        try:
            result = models.refresh(args.url)
        except models.RegistryError as e:
            raise UserError(f"could not refresh the model registry: {e}") from e
        print(result)
        return 0
    if command == "show":
        try:
            model = models.get_model(args.model)
        except models.RegistryError as e:
            raise UserError(str(e)) from e
        p = model.price
        print(f"{model.ref}  ({model.name or model.id})")
        print(f"  api          {model.api}  {model.base_url}")
        print(f"  context      {model.context_window:,} tokens, output up to {model.max_output:,}")
        if model.input_limit != model.context_window:
            print(f"  input        up to {model.input_limit:,} tokens")
        if p is None:
            hint = f"set prices under [providers.{model.provider}] in config"
            print(f"  price/Mtok   unknown (models.dev has none; {hint})")
        else:
            print(f"  price/Mtok   input ${p.input:g}  output ${p.output:g}  cache read ${p.cache_read:g}  "
                  f"cache write ${p.cache_write:g}")  # fmt: skip
        print(f"  reasoning    {'yes' if model.reasoning else 'no'}   images {'yes' if model.images else 'no'}")
        print(f"  key          ${model.api_key_env}" if model.api_key_env else "  key          none needed")
        for tier in model.tiers:
            t = tier.price
            print(f"  over {tier.context_over // 1000}k    input ${t.input:g}  output ${t.output:g}  "
                  f"cache read ${t.cache_read:g}  cache write ${t.cache_write:g}")  # fmt: skip
        return 0
    query = args.query if command == "search" else None
    provider = args.provider if command == "list" else None
    found = models.list_models(provider=provider, query=query)
    if not found:
        raise UserError(f"no models match {query or provider!r}; try `skipjack models search WORD`")
    # One column width for the whole listing, so a long id never pushes the columns after it.
    refs = [m.ref for m in found]
    width = max(len(r) for r in refs)
    out = sys.stdout
    for ref, m in zip(refs, found, strict=True):
        ctx = f"{m.context_window // 1000}k" if m.context_window else "?"
        # The wire API, so a user sees which protocol (and so which endpoint) a model needs.
        out.write(f"{ref:<{width}}  {ctx:>6}  {m.api:<{_API_WIDTH}}  {_price_column(m)}\n")
    return 0


def _price_column(m: Model) -> str:
    """`$in/$out` per million tokens; `?/?` when no price is known, so unknown never reads as free."""
    return "?/?" if m.price is None else f"${m.price.input:g}/${m.price.output:g}"
