#!/usr/bin/python3
"""A TCP relay that makes a loopback registry look like one across a WAN.

  wanrelay.py [--port N | --port 0 --port-file FILE] [--delay-ms 25]
              [--rate-mbit 50] [--shared-mbit 400] [--shared-up-mbit 400]
              [--stats FILE] UPSTREAM_PORT|HOST:PORT

Listens on 127.0.0.1:PORT and forwards every connection to the upstream
(127.0.0.1 when only a port is given), emulating a link:

  delay        each byte is released DELAY after the link carried it, in both
               directions (--delay-ms, default 25: a 50 ms round trip). The
               connection handshake costs a round trip too: data the client sends
               is not released upstream before accept + 3 x DELAY (SYN, SYN-ACK,
               then the data's own trip), so a small GET on a new connection takes
               2 RTT, one on an open connection 1 RTT.
  per-connection rate  a token bucket per connection and direction (--rate-mbit,
               default 50 Mbit/s).
  shared rate  one token bucket per direction for all connections (--shared-mbit,
               default 400 Mbit/s, downstream = registry to client;
               --shared-up-mbit for the other direction, default the same).

The link is modelled as bottleneck then propagation: a chunk read from one side
waits for tokens in its connection's bucket and in the shared one (both
taken at once, a deficit bucket: the wait is the larger debt over its rate, so
several connections are served in arrival order), is stamped with the time, and is
written to the other side DELAY later. The relay reads no faster than the rate, so
a fast sender is held back by TCP flow control as at a real bottleneck, and the
bytes in flight are the rate x DELAY (bounded by --max-queue for a slow reader).
0 switches a rate limit or the delay off.

Reads and writes are up to 128 KiB, timers are asyncio's: no per-byte work.
Prints the port on stdout when ready (and writes it to --port-file). SIGTERM or
SIGINT: stop, write statistics (connections, bytes, CPU seconds) to stderr and
to --stats, exit 0.

Python 3 standard library only.
"""

import argparse
import asyncio
import collections
import json
import os
import resource
import signal
import socket
import sys
import time

PROG = "wanrelay"
CHUNK = 128 * 1024


class Bucket:
    """A deficit token bucket: take(n) never refuses, it says how long to wait."""

    def __init__(self, bits_per_s, burst):
        self.rate = bits_per_s / 8.0  # bytes per second; 0 = unlimited
        self.burst = float(burst)
        self.tokens = float(burst)
        self.last = time.monotonic()

    def take(self, n, now):
        """Take n bytes' worth of tokens; return the seconds until they exist."""
        if not self.rate:
            return 0.0
        self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
        self.last = now
        self.tokens -= n
        return -self.tokens / self.rate if self.tokens < 0 else 0.0


class Stats:
    def __init__(self):
        self.conns = 0
        self.active = 0
        self.bytes_down = 0
        self.bytes_up = 0
        self.errors = 0


class Pump:
    """One direction of one connection: read, pace, delay, write."""

    def __init__(self, relay, reader, writer, buckets, not_before, name):
        self.relay = relay
        self.reader = reader
        self.writer = writer
        self.buckets = buckets
        self.not_before = not_before  # no release before this time (handshake)
        self.name = name
        self.queue = collections.deque()  # (release_time, bytes or None for EOF)
        self.queued = 0
        self.have_data = asyncio.Event()
        self.room = asyncio.Event()
        self.room.set()

    async def read_side(self):
        delay = self.relay.delay
        try:
            while True:
                if self.queued > self.relay.max_queue:  # the far side reads slowly
                    self.room.clear()
                    await self.room.wait()
                data = await self.reader.read(CHUNK)
                now = time.monotonic()
                wait = max((b.take(len(data), now) for b in self.buckets), default=0.0)
                if wait > 0:
                    await asyncio.sleep(wait)
                    now += wait
                self.queue.append((max(now, self.not_before) + delay, data or None))
                self.queued += len(data)
                self.have_data.set()
                if not data:
                    return
                if self.name == "down":
                    self.relay.stats.bytes_down += len(data)
                else:
                    self.relay.stats.bytes_up += len(data)
        except (ConnectionError, OSError):
            self.queue.append((0.0, None))
            self.have_data.set()

    async def write_side(self):
        w = self.writer
        while True:
            if not self.queue:
                self.have_data.clear()
                await self.have_data.wait()
            due = self.queue[0][0]
            now = time.monotonic()
            if due > now:
                await asyncio.sleep(due - now)
                now = time.monotonic()
            parts = []
            eof = False
            while self.queue and self.queue[0][0] <= now:  # everything due, in one write
                data = self.queue.popleft()[1]
                if data is None:
                    eof = True
                    break
                parts.append(data)
            if parts:
                n = sum(len(p) for p in parts)
                w.write(b"".join(parts) if len(parts) > 1 else parts[0])
                await w.drain()
                self.queued -= n
                if self.queued <= self.relay.max_queue:
                    self.room.set()
            if eof:
                if w.can_write_eof():
                    try:
                        w.write_eof()
                    except OSError:
                        pass
                return


class Relay:
    def __init__(self, a):
        self.a = a
        self.delay = a.delay_ms / 1000.0
        self.max_queue = a.max_queue
        self.stats = Stats()
        burst = max(CHUNK, a.burst)
        self.shared_down = Bucket(a.shared_mbit * 1e6, burst)
        self.shared_up = Bucket(a.shared_up_mbit * 1e6, burst)
        self.tasks = set()

    async def handle(self, creader, cwriter):
        self.stats.conns += 1
        self.stats.active += 1
        t_accept = time.monotonic()
        uwriter = None
        try:
            try:
                ureader, uwriter = await asyncio.open_connection(
                    self.a.upstream_host, self.a.upstream_port, limit=2 * CHUNK)
            except OSError as e:
                print(f"{PROG}: connect {self.a.upstream_host}:{self.a.upstream_port}: {e}",
                      file=sys.stderr)
                self.stats.errors += 1
                return
            for w in (cwriter, uwriter):
                sock = w.get_extra_info("socket")
                if sock is not None:
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            rate = self.a.rate_mbit * 1e6
            burst = max(CHUNK, self.a.burst)
            up = Pump(self, creader, uwriter, [Bucket(rate, burst), self.shared_up],
                      t_accept + 2 * self.delay, "up")
            down = Pump(self, ureader, cwriter, [Bucket(rate, burst), self.shared_down],
                        0.0, "down")
            jobs = [asyncio.ensure_future(c) for c in
                    (up.read_side(), up.write_side(), down.read_side(), down.write_side())]
            try:
                # done when both directions have delivered their EOF, or on any error
                done, _ = await asyncio.wait(jobs, return_when=asyncio.FIRST_EXCEPTION)
                if not all(j.done() for j in (jobs[1], jobs[3])):
                    await asyncio.wait([jobs[1], jobs[3]])
            except (ConnectionError, OSError):
                self.stats.errors += 1
            finally:
                for j in jobs:
                    j.cancel()
                await asyncio.gather(*jobs, return_exceptions=True)
        except (ConnectionError, OSError):
            self.stats.errors += 1
        finally:
            self.stats.active -= 1
            for w in (cwriter, uwriter):
                if w is not None:
                    w.close()

    def spawn(self, r, w):
        t = asyncio.ensure_future(self.handle(r, w))
        self.tasks.add(t)
        t.add_done_callback(self.tasks.discard)


def report(relay, t0, a):
    ru = resource.getrusage(resource.RUSAGE_SELF)
    st = relay.stats
    s = {"connections": st.conns, "bytes_down": st.bytes_down, "bytes_up": st.bytes_up,
         "errors": st.errors, "wall_s": round(time.monotonic() - t0, 2),
         "cpu_user_s": round(ru.ru_utime, 2), "cpu_sys_s": round(ru.ru_stime, 2),
         "max_rss_kib": ru.ru_maxrss}
    print(f"{PROG}: " + " ".join(f"{k} {v}" for k, v in s.items()), file=sys.stderr)
    if a.stats:
        with open(a.stats, "w") as f:
            json.dump(s, f)
            f.write("\n")


async def serve(a):
    relay = Relay(a)
    t0 = time.monotonic()
    server = await asyncio.start_server(lambda r, w: relay.spawn(r, w), "127.0.0.1", a.port,
                                        limit=2 * CHUNK, backlog=256)
    port = server.sockets[0].getsockname()[1]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if a.port_file:
        tmp = a.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(f"{port}\n")
        os.replace(tmp, a.port_file)  # readers never see a half-written file
    print(port, flush=True)
    await stop.wait()
    server.close()
    for t in list(relay.tasks):
        t.cancel()
    await asyncio.gather(*relay.tasks, return_exceptions=True)
    report(relay, t0, a)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("upstream", metavar="UPSTREAM_PORT|HOST:PORT")
    ap.add_argument("--port", type=int, default=0, help="listen port on 127.0.0.1 (0: any free)")
    ap.add_argument("--port-file", help="write the listening port to this file when ready")
    ap.add_argument("--delay-ms", type=float, default=25.0, help="one-way delay (default 25)")
    ap.add_argument("--rate-mbit", type=float, default=50.0,
                    help="per connection and direction, Mbit/s (default 50; 0: no limit)")
    ap.add_argument("--shared-mbit", type=float, default=400.0,
                    help="all connections, downstream, Mbit/s (default 400; 0: no limit)")
    ap.add_argument("--shared-up-mbit", type=float,
                    help="all connections, upstream, Mbit/s (default: --shared-mbit)")
    ap.add_argument("--burst", type=int, default=CHUNK,
                    help=f"token bucket depth in bytes (default and minimum {CHUNK})")
    ap.add_argument("--max-queue", type=int, default=8 << 20,
                    help="bytes held per direction and connection for a slow reader (default 8 MiB)")
    ap.add_argument("--stats", help="write statistics as JSON to this file on exit")
    a = ap.parse_args()
    if a.shared_up_mbit is None:
        a.shared_up_mbit = a.shared_mbit
    host, _, port = a.upstream.rpartition(":")
    a.upstream_host = host or "127.0.0.1"
    try:
        a.upstream_port = int(port)
    except ValueError:
        ap.error(f"bad upstream {a.upstream!r}")
    if min(a.delay_ms, a.rate_mbit, a.shared_mbit, a.shared_up_mbit) < 0:
        ap.error("delays and rates must be >= 0")
    try:
        asyncio.run(serve(a))
    except OSError as e:
        print(f"{PROG}: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
