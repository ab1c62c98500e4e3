"""Google accounts: OAuth logins, credential files and refreshing access tokens.

    login.py        installed-app login (PKCE, loopback redirect or pasted URL), gcloud ADC
    credential.py   google-auth credentials from stored JSON; `GoogleCredential`, which
                    refreshes access tokens before they expire, once per account
    transport.py    the stdlib HTTP transport google-auth refreshes through

Nothing here logs or returns token material except `GoogleCredential.token()`.
"""

CLOUD_PLATFORM = "https://www.googleapis.com/auth/cloud-platform"
