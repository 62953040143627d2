"""Shopify's search syntax for the `query:` argument, as far as a sync connector uses it.

Terms are `field:value` (value bare, 'single' or "double" quoted, a trailing `*` for a prefix,
or a comparator `:>`, `:>=`, `:<`, `:<=`), joined by `AND` (or plain juxtaposition) and `OR`,
negated by `NOT` or a leading `-`, grouped with parentheses; a term without a field searches
the resource's default fields. Matching is case-insensitive, as Shopify's is.
See https://shopify.dev/docs/api/usage/search-syntax.

Like Shopify's, the parser never refuses a query: live captures (airhorns/shopify-draft-proxy,
`product-invalid-search-query-syntax`) show an unbalanced `(` and a dangling `OR` answered with
ordinary data, and `tag:(value` taken as a literal value that matches nothing. A term on a
field the resource does not support is dropped from the query (the rest still filters) and
reported as a warning, as Shopify's `extensions.search` does.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

# A resource exposes its searchable fields as: name -> function(record) -> values.
Fields = dict[str, Callable[[object], Iterable[object]]]

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<open>\()|(?P<close>\))|
        (?P<term>-?(?:[A-Za-z_][A-Za-z0-9_.]*:(?:[<>]=?)?)?(?:'[^']*'|"[^"]*"|[^\s()]+))|
        (?P<literal>-?[A-Za-z_][A-Za-z0-9_.]*:[^\s]*)|
        (?P<other>\S)
    )""",
    re.VERBOSE,
)
_OPERATORS = ("AND", "OR", "NOT")


@dataclass(frozen=True)
class Term:
    """`field:value`; field None means the default fields."""

    field: str | None
    op: str
    value: str
    prefix: bool = False


@dataclass(frozen=True)
class Node:
    """A boolean combination: kind is AND, OR or NOT."""

    kind: str
    children: tuple[Node | Term, ...]


Expr = Node | Term


def parse(query: str) -> Expr | None:
    """The expression tree of a query string; None for an empty query (never an error)."""
    tokens = _balanced(_tokenize(query))
    if not tokens:
        return None
    parser = _Parser(tokens)
    return parser.parse_or()


def _tokenize(query: str) -> list[str]:
    return [m.group().strip() for m in _TOKEN.finditer(query.strip()) if m.group().strip()]


def _balanced(tokens: list[str]) -> list[str]:
    """Tokens with stray `)` dropped, unclosed `(` closed, and no operator left dangling."""
    out: list[str] = []
    depth = 0
    for token in tokens:
        if token == ")":
            if depth == 0:
                continue
            while out and out[-1] in _OPERATORS:
                out.pop()
            if out and out[-1] == "(":
                out.pop()
                depth -= 1
                continue
            depth -= 1
        elif token == "(":
            depth += 1
        elif token in ("AND", "OR") and (not out or out[-1] in (*_OPERATORS, "(")):
            continue
        out.append(token)
    while out and (out[-1] in _OPERATORS or out[-1] == "("):
        if out.pop() == "(":
            depth -= 1
    return out + [")"] * depth


class _Parser:
    def __init__(self, tokens: list[str]) -> None:
        self.tokens = tokens
        self.pos = 0

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def parse_or(self) -> Expr:
        parts = [self.parse_and()]
        while self.peek() == "OR":
            self.pos += 1
            parts.append(self.parse_and())
        return parts[0] if len(parts) == 1 else Node("OR", tuple(parts))

    def parse_and(self) -> Expr:
        parts = [self.parse_unary()]
        while self.peek() not in (None, ")", "OR"):
            if self.peek() == "AND":
                self.pos += 1
            parts.append(self.parse_unary())
        return parts[0] if len(parts) == 1 else Node("AND", tuple(parts))

    def parse_unary(self) -> Expr:
        token = self.peek()
        if token == "NOT":
            self.pos += 1
            return Node("NOT", (self.parse_unary(),))
        if token == "(":
            self.pos += 1
            inner = self.parse_or()
            self.pos += 1  # the `)` that _balanced guarantees
            return inner
        assert token is not None and token != ")"
        self.pos += 1
        if token.startswith("-") and len(token) > 1:
            return Node("NOT", (_term(token[1:]),))
        return _term(token)


def _term(token: str) -> Term:
    field_name: str | None = None
    op = ":"
    match = re.match(r"^([A-Za-z_][A-Za-z0-9_.]*):([<>]=?)?(.*)$", token)
    if match:
        field_name, op, token = match.group(1).lower(), match.group(2) or ":", match.group(3)
    prefix = False
    if len(token) >= 2 and token[0] == token[-1] and token[0] in "'\"":
        token = token[1:-1]
    elif token.endswith("*"):
        token, prefix = token[:-1], True
    return Term(field_name, op, token, prefix)


def supported(expr: Expr | None, fields: Fields) -> tuple[Expr | None, list[str]]:
    """The expression without terms on fields the resource lacks, and those field names.

    Shopify removes such a term and answers as if it had not been written, warning
    "Invalid search field for this query." (see the module docstring).
    """
    if expr is None:
        return None, []
    if isinstance(expr, Term):
        if expr.field is None or expr.field in fields:
            return expr, []
        return None, [expr.field]
    dropped: list[str] = []
    kept: list[Expr] = []
    for child in expr.children:
        inner, lost = supported(child, fields)
        dropped += lost
        if inner is not None:
            kept.append(inner)
    if not kept:
        return None, dropped
    if expr.kind == "NOT":
        return Node("NOT", (kept[0],)), dropped
    return (kept[0] if len(kept) == 1 else Node(expr.kind, tuple(kept))), dropped


def matches(expr: Expr | None, record: object, fields: Fields, default: tuple[str, ...]) -> bool:
    """Whether a record satisfies the expression (prune unsupported fields first)."""
    if expr is None:
        return True
    if isinstance(expr, Node):
        if expr.kind == "AND":
            return all(matches(c, record, fields, default) for c in expr.children)
        if expr.kind == "OR":
            return any(matches(c, record, fields, default) for c in expr.children)
        return not matches(expr.children[0], record, fields, default)
    names = default if expr.field is None else (expr.field,)
    for name in names:
        getter = fields.get(name)
        if getter is None:
            continue
        if expr.field is None:
            # A bare word searches the default fields for that word anywhere in them.
            if any(expr.value.lower() in str(v).lower() for v in getter(record)):
                return True
        elif any(_compare(v, expr) for v in getter(record)):
            return True
    return False


def _compare(value: object, term: Term) -> bool:
    if value is None:
        return False
    if term.op != ":":
        try:
            left, right = float(str(value)), float(term.value)
        except ValueError:
            left, right = str(value), term.value  # type: ignore[assignment]
        return {
            ">": left > right,
            ">=": left >= right,
            "<": left < right,
            "<=": left <= right,
        }[term.op]
    text, wanted = str(value).lower(), term.value.lower()
    if isinstance(value, bool):
        text = "true" if value else "false"
    return text.startswith(wanted) if term.prefix else text == wanted


def equality_values(expr: Expr | None, field_name: str) -> list[str] | None:
    """The values of a pure `field:v1 OR field:v2 ...` query, for an index lookup; else None."""
    if isinstance(expr, Term):
        terms: tuple[Expr, ...] = (expr,)
    elif isinstance(expr, Node) and expr.kind == "OR":
        terms = expr.children
    else:
        return None
    values = []
    for term in terms:
        if not isinstance(term, Term) or term.field != field_name or term.op != ":" or term.prefix:
            return None
        values.append(term.value)
    return values
