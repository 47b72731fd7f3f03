"""``python3 -m botyard.check FILE``: checks a strategy without running it.

Exit 0 when the file parses and defines a top-level ``tick``; otherwise prints the problem as a JSON
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
    if "tick" not in names:
        return {"type": "LoadError", "message": "defines no top-level tick(ctx) function", "file": path}
    return None


def main(argv):
    problems = [p for p in (check(path) for path in argv[1:]) if p]
    for problem in problems:
        print(json.dumps(problem))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
