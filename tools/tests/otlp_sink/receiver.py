"""An OTLP/HTTP logs receiver for the tests, built on the `opentelemetry-proto` package (the
OpenTelemetry project's own Python bindings): it decodes each ExportLogsServiceRequest and writes
one JSON line per log record, with its resource and scope, to the output file.

Usage: receiver.py PORT_FILE OUT_FILE
The port it listens on (127.0.0.1, chosen by the kernel) is written to PORT_FILE once it listens.
"""
import gzip
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry.proto.collector.logs.v1 import logs_service_pb2

LOCK = threading.Lock()


def value(v):
    kind = v.WhichOneof("value")
    if kind is None:
        return {"type": "empty"}
    if kind == "string_value":
        return {"type": "string", "value": v.string_value}
    if kind == "int_value":
        return {"type": "int", "value": v.int_value}
    if kind == "double_value":
        return {"type": "double", "value": v.double_value}
    if kind == "bool_value":
        return {"type": "bool", "value": v.bool_value}
    return {"type": kind, "value": str(v)}


def attrs(kvs):
    return {kv.key: value(kv.value) for kv in kvs}


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        req = logs_service_pb2.ExportLogsServiceRequest()
        req.ParseFromString(body)
        lines = []
        for rl in req.resource_logs:
            resource = attrs(rl.resource.attributes)
            for sl in rl.scope_logs:
                for r in sl.log_records:
                    lines.append(json.dumps({
                        "resource": resource,
                        "scope": sl.scope.name,
                        "time": r.time_unix_nano,
                        "observed": r.observed_time_unix_nano,
                        "severity_number": r.severity_number,
                        "severity_text": r.severity_text,
                        "body": value(r.body),
                        "attributes": attrs(r.attributes),
                    }))
        with LOCK:
            with open(self.server.out, "a") as f:
                for line in lines:
                    f.write(line + "\n")
        answer = logs_service_pb2.ExportLogsServiceResponse().SerializeToString()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)


def main():
    port_file, out = sys.argv[1], sys.argv[2]
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.out = out
    open(out, "a").close()
    tmp = port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(tmp, port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
