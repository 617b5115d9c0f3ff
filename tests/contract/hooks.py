"""Schemathesis hooks for the contract run against `cargo lambda watch`.

A body that is not UTF-8 never reaches a function under `cargo lambda watch`: the emulator
answers it with its own 500 before building the event. The route functions' own answer to such
bodies (a 400) is tested directly in shared/tests/hardening.rs, so here they are left out.
"""

import schemathesis


@schemathesis.hook
def filter_case(ctx, case):
    body = case.body
    if isinstance(body, (bytes, bytearray)):
        try:
            bytes(body).decode("utf-8")
        except UnicodeDecodeError:
            return False
    return True
