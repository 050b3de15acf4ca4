/* The timer queue's per-timer work, compiled: Timer and TimerQueue, the twins of timers.py.
 *
 * Every receipt is a timer, so scheduling and firing are on each message's path. The data is what
 * the Python twin keeps -- entries [when, seq, callback, args] in per-millisecond bucket lists
 * ([next index, entry, ...]) in a dict, a heap (list) of the ticks that have a bucket, a set of the
 * buckets an entry joined out of order -- so Scheduler's Python code (clearing, compaction, the
 * driver) works on either. Tests run the scheduler's suite, a model-based property test included,
 * on both twins.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <structmember.h>

#define WHEN 0
#define CB 2
#define ARGS 3
#define TICKS_PER_SECOND 1000.0

static PyObject *heappush_func, *heappop_func;  /* heapq's */
static PyObject *report_failure_func;            /* timers.report_failure(callback, error) */
static PyObject *s_arm, *s_cancelled_one;        /* Scheduler's methods called from here */
static PyObject *thousand, *empty_tuple, *first_index;

/* ---------------------------------------------------------------- Timer */

typedef struct {
    PyObject_HEAD
    PyObject *entry;      /* [when, seq, callback, args] */
    PyObject *scheduler;
} TimerObject;

static PyTypeObject TimerType;

static int
Timer_traverse(TimerObject *self, visitproc visit, void *arg)
{
    Py_VISIT(self->entry);
    Py_VISIT(self->scheduler);
    return 0;
}

static int
Timer_clear(TimerObject *self)
{
    Py_CLEAR(self->entry);
    Py_CLEAR(self->scheduler);
    return 0;
}

static void
Timer_dealloc(TimerObject *self)
{
    PyObject_GC_UnTrack(self);
    Timer_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *
new_timer(PyObject *entry, PyObject *scheduler)
{
    TimerObject *timer = PyObject_GC_New(TimerObject, &TimerType);
    if (timer == NULL)
        return NULL;
    timer->entry = Py_NewRef(entry);
    timer->scheduler = Py_NewRef(scheduler);
    PyObject_GC_Track(timer);
    return (PyObject *)timer;
}

static PyObject *
Timer_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"entry", "scheduler", NULL};
    PyObject *entry, *scheduler;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O!O", keywords, &PyList_Type, &entry, &scheduler))
        return NULL;
    if (PyList_GET_SIZE(entry) != 4) {
        PyErr_SetString(PyExc_ValueError, "a timer entry is [when, seq, callback, args]");
        return NULL;
    }
    return new_timer(entry, scheduler);
}

static PyObject *
Timer_cancel(TimerObject *self, PyObject *unused)
{
    /* Cancel the timer; return False if it already fired or was cancelled. */
    PyObject *entry = self->entry;
    if (PyList_GET_ITEM(entry, CB) == Py_None)
        Py_RETURN_FALSE;
    /* Drop the args now: receipts hold message objects and a cancelled entry can sit in its
     * bucket until its deadline. */
    PyList_SetItem(entry, CB, Py_NewRef(Py_None));
    PyList_SetItem(entry, ARGS, Py_NewRef(empty_tuple));
    PyObject *done = PyObject_CallMethodNoArgs(self->scheduler, s_cancelled_one);
    if (done == NULL)
        return NULL;
    Py_DECREF(done);
    Py_RETURN_TRUE;
}

static PyObject *
Timer_when(TimerObject *self, void *closure)
{
    return Py_NewRef(PyList_GET_ITEM(self->entry, WHEN));
}

static PyObject *
Timer_pending(TimerObject *self, void *closure)
{
    return PyBool_FromLong(PyList_GET_ITEM(self->entry, CB) != Py_None);
}

static PyObject *
Timer_repr(TimerObject *self)
{
    return PyUnicode_FromFormat("<Timer when=%R %s>", PyList_GET_ITEM(self->entry, WHEN),
                                PyList_GET_ITEM(self->entry, CB) != Py_None ? "pending" : "done");
}

static PyMethodDef Timer_methods[] = {
    {"cancel", (PyCFunction)Timer_cancel, METH_NOARGS, "Cancel the timer; False if it already fired or was cancelled."},
    {NULL},
};

static PyGetSetDef Timer_getset[] = {
    {"when", (getter)Timer_when, NULL, "Monotonic deadline the timer was scheduled for.", NULL},
    {"pending", (getter)Timer_pending, NULL, "True until the timer fires, is cancelled or the scheduler is cleared.",
     NULL},
    {NULL},
};

static PyTypeObject TimerType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "simulator.core._speedups.Timer",
    .tp_doc = "Handle for one scheduled callback; only cancel() is needed by callers.",
    .tp_basicsize = sizeof(TimerObject),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_new = Timer_new,
    .tp_dealloc = (destructor)Timer_dealloc,
    .tp_traverse = (traverseproc)Timer_traverse,
    .tp_clear = (inquiry)Timer_clear,
    .tp_repr = (reprfunc)Timer_repr,
    .tp_methods = Timer_methods,
    .tp_getset = Timer_getset,
};

/* ---------------------------------------------------------------- TimerQueue */

typedef struct {
    PyObject_HEAD
    PyObject *now;       /* _now: the clock's now() */
    PyObject *buckets;   /* _buckets: millisecond tick -> [next index, entries...] */
    PyObject *ticks;     /* _ticks: heap of the ticks that have a bucket */
    PyObject *unsorted;  /* _unsorted: buckets an entry joined out of deadline order */
    PyObject *loop;      /* _loop: the event loop driving the queue, or None */
    Py_ssize_t size;     /* _size: entries in the buckets, cancelled ones included */
    Py_ssize_t seq;      /* _seq */
    Py_ssize_t cancelled; /* _cancelled: cancelled entries still in a bucket */
} QueueObject;

static int
Queue_traverse(QueueObject *self, visitproc visit, void *arg)
{
    Py_VISIT(self->now);
    Py_VISIT(self->buckets);
    Py_VISIT(self->ticks);
    Py_VISIT(self->unsorted);
    Py_VISIT(self->loop);
    return 0;
}

static int
Queue_clear(QueueObject *self)
{
    Py_CLEAR(self->now);
    Py_CLEAR(self->buckets);
    Py_CLEAR(self->ticks);
    Py_CLEAR(self->unsorted);
    Py_CLEAR(self->loop);
    return 0;
}

static void
Queue_dealloc(QueueObject *self)
{
    PyObject_GC_UnTrack(self);
    Queue_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *
Queue_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    QueueObject *self = (QueueObject *)type->tp_alloc(type, 0);
    if (self == NULL)
        return NULL;
    self->now = Py_NewRef(Py_None);
    self->buckets = PyDict_New();
    self->ticks = PyList_New(0);
    self->unsorted = PySet_New(NULL);
    self->loop = Py_NewRef(Py_None);
    if (self->buckets == NULL || self->ticks == NULL || self->unsorted == NULL) {
        Py_DECREF(self);
        return NULL;
    }
    return (PyObject *)self;
}

static int
Queue_init(QueueObject *self, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"now", NULL};
    PyObject *now;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O:TimerQueue", keywords, &now))
        return -1;
    Py_XSETREF(self->now, Py_NewRef(now));  /* the clock's now(), bound once */
    return 0;
}

/* The containers must stay what the Python twin's code expects, whatever a subclass assigns. */
static int
check_containers(QueueObject *self)
{
    if (self->now == NULL || self->loop == NULL || self->buckets == NULL || self->ticks == NULL ||
        self->unsorted == NULL || !PyDict_CheckExact(self->buckets) || !PyList_CheckExact(self->ticks) ||
        !PyAnySet_CheckExact(self->unsorted)) {
        PyErr_SetString(PyExc_TypeError, "TimerQueue: _now and _loop must be set, _buckets must be a dict, "
                                         "_ticks a list and _unsorted a set");
        return -1;
    }
    return 0;
}

/* int(when * 1000), refusing what is not a finite number as the Python twin does. */
static PyObject *
tick_of(PyObject *when)
{
    if (PyFloat_CheckExact(when)) {
        double scaled = PyFloat_AS_DOUBLE(when) * TICKS_PER_SECOND;
        if (isfinite(scaled))
            return PyLong_FromDouble(scaled);
    }
    else {
        PyObject *scaled = PyNumber_Multiply(when, thousand);
        PyObject *tick = scaled ? PyNumber_Long(scaled) : NULL;
        Py_XDECREF(scaled);
        if (tick != NULL || !(PyErr_ExceptionMatches(PyExc_OverflowError) || PyErr_ExceptionMatches(PyExc_ValueError)))
            return tick;
        PyErr_Clear();
    }
    PyErr_Format(PyExc_ValueError, "a timer's deadline must be a finite number, not %R", when);
    return NULL;
}

static int
arm(QueueObject *self, PyObject *when)
{
    PyObject *done = PyObject_CallMethodOneArg((PyObject *)self, s_arm, when);
    Py_XDECREF(done);
    return done == NULL ? -1 : 0;
}

static PyObject *
schedule(QueueObject *self, PyObject *when, PyObject *callback, PyObject *const *args, Py_ssize_t nargs)
{
    if (check_containers(self) < 0)
        return NULL;
    PyObject *tick = tick_of(when);
    if (tick == NULL)
        return NULL;
    PyObject *entry = PyList_New(4);
    PyObject *seq = PyLong_FromSsize_t(self->seq);
    PyObject *arguments = PyTuple_New(nargs);
    if (entry == NULL || seq == NULL || arguments == NULL) {
        Py_XDECREF(entry);
        Py_XDECREF(seq);
        Py_XDECREF(arguments);
        Py_DECREF(tick);
        return NULL;
    }
    for (Py_ssize_t i = 0; i < nargs; i++)
        PyTuple_SET_ITEM(arguments, i, Py_NewRef(args[i]));
    PyList_SET_ITEM(entry, WHEN, Py_NewRef(when));
    PyList_SET_ITEM(entry, 1, seq);
    PyList_SET_ITEM(entry, CB, Py_NewRef(callback));
    PyList_SET_ITEM(entry, ARGS, arguments);
    self->seq++;
    self->size++;

    int failed = 0;
    PyObject *bucket = PyDict_GetItemWithError(self->buckets, tick);  /* borrowed */
    if (bucket != NULL) {
        Py_INCREF(bucket);
        Py_ssize_t length = PyList_GET_SIZE(bucket);
        /* A bucket is removed once used up, so its last entry is still waiting. */
        int earlier = PyObject_RichCompareBool(when, PyList_GET_ITEM(PyList_GET_ITEM(bucket, length - 1), WHEN), Py_LT);
        failed = earlier < 0 || (earlier && PySet_Add(self->unsorted, tick) < 0) || PyList_Append(bucket, entry) < 0;
        Py_DECREF(bucket);
        /* Only the earliest bucket can need the driver sooner; the common case (a receipt later than
         * what is already queued) costs nothing more than the append. */
        if (!failed && self->loop != Py_None && PyList_GET_SIZE(self->ticks) > 0) {
            int is_first = PyObject_RichCompareBool(tick, PyList_GET_ITEM(self->ticks, 0), Py_EQ);
            failed = is_first < 0 || (is_first && arm(self, when) < 0);
        }
    }
    else if (PyErr_Occurred()) {
        failed = 1;
    }
    else {
        PyObject *fresh = PyList_New(2);
        if (fresh == NULL) {
            failed = 1;
        }
        else {
            PyList_SET_ITEM(fresh, 0, Py_NewRef(first_index));
            PyList_SET_ITEM(fresh, 1, Py_NewRef(entry));
            failed = PyDict_SetItem(self->buckets, tick, fresh) < 0;
            Py_DECREF(fresh);
        }
        int earliest = 1;
        if (!failed && PyList_GET_SIZE(self->ticks) > 0) {
            earliest = PyObject_RichCompareBool(tick, PyList_GET_ITEM(self->ticks, 0), Py_LT);
            failed = earliest < 0;
        }
        if (!failed) {
            PyObject *pushed = PyObject_CallFunctionObjArgs(heappush_func, self->ticks, tick, NULL);
            Py_XDECREF(pushed);
            failed = pushed == NULL || (earliest && self->loop != Py_None && arm(self, when) < 0);
        }
    }
    Py_DECREF(tick);
    PyObject *timer = failed ? NULL : new_timer(entry, (PyObject *)self);
    Py_DECREF(entry);
    return timer;
}

static PyObject *
Queue_call_at(QueueObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs < 2) {
        PyErr_SetString(PyExc_TypeError, "call_at(when, callback, *args)");
        return NULL;
    }
    return schedule(self, args[0], args[1], args + 2, nargs - 2);
}

static PyObject *
Queue_call_later(QueueObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs < 2) {
        PyErr_SetString(PyExc_TypeError, "call_later(delay, callback, *args)");
        return NULL;
    }
    if (check_containers(self) < 0)
        return NULL;
    PyObject *now = PyObject_CallNoArgs(self->now);
    if (now == NULL)
        return NULL;
    PyObject *when = PyNumber_Add(now, args[0]);
    Py_DECREF(now);
    if (when == NULL)
        return NULL;
    PyObject *timer = schedule(self, when, args[1], args + 2, nargs - 2);
    Py_DECREF(when);
    return timer;
}

/* Put the waiting part of a bucket an entry joined out of order back in (when, seq) order. */
static int
sort_bucket(QueueObject *self, PyObject *tick, PyObject *bucket)
{
    if (PySet_Discard(self->unsorted, tick) < 0)
        return -1;
    Py_ssize_t index = PyLong_AsSsize_t(PyList_GET_ITEM(bucket, 0));
    if (index == -1 && PyErr_Occurred())
        return -1;
    Py_ssize_t length = PyList_GET_SIZE(bucket);
    PyObject *waiting = PyList_GetSlice(bucket, index, length);
    if (waiting == NULL)
        return -1;
    int failed = PyList_Sort(waiting) < 0 || PyList_SetSlice(bucket, index, length, waiting) < 0;
    Py_DECREF(waiting);
    return failed ? -1 : 0;
}

/* The bucket of the earliest tick, sorted if it needs to be (new references), or 0 with none left. */
static int
earliest_bucket(QueueObject *self, PyObject **tick, PyObject **bucket)
{
    if (PyList_GET_SIZE(self->ticks) == 0)
        return 0;
    *tick = Py_NewRef(PyList_GET_ITEM(self->ticks, 0));
    *bucket = PyDict_GetItemWithError(self->buckets, *tick);
    if (*bucket == NULL) {
        if (!PyErr_Occurred())
            PyErr_SetObject(PyExc_KeyError, *tick);
        Py_CLEAR(*tick);
        return -1;
    }
    Py_INCREF(*bucket);
    int unsorted = PySet_Contains(self->unsorted, *tick);
    if (unsorted < 0 || (unsorted && sort_bucket(self, *tick, *bucket) < 0)) {
        Py_CLEAR(*tick);
        Py_CLEAR(*bucket);
        return -1;
    }
    return 1;
}

/* A bucket used up: gone from the dict and from the heap. */
static int
drop_bucket(QueueObject *self, PyObject *tick)
{
    if (PyDict_DelItem(self->buckets, tick) < 0)
        return -1;
    PyObject *popped = PyObject_CallOneArg(heappop_func, self->ticks);
    Py_XDECREF(popped);
    return popped == NULL ? -1 : 0;
}

static int
set_index(PyObject *bucket, Py_ssize_t index)
{
    PyObject *value = PyLong_FromSsize_t(index);
    return value == NULL ? -1 : PyList_SetItem(bucket, 0, value);
}

static PyObject *
Queue_next_deadline(QueueObject *self, PyObject *unused)
{
    /* Earliest live deadline, or None when nothing is scheduled. */
    if (check_containers(self) < 0)
        return NULL;
    PyObject *tick, *bucket;
    int found;
    while ((found = earliest_bucket(self, &tick, &bucket)) > 0) {
        Py_ssize_t index = PyLong_AsSsize_t(PyList_GET_ITEM(bucket, 0));
        Py_ssize_t size = PyList_GET_SIZE(bucket);
        /* Drop cancelled entries from the front so the answer is a live timer. */
        while (index >= 0 && index < size && PyList_GET_ITEM(PyList_GET_ITEM(bucket, index), CB) == Py_None) {
            index++;
            self->size--;
            self->cancelled--;
        }
        PyObject *result = NULL;
        int failed = index < 0 || set_index(bucket, index) < 0;
        if (!failed && index < size)
            result = Py_NewRef(PyList_GET_ITEM(PyList_GET_ITEM(bucket, index), WHEN));
        else if (!failed)
            failed = drop_bucket(self, tick) < 0;
        Py_DECREF(tick);
        Py_DECREF(bucket);
        if (failed || result != NULL)
            return result;
    }
    if (found < 0)
        return NULL;
    Py_RETURN_NONE;
}

/* Log a callback's exception the way the Python twin does, and carry on. */
static int
report_failure(PyObject *callback)
{
    PyObject *type, *value, *traceback;
    PyErr_Fetch(&type, &value, &traceback);
    PyErr_NormalizeException(&type, &value, &traceback);
    if (traceback != NULL && value != NULL)
        PyException_SetTraceback(value, traceback);
    PyObject *done = PyObject_CallFunctionObjArgs(report_failure_func, callback, value ? value : Py_None, NULL);
    Py_XDECREF(type);
    Py_XDECREF(value);
    Py_XDECREF(traceback);
    Py_XDECREF(done);
    return done == NULL ? -1 : 0;
}

static PyObject *
Queue_run_due(QueueObject *self, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"now", "limit", NULL};
    PyObject *now = Py_None, *limit_obj = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|O$O", keywords, &now, &limit_obj))
        return NULL;
    Py_ssize_t limit = -1;  /* no bound */
    if (limit_obj != Py_None) {
        limit = PyLong_AsSsize_t(limit_obj);
        if (limit == -1 && PyErr_Occurred())
            return NULL;
        if (limit < 0) {
            PyErr_SetString(PyExc_ValueError, "limit must be >= 0");
            return NULL;
        }
    }
    if (report_failure_func == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "simulator.core._speedups: configure() was not called");
        return NULL;
    }
    if (check_containers(self) < 0)
        return NULL;
    now = now == Py_None ? PyObject_CallNoArgs(self->now) : Py_NewRef(now);
    if (now == NULL)
        return NULL;
    Py_ssize_t count = 0;
    int failed = 0;
    PyObject *tick, *bucket;
    while (count != limit) {
        int found = earliest_bucket(self, &tick, &bucket);
        if (found <= 0) {
            failed = found < 0;
            break;
        }
        Py_ssize_t index = PyLong_AsSsize_t(PyList_GET_ITEM(bucket, 0));
        if (index < 0 || index >= PyList_GET_SIZE(bucket)) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_IndexError, "a timer bucket's next index is out of range");
            Py_DECREF(tick);
            Py_DECREF(bucket);
            failed = 1;
            break;
        }
        PyObject *entry = Py_NewRef(PyList_GET_ITEM(bucket, index));
        int later = PyObject_RichCompareBool(PyList_GET_ITEM(entry, WHEN), now, Py_GT);
        if (later != 0) {
            failed = later < 0;
            Py_DECREF(entry);
            Py_DECREF(tick);
            Py_DECREF(bucket);
            break;
        }
        index++;
        self->size--;
        failed = index == PyList_GET_SIZE(bucket) ? drop_bucket(self, tick) < 0 : set_index(bucket, index) < 0;
        Py_DECREF(tick);
        Py_DECREF(bucket);
        if (failed) {
            Py_DECREF(entry);
            break;
        }
        PyObject *callback = Py_NewRef(PyList_GET_ITEM(entry, CB));
        if (callback == Py_None) {
            self->cancelled--;
            Py_DECREF(callback);
            Py_DECREF(entry);
            continue;
        }
        PyObject *arguments = Py_NewRef(PyList_GET_ITEM(entry, ARGS));
        /* Mark as fired before calling, so a late cancel() from inside the callback (or after) is a
         * no-op and cannot skew the counter. */
        PyList_SetItem(entry, CB, Py_NewRef(Py_None));
        PyList_SetItem(entry, ARGS, Py_NewRef(empty_tuple));
        Py_DECREF(entry);
        count++;
        PyObject *result = NULL;
        PyObject *positional = PyTuple_Check(arguments) ? Py_NewRef(arguments) : PySequence_Tuple(arguments);
        Py_DECREF(arguments);
        if (positional != NULL) {
            result = PyObject_Call(callback, positional, NULL);
            Py_DECREF(positional);
        }
        if (result == NULL) {
            failed = !PyErr_ExceptionMatches(PyExc_Exception) || report_failure(callback) < 0;
        }
        Py_XDECREF(result);
        Py_DECREF(callback);
        if (failed)
            break;
    }
    Py_DECREF(now);
    return failed ? NULL : PyLong_FromSsize_t(count);
}

static PyMethodDef Queue_methods[] = {
    {"call_at", (PyCFunction)(void (*)(void))Queue_call_at, METH_FASTCALL,
     "Run callback(*args) once the monotonic clock reaches when."},
    {"call_later", (PyCFunction)(void (*)(void))Queue_call_later, METH_FASTCALL,
     "Run callback(*args) delay seconds from now."},
    {"next_deadline", (PyCFunction)Queue_next_deadline, METH_NOARGS,
     "Earliest live deadline, or None when nothing is scheduled."},
    {"run_due", (PyCFunction)(void (*)(void))Queue_run_due, METH_VARARGS | METH_KEYWORDS,
     "Run every timer due at now (default: clock.now()) in (when, seq) order; at most limit of them."},
    {NULL},
};

static PyMemberDef Queue_members[] = {
    {"_now", T_OBJECT_EX, offsetof(QueueObject, now), 0, NULL},
    {"_buckets", T_OBJECT_EX, offsetof(QueueObject, buckets), 0, NULL},
    {"_ticks", T_OBJECT_EX, offsetof(QueueObject, ticks), 0, NULL},
    {"_unsorted", T_OBJECT_EX, offsetof(QueueObject, unsorted), 0, NULL},
    {"_loop", T_OBJECT_EX, offsetof(QueueObject, loop), 0, NULL},
    {"_size", T_PYSSIZET, offsetof(QueueObject, size), 0, NULL},
    {"_seq", T_PYSSIZET, offsetof(QueueObject, seq), 0, NULL},
    {"_cancelled", T_PYSSIZET, offsetof(QueueObject, cancelled), 0, NULL},
    {NULL},
};

static PyTypeObject QueueType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "simulator.core._speedups.TimerQueue",
    .tp_doc = "Timers in millisecond buckets: scheduling, firing in exact (when, seq) order, the next deadline.",
    .tp_basicsize = sizeof(QueueObject),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_new = Queue_new,
    .tp_init = (initproc)Queue_init,
    .tp_dealloc = (destructor)Queue_dealloc,
    .tp_traverse = (traverseproc)Queue_traverse,
    .tp_clear = (inquiry)Queue_clear,
    .tp_methods = Queue_methods,
    .tp_members = Queue_members,
};

/* ---------------------------------------------------------------- set-up */

static PyObject *
configure(PyObject *module, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"report_failure", NULL};
    PyObject *report;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "$O", keywords, &report))
        return NULL;
    Py_XSETREF(report_failure_func, Py_NewRef(report));
    Py_RETURN_NONE;
}

static PyMethodDef module_methods[] = {
    {"configure", (PyCFunction)(void (*)(void))configure, METH_VARARGS | METH_KEYWORDS,
     "Hand over timers.report_failure, which logs a callback's exception."},
    {NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "simulator.core._speedups",
    "The timer queue's per-timer work, compiled (the twin of simulator/core/timers.py).", -1, module_methods,
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    PyObject *heapq = PyImport_ImportModule("heapq");
    if (heapq == NULL)
        return NULL;
    heappush_func = PyObject_GetAttrString(heapq, "heappush");
    heappop_func = PyObject_GetAttrString(heapq, "heappop");
    Py_DECREF(heapq);
    s_arm = PyUnicode_InternFromString("_arm");
    s_cancelled_one = PyUnicode_InternFromString("_cancelled_one");
    thousand = PyLong_FromLong(1000);
    empty_tuple = PyTuple_New(0);
    first_index = PyLong_FromLong(1);
    if (heappush_func == NULL || heappop_func == NULL || s_arm == NULL || s_cancelled_one == NULL ||
        thousand == NULL || empty_tuple == NULL || first_index == NULL)
        return NULL;
    if (PyType_Ready(&TimerType) < 0 || PyType_Ready(&QueueType) < 0)
        return NULL;
    PyObject *module = PyModule_Create(&module_def);
    if (module == NULL)
        return NULL;
    if (PyModule_AddObjectRef(module, "Timer", (PyObject *)&TimerType) < 0 ||
        PyModule_AddObjectRef(module, "TimerQueue", (PyObject *)&QueueType) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
