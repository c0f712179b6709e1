"""OpenAPI description of the token authentication (drf-spectacular extension)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.ApiTokenAuthentication"
    name = "apiToken"

    def get_security_definition(self, auto_schema):  # noqa: ANN001, ANN201 - drf-spectacular's signature
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A personal API token (cpt_…), created on Account & security → API tokens.",
        }
