"""The service bus: one entry for every command and query, from every edge.

It finds the handler for a command's type, gives it a fresh unit of work and the service context,
and records refused accesses in a transaction of their own (the request's was rolled back).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from radflow.domain.errors import Forbidden
from radflow.domain.users import Principal
from radflow.services.access import AccessRefused
from radflow.services.audit import record_refusal
from radflow.services.context import ServiceContext
from radflow.services.unit_of_work import UnitOfWork, UnitOfWorkFactory

Handler = Callable[[Any, UnitOfWork, ServiceContext], Any]


class ServiceBus:
    """Dispatches commands and queries to their handlers."""

    def __init__(self, uow_factory: UnitOfWorkFactory, ctx: ServiceContext,
                 handlers: Mapping[type, Handler]) -> None:
        self.uow_factory = uow_factory
        self.ctx = ctx
        self._handlers = dict(handlers)

    def handle(self, command: object) -> Any:
        """Run the handler of `command`'s type and return its result (a small value object or id)."""
        handler = self._handlers.get(type(command))
        if handler is None:
            raise LookupError(f"no handler registered for {type(command).__name__}")
        try:
            return handler(command, self.uow_factory(), self.ctx)
        except Forbidden as refused:
            actor = getattr(command, "actor", None)
            if isinstance(actor, Principal):
                self._audit_refusal(actor, command, refused)
            raise

    def _audit_refusal(self, actor: Principal, command: object, refused: Forbidden) -> None:
        if isinstance(refused, AccessRefused):
            record_refusal(self.uow_factory, self.ctx, actor, refused.action, detail=refused.message,
                           patient_id=refused.patient_id, object_type=refused.object_type,
                           object_id=refused.object_id)
        else:
            record_refusal(self.uow_factory, self.ctx, actor, type(command).__name__, detail=refused.message)

    def register(self, command_type: type, handler: Handler) -> None:
        """Add a handler (the composition root does this; a second one for a type is a bug)."""
        if command_type in self._handlers:
            raise ValueError(f"{command_type.__name__} already has a handler")
        self._handlers[command_type] = handler
