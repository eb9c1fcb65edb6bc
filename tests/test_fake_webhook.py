"""The fake Slack webhook the notification tests post to."""

from __future__ import annotations

import requests

from fakes import FakeWebhook


def test_fake_webhook_records_messages_and_fails_on_demand():
    with FakeWebhook() as hook:
        assert hook.url.endswith("/services/T000/B000/XXXX")
        ok = requests.post(hook.url, json={"text": "sync done", "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": "*42* bottles"}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": "run 7"}]},
        ]}, timeout=5)  # fmt: skip
        assert ok.status_code == 200 and ok.text == "ok"
        hook.fail_next(2, status=503)
        statuses = [requests.post(hook.url, json={"text": f"retry {i}"}, timeout=5).status_code for i in range(3)]
        assert statuses == [503, 503, 200]
        assert len(hook.messages) == 2 and hook.messages[1] == {"text": "retry 2"}
        assert hook.texts() == ["sync done", "*42* bottles", "run 7", "retry 2"]
        assert [status for _, status in hook.attempts] == [200, 503, 503, 200]
