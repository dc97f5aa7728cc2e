"""The layer's exporters: OTLP/HTTP protobuf on `http.client`, and the local mode's JSON-lines file."""
