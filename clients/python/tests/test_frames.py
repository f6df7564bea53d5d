import json
import unittest
from urllib.parse import parse_qs, urlsplit

from agent_gateway import FrameError, Message, TopicMessage, connect_url, content_parts, parse_frame
from agent_gateway.frames import encode_frame, parse_timestamp


class ConnectUrlTest(unittest.TestCase):
    def test_http_becomes_ws_and_the_path_is_added(self):
        url = urlsplit(connect_url("http://gw.example:8700", "a-1"))
        self.assertEqual((url.scheme, url.netloc, url.path), ("ws", "gw.example:8700", "/gateway/connect"))
        self.assertEqual(parse_qs(url.query), {"agent_id": ["a-1"]})

    def test_https_becomes_wss_and_an_existing_path_is_kept(self):
        url = urlsplit(connect_url("https://gw.example/gateway/connect/", "a"))
        self.assertEqual((url.scheme, url.path), ("wss", "/gateway/connect"))
        self.assertEqual(urlsplit(connect_url("wss://gw.example/base", "a")).path, "/base/gateway/connect")

    def test_name_and_capabilities_are_encoded_capabilities_as_a_json_array(self):
        query = parse_qs(urlsplit(connect_url("ws://h", "a", "My Agent & co", ["search", "x/y"])).query)
        self.assertEqual(query["agent_name"], ["My Agent & co"])
        self.assertEqual(json.loads(query["capabilities"][0]), ["search", "x/y"])
        self.assertNotIn("token", query)

    def test_the_token_goes_in_the_query_only_when_asked(self):
        query = parse_qs(urlsplit(connect_url("ws://h", "a", query_token="agt_x")).query)
        self.assertEqual(query["token"], ["agt_x"])

    def test_other_schemes_and_missing_hosts_are_refused(self):
        for bad in ("ftp://h", "localhost:8700", "ws://"):
            with self.assertRaises(ValueError, msg=bad):
                connect_url(bad, "a")


class ContentPartsTest(unittest.TestCase):
    def test_a_str_is_a_text_part_and_a_dict_a_data_part(self):
        self.assertEqual(content_parts("hi"), [{"type": "text", "text": "hi"}])
        self.assertEqual(content_parts({"id": 1}), [{"type": "data", "data": {"id": 1}}])

    def test_a_list_of_parts_is_kept_and_other_json_is_data(self):
        parts = [{"type": "text", "text": "a"}, {"type": "data", "data": [1]}]
        self.assertEqual(content_parts(parts), parts)
        self.assertEqual(content_parts(42), [{"type": "data", "data": 42}])

    def test_a_list_that_is_not_parts_is_refused(self):
        with self.assertRaises(ValueError):
            content_parts([1, 2])


class FramesTest(unittest.TestCase):
    def test_a_server_frame_is_a_dict_with_a_type(self):
        self.assertEqual(parse_frame('{"type":"ack","id":3,"status":"pong"}'), {"type": "ack", "id": 3, "status": "pong"})

    def test_broken_frames_raise_frame_error(self):
        for raw in ("not json", "[1]", '{"id": 1}', '{"type": 7}', b'{"type":"ack"}'):
            with self.assertRaises(FrameError, msg=repr(raw)):
                parse_frame(raw)

    def test_encode_leaves_out_none_fields_and_keeps_false(self):
        frame = json.loads(encode_frame("result", 4, conversation_id="c", success=False, metadata=None))
        self.assertEqual(frame, {"type": "result", "id": 4, "conversation_id": "c", "success": False})
        self.assertEqual(json.loads(encode_frame("ping")), {"type": "ping"})

    def test_timestamps_parse_with_z_or_offset(self):
        self.assertEqual(parse_timestamp("2026-03-04T12:00:00Z").isoformat(), "2026-03-04T12:00:00+00:00")
        self.assertIsNone(parse_timestamp(None))
        self.assertIsNone(parse_timestamp("yesterday"))

    def test_message_shortcuts(self):
        message = Message(
            {
                "type": "message",
                "conversation_id": "c1",
                "from_agent_id": "b",
                "content": [{"type": "text", "text": "six"}, {"type": "data", "data": {"x": 1}}, {"type": "text", "text": "seven"}],
                "expect_result": True,
            }
        )
        self.assertEqual((message.conversation_id, message.from_agent_id, message.text, message.data), ("c1", "b", "six seven", {"x": 1}))
        self.assertTrue(message.expect_result)
        self.assertFalse(Message({"content": "junk"}).expect_result)
        self.assertEqual(Message({"content": "junk"}).text, "")
        self.assertEqual(TopicMessage({"topic": "jobs/new"}).topic, "jobs/new")


if __name__ == "__main__":
    unittest.main()
