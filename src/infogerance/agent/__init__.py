"""The agent that runs on client machines: collect facts, queue them on disk, deliver them.

Pure Python with psutil and the standard library only: it must never import Django, since it
is installed on machines that run no part of the platform. The protocol is
``docs/formats/agent.md``.
"""

from infogerance import __version__

AGENT_VERSION = __version__
FORMAT = "infogerance-agent/1"


class AgentError(Exception):
    """A user-facing error of the agent: one clear line, exit code 1."""


__all__ = ["AGENT_VERSION", "FORMAT", "AgentError"]
