"""Property-based fuzzing of the real server's OpenAPI (schemathesis): a text model and a
recommender served together. No request may get a 5xx, no schema-valid request may be
refused, and every answer must match its documented schema.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.config import SchemathesisConfig

import featureship
from tests.servers import served
from tests.unit.recommendation.conftest import FAST, synthetic_frame

# Small limits keep each generated request cheap; the schema carries them, so valid requests
# stay within them and invalid ones must be refused (413 is how the server refuses oversize).
FLAGS = ("--max-batch", "4", "--max-text-chars", "300")
CONFIG = SchemathesisConfig.from_str("""
[checks.negative_data_rejection]
expected-statuses = ["400", "404", "405", "413", "415", "422"]
[checks.positive_data_acceptance]
expected-statuses = ["2xx", "404"]
""")


@pytest.fixture(scope="module")
def server_url(text_bundle: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("fuzz")
    featureship.train("recommendation", data=synthetic_frame(), output=root / "recs",
                      user_column="user", item_column="item", time_column="ts", model="itemknn",
                      **FAST)
    with served([text_bundle, root / "recs"], root / "server.log", *FLAGS) as (url, _):
        yield url


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["positive", "negative"])
def test_the_server_keeps_its_openapi_promises(server_url: str, mode: str) -> None:
    # Strategies are drawn by hand: schemathesis' pytest loader does not run on pytest 9.
    from schemathesis.generation import GenerationMode

    schema = schemathesis.openapi.from_url(f"{server_url}/openapi.json", config=CONFIG)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.path for op in operations} >= {"/v1/models/intent/predict",
                                              "/v1/models/recs/recommend", "/v1/models/recs/similar"}
    for operation in operations:
        if mode == "negative" and operation.method.upper() != "POST":
            continue  # routes without inputs have no invalid request to send
        # an explanation runs the encoder backwards 32 times per text: fewer, costlier cases
        examples = 10 if operation.path.endswith("/explain") else 40
        _check_operation(operation.as_strategy(generation_mode=GenerationMode(mode)), examples)


def _check_operation(strategy: object, examples: int) -> None:
    # A closure, not a default argument: hypothesis refuses @given on functions with defaults.
    from hypothesis import strategies as st

    @given(data=st.data())
    @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck),
              database=None)
    def check(data: st.DataObject) -> None:
        data.draw(strategy).call_and_validate()

    check()
