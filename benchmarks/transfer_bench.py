"""Upload and download of one large file against a running server, with its RSS sampled."""

from __future__ import annotations

import statistics
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlparse

import servers
from options import Logger, Options
from report import (
    DOWNLOAD_MB_S,
    SERVER_RSS_MB,
    TRANSFER_RSS_DELTA_MB,
    UPLOAD_SHARE_OF_DD,
    mb,
    share,
    table,
)
from rss import RssSampler, tree_cpu_seconds, tree_rss
from transfer import Payload, download, upload

GIB = 1 << 30

# For one repetition: the PUT path, the GET path, and what to do between them (finalize).
Route = tuple[str, str, Callable[[], None]]


@dataclass
class TransferFigures:
    label: str
    size: int
    upload: list[float] = field(default_factory=list)  # MB/s per repetition
    download: list[float] = field(default_factory=list)
    baseline_rss: int = 0
    upload_peak: int = 0
    download_peak: int = 0
    errors: list[str] = field(default_factory=list)
    upload_cpu: list[float] = field(default_factory=list)  # server CPU seconds per GiB
    download_cpu: list[float] = field(default_factory=list)

    @property
    def delta_mib(self) -> float:
        return mb(max(self.upload_peak, self.download_peak) - self.baseline_rss)

    def median(self, values: list[float]) -> float:
        return statistics.median(values) if values else float("nan")


def run_transfers(
    label: str,
    server: servers.Server,
    rss: RssSampler,
    opts: Options,
    log: Logger,
    route: Callable[[int], Route],
) -> TransferFigures:
    figures = TransferFigures(label, opts.artifact_mib << 20)
    figures.baseline_rss = tree_rss(server.pid)
    for rep in range(opts.transfer_repeats):
        payload = Payload(figures.size)
        put_path, get_path, between = route(rep)
        rss.phase("upload")
        cpu = tree_cpu_seconds(server.pid)
        up = upload(servers.HOST, server.port, put_path, payload)
        figures.upload_cpu.append((tree_cpu_seconds(server.pid) - cpu) * GIB / figures.size)
        rss.phase("idle")
        if up.status >= 300:
            figures.errors.append(f"upload HTTP {up.status}: {up.body[:200]!r}")
            continue
        figures.upload.append(up.mb_per_second)
        between()
        rss.phase("download")
        cpu = tree_cpu_seconds(server.pid)
        down = download(servers.HOST, server.port, get_path)
        figures.download_cpu.append((tree_cpu_seconds(server.pid) - cpu) * GIB / figures.size)
        rss.phase("idle")
        if down.status >= 300 or down.size != payload.size:
            figures.errors.append(f"download HTTP {down.status}, {down.size} bytes")
            continue
        digest = down.headers.get("x-content-sha256")
        if digest and digest != payload.sha256:
            figures.errors.append(f"download sha256 {digest} != {payload.sha256}")
        figures.download.append(down.mb_per_second)
        log(
            f"  {label} {opts.artifact_mib} MiB #{rep + 1}: up {up.mb_per_second:.0f} MB/s, "
            f"down {down.mb_per_second:.0f} MB/s, RSS peaks {mb(rss.peaks['upload']):.0f}/"
            f"{mb(rss.peaks['download']):.0f} MiB"
        )
    figures.upload_peak = rss.peaks.get("upload", 0)
    figures.download_peak = rss.peaks.get("download", 0)
    for phase in ("upload", "download"):
        log(f"  {label} RSS at the {phase} peak, by process (MiB): {rss.describe(phase)}")
    return figures


def charter_transfers(
    server: servers.Server, rss: RssSampler, opts: Options, log: Logger
) -> TransferFigures:
    """Native API: pending version, PUT the file, finalize, GET it back."""
    model = f"bench-artifacts-{uuid.uuid4().hex[:8]}"
    base = f"{server.url}/api/v1/models/{model}"
    _expect(servers.call(f"{server.url}/api/v1/models", "POST", {"name": model}), 201)

    def route(_rep: int) -> Route:
        body = _expect(servers.call(f"{base}/versions", "POST", {"await_upload": True}), 201)
        assert isinstance(body, dict)
        path = f"/api/v1/models/{model}/versions/{body['version']}"

        def finalize() -> None:
            _expect(servers.call(f"{server.url}{path}/finalize", "POST", {}), 200)

        return f"{path}/files/model.bin", f"{path}/files/model.bin", finalize

    return run_transfers("charter", server, rss, opts, log, route)


def _expect(answer: tuple[int, object], status: int) -> object:
    if answer[0] != status:
        raise RuntimeError(f"expected HTTP {status}, got {answer[0]}: {answer[1]!r}")
    return answer[1]


def transfer_table(figures: TransferFigures, dd: list[float]) -> str:
    dd_mb = statistics.median(dd) if dd else float("nan")
    up, down = figures.median(figures.upload), figures.median(figures.download)
    up_share = f"{share(up, dd_mb)} of dd ({dd_mb:.0f})" if dd else ""
    up_verdict = _met(up >= UPLOAD_SHARE_OF_DD * dd_mb) if dd else ""
    peak = mb(max(figures.upload_peak, figures.download_peak))
    rows: list[list[object]] = [
        ["upload MB/s", up, up_share, f">= {UPLOAD_SHARE_OF_DD:.0%} of dd", up_verdict],
        ["download MB/s", down, "", f">= {DOWNLOAD_MB_S:.0f}", _met(down >= DOWNLOAD_MB_S)],
        ["server CPU s per GiB up", figures.median(figures.upload_cpu), "", "", ""],
        ["server CPU s per GiB down", figures.median(figures.download_cpu), "", "", ""],
        ["RSS baseline MiB", mb(figures.baseline_rss), "", "", ""],
        ["RSS peak upload MiB", mb(figures.upload_peak), "", "", ""],
        ["RSS peak download MiB", mb(figures.download_peak), "", "", ""],
        ["RSS peak - baseline MiB", figures.delta_mib, "", f"< {TRANSFER_RSS_DELTA_MB:.0f}",
         _met(figures.delta_mib < TRANSFER_RSS_DELTA_MB)],
        ["whole server peak MiB", peak, "", f"< {SERVER_RSS_MB:.0f}", _met(peak < SERVER_RSS_MB)],
    ]  # fmt: skip
    if figures.errors:
        rows.append(["errors", len(figures.errors), "; ".join(figures.errors[:2]), "", ""])
    title = f"{figures.label}, {figures.size >> 20} MiB file, {len(figures.upload)} runs (median)"
    return table([title, "value", "ratio", "target", "verdict"], rows)


def _met(ok: bool) -> str:
    return "met" if ok else "missed"


def mlflow_transfers(
    server: servers.Server, rss: RssSampler, opts: Options, log: Logger
) -> TransferFigures:
    """Through the ``mlflow-artifacts`` proxy, under a run's artifact path as the client does."""
    status, body = servers.call(
        f"{server.url}/api/2.0/mlflow/runs/create", "POST", {"experiment_id": "0"}
    )
    if status == 200 and isinstance(body, dict):
        uri = body["run"]["info"]["artifact_uri"]  # mlflow-artifacts:/0/<run>/artifacts
        root = urlparse(uri).path.strip("/")
    else:
        log(f"  {server.name}: runs/create answered {status}; using a plain artifact path")
        root = f"bench/{uuid.uuid4().hex}"

    def route(rep: int) -> Route:
        path = f"/api/2.0/mlflow-artifacts/artifacts/{root}/model-{rep}.bin"
        return path, path, lambda: None

    return run_transfers(server.name, server, rss, opts, log, route)
