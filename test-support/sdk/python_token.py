"""A pod's application using azure-identity's ManagedIdentityCredential, as it would on a VM.

Prints one JSON line: {"ok": true, "token": ..., "expiresOn": ...} or {"ok": false, "type": ...,
"message": ...} (the exception the application would see), with "elapsedMs", the time get_token took. The credential finds NMI through
AZURE_POD_IDENTITY_AUTHORITY_HOST; every connection leaves from POD_IP, as a pod's redirected traffic
reaches NMI.
"""

import json
import os
import sys
import time

import urllib3.util.connection

_create_connection = urllib3.util.connection.create_connection


def _from_pod(address, *args, **kwargs):
    kwargs["source_address"] = (os.environ["POD_IP"], 0)
    return _create_connection(address, *args, **kwargs)


urllib3.util.connection.create_connection = _from_pod

from azure.identity import ManagedIdentityCredential  # noqa: E402


def main() -> None:
    scope, client_id = sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None
    credential = ManagedIdentityCredential(client_id=client_id) if client_id else ManagedIdentityCredential()
    started = time.monotonic()
    try:
        token = credential.get_token(scope)
        result = {"ok": True, "token": token.token, "expiresOn": token.expires_on}
    except Exception as error:  # the application's view of a refusal
        result = {"ok": False, "type": type(error).__name__, "message": str(error)}
    result["elapsedMs"] = round((time.monotonic() - started) * 1000)
    print(json.dumps(result))


main()
