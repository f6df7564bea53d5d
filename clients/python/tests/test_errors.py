import unittest

from agent_gateway import GatewayError, is_terminal_close_code


class GatewayErrorTest(unittest.TestCase):
    def test_an_error_frame_keeps_code_reason_retry_and_request_id(self):
        error = GatewayError.from_frame(
            {"type": "error", "id": 2, "code": "RATE_LIMIT", "message": "slow down", "retry_after_ms": 250, "request_id": "r-1"}
        )
        self.assertEqual((error.code, error.message, error.retry_after_ms, error.request_id), ("RATE_LIMIT", "slow down", 250, "r-1"))
        self.assertEqual(str(error), "RATE_LIMIT: slow down")
        unauthorized = GatewayError.from_frame({"type": "error", "code": "UNAUTHORIZED", "message": "no", "reason": "unknown_token"}, 4401)
        self.assertEqual((unauthorized.reason, unauthorized.close_code), ("unknown_token", 4401))

    def test_a_malformed_error_frame_still_gives_a_code(self):
        error = GatewayError.from_frame({"type": "error", "retry_after_ms": True})
        self.assertEqual(error.code, "UNAVAILABLE")
        self.assertIsNone(error.retry_after_ms)

    def test_a_failed_result_maps_to_its_code_or_agent_error(self):
        self.assertEqual(GatewayError.from_result_error({"code": "TIMEOUT", "message": "no result"}).code, "TIMEOUT")
        handler_error = GatewayError.from_result_error({"code": "AGENT_ERROR", "message": "boom"})
        self.assertEqual((handler_error.code, handler_error.message), ("AGENT_ERROR", "boom"))
        bare = GatewayError.from_result_error("it broke")
        self.assertEqual((bare.code, bare.message), ("AGENT_ERROR", "it broke"))
        self.assertEqual(GatewayError.from_result_error({"detail": 1}).code, "AGENT_ERROR")
        self.assertEqual(GatewayError.from_result_error(None).code, "AGENT_ERROR")

    def test_close_codes_4400_to_4499_are_terminal(self):
        self.assertEqual(
            [c for c in (1000, 1006, 4399, 4400, 4401, 4409, 4440, 4499, 4500, 4503, 4529) if is_terminal_close_code(c)],
            [4400, 4401, 4409, 4440, 4499],
        )
        self.assertFalse(is_terminal_close_code(None))

    def test_terminal_at_connect_prefers_the_close_code(self):
        self.assertTrue(GatewayError("UNAUTHORIZED", "x").terminal_at_connect)
        self.assertFalse(GatewayError("UNAVAILABLE", "x").terminal_at_connect)
        self.assertFalse(GatewayError("RATE_LIMIT", "x", close_code=4529).terminal_at_connect)
        self.assertTrue(GatewayError("UNAVAILABLE", "x", close_code=4403).terminal_at_connect)


if __name__ == "__main__":
    unittest.main()
