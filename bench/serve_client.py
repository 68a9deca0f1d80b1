"""Single-row Predict latency from a C-core gRPC client (Debian's python3-grpcio), for bench/serve.

A second, independent load generator: its pauses are not V8's, so what it measures is closer to
the deployer's own tail. Requests are pre-encoded by bench/serve.ts; this sends them open-loop at
a fixed rate, the pipelines taking turns in one-second slices, and prints JSON per pipeline.
Usage: /usr/bin/python3 bench/serve_client.py <lanes.json> <rate> <seconds>
where lanes.json maps a label to {"address", "bodies" (base64), "ca" (a CA file: TLS) and "token"}.
"""
import base64
import gc
import json
import sys
import threading
import time

import grpc

PATH = "/refit.deployer.v1.DeployerService/Predict"


def main() -> None:
    lanes_path, rate, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    with open(lanes_path, encoding="utf-8") as f:
        lanes = json.load(f)
    bodies = {label: [base64.b64decode(b) for b in lane["bodies"]] for label, lane in lanes.items()}
    channels, stubs, metadata = [], {}, {}
    for label, lane in lanes.items():
        if lane.get("ca"):
            with open(lane["ca"], "rb") as f:
                channel = grpc.secure_channel(lane["address"], grpc.ssl_channel_credentials(root_certificates=f.read()))
        else:
            channel = grpc.insecure_channel(lane["address"])
        channels.append(channel)
        stubs[label] = channel.unary_unary(PATH, request_serializer=None, response_deserializer=None)
        metadata[label] = (("authorization", f"Bearer {lane['token']}"),) if lane.get("token") else None
    for label, bs in bodies.items():  # warm-up
        for i in range(300):
            stubs[label](bs[i % len(bs)], timeout=10, metadata=metadata[label])
    latencies = {p: [] for p in bodies}
    elapsed = {p: 0.0 for p in bodies}
    failures = []
    # Nothing here makes reference cycles; the cycle collector would only add pauses.
    gc.disable()
    for _ in range(seconds):
        for pipeline, bs in bodies.items():
            done = threading.Semaphore(0)
            lat = latencies[pipeline]
            predict, md = stubs[pipeline], metadata[pipeline]

            def answered(fut, t0, lat=lat, done=done):
                lat.append((time.perf_counter() - t0) * 1000)
                if fut.exception() is not None:
                    failures.append(str(fut.exception()))
                done.release()

            start = time.perf_counter()
            for i in range(rate):
                wait = start + i / rate - time.perf_counter()
                if wait > 0:
                    time.sleep(wait)
                t0 = time.perf_counter()
                predict.future(bs[i % len(bs)], timeout=10, metadata=md).add_done_callback(lambda fut, t0=t0: answered(fut, t0))
            for _ in range(rate):
                done.acquire()
            elapsed[pipeline] += time.perf_counter() - start
    gc.enable()
    for channel in channels:
        channel.close()
    if failures:
        raise SystemExit(f"{len(failures)} calls failed, first: {failures[0]}")

    def pct(xs, p):
        s = sorted(xs)
        return s[min(len(s) - 1, int(p / 100 * len(s)))]

    print(json.dumps({p: {"rate": round(len(l) / elapsed[p]), "p50": pct(l, 50), "p99": pct(l, 99)} for p, l in latencies.items()}))


if __name__ == "__main__":
    main()
