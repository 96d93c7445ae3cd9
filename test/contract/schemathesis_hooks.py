"""Schemathesis hooks for test/contract/schemathesis.test.ts (loaded through SCHEMATHESIS_HOOKS).

A fresh Idempotency-Key for every generated request that carries a valid one. Hypothesis
replays and re-shrinks scenarios against one long-lived API, so a repeated key with a repeated
body would be answered, correctly, with the first response (issue 5): a replayed 201 for a
sequence a later step of the first run deleted, which Schemathesis then reports as "created
resource not found". Keys that break the header's schema are left alone, so their rejection
is still tested; the reuse of a key has tests of its own (test/api/platform.test.ts).
"""

import re
import uuid

import schemathesis

HEADER = "idempotency-key"
VALID_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")


@schemathesis.hook
def map_headers(context, headers):
    if headers and isinstance(headers.get(HEADER), str) and VALID_KEY.match(headers[HEADER]):
        headers[HEADER] = str(uuid.uuid4())
    return headers
