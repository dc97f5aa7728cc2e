"""Span exporters of the layer's own; OTLP/HTTP comes from opentelemetry-exporter-otlp-proto-http."""
