"""The Step Functions API of `cafe-report serve` through boto3, as a Python team's tests
would drive it: `python sfn_boto3.py <endpoint>`, signing with the access key in
AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (made-up ones when unset: loopback takes any).
Exits non-zero (an assertion's traceback) on the first difference from what AWS answers."""

import json
import os
import sys
import time

import boto3
from botocore.config import Config

ROLE = "arn:aws:iam::000000000000:role/boto3-test"
WAIT = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 60, "End": True}}}


def passes(n):
    states = {}
    for i in range(1, n + 1):
        state = {"Type": "Pass", "Result": i, "ResultPath": f"$.s{i}"}
        state.update({"End": True} if i == n else {"Next": f"S{i + 1}"})
        states[f"S{i}"] = state
    return json.dumps({"StartAt": "S1", "States": states})


def raises(code, call, **members):
    try:
        call(**members)
    except Exception as err:  # botocore's ClientError, named by code
        got = getattr(err, "response", {}).get("Error", {}).get("Code")
        assert got == code, f"{call.__name__}: expected {code}, got {got}: {err}"
        return err.response["Error"]["Message"]
    raise AssertionError(f"{call.__name__} did not fail with {code}")


def ended(sfn, arn):
    for _ in range(500):
        described = sfn.describe_execution(executionArn=arn)
        if described["status"] != "RUNNING":
            return described
        time.sleep(0.02)
    raise AssertionError(f"{arn} did not end")


def client(endpoint, access_key_id, secret):
    return boto3.client(
        "stepfunctions",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=access_key_id,
        aws_secret_access_key=secret,
        # StartSyncExecution's `sync-` host prefix names no loopback host.
        config=Config(inject_host_prefix=False),
    )


def main(endpoint):
    access_key_id = os.environ.get("AWS_ACCESS_KEY_ID", "AKIDLOCAL")
    secret = os.environ.get("AWS_SECRET_ACCESS_KEY", "local-secret")
    sfn = client(endpoint, access_key_id, secret)
    machine = sfn.create_state_machine(name="boto3-passes", definition=passes(10), roleArn=ROLE)[
        "stateMachineArn"
    ]
    assert machine == "arn:aws:states:us-east-1:000000000000:stateMachine:boto3-passes", machine
    described = sfn.describe_state_machine(stateMachineArn=machine)
    assert described["status"] == "ACTIVE" and described["type"] == "STANDARD", described
    assert described["creationDate"].year >= 2026, described["creationDate"]

    message = raises("InvalidDefinition", sfn.create_state_machine, name="x", definition="{}", roleArn=ROLE)
    assert message.startswith("Invalid State Machine Definition: '"), message
    raises("StateMachineDoesNotExist", sfn.describe_state_machine, stateMachineArn=machine + "-gone")
    raises("InvalidArn", sfn.describe_state_machine, stateMachineArn="not_a_valid_arn")
    assert sfn.validate_state_machine_definition(definition=passes(2))["result"] == "OK"

    arns = []
    for i in range(3):
        started = sfn.start_execution(stateMachineArn=machine, name=f"run-{i}", input=json.dumps({"i": i}))
        arns.append(started["executionArn"])
    for i, arn in enumerate(arns):
        done = ended(sfn, arn)
        assert done["status"] == "SUCCEEDED", done
        assert json.loads(done["output"])["s10"] == 10 and json.loads(done["output"])["i"] == i
    raises("ExecutionAlreadyExists", sfn.start_execution, stateMachineArn=machine, name="run-0")

    # boto3's paginators follow nextToken.
    events = []
    for page in sfn.get_paginator("get_execution_history").paginate(
        executionArn=arns[0], PaginationConfig={"PageSize": 4}
    ):
        events.extend(page["events"])
    assert [e["id"] for e in events] == list(range(1, 23)), [e["id"] for e in events]
    assert events[0]["type"] == "ExecutionStarted" and events[-1]["type"] == "ExecutionSucceeded"
    names = []
    for page in sfn.get_paginator("list_executions").paginate(
        stateMachineArn=machine, PaginationConfig={"PageSize": 2}
    ):
        names.extend(e["name"] for e in page["executions"])
    assert names == ["run-2", "run-1", "run-0"], names

    waits = sfn.create_state_machine(name="boto3-waits", definition=json.dumps(WAIT), roleArn=ROLE)[
        "stateMachineArn"
    ]
    arn = sfn.start_execution(stateMachineArn=waits)["executionArn"]
    sfn.stop_execution(executionArn=arn, error="Manual", cause="probe")
    done = sfn.describe_execution(executionArn=arn)
    assert (done["status"], done["error"], done["cause"]) == ("ABORTED", "Manual", "probe"), done
    last = sfn.get_execution_history(executionArn=arn, reverseOrder=True, maxResults=1)["events"][0]
    assert last["type"] == "ExecutionAborted", last

    express = sfn.create_state_machine(name="boto3-express", definition=passes(2), roleArn=ROLE, type="EXPRESS")[
        "stateMachineArn"
    ]
    done = sfn.start_sync_execution(stateMachineArn=express, input='{"x": 1}')
    assert done["status"] == "SUCCEEDED" and json.loads(done["output"]) == {"x": 1, "s1": 1, "s2": 2}, done
    sfn.delete_state_machine(stateMachineArn=express)

    sfn.tag_resource(resourceArn=machine, tags=[{"key": "team", "value": "cafe"}])
    assert sfn.list_tags_for_resource(resourceArn=machine)["tags"] == [{"key": "team", "value": "cafe"}]
    listed = [m["name"] for m in sfn.list_state_machines()["stateMachines"]]
    assert listed == ["boto3-passes", "boto3-waits"], listed
    sfn.delete_state_machine(stateMachineArn=waits)
    listed = [m["name"] for m in sfn.list_state_machines()["stateMachines"]]
    assert listed == ["boto3-passes"], listed
    if "AWS_SECRET_ACCESS_KEY" in os.environ:
        # The server checks signatures: botocore's, over the headers it signs, verified
        # above; a wrong secret is refused.
        forged = client(endpoint, access_key_id, secret[::-1])
        message = raises("InvalidSignatureException", forged.list_state_machines)
        assert message.startswith("The request signature we calculated does not match"), message
    print("boto3: every check passed")


if __name__ == "__main__":
    main(sys.argv[1])
