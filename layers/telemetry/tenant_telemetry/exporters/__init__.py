"""The local mode's JSON-lines span file (OTLP export is opentelemetry-exporter-otlp-proto-http)."""
