"""The comparison for `cruddur ddb import` in scripts/bench: the same JSON-lines file (plain
JSON, as `cruddur ddb export` writes it; every value of the app's items is a string) written
back with boto3's batch_writer, line by line, as a Python user would."""

import argparse
import json

import boto3


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--table", required=True)
    parser.add_argument("--file", required=True)
    args = parser.parse_args()
    table = boto3.resource("dynamodb", endpoint_url=args.endpoint).Table(args.table)
    with open(args.file) as lines, table.batch_writer() as writer:
        for line in lines:
            if line.strip():
                writer.put_item(Item=json.loads(line))


if __name__ == "__main__":
    main()
