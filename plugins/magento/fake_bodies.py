"""The request bodies the fake accepts, checked as strictly as Magento's REST layer does.

Magento turns a JSON body into the service method's data interfaces
(`ServiceInputProcessor`): a key that no setter takes is refused at any depth (2.4.7+:
`"Foo" is not supported. Correct the field name and try again.`, 400), a missing required
argument is `"%fieldName" is required…`, a value of the wrong type is refused. A body that
is not JSON is refused before that: no `Content-Type` (`Content-Type header is empty.`), another
media type (`Server cannot understand Content-Type HTTP header media type %1`), or JSON that
does not parse (`Decoding error.`), each a 400.

The field lists below are the data interfaces of Adobe's 2.4.8 admin REST schema
(`quote-data-address-interface`, `quote-data-cart-item-interface`, …), the subset the fake
serves. With the Web API input limits on, a list of complex objects longer than 20 is refused
(`Maximum items of type "%type" is %max`).
"""

from __future__ import annotations

import json
from typing import Any

from werkzeug.wrappers import Request

from shelfsync.plugins.magento.fake_errors import MagentoError, required_field, unsupported_field

#: Input limits' default "Input List Limit".
LIMITED_LIST_ITEMS = 20

#: A schema: field -> type, where a type is "string", "number", "integer", "boolean", a dict
#: (an object: {"fields": …, "required": …, "type": interface name}) or ["array", item type].
Schema = dict[str, Any]

_EXTENSIONS: Schema = {"fields": {}, "required": (), "type": "ExtensionInterface"}
ADDRESS: Schema = {"type": "Magento\\Quote\\Api\\Data\\AddressInterface", "required": (),
                   "fields": {
    "id": "integer", "region": "string", "region_id": "integer", "region_code": "string",
    "country_id": "string", "street": ["array", "string"], "company": "string",
    "telephone": "string", "fax": "string", "postcode": "string", "city": "string",
    "firstname": "string", "lastname": "string", "middlename": "string", "prefix": "string",
    "suffix": "string", "vat_id": "string", "customer_id": "integer", "email": "string",
    "same_as_billing": "integer", "customer_address_id": "integer",
    "save_in_address_book": "integer",
    "extension_attributes": {"type": "AddressExtensionInterface", "required": (), "fields": {
        "pickup_location_code": "string", "gift_registry_id": "integer"}},
}}
CART_ITEM: Schema = {"type": "Magento\\Quote\\Api\\Data\\CartItemInterface",
                     "required": ("qty", "quote_id"), "fields": {
    "item_id": "integer", "sku": "string", "qty": "number", "name": "string",
    "price": "number", "product_type": "string", "quote_id": "string",
    "extension_attributes": _EXTENSIONS,
}}
PAYMENT: Schema = {"type": "Magento\\Quote\\Api\\Data\\PaymentInterface", "required": ("method",),
                   "fields": {
    "po_number": "string", "method": "string", "additional_data": ["array", "string"],
    "extension_attributes": {"type": "PaymentExtensionInterface", "required": (),
                             "fields": {"agreement_ids": ["array", "string"]}},
}}
SHIPPING_INFORMATION: Schema = {
    "type": "Magento\\Checkout\\Api\\Data\\ShippingInformationInterface",
    "required": ("shipping_address", "shipping_method_code", "shipping_carrier_code"),
    "fields": {"shipping_address": ADDRESS, "billing_address": ADDRESS,
               "shipping_method_code": "string", "shipping_carrier_code": "string",
               "extension_attributes": _EXTENSIONS}}
SOURCE_ITEM: Schema = {"type": "Magento\\InventoryApi\\Api\\Data\\SourceItemInterface",
                       "required": (), "fields": {
    "sku": "string", "source_code": "string", "quantity": "number", "status": "integer",
    "extension_attributes": _EXTENSIONS}}

STATUS_HISTORY: Schema = {"type": "Magento\\Sales\\Api\\Data\\OrderStatusHistoryInterface",
                          "required": ("comment", "is_customer_notified",
                                       "is_visible_on_front", "parent_id"), "fields": {
    "comment": "string", "created_at": "string", "entity_id": "integer",
    "entity_name": "string", "is_customer_notified": "integer",
    "is_visible_on_front": "integer", "parent_id": "integer", "status": "string",
    "extension_attributes": _EXTENSIONS}}

#: Each write the fake serves: its top-level arguments and the required ones.
BODIES: dict[str, Schema] = {
    "guest-carts": {"type": "", "required": (), "fields": {}},
    "guest-cart-items": {"type": "", "required": ("cartItem",), "fields": {
        "cartItem": CART_ITEM}},
    "shipping-information": {"type": "", "required": ("addressInformation",), "fields": {
        "addressInformation": SHIPPING_INFORMATION}},
    "payment-information": {"type": "", "required": ("email", "paymentMethod"), "fields": {
        "email": "string", "paymentMethod": PAYMENT, "billingAddress": ADDRESS}},
    "source-items": {"type": "", "required": ("sourceItems",), "fields": {
        "sourceItems": ["array", SOURCE_ITEM]}},
    "order-cancel": {"type": "", "required": (), "fields": {}},
    "order-comment": {"type": "", "required": ("statusHistory",), "fields": {
        "statusHistory": STATUS_HISTORY}},
}


def _camel(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))


def read_json(request: Request) -> Any:
    """The request's JSON body, refused as Magento refuses a body it cannot read."""
    raw = request.get_data(cache=True)
    content_type = request.headers.get("Content-Type", "").strip()
    if not content_type:
        raise MagentoError(400, "Content-Type header is empty.")
    if request.mimetype not in ("application/json", "text/json"):
        raise MagentoError(400, "Server cannot understand Content-Type HTTP header media type "
                           "%1", [request.mimetype])
    try:
        return json.loads(raw or b"{}")
    except ValueError:
        raise MagentoError(400, "Decoding error.") from None


def _type_error(value: Any, expected: str) -> MagentoError:
    return MagentoError(400, 'The "%1" value\'s type is invalid. The "%2" type was expected. '
                        "Verify and try again.", [json.dumps(value)[:60], expected])


def _check(value: Any, kind: Any, limits: bool) -> None:
    if isinstance(kind, dict):
        check_object(value, kind, limits)
    elif isinstance(kind, list):
        if not isinstance(value, list):
            raise _type_error(value, "array")
        item = kind[1]
        if limits and isinstance(item, dict) and len(value) > LIMITED_LIST_ITEMS:
            raise MagentoError(400, 'Maximum items of type "%type" is %max',
                               {"type": "\\" + item["type"], "max": str(LIMITED_LIST_ITEMS)})
        for element in value:
            _check(element, item, limits)
    elif kind == "string":
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            raise _type_error(value, "string")
    elif kind == "integer":
        if isinstance(value, bool) or not (
                isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit())):
            raise _type_error(value, "int")
    elif kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise _type_error(value, "float")
        try:
            float(value)
        except ValueError:
            raise _type_error(value, "float") from None
    elif kind == "boolean" and not isinstance(value, bool | int):
        raise _type_error(value, "bool")


def check_object(value: Any, schema: Schema, limits: bool) -> None:
    """Refuse `value` unless it is an object of `schema`'s fields (recursively)."""
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise _type_error(value, schema.get("type") or "object")
    for name, field_value in value.items():
        kind = schema["fields"].get(name)
        if kind is None:
            raise unsupported_field(_camel(str(name)))
        if field_value is not None:
            _check(field_value, kind, limits)
    for name in schema["required"]:
        if value.get(name) is None:
            raise required_field(name)


def checked_body(request: Request, body: str, limits: bool) -> dict[str, Any]:
    """The request's body for the write `body` (a `BODIES` key), or a Magento refusal."""
    payload = read_json(request)
    check_object(payload, BODIES[body], limits)
    return payload if isinstance(payload, dict) else {}
