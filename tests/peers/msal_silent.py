#!/usr/bin/env python3
"""The peer figure for `tokens/from_cache`: MSAL for Python's `acquire_token_silent`,
answered from its in-memory cache, against our mock identity platform over HTTPS.

It starts `atrs-test-host mock-idp --tls` (the simulated user approves device codes at
once), signs in once by device code with MSAL, then times N silent calls for the same
account and scopes and prints one JSON line: the median and quartiles in microseconds.

    pip install msal
    cargo build --release -p atrs-test-host
    python3 tests/peers/msal_silent.py target/release/atrs-test-host [N]

No request reaches the mock during the timed calls: the script checks the mock's
request count before and after, and fails if it moved.
"""

import json
import ssl
import statistics
import subprocess
import sys
import time
import urllib.request

TENANT_ID = "4b1a9d2e-7c3f-4e85-9a60-2f1d8c7b5e34"  # mock-idp's defaults::TENANT_ID
CLIENT_ID = "0f4e6c1a-5b2d-4f3e-8a9c-7d6e5f4a3b21"  # defaults::DESKTOP_CLIENT_ID
SCOPES = ["User.Read", "Mail.Send"]


def requests_seen(base_url: str, ca_file: str) -> int:
    context = ssl.create_default_context(cafile=ca_file)
    with urllib.request.urlopen(f"{base_url}/_mock/stats", context=context) as answer:
        stats = json.load(answer)
    return sum(int(n) for n in stats["endpoints"].values())


def main() -> int:
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    host = sys.argv[1]
    calls = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    try:
        import msal
    except ImportError:
        print("msal is not installed: run `pip install msal` first.", file=sys.stderr)
        return 2

    mock = subprocess.Popen(
        [host, "mock-idp", "--tls", "--interval", "1", "--approve-delay-ms", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        started = json.loads(mock.stdout.readline())
        base_url, ca_file = started["base_url"], started["ca_file"]
        import requests

        http = requests.Session()
        http.verify = ca_file  # the mock's own CA, made at its start
        http.trust_env = False  # REQUESTS_CA_BUNDLE would replace it
        app = msal.PublicClientApplication(
            CLIENT_ID,
            authority=f"{base_url}/{TENANT_ID}",
            http_client=http,
            instance_discovery=False,
        )
        flow = app.initiate_device_flow(scopes=SCOPES)
        if "user_code" not in flow:
            raise SystemExit(f"the device flow did not start: {flow}")
        signed_in = app.acquire_token_by_device_flow(flow)
        if "access_token" not in signed_in:
            raise SystemExit(f"the sign-in failed: {signed_in}")
        account = app.get_accounts()[0]
        for _ in range(100):  # warm up
            app.acquire_token_silent(SCOPES, account=account)
        before = requests_seen(base_url, ca_file)
        if before == 0:
            raise SystemExit("the mock counted no request for the sign-in")
        times = []
        for _ in range(calls):
            t0 = time.perf_counter()
            result = app.acquire_token_silent(SCOPES, account=account)
            times.append((time.perf_counter() - t0) * 1e6)
            if not result or "access_token" not in result:
                raise SystemExit(f"a silent call missed the cache: {result}")
        after = requests_seen(base_url, ca_file)
        if after != before:
            raise SystemExit(f"the timed calls made {after - before} request(s)")
        q = statistics.quantiles(times, n=4)
        print(
            json.dumps(
                {
                    "peer": "msal-python",
                    "msal_version": msal.__version__,
                    "python": sys.version.split()[0],
                    "calls": calls,
                    "median_us": round(statistics.median(times), 1),
                    "q1_us": round(q[0], 1),
                    "q3_us": round(q[2], 1),
                }
            )
        )
        return 0
    finally:
        mock.terminate()
        mock.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
