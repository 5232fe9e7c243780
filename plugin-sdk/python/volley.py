"""Write Volley load-test scenarios in Python.

A Volley scenario is a WebAssembly component; componentize-py builds one from a
Python module. This module is the friendly layer over the bindings componentize-py
generates for the WIT world ``volley:scenario/scenario@0.1.0`` (the ``wit_world``
package): the scenario module defines plain functions and hands them to
:func:`export`::

    from volley import check, env, export, http, sleep

    def options():
        return {"vus": 10, "duration": "30s"}

    def iteration(exec):
        response = http.get(env("TARGET_URL"), name="GET /")
        check("status is 200", response.status == 200)
        sleep(0.5)

    WitWorld = export(globals())

Units: durations you *pass* (``sleep``, ``timeout=``) are in seconds, like
``time.sleep``; times the runner *reports* (``Response.timings``) and the samples of
a time :class:`Trend` are in milliseconds, as in k6.

Errors: an exception that escapes an entry point would trap the VU (the runner
throws the instance away and the Python traceback is lost). :func:`export` catches
it and fails the iteration instead, with the exception and a short traceback as the
reason. Raise :class:`Fail` to fail an iteration with just your own message.
"""

from __future__ import annotations

import json as _json
import os as _os
import re as _re
import traceback as _traceback
from contextlib import ContextDecorator
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Tuple, Union

import wit_world
from componentize_py_types import Err, Ok
from wit_world.imports import checks as _checks
from wit_world.imports import group as _group
from wit_world.imports import http as _http
from wit_world.imports import log as _log
from wit_world.imports import metrics as _metrics
from wit_world.imports import vu as _vu

__all__ = [
    "export", "Fail", "HttpError", "http", "Request", "Response", "check", "group",
    "sleep", "env", "env_vars", "setup_data", "setup_json", "vu", "log",
    "Counter", "Gauge", "Rate", "Trend",
]

#: Tags or headers: a dict, or a list of (name, value) pairs (which may repeat names).
Pairs = Union[Mapping[str, str], Iterable[Tuple[str, str]], None]


def _pairs(pairs: Pairs) -> List[Tuple[str, str]]:
    if not pairs:
        return []
    items = pairs.items() if isinstance(pairs, Mapping) else pairs
    return [(str(key), str(value)) for key, value in items]


def _millis_ceil(seconds: float) -> int:
    """Whole milliseconds in ``seconds``, rounded up (as the Rust SDK does)."""
    micros = round(seconds * 1_000_000)  # drop float noise such as 0.007 * 1000
    return max(0, -(-micros // 1000))


# --- errors -------------------------------------------------------------------------


class Fail(Exception):
    """Raise to fail the current iteration (or ``setup``/``teardown``) with exactly
    this message, without a traceback::

        raise Fail("GET /dates: the API lists no concert dates")
    """


class HttpError(Exception):
    """A request that got no response at all (an HTTP error status such as 500 is a
    :class:`Response`, not an ``HttpError``).

    ``str(error)`` reads like ``"connection failed: refused"``. Attributes:

    * ``code``: what went wrong, as in the ``error_code`` tag: ``"invalid-request"``,
      ``"denied"``, ``"dns"``, ``"connect"``, ``"tls"``, ``"timeout"``,
      ``"protocol"`` or ``"too-many-redirects"``;
    * ``detail``: the runner's explanation (``None`` for a timeout or too many
      redirects);
    * ``method`` and ``url``: the request.
    """

    _KINDS = {
        "InvalidRequest": ("invalid-request", "invalid request"),
        "Denied": ("denied", "request denied by the runner"),
        "Dns": ("dns", "DNS lookup failed"),
        "Connect": ("connect", "connection failed"),
        "Tls": ("tls", "TLS handshake failed"),
        "Timeout": ("timeout", "request timed out"),
        "Protocol": ("protocol", "protocol error"),
        "TooManyRedirects": ("too-many-redirects", "too many redirects"),
    }

    def __init__(self, method: str, url: str, error: Any):
        kind = type(error).__name__.removeprefix("Error_")
        self.code, text = self._KINDS.get(kind, (kind.lower(), kind))
        self.detail: Optional[str] = getattr(error, "value", None)
        self.method = method
        self.url = url
        super().__init__(text if self.detail is None else f"{text}: {self.detail}")


# --- HTTP ---------------------------------------------------------------------------

_UNSET: Any = object()


class Request:
    """One request, for :meth:`http.batch <_Http.batch>`. Takes the same arguments
    as :meth:`http.request <_Http.request>`::

        Request("GET", f"{base}/dates", name="GET /dates")
    """

    def __init__(self, method: str, url: str, body: Union[bytes, str, None] = None, *,
                 json: Any = _UNSET, headers: Pairs = None, name: Optional[str] = None,
                 tags: Pairs = None, timeout: Optional[float] = None,
                 max_redirects: Optional[int] = None, discard_body: bool = False):
        header_pairs = _pairs(headers)
        if json is not _UNSET:
            body = _json.dumps(json, separators=(",", ":"), ensure_ascii=False)
            if not any(key.lower() == "content-type" for key, _ in header_pairs):
                header_pairs.append(("content-type", "application/json"))
        if isinstance(body, str):
            body = body.encode()
        elif body is not None:
            body = bytes(body)
        self.raw = _http.Request(
            method=method, url=url, headers=header_pairs, body=body, name=name,
            tags=_pairs(tags),
            timeout_ms=None if timeout is None else min(_millis_ceil(timeout), 2**32 - 1),
            max_redirects=max_redirects, discard_body=discard_body,
        )

    def __repr__(self) -> str:
        return f"<Request {self.raw.method} {self.raw.url}>"


class Response:
    """A response, of any status.

    * ``status``: the status code (``int``); ``ok``: whether it is 2xx;
    * ``headers``: a dict with lower-case names (a repeated header keeps its first
      value; ``header_all(name)`` has them all, ``header_list`` the raw pairs);
    * ``body`` (``bytes``; empty when the request asked for ``discard_body``),
      ``text`` (the body as UTF-8) and ``json()``;
    * ``url`` (after redirects) and ``protocol`` (``"HTTP/1.1"`` or ``"HTTP/2.0"``);
    * ``timings``: where the time went, in milliseconds: ``blocked``,
      ``connecting``, ``tls_handshaking``, ``sending``, ``waiting``, ``receiving``
      and ``duration`` (sending + waiting + receiving).
    """

    __slots__ = ("status", "header_list", "body", "url", "protocol", "timings", "_headers")

    def __init__(self, raw: _http.Response):
        self.status: int = raw.status
        self.header_list: List[Tuple[str, str]] = raw.headers
        self.body: bytes = raw.body
        self.url: str = raw.url
        self.protocol: str = raw.protocol
        self.timings = raw.timings
        self._headers: Optional[Dict[str, str]] = None

    @property
    def headers(self) -> Dict[str, str]:
        if self._headers is None:
            headers: Dict[str, str] = {}
            for key, value in self.header_list:
                headers.setdefault(key.lower(), value)
            self._headers = headers
        return self._headers

    def header(self, name: str, default: Optional[str] = None) -> Optional[str]:
        """The first value of the header ``name`` (any case), or ``default``."""
        return self.headers.get(name.lower(), default)

    def header_all(self, name: str) -> List[str]:
        """Every value of the header ``name`` (any case), in order."""
        name = name.lower()
        return [value for key, value in self.header_list if key.lower() == name]

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def text(self) -> str:
        """The body decoded as UTF-8 (invalid bytes become U+FFFD)."""
        return self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        """The body parsed as JSON; raises ``json.JSONDecodeError`` (a ``ValueError``)."""
        return _json.loads(self.body)

    def __repr__(self) -> str:
        return f"<Response {self.status} {self.url}>"


class _Http:
    """The HTTP client: ``http.get``, ``http.post``, ..., ``http.request``,
    ``http.batch``.

    The runner sends every request on this VU's keep-alive connections, follows
    redirects and records it in ``http_reqs``, ``http_req_duration`` and the rest.
    Keyword arguments of every method:

    * ``headers``: a dict or a list of pairs;
    * ``json``: a value sent as the JSON body (sets ``content-type:
      application/json`` unless ``headers`` has a content type);
    * ``name``: the metric label (the ``name`` tag), such as ``"GET /dates/{id}"``,
      so that URLs differing only by ids share one series (default: the URL);
    * ``tags``: extra metric tags (a dict);
    * ``timeout``: seconds for the whole request (default 60);
    * ``max_redirects``: how many redirects to follow (default 10);
    * ``discard_body``: read but do not keep the body (saves memory and time).

    Returns a :class:`Response` for any status; raises :class:`HttpError` when no
    response arrived.
    """

    Request = Request
    Response = Response
    Error = HttpError

    def request(self, method: str, url: str, body: Union[bytes, str, None] = None,
                **options: Any) -> Response:
        """Sends ``method`` to ``url`` with the optional ``body`` (bytes or str)."""
        request = Request(method, url, body, **options)
        try:
            return Response(_http.send(request.raw))
        except Err as error:
            raise HttpError(method, url, error.value) from None

    def get(self, url: str, **options: Any) -> Response:
        return self.request("GET", url, **options)

    def head(self, url: str, **options: Any) -> Response:
        return self.request("HEAD", url, **options)

    def delete(self, url: str, **options: Any) -> Response:
        return self.request("DELETE", url, **options)

    def options(self, url: str, **options: Any) -> Response:
        return self.request("OPTIONS", url, **options)

    def post(self, url: str, body: Union[bytes, str, None] = None, **options: Any) -> Response:
        return self.request("POST", url, body, **options)

    def put(self, url: str, body: Union[bytes, str, None] = None, **options: Any) -> Response:
        return self.request("PUT", url, body, **options)

    def patch(self, url: str, body: Union[bytes, str, None] = None, **options: Any) -> Response:
        return self.request("PATCH", url, body, **options)

    def batch(self, requests: Iterable[Union[Request, str]]) -> List[Union[Response, HttpError]]:
        """Sends several requests at once (at most 6 in flight per host) and returns,
        in the same order, a :class:`Response` or an :class:`HttpError` (returned,
        not raised) for each. A plain string is a GET of that URL::

            for result in http.batch([f"{base}/a", Request("POST", f"{base}/b", "x")]):
                check("answered", isinstance(result, Response))
        """
        raws = [(Request("GET", item) if isinstance(item, str) else item).raw
                for item in requests]
        results: List[Union[Response, HttpError]] = []
        for raw, result in zip(raws, _http.send_batch(raws)):
            if isinstance(result, Ok):
                results.append(Response(result.value))
            else:
                results.append(HttpError(raw.method, raw.url, result.value))
        return results


http = _Http()


# --- checks, groups, think time -----------------------------------------------------


def check(name: str, ok: Any, tags: Pairs = None) -> bool:
    """Records whether the check ``name`` passed (in the ``checks`` rate, like k6's
    ``check``) and returns it as a ``bool``. A failed check fails nothing else."""
    return _checks.check(name, bool(ok), _pairs(tags))


class group(ContextDecorator):
    """A group, like k6's ``group``: requests, checks and metrics recorded inside are
    tagged ``group`` with the path of the open groups (``"::book"``, or
    ``"::book::pay"`` when nested), and the time inside is recorded in
    ``group_duration``. Use it as a context manager or a decorator::

        with group("browse"):
            ...

        @group("book")
        def book(): ...

    The group is closed whatever happens inside, exceptions included. A name must not
    contain ``"::"``, and at most 16 groups may be open at once.
    """

    def __init__(self, name: str):
        self.name = name

    def __enter__(self) -> "group":
        _group.enter(self.name)
        return self

    def __exit__(self, *exc_info: Any) -> bool:
        _group.leave()
        return False


def sleep(seconds: float) -> None:
    """Pauses this VU for ``seconds`` (think time) while the other VUs run on. The
    runner sleeps in whole milliseconds, rounded up. (``time.sleep`` works too, but
    the runner cannot see it.)"""
    millis = _millis_ceil(seconds)
    if millis > 0:
        _vu.sleep(millis)


# --- the VU and its run -------------------------------------------------------------


def env(name: str, default: Optional[str] = None) -> Optional[str]:
    """The run's environment variable ``name`` (``--env NAME=VALUE``), or
    ``default``. ``os.environ`` is empty: the runner's own environment is never
    visible."""
    value = _vu.env(name)
    return default if value is None else value


def env_vars() -> Dict[str, str]:
    """All of the run's environment variables."""
    return dict(_vu.env_vars())


_setup_bytes: Optional[bytes] = None
_setup_value: Any = _UNSET


def setup_data() -> bytes:
    """The bytes ``setup`` returned (empty when it returned none), fetched once per
    VU."""
    global _setup_bytes
    if _setup_bytes is None:
        _setup_bytes = bytes(_vu.setup_data())
    return _setup_bytes


def setup_json() -> Any:
    """What ``setup`` returned, when it returned a JSON value (``None`` when it
    returned nothing). Decoded once per VU."""
    global _setup_value
    if _setup_value is _UNSET:
        data = setup_data()
        _setup_value = _json.loads(data) if data else None
    return _setup_value


class _Vu:
    """The running virtual user: ``vu.id()``, ``vu.iteration()``, ``vu.scenario()``."""

    @staticmethod
    def id() -> int:
        """This VU's id: 1, 2, ... unique within the run."""
        return _vu.id()

    @staticmethod
    def iteration() -> int:
        """How many iterations this VU started before the current one (0 in the
        first)."""
        return _vu.iteration()

    @staticmethod
    def scenario() -> str:
        """The name of the scenario this VU runs."""
        return _vu.scenario()


vu = _Vu()


class _Log:
    """Log messages, kept with the run (the runner rate-limits them per VU):
    ``log.debug``, ``log.info``, ``log.warn``, ``log.error``. ``print`` output is
    not kept."""

    @staticmethod
    def debug(message: Any) -> None:
        _log.log(_log.Level.DEBUG, str(message))

    @staticmethod
    def info(message: Any) -> None:
        _log.log(_log.Level.INFO, str(message))

    @staticmethod
    def warn(message: Any) -> None:
        _log.log(_log.Level.WARN, str(message))

    @staticmethod
    def error(message: Any) -> None:
        _log.log(_log.Level.ERROR, str(message))


log = _Log()


# --- custom metrics -----------------------------------------------------------------

_METRIC_NAME = _re.compile(r"[a-zA-Z_][a-zA-Z0-9_]{0,127}")


class _Metric:
    def __init__(self, name: str):
        # The runner traps the VU on a bad name; fail early, with a clear message
        # (at build time when the metric is made at module level, as it should be).
        if not _METRIC_NAME.fullmatch(name):
            raise ValueError(
                f"bad metric name {name!r}: use [a-zA-Z_][a-zA-Z0-9_]*, at most 128 characters")
        self.name = name

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


class Counter(_Metric):
    """A counter, reported as a total and a rate per second::

        bookings = Counter("bookings_completed")
        bookings.add()        # 1
        bookings.add(3, tags={"kind": "vip"})
    """

    def add(self, value: float = 1, tags: Pairs = None) -> None:
        _metrics.counter_add(self.name, float(value), _pairs(tags))


class Gauge(_Metric):
    """A gauge, reported as its last, min and max values: ``Gauge("queue").set(12)``."""

    def set(self, value: float, tags: Pairs = None) -> None:
        _metrics.gauge_set(self.name, float(value), _pairs(tags))


class Rate(_Metric):
    """A rate, reported as the share of true samples: ``Rate("cache_hit").add(hit)``."""

    def add(self, ok: Any, tags: Pairs = None) -> None:
        _metrics.rate_add(self.name, bool(ok), _pairs(tags))


class Trend(_Metric):
    """A trend, reported as avg, min, med, max and percentiles. With ``time=True`` its
    samples are milliseconds and shown as durations::

        booking_duration = Trend("booking_duration", time=True)
        booking_duration.add(elapsed_seconds * 1000)
    """

    def __init__(self, name: str, time: bool = False):
        super().__init__(name)
        self.time = time

    def add(self, value: float, tags: Pairs = None) -> None:
        _metrics.trend_add(self.name, float(value), self.time, _pairs(tags))


# --- the entry points ---------------------------------------------------------------

_HERE = _os.path.abspath(__file__)
_TRACEBACK_FRAMES = 5


def _describe(error: BaseException) -> str:
    """``Type: message`` and the innermost frames of the scenario's own code, for
    the runner's log."""
    head = f"{type(error).__name__}: {error}"
    if isinstance(error, HttpError):
        head = f"HttpError: {error.method} {error.url}: {error}"
    frames = [frame for frame in _traceback.extract_tb(error.__traceback__)
              if _os.path.abspath(frame.filename) != _HERE]
    lines = [f'  File "{_os.path.basename(frame.filename)}", line {frame.lineno}, in {frame.name}'
             for frame in frames[-_TRACEBACK_FRAMES:]]
    if len(frames) > _TRACEBACK_FRAMES:
        lines.insert(0, f"  ... {len(frames) - _TRACEBACK_FRAMES} outer frames left out")
    return "\n".join([head, *lines])


def _call(function: Callable[..., Any], *args: Any) -> Any:
    """Calls ``function``, turning any exception into the WIT error string."""
    try:
        return function(*args)
    except Err:
        raise
    except Fail as error:
        raise Err(str(error)) from None
    except BaseException as error:  # noqa: BLE001: anything uncaught would trap the VU
        raise Err(_describe(error)) from None


def _takes_argument(function: Callable[..., Any]) -> bool:
    code = getattr(function, "__code__", None)
    positional = code.co_argcount if code is not None else 1
    return positional - (1 if hasattr(function, "__self__") else 0) > 0


def export(namespace: Mapping[str, Any]) -> type:
    """Builds the ``WitWorld`` class that componentize-py exports, from the
    functions ``options``, ``setup``, ``iteration`` and ``teardown`` in
    ``namespace`` (pass ``globals()``). Only ``iteration`` is required; names are
    looked up at each call, so the functions may be defined after this line::

        WitWorld = export(globals())

    * ``options()`` returns the default load options: a dict (or a JSON string),
      such as ``{"vus": 10, "duration": "30s"}``. It runs once, when the scenario is
      loaded, without the run's environment. Default: no options.
    * ``setup()`` runs once before the run. What it returns reaches every VU:
      ``bytes`` through :func:`setup_data`, any other value as JSON through
      :func:`setup_json` (``None``: nothing). Raising aborts the run.
    * ``iteration(exec)`` runs over and over on every VU; ``exec`` names the entry
      point the run options chose (``"default"`` unless set); ``iteration()`` without
      a parameter is fine too. Raising fails (only) this iteration.
    * ``teardown()`` runs once after the run.

    Any exception is reported as the error (a :class:`Fail` as its message alone,
    anything else with its type and a short traceback) instead of trapping the VU.
    """
    if "iteration" not in namespace:
        raise TypeError("the scenario defines no iteration(exec) function")

    def entry(name: str) -> Any:
        return namespace.get(name)

    class WitWorld(wit_world.WitWorld):
        def options(self) -> str:
            function = entry("options")
            if function is None:
                return "{}"
            try:
                value = function() if callable(function) else function
            except BaseException as error:  # noqa: BLE001
                # `options` has no error result and a trap would lose the traceback,
                # so return it as a JSON string: the runner rejects that, quoting it.
                return _json.dumps(f"options() raised {_describe(error)}")
            if value is None:
                return "{}"
            return value if isinstance(value, str) else _json.dumps(value)

        def setup(self) -> bytes:
            function = entry("setup")
            if function is None:
                return b""
            value = _call(function)
            if value is None:
                return b""
            if isinstance(value, (bytes, bytearray, memoryview)):
                return bytes(value)
            try:
                return _json.dumps(value).encode()
            except (TypeError, ValueError) as error:
                raise Err(f"setup returned a value that is neither bytes nor JSON: {error}") from None

        def iteration(self, exec: str) -> None:
            function = entry("iteration")
            if function is None:
                raise Err("the scenario defines no iteration(exec) function")
            if _takes_argument(function):
                _call(function, exec)
            else:
                _call(function)

        def teardown(self) -> None:
            function = entry("teardown")
            if function is not None:
                _call(function)

    return WitWorld
