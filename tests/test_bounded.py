"""casework.bounded.put: a process-kept mapping never grows past its limit; stale entries go first."""

from casework import bounded


def test_below_the_limit_nothing_goes():
    kept = {"a": 1}
    bounded.put(kept, "b", 2, 3, lambda _v: True)
    assert kept == {"a": 1, "b": 2}


def test_when_full_the_stale_entries_go_and_the_others_stay():
    kept = {"old": 0, "fresh": 5}
    bounded.put(kept, "new", 7, 2, lambda v: v < 1)
    assert kept == {"fresh": 5, "new": 7}


def test_when_nothing_is_stale_a_full_mapping_is_emptied_first():
    kept = {"a": 5, "b": 6}
    bounded.put(kept, "c", 7, 2, lambda _v: False)
    assert kept == {"c": 7}
