"""Schemathesis hooks for the contract fuzz (tests/fuzz/run.sh)."""
import schemathesis


@schemathesis.check
def server_error_only_as_a_503_problem(ctx, response, case):
    """No 5xx but a 503 problem document (an AWS dependency failed, nothing changed)."""
    status = response.status_code
    if status < 500:
        return
    content_type = ",".join(response.headers.get("content-type", []))
    # Directory sync's routes answer a 503 as a SCIM error document (docs/rules.md rule 22).
    kind = "application/scim+json" if case.path.startswith("/scim/") else "application/problem+json"
    if status != 503 or kind not in content_type:
        raise AssertionError(f"{status} ({content_type or 'no content type'}): only 503 {kind} may be 5xx")
