"""The comparison for `cruddur ddb seed` in scripts/bench: the same items (two message-group
items and one message per fixture line, the app's keys and attribute names) written with boto3,
either one PutItem per item (what the old bin/ddb/seed did) or through boto3's batch_writer."""

import argparse
import datetime
import uuid

import boto3


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", choices=["put", "batch"], required=True)
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--table", required=True)
    parser.add_argument("--fixture", required=True)
    parser.add_argument("--group", default="5ae290ed-55d1-47a0-bc6d-fe2bc2700399")
    parser.add_argument("--me", required=True, help="uuid,handle,display name")
    parser.add_argument("--other", required=True, help="uuid,handle,display name")
    parser.add_argument("--now", required=True, help="ISO time of the last message")
    args = parser.parse_args()

    me = dict(zip(["uuid", "handle", "name"], args.me.split(",", 2)))
    other = dict(zip(["uuid", "handle", "name"], args.other.split(",", 2)))
    lines = []
    with open(args.fixture) as fixture:
        for raw in fixture:
            raw = raw.strip()
            if raw.startswith("Person 1:"):
                lines.append((me, raw[len("Person 1:"):].strip()))
            elif raw.startswith("Person 2:"):
                lines.append((other, raw[len("Person 2:"):].strip()))

    now = datetime.datetime.fromisoformat(args.now.replace("Z", "+00:00"))
    first = now - datetime.timedelta(minutes=len(lines) - 1)
    stamp = lambda t: t.strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")
    last_at, last_text = stamp(now), lines[-1][1]

    def group(owner, peer):
        return {
            "pk": f"GRP#{owner['uuid']}", "sk": last_at, "message_group_uuid": args.group,
            "message": last_text, "user_uuid": peer["uuid"],
            "user_display_name": peer["name"], "user_handle": peer["handle"],
        }

    def messages():
        for i, (sender, text) in enumerate(lines):
            yield {
                "pk": f"MSG#{args.group}", "sk": stamp(first + datetime.timedelta(minutes=i)),
                "message_uuid": str(uuid.uuid4()), "message": text, "user_uuid": sender["uuid"],
                "user_display_name": sender["name"], "user_handle": sender["handle"],
            }

    table = boto3.resource("dynamodb", endpoint_url=args.endpoint).Table(args.table)
    items = [group(me, other), group(other, me)]
    if args.mode == "put":
        for item in items:
            table.put_item(Item=item)
        for item in messages():
            table.put_item(Item=item)
    else:
        with table.batch_writer() as writer:
            for item in items:
                writer.put_item(Item=item)
            for item in messages():
                writer.put_item(Item=item)


if __name__ == "__main__":
    main()
