# asyncio.run with gather, a queue, a timeout and a TaskGroup inside the sandbox.
import asyncio


async def worker(name, queue, results):
    while (item := await queue.get()) is not None:
        await asyncio.sleep(0.001)
        results.append((name, item * item))


async def main():
    queue, results = asyncio.Queue(), []
    async with asyncio.TaskGroup() as tg:
        for name in ("w1", "w2"):
            tg.create_task(worker(name, queue, results))
        for i in range(4):
            await queue.put(i)
        for _ in range(2):
            await queue.put(None)
    print(sorted(square for _, square in results))
    try:
        async with asyncio.timeout(0.01):
            await asyncio.sleep(3600)
    except TimeoutError:
        print("timed out")
    return await asyncio.gather(asyncio.sleep(0, "a"), asyncio.sleep(0.001, "b"))


print(asyncio.run(main()))
