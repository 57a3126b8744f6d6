"""OpenAPI schema fixes that apply to every operation.

drf-spectacular documents the success responses a view declares, but not the errors that
DRF and our exception handler (`smarketing.api`) answer on every endpoint alike. A client
generated from the schema, or a fuzzer checking responses against it, must see them."""

from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    """The body of most errors (`Error` in the schema); for views that declare one."""

    detail = serializers.CharField()


ERROR = {
    "type": "object",
    "description": "What went wrong, in words.",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}
VALIDATION_ERROR = {
    "type": "object",
    "description": "Messages by field name (a list of strings each, or nested for nested "
    "fields), or `detail` for a problem with the request as a whole.",
    "additionalProperties": True,
}
_BY_STATUS = {
    "400": ("ValidationError", "The request was refused: see the messages."),
    "401": ("Error", "No valid credentials were given."),
    "403": ("Error", "These credentials may not do this."),
    "404": ("Error", "No such object, or not one you can see; for lists, no such page."),
    "409": ("Error", "The object's state does not allow this now (already done, lost a race)."),
    "415": ("Error", "The body is not in a format this operation reads."),
}


def _error_codes(method: str, operation: dict) -> list[str]:
    parameters = operation.get("parameters", [])
    # A write can be refused by a service rule (`ApplicationError`, 400) even with no body.
    takes_input = (
        "requestBody" in operation
        or method != "get"
        or any(p.get("in") == "query" for p in parameters)
    )
    codes = []
    if takes_input:
        codes.append("400")
    security = operation.get("security") or []
    if security and {} not in security:
        # DRF answers 401 when the first authentication class can challenge, 403 otherwise.
        codes += ["401", "403"]
    if any(p.get("in") == "path" for p in parameters) or any(
        p.get("name") == "page" and p.get("in") == "query" for p in parameters
    ):
        codes.append("404")
    if method != "get":
        # Services refuse a transition the object's state does not allow with `Conflict`.
        codes.append("409")
    if "requestBody" in operation:
        codes.append("415")
    return codes


def document_error_responses(result, generator, request, public):
    """drf-spectacular postprocessing hook: add the error answers every operation can give,
    leaving alone any a view declared itself."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault("Error", ERROR)
    schemas.setdefault("ValidationError", VALIDATION_ERROR)
    for operations in result.get("paths", {}).values():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            for code in _error_codes(method, operation):
                name, description = _BY_STATUS[code]
                responses.setdefault(
                    code,
                    {
                        "description": description,
                        "content": {
                            "application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}
                        },
                    },
                )
    return result
