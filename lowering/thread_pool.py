"""runtime support in LLVM IR: `descend_parallel_for`, which runs the chunks of a parallel
loop on a persistent thread pool (or, when asked, on threads created per call). codegen links
this text into every exported library and compiles it once per process for the JIT; why it
is built this way, and what it measured, is docs/threads.md.

    void descend_parallel_for(ptr fn, ptr ctx, i64 n, i32 threads)

runs fn(ctx, begin, end) over [0, n) in t = min(max(threads, 1), n, MAX_THREADS) contiguous
chunks [n*k/t, n*(k+1)/t) and returns when all are done; the caller runs chunk 0.

The pool (one per copy of this code: the JIT's, and each loaded library's) has a mailbox per
worker thread. The caller posts a chunk to each worker it needs and waits for each to report
it done, yielding the CPU (sched_yield) while it waits, so that a worker that shares its core
(two threads on a busy machine) runs at once rather than after a spin. An idle worker polls
its mailbox, yielding between polls, for SPIN_YIELDS polls (about a millisecond when the
machine is idle), then sleeps on its condition variable until the next post. Only pthreads,
sched_yield and C atomics are used: no OpenMP runtime, nothing to link beyond libc.

One caller uses the pool at a time: a second thread calling while the pool is busy runs its
range itself, serially. A forked child does not inherit the pool's threads, so it notices
the new pid and starts its own. DESCEND_THREAD_POOL=pthread, read at the first parallel call
of a process, selects the fallback: threads created and joined on every call (the runtime
before the pool). An exported library stops and joins its workers when it is unloaded or
the process exits (llvm.global_dtors)."""

from __future__ import annotations

PARALLEL_FOR = "descend_parallel_for"
THREAD_POOL_ENV = "DESCEND_THREAD_POOL"
MAX_THREADS = 256          # workers are MAX_THREADS - 1 mailboxes; more threads are capped
SPIN_YIELDS = 1000         # polls (one sched_yield each) before an idle worker sleeps

POOL, PTHREAD = 1, 2       # @descend.pool.mode


def _cstring(name: str, text: str) -> str:
    """A private NUL-terminated string constant in LLVM IR."""
    return f'@{name} = private unnamed_addr constant [{len(text.encode()) + 1} x i8] c"{text}\\00"'


_GLOBALS = f"""
; a pthread fallback task: fn, ctx, begin, end
%descend.task = type {{ ptr, ptr, i64, i64 }}
; a worker's mailbox: 0 seq (chunks posted), 1 done (chunks finished), 2 fn (null: exit),
; 3 ctx, 4 begin, 5 end, 6 sleeping, 7 the pthread_t, 8 mutex, 9 cond (64 bytes: any libc's)
%descend.slot = type {{ i64, i64, ptr, ptr, i64, i64, i32, i64, [64 x i8], [64 x i8] }}

; the pid of the caller using the pool (0: free); the process the workers belong to, how many
; there are and their mailboxes, and the mode (1 pool, 2 pthread) chosen in that process
@descend.pool.busy = internal global i32 0, align 4
@descend.pool.pid = internal global i32 0, align 4
@descend.pool.mode = internal global i32 0, align 4
@descend.pool.size = internal global i32 0, align 4
@descend.pool.slots = internal global [{MAX_THREADS - 1} x ptr] zeroinitializer, align 8
{_cstring("descend.pool.env", THREAD_POOL_ENV)}
{_cstring("descend.pool.pthread", "pthread")}
@llvm.global_dtors = appending global [1 x {{ i32, ptr, ptr }}] [{{ i32, ptr, ptr }} {{ i32 65535, ptr @descend_pool_shutdown, ptr null }}]
"""

_PARALLEL_FOR = f"""
define void @descend_parallel_for(ptr %fn, ptr %ctx, i64 %n, i32 %threads) {{
entry:
  %empty = icmp sle i64 %n, 0
  br i1 %empty, label %done, label %nonempty
nonempty:
  %t64 = sext i32 %threads to i64
  %tpos = icmp sgt i64 %t64, 1
  %t1 = select i1 %tpos, i64 %t64, i64 1
  %tcap = icmp slt i64 %t1, {MAX_THREADS}
  %t2 = select i1 %tcap, i64 %t1, i64 {MAX_THREADS}
  %tlt = icmp slt i64 %t2, %n
  %t = select i1 %tlt, i64 %t2, i64 %n
  %single = icmp eq i64 %t, 1
  br i1 %single, label %serial, label %take
take:
  %pid = call i32 @getpid()
  %got = call i1 @descend_pool_take(i32 %pid)
  br i1 %got, label %taken, label %serial
taken:
  %mode = call i32 @descend_pool_prepare(i32 %pid)
  %fallback = icmp eq i32 %mode, {PTHREAD}
  br i1 %fallback, label %fork, label %grow
fork:
  store atomic i32 0, ptr @descend.pool.busy release, align 4
  call void @descend_pthread_for(ptr %fn, ptr %ctx, i64 %n, i64 %t)
  br label %done
grow:
  %need = sub i64 %t, 1
  %need32 = trunc i64 %need to i32
  %size = call i32 @descend_pool_grow(i32 %need32)
  %size64 = sext i32 %size to i64
  %enough = icmp slt i64 %need, %size64
  %workers = select i1 %enough, i64 %need, i64 %size64
  %none = icmp eq i64 %workers, 0
  br i1 %none, label %release.serial, label %post
release.serial:
  store atomic i32 0, ptr @descend.pool.busy release, align 4
  br label %serial
post:
  %team = add i64 %workers, 1
  call void @descend_pool_run(ptr %fn, ptr %ctx, i64 %n, i64 %team)
  store atomic i32 0, ptr @descend.pool.busy release, align 4
  br label %done
serial:
  call void %fn(ptr %ctx, i64 0, i64 %n)
  br label %done
done:
  ret void
}}

; which runtime the next parallel call of this process uses: 1 the pool, 2 pthread (hidden:
; codegen.thread_pool() asks the JIT's copy; a library does not export it)
define hidden i32 @descend_thread_pool() {{
entry:
  %pid = call i32 @getpid()
  %owner = load atomic i32, ptr @descend.pool.pid monotonic, align 4
  %mine = icmp eq i32 %owner, %pid
  br i1 %mine, label %known, label %ask
known:
  %mode = load atomic i32, ptr @descend.pool.mode monotonic, align 4
  ret i32 %mode
ask:
  %chosen = call i32 @descend_pool_choose()
  ret i32 %chosen
}}

; the pool for this caller: free (0) -> pid, or left busy by the parent of a forked child
; (another pid) -> pid; false while another thread of this process holds it
define internal i1 @descend_pool_take(i32 %pid) {{
entry:
  %first = cmpxchg ptr @descend.pool.busy, i32 0, i32 %pid acquire monotonic, align 4
  %ok = extractvalue {{ i32, i1 }} %first, 1
  br i1 %ok, label %yes, label %held
held:
  %holder = extractvalue {{ i32, i1 }} %first, 0
  %ours = icmp eq i32 %holder, %pid
  br i1 %ours, label %no, label %stale
stale:
  %second = cmpxchg ptr @descend.pool.busy, i32 %holder, i32 %pid acquire monotonic, align 4
  %ok2 = extractvalue {{ i32, i1 }} %second, 1
  ret i1 %ok2
yes:
  ret i1 true
no:
  ret i1 false
}}

; (holding the pool) the mode; in a process other than the workers' (the first call, or a
; forked child) forget the workers, which do not exist here, and choose the mode again
define internal i32 @descend_pool_prepare(i32 %pid) {{
entry:
  %owner = load atomic i32, ptr @descend.pool.pid monotonic, align 4
  %mine = icmp eq i32 %owner, %pid
  br i1 %mine, label %known, label %fresh
fresh:
  %chosen = call i32 @descend_pool_choose()
  store atomic i32 %chosen, ptr @descend.pool.mode monotonic, align 4
  store i32 0, ptr @descend.pool.size, align 4
  store atomic i32 %pid, ptr @descend.pool.pid monotonic, align 4
  ret i32 %chosen
known:
  %mode = load atomic i32, ptr @descend.pool.mode monotonic, align 4
  ret i32 %mode
}}

define internal i32 @descend_pool_choose() {{
entry:
  %value = call ptr @getenv(ptr @descend.pool.env)
  %set = icmp ne ptr %value, null
  br i1 %set, label %compare, label %pool
compare:
  %cmp = call i32 @strcmp(ptr %value, ptr @descend.pool.pthread)
  %asked = icmp eq i32 %cmp, 0
  br i1 %asked, label %pthread, label %pool
pool:
  ret i32 {POOL}
pthread:
  ret i32 {PTHREAD}
}}

; (holding the pool) start workers until there are `need` (fewer if a thread cannot be made);
; returns how many there are
define internal i32 @descend_pool_grow(i32 %need) {{
entry:
  %size0 = load i32, ptr @descend.pool.size, align 4
  br label %head
head:
  %size = phi i32 [ %size0, %entry ], [ %next, %added ]
  %short = icmp slt i32 %size, %need
  %room = icmp slt i32 %size, {MAX_THREADS - 1}
  %more = and i1 %short, %room
  br i1 %more, label %make, label %exit
make:
  %bytes = ptrtoint ptr getelementptr (%descend.slot, ptr null, i32 1) to i64
  %slot = call ptr @calloc(i64 1, i64 %bytes)
  %nomem = icmp eq ptr %slot, null
  br i1 %nomem, label %exit, label %init
init:
  %mutex = getelementptr inbounds %descend.slot, ptr %slot, i32 0, i32 8
  %cond = getelementptr inbounds %descend.slot, ptr %slot, i32 0, i32 9
  %rm = call i32 @pthread_mutex_init(ptr %mutex, ptr null)
  %rc = call i32 @pthread_cond_init(ptr %cond, ptr null)
  %thread = getelementptr inbounds %descend.slot, ptr %slot, i32 0, i32 7
  %created = call i32 @pthread_create(ptr %thread, ptr null, ptr @descend_pool_worker, ptr %slot)
  %ok = icmp eq i32 %created, 0
  br i1 %ok, label %added, label %failed
failed:
  %dm = call i32 @pthread_mutex_destroy(ptr %mutex)
  %dc = call i32 @pthread_cond_destroy(ptr %cond)
  call void @free(ptr %slot)
  br label %exit
added:
  %index = sext i32 %size to i64
  %entry.ptr = getelementptr inbounds [{MAX_THREADS - 1} x ptr], ptr @descend.pool.slots, i64 0, i64 %index
  store ptr %slot, ptr %entry.ptr, align 8
  %next = add i32 %size, 1
  store i32 %next, ptr @descend.pool.size, align 4
  br label %head
exit:
  %final = load i32, ptr @descend.pool.size, align 4
  ret i32 %final
}}

; (holding the pool) chunk k of `team` to worker k (k >= 1), chunk 0 on this thread, then
; wait for every worker's report
define internal void @descend_pool_run(ptr %fn, ptr %ctx, i64 %n, i64 %team) {{
entry:
  br label %post.head
post.head:
  %k = phi i64 [ 1, %entry ], [ %knext, %post.body ]
  %posting = icmp slt i64 %k, %team
  br i1 %posting, label %post.body, label %own
post.body:
  %b0 = mul i64 %n, %k
  %b = udiv i64 %b0, %team
  %knext = add i64 %k, 1
  %e0 = mul i64 %n, %knext
  %e = udiv i64 %e0, %team
  %w = sub i64 %k, 1
  %slotp = getelementptr inbounds [{MAX_THREADS - 1} x ptr], ptr @descend.pool.slots, i64 0, i64 %w
  %slot = load ptr, ptr %slotp, align 8
  call void @descend_pool_post(ptr %slot, ptr %fn, ptr %ctx, i64 %b, i64 %e)
  br label %post.head
own:
  %first = udiv i64 %n, %team
  call void %fn(ptr %ctx, i64 0, i64 %first)
  br label %wait.head
wait.head:
  %j = phi i64 [ 1, %own ], [ %jnext, %wait.done ]
  %waiting = icmp slt i64 %j, %team
  br i1 %waiting, label %wait.slot, label %exit
wait.slot:
  %wj = sub i64 %j, 1
  %slotq = getelementptr inbounds [{MAX_THREADS - 1} x ptr], ptr @descend.pool.slots, i64 0, i64 %wj
  %slotj = load ptr, ptr %slotq, align 8
  %seqp = getelementptr inbounds %descend.slot, ptr %slotj, i32 0, i32 0
  %seq = load i64, ptr %seqp, align 8
  %donep = getelementptr inbounds %descend.slot, ptr %slotj, i32 0, i32 1
  br label %wait.poll
wait.poll:
  %finished = load atomic i64, ptr %donep acquire, align 8
  %ready = icmp eq i64 %finished, %seq
  br i1 %ready, label %wait.done, label %wait.yield
wait.yield:
  %y = call i32 @sched_yield()
  br label %wait.poll
wait.done:
  %jnext = add i64 %j, 1
  br label %wait.head
exit:
  ret void
}}

; hand a chunk (fn null: exit) to a worker, and wake it if it sleeps. The seq_cst store of seq
; then load of sleeping, against the worker's store of sleeping then load of seq, means at
; least one side sees the other: either the worker does not go to sleep or we signal it
; (under its mutex, so the signal cannot fall between its check and its wait)
define internal void @descend_pool_post(ptr %slot, ptr %fn, ptr %ctx, i64 %b, i64 %e) {{
entry:
  %fnp = getelementptr inbounds %descend.slot, ptr %slot, i32 0, i32 2
  store ptr %fn, ptr %fnp, align 8
  %ctxp = getelementptr inbounds %descend.slot, ptr %slot, i32 0, i32 3
  store ptr %ctx, ptr %ctxp, align 8
  %bp = getelementptr inbounds %descend.slot, ptr %slot, i32 0, i32 4
  store i64 %b, ptr %bp, align 8
  %ep = getelementptr inbounds %descend.slot, ptr %slot, i32 0, i32 5
  store i64 %e, ptr %ep, align 8
  %seqp = getelementptr inbounds %descend.slot, ptr %slot, i32 0, i32 0
  %seq = load i64, ptr %seqp, align 8
  %seq1 = add i64 %seq, 1
  store atomic i64 %seq1, ptr %seqp seq_cst, align 8
  %sleepp = getelementptr inbounds %descend.slot, ptr %slot, i32 0, i32 6
  %asleep = load atomic i32, ptr %sleepp seq_cst, align 4
  %wake = icmp ne i32 %asleep, 0
  br i1 %wake, label %signal, label %exit
signal:
  %mutex = getelementptr inbounds %descend.slot, ptr %slot, i32 0, i32 8
  %cond = getelementptr inbounds %descend.slot, ptr %slot, i32 0, i32 9
  %l = call i32 @pthread_mutex_lock(ptr %mutex)
  %s = call i32 @pthread_cond_signal(ptr %cond)
  %u = call i32 @pthread_mutex_unlock(ptr %mutex)
  br label %exit
exit:
  ret void
}}

; a worker: wait for its seq to move (SPIN_YIELDS polls, then asleep), run the chunk, report
; it in done; a null fn ends the thread
define internal ptr @descend_pool_worker(ptr %slot) {{
entry:
  %seqp = getelementptr inbounds %descend.slot, ptr %slot, i32 0, i32 0
  %donep = getelementptr inbounds %descend.slot, ptr %slot, i32 0, i32 1
  %sleepp = getelementptr inbounds %descend.slot, ptr %slot, i32 0, i32 6
  %mutex = getelementptr inbounds %descend.slot, ptr %slot, i32 0, i32 8
  %cond = getelementptr inbounds %descend.slot, ptr %slot, i32 0, i32 9
  br label %wait
wait:
  %seen = phi i64 [ 0, %entry ], [ %job, %ran ]
  br label %poll
poll:
  %polls = phi i64 [ 0, %wait ], [ %polls1, %yield ]
  %now = load atomic i64, ptr %seqp acquire, align 8
  %posted = icmp ne i64 %now, %seen
  br i1 %posted, label %run, label %idle
idle:
  %patient = icmp slt i64 %polls, {SPIN_YIELDS}
  br i1 %patient, label %yield, label %sleep
yield:
  %y = call i32 @sched_yield()
  %polls1 = add i64 %polls, 1
  br label %poll
sleep:
  %l = call i32 @pthread_mutex_lock(ptr %mutex)
  store atomic i32 1, ptr %sleepp seq_cst, align 4
  br label %sleep.check
sleep.check:
  %again = load atomic i64, ptr %seqp seq_cst, align 8
  %woken = icmp ne i64 %again, %seen
  br i1 %woken, label %sleep.end, label %sleep.wait
sleep.wait:
  %w = call i32 @pthread_cond_wait(ptr %cond, ptr %mutex)
  br label %sleep.check
sleep.end:
  store atomic i32 0, ptr %sleepp monotonic, align 4
  %u = call i32 @pthread_mutex_unlock(ptr %mutex)
  br label %run
run:
  %job = phi i64 [ %now, %poll ], [ %again, %sleep.end ]
  %fnp = getelementptr inbounds %descend.slot, ptr %slot, i32 0, i32 2
  %fn = load ptr, ptr %fnp, align 8
  %stop = icmp eq ptr %fn, null
  br i1 %stop, label %exit, label %work
work:
  %ctxp = getelementptr inbounds %descend.slot, ptr %slot, i32 0, i32 3
  %ctx = load ptr, ptr %ctxp, align 8
  %bp = getelementptr inbounds %descend.slot, ptr %slot, i32 0, i32 4
  %b = load i64, ptr %bp, align 8
  %ep = getelementptr inbounds %descend.slot, ptr %slot, i32 0, i32 5
  %e = load i64, ptr %ep, align 8
  call void %fn(ptr %ctx, i64 %b, i64 %e)
  br label %ran
ran:
  store atomic i64 %job, ptr %donep release, align 8
  br label %wait
exit:
  store atomic i64 %job, ptr %donep release, align 8
  ret ptr null
}}

; the library is unloaded or the process exits: end and join this process's workers, unless a
; call is using the pool
define internal void @descend_pool_shutdown() {{
entry:
  %pid = call i32 @getpid()
  %take = cmpxchg ptr @descend.pool.busy, i32 0, i32 %pid acquire monotonic, align 4
  %ok = extractvalue {{ i32, i1 }} %take, 1
  br i1 %ok, label %check, label %exit
check:
  %owner = load atomic i32, ptr @descend.pool.pid monotonic, align 4
  %mine = icmp eq i32 %owner, %pid
  %size = load i32, ptr @descend.pool.size, align 4
  %count = select i1 %mine, i32 %size, i32 0
  br label %head
head:
  %k = phi i32 [ 0, %check ], [ %knext, %body ]
  %more = icmp slt i32 %k, %count
  br i1 %more, label %body, label %release
body:
  %index = sext i32 %k to i64
  %slotp = getelementptr inbounds [{MAX_THREADS - 1} x ptr], ptr @descend.pool.slots, i64 0, i64 %index
  %slot = load ptr, ptr %slotp, align 8
  call void @descend_pool_post(ptr %slot, ptr null, ptr null, i64 0, i64 0)
  %threadp = getelementptr inbounds %descend.slot, ptr %slot, i32 0, i32 7
  %thread = load i64, ptr %threadp, align 8
  %j = call i32 @pthread_join(i64 %thread, ptr null)
  %mutex = getelementptr inbounds %descend.slot, ptr %slot, i32 0, i32 8
  %cond = getelementptr inbounds %descend.slot, ptr %slot, i32 0, i32 9
  %dm = call i32 @pthread_mutex_destroy(ptr %mutex)
  %dc = call i32 @pthread_cond_destroy(ptr %cond)
  call void @free(ptr %slot)
  store ptr null, ptr %slotp, align 8
  %knext = add i32 %k, 1
  br label %head
release:
  %cleared = select i1 %mine, i32 0, i32 %size
  store i32 %cleared, ptr @descend.pool.size, align 4
  store atomic i32 0, ptr @descend.pool.busy release, align 4
  br label %exit
exit:
  ret void
}}
"""

# the fallback (and the runtime before the pool): chunks of ceil(n / t); the caller runs the
# first, each other one runs on a new pthread (inline if pthread_create fails), then all are joined
_PTHREAD_FOR = r"""
define internal void @descend_pthread_for(ptr %fn, ptr %ctx, i64 %n, i64 %t) {
entry:
  %tm1 = sub i64 %t, 1
  %nt = add i64 %n, %tm1
  %chunk = udiv i64 %nt, %t
  %tasks = alloca %descend.task, i64 %t, align 16
  %tids = alloca i64, i64 %t, align 8
  %ok = alloca i8, i64 %t, align 1
  br label %spawn.head
spawn.head:
  %i = phi i64 [ 1, %entry ], [ %inext, %spawn.next ]
  %more = icmp slt i64 %i, %t
  br i1 %more, label %spawn.body, label %run.own
spawn.body:
  %b = mul i64 %i, %chunk
  %e0 = add i64 %b, %chunk
  %eover = icmp sgt i64 %e0, %n
  %e = select i1 %eover, i64 %n, i64 %e0
  %okp = getelementptr inbounds i8, ptr %ok, i64 %i
  store i8 0, ptr %okp, align 1
  %has = icmp slt i64 %b, %e
  br i1 %has, label %spawn.create, label %spawn.next
spawn.create:
  %task = getelementptr inbounds %descend.task, ptr %tasks, i64 %i
  store ptr %fn, ptr %task, align 8
  %tctx = getelementptr inbounds %descend.task, ptr %task, i32 0, i32 1
  store ptr %ctx, ptr %tctx, align 8
  %tb = getelementptr inbounds %descend.task, ptr %task, i32 0, i32 2
  store i64 %b, ptr %tb, align 8
  %te = getelementptr inbounds %descend.task, ptr %task, i32 0, i32 3
  store i64 %e, ptr %te, align 8
  %tid = getelementptr inbounds i64, ptr %tids, i64 %i
  %rc = call i32 @pthread_create(ptr %tid, ptr null, ptr @descend_pthread_worker, ptr %task)
  %created = icmp eq i32 %rc, 0
  br i1 %created, label %spawn.ok, label %spawn.inline
spawn.ok:
  store i8 1, ptr %okp, align 1
  br label %spawn.next
spawn.inline:
  call void %fn(ptr %ctx, i64 %b, i64 %e)
  br label %spawn.next
spawn.next:
  %inext = add i64 %i, 1
  br label %spawn.head
run.own:
  call void %fn(ptr %ctx, i64 0, i64 %chunk)
  br label %join.head
join.head:
  %j = phi i64 [ 1, %run.own ], [ %jnext, %join.next ]
  %jmore = icmp slt i64 %j, %t
  br i1 %jmore, label %join.body, label %done
join.body:
  %okq = getelementptr inbounds i8, ptr %ok, i64 %j
  %okv = load i8, ptr %okq, align 1
  %wasok = icmp ne i8 %okv, 0
  br i1 %wasok, label %join.do, label %join.next
join.do:
  %tidq = getelementptr inbounds i64, ptr %tids, i64 %j
  %tidv = load i64, ptr %tidq, align 8
  %jrc = call i32 @pthread_join(i64 %tidv, ptr null)
  br label %join.next
join.next:
  %jnext = add i64 %j, 1
  br label %join.head
done:
  ret void
}

define internal ptr @descend_pthread_worker(ptr %task) {
entry:
  %fn = load ptr, ptr %task, align 8
  %ctxp = getelementptr inbounds %descend.task, ptr %task, i32 0, i32 1
  %ctx = load ptr, ptr %ctxp, align 8
  %bp = getelementptr inbounds %descend.task, ptr %task, i32 0, i32 2
  %begin = load i64, ptr %bp, align 8
  %ep = getelementptr inbounds %descend.task, ptr %task, i32 0, i32 3
  %end = load i64, ptr %ep, align 8
  call void %fn(ptr %ctx, i64 %begin, i64 %end)
  ret ptr null
}
"""

_DECLARATIONS = """
declare i32 @pthread_create(ptr, ptr, ptr, ptr)
declare i32 @pthread_join(i64, ptr)
declare i32 @pthread_mutex_init(ptr, ptr)
declare i32 @pthread_mutex_destroy(ptr)
declare i32 @pthread_mutex_lock(ptr)
declare i32 @pthread_mutex_unlock(ptr)
declare i32 @pthread_cond_init(ptr, ptr)
declare i32 @pthread_cond_destroy(ptr)
declare i32 @pthread_cond_wait(ptr, ptr)
declare i32 @pthread_cond_signal(ptr)
declare i32 @sched_yield()
declare i32 @getpid()
declare ptr @getenv(ptr)
declare i32 @strcmp(ptr, ptr)
declare ptr @calloc(i64, i64)
declare void @free(ptr)
"""

PARALLEL_FOR_IR = _GLOBALS + _PARALLEL_FOR + _PTHREAD_FOR + _DECLARATIONS
