"""The Archy validator's building blocks: the loader (one parse, lines per path), the cited model, problems and
their format, the project's policies reported apart, the ``flow validate`` / ``flow bench`` commands."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from genesys_identity.actions.definitions import load_all
from genesys_identity.architect import loader, model, validator
from genesys_identity.architect.validator import Problem, validate
from genesys_identity.catalog import load as load_catalog
from genesys_identity.flows import check
from genesys_identity.flows.render import render
from genesys_identity.settings import KEYS, StackSettings, parse_settings
from genesys_identity.stackfile import StackFileSource
from tests.conftest import ROOT

MINIMAL = """\
inboundShortMessage:
  name: Minimal
  division: Home
  startUpRef: "/inboundShortMessage/states/state[Initial State_10]"
  defaultLanguage: en-us
  supportedLanguages:
    en-us:
      defaultLanguageSkill:
        noValue: true
  settingsErrorHandling:
    errorHandling:
      disconnect:
        none: true
  states:
    - state:
        name: Initial State
        refId: Initial State_10
        actions:
          - disconnect:
              name: Disconnect
"""


@pytest.fixture(scope="module")
def settings() -> StackSettings:
    source = StackFileSource(ROOT, "dev", tuple(s.key for s in KEYS if s.secret))
    return parse_settings(source, stack="dev", project=source.project)


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "genesys_identity", "flow", *args], cwd=ROOT, capture_output=True,
                          text=True, check=False)


# -- the loader ---------------------------------------------------------------------------------------------------
def test_the_loader_uses_libyaml_and_keeps_the_line_of_every_path() -> None:
    assert loader.C_LOADER
    document = loader.load(MINIMAL, "minimal.yaml")
    assert document.value == yaml.safe_load(MINIMAL)
    assert document.line(("inboundShortMessage", "startUpRef")) == 4
    assert document.line(("inboundShortMessage", "states", 0, "state", "actions", 0, "disconnect", "name")) == 20
    assert document.line(("inboundShortMessage", "states", 0, "state", "nothing", "here")) == 15  # nearest ancestor
    assert document.line(()) == 1


def test_the_loader_parses_each_text_once() -> None:
    text = MINIMAL.replace("Minimal", "Parsed once")
    first = loader.load(text, "a.yaml")
    second = loader.load(text, "b.yaml")
    assert first.value is second.value and first.lines is second.lines
    assert (first.file, second.file) == ("a.yaml", "b.yaml")


@pytest.mark.parametrize(("text", "line", "reason"), [
    ("a: 1\nb: [1\n", 3, "did not find expected ',' or ']'"),
    ("a: 1\nb:\n  c: 1\n  c: 2\n", 4, "duplicate key 'c'"),
    ("a: 1\n? [x]\n: 2\n", 2, "a mapping key must be a scalar"),
])
def test_unreadable_yaml_is_one_problem_with_its_line(text: str, line: int, reason: str) -> None:
    with pytest.raises(loader.LoadError) as caught:
        loader.load(text, "bad.yaml")
    assert str(caught.value).startswith(f"bad.yaml:{line}: not valid YAML: ")
    assert reason in str(caught.value)
    assert [str(p) for p in validate(text, "bad.yaml")] == [f"bad.yaml:{line}: -: not valid YAML: {caught.value.reason}"]


# -- the model ----------------------------------------------------------------------------------------------------
def test_every_model_entry_names_a_source() -> None:
    archy = model.load()
    for flow in archy.flow_types.values():
        assert flow.sources
    for action in archy.actions.values():
        assert action.sources
    assert {"inboundShortMessage", "workflow"} <= set(archy.flow_types)
    for kind in ("updateData", "decision", "switch", "loop", "callData", "callTask", "setParticipantData",
                 "getParticipantData", "sendResponse", "transferToAcd", "disconnect", "endTask", "endWorkflow"):
        assert kind in archy.actions
    for kind in ("stringVariable", "integerVariable", "decimalVariable", "booleanVariable", "jsonVariable", "userVariable",
                 "queueVariable", "dateTimeVariable", "durationVariable", "agentScorePairCollectionVariable"):
        assert kind in archy.variable_kinds
    # What no public export shows is marked, with the reason it is modelled anyway.
    assert set(archy.inferred) == {"flowTypes.inboundShortMessage.errorHandling.queue", "variableKinds.userVariable",
                                   "statementKinds.user"}


@pytest.mark.parametrize(("old", "new", "message"), [
    ("  sendResponse:\n    source: [dude-message, merge-ephemeral, triage-bot]\n", "  sendResponse:\n",
     "actions.sendResponse: has no source"),
    ("source: [resiliency]}\n  integerCollectionVariable", "source: [somewhere]}\n  integerCollectionVariable",
     "unknown source 'somewhere'"),
    ("decimalVariable: {type: Decimal,", "decimalVariable: {type: Decimals,", "unknown Architect type 'Decimals'"),
    ("messageBody: {form: value,", "messageBody: {form: valu,", "unknown form 'valu'"),
])
def test_a_model_entry_without_evidence_is_refused(tmp_path: Path, old: str, new: str, message: str) -> None:
    text = model.CATALOG.read_text()
    assert old in text
    broken = tmp_path / "archy.yaml"
    broken.write_text(text.replace(old, new, 1))
    with pytest.raises(model.ModelError, match=message):
        model.load(broken)


# -- validate -----------------------------------------------------------------------------------------------------
def test_a_minimal_flow_is_clean_and_problems_read_file_line_path_message() -> None:
    assert validate(MINIMAL, "minimal.yaml") == []
    problems = validate(MINIMAL.replace("disconnect:\n              name", "disconect:\n              name"), "m.yaml")
    assert problems == [Problem("m.yaml", 19, "state[Initial State_10]/disconect[Disconnect]",
                                "unknown action kind 'disconect' (did you mean disconnect?)")]
    assert str(problems[0]) == ("m.yaml:19: state[Initial State_10]/disconect[Disconnect]: unknown action kind "
                                "'disconect' (did you mean disconnect?)")


@pytest.mark.parametrize(("text", "message"), [
    ("", "the document must be one flow"),
    ("- a\n- b\n", "the document must be one flow"),
    ("inboundShortMessage: 3\n", "the flow must be a mapping, got integer 3"),
    ("inboundShortMessage: {}\nworkflow: {}\n", "the document must be one flow"),
])
def test_documents_that_are_not_one_flow(text: str, message: str) -> None:
    assert any(message in p.message for p in validate(text, "x.yaml"))


def test_the_channel_decides_which_message_builtins_exist() -> None:
    flow = MINIMAL.replace("""          - disconnect:""", """          - decision:
              name: Authenticated?
              condition:
                exp: Message.IsAuthenticated
              outputs:
                "yes":
                  actions:
                    - disconnect:
                        name: Bye
          - disconnect:""")
    assert validate(flow, "web.yaml", channel="webmessaging") == []
    assert any("Message.IsAuthenticated" in p.message for p in validate(flow, "sms.yaml", channel="sms"))


def test_expression_checks_are_cached_across_renders() -> None:
    validator._check_expression.cache_clear()
    flow = MINIMAL.replace("""          - disconnect:""", """          - sendResponse:
              name: Hi
              messageBody:
                exp: Append("a", "b")
          - disconnect:""")
    validate(flow, "a.yaml")
    validate(flow.replace("Minimal", "Another prefix"), "b.yaml")
    info = validator._check_expression.cache_info()
    assert (info.misses, info.hits) == (1, 1)


# -- the project's flows: one parse per render, policies apart ----------------------------------------------------
def test_the_stack_checks_parse_each_render_once(settings: StackSettings) -> None:
    flows = render(settings.__class__(**{**settings.__dict__, "name_prefix": "parse-once"}), load_catalog(), load_all())
    before = loader._parse.cache_info().misses
    problems = check.check_rendered(flows, actions=load_all(), category="parse-once Identity Stitching",
                                    catalog=load_catalog(), queues=(settings.queues.web, settings.queues.sms))
    calls = [check.data_action_calls(f.text) for f in flows]
    assert problems == []
    assert loader._parse.cache_info().misses - before == len(flows)
    assert ("parse-once Identity Stitching", "Stitch Identity") in calls[0]


def test_policy_problems_are_reported_apart(settings: StackSettings) -> None:
    flows = render(settings, load_catalog(), load_all())
    web = next(f for f in flows if f.spec.output == "web-messaging.yaml")
    problems = check.check_flow("web-messaging.yaml", web.text.replace(f'name: "{settings.queues.web}"', 'name: "Elsewhere"'),
                                actions=load_all(), category=settings.name("Identity Stitching"), catalog=load_catalog(),
                                queues=(settings.queues.web, settings.queues.sms))
    assert [p.kind for p in problems] == ["policy", "policy"]  # the error queue and the transfer
    assert "errors go to queue 'Elsewhere'" in problems[0].message
    assert "transfers to queue 'Elsewhere'" in problems[1].message
    with pytest.raises(check.FlowCheckError) as caught:
        check.require_valid([*problems, Problem("x.yaml", 3, "state[A]", "an Archy problem")])
    assert str(caught.value).splitlines() == [
        "rendered flows failed their checks:", "Archy conformance:", "  x.yaml:3: state[A]: an Archy problem",
        "project policies:", f"  {problems[0]}", f"  {problems[1]}"]


# -- the commands -------------------------------------------------------------------------------------------------
def test_flow_validate_exit_codes(settings: StackSettings, tmp_path: Path) -> None:
    files = []
    for flow in render(settings, load_catalog(), load_all()):
        path = tmp_path / flow.spec.output
        path.write_text(flow.text)
        files.append(str(path))
    clean = cli("validate", *files)
    assert (clean.returncode, clean.stdout, clean.stderr) == (0, "", "")
    with_policies = cli("validate", "--stack", "dev", *files)
    assert (with_policies.returncode, with_policies.stdout) == (0, "")

    sms = tmp_path / "sms.yaml"
    sms.write_text(sms.read_text().replace("lit:\n                  seconds:", "lit:\n                  secs:", 1)
                   .replace(f'name: "{settings.queues.sms}"', 'name: "Elsewhere"'))
    broken = cli("validate", "--stack", "dev", *files)
    assert broken.returncode == 1
    lines = broken.stdout.splitlines()
    assert lines[0].startswith(f"{sms}:") and "a Duration has no unit 'secs'" in lines[0]
    assert all(": policy: " in line for line in lines[1:]) and any("'Elsewhere'" in line for line in lines[1:])
    assert all(": policy: " not in line for line in cli("validate", *files).stdout.splitlines())

    no_contracts = cli("validate", "--actions", str(tmp_path / "no-such-folder"), *files)
    assert no_contracts.returncode == 2
    assert no_contracts.stdout.startswith(f"{tmp_path / 'no-such-folder'}: no data action definitions there")

    missing = cli("validate", str(tmp_path / "nope.yaml"), *files)
    assert missing.returncode == 2
    assert missing.stdout.splitlines()[0] == f"{tmp_path / 'nope.yaml'}: cannot be read: No such file or directory"


def test_flow_bench_prints_the_validate_time() -> None:
    done = cli("bench", "--runs", "3", "--flow-runs", "0")  # the flow-run half: tests/architect/test_executor_cli.py
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("validate 3 flows of stack 'dev' (web-messaging.yaml, sms.yaml, outcome-workflow.yaml;")
    assert "cold (parse + every expression type-checked): median" in lines[1]
    assert "warm" in lines[2]


def test_any_shape_of_input_gives_problems_never_a_crash(settings: StackSettings) -> None:
    """Random damage to the renders (values of every type in every place, keys dropped, items inserted)."""
    import copy
    import random

    flows = {f.spec.output: yaml.safe_load(f.text) for f in render(settings, load_catalog(), load_all())}
    values = [None, 0, -1, 1.5, True, "", "x", "Flow.x", [], {}, [1, "a"], {"lit": None}, {"exp": 3}, {"a": {"b": []}},
              {True: 1}, {"noValue": "yes"}, {"lit": {"name": ["q"]}}]

    def places(node: object, path: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        found = [path] if path else []
        children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
        for key, value in children:
            found += places(value, (*path, key))
        return found

    rng = random.Random(20261122)
    actions, attributes = load_all(), load_catalog()
    for _ in range(400):
        file = rng.choice(sorted(flows))
        document = copy.deepcopy(flows[file])
        for _ in range(rng.randint(1, 3)):
            spots = places(document)
            if not spots:
                break
            *parents, last = rng.choice(spots)
            parent: object = document
            for key in parents:
                parent = parent[key]  # type: ignore[index]
            if isinstance(parent, dict) and rng.random() < 0.3:
                del parent[last]
            else:
                parent[last] = copy.deepcopy(rng.choice(values))  # type: ignore[index]
        text = yaml.dump(document, Dumper=yaml.CSafeDumper, sort_keys=False)
        problems = check.check_flow(file, text, actions=actions, category=settings.name("Identity Stitching"),
                                    catalog=attributes, queues=(settings.queues.web, settings.queues.sms))
        assert all(isinstance(p, Problem) and p.line >= 1 for p in problems)
