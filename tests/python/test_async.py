"""pycell.AsyncSandbox / AsyncSession: the event loop keeps running during a run,
and cancelling the awaiting task cancels the run (Session.cancel)."""
import asyncio
import threading
import unittest

import pycell

sandbox = None


def setUpModule():
    global sandbox
    sandbox = pycell.Sandbox()


def tearDownModule():
    sandbox.close()


class AsyncTest(unittest.IsolatedAsyncioTestCase):
    async def asyncSetUp(self):
        self.sb = pycell.AsyncSandbox(sandbox)
        # Long enough that a run which is not cancelled ends as a timeout, never as "cancelled".
        self.s = await self.sb.session(timeout_ms=60_000)

    async def asyncTearDown(self):
        await self.s.close()

    async def test_exec_and_state(self):
        await self.s.exec("x = 6")
        r = await self.s.exec("x * 7")
        self.assertEqual((r.exit_reason, r.value), ("ok", 42))
        await self.s.set_variables({"rows": [1, 2]})
        self.assertEqual(await self.s.get_variable("rows"), [1, 2])
        await self.s.put_file("a.txt", "hi")
        self.assertEqual(await self.s.get_file("a.txt"), b"hi")

    async def test_the_loop_runs_other_tasks_during_a_run(self):
        ticked = threading.Event()

        def wait_for_tick() -> bool:
            """Returns once a task of the event loop ran while the guest was running."""
            return ticked.wait(30)  # False only if the loop was blocked all along

        async with await self.sb.session(functions=[wait_for_tick], functions_as_globals=True) as s:
            run = asyncio.create_task(s.exec("wait_for_tick()"))
            await asyncio.sleep(0)
            ticked.set()  # this line runs only if exec() does not hold the loop
            r = await run
            self.assertEqual((r.exit_reason, r.value), ("ok", True))

    async def test_cancelling_the_task_cancels_the_run_and_rolls_back(self):
        await self.s.exec("kept = 1")
        await self.s.snapshot()  # the committed state a cancelled run returns to
        started = threading.Event()
        run = asyncio.create_task(self.s.exec("lost = 2\nprint('looping', flush=True)\nwhile True:\n    pass",
                                              on_output=lambda stream, text: started.set()))
        await asyncio.to_thread(started.wait)
        run.cancel()
        with self.assertRaises(asyncio.CancelledError):
            await run
        # Cancelled, not timed out: Session::cancel rolls back (a timeout would keep `lost`).
        r = await self.s.exec("(kept, 'lost' in globals())")
        self.assertEqual(r.value, [1, False])
        self.assertEqual((await self.s.exec("1 + 1")).value, 2)

    async def test_a_cancel_before_the_run_starts_still_stops_it(self):
        run = asyncio.create_task(self.s.exec("lost = 1\nwhile True:\n    pass"))
        await asyncio.sleep(0)  # the task has started and handed exec to a worker thread
        run.cancel()
        with self.assertRaises(asyncio.CancelledError):
            await run
        self.assertEqual((await self.s.exec("'lost' in globals()")).value, False)  # cancelled: rolled back

    async def test_sandbox_create_run_and_fork(self):
        async with await pycell.AsyncSandbox.create(timeout_ms=5000) as sb:
            self.assertEqual((await sb.run("sum(range(10))")).value, 45)
            async with await sb.session() as s:
                await s.exec("a = [1]")
                async with await s.fork() as f:
                    await f.exec("a.append(2)")
                    self.assertEqual((await f.exec("a")).value, [1, 2])
                self.assertEqual((await s.exec("a")).value, [1])
                self.assertTrue(isinstance(await s.snapshot(), pycell.Snapshot))
            self.assertTrue(s.closed)


if __name__ == "__main__":
    unittest.main()
