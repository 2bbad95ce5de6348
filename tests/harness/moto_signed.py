"""A moto server that checks the SigV4 signature of every request but the three unsigned
ones that make its IAM user (moto's INITIAL_NO_AUTH_ACTION_COUNT), for the test that proves
cruddur's own signed requests are what AWS's signer makes. Prints `URL KEY SECRET` and the
key, secret and session token of a role the user assumed, then serves until its standard
input closes."""

import json
import os
import sys

os.environ["INITIAL_NO_AUTH_ACTION_COUNT"] = "3"

import boto3  # noqa: E402  (moto reads the variable when imported)
from moto.server import ThreadedMotoServer  # noqa: E402

server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
server.start()
host, port = server.get_host_and_port()
url = f"http://{host}:{port}"
iam = boto3.client(
    "iam",
    endpoint_url=url,
    region_name="us-east-1",
    aws_access_key_id="unsigned",
    aws_secret_access_key="unsigned",
)
iam.create_user(UserName="cruddur")
key = iam.create_access_key(UserName="cruddur")["AccessKey"]
everything = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}
iam.put_user_policy(
    UserName="cruddur", PolicyName="everything", PolicyDocument=json.dumps(everything)
)
# A role the user may assume, for credentials with a session token (signed as well).
as_user = {
    "endpoint_url": url,
    "region_name": "us-east-1",
    "aws_access_key_id": key["AccessKeyId"],
    "aws_secret_access_key": key["SecretAccessKey"],
}
anyone = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}],
}
signed_iam = boto3.client("iam", **as_user)
role = signed_iam.create_role(RoleName="cruddur", AssumeRolePolicyDocument=json.dumps(anyone))
signed_iam.put_role_policy(
    RoleName="cruddur", PolicyName="everything", PolicyDocument=json.dumps(everything)
)
session = boto3.client("sts", **as_user).assume_role(
    RoleArn=role["Role"]["Arn"], RoleSessionName="cruddur-test"
)["Credentials"]
print(
    url,
    key["AccessKeyId"],
    key["SecretAccessKey"],
    session["AccessKeyId"],
    session["SecretAccessKey"],
    session["SessionToken"],
    flush=True,
)
sys.stdin.read()
server.stop()
