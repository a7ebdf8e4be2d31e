#!/usr/bin/env python3
"""A small asyncio file server: for each request line "GET NAME\\n" it sends the file ROOT/NAME with
sendfile(2) on a non-blocking socket (waiting for writability in epoll between calls), then closes.
Prints "listening" once ready. Runs unchanged on Linux TCP or under the shim."""
import asyncio
import os
import sys


async def handle(reader, writer):
    try:
        line = await reader.readline()
        name = os.path.basename(line.decode().split()[1])
        with open(os.path.join(ROOT, name), "rb") as f:
            await asyncio.get_running_loop().sendfile(writer.transport, f)
        await writer.drain()
    finally:
        writer.close()


async def main():
    server = await asyncio.start_server(handle, "0.0.0.0", PORT)
    print("listening", flush=True)
    async with server:
        await server.serve_forever()


ROOT, PORT = sys.argv[1], int(sys.argv[2])
asyncio.run(main())
