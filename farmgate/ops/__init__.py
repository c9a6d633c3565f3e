"""Operating the platform: health checks, Prometheus metrics and structured logs."""
