"""Prints an access token for the local demo admin (or EMAIL PASSWORD given as arguments),
reading the emulator's address and the app client from .local/stack.json."""
import json
import os
import sys

import boto3

here = os.path.dirname(os.path.abspath(__file__))
stack = json.load(open(os.path.join(here, "..", "..", ".local", "stack.json")))
email = sys.argv[1] if len(sys.argv) > 1 else stack["adminEmail"]
password = sys.argv[2] if len(sys.argv) > 2 else stack["adminPassword"]
idp = boto3.client(
    "cognito-idp",
    endpoint_url=stack["awsEndpoint"],
    region_name=stack["region"],
    aws_access_key_id="testing",
    aws_secret_access_key="testing",
)
out = idp.initiate_auth(
    AuthFlow="USER_PASSWORD_AUTH",
    ClientId=stack["userPoolClientId"],
    AuthParameters={"USERNAME": email, "PASSWORD": password},
)
print(out["AuthenticationResult"]["AccessToken"])
