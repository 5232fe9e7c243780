"""A Volley scenario in Python: one GET of TARGET_URL per iteration, checked.

Build it with ./build.sh (writes scenario.wasm), then run it:

    volley run scenario.wasm --vus 10 --duration 30s --env TARGET_URL=http://127.0.0.1:8080
"""

from volley import Fail, check, env, export, http, sleep


def options():
    # Default load options (k6-style), used where the command line gives none.
    return {"vus": 1, "duration": "10s", "thresholds": {"checks": ["rate>0.99"]}}


def iteration(exec):
    # One iteration; the runner calls it over and over on every VU.
    url = env("TARGET_URL")
    if url is None:
        raise Fail("TARGET_URL is not set: pass --env TARGET_URL=http://host:port/")

    response = http.get(url, name="GET /")
    check("status is 200", response.status == 200)

    sleep(0.5)  # think time, in seconds


# componentize-py exports the class named WitWorld: this one calls the functions above.
WitWorld = export(globals())
