"""Errors raised before a query runs, worded and shaped the way Shopify's graphql-ruby does.

Shopify answers these with `errors` only: no `data` and no `extensions.cost`, because nothing
was executed (recorded live answers of the 2025 Admin API show this for parse errors, unknown
fields and invalid variables). Three stages:

- `validation_errors`: graphql-core's validation, reworded (`undefinedField`,
  `selectionMismatch`, `missingRequiredArguments`, `argumentNotAccepted`), plus Shopify's own
  literal checks: an argument literal of the wrong type or enum value is
  `argumentLiteralsIncompatible` on the argument, and a malformed global id is a
  `CoercionError` ("Invalid global id '123'") — Shopify coerces IDs while validating, so a
  malformed id never reaches a resolver.
- `variable_errors`: each variable value against its declared type, as `INVALID_VARIABLE`
  with `problems` (`path`, `explanation`); nulls read "Expected value to not be null", unknown
  input fields "Field is not defined on <InputObject>", wrongly typed scalars "Could not coerce
  value "2" to Int", malformed ids "Invalid global id 'x'"; the message names every problem
  below the top level, in graphql-ruby's order (keys as given, then required fields missing).
- `path` on validation errors starts with the operation ("query Name", or "query" when
  anonymous) and follows field names, as Shopify's do.
"""

from __future__ import annotations

import json
import re
from typing import Any

from graphql import (
    ArgumentNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLEnumType,
    GraphQLError,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLSchema,
    InlineFragmentNode,
    ListValueNode,
    NullValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    StringValueNode,
    TypeInfo,
    TypeInfoVisitor,
    Undefined,
    ValueNode,
    VariableNode,
    Visitor,
    get_named_type,
    print_ast,
    type_from_ast,
    validate,
    value_from_ast,
    visit,
)

from shelfsync.plugins.shopify.fake_store import parse_gid

_UNDEFINED_FIELD = re.compile(r"^Cannot query field '([^']+)' on type '([^']+)'\.")
_UNDEFINED_INPUT = re.compile(
    r"Expected value of type '(?P<type>[^']+)' not to include unknown field '(?P<field>[^']+)'"
)
_UNKNOWN_ARGUMENT = re.compile(r"^Unknown argument '([^']+)' on field '([^'.]+)\.([^']+)'\.")
_NO_SELECTION = re.compile(r"^Field '([^']+)' of type '([^']+)' must have a selection")
# graphql-core 3.2 and 3.3 word a missing argument differently.
_MISSING_ARGUMENT = re.compile(
    r"^(?:Field '(?P<f>[^']+)' argument '(?P<a>[^']+)'|Argument '[^.']+\.(?P<f2>[^(']+)"
    r"\((?P<a2>[^:']+):\)') of type '[^']+' is required"
)
NOT_NULL = "Expected value to not be null"
LITERALS = "argumentLiteralsIncompatible"


def gid_problem(value: Any) -> str | None:
    """Shopify's explanation when a string given for an ID is not a global id."""
    if isinstance(value, str) and parse_gid(value) is None:
        return f"Invalid global id '{value}'"
    return None


class _Paths(Visitor):
    """Shopify's static path (operation, then field names) of every field and argument node."""

    def __init__(self) -> None:
        super().__init__()
        self.paths: dict[int, list[str]] = {}

    def _path(self, ancestors: Any, own: str) -> list[str]:
        out: list[str] = []
        for node in ancestors:
            if isinstance(node, OperationDefinitionNode):
                op = node.operation.value
                out.append(f"{op} {node.name.value}" if node.name else op)
            elif isinstance(node, FragmentDefinitionNode):
                out.append(f"fragment {node.name.value}")
            elif isinstance(node, InlineFragmentNode) and node.type_condition is not None:
                out.append(f"... on {node.type_condition.name.value}")
            elif isinstance(node, FieldNode):
                out.append(node.name.value)
        return [*out, own]

    def enter_field(self, node: FieldNode, _key: Any, _parent: Any, _path: Any, ancestors: Any):
        self.paths[id(node)] = self._path(ancestors, node.name.value)

    def enter_argument(self, node: ArgumentNode, _k: Any, _p: Any, _path: Any, ancestors: Any):
        self.paths[id(node)] = self._path(ancestors, node.name.value)


class _Literals(Visitor):
    """Shopify's literal checks on every argument whose value holds no variable."""

    def __init__(self, type_info: TypeInfo, paths: dict[int, list[str]]) -> None:
        super().__init__()
        self.type_info = type_info
        self.paths = paths
        self.errors: list[dict[str, Any]] = []
        self.flagged: list[tuple[int, int]] = []

    def enter_argument(self, node: ArgumentNode, *_: Any) -> None:
        arg, field = self.type_info.get_argument(), self.type_info.get_field_def()
        if arg is None or field is None or _has_variable(node.value):
            return
        field_name = self.paths.get(id(node), ["", node.name.value])[-2]
        where = ("Field", field_name, node.name.value, node.value, arg.type)
        error = self._check(node.value, arg.type, where, [node.name.value])
        if error is not None:
            error["path"] = [*self.paths.get(id(node), [])[:-1], *error.pop("_path")]
            self.errors.append(error)
            if node.loc is not None:
                self.flagged.append((node.loc.start, node.loc.end))

    def _check(
        self, value: ValueNode, type_: GraphQLInputType, where: tuple[Any, ...], path: list[Any]
    ) -> dict[str, Any] | None:
        if isinstance(type_, GraphQLNonNull):
            if isinstance(value, NullValueNode):
                return _invalid(where, path, value)
            return self._check(value, type_.of_type, where, path)
        if isinstance(value, NullValueNode):
            return None
        if isinstance(type_, GraphQLList):
            items = value.values if isinstance(value, ListValueNode) else (value,)
            for item in items:
                error = self._check(item, type_.of_type, where, path)
                if error is not None:
                    return error
            return None
        if isinstance(type_, GraphQLInputObjectType):
            if not isinstance(value, ObjectValueNode):
                return _invalid(where, path, value)
            given = {f.name.value: f.value for f in value.fields}
            for name, field in type_.fields.items():
                if name not in given:
                    if isinstance(field.type, GraphQLNonNull) and field.default_value is Undefined:
                        return _missing(type_.name, name, str(field.type), [*path, name])
                    continue
                inner = ("InputObject", type_.name, name, given[name], field.type)
                error = self._check(given[name], field.type, inner, [*path, name])
                if error is not None:
                    return error
            return None
        if value_from_ast(value, type_) is Undefined:
            return _invalid(where, path, value)
        if get_named_type(type_).name == "ID" and isinstance(value, StringValueNode):
            problem = gid_problem(value.value)
            if problem is not None:
                return {
                    "message": problem,
                    "locations": _locations(value),
                    "_path": path,
                    "extensions": {"code": LITERALS, "typeName": "CoercionError"},
                }
        return None


def _has_variable(value: ValueNode) -> bool:
    if isinstance(value, VariableNode):
        return True
    if isinstance(value, ListValueNode):
        return any(_has_variable(v) for v in value.values)
    if isinstance(value, ObjectValueNode):
        return any(_has_variable(f.value) for f in value.fields)
    return False


def _locations(node: Any) -> list[dict[str, int]]:
    loc = getattr(node, "loc", None)
    if loc is None:
        return []
    return [{"line": loc.start_token.line, "column": loc.start_token.column}]


def _invalid(where: tuple[Any, ...], path: list[Any], node: ValueNode) -> dict[str, Any]:
    kind, owner, name, whole, type_ = where
    return {
        "message": f"Argument '{name}' on {kind} '{owner}' has an invalid value "
        f"({print_ast(whole)}). Expected type '{type_}'.",
        "locations": _locations(node),
        "_path": path if kind == "Field" else path[: path.index(name) + 1],
        "extensions": {"code": LITERALS, "typeName": kind, "argumentName": name},
    }


def _missing(owner: str, name: str, type_: str, path: list[Any]) -> dict[str, Any]:
    return {
        "message": f"Argument '{name}' on InputObject '{owner}' is required. Expected type {type_}",
        "locations": [],
        "_path": path,
        "extensions": {
            "code": "missingRequiredInputObjectAttribute",
            "argumentName": name,
            "argumentType": type_,
            "inputObjectType": owner,
        },
    }


def validation_errors(schema: GraphQLSchema, document: DocumentNode) -> list[dict[str, Any]]:
    """Every validation problem of `document`, as Shopify words it (empty when valid)."""
    problems = validate(schema, document)
    if any(p.message.startswith("Unknown fragment") for p in problems):
        return [_reworded(p, {}) for p in problems]
    paths = _Paths()
    visit(document, paths)
    type_info = TypeInfo(schema)
    literals = _Literals(type_info, paths.paths)
    visit(document, TypeInfoVisitor(type_info, literals))
    errors = list(literals.errors)
    for problem in problems:
        start = problem.nodes[0].loc.start if problem.nodes and problem.nodes[0].loc else -1
        inside = any(lo <= start < hi for lo, hi in literals.flagged)
        if inside and not _UNDEFINED_INPUT.search(problem.message):
            continue  # already reported on its argument, in Shopify's words
        errors.append(_reworded(problem, paths.paths))
    return [{k: v for k, v in e.items() if v != []} for e in errors]


def _reworded(error: GraphQLError, paths: dict[int, list[str]]) -> dict[str, Any]:
    formatted = dict(error.formatted)
    path = paths.get(id(error.nodes[0])) if error.nodes else None
    if path:
        formatted["path"] = path
    message = error.message
    if match := _UNDEFINED_FIELD.match(message):
        field, type_name = match.groups()
        formatted["message"] = f"Field '{field}' doesn't exist on type '{type_name}'"
        formatted["extensions"] = {
            "code": "undefinedField",
            "typeName": type_name,
            "fieldName": field,
        }
    elif match := _UNDEFINED_INPUT.search(message):
        field, type_name = match.group("field"), match.group("type")
        formatted["message"] = f"InputObject '{type_name}' doesn't accept argument '{field}'"
        formatted["extensions"] = {
            "code": "argumentNotAccepted",
            "name": type_name,
            "typeName": "InputObject",
            "argumentName": field,
        }
    elif match := _UNKNOWN_ARGUMENT.match(message):
        argument, _type_name, field = match.groups()
        formatted["message"] = f"Field '{field}' doesn't accept argument '{argument}'"
        formatted["extensions"] = {
            "code": "argumentNotAccepted",
            "name": field,
            "typeName": "Field",
            "argumentName": argument,
        }
    elif match := _NO_SELECTION.match(message):
        field, type_name = match.group(1), match.group(2).strip("[]!")
        formatted["message"] = (
            f"Field must have selections (field '{field}' returns {type_name} but has no "
            f"selections. Did you mean '{field} {{ ... }}'?)"
        )
        formatted["extensions"] = {
            "code": "selectionMismatch",
            "nodeName": f"field '{field}'",
            "typeName": type_name,
        }
    elif match := _MISSING_ARGUMENT.match(message):
        field = match.group("f") or match.group("f2")
        argument = match.group("a") or match.group("a2")
        formatted["message"] = f"Field '{field}' is missing required arguments: {argument}"
        formatted["extensions"] = {
            "code": "missingRequiredArguments",
            "className": "Field",
            "name": field,
            "arguments": argument,
        }
    return formatted


def parse_error(error: GraphQLError) -> dict[str, Any]:
    """A syntax error; Shopify tags these PARSE_ERROR (its parser words the message itself)."""
    formatted = dict(error.formatted)
    formatted["extensions"] = {"code": "PARSE_ERROR"}
    return formatted


def variable_errors(
    schema: GraphQLSchema, definitions: Any, variables: dict[str, Any]
) -> list[dict[str, Any]]:
    """Shopify's INVALID_VARIABLE errors for values that do not fit their declared types."""
    errors: list[dict[str, Any]] = []
    for definition in definitions:
        name = definition.variable.name.value
        type_ = type_from_ast(schema, definition.type)
        if type_ is None:
            continue
        if name not in variables and definition.default_value is not None:
            continue
        value = variables.get(name)
        problems: list[dict[str, Any]] = []
        _value_problems(value, type_, [], problems)
        if not problems:
            continue
        declared = print_ast(definition.type)
        message = f"Variable ${name} of type {declared} was provided invalid value"
        # graphql-ruby names every problem below the variable's top level, in order.
        located = [
            f"{'.'.join(str(p) for p in problem['path'])} ({problem['explanation']})"
            for problem in problems
            if problem["path"]
        ]
        if located:
            message += f" for {', '.join(located)}"
        errors.append(
            {
                "message": message,
                "locations": _locations(definition),
                "extensions": {"code": "INVALID_VARIABLE", "value": value, "problems": problems},
            }
        )
    return errors


def _value_problems(value: Any, type_: Any, path: list[Any], out: list[dict[str, Any]]) -> None:
    """graphql-ruby's `validate_input`: problems in the order it finds them."""
    if isinstance(type_, GraphQLNonNull):
        if value is None:
            out.append({"path": path, "explanation": NOT_NULL})
            return
        type_ = type_.of_type
    if value is None:
        return
    if isinstance(type_, GraphQLList):
        # A single value stands for a one-item list, and is reported as item 0.
        for index, item in enumerate(value if isinstance(value, list) else [value]):
            _value_problems(item, type_.of_type, [*path, index], out)
        return
    if isinstance(type_, GraphQLInputObjectType):
        _input_object_problems(value, type_, path, out)
        return
    if isinstance(type_, GraphQLEnumType) and value not in type_.values:
        allowed = ", ".join(type_.values)
        explanation = f"Expected {ruby_serialize(value)} to be one of: {allowed}"
        out.append({"path": path, "explanation": explanation})
        return
    try:
        type_.parse_value(value)
    except (GraphQLError, TypeError, ValueError):
        explanation = f"Could not coerce value {ruby_serialize(value)} to {type_.name}"
        out.append({"path": path, "explanation": explanation})
        return
    if type_.name == "ID" and (problem := gid_problem(value)) is not None:
        out.append({"path": path, "explanation": problem, "message": problem})


def _input_object_problems(
    value: Any, type_: GraphQLInputObjectType, path: list[Any], out: list[dict[str, Any]]
) -> None:
    """The keys given, in the order given; then the required fields left out, in type order."""
    if not isinstance(value, dict):
        # graphql-ruby's INVALID_OBJECT_MESSAGE, with the value as JSON.
        explanation = f"Expected {json.dumps(value, ensure_ascii=False)} to be a key-value object."
        out.append({"path": path, "explanation": explanation})
        return
    for key, item in value.items():
        field = type_.fields.get(key)
        if field is None:
            explanation = f"Field is not defined on {type_}"
            out.append({"path": [*path, key], "explanation": explanation})
        else:
            _value_problems(item, field.type, [*path, key], out)
    for name, field in type_.fields.items():
        required = isinstance(field.type, GraphQLNonNull) and field.default_value is Undefined
        if required and name not in value:
            out.append({"path": [*path, name], "explanation": NOT_NULL})


def ruby_serialize(value: Any) -> str:
    """A value as graphql-ruby's `GraphQL::Language.serialize` prints it in explanations."""
    if isinstance(value, dict):
        return "{" + ",".join(f"{k}:{ruby_serialize(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(ruby_serialize(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


class _Deprecated(Visitor):
    """`Type.field` of every deprecated field a document selects."""

    def __init__(self, type_info: TypeInfo) -> None:
        super().__init__()
        self.type_info = type_info
        self.found: dict[str, None] = {}

    def enter_field(self, node: FieldNode, *_: Any) -> None:
        field, parent = self.type_info.get_field_def(), self.type_info.get_parent_type()
        if field is not None and parent is not None and field.deprecation_reason:
            self.found[f"{parent.name}.{node.name.value}"] = None


def deprecated_fields(schema: GraphQLSchema, document: DocumentNode) -> list[str]:
    """The deprecated fields a valid document uses, in order (Shopify's deprecation header)."""
    type_info = TypeInfo(schema)
    found = _Deprecated(type_info)
    visit(document, TypeInfoVisitor(type_info, found))
    return list(found.found)
