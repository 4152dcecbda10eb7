/* goroutines._core._speedups: the channel and select fast paths in C (optional).
 *
 * What this module owns, and what it does not:
 *
 *   Lock        a mutex with threading.Lock's Python API (acquire, release,
 *               locked, with). Channels use it as their ``_lock`` so that
 *               the C fast paths take it without a Python call.
 *   ChanBase    the fields of a Chan (``_lock`` guards all the others, as in
 *               _chan.py) plus send()/recv()/recv_ok(). _chan.Chan derives
 *               from it; the pure-Python build uses a class with the same
 *               slots instead.
 *   wait queues q_deq/q_peek_live/q_enq: _chan's _deq/_peek_live/_enq on
 *               the same queue shapes (None, one waiter, a deque; a waiter
 *               a G or a select's tuple), shared by the operations and
 *               select.
 *   SendOp,     the operation objects. Awaiting one runs the fast path
 *   RecvOp      here: hand a value to (or take one from) the first live
 *               waiter -- a G or a select, whose token it claims -- use the
 *               buffer, or queue and park. Anything else -- closed channel,
 *               no P (preempted), not on an M -- drops the channel lock
 *               untouched and calls the Python implementation in _chan.py,
 *               which does it all from scratch.
 *   SelectBase, the fields of _select.Select and its await: selectgo's
 *   select()    algorithm (see "select" below) for up to SEL_MAX cases of
 *               C operations, drawing from the P's seeded generator where
 *               selectgo draws; other shapes go to selectgo. select() makes
 *               the Select; a call it does not check quickly is the Python
 *               select's.
 *   Ring        a buffered channel's buffer (deque's append/popleft/clear/
 *               len), pushed and popped by the fast paths without a call.
 *   Await       what ``await op`` iterates: either a value to return at
 *               once, or a park: yield the channel lock to the M (which
 *               releases it after marking the G waiting, exactly as the
 *               Python generator does), then return the resume value.
 *   ready()     _ready.ready's common cases (runnext empty, or its occupant
 *               displaced to the local queue when no P is idle); every
 *               other case calls the Python ready.
 *   go()        _runtime.go, _lifecycle.newproc and _lifecycle.goexit's common case
 *               (see "spawn and exit"); the rest calls them.
 *   sync        Mutex lock/unlock (with MutexWait, a lock that parks and
 *               retries) and WaitGroup add/done/wait: C methods that
 *               _sync.py installs in place of its own, which they call for
 *               everything else (see "sync").
 *   timers      the runtime timer's start/stop/reset with the heap's side,
 *               installed the same way by _timer.py (see "timers").
 *
 * Locking -- the same rules as the Python code, on both builds. Nothing here
 * relies on the GIL for atomicity; on a build with one it is held only
 * because the C API requires it. The order is docs/design.md's "Locks"
 * (a thread holding one takes only those after it): (1) channel locks,
 * (2) sync/timer locks, (3) Sched.lock, (4) Netpoll.lock; the C code takes
 * (1), (2) and (3), never two of them at once itself -- but the timer
 * methods take Sched.lock for a caller that may hold a lock before it in
 * the order (a channel's, a sync object's, a context's), exactly as the
 * Python methods they replace -- and an object's critical section
 * (free-threaded builds) only innermost, for one slot. Each path and the
 * lock it relies on:
 *
 *   SendOp/RecvOp await    the channel's Lock (its ``_lock``) around every
 *                          read or write of ``_recvq``/``_sendq``/``_buf``/
 *                          ``_closed``, exactly as _chan.py. Released before
 *                          ready() (which may take Sched.lock), or handed to
 *                          the M with a park (released in park_on_lock
 *                          after the G is marked waiting).
 *   select                 every case's channel Lock, each taken once in
 *                          address (id()) order -- selectgo's order, so a C
 *                          and a Python select never deadlock -- held from
 *                          the first look at a queue until the result is
 *                          decided, or handed to the M as a tuple with the
 *                          park. A waiter's token is claimed with one CAS
 *                          (mu_trylock), read as stale with a relaxed load.
 *                          The P's ``rand``: its owner's (see _sched.P).
 *   Ring                   its channel's Lock; ``len`` alone is also read
 *                          without it (len(ch), a snapshot: relaxed atomic).
 *   take_global            Sched.lock around the global run queue, ``pidle``,
 *                          the P's status and ``stopping``; called holding
 *                          no other lock. Self-contained: the run-queue
 *                          layout lives only there.
 *   go, newproc, goexit    Sched.lock around gfree, goidgen, allgs, pidle,
 *                          ``stopping`` and the move of the old runnext
 *                          (see "spawn and exit").
 *   ready()                no lock: the caller's own P's ``runnext`` (a
 *                          deque, internally locked on free-threaded builds)
 *                          and the recheck of ``m.p``, as _ready.ready.
 *   run_fast               no lock of its own: runnext, then the P's local
 *                          run queue ``runq`` (a deque like runnext: one
 *                          popleft, which a stealing M's may beat -- an
 *                          IndexError is "empty", see _sched.py "Run
 *                          queues"), then take_global.
 *   sync                   the object's ``_lock`` (a C Lock) around every
 *                          read and write of its other slots; released
 *                          before c_ready, or handed to the M with a park.
 *   timers                 Sched.lock around the heap and the timer's
 *                          when/seq/pending/period; wake_m after release.
 *   slot writes            G and M slots have one writer at a time (the G's
 *                          owner, the M itself; _g.py, _schedule.py), ordered by
 *                          the lock or queue that handed them over: the
 *                          writer reads the old value plainly and stores the
 *                          new one with a release store on a free-threaded
 *                          build, so an unlocked reader sees the old or new
 *                          value, and the old one is dropped once (by that
 *                          one writer). P.schedtick, which a retaken P's
 *                          old and new owner may both store, is stored as the
 *                          member descriptor stores it: under the object's
 *                          critical section (a per-object mutex, a leaf:
 *                          nothing else is taken or called inside it).
 *                          Plain stores with a GIL.
 *   slot reads, no lock    ``m.p`` (only ever taken away from its M, see
 *                          _schedule.py; P objects live as long as their Sched in
 *                          ``allp``), ``sched.trace``/``stopping``, ``g.status``
 *                          are compared by identity only: an atomic load.
 *                          ``sched.coarse_now`` (sysmon replaces it) and
 *                          ``p.schedtick`` (a retaken P's old and new owner
 *                          may both touch it) are read as strong references
 *                          under the object's critical section, so a
 *                          concurrent store cannot free them under us.
 *   module state           set once by setup_*() at import, read-only after.
 *
 * On a free-threaded build the module declares Py_MOD_GIL_NOT_USED:
 * importing it never turns the GIL back on.
 *
 * Field access: G, M and P are Python classes with __slots__; setup() reads
 * each slot's offset from its member descriptor once, and the fast paths
 * read and write those slots directly (what the descriptor itself does). A
 * slot that is unset (NULL) sends the operation to the Python path.
 *
 * The current M: set_m() stores the thread's M in a C thread-local when the
 * M's thread starts (and clears it when it ends); _runctx's ``tls.m`` holds
 * the same M for the Python code.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <pythread.h>

#if defined(Py_GIL_DISABLED)
#define GR_FT 1     /* a free-threaded build: see "Locking" above */
#define GR_FT_BUILD 1
#else
#define GR_FT_BUILD 0
#endif

/* Atomic access to a word that another thread may write meanwhile (on a
 * free-threaded build, at the same time). Used on both builds: relaxed and
 * acquire/release loads and stores are plain moves on x86. */
#if defined(__GNUC__) || defined(__clang__)
#define GR_LOAD_RELAXED(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define GR_LOAD_ACQUIRE(x) __atomic_load_n(&(x), __ATOMIC_ACQUIRE)
#define GR_STORE_RELAXED(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)
#define GR_STORE_RELEASE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELEASE)
#define GR_FENCE_ACQUIRE() __atomic_thread_fence(__ATOMIC_ACQUIRE)
#elif defined(GR_FT)
#error "goroutines._core._speedups: a free-threaded build needs GCC or Clang atomics"
#else
#define GR_LOAD_RELAXED(x) (x)
#define GR_LOAD_ACQUIRE(x) (x)
#define GR_STORE_RELAXED(x, v) ((x) = (v))
#define GR_STORE_RELEASE(x, v) ((x) = (v))
#define GR_FENCE_ACQUIRE() ((void)0)
#endif

#ifndef GR_SOURCE_SHA256
#define GR_SOURCE_SHA256 ""     /* setup.py passes the hash of this file */
#endif

/* ------------------------------------------------------------------ state */

/* Set once by setup_core()/setup_chan() at import; read-only afterwards. */
static PyTypeObject *G_type = NULL;
static Py_ssize_t off_g_param = -1, off_g_status = -1, off_g_waitreason = -1, off_g_waitchan = -1;
static Py_ssize_t off_m_p = -1, off_m_curg = -1, off_m_sched = -1;
static Py_ssize_t off_p_runnext = -1, off_p_schedtick = -1, off_p_runq = -1;
static Py_ssize_t off_p_rand = -1;     /* P.rand (select's draws): set once per P */
static Py_ssize_t off_g_coro = -1, off_g_waitsince = -1, off_g_ctx = -1;
static Py_ssize_t off_g_stacklock = -1;  /* -1: G has no stacklock slot */
/* lock_os_thread (_lockos.py): the M a G is wired to, the G wired to an M. */
static Py_ssize_t off_g_lockedm = -1, off_m_lockedg = -1;
static PyObject *RUNNING = NULL, *WAITING = NULL;  /* _g.RUNNING, _g.WAITING */
static PyObject *py_goexit = NULL, *py_gopanic = NULL, *py_after_trap = NULL;
static PyObject *py_trace_trap = NULL, *py_unhook = NULL;
static PyTypeObject *thread_lock_type = NULL;    /* type(threading.Lock()) */
static PyObject *str_release = NULL;
/* Sched's slots (-1 until setup_sched): read without Sched.lock, as the
 * Python code reads them (see _sched.py for who writes each). */
static Py_ssize_t off_s_trace = -1, off_s_stopping = -1, off_s_coarse_now = -1;
static Py_ssize_t off_s_lock = -1, off_s_runq = -1, off_s_pidle = -1, off_s_timers = -1;
static Py_ssize_t off_p_status = -1;
/* Sched.netpoll and Sched.realtimers (-1: no such slot; then every 61st
 * pick is Python's): set once, read without the lock and compared with None
 * (fair_pick_plain); realtimers' ``nlive`` is read under Sched.lock
 * (timers_pending_locked). */
static Py_ssize_t off_s_netpoll = -1, off_s_realtimers = -1;
static long P_RUNNING_VAL = -1;
static PyObject *str_nlive = NULL;

static PyObject *CLOSED = NULL;           /* _g.CLOSED */
static PyObject *RUNNABLE = NULL;         /* _g.RUNNABLE (an int) */
static PyObject *WAIT_SEND = NULL;        /* "chan send" */
static PyObject *WAIT_RECV = NULL;        /* "chan receive" */
static PyObject *py_ready = NULL;         /* _ready._ready_py(g, m) */
static PyObject *py_unrunnext = NULL;     /* _ready._unrunnext(sched, rn, g) */
static PyObject *send_slow = NULL;        /* _chan._send_await(op) */
static PyObject *recv_slow = NULL;        /* _chan._recv_await(op) */
static PyObject *send_closed = NULL;      /* _chan._send_closed() -> exception */
static PyObject *deque_append = NULL;     /* collections.deque.append */
static PyObject *deque_popleft = NULL;    /* collections.deque.popleft */
/* Their C functions, called directly on an exact deque (what the method
 * descriptor's call does after checking the argument's type): NULL when
 * they are not the plain METH_O / METH_NOARGS functions expected. On a
 * free-threaded build that function takes the deque's critical section. */
static PyCFunction deque_append_c = NULL;
static PyCFunction deque_popleft_c = NULL;

/* dq.popleft() and dq.append(v) for an exact deque ``dq``. */
static inline PyObject *
dq_popleft(PyObject *dq)
{
    if (deque_popleft_c != NULL)
        return deque_popleft_c(dq, NULL);
    PyObject *args[1] = {dq};
    return PyObject_Vectorcall(deque_popleft, args, 1, NULL);
}

static inline PyObject *
dq_append(PyObject *dq, PyObject *v)
{
    if (deque_append_c != NULL)
        return deque_append_c(dq, v);
    PyObject *args[2] = {dq, v};
    return PyObject_Vectorcall(deque_append, args, 2, NULL);
}

static PyTypeObject *deque_type = NULL;

/* Per-thread state, all in one thread-local record: in a shared object each
 * thread-local variable's address is a call (__tls_get_addr) unless the
 * compiler can reuse one it computed, and it reuses it for fields of one
 * variable. The tls_* names below are its fields; each is described where
 * it is used. */
struct gr_tls {
    PyObject *m;                /* this thread's M, borrowed (set_m) */
    PyObject *now;              /* last Sched.coarse_now seen (strong) */
    PyObject *tick;             /* last P.schedtick this M stored (strong) */
    long tick_val;              /* its value (free-threaded builds) */
    struct AwaitObject *await_; /* the last Await made (strong) */
    struct AwaitObject *free;   /* free Awaits, chained through value */
    int nfree;
    int in_exec;                /* execute() is running a goroutine */
    struct AwaitObject *done;   /* this M's A_DONE Await (strong) */
    PyObject *stop;             /* the kept StopIteration (strong) */
    struct SendOpObject *sfree; /* free SendOps, chained through value */
    int nsfree;
};
/* glibc places a dlopen()ed module's initial-exec thread-locals in the
 * static TLS block's reserve (this record is far smaller than it), and then
 * a field is one %fs-relative move instead of a __tls_get_addr call. */
#if defined(__GLIBC__) && (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__aarch64__))
#define GR_TLS_MODEL __attribute__((tls_model("initial-exec")))
#else
#define GR_TLS_MODEL
#endif
static _Thread_local struct gr_tls gr_tls GR_TLS_MODEL;

/* This thread's M (a borrowed reference: the M object outlives its thread's
 * schedule loop, which clears this before it returns). */
#define tls_m (gr_tls.m)

/* A slot's word. Plain access only where the slot's writer is this thread
 * or a lock this thread holds orders it; else slot_load / slot_get_ref. */
#define SLOT(obj, off) (*(PyObject **)((char *)(obj) + (off)))

/* A slot read without the lock its writers hold, for an identity test or a
 * referent kept alive by something else (see "Locking"): borrowed. */
static inline PyObject *
slot_load(PyObject *obj, Py_ssize_t off)
{
    return GR_LOAD_ACQUIRE(SLOT(obj, off));
}

/* A strong reference to a slot's value (NULL if unset) that another thread
 * may replace meanwhile: read under the object's critical section, which
 * the member descriptor's store (and slot_set_shared) holds while it swaps
 * the word, so the value cannot be freed between the load and the incref.
 * Only for slots every writer stores that way (Sched.coarse_now, written by
 * sysmon in Python; P.schedtick). */
static inline PyObject *
slot_get_ref(PyObject *obj, Py_ssize_t off)
{
    PyObject *v;
#ifdef GR_FT
    Py_BEGIN_CRITICAL_SECTION(obj);
    v = Py_XNewRef(SLOT(obj, off));
    Py_END_CRITICAL_SECTION();
#else
    v = Py_XNewRef(SLOT(obj, off));
#endif
    return v;
}

/* A strong reference to the value of a slot that other threads replace
 * (so that slot_get_ref's critical section is needed in general), without
 * that critical section when the slot still holds the object this thread
 * saw last: ``*cache`` is this thread's own strong reference to it. The
 * comparison is of identities only (an atomic load, no dereference): while
 * we hold a reference to the cached object its memory cannot be reused, so
 * a slot word equal to it IS it. Otherwise the critical-section read, and
 * the cache moves to the new value. Thread-local caches: Sched.coarse_now
 * (sysmon replaces it every few ms; read on every park) and P.schedtick
 * (read on every pick, see tick_load). Cleared by set_m(None). */
static inline PyObject *
slot_get_ref_cached(PyObject *obj, Py_ssize_t off, PyObject **cache)
{
#ifdef GR_FT
    PyObject *c = *cache;
    if (c != NULL && slot_load(obj, off) == c)
        return Py_NewRef(c);
    PyObject *v = slot_get_ref(obj, off);
    if (v != NULL)
        Py_XSETREF(*cache, Py_NewRef(v));
    return v;
#else
    (void)cache;
    return slot_get_ref(obj, off);
#endif
}

#define tls_now (gr_tls.now)         /* last Sched.coarse_now seen */
#define tls_tick (gr_tls.tick)       /* last P.schedtick this M stored */
#define tls_tick_val (gr_tls.tick_val)  /* its value (free-threaded builds) */

/* P.schedtick as a C long (-1 with an exception if it is not an int; -2
 * without one if it is not an exact int: leave it to Python). The common
 * case -- the slot still holds the int this M stored last -- reads no
 * object at all and takes no critical section. */
static inline long
tick_load(PyObject *p, Py_ssize_t off)
{
#ifdef GR_FT
    if (tls_tick != NULL && slot_load(p, off) == tls_tick)
        return tls_tick_val;
#endif
    PyObject *t = slot_get_ref(p, off);
    if (t == NULL || !PyLong_CheckExact(t)) {
        Py_XDECREF(t);
        return -2;
    }
    long v = PyLong_AsLong(t);
    Py_DECREF(t);
    return v;
}

/* sched.trace is None (tracing off)? An unset slot counts as off. */
static inline int
trace_off(PyObject *sched)
{
    PyObject *t = slot_load(sched, off_s_trace);
    return t == NULL || t == Py_None;
}

/* Store a new reference to v in a slot whose writers take turns (one at a
 * time, ordered by a lock or a queue: every G and M slot the C code writes,
 * see _g.py and _schedule.py). The writer is the only thread storing the
 * slot meanwhile, so it reads the old value with a plain load; on a
 * free-threaded build the store is a release store (a plain move on x86,
 * where an exchange would be a locked instruction), so a reader without the
 * lock (a member descriptor: atomic load, then a checked incref) sees the
 * old value or the new one, fully made. The old one is dropped once: by
 * its one writer. */
static inline void
slot_set(PyObject *obj, Py_ssize_t off, PyObject *v)
{
    PyObject **p = (PyObject **)((char *)obj + off);
    Py_INCREF(v);
    PyObject *old = GR_LOAD_RELAXED(*p);
    GR_STORE_RELEASE(*p, v);
    Py_XDECREF(old);
}

/* Store a slot that two writers may store at once, or that slot_get_ref
 * reads (P.schedtick: a retaken P's old and new owner): as the member
 * descriptor stores it -- on a free-threaded build under the object's
 * critical section, the old value dropped after it. */
static inline void
slot_set_shared(PyObject *obj, Py_ssize_t off, PyObject *v)
{
    PyObject **p = (PyObject **)((char *)obj + off);
    PyObject *old;
    Py_INCREF(v);
#ifdef GR_FT
    Py_BEGIN_CRITICAL_SECTION(obj);
    old = *p;
    GR_STORE_RELEASE(*p, v);
    Py_END_CRITICAL_SECTION();
#else
    old = *p;
    *p = v;
#endif
    Py_XDECREF(old);
}

/* slot_set_shared for a slot whose values are mostly immortal objects
 * (P.schedtick: run_fast stores cached small ints, see SCHEDTICK_WRAP). On
 * a free-threaded build, when the slot holds the immortal ``old`` this
 * thread read and ``v`` is immortal too, one compare-and-swap replaces the
 * critical section (two atomic read-modify-writes on the object's mutex,
 * per pick): no reference is given or dropped -- an immortal's count is
 * never changed -- so a descriptor store racing with it (under the critical
 * section, reading our value as its old one) and a slot_get_ref reading it
 * meanwhile are both safe, and a failed swap (someone stored since) takes
 * the critical-section path. Otherwise, and with a GIL, slot_set_shared. */
static inline void
slot_set_shared_immortal(PyObject *obj, Py_ssize_t off, PyObject *old, PyObject *v)
{
#ifdef GR_FT
    if (old != NULL && _Py_IsImmortal(old) && _Py_IsImmortal(v)) {
        PyObject **p = (PyObject **)((char *)obj + off);
        PyObject *expect = old;
        if (__atomic_compare_exchange_n(p, &expect, v, 0, __ATOMIC_RELEASE, __ATOMIC_RELAXED))
            return;
    }
#else
    (void)old;
#endif
    slot_set_shared(obj, off, v);
}

/* ------------------------------------------------------------------ switch, fallbacks */

/* fast_on: the fast paths run (1) or every operation goes straight to its
 * Python implementation (0, set_fast(False)): tests run the same programs
 * both ways in one process. Flipped only between runs; read relaxed. */
static int fast_on = 1;

/* Why a fast path handed an operation to Python, counted (relaxed atomic
 * adds, on the slow path only) so that a test can tell the C code is not
 * quietly falling back where it should not. */
enum {
    FB_OFF,         /* set_fast(False) */
    FB_NOT_M,       /* not on an M, or the M has no P (preempted) */
    FB_CHAN,        /* not a channel the fast paths know (Python Lock/buffer) */
    FB_CLOSED,      /* the channel is closed */
    FB_QUEUE,       /* a select waiter, or several waiters, queued */
    FB_PARK,        /* would block, and cannot park here (queue not empty, no G) */
    FB_READY,       /* ready(): runnext occupied, tracing, no P: _ready_py */
    FB_SELECT,      /* a select the C one does not do (no cases, > SEL_MAX, no G, foreign ops) */
    FB_SPAWN,       /* go()/newproc/goexit not the common case: _runtime.go, _lifecycle */
    FB_SYNC,        /* a sync object's slow case (a Mutex lock that waits, misuse, ...): _sync.py */
    FB_TIMER,       /* a runtime timer's slow case (a stopping run, ...): _timer.py */
    FB_N,
};
static const char *fb_names[FB_N] = {"off", "not_m", "chan", "closed", "queue", "park", "ready", "select", "spawn", "sync", "timer"};
static Py_ssize_t fb_count[FB_N];

static inline void
fallback(int why)
{
#if defined(__GNUC__) || defined(__clang__)
    __atomic_fetch_add(&fb_count[why], 1, __ATOMIC_RELAXED);
#else
    fb_count[why]++;
#endif
}

/* ------------------------------------------------------------------ Lock */

/* The mutex under a Lock. On Linux: a futex word (Drepper, "Futexes Are
 * Tricky", mutex 2): 0 free, 1 held, 2 held with (possible) waiters; the
 * uncontended acquire and release are one atomic instruction each, no
 * system call, no clock read (CPython's lock reads the clock on every
 * acquire). Elsewhere: a PyThread lock. Either may be released by a thread
 * other than the one that acquired it, as threading.Lock may. The blocking
 * waits are called with the GIL released. */
#if defined(__linux__)
#include <errno.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#define GR_FUTEX 1

typedef struct { int word; } mutex_t;

static int mu_init(mutex_t *mu) { __atomic_store_n(&mu->word, 0, __ATOMIC_RELAXED); return 0; }
static void mu_destroy(mutex_t *mu) { (void)mu; }

static inline int
mu_trylock(mutex_t *mu)
{
    int c = 0;
    return __atomic_compare_exchange_n(&mu->word, &c, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

static inline int
mu_is_locked(mutex_t *mu)
{
    return __atomic_load_n(&mu->word, __ATOMIC_RELAXED) != 0;
}

/* Wait while the word is 2, at most ``ts`` (NULL: no limit). */
static inline void
futex_wait(int *w, const struct timespec *ts)
{
    syscall(SYS_futex, w, FUTEX_WAIT_PRIVATE, 2, ts, NULL, 0);
}

static inline void
mu_unlock(mutex_t *mu)
{
    if (__atomic_fetch_sub(&mu->word, 1, __ATOMIC_RELEASE) != 1) {
        __atomic_store_n(&mu->word, 0, __ATOMIC_RELEASE);
        syscall(SYS_futex, &mu->word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    }
}

/* Blocking acquire; us < 0: no limit. Returns 1 if acquired. GIL released. */
static int
mu_lock_slow(mutex_t *mu, long long us)
{
    int c = 0;
    if (__atomic_compare_exchange_n(&mu->word, &c, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
        return 1;
    struct timespec deadline, rel;
    if (us >= 0) {
        clock_gettime(CLOCK_MONOTONIC, &deadline);
        deadline.tv_sec += us / 1000000;
        deadline.tv_nsec += (us % 1000000) * 1000;
        if (deadline.tv_nsec >= 1000000000) {
            deadline.tv_sec += 1;
            deadline.tv_nsec -= 1000000000;
        }
    }
    if (c != 2)
        c = __atomic_exchange_n(&mu->word, 2, __ATOMIC_ACQUIRE);
    while (c != 0) {
        if (us >= 0) {
            struct timespec now;
            clock_gettime(CLOCK_MONOTONIC, &now);
            long long left = (long long)(deadline.tv_sec - now.tv_sec) * 1000000000LL +
                             (deadline.tv_nsec - now.tv_nsec);
            if (left <= 0)
                return 0;  /* the word may stay 2: the holder's unlock then wakes nobody, harmlessly */
            rel.tv_sec = left / 1000000000LL;
            rel.tv_nsec = left % 1000000000LL;
            futex_wait(&mu->word, &rel);
        }
        else {
            futex_wait(&mu->word, NULL);
        }
        c = __atomic_exchange_n(&mu->word, 2, __ATOMIC_ACQUIRE);
    }
    return 1;
}

#else  /* not Linux: a PyThread lock */

typedef struct { PyThread_type_lock lk; char held; } mutex_t;

static int
mu_init(mutex_t *mu)
{
    mu->held = 0;
    mu->lk = PyThread_allocate_lock();
    return mu->lk == NULL ? -1 : 0;
}

static void
mu_destroy(mutex_t *mu)
{
    if (mu->lk != NULL) {
        if (mu->held)
            PyThread_release_lock(mu->lk);
        PyThread_free_lock(mu->lk);
    }
}

static inline int
mu_trylock(mutex_t *mu)
{
    if (!PyThread_acquire_lock(mu->lk, NOWAIT_LOCK))
        return 0;
    mu->held = 1;
    return 1;
}

static inline int mu_is_locked(mutex_t *mu) { return mu->held; }

static inline void
mu_unlock(mutex_t *mu)
{
    mu->held = 0;
    PyThread_release_lock(mu->lk);
}

static int
mu_lock_slow(mutex_t *mu, long long us)
{
    PyLockStatus st = PyThread_acquire_lock_timed(mu->lk, us < 0 ? -1 : (PY_TIMEOUT_T)us, 0);
    if (st != PY_LOCK_ACQUIRED)
        return 0;
    mu->held = 1;
    return 1;
}
#endif

typedef struct {
    PyObject_HEAD
    mutex_t mu;
    PyObject *weakrefs;
} LockObject;

static PyTypeObject Lock_Type;

/* Acquire, blocking: try without releasing the GIL first (the common,
 * uncontended case), else wait with the GIL released. */
static inline void
lock_acquire_raw(LockObject *l)
{
    if (!mu_trylock(&l->mu)) {
        Py_BEGIN_ALLOW_THREADS
        mu_lock_slow(&l->mu, -1);
        Py_END_ALLOW_THREADS
    }
}

static inline void
lock_release_raw(LockObject *l)
{
    mu_unlock(&l->mu);
}

static PyObject *
Lock_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
    if (PyTuple_GET_SIZE(args) != 0 || (kw != NULL && PyDict_GET_SIZE(kw) != 0)) {
        PyErr_SetString(PyExc_TypeError, "Lock() takes no arguments");
        return NULL;
    }
    LockObject *self = (LockObject *)type->tp_alloc(type, 0);
    if (self == NULL)
        return NULL;
    if (mu_init(&self->mu) < 0) {
        Py_TYPE(self)->tp_free((PyObject *)self);
        PyErr_SetString(PyExc_MemoryError, "cannot allocate a lock");
        return NULL;
    }
    return (PyObject *)self;
}

static void
Lock_dealloc(LockObject *self)
{
    if (self->weakrefs != NULL)
        PyObject_ClearWeakRefs((PyObject *)self);
    mu_destroy(&self->mu);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* acquire(blocking=True, timeout=-1) -> bool, as threading.Lock's. */
static PyObject *
Lock_acquire(LockObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    int blocking = 1;
    double timeout = -1.0;
    PyObject *ob_blocking = nargs > 0 ? args[0] : NULL;
    PyObject *ob_timeout = nargs > 1 ? args[1] : NULL;
    if (nargs > 2) {
        PyErr_SetString(PyExc_TypeError, "acquire() takes at most 2 arguments (blocking, timeout)");
        return NULL;
    }
    if (kwnames != NULL) {
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(kwnames); i++) {
            PyObject *k = PyTuple_GET_ITEM(kwnames, i);
            if (PyUnicode_CompareWithASCIIString(k, "blocking") == 0 && ob_blocking == NULL)
                ob_blocking = args[nargs + i];
            else if (PyUnicode_CompareWithASCIIString(k, "timeout") == 0 && ob_timeout == NULL)
                ob_timeout = args[nargs + i];
            else {
                PyErr_Format(PyExc_TypeError, "acquire() got an unexpected keyword argument %R", k);
                return NULL;
            }
        }
    }
    if (ob_blocking != NULL) {
        blocking = PyObject_IsTrue(ob_blocking);
        if (blocking < 0)
            return NULL;
    }
    if (ob_timeout != NULL) {
        timeout = PyFloat_AsDouble(ob_timeout);
        if (timeout == -1.0 && PyErr_Occurred())
            return NULL;
    }
    if (!blocking && timeout != -1.0) {
        PyErr_SetString(PyExc_ValueError, "can't specify a timeout for a non-blocking call");
        return NULL;
    }
    if (timeout < 0 && timeout != -1.0) {
        PyErr_SetString(PyExc_ValueError, "timeout value must be a non-negative number");
        return NULL;
    }
    int ok = mu_trylock(&self->mu);
    if (!ok && blocking) {
        long long us = -1;
        if (timeout != -1.0) {
            if (timeout * 1e6 > (double)PY_TIMEOUT_MAX) {
                PyErr_SetString(PyExc_OverflowError, "timeout value is too large");
                return NULL;
            }
            us = (long long)(timeout * 1e6);
        }
        Py_BEGIN_ALLOW_THREADS
        ok = mu_lock_slow(&self->mu, us);
        Py_END_ALLOW_THREADS
    }
    return PyBool_FromLong(ok);
}

static PyObject *
Lock_release(LockObject *self, PyObject *Py_UNUSED(ignored))
{
    if (!mu_is_locked(&self->mu)) {
        PyErr_SetString(PyExc_RuntimeError, "release unlocked lock");
        return NULL;
    }
    lock_release_raw(self);
    Py_RETURN_NONE;
}

static PyObject *
Lock_enter(LockObject *self, PyObject *Py_UNUSED(ignored))
{
    lock_acquire_raw(self);
    Py_RETURN_TRUE;
}

static PyObject *
Lock_exit(LockObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    return Lock_release(self, NULL);
}

static PyObject *
Lock_locked(LockObject *self, PyObject *Py_UNUSED(ignored))
{
    return PyBool_FromLong(mu_is_locked(&self->mu));
}

static PyObject *
Lock_repr(LockObject *self)
{
    return PyUnicode_FromFormat("<%s goroutines Lock object at %p>",
                                mu_is_locked(&self->mu) ? "locked" : "unlocked", self);
}

static PyMethodDef Lock_methods[] = {
    {"acquire", (PyCFunction)(void (*)(void))Lock_acquire, METH_FASTCALL | METH_KEYWORDS,
     "acquire(blocking=True, timeout=-1) -> bool"},
    {"release", (PyCFunction)Lock_release, METH_NOARGS, "release()"},
    {"locked", (PyCFunction)Lock_locked, METH_NOARGS, "locked() -> bool"},
    {"__enter__", (PyCFunction)Lock_enter, METH_NOARGS, NULL},
    {"__exit__", (PyCFunction)(void (*)(void))Lock_exit, METH_FASTCALL, NULL},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject Lock_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "goroutines._core._speedups.Lock",
    .tp_basicsize = sizeof(LockObject),
    .tp_dealloc = (destructor)Lock_dealloc,
    .tp_repr = (reprfunc)Lock_repr,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A mutex with threading.Lock's API, which the C fast paths take directly.",
    .tp_weaklistoffset = offsetof(LockObject, weakrefs),
    .tp_methods = Lock_methods,
    .tp_new = Lock_new,
};

/* ------------------------------------------------------------------ Await */

enum {
    A_VALUE,        /* return value at the first send */
    A_DONE,         /* the shared "sent" result: return None, always */
    /* Each A_PARK_* is followed by its A_WAIT_*: the yield steps to state + 1. */
    A_PARK_RECV,    /* yield lock, then return the resume value (mode) */
    A_WAIT_RECV,    /* A_PARK_RECV after its yield */
    A_PARK_SEND,    /* yield lock, then return None or raise if CLOSED */
    A_WAIT_SEND,    /* A_PARK_SEND after its yield */
    A_PARK_SELECT,  /* yield the tuple of locks, then return the (case, value, ok) resumed with */
    A_WAIT_SELECT,  /* A_PARK_SELECT after its yield */
    A_FINISHED,
    /* After A_FINISHED, so that the states above keep their numbers. */
    A_PARK_PLAIN,   /* yield lock, then return None (a sync wait: WaitGroup.wait) */
    A_WAIT_PLAIN,   /* A_PARK_PLAIN after its yield */
};

typedef struct AwaitObject {
    PyObject_HEAD
    int state;
    int mode;               /* RecvOp.with_ok: 0 value, 1 (value, ok), 2 async for */
    PyObject *value;        /* A_VALUE: the result; A_PARK_*: the channel lock(s) */
} AwaitObject;

static PyTypeObject Await_Type;
static AwaitObject *the_done = NULL;   /* immutable singleton in state A_DONE */
/* This M thread's own A_DONE Await (set_m(None) drops it): the one a
 * send that completes at once returns, so that its reference count is
 * counted by its owning thread (on a free-threaded build an object made
 * by another thread -- the_done -- is counted with atomic operations). */
#define tls_done (gr_tls.done)

static PyObject *
done_await(void)
{
    AwaitObject *d = tls_done;
    if (d == NULL) {
        d = the_done;
        if (tls_m != NULL) {
            AwaitObject *a = PyObject_New(AwaitObject, &Await_Type);
            if (a != NULL) {
                a->state = A_DONE;
                a->mode = 0;
                a->value = NULL;
                tls_done = d = a;
            }
            else
                PyErr_Clear();  /* the shared one does as well */
        }
    }
    Py_INCREF(d);
    return (PyObject *)d;
}

/* An Await is not tracked by the cyclic GC: only the awaiting coroutine's
 * frame refers to it, and what it holds (a received value on its way to
 * that frame, or a channel lock) cannot refer back to it.
 *
 * Each M thread keeps the last Await it made (tls_await, a reference of
 * its own) and reuses it when nobody else holds it any more (refcount 1):
 * no allocation, no deallocation. When the last one is still held (by a
 * parked frame, say: a ping-pong has two Awaits alive at a time per pair of
 * goroutines), a new one comes from this thread's free list (tls_free, up
 * to AWAIT_FREE Awaits chained through ``value``) and becomes the last one:
 * an Await freed on an M goes there instead of back to the allocator.
 * Whatever thread frees an Await puts it on its own list; only M threads
 * keep one (tls_m set), and set_m(None) empties both. A finished or freed
 * Await holds nothing (its value moved out in am_send, or was cleared), so
 * neither retains a user object. */
#define AWAIT_FREE 16
#define tls_await (gr_tls.await_)
#define tls_free (gr_tls.free)
#define tls_nfree (gr_tls.nfree)

static inline PyObject *
await_new(int state, int mode, PyObject *value /* stolen */)
{
    AwaitObject *a = tls_await;
    if (a != NULL && Py_REFCNT(a) == 1) {
        /* Only our own reference is left: the last other holder (the
         * frame of a goroutine that may have moved to another M) dropped
         * its reference after its last use; order our writes after it. */
        GR_FENCE_ACQUIRE();
        Py_CLEAR(a->value);
        Py_INCREF(a);
    }
    else {
        a = tls_free;
        if (a != NULL) {
            tls_free = (AwaitObject *)a->value;
            tls_nfree--;
            /* Memory of a dead object, ours alone: start it as a new one
             * (reference count 1, owned by this thread). */
            (void)PyObject_Init((PyObject *)a, &Await_Type);
        }
        else {
            a = PyObject_New(AwaitObject, &Await_Type);
            if (a == NULL) {
                Py_XDECREF(value);
                return NULL;
            }
        }
        if (tls_m != NULL) {
            /* It is the last one now; the old last one lives on in its
             * holder's frame and is freed (to a free list) from there. */
            Py_INCREF(a);
            AwaitObject *old = tls_await;
            tls_await = a;
            a->value = NULL;
            Py_XDECREF(old);
        }
    }
    a->state = state;
    a->mode = mode;
    a->value = value;
    return (PyObject *)a;
}

static void
Await_dealloc(AwaitObject *self)
{
    Py_CLEAR(self->value);
    if (tls_m != NULL && tls_nfree < AWAIT_FREE) {
        self->value = (PyObject *)tls_free;
        tls_free = self;
        tls_nfree++;
        return;
    }
    PyObject_Free(self);
}

/* This thread's free Awaits go back to the allocator (its M loop ended). */
static void
await_free_all(void)
{
    while (tls_free != NULL) {
        AwaitObject *a = tls_free;
        tls_free = (AwaitObject *)a->value;
        PyObject_Free(a);
    }
    tls_nfree = 0;
}

/* The closed-channel result of a receive in ``mode``. */
static PySendResult
recv_closed_result(int mode, PyObject **result)
{
    if (mode == 1) {
        *result = PyTuple_Pack(2, Py_None, Py_False);
        return *result == NULL ? PYGEN_ERROR : PYGEN_RETURN;
    }
    if (mode == 2) {
        PyErr_SetNone(PyExc_StopAsyncIteration);
        *result = NULL;
        return PYGEN_ERROR;
    }
    Py_INCREF(Py_None);
    *result = Py_None;
    return PYGEN_RETURN;
}

static PySendResult
Await_am_send(AwaitObject *self, PyObject *arg, PyObject **result)
{
    switch (self->state) {
    case A_VALUE:
        self->state = A_FINISHED;
        *result = self->value;      /* the reference moves to the caller */
        self->value = NULL;
        return PYGEN_RETURN;
    case A_DONE:
        Py_INCREF(Py_None);
        *result = Py_None;
        return PYGEN_RETURN;
    case A_PARK_RECV:
    case A_PARK_SEND:
    case A_PARK_SELECT:
    case A_PARK_PLAIN:
        /* The lock goes up to the M, which releases it once the G is
         * marked waiting; we drop our reference now. */
        self->state += 1;   /* its A_WAIT_* */
        *result = self->value;
        self->value = NULL;
        return PYGEN_NEXT;
    case A_WAIT_RECV:
        self->state = A_FINISHED;
        if (arg == CLOSED)
            return recv_closed_result(self->mode, result);
        if (self->mode == 1) {
            *result = PyTuple_Pack(2, arg, Py_True);
            return *result == NULL ? PYGEN_ERROR : PYGEN_RETURN;
        }
        Py_INCREF(arg);
        *result = arg;
        return PYGEN_RETURN;
    case A_WAIT_SEND:
        self->state = A_FINISHED;
        if (arg == CLOSED) {
            PyObject *exc = PyObject_CallNoArgs(send_closed);
            if (exc != NULL) {
                PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
                Py_DECREF(exc);
            }
            *result = NULL;
            return PYGEN_ERROR;
        }
        Py_INCREF(Py_None);
        *result = Py_None;
        return PYGEN_RETURN;
    case A_WAIT_SELECT:
        /* The waker's (case, value, ok); a send case's channel closed:
         * (case, CLOSED, False), which raises, as selectgo does. */
        self->state = A_FINISHED;
        if (PyTuple_CheckExact(arg) && PyTuple_GET_SIZE(arg) == 3 && PyTuple_GET_ITEM(arg, 1) == CLOSED) {
            PyObject *exc = PyObject_CallNoArgs(send_closed);
            if (exc != NULL) {
                PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
                Py_DECREF(exc);
            }
            *result = NULL;
            return PYGEN_ERROR;
        }
        Py_INCREF(arg);
        *result = arg;
        return PYGEN_RETURN;
    case A_WAIT_PLAIN:
        /* Woken (a sync object's waker dequeued us): nothing to return. */
        self->state = A_FINISHED;
        Py_INCREF(Py_None);
        *result = Py_None;
        return PYGEN_RETURN;
    default:
        Py_INCREF(Py_None);
        *result = Py_None;
        return PYGEN_RETURN;
    }
}

/* Iterator protocol and send(), for callers that do not use am_send: the
 * interpreter's SEND on Python 3.12 and later (tp_iternext when it sends
 * None, else a send() call), and on 3.11 when a trace function is set. */

/* Return ``r`` (stolen, not None) as StopIteration(r), wrapped so that a
 * tuple stays one value.
 *
 * Python 3.12 and later take an awaited iterator's result this way even
 * when it is there at once (SEND calls tp_iternext, not am_send): each
 * receive that completes without parking raises one. Making and freeing
 * a StopIteration is most of that cost, so each M thread keeps one
 * (tls_stop) and raises it again once nothing else refers to it (reference
 * count 1: ours). The interpreter takes the value out and drops the
 * exception without looking at anything else, but whoever catches one sees
 * a fresh exception: args (r,), no traceback, context, cause, notes or
 * attributes left from an earlier use. It is raised as is (no implicit
 * __context__ chaining: it ends its life inside the SEND that asked).
 *
 * The kept exception must not keep a received value alive after its use
 * (an idle M holding the last value would keep, say, a dropped Ticker's
 * channel alive): it is used only while execute() runs a goroutine
 * (tls_in_exec), and execute() empties it (stop_release) as soon as the
 * goroutine yields. */
#define tls_stop (gr_tls.stop)
#define tls_in_exec (gr_tls.in_exec)

/* Drop the value the kept StopIteration carried, unless someone else holds
 * the exception (then it is theirs to look at, and stays as it is). */
static inline void
stop_release(void)
{
    PyObject *e = tls_stop;
    if (e == NULL || ((PyStopIterationObject *)e)->value == NULL)
        return;
    if (Py_REFCNT(e) != 1)
        return;
    GR_FENCE_ACQUIRE();
    PyStopIterationObject *s = (PyStopIterationObject *)e;
    Py_CLEAR(s->value);
    PyObject *args = s->args;
#if PY_VERSION_HEX < 0x030E0000
    if (args != NULL && PyTuple_CheckExact(args) && PyTuple_GET_SIZE(args) == 1 && Py_REFCNT(args) == 1) {
        /* kept for the next use (see stop_with) */
        PyObject *old = PyTuple_GET_ITEM(args, 0);
        Py_INCREF(Py_None);
        PyTuple_SET_ITEM(args, 0, Py_None);
        Py_DECREF(old);
        return;
    }
#endif
    Py_XSETREF(s->args, PyTuple_New(0));
}

static PyObject *
stop_with(PyObject *r)
{
    PyObject *e = tls_stop;
    if (e != NULL && tls_in_exec && Py_REFCNT(e) == 1) {
        /* The last other holder may have been another thread: order our
         * writes after its release. */
        GR_FENCE_ACQUIRE();
        PyStopIterationObject *s = (PyStopIterationObject *)e;
        PyObject *args = s->args;
#if PY_VERSION_HEX < 0x030E0000
        /* (3.14's tuples cache their hash: no refilling there.) */
        if (args != NULL && PyTuple_CheckExact(args) && PyTuple_GET_SIZE(args) == 1 && Py_REFCNT(args) == 1) {
            /* The args tuple is the exception's alone: refill it. */
            PyObject *old = PyTuple_GET_ITEM(args, 0);
            Py_INCREF(r);
            PyTuple_SET_ITEM(args, 0, r);
            Py_DECREF(old);
        }
        else
#endif
        {
            PyObject *t = PyTuple_Pack(1, r);
            if (t == NULL) {
                Py_DECREF(r);
                return NULL;
            }
            Py_XSETREF(s->args, t);
        }
        Py_XSETREF(s->value, r);    /* our reference to r moves here */
        if (s->traceback != NULL || s->context != NULL || s->cause != NULL || s->notes != NULL ||
            s->dict != NULL || s->suppress_context) {
            Py_CLEAR(s->traceback);
            Py_CLEAR(s->context);
            Py_CLEAR(s->cause);
            Py_CLEAR(s->notes);
            Py_CLEAR(s->dict);
            s->suppress_context = 0;
        }
        Py_INCREF(e);
#if PY_VERSION_HEX >= 0x030C0000
        PyErr_SetRaisedException(e);
#else
        PyErr_Restore(Py_NewRef(PyExc_StopIteration), e, NULL);
#endif
        return NULL;
    }
    e = PyObject_CallOneArg(PyExc_StopIteration, r);
    Py_DECREF(r);
    if (e == NULL)
        return NULL;
    if (tls_in_exec && tls_stop == NULL && Py_IS_TYPE(e, (PyTypeObject *)PyExc_StopIteration))
        tls_stop = Py_NewRef(e);
#if PY_VERSION_HEX >= 0x030C0000
    PyErr_SetRaisedException(e);
#else
    PyErr_Restore(Py_NewRef(PyExc_StopIteration), e, NULL);
#endif
    return NULL;
}

static PyObject *
await_step(AwaitObject *self, PyObject *arg)
{
    PyObject *r;
    switch (Await_am_send(self, arg, &r)) {
    case PYGEN_NEXT:
        return r;
    case PYGEN_RETURN:
        if (r == Py_None) {
            Py_DECREF(r);
            PyErr_SetNone(PyExc_StopIteration);
            return NULL;
        }
        return stop_with(r);
    default:
        return NULL;
    }
}

static PyObject *
Await_iternext(AwaitObject *self)
{
    PyObject *r;
    switch (Await_am_send(self, Py_None, &r)) {
    case PYGEN_NEXT:
        return r;
    case PYGEN_RETURN:
        if (r == Py_None) {
            /* tp_iternext reports plain exhaustion without an exception
             * (the common case: a send done at once). */
            Py_DECREF(r);
            return NULL;
        }
        return stop_with(r);
    default:
        return NULL;
    }
}

static PyObject *
Await_send(AwaitObject *self, PyObject *arg)
{
    return await_step(self, arg);
}

static PyObject *
Await_repr(AwaitObject *self)
{
    static const char *names[] = {"value", "done", "park recv", "waiting recv", "park send",
                                  "waiting send", "park select", "waiting select", "finished",
                                  "park", "waiting"};
    return PyUnicode_FromFormat("<goroutines await: %s>", names[self->state]);
}

static PyMethodDef Await_methods[] = {
    {"send", (PyCFunction)Await_send, METH_O, NULL},
    {NULL, NULL, 0, NULL},
};

/* ``await`` of the shared "done" Await itself (a C method's awaitable
 * result that completes at once: Mutex.__aexit__'s); other states are only
 * ever iterated by the await that made them. */
static PyObject *
Await_am_await(AwaitObject *self)
{
    if (self->state != A_DONE) {
        PyErr_SetString(PyExc_TypeError, "this goroutines await object can only be iterated, not awaited");
        return NULL;
    }
    return Py_NewRef(self);
}

static PyAsyncMethods Await_async = {
    .am_await = (unaryfunc)Await_am_await,
    .am_send = (sendfunc)Await_am_send,
};

static PyTypeObject Await_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "goroutines._core._speedups.Await",
    .tp_basicsize = sizeof(AwaitObject),
    .tp_dealloc = (destructor)Await_dealloc,
    .tp_as_async = &Await_async,
    .tp_repr = (reprfunc)Await_repr,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_iter = PyObject_SelfIter,
    .tp_iternext = (iternextfunc)Await_iternext,
    .tp_methods = Await_methods,
};

/* ------------------------------------------------------------------ ready */

/* Make ``g`` runnable from ``m`` (a running M): the common cases of
 * _ready.ready -- tracing off, not wired to an M, and either the P's runnext
 * empty, or its occupant displaced to the P's local queue when that has
 * room and no P is idle (so wakep would do nothing: the ``pidle`` length
 * is a hint read without Sched.lock, as wakep's own first look) -- done
 * here; every other case by the Python function, and the recheck after a
 * P was retaken meanwhile by _ready._unrunnext. Returns 0, or -1 with an
 * exception set. */
static int call3(PyObject *fn, PyObject *a, PyObject *b, PyObject *c);
static Py_ssize_t local_runq_max = 0;  /* _sched.LOCAL_RUNQ (setup_core); 0: never displace here */

/* c_ready with the P's runnext occupied: displace the occupant (Go's
 * runqput with next=true) when the local queue has room and no P is idle;
 * 1 done, 0 leave it to the Python ready, -1 error. */
static int
c_ready_displace(PyObject *g, PyObject *m, PyObject *sched, PyObject *p, PyObject *rn)
{
    PyObject *runq = SLOT(p, off_p_runq);   /* set once */
    PyObject *pidle = off_s_pidle < 0 ? NULL : slot_load(sched, off_s_pidle);
    if (runq == NULL || Py_TYPE(runq) != deque_type || pidle == NULL || !PyList_CheckExact(pidle) ||
        GR_LOAD_RELAXED(((PyVarObject *)pidle)->ob_size) != 0 ||
        GR_LOAD_RELAXED(((PyVarObject *)runq)->ob_size) >= local_runq_max)
        return 0;
    PyObject *old = dq_popleft(rn);
    if (old == NULL) {
        if (!PyErr_ExceptionMatches(PyExc_IndexError))
            return -1;
        PyErr_Clear();      /* a stealer took it meanwhile */
    }
    slot_set(g, off_g_status, RUNNABLE);
    PyObject *r = dq_append(rn, g);
    if (r == NULL) {
        Py_XDECREF(old);
        return -1;
    }
    Py_DECREF(r);
    if (old != NULL) {
        /* Only this P's owner appends to its local queue. */
        r = dq_append(runq, old);
        if (r == NULL) {
            Py_DECREF(old);
            return -1;
        }
        Py_DECREF(r);
    }
    if (slot_load(m, off_m_p) == p) {
        Py_XDECREF(old);
        return 1;
    }
    /* The P was retaken while we appended: take both back out of its
     * queues (if its new owner has not run them yet), queue them globally. */
    Py_INCREF(rn);
    int err = call3(py_unrunnext, sched, rn, g);
    Py_DECREF(rn);
    if (err == 0 && old != NULL)
        err = call3(py_unrunnext, sched, runq, old);
    Py_XDECREF(old);
    return err < 0 ? -1 : 1;
}

static int
c_ready(PyObject *g, PyObject *m)
{
    PyObject *p = slot_load(m, off_m_p);   /* see "Locking": kept alive by allp */
    PyObject *sched = SLOT(m, off_m_sched); /* set once */
    if (p == NULL || p == Py_None || sched == NULL)
        goto python;
    /* An identity test: G.lockedm was written by the G's own M before the
     * G parked, ordered before this read by the lock its waker holds. */
    PyObject *lm = slot_load(g, off_g_lockedm);
    if (lm != NULL && lm != Py_None)
        goto python;    /* wired to its own M: _lockos.readylocked */
    PyObject *rn = SLOT(p, off_p_runnext);  /* set once */
    if (rn == NULL || Py_TYPE(rn) != deque_type)
        goto python;
    if (off_s_trace < 0 || !trace_off(sched))
        goto python;
    if (GR_LOAD_RELAXED(((PyVarObject *)rn)->ob_size) != 0) {
        int done = c_ready_displace(g, m, sched, p, rn);
        if (done != 0)
            return done < 0 ? -1 : 0;
        goto python;
    }
    slot_set(g, off_g_status, RUNNABLE);
    PyObject *r = dq_append(rn, g);
    if (r == NULL)
        return -1;
    Py_DECREF(r);
    if (slot_load(m, off_m_p) == p)
        return 0;
    /* The P was retaken while we appended: take g back out of that runnext
     * (if its new owner has not run it yet) and queue it globally. */
    Py_INCREF(rn);
    int err = call3(py_unrunnext, sched, rn, g);
    Py_DECREF(rn);
    return err;
python:
    fallback(FB_READY);
    {
        PyObject *a[2] = {g, m};
        PyObject *r2 = PyObject_Vectorcall(py_ready, a, 2, NULL);
        if (r2 == NULL)
            return -1;
        Py_DECREF(r2);
        return 0;
    }
}

/* ------------------------------------------------------------------ one-reference objects */

/* Range and RecvOp hold one object reference, first after the header (and
 * only plain data after it): they share their GC support. */
typedef struct {
    PyObject_HEAD
    PyObject *ref;
} OneRefObject;

static int
OneRef_traverse(OneRefObject *self, visitproc visit, void *arg)
{
    Py_VISIT(self->ref);
    return 0;
}

static int
OneRef_clear(OneRefObject *self)
{
    Py_CLEAR(self->ref);
    return 0;
}

static void
OneRef_dealloc(OneRefObject *self)
{
    PyObject_GC_UnTrack(self);
    OneRef_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* ------------------------------------------------------------------ Range */

/* ``async for v in ch``: each step awaits the same mode-2 RecvOp (the value,
 * or StopAsyncIteration once closed and drained: Go's range). */
typedef struct {
    PyObject_HEAD
    PyObject *op;
} RangeObject;

_Static_assert(offsetof(RangeObject, op) == offsetof(OneRefObject, ref), "Range is a one-reference object");

static PyTypeObject Range_Type;

static PyObject *
Range_anext(RangeObject *self)
{
    Py_INCREF(self->op);
    return self->op;
}

static PyAsyncMethods Range_async = {
    .am_aiter = PyObject_SelfIter,
    .am_anext = (unaryfunc)Range_anext,
};

static PyTypeObject Range_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "goroutines._core._speedups.Range",
    .tp_basicsize = sizeof(RangeObject),
    .tp_dealloc = (destructor)OneRef_dealloc,
    .tp_as_async = &Range_async,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_traverse = (traverseproc)OneRef_traverse,
    .tp_clear = (inquiry)OneRef_clear,
};

/* ------------------------------------------------------------------ Ring */

/* A buffered channel's buffer: a FIFO ring of object references with the
 * part of deque's API the Python paths use (append, popleft, clear, len).
 * Guarded by its channel's lock like every other channel field; the C fast
 * paths push and pop without a call. It grows by doubling; the channel, not
 * the ring, enforces the capacity. */
typedef struct {
    PyObject_HEAD
    PyObject **items;
    Py_ssize_t size;    /* allocated slots (0 or a power of two) */
    Py_ssize_t head;    /* index of the oldest item */
    Py_ssize_t len;
} RingObject;

static PyTypeObject Ring_Type;

static int
ring_push(RingObject *r, PyObject *v)
{
    if (r->len == r->size) {
        Py_ssize_t nsize = r->size ? r->size * 2 : 8;
        PyObject **ni = PyMem_New(PyObject *, nsize);
        if (ni == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        for (Py_ssize_t i = 0; i < r->len; i++)
            ni[i] = r->items[(r->head + i) & (r->size - 1)];
        PyMem_Free(r->items);
        r->items = ni;
        r->size = nsize;
        r->head = 0;
    }
    Py_INCREF(v);
    r->items[(r->head + r->len) & (r->size - 1)] = v;
    GR_STORE_RELAXED(r->len, r->len + 1);    /* len(ch) reads it unlocked */
    return 0;
}

/* Pop the oldest item (a new reference); the ring must not be empty. */
static inline PyObject *
ring_pop(RingObject *r)
{
    PyObject *v = r->items[r->head];
    r->items[r->head] = NULL;
    r->head = (r->head + 1) & (r->size - 1);
    GR_STORE_RELAXED(r->len, r->len - 1);
    return v;
}

static PyObject *
Ring_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
    if (PyTuple_GET_SIZE(args) != 0 || (kw != NULL && PyDict_GET_SIZE(kw) != 0)) {
        PyErr_SetString(PyExc_TypeError, "Ring() takes no arguments");
        return NULL;
    }
    return type->tp_alloc(type, 0);
}

static int
Ring_traverse(RingObject *self, visitproc visit, void *arg)
{
    for (Py_ssize_t i = 0; i < self->len; i++)
        Py_VISIT(self->items[(self->head + i) & (self->size - 1)]);
    return 0;
}

static int
Ring_clear_items(RingObject *self)
{
    /* Detach first: a value's finaliser may touch the ring again. */
    PyObject **items = self->items;
    Py_ssize_t size = self->size, head = self->head, len = self->len;
    self->items = NULL;
    self->size = self->head = 0;
    GR_STORE_RELAXED(self->len, 0);
    for (Py_ssize_t i = 0; i < len; i++)
        Py_DECREF(items[(head + i) & (size - 1)]);
    PyMem_Free(items);
    return 0;
}

static void
Ring_dealloc(RingObject *self)
{
    PyObject_GC_UnTrack(self);
    Ring_clear_items(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static Py_ssize_t
Ring_length(RingObject *self)
{
    return GR_LOAD_RELAXED(self->len);     /* len(ch): a snapshot, maybe unlocked */
}

static PyObject *
Ring_append(RingObject *self, PyObject *v)
{
    if (ring_push(self, v) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *
Ring_popleft(RingObject *self, PyObject *Py_UNUSED(ignored))
{
    if (self->len == 0) {
        PyErr_SetString(PyExc_IndexError, "pop from an empty channel buffer");
        return NULL;
    }
    return ring_pop(self);
}

static PyObject *
Ring_clear(RingObject *self, PyObject *Py_UNUSED(ignored))
{
    Ring_clear_items(self);
    Py_RETURN_NONE;
}

static PyObject *
Ring_repr(RingObject *self)
{
    return PyUnicode_FromFormat("<channel buffer len=%zd>", self->len);
}

static PyMethodDef Ring_methods[] = {
    {"append", (PyCFunction)Ring_append, METH_O, "append(v): add v at the tail"},
    {"popleft", (PyCFunction)Ring_popleft, METH_NOARGS, "popleft(): remove and return the oldest item"},
    {"clear", (PyCFunction)Ring_clear, METH_NOARGS, "clear(): drop every item"},
    {NULL, NULL, 0, NULL},
};

static PySequenceMethods Ring_seq = {
    .sq_length = (lenfunc)Ring_length,
};

static PyTypeObject Ring_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "goroutines._core._speedups.Ring",
    .tp_basicsize = sizeof(RingObject),
    .tp_dealloc = (destructor)Ring_dealloc,
    .tp_repr = (reprfunc)Ring_repr,
    .tp_as_sequence = &Ring_seq,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "A channel's buffer (a FIFO ring), guarded by the channel's lock.",
    .tp_traverse = (traverseproc)Ring_traverse,
    .tp_clear = (inquiry)Ring_clear_items,
    .tp_methods = Ring_methods,
    .tp_new = Ring_new,
};

/* ------------------------------------------------------------------ ChanBase */

typedef struct {
    PyObject_HEAD
    PyObject *lock;         /* Lock: guards every field below */
    PyObject *buf;          /* deque (cap > 0) or () */
    Py_ssize_t cap;
    char closed;
    PyObject *recvq;        /* None | G | select waiter tuple | deque */
    PyObject *sendq;
    PyObject *recv_op;
    PyObject *recvok_op;
    Py_ssize_t qlimit;
    PyObject *weakrefs;
} ChanObject;

static PyTypeObject Chan_Type;

typedef struct SendOpObject {
    PyObject_HEAD
    PyObject *chan;
    PyObject *value;
    /* Set (relaxed: only ever 0 -> 1) once awaited or handed to select;
     * a SendOp collected with it still 0 was forgotten: SendOp_finalize
     * warns, as CPython does for a never-awaited coroutine. */
    char used;
    /* Set when tp_finalize has run (by the collector or by our dealloc):
     * the collector's "finalized" bit, kept where a load reads it (GIL
     * builds; see sendop_reusable). Written only by the op's finalizer,
     * which runs once, and at SendOp_make. */
    char finalized;
} SendOpObject;

typedef struct {
    PyObject_HEAD
    PyObject *chan;
    int with_ok;
} RecvOpObject;

_Static_assert(offsetof(RecvOpObject, chan) == offsetof(OneRefObject, ref), "RecvOp is a one-reference object");

static PyTypeObject SendOp_Type, RecvOp_Type;

static PyObject *
Chan_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
    ChanObject *self = (ChanObject *)type->tp_alloc(type, 0);
    if (self == NULL)
        return NULL;
    Py_INCREF(Py_None);
    self->recvq = Py_None;
    Py_INCREF(Py_None);
    self->sendq = Py_None;
    return (PyObject *)self;
}

static int
Chan_traverse(ChanObject *self, visitproc visit, void *arg)
{
    /* The heap subtype is visited by subtype_traverse, our caller. */
    Py_VISIT(self->lock);
    Py_VISIT(self->buf);
    Py_VISIT(self->recvq);
    Py_VISIT(self->sendq);
    Py_VISIT(self->recv_op);
    Py_VISIT(self->recvok_op);
    return 0;
}

static int
Chan_clear(ChanObject *self)
{
    Py_CLEAR(self->lock);
    Py_CLEAR(self->buf);
    Py_CLEAR(self->recvq);
    Py_CLEAR(self->sendq);
    Py_CLEAR(self->recv_op);
    Py_CLEAR(self->recvok_op);
    return 0;
}

static void
Chan_dealloc(ChanObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    if (self->weakrefs != NULL)
        PyObject_ClearWeakRefs((PyObject *)self);
    Chan_clear(self);
    /* A Python subclass's instance: subtype_dealloc, our caller, drops
     * the reference to its heap type. */
    tp->tp_free((PyObject *)self);
}

/* SendOps (one per ``ch.send(v)``) freed on an M go to that M's free list
 * (tls_sfree, up to SENDOP_FREE, chained through ``value``; emptied by
 * set_m(None)) instead of back to the allocator, as Awaits do. Only a
 * clean one goes there: untracked, holding nothing, not finalized (see
 * sendop_reusable). */
#define SENDOP_FREE 16
#define tls_sfree (gr_tls.sfree)
#define tls_nsfree (gr_tls.nsfree)

static PyObject *
SendOp_make(PyObject *chan, PyObject *value)
{
    SendOpObject *op = tls_sfree;
    if (op != NULL) {
        tls_sfree = (SendOpObject *)op->value;
        tls_nsfree--;
        /* A dead object's memory, ours alone: a new object again. */
        (void)PyObject_Init((PyObject *)op, &SendOp_Type);
    }
    else {
        op = PyObject_GC_New(SendOpObject, &SendOp_Type);
        if (op == NULL)
            return NULL;
    }
    Py_INCREF(chan);
    op->chan = chan;
    Py_INCREF(value);
    op->value = value;
    op->used = 0;
    op->finalized = 0;
    PyObject_GC_Track(op);
    return (PyObject *)op;
}

static PyObject *
Chan_send(ChanObject *self, PyObject *value)
{
    return SendOp_make((PyObject *)self, value);
}

static PyObject *
Chan_recv(ChanObject *self, PyObject *Py_UNUSED(ignored))
{
    if (self->recv_op == NULL) {
        PyErr_SetString(PyExc_AttributeError, "Chan.recv: the channel was not initialised");
        return NULL;
    }
    Py_INCREF(self->recv_op);
    return self->recv_op;
}

static PyObject *
Chan_recv_ok(ChanObject *self, PyObject *Py_UNUSED(ignored))
{
    if (self->recvok_op == NULL) {
        PyErr_SetString(PyExc_AttributeError, "Chan.recv_ok: the channel was not initialised");
        return NULL;
    }
    Py_INCREF(self->recvok_op);
    return self->recvok_op;
}

static PyMethodDef Chan_methods[] = {
    {"send", (PyCFunction)Chan_send, METH_O,
     "The operation \"send value\": await it, or pass it to select."},
    {"recv", (PyCFunction)Chan_recv, METH_NOARGS,
     "The operation \"receive a value\" (None once closed and drained)."},
    {"recv_ok", (PyCFunction)Chan_recv_ok, METH_NOARGS,
     "The operation \"receive (value, ok)\"; ok is False once closed and drained."},
    {NULL, NULL, 0, NULL},
};

static PyObject *RecvOp_make(PyObject *chan, int with_ok);

static PyObject *
Chan_aiter(PyObject *self)
{
    PyObject *op = RecvOp_make(self, 2);
    if (op == NULL)
        return NULL;
    RangeObject *r = PyObject_GC_New(RangeObject, &Range_Type);
    if (r == NULL) {
        Py_DECREF(op);
        return NULL;
    }
    r->op = op;
    PyObject_GC_Track(r);
    return (PyObject *)r;
}

static PyAsyncMethods Chan_async = {
    .am_aiter = (unaryfunc)Chan_aiter,
};

static PyMemberDef Chan_members[] = {
    {"_lock", T_OBJECT_EX, offsetof(ChanObject, lock), 0, NULL},
    {"_buf", T_OBJECT_EX, offsetof(ChanObject, buf), 0, NULL},
    {"_cap", T_PYSSIZET, offsetof(ChanObject, cap), 0, NULL},
    {"_closed", T_BOOL, offsetof(ChanObject, closed), 0, NULL},
    {"_recvq", T_OBJECT_EX, offsetof(ChanObject, recvq), 0, NULL},
    {"_sendq", T_OBJECT_EX, offsetof(ChanObject, sendq), 0, NULL},
    {"_recv_op", T_OBJECT_EX, offsetof(ChanObject, recv_op), 0, NULL},
    {"_recvok_op", T_OBJECT_EX, offsetof(ChanObject, recvok_op), 0, NULL},
    {"_qlimit", T_PYSSIZET, offsetof(ChanObject, qlimit), 0, NULL},
    {NULL, 0, 0, 0, NULL},
};

static PyTypeObject Chan_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "goroutines._core._speedups.ChanBase",
    .tp_basicsize = sizeof(ChanObject),
    .tp_dealloc = (destructor)Chan_dealloc,
    .tp_as_async = &Chan_async,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "The fields of a channel and its operations (see _chan.Chan).",
    .tp_traverse = (traverseproc)Chan_traverse,
    .tp_clear = (inquiry)Chan_clear,
    .tp_weaklistoffset = offsetof(ChanObject, weakrefs),
    .tp_methods = Chan_methods,
    .tp_members = Chan_members,
    .tp_new = Chan_new,
};

/* ------------------------------------------------------------------ wait queues */

/* A channel's wait queue (``recvq``/``sendq``) in the shape _chan.py keeps
 * it: None (empty), one waiter held directly, or a deque once two wait. A
 * waiter is a G (a plain send or receive) or a select waiter, the tuple
 * (G or _blocking.ThreadWaiter, case index, value or None, token Lock).
 * q_deq/q_peek_live/q_enq are _chan._deq/_peek_live/_enq for the C paths,
 * step for step, so that both paths keep one queue discipline: the plain
 * operations and select use them alike. The channel's Lock is held by the
 * caller throughout (it guards the queue fields and the deques in them;
 * a deque is also internally locked on free-threaded builds).
 *
 * A waiter of a shape the C code does not know (never made by this
 * package's code) is left where it is and reported as Q_OTHER: the caller
 * releases its locks and does the whole operation in Python. */

enum { Q_OTHER = -2, Q_ERR = -1, Q_NONE = 0, Q_LIVE = 1 };
enum { W_G, W_SEL, W_OTHER };

static PyObject *deque_appendleft = NULL;   /* collections.deque.appendleft */
static PyObject *str_compact = NULL;        /* "_compact" */
static PyObject *str_param = NULL;          /* "param" */

static inline int
waiter_kind(PyObject *w)
{
    if (Py_TYPE(w) == G_type)
        return W_G;
    if (PyTuple_CheckExact(w) && PyTuple_GET_SIZE(w) == 4 &&
        Py_TYPE(PyTuple_GET_ITEM(w, 3)) == &Lock_Type)
        return W_SEL;
    return W_OTHER;
}

/* A select waiter whose select another channel operation has completed
 * (its token claimed). A relaxed look, as the Python ``locked()``: a token
 * claimed meanwhile is found by the claim in q_deq. */
static inline int
sel_stale(PyObject *w)
{
    return mu_is_locked(&((LockObject *)PyTuple_GET_ITEM(w, 3))->mu);
}

static inline PyObject **
q_field(ChanObject *ch, int send)
{
    return send ? &ch->sendq : &ch->recvq;
}

static inline Py_ssize_t
deque_len(PyObject *dq)
{
    return GR_LOAD_RELAXED(((PyVarObject *)dq)->ob_size);
}

/* Take the oldest waiter off the queue: Q_LIVE with *out a new reference,
 * Q_NONE (empty) or Q_ERR. */
static int
q_pop(PyObject **qp, PyObject **out)
{
    PyObject *q = *qp;
    if (q == Py_None)
        return Q_NONE;
    if (Py_TYPE(q) == deque_type) {
        if (deque_len(q) == 0)
            return Q_NONE;
        PyObject *args[1] = {q};
        *out = PyObject_Vectorcall(deque_popleft, args, 1, NULL);
        return *out == NULL ? Q_ERR : Q_LIVE;
    }
    Py_INCREF(Py_None);
    *qp = Py_None;      /* the queue's reference moves to the caller */
    *out = q;
    return Q_LIVE;
}

/* Put ``w`` (stolen), just popped by q_pop, back at the head. */
static int
q_unpop(PyObject **qp, PyObject *w)
{
    if (*qp == Py_None) {
        Py_SETREF(*qp, w);
        return 0;
    }
    PyObject *args[2] = {*qp, w};
    PyObject *r = PyObject_Vectorcall(deque_appendleft, args, 2, NULL);
    Py_DECREF(w);
    if (r == NULL)
        return -1;
    Py_DECREF(r);
    return 0;
}

static int
q_deq_slow(PyObject **qp, PyObject **out)
{
    for (;;) {
        PyObject *w;
        int r = q_pop(qp, &w);
        if (r != Q_LIVE)
            return r;
        switch (waiter_kind(w)) {
        case W_G:
            *out = w;
            return Q_LIVE;
        case W_SEL:
            /* Go's selectDone CAS: the one claim that completes that select. */
            if (mu_trylock(&((LockObject *)PyTuple_GET_ITEM(w, 3))->mu)) {
                *out = w;
                return Q_LIVE;
            }
            Py_DECREF(w);   /* stale: its select is done */
            continue;
        default:
            return q_unpop(qp, w) < 0 ? Q_ERR : Q_OTHER;
        }
    }
}

/* _chan._deq: pop the oldest live waiter, claiming a select's token.
 * Q_LIVE with *out a new reference, Q_NONE, Q_OTHER (nothing live popped),
 * Q_ERR. The two commonest queues (empty, one plain G) inline. */
static inline int
q_deq(ChanObject *ch, int send, PyObject **out)
{
    PyObject **qp = q_field(ch, send);
    PyObject *q = *qp;
    if (q == Py_None)
        return Q_NONE;
    if (Py_TYPE(q) == G_type) {
        Py_INCREF(Py_None);
        *qp = Py_None;  /* the queue's reference moves to the caller */
        *out = q;
        return Q_LIVE;
    }
    return q_deq_slow(qp, out);
}

/* _chan._peek_live: is a live waiter queued? Drops stale select waiters
 * from the front. Q_LIVE, Q_NONE, Q_OTHER or Q_ERR. */
static int
q_peek_live(ChanObject *ch, int send)
{
    PyObject **qp = q_field(ch, send);
    for (;;) {
        PyObject *q = *qp;
        if (q == Py_None)
            return Q_NONE;
        if (Py_TYPE(q) != deque_type) {
            switch (waiter_kind(q)) {
            case W_G:
                return Q_LIVE;
            case W_SEL:
                if (!sel_stale(q))
                    return Q_LIVE;
                Py_INCREF(Py_None);
                Py_SETREF(*qp, Py_None);
                return Q_NONE;
            default:
                return Q_OTHER;
            }
        }
        if (deque_len(q) == 0)
            return Q_NONE;
        PyObject *w = PySequence_GetItem(q, 0);
        if (w == NULL)
            return Q_ERR;
        int kind = waiter_kind(w);
        int stale = kind == W_SEL && sel_stale(w);
        Py_DECREF(w);
        if (kind == W_OTHER)
            return Q_OTHER;
        if (!stale)
            return Q_LIVE;
        PyObject *args[1] = {q};
        PyObject *r = PyObject_Vectorcall(deque_popleft, args, 1, NULL);
        if (r == NULL)
            return Q_ERR;
        Py_DECREF(r);
    }
}

/* _chan._enq: queue ``w`` (borrowed) last. A deque that grows to the
 * channel's ``qlimit`` is compacted by the channel's own _compact (rare:
 * a select in a loop that never fires on this channel). 0 or -1. */
static int
q_enq_slow(ChanObject *ch, PyObject **qp, PyObject *w)
{
    PyObject *q = *qp;
    if (Py_TYPE(q) == deque_type) {
        PyObject *args[2] = {q, w};
        PyObject *r = PyObject_Vectorcall(deque_append, args, 2, NULL);
        if (r == NULL)
            return -1;
        Py_DECREF(r);
        if (deque_len(q) >= ch->qlimit) {
            Py_INCREF(q);
            r = PyObject_CallMethodOneArg((PyObject *)ch, str_compact, q);
            Py_DECREF(q);
            if (r == NULL)
                return -1;
            Py_DECREF(r);
        }
        return 0;
    }
    if (waiter_kind(q) == W_SEL && sel_stale(q)) {
        /* _enq's first step: a queue of one stale select waiter is emptied
         * (a select parked in a loop replaces its own stale waiter here). */
        Py_INCREF(w);
        Py_SETREF(*qp, w);
        return 0;
    }
    PyObject *pair = PyTuple_Pack(2, q, w);
    if (pair == NULL)
        return -1;
    PyObject *dq = PyObject_CallOneArg((PyObject *)deque_type, pair);
    Py_DECREF(pair);
    if (dq == NULL)
        return -1;
    Py_SETREF(*qp, dq);
    return 0;
}

static inline int
q_enq(ChanObject *ch, int send, PyObject *w)
{
    PyObject **qp = q_field(ch, send);
    if (*qp == Py_None) {
        Py_INCREF(w);
        Py_SETREF(*qp, w);
        return 0;
    }
    return q_enq_slow(ch, qp, w);
}

/* Store a waiter's resume value: a G's slot directly, a plain thread's
 * waiter (_blocking.ThreadWaiter) through its attribute. */
static inline int
waiter_set_param(PyObject *g, PyObject *v)
{
    if (Py_TYPE(g) == G_type) {
        slot_set(g, off_g_param, v);
        return 0;
    }
    return PyObject_SetAttr(g, str_param, v);
}

/* The select waiter ``w`` won (its token claimed by us): leave the select's
 * result ``(case, v, ok)`` in its G (or thread waiter); the G, borrowed
 * from w, is returned for waking. NULL on error. */
static PyObject *
sel_complete(PyObject *w, PyObject *v, PyObject *ok)
{
    PyObject *g = PyTuple_GET_ITEM(w, 0);
    PyObject *res = PyTuple_Pack(3, PyTuple_GET_ITEM(w, 1), v, ok);
    if (res == NULL)
        return NULL;
    int err = waiter_set_param(g, res);
    Py_DECREF(res);
    return err < 0 ? NULL : g;
}

static int c_ready(PyObject *g, PyObject *m);

/* Wake a dequeued waiter: a G by c_ready, a plain thread's waiter by the
 * Python ready (which releases the lock the thread blocks on). */
static inline int
waiter_ready(PyObject *g, PyObject *m)
{
    if (Py_TYPE(g) == G_type)
        return c_ready(g, m);
    PyObject *a[2] = {g, m};
    PyObject *r = PyObject_Vectorcall(py_ready, a, 2, NULL);
    if (r == NULL)
        return -1;
    Py_DECREF(r);
    return 0;
}

/* ------------------------------------------------------------------ ops */

static int
is_live_m(PyObject *m)
{
    if (m == NULL)
        return 0;
    PyObject *p = slot_load(m, off_m_p);
    return p != NULL && p != Py_None;
}

/* The fast paths need: this thread is an M with a P (else: not in a
 * goroutine, or preempted -- the Python path says which and acts), and the
 * channel initialised with a C Lock. */
static PyTypeObject *chan_cls = NULL;   /* _chan.Chan (setup_chan) */

static inline ChanObject *
fast_chan(PyObject *chan)
{
    if (Py_TYPE(chan) != chan_cls && !PyObject_TypeCheck(chan, &Chan_Type))
        return NULL;
    ChanObject *ch = (ChanObject *)chan;
    /* Set by __init__ before the channel is shared, never unset after (a
     * NULL here is a channel whose __init__ did not run): relaxed loads. */
    if (GR_LOAD_RELAXED(ch->lock) == NULL || Py_TYPE(ch->lock) != &Lock_Type || GR_LOAD_RELAXED(ch->buf) == NULL ||
        GR_LOAD_RELAXED(ch->recvq) == NULL || GR_LOAD_RELAXED(ch->sendq) == NULL)
        return NULL;
    return ch;
}



static PyObject *
SendOp_await(SendOpObject *op)
{
    PyObject *m = tls_m;
    ChanObject *ch;
    int why;
    GR_STORE_RELAXED(op->used, 1);
    if (!GR_LOAD_RELAXED(fast_on)) {
        why = FB_OFF;
        goto slow;
    }
    if (!is_live_m(m)) {
        why = FB_NOT_M;
        goto slow;
    }
    if ((ch = fast_chan(op->chan)) == NULL) {
        why = FB_CHAN;
        goto slow;
    }
    LockObject *lock = (LockObject *)ch->lock;
    lock_acquire_raw(lock);
    if (ch->closed) {
        why = FB_CLOSED;
        goto slow_unlock;
    }
    if (ch->cap > 0 && Py_TYPE(ch->buf) != &Ring_Type) {
        why = FB_CHAN;
        goto slow_unlock;
    }
    PyObject *w;
    int r = q_deq(ch, 0, &w);
    if (r == Q_LIVE) {
        /* A receiver waits: hand the value straight to it (a select's:
         * as the result of its select). It is ours alone now. */
        lock_release_raw(lock);
        PyObject *g = w;
        if (Py_TYPE(w) == G_type)
            slot_set(w, off_g_param, op->value);
        else
            g = sel_complete(w, op->value, Py_True);
        int err = g == NULL ? -1 : waiter_ready(g, m);
        Py_DECREF(w);
        if (err < 0)
            return NULL;
        return done_await();
    }
    if (r == Q_ERR) {
        lock_release_raw(lock);
        return NULL;
    }
    if (r == Q_OTHER) {
        why = FB_QUEUE;
        goto slow_unlock;
    }
    if (ch->cap > 0) {
        RingObject *buf = (RingObject *)ch->buf;
        if (buf->len < ch->cap) {
            int err = ring_push(buf, op->value);
            lock_release_raw(lock);
            if (err < 0)
                return NULL;
            return done_await();
        }
    }
    /* Would block: queue this G last and park. */
    PyObject *g = SLOT(m, off_m_curg);     /* this M's own: written by this thread */
    if (g == NULL || Py_TYPE(g) != G_type) {
        why = FB_PARK;
        goto slow_unlock;
    }
    Py_INCREF(lock);
    PyObject *a = await_new(A_PARK_SEND, 0, (PyObject *)lock);
    if (a == NULL) {
        lock_release_raw(lock);
        return NULL;
    }
    slot_set(g, off_g_param, op->value);
    slot_set(g, off_g_waitreason, WAIT_SEND);
    slot_set(g, off_g_waitchan, (PyObject *)ch);
    if (q_enq(ch, 1, g) < 0) {
        Py_DECREF(a);
        lock_release_raw(lock);
        return NULL;
    }
    return a;   /* the lock stays held until the M parks the G */

slow_unlock:
    lock_release_raw(lock);
slow:
    fallback(why);
    return PyObject_CallOneArg(send_slow, (PyObject *)op);
}

static PyObject *
recv_value(PyObject *v /* stolen */, int mode)
{
    if (mode == 1) {
        PyObject *t = PyTuple_Pack(2, v, Py_True);
        Py_DECREF(v);
        if (t == NULL)
            return NULL;
        v = t;
    }
    return await_new(A_VALUE, mode, v);
}

/* Take the value of the sender ``w`` just dequeued from ``ch`` (lock held):
 * a plain G's is in its param, a select's in the waiter (whose select then
 * completes with (case, None, True)); buffered, the receiver gets the
 * oldest buffered value and the sender's joins the tail. Returns the value
 * received (new), with *gp the G (or thread waiter, borrowed from w) to
 * wake; NULL on error. */
static PyObject *take_from_sender_slow(ChanObject *ch, PyObject *w, PyObject **gp);

static inline PyObject *
take_from_sender(ChanObject *ch, PyObject *w, PyObject **gp)
{
    if (ch->cap == 0 && Py_TYPE(w) == G_type) {
        /* The commonest case inline (see take_from_sender_slow). */
        PyObject *sv = Py_XNewRef(SLOT(w, off_g_param));
        if (sv == NULL)
            sv = Py_NewRef(Py_None);
        slot_set(w, off_g_param, Py_None);
        *gp = w;
        return sv;
    }
    return take_from_sender_slow(ch, w, gp);
}

static PyObject *
take_from_sender_slow(ChanObject *ch, PyObject *w, PyObject **gp)
{
    PyObject *sv;
    if (Py_TYPE(w) == G_type) {
        /* Its param is ours to read: it parked under the lock we hold.
         * Set before it queued (a G's param is never unset: None). */
        sv = Py_XNewRef(SLOT(w, off_g_param));
        if (sv == NULL)
            sv = Py_NewRef(Py_None);
        slot_set(w, off_g_param, Py_None);
        *gp = w;
    }
    else {
        sv = Py_NewRef(PyTuple_GET_ITEM(w, 2));
        *gp = sel_complete(w, Py_None, Py_True);
        if (*gp == NULL) {
            Py_DECREF(sv);
            return NULL;
        }
    }
    if (ch->cap > 0) {
        RingObject *buf = (RingObject *)ch->buf;
        /* A sender waits only on a full buffer (len == cap > 0). */
        if (buf->len > 0) {
            PyObject *v = ring_pop(buf);
            int err = ring_push(buf, sv);
            Py_DECREF(sv);
            if (err < 0) {
                Py_DECREF(v);
                return NULL;
            }
            return v;
        }
    }
    return sv;
}

static PyObject *
RecvOp_await(RecvOpObject *op)
{
    PyObject *m = tls_m;
    ChanObject *ch;
    int why;
    if (!GR_LOAD_RELAXED(fast_on)) {
        why = FB_OFF;
        goto slow;
    }
    if (!is_live_m(m)) {
        why = FB_NOT_M;
        goto slow;
    }
    if ((ch = fast_chan(op->chan)) == NULL) {
        why = FB_CHAN;
        goto slow;
    }
    LockObject *lock = (LockObject *)ch->lock;
    lock_acquire_raw(lock);
    RingObject *buf = (RingObject *)ch->buf;
    if (ch->cap > 0 && Py_TYPE(buf) != &Ring_Type) {
        why = FB_CHAN;
        goto slow_unlock;
    }
    PyObject *w;
    int r = q_deq(ch, 1, &w);
    if (r == Q_LIVE) {
        PyObject *g;
        PyObject *v = take_from_sender(ch, w, &g);
        lock_release_raw(lock);
        int err = v == NULL ? -1 : waiter_ready(g, m);
        Py_DECREF(w);
        if (err < 0) {
            Py_XDECREF(v);
            return NULL;
        }
        return recv_value(v, op->with_ok);
    }
    if (r == Q_ERR) {
        lock_release_raw(lock);
        return NULL;
    }
    if (r == Q_OTHER) {
        why = FB_QUEUE;
        goto slow_unlock;
    }
    if (ch->cap > 0 && buf->len > 0) {
        PyObject *v = ring_pop(buf);
        lock_release_raw(lock);
        return recv_value(v, op->with_ok);
    }
    if (ch->closed) {
        why = FB_CLOSED;
        goto slow_unlock;
    }
    /* Would block: queue this G last and park. */
    PyObject *g = SLOT(m, off_m_curg);     /* this M's own: written by this thread */
    if (g == NULL || Py_TYPE(g) != G_type) {
        why = FB_PARK;
        goto slow_unlock;
    }
    Py_INCREF(lock);
    PyObject *a = await_new(A_PARK_RECV, op->with_ok, (PyObject *)lock);
    if (a == NULL) {
        lock_release_raw(lock);
        return NULL;
    }
    slot_set(g, off_g_waitreason, WAIT_RECV);
    slot_set(g, off_g_waitchan, (PyObject *)ch);
    if (q_enq(ch, 0, g) < 0) {
        Py_DECREF(a);
        lock_release_raw(lock);
        return NULL;
    }
    return a;   /* the lock stays held until the M parks the G */

slow_unlock:
    lock_release_raw(lock);
slow:
    fallback(why);
    return PyObject_CallOneArg(recv_slow, (PyObject *)op);
}

static PyObject *
SendOp_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
    PyObject *chan, *value;
    static char *kwlist[] = {"chan", "value", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OO:SendOp", kwlist, &chan, &value))
        return NULL;
    return SendOp_make(chan, value);  /* not a base type: type is SendOp */
}

static int
SendOp_traverse(SendOpObject *self, visitproc visit, void *arg)
{
    Py_VISIT(self->chan);
    Py_VISIT(self->value);
    return 0;
}

static int
SendOp_clear(SendOpObject *self)
{
    Py_CLEAR(self->chan);
    Py_CLEAR(self->value);
    return 0;
}

/* tp_finalize: a SendOp neither awaited nor passed to select is a
 * forgotten ``await`` (the value is never sent): warn. Called from
 * SendOp_dealloc only when ``used`` is 0 (the hot path, an awaited op,
 * pays one load and branch), and by the cycle collector. The warning's
 * location is the Python frame running when the op is dropped: for the
 * usual mistake, the statement ``ch.send(v)`` itself. */
static void
SendOp_finalize(SendOpObject *self)
{
    self->finalized = 1;
    if (GR_LOAD_RELAXED(self->used) || self->chan == NULL || self->value == NULL)
        return;
    self->used = 1;
    PyObject *t, *v, *tb;
    PyErr_Fetch(&t, &v, &tb);
    if (PyErr_WarnFormat(PyExc_RuntimeWarning, 1,
                         "channel operation %R was never awaited; use 'await ch.send(v)' "
                         "or pass it to goroutines.select()", (PyObject *)self) < 0)
        PyErr_WriteUnraisable((PyObject *)self);
    PyErr_Restore(t, v, tb);
}

/* May this dead SendOp's memory be handed out again (SendOp_make)? Only
 * if its collector state is that of a new object: untracked (done by the
 * caller) and never finalized (a reused op must warn if it is forgotten;
 * the finalizer runs at most once per object). On a free-threaded build
 * every collector bit must be clear. */
static inline int
sendop_reusable(SendOpObject *self)
{
#ifdef GR_FT
    return ((PyObject *)self)->ob_gc_bits == 0;
#else
    /* The collector's finalized bit, without the call that reads it: it
     * is set exactly when tp_finalize ran, which set ``finalized``. */
    return !self->finalized;
#endif
}

static void
SendOp_dealloc(SendOpObject *self)
{
    if (!GR_LOAD_RELAXED(self->used)
        && PyObject_CallFinalizerFromDealloc((PyObject *)self) < 0)
        return;     /* resurrected by the warning machinery */
    PyObject_GC_UnTrack(self);
    SendOp_clear(self);
    if (tls_m != NULL && tls_nsfree < SENDOP_FREE && Py_IS_TYPE(self, &SendOp_Type) && sendop_reusable(self)) {
        self->value = (PyObject *)tls_sfree;
        tls_sfree = self;
        tls_nsfree++;
        return;
    }
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* This thread's free SendOps go back to the allocator (its M loop ended). */
static void
sendop_free_all(void)
{
    while (tls_sfree != NULL) {
        SendOpObject *op = tls_sfree;
        tls_sfree = (SendOpObject *)op->value;
        PyObject_GC_Del(op);
    }
    tls_nsfree = 0;
}

static PyObject *
SendOp_repr(SendOpObject *self)
{
    return PyUnicode_FromFormat("<send %R on %R>", self->value, self->chan);
}

static PyMemberDef SendOp_members[] = {
    {"chan", T_OBJECT_EX, offsetof(SendOpObject, chan), READONLY, "the channel"},
    {"value", T_OBJECT_EX, offsetof(SendOpObject, value), READONLY, "the value to send"},
    {"_used", T_BOOL, offsetof(SendOpObject, used), 0,
     "awaited or passed to select (a SendOp collected without it warns)"},
    {NULL, 0, 0, 0, NULL},
};

static PyMethodDef Op_methods[] = {
    {"__class_getitem__", Py_GenericAlias, METH_O | METH_CLASS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyAsyncMethods SendOp_async = {
    .am_await = (unaryfunc)SendOp_await,
};

static PyTypeObject SendOp_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "goroutines.SendOp",
    .tp_basicsize = sizeof(SendOpObject),
    .tp_dealloc = (destructor)SendOp_dealloc,
    .tp_finalize = (destructor)SendOp_finalize,
    .tp_as_async = &SendOp_async,
    .tp_repr = (reprfunc)SendOp_repr,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "\"Send value on chan\": await it, or pass it to select().",
    .tp_traverse = (traverseproc)SendOp_traverse,
    .tp_clear = (inquiry)SendOp_clear,
    .tp_methods = Op_methods,
    .tp_members = SendOp_members,
    .tp_new = SendOp_new,
};

static PyObject *
RecvOp_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
    PyObject *chan;
    int with_ok;
    static char *kwlist[] = {"chan", "with_ok", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kw, "Oi:RecvOp", kwlist, &chan, &with_ok))
        return NULL;
    if (with_ok < 0 || with_ok > 2) {
        PyErr_Format(PyExc_ValueError, "RecvOp: with_ok must be 0, 1 or 2, not %d", with_ok);
        return NULL;
    }
    return RecvOp_make(chan, with_ok);  /* not a base type: type is RecvOp */
}

static PyObject *
RecvOp_make(PyObject *chan, int with_ok)
{
    RecvOpObject *op = PyObject_GC_New(RecvOpObject, &RecvOp_Type);
    if (op == NULL)
        return NULL;
    Py_INCREF(chan);
    op->chan = chan;
    op->with_ok = with_ok;
    PyObject_GC_Track(op);
    return (PyObject *)op;
}

static PyObject *
RecvOp_repr(RecvOpObject *self)
{
    return PyUnicode_FromFormat("<recv%s on %R>", self->with_ok == 1 ? "_ok" : "", self->chan);
}

static PyMemberDef RecvOp_members[] = {
    {"chan", T_OBJECT_EX, offsetof(RecvOpObject, chan), READONLY, "the channel"},
    {"with_ok", T_INT, offsetof(RecvOpObject, with_ok), READONLY,
     "0: the value; 1: (value, ok); 2: the value or StopAsyncIteration (async for)"},
    {NULL, 0, 0, 0, NULL},
};

static PyAsyncMethods RecvOp_async = {
    .am_await = (unaryfunc)RecvOp_await,
};

static PyTypeObject RecvOp_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "goroutines.RecvOp",
    .tp_basicsize = sizeof(RecvOpObject),
    .tp_dealloc = (destructor)OneRef_dealloc,
    .tp_as_async = &RecvOp_async,
    .tp_repr = (reprfunc)RecvOp_repr,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "\"Receive from chan\": await it, or pass it to select().",
    .tp_traverse = (traverseproc)OneRef_traverse,
    .tp_clear = (inquiry)OneRef_clear,
    .tp_methods = Op_methods,
    .tp_members = RecvOp_members,
    .tp_new = RecvOp_new,
};

/* ------------------------------------------------------------------ select */

/* SelectBase: the fields of _select.Select (``ops``, ``active``, ``default``)
 * and its ``await``: _select.selectgo's algorithm for the shapes the C code
 * does -- on an M with a P, at most SEL_MAX cases, every case a C SendOp/
 * RecvOp on a channel fast_chan accepts -- and the Python selectgo for the
 * rest (counted in FB_SELECT, or the reason shared with the plain
 * operations). The steps, their order and the random numbers drawn are
 * selectgo's, so that a seeded run at GOMAXPROCS=1 makes the same choices
 * on either path:
 *
 *   1. lock each channel once, in id() (address) order;
 *   2. the ready cases, as selectgo's pass 1 (q_peek_live); while any:
 *      pick one with the P's ``rand`` (no draw for one), try it (q_deq; a
 *      channel whose only waiters were selects completed meanwhile drops
 *      out and the rest keep their order); done: unlock, wake, return;
 *   3. default: unlock, (-1, None, False);
 *   4. park: one token Lock, a waiter (g, case, value, token) queued on
 *      every case (shuffled first when two cases share a channel), the G's
 *      waitreason/waitchan set, and the locks yielded to the M as a tuple
 *      (released after the G is marked waiting). The waker's (case, value,
 *      ok) is the G's param on resume; a CLOSED value raises.
 *
 * Locking: every channel's Lock, taken in one global order (as selectgo
 * does, so C and Python selects never deadlock on each other), guards its
 * queues and buffer for the whole of steps 2-4. ``ops``/``active`` are set
 * by Select.__init__ before the Select is shared and never written after
 * (read without a lock); the tuple and list keep the operations, and they
 * the channels, alive while the await runs. */

#define SEL_MAX 16

typedef struct {
    PyObject_HEAD
    PyObject *ops;      /* tuple: SendOp | RecvOp | None, as given */
    PyObject *active;   /* the indices of the non-None cases: a list (Python
                         * select) or a tuple (C select: shared when no case
                         * is None, see sel_ranges); never mutated */
    char dflt;
} SelectObject;

typedef struct {
    PyObject *idx;      /* the case index (an int of ``active``), borrowed */
    ChanObject *ch;     /* borrowed (the operation holds it) */
    PyObject *value;    /* a send's value, borrowed; NULL for a receive */
} SelCase;

static PyObject *py_selectgo = NULL;    /* _select.selectgo(sel) */
static PyObject *WAIT_SELECT = NULL;    /* "select" */
static PyObject *str_random = NULL;
static PyObject *sel_default_res = NULL; /* (-1, None, False), made at import */

static int slot_offset(PyObject *cls, const char *name, Py_ssize_t *out);

/* int(p.rand.random() * n): selectgo's draw, from the same generator. */
static int
sel_draw(PyObject *p, Py_ssize_t n, Py_ssize_t *out)
{
    PyObject *rand = SLOT(p, off_p_rand);
    if (rand == NULL) {
        PyErr_SetString(PyExc_AttributeError, "P.rand is unset");
        return -1;
    }
    PyObject *args[1] = {rand};
    PyObject *r = PyObject_VectorcallMethod(str_random, args, 1, NULL);
    if (r == NULL)
        return -1;
    double d = PyFloat_AsDouble(r);
    Py_DECREF(r);
    if (d == -1.0 && PyErr_Occurred())
        return -1;
    *out = (Py_ssize_t)(d * (double)n);
    if (*out >= n)      /* not for a real random(); a guard for odd ones */
        *out = n - 1;
    return 0;
}

static void
sel_unlock(ChanObject **chans, Py_ssize_t nch)
{
    for (Py_ssize_t j = nch; j-- > 0;)
        lock_release_raw((LockObject *)chans[j]->lock);
}

/* Try case ``c`` (locks held). 1: done, *res the select's result and *wake
 * a G/thread waiter to wake (new reference) or NULL; 0: not ready after
 * all; SEL_CLOSED: a send on a closed channel (the caller raises, after
 * unlocking); Q_OTHER; -1: error. */
#define SEL_CLOSED 2

static int
sel_try(SelCase *c, PyObject **res, PyObject **wake)
{
    ChanObject *ch = c->ch;
    PyObject *w;
    *wake = NULL;
    if (c->value != NULL) {
        if (ch->closed)
            return SEL_CLOSED;
        int r = q_deq(ch, 0, &w);
        if (r == Q_LIVE) {
            PyObject *g = w;
            if (Py_TYPE(w) == G_type)
                slot_set(w, off_g_param, c->value);
            else if ((g = sel_complete(w, c->value, Py_True)) == NULL) {
                Py_DECREF(w);
                return -1;
            }
            *wake = Py_NewRef(g);
            Py_DECREF(w);
        }
        else if (r != Q_NONE)
            return r;
        else if (ch->cap > 0 && ((RingObject *)ch->buf)->len < ch->cap) {
            if (ring_push((RingObject *)ch->buf, c->value) < 0)
                return -1;
        }
        else
            return 0;
        *res = PyTuple_Pack(3, c->idx, Py_None, Py_True);
    }
    else {
        PyObject *v;
        int r = q_deq(ch, 1, &w);
        if (r == Q_LIVE) {
            PyObject *g;
            v = take_from_sender(ch, w, &g);
            if (v == NULL) {
                Py_DECREF(w);
                return -1;
            }
            *wake = Py_NewRef(g);
            Py_DECREF(w);
        }
        else if (r != Q_NONE)
            return r;
        else if (ch->cap > 0 && ((RingObject *)ch->buf)->len > 0)
            v = ring_pop((RingObject *)ch->buf);
        else if (ch->closed) {
            *res = PyTuple_Pack(3, c->idx, Py_None, Py_False);
            return *res == NULL ? -1 : 1;
        }
        else
            return 0;
        *res = PyTuple_Pack(3, c->idx, v, Py_True);
        Py_DECREF(v);
    }
    if (*res == NULL) {
        Py_CLEAR(*wake);    /* cannot happen short of memory; the G stays dequeued */
        return -1;
    }
    return 1;
}

static LockObject *
lock_new_raw(void)
{
    LockObject *l = PyObject_New(LockObject, &Lock_Type);
    if (l == NULL)
        return NULL;
    l->weakrefs = NULL;
    if (mu_init(&l->mu) < 0) {
        PyObject_Free(l);
        PyErr_SetString(PyExc_MemoryError, "cannot allocate a lock");
        return NULL;
    }
    return l;
}

/* Step 4 (locks held, released here on error): queue a waiter on every
 * case and return the park Await, or NULL. */
static PyObject *
sel_park(PyObject *g, PyObject *p, SelCase *cs, Py_ssize_t n, ChanObject **chans, Py_ssize_t nch)
{
    Py_ssize_t order[SEL_MAX];
    for (Py_ssize_t k = 0; k < n; k++)
        order[k] = k;
    if (nch < n) {
        /* Two cases share a channel: which queues first there is random
         * too (selectgo's _shuffle: Fisher-Yates, the same draws). */
        for (Py_ssize_t k = n - 1; k > 0; k--) {
            Py_ssize_t j;
            if (sel_draw(p, k + 1, &j) < 0)
                goto fail_unqueued;
            Py_ssize_t t = order[k];
            order[k] = order[j];
            order[j] = t;
        }
    }
    LockObject *token = lock_new_raw();
    PyObject *waits = PyTuple_New(n);
    PyObject *locks = PyTuple_New(nch);
    if (token == NULL || waits == NULL || locks == NULL) {
        Py_XDECREF(token);
        Py_XDECREF(waits);
        Py_XDECREF(locks);
        goto fail_unqueued;
    }
    /* Released by the M in reverse lock order, as selectgo yields them. */
    for (Py_ssize_t j = 0; j < nch; j++)
        PyTuple_SET_ITEM(locks, nch - 1 - j, Py_NewRef(chans[j]->lock));
    /* Made before anything is queued: past this point nothing can fail
     * but the queueing itself, undone by claiming our own token. */
    PyObject *a = await_new(A_PARK_SELECT, 0, locks);  /* takes locks */
    if (a == NULL) {
        Py_DECREF(token);
        Py_DECREF(waits);
        goto fail_unqueued;
    }
    for (Py_ssize_t t = 0; t < n; t++) {
        SelCase *c = &cs[order[t]];
        PyObject *w = PyTuple_Pack(4, g, c->idx, c->value != NULL ? c->value : Py_None, (PyObject *)token);
        PyObject *pair = w == NULL ? NULL : PyTuple_Pack(2, (PyObject *)c->ch, w);
        if (pair == NULL || q_enq(c->ch, c->value != NULL, w) < 0) {
            Py_XDECREF(w);
            Py_XDECREF(pair);
            /* Claim our own token: what was queued is stale at once. */
            mu_trylock(&token->mu);
            Py_DECREF(token);
            Py_DECREF(waits);
            Py_DECREF(a);
            goto fail_unqueued;
        }
        Py_DECREF(w);
        PyTuple_SET_ITEM(waits, t, pair);
    }
    Py_DECREF(token);   /* the waiters hold it */
    slot_set(g, off_g_waitreason, WAIT_SELECT);
    slot_set(g, off_g_waitchan, waits);
    Py_DECREF(waits);
    return a;   /* the locks stay held until the M parks the G */

fail_unqueued:
    sel_unlock(chans, nch);
    return NULL;
}

static PyObject *
Select_await(SelectObject *self)
{
    PyObject *m = tls_m;
    PyObject *ops = self->ops, *active = self->active;
    SelCase cs[SEL_MAX];
    ChanObject *chans[SEL_MAX];
    Py_ssize_t n, nch = 0;
    int why;
    if (!GR_LOAD_RELAXED(fast_on)) {
        why = FB_OFF;
        goto slow;
    }
    if (!is_live_m(m)) {
        why = FB_NOT_M;
        goto slow;
    }
    PyObject *g = SLOT(m, off_m_curg);     /* this M's own */
    PyObject *p = slot_load(m, off_m_p);   /* kept alive by allp (see "Locking") */
    if (g == NULL || Py_TYPE(g) != G_type || p == NULL || p == Py_None || off_p_rand < 0 ||
        ops == NULL || !PyTuple_CheckExact(ops) || active == NULL ||
        !(PyList_CheckExact(active) || PyTuple_CheckExact(active)) ||
        (n = PySequence_Fast_GET_SIZE(active)) == 0 || n > SEL_MAX) {
        why = FB_SELECT;
        goto slow;
    }
    for (Py_ssize_t k = 0; k < n; k++) {
        PyObject *idx = PySequence_Fast_GET_ITEM(active, k);
        Py_ssize_t i = PyLong_CheckExact(idx) ? PyLong_AsSsize_t(idx) : -1;
        if (i < 0 || i >= PyTuple_GET_SIZE(ops)) {
            PyErr_Clear();
            why = FB_SELECT;
            goto slow;
        }
        PyObject *op = PyTuple_GET_ITEM(ops, i);
        PyObject *chan;
        if (Py_TYPE(op) == &SendOp_Type) {
            chan = ((SendOpObject *)op)->chan;
            cs[k].value = ((SendOpObject *)op)->value;
        }
        else if (Py_TYPE(op) == &RecvOp_Type) {
            chan = ((RecvOpObject *)op)->chan;
            cs[k].value = NULL;
        }
        else {
            why = FB_SELECT;
            goto slow;
        }
        ChanObject *ch = fast_chan(chan);
        if (ch == NULL || (ch->cap > 0 && Py_TYPE(ch->buf) != &Ring_Type)) {
            why = FB_CHAN;
            goto slow;
        }
        cs[k].idx = idx;
        cs[k].ch = ch;
        /* The channels, each once, by address (id()): insertion sort. */
        Py_ssize_t j = nch;
        int dup = 0;
        for (Py_ssize_t t = 0; t < nch; t++)
            if (chans[t] == ch) {
                dup = 1;
                break;
            }
        if (!dup) {
            while (j > 0 && (uintptr_t)chans[j - 1] > (uintptr_t)ch) {
                chans[j] = chans[j - 1];
                j--;
            }
            chans[j] = ch;
            nch++;
        }
    }
    for (Py_ssize_t j = 0; j < nch; j++)
        lock_acquire_raw((LockObject *)chans[j]->lock);

    /* Pass 1: which cases can proceed? */
    Py_ssize_t ready[SEL_MAX], nr = 0;
    for (Py_ssize_t k = 0; k < n; k++) {
        ChanObject *ch = cs[k].ch;
        int r;
        if (cs[k].value != NULL)
            r = ch->closed || (ch->cap > 0 && ((RingObject *)ch->buf)->len < ch->cap) ? Q_LIVE : q_peek_live(ch, 0);
        else
            r = (ch->cap > 0 && ((RingObject *)ch->buf)->len > 0) || ch->closed ? Q_LIVE : q_peek_live(ch, 1);
        if (r == Q_LIVE)
            ready[nr++] = k;
        else if (r == Q_ERR)
            goto error_unlock;
        else if (r == Q_OTHER) {
            why = FB_QUEUE;
            goto slow_unlock;
        }
    }
    while (nr > 0) {
        Py_ssize_t k = 0;
        if (nr > 1 && sel_draw(p, nr, &k) < 0)
            goto error_unlock;
        PyObject *res = NULL, *wake = NULL;
        int r = sel_try(&cs[ready[k]], &res, &wake);
        if (r == 0) {
            /* Its only waiters were selects completed meanwhile. */
            memmove(&ready[k], &ready[k + 1], (size_t)(nr - k - 1) * sizeof(ready[0]));
            nr--;
            continue;
        }
        if (r == Q_OTHER) {
            why = FB_QUEUE;
            goto slow_unlock;   /* nothing done yet: Python starts over */
        }
        sel_unlock(chans, nch);
        if (r < 0)
            return NULL;
        if (r == SEL_CLOSED) {
            PyObject *exc = PyObject_CallNoArgs(send_closed);
            if (exc != NULL) {
                PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
                Py_DECREF(exc);
            }
            return NULL;
        }
        if (wake != NULL) {
            int err = waiter_ready(wake, m);
            Py_DECREF(wake);
            if (err < 0) {
                Py_DECREF(res);
                return NULL;
            }
        }
        return await_new(A_VALUE, 0, res);
    }
    if (self->dflt) {
        sel_unlock(chans, nch);
        return await_new(A_VALUE, 0, Py_NewRef(sel_default_res));
    }
    return sel_park(g, p, cs, n, chans, nch);

error_unlock:
    sel_unlock(chans, nch);
    return NULL;
slow_unlock:
    sel_unlock(chans, nch);
slow:
    fallback(why);
    return PyObject_CallOneArg(py_selectgo, (PyObject *)self);
}

static int
Select_traverse(SelectObject *self, visitproc visit, void *arg)
{
    Py_VISIT(self->ops);
    Py_VISIT(self->active);
    return 0;
}

static int
Select_clear(SelectObject *self)
{
    Py_CLEAR(self->ops);
    Py_CLEAR(self->active);
    return 0;
}

static void
Select_dealloc(SelectObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    Select_clear(self);
    tp->tp_free((PyObject *)self);
}

static PyMemberDef Select_members[] = {
    {"ops", T_OBJECT_EX, offsetof(SelectObject, ops), 0, "the cases, as given"},
    {"active", T_OBJECT_EX, offsetof(SelectObject, active), 0, "indices of the non-None cases"},
    {"default", T_BOOL, offsetof(SelectObject, dflt), 0, "whether a default case is given"},
    {NULL, 0, 0, 0, NULL},
};

static PyAsyncMethods Select_async = {
    .am_await = (unaryfunc)Select_await,
};

static PyTypeObject Select_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "goroutines._core._speedups.SelectBase",
    .tp_basicsize = sizeof(SelectObject),
    .tp_dealloc = (destructor)Select_dealloc,
    .tp_as_async = &Select_async,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "The fields of a select and its await (see _select.Select).",
    .tp_traverse = (traverseproc)Select_traverse,
    .tp_clear = (inquiry)Select_clear,
    .tp_members = Select_members,
    .tp_new = PyType_GenericNew,
};

/* select(*ops, default=False): _select.select for the calls it checks
 * quickly -- every case a C SendOp, RecvOp or None, default a bool -- making
 * the Select without a Python __init__; any other call (a bad case, a bad
 * default, the fast paths off) is the Python select's, which words the
 * errors. */
static PyTypeObject *select_cls = NULL;     /* _select.Select (setup_select) */
static PyObject *py_select = NULL;          /* _select.select */
/* sel_ranges[n]: the tuple (0, 1, ..., n-1), the ``active`` of every
 * select of n cases none of which is None (made at import, immutable, so
 * shared by all threads); up to SEL_MAX, the most the C await takes. */
static PyObject *sel_ranges[SEL_MAX + 1];

static PyObject *
select_fn(PyObject *mod, PyObject *args, PyObject *kw)
{
    int dflt = 0;
    if (!GR_LOAD_RELAXED(fast_on) || select_cls == NULL)
        goto python;
    if (kw != NULL && PyDict_GET_SIZE(kw) != 0) {
        PyObject *d;
        if (PyDict_GET_SIZE(kw) != 1 || (d = PyDict_GetItemString(kw, "default")) == NULL || !PyBool_Check(d))
            goto python;
        dflt = d == Py_True;
    }
    Py_ssize_t n = PyTuple_GET_SIZE(args), nactive = 0;
    for (Py_ssize_t k = 0; k < n; k++) {
        PyObject *op = PyTuple_GET_ITEM(args, k);
        if (op == Py_None)
            continue;
        if (Py_TYPE(op) != &SendOp_Type && Py_TYPE(op) != &RecvOp_Type)
            goto python;
        nactive++;
    }
    /* Every case checked: nothing was changed before a hand-over. */
    PyObject *active;
    if (nactive == n && n <= SEL_MAX && sel_ranges[n] != NULL)
        active = Py_NewRef(sel_ranges[n]);
    else {
        active = PyTuple_New(nactive);
        if (active == NULL)
            return NULL;
        for (Py_ssize_t k = 0, j = 0; k < n; k++) {
            if (PyTuple_GET_ITEM(args, k) == Py_None)
                continue;
            PyObject *i = PyLong_FromSsize_t(k);
            if (i == NULL) {
                Py_DECREF(active);
                return NULL;
            }
            PyTuple_SET_ITEM(active, j++, i);
        }
    }
    for (Py_ssize_t k = 0; k < n; k++) {
        PyObject *op = PyTuple_GET_ITEM(args, k);
        if (Py_TYPE(op) == &SendOp_Type)
            GR_STORE_RELAXED(((SendOpObject *)op)->used, 1);  /* handed to select: not a forgotten await */
    }
    SelectObject *sel = (SelectObject *)select_cls->tp_alloc(select_cls, 0);
    if (sel == NULL) {
        Py_DECREF(active);
        return NULL;
    }
    sel->ops = Py_NewRef(args);
    sel->active = active;
    sel->dflt = (char)dflt;
    return (PyObject *)sel;
python:
    return PyObject_Call(py_select, args, kw);
}

/* setup_select(selectgo, WAIT_SELECT, Select, select): the Python select
 * for what the C one hands over, the wait reason, the class select() makes
 * and the Python select(). (P's ``rand`` slot: setup_core.) */
static PyObject *
setup_select(PyObject *mod, PyObject *args)
{
    PyObject *sg, *ws, *cls, *ps;
    if (!PyArg_ParseTuple(args, "OUO!O:setup_select", &sg, &ws, &PyType_Type, &cls, &ps))
        return NULL;
    if (!PyType_IsSubtype((PyTypeObject *)cls, &Select_Type) ||
        ((PyTypeObject *)cls)->tp_basicsize != Select_Type.tp_basicsize) {
        PyErr_SetString(PyExc_TypeError, "setup_select: the select class must derive from SelectBase, adding no fields");
        return NULL;
    }
    Py_INCREF(cls);
    Py_XSETREF(select_cls, (PyTypeObject *)cls);
    Py_INCREF(ps);
    Py_XSETREF(py_select, ps);
    Py_INCREF(sg);
    Py_XSETREF(py_selectgo, sg);
    Py_INCREF(ws);
    Py_XSETREF(WAIT_SELECT, ws);
    for (Py_ssize_t n = 0; n <= SEL_MAX; n++) {
        if (sel_ranges[n] != NULL)
            continue;
        PyObject *t = PyTuple_New(n);
        if (t == NULL)
            return NULL;
        for (Py_ssize_t k = 0; k < n; k++) {
            PyObject *i = PyLong_FromSsize_t(k);
            if (i == NULL) {
                Py_DECREF(t);
                return NULL;
            }
            PyTuple_SET_ITEM(t, k, i);
        }
        sel_ranges[n] = t;
    }
    Py_RETURN_NONE;
}

/* ------------------------------------------------------------------ run_fast */

static int slot_offset(PyObject *cls, const char *name, Py_ssize_t *out);

/* Call fn(a, b[, c]) for its effect. Returns 0, or -1 with an exception. */
static int
call3(PyObject *fn, PyObject *a, PyObject *b, PyObject *c)
{
    PyObject *args[3] = {a, b, c};
    PyObject *r = PyObject_Vectorcall(fn, args, c == NULL ? 2 : 3, NULL);
    if (r == NULL)
        return -1;
    Py_DECREF(r);
    return 0;
}

/* Is ``trap`` a non-empty tuple of C Locks (a select's park: its channels'
 * locks, see sel_park and selectgo)? Those park_on_lock releases itself;
 * any other tuple goes to after_trap. */
static inline int
lock_tuple(PyObject *trap)
{
    if (!PyTuple_CheckExact(trap) || PyTuple_GET_SIZE(trap) == 0)
        return 0;
    for (Py_ssize_t k = 0; k < PyTuple_GET_SIZE(trap); k++)
        if (Py_TYPE(PyTuple_GET_ITEM(trap, k)) != &Lock_Type)
            return 0;
    return 1;
}

/* The G parked: mark it waiting, then release the lock it yielded -- or
 * each lock of a tuple, in the tuple's order (a select's park; after_trap's
 * tuple case) -- (the order that makes parking race-free, see _g.py), as
 * schedule() does. */
static int
park_on_lock(PyObject *sched, PyObject *g, PyObject *trap)
{
    slot_set(g, off_g_status, WAITING);
    PyObject *now = slot_get_ref_cached(sched, off_s_coarse_now, &tls_now);  /* sysmon replaces it */
    if (now == NULL) {
        PyErr_SetString(PyExc_AttributeError, "Sched.coarse_now is unset");
        return -1;
    }
    slot_set(g, off_g_waitsince, now);
    Py_DECREF(now);
    if (Py_TYPE(trap) == &Lock_Type) {
        LockObject *l = (LockObject *)trap;
        if (!mu_is_locked(&l->mu)) {
            PyErr_SetString(PyExc_RuntimeError, "release unlocked lock");
            return -1;
        }
        lock_release_raw(l);
    }
    else if (PyTuple_CheckExact(trap)) {
        /* lock_tuple(trap): every item a C Lock (checked by the caller).
         * Each is checked before it is released, as Lock.release does. */
        for (Py_ssize_t k = 0; k < PyTuple_GET_SIZE(trap); k++) {
            LockObject *l = (LockObject *)PyTuple_GET_ITEM(trap, k);
            if (!mu_is_locked(&l->mu)) {
                PyErr_SetString(PyExc_RuntimeError, "release unlocked lock");
                return -1;
            }
            lock_release_raw(l);
        }
    }
    else {
        PyObject *r = PyObject_CallMethodNoArgs(trap, str_release);
        if (r == NULL)
            return -1;
        Py_DECREF(r);
    }
    PyObject *stopping = slot_load(sched, off_s_stopping);
    if (stopping != NULL && stopping != Py_False && slot_load(g, off_g_status) == WAITING) {
        PyObject *args[1] = {g};
        PyObject *r = PyObject_Vectorcall(py_unhook, args, 1, NULL);
        if (r == NULL)
            return -1;
        Py_DECREF(r);
    }
    return 0;
}

/* Does a timer heap of ``sched`` hold a live timer: ``timers``, or in a
 * synctest bubble ``realtimers`` (the real-time heap of I/O deadlines; None
 * outside a bubble)? findrunnable runs the due ones of both before it takes
 * from the global queue (_findrunnable.py, its reference), so take_global
 * leaves the pick to it then; looking at ``timers`` alone left a bubble's
 * due I/O deadline waiting for the 61st pick, an idle M or sysmon. Both
 * slots are set once, by Sched.__init__ (off_s_realtimers is -1 for a Sched
 * without the slot: one heap). Under Sched.lock (the heaps' ``nlive``). 1
 * or 0; -1 with an exception. */
static int
timers_pending_locked(PyObject *sched)
{
    PyObject *heaps[2] = {SLOT(sched, off_s_timers),
                          off_s_realtimers >= 0 ? SLOT(sched, off_s_realtimers) : NULL};
    if (heaps[0] == NULL)
        return 1;   /* no heap to look at: findrunnable decides */
    for (int i = 0; i < 2; i++) {
        if (heaps[i] == NULL || heaps[i] == Py_None)
            continue;
        PyObject *nlive = PyObject_GetAttr(heaps[i], str_nlive);
        if (nlive == NULL)
            return -1;
        int busy = PyObject_IsTrue(nlive);
        Py_DECREF(nlive);
        if (busy != 0)
            return busy;
    }
    return 0;
}

/* The head of the global run queue for m's P ``p``, when findrunnable would
 * take it without anything else to do first: the run is not stopping, p is
 * still m's and running, no timer is pending on either heap (findrunnable
 * runs due ones first: timers_pending_locked), the head is a G (not a
 * preempted M's placeholder, which gets the P), and no idle P would have
 * to be woken for what stays queued. Under
 * Sched.lock, as findrunnable. NULL without an exception: leave it to
 * findrunnable. */
static PyObject *
take_global(PyObject *m, PyObject *sched, PyObject *p)
{
    if (off_s_lock < 0)
        return NULL;
    PyObject *lk = SLOT(sched, off_s_lock);
    PyObject *runq = SLOT(sched, off_s_runq);
    if (lk == NULL || Py_TYPE(lk) != &Lock_Type || runq == NULL || Py_TYPE(runq) != deque_type)
        return NULL;
    if (GR_LOAD_RELAXED(((PyVarObject *)runq)->ob_size) == 0)
        return NULL;    /* a hint read without the lock; rechecked under it */
    LockObject *l = (LockObject *)lk;
    lock_acquire_raw(l);
    PyObject *g = NULL;
    PyObject *v = SLOT(sched, off_s_stopping);
    if (v == NULL || v != Py_False || slot_load(m, off_m_p) != p)
        goto out;
    v = SLOT(p, off_p_status);
    if (v == NULL || !PyLong_CheckExact(v) || PyLong_AsLong(v) != P_RUNNING_VAL)
        goto out;
    if (timers_pending_locked(sched) != 0)
        goto out;   /* -1: with the exception, for the caller */
    PyObject *pidle = SLOT(sched, off_s_pidle);
    if (pidle == NULL || !PyList_Check(pidle) || (PyList_GET_SIZE(pidle) > 0 && Py_SIZE(runq) > 1))
        goto out;
    if (Py_SIZE(runq) == 0)
        goto out;
    PyObject *head = PySequence_GetItem(runq, 0);
    if (head == NULL)
        goto out;
    int is_g = Py_TYPE(head) == G_type;
    Py_DECREF(head);
    if (is_g)
        g = dq_popleft(runq);
out:
    lock_release_raw(l);
    return g;
}

/* Pop the head of deque ``q`` (runnext or a P's local run queue): a new
 * reference, or NULL -- with an exception set only on a real error (a queue
 * drained by another thread between the length check and the pop is not
 * one: a stealer may take from a local queue at any time). */
static PyObject *
pop_queue(PyObject *q)
{
    if (q == NULL || Py_TYPE(q) != deque_type || GR_LOAD_RELAXED(((PyVarObject *)q)->ob_size) == 0)
        return NULL;
    PyObject *g = dq_popleft(q);
    if (g == NULL && PyErr_ExceptionMatches(PyExc_IndexError))
        PyErr_Clear();
    return g;
}

/* Run ``g`` (just taken from a queue: ours now) on ``m`` to its next trap,
 * as schedule()'s "execute" does: curg, RUNNING, resume with the G's param.
 * The one place the C code resumes a goroutine. Returns 0 with *res and
 * *trap set (PyIter_Send's), or -1 with an exception (a broken G). */
static int
execute(PyObject *m, PyObject *g, PyObject **trap, PySendResult *res)
{
    /* Free-threaded builds: the G's stacklock (see below) is its own small
     * object, and with many goroutines (W6: 2,000 in a chain) a cold one:
     * the line(s) of its type and mutex word (12 bytes apart, so one line
     * or two) are fetched for writing now, by address only (a prefetch
     * reads nothing and never faults), so that the miss overlaps the loads
     * below instead of stalling the type check and the locked instruction
     * that takes it. */
    PyObject *sl = off_g_stacklock < 0 ? NULL : SLOT(g, off_g_stacklock);
    if (sl == Py_None)
        sl = NULL;
#if defined(GR_FT) && (defined(__GNUC__) || defined(__clang__))
    if (sl != NULL) {
        __builtin_prefetch(&sl->ob_type, 1);
        __builtin_prefetch(&((LockObject *)sl)->mu, 1);
    }
#endif
    slot_set(m, off_m_curg, g);
    slot_set(g, off_g_status, RUNNING);
    /* The waker stored param before queueing g; the queue ordered it. It
     * is taken out (param = None): the slot's reference moves to us, as
     * slot_set would drop it. The G is ours, so no one else stores it. */
    PyObject *coro = Py_XNewRef(SLOT(g, off_g_coro));
    PyObject *ctx = Py_XNewRef(SLOT(g, off_g_ctx));
    if (SLOT(g, off_g_param) == NULL || coro == NULL || ctx == NULL || !PyContext_CheckExact(ctx)) {
        Py_XDECREF(coro);
        Py_XDECREF(ctx);
        slot_set(m, off_m_curg, Py_None);
        PyErr_SetString(PyExc_RuntimeError, "run_fast: a runnable G without coro/param/ctx");
        return -1;
    }
    Py_INCREF(Py_None);
    PyObject *param = GR_LOAD_RELAXED(SLOT(g, off_g_param));
    GR_STORE_RELEASE(SLOT(g, off_g_param), Py_None);
    /* Free-threaded builds: hold the G's stacklock while its frames run, as
     * schedule() does, so a dump never walks a chain that is changing (see
     * _g.py); None (no lock needed) under the GIL. Set once per G record
     * (a fresh one: a G reused from gfree keeps its lock), so the G, which
     * the caller holds, keeps it alive: borrowed, no count touched. */
    if (sl != NULL) {
        if (Py_TYPE(sl) == &Lock_Type)
            lock_acquire_raw((LockObject *)sl);
        else {
            PyObject *r = PyObject_CallMethod(sl, "acquire", NULL);
            if (r == NULL) {
                Py_DECREF(ctx);
                Py_DECREF(param);
                Py_DECREF(coro);
                slot_set(m, off_m_curg, Py_None);
                return -1;
            }
            Py_DECREF(r);
        }
    }
    /* The goroutine's contextvars.Context is current while it runs, as
     * schedule()'s ctx.run(coro.send, param) makes it. */
    int rc = 0;
    if (PyContext_Enter(ctx) < 0) {
        rc = -1;
    }
    else {
        tls_in_exec = 1;
        *res = PyIter_Send(coro, param, trap);
        tls_in_exec = 0;
        stop_release();
        if (PyContext_Exit(ctx) < 0) {
            /* Only if the goroutine left a context it had not entered. */
            Py_CLEAR(*trap);
            rc = -1;
        }
    }
    if (sl != NULL) {
        if (Py_TYPE(sl) == &Lock_Type)
            lock_release_raw((LockObject *)sl);
        else {
            /* keep the G's own outcome: a failing release is reported unraisably */
            PyObject *et, *ev, *etb;
            PyErr_Fetch(&et, &ev, &etb);
            PyObject *r = PyObject_CallMethod(sl, "release", NULL);
            if (r == NULL)
                PyErr_WriteUnraisable(sl);
            Py_XDECREF(r);
            PyErr_Restore(et, ev, etb);
        }
    }
    Py_DECREF(ctx);
    Py_DECREF(param);
    Py_DECREF(coro);
    slot_set(m, off_m_curg, Py_None);
    return rc;
}

/* ------------------------------------------------------------------ spawn and exit (go, goexit) */

/* go(fn, *args, **kwargs) and goexit in C, for their common case. The
 * definitions are _runtime.go, _lifecycle.newproc and _lifecycle.goexit, which do
 * every case; this code takes the same steps in the same order, and hands
 * anything else to them before it has changed anything:
 *
 *   go        on an M of a running Sched, ``fn`` an ``async def`` function
 *             (exactly types.FunctionType), no keyword arguments, called
 *             from a Python frame. Else _runtime.go from scratch (py_go).
 *   newproc   tracing off; under Sched.lock (a C Lock): not stopping, the M
 *             has a P, whose runnext holds at most one G, and that G can
 *             move to the local queue without the queue's overflow or a
 *             wake-up (room in it, no idle P). Else _lifecycle.newproc, given
 *             the coroutine, frame facts and context already made.
 *   goexit    (run_fast's) tracing off, the G not wired to its M, not
 *             goroutine 1. Else _lifecycle.goexit.
 *
 * A G record is untracked by the cyclic GC (_lifecycle's untrack_g; W3: with
 * 100,000 goroutines alive the collector visited every record's slots on
 * each pass over the older generations). That is sound because a G never
 * needs the collector to be freed: each reference it holds that could lead
 * back to it (coro, ctx, param, waitchan, lockedm) is dropped explicitly --
 * by goexit, gopanic, or run()'s shutdown for an abandoned goroutine -- and
 * while a goroutine lives its record is reachable from Sched.allgs anyway.
 * The handle go() returns holds one int and is untracked too.
 *
 * Locking: Sched.lock around gfree, goidgen, allgs, pidle, stopping and the
 * move of the old runnext, as newproc; the G's own slots are written before
 * it is published on runnext, and by its M in goexit (one writer).
 */

static Py_ssize_t off_g_id = -1, off_g_created_code = -1, off_g_created_lasti = -1;
static Py_ssize_t off_g_creator_id = -1, off_g_created_module = -1, off_g_entry = -1;
static Py_ssize_t off_s_gfree = -1, off_s_goidgen = -1, off_s_allgs = -1;
static Py_ssize_t off_h_id = -1;            /* _runtime.Goroutine.id */
static PyTypeObject *handle_type = NULL;    /* _runtime.Goroutine */
static PyObject *py_go = NULL;              /* _runtime.go: all of go() */
static PyObject *py_newproc = NULL;         /* _lifecycle.newproc */
static PyObject *py_new_lock = NULL;        /* _cext.new_lock: a fresh G's stacklock (free-threaded) */
static PyObject *DEAD = NULL;               /* _g.DEAD */
static PyObject *empty_str = NULL, *zero_float = NULL, *zero_long = NULL, *one_long = NULL;
static PyObject *str_function = NULL, *str_dunder_name = NULL, *str_close = NULL;
/* local_runq_max (_sched.LOCAL_RUNQ): declared with c_ready, set by setup_core and setup_spawn alike. */
static Py_ssize_t gfree_max = 0;            /* _lifecycle.GFREE_MAX */

static inline int
deque_append2(PyObject *dq, PyObject *x)
{
    PyObject *args[2] = {dq, x};
    PyObject *r = PyObject_Vectorcall(deque_append, args, 2, NULL);
    if (r == NULL)
        return -1;
    Py_DECREF(r);
    return 0;
}

/* newproc's common case: a new reference to the G, or NULL -- with an
 * exception on an error, without one when the case is not the common one
 * and nothing has been changed (the caller then calls _lifecycle.newproc). */
static PyObject *
newproc_fast(PyObject *sched, PyObject *m, PyObject *coro, PyObject *entry, PyObject *code,
             PyObject *lasti, PyObject *module, PyObject *ctx)
{
    PyObject *lk = SLOT(sched, off_s_lock);         /* set once */
    if (lk == NULL || Py_TYPE(lk) != &Lock_Type || !trace_off(sched))
        return NULL;
    PyObject *curg = SLOT(m, off_m_curg);           /* this M's own slot */
    PyObject *cid = zero_long;
    if (curg != NULL && curg != Py_None && SLOT(curg, off_g_id) != NULL)
        cid = SLOT(curg, off_g_id);                 /* fixed while the G lives */
    Py_INCREF(cid);
    LockObject *l = (LockObject *)lk;
    lock_acquire_raw(l);
    PyObject *g = NULL;
    PyObject *p = slot_load(m, off_m_p);            /* does not change under Sched.lock */
    PyObject *gf = SLOT(sched, off_s_gfree), *allgs = SLOT(sched, off_s_allgs);
    PyObject *gid0 = SLOT(sched, off_s_goidgen), *pidle = SLOT(sched, off_s_pidle);
    PyObject *rn = NULL, *lq = NULL;
    if (p == NULL || p == Py_None || SLOT(sched, off_s_stopping) != Py_False || gf == NULL ||
        !PyList_CheckExact(gf) || allgs == NULL || !PyDict_CheckExact(allgs) || gid0 == NULL ||
        !PyLong_CheckExact(gid0) || pidle == NULL || !PyList_CheckExact(pidle))
        goto out;
    rn = SLOT(p, off_p_runnext);                    /* set once */
    lq = SLOT(p, off_p_runq);
    if (rn == NULL || Py_TYPE(rn) != deque_type || lq == NULL || Py_TYPE(lq) != deque_type)
        goto out;
    /* Only this P's owner (we) appends to runnext; a stealer may empty it. */
    Py_ssize_t nrn = GR_LOAD_RELAXED(((PyVarObject *)rn)->ob_size);
    if (nrn > 1 || (nrn == 1 && (GR_LOAD_RELAXED(((PyVarObject *)lq)->ob_size) >= local_runq_max ||
                                 PyList_GET_SIZE(pidle) > 0)))
        goto out;
    /* From here on, every step is newproc's. */
    Py_ssize_t nf = PyList_GET_SIZE(gf);
    if (nf > 0) {
        /* A dead G: goexit cleared its coro, param, waitchan and waitreason. */
        g = Py_NewRef(PyList_GET_ITEM(gf, nf - 1));
        if (PyList_SetSlice(gf, nf - 1, nf, NULL) < 0)
            goto error;
    }
    else {
        /* Every slot of a fresh G is set here or below (see _g.G). */
        g = G_type->tp_alloc(G_type, 0);
        if (g == NULL)
            goto error;
        PyObject_GC_UnTrack(g);
        slot_set(g, off_g_waitreason, empty_str);
        slot_set(g, off_g_waitsince, zero_float);
        slot_set(g, off_g_param, Py_None);
        slot_set(g, off_g_waitchan, Py_None);
        slot_set(g, off_g_lockedm, Py_None);
        if (off_g_stacklock >= 0) {
            PyObject *sl = GR_FT_BUILD ? PyObject_CallNoArgs(py_new_lock) : Py_NewRef(Py_None);
            if (sl == NULL)
                goto error;
            slot_set(g, off_g_stacklock, sl);
            Py_DECREF(sl);
        }
    }
    PyObject *gid = PyNumber_Add(gid0, one_long);
    if (gid == NULL)
        goto error;
    slot_set(sched, off_s_goidgen, gid);
    slot_set(g, off_g_id, gid);
    slot_set(g, off_g_coro, coro);
    slot_set(g, off_g_ctx, ctx);
    slot_set(g, off_g_created_code, code);
    slot_set(g, off_g_created_lasti, lasti);
    slot_set(g, off_g_created_module, module);
    slot_set(g, off_g_creator_id, cid);
    slot_set(g, off_g_entry, entry);
    slot_set(g, off_g_status, RUNNABLE);
    int rc = PyDict_SetItem(allgs, gid, g);
    Py_DECREF(gid);
    if (rc < 0)
        goto error;
    if (nrn == 1) {
        PyObject *old = pop_queue(rn);
        if (old == NULL && PyErr_Occurred())
            goto error;
        if (old != NULL) {
            rc = deque_append2(lq, old);      /* runqput: there is room (checked) */
            Py_DECREF(old);
            if (rc < 0)
                goto error;
        }
    }
    if (deque_append2(rn, g) < 0)
        goto error;
out:
    lock_release_raw(l);
    Py_DECREF(cid);
    return g;
error:
    lock_release_raw(l);
    Py_DECREF(cid);
    Py_XDECREF(g);
    return NULL;
}

/* go(fn, *args, **kwargs): see the section's header. */
static PyObject *
go_fn(PyObject *mod, PyObject *const *args, Py_ssize_t nargsf, PyObject *kwnames)
{
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    PyObject *m = tls_m;
    PyObject *fn = nargs > 0 ? args[0] : NULL;
    PyFrameObject *f = NULL;
    if (py_go == NULL || py_newproc == NULL || handle_type == NULL)
        goto python;
    if (!GR_LOAD_RELAXED(fast_on) || m == NULL || fn == NULL || !PyFunction_Check(fn) ||
        (kwnames != NULL && PyTuple_GET_SIZE(kwnames) > 0))
        goto python;
    if (!(((PyCodeObject *)PyFunction_GET_CODE(fn))->co_flags & CO_COROUTINE))
        goto python;
    PyObject *sched = SLOT(m, off_m_sched);     /* set once */
    if (sched == NULL || slot_load(sched, off_s_stopping) != Py_False)
        goto python;    /* go() raises the error */
    f = PyEval_GetFrame();  /* borrowed: the caller's */
    if (f == NULL)
        goto python;
    Py_INCREF(sched);
    /* An async def function (the usual case): what make_coro would do. */
    PyObject *coro = PyObject_Vectorcall(fn, args + 1, nargs - 1, NULL);
    if (coro == NULL) {
        Py_DECREF(sched);
        return NULL;
    }
    PyObject *entry = ((PyFunctionObject *)fn)->func_qualname;
    if (entry == NULL || !PyUnicode_Check(entry) || PyUnicode_GET_LENGTH(entry) == 0)
        entry = str_function;
    Py_INCREF(entry);
    PyObject *code = (PyObject *)PyFrame_GetCode(f);
    PyObject *lasti = PyLong_FromLong(PyFrame_GetLasti(f));
    PyObject *globals = PyFrame_GetGlobals(f);
    PyObject *module = NULL;
    if (globals != NULL && PyDict_Check(globals)) {
        module = PyDict_GetItemWithError(globals, str_dunder_name);
        Py_XINCREF(module);
    }
    Py_XDECREF(globals);
    if (module == NULL && !PyErr_Occurred())
        module = Py_NewRef(empty_str);
    PyObject *ctx = module != NULL && lasti != NULL ? PyContext_CopyCurrent() : NULL;
    PyObject *g = NULL, *h = NULL;
    if (ctx != NULL) {
        g = newproc_fast(sched, m, coro, entry, code, lasti, module, ctx);
        if (g == NULL && !PyErr_Occurred()) {
            fallback(FB_SPAWN);
            PyObject *a[8] = {sched, m, coro, entry, code, lasti, module, ctx};
            g = PyObject_Vectorcall(py_newproc, a, 8, NULL);
        }
    }
    else {
        /* Not started: close it, or it warns that it was never awaited. */
        PyObject *et, *ev, *etb;
        PyErr_Fetch(&et, &ev, &etb);
        PyObject *r = PyObject_CallMethodNoArgs(coro, str_close);
        if (r == NULL)
            PyErr_WriteUnraisable(coro);
        Py_XDECREF(r);
        PyErr_Restore(et, ev, etb);
    }
    if (g != NULL) {
        PyObject *gid = SLOT(g, off_g_id);
        h = gid == NULL ? NULL : handle_type->tp_alloc(handle_type, 0);
        if (h != NULL) {
            PyObject_GC_UnTrack(h);     /* one int: never in a cycle */
            SLOT(h, off_h_id) = Py_NewRef(gid);   /* not shared yet */
        }
        else if (!PyErr_Occurred())
            PyErr_SetString(PyExc_RuntimeError, "go: a G without an id");
    }
    Py_XDECREF(g);
    Py_XDECREF(ctx);
    Py_XDECREF(module);
    Py_XDECREF(lasti);
    Py_XDECREF(code);
    Py_DECREF(entry);
    Py_DECREF(coro);
    Py_DECREF(sched);
    return h;
python:
    fallback(GR_LOAD_RELAXED(fast_on) ? FB_SPAWN : FB_OFF);
    return PyObject_Vectorcall(py_go, args, nargsf, kwnames);
}

/* The G ``g`` returned ``value`` on ``m``: _lifecycle.goexit, its common case
 * here (see the section's header). Returns 0, or -1 with an exception. */
static int
goexit_fast(PyObject *m, PyObject *g, PyObject *value)
{
    if (DEAD == NULL || !GR_LOAD_RELAXED(fast_on))
        return call3(py_goexit, m, g, value);
    PyObject *sched = SLOT(m, off_m_sched);
    PyObject *lk = sched == NULL ? NULL : SLOT(sched, off_s_lock);
    PyObject *lm = SLOT(g, off_g_lockedm);
    PyObject *gid = SLOT(g, off_g_id);
    if (lk == NULL || Py_TYPE(lk) != &Lock_Type || !trace_off(sched) || (lm != NULL && lm != Py_None) ||
        gid == NULL || !PyLong_CheckExact(gid)) {
        fallback(FB_SPAWN);
        return call3(py_goexit, m, g, value);
    }
    if (PyLong_AsLong(gid) == 1)
        return call3(py_goexit, m, g, value);   /* main returned: the run ends there */
    slot_set(m, off_m_curg, Py_None);
    /* Dropped before Sched.lock is taken: freeing them can run arbitrary
     * __del__ code, and once DEAD shows the G holds nothing any more. */
    slot_set(g, off_g_coro, Py_None);
    slot_set(g, off_g_ctx, Py_None);
    slot_set(g, off_g_param, Py_None);
    slot_set(g, off_g_waitchan, Py_None);
    slot_set(g, off_g_waitreason, empty_str);
    Py_INCREF(sched);
    Py_INCREF(gid);
    LockObject *l = (LockObject *)lk;
    lock_acquire_raw(l);
    int rc = 0;
    /* Dead and off allgs in one step under Sched.lock (see goexit). */
    slot_set(g, off_g_status, DEAD);
    PyObject *allgs = SLOT(sched, off_s_allgs), *gf = SLOT(sched, off_s_gfree);
    if (allgs != NULL && PyDict_CheckExact(allgs) && PyDict_DelItem(allgs, gid) < 0) {
        if (PyErr_ExceptionMatches(PyExc_KeyError))
            PyErr_Clear();
        else
            rc = -1;
    }
    if (rc == 0 && gf != NULL && PyList_CheckExact(gf) && PyList_GET_SIZE(gf) < gfree_max) {
        slot_set(g, off_g_created_code, Py_None);
        rc = PyList_Append(gf, g);
    }
    lock_release_raw(l);
    Py_DECREF(gid);
    Py_DECREF(sched);
    return rc;
}

/* setup_spawn(Sched, G, Goroutine, go, newproc, new_lock, DEAD, LOCAL_RUNQ,
 * GFREE_MAX): enable the C go() and goexit. After setup_core/_sched. */
static PyObject *
setup_spawn(PyObject *mod, PyObject *args)
{
    PyObject *sched_cls, *g_cls, *h_cls, *go, *newproc, *nl, *dead;
    Py_ssize_t lrq, gfm;
    if (!PyArg_ParseTuple(args, "OOOOOOOnn:setup_spawn", &sched_cls, &g_cls, &h_cls, &go, &newproc, &nl,
                          &dead, &lrq, &gfm))
        return NULL;
    if ((PyObject *)G_type != g_cls || off_s_lock < 0 || !PyType_Check(h_cls)) {
        PyErr_SetString(PyExc_RuntimeError, "setup_spawn: call setup_core and setup_sched first, with this G");
        return NULL;
    }
    if (slot_offset(g_cls, "id", &off_g_id) < 0 ||
        slot_offset(g_cls, "created_code", &off_g_created_code) < 0 ||
        slot_offset(g_cls, "created_lasti", &off_g_created_lasti) < 0 ||
        slot_offset(g_cls, "creator_id", &off_g_creator_id) < 0 ||
        slot_offset(g_cls, "created_module", &off_g_created_module) < 0 ||
        slot_offset(g_cls, "entry", &off_g_entry) < 0 ||
        slot_offset(h_cls, "id", &off_h_id) < 0 ||
        slot_offset(sched_cls, "gfree", &off_s_gfree) < 0 ||
        slot_offset(sched_cls, "goidgen", &off_s_goidgen) < 0 ||
        slot_offset(sched_cls, "allgs", &off_s_allgs) < 0)
        return NULL;
    if (empty_str == NULL) {
        empty_str = PyUnicode_InternFromString("");
        zero_float = PyFloat_FromDouble(0.0);
        zero_long = PyLong_FromLong(0);
        one_long = PyLong_FromLong(1);
        str_function = PyUnicode_InternFromString("function");
        str_dunder_name = PyUnicode_InternFromString("__name__");
        str_close = PyUnicode_InternFromString("close");
        if (empty_str == NULL || zero_float == NULL || zero_long == NULL || one_long == NULL ||
            str_function == NULL || str_dunder_name == NULL || str_close == NULL)
            return NULL;
    }
    PyObject *objs[] = {h_cls, go, newproc, nl, dead};
    PyObject **dst[] = {(PyObject **)&handle_type, &py_go, &py_newproc, &py_new_lock, &DEAD};
    for (int i = 0; i < 5; i++) {
        Py_INCREF(objs[i]);
        Py_XSETREF(*dst[i], objs[i]);
    }
    local_runq_max = lrq;
    gfree_max = gfm;
    Py_RETURN_NONE;
}

/* untrack_g(g): take a G record off the cyclic GC's lists (see above). */
static PyObject *
untrack_g(PyObject *mod, PyObject *g)
{
    if (G_type == NULL || Py_TYPE(g) != G_type) {
        PyErr_SetString(PyExc_TypeError, "untrack_g: not a G");
        return NULL;
    }
    PyObject_GC_UnTrack(g);
    Py_RETURN_NONE;
}


/* Every 61st pick (_findrunnable._fair_pick) when it has nothing to do but
 * look at the global queue: the run is not stopping, p is running, no
 * network poller or synctest bubble exists (their polls and real-time
 * timers are Python's), no timer is pending. Then, as _fair_pick:
 * Sched.coarse_now is refreshed (time.monotonic's clock, stored as its
 * descriptor stores it) and the global queue's head taken first --
 * take_global, under Sched.lock -- when the queue is not empty (its length
 * read without the lock, as Go's schedule reads runqsize). Returns 1 with
 * *out the G taken or NULL (the queue was empty: the pick goes on to
 * runnext and the local queue, as _fair_pick's None), 0 to leave the pick
 * to Python from scratch (nothing changed but maybe coarse_now), -1 with an
 * exception. Without the GIL the Python pick costs several times more
 * (3.13t does not specialise bytecode): W6 spent ~12% of its M's time in
 * the schedule loop's Python, mostly here. */
static int
fair_pick_plain(PyObject *m, PyObject *sched, PyObject *p, PyObject **out)
{
    *out = NULL;
#if defined(CLOCK_MONOTONIC)
    if (off_s_netpoll < 0 || off_s_realtimers < 0 || off_s_timers < 0 || off_s_runq < 0)
        return 0;
    PyObject *v = slot_load(sched, off_s_stopping);
    if (v != Py_False)
        return 0;
    v = slot_load(p, off_p_status);   /* a small int (a cached one: never freed) */
    if (v == NULL || !PyLong_CheckExact(v) || PyLong_AsLong(v) != P_RUNNING_VAL)
        return 0;
    v = slot_load(sched, off_s_netpoll);
    if (v != Py_None)
        return 0;
    v = slot_load(sched, off_s_realtimers);
    if (v != Py_None)
        return 0;
    PyObject *timers = SLOT(sched, off_s_timers);   /* set once */
    if (timers == NULL)
        return 0;
    PyObject *nlive = PyObject_GetAttr(timers, str_nlive);
    if (nlive == NULL)
        return -1;
    int busy = PyObject_IsTrue(nlive);
    Py_DECREF(nlive);
    if (busy != 0)
        return busy < 0 ? -1 : 0;
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        return 0;
    PyObject *now = PyFloat_FromDouble((double)ts.tv_sec + ts.tv_nsec * 1e-9);
    if (now == NULL)
        return -1;
    slot_set_shared(sched, off_s_coarse_now, now);   /* sysmon stores it too */
    Py_DECREF(now);
    PyObject *runq = SLOT(sched, off_s_runq);         /* set once */
    if (runq == NULL || Py_TYPE(runq) != deque_type)
        return 0;
    if (GR_LOAD_RELAXED(((PyVarObject *)runq)->ob_size) == 0)
        return 1;
    PyObject *g = take_global(m, sched, p);
    if (g == NULL)
        return PyErr_Occurred() ? -1 : 0;
    *out = g;
    return 1;
#else
    (void)m; (void)sched; (void)p;
    return 0;
#endif
}

/* run_fast(m): the inner part of _schedule.schedule, for as long as it is the
 * plain case -- the P has a G in runnext or its local run queue, this is not
 * a 61st pick, tracing is off -- run that G to its next trap and park it if it yielded a lock; other
 * traps, exits and panics go to the same Python functions schedule() calls.
 * Returns (None) as soon as the case is not plain; schedule() goes on from
 * there. The M is ``m``, running on this thread; the fields it touches are
 * its own or written under the rules in _schedule.py's header. */
#define SCHEDTICK_WRAP 244   /* 4 * 61 */

static PyObject *
run_fast(PyObject *mod, PyObject *m)
{
    if (G_type == NULL || py_goexit == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "run_fast: setup_core/setup_sched not called");
        return NULL;
    }
    if (!GR_LOAD_RELAXED(fast_on))
        Py_RETURN_NONE;
    PyObject *sched = SLOT(m, off_m_sched);    /* set once */
    if (sched == NULL)
        Py_RETURN_NONE;
    Py_INCREF(sched);
    for (;;) {
        PyObject *p = slot_load(m, off_m_p);   /* see "Locking": kept alive by allp */
        if (p == NULL || p == Py_None)
            break;
        PyObject *lg = SLOT(m, off_m_lockedg);  /* this M's own field */
        if (lg != NULL && lg != Py_None)
            break;      /* wired to a goroutine: schedule() runs only it */
        PyObject *rn = SLOT(p, off_p_runnext);  /* set once */
        if (rn == NULL || Py_TYPE(rn) != deque_type)
            break;
        long tick = tick_load(p, off_p_schedtick);
        if (tick == -2)
            break;
        if (tick == -1 && PyErr_Occurred())
            goto error;
        tick += 1;
        if (!trace_off(sched))
            break;
        /* No reference of our own to p: allp keeps it (see "Locking"), and
         * on a free-threaded build it is another thread's object (counted
         * with atomic operations). */
        PyObject *g = NULL;
        if (tick % 61 == 0) {
            /* the global queue first, for fairness (see fair_pick_plain) */
            int fr = fair_pick_plain(m, sched, p, &g);
            if (fr < 0)
                goto error;
            if (fr == 0)
                break;
        }
        /* runnext, then the local queue, then the global one (Go's order). */
        if (g == NULL)
            g = pop_queue(rn);
        if (g == NULL && !PyErr_Occurred())
            g = pop_queue(SLOT(p, off_p_runq));  /* set once */
        if (g == NULL && PyErr_Occurred())
            goto error;
        if (g == NULL) {
            g = take_global(m, sched, p);
            if (g == NULL) {
                if (PyErr_Occurred())
                    goto error;
                break;
            }
        }
        /* Stored modulo SCHEDTICK_WRAP, a multiple of 61 (so the count's
         * "every 61st pick" is unchanged for the Python loop that goes on
         * from it) of at most 256: the value is one of CPython's cached
         * small ints, so a pick allocates and frees no int. Sysmon only
         * compares it with what it saw last: a P that made exactly a
         * multiple of 244 picks between two of its looks seems idle for
         * that one look (as a wrapped uint32 would in Go, just more often):
         * its first look at a "stuck" P only samples the frame. */
        tick %= SCHEDTICK_WRAP;
        PyObject *nt = PyLong_FromLong(tick);
        if (nt == NULL) {
            Py_DECREF(g);
            goto error;
        }
        /* tls_tick: what tick_load found in the slot when its shortcut
         * was taken (a CAS against it fails otherwise); we hold a
         * reference to it, so its address names it. */
        slot_set_shared_immortal(p, off_p_schedtick, GR_FT_BUILD ? tls_tick : NULL, nt);
#ifdef GR_FT
        /* nt's reference moves to the cache: the next pick's tick_load
         * finds it in the slot unless someone else stored meanwhile. */
        Py_XSETREF(tls_tick, nt);
        tls_tick_val = tick;
#else
        Py_DECREF(nt);
#endif

        /* execute */
        PyObject *trap = NULL;
        PySendResult res;
        if (execute(m, g, &trap, &res) < 0) {
            Py_DECREF(g);
            goto error;
        }
        int err;
        if (res == PYGEN_RETURN) {
            err = goexit_fast(m, g, trap);
            Py_DECREF(trap);
        }
        else if (res == PYGEN_ERROR) {
            /* A panic, whatever it is (schedule's except BaseException). */
            PyObject *t, *v, *tb;
            PyErr_Fetch(&t, &v, &tb);
            PyErr_NormalizeException(&t, &v, &tb);
            if (tb != NULL && v != NULL)
                PyException_SetTraceback(v, tb);
            if (v == NULL) {
                Py_INCREF(Py_None);
                v = Py_None;
            }
            err = call3(py_gopanic, m, g, v);
            Py_XDECREF(t);
            Py_XDECREF(v);
            Py_XDECREF(tb);
        }
        else {
            err = 0;
            if (!trace_off(sched))  /* the G may have started a trace */
                err = call3(py_trace_trap, m, g, trap);
            if (err == 0) {
                if (Py_TYPE(trap) == &Lock_Type || Py_TYPE(trap) == thread_lock_type || lock_tuple(trap))
                    err = park_on_lock(sched, g, trap);
                else
                    err = call3(py_after_trap, m, g, trap);
            }
            Py_DECREF(trap);
        }
        Py_DECREF(g);
        if (err < 0)
            goto error;
    }
    Py_DECREF(sched);
    Py_RETURN_NONE;
error:
    Py_DECREF(sched);
    return NULL;
}

/* timer_slack(ns): set the calling thread's timer slack (Linux's
 * PR_SET_TIMERSLACK) to ``ns`` nanoseconds; returns True, or False where
 * there is no such setting. sysmon sets it on its own thread: its timed
 * waits between passes are tens of microseconds, and the default slack
 * (50 us) would stretch each to more than twice that -- the time sysmon
 * takes to notice a goroutine blocked in a plain call (W7). Only the
 * calling thread is affected; no lock. */
#if defined(__linux__)
#include <sys/prctl.h>
#endif

static PyObject *
timer_slack_fn(PyObject *mod, PyObject *arg)
{
    long ns = PyLong_AsLong(arg);
    if (ns == -1 && PyErr_Occurred())
        return NULL;
    if (ns <= 0) {
        PyErr_SetString(PyExc_ValueError, "timer_slack: the slack must be a positive number of nanoseconds");
        return NULL;
    }
#if defined(__linux__) && defined(PR_SET_TIMERSLACK)
    if (prctl(PR_SET_TIMERSLACK, (unsigned long)ns, 0, 0, 0) == 0)
        Py_RETURN_TRUE;
#endif
    Py_RETURN_FALSE;
}

static PyObject *
setup_sched(PyObject *mod, PyObject *args)
{
    PyObject *sched_cls, *p_cls, *running, *waiting, *goexit, *gopanic, *after, *ttrap, *unhook, *tlt;
    long p_running;
    if (!PyArg_ParseTuple(args, "OOlOOOOOOOO:setup_sched", &sched_cls, &p_cls, &p_running, &running,
                          &waiting, &goexit, &gopanic, &after, &ttrap, &unhook, &tlt))
        return NULL;
    P_RUNNING_VAL = p_running;
    if (slot_offset(sched_cls, "lock", &off_s_lock) < 0 ||
        slot_offset(sched_cls, "runq", &off_s_runq) < 0 ||
        slot_offset(sched_cls, "pidle", &off_s_pidle) < 0 ||
        slot_offset(sched_cls, "timers", &off_s_timers) < 0 ||
        slot_offset(p_cls, "status", &off_p_status) < 0 ||
        slot_offset(sched_cls, "trace", &off_s_trace) < 0 ||
        slot_offset(sched_cls, "stopping", &off_s_stopping) < 0 ||
        slot_offset(sched_cls, "coarse_now", &off_s_coarse_now) < 0)
        return NULL;
    if (G_type == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "setup_sched: call setup_core first");
        return NULL;
    }
    if (PyObject_HasAttrString(sched_cls, "netpoll") && PyObject_HasAttrString(sched_cls, "realtimers") &&
        (slot_offset(sched_cls, "netpoll", &off_s_netpoll) < 0 ||
         slot_offset(sched_cls, "realtimers", &off_s_realtimers) < 0))
        return NULL;
    if (PyObject_HasAttrString((PyObject *)G_type, "stacklock") &&
        slot_offset((PyObject *)G_type, "stacklock", &off_g_stacklock) < 0)
        return NULL;
    if (slot_offset((PyObject *)G_type, "coro", &off_g_coro) < 0 ||
        slot_offset((PyObject *)G_type, "ctx", &off_g_ctx) < 0 ||
        slot_offset((PyObject *)G_type, "waitsince", &off_g_waitsince) < 0)
        return NULL;
    PyObject *objs[] = {running, waiting, goexit, gopanic, after, ttrap, unhook, tlt};
    PyObject **dst[] = {&RUNNING, &WAITING, &py_goexit, &py_gopanic, &py_after_trap,
                        &py_trace_trap, &py_unhook, (PyObject **)&thread_lock_type};
    for (int i = 0; i < 8; i++) {
        Py_INCREF(objs[i]);
        Py_XSETREF(*dst[i], objs[i]);
    }
    Py_RETURN_NONE;
}

/* ------------------------------------------------------------------ sync (Mutex, WaitGroup) */

/* The common cases of _sync.py's Mutex and WaitGroup, step for step over
 * the same objects: the Python classes keep their slots and their methods,
 * and setup_sync() hands back C method descriptors for a few of them
 * (Mutex.lock/unlock/__aenter__/__aexit__, _MutexLock.__await__,
 * WaitGroup.add/done, _WaitGroupWait.__await__), which _sync.py installs
 * on the classes. Each does its fast case here and, for everything else,
 * calls the Python method it replaced (kept by setup_sync) before it has
 * changed anything: the Python methods stay the definition, and the only
 * code with set_fast(False) (debug mode) or a lock that is not a C Lock
 * (debug mode's checked locks).
 *
 *   Mutex.lock()'s await  free: take it (Go's fast path, one CAS there);
 *                         locked: queue the G and park, then retry or take
 *                         a hand-off as the Python generator's loop does
 *                         (MutexWait, below).
 *   Mutex.unlock()        no waiter, not starving: free it. With waiters,
 *                         on an M with a P: the Python unlock's steps --
 *                         starvation mode hands the mutex to the oldest
 *                         live waiter (HANDOFF); normal mode frees it and
 *                         wakes the oldest live waiter (WOKEN) unless one
 *                         woken in this run is still on its way -- with
 *                         c_ready for the wake-up.
 *   WaitGroup.add/done    the counter; at zero every live waiter is taken
 *                         off and readied (on an M with a P). A negative
 *                         counter, a non-int delta: Python (which raises).
 *   WaitGroup.wait()'s    zero: return; else queue the G and park on the
 *   await                 WaitGroup's lock (A_PARK_PLAIN), as the Python
 *                         generator's ``yield q.park(g, reason)``.
 *
 * Locks: the object's ``_lock`` (a C Lock) around every read and write of
 * its other slots, as in _sync.py; released before c_ready (which may take
 * Sched.lock), or handed to the M with the park. The slots are stored with
 * slot_set (one writer at a time: the lock's holder); ``locked()``/
 * ``count`` read them without the lock, as snapshots. A waiter's ``coro``
 * (None once its run closed it: a dead waiter, dropped) is compared by
 * identity only. */

static PyTypeObject *mutex_type = NULL, *mutex_lock_type = NULL;    /* _sync.Mutex, _MutexLock */
static PyTypeObject *wg_type = NULL, *wg_wait_type = NULL;          /* _sync.WaitGroup, _WaitGroupWait */
static PyTypeObject *waitq_type = NULL;                             /* _core.WaitQueue */
static Py_ssize_t off_mu_lock = -1, off_mu_locked = -1, off_mu_starving = -1, off_mu_woken = -1;
static Py_ssize_t off_mu_waiters = -1, off_mu_lock_op = -1, off_mlop_mu = -1;
static Py_ssize_t off_wg_lock = -1, off_wg_n = -1, off_wg_waiters = -1;
static Py_ssize_t off_wgw_wg = -1, off_wgw_reason = -1;
static PyObject *WOKEN = NULL, *HANDOFF = NULL, *NOTHING = NULL;   /* _waitq's resume values; _sync.NOTHING */
/* The Python methods the C ones replace: the definitions, and the slow paths. */
static PyObject *py_mutex_lock_await = NULL, *py_mutex_unlock = NULL;
static PyObject *py_wg_add = NULL, *py_wg_wait_await = NULL;

/* A slot that holds the object's C Lock (NULL: not one; debug mode's
 * checked locks, or an object whose __init__ did not run). Set once by
 * __init__, before the object is shared. */
static inline LockObject *
sync_lock(PyObject *obj, Py_ssize_t off)
{
    PyObject *l = GR_LOAD_RELAXED(SLOT(obj, off));
    return l != NULL && Py_TYPE(l) == &Lock_Type ? (LockObject *)l : NULL;
}

/* The WaitQueue in slot ``off`` of obj (set once by __init__), or NULL. */
static inline PyObject *
sync_queue(PyObject *obj, Py_ssize_t off)
{
    PyObject *q = GR_LOAD_RELAXED(SLOT(obj, off));
    return q != NULL && Py_TYPE(q) == waitq_type ? q : NULL;
}

/* WaitQueue.live: drop dead waiters from the head of ``q`` (its owner's
 * lock held); 1 if a live one is left (at the head), 0 if not, -1 error.
 * Only Gs are ever queued (WaitQueue.park): anything else is an error,
 * which the C code reports rather than reads as a G. */
static int
waitq_live(PyObject *q)
{
    while (deque_len(q) > 0) {
        PyObject *g = PySequence_GetItem(q, 0);
        if (g == NULL)
            return -1;
        int is_g = Py_TYPE(g) == G_type;
        PyObject *coro = is_g ? slot_load(g, off_g_coro) : NULL;
        Py_DECREF(g);
        if (!is_g) {
            PyErr_SetString(PyExc_RuntimeError, "a sync object's wait queue holds something other than a goroutine");
            return -1;
        }
        if (coro != NULL && coro != Py_None)
            return 1;
        g = dq_popleft(q);   /* a dead waiter (see _waitq.py) */
        if (g == NULL)
            return -1;
        Py_DECREF(g);
    }
    return 0;
}

/* WaitQueue.dequeue: take the oldest live waiter off ``q`` (lock held):
 * 1 with *out a new reference, 0 (none left), -1 error. */
static inline int
waitq_dequeue(PyObject *q, PyObject **out)
{
    int r = waitq_live(q);
    if (r <= 0)
        return r;
    *out = dq_popleft(q);
    return *out == NULL ? -1 : 1;
}

/* Call ``fn(self[, arg])``: a slow path (the Python method). */
static inline PyObject *
sync_slow(PyObject *fn, PyObject *self, PyObject *arg)
{
    fallback(GR_LOAD_RELAXED(fast_on) ? FB_SYNC : FB_OFF);
    PyObject *args[2] = {self, arg};
    return PyObject_Vectorcall(fn, args, arg == NULL ? 1 : 2, NULL);
}

/* A Mutex lock that waits: _MutexLock.__await__'s loop after its fast path,
 * as an iterator the coroutine awaits. MW_PARK yields the mutex's lock to
 * the M (the G queued, as WaitQueue.park); MW_WAIT is resumed with the
 * waker's value: HANDOFF (starvation mode: ours, it never became free), or
 * WOKEN (normal mode: compete with newcomers; the loser parks again at the
 * front of the queue, yielding the lock again). Waiting longer than
 * _sync.STARVATION_THRESHOLD (read from the module at each wake-up, so the
 * Python and C paths share one setting) makes the next park switch the
 * mutex to starvation mode. close() (the end of a run closing a goroutine
 * parked here) gives back a mutex already handed to it, as the Python
 * generator's ``except GeneratorExit`` does.
 *
 * GC-tracked: it holds the mutex and the G, and the G's frame holds it. */
enum { MW_PARK, MW_WAIT, MW_DONE };

typedef struct {
    PyObject_HEAD
    int state;
    int starving;
    double start;       /* CLOCK_MONOTONIC seconds (time.monotonic's clock) */
    PyObject *mu;
    PyObject *g;
    PyObject *lock;     /* MW_PARK: the lock to yield (the mutex's _lock) */
} MutexWaitObject;

static PyTypeObject MutexWait_Type;
static PyObject *sync_globals = NULL;     /* _sync's module dict: STARVATION_THRESHOLD */
static PyObject *str_starvation = NULL;   /* "STARVATION_THRESHOLD" */
static PyObject *WAIT_MUTEX_STR = NULL;   /* _g.WAIT_MUTEX */

static double
mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* WaitQueue.park(g, WAIT_MUTEX, front) with the mutex's lock held. */
static int
mutex_park(PyObject *mu, PyObject *g, PyObject *q, int front)
{
    slot_set(g, off_g_waitreason, WAIT_MUTEX_STR);
    slot_set(g, off_g_waitchan, q);
    PyObject *r;
    if (front) {
        PyObject *args[2] = {q, g};
        r = PyObject_Vectorcall(deque_appendleft, args, 2, NULL);
    }
    else
        r = dq_append(q, g);
    if (r == NULL)
        return -1;
    Py_DECREF(r);
    return 0;
}

/* The wait begins: the mutex is locked (its lock held, and kept held: it
 * is yielded to the M). Returns the iterator, or NULL (lock released). */
static PyObject *
mutex_wait_new(PyObject *mu, PyObject *g, LockObject *lk, PyObject *q)
{
    MutexWaitObject *w = PyObject_GC_New(MutexWaitObject, &MutexWait_Type);
    if (w == NULL) {
        lock_release_raw(lk);
        return NULL;
    }
    w->state = MW_PARK;
    w->starving = 0;
    w->start = mono_now();
    w->mu = Py_NewRef(mu);
    w->g = Py_NewRef(g);
    w->lock = Py_NewRef((PyObject *)lk);
    PyObject_GC_Track(w);
    if (mutex_park(mu, g, q, 0) < 0) {
        lock_release_raw(lk);
        Py_DECREF(w);
        return NULL;
    }
    return (PyObject *)w;
}

static PySendResult
MutexWait_am_send(MutexWaitObject *self, PyObject *arg, PyObject **result)
{
    if (self->state == MW_PARK) {
        self->state = MW_WAIT;
        *result = self->lock;   /* to the M, which releases it once the G is parked */
        self->lock = NULL;
        return PYGEN_NEXT;
    }
    if (self->state != MW_WAIT) {
        *result = Py_NewRef(Py_None);
        return PYGEN_RETURN;
    }
    PyObject *mu = self->mu;
    LockObject *lk = sync_lock(mu, off_mu_lock);
    PyObject *q = sync_queue(mu, off_mu_waiters);
    if (lk == NULL || q == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "Mutex: its lock or wait queue changed while a goroutine waited");
        *result = NULL;
        return PYGEN_ERROR;
    }
    if (!self->starving) {
        /* A strong reference: the module's dict may be written meanwhile
         * (a test or benchmark setting the threshold). */
#if PY_VERSION_HEX >= 0x030D0000
        PyObject *th = NULL;
        if (PyDict_GetItemRef(sync_globals, str_starvation, &th) < 0)
            th = NULL;
#else
        PyObject *th = Py_XNewRef(PyDict_GetItemWithError(sync_globals, str_starvation));
#endif
        double threshold = th == NULL ? -1.0 : PyFloat_AsDouble(th);
        Py_XDECREF(th);
        if (threshold == -1.0 && PyErr_Occurred()) {
            *result = NULL;
            return PYGEN_ERROR;
        }
        if (th == NULL) {
            PyErr_SetString(PyExc_RuntimeError, "_sync.STARVATION_THRESHOLD is gone");
            *result = NULL;
            return PYGEN_ERROR;
        }
        self->starving = mono_now() - self->start > threshold;
    }
    lock_acquire_raw(lk);
    if (arg == HANDOFF) {
        /* Ours (it never became free). Leave starvation mode if we did not
         * wait long, or nobody is left to starve. */
        if (!self->starving || deque_len(q) == 0)
            slot_set(mu, off_mu_starving, Py_False);
        lock_release_raw(lk);
        goto done;
    }
    /* Woken in normal mode: compete with newcomers. */
    slot_set(mu, off_mu_woken, Py_None);
    if (SLOT(mu, off_mu_locked) == Py_False) {
        slot_set(mu, off_mu_locked, Py_True);
        lock_release_raw(lk);
        goto done;
    }
    /* Lost the race: keep our place at the front, and park again. */
    if (self->starving)
        slot_set(mu, off_mu_starving, Py_True);
    if (mutex_park(mu, self->g, q, 1) < 0) {
        lock_release_raw(lk);
        *result = NULL;
        return PYGEN_ERROR;
    }
    *result = Py_NewRef((PyObject *)lk);
    return PYGEN_NEXT;
done:
    self->state = MW_DONE;
    Py_CLEAR(self->g);
    Py_CLEAR(self->mu);
    *result = Py_NewRef(Py_None);
    return PYGEN_RETURN;
}

static PyObject *
MutexWait_iternext(MutexWaitObject *self)
{
    PyObject *r;
    switch (MutexWait_am_send(self, Py_None, &r)) {
    case PYGEN_NEXT:
        return r;
    case PYGEN_RETURN:
        Py_DECREF(r);   /* None: plain exhaustion */
        return NULL;
    default:
        return NULL;
    }
}

static PyObject *
MutexWait_send(MutexWaitObject *self, PyObject *arg)
{
    PyObject *r;
    switch (MutexWait_am_send(self, arg, &r)) {
    case PYGEN_NEXT:
        return r;
    case PYGEN_RETURN:
        Py_DECREF(r);
        PyErr_SetNone(PyExc_StopIteration);
        return NULL;
    default:
        return NULL;
    }
}

/* close(): the goroutine is closed while parked here (the end of its run).
 * A mutex handed to it meanwhile would never be released by anyone else. */
static PyObject *
MutexWait_close(MutexWaitObject *self, PyObject *Py_UNUSED(ignored))
{
    int waiting = self->state == MW_WAIT;
    self->state = MW_DONE;
    PyObject *g = self->g, *mu = self->mu;
    self->g = self->mu = NULL;
    Py_CLEAR(self->lock);
    PyObject *res = Py_None;
    if (waiting && g != NULL && SLOT(g, off_g_param) == HANDOFF) {
        slot_set(g, off_g_param, Py_None);
        res = PyObject_CallMethod(mu, "unlock", NULL);
    }
    else
        Py_INCREF(res);
    Py_XDECREF(g);
    Py_XDECREF(mu);
    return res;
}

static int
MutexWait_traverse(MutexWaitObject *self, visitproc visit, void *arg)
{
    Py_VISIT(self->mu);
    Py_VISIT(self->g);
    Py_VISIT(self->lock);
    return 0;
}

static int
MutexWait_clear(MutexWaitObject *self)
{
    Py_CLEAR(self->mu);
    Py_CLEAR(self->g);
    Py_CLEAR(self->lock);
    return 0;
}

static void
MutexWait_dealloc(MutexWaitObject *self)
{
    PyObject_GC_UnTrack(self);
    MutexWait_clear(self);
    PyObject_GC_Del(self);
}

static PyMethodDef MutexWait_methods[] = {
    {"send", (PyCFunction)MutexWait_send, METH_O, NULL},
    {"close", (PyCFunction)MutexWait_close, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyAsyncMethods MutexWait_async = {
    .am_send = (sendfunc)MutexWait_am_send,
};

static PyTypeObject MutexWait_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "goroutines._core._speedups.MutexWait",
    .tp_basicsize = sizeof(MutexWaitObject),
    .tp_dealloc = (destructor)MutexWait_dealloc,
    .tp_as_async = &MutexWait_async,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_traverse = (traverseproc)MutexWait_traverse,
    .tp_clear = (inquiry)MutexWait_clear,
    .tp_iter = PyObject_SelfIter,
    .tp_iternext = (iternextfunc)MutexWait_iternext,
    .tp_methods = MutexWait_methods,
};

/* _MutexLock.__await__ */
static PyObject *
mutex_lock_await(PyObject *op, PyObject *Py_UNUSED(ignored))
{
    PyObject *m = tls_m;
    if (!GR_LOAD_RELAXED(fast_on) || !is_live_m(m))
        goto slow;  /* not on an M, or preempted: current() says which and acts */
    PyObject *g = SLOT(m, off_m_curg);     /* this M's own */
    PyObject *mu = GR_LOAD_RELAXED(SLOT(op, off_mlop_mu));
    if (g == NULL || Py_TYPE(g) != G_type || mu == NULL || !PyObject_TypeCheck(mu, mutex_type))
        goto slow;
    LockObject *lk = sync_lock(mu, off_mu_lock);
    if (lk == NULL)
        goto slow;
    lock_acquire_raw(lk);
    PyObject *locked = SLOT(mu, off_mu_locked);
    if (locked == Py_False) {
        /* Free (never the case in starvation mode). Newcomers may barge
         * ahead of a woken waiter: that is normal mode. */
        slot_set(mu, off_mu_locked, Py_True);
        lock_release_raw(lk);
        return done_await();
    }
    PyObject *q = sync_queue(mu, off_mu_waiters);
    if (locked == Py_True && q != NULL && sync_globals != NULL)
        return mutex_wait_new(mu, g, lk, q);  /* the lock stays held until the M parks the G */
    lock_release_raw(lk);
slow:
    return sync_slow(py_mutex_lock_await, op, NULL);
}

/* Mutex.unlock() */
static PyObject *
mutex_unlock(PyObject *mu, PyObject *Py_UNUSED(ignored))
{
    if (!GR_LOAD_RELAXED(fast_on))
        return sync_slow(py_mutex_unlock, mu, NULL);
    LockObject *lk = sync_lock(mu, off_mu_lock);
    PyObject *q = sync_queue(mu, off_mu_waiters);
    if (lk == NULL || q == NULL)
        return sync_slow(py_mutex_unlock, mu, NULL);
    lock_acquire_raw(lk);
    PyObject *starving = SLOT(mu, off_mu_starving);
    if (SLOT(mu, off_mu_locked) != Py_True || (starving != Py_False && starving != Py_True))
        goto slow;  /* not locked: the Python unlock raises */
    if (starving == Py_False && deque_len(q) == 0) {
        slot_set(mu, off_mu_locked, Py_False);
        lock_release_raw(lk);
        Py_RETURN_NONE;
    }
    /* Waiters: wake one from here only on an M with a P. */
    PyObject *m = tls_m;
    if (!is_live_m(m))
        goto slow;
    PyObject *g = NULL;
    PyObject *value = NULL;
    int r;
    if (starving == Py_True) {
        r = waitq_dequeue(q, &g);
        if (r < 0)
            goto error;
        if (r == 1)
            value = HANDOFF;  /* ownership passes: the mutex never becomes free */
        else
            slot_set(mu, off_mu_starving, Py_False);
    }
    if (value == NULL) {
        slot_set(mu, off_mu_locked, Py_False);
        r = waitq_live(q);
        if (r < 0)
            goto error;
        PyObject *sched = SLOT(m, off_m_sched);     /* set once */
        /* Unless a waiter woken in this run is still on its way (Go's
         * mutexWoken), wake the oldest live one to compete for it. */
        if (r == 1 && SLOT(mu, off_mu_woken) != sched) {
            slot_set(mu, off_mu_woken, sched);
            g = dq_popleft(q);
            if (g == NULL)
                goto error;
            value = WOKEN;
        }
    }
    if (value == NULL) {
        lock_release_raw(lk);
        Py_RETURN_NONE;
    }
    slot_set(g, off_g_param, value);
    lock_release_raw(lk);
    r = c_ready(g, m);
    Py_DECREF(g);
    if (r < 0)
        return NULL;
    Py_RETURN_NONE;
slow:
    lock_release_raw(lk);
    return sync_slow(py_mutex_unlock, mu, NULL);
error:
    lock_release_raw(lk);
    return NULL;
}

/* Mutex.lock() and __aenter__: the mutex's one reusable _MutexLock. */
static PyObject *
mutex_lock(PyObject *mu, PyObject *Py_UNUSED(ignored))
{
    PyObject *op = GR_LOAD_RELAXED(SLOT(mu, off_mu_lock_op));
    if (op == NULL) {
        PyErr_SetString(PyExc_AttributeError, "_lock_op");
        return NULL;
    }
    return Py_NewRef(op);
}

/* Mutex.__aexit__(exc_type, exc, tb): unlock; an awaitable of nothing. */
static PyObject *
mutex_aexit(PyObject *mu, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3) {
        PyErr_Format(PyExc_TypeError, "__aexit__ takes 3 arguments (%zd given)", nargs);
        return NULL;
    }
    PyObject *r = mutex_unlock(mu, NULL);
    if (r == NULL)
        return NULL;
    Py_DECREF(r);
    /* An awaitable of nothing: this M's "done" Await (no Python frame to
     * run, unlike _sync.NOTHING's generator). */
    return GR_LOAD_RELAXED(fast_on) ? done_await() : Py_NewRef(NOTHING);
}

/* WaitGroup.add(delta) with delta a C long; ``delta_obj`` the argument as
 * given (for the slow path). */
static PyObject *
wg_add_c(PyObject *wg, long delta, PyObject *delta_obj)
{
    if (!GR_LOAD_RELAXED(fast_on))
        return sync_slow(py_wg_add, wg, delta_obj);
    LockObject *lk = sync_lock(wg, off_wg_lock);
    PyObject *q = sync_queue(wg, off_wg_waiters);
    if (lk == NULL || q == NULL)
        return sync_slow(py_wg_add, wg, delta_obj);
    lock_acquire_raw(lk);
    PyObject *nobj = SLOT(wg, off_wg_n);
    int overflow = 0;
    long n0 = nobj != NULL && PyLong_CheckExact(nobj) ? PyLong_AsLongAndOverflow(nobj, &overflow) : -1;
    if (n0 < 0 || overflow || (delta > 0 && n0 > LONG_MAX - delta))
        goto slow;
    long n = n0 + delta;
    if (n < 0)
        goto slow;  /* the Python add raises, the counter unchanged */
    PyObject *m = NULL;
    if (n == 0 && deque_len(q) > 0) {
        /* Release the waiters: from here only on an M with a P. */
        m = tls_m;
        if (!is_live_m(m))
            goto slow;
    }
    PyObject *nv = PyLong_FromLong(n);
    if (nv == NULL) {
        lock_release_raw(lk);
        return NULL;
    }
    slot_set(wg, off_wg_n, nv);
    Py_DECREF(nv);
    if (m == NULL) {
        lock_release_raw(lk);
        Py_RETURN_NONE;
    }
    /* dequeue_all: every live waiter, oldest first, readied after the
     * lock is released. */
    PyObject *ws = PyList_New(0);
    if (ws == NULL) {
        lock_release_raw(lk);
        return NULL;
    }
    for (;;) {
        PyObject *g;
        int r = waitq_dequeue(q, &g);
        if (r == 0)
            break;
        if (r < 0 || PyList_Append(ws, g) < 0) {
            if (r > 0)
                Py_DECREF(g);
            lock_release_raw(lk);
            Py_DECREF(ws);
            return NULL;
        }
        Py_DECREF(g);
    }
    lock_release_raw(lk);
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(ws); i++) {
        if (c_ready(PyList_GET_ITEM(ws, i), m) < 0) {
            Py_DECREF(ws);
            return NULL;
        }
    }
    Py_DECREF(ws);
    Py_RETURN_NONE;
slow:
    lock_release_raw(lk);
    return sync_slow(py_wg_add, wg, delta_obj);
}

/* WaitGroup.add(delta) */
static PyObject *
wg_add(PyObject *wg, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    PyObject *delta = nargs == 1 ? args[0] : NULL;
    int overflow = 0;
    long d = delta != NULL && PyLong_CheckExact(delta) ? PyLong_AsLongAndOverflow(delta, &overflow) : 0;
    if (delta == NULL || kwnames != NULL || !PyLong_CheckExact(delta) || overflow || d == LONG_MIN) {
        /* check_int's errors, huge deltas, the Python method's own argument
         * handling (add(delta=1)) */
        fallback(GR_LOAD_RELAXED(fast_on) ? FB_SYNC : FB_OFF);
        PyObject *full[3] = {wg, NULL, NULL};
        Py_ssize_t nkw = kwnames == NULL ? 0 : PyTuple_GET_SIZE(kwnames);
        if (nargs + nkw > 2) {
            PyErr_SetString(PyExc_TypeError, "add() takes exactly one argument (delta)");
            return NULL;
        }
        for (Py_ssize_t i = 0; i < nargs + nkw; i++)
            full[i + 1] = args[i];
        return PyObject_Vectorcall(py_wg_add, full, 1 + nargs, kwnames);
    }
    return wg_add_c(wg, d, delta);
}

/* WaitGroup.done(): add(-1) */
static PyObject *minus_one = NULL;

static PyObject *
wg_done(PyObject *wg, PyObject *Py_UNUSED(ignored))
{
    return wg_add_c(wg, -1, minus_one);
}

/* _WaitGroupWait.__await__ */
static PyObject *
wg_wait_await(PyObject *op, PyObject *Py_UNUSED(ignored))
{
    PyObject *m = tls_m;
    if (!GR_LOAD_RELAXED(fast_on) || !is_live_m(m))
        goto slow;
    PyObject *g = SLOT(m, off_m_curg);     /* this M's own */
    PyObject *wg = GR_LOAD_RELAXED(SLOT(op, off_wgw_wg));
    PyObject *reason = GR_LOAD_RELAXED(SLOT(op, off_wgw_reason));
    if (g == NULL || Py_TYPE(g) != G_type || wg == NULL || !PyObject_TypeCheck(wg, wg_type) ||
        reason == NULL)
        goto slow;
    LockObject *lk = sync_lock(wg, off_wg_lock);
    PyObject *q = sync_queue(wg, off_wg_waiters);
    if (lk == NULL || q == NULL)
        goto slow;
    lock_acquire_raw(lk);
    PyObject *nobj = SLOT(wg, off_wg_n);
    if (nobj == NULL || !PyLong_CheckExact(nobj)) {
        lock_release_raw(lk);
        goto slow;
    }
    int overflow = 0;
    long n = PyLong_AsLongAndOverflow(nobj, &overflow);
    if (n == -1 && PyErr_Occurred()) {
        lock_release_raw(lk);
        return NULL;
    }
    if (n == 0 && !overflow) {
        lock_release_raw(lk);
        return done_await();
    }
    /* WaitQueue.park: the reason, the queue as waitchan, queued last; the
     * lock goes to the M, which releases it once the G is marked waiting. */
    Py_INCREF(lk);
    PyObject *a = await_new(A_PARK_PLAIN, 0, (PyObject *)lk);
    if (a == NULL) {
        lock_release_raw(lk);
        return NULL;
    }
    slot_set(g, off_g_waitreason, reason);
    slot_set(g, off_g_waitchan, q);
    PyObject *r = dq_append(q, g);
    if (r == NULL) {
        Py_DECREF(a);
        lock_release_raw(lk);
        return NULL;
    }
    Py_DECREF(r);
    return a;
slow:
    return sync_slow(py_wg_wait_await, op, NULL);
}

/* The docstrings begin with text signatures (inspect.signature reads them). */
static PyMethodDef sync_defs[] = {
    {"lock", mutex_lock, METH_NOARGS,
     "lock($self, /)\n--\n\n``await mu.lock()``: lock the mutex, waiting while it is locked."},
    {"__aenter__", mutex_lock, METH_NOARGS, "__aenter__($self, /)\n--\n\n"},
    {"__aexit__", (PyCFunction)(void (*)(void))mutex_aexit, METH_FASTCALL,
     "__aexit__($self, exc_type, exc, tb, /)\n--\n\n"},
    {"unlock", mutex_unlock, METH_NOARGS,
     "unlock($self, /)\n--\n\nUnlock the mutex; ``RuntimeError`` if it is not locked."},
    {"__await__", mutex_lock_await, METH_NOARGS, "__await__($self, /)\n--\n\n"},
    {"add", (PyCFunction)(void (*)(void))wg_add, METH_FASTCALL | METH_KEYWORDS,
     "add($self, delta)\n--\n\nAdd ``delta`` (may be negative) to the counter."},
    {"done", wg_done, METH_NOARGS, "done($self, /)\n--\n\nDecrement the counter by one (``add(-1)``)."},
    {"__await__", wg_wait_await, METH_NOARGS, "__await__($self, /)\n--\n\n"},
};

/* A class's own attribute ``name`` (its __dict__'s), strong, or NULL with
 * an exception. */
static PyObject *
own_attr(PyTypeObject *cls, const char *name)
{
    PyObject *v = cls->tp_dict == NULL ? NULL : PyDict_GetItemString(cls->tp_dict, name);  /* a heap type's */
    if (v == NULL) {
        PyErr_Format(PyExc_AttributeError, "setup_sync: %s has no method %s of its own", cls->tp_name, name);
        return NULL;
    }
    return Py_NewRef(v);
}

/* setup_sync(Mutex, _MutexLock, WaitGroup, _WaitGroupWait, WaitQueue,
 * WOKEN, HANDOFF, NOTHING, _sync's globals(), WAIT_MUTEX) -> [(class, name,
 * C method), ...]: keeps the
 * classes' Python methods as the slow paths and returns the C methods to
 * install in their place. */
static PyObject *
setup_sync(PyObject *mod, PyObject *args)
{
    PyTypeObject *mu_cls, *ml_cls, *wg_cls, *ww_cls, *q_cls;
    PyObject *woken, *handoff, *nothing, *glob, *wmutex;
    if (!PyArg_ParseTuple(args, "O!O!O!O!O!OOOO!U:setup_sync", &PyType_Type, &mu_cls, &PyType_Type, &ml_cls,
                          &PyType_Type, &wg_cls, &PyType_Type, &ww_cls, &PyType_Type, &q_cls, &woken,
                          &handoff, &nothing, &PyDict_Type, &glob, &wmutex))
        return NULL;
    if (PyType_Ready(&MutexWait_Type) < 0)
        return NULL;
    if (str_starvation == NULL && (str_starvation = PyUnicode_InternFromString("STARVATION_THRESHOLD")) == NULL)
        return NULL;
    if (G_type == NULL || off_g_coro < 0) {
        PyErr_SetString(PyExc_RuntimeError, "setup_sync: call setup_core and setup_sched first");
        return NULL;
    }
    if (!PyType_IsSubtype(q_cls, deque_type)) {
        PyErr_SetString(PyExc_TypeError, "setup_sync: WaitQueue must derive from collections.deque");
        return NULL;
    }
    PyObject *m = (PyObject *)mu_cls, *ml = (PyObject *)ml_cls, *w = (PyObject *)wg_cls, *ww = (PyObject *)ww_cls;
    if (slot_offset(m, "_lock", &off_mu_lock) < 0 || slot_offset(m, "_locked", &off_mu_locked) < 0 ||
        slot_offset(m, "_starving", &off_mu_starving) < 0 || slot_offset(m, "_woken", &off_mu_woken) < 0 ||
        slot_offset(m, "_waiters", &off_mu_waiters) < 0 || slot_offset(m, "_lock_op", &off_mu_lock_op) < 0 ||
        slot_offset(ml, "mu", &off_mlop_mu) < 0 || slot_offset(w, "_lock", &off_wg_lock) < 0 ||
        slot_offset(w, "_n", &off_wg_n) < 0 || slot_offset(w, "_waiters", &off_wg_waiters) < 0 ||
        slot_offset(ww, "wg", &off_wgw_wg) < 0 || slot_offset(ww, "reason", &off_wgw_reason) < 0)
        return NULL;
    PyObject *lock_await = own_attr(ml_cls, "__await__"), *unlock = own_attr(mu_cls, "unlock");
    PyObject *add = own_attr(wg_cls, "add"), *wait_await = own_attr(ww_cls, "__await__");
    if (lock_await == NULL || unlock == NULL || add == NULL || wait_await == NULL) {
        Py_XDECREF(lock_await);
        Py_XDECREF(unlock);
        Py_XDECREF(add);
        Py_XDECREF(wait_await);
        return NULL;
    }
    Py_XSETREF(py_mutex_lock_await, lock_await);
    Py_XSETREF(py_mutex_unlock, unlock);
    Py_XSETREF(py_wg_add, add);
    Py_XSETREF(py_wg_wait_await, wait_await);
    PyObject *objs[] = {(PyObject *)mu_cls, ml, w, ww, (PyObject *)q_cls, woken, handoff, nothing, glob, wmutex};
    PyObject **dst[] = {(PyObject **)&mutex_type, (PyObject **)&mutex_lock_type, (PyObject **)&wg_type,
                        (PyObject **)&wg_wait_type, (PyObject **)&waitq_type, &WOKEN, &HANDOFF, &NOTHING,
                        &sync_globals, &WAIT_MUTEX_STR};
    for (int i = 0; i < 10; i++) {
        Py_INCREF(objs[i]);
        Py_XSETREF(*dst[i], objs[i]);
    }
    if (minus_one == NULL && (minus_one = PyLong_FromLong(-1)) == NULL)
        return NULL;
    PyTypeObject *owners[] = {mu_cls, mu_cls, mu_cls, mu_cls, ml_cls, wg_cls, wg_cls, ww_cls};
    PyObject *out = PyList_New(0);
    if (out == NULL)
        return NULL;
    for (int i = 0; i < 8; i++) {
        PyObject *d = PyDescr_NewMethod(owners[i], &sync_defs[i]);
        PyObject *t = d == NULL ? NULL : Py_BuildValue("(OsN)", owners[i], sync_defs[i].ml_name, d);
        if (t == NULL || PyList_Append(out, t) < 0) {
            Py_XDECREF(t);
            Py_DECREF(out);
            return NULL;
        }
        Py_DECREF(t);
    }
    return out;
}

/* ------------------------------------------------------------------ timers (start, stop, reset) */

/* _core/_timer.py's Timer.start/stop/reset with the heap's side of them
 * (_timers.TimerHeap.add/delete, Sched.addtimer_locked): Go's addtimer,
 * deltimer and modtimer, step for step over the same slots. setup_timer()
 * keeps the Python methods (the definition, and what runs with
 * set_fast(False) or a Sched.lock that is not a C Lock: debug mode) and
 * returns C methods for _timer.py to install in their place. Only the rare
 * parts call Python from here: the heap's compaction (TimerHeap._compact),
 * taking the poller off its post (Sched.take_poller_locked) and waking it
 * (wake_m) after Sched.lock is released.
 *
 * Locks: Sched.lock around every read and write of the heap (its list,
 * ``nlive``, ``seq``) and of the timer's ``when``/``seq``/``pending``/
 * ``period``, as in _timer.py; ``stop`` in a stopping run only reads
 * ``pending`` (a snapshot, see Timer.stop). The slots are stored with
 * slot_set: every writer holds Sched.lock. The timer's ``sched`` and
 * ``heap`` are set once, before it is armed. */

static Py_ssize_t off_t_sched = -1, off_t_heap = -1, off_t_when = -1, off_t_period = -1;
static Py_ssize_t off_t_seq = -1, off_t_pending = -1;
static Py_ssize_t off_h_heap = -1, off_h_nlive = -1, off_h_seq = -1, off_s_poller = -1;
static PyTypeObject *rtimer_type = NULL, *theap_type = NULL;
static PyObject *py_timer_start = NULL, *py_timer_stop = NULL, *py_timer_reset = NULL;
static PyObject *py_wake_m = NULL, *heappush_fn = NULL;
static PyObject *str_compact_heap = NULL, *str_take_poller = NULL;

/* A slot holding an exact int, as a C long (-1 if it is not one: the
 * callers' values are never negative). */
static inline long
slot_long(PyObject *obj, Py_ssize_t off)
{
    PyObject *v = SLOT(obj, off);
    if (v == NULL || !PyLong_CheckExact(v))
        return -1;
    int overflow = 0;
    long n = PyLong_AsLongAndOverflow(v, &overflow);
    return overflow ? -1 : n;
}

static inline int
slot_set_long(PyObject *obj, Py_ssize_t off, long n)
{
    PyObject *v = PyLong_FromLong(n);
    if (v == NULL)
        return -1;
    slot_set(obj, off, v);
    Py_DECREF(v);
    return 0;
}

/* The timer's Sched, its C Lock and its TimerHeap, or 0 (leave it to
 * Python: debug mode's checked lock, a timer whose __init__ did not run). */
static inline int
timer_parts(PyObject *t, PyObject **sched, LockObject **lk, PyObject **heap)
{
    *sched = GR_LOAD_RELAXED(SLOT(t, off_t_sched));
    *heap = GR_LOAD_RELAXED(SLOT(t, off_t_heap));
    if (*sched == NULL || *heap == NULL || Py_TYPE(*heap) != theap_type)
        return 0;
    *lk = sync_lock(*sched, off_s_lock);
    return *lk != NULL;
}

/* The heap's state as C values, checked (0: leave it to Python). */
static inline int
heap_state(PyObject *heap, PyObject **list, long *nlive, long *seq)
{
    *list = SLOT(heap, off_h_heap);
    *nlive = slot_long(heap, off_h_nlive);
    *seq = slot_long(heap, off_h_seq);
    return *list != NULL && PyList_CheckExact(*list) && *nlive >= 0 && *seq >= 0 && *seq < LONG_MAX;
}

/* TimerHeap.add(t, when), Sched.lock held: 1 (t is the earliest now), 0,
 * -1 error. The state was checked by heap_state. */
static int
heap_add(PyObject *heap, PyObject *list, long nlive, long seq, PyObject *t, PyObject *when)
{
    if (SLOT(t, off_t_pending) != Py_True) {
        slot_set(t, off_t_pending, Py_True);
        nlive++;
        if (slot_set_long(heap, off_h_nlive, nlive) < 0)
            return -1;
    }
    seq++;
    PyObject *seqo = PyLong_FromLong(seq);
    if (seqo == NULL)
        return -1;
    slot_set(heap, off_h_seq, seqo);
    slot_set(t, off_t_seq, seqo);
    slot_set(t, off_t_when, when);
    int earliest = 1;
    if (PyList_GET_SIZE(list) > 0) {
        /* Borrowed: the list and its entries change only under Sched.lock. */
        PyObject *top = PyList_GET_ITEM(list, 0);
        PyObject *tw = PyTuple_CheckExact(top) && PyTuple_GET_SIZE(top) == 3 ? PyTuple_GET_ITEM(top, 0) : NULL;
        if (tw != NULL && PyFloat_CheckExact(tw) && PyFloat_CheckExact(when))
            earliest = PyFloat_AS_DOUBLE(when) < PyFloat_AS_DOUBLE(tw);
        else {
            earliest = tw == NULL ? -1 : PyObject_RichCompareBool(when, tw, Py_LT);
            if (earliest < 0) {
                if (tw == NULL)
                    PyErr_SetString(PyExc_TypeError, "a timer heap entry is not (when, seq, timer)");
                Py_DECREF(seqo);
                return -1;
            }
        }
    }
    PyObject *entry = PyTuple_Pack(3, when, seqo, t);
    Py_DECREF(seqo);
    if (entry == NULL)
        return -1;
    PyObject *args[2] = {list, entry};
    PyObject *r = PyObject_Vectorcall(heappush_fn, args, 2, NULL);
    Py_DECREF(entry);
    if (r == NULL)
        return -1;
    Py_DECREF(r);
    Py_ssize_t len = PyList_GET_SIZE(list);
    if (len > 64 && len > 4 * nlive) {
        r = PyObject_CallMethodNoArgs(heap, str_compact_heap);
        if (r == NULL)
            return -1;
        Py_DECREF(r);
    }
    return earliest;
}

/* Sched.addtimer_locked(t, when): NULL with no error (nothing to wake), the
 * poller to wake_m() once Sched.lock is released (new), or NULL with an
 * error. */
static PyObject *
addtimer_locked_c(PyObject *sched, PyObject *heap, PyObject *list, long nlive, long seq, PyObject *t,
                  PyObject *when)
{
    int earliest = heap_add(heap, list, nlive, seq, t, when);
    if (earliest < 0)
        return NULL;
    PyObject *poller = SLOT(sched, off_s_poller);
    if (earliest && poller != NULL && poller != Py_None)
        return PyObject_CallMethodNoArgs(sched, str_take_poller);
    return NULL;
}

/* wake_m(pm) (stolen) after Sched.lock is released; returns r (stolen) or NULL. */
static PyObject *
timer_wake(PyObject *pm, PyObject *r)
{
    if (pm != NULL) {
        PyObject *w = PyObject_CallOneArg(py_wake_m, pm);
        Py_DECREF(pm);
        if (w == NULL) {
            Py_XDECREF(r);
            return NULL;
        }
        Py_DECREF(w);
    }
    return r;
}

static inline PyObject *
timer_slow(PyObject *fn, PyObject *const *args, Py_ssize_t nargs)
{
    fallback(GR_LOAD_RELAXED(fast_on) ? FB_TIMER : FB_OFF);
    return PyObject_Vectorcall(fn, args, nargs, NULL);
}

/* Timer.start(when) */
static PyObject *
rtimer_start(PyObject *t, PyObject *when)
{
    PyObject *sched, *heap, *list;
    LockObject *lk;
    long nlive, seq;
    PyObject *a[2] = {t, when};
    if (!GR_LOAD_RELAXED(fast_on) || !timer_parts(t, &sched, &lk, &heap))
        return timer_slow(py_timer_start, a, 2);
    lock_acquire_raw(lk);
    if (!heap_state(heap, &list, &nlive, &seq)) {
        lock_release_raw(lk);
        return timer_slow(py_timer_start, a, 2);
    }
    PyObject *pm = addtimer_locked_c(sched, heap, list, nlive, seq, t, when);
    lock_release_raw(lk);
    if (pm == NULL && PyErr_Occurred())
        return NULL;
    return timer_wake(pm, Py_NewRef(Py_None));
}

/* Timer.stop() -> bool */
static PyObject *
rtimer_stop(PyObject *t, PyObject *Py_UNUSED(ignored))
{
    PyObject *sched, *heap, *list;
    LockObject *lk;
    long nlive, seq;
    if (!GR_LOAD_RELAXED(fast_on) || !timer_parts(t, &sched, &lk, &heap))
        return timer_slow(py_timer_stop, &t, 1);
    PyObject *stopping = slot_load(sched, off_s_stopping);
    if (stopping != Py_False)
        return timer_slow(py_timer_stop, &t, 1);  /* a run that is stopping (Sched.lock may be ours) */
    lock_acquire_raw(lk);
    if (!heap_state(heap, &list, &nlive, &seq)) {
        lock_release_raw(lk);
        return timer_slow(py_timer_stop, &t, 1);
    }
    /* TimerHeap.delete */
    if (SLOT(t, off_t_pending) != Py_True) {
        lock_release_raw(lk);
        Py_RETURN_FALSE;
    }
    slot_set(t, off_t_pending, Py_False);
    nlive--;
    if (slot_set_long(heap, off_h_nlive, nlive) < 0) {
        lock_release_raw(lk);
        return NULL;
    }
    Py_ssize_t len = PyList_GET_SIZE(list);
    int err = 0;
    if (len > 64 && len > 4 * nlive) {
        PyObject *r = PyObject_CallMethodNoArgs(heap, str_compact_heap);
        err = r == NULL;
        Py_XDECREF(r);
    }
    else if (nlive == 0)
        err = PyList_SetSlice(list, 0, len, NULL);
    lock_release_raw(lk);
    if (err)
        return NULL;
    Py_RETURN_TRUE;
}

/* Timer.reset(when, period=None) -> bool */
static PyObject *
rtimer_reset(PyObject *t, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    PyObject *sched, *heap, *list;
    LockObject *lk;
    long nlive, seq;
    PyObject *a[3] = {t, nargs > 0 ? args[0] : NULL, nargs > 1 ? args[1] : NULL};
    if (kwnames != NULL || nargs < 1 || nargs > 2 || !GR_LOAD_RELAXED(fast_on) ||
        !timer_parts(t, &sched, &lk, &heap)) {
        /* The Python method's own argument handling (and errors). */
        PyObject *full[4];
        Py_ssize_t nkw = kwnames == NULL ? 0 : PyTuple_GET_SIZE(kwnames);
        if (nargs + nkw > 3) {
            PyErr_SetString(PyExc_TypeError, "reset() takes at most 2 arguments (when, period)");
            return NULL;
        }
        full[0] = t;
        for (Py_ssize_t i = 0; i < nargs + nkw; i++)
            full[i + 1] = args[i];
        fallback(GR_LOAD_RELAXED(fast_on) ? FB_TIMER : FB_OFF);
        return PyObject_Vectorcall(py_timer_reset, full, 1 + nargs, kwnames);
    }
    PyObject *period = nargs > 1 ? args[1] : Py_None;
    lock_acquire_raw(lk);
    if (!heap_state(heap, &list, &nlive, &seq)) {
        lock_release_raw(lk);
        return timer_slow(py_timer_reset, a, 1 + nargs);
    }
    PyObject *was = SLOT(t, off_t_pending) == Py_True ? Py_True : Py_False;
    if (period != Py_None)
        slot_set(t, off_t_period, period);
    PyObject *pm = addtimer_locked_c(sched, heap, list, nlive, seq, t, args[0]);
    lock_release_raw(lk);
    if (pm == NULL && PyErr_Occurred())
        return NULL;
    return timer_wake(pm, Py_NewRef(was));
}

static PyMethodDef timer_defs[] = {
    {"start", (PyCFunction)rtimer_start, METH_O,
     "start($self, when, /)\n--\n\nArm the timer to fire at ``when`` (Go's addtimer)."},
    {"stop", rtimer_stop, METH_NOARGS,
     "stop($self, /)\n--\n\nDisarm the timer; True if it was pending (Go's deltimer)."},
    {"reset", (PyCFunction)(void (*)(void))rtimer_reset, METH_FASTCALL | METH_KEYWORDS,
     "reset($self, when, period=None)\n--\n\nRe-arm the timer to fire at ``when``; True if it was "
     "pending (Go's modtimer)."},
};

/* setup_timer(Timer, TimerHeap, Sched, wake_m) -> [(class, name, C method), ...] */
static PyObject *
setup_timer(PyObject *mod, PyObject *args)
{
    PyTypeObject *t_cls, *h_cls, *s_cls;
    PyObject *wake;
    if (!PyArg_ParseTuple(args, "O!O!O!O:setup_timer", &PyType_Type, &t_cls, &PyType_Type, &h_cls,
                          &PyType_Type, &s_cls, &wake))
        return NULL;
    PyObject *t = (PyObject *)t_cls, *h = (PyObject *)h_cls, *s = (PyObject *)s_cls;
    if (slot_offset(t, "sched", &off_t_sched) < 0 || slot_offset(t, "heap", &off_t_heap) < 0 ||
        slot_offset(t, "when", &off_t_when) < 0 || slot_offset(t, "period", &off_t_period) < 0 ||
        slot_offset(t, "seq", &off_t_seq) < 0 || slot_offset(t, "pending", &off_t_pending) < 0 ||
        slot_offset(h, "heap", &off_h_heap) < 0 || slot_offset(h, "nlive", &off_h_nlive) < 0 ||
        slot_offset(h, "seq", &off_h_seq) < 0 || slot_offset(s, "poller", &off_s_poller) < 0 ||
        slot_offset(s, "lock", &off_s_lock) < 0 || slot_offset(s, "stopping", &off_s_stopping) < 0)
        return NULL;
    PyObject *start = own_attr(t_cls, "start"), *stop = own_attr(t_cls, "stop"), *reset = own_attr(t_cls, "reset");
    if (start == NULL || stop == NULL || reset == NULL) {
        Py_XDECREF(start);
        Py_XDECREF(stop);
        Py_XDECREF(reset);
        return NULL;
    }
    Py_XSETREF(py_timer_start, start);
    Py_XSETREF(py_timer_stop, stop);
    Py_XSETREF(py_timer_reset, reset);
    Py_INCREF(wake);
    Py_XSETREF(py_wake_m, wake);
    Py_INCREF(t);
    Py_XSETREF(rtimer_type, t_cls);
    Py_INCREF(h);
    Py_XSETREF(theap_type, h_cls);
    if (heappush_fn == NULL) {
        PyObject *hq = PyImport_ImportModule("_heapq");
        heappush_fn = hq == NULL ? NULL : PyObject_GetAttrString(hq, "heappush");
        Py_XDECREF(hq);
        str_compact_heap = PyUnicode_InternFromString("_compact");
        str_take_poller = PyUnicode_InternFromString("take_poller_locked");
        if (heappush_fn == NULL || str_compact_heap == NULL || str_take_poller == NULL)
            return NULL;
    }
    PyObject *out = PyList_New(0);
    if (out == NULL)
        return NULL;
    for (int i = 0; i < 3; i++) {
        PyObject *d = PyDescr_NewMethod(t_cls, &timer_defs[i]);
        PyObject *e = d == NULL ? NULL : Py_BuildValue("(OsN)", t, timer_defs[i].ml_name, d);
        if (e == NULL || PyList_Append(out, e) < 0) {
            Py_XDECREF(e);
            Py_DECREF(out);
            return NULL;
        }
        Py_DECREF(e);
    }
    return out;
}

/* ------------------------------------------------------------------ module */

/* The offset of slot ``name`` of class ``cls`` (a __slots__ member). */
static int
slot_offset(PyObject *cls, const char *name, Py_ssize_t *out)
{
    PyObject *d = PyObject_GetAttrString(cls, name);
    if (d == NULL)
        return -1;
    if (!Py_IS_TYPE(d, &PyMemberDescr_Type) ||
        ((PyMemberDescrObject *)d)->d_member->type != T_OBJECT_EX) {
        PyErr_Format(PyExc_TypeError, "%R.%s is not a __slots__ slot", cls, name);
        Py_DECREF(d);
        return -1;
    }
    *out = ((PyMemberDescrObject *)d)->d_member->offset;
    Py_DECREF(d);
    return 0;
}

static PyObject *
setup_core(PyObject *mod, PyObject *args)
{
    PyObject *g_cls, *m_cls, *p_cls, *closed, *runnable, *wsend, *wrecv, *ready, *unrunnext;
    if (!PyArg_ParseTuple(args, "OOOOOUUOO:setup_core", &g_cls, &m_cls, &p_cls, &closed,
                          &runnable, &wsend, &wrecv, &ready, &unrunnext))
        return NULL;
    Py_INCREF(unrunnext);
    Py_XSETREF(py_unrunnext, unrunnext);
    if (!PyType_Check(g_cls)) {
        PyErr_SetString(PyExc_TypeError, "setup_core: G must be a class");
        return NULL;
    }
    if (slot_offset(g_cls, "param", &off_g_param) < 0 ||
        slot_offset(g_cls, "status", &off_g_status) < 0 ||
        slot_offset(g_cls, "waitreason", &off_g_waitreason) < 0 ||
        slot_offset(g_cls, "waitchan", &off_g_waitchan) < 0 ||
        slot_offset(g_cls, "lockedm", &off_g_lockedm) < 0 ||
        slot_offset(m_cls, "lockedg", &off_m_lockedg) < 0 ||
        slot_offset(m_cls, "p", &off_m_p) < 0 ||
        slot_offset(m_cls, "curg", &off_m_curg) < 0 ||
        slot_offset(m_cls, "sched", &off_m_sched) < 0 ||
        slot_offset(p_cls, "runnext", &off_p_runnext) < 0 ||
        slot_offset(p_cls, "runq", &off_p_runq) < 0 ||
        slot_offset(p_cls, "schedtick", &off_p_schedtick) < 0 ||
        slot_offset(p_cls, "rand", &off_p_rand) < 0)
        return NULL;
    {
        /* The local run queue's bound, from the module defining P. */
        PyObject *modname = PyObject_GetAttrString(p_cls, "__module__");
        PyObject *pmod = modname == NULL ? NULL : PyImport_Import(modname);
        Py_XDECREF(modname);
        PyObject *lim = pmod == NULL ? NULL : PyObject_GetAttrString(pmod, "LOCAL_RUNQ");
        Py_XDECREF(pmod);
        if (lim == NULL)
            return NULL;
        local_runq_max = PyLong_AsSsize_t(lim);
        Py_DECREF(lim);
        if (local_runq_max == -1 && PyErr_Occurred())
            return NULL;
    }
    Py_INCREF(g_cls);
    Py_XSETREF(G_type, (PyTypeObject *)g_cls);
    Py_INCREF(closed);
    Py_XSETREF(CLOSED, closed);
    Py_INCREF(runnable);
    Py_XSETREF(RUNNABLE, runnable);
    Py_INCREF(wsend);
    Py_XSETREF(WAIT_SEND, wsend);
    Py_INCREF(wrecv);
    Py_XSETREF(WAIT_RECV, wrecv);
    Py_INCREF(ready);
    Py_XSETREF(py_ready, ready);
    Py_RETURN_NONE;
}

static PyObject *
setup_chan(PyObject *mod, PyObject *args)
{
    PyObject *ss, *rs, *sc, *cls;
    if (!PyArg_ParseTuple(args, "OOOO!:setup_chan", &ss, &rs, &sc, &PyType_Type, &cls))
        return NULL;
    if (!PyType_IsSubtype((PyTypeObject *)cls, &Chan_Type)) {
        PyErr_SetString(PyExc_TypeError, "setup_chan: the channel class must derive from ChanBase");
        return NULL;
    }
    Py_INCREF(cls);
    Py_XSETREF(chan_cls, (PyTypeObject *)cls);
    Py_INCREF(ss);
    Py_XSETREF(send_slow, ss);
    Py_INCREF(rs);
    Py_XSETREF(recv_slow, rs);
    Py_INCREF(sc);
    Py_XSETREF(send_closed, sc);
    Py_RETURN_NONE;
}

/* set_m(m): this thread is M ``m`` (None: no longer). The caller keeps m
 * alive for as long as it is set. */
static PyObject *
set_m(PyObject *mod, PyObject *m)
{
    tls_m = m == Py_None ? NULL : m;
    if (tls_m == NULL) {
        Py_CLEAR(tls_await);
        await_free_all();
        sendop_free_all();
        Py_CLEAR(tls_stop);
        Py_CLEAR(tls_done);
        Py_CLEAR(tls_now);
        Py_CLEAR(tls_tick);
    }
    Py_RETURN_NONE;
}

/* current_m(): this thread's M, or None (what _runctx's tls.m holds). */
static PyObject *
current_m_fn(PyObject *mod, PyObject *Py_UNUSED(ignored))
{
    PyObject *m = tls_m != NULL ? tls_m : Py_None;
    Py_INCREF(m);
    return m;
}

/* ready(g, m): as _ready.ready, for callers on an M (m not None). */
static PyObject *
ready_fn(PyObject *mod, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "ready(g, m) takes 2 arguments");
        return NULL;
    }
    PyObject *g = args[0], *m = args[1];
    if (m == Py_None || G_type == NULL || Py_TYPE(g) != G_type || !GR_LOAD_RELAXED(fast_on)) {
        return PyObject_Vectorcall(py_ready, args, 2, NULL);
    }
    if (c_ready(g, m) < 0)
        return NULL;
    Py_RETURN_NONE;
}

/* set_fast(on): the fast paths run (True, the default) or hand every
 * operation to its Python implementation (False). Between runs only. */
static PyObject *
set_fast(PyObject *mod, PyObject *on)
{
    int v = PyObject_IsTrue(on);
    if (v < 0)
        return NULL;
    GR_STORE_RELAXED(fast_on, v);
    Py_RETURN_NONE;
}

static PyObject *
fast_fn(PyObject *mod, PyObject *Py_UNUSED(ignored))
{
    return PyBool_FromLong(GR_LOAD_RELAXED(fast_on));
}

/* fallbacks(): {reason: how many operations went to Python for it}. */
static PyObject *
fallbacks_fn(PyObject *mod, PyObject *Py_UNUSED(ignored))
{
    PyObject *d = PyDict_New();
    if (d == NULL)
        return NULL;
    for (int i = 0; i < FB_N; i++) {
        PyObject *n = PyLong_FromSsize_t(GR_LOAD_RELAXED(fb_count[i]));
        if (n == NULL || PyDict_SetItemString(d, fb_names[i], n) < 0) {
            Py_XDECREF(n);
            Py_DECREF(d);
            return NULL;
        }
        Py_DECREF(n);
    }
    return d;
}

static PyObject *
reset_fallbacks_fn(PyObject *mod, PyObject *Py_UNUSED(ignored))
{
    for (int i = 0; i < FB_N; i++)
        GR_STORE_RELAXED(fb_count[i], 0);
    Py_RETURN_NONE;
}

static PyMethodDef module_methods[] = {
    {"set_fast", set_fast, METH_O, "set_fast(on): run the C fast paths (True) or only the Python ones"},
    {"fast", fast_fn, METH_NOARGS, "fast() -> bool: whether the C fast paths run"},
    {"fallbacks", fallbacks_fn, METH_NOARGS,
     "fallbacks() -> {reason: count} of operations the C code handed to Python"},
    {"reset_fallbacks", reset_fallbacks_fn, METH_NOARGS, "reset_fallbacks(): zero the counts"},
    {"setup_core", setup_core, METH_VARARGS,
     "setup_core(G, M, P, CLOSED, RUNNABLE, WAIT_SEND, WAIT_RECV, ready_py, unrunnext)"},
    {"setup_chan", setup_chan, METH_VARARGS, "setup_chan(send_slow, recv_slow, send_closed, Chan)"},
    {"setup_select", setup_select, METH_VARARGS, "setup_select(selectgo, WAIT_SELECT, Select, select)"},
    {"select", (PyCFunction)(void (*)(void))select_fn, METH_VARARGS | METH_KEYWORDS,
     "select(*ops, default=False): as goroutines.select"},
    {"setup_sched", setup_sched, METH_VARARGS,
     "setup_sched(Sched, P, P_RUNNING, RUNNING, WAITING, goexit, gopanic, after_trap, trace_trap, unhook, LockType)"},
    {"run_fast", run_fast, METH_O, "run_fast(m): run the plain case of the schedule loop"},
    {"timer_slack", timer_slack_fn, METH_O, "timer_slack(ns): this thread's timer slack (Linux); False if unsupported"},
    {"current_m", current_m_fn, METH_NOARGS, "current_m(): this thread's M, or None"},
    {"set_m", set_m, METH_O, "set_m(m): the calling thread is M m (None: not an M)"},
    {"ready", (PyCFunction)(void (*)(void))ready_fn, METH_FASTCALL, "ready(g, m)"},
    {"go", (PyCFunction)(void (*)(void))go_fn, METH_FASTCALL | METH_KEYWORDS,
     "go(fn, /, *args, **kwargs): start fn(*args, **kwargs) as a new goroutine; return at once."},
    {"setup_spawn", setup_spawn, METH_VARARGS,
     "setup_spawn(Sched, G, Goroutine, go, newproc, new_lock, DEAD, LOCAL_RUNQ, GFREE_MAX)"},
    {"untrack_g", untrack_g, METH_O, "untrack_g(g): take a G record off the cyclic GC's lists"},
    {"setup_timer", setup_timer, METH_VARARGS,
     "setup_timer(Timer, TimerHeap, Sched, wake_m) -> [(class, name, C method)]"},
    {"setup_sync", setup_sync, METH_VARARGS,
     "setup_sync(Mutex, _MutexLock, WaitGroup, _WaitGroupWait, WaitQueue, WOKEN, HANDOFF, NOTHING, "
     "globals(), WAIT_MUTEX) -> "
     "[(class, name, C method)]"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = "goroutines._core._speedups",
    .m_doc = "The channel fast paths in C (see _speedups.c's header).",
    .m_size = -1,
    .m_methods = module_methods,
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    if (PyType_Ready(&Lock_Type) < 0 || PyType_Ready(&Await_Type) < 0 ||
        PyType_Ready(&Chan_Type) < 0 || PyType_Ready(&SendOp_Type) < 0 ||
        PyType_Ready(&RecvOp_Type) < 0 || PyType_Ready(&Range_Type) < 0 ||
        PyType_Ready(&Ring_Type) < 0 || PyType_Ready(&Select_Type) < 0)
        return NULL;
    PyObject *collections = PyImport_ImportModule("collections");
    if (collections == NULL)
        return NULL;
    deque_type = (PyTypeObject *)PyObject_GetAttrString(collections, "deque");
    Py_DECREF(collections);
    if (deque_type == NULL)
        return NULL;
    deque_append = PyObject_GetAttrString((PyObject *)deque_type, "append");
    deque_popleft = PyObject_GetAttrString((PyObject *)deque_type, "popleft");
    deque_appendleft = PyObject_GetAttrString((PyObject *)deque_type, "appendleft");
    str_compact = PyUnicode_InternFromString("_compact");
    str_param = PyUnicode_InternFromString("param");
    str_random = PyUnicode_InternFromString("random");
    sel_default_res = Py_BuildValue("(iOO)", -1, Py_None, Py_False);
    if (deque_appendleft == NULL || str_compact == NULL || str_param == NULL || str_random == NULL ||
        sel_default_res == NULL)
        return NULL;
    str_release = PyUnicode_InternFromString("release");
    str_nlive = PyUnicode_InternFromString("nlive");
    if (deque_append == NULL || deque_popleft == NULL || str_release == NULL || str_nlive == NULL)
        return NULL;
    if (Py_IS_TYPE(deque_append, &PyMethodDescr_Type) && Py_IS_TYPE(deque_popleft, &PyMethodDescr_Type)) {
        PyMethodDef *a = ((PyMethodDescrObject *)deque_append)->d_method;
        PyMethodDef *pl = ((PyMethodDescrObject *)deque_popleft)->d_method;
        if ((a->ml_flags & ~METH_COEXIST) == METH_O && (pl->ml_flags & ~METH_COEXIST) == METH_NOARGS) {
            deque_append_c = a->ml_meth;
            deque_popleft_c = pl->ml_meth;
        }
    }
    the_done = PyObject_New(AwaitObject, &Await_Type);
    if (the_done == NULL)
        return NULL;
    the_done->state = A_DONE;
    the_done->mode = 0;
    the_done->value = NULL;

    PyObject *mod = PyModule_Create(&module_def);
    if (mod == NULL)
        return NULL;
    if (PyModule_AddObjectRef(mod, "Lock", (PyObject *)&Lock_Type) < 0 ||
        PyModule_AddObjectRef(mod, "ChanBase", (PyObject *)&Chan_Type) < 0 ||
        PyModule_AddObjectRef(mod, "SendOp", (PyObject *)&SendOp_Type) < 0 ||
        PyModule_AddObjectRef(mod, "RecvOp", (PyObject *)&RecvOp_Type) < 0 ||
        PyModule_AddObjectRef(mod, "Await", (PyObject *)&Await_Type) < 0 ||
        PyModule_AddObjectRef(mod, "Ring", (PyObject *)&Ring_Type) < 0 ||
        PyModule_AddObjectRef(mod, "SelectBase", (PyObject *)&Select_Type) < 0 ||
        PyModule_AddStringConstant(mod, "SOURCE_SHA256", GR_SOURCE_SHA256) < 0 ||
        PyModule_AddIntConstant(mod, "FREE_THREADED", GR_FT_BUILD) < 0) {
        Py_DECREF(mod);
        return NULL;
    }
#ifdef GR_FT
    /* Nothing here needs the GIL (see "Locking"): importing the module
     * must not turn it back on. */
    if (PyUnstable_Module_SetGIL(mod, Py_MOD_GIL_NOT_USED) < 0) {
        Py_DECREF(mod);
        return NULL;
    }
#endif
    return mod;
}
