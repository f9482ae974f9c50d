"""A route that calls its endpoint without FastAPI's generic parameter resolution (ADR 0220).

For every request FastAPI walks an endpoint's dependency graph: path, query, header, cookie and
body fields validated through pydantic, sub-dependencies with their cache and exit stack. For a
4 KiB object PUT that walk, around the one dependency that authenticates, was several percent
of the server's CPU. :class:`DirectRoute` serves endpoints whose parameters are only path
parameters typed ``str``, the ``Request`` and dependencies that take only the ``Request``: it
checks that shape when the route is built — any other parameter raises ``TypeError`` at start-up,
never a silently different argument — and then passes exactly what FastAPI would. It stays an
``APIRoute``: the same path matching, OpenAPI operation, middleware and error handlers.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response


@dataclass(frozen=True, slots=True, kw_only=True)
class _CallPlan:
    """How to call the endpoint: argument name → path parameter, the request, dependencies."""

    path_arguments: tuple[tuple[str, str], ...]
    request_argument: str | None
    dependencies: tuple[tuple[str, Callable[[Request], Awaitable[Any]]], ...]


def _extra_parameters(dependant: Dependant) -> list[str]:
    """The parameters of ``dependant`` a direct call cannot supply (empty when it can)."""
    found = [
        f"{kind} parameter {field.name!r}"
        for kind, fields in (
            ("query", dependant.query_params),
            ("header", dependant.header_params),
            ("cookie", dependant.cookie_params),
            ("body", dependant.body_params),
        )
        for field in fields
    ]
    for what in (
        "websocket_param_name",
        "http_connection_param_name",
        "response_param_name",
        "background_tasks_param_name",
        "security_scopes_param_name",
    ):
        if getattr(dependant, what, None) is not None:
            found.append(what.removesuffix("_param_name").replace("_", " ") + " parameter")
    return found


def _called_with_request(
    call: Callable[..., Awaitable[Any]], name: str
) -> Callable[[Request], Awaitable[Any]]:
    def bound(request: Request) -> Awaitable[Any]:
        return call(**{name: request})

    return bound


def _call_plan(dependant: Dependant, path: str) -> _CallPlan:
    problems = _extra_parameters(dependant)
    path_arguments = []
    for field in dependant.path_params:
        if field.field_info.annotation is not str:
            problems.append(f"path parameter {field.name!r} is not typed str")
        path_arguments.append((field.name, field.alias))
    dependencies: list[tuple[str, Callable[[Request], Awaitable[Any]]]] = []
    for sub in dependant.dependencies:
        call = sub.call
        if (
            sub.name is None
            or call is None
            or not inspect.iscoroutinefunction(call)
            or sub.dependencies
            or sub.path_params
            or _extra_parameters(sub)
            or sub.request_param_name is None
        ):
            problems.append(
                f"dependency {sub.name!r} must be an async function of the Request alone"
            )
            continue
        dependencies.append((sub.name, _called_with_request(call, sub.request_param_name)))
    if dependant.call is None or not inspect.iscoroutinefunction(dependant.call):
        problems.append("the endpoint is not an async function")
    if problems:
        raise TypeError(
            f"DirectRoute {path} cannot call its endpoint directly: {'; '.join(problems)}; "
            "declare it with a plain APIRoute instead"
        )
    return _CallPlan(
        path_arguments=tuple(path_arguments),
        request_argument=dependant.request_param_name,
        dependencies=tuple(dependencies),
    )


class DirectRoute(APIRoute):
    """An ``APIRoute`` whose handler calls the endpoint directly (see the module docstring).

    Use it with ``APIRouter.add_api_route(..., route_class_override=DirectRoute)`` for a hot
    endpoint. The endpoint must return a ``Response``.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        plan = _call_plan(self.dependant, self.path)
        endpoint = self.dependant.call
        assert endpoint is not None  # checked by _call_plan

        async def handle(request: Request) -> Response:
            path_params = request.path_params
            arguments: dict[str, Any] = {
                name: path_params[alias] for name, alias in plan.path_arguments
            }
            if plan.request_argument is not None:
                arguments[plan.request_argument] = request
            for name, dependency in plan.dependencies:
                arguments[name] = await dependency(request)
            response = await endpoint(**arguments)
            if not isinstance(response, Response):
                raise TypeError(
                    f"the endpoint of DirectRoute {self.path} returned "
                    f"{type(response).__name__}, not a Response"
                )
            return response

        return handle
