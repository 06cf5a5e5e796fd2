import modelarts_poller


def test_all_is_sorted_and_unique() -> None:
    names = modelarts_poller.__all__
    assert names == sorted(names)
    assert len(names) == len(set(names))


def test_all_names_resolve_and_are_public_objects() -> None:
    for name in modelarts_poller.__all__:
        obj = getattr(modelarts_poller, name)
        assert obj is not None, name


def test_nothing_public_is_left_out_of_all() -> None:
    exported = set(modelarts_poller.__all__)
    public = {
        n
        for n, v in vars(modelarts_poller).items()
        if not n.startswith("_") and not isinstance(v, type(modelarts_poller))
    }
    assert public <= exported, public - exported
