"""Canvas on the shared default stack: group, chord, chain, saved group results."""

import pytest
from celery import chain, chord, group
from celery.exceptions import ChordError
from celery.result import GroupResult

from harness.helpers import wait_state


@pytest.fixture(scope="module")
def stack(default_stack):
    return default_stack


def sig(stack, name, *args):
    return stack.app.signature(name, args=args)


def test_group(stack):
    result = group(sig(stack, "suite.add", i, i) for i in range(20)).apply_async()
    assert result.get(timeout=60) == [2 * i for i in range(20)]
    assert result.successful()


def test_group_result_save_and_restore(stack):
    result = group(sig(stack, "suite.add", i, 1) for i in range(5)).apply_async()
    assert result.get(timeout=60) == [1, 2, 3, 4, 5]
    result.save()
    restored = GroupResult.restore(result.id, app=stack.app)
    assert restored is not None
    assert [r.id for r in restored.results] == [r.id for r in result.results]
    assert restored.ready()
    assert restored.join_native(timeout=60) == [1, 2, 3, 4, 5]
    restored.delete()
    assert stack.redis().exists(f"celery-taskset-meta-{result.id}") == 0


def test_chord(stack):
    header = [sig(stack, "suite.add", i, i) for i in range(10)]
    result = chord(header)(sig(stack, "suite.tsum"))
    assert result.get(timeout=60) == sum(2 * i for i in range(10))
    group_id = result.parent.id
    # The chord's bookkeeping keys are gone once the body has fired.
    redis = stack.redis()
    for suffix in (".j", ".t", ".s"):
        assert redis.exists(f"celery-taskset-meta-{group_id}{suffix}") == 0


def test_chord_with_a_failing_header_fails(stack):
    header = [sig(stack, "suite.add", 1, 1), sig(stack, "suite.fail", "in header")]
    result = chord(header)(sig(stack, "suite.tsum"))
    # The body is marked failed once every header task has reported.
    wait_state(result, "FAILURE", timeout=60)
    assert isinstance(result.result, ChordError)
    assert "in header" in str(result.result)
    with pytest.raises(ValueError, match="in header"):  # the header's own error
        result.get(timeout=10)


def test_chain(stack):
    result = chain(
        sig(stack, "suite.add", 2, 2), sig(stack, "suite.mul", 10), sig(stack, "suite.add", 1)
    ).apply_async()
    assert result.get(timeout=60) == 41
    assert result.parent.get(timeout=10) == 40
    assert result.parent.parent.get(timeout=10) == 4


def test_chain_of_groups_into_a_chord(stack):
    workflow = chain(
        group(sig(stack, "suite.add", i, 0) for i in range(4)),
        sig(stack, "suite.tsum"),
        sig(stack, "suite.mul", 2),
    )
    assert workflow.apply_async().get(timeout=60) == 12
