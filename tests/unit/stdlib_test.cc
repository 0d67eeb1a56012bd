// The stdlib modules built on C libraries or on the event loop, through the
// C++ API: sqlite3 (memory, /tmp, mounts, locking, quota, traps), bz2, lzma,
// asyncio, and cells with top-level await.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "host_dir_support.h"
#include "test_support.h"

namespace pycell {
namespace {

namespace fs = std::filesystem;
using testing::exec_cancelled_after;
using testing::exec_ok;
using testing::get;
using testing::host_names;
using testing::new_session;
using testing::outcome;
using testing::TempDir;

SessionConfig with_mount(const fs::path& host, const std::string& guest, Mount::Access access) {
  SessionConfig c;
  c.mounts.push_back({host, guest, access, false});
  return c;
}

TEST(Stdlib, Bz2AndLzmaRoundTrip) {
  Session s = new_session();
  EXPECT_EQ(outcome(s,
                    "import bz2, lzma\n"
                    "data = b'pycell ' * 1000\n"
                    "print(bz2.decompress(bz2.compress(data)) == data,\n"
                    "      lzma.decompress(lzma.compress(data)) == data,\n"
                    "      lzma.decompress(lzma.compress(data, format=lzma.FORMAT_ALONE)) == data)\n"
                    "with bz2.open('/tmp/x.bz2', 'wt') as f: f.write('hello bz2')\n"
                    "with lzma.open('/tmp/x.xz', 'wt') as f: f.write('hello xz')\n"
                    "print(bz2.open('/tmp/x.bz2', 'rt').read(), lzma.open('/tmp/x.xz', 'rt').read())\n"),
            "True True True\nhello bz2 hello xz\n");
}

TEST(Sqlite, MemoryDatabase) {
  Session s = new_session();
  EXPECT_EQ(outcome(s,
                    "import sqlite3\n"
                    "m = sqlite3.connect(':memory:')\n"
                    "m.execute('create virtual table doc using fts5(body)')\n"
                    "m.executemany('insert into doc values (?)', [('a sandbox',), ('a cell',)])\n"
                    "print(m.execute(\"select body from doc where doc match 'cell'\").fetchall(),\n"
                    "      m.execute('select sqrt(16.0), json_extract(\\'{\"a\": 7}\\', \\'$.a\\')').fetchone(),\n"
                    "      m.execute('pragma journal_mode').fetchone()[0])\n"),
            "[('a cell',)] (4.0, 7) memory\n");
}

// A file database starts in TRUNCATE journal mode (see guest/sqlite/pycell_sqlite.c),
// WAL is not available, and no journal is left once the last connection closes.
TEST(Sqlite, TmpFileDatabase) {
  Session s = new_session();
  EXPECT_EQ(outcome(s,
                    "import os, sqlite3\n"
                    "c = sqlite3.connect('/tmp/t.db')\n"
                    "c.execute('create table t(x)')\n"
                    "c.executemany('insert into t values (?)', [(i,) for i in range(100)])\n"
                    "c.commit()\n"
                    "print(c.execute('pragma journal_mode').fetchone()[0],\n"
                    "      c.execute('pragma journal_mode=wal').fetchone()[0])\n"
                    "c.close()\n"
                    "print(sorted(os.listdir('/tmp')))\n"
                    "print(sqlite3.connect('/tmp/t.db').execute('select sum(x) from t').fetchone()[0])\n"),
            "truncate truncate\n['t.db']\n4950\n");
}

// Temporary files (a temp table spilling out of its cache; also sorts and
// VACUUM) are created with permission bits SQLite then sets with fchmod, which
// SQLite's WASI build calls through a null pointer: that trapped the guest.
TEST(Sqlite, TemporaryFilesWork) {
  Session s = new_session();
  EXPECT_EQ(outcome(s,
                    "import sqlite3\n"
                    "c = sqlite3.connect('/tmp/t.db')\n"
                    "c.execute('create temp table big(x)')\n"
                    "c.execute('pragma temp.cache_size=2')\n"
                    "c.executemany('insert into big values (?)', [(str(i) * 100,) for i in range(2000)])\n"
                    "c.execute('create table t(x)')\n"
                    "c.execute('insert into t select x from big')\n"
                    "c.commit()\n"
                    "c.execute('vacuum')\n"
                    "print(c.execute('select count(*) from t').fetchone()[0])\n"),
            "2000\n");
}

// Two connections of one session to one file lock each other as SQLite's
// protocol requires. Without the guest's lock table, the reader would take
// the writer's journal for a hot one and roll it back.
TEST(Sqlite, ConnectionsOfOneSessionLockEachOther) {
  Session s = new_session();
  EXPECT_EQ(outcome(s,
                    "import sqlite3\n"
                    "a = sqlite3.connect('/tmp/l.db', timeout=0, isolation_level=None)\n"
                    "b = sqlite3.connect('/tmp/l.db', timeout=0, isolation_level=None)\n"
                    "a.execute('create table t(x)')\n"
                    "a.execute('begin')\n"
                    "a.execute('insert into t values (1)')\n"
                    "print(b.execute('select count(*) from t').fetchone()[0])\n"
                    "try:\n"
                    "    b.execute('insert into t values (2)')\n"
                    "except sqlite3.OperationalError as e:\n"
                    "    print(e)\n"
                    "a.execute('commit')\n"
                    "b.execute('insert into t values (2)')\n"
                    "print(a.execute('select group_concat(x) from t').fetchone()[0],\n"
                    "      a.execute('pragma integrity_check').fetchone()[0])\n"),
            "0\ndatabase is locked\n1,2 ok\n");
}

/// Makes `dir`/db.sqlite with rows 1, 2, 3 through a read-write mount.
void make_database(const fs::path& dir) {
  Session s = new_session(with_mount(dir, "/work", Mount::Access::kReadWrite));
  ASSERT_EQ(outcome(s,
                    "import sqlite3\n"
                    "c = sqlite3.connect('/work/db.sqlite')\n"
                    "c.execute('create table t(x)')\n"
                    "c.executemany('insert into t values (?)', [(1,), (2,), (3,)])\n"
                    "c.commit()\n"
                    "c.close()\n"),
            "");
}

TEST(Sqlite, ReadWriteMountPublishesAtClose) {
  TempDir t;
  make_database(t.path);
  EXPECT_EQ(host_names(t.path), std::vector<std::string>{"db.sqlite"});
  Session s = new_session(with_mount(t.path, "/work", Mount::Access::kReadWrite));
  EXPECT_EQ(outcome(s,
                    "import sqlite3\n"
                    "c = sqlite3.connect('/work/db.sqlite')\n"
                    "c.execute('insert into t values (4)')\n"
                    "c.commit()\n"),
            "");
  // Committed, but the connection (and so its private copy) is still open.
  Session reader = new_session(with_mount(t.path, "/work", Mount::Access::kReadOnly));
  const std::string count = "import sqlite3\nprint(sqlite3.connect('file:/work/db.sqlite?mode=ro', uri=True)"
                            ".execute('select count(*) from t').fetchone()[0])\n";
  EXPECT_EQ(outcome(reader, count), "3\n");
  EXPECT_EQ(outcome(s, "c.close()\n"), "");
  EXPECT_EQ(outcome(reader, count), "4\n");
  EXPECT_EQ(host_names(t.path), std::vector<std::string>{"db.sqlite"});
}

TEST(Sqlite, ReadOnlyMountIsReadOnly) {
  TempDir t;
  make_database(t.path);
  Session s = new_session(with_mount(t.path, "/data", Mount::Access::kReadOnly));
  EXPECT_EQ(outcome(s,
                    "import sqlite3\n"
                    "for target in ('file:/data/db.sqlite?mode=ro', '/data/db.sqlite'):\n"
                    "    c = sqlite3.connect(target, uri=True)\n"
                    "    print(c.execute('select group_concat(x) from t').fetchone()[0])\n"
                    "    try:\n"
                    "        c.execute('insert into t values (9)')\n"
                    "    except sqlite3.OperationalError as e:\n"
                    "        print(e)\n"
                    "    c.close()\n"),
            "1,2,3\nattempt to write a readonly database\n1,2,3\nattempt to write a readonly database\n");
  EXPECT_EQ(host_names(t.path), std::vector<std::string>{"db.sqlite"});
}

/// The rows of `dir`/db.sqlite and its integrity, read in a fresh session.
std::string read_back(const fs::path& dir) {
  Session s = new_session(with_mount(dir, "/work", Mount::Access::kReadWrite));
  return outcome(s,
                 "import sqlite3\n"
                 "c = sqlite3.connect('/work/db.sqlite')\n"
                 "print(c.execute('select group_concat(x) from t').fetchone()[0],\n"
                 "      c.execute('pragma integrity_check').fetchone()[0])\n"
                 "c.close()\n");
}

// Fuel runs out at 128 points of a connection's third and fourth commits (fuel is
// deterministic: each limit stops it somewhere else, from the journal's
// writes to its truncation): the database on the host is always the one before
// the connection opened, never a mixture, and no hot journal is left behind
// (in DELETE mode, a stop between closing and deleting the journal would leave
// the second commit's journal, which rolled back into the host's older file
// mixes two states).
TEST(Sqlite, TrapDuringCommitsLeavesTheOldDatabase) {
  TempDir t;
  make_database(t.path);
  const std::string setup = "import sqlite3\nc = sqlite3.connect('/work/db.sqlite')\n";
  const std::string commit = "c.execute('insert into t values (10)')\n"
                             "c.execute('update t set x = x + 1 where x >= 10')\n"
                             "c.commit()\n";
  // What the setup and one commit cost, measured on a copy.
  auto fuel_of = [&](const std::string& code) {
    TempDir scratch;
    fs::copy_file(t.path / "db.sqlite", scratch.path / "db.sqlite");
    Session s = new_session(with_mount(scratch.path, "/work", Mount::Access::kReadWrite));
    ExecResult r = exec_ok(s, code);
    EXPECT_EQ(r.exit_reason, ExitReason::kOk) << r.stderr_text;
    return r.fuel_used;
  };
  const uint64_t before = fuel_of(setup + "c.execute('select 1')\n");
  const uint64_t one = fuel_of(setup + commit) - before;
  ASSERT_GT(one, 1'000u);  // fuel counts loop iterations: a commit has thousands
  for (int step = 0; step < 128; ++step) {
    SessionConfig c = with_mount(t.path, "/work", Mount::Access::kReadWrite);
    c.limits.fuel = before + 2 * one + one * step / 64;  // the run stops exactly there
    Session s = new_session(c);
    ExecResult r = exec_ok(s, setup +
                                  "while True:\n"
                                  "    c.execute('insert into t values (10)')\n"
                                  "    c.execute('update t set x = x + 1 where x >= 10')\n"
                                  "    c.commit()\n");
    EXPECT_EQ(r.exit_reason, ExitReason::kFuel) << step << r.stderr_text;
    // The journal an earlier commit of the connection published is empty.
    const fs::path journal = t.path / "db.sqlite-journal";
    EXPECT_TRUE(!fs::exists(journal) || fs::file_size(journal) == 0) << step;
    EXPECT_EQ(read_back(t.path), "1,2,3 ok\n") << step;
    EXPECT_EQ(host_names(t.path), std::vector<std::string>{"db.sqlite"}) << step;
  }
}

TEST(Sqlite, TrapDuringCommitInTmpRollsBackWithTheSession) {
  SessionConfig c;
  c.limits.fuel = 5'000'000;
  Session s = new_session(c);
  EXPECT_EQ(outcome(s,
                    "import sqlite3\n"
                    "c = sqlite3.connect('/tmp/db.sqlite')\n"
                    "c.execute('create table t(x)')\n"
                    "c.execute('insert into t values (1)')\n"
                    "c.commit()\n"),
            "");
  ASSERT_TRUE(s.snapshot());
  ExecResult r = exec_ok(s,
                         "while True:\n"
                         "    c.execute('insert into t values (2)')\n"
                         "    c.commit()\n");
  EXPECT_EQ(r.exit_reason, ExitReason::kFuel);
  EXPECT_TRUE(r.rolled_back);
  EXPECT_EQ(outcome(s, "print(c.execute('select group_concat(x) from t').fetchone()[0],\n"
                       "      c.execute('pragma integrity_check').fetchone()[0])\n"),
            "1 ok\n");
}

// Past the write quota the transaction fails and the database stays as it was
// (after a failed rollback, its hot journal is published with it, and the next
// writer rolls it back).
TEST(Sqlite, WriteQuotaFailsTheTransactionNotTheDatabase) {
  TempDir t;
  make_database(t.path);
  SessionConfig c = with_mount(t.path, "/work", Mount::Access::kReadWrite);
  c.limits.mount_write_bytes = 64 * 1024;
  Session s = new_session(c);
  EXPECT_EQ(outcome(s,
                    "import sqlite3\n"
                    "c = sqlite3.connect('/work/db.sqlite')\n"
                    "try:\n"
                    "    c.execute('insert into t values (?)', (b'x' * 200_000,))\n"
                    "    c.commit()\n"
                    "except sqlite3.OperationalError as e:\n"
                    "    print(type(e).__name__)\n"
                    "c.close()\n"),
            "OperationalError\n");
  EXPECT_EQ(read_back(t.path), "1,2,3 ok\n");
}

TEST(Asyncio, RunGatherQueuesTimeoutsTaskGroup) {
  Session s = new_session();
  EXPECT_EQ(outcome(s,
                    "import asyncio\n"
                    "async def double(x):\n"
                    "    await asyncio.sleep(0.01)\n"
                    "    return 2 * x\n"
                    "async def fail():\n"
                    "    await asyncio.sleep(0)\n"
                    "    raise ValueError('boom')\n"
                    "async def main():\n"
                    "    print(await asyncio.gather(*(double(i) for i in range(3))))\n"
                    "    try:\n"
                    "        await asyncio.wait_for(asyncio.sleep(10), 0.01)\n"
                    "    except TimeoutError:\n"
                    "        print('wait_for timed out')\n"
                    "    try:\n"
                    "        async with asyncio.timeout(0.01):\n"
                    "            await asyncio.sleep(10)\n"
                    "    except TimeoutError:\n"
                    "        print('timeout() timed out')\n"
                    "    q = asyncio.Queue()\n"
                    "    async def produce():\n"
                    "        for i in range(3):\n"
                    "            await q.put(i)\n"
                    "        await q.put(None)\n"
                    "    async def consume():\n"
                    "        got = []\n"
                    "        while (item := await q.get()) is not None:\n"
                    "            got.append(item)\n"
                    "        return got\n"
                    "    async with asyncio.TaskGroup() as tg:\n"
                    "        tg.create_task(produce())\n"
                    "        consumer = tg.create_task(consume())\n"
                    "    print(consumer.result())\n"
                    "    try:\n"
                    "        async with asyncio.TaskGroup() as tg:\n"
                    "            tg.create_task(asyncio.sleep(10))\n"
                    "            tg.create_task(fail())\n"
                    "    except* ValueError as eg:\n"
                    "        print('TaskGroup:', [str(e) for e in eg.exceptions])\n"
                    "    return 'done'\n"
                    "print(asyncio.run(main()))\n"
                    "print(type(asyncio.new_event_loop()).__module__)\n"),
            "[0, 2, 4]\nwait_for timed out\ntimeout() timed out\n[0, 1, 2]\nTaskGroup: ['boom']\ndone\n"
            "_pycell_asyncio\n");
}

SessionConfig quick_timeout() {
  SessionConfig c;
  c.limits.timeout_ms = 300;
  return c;
}

// The loop sleeps in poll_oneoff, which wakes at the run's deadline: the soft
// stop ends a long sleep, an idle loop, and a top-level await alike, and the
// session keeps its state.
TEST(Asyncio, TimeoutStopsSleepsAndIdleLoops) {
  for (const char* code : {"import asyncio\nasyncio.run(asyncio.sleep(10**6))\n",
                           "import asyncio\nawait asyncio.sleep(10**6)\n",
                           "import asyncio\nawait asyncio.get_running_loop().create_future()\n"}) {
    Session s = new_session(quick_timeout());
    ExecResult r = exec_ok(s, code);
    EXPECT_EQ(r.exit_reason, ExitReason::kTimeout) << code << r.stderr_text;
    ASSERT_TRUE(r.error) << code;
    EXPECT_EQ(r.error->type, "TimeoutError") << code;
    EXPECT_FALSE(r.rolled_back) << code;
    EXPECT_EQ(outcome(s, "print(await asyncio.sleep(0, result='still here'))"), "still here\n") << code;
  }
}

TEST(Asyncio, CancelStopsAnAwait) {
  SessionConfig c;
  c.limits.timeout_ms = 0;  // only the cancel can end it
  Session s = new_session(c);
  ExecResult r = exec_cancelled_after(s, std::chrono::milliseconds(200), "import asyncio\nawait asyncio.sleep(10**6)\n");
  EXPECT_EQ(r.exit_reason, ExitReason::kCancelled);
}

TEST(TopLevelAwait, ValuesStateAndTasksAcrossCells) {
  Session s = new_session();
  EXPECT_EQ(outcome(s,
                    "import asyncio\n"
                    "async def twice(x):\n"
                    "    await asyncio.sleep(0)\n"
                    "    return 2 * x\n"
                    "r = await twice(21)\n"
                    "task = asyncio.ensure_future(twice(5))\n"
                    "async for _ in (i async for i in asyncio.as_completed([twice(0)])): pass\n"),
            "");
  EXPECT_EQ(exec_ok(s, "r").value_repr, "42");
  EXPECT_EQ(exec_ok(s, "await task").value_repr, "10");
  EXPECT_EQ(exec_ok(s, "[await twice(i) for i in range(3)]").value_repr, "[0, 2, 4]");
  // A coroutine that is not awaited is a value like any other.
  ExecResult r = exec_ok(s, "c = twice(1)\nc");
  ASSERT_TRUE(r.value_repr);
  EXPECT_TRUE(r.value_repr->starts_with("<coroutine object twice at ")) << *r.value_repr;
  EXPECT_EQ(exec_ok(s, "await c").value_repr, "2");
}

// The whole cell runs inside the loop, not only from its first await on:
// statements before it see the running loop (and tasks they start belong to
// it), and so does a cell whose only await is its trailing expression.
TEST(TopLevelAwait, TheWholeCellRunsInsideTheLoop) {
  Session s = new_session();
  ExecResult r = exec_ok(s,
                         "import asyncio\n"
                         "loop = asyncio.get_running_loop()\n"
                         "t = asyncio.ensure_future(asyncio.sleep(0, 'later'))\n"
                         "await asyncio.sleep(0)\n");
  EXPECT_EQ(r.exit_reason, ExitReason::kOk) << r.stderr_text;
  EXPECT_EQ(r.stderr_text, "");
  EXPECT_EQ(exec_ok(s, "await t").value_repr, "'later'");
  // A cell without await runs outside it, as any Python code does.
  EXPECT_EQ(outcome(s, "asyncio.get_running_loop()"), "RuntimeError: no running event loop");
  EXPECT_EQ(outcome(s, "print(asyncio.get_running_loop() is loop)\nawait asyncio.sleep(0)"), "True\n");
}

TEST(TopLevelAwait, TracebackStartsAtTheCell) {
  Session s = new_session();
  ExecOptions o;
  o.filename = "<async-cell>";
  ExecResult r = exec_ok(s,
                         "import asyncio\n"
                         "async def boom():\n"
                         "    raise ValueError('x')\n"
                         "await boom()\n",
                         o);
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->type, "ValueError");
  ASSERT_EQ(r.error->frames.size(), 2u) << r.stderr_text;
  EXPECT_EQ(r.error->frames[0].file, "<async-cell>");
  EXPECT_EQ(r.error->frames[0].line, 4);
  EXPECT_EQ(r.error->frames[1].function, "boom");
}

TEST(TopLevelAwait, ScriptsDoNotAwaitAtTopLevel) {
  ExecResult r = testing::run_fresh("import asyncio\nawait asyncio.sleep(0)\n");
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->type, "SyntaxError");
  EXPECT_EQ(r.error->message, "'await' outside function (<cell-1>, line 2)");
}

}  // namespace
}  // namespace pycell
