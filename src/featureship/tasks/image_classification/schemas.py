"""Request and response models of the image endpoints (limits from the server's flags)."""

from __future__ import annotations

import base64
import io
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, create_model

from featureship.endpoints import Limits


def _example_png() -> str:
    """A 8x8 gray PNG, base64: the schema's example, and what the conformance suite posts."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("L", (8, 8), 128).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


EXAMPLE = {"inputs": [{"image_base64": _example_png()}]}


def image_inputs_request(limits: Limits, name: str = "ImageInputs") -> type[BaseModel]:
    """`{"inputs": [{"image_base64": "..."}]}`; a longer string than --max-image-bytes allows → 413."""
    # base64 of max_image_bytes bytes; checked on the text's length, so the limit holds to
    # within the 2 bytes a last 4-character group may carry (uploads are checked exactly)
    longest = (limits.max_image_bytes + 2) // 3 * 4
    item = create_model(
        "ImageInput", __config__=ConfigDict(extra="forbid"),
        image_base64=(Annotated[str, Field(max_length=longest)],
                      Field(description=f"The image file (PNG, JPEG, WebP), base64; at most "
                            f"{limits.max_image_bytes:,} bytes before encoding.")),
    )
    return create_model(
        name, __config__=ConfigDict(extra="forbid", json_schema_extra={"examples": [EXAMPLE]}),
        inputs=(list[item], Field(min_length=1, max_length=limits.max_batch,
                                  description=f"Images, at most {limits.max_batch} per request. Or "
                                  "send multipart/form-data with one file per image.")),
    )


class Explanation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: str = Field(description="The predicted label.")
    score: float = Field(description="Its probability.")
    saliency_png_base64: str = Field(description="The image with the saliency heat map overlaid, PNG.")
    method: str = Field(description="How the map was computed.")
    attribution_sum: float = Field(description="Sum of the pixel attributions.")
    baseline_score: float = Field(description="Probability of the label for the black baseline image.")
    convergence_delta: float = Field(description="Completeness gap: attribution_sum − (score − "
                                     "baseline_score); near 0 when the integral converged.")


class ExplainResponse(BaseModel):
    explanations: list[Explanation] = Field(description="One per input image, in order.")
