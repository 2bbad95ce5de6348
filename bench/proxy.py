"""A small HTTP/1.1 proxy for scripts/bench, between a client and the DynamoDB emulator, that
makes loopback look like the network a user has:

  --delay-ms N            every request waits N ms before it is passed on (the round trip to
                          an AWS region), however many are in flight at once;
  --writes-per-second N   BatchWriteItem calls share a token bucket of N writes a second (one
                          DynamoDB partition's limit): a call gets the tokens there are, the
                          rest of its items come back as UnprocessedItems, and a call that gets
                          none is refused with ProvisionedThroughputExceededException.

It prints its port on stdout, then serves until killed; on SIGTERM it writes how many writes
it let through (and when the first and last were) to --stats."""

import argparse
import asyncio
import json
import signal
import time


class Bucket:
    def __init__(self, rate):
        self.rate = rate
        self.tokens = 0.0
        self.at = time.monotonic()

    def take(self, wanted):
        now = time.monotonic()
        # A tenth of a second of burst, no more.
        self.tokens = min(self.tokens + (now - self.at) * self.rate, self.rate / 10)
        self.at = now
        given = min(int(self.tokens), wanted)
        self.tokens -= given
        return given


async def read_message(reader):
    """One HTTP/1.1 message with a Content-Length body: (head lines, body), or None at EOF."""
    head = []
    while True:
        line = await reader.readline()
        if not line:
            return None
        if line in (b"\r\n", b"\n"):
            break
        head.append(line.decode("latin-1").rstrip("\r\n"))
    length = 0
    for line in head[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    body = await reader.readexactly(length) if length else b""
    return head, body


def encode(head, body):
    lines = [line for line in head if not line.lower().startswith("content-length:")]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def header(head, name):
    for line in head[1:]:
        key, _, value = line.partition(":")
        if key.strip().lower() == name:
            return value.strip()
    return ""


class Proxy:
    def __init__(self, upstream, delay, rate):
        self.host, self.port = upstream.replace("http://", "").rstrip("/").split(":")
        self.delay = delay / 1000
        self.bucket = Bucket(rate) if rate else None
        self.written = 0
        self.first = None
        self.last = None

    async def serve(self, client_reader, client_writer):
        up_reader, up_writer = await asyncio.open_connection(self.host, int(self.port))
        try:
            while True:
                message = await read_message(client_reader)
                if message is None:
                    return
                head, body = message
                if self.delay:
                    await asyncio.sleep(self.delay)
                answer = await self.exchange(head, body, up_reader, up_writer)
                client_writer.write(answer)
                await client_writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            up_writer.close()
            client_writer.close()

    async def forward(self, head, body, up_reader, up_writer):
        up_writer.write(encode(head, body))
        await up_writer.drain()
        return await read_message(up_reader)

    async def exchange(self, head, body, up_reader, up_writer):
        target = header(head, "x-amz-target")
        if not (self.bucket and target.endswith(".BatchWriteItem")):
            answer_head, answer_body = await self.forward(head, body, up_reader, up_writer)
            return encode(answer_head, answer_body)
        sent = json.loads(body)
        table, writes = next(iter(sent["RequestItems"].items()))
        given = self.bucket.take(len(writes))
        if given == 0:
            error = json.dumps({
                "__type": "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
                "message": "the bench's token bucket is empty",
            }).encode()
            return encode(["HTTP/1.1 400 Bad Request", "Content-Type: application/x-amz-json-1.0"], error)
        sent["RequestItems"][table] = writes[:given]
        answer_head, answer_body = await self.forward(head, json.dumps(sent).encode(), up_reader, up_writer)
        answer = json.loads(answer_body or b"{}")
        left = answer.get("UnprocessedItems", {}).get(table, []) + writes[given:]
        self.written += given - len(answer.get("UnprocessedItems", {}).get(table, []))
        now = time.monotonic()
        self.first = self.first or now
        self.last = now
        answer["UnprocessedItems"] = {table: left} if left else {}
        return encode(answer_head, json.dumps(answer).encode())


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--delay-ms", type=float, default=0)
    parser.add_argument("--writes-per-second", type=float, default=0)
    parser.add_argument("--stats", default="")
    args = parser.parse_args()
    proxy = Proxy(args.upstream, args.delay_ms, args.writes_per_second)
    server = await asyncio.start_server(proxy.serve, "127.0.0.1", 0, limit=32 * 1024 * 1024)
    print(server.sockets[0].getsockname()[1], flush=True)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    async with server:
        await stop.wait()
    if args.stats:
        span = (proxy.last - proxy.first) if proxy.first and proxy.last else 0
        with open(args.stats, "w") as out:
            json.dump({"written": proxy.written, "seconds": span}, out)


if __name__ == "__main__":
    asyncio.run(main())
