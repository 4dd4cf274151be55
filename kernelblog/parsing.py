"""The one guarded call of each parser the build runs on an author's input: Python's and YAML's.

Both parsers raise more than their own error on pathological input: deep nesting exhausts
Python's recursion limit (RecursionError) or the C parser's stack (MemoryError), a NUL byte is a
ValueError. Each helper turns all of them into the one error its callers already handle."""

from __future__ import annotations

import ast

import yaml

# The deepest syntax tree the build analyses: its walkers (pyflakes, ast.NodeVisitor) recurse,
# a few frames a level, under Python's limit of 1,000 frames. Code an author writes stays far
# below; `x = 1+1+…` with 2,000 terms, which Python parses, does not.
MAX_DEPTH = 150
TOO_DEEP = "the code is too deeply nested for the build to analyse"
# The deepest YAML the build reads: front matter an author writes nests a few levels.
MAX_YAML_DEPTH = 100


def python_tree(code: str, mode: str = "exec") -> ast.AST:
    """ast.parse(code); a SyntaxError for any code it cannot parse, with what went wrong, and
    for a tree deeper than MAX_DEPTH."""
    try:
        tree = ast.parse(code, mode=mode)
    except (RecursionError, MemoryError):
        raise SyntaxError(TOO_DEEP) from None
    except ValueError as error:  # a NUL byte, which the read stage refuses before this
        raise SyntaxError(str(error)) from None
    nodes = [(tree, 1)]
    while nodes:  # not recursive, as the walkers are
        node, depth = nodes.pop()
        if depth > MAX_DEPTH:
            raise SyntaxError(TOO_DEEP, ("<cell>", getattr(node, "lineno", 1), 0, ""))
        nodes += [(child, depth + 1) for child in ast.iter_child_nodes(node)]
    return tree


class YAMLProblem(Exception):
    """YAML that cannot be read: `line` is where, from 1, in the text given (None: unknown)."""

    def __init__(self, message: str, line: int | None = None):
        super().__init__(message)
        self.message, self.line = message, line


def parse_yaml(parse, text: str):
    """parse(text), `parse` being yaml.compose (the node tree: keys keep their lines) or
    yaml.safe_load (the value); YAMLProblem for any text that is not one valid document."""
    try:
        parsed = parse(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        problem = getattr(error, "problem", None) or str(error)
        raise YAMLProblem(f"not valid YAML: {problem}", mark.line + 1 if mark else 1) from None
    except (RecursionError, MemoryError):
        raise YAMLProblem("not valid YAML: nested too deeply to read", 1) from None
    except ValueError as error:  # a value YAML can't construct, such as the date 2026-13-45
        raise YAMLProblem(f"not valid: {error}") from None
    if _yaml_depth(parsed) > MAX_YAML_DEPTH:  # whether parsing hit the recursion limit or not
        raise YAMLProblem("not valid YAML: nested too deeply to read", 1)
    return parsed


def _yaml_depth(parsed) -> int:
    """How deep a YAML node tree (or loaded value) nests, without recursion; a node or value
    that holds itself (an alias) is counted once."""
    deepest, seen, todo = 0, set(), [(parsed, 1)]
    while todo:
        item, depth = todo.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        deepest = max(deepest, depth)
        if isinstance(item, yaml.Node):
            item = item.value
        if isinstance(item, dict):
            item = [part for pair in item.items() for part in pair]
        if isinstance(item, list | tuple):
            todo += [(child, depth + 1) for child in item]
    return deepest
