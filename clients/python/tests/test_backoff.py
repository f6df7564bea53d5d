import unittest

from agent_gateway import full_jitter_delay


class FullJitterDelayTest(unittest.TestCase):
    def test_the_ceiling_doubles_from_the_base_up_to_the_cap(self):
        top = lambda: 1.0  # noqa: E731 - the largest draw shows the ceiling
        self.assertEqual([full_jitter_delay(n, 0.5, 10, random=top) for n in range(7)], [0.5, 1, 2, 4, 8, 10, 10])

    def test_the_delay_is_the_draw_times_the_ceiling(self):
        self.assertEqual(full_jitter_delay(3, 0.5, 30, random=lambda: 0.25), 1.0)
        self.assertEqual(full_jitter_delay(0, 5, 60, random=lambda: 0.0), 0.0)

    def test_real_draws_stay_within_zero_and_the_ceiling_and_spread(self):
        draws = [full_jitter_delay(4, 0.5, 30) for _ in range(2000)]
        self.assertTrue(all(0 <= d <= 8 for d in draws))
        # Full jitter spreads over the whole range rather than clustering at the ceiling.
        self.assertLess(min(draws), 1)
        self.assertGreater(max(draws), 7)

    def test_retry_after_is_a_floor(self):
        self.assertEqual(full_jitter_delay(0, 0.5, 30, retry_after=2.5, random=lambda: 1.0), 2.5)
        self.assertEqual(full_jitter_delay(5, 0.5, 30, retry_after=2.5, random=lambda: 1.0), 16)

    def test_huge_attempt_numbers_do_not_overflow(self):
        self.assertEqual(full_jitter_delay(10_000, 0.5, 30, random=lambda: 1.0), 30)

    def test_negative_inputs_are_refused(self):
        with self.assertRaises(ValueError):
            full_jitter_delay(-1, 0.5, 30)
        with self.assertRaises(ValueError):
            full_jitter_delay(0, -0.5, 30)


if __name__ == "__main__":
    unittest.main()
