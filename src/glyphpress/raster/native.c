/* Native pixel loops for the raster: the few per-pixel passes NumPy cannot do in one go.
 *
 * Built by setup.py as an optional extension (portable flags only: no -march, so one build runs on any
 * x86-64 or ARM machine); glyphpress.raster.draw falls back to NumPy, pixel for pixel the same, where it
 * is missing. Buffers come through the buffer protocol: no NumPy headers are needed to build it.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* lookup(out, cov, own, table, width, height, stride)
 *
 * Each pixel of a page through a table indexed by (colour << 8 | coverage): out[y * width + x] =
 * table[own[y * stride + x] << 8 | cov[y * stride + x]] for the first ``height`` rows and ``width``
 * columns of the page (``stride`` bytes a row). ``own`` may be None (colour 0 everywhere); an index
 * past the table takes its last item. The table's and out's items are 1 byte (grey) or 4 bytes (RGBX, as
 * Pillow keeps RGB): the item size is out's length over width * height.
 */
#define LOOKUP_ROWS(T)                                                                                   \
    do {                                                                                                 \
        T *dst = out.buf;                                                                                \
        const T *t = table.buf;                                                                          \
        for (Py_ssize_t y = 0; y < height; y++) {                                                        \
            const uint8_t *cr = c + y * stride, *or_ = o ? o + y * stride : NULL;                        \
            T *dr = dst + y * width;                                                                     \
            for (Py_ssize_t x = 0; x < width; x++) {                                                     \
                Py_ssize_t k = (or_ ? (Py_ssize_t)or_[x] << 8 : 0) | cr[x];                              \
                dr[x] = t[k < entries ? k : entries - 1];                                                \
            }                                                                                            \
        }                                                                                                \
    } while (0)

static PyObject *lookup(PyObject *self, PyObject *args) {
    Py_buffer out, cov, own = {0}, table;
    PyObject *own_obj;
    Py_ssize_t width, height, stride;
    if (!PyArg_ParseTuple(args, "w*y*Oy*nnn", &out, &cov, &own_obj, &table, &width, &height, &stride))
        return NULL;
    PyObject *result = NULL;
    int has_own = own_obj != Py_None;
    if (has_own && PyObject_GetBuffer(own_obj, &own, PyBUF_SIMPLE) < 0)
        goto done_noown;
    /* sizes checked before any product is formed: none of them can overflow */
    if (width <= 0 || height <= 0 || stride < width || height - 1 > (PY_SSIZE_T_MAX - width) / stride
        || width > PY_SSIZE_T_MAX / 4 / height || cov.len < (height - 1) * stride + width
        || (has_own && own.len < cov.len) || (out.len != width * height && out.len != 4 * width * height)) {
        PyErr_SetString(PyExc_ValueError, "lookup: buffer sizes do not match the page");
        goto done;
    }
    Py_ssize_t n = width * height;
    Py_ssize_t item = out.len / n;
    if (table.len == 0 || table.len % (256 * item)) {
        PyErr_SetString(PyExc_ValueError, "lookup: the table is not 256 items per colour");
        goto done;
    }
    if (item == 4 && ((uintptr_t)out.buf % 4 || (uintptr_t)table.buf % 4)) {
        PyErr_SetString(PyExc_ValueError, "lookup: four-byte items need four-byte aligned buffers");
        goto done;
    }
    Py_ssize_t entries = table.len / item;
    const uint8_t *c = cov.buf, *o = has_own ? own.buf : NULL;
    Py_BEGIN_ALLOW_THREADS
    if (item == 4)
        LOOKUP_ROWS(uint32_t);
    else
        LOOKUP_ROWS(uint8_t);
    Py_END_ALLOW_THREADS
    Py_INCREF(Py_None);
    result = Py_None;
done:
    if (has_own)
        PyBuffer_Release(&own);
done_noown:
    PyBuffer_Release(&out);
    PyBuffer_Release(&cov);
    PyBuffer_Release(&table);
    return result;
}

/* div255 as poppler's Splash rounds it: (v + (v >> 8) + 0x80) >> 8 */
static inline unsigned div255(unsigned v) { return (v + (v >> 8) + 0x80) >> 8; }

typedef struct {
    int64_t *items;
    Py_ssize_t n, cap;
} Records;

static int record(Records *r, int64_t pix, int64_t colour, int64_t value) {
    if (r->n + 3 > r->cap) {
        Py_ssize_t cap = r->cap ? 2 * r->cap : 3 * 1024;
        int64_t *items = realloc(r->items, cap * sizeof(int64_t));
        if (!items)
            return -1;
        r->items = items;
        r->cap = cap;
    }
    r->items[r->n++] = pix;
    r->items[r->n++] = colour;
    r->items[r->n++] = value;
    return 0;
}

/* place(cov, own, mark, page_width, strips, owner, order, width, stored, height, over) -> bytes
 *
 * Line strips of coloured ink onto a page. Strip r (``strips``: rows x width columns x ``stored`` bytes,
 * the first ``height`` of each column its ink from the top down; ``owner``: rows x width, each column's
 * colour) goes to page columns 0 to width - 1, rows ``top`` onward, for each (r, top) pair of int64 in
 * ``order``, in that order. The page's coverage ``cov`` takes each ink pixel by max (``over`` true:
 * poppler's "over", 255 - (255 - a)(255 - b) / 255); its colour plane ``own`` the strip column's colour.
 * Where ink meets ink of another colour, or a pixel that is a conflict already, the pixel is marked in
 * ``mark`` and each colour's share is recorded: the ink that was there (when the pixel was not marked
 * yet) and the new ink. Returns the records as int64 triples (pixel number, colour, value). Rows outside
 * the page are skipped.
 */
static PyObject *place(PyObject *self, PyObject *args) {
    Py_buffer cov, own, mark, strips, owner, order;
    Py_ssize_t page_width, width, stored, height;
    int over;
    if (!PyArg_ParseTuple(args, "w*w*w*ny*y*y*nnnp", &cov, &own, &mark, &page_width, &strips, &owner, &order,
                          &width, &stored, &height, &over))
        return NULL;
    PyObject *result = NULL;
    Records rec = {0};
    Py_ssize_t pairs = order.len / (Py_ssize_t)(2 * sizeof(int64_t));
    /* sizes checked before any product is formed: none of them can overflow */
    if (page_width <= 0 || width <= 0 || width > page_width || stored <= 0 || stored > PY_SSIZE_T_MAX / width
        || height < 0 || height > stored || own.len != cov.len || mark.len != cov.len) {
        PyErr_SetString(PyExc_ValueError, "place: buffer sizes do not match the strips and page");
        goto done;
    }
    Py_ssize_t rows = strips.len / (width * stored), page_height = cov.len / page_width;
    if (owner.len / width < rows)
        rows = owner.len / width;  /* a strip needs its colours too */
    if ((uintptr_t)order.buf % sizeof(int64_t)) {
        PyErr_SetString(PyExc_ValueError, "place: the order needs eight-byte aligned int64 pairs");
        goto done;
    }
    const int64_t *pair = order.buf;
    for (Py_ssize_t i = 0; i < pairs; i++)
        if (pair[2 * i] < 0 || pair[2 * i] >= rows) {
            PyErr_SetString(PyExc_ValueError, "place: a strip number out of range");
            goto done;
        }
    uint8_t *c = cov.buf, *o = own.buf, *m = mark.buf;
    const uint8_t *s = strips.buf, *ow = owner.buf;
    int failed = 0;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < pairs && !failed; i++) {
        const uint8_t *strip = s + pair[2 * i] * width * stored, *colours = ow + pair[2 * i] * width;
        int64_t top = pair[2 * i + 1];
        if (top <= -(int64_t)height || top >= (int64_t)page_height)
            continue;  /* no row of it on the page */
        Py_ssize_t y0 = top < 0 ? (Py_ssize_t)-top : 0;
        Py_ssize_t y1 = (int64_t)page_height - top < height ? (Py_ssize_t)((int64_t)page_height - top) : height;
        Py_ssize_t words = stored % 8 ? 0 : stored / 8;
        for (Py_ssize_t x = 0; x < width && !failed; x++) {
            const uint8_t *column = strip + x * stored;
            if (words) {  /* many columns hold no ink: eight rows at a time tell */
                uint64_t any = 0, word;
                for (Py_ssize_t w = 0; w < words; w++) {
                    memcpy(&word, column + 8 * w, 8);
                    any |= word;
                }
                if (!any)
                    continue;
            }
            Py_ssize_t y = y0;
            unsigned k = colours[x];
            for (; y < y1; y++) {
                unsigned v = column[y];
                if (!v)
                    continue;
                Py_ssize_t p = ((Py_ssize_t)top + y) * page_width + x;
                unsigned d = c[p];
                if (d) {
                    if (o[p] != k || m[p]) {
                        if ((!m[p] && record(&rec, p, o[p], d) < 0) || record(&rec, p, k, v) < 0) {
                            failed = 1;
                            break;
                        }
                        m[p] = 1;
                    }
                    c[p] = over ? 255 - div255((255 - d) * (255 - v)) : (d > v ? d : v);
                } else {
                    c[p] = v;
                }
                o[p] = k;
            }
        }
    }
    Py_END_ALLOW_THREADS
    if (failed)
        PyErr_NoMemory();
    else
        result = PyBytes_FromStringAndSize((const char *)rec.items, rec.n * (Py_ssize_t)sizeof(int64_t));
done:
    free(rec.items);
    PyBuffer_Release(&cov);
    PyBuffer_Release(&own);
    PyBuffer_Release(&mark);
    PyBuffer_Release(&strips);
    PyBuffer_Release(&owner);
    PyBuffer_Release(&order);
    return result;
}

static PyMethodDef methods[] = {
    {"lookup", lookup, METH_VARARGS, "Each pixel through a table indexed by (colour << 8 | coverage)."},
    {"place", place, METH_VARARGS, "Line strips of coloured ink onto a page, with where colours meet."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "native", "Native pixel loops for the raster.", -1,
                                    methods};

PyMODINIT_FUNC PyInit_native(void) { return PyModule_Create(&module); }
