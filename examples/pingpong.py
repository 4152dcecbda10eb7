"""Ping-pong: two goroutines hand a ball back and forth over one unbuffered channel.

    goroutines run examples/pingpong.py [SECONDS] [DELAY]    # default: a 1 s game, 0.1 s per hit

From Sameer Ajmani's talk "Advanced Go Concurrency Patterns" (Google I/O
2013). The ``table`` channel is unbuffered, so a send is a rendezvous: it
completes only when the other player receives. At any moment exactly one
goroutine holds the ball; it may change ``ball.hits`` without a lock
because handing the ball over is also handing over the right to touch it
("do not communicate by sharing memory; share memory by communicating").

``main`` tosses the ball onto the table, lets them play, and takes the ball
back. Waiting receivers are served first come, first served, so main's
receive queues behind the player already waiting, and main gets the ball at
the hand-off after that one; the players, blocked forever in a receive, are
simply abandoned when main returns, as in Go. With ``DELAY`` 0 the players rally as fast as the runtime
can hand a value from one goroutine to the other, and the program prints the
rate instead of every hit.

The Go original::

    type Ball struct{ hits int }

    func main() {
        table := make(chan *Ball)
        go player("ping", table)
        go player("pong", table)
        table <- new(Ball) // game on; toss the ball
        time.Sleep(1 * time.Second)
        <-table // game over; grab the ball
    }

    func player(name string, table chan *Ball) {
        for {
            ball := <-table
            ball.hits++
            fmt.Println(name, ball.hits)
            time.Sleep(100 * time.Millisecond)
            table <- ball
        }
    }
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass

import goroutines as gr


@dataclass
class Ball:
    hits: int = 0


async def player(name: str, table: gr.Chan[Ball], delay: float) -> None:
    while True:
        ball = await table.recv()  # wait for the ball
        ball.hits += 1  # only the holder touches it: no lock needed
        if delay > 0:
            print(f"{name:>4} {ball.hits}")
            await gr.sleep(delay)
        await table.send(ball)  # hand it over; returns once the other side has it


def parse(argv: list[str]) -> tuple[float, float]:
    try:
        seconds = float(argv[1]) if len(argv) > 1 else 1.0
        delay = float(argv[2]) if len(argv) > 2 else 0.1
    except ValueError:
        sys.exit("usage: pingpong.py [SECONDS] [DELAY]")
    if seconds < 0 or delay < 0:
        sys.exit("usage: pingpong.py [SECONDS] [DELAY]: both must be >= 0")
    return seconds, delay


async def main() -> None:
    seconds, delay = parse(sys.argv)
    table: gr.Chan[Ball] = gr.Chan()
    gr.go(player, "ping", table, delay)
    gr.go(player, "pong", table, delay)

    start = time.monotonic()
    await table.send(Ball())  # game on; toss the ball
    await gr.sleep(seconds)
    ball = await table.recv()  # game over; grab the ball
    elapsed = time.monotonic() - start

    if delay > 0:
        print(f"game over after {ball.hits} hits in {elapsed:.2f} s")
    else:
        rate = ball.hits / elapsed if elapsed > 0 else 0.0
        print(
            f"game over after {ball.hits} hits in {elapsed:.2f} s: "
            f"{rate:,.0f} hand-offs a second, {1e6 / rate if rate else 0:.1f} µs each"
        )
