"""The local broker's cluster id is one Kafka's storage tool accepts."""

from __future__ import annotations

import base64
import uuid

import pytest

from deploy.local import broker


def test_a_cluster_id_never_starts_with_a_dash(monkeypatch: pytest.MonkeyPatch) -> None:
    # 0xF8 encodes to "-" first: the storage tool took such an id for an option.
    drawn = iter([uuid.UUID(bytes=b"\xf8" + bytes(15)), uuid.UUID(bytes=bytes(16))])
    monkeypatch.setattr(broker.uuid, "uuid4", lambda: next(drawn))
    found = broker.new_cluster_id()
    assert found == base64.urlsafe_b64encode(bytes(16)).rstrip(b"=").decode()
    assert len(found) == 22 and not found.startswith("-")
