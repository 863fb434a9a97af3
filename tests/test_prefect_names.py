"""Drop-in names: every public name of Prefect's clients exists on ours, with compatible parameters.

Prefect's `prefect.client.orchestration.PrefectClient` and `SyncPrefectClient` (the installed,
pinned `prefect`) are enumerated. Every public name of theirs must exist on the matching client
here; for a method, every parameter of theirs must exist here under the same name, their
positional parameters must come first and in the same order, and a parameter only we have must
be keyword-only (or `**kwargs`), so that a call written for Prefect's client means the same here.
"""

from __future__ import annotations

import inspect
import sys
from typing import Any

import pytest

prefect_orchestration = pytest.importorskip("prefect.client.orchestration")

from prefect_sdk import PrefectClient, SyncPrefectClient  # noqa: E402

PAIRS = [
    (prefect_orchestration.PrefectClient, PrefectClient),
    (prefect_orchestration.SyncPrefectClient, SyncPrefectClient),
]

# Names of Prefect's clients we deliberately do not have. Empty today: every name is here.
MISSING_ALLOWED: dict[str, str] = {}

# Methods whose parameters deliberately differ from Prefect's, name -> why. Empty today.
SIGNATURE_ALLOWED: dict[str, str] = {}

POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
VARIADIC = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)


def public_names(cls: type) -> set[str]:
    return {name for name in dir(cls) if not name.startswith("_")}


def parameters(cls: type, name: str) -> list[inspect.Parameter] | None:
    """The parameters of the method `name` of `cls` without `self`; None for a non-method."""
    attribute = inspect.getattr_static(cls, name)
    fn = getattr(attribute, "fn", None)  # our @operation / @listing: the generator it binds
    if fn is None:
        if isinstance(attribute, property) or not callable(getattr(cls, name)):
            return None
        fn = attribute.__func__ if isinstance(attribute, (staticmethod, classmethod)) else attribute
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    found = list(signature.parameters.values())
    keep_first = isinstance(attribute, staticmethod)
    return found if keep_first else found[1:]


def unpacked_keywords(cls: type, name: str) -> dict[str, list[str]]:
    """The keys of a `**kwargs: Unpack["SomeTypedDict"]` of Prefect's method `name`."""
    fn = getattr(cls, name)
    found: dict[str, list[str]] = {}
    for parameter in inspect.signature(fn).parameters.values():
        annotation = str(parameter.annotation)
        if parameter.kind is inspect.Parameter.VAR_KEYWORD and "Unpack[" in annotation:
            typed_dict = annotation.split("Unpack[", 1)[1].rstrip("]").strip("'\"")
            typed_dict = typed_dict.removeprefix("ForwardRef(").rstrip(")").strip("'\"")
            module = sys.modules[fn.__module__]
            found[parameter.name] = list(getattr(module, typed_dict).__annotations__)
    return found


def incompatibilities(
    theirs: list[inspect.Parameter],
    ours: list[inspect.Parameter],
    typed_keywords: dict[str, list[str]] | None = None,
) -> list[str]:
    """Why a call written for `theirs` would not mean the same with `ours` (empty: it would).

    `typed_keywords`: the keys of their `**kwargs: Unpack[SomeTypedDict]`, by parameter name:
    each must be a parameter of ours."""
    typed_keywords = typed_keywords or {}
    problems: list[str] = []
    by_name = {parameter.name: parameter for parameter in ours}
    takes_any_keyword = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in ours)
    their_names = {p.name for p in theirs}
    for parameter in theirs:
        if parameter.kind is inspect.Parameter.VAR_KEYWORD and parameter.name in typed_keywords:
            missing = [key for key in typed_keywords[parameter.name] if key not in by_name]
            if missing and not takes_any_keyword:
                problems.append(f"no parameter {', '.join(missing)} (of **{parameter.name})")
        elif parameter.kind in VARIADIC:
            if not any(p.kind is parameter.kind for p in ours):
                problems.append(
                    f"no {'*' if parameter.kind is VARIADIC[0] else '**'}{parameter.name}"
                )
        elif parameter.name not in by_name and not takes_any_keyword:
            problems.append(f"no parameter {parameter.name}")
        elif parameter.name in by_name and parameter.default is inspect.Parameter.empty:
            pass
        elif (
            parameter.name in by_name and by_name[parameter.name].default is inspect.Parameter.empty
        ):
            problems.append(f"{parameter.name} is optional there, required here")
    their_positional = [p.name for p in theirs if p.kind in POSITIONAL]
    our_positional = [p.name for p in ours if p.kind in POSITIONAL]
    if our_positional[: len(their_positional)] != their_positional:
        problems.append(f"positional {their_positional} there, {our_positional} here")
    for parameter in ours:
        extra = parameter.name not in their_names and parameter.kind not in VARIADIC
        if extra and parameter.kind is not inspect.Parameter.KEYWORD_ONLY:
            problems.append(f"our extra {parameter.name} is not keyword-only")
    return problems


@pytest.mark.parametrize(("theirs", "ours"), PAIRS, ids=lambda cls: cls.__name__)
def test_every_prefect_name_is_here(theirs: type, ours: type) -> None:
    missing = sorted(public_names(theirs) - public_names(ours) - set(MISSING_ALLOWED))
    assert not missing, f"{ours.__name__} lacks Prefect's {', '.join(missing)}"


@pytest.mark.parametrize(("theirs", "ours"), PAIRS, ids=lambda cls: cls.__name__)
def test_shared_methods_take_prefects_arguments(theirs: type, ours: type) -> None:
    found: dict[str, list[str]] = {}
    for name in sorted(public_names(theirs) & public_names(ours)):
        their_parameters = parameters(theirs, name)
        our_parameters = parameters(ours, name)
        if their_parameters is None or name in SIGNATURE_ALLOWED:
            continue
        if our_parameters is None:
            found[name] = ["a method there, not here"]
        elif problems := incompatibilities(
            their_parameters, our_parameters, unpacked_keywords(theirs, name)
        ):
            found[name] = problems
    assert not found, "\n".join(f"{name}: {'; '.join(why)}" for name, why in found.items())


def _sig(text: str) -> list[inspect.Parameter]:
    namespace: dict[str, Any] = {}
    exec(f"def f(self, {text}): pass", namespace)  # noqa: S102 - test-local signatures
    return list(inspect.signature(namespace["f"]).parameters.values())[1:]


@pytest.mark.parametrize(
    ("theirs", "ours", "expected"),
    [
        ("a, b=None", "a, b=None, *, c=1", []),
        ("a, b=None", "a, *, b=None", ["positional ['a', 'b'] there, ['a'] here"]),
        ("flow_name", "name", ["no parameter flow_name", "positional", "our extra name"]),
        ("a", "a, c=1", ["our extra c is not keyword-only"]),
        ("a, b=None", "a, **kw", ["positional ['a', 'b'] there, ['a'] here"]),
        ("a, b=None", "a, b", ["b is optional there, required here"]),
    ],
)
def test_the_check_catches_what_breaks_a_prefect_call(
    theirs: str, ours: str, expected: list[str]
) -> None:
    """The comparison itself: each way a Prefect-style call could break is reported."""
    problems = incompatibilities(_sig(theirs), _sig(ours))
    assert len(problems) == len(expected)
    for problem, start in zip(problems, expected, strict=True):
        assert problem.startswith(start)


def test_async_client_loop_is_the_loop_it_was_entered_on(api_url: str) -> None:
    """Prefect's `PrefectClient.loop`: None before `async with`, then the running loop."""
    import asyncio

    async def main() -> None:
        client = PrefectClient(api_url)
        assert client.loop is None
        async with client:
            assert client.loop is asyncio.get_running_loop()
            assert client.with_options(timeout=5).loop is client.loop

    asyncio.run(main())


def test_typed_keyword_arguments_are_checked_key_by_key() -> None:
    """Prefect's `read_artifacts(**kwargs: Unpack[ArtifactReadParams])`: each key must be ours."""
    keys = unpacked_keywords(prefect_orchestration.PrefectClient, "read_artifacts")
    assert set(keys["kwargs"]) >= {"artifact_filter", "flow_run_filter", "limit", "offset"}
    theirs = _sig("**kwargs")
    assert (
        incompatibilities(theirs, _sig("*, artifact_filter=None"), {"kwargs": ["artifact_filter"]})
        == []
    )
    assert incompatibilities(theirs, _sig("*, limit=None"), {"kwargs": ["artifact_filter"]}) == [
        "no parameter artifact_filter (of **kwargs)"
    ]
