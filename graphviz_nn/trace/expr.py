"""The expression front end: Python syntax parsed with `ast` against a whitelist, never evaluated."""
from __future__ import annotations

import ast
import contextlib
import difflib
import inspect
import sys
import warnings
from itertools import accumulate


from ..errors import NAME_LIMIT, UserError
from ..graph import CONST, INPUT
from .builder import GraphBuilder, Literal, excerpt
from ..ops import FUNCTIONS, OPS

MAX_LENGTH = 100_000          # characters; the deepest possible nesting follows from it
BINARY = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "div",
          ast.Pow: "pow", ast.MatMult: "matmul"}
ALLOWED = ("numbers, variable names, + - * / ** @, unary -, parentheses, indexing X[1, 2] and X[:, 0], "
           "and calls of " + ", ".join(FUNCTIONS))
KEYWORDS = ("axis", "stride", "padding", "size")     # the keyword arguments a call may give, integers
REFUSED = {
    ast.Attribute: "attribute access (.name)",
    ast.Lambda: "lambda", ast.ListComp: "a comprehension", ast.SetComp: "a comprehension",
    ast.DictComp: "a comprehension", ast.GeneratorExp: "a generator expression",
    ast.NamedExpr: "assignment (:=)", ast.Starred: "starred arguments (*args)",
    ast.Compare: "comparison", ast.BoolOp: "and/or", ast.IfExp: "if/else",
    ast.JoinedStr: "an f-string", ast.List: "a list literal (give matrices with --at)",
    ast.Tuple: "a tuple", ast.Dict: "a dict", ast.Set: "a set", ast.Await: "await",
    ast.Yield: "yield", ast.YieldFrom: "yield",
}


OPERATORS = {ast.FloorDiv: "//", ast.Mod: "%", ast.LShift: "<<", ast.RShift: ">>",
             ast.BitOr: "|", ast.BitXor: "^", ast.BitAnd: "&", ast.Not: "not", ast.Invert: "~"}
# What a student who writes maths as on paper meant, said where the parser stops.
OPERATOR_HINTS = {ast.BitXor: "powers are written ** in Python: x**2 (^ is bitwise xor)",
                  ast.FloorDiv: "division is /", ast.Mod: "no remainders in a computation graph"}
FUNCTION_HINTS = {"ln": "log is the natural logarithm: write log(x)", "exp10": "write 10**x",
                  "log10": "write log(x)/log(10)", "sigm": "write sigmoid(x)", "σ": "write sigmoid(x)",
                  "th": "write tanh(x)", "ReLU": "write relu(x)", "Relu": "write relu(x)",
                  "sqr": "write x**2", "pow": "write x**y"}
# Named constants, used unless the user gives the name a value with --at.
CONSTANTS = {"pi": 3.141592653589793, "e": 2.718281828459045}


def parse_expression(source: str, max_length: int = MAX_LENGTH, mode: str = "eval") -> ast.AST:
    """The source's ast: one expression (mode eval), or statements (mode exec, a program)."""
    if len(source) > max_length:
        raise UserError(f"the expression is {len(source):,} characters long; the limit is {max_length:,}",
                        hint="raise it with --max-length")
    if not source.strip():
        raise UserError("the expression is empty", hint=f"write a formula using {ALLOWED}")
    bad = next((i for i, ch in enumerate(source) if 0xD800 <= ord(ch) <= 0xDFFF), None)
    if bad is not None:        # undecodable bytes on the command line arrive as lone surrogates
        raise UserError("the expression contains bytes that are not UTF-8 text", source, (bad, bad + 1))
    try:
        with deep_recursion():
            return ast.parse(source, mode=mode)
    except SyntaxError as exc:
        raise syntax_error(source, exc) from None
    except (RecursionError, MemoryError):           # CPython's parser: its stack, or ast construction
        raise UserError("the expression is nested too deeply for Python's parser",
                        hint="use fewer nested brackets, calls, powers or signs in a row (docs/limits.md)") from None
    except (ValueError, OverflowError) as exc:      # e.g. null bytes, on some Python versions
        raise UserError(f"cannot parse the expression: {exc}", hint=f"allowed: {ALLOWED}") from None


# Long sums build deep left-leaning trees. CPython 3.11 builds the ast up to 3 × the recursion
# limit deep, in C: 20,000 allows the deepest sum MAX_LENGTH permits (50,000 terms) and stays
# well inside an 8 MB stack (a 100,000-deep sum crashes it).
SAFE_RECURSION_LIMIT = 20_000


@contextlib.contextmanager
def deep_recursion(limit: int = SAFE_RECURSION_LIMIT):
    """Room for CPython's parser, never more than the C stack holds (a raised --max-length
    must end in a RecursionError, not a segfault)."""
    saved = sys.getrecursionlimit()
    sys.setrecursionlimit(max(saved, limit))
    try:
        with quiet_parser():
            yield
    finally:
        sys.setrecursionlimit(saved)


@contextlib.contextmanager
def quiet_parser():
    """ast.parse warns on stderr about `1if x` or `x is 1` (SyntaxWarning): we say what we refuse."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntaxWarning)
        warnings.simplefilter("ignore", DeprecationWarning)     # invalid escapes in strings
        yield


def syntax_error(source: str, exc: SyntaxError) -> UserError:
    message = (exc.msg or "invalid syntax").split(" (")[0]
    hint = f"allowed: {ALLOWED}"
    if message.startswith("Exceeds the limit"):        # Python's int-from-text limit (CVE-2020-10735)
        digits = getattr(sys, "get_int_max_str_digits", lambda: 4300)()
        message = f"an integer literal with more than {digits:,} digits"
        hint = "write a huge number in floating point, as 1e400 (which is inf)"
    start = char_index(source, exc.lineno or 1, (exc.offset or 1) - 1, chars=True)
    end = start + 1
    if exc.end_offset and exc.end_lineno == exc.lineno and exc.end_offset > exc.offset:
        end = start + exc.end_offset - exc.offset
    return UserError(f"cannot parse the expression: {message}", source, (start, end),
                     hint=implicit_product(source, start) or hint)


def implicit_product(source: str, start: int) -> str | None:
    """`2x` or `3(x+1)`: a number written against a name or a bracket, as on paper."""
    j = start
    while j < len(source) and (source[j].isdigit() or source[j] == "."):
        j += 1
    if start < j < len(source) and (source[j].isalpha() or source[j] == "("):
        return f"multiplication is written out: {source[start:j]}*{source[j]}…"
    return None


def char_index(source: str, lineno: int, col: int, chars: bool = False) -> int:
    """Absolute character index of (line, column); ast columns count UTF-8 bytes."""
    return SourcePositions(source).index(lineno, col, chars)


class SourcePositions:
    """(line, column) -> character index, with the lines split once: a long source has many nodes."""

    def __init__(self, source: str):
        self.lines = source.splitlines(keepends=True) or [""]
        self.starts = list(accumulate((len(x) for x in self.lines), initial=0))
        self.ascii = source.isascii()
        self.columns: dict[int, list[int]] = {}     # line -> character column of each byte offset

    def index(self, lineno: int, col: int, chars: bool = False) -> int:
        line = min(lineno, len(self.lines)) - 1
        before = self.starts[line]
        if chars:
            return before + max(col, 0)
        if self.ascii:
            return before + min(max(col, 0), len(self.lines[line]))
        columns = self.columns.get(line) or self.columns.setdefault(line, byte_columns(self.lines[line]))
        return before + columns[min(max(col, 0), len(columns) - 1)]


def byte_columns(line: str) -> list[int]:
    """For each UTF-8 byte offset in the line, the number of whole characters before it."""
    columns = [0]
    for i, ch in enumerate(line):
        width = len(ch.encode(errors="surrogatepass"))
        columns += [i] * (width - 1) + [i + 1]
    return columns


class ExpressionTracer:
    """Walks the whitelisted AST bottom-up (no recursion: long inputs nest deeply)."""

    def __init__(self, source: str, values: dict, builder: GraphBuilder):
        self.source, self.values, self.builder = source, values, builder
        self.positions = SourcePositions(source)
        self.flat = len(self.positions.lines) == 1 and self.positions.ascii
        self.parameters: dict[int, object] = {}      # id(call or subscript node) -> its gate's p
        self.assigned: dict[str, object] = {}        # a program's names bound so far -> record
        self.constants: set[str] = set()             # inputs that are data: no gradient

    def span(self, node: ast.AST) -> tuple[int, int]:
        if self.flat:                    # one line of ASCII: ast's columns are the character indexes
            return node.col_offset, node.end_col_offset
        start = self.positions.index(node.lineno, node.col_offset)
        end = self.positions.index(node.end_lineno, node.end_col_offset)
        return start, end

    def refuse(self, node: ast.AST, what: str, hint: str | None = None) -> UserError:
        return UserError(f"{what} is not allowed here", self.source, self.span(node),
                         hint=hint or f"allowed: {ALLOWED}")

    def trace(self, root: ast.expr):
        done = []                            # results of traced nodes: a node's arguments end it
        stack = [(root, None)]               # (node, its number of children once they are traced)
        while stack:
            node, arity = stack.pop()
            if arity is None:
                children = self.children(node)
                if children:
                    stack.append((node, len(children)))
                    for child in reversed(children):
                        stack.append((child, None))
                    continue
            args = done[-arity:] if arity else []
            del done[len(done) - len(args):]
            done.append(self.visit(node, args))
        return done[0]

    def children(self, node: ast.AST) -> list[ast.AST]:
        if isinstance(node, ast.BinOp) and type(node.op) in BINARY:
            return [node.left, node.right]
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            return [node.operand]
        if isinstance(node, ast.Call):
            return self.call_inputs(node)
        if isinstance(node, ast.Subscript):
            self.parameters[id(node)] = self.index_key(node.slice)
            return [node.value]
        if isinstance(node, (ast.Constant, ast.Name)):
            return []
        raise self.refuse_node(node)

    def describe(self, node: ast.AST) -> str:
        if isinstance(node, (ast.BinOp, ast.UnaryOp)):
            return f"the operator {OPERATORS.get(type(node.op), type(node.op).__name__)}"
        return REFUSED.get(type(node), type(node).__name__)

    def refuse_node(self, node: ast.AST) -> UserError:
        hint = OPERATOR_HINTS.get(type(node.op)) if isinstance(node, (ast.BinOp, ast.UnaryOp)) else None
        return self.refuse(node, self.describe(node), hint)

    def call_inputs(self, node: ast.Call) -> list[ast.AST]:
        """A call's inputs (traced); the literal numbers and keywords after them become the
        gate's parameter, worked out here (Op.parameters)."""
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            func = excerpt(self.source, *self.span(node.func))   # not ast.unparse: it recurses
            what = f"calling {printable(func)}" if len(func) < 40 else "this call"
            raise self.refuse(node.func, what, hint=function_hint(node.func))
        name, op = node.func.id, OPS[node.func.id]
        arity = op.arity if op.arity is not None else len(node.args)
        inputs, extra = node.args[:arity], node.args[arity:]
        if not inputs or len(inputs) < arity or (extra and op.parameters is None):
            wanted = "at least one argument" if op.arity is None else \
                "one argument" if arity == 1 else f"{arity} arguments"
            raise UserError(f"{name} takes {wanted}, got {len(node.args)}", self.source, self.span(node),
                            hint=signature_hint(name, op))
        numbers = [self.number(a, f"{name}'s argument after its input") for a in extra]
        keywords = {k.arg: self.keyword(name, op, k) for k in node.keywords}
        if op.parameters is not None:
            self.parameters[id(node)] = self.call_parameters(node, name, op, numbers, keywords)
        return list(inputs)

    def number(self, node: ast.AST, what: str) -> float:
        value = literal_number(node)
        if value is None:
            raise self.refuse(node, f"{what} as an expression", hint="write a number here, as 0.2")
        return value

    def keyword(self, name: str, op, keyword: ast.keyword) -> int:
        where = keyword.value
        if keyword.arg not in KEYWORDS or op.parameters is None \
                or keyword.arg not in inspect.signature(op.parameters).parameters:
            raise self.refuse(where, f"the keyword {keyword.arg or '**'}", hint=signature_hint(name, op))
        value = literal_number(where)
        if value is None or value != int(value) or not isinstance(literal_root(where).value, int):
            raise self.refuse(where, f"{keyword.arg}= with anything but an integer",
                              hint=f"write it as a whole number, as {keyword.arg}=1")
        return int(value)

    def call_parameters(self, node: ast.Call, name: str, op, numbers: list, keywords: dict):
        try:
            return op.parameters(*numbers, **keywords)
        except TypeError:
            raise UserError(f"{name} cannot take these arguments", self.source, self.span(node),
                            hint=signature_hint(name, op)) from None
        except ValueError as exc:
            raise UserError(f"{name}: {exc}", self.source, self.span(node)) from None

    def index_key(self, node: ast.AST) -> tuple:
        """X[1, 2], X[:, 0], X[0:2], X[-1]: literal integers and slices only."""
        parts = node.elts if isinstance(node, ast.Tuple) else [node]
        key = []
        for part in parts:
            if isinstance(part, ast.Slice):
                bounds = [None if b is None else self.index(b) for b in (part.lower, part.upper, part.step)]
                if bounds[2] == 0:
                    raise UserError("a slice step cannot be 0", self.source, self.span(part))
                key.append(slice(*bounds))
            else:
                key.append(self.index(part))
        return tuple(key)

    def index(self, node: ast.AST) -> int:
        value = literal_number(node)
        if value is None or not isinstance(literal_root(node).value, int):
            raise self.refuse(node, "indexing with anything but whole numbers and slices",
                              hint="index with literal integers, 0-based: X[1, 2], X[:, 0], z[-1]")
        return int(value)

    def visit(self, node: ast.AST, args: list):
        if isinstance(node, ast.Name):
            return self.variable(node)
        span = self.span(node)
        text = printable(excerpt(self.source, *span))
        if isinstance(node, ast.Constant):
            return self.literal(node, text)
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.UAdd):
                return args[0]
            if isinstance(args[0], Literal):
                return Literal(-args[0].value, text)
            return self.builder.apply("scale", args, -1.0, text=text, span=span)
        if isinstance(node, ast.Subscript):
            op = "index"
        else:
            op = BINARY[type(node.op)] if isinstance(node, ast.BinOp) else node.func.id
        try:
            return self.builder.apply(op, args, self.parameters.get(id(node)), text=text, span=span)
        except (ValueError, TypeError) as exc:     # constants folded at trace time, e.g. 1 @ 2
            raise UserError(f"cannot compute {text}: {exc}", self.source, span) from None

    def literal(self, node: ast.Constant, text: str) -> Literal:
        value = node.value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.refuse(node, "a string" if isinstance(value, (str, bytes)) else f"the constant {text}",
                              hint="only real numbers are constants")
        try:
            return self.builder.literal(float(value), text)
        except OverflowError:
            raise UserError("this number is too large for a float", self.source, self.span(node)) from None

    def variable(self, node: ast.Name) -> int:
        name = node.id
        self.check_name(node)
        if name in self.assigned:
            return self.assigned[name]
        if name not in self.values and name in CONSTANTS:
            return self.builder.literal(CONSTANTS[name], name)
        if name not in self.values:
            raise self.missing(node)
        return self.builder.variable(name, self.values[name], CONST if name in self.constants else INPUT)

    def check_name(self, node: ast.Name) -> None:
        name = node.id
        if len(name) > NAME_LIMIT:
            raise UserError(f"a name of {len(name):,} characters; names are at most {NAME_LIMIT}",
                            self.source, self.span(node), hint="a node is drawn with its name: use a shorter one")
        if name.startswith("__"):
            raise self.refuse(node, f"the name {name}")
        if name in FUNCTIONS or name == "const":
            raise UserError(f"{name} is a function: call it, as in {name}(x)", self.source, self.span(node))

    def missing(self, node: ast.Name) -> UserError:
        return UserError(f"no value for {node.id}", self.source, self.span(node),
                         hint=f"give it with --at {node.id}=…")


def literal_root(node: ast.AST) -> ast.AST:
    while isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        node = node.operand
    return node


def literal_number(node: ast.AST) -> float | None:
    """A number written out, signs included (-0.5, 2, +1e-3); None for anything else."""
    root = literal_root(node)
    if not isinstance(root, ast.Constant) or type(root.value) not in (int, float):
        return None
    sign = 1
    while node is not root:
        sign = -sign if isinstance(node.op, ast.USub) else sign
        node = node.operand
    try:
        return sign * float(root.value)
    except OverflowError:
        return None


def signature_hint(name: str, op) -> str:
    """How to call it: `leaky_relu(x, slope=0.01)`, `sum(x, axis=None)`."""
    inputs = ["x"] if op.arity == 1 else ["x", "y", "…"] if op.arity is None else \
        [chr(ord("a") + i) for i in range(op.arity)]
    extra = [str(p).replace(" ", "") for p in inspect.signature(op.parameters).parameters.values()] \
        if op.parameters else []
    return f"write {name}({', '.join(inputs + extra)})"


def function_hint(func: ast.AST) -> str:
    """What to call instead: a known slip (ln), a near spelling (sigmod), else the list."""
    known = "functions: " + ", ".join(FUNCTIONS)
    if isinstance(func, ast.Constant):
        return f"multiplication is written out: {func.value}*(…)"
    if isinstance(func, ast.Attribute):
        return f"call functions by their bare names, as {func.attr}(x); {known}"
    if not isinstance(func, ast.Name):
        return known
    if func.id in FUNCTION_HINTS:
        return FUNCTION_HINTS[func.id]
    close = difflib.get_close_matches(func.id, FUNCTIONS, n=1, cutoff=0.6)
    return f"did you mean {close[0]}? {known}" if close else known


def printable(text: str) -> str:
    """Source text as one line: a node's text reaches tables, warnings and pictures
    (newlines, tabs and control characters inside brackets or comments become spaces)."""
    return text if text.isprintable() else "".join(ch if ch.isprintable() else " " for ch in text)
