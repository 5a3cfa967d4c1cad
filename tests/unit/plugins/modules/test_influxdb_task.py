"""influxdb_task against the InfluxDB 2 API double (tools/influxdb2_double; a double because InfluxDB 2.x cannot run
on this machine): check mode, create with a dedicated task token, idempotent re-run without a write request (and
without cancelling scheduled runs), changes of every/offset/flux/status/description sent as one PATCH of only the
changed fields, diff as text, delete, two tasks of one name, the failed-run warning when the token the task was
created with is gone, bad input refused before any request, API errors (401, 404, 400 invalid options) named with
the task and the HTTP status, never with the token.

The expected scripts are written out by hand; the double stores what it is sent, and rewrites the ``option task``
line on every PATCH in its own quoting (as the server does), which the idempotence tests rely on.

Mutations tried (each made a test here fail, then was restored):
- ``same`` comparing the raw script text instead of the option record + normalised rest:
  ``test_reformatted_flux_is_no_change``.
- ``update`` sending every key of the wanted state instead of the changes: ``test_status_change_patches_only_status``.
- ``read`` without the duplicate check: ``test_two_tasks_of_one_name_fail_naming_both_ids``; without the
  exact-name filter: ``test_a_server_ignoring_the_name_filter_still_finds_the_right_task``.
- ``predict`` keeping the old every/offset next to the new schedule:
  ``test_check_mode_predicts_the_new_schedule_without_the_old_keys``.
- ``same`` comparing the whole normalised script as text (option record included):
  ``test_the_same_options_written_another_way_are_no_change``.
- the created-but-unreadable check removed: ``test_a_token_that_cannot_read_tasks_fails_after_create_naming_the_fix``.
- ``run`` without naming the task in API errors: ``test_a_wrong_token_is_401_named_with_the_task``.
- the empty-flux check removed: ``test_bad_input_fails_before_any_request[empty flux]``; the cron check removed:
  ``[bad cron]``.
- the failed-run warning removed: ``test_a_deleted_task_token_shows_the_failed_run_warning``.
- the option-line-in-flux check removed: ``test_bad_input_fails_before_any_request[option line]``.
- the every/cron exclusivity check removed: ``test_bad_input_fails_before_any_request[both]`` (and ``[neither]``
  with the missing-schedule check removed).
- the zero-every check removed: ``test_bad_input_fails_before_any_request[zero every]``.
- ``exit`` without the text diff (dicts): ``test_diff_shows_the_flux_as_text``.
- ``create`` without ``status``: ``test_create_inactive``.
"""

import json

import pytest

from ansible_collections.sensingcam.ming.plugins.modules import influxdb_task

OPERATOR = "operator-token-for-the-task-tests-0123456789"
BODY = ('from(bucket: "machine_events")\n'
        '  |> range(start: -task.every)\n'
        '  |> filter(fn: (r) => r._measurement == "machine_event")\n'
        '  |> aggregateWindow(every: 1h, fn: count, createEmpty: false)\n'
        '  |> to(bucket: "machine_events_1h")\n')
SCRIPT = 'option task = {name: "machine_events_1h", every: 1h, offset: 5m}\n\n' + BODY


@pytest.fixture
def server(influxdb2_double):
    influxdb2_double.onboard(token=OPERATOR)
    state = influxdb2_double.state
    org = next(o for o in state.orgs.values() if o["name"] == "ming")
    target = state.add_bucket(org["id"], "machine_events_1h", 730 * 86400)
    source = next(b for b in state.buckets.values() if b["name"] == "machine_events")
    user = next(iter(state.users))
    # the dedicated task token: read the org, manage tasks, read the raw bucket, write the hourly bucket
    permissions = [
        {"action": "read", "resource": {"type": "orgs", "id": org["id"]}},
        {"action": "read", "resource": {"type": "tasks", "orgID": org["id"]}},
        {"action": "write", "resource": {"type": "tasks", "orgID": org["id"]}},
        {"action": "read", "resource": {"type": "buckets", "orgID": org["id"], "id": source["id"]}},
        {"action": "write", "resource": {"type": "buckets", "orgID": org["id"], "id": target["id"]}},
    ]
    auth, token = state.add_authorization(org["id"], user, permissions, description="task token")
    influxdb2_double.task_token = token
    influxdb2_double.task_auth_id = auth["id"]
    return influxdb2_double


def args(server, **extra):
    base = {"host": server.host, "port": server.port, "token": server.task_token, "org": "ming",
            "name": "machine_events_1h", "every": "1h", "offset": "5m", "flux": BODY, "retries": 0}
    base.update(extra)
    return base


def tasks_named(server, name="machine_events_1h"):
    return [task for task in server.state.tasks.values() if task["name"] == name]


def patches(server):
    return [body for method, _path, _query, body in server.writes() if method == "PATCH"]


def test_check_mode_creates_nothing(run_module, server):
    failed, result = run_module(influxdb_task.main, args(server), check_mode=True)
    assert not failed, result
    assert result["changed"] is True
    assert result["task"]["flux"] == SCRIPT
    assert result["task"]["every"] == "1h" and result["task"]["offset"] == "5m"
    assert "id" not in result["task"] or result["task"]["id"] is None
    assert server.writes() == []
    assert tasks_named(server) == []


def test_create_then_idempotent_rerun_sends_no_write(run_module, server):
    failed, result = run_module(influxdb_task.main, args(server, description="hourly counts"))
    assert not failed, result
    assert result["changed"] is True
    [task] = tasks_named(server)
    assert task["flux"] == SCRIPT
    assert task["status"] == "active"
    assert task["every"] == "1h" and task["offset"] == "5m"
    assert task["authorizationID"] == server.task_auth_id, "created with the task token"
    [(method, path, query, body)] = server.writes()
    assert (method, path) == ("POST", "/api/v2/tasks")
    assert body == {"orgID": task["orgID"], "flux": SCRIPT, "status": "active", "description": "hourly counts"}
    assert result["task"] == {"id": task["id"], "name": "machine_events_1h", "every": "1h", "offset": "5m",
                              "status": "active", "description": "hourly counts", "flux": SCRIPT}

    before = len(server.requests)
    failed, result = run_module(influxdb_task.main, args(server, description="hourly counts"))
    assert not failed and result["changed"] is False, result
    assert all(request[0] == "GET" for request in server.requests[before:])
    assert len(server.writes()) == 1
    assert server.state.scheduled_run_cancellations.get(task["id"], 0) == 0
    assert result["warnings"] == []


def test_reformatted_flux_is_no_change(run_module, server):
    assert not run_module(influxdb_task.main, args(server))[0]
    messy = ('\r\n\r\nfrom(bucket: "machine_events")  \r\n\r\n\r\n'
             '  |> range(start: -task.every)\t\r\n'
             '  |> filter(fn: (r) => r._measurement == "machine_event")\r\n'
             '  |> aggregateWindow(every: 1h, fn: count, createEmpty: false)   \r\n\r\n'
             '  |> to(bucket: "machine_events_1h")\n\n\n')
    failed, result = run_module(influxdb_task.main, args(server, flux=messy))
    assert not failed and result["changed"] is False, result
    assert len(server.writes()) == 1


def test_the_same_options_written_another_way_are_no_change(run_module, server):
    """Someone saved the task from InfluxDB's UI: the option record on several lines, a trailing comma, a comment."""
    assert not run_module(influxdb_task.main, args(server))[0]
    [task] = tasks_named(server)
    task["flux"] = ('option task = {\n    name: "machine_events_1h", // hourly\n    every: 1h,\n    offset: 5m,\n}\n'
                    + BODY)
    failed, result = run_module(influxdb_task.main, args(server))
    assert not failed and result["changed"] is False, result
    assert len(server.writes()) == 1


def test_another_option_in_the_record_is_a_change(run_module, server):
    assert not run_module(influxdb_task.main, args(server))[0]
    [task] = tasks_named(server)
    task["flux"] = task["flux"].replace("offset: 5m}", "offset: 5m, concurrency: 2}")
    failed, result = run_module(influxdb_task.main, args(server))
    assert not failed and result["changed"] is True, result
    assert patches(server) == [{"flux": SCRIPT}]


def test_a_changed_comment_or_string_is_a_change(run_module, server):
    assert not run_module(influxdb_task.main, args(server))[0]
    changed_string = BODY.replace('"machine_event"', '"machine_event "')
    failed, result = run_module(influxdb_task.main, args(server, flux=changed_string))
    assert not failed and result["changed"] is True, result
    assert patches(server)[-1].keys() == {"flux"}


@pytest.mark.parametrize("change, line", [
    ({"every": "30m"}, 'option task = {name: "machine_events_1h", every: 30m, offset: 5m}'),
    ({"offset": "10m"}, 'option task = {name: "machine_events_1h", every: 1h, offset: 10m}'),
    ({"offset": None}, 'option task = {name: "machine_events_1h", every: 1h}'),
    ({"every": None, "cron": "5 * * * *"}, 'option task = {name: "machine_events_1h", cron: "5 * * * *", offset: 5m}'),
])
def test_schedule_changes_patch_only_the_flux(run_module, server, change, line):
    assert not run_module(influxdb_task.main, args(server))[0]
    [task] = tasks_named(server)
    failed, result = run_module(influxdb_task.main, args(server, **change))
    assert not failed and result["changed"] is True, result
    [patch] = patches(server)
    assert patch == {"flux": line + "\n\n" + BODY}, "only flux, never every/offset on their own"
    assert task["flux"].split("\n", 1)[0] == line
    assert server.state.scheduled_run_cancellations[task["id"]] == 1
    failed, result = run_module(influxdb_task.main, args(server, **change))
    assert not failed and result["changed"] is False, result
    assert len(patches(server)) == 1


def test_the_servers_own_option_line_is_no_change(run_module, server):
    """The server writes the option line back in its own quoting after a PATCH; read key by key, it is the same."""
    name = 'line 1 "hourly" counts'
    assert not run_module(influxdb_task.main, args(server, name=name))[0]
    assert not run_module(influxdb_task.main, args(server, name=name, every="2h"))[0]
    [task] = tasks_named(server, name)
    assert task["flux"].startswith(f'option task = {{name: {json.dumps(name)}, every: 2h, offset: 5m}}')
    writes = len(server.writes())
    failed, result = run_module(influxdb_task.main, args(server, name=name, every="2h"))
    assert not failed and result["changed"] is False, result
    assert len(server.writes()) == writes


def test_flux_change_patches_the_script(run_module, server):
    assert not run_module(influxdb_task.main, args(server))[0]
    new_body = BODY.replace("fn: count", "fn: sum")
    failed, result = run_module(influxdb_task.main, args(server, flux=new_body))
    assert not failed and result["changed"] is True, result
    [task] = tasks_named(server)
    assert "fn: sum" in task["flux"]
    assert patches(server) == [{"flux": SCRIPT.replace("fn: count", "fn: sum")}]


def test_status_change_patches_only_status(run_module, server):
    assert not run_module(influxdb_task.main, args(server, description="d"))[0]
    failed, result = run_module(influxdb_task.main, args(server, status="inactive"))
    assert not failed and result["changed"] is True, result
    assert patches(server) == [{"status": "inactive"}]
    assert tasks_named(server)[0]["status"] == "inactive"
    assert result["task"]["status"] == "inactive"
    assert result["task"]["description"] == "d", "an unset description is left as it is"


def test_description_change_patches_only_description(run_module, server):
    assert not run_module(influxdb_task.main, args(server))[0]
    failed, result = run_module(influxdb_task.main, args(server, description="hourly counts per line"))
    assert not failed and result["changed"] is True, result
    assert patches(server) == [{"description": "hourly counts per line"}]


def test_create_inactive(run_module, server):
    failed, result = run_module(influxdb_task.main, args(server, status="inactive"))
    assert not failed, result
    assert tasks_named(server)[0]["status"] == "inactive"


def test_check_mode_change_sends_nothing(run_module, server):
    assert not run_module(influxdb_task.main, args(server))[0]
    failed, result = run_module(influxdb_task.main, args(server, every="15m"), check_mode=True)
    assert not failed and result["changed"] is True, result
    assert result["task"]["every"] == "15m"
    assert result["task"]["flux"].startswith('option task = {name: "machine_events_1h", every: 15m, offset: 5m}')
    assert len(server.writes()) == 1
    assert tasks_named(server)[0]["every"] == "1h"


def test_check_mode_predicts_the_new_schedule_without_the_old_keys(run_module, server):
    assert not run_module(influxdb_task.main, args(server))[0]
    failed, result = run_module(influxdb_task.main, args(server, every=None, cron="5 * * * *", offset=None),
                                check_mode=True)
    assert not failed and result["changed"] is True, result
    assert result["task"]["cron"] == "5 * * * *"
    assert "every" not in result["task"] and "offset" not in result["task"]
    assert len(server.writes()) == 1


def test_a_server_ignoring_the_name_filter_still_finds_the_right_task(run_module, server, monkeypatch):
    """Only tasks whose name is exactly `name` count, whatever else a list answer holds."""
    from influxdb2_double.server import Api

    assert not run_module(influxdb_task.main, args(server, name="machine_events_1d", every="1d"))[0]
    original = Api.get_tasks

    def unfiltered(state, auth, match, query, body):
        return original(state, auth, match, {k: v for k, v in query.items() if k != "name"}, body)

    monkeypatch.setattr(Api, "get_tasks", staticmethod(unfiltered))
    failed, result = run_module(influxdb_task.main, args(server))
    assert not failed and result["changed"] is True, result
    assert [method for method, *_rest in server.writes()] == ["POST", "POST"]
    assert len(tasks_named(server, "machine_events_1d")) == 1


def test_diff_shows_the_flux_as_text(run_module, server):
    assert not run_module(influxdb_task.main, args(server))[0]
    failed, result = run_module(influxdb_task.main, args(server, every="30m"), diff=True)
    assert not failed, result
    diff = result["diff"]
    assert diff["before"] == "status: active\ndescription: \n\n" + SCRIPT
    changed_script = SCRIPT.replace("every: 1h, offset", "every: 30m, offset")
    assert diff["after"] == "status: active\ndescription: \n\n" + changed_script
    assert diff["before_header"] == "task 'machine_events_1h' (InfluxDB)"


def test_diff_of_a_new_task_starts_empty(run_module, server):
    failed, result = run_module(influxdb_task.main, args(server), check_mode=True, diff=True)
    assert not failed, result
    assert result["diff"]["before"] == ""
    assert result["diff"]["after"].endswith(SCRIPT)


def test_absent_deletes_then_is_no_change(run_module, server):
    assert not run_module(influxdb_task.main, args(server))[0]
    [task] = tasks_named(server)
    failed, result = run_module(influxdb_task.main, args(server, state="absent"), check_mode=True)
    assert not failed and result["changed"] is True, result
    assert len(server.writes()) == 1
    failed, result = run_module(influxdb_task.main, {"host": server.host, "port": server.port, "token": OPERATOR,
                                                     "org": "ming", "name": "machine_events_1h", "state": "absent"})
    assert not failed and result["changed"] is True, result
    assert result["task"] == {}
    assert server.writes()[-1][:2] == ("DELETE", f"/api/v2/tasks/{task['id']}")
    assert tasks_named(server) == []
    writes = len(server.writes())
    failed, result = run_module(influxdb_task.main, args(server, state="absent"))
    assert not failed and result["changed"] is False, result
    assert len(server.writes()) == writes


def test_two_tasks_of_one_name_fail_naming_both_ids(run_module, server):
    assert not run_module(influxdb_task.main, args(server))[0]
    [first] = tasks_named(server)
    second = dict(first, id=server.state.new_id())
    server.state.tasks[second["id"]] = second
    other = dict(first, id=server.state.new_id(), name="machine_events_1d")
    server.state.tasks[other["id"]] = other
    writes = len(server.writes())
    for state in ("present", "absent"):
        failed, result = run_module(influxdb_task.main, args(server, every="2h", state=state))
        assert failed, result
        assert "2 tasks named 'machine_events_1h'" in result["msg"]
        assert first["id"] in result["msg"] and second["id"] in result["msg"]
        assert other["id"] not in result["msg"]
    assert len(server.writes()) == writes


def test_a_deleted_task_token_shows_the_failed_run_warning(run_module, server):
    """A task runs with the authorization it was created with; once that token is deleted, every run fails."""
    assert not run_module(influxdb_task.main, args(server))[0]
    [task] = tasks_named(server)
    assert server.state.run_task(task["id"])["lastRunStatus"] == "success"
    server.state.delete_authorization(server.task_auth_id)
    assert server.state.run_task(task["id"])["lastRunStatus"] == "failed"
    failed, result = run_module(influxdb_task.main, args(server, token=OPERATOR))
    assert not failed and result["changed"] is False, result
    [warning] = result["warnings"]
    assert warning.startswith(f"The last run of task 'machine_events_1h' (ID {task['id']}) failed: could not find "
                              f"authorization with ID {server.task_auth_id}.")
    assert "check the token the task was created with" in warning
    assert OPERATOR not in warning and server.task_token not in warning


def test_a_read_only_token_makes_runs_fail_and_warn(run_module, server):
    state = server.state
    org = next(iter(state.orgs.values()))
    readonly = [{"action": "read", "resource": {"type": "orgs", "id": org["id"]}},
                {"action": "read", "resource": {"type": "tasks", "orgID": org["id"]}},
                {"action": "write", "resource": {"type": "tasks", "orgID": org["id"]}},
                {"action": "read", "resource": {"type": "buckets", "orgID": org["id"]}}]
    user = next(iter(state.users))
    _auth, token = state.add_authorization(org["id"], user, readonly, description="read-only")
    assert not run_module(influxdb_task.main, args(server, token=token))[0]
    [task] = tasks_named(server)
    state.run_task(task["id"])
    failed, result = run_module(influxdb_task.main, args(server, token=token))
    assert not failed and result["changed"] is False, result
    [warning] = result["warnings"]
    assert f"write:orgs/{org['id']}/buckets/" in warning and "is unauthorized" in warning


BAD_INPUT = [
    ("neither", {"every": None}, "Task 'machine_events_1h' has no schedule: set exactly one of every and cron"),
    ("both", {"cron": "5 * * * *"}, "sets both every (1h) and cron (5 * * * *)"),
    ("bad every", {"every": "1 hour"}, "every='1 hour' is not a Flux duration literal"),
    ("unordered every", {"every": "30m1h"}, "every='30m1h': Flux wants larger units first"),
    ("zero every", {"every": "0s"}, "every='0s' for task 'machine_events_1h' would never run"),
    ("bad offset", {"offset": "5"}, "offset='5' is not a Flux duration literal"),
    ("bad cron", {"every": None, "cron": "hourly"}, "cron='hourly' for task 'machine_events_1h' is not a cron"),
    ("empty flux", {"flux": " \n\n "}, "flux is empty for task 'machine_events_1h'"),
    ("no flux", {"flux": None}, "flux is empty for task 'machine_events_1h'"),
    ("option line", {"flux": 'option task = {name: "x", every: 1h}\n' + BODY},
     "flux of task 'machine_events_1h' holds an `option task = {...}` statement; remove it"),
    ("empty name", {"name": " "}, "name is empty"),
]


@pytest.mark.parametrize("change, words", [case[1:] for case in BAD_INPUT], ids=[case[0] for case in BAD_INPUT])
def test_bad_input_fails_before_any_request(run_module, server, change, words):
    failed, result = run_module(influxdb_task.main, args(server, **change))
    assert failed, result
    assert words in result["msg"]
    assert server.requests == []


def test_a_wrong_token_is_401_named_with_the_task(run_module, server):
    wrong = "not-a-token-of-this-influxdb-0123456789"
    failed, result = run_module(influxdb_task.main, args(server, token=wrong))
    assert failed, result
    assert result["msg"].startswith("Cannot manage the task 'machine_events_1h': InfluxDB at ")
    assert "HTTP 401" in result["msg"] and "Check `token`" in result["msg"]
    assert wrong not in json.dumps(result)


def test_a_token_that_cannot_read_tasks_fails_after_create_naming_the_fix(run_module, server):
    """The double leaves tasks a token may not read out of the list; such a token would create a task on every run."""
    state = server.state
    org = next(iter(state.orgs.values()))
    user = next(iter(state.users))
    perms = [{"action": "read", "resource": {"type": "orgs", "id": org["id"]}},
             {"action": "write", "resource": {"type": "tasks", "orgID": org["id"]}}]
    _auth, token = state.add_authorization(org["id"], user, perms)
    failed, result = run_module(influxdb_task.main, args(server, token=token))
    assert failed, result
    [task] = tasks_named(server)
    assert result["msg"].startswith(f"InfluxDB created the task 'machine_events_1h' (ID {task['id']}) but the token "
                                    "in `token` cannot read it back")
    assert "read permission on the tasks of organization ming" in result["msg"]
    assert token not in json.dumps(result)


def test_a_task_deleted_meanwhile_is_404_named(run_module, server, monkeypatch):
    assert not run_module(influxdb_task.main, args(server))[0]
    [task] = tasks_named(server)

    def deleted_by_someone_else(self, changes, current):
        del server.state.tasks[task["id"]]

    monkeypatch.setattr(influxdb_task.InfluxDBTask, "check_change", deleted_by_someone_else)
    failed, result = run_module(influxdb_task.main, args(server, every="2h"))
    assert failed, result
    assert "HTTP 404" in result["msg"]
    assert "while trying to change a task (task 'machine_events_1h')" in result["msg"]
    assert "task not found" in result["msg"]


def test_an_unknown_org_fails_naming_the_task_and_the_option(run_module, server):
    failed, result = run_module(influxdb_task.main, args(server, org="Ming"))
    assert failed, result
    assert result["msg"].startswith("Cannot manage the task 'machine_events_1h': InfluxDB at ")
    assert "has no organization 'Ming': check `org`" in result["msg"]
    assert server.writes() == []


def test_options_influxdb_refuses_are_400_named(run_module, server):
    """The double accepts cron expressions of 5 or 6 fields; a 7-field one is refused as InfluxDB's own check would
    refuse a schedule it cannot read (400 invalid options)."""
    failed, result = run_module(influxdb_task.main, args(server, every=None, cron="0 5 * * * * 2027"))
    assert failed, result
    assert "the request to create a task (task 'machine_events_1h') as invalid (HTTP 400)" in result["msg"]
    assert "HTTP 400" in result["msg"]
    assert "invalid options" in result["msg"]
    assert server.task_token not in json.dumps(result)
