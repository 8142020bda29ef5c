"""Jobs travel through Redis as msgpack: the app's jobs run, a pickle placed in Redis
(anyone who can write to Redis could plant one) never runs code in the worker."""

import os
import pickle
import time
import uuid

import msgpack
import pytest
from arq.jobs import SerializationError


class _Planted:
    """Unpickling this creates a folder: the proof that code ran."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (os.mkdir, (self.path,))


async def test_a_job_the_app_enqueues_is_msgpack_and_the_worker_runs_it(app, run_jobs, mailbox):
    job = await app.state.redis.enqueue_job(
        "send_email",
        {
            "to": ["someone@example.com"],
            "subject": "queued as msgpack",
            "text": "hello",
            "attachments": [("blob.bin", "application/octet-stream", b"\x00binary\xff")],
        },
        _job_id="msgpack-job",
    )
    assert job is not None
    stored = msgpack.unpackb(await app.state.redis.get("arq:job:msgpack-job"), raw=False)
    assert stored["f"] == "send_email"
    assert stored["a"][0]["subject"] == "queued as msgpack"

    assert await run_jobs() == 1
    [message] = mailbox.messages
    assert message["Subject"] == "queued as msgpack"
    [attachment] = list(message.iter_attachments())
    assert attachment.get_content() == b"\x00binary\xff"


async def test_a_pickled_job_in_redis_runs_no_code_and_fails_alone(
    app, run_jobs, tmp_path, mailbox
):
    marker = tmp_path / "pickle-ran"
    redis = app.state.redis
    planted = pickle.dumps(
        {
            "t": 1,
            "f": "send_email",
            "a": (_Planted(str(marker)),),
            "k": {},
            "et": int(time.time() * 1000),
        }
    )
    await redis.set("arq:job:planted", planted)
    await redis.zadd("arq:queue", {"planted": int(time.time() * 1000)})
    # A genuine job queued next to it still runs.
    await redis.enqueue_job(
        "send_email", {"to": ["ok@example.com"], "subject": "genuine", "text": "hi"}
    )

    assert await run_jobs() == 2
    assert not marker.exists(), "the pickled payload ran code in the worker"
    assert [m["Subject"] for m in mailbox.messages] == ["genuine"]
    # The planted job is gone from the queue, recorded as failed (its result is msgpack too).
    assert await redis.zscore("arq:queue", "planted") is None
    result = msgpack.unpackb(await redis.get("arq:result:planted"), raw=False)
    assert result["s"] is False
    assert "unable to deserialize job" in result["r"]


async def test_a_job_argument_that_is_not_plain_data_is_refused_when_enqueued(app):
    with pytest.raises(SerializationError):
        await app.state.redis.enqueue_job("touch_api_key", uuid.uuid4(), "2026-01-01T00:00:00")
    assert await app.state.redis.zcard("arq:queue") == 0
