"""The flow executor runs Archy flows as Genesys does: branches, NOT_SET into error handling, data action paths
(success, failure, timeout) against a live service, preferred agents against a directory, closed world."""

from __future__ import annotations

import secrets
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from genesys_identity.actions.definitions import load_all
from genesys_identity.architect import directory as directories
from genesys_identity.architect import message
from genesys_identity.architect.executor import DataActionService, FlowRunError, run_flow
from genesys_identity.architect.trace import Trace
from stitching import process

SMS_QUEUE = "SMS Support"
AGENT = "6f1a3c2e-0b7d-4e59-a8f2-9c4d1e7b5a30"
OTHER = "0b9d7c55-2f8e-4f0e-9b7a-3d1c2e4f5a60"
CONTEXT = "Get Last Interaction Context"


def flow(actions: list[Any], *, variables: list[Any] | None = None, error_handling: Any = None,
         tasks: list[Any] | None = None, flow_type: str = "inboundShortMessage") -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "test flow",
        "startUpRef": f"/{flow_type}/states/state[Start_10]",
        "settingsErrorHandling": {"errorHandling": error_handling or {"disconnect": {"none": True}}},
        "variables": variables or [],
        "states": [{"state": {"name": "Start", "refId": "Start_10", "actions": actions}}],
    }
    if tasks:
        body["tasks"] = tasks
    return {flow_type: body}


def string_var(name: str) -> dict[str, Any]:
    return {"stringVariable": {"name": name, "initialValue": {"noValue": True}}}


def transfer(name: str = "Transfer", preferred: Any = None) -> dict[str, Any]:
    return {"transferToAcd": {"name": name, "targetQueue": {"lit": {"name": SMS_QUEUE}}, "priority": {"lit": 0},
                              "preferredAgents": preferred or {"noValue": True}, "languageSkill": {"noValue": True},
                              "directAgent": {"noValue": True}}}


def note(value: str) -> dict[str, Any]:
    return {"setParticipantData": {"name": "Note", "attributes": [
        {"attribute": {"name": {"lit": "routingDecision"}, "value": {"lit": value}}}]}}


def sms(body: str = "hello", sender: str = "+12022017788") -> message.InboundMessage:
    start = message.parse({"channel": "sms", "from": sender, "text": body})
    assert isinstance(start, message.InboundMessage)
    return start


DIRECTORY = directories.parse({
    "users": [{"id": AGENT, "name": "Dana Reyes"}, {"id": OTHER, "name": "Sam Ortiz"},
              {"id": "deleted-agent", "name": "Gone", "deleted": True}],
    "queues": [{"name": SMS_QUEUE, "members": [{"userId": AGENT, "onQueue": True}, {"userId": OTHER, "onQueue": False}]}],
})


def run(document: dict[str, Any], start: message.Start | None = None, service: DataActionService | None = None,
        directory: directories.Directory = DIRECTORY) -> Trace:
    return run_flow(document, start or sms(), actions=load_all(), directory=directory, service=service)


# -- branches and values --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("body", "branch"), [("yes", "yes"), ("something else", "no")])
def test_a_decision_takes_the_branch_its_condition_gives(body: str, branch: str) -> None:
    document = flow([
        {"decision": {"name": "Said yes?", "condition": {"exp": 'Message.Message.body == "yes"'},
                      "outputs": {"yes": {"actions": [note("took yes")]}, "no": {"actions": [note("took no")]}}}},
        transfer(),
    ])
    trace = run(document, sms(body))
    assert trace.participant_data == {"routingDecision": f"took {branch}"}
    assert trace.outcome is not None and trace.outcome.kind == "transfer" and trace.outcome.queue == SMS_QUEUE
    assert [s.kind for s in trace.steps] == ["decision", "setParticipantData", "transferToAcd"]


def test_the_sms_sender_arrives_in_the_address_builtins_and_a_guest_has_no_claims() -> None:
    read = [{"updateData": {"name": "Take", "statements": [
        {"string": {"variable": "Flow.a", "value": {"exp": "Message.Message.senderAddress"}}}]}},
        {"setParticipantData": {"name": "Keep", "attributes": [
            {"attribute": {"name": {"lit": "a"}, "value": {"exp": "Flow.a"}}}]}}, transfer()]
    assert run(flow(read, variables=[string_var("Flow.a")])).participant_data == {"a": "+12022017788"}

    guest = message.parse({"channel": "webmessaging", "text": "hi", "database": {"customerPhone": "+12022017788"}})
    web = flow([
        {"getParticipantData": {"name": "Read", "attributes": [
            {"attribute": {"name": {"lit": "Context.customerPhone"}, "variable": "Flow.phone"}}]}},
        {"decision": {"name": "Authenticated?", "condition": {"exp": "Message.IsAuthenticated"},
                      "outputs": {"yes": {"actions": [note("authenticated")]}, "no": {"actions": [note("guest")]}}}},
        {"setParticipantData": {"name": "Keep", "attributes": [
            {"attribute": {"name": {"lit": "phone"}, "value": {"exp": "Flow.phone"}}},
            {"attribute": {"name": {"lit": "sub"}, "value": {"exp": "Message.Message.senderAddressInfo.addressDisplayable"}}},
        ]}},
        transfer(),
    ], variables=[string_var("Flow.phone")])
    trace = run(web, guest)
    assert trace.participant_data == {"routingDecision": "guest", "phone": "+12022017788"}  # sub NOT_SET: not written
    signed_in = message.parse({"channel": "webmessaging", "text": "hi", "authenticated": {"sub": "alice-1001"}})
    assert run(web, signed_in).participant_data["sub"] == "alice-1001"


# -- NOT_SET and error handling --------------------------------------------------------------------------------


def greeting_from(variable: str) -> dict[str, Any]:
    return {"sendResponse": {"name": "Greet", "messageBody": {"exp": f'Append("Hello ", {variable})'}}}


def initial(name: str) -> dict[str, Any]:
    return {"decision": {"name": "Initial A?", "condition": {"exp": f'Left({name}, 1) == "A"'},
                         "outputs": {"yes": {"actions": [note("starts with A")]}, "no": {"actions": [note("other")]}}}}


def named(name: str, value: str | None) -> dict[str, Any]:
    return {"stringVariable": {"name": name, "initialValue": {"lit": value} if value is not None else {"noValue": True}}}


def test_not_set_into_a_function_that_refuses_it_invokes_the_flows_error_handling() -> None:
    # Left's String parameter refuses NOT_SET (help "Using NOT_SET expressions"): the flow's error handling runs
    # and the actions after the failing one do not.
    document = flow([initial("Flow.name"), greeting_from('"there"'), transfer()], variables=[named("Flow.name", None)])
    trace = run(document)
    assert trace.outcome is not None and trace.outcome.kind == "disconnect" and trace.outcome.by_error_handling
    assert "Left" in trace.errors[0] and trace.responses == [] and trace.participant_data == {}

    to_queue = flow([initial("Flow.name"), transfer()], variables=[named("Flow.name", None)],
                    error_handling={"queue": {"targetQueue": {"lit": {"name": SMS_QUEUE}}}})
    trace = run(to_queue)
    assert trace.outcome is not None and trace.outcome.kind == "transfer" and trace.outcome.by_error_handling
    assert trace.outcome.queue == SMS_QUEUE and trace.outcome.preferred_agents == []


def test_a_set_value_does_not_invoke_error_handling() -> None:
    document = flow([initial("Flow.name"), greeting_from('"there"'), transfer()],
                    variables=[named("Flow.name", "Alice")])
    trace = run(document)
    assert trace.responses == ["Hello there"] and trace.errors == [] and trace.participant_data == {
        "routingDecision": "starts with A"}
    assert trace.outcome is not None and not trace.outcome.by_error_handling


def test_an_unknown_action_kind_is_refused_not_skipped() -> None:
    with pytest.raises(FlowRunError, match="action kind 'playAudio' is not modelled"):
        run(flow([{"playAudio": {"name": "Play"}}, transfer()]))
    with pytest.raises(FlowRunError, match="action kind 'callBotFlow'"):
        run(flow([{"callBotFlow": {"name": "Bot"}}, transfer()]))


def test_an_undeclared_variable_stops_the_run() -> None:
    with pytest.raises(FlowRunError, match=r"Flow\.nope"):
        run(flow([greeting_from("Flow.nope"), transfer()]))


def test_a_task_returns_along_its_output_path() -> None:
    task = {"task": {"name": "Decide", "refId": "Decide_11", "outputPaths": [{"outputPath": {"name": "Known"}}],
                     "actions": [note("in task"), {"endTask": {"name": "End", "outputPath": {"name": "Known"}}},
                                 note("never")]}}
    document = flow([{"callTask": {"name": "Call", "targetTaskRef": "/inboundShortMessage/tasks/task[Decide_11]",
                                   "outputs": {"Known": {"actions": [note("known path")]}}}}, transfer()], tasks=[task])
    trace = run(document)
    assert trace.participant_data == {"routingDecision": "known path"}
    assert [s.name for s in trace.steps] == ["Call", "Note", "End", "Note", "Transfer"]


def test_a_workflow_runs_from_its_input_variables_only() -> None:
    document = flow([{"decision": {"name": "Agent known?", "condition": {"exp": "IsSet(Flow.userId)"},
                                   "outputs": {"yes": {"actions": [{"endWorkflow": {"name": "Done",
                                                                                    "exitReason": {"lit": "known"}}}]}}}},
                     {"endWorkflow": {"name": "Nothing", "exitReason": {"noValue": True}}}],
                    variables=[{"stringVariable": {"name": "Flow.userId", "initialValue": {"noValue": True},
                                                   "isInput": True}}],
                    error_handling={"endWorkflow": {"none": True}}, flow_type="workflow")
    trace = run(document, message.parse({"workflow": {"Flow.userId": AGENT}}))
    assert trace.outcome is not None and trace.outcome.kind == "end" and "known" in trace.outcome.reason
    assert "Nothing" in run(document, message.parse({"workflow": {}})).outcome.reason  # type: ignore[union-attr]
    with pytest.raises(FlowRunError, match=r"Flow\.agent is not an input variable"):
        run(document, message.parse({"workflow": {"Flow.agent": AGENT}}))
    with pytest.raises(FlowRunError, match="started with its input variables"):
        run(document, sms())


# -- preferred agents -----------------------------------------------------------------------------------------


PREFERRED = {"exp": "MakeList(MakeAgentScorePair(FindUserById(Flow.agent), 100))"}


def preferring(agent_id: str) -> dict[str, Any]:
    return flow([{"updateData": {"name": "Agent", "statements": [
        {"string": {"variable": "Flow.agent", "value": {"lit": agent_id}}}]}}, transfer(preferred=PREFERRED)],
        variables=[string_var("Flow.agent")], error_handling={"queue": {"targetQueue": {"lit": {"name": SMS_QUEUE}}}})


def test_a_preferred_agent_is_used_only_when_a_member_of_the_queue_and_on_queue() -> None:
    used = run(preferring(AGENT)).outcome
    assert used is not None and used.routed_to_agent == "Dana Reyes" and not used.by_error_handling

    off_queue = run(preferring(OTHER)).outcome
    assert off_queue is not None and off_queue.routed_to_agent is None and off_queue.queue == SMS_QUEUE
    assert "not on queue" in off_queue.reason and "normal queue routing" in off_queue.reason

    not_member = directories.parse({"users": [{"id": AGENT, "name": "Dana Reyes"}], "queues": [{"name": SMS_QUEUE}]})
    outsider = run(preferring(AGENT), directory=not_member).outcome
    assert outsider is not None and outsider.routed_to_agent is None and "not a member" in outsider.reason


def test_a_deleted_last_agent_is_not_found_and_the_flow_error_handling_decides() -> None:
    # FindUserById of a deleted user is NOT_SET; MakeAgentScorePair refuses NOT_SET -> error handling (a queue here).
    outcome = run(preferring("deleted-agent")).outcome
    assert outcome is not None and outcome.kind == "transfer" and outcome.by_error_handling
    assert outcome.routed_to_agent is None


def test_a_directory_file_with_a_wrong_shape_is_refused_in_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "directory.json"
    bad.write_text('{"users": [{"id": "a"}], "queues": []}')
    with pytest.raises(directories.DirectoryError, match=r"directory.json: users\[0\]: missing 'name'"):
        directories.load(bad)
    bad.write_text('{"users": [], "queues": [{"name": "Q", "members": [{"userId": "ghost"}]}]}')
    with pytest.raises(directories.DirectoryError, match="userId 'ghost' is not in users"):
        directories.load(bad)


@pytest.mark.parametrize(("document", "error"), [
    ({"channel": "fax"}, "channel must be one of sms, webmessaging"),
    ({"channel": "sms", "text": "hi"}, "from is missing"),
    ({"channel": "webmessaging", "authenticated": {"email": "a@example.com"}}, "authenticated.sub"),
    ({"channel": "webmessaging", "database": {"tier": 3}}, "database must be an object of string values"),
    ({"channel": "sms", "from": "+12022017788", "colour": "red"}, "unknown field 'colour'"),
])
def test_a_bad_message_file_is_refused_in_one_line(document: dict[str, Any], error: str) -> None:
    with pytest.raises(message.MessageFileError, match=error):
        message.parse(document, "m.json")


# -- data actions against a live service ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DataActionService]:
    folder = tmp_path_factory.mktemp("executor-service")
    token = secrets.token_urlsafe(24)
    service = process.start(f"sqlite:///{folder}/stitching.db", token, folder / "service.log")
    client = httpx.Client()
    try:
        yield DataActionService(service.url, {"token": token}, client)
    finally:
        client.close()
        service.stop()


def context_call(timeout: dict[str, Any], inputs: dict[str, Any] | None = None) -> dict[str, Any]:
    return flow([{"callData": {
        "name": "Ask", "timeout": timeout,
        "category": {"Identity Stitching": {"dataAction": {CONTEXT: {
            "inputs": inputs or {"customerPhone": {"exp": "Message.Message.senderAddress"},
                                 "windowMinutes": {"lit": 120}, "asOf": {"noValue": True}},
            "successOutputs": {"contextReason": {"var": "Flow.reason"}}}}}},
        "outputs": {"success": {"actions": [note("success")]}, "failure": {"actions": [note("failure")]},
                    "timeout": {"actions": [note("timeout")]}}}}, transfer()],
        variables=[string_var("Flow.reason")])


def test_call_data_takes_the_success_path_with_outputs_and_strips_not_set_inputs(live: DataActionService) -> None:
    trace = run(context_call({"lit": {"seconds": 2}}), service=live)
    assert trace.participant_data == {"routingDecision": "success"}
    (call,) = trace.calls
    assert call.status == "success" and call.inputs == {"customerPhone": "+12022017788", "windowMinutes": 120}
    assert call.stripped == ["asOf"] and call.outputs is not None and call.outputs["contextReason"]


def test_a_missing_required_input_fails_the_action_not_the_flow(live: DataActionService) -> None:
    trace = run(context_call({"lit": {"seconds": 2}}, {"customerPhone": {"noValue": True},
                                                        "windowMinutes": {"lit": 120}}), service=live)
    assert trace.participant_data == {"routingDecision": "failure"} and "input contract" in str(trace.calls[0].error)


def test_a_slow_service_takes_the_timeout_path_within_the_flows_timeout(silent_server: str) -> None:
    service = DataActionService(silent_server, {"token": "x" * 24})
    trace = run(context_call({"lit": {"milliseconds": 300}}), service=service)
    assert trace.participant_data == {"routingDecision": "timeout"}
    assert trace.calls[0].status == "timeout" and trace.calls[0].elapsed_ms < 2000


def test_when_the_actions_own_timeout_comes_first_the_failure_path_runs(silent_server: str) -> None:
    # The action's timeoutSeconds (3 s for Get Last Interaction Context) is shorter than the flow's 10 s: Genesys
    # reports the action's timeout as a failure, so the flow's timeout path never runs.
    service = DataActionService(silent_server, {"token": "x" * 24})
    trace = run(context_call({"lit": {"seconds": 10}}), service=service)
    assert trace.participant_data == {"routingDecision": "failure"} and "timed out" in str(trace.calls[0].error)


def test_an_unreachable_service_takes_the_failure_path() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    trace = run(context_call({"lit": {"seconds": 2}}), service=DataActionService(f"http://127.0.0.1:{port}", {"token": "x" * 24}))
    assert trace.participant_data == {"routingDecision": "failure"} and trace.calls[0].status == "failure"


def test_an_unknown_function_stops_the_run_instead_of_invoking_error_handling() -> None:
    document = flow([{"sendResponse": {"name": "Greet", "messageBody": {"exp": 'Shout("hello")'}}}, transfer()],
                    error_handling={"queue": {"targetQueue": {"lit": {"name": SMS_QUEUE}}}})
    with pytest.raises(FlowRunError, match="unknown function Shout"):
        run(document)


def test_a_value_is_converted_into_its_destinations_type_as_architect_does() -> None:
    # A String expression into an Integer variable is compiled ToInt(...) by Architect: "42" -> 42, "abc" is a
    # runtime error (error handling).
    document = flow([{"updateData": {"name": "Count", "statements": [
        {"integer": {"variable": "Flow.count", "value": {"exp": "Message.Message.body"}}}]}}, transfer()],
        variables=[{"integerVariable": {"name": "Flow.count", "initialValue": {"lit": 0}}}])
    trace = run(document, sms("42"))
    assert trace.steps[0].detail == "Flow.count=42" and not trace.errors
    trace = run(document, sms("abc"))
    assert trace.outcome is not None and trace.outcome.by_error_handling and "ToInt" in trace.errors[0]


def test_names_are_case_insensitive_as_in_architect() -> None:
    document = flow([{"updateData": {"name": "Take", "statements": [
        {"string": {"variable": "Flow.a", "value": {"exp": "message.message.BODY"}}}]}}, note("x"), transfer()],
        variables=[string_var("Flow.a")])
    assert run(document, sms("hello")).steps[0].detail == "Flow.a='hello'"


def test_a_not_set_string_converted_into_an_integer_invokes_error_handling() -> None:
    # Architect compiles a String expression into an Integer destination as ToInt(...), which refuses NOT_SET.
    document = flow([{"updateData": {"name": "Count", "statements": [
        {"integer": {"variable": "Flow.count", "value": {"exp": "Flow.text"}}}]}}, transfer()],
        variables=[{"integerVariable": {"name": "Flow.count", "initialValue": {"lit": 0}}}, string_var("Flow.text")])
    trace = run(document)
    assert trace.outcome is not None and trace.outcome.by_error_handling and "ToInt" in trace.errors[0]


def test_a_loop_runs_its_count_with_the_index_and_a_switch_takes_the_first_true_case() -> None:
    document = flow([
        {"loop": {"name": "Three times", "loopCount": {"lit": 3}, "currentIndex": {"var": "Flow.i"},
                  "outputs": {"loop": {"actions": [{"updateData": {"name": "Collect", "statements": [
                      {"string": {"variable": "Flow.s", "value": {"exp": "Append(Flow.s, ToString(Flow.i))"}}}]}}]}}}},
        {"switch": {"name": "Which?", "evaluate": {"firstTrue": {
            "cases": [{"case": {"value": {"exp": 'Flow.s == "9"'}, "actions": [note("nine")]}},
                      {"case": {"value": {"exp": 'Flow.s == "012"'}, "actions": [note("counted")]}},
                      {"case": {"value": {"lit": True}, "actions": [note("too late")]}}],
            "default": {"actions": [note("default")]}}}}},
        transfer()],
        variables=[{"stringVariable": {"name": "Flow.s", "initialValue": {"lit": ""}}},
                   {"integerVariable": {"name": "Flow.i", "initialValue": {"lit": 0}}}])
    trace = run(document)
    assert trace.participant_data == {"routingDecision": "counted"}
    assert [s.detail for s in trace.steps if s.kind in ("loop", "switch")] == ["3 of 3 iterations", "-> case 2"]


def test_the_trace_shows_the_message_builtins_the_run_began_with() -> None:
    signed_in = message.parse({"channel": "webmessaging", "text": "hi", "conversationId": "c-1",
                               "authenticated": {"sub": "alice-1001", "email": "alice@example.com"}})
    trace = run(flow([transfer()]), signed_in)
    assert trace.start["Message.IsAuthenticated"] == "True"
    assert trace.start["Message.Message.senderAddressInfo.addressDisplayable"] == "'alice-1001'"
    assert trace.start["Message.ConversationId"] == "'c-1'" and "Message.Message.senderAddressInfo.name" not in trace.start
    assert "started with: " in trace.text() and trace.to_dict()["start"] == trace.start
