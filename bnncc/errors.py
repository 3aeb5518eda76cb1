"""The one exception type users see: it names the node, the op and what to do."""


class BnnccError(Exception):
    """An error caused by the input or the environment, reported without a traceback (exit 2)."""

    def __init__(self, message: str, node: str | None = None, op: str | None = None):
        self.node = node
        self.op = op
        if node is not None or op is not None:
            where = f"node '{node}'" if node is not None else "graph"
            if op is not None:
                where += f" (op {op})"
            message = f"{where}: {message}"
        super().__init__(message)
