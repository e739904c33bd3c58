"""Django's PostgreSQL backend, with health checks only for connections left idle.

``ENGINE = "infogerance.core.postgresql"`` (set by :func:`infogerance.config.database_config`).
"""
