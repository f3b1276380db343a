"""The action server can load every action: each domain action exists, and each can be pickled
(rasa-sdk's Sanic worker is spawned and pickles the registered actions: a closure kills it)."""

from __future__ import annotations

import importlib
import inspect
import pickle
import pkgutil

from rasa_sdk import Action

import actions


def registered() -> dict[str, Action]:
    for module in pkgutil.iter_modules(actions.__path__):
        importlib.import_module(f"actions.{module.name}")
    found: dict[str, Action] = {}
    stack = list(Action.__subclasses__())
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        if cls.__module__.startswith("actions.") and not inspect.isabstract(cls):
            try:
                instance = cls()
                found[instance.name()] = instance
            except NotImplementedError:
                continue
    return found


def test_every_custom_action_of_the_domain_is_implemented(domain):
    custom = {name for name in domain["actions"] if name != "action_session_start"}
    assert custom <= set(registered()), custom - set(registered())


def test_every_action_survives_pickling():
    for name, action in registered().items():
        pickle.dumps(action), name
