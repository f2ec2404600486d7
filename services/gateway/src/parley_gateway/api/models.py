"""The model catalogue at the HTTP edge: ``GET /api/models`` and the check that a new session
names a model of the catalogue (``PARLEY_MODELS_FILE``, else the bundled one)."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request
from fastapi_problem.error import UnprocessableProblem
from parley_providers import Catalogue, load_catalogue
from pydantic import BaseModel

from ..settings import GatewaySettings
from .auth import CurrentUser

router = APIRouter(prefix="/api")


class UnknownModel(UnprocessableProblem):
    """422: the session names a model that is not in the catalogue. Like every 422, it carries
    ``errors`` (``[{"loc", "msg", "type"}]``, here at ``body.model``)."""

    title = "Unknown model"

    def __init__(self, detail: str) -> None:
        super().__init__(
            detail, errors=[{"loc": ["body", "model"], "msg": detail, "type": "unknown_model"}]
        )


class ModelOut(BaseModel):
    """A model sessions may name: its provider, the provider's name of it, a description, and
    whether it is the default of a session created without one."""

    name: str
    provider: str
    model_id: str
    description: str
    default: bool


class ModelList(BaseModel):
    """The catalogue's models, in file order."""

    items: list[ModelOut]


def install(app: FastAPI, settings: GatewaySettings) -> None:
    """Load the catalogue onto ``app`` and add the models route."""
    app.state.catalogue = load_catalogue(settings.models_file)
    app.include_router(router)


def check_model(request: Request, name: str | None) -> str:
    """The model a new session gets: ``name``, or the default (``PARLEY_DEFAULT_MODEL``).

    Raises:
        UnknownModel: the catalogue does not list it.
    """
    chosen = name or request.app.state.settings.default_model
    catalogue: Catalogue = request.app.state.catalogue
    if catalogue.get(chosen) is None:
        raise UnknownModel(
            f"the model {chosen!r} is not in the catalogue; GET /api/models lists the models"
        )
    return chosen


@router.get("/models", response_model=ModelList, tags=["models"])
async def list_models(request: Request, user: CurrentUser) -> ModelList:
    """The models a session may name."""
    catalogue: Catalogue = request.app.state.catalogue
    default = request.app.state.settings.default_model
    return ModelList(
        items=[
            ModelOut(
                name=m.name,
                provider=m.provider,
                model_id=m.upstream_model,
                description=m.description,
                default=m.name == default,
            )
            for m in catalogue.models
        ]
    )
