"""Requests for a :class:`DirectRoute` go straight to it, without the walk over the route table.

For every request Starlette's router, with FastAPI's included routers, tries route after route
(~200 of them) until one matches, then wraps the route's handler in a fresh ``Request``, two
``AsyncExitStack``s and a second exception guard. For a 4 KiB object PUT that was ~8 % of the
event loop's CPU (docs/performance.md, "Session 6, the HTTP layer"). :class:`DirectDispatch`
takes the router's place at the bottom of the application (``Router.middleware_stack``, below
every middleware: the request id, the body limits, the error rendering and the server-error
guard stay the same objects, in the same order) and, for a request whose method has a
``DirectRoute``:

* tries, in the router's own order, only the routes that could take that method (a handful),
  with the router's own match: the same path regular expression on the same path; the first
  route that matches decides, as in the router;
* if that is a ``DirectRoute``, fills the scope as the router does (``router``, ``endpoint``,
  ``path_params``, ``route``) and calls the route's handler, then sends its response;
* otherwise, and for every other request, hands the request to the router unchanged.

Anything it cannot reproduce exactly makes it step aside: a request under a ``root_path``, a
request FastAPI's telemetry observes (it names the route in its span), and, when it is built, a
route whose included path, dependencies or body limit differ from the route's own (then it is
not installed at all). The route's own exception guard is not repeated: the application's
``ExceptionMiddleware`` above renders the same exceptions with the same handlers.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from re import Pattern
from typing import Any

from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Router
from starlette.types import ASGIApp, Receive, Scope, Send

from lakevault.api._direct_route import DirectRoute

_Handler = Callable[[Request], Coroutine[Any, Any, Response]]


@dataclass(frozen=True, slots=True, kw_only=True)
class _Candidate:
    """A route that could take a method: its path expression and, for a DirectRoute, how to
    serve it (``None``: any other route, which the router serves)."""

    path_regex: Pattern[str]
    route: DirectRoute | None
    handler: _Handler | None


class DirectDispatch:
    """The router's replacement for requests that a ``DirectRoute`` serves (module docstring)."""

    def __init__(
        self, router: Router, fallback: ASGIApp, candidates: dict[str, tuple[_Candidate, ...]]
    ) -> None:
        self._router = router
        self._fallback = fallback
        self._candidates = candidates

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        chosen = self._choose(scope) if scope["type"] == "http" else None
        if chosen is None:
            await self._fallback(scope, receive, send)
            return
        route, handler = chosen.route, chosen.handler
        assert route is not None and handler is not None
        # What Router.app, the included router and APIRoute.matches put in the scope.
        match, child_scope = route.matches(scope)
        if match is not Match.FULL:  # the same expression matched in _choose
            await self._fallback(scope, receive, send)
            return
        if "router" not in scope:
            scope["router"] = self._router
        scope.update(child_scope)
        response = await handler(Request(scope, receive, send))
        await response(scope, receive, send)

    def chosen_route(self, scope: Scope) -> DirectRoute | None:
        """The DirectRoute this dispatch serves ``scope`` with, or ``None`` when it hands the
        request to the router."""
        chosen = self._choose(scope)
        return None if chosen is None else chosen.route

    def _choose(self, scope: Scope) -> _Candidate | None:
        """The DirectRoute the router would pick for this request, or ``None`` when the router
        would pick another route (or none), or when this dispatch cannot tell exactly."""
        candidates = self._candidates.get(scope["method"])
        if candidates is None or scope.get("root_path") or "fastapi.telemetry" in scope:
            return None
        path = scope["path"]
        for candidate in candidates:
            if candidate.path_regex.match(path) is not None:
                return None if candidate.route is None else candidate
        return None


def install_direct_dispatch(app: FastAPI) -> bool:
    """Put a :class:`DirectDispatch` in the place of ``app``'s router for the ``DirectRoute``
    routes among its routes. Call it once every route is included. Returns whether it was
    installed (not when there is no DirectRoute, or when one is included in a way the dispatch
    would not reproduce exactly)."""
    contexts = list(iter_route_contexts(app.router.routes))
    direct_methods: set[str] = set()
    for context in contexts:
        route = context.route
        if isinstance(route, DirectRoute):
            if not _included_as_declared(context, route):
                return False
            direct_methods.update(route.methods or ())
    if not direct_methods:
        return False
    candidates: dict[str, tuple[_Candidate, ...]] = {}
    for method in sorted(direct_methods):
        found: list[_Candidate] = []
        for context in contexts:
            route = context.route
            path_regex = getattr(context, "path_regex", None)
            methods = context.methods
            if path_regex is None:
                # A route this dispatch cannot match like the router: leave the method alone.
                found = []
                break
            if methods is not None and method not in methods:
                continue
            if isinstance(route, DirectRoute):
                found.append(
                    _Candidate(
                        path_regex=path_regex, route=route, handler=route.get_route_handler()
                    )
                )
            else:
                found.append(_Candidate(path_regex=path_regex, route=None, handler=None))
        if any(candidate.route is not None for candidate in found):
            candidates[method] = tuple(found)
    if not candidates:
        return False
    router = app.router
    router.middleware_stack = DirectDispatch(router, router.middleware_stack, candidates)
    return True


def _included_as_declared(context: Any, route: DirectRoute) -> bool:
    """Whether the router serves ``route`` as declared: the same path, dependencies and no body
    limit added by an ``include_router`` (the dispatch calls the route's own handler)."""
    return (
        context.path == route.path
        and getattr(context, "path_regex", None) is not None
        and context.path_regex.pattern == route.path_regex.pattern
        and list(getattr(context, "dependencies", route.dependencies)) == list(route.dependencies)
        and getattr(context, "max_body_size", None) is None
    )
