"""`PushResult.kind` is what core acts on; `ok`/`retryable` always agree with it."""

from __future__ import annotations

import pytest

from shelfsync.core.sync.pushing import retryable
from shelfsync.core.types import PassScope, PushOutcome, PushResult


@pytest.mark.parametrize(("ok", "retry", "kind"), [
    (True, False, PushOutcome.DONE),
    (False, True, PushOutcome.RETRY),
    (False, False, PushOutcome.QUARANTINE),
])
def test_a_result_without_a_kind_takes_it_from_ok_and_retryable(ok: bool, retry: bool,
                                                                 kind: PushOutcome) -> None:
    assert PushResult("1", ok=ok, retryable=retry).kind is kind


def test_a_stale_target_is_retried_soon_whatever_its_text_says() -> None:
    stale = PushResult("1", ok=False, kind=PushOutcome.STALE_TARGET,
                       error_message="nothing about where it went")
    assert stale.retryable and retryable(stale)
    # Core reads the kind, never the text: a refusal mentioning a warehouse is a quarantine.
    refused = PushResult("2", ok=False, kind=PushOutcome.QUARANTINE,
                         error_message="The warehouse does not exist")
    assert not retryable(refused)


def test_a_kind_that_contradicts_ok_is_refused() -> None:
    with pytest.raises(ValueError, match="cannot have ok=False"):
        PushResult("1", ok=False, kind=PushOutcome.DONE)
    with pytest.raises(ValueError, match="cannot have ok=True"):
        PushResult("1", ok=True, kind=PushOutcome.RETRY)


def test_a_pass_scope_keeps_each_plugins_space_apart() -> None:
    scope = PassScope()
    scope.space("shopify")["x"] = 1
    assert scope.space("tiktok") == {} and scope.space("shopify") == {"x": 1}
    assert PassScope().space("shopify") == {}  # a new pass starts empty
