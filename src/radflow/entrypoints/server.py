"""`radflow serve`: HTTP (screens, REST, FHIR), MLLP and DICOM listeners in one process, each switchable."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from typing import Protocol

import uvicorn

from radflow.bootstrap import Radflow, bootstrap
from radflow.config import Settings
from radflow.entrypoints.api.app import create_app

log = logging.getLogger("radflow.server")


class Listener(Protocol):
    """A protocol listener running beside the HTTP server (MLLP, DICOM)."""

    def start(self) -> None:
        """Begin accepting connections (in background threads)."""
        ...

    def stop(self) -> None:
        """Stop accepting and close connections."""
        ...


ListenerFactory = Callable[[Radflow], Listener]

#: (flag, module, factory attribute): listeners of the areas that speak HL7 and DICOM.
LISTENERS: tuple[tuple[str, str, str], ...] = (
    ("mllp", "radflow.entrypoints.mllp_listener", "make_listener"),
    ("dicom", "radflow.entrypoints.dicom_listener", "make_listener"),
)


def _listener_factory(module_name: str, attribute: str) -> ListenerFactory | None:
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as missing:
        if not missing.name or not module_name.startswith(missing.name):
            raise
        return None
    factory: ListenerFactory = getattr(module, attribute)
    return factory


def run_server(settings: Settings, *, http: bool = True, mllp: bool = True, dicom: bool = True,
               http_workers: int = 1) -> None:
    """Start the enabled listeners and serve HTTP until interrupted (in `http_workers` processes)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    radflow = bootstrap(settings)
    enabled = {"mllp": mllp and settings.enable_mllp, "dicom": dicom and settings.enable_dicom}
    listeners: list[Listener] = []
    for flag, module_name, attribute in LISTENERS:
        if not enabled[flag]:
            continue
        factory = _listener_factory(module_name, attribute)
        if factory is None:
            log.warning("%s listener not available in this build", flag)
            continue
        listener = factory(radflow)
        listener.start()
        listeners.append(listener)
    try:
        if http and settings.enable_http and http_workers > 1:
            # Each HTTP worker process wires its own radflow from the same environment.
            uvicorn.run("radflow.entrypoints.api.asgi:app_factory", factory=True, workers=http_workers,
                        host=settings.http_host, port=settings.http_port, log_level="warning", access_log=False,
                        lifespan="off")
        elif http and settings.enable_http:
            config = uvicorn.Config(create_app(radflow), host=settings.http_host, port=settings.http_port,
                                    log_level="info", access_log=False, lifespan="off")
            uvicorn.Server(config).run()
        else:
            import threading

            threading.Event().wait()
    finally:
        for listener in listeners:
            listener.stop()
