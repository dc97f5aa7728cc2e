/* tenant_pipeline.validation._fastrows: one C pass from a batch of lines to validated row tuples.
 *
 * The pure-Python validator (validation/compiler.py, sweeps.py) is the definition; this module
 * is an accelerator for the common case and answers with three things per batch:
 *
 *   rows      one tuple per line, values in schema column order, normalised exactly as the
 *             Python checks would (None where a value is missing or could not be vouched for);
 *   bad       (row, column, value) for every value this module cannot vouch for: the caller
 *             runs the Python check on those, which normalises them or names the reason;
 *   fallback  (JSON only) rows this parser does not handle (escapes it does not decode,
 *             nested values, unknown or repeated keys, anything that is not plain JSON): the
 *             caller decodes those with orjson and validates them in Python.
 *
 * `repeats` is the primary-key check of `KeyTracker` in one pass, `partition` its spilling.
 *
 * A check here accepts only values the Python check accepts and normalises the same way; it may
 * refuse more (those go to `bad`). For CSV a line it cannot split exactly as the csv module
 * would (a quote not opening a cell, a bare CR, a blank line, the wrong width) makes the whole
 * call return None and the caller takes the Python path for the batch.
 *
 * Built against the limited API (abi3) so one build serves every Python from 3.11 on.
 */
#define Py_LIMITED_API 0x030B0000
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

enum kind {
    K_UNVOUCHED = 0, /* every value goes to the Python check */
    K_CHARS = 1,     /* (lo, hi, allowed: bytes) one character class, ASCII */
    K_TEXT = 2,      /* (lo, hi) free text: no NUL, no edge whitespace */
    K_EMAIL = 3,     /* (lo, hi) lower-cased */
    K_DATETIME = 4,  /* (lo, hi) canonical UTC: YYYY-MM-DDThh:mm:ss[.mmm]Z */
    K_INT = 5,       /* (lo, hi) integer bounds, inclusive */
    K_MEMBERS = 6,   /* (members: frozenset) */
    K_DECIMAL = 7,   /* (int_digits, places, Decimal, lo, hi, xlo, xhi, step) */
};

#define MAX_COLUMNS 256
#define MAX_INT_DIGITS 18

typedef struct {
    int kind;
    int required;
    Py_ssize_t lo, hi; /* lengths in characters (hi < 0: none); K_INT: value bounds */
    long long ilo, ihi;
    unsigned char allowed[256];
    PyObject *members;                   /* borrowed */
    int int_digits, places;              /* K_DECIMAL syntax */
    PyObject *decimal, *dlo, *dhi, *dxlo, *dxhi, *step; /* borrowed; None when absent */
    Py_ssize_t slot;                     /* position in the output tuple */
} Check;

typedef struct {
    Py_ssize_t count;
    Py_ssize_t width; /* output tuple size */
    Check checks[MAX_COLUMNS];
} Plan;

/* ------------------------------------------------------------------------------------------- */
/* Plan parsing */

static int get_ssize(PyObject *tuple, Py_ssize_t i, Py_ssize_t *out) {
    PyObject *item = PyTuple_GetItem(tuple, i);
    if (item == NULL) return -1;
    *out = PyLong_AsSsize_t(item);
    return (*out == -1 && PyErr_Occurred()) ? -1 : 0;
}

static int parse_check(PyObject *spec, Check *c) {
    Py_ssize_t kind, required;
    memset(c, 0, sizeof(*c));
    if (!PyTuple_Check(spec) || PyTuple_Size(spec) < 2) {
        PyErr_SetString(PyExc_TypeError, "a column spec is a tuple (kind, required, ...)");
        return -1;
    }
    if (get_ssize(spec, 0, &kind) < 0 || get_ssize(spec, 1, &required) < 0) return -1;
    c->kind = (int)kind;
    c->required = required != 0;
    c->hi = -1;
    switch (c->kind) {
    case K_UNVOUCHED:
        return 0;
    case K_CHARS: {
        PyObject *allowed;
        char *chars;
        Py_ssize_t n;
        if (get_ssize(spec, 2, &c->lo) < 0 || get_ssize(spec, 3, &c->hi) < 0) return -1;
        allowed = PyTuple_GetItem(spec, 4);
        if (allowed == NULL || PyBytes_AsStringAndSize(allowed, &chars, &n) < 0) return -1;
        for (Py_ssize_t i = 0; i < n; i++) {
            if ((unsigned char)chars[i] < 128) c->allowed[(unsigned char)chars[i]] = 1;
        }
        return 0;
    }
    case K_TEXT:
    case K_EMAIL:
    case K_DATETIME:
        if (get_ssize(spec, 2, &c->lo) < 0 || get_ssize(spec, 3, &c->hi) < 0) return -1;
        return 0;
    case K_INT: {
        PyObject *lo = PyTuple_GetItem(spec, 2), *hi = PyTuple_GetItem(spec, 3);
        if (lo == NULL || hi == NULL) return -1;
        c->ilo = PyLong_AsLongLong(lo);
        c->ihi = PyLong_AsLongLong(hi);
        return PyErr_Occurred() ? -1 : 0;
    }
    case K_MEMBERS:
        c->members = PyTuple_GetItem(spec, 2);
        if (c->members == NULL) return -1;
        if (!PyAnySet_Check(c->members)) {
            PyErr_SetString(PyExc_TypeError, "members must be a frozenset");
            return -1;
        }
        return 0;
    case K_DECIMAL: {
        Py_ssize_t digits, places;
        if (PyTuple_Size(spec) != 10) {
            PyErr_SetString(PyExc_TypeError, "decimal spec: (7, required, int_digits, places, Decimal, "
                                             "lo, hi, xlo, xhi, step)");
            return -1;
        }
        if (get_ssize(spec, 2, &digits) < 0 || get_ssize(spec, 3, &places) < 0) return -1;
        c->int_digits = (int)digits;
        c->places = (int)places;
        c->decimal = PyTuple_GetItem(spec, 4);
        c->dlo = PyTuple_GetItem(spec, 5);
        c->dhi = PyTuple_GetItem(spec, 6);
        c->dxlo = PyTuple_GetItem(spec, 7);
        c->dxhi = PyTuple_GetItem(spec, 8);
        c->step = PyTuple_GetItem(spec, 9);
        return 0;
    }
    default:
        PyErr_Format(PyExc_ValueError, "unknown column kind %zd", kind);
        return -1;
    }
}

static int parse_plan(PyObject *specs, PyObject *slots, Py_ssize_t width, Plan *plan) {
    Py_ssize_t n;
    if (!PyTuple_Check(specs) || !PyTuple_Check(slots)) {
        PyErr_SetString(PyExc_TypeError, "specs and slots must be tuples");
        return -1;
    }
    n = PyTuple_Size(specs);
    if (n > MAX_COLUMNS || n != PyTuple_Size(slots) || width < 0 || width > MAX_COLUMNS) {
        PyErr_SetString(PyExc_ValueError, "too many columns, or specs and slots differ in length");
        return -1;
    }
    plan->count = n;
    plan->width = width;
    for (Py_ssize_t j = 0; j < n; j++) {
        if (parse_check(PyTuple_GetItem(specs, j), &plan->checks[j]) < 0) return -1;
        if (get_ssize(slots, j, &plan->checks[j].slot) < 0) return -1;
        if (plan->checks[j].slot < 0 || plan->checks[j].slot >= width) {
            PyErr_SetString(PyExc_ValueError, "slot out of range");
            return -1;
        }
    }
    return 0;
}

/* ------------------------------------------------------------------------------------------- */
/* Value checks over UTF-8 text. Each returns a new reference (the normalised value), or NULL
 * with no exception set when it cannot vouch for the value, or NULL with an exception. */

static Py_ssize_t utf8_chars(const unsigned char *s, Py_ssize_t n) {
    Py_ssize_t count = 0;
    for (Py_ssize_t i = 0; i < n; i++) count += (s[i] & 0xC0) != 0x80;
    return count;
}

static int in_lengths(const Check *c, Py_ssize_t chars) {
    return chars >= c->lo && (c->hi < 0 || chars <= c->hi);
}

static PyObject *as_str(const unsigned char *s, Py_ssize_t n) {
    PyObject *out = PyUnicode_DecodeUTF8((const char *)s, n, NULL);
    if (out == NULL && PyErr_ExceptionMatches(PyExc_UnicodeDecodeError)) PyErr_Clear();
    return out;
}

static PyObject *check_chars(const Check *c, const unsigned char *s, Py_ssize_t n) {
    Py_ssize_t lo = c->lo > 1 ? c->lo : 1;
    if (n < lo || (c->hi >= 0 && n > c->hi)) return NULL;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (!c->allowed[s[i]]) return NULL;
    }
    return as_str(s, n);
}

static PyObject *check_text(const Check *c, const unsigned char *s, Py_ssize_t n) {
    Py_ssize_t chars, lo = c->lo > 1 ? c->lo : 1;
    /* Edges must be printable ASCII: anything else may be whitespace str.strip() removes. */
    if (s[0] < 0x21 || s[0] > 0x7e || s[n - 1] < 0x21 || s[n - 1] > 0x7e) return NULL;
    if (memchr(s, 0, (size_t)n) != NULL) return NULL;
    chars = utf8_chars(s, n);
    if (chars < lo || (c->hi >= 0 && chars > c->hi)) return NULL;
    return as_str(s, n);
}

static int email_char(unsigned char ch) { return ch >= 0x21 && ch <= 0x7e && ch != '@'; }

static PyObject *check_email(const Check *c, const unsigned char *s, Py_ssize_t n) {
    Py_ssize_t at = -1, i, labels = 0, label_len = 0;
    char stack[256];
    char *low;
    PyObject *out;
    if (!in_lengths(c, n)) return NULL;
    for (i = 0; i < n; i++) {
        if (s[i] == '@') { at = i; break; }
        if (!email_char(s[i])) return NULL;
    }
    if (at < 1) return NULL;
    for (i = at + 1; i < n; i++) {
        if (s[i] == '.') {
            if (label_len == 0) return NULL;
            labels++;
            label_len = 0;
        } else if (email_char(s[i])) {
            label_len++;
        } else {
            return NULL;
        }
    }
    if (label_len == 0 || labels < 1) return NULL;
    low = n <= (Py_ssize_t)sizeof(stack) ? stack : PyMem_Malloc((size_t)n);
    if (low == NULL) return PyErr_NoMemory();
    for (i = 0; i < n; i++) low[i] = (char)((s[i] >= 'A' && s[i] <= 'Z') ? s[i] + 32 : s[i]);
    out = PyUnicode_FromStringAndSize(low, n);
    if (low != stack) PyMem_Free(low);
    return out;
}

static int digits(const unsigned char *s, int count, int *value) {
    int v = 0;
    for (int i = 0; i < count; i++) {
        if (s[i] < '0' || s[i] > '9') return 0;
        v = v * 10 + (s[i] - '0');
    }
    *value = v;
    return 1;
}

static PyObject *check_datetime(const Check *c, const unsigned char *s, Py_ssize_t n) {
    static const int month_days[] = {0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int year, month, day, hour, minute, second, frac, leap, max_day;
    if (!in_lengths(c, n) || (n != 20 && n != 24)) return NULL;
    if (!digits(s, 4, &year) || s[4] != '-' || !digits(s + 5, 2, &month) || s[7] != '-' ||
        !digits(s + 8, 2, &day) || s[10] != 'T' || !digits(s + 11, 2, &hour) || s[13] != ':' ||
        !digits(s + 14, 2, &minute) || s[16] != ':' || !digits(s + 17, 2, &second))
        return NULL;
    if (n == 24) {
        if (s[19] != '.' || !digits(s + 20, 3, &frac) || frac == 0 || s[23] != 'Z') return NULL;
    } else if (s[19] != 'Z') {
        return NULL;
    }
    if (year == 0 || month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59)
        return NULL;
    leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    max_day = month == 2 && leap ? 29 : month_days[month];
    if (day > max_day) return NULL;
    return as_str(s, n);
}

static int parse_int(const unsigned char *s, Py_ssize_t n, long long *out) {
    Py_ssize_t i = 0;
    long long v = 0;
    int negative = 0;
    if (n > 0 && s[0] == '-') { negative = 1; i = 1; }
    if (i >= n || n - i > MAX_INT_DIGITS) return 0;
    if (s[i] == '0' && (n - i > 1 || negative)) return 0; /* "0" only; no "-0", no leading zeros */
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return 0;
        v = v * 10 + (s[i] - '0');
    }
    *out = negative ? -v : v;
    return 1;
}

static PyObject *int_in_range(const Check *c, long long v) {
    if (v < c->ilo || v > c->ihi) return NULL;
    return PyLong_FromLongLong(v);
}

static PyObject *check_int(const Check *c, const unsigned char *s, Py_ssize_t n) {
    long long v;
    if (!parse_int(s, n, &v)) return NULL;
    return int_in_range(c, v);
}

static PyObject *check_members(const Check *c, const unsigned char *s, Py_ssize_t n) {
    PyObject *value = as_str(s, n);
    int found;
    if (value == NULL) return NULL;
    found = PySet_Contains(c->members, value);
    if (found == 1) return value;
    Py_DECREF(value);
    return NULL; /* (an error from PySet_Contains propagates) */
}

/* Decimal(text), then the bounds and quantize of `_decimal_rules`; NULL when out of bounds. */
static PyObject *finish_decimal(const Check *c, PyObject *text) {
    PyObject *d = PyObject_CallFunctionObjArgs(c->decimal, text, NULL), *q;
    const int ops[4] = {Py_LT, Py_GT, Py_LE, Py_GE};
    PyObject *limits[4] = {c->dlo, c->dhi, c->dxlo, c->dxhi};
    if (d == NULL) return NULL;
    for (int k = 0; k < 4; k++) {
        int outside;
        if (limits[k] == Py_None) continue;
        outside = PyObject_RichCompareBool(d, limits[k], ops[k]);
        if (outside != 0) {
            Py_DECREF(d);
            return NULL; /* out of range (or an error, which propagates) */
        }
    }
    if (c->step == Py_None) return d;
    q = PyObject_CallMethod(d, "quantize", "O", c->step);
    Py_DECREF(d);
    return q;
}

static PyObject *check_decimal(const Check *c, const unsigned char *s, Py_ssize_t n) {
    Py_ssize_t i = 0, start;
    PyObject *text, *out;
    if (n > 0 && s[0] == '-') i = 1;
    start = i;
    while (i < n && s[i] >= '0' && s[i] <= '9') i++;
    if (i == start || i - start > c->int_digits) return NULL;
    if (i < n) {
        Py_ssize_t frac;
        if (s[i] != '.' || c->places == 0) return NULL;
        start = ++i;
        while (i < n && s[i] >= '0' && s[i] <= '9') i++;
        frac = i - start;
        if (i != n || frac < 1 || frac > c->places) return NULL;
    }
    text = PyUnicode_FromStringAndSize((const char *)s, n);
    if (text == NULL) return NULL;
    out = finish_decimal(c, text);
    Py_DECREF(text);
    return out;
}

static PyObject *check_value(const Check *c, const unsigned char *s, Py_ssize_t n) {
    switch (c->kind) {
    case K_CHARS: return check_chars(c, s, n);
    case K_TEXT: return check_text(c, s, n);
    case K_EMAIL: return check_email(c, s, n);
    case K_DATETIME: return check_datetime(c, s, n);
    case K_INT: return check_int(c, s, n);
    case K_MEMBERS: return check_members(c, s, n);
    case K_DECIMAL: return check_decimal(c, s, n);
    default: return NULL;
    }
}

/* ------------------------------------------------------------------------------------------- */
/* Batch state shared by both formats */

typedef struct {
    PyObject *rows;     /* list of tuples */
    PyObject *bad;      /* list of (row, column, value) */
    PyObject *fallback; /* list of row indexes (JSON) */
} Out;

static int out_init(Out *out, Py_ssize_t rows) {
    out->rows = PyList_New(rows);
    out->bad = PyList_New(0);
    out->fallback = PyList_New(0);
    if (out->rows == NULL || out->bad == NULL || out->fallback == NULL) {
        Py_XDECREF(out->rows);
        Py_XDECREF(out->bad);
        Py_XDECREF(out->fallback);
        return -1;
    }
    return 0;
}

static void out_clear(Out *out) {
    Py_DECREF(out->rows);
    Py_DECREF(out->bad);
    Py_DECREF(out->fallback);
}

static PyObject *new_row(Py_ssize_t width) {
    PyObject *row = PyTuple_New(width);
    if (row == NULL) return NULL;
    for (Py_ssize_t k = 0; k < width; k++) {
        Py_INCREF(Py_None);
        PyTuple_SetItem(row, k, Py_None);
    }
    return row;
}

static int set_slot(PyObject *row, Py_ssize_t slot, PyObject *value) {
    /* PyTuple_SetItem steals `value` and releases the None already there. */
    return PyTuple_SetItem(row, slot, value);
}

static int add_bad(Out *out, Py_ssize_t row, Py_ssize_t column, PyObject *value) {
    PyObject *entry = Py_BuildValue("(nnO)", row, column, value);
    int status;
    if (entry == NULL) return -1;
    status = PyList_Append(out->bad, entry);
    Py_DECREF(entry);
    return status;
}

/* A text value of column j: into its slot, or onto the bad list. */
static int place_text(Out *out, const Plan *plan, PyObject *row, Py_ssize_t i, Py_ssize_t j,
                      const unsigned char *s, Py_ssize_t n) {
    const Check *c = &plan->checks[j];
    PyObject *value, *raw;
    int status;
    if (n == 0 && !c->required) return 0; /* missing: the slot keeps None */
    value = n == 0 ? NULL : check_value(c, s, n);
    if (value != NULL) return set_slot(row, c->slot, value);
    if (PyErr_Occurred()) return -1;
    raw = PyUnicode_DecodeUTF8((const char *)s, n, NULL);
    if (raw == NULL) return -1;
    status = add_bad(out, i, j, raw);
    Py_DECREF(raw);
    return status;
}

/* ------------------------------------------------------------------------------------------- */
/* CSV: lines without records spanning lines; cells split as the csv module does. */

/* Splits one line into cell ranges; quoted cells are unescaped into `scratch`. Returns the number
 * of cells, or -1 when the line is not one the csv module would read the same simple way. */
static Py_ssize_t split_line(const unsigned char *s, Py_ssize_t n, Py_ssize_t width,
                             const unsigned char **starts, Py_ssize_t *lengths,
                             unsigned char *scratch) {
    Py_ssize_t cells = 0, i = 0, used = 0;
    if (n > 0 && s[n - 1] == '\n') n--;
    if (n > 0 && s[n - 1] == '\r') n--;
    if (n == 0 || memchr(s, '\r', (size_t)n) != NULL || memchr(s, '\n', (size_t)n) != NULL) return -1;
    for (;;) {
        if (cells == width) return -1;
        if (i < n && s[i] == '"') {
            unsigned char *dst = scratch + used;
            Py_ssize_t len = 0;
            i++;
            for (;;) {
                if (i >= n) return -1; /* unbalanced: a record spanning lines */
                if (s[i] == '"') {
                    if (i + 1 < n && s[i + 1] == '"') { dst[len++] = '"'; i += 2; continue; }
                    i++;
                    break;
                }
                dst[len++] = s[i++];
            }
            if (i < n && s[i] != ',') return -1; /* text after the closing quote */
            starts[cells] = dst;
            lengths[cells] = len;
            used += len;
        } else {
            Py_ssize_t start = i;
            while (i < n && s[i] != ',') {
                if (s[i] == '"') return -1;
                i++;
            }
            starts[cells] = s + start;
            lengths[cells] = i - start;
        }
        cells++;
        if (i >= n) return cells;
        i++; /* the comma */
        if (i == n) { /* a trailing comma: one more, empty cell */
            if (cells == width) return -1;
            starts[cells] = s + n;
            lengths[cells++] = 0;
            return cells;
        }
    }
}

static PyObject *text_rows(PyObject *module, PyObject *args) {
    PyObject *lines, *specs, *slots;
    Py_ssize_t width, count;
    Plan *plan;
    Out out;
    const unsigned char *starts[MAX_COLUMNS];
    Py_ssize_t lengths[MAX_COLUMNS];
    unsigned char *scratch = NULL;
    Py_ssize_t scratch_size = 0;
    (void)module;
    if (!PyArg_ParseTuple(args, "O!O!O!n", &PyList_Type, &lines, &PyTuple_Type, &specs, &PyTuple_Type,
                          &slots, &width))
        return NULL;
    plan = PyMem_Malloc(sizeof(Plan));
    if (plan == NULL) return PyErr_NoMemory();
    if (parse_plan(specs, slots, width, plan) < 0) goto fail_plan;
    count = PyList_Size(lines);
    if (out_init(&out, count) < 0) goto fail_plan;
    for (Py_ssize_t i = 0; i < count; i++) {
        Py_ssize_t n, cells;
        const char *text = PyUnicode_AsUTF8AndSize(PyList_GetItem(lines, i), &n);
        PyObject *row;
        if (text == NULL) {
            if (!PyErr_ExceptionMatches(PyExc_UnicodeEncodeError)) goto fail;
            PyErr_Clear(); /* lone surrogates: the Python path reports them */
            goto not_simple;
        }
        if (n > scratch_size) {
            PyMem_Free(scratch);
            scratch_size = n * 2;
            scratch = PyMem_Malloc((size_t)scratch_size);
            if (scratch == NULL) { PyErr_NoMemory(); goto fail; }
        }
        cells = split_line((const unsigned char *)text, n, plan->count, starts, lengths, scratch);
        if (cells != plan->count) goto not_simple;
        row = new_row(plan->width);
        if (row == NULL) goto fail;
        PyList_SetItem(out.rows, i, row);
        for (Py_ssize_t j = 0; j < cells; j++) {
            if (place_text(&out, plan, row, i, j, starts[j], lengths[j]) < 0) goto fail;
        }
    }
    PyMem_Free(scratch);
    PyMem_Free(plan);
    Py_DECREF(out.fallback);
    return Py_BuildValue("(NN)", out.rows, out.bad);
not_simple:
    PyMem_Free(scratch);
    PyMem_Free(plan);
    out_clear(&out);
    Py_RETURN_NONE;
fail:
    PyMem_Free(scratch);
    out_clear(&out);
fail_plan:
    PyMem_Free(plan);
    return NULL;
}

/* ------------------------------------------------------------------------------------------- */
/* JSON Lines: flat objects parsed straight into rows; anything unusual is left to orjson. */

typedef struct {
    const unsigned char *s;
    Py_ssize_t n, i;
    unsigned char *scratch;
} Cursor;

enum parsed { P_ERROR = -1, P_FALLBACK = 0, P_OK = 1 };

static void skip_ws(Cursor *c) {
    while (c->i < c->n && (c->s[c->i] == ' ' || c->s[c->i] == '\t' || c->s[c->i] == '\r' ||
                           c->s[c->i] == '\n'))
        c->i++;
}

/* A string at c->i (after its opening quote): the raw or unescaped bytes. Escapes other than the
 * two-character ones (\uXXXX) and raw control characters are left to orjson. */
static int parse_string(Cursor *c, const unsigned char **start, Py_ssize_t *len) {
    Py_ssize_t begin = c->i, used = 0;
    int escaped = 0;
    while (c->i < c->n) {
        unsigned char ch = c->s[c->i];
        if (!escaped) { /* the common case: a run of plain characters */
            Py_ssize_t k = c->i;
            while (k < c->n && c->s[k] >= 0x20 && c->s[k] != '"' && c->s[k] != '\\') k++;
            c->i = k;
            if (k >= c->n) break;
            ch = c->s[k];
        }
        if (ch == '"') {
            if (!escaped) { *start = c->s + begin; *len = c->i - begin; }
            else { *start = c->scratch; *len = used; }
            c->i++;
            return P_OK;
        }
        if (ch < 0x20) return P_FALLBACK;
        if (ch == '\\') {
            unsigned char e, decoded;
            if (!escaped) {
                memcpy(c->scratch, c->s + begin, (size_t)(c->i - begin));
                used = c->i - begin;
                escaped = 1;
            }
            if (c->i + 1 >= c->n) return P_FALLBACK;
            e = c->s[c->i + 1];
            switch (e) {
            case '"': decoded = '"'; break;
            case '\\': decoded = '\\'; break;
            case '/': decoded = '/'; break;
            case 'b': decoded = '\b'; break;
            case 'f': decoded = '\f'; break;
            case 'n': decoded = '\n'; break;
            case 'r': decoded = '\r'; break;
            case 't': decoded = '\t'; break;
            default: return P_FALLBACK;
            }
            c->scratch[used++] = decoded;
            c->i += 2;
            continue;
        }
        if (escaped) c->scratch[used++] = ch;
        c->i++;
    }
    return P_FALLBACK;
}

/* A JSON number token: an integer (as an int) or a float (PyFloat). */
static int parse_number(Cursor *c, PyObject **value, const unsigned char **tok, Py_ssize_t *tok_len,
                        int *is_int, long long *int_value) {
    Py_ssize_t start = c->i, int_start;
    const unsigned char *s = c->s;
    if (c->i < c->n && s[c->i] == '-') c->i++;
    int_start = c->i;
    if (c->i >= c->n || s[c->i] < '0' || s[c->i] > '9') return P_FALLBACK;
    if (s[c->i] == '0') c->i++;
    else while (c->i < c->n && s[c->i] >= '0' && s[c->i] <= '9') c->i++;
    *is_int = 1;
    if (c->i < c->n && s[c->i] == '.') {
        Py_ssize_t f = ++c->i;
        while (c->i < c->n && s[c->i] >= '0' && s[c->i] <= '9') c->i++;
        if (c->i == f) return P_FALLBACK;
        *is_int = 0;
    }
    if (c->i < c->n && (s[c->i] == 'e' || s[c->i] == 'E')) {
        Py_ssize_t e;
        c->i++;
        if (c->i < c->n && (s[c->i] == '+' || s[c->i] == '-')) c->i++;
        e = c->i;
        while (c->i < c->n && s[c->i] >= '0' && s[c->i] <= '9') c->i++;
        if (c->i == e) return P_FALLBACK;
        *is_int = 0;
    }
    *tok = s + start;
    *tok_len = c->i - start;
    if (*is_int) {
        long long v = 0;
        if (c->i - int_start > MAX_INT_DIGITS) return P_FALLBACK;
        for (Py_ssize_t k = int_start; k < c->i; k++) v = v * 10 + (s[k] - '0');
        *int_value = s[start] == '-' ? -v : v;
        *value = PyLong_FromLongLong(*int_value);
    } else {
        PyObject *text = PyUnicode_FromStringAndSize((const char *)*tok, *tok_len);
        if (text == NULL) return P_ERROR;
        *value = PyFloat_FromString(text);
        Py_DECREF(text);
    }
    return *value == NULL ? P_ERROR : P_OK;
}

static int match(Cursor *c, const char *word, Py_ssize_t len) {
    if (c->n - c->i < len || memcmp(c->s + c->i, word, (size_t)len) != 0) return 0;
    c->i += len;
    return 1;
}

/* One JSON value for column j of row i. */
static int place_json(Out *out, const Plan *plan, PyObject *row, Py_ssize_t i, Py_ssize_t j, Cursor *c) {
    const Check *chk = &plan->checks[j];
    unsigned char ch;
    PyObject *value = NULL, *raw = NULL;
    int status;
    if (c->i >= c->n) return P_FALLBACK;
    ch = c->s[c->i];
    if (ch == '"') {
        const unsigned char *start;
        Py_ssize_t len;
        c->i++;
        status = parse_string(c, &start, &len);
        if (status != P_OK) return status;
        /* "" is a missing string but a wrong type for a number: the Python check decides. JSON
         * strings are never numbers. */
        if (len > 0 && chk->kind != K_INT && chk->kind != K_DECIMAL) {
            value = check_value(chk, start, len);
            if (value == NULL && PyErr_Occurred()) return P_ERROR;
        }
        if (value == NULL) {
            raw = PyUnicode_DecodeUTF8((const char *)start, len, NULL);
            if (raw == NULL) {
                if (!PyErr_ExceptionMatches(PyExc_UnicodeDecodeError)) return P_ERROR;
                PyErr_Clear();
                return P_FALLBACK; /* orjson names the encoding problem */
            }
        }
    } else if (ch == 'n') {
        if (!match(c, "null", 4)) return P_FALLBACK;
        if (!chk->required) return P_OK;
        raw = Py_None;
        Py_INCREF(raw);
    } else if (ch == 't' || ch == 'f') {
        if (!match(c, ch == 't' ? "true" : "false", ch == 't' ? 4 : 5)) return P_FALLBACK;
        raw = ch == 't' ? Py_True : Py_False;
        Py_INCREF(raw);
    } else if (ch == '-' || (ch >= '0' && ch <= '9')) {
        const unsigned char *tok;
        Py_ssize_t tok_len;
        int is_int;
        long long v = 0;
        status = parse_number(c, &raw, &tok, &tok_len, &is_int, &v);
        if (status != P_OK) return status;
        if (is_int && chk->kind == K_INT) {
            value = int_in_range(chk, v);
        } else if (is_int && chk->kind == K_DECIMAL) {
            value = finish_decimal(chk, raw); /* Decimal(int), as the Python check does */
        }
        if (value != NULL) { Py_DECREF(raw); raw = NULL; }
        else if (PyErr_Occurred()) { Py_DECREF(raw); return P_ERROR; }
    } else {
        return P_FALLBACK; /* objects, arrays, or not JSON */
    }
    if (value != NULL) return set_slot(row, chk->slot, value) < 0 ? P_ERROR : P_OK;
    status = add_bad(out, i, j, raw);
    Py_DECREF(raw);
    return status < 0 ? P_ERROR : P_OK;
}

typedef struct {
    const char *name[MAX_COLUMNS];
    Py_ssize_t len[MAX_COLUMNS];
    Py_ssize_t count, next; /* `next`: where the previous key's successor usually is */
} Names;

static int load_names(PyObject *names, Names *out) {
    out->count = PyTuple_Size(names);
    out->next = 0;
    for (Py_ssize_t j = 0; j < out->count; j++) {
        char *name;
        if (PyBytes_AsStringAndSize(PyTuple_GetItem(names, j), &name, &out->len[j]) < 0) return -1;
        out->name[j] = name;
    }
    return 0;
}

/* The column a key names, or -1. Rows usually list keys in one order: try the expected one first. */
static Py_ssize_t find_name(Names *names, const unsigned char *key, Py_ssize_t len) {
    Py_ssize_t j = names->next;
    for (Py_ssize_t k = 0; k < names->count; k++, j++) {
        if (j >= names->count) j = 0;
        if (names->len[j] == len && memcmp(names->name[j], key, (size_t)len) == 0) {
            names->next = j + 1;
            return j;
        }
    }
    return -1;
}

static int parse_object(Out *out, const Plan *plan, Names *names, PyObject *row, Py_ssize_t i, Cursor *c) {
    unsigned char seen[MAX_COLUMNS] = {0};
    skip_ws(c);
    if (c->i >= c->n || c->s[c->i] != '{') return P_FALLBACK;
    c->i++;
    skip_ws(c);
    if (c->i < c->n && c->s[c->i] == '}') {
        c->i++;
    } else {
        for (;;) {
            const unsigned char *key;
            Py_ssize_t key_len, j;
            int status;
            if (c->i >= c->n || c->s[c->i] != '"') return P_FALLBACK;
            c->i++;
            status = parse_string(c, &key, &key_len);
            if (status != P_OK) return status;
            j = find_name(names, key, key_len);
            if (j < 0 || seen[j]) return P_FALLBACK; /* unknown or repeated: orjson and Python say */
            seen[j] = 1;
            skip_ws(c);
            if (c->i >= c->n || c->s[c->i] != ':') return P_FALLBACK;
            c->i++;
            skip_ws(c);
            status = place_json(out, plan, row, i, j, c);
            if (status != P_OK) return status;
            skip_ws(c);
            if (c->i < c->n && c->s[c->i] == ',') { c->i++; skip_ws(c); continue; }
            if (c->i < c->n && c->s[c->i] == '}') { c->i++; break; }
            return P_FALLBACK;
        }
    }
    skip_ws(c);
    if (c->i != c->n) return P_FALLBACK;
    /* Required columns absent from the object. */
    for (Py_ssize_t j = 0; j < plan->count; j++) {
        if (!seen[j] && plan->checks[j].required) {
            if (add_bad(out, i, j, Py_None) < 0) return P_ERROR;
        }
    }
    return P_OK;
}

static PyObject *json_rows(PyObject *module, PyObject *args) {
    PyObject *lines, *specs, *slots, *names;
    Py_ssize_t width, count, bad_mark;
    Plan *plan;
    Out out;
    Cursor cursor = {NULL, 0, 0, NULL};
    Names known;
    Py_ssize_t scratch_size = 0;
    (void)module;
    if (!PyArg_ParseTuple(args, "O!O!O!O!n", &PyList_Type, &lines, &PyTuple_Type, &specs, &PyTuple_Type,
                          &slots, &PyTuple_Type, &names, &width))
        return NULL;
    plan = PyMem_Malloc(sizeof(Plan));
    if (plan == NULL) return PyErr_NoMemory();
    if (parse_plan(specs, slots, width, plan) < 0) goto fail_plan;
    if (PyTuple_Size(names) != plan->count) {
        PyErr_SetString(PyExc_ValueError, "names and specs differ in length");
        goto fail_plan;
    }
    if (load_names(names, &known) < 0) goto fail_plan;
    count = PyList_Size(lines);
    if (out_init(&out, count) < 0) goto fail_plan;
    for (Py_ssize_t i = 0; i < count; i++) {
        char *text;
        Py_ssize_t n;
        PyObject *row;
        int status;
        if (PyBytes_AsStringAndSize(PyList_GetItem(lines, i), &text, &n) < 0) goto fail;
        if (n > scratch_size) {
            PyMem_Free(cursor.scratch);
            scratch_size = n * 2;
            cursor.scratch = PyMem_Malloc((size_t)scratch_size);
            if (cursor.scratch == NULL) { PyErr_NoMemory(); goto fail; }
        }
        cursor.s = (const unsigned char *)text;
        cursor.n = n;
        cursor.i = 0;
        row = new_row(plan->width);
        if (row == NULL) goto fail;
        PyList_SetItem(out.rows, i, row);
        bad_mark = PyList_Size(out.bad);
        status = n == 0 ? P_FALLBACK : parse_object(&out, plan, &known, row, i, &cursor);
        if (status == P_ERROR) goto fail;
        if (status == P_FALLBACK) {
            PyObject *index = PyLong_FromSsize_t(i);
            if (index == NULL) goto fail;
            status = PyList_Append(out.fallback, index);
            Py_DECREF(index);
            if (status < 0) goto fail;
            /* Forget what this row already put on the bad list: Python validates it whole. */
            if (PyList_SetSlice(out.bad, bad_mark, PyList_Size(out.bad), NULL) < 0) goto fail;
        }
    }
    PyMem_Free(cursor.scratch);
    PyMem_Free(plan);
    return Py_BuildValue("(NNN)", out.rows, out.bad, out.fallback);
fail:
    PyMem_Free(cursor.scratch);
    out_clear(&out);
fail_plan:
    PyMem_Free(plan);
    return NULL;
}

/* ------------------------------------------------------------------------------------------- */
/* Primary keys: the repeats among `keys` (visited in order), adding the others to `seen`. */

static PyObject *repeats(PyObject *module, PyObject *args) {
    PyObject *keys, *seen, *found;
    Py_ssize_t count;
    (void)module;
    if (!PyArg_ParseTuple(args, "O!O!", &PyList_Type, &keys, &PySet_Type, &seen)) return NULL;
    found = PyList_New(0);
    if (found == NULL) return NULL;
    count = PyList_Size(keys);
    for (Py_ssize_t i = 0; i < count; i++) {
        Py_ssize_t before = PySet_Size(seen);
        /* One lookup: the set does not grow when it already holds the key. */
        if (PySet_Add(seen, PyList_GetItem(keys, i)) < 0) goto fail;
        if (PySet_Size(seen) == before) {
            PyObject *index = PyLong_FromSsize_t(i);
            int status;
            if (index == NULL) goto fail;
            status = PyList_Append(found, index);
            Py_DECREF(index);
            if (status < 0) goto fail;
        }
    }
    return found;
fail:
    Py_DECREF(found);
    return NULL;
}

/* The keys of a batch past the tracker's memory cap, into hash partitions: {hash(key) & mask: [(line, key)]}. */
static PyObject *partition(PyObject *module, PyObject *args) {
    PyObject *lines, *keys, *buckets;
    Py_ssize_t mask, count;
    (void)module;
    if (!PyArg_ParseTuple(args, "O!O!n", &PyList_Type, &lines, &PyList_Type, &keys, &mask)) return NULL;
    count = PyList_Size(keys);
    if (PyList_Size(lines) != count || mask < 0) {
        PyErr_SetString(PyExc_ValueError, "lines and keys differ in length, or the mask is negative");
        return NULL;
    }
    buckets = PyDict_New();
    if (buckets == NULL) return NULL;
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *key = PyList_GetItem(keys, i), *index, *bucket, *pair;
        Py_hash_t hash = PyObject_Hash(key);
        int status;
        if (hash == -1 && PyErr_Occurred()) goto fail;
        index = PyLong_FromSsize_t((Py_ssize_t)(hash & (Py_hash_t)mask));
        if (index == NULL) goto fail;
        bucket = PyDict_GetItemWithError(buckets, index);
        if (bucket == NULL) {
            if (PyErr_Occurred() || (bucket = PyList_New(0)) == NULL) { Py_DECREF(index); goto fail; }
            status = PyDict_SetItem(buckets, index, bucket);
            Py_DECREF(bucket); /* the dict holds it */
            if (status < 0) { Py_DECREF(index); goto fail; }
        }
        Py_DECREF(index);
        pair = PyTuple_Pack(2, PyList_GetItem(lines, i), key);
        if (pair == NULL) goto fail;
        status = PyList_Append(bucket, pair);
        Py_DECREF(pair);
        if (status < 0) goto fail;
    }
    return buckets;
fail:
    Py_DECREF(buckets);
    return NULL;
}

static PyMethodDef methods[] = {
    {"partition", partition, METH_VARARGS,
     "partition(lines, keys, mask) -> {hash(key) & mask: [(line, key), ...]}, in the given order."},
    {"repeats", repeats, METH_VARARGS,
     "repeats(keys, seen) -> positions of the keys already in `seen` (or earlier in `keys`); adds the rest."},
    {"text_rows", text_rows, METH_VARARGS,
     "text_rows(lines, specs, slots, width) -> (rows, bad) or None: CSV lines to row tuples."},
    {"json_rows", json_rows, METH_VARARGS,
     "json_rows(lines, specs, slots, names, width) -> (rows, bad, fallback): JSON Lines to row tuples."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "_fastrows", "Batch validation kernels (see fastrows.c).", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__fastrows(void) { return PyModule_Create(&module_def); }
