"""``python3 -m botyard.check FILE``: checks a strategy without running it.

Exit 0 when the file parses and defines a top-level ``tick`` or a module-level ``Worker(...)``; otherwise prints the problem as a JSON
object (type, message, file, line) and exits 1.
"""

import ast
import json
import sys


def check(path):
    try:
        with open(path, encoding="utf-8") as handle:
            source = handle.read()
    except OSError as error:
        return {"type": "FileNotFoundError", "message": str(error), "file": path}
    try:
        tree = ast.parse(source, filename=path)
    except SyntaxError as error:
        return {"type": type(error).__name__, "message": error.msg, "file": path, "line": error.lineno}
    names = {node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}
    if "tick" not in names and not any(makes_worker(node) for node in tree.body):
        message = "defines no top-level tick(ctx) function and no botyard.Worker"
        return {"type": "LoadError", "message": message, "file": path}
    return None


def makes_worker(node):
    """Whether a top-level statement is ``name = Worker(...)`` (or ``botyard.Worker(...)``)."""
    if not isinstance(node, (ast.Assign, ast.AnnAssign)) or not isinstance(node.value, ast.Call):
        return False
    function = node.value.func
    called = function.attr if isinstance(function, ast.Attribute) else getattr(function, "id", None)
    return called == "Worker"


def main(argv):
    problems = [p for p in (check(path) for path in argv[1:]) if p]
    for problem in problems:
        print(json.dumps(problem))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
