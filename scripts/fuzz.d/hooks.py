"""The check the fuzz run makes instead of Schemathesis' own: every answer is
GraphQL (a JSON object with "data" or "errors"), no status is 5xx, and no
error is INTERNAL or lacks extensions.code. Schemathesis' not_a_server_error
counts every GraphQL error as a failure, refusals (FORBIDDEN, BAD_INPUT) too,
which are the API doing its job."""

import json

import schemathesis


@schemathesis.check
def graphql_answer_without_internal_error(ctx, response, case):
    if response.status_code >= 500:
        raise AssertionError(f"HTTP {response.status_code}")
    try:
        body = json.loads(response.content or b"")
    except ValueError:
        raise AssertionError(
            f"not a GraphQL answer (HTTP {response.status_code}): {response.content[:200]!r}"
        )
    if not isinstance(body, dict) or not ("data" in body or "errors" in body):
        raise AssertionError(f"not a GraphQL answer (HTTP {response.status_code}): {body!r:.200}")
    for error in body.get("errors") or []:
        code = ((error or {}).get("extensions") or {}).get("code")
        if code == "INTERNAL":
            raise AssertionError(f"INTERNAL error: {error!r:.300}")
        if code is None:
            raise AssertionError(f"an error without extensions.code: {error!r:.300}")
