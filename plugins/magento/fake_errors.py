"""Magento's REST error envelope, as the fake answers it.

Magento answers `{"message": "...", "parameters": ...}`: the message keeps its placeholders
and the values come apart, positional (`%1` with a list) or named (`%fieldName` with an
object). The texts here are Magento's own (`Magento\\Framework\\Webapi`,
`ServiceInputProcessor`, the repositories' `NoSuchEntityException`s).
"""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Response

from shelfsync.core.testing.fakes import json_response

NOT_AUTHORIZED = "The consumer isn't authorized to access %resources."
NO_ROUTE = "Request does not match any route."
NO_PRODUCT = "The product that was requested doesn't exist. Verify the product and try again."
NO_ENTITY = "The entity that was requested doesn't exist. Verify the entity and try again."
NO_SUCH = 'No such entity with %fieldName = %fieldValue'


class MagentoError(Exception):
    """An error answer: HTTP status, message with placeholders, and their values."""

    def __init__(self, status: int, message: str,
                 parameters: list[Any] | dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.parameters = parameters

    def response(self) -> Response:
        """The error as Magento's JSON envelope."""
        body: dict[str, Any] = {"message": self.message}
        if self.parameters:
            body["parameters"] = self.parameters
        return json_response(body, self.status)


def unsupported_field(name: str) -> MagentoError:
    """Magento 2.4.7+'s refusal of a body or query field its data interface does not know."""
    return MagentoError(400, '"%fieldName" is not supported. Correct the field name and try '
                        "again.", {"fieldName": name})


def required_field(name: str) -> MagentoError:
    """A required field is missing."""
    return MagentoError(400, '"%fieldName" is required. Enter and try again.',
                        {"fieldName": name})


def no_such(field: str, value: Any) -> MagentoError:
    """`NoSuchEntityException::singleField`."""
    return MagentoError(404, NO_SUCH, {"fieldName": field, "fieldValue": str(value)})
