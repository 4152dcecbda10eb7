/* goroutines._core._speedups: the channel fast paths in C (optional).
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
 *   SendOp,     the operation objects. Awaiting one runs the fast path
 *   RecvOp      here: hand a value to (or take one from) a single waiting
 *               plain goroutine, use the buffer, or park on an empty wait
 *               queue. Anything else -- closed channel, a select waiter or
 *               several waiters queued, no P (preempted), not on an M --
 *               drops the channel lock untouched and calls the Python
 *               implementation in _chan.py, which does it all from scratch.
 *   Ring        a buffered channel's buffer (deque's append/popleft/clear/
 *               len), pushed and popped by the fast paths without a call.
 *   Await       what ``await op`` iterates: either a value to return at
 *               once, or a park: yield the channel lock to the M (which
 *               releases it after marking the G waiting, exactly as the
 *               Python generator does), then return the resume value.
 *   ready()     _ready.ready's common case (the caller's P's runnext is
 *               empty); every other case calls the Python ready.
 *   go()        _runtime.go, _lifecycle.newproc and _lifecycle.goexit's common case
 *               (see "spawn and exit"); the rest calls them.
 *
 * Locking -- the same rules as the Python code, on both builds. Nothing here
 * relies on the GIL for atomicity; on a build with one it is held only
 * because the C API requires it. The order is docs/design.md's "Locks"
 * (a thread holding one takes only those after it): (1) channel locks,
 * (2) sync/timer locks, (3) Sched.lock, (4) Netpoll.lock; the C code takes
 * only (1) and (3), never both at once, and an object's critical section
 * (free-threaded builds) only innermost, for one slot. Each path and the
 * lock it relies on:
 *
 *   SendOp/RecvOp await    the channel's Lock (its ``_lock``) around every
 *                          read or write of ``_recvq``/``_sendq``/``_buf``/
 *                          ``_closed``, exactly as _chan.py. Released before
 *                          ready() (which may take Sched.lock), or handed to
 *                          the M with a park (released in park_on_lock
 *                          after the G is marked waiting).
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
 *   slot writes            G and M slots have one writer at a time (the G's
 *                          owner, the M itself; _g.py, _schedule.py), ordered by
 *                          the lock or queue that handed them over: an atomic
 *                          exchange on a free-threaded build, so an unlocked
 *                          reader sees the old or new value and the old one
 *                          is dropped once. P.schedtick, which a retaken P's
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
static PyTypeObject *deque_type = NULL;

/* This thread's M (a borrowed reference: the M object outlives its thread's
 * schedule loop, which clears this before it returns). */
static _Thread_local PyObject *tls_m = NULL;

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

/* sched.trace is None (tracing off)? An unset slot counts as off. */
static inline int
trace_off(PyObject *sched)
{
    PyObject *t = slot_load(sched, off_s_trace);
    return t == NULL || t == Py_None;
}

/* Store a new reference to v in a slot whose writers take turns (one at a
 * time, ordered by a lock or a queue: every G and M slot the C code writes,
 * see _g.py and _schedule.py). On a free-threaded build an atomic exchange: a
 * reader without the lock (a member descriptor: atomic load, then a checked
 * incref) sees the old or the new value, and the old one is dropped once. */
static inline void
slot_set(PyObject *obj, Py_ssize_t off, PyObject *v)
{
    PyObject **p = (PyObject **)((char *)obj + off);
    Py_INCREF(v);
#ifdef GR_FT
    PyObject *old = __atomic_exchange_n(p, v, __ATOMIC_ACQ_REL);
#else
    PyObject *old = *p;
    *p = v;
#endif
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
    FB_SPAWN,       /* go()/newproc/goexit not the common case: _runtime.go, _lifecycle */
    FB_N,
};
static const char *fb_names[FB_N] = {"off", "not_m", "chan", "closed", "queue", "park", "ready", "spawn"};
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
    A_PARK_RECV,    /* yield lock, then return the resume value (mode) */
    A_PARK_SEND,    /* yield lock, then return None or raise if CLOSED */
    A_WAIT_RECV,    /* A_PARK_RECV after its yield */
    A_WAIT_SEND,    /* A_PARK_SEND after its yield */
    A_FINISHED,
};

typedef struct {
    PyObject_HEAD
    int state;
    int mode;               /* RecvOp.with_ok: 0 value, 1 (value, ok), 2 async for */
    PyObject *value;        /* A_VALUE: the result; A_PARK_*: the channel lock */
} AwaitObject;

static PyTypeObject Await_Type;
static AwaitObject *the_done = NULL;   /* immutable singleton in state A_DONE */

/* An Await is not tracked by the cyclic GC: only the awaiting coroutine's
 * frame refers to it, and what it holds (a received value on its way to
 * that frame, or a channel lock) cannot refer back to it.
 *
 * Each M thread keeps the last Await it made (tls_await, a reference of
 * its own) and reuses it when nobody else holds it any more (refcount 1):
 * a finished Await holds nothing (its value moved out in am_send), so reuse
 * retains no user object. Cleared by set_m(None) when the M's loop ends. */
static _Thread_local AwaitObject *tls_await = NULL;

static PyObject *
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
        a = PyObject_New(AwaitObject, &Await_Type);
        if (a == NULL) {
            Py_XDECREF(value);
            return NULL;
        }
        if (tls_m != NULL && tls_await == NULL) {
            Py_INCREF(a);
            tls_await = a;
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
    PyObject_Free(self);
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
        /* The lock goes up to the M, which releases it once the G is
         * marked waiting; we drop our reference now. */
        self->state = self->state == A_PARK_RECV ? A_WAIT_RECV : A_WAIT_SEND;
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
 * tuple stays one value. */
static PyObject *
stop_with(PyObject *r)
{
    PyObject *e = PyObject_CallOneArg(PyExc_StopIteration, r);
    Py_DECREF(r);
    if (e != NULL) {
        PyErr_SetObject(PyExc_StopIteration, e);
        Py_DECREF(e);
    }
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
    static const char *names[] = {"value", "done", "park recv", "park send",
                                  "waiting recv", "waiting send", "finished"};
    return PyUnicode_FromFormat("<goroutines await: %s>", names[self->state]);
}

static PyMethodDef Await_methods[] = {
    {"send", (PyCFunction)Await_send, METH_O, NULL},
    {NULL, NULL, 0, NULL},
};

static PyAsyncMethods Await_async = {
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

/* Make ``g`` runnable from ``m`` (a running M): the common case of
 * _ready.ready -- tracing off, the P's runnext empty -- done here; every
 * other case by the Python function, and the recheck after a P was
 * retaken meanwhile by _ready._unrunnext. Returns 0, or -1 with an
 * exception set. */
static int call3(PyObject *fn, PyObject *a, PyObject *b, PyObject *c);

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
    if (rn == NULL || Py_TYPE(rn) != deque_type || GR_LOAD_RELAXED(((PyVarObject *)rn)->ob_size) != 0)
        goto python;
    if (off_s_trace < 0 || !trace_off(sched))
        goto python;
    slot_set(g, off_g_status, RUNNABLE);
    PyObject *args[2] = {rn, g};
    PyObject *r = PyObject_Vectorcall(deque_append, args, 2, NULL);
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

typedef struct {
    PyObject_HEAD
    PyObject *chan;
    PyObject *value;
    /* Set (relaxed: only ever 0 -> 1) once awaited or handed to select;
     * a SendOp collected with it still 0 was forgotten: SendOp_finalize
     * warns, as CPython does for a never-awaited coroutine. */
    char used;
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

static PyObject *
SendOp_make(PyObject *chan, PyObject *value)
{
    SendOpObject *op = PyObject_GC_New(SendOpObject, &SendOp_Type);
    if (op == NULL)
        return NULL;
    Py_INCREF(chan);
    op->chan = chan;
    Py_INCREF(value);
    op->value = value;
    op->used = 0;
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
deque_call1(PyObject *meth, PyObject *dq)
{
    PyObject *args[1] = {dq};
    return PyObject_Vectorcall(meth, args, 1, NULL);
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
    PyObject *rq = ch->recvq;
    if (rq != Py_None) {
        if (Py_TYPE(rq) != G_type) {
            why = FB_QUEUE;     /* a select waiter, or a deque of waiters */
            goto slow_unlock;
        }
        /* A plain receiver waits: hand the value straight to it. */
        ch->recvq = Py_None;    /* our reference to rq moves to this frame */
        Py_INCREF(Py_None);
        lock_release_raw(lock);
        slot_set(rq, off_g_param, op->value);
        int err = c_ready(rq, m);
        Py_DECREF(rq);
        if (err < 0)
            return NULL;
        Py_INCREF(the_done);
        return (PyObject *)the_done;
    }
    if (ch->cap > 0) {
        RingObject *buf = (RingObject *)ch->buf;
        if (Py_TYPE(buf) != &Ring_Type) {
            why = FB_CHAN;
            goto slow_unlock;
        }
        if (buf->len < ch->cap) {
            int err = ring_push(buf, op->value);
            lock_release_raw(lock);
            if (err < 0)
                return NULL;
            Py_INCREF(the_done);
            return (PyObject *)the_done;
        }
    }
    /* Would block: park on an empty send queue (else the Python path). */
    PyObject *g = SLOT(m, off_m_curg);     /* this M's own: written by this thread */
    if (g == NULL || Py_TYPE(g) != G_type || ch->sendq != Py_None) {
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
    Py_INCREF(g);
    Py_SETREF(ch->sendq, g);
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
    PyObject *sq = ch->sendq;
    RingObject *buf = (RingObject *)ch->buf;
    if (ch->cap > 0 && Py_TYPE(buf) != &Ring_Type) {
        why = FB_CHAN;
        goto slow_unlock;
    }
    if (sq != Py_None) {
        if (Py_TYPE(sq) != G_type) {
            why = FB_QUEUE;
            goto slow_unlock;
        }
        /* A plain sender waits: take its value (or, buffered, the oldest
         * buffered value, and its value joins the buffer's tail). Its
         * param is ours to read: it parked under the lock we hold. */
        PyObject *sv = SLOT(sq, off_g_param);
        if (sv == NULL) {
            why = FB_QUEUE;
            goto slow_unlock;
        }
        Py_INCREF(sv);
        PyObject *v;
        if (ch->cap > 0) {
            /* The buffer is full (a sender waits): pop, then push. */
            if (buf->len == 0) {
                Py_DECREF(sv);
                why = FB_QUEUE;
                goto slow_unlock;
            }
            v = ring_pop(buf);
            int err = ring_push(buf, sv);
            Py_DECREF(sv);
            if (err < 0) {
                Py_DECREF(v);
                lock_release_raw(lock);
                return NULL;
            }
        }
        else {
            v = sv;
        }
        slot_set(sq, off_g_param, Py_None);
        ch->sendq = Py_None;    /* our reference to sq moves to this frame */
        Py_INCREF(Py_None);
        lock_release_raw(lock);
        int err = c_ready(sq, m);
        Py_DECREF(sq);
        if (err < 0) {
            Py_DECREF(v);
            return NULL;
        }
        return recv_value(v, op->with_ok);
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
    /* Would block: park on an empty receive queue (else the Python path). */
    PyObject *g = SLOT(m, off_m_curg);     /* this M's own: written by this thread */
    if (g == NULL || Py_TYPE(g) != G_type || ch->recvq != Py_None) {
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
    Py_INCREF(g);
    Py_SETREF(ch->recvq, g);
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

static void
SendOp_dealloc(SendOpObject *self)
{
    if (!GR_LOAD_RELAXED(self->used)
        && PyObject_CallFinalizerFromDealloc((PyObject *)self) < 0)
        return;     /* resurrected by the warning machinery */
    PyObject_GC_UnTrack(self);
    SendOp_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
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

/* The G parked: mark it waiting, then release the lock it yielded (the
 * order that makes parking race-free, see _g.py), as schedule() does. */
static int
park_on_lock(PyObject *sched, PyObject *g, PyObject *trap)
{
    slot_set(g, off_g_status, WAITING);
    PyObject *now = slot_get_ref(sched, off_s_coarse_now);  /* sysmon replaces it */
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

/* The head of the global run queue for m's P ``p``, when findrunnable would
 * take it without anything else to do first: the run is not stopping, p is
 * still m's and running, no timer is pending (findrunnable runs due ones
 * first), the head is a G (not a preempted M's placeholder, which gets the
 * P), and no idle P would have to be woken for what stays queued. Under
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
    PyObject *timers = SLOT(sched, off_s_timers);
    if (timers == NULL)
        goto out;
    PyObject *nlive = PyObject_GetAttr(timers, str_nlive);
    if (nlive == NULL)
        goto out;
    int busy = PyObject_IsTrue(nlive);
    Py_DECREF(nlive);
    if (busy != 0)
        goto out;
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
        g = deque_call1(deque_popleft, runq);
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
    PyObject *g = deque_call1(deque_popleft, q);
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
    slot_set(m, off_m_curg, g);
    slot_set(g, off_g_status, RUNNING);
    /* The waker stored param before queueing g; the queue ordered it. */
    PyObject *param = Py_XNewRef(SLOT(g, off_g_param));
    PyObject *coro = Py_XNewRef(SLOT(g, off_g_coro));
    PyObject *ctx = Py_XNewRef(SLOT(g, off_g_ctx));
    if (param == NULL || coro == NULL || ctx == NULL || !PyContext_CheckExact(ctx)) {
        Py_XDECREF(param);
        Py_XDECREF(coro);
        Py_XDECREF(ctx);
        slot_set(m, off_m_curg, Py_None);
        PyErr_SetString(PyExc_RuntimeError, "run_fast: a runnable G without coro/param/ctx");
        return -1;
    }
    slot_set(g, off_g_param, Py_None);
    /* Free-threaded builds: hold the G's stacklock while its frames run, as
     * schedule() does, so a dump never walks a chain that is changing (see
     * _g.py); None (no lock needed) under the GIL. Set once per G record. */
    PyObject *sl = off_g_stacklock < 0 ? NULL : SLOT(g, off_g_stacklock);
    if (sl == Py_None)
        sl = NULL;
    Py_XINCREF(sl);
    if (sl != NULL) {
        if (Py_TYPE(sl) == &Lock_Type)
            lock_acquire_raw((LockObject *)sl);
        else {
            PyObject *r = PyObject_CallMethod(sl, "acquire", NULL);
            if (r == NULL) {
                Py_DECREF(sl);
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
        *res = PyIter_Send(coro, param, trap);
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
        Py_DECREF(sl);
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
static Py_ssize_t local_runq_max = 0;       /* _sched.LOCAL_RUNQ */
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


/* run_fast(m): the inner part of _schedule.schedule, for as long as it is the
 * plain case -- the P has a G in runnext or its local run queue, this is not
 * a 61st pick, tracing is off -- run that G to its next trap and park it if it yielded a lock; other
 * traps, exits and panics go to the same Python functions schedule() calls.
 * Returns (None) as soon as the case is not plain; schedule() goes on from
 * there. The M is ``m``, running on this thread; the fields it touches are
 * its own or written under the rules in _schedule.py's header. */
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
        PyObject *tickobj = slot_get_ref(p, off_p_schedtick);
        if (tickobj == NULL)
            break;
        if (!PyLong_CheckExact(tickobj)) {
            Py_DECREF(tickobj);
            break;
        }
        long tick = PyLong_AsLong(tickobj);
        Py_DECREF(tickobj);
        if (tick == -1 && PyErr_Occurred())
            goto error;
        tick += 1;
        if (tick % 61 == 0)
            break;
        if (!trace_off(sched))
            break;
        Py_INCREF(p);
        /* runnext, then the local queue, then the global one (Go's order). */
        PyObject *g = pop_queue(rn);
        if (g == NULL && !PyErr_Occurred())
            g = pop_queue(SLOT(p, off_p_runq));  /* set once */
        if (g == NULL && PyErr_Occurred()) {
            Py_DECREF(p);
            goto error;
        }
        if (g == NULL) {
            g = take_global(m, sched, p);
            if (g == NULL) {
                Py_DECREF(p);
                if (PyErr_Occurred())
                    goto error;
                break;
            }
        }
        PyObject *nt = PyLong_FromLong(tick);
        if (nt == NULL) {
            Py_DECREF(p);
            Py_DECREF(g);
            goto error;
        }
        slot_set_shared(p, off_p_schedtick, nt);
        Py_DECREF(nt);
        Py_DECREF(p);

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
                if (Py_TYPE(trap) == &Lock_Type || Py_TYPE(trap) == thread_lock_type)
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
        slot_offset(p_cls, "schedtick", &off_p_schedtick) < 0)
        return NULL;
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
    if (tls_m == NULL)
        Py_CLEAR(tls_await);
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
    {"setup_sched", setup_sched, METH_VARARGS,
     "setup_sched(Sched, P, P_RUNNING, RUNNING, WAITING, goexit, gopanic, after_trap, trace_trap, unhook, LockType)"},
    {"run_fast", run_fast, METH_O, "run_fast(m): run the plain case of the schedule loop"},
    {"current_m", current_m_fn, METH_NOARGS, "current_m(): this thread's M, or None"},
    {"set_m", set_m, METH_O, "set_m(m): the calling thread is M m (None: not an M)"},
    {"ready", (PyCFunction)(void (*)(void))ready_fn, METH_FASTCALL, "ready(g, m)"},
    {"go", (PyCFunction)(void (*)(void))go_fn, METH_FASTCALL | METH_KEYWORDS,
     "go(fn, /, *args, **kwargs): start fn(*args, **kwargs) as a new goroutine; return at once."},
    {"setup_spawn", setup_spawn, METH_VARARGS,
     "setup_spawn(Sched, G, Goroutine, go, newproc, new_lock, DEAD, LOCAL_RUNQ, GFREE_MAX)"},
    {"untrack_g", untrack_g, METH_O, "untrack_g(g): take a G record off the cyclic GC's lists"},
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
        PyType_Ready(&Ring_Type) < 0)
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
    str_release = PyUnicode_InternFromString("release");
    str_nlive = PyUnicode_InternFromString("nlive");
    if (deque_append == NULL || deque_popleft == NULL || str_release == NULL || str_nlive == NULL)
        return NULL;
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
