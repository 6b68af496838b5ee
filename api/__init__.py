"""REST helpers owned by api_routes: request/response schemas and the workflow endpoints."""
