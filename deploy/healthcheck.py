"""Container health check: exit 0 when Mentor's /healthz answers 200, else 1 with the reason.

Standard library only (the slim image has no curl). HEALTH_PORT empty means the endpoint
is turned off, and then there is nothing to check.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request


def main() -> int:
    port = os.environ.get("HEALTH_PORT", "").strip()
    if not port:
        print("health endpoint turned off (HEALTH_PORT is empty)")
        return 0
    url = f"http://127.0.0.1:{port}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=8) as response:
            print(response.read().decode("utf-8", "replace"))
            return 0
    except urllib.error.HTTPError as exc:
        print(f"unhealthy ({exc.code}): {exc.read().decode('utf-8', 'replace')}")
    except OSError as exc:
        print(f"no answer from {url}: {exc}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
