"""One APIRouter per resource (prefix + tags); `api.main.create_app` includes them all."""
