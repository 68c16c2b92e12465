"""The messages graphql-core and Strawberry write (a document that does not parse or validate,
a value that does not coerce, a request Strawberry refuses) in the request's language.

Both libraries write English and offer no hook for another language, so each of their message
templates a client can trigger is declared here once, as a catalogue message whose id is the
library's own English with ``{fields}`` in place of the parts it fills in (names of fields,
types, arguments, variables, values): the id is the pattern the message is read back with, and
the Chinese (api/i18n/zh_CN.po) puts the same parts in its own order. Names stay as they are;
graphql-core's "Did you mean ...?" suggestions are kept, translated. A message no template
matches stays as it is: never lose information. English is the library's text untouched.

Messages are translated where errors are formatted for the client (api/edge/graphql_view.py),
never in the GraphQLError itself: the validation cache keeps errors with their documents for
every request, whatever its language. Only error paths come here; a successful request pays
nothing. tests/test_graphql_messages.py holds every rule and coercion of graphql-core a client
can reach to a template, so that an upgrade that rewords one fails there."""

from __future__ import annotations

import re
from functools import lru_cache

from api.i18n import EN, N_, Lazy, current_language, translate
from schema.cost import COST_MESSAGE

SUGGESTION = "suggestion"  # a field holding graphql-core's " Did you mean ...?", or nothing
# Longer messages (a client's long value quoted back) are translated each time, not remembered:
# the cache must stay small whatever clients send.
CACHED_LENGTH = 1_000

# What follows "Syntax Error: " (graphql/language/lexer.py, parser.py): read only there, where
# it cannot be taken for another message ("Unexpected {token}." would read "Unexpected error.").
SYNTAX: tuple[Lazy, ...] = (
    N_("Unexpected {token}."),
    N_("Expected {expected}, found {token}."),
    N_("Unexpected character: {character}."),
    N_("Invalid character: {character}."),
    N_("Unexpected single quote character ('), did you mean to use a double quote (\")?"),
    N_("Unexpected '..', did you mean '...'?"),
    N_("Invalid number, expected digit before '.', did you mean '0.{digits}'?"),
    N_("Invalid number, unexpected digit after 0: {character}."),
    N_("Invalid number, expected digit but got: {character}."),
    N_("Unterminated string."),
    N_("Invalid character within String: {character}."),
    N_("Invalid Unicode escape sequence: '{sequence}'."),
    N_("Invalid character escape sequence: '{sequence}'."),
    N_("Unexpected variable '${variable}' in constant value."),
    N_("Unexpected description, descriptions are not supported on shorthand queries."),
    N_("Unexpected description, only GraphQL definitions support descriptions."),
    N_("Document contains more than {count} tokens. Parsing aborted."),
    N_("Document contains more than {count} comments. Parsing aborted."),
    N_("Source contains more than {count} code points. Parsing aborted."),
    N_("Document is nested too deeply. Parsing aborted."),
)

# Why two fields conflict (graphql/validation/rules/overlapping_fields_can_be_merged.py).
CONFLICTS: tuple[Lazy, ...] = (
    N_("'{first}' and '{second}' are different fields"),
    N_("they have differing arguments"),
    N_("they have overlapping stream directives"),
    N_("they return conflicting types '{first}' and '{second}'"),
    N_("subfields '{field}' conflict because {conflict}"),
)

# Whole messages.
MESSAGES: tuple[Lazy, ...] = (
    N_("Syntax Error: {description}"),
    # --- validation (graphql/validation/rules: specified_rules a client can reach)
    N_("The {definition} definition is not executable."),
    N_("Cannot query field '{field}' on type '{type}'.{suggestion}"),
    N_("Fragment cannot condition on non composite type '{type}'."),
    N_("Fragment '{fragment}' cannot condition on non composite type '{type}'."),
    N_("Unknown argument '{argument}' on field '{field}'.{suggestion}"),
    N_("Unknown argument '{argument}' on directive '@{directive}'.{suggestion}"),
    N_("Unknown argument '{argument}' on fragment '{fragment}'.{suggestion}"),
    N_("Unknown directive '@{directive}'."),
    N_("Directive '@{directive}' may not be used on {location}."),
    N_("Unknown fragment '{fragment}'."),
    N_("The {operation} operation is not supported by the schema."),
    N_("Unknown type '{type}'.{suggestion}"),
    N_("This anonymous operation must be the only defined operation."),
    N_("Maximum introspection depth exceeded"),
    N_("Cannot spread fragment '{fragment}' within itself."),
    N_("Cannot spread fragment '{fragment}' within itself via {path}."),
    N_("Variable '${variable}' is not defined."),
    N_("Variable '${variable}' is not defined by operation '{operation}'."),
    N_("Fragment '{fragment}' is never used."),
    N_("Variable '${variable}' is never used."),
    N_("Variable '${variable}' is never used in operation '{operation}'."),
    N_("Variable '${variable}' is never used in fragment '{fragment}'."),
    N_(
        "Fields '{field}' conflict because {conflict}."
        " Use different aliases on the fields to fetch both if this was intentional."
    ),
    N_(
        "Fragment cannot be spread here as objects of type '{parent}'"
        " can never be of type '{type}'."
    ),
    N_(
        "Fragment '{fragment}' cannot be spread here as objects of type '{parent}'"
        " can never be of type '{type}'."
    ),
    N_("Argument '{argument}' of type '{type}' is required, but it was not provided."),
    N_(
        "Fragment '{fragment}' argument '{argument}' of type '{type}' is required,"
        " but it was not provided."
    ),
    N_("Field '{field}' must not have a selection since type '{type}' has no subfields."),
    N_(
        "Field '{field}' of type '{type}' must have a selection of subfields."
        " Did you mean '{example}'?"
    ),
    N_("Field '{field}' of type '{type}' must have at least one field selected."),
    N_("Anonymous Subscription must select only one top level field."),
    N_("Subscription '{operation}' must select only one top level field."),
    N_("Anonymous Subscription must select one top level field."),
    N_("Subscription '{operation}' must select one top level field."),
    N_("Anonymous Subscription must not select an introspection top level field."),
    N_("Subscription '{operation}' must not select an introspection top level field."),
    N_(
        "Anonymous Subscription must not use `@skip` or `@include` directives"
        " in the top level selection."
    ),
    N_(
        "Subscription '{operation}' must not use `@skip` or `@include` directives"
        " in the top level selection."
    ),
    N_("There can be only one argument named '{argument}'."),
    N_("The directive '@{directive}' can only be used once at this location."),
    N_("There can be only one fragment named '{fragment}'."),
    N_("There can be only one input field named '{field}'."),
    N_("There can be only one operation named '{operation}'."),
    N_("There can be only one variable named '${variable}'."),
    N_("Variable '${variable}' cannot be non-input type '{type}'."),
    N_("Variable '${variable}' of type '{type}' used in position expecting type '{expected}'."),
    N_(
        "Variable '${variable}' is of type '{type}' but must be non-nullable"
        " to be used for OneOf Input Object '{parent}'."
    ),
    N_("Too many validation errors, error limit reached. Validation aborted."),
    N_(
        "GraphQL introspection has been disabled, but the requested query contained"
        " the field '{field}'."
    ),
    # --- values (graphql/utilities/validate_input_value.py, graphql/type/scalars.py and
    # definition.py's enums, graphql/execution/values.py)
    N_("Variable '${variable}' has invalid value: {reason}"),
    N_("Variable '${variable}' has invalid value at {path}: {reason}"),
    N_("Variable '${variable}' has invalid default value: {reason}"),
    N_("Variable '${variable}' has invalid default value at {path}: {reason}"),
    N_("Argument '{argument}' has invalid value: {reason}"),
    N_("Argument '{argument}' has invalid value at {path}: {reason}"),
    N_("Argument '{argument}' of required type '{type}' was not provided."),
    N_(
        "Variable '${variable}' expected value of type '{type}'"
        " which cannot be used as an input type."
    ),
    N_("Variable values are nested too deeply."),
    N_("Too many errors processing variables, error limit reached. Execution aborted."),
    N_("Expected a value of non-null type '{type}' to be provided."),
    N_("Expected value of non-null type '{type}' not to be None."),
    N_("Expected value of type '{type}' to be an object, found: {value}."),
    N_("Expected value of type '{type}' to include required field '{field}', found: {value}."),
    N_("Expected value of type '{type}' not to include unknown field '{field}', found: {value}."),
    N_(
        "Expected value of type '{type}' not to include unknown field '{field}'.{suggestion}"
        " Found: {value}."
    ),
    N_("Expected value of type '{type}', found: {value}."),
    N_("Expected value of type '{type}', but encountered error '{reason}'; found: {value}."),
    N_("Expected variable '${variable}' provided to type '{type}' to provide a runtime value."),
    N_("Expected variable '${variable}' provided to non-null type '{type}' not to be None."),
    N_(
        "Expected variable '${variable}' provided to field '{field}' for OneOf Input Object"
        " type '{type}' to provide a runtime value."
    ),
    N_(
        "Expected variable '${variable}' provided to field '{field}' for OneOf Input Object"
        " type '{type}' not to be None."
    ),
    N_(
        "Within OneOf Input Object type '{type}', exactly one field must be specified,"
        " and the value for that field must be non-null."
    ),
    N_("Int cannot represent non-integer value: {value}"),
    N_("Int cannot represent non 32-bit signed integer value: {value}"),
    N_("Float cannot represent non numeric value: {value}"),
    N_("String cannot represent a non string value: {value}"),
    N_("Boolean cannot represent a non boolean value: {value}"),
    N_("ID cannot represent a non-string and non-integer value: {value}"),
    N_("ID cannot represent value: {value}"),
    N_("Value '{value}' does not exist in '{type}' enum.{suggestion}"),
    N_("Enum '{type}' cannot represent non-string value: {value}.{suggestion}"),
    # --- Strawberry (strawberry/schema/types/base_scalars.py, types/arguments.py,
    # extensions/query_depth_limiter.py, max_aliases.py, schema/exceptions.py)
    N_('Value cannot represent a {type}: "{value}". Expected a string.'),
    N_('Value cannot represent a {type}: "{value}". {detail}'),
    N_('Value cannot represent a {type}: "{value}".'),
    N_("'{operation}' exceeds maximum operation depth of {limit}"),
    N_("{count} aliases found. Allowed: {limit}"),
    N_("Can't get GraphQL operation type"),
    N_('Unknown operation named "{operation}".'),
    N_("Unknown operation named '{operation}'."),
    N_("Must provide operation name if query contains multiple operations."),
    N_("queries are not allowed when using {method}"),
    N_("mutations are not allowed when using {method}"),
    N_("subscriptions are not allowed when using {method}"),
    N_("Subscription limit reached"),
    N_("GraphQL only supports GET and POST requests."),
    N_("Not Found"),
    N_("Unexpected error."),  # an unexpected failure, masked (strawberry/extensions/mask_errors.py)
    # --- gridlink's own validation rule, written in English like the library's (schema/cost.py)
    COST_MESSAGE,
)
TEMPLATES: tuple[Lazy, ...] = (*MESSAGES, *SYNTAX, *CONFLICTS)
# Fields whose value is itself a message, by the templates that read it.
NESTED: dict[str, tuple[Lazy, ...]] = {
    "reason": MESSAGES,
    "description": SYNTAX,
    "conflict": CONFLICTS,
}

# graphql-core's did_you_mean(): " Did you mean 'a', 'b', or 'c'?", two sub-messages.
_SUGGESTIONS: dict[str, Lazy] = {
    "": N_("Did you mean {names}?"),
    "to use an inline fragment on ": N_("Did you mean to use an inline fragment on {names}?"),
    "the enum value ": N_("Did you mean the enum value {names}?"),
}
_SUGGESTED = re.compile(
    r" Did you mean (?P<sub>to use an inline fragment on |the enum value )?(?P<names>'.*')\?"
)
_TRAILING_SUGGESTION = re.compile(r"^(?P<head>.*?)(?P<suggestion>" + _SUGGESTED.pattern + ")$")
_NAME = re.compile(r"'([^']*)'")
_LIST = N_("{names} or {last}")
_SEPARATOR = N_(", ", "list separator")
_FIELD = re.compile(r"\{(\w+)\}")


def _pattern(msgid: str) -> re.Pattern[str]:
    """The library's message read back by its template: each ``{field}`` any text (a
    suggestion: nothing or graphql-core's " Did you mean ...?")."""
    parts: list[str] = []
    position = 0
    for found in _FIELD.finditer(msgid):
        parts.append(re.escape(msgid[position : found.start()]))
        name = found.group(1)
        if name == SUGGESTION:
            parts.append(f"(?P<{name}>(?:{_SUGGESTED.pattern})?)")
        else:
            parts.append(f"(?P<{name}>.+?)")
        position = found.end()
    parts.append(re.escape(msgid[position:]))
    return re.compile("".join(parts), re.DOTALL)


Compiled = tuple[tuple[re.Pattern[str], Lazy], ...]


def _compiled(templates: tuple[Lazy, ...]) -> Compiled:
    return tuple((_pattern(template.msgid), template) for template in templates)


_COMPILED: dict[str, Compiled] = {name: _compiled(templates) for name, templates in NESTED.items()}
_MESSAGES = _COMPILED["reason"]


def translated_errors(errors: list[dict[str, object]]) -> None:
    """Formatted errors (``GraphQLError.formatted``) with their messages in the request's
    language, in place; the codes and everything else as they are."""
    if current_language() == EN:
        return
    for error in errors:
        message = error.get("message")
        if isinstance(message, str):
            error["message"] = translated(message)


def translated(message: str, language: str | None = None) -> str:
    """``message`` (a graphql-core or Strawberry message) in ``language`` (the request's by
    default); as it is in English, or when no template matches it."""
    language = language or current_language()
    if language == EN or not message:
        return message
    if len(message) > CACHED_LENGTH:
        return _translated(message, language)
    return _remembered(message, language)


def template_of(message: str) -> Lazy | None:
    """The template ``message`` (a whole message or a part read in one) was made by, or None:
    what the coverage test asks."""
    for compiled in _COMPILED.values():
        for pattern, template in compiled:
            if pattern.fullmatch(message):
                return template
    return None


@lru_cache(maxsize=2048)
def _remembered(message: str, language: str) -> str:
    # The same few messages come back (a client repeating its mistake, a cached document).
    return _translated(message, language)


def _translated(message: str, language: str, group: str = "reason") -> str:
    found = _matched(message, language, _COMPILED[group])
    if found is not None:
        return found
    # A message of a template we do not know, with a suggestion: the suggestion at least.
    trailing = _TRAILING_SUGGESTION.fullmatch(message)
    if trailing is not None:
        head = trailing.group("head")
        return _matched(head, language, _MESSAGES) or head + " " + _suggestion(
            trailing.group("suggestion"), language
        )
    return message


def _matched(message: str, language: str, templates: Compiled) -> str | None:
    for pattern, template in templates:
        found = pattern.fullmatch(message)
        if found is None:
            continue
        args: dict[str, str] = {}
        for name, value in found.groupdict().items():
            if name in NESTED:
                args[name] = _translated(value, language, name)
            elif name == SUGGESTION:
                args[name] = _suggestion(value, language) if value else ""
            else:
                args[name] = value
        return translate(language, template.msgid, template.context, args)
    return None


def _suggestion(text: str, language: str) -> str:
    """graphql-core's " Did you mean 'a', 'b', or 'c'?" in ``language``, names as they are."""
    found = _SUGGESTED.fullmatch(text)
    if found is None:
        return text
    names = [f"'{name}'" for name in _NAME.findall(found.group("names"))]
    listed = names[0]
    if len(names) > 1:
        listed = translate(
            language,
            _LIST.msgid,
            None,
            {"names": _joined(names[:-1], language), "last": names[-1]},
        )
    message = _SUGGESTIONS[found.group("sub") or ""]
    return translate(language, message.msgid, None, {"names": listed})


def _joined(names: list[str], language: str) -> str:
    return translate(language, _SEPARATOR.msgid, _SEPARATOR.context, {}).join(names)
