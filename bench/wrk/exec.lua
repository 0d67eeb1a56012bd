-- wrk script: POST a trivial stateless exec to /v1/exec; counts non-200 answers.
wrk.method = "POST"
wrk.path = "/v1/exec"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"code": "1 + 1"}'
