"""The PostgreSQL advisory lock against the real server on 127.0.0.1:5432 (skips where absent)."""

from __future__ import annotations

import socket

import pytest

from seqhealth.retraining.lock import PostgresRetrainLock, RetrainLockBusy

pytestmark = pytest.mark.postgres
URL = "postgresql+psycopg2://postgres@127.0.0.1:5432/test"


@pytest.fixture
def postgres_url():
    try:
        socket.create_connection(("127.0.0.1", 5432), timeout=1).close()
    except OSError:
        pytest.skip("PostgreSQL is not reachable at 127.0.0.1:5432")
    return URL


def test_second_holder_is_refused_with_ex_tempfail_until_the_first_releases(postgres_url):
    first, second = PostgresRetrainLock("lock_test_task", postgres_url), PostgresRetrainLock("lock_test_task", postgres_url)
    first.acquire()
    try:
        with pytest.raises(RetrainLockBusy) as busy:
            second.acquire()
        assert busy.value.code == 75 and "another retrain of lock_test_task" in str(busy.value)
        other_task = PostgresRetrainLock("lock_test_other_task", postgres_url)
        other_task.acquire()  # a different task has its own key
        other_task.release()
    finally:
        first.release()
    second.acquire()  # free again once released
    second.release()
