"""``python -m infogerance.agent``: the agent's commands without the platform's CLI."""

import sys

from infogerance.agent.cli import main

if __name__ == "__main__":
    sys.exit(main())
