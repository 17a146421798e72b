"""``python -m stitching bench --round-trips``: how many times each kind of call waits for PostgreSQL.

The service runs in this process against a throwaway database (or ``--postgres-url``) through a small TCP relay
that counts *turns*: a round trip is the client sending after the server last spoke (however many protocol
messages a turn carries, pipelined or not). Each turn also waits ``DELAY_S`` each way, so the printed time per
call divided by ``2 * DELAY_S`` is a second, independent estimate of the same number.
"""

from __future__ import annotations

import contextlib
import queue
import socket
import threading
import time
import uuid
from collections.abc import Callable
from urllib.parse import urlsplit, urlunsplit

from stitching.config import ApiCredential, ServiceSettings
from stitching.service import StitchingService, StitchRequest
from stitching.store import Store

DELAY_S = 0.005
CALLS = 10
WARM_UP = 6  # psycopg prepares a statement on its 5th use (one extra round trip, once per connection)
ISSUER = "https://idp.example.com"


class TurnCounter:
    """A TCP relay to one server that counts the client's turns and delays every chunk by ``delay`` seconds."""

    def __init__(self, host: str, port: int, delay: float) -> None:
        self.target = (host, port)
        self.delay = delay
        self.turns = 0
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        threading.Thread(target=self._accept, daemon=True).start()

    def reset(self) -> int:
        with self._lock:
            turns, self.turns = self.turns, 0
        return turns

    def close(self) -> None:
        self._listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            for sock in (client, server):  # as the driver and the server do: no Nagle delay on small writes
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            state = {"last": "server"}
            threading.Thread(target=self._pump, args=(client, server, "client", state), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, "server", state), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, side: str, state: dict[str, str]) -> None:
        """Read from one side; a second thread delivers each chunk ``delay`` after it arrived (chunks in flight
        overlap, as on a real link: the delay is per turn, not per chunk)."""
        in_flight: queue.SimpleQueue[tuple[float, bytes]] = queue.SimpleQueue()
        deliverer = threading.Thread(target=self._deliver, args=(in_flight, sink), daemon=True)
        deliverer.start()
        try:
            while data := source.recv(65536):
                with self._lock:
                    if side == "client" and state["last"] == "server":
                        self.turns += 1
                    state["last"] = side
                in_flight.put((time.monotonic() + self.delay, data))
        except OSError:
            pass
        finally:
            in_flight.put((0.0, b""))
            deliverer.join()
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    @staticmethod
    def _deliver(in_flight: queue.SimpleQueue[tuple[float, bytes]], sink: socket.socket) -> None:
        while True:
            due, data = in_flight.get()
            if not data:
                return
            time.sleep(max(0.0, due - time.monotonic()))
            try:
                sink.sendall(data)
            except OSError:
                return


def _relayed(url: str, port: int) -> str:
    parts = urlsplit(url)
    credentials = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
    return urlunsplit(parts._replace(netloc=f"{credentials}127.0.0.1:{port}"))


def count_round_trips(postgres_url: str | None) -> int:
    from stitching.bench import _database

    with _database("postgresql", postgres_url) as url:
        parts = urlsplit(url)
        relay = TurnCounter(parts.hostname or "127.0.0.1", parts.port or 5432, DELAY_S)
        direct = Store(url, 1)
        direct.migrate()
        direct.close()
        store = Store(_relayed(url, relay.port), 1)
        try:
            service = StitchingService(store, ServiceSettings(credential=ApiCredential("bench", "x" * 16), database_url=url))
            rows = [(label, *_measure(relay, call)) for label, call in _calls(service)]
        finally:
            store.close()
            relay.close()
    print(f"{'call (PostgreSQL)':44} {'round trips':>11} {'ms per call':>12} {'ms / (2 x delay)':>17}")
    for label, turns, seconds in rows:
        print(f"{label:44} {turns:>11.1f} {seconds * 1000:>12.1f} {seconds / (2 * DELAY_S):>17.1f}")
    print(f"(relay delay {DELAY_S * 1000:.0f} ms each way; {CALLS} calls each after {WARM_UP} warm-up calls)")
    return 0


def _measure(relay: TurnCounter, call: Callable[[int], object]) -> tuple[float, float]:
    for i in range(WARM_UP):
        call(1000 + i)
    relay.reset()
    started = time.perf_counter()
    for i in range(CALLS):
        call(i)
    elapsed = time.perf_counter() - started
    return relay.reset() / CALLS, elapsed / CALLS


def _calls(service: StitchingService) -> list[tuple[str, Callable[[int], object]]]:
    def sms(phone: str, key: str | None = None, conversation: str | None = None) -> object:
        return service.stitch(StitchRequest(channel="sms", conversation_id=conversation or f"c-{uuid.uuid4().hex}",
                                            phone=phone, phone_verified=True), idempotency_key=key)

    def web(subject: str, session: str) -> object:
        return service.stitch(StitchRequest(channel="web", conversation_id=f"c-{uuid.uuid4().hex}", oidc_issuer=ISSUER,
                                            oidc_subject=subject, oidc_verified=True, web_session_id=session))

    for i in range(3):
        sms(f"+120255501{i:02d}")
        web(f"user-{i}", f"session-{i}")
    profile = str(getattr(sms("+12025550100"), "body", {}).get("profileId"))
    return [
        ("stitch, returning SMS customer (matched)", lambda i: sms("+12025550101")),
        ("stitch, new SMS sender (created)", lambda i: sms(f"+1206555{i + 10:04d}")),
        ("stitch, web login on a known session", lambda i: web("user-2", "session-2")),
        ("stitch with an Idempotency-Key (matched)", lambda i: sms("+12025550101", uuid.uuid4().hex)),
        ("stitch, idempotent replay", lambda i: sms("+12025550101", "the-same-key", "c-replayed")),
        ("context by phone", lambda i: service.context(phone="+12025550101")),
        ("context by profile id", lambda i: service.context(profile_id=profile)),
    ]
