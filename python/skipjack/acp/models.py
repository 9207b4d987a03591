"""The model picker an editor shows: one `model` session config option, whose choices are the
models skipjack has a key for (a model without one could not answer), the current one first."""

from __future__ import annotations

from acp import schema

from skipjack.controller import Controller
from skipjack.sessions import model_ref

MAX_CHOICES = 200
"""The registry holds thousands of models; an editor's drop-down need not."""


def model_option(controller: Controller) -> schema.SessionConfigOptionSelect:
    from skipjack.models import registry_for

    current = model_ref(controller.model.provider, controller.model.id)
    choices = [schema.SessionConfigSelectOption(value=current, name=controller.model.name or current)]
    runtime = controller.runtime
    try:
        models = registry_for(runtime.config.settings).list_models()
    except Exception:  # a broken registry still leaves the current model to show
        models = []
    for model in models:
        ref = model_ref(model.provider, model.id)
        if ref == current or len(choices) >= MAX_CHOICES:
            continue
        if runtime.key_for(model) is None and model.api_key_env:
            continue
        choices.append(schema.SessionConfigSelectOption(value=ref, name=model.name or ref))
    return schema.SessionConfigOptionSelect(
        type="select",
        id="model",
        name="Model",
        category="model",
        current_value=current,
        options=choices,
    )
